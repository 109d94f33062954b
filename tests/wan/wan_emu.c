/* wan_emu: a packet-level WAN emulator between two network namespaces,
 * for the WAN benchmark (tests/bench/bench_wan_emu.sh) and its e2e test.
 *
 * There is no tc netem in this kernel, and a relay that ends TCP on both
 * sides hides TCP's congestion control (see tests/bench/tcp_delay_relay.c).
 * So this program joins two namespaces at the IP layer: it opens a TUN
 * device (IFF_TUN, no packet info) in each, and every IP packet one side sends
 * is read here and written into the other side after the impairments of
 * its direction. TCP and UDP (QUIC) then cross the same path end to end,
 * each with its own congestion control seeing the delay and the losses.
 *
 * Per direction (up: client namespace -> server namespace; down: back):
 *  - loss: each packet is dropped with probability PCT / 100, from a
 *    seeded PRNG (xoshiro256**), one stream per direction, so the n-th
 *    packet of a direction meets the same fate in every run with the same
 *    --seed;
 *  - bottleneck (optional, --rate-mbit): a link of that rate in front of a
 *    drop-tail queue of --queue-pkts x MTU bytes, by default one
 *    bandwidth-delay product (rate x (up delay + down delay)), at least
 *    16 packets. A packet leaves the link when the link has sent all that
 *    queued before it, at the rate (a token bucket one packet deep); a
 *    packet that would find more bytes queued than the limit is dropped
 *    (drop_queue). Without a rate the path has no
 *    bottleneck here at all: the only limit is how fast this program and
 *    the two kernels move packets, and loss-based and model-based
 *    congestion controls behave very differently than behind a queue;
 *  - delay: the packet is written out D ms after it left the bottleneck
 *    (or after it arrived, without one).
 * The delay is constant per direction, so the departure times of a
 * direction never decrease and its delay queue is a ring in arrival order:
 * one read buffer per slot, no copies. The loop reads up to 64 packets
 * per device per turn, writes out what is due, and sleeps in ppoll until
 * the next packet is due (nanosecond timeout, 1 us timer slack). On this
 * 2-CPU VM it moves about 1.5 Gbit/s of 1500-byte TCP segments (plus
 * their ACKs) per CPU-second it gets; that CPU time includes the
 * receiving kernel's work, which runs inside our write().
 *
 * Packets are at most the MTU (--mtu, default 1500, set on both devices):
 * the devices offer no TSO/USO (TUNSETOFFLOAD with TUN_F_CSUM only), so
 * the kernels cut TCP segments and UDP GSO batches to the MTU before they
 * reach us. A packet that is larger anyway, or a GSO packet, is dropped
 * and counted (oversize), never cut.
 *
 * Checksums: each packet comes with a virtio-net header (IFF_VNET_HDR)
 * and goes out with the same header, so a packet whose checksum the
 * sender left to "the hardware" (VIRTIO_NET_HDR_F_NEEDS_CSUM) reaches the
 * receiver marked so, as across a veth pair or loopback, and neither
 * kernel computes a checksum. Without the header a TUN device cannot say
 * that a checksum is unfinished, and UDP GSO segments (QUIC's batches)
 * arrived with bad checksums and were dropped by the receiver (seen on
 * Linux 6.18 with all offloads off).
 *
 * Addresses and routes are the caller's (tests/wan/wan_env.sh): this
 * program only creates the two devices (MTU set, link up) in the
 * namespaces given, by name (/run/netns/NAME) or path, then writes
 * --ready-file. The devices live as long as this process.
 *
 * usage: wan_emu --client-ns NS --server-ns NS [SETTINGS...]
 *                [--client-dev NAME] [--server-dev NAME] [--mtu N]
 *                [--seed N] [--ring-pkts N] [--ready-file FILE]
 *                [--stats-file FILE] [--control FILE]
 * SETTINGS (each also as --up-NAME or --down-NAME for one direction):
 *   --delay-ms MS  --loss PCT  --rate-mbit R (0: no bottleneck)
 *   --queue-pkts N (0: one BDP)
 * SIGHUP reads new SETTINGS from the --control file (one "NAME VALUE" per
 * line, # comments; what it does not name is reset to 0/none) and
 * applies them to the packets that arrive from then on. SIGUSR1 writes the
 * stats file now. The stats file (KEY=VALUE lines, renamed into place) is
 * also written every 100 ms while packets move, after each SIGHUP, and at
 * exit. SIGTERM/SIGINT stop it: the devices go away with it, and it
 * prints its counters to stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define SLOT_DATA 2048          /* bytes of packet per ring slot (MTU max) */
#define MAX_MTU (SLOT_DATA - 64)
#define DEFAULT_RING 16384      /* slots per direction, see --ring-pkts */
#define READ_BATCH 64           /* reads per device per loop turn */
#define MIN_QUEUE_PKTS 16       /* floor of the default bottleneck queue */
#define STATS_EVERY_NS 100000000ull
#define NS_PER_MS 1000000ull
#define NS_PER_S 1000000000ull

enum { UP, DOWN, NDIRS };

/* The impairments of one direction: what --NAME / --up-NAME set, indexed
 * by the settings[] table. */
enum {
  DELAY_MS,
  LOSS_PCT,
  RATE_MBIT,  /* 0: no bottleneck */
  QUEUE_PKTS, /* 0: one BDP at the rate */
  N_SETTINGS
};

struct impair {
  double v[N_SETTINGS];
};

/* One slot of the delay ring: a packet, its virtio-net header (see
 * open_tun) and when it is due. */
struct slot {
  uint64_t due; /* CLOCK_MONOTONIC ns */
  uint32_t len;
  struct virtio_net_hdr vh;
  unsigned char data[SLOT_DATA];
};

struct counters {
  uint64_t rx_pkts, rx_bytes, tx_pkts, tx_bytes;
  uint64_t drop_loss;     /* the random loss */
  uint64_t drop_queue;    /* the bottleneck queue was full (drop-tail) */
  uint64_t drop_ring;     /* our delay ring was full: raise --ring-pkts */
  uint64_t drop_oversize; /* larger than the slot: the MTU is not set */
  uint64_t write_err;     /* the other device refused the packet */
  uint64_t max_queue_bytes; /* the deepest the bottleneck queue got */
};

/* One direction: packets read from in_fd, written to out_fd. */
struct dir {
  const char *name;
  int in_fd, out_fd;
  /* in force, derived from the settings by apply_settings() */
  uint64_t delay_ns;
  double loss;            /* probability, 0..1 */
  double ns_per_byte;     /* 0: no bottleneck */
  uint64_t queue_limit;   /* bytes */
  uint64_t link_free;     /* when the bottleneck has sent all it holds */
  uint64_t rng[4];        /* xoshiro256** state */
  struct slot *ring;
  uint32_t cap, head, count;
  struct counters c;
};

struct emu {
  struct dir d[NDIRS];
  struct impair set[NDIRS];
  unsigned mtu;
  uint64_t seed;
  int signal_fd;
  const char *stats_file, *control_file;
  uint64_t config_gen, config_failures;
  uint64_t stats_seq; /* stats file writes, for readers waiting for one */
  uint64_t stats_due;
  bool stats_dirty;
  unsigned char *scratch; /* where the tail of an oversize packet goes */
};

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

/* ---- randomness ----------------------------------------------------------
 * xoshiro256** (Blackman, Vigna), seeded through splitmix64: fast, good
 * enough for loss decisions, and the same sequence for the same seed. */

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(uint64_t s[4]) {
  uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return r;
}

static void rng_seed(uint64_t s[4], uint64_t seed, uint64_t stream) {
  uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ull);
  for (int i = 0; i < 4; i++)
    s[i] = splitmix64(&x);
}

/* A uniform double in [0, 1). */
static double rng_unit(uint64_t s[4]) {
  return (double)(rng_next(s) >> 11) * 0x1.0p-53;
}

/* ---- settings ------------------------------------------------------------
 * One table for the command line and the control file. */

static const struct {
  const char *name;
  double max;
} settings[N_SETTINGS] = {
    [DELAY_MS] = {"delay-ms", 10000},
    [LOSS_PCT] = {"loss", 100},
    [RATE_MBIT] = {"rate-mbit", 1000000},
    [QUEUE_PKTS] = {"queue-pkts", 1000000},
};

/* Sets NAME (optionally "up-NAME"/"down-NAME") to VALUE in set[]. Returns
 * 0, or -1 with a message naming what is wrong. */
static int set_impair(struct impair set[NDIRS], const char *name,
                      const char *value) {
  int first = UP, last = DOWN;
  if (strncmp(name, "up-", 3) == 0) {
    name += 3;
    last = UP;
  } else if (strncmp(name, "down-", 5) == 0) {
    name += 5;
    first = DOWN;
  }
  for (int i = 0; i < N_SETTINGS; i++) {
    if (strcmp(name, settings[i].name) != 0)
      continue;
    char *end;
    errno = 0;
    double v = strtod(value, &end);
    if (errno || end == value || *end || !(v >= 0) || v > settings[i].max) {
      fprintf(stderr, "wan_emu: %s: bad value '%s' (0 to %g)\n", name, value,
              settings[i].max);
      return -1;
    }
    for (int k = first; k <= last; k++)
      set[k].v[i] = v;
    return 0;
  }
  fprintf(stderr, "wan_emu: unknown setting '%s'\n", name);
  return -1;
}

/* Puts the settings in force for packets that arrive from now on. A queue
 * already built up drains at the old timing: the ring stays in order. */
static void apply_settings(struct emu *e) {
  double rtt_ms = e->set[UP].v[DELAY_MS] + e->set[DOWN].v[DELAY_MS];
  for (int k = 0; k < NDIRS; k++) {
    const struct impair *s = &e->set[k];
    struct dir *d = &e->d[k];
    double rate = s->v[RATE_MBIT];
    d->delay_ns = (uint64_t)(s->v[DELAY_MS] * (double)NS_PER_MS);
    d->loss = s->v[LOSS_PCT] / 100.0;
    d->ns_per_byte = rate > 0 ? 8000.0 / rate : 0;
    if (s->v[QUEUE_PKTS] > 0) {
      d->queue_limit = (uint64_t)s->v[QUEUE_PKTS] * e->mtu;
    } else {
      /* one BDP: rate (bytes/ms) x RTT (ms) */
      double bdp = rate * 1000.0 / 8.0 * rtt_ms;
      double floor = (double)MIN_QUEUE_PKTS * e->mtu;
      d->queue_limit = (uint64_t)(bdp > floor ? bdp : floor);
    }
  }
}

static void print_settings(const struct emu *e, FILE *f) {
  for (int k = 0; k < NDIRS; k++) {
    const struct impair *s = &e->set[k];
    const struct dir *d = &e->d[k];
    fprintf(f, "wan_emu: %-4s delay %g ms, loss %g %%, ", d->name,
            s->v[DELAY_MS], s->v[LOSS_PCT]);
    if (s->v[RATE_MBIT] > 0)
      fprintf(f, "bottleneck %g Mbit/s, drop-tail queue %" PRIu64
                 " bytes (%" PRIu64 " packets of %u)\n",
              s->v[RATE_MBIT], d->queue_limit, d->queue_limit / e->mtu, e->mtu);
    else
      fprintf(f, "no rate limit (no bottleneck queue)\n");
  }
  fflush(f);
}

/* SIGHUP: the control file replaces every setting. On an error nothing
 * changes (config_failures counts it). */
static void reload(struct emu *e) {
  if (!e->control_file) {
    fprintf(stderr, "wan_emu: SIGHUP without --control: ignored\n");
    e->config_failures++;
    return;
  }
  FILE *f = fopen(e->control_file, "r");
  if (!f) {
    perror(e->control_file);
    e->config_failures++;
    return;
  }
  struct impair set[NDIRS];
  memset(set, 0, sizeof set);
  char line[256];
  int bad = 0;
  while (fgets(line, sizeof line, f)) {
    /* "NAME VALUE" or "NAME=VALUE"; blank lines and # comments */
    char *p = line + strspn(line, " \t");
    p[strcspn(p, "#\r\n")] = '\0';
    if (!*p)
      continue;
    char *name = p;
    p += strcspn(p, "= \t");
    if (!*p) {
      fprintf(stderr, "wan_emu: %s: no value\n", name);
      bad = 1;
      continue;
    }
    *p++ = '\0';
    p += strspn(p, "= \t");
    char *value = p;
    value[strcspn(value, " \t")] = '\0';
    if (set_impair(set, name, value) < 0)
      bad = 1;
  }
  fclose(f);
  if (bad) {
    fprintf(stderr, "wan_emu: %s: settings unchanged\n", e->control_file);
    e->config_failures++;
    return;
  }
  memcpy(e->set, set, sizeof set);
  apply_settings(e);
  e->config_gen++;
  print_settings(e, stderr);
}

/* ---- devices -------------------------------------------------------------
 */

/* Opens a TUN device NAME inside network namespace NS (a name under
 * /run/netns or a path), sets its MTU and brings it up; returns its
 * non-blocking fd. The device belongs to the namespace the fd was opened
 * in, whatever namespace this process is in later. */
static int open_tun(const char *ns, const char *name, unsigned mtu) {
  char path[PATH_MAX];
  if (strchr(ns, '/'))
    snprintf(path, sizeof path, "%s", ns);
  else
    snprintf(path, sizeof path, "/run/netns/%s", ns);
  int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  int nsfd = open(path, O_RDONLY | O_CLOEXEC);
  if (self < 0 || nsfd < 0)
    die(path);
  if (setns(nsfd, CLONE_NEWNET) < 0)
    die("setns");
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    die("/dev/net/tun");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR;
  snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0)
    die("TUNSETIFF");
  int hl = (int)sizeof(struct virtio_net_hdr);
  if (ioctl(fd, TUNSETVNETHDRSZ, &hl) < 0)
    die("TUNSETVNETHDRSZ");
  /* Checksum offload but no segmentation offload: the kernel segments
   * before the device, every packet we read is at most the MTU, and
   * checksums stay unfinished end to end (see the top comment). */
  if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)TUN_F_CSUM) < 0)
    die("TUNSETOFFLOAD");
  int sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sk < 0)
    die("socket");
  ifr.ifr_mtu = (int)mtu;
  if (ioctl(sk, SIOCSIFMTU, &ifr) < 0)
    die("SIOCSIFMTU");
  if (ioctl(sk, SIOCGIFFLAGS, &ifr) < 0)
    die("SIOCGIFFLAGS");
  ifr.ifr_flags |= IFF_UP;
  if (ioctl(sk, SIOCSIFFLAGS, &ifr) < 0)
    die("SIOCSIFFLAGS");
  close(sk);
  if (setns(self, CLONE_NEWNET) < 0)
    die("setns back");
  close(self);
  close(nsfd);
  return fd;
}

/* ---- forwarding ----------------------------------------------------------
 */

/* Whether a packet of LEN bytes arriving NOW fits the bottleneck; if so
 * sets *due to when it is written out. */
static bool admit(struct dir *d, uint32_t len, uint64_t now, uint64_t *due) {
  if (d->ns_per_byte == 0) {
    *due = now + d->delay_ns;
    return true;
  }
  uint64_t start = d->link_free > now ? d->link_free : now;
  uint64_t backlog = (uint64_t)((double)(start - now) / d->ns_per_byte);
  if (backlog + len > d->queue_limit) {
    d->c.drop_queue++;
    return false;
  }
  if (backlog + len > d->c.max_queue_bytes)
    d->c.max_queue_bytes = backlog + len;
  d->link_free = start + (uint64_t)((double)len * d->ns_per_byte);
  *due = d->link_free + d->delay_ns;
  return true;
}

/* Reads up to READ_BATCH packets of direction D into its ring (then the
 * other direction gets its turn). */
static void pump_in(struct emu *e, struct dir *d, uint64_t now) {
  for (int i = 0; i < READ_BATCH; i++) {
    struct slot *s = &d->ring[(d->head + d->count) % d->cap];
    bool full = d->count == d->cap;
    /* A full ring still reads (into the scratch buffer), so the drop is
     * ours and counted, not the device queue's and silent. */
    struct virtio_net_hdr vh;
    struct iovec iov[3] = {{&vh, sizeof vh},
                           {full ? e->scratch : s->data, SLOT_DATA},
                           {e->scratch + SLOT_DATA, 65536}};
    ssize_t n = readv(d->in_fd, iov, 3);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno != EAGAIN)
        perror("wan_emu: read");
      return;
    }
    if ((size_t)n < sizeof vh)
      continue;
    n -= (ssize_t)sizeof vh;
    d->c.rx_pkts++;
    d->c.rx_bytes += (uint64_t)n;
    e->stats_dirty = true;
    if (n > SLOT_DATA || vh.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
      d->c.drop_oversize++;
      continue;
    }
    if (full) {
      d->c.drop_ring++;
      continue;
    }
    if (d->loss > 0 && rng_unit(d->rng) < d->loss) {
      d->c.drop_loss++;
      continue;
    }
    uint64_t due;
    if (!admit(d, (uint32_t)n, now, &due))
      continue;
    s->len = (uint32_t)n;
    s->vh = vh;
    s->due = due;
    d->count++;
  }
}

/* Writes out every packet of D that is due. */
static void flush_out(struct dir *d, uint64_t now) {
  while (d->count > 0) {
    struct slot *s = &d->ring[d->head];
    if (s->due > now)
      return;
    struct iovec iov[2] = {{&s->vh, sizeof s->vh}, {s->data, s->len}};
    ssize_t n = writev(d->out_fd, iov, 2);
    if (n == (ssize_t)(sizeof s->vh + s->len)) {
      d->c.tx_pkts++;
      d->c.tx_bytes += s->len;
    } else {
      d->c.write_err++;
    }
    d->head = (d->head + 1) % d->cap;
    d->count--;
  }
}

/* ---- counters ------------------------------------------------------------
 */

static void print_dir(const struct dir *d, FILE *f, const char *sep,
                      const char *end) {
  const struct counters *c = &d->c;
  fprintf(f,
          "%s_rx_pkts=%" PRIu64 "%s%s_rx_bytes=%" PRIu64 "%s"
          "%s_tx_pkts=%" PRIu64 "%s%s_tx_bytes=%" PRIu64 "%s"
          "%s_drop_loss=%" PRIu64 "%s%s_drop_queue=%" PRIu64 "%s"
          "%s_drop_ring=%" PRIu64 "%s%s_drop_oversize=%" PRIu64 "%s"
          "%s_write_err=%" PRIu64 "%s%s_max_queue_bytes=%" PRIu64 "%s",
          d->name, c->rx_pkts, sep, d->name, c->rx_bytes, sep, d->name,
          c->tx_pkts, sep, d->name, c->tx_bytes, sep, d->name, c->drop_loss,
          sep, d->name, c->drop_queue, sep, d->name, c->drop_ring, sep,
          d->name, c->drop_oversize, sep, d->name, c->write_err, sep, d->name,
          c->max_queue_bytes, end);
}

/* Temp file and rename: a reader never sees it half written. */
static void write_stats(struct emu *e) {
  e->stats_dirty = false;
  if (!e->stats_file)
    return;
  char tmp[PATH_MAX];
  snprintf(tmp, sizeof tmp, "%s.tmp", e->stats_file);
  FILE *f = fopen(tmp, "w");
  if (!f) {
    perror(tmp);
    return;
  }
  fprintf(f,
          "stats_seq=%" PRIu64 "\nconfig_gen=%" PRIu64
          "\nconfig_failures=%" PRIu64 "\n",
          ++e->stats_seq, e->config_gen, e->config_failures);
  for (int k = 0; k < NDIRS; k++)
    print_dir(&e->d[k], f, "\n", "\n");
  if (fclose(f) != 0 || rename(tmp, e->stats_file) < 0)
    perror(e->stats_file);
}

/* ---- main ----------------------------------------------------------------
 */

static void usage(FILE *f) {
  fprintf(f,
          "usage: wan_emu --client-ns NS --server-ns NS [SETTINGS...]\n"
          "               [--client-dev NAME] [--server-dev NAME] [--mtu N]\n"
          "               [--seed N] [--ring-pkts N] [--ready-file FILE]\n"
          "               [--stats-file FILE] [--control FILE]\n"
          "SETTINGS, each also as --up-NAME / --down-NAME (up: client to "
          "server):\n"
          "  --delay-ms MS  --loss PCT  --rate-mbit R (0: none)  "
          "--queue-pkts N (0: one BDP)\n");
}

struct args {
  const char *client_ns, *server_ns, *ready_file;
  const char *dev[NDIRS]; /* the device each direction reads from */
  unsigned long ring;
};

/* Parses "--NAME VALUE" and "--NAME=VALUE". Returns 0, 1 (--help) or -1. */
static int parse_args(struct emu *e, struct args *a, int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (strncmp(argv[i], "--", 2) != 0)
      return -1;
    char name[64];
    const char *arg = argv[i] + 2, *eq = strchr(arg, '='), *value;
    if (strcmp(arg, "help") == 0)
      return 1;
    size_t nl = eq ? (size_t)(eq - arg) : strlen(arg);
    if (nl >= sizeof name)
      return -1;
    memcpy(name, arg, nl);
    name[nl] = '\0';
    if (eq)
      value = eq + 1;
    else if (i + 1 < argc)
      value = argv[++i];
    else
      return -1;
    if (strcmp(name, "client-ns") == 0)
      a->client_ns = value;
    else if (strcmp(name, "server-ns") == 0)
      a->server_ns = value;
    else if (strcmp(name, "client-dev") == 0)
      a->dev[UP] = value;
    else if (strcmp(name, "server-dev") == 0)
      a->dev[DOWN] = value;
    else if (strcmp(name, "mtu") == 0)
      e->mtu = (unsigned)strtoul(value, NULL, 10);
    else if (strcmp(name, "seed") == 0)
      e->seed = strtoull(value, NULL, 0);
    else if (strcmp(name, "ring-pkts") == 0)
      a->ring = strtoul(value, NULL, 10);
    else if (strcmp(name, "ready-file") == 0)
      a->ready_file = value;
    else if (strcmp(name, "stats-file") == 0)
      e->stats_file = value;
    else if (strcmp(name, "control") == 0)
      e->control_file = value;
    else if (set_impair(e->set, name, value) < 0)
      return -1;
  }
  return 0;
}

static void write_ready(const char *file) {
  char tmp[PATH_MAX];
  snprintf(tmp, sizeof tmp, "%s.tmp", file);
  FILE *f = fopen(tmp, "w");
  if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f) != 0 ||
      rename(tmp, file) < 0)
    die(file);
}

/* The ppoll timeout: until the first packet due, or the next stats write.
 * (A device with packets left after a batch needs no zero timeout: poll is
 * level-triggered, it reports it readable at once.) */
static struct timespec *next_timeout(struct emu *e, uint64_t now,
                                     struct timespec *ts) {
  uint64_t until = UINT64_MAX;
  for (int k = 0; k < NDIRS; k++)
    if (e->d[k].count > 0 && e->d[k].ring[e->d[k].head].due < until)
      until = e->d[k].ring[e->d[k].head].due;
  if (e->stats_file && e->stats_dirty && e->stats_due < until)
    until = e->stats_due;
  if (until == UINT64_MAX)
    return NULL;
  uint64_t wait = until > now ? until - now : 0;
  ts->tv_sec = (time_t)(wait / NS_PER_S);
  ts->tv_nsec = (long)(wait % NS_PER_S);
  return ts;
}

/* Handles pending signals; returns false on SIGTERM/SIGINT. */
static bool on_signals(struct emu *e) {
  struct signalfd_siginfo si;
  bool running = true;
  while (read(e->signal_fd, &si, sizeof si) == (ssize_t)sizeof si) {
    if (si.ssi_signo == SIGHUP) {
      reload(e);
      write_stats(e);
    } else if (si.ssi_signo == SIGUSR1) {
      write_stats(e);
    } else {
      running = false;
    }
  }
  return running;
}

int main(int argc, char **argv) {
  struct emu e;
  struct args a;
  memset(&e, 0, sizeof e);
  memset(&a, 0, sizeof a);
  e.mtu = 1500;
  e.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
  a.dev[UP] = "wan0";
  a.dev[DOWN] = "wan0";
  a.ring = DEFAULT_RING;
  int pr = parse_args(&e, &a, argc, argv);
  if (pr != 0) {
    usage(pr > 0 ? stdout : stderr);
    return pr > 0 ? 0 : 2;
  }
  if (!a.client_ns || !a.server_ns || e.mtu < 576 || e.mtu > MAX_MTU ||
      a.ring < 16 || a.ring > (1ul << 22)) {
    usage(stderr);
    return 2;
  }
  /* Left behind by a killed script, it would hold its namespaces alive:
   * die with the parent. */
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  /* ppoll wakes for a packet due in 100 us without 50 us of slack. */
  prctl(PR_SET_TIMERSLACK, 1000UL);

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGUSR1);
  if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
    die("sigprocmask");
  e.signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (e.signal_fd < 0)
    die("signalfd");

  int client_fd = open_tun(a.client_ns, a.dev[UP], e.mtu);
  int server_fd = open_tun(a.server_ns, a.dev[DOWN], e.mtu);
  e.d[UP] = (struct dir){.name = "up", .in_fd = client_fd,
                         .out_fd = server_fd};
  e.d[DOWN] = (struct dir){.name = "down", .in_fd = server_fd,
                           .out_fd = client_fd};
  e.scratch = malloc(SLOT_DATA + 65536);
  if (!e.scratch)
    die("malloc");
  for (int k = 0; k < NDIRS; k++) {
    struct dir *d = &e.d[k];
    d->cap = (uint32_t)a.ring;
    /* Pages are touched only as the ring fills: a deep ring costs memory
     * only when a deep queue builds. */
    d->ring = malloc((size_t)d->cap * sizeof *d->ring);
    if (!d->ring)
      die("malloc ring");
    rng_seed(d->rng, e.seed, (uint64_t)k + 1);
  }
  apply_settings(&e);
  fprintf(stderr, "wan_emu: client %s/%s <-> server %s/%s, MTU %u, seed %" PRIu64
                  "\n",
          a.client_ns, a.dev[UP], a.server_ns, a.dev[DOWN], e.mtu, e.seed);
  print_settings(&e, stderr);
  write_stats(&e);
  if (a.ready_file)
    write_ready(a.ready_file);

  struct pollfd pfd[3] = {{.fd = client_fd, .events = POLLIN},
                          {.fd = server_fd, .events = POLLIN},
                          {.fd = e.signal_fd, .events = POLLIN}};
  bool running = true;
  uint64_t now = now_ns();
  e.stats_due = now + STATS_EVERY_NS;
  while (running) {
    struct timespec ts;
    struct timespec *to = next_timeout(&e, now, &ts);
    if (ppoll(pfd, 3, to, NULL) < 0 && errno != EINTR)
      die("ppoll");
    now = now_ns();
    for (int k = 0; k < NDIRS; k++)
      if (pfd[k].revents & POLLIN)
        pump_in(&e, &e.d[k], now);
    now = now_ns();
    for (int k = 0; k < NDIRS; k++)
      flush_out(&e.d[k], now);
    if (pfd[2].revents & POLLIN)
      running = on_signals(&e);
    if (now >= e.stats_due) {
      if (e.stats_dirty)
        write_stats(&e);
      e.stats_due = now + STATS_EVERY_NS;
    }
  }

  write_stats(&e);
  fprintf(stderr, "wan_emu: stopped; counters:\n");
  for (int k = 0; k < NDIRS; k++) {
    fprintf(stderr, "wan_emu: ");
    print_dir(&e.d[k], stderr, " ", "\n");
  }
  close(client_fd);
  close(server_fd);
  close(e.signal_fd);
  for (int k = 0; k < NDIRS; k++)
    free(e.d[k].ring);
  free(e.scratch);
  return 0;
}
