/* udp_relay: a UDP impairment relay for the QUIC e2e tests.
 *
 * Listens on a loopback UDP port and relays datagrams between one client
 * (whoever sent to that port last) and an upstream port on 127.0.0.1,
 * through its own upstream socket. Each direction is impaired on its own:
 * added one-way delay (a timed FIFO, nanosecond timers through ppoll),
 * random loss, and reordering (a datagram is held back behind the next
 * one). On SIGUSR1, and once --rebind-after-bytes bytes have gone
 * upstream, it replaces its upstream socket, so the server sees the
 * client's packets from a new source port mid-flow: NAT rebinding (RFC
 * 9000 9.3). Replies go to the address the client last sent from, so a
 * client that moves to a new socket (RFC 9000 9.2) keeps working too.
 * That is also why it serves one client at a time: two at once would get
 * each other's replies. SIGUSR2 toggles a silent path: while it is on,
 * every datagram that arrives, either way, is dropped (counted as dropped;
 * the stats file says blackhole=1), as on a link that went dead without a
 * word; the next SIGUSR2 lets datagrams through again.
 *
 * It moves datagrams in batches (recvmmsg with UDP GRO, sendmmsg with UDP
 * GSO for runs of equal-sized datagrams), so that on loopback it is not
 * the bottleneck of what it impairs. Impairments apply per datagram.
 *
 * usage: udp_relay --upstream-port N --port-file FILE [--listen PORT]
 *                  [--delay-ms MS] [--loss PCT] [--reorder PCT] [--seed N]
 *                  [--rebind-after-bytes N] [--stats-file FILE]
 * Stops on SIGTERM/SIGINT and prints its counters to stderr. With
 * --stats-file it also keeps FILE up to date (every 20 ms and at exit)
 * with the counters as KEY=VALUE lines, for tests that act mid-transfer
 * (rebind_up_bytes and rebind_down_bytes: the bytes relayed each way when
 * the last rebind happened).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "udp_batch.h"


#define BATCH 64               /* messages per recvmmsg/sendmmsg */
_Static_assert(BATCH <= UDP_RX_MAX, "a receive batch fits struct udp_rx");
#define GSO_SEGS 64            /* datagrams per GSO message (kernel limit) */
#define GSO_BYTES 65000        /* a GSO message stays under 64 KiB */
#define TX_DGRAMS 1024         /* datagrams per sendmmsg */
#define RX_BATCHES 8           /* recvmmsg calls per wake-up, for fairness */
#define MAX_DGRAM 65536        /* a UDP payload always fits */
#define ARENA_BYTES (32u << 20) /* queued bytes per direction */
#define QCAP 65536u            /* queued datagrams per direction */
#define HOLD_MAX_NS 10000000u  /* a held-back datagram waits at most 10 ms */
#define SOCK_BUF (8 << 20)
#define NS_PER_MS 1000000ull
#define STATS_EVERY_NS (20 * NS_PER_MS)

struct entry {
  uint64_t due;    /* CLOCK_MONOTONIC ns at which it may leave */
  uint32_t off;    /* in the arena */
  uint32_t len;
};

struct counters {
  uint64_t forwarded, bytes, dropped, reordered, overflow, send_errors;
};

/* One direction: a FIFO of datagrams in a byte ring. With a constant
 * delay, arrival order is departure order, so a FIFO is a timer queue. */
struct dir {
  const char *name;
  struct entry *e;
  size_t head, count;
  uint8_t *arena;
  size_t rd, wr;          /* arena offsets of the oldest and next entry */
  uint8_t *held;          /* the datagram held back for reordering */
  size_t held_len;
  bool has_held;
  uint64_t held_deadline;
  bool blocked;           /* the socket said EAGAIN: wait for POLLOUT */
  struct counters n;
};

struct relay {
  int cl, up;             /* client-facing and upstream sockets */
  struct sockaddr_in upstream;
  struct sockaddr_storage client;
  socklen_t client_len;   /* 0 until the client has sent */
  uint64_t delay_ns;
  double loss, reorder;   /* percentages */
  uint64_t rng;
  uint64_t rebind_after; /* upstream bytes before the one-shot rebind */
  uint64_t rebinds;
  uint64_t rebind_up, rebind_down; /* bytes relayed at the last rebind */
  bool blackhole;         /* the silent path is on: drop everything */
  const char *stats_file;
  uint64_t next_stats;
  struct dir to_up, to_client;
  uint8_t (*rx)[MAX_DGRAM]; /* BATCH receive buffers */
  bool gso_ok;              /* UDP_SEGMENT works; EIO turns it off */
  struct iovec *tx_iov;     /* TX_DGRAMS, for flush */
};

static volatile sig_atomic_t stop_flag, rebind_flag, blackhole_flag;

static void on_stop(int sig) {
  (void)sig;
  stop_flag = 1;
}

static void on_rebind(int sig) {
  (void)sig;
  rebind_flag = 1;
}

static void on_blackhole(int sig) {
  (void)sig;
  blackhole_flag = !blackhole_flag;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* splitmix64: small, seedable, good enough for drop decisions */
static uint64_t rng_next(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static bool chance(uint64_t *s, double pct) {
  if (pct <= 0)
    return false;
  double u = (double)(rng_next(s) >> 11) * 0x1.0p-53; /* [0, 1) */
  return u * 100.0 < pct;
}

/* ---- the per-direction queue ------------------------------------------ */

static int dir_init(struct dir *d, const char *name) {
  memset(d, 0, sizeof(*d));
  d->name = name;
  d->e = calloc(QCAP, sizeof(*d->e));
  d->arena = malloc(ARENA_BYTES);
  d->held = malloc(MAX_DGRAM);
  return d->e && d->arena && d->held ? 0 : -1;
}

static void dir_free(struct dir *d) {
  free(d->e);
  free(d->arena);
  free(d->held);
}

/* Find room for len bytes in the byte ring; returns the offset or -1.
 * Every entry takes at least one byte, so a non-empty ring never has
 * rd == wr unless it is full. */
static long arena_room(const struct dir *d, size_t len) {
  if (d->count == 0)
    return 0;
  if (d->wr > d->rd) { /* [rd, wr) used: room at the end, else at 0 */
    if (ARENA_BYTES - d->wr >= len)
      return (long)d->wr;
    return d->rd >= len ? 0 : -1;
  }
  return d->rd - d->wr >= len ? (long)d->wr : -1; /* wrapped */
}

static void enqueue(struct dir *d, const uint8_t *p, size_t len,
                    uint64_t due) {
  size_t need = len ? len : 1;
  long off = d->count < QCAP ? arena_room(d, need) : -1;
  if (off < 0) { /* a full router queue drops at the tail */
    d->n.overflow++;
    return;
  }
  if (d->count == 0)
    d->rd = 0;
  if (len) /* memcpy with a NULL source is undefined even for 0 bytes */
    memcpy(d->arena + off, p, len);
  struct entry *e = &d->e[(d->head + d->count) % QCAP];
  e->due = due;
  e->off = (uint32_t)off;
  e->len = (uint32_t)len;
  d->wr = (size_t)off + need;
  d->count++;
}

static void dequeue(struct dir *d) {
  d->head = (d->head + 1) % QCAP;
  if (--d->count == 0)
    d->rd = d->wr = 0;
  else
    d->rd = d->e[d->head].off;
}

/* One received datagram: drop it, hold it back, or queue it. A held
 * datagram leaves right after the next one (RFC 9000 13.3 expects
 * receivers to cope with reordering). */
static void admit(struct relay *r, struct dir *d, const uint8_t *p,
                  size_t len, uint64_t now) {
  if (r->blackhole || chance(&r->rng, r->loss) ||
      (d == &r->to_client && !r->client_len)) {
    d->n.dropped++;
    return;
  }
  uint64_t due = now + r->delay_ns;
  if (d->has_held) {
    enqueue(d, p, len, due);
    enqueue(d, d->held, d->held_len, due);
    d->has_held = false;
    d->n.reordered++;
    return;
  }
  if (chance(&r->rng, r->reorder)) {
    if (len)
      memcpy(d->held, p, len);
    d->held_len = len;
    d->has_held = true;
    d->held_deadline = due + HOLD_MAX_NS;
    return;
  }
  enqueue(d, p, len, due);
}

/* A held datagram with no successor in time goes out in order. */
static void release_held(struct dir *d, uint64_t now) {
  if (!d->has_held || d->held_deadline > now)
    return;
  enqueue(d, d->held, d->held_len, now);
  d->has_held = false;
}

/* ---- sockets -------------------------------------------------------------- */

static void big_buffers(int fd) {
  int sz = SOCK_BUF, one = 1;
  /* GRO hands us a sender's GSO batch in one read; optional */
  setsockopt(fd, IPPROTO_UDP, UDP_GRO, &one, sizeof(one));
  /* as root the FORCE variants pass net.core.[rw]mem_max */
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
}

static int udp_socket(uint16_t port) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
    close(fd);
    return -1;
  }
  big_buffers(fd);
  return fd;
}

static uint16_t local_port(int fd) {
  struct sockaddr_in sa;
  socklen_t l = sizeof(sa);
  if (getsockname(fd, (struct sockaddr *)&sa, &l) < 0)
    return 0;
  return ntohs(sa.sin_port);
}

/* A connected upstream socket on a fresh ephemeral port: only the
 * upstream's datagrams come back on it. */
static int upstream_socket(const struct relay *r) {
  int fd = udp_socket(0);
  if (fd < 0)
    return -1;
  if (connect(fd, (const struct sockaddr *)&r->upstream,
              sizeof(r->upstream)) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* NAT rebinding (RFC 9000 9.3): the old mapping is gone, so whatever the
 * server still sends to the old port is lost, as behind a real NAT. */
static void rebind(struct relay *r) {
  int fd = upstream_socket(r);
  if (fd < 0) {
    perror("udp_relay: new upstream socket");
    return;
  }
  uint16_t old = local_port(r->up);
  close(r->up);
  r->up = fd;
  r->rebinds++;
  r->rebind_up = r->to_up.n.bytes;
  r->rebind_down = r->to_client.n.bytes;
  r->next_stats = 0; /* tell a waiting test at once */
  r->to_up.blocked = false;
  fprintf(stderr, "udp_relay: rebind %" PRIu64 ": upstream source port "
          "%u -> %u\n", r->rebinds, old, local_port(fd));
}

/* ---- moving datagrams ----------------------------------------------------- */

/* Does entry e join a GSO message of segment size seg holding cnt
 * datagrams and bytes so far? All segments but the last are seg bytes. */
static bool joins(const struct entry *e, size_t seg, size_t cnt,
                  size_t bytes, bool gso) {
  return gso && seg && cnt < GSO_SEGS && e->len && e->len <= seg &&
         bytes + e->len <= GSO_BYTES;
}

/* Build up to BATCH messages from the datagrams due by now, runs of equal
 * size sharing one UDP GSO message (UDP_SEGMENT: the kernel splits it
 * into the same datagrams); cnt[m] says how many message m holds.
 * Returns the number of messages. */
static unsigned due_batch(struct relay *r, struct dir *d, uint64_t now,
                          struct mmsghdr *mm, union udp_ctl *ctl,
                          unsigned *cnt) {
  bool to_client = d == &r->to_client;
  unsigned n = 0;
  size_t ni = 0, seg = 0, bytes = 0;
  for (size_t q = 0; q < d->count && ni < TX_DGRAMS; q++) {
    const struct entry *e = &d->e[(d->head + q) % QCAP];
    if (e->due > now)
      break;
    bool join = n && joins(e, seg, cnt[n - 1], bytes, r->gso_ok);
    if (!join) {
      if (n == BATCH)
        break;
      mm[n].msg_hdr = (struct msghdr){
          .msg_name = to_client ? &r->client : NULL,
          .msg_namelen = to_client ? r->client_len : 0,
          .msg_iov = &r->tx_iov[ni]};
      cnt[n++] = 0;
      seg = e->len;
      bytes = 0;
    }
    struct msghdr *mh = &mm[n - 1].msg_hdr;
    r->tx_iov[ni++] = (struct iovec){d->arena + e->off, e->len};
    mh->msg_iovlen++;
    bytes += e->len;
    if (++cnt[n - 1] == 2)
      udp_set_segment(mh, &ctl[n - 1], seg);
    if (e->len < seg)
      seg = 0; /* a short segment ends the message */
  }
  return n;
}

/* Dequeue the first count datagrams as forwarded. */
static void forwarded(struct dir *d, unsigned count) {
  for (unsigned j = 0; j < count; j++) {
    d->n.forwarded++;
    d->n.bytes += d->e[d->head].len;
    dequeue(d);
  }
}

/* sendmmsg failed before the first message: wait, retry, or drop it. */
static void send_failed(struct relay *r, struct dir *d, unsigned first,
                        bool *retried) {
  if (errno == EAGAIN || errno == EWOULDBLOCK) {
    d->blocked = true;
  } else if (errno == EIO && r->gso_ok && first > 1) {
    r->gso_ok = false; /* no GSO on this path: one datagram a message */
  } else if (errno == EINTR || (errno == ECONNREFUSED && !*retried)) {
    /* ECONNREFUSED reports an earlier ICMP error and sent nothing:
     * retry once */
    *retried = true;
  } else { /* these datagrams cannot go */
    d->n.send_errors += first;
    for (unsigned j = 0; j < first; j++)
      dequeue(d);
  }
}

/* Send the queue's due datagrams in sendmmsg batches until none is due
 * or the socket is full. */
static void flush(struct relay *r, struct dir *d, uint64_t now) {
  bool to_client = d == &r->to_client, retried = false;
  while (d->count && d->e[d->head].due <= now && !d->blocked) {
    struct mmsghdr mm[BATCH];
    union udp_ctl ctl[BATCH];
    unsigned cnt[BATCH];
    unsigned n = due_batch(r, d, now, mm, ctl, cnt);
    int k = sendmmsg(to_client ? r->cl : r->up, mm, n, 0);
    if (k < 0) {
      send_failed(r, d, cnt[0], &retried);
      continue;
    }
    retried = false;
    for (int m = 0; m < k; m++)
      forwarded(d, cnt[m]);
    if (!to_client && r->rebind_after && d->n.bytes >= r->rebind_after) {
      r->rebind_after = 0; /* once */
      rebind(r);
    }
  }
}

/* One received message, split back into its datagrams if GRO joined
 * several: each one is impaired on its own. */
static void admit_all(struct relay *r, struct dir *d, const uint8_t *p,
                      size_t len, size_t seg, uint64_t now) {
  if (!seg || !len) {
    admit(r, d, p, len, now);
    return;
  }
  for (size_t off = 0; off < len; off += seg)
    admit(r, d, p + off, len - off < seg ? len - off : seg, now);
}

/* Receive what is waiting on fd into direction d, a batch at a time. */
static void receive(struct relay *r, int fd, struct dir *d) {
  struct udp_rx b;
  bool from_client = d == &r->to_up;
  for (int round = 0; round < RX_BATCHES; round++) {
    int k = udp_recv_batch(fd, &b, r->rx[0], MAX_DGRAM, BATCH);
    if (k < 0) {
      if (errno == ECONNREFUSED || errno == EINTR)
        continue; /* an ICMP error from upstream: try again */
      return;     /* EAGAIN: drained */
    }
    uint64_t now = now_ns();
    for (int i = 0; i < k; i++) {
      struct msghdr *mh = &b.mm[i].msg_hdr;
      if (from_client) { /* replies follow the client's latest address */
        memcpy(&r->client, &b.from[i], mh->msg_namelen);
        r->client_len = mh->msg_namelen;
      }
      admit_all(r, d, r->rx[i], b.mm[i].msg_len, udp_gro_size(mh), now);
    }
    if (k < BATCH)
      return;
  }
}

/* The earliest moment something must happen, or UINT64_MAX. */
static uint64_t next_event(const struct dir *d) {
  uint64_t t = UINT64_MAX;
  if (d->count && !d->blocked)
    t = d->e[d->head].due;
  if (d->has_held && d->held_deadline < t)
    t = d->held_deadline;
  return t;
}

/* Replace the stats file atomically (write, then rename), so a reader
 * never sees half of it. */
static void write_stats(const struct relay *r) {
  char tmp[4096];
  if (snprintf(tmp, sizeof(tmp), "%s.tmp", r->stats_file) >= (int)sizeof(tmp))
    return;
  FILE *f = fopen(tmp, "w");
  if (!f)
    return;
  const struct dir *ds[2] = {&r->to_up, &r->to_client};
  const char *pre[2] = {"up", "down"};
  for (int i = 0; i < 2; i++) {
    const struct counters *n = &ds[i]->n;
    fprintf(f, "%s_forwarded=%" PRIu64 "\n%s_bytes=%" PRIu64 "\n"
            "%s_dropped=%" PRIu64 "\n%s_reordered=%" PRIu64 "\n"
            "%s_overflow=%" PRIu64 "\n%s_send_errors=%" PRIu64 "\n",
            pre[i], n->forwarded, pre[i], n->bytes, pre[i], n->dropped,
            pre[i], n->reordered, pre[i], n->overflow, pre[i],
            n->send_errors);
  }
  fprintf(f, "rebinds=%" PRIu64 "\nrebind_up_bytes=%" PRIu64
          "\nrebind_down_bytes=%" PRIu64 "\nblackhole=%d\n", r->rebinds,
          r->rebind_up, r->rebind_down, r->blackhole ? 1 : 0);
  if (fclose(f) == 0)
    rename(tmp, r->stats_file);
}

static void maybe_write_stats(struct relay *r, uint64_t now) {
  if (!r->stats_file || now < r->next_stats)
    return;
  write_stats(r);
  r->next_stats = now + STATS_EVERY_NS;
}

static void run(struct relay *r, const sigset_t *waitmask) {
  while (!stop_flag) {
    if (rebind_flag) {
      rebind_flag = 0;
      rebind(r);
    }
    if ((bool)blackhole_flag != r->blackhole) {
      r->blackhole = blackhole_flag;
      fprintf(stderr, "udp_relay: silent path %s\n",
              r->blackhole ? "on: dropping every datagram" : "off");
      r->next_stats = 0; /* tell a waiting test at once */
    }
    uint64_t now = now_ns();
    release_held(&r->to_up, now);
    release_held(&r->to_client, now);
    flush(r, &r->to_up, now);
    flush(r, &r->to_client, now);
    maybe_write_stats(r, now);
    uint64_t t = next_event(&r->to_up), t2 = next_event(&r->to_client);
    if (t2 < t)
      t = t2;
    if (r->stats_file && r->next_stats < t)
      t = r->next_stats;
    struct pollfd pfd[2] = {
        {.fd = r->cl, .events = POLLIN | (r->to_client.blocked ? POLLOUT : 0)},
        {.fd = r->up, .events = POLLIN | (r->to_up.blocked ? POLLOUT : 0)}};
    struct timespec ts, *tp = NULL;
    if (t != UINT64_MAX) {
      uint64_t wait = t > now ? t - now : 0;
      ts.tv_sec = (time_t)(wait / 1000000000ull);
      ts.tv_nsec = (long)(wait % 1000000000ull);
      tp = &ts;
    }
    /* signals are blocked except inside ppoll: no lost wake-ups */
    if (ppoll(pfd, 2, tp, waitmask) < 0)
      continue;
    if (pfd[0].revents & POLLOUT)
      r->to_client.blocked = false;
    if (pfd[1].revents & POLLOUT)
      r->to_up.blocked = false;
    if (pfd[0].revents & (POLLIN | POLLERR))
      receive(r, r->cl, &r->to_up);
    if (pfd[1].revents & (POLLIN | POLLERR))
      receive(r, r->up, &r->to_client);
  }
}

static void print_counters(const struct relay *r, uint64_t seed) {
  const struct dir *ds[2] = {&r->to_up, &r->to_client};
  for (int i = 0; i < 2; i++) {
    const struct counters *n = &ds[i]->n;
    fprintf(stderr, "udp_relay: %s: forwarded=%" PRIu64 " bytes=%" PRIu64
            " dropped=%" PRIu64 " reordered=%" PRIu64 " overflow=%" PRIu64
            " send_errors=%" PRIu64 "\n", ds[i]->name, n->forwarded,
            n->bytes, n->dropped, n->reordered, n->overflow, n->send_errors);
  }
  fprintf(stderr, "udp_relay: rebinds=%" PRIu64 " seed=%" PRIu64 "\n",
          r->rebinds, seed);
}

/* ---- set-up --------------------------------------------------------------- */

struct options {
  long listen, upstream;
  const char *port_file;
  double delay_ms, loss, reorder;
  uint64_t seed, rebind_after;
  const char *stats_file;
  bool seeded;
};

static bool parse_num(const char *s, double lo, double hi, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || !(v >= lo && v <= hi))
    return false;
  *out = v;
  return true;
}

static bool parse_u64(const char *s, uint64_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s || *end || *s == '-')
    return false;
  *out = v;
  return true;
}

static bool parse_port(const char *s, long *out) {
  double v;
  if (!parse_num(s, 0, 65535, &v) || v != (long)v)
    return false;
  *out = (long)v;
  return true;
}

static bool parse_opt(struct options *o, int c, const char *arg) {
  switch (c) {
  case 'l': return parse_port(arg, &o->listen);
  case 'u': return parse_port(arg, &o->upstream) && o->upstream > 0;
  case 'p': o->port_file = arg; return true;
  case 'd': return parse_num(arg, 0, 60000, &o->delay_ms);
  case 'L': return parse_num(arg, 0, 100, &o->loss);
  case 'R': return parse_num(arg, 0, 100, &o->reorder);
  case 's': o->seeded = true; return parse_u64(arg, &o->seed);
  case 'b': return parse_u64(arg, &o->rebind_after);
  case 'S': o->stats_file = arg; return true;
  default: return false;
  }
}

static int parse_args(int argc, char **argv, struct options *o) {
  static const struct option opts[] = {
      {"listen", required_argument, NULL, 'l'},
      {"upstream-port", required_argument, NULL, 'u'},
      {"port-file", required_argument, NULL, 'p'},
      {"delay-ms", required_argument, NULL, 'd'},
      {"loss", required_argument, NULL, 'L'},
      {"reorder", required_argument, NULL, 'R'},
      {"seed", required_argument, NULL, 's'},
      {"rebind-after-bytes", required_argument, NULL, 'b'},
      {"stats-file", required_argument, NULL, 'S'},
      {NULL, 0, NULL, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    if (!parse_opt(o, c, optarg)) {
      fprintf(stderr, "udp_relay: bad option or value: %s\n",
              argv[optind - 1]);
      return -1;
    }
  }
  if (!o->upstream || !o->port_file || optind != argc) {
    fprintf(stderr, "usage: udp_relay --upstream-port N --port-file F "
            "[--listen PORT] [--delay-ms MS] [--loss PCT] [--reorder PCT] "
            "[--seed N] [--rebind-after-bytes N] [--stats-file F]\n");
    return -1;
  }
  return 0;
}

static int write_port_file(const char *path, uint16_t port) {
  FILE *f = fopen(path, "w");
  if (!f)
    return -1;
  fprintf(f, "%u\n", port);
  return fclose(f);
}

static int setup(struct relay *r, const struct options *o) {
  r->upstream = (struct sockaddr_in){
      .sin_family = AF_INET, .sin_port = htons((uint16_t)o->upstream),
      .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  r->delay_ns = (uint64_t)(o->delay_ms * (double)NS_PER_MS);
  r->loss = o->loss;
  r->reorder = o->reorder;
  r->rng = o->seed;
  r->rebind_after = o->rebind_after;
  r->stats_file = o->stats_file;
  r->gso_ok = true;
  r->rx = malloc(sizeof(*r->rx) * BATCH);
  r->tx_iov = calloc(TX_DGRAMS, sizeof(*r->tx_iov));
  if (!r->rx || !r->tx_iov || dir_init(&r->to_up, "client->upstream") < 0 ||
      dir_init(&r->to_client, "upstream->client") < 0)
    return -1;
  r->cl = udp_socket((uint16_t)o->listen);
  r->up = upstream_socket(r);
  if (r->cl < 0 || r->up < 0) {
    perror("udp_relay: socket");
    return -1;
  }
  if (write_port_file(o->port_file, local_port(r->cl)) < 0) {
    perror("udp_relay: port file");
    return -1;
  }
  return 0;
}

static void install_signals(sigset_t *waitmask) {
  struct sigaction sa = {.sa_handler = on_stop};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sa.sa_handler = on_rebind;
  sigaction(SIGUSR1, &sa, NULL);
  sa.sa_handler = on_blackhole;
  sigaction(SIGUSR2, &sa, NULL);
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGUSR1);
  sigaddset(&block, SIGUSR2);
  sigprocmask(SIG_BLOCK, &block, waitmask);
  sigdelset(waitmask, SIGTERM);
  sigdelset(waitmask, SIGINT);
  sigdelset(waitmask, SIGUSR1);
  sigdelset(waitmask, SIGUSR2);
}

int main(int argc, char **argv) {
  struct options o = {0};
  if (parse_args(argc, argv, &o) < 0)
    return 2;
  if (!o.seeded)
    o.seed = now_ns() ^ ((uint64_t)getpid() << 32);
  sigset_t waitmask;
  install_signals(&waitmask); /* before the port file announces us */
  /* the default 50 us timer slack would blur sub-millisecond delays */
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  struct relay r;
  memset(&r, 0, sizeof(r));
  r.cl = r.up = -1;
  int rc = setup(&r, &o);
  if (rc == 0) {
    fprintf(stderr, "udp_relay: port %u -> 127.0.0.1:%ld delay=%gms "
            "loss=%g%% reorder=%g%% seed=%" PRIu64 "\n", local_port(r.cl),
            o.upstream, o.delay_ms, o.loss, o.reorder, o.seed);
    run(&r, &waitmask);
    print_counters(&r, o.seed);
    if (r.stats_file)
      write_stats(&r);
  }
  if (r.cl >= 0)
    close(r.cl);
  if (r.up >= 0)
    close(r.up);
  dir_free(&r.to_up);
  dir_free(&r.to_client);
  free(r.rx);
  free(r.tx_iov);
  return rc == 0 ? 0 : 1;
}
