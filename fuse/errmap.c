/* The one table from library errors to what file system callers see.
 *
 * It differs from smbq_err_to_errno() where a mounted file system needs
 * other words than a library caller: an unreachable or refused server
 * reads as ENOTCONN ("Transport endpoint is not connected"), and
 * protocol, signing or crypto failures as EIO, not
 * EPROTO/ECONNRESET/EHOSTUNREACH.
 *
 * A lost connection is an outage, not the end of the mount: libsmbq
 * restores it (smbq_opts_set_reconnect_timeout) while calls wait, and
 * those that outlast the reconnect timeout fail with SMBQ_ERR_CLOSED.
 * That is EIO: the daemon still serves, while ENOTCONN is what the
 * kernel answers for a FUSE mount whose daemon is gone, and would say
 * the mount is dead. (With reconnecting off the connection stays lost;
 * EIO as well.) Codes not in the table take the library's errno. */
#include "errmap.h"

#include <errno.h>
#include <stddef.h>

#include "smbq/smbq_err.h"

static const struct {
  int err;
  int errnum;
  bool unexpected;
} errmap[] = {
    {SMBQ_ERR_INVAL, EINVAL, false},
    {SMBQ_ERR_NOMEM, ENOMEM, true},
    {SMBQ_ERR_BUFSMALL, EIO, true},
    {SMBQ_ERR_PROTO, EIO, true},
    {SMBQ_ERR_CRYPTO, EIO, true},
    {SMBQ_ERR_AUTH, EACCES, true},
    {SMBQ_ERR_ACCESS, EACCES, false},
    {SMBQ_ERR_NOENT, ENOENT, false},
    {SMBQ_ERR_EXISTS, EEXIST, false},
    {SMBQ_ERR_NET, ENOTCONN, true},
    {SMBQ_ERR_TIMEOUT, ETIMEDOUT, true},
    {SMBQ_ERR_CLOSED, EIO, true},
    {SMBQ_ERR_TLS, EIO, true},
    {SMBQ_ERR_CERT, EIO, true},
    {SMBQ_ERR_UNSUPPORTED, EOPNOTSUPP, false},
    {SMBQ_ERR_SIGNATURE, EIO, true},
    {SMBQ_ERR_STATUS, EIO, true},
    {SMBQ_ERR_NOTDIR, ENOTDIR, false},
    {SMBQ_ERR_ISDIR, EISDIR, false},
    {SMBQ_ERR_NOTEMPTY, ENOTEMPTY, false},
    {SMBQ_ERR_NOSPACE, ENOSPC, false},
    {SMBQ_ERR_BUSY, EBUSY, false},
    {SMBQ_ERR_CANCELLED, ENOTCONN, true},
    {SMBQ_ERR_POLICY, EPERM, true},
    {SMBQ_ERR_IO, EIO, true},
    {SMBQ_ERR_NOSESSION, ENOTCONN, true},
    /* an open the reconnect could not reclaim: open the file again */
    {SMBQ_ERR_STALE, ESTALE, true},
};

int smbq_mount_errno(int err, bool *unexpected) {
  for (size_t i = 0; i < sizeof(errmap) / sizeof(errmap[0]); i++)
    if (errmap[i].err == err) {
      *unexpected = errmap[i].unexpected;
      return errmap[i].errnum;
    }
  *unexpected = true;
  return smbq_err_to_errno(err);
}
