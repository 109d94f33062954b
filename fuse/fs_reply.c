/* smbq-mount: what the kernel is told (fs_reply.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "errmap.h"
#include "fs_reply.h"
#include "log.h"

/* ---- errors and names -------------------------------------------------- */

/* A dead connection (or one being restored, past the reconnect timeout)
 * fails every request: log each distinct message once per minute, not
 * once per request. */
static void log_unexpected(const char *msg, const char *what,
                           const char *path) {
  static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  static char last[512];
  static time_t last_time;
  time_t now = time(NULL);
  pthread_mutex_lock(&mu);
  bool repeat = strcmp(msg, last) == 0 && now - last_time < 60;
  if (!repeat) {
    snprintf(last, sizeof(last), "%s", msg);
    last_time = now;
  }
  pthread_mutex_unlock(&mu);
  if (repeat)
    return;
  if (path)
    mlog(LOG_ERR, "%s '%s': %s", what, path, msg);
  else
    mlog(LOG_ERR, "%s: %s", what, msg);
}

void fs_reply_err(fuse_req_t req, struct fs *fs, int err, const char *what,
                  const char *path) {
  bool unexpected;
  int e = smbq_mount_errno(err, &unexpected);
  if (unexpected) {
    char msg[512];
    smbq_conn_errmsg(fs->conn, msg, sizeof(msg));
    log_unexpected(msg, what, path);
    statefile_request_failed(&fs->state, err, msg);
  }
  fuse_reply_err(req, e);
}

bool fs_bad_name(const char *name) { return strpbrk(name, "\\:") != NULL; }

char *fs_child_path(fuse_req_t req, struct fs *fs, struct node *dir,
                    const char *name) {
  char *path = nodes_child_path(&fs->nodes, dir, name);
  if (!path)
    fuse_reply_err(req, errno);
  return path;
}

/* ---- attributes ------------------------------------------------------ */

void fs_fill_attr(const struct fs *fs, const struct node *n,
                  const struct smbq_stat *s, struct stat *st) {
  const struct mount_cfg *cfg = fs->cfg;
  bool dir = s->type == SMBQ_TYPE_DIR;
  mode_t perm = dir ? cfg->dir_mode : cfg->file_mode;
  /* chmod a-w sets the read-only attribute: show it as no write bits */
  if (!dir && (s->attributes & SMBQ_ATTR_READONLY))
    perm &= ~(mode_t)0222;
  memset(st, 0, sizeof(*st));
  st->st_mode = (dir ? S_IFDIR : S_IFREG) | perm;
  /* The server's file id is stable and matches what readdir reports. */
  st->st_ino = s->file_id ? s->file_id : n->serial;
  st->st_nlink = 1; /* unknown; 1 keeps find from guessing subdirs */
  st->st_uid = cfg->uid;
  st->st_gid = cfg->gid;
  st->st_size = (off_t)s->size;
  st->st_blocks = (blkcnt_t)((s->alloc_size + 511) / 512);
  st->st_blksize = FS_IO_SIZE;
  st->st_atim = s->atime;
  st->st_mtim = s->mtime;
  st->st_ctim = s->ctime.tv_sec ? s->ctime : s->mtime;
}

void fs_fill_entry(struct fs *fs, struct node *n, const struct smbq_stat *s,
                   struct fuse_entry_param *e) {
  nodes_lock(&fs->nodes);
  struct node_cache *c = &n->cache;
  /* without the writeback cache the kernel takes every reply's size */
  if (!c->kattr_known || (!fs->writeback && s->type == SMBQ_TYPE_FILE)) {
    c->kattr_known = true;
    c->kmtime_known = true;
    c->ksize = s->size;
    c->kmtime = s->mtime;
  }
  nodes_unlock(&fs->nodes);
  memset(e, 0, sizeof(*e));
  e->ino = nodes_ino(&fs->nodes, n);
  e->attr_timeout = fs->cfg->attr_timeout;
  e->entry_timeout = fs->cfg->entry_timeout;
  fs_fill_attr(fs, n, s, &e->attr);
}

void fs_reply_entry(fuse_req_t req, struct fs *fs, struct node *dir,
                    const char *name, const struct smbq_stat *s) {
  struct node *n = nodes_lookup(&fs->nodes, dir, name);
  if (!n) {
    fuse_reply_err(req, ENOMEM);
    return;
  }
  struct fuse_entry_param e;
  fs_fill_entry(fs, n, s, &e);
  /* -ENOENT: the request was interrupted, the kernel took no lookup. */
  if (fuse_reply_entry(req, &e) == -ENOENT)
    nodes_forget(&fs->nodes, n, 1);
}

void fs_note_ksize(struct fs *fs, struct node *n, uint64_t size, bool grow) {
  nodes_lock(&fs->nodes);
  struct node_cache *c = &n->cache;
  if (c->kattr_known && (!grow || size > c->ksize))
    c->ksize = size;
  nodes_unlock(&fs->nodes);
}

bool fs_same_time(struct timespec a, struct timespec b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec / 100 == b.tv_nsec / 100;
}
