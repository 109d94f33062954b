/* smbq_share_enum: srvsvc NetrShareEnum (MS-SRVS 3.1.4.8) over DCE/RPC on
 * the named pipe \PIPE\srvsvc of IPC$ (ncacn_np, MS-RPCE 2.1.1.2).
 *
 * The pipe is opened with CREATE on the IPC$ tree (MS-SMB2 2.2.13). Each
 * RPC PDU goes out in an FSCTL_PIPE_TRANSCEIVE (MS-FSCC 2.3.30, MS-SMB2
 * 3.2.4.20.1), whose reply carries the first bytes of the answer; when the
 * answer is longer (STATUS_BUFFER_OVERFLOW, or more fragments follow) the
 * rest comes with READs on the pipe. lib/rpc does all the parsing; this
 * file only moves bytes and turns results into messages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/fileops.h"
#include "rpc/dcerpc.h"
#include "rpc/srvsvc.h"
#include "smb2/smb2_pdu.h"
#include "smbq_utf16.h"

/* MaxOutputResponse of a transceive: small, as Windows clients use it;
 * a longer answer continues with READ (the STATUS_BUFFER_OVERFLOW path). */
#define PIPE_TRANSCEIVE_MAX 1024u
/* Length of each READ of the rest of an answer. */
#define PIPE_READ_MAX 65536u
/* Our max_xmit_frag and max_recv_frag in the BIND (Windows' value). */
#define RPC_FRAG 4280u
/* Bounds on one answer: stub bytes, and transceive + READ round trips. */
#define RPC_MAX_STUB (4u * 1024u * 1024u)
#define RPC_MAX_ROUNDS 4096
/* NetrShareEnum calls resumed after ERROR_MORE_DATA. */
#define ENUM_MAX_CALLS 64
/* SMB2 request bodies: the IOCTL fixed part, our biggest PDU. */
#define IOCTL_FIXED 56u
#define PDU_MAX 4096u

/* Pipe access as Windows asks for it: read/write data, EAs, attributes,
 * READ_CONTROL, SYNCHRONIZE (0x0012019F). */
#define PIPE_ACCESS                                                          \
  (SMB2_FILE_READ_DATA | SMB2_FILE_WRITE_DATA | SMB2_FILE_APPEND_DATA |      \
   SMB2_FILE_READ_EA | SMB2_FILE_WRITE_EA | SMB2_FILE_READ_ATTRIBUTES |     \
   SMB2_FILE_WRITE_ATTRIBUTES | SMB2_READ_CONTROL | SMB2_SYNCHRONIZE)

struct rpc_pipe {
  smbq_conn *c;
  smbq_tree *t;
  uint8_t fid[16];
  bool open;
  uint32_t next_call_id;
  uint16_t max_xmit; /* the server's max_recv_frag (BIND_ACK) */
};

/* ---- pipe I/O------------------------------------------------------------ */

/* What one transceive or READ brought: a copy of the data (the reply
 * buffer lives only during the parse callback). */
struct pipe_io {
  uint8_t *buf;
  size_t cap;
  size_t len;
};

/* Success, or BUFFER_OVERFLOW: the data is the first part of a message
 * that READs continue (MS-SMB2 3.3.5.15.8, 3.3.5.12). Error statuses
 * never reach a parser; another warning is not one we can read. */
static int pipe_status(uint32_t status) {
  if (status == NT_STATUS_SUCCESS || status == NT_STATUS_BUFFER_OVERFLOW)
    return 0;
  return SMBQ_ERR_PROTO;
}

static int pipe_copy(struct pipe_io *io, const uint8_t *data, size_t len) {
  if (len > io->cap)
    return SMBQ_ERR_PROTO; /* more than we asked for */
  if (len)
    memcpy(io->buf, data, len);
  io->len = len;
  return 0;
}

static int parse_transceive(void *ctx, uint32_t status, const uint8_t *msg,
                            size_t len) {
  int rc = pipe_status(status);
  struct smb2_ioctl_rsp r;
  if (rc == 0)
    rc = smb2_decode_ioctl_rsp(msg, len, &r);
  return rc < 0 ? rc : pipe_copy(ctx, r.output, r.output_len);
}

static int parse_pipe_read(void *ctx, uint32_t status, const uint8_t *msg,
                           size_t len) {
  int rc = pipe_status(status);
  struct smb2_read_rsp r;
  if (rc == 0)
    rc = smb2_decode_read_rsp(msg, len, &r);
  return rc < 0 ? rc : pipe_copy(ctx, r.data, r.data_len);
}

static int pipe_transceive(struct rpc_pipe *p, const uint8_t *in,
                           size_t in_len, struct pipe_io *io) {
  struct smb2_ioctl_req q = {.ctl_code = SMB2_FSCTL_PIPE_TRANSCEIVE,
                             .input = in,
                             .input_len = in_len,
                             .max_output = PIPE_TRANSCEIVE_MAX,
                             .flags = SMB2_0_IOCTL_IS_FSCTL};
  memcpy(q.file_id, p->fid, 16);
  struct smb2_req *r = api_req(p->c, p->t, SMB2_IOCTL, IOCTL_FIXED + in_len);
  if (!r)
    return SMBQ_ERR_NOMEM;
  long n = smb2_encode_ioctl_req_ex(smb2_req_body(r), smb2_req_body_cap(r),
                                    &q);
  if (n < 0) {
    smb2_req_free(r);
    return (int)n;
  }
  smb2_req_set_body_len(r, (size_t)n);
  r->payload_size = (uint32_t)(in_len > PIPE_TRANSCEIVE_MAX
                                   ? in_len
                                   : PIPE_TRANSCEIVE_MAX);
  io->cap = PIPE_TRANSCEIVE_MAX;
  uint32_t status = 0;
  int rc = api_call1(p->c, r, parse_transceive, io, &status);
  return rc < 0 ? api_fail(p->c, rc, status,
                           "RPC exchange on \\PIPE\\srvsvc of %s failed",
                           p->c->server)
                : 0;
}

static int pipe_read(struct rpc_pipe *p, struct pipe_io *io) {
  uint32_t want = p->c->neg.max_read < PIPE_READ_MAX ? p->c->neg.max_read
                                                 : PIPE_READ_MAX;
  struct smb2_req *r = api_req(p->c, p->t, SMB2_READ, 49);
  if (!r)
    return SMBQ_ERR_NOMEM;
  smb2_req_set_body_len(r, (size_t)smb2_encode_read_req(
                               smb2_req_body(r), 49, p->fid, 0, want));
  r->payload_size = want;
  io->cap = want;
  uint32_t status = 0;
  int rc = api_call1(p->c, r, parse_pipe_read, io, &status);
  if (rc == 0 && io->len == 0)
    rc = SMBQ_ERR_PROTO; /* a pipe READ that brings nothing */
  return rc < 0 ? api_fail(p->c, rc, status,
                           "reading the RPC answer from \\PIPE\\srvsvc of "
                           "%s failed", p->c->server)
                : 0;
}

/* ---- one RPC exchange---------------------------------------------------- */

/* Handles one whole fragment: 1 = the answer is complete, 0 = more
 * fragments follow, <0 = error. */
typedef int (*frag_fn)(void *ctx, const uint8_t *frag, size_t len);

/* Cut data into fragments and hand each to on_frag. Returns as on_frag;
 * bytes after the answer's last fragment are a protocol error. */
static int feed_frags(struct dcerpc_reader *rd, const struct pipe_io *io,
                      frag_fn on_frag, void *ctx) {
  size_t off = 0;
  while (off < io->len) {
    const uint8_t *frag;
    size_t flen;
    long n = dcerpc_reader_feed(rd, io->buf + off, io->len - off, &frag,
                                &flen);
    if (n < 0)
      return (int)n;
    off += (size_t)n;
    if (!frag)
      continue;
    int rc = on_frag(ctx, frag, flen);
    if (rc != 0)
      return rc == 1 && off < io->len ? SMBQ_ERR_PROTO : rc;
  }
  return 0;
}

/* The message for an answer lib/rpc could not take. */
static int exchange_fail(struct rpc_pipe *p, int rc) {
  if (rc == SMBQ_ERR_NOMEM)
    return api_fail(p->c, rc, 0, "reading the RPC answer from %s",
                    p->c->server);
  if (rc == SMBQ_ERR_UNSUPPORTED)
    return api_fail(p->c, rc, 0, "%s answers RPC in a data representation "
                    "other than little-endian ASCII NDR", p->c->server);
  return api_fail(p->c, rc, 0, "malformed RPC answer from %s on "
                  "\\PIPE\\srvsvc", p->c->server);
}

/* Send pdu and collect the answer's fragments until on_frag says done.
 * Every error but a FAULT (SMBQ_ERR_STATUS, the caller's to report) has
 * its message set. */
static int rpc_exchange(struct rpc_pipe *p, const uint8_t *pdu, size_t len,
                        frag_fn on_frag, void *ctx) {
  struct dcerpc_reader rd;
  dcerpc_reader_init(&rd);
  struct pipe_io io = {.buf = malloc(PIPE_READ_MAX)};
  if (!io.buf)
    return SMBQ_ERR_NOMEM;
  int rc = pipe_transceive(p, pdu, len, &io);
  for (int round = 0; rc == 0; round++) {
    rc = feed_frags(&rd, &io, on_frag, ctx);
    if (rc == 0 && round >= RPC_MAX_ROUNDS)
      rc = SMBQ_ERR_PROTO; /* an answer that never ends */
    if (rc < 0 && rc != SMBQ_ERR_STATUS)
      rc = exchange_fail(p, rc);
    if (rc == 0)
      rc = pipe_read(p, &io);
  }
  dcerpc_reader_free(&rd);
  free(io.buf);
  return rc == 1 ? 0 : rc;
}

/* ---- BIND---------------------------------------------------------------- */

struct bind_ctx {
  uint32_t call_id;
  struct dcerpc_bind_ack ack;
  int rc;
};

static int bind_frag(void *ctx, const uint8_t *frag, size_t len) {
  struct bind_ctx *b = ctx;
  b->rc = dcerpc_decode_bind_ack(frag, len, b->call_id, &dcerpc_ndr20,
                                 &b->ack);
  /* a refusal is an answer too: rpc_bind reports it with its reason */
  return b->rc < 0 && b->rc != SMBQ_ERR_UNSUPPORTED ? b->rc : 1;
}

/* C706 12.6.4.3, MS-RPCE 3.3.1.5.3: one presentation context, srvsvc
 * v3.0 with NDR 2.0. */
static int rpc_bind(struct rpc_pipe *p) {
  uint8_t pdu[128];
  struct dcerpc_bind_req b = {.call_id = p->next_call_id++,
                              .max_xmit_frag = RPC_FRAG,
                              .max_recv_frag = RPC_FRAG,
                              .ctx_id = 0,
                              .abstract = &srvsvc_syntax,
                              .transfer = &dcerpc_ndr20};
  long n = dcerpc_encode_bind(pdu, sizeof(pdu), &b);
  if (n < 0)
    return (int)n;
  struct bind_ctx bc = {.call_id = b.call_id};
  int rc = rpc_exchange(p, pdu, (size_t)n, bind_frag, &bc);
  if (rc < 0)
    return rc;
  if (bc.rc < 0)
    return api_fail(p->c, bc.rc, 0,
                    "%s refused the srvsvc RPC binding on \\PIPE\\srvsvc "
                    "(%s)", p->c->server, dcerpc_bind_reason_name(&bc.ack));
  /* our requests must fit the server's receive fragment (12.6.3.1) */
  p->max_xmit = bc.ack.max_recv_frag < RPC_FRAG ? bc.ack.max_recv_frag
                                                : RPC_FRAG;
  return 0;
}

/* ---- REQUEST------------------------------------------------------------- */

static int rsp_frag(void *ctx, const uint8_t *frag, size_t len) {
  return dcerpc_rsp_add(ctx, frag, len);
}

/* Send one REQUEST with stub, collect the RESPONSE's stub into *rsp
 * (the caller frees it with dcerpc_rsp_free, also after errors). */
static int rpc_call(struct rpc_pipe *p, uint16_t opnum, const uint8_t *stub,
                    size_t stub_len, struct dcerpc_rsp *rsp) {
  uint8_t pdu[PDU_MAX];
  struct dcerpc_request q = {.call_id = p->next_call_id++,
                             .ctx_id = 0,
                             .opnum = opnum,
                             .stub = stub,
                             .stub_len = stub_len,
                             .max_frag = p->max_xmit};
  dcerpc_rsp_init(rsp, q.call_id, RPC_MAX_STUB);
  long n = dcerpc_encode_request(pdu, sizeof(pdu), &q);
  if (n < 0)
    return api_fail(p->c, SMBQ_ERR_INVAL, 0, "RPC request too large");
  int rc = rpc_exchange(p, pdu, (size_t)n, rsp_frag, rsp);
  if (rc != SMBQ_ERR_STATUS || !rsp->fault)
    return rc; /* done, or failed with its message set */
  const char *name = dcerpc_fault_name(rsp->fault);
  return api_fail(p->c, dcerpc_fault_err(rsp->fault), 0,
                  "%s answered the share listing with RPC fault %s "
                  "(0x%08x)", p->c->server, name ? name : "status",
                  rsp->fault);
}

/* ---- open / close-------------------------------------------------------- */

static int parse_pipe_create(void *ctx, uint32_t status, const uint8_t *msg,
                             size_t len) {
  (void)status;
  struct smb2_create_rsp cr;
  int rc = smb2_decode_create_rsp(msg, len, &cr);
  if (rc == 0)
    memcpy(ctx, cr.file_id, 16);
  return rc;
}

static int pipe_open(smbq_conn *c, struct rpc_pipe *p) {
  memset(p, 0, sizeof(*p));
  p->c = c;
  p->next_call_id = 1;
  int rc = smbq_tree_connect(c, "IPC$", &p->t);
  if (rc < 0)
    return rc; /* the message names IPC$ and the cause */
  struct core_create_spec spec = {.access = PIPE_ACCESS,
                                 .disposition = SMB2_FILE_OPEN};
  struct smb2_req *r =
      core_create_req(&p->t->core, p->t->conn->leases, SRVSVC_PIPE_NAME, &spec);
  if (!r)
    return api_fail(c, SMBQ_ERR_NOMEM, 0, "opening \\PIPE\\srvsvc");
  uint32_t status = 0;
  rc = api_call1(c, r, parse_pipe_create, p->fid, &status);
  if (rc < 0)
    return api_fail(c, rc, status,
                    "cannot open the share listing service (\\PIPE\\srvsvc "
                    "on \\\\%s\\IPC$)", c->server);
  p->open = true;
  return 0;
}

/* Close what pipe_open opened; keeps the connection's error message. */
static void pipe_close(struct rpc_pipe *p) {
  if (p->open) {
    struct smb2_req *r = api_close_req(p->t, p->fid);
    if (r)
      api_call1(p->c, r, NULL, NULL, NULL);
  }
  if (p->t)
    smbq_tree_disconnect(p->t);
  p->t = NULL;
  p->open = false;
}

/* ---- results------------------------------------------------------------- */

struct share_list {
  struct smbq_share_info *v;
  size_t n, cap;
};

static enum smbq_share_type share_type(uint32_t raw) {
  switch (raw & SRVSVC_STYPE_MASK) {
  case SRVSVC_STYPE_DISKTREE:
    return SMBQ_SHARE_DISK;
  case SRVSVC_STYPE_PRINTQ:
    return SMBQ_SHARE_PRINTER;
  case SRVSVC_STYPE_DEVICE:
    return SMBQ_SHARE_DEVICE;
  case SRVSVC_STYPE_IPC:
    return SMBQ_SHARE_IPC;
  default:
    return SMBQ_SHARE_OTHER;
  }
}

/* One SHARE_INFO_1 to a public entry (UTF-16LE to UTF-8). */
static int share_convert(const struct srvsvc_share1 *s,
                         struct smbq_share_info *e) {
  memset(e, 0, sizeof(*e));
  int rc = smbq_utf16le_to_utf8(s->name, s->name_len, &e->name);
  if (rc == 0 && s->remark)
    rc = smbq_utf16le_to_utf8(s->remark, s->remark_len, &e->comment);
  else if (rc == 0 && !(e->comment = strdup("")))
    rc = SMBQ_ERR_NOMEM; /* a NULL remark pointer: no comment */
  if (rc < 0) {
    free(e->name);
    free(e->comment);
    return rc;
  }
  size_t nl = strlen(e->name);
  e->hidden = nl > 0 && e->name[nl - 1] == '$';
  e->special = (s->type & SRVSVC_STYPE_SPECIAL) != 0;
  e->temporary = (s->type & SRVSVC_STYPE_TEMPORARY) != 0;
  e->type = share_type(s->type);
  e->raw_type = s->type;
  return 0;
}

static int list_add(struct share_list *l,
                    const struct srvsvc_share_enum_rsp *r) {
  if (r->count > SRVSVC_MAX_SHARES - l->n)
    return SMBQ_ERR_PROTO; /* resumed listings add up past the cap */
  if (l->n + r->count > l->cap) {
    size_t cap = l->n + r->count;
    struct smbq_share_info *v = realloc(l->v, cap * sizeof(*v));
    if (!v)
      return SMBQ_ERR_NOMEM;
    l->v = v;
    l->cap = cap;
  }
  for (uint32_t i = 0; i < r->count; i++) {
    int rc = share_convert(&r->shares[i], &l->v[l->n]);
    if (rc < 0)
      return rc;
    l->n++;
  }
  return 0;
}

void smbq_share_enum_free(struct smbq_share_info *shares, size_t count) {
  if (!shares)
    return;
  for (size_t i = 0; i < count; i++) {
    free(shares[i].name);
    free(shares[i].comment);
  }
  free(shares);
}

/* ---- NetrShareEnum------------------------------------------------------- */

/* What the server's return value means for us (MS-SRVS 3.1.4.8). */
static int werror_err(uint32_t werror) {
  switch (werror) {
  case SRVSVC_WERR_ACCESS_DENIED:
    return SMBQ_ERR_ACCESS;
  case SRVSVC_WERR_INVALID_LEVEL:
    return SMBQ_ERR_UNSUPPORTED;
  default:
    return SMBQ_ERR_STATUS;
  }
}

static int enum_fail_werror(smbq_conn *c, uint32_t werror) {
  const char *name = srvsvc_werror_name(werror);
  return api_fail(c, werror_err(werror), 0,
                  "%s refused to list its shares: %s (%u)", c->server,
                  name ? name : "error", werror);
}

/* Judge one decoded reply and add its entries to l: 1 = the server has
 * more (ERROR_MORE_DATA, *resume updated), 0 = complete, <0 = error. */
static int share_enum_take(struct rpc_pipe *p,
                           const struct srvsvc_share_enum_rsp *r,
                           uint32_t *resume, struct share_list *l) {
  bool more = r->werror == SRVSVC_WERR_MORE_DATA;
  if (r->werror != SRVSVC_WERR_OK && !more)
    return enum_fail_werror(p->c, r->werror);
  /* more, with nothing to resume from or no progress: a broken server */
  if (more && (!r->has_resume || r->count == 0))
    return api_fail(p->c, SMBQ_ERR_PROTO, 0, "%s answered ERROR_MORE_DATA "
                    "without entries or resume handle", p->c->server);
  int rc = list_add(l, r);
  if (rc == SMBQ_ERR_PROTO)
    return api_fail(p->c, rc, 0, "%s listed invalid share names, or more "
                    "than %u shares", p->c->server, SRVSVC_MAX_SHARES);
  if (rc < 0)
    return rc;
  if (more)
    *resume = r->resume;
  return more;
}

/* One NetrShareEnum call (MS-SRVS 3.1.4.8) from *resume; as
 * share_enum_take. */
static int share_enum_call(struct rpc_pipe *p, const uint8_t *server,
                           size_t server_len, uint32_t *resume,
                           struct share_list *l) {
  struct srvsvc_share_enum_req q = {.server = server,
                                    .server_len = server_len,
                                    .prefmaxlen = SRVSVC_MAX_PREFERRED_LENGTH,
                                    .resume = resume};
  uint8_t stub[PDU_MAX - DCERPC_REQ_HDR_LEN];
  long n = srvsvc_encode_share_enum_req(stub, sizeof(stub), &q);
  if (n < 0)
    return api_fail(p->c, SMBQ_ERR_INVAL, 0, "server name too long");
  struct dcerpc_rsp rsp;
  int rc = rpc_call(p, SRVSVC_OPNUM_NETR_SHARE_ENUM, stub, (size_t)n, &rsp);
  struct srvsvc_share_enum_rsp r = {0};
  if (rc == 0) {
    rc = srvsvc_decode_share_enum_rsp(rsp.stub, rsp.stub_len, &r);
    if (rc == SMBQ_ERR_PROTO)
      api_fail(p->c, rc, 0, "malformed NetrShareEnum answer from %s",
               p->c->server);
  }
  if (rc == 0)
    rc = share_enum_take(p, &r, resume, l);
  srvsvc_share_enum_rsp_free(&r);
  dcerpc_rsp_free(&rsp);
  return rc;
}

static int share_enum_all(struct rpc_pipe *p, struct share_list *l) {
  uint8_t *server;
  size_t server_len;
  if (smbq_utf8_to_utf16le(p->c->server, &server, &server_len) < 0)
    return api_fail(p->c, SMBQ_ERR_INVAL, 0, "bad server name");
  uint32_t resume = 0; /* MS-SRVS 3.1.4.8: zero on the first call */
  int rc = 1;
  for (int calls = 0; rc == 1 && calls < ENUM_MAX_CALLS; calls++)
    rc = share_enum_call(p, server, server_len, &resume, l);
  free(server);
  if (rc == 1)
    return api_fail(p->c, SMBQ_ERR_PROTO, 0,
                    "%s kept answering ERROR_MORE_DATA to the share "
                    "listing", p->c->server);
  return rc;
}

int smbq_share_enum(smbq_conn *c, struct smbq_share_info **out,
                    size_t *count) {
  if (out)
    *out = NULL;
  if (count)
    *count = 0;
  if (!c || !out || !count || !c->session_valid)
    return SMBQ_ERR_INVAL;
  struct rpc_pipe p;
  struct share_list l = {0};
  int rc = pipe_open(c, &p);
  if (rc == 0)
    rc = rpc_bind(&p);
  if (rc == 0)
    rc = share_enum_all(&p, &l);
  pipe_close(&p);
  if (rc < 0) {
    smbq_share_enum_free(l.v, l.n);
    return rc;
  }
  *out = l.v;
  *count = l.n;
  return 0;
}
