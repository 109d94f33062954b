/* libFuzzer harness: the HTTP/3 client of the KDC proxy (lib/auth/http3.c,
 * nghttp3 0.8 under it) and the KDC proxy answer checks on what it
 * received (h3_kdcproxy_check, lib/auth/kdcproxy.c).
 *
 * The harness plays lib/transport's quic_conn: it binds the client to the
 * client unidirectional streams 2, 6, 10, posts one or two requests, then
 * runs the input as a script of QUIC events, keeping the promises QUIC
 * makes (in-order bytes, nothing on a stream after its FIN, reset or
 * close, acknowledgements only of bytes taken, no data on streams the
 * server cannot open: RFC 9000 2, 3). It stops at the first connection
 * failure, as quic_conn closes the connection then.
 *
 * Input: a configuration byte, then records.
 *   config  bit 0: a second request on stream 4 from the start
 *           bits 1-2: body cap: default (1 MiB), 16, 300, 4096 bytes
 *           bit 3: SETTINGS_MAX_FIELD_SECTION_SIZE 64 (else default)
 *           bit 4: empty request bodies
 *           bit 5: no peer name (the first authority names it)
 *   record  op byte: kind = op & 7, a = op >> 3, then the kind's bytes
 *     0 DATA     stream RX[a & 7], FIN if a & 8; length u8, or u16 LE if
 *                a & 16; the bytes (fewer at the end of the input)
 *     1 RESET    RESET_STREAM on RX[a & 7], error CODES[a >> 3]
 *     2 CLOSED   stream (a & 8 ? TX : RX)[a & 7] closed, CODES[a >> 4]
 *     3 PULL     up to (a & 7) + 1 pulls, 1 vec each if a & 8 (else 16);
 *                QUIC takes half of each (rounded down) if a & 16
 *     4 ACK      of TX[a & 7]: every byte taken if a & 8, else half
 *                (rounded up) of those not yet acknowledged
 *     5 BLOCK    TX[a & 7] blocked, or unblocked if a & 8
 *     6 TAKE     the body of the request on stream REQ[a % 3], if done
 *     7 POST     a request on REQ[a % 3] (empty body if a & 4)
 *   RX = 3 7 11 (server control, QPACK encoder, decoder), 0 4 8
 *   (requests), 15 19 (server uni streams of unknown or repeated type);
 *   TX = 0 4 8 2 6 10 0 2; REQ = 0 4 8.
 *
 * Checked after every event: the connection's error is sticky and every
 * request failed with it, h3_client_response is consistent (a done
 * request does not change, a failure has a printable message, the body is
 * within the cap and readable), the flow-control credit handed back for a
 * stream never exceeds the bytes fed on it, pulls offer only our open
 * streams, and the bytes QUIC took stay unchanged until acknowledged.
 * At the end each request goes through h3_kdcproxy_check and its body is
 * taken; SMBQ_FUZZ_TRACE=1 prints how each ended (for writing seeds). */
#include <stdbool.h>
#include <strings.h>

#include "auth/http3.h"
#include "auth/kdcproxy.h"
#include "fuzz_util.h"
#include "smbq/smbq_err.h"

#define AUTH "kdc.smbq.test:443"
#define KPATH "/KdcProxy"
#define KTYPE "application/kerberos"

enum { C_CTRL = 2, C_QENC = 6, C_QDEC = 10 };
enum { K_DATA, K_RESET, K_CLOSED, K_PULL, K_ACK, K_BLOCK, K_TAKE, K_POST };

static const int64_t rx_ids[8] = {3, 7, 11, 0, 4, 8, 15, 19};
static const int64_t tx_ids[8] = {0, 4, 8, 2, 6, 10, 0, 2};
static const int64_t req_ids[3] = {0, 4, 8};
static const uint64_t codes[4] = {0x100 /* H3_NO_ERROR */,
                                  0x10b /* H3_REQUEST_REJECTED */,
                                  0x10c /* H3_REQUEST_CANCELLED */, 0x1f2a};
static const size_t caps[4] = {0, 16, 300, 4096};

#define MAX_ID 24 /* stream ids above are never used */
#define MAX_PIECES 64

/* Bytes QUIC took for sending and holds until acknowledged: the client
 * promised they stay unchanged (http3.h, h3_client_pull). */
struct piece {
  const uint8_t *p;
  uint8_t *copy;
  size_t len;
};

struct tx {
  size_t taken, acked; /* stream offsets */
  bool fin_taken;
  struct piece pc[MAX_PIECES];
  size_t n_pc;
  bool overflow; /* more pieces than we keep: stop checking this stream */
};

/* What a finished request showed, so that it cannot change later. */
struct seen {
  bool posted, done, taken;
  int err, status;
  size_t body_len;
  char ctype[160];
};

struct run {
  struct h3_client *h3;
  size_t cap;
  bool empty_bodies;
  uint64_t fed[MAX_ID], credit[MAX_ID];
  bool rx_over[MAX_ID]; /* FIN, reset or closed: QUIC delivers no more */
  bool closed[MAX_ID];
  struct tx tx[MAX_ID];
  struct seen req[3];
  bool goaway;
  int64_t last_post;
  bool trace; /* SMBQ_FUZZ_TRACE=1: how each request ended */
};

static const uint8_t req_body[] = {
    0x30, 0x1a, 0xa0, 0x0b, 0x04, 0x09, 0x00, 0x00, 0x00, 0x05,
    0x6a, 0x03, 0x02, 0x01, 0x05, 0xa1, 0x0b, 0x1b, 0x09, 'S',
    'M',  'B',  'Q',  '.',  'T',  'E',  'S',  'T'};

static int req_index(int64_t id) { return id == 0 ? 0 : id == 4 ? 1 : 2; }

static void drop_pieces(struct tx *t) {
  for (size_t i = 0; i < t->n_pc; i++)
    free(t->pc[i].copy);
  t->n_pc = 0;
}

static void printable(const char *s, const char *what) {
  for (const char *c = s; *c; c++)
    if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
      FUZZ_FAIL("%s holds byte 0x%02x", what, (unsigned char)*c);
}

/* ---- invariants ---------------------------------------------------------- */

static void check_request(struct run *r, int64_t id) {
  struct seen *s = &r->req[req_index(id)];
  struct h3_response resp;
  if (h3_client_response(r->h3, id, &resp) != 0) {
    if (s->posted)
      FUZZ_FAIL("request on stream %lld lost", (long long)id);
    return;
  }
  if (!s->posted)
    FUZZ_FAIL("a request on stream %lld never posted", (long long)id);
  if (!resp.errmsg || !resp.content_type)
    FUZZ_FAIL("NULL string in the response of stream %lld", (long long)id);
  printable(resp.content_type, "content type");
  printable(resp.errmsg, "request message");
  if (resp.err && (!resp.done || !resp.errmsg[0] || resp.body ||
                   resp.body_len))
    FUZZ_FAIL("failed request %lld: done %d, message \"%s\", body %zu",
              (long long)id, resp.done, resp.errmsg, resp.body_len);
  if (!resp.err && resp.errmsg[0])
    FUZZ_FAIL("message \"%s\" without error", resp.errmsg);
  if (resp.err > 0)
    FUZZ_FAIL("error %d is not an SMBQ_ERR_*", resp.err);
  if (resp.done && !resp.err && resp.status < 200)
    FUZZ_FAIL("request %lld done with status %d", (long long)id, resp.status);
  if (resp.status != 0 && (resp.status < 100 || resp.status > 999))
    FUZZ_FAIL("status %d", resp.status);
  if (resp.body_len > r->cap || (resp.body_len && !resp.body) ||
      (!resp.body_len && resp.body))
    FUZZ_FAIL("body %p of %zu bytes, cap %zu", (const void *)resp.body,
              resp.body_len, r->cap);
  fuzz_touch(resp.body, resp.body_len);
  if (!resp.done)
    return;
  if (!s->done) {
    s->done = true;
    s->err = resp.err;
    s->status = resp.status;
    s->body_len = resp.body_len;
    snprintf(s->ctype, sizeof(s->ctype), "%s", resp.content_type);
    return;
  }
  /* a finished request stays as it finished */
  if (resp.err != s->err || resp.status != s->status ||
      strcmp(resp.content_type, s->ctype) != 0 ||
      resp.body_len != (s->taken ? 0 : s->body_len))
    FUZZ_FAIL("request %lld changed after it was done: err %d->%d, status "
              "%d->%d, body %zu->%zu",
              (long long)id, s->err, resp.err, s->status, resp.status,
              s->body_len, resp.body_len);
}

static void check_all(struct run *r) {
  int64_t id;
  size_t n;
  while (h3_client_next_consumed(r->h3, &id, &n)) {
    if (id < 0 || id >= MAX_ID || n == 0)
      FUZZ_FAIL("credit of %zu for stream %lld", n, (long long)id);
    r->credit[id] += n;
    if (r->credit[id] > r->fed[id])
      FUZZ_FAIL("stream %lld: %llu bytes credited, %llu fed", (long long)id,
                (unsigned long long)r->credit[id],
                (unsigned long long)r->fed[id]);
  }
  int err = h3_client_error(r->h3);
  const char *msg = h3_client_errmsg(r->h3);
  uint64_t app = h3_client_app_error(r->h3);
  printable(msg, "connection message");
  if (err > 0 || (err && (!msg[0] || app == 0x100)) ||
      (!err && (msg[0] || app != 0x100)))
    FUZZ_FAIL("connection error %d, app error 0x%llx, message \"%s\"", err,
              (unsigned long long)app, msg);
  if (r->goaway && !h3_client_goaway(r->h3))
    FUZZ_FAIL("GOAWAY forgotten");
  r->goaway = h3_client_goaway(r->h3);
  for (int i = 0; i < 3; i++) {
    check_request(r, req_ids[i]);
    struct h3_response resp;
    if (err && h3_client_response(r->h3, req_ids[i], &resp) == 0 &&
        !resp.done)
      FUZZ_FAIL("connection failed, request %lld still open",
                (long long)req_ids[i]);
  }
  for (int id2 = 0; id2 < MAX_ID; id2++) {
    struct tx *t = &r->tx[id2];
    for (size_t i = 0; i < t->n_pc; i++)
      if (memcmp(t->pc[i].p, t->pc[i].copy, t->pc[i].len) != 0)
        FUZZ_FAIL("stream %d: bytes changed before their ACK", id2);
  }
}

/* ---- events ------------------------------------------------------------------ */

static void ev_data(struct run *r, struct fuzz_in *in, unsigned a) {
  int64_t id = rx_ids[a & 7];
  bool fin = a & 8;
  size_t want = (a & 16) ? fuzz_u16(in) : fuzz_u8(in), got;
  const uint8_t *p = fuzz_bytes(in, want, &got);
  /* QUIC delivers nothing on a request stream we did not open, or after
   * the stream's end */
  if (r->rx_over[id] || ((id & 3) == 0 && !r->req[req_index(id)].posted))
    return;
  uint8_t *d = fuzz_dup(p, got);
  r->fed[id] += got;
  h3_client_recv(r->h3, id, d, got, fin);
  free(d);
  if (fin)
    r->rx_over[id] = true;
}

static void ev_reset(struct run *r, unsigned a) {
  int64_t id = rx_ids[a & 7];
  if (r->rx_over[id] || ((id & 3) == 0 && !r->req[req_index(id)].posted))
    return;
  r->rx_over[id] = true;
  h3_client_reset(r->h3, id, codes[(a >> 3) & 3]);
}

static void ev_closed(struct run *r, unsigned a) {
  int64_t id = (a & 8) ? tx_ids[a & 7] : rx_ids[a & 7];
  if (r->closed[id] || ((id & 3) == 0 && !r->req[req_index(id)].posted))
    return;
  r->closed[id] = r->rx_over[id] = true;
  drop_pieces(&r->tx[id]); /* QUIC resends nothing of a closed stream */
  h3_client_closed(r->h3, id, codes[a >> 4]);
}

static void keep_piece(struct tx *t, const uint8_t *p, size_t len) {
  if (len == 0 || t->overflow)
    return;
  if (t->n_pc == MAX_PIECES) {
    t->overflow = true;
    drop_pieces(t);
    return;
  }
  fuzz_touch(p, len);
  t->pc[t->n_pc++] = (struct piece){p, fuzz_dup(p, len), len};
}

static void ev_pull(struct run *r, unsigned a) {
  for (unsigned k = 0; k <= (a & 7); k++) {
    int64_t id;
    bool fin;
    struct h3_vec v[16];
    long n = h3_client_pull(r->h3, &id, &fin, v, (a & 8) ? 1 : 16);
    if (n < 0) {
      if (id != -1 || !h3_client_error(r->h3))
        FUZZ_FAIL("pull failed with %ld, stream %lld, error %d", n,
                  (long long)id, h3_client_error(r->h3));
      return;
    }
    if (id == -1) {
      if (n || fin)
        FUZZ_FAIL("%ld vecs for no stream", n);
      return;
    }
    if (id < 0 || id >= MAX_ID || !((id & 3) == 0 || (id & 3) == 2) ||
        r->closed[id] || r->tx[id].fin_taken)
      FUZZ_FAIL("pull offers stream %lld", (long long)id);
    struct tx *t = &r->tx[id];
    size_t total = 0;
    for (long i = 0; i < n; i++) {
      if (!v[i].base && v[i].len)
        FUZZ_FAIL("NULL vec");
      fuzz_touch(v[i].base, v[i].len);
      total += v[i].len;
    }
    if (n == 0 && !fin)
      FUZZ_FAIL("nothing offered on stream %lld", (long long)id);
    size_t take = (a & 16) ? total / 2 : total;
    size_t left = take;
    for (long i = 0; i < n && left; i++) {
      size_t k2 = v[i].len < left ? v[i].len : left;
      keep_piece(t, v[i].base, k2);
      left -= k2;
    }
    t->taken += take;
    if (take == total && fin)
      t->fin_taken = true;
    h3_client_consumed(r->h3, id, take);
    if (h3_client_error(r->h3))
      return;
  }
}

static void ev_ack(struct run *r, unsigned a) {
  int64_t id = tx_ids[a & 7];
  struct tx *t = &r->tx[id];
  size_t out = t->taken - t->acked;
  if (r->closed[id] || out == 0)
    return;
  size_t n = (a & 8) ? out : (out + 1) / 2;
  h3_client_acked(r->h3, id, t->acked, n);
  t->acked += n;
  /* forget the pieces now acknowledged */
  size_t left = n;
  while (left && t->n_pc) {
    struct piece *pc = &t->pc[0];
    if (pc->len > left) {
      memmove(pc->copy, pc->copy + left, pc->len - left);
      pc->p += left;
      pc->len -= left;
      break;
    }
    left -= pc->len;
    free(pc->copy);
    memmove(&t->pc[0], &t->pc[1], (t->n_pc - 1) * sizeof(t->pc[0]));
    t->n_pc--;
  }
}

static void ev_block(struct run *r, unsigned a) {
  int64_t id = tx_ids[a & 7];
  if (r->closed[id])
    return;
  if (a & 8)
    h3_client_unblocked(r->h3, id);
  else
    h3_client_blocked(r->h3, id);
}

static void take(struct run *r, int64_t id) {
  struct seen *s = &r->req[req_index(id)];
  uint8_t *body = NULL;
  size_t len = 0;
  struct h3_response resp;
  bool known = h3_client_response(r->h3, id, &resp) == 0;
  int rc = h3_client_take_body(r->h3, id, &body, &len);
  if (!known || !resp.done) {
    if (rc != SMBQ_ERR_INVAL || body || len)
      FUZZ_FAIL("took a body of an unfinished request: %d", rc);
    return;
  }
  if (rc != 0 || len != resp.body_len || (len && !body) || (!len && body))
    FUZZ_FAIL("took %zu bytes (%d) of a body of %zu", len, rc, resp.body_len);
  if (len && memcmp(body, resp.body, len) != 0)
    FUZZ_FAIL("the body taken differs");
  free(body);
  s->taken = true;
}

static void post(struct run *r, int64_t id, bool empty) {
  struct seen *s = &r->req[req_index(id)];
  /* QUIC opens streams in order (RFC 9000 2.1): a lower unused id never
   * comes */
  if (!s->posted && id < r->last_post)
    return;
  bool empty_body = empty || r->empty_bodies;
  int rc = h3_client_post(r->h3, id, AUTH, KPATH, KTYPE,
                          empty_body ? NULL : req_body,
                          empty_body ? 0 : sizeof(req_body));
  if (s->posted) {
    if (rc != SMBQ_ERR_INVAL)
      FUZZ_FAIL("stream %lld posted twice: %d", (long long)id, rc);
    return;
  }
  if ((h3_client_error(r->h3) || h3_client_goaway(r->h3)) && rc == 0)
    FUZZ_FAIL("posted on a failed or closing connection");
  if (rc == 0) {
    s->posted = true;
    r->last_post = id;
  }
  else if (rc != SMBQ_ERR_CLOSED)
    FUZZ_FAIL("post on stream %lld: %d", (long long)id, rc);
}

/* ---- the end: the KDC proxy's checks, the body ------------------------------- */

static void finish(struct run *r) {
  for (int i = 0; i < 3; i++) {
    int64_t id = req_ids[i];
    struct h3_response resp;
    if (h3_client_response(r->h3, id, &resp) != 0)
      continue;
    char err[600] = "";
    int rc = h3_kdcproxy_check(&resp, AUTH, err, sizeof(err));
    printable(err, "check message");
    if (!resp.done) {
      if (rc != SMBQ_ERR_INVAL)
        FUZZ_FAIL("an unfinished answer checked %d", rc);
    } else if (rc == 0) {
      if (resp.err || resp.status != 200 || !resp.body_len ||
          !strcasestr(resp.content_type, KTYPE))
        FUZZ_FAIL("answer passed: err %d, status %d, type \"%s\", %zu "
                  "bytes",
                  resp.err, resp.status, resp.content_type, resp.body_len);
    } else if (rc > 0 || !err[0]) {
      FUZZ_FAIL("check refused (%d) with message \"%s\"", rc, err);
    } else if (resp.err && rc != resp.err) {
      FUZZ_FAIL("failed request %d checked %d", resp.err, rc);
    }
    if (r->trace)
      fprintf(stderr,
              "http3: stream %lld: done %d, err %d, status %d, type \"%s\", "
              "%zu bytes; check %d \"%s\"\n",
              (long long)id, resp.done, resp.err, resp.status,
              resp.content_type, resp.body_len, rc, err);
    take(r, id);
  }
  if (r->trace)
    fprintf(stderr, "http3: connection: error %d, GOAWAY %d, \"%s\"\n",
            h3_client_error(r->h3), h3_client_goaway(r->h3),
            h3_client_errmsg(r->h3));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct fuzz_in in = {data, size};
  uint8_t cfg = fuzz_u8(&in);
  struct run r;
  memset(&r, 0, sizeof(r));
  r.cap = caps[(cfg >> 1) & 3] ? caps[(cfg >> 1) & 3] : KDCPROXY_MAX_REPLY;
  r.empty_bodies = cfg & 16;
  r.trace = getenv("SMBQ_FUZZ_TRACE") != NULL;
  struct h3_limits lim = {.max_body = caps[(cfg >> 1) & 3],
                          .max_field_section = (cfg & 8) ? 64 : 0,
                          .peer = (cfg & 32) ? NULL : "fsedge1.smbq.test:443"};
  if (h3_client_new(&lim, &r.h3) != 0)
    FUZZ_FAIL("h3_client_new");
  if (h3_client_bind(r.h3, C_CTRL, C_QENC, C_QDEC) != 0)
    FUZZ_FAIL("h3_client_bind");
  post(&r, 0, false);
  if (cfg & 1)
    post(&r, 4, false);
  check_all(&r);

  while (in.n && !h3_client_error(r.h3)) {
    uint8_t op = fuzz_u8(&in);
    unsigned a = op >> 3;
    switch (op & 7) {
    case K_DATA:
      ev_data(&r, &in, a);
      break;
    case K_RESET:
      ev_reset(&r, a);
      break;
    case K_CLOSED:
      ev_closed(&r, a);
      break;
    case K_PULL:
      ev_pull(&r, a);
      break;
    case K_ACK:
      ev_ack(&r, a);
      break;
    case K_BLOCK:
      ev_block(&r, a);
      break;
    case K_TAKE:
      take(&r, req_ids[a % 3]);
      break;
    default:
      post(&r, req_ids[a % 3], a & 4);
      break;
    }
    check_all(&r);
  }
  finish(&r);
  check_all(&r);
  h3_client_free(r.h3);
  for (int i = 0; i < MAX_ID; i++)
    drop_pieces(&r.tx[i]);
  return 0;
}
