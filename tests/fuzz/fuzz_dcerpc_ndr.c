/* libFuzzer harness: DCE/RPC (lib/rpc/dcerpc.c) and NDR with the srvsvc
 * NetrShareEnum reply (lib/rpc/ndr.c, srvsvc.c), on what a server writes
 * to \PIPE\srvsvc.
 *
 * Input: one mode byte, then
 *   mode % 4 == 0: the pipe's byte stream answering a BIND (call id 1),
 *                  then one answering a REQUEST (call id 2), as
 *                  lib/api/shares.c reads them: cut into fragments by
 *                  dcerpc_reader (in reads of (mode >> 2) * 7 + 1 bytes),
 *                  the first fragment judged as the BIND_ACK, the rest
 *                  reassembled as the RESPONSE whose stub is decoded as a
 *                  NetrShareEnum reply;
 *   mode % 4 == 1: one PDU: common header, BIND_ACK/BIND_NAK, and the
 *                  RESPONSE/FAULT of a one-fragment call;
 *   mode % 4 == 2: a NetrShareEnum reply stub;
 *   mode % 4 == 3: NDR primitives on the rest, as the next byte says. */
#include <stdbool.h>

#include "fuzz_util.h"
#include "rpc/dcerpc.h"
#include "rpc/ndr.h"
#include "rpc/srvsvc.h"
#include "smbq/smbq_err.h"

#define MAX_STUB (4u * 1024u * 1024u) /* as lib/api/shares.c */

static void share_enum(const uint8_t *stub, size_t len) {
  struct srvsvc_share_enum_rsp r;
  int rc = srvsvc_decode_share_enum_rsp(stub, len, &r);
  if (rc == 0) {
    if (r.count && !r.shares)
      FUZZ_FAIL("%u shares without entries", r.count);
    for (uint32_t i = 0; i < r.count; i++) {
      fuzz_in(r.shares[i].name, r.shares[i].name_len, stub, len,
              "share name");
      fuzz_in(r.shares[i].remark, r.shares[i].remark_len, stub, len,
              "share remark");
    }
    srvsvc_werror_name(r.werror);
  }
  srvsvc_share_enum_rsp_free(&r);
}

/* mode 0: what lib/api/shares.c does with the pipe's bytes. */
static void stream(uint8_t mode, const uint8_t *p, size_t n) {
  size_t step = (size_t)(mode >> 2) * 7 + 1;
  struct dcerpc_reader rd;
  dcerpc_reader_init(&rd);
  struct dcerpc_rsp rsp;
  dcerpc_rsp_init(&rsp, 2, MAX_STUB);
  bool bound = false;
  int rc = 0;
  for (size_t off = 0; off < n && rc == 0;) {
    size_t chunk = n - off < step ? n - off : step;
    size_t used = 0;
    while (used < chunk && rc == 0) {
      const uint8_t *frag;
      size_t flen;
      long k = dcerpc_reader_feed(&rd, p + off + used, chunk - used, &frag,
                                  &flen);
      if (k < 0) {
        rc = (int)k;
        break;
      }
      if (k == 0 && !frag)
        FUZZ_FAIL("reader took nothing from %zu bytes", chunk - used);
      used += (size_t)k;
      if (!frag)
        continue;
      fuzz_touch(frag, flen);
      if (!bound) {
        struct dcerpc_bind_ack a;
        int b = dcerpc_decode_bind_ack(frag, flen, 1, &dcerpc_ndr20, &a);
        if (b == SMBQ_ERR_UNSUPPORTED)
          dcerpc_bind_reason_name(&a);
        if (b < 0)
          rc = b;
        bound = true;
        continue;
      }
      int a = dcerpc_rsp_add(&rsp, frag, flen);
      if (a == SMBQ_ERR_STATUS) {
        dcerpc_fault_name(rsp.fault);
        dcerpc_fault_err(rsp.fault);
      }
      if (a != 0)
        rc = a;
    }
    off += chunk;
    dcerpc_reader_missing(&rd);
  }
  if (rc == 1) {
    if (rsp.stub_len > MAX_STUB)
      FUZZ_FAIL("stub of %zu bytes", rsp.stub_len);
    fuzz_touch(rsp.stub, rsp.stub_len);
    share_enum(rsp.stub, rsp.stub_len);
  }
  dcerpc_rsp_free(&rsp);
  dcerpc_reader_free(&rd);
}

/* mode 1: one PDU through each decoder. */
static void one_pdu(const uint8_t *p, size_t n) {
  struct dcerpc_hdr h;
  uint32_t call_id = 1;
  if (dcerpc_decode_hdr(p, n, &h) == 0)
    call_id = h.call_id;
  struct dcerpc_bind_ack a;
  if (dcerpc_decode_bind_ack(p, n, call_id, &dcerpc_ndr20, &a) ==
      SMBQ_ERR_UNSUPPORTED)
    dcerpc_bind_reason_name(&a);
  struct dcerpc_rsp rsp;
  dcerpc_rsp_init(&rsp, call_id, MAX_STUB);
  if (dcerpc_rsp_add(&rsp, p, n) == 1)
    share_enum(rsp.stub, rsp.stub_len);
  dcerpc_rsp_free(&rsp);
}

/* mode 3: NDR primitives, as a sequence of pulls. */
static void ndr_ops(const uint8_t *p, size_t n) {
  if (n < 1)
    return;
  uint8_t ops = p[0];
  struct ndr_pull pull;
  ndr_pull_init(&pull, p + 1, n - 1);
  for (int i = 0; i < 4; i++, ops >>= 2) {
    switch (ops & 3) {
    case 0: {
      uint32_t v;
      ndr_pull_u32(&pull, &v);
      break;
    }
    case 1: {
      const uint8_t *s;
      size_t bytes;
      if (ndr_pull_wstring(&pull, &s, &bytes) == 0)
        fuzz_in(s, bytes, p + 1, n - 1, "NDR string");
      break;
    }
    case 2: {
      uint32_t count = 0;
      ndr_pull_u32(&pull, &count);
      const uint8_t *t = ndr_pull_take(&pull, 8, count, 12);
      if (t)
        fuzz_in(t, (size_t)count * 12, p + 1, n - 1, "NDR array");
      break;
    }
    default:
      ndr_pull_take(&pull, 2, 0, 0);
      break;
    }
    if (pull.off > pull.len)
      FUZZ_FAIL("NDR cursor at %zu of %zu", pull.off, pull.len);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  uint8_t mode = data[0];
  uint8_t *p = fuzz_dup(data + 1, size - 1);
  size_t n = size - 1;
  switch (mode & 3) {
  case 0: stream(mode, p, n); break;
  case 1: one_pdu(p, n); break;
  case 2: share_enum(p, n); break;
  default: ndr_ops(p, n); break;
  }
  free(p);
  return 0;
}
