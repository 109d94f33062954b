/* The NEGOTIATE state machine and the negotiate validation. See
 * core_negotiate.h. */
#include "core/core_negotiate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smb2/smb2_pdu.h"
#include "smbq/smbq_err.h"
#include "smbq_bytes.h"
#include "smbq_utf16.h"

/* Preference orders, strongest common choice first, as Windows does. */
static const uint16_t cipher_prefs[] = {
    SMB2_CIPHER_AES128_GCM, SMB2_CIPHER_AES128_CCM, SMB2_CIPHER_AES256_GCM,
    SMB2_CIPHER_AES256_CCM};
static const uint16_t signing_prefs[] = {
    SMB2_SIGNING_AES_GMAC, SMB2_SIGNING_AES_CMAC, SMB2_SIGNING_HMAC_SHA256};

#define N_CIPHERS (sizeof(cipher_prefs) / sizeof(cipher_prefs[0]))
#define N_SIGNING (sizeof(signing_prefs) / sizeof(signing_prefs[0]))

static void finish(struct core_neg *n, int rc) {
  n->state = rc < 0 ? CORE_NEG_FAILED : CORE_NEG_DONE;
  if (rc < 0 && !n->err.rc)
    n->err.rc = rc;
  if (n->done)
    n->done(n->arg, n);
}

static bool offered(const uint16_t *list, size_t n, uint16_t v) {
  for (size_t i = 0; i < n; i++)
    if (list[i] == v)
      return true;
  return false;
}

/* 3.1.1 (MS-SMB2 3.2.5.2): the contexts must name what we offered. */
static int accept_311(struct core_neg *n, const struct smb2_negotiate_rsp *r) {
  if (!r->has_preauth || r->preauth_hash != SMB2_PREAUTH_SHA512)
    return core_err_set(&n->err, SMBQ_ERR_PROTO, 0,
                "server %s sent no SHA-512 preauth integrity context",
                n->server);
  n->cipher = r->has_cipher ? r->cipher : 0;
  if (n->cipher && !offered(cipher_prefs, N_CIPHERS, n->cipher))
    return core_err_set(&n->err, SMBQ_ERR_PROTO, 0,
                "server %s chose cipher 0x%04x, which was not offered",
                n->server, n->cipher);
  /* without a signing context, 3.1.1 signs with AES-CMAC */
  n->signing_alg = r->has_signing ? r->signing_alg : SMB2_SIGNING_AES_CMAC;
  n->transport_security =
      n->cfg.transport_encrypted && r->has_transport_caps &&
      (r->transport_flags & SMB2_ACCEPT_TRANSPORT_LEVEL_SECURITY);
  if (!offered(signing_prefs, N_SIGNING, n->signing_alg))
    return core_err_set(&n->err, SMBQ_ERR_PROTO, 0,
                "server %s chose signing algorithm 0x%04x, which was not "
                "offered", n->server, n->signing_alg);
  return 0;
}

/* Check the reply against what we offered and record the outcome. */
static int accept(struct core_neg *n, const struct smb2_negotiate_rsp *r) {
  if (!offered(n->dialects, n->cfg.n_dialects, r->dialect))
    return core_err_set(&n->err, SMBQ_ERR_UNSUPPORTED, 0,
                "server %s chose dialect 0x%04x, which was not offered; "
                "the server may require SMB1, which smbq does not speak",
                n->server, r->dialect);
  n->dialect = r->dialect;
  n->server_caps = r->capabilities;
  n->server_security_mode = r->security_mode;
  memcpy(n->server_guid, r->server_guid, 16);
  bool large = n->dialect >= SMB2_DIALECT_210 &&
               (r->capabilities & SMB2_GLOBAL_CAP_LARGE_MTU);
  uint32_t cap = large ? 8u * 1024 * 1024 : 65536;
  n->max_read = r->max_read < cap ? r->max_read : cap;
  n->max_write = r->max_write < cap ? r->max_write : cap;
  n->max_transact = r->max_transact < cap ? r->max_transact : cap;
  if (n->max_read < 4096 || n->max_write < 4096)
    return core_err_set(&n->err, SMBQ_ERR_PROTO, 0,
                "server %s offers a maximum read/write size below 4 KiB",
                n->server);
  n->large_mtu = large;
  if (n->dialect == SMB2_DIALECT_311)
    return accept_311(n, r);
  memset(n->preauth, 0, sizeof(n->preauth));
  if (n->dialect >= SMB2_DIALECT_300) {
    n->cipher = (r->capabilities & SMB2_GLOBAL_CAP_ENCRYPTION)
                    ? SMB2_CIPHER_AES128_CCM
                    : 0;
    n->signing_alg = SMB2_SIGNING_AES_CMAC;
  } else {
    n->cipher = 0;
    n->signing_alg = SMB2_SIGNING_HMAC_SHA256;
  }
  return 0;
}

/* The reply, on the I/O thread. */
static void on_negotiate(void *arg, int err, uint32_t status,
                         const uint8_t *msg, size_t len) {
  struct core_neg *n = arg;
  if (err == SMBQ_ERR_TIMEOUT)
    return finish(n, core_err_set(&n->err, err, 0,
                                  "server %s accepted the connection but did "
                                  "not answer NEGOTIATE in time: it is not an "
                                  "SMB server, or it hangs", n->server));
  if (err < 0)
    return finish(n, core_err_set(&n->err, err, 0,
                                  "SMB negotiation with %s failed",
                                  n->server));
  if (status != NT_STATUS_SUCCESS) {
    int rc = smbq_err_from_ntstatus(status);
    if (n->cfg.transport_encrypted && status == NT_STATUS_NOT_SUPPORTED)
      /* MS-SMB2 2.1: SMB over QUIC carries dialect 3.1.1 only */
      return finish(n, core_err_set(&n->err, rc, status,
                            "%s does not offer SMB 3.1.1, the only dialect "
                            "SMB over QUIC carries; upgrade the server or "
                            "connect over TCP", n->server));
    return finish(n, core_err_set(&n->err, rc ? rc : SMBQ_ERR_PROTO, status,
                          "SMB negotiation with %s failed", n->server));
  }
  struct smb2_negotiate_rsp r;
  int rc = smb2_decode_negotiate_rsp(msg, len, &r);
  if (rc < 0)
    return finish(n,
                  core_err_set(&n->err, rc, 0,
                               "malformed negotiate reply from %s", n->server));
  if (r.security_len) { /* the SPNEGO hint: copied out of the reply */
    n->spnego_hint = malloc(r.security_len);
    if (!n->spnego_hint)
      return finish(n, core_err_set(&n->err, SMBQ_ERR_NOMEM, 0, "negotiate"));
    memcpy(n->spnego_hint, r.security_buffer, r.security_len);
    n->spnego_hint_len = r.security_len;
  }
  rc = accept(n, &r);
  if (rc == 0)
    smb2_conn_set_large_mtu(n->conn, n->large_mtu);
  finish(n, rc);
}

static struct smb2_req *build(struct core_neg *n) {
  struct smb2_negotiate_req nr;
  memset(&nr, 0, sizeof(nr));
  nr.dialects = n->dialects;
  nr.n_dialects = n->cfg.n_dialects;
  /* Always sign (MS-SMB2 3.2.4.2.2: clients may require it; secure by
   * default), so guest sessions that cannot sign are refused early. */
  nr.security_mode =
      SMB2_NEGOTIATE_SIGNING_ENABLED | SMB2_NEGOTIATE_SIGNING_REQUIRED;
  nr.capabilities = n->cfg.capabilities;
  memcpy(nr.client_guid, n->cfg.client_guid, 16);
  nr.salt = n->cfg.salt;
  nr.salt_len = sizeof(n->cfg.salt);
  nr.ciphers = cipher_prefs;
  nr.n_ciphers = N_CIPHERS;
  nr.signing_algs = signing_prefs;
  nr.n_signing_algs = N_SIGNING;
  /* 2.2.3.1.5: over QUIC, offer to rely on the transport's TLS */
  nr.transport_caps = n->cfg.transport_encrypted;
  nr.transport_flags = SMB2_ACCEPT_TRANSPORT_LEVEL_SECURITY;
  uint8_t *netname = NULL;
  size_t netname_len = 0;
  if (smbq_utf8_to_utf16le(n->server, &netname, &netname_len) == 0) {
    nr.netname = netname;
    nr.netname_len = netname_len;
  }
  struct smb2_req *r = smb2_req_new(SMB2_NEGOTIATE, 512);
  long len = r ? smb2_encode_negotiate_req(smb2_req_body(r),
                                            smb2_req_body_cap(r), &nr)
               : SMBQ_ERR_NOMEM;
  free(netname);
  if (len < 0) {
    smb2_req_free(r);
    return NULL;
  }
  smb2_req_set_body_len(r, (size_t)len);
  return r;
}

int core_neg_start(struct core_neg *n, struct smb2_conn *conn,
                   const struct core_neg_cfg *cfg, core_neg_done_fn done,
                   void *arg) {
  memset(n, 0, sizeof(*n));
  n->cfg = *cfg;
  snprintf(n->server, sizeof(n->server), "%s", cfg->server);
  n->cfg.server = n->server;
  n->state = CORE_NEG_FAILED;
  if (!cfg->n_dialects || cfg->n_dialects > 8)
    return core_err_set(&n->err, SMBQ_ERR_INVAL, 0,
                        "no SMB dialect left to offer");
  memcpy(n->dialects, cfg->dialects, cfg->n_dialects * sizeof(uint16_t));
  n->cfg.dialects = n->dialects;
  struct smb2_req *r = build(n);
  if (!r)
    return core_err_set(&n->err, SMBQ_ERR_NOMEM, 0, "negotiate");
  /* 3.2.4.2.2.2: the preauth hash starts over the NEGOTIATE request */
  bool offers_311 = n->dialects[cfg->n_dialects - 1] == SMB2_DIALECT_311;
  r->preauth = offers_311 ? n->preauth : NULL;
  n->done = done;
  n->arg = arg;
  n->conn = conn;
  n->state = CORE_NEG_SENT;
  int rc = smb2_conn_submit_now(conn, r, on_negotiate, n);
  if (rc < 0) {
    n->state = CORE_NEG_FAILED;
    return core_err_set(&n->err, rc, 0, "SMB negotiation with %s failed",
                        n->server);
  }
  return 0;
}

/* ---- 3.0/3.0.2: validation (3.2.5.5) --------------------------------- */

static void on_validate(void *arg, int err, uint32_t status,
                        const uint8_t *msg, size_t len) {
  struct core_neg *n = arg;
  struct smb2_validate_negotiate_rsp v;
  int rc = err;
  if (rc == 0 && status)
    rc = smbq_err_from_ntstatus(status);
  if (rc == 0) {
    struct smb2_ioctl_rsp r;
    rc = smb2_decode_ioctl_rsp(msg, len, &r);
    if (rc == 0)
      rc = smb2_decode_validate_negotiate(r.output, r.output_len, &v);
  }
  if (rc < 0)
    return finish(
        n, core_err_set(&n->err, rc == SMBQ_ERR_SIGNATURE ? rc : SMBQ_ERR_PROTO,
                        status,
                        "validation of the negotiation with %s "
                        "failed (possible downgrade attack)",
                        n->server));
  if (v.dialect != n->dialect || v.capabilities != n->server_caps ||
      v.security_mode != n->server_security_mode ||
      memcmp(v.guid, n->server_guid, 16) != 0)
    return finish(n, core_err_set(&n->err, SMBQ_ERR_PROTO, 0,
                          "server %s answered the negotiate validation with "
                          "different values: possible downgrade attack",
                          n->server));
  n->validated = true;
  finish(n, 0);
}

int core_neg_validate(struct core_neg *n, struct smb2_conn *conn,
                      const struct smb2_sec *sec, uint32_t tree_id,
                      core_neg_done_fn done, void *arg) {
  uint8_t in[64];
  long il = smb2_encode_validate_negotiate(
      in, sizeof(in), n->cfg.capabilities, n->cfg.client_guid,
      SMB2_NEGOTIATE_SIGNING_ENABLED | SMB2_NEGOTIATE_SIGNING_REQUIRED,
      n->dialects, n->cfg.n_dialects);
  struct smb2_req *r =
      il < 0 ? NULL : smb2_req_new(SMB2_IOCTL, 56 + (size_t)il);
  long len = r ? smb2_encode_ioctl_req(smb2_req_body(r),
                                        smb2_req_body_cap(r),
                                        SMB2_FSCTL_VALIDATE_NEGOTIATE_INFO,
                                        smb2_related_file_id, in,
                                        (size_t)il, 24)
               : -1;
  if (len < 0) {
    smb2_req_free(r);
    return core_err_set(&n->err, SMBQ_ERR_NOMEM, 0, "validate negotiate");
  }
  smb2_req_set_body_len(r, (size_t)len);
  r->payload_size = 24 + (uint32_t)il;
  r->sec = sec;
  r->tree_id = tree_id;
  n->done = done;
  n->arg = arg;
  int rc = smb2_conn_submit_now(conn, r, on_validate, n);
  if (rc < 0)
    return core_err_set(&n->err, rc, 0,
                        "validation of the negotiation with %s failed",
                        n->server);
  return 0;
}

void core_neg_take(struct core_neg *dst, struct core_neg *src) {
  dst->dialect = src->dialect;
  dst->server_caps = src->server_caps;
  dst->server_security_mode = src->server_security_mode;
  memcpy(dst->server_guid, src->server_guid, sizeof(dst->server_guid));
  dst->max_read = src->max_read;
  dst->max_write = src->max_write;
  dst->max_transact = src->max_transact;
  dst->large_mtu = src->large_mtu;
  dst->cipher = src->cipher;
  dst->signing_alg = src->signing_alg;
  dst->transport_security = src->transport_security;
  memcpy(dst->preauth, src->preauth, sizeof(dst->preauth));
  free(dst->spnego_hint);
  dst->spnego_hint = src->spnego_hint;
  dst->spnego_hint_len = src->spnego_hint_len;
  src->spnego_hint = NULL;
  src->spnego_hint_len = 0;
  dst->validated = false;
  dst->state = CORE_NEG_DONE;
}

void core_neg_clear(struct core_neg *n) {
  free(n->spnego_hint);
  n->spnego_hint = NULL;
  n->spnego_hint_len = 0;
}
