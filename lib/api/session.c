/* SESSION_SETUP with SPNEGO around Kerberos (GSSAPI) or NTLMSSP (NTLMv2),
 * key derivation and the checks on the final reply (MS-SMB2 3.2.4.2.3,
 * 3.2.5.3; MS-SPNG 3.1.5; RFC 4178). */
#include <arpa/inet.h>
#include <gnutls/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/conn_internal.h"
#include "auth/krb5_gss.h"
#include "auth/ntlmssp.h"
#include "smbq_host.h"
#include "auth/spnego.h"
#include "smb2/smb2_pdu.h"
#include "smbq_bytes.h"

int conn_random(smbq_conn *c, uint8_t *buf, size_t n) {
  (void)c;
  return gnutls_rnd(GNUTLS_RND_RANDOM, buf, n) == 0 ? 0 : SMBQ_ERR_CRYPTO;
}

static int env_random(void *user, uint8_t *buf, size_t n) {
  return conn_random(user, buf, n);
}

static uint64_t env_filetime(void *user) {
  (void)user;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return smb2_unix_to_filetime(ts.tv_sec, ts.tv_nsec);
}

/* One round's reply, copied out of the I/O thread. */
struct round {
  uint64_t session_id;
  uint16_t session_flags;
  uint32_t status;
  uint8_t *token;      /* SPNEGO token (owned) */
  size_t token_len;
  uint8_t *msg;        /* whole final reply, for signature checking */
  size_t msg_len;
};

static int parse_round(void *arg, uint32_t status, const uint8_t *msg,
                       size_t len) {
  struct round *rd = arg;
  rd->status = status;
  if (status != NT_STATUS_SUCCESS &&
      status != NT_STATUS_MORE_PROCESSING_REQUIRED)
    return api_status_err(status) ? api_status_err(status) : SMBQ_ERR_PROTO;
  struct smb2_session_setup_rsp r;
  int rc = smb2_decode_session_setup_rsp(msg, len, &r);
  if (rc < 0)
    return rc;
  rd->session_id = smbq_le64_at(msg + 40);
  rd->session_flags = r.session_flags;
  if (r.token_len) {
    rd->token = malloc(r.token_len);
    if (!rd->token)
      return SMBQ_ERR_NOMEM;
    memcpy(rd->token, r.token, r.token_len);
    rd->token_len = r.token_len;
  }
  if (status == NT_STATUS_SUCCESS) {
    rd->msg = malloc(len);
    if (!rd->msg)
      return SMBQ_ERR_NOMEM;
    memcpy(rd->msg, msg, len);
    rd->msg_len = len;
  }
  return 0;
}

static void round_clear(struct round *rd) {
  free(rd->token);
  free(rd->msg);
  memset(rd, 0, sizeof(*rd));
}

/* Send one SESSION_SETUP carrying token; the reply lands in rd. */
static int send_round(smbq_conn *c, const uint8_t *token, size_t len,
                      uint8_t *preauth, struct round *rd) {
  struct smb2_session_setup_req sr = {
      .security_mode = SMB2_NEGOTIATE_SIGNING_ENABLED |
                       SMB2_NEGOTIATE_SIGNING_REQUIRED,
      .token = token,
      .token_len = len,
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
  r->sec = &c->sec; /* carries the session id; signing not yet on */
  r->flags = SMB2_REQ_NO_SIGN | SMB2_REQ_NO_VERIFY;
  r->preauth = c->dialect == SMB2_DIALECT_311 ? preauth : NULL;
  round_clear(rd);
  return api_call1(c, r, parse_round, rd, &rd->status);
}

static const char *user_label(const smbq_conn *c, char *buf, size_t len) {
  const char *u = c->opts.user ? c->opts.user : "";
  if (c->opts.domain && c->opts.domain[0])
    snprintf(buf, len, "%s\\%s", c->opts.domain, u);
  else
    snprintf(buf, len, "%s", u);
  return buf;
}

static int auth_failed(smbq_conn *c, int rc, uint32_t status) {
  char who[300];
  user_label(c, who, sizeof(who));
  if (rc == SMBQ_ERR_AUTH)
    return api_fail(c, rc, status,
                    "logon failure for user '%s' on %s: wrong user name or "
                    "password, or the account is locked or disabled",
                    who, c->server);
  return api_fail(c, rc, status, "session setup with %s as '%s' failed",
                  c->server, who);
}

struct ntlm_state {
  struct ntlmssp_ctx *ntlm;
  uint8_t *mechtypes;
  size_t mechtypes_len;
  uint8_t preauth[SMB2_PREAUTH_HASH_SIZE];
};

/* Round 1: SPNEGO negTokenInit with the NTLMSSP NEGOTIATE. Returns the
 * server's CHALLENGE (inside rd->token's SPNEGO) parsed into resp. */
static int round_one(smbq_conn *c, struct ntlm_state *st, struct round *rd,
                     struct spnego_resp *resp) {
  uint8_t *neg = NULL, *init = NULL;
  size_t neg_len = 0, init_len = 0;
  static const enum spnego_mech mechs[] = {SPNEGO_MECH_NTLMSSP};
  int rc = ntlmssp_negotiate(st->ntlm, &neg, &neg_len);
  if (rc == 0)
    rc = spnego_build_init(mechs, 1, neg, neg_len, &init, &init_len,
                           &st->mechtypes, &st->mechtypes_len);
  free(neg);
  if (rc < 0)
    return api_fail(c, rc, 0, "cannot build the NTLMSSP negotiate token");
  rc = send_round(c, init, init_len, st->preauth, rd);
  free(init);
  if (rc < 0)
    return auth_failed(c, rc, rd->status);
  if (rd->status != NT_STATUS_MORE_PROCESSING_REQUIRED)
    return api_fail(c, SMBQ_ERR_PROTO, rd->status,
                    "server %s ended authentication after one round",
                    c->server);
  c->sec.session_id = rd->session_id;
  rc = spnego_parse_resp(rd->token, rd->token_len, resp);
  if (rc < 0 || !resp->token)
    return api_fail(c, SMBQ_ERR_PROTO, 0,
                    "malformed SPNEGO reply from %s (no NTLMSSP challenge)",
                    c->server);
  if (resp->state == SPNEGO_REJECT)
    return api_fail(c, SMBQ_ERR_UNSUPPORTED, 0,
                    "server %s rejected NTLMSSP authentication", c->server);
  return 0;
}

/* Round 2: AUTHENTICATE plus mechListMIC (MS-SPNG 3.1.5.1). */
static int round_two(smbq_conn *c, struct ntlm_state *st,
                     const struct spnego_resp *chal, struct round *rd) {
  uint8_t *auth = NULL, *tok = NULL, mic[16];
  size_t auth_len = 0, tok_len = 0;
  int rc = ntlmssp_authenticate(st->ntlm, chal->token, chal->token_len,
                                &auth, &auth_len);
  if (rc < 0)
    return api_fail(c, rc, 0, "cannot answer the NTLM challenge of %s "
                    "(malformed or unsupported challenge)", c->server);
  /* MS-SPNG 3.1.5.1: the mechListMIC needs a session key; an anonymous
   * logon has none and sends no MIC (as Samba does). */
  uint8_t key[16];
  bool have_key = ntlmssp_session_key(st->ntlm, key) == 0;
  smbq_wipe(key, sizeof(key));
  if (have_key)
    rc = ntlmssp_sign(st->ntlm, st->mechtypes, st->mechtypes_len, mic);
  if (rc == 0)
    rc = spnego_build_resp(auth, auth_len, have_key ? mic : NULL,
                           have_key ? sizeof(mic) : 0, &tok, &tok_len);
  free(auth);
  if (rc < 0)
    return api_fail(c, rc, 0, "cannot build the NTLMSSP authenticate token");
  rc = send_round(c, tok, tok_len, st->preauth, rd);
  free(tok);
  if (rc < 0)
    return auth_failed(c, rc, rd->status);
  if (rd->status != NT_STATUS_SUCCESS)
    return api_fail(c, SMBQ_ERR_PROTO, rd->status,
                    "server %s asked for a third authentication round",
                    c->server);
  return 0;
}

/* The server's mechListMIC, when sent, must verify (MS-SPNG 3.2.5.1). */
static int check_server_mic(smbq_conn *c, struct ntlm_state *st,
                            const struct round *rd) {
  struct spnego_resp resp;
  if (!rd->token_len)
    return 0;
  if (spnego_parse_resp(rd->token, rd->token_len, &resp) < 0)
    return api_fail(c, SMBQ_ERR_PROTO, 0, "malformed final SPNEGO reply");
  if (resp.state == SPNEGO_REJECT)
    return api_fail(c, SMBQ_ERR_AUTH, 0, "server %s rejected the logon",
                    c->server);
  if (resp.mic && (resp.mic_len != 16 ||
                   ntlmssp_verify(st->ntlm, st->mechtypes,
                                  st->mechtypes_len, resp.mic) < 0))
    return api_fail(c, SMBQ_ERR_SIGNATURE, 0,
                    "server %s sent a wrong SPNEGO mechListMIC: possible "
                    "tampering with the negotiation", c->server);
  return 0;
}

static void fill_nonce_salts(smbq_conn *c) {
  conn_random(c, c->sec.nonce_salt, sizeof(c->sec.nonce_salt));
  c->enc_sec = c->sec;
  /* Same key, separate counters: distinct salts keep nonces unique. */
  c->enc_sec.nonce_salt[0] ^= 0x80;
  c->enc_sec.encrypt = c->enc_sec.cipher != 0;
  c->enc_sec.nonce_counter = 0;
}

/* Derive keys from the mechanism's session key (NULL for a guest or
 * anonymous session) and apply the session's signing/encryption policy;
 * mech names the mechanism for smbq_conn_info.auth. */
static int activate_session(smbq_conn *c, const uint8_t *session_key,
                            const uint8_t *preauth, const struct round *rd,
                            const char *mech) {
  bool guest = rd->session_flags &
               (SMB2_SESSION_FLAG_IS_GUEST | SMB2_SESSION_FLAG_IS_NULL);
  if (guest && !c->opts.allow_guest)
    return api_fail(c, SMBQ_ERR_POLICY, 0,
                    "server %s logged us on as guest, which is refused: "
                    "check the user name and password (servers may map "
                    "unknown users to guest)", c->server);
  uint8_t key[16] = {0};
  int rc = session_key ? 0 : SMBQ_ERR_INVAL;
  if (session_key)
    memcpy(key, session_key, sizeof(key));
  if (rc == 0)
    rc = smb2_derive_keys(c->dialect, c->cipher, key, sizeof(key), preauth,
                          &c->sec.keys);
  smbq_wipe(key, sizeof(key));
  if (rc < 0)
    return api_fail(c, rc, 0, "session key derivation failed");
  c->sec.signing_alg = c->signing_alg;
  c->sec.cipher = c->cipher;
  /* Transport-level security accepted (QUIC, 2.2.3.1.5): TLS already
   * protects every message, so SMB signs and encrypts nothing on top
   * unless the user insists on encryption. */
  c->sec.sign = !guest && !c->transport_security;
  bool want_enc = c->opts.encrypt ||
                  ((rd->session_flags & SMB2_SESSION_FLAG_ENCRYPT_DATA) &&
                   !c->transport_security);
  if (want_enc && !c->cipher)
    return api_fail(c, SMBQ_ERR_UNSUPPORTED, 0,
                    "encryption was required but server %s offers none "
                    "(dialect %s)", c->server, conn_dialect_name(c->dialect));
  c->sec.encrypt = want_enc;
  /* MS-SMB2 3.2.5.3.1: the final reply is signed with the new key; for
   * 3.1.1 it must be. */
  bool signed_flag = smbq_le32_at(rd->msg + 16) & SMB2_FLAGS_SIGNED;
  if (!guest && (signed_flag || (c->dialect == SMB2_DIALECT_311 &&
                                 !c->transport_security)) &&
      smb2_conn_verify_reply(&c->sec, rd->msg, rd->msg_len) < 0)
    return api_fail(c, SMBQ_ERR_SIGNATURE, 0,
                    "the session setup reply from %s is not correctly "
                    "signed: possible man-in-the-middle", c->server);
  fill_nonce_salts(c);
  snprintf(c->auth_mech, sizeof(c->auth_mech), "%s", guest ? "guest" : mech);
  c->session_valid = true;
  return 0;
}

/* What the server's NEGOTIATE hint offers (an empty hint: anything). */
struct offer {
  bool krb5, ntlm;
};

static int read_hint(smbq_conn *c, struct offer *of) {
  struct spnego_init_hint hint;
  if (spnego_parse_hint(c->spnego_hint, c->spnego_hint_len, &hint) < 0)
    return api_fail(c, SMBQ_ERR_PROTO, 0,
                    "malformed SPNEGO hint in the negotiate reply of %s",
                    c->server);
  of->krb5 = of->ntlm = hint.n_mechs == 0;
  for (size_t i = 0; i < hint.n_mechs; i++) {
    if (hint.mechs[i] == SPNEGO_MECH_NTLMSSP)
      of->ntlm = true;
    if (hint.mechs[i] == SPNEGO_MECH_KRB5 ||
        hint.mechs[i] == SPNEGO_MECH_MSKRB5)
      of->krb5 = true;
  }
  return 0;
}

/* ---- NTLM ---------------------------------------------------------------- */

static int ntlm_session_setup(smbq_conn *c) {
  bool anon = !c->opts.user || !c->opts.user[0];
  if (anon && !c->opts.allow_guest)
    return api_fail(c, SMBQ_ERR_INVAL, 0, "no user name given");
  struct ntlmssp_creds cr = {
      .user = anon ? "" : c->opts.user,
      .domain = c->opts.domain ? c->opts.domain : "",
      .password = c->opts.password ? c->opts.password : "",
  };
  struct ntlmssp_env env = {env_random, env_filetime, c};
  struct ntlm_state st;
  memset(&st, 0, sizeof(st));
  memcpy(st.preauth, c->preauth, sizeof(st.preauth));
  st.ntlm = ntlmssp_new(&cr, &env);
  if (!st.ntlm)
    return api_fail(c, SMBQ_ERR_NOMEM, 0, "session setup");
  memset(&c->sec, 0, sizeof(c->sec));
  struct round rd = {0};
  struct spnego_resp chal;
  int rc = round_one(c, &st, &rd, &chal);
  struct round rd2 = {0};
  if (rc == 0)
    rc = round_two(c, &st, &chal, &rd2);
  if (rc == 0)
    rc = check_server_mic(c, &st, &rd2);
  if (rc == 0) {
    uint8_t key[16];
    bool have_key = ntlmssp_session_key(st.ntlm, key) == 0;
    rc = activate_session(c, have_key ? key : NULL, st.preauth, &rd2,
                          "NTLMv2");
    smbq_wipe(key, sizeof(key));
  }
  round_clear(&rd);
  round_clear(&rd2);
  free(st.mechtypes);
  ntlmssp_free(st.ntlm);
  smbq_wipe(st.preauth, sizeof(st.preauth));
  return rc;
}

/* ---- Kerberos ---------------------------------------------------------- */

/* The KDC proxy list of the options, as lib/auth wants it. */
static struct kdcproxy_url *proxy_list(const struct smbq_opts *o) {
  struct kdcproxy_url *l = calloc(o->n_kdc_proxies + 1, sizeof(*l));
  for (size_t i = 0; l && i < o->n_kdc_proxies; i++) {
    l[i].realm = o->kdc_proxies[i].realm;
    l[i].url = o->kdc_proxies[i].url;
  }
  return l;
}

static void kgss_cfg_of(const struct smbq_opts *o, const char *server,
                        const struct kdcproxy_url *proxies,
                        struct kgss_cfg *cfg) {
  memset(cfg, 0, sizeof(*cfg));
  cfg->user = o->user;
  cfg->domain = o->domain;
  cfg->password = o->password;
  cfg->ccache = o->ccache;
  cfg->server = server;
  cfg->proxies = proxies;
  cfg->n_proxies = proxies ? o->n_kdc_proxies : 0;
  cfg->proxy_only = o->kdc_proxy_only;
  cfg->ca_file = o->ca_file;
}

int smbq_opts_have_kerberos_ticket(const smbq_opts *o, char *why,
                                   size_t len) {
  if (why && len)
    why[0] = '\0';
  if (!o)
    return 0;
  struct kgss_cfg cfg;
  kgss_cfg_of(o, NULL, NULL, &cfg);
  return kgss_have_ticket(&cfg, why, len);
}

/* AUTO: whether Kerberos is worth trying (see smbq_opts_set_auth). */
static bool kerberos_worth_trying(smbq_conn *c, const struct offer *of,
                                  const struct kgss_cfg *cfg) {
  if (!of->krb5 || smbq_host_is_address(c->server))
    return false;
  char realm[256];
  if (c->opts.password && c->opts.password[0] &&
      kgss_explicit_realm(cfg, realm, sizeof(realm)))
    return true;
  return kgss_have_ticket(cfg, NULL, 0) == 1;
}

struct krb_state {
  struct kgss *g;
  uint8_t *mechtypes;
  size_t mechtypes_len;
  uint8_t preauth[SMB2_PREAUTH_HASH_SIZE];
};

/* The server's SPNEGO reply in rd, parsed; a reply without a token is an
 * empty negTokenResp (state absent). */
static int parse_krb_reply(smbq_conn *c, const struct round *rd,
                           struct spnego_resp *resp) {
  memset(resp, 0, sizeof(*resp));
  resp->state = SPNEGO_STATE_ABSENT;
  if (!rd->token_len)
    return 0;
  if (spnego_parse_resp(rd->token, rd->token_len, resp) < 0)
    return api_fail(c, SMBQ_ERR_PROTO, 0,
                    "malformed SPNEGO reply from %s to the Kerberos "
                    "ticket", c->server);
  return 0;
}

/* MS-SPNG 3.2.5.1 / RFC 4178 5: the server's mechListMIC, when sent,
 * must verify over the mechTypes we sent. */
static int krb_check_server_mic(smbq_conn *c, struct krb_state *st,
                                const struct spnego_resp *resp) {
  if (!resp->mic)
    return 0;
  if (kgss_verify_mic(st->g, st->mechtypes, st->mechtypes_len, resp->mic,
                      resp->mic_len) < 0)
    return api_fail(c, SMBQ_ERR_SIGNATURE, 0,
                    "server %s sent a wrong SPNEGO mechListMIC: possible "
                    "tampering with the negotiation", c->server);
  return 0;
}

/* A failed SESSION_SETUP round with a Kerberos ticket. */
static int krb_refused(smbq_conn *c, struct krb_state *st, int rc,
                       const struct round *rd) {
  char why[600] = "";
  struct spnego_resp resp;
  /* a KRB-ERROR in the reply tells why (clock skew, ...) */
  if (rd->token_len &&
      spnego_parse_resp(rd->token, rd->token_len, &resp) == 0 &&
      resp.token && kgss_step(st->g, resp.token, resp.token_len, NULL,
                              NULL, why, sizeof(why)) < 0)
    return api_fail(c, SMBQ_ERR_AUTH, rd->status,
                    "server %s refused the Kerberos logon of %s: %s",
                    c->server, kgss_principal(st->g), why);
  if (rc == SMBQ_ERR_AUTH || rc == SMBQ_ERR_ACCESS)
    return api_fail(c, SMBQ_ERR_AUTH, rd->status,
                    "server %s refused the Kerberos ticket of %s (clock "
                    "skew, or an account the server does not accept)",
                    c->server, kgss_principal(st->g));
  return api_fail(c, rc, rd->status,
                  "session setup with %s as %s (Kerberos) failed", c->server,
                  kgss_principal(st->g));
}

/* One SESSION_SETUP exchange with the AP-REQ, then the AP-REP; a second
 * one carrying our mechListMIC when the server still wants one.
 * Returns 1 when the server chose NTLMSSP instead (the caller starts
 * over with NTLM), 0 on success. */
static int krb_rounds(smbq_conn *c, struct krb_state *st,
                      const uint8_t *ap_req, size_t ap_req_len,
                      bool offer_ntlm) {
  enum spnego_mech mechs[3] = {SPNEGO_MECH_KRB5, SPNEGO_MECH_MSKRB5,
                               SPNEGO_MECH_NTLMSSP};
  uint8_t *init = NULL;
  size_t init_len = 0;
  int rc = spnego_build_init(mechs, offer_ntlm ? 3 : 2, ap_req, ap_req_len,
                             &init, &init_len, &st->mechtypes,
                             &st->mechtypes_len);
  if (rc < 0)
    return api_fail(c, rc, 0, "cannot build the SPNEGO token");
  struct round rd = {0}, rd2 = {0};
  rc = send_round(c, init, init_len, st->preauth, &rd);
  free(init);
  if (rc < 0) {
    rc = krb_refused(c, st, rc, &rd);
    round_clear(&rd);
    return rc;
  }
  c->sec.session_id = rd.session_id;
  struct spnego_resp resp;
  char why[600] = "";
  for (int extra = 0;; extra++) {
    rc = parse_krb_reply(c, &rd, &resp);
    if (rc == 0 && resp.state == SPNEGO_REJECT)
      rc = api_fail(c, SMBQ_ERR_AUTH, 0, "server %s rejected Kerberos",
                    c->server);
    if (rc == 0 && extra == 0 && resp.supported_mech == SPNEGO_MECH_NTLMSSP &&
        !resp.token && rd.status == NT_STATUS_MORE_PROCESSING_REQUIRED) {
      round_clear(&rd);
      return 1; /* the server prefers NTLM */
    }
    uint8_t *next = NULL, *tok = NULL;
    size_t next_len = 0, tok_len = 0;
    bool more = rd.status == NT_STATUS_MORE_PROCESSING_REQUIRED && extra < 2;
    if (rc == 0)
      rc = kgss_step(st->g, resp.token, resp.token_len, more ? &next : NULL,
                     &next_len, why, sizeof(why));
    if (rc != 1) {
      if (rc < 0)
        rc = api_fail(c, rc, 0, "Kerberos mutual authentication with %s "
                      "failed: %s", c->server, why);
      break;
    }
    /* GSSAPI answers the server's KRB-ERROR (clock skew) with a new
     * AP-REQ: one more round */
    rc = spnego_build_resp(next, next_len, NULL, 0, &tok, &tok_len);
    free(next);
    if (rc < 0) {
      rc = api_fail(c, rc, 0, "cannot build the SPNEGO token");
      break;
    }
    rc = send_round(c, tok, tok_len, st->preauth, &rd);
    free(tok);
    if (rc < 0) {
      rc = krb_refused(c, st, rc, &rd);
      break;
    }
  }
  if (rc == 0)
    rc = krb_check_server_mic(c, st, &resp);
  const struct round *final = &rd;
  if (rc == 0 && rd.status == NT_STATUS_MORE_PROCESSING_REQUIRED) {
    /* the context is complete, the server wants our mechListMIC
     * (RFC 4178 5: request-mic, or a MIC of its own to answer) */
    uint8_t *mic = NULL, *tok = NULL;
    size_t mic_len = 0, tok_len = 0;
    rc = kgss_get_mic(st->g, st->mechtypes, st->mechtypes_len, &mic,
                      &mic_len);
    if (rc == 0)
      rc = spnego_build_resp(NULL, 0, mic, mic_len, &tok, &tok_len);
    free(mic);
    if (rc < 0)
      rc = api_fail(c, rc, 0, "cannot build the SPNEGO mechListMIC");
    if (rc == 0) {
      rc = send_round(c, tok, tok_len, st->preauth, &rd2);
      if (rc < 0)
        rc = krb_refused(c, st, rc, &rd2);
    }
    free(tok);
    struct spnego_resp resp2;
    if (rc == 0 && rd2.status != NT_STATUS_SUCCESS)
      rc = api_fail(c, SMBQ_ERR_PROTO, rd2.status,
                    "server %s asked for a third Kerberos round",
                    c->server);
    if (rc == 0)
      rc = parse_krb_reply(c, &rd2, &resp2);
    if (rc == 0 && resp2.state == SPNEGO_REJECT)
      rc = api_fail(c, SMBQ_ERR_AUTH, 0, "server %s rejected the logon",
                    c->server);
    if (rc == 0)
      rc = krb_check_server_mic(c, st, &resp2);
    final = &rd2;
  } else if (rc == 0 && resp.state == SPNEGO_REQUEST_MIC) {
    rc = api_fail(c, SMBQ_ERR_PROTO, 0, "server %s asked for a "
                  "mechListMIC in its final reply", c->server);
  }
  if (rc == 0) {
    uint8_t key[16];
    rc = kgss_session_key(st->g, key);
    if (rc < 0)
      rc = api_fail(c, SMBQ_ERR_CRYPTO, 0, "no Kerberos session key");
    else
      rc = activate_session(c, key, st->preauth, final, "Kerberos");
    smbq_wipe(key, sizeof(key));
  }
  round_clear(&rd);
  round_clear(&rd2);
  return rc;
}

/* Kerberos; *fallback set when NTLM should be tried instead (AUTO, no
 * ticket could be had, or the server chose NTLMSSP). */
static int krb_session_setup(smbq_conn *c, bool may_fall_back,
                             bool offer_ntlm, bool *fallback) {
  *fallback = false;
  struct kdcproxy_url *proxies = proxy_list(&c->opts);
  if (!proxies)
    return api_fail(c, SMBQ_ERR_NOMEM, 0, "session setup");
  struct kgss_cfg cfg;
  kgss_cfg_of(&c->opts, c->server, proxies, &cfg);
  struct krb_state st;
  memset(&st, 0, sizeof(st));
  memcpy(st.preauth, c->preauth, sizeof(st.preauth));
  uint8_t *ap_req = NULL;
  size_t ap_req_len = 0;
  char err[768] = "";
  int rc = kgss_start(&cfg, &st.g, &ap_req, &ap_req_len, err, sizeof(err));
  if (rc < 0) {
    free(proxies);
    if (may_fall_back) {
      *fallback = true;
      return 0;
    }
    return api_fail(c, rc, 0, "Kerberos logon to %s failed: %s", c->server,
                    err);
  }
  memset(&c->sec, 0, sizeof(c->sec));
  rc = krb_rounds(c, &st, ap_req, ap_req_len, offer_ntlm);
  if (rc == 1) {
    rc = 0;
    *fallback = true;
    memset(&c->sec, 0, sizeof(c->sec)); /* a new session from scratch */
  }
  free(ap_req);
  free(st.mechtypes);
  kgss_free(st.g);
  free(proxies);
  smbq_wipe(st.preauth, sizeof(st.preauth));
  return rc;
}

int conn_session_setup(smbq_conn *c) {
  struct offer of = {false, false};
  int rc = read_hint(c, &of);
  if (rc < 0)
    return rc;
  enum smbq_auth mode = c->opts.auth;
  bool ntlm_ok = mode != SMBQ_AUTH_KERBEROS && !c->opts.ntlm_forbidden;
  if (mode == SMBQ_AUTH_NTLM && c->opts.ntlm_forbidden)
    return api_fail(c, SMBQ_ERR_POLICY, 0, "NTLM was asked for but is "
                    "forbidden by the configuration (ntlm = off)");
  bool try_krb = mode == SMBQ_AUTH_KERBEROS;
  if (mode == SMBQ_AUTH_AUTO) {
    struct kgss_cfg cfg;
    kgss_cfg_of(&c->opts, c->server, NULL, &cfg);
    try_krb = kerberos_worth_trying(c, &of, &cfg) ||
              (!ntlm_ok && of.krb5 && !smbq_host_is_address(c->server));
  }
  if (try_krb && !of.krb5)
    return api_fail(c, SMBQ_ERR_UNSUPPORTED, 0,
                    "server %s does not offer Kerberos authentication",
                    c->server);
  if (try_krb) {
    bool fallback = false;
    rc = krb_session_setup(c, mode == SMBQ_AUTH_AUTO && ntlm_ok, ntlm_ok,
                           &fallback);
    if (rc < 0 || !fallback)
      return rc;
  }
  if (!ntlm_ok) {
    char why[512];
    struct kgss_cfg cfg;
    kgss_cfg_of(&c->opts, c->server, NULL, &cfg);
    kgss_have_ticket(&cfg, why, sizeof(why));
    return api_fail(c, SMBQ_ERR_POLICY, 0,
                    "NTLM is forbidden by the configuration and Kerberos "
                    "is not possible with %s (%s): run kinit, or give "
                    "user@REALM and a password", c->server,
                    !of.krb5 ? "the server does not offer it"
                    : smbq_host_is_address(c->server)
                        ? "the server was given by address, not by name"
                        : why);
  }
  if (!of.ntlm)
    return api_fail(c, SMBQ_ERR_UNSUPPORTED, 0,
                    "server %s does not offer NTLM authentication "
                    "(Kerberos only): run kinit, or give user@REALM and a "
                    "password", c->server);
  return ntlm_session_setup(c);
}
