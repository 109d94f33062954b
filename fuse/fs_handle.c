/* smbq-mount: open files (fs_handle.h).
 *
 * A file created here (with the writeback cache) is "pending" at first:
 * the server hears nothing at create(); its first writes (up to
 * PENDING_MAX), size changes, times and read-only bit are kept here, and
 * close(2) (FLUSH) or fsync(2) sends the whole file as one compound
 * (smbq_put_small: CREATE + WRITE + SET_INFO + CLOSE), returning only
 * once the server acknowledged it, with its error if it failed. What
 * tar does per file (open O_CREAT|O_EXCL, write, futimens, fchown,
 * fchmod, close) thus costs one round trip. Anything that needs the file
 * on the server first (another open, more data, a rename, a delete, a
 * listing of its directory) sends it at once; later I/O on the handle
 * opens the file again. O_EXCL is checked by the server then: a name
 * another client took since our lookup fails close(2) with EEXIST. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs_handle.h"
#include "fs_listing.h"
#include "log.h"

/* ---- handles ------------------------------------------------------------ */

/* With the writeback cache the kernel reads whole pages of a file opened
 * write-only (a partial page write), so such files are opened for reading
 * too (as libfuse's passthrough_hp does); O_APPEND is the kernel's job
 * either way (it sends the offset). */
static unsigned open_flags(int flags, bool writeback) {
  unsigned f = SMBQ_O_RDONLY;
  if ((flags & O_ACCMODE) == O_WRONLY)
    f = writeback ? SMBQ_O_RDWR : SMBQ_O_WRONLY;
  else if ((flags & O_ACCMODE) == O_RDWR)
    f = SMBQ_O_RDWR;
  if (flags & O_TRUNC)
    f |= SMBQ_O_TRUNC;
  return f;
}

/* Open; a write-only open widened for the writeback cache falls back to
 * write-only where the server refuses reading (the kernel then reads
 * nothing it needs: partial pages of such a file fail to fill, and the
 * write reports it). */
int fs_open_file(struct fs *fs, const char *path, int flags, unsigned extra,
                 smbq_file **f) {
  unsigned of = open_flags(flags, fs->writeback) | extra;
  int rc = smbq_open(fs->tree, path, of, f);
  if (rc == SMBQ_ERR_ACCESS && (flags & O_ACCMODE) == O_WRONLY &&
      fs->writeback)
    rc = smbq_open(fs->tree, path, (of & ~3u) | SMBQ_O_WRONLY, f);
  return rc;
}

struct fh *fs_fh_new(struct fs *fs, struct node *n, smbq_file *f, int flags) {
  struct fh *fh = calloc(1, sizeof(*fh));
  if (!fh)
    return NULL;
  pthread_mutex_init(&fh->mu, NULL);
  fh->f = f;
  fh->flags = flags;
  nodes_handle_open(&fs->nodes, n, &fh->h);
  return fh;
}

/* ---- pending files ------------------------------------------------------ */

/* Data a pending file may hold before it goes to the server (then
 * written through); smbq_put_small may take less. */
#define PENDING_MAX (1024u * 1024u)

struct pending {
  double deadline;        /* fs_clock(): sent by then even if still open */
  unsigned oflags;        /* SMBQ_O_CREAT [| SMBQ_O_EXCL] | SMBQ_O_TRUNC */
  size_t max;             /* PENDING_MAX or what the server takes */
  char *buf;              /* bytes [0, st.size) */
  size_t cap;
  bool readonly;          /* created without write bits, or chmod a-w */
  struct smbq_put_attrs attrs; /* times set meanwhile */
  struct smbq_stat st;    /* what stat shows */
};

static void pending_list(struct fs *fs, struct fh *fh) {
  pthread_mutex_lock(&fs->pending_mu);
  fh->pend_prev = NULL;
  fh->pend_next = fs->pending;
  if (fs->pending)
    fs->pending->pend_prev = fh;
  fs->pending = fh;
  pthread_cond_signal(&fs->pending_cv);
  pthread_mutex_unlock(&fs->pending_mu);
}

static void pending_unlist(struct fs *fs, struct fh *fh) {
  pthread_mutex_lock(&fs->pending_mu);
  if (fh->pend_prev)
    fh->pend_prev->pend_next = fh->pend_next;
  else
    fs->pending = fh->pend_next;
  if (fh->pend_next)
    fh->pend_next->pend_prev = fh->pend_prev;
  fh->pend_prev = fh->pend_next = NULL;
  pthread_mutex_unlock(&fs->pending_mu);
}

static void pending_free(struct pending *p) {
  if (p) {
    free(p->buf);
    free(p);
  }
}

/* Make [0, size) of p's buffer valid (new bytes zero). */
static int pending_resize(struct pending *p, size_t size) {
  if (size > p->cap) {
    size_t cap = p->cap ? p->cap : 4096;
    while (cap < size)
      cap *= 2;
    if (cap > p->max)
      cap = p->max;
    char *nb = realloc(p->buf, cap);
    if (!nb)
      return SMBQ_ERR_NOMEM;
    p->buf = nb;
    p->cap = cap;
  }
  if (size > p->st.size)
    memset(p->buf + p->st.size, 0, size - p->st.size);
  p->st.size = size;
  p->st.alloc_size = size;
  return 0;
}

static void pending_touch(struct pending *p) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  p->st.ctime = now;
}

/* After a pending file failed to go out, the kernel's inode (size, data)
 * is not the server's file, which may not even exist: the name leaves
 * the table and, when called outside a request that holds the
 * directory's lock (close, fsync, release: `notify`), the kernel's entry
 * too, so the next lookup makes a new inode from what the server has. */
static void forget_failed(struct fs *fs, struct node *n, bool notify) {
  nodes_lock(&fs->nodes);
  struct node *dir = n->hashed ? n->parent : NULL;
  char *name = dir ? strdup(n->name) : NULL;
  uint64_t parent = dir ? nodes_ino(&fs->nodes, dir) : 0;
  nodes_unlock(&fs->nodes);
  if (!name)
    return;
  nodes_detach(&fs->nodes, dir, name);
  if (notify && __atomic_load_n(&fs->ready, __ATOMIC_ACQUIRE))
    fuse_lowlevel_notify_inval_entry(fs->se, parent, name, strlen(name));
  free(name);
}

/* Send fh's pending file (fh->mu held): one compound. final: this is the
 * close, the read-only attribute goes too (later I/O on the handle
 * clears it again for its open); sync: the server flushes to disk. */
static int pending_send(struct fs *fs, struct fh *fh, bool final, bool sync) {
  struct pending *p = fh->pend;
  struct node *n = fh->h.node;
  char *path = nodes_path(&fs->nodes, n);
  struct smbq_stat st;
  int rc;
  if (!path) {
    rc = errno == ENOMEM ? SMBQ_ERR_NOMEM : SMBQ_ERR_NOENT;
  } else {
    struct smbq_put_attrs a = p->attrs;
    if (final && p->readonly) {
      a.set |= SMBQ_PUT_ATTRIBUTES;
      a.attributes = SMBQ_ATTR_READONLY | SMBQ_ATTR_ARCHIVE;
    }
    rc = smbq_put_small(fs->tree, path, p->oflags | (sync ? SMBQ_PUT_SYNC : 0),
                        p->buf, (size_t)p->st.size, &a, &st);
  }
  pending_unlist(fs, fh);
  fh->pend = NULL;
  nodes_lock(&fs->nodes);
  /* no lease: nothing of it may stay cached past this open */
  n->cache.held = 0;
  n->cache.pages_valid = false;
  nodes_unlock(&fs->nodes);
  if (rc == 0) {
    fh->readonly_sent = final && p->readonly;
    fh->readonly_on_close = !final && p->readonly;
    fs_node_note(fs, n, FS_DIR_ATTRS, &st);
  } else {
    int expected = 0;
    __atomic_compare_exchange_n(&fh->write_err, &expected, rc, false,
                                __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    mlog(LOG_WARNING, "writing new file '%s' failed: %s",
         path ? path : "(deleted)", smbq_strerror(rc));
    /* created or not, with what data: the server knows */
    fs_node_note(fs, n, FS_DIR_FORGET, NULL);
    forget_failed(fs, n, final || sync);
  }
  pending_free(p);
  free(path);
  return rc;
}

/* Open the file again for I/O after its compound (fh->mu held). A
 * read-only attribute the compound set would refuse a writable open:
 * cleared, and set again at the last close. */
static int reopen(struct fs *fs, struct fh *fh) {
  char *path = nodes_path(&fs->nodes, fh->h.node);
  if (!path)
    return errno == ENOMEM ? SMBQ_ERR_NOMEM : SMBQ_ERR_NOENT;
  int flags = fh->flags & ~(O_CREAT | O_EXCL | O_TRUNC);
  int rc = fs_open_file(fs, path, flags, 0, &fh->f);
  struct smbq_stat s;
  if (rc == SMBQ_ERR_ACCESS && fh->readonly_sent &&
      smbq_stat(fs->tree, path, &s) == 0 &&
      smbq_set_attributes(fs->tree, path,
                          s.attributes & ~(uint32_t)SMBQ_ATTR_READONLY) == 0) {
    fh->readonly_sent = false;
    fh->readonly_on_close = true;
    rc = fs_open_file(fs, path, flags, 0, &fh->f);
  }
  free(path);
  if (rc < 0)
    fh->f = NULL;
  return rc;
}

int fs_fh_file(struct fs *fs, struct fh *fh, smbq_file **f) {
  pthread_mutex_lock(&fh->mu);
  int rc = 0;
  if (fh->pend)
    rc = pending_send(fs, fh, false, false);
  if (rc == 0 && !fh->f)
    rc = reopen(fs, fh);
  *f = fh->f;
  pthread_mutex_unlock(&fh->mu);
  return rc;
}

/* The pending handle of n, referenced, with its lock held; NULL if n is
 * not pending. */
static struct fh *pending_lock(struct fs *fs, struct node *n) {
  struct fh *fh = fs_fh_hold(fs, n);
  if (!fh)
    return NULL;
  pthread_mutex_lock(&fh->mu);
  if (fh->pend)
    return fh;
  pthread_mutex_unlock(&fh->mu);
  fs_fh_put(fs, fh);
  return NULL;
}

static void pending_unlock(struct fs *fs, struct fh *fh) {
  pthread_mutex_unlock(&fh->mu);
  fs_fh_put(fs, fh);
}

bool fs_pending_stat(struct fs *fs, struct node *n, struct smbq_stat *s) {
  struct fh *fh = pending_lock(fs, n);
  if (!fh)
    return false;
  *s = fh->pend->st;
  pending_unlock(fs, fh);
  return true;
}

int fs_pending_setattr(struct fs *fs, struct node *n, const struct stat *attr,
                       int to_set, struct smbq_stat *s) {
  struct fh *fh = pending_lock(fs, n);
  if (!fh)
    return 0;
  struct pending *p = fh->pend;
  int rc = 1;
  if ((to_set & FUSE_SET_ATTR_SIZE) && (uint64_t)attr->st_size > p->max) {
    /* too large to keep: on the server, then as any file */
    rc = pending_send(fs, fh, false, false);
    pending_unlock(fs, fh);
    return rc;
  }
  if (to_set & FUSE_SET_ATTR_SIZE)
    rc = pending_resize(p, (size_t)attr->st_size);
  if (rc < 0) {
    pending_unlock(fs, fh);
    return rc;
  }
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  if (to_set & FUSE_SET_ATTR_MODE) {
    p->readonly = !(attr->st_mode & 0222);
    if (p->readonly)
      p->st.attributes |= SMBQ_ATTR_READONLY;
    else
      p->st.attributes &= ~(uint32_t)SMBQ_ATTR_READONLY;
  }
  if (to_set & FUSE_SET_ATTR_ATIME) {
    p->attrs.set |= SMBQ_PUT_ATIME;
    p->attrs.atime = (to_set & FUSE_SET_ATTR_ATIME_NOW) ? now : attr->st_atim;
    p->st.atime = p->attrs.atime;
  }
  if (to_set & FUSE_SET_ATTR_MTIME) {
    p->attrs.set |= SMBQ_PUT_MTIME;
    p->attrs.mtime = (to_set & FUSE_SET_ATTR_MTIME_NOW) ? now : attr->st_mtim;
    p->st.mtime = p->attrs.mtime;
  }
  pending_touch(p);
  *s = p->st;
  pending_unlock(fs, fh);
  return 1;
}

int fs_settle(struct fs *fs, struct node *n) {
  struct fh *fh = pending_lock(fs, n);
  if (!fh)
    return 0;
  int rc = pending_send(fs, fh, false, false);
  pending_unlock(fs, fh);
  return rc;
}

/* The thread: a pending file still open after the entry timeout goes to
 * the server and is opened there again (with a lease: another client
 * that opens it then breaks it, and our held-back data follows). */
static void *settler(void *arg) {
  struct fs *fs = arg;
  pthread_mutex_lock(&fs->pending_mu);
  while (fs->pending_run) {
    double now = fs_clock(), next = -1;
    struct fh *due = NULL;
    for (struct fh *x = fs->pending; x; x = x->pend_next) {
      double d = x->pend->deadline; /* set before listing, then fixed */
      if (d <= now) {
        due = x;
        break;
      }
      if (next < 0 || d < next)
        next = d;
    }
    if (!due) {
      if (next < 0) {
        pthread_cond_wait(&fs->pending_cv, &fs->pending_mu);
      } else {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        double w = next - now + 0.001;
        ts.tv_sec += (time_t)w;
        ts.tv_nsec += (long)((w - (double)(time_t)w) * 1e9);
        if (ts.tv_nsec >= 1000000000) {
          ts.tv_sec++;
          ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&fs->pending_cv, &fs->pending_mu, &ts);
      }
      continue;
    }
    nodes_lock(&fs->nodes);
    due->h.refs++; /* released by fs_fh_put */
    nodes_unlock(&fs->nodes);
    pthread_mutex_unlock(&fs->pending_mu);
    pthread_mutex_lock(&due->mu);
    if (due->pend && pending_send(fs, due, false, false) == 0 &&
        !due->f && reopen(fs, due) < 0)
      mlog(LOG_DEBUG, "opening a new file again failed (the next write "
           "tries again)");
    pthread_mutex_unlock(&due->mu);
    fs_fh_put(fs, due);
    pthread_mutex_lock(&fs->pending_mu);
  }
  pthread_mutex_unlock(&fs->pending_mu);
  return NULL;
}

void fs_pending_start(struct fs *fs) {
  pthread_mutex_lock(&fs->pending_mu);
  fs->pending_run = true;
  fs->pending_started =
      pthread_create(&fs->pending_thread, NULL, settler, fs) == 0;
  pthread_mutex_unlock(&fs->pending_mu);
}

void fs_pending_stop(struct fs *fs) {
  pthread_mutex_lock(&fs->pending_mu);
  bool started = fs->pending_started;
  fs->pending_run = false;
  fs->pending_started = false;
  pthread_cond_signal(&fs->pending_cv);
  pthread_mutex_unlock(&fs->pending_mu);
  if (started)
    pthread_join(fs->pending_thread, NULL);
}

void fs_settle_dir(struct fs *fs, struct node *dir) {
  for (;;) {
    /* one at a time: sending drops the lists' locks */
    struct fh *fh = NULL;
    pthread_mutex_lock(&fs->pending_mu);
    nodes_lock(&fs->nodes);
    for (struct fh *x = fs->pending; x; x = x->pend_next) {
      if (x->h.node->parent == dir) {
        fh = x;
        fh->h.refs++; /* released by fs_fh_put */
        break;
      }
    }
    nodes_unlock(&fs->nodes);
    pthread_mutex_unlock(&fs->pending_mu);
    if (!fh)
      return;
    pthread_mutex_lock(&fh->mu);
    if (fh->pend)
      pending_send(fs, fh, false, false);
    pthread_mutex_unlock(&fh->mu);
    fs_fh_put(fs, fh);
  }
}

struct fh *fs_fh_new_pending(struct fs *fs, struct node *n, int flags,
                             mode_t mode, struct smbq_stat *st) {
  struct pending *p = calloc(1, sizeof(*p));
  struct fh *fh = p ? fs_fh_new(fs, n, NULL, flags) : NULL;
  if (!fh) {
    free(p);
    return NULL;
  }
  /* the kernel believes the file new and empty: so is it on the server */
  p->oflags = SMBQ_O_CREAT | SMBQ_O_TRUNC |
              ((flags & O_EXCL) ? SMBQ_O_EXCL : 0);
  p->max = smbq_put_small_max(fs->tree);
  if (p->max > PENDING_MAX)
    p->max = PENDING_MAX;
  p->readonly = !(mode & 0222);
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  p->st.type = SMBQ_TYPE_FILE;
  p->st.attributes = SMBQ_ATTR_ARCHIVE |
                     (p->readonly ? SMBQ_ATTR_READONLY : 0);
  p->st.atime = p->st.mtime = p->st.ctime = p->st.btime = now;
  p->deadline = fs_clock() + fs->cfg->entry_timeout;
  *st = p->st;
  fh->pend = p;
  pending_list(fs, fh);
  return fh;
}

/* Under fh->mu, as pending_send: the settler thread may be sending this
 * very file (then it exists on the server, as any create whose reply the
 * caller no longer waited for). */
void fs_pending_cancel(struct fs *fs, struct fh *fh) {
  pthread_mutex_lock(&fh->mu);
  struct pending *p = fh->pend;
  if (p) {
    pending_unlist(fs, fh); /* never created */
    fh->pend = NULL;
  }
  pthread_mutex_unlock(&fh->mu);
  pending_free(p);
}

bool fs_pending_read(struct fh *fh, char *buf, size_t size, off_t off,
                     size_t *n) {
  pthread_mutex_lock(&fh->mu);
  struct pending *p = fh->pend;
  if (p) {
    *n = (uint64_t)off >= p->st.size ? 0
         : (size_t)(p->st.size - (uint64_t)off);
    if (*n > size)
      *n = size;
    memcpy(buf, p->buf + off, *n);
  }
  pthread_mutex_unlock(&fh->mu);
  return p != NULL;
}

bool fs_pending_write(struct fh *fh, const char *buf, size_t size, off_t off,
                      int *rc) {
  pthread_mutex_lock(&fh->mu);
  struct pending *p = fh->pend;
  bool kept = p && (uint64_t)off + size <= p->max;
  if (kept) {
    *rc = 0;
    if ((uint64_t)off + size > p->st.size)
      *rc = pending_resize(p, (size_t)off + size);
    if (*rc == 0) {
      memcpy(p->buf + off, buf, size);
      struct timespec now;
      clock_gettime(CLOCK_REALTIME, &now);
      p->st.mtime = p->st.ctime = now;
    }
  }
  pthread_mutex_unlock(&fh->mu);
  return kept;
}

bool fs_pending_flush(struct fs *fs, struct fh *fh, bool final, bool sync) {
  pthread_mutex_lock(&fh->mu);
  bool sent = fh->pend != NULL;
  if (sent)
    pending_send(fs, fh, final, sync);
  pthread_mutex_unlock(&fh->mu);
  return sent;
}

/* ---- references --------------------------------------------------------- */

/* open(path, O_CREAT, 0444) gives a writable descriptor on a file that is
 * then read-only; SMB can only set the attribute once the handle that
 * writes is closed. */
static void apply_readonly(struct fs *fs, struct node *n) {
  char *path = nodes_path(&fs->nodes, n);
  struct smbq_stat s;
  if (path && smbq_stat(fs->tree, path, &s) == 0)
    smbq_set_attributes(fs->tree, path,
                        s.attributes | (uint32_t)SMBQ_ATTR_READONLY);
  free(path);
}

/* ---- times kept until fsync or close ---------------------------------- */

bool fs_fh_defer_times(struct fh *fh, const struct stat *attr, int to_set,
                       struct smbq_stat *s) {
  const int times = FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME |
                    FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW |
                    FUSE_SET_ATTR_CTIME;
  if ((to_set & ~times) || !(to_set & (FUSE_SET_ATTR_ATIME |
                                       FUSE_SET_ATTR_MTIME)))
    return false;
  if ((fh->flags & O_ACCMODE) == O_RDONLY)
    return false;
  struct smbq_file_info info;
  pthread_mutex_lock(&fh->mu);
  bool ok = fh->f && !fh->pend && smbq_file_get_info(fh->f, &info) == 0;
  if (ok) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if (to_set & FUSE_SET_ATTR_ATIME) {
      fh->atime_set = true;
      fh->atime = (to_set & FUSE_SET_ATTR_ATIME_NOW) ? now : attr->st_atim;
      info.st.atime = fh->atime;
    }
    if (to_set & FUSE_SET_ATTR_MTIME) {
      fh->mtime_set = true;
      fh->mtime = (to_set & FUSE_SET_ATTR_MTIME_NOW) ? now : attr->st_mtim;
      info.st.mtime = fh->mtime;
    }
    fh->times_dirty = true;
    *s = info.st;
  }
  pthread_mutex_unlock(&fh->mu);
  return ok;
}

int fs_fh_send_times(struct fh *fh) {
  pthread_mutex_lock(&fh->mu);
  int rc = 0;
  if (fh->times_dirty && fh->f) {
    rc = smbq_fset_times(fh->f, fh->atime_set ? &fh->atime : NULL,
                         fh->mtime_set ? &fh->mtime : NULL);
    if (rc == 0)
      fh->times_dirty = fh->atime_set = fh->mtime_set = false;
  }
  pthread_mutex_unlock(&fh->mu);
  return rc;
}

struct fh *fs_fh_hold(struct fs *fs, struct node *n) {
  return (struct fh *)nodes_handle_hold(&fs->nodes, n);
}

/* The last close of a file deleted while open lets a waiting rmdir go on:
 * the server removes the file now. */
void fs_fh_put(struct fs *fs, struct fh *fh) {
  enum node_drop r = nodes_handle_drop(&fs->nodes, &fh->h);
  if (r == NODE_HANDLE_HELD)
    return;
  /* no FLUSH came (it normally sends the file): send it now */
  if (fh->pend)
    pending_send(fs, fh, true, false);
  int rc = 0;
  if (fh->f) {
    /* the kernel's last mtime, before the close tells the attributes */
    rc = fs_fh_send_times(fh);
    if (rc < 0)
      mlog(LOG_WARNING, "setting the times of a closed file failed: %s",
           smbq_strerror(rc));
    struct smbq_stat st;
    rc = smbq_close_stat(fh->f, fh->wrote ? &st : NULL);
    if (rc < 0)
      mlog(LOG_WARNING, "closing a file failed: %s", smbq_strerror(rc));
    /* what we wrote changed its attributes: the close told them (a
     * handle libsmbq keeps open tells no times) */
    if (fh->wrote)
      fs_node_note(fs, fh->h.node, FS_DIR_ATTRS,
                   rc == 0 && st.mtime.tv_sec ? &st : NULL);
  }
  if (rc == 0 && fh->readonly_on_close)
    apply_readonly(fs, fh->h.node);
  if (r == NODE_HANDLE_DOOMED)
    fs_doomed_add(fs, -1);
  pthread_mutex_destroy(&fh->mu);
  free(fh);
}

/* ---- files deleted while open ------------------------------------------- */

/* How long rmdir waits for files deleted while open to be closed. */
#define DOOMED_WAIT_S 2

void fs_doomed_add(struct fs *fs, int delta) {
  pthread_mutex_lock(&fs->doomed_mu);
  fs->doomed = (unsigned)((int)fs->doomed + delta);
  if (fs->doomed == 0)
    pthread_cond_broadcast(&fs->doomed_cv);
  pthread_mutex_unlock(&fs->doomed_mu);
}

/* A directory that held files deleted while open is not empty until
 * they are closed; the kernel sends the last close (RELEASE) after
 * close(2) returned, so `rm f; rmdir d` can get here first. */
bool fs_doomed_wait(struct fs *fs) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += DOOMED_WAIT_S;
  pthread_mutex_lock(&fs->doomed_mu);
  bool had = fs->doomed > 0;
  while (fs->doomed > 0 &&
         pthread_cond_timedwait(&fs->doomed_cv, &fs->doomed_mu, &until) == 0)
    ;
  pthread_mutex_unlock(&fs->doomed_mu);
  return had;
}
