/* SMB 3.x encryption: the TRANSFORM_HEADER (MS-SMB2 2.2.41) around the
 * AEAD (3.1.4.3 encrypt, 3.2.5.1.1 decrypt). The ciphers themselves are
 * lib/crypto's (smb2_aead_encrypt/decrypt()).
 *
 * The AEAD's nonce is the first 11 (CCM) or 12 (GCM) bytes of the Nonce
 * field, its associated data is the transform header from its Nonce field
 * to its end (32 bytes), and the tag is the header's Signature field.
 *
 * No copies: both directions read the source and write the destination in
 * one pass, and may run in place. */
#include <assert.h>
#include <string.h>

#include "crypto/smb2_crypto.h"
#include "smb2/smb2_secure.h"
#include "smbq/smbq_err.h"
#include "smbq_bytes.h"

/* Field offsets in the TRANSFORM_HEADER (2.2.41). */
#define TH_SIGNATURE 4
#define TH_NONCE 20
#define TH_ORIG_SIZE 36
#define TH_FLAGS 42
#define TH_SESSION_ID 44
#define TH_AAD_LEN (SMB2_TRANSFORM_HDR_SIZE - TH_NONCE)
#define TH_NONCE_FIELD 16
#define TH_FLAG_ENCRYPTED 0x0001 /* 3.0.x: EncryptionAlgorithm AES-128-CCM */

/* Compression is not negotiated, so a plaintext is at least one SMB2
 * header. */
#define MIN_PLAINTEXT SMB2_HDR_SIZE

int smb2_transform_session_id(const uint8_t *in, size_t inlen,
                              uint64_t *session_id) {
  if (!in || inlen < SMB2_TRANSFORM_HDR_SIZE)
    return SMBQ_ERR_PROTO;
  *session_id = smbq_le64_at(in + TH_SESSION_ID);
  return 0;
}

/* 2.2.41: the Nonce field holds the cipher's 11 or 12 nonce bytes, the
 * rest is zero; Signature is filled in by the AEAD afterwards. */
static void put_transform_hdr(uint8_t *out, const uint8_t *nonce,
                              size_t nlen, uint32_t len, uint64_t sid) {
  uint8_t *p = out;
  p = smbq_put_le32(p, SMB2_TRANSFORM_PROTO_ID);
  p = smbq_put_zero(p, SMB2_SIG_SIZE);
  p = smbq_put_bytes(p, nonce, nlen);
  p = smbq_put_zero(p, TH_NONCE_FIELD - nlen);
  p = smbq_put_le32(p, len);
  p = smbq_put_le16(p, 0);
  p = smbq_put_le16(p, TH_FLAG_ENCRYPTED);
  p = smbq_put_le64(p, sid);
  assert((size_t)(p - out) == SMB2_TRANSFORM_HDR_SIZE);
}

int smb2_encrypt(uint16_t cipher, const uint8_t *key, uint64_t session_id,
                 const uint8_t *nonce, const uint8_t *msg, size_t len,
                 uint8_t *out) {
  size_t nlen = smb2_cipher_nonce_len(cipher);
  if (!nlen || !key || !nonce || !msg || !out || len < MIN_PLAINTEXT ||
      len > UINT32_MAX)
    return SMBQ_ERR_INVAL;
  put_transform_hdr(out, nonce, nlen, (uint32_t)len, session_id);
  return smb2_aead_encrypt(cipher, key, out + TH_NONCE, out + TH_NONCE,
                           TH_AAD_LEN, msg, out + SMB2_TRANSFORM_HDR_SIZE,
                           len, out + TH_SIGNATURE);
}

/* 3.2.5.1.1 / 2.2.41: what a client must see before trusting a
 * TRANSFORM_HEADER. Reserved and the unused nonce bytes are ignored
 * (Windows 8 sent random bytes there). */
static int check_transform_hdr(const uint8_t *in, size_t inlen) {
  if (inlen < SMB2_TRANSFORM_HDR_SIZE + MIN_PLAINTEXT ||
      inlen - SMB2_TRANSFORM_HDR_SIZE > UINT32_MAX)
    return SMBQ_ERR_PROTO;
  if (smbq_le32_at(in) != SMB2_TRANSFORM_PROTO_ID ||
      smbq_le16_at(in + TH_FLAGS) != TH_FLAG_ENCRYPTED ||
      smbq_le32_at(in + TH_ORIG_SIZE) != inlen - SMB2_TRANSFORM_HDR_SIZE)
    return SMBQ_ERR_PROTO;
  return 0;
}

int smb2_decrypt(uint16_t cipher, const uint8_t *key, const uint8_t *in,
                 size_t inlen, uint8_t *out, size_t *outlen) {
  if (!smb2_cipher_nonce_len(cipher) || !key || !in || !out || !outlen)
    return SMBQ_ERR_INVAL;
  int rc = check_transform_hdr(in, inlen);
  if (rc < 0)
    return rc;
  size_t len = inlen - SMB2_TRANSFORM_HDR_SIZE;
  /* on failure smb2_aead_decrypt() has wiped `out`: no unauthenticated
   * plaintext is left behind */
  rc = smb2_aead_decrypt(cipher, key, in + TH_NONCE, in + TH_NONCE,
                         TH_AAD_LEN, in + SMB2_TRANSFORM_HDR_SIZE, out, len,
                         in + TH_SIGNATURE);
  if (rc < 0)
    return rc;
  *outlen = len;
  return 0;
}

int smb2_decrypt_iov(uint16_t cipher, const uint8_t *key, const uint8_t *th,
                     const struct smb2_crypto_iov *iov, size_t n) {
  if (!smb2_cipher_nonce_len(cipher) || !key || !th || (!iov && n))
    return SMBQ_ERR_INVAL;
  size_t len = 0;
  for (size_t i = 0; i < n; i++) {
    if (iov[i].len > SIZE_MAX - SMB2_TRANSFORM_HDR_SIZE - len)
      return SMBQ_ERR_PROTO;
    len += iov[i].len;
  }
  int rc = check_transform_hdr(th, SMB2_TRANSFORM_HDR_SIZE + len);
  if (rc < 0)
    return rc;
  return smb2_aead_decrypt_iov(cipher, key, th + TH_NONCE, th + TH_NONCE,
                               TH_AAD_LEN, iov, n, th + TH_SIGNATURE);
}

int smb2_decrypt_peek(uint16_t cipher, const uint8_t *key, const uint8_t *in,
                      size_t inlen, uint8_t *out, size_t len) {
  if (!smb2_cipher_nonce_len(cipher) || !key || !in || !out)
    return SMBQ_ERR_INVAL;
  int rc = check_transform_hdr(in, inlen);
  if (rc < 0)
    return rc;
  size_t total = inlen - SMB2_TRANSFORM_HDR_SIZE;
  if (len > total)
    return SMBQ_ERR_INVAL;
  return smb2_aead_decrypt_prefix(cipher, key, in + TH_NONCE, in + TH_NONCE,
                                  TH_AAD_LEN, in + SMB2_TRANSFORM_HDR_SIZE,
                                  out, len, total);
}
