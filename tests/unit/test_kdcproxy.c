/* MS-KKDCP KDC-PROXY-MESSAGE (2.2.2) encoding and decoding. The expected
 * bytes were produced independently, with python3-kdcproxy's pyasn1
 * schema (kdcproxy.parse_pyasn1.ProxyMessage), not with Heimdal's codec
 * that lib/auth/kdcproxy.c uses. */
#include <check.h>

#include "auth/kdcproxy.h"
#include "smbq/smbq_err.h"
#include "testutil.h"

/* kerb-message = 00000005 || 6a03020105, target-domain = "SMBQ.TEST" */
static const char vec_small[] =
    "301a a00b 0409 00000005 6a03020105"
    "a10b 1b09 534d42512e54455354";

/* a reply as the proxy sends it: no target-domain */
static const char vec_reply[] = "300f a00d 040b 00000007 6b0502030405ff";

START_TEST(encode_small) {
  size_t ml;
  uint8_t *msg = unhex("6a03020105", &ml), *out;
  size_t len;
  ck_assert_int_eq(kdcproxy_encode(msg, ml, "SMBQ.TEST", &out, &len), 0);
  ck_assert_uint_eq(len, 28);
  ck_assert_mem_hex(out, vec_small);
  free(out);
  free(msg);
}
END_TEST

/* 300 bytes: long-form lengths at every level */
START_TEST(encode_long_forms) {
  uint8_t msg[300];
  msg[0] = 0x6c, msg[1] = 0x82, msg[2] = 0x01, msg[3] = 0x28;
  for (size_t i = 0; i < 296; i++)
    msg[4 + i] = (uint8_t)((i * 7 + 3) & 0xff);
  uint8_t *out;
  size_t len;
  ck_assert_int_eq(kdcproxy_encode(msg, sizeof(msg), "CONTOSO.COM", &out,
                                   &len),
                   0);
  ck_assert_uint_eq(len, 331);
  ck_assert_mem_hex(out, "30820147 a0820134 04820130 0000012c");
  ck_assert_mem_eq(out + 16, msg, sizeof(msg));
  ck_assert_mem_hex(out + 316, "a10d 1b0b 434f4e544f534f2e434f4d");
  /* and back */
  uint8_t *back;
  size_t bl;
  ck_assert_int_eq(kdcproxy_decode(out, len, &back, &bl), 0);
  ck_assert_uint_eq(bl, sizeof(msg));
  ck_assert_mem_eq(back, msg, sizeof(msg));
  free(back);
  free(out);
}
END_TEST

START_TEST(decode_reply) {
  size_t n;
  uint8_t *in = unhex(vec_reply, &n), *msg;
  size_t ml;
  ck_assert_int_eq(kdcproxy_decode(in, n, &msg, &ml), 0);
  ck_assert_uint_eq(ml, 7);
  ck_assert_mem_hex(msg, "6b0502030405ff");
  free(msg);
  free(in);
  /* our own request decodes too (target-domain is skipped) */
  in = unhex(vec_small, &n);
  ck_assert_int_eq(kdcproxy_decode(in, n, &msg, &ml), 0);
  ck_assert_uint_eq(ml, 5);
  ck_assert_mem_hex(msg, "6a03020105");
  free(msg);
  free(in);
}
END_TEST

static void expect_bad(const char *hex) {
  size_t n;
  uint8_t *in = unhex(hex, &n), *msg = (uint8_t *)1;
  size_t ml = 1;
  ck_assert_int_eq(kdcproxy_decode(in, n, &msg, &ml), SMBQ_ERR_PROTO);
  ck_assert_ptr_null(msg);
  ck_assert_uint_eq(ml, 0);
  free(in);
}

START_TEST(decode_malformed) {
  expect_bad("300f a00d 040b 00000007 6b0502030405ff 00"); /* trailing */
  expect_bad("300f a00d 040b 00000008 6b0502030405ff");    /* prefix > */
  expect_bad("300f a00d 040b 00000006 6b0502030405ff");    /* prefix < */
  expect_bad("3008 a006 0404 00000000");                   /* empty msg */
  expect_bad("3006 a004 0402 0000");                       /* no prefix */
  expect_bad("300f a00d 040b 00000007 6b05020304");        /* truncated */
  expect_bad("310f a00d 040b 00000007 6b0502030405ff");    /* not SEQ */
  expect_bad("300f a10d 040b 00000007 6b0502030405ff");    /* no [0] */
  expect_bad("3080 a00d 040b 00000007 6b0502030405ff 0000"); /* BER */
  expect_bad("");
}
END_TEST

START_TEST(encode_invalid) {
  uint8_t m[1] = {0x6a}, *out = (uint8_t *)1;
  size_t len = 1;
  ck_assert_int_eq(kdcproxy_encode(m, 1, "", &out, &len), SMBQ_ERR_INVAL);
  ck_assert_ptr_null(out);
  ck_assert_int_eq(kdcproxy_encode(m, 1, NULL, &out, &len), SMBQ_ERR_INVAL);
  ck_assert_int_eq(kdcproxy_encode(m, 0, "R", &out, &len), SMBQ_ERR_INVAL);
  ck_assert_int_eq(kdcproxy_encode(NULL, 1, "R", &out, &len),
                   SMBQ_ERR_INVAL);
}
END_TEST

START_TEST(routes_and_urls) {
  static const struct kdcproxy_url urls[] = {
      {"CONTOSO.COM", "https://fsedge1.contoso.com/KdcProxy"},
      {"SMBQ.TEST", "https://kdc.smbq.test/KdcProxy"},
  };
  struct kdcproxy_route r = {.urls = urls, .n_urls = 2};
  ck_assert_str_eq(kdcproxy_url_for(&r, "SMBQ.TEST"),
                   "https://kdc.smbq.test/KdcProxy");
  ck_assert_ptr_null(kdcproxy_url_for(&r, "smbq.test")); /* realms are
                                                            case-sensitive */
  ck_assert_ptr_null(kdcproxy_url_for(&r, "OTHER.TEST"));
  ck_assert_ptr_null(kdcproxy_url_for(NULL, "SMBQ.TEST"));
  /* plain HTTP is refused before any I/O */
  uint8_t *rep = (uint8_t *)1;
  size_t rl = 1;
  struct kdcproxy_route hr = {.urls = urls, .n_urls = 2};
  ck_assert_int_eq(kdcproxy_exchange(&hr, "http://kdc.smbq.test/KdcProxy",
                                     1000, (const uint8_t *)"x", 1, &rep,
                                     &rl),
                   SMBQ_ERR_INVAL);
  ck_assert_ptr_null(rep);
  ck_assert_ptr_nonnull(strstr(hr.errmsg, "https"));
  kdcproxy_route_clear(&hr);
}
END_TEST


START_TEST(parse_urls) {
  char host[64], path[64];
  uint16_t port;
  ck_assert_int_eq(kdcproxy_parse_url("https://fsedge1.contoso.com/KdcProxy",
                                      host, sizeof(host), &port, path,
                                      sizeof(path)), 0);
  ck_assert_str_eq(host, "fsedge1.contoso.com");
  ck_assert_uint_eq(port, 443);
  ck_assert_str_eq(path, "/KdcProxy");
  ck_assert_int_eq(kdcproxy_parse_url("HTTPS://[::1]:8443/p?x=1", host,
                                      sizeof(host), &port, path,
                                      sizeof(path)), 0);
  ck_assert_str_eq(host, "::1");
  ck_assert_uint_eq(port, 8443);
  ck_assert_str_eq(path, "/p?x=1");
  ck_assert_int_eq(kdcproxy_parse_url("https://h:1", host, sizeof(host),
                                      &port, path, sizeof(path)), 0);
  ck_assert_str_eq(path, "/");
  static const char *const bad[] = {
      "http://h/KdcProxy", "https:///x", "https://h:0/x", "https://h:70000/",
      "https://h:12x/", "https://[::1/x", NULL};
  for (int i = 0; bad[i]; i++)
    ck_assert_int_eq(kdcproxy_parse_url(bad[i], host, sizeof(host), &port,
                                        path, sizeof(path)),
                     SMBQ_ERR_INVAL);
  char longhost[300];
  memset(longhost, 'a', sizeof(longhost));
  memcpy(longhost, "https://", 8);
  longhost[sizeof(longhost) - 1] = '\0';
  ck_assert_int_eq(kdcproxy_parse_url(longhost, host, sizeof(host), &port,
                                      path, sizeof(path)), SMBQ_ERR_INVAL);
}
END_TEST

/* RFC 7838 3: h3 alternatives on the origin host are taken, others not */
START_TEST(alt_svc) {
  const char *h = "kdc.smbq.test";
  ck_assert_int_eq(kdcproxy_alt_svc_h3_port("h3=\":443\"; ma=86400", h),
                   443);
  ck_assert_int_eq(kdcproxy_alt_svc_h3_port(
                       "h2=\":8443\", h3-29=\":1\", h3=\":8444\"", h),
                   8444);
  ck_assert_int_eq(kdcproxy_alt_svc_h3_port("h3=\"KDC.smbq.test:9443\"", h),
                   9443);
  ck_assert_int_eq(kdcproxy_alt_svc_h3_port("h3=\"evil.example:443\"", h),
                   0);
  ck_assert_int_eq(kdcproxy_alt_svc_h3_port("h3=\"[::1]:443\"", "::1"),
                   443);
  ck_assert_int_eq(kdcproxy_alt_svc_h3_port("clear", h), -1);
  ck_assert_int_eq(kdcproxy_alt_svc_h3_port("", h), 0);
  ck_assert_int_eq(kdcproxy_alt_svc_h3_port("h3=\":99999\"", h), 0);
  ck_assert_int_eq(kdcproxy_alt_svc_h3_port("h3=\":\"", h), 0);
  ck_assert_int_eq(kdcproxy_alt_svc_h3_port("h3=\"noport", h), 0);
}
END_TEST

/* MS-KKDCP 2.2.1: the answer is checked before Heimdal sees it */
START_TEST(answers_checked) {
  char err[512];
  const char *u = "https://kdc.smbq.test/KdcProxy";
  ck_assert_int_eq(kdcproxy_check_answer(u, "HTTP/3", 200,
                                         "application/kerberos", 10, err,
                                         sizeof(err)), 0);
  ck_assert_int_eq(kdcproxy_check_answer(u, "HTTPS", 200,
                                         "Application/Kerberos; q=1", 10,
                                         err, sizeof(err)), 0);
  ck_assert_int_eq(kdcproxy_check_answer(u, "HTTP/3", 502,
                                         "application/kerberos", 10, err,
                                         sizeof(err)), SMBQ_ERR_NET);
  ck_assert_ptr_nonnull(strstr(err, "502"));
  ck_assert_ptr_nonnull(strstr(err, u));
  ck_assert_int_eq(kdcproxy_check_answer(u, "HTTP/3", 200,
                                         "text/html\x1b[2J", 10, err,
                                         sizeof(err)), SMBQ_ERR_PROTO);
  ck_assert_ptr_nonnull(strstr(err, "text/html?[2J"));
  ck_assert_int_eq(kdcproxy_check_answer(u, "HTTP/3", 200,
                                         "application/kerberosx", 10, err,
                                         sizeof(err)), SMBQ_ERR_PROTO);
  ck_assert_int_eq(kdcproxy_check_answer(u, "HTTP/3", 200, NULL, 10, err,
                                         sizeof(err)), SMBQ_ERR_PROTO);
  ck_assert_int_eq(kdcproxy_check_answer(u, "HTTP/3", 200,
                                         "application/kerberos", 0, err,
                                         sizeof(err)), SMBQ_ERR_PROTO);
  ck_assert_int_eq(kdcproxy_check_answer(u, "HTTP/3", 200,
                                         "application/kerberos",
                                         KDCPROXY_MAX_REPLY + 1, err,
                                         sizeof(err)), SMBQ_ERR_PROTO);
}
END_TEST

int main(void) {
  Suite *s = suite_create("kdcproxy");
  TCase *tc = tcase_create("kdc-proxy-message");
  tcase_add_test(tc, encode_small);
  tcase_add_test(tc, encode_long_forms);
  tcase_add_test(tc, decode_reply);
  tcase_add_test(tc, decode_malformed);
  tcase_add_test(tc, encode_invalid);
  tcase_add_test(tc, routes_and_urls);
  tcase_add_test(tc, parse_urls);
  tcase_add_test(tc, alt_svc);
  tcase_add_test(tc, answers_checked);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
