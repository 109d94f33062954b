/* Error texts and the one NTSTATUS table (MS-ERREF 2.3.1): NTSTATUS ->
 * SMBQ_ERR_* -> errno. FUSE uses the errno column, the CLI maps SMBQ_ERR_*
 * to exit codes. */
#include <errno.h>
#include <stddef.h>

#include "smb2/smb2_hdr.h"
#include "smbq/smbq_err.h"

struct err_text {
  int err;
  int errnum;
  const char *text;
};

static const struct err_text err_texts[] = {
    {SMBQ_OK, 0, "success"},
    {SMBQ_ERR_INVAL, EINVAL, "invalid argument"},
    {SMBQ_ERR_NOMEM, ENOMEM, "out of memory"},
    {SMBQ_ERR_BUFSMALL, EOVERFLOW, "buffer too small"},
    {SMBQ_ERR_PROTO, EPROTO, "malformed or unexpected reply from server"},
    {SMBQ_ERR_CRYPTO, EIO, "cryptographic operation failed"},
    {SMBQ_ERR_AUTH, EACCES, "authentication failed"},
    {SMBQ_ERR_ACCESS, EACCES, "access denied"},
    {SMBQ_ERR_NOENT, ENOENT, "not found"},
    {SMBQ_ERR_EXISTS, EEXIST, "already exists"},
    {SMBQ_ERR_NET, EHOSTUNREACH, "cannot reach the server"},
    {SMBQ_ERR_TIMEOUT, ETIMEDOUT, "timed out"},
    {SMBQ_ERR_CLOSED, ECONNRESET, "connection closed"},
    {SMBQ_ERR_TLS, EPROTO, "TLS handshake failed"},
    {SMBQ_ERR_CERT, EPROTO, "server certificate rejected"},
    {SMBQ_ERR_UNSUPPORTED, EOPNOTSUPP, "not supported"},
    {SMBQ_ERR_SIGNATURE, EBADMSG, "reply signature missing or invalid"},
    {SMBQ_ERR_STATUS, EIO, "server returned an error"},
    {SMBQ_ERR_NOTDIR, ENOTDIR, "not a directory"},
    {SMBQ_ERR_ISDIR, EISDIR, "is a directory"},
    {SMBQ_ERR_NOTEMPTY, ENOTEMPTY, "directory not empty"},
    {SMBQ_ERR_NOSPACE, ENOSPC, "no space left on the share"},
    {SMBQ_ERR_BUSY, EBUSY, "file in use (sharing violation)"},
    {SMBQ_ERR_CANCELLED, ECANCELED, "cancelled"},
    {SMBQ_ERR_POLICY, EPERM, "refused by local policy"},
    {SMBQ_ERR_IO, EIO, "local I/O error"},
    {SMBQ_ERR_NOSESSION, ECONNRESET, "session expired"},
    {SMBQ_ERR_STALE, ESTALE, "open file lost with the connection"},
};

static const struct err_text *find_err(int err) {
  for (size_t i = 0; i < sizeof(err_texts) / sizeof(err_texts[0]); i++)
    if (err_texts[i].err == err)
      return &err_texts[i];
  return NULL;
}

const char *smbq_strerror(int err) {
  const struct err_text *e = find_err(err);
  return e ? e->text : "unknown error";
}

int smbq_err_to_errno(int err) {
  const struct err_text *e = find_err(err);
  return e ? e->errnum : EIO;
}

struct status_map {
  uint32_t status;
  int err;
  const char *name;
};

static const struct status_map status_map[] = {
    {NT_STATUS_SUCCESS, SMBQ_OK, "STATUS_SUCCESS"},
    {NT_STATUS_NO_SUCH_FILE, SMBQ_ERR_NOENT, "STATUS_NO_SUCH_FILE"},
    {NT_STATUS_OBJECT_NAME_NOT_FOUND, SMBQ_ERR_NOENT,
     "STATUS_OBJECT_NAME_NOT_FOUND"},
    {NT_STATUS_OBJECT_PATH_NOT_FOUND, SMBQ_ERR_NOENT,
     "STATUS_OBJECT_PATH_NOT_FOUND"},
    {NT_STATUS_NOT_FOUND, SMBQ_ERR_NOENT, "STATUS_NOT_FOUND"},
    {NT_STATUS_BAD_NETWORK_NAME, SMBQ_ERR_NOENT, "STATUS_BAD_NETWORK_NAME"},
    {NT_STATUS_OBJECT_NAME_INVALID, SMBQ_ERR_INVAL,
     "STATUS_OBJECT_NAME_INVALID"},
    {NT_STATUS_INVALID_PARAMETER, SMBQ_ERR_INVAL, "STATUS_INVALID_PARAMETER"},
    {NT_STATUS_OBJECT_NAME_COLLISION, SMBQ_ERR_EXISTS,
     "STATUS_OBJECT_NAME_COLLISION"},
    {NT_STATUS_ACCESS_DENIED, SMBQ_ERR_ACCESS, "STATUS_ACCESS_DENIED"},
    /* e.g. deleting a read-only file (MS-FSA 2.1.5.14.3) */
    {NT_STATUS_CANNOT_DELETE, SMBQ_ERR_ACCESS, "STATUS_CANNOT_DELETE"},
    {NT_STATUS_PRIVILEGE_NOT_HELD, SMBQ_ERR_ACCESS,
     "STATUS_PRIVILEGE_NOT_HELD"},
    {NT_STATUS_LOGON_FAILURE, SMBQ_ERR_AUTH, "STATUS_LOGON_FAILURE"},
    {NT_STATUS_WRONG_PASSWORD, SMBQ_ERR_AUTH, "STATUS_WRONG_PASSWORD"},
    {NT_STATUS_NO_SUCH_USER, SMBQ_ERR_AUTH, "STATUS_NO_SUCH_USER"},
    {NT_STATUS_ACCOUNT_RESTRICTION, SMBQ_ERR_AUTH,
     "STATUS_ACCOUNT_RESTRICTION"},
    {NT_STATUS_PASSWORD_EXPIRED, SMBQ_ERR_AUTH, "STATUS_PASSWORD_EXPIRED"},
    {NT_STATUS_ACCOUNT_DISABLED, SMBQ_ERR_AUTH, "STATUS_ACCOUNT_DISABLED"},
    {NT_STATUS_ACCOUNT_LOCKED_OUT, SMBQ_ERR_AUTH,
     "STATUS_ACCOUNT_LOCKED_OUT"},
    {NT_STATUS_DISK_FULL, SMBQ_ERR_NOSPACE, "STATUS_DISK_FULL"},
    {NT_STATUS_QUOTA_EXCEEDED, SMBQ_ERR_NOSPACE, "STATUS_QUOTA_EXCEEDED"},
    {NT_STATUS_FILE_IS_A_DIRECTORY, SMBQ_ERR_ISDIR,
     "STATUS_FILE_IS_A_DIRECTORY"},
    {NT_STATUS_NOT_A_DIRECTORY, SMBQ_ERR_NOTDIR, "STATUS_NOT_A_DIRECTORY"},
    {NT_STATUS_DIRECTORY_NOT_EMPTY, SMBQ_ERR_NOTEMPTY,
     "STATUS_DIRECTORY_NOT_EMPTY"},
    {NT_STATUS_SHARING_VIOLATION, SMBQ_ERR_BUSY, "STATUS_SHARING_VIOLATION"},
    {NT_STATUS_DELETE_PENDING, SMBQ_ERR_BUSY, "STATUS_DELETE_PENDING"},
    {NT_STATUS_FILE_NOT_AVAILABLE, SMBQ_ERR_BUSY,
     "STATUS_FILE_NOT_AVAILABLE"},
    {NT_STATUS_NOT_SUPPORTED, SMBQ_ERR_UNSUPPORTED, "STATUS_NOT_SUPPORTED"},
    {NT_STATUS_INVALID_DEVICE_REQUEST, SMBQ_ERR_UNSUPPORTED,
     "STATUS_INVALID_DEVICE_REQUEST"},
    {NT_STATUS_CANCELLED, SMBQ_ERR_CANCELLED, "STATUS_CANCELLED"},
    {NT_STATUS_USER_SESSION_DELETED, SMBQ_ERR_NOSESSION,
     "STATUS_USER_SESSION_DELETED"},
    {NT_STATUS_NETWORK_SESSION_EXPIRED, SMBQ_ERR_NOSESSION,
     "STATUS_NETWORK_SESSION_EXPIRED"},
    {NT_STATUS_NETWORK_NAME_DELETED, SMBQ_ERR_NOENT,
     "STATUS_NETWORK_NAME_DELETED"},
    /* the handle is gone at the server (lost with a connection, or
     * closed by it): the open is stale, not the caller's argument */
    {NT_STATUS_FILE_CLOSED, SMBQ_ERR_STALE, "STATUS_FILE_CLOSED"},
    {NT_STATUS_INVALID_HANDLE, SMBQ_ERR_INVAL, "STATUS_INVALID_HANDLE"},
    {NT_STATUS_END_OF_FILE, SMBQ_OK, "STATUS_END_OF_FILE"},
    {NT_STATUS_NO_MORE_FILES, SMBQ_OK, "STATUS_NO_MORE_FILES"},
    {NT_STATUS_INSUFFICIENT_RESOURCES, SMBQ_ERR_STATUS,
     "STATUS_INSUFFICIENT_RESOURCES"},
    {NT_STATUS_REQUEST_NOT_ACCEPTED, SMBQ_ERR_STATUS,
     "STATUS_REQUEST_NOT_ACCEPTED"},
    {NT_STATUS_MORE_PROCESSING_REQUIRED, SMBQ_OK,
     "STATUS_MORE_PROCESSING_REQUIRED"},
    {NT_STATUS_BUFFER_OVERFLOW, SMBQ_OK, "STATUS_BUFFER_OVERFLOW"},
    {NT_STATUS_PENDING, SMBQ_OK, "STATUS_PENDING"},
};

static const struct status_map *find_status(uint32_t status) {
  for (size_t i = 0; i < sizeof(status_map) / sizeof(status_map[0]); i++)
    if (status_map[i].status == status)
      return &status_map[i];
  return NULL;
}

int smbq_err_from_ntstatus(uint32_t status) {
  const struct status_map *m = find_status(status);
  if (m)
    return m->err;
  /* MS-ERREF 2.3: severity bits 11 = error, others are not failures. */
  return (status >> 30) == 3 ? SMBQ_ERR_STATUS : SMBQ_OK;
}

const char *smbq_ntstatus_name(uint32_t status) {
  const struct status_map *m = find_status(status);
  return m ? m->name : NULL;
}
