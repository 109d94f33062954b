/* SMB2/3 cryptography on GnuTLS primitives (MS-SMB2 3.1.4). */
#include "crypto/smb2_crypto.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <string.h>
#include <sys/uio.h>

#include "smb2/smb2_hdr.h"
#include "smbq/smbq_err.h"
#include "smbq_bytes.h"

int smb2_preauth_update(uint8_t hash[SMB2_PREAUTH_HASH_SIZE],
                        const uint8_t *msg, size_t len) {
  gnutls_hash_hd_t h;
  if (gnutls_hash_init(&h, GNUTLS_DIG_SHA512) < 0)
    return SMBQ_ERR_CRYPTO;
  gnutls_hash(h, hash, SMB2_PREAUTH_HASH_SIZE);
  gnutls_hash(h, msg, len);
  gnutls_hash_deinit(h, hash);
  return 0;
}

/* SP800-108 counter mode, PRF = HMAC-SHA256, r = 32 (MS-SMB2 3.1.4.2).
 * One block suffices: L is at most 256 bits. */
int smb2_kdf(const uint8_t *key, size_t keylen, const uint8_t *label,
             size_t labellen, const uint8_t *ctx, size_t ctxlen, uint8_t *out,
             size_t outlen) {
  if (outlen != 16 && outlen != 32)
    return SMBQ_ERR_INVAL;
  gnutls_hmac_hd_t h;
  uint8_t i[4], l[4], zero = 0, full[32];
  smbq_put_be32(i, 1);
  smbq_put_be32(l, (uint32_t)(outlen * 8));
  if (gnutls_hmac_init(&h, GNUTLS_MAC_SHA256, key, keylen) < 0)
    return SMBQ_ERR_CRYPTO;
  gnutls_hmac(h, i, 4);
  gnutls_hmac(h, label, labellen);
  gnutls_hmac(h, &zero, 1);
  gnutls_hmac(h, ctx, ctxlen);
  gnutls_hmac(h, l, 4);
  gnutls_hmac_deinit(h, full);
  memcpy(out, full, outlen);
  smbq_wipe(full, sizeof(full));
  return 0;
}

size_t smb2_cipher_key_len(uint16_t cipher) {
  switch (cipher) {
  case SMB2_CIPHER_AES128_CCM:
  case SMB2_CIPHER_AES128_GCM:
    return 16;
  case SMB2_CIPHER_AES256_CCM:
  case SMB2_CIPHER_AES256_GCM:
    return 32;
  default:
    return 0;
  }
}

size_t smb2_cipher_nonce_len(uint16_t cipher) {
  switch (cipher) {
  case SMB2_CIPHER_AES128_CCM:
  case SMB2_CIPHER_AES256_CCM:
    return 11;
  case SMB2_CIPHER_AES128_GCM:
  case SMB2_CIPHER_AES256_GCM:
    return 12;
  default:
    return 0;
  }
}

#define LBL(s) (const uint8_t *)(s), sizeof(s)

int smb2_derive_keys(uint16_t dialect, uint16_t cipher,
                     const uint8_t *session_key, size_t session_key_len,
                     const uint8_t preauth[SMB2_PREAUTH_HASH_SIZE],
                     struct smb2_keys *out) {
  uint8_t sk[16] = {0};
  memset(out, 0, sizeof(*out));
  memcpy(sk, session_key, session_key_len < 16 ? session_key_len : 16);
  size_t klen = smb2_cipher_key_len(cipher);
  /* 3.2.5.3.1: AES-256 ciphers derive from the full session key. */
  const uint8_t *ki = klen == 32 ? session_key : sk;
  size_t ki_len = klen == 32 ? session_key_len : 16;
  int rc = 0;
  out->cipher_key_len = klen;
  if (dialect < SMB2_DIALECT_300) {
    memcpy(out->signing, sk, 16);
  } else if (dialect < SMB2_DIALECT_311) {
    rc = smb2_kdf(sk, 16, LBL("SMB2AESCMAC"), LBL("SmbSign"), out->signing,
                  16);
    if (rc == 0 && klen)
      rc = smb2_kdf(ki, ki_len, LBL("SMB2AESCCM"), LBL("ServerIn "),
                    out->encrypt, klen);
    if (rc == 0 && klen)
      rc = smb2_kdf(ki, ki_len, LBL("SMB2AESCCM"), LBL("ServerOut"),
                    out->decrypt, klen);
  } else {
    rc = smb2_kdf(sk, 16, LBL("SMBSigningKey"), preauth,
                  SMB2_PREAUTH_HASH_SIZE, out->signing, 16);
    if (rc == 0 && klen)
      rc = smb2_kdf(ki, ki_len, LBL("SMBC2SCipherKey"), preauth,
                    SMB2_PREAUTH_HASH_SIZE, out->encrypt, klen);
    if (rc == 0 && klen)
      rc = smb2_kdf(ki, ki_len, LBL("SMBS2CCipherKey"), preauth,
                    SMB2_PREAUTH_HASH_SIZE, out->decrypt, klen);
  }
  smbq_wipe(sk, sizeof(sk));
  if (rc < 0)
    smbq_wipe(out, sizeof(*out));
  return rc;
}

/* MS-SMB2 3.1.4.1: the AES-GMAC nonce is the MessageId followed by a
 * 32-bit field whose bit 0 says "response" and bit 1 "CANCEL request". */
static void gmac_nonce(const uint8_t *msg, uint8_t nonce[12]) {
  uint32_t flags = smbq_le32_at(msg + 16);
  uint16_t cmd = smbq_le16_at(msg + 12);
  uint32_t bits = 0;
  if (flags & SMB2_FLAGS_SERVER_TO_REDIR)
    bits |= 1;
  else if (cmd == SMB2_CANCEL)
    bits |= 2;
  memcpy(nonce, msg + 24, 8);
  smbq_put_le32(nonce + 8, bits);
}

/* MAC over msg with its signature field taken as zero, without copying. */
static int compute_sig(uint16_t alg, const uint8_t key[16],
                       const uint8_t *msg, size_t len, uint8_t sig[16]) {
  static const uint8_t zero[SMB2_SIG_SIZE];
  gnutls_mac_algorithm_t mac;
  if (len < SMB2_HDR_SIZE)
    return SMBQ_ERR_PROTO;
  switch (alg) {
  case SMB2_SIGNING_HMAC_SHA256:
    mac = GNUTLS_MAC_SHA256;
    break;
  case SMB2_SIGNING_AES_CMAC:
    mac = GNUTLS_MAC_AES_CMAC_128;
    break;
  case SMB2_SIGNING_AES_GMAC:
    mac = GNUTLS_MAC_AES_GMAC_128;
    break;
  default:
    return SMBQ_ERR_INVAL;
  }
  gnutls_hmac_hd_t h;
  uint8_t full[32];
  if (gnutls_hmac_init(&h, mac, key, 16) < 0)
    return SMBQ_ERR_CRYPTO;
  if (alg == SMB2_SIGNING_AES_GMAC) {
    uint8_t nonce[12];
    gmac_nonce(msg, nonce);
    gnutls_hmac_set_nonce(h, nonce, sizeof(nonce));
  }
  gnutls_hmac(h, msg, SMB2_SIG_OFFSET);
  gnutls_hmac(h, zero, SMB2_SIG_SIZE);
  gnutls_hmac(h, msg + SMB2_HDR_SIZE, len - SMB2_HDR_SIZE);
  gnutls_hmac_deinit(h, full);
  memcpy(sig, full, SMB2_SIG_SIZE);
  return 0;
}

int smb2_sign(uint16_t alg, const uint8_t key[16], uint8_t *msg, size_t len) {
  uint8_t sig[SMB2_SIG_SIZE];
  int rc = compute_sig(alg, key, msg, len, sig);
  if (rc == 0)
    memcpy(msg + SMB2_SIG_OFFSET, sig, SMB2_SIG_SIZE);
  return rc;
}

int smb2_verify(uint16_t alg, const uint8_t key[16], const uint8_t *msg,
                size_t len) {
  uint8_t sig[SMB2_SIG_SIZE];
  int rc = compute_sig(alg, key, msg, len, sig);
  if (rc < 0)
    return rc;
  /* constant-time compare */
  uint8_t diff = 0;
  for (size_t i = 0; i < SMB2_SIG_SIZE; i++)
    diff |= (uint8_t)(sig[i] ^ msg[SMB2_SIG_OFFSET + i]);
  return diff ? SMBQ_ERR_SIGNATURE : 0;
}

static gnutls_cipher_algorithm_t aead_algo(uint16_t cipher) {
  switch (cipher) {
  case SMB2_CIPHER_AES128_CCM:
    return GNUTLS_CIPHER_AES_128_CCM;
  case SMB2_CIPHER_AES128_GCM:
    return GNUTLS_CIPHER_AES_128_GCM;
  case SMB2_CIPHER_AES256_CCM:
    return GNUTLS_CIPHER_AES_256_CCM;
  case SMB2_CIPHER_AES256_GCM:
    return GNUTLS_CIPHER_AES_256_GCM;
  default:
    return GNUTLS_CIPHER_UNKNOWN;
  }
}

static int aead_open(uint16_t cipher, const uint8_t *key,
                     gnutls_aead_cipher_hd_t *h) {
  gnutls_cipher_algorithm_t algo = aead_algo(cipher);
  if (algo == GNUTLS_CIPHER_UNKNOWN)
    return SMBQ_ERR_INVAL;
  gnutls_datum_t k = {(unsigned char *)key,
                      (unsigned)smb2_cipher_key_len(cipher)};
  return gnutls_aead_cipher_init(h, algo, &k) < 0 ? SMBQ_ERR_CRYPTO : 0;
}

int smb2_transform_session_id(const uint8_t *in, size_t inlen,
                              uint64_t *session_id) {
  if (inlen < SMB2_TRANSFORM_HDR_SIZE)
    return SMBQ_ERR_PROTO;
  *session_id = smbq_le64_at(in + 44);
  return 0;
}

/* 2.2.41: ProtocolId, Signature(16), Nonce(16), OriginalMessageSize,
 * Reserved, Flags (0x0001 = encrypted), SessionId. The AEAD's associated
 * data is the header from the Nonce on (32 bytes); the tag is the
 * Signature field. Encryption happens in place in `out`. */
int smb2_encrypt(uint16_t cipher, const uint8_t *key, uint64_t session_id,
                 const uint8_t *nonce, const uint8_t *msg, size_t len,
                 uint8_t *out) {
  size_t nlen = smb2_cipher_nonce_len(cipher);
  if (!nlen || len > UINT32_MAX)
    return SMBQ_ERR_INVAL;
  uint8_t *p = out;
  p = smbq_put_le32(p, SMB2_TRANSFORM_PROTO_ID);
  p = smbq_put_zero(p, 16);
  p = smbq_put_bytes(p, nonce, nlen);
  p = smbq_put_zero(p, 16 - nlen);
  p = smbq_put_le32(p, (uint32_t)len);
  p = smbq_put_le16(p, 0);
  p = smbq_put_le16(p, 0x0001);
  p = smbq_put_le64(p, session_id);
  memmove(p, msg, len);
  gnutls_aead_cipher_hd_t h;
  int rc = aead_open(cipher, key, &h);
  if (rc < 0)
    return rc;
  giovec_t aad = {out + 20, 32};
  giovec_t data = {p, len};
  size_t tag_len = 16;
  if (gnutls_aead_cipher_encryptv2(h, nonce, nlen, &aad, 1, &data, 1,
                                   out + 4, &tag_len) < 0)
    rc = SMBQ_ERR_CRYPTO;
  gnutls_aead_cipher_deinit(h);
  return rc;
}

int smb2_decrypt(uint16_t cipher, const uint8_t *key, const uint8_t *in,
                 size_t inlen, uint8_t *out, size_t *outlen) {
  size_t nlen = smb2_cipher_nonce_len(cipher);
  if (!nlen)
    return SMBQ_ERR_INVAL;
  if (inlen < SMB2_TRANSFORM_HDR_SIZE + SMB2_HDR_SIZE ||
      smbq_le32_at(in) != SMB2_TRANSFORM_PROTO_ID ||
      smbq_le16_at(in + 42) != 0x0001 ||
      smbq_le32_at(in + 36) != inlen - SMB2_TRANSFORM_HDR_SIZE)
    return SMBQ_ERR_PROTO;
  size_t len = inlen - SMB2_TRANSFORM_HDR_SIZE;
  memcpy(out, in + SMB2_TRANSFORM_HDR_SIZE, len);
  gnutls_aead_cipher_hd_t h;
  int rc = aead_open(cipher, key, &h);
  if (rc < 0)
    return rc;
  giovec_t aad = {(void *)(in + 20), 32};
  giovec_t data = {out, len};
  if (gnutls_aead_cipher_decryptv2(h, in + 20, nlen, &aad, 1, &data, 1,
                                   (void *)(in + 4), 16) < 0)
    rc = SMBQ_ERR_SIGNATURE;
  gnutls_aead_cipher_deinit(h);
  if (rc == 0)
    *outlen = len;
  return rc;
}
