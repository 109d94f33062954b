/* The two sides smbq cp copies between, behind one table of operations:
 * the local file system (POSIX) and a share (libsmbq). The copy logic in
 * cmd_cp.c is written once against this table, so local->remote,
 * remote->local and remote->remote are the same code.
 *
 * Errors are SMBQ_ERR_* codes (local errno values are mapped). The text
 * for the most recent failure in the calling thread is kept by cp_errmsg()
 * (for a share: the connection's message, taken right after the failure,
 * since several threads share the connection). */
#ifndef SMBQ_CLI_CP_FS_H
#define SMBQ_CLI_CP_FS_H

#include <stdbool.h>
#include <limits.h>
#include <stdint.h>
#include <time.h>

#include "cli.h"

enum cp_kind { CP_FILE, CP_DIR, CP_OTHER };

struct cp_stat {
  enum cp_kind kind;   /* CP_OTHER: device, fifo, socket, link to a dir */
  uint64_t size;
  struct timespec mtime;
};

enum cp_open {
  CP_READ,   /* existing file, read only */
  CP_CREATE, /* a new temporary file, write only (see cp_fs.dest) */
  CP_UPDATE, /* existing temporary file, read and write (--resume) */
  CP_DIRECT, /* a destination written in place, in order (see cp_fs.dest) */
};

/* What closing a handle must achieve. */
enum cp_close {
  CP_DISCARD, /* nothing: a source, or a copy that failed anyway */
  CP_STORE,   /* the data is stored: every write acknowledged, close too */
  CP_STORE_FLUSH, /* and, on a share, FLUSH: on the server's disk */
};

/* How a copy is written to its destination path. */
struct cp_dest {
  /* false: into a temporary file renamed over `name` at the end; true:
   * into `name` itself, opened with CP_DIRECT, in order, never replaced
   * and given no mtime (a device, a FIFO, a socket, standard output). */
  bool direct;
  char name[PATH_MAX]; /* the path to replace or write, links resolved */
};

struct cp_ep;

struct cp_fs {
  /* read/write complete later on another thread (a share); else they
   * complete before returning (local files). */
  bool async;
  int (*stat)(struct cp_ep *e, const char *path, struct cp_stat *st);
  /* How to write a copy to `path` (local destinations: cli/local_dest.h;
   * a share: always through a temporary file). */
  int (*dest)(struct cp_ep *e, const char *path, struct cp_dest *out);
  /* An existing directory is success; an existing file SMBQ_ERR_EXISTS. */
  int (*mkdir)(struct cp_ep *e, const char *path);
  int (*opendir)(struct cp_ep *e, const char *path, void **d);
  /* 1 = entry stored (name valid until the next call), 0 = end, <0. */
  int (*readdir)(void *d, const char **name, struct cp_stat *st);
  void (*closedir)(void *d);
  int (*open)(struct cp_ep *e, const char *path, enum cp_open how, void **h);
  /* As smbq_pread_async/smbq_pwrite_async: cb gets the byte count (reads
   * short only at end of file) or an error; a negative return means cb
   * will not run. */
  int (*read)(void *h, void *buf, size_t len, uint64_t off, smbq_io_cb cb,
              void *arg);
  int (*write)(void *h, const void *buf, size_t len, uint64_t off,
               smbq_io_cb cb, void *arg);
  int (*truncate)(void *h, uint64_t size);
  /* Frees h; see enum cp_close. */
  int (*close)(void *h, enum cp_close how);
  int (*set_mtime)(struct cp_ep *e, const char *path,
                   const struct timespec *mtime);
  /* Replaces an existing file `to`; a local one keeps its mode (and
   * owner, as root). */
  int (*rename)(struct cp_ep *e, const char *from, const char *to);
  int (*unlink)(struct cp_ep *e, const char *path);
};

/* One side of a copy: the local file system, or one share. */
struct cp_ep {
  const struct cp_fs *fs;
  struct cli_share share; /* a share: url, connection, tree */
  bool owns_conn;         /* else the connection is another ep's */
};

extern const struct cp_fs cp_fs_local;
extern const struct cp_fs cp_fs_remote;

/* Text of the most recent failure in this thread ("" if none). */
const char *cp_errmsg(void);
/* After an async read/write on e failed with err: keep e's message. */
void cp_note_error(struct cp_ep *e, int err);

#endif
