/* smbq-mount: names and attributes (lookup, getattr, setattr, mkdir,
 * unlink, rmdir, rename) and the operation table.
 *
 * Why the low-level API: it hands us inode numbers, and nodes.c keeps the
 * name of each, so a directory rename is one table update while the
 * kernel keeps its caches; it lets reads be answered from libsmbq's
 * completion callbacks without holding a worker thread; and lookup counts
 * tell us exactly when a name may be forgotten. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dcache.h"
#include "fs_dir.h"
#include "fs_file.h"
#include "fs_handle.h"
#include "fs_listing.h"
#include "fs_reply.h"
#include "fs_stats.h"
#include "log.h"

/* ---- replies ---------------------------------------------------------- */

/* With the writeback cache, whether the kernel's inode for n (if it has
 * one) is out of date: the server's file has another size or mtime than
 * the kernel believes. Runs with the table locked. */
static bool kernel_copy_stale(struct node *n, void *arg) {
  const struct smbq_stat *s = arg;
  const struct node_cache *c = &n->cache;
  if (s->type != SMBQ_TYPE_FILE || !c->kattr_known)
    return false;
  return c->ksize != s->size ||
         (c->kmtime_known && !fs_same_time(c->kmtime, s->mtime));
}

/* A lookup's reply. With the writeback cache the kernel would keep the
 * size and mtime of an inode it already has (and its pages), whatever the
 * server says: a file changed behind a closed inode gets a new node
 * number instead, so the kernel makes a new inode from these attributes.
 * fresh: s came from the server just now. */
static void reply_lookup(fuse_req_t req, struct fs *fs, struct node *dir,
                         const char *name, struct smbq_stat *s, bool fresh) {
  bool renewed = false;
  struct node *n = fs->writeback
                       ? nodes_lookup_renew(&fs->nodes, dir, name,
                                            kernel_copy_stale, s, &renewed)
                       : nodes_lookup(&fs->nodes, dir, name);
  if (!n) {
    fuse_reply_err(req, ENOMEM);
    return;
  }
  if (renewed)
    mlog(LOG_DEBUG, "'%s' changed on the server: new inode", name);
  if (fresh)
    fs_note_dattr(fs, n, s);
  struct fuse_entry_param e;
  fs_fill_entry(fs, n, s, &e);
  if (fuse_reply_entry(req, &e) == -ENOENT)
    nodes_forget(&fs->nodes, n, 1);
}

static void reply_attr(fuse_req_t req, struct fs *fs, struct node *n,
                       const struct smbq_stat *s) {
  if (!fs->writeback && s->type == SMBQ_TYPE_FILE) {
    /* the kernel takes the server's size (stale_size in fs_file.c) */
    nodes_lock(&fs->nodes);
    if (n->cache.kattr_known)
      n->cache.ksize = s->size;
    nodes_unlock(&fs->nodes);
  }
  struct stat st;
  fs_fill_attr(fs, n, s, &st);
  fuse_reply_attr(req, &st, fs->cfg->attr_timeout);
}

/* ---- init ------------------------------------------------------------- */

int fs_init(struct fs *fs, const struct mount_cfg *cfg, smbq_conn *conn,
            smbq_tree *tree, const char *prefix) {
  /* fs was zeroed before the connection was made: its lease break
   * callback may look at fs->ready already */
  pthread_mutex_init(&fs->break_mu, NULL);
  fs->cfg = cfg;
  fs->conn = conn;
  fs->tree = tree;
  struct smbq_stat st;
  int rc = smbq_stat(tree, prefix, &st);
  if (rc < 0)
    return rc;
  if (st.type != SMBQ_TYPE_DIR)
    return SMBQ_ERR_NOTDIR;
  if (nodes_init(&fs->nodes, prefix) < 0)
    return SMBQ_ERR_NOMEM;
  pthread_mutex_init(&fs->doomed_mu, NULL);
  pthread_cond_init(&fs->doomed_cv, NULL);
  pthread_mutex_init(&fs->reads_mu, NULL);
  pthread_cond_init(&fs->reads_cv, NULL);
  pthread_mutex_init(&fs->pending_mu, NULL);
  pthread_cond_init(&fs->pending_cv, NULL);
  return 0;
}

void fs_destroy(struct fs *fs) {
  /* No lease break reaches the table from now on (break_mu stays: a
   * callback may still be about to take it) */
  pthread_mutex_lock(&fs->break_mu);
  __atomic_store_n(&fs->ready, false, __ATOMIC_RELEASE);
  fs->se = NULL;
  pthread_mutex_unlock(&fs->break_mu);
  fs_pending_stop(fs);
  nodes_destroy(&fs->nodes);
  pthread_mutex_destroy(&fs->doomed_mu);
  pthread_cond_destroy(&fs->doomed_cv);
  pthread_mutex_destroy(&fs->reads_mu);
  pthread_cond_destroy(&fs->reads_cv);
  pthread_mutex_destroy(&fs->pending_mu);
  pthread_cond_destroy(&fs->pending_cv);
}

void fs_set_session(struct fs *fs, struct fuse_session *se) {
  pthread_mutex_lock(&fs->break_mu);
  fs->se = se;
  __atomic_store_n(&fs->ready, true, __ATOMIC_RELEASE);
  pthread_mutex_unlock(&fs->break_mu);
  fs_pending_start(fs);
}

void fs_drain(struct fs *fs) {
  pthread_mutex_lock(&fs->reads_mu);
  while (fs->reads > 0)
    pthread_cond_wait(&fs->reads_cv, &fs->reads_mu);
  pthread_mutex_unlock(&fs->reads_mu);
}

static void op_init(void *userdata, struct fuse_conn_info *conn) {
  struct fs *fs = userdata;
  /* Large requests: libsmbq splits and pipelines them (libfuse caps this
   * at its buffer size, 1 MiB in 3.14). */
  conn->max_write = FS_IO_SIZE;
  conn->max_readahead = FS_IO_SIZE;
  /* Writeback and readahead requests in flight at once (the kernel's
   * default is 12): each waits a round trip for the server, so over the
   * internet only many in flight fill the link, as smbq put's pipelining
   * does. */
  conn->max_background = 64;
  conn->congestion_threshold = 48;
  /* O_TRUNC goes into the SMB CREATE (overwrite) instead of a setattr. */
  if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
    conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
  /* Drop cached pages when the server's size or mtime changed. */
  if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA)
    conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
  /* Writeback cache: write(2) fills the page cache, the kernel writes
   * back later (close, fsync, a lease break, memory pressure). Opens
   * without WRITE caching write through instead (direct I/O). */
  fs->writeback = !fs->cfg->no_writeback && !fs->cfg->ro &&
                  (conn->capable & FUSE_CAP_WRITEBACK_CACHE);
  if (fs->writeback)
    conn->want |= FUSE_CAP_WRITEBACK_CACHE;
  else
    conn->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE;
  /* SMB has no set-user-ID bits to drop on write: the kernel need not
   * ask for security.capability before every write(2). */
  if (conn->capable & FUSE_CAP_HANDLE_KILLPRIV)
    conn->want |= FUSE_CAP_HANDLE_KILLPRIV;
  /* the counters' ioctl is on the root directory (fs_stats.c) */
  if (conn->capable & FUSE_CAP_IOCTL_DIR)
    conn->want |= FUSE_CAP_IOCTL_DIR;
  conn->time_gran = 100; /* SMB FILETIME ticks */
}

/* ---- names ------------------------------------------------------------ */

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) {
  struct fs *fs = req_fs(req);
  struct node *dir = ino_node(fs, parent);
  if (fs_bad_name(name)) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  struct smbq_stat s;
  /* a file created here that the server has not seen yet */
  nodes_lock(&fs->nodes);
  struct node *child = nodes_child_locked(&fs->nodes, dir, name);
  struct node_handle *h = child ? nodes_handle_hold_locked(child) : NULL;
  nodes_unlock(&fs->nodes);
  if (h) {
    bool pending = fs_pending_stat(fs, child, &s);
    fs_fh_put(fs, (struct fh *)h);
    if (pending) {
      reply_lookup(req, fs, dir, name, &s, false);
      return;
    }
  }
  enum dcache_answer a = fs_listing_lookup(fs, dir, name, &s);
  if (a == DCACHE_PRESENT) {
    reply_lookup(req, fs, dir, name, &s, false);
    return;
  }
  int rc = SMBQ_ERR_NOENT;
  char *path = NULL;
  if (a == DCACHE_UNKNOWN) {
    path = fs_child_path(req, fs, dir, name);
    if (!path)
      return;
    rc = smbq_stat(fs->tree, path, &s);
  }
  if (rc == SMBQ_ERR_NOENT && fs->cfg->negative_timeout > 0) {
    struct fuse_entry_param e = {.ino = 0,
                                 .entry_timeout = fs->cfg->negative_timeout};
    fuse_reply_entry(req, &e);
  } else if (rc < 0) {
    fs_reply_err(req, fs, rc, "lookup", path);
  } else {
    reply_lookup(req, fs, dir, name, &s, true);
  }
  free(path);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  struct fs *fs = req_fs(req);
  nodes_forget(&fs->nodes, ino_node(fs, ino), nlookup);
  fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count,
                            struct fuse_forget_data *forgets) {
  struct fs *fs = req_fs(req);
  for (size_t i = 0; i < count; i++)
    nodes_forget(&fs->nodes, ino_node(fs, forgets[i].ino),
                 forgets[i].nlookup);
  fuse_reply_none(req);
}

/* What a getattr/setattr works on: the path, and an open handle when the
 * request came with one or the name is gone (fstat(2) of a file deleted
 * while open arrives without the handle). */
struct target {
  char *path;  /* NULL once the name was deleted */
  struct fh *fh;
  bool held;   /* fh was taken with fs_fh_hold */
};

static int target_get(struct fs *fs, struct node *n,
                      struct fuse_file_info *fi, struct target *t) {
  memset(t, 0, sizeof(*t));
  t->path = nodes_path(&fs->nodes, n);
  if (!t->path && errno == ENOMEM)
    return ENOMEM;
  if (fi && fi->fh) {
    t->fh = (struct fh *)(uintptr_t)fi->fh;
  } else if (!t->path) {
    t->fh = fs_fh_hold(fs, n);
    t->held = t->fh != NULL;
    if (!t->fh)
      return ENOENT;
  }
  return 0;
}

static void target_put(struct fs *fs, struct target *t) {
  if (t->held)
    fs_fh_put(fs, t->fh);
  free(t->path);
}

/* A handle whose file went out in one compound is not open on the
 * server: its path answers (or, deleted, an open again). */
static int stat_target(struct fs *fs, const struct target *t,
                       struct smbq_stat *s) {
  if (t->fh && (t->fh->f || !t->path)) {
    smbq_file *f;
    int rc = fs_fh_file(fs, t->fh, &f);
    return rc < 0 ? rc : smbq_fstat(f, s);
  }
  return smbq_stat(fs->tree, t->path, s);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino,
                       struct fuse_file_info *fi) {
  struct fs *fs = req_fs(req);
  struct node *n = ino_node(fs, ino);
  struct smbq_stat s;
  if (fs_pending_stat(fs, n, &s) || fs_cached_dattr(fs, n, &s)) {
    reply_attr(req, fs, n, &s);
    return;
  }
  struct target t;
  int e = target_get(fs, n, fi, &t);
  int rc = e ? 0 : stat_target(fs, &t, &s);
  if (e) {
    fuse_reply_err(req, e);
  } else if (rc < 0) {
    fs_reply_err(req, fs, rc, "stat", t.path);
  } else {
    fs_note_dattr(fs, n, &s);
    reply_attr(req, fs, n, &s);
  }
  target_put(fs, &t);
}

/* ---- setattr ---------------------------------------------------------- */

static int set_size(struct fs *fs, const struct target *t, off_t size) {
  if (t->fh) {
    smbq_file *f;
    int rc = fs_fh_file(fs, t->fh, &f);
    return rc < 0 ? rc : smbq_ftruncate(f, (uint64_t)size);
  }
  smbq_file *f;
  int rc = smbq_open(fs->tree, t->path, SMBQ_O_WRONLY, &f);
  if (rc < 0)
    return rc;
  rc = smbq_ftruncate(f, (uint64_t)size);
  int crc = smbq_close(f);
  return rc < 0 ? rc : crc;
}

/* Only the write bits mean something to SMB: none left (chmod a-w) sets
 * the read-only attribute, any (chmod u+w) clears it. Directories keep
 * dir_mode: their read-only bit means something else on Windows. */
static int set_mode(struct fs *fs, const char *path, mode_t mode) {
  if (!path)
    return SMBQ_ERR_NOENT;
  struct smbq_stat s;
  int rc = smbq_stat(fs->tree, path, &s);
  if (rc < 0 || s.type == SMBQ_TYPE_DIR)
    return rc;
  uint32_t attrs = s.attributes & ~(uint32_t)SMBQ_ATTR_READONLY;
  if (!(mode & 0222))
    attrs |= SMBQ_ATTR_READONLY;
  if (attrs == s.attributes)
    return 0;
  return smbq_set_attributes(fs->tree, path, attrs);
}

static int set_times(struct fs *fs, const char *path, const struct stat *attr,
                     int to_set) {
  if (!path)
    return SMBQ_ERR_NOENT;
  struct timespec now, at, mt;
  clock_gettime(CLOCK_REALTIME, &now);
  at = (to_set & FUSE_SET_ATTR_ATIME_NOW) ? now : attr->st_atim;
  mt = (to_set & FUSE_SET_ATTR_MTIME_NOW) ? now : attr->st_mtim;
  return smbq_set_times(fs->tree, path,
                        (to_set & FUSE_SET_ATTR_ATIME) ? &at : NULL,
                        (to_set & FUSE_SET_ATTR_MTIME) ? &mt : NULL);
}

/* Ownership is fixed by uid=/gid=; like mount.cifs without Unix
 * extensions, chown is accepted and changes nothing, so cp -a and tar
 * running as root do not fail on every file. */
static int apply_setattr(struct fs *fs, const struct target *t,
                         struct stat *attr, int to_set) {
  int rc = 0;
  if (to_set & FUSE_SET_ATTR_SIZE)
    rc = set_size(fs, t, attr->st_size);
  if (rc == 0 && (to_set & FUSE_SET_ATTR_MODE))
    rc = set_mode(fs, t->path, attr->st_mode);
  /* With the writeback cache the kernel sends the mtime of its writes
   * along after writing back; a file deleted while open has no name to
   * set it on, and no one to show it to. */
  if (rc == 0 && (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)) &&
      (t->path || !t->fh))
    rc = set_times(fs, t->path, attr, to_set);
  return rc;
}

/* What the kernel's inode now has (it applied the change itself). */
static void note_setattr(struct fs *fs, struct node *n, const struct stat *attr,
                         int to_set) {
  if (to_set & FUSE_SET_ATTR_SIZE)
    fs_note_ksize(fs, n, (uint64_t)attr->st_size, false);
  if (to_set & FUSE_SET_ATTR_MTIME) {
    nodes_lock(&fs->nodes);
    /* _NOW: the kernel's clock, which we do not know to the tick */
    n->cache.kmtime_known = n->cache.kattr_known &&
                            !(to_set & FUSE_SET_ATTR_MTIME_NOW);
    n->cache.kmtime = attr->st_mtim;
    nodes_unlock(&fs->nodes);
  }
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
                       int to_set, struct fuse_file_info *fi) {
  struct fs *fs = req_fs(req);
  struct node *n = ino_node(fs, ino);
  struct smbq_stat s;
  /* a file the server has not seen yet: its compound takes the change */
  int pr = fs_pending_setattr(fs, n, attr, to_set, &s);
  if (pr < 0) {
    fs_reply_err(req, fs, pr, "setattr", NULL);
    return;
  }
  if (pr > 0) {
    note_setattr(fs, n, attr, to_set);
    reply_attr(req, fs, n, &s);
    return;
  }
  /* the kernel's mtime after a writeback pass: kept until fsync or close */
  if (fs->writeback && fi && fi->fh &&
      fs_fh_defer_times((struct fh *)(uintptr_t)fi->fh, attr, to_set, &s)) {
    note_setattr(fs, n, attr, to_set);
    reply_attr(req, fs, n, &s);
    return;
  }
  struct target t;
  int e = target_get(fs, n, fi, &t);
  int rc = e ? 0 : apply_setattr(fs, &t, attr, to_set);
  if (!e && rc == 0) {
    note_setattr(fs, n, attr, to_set);
    rc = stat_target(fs, &t, &s);
  }
  if (!e && (to_set & (FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_MODE |
                       FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)))
    fs_node_note(fs, n, FS_DIR_ATTRS,
                 rc == 0 && s.type == SMBQ_TYPE_FILE ? &s : NULL);
  if (e) {
    fuse_reply_err(req, e);
  } else if (rc < 0) {
    fs_reply_err(req, fs, rc, "setattr", t.path);
  } else {
    fs_note_dattr(fs, n, &s);
    reply_attr(req, fs, n, &s);
  }
  target_put(fs, &t);
}

/* ---- directories and deletion ----------------------------------------- */

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
                     mode_t mode) {
  (void)mode; /* dir_mode applies */
  struct fs *fs = req_fs(req);
  struct node *dir = ino_node(fs, parent);
  if (fs_bad_name(name)) {
    fuse_reply_err(req, EINVAL);
    return;
  }
  char *path = fs_child_path(req, fs, dir, name);
  if (!path)
    return;
  struct smbq_stat s;
  double at = fs_clock();
  /* the new directory and its attributes in one round trip */
  int rc = smbq_mkdir_stat(fs->tree, path, &s);
  if (rc < 0) {
    fs_reply_err(req, fs, rc, "mkdir", path);
    free(path);
    return;
  }
  free(path);
  fs_dir_note(fs, dir, name, FS_DIR_ADD, &s);
  struct node *n = nodes_lookup(&fs->nodes, dir, name);
  struct dcache *empty = n ? dcache_new() : NULL;
  if (!n) {
    fuse_reply_err(req, ENOMEM);
    return;
  }
  /* A new directory is empty: lookups in it need no round trip while
   * that is fresh (others may add names meanwhile, as for any cached
   * entry). */
  if (empty)
    fs_dir_listed(fs, n, empty, at, fs_dir_gen(fs, n), false);
  fs_note_dattr(fs, n, &s);
  struct fuse_entry_param e;
  fs_fill_entry(fs, n, &s, &e);
  if (fuse_reply_entry(req, &e) == -ENOENT)
    nodes_forget(&fs->nodes, n, 1);
}

/* Samba answers STATUS_CANNOT_DELETE for a read-only file, which libsmbq
 * has no code for (SMBQ_ERR_STATUS); Windows answers ACCESS_DENIED. */
static bool maybe_readonly(int rc) {
  return rc == SMBQ_ERR_ACCESS || rc == SMBQ_ERR_STATUS;
}

static int delete_file(struct fs *fs, const char *path) {
  int rc = smbq_unlink(fs->tree, path);
  if (!maybe_readonly(rc))
    return rc;
  struct smbq_stat s;
  if (smbq_stat(fs->tree, path, &s) < 0 ||
      !(s.attributes & SMBQ_ATTR_READONLY))
    return rc;
  uint32_t attrs = s.attributes & ~(uint32_t)SMBQ_ATTR_READONLY;
  if (smbq_set_attributes(fs->tree, path, attrs) < 0)
    return rc;
  rc = smbq_unlink(fs->tree, path);
  if (rc < 0)
    smbq_set_attributes(fs->tree, path, s.attributes); /* put it back */
  return rc;
}

/* POSIX lets an open file be deleted and used until closed. SMB keeps a
 * deleted-but-open file under its name (STATUS_DELETE_PENDING) until the
 * last close, so the name could neither be looked up nor reused. Like
 * NFS and cifs.ko, rename it to a hidden name first, then delete that:
 * the server removes it at the last close, and the handle keeps working. */
static int delete_open_file(struct fs *fs, struct node *dir,
                            const char *name, const char *path) {
  char hidden[64];
  snprintf(hidden, sizeof(hidden), ".smbq-deleted-%x-%x", (unsigned)getpid(),
           __atomic_add_fetch(&fs->silly_seq, 1, __ATOMIC_RELAXED));
  char *silly = nodes_child_path(&fs->nodes, dir, hidden);
  if (!silly)
    return SMBQ_ERR_NOMEM;
  int rc = smbq_rename(fs->tree, path, silly, SMBQ_RENAME_NOREPLACE);
  if (rc < 0) {
    free(silly);
    return delete_file(fs, path); /* still gone after the last close */
  }
  rc = delete_file(fs, silly);
  if (rc < 0) {
    smbq_rename(fs->tree, silly, path, SMBQ_RENAME_NOREPLACE);
  } else {
    /* counted first: the last close may come right after the mark */
    fs_doomed_add(fs, 1);
    if (!nodes_doom(&fs->nodes, dir, name))
      fs_doomed_add(fs, -1);
  }
  free(silly);
  return rc;
}

/* Before the server acts on dir/name: a pending file there (or, for a
 * directory, in it) goes out first. */
static int settle_child(struct fs *fs, struct node *dir, const char *name,
                        bool is_dir) {
  nodes_lock(&fs->nodes);
  struct node *n = nodes_child_locked(&fs->nodes, dir, name);
  if (n)
    n->refs++; /* kept while we work on it */
  nodes_unlock(&fs->nodes);
  if (!n)
    return 0;
  int rc = 0;
  if (is_dir)
    fs_settle_dir(fs, n);
  else
    rc = fs_settle(fs, n);
  nodes_forget(&fs->nodes, n, 1);
  return rc;
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name) {
  struct fs *fs = req_fs(req);
  struct node *dir = ino_node(fs, parent);
  char *path = fs_child_path(req, fs, dir, name);
  if (!path)
    return;
  int rc = settle_child(fs, dir, name, false);
  if (rc == 0)
    rc = nodes_open_count(&fs->nodes, dir, name) > 0
             ? delete_open_file(fs, dir, name, path)
             : delete_file(fs, path);
  if (rc < 0) {
    fs_reply_err(req, fs, rc, "unlink", path);
  } else {
    fs_dir_note(fs, dir, name, FS_DIR_DEL, NULL);
    nodes_detach(&fs->nodes, dir, name);
    fuse_reply_err(req, 0);
  }
  free(path);
}


static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name) {
  struct fs *fs = req_fs(req);
  struct node *dir = ino_node(fs, parent);
  char *path = fs_child_path(req, fs, dir, name);
  if (!path)
    return;
  settle_child(fs, dir, name, true);
  int rc = smbq_rmdir(fs->tree, path);
  if (rc == SMBQ_ERR_NOTEMPTY && fs_doomed_wait(fs))
    rc = smbq_rmdir(fs->tree, path);
  if (rc < 0) {
    fs_reply_err(req, fs, rc, "rmdir", path);
  } else {
    fs_dir_note(fs, dir, name, FS_DIR_DEL, NULL);
    nodes_detach(&fs->nodes, dir, name);
    fuse_reply_err(req, 0);
  }
  free(path);
}

/* ---- rename ----------------------------------------------------------- */

/* SMB refuses to replace a read-only file; POSIX rename does not care
 * about the target's mode. */
static int rename_over_readonly(struct fs *fs, const char *from,
                                const char *to, int rc) {
  struct smbq_stat s;
  if (smbq_stat(fs->tree, to, &s) < 0 || s.type != SMBQ_TYPE_FILE ||
      !(s.attributes & SMBQ_ATTR_READONLY))
    return rc;
  uint32_t attrs = s.attributes & ~(uint32_t)SMBQ_ATTR_READONLY;
  rc = smbq_set_attributes(fs->tree, to, attrs);
  if (rc == 0)
    rc = smbq_rename(fs->tree, from, to, 0);
  if (rc < 0)
    smbq_set_attributes(fs->tree, to, s.attributes);
  return rc;
}

static int do_rename(struct fs *fs, struct node *newdir, const char *newname,
                     const char *from, const char *to, unsigned flags) {
  if (strcmp(from, to) == 0)
    return 0;
  if (flags & RENAME_NOREPLACE)
    return smbq_rename(fs->tree, from, to, SMBQ_RENAME_NOREPLACE);
  /* An open target would make the server refuse: delete it the way
   * unlink deletes open files, so its handles keep working. */
  if (nodes_open_count(&fs->nodes, newdir, newname) > 0)
    delete_open_file(fs, newdir, newname, to);
  int rc = smbq_rename(fs->tree, from, to, 0);
  if (maybe_readonly(rc))
    rc = rename_over_readonly(fs, from, to, rc);
  return rc;
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
                      fuse_ino_t newparent, const char *newname,
                      unsigned int flags) {
  struct fs *fs = req_fs(req);
  if (flags & ~(unsigned)RENAME_NOREPLACE) {
    fuse_reply_err(req, EINVAL); /* RENAME_EXCHANGE, WHITEOUT: no SMB op */
    return;
  }
  if (fs_bad_name(newname)) {
    fuse_reply_err(req, EINVAL);
    return;
  }
  struct node *dir = ino_node(fs, parent), *newdir = ino_node(fs, newparent);
  char *from = fs_child_path(req, fs, dir, name);
  char *to = from ? fs_child_path(req, fs, newdir, newname) : NULL;
  if (!to) {
    free(from);
    return;
  }
  int rc = settle_child(fs, dir, name, false);
  if (rc == 0)
    rc = settle_child(fs, newdir, newname, false);
  if (rc == 0)
    rc = do_rename(fs, newdir, newname, from, to, flags);
  if (rc == 0) {
    fs_dir_note(fs, dir, name, FS_DIR_DEL, NULL);
    fs_dir_note(fs, newdir, newname, FS_DIR_ADD, NULL);
  }
  if (rc == 0 && nodes_move(&fs->nodes, dir, name, newdir, newname) < 0)
    rc = SMBQ_ERR_NOMEM;
  if (rc < 0)
    fs_reply_err(req, fs, rc, "rename", from);
  else
    fuse_reply_err(req, 0);
  free(from);
  free(to);
}

/* SMB without Unix extensions has neither symbolic nor hard links. */
static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
                       const char *name) {
  (void)link, (void)parent, (void)name;
  fuse_reply_err(req, EPERM);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
                    const char *newname) {
  (void)ino, (void)newparent, (void)newname;
  fuse_reply_err(req, EPERM);
}

const struct fuse_lowlevel_ops smbq_fs_ops = {
    .init = op_init,
    .lookup = op_lookup,
    .forget = op_forget,
    .forget_multi = op_forget_multi,
    .getattr = op_getattr,
    .setattr = op_setattr,
    .mknod = fs_mknod,
    .mkdir = op_mkdir,
    .unlink = op_unlink,
    .rmdir = op_rmdir,
    .symlink = op_symlink,
    .link = op_link,
    .rename = op_rename,
    .open = fs_open,
    .create = fs_create,
    .read = fs_read,
    .write = fs_write,
    .flush = fs_flush,
    .fsync = fs_fsync,
    .release = fs_release,
    .opendir = fs_opendir,
    .readdir = fs_readdir,
    .readdirplus = fs_readdirplus,
    .releasedir = fs_releasedir,
    .fsyncdir = fs_fsyncdir,
    .statfs = fs_statfs,
    .ioctl = fs_ioctl,
};
