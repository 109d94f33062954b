/* libFuzzer harness: signature verification and decryption of what a
 * server sends (lib/smb2/smb2_sign.c, smb2_encrypt.c over lib/crypto),
 * with fixed keys.
 *
 * Input: one mode byte, then
 *   mode % 4 == 0: a message whose signature is verified with each
 *                  signing algorithm (HMAC-SHA256, AES-CMAC, AES-GMAC);
 *   mode % 4 == 1: a TRANSFORM_HEADER message decrypted with each cipher
 *                  (AES-128/256-CCM/GCM); a failed decryption must leave
 *                  only zeros behind;
 *   mode % 4 == 2: a plaintext (at least one SMB2 header) encrypted and
 *                  signed with the fixed keys, then one byte flipped (the
 *                  next input byte says which): the untouched message must
 *                  decrypt and verify to itself, the flipped one must not;
 *   mode % 4 == 3: a session key (16 bytes), a preauth hash (64 bytes)
 *                  and a message: keys derived for the dialect and cipher
 *                  bits 2-7 name, then the message signed, verified,
 *                  encrypted and decrypted with them. */
#include <stdbool.h>

#include "crypto/smb2_crypto.h"
#include "fuzz_util.h"
#include "smb2/smb2_hdr.h"
#include "smb2/smb2_secure.h"
#include "smbq/smbq_err.h"

static const uint8_t sign_key[16] = {0x5a, 0x21, 0x9c, 0x0e, 0x77, 0x42,
                                     0xd1, 0x08, 0x3f, 0xb6, 0x60, 0x15,
                                     0xe9, 0x2c, 0x84, 0x4b};
static const uint8_t enc_key[32] = {
    0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe, 0x01, 0x23, 0x45,
    0x67, 0x89, 0xab, 0xcd, 0xef, 0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5,
    0x96, 0x87, 0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0x0f};
static const uint16_t algs[] = {SMB2_SIGNING_HMAC_SHA256,
                                SMB2_SIGNING_AES_CMAC, SMB2_SIGNING_AES_GMAC};
static const uint16_t ciphers[] = {SMB2_CIPHER_AES128_CCM,
                                   SMB2_CIPHER_AES128_GCM,
                                   SMB2_CIPHER_AES256_CCM,
                                   SMB2_CIPHER_AES256_GCM};
static const uint16_t dialects[] = {SMB2_DIALECT_202, SMB2_DIALECT_210,
                                    SMB2_DIALECT_300, SMB2_DIALECT_302,
                                    SMB2_DIALECT_311};
#define N(a) (sizeof(a) / sizeof((a)[0]))

static void verify_all(const uint8_t *m, size_t n) {
  for (size_t i = 0; i < N(algs); i++)
    smb2_verify(algs[i], sign_key, m, n);
}

static bool all_zero(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i])
      return false;
  return true;
}

static void decrypt_all(const uint8_t *m, size_t n) {
  uint64_t sid;
  smb2_transform_session_id(m, n, &sid);
  size_t cap = n > SMB2_TRANSFORM_HDR_SIZE ? n - SMB2_TRANSFORM_HDR_SIZE : 1;
  for (size_t i = 0; i < N(ciphers); i++) {
    uint8_t *out = malloc(cap);
    if (!out)
      abort();
    memset(out, 0xEE, cap);
    size_t out_len = 0;
    int rc = smb2_decrypt(ciphers[i], enc_key, m, n, out, &out_len);
    if (rc == 0 && out_len != n - SMB2_TRANSFORM_HDR_SIZE)
      FUZZ_FAIL("decrypted %zu bytes of %zu", out_len, n);
    if (rc == SMBQ_ERR_SIGNATURE && !all_zero(out, cap))
      FUZZ_FAIL("unauthenticated plaintext left behind");
    free(out);
  }
}

/* Encrypt (and sign) msg with cipher/alg and the given keys, check that
 * it comes back, and that flipping byte `flip` of the frame is caught. */
static void round_trip(uint16_t cipher, const uint8_t *ekey, uint16_t alg,
                       const uint8_t *skey, const uint8_t *msg, size_t n,
                       size_t flip) {
  if (n < SMB2_HDR_SIZE)
    return;
  uint8_t *m = fuzz_dup(msg, n);
  size_t flen = SMB2_TRANSFORM_HDR_SIZE + n;
  uint8_t *frame = malloc(flen), *back = malloc(n);
  if (!frame || !back)
    abort();
  static const uint8_t nonce[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  if (smb2_sign(alg, skey, m, n) != 0)
    FUZZ_FAIL("signing failed");
  if (smb2_verify(alg, skey, m, n) != 0)
    FUZZ_FAIL("a message we signed does not verify");
  if (smb2_encrypt(cipher, ekey, 0x1122334455667788ULL, nonce, m, n,
                   frame) != 0)
    FUZZ_FAIL("encryption failed");
  size_t blen = 0;
  if (smb2_decrypt(cipher, ekey, frame, flen, back, &blen) != 0 ||
      blen != n || memcmp(back, m, n) != 0)
    FUZZ_FAIL("a frame we encrypted does not decrypt to itself");
  /* a flipped bit anywhere must be noticed: the protocol id, flags and
   * size are checked as values, the signature is the tag, and the rest of
   * the header (Nonce to SessionId, unused bytes included) is the AEAD's
   * associated data (2.2.41, 3.1.4.3) */
  size_t at = flip % flen;
  frame[at] ^= 0x01;
  if (smb2_decrypt(cipher, ekey, frame, flen, back, &blen) == 0)
    FUZZ_FAIL("a flipped byte at %zu went unnoticed", at);
  size_t mat = flip % n;
  if (mat < SMB2_SIG_OFFSET || mat >= SMB2_HDR_SIZE) {
    m[mat] ^= 0x01;
    if (smb2_verify(alg, skey, m, n) == 0)
      FUZZ_FAIL("a flipped byte at %zu kept the signature good", mat);
  }
  free(frame);
  free(back);
  free(m);
}

static void derived(uint8_t mode, struct fuzz_in *in) {
  size_t klen, plen, mlen;
  const uint8_t *key = fuzz_bytes(in, 16, &klen);
  const uint8_t *pre = fuzz_bytes(in, 64, &plen);
  if (klen < 16 || plen < 64)
    return;
  uint16_t dialect = dialects[(mode >> 2) % N(dialects)];
  uint16_t cipher = dialect >= SMB2_DIALECT_300
                        ? ciphers[(mode >> 5) % N(ciphers)]
                        : SMB2_CIPHER_NONE;
  if (dialect < SMB2_DIALECT_311 && cipher != SMB2_CIPHER_NONE)
    cipher = SMB2_CIPHER_AES128_CCM; /* 3.0.x know only this one */
  struct smb2_keys k;
  if (smb2_derive_keys(dialect, cipher, key, 16, pre, &k) != 0)
    FUZZ_FAIL("key derivation failed");
  uint16_t alg = dialect >= SMB2_DIALECT_300 ? SMB2_SIGNING_AES_CMAC
                                             : SMB2_SIGNING_HMAC_SHA256;
  const uint8_t *m = fuzz_bytes(in, in->n, &mlen);
  if (cipher) {
    round_trip(cipher, k.decrypt, alg, k.signing, m, mlen, mlen / 2);
  } else if (mlen >= SMB2_HDR_SIZE) {
    uint8_t *c = fuzz_dup(m, mlen);
    if (smb2_sign(alg, k.signing, c, mlen) != 0 ||
        smb2_verify(alg, k.signing, c, mlen) != 0)
      FUZZ_FAIL("a message we signed does not verify");
    free(c);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct fuzz_in in = {data, size};
  uint8_t mode = fuzz_u8(&in);
  switch (mode & 3) {
  case 0:
  case 1: {
    uint8_t *m = fuzz_dup(in.p, in.n);
    if (mode & 1)
      decrypt_all(m, in.n);
    else
      verify_all(m, in.n);
    free(m);
    break;
  }
  case 2: {
    uint8_t flip = fuzz_u8(&in);
    round_trip(ciphers[(mode >> 2) % N(ciphers)], enc_key,
               algs[(mode >> 4) % N(algs)], sign_key, in.p, in.n, flip);
    break;
  }
  default:
    derived(mode, &in);
    break;
  }
  return 0;
}
