/* smbq-mount: directory listings and statfs.
 *
 * A listing is streamed: the open smbq_dir fetches 64 KiB of entries per
 * round trip and each READDIR(PLUS) takes what fits in the kernel's
 * buffer, keeping the one entry that did not fit for the next call. The
 * offset of an entry is its position in the listing ("." is 0, ".." 1);
 * a call at another offset than where we stopped (rewinddir, seekdir)
 * reopens the directory and skips ahead. The server is asked at the
 * first READDIR, not at OPENDIR: an open directory that is never read
 * (a chdir, the counters' ioctl on the root) costs no round trip. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "fs_dir.h"
#include "fs_handle.h"
#include "fs_listing.h"
#include "fs_reply.h"

struct dirh {
  pthread_mutex_t mu;
  smbq_dir *d;
  off_t next;               /* offset of the next entry to hand out */
  bool have_pending;        /* `pending` was read but not handed out */
  struct smbq_dirent pending;
  /* The names read from the start, kept for lookups once the listing
   * is complete (fs_dir_listed); NULL after a seek or an error. */
  struct node *node;
  struct dcache *names;
  double at;
  uint64_t gen;
  /* A listing answered from the directory's fresh listing
   * (fs_listing.c), not
   * the server: its entries, and the next one's index. */
  struct dcache_ent *snap;
  size_t nsnap, isnap;
  bool opened;              /* the server was asked (at the first READDIR) */
};

static struct dirh *fi_dirh(struct fuse_file_info *fi) {
  return (struct dirh *)(uintptr_t)fi->fh;
}

void fs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  struct fs *fs = req_fs(req);
  char *path = nodes_path(&fs->nodes, ino_node(fs, ino));
  if (!path) {
    fuse_reply_err(req, errno);
    return;
  }
  free(path);
  struct node *n = ino_node(fs, ino);
  /* files created here and not sent yet must be listed: send them */
  fs_settle_dir(fs, n);
  struct dirh *dh = calloc(1, sizeof(*dh));
  if (!dh) {
    fuse_reply_err(req, ENOMEM);
    return;
  }
  dh->node = n;
  dh->snap = fs_dir_snapshot(fs, n, &dh->nsnap);
  pthread_mutex_init(&dh->mu, NULL);
  fi->fh = (uintptr_t)dh;
  if (fuse_reply_open(req, fi) == -ENOENT) { /* interrupted */
    if (dh->d)
      smbq_closedir(dh->d);
    free(dh->snap);
    dcache_free(dh->names);
    pthread_mutex_destroy(&dh->mu);
    free(dh);
  }
}

static void stop_collecting(struct dirh *dh) {
  dcache_free(dh->names);
  dh->names = NULL;
}

/* The first READDIR of a listing not answered from the cache: ask the
 * server now. The listing's open tells the directory's own attributes:
 * the stat that ls -l makes of it next needs no round trip. */
static int open_listing(struct fs *fs, struct dirh *dh) {
  char *path = nodes_path(&fs->nodes, dh->node);
  if (!path)
    return errno == ENOMEM ? SMBQ_ERR_NOMEM : SMBQ_ERR_NOENT;
  dh->at = fs_clock();
  dh->gen = fs_dir_gen(fs, dh->node);
  dh->names = dcache_new(); /* kept for lookups once complete */
  int rc = smbq_opendir(fs->tree, path, &dh->d);
  struct smbq_stat self;
  if (rc == 0 && smbq_dir_stat(dh->d, &self) == 0)
    fs_note_dattr(fs, dh->node, &self);
  if (rc < 0)
    stop_collecting(dh);
  free(path);
  return rc;
}

/* The next server entry (kept in dh->pending until handed out): 1, 0 at
 * the end, <0 on error. */
static int peek(struct fs *fs, struct dirh *dh) {
  if (dh->have_pending)
    return 1;
  if (!dh->snap && !dh->d && !dh->opened) {
    dh->opened = true;
    int rc = open_listing(fs, dh);
    if (rc < 0)
      return rc;
  }
  if (dh->snap) {
    if (dh->isnap >= dh->nsnap)
      return 0;
    const struct dcache_ent *e = &dh->snap[dh->isnap++];
    snprintf(dh->pending.name, sizeof(dh->pending.name), "%s", e->name);
    dh->pending.st = e->st;
    dh->have_pending = true;
    return 1;
  }
  int rc = smbq_readdir(dh->d, &dh->pending);
  dh->have_pending = rc == 1;
  if (dh->names) {
    if (rc == 1 && dcache_put(dh->names, dh->pending.name,
                              &dh->pending.st) < 0)
      stop_collecting(dh);
    else if (rc < 0)
      stop_collecting(dh);
    else if (rc == 0) { /* complete: lookups may use it */
      fs_dir_listed(fs, dh->node, dh->names, dh->at, dh->gen,
                    smbq_dir_cache(dh->d) & SMBQ_CACHE_READ);
      dh->names = NULL;
    }
  }
  return rc;
}

static int seek_dir(struct fs *fs, struct dirh *dh, struct node *n,
                    off_t off) {
  if (off == dh->next)
    return 0;
  if (dh->snap) { /* entry i is at offset i + 2 */
    dh->isnap = off < 2 ? 0 : (size_t)(off - 2);
    if (dh->isnap > dh->nsnap)
      dh->isnap = dh->nsnap;
    dh->next = off;
    dh->have_pending = false;
    return 0;
  }
  char *path = nodes_path(&fs->nodes, n);
  if (!path)
    return errno == ENOMEM ? SMBQ_ERR_NOMEM : SMBQ_ERR_NOENT;
  smbq_closedir(dh->d);
  dh->d = NULL;
  stop_collecting(dh);
  int rc = smbq_opendir(fs->tree, path, &dh->d);
  free(path);
  dh->next = 0;
  dh->have_pending = false;
  while (rc >= 0 && dh->next < off) {
    if (dh->next >= 2 && (rc = peek(fs, dh)) <= 0)
      break;
    dh->have_pending = false;
    dh->next++;
  }
  return rc < 0 ? rc : 0;
}

/* Add "." or ".." (no lookup reference is taken for them). */
static size_t add_dot(fuse_req_t req, struct fs *fs, struct node *n,
                      char *buf, size_t rem, off_t pos, bool plus) {
  struct fuse_entry_param e;
  memset(&e, 0, sizeof(e));
  e.attr.st_ino = pos == 0 ? n->serial : nodes_parent_serial(&fs->nodes, n);
  e.attr.st_mode = S_IFDIR;
  const char *name = pos == 0 ? "." : "..";
  return plus ? fuse_add_direntry_plus(req, buf, rem, name, &e, pos + 1)
              : fuse_add_direntry(req, buf, rem, name, &e.attr, pos + 1);
}

/* Add the pending server entry; with plus, the kernel gets a lookup
 * reference on its node, taken back when the entry does not fit. */
static size_t add_entry(fuse_req_t req, struct fs *fs, struct node *dir,
                        struct dirh *dh, char *buf, size_t rem, bool plus) {
  const struct smbq_dirent *de = &dh->pending;
  if (!plus) {
    struct stat st;
    memset(&st, 0, sizeof(st));
    st.st_ino = de->st.file_id ? de->st.file_id : (ino_t)-1;
    st.st_mode = de->st.type == SMBQ_TYPE_DIR ? S_IFDIR : S_IFREG;
    return fuse_add_direntry(req, buf, rem, de->name, &st, dh->next + 1);
  }
  struct node *n = nodes_lookup(&fs->nodes, dir, de->name);
  if (!n)
    return (size_t)-1;
  struct fuse_entry_param e;
  fs_fill_entry(fs, n, &de->st, &e);
  size_t len = fuse_add_direntry_plus(req, buf, rem, de->name, &e,
                                      dh->next + 1);
  if (len > rem)
    nodes_forget(&fs->nodes, n, 1);
  return len;
}

/* Fill buf with entries from dh->next on; returns the bytes used, and the
 * error (if any) in *err. */
static size_t fill(fuse_req_t req, struct fs *fs, struct node *n,
                   struct dirh *dh, char *buf, size_t size, bool plus,
                   int *err) {
  size_t used = 0;
  *err = 0;
  for (;;) {
    bool dot = dh->next < 2;
    if (!dot && (*err = peek(fs, dh)) <= 0)
      break;
    size_t rem = size - used;
    size_t len = dot ? add_dot(req, fs, n, buf + used, rem, dh->next, plus)
                     : add_entry(req, fs, n, dh, buf + used, rem, plus);
    if (len == (size_t)-1) {
      *err = SMBQ_ERR_NOMEM;
      break;
    }
    if (len > rem)
      break;
    used += len;
    dh->next++;
    dh->have_pending = false;
  }
  if (*err > 0)
    *err = 0;
  return used;
}

static void readdir_common(fuse_req_t req, fuse_ino_t ino, size_t size,
                           off_t off, struct fuse_file_info *fi, bool plus) {
  struct fs *fs = req_fs(req);
  struct node *n = ino_node(fs, ino);
  struct dirh *dh = fi_dirh(fi);
  char *buf = malloc(size ? size : 1);
  if (!buf) {
    fuse_reply_err(req, ENOMEM);
    return;
  }
  pthread_mutex_lock(&dh->mu);
  int err = seek_dir(fs, dh, n, off);
  size_t used = err < 0 ? 0 : fill(req, fs, n, dh, buf, size, plus, &err);
  pthread_mutex_unlock(&dh->mu);
  /* An error after some entries: hand those out, the next call retries. */
  if (err < 0 && used == 0)
    fs_reply_err(req, fs, err, "readdir", NULL);
  else
    fuse_reply_buf(req, buf, used);
  free(buf);
}

void fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                struct fuse_file_info *fi) {
  readdir_common(req, ino, size, off, fi, false);
}

void fs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi) {
  readdir_common(req, ino, size, off, fi, true);
}

void fs_releasedir(fuse_req_t req, fuse_ino_t ino,
                   struct fuse_file_info *fi) {
  (void)ino;
  struct dirh *dh = fi_dirh(fi);
  if (dh->d)
    smbq_closedir(dh->d);
  dcache_free(dh->names);
  free(dh->snap);
  pthread_mutex_destroy(&dh->mu);
  free(dh);
  fuse_reply_err(req, 0);
}

void fs_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
                 struct fuse_file_info *fi) {
  (void)ino, (void)datasync, (void)fi;
  fuse_reply_err(req, 0); /* directory changes are synchronous on SMB */
}

void fs_statfs(fuse_req_t req, fuse_ino_t ino) {
  (void)ino;
  struct fs *fs = req_fs(req);
  struct smbq_statvfs sv;
  int rc = smbq_statvfs(fs->tree, &sv);
  if (rc < 0) {
    fs_reply_err(req, fs, rc, "statfs", NULL);
    return;
  }
  struct statvfs st;
  memset(&st, 0, sizeof(st));
  st.f_bsize = sv.block_size;
  st.f_frsize = sv.block_size;
  st.f_blocks = sv.total_blocks;
  st.f_bfree = sv.free_blocks;
  st.f_bavail = sv.free_blocks;
  st.f_namemax = 255;
  fuse_reply_statfs(req, &st);
}
