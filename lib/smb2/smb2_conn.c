/* The sans-I/O SMB2 connection core. See smb2_conn.h. */
#include "smb2/smb2_conn.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smb2/smb2_req_pool.h"
#include "smb2/smb2_secure.h"
#include "smb2/smb2_pdu.h"
#include "smbq/smbq_err.h"
#include "smbq_bytes.h"

#define NBSS_HDR SMB2_REQ_SPARE
#define INFLIGHT_BUCKETS 256
#define RECV_INITIAL (64 * 1024)
/* Our reads and writes are capped at 8 MiB; a reply frame carries one
 * such payload plus headers (and a transform header when encrypted). */
#define DEFAULT_MAX_FRAME (8u * 1024 * 1024 + 64 * 1024)
#define DEFAULT_TIMEOUT_MS 60000
#define CREDIT_TARGET 512
#define CREDIT_STEP 64
#define MAX_SECS 8

struct smb2_conn {
  struct smb2_conn_env env;
  /* send side */
  struct smb2_req *q_head, *q_tail; /* chains waiting for credits */
  struct smb2_req *rq_head, *rq_tail; /* SMB2_REQ_RESTORE chains: they go
                                         first, and alone while held */
  /* answered "session expired" (env.expired): pk holds whole chains,
   * pk_wait elements whose chain has replies still to come */
  struct smb2_req *pk_head, *pk_tail, *pk_wait;
  uint64_t next_mid;
  uint32_t credits;                 /* message ids we may still use */
  uint32_t inflight_charge;
  bool large_mtu;
  uint8_t *out;                     /* frame being sent: first piece */
  size_t out_len, out_sent;         /* out_sent: across both pieces */
  bool out_owned;                   /* else it is a request's own buffer,
                                       kept for sending again */
  const uint8_t *xd;                /* second piece: x_req's external data
                                       (smb2_req.data), or NULL */
  size_t x_len;
  bool x_owned;                     /* xd is the core's copy of the rest */
  struct smb2_req *x_req;           /* whose data xd is, until copied */
  bool cut;                         /* a frame was cut short (no memory
                                       to keep its data): nothing more may
                                       go on this transport */
  /* in flight, by message id, and by deadline (earliest first) */
  struct smb2_req *inflight[INFLIGHT_BUCKETS];
  struct smb2_req *dl_head, *dl_tail;
  size_t n_inflight, n_queued;
  size_t n_waiting; /* in flight without an interim reply */
  /* receive side */
  uint8_t *in;
  size_t in_len, in_cap;
  uint32_t max_frame;
  /* A READ reply whose data goes straight to its request's destination
   * (smb2_req.dst): its headers are in `in`, its data in dst. */
  struct smb2_req *dx_req;      /* NULL: none */
  const struct smb2_sec *dx_sec;/* its key, when it came encrypted */
  size_t dx_hdr;                /* bytes of `in` before the data: 4 +
                                   (52 if encrypted) + DataOffset */
  size_t dx_len, dx_got;        /* DataLength; how much has arrived */
  size_t dx_drop;               /* its request left (timeout): bytes of
                                   data still to come and be dropped */
  size_t n_direct;              /* READs with a destination in flight */
  bool rx_copy;                 /* the frame at in[0] is not one of those:
                                   it takes the ordinary path */
  size_t rx_need;               /* bytes of `in` needed to tell */
  /* sessions whose keys may be needed to decrypt a reply */
  const struct smb2_sec *secs[MAX_SECS];
  uint32_t timeout_ms;
  int64_t now_ms;
  struct smb2_conn_stats stats;
  bool dead;
  /* a lost connection being restored (smb2_conn_hold) */
  bool held;
  int refuse_err;
  unsigned restore_depth;
  /* silence: an ECHO after probe_ms without progress */
  uint32_t probe_ms;
  int64_t last_progress_ms;
  bool probing, path_dead;
  char errbuf[160];
};

/* ---- requests ---------------------------------------------------------- */

struct smb2_req *smb2_req_new(uint16_t command, size_t body_cap) {
  struct smb2_req *r = calloc(1, sizeof(*r));
  if (!r)
    return NULL;
  r->cap = NBSS_HDR + SMB2_HDR_SIZE + body_cap;
  r->buf = calloc(1, r->cap);
  if (!r->buf) {
    free(r);
    return NULL;
  }
  r->command = command;
  r->len = SMB2_HDR_SIZE;
  return r;
}

void smb2_req_free(struct smb2_req *r) {
  if (!r)
    return;
  if (r->pool && r->buf)
    smb2_req_pool_put(r->pool, r->buf, r->cap);
  else
    free(r->buf);
  free(r);
}

uint8_t *smb2_req_body(struct smb2_req *r) {
  return r->buf + NBSS_HDR + SMB2_HDR_SIZE;
}

size_t smb2_req_body_cap(const struct smb2_req *r) {
  return r->cap - NBSS_HDR - SMB2_HDR_SIZE;
}

void smb2_req_set_body_len(struct smb2_req *r, size_t len) {
  assert(len <= smb2_req_body_cap(r));
  r->len = SMB2_HDR_SIZE + len;
}

/* ---- connection -------------------------------------------------------- */

struct smb2_conn *smb2_conn_new(const struct smb2_conn_env *env) {
  struct smb2_conn *c = calloc(1, sizeof(*c));
  if (!c)
    return NULL;
  c->env = *env;
  c->credits = 1; /* MS-SMB2 3.2.3: a new connection starts with one */
  c->max_frame = DEFAULT_MAX_FRAME;
  c->timeout_ms = DEFAULT_TIMEOUT_MS;
  return c;
}

/* Run r's callback; what a restore request's callback submits restores
 * too (the next round of a session setup, the next tree). */
static void call_done(struct smb2_conn *c, struct smb2_req *r, int err,
                      uint32_t status, const uint8_t *msg, size_t len) {
  if (!r->done)
    return;
  bool restore = r->flags & SMB2_REQ_RESTORE;
  if (restore)
    c->restore_depth++;
  r->done(r->arg, err, status, msg, len);
  if (restore && c->restore_depth)
    c->restore_depth--;
}

static void fail_req(struct smb2_conn *c, struct smb2_req *r, int err) {
  call_done(c, r, err, 0, NULL, 0);
  smb2_req_free(r);
}

/* Fail every chain of a queue with err. */
static void fail_queue(struct smb2_conn *c, struct smb2_req **head,
                       struct smb2_req **tail, int err) {
  while (*head) {
    struct smb2_req *chain = *head;
    *head = chain->next;
    while (chain) {
      struct smb2_req *nx = chain->chain;
      c->n_queued--;
      fail_req(c, chain, err);
      chain = nx;
    }
  }
  *tail = NULL;
}

static void fail_parked(struct smb2_conn *c, int err);
static void dl_clear(struct smb2_conn *c);
static void unplace_all(struct smb2_conn *c);
static void keep_out(struct smb2_conn *c, struct smb2_req *r);
static void drop_out(struct smb2_conn *c);

void smb2_conn_abort(struct smb2_conn *c, int err) {
  c->dead = true;
  fail_parked(c, err);
  fail_queue(c, &c->rq_head, &c->rq_tail, err);
  fail_queue(c, &c->q_head, &c->q_tail, err);
  c->n_queued = 0;
  dl_clear(c);
  for (size_t i = 0; i < INFLIGHT_BUCKETS; i++) {
    while (c->inflight[i]) {
      struct smb2_req *r = c->inflight[i];
      c->inflight[i] = r->next;
      keep_out(c, r);
      fail_req(c, r, err);
    }
  }
  c->n_inflight = 0;
  c->inflight_charge = 0;
  unplace_all(c);
}

void smb2_conn_free(struct smb2_conn *c) {
  if (!c)
    return;
  smb2_conn_abort(c, SMBQ_ERR_CANCELLED);
  drop_out(c);
  free(c->in);
  free(c);
}

void smb2_conn_set_large_mtu(struct smb2_conn *c, bool on) {
  c->large_mtu = on;
}

void smb2_conn_set_timeout(struct smb2_conn *c, uint32_t ms) {
  c->timeout_ms = ms ? ms : DEFAULT_TIMEOUT_MS;
}

void smb2_conn_set_now(struct smb2_conn *c, int64_t now_ms) {
  c->now_ms = now_ms;
}

int64_t smb2_conn_time(const struct smb2_conn *c) { return c->now_ms; }

size_t smb2_conn_outstanding(const struct smb2_conn *c) {
  return c->n_inflight + c->n_queued;
}

uint32_t smb2_conn_credits(const struct smb2_conn *c) { return c->credits; }

void smb2_conn_get_stats(const struct smb2_conn *c,
                         struct smb2_conn_stats *s) {
  *s = c->stats;
}

const char *smb2_conn_last_error(const struct smb2_conn *c) {
  return c->errbuf[0] ? c->errbuf : "no error";
}

static void set_error(struct smb2_conn *c, const char *msg) {
  snprintf(c->errbuf, sizeof(c->errbuf), "%s", msg);
}

static int register_sec(struct smb2_conn *c, const struct smb2_sec *sec) {
  size_t free_slot = MAX_SECS;
  for (size_t i = 0; i < MAX_SECS; i++) {
    if (c->secs[i] == sec)
      return 0;
    if (!c->secs[i] && free_slot == MAX_SECS)
      free_slot = i;
  }
  if (free_slot == MAX_SECS)
    return SMBQ_ERR_INVAL;
  c->secs[free_slot] = sec;
  return 0;
}

/* MS-SMB2 3.2.4.1.5: CreditCharge = 1 + (payload - 1) / 65536. */
static uint16_t credit_charge(const struct smb2_conn *c,
                              const struct smb2_req *r) {
  if (!c->large_mtu || r->payload_size <= 65536)
    return 1;
  return (uint16_t)(1 + (r->payload_size - 1) / 65536);
}

static void enqueue(struct smb2_req **head, struct smb2_req **tail,
                    struct smb2_req *r) {
  r->next = NULL;
  if (*tail)
    (*tail)->next = r;
  else
    *head = r;
  *tail = r;
}

int smb2_conn_submit(struct smb2_conn *c, struct smb2_req *r,
                     int64_t now_ms) {
  if (c->dead)
    return SMBQ_ERR_CLOSED;
  if (!r)
    return SMBQ_ERR_INVAL;
  bool restore = c->restore_depth > 0 || (r->flags & SMB2_REQ_RESTORE);
  if (c->held && c->refuse_err && !restore)
    return c->refuse_err;
  c->now_ms = now_ms;
  for (struct smb2_req *e = r; e; e = e->chain) {
    if (e->sec && e->sec->encrypt && register_sec(c, e->sec) < 0)
      return SMBQ_ERR_INVAL;
    /* the preauth hash covers the request buffer only; a NEGOTIATE or
     * SESSION_SETUP never has external data */
    if ((e->data_len && (!e->data || e->preauth)) ||
        e->data_len > UINT32_MAX - e->len)
      return SMBQ_ERR_INVAL;
  }
  struct smb2_req *prev = NULL;
  for (struct smb2_req *e = r; e; e = e->chain) {
    e->charge = credit_charge(c, e);
    e->deadline_ms = now_ms + c->timeout_ms;
    e->related = (e != r);
    e->chain_prev = prev;
    if (restore)
      e->flags |= SMB2_REQ_RESTORE;
    prev = e;
    c->n_queued++;
  }
  if (restore)
    enqueue(&c->rq_head, &c->rq_tail, r);
  else
    enqueue(&c->q_head, &c->q_tail, r);
  return 0;
}

/* ---- CANCEL ---------------------------------------------------------------- */

/* MS-SMB2 3.2.4.24: a CANCEL for r, which is failing locally: same
 * MessageId (or AsyncId when the server made it async), session and tree,
 * no credit charged and none asked for, no reply to wait for. Queued
 * ahead of the chains waiting for credits. Best effort: without memory
 * the server just finishes the request. */
static void queue_cancel(struct smb2_conn *c, const struct smb2_req *r) {
  if (c->held || (r->flags & SMB2_REQ_PROBE))
    return; /* its connection is gone; an ECHO needs none */
  struct smb2_req *x = smb2_req_new(SMB2_CANCEL, 4);
  if (!x)
    return;
  smb2_req_set_body_len(x, (size_t)smb2_encode_empty_req(smb2_req_body(x),
                                                         4));
  x->flags = SMB2_REQ_CANCEL;
  x->message_id = r->message_id;
  x->async_id = r->async_id;
  x->pending = r->pending;
  x->tree_id = r->tree_id;
  x->sec = r->sec;
  x->next = c->q_head;
  c->q_head = x;
  if (!c->q_tail)
    c->q_tail = x;
  c->n_queued++;
}

int smb2_conn_submit_now(struct smb2_conn *c, struct smb2_req *r,
                         smb2_done_fn done, void *arg) {
  r->done = done;
  r->arg = arg;
  int rc = smb2_conn_submit(c, r, c->now_ms);
  if (rc < 0)
    smb2_req_free(r);
  return rc;
}

/* ---- in-flight table ---------------------------------------------------- */

/* The deadline list: a request's deadline is almost always now plus the
 * one timeout, so inserting from the tail is O(1) and the earliest
 * deadline is the head; smb2_conn_tick looks at expired ones only, not
 * at everything in flight. An ECHO probe's shorter deadline walks back a
 * few places. */
static void dl_insert(struct smb2_conn *c, struct smb2_req *r) {
  struct smb2_req *at = c->dl_tail;
  while (at && at->deadline_ms > r->deadline_ms)
    at = at->dl_prev;
  r->dl_prev = at;
  r->dl_next = at ? at->dl_next : c->dl_head;
  if (r->dl_next)
    r->dl_next->dl_prev = r;
  else
    c->dl_tail = r;
  if (at)
    at->dl_next = r;
  else
    c->dl_head = r;
  r->in_dl = true;
}

static void dl_unlink(struct smb2_conn *c, struct smb2_req *r) {
  if (!r->in_dl)
    return;
  if (r->dl_prev)
    r->dl_prev->dl_next = r->dl_next;
  else
    c->dl_head = r->dl_next;
  if (r->dl_next)
    r->dl_next->dl_prev = r->dl_prev;
  else
    c->dl_tail = r->dl_prev;
  r->dl_prev = r->dl_next = NULL;
  r->in_dl = false;
}

/* The in-flight table is emptied wholesale (abort, hold): so is the list. */
static void dl_clear(struct smb2_conn *c) {
  for (struct smb2_req *r = c->dl_head, *nx; r; r = nx) {
    nx = r->dl_next;
    r->dl_prev = r->dl_next = NULL;
    r->in_dl = false;
  }
  c->dl_head = c->dl_tail = NULL;
  c->n_waiting = 0;
}

static void detach(struct smb2_req *r);

/* r leaves the in-flight table: a reply being placed into its
 * destination must not write there any more (the caller may free it
 * once r fails): the rest of its data is dropped as it comes. */
static void unplace(struct smb2_conn *c, struct smb2_req *r) {
  if (r->dst)
    c->n_direct--;
  if (r != c->dx_req)
    return;
  c->dx_req = NULL;
  c->dx_drop = c->dx_len - c->dx_got;
}

/* Nothing in flight any more (abort, hold). */
static void unplace_all(struct smb2_conn *c) {
  c->n_direct = 0;
  c->dx_req = NULL;
  c->dx_drop = 0;
  c->rx_copy = false;
  c->rx_need = 0;
}

static void drop_out(struct smb2_conn *c) {
  if (c->out_owned)
    free(c->out);
  if (c->x_owned)
    free((void *)c->xd);
  c->out = NULL;
  c->xd = NULL;
  c->x_req = NULL;
  c->out_owned = c->x_owned = false;
  c->out_len = c->x_len = c->out_sent = 0;
}

/* The rest of the frame being sent must not read r's external data any
 * more (r completes or is parked, and its caller may then reuse the
 * buffer): copy what is still unsent of it. Without memory the frame
 * cannot be finished: it is cut, and the transport must go. */
static void own_data(struct smb2_conn *c) {
  size_t done = c->out_sent > c->out_len ? c->out_sent - c->out_len : 0;
  size_t rest = c->x_len - done;
  uint8_t *copy = malloc(rest ? rest : 1);
  if (!copy) {
    set_error(c, "out of memory keeping a request's unsent data");
    drop_out(c);
    c->cut = true;
    c->path_dead = true;
    return;
  }
  memcpy(copy, c->xd + done, rest);
  c->xd = copy;
  c->x_len = rest;
  c->out_sent -= done;
  c->x_owned = true;
  c->x_req = NULL;
}

/* r's memory stops being r's business of the frame being sent: the frame
 * keeps r's buffer (which r gives up) and a copy of its unsent data. */
static void keep_out(struct smb2_conn *c, struct smb2_req *r) {
  if (c->out && !c->out_owned && c->out == r->buf) {
    r->buf = NULL;
    c->out_owned = true;
  }
  if (c->xd && c->x_req == r)
    own_data(c);
}

/* r leaves the in-flight table: its chain can no longer be sent again,
 * and a frame still being sent from its buffer keeps that buffer (a
 * timeout, or a server answering before it had the whole request). */
static void leave_inflight(struct smb2_conn *c, struct smb2_req *r) {
  unplace(c, r);
  dl_unlink(c, r);
  if (!r->pending)
    c->n_waiting--;
  c->n_inflight--;
  c->inflight_charge -= r->charge;
  detach(r);
  keep_out(c, r);
}

/* r leaves the table to be parked: its chain stays as it is. */
static void inflight_remove(struct smb2_conn *c, struct smb2_req *r) {
  for (struct smb2_req **pp = &c->inflight[r->message_id % INFLIGHT_BUCKETS];
       *pp; pp = &(*pp)->next)
    if (*pp == r) {
      *pp = r->next;
      break;
    }
  r->next = NULL;
  unplace(c, r);
  dl_unlink(c, r);
  if (!r->pending)
    c->n_waiting--;
  c->n_inflight--;
  c->inflight_charge -= r->charge;
  keep_out(c, r);
}

static void inflight_add(struct smb2_conn *c, struct smb2_req *r) {
  size_t b = r->message_id % INFLIGHT_BUCKETS;
  r->next = c->inflight[b];
  c->inflight[b] = r;
  dl_insert(c, r);
  if (!r->pending)
    c->n_waiting++;
  if (r->dst)
    c->n_direct++;
  c->n_inflight++;
  c->inflight_charge += r->charge;
}

/* Take r out of its bucket (the caller then calls leave_inflight). */
static void inflight_unlink(struct smb2_conn *c, struct smb2_req *r) {
  for (struct smb2_req **pp = &c->inflight[r->message_id % INFLIGHT_BUCKETS];
       *pp; pp = &(*pp)->next)
    if (*pp == r) {
      *pp = r->next;
      break;
    }
  r->next = NULL;
}

static struct smb2_req *inflight_take(struct smb2_conn *c, uint64_t mid) {
  struct smb2_req **pp = &c->inflight[mid % INFLIGHT_BUCKETS];
  for (; *pp; pp = &(*pp)->next) {
    struct smb2_req *r = *pp;
    if (r->message_id != mid)
      continue;
    *pp = r->next;
    r->next = NULL;
    leave_inflight(c, r);
    return r;
  }
  return NULL;
}

static struct smb2_req *inflight_find(struct smb2_conn *c, uint64_t mid) {
  for (struct smb2_req *r = c->inflight[mid % INFLIGHT_BUCKETS]; r;
       r = r->next)
    if (r->message_id == mid)
      return r;
  return NULL;
}

/* An element of a chain is answered (or failed) on its own: the others
 * can no longer be sent again as the chain they were (a later element
 * may use the file the first one opened). Unlinked, so that no pointer
 * to it stays. */
static void detach(struct smb2_req *r) {
  if (!r->chain && !r->chain_prev)
    return;
  struct smb2_req *h = r;
  while (h->chain_prev)
    h = h->chain_prev;
  for (struct smb2_req *e = h; e; e = e->chain)
    e->orphan = e != r;
  if (r->chain_prev)
    r->chain_prev->chain = r->chain;
  if (r->chain)
    r->chain->chain_prev = r->chain_prev;
  r->chain = r->chain_prev = NULL;
}

/* ---- send side ---------------------------------------------------------- */

static uint16_t chain_charge(const struct smb2_req *r) {
  uint32_t sum = 0;
  for (; r; r = r->chain)
    sum += r->charge;
  return (uint16_t)(sum > 0xFFFF ? 0xFFFF : sum);
}

static size_t pad8(size_t n) { return (n + 7) & ~(size_t)7; }

/* Credits to ask for: the charge, plus growth toward the target window. */
static uint16_t credit_request(const struct smb2_conn *c, uint16_t charge) {
  uint32_t window = c->credits + c->inflight_charge;
  uint32_t want = charge;
  if (window < CREDIT_TARGET) {
    uint32_t grow = CREDIT_TARGET - window;
    want += grow < CREDIT_STEP ? grow : CREDIT_STEP;
  }
  return (uint16_t)want;
}

static bool want_sign(const struct smb2_req *r) {
  const struct smb2_sec *s = r->sec;
  return s && s->sign && !s->encrypt && !(r->flags & SMB2_REQ_NO_SIGN);
}

/* Write the header of one element (at msg, elem_len bytes incl. padding,
 * followed on the wire by x_len bytes at x: a lone request's external
 * data) and sign it. */
static int finish_element(struct smb2_conn *c, struct smb2_req *r,
                          uint8_t *msg, size_t elem_len, const uint8_t *x,
                          size_t x_len, bool last) {
  struct smb2_hdr h;
  memset(&h, 0, sizeof(h));
  bool cancel = r->flags & SMB2_REQ_CANCEL;
  h.credit_charge = c->large_mtu && !cancel ? r->charge : 0;
  h.command = r->command;
  h.credits = cancel ? 0 : credit_request(c, r->charge);
  h.flags = r->hdr_flags | (r->related ? SMB2_FLAGS_RELATED_OPERATIONS : 0);
  if (cancel && r->pending) {
    h.flags |= SMB2_FLAGS_ASYNC_COMMAND;
    h.async_id = r->async_id;
  }
  h.next_command = last ? 0 : (uint32_t)elem_len;
  h.message_id = r->message_id;
  h.process_id = 0xFEFF;
  h.tree_id = r->tree_id;
  h.session_id = r->sec ? r->sec->session_id : 0;
  if (want_sign(r))
    h.flags |= SMB2_FLAGS_SIGNED;
  smb2_hdr_encode(msg, &h);
  if (r->preauth) {
    int rc = smb2_preauth_update(r->preauth, msg, r->len);
    if (rc < 0)
      return rc;
  }
  if (!(h.flags & SMB2_FLAGS_SIGNED))
    return 0;
  /* MS-SMB2 3.1.4.1: the signature covers the whole message, the data
   * included, read where it lies */
  const struct smb2_crypto_buf data = {x, x_len};
  return smb2_sign_iov(r->sec->signing_alg, r->sec->keys.signing, msg,
                       elem_len, &data, x_len ? 1 : 0);
}

static void make_nonce(struct smb2_sec *s, uint8_t *nonce, size_t n) {
  /* MS-SMB2 3.2.4.1.8: the nonce must be unique per key. A per-session
   * random salt plus a counter guarantees that without randomness per
   * message. */
  uint64_t ctr = ++s->nonce_counter;
  size_t salt_len = n - 8;
  memcpy(nonce, s->nonce_salt, salt_len);
  smbq_put_le64(nonce + salt_len, ctr);
}

/* Encrypt in place (MS-SMB2 3.1.4.3): the frame holds the Direct-TCP
 * header, room for the transform header, then the messages. */
static int encrypt_frame(struct smb2_conn *c, struct smb2_sec *sec,
                         uint8_t *frame, size_t len) {
  uint8_t *out = frame + NBSS_HDR;
  size_t plain = len - NBSS_HDR - SMB2_TRANSFORM_HDR_SIZE;
  uint8_t nonce[16] = {0};
  make_nonce(sec, nonce, smb2_cipher_nonce_len(sec->cipher));
  int rc = smb2_encrypt(sec->cipher, sec->keys.encrypt, sec->session_id,
                        nonce, out + SMB2_TRANSFORM_HDR_SIZE, plain, out);
  if (rc < 0)
    set_error(c, "encryption of a request failed");
  return rc;
}

/* A message as it goes on the wire: buffer plus external data. */
static size_t msg_len(const struct smb2_req *r) { return r->len + r->data_len; }

/* Lay a frame out. A lone unencrypted request is sent from its own buffer
 * and its external data where they lie (the hot READ/WRITE path copies
 * nothing, and the request keeps its bytes until its reply, to be sent
 * again after a reconnect). A chain, or an encrypted request, is gathered
 * into one new buffer (*owned), external data included, with `lead`
 * bytes of room for the transform header before the messages so that
 * encryption works in place: one copy. */
static int build_frame(struct smb2_conn *c, struct smb2_req *head,
                       size_t lead, uint8_t **frame, size_t *flen,
                       bool *owned) {
  *owned = false;
  if (!head->chain && !lead) {
    *frame = head->buf;
    *flen = NBSS_HDR + head->len;
    return finish_element(c, head, *frame + NBSS_HDR, head->len, head->data,
                          head->data_len, true);
  }
  *owned = true;
  size_t total = 0;
  for (struct smb2_req *r = head; r; r = r->chain)
    total += r->chain ? pad8(msg_len(r)) : msg_len(r);
  uint8_t *f = malloc(NBSS_HDR + lead + total);
  if (!f)
    return SMBQ_ERR_NOMEM;
  size_t off = NBSS_HDR + lead;
  for (struct smb2_req *r = head; r; r = r->chain) {
    size_t mlen = msg_len(r);
    size_t elen = r->chain ? pad8(mlen) : mlen;
    memcpy(f + off, r->buf + NBSS_HDR, r->len);
    if (r->data_len)
      memcpy(f + off + r->len, r->data, r->data_len);
    memset(f + off + mlen, 0, elen - mlen); /* 3.2.4.1.4: 8-byte aligned */
    int rc = finish_element(c, r, f + off, elen, NULL, 0, r->chain == NULL);
    if (rc < 0) {
      free(f);
      return rc;
    }
    off += elen;
  }
  *frame = f;
  *flen = NBSS_HDR + lead + total;
  return 0;
}

static void assign_ids(struct smb2_conn *c, struct smb2_req *head) {
  for (struct smb2_req *r = head; r; r = r->chain) {
    r->message_id = c->next_mid;
    /* NEGOTIATE on a fresh connection uses id 0 and charge 0/1 alike. */
    c->next_mid += r->charge ? r->charge : 1;
    c->credits -= r->charge;
  }
}

static void fail_chain(struct smb2_conn *c, struct smb2_req *head, int err) {
  while (head) {
    struct smb2_req *nx = head->chain;
    struct smb2_req *r = inflight_take(c, head->message_id);
    fail_req(c, r ? r : head, err);
    head = nx;
  }
}

/* Take the next frame out of the queues into c->out (and c->xd).
 * Returns its length, 0 when nothing can go, or an error. */
static long next_frame(struct smb2_conn *c) {
  /* what restores a lost connection goes first; while held, alone */
  struct smb2_req **qh = &c->rq_head, **qt = &c->rq_tail;
  if (!*qh && !c->held) {
    qh = &c->q_head;
    qt = &c->q_tail;
  }
  struct smb2_req *head = *qh;
  if (!head || c->dead)
    return 0;
  uint16_t need = chain_charge(head);
  if (need > c->credits)
    return 0; /* wait for the server to grant more (3.2.4.1.3) */
  *qh = head->next;
  if (!*qh)
    *qt = NULL;
  bool cancel = head->flags & SMB2_REQ_CANCEL;
  if (!cancel) /* a CANCEL reuses the id of what it cancels */
    assign_ids(c, head);
  for (struct smb2_req *r = head; r; r = r->chain) {
    c->n_queued--;
    c->stats.requests++;
    if (!cancel)
      inflight_add(c, r);
  }
  uint8_t *frame = NULL;
  size_t flen = 0;
  bool owned = false;
  struct smb2_sec *sec = (struct smb2_sec *)head->sec;
  bool encrypt = sec && sec->encrypt;
  int rc = build_frame(c, head, encrypt ? SMB2_TRANSFORM_HDR_SIZE : 0,
                       &frame, &flen, &owned);
  if (rc == 0 && encrypt)
    rc = encrypt_frame(c, sec, frame, flen);
  if (cancel) { /* nothing waits for a reply: the frame is all that stays */
    if (!owned) {
      head->buf = NULL;
      owned = true;
    }
    smb2_req_free(head);
  }
  if (rc < 0) {
    if (owned)
      free(frame);
    if (!cancel)
      fail_chain(c, head, rc);
    return rc;
  }
  /* sent from the request's buffer: its external data is the second
   * piece (cancel requests have none) */
  size_t x_len = owned ? 0 : head->data_len;
  /* MS-SMB2 2.1: Direct TCP header, a zero byte and a 24-bit length. */
  smbq_put_be32(frame, (uint32_t)(flen - NBSS_HDR + x_len));
  c->stats.frames++;
  c->stats.bytes_out += flen + x_len;
  c->out = frame;
  c->out_owned = owned;
  c->out_len = flen;
  c->out_sent = 0;
  if (x_len) {
    c->xd = head->data;
    c->x_len = x_len;
    c->x_owned = false;
    c->x_req = head;
  }
  return (long)(flen + x_len);
}

long smb2_conn_pull_iov(struct smb2_conn *c, struct iovec *iov, int *n) {
  int cap = *n;
  *n = 0;
  if (cap < SMB2_CONN_IOV_MAX)
    return SMBQ_ERR_INVAL;
  if (c->cut)
    return 0; /* the transport must go first (smb2_conn_path_dead) */
  if (!c->out) {
    long rc = next_frame(c);
    if (rc <= 0)
      return rc;
  }
  int k = 0;
  if (c->out_sent < c->out_len)
    iov[k++] = (struct iovec){c->out + c->out_sent, c->out_len - c->out_sent};
  size_t xdone = c->out_sent > c->out_len ? c->out_sent - c->out_len : 0;
  if (c->xd && xdone < c->x_len)
    iov[k++] = (struct iovec){(void *)(c->xd + xdone), c->x_len - xdone};
  *n = k;
  return (long)(c->out_len + c->x_len - c->out_sent);
}

long smb2_conn_pull(struct smb2_conn *c, const uint8_t **buf) {
  struct iovec iov[SMB2_CONN_IOV_MAX];
  int n = SMB2_CONN_IOV_MAX;
  long left = smb2_conn_pull_iov(c, iov, &n);
  if (left <= 0)
    return left;
  if (n == 1) {
    *buf = iov[0].iov_base;
    return left;
  }
  /* two pieces, for a caller that wants one: join what is left */
  uint8_t *joined = malloc((size_t)left);
  if (!joined)
    return SMBQ_ERR_NOMEM;
  memcpy(joined, iov[0].iov_base, iov[0].iov_len);
  memcpy(joined + iov[0].iov_len, iov[1].iov_base, iov[1].iov_len);
  drop_out(c);
  c->out = joined;
  c->out_len = (size_t)left;
  c->out_owned = true;
  *buf = joined;
  return left;
}

void smb2_conn_sent(struct smb2_conn *c, size_t n) {
  if (!c->out)
    return;
  c->out_sent += n;
  if (n > 0)
    c->last_progress_ms = c->now_ms;
  if (c->out_sent < c->out_len + c->x_len)
    return;
  drop_out(c);
}

/* ---- receive side ------------------------------------------------------- */

static const struct smb2_sec *find_sec(const struct smb2_conn *c,
                                       uint64_t sid) {
  for (size_t i = 0; i < MAX_SECS; i++)
    if (c->secs[i] && c->secs[i]->session_id == sid)
      return c->secs[i];
  return NULL;
}

int smb2_conn_verify_reply(const struct smb2_sec *sec, const uint8_t *msg,
                           size_t len) {
  uint32_t flags = smbq_le32_at(msg + 16);
  if (!(flags & SMB2_FLAGS_SIGNED))
    return SMBQ_ERR_SIGNATURE;
  return smb2_verify(sec->signing_alg, sec->keys.signing, msg, len);
}

/* Integrity policy for one reply element (MS-SMB2 3.2.5.1.3), whose
 * message is the concatenation of parts (parts[0] holds the header). */
static int check_integrity_iov(const struct smb2_req *r,
                               const struct smb2_hdr *h,
                               const struct smb2_crypto_buf *parts, size_t n,
                               bool encrypted) {
  const struct smb2_sec *s = r->sec;
  if (!s || (r->flags & SMB2_REQ_NO_VERIFY))
    return 0;
  if (s->encrypt)
    return encrypted ? 0 : SMBQ_ERR_SIGNATURE;
  if (encrypted || !s->sign)
    return 0;
  if (!(h->flags & SMB2_FLAGS_SIGNED))
    return SMBQ_ERR_SIGNATURE;
  return smb2_verify_iov(s->signing_alg, s->keys.signing, parts, n);
}

static int check_integrity(const struct smb2_req *r, const struct smb2_hdr *h,
                           const uint8_t *msg, size_t len, bool encrypted) {
  const struct smb2_crypto_buf whole = {msg, len};
  return check_integrity_iov(r, h, &whole, 1, encrypted);
}

static void integrity_failed(struct smb2_conn *c, const struct smb2_req *r,
                             bool encrypted) {
  set_error(c, encrypted || !(r->sec && r->sec->encrypt)
                   ? "reply signature missing or invalid"
                   : "unencrypted reply on an encrypted session");
}

static void complete(struct smb2_conn *c, struct smb2_req *r,
                     const struct smb2_hdr *h, const uint8_t *msg,
                     size_t len, bool encrypted) {
  int rc = check_integrity(r, h, msg, len, encrypted);
  if (rc < 0) {
    integrity_failed(c, r, encrypted);
    fail_req(c, r, rc);
    return;
  }
  if (r->preauth &&
      !(h->command == SMB2_SESSION_SETUP && h->status == NT_STATUS_SUCCESS))
    rc = smb2_preauth_update(r->preauth, msg, len);
  if (rc < 0) {
    fail_req(c, r, rc);
    return;
  }
  /* The descriptor table, enforced here for every reply: the command's
   * StructureSize, or a well-formed error response (MS-SMB2 2.2.2).
   * Decoders may then trust the fixed part. */
  if (smb2_check_rsp_size(msg, len) < 0) {
    snprintf(c->errbuf, sizeof(c->errbuf),
             "malformed %s reply (wrong structure size)",
             smb2_cmd_desc(h->command) ? smb2_cmd_desc(h->command)->name
                                       : "SMB2");
    fail_req(c, r, SMBQ_ERR_PROTO);
    return;
  }
  c->stats.replies++;
  if (r->dst && h->command == SMB2_READ && h->status == NT_STATUS_SUCCESS) {
    struct smb2_read_rsp rr; /* the callback copies this data */
    if (smb2_decode_read_rsp(msg, len, &rr) == 0 && rr.data_len <= r->dst_cap)
      c->stats.read_copied += rr.data_len;
  }
  call_done(c, r, 0, h->status, msg, len);
  smb2_req_free(r);
}

/* One element of a (possibly compounded) plain reply. */
static int process_element(struct smb2_conn *c, const uint8_t *msg,
                           size_t len, bool encrypted) {
  struct smb2_hdr h;
  if (smb2_hdr_decode(msg, len, &h) < 0 ||
      !(h.flags & SMB2_FLAGS_SERVER_TO_REDIR)) {
    set_error(c, "malformed SMB2 header from server");
    return SMBQ_ERR_PROTO;
  }
  /* Oplock/lease break notifications (3.2.5.19): they grant no credits
   * and answer no request; the layer holding the leases decides. */
  if (h.message_id == UINT64_MAX) {
    if (h.command != SMB2_OPLOCK_BREAK) {
      set_error(c, "unsolicited message that is not a break notification");
      return SMBQ_ERR_PROTO;
    }
    c->stats.notifications++;
    if (c->env.notify)
      c->env.notify(c->env.user, msg, len, encrypted);
    return 0;
  }
  c->credits += h.credits;
  bool interim = h.status == NT_STATUS_PENDING &&
                 (h.flags & SMB2_FLAGS_ASYNC_COMMAND);
  if (interim) {
    struct smb2_req *r = inflight_find(c, h.message_id);
    if (r) {
      if (!r->pending)
        c->n_waiting--;
      r->pending = true;
      r->async_id = h.async_id;
      /* the final reply may take long (a lock, a change notification):
       * a new full timeout from now, then a CANCEL, not forever */
      r->deadline_ms = c->now_ms + c->timeout_ms;
      dl_unlink(c, r);
      dl_insert(c, r);
    }
    return 0;
  }
  /* MS-SMB2 3.2.5.1.6: the session expired; renewed, the request goes
   * again (parked meanwhile). Only a genuine answer counts. */
  if (h.status == NT_STATUS_NETWORK_SESSION_EXPIRED &&
      h.command != SMB2_SESSION_SETUP && c->env.expired) {
    struct smb2_req *p = inflight_find(c, h.message_id);
    if (p && p->sec && p->buf && p->command == h.command &&
        check_integrity(p, &h, msg, len, encrypted) == 0 &&
        c->env.expired(c->env.user, p->sec)) {
      inflight_remove(c, p);
      p->expired = true;
      p->next = c->pk_wait;
      c->pk_wait = p;
      return 0;
    }
  }
  struct smb2_req *r = inflight_take(c, h.message_id);
  if (!r) /* MS-SMB2 3.2.5.1.2: not outstanding -> discard */
    return 0;
  if (r->command != h.command) {
    set_error(c, "reply command does not match the request");
    fail_req(c, r, SMBQ_ERR_PROTO);
    return 0;
  }
  complete(c, r, &h, msg, len, encrypted);
  return 0;
}

static int process_plain(struct smb2_conn *c, const uint8_t *p, size_t len,
                         bool encrypted) {
  while (len > 0) {
    if (len < SMB2_HDR_SIZE) {
      set_error(c, "truncated SMB2 reply");
      return SMBQ_ERR_PROTO;
    }
    uint32_t next = smbq_le32_at(p + 20);
    size_t elen = next ? next : len;
    /* MS-SMB2 3.2.5.1.9 / 2.2.1: NextCommand is 8-byte aligned. */
    if (next && (next < SMB2_HDR_SIZE || next > len || (next & 7))) {
      set_error(c, "bad NextCommand offset in compounded reply");
      return SMBQ_ERR_PROTO;
    }
    int rc = process_element(c, p, elen, encrypted);
    if (rc < 0)
      return rc;
    p += elen;
    len -= elen;
  }
  return 0;
}

static int process_transform(struct smb2_conn *c, const uint8_t *p,
                             size_t len) {
  uint64_t sid;
  if (smb2_transform_session_id(p, len, &sid) < 0 ||
      len <= SMB2_TRANSFORM_HDR_SIZE) {
    set_error(c, "truncated encrypted reply");
    return SMBQ_ERR_PROTO;
  }
  const struct smb2_sec *s = find_sec(c, sid);
  if (!s || !s->cipher) {
    set_error(c, "encrypted reply for an unknown session");
    return SMBQ_ERR_PROTO;
  }
  uint8_t *plain = malloc(len - SMB2_TRANSFORM_HDR_SIZE);
  if (!plain)
    return SMBQ_ERR_NOMEM;
  size_t plen = 0;
  int rc = smb2_decrypt(s->cipher, s->keys.decrypt, p, len, plain, &plen);
  if (rc < 0)
    set_error(c, "encrypted reply failed authentication");
  else
    rc = process_plain(c, plain, plen, true);
  free(plain);
  return rc;
}

static int process_frame(struct smb2_conn *c, const uint8_t *p, size_t len) {
  if (len < 4) {
    set_error(c, "truncated SMB2 frame");
    return SMBQ_ERR_PROTO;
  }
  uint32_t proto = smbq_le32_at(p);
  if (proto == SMB2_TRANSFORM_PROTO_ID)
    return process_transform(c, p, len);
  if (proto == SMB2_PROTOCOL_ID)
    return process_plain(c, p, len, false);
  set_error(c, proto == SMB2_COMPRESS_PROTO_ID
                   ? "compressed reply, but compression was not negotiated"
                   : "reply is not an SMB2 message");
  return SMBQ_ERR_PROTO;
}

static struct smb2_req *chain_head(struct smb2_req *r) {
  while (r->chain_prev)
    r = r->chain_prev;
  return r;
}

static bool chain_expired(struct smb2_req *r) {
  for (struct smb2_req *e = chain_head(r); e; e = e->chain)
    if (!e->expired)
      return false;
  return true;
}

static void unlink_wait(struct smb2_conn *c, struct smb2_req *r) {
  for (struct smb2_req **pp = &c->pk_wait; *pp; pp = &(*pp)->next)
    if (*pp == r) {
      *pp = r->next;
      break;
    }
  r->next = NULL;
}

/* After a frame: a chain all of whose elements came back "expired" is
 * parked whole; an element whose sibling was answered otherwise cannot
 * go again (its chain is broken) and fails. */
static void sweep_parked(struct smb2_conn *c) {
  struct smb2_req *r = c->pk_wait;
  while (r) {
    struct smb2_req *nx = r->next;
    if (r->orphan) {
      unlink_wait(c, r);
      detach(r); /* its siblings in flight must not point to it */
      fail_req(c, r, SMBQ_ERR_NOSESSION);
    } else if (chain_expired(r)) {
      struct smb2_req *h = chain_head(r);
      for (struct smb2_req *e = h; e; e = e->chain)
        unlink_wait(c, e);
      enqueue(&c->pk_head, &c->pk_tail, h);
      nx = c->pk_wait; /* the list changed under us */
    }
    r = nx;
  }
}

static void fail_parked(struct smb2_conn *c, int err) {
  while (c->pk_wait) {
    struct smb2_req *r = c->pk_wait;
    c->pk_wait = r->next;
    detach(r); /* as in sweep_parked: siblings may still be in flight */
    fail_req(c, r, err);
  }
  while (c->pk_head) {
    struct smb2_req *h = c->pk_head;
    c->pk_head = h->next;
    while (h) {
      struct smb2_req *nx = h->chain;
      fail_req(c, h, err);
      h = nx;
    }
  }
  c->pk_tail = NULL;
}

void smb2_conn_fail_parked(struct smb2_conn *c, int err) {
  fail_parked(c, err);
}

void smb2_conn_unpark(struct smb2_conn *c) {
  struct smb2_req *go = NULL, **tail = &go, *last = NULL;
  while (c->pk_head) {
    struct smb2_req *h = c->pk_head;
    c->pk_head = h->next;
    h->next = NULL;
    bool whole = true;
    for (struct smb2_req *e = h; e; e = e->chain)
      whole = whole && e->buf;
    if (!whole) { /* its bytes went (never, from a sane server) */
      while (h) {
        struct smb2_req *nx = h->chain;
        fail_req(c, h, SMBQ_ERR_NOSESSION);
        h = nx;
      }
      continue;
    }
    for (struct smb2_req *e = h; e; e = e->chain) {
      e->expired = false;
      e->deadline_ms = c->now_ms + c->timeout_ms;
      c->n_queued++;
    }
    *tail = h;
    tail = &h->next;
    last = h;
  }
  c->pk_tail = NULL;
  if (!go)
    return;
  last->next = c->q_head;
  if (!c->q_head)
    c->q_tail = last;
  c->q_head = go;
}

/* ---- receive side: READ data straight into the caller's buffer ------------
 *
 * A READ reply is mostly data: copying it from `in` to where the caller
 * wants it was a fifth of the client's CPU. For a request with a
 * destination (smb2_req.dst), once the headers of the frame at in[0] say
 * "the SUCCESS reply to that READ, its data at its end" (MS-SMB2 2.2.20),
 * the rest of the frame is received into dst; the headers stay in `in`.
 * With such READs in flight, between frames the transport is offered just
 * the room for the next frame's headers, so that a large payload does not
 * land in `in` first: one more small recv per READ. An encrypted frame's
 * header is looked at decrypted but not yet authenticated; the whole
 * message is authenticated (decrypted in place, in its two pieces) before
 * the READ completes, and a frame that fails fails the connection, as on
 * the ordinary path. */

#define READ_RSP_FIXED 16 /* MS-SMB2 2.2.20: the fixed part of the body */
#define LOOK_LEN (SMB2_HDR_SIZE + READ_RSP_FIXED)

/* `in` with room for want bytes and some more. */
static int grow_in(struct smb2_conn *c, size_t want) {
  if (c->in_cap >= want && c->in_cap - c->in_len >= 4096)
    return 0;
  size_t ncap = c->in_cap ? c->in_cap : RECV_INITIAL;
  while (ncap < want || ncap - c->in_len < 4096)
    ncap *= 2;
  uint8_t *n = realloc(c->in, ncap);
  if (!n)
    return SMBQ_ERR_NOMEM;
  c->in = n;
  c->in_cap = ncap;
  return 0;
}

static bool have_encrypted_sessions(const struct smb2_conn *c) {
  for (size_t i = 0; i < MAX_SECS; i++)
    if (c->secs[i])
      return true;
  return false;
}

/* The READ whose reply message m (at least LOOK_LEN bytes of it, msg_len
 * in all) is, when its data can go to the request's destination; its
 * DataOffset and DataLength. NULL for everything else (it then takes the
 * ordinary path, which judges it). */
static struct smb2_req *placeable(struct smb2_conn *c, const uint8_t *m,
                                  size_t msg_len, size_t *off,
                                  size_t *dlen) {
  struct smb2_hdr h;
  if (smb2_hdr_decode(m, LOOK_LEN, &h) < 0 ||
      !(h.flags & SMB2_FLAGS_SERVER_TO_REDIR) || h.command != SMB2_READ ||
      h.status != NT_STATUS_SUCCESS || h.next_command != 0 ||
      h.message_id == UINT64_MAX)
    return NULL;
  struct smb2_req *r = inflight_find(c, h.message_id);
  if (!r || !r->dst || r->command != SMB2_READ)
    return NULL;
  const uint8_t *b = m + SMB2_HDR_SIZE;
  *off = b[2];
  *dlen = smbq_le32_at(b + 4);
  if (smbq_le16_at(b) != 17 || *off < LOOK_LEN || *dlen == 0 ||
      *dlen > r->dst_cap || *off + *dlen != msg_len)
    return NULL;
  return r;
}

static void take_ordinary_path(struct smb2_conn *c) {
  c->rx_copy = true;
  c->rx_need = 0;
}

/* Look at the (incomplete) frame at in[0]: a READ reply to place (then
 * its data is on its way to dst), one for the ordinary path (rx_copy),
 * or more bytes needed to tell (rx_need > in_len). */
static void look(struct smb2_conn *c) {
  size_t th = have_encrypted_sessions(c) ? SMB2_TRANSFORM_HDR_SIZE : 0;
  c->rx_need = NBSS_HDR + th + LOOK_LEN;
  if (c->in_len < NBSS_HDR + 4)
    return;
  uint32_t be;
  smbq_get_be32(&be, c->in);
  const uint8_t *m = c->in + NBSS_HDR;
  bool enc = smbq_le32_at(m) == SMB2_TRANSFORM_PROTO_ID;
  th = enc ? SMB2_TRANSFORM_HDR_SIZE : 0;
  c->rx_need = NBSS_HDR + th + LOOK_LEN;
  if ((be & 0xFF000000u) || be > c->max_frame || be < th + LOOK_LEN ||
      (!enc && smbq_le32_at(m) != SMB2_PROTOCOL_ID) ||
      c->in_len >= NBSS_HDR + (size_t)be) {
    take_ordinary_path(c);
    return;
  }
  if (c->in_len < c->rx_need)
    return;
  uint8_t plain[LOOK_LEN];
  const struct smb2_sec *s = NULL;
  if (enc) {
    uint64_t sid = 0;
    smb2_transform_session_id(m, be, &sid);
    s = find_sec(c, sid);
    if (!s || !s->cipher ||
        smb2_decrypt_peek(s->cipher, s->keys.decrypt, m, be, plain,
                          LOOK_LEN) < 0) {
      take_ordinary_path(c);
      return;
    }
    m = plain;
  }
  size_t off = 0, dlen = 0;
  struct smb2_req *r = placeable(c, m, be - th, &off, &dlen);
  if (!r) {
    take_ordinary_path(c);
    return;
  }
  size_t hdr = NBSS_HDR + th + off;
  if (c->in_len < hdr) {
    c->rx_need = hdr; /* padding before the data (DataOffset > 80) */
    return;
  }
  /* what came with the headers goes over; the rest arrives in place */
  size_t early = c->in_len - hdr;
  if (early)
    memcpy(r->dst, c->in + hdr, early);
  c->stats.read_copied += early;
  c->in_len = hdr;
  c->rx_need = 0;
  c->dx_req = r;
  c->dx_sec = s;
  c->dx_hdr = hdr;
  c->dx_len = dlen;
  c->dx_got = early;
}

uint8_t *smb2_conn_recv_buf(struct smb2_conn *c, size_t *cap) {
  *cap = 0;
  if (!c->dx_req && !c->dx_drop && c->n_direct && !c->rx_copy)
    look(c);
  if (c->dx_req) {
    *cap = c->dx_len - c->dx_got;
    return c->dx_req->dst + c->dx_got;
  }
  if (c->dx_drop) { /* after the headers, scratch */
    size_t room = c->in_cap - c->dx_hdr;
    *cap = c->dx_drop < room ? c->dx_drop : room;
    return c->in + c->dx_hdr;
  }
  size_t want = RECV_INITIAL;
  if (c->n_direct && !c->rx_copy && c->rx_need > c->in_len) {
    if (grow_in(c, c->rx_need) < 0)
      return NULL;
    *cap = c->rx_need - c->in_len; /* the next frame's headers only */
    return c->in + c->in_len;
  }
  if (c->in_len >= NBSS_HDR) {
    uint32_t be;
    smbq_get_be32(&be, c->in);
    size_t need = NBSS_HDR + (be & 0x00FFFFFFu);
    if (need > want)
      want = need;
  }
  if (grow_in(c, want) < 0)
    return NULL;
  *cap = c->in_cap - c->in_len;
  return c->in + c->in_len;
}

/* The frame being placed is complete: authenticate it (decrypting in
 * place) and complete its READ as complete() does on the ordinary path.
 * Returns a fatal error as process_frame() would. */
static int finish_placed(struct smb2_conn *c) {
  struct smb2_req *r = c->dx_req;
  const struct smb2_sec *s = c->dx_sec;
  size_t th = s ? SMB2_TRANSFORM_HDR_SIZE : 0;
  uint8_t *msg = c->in + NBSS_HDR + th;
  size_t off = c->dx_hdr - NBSS_HDR - th, dlen = c->dx_len;
  c->dx_req = NULL;
  c->in_len = 0;
  c->rx_copy = false;
  c->rx_need = 0;
  c->stats.bytes_in += c->dx_hdr + dlen;
  if (s) {
    const struct smb2_crypto_iov iov[] = {{msg, off}, {r->dst, dlen}};
    int rc = smb2_decrypt_iov(s->cipher, s->keys.decrypt, c->in + NBSS_HDR,
                              iov, 2);
    if (rc < 0) { /* r fails with the connection */
      set_error(c, "encrypted reply failed authentication");
      return rc;
    }
  }
  struct smb2_hdr h;
  if (smb2_hdr_decode(msg, off, &h) < 0 || h.message_id != r->message_id ||
      h.command != SMB2_READ || smbq_le32_at(msg + SMB2_HDR_SIZE + 4) != dlen) {
    set_error(c, "malformed SMB2 header from server");
    return SMBQ_ERR_PROTO;
  }
  c->credits += h.credits;
  inflight_unlink(c, r);
  leave_inflight(c, r);
  const struct smb2_crypto_buf parts[] = {{msg, off}, {r->dst, dlen}};
  int rc = check_integrity_iov(r, &h, parts, 2, s != NULL);
  if (rc < 0) {
    integrity_failed(c, r, s != NULL);
    fail_req(c, r, rc);
    return 0;
  }
  c->stats.replies++;
  if (r->placed)
    *r->placed = dlen;
  call_done(c, r, 0, h.status, msg, off);
  smb2_req_free(r);
  return 0;
}

static int placed_in(struct smb2_conn *c, size_t n) {
  c->dx_got += n;
  c->stats.read_placed += n;
  if (c->dx_got < c->dx_len)
    return 0;
  int rc = finish_placed(c);
  if (c->pk_wait)
    sweep_parked(c);
  return rc;
}

/* Data of a reply whose request left while it arrived (a timeout):
 * MS-SMB2 3.2.5.1.2 discards it, but the credits it grants count. Those
 * of an encrypted one cannot be read without the whole message: the
 * window grows back by asking (credit_request). */
static void dropped_in(struct smb2_conn *c, size_t n) {
  c->dx_drop -= n < c->dx_drop ? n : c->dx_drop;
  if (c->dx_drop)
    return;
  struct smb2_hdr h;
  if (!c->dx_sec &&
      smb2_hdr_decode(c->in + NBSS_HDR, c->dx_hdr - NBSS_HDR, &h) == 0)
    c->credits += h.credits;
  c->stats.bytes_in += c->dx_hdr + c->dx_len;
  c->in_len = 0;
  c->rx_copy = false;
  c->rx_need = 0;
}

int smb2_conn_received(struct smb2_conn *c, size_t n) {
  if (n > 0)
    c->last_progress_ms = c->now_ms;
  if (c->dx_req)
    return placed_in(c, n);
  if (c->dx_drop) {
    dropped_in(c, n);
    return 0;
  }
  c->in_len += n;
  size_t off = 0;
  int rc = 0;
  while (c->in_len - off >= NBSS_HDR) {
    uint32_t be;
    smbq_get_be32(&be, c->in + off);
    if (be & 0xFF000000u) {
      /* MS-SMB2 2.1: the first byte of every frame is zero. Showing the
       * bytes tells "not SMB at all" (an HTTP or TLS answer) apart. */
      const uint8_t *h = c->in + off;
      snprintf(c->errbuf, sizeof(c->errbuf),
               "bad Direct-TCP frame header (%02x %02x %02x %02x): the "
               "server does not speak SMB2 there", h[0], h[1], h[2], h[3]);
      rc = SMBQ_ERR_PROTO;
      break;
    }
    if (be > c->max_frame) {
      set_error(c, "server frame exceeds the size limit");
      rc = SMBQ_ERR_PROTO;
      break;
    }
    if (c->in_len - off - NBSS_HDR < be)
      break;
    rc = process_frame(c, c->in + off + NBSS_HDR, be);
    c->stats.bytes_in += NBSS_HDR + be;
    off += NBSS_HDR + be;
    if (rc < 0)
      break;
  }
  if (off > 0) {
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
    c->rx_copy = false; /* a new frame at in[0]: not looked at yet */
    c->rx_need = 0;
  }
  if (c->pk_wait)
    sweep_parked(c);
  return rc;
}

static int64_t nearer(int64_t a, int64_t b) {
  return a < 0 || (b >= 0 && b < a) ? b : a;
}

/* Fail the chains of a queue whose deadline passed; returns the next. */
static int64_t expire_queue(struct smb2_conn *c, struct smb2_req **head,
                            struct smb2_req **tail, int64_t now_ms) {
  int64_t next = -1;
  struct smb2_req **hp = head;
  *tail = NULL;
  while (*hp) {
    struct smb2_req *h = *hp;
    if (h->deadline_ms > now_ms || (h->flags & SMB2_REQ_CANCEL)) {
      if (!(h->flags & SMB2_REQ_CANCEL))
        next = nearer(next, h->deadline_ms);
      *tail = h;
      hp = &h->next;
      continue;
    }
    *hp = h->next;
    set_error(c, (h->flags & SMB2_REQ_PROBE)
                     ? "no credit left for an ECHO to the server"
                     : "server granted no credits in time");
    while (h) {
      struct smb2_req *nx = h->chain;
      c->n_queued--;
      fail_req(c, h, SMBQ_ERR_TIMEOUT);
      h = nx;
    }
  }
  return next;
}

static void probe_done(void *arg, int err, uint32_t status,
                       const uint8_t *msg, size_t len) {
  (void)status, (void)msg, (void)len;
  struct smb2_conn *c = arg;
  c->probing = false;
  if (err == SMBQ_ERR_TIMEOUT)
    c->path_dead = true;
}

/* An ECHO (SessionId 0: any server answers it, MS-SMB2 3.3.5.2.9) ahead
 * of everything waiting for credits. */
static void queue_probe(struct smb2_conn *c) {
  struct smb2_req *x = smb2_req_new(SMB2_ECHO, 4);
  if (!x)
    return;
  smb2_req_set_body_len(x, (size_t)smb2_encode_empty_req(smb2_req_body(x),
                                                         4));
  x->flags = SMB2_REQ_PROBE;
  x->done = probe_done;
  x->arg = c;
  x->charge = 1;
  x->deadline_ms = c->now_ms + c->probe_ms;
  x->next = c->q_head;
  c->q_head = x;
  if (!c->q_tail)
    c->q_tail = x;
  c->n_queued++;
  c->probing = true;
}

int64_t smb2_conn_tick(struct smb2_conn *c, int64_t now_ms) {
  int64_t next = -1;
  c->now_ms = now_ms;
  while (c->dl_head && c->dl_head->deadline_ms <= now_ms) {
    struct smb2_req *r = c->dl_head;
    inflight_unlink(c, r);
    leave_inflight(c, r);
    set_error(c, "no reply from the server in time");
    queue_cancel(c, r);
    fail_req(c, r, SMBQ_ERR_TIMEOUT);
  }
  if (c->dl_head && c->dl_head->deadline_ms != INT64_MAX)
    next = c->dl_head->deadline_ms;
  bool waiting = c->n_waiting > 0; /* a reply is due: silence matters */
  /* Chains still waiting for credits time out too (a server that stops
   * granting credits must not hang the caller forever); held ones wait
   * for the connection to come back, however long that takes. */
  next = nearer(next, expire_queue(c, &c->rq_head, &c->rq_tail, now_ms));
  if (!c->held)
    next = nearer(next, expire_queue(c, &c->q_head, &c->q_tail, now_ms));
  /* Silence with replies due: is the path still there? */
  if (c->probe_ms && !c->held && !c->dead && waiting && !c->probing) {
    if (c->last_progress_ms == 0)
      c->last_progress_ms = now_ms;
    int64_t at = c->last_progress_ms + c->probe_ms;
    if (at <= now_ms) {
      queue_probe(c);
      next = nearer(next, now_ms + c->probe_ms);
    } else {
      next = nearer(next, at);
    }
  }
  return next;
}

/* ---- a lost connection ------------------------------------------------------ */

bool smb2_conn_held(const struct smb2_conn *c) { return c->held; }

void smb2_conn_restore_begin(struct smb2_conn *c) { c->restore_depth++; }

void smb2_conn_restore_end(struct smb2_conn *c) {
  if (c->restore_depth)
    c->restore_depth--;
}

void smb2_conn_set_probe(struct smb2_conn *c, uint32_t probe_ms) {
  c->probe_ms = probe_ms;
}

bool smb2_conn_path_dead(const struct smb2_conn *c) { return c->path_dead; }

bool smb2_conn_replies_due(const struct smb2_conn *c) {
  return c->n_waiting > 0 && !c->held && !c->dead;
}

/* Insert r into the list at *head (linked by ->next) in message id
 * order. */
static void insert_by_mid(struct smb2_req **head, struct smb2_req *r) {
  struct smb2_req **pp = head;
  while (*pp && (*pp)->message_id < r->message_id)
    pp = &(*pp)->next;
  r->next = *pp;
  *pp = r;
}

/* NEGOTIATE and SESSION_SETUP mean something on one connection only: a
 * logon round sent again on a new one would continue an exchange the
 * server no longer has (MS-SMB2 3.2.4.2.3: a session on a new connection
 * starts over, after NEGOTIATE). They fail; whoever sent them starts
 * again once the connection is back. */
static bool bound_to_connection(const struct smb2_req *r) {
  return r->command == SMB2_NEGOTIATE || r->command == SMB2_SESSION_SETUP;
}

void smb2_conn_hold(struct smb2_conn *c) {
  /* a chain waiting for the rest of its "expired" replies cannot be put
   * together again: its elements fail, the rest of it with them */
  while (c->pk_wait) {
    struct smb2_req *r = c->pk_wait;
    c->pk_wait = r->next;
    detach(r);
    fail_req(c, r, SMBQ_ERR_CLOSED);
  }
  drop_out(c);
  c->cut = false; /* a new transport */
  c->in_len = 0;
  unplace_all(c);
  /* everything that was in flight, in the order it was sent */
  struct smb2_req *sent = NULL;
  dl_clear(c);
  for (size_t i = 0; i < INFLIGHT_BUCKETS; i++) {
    while (c->inflight[i]) {
      struct smb2_req *r = c->inflight[i];
      c->inflight[i] = r->next;
      insert_by_mid(&sent, r);
    }
  }
  c->n_inflight = 0;
  c->inflight_charge = 0;
  /* what fails: restore requests of an earlier try, CANCELs and ECHOs
   * (their connection is gone), chains answered in part */
  struct smb2_req *doomed = NULL, *keep = NULL, **keep_tail = &keep;
  for (struct smb2_req *r = sent, *nx; r; r = nx) {
    nx = r->next;
    if (r->chain_prev && !r->orphan)
      continue; /* moves with its chain's first element */
    if (r->orphan || (r->flags & (SMB2_REQ_RESTORE | SMB2_REQ_PROBE)) ||
        bound_to_connection(r)) {
      r->next = doomed;
      doomed = r;
      continue;
    }
    for (struct smb2_req *e = r; e; e = e->chain) {
      e->sent = true;
      e->pending = false;
      e->async_id = 0;
      c->n_queued++;
    }
    r->next = NULL;
    *keep_tail = r;
    keep_tail = &r->next;
  }
  /* parked whole ("session expired": not applied), then the queue */
  while (c->pk_head) {
    struct smb2_req *h = c->pk_head;
    c->pk_head = h->next;
    for (struct smb2_req *e = h; e; e = e->chain) {
      e->expired = false;
      c->n_queued++;
    }
    h->next = NULL;
    *keep_tail = h;
    keep_tail = &h->next;
  }
  c->pk_tail = NULL;
  /* the queue: CANCELs and probes go, the rest waits behind the resent */
  for (struct smb2_req *h = c->q_head, *nx; h; h = nx) {
    nx = h->next;
    if ((h->flags & (SMB2_REQ_CANCEL | SMB2_REQ_PROBE)) ||
        bound_to_connection(h)) {
      c->n_queued--;
      h->next = doomed;
      doomed = h;
      continue;
    }
    h->next = NULL;
    *keep_tail = h;
    keep_tail = &h->next;
  }
  c->q_head = keep;
  c->q_tail = NULL;
  for (struct smb2_req *h = keep; h; h = h->next)
    c->q_tail = h;
  struct smb2_req *rq = c->rq_head;
  c->rq_head = c->rq_tail = NULL;
  c->next_mid = 0;
  c->credits = 1; /* MS-SMB2 3.2.3: as on a new connection */
  c->held = true;
  c->probing = false;
  c->path_dead = false;
  c->last_progress_ms = 0;
  /* callbacks last: they may submit (restore requests of a new try) */
  for (struct smb2_req *r = doomed, *nx; r; r = nx) {
    nx = r->next;
    if (r->flags & SMB2_REQ_CANCEL) {
      smb2_req_free(r);
      continue;
    }
    fail_req(c, r, SMBQ_ERR_CLOSED);
  }
  struct smb2_req *rq_tail = NULL;
  fail_queue(c, &rq, &rq_tail, SMBQ_ERR_CLOSED);
}

void smb2_conn_refuse(struct smb2_conn *c, int err) {
  c->refuse_err = err;
  fail_queue(c, &c->q_head, &c->q_tail, err);
}

void smb2_conn_release(struct smb2_conn *c, smb2_fix_fn fix, void *arg) {
  c->held = false;
  c->refuse_err = 0;
  c->last_progress_ms = c->now_ms;
  struct smb2_req **hp = &c->q_head;
  c->q_tail = NULL;
  while (*hp) {
    struct smb2_req *h = *hp;
    int rc = 0;
    for (struct smb2_req *e = h; e && rc == 0; e = e->chain) {
      e->deadline_ms = c->now_ms + c->timeout_ms;
      if (fix)
        rc = fix(arg, e, smb2_req_body(e), e->len - SMB2_HDR_SIZE);
    }
    if (rc == 0) {
      c->q_tail = h;
      hp = &h->next;
      continue;
    }
    *hp = h->next;
    while (h) {
      struct smb2_req *nx = h->chain;
      c->n_queued--;
      fail_req(c, h, rc);
      h = nx;
    }
  }
}
