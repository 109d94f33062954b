/* What `smbq use` knows about smbq-mount mounts: the state file each
 * smbq-mount daemon keeps (written by smbq-mount, read by smbq; one
 * definition of the format for both) and the mounts listed in
 * /proc/self/mountinfo. */
#ifndef SMBQ_MOUNT_STATE_H
#define SMBQ_MOUNT_STATE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/ioctl.h>

/* The type our mounts have in mountinfo (smbq-mount mounts with
 * subtype=smbq-mount). */
#define MOUNT_FSTYPE "fuse.smbq-mount"

/* Values of `state` written by the daemon. (`smbq use` adds Unavailable
 * for a mount whose daemon is gone.) Reconnecting: the connection was
 * lost and libsmbq is restoring it (calls wait, and fail once the
 * reconnect timeout has passed); OK again when it is back. Disconnected:
 * lost for good (reconnecting is off). */
#define MOUNT_STATE_OK "OK"
#define MOUNT_STATE_RECONNECTING "Reconnecting"
#define MOUNT_STATE_DISCONNECTED "Disconnected"

/* The daemon's connection counters, asked for with
 * ioctl(fd of the mount's root directory, MOUNT_IOC_STATS, &buf): text,
 * NUL-terminated, "requests N\nround_trips N\nbytes_sent N\n
 * bytes_received N\nbreaks N\n" (`smbq use --stats` prints it as it is;
 * benchmarks parse it). An ioctl and not an extended attribute: a file
 * system that answers getxattr is asked for two attributes of every file
 * by ls -l, one FUSE round trip each; one that never answers it is asked
 * once. A restricted FUSE ioctl: the size is in the number. */
struct mount_stats_text {
  char text[512];
};
#define MOUNT_IOC_STATS _IOR('Q', 0x51, struct mount_stats_text)

struct mount_state {
  long pid;                   /* the daemon serving the mount */
  long mount_id;              /* mountinfo's first field; 0: unknown */
  char mountpoint[PATH_MAX];  /* absolute */
  char url[1024];             /* as given to smbq-mount */
  char server[256];           /* smbq_conn_info: server name, */
  char peer[64];              /* address:port connected to, */
  char transport[8];          /* "tcp" or "quic", */
  char dialect[8];            /* "3.1.1", ... */
  char state[16];             /* MOUNT_STATE_* */
  char cause[256];            /* Reconnecting, Disconnected: why the
                                 connection was lost; else "" (files of
                                 older daemons have no cause key) */
};

/* The directory of the calling user's state files: /run/smbq/mounts for
 * root (its mounts are the system's), else $XDG_RUNTIME_DIR/smbq/mounts.
 * With create, missing directories are made. Returns 0, or -1 with errno
 * (ENOENT: not root and no XDG_RUNTIME_DIR; ENAMETOOLONG). */
int mount_state_dir(char *buf, size_t len, bool create);

/* DIR/PID.state into buf. Returns 0, or -1 if it does not fit. */
int mount_state_path(char *buf, size_t len, const char *dir, long pid);

/* Write s to DIR/PID.state through a temporary file renamed over it, so
 * a reader sees the old or the new file, never half of one. Returns 0,
 * or -1 with errno. */
int mount_state_write(const char *dir, const struct mount_state *s);

/* Read a state file. Unknown keys are skipped (newer writers). Returns 0,
 * or -1 with errno (EINVAL: not a state file). */
int mount_state_read(const char *path, struct mount_state *s);

/* One line of /proc/self/mountinfo, octal escapes decoded. */
struct mountinfo {
  long id;
  char mountpoint[PATH_MAX];
  char fstype[64];
  char source[1024];
};

/* Call fn for each mount in /proc/self/mountinfo, in its order (a later
 * entry may be mounted on top of an earlier one); fn returns non-zero to
 * stop. Returns 0, or -1 with errno when mountinfo cannot be read. */
int mountinfo_each(int (*fn)(const struct mountinfo *mi, void *arg),
                   void *arg);

#endif
