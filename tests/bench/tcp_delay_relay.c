/* tcp_delay_relay: a TCP relay that adds a fixed one-way delay, for the
 * WAN benchmark (tests/bench/bench_wan.sh) and the reconnect tests.
 *
 * There is no tc netem in this kernel (see NOTES.md), so latency has to be
 * made in user space. The relay accepts TCP connections on --listen,
 * connects each one to --target, and forwards bytes both ways; every chunk
 * it reads is held until D ms after it was read, then written on. Each
 * direction is delayed on its own, so a request/response round trip grows
 * by 2 * D: that is what a client with few round trips per operation
 * should be measured against.
 *
 * What this is not: a packet-level emulator. The relay terminates TCP on
 * both sides, so each TCP connection sees loopback RTTs and its congestion
 * control never sees the delay; throughput through it is bounded by the
 * queue cap (--max-queue bytes per direction per D ms), not by a window
 * growing against a real RTT. Compare clients with each other through the
 * same relay, not with figures from a real WAN.
 *
 * Cut and restore (for reconnect tests): SIGUSR1 closes every connection
 * with a reset on both ends (a cut link never delivers an orderly FIN, and
 * a reset makes both ends notice now rather than at their keep-alive
 * timeout, which keeps tests fast and deterministic) and refuses new
 * connections (ECONNREFUSED, as from a host that is up but unreachable on
 * that port) until SIGUSR2. To refuse without giving the port away, a
 * second socket bound to the same address with SO_REUSEPORT, never
 * listening, holds the port while the listening socket is closed.
 *
 * usage: tcp_delay_relay --listen ADDR:PORT --target ADDR:PORT
 *                        [--delay-ms D] [--port-file FILE]
 *                        [--max-queue BYTES]
 * ADDR is numeric IPv4 or [IPv6]. With port 0 the kernel picks the
 * listening port and --port-file receives it (written once listening, so a
 * script may wait for the file and then connect). SIGTERM/SIGINT stop it;
 * it frees everything and prints its counters to stderr.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK (64 * 1024) /* bytes per recv; one queue entry each */
#define READS_PER_WAKE 16      /* then yield to other connections */
#define DEFAULT_MAX_QUEUE (16u << 20)
#define NS_PER_MS 1000000ull
#define MAX_EVENTS 64

/* What an epoll event points at: the tag tells which struct it is. */
enum kind { K_LISTEN, K_SIGNAL, K_TIMER, K_SIDE };

struct tag {
  enum kind kind;
};

/* A chunk of bytes read at some time, due on the other side D ms later.
 * An EOF marker (eof = true, no bytes) carries the FIN through the same
 * delay, so a half-close arrives after the data that preceded it. */
struct chunk {
  struct chunk *next;
  uint64_t due; /* CLOCK_MONOTONIC ns */
  size_t len, off;
  bool eof;
  unsigned char data[];
};

/* One direction. With a constant delay, read order is due order, so a
 * FIFO is all the timer queue needed. */
struct dir {
  struct chunk *head, *tail;
  size_t queued;  /* bytes not yet written: the back-pressure measure */
  bool src_eof;   /* the source sent FIN: read no more */
  bool dst_shut;  /* that FIN was passed on: this direction is done */
  bool blocked;   /* the destination's send buffer is full: wait EPOLLOUT */
};

struct conn;

/* One end of a relayed connection: 0 = the client we accepted, 1 = the
 * connection we made to the target. */
struct side {
  struct tag tag;
  int fd;
  uint32_t events; /* what epoll currently watches, to skip no-op MODs */
  bool watched;    /* still in the epoll set */
  struct conn *conn;
};

/* d[k] carries bytes read from s[k] to s[1 - k]. */
struct conn {
  struct side s[2];
  struct dir d[2];
  bool connecting; /* the connect to the target has not completed yet */
  bool dead;       /* closed; freed after the current batch of events */
  struct conn *prev, *next;
};

struct relay {
  int ep;
  struct tag listen_tag, signal_tag, timer_tag;
  int listen_fd;  /* -1 while cut */
  int hold_fd;    /* holds the port while cut (see the top comment) */
  int signal_fd, timer_fd;
  struct sockaddr_storage listen_addr, target_addr;
  socklen_t listen_len, target_len;
  uint64_t delay_ns;
  size_t max_queue;
  bool cut;
  struct conn *conns;
  struct conn *graveyard; /* closed this batch; see conn_close */
  uint64_t timer_armed; /* the due time the timer is set for, 0 = none */
  /* counters, printed at exit */
  uint64_t accepted, refused_connects, cuts, bytes[2];
};

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

/* "1.2.3.4:5", "[::1]:5" -> sockaddr. Numeric only: a test relay should
 * not depend on name resolution. */
static int parse_addr(const char *s, struct sockaddr_storage *ss,
                      socklen_t *len) {
  char host[128];
  const char *colon, *h = s;
  size_t hl;
  if (s[0] == '[') {
    const char *end = strchr(s, ']');
    if (!end || end[1] != ':')
      return -1;
    h = s + 1;
    hl = (size_t)(end - h);
    colon = end + 1;
  } else {
    colon = strrchr(s, ':');
    if (!colon)
      return -1;
    hl = (size_t)(colon - s);
  }
  if (hl == 0 || hl >= sizeof host)
    return -1;
  memcpy(host, h, hl);
  host[hl] = '\0';
  struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
                           .ai_socktype = SOCK_STREAM};
  struct addrinfo *ai;
  if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
    return -1;
  memcpy(ss, ai->ai_addr, ai->ai_addrlen);
  *len = ai->ai_addrlen;
  freeaddrinfo(ai);
  return 0;
}

static uint16_t addr_port(const struct sockaddr_storage *ss) {
  if (ss->ss_family == AF_INET6)
    return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
  return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

/* A socket bound to the listening address with SO_REUSEPORT, so that the
 * hold socket and the listening socket can share the port. */
static int bound_socket(struct relay *r) {
  int fd = socket(r->listen_addr.ss_family,
                  SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    die("socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
    die("SO_REUSEPORT");
  if (bind(fd, (struct sockaddr *)&r->listen_addr, r->listen_len) < 0)
    die("bind");
  return fd;
}

/* SO_REUSEPORT lets any process of the same user share a port: two relays
 * started on the same fixed port (say two benchmarks on 127.0.0.2:445)
 * would both bind and split the connections between them. So a fixed port
 * is first checked with a plain bind, which fails if anyone holds it. */
static void check_port_free(struct relay *r) {
  if (addr_port(&r->listen_addr) == 0)
    return;
  int fd = socket(r->listen_addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    die("socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)&r->listen_addr, r->listen_len) < 0)
    die("bind"); /* "bind: Address already in use": the caller's reason */
  close(fd);
}

static void open_listener(struct relay *r) {
  r->listen_fd = bound_socket(r);
  if (listen(r->listen_fd, 128) < 0)
    die("listen");
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &r->listen_tag};
  if (epoll_ctl(r->ep, EPOLL_CTL_ADD, r->listen_fd, &ev) < 0)
    die("epoll_ctl listen");
}

/* ---- connections ------------------------------------------------------- */

static void free_chunks(struct dir *d) {
  struct chunk *c = d->head;
  while (c) {
    struct chunk *n = c->next;
    free(c);
    c = n;
  }
  d->head = d->tail = NULL;
  d->queued = 0;
}

/* Close both ends. With reset, an abortive close (RST), so that an error
 * or a cut on one side is seen as one on the other, not as a clean end.
 * The struct is not freed yet: events already fetched in this epoll batch
 * may still point at it (and a new connection could reuse the memory), so
 * it goes to the graveyard, marked dead, until the batch is over. */
static void conn_close(struct relay *r, struct conn *c, bool reset) {
  for (int i = 0; i < 2; i++) {
    if (c->s[i].fd < 0)
      continue;
    if (reset) {
      struct linger lg = {.l_onoff = 1, .l_linger = 0};
      setsockopt(c->s[i].fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    close(c->s[i].fd); /* also leaves the epoll set */
    c->s[i].fd = -1;
  }
  free_chunks(&c->d[0]);
  free_chunks(&c->d[1]);
  if (c->prev)
    c->prev->next = c->next;
  else
    r->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  c->dead = true;
  c->prev = NULL;
  c->next = r->graveyard;
  r->graveyard = c;
}

static void bury(struct relay *r) {
  while (r->graveyard) {
    struct conn *c = r->graveyard;
    r->graveyard = c->next;
    free(c);
  }
}

/* Recompute what side i waits for. Reading stops while its direction's
 * queue is full: that is the back-pressure that keeps memory bounded and
 * lets the sender's TCP window close as a slow link's would. */
static int side_update(struct relay *r, struct conn *c, int i) {
  struct side *s = &c->s[i];
  uint32_t ev = 0;
  const struct dir *in = &c->d[i], *out = &c->d[1 - i];
  if (!s->watched)
    return 0;
  if (in->src_eof && out->dst_shut) {
    /* Nothing more to read or write on this fd, but epoll reports
     * EPOLLHUP whatever we ask for: leave the set, or the loop would spin
     * until the other direction's delayed FIN goes out. */
    s->watched = false;
    return epoll_ctl(r->ep, EPOLL_CTL_DEL, s->fd, NULL);
  }
  if (i == 1 && c->connecting) {
    ev = EPOLLOUT;
  } else {
    if (!in->src_eof && in->queued < r->max_queue)
      ev |= EPOLLIN;
    if (out->blocked)
      ev |= EPOLLOUT;
  }
  if (ev == s->events)
    return 0;
  struct epoll_event e = {.events = ev, .data.ptr = &s->tag};
  if (epoll_ctl(r->ep, EPOLL_CTL_MOD, s->fd, &e) < 0)
    return -1;
  s->events = ev;
  return 0;
}

static void accept_one(struct relay *r, int cfd) {
  struct conn *c = calloc(1, sizeof *c);
  if (!c) {
    close(cfd);
    return;
  }
  int one = 1;
  /* The relay adds the delay; Nagle must not add its own on top. */
  setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int tfd = socket(r->target_addr.ss_family,
                   SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (tfd < 0) {
    close(cfd);
    free(c);
    return;
  }
  setsockopt(tfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int rc = connect(tfd, (struct sockaddr *)&r->target_addr, r->target_len);
  if (rc < 0 && errno != EINPROGRESS) {
    /* The target is down: pass that on as a reset, as a router would. */
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(cfd);
    close(tfd);
    free(c);
    return;
  }
  c->connecting = rc < 0;
  for (int i = 0; i < 2; i++) {
    c->s[i].tag.kind = K_SIDE;
    c->s[i].conn = c;
    c->s[i].fd = i == 0 ? cfd : tfd;
  }
  c->next = r->conns;
  if (r->conns)
    r->conns->prev = c;
  r->conns = c;
  r->accepted++;
  for (int i = 0; i < 2; i++) {
    struct epoll_event e = {.events = 0, .data.ptr = &c->s[i].tag};
    c->s[i].watched = true;
    if (epoll_ctl(r->ep, EPOLL_CTL_ADD, c->s[i].fd, &e) < 0 ||
        side_update(r, c, i) < 0) {
      conn_close(r, c, true);
      return;
    }
  }
}

static void on_listen(struct relay *r) {
  for (;;) {
    int fd = accept4(r->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
      return; /* EAGAIN, or a client that gave up: nothing to do */
    accept_one(r, fd);
  }
}

/* Write what is due in direction k. Returns -1 when the connection is
 * broken (the caller closes it), 0 otherwise. */
static int flush_dir(struct relay *r, struct conn *c, int k, uint64_t now) {
  struct dir *d = &c->d[k];
  int dst = c->s[1 - k].fd;
  if (c->connecting || d->blocked)
    return 0;
  while (d->head && d->head->due <= now) {
    struct chunk *ch = d->head;
    if (ch->eof) {
      shutdown(dst, SHUT_WR);
      d->dst_shut = true;
    } else {
      while (ch->off < ch->len) {
        ssize_t n = send(dst, ch->data + ch->off, ch->len - ch->off,
                         MSG_NOSIGNAL);
        if (n < 0) {
          if (errno == EINTR)
            continue;
          if (errno == EAGAIN || errno == EWOULDBLOCK) {
            d->blocked = true;
            return side_update(r, c, 1 - k);
          }
          return -1;
        }
        ch->off += (size_t)n;
        d->queued -= (size_t)n;
        r->bytes[k] += (uint64_t)n;
      }
    }
    d->head = ch->next;
    if (!d->head)
      d->tail = NULL;
    free(ch);
  }
  /* Room again in the queue: the source may be read again. */
  return side_update(r, c, k);
}

static void enqueue(struct dir *d, struct chunk *ch) {
  ch->next = NULL;
  if (d->tail)
    d->tail->next = ch;
  else
    d->head = ch;
  d->tail = ch;
}

/* Read from side k into direction k, stamping each chunk with its due
 * time. Returns -1 on a broken connection. */
static int read_side(struct relay *r, struct conn *c, int k) {
  struct dir *d = &c->d[k];
  static unsigned char buf[READ_CHUNK];
  for (int i = 0; i < READS_PER_WAKE && !d->src_eof &&
                  d->queued < r->max_queue;
       i++) {
    ssize_t n = recv(c->s[k].fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        break;
      return -1;
    }
    struct chunk *ch = malloc(sizeof *ch + (size_t)n);
    if (!ch)
      return -1;
    ch->due = now_ns() + r->delay_ns;
    ch->len = (size_t)n;
    ch->off = 0;
    ch->eof = n == 0;
    memcpy(ch->data, buf, (size_t)n);
    enqueue(d, ch);
    d->queued += (size_t)n;
    if (n == 0)
      d->src_eof = true;
  }
  return side_update(r, c, k);
}

static void on_side(struct relay *r, struct side *s, uint32_t events) {
  struct conn *c = s->conn;
  int i = (int)(s - c->s);
  if (c->dead)
    return; /* closed earlier in this batch */
  if (events & EPOLLERR) {
    /* A reset or an unreachable target: pass it on as a reset. Handled
     * here, not through recv, because epoll reports it even when we are
     * not reading this side, and would report it again and again. */
    conn_close(r, c, true);
    return;
  }
  if (i == 1 && c->connecting) {
    int err = 0;
    socklen_t el = sizeof err;
    getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err || (events & (EPOLLERR | EPOLLHUP))) {
      conn_close(r, c, true);
      return;
    }
    c->connecting = false;
    if (side_update(r, c, 0) < 0 || side_update(r, c, 1) < 0)
      conn_close(r, c, true);
    return; /* queued client bytes go out from the main loop's flush */
  }
  /* EPOLLOUT: the destination of direction 1 - i has room again. */
  if (events & EPOLLOUT)
    c->d[1 - i].blocked = false;
  /* EPOLLHUP: the peer is gone; recv below says how (0 or an error). */
  if (events & (EPOLLIN | EPOLLHUP))
    if (read_side(r, c, i) < 0) {
      conn_close(r, c, true);
      return;
    }
  if (side_update(r, c, 0) < 0 || side_update(r, c, 1) < 0)
    conn_close(r, c, true);
}

/* ---- cut and restore --------------------------------------------------- */

static void cut(struct relay *r) {
  while (r->conns)
    conn_close(r, r->conns, true);
  if (r->listen_fd >= 0) {
    /* Closing the listener while hold_fd keeps the port: connects get
     * ECONNREFUSED, and nobody else can take the port meanwhile. */
    close(r->listen_fd);
    r->listen_fd = -1;
  }
  r->cut = true;
  r->cuts++;
  fprintf(stderr, "tcp_delay_relay: cut\n");
}

static void restore(struct relay *r) {
  if (r->listen_fd < 0)
    open_listener(r);
  r->cut = false;
  fprintf(stderr, "tcp_delay_relay: restored\n");
}

/* ---- main -------------------------------------------------------------- */

static void usage(FILE *f) {
  fprintf(f,
          "usage: tcp_delay_relay --listen ADDR:PORT --target ADDR:PORT\n"
          "                       [--delay-ms D] [--port-file FILE]\n"
          "                       [--max-queue BYTES]\n"
          "Adds D ms to each direction (RTT + 2D). SIGUSR1: cut (reset all\n"
          "connections, refuse new ones); SIGUSR2: restore; SIGTERM: stop.\n");
}

/* Arm the timer for the earliest chunk that is waiting only for time
 * (not for a full send buffer or a connect). */
static void arm_timer(struct relay *r) {
  uint64_t next = 0;
  for (struct conn *c = r->conns; c; c = c->next)
    for (int k = 0; k < 2; k++) {
      const struct dir *d = &c->d[k];
      if (d->head && !d->blocked && !c->connecting &&
          (next == 0 || d->head->due < next))
        next = d->head->due;
    }
  if (next == r->timer_armed)
    return;
  struct itimerspec its = {0};
  if (next) {
    its.it_value.tv_sec = (time_t)(next / 1000000000ull);
    its.it_value.tv_nsec = (long)(next % 1000000000ull);
  }
  if (timerfd_settime(r->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
    die("timerfd_settime");
  r->timer_armed = next;
}

int main(int argc, char **argv) {
  static const struct option longopts[] = {
      {"listen", required_argument, NULL, 'l'},
      {"target", required_argument, NULL, 't'},
      {"delay-ms", required_argument, NULL, 'd'},
      {"port-file", required_argument, NULL, 'p'},
      {"max-queue", required_argument, NULL, 'q'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  struct relay r = {.listen_fd = -1, .hold_fd = -1,
                    .max_queue = DEFAULT_MAX_QUEUE};
  const char *listen_s = NULL, *target_s = NULL, *port_file = NULL;
  double delay_ms = 0;
  int opt;
  while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    switch (opt) {
    case 'l': listen_s = optarg; break;
    case 't': target_s = optarg; break;
    case 'd': delay_ms = strtod(optarg, NULL); break;
    case 'p': port_file = optarg; break;
    case 'q': r.max_queue = strtoull(optarg, NULL, 10); break;
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return 2;
    }
  }
  if (!listen_s || !target_s || optind != argc || delay_ms < 0 ||
      r.max_queue == 0) {
    usage(stderr);
    return 2;
  }
  if (parse_addr(listen_s, &r.listen_addr, &r.listen_len) < 0 ||
      parse_addr(target_s, &r.target_addr, &r.target_len) < 0) {
    fprintf(stderr, "tcp_delay_relay: bad address (want ADDR:PORT, "
                    "numeric)\n");
    return 2;
  }
  r.delay_ns = (uint64_t)(delay_ms * (double)NS_PER_MS);
  /* A relay left behind by a killed test script would hold its port
   * forever: die with the parent. */
  prctl(PR_SET_PDEATHSIG, SIGTERM);

  /* Signals arrive as events, so handlers never race the loop. */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIGUSR2);
  if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
    die("sigprocmask");
  r.signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  r.timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  r.ep = epoll_create1(EPOLL_CLOEXEC);
  if (r.signal_fd < 0 || r.timer_fd < 0 || r.ep < 0)
    die("signalfd/timerfd/epoll");
  r.listen_tag.kind = K_LISTEN;
  r.signal_tag.kind = K_SIGNAL;
  r.timer_tag.kind = K_TIMER;
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &r.signal_tag};
  epoll_ctl(r.ep, EPOLL_CTL_ADD, r.signal_fd, &ev);
  ev.data.ptr = &r.timer_tag;
  epoll_ctl(r.ep, EPOLL_CTL_ADD, r.timer_fd, &ev);

  /* The hold socket binds first: with port 0 it is the one that gets a
   * port from the kernel, and the listener then binds that same port. */
  check_port_free(&r);
  r.hold_fd = bound_socket(&r);
  struct sockaddr_storage got;
  socklen_t gl = sizeof got;
  if (getsockname(r.hold_fd, (struct sockaddr *)&got, &gl) < 0)
    die("getsockname");
  if (got.ss_family == AF_INET6)
    ((struct sockaddr_in6 *)&r.listen_addr)->sin6_port =
        ((struct sockaddr_in6 *)&got)->sin6_port;
  else
    ((struct sockaddr_in *)&r.listen_addr)->sin_port =
        ((struct sockaddr_in *)&got)->sin_port;
  open_listener(&r);
  if (port_file) {
    /* Written to a temp name and renamed: a reader never sees it half
     * written. */
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%u\n", addr_port(&r.listen_addr)) < 0 ||
        fclose(f) != 0 || rename(tmp, port_file) < 0)
      die(port_file);
  }

  bool running = true;
  while (running) {
    struct epoll_event evs[MAX_EVENTS];
    int n = epoll_wait(r.ep, evs, MAX_EVENTS, -1);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; i++) {
      struct tag *t = evs[i].data.ptr;
      switch (t->kind) {
      case K_LISTEN:
        if (r.listen_fd >= 0)
          on_listen(&r);
        break;
      case K_TIMER: {
        uint64_t exp;
        if (read(r.timer_fd, &exp, sizeof exp) < 0) { /* EAGAIN: fine */
        }
        r.timer_armed = 0;
        break;
      }
      case K_SIGNAL: {
        struct signalfd_siginfo si;
        while (read(r.signal_fd, &si, sizeof si) == (ssize_t)sizeof si) {
          if (si.ssi_signo == SIGUSR1)
            cut(&r);
          else if (si.ssi_signo == SIGUSR2)
            restore(&r);
          else
            running = false;
        }
        break;
      }
      case K_SIDE:
        on_side(&r, (struct side *)t, evs[i].events);
        break;
      }
    }
    /* Pass on everything due, close what is finished, re-arm the timer. */
    uint64_t now = now_ns();
    struct conn *next;
    for (struct conn *c = r.conns; c; c = next) {
      next = c->next;
      if (flush_dir(&r, c, 0, now) < 0 || flush_dir(&r, c, 1, now) < 0)
        conn_close(&r, c, true);
      else if (c->d[0].dst_shut && c->d[1].dst_shut)
        conn_close(&r, c, false); /* both FINs passed on: a clean end */
    }
    bury(&r);
    arm_timer(&r);
  }

  while (r.conns)
    conn_close(&r, r.conns, false);
  bury(&r);
  if (r.listen_fd >= 0)
    close(r.listen_fd);
  close(r.hold_fd);
  close(r.signal_fd);
  close(r.timer_fd);
  close(r.ep);
  fprintf(stderr,
          "tcp_delay_relay: accepted=%" PRIu64 " cuts=%" PRIu64
          " bytes_up=%" PRIu64 " bytes_down=%" PRIu64 "\n",
          r.accepted, r.cuts, r.bytes[0], r.bytes[1]);
  return 0;
}
