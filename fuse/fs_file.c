/* smbq-mount: open files, and what the kernel may cache of them.
 *
 * Caching follows the file's lease (smbq.h, "leases"): pages stay cached
 * across opens only while READ caching holds, and with the kernel's
 * writeback cache (on unless --no-writeback) write(2) fills the page
 * cache while WRITE caching holds; an open without it writes through
 * (direct I/O). A break (fs_lease_break, on libsmbq's break thread) has
 * the kernel write back dirty pages, which come here as writes that wait
 * for the server's acknowledgement, and drop its pages and attributes:
 * the lease is acknowledged only once the data is on the server.
 *
 * Reads are answered from libsmbq's completion callback (no worker thread
 * waits on the network); writes wait for the server's acknowledgement, and
 * a failed one is remembered and reported by close(2) and fsync(2).
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
#include <stdlib.h>
#include <string.h>

#include "errmap.h"
#include "fs_internal.h"
#include "log.h"

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
static int open_file(struct fs *fs, const char *path, int flags,
                     unsigned extra, smbq_file **f) {
  unsigned of = open_flags(flags, fs->writeback) | extra;
  int rc = smbq_open(fs->tree, path, of, f);
  if (rc == SMBQ_ERR_ACCESS && (flags & O_ACCMODE) == O_WRONLY &&
      fs->writeback)
    rc = smbq_open(fs->tree, path, (of & ~3u) | SMBQ_O_WRONLY, f);
  return rc;
}

static struct fh *fi_fh(struct fuse_file_info *fi) {
  return (struct fh *)(uintptr_t)fi->fh;
}

static struct fh *new_fh(struct fs *fs, struct node *n, smbq_file *f,
                         int flags) {
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

/* Send fh's pending file (fh->mu held): one compound. final: this is the
 * close, the read-only attribute goes too (later I/O on the handle
 * clears it again for its open); sync: the server flushes to disk. */
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
  int rc = open_file(fs, path, flags, 0, &fh->f);
  struct smbq_stat s;
  if (rc == SMBQ_ERR_ACCESS && fh->readonly_sent &&
      smbq_stat(fs->tree, path, &s) == 0 &&
      smbq_set_attributes(fs->tree, path,
                          s.attributes & ~(uint32_t)SMBQ_ATTR_READONLY) == 0) {
    fh->readonly_sent = false;
    fh->readonly_on_close = true;
    rc = open_file(fs, path, flags, 0, &fh->f);
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

bool fs_same_time(struct timespec a, struct timespec b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec / 100 == b.tv_nsec / 100;
}

static unsigned cache_breaks(struct fs *fs, struct node *n) {
  nodes_lock(&fs->nodes);
  unsigned b = n->cache.breaks;
  nodes_unlock(&fs->nodes);
  return b;
}

/* What the kernel may cache for an open that holds `held` (info is the
 * open's; breaks: n->cache.breaks before the open was sent). Pages cached
 * earlier are kept (keep_cache) only if READ caching held all along: no
 * break or release came in between, and if the file was closed meanwhile
 * (its lease may have lapsed: the release is reported asynchronously)
 * the server's size and mtime are still those the pages were read under.
 * An open without READ, or a writable one without WRITE, bypasses the
 * page cache when the writeback cache is on: the kernel would otherwise
 * keep data and size the server does not let us keep. */
static void set_caching(struct fs *fs, struct node *n,
                        struct fuse_file_info *fi,
                        const struct smbq_file_info *info, unsigned breaks,
                        bool truncated) {
  struct node_cache *c = &n->cache;
  bool read = info->cache & SMBQ_CACHE_READ;
  bool writable = (fi->flags & O_ACCMODE) != O_RDONLY;
  nodes_lock(&fs->nodes);
  bool same = c->valid_size == info->st.size &&
              fs_same_time(c->valid_mtime, info->st.mtime);
  bool keep = read && c->pages_valid && c->breaks == breaks &&
              (!c->closed || same) && !truncated;
  c->held = info->cache;
  c->pages_valid = read;
  c->closed = false;
  c->valid_size = info->st.size;
  c->valid_mtime = info->st.mtime;
  if (truncated && c->kattr_known)
    c->ksize = 0; /* the kernel truncates its copy (atomic O_TRUNC) */
  nodes_unlock(&fs->nodes);
  fi->keep_cache = keep;
  fi->direct_io = fs->writeback &&
                  (!read || (writable && !(info->cache & SMBQ_CACHE_WRITE)));
}

/* What a new open holds; nothing when the library cannot say. */
static void file_info(smbq_file *f, struct smbq_file_info *i) {
  if (smbq_file_get_info(f, i) < 0)
    memset(i, 0, sizeof(*i));
}

/* Whether the kernel's inode of n holds another size than the file that
 * was just opened (another client changed it after our lookup; a lookup
 * of a file another client is writing under a WRITE lease sees its size
 * from before the break our open caused). With the writeback cache the
 * kernel would go on with its own size: refuse the open with ESTALE,
 * which makes the kernel look the name up again (LOOKUP_REVAL), where
 * reply_lookup gives it a new inode, and open that, once. Only while
 * nothing of ours has the file open (no dirty pages) and not for
 * O_TRUNC (the kernel truncates its copy itself), nor while READ caching
 * held all along (nobody else changed the file; a handle libsmbq kept
 * open reports the attributes of its CREATE, from before our own writes).
 * Without the writeback cache the kernel takes sizes from the server: its
 * attributes are only marked stale. */
static bool stale_size(struct fs *fs, struct node *n, int flags,
                       const struct smbq_file_info *info, unsigned breaks) {
  if (flags & O_TRUNC)
    return false;
  nodes_lock(&fs->nodes);
  struct node_cache *c = &n->cache;
  bool held = (info->cache & SMBQ_CACHE_READ) && c->pages_valid &&
              c->breaks == breaks;
  bool differ = !held && c->kattr_known && c->ksize != info->st.size;
  bool refuse = differ && n->open == 0 && !c->estale_sent;
  c->estale_sent = refuse;
  if (differ && !fs->writeback)
    c->ksize = info->st.size; /* the kernel is about to hear it */
  nodes_unlock(&fs->nodes);
  if (!differ)
    return false;
  if (!fs->writeback) {
    /* attributes only (no page is touched): safe inside this open */
    fuse_lowlevel_notify_inval_inode(fs->se, nodes_ino(&fs->nodes, n), -1, 0);
    return false;
  }
  return refuse;
}

void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  struct fs *fs = req_fs(req);
  struct node *n = ino_node(fs, ino);
  char *path = nodes_path(&fs->nodes, n);
  if (!path) {
    fuse_reply_err(req, errno);
    return;
  }
  unsigned breaks = cache_breaks(fs, n);
  smbq_file *f;
  /* our own new file, not on the server yet: it goes now */
  int rc = fs_settle(fs, n);
  if (rc == 0)
    rc = open_file(fs, path, fi->flags, 0, &f);
  if (rc < 0) {
    fs_reply_err(req, fs, rc, "open", path);
    free(path);
    return;
  }
  struct smbq_file_info info;
  file_info(f, &info);
  if (info.st.type == SMBQ_TYPE_FILE && stale_size(fs, n, fi->flags, &info, breaks)) {
    mlog(LOG_DEBUG, "'%s' changed size on the server: ESTALE for a new "
         "lookup", path);
    free(path);
    smbq_close(f);
    fuse_reply_err(req, ESTALE);
    return;
  }
  free(path);
  struct fh *fh = new_fh(fs, n, f, fi->flags);
  if (!fh) {
    smbq_close(f);
    fuse_reply_err(req, ENOMEM);
    return;
  }
  fi->fh = (uintptr_t)fh;
  set_caching(fs, n, fi, &info, breaks, (fi->flags & O_TRUNC) != 0);
  if (fuse_reply_open(req, fi) == -ENOENT) /* interrupted */
    fs_fh_put(fs, fh);
}

/* Open with O_CREAT; the attributes come with the CREATE reply. */
static int create_file(struct fs *fs, const char *path, int flags,
                       smbq_file **f, struct smbq_file_info *info) {
  unsigned extra = SMBQ_O_CREAT | ((flags & O_EXCL) ? SMBQ_O_EXCL : 0);
  int rc = open_file(fs, path, flags, extra, f);
  if (rc < 0)
    return rc;
  if (smbq_file_get_info(*f, info) == 0)
    return 0;
  memset(info, 0, sizeof(*info)); /* cache nothing */
  rc = smbq_fstat(*f, &info->st);
  if (rc < 0)
    smbq_close(*f);
  return rc;
}

/* create() of a pending file: nothing goes to the server yet. The kernel
 * looked the name up and found nothing just before (it sends CREATE only
 * for a negative entry); the compound's CREATE checks O_EXCL again. */
static void create_pending(fuse_req_t req, struct fs *fs, struct node *dir,
                           const char *name, mode_t mode,
                           struct fuse_file_info *fi) {
  struct pending *p = calloc(1, sizeof(*p));
  struct node *n = p ? nodes_lookup(&fs->nodes, dir, name) : NULL;
  struct fh *fh = n ? new_fh(fs, n, NULL, fi->flags) : NULL;
  if (!fh) {
    if (n)
      nodes_forget(&fs->nodes, n, 1);
    free(p);
    fuse_reply_err(req, ENOMEM);
    return;
  }
  /* the kernel believes the file new and empty: so is it on the server */
  p->oflags = SMBQ_O_CREAT | SMBQ_O_TRUNC |
              ((fi->flags & O_EXCL) ? SMBQ_O_EXCL : 0);
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
  fh->pend = p;
  pending_list(fs, fh);
  fi->fh = (uintptr_t)fh;
  fs_dir_note(fs, dir, name, FS_DIR_ADD, NULL);
  struct fuse_entry_param e;
  fs_fill_entry(fs, n, &p->st, &e);
  /* ours alone: the page cache and the writeback cache may hold it */
  struct smbq_file_info info = {.cache = SMBQ_CACHE_READ | SMBQ_CACHE_WRITE,
                                .st = p->st};
  set_caching(fs, n, fi, &info, cache_breaks(fs, n), false);
  fi->keep_cache = 0;
  if (fuse_reply_create(req, &e, fi) == -ENOENT) { /* interrupted */
    pending_unlist(fs, fh); /* never created */
    fh->pend = NULL;
    pending_free(p);
    fs_dir_note(fs, dir, name, FS_DIR_DEL, NULL);
    nodes_detach(&fs->nodes, dir, name);
    fs_fh_put(fs, fh);
    nodes_forget(&fs->nodes, n, 1);
  }
}

void fs_create(fuse_req_t req, fuse_ino_t parent, const char *name,
               mode_t mode, struct fuse_file_info *fi) {
  struct fs *fs = req_fs(req);
  struct node *dir = ino_node(fs, parent);
  if (fs_bad_name(name)) {
    fuse_reply_err(req, EINVAL);
    return;
  }
  /* Deferred: exclusive creates (tar, cp, mkstemp make new files so),
   * with the writeback cache (write(2) need not reach the server) and a
   * name cache (others see our names that late anyway). Other creates
   * appear on the server at once: a client reading the file while we
   * write it then breaks our lease and gets the data. */
  if (fs->writeback && (fi->flags & O_EXCL) && fs->cfg->entry_timeout > 0 &&
      smbq_put_small_max(fs->tree) > 0) {
    create_pending(req, fs, dir, name, mode, fi);
    return;
  }
  char *path = fs_child_path(req, fs, dir, name);
  if (!path)
    return;
  smbq_file *f;
  struct smbq_file_info info;
  int rc = create_file(fs, path, fi->flags, &f, &info);
  if (rc < 0) {
    fs_reply_err(req, fs, rc, "create", path);
    free(path);
    return;
  }
  free(path);
  struct node *n = nodes_lookup(&fs->nodes, dir, name);
  struct fh *fh = n ? new_fh(fs, n, f, fi->flags) : NULL;
  if (!fh) {
    if (n)
      nodes_forget(&fs->nodes, n, 1);
    smbq_close(f);
    fuse_reply_err(req, ENOMEM);
    return;
  }
  fh->readonly_on_close = !(mode & 0222);
  fi->fh = (uintptr_t)fh;
  fs_dir_note(fs, dir, name, FS_DIR_ADD, NULL);
  struct fuse_entry_param e;
  fs_fill_entry(fs, n, &info.st, &e);
  /* a new inode: nothing cached to keep */
  set_caching(fs, n, fi, &info, cache_breaks(fs, n), false);
  fi->keep_cache = 0;
  if (fuse_reply_create(req, &e, fi) == -ENOENT) { /* interrupted */
    fs_fh_put(fs, fh);
    nodes_forget(&fs->nodes, n, 1);
  }
}

/* mknod(2) of a regular file; other kinds do not exist on SMB. */
void fs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
              mode_t mode, dev_t rdev) {
  (void)rdev;
  struct fs *fs = req_fs(req);
  struct node *dir = ino_node(fs, parent);
  if (!S_ISREG(mode) || fs_bad_name(name)) {
    fuse_reply_err(req, S_ISREG(mode) ? EINVAL : EPERM);
    return;
  }
  char *path = fs_child_path(req, fs, dir, name);
  if (!path)
    return;
  smbq_file *f;
  struct smbq_file_info info;
  int rc = create_file(fs, path, O_RDWR | O_EXCL, &f, &info);
  if (rc == 0)
    rc = smbq_close(f);
  if (rc < 0)
    fs_reply_err(req, fs, rc, "mknod", path);
  else
    fs_reply_entry(req, fs, dir, name, &info.st);
  free(path);
}

/* ---- data ------------------------------------------------------------- */

struct read_op {
  fuse_req_t req;
  struct fs *fs;
  char buf[];
};

static void reads_add(struct fs *fs, int delta) {
  pthread_mutex_lock(&fs->reads_mu);
  fs->reads = (unsigned)((int)fs->reads + delta);
  if (fs->reads == 0)
    pthread_cond_broadcast(&fs->reads_cv);
  pthread_mutex_unlock(&fs->reads_mu);
}

/* Runs on libsmbq's I/O thread: only replies, never a sync call. */
static void read_done(void *arg, ssize_t res) {
  struct read_op *op = arg;
  struct fs *fs = op->fs;
  if (res < 0)
    fs_reply_err(op->req, fs, (int)res, "read", NULL);
  else
    fuse_reply_buf(op->req, op->buf, (size_t)res);
  free(op);
  reads_add(fs, -1);
}

void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
             struct fuse_file_info *fi) {
  (void)ino;
  struct fs *fs = req_fs(req);
  if (size == 0) {
    fuse_reply_buf(req, NULL, 0);
    return;
  }
  struct read_op *op = malloc(sizeof(*op) + size);
  if (!op) {
    fuse_reply_err(req, ENOMEM);
    return;
  }
  struct fh *fh = fi_fh(fi);
  /* a pending file: its bytes are here */
  pthread_mutex_lock(&fh->mu);
  struct pending *p = fh->pend;
  if (p) {
    size_t n = (uint64_t)off >= p->st.size ? 0
               : (size_t)(p->st.size - (uint64_t)off);
    if (n > size)
      n = size;
    memcpy(op->buf, p->buf + off, n);
    pthread_mutex_unlock(&fh->mu);
    fuse_reply_buf(req, op->buf, n);
    free(op);
    return;
  }
  pthread_mutex_unlock(&fh->mu);
  smbq_file *f;
  int rc = fs_fh_file(fs, fh, &f);
  if (rc < 0) {
    free(op);
    fs_reply_err(req, fs, rc, "read", NULL);
    return;
  }
  op->req = req;
  op->fs = fs;
  reads_add(fs, 1);
  rc = smbq_pread_async(f, op->buf, size, (uint64_t)off, read_done, op);
  if (rc < 0) {
    free(op);
    fs_reply_err(req, fs, rc, "read", NULL);
    reads_add(fs, -1);
  }
}

void fs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
              off_t off, struct fuse_file_info *fi) {
  struct fs *fs = req_fs(req);
  struct fh *fh = fi_fh(fi);
  /* a pending file keeps its data until close, up to its limit */
  pthread_mutex_lock(&fh->mu);
  struct pending *p = fh->pend;
  if (p && (uint64_t)off + size <= p->max) {
    int rc = 0;
    if ((uint64_t)off + size > p->st.size)
      rc = pending_resize(p, (size_t)off + size);
    if (rc == 0) {
      memcpy(p->buf + off, buf, size);
      struct timespec now;
      clock_gettime(CLOCK_REALTIME, &now);
      p->st.mtime = p->st.ctime = now;
    }
    pthread_mutex_unlock(&fh->mu);
    if (rc < 0) {
      fs_reply_err(req, fs, rc, "write", NULL);
      return;
    }
    fs_note_ksize(fs, ino_node(fs, ino), (uint64_t)off + size, true);
    fuse_reply_write(req, size);
    return;
  }
  pthread_mutex_unlock(&fh->mu);
  smbq_file *f;
  ssize_t n = fs_fh_file(fs, fh, &f);
  if (n == 0) {
    fh->wrote = true;
    n = smbq_pwrite(f, buf, size, (uint64_t)off);
  }
  if (n < 0) {
    int expected = 0;
    __atomic_compare_exchange_n(&fh->write_err, &expected, (int)n, false,
                                __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    fs_reply_err(req, fs, (int)n, "write", NULL);
    return;
  }
  fs_note_ksize(fs, ino_node(fs, ino), (uint64_t)off + (uint64_t)n, true);
  fuse_reply_write(req, (size_t)n);
}

/* A write of this handle that failed, as the reply to a flush or fsync
 * (the error stays: the data it carried is lost). */
static bool reply_write_err(fuse_req_t req, struct fs *fs, struct fh *fh,
                            const char *what) {
  int err = __atomic_load_n(&fh->write_err, __ATOMIC_RELAXED);
  if (err == 0)
    return false;
  bool unexpected;
  int e = smbq_mount_errno(err, &unexpected);
  (void)unexpected;
  mlog(LOG_WARNING, "%s: reporting a failed write: %s", what,
       smbq_strerror(err));
  fuse_reply_err(req, e ? e : EIO);
  return true;
}

/* close(2) of one descriptor. The kernel has written back the file's
 * dirty pages before it sends FLUSH (fuse_flush: write_inode_now, then
 * waiting for writes in flight), and every write waited for the server's
 * acknowledgement: nothing is pending, but a write that failed on the
 * way must fail close(2). */
void fs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  (void)ino;
  struct fs *fs = req_fs(req);
  struct fh *fh = fi_fh(fi);
  /* a pending file goes now, whole: close(2) returns once the server
   * has it (the error, if any, is the handle's failed write) */
  pthread_mutex_lock(&fh->mu);
  if (fh->pend)
    pending_send(fs, fh, true, false);
  pthread_mutex_unlock(&fh->mu);
  if (!reply_write_err(req, fs, fh, "close"))
    fuse_reply_err(req, 0);
}

/* fsync(2): the kernel wrote back first (as for flush); SMB2 FLUSH makes
 * the server write the file to stable storage. */
void fs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
              struct fuse_file_info *fi) {
  (void)ino, (void)datasync;
  struct fs *fs = req_fs(req);
  struct fh *fh = fi_fh(fi);
  /* a pending file: the compound carries a FLUSH */
  pthread_mutex_lock(&fh->mu);
  bool sent = fh->pend != NULL;
  if (sent)
    pending_send(fs, fh, false, true);
  pthread_mutex_unlock(&fh->mu);
  if (reply_write_err(req, fs, fh, "fsync"))
    return;
  if (sent) {
    fuse_reply_err(req, 0);
    return;
  }
  smbq_file *f;
  int rc = fs_fh_file(fs, fh, &f);
  if (rc == 0)
    rc = smbq_fflush(f);
  if (rc < 0)
    fs_reply_err(req, fs, rc, "fsync", NULL);
  else
    fuse_reply_err(req, 0);
}

void fs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  (void)ino;
  fs_fh_put(req_fs(req), fi_fh(fi));
  fuse_reply_err(req, 0);
}

/* ---- leases ------------------------------------------------------------ */

void fs_set_session(struct fs *fs, struct fuse_session *se) {
  pthread_mutex_lock(&fs->break_mu);
  fs->se = se;
  __atomic_store_n(&fs->ready, true, __ATOMIC_RELEASE);
  pthread_mutex_unlock(&fs->break_mu);
  fs_pending_start(fs);
}

/* What a break changes in the node of b->path, under the table's lock.
 * Fills what the kernel must be told; false if it has no node for it. */
struct break_plan {
  uint64_t ino, parent;
  bool inval_inode;
  char *name; /* drop the name too (malloc'd), or NULL */
};

static bool plan_break(struct fs *fs, const struct smbq_lease_break *b,
                       struct break_plan *p) {
  unsigned lost = b->old_state & ~b->new_state;
  memset(p, 0, sizeof(*p));
  nodes_lock(&fs->nodes);
  struct node *n = nodes_find_locked(&fs->nodes, b->path, &p->parent);
  if (n) {
    struct node_cache *c = &n->cache;
    p->ino = nodes_ino(&fs->nodes, n);
    c->breaks++;
    c->held = b->new_state;
    if (!(b->new_state & SMBQ_CACHE_READ))
      c->pages_valid = false;
    /* WRITE lost: write back dirty pages; READ lost: drop pages and
     * attributes. A directory: its attributes and entries. */
    p->inval_inode = b->is_dir || (lost & (SMBQ_CACHE_READ | SMBQ_CACHE_WRITE));
    /* With the writeback cache the kernel keeps the size and mtime of an
     * inode it has and never takes the server's: once the file may change
     * (READ lost) or be renamed or deleted (HANDLE lost) behind us, let
     * the kernel forget the inode of a file nobody has open, so that the
     * next lookup makes a new one from the server's attributes. */
    if (fs->writeback && !b->is_dir && p->parent && n->open == 0 &&
        (lost & (SMBQ_CACHE_READ | SMBQ_CACHE_HANDLE))) {
      p->name = strdup(n->name);
      c->kattr_known = false;
      c->kmtime_known = false;
    }
  }
  nodes_unlock(&fs->nodes);
  return n != NULL;
}

void fs_lease_break(void *arg, const struct smbq_lease_break *b) {
  struct fs *fs = arg;
  if (!__atomic_load_n(&fs->ready, __ATOMIC_ACQUIRE))
    return;
  /* held while the kernel is notified: fs_destroy waits for it */
  pthread_mutex_lock(&fs->break_mu);
  struct break_plan p;
  if (fs->ready && (!b->tree || b->tree == fs->tree) && b->path &&
      plan_break(fs, b, &p)) {
    mlog(LOG_DEBUG, "lease break on '%s': %#x -> %#x", b->path,
         b->old_state, b->new_state);
    /* Not inside a request on this inode (that would deadlock): this is
     * libsmbq's break thread. Dirty pages are written back first, as
     * write requests that this mount's workers send to the server. */
    int rc = 0;
    if (p.inval_inode)
      rc = fuse_lowlevel_notify_inval_inode(fs->se, p.ino, 0, 0);
    if (rc < 0 && rc != -ENOENT)
      mlog(LOG_WARNING, "dropping the cache of '%s' after a lease break: %s",
           b->path, strerror(-rc));
    if (p.name) {
      rc = fuse_lowlevel_notify_inval_entry(fs->se, p.parent, p.name,
                                            strlen(p.name));
      if (rc < 0 && rc != -ENOENT)
        mlog(LOG_DEBUG, "dropping the name '%s': %s", b->path,
             strerror(-rc));
      free(p.name);
    }
  }
  pthread_mutex_unlock(&fs->break_mu);
}
