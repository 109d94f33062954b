/* Messages of smbq-mount: on stderr until the daemon detaches, then to
 * syslog (facility daemon). Never pass secrets. */
#ifndef SMBQ_MOUNT_LOG_H
#define SMBQ_MOUNT_LOG_H

#include <syslog.h>

void mlog(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* From now on write to syslog (also libfuse's own messages). */
void mlog_use_syslog(void);

/* Route libfuse's messages through mlog. */
void mlog_capture_fuse(void);

#endif
