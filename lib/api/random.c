/* Randomness for everything a connection makes up (client GUID, preauth
 * salt, lease keys, nonce salts, NTLM client challenges): GnuTLS's
 * nonce-grade generator, in the env-callback shape the sans-I/O layers
 * take (user is unused). */
#include <gnutls/crypto.h>

#include "api/conn_internal.h"

int api_random(void *user, uint8_t *buf, size_t n) {
  (void)user;
  return gnutls_rnd(GNUTLS_RND_RANDOM, buf, n) == 0 ? 0 : SMBQ_ERR_CRYPTO;
}
