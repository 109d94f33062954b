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

START_TEST(kerberos_init_mech_order) {
  /* Kerberos first (RFC 4121 OID, then Microsoft's), NTLMSSP last: the
   * mechTypes DER that the mechListMIC covers */
  static const enum spnego_mech mechs[] = {
      SPNEGO_MECH_KRB5, SPNEGO_MECH_MSKRB5, SPNEGO_MECH_NTLMSSP};
  const uint8_t tok[2] = {0x60, 0x00};
  uint8_t *out, *mt;
  size_t len, mtl;
  ck_assert_int_eq(spnego_build_init(mechs, 3, tok, 2, &out, &len, &mt, &mtl),
                   0);
  ck_assert_uint_eq(mtl, 36);
  ck_assert_mem_hex(mt, "3022 06092a864886f712010202 06092a864882f712010202"
                        "060a2b06010401823702020a");
  struct spnego_init_hint h;
  ck_assert_int_eq(spnego_parse_hint(out, len, &h), 0);
  ck_assert_uint_eq(h.n_mechs, 3);
  ck_assert_int_eq(h.mechs[0], SPNEGO_MECH_KRB5);
  ck_assert_int_eq(h.mechs[1], SPNEGO_MECH_MSKRB5);
  ck_assert_int_eq(h.mechs[2], SPNEGO_MECH_NTLMSSP);
  /* the optimistic token follows the list: [2] { OCTET STRING 60 00 } */
  ck_assert_mem_hex(out + len - 6, "a204 0402 6000");
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

/* Captured from Samba 4.17 smbd (standalone server, no Kerberos): its
 * SMB2 NEGOTIATE security buffer, a negTokenInit2 with mechTypes
 * {NTLMSSP} and negHints { hintName "not_defined_in_RFC4178@please_ignore" }.
 */
static const char *samba_hint =
    "604806062b0601050502a03e303ca00e300c060a2b06010401823702020aa32a3028"
    "a0261b246e6f745f646566696e65645f696e5f5246433431373840706c656173655f"
    "69676e6f7265";

START_TEST(samba_hint_blob) {
  size_t n;
  uint8_t *in = unhex(samba_hint, &n);
  struct spnego_init_hint h;
  ck_assert_int_eq(spnego_parse_hint(in, n, &h), 0);
  ck_assert_uint_eq(h.n_mechs, 1);
  ck_assert_int_eq(h.mechs[0], SPNEGO_MECH_NTLMSSP);
  for (size_t cut = 1; cut < n; cut++) {
    uint8_t *t = malloc(n - cut);
    memcpy(t, in, n - cut);
    ck_assert_int_eq(spnego_parse_hint(t, n - cut, &h), SMBQ_ERR_PROTO);
    free(t);
  }
  free(in);
}
END_TEST

/* negTokenInit2 with negHints first, then an unknown mech (NEGOEX), MS
 * Kerberos, Kerberos and NTLMSSP, in long-form lengths. */
START_TEST(hint_unknown_mechs) {
  size_t n;
  uint8_t *in = unhex("60 81 4c 06062b0601050502"
                      "a0 42 30 40"
                      "a3 0a 3008 a0061b04 61626364"     /* negHints first */
                      "a0 82 0030 30 2e"
                      "060a2b06010401823702021e"         /* NEGOEX */
                      "06092a864882f712010202"           /* MS KRB5 */
                      "06092a864886f712010202"           /* KRB5 */
                      "060a2b06010401823702020a",        /* NTLMSSP */
                      &n);
  struct spnego_init_hint h;
  ck_assert_int_eq(spnego_parse_hint(in, n, &h), 0);
  ck_assert_uint_eq(h.n_mechs, 3);
  ck_assert_int_eq(h.mechs[0], SPNEGO_MECH_MSKRB5);
  ck_assert_int_eq(h.mechs[1], SPNEGO_MECH_KRB5);
  ck_assert_int_eq(h.mechs[2], SPNEGO_MECH_NTLMSSP);
  free(in);
  /* our own encoder's three-mech list reads back in order */
  static const enum spnego_mech m3[] = {SPNEGO_MECH_MSKRB5, SPNEGO_MECH_KRB5,
                                        SPNEGO_MECH_NTLMSSP};
  uint8_t *out;
  ck_assert_int_eq(spnego_build_init(m3, 3, NULL, 0, &out, &n, NULL, NULL),
                   0);
  ck_assert_int_eq(spnego_parse_hint(out, n, &h), 0);
  ck_assert_uint_eq(h.n_mechs, 3);
  ck_assert_mem_eq(h.mechs, m3, sizeof(m3));
  free(out);
  static const enum spnego_mech bad[] = {SPNEGO_MECH_UNKNOWN};
  ck_assert_int_eq(spnego_build_init(bad, 1, NULL, 0, &out, &n, NULL, NULL),
                   SMBQ_ERR_INVAL);
}
END_TEST

START_TEST(long_forms) {
  /* non-minimal 4-byte lengths are accepted */
  size_t n;
  uint8_t *in = unhex("a1840000000a 3084 00000004 a2020400", &n);
  struct spnego_resp r;
  ck_assert_int_eq(spnego_parse_resp(in, n, &r), 0);
  ck_assert_uint_eq(r.token_len, 0);
  free(in);
  /* a 70000-byte token needs a 3-byte length and round-trips */
  size_t big = 70000;
  uint8_t *tok = malloc(big), *out;
  for (size_t i = 0; i < big; i++)
    tok[i] = (uint8_t)i;
  ck_assert_int_eq(spnego_build_resp(tok, big, NULL, 0, &out, &n), 0);
  ck_assert_mem_hex(out, "a183 01117f 3083 01117a a283 011175 0483 011170");
  ck_assert_int_eq(spnego_parse_resp(out, n, &r), 0);
  ck_assert_uint_eq(r.token_len, big);
  ck_assert_mem_eq(r.token, tok, big);
  ck_assert_ptr_null(r.mic);
  free(out);
  ck_assert_int_eq(spnego_build_init((const enum spnego_mech[]){
                                         SPNEGO_MECH_NTLMSSP},
                                     1, tok, big, &out, &n, NULL, NULL),
                   0);
  struct spnego_init_hint h;
  ck_assert_int_eq(spnego_parse_hint(out, n, &h), 0);
  ck_assert_uint_eq(h.n_mechs, 1);
  free(out);
  /* an oversized token is refused before any allocation */
  ck_assert_int_eq(spnego_build_resp(tok, 0x1000000, NULL, 0, &out, &n),
                   SMBQ_ERR_INVAL);
  free(tok);
  /* both fields absent: an empty negTokenResp */
  ck_assert_int_eq(spnego_build_resp(NULL, 0, NULL, 0, &out, &n), 0);
  ck_assert_uint_eq(n, 4);
  ck_assert_mem_hex(out, "a1023000");
  free(out);
}
END_TEST

START_TEST(more_malformed_der) {
  struct spnego_resp r;
  size_t n;
  static const char *bad[] = {
      "",                          /* empty */
      "a1023001",                  /* SEQUENCE overruns */
      "a1043002a200",              /* [2] without OCTET STRING */
      "a1083006a20404010000",      /* junk after the token inside [2] */
      "a1073005a2030401",          /* token overruns */
      "a1063004bf820000",          /* high tag number form */
      "a1053003a10106",            /* supportedMech not complete */
      "a1083006a0030a0200",        /* negState of two bytes */
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    uint8_t *in = unhex(bad[i], &n);
    ck_assert_msg(spnego_parse_resp(in, n, &r) == SMBQ_ERR_PROTO, "%s",
                  bad[i]);
    free(in);
  }
  static const char *bad_hint[] = {
      "60",                                  /* no length */
      "6080",                                /* indefinite */
      "600806062b0601050502",                /* no negTokenInit */
      "600a06062b0601050502a100",            /* negTokenResp, not Init */
      "600e06062b0601050502a0043002a0003000", /* mechTypes not a SEQUENCE */
      "601006062b0601050502a0063004a0023001", /* OID list overruns */
      "600f06062b0601050502a0053004a0023000",  /* [0] shorter than its SEQ */
  };
  struct spnego_init_hint h;
  for (size_t i = 0; i < sizeof(bad_hint) / sizeof(bad_hint[0]); i++) {
    uint8_t *in = unhex(bad_hint[i], &n);
    ck_assert_msg(spnego_parse_hint(in, n, &h) == SMBQ_ERR_PROTO, "%s",
                  bad_hint[i]);
    free(in);
  }
}
END_TEST

/* Random bytes and random corruptions of valid tokens: the parsers return
 * 0 or SMBQ_ERR_PROTO and never read out of bounds (run under ASan). */
START_TEST(garbage) {
  uint32_t x = 12345;
  size_t n;
  uint8_t *hint = unhex(samba_hint, &n);
  for (int iter = 0; iter < 20000; iter++) {
    uint8_t buf[80];
    size_t len = 0;
    x = x * 1103515245u + 12345u;
    if (iter & 1) {
      len = n;
      memcpy(buf, hint, n);
      buf[(x >> 8) % n] = (uint8_t)(x >> 16);
    } else {
      len = (x >> 16) % sizeof(buf);
      for (size_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 16);
      }
      buf[0] = (iter & 2) ? 0x60 : 0xa1;
    }
    uint8_t *t = malloc(len ? len : 1);
    memcpy(t, buf, len);
    struct spnego_init_hint h;
    struct spnego_resp r;
    int rc = spnego_parse_hint(t, len, &h);
    ck_assert(rc == 0 || rc == SMBQ_ERR_PROTO);
    ck_assert_uint_le(h.n_mechs, 8);
    rc = spnego_parse_resp(t, len, &r);
    ck_assert(rc == 0 || rc == SMBQ_ERR_PROTO);
    if (rc == 0 && r.token)
      ck_assert(r.token >= t && r.token + r.token_len <= t + len);
    free(t);
  }
  free(hint);
}
END_TEST

int main(void) {
  Suite *s = suite_create("spnego");
  TCase *tk = tcase_create("kerberos");
  tcase_add_test(tk, kerberos_init_mech_order);
  suite_add_tcase(s, tk);
  TCase *tc = tcase_create("spnego");
  tcase_add_test(tc, init_token_layout);
  tcase_add_test(tc, windows_hint);
  tcase_add_test(tc, resp_round_trip);
  tcase_add_test(tc, server_resp);
  tcase_add_test(tc, malformed_der);
  tcase_add_test(tc, samba_hint_blob);
  tcase_add_test(tc, hint_unknown_mechs);
  tcase_add_test(tc, long_forms);
  tcase_add_test(tc, more_malformed_der);
  tcase_add_test(tc, garbage);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
