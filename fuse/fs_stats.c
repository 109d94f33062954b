/* smbq-mount: the connection's counters, for `smbq use --stats`.
 *
 * They are the answer to the ioctl MOUNT_IOC_STATS on the mount's root
 * directory (mount_state.h defines the number and the text). Every other
 * ioctl, and this one on any other inode, is ENOTTY. The mount has no
 * extended attributes: getxattr is left unimplemented, so the kernel
 * stops asking after the first ENOSYS (ls -l would otherwise cost two
 * FUSE requests per file, and every write(2) one for security.capability). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "fs_reply.h"
#include "fs_stats.h"
#include "log.h"
#include "mount_state.h"

void fs_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
              struct fuse_file_info *fi, unsigned flags, const void *in_buf,
              size_t in_bufsz, size_t out_bufsz) {
  (void)arg, (void)fi, (void)in_buf, (void)in_bufsz;
  if (cmd != MOUNT_IOC_STATS || ino != FUSE_ROOT_ID ||
      !(flags & FUSE_IOCTL_DIR)) {
    fuse_reply_err(req, ENOTTY);
    return;
  }
  struct mount_stats_text out;
  if (out_bufsz < sizeof(out)) {
    fuse_reply_err(req, EINVAL);
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
  memset(&out, 0, sizeof(out));
  snprintf(out.text, sizeof(out.text),
           "requests %" PRIu64 "\nround_trips %" PRIu64
           "\nbytes_sent %" PRIu64 "\nbytes_received %" PRIu64
           "\nbreaks %" PRIu64 "\n",
           st.requests, st.round_trips, st.bytes_sent, st.bytes_received,
           st.breaks);
  fuse_reply_ioctl(req, 0, &out, sizeof(out));
}
