/* smbq-mount's state file for `smbq use` (format and place in
 * cli/mount_state.h): written once mounted, rewritten when the connection
 * is found dead, removed at unmount. Failing to write it is logged and
 * the mount goes on: it is a report, not part of serving files. */
#ifndef SMBQ_MOUNT_STATEFILE_H
#define SMBQ_MOUNT_STATEFILE_H

#include <pthread.h>
#include <stdbool.h>

#include "mount_state.h"
#include "smbq/smbq.h"

struct statefile {
  pthread_mutex_t mu;
  bool written;        /* the file exists */
  char dir[PATH_MAX];
  struct mount_state st;
};

void statefile_init(struct statefile *sf);
void statefile_destroy(struct statefile *sf);

/* Mounted url on mountpoint (absolute): write pid, mount id, the
 * connection as smbq_conn_get_info reports it and state OK. Call before
 * the starting process is told to exit, so that `smbq use` right after
 * smbq-mount lists the mount complete. */
void statefile_mounted(struct statefile *sf, const char *url,
                       const char *mountpoint, smbq_conn *conn);

/* A request failed with the library error err: when err means the
 * connection is gone, the file says Disconnected from now on (libsmbq
 * does not reconnect). Any thread, also libsmbq's I/O thread. */
void statefile_request_failed(struct statefile *sf, int err);

/* Unmounted: remove the file. */
void statefile_unmounted(struct statefile *sf);

#endif
