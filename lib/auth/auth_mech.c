/* What every auth_mech shares (auth_mech.h). */
#include "auth/auth_mech.h"

#include <stdarg.h>
#include <stdio.h>

int auth_mech_fail(struct auth_mech *m, int rc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(m->err, sizeof(m->err), fmt, ap);
  va_end(ap);
  return rc;
}

void auth_mech_free(struct auth_mech *m) {
  if (m)
    m->ops->free(m);
}
