/* smbq-mount: the connection's counters for `smbq use --stats`, through
 * the ioctl MOUNT_IOC_STATS on the mount's root directory (mount_state.h).
 *
 * Uses log.c; no other fs_*.c file. */
#ifndef SMBQ_MOUNT_FS_STATS_H
#define SMBQ_MOUNT_FS_STATS_H

#include "fs.h"

void fs_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
              struct fuse_file_info *fi, unsigned flags, const void *in_buf,
              size_t in_bufsz, size_t out_bufsz);

#endif
