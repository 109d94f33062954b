/* HTTP/3 client session for the KDC proxy (RFC 9114 on nghttp3 0.8),
 * sans-I/O. The only file that includes nghttp3.h. */
#include "auth/http3.h"

#include <inttypes.h>
#include <nghttp3/nghttp3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/kdcproxy.h"
#include "smbq/smbq_err.h"

#define H3_DEFAULT_FIELD_SECTION (16u * 1024)
#define H3_CTYPE_MAX 128
#define H3_MSG_MAX 512

struct h3_req {
  struct h3_req *next;
  int64_t stream_id;
  uint8_t *req_body; /* our copy: nghttp3 and QUIC resend from it */
  size_t req_len;
  bool body_given; /* read_data handed it over */
  char *authority; /* for messages */
  bool done;
  int err;
  char errmsg[H3_MSG_MAX];
  int status;
  char ctype[H3_CTYPE_MAX];
  uint8_t *body; /* response body, malloc'd, at most max_body */
  size_t body_len, body_cap;
};

/* received bytes nghttp3 is done with, not yet returned to QUIC */
struct h3_credit {
  int64_t stream_id;
  size_t n;
};

struct h3_client {
  nghttp3_conn *conn;
  size_t max_body;
  char peer[256];
  bool bound;
  bool goaway;
  bool oom; /* a callback ran out of memory */
  int err;
  uint64_t app_error;
  char errmsg[H3_MSG_MAX];
  struct h3_req *reqs;
  struct h3_credit *credit;
  size_t n_credit, cap_credit;
};

/* ---- error texts (RFC 9114 8.1, RFC 9204 6) ---------------------------- */

struct h3_code_text {
  uint64_t code;
  const char *name;
  const char *what;
};

static const struct h3_code_text h3_codes[] = {
    {0x100, "H3_NO_ERROR", "no error"},
    {0x101, "H3_GENERAL_PROTOCOL_ERROR", "a protocol violation"},
    {0x102, "H3_INTERNAL_ERROR", "an internal error"},
    {0x103, "H3_STREAM_CREATION_ERROR", "a stream it may not open"},
    {0x104, "H3_CLOSED_CRITICAL_STREAM",
     "it closed its control or QPACK stream"},
    {0x105, "H3_FRAME_UNEXPECTED", "a frame where none is allowed"},
    {0x106, "H3_FRAME_ERROR", "a malformed frame"},
    {0x107, "H3_EXCESSIVE_LOAD", "excessive load"},
    {0x108, "H3_ID_ERROR", "a wrong stream or push id"},
    {0x109, "H3_SETTINGS_ERROR", "malformed SETTINGS"},
    {0x10a, "H3_MISSING_SETTINGS",
     "its control stream did not start with SETTINGS"},
    {0x10b, "H3_REQUEST_REJECTED", "request rejected unprocessed"},
    {0x10c, "H3_REQUEST_CANCELLED", "request cancelled"},
    {0x10d, "H3_REQUEST_INCOMPLETE", "request incomplete"},
    {0x10e, "H3_MESSAGE_ERROR", "a malformed HTTP message"},
    {0x10f, "H3_CONNECT_ERROR", "CONNECT failed"},
    {0x110, "H3_VERSION_FALLBACK", "HTTP/3 refused, use HTTPS"},
    {0x200, "QPACK_DECOMPRESSION_FAILED", "header fields it cannot decode"},
    {0x201, "QPACK_ENCODER_STREAM_ERROR", "a bad QPACK encoder stream"},
    {0x202, "QPACK_DECODER_STREAM_ERROR", "a bad QPACK decoder stream"},
};

static const struct h3_code_text *code_text(uint64_t code) {
  for (size_t i = 0; i < sizeof(h3_codes) / sizeof(h3_codes[0]); i++)
    if (h3_codes[i].code == code)
      return &h3_codes[i];
  return NULL;
}

/* "H3_REQUEST_REJECTED" or "error 0x1234" */
static void code_name(uint64_t code, char *buf, size_t len) {
  const struct h3_code_text *t = code_text(code);
  if (t)
    snprintf(buf, len, "%s", t->name);
  else
    snprintf(buf, len, "error 0x%" PRIx64, code);
}

/* ---- requests ---------------------------------------------------------- */

static struct h3_req *req_find(const struct h3_client *h3, int64_t id) {
  for (struct h3_req *r = h3->reqs; r; r = r->next)
    if (r->stream_id == id)
      return r;
  return NULL;
}

static void req_free(struct h3_req *r) {
  free(r->req_body);
  free(r->authority);
  free(r->body);
  free(r);
}

/* The first failure of a request stands; its partial body goes. */
static void req_fail(struct h3_req *r, int err, const char *msg) {
  if (r->done)
    return;
  r->done = true;
  r->err = err;
  snprintf(r->errmsg, sizeof(r->errmsg), "%s", msg);
  free(r->body);
  r->body = NULL;
  r->body_len = r->body_cap = 0;
}

/* The server broke HTTP/3 (liberr from nghttp3): the connection fails with
 * the code nghttp3 infers, and so does every unfinished request. */
static void conn_fail(struct h3_client *h3, int liberr) {
  if (h3->err)
    return;
  if (h3->oom)
    liberr = NGHTTP3_ERR_NOMEM;
  h3->err = liberr == NGHTTP3_ERR_NOMEM ? SMBQ_ERR_NOMEM : SMBQ_ERR_PROTO;
  h3->app_error = nghttp3_err_infer_quic_app_error_code(liberr);
  const struct h3_code_text *t = code_text(h3->app_error);
  if (h3->err == SMBQ_ERR_NOMEM)
    snprintf(h3->errmsg, sizeof(h3->errmsg),
             "out of memory in the HTTP/3 session with the KDC proxy %s",
             h3->peer);
  else
    snprintf(h3->errmsg, sizeof(h3->errmsg),
             "the KDC proxy %s broke HTTP/3 (%s: %s); its HTTP/3 service is "
             "faulty, reach it over HTTPS instead",
             h3->peer, t ? t->name : "H3_GENERAL_PROTOCOL_ERROR",
             t ? t->what : nghttp3_strerror(liberr));
  for (struct h3_req *r = h3->reqs; r; r = r->next)
    req_fail(r, h3->err, h3->errmsg);
}

static int credit_add(struct h3_client *h3, int64_t id, size_t n) {
  if (n == 0)
    return 0;
  for (size_t i = 0; i < h3->n_credit; i++) {
    if (h3->credit[i].stream_id == id) {
      h3->credit[i].n += n;
      return 0;
    }
  }
  if (h3->n_credit == h3->cap_credit) {
    size_t cap = h3->cap_credit ? 2 * h3->cap_credit : 8;
    struct h3_credit *c = realloc(h3->credit, cap * sizeof(*c));
    if (!c)
      return SMBQ_ERR_NOMEM;
    h3->credit = c;
    h3->cap_credit = cap;
  }
  h3->credit[h3->n_credit++] = (struct h3_credit){id, n};
  return 0;
}

/* ---- nghttp3 callbacks -------------------------------------------------- */

/* Callbacks may only fail with NGHTTP3_ERR_CALLBACK_FAILURE: remember why. */
static int cb_oom(struct h3_client *h3) {
  h3->oom = true;
  return NGHTTP3_ERR_CALLBACK_FAILURE;
}

static int cb_recv_data(nghttp3_conn *conn, int64_t id, const uint8_t *data,
                        size_t len, void *user, void *stream_user) {
  struct h3_client *h3 = user;
  struct h3_req *r = stream_user;
  /* DATA payload is ours to count for flow control (nghttp3_recv_data) */
  if (credit_add(h3, id, len) < 0)
    return cb_oom(h3);
  if (!r || r->done)
    return 0; /* a failed request: the rest is discarded */
  if (len > h3->max_body - r->body_len) {
    char msg[H3_MSG_MAX];
    bool kib = h3->max_body % 1024 == 0; /* a cap in bytes says so */
    snprintf(msg, sizeof(msg),
             "the KDC proxy %s sent more than %zu %s over HTTP/3",
             r->authority, kib ? h3->max_body / 1024 : h3->max_body,
             kib ? "KiB" : "bytes");
    req_fail(r, SMBQ_ERR_PROTO, msg);
    return 0;
  }
  if (r->body_len + len > r->body_cap) {
    size_t cap = r->body_cap ? r->body_cap : 4096;
    while (cap < r->body_len + len)
      cap *= 2;
    if (cap > h3->max_body)
      cap = h3->max_body;
    uint8_t *b = realloc(r->body, cap);
    if (!b)
      return cb_oom(h3);
    r->body = b;
    r->body_cap = cap;
  }
  memcpy(r->body + r->body_len, data, len);
  r->body_len += len;
  return 0;
}

static int cb_deferred_consume(nghttp3_conn *conn, int64_t id, size_t n,
                               void *user, void *stream_user) {
  return credit_add(user, id, n) < 0 ? cb_oom(user) : 0;
}

/* Printable copy: a header value may hold any visible octet (RFC 9110
 * 5.5); control bytes must not reach a terminal through a message. */
static void copy_printable(char *dst, size_t cap, const uint8_t *src,
                           size_t len) {
  size_t n = len < cap - 1 ? len : cap - 1;
  for (size_t i = 0; i < n; i++)
    dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? (char)src[i] : '?';
  dst[n] = '\0';
}

static int cb_recv_header(nghttp3_conn *conn, int64_t id, int32_t token,
                          nghttp3_rcbuf *name, nghttp3_rcbuf *value,
                          uint8_t flags, void *user, void *stream_user) {
  struct h3_req *r = stream_user;
  if (!r || r->done)
    return 0;
  nghttp3_vec v = nghttp3_rcbuf_get_buf(value);
  if (token == NGHTTP3_QPACK_TOKEN__STATUS) {
    /* nghttp3 checked it is 3 digits (RFC 9114 4.3.2); a new block (after
     * a 1xx) starts over */
    int st = 0;
    for (size_t i = 0; i < v.len; i++)
      st = st * 10 + (v.base[i] - '0');
    r->status = st;
    r->ctype[0] = '\0';
  } else if (token == NGHTTP3_QPACK_TOKEN_CONTENT_TYPE) {
    copy_printable(r->ctype, sizeof(r->ctype), v.base, v.len);
  }
  return 0;
}

static int cb_end_stream(nghttp3_conn *conn, int64_t id, void *user,
                         void *stream_user) {
  struct h3_req *r = stream_user;
  if (r && !r->done && r->status >= 200)
    r->done = true;
  return 0;
}

static int cb_stream_close(nghttp3_conn *conn, int64_t id, uint64_t app_error,
                           void *user, void *stream_user) {
  struct h3_req *r = stream_user;
  if (!r || r->done)
    return 0;
  char msg[H3_MSG_MAX], name[48];
  code_name(app_error, name, sizeof(name));
  snprintf(msg, sizeof(msg),
           "the KDC proxy %s ended the HTTP/3 request stream without a "
           "complete answer (%s)",
           r->authority, name);
  req_fail(r, SMBQ_ERR_PROTO, msg);
  return 0;
}

/* GOAWAY (RFC 9114 5.2): requests on stream id and above were not and
 * will not be processed; those below still get their answers. */
static int cb_shutdown(nghttp3_conn *conn, int64_t id, void *user) {
  struct h3_client *h3 = user;
  h3->goaway = true;
  for (struct h3_req *r = h3->reqs; r; r = r->next) {
    if (r->stream_id < id)
      continue;
    char msg[H3_MSG_MAX];
    snprintf(msg, sizeof(msg),
             "the KDC proxy %s is shutting down (HTTP/3 GOAWAY) and did not "
             "take the request; try again on a new connection",
             r->authority);
    req_fail(r, SMBQ_ERR_CLOSED, msg);
  }
  return 0;
}

static nghttp3_ssize cb_read_body(nghttp3_conn *conn, int64_t id,
                                  nghttp3_vec *vec, size_t veccnt,
                                  uint32_t *pflags, void *user,
                                  void *stream_user) {
  struct h3_req *r = stream_user;
  if (!r->body_given && r->req_len > 0 && veccnt == 0)
    return 0; /* no room this time: EOF only with the body */
  *pflags |= NGHTTP3_DATA_FLAG_EOF;
  if (r->body_given || r->req_len == 0)
    return 0;
  r->body_given = true;
  vec[0].base = r->req_body;
  vec[0].len = r->req_len;
  return 1;
}

/* ---- life cycle ---------------------------------------------------------- */

int h3_client_new(const struct h3_limits *lim, struct h3_client **out) {
  *out = NULL;
  struct h3_client *h3 = calloc(1, sizeof(*h3));
  if (!h3)
    return SMBQ_ERR_NOMEM;
  h3->max_body = lim && lim->max_body ? lim->max_body : KDCPROXY_MAX_REPLY;
  h3->app_error = NGHTTP3_H3_NO_ERROR;
  snprintf(h3->peer, sizeof(h3->peer), "%s", lim && lim->peer ? lim->peer : "");

  nghttp3_callbacks cb;
  memset(&cb, 0, sizeof(cb));
  cb.stream_close = cb_stream_close;
  cb.recv_data = cb_recv_data;
  cb.deferred_consume = cb_deferred_consume;
  cb.recv_header = cb_recv_header;
  cb.end_stream = cb_end_stream;
  cb.shutdown = cb_shutdown;

  nghttp3_settings s;
  nghttp3_settings_default(&s);
  s.max_field_section_size = lim && lim->max_field_section
                                 ? lim->max_field_section
                                 : H3_DEFAULT_FIELD_SECTION;
  /* no dynamic table either way: one or two small requests per
   * connection gain nothing from it (RFC 9204 3.2) */
  s.qpack_max_dtable_capacity = 0;
  s.qpack_encoder_max_dtable_capacity = 0;
  s.qpack_blocked_streams = 0;

  if (nghttp3_conn_client_new(&h3->conn, &cb, &s, NULL, h3) != 0) {
    free(h3);
    return SMBQ_ERR_NOMEM;
  }
  *out = h3;
  return 0;
}

void h3_client_free(struct h3_client *h3) {
  if (!h3)
    return;
  nghttp3_conn_del(h3->conn);
  while (h3->reqs) {
    struct h3_req *r = h3->reqs;
    h3->reqs = r->next;
    req_free(r);
  }
  free(h3->credit);
  free(h3);
}

static bool client_uni(int64_t id) { return id >= 0 && (id & 3) == 2; }
static bool client_bidi(int64_t id) { return id >= 0 && (id & 3) == 0; }

int h3_client_bind(struct h3_client *h3, int64_t ctrl_id, int64_t qenc_id,
                   int64_t qdec_id) {
  if (h3->bound || !client_uni(ctrl_id) || !client_uni(qenc_id) ||
      !client_uni(qdec_id))
    return SMBQ_ERR_INVAL;
  if (nghttp3_conn_bind_control_stream(h3->conn, ctrl_id) != 0 ||
      nghttp3_conn_bind_qpack_streams(h3->conn, qenc_id, qdec_id) != 0)
    return SMBQ_ERR_INVAL;
  h3->bound = true;
  return 0;
}

/* ---- requests ------------------------------------------------------------ */

static nghttp3_nv make_nv(const char *name, const char *value) {
  nghttp3_nv nv = {(uint8_t *)name, (uint8_t *)value, strlen(name),
                   strlen(value), NGHTTP3_NV_FLAG_NONE};
  return nv;
}

static struct h3_req *req_new(int64_t id, const char *authority,
                              const uint8_t *body, size_t len) {
  struct h3_req *r = calloc(1, sizeof(*r));
  if (!r)
    return NULL;
  r->stream_id = id;
  r->authority = strdup(authority);
  r->req_body = malloc(len ? len : 1);
  if (!r->authority || !r->req_body) {
    req_free(r);
    return NULL;
  }
  if (len)
    memcpy(r->req_body, body, len);
  r->req_len = len;
  return r;
}

int h3_client_post(struct h3_client *h3, int64_t stream_id,
                   const char *authority, const char *path,
                   const char *content_type, const uint8_t *body, size_t len) {
  if (!authority || !*authority || !path || !*path || !content_type ||
      !*content_type || (len && !body) || !client_bidi(stream_id) ||
      !h3->bound || req_find(h3, stream_id))
    return SMBQ_ERR_INVAL;
  if (h3->err || h3->goaway)
    return SMBQ_ERR_CLOSED;
  struct h3_req *r = req_new(stream_id, authority, body, len);
  if (!r)
    return SMBQ_ERR_NOMEM;
  char clen[24];
  snprintf(clen, sizeof(clen), "%zu", len);
  const nghttp3_nv nva[] = {
      make_nv(":method", "POST"),
      make_nv(":scheme", "https"),
      make_nv(":authority", authority),
      make_nv(":path", path),
      make_nv("content-type", content_type),
      make_nv("content-length", clen),
  };
  const nghttp3_data_reader dr = {cb_read_body};
  int rv = nghttp3_conn_submit_request(h3->conn, stream_id, nva,
                                       sizeof(nva) / sizeof(nva[0]), &dr, r);
  if (rv != 0) {
    req_free(r);
    return rv == NGHTTP3_ERR_NOMEM          ? SMBQ_ERR_NOMEM
           : rv == NGHTTP3_ERR_CONN_CLOSING ? SMBQ_ERR_CLOSED
                                            : SMBQ_ERR_INVAL;
  }
  if (!h3->peer[0])
    snprintf(h3->peer, sizeof(h3->peer), "%s", authority);
  r->next = h3->reqs;
  h3->reqs = r;
  return 0;
}

int h3_client_response(const struct h3_client *h3, int64_t stream_id,
                       struct h3_response *resp) {
  const struct h3_req *r = req_find(h3, stream_id);
  if (!r)
    return SMBQ_ERR_INVAL;
  resp->done = r->done;
  resp->err = r->err;
  resp->errmsg = r->err ? r->errmsg : "";
  resp->status = r->status;
  resp->content_type = r->ctype;
  resp->body = r->body;
  resp->body_len = r->body_len;
  return 0;
}

int h3_client_take_body(struct h3_client *h3, int64_t stream_id, uint8_t **body,
                        size_t *len) {
  struct h3_req *r = req_find(h3, stream_id);
  if (!r || !r->done)
    return SMBQ_ERR_INVAL;
  *body = r->body;
  *len = r->body_len;
  r->body = NULL;
  r->body_len = r->body_cap = 0;
  return 0;
}

/* "application/kerberos", any case, optionally followed by ';' and
 * parameters (RFC 9110 8.3.1); OWS around the type tolerated. */
int h3_kdcproxy_check(const struct h3_response *resp, const char *authority,
                      char *err, size_t errlen) {
  if (!resp->done)
    return SMBQ_ERR_INVAL;
  if (resp->err) {
    snprintf(err, errlen, "%s", resp->errmsg);
    return resp->err;
  }
  return kdcproxy_check_answer(authority, "HTTP/3", resp->status,
                               resp->content_type, resp->body_len, err,
                               errlen);
}

/* ---- the QUIC stream interface ----------------------------------------- */

int h3_client_recv(struct h3_client *h3, int64_t stream_id, const uint8_t *data,
                   size_t len, bool fin) {
  if (h3->err)
    return h3->err;
  nghttp3_ssize n =
      nghttp3_conn_read_stream(h3->conn, stream_id, data, len, fin);
  if (n < 0) {
    conn_fail(h3, (int)n);
    return h3->err;
  }
  if (credit_add(h3, stream_id, (size_t)n) < 0) {
    conn_fail(h3, NGHTTP3_ERR_NOMEM);
    return h3->err;
  }
  return 0;
}

bool h3_client_next_consumed(struct h3_client *h3, int64_t *stream_id,
                             size_t *n) {
  if (h3->n_credit == 0)
    return false;
  struct h3_credit c = h3->credit[--h3->n_credit];
  *stream_id = c.stream_id;
  *n = c.n;
  return true;
}

void h3_client_acked(struct h3_client *h3, int64_t stream_id, uint64_t offset,
                     uint64_t len) {
  if (h3->err)
    return;
  int rv = nghttp3_conn_add_ack_offset(h3->conn, stream_id, len);
  if (rv != 0)
    conn_fail(h3, rv);
}

void h3_client_reset(struct h3_client *h3, int64_t stream_id,
                     uint64_t app_error) {
  struct h3_req *r = req_find(h3, stream_id);
  if (r && !r->done) {
    char msg[H3_MSG_MAX], name[48];
    code_name(app_error, name, sizeof(name));
    snprintf(msg, sizeof(msg),
             "the KDC proxy %s reset the HTTP/3 request stream (%s)",
             r->authority, name);
    req_fail(r, SMBQ_ERR_NET, msg);
  }
  if (h3->err)
    return;
  int rv = nghttp3_conn_shutdown_stream_read(h3->conn, stream_id);
  if (rv != 0 && rv != NGHTTP3_ERR_STREAM_NOT_FOUND)
    conn_fail(h3, rv);
}

void h3_client_closed(struct h3_client *h3, int64_t stream_id,
                      uint64_t app_error) {
  if (!h3->err) {
    int rv = nghttp3_conn_close_stream(h3->conn, stream_id, app_error);
    if (rv != 0 && rv != NGHTTP3_ERR_STREAM_NOT_FOUND)
      conn_fail(h3, rv);
  }
  /* a stream nghttp3 never saw data on closes without its callback */
  struct h3_req *r = req_find(h3, stream_id);
  if (r && !r->done)
    cb_stream_close(h3->conn, stream_id, app_error, h3, r);
}

#define H3_PULL_VECS 16

long h3_client_pull(struct h3_client *h3, int64_t *stream_id, bool *fin,
                    struct h3_vec *v, size_t n) {
  *stream_id = -1;
  *fin = false;
  if (h3->err)
    return h3->err;
  nghttp3_vec tmp[H3_PULL_VECS];
  int pfin = 0;
  nghttp3_ssize cnt = nghttp3_conn_writev_stream(
      h3->conn, stream_id, &pfin, tmp, n < H3_PULL_VECS ? n : H3_PULL_VECS);
  if (cnt < 0) {
    *stream_id = -1;
    conn_fail(h3, (int)cnt);
    return h3->err;
  }
  for (nghttp3_ssize i = 0; i < cnt; i++)
    v[i] = (struct h3_vec){tmp[i].base, tmp[i].len};
  *fin = pfin != 0;
  return (long)cnt;
}

void h3_client_consumed(struct h3_client *h3, int64_t stream_id, size_t len) {
  if (h3->err)
    return;
  int rv = nghttp3_conn_add_write_offset(h3->conn, stream_id, len);
  if (rv != 0)
    conn_fail(h3, rv);
}

void h3_client_blocked(struct h3_client *h3, int64_t stream_id) {
  if (!h3->err)
    nghttp3_conn_block_stream(h3->conn, stream_id);
}

void h3_client_unblocked(struct h3_client *h3, int64_t stream_id) {
  if (h3->err)
    return;
  int rv = nghttp3_conn_unblock_stream(h3->conn, stream_id);
  if (rv != 0 && rv != NGHTTP3_ERR_STREAM_NOT_FOUND)
    conn_fail(h3, rv);
}

/* ---- connection state ---------------------------------------------------- */

int h3_client_error(const struct h3_client *h3) { return h3->err; }

const char *h3_client_errmsg(const struct h3_client *h3) { return h3->errmsg; }

uint64_t h3_client_app_error(const struct h3_client *h3) {
  return h3->app_error;
}

bool h3_client_goaway(const struct h3_client *h3) { return h3->goaway; }
