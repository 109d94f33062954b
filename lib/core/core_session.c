/* The session state machine. See core_session.h. */
#include "core/core_session.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smb2/smb2_pdu.h"
#include "smbq/smbq_err.h"
#include "smbq_bytes.h"

static void finish(struct core_sess *s, int rc, uint32_t status,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void finish(struct core_sess *s, int rc, uint32_t status,
                   const char *fmt, ...) {
  s->state = rc < 0 ? CORE_SESS_FAILED : CORE_SESS_VALID;
  s->reauth = false;
  s->err.rc = rc;
  s->err.status = status;
  if (fmt) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err.msg, sizeof(s->err.msg), fmt, ap);
    va_end(ap);
  }
  smbq_wipe(s->preauth, sizeof(s->preauth));
  /* the mechanisms' work is done (their messages are copied above) */
  for (size_t i = 0; i < s->cfg.n_mechs; i++)
    auth_mech_free(s->cfg.mechs[i]);
  memset(s->cfg.mechs, 0, sizeof(s->cfg.mechs));
  if (s->done)
    s->done(s->arg, s);
}

static struct auth_mech *mech(struct core_sess *s) {
  return s->cfg.mechs[s->mech];
}

static void on_round(void *arg, int err, uint32_t status, const uint8_t *msg,
                     size_t len);

/* One SESSION_SETUP carrying token (MS-SMB2 2.2.5). Unsigned: the keys do
 * not exist yet; the final reply is checked in activate(). */
static int send_round(struct core_sess *s, const uint8_t *token,
                      size_t len) {
  struct smb2_session_setup_req sr = {
      .security_mode = SMB2_NEGOTIATE_SIGNING_ENABLED |
                       SMB2_NEGOTIATE_SIGNING_REQUIRED,
      .token = token,
      .token_len = len,
      .previous_session_id = s->cfg.previous_session_id,
  };
  struct smb2_req *r = smb2_req_new(SMB2_SESSION_SETUP, 24 + len);
  if (!r)
    return SMBQ_ERR_NOMEM;
  long n = smb2_encode_session_setup_req(smb2_req_body(r),
                                         smb2_req_body_cap(r), &sr);
  if (n < 0) {
    smb2_req_free(r);
    return (int)n;
  }
  smb2_req_set_body_len(r, (size_t)n);
  r->sec = &s->sec; /* carries the session id; signing not yet on */
  r->flags = SMB2_REQ_NO_SIGN | SMB2_REQ_NO_VERIFY;
  r->preauth = s->cfg.dialect == SMB2_DIALECT_311 ? s->preauth : NULL;
  if (s->reauth) {
    /* the session's keys sign (or encrypt) it; the final reply is
     * checked in renewed(), the rounds before need not be signed */
    r->flags = SMB2_REQ_NO_VERIFY;
    r->preauth = NULL;
  }
  return smb2_conn_submit_now(s->conn, r, on_round, s);
}

/* Start the current mechanism on a fresh session (SessionId 0, the
 * negotiate's preauth hash). */
static int start_mech(struct core_sess *s) {
  memset(&s->sec, 0, sizeof(s->sec));
  memcpy(s->preauth, s->neg_preauth, sizeof(s->preauth));
  uint8_t *tok = NULL;
  size_t tok_len = 0;
  int rc = mech(s)->ops->start(mech(s), &tok, &tok_len);
  if (rc == 0)
    rc = send_round(s, tok, tok_len);
  free(tok);
  return rc;
}

static void fill_nonce_salts(struct core_sess *s) {
  s->cfg.random(s->cfg.user, s->sec.nonce_salt, sizeof(s->sec.nonce_salt));
  s->enc_sec = s->sec;
  /* Same key, separate counters: distinct salts keep nonces unique. */
  s->enc_sec.nonce_salt[0] ^= 0x80;
  s->enc_sec.encrypt = s->enc_sec.cipher != 0;
  s->enc_sec.nonce_counter = 0;
}

/* The final reply: keys from the mechanism's session key (none for a
 * guest or anonymous logon), the session's signing and encryption policy,
 * and its signature (MS-SMB2 3.2.5.3.1). */
static void activate(struct core_sess *s, uint16_t flags, const uint8_t *msg,
                     size_t len) {
  s->guest = flags & (SMB2_SESSION_FLAG_IS_GUEST | SMB2_SESSION_FLAG_IS_NULL);
  if (s->guest && !s->cfg.allow_guest)
    return finish(s, SMBQ_ERR_POLICY, 0,
                  "server %s logged us on as guest, which is refused: check "
                  "the user name and password (servers may map unknown "
                  "users to guest)", s->server);
  uint8_t key[16] = {0};
  int rc = mech(s)->ops->session_key(mech(s), key);
  if (rc < 0)
    return finish(s, rc == SMBQ_ERR_CRYPTO ? rc : SMBQ_ERR_INVAL, 0, "%s",
                  mech(s)->err[0] ? mech(s)->err
                                  : "session key derivation failed");
  rc = smb2_derive_keys(s->cfg.dialect, s->cfg.cipher, key, sizeof(key),
                        s->preauth, &s->sec.keys);
  smbq_wipe(key, sizeof(key));
  if (rc < 0)
    return finish(s, rc, 0, "session key derivation failed");
  s->sec.signing_alg = s->cfg.signing_alg;
  s->sec.cipher = s->cfg.cipher;
  /* Transport-level security accepted (QUIC, 2.2.3.1.5): TLS already
   * protects every message, so SMB signs and encrypts nothing on top
   * unless the user insists on encryption. */
  s->sec.sign = !s->guest && !s->cfg.transport_security;
  bool want_enc = s->cfg.want_encrypt ||
                  ((flags & SMB2_SESSION_FLAG_ENCRYPT_DATA) &&
                   !s->cfg.transport_security);
  if (want_enc && !s->cfg.cipher)
    return finish(s, SMBQ_ERR_UNSUPPORTED, 0,
                  "encryption was required but server %s offers none "
                  "(dialect %s)", s->server,
                  smb2_dialect_name(s->cfg.dialect));
  s->sec.encrypt = want_enc;
  /* MS-SMB2 3.2.5.3.1: the final reply is signed with the new key; for
   * 3.1.1 it must be. */
  bool signed_flag = smbq_le32_at(msg + 16) & SMB2_FLAGS_SIGNED;
  if (!s->guest && (signed_flag || (s->cfg.dialect == SMB2_DIALECT_311 &&
                                    !s->cfg.transport_security)) &&
      smb2_conn_verify_reply(&s->sec, msg, len) < 0)
    return finish(s, SMBQ_ERR_SIGNATURE, 0,
                  "the session setup reply from %s is not correctly signed: "
                  "possible man-in-the-middle", s->server);
  fill_nonce_salts(s);
  s->mech_name = s->guest ? "guest" : mech(s)->name;
  finish(s, 0, 0, NULL);
}

/* The final reply of a re-authentication (MS-SMB2 3.2.5.3.2): the keys
 * stay; the reply is signed with them when the session signs. */
static void renewed(struct core_sess *s, const uint8_t *msg, size_t len) {
  bool signed_flag = smbq_le32_at(msg + 16) & SMB2_FLAGS_SIGNED;
  if (s->sec.sign && !s->sec.encrypt &&
      (!signed_flag || smb2_conn_verify_reply(&s->sec, msg, len) < 0))
    return finish(s, SMBQ_ERR_SIGNATURE, 0,
                  "the re-authentication reply from %s is not correctly "
                  "signed: possible man-in-the-middle", s->server);
  s->reauth = false;
  finish(s, 0, 0, NULL);
}

/* A reply the server failed: the mechanism says why. */
static void refused(struct core_sess *s, int err, uint32_t status,
                    const uint8_t *msg, size_t len) {
  struct smb2_session_setup_rsp r = {0};
  /* an error reply may still carry a token (a KRB-ERROR) */
  if (status == NT_STATUS_SUCCESS ||
      smb2_decode_session_setup_rsp(msg, len, &r) < 0)
    memset(&r, 0, sizeof(r));
  int rc = err < 0 ? err : smbq_err_from_ntstatus(status);
  rc = mech(s)->ops->refused(mech(s), rc ? rc : SMBQ_ERR_PROTO, status,
                             r.token, r.token_len);
  finish(s, rc, status, "%s", mech(s)->err);
}

static void on_round(void *arg, int err, uint32_t status, const uint8_t *msg,
                     size_t len) {
  struct core_sess *s = arg;
  /* A round that ends with no mechanism left to judge it (the logon was
   * decided, or its mechanism already gone, while this round was still
   * queued): a valid session stays valid, anything else fails here and
   * the remaining mechanisms are freed. Found by fuzz_core_stream. */
  if (!mech(s)) {
    if (s->state != CORE_SESS_VALID)
      finish(s, err < 0 ? err : SMBQ_ERR_PROTO, status, "the logon with %s "
             "ended with no authentication mechanism left", s->server);
    return;
  }
  bool more = status == NT_STATUS_MORE_PROCESSING_REQUIRED;
  if (err == SMBQ_ERR_TIMEOUT)
    return finish(s, err, 0, "server %s did not answer SESSION_SETUP (the "
                  "logon) in time", s->server);
  if (err < 0 || (!more && status != NT_STATUS_SUCCESS))
    return refused(s, err, status, msg, len);
  struct smb2_session_setup_rsp r;
  if (smb2_decode_session_setup_rsp(msg, len, &r) < 0)
    return finish(s, SMBQ_ERR_PROTO, 0, "malformed session setup reply "
                  "from %s", s->server);
  if (s->reauth && smbq_le64_at(msg + 40) != s->sec.session_id)
    return finish(s, SMBQ_ERR_PROTO, 0, "server %s answered the "
                  "re-authentication for another session", s->server);
  s->sec.session_id = smbq_le64_at(msg + 40);
  uint8_t *out = NULL;
  size_t out_len = 0;
  int rc = mech(s)->ops->step(mech(s), more, r.token, r.token_len, &out,
                              &out_len);
  if (rc == AUTH_SEND) {
    rc = send_round(s, out, out_len);
    free(out);
    if (rc < 0)
      finish(s, rc, 0, "session setup with %s failed", s->server);
    return;
  }
  if (rc == AUTH_FALLBACK && s->mech + 1 < s->cfg.n_mechs && !s->reauth) {
    s->mech++; /* a new session from scratch */
    rc = start_mech(s);
    if (rc < 0)
      finish(s, rc, 0, "%s", mech(s)->err[0] ? mech(s)->err
                                             : "session setup failed");
    return;
  }
  if (rc == AUTH_FALLBACK)
    return finish(s, SMBQ_ERR_UNSUPPORTED, 0,
                  "server %s chose NTLM, which is not allowed here",
                  s->server);
  if (rc < 0)
    return finish(s, rc, 0, "%s", mech(s)->err);
  if (more) /* AUTH_DONE only ends a successful reply */
    return finish(s, SMBQ_ERR_PROTO, 0, "server %s wants another round "
                  "after the logon completed", s->server);
  if (s->reauth)
    return renewed(s, msg, len);
  activate(s, r.session_flags, msg, len);
}

int core_sess_start(struct core_sess *s, struct smb2_conn *conn,
                    const struct core_sess_cfg *cfg, core_sess_done_fn done,
                    void *arg) {
  memset(s, 0, sizeof(*s));
  s->cfg = *cfg;
  snprintf(s->server, sizeof(s->server), "%s", cfg->server);
  s->cfg.server = s->server;
  if (cfg->preauth)
    memcpy(s->neg_preauth, cfg->preauth, sizeof(s->neg_preauth));
  s->cfg.preauth = NULL;
  s->conn = conn;
  s->done = done;
  s->arg = arg;
  s->state = CORE_SESS_SETUP;
  if (!cfg->n_mechs) {
    s->state = CORE_SESS_FAILED;
    return core_err_set(&s->err, SMBQ_ERR_INVAL, 0,
                        "no authentication mechanism");
  }
  int rc = start_mech(s);
  if (rc < 0) {
    s->state = CORE_SESS_FAILED;
    return core_err_set(&s->err, rc, 0, "%s",
                        mech(s)->err[0] ? mech(s)->err
                                        : "session setup failed");
  }
  return 0;
}

int core_sess_reauth(struct core_sess *s, struct smb2_conn *conn,
                     const struct core_sess_cfg *cfg, core_sess_done_fn done,
                     void *arg) {
  for (size_t i = 0; i < s->cfg.n_mechs; i++)
    auth_mech_free(s->cfg.mechs[i]);
  s->cfg = *cfg;
  s->cfg.server = s->server;
  s->cfg.preauth = NULL;
  s->mech = 0;
  s->conn = conn;
  s->done = done;
  s->arg = arg;
  s->reauth = true;
  s->state = CORE_SESS_SETUP;
  uint8_t *tok = NULL;
  size_t tok_len = 0;
  int rc = cfg->n_mechs ? mech(s)->ops->start(mech(s), &tok, &tok_len)
                        : SMBQ_ERR_INVAL;
  if (rc == 0)
    rc = send_round(s, tok, tok_len);
  free(tok);
  if (rc < 0) {
    s->state = CORE_SESS_FAILED;
    s->reauth = false;
    return core_err_set(&s->err, rc, 0, "%s",
                        cfg->n_mechs && mech(s)->err[0]
                            ? mech(s)->err
                            : "re-authentication failed");
  }
  return 0;
}

void core_sess_clear(struct core_sess *s) {
  for (size_t i = 0; i < s->cfg.n_mechs; i++)
    auth_mech_free(s->cfg.mechs[i]);
  memset(s->cfg.mechs, 0, sizeof(s->cfg.mechs));
  smbq_wipe(&s->sec, sizeof(s->sec));
  smbq_wipe(&s->enc_sec, sizeof(s->enc_sec));
  smbq_wipe(s->preauth, sizeof(s->preauth));
  smbq_wipe(s->neg_preauth, sizeof(s->neg_preauth));
}
