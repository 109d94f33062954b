/* smbq-mount: the connection's counters, for `smbq use --stats`.
 *
 * They are the extended attribute user.smbq.stats of the mount's root, as
 * text: "requests N\nround_trips N\nbytes_sent N\nbytes_received N\n
 * breaks N\n" (cli/cmd_use.c prints it as it is; benchmarks parse it).
 * No other attribute exists: every other name, on every inode, is ENODATA,
 * and without a listxattr operation the name is not listed. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "fs_reply.h"
#include "fs_stats.h"
#include "log.h"

#define STATS_XATTR "user.smbq.stats"

void fs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
                 size_t size) {
  if (ino != FUSE_ROOT_ID || strcmp(name, STATS_XATTR) != 0) {
    fuse_reply_err(req, ENODATA);
    return;
  }
  struct fs *fs = req_fs(req);
  struct smbq_stats st;
  int rc = smbq_conn_get_stats(fs->conn, &st);
  if (rc < 0) {
    mlog(LOG_ERR, "cannot read the connection's counters: %s",
         smbq_strerror(rc));
    fuse_reply_err(req, EIO);
    return;
  }
  char text[256];
  int len = snprintf(text, sizeof(text),
                     "requests %" PRIu64 "\nround_trips %" PRIu64
                     "\nbytes_sent %" PRIu64 "\nbytes_received %" PRIu64
                     "\nbreaks %" PRIu64 "\n",
                     st.requests, st.round_trips, st.bytes_sent,
                     st.bytes_received, st.breaks);
  if (size == 0)
    fuse_reply_xattr(req, (size_t)len);
  else if (size < (size_t)len)
    fuse_reply_err(req, ERANGE);
  else
    fuse_reply_buf(req, text, (size_t)len);
}
