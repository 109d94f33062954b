/* Happy-eyeballs racing of TCP and QUIC (see connect_race.h). */
#include "transport/connect_race.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "smbq/smbq_err.h"

const char *smbq_tp_kind_name(enum smbq_tp_kind k) {
  return k == SMBQ_TP_QUIC ? "quic" : "tcp";
}

static const char *kind_label(enum smbq_tp_kind k) {
  return k == SMBQ_TP_QUIC ? "QUIC" : "TCP";
}

void smbq_race_init(struct smbq_race *r, const struct smbq_race_cfg *cfg,
                    int64_t now_ns) {
  memset(r, 0, sizeof(*r));
  r->cfg = *cfg;
  r->a[0].kind = cfg->first;
  r->a[1].kind = cfg->first == SMBQ_TP_TCP ? SMBQ_TP_QUIC : SMBQ_TP_TCP;
  r->second_at_ns = now_ns + cfg->head_start_ns;
}

/* Record why an attempt failed (msg may point into the transport being
 * freed, so it is copied first). */
static void attempt_fail(struct smbq_race_attempt *a, int rc,
                         const char *msg) {
  if (msg != a->err)
    snprintf(a->err, sizeof(a->err), "%s", msg);
  smbq_transport_free(a->tp);
  a->tp = NULL;
  a->state = SMBQ_RACE_FAILED;
  a->rc = rc;
}

/* The loser of the race: freed at once (QUIC mid-handshake just drops its
 * state; the server's handshake timer cleans up its side). */
static void attempt_discard(struct smbq_race_attempt *a) {
  if (a->state == SMBQ_RACE_RUNNING)
    attempt_fail(a, SMBQ_ERR_CANCELLED, "another transport connected first");
}

/* The second attempt is due after the head start, or at once when the
 * first one has failed (nothing to wait for). */
static bool is_due(const struct smbq_race *r, int i, int64_t now_ns) {
  if (r->a[i].state != SMBQ_RACE_IDLE)
    return false;
  if (i == 0)
    return true;
  return r->cfg.race && (now_ns >= r->second_at_ns ||
                         r->a[0].state == SMBQ_RACE_FAILED);
}

static void attempt_start(struct smbq_race *r, int i) {
  struct smbq_race_attempt *a = &r->a[i];
  a->err[0] = '\0';
  int rc = r->cfg.open(r->cfg.user, a->kind, &a->tp, a->err, sizeof(a->err));
  if (rc == 0) {
    a->state = SMBQ_RACE_RUNNING;
    return;
  }
  a->tp = NULL;
  if (!a->err[0])
    snprintf(a->err, sizeof(a->err), "cannot start %s", kind_label(a->kind));
  attempt_fail(a, rc, a->err);
}

/* Advance one running attempt; 1 = it connected. */
static int attempt_step(struct smbq_race_attempt *a, int64_t now_ns) {
  if (a->state != SMBQ_RACE_RUNNING)
    return 0;
  int rc = a->tp->ops->step(a->tp, now_ns / 1000000);
  if (rc > 0) {
    a->state = SMBQ_RACE_WON;
    return 1;
  }
  if (rc < 0)
    attempt_fail(a, rc, a->tp->errmsg);
  return 0;
}

/* How much an error tells the user: the server answered (certificate, TLS,
 * protocol) beats local configuration, which beats "nothing answered". */
static int err_rank(int rc) {
  switch (rc) {
  case SMBQ_ERR_NOMEM:
    return 6;
  case SMBQ_ERR_CERT:
    return 5;
  case SMBQ_ERR_TLS:
    return 4;
  case SMBQ_ERR_INVAL:
    return 3;
  case SMBQ_ERR_PROTO:
  case SMBQ_ERR_CLOSED:
    return 2;
  default:
    return 1;
  }
}

/* All that may run has failed: say both causes, return the telling one. */
static int race_failed(struct smbq_race *r) {
  const struct smbq_race_attempt *a = &r->a[0], *b = &r->a[1];
  if (b->state != SMBQ_RACE_FAILED) {
    snprintf(r->errmsg, sizeof(r->errmsg), "%s", a->err);
    return a->rc;
  }
  snprintf(r->errmsg, sizeof(r->errmsg), "%.480s; then over %s: %.480s",
           a->err, kind_label(b->kind), b->err);
  return err_rank(b->rc) > err_rank(a->rc) ? b->rc : a->rc;
}

static bool all_failed(const struct smbq_race *r) {
  if (r->a[0].state != SMBQ_RACE_FAILED)
    return false;
  return !r->cfg.race || r->a[1].state == SMBQ_RACE_FAILED;
}

static int race_nomem(struct smbq_race *r) {
  smbq_race_clear(r);
  snprintf(r->errmsg, sizeof(r->errmsg), "out of memory while connecting");
  return SMBQ_ERR_NOMEM;
}

int smbq_race_step(struct smbq_race *r, int64_t now_ns) {
  /* In order: when the first attempt fails here, the second becomes due
   * and starts in the same call. */
  for (int i = 0; i < 2; i++) {
    struct smbq_race_attempt *a = &r->a[i];
    if (is_due(r, i, now_ns))
      attempt_start(r, i);
    if (attempt_step(a, now_ns)) {
      attempt_discard(&r->a[1 - i]);
      return 1;
    }
    if (a->state == SMBQ_RACE_FAILED && a->rc == SMBQ_ERR_NOMEM)
      return race_nomem(r);
  }
  return all_failed(r) ? race_failed(r) : 0;
}

nfds_t smbq_race_pollfds(const struct smbq_race *r, struct pollfd *pfd) {
  nfds_t n = 0;
  for (int i = 0; i < 2; i++) {
    const struct smbq_race_attempt *a = &r->a[i];
    if (a->state != SMBQ_RACE_RUNNING)
      continue;
    uint32_t ev = a->tp->ops->events(a->tp);
    pfd[n].fd = a->tp->ops->fd(a->tp);
    pfd[n].events = (short)(((ev & SMBQ_TP_WANT_READ) ? POLLIN : 0) |
                            ((ev & SMBQ_TP_WANT_WRITE) ? POLLOUT : 0));
    pfd[n].revents = 0;
    n++;
  }
  return n;
}

static int64_t earlier(int64_t a, int64_t b) {
  if (a < 0)
    return b;
  return b < 0 || a < b ? a : b;
}

int64_t smbq_race_deadline(const struct smbq_race *r, int64_t now_ns) {
  int64_t d = -1;
  if (r->cfg.race && r->a[1].state == SMBQ_RACE_IDLE)
    d = r->second_at_ns;
  for (int i = 0; i < 2; i++) {
    const struct smbq_race_attempt *a = &r->a[i];
    if (a->state != SMBQ_RACE_RUNNING)
      continue;
    /* bytes already inside the transport: no socket event will come */
    if (a->tp->ops->events(a->tp) & SMBQ_TP_HAVE_DATA)
      return now_ns;
    d = earlier(d, a->tp->ops->deadline(a->tp));
  }
  return d;
}

struct smbq_transport *smbq_race_take(struct smbq_race *r) {
  for (int i = 0; i < 2; i++) {
    struct smbq_race_attempt *a = &r->a[i];
    if (a->state == SMBQ_RACE_WON && a->tp) {
      struct smbq_transport *tp = a->tp;
      a->tp = NULL;
      return tp;
    }
  }
  return NULL;
}

void smbq_race_clear(struct smbq_race *r) {
  for (int i = 0; i < 2; i++)
    if (r->a[i].tp)
      attempt_fail(&r->a[i], SMBQ_ERR_CANCELLED, "connect abandoned");
}

static void race_wait(struct smbq_race *r) {
  struct pollfd pfd[2];
  nfds_t n = smbq_race_pollfds(r, pfd);
  int64_t now = smbq_now_ns();
  int64_t d = smbq_race_deadline(r, now);
  int64_t wait = d < 0 ? -1 : (d > now ? d - now : 0);
  struct timespec ts = {(time_t)(wait / 1000000000),
                        (long)(wait % 1000000000)};
  ppoll(pfd, n, wait < 0 ? NULL : &ts, NULL);
}

int smbq_race_run(struct smbq_race *r, struct smbq_transport **out) {
  *out = NULL;
  for (;;) {
    int rc = smbq_race_step(r, smbq_now_ns());
    if (rc > 0) {
      *out = smbq_race_take(r);
      smbq_race_clear(r);
      return 0;
    }
    if (rc < 0) {
      smbq_race_clear(r);
      return rc;
    }
    race_wait(r);
  }
}
