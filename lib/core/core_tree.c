/* The tree connect state machine. See core_tree.h. */
#include "core/core_tree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smb2/smb2_pdu.h"
#include "smbq/smbq_err.h"
#include "smbq_bytes.h"
#include "smbq_utf16.h"

static void finish(struct core_tree *t, int rc) {
  t->state = rc < 0 ? CORE_TREE_FAILED : CORE_TREE_CONNECTED;
  if (rc < 0 && !t->err.rc)
    t->err.rc = rc;
  if (t->done)
    t->done(t->arg, t);
}

const struct smb2_sec *core_tree_sec(const struct core_tree *t) {
  return t->encrypt && !t->cfg.sec->encrypt ? t->cfg.enc_sec : t->cfg.sec;
}

static struct smb2_req *tree_req(struct core_tree *t, uint16_t cmd,
                                 size_t body_cap) {
  struct smb2_req *r = smb2_req_new(cmd, body_cap);
  if (!r)
    return NULL;
  r->sec = core_tree_sec(t);
  r->tree_id = t->tree_id;
  return r;
}

/* A tree we cannot use is left again (best effort, no answer awaited). */
static void leave(struct core_tree *t) {
  struct smb2_req *r = tree_req(t, SMB2_TREE_DISCONNECT, 4);
  if (!r)
    return;
  smb2_req_set_body_len(r, (size_t)smb2_encode_empty_req(smb2_req_body(r),
                                                         4));
  smb2_conn_submit_now(t->conn, r, NULL, NULL);
}

static void on_validated(void *arg, struct core_neg *n) {
  struct core_tree *t = arg;
  if (n->state == CORE_NEG_DONE)
    return finish(t, 0);
  t->err = n->err;
  leave(t);
  finish(t, t->err.rc);
}

/* After the share's policy: the 3.0/3.0.2 negotiate validation, once per
 * connection (MS-SMB2 3.2.5.5). */
static void after_connect(struct core_tree *t) {
  struct core_neg *n = t->cfg.neg;
  if (n->validated || (n->dialect != SMB2_DIALECT_300 &&
                       n->dialect != SMB2_DIALECT_302))
    return finish(t, 0);
  t->state = CORE_TREE_VALIDATING;
  if (core_neg_validate(n, t->conn, core_tree_sec(t), t->tree_id,
                        on_validated, t) < 0) {
    t->err = n->err;
    leave(t);
    finish(t, t->err.rc);
  }
}

static void on_connect(void *arg, int err, uint32_t status,
                       const uint8_t *msg, size_t len) {
  struct core_tree *t = arg;
  int rc = err;
  if (rc == 0 && status)
    rc = smbq_err_from_ntstatus(status);
  struct smb2_tree_connect_rsp r;
  if (rc == 0)
    rc = smb2_decode_tree_connect_rsp(msg, len, &r);
  if (rc == SMBQ_ERR_NOENT)
    return finish(
        t, core_err_set(&t->err, rc, status,
                        "share '%s' does not exist on %s; "
                        "check the spelling, or list the server's shares",
                        t->share, t->server));
  if (rc < 0)
    return finish(t, core_err_set(&t->err, rc, status,
                          "cannot connect to share \\\\%s\\%s", t->server,
                          t->share));
  t->tree_id = smbq_le32_at(msg + 36);
  t->share_flags = r.share_flags;
  t->share_caps = r.capabilities;
  t->share_type = r.share_type;
  const struct core_neg *n = t->cfg.neg;
  if ((t->share_flags & SMB2_SHAREFLAG_ENCRYPT_DATA) &&
      !n->transport_security) {
    if (!n->cipher) {
      core_err_set(&t->err, SMBQ_ERR_UNSUPPORTED, 0,
                   "share %s requires encryption, but "
                   "no cipher was negotiated with %s",
                   t->share, t->server);
      leave(t);
      return finish(t, t->err.rc);
    }
    t->encrypt = true;
  }
  after_connect(t);
}

void core_tree_take(struct core_tree *dst, const struct core_tree *src) {
  dst->tree_id = src->tree_id;
  dst->share_flags = src->share_flags;
  dst->share_caps = src->share_caps;
  dst->share_type = src->share_type;
  dst->encrypt = src->encrypt;
  dst->conn = src->conn;
  dst->state = CORE_TREE_CONNECTED;
}

int core_tree_connect(struct core_tree *t, struct smb2_conn *conn,
                      const struct core_tree_cfg *cfg, core_tree_done_fn done,
                      void *arg) {
  memset(t, 0, sizeof(*t));
  t->cfg = *cfg;
  snprintf(t->server, sizeof(t->server), "%s", cfg->server);
  snprintf(t->share, sizeof(t->share), "%s", cfg->share);
  t->cfg.server = t->server;
  t->cfg.share = t->share;
  t->conn = conn;
  t->state = CORE_TREE_FAILED;
  char unc[600];
  snprintf(unc, sizeof(unc), "\\\\%s\\%s", t->server, t->share);
  uint8_t *path;
  size_t plen;
  if (smbq_utf8_to_utf16le(unc, &path, &plen) < 0)
    return core_err_set(&t->err, SMBQ_ERR_INVAL, 0, "bad share name '%s'",
                        t->share);
  struct smb2_req *r = tree_req(t, SMB2_TREE_CONNECT, 8 + plen);
  long n = r ? smb2_encode_tree_connect_req(smb2_req_body(r),
                                             smb2_req_body_cap(r), path, plen)
             : -1;
  free(path);
  if (n < 0) {
    smb2_req_free(r);
    return core_err_set(&t->err, SMBQ_ERR_INVAL, 0, "bad share name '%s'",
                        t->share);
  }
  smb2_req_set_body_len(r, (size_t)n);
  t->done = done;
  t->arg = arg;
  t->state = CORE_TREE_CONNECTING;
  int rc = smb2_conn_submit_now(conn, r, on_connect, t);
  if (rc < 0) {
    t->state = CORE_TREE_FAILED;
    return core_err_set(&t->err, rc, 0, "cannot connect to share \\\\%s\\%s",
                        t->server, t->share);
  }
  return 0;
}

static void on_disconnect(void *arg, int err, uint32_t status,
                          const uint8_t *msg, size_t len) {
  (void)err, (void)status, (void)msg, (void)len;
  struct core_tree *t = arg;
  t->state = CORE_TREE_DISCONNECTED;
  if (t->done)
    t->done(t->arg, t);
}

int core_tree_disconnect(struct core_tree *t, struct smb2_conn *conn,
                         core_tree_done_fn done, void *arg) {
  t->conn = conn;
  t->done = done;
  t->arg = arg;
  t->state = CORE_TREE_DISCONNECTED;
  struct smb2_req *r = tree_req(t, SMB2_TREE_DISCONNECT, 4);
  if (!r)
    return SMBQ_ERR_NOMEM;
  smb2_req_set_body_len(r, (size_t)smb2_encode_empty_req(smb2_req_body(r),
                                                         4));
  return smb2_conn_submit_now(conn, r, on_disconnect, t);
}
