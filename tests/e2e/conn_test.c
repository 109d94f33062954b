/* e2e of the connection-level API, run by t_conn.sh over TCP and QUIC:
 * connection events, TLS session resumption, and QUIC connection
 * migration in the middle of a transfer.
 * Usage: conn_test HOST SHARE SHAREDIR  (user, password and transport
 * from the environment: examples/example_opts.h). Prints one line per
 * case; exits non-zero on the first failure. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <smbq/smbq.h>

#include "../../examples/example_opts.h"

static smbq_conn *conn; /* for CHECK's message */
static const char *host, *share, *sharedir;
static int quic;

#define CHECK(cond, ...)                                                    \
  do {                                                                      \
    if (!(cond)) {                                                          \
      char m_[512] = "";                                                    \
      fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);      \
      fprintf(stderr, __VA_ARGS__);                                         \
      if (conn)                                                             \
        smbq_conn_errmsg(conn, m_, sizeof(m_));                             \
      fprintf(stderr, " [%s]\n", m_);                                       \
      exit(1);                                                              \
    }                                                                       \
  } while (0)

/* ---- events ----------------------------------------------------------- */

struct seen {
  int connected, migrated;
  struct smbq_conn_info last;
};

static void on_event(void *arg, enum smbq_event ev,
                     const struct smbq_conn_info *info) {
  struct seen *s = arg;
  if (ev == SMBQ_EVENT_CONNECTED)
    s->connected++;
  if (ev == SMBQ_EVENT_MIGRATED)
    s->migrated++;
  s->last = *info;
}

static smbq_conn *connect_with(smbq_opts *o) {
  smbq_conn *c = smbq_conn_new(o);
  CHECK(c, "conn_new");
  conn = c;
  CHECK(smbq_conn_connect(c, host) == 0, "connect to %s", host);
  return c;
}

static void case_events_and_resumption(void) {
  smbq_opts *o = example_opts();
  struct seen s = {0};
  smbq_opts_set_event_cb(o, on_event, &s);
  smbq_conn *c = connect_with(o);
  CHECK(s.connected == 1, "one CONNECTED event, got %d", s.connected);
  CHECK(!strcmp(s.last.server, host) && s.last.dialect[0] &&
            s.last.signing[0] && !strcmp(s.last.auth, "NTLMv2"),
        "event names server, dialect, signing, auth");
  CHECK(!strcmp(s.last.transport, quic ? "quic" : "tcp"), "transport %s",
        s.last.transport);
  if (!quic) {
    CHECK(!s.last.cert_sha256[0] && !s.last.tls_cipher[0],
          "no TLS details over TCP");
    smbq_conn_free(c);
    smbq_opts_free(o);
    printf("ok events (tcp)\n");
    return;
  }
  /* MS-SMB2 3.2.5.2: without the server's acceptance of transport-level
   * security, SMB signing stays on over QUIC */
  CHECK(s.last.transport_security || strcmp(s.last.signing, "none") != 0,
        "signing %s without transport security", s.last.signing);
  struct smbq_conn_info full = s.last;
  CHECK(!strcmp(full.alpn, "smb"), "ALPN %s", full.alpn);
  CHECK(!strcmp(full.tls_version, "TLS1.3"), "TLS %s", full.tls_version);
  CHECK(strlen(full.cert_sha256) == 95, "SHA-256 %s", full.cert_sha256);
  CHECK(strstr(full.cert_subject, "fsedge1.smbq.test") &&
            full.cert_issuer[0] && full.tls_cipher[0],
        "certificate subject/issuer/cipher");
  CHECK(!full.tls_resumed, "first connection is a full handshake");
  /* a server sends its tickets after the handshake: give the I/O thread a
   * round trip to receive them */
  CHECK(smbq_echo(c) == 0, "echo");
  smbq_conn_free(c);
  printf("ok events: %s %s, handshake %u us\n", full.tls_cipher,
         full.cert_sha256, full.handshake_us);

  c = connect_with(o);
  CHECK(s.connected == 2, "second CONNECTED event");
  CHECK(s.last.tls_resumed, "second connection resumed the TLS session");
  CHECK(!strcmp(s.last.cert_sha256, full.cert_sha256) &&
            !strcmp(s.last.cert_subject, full.cert_subject),
        "resumed session reports the certificate of the full handshake");
  printf("ok resumption: full %u us, resumed %u us\n", full.handshake_us,
         s.last.handshake_us);
  smbq_conn_free(c);

  smbq_opts_set_tls_resumption(o, 0);
  c = connect_with(o);
  CHECK(!s.last.tls_resumed, "resumption off: full handshake");
  smbq_conn_free(c);
  smbq_opts_free(o);
  printf("ok resumption off\n");
}

/* ---- migration during a transfer --------------------------------------- */

#define MSIZE (48u * 1024 * 1024)
#define PIECE (1u * 1024 * 1024)

struct xfer {
  smbq_file *f;
  uint8_t *buf;
  int write;
  atomic_size_t done;
};

static void *run_xfer(void *arg) {
  struct xfer *x = arg;
  for (size_t off = 0; off < MSIZE; off += PIECE) {
    ssize_t n = x->write ? smbq_pwrite(x->f, x->buf + off, PIECE, off)
                         : smbq_pread(x->f, x->buf + off, PIECE, off);
    CHECK(n == (ssize_t)PIECE, "%s at %zu: %zd", x->write ? "pwrite" : "pread",
          off, n);
    atomic_store(&x->done, off + PIECE);
  }
  return NULL;
}

/* Run a transfer in a thread and migrate when a third of it is done. */
static void xfer_with_migration(smbq_conn *c, struct xfer *x) {
  struct smbq_conn_info before, after;
  CHECK(smbq_conn_get_info(c, &before) == 0 && before.local[0], "info");
  pthread_t t;
  pthread_create(&t, NULL, run_xfer, x);
  while (atomic_load(&x->done) < MSIZE / 3) {
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
  CHECK(smbq_conn_migrate(c) == 0, "migrate during %s",
        x->write ? "write" : "read");
  size_t at = atomic_load(&x->done);
  CHECK(smbq_conn_get_info(c, &after) == 0, "info");
  CHECK(strcmp(before.local, after.local) != 0,
        "migration moved to a new local address (still %s)", after.local);
  pthread_join(t, NULL);
  CHECK(at < MSIZE, "the migration happened before the end (%zu)", at);
  printf("   %s: %s -> %s at %zu MiB\n", x->write ? "write" : "read",
         before.local, after.local, at >> 20);
}

static void case_migration(void) {
  smbq_opts *o = example_opts();
  struct seen s = {0};
  smbq_opts_set_event_cb(o, on_event, &s);
  smbq_conn *c = connect_with(o);
  if (!quic) {
    CHECK(smbq_conn_migrate(c) == SMBQ_ERR_UNSUPPORTED,
          "migration over TCP is refused");
    smbq_conn_free(c);
    smbq_opts_free(o);
    printf("ok migration refused over tcp\n");
    return;
  }
  smbq_tree *t;
  CHECK(smbq_tree_connect(c, share, &t) == 0, "tree");
  uint8_t *data = malloc(MSIZE), *back = calloc(1, MSIZE);
  for (size_t i = 0; i < MSIZE; i++)
    data[i] = (uint8_t)((i * 2654435761u) >> 13);
  smbq_file *f;
  CHECK(smbq_open(t, "migrate.bin", SMBQ_O_RDWR | SMBQ_O_CREAT |
                                        SMBQ_O_TRUNC, &f) == 0, "open");
  struct xfer w = {.f = f, .buf = data, .write = 1};
  xfer_with_migration(c, &w);
  struct xfer r = {.f = f, .buf = back, .write = 0};
  xfer_with_migration(c, &r);
  CHECK(memcmp(data, back, MSIZE) == 0, "data read back differs");
  CHECK(s.migrated == 2, "two MIGRATED events, got %d", s.migrated);
  CHECK(smbq_close(f) == 0, "close");
  /* the server's copy, checked independently of the client */
  char path[4096];
  snprintf(path, sizeof(path), "%s/migrate.bin", sharedir);
  FILE *sf = fopen(path, "rb");
  CHECK(sf && fread(back, 1, MSIZE, sf) == MSIZE && fgetc(sf) == EOF,
        "server copy %s", path);
  fclose(sf);
  CHECK(memcmp(data, back, MSIZE) == 0, "server copy differs");
  CHECK(smbq_echo(c) == 0, "connection alive after migrations");
  smbq_tree_disconnect(t);
  smbq_conn_free(c);
  smbq_opts_free(o);
  free(data);
  free(back);
  printf("ok migration: 48 MiB written and read back byte-exact, "
         "migrated mid-write and mid-read\n");
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: conn_test HOST SHARE SHAREDIR\n");
    return 2;
  }
  host = argv[1];
  share = argv[2];
  sharedir = argv[3];
  const char *t = getenv("SMBQ_TRANSPORT");
  quic = t && !strcmp(t, "quic");
  case_events_and_resumption();
  case_migration();
  printf("PASS\n");
  return 0;
}
