/* smbq-mount: the operations on open files (open, create, read, write,
 * flush, fsync, release, mknod), and lease breaks: what the kernel may
 * cache of a file.
 *
 * Uses fs_handle.c, fs_listing.c, fs_reply.c, nodes.c, errmap.c, log.c. */
#ifndef SMBQ_MOUNT_FS_FILE_H
#define SMBQ_MOUNT_FS_FILE_H

#include "fs.h"

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

/* The smbq_opts_set_lease_break_cb callback (arg: the struct fs, which
 * may still be uninitialised: breaks before fs_set_session are only
 * acknowledged). Runs on libsmbq's break thread: drops what the kernel
 * caches of the file, after writing back its dirty pages. */
void fs_lease_break(void *arg, const struct smbq_lease_break *b);

#endif
