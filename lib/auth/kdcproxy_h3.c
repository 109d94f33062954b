/* The KDC proxy over HTTP/3: the sans-I/O HTTP/3 client (http3.c) on a
 * QUIC connection of lib/transport (quic_conn.c). See kdcproxy_h3.h. */
#include "auth/kdcproxy_h3.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/http3.h"
#include "auth/kdcproxy.h"
#include "smbq/smbq_err.h"
#include "transport/quic_conn.h"
#include "transport/transport.h"

/* Stream credit for the answers: a KDC answer is a few KiB, the proxy's
 * cap 1 MiB. */
#define H3_STREAM_WINDOW (KDCPROXY_MAX_REPLY + 64 * 1024)
#define H3_CONN_WINDOW (2 * H3_STREAM_WINDOW)
/* RFC 9114 6.2: the server's control stream and QPACK streams, and room
 * for stream types a server may add (6.2.3: skipped). */
#define H3_PEER_UNI_STREAMS 8

struct kp_h3 {
  struct quic_tickets *tickets; /* borrowed */
  struct quic_conn *qc;
  struct h3_client *h3;
  bool established;
  char host[256];
  uint16_t port;
  /* the request: posted once the connection is established */
  bool want_post;
  int64_t stream_id;           /* -1: none posted */
  const uint8_t *body;         /* borrowed until posted (h3 copies it) */
  size_t len;
  char url[512], authority[300], path[1024];
  int64_t deadline_ms;
  long timeout_ms;
  /* the outcome */
  bool done;
  int rc;
  uint8_t *answer;
  size_t answer_len;
  char errmsg[1300];
};

struct kp_h3 *kp_h3_new(struct quic_tickets *tickets) {
  struct kp_h3 *h = calloc(1, sizeof(*h));
  if (h) {
    h->tickets = tickets;
    h->stream_id = -1;
  }
  return h;
}

static void drop_conn(struct kp_h3 *h) {
  if (h->qc)
    quic_conn_free(h->qc);
  h3_client_free(h->h3);
  h->qc = NULL;
  h->h3 = NULL;
  h->established = false;
}

void kp_h3_free(struct kp_h3 *h) {
  if (!h)
    return;
  drop_conn(h);
  free(h->answer);
  free(h);
}

/* ---- ending a request ----------------------------------------------------- */

static int fail(struct kp_h3 *h, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct kp_h3 *h, int rc, const char *fmt, ...) {
  char why[700];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof(why), fmt, ap);
  va_end(ap);
  snprintf(h->errmsg, sizeof(h->errmsg), "KDC proxy %s: %s", h->url, why);
  h->done = true;
  h->rc = rc;
  h->want_post = false;
  return rc;
}

/* The connection failed: so does the request, with its reason. */
static int conn_failed(struct kp_h3 *h) {
  int rc = quic_conn_error(h->qc);
  char why[700];
  snprintf(why, sizeof(why), "%s", quic_conn_errmsg(h->qc));
  drop_conn(h);
  return fail(h, rc < 0 ? rc : SMBQ_ERR_NET, "%s", why);
}

/* ---- the QUIC connection's callbacks --------------------------------------- */

/* After each callback: the HTTP/3 layer's verdict, and the flow-control
 * credit of what it consumed. */
static int h3_after(struct kp_h3 *h) {
  int64_t sid;
  size_t n;
  while (h3_client_next_consumed(h->h3, &sid, &n))
    quic_conn_consumed(h->qc, sid, n);
  int err = h3_client_error(h->h3);
  if (err < 0)
    quic_conn_fail(h->qc, err, "%s", h3_client_errmsg(h->h3));
  return err;
}

static int post(struct kp_h3 *h) {
  int64_t sid;
  int rc = quic_conn_open_bidi(h->qc, &sid);
  if (rc < 0)
    return fail(h, rc, "the proxy allows no request stream now");
  rc = h3_client_post(h->h3, sid, h->authority, h->path,
                      "application/kerberos", h->body, h->len);
  if (rc < 0)
    return fail(h, rc, "%s", h3_client_errmsg(h->h3)[0]
                                 ? h3_client_errmsg(h->h3)
                                 : "cannot send the request");
  h->want_post = false;
  h->stream_id = sid;
  h->body = NULL;
  quic_conn_resume(h->qc, sid);
  return 0;
}

static int cb_established(void *user) {
  struct kp_h3 *h = user;
  int64_t ctrl, qenc, qdec;
  int rc = quic_conn_open_uni(h->qc, &ctrl);
  if (rc == 0)
    rc = quic_conn_open_uni(h->qc, &qenc);
  if (rc == 0)
    rc = quic_conn_open_uni(h->qc, &qdec);
  if (rc == 0)
    rc = h3_client_bind(h->h3, ctrl, qenc, qdec);
  if (rc < 0) {
    quic_conn_fail(h->qc, SMBQ_ERR_PROTO, "server %s allows no HTTP/3 "
                   "control streams (RFC 9114 6.2)", h->host);
    return rc;
  }
  h->established = true;
  quic_conn_resume(h->qc, ctrl);
  quic_conn_resume(h->qc, qenc);
  quic_conn_resume(h->qc, qdec);
  if (h->want_post)
    post(h); /* a failure ends the request, not the connection */
  return 0;
}

static int cb_recv(void *user, int64_t sid, const uint8_t *data, size_t len,
                   bool fin) {
  struct kp_h3 *h = user;
  h3_client_recv(h->h3, sid, data, len, fin);
  return h3_after(h);
}

static void cb_acked(void *user, int64_t sid, uint64_t off, uint64_t len) {
  struct kp_h3 *h = user;
  h3_client_acked(h->h3, sid, off, len);
}

static void cb_reset(void *user, int64_t sid, uint64_t app_error) {
  struct kp_h3 *h = user;
  h3_client_reset(h->h3, sid, app_error);
  h3_after(h);
}

static void cb_closed(void *user, int64_t sid, uint64_t app_error) {
  struct kp_h3 *h = user;
  h3_client_closed(h->h3, sid, app_error);
  h3_after(h);
}

static long cb_pull(void *user, int64_t *sid, bool *fin, struct quic_vec *v,
                    size_t n) {
  struct kp_h3 *h = user;
  _Static_assert(sizeof(struct quic_vec) == sizeof(struct h3_vec),
                 "http3.h's vector is quic_conn.h's");
  long k = h3_client_pull(h->h3, sid, fin, (struct h3_vec *)(void *)v, n);
  if (k < 0)
    h3_after(h);
  return k;
}

static void cb_consumed(void *user, int64_t sid, size_t len) {
  struct kp_h3 *h = user;
  h3_client_consumed(h->h3, sid, len);
}

static void cb_blocked(void *user, int64_t sid) {
  struct kp_h3 *h = user;
  h3_client_blocked(h->h3, sid);
}

static void cb_unblocked(void *user, int64_t sid) {
  struct kp_h3 *h = user;
  h3_client_unblocked(h->h3, sid);
}

static const struct quic_conn_app h3_app = {
    .established = cb_established,
    .recv = cb_recv,
    .acked = cb_acked,
    .reset = cb_reset,
    .closed = cb_closed,
    .pull = cb_pull,
    .consumed = cb_consumed,
    .blocked = cb_blocked,
    .unblocked = cb_unblocked,
};

/* ---- a request -------------------------------------------------------------- */

/* The kept connection serves the request when it goes to the same place
 * and can still take one. */
static bool reusable(const struct kp_h3 *h, const char *host, uint16_t port) {
  return h->qc && h->h3 && !quic_conn_error(h->qc) &&
         !h3_client_error(h->h3) && !h3_client_goaway(h->h3) &&
         h->port == port && strcmp(h->host, host) == 0;
}

static int open_conn(struct kp_h3 *h, const char *ca_file, long timeout_ms) {
  struct h3_limits lim = {.max_body = KDCPROXY_MAX_REPLY,
                          .peer = h->authority};
  if (h3_client_new(&lim, &h->h3) < 0)
    return fail(h, SMBQ_ERR_NOMEM, "cannot set up HTTP/3");
  struct smbq_endpoint ep = {.host = h->host, .port = h->port,
                             .timeout_ms = (uint32_t)timeout_ms,
                             .ca_file = ca_file, .tickets = h->tickets};
  struct quic_conn_cfg cfg = {.ep = &ep, .alpn = "h3",
                              .service = "the KDC proxy over HTTP/3",
                              .stream_window = H3_STREAM_WINDOW,
                              .conn_window = H3_CONN_WINDOW,
                              .peer_uni_streams = H3_PEER_UNI_STREAMS};
  char err[640] = "";
  int rc = quic_conn_open(&cfg, &h3_app, h, &h->qc, err, sizeof(err));
  if (rc < 0) {
    h->qc = NULL;
    drop_conn(h);
    return fail(h, rc, "%s", err);
  }
  return 0;
}

int kp_h3_start(struct kp_h3 *h, const char *url, const char *host,
                uint16_t udp_port, const char *path, const char *ca_file,
                long timeout_ms, const uint8_t *body, size_t len) {
  kp_h3_cancel(h);
  free(h->answer);
  h->answer = NULL;
  h->answer_len = 0;
  h->done = false;
  h->rc = 0;
  h->errmsg[0] = '\0';
  snprintf(h->url, sizeof(h->url), "%s", url);
  snprintf(h->path, sizeof(h->path), "%s", path);
  /* :authority is the URL's (RFC 9110 7.2), whatever UDP port Alt-Svc
   * named; the certificate is checked for the same host */
  uint16_t url_port;
  char uhost[256], upath[1024];
  if (kdcproxy_parse_url(url, uhost, sizeof(uhost), &url_port, upath,
                         sizeof(upath)) < 0)
    url_port = udp_port;
  snprintf(h->authority, sizeof(h->authority),
           strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, url_port);
  if (!reusable(h, host, udp_port)) {
    drop_conn(h);
    snprintf(h->host, sizeof(h->host), "%s", host);
    h->port = udp_port;
    if (open_conn(h, ca_file, timeout_ms) < 0)
      return h->rc;
  }
  h->body = body;
  h->len = len;
  h->want_post = true;
  h->timeout_ms = timeout_ms;
  h->deadline_ms = smbq_now_ms() + timeout_ms;
  if (h->established && post(h) < 0)
    return h->rc;
  return quic_conn_flush(h->qc) < 0 ? conn_failed(h) : 0;
}

void kp_h3_cancel(struct kp_h3 *h) {
  h->want_post = false;
  h->stream_id = -1;
  h->body = NULL;
}

int kp_h3_fd(const struct kp_h3 *h) { return h->qc ? quic_conn_fd(h->qc) : -1; }

bool kp_h3_want_write(const struct kp_h3 *h) {
  return h->qc && quic_conn_want_write(h->qc);
}

int64_t kp_h3_deadline_ms(const struct kp_h3 *h) {
  if (!h->qc)
    return -1;
  int64_t d = quic_conn_deadline(h->qc);
  int64_t ms = d < 0 ? -1 : (d + 999999) / 1000000;
  return ms < 0 || h->deadline_ms < ms ? h->deadline_ms : ms;
}

/* The request's answer, once complete, checked. */
static int judge(struct kp_h3 *h) {
  struct h3_response resp;
  if (h->stream_id < 0 ||
      h3_client_response(h->h3, h->stream_id, &resp) < 0 || !resp.done)
    return 0;
  char why[700];
  int rc = h3_kdcproxy_check(&resp, h->authority, why, sizeof(why));
  if (rc < 0) {
    snprintf(h->errmsg, sizeof(h->errmsg), "%s", why);
    h->done = true;
    return h->rc = rc;
  }
  h3_client_take_body(h->h3, h->stream_id, &h->answer, &h->answer_len);
  h->done = true;
  h->rc = 1;
  return 1;
}

int kp_h3_step(struct kp_h3 *h) {
  if (h->done)
    return h->rc;
  if (!h->qc || (!h->want_post && h->stream_id < 0))
    return 0;
  int rc;
  if (!h->established) {
    rc = quic_conn_step(h->qc);
    if (rc < 0)
      return conn_failed(h);
  } else if (quic_conn_read(h->qc) < 0 || quic_conn_timers(h->qc) < 0 ||
             quic_conn_flush(h->qc) < 0) {
    return conn_failed(h);
  }
  if (h->done) /* a post inside established() failed */
    return h->rc;
  rc = judge(h);
  if (rc != 0)
    return rc;
  if (smbq_now_ms() >= h->deadline_ms)
    return fail(h, SMBQ_ERR_TIMEOUT, "no answer within %ld s",
                h->timeout_ms / 1000);
  return 0;
}

void kp_h3_take(struct kp_h3 *h, uint8_t **body, size_t *len) {
  *body = h->answer;
  *len = h->answer_len;
  h->answer = NULL;
  h->answer_len = 0;
}

const char *kp_h3_errmsg(const struct kp_h3 *h) { return h->errmsg; }

bool kp_h3_resumed(const struct kp_h3 *h) {
  const struct smbq_tls_info *t = h->qc ? quic_conn_tls(h->qc) : NULL;
  return t && t->resumed;
}
