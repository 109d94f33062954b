/* smbq-mount: log lines and state of a reconnect (reconnect.h). */
#include "reconnect.h"

#include <stdio.h>
#include <string.h>

#include "log.h"

void reconnect_watch_init(struct reconnect_watch *w, unsigned timeout,
                          struct statefile *sf) {
  memset(w, 0, sizeof(*w));
  w->timeout = timeout;
  w->sf = sf;
}

static void on_disconnected(struct reconnect_watch *w,
                            const struct smbq_conn_info *i) {
  w->lost = false;
  w->last_cause[0] = '\0';
  statefile_conn_lost(w->sf, i->cause);
  /* the cause often names the server already */
  if (w->timeout && strstr(i->cause, i->server))
    mlog(LOG_WARNING, "%s; reconnecting (calls wait up to %u s)", i->cause,
         w->timeout);
  else if (w->timeout)
    mlog(LOG_WARNING, "connection to %s lost: %s; reconnecting (calls "
         "wait up to %u s)", i->server, i->cause, w->timeout);
  else
    mlog(LOG_ERR, "connection to %s lost: %s; reconnecting is off "
         "(reconnect timeout 0): calls fail until unmounted", i->server,
         i->cause);
}

/* Every failed try until the timeout passes; after it (the tries go on
 * for as long as the server is away, a few seconds apart) only a new
 * cause and tries 16, 32, 64, ... */
static void on_reconnecting(struct reconnect_watch *w,
                            const struct smbq_conn_info *i) {
  bool same = strcmp(w->last_cause, i->cause) == 0;
  bool power_of_two = (i->attempt & (i->attempt - 1)) == 0;
  if (w->lost && same && !power_of_two)
    return;
  snprintf(w->last_cause, sizeof(w->last_cause), "%s", i->cause);
  mlog(LOG_WARNING, "reconnect attempt %u failed: %s", i->attempt,
       i->cause);
}

static void on_reconnected(struct reconnect_watch *w,
                           const struct smbq_conn_info *i) {
  w->lost = false;
  w->last_cause[0] = '\0';
  statefile_reconnected(w->sf, i);
  mlog(i->lost ? LOG_WARNING : LOG_NOTICE,
       "reconnected to %s (%u open file%s reclaimed, %u lost)", i->server,
       i->reclaimed, i->reclaimed == 1 ? "" : "s", i->lost);
}

static void on_lost(struct reconnect_watch *w,
                    const struct smbq_conn_info *i) {
  w->lost = true;
  mlog(LOG_ERR, "%s still unreachable after %u s: calls fail until it is "
       "back (%s)", i->server, w->timeout, i->cause);
}

/* CONNECTED and MIGRATED have nothing to tell. */
static void (*const handlers[])(struct reconnect_watch *w,
                                const struct smbq_conn_info *i) = {
    [SMBQ_EVENT_DISCONNECTED] = on_disconnected,
    [SMBQ_EVENT_RECONNECTING] = on_reconnecting,
    [SMBQ_EVENT_RECONNECTED] = on_reconnected,
    [SMBQ_EVENT_LOST] = on_lost,
};

void reconnect_event(void *arg, enum smbq_event ev,
                     const struct smbq_conn_info *i) {
  if ((unsigned)ev < sizeof(handlers) / sizeof(handlers[0]) && handlers[ev])
    handlers[ev](arg, i);
}
