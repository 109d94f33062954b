/* A QUIC client connection: socket, TLS 1.3 handshake, packets in and out,
 * timers, migration and the messages that say why it failed (see
 * quic_conn.h). The applications above it own the streams.
 *
 * All ngtcp2 calls of the library live in lib/transport/quic*.c (the
 * Debian ngtcp2 is 0.12; a port to 1.x must stay a one-folder change). */
#include "transport/quic_conn.h"

#include <errno.h>
#include <stdarg.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "smbq/smbq_err.h"
#include "smbq_bytes.h"
#include "smbq_host.h"
#include "transport/quic_cert.h"
#include "transport/quic_tickets.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

#define MAX_UDP_PAYLOAD 1452 /* fits a 1500-byte Ethernet MTU */
#define GSO_MAX_SEGMENTS 44 /* 44 x 1452 < 64 KiB, the UDP/GSO limit */
#define BURST_BYTES (64 * 1024)
/* Receive: reads per recvmmsg, and the room of each (a GRO batch of
 * datagrams is at most 64 KiB). */
#define RX_BATCH 8
#define RX_BUF 65536
/* Stream data offered per packet: at most this many pieces. */
#define MAX_VECS 16
/* Streams the application may find blocked while one packet is written
 * before the packet goes without stream data. */
#define MAX_BLOCKED_PULLS 16
/* The server's Handshake-level TLS flight (EncryptedExtensions,
 * CertificateRequest, Certificate, CertificateVerify, Finished) may take
 * this much. RFC 8446 4.4.2 bounds a certificate chain only by 2^24
 * bytes; real chains take a few KiB, and GnuTLS alone would buffer 128
 * KiB before looking at it. */
#define MAX_HANDSHAKE_FLIGHT (64u * 1024)
/* Longest reason phrase of a CONNECTION_CLOSE we show. */
#define MAX_REASON_SHOWN 200
/* PING after this much silence: idle, to keep NAT mappings and the
 * server's idle timer (RFC 9000 10.1.2); with answers due, at least this
 * (see quic_conn_expect_answer). */
#define KEEPALIVE_IDLE (25 * NGTCP2_SECONDS)
#define KEEPALIVE_DUE_MIN (200 * NGTCP2_MILLISECONDS)

struct quic_conn {
  struct quic_conn_app app;  /* a copy */
  void *user;
  int fd;
  struct sockaddr_storage local, remote;
  socklen_t local_len, remote_len;
  ngtcp2_conn *conn;
  ngtcp2_crypto_conn_ref conn_ref;
  gnutls_session_t tls;
  gnutls_certificate_credentials_t cred;
  bool established;          /* handshake done, ALPN agreed */
  bool dead;
  int fatal;                 /* SMBQ_ERR_* once dead */
  char errmsg[640];          /* why it died (or the last migration failed) */
  int64_t connect_deadline_ns;
  char host[256];
  uint16_t port;
  char alpn[16];
  char service[96];
  char fallback[96];
  char peer[64];
  bool cert_failed;
  int64_t start_ns;          /* when the first Initial left */
  struct smbq_tls_info tls_info;
  /* resumption: where tickets come from and go to (borrowed) */
  struct quic_tickets *tickets;
  char ticket_key[660];      /* ALPN, server name, port, client identity */
  bool offered_ticket;
  struct smbq_tls_info ticket_info; /* what the ticket's handshake saw */
  /* send side */
  bool blocked;              /* the socket said EAGAIN */
  uint8_t *pending;          /* datagram(s) not yet sent after EAGAIN */
  size_t pending_len, pending_gso;
  size_t carry_len;          /* one more datagram after the batch, at
                                pending + pending_len: a packet longer
                                than the batch's segments */
  bool gso_ok;
  uint8_t *rxb; /* RX_BATCH x RX_BUF: the datagrams of one recvmmsg */
  /* Datagrams of the last recvmmsg not yet fed to ngtcp2: the
   * application paused (quic_conn_pause) because the buffer it lends for
   * stream data is full; they go first at the next read, straight into
   * the next buffer, instead of being copied aside. */
  struct rx_held {
    size_t len, seg, off;     /* bytes, GRO segment size, fed so far */
    struct sockaddr_storage from;
    socklen_t from_len;
  } held[RX_BATCH];
  int held_n, held_i;         /* datagrams held; the next one to feed */
  bool pause;
  /* ICMP port unreachable since the last good packet: how many, since
   * when (refused_count) */
  unsigned refused_count;
  int64_t refused_since_ns;
};

static ngtcp2_tstamp ts_now(void) { return (ngtcp2_tstamp)smbq_now_ns(); }

static void set_dead_v(struct quic_conn *q, int err, const char *fmt,
                       va_list ap) __attribute__((format(printf, 3, 0)));
static void set_dead_v(struct quic_conn *q, int err, const char *fmt,
                       va_list ap) {
  if (q->dead)
    return; /* the first reason wins */
  q->dead = true;
  q->fatal = err;
  vsnprintf(q->errmsg, sizeof(q->errmsg), fmt, ap);
}

static void set_dead(struct quic_conn *q, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Record why the connection died (first reason wins). */
static void set_dead(struct quic_conn *q, int err, const char *fmt,
                     ...) {
  va_list ap;
  va_start(ap, fmt);
  set_dead_v(q, err, fmt, ap);
  va_end(ap);
}

void quic_conn_fail(struct quic_conn *qc, int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  set_dead_v(qc, err, fmt, ap);
  va_end(ap);
}

/* An application callback failed: keep its message, or say so. */
static int app_failed(struct quic_conn *q, int rc, const char *what) {
  set_dead(q, rc < 0 ? rc : SMBQ_ERR_PROTO, "%s to %s failed in %s: %s",
           q->service, q->host, what, smbq_strerror(rc));
  return NGTCP2_ERR_CALLBACK_FAILURE;
}

/* ---- ngtcp2 callbacks -------------------------------------------------- */

static ngtcp2_conn *get_conn(ngtcp2_crypto_conn_ref *ref) {
  return ((struct quic_conn *)ref->user_data)->conn;
}

static void cb_rand(uint8_t *dest, size_t len, const ngtcp2_rand_ctx *ctx) {
  (void)ctx;
  gnutls_rnd(GNUTLS_RND_RANDOM, dest, len);
}

static int cb_new_cid(ngtcp2_conn *conn, ngtcp2_cid *cid, uint8_t *token,
                      size_t cidlen, void *user) {
  (void)conn;
  (void)user;
  if (gnutls_rnd(GNUTLS_RND_RANDOM, cid->data, cidlen) < 0 ||
      gnutls_rnd(GNUTLS_RND_RANDOM, token, NGTCP2_STATELESS_RESET_TOKENLEN) <
          0)
    return NGTCP2_ERR_CALLBACK_FAILURE;
  cid->datalen = cidlen;
  return 0;
}

/* Record what the handshake negotiated, for smbq_conn_get_info and the
 * connection event. A resumed session shows no certificate: its details
 * come from the full handshake that issued the ticket. */
static void fill_tls_info(struct quic_conn *q) {
  struct smbq_tls_info *i = &q->tls_info;
  gnutls_datum_t alpn;
  i->resumed = gnutls_session_is_resumed(q->tls) != 0;
  i->handshake_ns = smbq_now_ns() - q->start_ns;
  snprintf(i->version, sizeof(i->version), "%s",
           gnutls_protocol_get_name(gnutls_protocol_get_version(q->tls)));
  const char *suite = gnutls_ciphersuite_get(q->tls);
  snprintf(i->cipher, sizeof(i->cipher), "%s", suite ? suite : "unknown");
  if (gnutls_alpn_get_selected_protocol(q->tls, &alpn) == 0)
    snprintf(i->alpn, sizeof(i->alpn), "%.*s", (int)alpn.size,
             (const char *)alpn.data);
  if (i->resumed) {
    memcpy(i->cert_subject, q->ticket_info.cert_subject,
           sizeof(i->cert_subject));
    memcpy(i->cert_issuer, q->ticket_info.cert_issuer,
           sizeof(i->cert_issuer));
    memcpy(i->cert_sha256, q->ticket_info.cert_sha256,
           sizeof(i->cert_sha256));
    i->cert_not_after = q->ticket_info.cert_not_after;
    return;
  }
  quic_cert_describe(q->tls, i->cert_subject, i->cert_issuer,
                     sizeof(i->cert_subject), &i->cert_not_after);
  quic_cert_fingerprint(q->tls, i->cert_sha256, sizeof(i->cert_sha256));
}

/* The certificate was verified in verify_cb; the server must also have
 * agreed on our ALPN (MS-SMB2 2.1 "smb"; RFC 9114 3.1 "h3"): GnuTLS
 * accepts a server that selects none. Then the application opens its
 * streams. */
static int cb_handshake_completed(ngtcp2_conn *conn, void *user) {
  (void)conn;
  struct quic_conn *q = user;
  gnutls_datum_t alpn;
  size_t want = strlen(q->alpn);
  if (gnutls_alpn_get_selected_protocol(q->tls, &alpn) < 0 ||
      alpn.size != want || memcmp(alpn.data, q->alpn, want) != 0) {
    set_dead(q, SMBQ_ERR_TLS, "QUIC server %s did not agree on the ALPN "
             "\"%s\"", q->host, q->alpn);
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  q->established = true;
  fill_tls_info(q);
  if (!q->app.established)
    return 0;
  int rc = q->app.established(q->user);
  return rc < 0 ? app_failed(q, rc, "opening its streams") : 0;
}

static int cb_recv_stream_data(ngtcp2_conn *conn, uint32_t flags,
                               int64_t stream_id, uint64_t offset,
                               const uint8_t *data, size_t datalen,
                               void *user, void *stream_user) {
  (void)conn;
  (void)offset;
  (void)stream_user;
  struct quic_conn *q = user;
  if (!q->app.recv)
    return 0;
  int rc = q->app.recv(q->user, stream_id, data, datalen,
                       (flags & NGTCP2_STREAM_DATA_FLAG_FIN) != 0);
  return rc < 0 ? app_failed(q, rc, "taking stream data") : 0;
}

static int cb_acked(ngtcp2_conn *conn, int64_t stream_id, uint64_t offset,
                    uint64_t datalen, void *user, void *stream_user) {
  (void)conn;
  (void)stream_user;
  struct quic_conn *q = user;
  if (q->app.acked)
    q->app.acked(q->user, stream_id, offset, datalen);
  return 0;
}

/* Streams the server opens are limited to cfg.peer_uni_streams at a
 * time (RFC 9000 4.6): each one closed lets it open another. */
static bool server_uni(int64_t stream_id) { return (stream_id & 0x3) == 0x3; }

static int cb_stream_close(ngtcp2_conn *conn, uint32_t flags,
                           int64_t stream_id, uint64_t app_error_code,
                           void *user, void *stream_user) {
  (void)flags;
  (void)stream_user;
  struct quic_conn *q = user;
  if (server_uni(stream_id))
    ngtcp2_conn_extend_max_streams_uni(conn, 1);
  if (q->app.closed)
    q->app.closed(q->user, stream_id, app_error_code);
  return 0;
}

/* RESET_STREAM (RFC 9000 19.4): the server abandoned a stream; what that
 * means is the application's to say. */
static int cb_stream_reset(ngtcp2_conn *conn, int64_t stream_id,
                           uint64_t final_size, uint64_t app_error_code,
                           void *user, void *stream_user) {
  (void)conn;
  (void)final_size;
  (void)stream_user;
  struct quic_conn *q = user;
  if (q->app.reset)
    q->app.reset(q->user, stream_id, app_error_code);
  return 0;
}

/* MAX_STREAM_DATA raised a stream's window (RFC 9000 19.10). */
static int cb_extend_max_stream_data(ngtcp2_conn *conn, int64_t stream_id,
                                     uint64_t max_data, void *user,
                                     void *stream_user) {
  (void)conn;
  (void)max_data;
  (void)stream_user;
  struct quic_conn *q = user;
  if (q->app.unblocked)
    q->app.unblocked(q->user, stream_id);
  return 0;
}

/* RFC 9000 10.3: the server no longer knows the connection (it
 * restarted, or dropped it) and says so with the token it issued. */
static int cb_stateless_reset(ngtcp2_conn *conn,
                              const ngtcp2_pkt_stateless_reset *sr,
                              void *user) {
  (void)conn;
  (void)sr;
  struct quic_conn *q = user;
  set_dead(q, SMBQ_ERR_CLOSED,
           "QUIC server %s answered with a stateless reset: it no longer "
           "knows this connection (it restarted or dropped it)",
           q->host);
  return 0;
}

/* Bound what the server's TLS flight may make us buffer: a hostile
 * server could send a certificate chain of megabytes. */
static int cb_recv_crypto_data(ngtcp2_conn *conn,
                               ngtcp2_crypto_level level, uint64_t offset,
                               const uint8_t *data, size_t len, void *user) {
  struct quic_conn *q = user;
  if (level == NGTCP2_CRYPTO_LEVEL_HANDSHAKE &&
      offset + len > MAX_HANDSHAKE_FLIGHT) {
    set_dead(q, SMBQ_ERR_CERT,
             "QUIC server %s sent a certificate chain too large (its TLS "
             "handshake exceeds %u KiB): refused; the server needs a "
             "shorter certificate chain",
             q->host, MAX_HANDSHAKE_FLIGHT / 1024);
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  return ngtcp2_crypto_recv_crypto_data_cb(conn, level, offset, data, len,
                                           user);
}

static const ngtcp2_callbacks client_callbacks = {
    .client_initial = ngtcp2_crypto_client_initial_cb,
    .recv_crypto_data = cb_recv_crypto_data,
    .handshake_completed = cb_handshake_completed,
    .encrypt = ngtcp2_crypto_encrypt_cb,
    .decrypt = ngtcp2_crypto_decrypt_cb,
    .hp_mask = ngtcp2_crypto_hp_mask_cb,
    .recv_stream_data = cb_recv_stream_data,
    .acked_stream_data_offset = cb_acked,
    .stream_close = cb_stream_close,
    .stream_reset = cb_stream_reset,
    .extend_max_stream_data = cb_extend_max_stream_data,
    .recv_stateless_reset = cb_stateless_reset,
    .recv_retry = ngtcp2_crypto_recv_retry_cb,
    .rand = cb_rand,
    .get_new_connection_id = cb_new_cid,
    .update_key = ngtcp2_crypto_update_key_cb,
    .delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb,
    .delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb,
    .get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb,
    .version_negotiation = ngtcp2_crypto_version_negotiation_cb,
};

/* ---- TLS ---------------------------------------------------------------- */

static int verify_cb(gnutls_session_t s) {
  ngtcp2_crypto_conn_ref *ref = gnutls_session_get_ptr(s);
  struct quic_conn *q = ref->user_data;
  char msg[512];
  if (quic_cert_verify(s, q->host, msg, sizeof(msg)) == 0)
    return 0;
  q->cert_failed = true;
  set_dead(q, SMBQ_ERR_CERT, "%s", msg);
  return -1;
}

/* GnuTLS hands over a TLS 1.3 session ticket (NewSessionTicket, RFC 8446
 * 4.6.1) after the handshake: keep it for the next connection. */
static int on_ticket(gnutls_session_t s, unsigned htype, unsigned when,
                     unsigned incoming, const gnutls_datum_t *msg) {
  (void)htype;
  (void)msg;
  ngtcp2_crypto_conn_ref *ref = gnutls_session_get_ptr(s);
  struct quic_conn *q = ref->user_data;
  gnutls_datum_t d;
  if (when != GNUTLS_HOOK_POST || !incoming || !q->established ||
      gnutls_session_get_data2(s, &d) < 0)
    return 0;
  quic_tickets_put(q->tickets, q->ticket_key, d.data, d.size, &q->tls_info,
                   smbq_now_ms());
  smbq_wipe(d.data, d.size);
  gnutls_free(d.data);
  return 0;
}

/* Offer a stored ticket for this server (if any) and collect new ones.
 * The key includes the client certificate: a ticket carries the client
 * identity it was issued to; and the ALPN: a ticket remembers the
 * application protocol of its session (RFC 8446 4.6.1), so one issued to
 * "h3" is never offered for "smb", nor the reverse. */
static void setup_resumption(struct quic_conn *q,
                             const struct smbq_endpoint *ep) {
  snprintf(q->ticket_key, sizeof(q->ticket_key), "%s|%s|%u|%s|%s", q->alpn,
           ep->host, ep->port, ep->client_cert ? ep->client_cert : "",
           ep->client_key ? ep->client_key : "");
  gnutls_handshake_set_hook_function(q->tls,
                                     GNUTLS_HANDSHAKE_NEW_SESSION_TICKET,
                                     GNUTLS_HOOK_POST, on_ticket);
  uint8_t *data;
  size_t len;
  if (!quic_tickets_take(q->tickets, q->ticket_key, &data, &len,
                         &q->ticket_info, smbq_now_ms()))
    return;
  q->offered_ticket =
      gnutls_session_set_data(q->tls, data, len) == GNUTLS_E_SUCCESS;
  smbq_wipe(data, len);
  free(data);
}

static int setup_tls(struct quic_conn *q, const struct smbq_endpoint *ep,
                     char *err, size_t errlen) {
  /* TLS 1.3 only. AES-128-GCM first: as strong as TLS 1.3 requires
   * (RFC 8446 9.1 makes it the mandatory suite) and a quarter cheaper
   * than AES-256-GCM per byte, which bulk traffic feels; servers that
   * insist on their own order still get AES-256-GCM or ChaCha20. */
  static const char prio[] =
      "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:"
      "+CHACHA20-POLY1305:+AES-128-CCM:%DISABLE_TLS13_COMPAT_MODE";
  if (gnutls_certificate_allocate_credentials(&q->cred) < 0)
    return SMBQ_ERR_NOMEM;
  gnutls_certificate_set_x509_system_trust(q->cred);
  if (ep->ca_file &&
      gnutls_certificate_set_x509_trust_file(q->cred, ep->ca_file,
                                             GNUTLS_X509_FMT_PEM) <= 0) {
    snprintf(err, errlen, "cannot load CA certificates from %s (expected "
             "PEM)", ep->ca_file);
    return SMBQ_ERR_INVAL;
  }
  if (ep->client_cert &&
      gnutls_certificate_set_x509_key_file(q->cred, ep->client_cert,
                                           ep->client_key ? ep->client_key
                                                          : ep->client_cert,
                                           GNUTLS_X509_FMT_PEM) < 0) {
    snprintf(err, errlen, "cannot load the client certificate %s and key "
             "%s (expected PEM)", ep->client_cert,
             ep->client_key ? ep->client_key : ep->client_cert);
    return SMBQ_ERR_INVAL;
  }
  gnutls_certificate_set_verify_function(q->cred, verify_cb);
  gnutls_datum_t alpn = {(unsigned char *)q->alpn,
                         (unsigned)strlen(q->alpn)};
  if (gnutls_init(&q->tls, GNUTLS_CLIENT | GNUTLS_NO_END_OF_EARLY_DATA) < 0 ||
      gnutls_priority_set_direct(q->tls, prio, NULL) < 0 ||
      ngtcp2_crypto_gnutls_configure_client_session(q->tls) != 0 ||
      gnutls_credentials_set(q->tls, GNUTLS_CRD_CERTIFICATE, q->cred) < 0 ||
      gnutls_alpn_set_protocols(q->tls, &alpn, 1, GNUTLS_ALPN_MANDATORY) < 0)
    return SMBQ_ERR_TLS;
  /* SNI: the server name as typed, unless it is an address literal */
  if (!smbq_host_is_address(q->host))
    gnutls_server_name_set(q->tls, GNUTLS_NAME_DNS, q->host,
                           strlen(q->host));
  q->conn_ref.get_conn = get_conn;
  q->conn_ref.user_data = q;
  gnutls_session_set_ptr(q->tls, &q->conn_ref);
  if (q->tickets)
    setup_resumption(q, ep);
  return 0;
}

/* An ICMP port unreachable came back (ECONNREFUSED on the connected
 * socket). One alone proves little (ICMP is easy to forge, RFC 9000
 * 21.x); but before the handshake nothing has answered yet, as with a
 * TCP reset, and afterwards two of them 200 ms apart with no packet
 * from the server in between mean that nothing listens there any more
 * (a restarted or stopped server): waiting for the idle timeout, or the
 * application's own keep-alive (SMB's ECHO), would only make the
 * reconnect later. */
static void note_refused(struct quic_conn *q) {
  int64_t now = smbq_now_ns();
  if (q->refused_count++ == 0)
    q->refused_since_ns = now;
  bool gone = !q->established ||
              (q->refused_count >= 2 &&
               now - q->refused_since_ns >= 200 * (int64_t)1000000);
  if (gone && !q->established)
    set_dead(q, SMBQ_ERR_NET, "no QUIC answer from %s on UDP port %u: "
             "nothing listens there (ICMP port unreachable); check that "
             "the server offers %s and the port is right",
             q->host, (unsigned)q->port, q->service);
  else if (gone)
    set_dead(q, SMBQ_ERR_NET, "QUIC connection to %s lost: nothing "
             "listens on UDP port %u any more (ICMP port unreachable)",
             q->host, (unsigned)q->port);
}

/* ---- packets out --------------------------------------------------------- */

static int send_datagrams(struct quic_conn *q, const uint8_t *buf,
                          size_t len, size_t gso) {
  struct iovec iov = {(void *)buf, len};
  union {
    char buf[CMSG_SPACE(sizeof(uint16_t))];
    struct cmsghdr align;
  } cm;
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
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
    ssize_t n = sendmsg(q->fd, &mh, 0);
    if (n >= 0)
      return 0;
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      return 1;
    if (errno == EIO && mh.msg_control) {
      /* No GSO here (e.g. a device without checksum offload): fall back
       * to one datagram per call for good. */
      q->gso_ok = false;
      for (size_t off = 0; off < len; off += gso) {
        size_t l = len - off < gso ? len - off : gso;
        int rc = send_datagrams(q, buf + off, l, 0);
        if (rc)
          return rc;
      }
      return 0;
    }
    /* ICMP errors (port unreachable) come back here on a connected UDP
     * socket too */
    if (errno != ECONNREFUSED)
      return -1;
    note_refused(q);
    return 0;
  }
}

/* Send the pending batch, then the carried datagram. What the socket
 * does not take stays pending (q->blocked). */
static int flush_pending(struct quic_conn *q) {
  int rc = 0;
  if (q->pending_len) {
    rc = send_datagrams(q, q->pending, q->pending_len, q->pending_gso);
    if (rc == 0 && q->carry_len) {
      memmove(q->pending, q->pending + q->pending_len, q->carry_len);
      q->pending_len = q->carry_len;
      q->pending_gso = 0;
      q->carry_len = 0;
      rc = send_datagrams(q, q->pending, q->pending_len, 0);
    }
    if (rc == 0)
      q->pending_len = 0;
  }
  q->blocked = rc == 1;
  return rc < 0 ? -1 : 0;
}

/* The application's next stream data, as ngtcp2 wants it; the count of
 * vecs, *sid -1 when there is nothing (or before the handshake). */
static size_t pull_data(struct quic_conn *q, int64_t *sid, bool *fin,
                        ngtcp2_vec *v) {
  struct quic_vec qv[MAX_VECS];
  *sid = -1;
  *fin = false;
  if (!q->established || !q->app.pull)
    return 0;
  long n = q->app.pull(q->user, sid, fin, qv, MAX_VECS);
  if (*sid < 0 || n < 0) {
    *sid = -1;
    *fin = false;
    return 0;
  }
  /* ngtcp2_vec has a non-const base; ngtcp2 only reads stream data */
  for (long i = 0; i < n; i++)
    v[i] = (ngtcp2_vec){(uint8_t *)qv[i].base, qv[i].len};
  return (size_t)n;
}

/* Write one packet into dest; returns its size, 0 if nothing to send, or
 * a negative ngtcp2 error. Stream data of several streams may share the
 * packet (NGTCP2_WRITE_STREAM_FLAG_MORE). */
static ngtcp2_ssize write_one(struct quic_conn *q, uint8_t *dest,
                              size_t len, ngtcp2_tstamp ts) {
  ngtcp2_vec v[MAX_VECS];
  unsigned blocked = 0;
  for (;;) {
    int64_t sid;
    bool fin;
    size_t nv = pull_data(q, &sid, &fin, v);
    uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE |
                     (fin ? NGTCP2_WRITE_STREAM_FLAG_FIN : 0);
    ngtcp2_ssize datalen = -1;
    ngtcp2_path_storage ps;
    ngtcp2_pkt_info pi;
    ngtcp2_path_storage_zero(&ps);
    ngtcp2_ssize n = ngtcp2_conn_writev_stream(
        q->conn, &ps.path, &pi, dest, len, &datalen, flags, sid,
        nv ? v : NULL, nv, ts);
    if (datalen >= 0 && sid >= 0 && q->app.consumed)
      q->app.consumed(q->user, sid, (size_t)datalen);
    if (q->dead)
      return NGTCP2_ERR_CALLBACK_FAILURE; /* an application callback */
    if (n == NGTCP2_ERR_WRITE_MORE)
      continue; /* more stream data fits in this packet */
    if (n == NGTCP2_ERR_STREAM_DATA_BLOCKED || n == NGTCP2_ERR_STREAM_SHUT_WR) {
      /* flow control (or the peer's STOP_SENDING): another stream may
       * go, if the application tracks blocking; else send what is not
       * stream data */
      if (q->app.blocked && blocked++ < MAX_BLOCKED_PULLS) {
        q->app.blocked(q->user, sid);
        continue;
      }
      n = ngtcp2_conn_write_pkt(q->conn, &ps.path, &pi, dest, len, ts);
    }
    return n;
  }
}

/* Write and send packets until ngtcp2 has nothing more (congestion,
 * pacing) or the socket is full. Batches equal-sized packets for UDP GSO. */
static int flush_packets(struct quic_conn *q) {
  if (q->dead)
    return q->fatal;
  if (flush_pending(q) < 0)
    goto sock_err;
  if (q->blocked)
    return 0;
  size_t mtu = ngtcp2_conn_get_max_tx_udp_payload_size(q->conn);
  size_t cap = mtu * GSO_MAX_SEGMENTS;
  uint8_t *buf = q->pending;
  ngtcp2_tstamp ts = ts_now();
  /* ngtcp2 0.12 keeps its send quantum at 10 packets; bursts up to
   * BURST_BYTES (a GSO super-packet, as TCP's TSO sends) are still paced:
   * update_pkt_tx_time spaces the next burst by the bytes of this one. */
  size_t quantum = ngtcp2_conn_get_send_quantum(q->conn);
  size_t max_pkts = (quantum > BURST_BYTES ? quantum : BURST_BYTES) / mtu + 1;
  for (size_t sent = 0; sent < max_pkts && !q->blocked;) {
    size_t off = 0, gso = 0, carry = 0;
    bool drained = false;
    while (off + mtu <= cap && sent < max_pkts) {
      ngtcp2_ssize n = write_one(q, buf + off, mtu, ts);
      if (n < 0) {
        set_dead(q, SMBQ_ERR_CLOSED, "QUIC connection to %s failed: %s",
                 q->host, ngtcp2_strerror((int)n));
        return q->fatal;
      }
      if (n == 0) {
        drained = true;
        break;
      }
      sent++;
      /* GSO segments are all gso bytes but the last, which may be
       * shorter; a longer packet goes alone after the batch. */
      if (gso && (size_t)n > gso) {
        carry = (size_t)n;
        break;
      }
      off += (size_t)n;
      if (!gso)
        gso = (size_t)n;
      else if ((size_t)n < gso)
        break;
      if (!q->gso_ok)
        break;
    }
    if (off) {
      q->pending_len = off;
      q->pending_gso = q->gso_ok ? gso : 0;
      q->carry_len = carry;
      if (flush_pending(q) < 0)
        goto sock_err;
    }
    if (drained)
      break;
  }
  ngtcp2_conn_update_pkt_tx_time(q->conn, ts);
  return 0;
sock_err:
  set_dead(q, SMBQ_ERR_NET, "cannot send UDP to %s: %s", q->host, strerror(errno));
  return q->fatal;
}

/* ---- packets in ------------------------------------------------------- */

/* A TLS alert ends the connection: name the cause and what to change.
 * by: "we" (our TLS stack refused) or "the server". RFC 8446 6.2. */
static void tls_alert_dead(struct quic_conn *q, uint8_t alert,
                           const char *by) {
  const char *name = gnutls_alert_get_name((gnutls_alert_description_t)alert);
  if (!name)
    name = "unknown alert";
  switch (alert) {
  case GNUTLS_A_CERTIFICATE_REQUIRED:
    set_dead(q, SMBQ_ERR_CERT,
             "QUIC server %s requires a client certificate: configure one "
             "for this server (smbq_opts_set_client_cert)", q->host);
    return;
  case GNUTLS_A_BAD_CERTIFICATE:
  case GNUTLS_A_UNSUPPORTED_CERTIFICATE:
  case GNUTLS_A_CERTIFICATE_REVOKED:
  case GNUTLS_A_CERTIFICATE_EXPIRED:
  case GNUTLS_A_CERTIFICATE_UNKNOWN:
  case GNUTLS_A_UNKNOWN_CA:
  case GNUTLS_A_ACCESS_DENIED:
    set_dead(q, SMBQ_ERR_CERT,
             "QUIC server %s refused our client certificate (TLS alert: "
             "%s): the server must trust its CA and allow it (client "
             "access control); check which certificate is configured for "
             "this server", q->host, name);
    return;
  case GNUTLS_A_NO_APPLICATION_PROTOCOL:
    set_dead(q, SMBQ_ERR_TLS,
             "%s answers QUIC but not %s (ALPN \"%s\" refused): "
             "check the server and the QUIC port", q->host, q->service,
             q->alpn);
    return;
  default:
    set_dead(q, SMBQ_ERR_TLS, "TLS handshake with %s failed: %s sent the "
             "alert \"%s\"", q->host, by, name);
  }
}

/* The server closed the connection: say why, if it said (RFC 9000
 * 19.19); TLS alerts arrive as CRYPTO_ERROR codes 0x100-0x1ff (RFC 9001
 * 4.8). */
static void peer_closed(struct quic_conn *q) {
  ngtcp2_connection_close_error cc;
  ngtcp2_conn_get_connection_close_error(q->conn, &cc);
  if (cc.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_TRANSPORT &&
      (cc.error_code & ~(uint64_t)0xff) == NGTCP2_CRYPTO_ERROR) {
    tls_alert_dead(q, (uint8_t)(cc.error_code & 0xff), "the server");
    return;
  }
  if (cc.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_TRANSPORT &&
      cc.error_code == NGTCP2_NO_ERROR) {
    set_dead(q, SMBQ_ERR_CLOSED, "QUIC server %s closed the connection",
             q->host);
    return;
  }
  char reason[MAX_REASON_SHOWN + 1];
  quic_printable(reason, sizeof(reason), cc.reason,
                 cc.reason ? cc.reasonlen : 0);
  set_dead(q, SMBQ_ERR_CLOSED,
           "QUIC server %s closed the connection with %s error 0x%llx%s%s",
           q->host,
           cc.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_APPLICATION
               ? "application"
               : "transport",
           (unsigned long long)cc.error_code, reason[0] ? ": " : "",
           reason);
}

/* Hand one QUIC packet to ngtcp2; 0 or the fatal SMBQ_ERR_*. */
static int feed_packet(struct quic_conn *q, const uint8_t *pkt,
                       size_t len, const struct sockaddr_storage *from,
                       socklen_t from_len) {
  ngtcp2_path path = {
      .local = {(ngtcp2_sockaddr *)&q->local, q->local_len},
      .remote = {(ngtcp2_sockaddr *)from, from_len},
  };
  ngtcp2_pkt_info pi = {0};
  int rc = ngtcp2_conn_read_pkt(q->conn, &path, &pi, pkt, len, ts_now());
  if (rc == 0) {
    q->refused_count = 0;
    return 0;
  }
  if (q->dead)
    return q->fatal; /* a callback already said why */
  if (rc == NGTCP2_ERR_DRAINING || rc == NGTCP2_ERR_CLOSING) {
    peer_closed(q);
    return q->fatal;
  }
  if (rc == NGTCP2_ERR_CRYPTO) {
    tls_alert_dead(q, ngtcp2_conn_get_tls_alert(q->conn), "we");
    return q->fatal;
  }
  set_dead(q, SMBQ_ERR_PROTO, "QUIC error from %s: %s", q->host,
           ngtcp2_strerror(rc));
  return q->fatal;
}

/* The segment size of a GRO-coalesced read (0 = one datagram). */
static size_t gro_segment(struct msghdr *mh) {
  for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
    if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
      int seg;
      memcpy(&seg, CMSG_DATA(c), sizeof(seg));
      return seg > 0 ? (size_t)seg : 0;
    }
  }
  return 0;
}

/* Read what the socket holds: recvmmsg takes up to RX_BATCH reads per
 * system call, and with UDP GRO each read is several datagrams from one
 * sender, cut at the segment size it reports. Every packet is handed to
 * ngtcp2 before the caller waits again. */
/* Feed the held datagrams, from where the last pause left them. Stops
 * again (returns 1) when the application pauses. */
static int feed_held(struct quic_conn *q) {
  for (; q->held_i < q->held_n; q->held_i++) {
    struct rx_held *h = &q->held[q->held_i];
    const uint8_t *d = q->rxb + (size_t)q->held_i * RX_BUF;
    while (h->off < h->len) {
      size_t len = h->len - h->off < h->seg ? h->len - h->off : h->seg;
      int rc = feed_packet(q, d + h->off, len, &h->from, h->from_len);
      h->off += len;
      if (rc < 0)
        return q->fatal;
      if (q->pause) {
        q->pause = false;
        if (h->off == h->len)
          q->held_i++;
        return 1;
      }
    }
  }
  q->held_n = q->held_i = 0;
  return 0;
}

static int read_packets(struct quic_conn *q) {
  struct mmsghdr mm[RX_BATCH];
  struct iovec iov[RX_BATCH];
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } cm[RX_BATCH];
  int rc = feed_held(q);
  if (rc != 0)
    return rc < 0 ? rc : 0;
  for (int round = 0; round < 16; round++) {
    for (int i = 0; i < RX_BATCH; i++) {
      iov[i] = (struct iovec){q->rxb + (size_t)i * RX_BUF, RX_BUF};
      mm[i].msg_hdr = (struct msghdr){
          .msg_name = &q->held[i].from,
          .msg_namelen = sizeof(q->held[i].from), .msg_iov = &iov[i],
          .msg_iovlen = 1, .msg_control = cm[i].buf,
          .msg_controllen = sizeof(cm[i].buf)};
      mm[i].msg_len = 0;
    }
    int got = recvmmsg(q->fd, mm, RX_BATCH, 0, NULL);
    if (got < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        return 0;
      if (errno == ECONNREFUSED) {
        note_refused(q);
        if (q->dead)
          return q->fatal;
        continue;
      }
      set_dead(q, SMBQ_ERR_NET, "cannot receive UDP from %s: %s", q->host,
               strerror(errno));
      return q->fatal;
    }
    for (int i = 0; i < got; i++) {
      struct rx_held *h = &q->held[i];
      h->len = mm[i].msg_len;
      h->seg = gro_segment(&mm[i].msg_hdr);
      if (!h->seg)
        h->seg = h->len ? h->len : 1;
      h->off = 0;
      h->from_len = mm[i].msg_hdr.msg_namelen;
    }
    q->held_n = got;
    q->held_i = 0;
    rc = feed_held(q);
    if (rc != 0)
      return rc < 0 ? rc : 0;
    if (got < RX_BATCH)
      return 0; /* the socket is empty */
  }
  return 0;
}

static int handle_timers(struct quic_conn *q) {
  ngtcp2_tstamp now = ts_now();
  if (ngtcp2_conn_get_expiry(q->conn) > now)
    return 0;
  int rc = ngtcp2_conn_handle_expiry(q->conn, now);
  if (rc == 0)
    return 0;
  set_dead(q, rc == NGTCP2_ERR_IDLE_CLOSE ? SMBQ_ERR_CLOSED
                                          : SMBQ_ERR_TIMEOUT,
           "QUIC connection to %s timed out: %s", q->host,
           ngtcp2_strerror(rc));
  return q->fatal;
}


/* ---- driving the connection ------------------------------------------- */

int quic_conn_step(struct quic_conn *q) {
  if (q->dead)
    return q->fatal;
  /* Once the handshake is done, packets are read by quic_conn_read, when
   * the application can take the stream data (the SMB transport lends
   * its caller's buffer then): reading them here would make it copy. */
  if ((!q->established && read_packets(q) < 0) || handle_timers(q) < 0 ||
      flush_packets(q) < 0)
    return q->fatal;
  if (q->established)
    return 1;
  if (smbq_now_ns() < q->connect_deadline_ns)
    return 0;
  char fix[160];
  snprintf(fix, sizeof(fix), "%s%scheck the QUIC port",
           q->fallback[0] ? q->fallback : "", q->fallback[0] ? ", or " : "");
  set_dead(q, SMBQ_ERR_TIMEOUT,
           "no QUIC answer from %s on UDP port %u: UDP may be blocked by a "
           "firewall, or the server does not offer %s there; %s", q->host,
           (unsigned)q->port, q->service, fix);
  return q->fatal;
}

int quic_conn_read(struct quic_conn *q) {
  return q->dead ? q->fatal : read_packets(q);
}

int quic_conn_flush(struct quic_conn *q) { return flush_packets(q); }

int quic_conn_timers(struct quic_conn *q) {
  return q->dead ? q->fatal : handle_timers(q);
}

void quic_conn_pause(struct quic_conn *q) { q->pause = true; }

bool quic_conn_has_held(const struct quic_conn *q) {
  return q->held_i < q->held_n;
}

int quic_conn_fd(const struct quic_conn *q) { return q->fd; }

bool quic_conn_want_write(const struct quic_conn *q) { return q->blocked; }

int64_t quic_conn_deadline(const struct quic_conn *q) {
  ngtcp2_tstamp e = ngtcp2_conn_get_expiry(q->conn);
  int64_t d = e == UINT64_MAX ? -1 : (int64_t)e;
  if (!q->established && (d < 0 || q->connect_deadline_ns < d))
    d = q->connect_deadline_ns;
  return d;
}

int quic_conn_open_bidi(struct quic_conn *q, int64_t *id) {
  return ngtcp2_conn_open_bidi_stream(q->conn, id, NULL) == 0
             ? 0
             : SMBQ_ERR_PROTO;
}

int quic_conn_open_uni(struct quic_conn *q, int64_t *id) {
  return ngtcp2_conn_open_uni_stream(q->conn, id, NULL) == 0
             ? 0
             : SMBQ_ERR_PROTO;
}

void quic_conn_consumed(struct quic_conn *q, int64_t stream_id, size_t n) {
  ngtcp2_conn_extend_max_stream_offset(q->conn, stream_id, n);
  ngtcp2_conn_extend_max_offset(q->conn, n);
}

/* pull is asked at every packet: nothing to record for ngtcp2 0.12, which
 * has no stream scheduler of its own. */
void quic_conn_resume(struct quic_conn *q, int64_t stream_id) {
  (void)q;
  (void)stream_id;
}

int quic_conn_error(const struct quic_conn *q) {
  return q->dead ? q->fatal : 0;
}

const char *quic_conn_errmsg(const struct quic_conn *q) { return q->errmsg; }

const struct smbq_tls_info *quic_conn_tls(const struct quic_conn *q) {
  return &q->tls_info;
}

const char *quic_conn_peer(const struct quic_conn *q) { return q->peer; }

/* Best effort CONNECTION_CLOSE (RFC 9000 10.2) so the server frees the
 * connection at once instead of waiting for its idle timeout. */
static void send_close(struct quic_conn *q) {
  if (!q->conn || q->dead || !q->established)
    return;
  uint8_t buf[1500];
  ngtcp2_connection_close_error ccerr;
  ngtcp2_connection_close_error_default(&ccerr);
  ngtcp2_path_storage ps;
  ngtcp2_pkt_info pi;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_ssize n = ngtcp2_conn_write_connection_close(
      q->conn, &ps.path, &pi, buf, sizeof(buf), &ccerr, ts_now());
  if (n > 0)
    send_datagrams(q, buf, (size_t)n, 0);
}

void quic_conn_free(struct quic_conn *q) {
  if (!q)
    return;
  send_close(q);
  if (q->conn)
    ngtcp2_conn_del(q->conn);
  if (q->tls)
    gnutls_deinit(q->tls);
  if (q->cred)
    gnutls_certificate_free_credentials(q->cred);
  if (q->fd >= 0)
    close(q->fd);
  free(q->pending);
  free(q->rxb);
  free(q);
}

/* Bigger socket buffers keep bursts from being dropped; GRO (Linux 5.0+;
 * harmless where missing) batches receives. */
static void set_socket_buffers(int fd) {
  int sz = 4 * 1024 * 1024, one = 1;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
  setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one));
}

/* A client that only receives sends nothing but ACKs of what arrives. If
 * its NAT mapping changes while the server's packets are the ones in
 * flight, those go to the old mapping and are lost, nothing arrives to
 * acknowledge, and the server never sees the new address (RFC 9000 9.3)
 * until the client next sends: a stall until the next request or the
 * SMB layer's ECHO. So while answers are due, a PING leaves after
 * 2 PTO of silence either way (ngtcp2's keep-alive timer restarts at
 * every packet sent or received, so a flowing transfer never sends one);
 * otherwise the idle keep-alive is back. */
void quic_conn_expect_answer(struct quic_conn *q, bool due) {
  if (!q->conn || q->dead)
    return;
  ngtcp2_duration t = KEEPALIVE_IDLE;
  if (due) {
    t = 2 * ngtcp2_conn_get_pto(q->conn);
    if (t < KEEPALIVE_DUE_MIN)
      t = KEEPALIVE_DUE_MIN;
  }
  ngtcp2_conn_set_keep_alive_timeout(q->conn, t);
}

/* Connection migration (RFC 9000 9.2): continue on a new local UDP socket,
 * as after a change of the client's address. The old socket is closed at
 * once (its address is gone); packets in flight on it are recovered by
 * loss detection. The server needs to have issued a spare connection ID
 * (RFC 9000 9.5). */
int quic_conn_migrate(struct quic_conn *q) {
  if (q->dead)
    return q->fatal;
  if (!q->established)
    return SMBQ_ERR_INVAL;
  struct sockaddr_storage local;
  socklen_t local_len = sizeof(local);
  int fd = socket(q->remote.ss_family,
                  SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0 ||
      connect(fd, (struct sockaddr *)&q->remote, q->remote_len) < 0 ||
      getsockname(fd, (struct sockaddr *)&local, &local_len) < 0) {
    snprintf(q->errmsg, sizeof(q->errmsg),
             "cannot open a new UDP socket to %s: %s", q->host,
             strerror(errno));
    if (fd >= 0)
      close(fd);
    return SMBQ_ERR_NET;
  }
  ngtcp2_path path = {
      .local = {(ngtcp2_sockaddr *)&local, local_len},
      .remote = {(ngtcp2_sockaddr *)&q->remote, q->remote_len},
  };
  int rc = ngtcp2_conn_initiate_immediate_migration(q->conn, &path, ts_now());
  if (rc != 0) {
    snprintf(q->errmsg, sizeof(q->errmsg),
             "cannot migrate the QUIC connection to %s: %s%s", q->host,
             ngtcp2_strerror(rc),
             rc == NGTCP2_ERR_CONN_ID_BLOCKED
                 ? " (the server issued no spare connection ID)"
                 : "");
    close(fd);
    return SMBQ_ERR_UNSUPPORTED;
  }
  set_socket_buffers(fd);
  close(q->fd);
  q->fd = fd;
  q->local = local;
  q->local_len = local_len;
  q->pending_len = q->carry_len = 0; /* meant for the old path; loss
                                        recovery resends */
  q->blocked = false;
  q->gso_ok = true;
  return flush_packets(q) < 0 ? q->fatal : 0;
}

/* ---- set-up --------------------------------------------------------------- */

static int open_socket(struct quic_conn *q,
                       const struct smbq_endpoint *ep, char *err,
                       size_t errlen) {
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM,
                           .ai_flags = ep->addr ? AI_NUMERICHOST : 0};
  struct addrinfo *ai;
  char port[8];
  snprintf(port, sizeof(port), "%u", ep->port);
  int rc = getaddrinfo(ep->addr ? ep->addr : ep->host, port, &hints, &ai);
  if (rc != 0) {
    snprintf(err, errlen, "cannot resolve server name '%s': %s; check the "
             "name, or give its address (smbq_opts_set_resolve)",
             ep->addr ? ep->addr : ep->host, gai_strerror(rc));
    return SMBQ_ERR_NET;
  }
  q->fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (q->fd < 0 || connect(q->fd, ai->ai_addr, ai->ai_addrlen) < 0) {
    snprintf(err, errlen, "cannot open a UDP socket to %s: %s", ep->host,
             strerror(errno));
    freeaddrinfo(ai);
    return SMBQ_ERR_NET;
  }
  memcpy(&q->remote, ai->ai_addr, ai->ai_addrlen);
  q->remote_len = ai->ai_addrlen;
  freeaddrinfo(ai);
  q->local_len = sizeof(q->local);
  getsockname(q->fd, (struct sockaddr *)&q->local, &q->local_len);
  set_socket_buffers(q->fd);
  char host[INET6_ADDRSTRLEN] = "?";
  if (q->remote.ss_family == AF_INET)
    inet_ntop(AF_INET, &((struct sockaddr_in *)&q->remote)->sin_addr, host,
              sizeof(host));
  else
    inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&q->remote)->sin6_addr,
              host, sizeof(host));
  snprintf(q->peer, sizeof(q->peer),
           q->remote.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", host,
           ep->port);
  return 0;
}

static int new_conn(struct quic_conn *q, const struct quic_conn_cfg *cfg) {
  ngtcp2_cid dcid, scid;
  dcid.datalen = 18;
  scid.datalen = 17;
  gnutls_rnd(GNUTLS_RND_RANDOM, dcid.data, dcid.datalen);
  gnutls_rnd(GNUTLS_RND_RANDOM, scid.data, scid.datalen);
  ngtcp2_settings settings;
  ngtcp2_settings_default(&settings);
  settings.initial_ts = ts_now();
  /* NOTES: the 333 ms default makes pacing delay the first flight */
  settings.initial_rtt = 10 * NGTCP2_MILLISECONDS;
  settings.cc_algo = NGTCP2_CC_ALGO_BBR; /* keeps bulk rate under loss */
  settings.max_tx_udp_payload_size = MAX_UDP_PAYLOAD;
  /* window auto-tuning may grow the windows up to four times */
  settings.max_window = 4 * cfg->conn_window;
  settings.max_stream_window = 4 * cfg->stream_window;
  settings.handshake_timeout = UINT64_MAX; /* our connect deadline rules */
  ngtcp2_transport_params params;
  ngtcp2_transport_params_default(&params);
  params.initial_max_streams_bidi = 0; /* the server opens none */
  params.initial_max_streams_uni = cfg->peer_uni_streams;
  params.initial_max_stream_data_bidi_local = cfg->stream_window;
  params.initial_max_stream_data_uni =
      cfg->peer_uni_streams ? cfg->stream_window : 0;
  params.initial_max_data = cfg->conn_window;
  params.max_idle_timeout = 120 * NGTCP2_SECONDS;
  ngtcp2_path path = {
      .local = {(ngtcp2_sockaddr *)&q->local, q->local_len},
      .remote = {(ngtcp2_sockaddr *)&q->remote, q->remote_len},
  };
  if (ngtcp2_conn_client_new(&q->conn, &dcid, &scid, &path,
                             NGTCP2_PROTO_VER_V1, &client_callbacks,
                             &settings, &params, NULL, q) != 0)
    return SMBQ_ERR_NOMEM;
  ngtcp2_conn_set_tls_native_handle(q->conn, q->tls);
  /* keep NATs and the server's idle timer from dropping a quiet session */
  ngtcp2_conn_set_keep_alive_timeout(q->conn, KEEPALIVE_IDLE);
  return 0;
}

/* Copy the configuration's names; the ALPN must fit the TLS info. */
static int take_cfg(struct quic_conn *q, const struct quic_conn_cfg *cfg) {
  const struct smbq_endpoint *ep = cfg->ep;
  if (!cfg->alpn || !cfg->alpn[0] ||
      strlen(cfg->alpn) >= sizeof(q->tls_info.alpn))
    return SMBQ_ERR_INVAL;
  snprintf(q->alpn, sizeof(q->alpn), "%s", cfg->alpn);
  snprintf(q->service, sizeof(q->service), "%s",
           cfg->service ? cfg->service : "QUIC");
  snprintf(q->fallback, sizeof(q->fallback), "%s",
           cfg->fallback ? cfg->fallback : "");
  snprintf(q->host, sizeof(q->host), "%s", ep->host);
  q->port = ep->port;
  q->tickets = ep->tickets;
  q->connect_deadline_ns =
      smbq_now_ns() + (int64_t)(ep->timeout_ms ? ep->timeout_ms : 10000) *
                          1000000;
  return 0;
}

int quic_conn_open(const struct quic_conn_cfg *cfg,
                   const struct quic_conn_app *app, void *user,
                   struct quic_conn **out, char *err, size_t errlen) {
  struct quic_conn *q = calloc(1, sizeof(*q));
  if (!q)
    return SMBQ_ERR_NOMEM;
  q->app = *app;
  q->user = user;
  q->fd = -1;
  q->gso_ok = true;
  int rc = take_cfg(q, cfg);
  if (rc < 0)
    snprintf(err, errlen, "QUIC to %s: the ALPN \"%s\" is invalid",
             cfg->ep->host, cfg->alpn ? cfg->alpn : "");
  q->pending = malloc(MAX_UDP_PAYLOAD * GSO_MAX_SEGMENTS + 64);
  q->rxb = malloc((size_t)RX_BATCH * RX_BUF);
  if (rc == 0)
    rc = q->pending && q->rxb ? open_socket(q, cfg->ep, err, errlen)
                              : SMBQ_ERR_NOMEM;
  if (rc == 0)
    rc = setup_tls(q, cfg->ep, err, errlen);
  if (rc == 0)
    rc = new_conn(q, cfg);
  q->start_ns = smbq_now_ns(); /* the handshake time excludes loading the
                                  trust store */
  if (rc == 0 && flush_packets(q) < 0) {
    snprintf(err, errlen, "%s", q->errmsg);
    rc = q->fatal;
  }
  if (rc < 0) {
    if (!err[0])
      snprintf(err, errlen, "cannot start QUIC to %s", cfg->ep->host);
    quic_conn_free(q);
    return rc;
  }
  *out = q;
  return 0;
}

/* ---- pure helpers (unit-tested) ------------------------------------------ */

size_t quic_printable(char *out, size_t outlen, const uint8_t *in,
                      size_t len) {
  if (outlen == 0)
    return 0;
  size_t n = len < outlen - 1 ? len : outlen - 1;
  for (size_t i = 0; i < n; i++)
    out[i] = in[i] >= 0x20 && in[i] < 0x7f ? (char)in[i] : '?';
  out[n] = '\0';
  return n;
}
