/* smbq-mount: settings shared by the option parser, the startup code and
 * the file system operations. */
#ifndef SMBQ_MOUNT_H
#define SMBQ_MOUNT_H

#define FUSE_USE_VERSION 35
#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <sys/types.h>

#include "cli.h"

struct mount_cfg {
  struct cli cli;             /* connection options, as the smbq CLI has */
  const char *url;            /* //host/share[/path] */
  const char *mountpoint;
  uid_t uid;                  /* owner shown for every file */
  gid_t gid;
  mode_t file_mode;           /* permission bits of files (0644) */
  mode_t dir_mode;            /* ... and of directories (0755) */
  double attr_timeout;        /* kernel attribute cache, seconds */
  double entry_timeout;       /* kernel name cache, seconds */
  double negative_timeout;    /* cache of "no such name", seconds */
  bool ro;
  bool no_writeback;          /* no kernel writeback cache */
  bool foreground;
  bool singlethread;
  bool help, version;
  const char *domain;         /* -o domain= for a plain user name */
  char user_buf[512];         /* DOMAIN\user built from the two */
  char *fuse_o;               /* -o options for libfuse, comma-joined */
  struct fuse_args fuse_args; /* what goes to libfuse */
  char *strings[64];          /* copies of -o lists (options point in) */
  int nstrings;
};

/* Fill m from the command line (smbq-mount URL MOUNTPOINT [options]
 * [-o opt,...], also the form mount.fuse3 uses). Prints what is wrong and
 * returns an exit code (>0), or 0. */
int mount_parse_args(struct mount_cfg *m, int argc, char **argv);
void mount_cfg_free(struct mount_cfg *m);
void mount_usage(FILE *f);

#endif
