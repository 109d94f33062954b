/* lib/rpc: DCE/RPC PDUs (C706 ch. 12), NDR (ch. 14) and the srvsvc
 * NetrShareEnum stub (MS-SRVS 3.1.4.8), against bytes captured between
 * rpcclient and smbd 4.17 (vectors_rpc.h) and vectors derived from the
 * specifications, plus malformed and hostile answers that must fail
 * cleanly (run under ASan/UBSan in the sanitizer build). */
#include <check.h>

#include "rpc/dcerpc.h"
#include "rpc/ndr.h"
#include "rpc/srvsvc.h"
#include "smbq/smbq_err.h"
#include "smbq_bytes.h"
#include "smbq_utf16.h"
#include "testutil.h"
#include "vectors_rpc.h"

#define FRAG 4280

/* "127.0.0.1" in UTF-16LE */
static const uint8_t server_127[] = {'1', 0, '2', 0, '7', 0, '.', 0, '0', 0,
                                     '.', 0, '0', 0, '.', 0, '1', 0};

static struct dcerpc_bind_req bind_req(void) {
  struct dcerpc_bind_req b = {.call_id = 1,
                              .max_xmit_frag = FRAG,
                              .max_recv_frag = FRAG,
                              .abstract = &srvsvc_syntax,
                              .transfer = &dcerpc_ndr20};
  return b;
}

/* Feed a whole PDU stream to a fresh response in chunks of `step`
 * bytes; returns the last dcerpc_rsp_add / reader result. */
static int feed_stream(struct dcerpc_rsp *rsp, const uint8_t *data,
                       size_t len, size_t step) {
  struct dcerpc_reader rd;
  dcerpc_reader_init(&rd);
  int rc = 0;
  size_t off = 0;
  while (off < len && rc == 0) {
    size_t n = len - off < step ? len - off : step;
    size_t used = 0;
    while (used < n && rc == 0) {
      const uint8_t *frag;
      size_t flen;
      long k = dcerpc_reader_feed(&rd, data + off + used, n - used, &frag,
                                  &flen);
      if (k < 0) {
        rc = (int)k;
        break;
      }
      used += (size_t)k;
      if (frag)
        rc = dcerpc_rsp_add(rsp, frag, flen);
    }
    off += n;
  }
  dcerpc_reader_free(&rd);
  return rc == 1 && off < len ? SMBQ_ERR_PROTO : rc;
}

static char *utf8_of(const uint8_t *s, size_t len) {
  char *out = NULL;
  ck_assert_int_eq(smbq_utf16le_to_utf8(s, len, &out), 0);
  return out;
}

static void ck_share(const struct srvsvc_share1 *s, const char *name,
                     uint32_t type, const char *remark) {
  char *n = utf8_of(s->name, s->name_len);
  ck_assert_str_eq(n, name);
  free(n);
  ck_assert_uint_eq(s->type, type);
  ck_assert_ptr_nonnull(s->remark);
  char *r = utf8_of(s->remark, s->remark_len);
  ck_assert_str_eq(r, remark);
  free(r);
}

/* ---- BIND ------------------------------------------------------------------ */

START_TEST(bind_matches_rpcclient) {
  size_t n;
  uint8_t *want = unhex(vec_rpc_bind, &n);
  struct dcerpc_bind_req b = bind_req();
  uint8_t out[128];
  long len = dcerpc_encode_bind(out, sizeof(out), &b);
  ck_assert_int_eq(len, (long)n);
  ck_assert_mem_eq(out, want, n);
  ck_assert_int_eq(dcerpc_encode_bind(out, n - 1, &b), SMBQ_ERR_BUFSMALL);
  b.max_recv_frag = DCERPC_MIN_FRAG - 1;
  ck_assert_int_eq(dcerpc_encode_bind(out, sizeof(out), &b), SMBQ_ERR_INVAL);
  free(want);
}
END_TEST

/* The same BIND written out field by field from C706 12.6.3.1 / 12.6.4.3
 * and the UUID encoding of appendix A (first three fields little-endian). */
START_TEST(bind_matches_spec) {
  uint8_t out[128];
  struct dcerpc_bind_req b = bind_req();
  b.call_id = 0x01020304;
  b.assoc_group_id = 0x0000bc10;
  b.ctx_id = 7;
  ck_assert_int_eq(dcerpc_encode_bind(out, sizeof(out), &b), 72);
  ck_assert_mem_hex(out,
                    "05 00 0b 03 10000000 4800 0000 04030201" /* header */
                    "b810 b810 10bc0000"                      /* frags, group */
                    "01 00 0000 0700 01 00"                   /* one context */
                    /* 4b324fc8-1670-01d3-1278-5a47bf6ee188 v3.0 */
                    "c84f324b 7016 d301 1278 5a47bf6ee188 0300 0000"
                    /* 8a885d04-1ceb-11c9-9fe8-08002b104860 v2.0 */
                    "045d888a eb1c c911 9fe8 08002b104860 0200 0000");
}
END_TEST

START_TEST(bind_ack_from_samba) {
  size_t n;
  uint8_t *pdu = unhex(vec_rpc_bind_ack, &n);
  struct dcerpc_bind_ack a;
  ck_assert_int_eq(dcerpc_decode_bind_ack(pdu, n, 1, &dcerpc_ndr20, &a), 0);
  ck_assert(!a.nak);
  ck_assert_uint_eq(a.max_xmit_frag, FRAG);
  ck_assert_uint_eq(a.max_recv_frag, FRAG);
  ck_assert_uint_eq(a.assoc_group_id, 0xbc10);
  ck_assert_uint_eq(a.result, DCERPC_RESULT_ACCEPTANCE);
  ck_assert(dcerpc_syntax_eq(&a.transfer, &dcerpc_ndr20));
  /* the answer to another call, or with bytes missing or extra */
  ck_assert_int_eq(dcerpc_decode_bind_ack(pdu, n, 2, &dcerpc_ndr20, &a),
                   SMBQ_ERR_PROTO);
  for (size_t cut = 0; cut < n; cut++)
    ck_assert_int_eq(dcerpc_decode_bind_ack(pdu, cut, 1, &dcerpc_ndr20, &a),
                     SMBQ_ERR_PROTO);
  uint8_t longer[256];
  memcpy(longer, pdu, n);
  ck_assert_int_eq(dcerpc_decode_bind_ack(longer, n + 4, 1, &dcerpc_ndr20,
                                          &a),
                   SMBQ_ERR_PROTO);
  free(pdu);
}
END_TEST

START_TEST(bind_ack_rejections) {
  size_t n;
  uint8_t *pdu = unhex(vec_rpc_bind_ack, &n);
  struct dcerpc_bind_ack a;
  /* result provider_rejection, abstract syntax not supported: offset 44 */
  smbq_put_le16(pdu + 44, DCERPC_RESULT_PROVIDER_REJECTION);
  smbq_put_le16(pdu + 46, 1);
  ck_assert_int_eq(dcerpc_decode_bind_ack(pdu, n, 1, &dcerpc_ndr20, &a),
                   SMBQ_ERR_UNSUPPORTED);
  ck_assert_str_eq(dcerpc_bind_reason_name(&a),
                   "abstract syntax not supported");
  /* accepted, but with a transfer syntax we did not offer */
  smbq_put_le16(pdu + 44, 0);
  pdu[48] ^= 1;
  ck_assert_int_eq(dcerpc_decode_bind_ack(pdu, n, 1, &dcerpc_ndr20, &a),
                   SMBQ_ERR_PROTO);
  pdu[48] ^= 1;
  /* no results */
  pdu[40] = 0;
  ck_assert_int_eq(dcerpc_decode_bind_ack(pdu, n, 1, &dcerpc_ndr20, &a),
                   SMBQ_ERR_PROTO);
  pdu[40] = 1;
  /* a sec_addr running past the PDU */
  smbq_put_le16(pdu + 24, 0xFFFF);
  ck_assert_int_eq(dcerpc_decode_bind_ack(pdu, n, 1, &dcerpc_ndr20, &a),
                   SMBQ_ERR_PROTO);
  smbq_put_le16(pdu + 24, 13);
  /* fragment sizes below the minimum */
  smbq_put_le16(pdu + 18, 100);
  ck_assert_int_eq(dcerpc_decode_bind_ack(pdu, n, 1, &dcerpc_ndr20, &a),
                   SMBQ_ERR_PROTO);
  free(pdu);
  /* BIND_NAK (12.6.4.5): protocol_version_not_supported, versions 5.0 */
  size_t nl;
  uint8_t *nak = unhex("05000d03 10000000 1500 0000 01000000 0400 01 0500",
                       &nl);
  ck_assert_int_eq(dcerpc_decode_bind_ack(nak, nl, 1, &dcerpc_ndr20, &a),
                   SMBQ_ERR_UNSUPPORTED);
  ck_assert(a.nak);
  ck_assert_str_eq(dcerpc_bind_reason_name(&a),
                   "protocol version not supported");
  free(nak);
}
END_TEST

START_TEST(header_checks) {
  struct dcerpc_hdr h;
  size_t n;
  uint8_t *pdu = unhex(vec_rpc_bind_ack, &n);
  ck_assert_int_eq(dcerpc_decode_hdr(pdu, n, &h), 0);
  ck_assert_uint_eq(h.ptype, DCERPC_PKT_BIND_ACK);
  ck_assert_uint_eq(h.frag_len, n);
  pdu[0] = 4; /* version 4 */
  ck_assert_int_eq(dcerpc_decode_hdr(pdu, n, &h), SMBQ_ERR_PROTO);
  pdu[0] = 5;
  pdu[4] = 0x00; /* big-endian integers */
  ck_assert_int_eq(dcerpc_decode_hdr(pdu, n, &h), SMBQ_ERR_UNSUPPORTED);
  pdu[4] = 0x10;
  smbq_put_le16(pdu + 8, 15); /* frag_len below the header */
  ck_assert_int_eq(dcerpc_decode_hdr(pdu, n, &h), SMBQ_ERR_PROTO);
  smbq_put_le16(pdu + 8, (uint16_t)(n + 1)); /* past the buffer */
  ck_assert_int_eq(dcerpc_decode_hdr(pdu, n, &h), SMBQ_ERR_PROTO);
  smbq_put_le16(pdu + 8, (uint16_t)n);
  smbq_put_le16(pdu + 10, (uint16_t)(n - 16 - 7)); /* auth past the end */
  ck_assert_int_eq(dcerpc_decode_hdr(pdu, n, &h), SMBQ_ERR_PROTO);
  ck_assert_int_eq(dcerpc_decode_hdr(pdu, 15, &h), SMBQ_ERR_PROTO);
  ck_assert_int_eq(dcerpc_decode_hdr(NULL, 0, &h), SMBQ_ERR_PROTO);
  free(pdu);
}
END_TEST

/* ---- REQUEST ---------------------------------------------------------------- */

START_TEST(share_enum_request_matches_rpcclient) {
  size_t n;
  uint8_t *want = unhex(vec_rpc_share_enum_req, &n);
  struct srvsvc_share_enum_req q = {.server = server_127,
                                    .server_len = sizeof(server_127),
                                    .prefmaxlen = SRVSVC_MAX_PREFERRED_LENGTH};
  uint8_t stub[256], pdu[512];
  long sl = srvsvc_encode_share_enum_req(stub, sizeof(stub), &q);
  ck_assert_int_eq(sl, (long)srvsvc_share_enum_req_size(&q));
  struct dcerpc_request r = {.call_id = 2,
                             .opnum = SRVSVC_OPNUM_NETR_SHARE_ENUM,
                             .stub = stub,
                             .stub_len = (size_t)sl,
                             .max_frag = FRAG};
  long len = dcerpc_encode_request(pdu, sizeof(pdu), &r);
  ck_assert_int_eq(len, (long)n);
  ck_assert_mem_eq(pdu, want, n);
  ck_assert_int_eq(srvsvc_encode_share_enum_req(stub, (size_t)sl - 1, &q),
                   SMBQ_ERR_BUFSMALL);
  ck_assert_int_eq(dcerpc_encode_request(pdu, n - 1, &r), SMBQ_ERR_BUFSMALL);
  r.max_frag = (uint16_t)(n - 1); /* would need two fragments */
  ck_assert_int_eq(dcerpc_encode_request(pdu, sizeof(pdu), &r),
                   SMBQ_ERR_INVAL);
  q.server_len = 3; /* half a character */
  ck_assert_int_eq(srvsvc_encode_share_enum_req(stub, sizeof(stub), &q),
                   SMBQ_ERR_INVAL);
  free(want);
}
END_TEST

/* MS-SRVS 3.1.4.8 with a resume handle and a name needing padding,
 * written out by hand (C706 14.3.4.2 strings, 14.3.11 unique pointers). */
START_TEST(share_enum_request_matches_spec) {
  static const uint8_t srv[] = {'f', 0, 's', 0};
  uint32_t resume = 0x11223344;
  struct srvsvc_share_enum_req q = {.server = srv,
                                    .server_len = sizeof(srv),
                                    .prefmaxlen = 0x1000,
                                    .resume = &resume};
  uint8_t stub[128];
  ck_assert_int_eq(srvsvc_encode_share_enum_req(stub, sizeof(stub), &q), 56);
  ck_assert_mem_hex(stub,
                    "00000200"                          /* ServerName ref */
                    "03000000 00000000 03000000"        /* counts: 2 + NUL */
                    "66007300 0000 0000"                /* "fs\0", pad 4 */
                    "01000000 01000000 04000200"        /* level, arm, ref */
                    "00000000 00000000"                 /* empty container */
                    "00100000"                          /* preferred length */
                    "08000200 44332211");               /* ResumeHandle */
  /* NULL ServerName and ResumeHandle: nothing but the pointers */
  q.server = NULL;
  q.resume = NULL;
  ck_assert_int_eq(srvsvc_encode_share_enum_req(stub, sizeof(stub), &q), 32);
  ck_assert_mem_hex(stub, "00000000 01000000 01000000 04000200"
                          "00000000 00000000 00100000 00000000");
}
END_TEST

/* ---- RESPONSE ---------------------------------------------------------------- */

START_TEST(share_enum_response_from_samba) {
  size_t n;
  uint8_t *pdu = unhex(vec_rpc_share_enum_rsp, &n);
  struct dcerpc_rsp rsp;
  dcerpc_rsp_init(&rsp, 2, 1 << 20);
  ck_assert_int_eq(feed_stream(&rsp, pdu, n, n), 1);
  ck_assert_uint_eq(rsp.stub_len, n - DCERPC_RSP_HDR_LEN);
  struct srvsvc_share_enum_rsp r;
  ck_assert_int_eq(srvsvc_decode_share_enum_rsp(rsp.stub, rsp.stub_len, &r),
                   0);
  ck_assert_uint_eq(r.count, 3);
  ck_share(&r.shares[0], "share", SRVSVC_STYPE_DISKTREE, "");
  ck_share(&r.shares[1], "enc", SRVSVC_STYPE_DISKTREE, "");
  ck_share(&r.shares[2], "IPC$", SRVSVC_STYPE_IPC | SRVSVC_STYPE_SPECIAL,
           "IPC Service (Samba 4.17.12-Debian)");
  ck_assert_uint_eq(r.total_entries, 3);
  ck_assert(!r.has_resume);
  ck_assert_uint_eq(r.werror, SRVSVC_WERR_OK);
  srvsvc_share_enum_rsp_free(&r);
  /* the same answer to another call is refused */
  dcerpc_rsp_free(&rsp);
  dcerpc_rsp_init(&rsp, 3, 1 << 20);
  ck_assert_int_eq(feed_stream(&rsp, pdu, n, n), SMBQ_ERR_PROTO);
  dcerpc_rsp_free(&rsp);
  free(pdu);
}
END_TEST

static uint8_t *two_frags(size_t *len) {
  size_t n1, n2;
  uint8_t *f1 = unhex(vec_rpc_share_enum_frag1, &n1);
  uint8_t *f2 = unhex(vec_rpc_share_enum_frag2, &n2);
  uint8_t *all = malloc(n1 + n2);
  memcpy(all, f1, n1);
  memcpy(all + n1, f2, n2);
  free(f1);
  free(f2);
  *len = n1 + n2;
  return all;
}

/* Any cut of the byte stream (as transceive + READs may deliver it)
 * reassembles to the same stub. */
START_TEST(share_enum_response_fragmented) {
  size_t n;
  uint8_t *all = two_frags(&n);
  ck_assert_uint_eq(n, 4280 + 3556);
  static const size_t steps[] = {1, 7, 16, 24, 1024, 4279, 4280, 4281};
  for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
    struct dcerpc_rsp rsp;
    dcerpc_rsp_init(&rsp, 2, 1 << 20);
    ck_assert_int_eq(feed_stream(&rsp, all, n, steps[i]), 1);
    ck_assert_uint_eq(rsp.n_frags, 2);
    ck_assert_uint_eq(rsp.stub_len, n - 2 * DCERPC_RSP_HDR_LEN);
    struct srvsvc_share_enum_rsp r;
    ck_assert_int_eq(
        srvsvc_decode_share_enum_rsp(rsp.stub, rsp.stub_len, &r), 0);
    ck_assert_uint_eq(r.count, 45);
    ck_assert_uint_eq(r.total_entries, 45);
    ck_share(&r.shares[0], "share", 0,
             "Team files \xe2\x80\x93 \xc3\x89quipe");
    ck_share(&r.shares[41], "bulk40", 0,
             "bulk share number 40 with a rather long comment to fill "
             "fragments");
    ck_share(&r.shares[42], "hid$", 0, "hidden one");
    ck_share(&r.shares[43], "lp", SRVSVC_STYPE_PRINTQ, "a printer");
    ck_share(&r.shares[44], "IPC$", 0x80000003, "IPC Service (Samba "
             "4.17.12-Debian)");
    srvsvc_share_enum_rsp_free(&r);
    dcerpc_rsp_free(&rsp);
  }
  /* a cap below the stub's size stops the reassembly */
  struct dcerpc_rsp rsp;
  dcerpc_rsp_init(&rsp, 2, 4000);
  ck_assert_int_eq(feed_stream(&rsp, all, n, n), SMBQ_ERR_PROTO);
  dcerpc_rsp_free(&rsp);
  free(all);
}
END_TEST

START_TEST(fragment_order) {
  size_t n;
  uint8_t *all = two_frags(&n);
  uint8_t *f2 = all + 4280;
  struct dcerpc_rsp rsp;
  /* the second fragment alone: no PFC_FIRST_FRAG */
  dcerpc_rsp_init(&rsp, 2, 1 << 20);
  ck_assert_int_eq(dcerpc_rsp_add(&rsp, f2, 3556), SMBQ_ERR_PROTO);
  dcerpc_rsp_free(&rsp);
  /* the first fragment twice */
  dcerpc_rsp_init(&rsp, 2, 1 << 20);
  ck_assert_int_eq(dcerpc_rsp_add(&rsp, all, 4280), 0);
  ck_assert_int_eq(dcerpc_rsp_add(&rsp, all, 4280), SMBQ_ERR_PROTO);
  dcerpc_rsp_free(&rsp);
  /* anything after the last fragment */
  dcerpc_rsp_init(&rsp, 2, 1 << 20);
  ck_assert_int_eq(dcerpc_rsp_add(&rsp, all, 4280), 0);
  ck_assert_int_eq(dcerpc_rsp_add(&rsp, f2, 3556), 1);
  ck_assert_int_eq(dcerpc_rsp_add(&rsp, f2, 3556), SMBQ_ERR_PROTO);
  dcerpc_rsp_free(&rsp);
  /* a fragment shorter or longer than its frag_length */
  dcerpc_rsp_init(&rsp, 2, 1 << 20);
  ck_assert_int_eq(dcerpc_rsp_add(&rsp, all, 4279), SMBQ_ERR_PROTO);
  ck_assert_int_eq(dcerpc_rsp_add(&rsp, all, 4281), SMBQ_ERR_PROTO);
  dcerpc_rsp_free(&rsp);
  /* an auth trailer we never asked for */
  dcerpc_rsp_init(&rsp, 2, 1 << 20);
  smbq_put_le16(all + 10, 16);
  ck_assert_int_eq(dcerpc_rsp_add(&rsp, all, 4280), SMBQ_ERR_PROTO);
  smbq_put_le16(all + 10, 0);
  /* a BIND_ACK where a RESPONSE belongs */
  all[2] = DCERPC_PKT_BIND_ACK;
  ck_assert_int_eq(dcerpc_rsp_add(&rsp, all, 4280), SMBQ_ERR_PROTO);
  dcerpc_rsp_free(&rsp);
  /* an empty fragment that is not the last (would loop forever) */
  uint8_t empty[24];
  memcpy(empty, all, 24);
  all[2] = DCERPC_PKT_RESPONSE;
  empty[2] = DCERPC_PKT_RESPONSE;
  smbq_put_le16(empty + 8, 24);
  dcerpc_rsp_init(&rsp, 2, 1 << 20);
  ck_assert_int_eq(dcerpc_rsp_add(&rsp, empty, 24), SMBQ_ERR_PROTO);
  dcerpc_rsp_free(&rsp);
  free(all);
}
END_TEST

/* FAULT (C706 12.6.4.7): nca_s_op_rng_error, as a server answers an
 * operation number it does not have. */
START_TEST(fault_pdu) {
  size_t n;
  uint8_t *pdu = unhex("05000303 10000000 2000 0000 02000000"
                       "20000000 0000 00 00 0200011c 00000000",
                       &n);
  struct dcerpc_rsp rsp;
  dcerpc_rsp_init(&rsp, 2, 1 << 20);
  ck_assert_int_eq(feed_stream(&rsp, pdu, n, 5), SMBQ_ERR_STATUS);
  ck_assert_uint_eq(rsp.fault, 0x1c010002);
  ck_assert_str_eq(dcerpc_fault_name(rsp.fault), "nca_s_op_rng_error");
  ck_assert_int_eq(dcerpc_fault_err(rsp.fault), SMBQ_ERR_UNSUPPORTED);
  ck_assert_int_eq(dcerpc_fault_err(5), SMBQ_ERR_ACCESS);
  ck_assert_int_eq(dcerpc_fault_err(0x12345678), SMBQ_ERR_STATUS);
  ck_assert_ptr_null(dcerpc_fault_name(0x12345678));
  dcerpc_rsp_free(&rsp);
  /* status 0 is no fault (MS-RPCE 3.1.1.5.2) */
  smbq_put_le32(pdu + 24, 0);
  dcerpc_rsp_init(&rsp, 2, 1 << 20);
  ck_assert_int_eq(dcerpc_rsp_add(&rsp, pdu, n), SMBQ_ERR_PROTO);
  dcerpc_rsp_free(&rsp);
  /* too short to hold a status */
  smbq_put_le16(pdu + 8, 24);
  dcerpc_rsp_init(&rsp, 2, 1 << 20);
  ck_assert_int_eq(dcerpc_rsp_add(&rsp, pdu, 24), SMBQ_ERR_PROTO);
  dcerpc_rsp_free(&rsp);
  free(pdu);
}
END_TEST

START_TEST(reader_bad_headers) {
  struct dcerpc_reader rd;
  const uint8_t *frag;
  size_t flen;
  uint8_t h[16] = {5, 0, 2, 3, 0x10, 0, 0, 0, 15, 0, 0, 0, 2, 0, 0, 0};
  dcerpc_reader_init(&rd);
  ck_assert_int_eq(dcerpc_reader_feed(&rd, h, 16, &frag, &flen),
                   SMBQ_ERR_PROTO); /* frag_length 15 */
  dcerpc_reader_free(&rd);
  h[8] = 16;
  h[1] = 7; /* version 5.7 */
  ck_assert_int_eq(dcerpc_reader_feed(&rd, h, 16, &frag, &flen),
                   SMBQ_ERR_PROTO);
  dcerpc_reader_free(&rd);
  /* a header-only fragment is handed out whole; the caller judges it */
  h[1] = 0;
  ck_assert_int_eq(dcerpc_reader_feed(&rd, h, 16, &frag, &flen), 16);
  ck_assert_ptr_nonnull(frag);
  ck_assert_uint_eq(flen, 16);
  ck_assert_uint_eq(dcerpc_reader_missing(&rd), 16);
  /* a partial header waits for more */
  ck_assert_int_eq(dcerpc_reader_feed(&rd, h, 10, &frag, &flen), 10);
  ck_assert_ptr_null(frag);
  ck_assert_uint_eq(dcerpc_reader_missing(&rd), 6);
  dcerpc_reader_free(&rd);
}
END_TEST

/* ---- NDR of the reply: hostile counts, offsets and lengths ------------- */

static uint8_t *samba_stub(size_t *len) {
  size_t n;
  uint8_t *pdu = unhex(vec_rpc_share_enum_rsp, &n);
  *len = n - DCERPC_RSP_HDR_LEN;
  memmove(pdu, pdu + DCERPC_RSP_HDR_LEN, *len);
  return pdu;
}

static int decode(const uint8_t *stub, size_t len) {
  struct srvsvc_share_enum_rsp r;
  int rc = srvsvc_decode_share_enum_rsp(stub, len, &r);
  if (rc == 0)
    ck_assert(r.count == 0 || r.shares);
  srvsvc_share_enum_rsp_free(&r);
  return rc;
}

/* Stub offsets in the Samba reply (level 1, three shares) */
#define OFF_LEVEL 0
#define OFF_ENTRIES 12
#define OFF_BUFREF 16
#define OFF_MAXCOUNT 20
#define OFF_ELEM0 24        /* netname ref, type, remark ref */
#define OFF_STR0 60         /* "share": MaximumCount, Offset, ActualCount */

START_TEST(truncated_stub) {
  size_t n;
  uint8_t *stub = samba_stub(&n);
  ck_assert_int_eq(decode(stub, n), 0);
  for (size_t cut = 0; cut < n; cut++)
    ck_assert_int_eq(decode(stub, cut), SMBQ_ERR_PROTO);
  ck_assert_int_eq(decode(NULL, 0), SMBQ_ERR_PROTO);
  free(stub);
}
END_TEST

START_TEST(hostile_counts) {
  size_t n;
  uint8_t *stub = samba_stub(&n);
  static const uint32_t counts[] = {4, 0x10000, 0x10001, 0x15555556,
                                    0x7FFFFFFF, 0xFFFFFFFF};
  for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
    /* EntriesRead and MaximumCount agree, but the stub cannot hold it */
    smbq_put_le32(stub + OFF_ENTRIES, counts[i]);
    smbq_put_le32(stub + OFF_MAXCOUNT, counts[i]);
    ck_assert_int_eq(decode(stub, n), SMBQ_ERR_PROTO);
  }
  /* MaximumCount differs from EntriesRead (size_is) */
  smbq_put_le32(stub + OFF_ENTRIES, 3);
  smbq_put_le32(stub + OFF_MAXCOUNT, 2);
  ck_assert_int_eq(decode(stub, n), SMBQ_ERR_PROTO);
  smbq_put_le32(stub + OFF_MAXCOUNT, 3);
  /* entries with a NULL array */
  smbq_put_le32(stub + OFF_BUFREF, 0);
  ck_assert_int_eq(decode(stub, n), SMBQ_ERR_PROTO);
  smbq_put_le32(stub + OFF_BUFREF, 0x0002000c);
  /* another information level */
  smbq_put_le32(stub + OFF_LEVEL, 2);
  ck_assert_int_eq(decode(stub, n), SMBQ_ERR_PROTO);
  smbq_put_le32(stub + OFF_LEVEL, 1);
  /* a share with a NULL name */
  smbq_put_le32(stub + OFF_ELEM0, 0);
  ck_assert_int_eq(decode(stub, n), SMBQ_ERR_PROTO);
  smbq_put_le32(stub + OFF_ELEM0, 0x00020010);
  ck_assert_int_eq(decode(stub, n), 0);
  free(stub);
}
END_TEST

START_TEST(hostile_strings) {
  size_t n;
  uint8_t *stub = samba_stub(&n);
  /* ActualCount above MaximumCount */
  smbq_put_le32(stub + OFF_STR0 + 8, 7);
  ck_assert_int_eq(decode(stub, n), SMBQ_ERR_PROTO);
  /* lengths past the end, and ones whose byte size overflows 32 bits */
  static const uint32_t lens[] = {0x1000, 0x7FFFFFFF, 0x80000000,
                                  0xFFFFFFFF};
  for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
    smbq_put_le32(stub + OFF_STR0, lens[i]);
    smbq_put_le32(stub + OFF_STR0 + 8, lens[i]);
    ck_assert_int_eq(decode(stub, n), SMBQ_ERR_PROTO);
  }
  smbq_put_le32(stub + OFF_STR0, 6);
  smbq_put_le32(stub + OFF_STR0 + 8, 6);
  /* a non-zero Offset */
  smbq_put_le32(stub + OFF_STR0 + 4, 1);
  ck_assert_int_eq(decode(stub, n), SMBQ_ERR_PROTO);
  smbq_put_le32(stub + OFF_STR0 + 4, 0);
  /* an empty name */
  smbq_put_le32(stub + OFF_STR0 + 8, 0);
  ck_assert_int_eq(decode(stub, n), SMBQ_ERR_PROTO);
  smbq_put_le32(stub + OFF_STR0 + 8, 6);
  ck_assert_int_eq(decode(stub, n), 0);
  free(stub);
}
END_TEST

/* An error return value comes with an empty InfoStruct (NULL container),
 * which decodes: the caller judges the WERROR. */
START_TEST(werror_reply) {
  size_t n;
  uint8_t *stub = unhex("01000000 01000000 00000000" /* level, NULL arm */
                        "00000000 00000000"          /* total, no resume */
                        "05000000",                  /* ACCESS_DENIED */
                        &n);
  struct srvsvc_share_enum_rsp r;
  ck_assert_int_eq(srvsvc_decode_share_enum_rsp(stub, n, &r), 0);
  ck_assert_uint_eq(r.count, 0);
  ck_assert_uint_eq(r.werror, SRVSVC_WERR_ACCESS_DENIED);
  ck_assert_str_eq(srvsvc_werror_name(r.werror), "WERR_ACCESS_DENIED");
  srvsvc_share_enum_rsp_free(&r);
  /* a resume handle is read when its pointer is set */
  free(stub);
  stub = unhex("01000000 01000000 00000000 00000000"
               "08000200 2a000000 ea000000", &n);
  ck_assert_int_eq(srvsvc_decode_share_enum_rsp(stub, n, &r), 0);
  ck_assert(r.has_resume);
  ck_assert_uint_eq(r.resume, 42);
  ck_assert_uint_eq(r.werror, SRVSVC_WERR_MORE_DATA);
  srvsvc_share_enum_rsp_free(&r);
  free(stub);
}
END_TEST

START_TEST(ndr_take_bounds) {
  uint8_t buf[16] = {0};
  struct ndr_pull nd;
  ndr_pull_init(&nd, buf, sizeof(buf));
  ck_assert_ptr_nonnull(ndr_pull_take(&nd, 1, 1, 1));
  ck_assert_uint_eq(nd.off, 1);
  /* alignment to 4 then 12 bytes: exactly fits */
  ck_assert_ptr_eq(ndr_pull_take(&nd, 4, 3, 4), buf + 4);
  ck_assert_uint_eq(nd.off, 16);
  ck_assert_ptr_null(ndr_pull_take(&nd, 4, 1, 1));
  ndr_pull_init(&nd, buf, sizeof(buf));
  ck_assert_ptr_null(ndr_pull_take(&nd, 1, SIZE_MAX / 2, 12)); /* overflow */
  ck_assert_ptr_null(ndr_pull_take(&nd, 4, 5, 4));
  ck_assert_uint_eq(nd.off, 0); /* unchanged on failure */
}
END_TEST

/* Random bytes and random mutations of real answers never crash, never
 * read outside their buffer (ASan), and never hand out a stub over the
 * cap. */
START_TEST(garbage) {
  size_t n;
  uint8_t *all = two_frags(&n);
  uint8_t *copy = malloc(n);
  unsigned seed = 12345;
  for (int iter = 0; iter < 3000; iter++) {
    memcpy(copy, all, n);
    for (int k = 0; k < 1 + iter % 8; k++) {
      seed = seed * 1103515245u + 12345u;
      size_t at = (seed >> 8) % n;
      if (iter % 3 == 0)
        at = (seed >> 8) % 64;            /* headers */
      else if (iter % 3 == 1)
        at = 4280 + (seed >> 8) % 64;     /* second header, early stub */
      copy[at] = (uint8_t)(seed >> 24);
    }
    struct dcerpc_rsp rsp;
    dcerpc_rsp_init(&rsp, 2, 1 << 16);
    int rc = feed_stream(&rsp, copy, n, 1 + iter % 3000);
    ck_assert(rc == 1 || rc == 0 || rc == SMBQ_ERR_PROTO ||
              rc == SMBQ_ERR_STATUS || rc == SMBQ_ERR_UNSUPPORTED);
    ck_assert_uint_le(rsp.stub_len, 1 << 16);
    if (rc == 1) {
      struct srvsvc_share_enum_rsp r;
      int d = srvsvc_decode_share_enum_rsp(rsp.stub, rsp.stub_len, &r);
      ck_assert(d == 0 || d == SMBQ_ERR_PROTO);
      for (uint32_t i = 0; d == 0 && i < r.count; i++)
        ck_assert(r.shares[i].name >= rsp.stub &&
                  r.shares[i].name + r.shares[i].name_len <=
                      rsp.stub + rsp.stub_len);
      srvsvc_share_enum_rsp_free(&r);
    }
    dcerpc_rsp_free(&rsp);
  }
  /* pure noise into the stub decoder */
  for (int iter = 0; iter < 2000; iter++) {
    size_t len = (size_t)(iter % 300);
    for (size_t i = 0; i < len; i++) {
      seed = seed * 1103515245u + 12345u;
      copy[i] = (uint8_t)(seed >> 16);
      if (i % 4 == 3 && iter % 2)
        copy[i] = 0; /* small counts, so decoding goes deeper */
    }
    int d = decode(copy, len);
    ck_assert(d == 0 || d == SMBQ_ERR_PROTO);
  }
  free(copy);
  free(all);
}
END_TEST

int main(void) {
  Suite *s = suite_create("rpc");
  TCase *tc = tcase_create("rpc");
  tcase_add_test(tc, bind_matches_rpcclient);
  tcase_add_test(tc, bind_matches_spec);
  tcase_add_test(tc, bind_ack_from_samba);
  tcase_add_test(tc, bind_ack_rejections);
  tcase_add_test(tc, header_checks);
  tcase_add_test(tc, share_enum_request_matches_rpcclient);
  tcase_add_test(tc, share_enum_request_matches_spec);
  tcase_add_test(tc, share_enum_response_from_samba);
  tcase_add_test(tc, share_enum_response_fragmented);
  tcase_add_test(tc, fragment_order);
  tcase_add_test(tc, fault_pdu);
  tcase_add_test(tc, reader_bad_headers);
  tcase_add_test(tc, truncated_stub);
  tcase_add_test(tc, hostile_counts);
  tcase_add_test(tc, hostile_strings);
  tcase_add_test(tc, werror_reply);
  tcase_add_test(tc, ndr_take_bounds);
  tcase_add_test(tc, garbage);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
