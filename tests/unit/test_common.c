/* lib/common helpers that are not wire encoding: address literals. */
#include "smbq_host.h"
#include "testutil.h"

START_TEST(address_literals) {
  ck_assert(smbq_host_is_address("127.0.0.1"));
  ck_assert(smbq_host_is_address("::1"));
  ck_assert(smbq_host_is_address("[fe80::1]"));
  ck_assert(smbq_host_is_address("[2001:db8::5]"));
}
END_TEST

START_TEST(names) {
  ck_assert(!smbq_host_is_address("fsedge1.contoso.com"));
  ck_assert(!smbq_host_is_address("fs1"));
  ck_assert(!smbq_host_is_address("1.2.3.4.example"));
  ck_assert(!smbq_host_is_address("[fs1]"));
  ck_assert(!smbq_host_is_address("[]"));
  ck_assert(!smbq_host_is_address(""));
  ck_assert(!smbq_host_is_address("999.1.1.1"));
}
END_TEST

static Suite *common_suite(void) {
  Suite *s = suite_create("common");
  TCase *tc = tcase_create("host");
  tcase_add_test(tc, address_literals);
  tcase_add_test(tc, names);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return run_suite(common_suite()); }
