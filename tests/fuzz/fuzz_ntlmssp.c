/* libFuzzer harness: NTLMSSP (lib/auth/ntlmssp.c) on the server's
 * CHALLENGE_MESSAGE with its AV pairs, and the NTLM mechanism inside
 * SPNEGO (lib/auth/auth_ntlm.c) on the two SESSION_SETUP reply tokens:
 * the challenge in a negTokenResp, then the final negTokenResp with the
 * server's mechListMIC (verified with the NTLMSSP signing key).
 *
 * Input: one mode byte, then
 *   mode % 4 == 0: a CHALLENGE_MESSAGE, answered as user "alice"
 *   mode % 4 == 1: the same, answered anonymously
 *   mode % 4 == 2: a CHALLENGE_MESSAGE, then (after a 16-byte server
 *                  signature to verify) the rest is checked as a message
 *                  signed by the server: [challenge len: 2, LE]
 *                  [challenge][signature 16][message]
 *   mode % 4 == 3: through the SPNEGO mechanism: [token 1 len: 2, LE]
 *                  [token 1 (challenge)][token 2 (final)]
 * Bit 2 of the mode drops the target SPN, bit 3 the domain and
 * workstation. Time and the client's random bytes are fixed. */
#include <stdbool.h>

#include "auth/auth_mech.h"
#include "auth/ntlmssp.h"
#include "fuzz_util.h"
#include "smbq/smbq_err.h"

static uint64_t fixed_time(void *user) {
  (void)user;
  return 0x01DB0A1B2C3D4E5FULL;
}

static struct ntlmssp_creds creds_for(uint8_t mode) {
  struct ntlmssp_creds c = {
      .user = "alice",
      .domain = (mode & 8) ? NULL : "FUZZ",
      .password = "Passw0rd!",
      .workstation = (mode & 8) ? NULL : "CLIENT",
      .target_spn = (mode & 4) ? NULL : "cifs/server.fuzz.test",
  };
  if ((mode & 3) == 1)
    c.user = c.password = "";
  return c;
}

static void raw_challenge(uint8_t mode, struct fuzz_in *in) {
  uint32_t ctr = 0;
  struct ntlmssp_env env = {fuzz_random, fixed_time, &ctr};
  struct ntlmssp_creds cr = creds_for(mode);
  struct ntlmssp_ctx *c = ntlmssp_new(&cr, &env);
  if (!c)
    abort();
  uint8_t *neg = NULL, *auth = NULL;
  size_t neg_len = 0, auth_len = 0, chal_len = in->n, got;
  if ((mode & 3) == 2)
    chal_len = fuzz_u16(in);
  uint8_t *chal = fuzz_dup(fuzz_bytes(in, chal_len, &got), got);
  if (ntlmssp_negotiate(c, &neg, &neg_len) < 0)
    abort();
  int rc = ntlmssp_authenticate(c, chal, got, &auth, &auth_len);
  if (rc == 0) {
    if (!auth || auth_len < 64)
      FUZZ_FAIL("AUTHENTICATE of %zu bytes", auth_len);
    fuzz_touch(auth, auth_len);
    uint8_t key[16], sig[16];
    if (ntlmssp_session_key(c, key) == 0) {
      ntlmssp_sign(c, neg, neg_len, sig);
      size_t sig_len, msg_len;
      const uint8_t *s = fuzz_bytes(in, 16, &sig_len);
      if (sig_len == 16) {
        memcpy(sig, s, 16);
        uint8_t *msg = fuzz_dup(fuzz_bytes(in, in->n, &msg_len), msg_len);
        ntlmssp_verify(c, msg, msg_len, sig);
        free(msg);
      }
    }
  } else if (auth) {
    FUZZ_FAIL("error %d with a token", rc);
  }
  free(auth);
  free(neg);
  free(chal);
  ntlmssp_free(c);
}

static void via_spnego(uint8_t mode, struct fuzz_in *in) {
  uint32_t ctr = 0;
  struct ntlmssp_env env = {fuzz_random, fixed_time, &ctr};
  struct ntlmssp_creds cr = creds_for(mode);
  struct auth_mech *m = auth_ntlm_new(&cr, &env, "server.fuzz.test",
                                      "FUZZ\\alice");
  if (!m)
    abort();
  uint8_t *tok = NULL;
  size_t tok_len = 0, got;
  if (m->ops->start(m, &tok, &tok_len) < 0)
    abort();
  free(tok);
  size_t t1_len = fuzz_u16(in);
  uint8_t *t1 = fuzz_dup(fuzz_bytes(in, t1_len, &got), got);
  uint8_t *out = NULL;
  size_t out_len = 0;
  int rc = m->ops->step(m, true, t1, got, &out, &out_len);
  if (rc == AUTH_SEND) {
    fuzz_touch(out, out_len);
    free(out);
    out = NULL;
    uint8_t *t2 = fuzz_dup(fuzz_bytes(in, in->n, &got), got);
    rc = m->ops->step(m, false, t2, got, &out, &out_len);
    if (rc == AUTH_DONE) {
      uint8_t key[16];
      m->ops->session_key(m, key);
    }
    free(t2);
  }
  if (rc < 0 && !m->err[0])
    FUZZ_FAIL("mechanism failed (%d) without saying why", rc);
  free(out);
  free(t1);
  auth_mech_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct fuzz_in in = {data, size};
  uint8_t mode = fuzz_u8(&in);
  if ((mode & 3) == 3)
    via_spnego(mode, &in);
  else
    raw_challenge(mode, &in);
  return 0;
}
