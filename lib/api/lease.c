/* Leases on the API side (MS-SMB2 3.2.5.19): the options, the break
 * worker that runs the caller's break callback and then acknowledges, and
 * the handle cache that keeps a closed file open while the lease allows
 * HANDLE caching (so the lease, and what the caller cached under it,
 * survives a close and the next open costs no round trip).
 *
 * The lease table and its state machine are the core's (core_lease.c);
 * this file only moves breaks from the I/O thread to the worker, because
 * the callback may make sync calls (write held-back data) that the I/O
 * thread must stay free to serve. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/conn_internal.h"
#include "api/fileops.h"
#include "api/lease.h"
#include "smbq_bytes.h"

/* How long a closed file stays open on the server while its lease holds
 * READ and HANDLE caching: the lease, and so what the caller cached under
 * it, survives the open-read-close-open patterns of editors, compilers
 * and file managers. Short, because a server that does not break HANDLE
 * caching when another client deletes the file (Samba before 4.20 does
 * not; MS-FSA says it should) leaves that delete pending until we close.
 * A break that takes HANDLE away closes it at once. */
#define HANDLE_CACHE_MS 5000

/* One break (or local release) waiting for the worker. */
struct break_item {
  struct break_item *next;
  struct core_break b;
  bool local;               /* we gave the rights up ourselves: no ack */
};

struct api_breaks {
  pthread_t thread;
  pthread_mutex_t m;
  pthread_cond_t cv;
  struct break_item *head, *tail;
  bool stop;
  pthread_mutex_t cache_mu; /* held by whoever closes cached handles of a
                               tree that might otherwise be disconnected
                               meanwhile (the worker, tree disconnect) */
};

static int64_t cache_expire(smbq_conn *c, int64_t now);

/* ---- options------------------------------------------------------------- */

int smbq_opts_set_leases(smbq_opts *o, int enabled) {
  if (!o)
    return SMBQ_ERR_INVAL;
  o->leases_off = !enabled;
  return 0;
}

int smbq_opts_set_lease_break_cb(smbq_opts *o, smbq_lease_break_fn cb,
                                 void *arg) {
  if (!o)
    return SMBQ_ERR_INVAL;
  o->lease_cb = cb;
  o->lease_arg = arg;
  return 0;
}

uint32_t api_lease_client_caps(const smbq_conn *c) {
  if (c->opts.leases_off)
    return 0;
  return SMB2_GLOBAL_CAP_LEASING | SMB2_GLOBAL_CAP_DIRECTORY_LEASING;
}

/* MS-SMB2 3.2.4.3.8: V2 leases on 3.x, V1 on 2.1, and a batch oplock
 * where the server leases nothing. */
static enum core_lease_mode lease_mode(const smbq_conn *c) {
  if (c->opts.leases_off)
    return CORE_LEASE_OFF;
  if (c->neg.dialect == SMB2_DIALECT_202 ||
      !(c->neg.server_caps & SMB2_GLOBAL_CAP_LEASING))
    return CORE_LEASE_OPLOCK;
  return c->neg.dialect == SMB2_DIALECT_210 ? CORE_LEASE_V1 : CORE_LEASE_V2;
}

/* ---- the worker---------------------------------------------------------- */

static void enqueue(smbq_conn *c, struct break_item *it) {
  struct api_breaks *w = c->breaks;
  pthread_mutex_lock(&w->m);
  if (w->tail)
    w->tail->next = it;
  else
    w->head = it;
  w->tail = it;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->m);
}

static smbq_tree *tree_of(smbq_conn *c, uint32_t tree_id) {
  pthread_mutex_lock(&c->lock);
  smbq_tree *t = c->trees;
  while (t && t->core.tree_id != tree_id)
    t = t->next;
  pthread_mutex_unlock(&c->lock);
  return t;
}

static void call_back(smbq_conn *c, smbq_tree *t, const struct core_break *b,
                      bool local) {
  if (!c->opts.lease_cb)
    return;
  /* SMB2_LEASE_* and SMBQ_CACHE_* are the same bits on purpose */
  struct smbq_lease_break ev = {
      .tree = t,
      .path = b->path,
      .old_state = b->old_state,
      .new_state = b->new_state,
      .is_dir = b->is_dir,
      .local = local,
  };
  c->opts.lease_cb(c->opts.lease_arg, &ev);
}

struct ack_ctx {
  smbq_conn *c;
  struct core_break *b;
};

static int parse_ack(void *arg, uint32_t status, const uint8_t *msg,
                     size_t len) {
  struct ack_ctx *a = arg;
  core_break_done(a->c->leases, a->b, status ? NULL : msg, len);
  return api_status_err(status);
}

/* MS-SMB2 3.2.4.24 (lease) / 3.2.4.23 (oplock): the acknowledgement. A
 * failure needs no more than settling the state: the server moves on
 * after its timeout anyway. */
static void acknowledge(smbq_conn *c, smbq_tree *t, struct core_break *b) {
  struct smb2_req *r = api_req(c, t, SMB2_OPLOCK_BREAK, 36);
  long n = r ? core_break_ack_body(b, smb2_req_body(r), smb2_req_body_cap(r))
             : -1;
  if (n >= 0) {
    smb2_req_set_body_len(r, (size_t)n);
    struct ack_ctx a = {c, b};
    api_call1(c, r, parse_ack, &a, NULL);
  } else {
    smb2_req_free(r);
  }
  core_break_done(c->leases, b, NULL, 0); /* no-op once parse_ack ran */
}

/* MS-SMB2 3.2.5.19.2: the caller writes what it held back and drops
 * what it cached (the callback), handles kept for reuse are closed when
 * HANDLE goes, then the acknowledgement (none when no open is left:
 * closing answers the break). */
static void handle(smbq_conn *c, struct break_item *it) {
  struct core_break *b = &it->b;
  /* the callback may disconnect trees itself: no lock held */
  call_back(c, tree_of(c, b->tree_id), b, it->local);
  if (it->local)
    return;
  api_cache_lock(c);
  smbq_tree *t = tree_of(c, b->tree_id);
  if (t && (b->old_state & SMB2_LEASE_HANDLE) &&
      !(b->new_state & SMB2_LEASE_HANDLE))
    api_cache_flush_lease(t, b->lease);
  if (b->ack_required && !core_break_orphaned(c->leases, b))
    acknowledge(c, t, b);
  else
    core_break_done(c->leases, b, NULL, 0);
  api_cache_unlock(c);
}

static void *worker(void *arg) {
  smbq_conn *c = arg;
  struct api_breaks *w = c->breaks;
  for (;;) {
    api_cache_lock(c);
    int64_t next = cache_expire(c, smbq_now_ms());
    api_cache_unlock(c);
    pthread_mutex_lock(&w->m);
    if (!w->head && !w->stop) {
      if (next < 0) {
        pthread_cond_wait(&w->cv, &w->m);
      } else {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t wait = next - smbq_now_ms();
        if (wait < 0)
          wait = 0;
        ts.tv_sec += wait / 1000;
        ts.tv_nsec += (wait % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000) {
          ts.tv_sec++;
          ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&w->cv, &w->m, &ts);
      }
    }
    struct break_item *it = w->head;
    if (it) {
      w->head = it->next;
      if (!w->head)
        w->tail = NULL;
    }
    bool stop = w->stop && !it;
    pthread_mutex_unlock(&w->m);
    if (stop)
      return NULL;
    if (it) {
      handle(c, it);
      free(it);
    }
  }
}

/* Runs on the I/O thread (smb2_conn's notify): decode and queue. */
static void on_notify(void *user, const uint8_t *msg, size_t len,
                      bool encrypted) {
  (void)encrypted;
  smbq_conn *c = user;
  if (!c->leases || !c->breaks)
    return;
  struct break_item *it = calloc(1, sizeof(*it));
  if (!it)
    return; /* the server times the break out; nothing is lost */
  int rc = core_leases_on_notify(c->leases, msg, len, &it->b);
  if (rc == 1) {
    enqueue(c, it);
    return;
  }
  free(it);
  if (rc < 0) {
    /* not the caller's failure: recorded for smbq_conn_errmsg only */
    pthread_mutex_lock(&c->lock);
    snprintf(c->errmsg, sizeof(c->errmsg),
             "server %s sent a malformed oplock or lease break "
             "notification (ignored)", c->server);
    pthread_mutex_unlock(&c->lock);
  }
}

void api_leases_env(smbq_conn *c, struct smb2_conn_env *env) {
  env->notify = on_notify;
  env->user = c;
}

int api_leases_start(smbq_conn *c) {
  enum core_lease_mode mode = lease_mode(c);
  if (mode == CORE_LEASE_OFF)
    return 0;
  struct api_breaks *w = calloc(1, sizeof(*w));
  struct core_leases *t = core_leases_new(mode, api_random, c);
  if (!w || !t) {
    free(w);
    core_leases_free(t);
    return api_fail(c, SMBQ_ERR_NOMEM, 0, "cannot set up leases");
  }
  pthread_mutex_init(&w->m, NULL);
  pthread_mutex_init(&w->cache_mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&w->cv, &ca);
  pthread_condattr_destroy(&ca);
  c->leases = t;
  c->breaks = w;
  int err = pthread_create(&w->thread, NULL, worker, c);
  if (err) {
    c->breaks = NULL;
    c->leases = NULL;
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->m);
    pthread_mutex_destroy(&w->cache_mu);
    free(w);
    core_leases_free(t);
    return api_fail(c, SMBQ_ERR_NOMEM, 0,
                    "cannot start the lease break thread: %s",
                    strerror(err));
  }
  return 0;
}

void api_leases_stop(smbq_conn *c) {
  struct api_breaks *w = c->breaks;
  if (!w)
    return;
  pthread_mutex_lock(&w->m);
  w->stop = true;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->m);
  pthread_join(w->thread, NULL);
  /* breaks still queued when the connection goes: nothing to ack */
  while (w->head) {
    struct break_item *it = w->head;
    w->head = it->next;
    if (!it->local)
      core_break_done(c->leases, &it->b, NULL, 0);
    free(it);
  }
  pthread_cond_destroy(&w->cv);
  pthread_mutex_destroy(&w->m);
  pthread_mutex_destroy(&w->cache_mu);
  free(w);
  c->breaks = NULL;
}

void api_leases_free(smbq_conn *c) {
  core_leases_free(c->leases);
  c->leases = NULL;
}

void api_lease_lapsed(smbq_conn *c, struct core_open *o) {
  if (!c->breaks || !c->opts.lease_cb || !o->lease)
    return;
  struct break_item *it = calloc(1, sizeof(*it));
  if (!it)
    return;
  it->local = true;
  it->b.is_dir = core_lease_is_dir(c->leases, o->lease);
  it->b.tree_id = o->tree->tree_id;
  it->b.old_state = SMB2_LEASE_READ | SMB2_LEASE_HANDLE | SMB2_LEASE_WRITE;
  it->b.new_state = 0;
  snprintf(it->b.path, sizeof(it->b.path), "%s", o->path);
  for (char *p = it->b.path; *p; p++)
    if (*p == '\\')
      *p = '/';
  enqueue(c, it);
}

/* The entry's own path dies with it: the release names the file's. */
void api_lease_release(smbq_tree *t, const char *path, struct core_lease *l) {
  smbq_conn *c = t->conn;
  if (!l)
    return;
  uint32_t held = core_lease_state(c->leases, l);
  bool is_dir = core_lease_is_dir(c->leases, l);
  uint32_t gone = core_lease_put(c->leases, l);
  if (!gone || !held || !c->breaks || !c->opts.lease_cb)
    return;
  struct break_item *it = calloc(1, sizeof(*it));
  if (!it)
    return;
  it->local = true;
  it->b.is_dir = is_dir;
  it->b.tree_id = t->core.tree_id;
  it->b.old_state = gone;
  it->b.new_state = 0;
  snprintf(it->b.path, sizeof(it->b.path), "%s", path);
  for (char *p = it->b.path; *p; p++)
    if (*p == '\\')
      *p = '/';
  enqueue(c, it);
}

/* ---- handle cache----------------------------------------------------- */

bool api_cache_put(smbq_file *f) {
  smbq_conn *c = f->tree->conn;
  uint32_t need = SMB2_LEASE_READ | SMB2_LEASE_HANDLE;
  /* an oplock belongs to one open: our own next open of the file would
   * break a kept one, so only a lease (shared by our opens) is kept */
  if (!c->breaks ||
      core_leases_mode(c->leases) < CORE_LEASE_V1 ||
      (core_lease_state(c->leases, f->open.lease) & need) != need ||
      core_lease_doomed(c->leases, f->open.lease))
    return false;
  f->cached_until_ms = smbq_now_ms() + HANDLE_CACHE_MS;
  pthread_mutex_lock(&c->lock);
  f->cache_next = f->tree->cached;
  f->tree->cached = f;
  pthread_mutex_unlock(&c->lock);
  /* the worker's next wake-up may now be earlier */
  pthread_mutex_lock(&c->breaks->m);
  pthread_cond_signal(&c->breaks->cv);
  pthread_mutex_unlock(&c->breaks->m);
  return true;
}

/* Take the cached files that match out of t's list, then close them
 * (outside the lock: closing waits for the server). */
typedef bool (*cache_match_fn)(const smbq_file *f, const void *arg,
                               int64_t now);

static int64_t cache_close_matching(smbq_tree *t, cache_match_fn match,
                                    const void *arg, int64_t now) {
  smbq_conn *c = t->conn;
  smbq_file *doomed = NULL;
  int64_t next = -1;
  pthread_mutex_lock(&c->lock);
  smbq_file **pp = &t->cached;
  while (*pp) {
    smbq_file *f = *pp;
    if (match(f, arg, now)) {
      *pp = f->cache_next;
      f->cache_next = doomed;
      doomed = f;
      continue;
    }
    if (next < 0 || f->cached_until_ms < next)
      next = f->cached_until_ms;
    pp = &f->cache_next;
  }
  pthread_mutex_unlock(&c->lock);
  while (doomed) {
    smbq_file *f = doomed;
    doomed = f->cache_next;
    api_file_close_now(f);
  }
  return next;
}

static bool match_under(const smbq_file *f, const void *arg, int64_t now) {
  (void)now;
  return core_path_under(f->open.path, arg);
}

static bool match_lease(const smbq_file *f, const void *arg, int64_t now) {
  (void)now;
  return f->open.lease == arg;
}

static bool match_expired(const smbq_file *f, const void *arg, int64_t now) {
  (void)arg;
  return f->cached_until_ms <= now;
}

static bool match_all(const smbq_file *f, const void *arg, int64_t now) {
  (void)f, (void)arg, (void)now;
  return true;
}

void api_cache_flush(smbq_tree *t, const char *path) {
  if (t->cached)
    cache_close_matching(t, match_under, path, 0);
}

void api_cache_flush_lease(smbq_tree *t, const struct core_lease *l) {
  cache_close_matching(t, match_lease, l, 0);
}

void api_cache_flush_tree(smbq_tree *t) {
  cache_close_matching(t, match_all, NULL, 0);
}

/* Runs on the worker with the cache lock held, so no tree goes away
 * meanwhile (smbq_tree_disconnect takes it too). */
static int64_t cache_expire(smbq_conn *c, int64_t now) {
  int64_t next = -1;
  uint32_t ids[64];
  size_t n = 0;
  pthread_mutex_lock(&c->lock);
  for (smbq_tree *t = c->trees; t && n < 64; t = t->next)
    if (t->cached)
      ids[n++] = t->core.tree_id;
  pthread_mutex_unlock(&c->lock);
  for (size_t i = 0; i < n; i++) {
    smbq_tree *t = tree_of(c, ids[i]);
    int64_t nx = t ? cache_close_matching(t, match_expired, NULL, now) : -1;
    if (nx >= 0 && (next < 0 || nx < next))
      next = nx;
  }
  return next;
}

void api_cache_lock(smbq_conn *c) {
  if (c->breaks)
    pthread_mutex_lock(&c->breaks->cache_mu);
}

void api_cache_unlock(smbq_conn *c) {
  if (c->breaks)
    pthread_mutex_unlock(&c->breaks->cache_mu);
}
