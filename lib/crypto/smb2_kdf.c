/* SMB 3.x keys: preauth integrity hash (MS-SMB2 3.2.5.2, 3.3.5.4), the
 * SP800-108 KDF (3.1.4.2) and the session key schedule (3.2.5.3.1). */
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdbool.h>
#include <string.h>

#include "crypto/smb2_crypto.h"
#include "smbq/smbq_err.h"
#include "smbq_bytes.h"

/* Connection/Session.PreauthIntegrityHashValue = SHA-512(previous || msg),
 * MS-SMB2 3.2.5.2 (NEGOTIATE) and 3.2.5.3 (SESSION_SETUP). */
int smb2_preauth_update(uint8_t hash[SMB2_PREAUTH_HASH_SIZE],
                        const uint8_t *msg, size_t len) {
  gnutls_hash_hd_t h;
  if (!hash || (!msg && len))
    return SMBQ_ERR_INVAL;
  if (gnutls_hash_init(&h, GNUTLS_DIG_SHA512) < 0)
    return SMBQ_ERR_CRYPTO;
  int rc = gnutls_hash(h, hash, SMB2_PREAUTH_HASH_SIZE);
  if (rc >= 0 && len)
    rc = gnutls_hash(h, msg, len);
  gnutls_hash_deinit(h, hash);
  return rc < 0 ? SMBQ_ERR_CRYPTO : 0;
}

/* SP800-108 counter mode, PRF = HMAC-SHA256, r = 32 (MS-SMB2 3.1.4.2).
 * L is at most 256 bits, so one PRF block (i = 1) is all there is. */
int smb2_kdf(const uint8_t *key, size_t keylen, const uint8_t *label,
             size_t labellen, const uint8_t *ctx, size_t ctxlen, uint8_t *out,
             size_t outlen) {
  if ((outlen != 16 && outlen != 32) || !key || !keylen || !out ||
      (!label && labellen) || (!ctx && ctxlen))
    return SMBQ_ERR_INVAL;
  gnutls_hmac_hd_t h;
  uint8_t i[4], l[4], zero = 0, full[32];
  smbq_put_be32(i, 1);
  smbq_put_be32(l, (uint32_t)(outlen * 8));
  if (gnutls_hmac_init(&h, GNUTLS_MAC_SHA256, key, keylen) < 0)
    return SMBQ_ERR_CRYPTO;
  int rc = gnutls_hmac(h, i, sizeof(i));
  if (rc >= 0 && labellen)
    rc = gnutls_hmac(h, label, labellen);
  if (rc >= 0)
    rc = gnutls_hmac(h, &zero, 1);
  if (rc >= 0 && ctxlen)
    rc = gnutls_hmac(h, ctx, ctxlen);
  if (rc >= 0)
    rc = gnutls_hmac(h, l, sizeof(l));
  gnutls_hmac_deinit(h, full);
  if (rc >= 0)
    memcpy(out, full, outlen);
  smbq_wipe(full, sizeof(full));
  return rc < 0 ? SMBQ_ERR_CRYPTO : 0;
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

/* One derived key: its label and its 3.0/3.0.2 context (3.1.1 uses the
 * session's preauth hash as context). Labels and contexts include their
 * terminating NUL, as MS-SMB2 3.2.5.3.1 spells them ("SMB2AESCMAC\0"). */
struct kdf_label {
  const char *lbl;
  size_t lbl_len;
  const char *ctx30;
  size_t ctx30_len;
};

#define LBL(s) s, sizeof(s)

/* Order: signing, encryption (client to server), decryption. */
static const struct kdf_label labels_30[3] = {
    {LBL("SMB2AESCMAC"), LBL("SmbSign")},
    {LBL("SMB2AESCCM"), LBL("ServerIn ")},
    {LBL("SMB2AESCCM"), LBL("ServerOut")},
};

static const struct kdf_label labels_311[3] = {
    {LBL("SMBSigningKey"), NULL, 0},
    {LBL("SMBC2SCipherKey"), NULL, 0},
    {LBL("SMBS2CCipherKey"), NULL, 0},
};

#undef LBL

static int derive_one(const struct kdf_label *l, const uint8_t *preauth,
                      const uint8_t *ki, size_t ki_len, uint8_t *out,
                      size_t outlen) {
  const uint8_t *ctx = preauth ? preauth : (const uint8_t *)l->ctx30;
  size_t ctx_len = preauth ? SMB2_PREAUTH_HASH_SIZE : l->ctx30_len;
  return smb2_kdf(ki, ki_len, (const uint8_t *)l->lbl, l->lbl_len, ctx,
                  ctx_len, out, outlen);
}

/* 3.2.5.3.1: SigningKey always comes from the 16-byte SessionKey; the
 * cipher keys come from the FullSessionKey when the cipher is AES-256.
 * `preauth` is NULL for 3.0/3.0.2. */
static int derive_3x(const struct kdf_label *l, const uint8_t *preauth,
                     const uint8_t sk16[16], const uint8_t *full,
                     size_t full_len, size_t klen, struct smb2_keys *out) {
  const uint8_t *ki = klen == 32 ? full : sk16;
  size_t ki_len = klen == 32 ? full_len : 16;
  int rc = derive_one(&l[0], preauth, sk16, 16, out->signing,
                      sizeof(out->signing));
  if (rc == 0 && klen)
    rc = derive_one(&l[1], preauth, ki, ki_len, out->encrypt, klen);
  if (rc == 0 && klen)
    rc = derive_one(&l[2], preauth, ki, ki_len, out->decrypt, klen);
  return rc;
}

static int known_dialect(uint16_t d) {
  return d == SMB2_DIALECT_202 || d == SMB2_DIALECT_210 ||
         d == SMB2_DIALECT_300 || d == SMB2_DIALECT_302 ||
         d == SMB2_DIALECT_311;
}

int smb2_derive_keys(uint16_t dialect, uint16_t cipher,
                     const uint8_t *session_key, size_t session_key_len,
                     const uint8_t preauth[SMB2_PREAUTH_HASH_SIZE],
                     struct smb2_keys *out) {
  size_t klen = smb2_cipher_key_len(cipher);
  if (!out || !session_key || !session_key_len || !known_dialect(dialect) ||
      (cipher != SMB2_CIPHER_NONE && !klen) ||
      (dialect == SMB2_DIALECT_311 && !preauth))
    return SMBQ_ERR_INVAL;
  memset(out, 0, sizeof(*out));
  /* 3.2.5.3.1: Session.SessionKey is the first 16 bytes of the
   * authentication key, right-padded with zeros if it is shorter. */
  uint8_t sk16[16] = {0};
  memcpy(sk16, session_key, session_key_len < 16 ? session_key_len : 16);
  int rc = 0;
  if (dialect == SMB2_DIALECT_202 || dialect == SMB2_DIALECT_210) {
    memcpy(out->signing, sk16, sizeof(out->signing)); /* 3.1.4.1 */
  } else {
    out->cipher_key_len = klen;
    bool v311 = dialect == SMB2_DIALECT_311;
    rc = derive_3x(v311 ? labels_311 : labels_30, v311 ? preauth : NULL,
                   sk16, session_key, session_key_len, klen, out);
  }
  smbq_wipe(sk16, sizeof(sk16));
  if (rc < 0)
    smbq_wipe(out, sizeof(*out));
  return rc;
}
