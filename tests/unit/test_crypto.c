/* lib/crypto against Microsoft's published SMB 3.x vectors (Open
 * Specifications blog: "SMB 3.1.1 Pre-authentication integrity in
 * Windows 10", "Encryption in SMB 3.0: a protocol perspective", "SMB
 * 3.1.1 encryption in Windows 10"), plus round trips and tamper checks. */
#include <check.h>

#include "crypto/smb2_crypto.h"
#include "smbq/smbq_err.h"
#include "smbq_bytes.h"
#include "testutil.h"
#include "vectors.h"

/* Preauth hashes after the NEGOTIATE request and reply of vectors.h. */
static const char *pae1 =
    "DD94EFC5321BB618A2E208BA8920D2F422992526947A409B5037DE1E0FE8C7362B8C47"
    "122594CDE0CE26AA9DFC8BCDBDE0621957672623351A7540F1E54A0426";
static const char *pae2 =
    "324BFA92A4F3A190E466EBEA08D9C110DC88BFED758D9846ECC6F541CC1D02AE3C94A79F"
    "36011E997E13F841B91B50957AD07B19C8E2539C0B23FDAE09D2C513";

START_TEST(preauth_chain) {
  uint8_t h[64] = {0};
  size_t n;
  uint8_t *m = unhex(vec_negotiate_req, &n);
  ck_assert_int_eq(smb2_preauth_update(h, m, n), 0);
  ck_assert_mem_hex(h, pae1);
  free(m);
  m = unhex(vec_negotiate_rsp, &n);
  ck_assert_int_eq(smb2_preauth_update(h, m, n), 0);
  ck_assert_mem_hex(h, pae2);
  free(m);
}
END_TEST

START_TEST(signing_key_311) {
  /* same blog: final preauth hash and session key -> SigningKey */
  size_t n;
  uint8_t *sk = unhex("270E1BA896585EEB7AF3472D3B4C75A7", &n);
  uint8_t *pa = unhex(
      "0DD13628CC3ED218EF9DF9772D436D0887AB9814BFAE63A80AA845F36909DB792862"
      "2DDDAD522D9751640A459762C5A9D6BB084CBB3CE6BDADEF5D5BCE3C6C01",
      &n);
  struct smb2_keys k;
  ck_assert_int_eq(smb2_derive_keys(SMB2_DIALECT_311, 0, sk, 16, pa, &k), 0);
  ck_assert_mem_hex(k.signing, "73FE7A9A77BEF0BDE49C650D8CCB5F76");
  ck_assert_uint_eq(k.cipher_key_len, 0);
  free(sk);
  free(pa);
}
END_TEST

START_TEST(keys_300) {
  size_t n;
  uint8_t *sk = unhex("B4546771B515F766A86735532DD6C4F0", &n);
  struct smb2_keys k;
  ck_assert_int_eq(
      smb2_derive_keys(SMB2_DIALECT_300, SMB2_CIPHER_AES128_CCM, sk, 16,
                       NULL, &k),
      0);
  ck_assert_mem_hex(k.encrypt, "261B72350558F2E9DCF613070383EDBF");
  ck_assert_mem_hex(k.decrypt, "8FE2B57EC34D2DB5B1A9727F526BBDB5");
  free(sk);
}
END_TEST

START_TEST(decrypt_300_vector) {
  size_t n, klen;
  uint8_t *key = unhex("8FE2B57EC34D2DB5B1A9727F526BBDB5", &klen);
  uint8_t *in = unhex(
      "FD534D42A6015530A18F6D9AFFE22AFAE8E66484860000000000000011000014"
      "00E4080050000000000001001100001400E40800DBF46435C5F14169293CE079"
      "E344479BF670227E49873F4586 72C3098DAC467DD5809F369D6740916651578"
      "71483E01F7BECD02064EAC3E235F913668BBC2F097980D4B378F1993EFF6E60D1"
      "77309E5B",
      &n);
  uint8_t out[256];
  size_t outlen;
  uint64_t sid;
  ck_assert_int_eq(smb2_transform_session_id(in, n, &sid), 0);
  ck_assert_uint_eq(sid, 0x8e40014000011ULL);
  ck_assert_int_eq(
      smb2_decrypt(SMB2_CIPHER_AES128_CCM, key, in, n, out, &outlen), 0);
  ck_assert_uint_eq(outlen, 80);
  ck_assert_mem_hex(out,
                    "FE534D4240000100000000000900210009000000000000000400000000000000"
                    "FFFE0000010000001100001400E4080000000000000000000000000000000000"
                    "11000000170000000000000000000000");
  /* a flipped ciphertext bit fails authentication */
  in[n - 1] ^= 1;
  ck_assert_int_eq(
      smb2_decrypt(SMB2_CIPHER_AES128_CCM, key, in, n, out, &outlen),
      SMBQ_ERR_SIGNATURE);
  free(key);
  free(in);
}
END_TEST

START_TEST(encrypt_311_gcm_vector) {
  size_t n;
  uint8_t *sk = unhex("419FDDF34C1E001909D362AE7FB6AF79", &n);
  uint8_t *pa = unhex(
      "B23F3CBFD69487D9832B79B1594A367CDD950909B774C3A4C412B4FCEA9EDDDBA7DB"
      "256BA2EA30E977F11F9B113247578E0E915C6D2A513B8F2FCA5707DC8770",
      &n);
  struct smb2_keys k;
  ck_assert_int_eq(smb2_derive_keys(SMB2_DIALECT_311, SMB2_CIPHER_AES128_GCM,
                                    sk, 16, pa, &k),
                   0);
  ck_assert_mem_hex(k.encrypt, "A2F5E80E5D59103034F32E52F698E5EC");
  size_t plen, nlen;
  uint8_t *plain = unhex(
      "FE534D4240000100000000000900010008000000000000000500000000000000FFFE00"
      "000100000025000000001000000000000000000000000000000000000031007000170000"
      "000000000000000000060000000400000001000000040000000000000000000000700000"
      "0000000000536D623320656E6372797074696F6E2074657374696E67",
      &plen);
  uint8_t *nonce = unhex("C7D6822D269CAF48904C664C", &nlen);
  uint8_t out[256];
  ck_assert_int_eq(smb2_encrypt(SMB2_CIPHER_AES128_GCM, k.encrypt,
                                0x100000000025ULL, nonce, plain, plen, out),
                   0);
  ck_assert_mem_hex(
      out,
      "FD534D42BD73D97D2BC9001BCAFAC0FDFF5FEEBCC7D6822D269CAF48904C664C0000"
      "0000870000000000010025000000001000006ECDD2A7AFC7B47763057A041B8FD4DA"
      "FFE990B70C9E09D36C084E02D14EF247F8BDE38ACF6256F8B1D3B56F77FBDEB312FE"
      "A5E92CBCC1ED8FB2EBBFAA75E49A4A394BB44576545567C24D4C014D47C9FBDFDAFD"
      "2C4F9B72F8D256452620A299F48E29E53D6B61D1C13A19E91AF013F00D17E3ABC2FC"
      "3D36C8C1B6B93973253852DBD442E46EE8");
  free(sk);
  free(pa);
  free(plain);
  free(nonce);
}
END_TEST

START_TEST(round_trip_all_ciphers) {
  static const uint16_t ciphers[] = {
      SMB2_CIPHER_AES128_CCM, SMB2_CIPHER_AES128_GCM, SMB2_CIPHER_AES256_CCM,
      SMB2_CIPHER_AES256_GCM};
  uint8_t key[32], nonce[16] = {1, 2, 3}, msg[300], enc[400], dec[400];
  for (size_t i = 0; i < sizeof(key); i++)
    key[i] = (uint8_t)(i * 7);
  for (size_t i = 0; i < sizeof(msg); i++)
    msg[i] = (uint8_t)i;
  smbq_put_le32(msg, 0x424D53FE);
  for (size_t c = 0; c < 4; c++) {
    size_t outlen;
    ck_assert_int_eq(
        smb2_encrypt(ciphers[c], key, 42, nonce, msg, sizeof(msg), enc), 0);
    ck_assert_int_eq(smb2_decrypt(ciphers[c], key, enc, 52 + sizeof(msg),
                                  dec, &outlen),
                     0);
    ck_assert_uint_eq(outlen, sizeof(msg));
    ck_assert_mem_eq(dec, msg, sizeof(msg));
    /* tampering with the associated data (SessionId) is detected */
    enc[44] ^= 0x80;
    ck_assert_int_eq(smb2_decrypt(ciphers[c], key, enc, 52 + sizeof(msg),
                                  dec, &outlen),
                     SMBQ_ERR_SIGNATURE);
    enc[44] ^= 0x80;
    /* malformed headers are protocol errors */
    ck_assert_int_eq(smb2_decrypt(ciphers[c], key, enc, 52 + sizeof(msg) - 1,
                                  dec, &outlen),
                     SMBQ_ERR_PROTO);
    enc[42] = 2; /* Flags != 1 */
    ck_assert_int_eq(smb2_decrypt(ciphers[c], key, enc, 52 + sizeof(msg),
                                  dec, &outlen),
                     SMBQ_ERR_PROTO);
  }
}
END_TEST

START_TEST(sign_verify_all_algs) {
  uint8_t key[16], other[16], msg[120];
  memset(key, 0x3c, sizeof(key));
  memset(other, 0x3d, sizeof(other));
  for (size_t i = 0; i < sizeof(msg); i++)
    msg[i] = (uint8_t)(i * 3);
  for (uint16_t alg = 0; alg < 3; alg++) {
    ck_assert_int_eq(smb2_sign(alg, key, msg, sizeof(msg)), 0);
    ck_assert_int_eq(smb2_verify(alg, key, msg, sizeof(msg)), 0);
    ck_assert_int_eq(smb2_verify(alg, other, msg, sizeof(msg)),
                     SMBQ_ERR_SIGNATURE);
    msg[100] ^= 1;
    ck_assert_int_eq(smb2_verify(alg, key, msg, sizeof(msg)),
                     SMBQ_ERR_SIGNATURE);
    msg[100] ^= 1;
  }
  /* GMAC binds the message id (its nonce) */
  smb2_sign(SMB2_SIGNING_AES_GMAC, key, msg, sizeof(msg));
  msg[24] ^= 1;
  ck_assert_int_eq(smb2_verify(SMB2_SIGNING_AES_GMAC, key, msg, sizeof(msg)),
                   SMBQ_ERR_SIGNATURE);
  ck_assert_int_eq(smb2_sign(9, key, msg, sizeof(msg)), SMBQ_ERR_INVAL);
  ck_assert_int_eq(smb2_sign(0, key, msg, 10), SMBQ_ERR_PROTO);
}
END_TEST

START_TEST(kdf_lengths) {
  uint8_t out[32];
  const uint8_t k[16] = {0};
  ck_assert_int_eq(smb2_kdf(k, 16, (const uint8_t *)"a", 2,
                            (const uint8_t *)"b", 2, out, 16),
                   0);
  ck_assert_int_eq(smb2_kdf(k, 16, (const uint8_t *)"a", 2,
                            (const uint8_t *)"b", 2, out, 24),
                   SMBQ_ERR_INVAL);
  /* AES-256 keys are 32 bytes and differ from the 128-bit ones */
  struct smb2_keys k128, k256;
  uint8_t sk[32], pa[64] = {0};
  memset(sk, 0x11, sizeof(sk));
  smb2_derive_keys(SMB2_DIALECT_311, SMB2_CIPHER_AES128_GCM, sk, 16, pa,
                   &k128);
  smb2_derive_keys(SMB2_DIALECT_311, SMB2_CIPHER_AES256_GCM, sk, 32, pa,
                   &k256);
  ck_assert_uint_eq(k256.cipher_key_len, 32);
  ck_assert_mem_ne(k128.encrypt, k256.encrypt, 16);
  ck_assert_mem_eq(k128.signing, k256.signing, 16);
  /* 2.x signs with the session key itself */
  struct smb2_keys k2;
  smb2_derive_keys(SMB2_DIALECT_210, 0, sk, 16, NULL, &k2);
  ck_assert_mem_eq(k2.signing, sk, 16);
}
END_TEST

int main(void) {
  Suite *s = suite_create("crypto");
  TCase *tc = tcase_create("vectors");
  tcase_add_test(tc, preauth_chain);
  tcase_add_test(tc, signing_key_311);
  tcase_add_test(tc, keys_300);
  tcase_add_test(tc, decrypt_300_vector);
  tcase_add_test(tc, encrypt_311_gcm_vector);
  tcase_add_test(tc, round_trip_all_ciphers);
  tcase_add_test(tc, sign_verify_all_algs);
  tcase_add_test(tc, kdf_lengths);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
