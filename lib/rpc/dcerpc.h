/* DCE/RPC connection-oriented PDUs (C706 ch. 12, MS-RPCE 2.2.2), sans-I/O:
 * encoders write PDUs into a caller's buffer, decoders take whole PDUs
 * (fragments) and check every length in them, and two small state machines
 * turn a byte stream into fragments (dcerpc_reader) and fragments into one
 * response's stub data (dcerpc_rsp). Only what a client of a named pipe
 * needs: BIND/BIND_ACK/BIND_NAK, REQUEST/RESPONSE/FAULT, no
 * authentication (the SMB session protects the pipe), little-endian NDR
 * data representation only. Errors are SMBQ_ERR_* (smbq_err.h). */
#ifndef SMBQ_DCERPC_H
#define SMBQ_DCERPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Sizes (C706 12.6.3, 12.6.4) */
#define DCERPC_HDR_LEN 16         /* the common header */
#define DCERPC_REQ_HDR_LEN 24     /* REQUEST up to its stub data */
#define DCERPC_RSP_HDR_LEN 24     /* RESPONSE up to its stub data */
#define DCERPC_FAULT_MIN_LEN 28   /* FAULT up to and including status */
#define DCERPC_MIN_FRAG 1432      /* smallest max_xmit/recv_frag (12.6.3.1)*/
#define DCERPC_MAX_FRAG 65535     /* frag_length is 16 bits */

/* PTYPE (C706 12.6.3.1) */
#define DCERPC_PKT_REQUEST 0
#define DCERPC_PKT_RESPONSE 2
#define DCERPC_PKT_FAULT 3
#define DCERPC_PKT_BIND 11
#define DCERPC_PKT_BIND_ACK 12
#define DCERPC_PKT_BIND_NAK 13

/* pfc_flags (C706 12.6.3.1) */
#define DCERPC_PFC_FIRST_FRAG 0x01
#define DCERPC_PFC_LAST_FRAG 0x02
#define DCERPC_PFC_OBJECT_UUID 0x80

/* p_cont_def_result_t and p_provider_reason_t (C706 12.6.3.1) */
#define DCERPC_RESULT_ACCEPTANCE 0
#define DCERPC_RESULT_USER_REJECTION 1
#define DCERPC_RESULT_PROVIDER_REJECTION 2

/* A UUID in its NDR form (C706 appendix A): the first three fields are
 * integers (little-endian on the wire), the rest bytes. */
struct dcerpc_uuid {
  uint32_t time_low;
  uint16_t time_mid;
  uint16_t time_hi_and_version;
  uint8_t clock_seq[2];
  uint8_t node[6];
};

/* p_syntax_id_t: interface UUID and version (major in the low 16 bits of
 * the wire's if_version, minor in the high). */
struct dcerpc_syntax_id {
  struct dcerpc_uuid uuid;
  uint16_t major, minor;
};

/* NDR 2.0: 8a885d04-1ceb-11c9-9fe8-08002b104860 v2.0 (C706 14.1). */
extern const struct dcerpc_syntax_id dcerpc_ndr20;

bool dcerpc_syntax_eq(const struct dcerpc_syntax_id *a,
                      const struct dcerpc_syntax_id *b);

/* The common header (C706 12.6.3.1). */
struct dcerpc_hdr {
  uint8_t ptype;
  uint8_t flags;
  uint16_t frag_len;
  uint16_t auth_len;
  uint32_t call_id;
};

/* Decode and check the common header of a PDU of len bytes: version 5.0,
 * little-endian/ASCII/IEEE data representation, frag_len at least the
 * header and at most len, auth_len inside the fragment. 0 or
 * SMBQ_ERR_PROTO (SMBQ_ERR_UNSUPPORTED for a big-endian or non-ASCII
 * peer, which we do not speak). */
int dcerpc_decode_hdr(const uint8_t *pdu, size_t len, struct dcerpc_hdr *h);

/* ---- BIND / BIND_ACK / BIND_NAK (C706 12.6.4.3 - 12.6.4.5) ------------ */

struct dcerpc_bind_req {
  uint32_t call_id;
  uint16_t max_xmit_frag, max_recv_frag; /* >= DCERPC_MIN_FRAG */
  uint32_t assoc_group_id;               /* 0 = a new association */
  uint16_t ctx_id;                       /* the one presentation context */
  const struct dcerpc_syntax_id *abstract;
  const struct dcerpc_syntax_id *transfer;
};

/* BIND with one presentation context offering one transfer syntax.
 * Returns the PDU length, SMBQ_ERR_INVAL (fragment sizes below the
 * minimum, NULL syntax) or SMBQ_ERR_BUFSMALL. */
long dcerpc_encode_bind(uint8_t *out, size_t cap,
                        const struct dcerpc_bind_req *r);

struct dcerpc_bind_ack {
  bool nak;                /* BIND_NAK */
  uint16_t reject_reason;  /* BIND_NAK: provider_reject_reason */
  uint16_t max_xmit_frag, max_recv_frag;
  uint32_t assoc_group_id;
  uint16_t result, reason; /* of our (first) presentation context */
  struct dcerpc_syntax_id transfer;
};

/* Decode the answer to our BIND with call_id (one whole PDU). 0 when a
 * BIND_ACK accepts the first context with transfer syntax `transfer`;
 * SMBQ_ERR_UNSUPPORTED when a BIND_NAK or a rejecting result came (*a says
 * which and why); SMBQ_ERR_PROTO for a malformed or unexpected PDU
 * (other type, wrong call id, not exactly one whole fragment, fragment
 * sizes below the minimum, an accepted context with another transfer
 * syntax). */
int dcerpc_decode_bind_ack(const uint8_t *pdu, size_t len, uint32_t call_id,
                           const struct dcerpc_syntax_id *transfer,
                           struct dcerpc_bind_ack *a);

/* Names for messages: "abstract syntax not supported", ... (static). */
const char *dcerpc_bind_reason_name(const struct dcerpc_bind_ack *a);

/* ---- REQUEST / RESPONSE / FAULT (C706 12.6.4.9, 12.6.4.10, 12.6.4.7) - */

struct dcerpc_request {
  uint32_t call_id;
  uint16_t ctx_id;
  uint16_t opnum;
  const uint8_t *stub;
  size_t stub_len;
  uint16_t max_frag;  /* the server's max_recv_frag from the BIND_ACK */
};

/* Bytes of the (single-fragment) REQUEST for stub_len bytes of stub. */
size_t dcerpc_request_size(size_t stub_len);

/* One REQUEST PDU with PFC_FIRST_FRAG|PFC_LAST_FRAG. Requests that would
 * need more than one fragment (longer than max_frag) are not supported:
 * SMBQ_ERR_INVAL. Also SMBQ_ERR_BUFSMALL. */
long dcerpc_encode_request(uint8_t *out, size_t cap,
                           const struct dcerpc_request *r);

/* Fragment framing over a byte stream (a pipe's reads may cut a PDU
 * anywhere, MS-FSCC 2.3.30 / MS-SMB2 3.2.4.20.1). Holds at most one
 * fragment, so at most DCERPC_MAX_FRAG bytes. */
struct dcerpc_reader {
  uint8_t hdr[DCERPC_HDR_LEN];
  uint8_t *frag;  /* the fragment being collected (malloc'd) */
  size_t have;    /* bytes of it collected */
  size_t need;    /* its frag_len once the header is in, else 16 */
};

void dcerpc_reader_init(struct dcerpc_reader *rd);
void dcerpc_reader_free(struct dcerpc_reader *rd);

/* Take bytes from data. Returns how many were consumed (<= len) or
 * SMBQ_ERR_PROTO (a bad common header) / SMBQ_ERR_NOMEM. When a fragment
 * is complete, *frag and *frag_len give it (valid until the next call)
 * and feeding stops there: call again with the rest of data. Otherwise
 * *frag is NULL. */
long dcerpc_reader_feed(struct dcerpc_reader *rd, const uint8_t *data,
                        size_t len, const uint8_t **frag, size_t *frag_len);

/* Bytes still missing from the current fragment (at least 1), a hint
 * for how much to read next. */
size_t dcerpc_reader_missing(const struct dcerpc_reader *rd);

/* One call's response, reassembled from its fragments: the stub data of
 * every RESPONSE fragment, concatenated, at most max_stub bytes. */
struct dcerpc_rsp {
  uint32_t call_id;
  size_t max_stub;
  uint8_t *stub;       /* malloc'd; owned until dcerpc_rsp_free */
  size_t stub_len, stub_cap;
  unsigned n_frags;
  bool done;
  uint32_t fault;      /* the FAULT PDU's status, 0 if none */
};

void dcerpc_rsp_init(struct dcerpc_rsp *r, uint32_t call_id,
                     size_t max_stub);
void dcerpc_rsp_free(struct dcerpc_rsp *r);

/* Add one whole fragment (as dcerpc_reader hands them out). Returns 1
 * when it was the last one (the stub is complete), 0 when more follow,
 * SMBQ_ERR_STATUS for a FAULT PDU (r->fault holds its status),
 * SMBQ_ERR_PROTO for anything malformed or out of order (other type,
 * other call id, missing or repeated PFC_FIRST_FRAG, an auth trailer we
 * did not ask for, a fragment after the last, a stub over max_stub),
 * SMBQ_ERR_NOMEM. */
int dcerpc_rsp_add(struct dcerpc_rsp *r, const uint8_t *pdu, size_t len);

/* FAULT status names (C706 appendix E, MS-RPCE 3.1.1.5.5):
 * "nca_s_op_rng_error", ... or NULL. */
const char *dcerpc_fault_name(uint32_t status);
/* The SMBQ_ERR_* for a FAULT status: SMBQ_ERR_UNSUPPORTED (unknown
 * interface or operation), SMBQ_ERR_ACCESS (access denied),
 * SMBQ_ERR_PROTO (protocol or NDR errors), else SMBQ_ERR_STATUS. */
int dcerpc_fault_err(uint32_t status);

#endif
