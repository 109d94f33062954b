/* smbq-mount: what the kernel is told. Replies shared by the operations
 * (errors, entries, attributes) and the size and mtime the kernel then
 * believes of a file (struct node_cache).
 *
 * Uses nodes.c, errmap.c, log.c, state.c; no other fs_*.c file. */
#ifndef SMBQ_MOUNT_FS_REPLY_H
#define SMBQ_MOUNT_FS_REPLY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "fs.h"

/* st_blksize: programs size their buffers from it, and each FUSE request
 * can carry this much (max_write), which libsmbq then pipelines. */
#define FS_IO_SIZE (1024u * 1024u)

static inline struct fs *req_fs(fuse_req_t req) {
  return fuse_req_userdata(req);
}

static inline struct node *ino_node(struct fs *fs, fuse_ino_t ino) {
  return nodes_get(&fs->nodes, ino);
}

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

/* Reply to a lookup-like request (lookup, mkdir, mknod) for dir/name:
 * takes the kernel's lookup reference on the node. */
void fs_reply_entry(fuse_req_t req, struct fs *fs, struct node *dir,
                    const char *name, const struct smbq_stat *s);

/* SMB times have 100 ns ticks. */
bool fs_same_time(struct timespec a, struct timespec b);

/* The kernel changed its idea of n's size (truncate, a write past the
 * end): keep the copy in n->cache in step. grow: only ever larger. */
void fs_note_ksize(struct fs *fs, struct node *n, uint64_t size, bool grow);

#endif
