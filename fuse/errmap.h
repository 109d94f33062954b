/* Library errors as errno values for FUSE replies. */
#ifndef SMBQ_MOUNT_ERRMAP_H
#define SMBQ_MOUNT_ERRMAP_H

#include <stdbool.h>

/* errno for an SMBQ_ERR_* (smbq_err_to_errno's for codes this table
 * does not know).
 * *unexpected is set when the error says something is wrong with the
 * connection or the server rather than with the request, i.e. when it
 * deserves a log line. */
int smbq_mount_errno(int err, bool *unexpected);

#endif
