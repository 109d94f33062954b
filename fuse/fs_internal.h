/* Shared by fs.c (names and attributes), fs_file.c (open files) and
 * fs_dir.c (listings, statfs). */
#ifndef SMBQ_MOUNT_FS_INTERNAL_H
#define SMBQ_MOUNT_FS_INTERNAL_H

#include <stdbool.h>
#include <sys/stat.h>

#include "fs.h"

/* st_blksize: programs size their buffers from it, and each FUSE request
 * can carry this much (max_write), which libsmbq then pipelines. */
#define FS_IO_SIZE (1024u * 1024u)

/* A file created here that the server has not seen yet (fs_file.c). */
struct pending;

/* An open file (fi->fh). */
struct fh {
  struct node_handle h;   /* first: fh is found from it */
  pthread_mutex_t mu;     /* guards f and pend (their changes) */
  /* The open on the server; NULL while the file is pending, and after
   * the pending file went out in one compound (it is then opened again
   * when this handle is used for more I/O). */
  smbq_file *f;
  struct pending *pend;
  int flags;              /* open(2) flags (for opening again) */
  bool readonly_on_close; /* created without write permission */
  bool readonly_sent;     /* ... and that went out with the compound */
  bool wrote;             /* data went to the server through f */
  struct fh *pend_prev, *pend_next; /* fs->pending, while pend is set */
  /* The first write that failed (an SMBQ_ERR_*, 0 = none), sticky: with
   * the writeback cache a write(2) returned long before the data went to
   * the server, so flush (close(2)) and fsync(2) must report it. */
  int write_err;
};

static inline struct fs *req_fs(fuse_req_t req) {
  return fuse_req_userdata(req);
}

static inline struct node *ino_node(struct fs *fs, fuse_ino_t ino) {
  return nodes_get(&fs->nodes, ino);
}

/* Any open handle of n, referenced (release it with fs_fh_put): what a
 * stat of a deleted-but-open file goes through. NULL if none. */
struct fh *fs_fh_hold(struct fs *fs, struct node *n);
/* Drop a reference; the last one closes the file. */
void fs_fh_put(struct fs *fs, struct fh *fh);

/* Count files deleted while open (+1 before marking one, -1 at its last
 * close or when it was not marked after all); 0 wakes a waiting rmdir. */
void fs_doomed_add(struct fs *fs, int delta);

/* Reply with the errno for a library error; log it (with the library's
 * message) when it is about the connection or server, not the request. */
void fs_reply_err(fuse_req_t req, struct fs *fs, int err, const char *what,
                  const char *path);

/* Names FUSE may pass that SMB would read differently: '\' is a path
 * separator to the server, ':' names an alternate data stream. */
bool fs_bad_name(const char *name);

/* Path of dir/name for a request (caller frees), or NULL after replying
 * with the error. */
char *fs_child_path(fuse_req_t req, struct fs *fs, struct node *dir,
                    const char *name);

void fs_fill_attr(const struct fs *fs, const struct node *n,
                  const struct smbq_stat *s, struct stat *st);
/* Also notes, the first time the kernel hears of n, the size and mtime
 * its new inode starts from (struct node_cache). */
void fs_fill_entry(struct fs *fs, struct node *n, const struct smbq_stat *s,
                   struct fuse_entry_param *e);

/* SMB times have 100 ns ticks. */
bool fs_same_time(struct timespec a, struct timespec b);

/* The kernel changed its idea of n's size (truncate, a write past the
 * end): keep the copy in n->cache in step. grow: only ever larger. */
void fs_note_ksize(struct fs *fs, struct node *n, uint64_t size, bool grow);

/* Reply to a lookup-like request (lookup, mkdir, mknod) for dir/name:
 * takes the kernel's lookup reference on the node. */
void fs_reply_entry(fuse_req_t req, struct fs *fs, struct node *dir,
                    const char *name, const struct smbq_stat *s);

/* ---- pending files (fs_file.c) ---- */

/* If n is a file created here that the server has not seen yet, its
 * attributes as this mount shows them. */
bool fs_pending_stat(struct fs *fs, struct node *n, struct smbq_stat *s);
/* Apply a setattr to n if it is pending: 1 (done, *s filled), 0 (not
 * pending: go to the server), or an SMBQ_ERR_*. */
int fs_pending_setattr(struct fs *fs, struct node *n, const struct stat *attr,
                       int to_set, struct smbq_stat *s);
/* Send n's pending file now (before an operation the server must see it
 * for: another open, a rename, a delete). 0 or an SMBQ_ERR_*. */
int fs_settle(struct fs *fs, struct node *n);
/* Start and stop the thread that sends pending files left open longer
 * than the entry timeout. */
void fs_pending_start(struct fs *fs);
void fs_pending_stop(struct fs *fs);
/* Send every pending file directly in dir (before listing or removing
 * it). */
void fs_settle_dir(struct fs *fs, struct node *dir);
/* The server's open of fh for I/O, opening the file again when it went
 * out in one compound (sending it first if still pending). 0 or an
 * SMBQ_ERR_*. */
int fs_fh_file(struct fs *fs, struct fh *fh, smbq_file **f);

/* ---- what the mount knows of directories (fs.c) ---- */

enum fs_dir_change {
  FS_DIR_ADD,   /* name exists now, with attributes st (NULL: unknown) */
  FS_DIR_DEL,   /* name is gone */
  FS_DIR_ATTRS, /* name changed: its attributes are st (NULL: unknown) */
  FS_DIR_FORGET, /* we no longer know what dir holds */
};
/* We changed dir/name on the server: keep dir's listing in step. */
void fs_dir_note(struct fs *fs, struct node *dir, const char *name,
                 enum fs_dir_change what, const struct smbq_stat *st);
/* The same for the file of node n (found through its parent). */
void fs_node_note(struct fs *fs, struct node *n, enum fs_dir_change what,
                  const struct smbq_stat *st);
/* A complete listing of dir, started at `at` (fs_clock) when dir_gen was
 * gen: kept for lookups if nothing changed meanwhile (d is taken). */
void fs_dir_listed(struct fs *fs, struct node *dir, struct dcache *d,
                   double at, uint64_t gen);
uint64_t fs_dir_gen(struct fs *fs, struct node *dir);
/* dir's entries from its listing while that is fresh (no round trip), as
 * dcache_snapshot; NULL: list it on the server. */
struct dcache_ent *fs_dir_snapshot(struct fs *fs, struct node *dir,
                                   size_t *n);
/* CLOCK_MONOTONIC in seconds. */
double fs_clock(void);

/* Delete a file, clearing the read-only attribute first when that is what
 * stops the server (POSIX unlink does not depend on the file's mode). */
int fs_delete_file(struct fs *fs, const char *path);

void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_create(fuse_req_t req, fuse_ino_t parent, const char *name,
               mode_t mode, struct fuse_file_info *fi);
void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
             struct fuse_file_info *fi);
void fs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
              off_t off, struct fuse_file_info *fi);
void fs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
              struct fuse_file_info *fi);
void fs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
              mode_t mode, dev_t rdev);

void fs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                struct fuse_file_info *fi);
void fs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi);
void fs_releasedir(fuse_req_t req, fuse_ino_t ino,
                   struct fuse_file_info *fi);
void fs_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
                 struct fuse_file_info *fi);
void fs_statfs(fuse_req_t req, fuse_ino_t ino);
void fs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
                 size_t size); /* fs_stats.c: user.smbq.stats */

#endif
