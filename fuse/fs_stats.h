/* smbq-mount: the connection's counters as the extended attribute
 * user.smbq.stats of the mount's root (`smbq use --stats`).
 *
 * Uses log.c; no other fs_*.c file. */
#ifndef SMBQ_MOUNT_FS_STATS_H
#define SMBQ_MOUNT_FS_STATS_H

#include "fs.h"

void fs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
                 size_t size);

#endif
