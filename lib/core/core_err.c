/* See core_err.h. */
#include "core/core_err.h"

#include <stdarg.h>
#include <stdio.h>

int core_err_set(struct core_err *e, int rc, uint32_t status,
                 const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
  va_end(ap);
  e->rc = rc;
  e->status = status;
  return rc;
}
