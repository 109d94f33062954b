/* The TLS session ticket store (lib/transport/quic_tickets.c): single use,
 * per-key separation, the size bound and the age limit. */
#include <stdio.h>

#include "testutil.h"
#include "transport/quic_tickets.h"

static struct smbq_tls_info info_named(const char *subject) {
  struct smbq_tls_info i;
  memset(&i, 0, sizeof(i));
  snprintf(i.cert_subject, sizeof(i.cert_subject), "%s", subject);
  return i;
}

START_TEST(take_is_single_use) {
  struct quic_tickets *t = quic_tickets_new();
  struct smbq_tls_info in = info_named("CN=a"), out;
  const uint8_t tk[] = {1, 2, 3};
  ck_assert_int_eq(quic_tickets_put(t, "a|443||", tk, 3, &in, 1000), 0);
  uint8_t *d;
  size_t n;
  ck_assert_int_eq(quic_tickets_take(t, "b|443||", &d, &n, &out, 1000), 0);
  ck_assert_int_eq(quic_tickets_take(t, "a|443||", &d, &n, &out, 1000), 1);
  ck_assert_uint_eq(n, 3);
  ck_assert_mem_eq(d, tk, 3);
  ck_assert_str_eq(out.cert_subject, "CN=a");
  free(d);
  /* RFC 8446 C.4: never offered twice */
  ck_assert_int_eq(quic_tickets_take(t, "a|443||", &d, &n, &out, 1000), 0);
  quic_tickets_unref(t);
}
END_TEST

START_TEST(newest_first_and_shared_refs) {
  struct quic_tickets *t = quic_tickets_new();
  struct quic_tickets *t2 = quic_tickets_ref(t);
  struct smbq_tls_info i1 = info_named("old"), i2 = info_named("new"), out;
  const uint8_t a = 'a', b = 'b';
  quic_tickets_put(t, "k", &a, 1, &i1, 0);
  quic_tickets_put(t2, "k", &b, 1, &i2, 1);
  quic_tickets_unref(t); /* t2 still holds the store */
  uint8_t *d;
  size_t n;
  ck_assert_int_eq(quic_tickets_take(t2, "k", &d, &n, &out, 2), 1);
  ck_assert_int_eq(d[0], 'b');
  ck_assert_str_eq(out.cert_subject, "new");
  free(d);
  ck_assert_int_eq(quic_tickets_take(t2, "k", &d, &n, &out, 2), 1);
  ck_assert_int_eq(d[0], 'a');
  free(d);
  quic_tickets_unref(t2);
}
END_TEST

START_TEST(bounded_oldest_dropped) {
  struct quic_tickets *t = quic_tickets_new();
  struct smbq_tls_info in = info_named("x"), out;
  char key[32];
  for (int i = 0; i < QUIC_TICKETS_MAX + 10; i++) {
    snprintf(key, sizeof(key), "k%d", i);
    uint8_t v = (uint8_t)i;
    ck_assert_int_eq(quic_tickets_put(t, key, &v, 1, &in, i), 0);
  }
  uint8_t *d;
  size_t n;
  for (int i = 0; i < 10; i++) {
    snprintf(key, sizeof(key), "k%d", i);
    ck_assert_int_eq(quic_tickets_take(t, key, &d, &n, &out, 100), 0);
  }
  for (int i = 10; i < QUIC_TICKETS_MAX + 10; i++) {
    snprintf(key, sizeof(key), "k%d", i);
    ck_assert_int_eq(quic_tickets_take(t, key, &d, &n, &out, 100), 1);
    ck_assert_int_eq(d[0], (uint8_t)i);
    free(d);
  }
  quic_tickets_unref(t);
}
END_TEST

START_TEST(old_tickets_not_offered) {
  struct quic_tickets *t = quic_tickets_new();
  struct smbq_tls_info in = info_named("x"), out;
  const uint8_t v = 7;
  quic_tickets_put(t, "k", &v, 1, &in, 0);
  uint8_t *d;
  size_t n;
  ck_assert_int_eq(
      quic_tickets_take(t, "k", &d, &n, &out, QUIC_TICKETS_MAX_AGE_MS + 1), 0);
  quic_tickets_unref(t);
  /* a NULL store (resumption off) holds nothing and takes nothing */
  ck_assert_int_eq(quic_tickets_put(NULL, "k", &v, 1, &in, 0), 0);
  ck_assert_int_eq(quic_tickets_take(NULL, "k", &d, &n, &out, 0), 0);
}
END_TEST

static Suite *tickets_suite(void) {
  Suite *s = suite_create("quic_tickets");
  TCase *tc = tcase_create("store");
  tcase_add_test(tc, take_is_single_use);
  tcase_add_test(tc, newest_first_and_shared_refs);
  tcase_add_test(tc, bounded_oldest_dropped);
  tcase_add_test(tc, old_tickets_not_offered);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return run_suite(tickets_suite()); }
