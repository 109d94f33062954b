/* The encryption AEADs of MS-SMB2 3.1.4.3 / 3.2.5.1.1: AES-128/256-CCM
 * and AES-128/256-GCM with a 16-byte tag. What the associated data and
 * the nonce are (parts of the TRANSFORM_HEADER) is lib/smb2's business
 * (smb2_encrypt.c).
 *
 * No copies: both directions read the source and write the destination in
 * one pass, and may run in place. AES-GCM goes through GnuTLS's streaming
 * cipher API (its AES-NI/PCLMUL code). AES-CCM goes through nettle's
 * streaming CCM, because GnuTLS offers CCM only as an in-place AEAD that
 * would force one extra pass over the payload (measured: ~5% slower on
 * 8 MiB messages). */
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <nettle/ccm.h>
#include <nettle/memops.h>
#include <stdbool.h>
#include <string.h>

#include "crypto/smb2_crypto.h"
#include "smbq/smbq_err.h"
#include "smbq_bytes.h"

static gnutls_cipher_algorithm_t gcm_algo(uint16_t cipher) {
  return cipher == SMB2_CIPHER_AES256_GCM ? GNUTLS_CIPHER_AES_256_GCM
                                          : GNUTLS_CIPHER_AES_128_GCM;
}

static bool is_gcm(uint16_t cipher) {
  return cipher == SMB2_CIPHER_AES128_GCM ||
         cipher == SMB2_CIPHER_AES256_GCM;
}

/* One AEAD pass, fed in steps: every step but the last takes whole
 * 16-byte blocks (GnuTLS's GCM and nettle's CCM both finish a partial
 * block for good). */
struct aead_stream {
  uint16_t cipher;
  gnutls_cipher_hd_t gcm; /* AES-GCM: 12-byte nonce */
  union {                 /* AES-CCM (RFC 3610): 11-byte nonce */
    struct ccm_aes128_ctx c128;
    struct ccm_aes256_ctx c256;
  } ccm;
};

/* total: the length of the whole text (CCM puts it in its first block;
 * SMB2 keeps it below 4 GiB: OriginalMessageSize is 32-bit). */
static int stream_init(struct aead_stream *s, uint16_t cipher,
                       const uint8_t *key, const uint8_t *nonce,
                       const uint8_t *aad, size_t aadlen, size_t total) {
  s->cipher = cipher;
  s->gcm = NULL;
  if (is_gcm(cipher)) {
    gnutls_datum_t k = {(unsigned char *)key,
                        (unsigned)smb2_cipher_key_len(cipher)};
    gnutls_datum_t iv = {(unsigned char *)nonce,
                         (unsigned)smb2_cipher_nonce_len(cipher)};
    if (gnutls_cipher_init(&s->gcm, gcm_algo(cipher), &k, &iv) < 0) {
      s->gcm = NULL;
      return SMBQ_ERR_CRYPTO;
    }
    if (aadlen && gnutls_cipher_add_auth(s->gcm, aad, aadlen) < 0)
      return SMBQ_ERR_CRYPTO;
    return 0;
  }
  if (cipher == SMB2_CIPHER_AES256_CCM) {
    ccm_aes256_set_key(&s->ccm.c256, key);
    ccm_aes256_set_nonce(&s->ccm.c256, 11, nonce, aadlen, total,
                         SMB2_MAC_SIZE);
    if (aadlen)
      ccm_aes256_update(&s->ccm.c256, aadlen, aad);
  } else {
    ccm_aes128_set_key(&s->ccm.c128, key);
    ccm_aes128_set_nonce(&s->ccm.c128, 11, nonce, aadlen, total,
                         SMB2_MAC_SIZE);
    if (aadlen)
      ccm_aes128_update(&s->ccm.c128, aadlen, aad);
  }
  return 0;
}

static int stream_crypt(struct aead_stream *s, const uint8_t *src,
                        uint8_t *dst, size_t len, bool enc) {
  if (!len)
    return 0;
  if (s->gcm) {
    int rc = enc ? gnutls_cipher_encrypt2(s->gcm, src, len, dst, len)
                 : gnutls_cipher_decrypt2(s->gcm, src, len, dst, len);
    return rc < 0 ? SMBQ_ERR_CRYPTO : 0;
  }
  if (s->cipher == SMB2_CIPHER_AES256_CCM) {
    if (enc)
      ccm_aes256_encrypt(&s->ccm.c256, len, dst, src);
    else
      ccm_aes256_decrypt(&s->ccm.c256, len, dst, src);
  } else {
    if (enc)
      ccm_aes128_encrypt(&s->ccm.c128, len, dst, src);
    else
      ccm_aes128_decrypt(&s->ccm.c128, len, dst, src);
  }
  return 0;
}

static int stream_tag(struct aead_stream *s, uint8_t tag[SMB2_MAC_SIZE]) {
  if (s->gcm)
    return gnutls_cipher_tag(s->gcm, tag, SMB2_MAC_SIZE) < 0
               ? SMBQ_ERR_CRYPTO
               : 0;
  if (s->cipher == SMB2_CIPHER_AES256_CCM)
    ccm_aes256_digest(&s->ccm.c256, SMB2_MAC_SIZE, tag);
  else
    ccm_aes128_digest(&s->ccm.c128, SMB2_MAC_SIZE, tag);
  return 0;
}

static void stream_end(struct aead_stream *s) {
  if (s->gcm)
    gnutls_cipher_deinit(s->gcm);
  s->gcm = NULL;
  smbq_wipe(&s->ccm, sizeof(s->ccm));
}

static bool args_ok(uint16_t cipher, const uint8_t *key, const uint8_t *nonce,
                    const uint8_t *aad, size_t aadlen) {
  return smb2_cipher_nonce_len(cipher) && key && nonce && (aad || !aadlen);
}

/* Encrypt or decrypt src into dst (which may be src) and compute the tag
 * over the AAD and the ciphertext. */
static int aead_run(uint16_t cipher, const uint8_t *key, const uint8_t *nonce,
                    const uint8_t *aad, size_t aadlen, const uint8_t *src,
                    uint8_t *dst, size_t len, bool enc,
                    uint8_t tag[SMB2_MAC_SIZE]) {
  if (!args_ok(cipher, key, nonce, aad, aadlen) || !tag ||
      ((!src || !dst) && len))
    return SMBQ_ERR_INVAL;
  struct aead_stream s;
  int rc = stream_init(&s, cipher, key, nonce, aad, aadlen, len);
  if (rc == 0)
    rc = stream_crypt(&s, src, dst, len, enc);
  if (rc == 0)
    rc = stream_tag(&s, tag);
  stream_end(&s);
  return rc;
}

int smb2_aead_encrypt(uint16_t cipher, const uint8_t *key,
                      const uint8_t *nonce, const uint8_t *aad, size_t aadlen,
                      const uint8_t *src, uint8_t *dst, size_t len,
                      uint8_t tag[SMB2_MAC_SIZE]) {
  return aead_run(cipher, key, nonce, aad, aadlen, src, dst, len, true, tag);
}

int smb2_aead_decrypt(uint16_t cipher, const uint8_t *key,
                      const uint8_t *nonce, const uint8_t *aad, size_t aadlen,
                      const uint8_t *src, uint8_t *dst, size_t len,
                      const uint8_t tag[SMB2_MAC_SIZE]) {
  uint8_t want[SMB2_MAC_SIZE];
  if (!tag)
    return SMBQ_ERR_INVAL;
  int rc = aead_run(cipher, key, nonce, aad, aadlen, src, dst, len, false,
                    want);
  if (rc == SMBQ_ERR_INVAL)
    return rc;
  if (rc == 0 && !memeql_sec(want, tag, SMB2_MAC_SIZE))
    rc = SMBQ_ERR_SIGNATURE;
  if (rc < 0 && len)
    smbq_wipe(dst, len); /* never leave unauthenticated plaintext */
  return rc;
}

/* The pieces' bytes that make up one cipher block across pieces. */
struct straddle {
  uint8_t blk[16];
  uint8_t *at[16]; /* where each gathered run came from */
  size_t n[16];
  size_t runs, fill;
};

static size_t gather(struct straddle *b, uint8_t *p, size_t left) {
  size_t k = 16 - b->fill < left ? 16 - b->fill : left;
  memcpy(b->blk + b->fill, p, k);
  b->at[b->runs] = p;
  b->n[b->runs++] = k;
  b->fill += k;
  return k;
}

/* Decrypt the gathered (whole or, last, partial) block and put it back. */
static int scatter(struct aead_stream *s, struct straddle *b) {
  int rc = stream_crypt(s, b->blk, b->blk, b->fill, false);
  size_t off = 0;
  for (size_t i = 0; i < b->runs; i++) {
    memcpy(b->at[i], b->blk + off, b->n[i]);
    off += b->n[i];
  }
  smbq_wipe(b->blk, sizeof(b->blk));
  b->runs = b->fill = 0;
  return rc;
}

static int decrypt_pieces(struct aead_stream *s,
                          const struct smb2_crypto_iov *iov, size_t n) {
  struct straddle b = {.runs = 0, .fill = 0};
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < n; i++) {
    uint8_t *p = iov[i].data;
    size_t left = iov[i].len;
    while (rc == 0 && left) {
      if (b.fill || left < 16) { /* a block that continues elsewhere */
        size_t k = gather(&b, p, left);
        p += k;
        left -= k;
        if (b.fill == 16)
          rc = scatter(s, &b);
        continue;
      }
      size_t bulk = left & ~(size_t)15;
      rc = stream_crypt(s, p, p, bulk, false);
      p += bulk;
      left -= bulk;
    }
  }
  if (rc == 0 && b.fill)
    rc = scatter(s, &b); /* the last, partial block */
  return rc;
}

int smb2_aead_decrypt_iov(uint16_t cipher, const uint8_t *key,
                          const uint8_t *nonce, const uint8_t *aad,
                          size_t aadlen, const struct smb2_crypto_iov *iov,
                          size_t n, const uint8_t tag[SMB2_MAC_SIZE]) {
  if (!args_ok(cipher, key, nonce, aad, aadlen) || !tag || (!iov && n))
    return SMBQ_ERR_INVAL;
  size_t total = 0;
  for (size_t i = 0; i < n; i++) {
    if ((!iov[i].data && iov[i].len) || iov[i].len > SIZE_MAX - total)
      return SMBQ_ERR_INVAL;
    total += iov[i].len;
  }
  struct aead_stream s;
  uint8_t want[SMB2_MAC_SIZE];
  int rc = stream_init(&s, cipher, key, nonce, aad, aadlen, total);
  if (rc == 0)
    rc = decrypt_pieces(&s, iov, n);
  if (rc == 0)
    rc = stream_tag(&s, want);
  stream_end(&s);
  if (rc == 0 && !memeql_sec(want, tag, SMB2_MAC_SIZE))
    rc = SMBQ_ERR_SIGNATURE;
  if (rc < 0) /* never leave unauthenticated plaintext */
    for (size_t i = 0; i < n; i++)
      if (iov[i].len)
        smbq_wipe(iov[i].data, iov[i].len);
  return rc;
}

int smb2_aead_decrypt_prefix(uint16_t cipher, const uint8_t *key,
                             const uint8_t *nonce, const uint8_t *aad,
                             size_t aadlen, const uint8_t *src, uint8_t *dst,
                             size_t len, size_t total) {
  if (!args_ok(cipher, key, nonce, aad, aadlen) || len > total ||
      ((!src || !dst) && len))
    return SMBQ_ERR_INVAL;
  struct aead_stream s;
  int rc = stream_init(&s, cipher, key, nonce, aad, aadlen, total);
  if (rc == 0) /* one call: a partial last block is allowed */
    rc = stream_crypt(&s, src, dst, len, false);
  stream_end(&s);
  return rc;
}
