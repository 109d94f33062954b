/* The TLS session ticket store (lib/transport/quic_tickets.c): single use,
 * per-key separation, the size bound and the age limit. And the pure
 * helpers of the QUIC transport (lib/transport/quic.c): where a stream
 * of Direct-TCP frames stands, and reason phrases made safe to print. */
#include <stdio.h>

#include "testutil.h"
#include "transport/quic_tickets.h"
#include "transport/transport.h"

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

/* Feed s one byte at a time or whole: the result must not depend on how
 * the stream was cut. */
static struct quic_frame_pos feed(const uint8_t *s, size_t n, bool bytewise) {
  struct quic_frame_pos f = {0};
  if (!bytewise) {
    quic_frame_feed(&f, s, n);
    return f;
  }
  for (size_t i = 0; i < n; i++)
    quic_frame_feed(&f, s + i, 1);
  return f;
}

START_TEST(frame_pos_tracks_frames) {
  /* two whole frames (5 bytes, then an empty one), then 3 of 0x010203 */
  const uint8_t s[] = {0, 0, 0, 5, 'a', 'b', 'c', 'd', 'e', 0, 0, 0, 0,
                       0, 1, 2, 3, 'x', 'y', 'z'};
  for (int bw = 0; bw < 2; bw++) {
    struct quic_frame_pos f = feed(s, 13, bw);
    ck_assert_uint_eq(f.hdr_got, 0); /* between frames */
    f = feed(s, 15, bw);
    ck_assert_uint_eq(f.hdr_got, 2); /* inside a header */
    f = feed(s, sizeof(s), bw);
    ck_assert_uint_eq(f.hdr_got, 4);
    ck_assert_uint_eq(f.len, 0x010203);
    ck_assert_uint_eq(f.got, 3);
  }
}
END_TEST

START_TEST(frame_pos_bad_header_still_counts) {
  /* a first byte that is not zero (a bad header for the core): the
   * length is still the low 24 bits */
  const uint8_t s[] = {0x80, 0, 0, 2, 'a', 'b', 0x85, 0};
  struct quic_frame_pos f = feed(s, 6, false);
  ck_assert_uint_eq(f.hdr_got, 0);
  f = feed(s, sizeof(s), false);
  ck_assert_uint_eq(f.hdr_got, 2);
}
END_TEST

START_TEST(reason_text_is_printable) {
  char out[16];
  const uint8_t r[] = "bye\x1b[2J\r\n\xc3\xa9.";
  ck_assert_uint_eq(quic_printable(out, sizeof(out), r, sizeof(r) - 1),
                    12);
  ck_assert_str_eq(out, "bye?[2J????.");
  /* cut to the buffer, always terminated */
  const uint8_t l[] = "0123456789abcdefghij";
  ck_assert_uint_eq(quic_printable(out, sizeof(out), l, sizeof(l) - 1),
                    15);
  ck_assert_str_eq(out, "0123456789abcde");
  ck_assert_uint_eq(quic_printable(out, sizeof(out), NULL, 0), 0);
  ck_assert_str_eq(out, "");
  ck_assert_uint_eq(quic_printable(out, 0, l, 3), 0);
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
  TCase *th = tcase_create("quic_helpers");
  tcase_add_test(th, frame_pos_tracks_frames);
  tcase_add_test(th, frame_pos_bad_header_still_counts);
  tcase_add_test(th, reason_text_is_printable);
  suite_add_tcase(s, th);
  return s;
}

int main(void) { return run_suite(tickets_suite()); }
