/* TREE_CONNECT / TREE_DISCONNECT and the 3.0/3.0.2 negotiate validation
 * (MS-SMB2 3.2.4.2.4, 3.2.5.5, 3.2.5.14.12). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/conn_internal.h"
#include "api/lease.h"
#include "smb2/smb2_pdu.h"
#include "smbq_bytes.h"
#include "smbq_utf16.h"

static int parse_tree(void *ctx, uint32_t status, const uint8_t *msg,
                      size_t len) {
  smbq_tree *t = ctx;
  if (status)
    return api_status_err(status) ? api_status_err(status) : SMBQ_ERR_PROTO;
  struct smb2_tree_connect_rsp r;
  int rc = smb2_decode_tree_connect_rsp(msg, len, &r);
  if (rc < 0)
    return rc;
  t->tree_id = smbq_le32_at(msg + 36);
  t->share_flags = r.share_flags;
  t->share_caps = r.capabilities;
  t->share_type = r.share_type;
  return 0;
}

static struct smb2_req *build_tree_connect(smbq_conn *c, const char *share) {
  char unc[600];
  snprintf(unc, sizeof(unc), "\\\\%s\\%s", c->server, share);
  uint8_t *path;
  size_t plen;
  if (smbq_utf8_to_utf16le(unc, &path, &plen) < 0)
    return NULL;
  struct smb2_req *r = api_req(c, NULL, SMB2_TREE_CONNECT, 8 + plen);
  long n = r ? smb2_encode_tree_connect_req(smb2_req_body(r),
                                             smb2_req_body_cap(r), path, plen)
             : -1;
  free(path);
  if (n < 0) {
    smb2_req_free(r);
    return NULL;
  }
  smb2_req_set_body_len(r, (size_t)n);
  return r;
}

static void link_tree(smbq_conn *c, smbq_tree *t) {
  pthread_mutex_lock(&c->lock);
  t->next = c->trees;
  c->trees = t;
  pthread_mutex_unlock(&c->lock);
}

static void unlink_tree(smbq_conn *c, smbq_tree *t) {
  pthread_mutex_lock(&c->lock);
  for (smbq_tree **pp = &c->trees; *pp; pp = &(*pp)->next)
    if (*pp == t) {
      *pp = t->next;
      break;
    }
  pthread_mutex_unlock(&c->lock);
}

int smbq_tree_connect(smbq_conn *c, const char *share, smbq_tree **out) {
  if (!c || !share || !share[0] || !out || !c->session_valid)
    return SMBQ_ERR_INVAL;
  smbq_tree *t = calloc(1, sizeof(*t));
  if (!t)
    return SMBQ_ERR_NOMEM;
  t->conn = c;
  snprintf(t->name, sizeof(t->name), "%s", share);
  struct smb2_req *r = build_tree_connect(c, share);
  if (!r) {
    free(t);
    return api_fail(c, SMBQ_ERR_INVAL, 0, "bad share name '%s'", share);
  }
  uint32_t status = 0;
  int rc = api_call1(c, r, parse_tree, t, &status);
  if (rc < 0) {
    free(t);
    if (rc == SMBQ_ERR_NOENT)
      return api_fail(c, rc, status,
                      "share '%s' does not exist on %s; check the "
                      "spelling, or list the server's shares", share,
                      c->server);
    return api_fail(c, rc, status, "cannot connect to share \\\\%s\\%s",
                    c->server, share);
  }
  if ((t->share_flags & SMB2_SHAREFLAG_ENCRYPT_DATA) &&
      !c->transport_security) {
    if (!c->cipher) {
      int err = api_fail(c, SMBQ_ERR_UNSUPPORTED, 0,
                         "share %s requires encryption, but no cipher was "
                         "negotiated with %s", share, c->server);
      link_tree(c, t);
      smbq_tree_disconnect(t);
      return err;
    }
    t->encrypt = true;
  }
  link_tree(c, t);
  if (!c->validated && (c->dialect == SMB2_DIALECT_300 ||
                        c->dialect == SMB2_DIALECT_302)) {
    rc = conn_validate_negotiate(c, t);
    if (rc < 0) {
      smbq_tree_disconnect(t);
      return rc;
    }
  }
  *out = t;
  return 0;
}

int smbq_tree_encrypted(const smbq_tree *t) {
  return t && (t->encrypt || t->conn->sess.sec.encrypt);
}

void api_tree_drop(smbq_tree *t) {
  smbq_conn *c = t->conn;
  api_cache_lock(c);
  api_cache_flush_tree(t);
  unlink_tree(c, t);
  api_cache_unlock(c);
  free(t);
}

int smbq_tree_disconnect(smbq_tree *t) {
  if (!t)
    return SMBQ_ERR_INVAL;
  smbq_conn *c = t->conn;
  /* handles kept open for reuse go first, and the break worker must not
   * be closing one of them while the tree goes */
  api_cache_lock(c);
  api_cache_flush_tree(t);
  unlink_tree(c, t);
  api_cache_unlock(c);
  struct smb2_req *r = api_req(c, t, SMB2_TREE_DISCONNECT, 4);
  int rc = SMBQ_ERR_NOMEM;
  if (r) {
    smb2_req_set_body_len(
        r, (size_t)smb2_encode_empty_req(smb2_req_body(r), 4));
    rc = api_call1(c, r, NULL, NULL, NULL);
  }
  free(t);
  return rc;
}

struct validate_ctx {
  struct smb2_validate_negotiate_rsp v;
  bool got;
};

static int parse_validate(void *ctx, uint32_t status, const uint8_t *msg,
                          size_t len) {
  struct validate_ctx *vc = ctx;
  if (status)
    return api_status_err(status) ? api_status_err(status) : SMBQ_ERR_PROTO;
  struct smb2_ioctl_rsp r;
  int rc = smb2_decode_ioctl_rsp(msg, len, &r);
  if (rc == 0)
    rc = smb2_decode_validate_negotiate(r.output, r.output_len, &vc->v);
  vc->got = rc == 0;
  return rc;
}

/* MS-SMB2 3.2.5.5: protects a 3.0/3.0.2 negotiation against downgrade.
 * The reply is signed (the core verifies it); any mismatch ends the
 * connection's usefulness. */
int conn_validate_negotiate(smbq_conn *c, smbq_tree *t) {
  uint16_t dialects[8];
  size_t nd = conn_offered_dialects(c, dialects);
  struct smb2_req *r = api_req(c, t, SMB2_IOCTL, 56 + 24 + 2 * nd);
  if (!r)
    return SMBQ_ERR_NOMEM;
  uint8_t in[64];
  long il = smb2_encode_validate_negotiate(
      in, sizeof(in), conn_client_caps(c), c->client_guid,
      SMB2_NEGOTIATE_SIGNING_ENABLED | SMB2_NEGOTIATE_SIGNING_REQUIRED,
      dialects, nd);
  long n = il < 0 ? il
                  : smb2_encode_ioctl_req(smb2_req_body(r),
                                          smb2_req_body_cap(r),
                                          SMB2_FSCTL_VALIDATE_NEGOTIATE_INFO,
                                          smb2_related_file_id, in,
                                          (size_t)il, 24);
  if (n < 0) {
    smb2_req_free(r);
    return api_fail(c, SMBQ_ERR_INVAL, 0, "validate negotiate");
  }
  smb2_req_set_body_len(r, (size_t)n);
  r->payload_size = 24 + (uint32_t)il;
  struct validate_ctx vc = {0};
  uint32_t status = 0;
  int rc = api_call1(c, r, parse_validate, &vc, &status);
  if (rc < 0)
    return api_fail(c, rc == SMBQ_ERR_SIGNATURE ? rc : SMBQ_ERR_PROTO,
                    status, "validation of the negotiation with %s failed "
                    "(possible downgrade attack)", c->server);
  if (vc.v.dialect != c->dialect || vc.v.capabilities != c->server_caps ||
      vc.v.security_mode != c->server_security_mode ||
      memcmp(vc.v.guid, c->server_guid, 16) != 0)
    return api_fail(c, SMBQ_ERR_PROTO, 0,
                    "server %s answered the negotiate validation with "
                    "different values: possible downgrade attack",
                    c->server);
  c->validated = true;
  return 0;
}
