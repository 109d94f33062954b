/* quic_server: the QUIC server core of the test servers; see quic_server.h.
 *
 * Packet I/O is batched so a server is not the bottleneck of a benchmark:
 * datagrams arrive through recvmmsg (with UDP GRO where the kernel offers
 * it) and leave in UDP GSO batches of one send quantum, paced by ngtcp2.
 * Every packet goes to the path ngtcp2 chose for it, so NAT rebinding and
 * client migration with path validation work (RFC 9000 9). Packets are
 * routed to their connection by every connection ID it issued (RFC 9000
 * 5.1), through a hash table kept in step with ngtcp2's callbacks.
 */
#include "quic_server.h"
#include "udp_batch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>


#define MAX_CONNS 256
#define MAX_CIDS 16          /* routing IDs per connection, see cb_new_cid */
#define CID_SLOTS 8192       /* power of 2, > 2 * MAX_CONNS * MAX_CIDS */
#define SCID_LEN 18
#define MAX_UDP_PAYLOAD 1452    /* fits a 1500-byte Ethernet MTU */
#define GSO_MAX_SEGMENTS 40     /* 40 * 1452 stays under the 64 KiB limit */
#define RX_BATCH 16             /* datagrams per recvmmsg */
_Static_assert(RX_BATCH <= UDP_RX_MAX, "a receive batch fits struct udp_rx");
#define RX_ROUNDS 8             /* recvmmsg calls per loop turn */
#define RX_BUF 65536            /* a GRO batch is at most 64 KiB */
#define MAX_FORGOTTEN 64        /* forgotten connections' IDs remembered */
#define MAX_VECS 16
#define MAX_REASON 128

/* A stateless reset token issued with a connection ID (RFC 9000 10.3). */
struct srt {
  ngtcp2_cid cid;
  uint8_t token[NGTCP2_STATELESS_RESET_TOKENLEN];
};

enum close_kind {
  CLOSE_SILENT,   /* the peer closed, idle timeout, forgotten: send nothing */
  CLOSE_LIBERR,   /* a transport error: tell the peer (RFC 9000 10.2) */
  CLOSE_APP,      /* the application closes, with its code and reason */
};

struct qsrv_conn {
  struct qsrv *s;
  void *cu; /* the application's, freed by its gone */
  unsigned number;
  ngtcp2_conn *conn;
  ngtcp2_crypto_conn_ref ref;
  gnutls_session_t tls;
  ngtcp2_cid cids[MAX_CIDS]; /* every DCID that routes to us */
  size_t n_cids;
  ngtcp2_cid odcid;          /* the client's first DCID, until handshake */
  struct srt srts[MAX_CIDS]; /* tokens issued, for qsrv_conn_forget */
  size_t n_srts;
  /* dirty: a datagram, the application's fd or the socket woke it up */
  bool dirty;
  /* closing: free at the end of this loop turn, after close_kind;
   * forget: drop silently after this turn's packets, keeping the tokens */
  bool closing, forget;
  enum close_kind close_kind;
  int close_err;
  uint64_t app_code;
  char reason[MAX_REASON];
  size_t reason_len;
  /* outgoing GSO batch; tx_len > 0: the socket refused it (EAGAIN) */
  uint8_t *tx;
  size_t tx_len, tx_gso;
  struct sockaddr_storage tx_to;
  socklen_t tx_to_len;
};

struct cid_slot {
  ngtcp2_cid cid;
  struct qsrv_conn *c; /* NULL: empty */
};

struct qsrv {
  struct qsrv_cfg cfg; /* strings borrowed from the caller */
  int udp;
  struct sockaddr_storage local;
  socklen_t local_len;
  gnutls_certificate_credentials_t cred;
  gnutls_datum_t ticket_key;
  gnutls_datum_t *alpn;
  bool gso_ok;
  sigset_t waitmask; /* signals open inside ppoll only */
  unsigned n_accepted;
  struct qsrv_conn *conns[MAX_CONNS];
  struct cid_slot cids[CID_SLOTS];
  uint8_t (*rx)[RX_BUF]; /* RX_BATCH receive buffers */
  /* connections forgotten on purpose: their IDs and tokens (a ring) */
  struct srt forgotten[MAX_FORGOTTEN];
  size_t n_forgotten;
  struct pollfd pfd[1 + MAX_CONNS];
  struct qsrv_conn *who[1 + MAX_CONNS]; /* the connection of pfd[i] */
};

/* Set by SIGTERM/SIGINT: a signal handler has nowhere else to say it. */
static volatile sig_atomic_t stop_flag;

static void on_signal(int sig) {
  (void)sig;
  stop_flag = 1;
}

static ngtcp2_tstamp now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (ngtcp2_tstamp)ts.tv_sec * NGTCP2_SECONDS + (ngtcp2_tstamp)ts.tv_nsec;
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
static size_t cid_slot(const struct qsrv *s, const uint8_t *d, size_t len) {
  size_t i = cid_hash(d, len);
  while (s->cids[i].c && !cid_is(&s->cids[i].cid, d, len))
    i = (i + 1) & (CID_SLOTS - 1);
  return i;
}

static struct qsrv_conn *cid_find(const struct qsrv *s, const uint8_t *d,
                                  size_t len) {
  return s->cids[cid_slot(s, d, len)].c;
}

/* Backward-shift deletion keeps every probe chain unbroken. */
static void cid_erase(struct qsrv *s, const ngtcp2_cid *cid) {
  size_t i = cid_slot(s, cid->data, cid->datalen);
  if (!s->cids[i].c)
    return;
  for (size_t j = (i + 1) & (CID_SLOTS - 1); s->cids[j].c;
       j = (j + 1) & (CID_SLOTS - 1)) {
    size_t k = cid_hash(s->cids[j].cid.data, s->cids[j].cid.datalen);
    bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
    if (stays)
      continue;
    s->cids[i] = s->cids[j];
    i = j;
  }
  s->cids[i].c = NULL;
}

/* Route cid to c; fails (never silently) when c has MAX_CIDS already or
 * another connection owns the ID. */
static int conn_add_cid(struct qsrv_conn *c, const ngtcp2_cid *cid) {
  if (c->n_cids == MAX_CIDS) {
    fprintf(stderr, "%s: connection has %d connection IDs already\n",
            c->s->cfg.name, MAX_CIDS);
    return -1;
  }
  size_t i = cid_slot(c->s, cid->data, cid->datalen);
  if (c->s->cids[i].c)
    return -1;
  c->s->cids[i] = (struct cid_slot){*cid, c};
  c->cids[c->n_cids++] = *cid;
  return 0;
}

static void conn_del_cid(struct qsrv_conn *c, const ngtcp2_cid *cid) {
  for (size_t k = 0; k < c->n_cids; k++) {
    if (!cid_is(&c->cids[k], cid->data, cid->datalen))
      continue;
    cid_erase(c->s, cid);
    c->cids[k] = c->cids[--c->n_cids];
    return;
  }
}

/* ---- stateless reset of forgotten connections (RFC 9000 10.3) ---------- */

/* Keep the token issued with cid, to reset the connection after it is
 * forgotten. */
static void remember_srt(struct qsrv_conn *c, const ngtcp2_cid *cid,
                         const uint8_t *token) {
  if (c->n_srts == MAX_CIDS)
    return;
  c->srts[c->n_srts].cid = *cid;
  memcpy(c->srts[c->n_srts].token, token, NGTCP2_STATELESS_RESET_TOKENLEN);
  c->n_srts++;
}

/* The connection is forgotten: its tokens go to the server's ring. */
static void forget_srts(struct qsrv *s, const struct qsrv_conn *c) {
  for (size_t i = 0; i < c->n_srts; i++)
    s->forgotten[s->n_forgotten++ % MAX_FORGOTTEN] = c->srts[i];
}

static const uint8_t *forgotten_token(const struct qsrv *s,
                                      const uint8_t *dcid, size_t len) {
  size_t n = s->n_forgotten < MAX_FORGOTTEN ? s->n_forgotten : MAX_FORGOTTEN;
  for (size_t i = 0; i < n; i++)
    if (cid_is(&s->forgotten[i].cid, dcid, len))
      return s->forgotten[i].token;
  return NULL;
}

static int send_batch(struct qsrv *s, const uint8_t *buf, size_t len,
                      size_t gso, const struct sockaddr_storage *to,
                      socklen_t tolen);

/* A short-header packet for a connection forgotten on purpose: answer
 * with a Stateless Reset carrying the token issued with its DCID. RFC
 * 9000 10.3.3: smaller than the packet that triggered it (no reset
 * loops), never below the 21 bytes the format needs. Returns true when
 * the packet was one of those (answered or not). */
static bool answer_forgotten(struct qsrv *s, const uint8_t *pkt, size_t len,
                             const uint8_t *dcid, size_t dcidlen,
                             const struct sockaddr_storage *from,
                             socklen_t from_len) {
  if (pkt[0] & 0x80)
    return false; /* long header: not one of an established connection */
  const uint8_t *token = forgotten_token(s, dcid, dcidlen);
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
    fprintf(stderr, "%s: stateless reset (%zd bytes) for a forgotten "
            "connection\n", s->cfg.name, n);
    send_batch(s, buf, (size_t)n, 0, from, from_len);
  }
  return true;
}

/* ---- ngtcp2 callbacks ----------------------------------------------------- */

#define APP(c) ((c)->s->cfg.cb)

static int app_rc(int rc) {
  return rc < 0 ? NGTCP2_ERR_CALLBACK_FAILURE : 0;
}

static ngtcp2_conn *get_conn(ngtcp2_crypto_conn_ref *ref) {
  return ((struct qsrv_conn *)ref->user_data)->conn;
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
  struct qsrv_conn *c = user;
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
  struct qsrv_conn *c = user;
  conn_del_cid(c, &c->odcid);
  return APP(c)->established ? app_rc(APP(c)->established(c->cu)) : 0;
}

static int cb_path_validation(ngtcp2_conn *conn, uint32_t flags,
                              const ngtcp2_path *path,
                              ngtcp2_path_validation_result res,
                              void *user) {
  (void)conn;
  (void)flags;
  struct qsrv_conn *c = user;
  char a[INET6_ADDRSTRLEN + 8];
  fprintf(stderr, "%s: path validation to %s %s\n", c->s->cfg.name,
          addr_str((const struct sockaddr *)path->remote.addr, a, sizeof(a)),
          res == NGTCP2_PATH_VALIDATION_RESULT_SUCCESS ? "succeeded"
                                                       : "failed");
  return 0;
}

static int cb_stream_open(ngtcp2_conn *conn, int64_t sid, void *user) {
  (void)conn;
  struct qsrv_conn *c = user;
  return APP(c)->stream_open ? app_rc(APP(c)->stream_open(c->cu, sid)) : 0;
}

static int cb_recv_stream_data(ngtcp2_conn *conn, uint32_t flags,
                               int64_t sid, uint64_t offset,
                               const uint8_t *data, size_t len, void *user,
                               void *stream_user) {
  (void)conn;
  (void)offset; /* ngtcp2 delivers stream data in order */
  (void)stream_user;
  struct qsrv_conn *c = user;
  if (!APP(c)->recv) {
    qsrv_conn_consume(c, sid, len); /* nobody reads: keep the client going */
    return 0;
  }
  return app_rc(APP(c)->recv(c->cu, sid, data, len,
                             (flags & NGTCP2_STREAM_DATA_FLAG_FIN) != 0));
}

static int cb_acked(ngtcp2_conn *conn, int64_t sid, uint64_t offset,
                    uint64_t len, void *user, void *stream_user) {
  (void)conn;
  (void)stream_user;
  struct qsrv_conn *c = user;
  return APP(c)->acked ? app_rc(APP(c)->acked(c->cu, sid, offset, len)) : 0;
}

static int cb_stream_close(ngtcp2_conn *conn, uint32_t flags, int64_t sid,
                           uint64_t code, void *user, void *stream_user) {
  (void)conn;
  (void)stream_user;
  struct qsrv_conn *c = user;
  bool has = (flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET) != 0;
  return APP(c)->closed ? app_rc(APP(c)->closed(c->cu, sid, has ? code : 0,
                                                has))
                        : 0;
}

static int cb_stream_reset(ngtcp2_conn *conn, int64_t sid, uint64_t final,
                           uint64_t code, void *user, void *stream_user) {
  (void)conn;
  (void)final;
  (void)stream_user;
  struct qsrv_conn *c = user;
  return APP(c)->reset ? app_rc(APP(c)->reset(c->cu, sid, code)) : 0;
}

static int cb_stop_sending(ngtcp2_conn *conn, int64_t sid, uint64_t code,
                           void *user, void *stream_user) {
  return cb_stream_reset(conn, sid, 0, code, user, stream_user);
}

static int cb_max_streams_bidi(ngtcp2_conn *conn, uint64_t max, void *user) {
  (void)conn;
  struct qsrv_conn *c = user;
  if (APP(c)->max_streams_bidi)
    APP(c)->max_streams_bidi(c->cu, max);
  return 0;
}

static int cb_max_stream_data(ngtcp2_conn *conn, int64_t sid, uint64_t max,
                              void *user, void *stream_user) {
  (void)conn;
  (void)max;
  (void)stream_user;
  struct qsrv_conn *c = user;
  return APP(c)->unblocked ? app_rc(APP(c)->unblocked(c->cu, sid)) : 0;
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
    .stream_close = cb_stream_close,
    .stream_reset = cb_stream_reset,
    .stream_stop_sending = cb_stop_sending,
    .extend_max_remote_streams_bidi = cb_max_streams_bidi,
    .extend_max_stream_data = cb_max_stream_data,
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

/* gnutls' verify hook: the session's pointer is ngtcp2's conn ref (set in
 * setup_tls), whose user data is the connection. */
static int verify_client(gnutls_session_t tls) {
  ngtcp2_crypto_conn_ref *ref = gnutls_session_get_ptr(tls);
  struct qsrv_conn *c = ref->user_data;
  struct qsrv *s = c->s;
  unsigned n = 0;
  const gnutls_datum_t *certs = gnutls_certificate_get_peers(tls, &n);
  if (!certs || !n)
    return s->cfg.require_client_cert ? -1 : 0;
  unsigned status = 0;
  if (gnutls_certificate_verify_peers2(tls, &status) < 0 || status) {
    fprintf(stderr, "%s: client certificate does not verify\n", s->cfg.name);
    return -1;
  }
  uint8_t fp[32];
  size_t fl = sizeof(fp);
  char hex[65];
  if (gnutls_fingerprint(GNUTLS_DIG_SHA256, &certs[0], fp, &fl) < 0)
    return -1;
  for (size_t i = 0; i < 32; i++)
    snprintf(hex + 2 * i, 3, "%02x", fp[i]);
  return APP(c)->client_cert ? APP(c)->client_cert(s->cfg.app, hex) : 0;
}

/* ---- sending ------------------------------------------------------------ */

/* One sendmsg, with a UDP_SEGMENT cmsg when gso splits buf into several
 * datagrams. Returns 0 when sent (or dropped for good), 1 on EAGAIN. */
static int send_batch(struct qsrv *s, const uint8_t *buf, size_t len,
                      size_t gso, const struct sockaddr_storage *to,
                      socklen_t tolen) {
  struct iovec iov = {(void *)buf, len};
  union udp_ctl cm;
  struct msghdr mh = {.msg_name = (void *)to, .msg_namelen = tolen,
                      .msg_iov = &iov, .msg_iovlen = 1};
  if (gso && gso < len)
    udp_set_segment(&mh, &cm, gso);
  for (;;) {
    if (sendmsg(s->udp, &mh, 0) >= 0)
      return 0;
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      return 1;
    if (errno != EIO || !mh.msg_control)
      return 0; /* lost, as far as QUIC knows: it will resend */
    /* no GSO on this path (no checksum offload): one datagram per call,
     * for good */
    s->gso_ok = false;
    for (size_t off = 0; off < len; off += gso) {
      size_t l = len - off < gso ? len - off : gso;
      if (send_batch(s, buf + off, l, 0, to, tolen))
        return 1; /* retried whole: the receiver drops duplicate packet
                   * numbers (RFC 9000 12.3) */
    }
    return 0;
  }
}

/* Send the batch in c->tx to path; on EAGAIN keep it for POLLOUT. */
static void send_tx(struct qsrv_conn *c, size_t len, size_t gso,
                    const ngtcp2_path *path) {
  memcpy(&c->tx_to, path->remote.addr, path->remote.addrlen);
  c->tx_to_len = (socklen_t)path->remote.addrlen;
  if (send_batch(c->s, c->tx, len, c->s->gso_ok ? gso : 0, &c->tx_to,
                 c->tx_to_len) == 1) {
    c->tx_len = len;
    c->tx_gso = gso;
  }
}

/* Retry a batch the socket refused; returns true while still blocked. */
static bool retry_tx(struct qsrv_conn *c) {
  if (!c->tx_len)
    return false;
  if (send_batch(c->s, c->tx, c->tx_len, c->s->gso_ok ? c->tx_gso : 0,
                 &c->tx_to, c->tx_to_len) == 1)
    return true;
  c->tx_len = 0;
  return false;
}

/* The application's next stream data, while it may be sent: with no
 * connection credit left only an application that tracks blocked
 * streams is spared the offer. Returns the vec count, or -1. */
static long pull_app(struct qsrv_conn *c, int64_t *sid, bool *fin,
                     ngtcp2_vec *nv) {
  *sid = -1;
  *fin = false;
  if (!APP(c)->pull ||
      (APP(c)->blocked && !ngtcp2_conn_get_max_data_left(c->conn)))
    return 0;
  struct qsrv_vec v[MAX_VECS];
  long n = APP(c)->pull(c->cu, sid, fin, v, MAX_VECS);
  for (long k = 0; k < n; k++)
    nv[k] = (ngtcp2_vec){(uint8_t *)v[k].base, v[k].len};
  return n;
}

/* Write one packet into dest; returns its size, 0 if ngtcp2 has nothing
 * to send now (congestion, pacing), or a negative ngtcp2 error. */
static ngtcp2_ssize write_one(struct qsrv_conn *c, ngtcp2_path *path,
                              uint8_t *dest, size_t len, ngtcp2_tstamp ts) {
  const struct qsrv_app *app = APP(c);
  ngtcp2_vec v[MAX_VECS];
  ngtcp2_pkt_info pi;
  for (;;) {
    int64_t sid;
    bool fin;
    long nv = pull_app(c, &sid, &fin, v);
    if (nv < 0)
      return NGTCP2_ERR_CALLBACK_FAILURE;
    uint64_t given = 0;
    for (long k = 0; k < nv; k++)
      given += v[k].len;
    uint32_t fl = NGTCP2_WRITE_STREAM_FLAG_MORE |
                  (fin ? NGTCP2_WRITE_STREAM_FLAG_FIN : 0);
    ngtcp2_ssize datalen = -1;
    ngtcp2_ssize n = ngtcp2_conn_writev_stream(c->conn, path, &pi, dest, len,
                                               &datalen, fl, sid,
                                               nv ? v : NULL, (size_t)nv, ts);
    /* ngtcp2 sends the FIN with the stream's last byte (RFC 9000 19.8) */
    if (datalen >= 0 && sid >= 0 && app->consumed &&
        app->consumed(c->cu, sid, (size_t)datalen,
                      fin && (uint64_t)datalen == given) < 0)
      return NGTCP2_ERR_CALLBACK_FAILURE;
    if (n == NGTCP2_ERR_WRITE_MORE)
      continue; /* more stream data fits in this packet */
    bool held = n == NGTCP2_ERR_STREAM_DATA_BLOCKED ||
                n == NGTCP2_ERR_STREAM_SHUT_WR;
    if (held && app->blocked) {
      if (app->blocked(c->cu, sid, n == NGTCP2_ERR_STREAM_SHUT_WR) < 0)
        return NGTCP2_ERR_CALLBACK_FAILURE;
      continue;
    }
    if (held || n == NGTCP2_ERR_STREAM_NOT_FOUND)
      n = ngtcp2_conn_write_pkt(c->conn, path, &pi, dest, len, ts);
    return n;
  }
}

static void set_closing(struct qsrv_conn *c, enum close_kind kind, int err) {
  if (c->closing)
    return;
  c->closing = true;
  c->close_kind = kind;
  c->close_err = err;
}

/* An ngtcp2 call failed: close, telling the client why unless it closed
 * first (RFC 9000 10.2.2), the packet was not worth an answer, or the
 * connection sat idle (RFC 9000 10.1). */
static void on_conn_error(struct qsrv_conn *c, int rc) {
  bool silent = rc == NGTCP2_ERR_DRAINING || rc == NGTCP2_ERR_CLOSING ||
                rc == NGTCP2_ERR_DROP_CONN || rc == NGTCP2_ERR_IDLE_CLOSE;
  set_closing(c, silent ? CLOSE_SILENT : CLOSE_LIBERR, rc);
}

/* Write and send up to one send quantum of packets in GSO batches of
 * equal-sized packets to one path, then let ngtcp2 pace the next burst
 * (ngtcp2_conn_update_pkt_tx_time). Each packet goes where ngtcp2 says:
 * during path validation that is the new path, or a probe to the old one
 * (RFC 9000 9.3, 8.2). */
static void flush_conn(struct qsrv_conn *c) {
  if (retry_tx(c))
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
      send_tx(c, off, gso, &bp.path);
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
    if ((size_t)n < gso || off + mtu > cap || !c->s->gso_ok) {
      send_tx(c, off, gso, &bp.path);
      off = 0;
    }
  }
  if (off && !c->tx_len)
    send_tx(c, off, gso, &bp.path);
  ngtcp2_conn_update_pkt_tx_time(c->conn, ts);
}

/* CONNECTION_CLOSE (RFC 9000 10.2) so the client learns why at once
 * instead of waiting for its idle timeout. A failed handshake (say, no
 * common ALPN, RFC 9001 8.1) goes out as its TLS alert. */
static void send_close(struct qsrv_conn *c) {
  if (c->close_kind == CLOSE_SILENT || !c->conn ||
      ngtcp2_conn_is_in_draining_period(c->conn))
    return;
  if (c->close_kind == CLOSE_LIBERR) {
    char a[INET6_ADDRSTRLEN + 8];
    const ngtcp2_path *p = ngtcp2_conn_get_path(c->conn);
    fprintf(stderr, "%s: closing connection %u from %s: %s", c->s->cfg.name,
            c->number,
            addr_str((const struct sockaddr *)p->remote.addr, a, sizeof(a)),
            ngtcp2_strerror(c->close_err));
    if (c->close_err == NGTCP2_ERR_CRYPTO)
      fprintf(stderr, " (TLS alert %u)", ngtcp2_conn_get_tls_alert(c->conn));
    fputc('\n', stderr);
  }
  ngtcp2_connection_close_error ccerr;
  ngtcp2_connection_close_error_default(&ccerr);
  if (c->close_kind == CLOSE_APP)
    ngtcp2_connection_close_error_set_application_error(
        &ccerr, c->app_code, (const uint8_t *)c->reason, c->reason_len);
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
  send_batch(c->s, buf, (size_t)n, 0, &to, (socklen_t)ps.path.remote.addrlen);
}

/* ---- connections -------------------------------------------------------- */

static void free_conn(struct qsrv *s, int i) {
  struct qsrv_conn *c = s->conns[i];
  while (c->n_cids)
    conn_del_cid(c, &c->cids[0]);
  if (c->cu && s->cfg.cb->gone)
    s->cfg.cb->gone(c->cu);
  if (c->conn)
    ngtcp2_conn_del(c->conn);
  if (c->tls)
    gnutls_deinit(c->tls);
  free(c->tx);
  free(c);
  s->conns[i] = NULL;
}

static int setup_tls(struct qsrv *s, struct qsrv_conn *c) {
  static const char prio[] =
      "NORMAL:-VERS-ALL:+VERS-TLS1.3:%DISABLE_TLS13_COMPAT_MODE";
  if (gnutls_init(&c->tls, GNUTLS_SERVER | GNUTLS_NO_END_OF_EARLY_DATA) < 0 ||
      gnutls_priority_set_direct(c->tls, prio, NULL) < 0 ||
      ngtcp2_crypto_gnutls_configure_server_session(c->tls) != 0 ||
      gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, s->cred) < 0 ||
      gnutls_alpn_set_protocols(c->tls, s->alpn, (unsigned)s->cfg.n_alpn,
                                GNUTLS_ALPN_MANDATORY) < 0 ||
      gnutls_session_ticket_enable_server(c->tls, &s->ticket_key) < 0)
    return -1;
  gnutls_certificate_server_set_request(
      c->tls, s->cfg.require_client_cert ? GNUTLS_CERT_REQUIRE
                                         : GNUTLS_CERT_IGNORE);
  c->ref.get_conn = get_conn;
  c->ref.user_data = c;
  gnutls_session_set_ptr(c->tls, &c->ref);
  return 0;
}

static void transport_params(const struct qsrv_cfg *cfg,
                             ngtcp2_transport_params *p) {
  ngtcp2_transport_params_default(p);
  p->initial_max_streams_bidi = cfg->max_streams_bidi;
  p->initial_max_streams_uni = cfg->max_streams_uni;
  p->initial_max_stream_data_bidi_remote = cfg->stream_window_bidi;
  p->initial_max_stream_data_uni = cfg->stream_window_uni;
  p->initial_max_data = cfg->conn_window;
  p->max_idle_timeout = cfg->idle_timeout_s * NGTCP2_SECONDS;
}

static int new_server_conn(struct qsrv *s, struct qsrv_conn *c,
                           const ngtcp2_pkt_hd *hd, const ngtcp2_path *path) {
  ngtcp2_cid scid;
  scid.datalen = SCID_LEN;
  if (gnutls_rnd(GNUTLS_RND_RANDOM, scid.data, scid.datalen) < 0 ||
      conn_add_cid(c, &scid) < 0)
    return -1;
  ngtcp2_settings settings;
  ngtcp2_settings_default(&settings);
  settings.initial_ts = now_ns();
  if (s->cfg.initial_rtt_ms) /* see NOTES */
    settings.initial_rtt = s->cfg.initial_rtt_ms * NGTCP2_MILLISECONDS;
  if (s->cfg.bbr)
    settings.cc_algo = NGTCP2_CC_ALGO_BBR;
  settings.max_tx_udp_payload_size = MAX_UDP_PAYLOAD;
  ngtcp2_transport_params params;
  transport_params(&s->cfg, &params);
  params.original_dcid = hd->dcid;
  if (gnutls_rnd(GNUTLS_RND_RANDOM, params.stateless_reset_token,
                 sizeof(params.stateless_reset_token)) < 0)
    return -1;
  params.stateless_reset_token_present = 1;
  remember_srt(c, &scid, params.stateless_reset_token);
  if (setup_tls(s, c) < 0 ||
      ngtcp2_conn_server_new(&c->conn, &hd->scid, &scid, path, hd->version,
                             &server_callbacks, &settings, &params, NULL,
                             c) != 0)
    return -1;
  ngtcp2_conn_set_tls_native_handle(c->conn, c->tls);
  return 0;
}

/* A new connection for a client Initial (RFC 9000 7), or NULL. */
static struct qsrv_conn *accept_conn(struct qsrv *s, const uint8_t *pkt,
                                     size_t len, const ngtcp2_path *path) {
  ngtcp2_pkt_hd hd;
  if (ngtcp2_accept(&hd, pkt, len) != 0)
    return NULL;
  int slot = -1;
  for (int i = 0; i < MAX_CONNS && slot < 0; i++)
    if (!s->conns[i])
      slot = i;
  if (slot < 0) {
    fprintf(stderr, "%s: %d connections: refusing more\n", s->cfg.name,
            MAX_CONNS);
    return NULL;
  }
  struct qsrv_conn *c = calloc(1, sizeof(*c));
  if (!c)
    return NULL;
  s->conns[slot] = c;
  c->s = s;
  c->number = ++s->n_accepted;
  c->odcid = hd.dcid;
  c->tx = malloc(MAX_UDP_PAYLOAD * GSO_MAX_SEGMENTS);
  if (c->tx && s->cfg.cb->accept)
    c->cu = s->cfg.cb->accept(s->cfg.app, c);
  /* the client's first DCID routes its Initial packets until the
   * handshake completes */
  if (!c->tx || (s->cfg.cb->accept && !c->cu) ||
      conn_add_cid(c, &hd.dcid) < 0 || new_server_conn(s, c, &hd, path) < 0) {
    free_conn(s, slot);
    return NULL;
  }
  return c;
}

/* ---- receiving ---------------------------------------------------------- */

/* RFC 9000 6: answer an unknown version with Version Negotiation, but only
 * for a datagram as large as an Initial must be (RFC 9000 14.1). */
static void send_version_negotiation(struct qsrv *s,
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
    send_batch(s, buf, (size_t)n, 0, from, from_len);
}

static void on_datagram(struct qsrv *s, const uint8_t *pkt, size_t len,
                        const struct sockaddr_storage *from,
                        socklen_t from_len) {
  ngtcp2_version_cid vc;
  int rv = ngtcp2_pkt_decode_version_cid(&vc, pkt, len, SCID_LEN);
  if (rv == NGTCP2_ERR_VERSION_NEGOTIATION) {
    send_version_negotiation(s, &vc, len, from, from_len);
    return;
  }
  if (rv != 0)
    return;
  ngtcp2_path path = {.local = {(ngtcp2_sockaddr *)&s->local, s->local_len},
                      .remote = {(ngtcp2_sockaddr *)from, from_len}};
  struct qsrv_conn *c = cid_find(s, vc.dcid, vc.dcidlen);
  if (!c && s->n_forgotten &&
      answer_forgotten(s, pkt, len, vc.dcid, vc.dcidlen, from, from_len))
    return;
  if (!c)
    c = accept_conn(s, pkt, len, &path);
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

static void read_datagrams(struct qsrv *s) {
  struct udp_rx b;
  for (int round = 0; round < RX_ROUNDS; round++) {
    int k = udp_recv_batch(s->udp, &b, s->rx[0], RX_BUF, RX_BATCH);
    if (k <= 0)
      return;
    for (int i = 0; i < k; i++) {
      struct msghdr *mh = &b.mm[i].msg_hdr;
      size_t len = b.mm[i].msg_len, seg = udp_gro_size(mh);
      if (mh->msg_flags & MSG_TRUNC)
        continue;
      if (!seg)
        seg = len;
      for (size_t off = 0; off < len; off += seg)
        on_datagram(s, s->rx[i] + off, len - off < seg ? len - off : seg,
                    &b.from[i], mh->msg_namelen);
    }
    if (k < RX_BATCH)
      return;
  }
}

/* ---- the loop ------------------------------------------------------------- */

/* Timers, the application, packets; then free what is finished. Only
 * connections with something to do are served, so idle ones cost
 * nothing. */
static void service(struct qsrv *s, int i) {
  struct qsrv_conn *c = s->conns[i];
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
  if (!c->closing && s->cfg.cb->service)
    s->cfg.cb->service(c->cu);
  if (!c->closing)
    flush_conn(c);
  if (c->forget && !c->closing) {
    /* after this turn's packets: the client's next one meets a reset */
    forget_srts(s, c);
    set_closing(c, CLOSE_SILENT, 0);
  }
  if (!c->closing && (ngtcp2_conn_is_in_draining_period(c->conn) ||
                      ngtcp2_conn_is_in_closing_period(c->conn)))
    set_closing(c, CLOSE_SILENT, 0);
  if (!c->closing)
    return;
  send_close(c);
  free_conn(s, i);
}

/* The poll set: the UDP socket (POLLOUT while a batch is blocked), and
 * the descriptors the application waits on; the next timer in *next. */
static nfds_t poll_set(struct qsrv *s, ngtcp2_tstamp *next) {
  nfds_t n = 1;
  bool want_out = false;
  *next = UINT64_MAX;
  for (int i = 0; i < MAX_CONNS; i++) {
    struct qsrv_conn *c = s->conns[i];
    if (!c)
      continue;
    /* a blocked connection waits for POLLOUT, not for its (pacing)
     * timer, or the loop would spin */
    if (c->tx_len)
      want_out = true;
    else if (ngtcp2_conn_get_expiry(c->conn) < *next)
      *next = ngtcp2_conn_get_expiry(c->conn);
    short ev = 0;
    int fd = s->cfg.cb->poll_fd ? s->cfg.cb->poll_fd(c->cu, &ev) : -1;
    if (fd < 0 || !ev)
      continue;
    s->who[n] = c;
    s->pfd[n++] = (struct pollfd){.fd = fd, .events = ev};
  }
  s->pfd[0] = (struct pollfd){.fd = s->udp,
                              .events = POLLIN | (want_out ? POLLOUT : 0)};
  return n;
}

void qsrv_run(struct qsrv *s) {
  while (!stop_flag) {
    ngtcp2_tstamp next;
    nfds_t n = poll_set(s, &next);
    /* ngtcp2's expiry includes pacing: nanosecond timeouts (NOTES) */
    struct timespec ts, *tp = NULL;
    ngtcp2_tstamp now = now_ns();
    if (next != UINT64_MAX) {
      ngtcp2_tstamp wait = next > now ? next - now : 0;
      ts.tv_sec = (time_t)(wait / NGTCP2_SECONDS);
      ts.tv_nsec = (long)(wait % NGTCP2_SECONDS);
      tp = &ts;
    }
    if (ppoll(s->pfd, n, tp, &s->waitmask) < 0 && errno != EINTR)
      break;
    for (nfds_t k = 1; k < n; k++)
      if (s->pfd[k].revents)
        s->who[k]->dirty = true;
    if (s->pfd[0].revents & POLLOUT)
      for (int i = 0; i < MAX_CONNS; i++)
        if (s->conns[i] && s->conns[i]->tx_len)
          s->conns[i]->dirty = true;
    if (s->pfd[0].revents & POLLIN)
      read_datagrams(s);
    for (int i = 0; i < MAX_CONNS; i++)
      if (s->conns[i])
        service(s, i);
  }
}

/* ---- what the application may do ------------------------------------- */

void qsrv_conn_consume(struct qsrv_conn *c, int64_t sid, size_t n) {
  ngtcp2_conn_extend_max_stream_offset(c->conn, sid, n);
  ngtcp2_conn_extend_max_offset(c->conn, n);
}

int qsrv_conn_open_uni(struct qsrv_conn *c, int64_t *sid) {
  return ngtcp2_conn_open_uni_stream(c->conn, sid, NULL) == 0 ? 0 : -1;
}

int qsrv_conn_shutdown_stream(struct qsrv_conn *c, int64_t sid,
                              uint64_t app_error) {
  return ngtcp2_conn_shutdown_stream(c->conn, sid, app_error) == 0 ? 0 : -1;
}

int qsrv_conn_shutdown_read(struct qsrv_conn *c, int64_t sid,
                            uint64_t app_error) {
  return ngtcp2_conn_shutdown_stream_read(c->conn, sid, app_error) == 0 ? 0
                                                                        : -1;
}

int qsrv_conn_shutdown_write(struct qsrv_conn *c, int64_t sid,
                             uint64_t app_error) {
  return ngtcp2_conn_shutdown_stream_write(c->conn, sid, app_error) == 0 ? 0
                                                                         : -1;
}

void qsrv_conn_extend_streams_bidi(struct qsrv_conn *c, size_t n) {
  ngtcp2_conn_extend_max_streams_bidi(c->conn, n);
}

void qsrv_conn_close_app(struct qsrv_conn *c, uint64_t code,
                         const char *reason) {
  if (c->closing)
    return;
  set_closing(c, CLOSE_APP, 0);
  c->app_code = code;
  c->reason_len = reason ? strlen(reason) : 0;
  if (c->reason_len > sizeof(c->reason))
    c->reason_len = sizeof(c->reason);
  if (c->reason_len)
    memcpy(c->reason, reason, c->reason_len);
}

void qsrv_conn_fail(struct qsrv_conn *c) {
  set_closing(c, CLOSE_LIBERR, NGTCP2_ERR_NOMEM);
}

void qsrv_conn_forget(struct qsrv_conn *c) {
  c->forget = true;
}

void qsrv_conn_wake(struct qsrv_conn *c) {
  c->dirty = true;
}

unsigned qsrv_conn_number(const struct qsrv_conn *c) {
  return c->number;
}

bool qsrv_conn_resumed(const struct qsrv_conn *c) {
  return gnutls_session_is_resumed(c->tls) != 0;
}

/* ---- set-up ---------------------------------------------------------------- */

static int parse_listen(const char *addr, int port,
                        struct sockaddr_storage *ss, socklen_t *len) {
  struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
  memset(ss, 0, sizeof(*ss));
  if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons((uint16_t)port);
    *len = sizeof(*in6);
    return 0;
  }
  if (inet_pton(AF_INET, addr, &in4->sin_addr) != 1)
    return -1;
  in4->sin_family = AF_INET;
  in4->sin_port = htons((uint16_t)port);
  *len = sizeof(*in4);
  return 0;
}

static int open_udp(struct qsrv *s) {
  const char *addr = s->cfg.listen_addr ? s->cfg.listen_addr : "127.0.0.1";
  struct sockaddr_storage sa;
  socklen_t salen;
  if (parse_listen(addr, s->cfg.port, &sa, &salen) < 0) {
    fprintf(stderr, "%s: %s is no IP address\n", s->cfg.name, addr);
    return -1;
  }
  s->udp = socket(sa.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s->udp < 0) {
    fprintf(stderr, "%s: UDP socket: %s\n", s->cfg.name, strerror(errno));
    return -1;
  }
  int sz = 8 << 20, one = 1;
  /* as root the FORCE variants pass net.core.[rw]mem_max */
  if (setsockopt(s->udp, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
    setsockopt(s->udp, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
  if (setsockopt(s->udp, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
    setsockopt(s->udp, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
  /* GRO is an optimisation: without it every datagram comes alone */
  setsockopt(s->udp, IPPROTO_UDP, UDP_GRO, &one, sizeof(one));
  if (bind(s->udp, (struct sockaddr *)&sa, salen) < 0) {
    fprintf(stderr, "%s: UDP %s port %d: %s\n", s->cfg.name, addr,
            s->cfg.port, strerror(errno));
    return -1;
  }
  s->local_len = sizeof(s->local);
  return getsockname(s->udp, (struct sockaddr *)&s->local, &s->local_len);
}

static unsigned local_port(const struct qsrv *s) {
  if (s->local.ss_family == AF_INET6)
    return ntohs(((const struct sockaddr_in6 *)&s->local)->sin6_port);
  return ntohs(((const struct sockaddr_in *)&s->local)->sin_port);
}

/* Written under a temporary name and renamed: a reader never sees half. */
static int write_port_file(const struct qsrv *s) {
  char tmp[4096];
  snprintf(tmp, sizeof(tmp), "%s.tmp", s->cfg.port_file);
  FILE *f = fopen(tmp, "w");
  if (!f)
    return -1;
  fprintf(f, "%u\n", local_port(s));
  if (fclose(f) != 0 || rename(tmp, s->cfg.port_file) != 0)
    return -1;
  return 0;
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

/* The certificate, the client CA, the verify hook and the ALPN list. */
static int setup_credentials(struct qsrv *s) {
  const struct qsrv_cfg *cfg = &s->cfg;
  if (gnutls_certificate_allocate_credentials(&s->cred) < 0)
    return -1;
  if (gnutls_certificate_set_x509_key_file(s->cred, cfg->cert_file,
                                           cfg->key_file,
                                           GNUTLS_X509_FMT_PEM) < 0) {
    fprintf(stderr, "%s: cannot load %s / %s\n", cfg->name, cfg->cert_file,
            cfg->key_file);
    return -1;
  }
  if (cfg->client_ca && gnutls_certificate_set_x509_trust_file(
                            s->cred, cfg->client_ca, GNUTLS_X509_FMT_PEM) < 0) {
    fprintf(stderr, "%s: cannot load %s\n", cfg->name, cfg->client_ca);
    return -1;
  }
  gnutls_certificate_set_verify_function(s->cred, verify_client);
  /* TLS 1.3 tickets (RFC 8446 4.6.1), so a client can resume */
  if (gnutls_session_ticket_key_generate(&s->ticket_key) < 0)
    return -1;
  s->alpn = calloc(cfg->n_alpn ? cfg->n_alpn : 1, sizeof(*s->alpn));
  if (!s->alpn)
    return -1;
  for (size_t i = 0; i < cfg->n_alpn; i++)
    s->alpn[i] = (gnutls_datum_t){(unsigned char *)cfg->alpn[i],
                                  (unsigned)strlen(cfg->alpn[i])};
  return 0;
}

int qsrv_new(const struct qsrv_cfg *cfg, struct qsrv **out) {
  struct qsrv *s = calloc(1, sizeof(*s)); /* large (CID table) */
  *out = NULL;
  if (!s)
    return -1;
  s->cfg = *cfg;
  s->udp = -1;
  s->gso_ok = true;
  s->rx = malloc(sizeof(*s->rx) * RX_BATCH);
  if (!s->rx || setup_credentials(s) < 0) {
    qsrv_free(s);
    return -1;
  }
  install_signals(&s->waitmask); /* before the port file announces us */
  if (open_udp(s) < 0) {
    qsrv_free(s);
    return -1;
  }
  if (cfg->port_file && write_port_file(s) < 0) {
    fprintf(stderr, "%s: cannot write %s\n", cfg->name, cfg->port_file);
    qsrv_free(s);
    return -1;
  }
  *out = s;
  return 0;
}

void qsrv_free(struct qsrv *s) {
  if (!s)
    return;
  for (int i = 0; i < MAX_CONNS; i++)
    if (s->conns[i])
      free_conn(s, i);
  free(s->rx);
  free(s->alpn);
  gnutls_free(s->ticket_key.data);
  if (s->cred)
    gnutls_certificate_free_credentials(s->cred);
  if (s->udp >= 0)
    close(s->udp);
  free(s);
}

bool qsrv_cfg_option(struct qsrv_cfg *cfg, int opt, const char *arg) {
  switch (opt) {
  case QSRV_OPT_CERT: cfg->cert_file = arg; return true;
  case QSRV_OPT_KEY: cfg->key_file = arg; return true;
  case QSRV_OPT_PORT_FILE: cfg->port_file = arg; return true;
  default: return false;
  }
}

int qsrv_serve(const struct qsrv_cfg *cfg) {
  struct qsrv *s;
  if (qsrv_new(cfg, &s) < 0)
    return 1;
  qsrv_run(s);
  qsrv_free(s);
  return 0;
}
