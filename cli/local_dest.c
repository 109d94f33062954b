/* Local destinations of downloads (see local_dest.h). */
#include "local_dest.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smbq/smbq_err.h"

static int plan_fail(int err, char *msg, size_t len, const char *why) {
  snprintf(msg, len, "%s", why);
  return err;
}

int local_err_from_errno(int e) {
  static const struct {
    int errnum, err;
  } map[] = {
      {ENOENT, SMBQ_ERR_NOENT},    {EACCES, SMBQ_ERR_ACCESS},
      {EPERM, SMBQ_ERR_ACCESS},    {EROFS, SMBQ_ERR_ACCESS},
      {EEXIST, SMBQ_ERR_EXISTS},   {ENOTDIR, SMBQ_ERR_NOTDIR},
      {EISDIR, SMBQ_ERR_ISDIR},    {ENOTEMPTY, SMBQ_ERR_NOTEMPTY},
      {ENOSPC, SMBQ_ERR_NOSPACE},  {EDQUOT, SMBQ_ERR_NOSPACE},
      {ENOMEM, SMBQ_ERR_NOMEM},    {ENAMETOOLONG, SMBQ_ERR_INVAL},
      {EBUSY, SMBQ_ERR_BUSY},
  };
  for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
    if (map[i].errnum == e)
      return map[i].err;
  return SMBQ_ERR_IO;
}

static int errno_fail(char *msg, size_t len) {
  int e = errno;
  snprintf(msg, len, "%s", strerror(e));
  return local_err_from_errno(e);
}

static int set_name(struct local_dest *d, enum local_dest_how how,
                    const char *name, char *msg, size_t len) {
  d->how = how;
  int n = snprintf(d->name, sizeof(d->name), "%s", name);
  if (n < 0 || (size_t)n >= sizeof(d->name))
    return plan_fail(SMBQ_ERR_INVAL, msg, len, "path too long");
  return 0;
}

/* `path` is a symbolic link: what it finally names decides. */
static int plan_link(const char *path, struct local_dest *d, char *msg,
                     size_t len) {
  struct stat st;
  if (stat(path, &st) < 0) {
    if (errno == ENOENT)
      return plan_fail(SMBQ_ERR_NOENT, msg, len,
                       "is a symbolic link to a missing file; not writing "
                       "through it");
    if (errno == ELOOP)
      return plan_fail(SMBQ_ERR_INVAL, msg, len, "is a symbolic link loop");
    return errno_fail(msg, len);
  }
  if (S_ISDIR(st.st_mode))
    return plan_fail(SMBQ_ERR_ISDIR, msg, len,
                     "is a symbolic link to a directory");
  if (S_ISSOCK(st.st_mode))
    return plan_fail(SMBQ_ERR_INVAL, msg, len,
                     "is a link to a socket; write to a file, a device or "
                     "a FIFO");
  if (!S_ISREG(st.st_mode)) /* a link to a device: written through */
    return set_name(d, LOCAL_DEST_DIRECT, path, msg, len);
  /* Replace the file the link names, in its own directory, so the
   * rename stays within one file system and the link keeps working. */
  char real[PATH_MAX];
  if (!realpath(path, real))
    return errno_fail(msg, len);
  return set_name(d, LOCAL_DEST_REPLACE, real, msg, len);
}

int local_dest_plan(const char *path, struct local_dest *d, char *msg,
                    size_t msglen) {
  if (strcmp(path, "-") == 0)
    return set_name(d, LOCAL_DEST_STDOUT, path, msg, msglen);
  struct stat st;
  if (lstat(path, &st) < 0) {
    if (errno == ENOENT)
      return set_name(d, LOCAL_DEST_REPLACE, path, msg, msglen);
    return errno_fail(msg, msglen);
  }
  if (S_ISLNK(st.st_mode))
    return plan_link(path, d, msg, msglen);
  if (S_ISREG(st.st_mode))
    return set_name(d, LOCAL_DEST_REPLACE, path, msg, msglen);
  if (S_ISDIR(st.st_mode))
    return plan_fail(SMBQ_ERR_ISDIR, msg, msglen, "is a directory");
  if (S_ISSOCK(st.st_mode)) /* open(2) cannot open one */
    return plan_fail(SMBQ_ERR_INVAL, msg, msglen,
                     "is a socket; write to a file, a device or a FIFO");
  /* character or block device, FIFO */
  return set_name(d, LOCAL_DEST_DIRECT, path, msg, msglen);
}

int local_part_create(const char *part) {
  struct stat st;
  if (lstat(part, &st) == 0) {
    if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
      errno = EEXIST; /* someone else's node: leave it alone */
      return -1;
    }
    /* Ours from an earlier run, or planted: unlinking removes only the
     * name, never what a link or a second hard link points at. */
    if (unlink(part) < 0 && errno != ENOENT)
      return -1;
  }
  return open(part, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
              0666);
}

/* fd must be a regular file: else close it and fail with EEXIST. */
static int want_regular(int fd) {
  struct stat st;
  if (fd < 0)
    return -1;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
    return fd;
  close(fd);
  errno = EEXIST;
  return -1;
}

int local_part_open(const char *part) {
  /* O_NONBLOCK: a FIFO under that name must not block the open. */
  int fd = open(part, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  fd = want_regular(fd);
  if (fd >= 0)
    fcntl(fd, F_SETFL, 0);
  return fd;
}

int local_direct_open(const char *name) {
  if (strcmp(name, "-") == 0)
    return fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0);
  int fd = open(name, O_WRONLY | O_NOCTTY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  struct stat st;
  if (fstat(fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) {
    close(fd); /* replaced since it was planned: never write into it */
    errno = EEXIST;
    return -1;
  }
  return fd;
}

int local_replace(const char *part, const char *name) {
  struct stat st;
  if (lstat(name, &st) == 0 && S_ISREG(st.st_mode)) {
    /* As cp(1) overwriting a file keeps its mode: the copy takes the
     * replaced file's permission bits, and its owner when we may give
     * it. Owner first: chown clears the set-id bits. */
    mode_t keep = st.st_mode & 0777;
    if (geteuid() == 0) {
      if (fchownat(AT_FDCWD, part, st.st_uid, st.st_gid,
                   AT_SYMLINK_NOFOLLOW) == 0)
        keep = st.st_mode & 07777;
    }
    if (fchmodat(AT_FDCWD, part, keep, 0) < 0)
      return -1;
  }
  return rename(part, name);
}

/* ---- removal on signals ----------------------------------------------- */

/* The names are read by a signal handler, so they live in process-wide
 * storage the handler can reach (the one exception to "no globals":
 * signal dispositions are process-wide themselves). A slot is claimed
 * with an atomic flag; the handler only calls unlink(2), which is
 * async-signal-safe. */
static struct {
  atomic_int used;
  atomic_int ready;
  char path[PATH_MAX];
} tmp_slots[LOCAL_TMP_SLOTS];
static atomic_int tmp_handlers;

static void tmp_on_signal(int sig) {
  for (int i = 0; i < LOCAL_TMP_SLOTS; i++)
    if (atomic_load(&tmp_slots[i].ready))
      unlink(tmp_slots[i].path);
  signal(sig, SIG_DFL);
  raise(sig);
}

static void tmp_install(void) {
  if (atomic_exchange(&tmp_handlers, 1))
    return;
  static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
  for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
    struct sigaction old, sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = tmp_on_signal;
    sigemptyset(&sa.sa_mask);
    /* a signal that was ignored when we started stays ignored */
    if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
      continue;
    sigaction(sigs[i], &sa, NULL);
  }
}

int local_tmp_register(const char *path) {
  if (strlen(path) >= PATH_MAX)
    return -1;
  tmp_install();
  for (int i = 0; i < LOCAL_TMP_SLOTS; i++) {
    int free_slot = 0;
    if (!atomic_compare_exchange_strong(&tmp_slots[i].used, &free_slot, 1))
      continue;
    memcpy(tmp_slots[i].path, path, strlen(path) + 1);
    atomic_store(&tmp_slots[i].ready, 1);
    return i;
  }
  return -1;
}

void local_tmp_unregister(int slot) {
  if (slot < 0 || slot >= LOCAL_TMP_SLOTS)
    return;
  atomic_store(&tmp_slots[slot].ready, 0);
  atomic_store(&tmp_slots[slot].used, 0);
}
