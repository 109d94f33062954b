/* Leases, oplock breaks and durable handles (MS-SMB2 2.2.13.2.3/.4/.8/.10/
 * .11/.12, 2.2.14.2.3/.10/.11/.12, 2.2.23 - 2.2.25). Sans-I/O: the create
 * contexts are built for smb2_encode_create_req() and found in a decoded
 * CREATE reply; the OPLOCK_BREAK messages are encoded (bodies) and decoded
 * (whole messages). No state is kept here. */
#include <assert.h>
#include <string.h>

#include "smb2/smb2_pdu.h"
#include "smbq/smbq_err.h"
#include "smbq_bytes.h"

/* Create context names (2.2.13.2): four ASCII bytes, no terminator. */
static const uint8_t tag_lease[4] = {'R', 'q', 'L', 's'};
static const uint8_t tag_dhnq[4] = {'D', 'H', 'n', 'Q'};
static const uint8_t tag_dh2q[4] = {'D', 'H', '2', 'Q'};
static const uint8_t tag_dhnc[4] = {'D', 'H', 'n', 'C'};
static const uint8_t tag_dh2c[4] = {'D', 'H', '2', 'C'};

#define DHNQ_REQ_SIZE 16  /* 2.2.13.2.3: 16 reserved bytes */
#define DH2Q_REQ_SIZE 32  /* 2.2.13.2.11 */
#define DHNC_SIZE 16      /* 2.2.13.2.4: the SMB2_FILEID */
#define DH2C_SIZE 36      /* 2.2.13.2.12 */
#define DHNQ_RSP_SIZE 8   /* 2.2.14.2.3: 8 reserved bytes */
#define DH2Q_RSP_SIZE 8   /* 2.2.14.2.12: Timeout, Flags */

#define OPLOCK_BREAK_SIZE 24 /* 2.2.23.1, 2.2.24.1, 2.2.25.1 */
#define LEASE_BREAK_NOTIFY_SIZE 44 /* 2.2.23.2 */
#define LEASE_BREAK_ACK_SIZE 36    /* 2.2.24.2, 2.2.25.2 */

static void set_ctx(struct smb2_create_ctx *ctx, const uint8_t tag[4],
                    const uint8_t *data, size_t len) {
  ctx->name = tag;
  ctx->name_len = 4;
  ctx->data = data;
  ctx->data_len = len;
}

static bool is_tag(const struct smb2_create_ctx *c, const uint8_t tag[4]) {
  return c->name_len == 4 && memcmp(c->name, tag, 4) == 0;
}

/* ---- lease create contexts -------------------------------------------- */

/* MS-SMB2 2.2.13.2.8 (v1, 32 bytes) and 2.2.13.2.10 (v2, 52 bytes): both
 * are named "RqLs"; LeaseKey, LeaseState, Flags, LeaseDuration (reserved,
 * 0), and for v2 ParentLeaseKey, Epoch, Reserved. The v1 LeaseFlags MUST
 * be 0 in a request, so l->flags is not sent for v1. */
int smb2_lease_ctx(struct smb2_create_ctx *ctx, uint8_t *buf,
                   const struct smb2_lease *l) {
  if (l->version != 1 && l->version != 2)
    return SMBQ_ERR_INVAL;
  size_t len = l->version == 1 ? SMB2_LEASE_V1_SIZE : SMB2_LEASE_V2_SIZE;
  uint8_t *p = buf;
  p = smbq_put_bytes(p, l->key, 16);
  p = smbq_put_le32(p, l->state);
  p = smbq_put_le32(p, l->version == 1 ? 0 : l->flags);
  p = smbq_put_le64(p, 0); /* LeaseDuration */
  if (l->version == 2) {
    p = smbq_put_bytes(p, l->parent_key, 16);
    p = smbq_put_le16(p, l->epoch);
    p = smbq_put_le16(p, 0); /* Reserved */
  }
  assert((size_t)(p - buf) == len);
  set_ctx(ctx, tag_lease, buf, len);
  return 0;
}

/* MS-SMB2 2.2.14.2.10 / 2.2.14.2.11: the reply has the request's layout;
 * the length alone tells the version. */
int smb2_decode_lease_ctx(const uint8_t *data, size_t len,
                          struct smb2_lease *l) {
  memset(l, 0, sizeof(*l));
  if (!data || (len != SMB2_LEASE_V1_SIZE && len != SMB2_LEASE_V2_SIZE))
    return SMBQ_ERR_PROTO;
  const uint8_t *p = data;
  uint64_t duration;
  memcpy(l->key, p, 16);
  p += 16;
  p = smbq_get_le32(&l->state, p);
  p = smbq_get_le32(&l->flags, p);
  p = smbq_get_le64(&duration, p); /* reserved, ignored */
  l->version = 1;
  if (len == SMB2_LEASE_V2_SIZE) {
    uint16_t reserved;
    l->version = 2;
    memcpy(l->parent_key, p, 16);
    p += 16;
    p = smbq_get_le16(&l->epoch, p);
    p = smbq_get_le16(&reserved, p);
  }
  assert((size_t)(p - data) == len);
  return 0;
}

/* Walk the whole chain (2.2.14.2), so that a malformed context after the
 * one we want is still reported. A second context of a kind we look for
 * is malformed too: the server answers each request context once. */
typedef int (*ctx_visit_fn)(const struct smb2_create_ctx *c, void *arg);

static int walk_ctx(const struct smb2_create_rsp *r, ctx_visit_fn fn,
                    void *arg) {
  struct smb2_create_ctx_iter it;
  struct smb2_create_ctx c;
  int rc, found = 0;
  smb2_create_ctx_iter_init(&it, r->contexts, r->contexts_len);
  while ((rc = smb2_create_ctx_next(&it, &c)) == 1) {
    int v = fn(&c, arg);
    if (v < 0)
      return v;
    if (v > 0 && found++)
      return SMBQ_ERR_PROTO;
  }
  if (rc < 0)
    return SMBQ_ERR_PROTO;
  return found;
}

static int visit_lease(const struct smb2_create_ctx *c, void *arg) {
  if (!is_tag(c, tag_lease))
    return 0;
  return smb2_decode_lease_ctx(c->data, c->data_len, arg) < 0 ? SMBQ_ERR_PROTO
                                                              : 1;
}

int smb2_create_rsp_lease(const struct smb2_create_rsp *r,
                          struct smb2_lease *l) {
  struct smb2_lease tmp;
  int rc = walk_ctx(r, visit_lease, &tmp);
  if (rc == 1)
    *l = tmp;
  return rc;
}

/* ---- durable handles ----------------------------------------------------- */

/* MS-SMB2 2.2.13.2.3 (DHnQ: 16 reserved bytes) and 2.2.13.2.11 (DH2Q:
 * Timeout, Flags, 8 reserved bytes, CreateGuid). */
int smb2_durable_req_ctx(struct smb2_create_ctx *ctx, uint8_t *buf,
                         const struct smb2_durable_req *d) {
  uint8_t *p = buf;
  if (d->version == 1) {
    p = smbq_put_zero(p, DHNQ_REQ_SIZE);
    assert(p - buf == DHNQ_REQ_SIZE);
    set_ctx(ctx, tag_dhnq, buf, DHNQ_REQ_SIZE);
    return 0;
  }
  if (d->version != 2)
    return SMBQ_ERR_INVAL;
  p = smbq_put_le32(p, d->timeout_ms);
  p = smbq_put_le32(p, d->flags);
  p = smbq_put_le64(p, 0); /* Reserved */
  p = smbq_put_bytes(p, d->create_guid, 16);
  assert(p - buf == DH2Q_REQ_SIZE);
  set_ctx(ctx, tag_dh2q, buf, DH2Q_REQ_SIZE);
  return 0;
}

static int visit_durable(const struct smb2_create_ctx *c, void *arg) {
  struct smb2_durable_rsp *d = arg;
  if (is_tag(c, tag_dhnq)) {
    /* 2.2.14.2.3: 8 reserved bytes */
    if (c->data_len != DHNQ_RSP_SIZE)
      return SMBQ_ERR_PROTO;
    d->version = 1;
    d->timeout_ms = 0;
    d->flags = 0;
    return 1;
  }
  if (is_tag(c, tag_dh2q)) {
    /* 2.2.14.2.12: Timeout, Flags */
    if (c->data_len != DH2Q_RSP_SIZE)
      return SMBQ_ERR_PROTO;
    const uint8_t *p = c->data;
    p = smbq_get_le32(&d->timeout_ms, p);
    p = smbq_get_le32(&d->flags, p);
    assert(p - c->data == DH2Q_RSP_SIZE);
    d->version = 2;
    return 1;
  }
  return 0;
}

int smb2_create_rsp_durable(const struct smb2_create_rsp *r,
                            struct smb2_durable_rsp *d) {
  struct smb2_durable_rsp tmp = {0};
  int rc = walk_ctx(r, visit_durable, &tmp);
  if (rc == 1)
    *d = tmp;
  return rc;
}

/* MS-SMB2 2.2.13.2.4 (DHnC: the SMB2_FILEID) and 2.2.13.2.12 (DH2C:
 * FileId, CreateGuid, Flags). */
int smb2_durable_reconnect_ctx(struct smb2_create_ctx *ctx, uint8_t *buf,
                               int version, const uint8_t file_id[16],
                               const uint8_t create_guid[16],
                               uint32_t flags) {
  uint8_t *p = buf;
  if (version == 1) {
    p = smbq_put_bytes(p, file_id, 16);
    assert(p - buf == DHNC_SIZE);
    set_ctx(ctx, tag_dhnc, buf, DHNC_SIZE);
    return 0;
  }
  if (version != 2 || !create_guid)
    return SMBQ_ERR_INVAL;
  p = smbq_put_bytes(p, file_id, 16);
  p = smbq_put_bytes(p, create_guid, 16);
  p = smbq_put_le32(p, flags);
  assert(p - buf == DH2C_SIZE);
  set_ctx(ctx, tag_dh2c, buf, DH2C_SIZE);
  return 0;
}

/* ---- OPLOCK_BREAK messages ---------------------------------------------- */

/* The header checks shared by the decoders below: protocol id and header
 * StructureSize, command OPLOCK_BREAK, sent by the server, and a body of
 * at least `size` bytes whose StructureSize is `size`. */
static int check_break_msg(const uint8_t *msg, size_t len, uint16_t size) {
  struct smb2_hdr h;
  if (smb2_hdr_decode(msg, len, &h) < 0 || h.command != SMB2_OPLOCK_BREAK ||
      !(h.flags & SMB2_FLAGS_SERVER_TO_REDIR) ||
      len < (size_t)SMB2_HDR_SIZE + size ||
      smbq_le16_at(msg + SMB2_HDR_SIZE) != size)
    return SMBQ_ERR_PROTO;
  return 0;
}

/* MS-SMB2 2.2.23.1 (oplock form) and 2.2.23.2 (lease form). Notifications
 * carry MessageId 0xFFFFFFFFFFFFFFFF (3.3.4.6, 3.3.4.7); the body's
 * StructureSize tells the form. BreakReason, AccessMaskHint and
 * ShareMaskHint are reserved and ignored. */
int smb2_decode_break_notify(const uint8_t *msg, size_t len,
                             struct smb2_break_notify *n) {
  memset(n, 0, sizeof(*n));
  if (len < SMB2_HDR_SIZE + 2 || smbq_le64_at(msg + 24) != UINT64_MAX)
    return SMBQ_ERR_PROTO;
  const uint8_t *p = msg + SMB2_HDR_SIZE;
  uint16_t ss = smbq_le16_at(p);
  if (ss != OPLOCK_BREAK_SIZE && ss != LEASE_BREAK_NOTIFY_SIZE)
    return SMBQ_ERR_PROTO;
  if (check_break_msg(msg, len, ss) < 0)
    return SMBQ_ERR_PROTO;
  p += 2;
  if (ss == OPLOCK_BREAK_SIZE) {
    n->kind = SMB2_BREAK_OPLOCK;
    p = smbq_get_u8(&n->oplock_level, p);
    p += 1 + 4; /* Reserved, Reserved2 */
    memcpy(n->file_id, p, 16);
    p += 16;
  } else {
    n->kind = SMB2_BREAK_LEASE;
    p = smbq_get_le16(&n->new_epoch, p);
    p = smbq_get_le32(&n->flags, p);
    memcpy(n->lease_key, p, 16);
    p += 16;
    p = smbq_get_le32(&n->current_state, p);
    p = smbq_get_le32(&n->new_state, p);
    p += 12; /* BreakReason, AccessMaskHint, ShareMaskHint */
  }
  assert((size_t)(p - (msg + SMB2_HDR_SIZE)) == ss);
  return 0;
}

/* MS-SMB2 2.2.24.1: StructureSize 24, OplockLevel, Reserved, Reserved2,
 * FileId. */
long smb2_encode_oplock_break_ack(uint8_t *out, size_t cap,
                                  const uint8_t file_id[16], uint8_t level) {
  if (cap < OPLOCK_BREAK_SIZE)
    return SMBQ_ERR_BUFSMALL;
  uint8_t *p = out;
  p = smbq_put_le16(p, OPLOCK_BREAK_SIZE);
  p = smbq_put_u8(p, level);
  p = smbq_put_u8(p, 0);   /* Reserved */
  p = smbq_put_le32(p, 0); /* Reserved2 */
  p = smbq_put_bytes(p, file_id, 16);
  assert(p - out == OPLOCK_BREAK_SIZE);
  return OPLOCK_BREAK_SIZE;
}

/* MS-SMB2 2.2.24.2: StructureSize 36, Reserved, Flags (reserved),
 * LeaseKey, LeaseState, LeaseDuration (reserved). */
long smb2_encode_lease_break_ack(uint8_t *out, size_t cap,
                                 const uint8_t key[16], uint32_t state) {
  if (cap < LEASE_BREAK_ACK_SIZE)
    return SMBQ_ERR_BUFSMALL;
  uint8_t *p = out;
  p = smbq_put_le16(p, LEASE_BREAK_ACK_SIZE);
  p = smbq_put_le16(p, 0); /* Reserved */
  p = smbq_put_le32(p, 0); /* Flags */
  p = smbq_put_bytes(p, key, 16);
  p = smbq_put_le32(p, state);
  p = smbq_put_le64(p, 0); /* LeaseDuration */
  assert(p - out == LEASE_BREAK_ACK_SIZE);
  return LEASE_BREAK_ACK_SIZE;
}

/* MS-SMB2 2.2.25.1: the oplock break response has the ack's layout. */
int smb2_decode_oplock_break_rsp(const uint8_t *msg, size_t len,
                                 uint8_t *level, uint8_t file_id[16]) {
  if (check_break_msg(msg, len, OPLOCK_BREAK_SIZE) < 0)
    return SMBQ_ERR_PROTO;
  const uint8_t *b = msg + SMB2_HDR_SIZE;
  *level = b[2];
  memcpy(file_id, b + 8, 16);
  return 0;
}

/* MS-SMB2 2.2.25.2: the lease break response has the ack's layout. */
int smb2_decode_lease_break_rsp(const uint8_t *msg, size_t len,
                                uint8_t key[16], uint32_t *state) {
  if (check_break_msg(msg, len, LEASE_BREAK_ACK_SIZE) < 0)
    return SMBQ_ERR_PROTO;
  const uint8_t *b = msg + SMB2_HDR_SIZE;
  memcpy(key, b + 8, 16);
  *state = smbq_le32_at(b + 24);
  return 0;
}
