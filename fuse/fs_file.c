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
 * the server hears nothing until close(2) or fsync(2) sends it whole as
 * one compound (fs_handle.c says how). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "errmap.h"
#include "fs_file.h"
#include "fs_handle.h"
#include "fs_listing.h"
#include "fs_reply.h"
#include "log.h"

static struct fh *fi_fh(struct fuse_file_info *fi) {
  return (struct fh *)(uintptr_t)fi->fh;
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
    rc = fs_open_file(fs, path, fi->flags, 0, &f);
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
  struct fh *fh = fs_fh_new(fs, n, f, fi->flags);
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
  int rc = fs_open_file(fs, path, flags, extra, f);
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
  struct smbq_stat st;
  struct node *n = nodes_lookup(&fs->nodes, dir, name);
  struct fh *fh = n ? fs_fh_new_pending(fs, n, fi->flags, mode, &st) : NULL;
  if (!fh) {
    if (n)
      nodes_forget(&fs->nodes, n, 1);
    fuse_reply_err(req, ENOMEM);
    return;
  }
  fi->fh = (uintptr_t)fh;
  fs_dir_note(fs, dir, name, FS_DIR_ADD, NULL);
  struct fuse_entry_param e;
  fs_fill_entry(fs, n, &st, &e);
  /* ours alone: the page cache and the writeback cache may hold it */
  struct smbq_file_info info = {.cache = SMBQ_CACHE_READ | SMBQ_CACHE_WRITE,
                                .st = st};
  set_caching(fs, n, fi, &info, cache_breaks(fs, n), false);
  fi->keep_cache = 0;
  if (fuse_reply_create(req, &e, fi) == -ENOENT) { /* interrupted */
    fs_pending_cancel(fs, fh); /* never created */
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
  struct fh *fh = n ? fs_fh_new(fs, n, f, fi->flags) : NULL;
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
  size_t n;
  if (fs_pending_read(fh, op->buf, size, off, &n)) {
    fuse_reply_buf(req, op->buf, n);
    free(op);
    return;
  }
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
  int rc;
  if (fs_pending_write(fh, buf, size, off, &rc)) {
    if (rc < 0) {
      fs_reply_err(req, fs, rc, "write", NULL);
      return;
    }
    fs_note_ksize(fs, ino_node(fs, ino), (uint64_t)off + size, true);
    fuse_reply_write(req, size);
    return;
  }
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
  fs_pending_flush(fs, fh, true, false);
  /* the kernel's last mtime, so that close(2) leaves it on the server
   * and the release that follows has only the CLOSE to send (a delete
   * right after close(2) would otherwise find the handle still open) */
  int rc = fs_fh_send_times(fh);
  if (rc < 0)
    mlog(LOG_WARNING, "setting the times of a file at close failed: %s",
         smbq_strerror(rc));
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
  bool sent = fs_pending_flush(fs, fh, false, true);
  if (reply_write_err(req, fs, fh, "fsync"))
    return;
  if (sent) {
    fuse_reply_err(req, 0);
    return;
  }
  smbq_file *f;
  int rc = fs_fh_file(fs, fh, &f);
  if (rc == 0)
    rc = fs_fh_send_times(fh);
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
    /* a directory lease's READ lost: another client changed it */
    if (b->is_dir && (lost & SMBQ_CACHE_READ))
      fs_dir_lease_lost_locked(n);
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
