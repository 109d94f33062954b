/* DCE/RPC connection-oriented PDUs (C706 ch. 12; MS-RPCE 2.2.2, 3.1.1.5). */
#include "rpc/dcerpc.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "smbq/smbq_err.h"
#include "smbq_bytes.h"

#define RPC_VERS 5
#define RPC_VERS_MINOR_MAX 1  /* 5.0 and 5.1 (C706 12.6.3.1) */
#define DREP_LE_ASCII 0x10    /* integers little-endian, chars ASCII */
#define SYNTAX_LEN 20         /* p_syntax_id_t: uuid (16) + version (4) */
#define BIND_LEN (DCERPC_HDR_LEN + 8 + 4 + 4 + 2 * SYNTAX_LEN)
#define BIND_ACK_FIXED 26     /* up to and including sec_addr.length */
#define RESULT_LEN (4 + SYNTAX_LEN) /* p_result_t */
#define MAX_RSP_FRAGS 8192    /* bound on fragments of one response */

const struct dcerpc_syntax_id dcerpc_ndr20 = {
    .uuid = {0x8a885d04, 0x1ceb, 0x11c9, {0x9f, 0xe8},
             {0x08, 0x00, 0x2b, 0x10, 0x48, 0x60}},
    .major = 2,
    .minor = 0,
};

bool dcerpc_syntax_eq(const struct dcerpc_syntax_id *a,
                      const struct dcerpc_syntax_id *b) {
  return a->uuid.time_low == b->uuid.time_low &&
         a->uuid.time_mid == b->uuid.time_mid &&
         a->uuid.time_hi_and_version == b->uuid.time_hi_and_version &&
         memcmp(a->uuid.clock_seq, b->uuid.clock_seq, 2) == 0 &&
         memcmp(a->uuid.node, b->uuid.node, 6) == 0 &&
         a->major == b->major && a->minor == b->minor;
}

/* p_syntax_id_t (C706 12.6.3.1; UUID encoding appendix A). */
static uint8_t *put_syntax(uint8_t *p, const struct dcerpc_syntax_id *s) {
  p = smbq_put_le32(p, s->uuid.time_low);
  p = smbq_put_le16(p, s->uuid.time_mid);
  p = smbq_put_le16(p, s->uuid.time_hi_and_version);
  p = smbq_put_bytes(p, s->uuid.clock_seq, 2);
  p = smbq_put_bytes(p, s->uuid.node, 6);
  p = smbq_put_le16(p, s->major);
  return smbq_put_le16(p, s->minor);
}

static void get_syntax(struct dcerpc_syntax_id *s, const uint8_t *p) {
  s->uuid.time_low = smbq_le32_at(p);
  s->uuid.time_mid = smbq_le16_at(p + 4);
  s->uuid.time_hi_and_version = smbq_le16_at(p + 6);
  memcpy(s->uuid.clock_seq, p + 8, 2);
  memcpy(s->uuid.node, p + 10, 6);
  s->major = smbq_le16_at(p + 16);
  s->minor = smbq_le16_at(p + 18);
}

static uint8_t *put_hdr(uint8_t *p, uint8_t ptype, uint16_t frag_len,
                        uint32_t call_id) {
  p = smbq_put_u8(p, RPC_VERS);
  p = smbq_put_u8(p, 0); /* rpc_vers_minor */
  p = smbq_put_u8(p, ptype);
  p = smbq_put_u8(p, DCERPC_PFC_FIRST_FRAG | DCERPC_PFC_LAST_FRAG);
  p = smbq_put_u8(p, DREP_LE_ASCII); /* packed_drep (14.1) */
  p = smbq_put_zero(p, 3);           /* IEEE floats, reserved */
  p = smbq_put_le16(p, frag_len);
  p = smbq_put_le16(p, 0);           /* auth_length */
  return smbq_put_le32(p, call_id);
}

/* The part of the header check that needs only the 16 header bytes:
 * version and data representation, and frag_len >= the header. */
static int check_hdr16(const uint8_t *p, uint16_t *frag_len) {
  if (p[0] != RPC_VERS || p[1] > RPC_VERS_MINOR_MAX)
    return SMBQ_ERR_PROTO;
  if ((p[4] & 0xF0) != (DREP_LE_ASCII & 0xF0) || (p[4] & 0x0F) != 0)
    return SMBQ_ERR_UNSUPPORTED; /* big-endian or EBCDIC peer */
  *frag_len = smbq_le16_at(p + 8);
  return *frag_len < DCERPC_HDR_LEN ? SMBQ_ERR_PROTO : 0;
}

int dcerpc_decode_hdr(const uint8_t *pdu, size_t len, struct dcerpc_hdr *h) {
  if (!pdu || len < DCERPC_HDR_LEN)
    return SMBQ_ERR_PROTO;
  memset(h, 0, sizeof(*h));
  int rc = check_hdr16(pdu, &h->frag_len);
  if (rc < 0)
    return rc;
  h->ptype = pdu[2];
  h->flags = pdu[3];
  h->auth_len = smbq_le16_at(pdu + 10);
  h->call_id = smbq_le32_at(pdu + 12);
  if (h->frag_len > len)
    return SMBQ_ERR_PROTO;
  /* an auth_verifier is 8 bytes plus auth_length (12.6.3.2) */
  if (h->auth_len &&
      (size_t)h->auth_len + 8 > (size_t)h->frag_len - DCERPC_HDR_LEN)
    return SMBQ_ERR_PROTO;
  return 0;
}

/* ---- BIND ----------------------------------------------------------------- */

long dcerpc_encode_bind(uint8_t *out, size_t cap,
                        const struct dcerpc_bind_req *r) {
  if (!r->abstract || !r->transfer || r->max_xmit_frag < DCERPC_MIN_FRAG ||
      r->max_recv_frag < DCERPC_MIN_FRAG)
    return SMBQ_ERR_INVAL;
  if (cap < BIND_LEN)
    return SMBQ_ERR_BUFSMALL;
  uint8_t *p = put_hdr(out, DCERPC_PKT_BIND, BIND_LEN, r->call_id);
  p = smbq_put_le16(p, r->max_xmit_frag);
  p = smbq_put_le16(p, r->max_recv_frag);
  p = smbq_put_le32(p, r->assoc_group_id);
  p = smbq_put_u8(p, 1);   /* p_context_elem.n_context_elem */
  p = smbq_put_zero(p, 3); /* reserved, reserved2 */
  p = smbq_put_le16(p, r->ctx_id);
  p = smbq_put_u8(p, 1);   /* n_transfer_syn */
  p = smbq_put_u8(p, 0);   /* reserved */
  p = put_syntax(p, r->abstract);
  p = put_syntax(p, r->transfer);
  assert(p - out == BIND_LEN);
  return BIND_LEN;
}

/* The common checks of a reply PDU: one whole fragment with our call id,
 * no auth trailer (we bind without authentication). */
static int check_reply(const uint8_t *pdu, size_t len, uint32_t call_id,
                       struct dcerpc_hdr *h) {
  int rc = dcerpc_decode_hdr(pdu, len, h);
  if (rc < 0)
    return rc;
  if (h->frag_len != len || h->call_id != call_id || h->auth_len)
    return SMBQ_ERR_PROTO;
  return 0;
}

static int decode_bind_nak(const uint8_t *pdu, size_t len,
                           struct dcerpc_bind_ack *a) {
  if (len < DCERPC_HDR_LEN + 2)
    return SMBQ_ERR_PROTO;
  a->nak = true;
  a->reject_reason = smbq_le16_at(pdu + DCERPC_HDR_LEN);
  return SMBQ_ERR_UNSUPPORTED;
}

int dcerpc_decode_bind_ack(const uint8_t *pdu, size_t len, uint32_t call_id,
                           const struct dcerpc_syntax_id *transfer,
                           struct dcerpc_bind_ack *a) {
  struct dcerpc_hdr h;
  memset(a, 0, sizeof(*a));
  int rc = check_reply(pdu, len, call_id, &h);
  if (rc < 0)
    return rc;
  if (h.ptype == DCERPC_PKT_BIND_NAK)
    return decode_bind_nak(pdu, len, a);
  if (h.ptype != DCERPC_PKT_BIND_ACK || len < BIND_ACK_FIXED)
    return SMBQ_ERR_PROTO;
  a->max_xmit_frag = smbq_le16_at(pdu + 16);
  a->max_recv_frag = smbq_le16_at(pdu + 18);
  a->assoc_group_id = smbq_le32_at(pdu + 20);
  /* sec_addr (port_any_t), then pad to 4 (PDU-relative), then the
   * p_result_list: n_results, reserved (3), results (12.6.4.4). */
  size_t off = BIND_ACK_FIXED + smbq_le16_at(pdu + 24);
  off += (4 - (off & 3)) & 3;
  if (smbq_check_range(len, BIND_ACK_FIXED, off, 4) < 0)
    return SMBQ_ERR_PROTO;
  uint8_t n_results = pdu[off];
  off += 4;
  if (n_results == 0 ||
      smbq_check_range(len, off, off, (size_t)n_results * RESULT_LEN) < 0)
    return SMBQ_ERR_PROTO;
  a->result = smbq_le16_at(pdu + off);
  a->reason = smbq_le16_at(pdu + off + 2);
  get_syntax(&a->transfer, pdu + off + 4);
  if (a->max_xmit_frag < DCERPC_MIN_FRAG || a->max_recv_frag < DCERPC_MIN_FRAG)
    return SMBQ_ERR_PROTO;
  if (a->result != DCERPC_RESULT_ACCEPTANCE)
    return SMBQ_ERR_UNSUPPORTED;
  return dcerpc_syntax_eq(&a->transfer, transfer) ? 0 : SMBQ_ERR_PROTO;
}

const char *dcerpc_bind_reason_name(const struct dcerpc_bind_ack *a) {
  /* BIND_NAK: p_reject_reason_t (12.6.3.1; MS-RPCE 2.2.2.5) */
  static const char *const nak[] = {
      "reason not specified", "temporary congestion",
      "local limit exceeded", "called presentation address unknown",
      "protocol version not supported", "default context not supported",
      "user data not readable", "no PSAP available",
      "authentication type not recognized", "invalid checksum"};
  /* p_provider_reason_t */
  static const char *const prov[] = {
      "reason not specified", "abstract syntax not supported",
      "proposed transfer syntaxes not supported", "local limit exceeded"};
  if (a->nak)
    return a->reject_reason < sizeof(nak) / sizeof(nak[0])
               ? nak[a->reject_reason]
               : "unknown reason";
  if (a->result == DCERPC_RESULT_USER_REJECTION)
    return "rejected by the server application";
  return a->reason < sizeof(prov) / sizeof(prov[0]) ? prov[a->reason]
                                                    : "unknown reason";
}

/* ---- REQUEST ---------------------------------------------------------------- */

size_t dcerpc_request_size(size_t stub_len) {
  return DCERPC_REQ_HDR_LEN + stub_len;
}

long dcerpc_encode_request(uint8_t *out, size_t cap,
                           const struct dcerpc_request *r) {
  if ((r->stub_len && !r->stub) || r->stub_len > UINT32_MAX)
    return SMBQ_ERR_INVAL;
  size_t len = dcerpc_request_size(r->stub_len);
  if (len > r->max_frag || len > DCERPC_MAX_FRAG)
    return SMBQ_ERR_INVAL; /* would need fragmenting (12.6.4.9) */
  if (len > cap)
    return SMBQ_ERR_BUFSMALL;
  uint8_t *p = put_hdr(out, DCERPC_PKT_REQUEST, (uint16_t)len, r->call_id);
  p = smbq_put_le32(p, (uint32_t)r->stub_len); /* alloc_hint */
  p = smbq_put_le16(p, r->ctx_id);
  p = smbq_put_le16(p, r->opnum);
  p = smbq_put_bytes(p, r->stub, r->stub_len);
  assert((size_t)(p - out) == len);
  return (long)len;
}

/* ---- fragment framing --------------------------------------------------- */

void dcerpc_reader_init(struct dcerpc_reader *rd) {
  memset(rd, 0, sizeof(*rd));
  rd->need = DCERPC_HDR_LEN;
}

void dcerpc_reader_free(struct dcerpc_reader *rd) {
  free(rd->frag);
  dcerpc_reader_init(rd);
}

size_t dcerpc_reader_missing(const struct dcerpc_reader *rd) {
  return rd->have < rd->need ? rd->need - rd->have : DCERPC_HDR_LEN;
}

/* The header is in: size the fragment buffer by its frag_len. */
static int reader_start_frag(struct dcerpc_reader *rd) {
  uint16_t frag_len;
  int rc = check_hdr16(rd->hdr, &frag_len);
  if (rc < 0)
    return rc;
  uint8_t *f = realloc(rd->frag, frag_len);
  if (!f)
    return SMBQ_ERR_NOMEM;
  rd->frag = f;
  memcpy(f, rd->hdr, DCERPC_HDR_LEN);
  rd->need = frag_len;
  return 0;
}

long dcerpc_reader_feed(struct dcerpc_reader *rd, const uint8_t *data,
                        size_t len, const uint8_t **frag, size_t *frag_len) {
  *frag = NULL;
  *frag_len = 0;
  if (rd->have == rd->need) { /* the previous fragment was handed out */
    rd->have = 0;
    rd->need = DCERPC_HDR_LEN;
  }
  size_t used = 0;
  if (rd->have < DCERPC_HDR_LEN) {
    size_t n = DCERPC_HDR_LEN - rd->have;
    n = n < len ? n : len;
    memcpy(rd->hdr + rd->have, data, n);
    rd->have += n;
    used = n;
    if (rd->have < DCERPC_HDR_LEN)
      return (long)used;
    int rc = reader_start_frag(rd);
    if (rc < 0)
      return rc;
  }
  size_t n = rd->need - rd->have;
  n = n < len - used ? n : len - used;
  memcpy(rd->frag + rd->have, data + used, n);
  rd->have += n;
  used += n;
  if (rd->have == rd->need) {
    *frag = rd->frag;
    *frag_len = rd->need;
  }
  return (long)used;
}

/* ---- RESPONSE reassembly ----------------------------------------------- */

void dcerpc_rsp_init(struct dcerpc_rsp *r, uint32_t call_id,
                     size_t max_stub) {
  memset(r, 0, sizeof(*r));
  r->call_id = call_id;
  r->max_stub = max_stub;
}

void dcerpc_rsp_free(struct dcerpc_rsp *r) {
  free(r->stub);
  r->stub = NULL;
  r->stub_len = r->stub_cap = 0;
}

static int rsp_append(struct dcerpc_rsp *r, const uint8_t *p, size_t n) {
  if (n > r->max_stub - r->stub_len)
    return SMBQ_ERR_PROTO; /* more than we accept for one call */
  if (n == 0) /* a fragment carrying no payload: nothing to append, and
                  r->stub may not be allocated yet */
    return 0;
  if (n > r->stub_cap - r->stub_len) {
    size_t cap = r->stub_cap ? r->stub_cap : 4096;
    while (cap - r->stub_len < n)
      cap = cap > r->max_stub / 2 ? r->max_stub : cap * 2;
    uint8_t *s = realloc(r->stub, cap);
    if (!s)
      return SMBQ_ERR_NOMEM;
    r->stub = s;
    r->stub_cap = cap;
  }
  memcpy(r->stub + r->stub_len, p, n);
  r->stub_len += n;
  return 0;
}

/* FAULT (12.6.4.7): alloc_hint, p_cont_id, cancel_count, reserved,
 * status. A status of 0 is not a fault (MS-RPCE 3.1.1.5.2). */
static int rsp_fault(struct dcerpc_rsp *r, const uint8_t *pdu, size_t len) {
  if (len < DCERPC_FAULT_MIN_LEN)
    return SMBQ_ERR_PROTO;
  r->fault = smbq_le32_at(pdu + 24);
  r->done = true;
  return r->fault ? SMBQ_ERR_STATUS : SMBQ_ERR_PROTO;
}

int dcerpc_rsp_add(struct dcerpc_rsp *r, const uint8_t *pdu, size_t len) {
  struct dcerpc_hdr h;
  if (r->done || r->n_frags >= MAX_RSP_FRAGS)
    return SMBQ_ERR_PROTO;
  int rc = check_reply(pdu, len, r->call_id, &h);
  if (rc < 0)
    return rc;
  if (h.ptype == DCERPC_PKT_FAULT)
    return rsp_fault(r, pdu, len);
  bool first = h.flags & DCERPC_PFC_FIRST_FRAG;
  bool last = h.flags & DCERPC_PFC_LAST_FRAG;
  if (h.ptype != DCERPC_PKT_RESPONSE || len < DCERPC_RSP_HDR_LEN ||
      first != (r->n_frags == 0))
    return SMBQ_ERR_PROTO;
  /* every fragment but the last carries stub data (bounds the loop) */
  if (!last && len == DCERPC_RSP_HDR_LEN)
    return SMBQ_ERR_PROTO;
  rc = rsp_append(r, pdu + DCERPC_RSP_HDR_LEN, len - DCERPC_RSP_HDR_LEN);
  if (rc < 0)
    return rc;
  r->n_frags++;
  r->done = last;
  return last ? 1 : 0;
}

/* ---- fault statuses -------------------------------------------------------- */

struct fault_name {
  uint32_t status;
  int err;
  const char *name;
};

static const struct fault_name faults[] = {
    {0x00000005, SMBQ_ERR_ACCESS, "nca_s_fault_access_denied"},
    {0x000006D8, SMBQ_ERR_STATUS, "nca_s_fault_cant_perform"},
    {0x000006F7, SMBQ_ERR_PROTO, "nca_s_fault_ndr"},
    {0x1C000008, SMBQ_ERR_PROTO, "nca_rpc_version_mismatch"},
    {0x1C000009, SMBQ_ERR_STATUS, "nca_unspec_reject"},
    {0x1C00001A, SMBQ_ERR_PROTO, "nca_s_fault_context_mismatch"},
    {0x1C00001B, SMBQ_ERR_STATUS, "nca_s_fault_remote_no_memory"},
    {0x1C00001C, SMBQ_ERR_PROTO, "nca_invalid_pres_context_id"},
    {0x1C010002, SMBQ_ERR_UNSUPPORTED, "nca_s_op_rng_error"},
    {0x1C010003, SMBQ_ERR_UNSUPPORTED, "nca_s_unk_if"},
    {0x1C01000B, SMBQ_ERR_PROTO, "nca_s_proto_error"},
    {0x1C010013, SMBQ_ERR_STATUS, "nca_out_args_too_big"},
    {0x1C010014, SMBQ_ERR_STATUS, "nca_server_too_busy"},
    {0x1C010017, SMBQ_ERR_UNSUPPORTED, "nca_unsupported_type"},
};

static const struct fault_name *find_fault(uint32_t status) {
  for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
    if (faults[i].status == status)
      return &faults[i];
  return NULL;
}

const char *dcerpc_fault_name(uint32_t status) {
  const struct fault_name *f = find_fault(status);
  return f ? f->name : NULL;
}

int dcerpc_fault_err(uint32_t status) {
  const struct fault_name *f = find_fault(status);
  return f ? f->err : SMBQ_ERR_STATUS;
}
