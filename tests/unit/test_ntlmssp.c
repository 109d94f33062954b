/* NTLMSSP against MS-NLMP 4.2.4 (NTLMv2 with user "User", domain "Domain",
 * password "Password", server challenge 0123456789abcdef, client
 * challenge aa..aa, time 0, random session key 55..55), a full
 * NEGOTIATE/CHALLENGE/AUTHENTICATE flow, malformed challenges, and the
 * UTF-16 helpers. */
#include <check.h>

#include "auth/ntlmssp.h"
#include "auth/ntlmssp_internal.h"
#include "smbq/smbq_err.h"
#include "smbq_bytes.h"
#include "smbq_utf16.h"
#include "testutil.h"

/* MS-NLMP 4.2.4.1.3 temp (AV pairs: NbDomainName "Domain", NbComputerName
 * "Server") */
static const char *vec_temp =
    "01010000000000000000000000000000aaaaaaaaaaaaaaaa00000000"
    "02000c0044006f006d00610069006e0001000c0053006500720076006500720000000000"
    "00000000";

START_TEST(ntowfv2_vector) {
  uint8_t k[16];
  ck_assert_int_eq(ntlm_ntowfv2("User", "Domain", "Password", k), 0);
  ck_assert_mem_hex(k, "0c868a403bfd7a93a3001ef22ef02e3f");
  /* the user name is case-insensitive, the domain is not */
  uint8_t k2[16];
  ntlm_ntowfv2("user", "Domain", "Password", k2);
  ck_assert_mem_eq(k, k2, 16);
  ntlm_ntowfv2("User", "DOMAIN", "Password", k2);
  ck_assert_mem_ne(k, k2, 16);
}
END_TEST

START_TEST(proof_and_session_key_vector) {
  uint8_t rk[16], proof[16], base[16], enc[16], exported[16];
  size_t tl, scl;
  uint8_t *temp = unhex(vec_temp, &tl);
  uint8_t *sc = unhex("0123456789abcdef", &scl);
  ntlm_ntowfv2("User", "Domain", "Password", rk);
  ck_assert_int_eq(ntlm_proof(rk, sc, temp, tl, proof), 0);
  ck_assert_mem_hex(proof, "68cd0ab851e51c96aabc927bebef6a1c");
  ntlm_hmac_md5(rk, 16, proof, 16, NULL, 0, base);
  ck_assert_mem_hex(base, "8de40ccadbc14a82f15cb0ad0de95ca3");
  memset(exported, 0x55, 16);
  ntlm_rc4(base, exported, 16, enc);
  ck_assert_mem_hex(enc, "c5dad2544fc9799094ce1ce90bc9d03e");
  free(temp);
  free(sc);
}
END_TEST

static int vec_random(void *user, uint8_t *buf, size_t n) {
  (void)user;
  memset(buf, n == 8 ? 0xaa : 0x55, n); /* client challenge / session key */
  return 0;
}

static uint64_t vec_time(void *user) {
  (void)user;
  return 0;
}

/* A CHALLENGE_MESSAGE with the 4.2.4 server challenge and AV pairs. */
static uint8_t *make_challenge(size_t *len, uint32_t flags) {
  size_t til;
  uint8_t *ti = unhex(
      "02000c0044006f006d00610069006e00"
      "01000c00530065007200760065007200"
      "00000000",
      &til);
  size_t n = 56 + til;
  uint8_t *m = calloc(1, n), *p = m;
  p = smbq_put_bytes(p, "NTLMSSP", 8);
  p = smbq_put_le32(p, 2);
  p = smbq_put_le16(p, 0); /* TargetName: empty */
  p = smbq_put_le16(p, 0);
  p = smbq_put_le32(p, 56);
  p = smbq_put_le32(p, flags);
  static const uint8_t sc[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
  p = smbq_put_bytes(p, sc, 8);
  p = smbq_put_zero(p, 8);
  p = smbq_put_le16(p, (uint16_t)til);
  p = smbq_put_le16(p, (uint16_t)til);
  p = smbq_put_le32(p, 56);
  p = smbq_put_zero(p, 8); /* version */
  memcpy(p, ti, til);
  free(ti);
  *len = n;
  return m;
}

#define CHAL_FLAGS 0xE28A8235u /* UNICODE SIGN SEAL NTLM ALWAYS_SIGN ESS
                                  TARGET_INFO VERSION 128 KEY_EXCH 56 */

static struct ntlmssp_ctx *vec_ctx(void) {
  struct ntlmssp_creds cr = {.user = "User", .domain = "Domain",
                             .password = "Password"};
  struct ntlmssp_env env = {vec_random, vec_time, NULL};
  return ntlmssp_new(&cr, &env);
}

START_TEST(full_flow) {
  struct ntlmssp_ctx *c = vec_ctx();
  uint8_t *neg, *auth;
  size_t neg_len, auth_len, chal_len;
  ck_assert_int_eq(ntlmssp_negotiate(c, &neg, &neg_len), 0);
  ck_assert_uint_eq(neg_len, 40);
  ck_assert_mem_eq(neg, "NTLMSSP\0\x01\0\0\0", 12);
  uint8_t *chal = make_challenge(&chal_len, CHAL_FLAGS);
  ck_assert_int_eq(ntlmssp_authenticate(c, chal, chal_len, &auth, &auth_len),
                   0);
  ck_assert_uint_eq(smbq_le32_at(auth + 8), 3);
  /* NtChallengeResponse = NTProofStr || temp, with our AV pairs added */
  uint16_t nt_len = smbq_le16_at(auth + 20);
  uint32_t nt_off = smbq_le32_at(auth + 24);
  ck_assert_uint_le(nt_off + nt_len, auth_len);
  uint8_t rk[16], proof[16];
  ntlm_ntowfv2("User", "Domain", "Password", rk);
  ntlm_proof(rk, chal + 24, auth + nt_off + 16, nt_len - 16u, proof);
  ck_assert_mem_eq(auth + nt_off, proof, 16);
  /* temp carries MsvAvFlags with MIC-present */
  const uint8_t flags_av[8] = {6, 0, 4, 0, 2, 0, 0, 0};
  ck_assert_ptr_nonnull(memmem(auth + nt_off, nt_len, flags_av, 8));
  /* LmChallengeResponse: 24 bytes */
  ck_assert_uint_eq(smbq_le16_at(auth + 12), 24);
  /* EncryptedRandomSessionKey = RC4(SessionBaseKey, 55..55) */
  uint16_t k_len = smbq_le16_at(auth + 52);
  uint32_t k_off = smbq_le32_at(auth + 56);
  ck_assert_uint_eq(k_len, 16);
  uint8_t base[16], enc[16], exported[16];
  ntlm_hmac_md5(rk, 16, proof, 16, NULL, 0, base);
  memset(exported, 0x55, 16);
  ntlm_rc4(base, exported, 16, enc);
  ck_assert_mem_eq(auth + k_off, enc, 16);
  /* MIC = HMAC_MD5(ExportedSessionKey, NEG || CHAL || AUTH(MIC=0)) */
  uint8_t mic[16], zmic[16];
  memcpy(mic, auth + 72, 16);
  memset(auth + 72, 0, 16);
  uint8_t *all = malloc(neg_len + chal_len + auth_len);
  memcpy(all, neg, neg_len);
  memcpy(all + neg_len, chal, chal_len);
  memcpy(all + neg_len + chal_len, auth, auth_len);
  ntlm_hmac_md5(exported, 16, all, neg_len + chal_len + auth_len, NULL, 0,
                zmic);
  ck_assert_mem_eq(mic, zmic, 16);
  /* session key and the 3.4.4.2 signature (reference computed with an
   * independent Python implementation of MS-NLMP 3.4.4.2; its signing and
   * sealing keys equal MS-NLMP 4.2.4's 4788dc86.. and 59f60097..) */
  uint8_t key[16], sig[16];
  ck_assert_int_eq(ntlmssp_session_key(c, key), 0);
  ck_assert_mem_eq(key, exported, 16);
  uint8_t *pt;
  size_t ptl;
  smbq_utf8_to_utf16le("Plaintext", &pt, &ptl);
  ck_assert_int_eq(ntlmssp_sign(c, pt, ptl, sig), 0);
  ck_assert_mem_hex(sig, "0100000074d045342c4f1cd500000000");
  /* a server signature made with the client key does not verify */
  ck_assert_int_eq(ntlmssp_verify(c, pt, ptl, sig), SMBQ_ERR_SIGNATURE);
  free(pt);
  free(all);
  free(neg);
  free(auth);
  free(chal);
  ntlmssp_free(c);
}
END_TEST

static int try_challenge(uint8_t *chal, size_t len) {
  struct ntlmssp_ctx *c = vec_ctx();
  uint8_t *neg, *auth = NULL;
  size_t nl, al;
  ntlmssp_negotiate(c, &neg, &nl);
  int rc = ntlmssp_authenticate(c, chal, len, &auth, &al);
  free(neg);
  free(auth);
  ntlmssp_free(c);
  return rc;
}

START_TEST(malformed_challenges) {
  size_t len;
  uint8_t *m = make_challenge(&len, CHAL_FLAGS);
  ck_assert_int_eq(try_challenge(m, 47), SMBQ_ERR_PROTO);   /* truncated */
  m[0] = 'X';
  ck_assert_int_eq(try_challenge(m, len), SMBQ_ERR_PROTO);  /* signature */
  m[0] = 'N';
  smbq_put_le32(m + 8, 3);
  ck_assert_int_eq(try_challenge(m, len), SMBQ_ERR_PROTO);  /* type */
  smbq_put_le32(m + 8, 2);
  smbq_put_le32(m + 44, (uint32_t)len);                     /* TI past end */
  ck_assert_int_eq(try_challenge(m, len), SMBQ_ERR_PROTO);
  smbq_put_le32(m + 44, 0xFFFFFFF0u);                       /* overflow */
  ck_assert_int_eq(try_challenge(m, len), SMBQ_ERR_PROTO);
  smbq_put_le32(m + 44, 56);
  smbq_put_le16(m + 40, (uint16_t)(len - 56 - 4));          /* no EOL */
  ck_assert_int_eq(try_challenge(m, len), SMBQ_ERR_PROTO);
  smbq_put_le16(m + 40, (uint16_t)(len - 56));
  smbq_put_le16(m + 58, 0x7FFF);                            /* AV overrun */
  ck_assert_int_eq(try_challenge(m, len), SMBQ_ERR_PROTO);
  free(m);
  /* NTLMv1-only server: no extended session security */
  m = make_challenge(&len, CHAL_FLAGS & ~0x00080000u);
  ck_assert_int_eq(try_challenge(m, len), SMBQ_ERR_UNSUPPORTED);
  free(m);
}
END_TEST

START_TEST(utf16_round_trips) {
  const char *s = "Ab-résumé-日本-😀";
  uint8_t *u;
  size_t ul;
  char *back;
  ck_assert_int_eq(smbq_utf8_to_utf16le(s, &u, &ul), 0);
  ck_assert_uint_eq(ul, 2 * 13 + 4); /* 13 BMP units + one surrogate pair */
  ck_assert_int_eq(smbq_utf16le_to_utf8(u, ul, &back), 0);
  ck_assert_str_eq(back, s);
  free(back);
  /* lone high surrogate, lone low surrogate, odd length */
  ck_assert_int_eq(smbq_utf16le_to_utf8(u + ul - 4, 2, &back),
                   SMBQ_ERR_PROTO);
  ck_assert_int_eq(smbq_utf16le_to_utf8(u + ul - 2, 2, &back),
                   SMBQ_ERR_PROTO);
  ck_assert_int_eq(smbq_utf16le_to_utf8(u, 3, &back), SMBQ_ERR_PROTO);
  free(u);
  /* invalid UTF-8: overlong, truncated, surrogate code point */
  ck_assert_int_eq(smbq_utf8_to_utf16le("\xc0\xaf", &u, &ul), SMBQ_ERR_INVAL);
  ck_assert_int_eq(smbq_utf8_to_utf16le("\xe6\x97", &u, &ul), SMBQ_ERR_INVAL);
  ck_assert_int_eq(smbq_utf8_to_utf16le("\xed\xa0\x80", &u, &ul),
                   SMBQ_ERR_INVAL);
  ck_assert_int_eq(smbq_utf8_to_utf16le("", &u, &ul), 0);
  ck_assert_uint_eq(ul, 0);
  free(u);
}
END_TEST

int main(void) {
  Suite *s = suite_create("ntlmssp");
  TCase *tc = tcase_create("ntlmssp");
  tcase_add_test(tc, ntowfv2_vector);
  tcase_add_test(tc, proof_and_session_key_vector);
  tcase_add_test(tc, full_flow);
  tcase_add_test(tc, malformed_challenges);
  tcase_add_test(tc, utf16_round_trips);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
