/* smbq-mount: the operations on open directories (listings) and statfs.
 *
 * Uses fs_handle.c, fs_listing.c, fs_reply.c, nodes.c, dcache.c. */
#ifndef SMBQ_MOUNT_FS_DIR_H
#define SMBQ_MOUNT_FS_DIR_H

#include "fs.h"

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

#endif
