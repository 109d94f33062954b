#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include "mount.h"

/* Set once, when the daemon detaches; read by every thread (libsmbq's
 * I/O thread logs reconnect events from the connect on). */
static bool to_syslog;

static bool use_syslog(void) {
  return __atomic_load_n(&to_syslog, __ATOMIC_ACQUIRE);
}

__attribute__((format(printf, 2, 0))) static void
vmlog(int prio, const char *fmt, va_list ap) {
  if (use_syslog()) {
    vsyslog(prio, fmt, ap);
    return;
  }
  fprintf(stderr, "smbq-mount: ");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
}

void mlog(int prio, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vmlog(prio, fmt, ap);
  va_end(ap);
}

void mlog_use_syslog(void) {
  openlog("smbq-mount", LOG_PID, LOG_DAEMON);
  __atomic_store_n(&to_syslog, true, __ATOMIC_RELEASE);
}

/* libfuse ends its messages with '\n'; syslog does not want it, stderr
 * already gets it, so print them as they are there. */
__attribute__((format(printf, 2, 0))) static void
fuse_log_cb(enum fuse_log_level level, const char *fmt, va_list ap) {
  if (use_syslog())
    vsyslog((int)level, fmt, ap);
  else
    vfprintf(stderr, fmt, ap);
}

void mlog_capture_fuse(void) { fuse_set_log_func(fuse_log_cb); }
