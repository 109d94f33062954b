/* smbq-mount: open files (fi->fh) and their bookkeeping: the server open
 * behind each handle, references (a stat of a deleted-but-open file goes
 * through one), files deleted while open ("doomed"), and files created
 * here that the server has not seen yet ("pending"), which go out as one
 * compound at close, or earlier when something needs them on the server.
 *
 * Uses fs_listing.c, nodes.c and log.c; no other fs_*.c file. */
#ifndef SMBQ_MOUNT_FS_HANDLE_H
#define SMBQ_MOUNT_FS_HANDLE_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "fs.h"

/* A file created here that the server has not seen yet (fs_handle.c). */
struct pending;

/* An open file (fi->fh). */
struct fh {
  struct node_handle h;   /* first: fh is found from it */
  pthread_mutex_t mu;     /* guards f and pend (their changes) */
  /* The open on the server; NULL while the file is pending, and after
   * the pending file went out in one compound (it is then opened again
   * when this handle is used for more I/O). */
  smbq_file *f;
  struct pending *pend;
  int flags;              /* open(2) flags (for opening again) */
  bool readonly_on_close; /* created without write permission */
  bool readonly_sent;     /* ... and that went out with the compound */
  bool wrote;             /* data went to the server through f */
  struct fh *pend_prev, *pend_next; /* fs->pending, while pend is set */
  /* The first write that failed (an SMBQ_ERR_*, 0 = none), sticky: with
   * the writeback cache a write(2) returned long before the data went to
   * the server, so flush (close(2)) and fsync(2) must report it. */
  int write_err;
  /* Times set through this handle and not yet sent (under mu): with the
   * writeback cache the kernel sends the mtime of its writes after each
   * writeback pass, from inside the writeback; they go to the server
   * with fsync(2) or close(2) instead, one SET_INFO in all. */
  bool times_dirty;
  bool atime_set, mtime_set;
  struct timespec atime, mtime;
};

/* ---- handles ---- */

/* Open path on the server for open(2) flags (plus SMBQ_O_* extra). 0 or
 * an SMBQ_ERR_*. */
int fs_open_file(struct fs *fs, const char *path, int flags, unsigned extra,
                 smbq_file **f);
/* A handle of n for the open f (flags: open(2)'s), with one reference,
 * owned by the kernel's open file; NULL when out of memory. */
struct fh *fs_fh_new(struct fs *fs, struct node *n, smbq_file *f, int flags);
/* Any open handle of n, referenced (release it with fs_fh_put): what a
 * stat of a deleted-but-open file goes through. NULL if none. */
struct fh *fs_fh_hold(struct fs *fs, struct node *n);
/* Drop a reference; the last one closes the file. */
void fs_fh_put(struct fs *fs, struct fh *fh);
/* The server's open of fh for I/O, opening the file again when it went
 * out in one compound (sending it first if still pending). 0 or an
 * SMBQ_ERR_*. */
int fs_fh_file(struct fs *fs, struct fh *fh, smbq_file **f);

/* ---- times kept until fsync or close ---- */

/* Take a change of times only (to_set: FUSE_SET_ATTR_*TIME*, CTIME)
 * made through fh without a round trip, when fh has a writable open on
 * the server; s gets the attributes to answer with. False: not taken
 * (the caller sends it). */
bool fs_fh_defer_times(struct fh *fh, const struct stat *attr, int to_set,
                       struct smbq_stat *s);
/* Send the times fs_fh_defer_times took, if any. 0 or an SMBQ_ERR_*
 * (the times then stay to send). */
int fs_fh_send_times(struct fh *fh);

/* ---- files deleted while open ---- */

/* Count files deleted while open (+1 before marking one, -1 at its last
 * close or when it was not marked after all); 0 wakes a waiting rmdir. */
void fs_doomed_add(struct fs *fs, int delta);
/* Wait a little for the files deleted while open to be closed. True if
 * there were any. */
bool fs_doomed_wait(struct fs *fs);

/* ---- pending files ---- */

/* A handle of n for create(2) with flags and mode whose file is pending:
 * nothing goes to the server yet. *st: its attributes (new and empty).
 * NULL when out of memory. */
struct fh *fs_fh_new_pending(struct fs *fs, struct node *n, int flags,
                             mode_t mode, struct smbq_stat *st);
/* The create of fh's pending file was not replied to: the file is
 * dropped unsent (the handle stays; put it). */
void fs_pending_cancel(struct fs *fs, struct fh *fh);
/* If n is a file created here that the server has not seen yet, its
 * attributes as this mount shows them. */
bool fs_pending_stat(struct fs *fs, struct node *n, struct smbq_stat *s);
/* Apply a setattr to n if it is pending: 1 (done, *s filled), 0 (not
 * pending: go to the server), or an SMBQ_ERR_*. */
int fs_pending_setattr(struct fs *fs, struct node *n, const struct stat *attr,
                       int to_set, struct smbq_stat *s);
/* A read of fh while it is pending: true with *n bytes at buf (its data
 * is here); false: read from the server. */
bool fs_pending_read(struct fh *fh, char *buf, size_t size, off_t off,
                     size_t *n);
/* A write to fh while it is pending and the data fits what it may hold:
 * true with *rc 0 or an SMBQ_ERR_*; false: write to the server. */
bool fs_pending_write(struct fh *fh, const char *buf, size_t size, off_t off,
                      int *rc);
/* Send fh's file now if it is pending, as close(2) (final: the read-only
 * attribute goes too) or fsync(2) (sync: the server flushes it to disk)
 * does. True if it was pending; a failure is fh's write_err. */
bool fs_pending_flush(struct fs *fs, struct fh *fh, bool final, bool sync);
/* Send n's pending file now (before an operation the server must see it
 * for: another open, a rename, a delete). 0 or an SMBQ_ERR_*. */
int fs_settle(struct fs *fs, struct node *n);
/* Send every pending file directly in dir (before listing or removing
 * it). */
void fs_settle_dir(struct fs *fs, struct node *dir);
/* Start and stop the thread that sends pending files left open longer
 * than the entry timeout. */
void fs_pending_start(struct fs *fs);
void fs_pending_stop(struct fs *fs);

#endif
