/* NTLMv2 inside SPNEGO as an auth_mech (auth_mech.h): negTokenInit with
 * the NTLMSSP NEGOTIATE, then the AUTHENTICATE with our mechListMIC, then
 * the server's mechListMIC checked (MS-SPNG 3.1.5.1, 3.2.5.1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth_mech.h"
#include "auth/spnego.h"
#include "smbq/smbq_err.h"
#include "smbq_bytes.h"

struct ntlm_mech {
  struct auth_mech m;         /* first: the mech is found from it */
  struct ntlmssp_ctx *ntlm;
  uint8_t *mechtypes;         /* what our mechListMIC covers */
  size_t mechtypes_len;
  int round;                  /* replies seen */
  char who[300];
};

static struct ntlm_mech *of(struct auth_mech *m) {
  return (struct ntlm_mech *)m;
}

/* Round 1: SPNEGO negTokenInit with the NTLMSSP NEGOTIATE. */
static int ntlm_start(struct auth_mech *m, uint8_t **out, size_t *len) {
  struct ntlm_mech *n = of(m);
  uint8_t *neg = NULL;
  size_t neg_len = 0;
  static const enum spnego_mech mechs[] = {SPNEGO_MECH_NTLMSSP};
  int rc = ntlmssp_negotiate(n->ntlm, &neg, &neg_len);
  if (rc == 0)
    rc = spnego_build_init(mechs, 1, neg, neg_len, out, len, &n->mechtypes,
                           &n->mechtypes_len);
  free(neg);
  if (rc < 0)
    return auth_mech_fail(m, rc, "cannot build the NTLMSSP negotiate token");
  return 0;
}

/* Round 2: the AUTHENTICATE plus our mechListMIC (MS-SPNG 3.1.5.1). */
static int answer_challenge(struct auth_mech *m, const uint8_t *token,
                            size_t len, uint8_t **out, size_t *out_len) {
  struct ntlm_mech *n = of(m);
  struct spnego_resp chal;
  int rc = spnego_parse_resp(token, len, &chal);
  if (rc < 0 || !chal.token)
    return auth_mech_fail(m, SMBQ_ERR_PROTO,
                "malformed SPNEGO reply from %s (no NTLMSSP challenge)",
                m->server);
  if (chal.state == SPNEGO_REJECT)
    return auth_mech_fail(m, SMBQ_ERR_UNSUPPORTED,
                "server %s rejected NTLMSSP authentication", m->server);
  uint8_t *auth = NULL, mic[16];
  size_t auth_len = 0;
  rc = ntlmssp_authenticate(n->ntlm, chal.token, chal.token_len, &auth,
                            &auth_len);
  if (rc < 0)
    return auth_mech_fail(m, rc, "cannot answer the NTLM challenge of %s "
                "(malformed or unsupported challenge)", m->server);
  /* MS-SPNG 3.1.5.1: the mechListMIC needs a session key; an anonymous
   * logon has none and sends no MIC (as Samba does). */
  uint8_t key[16];
  bool have_key = ntlmssp_session_key(n->ntlm, key) == 0;
  smbq_wipe(key, sizeof(key));
  if (have_key)
    rc = ntlmssp_sign(n->ntlm, n->mechtypes, n->mechtypes_len, mic);
  if (rc == 0)
    rc = spnego_build_resp(auth, auth_len, have_key ? mic : NULL,
                           have_key ? sizeof(mic) : 0, out, out_len);
  free(auth);
  if (rc < 0)
    return auth_mech_fail(m, rc, "cannot build the NTLMSSP authenticate token");
  return AUTH_SEND;
}

/* The server's mechListMIC, when sent, must verify (MS-SPNG 3.2.5.1). */
static int check_final(struct auth_mech *m, const uint8_t *token,
                       size_t len) {
  struct ntlm_mech *n = of(m);
  struct spnego_resp resp;
  if (!len)
    return AUTH_DONE;
  if (spnego_parse_resp(token, len, &resp) < 0)
    return auth_mech_fail(m, SMBQ_ERR_PROTO, "malformed final SPNEGO reply");
  if (resp.state == SPNEGO_REJECT)
    return auth_mech_fail(m, SMBQ_ERR_AUTH, "server %s rejected the logon",
                m->server);
  if (resp.mic && (resp.mic_len != 16 ||
                   ntlmssp_verify(n->ntlm, n->mechtypes, n->mechtypes_len,
                                  resp.mic) < 0))
    return auth_mech_fail(m, SMBQ_ERR_SIGNATURE,
                "server %s sent a wrong SPNEGO mechListMIC: possible "
                "tampering with the negotiation", m->server);
  return AUTH_DONE;
}

static int ntlm_step(struct auth_mech *m, bool more, const uint8_t *token,
                     size_t len, uint8_t **out, size_t *out_len) {
  struct ntlm_mech *n = of(m);
  n->round++;
  if (n->round == 1) {
    if (!more)
      return auth_mech_fail(m, SMBQ_ERR_PROTO,
                  "server %s ended authentication after one round",
                  m->server);
    return answer_challenge(m, token, len, out, out_len);
  }
  if (more)
    return auth_mech_fail(m, SMBQ_ERR_PROTO,
                "server %s asked for a third authentication round",
                m->server);
  return check_final(m, token, len);
}

static int ntlm_refused(struct auth_mech *m, int rc, uint32_t status,
                        const uint8_t *token, size_t len) {
  (void)status, (void)token, (void)len;
  struct ntlm_mech *n = of(m);
  if (rc == SMBQ_ERR_AUTH)
    return auth_mech_fail(m, rc, "logon failure for user '%s' on %s: wrong user "
                "name or password, or the account is locked or disabled",
                n->who, m->server);
  return auth_mech_fail(m, rc, "session setup with %s as '%s' failed", m->server,
              n->who);
}

static int ntlm_key(struct auth_mech *m, uint8_t key[16]) {
  return ntlmssp_session_key(of(m)->ntlm, key);
}

static void ntlm_free(struct auth_mech *m) {
  struct ntlm_mech *n = of(m);
  ntlmssp_free(n->ntlm);
  free(n->mechtypes);
  smbq_wipe(n, sizeof(*n));
  free(n);
}

static const struct auth_mech_ops ntlm_ops = {
    .start = ntlm_start,
    .step = ntlm_step,
    .refused = ntlm_refused,
    .session_key = ntlm_key,
    .free = ntlm_free,
};

struct auth_mech *auth_ntlm_new(const struct ntlmssp_creds *creds,
                                const struct ntlmssp_env *env,
                                const char *server, const char *who) {
  struct ntlm_mech *n = calloc(1, sizeof(*n));
  if (!n)
    return NULL;
  n->ntlm = ntlmssp_new(creds, env);
  if (!n->ntlm) {
    free(n);
    return NULL;
  }
  n->m.ops = &ntlm_ops;
  n->m.name = "NTLMv2";
  snprintf(n->m.server, sizeof(n->m.server), "%s", server);
  snprintf(n->who, sizeof(n->who), "%s", who);
  return &n->m;
}
