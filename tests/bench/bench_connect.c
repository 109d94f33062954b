/* Connection set-up time: TCP, QUIC with a full TLS handshake, QUIC
 * resumed with a session ticket. Prints the median over ROUNDS connects of
 * the transport handshake alone (QUIC) and of the whole smbq_conn_connect
 * (transport + NEGOTIATE + SESSION_SETUP), and with RTT_MS (the round-trip
 * time the caller set up, e.g. with tests/quic/udp_relay) each in round
 * trips.
 * Usage: bench_connect HOST ROUNDS [RTT_MS] [tcp] [quic]
 * (credentials, ports, CA file and --resolve address from the environment:
 * examples/example_opts.h). Run by bench_quic.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <smbq/smbq.h>

#include "../../examples/example_opts.h"

#define MAX_ROUNDS 1000

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof(*v), cmp_double);
  return v[n / 2];
}

/* One connect; returns its total time, the handshake time in *hs_ms and
 * whether TLS resumed in *resumed, or a negative value on failure. */
static double connect_once(smbq_opts *o, const char *host, double *hs_ms,
                           int *resumed) {
  smbq_conn *c = smbq_conn_new(o);
  double t0 = now_ms();
  int rc = c ? smbq_conn_connect(c, host) : SMBQ_ERR_NOMEM;
  double t = now_ms() - t0;
  struct smbq_conn_info i;
  if (rc < 0 || smbq_conn_get_info(c, &i) < 0) {
    char m[512] = "";
    if (c)
      smbq_conn_errmsg(c, m, sizeof(m));
    fprintf(stderr, "bench_connect: connect failed: %s\n", m);
    smbq_conn_free(c);
    return -1;
  }
  *hs_ms = i.handshake_us / 1000.0;
  *resumed = i.tls_resumed;
  /* the server sends its session tickets after the handshake: one round
   * trip makes sure the next connect has one */
  smbq_echo(c);
  smbq_conn_free(c);
  return t;
}

static void report(const char *label, double *tot, double *hs, int n,
                   double rtt) {
  double mt = median(tot, n), mh = hs ? median(hs, n) : 0;
  printf("%-14s connect %7.2f ms", label, mt);
  if (rtt > 0)
    printf(" (%4.1f RTT)", mt / rtt);
  if (hs) {
    printf("   handshake %7.2f ms", mh);
    if (rtt > 0)
      printf(" (%4.1f RTT)", mh / rtt);
  }
  printf("\n");
}

/* mode: 0 = TCP, 1 = QUIC full handshakes, 2 = QUIC resumed */
static int run(const char *host, int rounds, double rtt, int mode) {
  static const char *const labels[] = {"tcp", "quic full", "quic resumed"};
  smbq_opts *o = example_opts();
  smbq_opts_set_transport(o, mode ? SMBQ_TRANSPORT_QUIC : SMBQ_TRANSPORT_TCP);
  smbq_opts_set_tls_resumption(o, mode == 2);
  double tot[MAX_ROUNDS], hs[MAX_ROUNDS];
  int resumed, n = 0;
  if (mode == 2 && connect_once(o, host, &hs[0], &resumed) < 0)
    return 1; /* the full handshake that yields the first ticket */
  for (int r = 0; r < rounds; r++) {
    tot[n] = connect_once(o, host, &hs[n], &resumed);
    if (tot[n] < 0)
      return 1;
    if (mode && resumed != (mode == 2)) {
      fprintf(stderr, "bench_connect: %s connect %s resumed\n", labels[mode],
              resumed ? "was" : "was not");
      return 1;
    }
    n++;
  }
  report(labels[mode], tot, mode ? hs : NULL, n, rtt);
  smbq_opts_free(o);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: bench_connect HOST ROUNDS [RTT_MS] [tcp] "
                    "[quic]\n");
    return 2;
  }
  int rounds = atoi(argv[2]);
  if (rounds < 1 || rounds > MAX_ROUNDS)
    return 2;
  double rtt = argc > 3 ? atof(argv[3]) : 0;
  int tcp = 0, quic = 0;
  for (int i = 4; i < argc; i++) {
    tcp |= !strcmp(argv[i], "tcp");
    quic |= !strcmp(argv[i], "quic");
  }
  if (!tcp && !quic)
    tcp = quic = 1;
  if (tcp && run(argv[1], rounds, rtt, 0))
    return 1;
  if (quic && (run(argv[1], rounds, rtt, 1) || run(argv[1], rounds, rtt, 2)))
    return 1;
  return 0;
}
