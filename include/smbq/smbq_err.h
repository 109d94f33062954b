/* libsmbq error codes.
 *
 * Every public call returns 0 (or a non-negative count) on success and a
 * negative SMBQ_ERR_* on failure. smbq_strerror() gives a short generic text;
 * the handle-level smbq_conn_errmsg() gives the specific message (what
 * failed and what to do about it).
 */
#ifndef SMBQ_ERR_H
#define SMBQ_ERR_H

#include <stdint.h>

#include "smbq_export.h"

#ifdef __cplusplus
extern "C" {
#endif

enum smbq_err {
  SMBQ_OK = 0,
  SMBQ_ERR_INVAL = -1,        /* bad argument from the caller */
  SMBQ_ERR_NOMEM = -2,        /* allocation failed */
  SMBQ_ERR_BUFSMALL = -3,     /* output buffer too small (internal) */
  SMBQ_ERR_PROTO = -4,        /* malformed or unexpected server reply */
  SMBQ_ERR_CRYPTO = -5,       /* a crypto primitive failed */
  SMBQ_ERR_AUTH = -6,         /* logon failure: wrong user or password */
  SMBQ_ERR_ACCESS = -7,       /* access denied */
  SMBQ_ERR_NOENT = -8,        /* file, directory or share not found */
  SMBQ_ERR_EXISTS = -9,       /* object already exists */
  SMBQ_ERR_NET = -10,         /* cannot reach the server */
  SMBQ_ERR_TIMEOUT = -11,     /* no answer in time */
  SMBQ_ERR_CLOSED = -12,      /* connection closed or reset */
  SMBQ_ERR_TLS = -13,         /* TLS handshake failed */
  SMBQ_ERR_CERT = -14,        /* server certificate rejected */
  SMBQ_ERR_UNSUPPORTED = -15, /* server or build lacks a needed feature */
  SMBQ_ERR_SIGNATURE = -16,   /* reply signature missing or wrong */
  SMBQ_ERR_STATUS = -17,      /* other NTSTATUS error (see nt_status) */
  SMBQ_ERR_NOTDIR = -18,      /* not a directory */
  SMBQ_ERR_ISDIR = -19,       /* is a directory */
  SMBQ_ERR_NOTEMPTY = -20,    /* directory not empty */
  SMBQ_ERR_NOSPACE = -21,     /* disk full or quota exceeded */
  SMBQ_ERR_BUSY = -22,        /* sharing violation / file in use */
  SMBQ_ERR_CANCELLED = -23,   /* request cancelled (connection torn down) */
  SMBQ_ERR_POLICY = -24,      /* refused by local policy (e.g. guest) */
  SMBQ_ERR_IO = -25,          /* local I/O error */
  SMBQ_ERR_NOSESSION = -26,   /* session expired or deleted by server */
  SMBQ_ERR_STALE = -27,       /* an open handle lost with the connection
                                 (not durable, or the server dropped it) */
};

/* A static, generic text for an error code. Never NULL. */
SMBQ_EXPORT const char *smbq_strerror(int err);

/* Map an NTSTATUS to the closest SMBQ_ERR_* (SMBQ_ERR_STATUS if none). */
SMBQ_EXPORT int smbq_err_from_ntstatus(uint32_t status);

/* Map an SMBQ_ERR_* to a positive errno value (for FUSE and callers that
 * want POSIX semantics). */
SMBQ_EXPORT int smbq_err_to_errno(int err);

/* Short symbolic name of an NTSTATUS ("STATUS_LOGON_FAILURE"), or NULL. */
SMBQ_EXPORT const char *smbq_ntstatus_name(uint32_t status);

#ifdef __cplusplus
}
#endif

#endif
