/* smbq-mount's side of libsmbq's reconnect
 * (smbq_opts_set_reconnect_timeout): the event callback logs each step of
 * an outage (log.h: stderr in the foreground, syslog once detached) and
 * keeps the state file saying Reconnecting, with the cause, until the
 * connection is back (state.h). */
#ifndef SMBQ_MOUNT_RECONNECT_H
#define SMBQ_MOUNT_RECONNECT_H

#include <stdbool.h>

#include "smbq/smbq.h"
#include "state.h"

struct reconnect_watch {
  unsigned timeout;      /* the reconnect timeout in force, s; 0: off */
  struct statefile *sf;
  /* The callback's own (the events of a connection come one at a time,
   * from its I/O thread): */
  bool lost;             /* the timeout passed in this outage */
  char last_cause[256];  /* of the last failed attempt logged */
};

/* sf must live as long as the connection. */
void reconnect_watch_init(struct reconnect_watch *w, unsigned timeout,
                          struct statefile *sf);

/* For smbq_opts_set_event_cb with a struct reconnect_watch as arg.
 * Calls no libsmbq function (the reconnect events come from libsmbq's
 * I/O thread); other events are ignored. */
void reconnect_event(void *arg, enum smbq_event ev,
                     const struct smbq_conn_info *i);

#endif
