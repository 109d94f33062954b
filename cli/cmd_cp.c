/* smbq cp [-r] [--resume] SRC... DST: copies between local files and
 * shares, in either direction, many files at once on one connection.
 *
 * The main thread walks the sources (streamed, depth first), creates the
 * destination directories and queues one job per file in a bounded queue;
 * a pool of workers takes jobs and copies them, all over the same
 * connection(s): the library keeps every worker's requests in flight
 * together, and splits each block of a large file into many READ/WRITE
 * requests itself.
 *
 * A file is written under NAME.smbq-part and renamed to NAME only after
 * every byte was acknowledged (and, on a share, flushed and closed) and its
 * modification time was set, so NAME never holds a truncated copy. With
 * --resume a .smbq-part (or a shorter NAME) is continued, and complete
 * files (same size and mtime) are skipped. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cp_fs.h"
#include "exitcodes.h"
#include "local_dest.h"
#include "progress.h"

#define CP_WORKERS 8
/* Per read/write; each worker has two blocks (one read while the other is
 * written), so 8 workers hold at most 64 MiB. */
#define BLOCK (4u * 1024 * 1024)
#define QUEUE_CAP 256
/* --resume compares this much of the kept prefix with the source. */
#define TAIL_CHECK (64u * 1024)
#define MAX_DEPTH 256
#define MAX_EPS 8
#define MAX_JSON_ERRORS 1000
#define PART_SUFFIX LOCAL_PART_SUFFIX

/* ---- run state ------------------------------------------------------- */

struct job {
  struct cp_ep *se, *de;
  char *src, *dst; /* paths inside their endpoints (same allocation) */
  struct cp_stat st; /* of the source, as the walk saw it */
};

struct queue {
  pthread_mutex_t m;
  pthread_cond_t not_empty, not_full;
  struct job *ring[QUEUE_CAP];
  size_t head, count;
  bool closed;
};

struct dir_time {
  struct cp_ep *ep;
  char *path;
  struct timespec mtime;
};

struct err_rec {
  char *path, *msg;
  int code;
};

struct cp_run {
  struct cli *cli;
  struct cp_ep local;
  struct cp_ep eps[MAX_EPS]; /* shares */
  int n_eps;
  struct queue q;
  struct progress *prog;
  atomic_bool abort;          /* a connection is lost: stop */
  atomic_uint_fast64_t not_copied; /* files dropped after the abort */
  pthread_mutex_t err_lock;   /* guards the fields below */
  int first_exit;
  struct err_rec *errs;
  size_t n_errs, cap_errs;
  /* directories made, for their mtimes once all files are in (main
   * thread only) */
  struct dir_time *dirs;
  size_t n_dirs, cap_dirs;
};

/* ---- names ----------------------------------------------------------- */

static bool ep_remote(const struct cp_ep *e) { return e->fs == &cp_fs_remote; }

/* "//host/share/path" for a share, the path for a local file. */
static void ep_name(const struct cp_ep *e, const char *path, char *buf,
                    size_t len) {
  if (!ep_remote(e))
    snprintf(buf, len, "%s", path);
  else
    snprintf(buf, len, "//%s/%s%s%s", e->share.url.host, e->share.url.share,
             path[0] ? "/" : "", path);
}

/* dir + "/" + name (a share's root is ""). Returns NULL when out of
 * memory. */
static char *path_join(const char *dir, const char *name) {
  size_t dl = strlen(dir);
  const char *sep = dl == 0 || dir[dl - 1] == '/' ? "" : "/";
  size_t n = dl + strlen(sep) + strlen(name) + 1;
  char *p = malloc(n);
  if (p)
    snprintf(p, n, "%s%s%s", dir, sep, name);
  return p;
}

static char *str_cat(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  char *p = malloc(la + lb + 1);
  if (p) {
    memcpy(p, a, la);
    memcpy(p + la, b, lb + 1);
  }
  return p;
}

static bool has_trailing_slash(const char *s) {
  size_t l = strlen(s);
  return l > 1 && (s[l - 1] == '/' || s[l - 1] == '\\');
}

/* ---- errors ---------------------------------------------------------- */

/* Errors after which the connection is gone: every later file would fail
 * the same way, so the copy stops instead of listing them all. */
static bool conn_lost(int err) {
  return err == SMBQ_ERR_CLOSED || err == SMBQ_ERR_NET ||
         err == SMBQ_ERR_TIMEOUT || err == SMBQ_ERR_CANCELLED ||
         err == SMBQ_ERR_NOSESSION;
}

static void record(struct cp_run *r, int code, const char *path,
                   const char *msg) {
  pthread_mutex_lock(&r->err_lock);
  if (!r->first_exit)
    r->first_exit = code;
  if (r->n_errs == r->cap_errs && r->n_errs < MAX_JSON_ERRORS) {
    size_t cap = r->cap_errs ? r->cap_errs * 2 : 16;
    struct err_rec *n = realloc(r->errs, cap * sizeof(*n));
    if (n) {
      r->errs = n;
      r->cap_errs = cap;
    }
  }
  if (r->n_errs < r->cap_errs) {
    r->errs[r->n_errs] = (struct err_rec){strdup(path), strdup(msg), code};
    r->n_errs++;
  }
  pthread_mutex_unlock(&r->err_lock);
}

/* Report an error about `path` with exit code `code`: on stderr at once,
 * and in the --json summary. */
__attribute__((format(printf, 4, 5))) static void
fail_code(struct cp_run *r, int code, const char *path, const char *fmt, ...) {
  char msg[1536];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  progress_msg(r->prog, "smbq: %s", msg);
  record(r, code, path, msg);
}

/* "WHAT NAME: WHY" about `path` for a call that failed with err. */
static void fail_err(struct cp_run *r, int err, const char *path,
                     const char *what, const char *name, const char *why) {
  if (!why || !why[0])
    why = smbq_strerror(err);
  fail_code(r, smbq_exit_from_err(err), path, "%s %s: %s", what, name, why);
  if (conn_lost(err))
    atomic_store(&r->abort, true);
}

/* ---- job queue (bounded: the walk waits for the workers) ------------- */

static void queue_init(struct queue *q) {
  memset(q, 0, sizeof(*q));
  pthread_mutex_init(&q->m, NULL);
  pthread_cond_init(&q->not_empty, NULL);
  pthread_cond_init(&q->not_full, NULL);
}

static void queue_destroy(struct queue *q) {
  pthread_mutex_destroy(&q->m);
  pthread_cond_destroy(&q->not_empty);
  pthread_cond_destroy(&q->not_full);
}

static void queue_push(struct queue *q, struct job *j) {
  pthread_mutex_lock(&q->m);
  while (q->count == QUEUE_CAP)
    pthread_cond_wait(&q->not_full, &q->m);
  q->ring[(q->head + q->count) % QUEUE_CAP] = j;
  q->count++;
  pthread_cond_signal(&q->not_empty);
  pthread_mutex_unlock(&q->m);
}

/* NULL once the queue is closed and empty. */
static struct job *queue_pop(struct queue *q) {
  pthread_mutex_lock(&q->m);
  while (q->count == 0 && !q->closed)
    pthread_cond_wait(&q->not_empty, &q->m);
  struct job *j = NULL;
  if (q->count) {
    j = q->ring[q->head];
    q->head = (q->head + 1) % QUEUE_CAP;
    q->count--;
    pthread_cond_signal(&q->not_full);
  }
  pthread_mutex_unlock(&q->m);
  return j;
}

static void queue_close(struct queue *q) {
  pthread_mutex_lock(&q->m);
  q->closed = true;
  pthread_cond_broadcast(&q->not_empty);
  pthread_mutex_unlock(&q->m);
}

/* ---- one read or write in flight ------------------------------------- */

struct op {
  pthread_mutex_t m;
  pthread_cond_t cv;
  bool busy, done;
  ssize_t res;
  size_t len;
  uint64_t off;
};

static void op_init(struct op *o) {
  pthread_mutex_init(&o->m, NULL);
  pthread_cond_init(&o->cv, NULL);
  o->busy = false;
}

static void op_destroy(struct op *o) {
  pthread_mutex_destroy(&o->m);
  pthread_cond_destroy(&o->cv);
}

/* Completion callback: runs on the I/O thread (a share) or inline. */
static void op_done(void *arg, ssize_t res) {
  struct op *o = arg;
  pthread_mutex_lock(&o->m);
  o->res = res;
  o->done = true;
  pthread_cond_signal(&o->cv);
  pthread_mutex_unlock(&o->m);
}

static void op_arm(struct op *o, size_t len, uint64_t off) {
  o->done = false;
  o->len = len;
  o->off = off;
}

static ssize_t op_wait(struct op *o) {
  pthread_mutex_lock(&o->m);
  while (!o->done)
    pthread_cond_wait(&o->cv, &o->m);
  pthread_mutex_unlock(&o->m);
  o->busy = false;
  return o->res;
}

/* ---- copying one file ------------------------------------------------ */

struct slot {
  uint8_t *buf;
  struct op rd, wr;
};

struct worker {
  struct cp_run *r;
  pthread_t thread;
  struct slot s[2];
};

/* One file in progress; the first error is kept with its message. */
struct xfer {
  struct cp_ep *se, *de;
  void *sh, *dh;
  const char *sname, *dname; /* for messages */
  uint64_t end;              /* bytes in the destination so far */
  bool no_flush;             /* --no-flush: CP_STORE, not CP_STORE_FLUSH */
  int err;
  struct cp_ep *err_ep; /* the side that failed */
  const char *what, *name;
  char msg[512];
};

static void xfer_fail(struct xfer *x, int err, struct cp_ep *e,
                      const char *what, const char *name) {
  if (x->err)
    return;
  cp_note_error(e, err);
  x->err = err;
  x->err_ep = e;
  x->what = what;
  x->name = name;
  snprintf(x->msg, sizeof(x->msg), "%s", cp_errmsg());
}

static int start_read(struct xfer *x, struct slot *s, uint64_t off) {
  op_arm(&s->rd, BLOCK, off);
  int err = x->se->fs->read(x->sh, s->buf, BLOCK, off, op_done, &s->rd);
  if (err < 0) {
    xfer_fail(x, err, x->se, "cannot read", x->sname);
    return err;
  }
  s->rd.busy = true;
  return 0;
}

static int start_write(struct xfer *x, struct slot *s, size_t len,
                       uint64_t off) {
  op_arm(&s->wr, len, off);
  int err = x->de->fs->write(x->dh, s->buf, len, off, op_done, &s->wr);
  if (err < 0) {
    xfer_fail(x, err, x->de, "cannot write", x->dname);
    return err;
  }
  s->wr.busy = true;
  return 0;
}

/* Wait for a write; it counts once every byte is acknowledged. */
static int finish_write(struct worker *w, struct xfer *x, struct op *o) {
  if (!o->busy)
    return 0;
  ssize_t n = op_wait(o);
  if (n >= 0 && (size_t)n == o->len) {
    progress_add_copied(w->r->prog, o->len);
    return 0;
  }
  xfer_fail(x, n < 0 ? (int)n : SMBQ_ERR_IO, x->de, "cannot write",
            x->dname);
  return -1;
}

/* Let nothing in flight outlive the copy: the buffers are reused. */
static void drain(struct worker *w, struct xfer *x) {
  for (int i = 0; i < 2; i++) {
    if (w->s[i].rd.busy)
      op_wait(&w->s[i].rd);
    finish_write(w, x, &w->s[i].wr);
  }
}

/* Copy from offset `off` to the source's end. Two blocks alternate: one
 * is read while the other is written. The side that completes later
 * (a share) is started first, so that it works while the local side's
 * call runs. */
static void pump(struct worker *w, struct xfer *x, uint64_t off) {
  struct slot *s = w->s;
  int cur = 0;
  bool src_async = x->se->fs->async;
  x->end = off;
  if (start_read(x, &s[0], off) < 0)
    return;
  for (;;) {
    ssize_t n = op_wait(&s[cur].rd);
    if (n < 0) {
      xfer_fail(x, (int)n, x->se, "cannot read", x->sname);
      break;
    }
    int nxt = cur ^ 1;
    if (finish_write(w, x, &s[nxt].wr) < 0)
      break;
    bool more = (size_t)n == BLOCK;
    uint64_t at = s[cur].rd.off;
    if (src_async && more && start_read(x, &s[nxt], at + BLOCK) < 0)
      break;
    if (n > 0 && start_write(x, &s[cur], (size_t)n, at) < 0)
      break;
    if (!src_async && more && start_read(x, &s[nxt], at + BLOCK) < 0)
      break;
    x->end = at + (uint64_t)n;
    if (!more)
      break;
    cur = nxt;
  }
  drain(w, x);
}

/* Read exactly len bytes at off (for the --resume check). */
static bool read_exact(struct cp_ep *e, void *h, struct op *o, void *buf,
                       size_t len, uint64_t off) {
  op_arm(o, len, off);
  if (e->fs->read(h, buf, len, off, op_done, o) < 0)
    return false;
  o->busy = true;
  return op_wait(o) == (ssize_t)len;
}

/* Where to continue a partial destination of `have` bytes. Its last
 * block is copied again: writes still in flight when a copy was
 * interrupted may have landed out of order (a share processes them in
 * parallel), leaving a hole below the size. The bytes before that point
 * must match the source over TAIL_CHECK bytes, else the partial copy is
 * someone else's and the copy starts over. */
static uint64_t resume_point(struct worker *w, struct xfer *x, uint64_t have,
                             uint64_t src_size) {
  if (have > src_size || have <= BLOCK)
    return 0;
  uint64_t from = have - BLOCK;
  size_t k = from < TAIL_CHECK ? (size_t)from : TAIL_CHECK;
  struct slot *s = w->s;
  if (!read_exact(x->se, x->sh, &s[0].rd, s[0].buf, k, from - k) ||
      !read_exact(x->de, x->dh, &s[1].rd, s[1].buf, k, from - k))
    return 0;
  return memcmp(s[0].buf, s[1].buf, k) == 0 ? from : 0;
}

/* --resume: the destination already holds this version of the file.
 * Whole seconds, as rsync compares them: file systems differ in how
 * finely they keep times. */
static bool dest_complete(struct job *j, const char *dst) {
  struct cp_stat st;
  return j->de->fs->stat(j->de, dst, &st) == 0 && st.kind == CP_FILE &&
         st.size == j->st.size && st.mtime.tv_sec == j->st.mtime.tv_sec;
}

/* --resume: size of a partial copy to continue, 0 if none. A shorter
 * file under the final name is one too: it becomes the .smbq-part. */
static uint64_t partial_size(struct job *j, const char *dst,
                             const char *part) {
  struct cp_stat st;
  struct cp_ep *e = j->de;
  if (e->fs->stat(e, part, &st) == 0)
    return st.kind == CP_FILE && st.size <= j->st.size ? st.size : 0;
  if (e->fs->stat(e, dst, &st) < 0 || st.kind != CP_FILE ||
      st.size >= j->st.size || st.size <= BLOCK)
    return 0;
  return e->fs->rename(e, dst, part) == 0 ? st.size : 0;
}

/* Open the .smbq-part: continued with --resume (unless fresh), else
 * created empty. Returns the offset to copy from, or sets x->err. */
static uint64_t open_dest(struct worker *w, struct xfer *x, struct job *j,
                          const char *dst, const char *part, bool fresh,
                          uint64_t *have) {
  struct cp_run *r = w->r;
  *have = r->cli->resume && !fresh ? partial_size(j, dst, part) : 0;
  if (*have && x->de->fs->open(x->de, part, CP_UPDATE, &x->dh) < 0)
    *have = 0;
  if (!*have) {
    int err = x->de->fs->open(x->de, part, CP_CREATE, &x->dh);
    if (err < 0)
      xfer_fail(x, err, x->de, "cannot create", x->dname);
    return 0;
  }
  uint64_t from = resume_point(w, x, *have, j->st.size);
  if (r->cli->verbose && from)
    progress_msg(r->prog, "smbq: %s: resuming at byte %" PRIu64, x->dname,
                 from);
  else if (r->cli->verbose)
    progress_msg(r->prog, "smbq: %s: partial copy not usable; copying "
                 "the whole file", x->dname);
  progress_add_kept(r->prog, from);
  return from;
}

/* Data is in; give the copy its mtime and its name. */
static void finish_file(struct xfer *x, struct job *j, const char *dst,
                        const char *part) {
  int err = x->de->fs->set_mtime(x->de, part, &j->st.mtime);
  if (err < 0) {
    xfer_fail(x, err, x->de, "cannot set the modification time of",
              x->dname);
    return;
  }
  err = x->de->fs->rename(x->de, part, dst);
  if (err < 0)
    xfer_fail(x, err, x->de, "cannot rename to", x->dname);
}

static void close_dest(struct xfer *x) {
  if (x->dh) {
    enum cp_close how = x->err       ? CP_DISCARD
                        : x->no_flush ? CP_STORE
                                      : CP_STORE_FLUSH;
    int err = x->de->fs->close(x->dh, how);
    x->dh = NULL;
    if (err < 0)
      xfer_fail(x, err, x->de, "cannot store", x->dname);
  }
}

static void close_both(struct xfer *x) {
  close_dest(x);
  if (x->sh)
    x->se->fs->close(x->sh, CP_DISCARD);
  x->sh = NULL;
}

/* The share lost our open of the .smbq-part with the connection: the
 * server refused its durable handle when the client reconnected (Samba
 * does when an async write finished after it saved the handle's state),
 * so writes in flight then may be missing from it. The part is ours
 * alone and nothing was renamed yet: it is written again. */
static bool dest_lost(const struct xfer *x) {
  return x->err == SMBQ_ERR_STALE && x->err_ep == x->de && ep_remote(x->de);
}

/* Into a device, FIFO, socket or standard output: written in place, in
 * order; nothing to resume, rename or date. */
static void copy_direct(struct worker *w, struct xfer *x,
                        const struct cp_dest *d) {
  int err = x->de->fs->open(x->de, d->name, CP_DIRECT, &x->dh);
  if (err < 0)
    xfer_fail(x, err, x->de, "cannot open", x->dname);
  else
    pump(w, x, 0);
  close_both(x);
}

/* Through NAME.smbq-part, renamed over NAME when complete. */
static void copy_replace(struct worker *w, struct xfer *x, struct job *j,
                         const char *dst) {
  struct cp_run *r = w->r;
  char *part = str_cat(dst, PART_SUFFIX);
  if (!part) {
    xfer_fail(x, SMBQ_ERR_NOMEM, x->de, "cannot create", x->dname);
    close_both(x);
    return;
  }
  /* Without --resume a local part goes on every failure, a signal
   * included; with it, the part stays for the next run to continue. */
  int slot = -1;
  if (!ep_remote(j->de) && !r->cli->resume)
    slot = local_tmp_register(part);
  bool created = false;
  for (int tries = 0;; tries++) {
    uint64_t have = 0;
    /* after a loss, from the start: holes may be anywhere in flight */
    uint64_t from = open_dest(w, x, j, dst, part, tries > 0, &have);
    if (!x->err)
      pump(w, x, from);
    /* a resumed copy of a source that has since shrunk */
    int err;
    if (!x->err && have > x->end &&
        (err = j->de->fs->truncate(x->dh, x->end)) < 0)
      xfer_fail(x, err, j->de, "cannot truncate", x->dname);
    created |= x->dh != NULL;
    close_dest(x);
    if (!dest_lost(x) || tries == CLI_LOST_RETRIES)
      break;
    progress_msg(r->prog, "smbq: %s: " CLI_LOST_AGAIN, x->dname);
    x->err = 0;
    x->err_ep = NULL;
  }
  close_both(x);
  if (!x->err)
    finish_file(x, j, dst, part);
  if (x->err && created && !r->cli->resume)
    j->de->fs->unlink(j->de, part);
  local_tmp_unregister(slot);
  free(part);
}

static void copy_file(struct worker *w, struct job *j) {
  struct cp_run *r = w->r;
  char sname[1200], dname[1200];
  ep_name(j->se, j->src, sname, sizeof(sname));
  ep_name(j->de, j->dst, dname, sizeof(dname));
  struct xfer x = {.se = j->se, .de = j->de, .sname = sname, .dname = dname,
                   .no_flush = r->cli->no_flush};
  struct cp_dest d;
  int err = j->de->fs->dest(j->de, j->dst, &d);
  if (err < 0) {
    progress_file_failed(r->prog);
    fail_err(r, err, dname, "cannot write", dname, cp_errmsg());
    return;
  }
  if (!d.direct && r->cli->resume && dest_complete(j, d.name)) {
    progress_file_skipped(r->prog, j->st.size);
    return;
  }
  err = j->se->fs->open(j->se, j->src, CP_READ, &x.sh);
  if (err < 0) {
    xfer_fail(&x, err, j->se, "cannot open", sname);
    close_both(&x);
  } else if (d.direct) {
    copy_direct(w, &x, &d);
  } else {
    copy_replace(w, &x, j, d.name);
  }
  if (!x.err) {
    progress_file_copied(r->prog);
  } else {
    progress_file_failed(r->prog);
    fail_err(r, x.err, sname, x.what, x.name, x.msg);
  }
}

static void *worker_main(void *arg) {
  struct worker *w = arg;
  struct job *j;
  while ((j = queue_pop(&w->r->q))) {
    if (atomic_load(&w->r->abort)) {
      progress_file_failed(w->r->prog);
      atomic_fetch_add(&w->r->not_copied, 1);
    } else {
      copy_file(w, j);
    }
    free(j);
  }
  return NULL;
}

static int worker_init(struct worker *w, struct cp_run *r) {
  memset(w, 0, sizeof(*w));
  w->r = r;
  for (int i = 0; i < 2; i++) {
    w->s[i].buf = malloc(BLOCK);
    op_init(&w->s[i].rd);
    op_init(&w->s[i].wr);
  }
  return w->s[0].buf && w->s[1].buf ? 0 : -1;
}

static void worker_free(struct worker *w) {
  for (int i = 0; i < 2; i++) {
    free(w->s[i].buf);
    op_destroy(&w->s[i].rd);
    op_destroy(&w->s[i].wr);
  }
}

/* ---- walking the sources --------------------------------------------- */

static void queue_file(struct cp_run *r, struct cp_ep *se, const char *src,
                       const struct cp_stat *st, struct cp_ep *de,
                       const char *dst) {
  size_t ls = strlen(src) + 1, ld = strlen(dst) + 1;
  struct job *j = malloc(sizeof(*j) + ls + ld);
  if (!j) {
    fail_code(r, SMBQ_EXIT_OTHER, src, "out of memory");
    return;
  }
  j->se = se;
  j->de = de;
  j->src = (char *)(j + 1);
  j->dst = j->src + ls;
  memcpy(j->src, src, ls);
  memcpy(j->dst, dst, ld);
  j->st = *st;
  progress_add_file(r->prog, st->size);
  queue_push(&r->q, j);
}

static void remember_dir(struct cp_run *r, struct cp_ep *de, const char *dst,
                         const struct timespec *mtime) {
  if (r->n_dirs == r->cap_dirs) {
    size_t cap = r->cap_dirs ? r->cap_dirs * 2 : 64;
    struct dir_time *n = realloc(r->dirs, cap * sizeof(*n));
    if (!n)
      return; /* only its mtime is lost */
    r->dirs = n;
    r->cap_dirs = cap;
  }
  char *p = strdup(dst);
  if (p)
    r->dirs[r->n_dirs++] = (struct dir_time){de, p, *mtime};
}

static void copy_entry(struct cp_run *r, struct cp_ep *se, const char *src,
                       const struct cp_stat *st, struct cp_ep *de,
                       const char *dst, int depth);

static void walk_entries(struct cp_run *r, struct cp_ep *se, const char *src,
                         void *d, struct cp_ep *de, const char *dst,
                         int depth) {
  const char *name;
  struct cp_stat st;
  int rc = 0;
  while (!atomic_load(&r->abort) && (rc = se->fs->readdir(d, &name, &st)) > 0) {
    char *cs = path_join(src, name), *cd = path_join(dst, name);
    if (cs && cd)
      copy_entry(r, se, cs, &st, de, cd, depth + 1);
    else
      fail_code(r, SMBQ_EXIT_OTHER, src, "out of memory");
    free(cs);
    free(cd);
  }
  if (rc < 0) {
    char n[1200];
    ep_name(se, src, n, sizeof(n));
    fail_err(r, rc, n, "cannot list", n, cp_errmsg());
  }
}

static void copy_dir(struct cp_run *r, struct cp_ep *se, const char *src,
                     const struct cp_stat *st, struct cp_ep *de,
                     const char *dst, int depth) {
  char sn[1200], dn[1200];
  ep_name(se, src, sn, sizeof(sn));
  ep_name(de, dst, dn, sizeof(dn));
  if (depth > MAX_DEPTH) {
    fail_code(r, SMBQ_EXIT_OTHER, sn, "%s: more than %d directory levels",
              sn, MAX_DEPTH);
    return;
  }
  int err = de->fs->mkdir(de, dst);
  if (err < 0) {
    fail_err(r, err, dn, "cannot create directory", dn, cp_errmsg());
    return;
  }
  remember_dir(r, de, dst, &st->mtime);
  void *d;
  err = se->fs->opendir(se, src, &d);
  if (err < 0) {
    fail_err(r, err, sn, "cannot list", sn, cp_errmsg());
    return;
  }
  walk_entries(r, se, src, d, de, dst, depth);
  se->fs->closedir(d);
}

static void copy_entry(struct cp_run *r, struct cp_ep *se, const char *src,
                       const struct cp_stat *st, struct cp_ep *de,
                       const char *dst, int depth) {
  char n[1200];
  switch (st->kind) {
  case CP_FILE:
    queue_file(r, se, src, st, de, dst);
    return;
  case CP_DIR:
    copy_dir(r, se, src, st, de, dst, depth);
    return;
  case CP_OTHER:
    /* As rsync: a warning, not an error. */
    ep_name(se, src, n, sizeof(n));
    progress_msg(r->prog, "smbq: skipping %s: not a regular file or "
                 "directory", n);
    return;
  }
}

/* ---- endpoints ------------------------------------------------------- */

/* "dir/." names dir (its contents go into the target, as with cp); the
 * server is not asked about ".". */
static void strip_dot(char *path) {
  size_t l = strlen(path);
  while (l >= 2 && strcmp(path + l - 2, "/.") == 0)
    path[l -= 2] = '\0';
  if (strcmp(path, ".") == 0)
    path[0] = '\0';
}

static bool same_server(const struct smbq_url *a, const struct smbq_url *b) {
  return strcasecmp(a->host, b->host) == 0 && a->port == b->port &&
         strcmp(a->user, b->user) == 0;
}

/* A second share on a connection we already have. */
static int ep_add_tree(struct cp_run *r, struct cp_ep *e,
                       const struct smbq_url *u, struct cp_ep *owner) {
  e->share.url = *u;
  e->share.conn = owner->share.conn;
  int err = smbq_tree_connect(e->share.conn, u->share, &e->share.tree);
  if (err < 0)
    return cli_fail(&e->share, err, "cannot open share \\\\%s\\%s", u->host,
                    u->share);
  e->fs = &cp_fs_remote;
  r->n_eps++;
  return 0;
}

/* The endpoint for a command-line argument: local, or a share (opened
 * once, and on an existing connection to the same server); `path` gets
 * the argument's path inside it. Returns 0 or an exit code (the error is
 * printed). */
static int ep_for(struct cp_run *r, const char *arg, struct cp_ep **out,
                  char *path, size_t plen) {
  if (!smbq_is_url(arg)) {
    *out = &r->local;
    snprintf(path, plen, "%s", arg);
    return 0;
  }
  struct smbq_url u;
  char err[512];
  if (smbq_url_parse(arg, true, &u, err, sizeof(err)) < 0) {
    fprintf(stderr, "smbq: %s\n", err);
    return SMBQ_EXIT_USAGE;
  }
  snprintf(path, plen, "%s", u.path);
  strip_dot(path);
  struct cp_ep *conn_owner = NULL;
  for (int i = 0; i < r->n_eps; i++) {
    struct cp_ep *e = &r->eps[i];
    if (!same_server(&e->share.url, &u))
      continue;
    if (strcasecmp(e->share.url.share, u.share) == 0) {
      *out = e;
      return 0;
    }
    if (e->owns_conn)
      conn_owner = e;
  }
  if (r->n_eps == MAX_EPS) {
    fprintf(stderr, "smbq: cp copies between at most %d shares\n", MAX_EPS);
    return SMBQ_EXIT_USAGE;
  }
  struct cp_ep *e = &r->eps[r->n_eps];
  *out = e;
  if (conn_owner)
    return ep_add_tree(r, e, &u, conn_owner);
  int rc = cli_open(r->cli, arg, &e->share);
  if (rc)
    return rc;
  e->fs = &cp_fs_remote;
  e->owns_conn = true;
  r->n_eps++;
  return 0;
}

static void eps_close(struct cp_run *r) {
  for (int i = 0; i < r->n_eps; i++)
    if (!r->eps[i].owns_conn)
      smbq_tree_disconnect(r->eps[i].share.tree);
  for (int i = 0; i < r->n_eps; i++)
    if (r->eps[i].owns_conn)
      cli_close(&r->eps[i].share);
}

/* ---- sources and target ---------------------------------------------- */

struct target {
  struct cp_ep *ep;
  char path[PATH_MAX];
  bool is_dir; /* an existing directory: sources go inside */
  bool slash;  /* given with a trailing '/' */
};

struct source {
  const char *arg;
  struct cp_ep *ep; /* NULL: its share could not be opened */
  char path[PATH_MAX];
};

/* The name a source gets inside a target directory; "" for a local "."
 * or "/" (their contents go into the directory itself, as with cp). */
static void source_base(const struct source *s, char *buf, size_t len) {
  size_t al = strlen(s->arg);
  if (ep_remote(s->ep)) {
    const char *p = s->path;
    bool dot = al >= 2 && s->arg[al - 1] == '.' &&
               (s->arg[al - 2] == '/' || s->arg[al - 2] == '\\');
    snprintf(buf, len, "%s",
             dot ? "" : p[0] ? smbq_url_basename(p) : s->ep->share.url.share);
    return;
  }
  snprintf(buf, len, "%s", s->path);
  size_t l = strlen(buf);
  while (l > 1 && buf[l - 1] == '/')
    buf[--l] = '\0';
  const char *b = strrchr(buf, '/');
  b = b ? b + 1 : buf;
  if (strcmp(b, ".") == 0 || strcmp(b, "..") == 0)
    b = "";
  memmove(buf, b, strlen(b) + 1);
}

/* A local path made absolute with its parent resolved (the path itself
 * may not exist yet). */
static bool local_canon(const char *path, char *out, size_t len) {
  char tmp[PATH_MAX], dir[PATH_MAX];
  snprintf(tmp, sizeof(tmp), "%s", path);
  size_t l = strlen(tmp);
  while (l > 1 && tmp[l - 1] == '/')
    tmp[--l] = '\0';
  if (realpath(tmp, dir)) {
    snprintf(out, len, "%s", dir);
    return true;
  }
  char *slash = strrchr(tmp, '/');
  const char *base = slash ? slash + 1 : tmp;
  if (slash)
    *slash = '\0';
  if (!realpath(slash ? (tmp[0] ? tmp : "/") : ".", dir))
    return false;
  int n = snprintf(out, len, "%s/%s", strcmp(dir, "/") ? dir : "", base);
  return n > 0 && (size_t)n < len;
}

/* 1: dst is src; 2: dst is inside src; 0: neither. */
static int overlap(struct cp_ep *se, const char *src, struct cp_ep *de,
                   const char *dst) {
  if (se != de)
    return 0;
  char a[PATH_MAX], b[PATH_MAX];
  if (ep_remote(se)) {
    snprintf(a, sizeof(a), "%s", src);
    snprintf(b, sizeof(b), "%s", dst);
  } else if (!local_canon(src, a, sizeof(a)) ||
             !local_canon(dst, b, sizeof(b))) {
    return 0;
  }
  size_t la = strlen(a);
  if (strcasecmp(a, b) == 0)
    return 1;
  if (la == 0 || (strncasecmp(a, b, la) == 0 && b[la] == '/'))
    return 2;
  return 0;
}

/* A local target "-" is standard output. */
static bool target_stdout(const struct target *t) {
  return !ep_remote(t->ep) && strcmp(t->path, "-") == 0;
}

static void copy_source(struct cp_run *r, const struct source *s,
                        const struct target *t) {
  char sn[1200];
  ep_name(s->ep, s->path, sn, sizeof(sn));
  struct cp_stat st;
  int err = s->ep->fs->stat(s->ep, s->path, &st);
  if (err < 0) {
    fail_err(r, err, sn, "cannot stat", sn, cp_errmsg());
    return;
  }
  if (st.kind == CP_DIR && !r->cli->recursive) {
    fail_code(r, SMBQ_EXIT_USAGE, sn, "%s is a directory: use cp -r to "
              "copy directories", sn);
    return;
  }
  if (st.kind != CP_DIR && (has_trailing_slash(s->arg) ||
                            (!t->is_dir && t->slash))) {
    fail_code(r, SMBQ_EXIT_NOTFOUND, sn, "%s: not a directory",
              has_trailing_slash(s->arg) ? sn : t->path);
    return;
  }
  char base[1024];
  source_base(s, base, sizeof(base));
  char *dst = t->is_dir ? path_join(t->path, base) : strdup(t->path);
  if (!dst) {
    fail_code(r, SMBQ_EXIT_OTHER, sn, "out of memory");
    return;
  }
  int ov = overlap(s->ep, s->path, t->ep, dst);
  char dn[1200];
  ep_name(t->ep, dst, dn, sizeof(dn));
  if (ov == 1)
    fail_code(r, SMBQ_EXIT_OTHER, sn, "%s and %s are the same", sn, dn);
  else if (ov == 2 && st.kind == CP_DIR)
    fail_code(r, SMBQ_EXIT_OTHER, sn, "cannot copy directory %s into "
              "itself (%s)", sn, dn);
  else if (st.kind == CP_OTHER)
    fail_code(r, SMBQ_EXIT_OTHER, sn, "%s: not a regular file or "
              "directory", sn);
  else if (st.kind == CP_DIR && target_stdout(t))
    fail_code(r, SMBQ_EXIT_USAGE, sn, "cannot copy directory %s to "
              "standard output", sn);
  else
    copy_entry(r, s->ep, s->path, &st, t->ep, dst, 0);
  free(dst);
}

/* Is DST an existing directory, and may it be a file? Returns 0 or an
 * exit code (printed). */
static int resolve_target(int nsrc, const char *arg, struct target *t) {
  struct cp_stat st;
  t->slash = has_trailing_slash(arg);
  int err = t->ep->fs->stat(t->ep, t->path, &st);
  t->is_dir = err == 0 && st.kind == CP_DIR;
  if (t->is_dir)
    return 0;
  if (err < 0 && err != SMBQ_ERR_NOENT) {
    fprintf(stderr, "smbq: cannot stat %s: %s\n", arg, cp_errmsg());
    return smbq_exit_from_err(err);
  }
  if (nsrc == 1)
    return 0;
  if (err == SMBQ_ERR_NOENT) {
    fprintf(stderr, "smbq: target directory %s does not exist (several "
            "sources are copied into a directory)\n", arg);
    return SMBQ_EXIT_NOTFOUND;
  }
  fprintf(stderr, "smbq: target %s is not a directory (several sources "
          "are copied into a directory)\n", arg);
  return SMBQ_EXIT_USAGE;
}

/* ---- the command ----------------------------------------------------- */

/* Give directories their source's mtime, now that no file will be added
 * to them. */
static void set_dir_times(struct cp_run *r) {
  for (size_t i = r->n_dirs; i-- > 0;) {
    struct dir_time *d = &r->dirs[i];
    int err = atomic_load(&r->abort)
                  ? 0
                  : d->ep->fs->set_mtime(d->ep, d->path, &d->mtime);
    if (err < 0) {
      char n[1200];
      ep_name(d->ep, d->path, n, sizeof(n));
      fail_err(r, err, n, "cannot set the modification time of", n,
               cp_errmsg());
    }
    free(d->path);
  }
  free(r->dirs);
}

static void print_json(struct cp_run *r, const struct progress_counts *pc) {
  struct progress_counts c = *pc;
  printf("{\"files\":%" PRIu64 ",\"skipped\":%" PRIu64 ",\"failed\":%" PRIu64
         ",\"dirs\":%zu,\"bytes\":%" PRIu64 ",\"seconds\":%.3f,"
         "\"mb_per_s\":%.2f,\"errors\":[",
         c.files_copied, c.files_skipped, c.files_failed, r->n_dirs,
         c.bytes_copied, c.seconds,
         c.seconds > 0 ? (double)c.bytes_copied / 1e6 / c.seconds : 0.0);
  for (size_t i = 0; i < r->n_errs; i++) {
    printf("%s{\"path\":", i ? "," : "");
    cli_json_str(stdout, r->errs[i].path ? r->errs[i].path : "");
    printf(",\"exit\":%d,\"message\":", r->errs[i].code);
    cli_json_str(stdout, r->errs[i].msg ? r->errs[i].msg : "");
    printf("}");
  }
  printf("]}\n");
}

static void free_errors(struct cp_run *r) {
  for (size_t i = 0; i < r->n_errs; i++) {
    free(r->errs[i].path);
    free(r->errs[i].msg);
  }
  free(r->errs);
}

static bool draw_progress(const struct cli *cli) {
  if (cli->progress == CLI_PROGRESS_ON)
    return true;
  return cli->progress == CLI_PROGRESS_AUTO && isatty(STDERR_FILENO);
}

/* Walk every source with the workers running, then wait for them. */
static void run_copy(struct cp_run *r, struct source *src, int nsrc,
                     const struct target *t) {
  struct worker w[CP_WORKERS];
  int n = 0;
  for (; n < CP_WORKERS; n++) {
    if (worker_init(&w[n], r) < 0 ||
        pthread_create(&w[n].thread, NULL, worker_main, &w[n]) != 0) {
      worker_free(&w[n]);
      break;
    }
  }
  if (n == 0) {
    fail_code(r, SMBQ_EXIT_OTHER, "", "out of memory");
    return;
  }
  for (int i = 0; i < nsrc && !atomic_load(&r->abort); i++)
    if (src[i].ep)
      copy_source(r, &src[i], t);
  progress_walk_done(r->prog);
  queue_close(&r->q);
  for (int i = 0; i < n; i++) {
    pthread_join(w[i].thread, NULL);
    worker_free(&w[i]);
  }
  uint64_t dropped = atomic_load(&r->not_copied);
  if (dropped)
    fail_code(r, SMBQ_EXIT_NET, "", "connection lost: %" PRIu64 " more "
              "files not copied", dropped);
}

/* Open every endpoint: the target's first (without it nothing can be
 * copied), then each source's; a source that cannot be reached is an
 * error for that source only. */
static int open_endpoints(struct cp_run *r, int argc, char **argv,
                          struct source *src, struct target *t) {
  int rc = ep_for(r, argv[argc - 1], &t->ep, t->path, sizeof(t->path));
  if (rc)
    return rc;
  for (int i = 0; i < argc - 1; i++) {
    src[i].arg = argv[i];
    rc = ep_for(r, argv[i], &src[i].ep, src[i].path, sizeof(src[i].path));
    if (rc) {
      record(r, rc, argv[i], "cannot open the share (see above)");
      src[i].ep = NULL;
    }
  }
  return 0;
}

static bool any_remote(int argc, char **argv) {
  for (int i = 0; i < argc; i++)
    if (smbq_is_url(argv[i]))
      return true;
  return false;
}

static int cp_main(struct cp_run *r, int argc, char **argv) {
  struct source *src = calloc((size_t)argc, sizeof(*src));
  struct target t;
  memset(&t, 0, sizeof(t));
  if (!src)
    return SMBQ_EXIT_OTHER;
  int rc = open_endpoints(r, argc, argv, src, &t);
  if (!rc)
    rc = resolve_target(argc - 1, argv[argc - 1], &t);
  if (!rc && r->cli->json && target_stdout(&t)) {
    fprintf(stderr, "smbq: --json and a copy to standard output (-) both "
            "write to standard output: choose one\n");
    rc = SMBQ_EXIT_USAGE;
  }
  if (rc) {
    free(src);
    return rc;
  }
  r->prog = progress_start(draw_progress(r->cli));
  if (!r->prog) {
    free(src);
    return SMBQ_EXIT_OTHER;
  }
  run_copy(r, src, argc - 1, &t);
  set_dir_times(r);
  struct progress_counts c;
  progress_get(r->prog, &c);
  progress_stop(r->prog);
  r->prog = NULL;
  if (r->cli->json)
    print_json(r, &c);
  free(src);
  return r->first_exit;
}

int cmd_cp(struct cli *cli, int argc, char **argv) {
  if (!any_remote(argc, argv)) {
    fprintf(stderr, "smbq: cp needs a share location (//host/share/path) "
            "as a source or as the target; for local copies use cp(1)\n");
    return SMBQ_EXIT_USAGE;
  }
  struct cp_run r;
  memset(&r, 0, sizeof(r));
  r.cli = cli;
  r.local.fs = &cp_fs_local;
  queue_init(&r.q);
  pthread_mutex_init(&r.err_lock, NULL);
  int rc = cp_main(&r, argc, argv);
  /* An error recorded before the copy started (a source's share could not
   * be opened) still decides the exit code. */
  if (!rc)
    rc = r.first_exit;
  eps_close(&r);
  free_errors(&r);
  pthread_mutex_destroy(&r.err_lock);
  queue_destroy(&r.q);
  return rc;
}
