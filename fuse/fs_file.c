/* smbq-mount: open files. Reads are answered from libsmbq's completion
 * callback (no worker thread waits on the network); writes wait for the
 * server's acknowledgement, so a successful write(2) means the server has
 * the data. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "fs_internal.h"
#include "log.h"

static unsigned open_flags(int flags) {
  unsigned f = SMBQ_O_RDONLY;
  if ((flags & O_ACCMODE) == O_WRONLY)
    f = SMBQ_O_WRONLY;
  else if ((flags & O_ACCMODE) == O_RDWR)
    f = SMBQ_O_RDWR;
  if (flags & O_TRUNC)
    f |= SMBQ_O_TRUNC;
  return f;
}

static struct fh *fi_fh(struct fuse_file_info *fi) {
  return (struct fh *)(uintptr_t)fi->fh;
}

static struct fh *new_fh(struct fs *fs, struct node *n, smbq_file *f) {
  struct fh *fh = calloc(1, sizeof(*fh));
  if (!fh)
    return NULL;
  fh->f = f;
  nodes_handle_open(&fs->nodes, n, &fh->h);
  return fh;
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
  int rc = smbq_close(fh->f);
  if (rc < 0)
    mlog(LOG_WARNING, "closing a file failed: %s", smbq_strerror(rc));
  if (rc == 0 && fh->readonly_on_close)
    apply_readonly(fs, fh->h.node);
  if (r == NODE_HANDLE_DOOMED)
    fs_doomed_add(fs, -1);
  free(fh);
}

void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  struct fs *fs = req_fs(req);
  struct node *n = ino_node(fs, ino);
  char *path = nodes_path(&fs->nodes, n);
  if (!path) {
    fuse_reply_err(req, errno);
    return;
  }
  smbq_file *f;
  int rc = smbq_open(fs->tree, path, open_flags(fi->flags), &f);
  if (rc < 0) {
    fs_reply_err(req, fs, rc, "open", path);
    free(path);
    return;
  }
  free(path);
  struct fh *fh = new_fh(fs, n, f);
  if (!fh) {
    smbq_close(f);
    fuse_reply_err(req, ENOMEM);
    return;
  }
  fi->fh = (uintptr_t)fh;
  /* Close-to-open consistency: drop cached pages of a file another
   * client may have changed (the default, said here on purpose). */
  fi->keep_cache = 0;
  if (fuse_reply_open(req, fi) == -ENOENT) /* interrupted */
    fs_fh_put(fs, fh);
}

/* Open with O_CREAT and stat the new handle. */
static int create_file(struct fs *fs, const char *path, int flags,
                       smbq_file **f, struct smbq_stat *s) {
  unsigned of = open_flags(flags) | SMBQ_O_CREAT;
  if (flags & O_EXCL)
    of |= SMBQ_O_EXCL;
  int rc = smbq_open(fs->tree, path, of, f);
  if (rc < 0)
    return rc;
  rc = smbq_fstat(*f, s);
  if (rc < 0)
    smbq_close(*f);
  return rc;
}

void fs_create(fuse_req_t req, fuse_ino_t parent, const char *name,
               mode_t mode, struct fuse_file_info *fi) {
  struct fs *fs = req_fs(req);
  struct node *dir = ino_node(fs, parent);
  if (fs_bad_name(name)) {
    fuse_reply_err(req, EINVAL);
    return;
  }
  char *path = fs_child_path(req, fs, dir, name);
  if (!path)
    return;
  smbq_file *f;
  struct smbq_stat s;
  int rc = create_file(fs, path, fi->flags, &f, &s);
  if (rc < 0) {
    fs_reply_err(req, fs, rc, "create", path);
    free(path);
    return;
  }
  free(path);
  struct node *n = nodes_lookup(&fs->nodes, dir, name);
  struct fh *fh = n ? new_fh(fs, n, f) : NULL;
  if (!fh) {
    if (n)
      nodes_forget(&fs->nodes, n, 1);
    smbq_close(f);
    fuse_reply_err(req, ENOMEM);
    return;
  }
  fh->readonly_on_close = !(mode & 0222);
  fi->fh = (uintptr_t)fh;
  fi->keep_cache = 0;
  struct fuse_entry_param e;
  fs_fill_entry(fs, n, &s, &e);
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
  struct smbq_stat s;
  int rc = create_file(fs, path, O_RDWR | O_EXCL, &f, &s);
  if (rc == 0)
    rc = smbq_close(f);
  if (rc < 0)
    fs_reply_err(req, fs, rc, "mknod", path);
  else
    fs_reply_entry(req, fs, dir, name, &s);
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
  op->req = req;
  op->fs = fs;
  reads_add(fs, 1);
  int rc = smbq_pread_async(fi_fh(fi)->f, op->buf, size, (uint64_t)off,
                            read_done, op);
  if (rc < 0) {
    free(op);
    fs_reply_err(req, fs, rc, "read", NULL);
    reads_add(fs, -1);
  }
}

void fs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
              off_t off, struct fuse_file_info *fi) {
  (void)ino;
  struct fs *fs = req_fs(req);
  ssize_t n = smbq_pwrite(fi_fh(fi)->f, buf, size, (uint64_t)off);
  if (n < 0)
    fs_reply_err(req, fs, (int)n, "write", NULL);
  else
    fuse_reply_write(req, (size_t)n);
}

/* close(2): every write was acknowledged already, nothing is pending. */
void fs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  (void)ino, (void)fi;
  fuse_reply_err(req, 0);
}

/* fsync(2): SMB2 FLUSH makes the server write the file to stable storage. */
void fs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
              struct fuse_file_info *fi) {
  (void)ino, (void)datasync;
  struct fs *fs = req_fs(req);
  int rc = smbq_fflush(fi_fh(fi)->f);
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
