/* quic_front: a QUIC front end for Samba, for the tests.
 *
 * Terminates QUIC (TLS 1.3, ALPN "smb") with a test certificate and relays
 * each connection's bidirectional stream to smbd's TCP port, the way a
 * Windows Server 2025 SMB over QUIC endpoint presents itself. Handles many
 * connections in one poll loop. Optionally requires a client certificate
 * and filters it by SHA-256 allow/deny lists.
 *
 * Packet I/O is batched so the front is not the bottleneck of a benchmark:
 * datagrams arrive through recvmmsg (with UDP GRO where the kernel offers
 * it) and leave in UDP GSO batches of one send quantum, paced by ngtcp2.
 * Every packet goes to the path ngtcp2 chose for it, so NAT rebinding and
 * client migration with path validation work (RFC 9000 9). Packets are
 * routed to their connection by every connection ID it issued (RFC 9000
 * 5.1), through a hash table kept in step with ngtcp2's callbacks.
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
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

#define MAX_CONNS 256
#define MAX_CIDS 16          /* routing IDs per connection, see cb_new_cid */
#define CID_SLOTS 8192       /* power of 2, > 2 * MAX_CONNS * MAX_CIDS */
#define CHUNK (256 * 1024)
#define MAX_UNACKED (64u << 20) /* smbd -> client bytes kept for resending */
#define MAX_UP (64u << 20)      /* client -> smbd bytes waiting for smbd */
#define MAX_LIST 16
#define MAX_UDP_PAYLOAD 1452    /* fits a 1500-byte Ethernet MTU */
#define GSO_MAX_SEGMENTS 40     /* 40 * 1452 stays under the 64 KiB limit */
#define RX_BATCH 16             /* datagrams per recvmmsg */
#define RX_ROUNDS 8             /* recvmmsg calls per loop turn */
#define RX_BUF 65536            /* a GRO batch is at most 64 KiB */
#define MAX_FORGOTTEN 64        /* --hostile statelessreset: IDs remembered */

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

/* A stateless reset token issued with a connection ID (RFC 9000 10.3). */
struct srt {
  ngtcp2_cid cid;
  uint8_t token[NGTCP2_STATELESS_RESET_TOKENLEN];
};

struct chunk {
  struct chunk *next;
  uint64_t off;
  size_t len;
  uint8_t data[CHUNK];
};

enum close_kind {
  CLOSE_SILENT,   /* the peer closed, or idle timeout: nothing to send */
  CLOSE_LIBERR,   /* a transport error: tell the peer (RFC 9000 10.2) */
  CLOSE_APP,      /* smbd went away: application close, no error */
};

struct front;

struct fconn {
  struct front *f;
  ngtcp2_conn *conn;
  ngtcp2_crypto_conn_ref ref;
  gnutls_session_t tls;
  ngtcp2_cid cids[MAX_CIDS]; /* every DCID that routes to us */
  size_t n_cids;
  ngtcp2_cid odcid;          /* the client's first DCID, until handshake */
  int tcp;                   /* to smbd */
  int64_t stream_id;
  /* client -> smbd */
  uint8_t *up;
  size_t up_off, up_len, up_cap;
  bool up_fin, tcp_shut;
  /* smbd -> client, kept until acknowledged; cur: first unsent chunk */
  struct chunk *head, *tail, *cur;
  uint64_t end, sent, acked;
  bool tcp_eof, fin_sent;
  /* dirty: a datagram, smbd or the socket woke it up this loop turn */
  bool dirty;
  /* closing: free at the end of this loop turn, after close_kind */
  bool closing;
  enum close_kind close_kind;
  int close_err;
  /* --hostile: act at the end of this loop turn (the client opened its
   * stream); forget: drop the connection silently after this turn's
   * packets, keeping its reset tokens (statelessreset) */
  bool hostile_due, forget;
  struct srt srts[MAX_CIDS]; /* tokens issued (statelessreset only) */
  size_t n_srts;
  /* outgoing GSO batch; tx_len > 0: the socket refused it (EAGAIN) */
  uint8_t *tx;
  size_t tx_len, tx_gso;
  struct sockaddr_storage tx_to;
  socklen_t tx_to_len;
};

struct cid_slot {
  ngtcp2_cid cid;
  struct fconn *c; /* NULL: empty */
};

struct front {
  int udp;
  struct sockaddr_storage local;
  socklen_t local_len;
  uint16_t backend_port;
  gnutls_certificate_credentials_t cred;
  gnutls_datum_t ticket_key;
  bool require_client_cert;
  bool gso_ok;
  char allow[MAX_LIST][65], deny[MAX_LIST][65];
  int n_allow, n_deny;
  struct fconn *conns[MAX_CONNS];
  struct cid_slot cids[CID_SLOTS];
  uint8_t (*rx)[RX_BUF]; /* RX_BATCH receive buffers */
  enum hostile hostile;
  /* connections forgotten on purpose: their IDs and tokens (a ring) */
  struct srt forgotten[MAX_FORGOTTEN];
  size_t n_forgotten;
};

static volatile sig_atomic_t stop_flag;
static struct front *the_front; /* for the verify callback's lists */

static ngtcp2_tstamp now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (ngtcp2_tstamp)ts.tv_sec * NGTCP2_SECONDS + (ngtcp2_tstamp)ts.tv_nsec;
}

static void on_signal(int sig) {
  (void)sig;
  stop_flag = 1;
}

static const char *addr_str(const struct sockaddr *sa, char *buf,
                            size_t len) {
  char host[INET6_ADDRSTRLEN] = "?";
  unsigned port = 0;
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
    port = ntohs(in->sin_port);
  } else if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
    port = ntohs(in6->sin6_port);
  }
  snprintf(buf, len, "%s:%u", host, port);
  return buf;
}

/* ---- connection ID routing (RFC 9000 5.1, 5.2) -------------------------- */

static size_t cid_hash(const uint8_t *d, size_t len) {
  uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
  for (size_t i = 0; i < len; i++)
    h = (h ^ d[i]) * 0x100000001b3ull;
  return (size_t)(h ^ (h >> 32)) & (CID_SLOTS - 1);
}

static bool cid_is(const ngtcp2_cid *cid, const uint8_t *d, size_t len) {
  return cid->datalen == len && memcmp(cid->data, d, len) == 0;
}

/* Open addressing with linear probing; returns the slot holding the ID,
 * or the empty slot where it would go. */
static size_t cid_slot(const struct front *f, const uint8_t *d, size_t len) {
  size_t i = cid_hash(d, len);
  while (f->cids[i].c && !cid_is(&f->cids[i].cid, d, len))
    i = (i + 1) & (CID_SLOTS - 1);
  return i;
}

static struct fconn *cid_find(const struct front *f, const uint8_t *d,
                              size_t len) {
  return f->cids[cid_slot(f, d, len)].c;
}

/* Backward-shift deletion keeps every probe chain unbroken. */
static void cid_erase(struct front *f, const ngtcp2_cid *cid) {
  size_t i = cid_slot(f, cid->data, cid->datalen);
  if (!f->cids[i].c)
    return;
  for (size_t j = (i + 1) & (CID_SLOTS - 1); f->cids[j].c;
       j = (j + 1) & (CID_SLOTS - 1)) {
    size_t k = cid_hash(f->cids[j].cid.data, f->cids[j].cid.datalen);
    bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
    if (stays)
      continue;
    f->cids[i] = f->cids[j];
    i = j;
  }
  f->cids[i].c = NULL;
}

/* Route cid to c; fails (never silently) when c has MAX_CIDS already or
 * another connection owns the ID. */
static int conn_add_cid(struct fconn *c, const ngtcp2_cid *cid) {
  if (c->n_cids == MAX_CIDS) {
    fprintf(stderr, "quic_front: connection has %d connection IDs "
            "already\n", MAX_CIDS);
    return -1;
  }
  size_t i = cid_slot(c->f, cid->data, cid->datalen);
  if (c->f->cids[i].c)
    return -1;
  c->f->cids[i] = (struct cid_slot){*cid, c};
  c->cids[c->n_cids++] = *cid;
  return 0;
}

static void conn_del_cid(struct fconn *c, const ngtcp2_cid *cid) {
  for (size_t k = 0; k < c->n_cids; k++) {
    if (!cid_is(&c->cids[k], cid->data, cid->datalen))
      continue;
    cid_erase(c->f, cid);
    c->cids[k] = c->cids[--c->n_cids];
    return;
  }
}

/* ---- hostile: stateless reset (RFC 9000 10.3) --------------------------- */

/* Keep the token issued with cid, to reset the connection after it is
 * forgotten; only the statelessreset mode needs them. */
static void remember_srt(struct fconn *c, const ngtcp2_cid *cid,
                         const uint8_t *token) {
  if (c->f->hostile != H_STATELESS_RESET || c->n_srts == MAX_CIDS)
    return;
  c->srts[c->n_srts].cid = *cid;
  memcpy(c->srts[c->n_srts].token, token, NGTCP2_STATELESS_RESET_TOKENLEN);
  c->n_srts++;
}

/* The connection is forgotten: its tokens go to the front's ring. */
static void forget_srts(struct front *f, const struct fconn *c) {
  for (size_t i = 0; i < c->n_srts; i++)
    f->forgotten[f->n_forgotten++ % MAX_FORGOTTEN] = c->srts[i];
}

static const uint8_t *forgotten_token(const struct front *f,
                                      const uint8_t *dcid, size_t len) {
  size_t n = f->n_forgotten < MAX_FORGOTTEN ? f->n_forgotten : MAX_FORGOTTEN;
  for (size_t i = 0; i < n; i++)
    if (cid_is(&f->forgotten[i].cid, dcid, len))
      return f->forgotten[i].token;
  return NULL;
}

static int send_batch(struct front *f, const uint8_t *buf, size_t len,
                      size_t gso, const struct sockaddr_storage *to,
                      socklen_t tolen);

/* A short-header packet for a connection we forgot on purpose: answer
 * with a Stateless Reset carrying the token issued with its DCID. RFC
 * 9000 10.3.3: smaller than the packet that triggered it (no reset
 * loops), never below the 21 bytes the format needs. Returns true when
 * the packet was one of those (answered or not). */
static bool answer_forgotten(struct front *f, const uint8_t *pkt,
                             size_t len, const uint8_t *dcid,
                             size_t dcidlen,
                             const struct sockaddr_storage *from,
                             socklen_t from_len) {
  if (pkt[0] & 0x80)
    return false; /* long header: not one of an established connection */
  const uint8_t *token = forgotten_token(f, dcid, dcidlen);
  if (!token)
    return false;
  size_t min = NGTCP2_MIN_STATELESS_RESET_RANDLEN +
               NGTCP2_STATELESS_RESET_TOKENLEN;
  size_t out = len - 1 < 42 ? len - 1 : 42;
  if (len <= min)
    return true;
  uint8_t rnd[42], buf[42];
  if (gnutls_rnd(GNUTLS_RND_NONCE, rnd, sizeof(rnd)) < 0)
    return true;
  ngtcp2_ssize n = ngtcp2_pkt_write_stateless_reset(
      buf, out, token, rnd, out - NGTCP2_STATELESS_RESET_TOKENLEN);
  if (n > 0) {
    fprintf(stderr, "quic_front: stateless reset (%zd bytes) for a "
            "forgotten connection\n", n);
    send_batch(f, buf, (size_t)n, 0, from, from_len);
  }
  return true;
}

/* ---- callbacks ------------------------------------------------------- */

static ngtcp2_conn *get_conn(ngtcp2_crypto_conn_ref *ref) {
  return ((struct fconn *)ref->user_data)->conn;
}

static void cb_rand(uint8_t *d, size_t n, const ngtcp2_rand_ctx *ctx) {
  (void)ctx;
  gnutls_rnd(GNUTLS_RND_RANDOM, d, n);
}

/* ngtcp2 issues at most its SCID pool (8) plus the ones retired but not
 * yet removed, so MAX_CIDS is never reached while cb_remove_cid works. */
static int cb_new_cid(ngtcp2_conn *conn, ngtcp2_cid *cid, uint8_t *token,
                      size_t cidlen, void *user) {
  (void)conn;
  struct fconn *c = user;
  for (int tries = 0; tries < 4; tries++) {
    if (gnutls_rnd(GNUTLS_RND_RANDOM, cid->data, cidlen) < 0)
      break;
    cid->datalen = cidlen;
    if (conn_add_cid(c, cid) == 0) {
      if (gnutls_rnd(GNUTLS_RND_RANDOM, token,
                     NGTCP2_STATELESS_RESET_TOKENLEN) < 0)
        return NGTCP2_ERR_CALLBACK_FAILURE;
      remember_srt(c, cid, token);
      return 0;
    }
    if (c->n_cids == MAX_CIDS)
      break;
  }
  return NGTCP2_ERR_CALLBACK_FAILURE;
}

/* The client retired an ID (RFC 9000 5.1.2): stop routing it. */
static int cb_remove_cid(ngtcp2_conn *conn, const ngtcp2_cid *cid,
                         void *user) {
  (void)conn;
  conn_del_cid(user, cid);
  return 0;
}

/* After the handshake the client no longer sends to the DCID it chose
 * for its Initial packets (RFC 9000 7.2), so that one stops routing. */
static int cb_handshake_completed(ngtcp2_conn *conn, void *user) {
  (void)conn;
  struct fconn *c = user;
  conn_del_cid(c, &c->odcid);
  return 0;
}

static int cb_path_validation(ngtcp2_conn *conn, uint32_t flags,
                              const ngtcp2_path *path,
                              ngtcp2_path_validation_result res,
                              void *user) {
  (void)conn;
  (void)flags;
  (void)user;
  char a[INET6_ADDRSTRLEN + 8];
  fprintf(stderr, "quic_front: path validation to %s %s\n",
          addr_str((const struct sockaddr *)path->remote.addr, a, sizeof(a)),
          res == NGTCP2_PATH_VALIDATION_RESULT_SUCCESS ? "succeeded"
                                                       : "failed");
  return 0;
}

static int backend_connect(struct fconn *c) {
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_port = htons(c->f->backend_port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  c->tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (c->tcp < 0 || connect(c->tcp, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
    perror("quic_front: connect to smbd");
    return -1;
  }
  int one = 1;
  setsockopt(c->tcp, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  fcntl(c->tcp, F_SETFL, O_NONBLOCK);
  return 0;
}

static int cb_stream_open(ngtcp2_conn *conn, int64_t stream_id, void *user) {
  (void)conn;
  struct fconn *c = user;
  if (c->stream_id >= 0)
    return 0; /* SMB uses one stream; others are ignored */
  c->stream_id = stream_id;
  if (c->f->hostile) {
    /* not inside ngtcp2's frame handling: see service() */
    c->hostile_due = true;
    return 0;
  }
  return backend_connect(c) < 0 ? NGTCP2_ERR_CALLBACK_FAILURE : 0;
}

/* Make room for len more bytes in the client -> smbd buffer. Flow control
 * bounds it: credit is given back only as smbd takes the bytes. */
static int up_reserve(struct fconn *c, size_t len) {
  if (c->up_cap - c->up_len >= len)
    return 0;
  if (c->up) /* memmove(NULL, ...) is undefined even for 0 bytes */
    memmove(c->up, c->up + c->up_off, c->up_len - c->up_off);
  c->up_len -= c->up_off;
  c->up_off = 0;
  if (c->up_len + len > MAX_UP)
    return -1;
  size_t ncap = c->up_cap ? c->up_cap : 1 << 20;
  while (ncap - c->up_len < len)
    ncap *= 2;
  if (ncap == c->up_cap)
    return 0;
  uint8_t *n = realloc(c->up, ncap);
  if (!n)
    return -1;
  c->up = n;
  c->up_cap = ncap;
  return 0;
}

static int cb_recv_stream_data(ngtcp2_conn *conn, uint32_t flags,
                               int64_t stream_id, uint64_t offset,
                               const uint8_t *data, size_t len, void *user,
                               void *stream_user) {
  (void)offset; /* ngtcp2 delivers stream data in order */
  (void)stream_user;
  struct fconn *c = user;
  if (stream_id != c->stream_id)
    return 0;
  if (c->f->hostile) {
    /* nobody reads the client's requests: take them, keep the client
     * unblocked */
    ngtcp2_conn_extend_max_stream_offset(conn, stream_id, len);
    ngtcp2_conn_extend_max_offset(conn, len);
    return 0;
  }
  if (flags & NGTCP2_STREAM_DATA_FLAG_FIN)
    c->up_fin = true;
  if (!len)
    return 0;
  if (up_reserve(c, len) < 0)
    return NGTCP2_ERR_CALLBACK_FAILURE;
  memcpy(c->up + c->up_len, data, len);
  c->up_len += len;
  return 0;
}

static int cb_acked(ngtcp2_conn *conn, int64_t stream_id, uint64_t offset,
                    uint64_t len, void *user, void *stream_user) {
  (void)conn;
  (void)stream_id;
  (void)stream_user;
  struct fconn *c = user;
  if (offset + len > c->acked)
    c->acked = offset + len;
  while (c->head && c->head->len == CHUNK &&
         c->head->off + CHUNK <= c->acked) {
    struct chunk *k = c->head;
    c->head = k->next;
    if (!c->head)
      c->tail = NULL;
    if (c->cur == k)
      c->cur = k->next;
    free(k);
  }
  return 0;
}

static const ngtcp2_callbacks server_callbacks = {
    .recv_client_initial = ngtcp2_crypto_recv_client_initial_cb,
    .recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb,
    .handshake_completed = cb_handshake_completed,
    .encrypt = ngtcp2_crypto_encrypt_cb,
    .decrypt = ngtcp2_crypto_decrypt_cb,
    .hp_mask = ngtcp2_crypto_hp_mask_cb,
    .recv_stream_data = cb_recv_stream_data,
    .acked_stream_data_offset = cb_acked,
    .stream_open = cb_stream_open,
    .rand = cb_rand,
    .get_new_connection_id = cb_new_cid,
    .remove_connection_id = cb_remove_cid,
    .update_key = ngtcp2_crypto_update_key_cb,
    .path_validation = cb_path_validation,
    .delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb,
    .delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb,
    .get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb,
    .version_negotiation = ngtcp2_crypto_version_negotiation_cb,
};

/* ---- client certificates ---------------------------------------------- */

static bool listed(char list[][65], int n, const char *fp) {
  for (int i = 0; i < n; i++)
    if (strcasecmp(list[i], fp) == 0)
      return true;
  return false;
}

static int verify_client(gnutls_session_t s) {
  unsigned n = 0;
  const gnutls_datum_t *certs = gnutls_certificate_get_peers(s, &n);
  if (!certs || !n)
    return the_front->require_client_cert ? -1 : 0;
  unsigned status = 0;
  if (gnutls_certificate_verify_peers2(s, &status) < 0 || status) {
    fprintf(stderr, "quic_front: client certificate does not verify\n");
    return -1;
  }
  uint8_t fp[32];
  size_t fl = sizeof(fp);
  char hex[65];
  if (gnutls_fingerprint(GNUTLS_DIG_SHA256, &certs[0], fp, &fl) < 0)
    return -1;
  for (size_t i = 0; i < 32; i++)
    snprintf(hex + 2 * i, 3, "%02x", fp[i]);
  if (listed(the_front->deny, the_front->n_deny, hex) ||
      (the_front->n_allow && !listed(the_front->allow, the_front->n_allow,
                                     hex))) {
    fprintf(stderr, "quic_front: client certificate %s refused\n", hex);
    return -1;
  }
  return 0;
}

/* ---- sending ------------------------------------------------------------ */

/* One sendmsg, with a UDP_SEGMENT cmsg when gso splits buf into several
 * datagrams. Returns 0 when sent (or dropped for good), 1 on EAGAIN. */
static int send_batch(struct front *f, const uint8_t *buf, size_t len,
                      size_t gso, const struct sockaddr_storage *to,
                      socklen_t tolen) {
  struct iovec iov = {(void *)buf, len};
  union {
    char buf[CMSG_SPACE(sizeof(uint16_t))];
    struct cmsghdr align;
  } cm;
  struct msghdr mh = {.msg_name = (void *)to, .msg_namelen = tolen,
                      .msg_iov = &iov, .msg_iovlen = 1};
  if (gso && gso < len) {
    memset(&cm, 0, sizeof(cm));
    mh.msg_control = cm.buf;
    mh.msg_controllen = sizeof(cm.buf);
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    uint16_t seg = (uint16_t)gso;
    memcpy(CMSG_DATA(c), &seg, sizeof(seg));
  }
  for (;;) {
    if (sendmsg(f->udp, &mh, 0) >= 0)
      return 0;
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      return 1;
    if (errno != EIO || !mh.msg_control)
      return 0; /* lost, as far as QUIC knows: it will resend */
    /* no GSO on this path (no checksum offload): one datagram per call,
     * for good */
    f->gso_ok = false;
    for (size_t off = 0; off < len; off += gso) {
      size_t l = len - off < gso ? len - off : gso;
      if (send_batch(f, buf + off, l, 0, to, tolen))
        return 1; /* retried whole: the receiver drops duplicate packet
                   * numbers (RFC 9000 12.3) */
    }
    return 0;
  }
}

/* Send the batch in c->tx to path; on EAGAIN keep it for POLLOUT. */
static void send_tx(struct front *f, struct fconn *c, size_t len, size_t gso,
                    const ngtcp2_path *path) {
  memcpy(&c->tx_to, path->remote.addr, path->remote.addrlen);
  c->tx_to_len = (socklen_t)path->remote.addrlen;
  if (send_batch(f, c->tx, len, f->gso_ok ? gso : 0, &c->tx_to,
                 c->tx_to_len) == 1) {
    c->tx_len = len;
    c->tx_gso = gso;
  }
}

/* Retry a batch the socket refused; returns true while still blocked. */
static bool retry_tx(struct front *f, struct fconn *c) {
  if (!c->tx_len)
    return false;
  if (send_batch(f, c->tx, c->tx_len, f->gso_ok ? c->tx_gso : 0, &c->tx_to,
                 c->tx_to_len) == 1)
    return true;
  c->tx_len = 0;
  return false;
}

/* Gather unsent smbd data into vecs; returns the count. */
static size_t unsent_vecs(struct fconn *c, ngtcp2_vec *v, size_t max) {
  while (c->cur && c->cur->next && c->cur->off + c->cur->len <= c->sent)
    c->cur = c->cur->next;
  size_t n = 0;
  for (struct chunk *k = c->cur; k && n < max; k = k->next) {
    if (k->off + k->len <= c->sent)
      continue;
    size_t skip = c->sent > k->off ? (size_t)(c->sent - k->off) : 0;
    v[n].base = k->data + skip;
    v[n].len = k->len - skip;
    n++;
  }
  return n;
}

/* Write one packet into dest; returns its size, 0 if ngtcp2 has nothing
 * to send now (congestion, pacing), or a negative ngtcp2 error. */
static ngtcp2_ssize write_one(struct fconn *c, ngtcp2_path *path,
                              uint8_t *dest, size_t len, ngtcp2_tstamp ts) {
  ngtcp2_vec v[16];
  ngtcp2_pkt_info pi;
  for (;;) {
    size_t nv = c->stream_id >= 0 ? unsent_vecs(c, v, 16) : 0;
    uint64_t given = 0;
    for (size_t k = 0; k < nv; k++)
      given += v[k].len;
    /* FIN only with a vector that reaches the end of the stream */
    bool fin = c->tcp_eof && !c->fin_sent && c->stream_id >= 0 &&
               c->sent + given == c->end;
    int64_t sid = nv || fin ? c->stream_id : -1;
    uint32_t fl = NGTCP2_WRITE_STREAM_FLAG_MORE |
                  (fin ? NGTCP2_WRITE_STREAM_FLAG_FIN : 0);
    ngtcp2_ssize datalen = -1;
    ngtcp2_ssize n = ngtcp2_conn_writev_stream(c->conn, path, &pi, dest, len,
                                               &datalen, fl, sid,
                                               nv ? v : NULL, nv, ts);
    if (datalen >= 0) {
      c->sent += (uint64_t)datalen;
      if (fin && c->sent == c->end)
        c->fin_sent = true;
    }
    if (n == NGTCP2_ERR_WRITE_MORE)
      continue; /* more stream data fits in this packet */
    if (n == NGTCP2_ERR_STREAM_DATA_BLOCKED || n == NGTCP2_ERR_STREAM_SHUT_WR ||
        n == NGTCP2_ERR_STREAM_NOT_FOUND)
      n = ngtcp2_conn_write_pkt(c->conn, path, &pi, dest, len, ts);
    return n;
  }
}

static void set_closing(struct fconn *c, enum close_kind kind, int err) {
  if (c->closing)
    return;
  c->closing = true;
  c->close_kind = kind;
  c->close_err = err;
}

/* An ngtcp2 call failed: close, telling the client why unless it closed
 * first (RFC 9000 10.2.2), the packet was not worth an answer, or the
 * connection sat idle (RFC 9000 10.1). */
static void on_conn_error(struct fconn *c, int rc) {
  bool silent = rc == NGTCP2_ERR_DRAINING || rc == NGTCP2_ERR_CLOSING ||
                rc == NGTCP2_ERR_DROP_CONN || rc == NGTCP2_ERR_IDLE_CLOSE;
  set_closing(c, silent ? CLOSE_SILENT : CLOSE_LIBERR, rc);
}

/* Write and send up to one send quantum of packets in GSO batches of
 * equal-sized packets to one path, then let ngtcp2 pace the next burst
 * (ngtcp2_conn_update_pkt_tx_time). Each packet goes where ngtcp2 says:
 * during path validation that is the new path, or a probe to the old one
 * (RFC 9000 9.3, 8.2). */
static void flush_conn(struct front *f, struct fconn *c) {
  if (retry_tx(f, c))
    return;
  size_t mtu = ngtcp2_conn_get_max_tx_udp_payload_size(c->conn);
  size_t cap = mtu * GSO_MAX_SEGMENTS;
  /* ngtcp2 0.12 keeps the send quantum at 10 packets; bursts up to a
   * 64 KiB GSO super-packet (like TCP's TSO) stay paced, because
   * update_pkt_tx_time spaces the next burst by this one's bytes. */
  size_t quantum = ngtcp2_conn_get_send_quantum(c->conn);
  size_t max_pkts = (quantum > 65536 ? quantum : 65536) / mtu;
  ngtcp2_tstamp ts = now_ns();
  ngtcp2_path_storage ps, bp; /* this packet's path, the batch's path */
  ngtcp2_path_storage_zero(&bp);
  size_t npkts = 0, off = 0, gso = 0;
  while (npkts < max_pkts && !c->tx_len) {
    ngtcp2_path_storage_zero(&ps);
    ngtcp2_ssize n = write_one(c, &ps.path, c->tx + off, mtu, ts);
    if (n < 0) {
      on_conn_error(c, (int)n);
      break;
    }
    if (n == 0)
      break;
    npkts++;
    /* A batch has one path, and UDP_SEGMENT wants segments of one size
     * but a shorter last one: a packet that fits neither goes first in
     * the next batch. */
    if (off && (!ngtcp2_path_eq(&ps.path, &bp.path) || (size_t)n > gso)) {
      send_tx(f, c, off, gso, &bp.path);
      if (c->tx_len)
        break; /* blocked: this packet is lost, QUIC resends it */
      memmove(c->tx, c->tx + off, (size_t)n);
      off = 0;
    }
    if (!off) {
      ngtcp2_path_storage_zero(&bp);
      ngtcp2_path_copy(&bp.path, &ps.path);
      gso = (size_t)n;
    }
    off += (size_t)n;
    if ((size_t)n < gso || off + mtu > cap || !f->gso_ok) {
      send_tx(f, c, off, gso, &bp.path);
      off = 0;
    }
  }
  if (off && !c->tx_len)
    send_tx(f, c, off, gso, &bp.path);
  ngtcp2_conn_update_pkt_tx_time(c->conn, ts);
}

/* CONNECTION_CLOSE (RFC 9000 10.2) so the client learns why at once
 * instead of waiting for its idle timeout. */
static void send_close(struct front *f, struct fconn *c) {
  if (c->close_kind == CLOSE_SILENT || !c->conn)
    return;
  if (c->close_kind == CLOSE_LIBERR) {
    char a[INET6_ADDRSTRLEN + 8];
    const ngtcp2_path *p = ngtcp2_conn_get_path(c->conn);
    fprintf(stderr, "quic_front: closing the connection from %s: %s\n",
            addr_str((const struct sockaddr *)p->remote.addr, a, sizeof(a)),
            ngtcp2_strerror(c->close_err));
  }
  ngtcp2_connection_close_error ccerr;
  ngtcp2_connection_close_error_default(&ccerr);
  if (c->close_kind == CLOSE_APP && c->f->hostile == H_APPCLOSE)
    ngtcp2_connection_close_error_set_application_error(
        &ccerr, HOSTILE_APP_ERROR, (const uint8_t *)hostile_reason,
        sizeof(hostile_reason) - 1);
  else if (c->close_kind == CLOSE_APP)
    ngtcp2_connection_close_error_set_application_error(&ccerr, 0, NULL, 0);
  else if (c->close_err == NGTCP2_ERR_CRYPTO)
    ngtcp2_connection_close_error_set_transport_error_tls_alert(
        &ccerr, ngtcp2_conn_get_tls_alert(c->conn), NULL, 0);
  else
    ngtcp2_connection_close_error_set_transport_error_liberr(
        &ccerr, c->close_err, NULL, 0);
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_pkt_info pi;
  uint8_t buf[MAX_UDP_PAYLOAD];
  ngtcp2_ssize n = ngtcp2_conn_write_connection_close(
      c->conn, &ps.path, &pi, buf, sizeof(buf), &ccerr, now_ns());
  if (n <= 0)
    return;
  struct sockaddr_storage to;
  memcpy(&to, ps.path.remote.addr, ps.path.remote.addrlen);
  send_batch(f, buf, (size_t)n, 0, &to, (socklen_t)ps.path.remote.addrlen);
}

/* ---- connections -------------------------------------------------------- */

static void free_conn(struct front *f, int i) {
  struct fconn *c = f->conns[i];
  while (c->n_cids)
    conn_del_cid(c, &c->cids[0]);
  if (c->conn)
    ngtcp2_conn_del(c->conn);
  if (c->tls)
    gnutls_deinit(c->tls);
  if (c->tcp >= 0)
    close(c->tcp);
  while (c->head) {
    struct chunk *k = c->head;
    c->head = k->next;
    free(k);
  }
  free(c->up);
  free(c->tx);
  free(c);
  f->conns[i] = NULL;
}

static int setup_tls(struct front *f, struct fconn *c) {
  static const char prio[] =
      "NORMAL:-VERS-ALL:+VERS-TLS1.3:%DISABLE_TLS13_COMPAT_MODE";
  gnutls_datum_t alpn = {(unsigned char *)"smb", 3};
  if (gnutls_init(&c->tls, GNUTLS_SERVER | GNUTLS_NO_END_OF_EARLY_DATA) < 0 ||
      gnutls_priority_set_direct(c->tls, prio, NULL) < 0 ||
      ngtcp2_crypto_gnutls_configure_server_session(c->tls) != 0 ||
      gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, f->cred) < 0 ||
      gnutls_alpn_set_protocols(c->tls, &alpn, 1, GNUTLS_ALPN_MANDATORY) < 0 ||
      gnutls_session_ticket_enable_server(c->tls, &f->ticket_key) < 0)
    return -1;
  gnutls_certificate_server_set_request(
      c->tls, f->require_client_cert ? GNUTLS_CERT_REQUIRE : GNUTLS_CERT_IGNORE);
  c->ref.get_conn = get_conn;
  c->ref.user_data = c;
  gnutls_session_set_ptr(c->tls, &c->ref);
  return 0;
}

static int new_server_conn(struct front *f, struct fconn *c,
                           const ngtcp2_pkt_hd *hd, const ngtcp2_path *path) {
  ngtcp2_cid scid;
  scid.datalen = 18;
  if (gnutls_rnd(GNUTLS_RND_RANDOM, scid.data, scid.datalen) < 0 ||
      conn_add_cid(c, &scid) < 0)
    return -1;
  ngtcp2_settings settings;
  ngtcp2_settings_default(&settings);
  settings.initial_ts = now_ns();
  settings.initial_rtt = 10 * NGTCP2_MILLISECONDS; /* see NOTES */
  settings.cc_algo = NGTCP2_CC_ALGO_BBR;
  settings.max_tx_udp_payload_size = MAX_UDP_PAYLOAD;
  ngtcp2_transport_params params;
  ngtcp2_transport_params_default(&params);
  params.initial_max_streams_bidi = 4;
  params.initial_max_stream_data_bidi_remote = 16 << 20;
  params.initial_max_data = 32 << 20;
  params.max_idle_timeout = 60 * NGTCP2_SECONDS;
  params.original_dcid = hd->dcid;
  if (gnutls_rnd(GNUTLS_RND_RANDOM, params.stateless_reset_token,
                 sizeof(params.stateless_reset_token)) < 0)
    return -1;
  params.stateless_reset_token_present = 1;
  remember_srt(c, &scid, params.stateless_reset_token);
  if (setup_tls(f, c) < 0 ||
      ngtcp2_conn_server_new(&c->conn, &hd->scid, &scid, path, hd->version,
                             &server_callbacks, &settings, &params, NULL,
                             c) != 0)
    return -1;
  ngtcp2_conn_set_tls_native_handle(c->conn, c->tls);
  return 0;
}

/* A new connection for a client Initial (RFC 9000 7), or NULL. */
static struct fconn *accept_conn(struct front *f, const uint8_t *pkt,
                                 size_t len, const ngtcp2_path *path) {
  ngtcp2_pkt_hd hd;
  if (ngtcp2_accept(&hd, pkt, len) != 0)
    return NULL;
  int slot = -1;
  for (int i = 0; i < MAX_CONNS && slot < 0; i++)
    if (!f->conns[i])
      slot = i;
  if (slot < 0) {
    fprintf(stderr, "quic_front: %d connections: refusing more\n",
            MAX_CONNS);
    return NULL;
  }
  struct fconn *c = calloc(1, sizeof(*c));
  if (!c)
    return NULL;
  f->conns[slot] = c;
  c->f = f;
  c->tcp = -1;
  c->stream_id = -1;
  c->odcid = hd.dcid;
  c->tx = malloc(MAX_UDP_PAYLOAD * GSO_MAX_SEGMENTS);
  /* the client's first DCID routes its Initial packets until the
   * handshake completes */
  if (!c->tx || conn_add_cid(c, &hd.dcid) < 0 ||
      new_server_conn(f, c, &hd, path) < 0) {
    free_conn(f, slot);
    return NULL;
  }
  return c;
}

/* ---- smbd side ------------------------------------------------------------ */

static struct chunk *tail_with_room(struct fconn *c) {
  if (c->tail && c->tail->len < CHUNK)
    return c->tail;
  struct chunk *k = malloc(sizeof(*k));
  if (!k)
    return NULL;
  k->next = NULL;
  k->off = c->end;
  k->len = 0;
  if (c->tail)
    c->tail->next = k;
  else
    c->head = k;
  c->tail = k;
  if (!c->cur)
    c->cur = k;
  return k;
}

static bool read_room(const struct fconn *c) {
  return c->tcp >= 0 && !c->tcp_eof && c->end - c->acked < MAX_UNACKED;
}

static void pump_to_smbd(struct fconn *c) {
  while (c->tcp >= 0 && c->up_len > c->up_off) {
    ssize_t n = send(c->tcp, c->up + c->up_off, c->up_len - c->up_off,
                     MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
      return;
    if (n <= 0) {
      set_closing(c, CLOSE_APP, 0);
      return;
    }
    c->up_off += (size_t)n;
    /* smbd took the bytes: give the client as much credit back */
    ngtcp2_conn_extend_max_stream_offset(c->conn, c->stream_id, (size_t)n);
    ngtcp2_conn_extend_max_offset(c->conn, (size_t)n);
  }
  if (c->tcp >= 0 && c->up_fin && !c->tcp_shut) {
    shutdown(c->tcp, SHUT_WR);
    c->tcp_shut = true;
  }
}

/* smbd -> client, bounded by what waits for acknowledgement */
static void pump_from_smbd(struct fconn *c) {
  while (read_room(c)) {
    struct chunk *k = tail_with_room(c);
    if (!k) {
      set_closing(c, CLOSE_LIBERR, NGTCP2_ERR_NOMEM);
      return;
    }
    ssize_t n = recv(c->tcp, k->data + k->len, CHUNK - k->len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
      return;
    if (n == 0)
      c->tcp_eof = true;
    if (n < 0)
      set_closing(c, CLOSE_APP, 0);
    if (n <= 0)
      return;
    k->len += (size_t)n;
    c->end += (uint64_t)n;
  }
}

/* ---- hostile modes --------------------------------------------------------- */

/* Queue bytes for the client as if smbd had sent them; zeros if data is
 * NULL. */
static int queue_bytes(struct fconn *c, const uint8_t *data, size_t len) {
  while (len) {
    struct chunk *k = tail_with_room(c);
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
    c->end += n;
    len -= n;
  }
  return 0;
}

/* The client opened its stream (and sent NEGOTIATE): misbehave. MS-SMB2
 * 2.1: a Direct-TCP header is a zero byte and a 24-bit length. */
static int hostile_act(struct fconn *c) {
  static const uint8_t garbage[] =
      "HTTP/1.1 400 Bad Request\r\nServer: not-smb\r\n\r\n";
  static const uint8_t huge[] = {0x80, 0, 0, 0, 0xfe, 'S', 'M', 'B'};
  static const uint8_t huge16m[] = {0, 0xff, 0xff, 0xff, 0xfe, 'S', 'M', 'B'};
  uint8_t cut[4 + 68] = {0, 0, 0, 200, 0xfe, 'S', 'M', 'B', 64};
  switch (c->f->hostile) {
  case H_GARBAGE:
    return queue_bytes(c, garbage, sizeof(garbage) - 1);
  case H_TRUNCATED:
    c->tcp_eof = true; /* FIN after the bytes */
    return queue_bytes(c, cut, sizeof(cut));
  case H_HUGE:
    return queue_bytes(c, huge, sizeof(huge));
  case H_HUGE16M:
    /* all of the frame, as far as the client's flow control lets it */
    return queue_bytes(c, huge16m, sizeof(huge16m)) < 0 ||
                   queue_bytes(c, NULL, 0xffffff - 4) < 0
               ? -1
               : 0;
  case H_RESET:
    /* RESET_STREAM and STOP_SENDING (RFC 9000 19.4, 19.5) */
    return ngtcp2_conn_shutdown_stream(c->conn, c->stream_id,
                                       HOSTILE_APP_ERROR) == 0
               ? 0
               : -1;
  case H_APPCLOSE:
    set_closing(c, CLOSE_APP, 0); /* send_close adds code and reason */
    return 0;
  case H_STATELESS_RESET:
    c->forget = true;
    return 0;
  default: /* silent, bigchain */
    return 0;
  }
}

/* ---- receiving ---------------------------------------------------------- */

/* RFC 9000 6: answer an unknown version with Version Negotiation, but only
 * for a datagram as large as an Initial must be (RFC 9000 14.1). */
static void send_version_negotiation(struct front *f,
                                     const ngtcp2_version_cid *vc,
                                     size_t dgram_len,
                                     const struct sockaddr_storage *from,
                                     socklen_t from_len) {
  if (dgram_len < 1200)
    return;
  uint8_t buf[256], r;
  const uint32_t sv[] = {NGTCP2_PROTO_VER_V1};
  gnutls_rnd(GNUTLS_RND_NONCE, &r, 1);
  ngtcp2_ssize n = ngtcp2_pkt_write_version_negotiation(
      buf, sizeof(buf), r, vc->scid, vc->scidlen, vc->dcid, vc->dcidlen, sv,
      1);
  if (n > 0)
    send_batch(f, buf, (size_t)n, 0, from, from_len);
}

static void on_datagram(struct front *f, const uint8_t *pkt, size_t len,
                        const struct sockaddr_storage *from,
                        socklen_t from_len) {
  ngtcp2_version_cid vc;
  int rv = ngtcp2_pkt_decode_version_cid(&vc, pkt, len, 18);
  if (rv == NGTCP2_ERR_VERSION_NEGOTIATION) {
    send_version_negotiation(f, &vc, len, from, from_len);
    return;
  }
  if (rv != 0)
    return;
  ngtcp2_path path = {.local = {(ngtcp2_sockaddr *)&f->local, f->local_len},
                      .remote = {(ngtcp2_sockaddr *)from, from_len}};
  struct fconn *c = cid_find(f, vc.dcid, vc.dcidlen);
  if (!c && f->n_forgotten &&
      answer_forgotten(f, pkt, len, vc.dcid, vc.dcidlen, from, from_len))
    return;
  if (!c)
    c = accept_conn(f, pkt, len, &path);
  if (!c || c->closing)
    return;
  /* the packet's source address is the path: ngtcp2 decides whether it
   * is a new one to validate (RFC 9000 9.3) */
  ngtcp2_pkt_info pi = {0};
  int rc = ngtcp2_conn_read_pkt(c->conn, &path, &pi, pkt, len, now_ns());
  c->dirty = true;
  if (rc != 0)
    on_conn_error(c, rc);
}

/* The segment size of a GRO batch, or 0. */
static size_t gro_size(struct msghdr *mh) {
  for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
    if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
      int v;
      memcpy(&v, CMSG_DATA(c), sizeof(v));
      return v > 0 ? (size_t)v : 0;
    }
  }
  return 0;
}

static void read_datagrams(struct front *f) {
  struct mmsghdr mm[RX_BATCH];
  struct iovec iov[RX_BATCH];
  struct sockaddr_storage from[RX_BATCH];
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } ctl[RX_BATCH];
  for (int round = 0; round < RX_ROUNDS; round++) {
    for (int i = 0; i < RX_BATCH; i++) {
      iov[i] = (struct iovec){f->rx[i], RX_BUF};
      mm[i].msg_hdr = (struct msghdr){
          .msg_name = &from[i], .msg_namelen = sizeof(from[i]),
          .msg_iov = &iov[i], .msg_iovlen = 1,
          .msg_control = ctl[i].buf, .msg_controllen = sizeof(ctl[i].buf)};
    }
    int k = recvmmsg(f->udp, mm, RX_BATCH, MSG_DONTWAIT, NULL);
    if (k <= 0)
      return;
    for (int i = 0; i < k; i++) {
      size_t len = mm[i].msg_len, seg = gro_size(&mm[i].msg_hdr);
      if (mm[i].msg_hdr.msg_flags & MSG_TRUNC)
        continue;
      if (!seg)
        seg = len;
      for (size_t off = 0; off < len; off += seg)
        on_datagram(f, f->rx[i] + off, len - off < seg ? len - off : seg,
                    &from[i], mm[i].msg_hdr.msg_namelen);
    }
    if (k < RX_BATCH)
      return;
  }
}

/* ---- the loop ------------------------------------------------------------- */

static short tcp_events(const struct fconn *c) {
  if (c->tcp < 0 || c->closing)
    return 0;
  return (short)((read_room(c) ? POLLIN : 0) |
                 (c->up_len > c->up_off ? POLLOUT : 0));
}

/* Timers, smbd, packets; then free what is finished. Only connections
 * with something to do are served, so idle ones cost nothing. */
static void service(struct front *f, int i) {
  struct fconn *c = f->conns[i];
  ngtcp2_tstamp now = now_ns();
  bool expired = ngtcp2_conn_get_expiry(c->conn) <= now;
  if (!c->dirty && !expired && !c->closing)
    return;
  c->dirty = false;
  if (!c->closing && expired) {
    int rc = ngtcp2_conn_handle_expiry(c->conn, now);
    if (rc != 0)
      on_conn_error(c, rc);
  }
  if (!c->closing && c->hostile_due) {
    c->hostile_due = false;
    if (hostile_act(c) < 0)
      set_closing(c, CLOSE_LIBERR, NGTCP2_ERR_NOMEM);
  }
  if (!c->closing) {
    pump_to_smbd(c);
    pump_from_smbd(c);
  }
  if (!c->closing)
    flush_conn(f, c);
  if (c->forget && !c->closing) {
    /* after this turn's packets (the ACK of NEGOTIATE, HANDSHAKE_DONE):
     * the client's next packet meets a stateless reset */
    forget_srts(f, c);
    set_closing(c, CLOSE_SILENT, 0);
  }
  if (!c->closing && !f->hostile && c->tcp_eof && c->fin_sent &&
      c->acked >= c->end)
    set_closing(c, CLOSE_APP, 0); /* smbd hung up and all is delivered */
  if (!c->closing && (ngtcp2_conn_is_in_draining_period(c->conn) ||
                      ngtcp2_conn_is_in_closing_period(c->conn)))
    set_closing(c, CLOSE_SILENT, 0);
  if (!c->closing)
    return;
  send_close(f, c);
  free_conn(f, i);
}

static void run(struct front *f, const sigset_t *waitmask) {
  static struct pollfd pfd[1 + MAX_CONNS];
  static struct fconn *who[1 + MAX_CONNS]; /* the connection of pfd[i] */
  while (!stop_flag) {
    nfds_t n = 1;
    bool want_out = false;
    ngtcp2_tstamp next = UINT64_MAX;
    for (int i = 0; i < MAX_CONNS; i++) {
      struct fconn *c = f->conns[i];
      if (!c)
        continue;
      /* a blocked connection waits for POLLOUT, not for its (pacing)
       * timer, or the loop would spin */
      if (c->tx_len)
        want_out = true;
      else if (ngtcp2_conn_get_expiry(c->conn) < next)
        next = ngtcp2_conn_get_expiry(c->conn);
      short ev = tcp_events(c);
      if (!ev)
        continue;
      who[n] = c;
      pfd[n++] = (struct pollfd){.fd = c->tcp, .events = ev};
    }
    pfd[0] = (struct pollfd){.fd = f->udp,
                             .events = POLLIN | (want_out ? POLLOUT : 0)};
    /* ngtcp2's expiry includes pacing: nanosecond timeouts (NOTES) */
    struct timespec ts, *tp = NULL;
    ngtcp2_tstamp now = now_ns();
    if (next != UINT64_MAX) {
      ngtcp2_tstamp wait = next > now ? next - now : 0;
      ts.tv_sec = (time_t)(wait / NGTCP2_SECONDS);
      ts.tv_nsec = (long)(wait % NGTCP2_SECONDS);
      tp = &ts;
    }
    if (ppoll(pfd, n, tp, waitmask) < 0 && errno != EINTR)
      break;
    for (nfds_t k = 1; k < n; k++)
      if (pfd[k].revents)
        who[k]->dirty = true;
    if (pfd[0].revents & POLLOUT)
      for (int i = 0; i < MAX_CONNS; i++)
        if (f->conns[i] && f->conns[i]->tx_len)
          f->conns[i]->dirty = true;
    if (pfd[0].revents & POLLIN)
      read_datagrams(f);
    for (int i = 0; i < MAX_CONNS; i++)
      if (f->conns[i])
        service(f, i);
  }
}

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

static int open_udp(struct front *f, int listen_port) {
  f->udp = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (f->udp < 0)
    return -1;
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_port = htons((uint16_t)listen_port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  int sz = 8 << 20, one = 1;
  /* as root the FORCE variants pass net.core.[rw]mem_max */
  if (setsockopt(f->udp, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
    setsockopt(f->udp, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
  if (setsockopt(f->udp, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
    setsockopt(f->udp, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
  /* GRO is an optimisation: without it every datagram comes alone */
  setsockopt(f->udp, IPPROTO_UDP, UDP_GRO, &one, sizeof(one));
  if (bind(f->udp, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
    perror("quic_front: bind");
    return -1;
  }
  f->local_len = sizeof(f->local);
  return getsockname(f->udp, (struct sockaddr *)&f->local, &f->local_len);
}

static int write_port_file(const struct front *f, const char *path) {
  FILE *pf = fopen(path, "w");
  if (!pf)
    return -1;
  fprintf(pf, "%u\n", ntohs(((const struct sockaddr_in *)&f->local)->sin_port));
  return fclose(pf);
}

/* Signals stay blocked except inside ppoll: no wake-up is lost. */
static void install_signals(sigset_t *waitmask) {
  struct sigaction sa = {.sa_handler = on_signal};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGINT);
  sigprocmask(SIG_BLOCK, &block, waitmask);
  sigdelset(waitmask, SIGTERM);
  sigdelset(waitmask, SIGINT);
}

int main(int argc, char **argv) {
  static const struct option opts[] = {
      {"cert", required_argument, NULL, 'c'},
      {"key", required_argument, NULL, 'k'},
      {"backend", required_argument, NULL, 'b'},
      {"listen", required_argument, NULL, 'l'},
      {"port-file", required_argument, NULL, 'p'},
      {"client-ca", required_argument, NULL, 'a'},
      {"require-client-cert", no_argument, NULL, 'r'},
      {"allow", required_argument, NULL, 'A'},
      {"deny", required_argument, NULL, 'D'},
      {"hostile", required_argument, NULL, 'H'},
      {NULL, 0, NULL, 0}};
  static struct front f; /* large (CID table): not on the stack */
  f.udp = -1;
  f.gso_ok = true;
  the_front = &f;
  const char *cert = NULL, *key = NULL, *port_file = NULL, *client_ca = NULL;
  int listen_port = 0, o;
  while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (o) {
    case 'c': cert = optarg; break;
    case 'k': key = optarg; break;
    case 'b': f.backend_port = (uint16_t)atoi(optarg); break;
    case 'l': listen_port = atoi(optarg); break;
    case 'p': port_file = optarg; break;
    case 'a': client_ca = optarg; break;
    case 'r': f.require_client_cert = true; break;
    case 'A':
      if (add_hex(f.allow, &f.n_allow, optarg) < 0) return 2;
      break;
    case 'D':
      if (add_hex(f.deny, &f.n_deny, optarg) < 0) return 2;
      break;
    case 'H':
      if (parse_hostile(optarg, &f.hostile) < 0) return 2;
      break;
    default: return 2;
    }
  }
  if (!cert || !key || !(f.backend_port || f.hostile) || !port_file) {
    fprintf(stderr, "usage: quic_front --cert F --key F (--backend PORT | "
            "--hostile MODE) --port-file F [--listen PORT] [--client-ca F] "
            "[--require-client-cert] [--allow SHA256] [--deny SHA256]\n");
    return 2;
  }
  if (gnutls_certificate_allocate_credentials(&f.cred) < 0)
    return 1;
  if (gnutls_certificate_set_x509_key_file(f.cred, cert, key,
                                           GNUTLS_X509_FMT_PEM) < 0) {
    fprintf(stderr, "quic_front: cannot load %s / %s\n", cert, key);
    return 1;
  }
  if (client_ca && gnutls_certificate_set_x509_trust_file(
                       f.cred, client_ca, GNUTLS_X509_FMT_PEM) < 0) {
    fprintf(stderr, "quic_front: cannot load %s\n", client_ca);
    return 1;
  }
  gnutls_certificate_set_verify_function(f.cred, verify_client);
  if (gnutls_session_ticket_key_generate(&f.ticket_key) < 0)
    return 1;
  sigset_t waitmask;
  install_signals(&waitmask); /* before the port file announces us */
  f.rx = malloc(sizeof(*f.rx) * RX_BATCH);
  if (!f.rx || open_udp(&f, listen_port) < 0 ||
      write_port_file(&f, port_file) < 0)
    return 1;
  run(&f, &waitmask);
  for (int i = 0; i < MAX_CONNS; i++)
    if (f.conns[i])
      free_conn(&f, i);
  free(f.rx);
  gnutls_free(f.ticket_key.data);
  gnutls_certificate_free_credentials(f.cred);
  close(f.udp);
  return 0;
}
