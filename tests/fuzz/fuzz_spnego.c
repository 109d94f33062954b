/* libFuzzer harness: the SPNEGO decoders of lib/auth/spnego.c, on what a
 * server sends: the NEGOTIATE reply's hint (a GSS-API InitialContextToken
 * around a negTokenInit) and every SESSION_SETUP reply's negTokenResp.
 *
 * Input: the token, given to both decoders. Pointers they return must
 * lie inside it; the mechanism list must stay within its 8 slots. */
#include "auth/spnego.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t *in = fuzz_dup(data, size);
  struct spnego_init_hint hint;
  if (spnego_parse_hint(in, size, &hint) == 0 &&
      hint.n_mechs > sizeof(hint.mechs) / sizeof(hint.mechs[0]))
    FUZZ_FAIL("hint with %zu mechanisms", hint.n_mechs);
  struct spnego_resp r;
  if (spnego_parse_resp(in, size, &r) == 0) {
    fuzz_in(r.token, r.token_len, in, size, "negTokenResp responseToken");
    fuzz_in(r.mic, r.mic_len, in, size, "negTokenResp mechListMIC");
  }
  free(in);
  return 0;
}
