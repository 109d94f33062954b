/* libFuzzer harness: the KDC-PROXY-MESSAGE decoder (MS-KKDCP 2.2.2,
 * lib/auth/kdcproxy.c) on what a KDC proxy answers over HTTPS.
 *
 * Input: the HTTP response body. A decoded message must be as long as
 * its 4-byte length prefix said and is read in full; the ASN.1 decode
 * itself is Heimdal's (not instrumented for coverage, but under ASan).
 * The round trip through the encoder must give the same message back. */
#include "auth/kdcproxy.h"
#include "fuzz_util.h"
#include "smbq/smbq_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t *in = fuzz_dup(data, size);
  uint8_t *msg = NULL;
  size_t len = 0;
  int rc = kdcproxy_decode(in, size, &msg, &len);
  if (rc == 0) {
    if (!msg || !len || len >= size)
      FUZZ_FAIL("decoded %zu bytes from %zu", len, size);
    fuzz_touch(msg, len);
    /* what we would send it as again decodes to the same bytes */
    uint8_t *enc = NULL, *back = NULL;
    size_t enc_len = 0, back_len = 0;
    if (len <= (16u << 20) &&
        kdcproxy_encode(msg, len, "FUZZ.TEST", &enc, &enc_len) == 0) {
      if (kdcproxy_decode(enc, enc_len, &back, &back_len) != 0 ||
          back_len != len || memcmp(back, msg, len) != 0)
        FUZZ_FAIL("KDC-PROXY-MESSAGE round trip differs");
    }
    free(enc);
    free(back);
  } else if (msg || len) {
    FUZZ_FAIL("error %d with a message", rc);
  }
  free(msg);
  free(in);
  return 0;
}
