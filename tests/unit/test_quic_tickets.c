/* The TLS session ticket store (lib/transport/quic_tickets.c): single use,
 * per-key separation, the size bound and the age limit. And the pure
 * helpers of the QUIC transport (lib/transport/quic.c, quic_conn.c):
 * where a stream of Direct-TCP frames stands, and reason phrases made
 * safe to print. And the generic QUIC connection (quic_conn.c) against
 * loopback UDP peers that never speak QUIC: its messages name the
 * application's service, and tickets are kept apart by ALPN. */
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testutil.h"
#include "smbq/smbq_err.h"
#include "transport/quic_conn.h"
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

/* ---- quic_conn ---------------------------------------------------------- */

/* A UDP socket bound to a free loopback port; *port gets the port. The
 * caller closes it (then nothing listens there). */
static int udp_peer(uint16_t *port) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t sl = sizeof(sa);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
  *port = ntohs(sa.sin_port);
  return fd;
}

static struct quic_conn_cfg h3_cfg(const struct smbq_endpoint *ep) {
  return (struct quic_conn_cfg){.ep = ep,
                                .alpn = "h3",
                                .service = "the KDC proxy over HTTP/3",
                                .stream_window = 256 * 1024,
                                .conn_window = 1024 * 1024,
                                .peer_uni_streams = 3};
}

/* Step until the connection fails (or 5 s pass); returns the error. */
static int step_until_failed(struct quic_conn *qc) {
  for (int i = 0; i < 500; i++) {
    int rc = quic_conn_step(qc);
    if (rc != 0)
      return rc;
    struct pollfd p = {.fd = quic_conn_fd(qc), .events = POLLIN};
    poll(&p, 1, 10);
  }
  return 0;
}

static const struct quic_conn_app no_app = {0};

START_TEST(conn_bad_alpn_refused) {
  struct smbq_endpoint ep = {.host = "127.0.0.1", .port = 9};
  struct quic_conn_cfg cfg = h3_cfg(&ep);
  struct quic_conn *qc = NULL;
  char err[256] = "";
  cfg.alpn = "";
  ck_assert_int_eq(quic_conn_open(&cfg, &no_app, NULL, &qc, err,
                                  sizeof(err)), SMBQ_ERR_INVAL);
  ck_assert_ptr_null(qc);
  ck_assert_ptr_nonnull(strstr(err, "ALPN"));
  cfg.alpn = "longer-than-sixteen"; /* does not fit smbq_tls_info.alpn */
  err[0] = '\0';
  ck_assert_int_eq(quic_conn_open(&cfg, &no_app, NULL, &qc, err,
                                  sizeof(err)), SMBQ_ERR_INVAL);
  ck_assert_ptr_null(qc);
}
END_TEST

/* Nothing listens: the ICMP port unreachable ends the attempt at once,
 * and the message names the application's service, not SMB. */
START_TEST(conn_refused_names_service) {
  uint16_t port;
  close(udp_peer(&port));
  struct smbq_endpoint ep = {.host = "127.0.0.1", .port = port,
                             .timeout_ms = 5000};
  struct quic_conn_cfg cfg = h3_cfg(&ep);
  struct quic_conn *qc = NULL;
  char err[256] = "";
  ck_assert_int_eq(quic_conn_open(&cfg, &no_app, NULL, &qc, err,
                                  sizeof(err)), 0);
  ck_assert_int_eq(step_until_failed(qc), SMBQ_ERR_NET);
  ck_assert_int_eq(quic_conn_error(qc), SMBQ_ERR_NET);
  const char *m = quic_conn_errmsg(qc);
  ck_assert_msg(strstr(m, "nothing listens there") &&
                    strstr(m, "offers the KDC proxy over HTTP/3") &&
                    !strstr(m, "SMB"),
                "message: %s", m);
  quic_conn_free(qc);
}
END_TEST

/* A peer that never answers: the connect deadline names the service and
 * the fallback the application gave (SMB: connect over TCP), or only the
 * port when it gave none. */
START_TEST(conn_silent_peer_deadline) {
  uint16_t port;
  int peer = udp_peer(&port);
  struct smbq_endpoint ep = {.host = "127.0.0.1", .port = port,
                             .timeout_ms = 100};
  struct quic_conn_cfg cfg = h3_cfg(&ep);
  struct quic_conn *qc = NULL;
  char err[256] = "";
  ck_assert_int_eq(quic_conn_open(&cfg, &no_app, NULL, &qc, err,
                                  sizeof(err)), 0);
  ck_assert_int_eq(step_until_failed(qc), SMBQ_ERR_TIMEOUT);
  ck_assert_msg(strstr(quic_conn_errmsg(qc), "does not offer the KDC proxy "
                       "over HTTP/3 there; check the QUIC port"),
                "message: %s", quic_conn_errmsg(qc));
  quic_conn_free(qc);
  cfg.alpn = "smb";
  cfg.service = "SMB over QUIC";
  cfg.fallback = "connect over TCP";
  ck_assert_int_eq(quic_conn_open(&cfg, &no_app, NULL, &qc, err,
                                  sizeof(err)), 0);
  ck_assert_int_eq(step_until_failed(qc), SMBQ_ERR_TIMEOUT);
  ck_assert_msg(strstr(quic_conn_errmsg(qc), "no QUIC answer from "
                       "127.0.0.1 on UDP port") &&
                    strstr(quic_conn_errmsg(qc), "does not offer SMB over "
                           "QUIC there; connect over TCP, or check the "
                           "QUIC port"),
                "message: %s", quic_conn_errmsg(qc));
  quic_conn_free(qc);
  close(peer);
}
END_TEST

/* A ticket is looked up under its ALPN (quic_conn.c setup_resumption: key
 * "ALPN|host|port|cert|key"): an "h3" connection leaves an "smb" ticket
 * alone, an "smb" one takes it. */
START_TEST(conn_tickets_kept_apart_by_alpn) {
  uint16_t port;
  int peer = udp_peer(&port);
  struct quic_tickets *t = quic_tickets_new();
  struct smbq_tls_info in = info_named("CN=smb"), out;
  char key[64];
  const uint8_t v = 7;
  snprintf(key, sizeof(key), "smb|127.0.0.1|%u||", (unsigned)port);
  ck_assert_int_eq(quic_tickets_put(t, key, &v, 1, &in, smbq_now_ms()), 0);
  struct smbq_endpoint ep = {.host = "127.0.0.1", .port = port,
                             .timeout_ms = 5000, .tickets = t};
  struct quic_conn_cfg cfg = h3_cfg(&ep);
  struct quic_conn *qc = NULL;
  char err[256] = "";
  ck_assert_int_eq(quic_conn_open(&cfg, &no_app, NULL, &qc, err,
                                  sizeof(err)), 0);
  quic_conn_free(qc);
  uint8_t *d;
  size_t len;
  /* still there after the "h3" connection: take it, and put it back */
  ck_assert_int_eq(quic_tickets_take(t, key, &d, &len, &out, smbq_now_ms()),
                   1);
  ck_assert_uint_eq(len, 1);
  free(d);
  ck_assert_int_eq(quic_tickets_put(t, key, &v, 1, &in, smbq_now_ms()), 0);
  cfg.alpn = "smb";
  ck_assert_int_eq(quic_conn_open(&cfg, &no_app, NULL, &qc, err,
                                  sizeof(err)), 0);
  quic_conn_free(qc);
  /* the "smb" connection took it (tickets are single-use) */
  ck_assert_int_eq(quic_tickets_take(t, key, &d, &len, &out, smbq_now_ms()),
                   0);
  quic_tickets_unref(t);
  close(peer);
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
  TCase *tq = tcase_create("quic_conn");
  tcase_add_test(tq, conn_bad_alpn_refused);
  tcase_add_test(tq, conn_refused_names_service);
  tcase_add_test(tq, conn_silent_peer_deadline);
  tcase_add_test(tq, conn_tickets_kept_apart_by_alpn);
  suite_add_tcase(s, tq);
  return s;
}

int main(void) { return run_suite(tickets_suite()); }
