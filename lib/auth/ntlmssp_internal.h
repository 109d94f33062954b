/* NTLMv2 building blocks (MS-NLMP 3.3.2), exposed for the unit tests that
 * check them against the MS-NLMP 4.2.4 vectors. */
#ifndef NTLMSSP_INTERNAL_H
#define NTLMSSP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* NTOWFv2: HMAC_MD5(MD4(UTF16(password)), UTF16(UPPER(user) || domain)) */
int ntlm_ntowfv2(const char *user, const char *domain, const char *password,
                 uint8_t out[16]);

/* NTProofStr = HMAC_MD5(key, server_challenge || temp) */
int ntlm_proof(const uint8_t key[16], const uint8_t server_challenge[8],
               const uint8_t *temp, size_t temp_len, uint8_t out[16]);

/* LMv2 response (MS-NLMP 3.3.2): HMAC_MD5(key, server_challenge ||
 * client_challenge) || client_challenge. */
int ntlm_lmv2(const uint8_t key[16], const uint8_t server_challenge[8],
              const uint8_t client_challenge[8], uint8_t out[24]);

/* HMAC-MD5 (of a || b) and RC4 one-shots. */
int ntlm_hmac_md5(const uint8_t *key, size_t klen, const uint8_t *a,
                  size_t alen, const uint8_t *b, size_t blen,
                  uint8_t out[16]);
void ntlm_rc4(const uint8_t key[16], const uint8_t *in, size_t len,
              uint8_t *out);

#endif
