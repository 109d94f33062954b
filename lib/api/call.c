/* Sync calls on top of the async core: submit, then wait on a condition
 * variable signalled from the I/O thread. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "smb2/smb2_hdr.h"

int api_status_err(uint32_t status) {
  return smbq_err_from_ntstatus(status);
}

/* Thread tid's slot, or NULL; with create, a new or the least recently
 * used slot. Called with c->lock held. */
static struct api_err_slot *err_slot(smbq_conn *c, pthread_t self,
                                     bool create) {
  struct api_err_slot *lru = NULL;
  for (size_t i = 0; i < c->n_err_slots; i++) {
    struct api_err_slot *s = &c->err_slots[i];
    if (pthread_equal(s->tid, self))
      return s;
    if (!lru || s->stamp < lru->stamp)
      lru = s;
  }
  if (!create)
    return NULL;
  if (c->n_err_slots < API_ERR_SLOTS)
    lru = &c->err_slots[c->n_err_slots++];
  lru->tid = self;
  return lru;
}

static void set_errmsg_for(smbq_conn *c, pthread_t tid, uint32_t status,
                           const char *msg) {
  pthread_mutex_lock(&c->lock);
  snprintf(c->errmsg, sizeof(c->errmsg), "%s", msg);
  c->ntstatus = status;
  struct api_err_slot *s = err_slot(c, tid, true);
  snprintf(s->msg, sizeof(s->msg), "%s", msg);
  s->ntstatus = status;
  s->stamp = ++c->err_stamp;
  pthread_mutex_unlock(&c->lock);
}

static void vfail_for(smbq_conn *c, pthread_t tid, int rc, uint32_t status,
                      const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

static void vfail_for(smbq_conn *c, pthread_t tid, int rc, uint32_t status,
                      const char *fmt, va_list ap) {
  char msg[1536];
  vsnprintf(msg, sizeof(msg), fmt, ap);
  char why[640] = "";
  if ((rc == SMBQ_ERR_CLOSED || rc == SMBQ_ERR_TIMEOUT ||
       rc == SMBQ_ERR_PROTO || rc == SMBQ_ERR_SIGNATURE ||
       rc == SMBQ_ERR_CERT || rc == SMBQ_ERR_TLS ||
       rc == SMBQ_ERR_NOSESSION) && c->io)
    smbq_io_error(c->io, why, sizeof(why));
  const char *sname = status ? smbq_ntstatus_name(status) : NULL;
  char full[2048];
  if (sname && why[0] && rc == SMBQ_ERR_NOSESSION)
    snprintf(full, sizeof(full), "%s: %s (%s): %s", msg, smbq_strerror(rc),
             sname, why);
  else if (sname)
    snprintf(full, sizeof(full), "%s: %s (%s)", msg, smbq_strerror(rc),
             sname);
  else if (status)
    snprintf(full, sizeof(full), "%s: %s (NTSTATUS 0x%08x)", msg,
             smbq_strerror(rc), status);
  else if (why[0])
    snprintf(full, sizeof(full), "%s: %s", msg, why);
  else
    snprintf(full, sizeof(full), "%s: %s", msg, smbq_strerror(rc));
  set_errmsg_for(c, tid, status, full);
}

int api_fail(smbq_conn *c, int rc, uint32_t status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfail_for(c, pthread_self(), rc, status, fmt, ap);
  va_end(ap);
  return rc;
}

int api_fail_for(smbq_conn *c, pthread_t tid, int rc, uint32_t status,
                 const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfail_for(c, tid, rc, status, fmt, ap);
  va_end(ap);
  return rc;
}

void api_set_errmsg(smbq_conn *c, uint32_t status, const char *msg) {
  set_errmsg_for(c, pthread_self(), status, msg);
}

/* A thread that never failed on this connection gets the connection's
 * last failure (e.g. a connect made by another thread). */
const char *smbq_conn_errmsg(smbq_conn *c, char *buf, size_t len) {
  if (!buf || !len)
    return buf;
  if (!c) {
    snprintf(buf, len, "no connection");
    return buf;
  }
  pthread_mutex_lock(&c->lock);
  const struct api_err_slot *s = err_slot(c, pthread_self(), false);
  const char *m = s ? s->msg : c->errmsg;
  snprintf(buf, len, "%s", m[0] ? m : "no error");
  pthread_mutex_unlock(&c->lock);
  return buf;
}

uint32_t smbq_conn_ntstatus(smbq_conn *c) {
  pthread_mutex_lock(&c->lock);
  const struct api_err_slot *slot = err_slot(c, pthread_self(), false);
  uint32_t s = slot ? slot->ntstatus : c->ntstatus;
  pthread_mutex_unlock(&c->lock);
  return s;
}

struct smb2_req *api_req(smbq_conn *c, smbq_tree *t, uint16_t cmd,
                         size_t body_cap) {
  struct smb2_req *r = smb2_req_new_from(c->pool, cmd, body_cap);
  if (!r)
    return NULL;
  if (c->session_valid)
    r->sec = t ? core_tree_sec(&t->core) : &c->sess.sec;
  r->tree_id = t ? t->core.tree_id : 0;
  return r;
}

static void elem_done(void *arg, int err, uint32_t status,
                      const uint8_t *msg, size_t len) {
  struct api_elem *e = arg;
  e->status = status;
  if (err < 0)
    e->rc = err;
  else if (NT_STATUS_IS_ERROR(status)) /* the one place errors map */
    e->rc = api_status_err(status) ? api_status_err(status)
                                   : SMBQ_ERR_PROTO;
  else if (e->parse) /* success, or a warning that carries data */
    e->rc = e->parse(e->ctx, status, msg, len);
  else
    e->rc = api_status_err(status);
  struct api_call *call = e->call;
  pthread_mutex_lock(&call->m);
  call->remaining--;
  pthread_cond_broadcast(&call->cv);
  pthread_mutex_unlock(&call->m);
}

void api_elem_init(struct api_elem *e, struct api_call *call,
                   struct smb2_req *r, api_parse_fn parse, void *ctx) {
  memset(e, 0, sizeof(*e));
  e->call = call;
  e->parse = parse;
  e->ctx = ctx;
  r->done = elem_done;
  r->arg = e;
}

static void free_chain(struct smb2_req *r) {
  while (r) {
    struct smb2_req *n = r->chain;
    smb2_req_free(r);
    r = n;
  }
}

int api_run(smbq_conn *c, struct api_call *call, int n,
            struct smb2_req *chain) {
  if (!c->io || smbq_io_on_thread(c->io)) {
    free_chain(chain);
    return SMBQ_ERR_INVAL; /* sync call from a callback would deadlock */
  }
  pthread_mutex_init(&call->m, NULL);
  pthread_cond_init(&call->cv, NULL);
  call->remaining = n;
  int rc = smbq_io_submit(c->io, chain);
  if (rc < 0) {
    free_chain(chain);
  } else {
    pthread_mutex_lock(&call->m);
    while (call->remaining > 0)
      pthread_cond_wait(&call->cv, &call->m);
    pthread_mutex_unlock(&call->m);
  }
  pthread_mutex_destroy(&call->m);
  pthread_cond_destroy(&call->cv);
  return rc;
}

int api_call1(smbq_conn *c, struct smb2_req *r, api_parse_fn parse,
              void *ctx, uint32_t *status) {
  struct api_call call;
  struct api_elem e;
  api_elem_init(&e, &call, r, parse, ctx);
  int rc = api_run(c, &call, 1, r);
  if (status)
    *status = rc < 0 ? 0 : e.status;
  return rc < 0 ? rc : e.rc;
}

/* ---- core state machines ------------------------------------------------ */

static void core_kick(void *arg, struct smb2_conn *core) {
  struct api_core_call *w = arg;
  w->start_rc = w->start(w, core);
}

int api_core_run(smbq_conn *c, struct api_core_call *w) {
  w->done = false;
  pthread_mutex_init(&w->m, NULL);
  pthread_cond_init(&w->cv, NULL);
  int rc = smbq_io_run(c->io, core_kick, w);
  if (rc == 0 && w->start_rc == 0) {
    pthread_mutex_lock(&w->m);
    while (!w->done)
      pthread_cond_wait(&w->cv, &w->m);
    pthread_mutex_unlock(&w->m);
  }
  pthread_mutex_destroy(&w->m);
  pthread_cond_destroy(&w->cv);
  return rc < 0 ? rc : w->start_rc;
}

void api_core_done(struct api_core_call *w) {
  pthread_mutex_lock(&w->m);
  w->done = true;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->m);
}
