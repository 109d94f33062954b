/* SMB2 message security: signing (MS-SMB2 3.1.4.1, 3.1.5.1) and the
 * TRANSFORM_HEADER of encryption (2.2.41, 3.1.4.3, 3.2.5.1.1). This is
 * where SMB2 headers meet the primitives of lib/crypto
 * (crypto/smb2_crypto.h: smb2_mac(), smb2_aead_*()).
 *
 * Pure functions like the primitives: no I/O, no clock, no hidden
 * randomness, no allocation; nonces come from the caller. Return 0 or a
 * negative SMBQ_ERR_* (smbq_err.h); SMBQ_ERR_INVAL is a caller bug,
 * SMBQ_ERR_CRYPTO a GnuTLS failure (fatal for the connection).
 *
 * Sources: lib/smb2/smb2_sign.c, lib/smb2/smb2_encrypt.c.
 */
#ifndef SMB2_SECURE_H
#define SMB2_SECURE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/smb2_crypto.h"
#include "smb2/smb2_hdr.h"

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

/* smb2_sign() of a message whose first len bytes (at least the header)
 * are at msg and whose rest is the concatenation of nrest pieces (at
 * most 4), e.g. a WRITE's data in the caller's buffer; the signature is
 * written into msg. Same result as smb2_sign() over the joined message.
 * The pieces are only read. */
int smb2_sign_iov(uint16_t alg, const uint8_t key[16], uint8_t *msg,
                  size_t len, const struct smb2_crypto_buf *rest,
                  size_t nrest);

/* Verify the signature of a received message (MS-SMB2 3.1.5.1). Does not
 * modify msg. Returns 0 if valid, SMBQ_ERR_SIGNATURE if not (constant-time
 * comparison), or the errors of smb2_sign(). */
int smb2_verify(uint16_t alg, const uint8_t key[16], const uint8_t *msg,
                size_t len);

/* smb2_verify() of a message split into pieces (parts[0] starts with the
 * SMB2 header and holds at least all of it; at most 5 pieces), e.g. a
 * READ reply whose data went straight to the caller's buffer. Same
 * result as smb2_verify() over the joined message. */
int smb2_verify_iov(uint16_t alg, const uint8_t key[16],
                    const struct smb2_crypto_buf *parts, size_t n);

/* Encrypt one or more (compounded) SMB2 messages into a TRANSFORM_HEADER
 * message (MS-SMB2 2.2.41, 3.1.4.3). `out` must hold
 * SMB2_TRANSFORM_HDR_SIZE + len bytes. `nonce` is
 * smb2_cipher_nonce_len() bytes (the caller guarantees uniqueness per key;
 * the rest of the 16-byte Nonce field is zeroed).
 * Flags/EncryptionAlgorithm field = 0x0001 (encrypted).
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

/* smb2_decrypt() in place of a TRANSFORM_HEADER message whose payload
 * is split: `th` is the 52-byte header, the ciphertext is the
 * concatenation of the pieces, each decrypted where it lies (e.g. the
 * SMB2 header in the frame buffer, READ data in the caller's buffer).
 * Same checks and errors as smb2_decrypt() (OriginalMessageSize must be
 * the pieces' total); on SMBQ_ERR_SIGNATURE every piece has been wiped. */
int smb2_decrypt_iov(uint16_t cipher, const uint8_t *key, const uint8_t *th,
                     const struct smb2_crypto_iov *iov, size_t n);

/* The first len bytes of the plaintext of a TRANSFORM_HEADER message of
 * inlen bytes of which `in` holds the header and at least len bytes of
 * ciphertext, into out, NOT authenticated: to see what a reply is while
 * the rest of it is still to come; nothing of it may be trusted before
 * the whole message is decrypted. Errors: those of smb2_decrypt()'s
 * header checks; SMBQ_ERR_INVAL for len beyond the payload. */
int smb2_decrypt_peek(uint16_t cipher, const uint8_t *key, const uint8_t *in,
                      size_t inlen, uint8_t *out, size_t len);

/* SessionId from a transform header, or SMBQ_ERR_PROTO if too short. */
int smb2_transform_session_id(const uint8_t *in, size_t inlen,
                              uint64_t *session_id);

#endif
