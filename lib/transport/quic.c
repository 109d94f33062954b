/* SMB over QUIC transport (MS-SMB2 2.1): ALPN "smb", one client-initiated
 * bidirectional stream carrying the same Direct-TCP framed messages as
 * TCP port 445, on a QUIC connection of quic_conn.c (UDP, TLS 1.3 with
 * SNI = the server name, tickets, packets, timers, migration). This file
 * holds only what is about the SMB stream: its send chunks, the
 * single-copy receive path and the messages about the stream. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smbq/smbq_err.h"
#include "transport/quic_conn.h"
#include "transport/transport.h"

#define TX_CHUNK (256 * 1024)
#define TX_MAX_UNACKED (64u * 1024 * 1024) /* backpressure to the core */
#define STREAM_WINDOW (16u * 1024 * 1024)
#define CONN_WINDOW (32u * 1024 * 1024)

/* Stream data waiting for acknowledgement. ngtcp2 keeps pointers into it
 * for retransmission, so chunks never move; each is freed once fully
 * acknowledged. */
struct tx_chunk {
  struct tx_chunk *next;
  uint64_t off;  /* stream offset of data[0] */
  size_t len;
  uint8_t data[TX_CHUNK];
};

struct quic_transport {
  struct smbq_transport base;
  struct quic_conn *qc;
  int64_t stream_id;         /* the SMB stream, -1 until established */
  char host[256];
  /* send side */
  struct tx_chunk *tx_head, *tx_tail;
  uint64_t tx_end;           /* stream offset after the last byte queued */
  uint64_t tx_sent;          /* handed to ngtcp2 */
  uint64_t tx_acked;
  /* receive side: stream data goes straight into `sink` (the caller's
   * buffer, lent by quic_recv while it reads packets) and only what does
   * not fit, or arrives outside quic_recv, waits in rx */
  uint8_t *sink;
  size_t sink_cap, sink_len;
  uint8_t *rx;
  size_t rx_off, rx_len, rx_cap;
  bool peer_fin;
  struct quic_frame_pos frame; /* where the bytes handed up stand */
};

/* The connection failed: its message becomes the transport's. */
static int failed(struct quic_transport *q) {
  snprintf(q->base.errmsg, sizeof(q->base.errmsg), "%s",
           quic_conn_errmsg(q->qc));
  return quic_conn_error(q->qc);
}

/* ---- the application callbacks of quic_conn ------------------------------ */

/* Handshake done and ALPN "smb" agreed (MS-SMB2 2.1): open the stream. */
static int smb_established(void *user) {
  struct quic_transport *q = user;
  q->base.tls = *quic_conn_tls(q->qc);
  if (quic_conn_open_bidi(q->qc, &q->stream_id) < 0) {
    quic_conn_fail(q->qc, SMBQ_ERR_PROTO,
                   "QUIC server %s allows no bidirectional stream", q->host);
    return SMBQ_ERR_PROTO;
  }
  return 0;
}

static int rx_append(struct quic_transport *q, const uint8_t *d, size_t n) {
  if (q->rx_off > 0 && q->rx_off == q->rx_len) {
    q->rx_off = q->rx_len = 0;
  }
  if (q->rx_cap - q->rx_len < n) {
    if (q->rx_off > 0) { /* compact: our own buffer, safe to move */
      memmove(q->rx, q->rx + q->rx_off, q->rx_len - q->rx_off);
      q->rx_len -= q->rx_off;
      q->rx_off = 0;
    }
    size_t ncap = q->rx_cap ? q->rx_cap : 256 * 1024;
    while (ncap - q->rx_len < n)
      ncap *= 2;
    if (ncap > q->rx_cap) {
      uint8_t *nb = realloc(q->rx, ncap);
      if (!nb)
        return -1;
      q->rx = nb;
      q->rx_cap = ncap;
    }
  }
  memcpy(q->rx + q->rx_len, d, n);
  q->rx_len += n;
  return 0;
}

static int smb_recv(void *user, int64_t stream_id, const uint8_t *data,
                    size_t datalen, bool fin) {
  struct quic_transport *q = user;
  if (stream_id != q->stream_id)
    return 0; /* SMB uses one stream; ignore anything else */
  if (fin)
    q->peer_fin = true;
  /* ngtcp2 decrypted the packet into its own buffer and hands the bytes
   * over in order: copied once, into the core's receive buffer, when
   * quic_recv lends it and nothing older waits in rx */
  if (datalen == 0)
    return 0; /* a FIN alone (data may be NULL) */
  if (q->sink && q->rx_len == q->rx_off) {
    size_t n = q->sink_cap - q->sink_len < datalen ? q->sink_cap - q->sink_len
                                                   : datalen;
    memcpy(q->sink + q->sink_len, data, n);
    q->sink_len += n;
    if (q->sink_len == q->sink_cap) /* the rest of the batch can wait for
                                       the next buffer lent */
      quic_conn_pause(q->qc);
    data += n;
    datalen -= n;
  }
  if (datalen && rx_append(q, data, datalen) < 0) {
    quic_conn_fail(q->qc, SMBQ_ERR_NOMEM, "out of memory for the data "
                   "received from %s", q->host);
    return SMBQ_ERR_NOMEM;
  }
  return 0;
}

static void smb_acked(void *user, int64_t stream_id, uint64_t offset,
                      uint64_t datalen) {
  (void)stream_id;
  struct quic_transport *q = user;
  if (offset + datalen > q->tx_acked)
    q->tx_acked = offset + datalen;
  while (q->tx_head && q->tx_head->off + q->tx_head->len <= q->tx_acked &&
         q->tx_head->len == TX_CHUNK) {
    struct tx_chunk *c = q->tx_head;
    q->tx_head = c->next;
    if (!q->tx_head)
      q->tx_tail = NULL;
    free(c);
  }
}

static void smb_closed(void *user, int64_t stream_id, uint64_t app_error) {
  (void)app_error;
  struct quic_transport *q = user;
  if (stream_id == q->stream_id)
    q->peer_fin = true;
}

/* RESET_STREAM on the SMB stream (RFC 9000 19.4): the server abandoned
 * it, and with it the SMB connection. */
static void smb_reset(void *user, int64_t stream_id, uint64_t app_error) {
  struct quic_transport *q = user;
  if (stream_id == q->stream_id)
    quic_conn_fail(q->qc, SMBQ_ERR_CLOSED,
                   "QUIC server %s reset the QUIC stream (application error "
                   "0x%llx): it gave up the SMB connection",
                   q->host, (unsigned long long)app_error);
}

/* The queued bytes not yet handed to ngtcp2, chunk by chunk. */
static long smb_pull(void *user, int64_t *stream_id, bool *fin,
                     struct quic_vec *v, size_t max) {
  struct quic_transport *q = user;
  size_t n = 0;
  *fin = false; /* the client never ends the stream: it closes the
                   connection */
  for (struct tx_chunk *c = q->tx_head; c && n < max; c = c->next) {
    uint64_t end = c->off + c->len;
    if (end <= q->tx_sent)
      continue;
    size_t skip = q->tx_sent > c->off ? (size_t)(q->tx_sent - c->off) : 0;
    v[n].base = c->data + skip;
    v[n].len = c->len - skip;
    n++;
  }
  *stream_id = n ? q->stream_id : -1;
  return (long)n;
}

static void smb_consumed(void *user, int64_t stream_id, size_t len) {
  (void)stream_id;
  struct quic_transport *q = user;
  q->tx_sent += len;
}

/* No blocked/unblocked: while flow control holds the stream back, ngtcp2
 * refuses it at each packet and quic_conn sends the packet without
 * stream data; there is no other stream to offer instead. */
static const struct quic_conn_app smb_app = {
    .established = smb_established,
    .recv = smb_recv,
    .acked = smb_acked,
    .reset = smb_reset,
    .closed = smb_closed,
    .pull = smb_pull,
    .consumed = smb_consumed,
};

/* ---- transport ops ------------------------------------------------------- */

static int quic_step(struct smbq_transport *t, int64_t now_ms) {
  struct quic_transport *q = (struct quic_transport *)t;
  (void)now_ms;
  int rc = quic_conn_step(q->qc);
  return rc < 0 ? failed(q) : rc;
}

/* Copy up to len bytes into the tx chunks, as far as the unacked limit
 * allows. Returns the bytes taken, or SMBQ_ERR_NOMEM with none. */
static long queue_tx(struct quic_transport *q, const uint8_t *buf,
                     size_t len) {
  size_t taken = 0;
  while (taken < len && q->tx_end - q->tx_acked < TX_MAX_UNACKED) {
    struct tx_chunk *c = q->tx_tail;
    if (!c || c->len == TX_CHUNK) {
      c = malloc(sizeof(*c));
      if (!c)
        return taken ? (long)taken : SMBQ_ERR_NOMEM;
      c->next = NULL;
      c->off = q->tx_end;
      c->len = 0;
      if (q->tx_tail)
        q->tx_tail->next = c;
      else
        q->tx_head = c;
      q->tx_tail = c;
    }
    size_t n = TX_CHUNK - c->len;
    if (n > len - taken)
      n = len - taken;
    memcpy(c->data + c->len, buf + taken, n);
    c->len += n;
    q->tx_end += n;
    taken += n;
  }
  return (long)taken;
}

/* The pieces of a frame (a WRITE's header, then its data from the
 * caller's buffer) go into the chunks ngtcp2 references until ACKed:
 * the one copy the data takes on this path. */
static long quic_sendv(struct smbq_transport *t, const struct iovec *iov,
                       int n) {
  struct quic_transport *q = (struct quic_transport *)t;
  if (quic_conn_error(q->qc))
    return failed(q);
  long total = 0;
  for (int i = 0; i < n; i++) {
    long k = queue_tx(q, iov[i].iov_base, iov[i].iov_len);
    if (k < 0) {
      if (!total)
        return k;
      break;
    }
    total += k;
    if ((size_t)k < iov[i].iov_len)
      break;
  }
  if (quic_conn_flush(q->qc) < 0)
    return failed(q);
  return total;
}

static long quic_send(struct smbq_transport *t, const uint8_t *buf,
                      size_t len) {
  const struct iovec one = {(void *)buf, len};
  return quic_sendv(t, &one, 1);
}

/* The server ended the stream (FIN) and everything before it is handed
 * up: between two messages that is a plain close; inside one, the last
 * message was cut short. */
static void stream_ended(struct quic_transport *q) {
  const struct quic_frame_pos *f = &q->frame;
  if (f->hdr_got == 0)
    quic_conn_fail(q->qc, SMBQ_ERR_CLOSED,
                   "server %s closed the QUIC stream", q->host);
  else if (f->hdr_got < 4)
    quic_conn_fail(q->qc, SMBQ_ERR_CLOSED, "server %s closed the QUIC "
                   "stream inside a message header: its last message is "
                   "truncated", q->host);
  else
    quic_conn_fail(q->qc, SMBQ_ERR_CLOSED, "server %s closed the QUIC "
                   "stream inside a message: its last message is truncated "
                   "(%lu of %lu bytes)", q->host, (unsigned long)f->got,
                   (unsigned long)f->len);
}

/* Bytes already waiting in rx, into buf. */
static size_t take_rx(struct quic_transport *q, uint8_t *buf, size_t len) {
  size_t avail = q->rx_len - q->rx_off;
  size_t n = avail < len ? avail : len;
  if (n == 0)
    return 0; /* rx may not even exist yet */
  memcpy(buf, q->rx + q->rx_off, n);
  q->rx_off += n;
  return n;
}

static long quic_recv(struct smbq_transport *t, uint8_t *buf, size_t len) {
  struct quic_transport *q = (struct quic_transport *)t;
  size_t n = take_rx(q, buf, len);
  int rc = 0;
  if (n < len && !quic_conn_error(q->qc)) {
    q->sink = buf + n;
    q->sink_cap = len - n;
    q->sink_len = 0;
    rc = quic_conn_read(q->qc);
    n += q->sink_len;
    q->sink = NULL;
  }
  if (n == 0) {
    if (rc < 0)
      return failed(q);
    if (q->peer_fin || quic_conn_error(q->qc)) {
      if (!quic_conn_error(q->qc))
        stream_ended(q);
      return failed(q);
    }
    quic_conn_flush(q->qc);
    return 0;
  }
  quic_frame_feed(&q->frame, buf, n);
  /* the data is consumed: open the flow-control windows by as much */
  quic_conn_consumed(q->qc, q->stream_id, n);
  quic_conn_flush(q->qc);
  return (long)n;
}

static int quic_fd(const struct smbq_transport *t) {
  return quic_conn_fd(((const struct quic_transport *)t)->qc);
}

static uint32_t quic_events(const struct smbq_transport *t) {
  const struct quic_transport *q = (const struct quic_transport *)t;
  return SMBQ_TP_WANT_READ |
         (quic_conn_want_write(q->qc) ? SMBQ_TP_WANT_WRITE : 0) |
         (q->rx_len > q->rx_off || q->peer_fin || quic_conn_error(q->qc) ||
                  quic_conn_has_held(q->qc)
              ? SMBQ_TP_HAVE_DATA
              : 0);
}

static int64_t quic_deadline(const struct smbq_transport *t) {
  return quic_conn_deadline(((const struct quic_transport *)t)->qc);
}

static void quic_destroy(struct smbq_transport *t) {
  struct quic_transport *q = (struct quic_transport *)t;
  quic_conn_free(q->qc); /* first: ngtcp2 points into the chunks */
  while (q->tx_head) {
    struct tx_chunk *c = q->tx_head;
    q->tx_head = c->next;
    free(c);
  }
  free(q->rx);
  free(q);
}

/* Connection migration (RFC 9000 9.2), as after a change of the client's
 * address: see quic_conn_migrate. */
static int quic_migrate(struct smbq_transport *t) {
  struct quic_transport *q = (struct quic_transport *)t;
  int rc = quic_conn_migrate(q->qc);
  if (rc < 0) {
    snprintf(t->errmsg, sizeof(t->errmsg), "%s", quic_conn_errmsg(q->qc));
    return rc;
  }
  smbq_transport_set_local(t, quic_conn_fd(q->qc));
  return 0;
}

static void quic_replies_due(struct smbq_transport *t, bool due) {
  struct quic_transport *q = (struct quic_transport *)t;
  if (q->qc)
    quic_conn_expect_answer(q->qc, due);
}

static const struct smbq_transport_ops quic_ops = {
    .name = "quic",
    .step = quic_step,
    .send = quic_send,
    .sendv = quic_sendv,
    .recv = quic_recv,
    .fd = quic_fd,
    .events = quic_events,
    .deadline = quic_deadline,
    .destroy = quic_destroy,
    .migrate = quic_migrate,
    .replies_due = quic_replies_due,
};

/* ---- set-up --------------------------------------------------------------- */

int smbq_quic_open(const struct smbq_endpoint *ep, int64_t now_ms,
                   struct smbq_transport **out, char *err, size_t errlen) {
  (void)now_ms;
  struct quic_transport *q = calloc(1, sizeof(*q));
  if (!q)
    return SMBQ_ERR_NOMEM;
  q->base.ops = &quic_ops;
  q->base.encrypted = true;
  q->stream_id = -1;
  snprintf(q->host, sizeof(q->host), "%s", ep->host);
  const struct quic_conn_cfg cfg = {
      .ep = ep,
      .alpn = "smb", /* MS-SMB2 2.1 */
      .service = "SMB over QUIC",
      .fallback = "connect over TCP",
      .stream_window = STREAM_WINDOW,
      .conn_window = CONN_WINDOW,
      .peer_uni_streams = 0, /* the server opens no stream */
  };
  int rc = quic_conn_open(&cfg, &smb_app, q, &q->qc, err, errlen);
  if (rc < 0) {
    free(q);
    return rc;
  }
  snprintf(q->base.peer, sizeof(q->base.peer), "%s", quic_conn_peer(q->qc));
  smbq_transport_set_local(&q->base, quic_conn_fd(q->qc));
  *out = &q->base;
  return 0;
}

/* ---- pure helpers (unit-tested) ------------------------------------------ */

void quic_frame_feed(struct quic_frame_pos *f, const uint8_t *d, size_t n) {
  while (n) {
    if (f->hdr_got < 4) {
      /* MS-SMB2 2.1: a zero byte, then a 24-bit big-endian length */
      f->len = f->hdr_got == 0 ? 0 : (f->len << 8 | *d) & 0xFFFFFFu;
      f->hdr_got++;
      f->got = 0;
      d++;
      n--;
    } else {
      uint32_t take = f->len - f->got < n ? f->len - f->got : (uint32_t)n;
      f->got += take;
      d += take;
      n -= take;
    }
    if (f->hdr_got == 4 && f->got == f->len)
      f->hdr_got = 0; /* the frame is complete */
  }
}
