/* smbq-mount's state file for `smbq use` (format and place in
 * cli/mount_state.h): written once mounted, rewritten when the connection
 * is lost, restored or found dead, removed at unmount. Failing to write
 * it is logged and the mount goes on: it is a report, not part of
 * serving files.
 *
 * libsmbq's I/O thread writes it too (reconnect events, reconnect.c):
 * sf->mu is only ever held around one write of this small file, never
 * while calling libsmbq, so that thread never waits on a FUSE request. */
#ifndef SMBQ_MOUNT_STATEFILE_H
#define SMBQ_MOUNT_STATEFILE_H

#include <pthread.h>
#include <stdbool.h>

#include "mount_state.h"
#include "smbq/smbq.h"

struct statefile {
  pthread_mutex_t mu;
  bool written;        /* the file exists */
  bool reconnect;      /* libsmbq restores a lost connection (reconnect
                          timeout > 0); fixed at statefile_init */
  char dir[PATH_MAX];
  struct mount_state st;
};

/* Before the connection is made (its events may come from then on) and
 * destroyed after it is freed. reconnect: the reconnect timeout in force
 * is not 0. State OK until told otherwise. */
void statefile_init(struct statefile *sf, bool reconnect);
void statefile_destroy(struct statefile *sf);

/* Mounted url on mountpoint (absolute): write pid, mount id, the
 * connection as smbq_conn_get_info reports it and the state (OK, unless
 * the connection was lost meanwhile). Call before the starting process is
 * told to exit, so that `smbq use` right after smbq-mount lists the mount
 * complete. */
void statefile_mounted(struct statefile *sf, const char *url,
                       const char *mountpoint, smbq_conn *conn);

/* The connection was lost for cause (SMBQ_EVENT_DISCONNECTED):
 * Reconnecting, or Disconnected when reconnecting is off. Any thread. */
void statefile_conn_lost(struct statefile *sf, const char *cause);

/* Serving again (SMBQ_EVENT_RECONNECTED): OK, no cause, and the
 * connection as i describes it (the address or transport may have
 * changed). Any thread. */
void statefile_reconnected(struct statefile *sf,
                           const struct smbq_conn_info *i);

/* A request failed with the library error err (msg: the library's message
 * for it). With reconnecting off, when err means the connection is gone,
 * the file says Disconnected from now on, msg as the cause; with it on,
 * the reconnect events tell. Any thread. */
void statefile_request_failed(struct statefile *sf, int err,
                              const char *msg);

/* Unmounted: remove the file. Later calls write nothing. */
void statefile_unmounted(struct statefile *sf);

#endif
