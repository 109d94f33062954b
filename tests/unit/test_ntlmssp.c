/* NTLMSSP against MS-NLMP 4.2.4 (NTLMv2 with user "User", domain "Domain",
 * password "Password", server challenge 0123456789abcdef, client
 * challenge aa..aa, time 0, random session key 55..55), a full
 * NEGOTIATE/CHALLENGE/AUTHENTICATE flow, malformed challenges, and the
 * UTF-16 helpers. */
#include <check.h>
#include <gnutls/crypto.h>
#include <nettle/arcfour.h>

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

/* MS-NLMP 4.2.4: NbDomainName "Domain", NbComputerName "Server", EOL */
#define VEC_AVS                                                             \
  "02000c0044006f006d00610069006e00"                                        \
  "01000c00530065007200760065007200"
#define VEC_TS 0x01d0a0b0c0d0e0f0ull
#define VEC_TS_AV "07000800f0e0d0c0b0a0d001" /* MsvAvTimestamp VEC_TS */

/* A CHALLENGE_MESSAGE with the 4.2.4 server challenge and the given
 * TargetInfo. */
static uint8_t *make_challenge_ti(size_t *len, uint32_t flags,
                                  const char *ti_hex) {
  size_t til;
  uint8_t *ti = unhex(ti_hex, &til);
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

static uint8_t *make_challenge(size_t *len, uint32_t flags) {
  return make_challenge_ti(len, flags, VEC_AVS "00000000");
}

/* The i-th (len, maxlen, offset) field of an AUTHENTICATE_MESSAGE. */
static const uint8_t *auth_field(const uint8_t *auth, size_t auth_len, int i,
                                 size_t *len) {
  *len = smbq_le16_at(auth + 12 + 8 * i);
  uint32_t off = smbq_le32_at(auth + 16 + 8 * i);
  ck_assert_int_eq(smbq_check_range(auth_len, 88, off, *len), 0);
  return auth + off;
}

/* SIGNKEY/SEALKEY of MS-NLMP 3.4.5.2/3.4.5.3 for ExportedSessionKey
 * 55..55, computed here independently of the library. */
static void vec_subkey(const char *magic, uint8_t out[16]) {
  uint8_t buf[16 + 64];
  size_t ml = strlen(magic) + 1;
  memset(buf, 0x55, 16);
  memcpy(buf + 16, magic, ml);
  ck_assert_int_eq(gnutls_hash_fast(GNUTLS_DIG_MD5, buf, 16 + ml, out), 0);
}

static struct ntlmssp_ctx *run_flow(const struct ntlmssp_creds *cr,
                                    const uint8_t *chal, size_t chal_len,
                                    uint8_t **auth, size_t *auth_len) {
  struct ntlmssp_env env = {vec_random, vec_time, NULL};
  struct ntlmssp_ctx *c = ntlmssp_new(cr, &env);
  uint8_t *neg;
  size_t neg_len;
  ck_assert_ptr_nonnull(c);
  ck_assert_int_eq(ntlmssp_negotiate(c, &neg, &neg_len), 0);
  free(neg);
  ck_assert_int_eq(ntlmssp_authenticate(c, chal, chal_len, auth, auth_len),
                   0);
  return c;
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

START_TEST(lmv2_vector) {
  /* MS-NLMP 4.2.4.2.1 */
  uint8_t rk[16], lm[24];
  static const uint8_t sc[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
  uint8_t cc[8];
  memset(cc, 0xaa, 8);
  ntlm_ntowfv2("User", "Domain", "Password", rk);
  ck_assert_int_eq(ntlm_lmv2(rk, sc, cc, lm), 0);
  ck_assert_mem_hex(lm, "86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa");
}
END_TEST

/* MS-NLMP 4.2.4.4: the spec's keys, and its signature over "Plaintext".
 * The spec seals the 18 message bytes first, so its checksum RC4 starts at
 * keystream byte 18; ntlmssp_sign (no sealing) starts at byte 0. */
START_TEST(signature_vector) {
  uint8_t sign_key[16], seal_key[16], ks[26], zero[26] = {0};
  vec_subkey("session key to client-to-server signing key magic constant",
             sign_key);
  vec_subkey("session key to client-to-server sealing key magic constant",
             seal_key);
  ck_assert_mem_hex(sign_key, "4788dc861b4782f35d43fd98fe1a2d39");
  ck_assert_mem_hex(seal_key, "59f600973cc4960a25480a7c196e4c58");
  uint8_t *pt, mac[16];
  size_t ptl;
  ck_assert_int_eq(smbq_utf8_to_utf16le("Plaintext", &pt, &ptl), 0);
  ck_assert_uint_eq(ptl, 18);
  static const uint8_t seq0[4] = {0};
  ntlm_hmac_md5(sign_key, 16, seq0, 4, pt, ptl, mac);
  ck_assert_mem_hex(mac, "7035 2851 f256 4309");
  ntlm_rc4(seal_key, zero, sizeof(zero), ks); /* keystream */
  uint8_t want[16] = {1, 0, 0, 0}, spec_ck[8];
  for (int i = 0; i < 8; i++) {
    spec_ck[i] = mac[i] ^ ks[18 + i];
    want[4 + i] = mac[i] ^ ks[i];
  }
  ck_assert_mem_hex(spec_ck, "7fb38ec5c55d4976"); /* the spec's checksum */
  /* the library, after the 4.2.4 logon, over the same message */
  size_t chal_len;
  uint8_t *chal = make_challenge(&chal_len, CHAL_FLAGS), *auth, sig[16];
  size_t auth_len;
  struct ntlmssp_creds cr = {.user = "User", .domain = "Domain",
                             .password = "Password"};
  struct ntlmssp_ctx *c = run_flow(&cr, chal, chal_len, &auth, &auth_len);
  ck_assert_int_eq(ntlmssp_sign(c, pt, ptl, sig), 0);
  ck_assert_mem_eq(sig, want, 16);
  /* the second signature: seq 1, RC4 state carried over */
  static const uint8_t seq1[4] = {1, 0, 0, 0};
  ck_assert_int_eq(ntlmssp_sign(c, pt, ptl, sig), 0);
  ntlm_hmac_md5(sign_key, 16, seq1, 4, pt, ptl, mac);
  for (int i = 0; i < 8; i++)
    want[4 + i] = mac[i] ^ ks[8 + i];
  want[12] = 1;
  ck_assert_mem_eq(sig, want, 16);
  free(pt);
  free(auth);
  free(chal);
  ntlmssp_free(c);
}
END_TEST

/* A server-side signer, from the server-to-client keys. */
struct server_signer {
  uint8_t sign_key[16];
  struct arcfour_ctx rc4;
  uint32_t seq;
};

static void server_signer_init(struct server_signer *s) {
  uint8_t seal[16];
  vec_subkey("session key to server-to-client signing key magic constant",
             s->sign_key);
  vec_subkey("session key to server-to-client sealing key magic constant",
             seal);
  arcfour_set_key(&s->rc4, 16, seal);
  s->seq = 0;
}

static void server_sign(struct server_signer *s, const uint8_t *m, size_t n,
                        uint8_t sig[16]) {
  uint8_t seq[4], mac[16];
  smbq_put_le32(seq, s->seq++);
  ntlm_hmac_md5(s->sign_key, 16, seq, 4, m, n, mac);
  smbq_put_le32(sig, 1);
  arcfour_crypt(&s->rc4, 8, sig + 4, mac);
  memcpy(sig + 12, seq, 4);
}

START_TEST(verify_server_signatures) {
  size_t chal_len, auth_len;
  uint8_t *chal = make_challenge(&chal_len, CHAL_FLAGS), *auth, sig[16];
  struct ntlmssp_creds cr = {.user = "User", .domain = "Domain",
                             .password = "Password"};
  struct ntlmssp_ctx *c = run_flow(&cr, chal, chal_len, &auth, &auth_len);
  struct server_signer s;
  server_signer_init(&s);
  const uint8_t msg[] = "mechTypes";
  server_sign(&s, msg, sizeof(msg), sig);
  ck_assert_int_eq(ntlmssp_verify(c, msg, sizeof(msg), sig), 0);
  server_sign(&s, msg, sizeof(msg), sig);
  ck_assert_int_eq(ntlmssp_verify(c, msg, sizeof(msg), sig), 0);
  /* a replayed (old sequence) or altered signature fails */
  server_sign(&s, msg, sizeof(msg), sig);
  sig[5] ^= 1;
  ck_assert_int_eq(ntlmssp_verify(c, msg, sizeof(msg), sig),
                   SMBQ_ERR_SIGNATURE);
  free(auth);
  free(chal);
  ntlmssp_free(c);
}
END_TEST

/* Server timestamp present: it goes into the blob and LM is Z(24);
 * absent: env->filetime goes in and LM is the LMv2 response. MsvAvTarget
 * Name carries the SPN; the server's own MsvAvFlags bits are kept. */
START_TEST(timestamp_and_lm) {
  struct ntlmssp_creds cr = {.user = "User", .domain = "Domain",
                             .password = "Password",
                             .target_spn = "cifs/srv"};
  uint8_t rk[16], lmv2[24], cc[8], *auth;
  size_t chal_len, auth_len, n;
  memset(cc, 0xaa, 8);
  ntlm_ntowfv2("User", "Domain", "Password", rk);
  uint8_t *chal = make_challenge_ti(&chal_len, CHAL_FLAGS,
                                    VEC_AVS VEC_TS_AV "060004000100000000000000");
  struct ntlmssp_ctx *c = run_flow(&cr, chal, chal_len, &auth, &auth_len);
  const uint8_t *lm = auth_field(auth, auth_len, 0, &n);
  static const uint8_t z24[24];
  ck_assert_uint_eq(n, 24);
  ck_assert_mem_eq(lm, z24, 24);
  const uint8_t *nt = auth_field(auth, auth_len, 1, &n);
  ck_assert_uint_eq(smbq_le64_at(nt + 16 + 8), VEC_TS);
  const uint8_t flags_av[8] = {6, 0, 4, 0, 3, 0, 0, 0}; /* server's 1 | MIC */
  ck_assert_ptr_nonnull(memmem(nt, n, flags_av, 8));
  size_t spn_len;
  uint8_t *spn;
  smbq_utf8_to_utf16le("cifs/srv", &spn, &spn_len);
  uint8_t spn_av[4 + 16] = {9, 0, (uint8_t)spn_len, 0};
  memcpy(spn_av + 4, spn, spn_len);
  ck_assert_ptr_nonnull(memmem(nt, n, spn_av, 4 + spn_len));
  const uint8_t cb_av[4] = {10, 0, 16, 0};
  ck_assert_ptr_nonnull(memmem(nt, n, cb_av, 4));
  free(spn);
  free(auth);
  free(chal);
  ntlmssp_free(c);

  chal = make_challenge(&chal_len, CHAL_FLAGS);
  cr.target_spn = NULL;
  c = run_flow(&cr, chal, chal_len, &auth, &auth_len);
  lm = auth_field(auth, auth_len, 0, &n);
  ntlm_lmv2(rk, chal + 24, cc, lmv2);
  ck_assert_uint_eq(n, 24);
  ck_assert_mem_eq(lm, lmv2, 24);
  nt = auth_field(auth, auth_len, 1, &n);
  ck_assert_uint_eq(smbq_le64_at(nt + 16 + 8), 0); /* vec_time */
  /* names: domain, user, empty workstation; Version present */
  const uint8_t *user = auth_field(auth, auth_len, 3, &n);
  ck_assert_uint_eq(n, 8);
  ck_assert_mem_eq(user, "U\0s\0e\0r\0", 8);
  auth_field(auth, auth_len, 4, &n);
  ck_assert_uint_eq(n, 0);
  ck_assert_uint_ne(smbq_le32_at(auth + 60) & 0x02000000u, 0);
  ck_assert_uint_eq(auth[71], 15); /* NTLMSSP_REVISION_W2K3 */
  free(auth);
  free(chal);
  ntlmssp_free(c);
}
END_TEST

START_TEST(anonymous) {
  struct ntlmssp_creds cr = {.user = "", .password = ""};
  size_t chal_len, auth_len, n;
  uint8_t *chal = make_challenge(&chal_len, CHAL_FLAGS), *auth, key[16],
          sig[16];
  struct ntlmssp_ctx *c = run_flow(&cr, chal, chal_len, &auth, &auth_len);
  const uint8_t *lm = auth_field(auth, auth_len, 0, &n);
  ck_assert_uint_eq(n, 1);
  ck_assert_uint_eq(lm[0], 0);
  for (int i = 1; i < 6; i++) {
    auth_field(auth, auth_len, i, &n);
    ck_assert_uint_eq(n, 0);
  }
  ck_assert_uint_ne(smbq_le32_at(auth + 60) & 0x00000800u, 0);
  /* no key to exchange: no KEY_EXCH with an empty session key field */
  ck_assert_uint_eq(smbq_le32_at(auth + 60) & 0x40000000u, 0);
  ck_assert_int_eq(ntlmssp_session_key(c, key), SMBQ_ERR_INVAL);
  ck_assert_int_eq(ntlmssp_sign(c, chal, 4, sig), SMBQ_ERR_INVAL);
  free(auth);
  free(chal);
  ntlmssp_free(c);
}
END_TEST

START_TEST(more_malformed_challenges) {
  size_t len;
  uint8_t *m = make_challenge(&len, CHAL_FLAGS);
  smbq_put_le16(m + 12, 4);                                 /* TargetName */
  smbq_put_le32(m + 16, (uint32_t)len - 2);                 /* past end */
  ck_assert_int_eq(try_challenge(m, len), SMBQ_ERR_PROTO);
  smbq_put_le32(m + 16, 8);                                 /* in fixed part */
  ck_assert_int_eq(try_challenge(m, len), SMBQ_ERR_PROTO);
  smbq_put_le32(m + 16, 0xFFFFFFFEu);                       /* wraps */
  ck_assert_int_eq(try_challenge(m, len), SMBQ_ERR_PROTO);
  smbq_put_le16(m + 12, 0);
  smbq_put_le16(m + 40, 2);                                 /* half AV hdr */
  ck_assert_int_eq(try_challenge(m, len), SMBQ_ERR_PROTO);
  smbq_put_le16(m + 40, (uint16_t)(len - 56));
  ck_assert_int_eq(try_challenge(m, len), 0);               /* restored */
  /* every truncation is rejected, and never read past the end (ASan) */
  for (size_t cut = 0; cut < len; cut++) {
    uint8_t *t = malloc(cut ? cut : 1);
    memcpy(t, m, cut);
    ck_assert_int_eq(try_challenge(t, cut), SMBQ_ERR_PROTO);
    free(t);
  }
  free(m);
  /* no target info, OEM-only, no 128-bit: unsupported */
  static const uint32_t drop[] = {0x00800000u, 0x00000001u, 0x20000000u};
  for (size_t i = 0; i < 3; i++) {
    m = make_challenge(&len, CHAL_FLAGS & ~drop[i]);
    ck_assert_int_eq(try_challenge(m, len), SMBQ_ERR_UNSUPPORTED);
    free(m);
  }
  /* AUTHENTICATE before NEGOTIATE */
  struct ntlmssp_ctx *c = vec_ctx();
  uint8_t *out = (uint8_t *)1;
  m = make_challenge(&len, CHAL_FLAGS);
  ck_assert_int_eq(ntlmssp_authenticate(c, m, len, &out, &len),
                   SMBQ_ERR_INVAL);
  ck_assert_ptr_null(out);
  free(m);
  ntlmssp_free(c);
}
END_TEST

START_TEST(ntowfv2_upcase) {
  uint8_t a[16], b[16];
  static const char *pairs[][2] = {
      {"j\xc3\xb6rg", "J\xc3\x96RG"},                  /* Latin-1 */
      {"\xc5\x82ukasz", "\xc5\x81UKASZ"},              /* Latin Ext-A */
      {"\xd0\xb8\xd0\xb2\xd0\xb0\xd0\xbd",
       "\xd0\x98\xd0\x92\xd0\x90\xd0\x9d"},          /* Cyrillic */
      {"\xce\xb1\xce\xbd\xce\xbd\xce\xb1",
       "\xce\x91\xce\x9d\xce\x9d\xce\x91"},          /* Greek */
  };
  for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
    ck_assert_int_eq(ntlm_ntowfv2(pairs[i][0], "D", "pw", a), 0);
    ck_assert_int_eq(ntlm_ntowfv2(pairs[i][1], "D", "pw", b), 0);
    ck_assert_mem_eq(a, b, 16);
  }
  /* invalid UTF-8 credentials are refused */
  ck_assert_int_eq(ntlm_ntowfv2("\xff", "D", "pw", a), SMBQ_ERR_INVAL);
}
END_TEST

START_TEST(utf16_exact) {
  uint8_t *u;
  size_t ul;
  char *back;
  /* U+1F600 -> D83D DE00; U+10FFFF -> DBFF DFFF; U+FFFF stays BMP */
  ck_assert_int_eq(smbq_utf8_to_utf16le("\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf"
                                        "\xef\xbf\xbf", &u, &ul), 0);
  ck_assert_uint_eq(ul, 10);
  ck_assert_mem_hex(u, "3dd800de ffdbffdf ffff");
  ck_assert_int_eq(smbq_utf16le_to_utf8(u, ul, &back), 0);
  ck_assert_str_eq(back, "\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\xef\xbf\xbf");
  free(back);
  free(u);
  static const char *bad[] = {
      "\xf4\x90\x80\x80", /* above U+10FFFF */
      "\xf8\x88\x80\x80\x80", /* 5-byte form */
      "\x80", "a\xbf",      /* stray continuation bytes */
      "\xe0\x80\xaf",      /* overlong 3-byte */
      "\xf0\x8f\xbf\xbf", /* overlong 4-byte */
      "\xf0\x9f\x98",      /* truncated 4-byte */
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    ck_assert_int_eq(smbq_utf8_to_utf16le(bad[i], &u, &ul), SMBQ_ERR_INVAL);
  /* reversed pair, high surrogate followed by a BMP char, embedded NUL */
  static const char *bad16[] = {"00de3dd8", "3dd84100", "41000000"};
  for (size_t i = 0; i < 3; i++) {
    uint8_t *in = unhex(bad16[i], &ul);
    ck_assert_int_eq(smbq_utf16le_to_utf8(in, ul, &back), SMBQ_ERR_PROTO);
    free(in);
  }
  ck_assert_int_eq(smbq_utf16le_to_utf8(NULL, 0, &back), 0);
  ck_assert_str_eq(back, "");
  free(back);
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
  tcase_add_test(tc, lmv2_vector);
  tcase_add_test(tc, signature_vector);
  tcase_add_test(tc, verify_server_signatures);
  tcase_add_test(tc, timestamp_and_lm);
  tcase_add_test(tc, anonymous);
  tcase_add_test(tc, more_malformed_challenges);
  tcase_add_test(tc, ntowfv2_upcase);
  tcase_add_test(tc, utf16_exact);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
