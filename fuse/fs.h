/* The FUSE low-level operations of smbq-mount, on the public libsmbq API
 * only. */
#ifndef SMBQ_MOUNT_FS_H
#define SMBQ_MOUNT_FS_H

#include <pthread.h>

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
   * delete_open_file in fs.c). */
  pthread_mutex_t doomed_mu;
  pthread_cond_t doomed_cv;
  unsigned doomed;
  unsigned silly_seq;
  /* Reads answered from libsmbq's I/O thread, not yet replied to: the
   * FUSE session must outlive them (see fs_drain). */
  pthread_mutex_t reads_mu;
  pthread_cond_t reads_cv;
  unsigned reads;
  /* What `smbq use` reads about this mount (state.h). */
  struct statefile state;
};

/* Check that `prefix` (the folder of the URL inside the share) is a
 * directory and set up the inode table. Returns 0 or an SMBQ_ERR_*. */
int fs_init(struct fs *fs, const struct mount_cfg *cfg, smbq_conn *conn,
            smbq_tree *tree, const char *prefix);
void fs_destroy(struct fs *fs);
/* Wait until every read in flight has been answered; call after the FUSE
 * loop ended and before the session is destroyed. */
void fs_drain(struct fs *fs);

extern const struct fuse_lowlevel_ops smbq_fs_ops;

#endif
