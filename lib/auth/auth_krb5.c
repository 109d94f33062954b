/* Kerberos inside SPNEGO as an auth_mech (auth_mech.h): the AP-REQ in a
 * negTokenInit, the AP-REP (or a KRB-ERROR GSSAPI answers with a new
 * AP-REQ), then a round with our mechListMIC when the server still wants
 * one (RFC 4178 5, MS-SPNG 3.1.5.1), and the server's mechListMIC
 * checked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth_mech.h"
#include "auth/spnego.h"
#include "smbq/smbq_err.h"
#include "smbq_bytes.h"

/* GSSAPI may answer a KRB-ERROR (clock skew) with a new AP-REQ: at most
 * this many such rounds. */
#define MAX_EXTRA_ROUNDS 2

struct krb_mech {
  struct auth_mech m;       /* first: the mech is found from it */
  struct kgss *g;
  uint8_t *ap_req;
  size_t ap_req_len;
  bool offer_ntlm;
  uint8_t *mechtypes;
  size_t mechtypes_len;
  int replies;
  bool mic_sent;            /* the last round carried our mechListMIC */
};

static struct krb_mech *of(struct auth_mech *m) {
  return (struct krb_mech *)m;
}

static int krb_start(struct auth_mech *m, uint8_t **out, size_t *len) {
  struct krb_mech *k = of(m);
  enum spnego_mech mechs[3] = {SPNEGO_MECH_KRB5, SPNEGO_MECH_MSKRB5,
                               SPNEGO_MECH_NTLMSSP};
  int rc = spnego_build_init(mechs, k->offer_ntlm ? 3 : 2, k->ap_req,
                             k->ap_req_len, out, len, &k->mechtypes,
                             &k->mechtypes_len);
  return rc < 0 ? auth_mech_fail(m, rc, "cannot build the SPNEGO token") : 0;
}

/* The server's SPNEGO reply; an empty one is a negTokenResp without a
 * state. */
static int parse_reply(struct auth_mech *m, const uint8_t *token, size_t len,
                       struct spnego_resp *resp) {
  memset(resp, 0, sizeof(*resp));
  resp->state = SPNEGO_STATE_ABSENT;
  if (!len)
    return 0;
  if (spnego_parse_resp(token, len, resp) < 0)
    return auth_mech_fail(m, SMBQ_ERR_PROTO, "malformed SPNEGO reply from %s to the "
                "Kerberos ticket", m->server);
  return 0;
}

/* MS-SPNG 3.2.5.1 / RFC 4178 5: the server's mechListMIC, when sent,
 * must verify over the mechTypes we sent. */
static int check_server_mic(struct auth_mech *m,
                            const struct spnego_resp *resp) {
  struct krb_mech *k = of(m);
  if (!resp->mic)
    return 0;
  if (kgss_verify_mic(k->g, k->mechtypes, k->mechtypes_len, resp->mic,
                      resp->mic_len) < 0)
    return auth_mech_fail(m, SMBQ_ERR_SIGNATURE, "server %s sent a wrong SPNEGO "
                "mechListMIC: possible tampering with the negotiation",
                m->server);
  return 0;
}

/* The context is complete and the server still wants a round: our
 * mechListMIC (RFC 4178 5: request-mic, or a MIC of its own to answer). */
static int send_mic(struct auth_mech *m, uint8_t **out, size_t *out_len) {
  struct krb_mech *k = of(m);
  uint8_t *mic = NULL;
  size_t mic_len = 0;
  int rc = kgss_get_mic(k->g, k->mechtypes, k->mechtypes_len, &mic,
                        &mic_len);
  if (rc == 0)
    rc = spnego_build_resp(NULL, 0, mic, mic_len, out, out_len);
  free(mic);
  if (rc < 0)
    return auth_mech_fail(m, rc, "cannot build the SPNEGO mechListMIC");
  k->mic_sent = true;
  return AUTH_SEND;
}

/* The reply to our mechListMIC round: it must end the logon. */
static int after_mic(struct auth_mech *m, bool more,
                     const struct spnego_resp *resp) {
  if (more)
    return auth_mech_fail(m, SMBQ_ERR_PROTO,
                "server %s asked for a third Kerberos round", m->server);
  if (resp->state == SPNEGO_REJECT)
    return auth_mech_fail(m, SMBQ_ERR_AUTH, "server %s rejected the logon", m->server);
  int rc = check_server_mic(m, resp);
  return rc < 0 ? rc : AUTH_DONE;
}

static int krb_step(struct auth_mech *m, bool more, const uint8_t *token,
                    size_t len, uint8_t **out, size_t *out_len) {
  struct krb_mech *k = of(m);
  struct spnego_resp resp;
  int rc = parse_reply(m, token, len, &resp);
  if (rc < 0)
    return rc;
  if (k->mic_sent)
    return after_mic(m, more, &resp);
  if (resp.state == SPNEGO_REJECT)
    return auth_mech_fail(m, SMBQ_ERR_AUTH, "server %s rejected Kerberos", m->server);
  if (k->replies++ == 0 && resp.supported_mech == SPNEGO_MECH_NTLMSSP &&
      !resp.token && more)
    return AUTH_FALLBACK; /* the server prefers NTLM */
  bool again = more && k->replies <= MAX_EXTRA_ROUNDS;
  uint8_t *next = NULL;
  size_t next_len = 0;
  char why[600] = "";
  rc = kgss_step(k->g, resp.token, resp.token_len, again ? &next : NULL,
                 &next_len, why, sizeof(why));
  if (rc < 0)
    return auth_mech_fail(m, rc, "Kerberos mutual authentication with %s failed: %s",
                m->server, why);
  if (rc == 1) { /* a new AP-REQ in the server's time (clock skew) */
    rc = spnego_build_resp(next, next_len, NULL, 0, out, out_len);
    free(next);
    return rc < 0 ? auth_mech_fail(m, rc, "cannot build the SPNEGO token") : AUTH_SEND;
  }
  rc = check_server_mic(m, &resp);
  if (rc < 0)
    return rc;
  if (more)
    return send_mic(m, out, out_len);
  if (resp.state == SPNEGO_REQUEST_MIC)
    return auth_mech_fail(m, SMBQ_ERR_PROTO, "server %s asked for a mechListMIC in "
                "its final reply", m->server);
  return AUTH_DONE;
}

/* A failed round: a KRB-ERROR in the reply tells why (clock skew, ...). */
static int krb_refused(struct auth_mech *m, int rc, uint32_t status,
                       const uint8_t *token, size_t len) {
  (void)status;
  struct krb_mech *k = of(m);
  char why[600] = "";
  struct spnego_resp resp;
  if (len && spnego_parse_resp(token, len, &resp) == 0 && resp.token &&
      kgss_step(k->g, resp.token, resp.token_len, NULL, NULL, why,
                sizeof(why)) < 0)
    return auth_mech_fail(m, SMBQ_ERR_AUTH, "server %s refused the Kerberos logon of "
                "%s: %s", m->server, kgss_principal(k->g), why);
  if (rc == SMBQ_ERR_AUTH || rc == SMBQ_ERR_ACCESS)
    return auth_mech_fail(m, SMBQ_ERR_AUTH, "server %s refused the Kerberos ticket of "
                "%s (clock skew, or an account the server does not accept)",
                m->server, kgss_principal(k->g));
  return auth_mech_fail(m, rc, "session setup with %s as %s (Kerberos) failed",
              m->server, kgss_principal(k->g));
}

static int krb_key(struct auth_mech *m, uint8_t key[16]) {
  int rc = kgss_session_key(of(m)->g, key);
  return rc < 0 ? auth_mech_fail(m, SMBQ_ERR_CRYPTO, "no Kerberos session key") : 0;
}

static void krb_free(struct auth_mech *m) {
  struct krb_mech *k = of(m);
  kgss_free(k->g);
  free(k->ap_req);
  free(k->mechtypes);
  smbq_wipe(k, sizeof(*k));
  free(k);
}

static const struct auth_mech_ops krb_ops = {
    .start = krb_start,
    .step = krb_step,
    .refused = krb_refused,
    .session_key = krb_key,
    .free = krb_free,
};

struct auth_mech *auth_krb5_new(const struct kgss_cfg *cfg, bool offer_ntlm,
                                int *rc, char *err, size_t errlen) {
  struct krb_mech *k = calloc(1, sizeof(*k));
  if (!k) {
    *rc = SMBQ_ERR_NOMEM;
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  *rc = kgss_start(cfg, &k->g, &k->ap_req, &k->ap_req_len, err, errlen);
  if (*rc < 0) {
    free(k);
    return NULL;
  }
  k->m.ops = &krb_ops;
  k->m.name = "Kerberos";
  k->offer_ntlm = offer_ntlm;
  snprintf(k->m.server, sizeof(k->m.server), "%s",
           cfg->server ? cfg->server : "");
  return &k->m;
}
