/* SPNEGO DER: tokens we build, a real Windows negTokenInit2 hint, server
 * replies, and malformed DER. */
#include <check.h>

#include "auth/spnego.h"
#include "smbq/smbq_err.h"
#include "smbq_bytes.h"
#include "testutil.h"
#include "vectors.h"

START_TEST(init_token_layout) {
  static const enum spnego_mech mechs[] = {SPNEGO_MECH_NTLMSSP};
  const uint8_t tok[3] = {1, 2, 3};
  uint8_t *out, *mt;
  size_t len, mtl;
  ck_assert_int_eq(spnego_build_init(mechs, 1, tok, 3, &out, &len, &mt, &mtl),
                   0);
  /* [APPLICATION 0] { OID spnego, [0] { SEQ { [0] mechTypes, [2] tok } } } */
  ck_assert_mem_hex(out, "602306062b0601050502a0193017a00e300c060a2b0601040182"
                         "3702020aa2050403010203");
  ck_assert_uint_eq(len, 0x25);
  ck_assert_mem_hex(mt, "300c060a2b06010401823702020a");
  ck_assert_uint_eq(mtl, 14);
  /* the hint parser reads our own token's mech list back */
  struct spnego_init_hint h;
  ck_assert_int_eq(spnego_parse_hint(out, len, &h), 0);
  ck_assert_uint_eq(h.n_mechs, 1);
  ck_assert_int_eq(h.mechs[0], SPNEGO_MECH_NTLMSSP);
  free(out);
  free(mt);
}
END_TEST

START_TEST(windows_hint) {
  size_t n;
  uint8_t *rsp = unhex(vec_negotiate_rsp, &n);
  uint16_t off = smbq_le16_at(rsp + 64 + 56), len = smbq_le16_at(rsp + 64 + 58);
  struct spnego_init_hint h;
  ck_assert_int_eq(spnego_parse_hint(rsp + off, len, &h), 0);
  /* NEGOEX (unknown to us) is skipped; NTLMSSP remains */
  ck_assert_uint_eq(h.n_mechs, 1);
  ck_assert_int_eq(h.mechs[0], SPNEGO_MECH_NTLMSSP);
  /* every truncation of it is rejected, never over-read */
  for (size_t cut = 1; cut < len; cut += 7)
    ck_assert_int_eq(spnego_parse_hint(rsp + off, len - cut, &h),
                     SMBQ_ERR_PROTO);
  ck_assert_int_eq(spnego_parse_hint(NULL, 0, &h), 0);
  ck_assert_uint_eq(h.n_mechs, 0);
  free(rsp);
}
END_TEST

START_TEST(resp_round_trip) {
  uint8_t tok[300], mic[16];
  memset(tok, 0xab, sizeof(tok));
  memset(mic, 0xcd, sizeof(mic));
  uint8_t *out;
  size_t len;
  ck_assert_int_eq(spnego_build_resp(tok, sizeof(tok), mic, 16, &out, &len),
                   0);
  ck_assert_uint_eq(out[0], 0xa1);
  ck_assert_uint_eq(out[1], 0x82); /* long-form length */
  struct spnego_resp r;
  ck_assert_int_eq(spnego_parse_resp(out, len, &r), 0);
  ck_assert_int_eq(r.state, SPNEGO_STATE_ABSENT);
  ck_assert_uint_eq(r.token_len, sizeof(tok));
  ck_assert_mem_eq(r.token, tok, sizeof(tok));
  ck_assert_uint_eq(r.mic_len, 16);
  ck_assert_mem_eq(r.mic, mic, 16);
  free(out);
}
END_TEST

START_TEST(server_resp) {
  /* negTokenResp { accept-incomplete, NTLMSSP, token aabb } */
  size_t n;
  uint8_t *in = unhex("a11b3019a0030a0101a10c060a2b06010401823702020a"
                      "a2040402aabb",
                      &n);
  struct spnego_resp r;
  ck_assert_int_eq(spnego_parse_resp(in, n, &r), 0);
  ck_assert_int_eq(r.state, SPNEGO_ACCEPT_INCOMPLETE);
  ck_assert_int_eq(r.supported_mech, SPNEGO_MECH_NTLMSSP);
  ck_assert_uint_eq(r.token_len, 2);
  ck_assert_ptr_null(r.mic);
  free(in);
}
END_TEST

START_TEST(malformed_der) {
  struct spnego_resp r;
  size_t n;
  static const char *bad[] = {
      "a1",                      /* no length */
      "a105300330",              /* inner length past end */
      "a180",                    /* indefinite length */
      "a185ffffffffff",          /* 5 length bytes */
      "a18400000010300e",        /* declared 16, have 2 */
      "a2033001",                /* wrong outer tag */
      "a1053003a0010a",          /* negState without its value */
      "a1083006a0030a0109",      /* negState out of range */
      "a1083006a9030a0100",      /* unknown field */
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    uint8_t *in = unhex(bad[i], &n);
    ck_assert_msg(spnego_parse_resp(in, n, &r) == SMBQ_ERR_PROTO, "%s",
                  bad[i]);
    free(in);
  }
  struct spnego_init_hint h;
  uint8_t *in = unhex("6006060500000000", &n); /* wrong OID */
  ck_assert_int_eq(spnego_parse_hint(in, n, &h), SMBQ_ERR_PROTO);
  free(in);
}
END_TEST

int main(void) {
  Suite *s = suite_create("spnego");
  TCase *tc = tcase_create("spnego");
  tcase_add_test(tc, init_token_layout);
  tcase_add_test(tc, windows_hint);
  tcase_add_test(tc, resp_round_trip);
  tcase_add_test(tc, server_resp);
  tcase_add_test(tc, malformed_der);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
