/* Local and share operations for smbq cp (see cp_fs.h). */
#include "cp_fs.h"
#include "local_dest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static _Thread_local char last_msg[512];

const char *cp_errmsg(void) { return last_msg; }

/* Record errno's text and return its SMBQ_ERR_*. */
static int local_fail(void) {
  int e = errno;
  snprintf(last_msg, sizeof(last_msg), "%s", strerror(e));
  return local_err_from_errno(e);
}

/* Record the connection's message for a failed call on e. */
static int remote_fail(struct cp_ep *e, int err) {
  smbq_conn_errmsg(e->share.conn, last_msg, sizeof(last_msg));
  return err;
}

void cp_note_error(struct cp_ep *e, int err) {
  if (e->fs == &cp_fs_remote)
    remote_fail(e, err);
  else if (!last_msg[0])
    snprintf(last_msg, sizeof(last_msg), "%s", smbq_strerror(err));
}

/* ---- local files ------------------------------------------------------ */

static enum cp_kind local_kind(const struct stat *st) {
  if (S_ISREG(st->st_mode))
    return CP_FILE;
  return S_ISDIR(st->st_mode) ? CP_DIR : CP_OTHER;
}

static void local_fill(const struct stat *st, struct cp_stat *out) {
  out->kind = local_kind(st);
  out->size = (uint64_t)st->st_size;
  out->mtime = st->st_mtim;
}

static int l_stat(struct cp_ep *e, const char *path, struct cp_stat *out) {
  (void)e;
  struct stat st;
  if (stat(path, &st) < 0)
    return local_fail();
  local_fill(&st, out);
  return 0;
}

static int l_mkdir(struct cp_ep *e, const char *path) {
  (void)e;
  if (mkdir(path, 0777) == 0)
    return 0;
  if (errno != EEXIST)
    return local_fail();
  struct stat st;
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
    return 0;
  snprintf(last_msg, sizeof(last_msg), "exists and is not a directory");
  return SMBQ_ERR_EXISTS;
}

struct l_dir {
  DIR *d;
};

static int l_opendir(struct cp_ep *e, const char *path, void **out) {
  (void)e;
  struct l_dir *ld = malloc(sizeof(*ld));
  if (!ld)
    return SMBQ_ERR_NOMEM;
  ld->d = opendir(path);
  if (!ld->d) {
    free(ld);
    return local_fail();
  }
  *out = ld;
  return 0;
}

/* Entries are not followed when they are links to directories (that is
 * how trees loop); a link to a file is copied as the file it names, since
 * a share cannot hold the link itself. */
static void l_entry_stat(int dfd, const char *name, struct cp_stat *out) {
  struct stat st;
  out->kind = CP_OTHER;
  out->size = 0;
  if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return;
  if (S_ISLNK(st.st_mode) &&
      (fstatat(dfd, name, &st, 0) < 0 || !S_ISREG(st.st_mode)))
    return;
  local_fill(&st, out);
}

static int l_readdir(void *d, const char **name, struct cp_stat *st) {
  struct l_dir *ld = d;
  for (;;) {
    errno = 0;
    struct dirent *de = readdir(ld->d);
    if (!de)
      return errno ? local_fail() : 0;
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    l_entry_stat(dirfd(ld->d), de->d_name, st);
    *name = de->d_name;
    return 1;
  }
}

static void l_closedir(void *d) {
  struct l_dir *ld = d;
  closedir(ld->d);
  free(ld);
}

static int l_dest(struct cp_ep *e, const char *path, struct cp_dest *out) {
  (void)e;
  struct local_dest d;
  int err = local_dest_plan(path, &d, last_msg, sizeof(last_msg));
  if (err < 0)
    return err;
  out->direct = d.how != LOCAL_DEST_REPLACE;
  snprintf(out->name, sizeof(out->name), "%s", d.name);
  return 0;
}

struct l_file {
  int fd;
  bool stream;  /* CP_DIRECT: written in order with write(2) */
  uint64_t pos; /* stream: bytes written so far */
};

static int l_open_fd(const char *path, enum cp_open how) {
  switch (how) {
  case CP_READ:
    return open(path, O_RDONLY | O_CLOEXEC);
  case CP_CREATE:
    return local_part_create(path);
  case CP_UPDATE:
    return local_part_open(path);
  case CP_DIRECT:
    return local_direct_open(path);
  }
  errno = EINVAL;
  return -1;
}

static int l_open(struct cp_ep *e, const char *path, enum cp_open how,
                  void **out) {
  (void)e;
  struct l_file *lf = calloc(1, sizeof(*lf));
  if (!lf)
    return SMBQ_ERR_NOMEM;
  lf->fd = l_open_fd(path, how);
  if (lf->fd < 0) {
    int err = local_fail();
    if (errno == EEXIST && how != CP_READ)
      snprintf(last_msg, sizeof(last_msg), "%s exists and is not a regular "
               "file", path);
    free(lf);
    return err;
  }
  lf->stream = how == CP_DIRECT;
  *out = lf;
  return 0;
}

static int l_read(void *h, void *buf, size_t len, uint64_t off,
                  smbq_io_cb cb, void *arg) {
  struct l_file *lf = h;
  size_t got = 0;
  while (got < len) {
    ssize_t n = pread(lf->fd, (char *)buf + got, len - got,
                      (off_t)(off + got));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      cb(arg, local_fail());
      return 0;
    }
    if (n == 0)
      break;
    got += (size_t)n;
  }
  cb(arg, (ssize_t)got);
  return 0;
}

static int l_write(void *h, const void *buf, size_t len, uint64_t off,
                   smbq_io_cb cb, void *arg) {
  struct l_file *lf = h;
  if (lf->stream && off != lf->pos) { /* cp writes in order; never seek */
    snprintf(last_msg, sizeof(last_msg), "cannot seek in a stream");
    cb(arg, SMBQ_ERR_INVAL);
    return 0;
  }
  size_t put = 0;
  while (put < len) {
    ssize_t n = lf->stream
                    ? write(lf->fd, (const char *)buf + put, len - put)
                    : pwrite(lf->fd, (const char *)buf + put, len - put,
                             (off_t)(off + put));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      cb(arg, local_fail());
      return 0;
    }
    put += (size_t)n;
  }
  lf->pos += put;
  cb(arg, (ssize_t)put);
  return 0;
}

static int l_truncate(void *h, uint64_t size) {
  struct l_file *lf = h;
  return ftruncate(lf->fd, (off_t)size) < 0 ? local_fail() : 0;
}

static int l_close(void *h, enum cp_close how) {
  struct l_file *lf = h;
  int rc = close(lf->fd) < 0 && how != CP_DISCARD ? local_fail() : 0;
  free(lf);
  return rc;
}

static int l_set_mtime(struct cp_ep *e, const char *path,
                       const struct timespec *mtime) {
  (void)e;
  struct timespec ts[2] = {{.tv_sec = 0, .tv_nsec = UTIME_OMIT}, *mtime};
  return utimensat(AT_FDCWD, path, ts, 0) < 0 ? local_fail() : 0;
}

static int l_rename(struct cp_ep *e, const char *from, const char *to) {
  (void)e;
  return local_replace(from, to) < 0 ? local_fail() : 0;
}

static int l_unlink(struct cp_ep *e, const char *path) {
  (void)e;
  return unlink(path) < 0 ? local_fail() : 0;
}

const struct cp_fs cp_fs_local = {
    .async = false,
    .stat = l_stat,
    .dest = l_dest,
    .mkdir = l_mkdir,
    .opendir = l_opendir,
    .readdir = l_readdir,
    .closedir = l_closedir,
    .open = l_open,
    .read = l_read,
    .write = l_write,
    .truncate = l_truncate,
    .close = l_close,
    .set_mtime = l_set_mtime,
    .rename = l_rename,
    .unlink = l_unlink,
};

/* ---- a share ---------------------------------------------------------- */

static void remote_fill(const struct smbq_stat *st, struct cp_stat *out) {
  out->kind = st->type == SMBQ_TYPE_DIR ? CP_DIR : CP_FILE;
  out->size = st->size;
  out->mtime = st->mtime;
}

static int r_stat(struct cp_ep *e, const char *path, struct cp_stat *out) {
  struct smbq_stat st;
  int err = smbq_stat(e->share.tree, path, &st);
  if (err < 0)
    return remote_fail(e, err);
  remote_fill(&st, out);
  return 0;
}

/* A share holds regular files and directories only: a copy always goes
 * through a temporary file there. */
static int r_dest(struct cp_ep *e, const char *path, struct cp_dest *out) {
  (void)e;
  out->direct = false;
  int n = snprintf(out->name, sizeof(out->name), "%s", path);
  if (n < 0 || (size_t)n >= sizeof(out->name)) {
    snprintf(last_msg, sizeof(last_msg), "path too long");
    return SMBQ_ERR_INVAL;
  }
  return 0;
}

static int r_mkdir(struct cp_ep *e, const char *path) {
  int err = smbq_mkdir(e->share.tree, path);
  if (err != SMBQ_ERR_EXISTS)
    return err < 0 ? remote_fail(e, err) : 0;
  struct smbq_stat st;
  if (smbq_stat(e->share.tree, path, &st) == 0 && st.type == SMBQ_TYPE_DIR)
    return 0;
  snprintf(last_msg, sizeof(last_msg), "exists and is not a directory");
  return SMBQ_ERR_EXISTS;
}

struct r_dir {
  struct cp_ep *e;
  smbq_dir *d;
  struct smbq_dirent ent;
};

static int r_opendir(struct cp_ep *e, const char *path, void **out) {
  struct r_dir *rd = malloc(sizeof(*rd));
  if (!rd)
    return SMBQ_ERR_NOMEM;
  rd->e = e;
  int err = smbq_opendir(e->share.tree, path, &rd->d);
  if (err < 0) {
    free(rd);
    return remote_fail(e, err);
  }
  *out = rd;
  return 0;
}

static int r_readdir(void *d, const char **name, struct cp_stat *st) {
  struct r_dir *rd = d;
  int rc = smbq_readdir(rd->d, &rd->ent);
  if (rc <= 0)
    return rc < 0 ? remote_fail(rd->e, rc) : 0;
  *name = rd->ent.name;
  remote_fill(&rd->ent.st, st);
  return 1;
}

static void r_closedir(void *d) {
  struct r_dir *rd = d;
  smbq_closedir(rd->d);
  free(rd);
}

static int r_open(struct cp_ep *e, const char *path, enum cp_open how,
                  void **out) {
  static const unsigned flags[] = {
      [CP_READ] = SMBQ_O_RDONLY,
      [CP_CREATE] = SMBQ_O_WRONLY | SMBQ_O_CREAT | SMBQ_O_TRUNC,
      [CP_UPDATE] = SMBQ_O_RDWR,
      [CP_DIRECT] = SMBQ_O_WRONLY, /* never asked: r_dest says so */
  };
  smbq_file *f;
  int err = smbq_open(e->share.tree, path, flags[how], &f);
  if (err < 0)
    return remote_fail(e, err);
  *out = f;
  return 0;
}

static int r_read(void *h, void *buf, size_t len, uint64_t off,
                  smbq_io_cb cb, void *arg) {
  return smbq_pread_async(h, buf, len, off, cb, arg);
}

static int r_write(void *h, const void *buf, size_t len, uint64_t off,
                   smbq_io_cb cb, void *arg) {
  return smbq_pwrite_async(h, buf, len, off, cb, arg);
}

static int r_truncate(void *h, uint64_t size) {
  return smbq_ftruncate(h, size);
}

/* The data only counts as stored once FLUSH and CLOSE succeeded too. */
static int r_close(void *h, enum cp_close how) {
  int err = how == CP_STORE_FLUSH ? smbq_fflush(h) : 0;
  int cerr = smbq_close(h);
  return err < 0 ? err : (how != CP_DISCARD ? cerr : 0);
}

static int r_set_mtime(struct cp_ep *e, const char *path,
                       const struct timespec *mtime) {
  int err = smbq_set_times(e->share.tree, path, NULL, mtime);
  return err < 0 ? remote_fail(e, err) : 0;
}

static int r_rename(struct cp_ep *e, const char *from, const char *to) {
  int err = smbq_rename(e->share.tree, from, to, 0);
  return err < 0 ? remote_fail(e, err) : 0;
}

static int r_unlink(struct cp_ep *e, const char *path) {
  int err = smbq_unlink(e->share.tree, path);
  return err < 0 ? remote_fail(e, err) : 0;
}

const struct cp_fs cp_fs_remote = {
    .async = true,
    .stat = r_stat,
    .dest = r_dest,
    .mkdir = r_mkdir,
    .opendir = r_opendir,
    .readdir = r_readdir,
    .closedir = r_closedir,
    .open = r_open,
    .read = r_read,
    .write = r_write,
    .truncate = r_truncate,
    .close = r_close,
    .set_mtime = r_set_mtime,
    .rename = r_rename,
    .unlink = r_unlink,
};
