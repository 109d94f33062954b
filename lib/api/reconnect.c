/* Reconnect, the API side: the environment the core's state machine
 * (core_reconnect.c) runs in — a new transport through the connect
 * policy, fresh session tokens from the kept credentials, the trees of
 * the connection, events for the caller — wired to the I/O thread's
 * hooks. The machine itself (the order of things, what is reclaimed,
 * what is replayed) is the core's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/conn_internal.h"
#include "api/lease.h"
#include "auth/auth_mech.h"
#include "core/core_reconnect.h"
#include "transport/transport.h"

/* Silence long enough to ask with an ECHO, and as long again for its
 * answer: a dead path is noticed within 10 s while requests wait. */
#define PROBE_MS 4000
#define DEFAULT_RECONNECT_S 60
#define DEFAULT_CONNECT_MS 10000

/* ---- the environment (on the I/O thread) ---------------------------------- */

static int rc_connect(void *user, uint32_t timeout_ms, bool *encrypted,
                      char *why, size_t len) {
  smbq_conn *c = user;
  struct smbq_transport *tp = NULL;
  c->try_connect_ms = timeout_ms;
  int rc = conn_open_transport(c, &tp);
  c->try_connect_ms = 0;
  if (rc < 0) {
    smbq_conn_errmsg(c, why, len);
    return rc;
  }
  *encrypted = tp->encrypted;
  smbq_io_attach(c->io, tp);
  return 0;
}

static int rc_session_cfg(void *user, struct core_sess_cfg *cfg, char *why,
                          size_t len) {
  smbq_conn *c = user;
  struct auth_mech *mechs[CORE_SESS_MAX_MECHS];
  size_t n = 0;
  int rc = conn_session_mechs(c, mechs, &n);
  if (rc < 0) {
    smbq_conn_errmsg(c, why, len);
    return rc;
  }
  conn_session_cfg(c, mechs, n, cfg);
  return 0;
}

/* The trees in the connection's list, prev's successor (the list may
 * change between calls: a tree gone meanwhile ends the walk). */
static struct core_tree *rc_next_tree(void *user, struct core_tree *prev) {
  smbq_conn *c = user;
  pthread_mutex_lock(&c->lock);
  smbq_tree *t = c->trees;
  if (prev) {
    while (t && &t->core != prev)
      t = t->next;
    t = t ? t->next : NULL;
  }
  pthread_mutex_unlock(&c->lock);
  return t ? &t->core : NULL;
}

static void rc_lapsed(void *user, struct core_open *o) {
  api_lease_lapsed(user, o);
}

static void rc_event(void *user, enum core_rc_event ev) {
  smbq_conn *c = user;
  struct core_rc *r = c->rc;
  char msg[640];
  uint32_t wait_s = c->opts.reconnect_timeout_set
                        ? c->opts.reconnect_timeout_s
                        : DEFAULT_RECONNECT_S;
  enum smbq_event out = SMBQ_EVENT_DISCONNECTED;
  switch (ev) {
  case CORE_RC_DISCONNECTED:
  case CORE_RC_RECONNECTING:
    out = ev == CORE_RC_DISCONNECTED ? SMBQ_EVENT_DISCONNECTED
                                     : SMBQ_EVENT_RECONNECTING;
    if (!r->refused) {
      snprintf(msg, sizeof(msg), "the connection to %s was lost (%s); "
               "reconnecting", c->server, r->cause);
      smbq_io_set_error(c->io, msg);
    }
    break;
  case CORE_RC_LOST:
    out = SMBQ_EVENT_LOST;
    snprintf(msg, sizeof(msg), "the connection to %s was lost (%s) and "
             "not restored within %u s; still trying", c->server, r->cause,
             wait_s);
    smbq_io_set_error(c->io, msg);
    break;
  case CORE_RC_RECONNECTED:
    out = SMBQ_EVENT_RECONNECTED;
    smbq_io_set_error(c->io, "");
    break;
  case CORE_RC_RENEWED: /* nothing to tell the caller */
    smbq_io_set_error(c->io, "");
    return;
  case CORE_RC_RENEW_FAILED:
    snprintf(msg, sizeof(msg), "the session with %s expired and could "
             "not be renewed: %s", c->server, r->cause);
    smbq_io_set_error(c->io, msg);
    return;
  }
  conn_report(c, out);
}

/* ---- the I/O thread's hooks ------------------------------------------------ */

static bool hook_lost(void *arg, int err, const char *why) {
  (void)err;
  smbq_conn *c = arg;
  core_rc_lost(c->rc, why, smbq_now_ms());
  return true;
}

static int64_t hook_tick(void *arg, int64_t now_ms) {
  smbq_conn *c = arg;
  return core_rc_tick(c->rc, now_ms);
}

struct start_run {
  smbq_conn *c;
  struct core_rc *rc;
  bool reconnect;
};

bool api_session_expired(void *user, const struct smb2_sec *sec) {
  smbq_conn *c = user;
  return c->rc && core_rc_expired(c->rc, sec);
}

static void start_on_io(void *arg, struct smb2_conn *core) {
  struct start_run *s = arg;
  smb2_conn_set_probe(core, PROBE_MS);
  smbq_conn *c = s->c;
  c->rc = s->rc; /* here: the I/O thread reads it in its callbacks */
  struct core_rc_env env = {
      .connect = rc_connect,
      .session_cfg = rc_session_cfg,
      .next_tree = rc_next_tree,
      .event = rc_event,
      .lapsed = rc_lapsed,
      .random = api_random,
      .user = c,
  };
  uint32_t wait_s = c->opts.reconnect_timeout_set
                        ? c->opts.reconnect_timeout_s
                        : DEFAULT_RECONNECT_S;
  uint32_t connect_ms = c->opts.connect_timeout_ms ? c->opts.connect_timeout_ms
                                                   : DEFAULT_CONNECT_MS;
  core_rc_init(c->rc, core, &c->neg, &c->sess, c->leases,
               s->reconnect ? wait_s * 1000u : 0, connect_ms,
               c->opts.request_timeout_ms, &env);
  /* without reconnecting the machine only renews expired sessions */
  struct smbq_io_hooks h = {s->reconnect ? hook_lost : NULL, hook_tick, c};
  smbq_io_set_hooks(c->io, &h);
}

int api_reconnect_start(smbq_conn *c) {
  bool on = !c->opts.reconnect_timeout_set || c->opts.reconnect_timeout_s;
  struct core_rc *rc = calloc(1, sizeof(*rc));
  if (!rc)
    return api_fail(c, SMBQ_ERR_NOMEM, 0, "connect");
  struct start_run s = {c, rc, on};
  int r = smbq_io_run(c->io, start_on_io, &s);
  if (r < 0 && !c->rc)
    free(rc);
  return r;
}

static void stop_on_io(void *arg, struct smb2_conn *core) {
  (void)core;
  core_rc_stop(arg);
}

void api_reconnect_stop(smbq_conn *c) {
  if (c->rc && c->io)
    smbq_io_run(c->io, stop_on_io, c->rc);
}

unsigned api_reconnect_count(smbq_conn *c) {
  return c->rc ? __atomic_load_n(&c->rc->reconnects, __ATOMIC_ACQUIRE) : 0;
}

void api_reconnect_info(smbq_conn *c, struct smbq_conn_info *i) {
  struct core_rc *r = c->rc;
  if (!r || !r->timeout_ms)
    return;
  i->reconnecting = r->state != CORE_RC_UP;
  snprintf(i->cause, sizeof(i->cause), "%s", r->cause);
  i->attempt = r->attempt;
  i->reconnects = r->reconnects;
  i->reclaimed = r->reclaimed;
  i->lost = r->lost;
}
