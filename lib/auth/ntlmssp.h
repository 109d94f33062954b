/* NTLMSSP client (MS-NLMP), NTLMv2 only, with extended session security,
 * 128-bit keys, key exchange and the AUTHENTICATE MIC.
 *
 * Sans-I/O: the caller feeds the server's CHALLENGE and takes tokens out.
 * Time (for the NTLMv2 timestamp when the server sends none) and randomness
 * (client challenge, exported session key) come from the caller through
 * `struct ntlmssp_env`, so tests reproduce the MS-NLMP 4.2.4 vectors.
 */
#ifndef NTLMSSP_H
#define NTLMSSP_H

#include <stddef.h>
#include <stdint.h>

struct ntlmssp_ctx;

struct ntlmssp_env {
  /* Fill buf with n random bytes; return 0 or negative on failure. */
  int (*random)(void *user, uint8_t *buf, size_t n);
  /* Current time as a Windows FILETIME (100 ns since 1601). */
  uint64_t (*filetime)(void *user);
  void *user;
};

/* Credentials. Strings are UTF-8; copied by ntlmssp_new. An empty user and
 * password means anonymous (only when the caller explicitly allows it). */
struct ntlmssp_creds {
  const char *user;
  const char *domain;      /* may be NULL/"" */
  const char *password;
  const char *workstation; /* may be NULL */
  /* Target name for MsvAvTargetName ("cifs/<server>"), may be NULL. */
  const char *target_spn;
};

/* Create a context. Returns NULL on allocation failure. Caller frees with
 * ntlmssp_free(), which wipes all secrets. env is copied. */
struct ntlmssp_ctx *ntlmssp_new(const struct ntlmssp_creds *creds,
                                const struct ntlmssp_env *env);
void ntlmssp_free(struct ntlmssp_ctx *ctx);

/* Produce the NEGOTIATE_MESSAGE. *out is malloc'd; caller frees. */
int ntlmssp_negotiate(struct ntlmssp_ctx *ctx, uint8_t **out, size_t *outlen);

/* Consume the CHALLENGE_MESSAGE, produce the AUTHENTICATE_MESSAGE
 * (NTLMv2 response, MsvAvFlags with MIC present, MIC computed over the
 * three messages). *out is malloc'd; caller frees (NULL on error).
 * With an empty user and password this is the anonymous AUTHENTICATE of
 * MS-NLMP 3.2.5.1.2 (LM response one zero byte, no NT response, no MIC);
 * the context then has no session key.
 * Errors: SMBQ_ERR_INVAL if ntlmssp_negotiate was not called first or the
 * credentials are not valid UTF-8; SMBQ_ERR_PROTO for a malformed
 * challenge (every offset/length is bounds-checked); SMBQ_ERR_UNSUPPORTED
 * if the server does not offer NTLMv2 target info/extended session
 * security/128-bit/Unicode; SMBQ_ERR_CRYPTO if env->random or a primitive
 * fails; SMBQ_ERR_NOMEM. All are fatal for this logon attempt. */
int ntlmssp_authenticate(struct ntlmssp_ctx *ctx, const uint8_t *challenge,
                         size_t len, uint8_t **out, size_t *outlen);

/* The exported session key (16 bytes), valid after a successful
 * ntlmssp_authenticate. SMBQ_ERR_INVAL before that and after an anonymous
 * logon, which has no session key (such an SMB session is unsigned). */
int ntlmssp_session_key(const struct ntlmssp_ctx *ctx, uint8_t key[16]);

/* NTLMSSP message signature (MS-NLMP 3.4.4.2, extended session security,
 * key exchange): used for the SPNEGO mechListMIC. Sign uses the client
 * signing key and the client sequence number (incremented); verify uses
 * the server's. sig is 16 bytes. Each direction keeps its own RC4 state
 * and sequence number across calls, so sign/verify in message order.
 * Errors: SMBQ_ERR_INVAL without a session key, SMBQ_ERR_SIGNATURE
 * (verify) for a wrong signature, SMBQ_ERR_CRYPTO. */
int ntlmssp_sign(struct ntlmssp_ctx *ctx, const uint8_t *msg, size_t len,
                 uint8_t sig[16]);
int ntlmssp_verify(struct ntlmssp_ctx *ctx, const uint8_t *msg, size_t len,
                   const uint8_t sig[16]);

#endif
