/* Restoring a lost connection. See core_reconnect.h. */
#include "core/core_reconnect.h"

#include <stdio.h>
#include <string.h>

#include "smb2/smb2_pdu.h"
#include "smbq/smbq_err.h"

void core_rc_init(struct core_rc *r, struct smb2_conn *conn,
                  struct core_neg *neg, struct core_sess *sess,
                  struct core_leases *leases, uint32_t timeout_ms,
                  uint32_t connect_ms, uint32_t request_ms,
                  const struct core_rc_env *env) {
  memset(r, 0, sizeof(*r));
  r->conn = conn;
  r->neg = neg;
  r->sess = sess;
  r->leases = leases;
  r->timeout_ms = timeout_ms;
  r->connect_ms = connect_ms;
  r->request_ms = request_ms;
  r->env = *env;
}

static void event(struct core_rc *r, enum core_rc_event ev) {
  if (r->env.event)
    r->env.event(r->env.user, ev);
}

static void set_cause(struct core_rc *r, const char *why) {
  if (!why || !why[0])
    return;
  size_t n = strnlen(why, sizeof(r->cause) - 1);
  memcpy(r->cause, why, n);
  r->cause[n] = '\0';
}

/* Fast first tries, then two a second; once calls fail, every 2 s. */
static int64_t backoff_ms(const struct core_rc *r) {
  static const int64_t steps[] = {0, 100, 250, 500};
  if (r->refused)
    return 2000;
  return r->attempt < 4 ? steps[r->attempt] : 500;
}

/* A step failed (or the transport went again): the next try later. */
static void retry(struct core_rc *r, const char *why, int64_t now_ms) {
  set_cause(r, why);
  r->state = CORE_RC_WAITING;
  r->next_try_ms = now_ms + backoff_ms(r);
  event(r, CORE_RC_RECONNECTING);
}

/* ---- the held requests, for the new connection ------------------------- */

/* Where a request's body carries its FileId (MS-SMB2 2.2.x), or -1. */
static int file_id_offset(uint16_t command) {
  switch (command) {
  case SMB2_CLOSE:
  case SMB2_FLUSH:
  case SMB2_LOCK:
  case SMB2_IOCTL:
  case SMB2_QUERY_DIRECTORY:
  case SMB2_CHANGE_NOTIFY:
  case SMB2_OPLOCK_BREAK:
    return 8;
  case SMB2_READ:
  case SMB2_WRITE:
  case SMB2_SET_INFO:
    return 16;
  case SMB2_QUERY_INFO:
    return 24;
  default:
    return -1;
  }
}

/* MS-SMB2 3.2.5.1.9 / 3.3.5.2.10: what changes the server's state is sent
 * again as a replay, so that it is applied once. */
static bool replayable(uint16_t command) {
  return command == SMB2_CREATE || command == SMB2_WRITE ||
         command == SMB2_SET_INFO || command == SMB2_IOCTL ||
         command == SMB2_LOCK;
}

static bool all_ff(const uint8_t *id) {
  for (int i = 0; i < 16; i++)
    if (id[i] != 0xFF)
      return false;
  return true;
}

static struct core_open *find_open(struct core_rc *r, const uint8_t *id) {
  for (struct core_tree *t = r->env.next_tree(r->env.user, NULL); t;
       t = r->env.next_tree(r->env.user, t))
    for (struct core_open *o = t->opens; o; o = o->next)
      if (o->have_prev && memcmp(o->prev_file_id, id, 16) == 0)
        return o;
  return NULL;
}

static int fix_request(void *arg, struct smb2_req *q, uint8_t *body,
                       size_t len) {
  struct core_rc *r = arg;
  for (struct core_tree *t = r->env.next_tree(r->env.user, NULL); t;
       t = r->env.next_tree(r->env.user, t))
    if (t->prev_tree_id && q->tree_id == t->prev_tree_id) {
      q->tree_id = t->tree_id;
      break;
    }
  int off = file_id_offset(q->command);
  if (off >= 0 && len >= (size_t)off + 16 && !all_ff(body + off)) {
    struct core_open *o = find_open(r, body + off);
    if (o && o->state == CORE_OPEN_LOST)
      return SMBQ_ERR_STALE;
    if (o)
      memcpy(body + off, o->file_id, 16);
  }
  if (q->sent && r->dialect >= SMB2_DIALECT_300 && replayable(q->command))
    q->hdr_flags |= SMB2_FLAGS_REPLAY_OPERATION;
  return 0;
}

static void finish_up(struct core_rc *r) {
  r->state = CORE_RC_UP;
  /* read by callers' threads (api_reconnect_count) */
  __atomic_add_fetch(&r->reconnects, 1, __ATOMIC_RELEASE);
  r->refused = false;
  smb2_conn_set_timeout(r->conn, r->request_ms);
  smb2_conn_release(r->conn, fix_request, r);
  event(r, CORE_RC_RECONNECTED);
  r->attempt = 0;
}

/* ---- opens ------------------------------------------------------------- */

static void on_open(void *arg, struct core_open *o) {
  struct core_rc *r = arg;
  if (o->rc == 0)
    r->reclaimed++;
  else if (o->state == CORE_OPEN_LOST && !o->close_sent)
    r->lost++; /* one being closed is not lost: its CLOSE completes it */
  /* a durable handle keeps its lease through the outage (the server
   * breaks what it must); a new open by name gets a new one */
  bool lapsed = o->state == CORE_OPEN_LOST ||
                (o->rc == 0 && !o->reclaiming_durable);
  if (lapsed && o->lease && r->env.lapsed)
    r->env.lapsed(r->env.user, o);
  if (r->pending && --r->pending == 0 && r->state == CORE_RC_OPENS)
    finish_up(r);
}

static void reclaim_opens(struct core_rc *r) {
  r->state = CORE_RC_OPENS;
  r->reclaimed = r->lost = 0;
  r->pending = 1; /* until every reclaim is out */
  smb2_conn_restore_begin(r->conn);
  for (struct core_tree *t = r->env.next_tree(r->env.user, NULL); t;
       t = r->env.next_tree(r->env.user, t)) {
    for (struct core_open *o = t->opens, *nx; o; o = nx) {
      nx = o->next;
      if (o->state != CORE_OPEN_OPEN && o->state != CORE_OPEN_CLOSING)
        continue;
      r->pending++;
      if (core_open_reclaim(o, r->conn, on_open, r) < 0) {
        r->pending--;
        r->lost++;
        if (o->lease && r->env.lapsed)
          r->env.lapsed(r->env.user, o);
      }
    }
  }
  smb2_conn_restore_end(r->conn);
  if (--r->pending == 0 && r->state == CORE_RC_OPENS)
    finish_up(r);
}

/* ---- trees ------------------------------------------------------------- */

static void next_tree(struct core_rc *r);

static void on_tree(void *arg, struct core_tree *tn) {
  struct core_rc *r = arg;
  if (r->state != CORE_RC_TREES)
    return;
  if (tn->state != CORE_TREE_CONNECTED) {
    retry(r, tn->err.msg, smb2_conn_time(r->conn));
    return;
  }
  struct core_tree *t = r->tree;
  uint32_t old_id = t->tree_id;
  core_tree_take(t, tn);
  core_leases_retree(r->leases, old_id, t->tree_id);
  next_tree(r);
}

static void next_tree(struct core_rc *r) {
  struct core_tree *t = r->env.next_tree(r->env.user, r->tree);
  if (!t) {
    reclaim_opens(r);
    return;
  }
  r->tree = t;
  struct core_tree_cfg cfg = t->cfg; /* its names are t's own */
  smb2_conn_restore_begin(r->conn);
  int rc = core_tree_connect(&r->tree_new, r->conn, &cfg, on_tree, r);
  smb2_conn_restore_end(r->conn);
  if (rc < 0)
    retry(r, r->tree_new.err.msg, smb2_conn_time(r->conn));
}

/* ---- negotiate and session ----------------------------------------------- */

static void on_sess(void *arg, struct core_sess *s) {
  struct core_rc *r = arg;
  if (r->state != CORE_RC_SESSION)
    return;
  if (s->state != CORE_SESS_VALID) {
    retry(r, s->err.msg, smb2_conn_time(r->conn));
    return;
  }
  r->state = CORE_RC_TREES;
  r->tree = NULL;
  next_tree(r);
}

static void on_neg(void *arg, struct core_neg *n) {
  struct core_rc *r = arg;
  if (r->state != CORE_RC_NEGOTIATING)
    return;
  int64_t now = smb2_conn_time(r->conn);
  if (n->state != CORE_NEG_DONE) {
    retry(r, n->err.msg, now);
    return;
  }
  if (n->dialect != r->dialect) { /* n is r->neg_new */
    /* MS-SMB2 3.2.4.4: durable handles come back on the same dialect */
    char why[160];
    snprintf(why, sizeof(why), "the server now chose SMB %s, not %s",
             smb2_dialect_name(n->dialect), smb2_dialect_name(r->dialect));
    retry(r, why, now);
    return;
  }
  core_neg_take(r->neg, n);
  struct core_sess_cfg cfg;
  memset(&cfg, 0, sizeof(cfg));
  char why[256] = "";
  if (r->env.session_cfg(r->env.user, &cfg, why, sizeof(why)) < 0) {
    retry(r, why, now);
    return;
  }
  cfg.previous_session_id = r->old_session_id;
  r->state = CORE_RC_SESSION;
  smb2_conn_restore_begin(r->conn);
  int rc = core_sess_start(r->sess, r->conn, &cfg, on_sess, r);
  smb2_conn_restore_end(r->conn);
  if (rc < 0)
    retry(r, r->sess->err.msg, now);
}

/* A new transport, then NEGOTIATE as the first time: the same ClientGuid
 * (MS-SMB2 3.2.4.2.2.2: the server ties durable handles to it), the same
 * dialects (3.1.1 alone over QUIC), a fresh preauth salt. */
static void try_once(struct core_rc *r, int64_t now_ms) {
  r->attempt++;
  smb2_conn_hold(r->conn); /* a clean slate: ids from 0, one credit */
  uint32_t tmo = 2000u * r->attempt;
  if (r->connect_ms && tmo > r->connect_ms)
    tmo = r->connect_ms;
  /* a try blocks the I/O thread: it must not hold up the timeout's end */
  int64_t left = r->lost_at_ms + r->timeout_ms - now_ms;
  if (!r->refused && left < (int64_t)tmo)
    tmo = left > 500 ? (uint32_t)left : 500;
  bool encrypted = false;
  char why[512] = "";
  r->state = CORE_RC_NEGOTIATING; /* callbacks of the old try: ignored */
  int rc = r->env.connect(r->env.user, tmo, &encrypted, why, sizeof(why));
  if (rc < 0) {
    retry(r, why, now_ms);
    return;
  }
  struct core_neg_cfg cfg = r->neg->cfg;
  uint16_t dialects[8];
  size_t n = 0;
  for (size_t i = 0; i < cfg.n_dialects && i < 8; i++)
    if (!encrypted || cfg.dialects[i] == SMB2_DIALECT_311)
      dialects[n++] = cfg.dialects[i];
  cfg.dialects = dialects;
  cfg.n_dialects = n;
  cfg.transport_encrypted = encrypted;
  cfg.server = r->server;
  snprintf(r->server, sizeof(r->server), "%s", r->neg->cfg.server);
  if (n == 0 || r->env.random(r->env.user, cfg.salt, sizeof(cfg.salt)) < 0) {
    retry(r, n == 0 ? "no dialect to offer over this transport"
                    : "no randomness available", now_ms);
    return;
  }
  core_neg_clear(&r->neg_new);
  smb2_conn_set_timeout(r->conn, r->connect_ms);
  smb2_conn_restore_begin(r->conn);
  rc = core_neg_start(&r->neg_new, r->conn, &cfg, on_neg, r);
  smb2_conn_restore_end(r->conn);
  if (rc < 0)
    retry(r, r->neg_new.err.msg, now_ms);
}

/* ---- an expired session -------------------------------------------------- */

static void on_renewed(void *arg, struct core_sess *s) {
  struct core_rc *r = arg;
  r->renewing = false;
  /* the connection was lost under the renewal (its round failed with it):
   * the reconnect logs on afresh and sends the parked requests then */
  if (s->state != CORE_SESS_VALID && smb2_conn_held(r->conn))
    return;
  if (s->state == CORE_SESS_VALID) {
    r->renewals++;
    smb2_conn_unpark(r->conn);
    event(r, CORE_RC_RENEWED);
    return;
  }
  set_cause(r, s->err.msg);
  event(r, CORE_RC_RENEW_FAILED);
  smb2_conn_fail_parked(r->conn, SMBQ_ERR_NOSESSION);
}

bool core_rc_expired(struct core_rc *r, const struct smb2_sec *sec) {
  if (sec != &r->sess->sec && sec != &r->sess->enc_sec)
    return false;
  if (r->renewing || r->state != CORE_RC_UP)
    return true;
  struct core_sess_cfg cfg;
  memset(&cfg, 0, sizeof(cfg));
  char why[256] = "";
  if (r->env.session_cfg(r->env.user, &cfg, why, sizeof(why)) < 0) {
    set_cause(r, why);
    event(r, CORE_RC_RENEW_FAILED);
    return false;
  }
  r->renewing = true;
  if (core_sess_reauth(r->sess, r->conn, &cfg, on_renewed, r) < 0) {
    r->renewing = false;
    set_cause(r, r->sess->err.msg);
    event(r, CORE_RC_RENEW_FAILED);
    return false;
  }
  return true;
}

/* ---- driving ----------------------------------------------------------- */

void core_rc_lost(struct core_rc *r, const char *why, int64_t now_ms) {
  set_cause(r, why);
  if (r->state == CORE_RC_STOPPED)
    return;
  if (r->state != CORE_RC_UP) { /* lost again while restoring */
    retry(r, NULL, now_ms);
    return;
  }
  r->lost_at_ms = now_ms;
  r->attempt = 0;
  r->old_session_id = r->sess->sec.session_id;
  r->dialect = r->neg->dialect;
  /* what the held requests name: the ids of before the outage */
  for (struct core_tree *t = r->env.next_tree(r->env.user, NULL); t;
       t = r->env.next_tree(r->env.user, t)) {
    t->prev_tree_id = t->tree_id;
    for (struct core_open *o = t->opens; o; o = o->next) {
      memcpy(o->prev_file_id, o->file_id, 16);
      o->have_prev = true;
    }
  }
  r->state = CORE_RC_WAITING;
  r->next_try_ms = now_ms;
  event(r, CORE_RC_DISCONNECTED);
}

void core_rc_clear(struct core_rc *r) { core_neg_clear(&r->neg_new); }

void core_rc_stop(struct core_rc *r) {
  if (r->state == CORE_RC_UP)
    return;
  r->state = CORE_RC_STOPPED;
  r->refused = true;
  smb2_conn_refuse(r->conn, SMBQ_ERR_CLOSED);
}

int64_t core_rc_tick(struct core_rc *r, int64_t now_ms) {
  if (r->state == CORE_RC_UP || r->state == CORE_RC_STOPPED)
    return -1;
  int64_t give_up = r->lost_at_ms + r->timeout_ms;
  if (!r->refused && now_ms >= give_up) {
    r->refused = true;
    smb2_conn_refuse(r->conn, SMBQ_ERR_CLOSED);
    event(r, CORE_RC_LOST);
  }
  if (r->state == CORE_RC_WAITING && now_ms >= r->next_try_ms)
    try_once(r, now_ms);
  int64_t next = r->state == CORE_RC_WAITING ? r->next_try_ms : -1;
  if (!r->refused && r->state != CORE_RC_UP && (next < 0 || give_up < next))
    next = give_up;
  return next;
}
