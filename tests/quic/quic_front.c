/* quic_front: a QUIC front end for Samba, for the tests.
 *
 * Terminates QUIC (TLS 1.3, ALPN "smb") with a test certificate and relays
 * each connection's bidirectional stream to smbd's TCP port, the way a
 * Windows Server 2025 SMB over QUIC endpoint presents itself. Handles many
 * connections in one poll loop. Optionally requires a client certificate
 * and filters it by SHA-256 allow/deny lists.
 *
 * QUIC itself (batched packet I/O, connection ID routing, migration, TLS,
 * timers) is quic_server.c's, shared with h3_kdcproxy.c; this file is the
 * relay and the hostile modes.
 *
 * With --hostile MODE it relays nothing: it completes the handshake and
 * then misbehaves the way MODE says (see hostile_modes[]), for the hostile
 * server cases of tests/e2e/t_hostile.sh. The same program does it so the
 * handshake, connection ID routing and packet I/O under test are the
 * ones every other QUIC test uses; only what follows the handshake
 * differs.
 *
 * usage: quic_front --cert FILE --key FILE --port-file FILE
 *                   (--backend PORT | --hostile MODE)
 *                   [--listen PORT] [--client-ca FILE] [--require-client-cert]
 *                   [--allow SHA256HEX]... [--deny SHA256HEX]...
 * Stops on SIGTERM/SIGINT.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "quic_server.h"

#define CHUNK (256 * 1024)
#define MAX_UNACKED (64u << 20) /* smbd -> client bytes kept for resending */
#define MAX_UP (64u << 20)      /* client -> smbd bytes waiting for smbd */
#define MAX_LIST 16

/* --hostile MODE: what the front does once the client opens its stream. */
enum hostile {
  H_NONE,           /* relay to smbd */
  H_GARBAGE,        /* bytes that are no Direct-TCP framing at all */
  H_TRUNCATED,      /* a frame header for 200 bytes, 68 of them, FIN */
  H_HUGE,           /* a frame header 0x80000000 ("2 GiB") */
  H_HUGE16M,        /* header 0x00FFFFFF, then 16 MiB of payload */
  H_SILENT,         /* nothing; the connection stays up (ACKs, PINGs) */
  H_RESET,          /* RESET_STREAM and STOP_SENDING on the stream */
  H_APPCLOSE,       /* application CONNECTION_CLOSE with a reason */
  H_STATELESS_RESET,/* forget the connection, answer with a reset */
  H_BIGCHAIN,       /* silent: --cert holds an oversize chain */
};

static const struct {
  const char *name;
  enum hostile mode;
} hostile_modes[] = {
    {"garbage", H_GARBAGE},     {"truncated", H_TRUNCATED},
    {"huge", H_HUGE},           {"huge16m", H_HUGE16M},
    {"silent", H_SILENT},       {"reset", H_RESET},
    {"appclose", H_APPCLOSE},   {"statelessreset", H_STATELESS_RESET},
    {"bigchain", H_BIGCHAIN},
};

/* The application error code of RESET_STREAM, STOP_SENDING and
 * CONNECTION_CLOSE in the hostile modes, and the close's reason phrase:
 * with an escape sequence in it, which the client must not pass to a
 * terminal. */
#define HOSTILE_APP_ERROR 0x1badu
static const char hostile_reason[] =
    "hostile test server: go away\x1b[2J";

struct chunk {
  struct chunk *next;
  uint64_t off;
  size_t len;
  uint8_t data[CHUNK];
};

struct front {
  uint16_t backend_port;
  enum hostile hostile;
  char allow[MAX_LIST][65], deny[MAX_LIST][65];
  int n_allow, n_deny;
};

/* One connection's relay: its state for quic_server (accept .. gone). */
struct relay {
  const struct front *f;
  struct qsrv_conn *qc;
  int tcp;                   /* to smbd */
  int64_t stream_id;         /* SMB's one stream, -1 until opened */
  /* client -> smbd */
  uint8_t *up;
  size_t up_off, up_len, up_cap;
  bool up_fin, tcp_shut;
  /* smbd -> client, kept until acknowledged; cur: first unsent chunk */
  struct chunk *head, *tail, *cur;
  uint64_t end, sent, acked;
  bool tcp_eof, fin_sent;
  /* --hostile: act in this loop turn's service (the client opened its
   * stream), not inside ngtcp2's frame handling */
  bool hostile_due;
};

/* ---- client certificates ---------------------------------------------- */

static bool listed(const char list[][65], int n, const char *fp) {
  for (int i = 0; i < n; i++)
    if (strcasecmp(list[i], fp) == 0)
      return true;
  return false;
}

static int client_cert(void *app, const char *hex) {
  const struct front *f = app;
  if (listed(f->deny, f->n_deny, hex) ||
      (f->n_allow && !listed(f->allow, f->n_allow, hex))) {
    fprintf(stderr, "quic_front: client certificate %s refused\n", hex);
    return -1;
  }
  return 0;
}

/* ---- the client's side ------------------------------------------------------ */

static void *relay_accept(void *app, struct qsrv_conn *qc) {
  struct relay *r = calloc(1, sizeof(*r));
  if (!r)
    return NULL;
  r->f = app;
  r->qc = qc;
  r->tcp = -1;
  r->stream_id = -1;
  return r;
}

static void relay_gone(void *cu) {
  struct relay *r = cu;
  if (r->tcp >= 0)
    close(r->tcp);
  while (r->head) {
    struct chunk *k = r->head;
    r->head = k->next;
    free(k);
  }
  free(r->up);
  free(r);
}

static int backend_connect(struct relay *r) {
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_port = htons(r->f->backend_port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  r->tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (r->tcp < 0 || connect(r->tcp, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
    perror("quic_front: connect to smbd");
    return -1;
  }
  int one = 1;
  setsockopt(r->tcp, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  fcntl(r->tcp, F_SETFL, O_NONBLOCK);
  return 0;
}

static int relay_stream_open(void *cu, int64_t sid) {
  struct relay *r = cu;
  if (r->stream_id >= 0)
    return 0; /* SMB uses one stream; others are ignored */
  r->stream_id = sid;
  if (r->f->hostile) {
    r->hostile_due = true;
    return 0;
  }
  return backend_connect(r);
}

/* Make room for len more bytes in the client -> smbd buffer. Flow control
 * bounds it: credit is given back only as smbd takes the bytes. */
static int up_reserve(struct relay *r, size_t len) {
  if (r->up_cap - r->up_len >= len)
    return 0;
  if (r->up) /* memmove(NULL, ...) is undefined even for 0 bytes */
    memmove(r->up, r->up + r->up_off, r->up_len - r->up_off);
  r->up_len -= r->up_off;
  r->up_off = 0;
  if (r->up_len + len > MAX_UP)
    return -1;
  size_t ncap = r->up_cap ? r->up_cap : 1 << 20;
  while (ncap - r->up_len < len)
    ncap *= 2;
  if (ncap == r->up_cap)
    return 0;
  uint8_t *n = realloc(r->up, ncap);
  if (!n)
    return -1;
  r->up = n;
  r->up_cap = ncap;
  return 0;
}

static int relay_recv(void *cu, int64_t sid, const uint8_t *data,
                      size_t len, bool fin) {
  struct relay *r = cu;
  if (sid != r->stream_id)
    return 0;
  if (r->f->hostile) {
    /* nobody reads the client's requests: take them, keep the client
     * unblocked */
    qsrv_conn_consume(r->qc, sid, len);
    return 0;
  }
  if (fin)
    r->up_fin = true;
  if (!len)
    return 0;
  if (up_reserve(r, len) < 0)
    return -1;
  memcpy(r->up + r->up_len, data, len);
  r->up_len += len;
  return 0;
}

static int relay_acked(void *cu, int64_t sid, uint64_t offset,
                       uint64_t len) {
  (void)sid;
  struct relay *r = cu;
  if (offset + len > r->acked)
    r->acked = offset + len;
  while (r->head && r->head->len == CHUNK &&
         r->head->off + CHUNK <= r->acked) {
    struct chunk *k = r->head;
    r->head = k->next;
    if (!r->head)
      r->tail = NULL;
    if (r->cur == k)
      r->cur = k->next;
    free(k);
  }
  return 0;
}

/* Unsent smbd data as vecs, and the FIN once smbd hung up and every byte
 * is offered. */
static long relay_pull(void *cu, int64_t *sid, bool *fin, struct qsrv_vec *v,
                       size_t max) {
  struct relay *r = cu;
  if (r->stream_id < 0)
    return 0;
  while (r->cur && r->cur->next && r->cur->off + r->cur->len <= r->sent)
    r->cur = r->cur->next;
  size_t n = 0;
  uint64_t given = 0;
  for (struct chunk *k = r->cur; k && n < max; k = k->next) {
    if (k->off + k->len <= r->sent)
      continue;
    size_t skip = r->sent > k->off ? (size_t)(r->sent - k->off) : 0;
    v[n].base = k->data + skip;
    v[n].len = k->len - skip;
    given += v[n].len;
    n++;
  }
  /* FIN only with a vector that reaches the end of the stream */
  *fin = r->tcp_eof && !r->fin_sent && r->sent + given == r->end;
  *sid = n || *fin ? r->stream_id : -1;
  return (long)n;
}

static int relay_consumed(void *cu, int64_t sid, size_t len, bool fin) {
  (void)sid;
  struct relay *r = cu;
  r->sent += len;
  if (fin)
    r->fin_sent = true;
  return 0;
}

/* ---- smbd side ------------------------------------------------------------ */

static struct chunk *tail_with_room(struct relay *r) {
  if (r->tail && r->tail->len < CHUNK)
    return r->tail;
  struct chunk *k = malloc(sizeof(*k));
  if (!k)
    return NULL;
  k->next = NULL;
  k->off = r->end;
  k->len = 0;
  if (r->tail)
    r->tail->next = k;
  else
    r->head = k;
  r->tail = k;
  if (!r->cur)
    r->cur = k;
  return k;
}

static bool read_room(const struct relay *r) {
  return r->tcp >= 0 && !r->tcp_eof && r->end - r->acked < MAX_UNACKED;
}

/* smbd went away: application close, no error */
static void smbd_gone(struct relay *r) {
  qsrv_conn_close_app(r->qc, 0, NULL);
}

static void pump_to_smbd(struct relay *r) {
  while (r->tcp >= 0 && r->up_len > r->up_off) {
    ssize_t n = send(r->tcp, r->up + r->up_off, r->up_len - r->up_off,
                     MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
      return;
    if (n <= 0) {
      smbd_gone(r);
      return;
    }
    r->up_off += (size_t)n;
    /* smbd took the bytes: give the client as much credit back */
    qsrv_conn_consume(r->qc, r->stream_id, (size_t)n);
  }
  if (r->tcp >= 0 && r->up_fin && !r->tcp_shut) {
    shutdown(r->tcp, SHUT_WR);
    r->tcp_shut = true;
  }
}

/* smbd -> client, bounded by what waits for acknowledgement; false when
 * the connection closes */
static bool pump_from_smbd(struct relay *r) {
  while (read_room(r)) {
    struct chunk *k = tail_with_room(r);
    if (!k) {
      qsrv_conn_fail(r->qc);
      return false;
    }
    ssize_t n = recv(r->tcp, k->data + k->len, CHUNK - k->len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
      return true;
    if (n == 0)
      r->tcp_eof = true;
    if (n < 0) {
      smbd_gone(r);
      return false;
    }
    if (n == 0)
      return true;
    k->len += (size_t)n;
    r->end += (uint64_t)n;
  }
  return true;
}

static int relay_poll_fd(void *cu, short *events) {
  const struct relay *r = cu;
  if (r->tcp < 0)
    return -1;
  *events = (short)((read_room(r) ? POLLIN : 0) |
                    (r->up_len > r->up_off ? POLLOUT : 0));
  return r->tcp;
}

/* ---- hostile modes --------------------------------------------------------- */

/* Queue bytes for the client as if smbd had sent them; zeros if data is
 * NULL. */
static int queue_bytes(struct relay *r, const uint8_t *data, size_t len) {
  while (len) {
    struct chunk *k = tail_with_room(r);
    if (!k)
      return -1;
    size_t n = CHUNK - k->len < len ? CHUNK - k->len : len;
    if (data) {
      memcpy(k->data + k->len, data, n);
      data += n;
    } else {
      memset(k->data + k->len, 0, n);
    }
    k->len += n;
    r->end += n;
    len -= n;
  }
  return 0;
}

/* The client opened its stream (and sent NEGOTIATE): misbehave. MS-SMB2
 * 2.1: a Direct-TCP header is a zero byte and a 24-bit length. */
static int hostile_act(struct relay *r) {
  static const uint8_t garbage[] =
      "HTTP/1.1 400 Bad Request\r\nServer: not-smb\r\n\r\n";
  static const uint8_t huge[] = {0x80, 0, 0, 0, 0xfe, 'S', 'M', 'B'};
  static const uint8_t huge16m[] = {0, 0xff, 0xff, 0xff, 0xfe, 'S', 'M', 'B'};
  uint8_t cut[4 + 68] = {0, 0, 0, 200, 0xfe, 'S', 'M', 'B', 64};
  switch (r->f->hostile) {
  case H_GARBAGE:
    return queue_bytes(r, garbage, sizeof(garbage) - 1);
  case H_TRUNCATED:
    r->tcp_eof = true; /* FIN after the bytes */
    return queue_bytes(r, cut, sizeof(cut));
  case H_HUGE:
    return queue_bytes(r, huge, sizeof(huge));
  case H_HUGE16M:
    /* all of the frame, as far as the client's flow control lets it */
    return queue_bytes(r, huge16m, sizeof(huge16m)) < 0 ||
                   queue_bytes(r, NULL, 0xffffff - 4) < 0
               ? -1
               : 0;
  case H_RESET:
    /* RESET_STREAM and STOP_SENDING (RFC 9000 19.4, 19.5) */
    return qsrv_conn_shutdown_stream(r->qc, r->stream_id, HOSTILE_APP_ERROR);
  case H_APPCLOSE:
    qsrv_conn_close_app(r->qc, HOSTILE_APP_ERROR, hostile_reason);
    return 0;
  case H_STATELESS_RESET:
    /* after this turn's packets the client's next packet meets a
     * stateless reset. One byte of stream data (the first of a Direct-TCP
     * header) makes sure there is a next packet: the client must ACK it
     * (RFC 9000 13.2.1), whereas a bare ACK of NEGOTIATE asks for nothing
     * and the client would just wait for its answer. */
    if (queue_bytes(r, (const uint8_t *)"", 1) < 0)
      return -1;
    qsrv_conn_forget(r->qc);
    return 0;
  default: /* silent, bigchain */
    return 0;
  }
}

/* Each loop turn the connection is woken up: the hostile act, then data
 * both ways; the connection ends once smbd hung up and all is delivered. */
static void relay_service(void *cu) {
  struct relay *r = cu;
  if (r->hostile_due) {
    r->hostile_due = false;
    if (hostile_act(r) < 0) {
      qsrv_conn_fail(r->qc);
      return;
    }
  }
  pump_to_smbd(r);
  if (!pump_from_smbd(r))
    return;
  if (!r->f->hostile && r->tcp_eof && r->fin_sent && r->acked >= r->end)
    qsrv_conn_close_app(r->qc, 0, NULL);
}

static const struct qsrv_app relay_app = {
    .accept = relay_accept,
    .stream_open = relay_stream_open,
    .recv = relay_recv,
    .acked = relay_acked,
    .pull = relay_pull,
    .consumed = relay_consumed,
    .poll_fd = relay_poll_fd,
    .service = relay_service,
    .gone = relay_gone,
    .client_cert = client_cert,
};

/* ---- set-up ---------------------------------------------------------------- */

static int add_hex(char list[][65], int *n, const char *hex) {
  if (*n >= MAX_LIST || strlen(hex) != 64)
    return -1;
  snprintf(list[(*n)++], 65, "%s", hex);
  return 0;
}

static int parse_hostile(const char *name, enum hostile *mode) {
  for (size_t i = 0; i < sizeof(hostile_modes) / sizeof(hostile_modes[0]);
       i++) {
    if (strcmp(name, hostile_modes[i].name) == 0) {
      *mode = hostile_modes[i].mode;
      return 0;
    }
  }
  fprintf(stderr, "quic_front: unknown --hostile mode %s\n", name);
  return -1;
}

int main(int argc, char **argv) {
  static const struct option opts[] = {
      QSRV_LONG_OPTIONS,
      {"backend", required_argument, NULL, 'b'},
      {"listen", required_argument, NULL, 'l'},
      {"client-ca", required_argument, NULL, 'a'},
      {"require-client-cert", no_argument, NULL, 'r'},
      {"allow", required_argument, NULL, 'A'},
      {"deny", required_argument, NULL, 'D'},
      {"hostile", required_argument, NULL, 'H'},
      {NULL, 0, NULL, 0}};
  static const char *const alpn[] = {"smb"};
  struct front f = {0};
  struct qsrv_cfg cfg = {
      .name = "quic_front",
      .alpn = alpn,
      .n_alpn = 1,
      .max_streams_bidi = 4,
      .stream_window_bidi = 16 << 20,
      .conn_window = 32 << 20,
      .idle_timeout_s = 60,
      .initial_rtt_ms = 10, /* see NOTES */
      .bbr = true,
      .cb = &relay_app,
      .app = &f,
  };
  int o;
  while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (o) {
    case 'b': f.backend_port = (uint16_t)atoi(optarg); break;
    case 'l': cfg.port = atoi(optarg); break;
    case 'a': cfg.client_ca = optarg; break;
    case 'r': cfg.require_client_cert = true; break;
    case 'A':
      if (add_hex(f.allow, &f.n_allow, optarg) < 0) return 2;
      break;
    case 'D':
      if (add_hex(f.deny, &f.n_deny, optarg) < 0) return 2;
      break;
    case 'H':
      if (parse_hostile(optarg, &f.hostile) < 0) return 2;
      break;
    default:
      if (!qsrv_cfg_option(&cfg, o, optarg)) return 2;
      break;
    }
  }
  if (!cfg.cert_file || !cfg.key_file || !(f.backend_port || f.hostile) ||
      !cfg.port_file) {
    fprintf(stderr, "usage: quic_front --cert F --key F (--backend PORT | "
            "--hostile MODE) --port-file F [--listen PORT] [--client-ca F] "
            "[--require-client-cert] [--allow SHA256] [--deny SHA256]\n");
    return 2;
  }
  return qsrv_serve(&cfg);
}
