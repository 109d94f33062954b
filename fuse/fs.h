/* The FUSE low-level operations of smbq-mount, on the public libsmbq API
 * only.
 *
 * One idea per file, each with its header; calls go down this list only
 * (no two files call each other):
 *
 *   fs.c          names and attributes (lookup, getattr, setattr, mkdir,
 *                 unlink, rmdir, rename), the mount's life (init, session,
 *                 destroy, drain) and the operation table
 *   fs_file.c     open files: open, create, read, write, flush, fsync,
 *                 release, mknod; what the kernel may cache (lease breaks)
 *   fs_dir.c      open directories (listings) and statfs
 *   fs_stats.c    ioctl MOUNT_IOC_STATS (the counters)
 *   fs_handle.c   open-handle bookkeeping: hold/put, files deleted while
 *                 open, files created here not yet sent (pending)
 *   fs_listing.c  what the mount knows of directories (listing cache,
 *                 directory attributes)
 *   fs_reply.c    replies shared by the operations (errors, entries,
 *                 attributes) and the size the kernel believes
 *   nodes.c, dcache.c, errmap.c, state.c, log.c   below all of these
 *   reconnect.c   the reconnect events: log lines and the state file
 *
 *   main.c     -> fs.c, fs_file.c (fs_lease_break), reconnect.c
 *   fs.c       -> fs_file.c, fs_dir.c, fs_stats.c (the table), fs_handle.c,
 *                 fs_listing.c, fs_reply.c
 *   fs_file.c  -> fs_handle.c, fs_listing.c, fs_reply.c
 *   fs_dir.c   -> fs_handle.c, fs_listing.c, fs_reply.c
 *   fs_stats.c -> (fs_reply.h's inline req_fs only)
 *   fs_handle.c -> fs_listing.c
 *   fs_listing.c, fs_reply.c -> no fs_*.c file
 */
#ifndef SMBQ_MOUNT_FS_H
#define SMBQ_MOUNT_FS_H

#include <pthread.h>
#include <stdbool.h>

#include "mount.h"
#include "nodes.h"
#include "smbq/smbq.h"
#include "state.h"

struct fs {
  const struct mount_cfg *cfg;
  smbq_conn *conn;
  smbq_tree *tree;
  struct nodes nodes;
  /* Files deleted while open wait for their last close before the server
   * removes them; rmdir of their directory waits for that (see
   * delete_open_file in fs.c; fs_doomed_add, fs_doomed_wait in
   * fs_handle.c). */
  pthread_mutex_t doomed_mu;
  pthread_cond_t doomed_cv;
  unsigned doomed;
  unsigned silly_seq;
  /* Reads answered from libsmbq's I/O thread, not yet replied to: the
   * FUSE session must outlive them (see fs_drain). */
  pthread_mutex_t reads_mu;
  pthread_cond_t reads_cv;
  unsigned reads;
  /* Files created here that the server has not seen yet (fs_handle.c):
   * their handles, so a listing or rmdir of their directory can send
   * them first. */
  pthread_mutex_t pending_mu;
  struct fh *pending;
  /* ... and the thread that sends those still open after entry_timeout
   * (fs_handle.c), so that others see them that late at most. */
  pthread_cond_t pending_cv;
  pthread_t pending_thread;
  bool pending_run, pending_started;
  /* What `smbq use` reads about this mount (state.h). Its life is the
   * connection's, not fs_init's to fs_destroy (main.c): reconnect events
   * reach it from the connect on. */
  struct statefile state;
  /* The kernel's writeback cache is on (decided in init). */
  bool writeback;
  /* Lease breaks (fs_lease_break): the session to notify, set by
   * fs_set_session; the callback works only while `ready`, checked under
   * break_mu, so fs_destroy cannot free the inode table under it. */
  struct fuse_session *se;
  pthread_mutex_t break_mu;
  bool ready;
};

/* Check that `prefix` (the folder of the URL inside the share) is a
 * directory and set up the inode table. Returns 0 or an SMBQ_ERR_*. */
int fs_init(struct fs *fs, const struct mount_cfg *cfg, smbq_conn *conn,
            smbq_tree *tree, const char *prefix);
void fs_destroy(struct fs *fs);
/* Lease breaks may reach the kernel through se from now on (after
 * fs_init); fs_destroy ends that, waiting for a callback in progress. */
void fs_set_session(struct fs *fs, struct fuse_session *se);

/* Wait until every read in flight has been answered; call after the FUSE
 * loop ended and before the session is destroyed. */
void fs_drain(struct fs *fs);

extern const struct fuse_lowlevel_ops smbq_fs_ops;

#endif
