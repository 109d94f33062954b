/* How a state machine of the core failed: the error, the server's status
 * when it came from the server, and a message that says what failed and
 * what to do (in the library's words). The API layer hands the message to
 * the caller as it is. */
#ifndef CORE_ERR_H
#define CORE_ERR_H

#include <stdint.h>

struct core_err {
  int rc;            /* SMBQ_ERR_*, 0 while nothing failed */
  uint32_t status;   /* NTSTATUS, 0 if the failure is not the server's */
  char msg[1024];
};

/* Record a failure (the message formatted from fmt) and return rc. */
int core_err_set(struct core_err *e, int rc, uint32_t status,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
