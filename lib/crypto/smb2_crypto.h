/* SMB2/3 cryptography: preauth integrity, key derivation, signing,
 * encryption. Built only on GnuTLS/nettle primitives.
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
 * smb2_sign.c (signing), smb2_encrypt.c (transform header, AEAD).
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

#define SMB2_HDR_SIZE 64
#define SMB2_SIG_OFFSET 48
#define SMB2_SIG_SIZE 16
#define SMB2_TRANSFORM_HDR_SIZE 52
#define SMB2_PREAUTH_HASH_SIZE 64

/* Preauth integrity (MS-SMB2 3.2.5.2, 3.2.5.3; SHA-512 is the only
 * HashAlgorithm, 2.2.3.1.1): hash = SHA-512(hash || msg), updated in
 * place. Start from 64 zero bytes per connection; feed each NEGOTIATE and
 * SESSION_SETUP message (without the 4-byte transport header). */
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

/* Sign one SMB2 message (header + body, no 4-byte transport header) in
 * place: computes over the message with the signature field taken as zero
 * (the message is not copied) and writes the result at offset 48.
 * alg: SMB2_SIGNING_* (HMAC-SHA256 truncated to 16 bytes for 2.0.2/2.1;
 * AES-CMAC for 3.x; AES-GMAC when negotiated). For AES-GMAC the nonce is
 * built from the header's MessageId and the SERVER_TO_REDIR / CANCEL bits
 * (MS-SMB2 3.1.4.1). In a compound, sign each message separately,
 * including its padding. Errors: SMBQ_ERR_INVAL (unknown alg),
 * SMBQ_ERR_PROTO (len < 64). */
int smb2_sign(uint16_t alg, const uint8_t key[16], uint8_t *msg, size_t len);

/* Verify the signature of a received message (MS-SMB2 3.1.5.1). Does not
 * modify msg. Returns 0 if valid, SMBQ_ERR_SIGNATURE if not (constant-time
 * comparison), or the errors of smb2_sign(). */
int smb2_verify(uint16_t alg, const uint8_t key[16], const uint8_t *msg,
                size_t len);

/* Nonce length for a cipher: 11 for CCM, 12 for GCM. */
size_t smb2_cipher_nonce_len(uint16_t cipher);

/* Key length for a cipher: 16 or 32 (0 for unknown). */
size_t smb2_cipher_key_len(uint16_t cipher);

/* Encrypt one or more (compounded) SMB2 messages into a TRANSFORM_HEADER
 * message (MS-SMB2 2.2.41, 3.1.4.3). `out` must hold
 * SMB2_TRANSFORM_HDR_SIZE + len bytes. `nonce` is nonce_len bytes (the
 * caller guarantees uniqueness per key; the rest of the 16-byte Nonce field
 * is zeroed). Flags/EncryptionAlgorithm field = 0x0001 (encrypted).
 * The payload is read once and written once: `msg` may be
 * out + SMB2_TRANSFORM_HDR_SIZE (encryption in place) but must not overlap
 * `out` otherwise. Errors: SMBQ_ERR_INVAL for an unknown cipher or a len
 * below 64 (one SMB2 header) or above UINT32_MAX. */
int smb2_encrypt(uint16_t cipher, const uint8_t *key, uint64_t session_id,
                 const uint8_t *nonce, const uint8_t *msg, size_t len,
                 uint8_t *out);

/* Decrypt a TRANSFORM_HEADER message (MS-SMB2 3.2.5.1.1). `in` starts
 * with 0xFD 'S' 'M' 'B'. `out` must hold inlen - SMB2_TRANSFORM_HDR_SIZE
 * bytes and may be in + SMB2_TRANSFORM_HDR_SIZE (decryption in place) but
 * must not overlap `in` otherwise; *outlen receives the plaintext length.
 * Pick the key first with smb2_transform_session_id().
 * Returns SMBQ_ERR_PROTO for a malformed header (wrong ProtocolId, Flags
 * != 0x0001, OriginalMessageSize != inlen - 52, or less than one SMB2
 * header of payload) -- drop the connection; SMBQ_ERR_SIGNATURE if
 * authentication fails (wrong key, tampering), in which case `out` has
 * been wiped. */
int smb2_decrypt(uint16_t cipher, const uint8_t *key, const uint8_t *in,
                 size_t inlen, uint8_t *out, size_t *outlen);

/* SessionId from a transform header, or SMBQ_ERR_PROTO if too short. */
int smb2_transform_session_id(const uint8_t *in, size_t inlen,
                              uint64_t *session_id);

#endif
