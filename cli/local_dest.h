/* Writing a file downloaded from a share to a local path, without ever
 * destroying what is not a regular file we were asked to write.
 *
 * What is at the path decides how (local_dest_plan):
 *  - nothing, or a regular file: the bytes go to NAME.smbq-part in the
 *    same directory, created afresh (never through a link), and that file
 *    is renamed over NAME once complete, taking the replaced file's mode
 *    (and owner, when running as root) — NAME never holds a partial copy;
 *  - a symbolic link to a regular file: the same for the file it names,
 *    so the link stays and points at the new copy, as cp(1) writes
 *    through links;
 *  - a character or block device, a FIFO or a socket: opened and written
 *    in place, in order, never replaced (smbq get f /dev/null);
 *  - "-": standard output, written in place;
 *  - a directory, a dangling link, a link loop: refused.
 *
 * Temporary files are removed on every failure path, also when the
 * process is interrupted by SIGINT, SIGTERM, SIGHUP or SIGPIPE while one
 * exists (local_tmp_register). */
#ifndef SMBQ_CLI_LOCAL_DEST_H
#define SMBQ_CLI_LOCAL_DEST_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#define LOCAL_PART_SUFFIX ".smbq-part"

enum local_dest_how {
  LOCAL_DEST_REPLACE, /* through NAME.smbq-part, renamed over NAME */
  LOCAL_DEST_DIRECT,  /* written in place (device, FIFO, socket) */
  LOCAL_DEST_STDOUT,  /* "-" */
};

struct local_dest {
  enum local_dest_how how;
  /* REPLACE: the file to replace, links resolved (its directory holds the
   * temporary file); DIRECT: the node to write; STDOUT: "-". */
  char name[PATH_MAX];
};

/* The SMBQ_ERR_* for a local errno value (SMBQ_ERR_IO for the rest). */
int local_err_from_errno(int e);

/* Decide how to write `path`. Returns 0, or an SMBQ_ERR_* with a reason
 * ("is a directory", "is a symbolic link to a missing file", ...) in
 * msg. */
int local_dest_plan(const char *path, struct local_dest *d, char *msg,
                    size_t msglen);

/* Create the temporary file `part` for writing: a regular file left by an
 * earlier run (or a link planted there) is removed first and the new file
 * is created exclusively, so nothing it named is ever truncated; anything
 * else under that name is refused (errno EEXIST). Returns the descriptor
 * or -1 with errno set. */
int local_part_create(const char *part);

/* Open an existing temporary file `part` to continue it (cp --resume):
 * refused unless it is a regular file and not a link. Returns the
 * descriptor (read-write) or -1 with errno set. */
int local_part_open(const char *part);

/* Open a device, FIFO or socket to write in place (never creating or
 * truncating anything); "-" duplicates standard output. Refused (errno
 * EEXIST) if `name` became a regular file or directory meanwhile.
 * Returns the descriptor or -1 with errno set. */
int local_direct_open(const char *name);

/* Rename the complete temporary file `part` over `name`. If `name` is a
 * regular file, `part` first takes its permission bits (and owner and
 * group, when running as root). Returns 0 or -1 with errno set. */
int local_replace(const char *part, const char *name);

/* While a temporary file exists, its name is registered, so that a
 * SIGINT, SIGTERM, SIGHUP or SIGPIPE removes it before the process ends
 * with that signal. The first registration installs the handlers. At most
 * LOCAL_TMP_SLOTS names at once; register returns a slot, or -1 when all
 * are in use (the file is then not removed on a signal). */
#define LOCAL_TMP_SLOTS 16
int local_tmp_register(const char *path);
void local_tmp_unregister(int slot);

#endif
