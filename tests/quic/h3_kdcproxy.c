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
 * QUIC (socket, connection ID routing, TLS with tickets, timers) is
 * quic_server.c's, shared with quic_front.c; this file is the HTTP/3
 * server on it (nghttp3) and the KDC proxy.
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
#include <errno.h>
#include <getopt.h>
#include <stdint.h> /* before krb5_asn1.h, which needs it */
#include <krb5_asn1.h>
#include <netdb.h>
#include <netinet/in.h>
#include <nghttp3/nghttp3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "auth/kdcproxy.h"
#include "quic_server.h"

#define MAX_STREAMS_BIDI 16
#define MAX_REQ_BODY (256u * 1024) /* an AS-REQ or TGS-REQ is a few KiB */
#define MAX_KDC_REPLY (1u << 20)   /* what the client accepts, too */
#define OVERSIZE_BODY (2u << 20)
#define KDC_TIMEOUT_S 5
#define MAX_VECS 16


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

/* One QUIC connection's HTTP/3 server: its state for quic_server (accept
 * .. gone). */
struct conn {
  const struct proxy *p;
  struct qsrv_conn *qc;
  nghttp3_conn *h3; /* from the end of the handshake */
  struct req *reqs;
};

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
  qsrv_conn_consume(c->qc, sid, n);
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
          qsrv_conn_resumed(c->qc) ? "yes" : "no", qsrv_conn_number(c->qc));
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
    return qsrv_conn_shutdown_stream(c->qc, sid,
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
  if (!(sid & 0x2)) /* a bidirectional stream (RFC 9000 2.1) */
    qsrv_conn_extend_streams_bidi(c->qc, 1);
  return 0;
}

static int h3_stop_sending(nghttp3_conn *h3, int64_t sid, uint64_t code,
                           void *cu, void *su) {
  (void)h3, (void)su;
  struct conn *c = cu;
  return qsrv_conn_shutdown_read(c->qc, sid, code) == 0
             ? 0
             : NGHTTP3_ERR_CALLBACK_FAILURE;
}

static int h3_reset_stream(nghttp3_conn *h3, int64_t sid, uint64_t code,
                           void *cu, void *su) {
  (void)h3, (void)su;
  struct conn *c = cu;
  return qsrv_conn_shutdown_write(c->qc, sid, code) == 0
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
  if (qsrv_conn_open_uni(c->qc, &ctrl) != 0 ||
      nghttp3_conn_bind_control_stream(c->h3, ctrl) != 0 ||
      qsrv_conn_open_uni(c->qc, &enc) != 0 ||
      qsrv_conn_open_uni(c->qc, &dec) != 0 ||
      nghttp3_conn_bind_qpack_streams(c->h3, enc, dec) != 0)
    return -1;
  return 0;
}



/* ---- the HTTP/3 server on quic_server -------------------------------------- */

/* nghttp3 failed: close the connection with its HTTP/3 error code. */
static int h3_fail(struct conn *c, int rv) {
  fprintf(stderr, "h3_kdcproxy: HTTP/3: %s\n", nghttp3_strerror(rv));
  qsrv_conn_close_app(c->qc, nghttp3_err_infer_quic_app_error_code(rv),
                      NULL);
  return -1;
}

static void *conn_accept(void *app, struct qsrv_conn *qc) {
  struct conn *c = calloc(1, sizeof(*c));
  if (!c)
    return NULL;
  c->p = app;
  c->qc = qc;
  return c;
}

static void conn_gone(void *cu) {
  struct conn *c = cu;
  while (c->reqs) {
    struct req *r = c->reqs;
    c->reqs = r->next;
    req_free(r);
  }
  if (c->h3)
    nghttp3_conn_del(c->h3);
  free(c);
}

static int conn_established(void *cu) {
  return setup_h3(cu);
}

static int conn_recv(void *cu, int64_t sid, const uint8_t *data, size_t len,
                     bool fin) {
  struct conn *c = cu;
  if (!c->h3)
    return -1; /* no 0-RTT: cannot happen */
  nghttp3_ssize n = nghttp3_conn_read_stream(c->h3, sid, data, len, fin);
  if (n < 0)
    return h3_fail(c, (int)n);
  credit(c, sid, (size_t)n);
  return 0;
}

static int conn_acked(void *cu, int64_t sid, uint64_t offset, uint64_t len) {
  (void)offset;
  struct conn *c = cu;
  return !c->h3 || nghttp3_conn_add_ack_offset(c->h3, sid, len) == 0 ? 0
                                                                    : -1;
}

static int conn_closed(void *cu, int64_t sid, uint64_t code, bool has_code) {
  struct conn *c = cu;
  if (!c->h3)
    return 0;
  int rv = nghttp3_conn_close_stream(c->h3, sid,
                                     has_code ? code : NGHTTP3_H3_NO_ERROR);
  if (rv == 0 || rv == NGHTTP3_ERR_STREAM_NOT_FOUND)
    return 0;
  return h3_fail(c, rv);
}

/* RESET_STREAM or STOP_SENDING from the client: nghttp3 stops reading. */
static int conn_reset(void *cu, int64_t sid, uint64_t code) {
  (void)code;
  struct conn *c = cu;
  return !c->h3 || nghttp3_conn_shutdown_stream_read(c->h3, sid) == 0 ? 0
                                                                      : -1;
}

static long conn_pull(void *cu, int64_t *sid, bool *fin, struct qsrv_vec *v,
                      size_t n) {
  struct conn *c = cu;
  if (!c->h3)
    return 0;
  nghttp3_vec vec[MAX_VECS];
  int f = 0;
  nghttp3_ssize nvec = nghttp3_conn_writev_stream(
      c->h3, sid, &f, vec, n < MAX_VECS ? n : MAX_VECS);
  if (nvec < 0)
    return h3_fail(c, (int)nvec);
  for (nghttp3_ssize k = 0; k < nvec; k++)
    v[k] = (struct qsrv_vec){vec[k].base, vec[k].len};
  *fin = f != 0;
  return (long)nvec;
}

static int conn_consumed(void *cu, int64_t sid, size_t len, bool fin) {
  (void)fin;
  struct conn *c = cu;
  int rv = nghttp3_conn_add_write_offset(c->h3, sid, len);
  return rv == 0 ? 0 : h3_fail(c, rv);
}

static int conn_blocked(void *cu, int64_t sid, bool shut) {
  struct conn *c = cu;
  if (shut)
    nghttp3_conn_shutdown_stream_write(c->h3, sid);
  else
    nghttp3_conn_block_stream(c->h3, sid);
  return 0;
}

static int conn_unblocked(void *cu, int64_t sid) {
  struct conn *c = cu;
  return !c->h3 || nghttp3_conn_unblock_stream(c->h3, sid) == 0 ? 0 : -1;
}

static void conn_max_streams_bidi(void *cu, uint64_t max) {
  struct conn *c = cu;
  if (c->h3)
    nghttp3_conn_set_max_client_streams_bidi(c->h3, max);
}

static const struct qsrv_app h3_app = {
    .accept = conn_accept,
    .established = conn_established,
    .recv = conn_recv,
    .acked = conn_acked,
    .reset = conn_reset,
    .closed = conn_closed,
    .pull = conn_pull,
    .consumed = conn_consumed,
    .blocked = conn_blocked,
    .unblocked = conn_unblocked,
    .max_streams_bidi = conn_max_streams_bidi,
    .gone = conn_gone,
};

/* ---- set-up ---------------------------------------------------------------- */

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

/* How the KDC proxy speaks QUIC; certificate, key, port file, address and
 * port come from the command line. */
static void quic_settings(struct qsrv_cfg *cfg, struct proxy *p) {
  /* RFC 9114 3.1: "h3", and nothing else */
  static const char *const alpn[] = {"h3"};
  cfg->name = "h3_kdcproxy";
  cfg->alpn = alpn;
  cfg->n_alpn = 1;
  cfg->max_streams_bidi = MAX_STREAMS_BIDI;
  cfg->max_streams_uni = 3; /* RFC 9114 6.2: control, QPACK x2 */
  cfg->stream_window_bidi = 1 << 20;
  cfg->stream_window_uni = 256 * 1024;
  cfg->conn_window = 4 << 20;
  cfg->idle_timeout_s = 30;
  cfg->cb = &h3_app;
  cfg->app = p;
}

int main(int argc, char **argv) {
  static const struct option opts[] = {
      QSRV_LONG_OPTIONS,
      {"kdc", required_argument, NULL, 'K'},
      {"listen", required_argument, NULL, 'l'},
      {"port", required_argument, NULL, 'p'},
      {"log", required_argument, NULL, 'L'},
      {"mode", required_argument, NULL, 'm'},
      {"self-test", required_argument, NULL, 's'},
      {NULL, 0, NULL, 0}};
  struct proxy p = {0};
  struct qsrv_cfg cfg = {.listen_addr = "127.0.0.1"};
  const char *log = NULL, *test = NULL;
  int o;
  bool have_kdc = false;
  while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (o) {
    case 'K':
      if (parse_kdc(&p, optarg) < 0) {
        fprintf(stderr, "h3_kdcproxy: --kdc wants HOST:PORT\n");
        return 2;
      }
      have_kdc = true;
      break;
    case 'l': cfg.listen_addr = optarg; break;
    case 'p': cfg.port = atoi(optarg); break;
    case 'L': log = optarg; break;
    case 'm':
      if (parse_mode(optarg, &p.mode) < 0) return 2;
      break;
    case 's': test = optarg; break;
    default:
      if (!qsrv_cfg_option(&cfg, o, optarg)) return 2;
      break;
    }
  }
  if (!have_kdc || (!test && (!cfg.cert_file || !cfg.key_file)) ||
      cfg.port < 0 || cfg.port > 65535) {
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
  quic_settings(&cfg, &p);
  int rc = qsrv_serve(&cfg);
  if (p.log)
    fclose(p.log);
  return rc;
}
