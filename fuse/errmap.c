/* The one table from library errors to what file system callers see.
 *
 * It differs from smbq_err_to_errno() where a mounted file system needs
 * other words than a library caller: a dead or refused connection reads
 * as ENOTCONN ("Transport endpoint is not connected", the usual text of a
 * FUSE mount that lost its server) and protocol, signing or crypto
 * failures as EIO, not EPROTO/ECONNRESET/EHOSTUNREACH. */
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
    {SMBQ_ERR_CLOSED, ENOTCONN, true},
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
};

int smbq_mount_errno(int err, bool *unexpected) {
  for (size_t i = 0; i < sizeof(errmap) / sizeof(errmap[0]); i++)
    if (errmap[i].err == err) {
      *unexpected = errmap[i].unexpected;
      return errmap[i].errnum;
    }
  *unexpected = true;
  return EIO;
}
