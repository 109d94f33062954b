/* SMB2/3 cryptographic primitives: preauth integrity hashing, key
 * derivation, the signing MACs and the encryption AEADs. Built only on
 * GnuTLS/nettle. This layer knows no SMB2 header or TRANSFORM_HEADER
 * layout: it hashes, MACs and encrypts the bytes it is given. Signing a
 * message and building/parsing transform headers live in lib/smb2
 * (smb2/smb2_secure.h).
 *
 * All functions are pure (no I/O, no clock, no hidden randomness, no
 * allocation by this code): nonces come from the caller. Keys are
 * caller-owned; wipe them with smbq_wipe(). Thread-safe: no shared state.
 * Return 0 on success or a negative SMBQ_ERR_* (smbq_err.h). Common
 * errors: SMBQ_ERR_INVAL for a bad argument (unknown algorithm, NULL
 * pointer) -- a caller bug; SMBQ_ERR_CRYPTO if GnuTLS fails (out of
 * memory, FIPS refusal) -- fatal for the connection.
 *
 * Sources: lib/crypto/smb2_kdf.c (preauth, KDF, key schedule),
 * smb2_mac.c (HMAC-SHA256, AES-CMAC, AES-GMAC), smb2_aead.c (AES-CCM,
 * AES-GCM).
 */
#ifndef SMB2_CRYPTO_H
#define SMB2_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

/* Dialects (MS-SMB2 2.2.3) */
#define SMB2_DIALECT_202 0x0202
#define SMB2_DIALECT_210 0x0210
#define SMB2_DIALECT_300 0x0300
#define SMB2_DIALECT_302 0x0302
#define SMB2_DIALECT_311 0x0311

/* Cipher ids (MS-SMB2 2.2.3.1.2); 0 = none */
#define SMB2_CIPHER_NONE 0x0000
#define SMB2_CIPHER_AES128_CCM 0x0001
#define SMB2_CIPHER_AES128_GCM 0x0002
#define SMB2_CIPHER_AES256_CCM 0x0003
#define SMB2_CIPHER_AES256_GCM 0x0004

/* Signing algorithm ids (MS-SMB2 2.2.3.1.7) */
#define SMB2_SIGNING_HMAC_SHA256 0x0000
#define SMB2_SIGNING_AES_CMAC 0x0001
#define SMB2_SIGNING_AES_GMAC 0x0002

#define SMB2_MAC_SIZE 16      /* signature / AEAD tag length */
#define SMB2_PREAUTH_HASH_SIZE 64

/* Preauth integrity (MS-SMB2 3.2.5.2, 3.2.5.3; SHA-512 is the only
 * HashAlgorithm, 2.2.3.1.1): hash = SHA-512(hash || msg), updated in
 * place. Start from 64 zero bytes per connection; feed each NEGOTIATE and
 * SESSION_SETUP message (without the 4-byte transport header). The bytes
 * are hashed as given; nothing is parsed. */
int smb2_preauth_update(uint8_t hash[SMB2_PREAUTH_HASH_SIZE],
                        const uint8_t *msg, size_t len);

/* SP800-108 counter-mode KDF with HMAC-SHA256, r=32, as MS-SMB2 3.1.4.2:
 * out = first outlen bytes of HMAC(Ki, i || Label || 0x00 || Context || L),
 * L = outlen*8. `label` includes its terminating NUL when MS-SMB2 says so
 * (callers pass sizeof("SMBSigningKey") etc.). outlen 16 or 32. */
int smb2_kdf(const uint8_t *key, size_t keylen, const uint8_t *label,
             size_t labellen, const uint8_t *ctx, size_t ctxlen, uint8_t *out,
             size_t outlen);

/* The keys of one session (MS-SMB2 3.2.5.3.1 / 3.3.5.5.3). */
struct smb2_keys {
  uint8_t signing[16];      /* signing key (HMAC uses session key as is) */
  uint8_t encrypt[32];      /* client -> server (ClientToServer) */
  uint8_t decrypt[32];      /* server -> client */
  size_t cipher_key_len;    /* 16 or 32 depending on cipher; 0 if none */
};

/* Derive session keys. Errors: SMBQ_ERR_INVAL for an unknown dialect or
 * cipher, no session key, or no preauth hash with 3.1.1.
 * dialect: negotiated dialect; cipher: negotiated cipher (0 if none);
 * session_key: from authentication (NTLM: 16 bytes; Kerberos: 16 or 32);
 * preauth: the session's preauth hash (3.1.1 only; ignored otherwise).
 * For 2.0.2/2.1 signing = session_key (first 16 bytes, zero-padded).
 * For 3.0/3.0.2: labels "SMB2AESCMAC"/"SmbSign", "SMB2AESCCM"/"ServerIn "
 * and "ServerOut". For 3.1.1: "SMBSigningKey", "SMBC2SCipherKey",
 * "SMBS2CCipherKey" with the preauth hash as context. AES-256 ciphers
 * derive 32-byte keys (L=256) from the full session key. */
int smb2_derive_keys(uint16_t dialect, uint16_t cipher,
                     const uint8_t *session_key, size_t session_key_len,
                     const uint8_t preauth[SMB2_PREAUTH_HASH_SIZE],
                     struct smb2_keys *out);

/* One piece of a MAC's input (the input is the concatenation). */
struct smb2_crypto_buf {
  const uint8_t *data;
  size_t len;
};

/* MAC of the concatenation of parts[0..nparts) with a 16-byte key (MS-SMB2
 * 3.1.4.1 step 1). alg: SMB2_SIGNING_* -- HMAC-SHA256 truncated to 16
 * bytes, AES-128-CMAC, or AES-128-GMAC, which takes a 12-byte `nonce`
 * (ignored, may be NULL, for the others). The caller decides what the
 * parts are (e.g. a message with its signature field replaced by zeros).
 * Errors: SMBQ_ERR_INVAL (unknown alg, NULL key/tag, NULL part with a
 * length, no nonce for GMAC). */
int smb2_mac(uint16_t alg, const uint8_t key[16], const uint8_t *nonce,
             const struct smb2_crypto_buf *parts, size_t nparts,
             uint8_t tag[SMB2_MAC_SIZE]);

/* Nonce length for a cipher: 11 for CCM, 12 for GCM. */
size_t smb2_cipher_nonce_len(uint16_t cipher);

/* Key length for a cipher: 16 or 32 (0 for unknown). */
size_t smb2_cipher_key_len(uint16_t cipher);

/* AEAD encryption with a 16-byte tag (MS-SMB2 3.1.4.3): AES-CCM (RFC
 * 3610, via nettle) or AES-GCM (GnuTLS), key of smb2_cipher_key_len()
 * bytes, nonce of smb2_cipher_nonce_len() bytes. Reads `src` once and
 * writes `dst` once: dst may equal src (in place) but must not overlap it
 * otherwise. `aad` is read in full before anything is written to `dst`.
 * Errors: SMBQ_ERR_INVAL for an unknown cipher or a NULL pointer. */
int smb2_aead_encrypt(uint16_t cipher, const uint8_t *key,
                      const uint8_t *nonce, const uint8_t *aad, size_t aadlen,
                      const uint8_t *src, uint8_t *dst, size_t len,
                      uint8_t tag[SMB2_MAC_SIZE]);

/* AEAD decryption and tag check (MS-SMB2 3.2.5.1.1), same rules as
 * smb2_aead_encrypt(); the tag is compared in constant time. Returns
 * SMBQ_ERR_SIGNATURE if authentication fails (wrong key, tampering), in
 * which case `dst` has been wiped: unauthenticated plaintext is never
 * left behind. */
int smb2_aead_decrypt(uint16_t cipher, const uint8_t *key,
                      const uint8_t *nonce, const uint8_t *aad, size_t aadlen,
                      const uint8_t *src, uint8_t *dst, size_t len,
                      const uint8_t tag[SMB2_MAC_SIZE]);

/* One piece of a text decrypted in place (the text is the concatenation
 * of the pieces, e.g. an SMB2 header in one buffer and READ data in
 * another). */
struct smb2_crypto_iov {
  uint8_t *data;
  size_t len;
};

/* smb2_aead_decrypt() in place over pieces of any lengths: the same
 * result as over the joined text, without joining it. A cipher block
 * that straddles pieces is gathered into a 16-byte scratch block and
 * scattered back (the ciphers take whole blocks but for their last
 * call). On SMBQ_ERR_SIGNATURE every piece has been wiped. */
int smb2_aead_decrypt_iov(uint16_t cipher, const uint8_t *key,
                          const uint8_t *nonce, const uint8_t *aad,
                          size_t aadlen, const struct smb2_crypto_iov *iov,
                          size_t n, const uint8_t tag[SMB2_MAC_SIZE]);

/* The first len bytes of the plaintext of a ciphertext of total bytes
 * (src holds at least len), decrypted into dst WITHOUT authentication:
 * to look at a header while the rest is still to come. Nothing may be
 * trusted before smb2_aead_decrypt[_iov]() has checked the whole text.
 * Errors: as smb2_aead_decrypt(), SMBQ_ERR_INVAL also for len > total. */
int smb2_aead_decrypt_prefix(uint16_t cipher, const uint8_t *key,
                             const uint8_t *nonce, const uint8_t *aad,
                             size_t aadlen, const uint8_t *src, uint8_t *dst,
                             size_t len, size_t total);

#endif
