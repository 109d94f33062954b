/* h3_kdcproxy: a KDC proxy (MS-KKDCP) for the tests that serves HTTP/3
 * only: UDP, QUIC v1, TLS 1.3, ALPN "h3" (no TCP listener at all).
 *
 * POST /KdcProxy with a KDC-PROXY-MESSAGE (MS-KKDCP 2.2.2) is unwrapped,
 * sent to the KDC over TCP with its 4-byte length (RFC 4120 7.2.2), and
 * the KDC's reply goes back wrapped, as 200 application/kerberos
 * (MS-KKDCP 3.2.5). --mode makes it misbehave instead, for the client's
 * error paths. Every request is logged as one line:
 *   METHOD PATH LENGTH resumed=yes|no conn=N
 * (LENGTH: the content-length header, else the body's size; N counts QUIC
 * connections from 1), so a test can see that one logon's exchanges
 * share a connection and that a later one resumed TLS with a ticket.
 *
 * Deliberately small: one datagram per recvfrom/sendto, linear connection
 * ID lookup, no version negotiation, no migration, no Retry. It does not
 * share quic_front.c's batched core (GSO, recvmmsg, hashed ID routing,
 * hostile modes) because that core is welded to quic_front's one-stream
 * relay; a KDC exchange is a few packets. The QUIC and HTTP/3 work itself
 * is ngtcp2's and nghttp3's.
 *
 * The KDC exchange is synchronous (blocking TCP with a timeout) inside the
 * request's end-of-stream callback: a test proxy with one client at a time
 * needs nothing more, and the answer function stays callable on its own
 * (--self-test).
 *
 * usage: h3_kdcproxy --cert PEM --key PEM --kdc HOST:PORT
 *                    [--listen ADDR] [--port N] [--port-file FILE]
 *                    [--log FILE] [--mode ok|status|type|garbage|
 *                    oversize|reset]
 *        h3_kdcproxy --kdc HOST:PORT [--mode M] --self-test BODYFILE
 *                    (the answer's body to stdout, "STATUS TYPE LENGTH"
 *                    to stderr; exit 0 on 200)
 * Stops on SIGTERM/SIGINT.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <krb5_asn1.h>
#include <netdb.h>
#include <netinet/in.h>
#include <nghttp3/nghttp3.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "auth/kdcproxy.h"

#define MAX_CONNS 64
#define MAX_CIDS 16               /* ngtcp2's pool of 8, plus retired ones */
#define MAX_UDP_PAYLOAD 1452
#define MAX_PKTS 64               /* per flush; pacing spaces the rest */
#define MAX_STREAMS_BIDI 16
#define MAX_REQ_BODY (256u * 1024) /* an AS-REQ or TGS-REQ is a few KiB */
#define MAX_KDC_REPLY (1u << 20)   /* what the client accepts, too */
#define OVERSIZE_BODY (2u << 20)
#define KDC_TIMEOUT_S 5

enum mode { M_OK, M_STATUS, M_TYPE, M_GARBAGE, M_OVERSIZE, M_RESET };

static const struct {
  const char *name;
  enum mode mode;
} modes[] = {
    {"ok", M_OK},           {"status", M_STATUS},
    {"type", M_TYPE},       {"garbage", M_GARBAGE},
    {"oversize", M_OVERSIZE}, {"reset", M_RESET},
};

/* What one request gets. body: malloc'd, owned by whoever holds the
 * answer (answer_free). */
struct answer {
  int status;
  const char *ctype;
  uint8_t *body;
  size_t len;
  bool reset; /* no response: reset the stream (--mode reset) */
};

struct proxy {
  char kdc_host[256], kdc_port[16];
  enum mode mode;
  FILE *log;
  int udp;
  struct sockaddr_storage local;
  socklen_t local_len;
  gnutls_certificate_credentials_t cred;
  gnutls_datum_t ticket_key;
  unsigned n_accepted; /* connections so far: conn=N in the log */
  struct conn *conns[MAX_CONNS];
};

/* One request stream. Owned by its connection's list; freed when nghttp3
 * closes the stream or with the connection. */
struct req {
  struct req *next;
  int64_t sid;
  char method[16], path[128];
  long long clen; /* content-length header, -1 if none */
  uint8_t *body;
  size_t len;
  bool too_big, body_given;
  struct answer ans;
};

struct conn {
  struct proxy *p;
  ngtcp2_conn *q;
  nghttp3_conn *h3;
  ngtcp2_crypto_conn_ref ref;
  gnutls_session_t tls;
  ngtcp2_cid cids[MAX_CIDS]; /* every DCID that routes to us */
  size_t n_cids;
  unsigned number;
  struct req *reqs;
  bool closing;
  int liberr;       /* ngtcp2 error that closes it, 0 if none */
  uint64_t app_err; /* HTTP/3 error that closes it, 0 if none */
};

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

/* ---- the answer to a request (HTTP/3 and --self-test) ------------------- */

static void answer_free(struct answer *a) {
  free(a->body);
  a->body = NULL;
  a->len = 0;
}

static void set_text(struct answer *a, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_text(struct answer *a, int status, const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  size_t len = n < 0 ? 0 : (size_t)n < sizeof(buf) ? (size_t)n
                                                   : sizeof(buf) - 1;
  a->status = status;
  a->ctype = "text/plain";
  a->body = malloc(len ? len : 1);
  a->len = a->body ? len : 0;
  if (a->body)
    memcpy(a->body, buf, len);
}

static void set_bytes(struct answer *a, const char *ctype, const void *data,
                      size_t len) {
  a->status = 200;
  a->ctype = ctype;
  a->body = malloc(len ? len : 1);
  if (!a->body) {
    set_text(a, 500, "out of memory\n");
    return;
  }
  if (data)
    memcpy(a->body, data, len);
  else
    memset(a->body, 0x30, len); /* like DER SEQUENCE tags, of no length */
  a->len = len;
}

/* The request's target-domain (MS-KKDCP 2.2.2), which the reply carries
 * back; kdcproxy_decode() does not return it. */
static int request_realm(const uint8_t *body, size_t len, char *realm,
                         size_t cap) {
  KDC_PROXY_MESSAGE m;
  size_t used = 0;
  memset(&m, 0, sizeof(m));
  if (decode_KDC_PROXY_MESSAGE(body, len, &m, &used) != 0)
    return -1;
  int rc = -1;
  if (m.target_domain && *m.target_domain && (*m.target_domain)[0] &&
      strlen(*m.target_domain) < cap) {
    snprintf(realm, cap, "%s", *m.target_domain);
    rc = 0;
  }
  free_KDC_PROXY_MESSAGE(&m);
  return rc;
}

static int io_all(int fd, uint8_t *buf, size_t len, bool out) {
  while (len) {
    ssize_t n = out ? send(fd, buf, len, MSG_NOSIGNAL) : recv(fd, buf, len, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return -1;
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

static int kdc_connect(const struct proxy *p) {
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
  if (getaddrinfo(p->kdc_host, p->kdc_port, &hints, &ai) != 0)
    return -1;
  int fd = -1;
  struct timeval tv = {.tv_sec = KDC_TIMEOUT_S};
  for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
      continue;
    /* Linux applies SO_SNDTIMEO to connect() as well */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(ai);
  return fd;
}

/* One KDC exchange over TCP: RFC 4120 7.2.2, a 4-byte big-endian length
 * (top bit reserved) before each message. *reply is malloc'd. */
static int kdc_exchange(const struct proxy *p, const uint8_t *msg,
                        size_t len, uint8_t **reply, size_t *rlen) {
  int fd = kdc_connect(p);
  if (fd < 0)
    return -1;
  uint8_t hdr[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16),
                    (uint8_t)(len >> 8), (uint8_t)len};
  uint32_t n = 0;
  int rc = -1;
  if (io_all(fd, hdr, 4, true) == 0 && io_all(fd, (uint8_t *)msg, len,
                                              true) == 0 &&
      io_all(fd, hdr, 4, false) == 0) {
    n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
        (uint32_t)hdr[2] << 8 | hdr[3];
    *reply = n && n <= MAX_KDC_REPLY ? malloc(n) : NULL;
    if (*reply && io_all(fd, *reply, n, false) == 0) {
      *rlen = n;
      rc = 0;
    } else {
      free(*reply);
      *reply = NULL;
    }
  }
  close(fd);
  return rc;
}

/* MS-KKDCP 3.2.5: unwrap, ask the KDC, wrap its reply. */
static void proxy_to_kdc(const struct proxy *p, const uint8_t *body,
                         size_t len, struct answer *a) {
  char realm[256];
  uint8_t *msg = NULL, *reply = NULL, *out = NULL;
  size_t msglen = 0, rlen = 0, outlen = 0;
  if (kdcproxy_decode(body, len, &msg, &msglen) < 0 ||
      request_realm(body, len, realm, sizeof(realm)) < 0) {
    free(msg);
    set_text(a, 400, "not a KDC-PROXY-MESSAGE with a target-domain\n");
    return;
  }
  int rc = kdc_exchange(p, msg, msglen, &reply, &rlen);
  free(msg);
  if (rc < 0) {
    set_text(a, 503, "no answer from the KDC at %s:%s\n", p->kdc_host,
             p->kdc_port);
    return;
  }
  rc = kdcproxy_encode(reply, rlen, realm, &out, &outlen);
  free(reply);
  if (rc < 0) {
    set_text(a, 502, "cannot wrap the KDC's reply\n");
    return;
  }
  a->status = 200;
  a->ctype = "application/kerberos";
  a->body = out;
  a->len = outlen;
}

/* The answer to a request whose headers and body are all in. */
static void answer_request(const struct proxy *p, const char *method,
                           const char *path, const uint8_t *body, size_t len,
                           bool too_big, struct answer *a) {
  static const char garbage[] = "GARBAGE: no KDC-PROXY-MESSAGE here\n";
  static const char html[] = "<html>sign in first</html>\n";
  memset(a, 0, sizeof(*a));
  if (strcmp(path, "/KdcProxy") != 0)
    set_text(a, 404, "not found: %s\n", path);
  else if (strcmp(method, "POST") != 0)
    set_text(a, 405, "method %s not allowed\n", method);
  else if (too_big)
    set_text(a, 413, "request body over %u bytes\n", MAX_REQ_BODY);
  else if (p->mode == M_STATUS)
    set_text(a, 500, "test KDC proxy: internal error (on purpose)\n");
  else if (p->mode == M_TYPE)
    set_bytes(a, "text/html", html, sizeof(html) - 1);
  else if (p->mode == M_GARBAGE)
    set_bytes(a, "application/kerberos", garbage, sizeof(garbage) - 1);
  else if (p->mode == M_OVERSIZE)
    set_bytes(a, "application/kerberos", NULL, OVERSIZE_BODY);
  else if (p->mode == M_RESET)
    a->reset = true;
  else
    proxy_to_kdc(p, body, len, a);
}

/* ---- HTTP/3 requests (nghttp3) ----------------------------------------- */

static void req_free(struct req *r) {
  free(r->body);
  answer_free(&r->ans);
  free(r);
}

static void conn_drop_req(struct conn *c, struct req *r) {
  for (struct req **pp = &c->reqs; *pp; pp = &(*pp)->next) {
    if (*pp == r) {
      *pp = r->next;
      req_free(r);
      return;
    }
  }
}

/* The client's body and headers count against QUIC flow control only
 * until we take them (RFC 9000 4.1). */
static void credit(struct conn *c, int64_t sid, size_t n) {
  ngtcp2_conn_extend_max_stream_offset(c->q, sid, n);
  ngtcp2_conn_extend_max_offset(c->q, n);
}

static int h3_begin_headers(nghttp3_conn *h3, int64_t sid, void *cu,
                            void *su) {
  (void)su;
  struct conn *c = cu;
  struct req *r = calloc(1, sizeof(*r));
  if (!r)
    return NGHTTP3_ERR_CALLBACK_FAILURE;
  r->sid = sid;
  r->clen = -1;
  r->next = c->reqs;
  c->reqs = r;
  return nghttp3_conn_set_stream_user_data(h3, sid, r) == 0
             ? 0
             : NGHTTP3_ERR_CALLBACK_FAILURE;
}

static void copy_field(char *dst, size_t cap, nghttp3_rcbuf *v) {
  nghttp3_vec b = nghttp3_rcbuf_get_buf(v);
  size_t n = b.len < cap - 1 ? b.len : cap - 1;
  memcpy(dst, b.base, n);
  dst[n] = '\0';
}

static int h3_recv_header(nghttp3_conn *h3, int64_t sid, int32_t token,
                          nghttp3_rcbuf *name, nghttp3_rcbuf *value,
                          uint8_t flags, void *cu, void *su) {
  (void)h3, (void)sid, (void)name, (void)flags, (void)cu;
  struct req *r = su;
  char num[32];
  if (!r)
    return 0;
  switch (token) {
  case NGHTTP3_QPACK_TOKEN__METHOD:
    copy_field(r->method, sizeof(r->method), value);
    break;
  case NGHTTP3_QPACK_TOKEN__PATH:
    copy_field(r->path, sizeof(r->path), value);
    break;
  case NGHTTP3_QPACK_TOKEN_CONTENT_LENGTH:
    copy_field(num, sizeof(num), value);
    r->clen = strtoll(num, NULL, 10);
    break;
  default:
    break;
  }
  return 0;
}

static int h3_recv_data(nghttp3_conn *h3, int64_t sid, const uint8_t *data,
                        size_t len, void *cu, void *su) {
  (void)h3;
  struct conn *c = cu;
  struct req *r = su;
  credit(c, sid, len);
  if (!r || r->too_big)
    return 0;
  if (len > MAX_REQ_BODY - r->len) {
    r->too_big = true; /* answered 413 at the end of the stream */
    return 0;
  }
  uint8_t *nb = realloc(r->body, r->len + len);
  if (!nb)
    return NGHTTP3_ERR_CALLBACK_FAILURE;
  memcpy(nb + r->len, data, len);
  r->body = nb;
  r->len += len;
  return 0;
}

static int h3_deferred_consume(nghttp3_conn *h3, int64_t sid, size_t n,
                               void *cu, void *su) {
  (void)h3, (void)su;
  credit(cu, sid, n);
  return 0;
}

/* The response body, all at once: it stays in r->ans until the stream
 * closes, which is after the client acknowledged it. */
static nghttp3_ssize read_body(nghttp3_conn *h3, int64_t sid,
                               nghttp3_vec *vec, size_t veccnt,
                               uint32_t *pflags, void *cu, void *su) {
  (void)h3, (void)sid, (void)veccnt, (void)cu;
  struct req *r = su;
  *pflags |= NGHTTP3_DATA_FLAG_EOF;
  if (r->body_given || !r->ans.len)
    return 0;
  r->body_given = true;
  vec[0].base = r->ans.body;
  vec[0].len = r->ans.len;
  return 1;
}

static void log_request(const struct conn *c, const struct req *r) {
  if (!c->p->log)
    return;
  fprintf(c->p->log, "%s %s %lld resumed=%s conn=%u\n",
          r->method[0] ? r->method : "-", r->path[0] ? r->path : "-",
          r->clen >= 0 ? r->clen : (long long)r->len,
          gnutls_session_is_resumed(c->tls) ? "yes" : "no", c->number);
  fflush(c->p->log);
}

static nghttp3_nv field(const char *name, const char *value) {
  return (nghttp3_nv){(uint8_t *)name, (uint8_t *)value, strlen(name),
                      strlen(value), NGHTTP3_NV_FLAG_NONE};
}

/* The whole request is in: answer it (RFC 9114 4.1). */
static int h3_end_stream(nghttp3_conn *h3, int64_t sid, void *cu, void *su) {
  struct conn *c = cu;
  struct req *r = su;
  if (!r)
    return 0;
  log_request(c, r);
  answer_request(c->p, r->method, r->path, r->body, r->len, r->too_big,
                 &r->ans);
  if (r->ans.reset)
    return ngtcp2_conn_shutdown_stream(c->q, sid,
                                       NGHTTP3_H3_REQUEST_REJECTED) == 0
               ? 0
               : NGHTTP3_ERR_CALLBACK_FAILURE;
  char status[8], clen[24];
  snprintf(status, sizeof(status), "%d", r->ans.status);
  snprintf(clen, sizeof(clen), "%zu", r->ans.len);
  const nghttp3_nv nv[] = {field(":status", status),
                           field("content-type", r->ans.ctype),
                           field("content-length", clen)};
  const nghttp3_data_reader dr = {read_body};
  return nghttp3_conn_submit_response(h3, sid, nv, 3, &dr) == 0
             ? 0
             : NGHTTP3_ERR_CALLBACK_FAILURE;
}

static int h3_stream_close(nghttp3_conn *h3, int64_t sid, uint64_t code,
                           void *cu, void *su) {
  (void)h3, (void)code;
  struct conn *c = cu;
  if (su)
    conn_drop_req(c, su);
  if (ngtcp2_is_bidi_stream(sid))
    ngtcp2_conn_extend_max_streams_bidi(c->q, 1);
  return 0;
}

static int h3_stop_sending(nghttp3_conn *h3, int64_t sid, uint64_t code,
                           void *cu, void *su) {
  (void)h3, (void)su;
  struct conn *c = cu;
  return ngtcp2_conn_shutdown_stream_read(c->q, sid, code) == 0
             ? 0
             : NGHTTP3_ERR_CALLBACK_FAILURE;
}

static int h3_reset_stream(nghttp3_conn *h3, int64_t sid, uint64_t code,
                           void *cu, void *su) {
  (void)h3, (void)su;
  struct conn *c = cu;
  return ngtcp2_conn_shutdown_stream_write(c->q, sid, code) == 0
             ? 0
             : NGHTTP3_ERR_CALLBACK_FAILURE;
}

static const nghttp3_callbacks h3_callbacks = {
    .stream_close = h3_stream_close,
    .recv_data = h3_recv_data,
    .deferred_consume = h3_deferred_consume,
    .begin_headers = h3_begin_headers,
    .recv_header = h3_recv_header,
    .end_stream = h3_end_stream,
    .stop_sending = h3_stop_sending,
    .reset_stream = h3_reset_stream,
};

/* RFC 9114 6.2: the server's control stream and its QPACK encoder and
 * decoder streams (RFC 9204 4.2), once the handshake is done. */
static int setup_h3(struct conn *c) {
  nghttp3_settings s;
  nghttp3_settings_default(&s);
  if (nghttp3_conn_server_new(&c->h3, &h3_callbacks, &s, NULL, c) != 0)
    return -1;
  nghttp3_conn_set_max_client_streams_bidi(c->h3, MAX_STREAMS_BIDI);
  int64_t ctrl, enc, dec;
  if (ngtcp2_conn_open_uni_stream(c->q, &ctrl, NULL) != 0 ||
      nghttp3_conn_bind_control_stream(c->h3, ctrl) != 0 ||
      ngtcp2_conn_open_uni_stream(c->q, &enc, NULL) != 0 ||
      ngtcp2_conn_open_uni_stream(c->q, &dec, NULL) != 0 ||
      nghttp3_conn_bind_qpack_streams(c->h3, enc, dec) != 0)
    return -1;
  return 0;
}

/* ---- QUIC (ngtcp2) --------------------------------------------------------- */

static struct conn *find_conn(const struct proxy *p, const uint8_t *d,
                              size_t len) {
  for (int i = 0; i < MAX_CONNS; i++) {
    struct conn *c = p->conns[i];
    for (size_t k = 0; c && k < c->n_cids; k++)
      if (c->cids[k].datalen == len && memcmp(c->cids[k].data, d, len) == 0)
        return c;
  }
  return NULL;
}

static int add_cid(struct conn *c, const ngtcp2_cid *cid) {
  if (c->n_cids == MAX_CIDS || find_conn(c->p, cid->data, cid->datalen))
    return -1;
  c->cids[c->n_cids++] = *cid;
  return 0;
}

static ngtcp2_conn *get_conn(ngtcp2_crypto_conn_ref *ref) {
  return ((struct conn *)ref->user_data)->q;
}

static void cb_rand(uint8_t *d, size_t n, const ngtcp2_rand_ctx *ctx) {
  (void)ctx;
  gnutls_rnd(GNUTLS_RND_RANDOM, d, n);
}

static int cb_new_cid(ngtcp2_conn *q, ngtcp2_cid *cid, uint8_t *token,
                      size_t cidlen, void *user) {
  (void)q;
  cid->datalen = cidlen;
  if (gnutls_rnd(GNUTLS_RND_RANDOM, cid->data, cidlen) < 0 ||
      gnutls_rnd(GNUTLS_RND_RANDOM, token,
                 NGTCP2_STATELESS_RESET_TOKENLEN) < 0 ||
      add_cid(user, cid) < 0)
    return NGTCP2_ERR_CALLBACK_FAILURE;
  return 0;
}

/* RFC 9000 5.1.2: a retired ID stops routing to us. */
static int cb_remove_cid(ngtcp2_conn *q, const ngtcp2_cid *cid, void *user) {
  (void)q;
  struct conn *c = user;
  for (size_t k = 0; k < c->n_cids; k++) {
    if (ngtcp2_cid_eq(&c->cids[k], cid)) {
      c->cids[k] = c->cids[--c->n_cids];
      break;
    }
  }
  return 0;
}

static int cb_handshake_completed(ngtcp2_conn *q, void *user) {
  (void)q;
  return setup_h3(user) == 0 ? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
}

static int cb_recv_stream_data(ngtcp2_conn *q, uint32_t flags, int64_t sid,
                               uint64_t offset, const uint8_t *data,
                               size_t len, void *user, void *su) {
  (void)q, (void)offset, (void)su;
  struct conn *c = user;
  if (!c->h3)
    return NGTCP2_ERR_CALLBACK_FAILURE; /* no 0-RTT: cannot happen */
  nghttp3_ssize n = nghttp3_conn_read_stream(
      c->h3, sid, data, len, (flags & NGTCP2_STREAM_DATA_FLAG_FIN) != 0);
  if (n < 0) {
    fprintf(stderr, "h3_kdcproxy: HTTP/3: %s\n", nghttp3_strerror((int)n));
    c->app_err = nghttp3_err_infer_quic_app_error_code((int)n);
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  credit(c, sid, (size_t)n);
  return 0;
}

static int cb_acked(ngtcp2_conn *q, int64_t sid, uint64_t offset,
                    uint64_t len, void *user, void *su) {
  (void)q, (void)offset, (void)su;
  struct conn *c = user;
  return nghttp3_conn_add_ack_offset(c->h3, sid, len) == 0
             ? 0
             : NGTCP2_ERR_CALLBACK_FAILURE;
}

static int cb_stream_close(ngtcp2_conn *q, uint32_t flags, int64_t sid,
                           uint64_t code, void *user, void *su) {
  (void)q, (void)su;
  struct conn *c = user;
  if (!c->h3)
    return 0;
  if (!(flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET))
    code = NGHTTP3_H3_NO_ERROR;
  int rv = nghttp3_conn_close_stream(c->h3, sid, code);
  if (rv == NGHTTP3_ERR_STREAM_NOT_FOUND)
    return 0;
  if (rv != 0) {
    c->app_err = nghttp3_err_infer_quic_app_error_code(rv);
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  return 0;
}

/* RESET_STREAM or STOP_SENDING from the client: nghttp3 stops reading. */
static int cb_stream_reset(ngtcp2_conn *q, int64_t sid, uint64_t final_size,
                           uint64_t code, void *user, void *su) {
  (void)q, (void)final_size, (void)code, (void)su;
  struct conn *c = user;
  return !c->h3 || nghttp3_conn_shutdown_stream_read(c->h3, sid) == 0
             ? 0
             : NGTCP2_ERR_CALLBACK_FAILURE;
}

static int cb_stop_sending(ngtcp2_conn *q, int64_t sid, uint64_t code,
                           void *user, void *su) {
  return cb_stream_reset(q, sid, 0, code, user, su);
}

static int cb_max_streams_bidi(ngtcp2_conn *q, uint64_t max, void *user) {
  (void)q;
  struct conn *c = user;
  if (c->h3)
    nghttp3_conn_set_max_client_streams_bidi(c->h3, max);
  return 0;
}

static int cb_max_stream_data(ngtcp2_conn *q, int64_t sid, uint64_t max,
                              void *user, void *su) {
  (void)q, (void)max, (void)su;
  struct conn *c = user;
  return !c->h3 || nghttp3_conn_unblock_stream(c->h3, sid) == 0
             ? 0
             : NGTCP2_ERR_CALLBACK_FAILURE;
}

static const ngtcp2_callbacks quic_callbacks = {
    .recv_client_initial = ngtcp2_crypto_recv_client_initial_cb,
    .recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb,
    .handshake_completed = cb_handshake_completed,
    .encrypt = ngtcp2_crypto_encrypt_cb,
    .decrypt = ngtcp2_crypto_decrypt_cb,
    .hp_mask = ngtcp2_crypto_hp_mask_cb,
    .recv_stream_data = cb_recv_stream_data,
    .acked_stream_data_offset = cb_acked,
    .stream_close = cb_stream_close,
    .stream_reset = cb_stream_reset,
    .stream_stop_sending = cb_stop_sending,
    .extend_max_remote_streams_bidi = cb_max_streams_bidi,
    .extend_max_stream_data = cb_max_stream_data,
    .rand = cb_rand,
    .get_new_connection_id = cb_new_cid,
    .remove_connection_id = cb_remove_cid,
    .update_key = ngtcp2_crypto_update_key_cb,
    .delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb,
    .delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb,
    .get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb,
    .version_negotiation = ngtcp2_crypto_version_negotiation_cb,
};

static void send_pkt(const struct proxy *p, const uint8_t *buf, size_t len,
                     const ngtcp2_path *path) {
  /* a lost datagram is QUIC's to resend */
  while (sendto(p->udp, buf, len, 0,
                (const struct sockaddr *)path->remote.addr,
                path->remote.addrlen) < 0 &&
         errno == EINTR)
    ;
}

static void fail_conn(struct conn *c, int liberr) {
  if (c->closing)
    return;
  c->closing = true;
  c->liberr = liberr;
}

/* Stream data from nghttp3 and ngtcp2's own frames, packet by packet,
 * up to MAX_PKTS; then ngtcp2's pacing timer says when to go on. */
static void flush_conn(struct conn *c) {
  uint8_t buf[MAX_UDP_PAYLOAD];
  ngtcp2_tstamp ts = now_ns();
  for (int npkts = 0; npkts < MAX_PKTS && !c->closing;) {
    int64_t sid = -1;
    int fin = 0;
    nghttp3_vec vec[16];
    nghttp3_ssize nvec = 0;
    if (c->h3 && ngtcp2_conn_get_max_data_left(c->q)) {
      nvec = nghttp3_conn_writev_stream(c->h3, &sid, &fin, vec, 16);
      if (nvec < 0) {
        c->app_err = nghttp3_err_infer_quic_app_error_code((int)nvec);
        fail_conn(c, NGTCP2_ERR_CALLBACK_FAILURE);
        return;
      }
    }
    uint32_t fl = NGTCP2_WRITE_STREAM_FLAG_MORE |
                  (fin ? NGTCP2_WRITE_STREAM_FLAG_FIN : 0);
    ngtcp2_path_storage ps;
    ngtcp2_path_storage_zero(&ps);
    ngtcp2_pkt_info pi;
    ngtcp2_ssize datalen = -1;
    ngtcp2_ssize n = ngtcp2_conn_writev_stream(
        c->q, &ps.path, &pi, buf, sizeof(buf), &datalen, fl, sid,
        (const ngtcp2_vec *)vec, (size_t)nvec, ts);
    if (datalen >= 0 && nghttp3_conn_add_write_offset(c->h3, sid,
                                                      (size_t)datalen)) {
      fail_conn(c, NGTCP2_ERR_CALLBACK_FAILURE);
      return;
    }
    if (n == NGTCP2_ERR_WRITE_MORE)
      continue;
    if (n == NGTCP2_ERR_STREAM_DATA_BLOCKED) {
      nghttp3_conn_block_stream(c->h3, sid);
      continue;
    }
    if (n == NGTCP2_ERR_STREAM_SHUT_WR) {
      nghttp3_conn_shutdown_stream_write(c->h3, sid);
      continue;
    }
    if (n < 0) {
      fail_conn(c, (int)n);
      return;
    }
    if (n == 0)
      break;
    send_pkt(c->p, buf, (size_t)n, &ps.path);
    npkts++;
  }
  ngtcp2_conn_update_pkt_tx_time(c->q, ts);
}

/* CONNECTION_CLOSE (RFC 9000 10.2), unless the peer closed first or the
 * connection sat idle (RFC 9000 10.1). A handshake that failed (an ALPN
 * other than h3, RFC 9001 8.1) goes out as its TLS alert. */
static void send_close(struct conn *c) {
  int e = c->liberr;
  if (!c->q || e == NGTCP2_ERR_DRAINING || e == NGTCP2_ERR_CLOSING ||
      e == NGTCP2_ERR_DROP_CONN || e == NGTCP2_ERR_IDLE_CLOSE ||
      ngtcp2_conn_is_in_draining_period(c->q))
    return;
  ngtcp2_connection_close_error ce;
  ngtcp2_connection_close_error_default(&ce);
  if (c->app_err)
    ngtcp2_connection_close_error_set_application_error(&ce, c->app_err,
                                                        NULL, 0);
  else if (e == NGTCP2_ERR_CRYPTO)
    ngtcp2_connection_close_error_set_transport_error_tls_alert(
        &ce, ngtcp2_conn_get_tls_alert(c->q), NULL, 0);
  else if (e)
    ngtcp2_connection_close_error_set_transport_error_liberr(&ce, e, NULL, 0);
  else
    ngtcp2_connection_close_error_set_application_error(
        &ce, NGHTTP3_H3_NO_ERROR, NULL, 0);
  uint8_t buf[MAX_UDP_PAYLOAD];
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_pkt_info pi;
  ngtcp2_ssize n = ngtcp2_conn_write_connection_close(
      c->q, &ps.path, &pi, buf, sizeof(buf), &ce, now_ns());
  if (n > 0)
    send_pkt(c->p, buf, (size_t)n, &ps.path);
}

static void free_conn(struct proxy *p, int i) {
  struct conn *c = p->conns[i];
  while (c->reqs) {
    struct req *r = c->reqs;
    c->reqs = r->next;
    req_free(r);
  }
  if (c->h3)
    nghttp3_conn_del(c->h3);
  if (c->q)
    ngtcp2_conn_del(c->q);
  if (c->tls)
    gnutls_deinit(c->tls);
  free(c);
  p->conns[i] = NULL;
}

static int setup_tls(struct proxy *p, struct conn *c) {
  static const char prio[] =
      "NORMAL:-VERS-ALL:+VERS-TLS1.3:%DISABLE_TLS13_COMPAT_MODE";
  /* RFC 9114 3.1: "h3", and nothing else */
  gnutls_datum_t alpn = {(unsigned char *)"h3", 2};
  if (gnutls_init(&c->tls, GNUTLS_SERVER | GNUTLS_NO_END_OF_EARLY_DATA) < 0 ||
      gnutls_priority_set_direct(c->tls, prio, NULL) < 0 ||
      ngtcp2_crypto_gnutls_configure_server_session(c->tls) != 0 ||
      gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, p->cred) < 0 ||
      gnutls_alpn_set_protocols(c->tls, &alpn, 1, GNUTLS_ALPN_MANDATORY) < 0 ||
      gnutls_session_ticket_enable_server(c->tls, &p->ticket_key) < 0)
    return -1;
  c->ref.get_conn = get_conn;
  c->ref.user_data = c;
  gnutls_session_set_ptr(c->tls, &c->ref);
  return 0;
}

static int new_quic_conn(struct proxy *p, struct conn *c,
                         const ngtcp2_pkt_hd *hd, const ngtcp2_path *path) {
  ngtcp2_cid scid = {.datalen = 18};
  if (gnutls_rnd(GNUTLS_RND_RANDOM, scid.data, scid.datalen) < 0 ||
      add_cid(c, &scid) < 0)
    return -1;
  ngtcp2_settings settings;
  ngtcp2_settings_default(&settings);
  settings.initial_ts = now_ns();
  settings.max_tx_udp_payload_size = MAX_UDP_PAYLOAD;
  ngtcp2_transport_params tp;
  ngtcp2_transport_params_default(&tp);
  tp.initial_max_streams_bidi = MAX_STREAMS_BIDI;
  tp.initial_max_streams_uni = 3; /* RFC 9114 6.2: control, QPACK x2 */
  tp.initial_max_stream_data_bidi_remote = 1 << 20;
  tp.initial_max_stream_data_uni = 256 * 1024;
  tp.initial_max_data = 4 << 20;
  tp.max_idle_timeout = 30 * NGTCP2_SECONDS;
  tp.original_dcid = hd->dcid;
  if (setup_tls(p, c) < 0 ||
      ngtcp2_conn_server_new(&c->q, &hd->scid, &scid, path, hd->version,
                             &quic_callbacks, &settings, &tp, NULL, c) != 0)
    return -1;
  ngtcp2_conn_set_tls_native_handle(c->q, c->tls);
  return 0;
}

/* A client Initial (RFC 9000 7): a new connection, or NULL. */
static struct conn *accept_conn(struct proxy *p, const uint8_t *pkt,
                                size_t len, const ngtcp2_path *path) {
  ngtcp2_pkt_hd hd;
  if (ngtcp2_accept(&hd, pkt, len) != 0)
    return NULL;
  int slot = -1;
  for (int i = 0; i < MAX_CONNS && slot < 0; i++)
    if (!p->conns[i])
      slot = i;
  struct conn *c = slot < 0 ? NULL : calloc(1, sizeof(*c));
  if (!c)
    return NULL;
  p->conns[slot] = c;
  c->p = p;
  c->number = ++p->n_accepted;
  /* the client's first DCID routes its Initial packets */
  if (add_cid(c, &hd.dcid) < 0 || new_quic_conn(p, c, &hd, path) < 0) {
    free_conn(p, slot);
    return NULL;
  }
  return c;
}

static void on_datagram(struct proxy *p, const uint8_t *pkt, size_t len,
                        struct sockaddr_storage *from, socklen_t from_len) {
  ngtcp2_version_cid vc;
  if (ngtcp2_pkt_decode_version_cid(&vc, pkt, len, 18) != 0)
    return; /* includes versions other than 1: no negotiation here */
  ngtcp2_path path = {
      .local = {(ngtcp2_sockaddr *)&p->local, p->local_len},
      .remote = {(ngtcp2_sockaddr *)from, from_len}};
  struct conn *c = find_conn(p, vc.dcid, vc.dcidlen);
  if (!c)
    c = accept_conn(p, pkt, len, &path);
  if (!c || c->closing)
    return;
  ngtcp2_pkt_info pi = {0};
  int rc = ngtcp2_conn_read_pkt(c->q, &path, &pi, pkt, len, now_ns());
  if (rc != 0)
    fail_conn(c, rc);
}

static void read_datagrams(struct proxy *p) {
  uint8_t buf[65536];
  for (;;) {
    struct sockaddr_storage from;
    socklen_t fl = sizeof(from);
    ssize_t n = recvfrom(p->udp, buf, sizeof(buf), MSG_DONTWAIT,
                         (struct sockaddr *)&from, &fl);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return;
    on_datagram(p, buf, (size_t)n, &from, fl);
  }
}

static void service(struct proxy *p, int i) {
  struct conn *c = p->conns[i];
  ngtcp2_tstamp now = now_ns();
  if (!c->closing && ngtcp2_conn_get_expiry(c->q) <= now) {
    int rc = ngtcp2_conn_handle_expiry(c->q, now);
    if (rc != 0)
      fail_conn(c, rc);
  }
  if (!c->closing)
    flush_conn(c);
  if (!c->closing && (ngtcp2_conn_is_in_draining_period(c->q) ||
                      ngtcp2_conn_is_in_closing_period(c->q)))
    fail_conn(c, NGTCP2_ERR_DRAINING);
  if (!c->closing)
    return;
  if (c->liberr == NGTCP2_ERR_CRYPTO)
    fprintf(stderr, "h3_kdcproxy: connection %u: TLS handshake failed "
            "(alert %u)\n", c->number, ngtcp2_conn_get_tls_alert(c->q));
  send_close(c);
  free_conn(p, i);
}

static void run(struct proxy *p, const sigset_t *waitmask) {
  while (!stop_flag) {
    ngtcp2_tstamp next = UINT64_MAX, now = now_ns();
    for (int i = 0; i < MAX_CONNS; i++)
      if (p->conns[i] && ngtcp2_conn_get_expiry(p->conns[i]->q) < next)
        next = ngtcp2_conn_get_expiry(p->conns[i]->q);
    struct timespec ts, *tp = NULL;
    if (next != UINT64_MAX) {
      ngtcp2_tstamp wait = next > now ? next - now : 0;
      ts.tv_sec = (time_t)(wait / NGTCP2_SECONDS);
      ts.tv_nsec = (long)(wait % NGTCP2_SECONDS);
      tp = &ts;
    }
    struct pollfd pfd = {.fd = p->udp, .events = POLLIN};
    if (ppoll(&pfd, 1, tp, waitmask) < 0 && errno != EINTR)
      return;
    if (pfd.revents & POLLIN)
      read_datagrams(p);
    for (int i = 0; i < MAX_CONNS; i++)
      if (p->conns[i])
        service(p, i);
  }
}

/* ---- set-up ---------------------------------------------------------------- */

static int open_udp(struct proxy *p, const char *addr, int port) {
  struct sockaddr_in in4 = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port)};
  struct sockaddr_in6 in6 = {.sin6_family = AF_INET6,
                             .sin6_port = htons((uint16_t)port)};
  const struct sockaddr *sa = (const struct sockaddr *)&in4;
  socklen_t salen = sizeof(in4);
  if (inet_pton(AF_INET6, addr, &in6.sin6_addr) == 1) {
    sa = (const struct sockaddr *)&in6;
    salen = sizeof(in6);
  } else if (inet_pton(AF_INET, addr, &in4.sin_addr) != 1) {
    fprintf(stderr, "h3_kdcproxy: %s is no IP address\n", addr);
    return -1;
  }
  p->udp = socket(sa->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (p->udp < 0 || bind(p->udp, sa, salen) < 0) {
    fprintf(stderr, "h3_kdcproxy: UDP %s port %d: %s\n", addr, port,
            strerror(errno));
    return -1;
  }
  p->local_len = sizeof(p->local);
  return getsockname(p->udp, (struct sockaddr *)&p->local, &p->local_len);
}

static unsigned local_port(const struct proxy *p) {
  if (p->local.ss_family == AF_INET6)
    return ntohs(((const struct sockaddr_in6 *)&p->local)->sin6_port);
  return ntohs(((const struct sockaddr_in *)&p->local)->sin_port);
}

/* Written under a temporary name and renamed: a reader never sees half. */
static int write_port_file(const struct proxy *p, const char *path) {
  char tmp[4096];
  snprintf(tmp, sizeof(tmp), "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (!f)
    return -1;
  fprintf(f, "%u\n", local_port(p));
  if (fclose(f) != 0 || rename(tmp, path) != 0)
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

static int parse_kdc(struct proxy *p, const char *arg) {
  const char *colon = strrchr(arg, ':');
  if (!colon || colon == arg || !colon[1] ||
      (size_t)(colon - arg) >= sizeof(p->kdc_host) ||
      strlen(colon + 1) >= sizeof(p->kdc_port))
    return -1;
  snprintf(p->kdc_host, sizeof(p->kdc_host), "%.*s", (int)(colon - arg),
           arg);
  snprintf(p->kdc_port, sizeof(p->kdc_port), "%s", colon + 1);
  return 0;
}

static int parse_mode(const char *name, enum mode *m) {
  for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
    if (strcmp(name, modes[i].name) == 0) {
      *m = modes[i].mode;
      return 0;
    }
  }
  fprintf(stderr, "h3_kdcproxy: unknown mode %s\n", name);
  return -1;
}

static uint8_t *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  uint8_t *buf = f ? malloc(MAX_REQ_BODY + 1) : NULL;
  *len = buf ? fread(buf, 1, MAX_REQ_BODY + 1, f) : 0;
  if (f)
    fclose(f);
  return buf;
}

/* --self-test: one recorded request body through answer_request(). */
static int self_test(const struct proxy *p, const char *path) {
  size_t len;
  uint8_t *body = read_file(path, &len);
  if (!body) {
    fprintf(stderr, "h3_kdcproxy: cannot read %s\n", path);
    return 1;
  }
  struct answer a;
  answer_request(p, "POST", "/KdcProxy", body, len, len > MAX_REQ_BODY, &a);
  free(body);
  if (a.reset)
    fprintf(stderr, "RESET %u\n", (unsigned)NGHTTP3_H3_REQUEST_REJECTED);
  else
    fprintf(stderr, "%d %s %zu\n", a.status, a.ctype, a.len);
  fwrite(a.body ? a.body : (uint8_t *)"", 1, a.len, stdout);
  int rc = a.status == 200 ? 0 : 1;
  answer_free(&a);
  return rc;
}

static int serve(struct proxy *p, const char *cert, const char *key,
                 const char *listen, int port, const char *port_file) {
  if (gnutls_certificate_allocate_credentials(&p->cred) < 0)
    return 1;
  if (gnutls_certificate_set_x509_key_file(p->cred, cert, key,
                                           GNUTLS_X509_FMT_PEM) < 0) {
    fprintf(stderr, "h3_kdcproxy: cannot load %s / %s\n", cert, key);
    return 1;
  }
  /* TLS 1.3 tickets (RFC 8446 4.6.1), so a client can resume */
  if (gnutls_session_ticket_key_generate(&p->ticket_key) < 0)
    return 1;
  sigset_t waitmask;
  install_signals(&waitmask); /* before the port file announces us */
  if (open_udp(p, listen, port) < 0)
    return 1;
  if (port_file && write_port_file(p, port_file) < 0) {
    fprintf(stderr, "h3_kdcproxy: cannot write %s\n", port_file);
    return 1;
  }
  run(p, &waitmask);
  for (int i = 0; i < MAX_CONNS; i++)
    if (p->conns[i])
      free_conn(p, i);
  return 0;
}

int main(int argc, char **argv) {
  static const struct option opts[] = {
      {"cert", required_argument, NULL, 'c'},
      {"key", required_argument, NULL, 'k'},
      {"kdc", required_argument, NULL, 'K'},
      {"listen", required_argument, NULL, 'l'},
      {"port", required_argument, NULL, 'p'},
      {"port-file", required_argument, NULL, 'f'},
      {"log", required_argument, NULL, 'L'},
      {"mode", required_argument, NULL, 'm'},
      {"self-test", required_argument, NULL, 's'},
      {NULL, 0, NULL, 0}};
  static struct proxy p;
  p.udp = -1;
  const char *cert = NULL, *key = NULL, *listen = "127.0.0.1";
  const char *port_file = NULL, *log = NULL, *test = NULL;
  int port = 0, o;
  bool have_kdc = false;
  while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (o) {
    case 'c': cert = optarg; break;
    case 'k': key = optarg; break;
    case 'K':
      if (parse_kdc(&p, optarg) < 0) {
        fprintf(stderr, "h3_kdcproxy: --kdc wants HOST:PORT\n");
        return 2;
      }
      have_kdc = true;
      break;
    case 'l': listen = optarg; break;
    case 'p': port = atoi(optarg); break;
    case 'f': port_file = optarg; break;
    case 'L': log = optarg; break;
    case 'm':
      if (parse_mode(optarg, &p.mode) < 0) return 2;
      break;
    case 's': test = optarg; break;
    default: return 2;
    }
  }
  if (!have_kdc || (!test && (!cert || !key)) || port < 0 || port > 65535) {
    fprintf(stderr, "usage: h3_kdcproxy --cert PEM --key PEM --kdc "
            "HOST:PORT [--listen ADDR] [--port N] [--port-file F] "
            "[--log F] [--mode ok|status|type|garbage|oversize|reset]\n"
            "       h3_kdcproxy --kdc HOST:PORT [--mode M] --self-test "
            "BODYFILE\n");
    return 2;
  }
  if (test)
    return self_test(&p, test);
  if (log && !(p.log = fopen(log, "a"))) {
    fprintf(stderr, "h3_kdcproxy: cannot open %s\n", log);
    return 1;
  }
  int rc = serve(&p, cert, key, listen, port, port_file);
  if (p.log)
    fclose(p.log);
  if (p.udp >= 0)
    close(p.udp);
  gnutls_free(p.ticket_key.data);
  if (p.cred)
    gnutls_certificate_free_credentials(p.cred);
  return rc;
}
