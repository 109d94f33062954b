/* smbq-mount's state file (state.h). */
#include "state.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* Errors a request gets once the connection has died (without reconnect
 * libsmbq fails everything submitted after that with the cause); not a
 * timeout, which a slow server gives too. */
static const int conn_lost_errs[] = {
    SMBQ_ERR_NET, SMBQ_ERR_CLOSED, SMBQ_ERR_CANCELLED, SMBQ_ERR_NOSESSION,
    SMBQ_ERR_TLS, SMBQ_ERR_CERT,
};

static bool conn_lost(int err) {
  for (size_t i = 0; i < sizeof(conn_lost_errs) / sizeof(conn_lost_errs[0]);
       i++)
    if (conn_lost_errs[i] == err)
      return true;
  return false;
}

void statefile_init(struct statefile *sf, bool reconnect) {
  memset(sf, 0, sizeof(*sf));
  pthread_mutex_init(&sf->mu, NULL);
  sf->reconnect = reconnect;
  snprintf(sf->st.state, sizeof(sf->st.state), "%s", MOUNT_STATE_OK);
}

void statefile_destroy(struct statefile *sf) {
  pthread_mutex_destroy(&sf->mu);
}

struct find_mount {
  const char *mountpoint;
  long id;
};

/* The last match: a mount stacked on an earlier one at the same place. */
static int match_mount(const struct mountinfo *mi, void *arg) {
  struct find_mount *fm = arg;
  if (strcmp(mi->fstype, MOUNT_FSTYPE) == 0 &&
      strcmp(mi->mountpoint, fm->mountpoint) == 0)
    fm->id = mi->id;
  return 0;
}

static long find_mount_id(const char *mountpoint) {
  struct find_mount fm = {mountpoint, 0};
  mountinfo_each(match_mount, &fm);
  return fm.id;
}

static void fill_conn(struct mount_state *st, const struct smbq_conn_info *i) {
  snprintf(st->server, sizeof(st->server), "%s", i->server);
  snprintf(st->peer, sizeof(st->peer), "%s", i->peer);
  snprintf(st->transport, sizeof(st->transport), "%s", i->transport);
  snprintf(st->dialect, sizeof(st->dialect), "%s", i->dialect);
}

/* Called with sf->mu held. */
static void write_file(struct statefile *sf) {
  if (mount_state_write(sf->dir, &sf->st) < 0) {
    mlog(LOG_WARNING, "cannot write the state file for smbq use in %s: %s",
         sf->dir, strerror(errno));
    return;
  }
  sf->written = true;
}

/* state and cause, written if they changed and the file exists (before
 * the mount, statefile_mounted writes them). Called with sf->mu held. */
static void set_state(struct statefile *sf, const char *state,
                      const char *cause) {
  struct mount_state *st = &sf->st;
  if (strcmp(st->state, state) == 0 && strcmp(st->cause, cause) == 0)
    return;
  snprintf(st->state, sizeof(st->state), "%s", state);
  snprintf(st->cause, sizeof(st->cause), "%s", cause);
  if (sf->written)
    write_file(sf);
}

void statefile_mounted(struct statefile *sf, const char *url,
                       const char *mountpoint, smbq_conn *conn) {
  /* libsmbq first, outside the lock (state.h) */
  struct smbq_conn_info i;
  bool have_info = smbq_conn_get_info(conn, &i) == 0;
  long mount_id = find_mount_id(mountpoint);
  pthread_mutex_lock(&sf->mu);
  struct mount_state *st = &sf->st;
  st->pid = (long)getpid();
  st->mount_id = mount_id;
  snprintf(st->mountpoint, sizeof(st->mountpoint), "%s", mountpoint);
  snprintf(st->url, sizeof(st->url), "%s", url);
  if (have_info)
    fill_conn(st, &i);
  if (mount_state_dir(sf->dir, sizeof(sf->dir), true) == 0)
    write_file(sf);
  else
    mlog(LOG_WARNING, "no directory for the state file for smbq use: %s",
         errno == ENOENT ? "XDG_RUNTIME_DIR is not set" : strerror(errno));
  pthread_mutex_unlock(&sf->mu);
}

void statefile_conn_lost(struct statefile *sf, const char *cause) {
  pthread_mutex_lock(&sf->mu);
  set_state(sf, sf->reconnect ? MOUNT_STATE_RECONNECTING
                              : MOUNT_STATE_DISCONNECTED,
            cause);
  pthread_mutex_unlock(&sf->mu);
}

void statefile_reconnected(struct statefile *sf,
                           const struct smbq_conn_info *i) {
  pthread_mutex_lock(&sf->mu);
  struct mount_state *st = &sf->st;
  fill_conn(st, i);
  snprintf(st->state, sizeof(st->state), "%s", MOUNT_STATE_OK);
  st->cause[0] = '\0';
  if (sf->written)
    write_file(sf);
  pthread_mutex_unlock(&sf->mu);
}

void statefile_request_failed(struct statefile *sf, int err,
                              const char *msg) {
  if (sf->reconnect || !conn_lost(err))
    return;
  pthread_mutex_lock(&sf->mu);
  /* the first failure's message: the ones after it repeat it */
  if (strcmp(sf->st.state, MOUNT_STATE_DISCONNECTED) != 0)
    set_state(sf, MOUNT_STATE_DISCONNECTED, msg);
  pthread_mutex_unlock(&sf->mu);
}

void statefile_unmounted(struct statefile *sf) {
  pthread_mutex_lock(&sf->mu);
  char path[PATH_MAX];
  if (sf->written &&
      mount_state_path(path, sizeof(path), sf->dir, sf->st.pid) == 0 &&
      unlink(path) < 0 && errno != ENOENT)
    mlog(LOG_WARNING, "cannot remove %s: %s", path, strerror(errno));
  sf->written = false;
  pthread_mutex_unlock(&sf->mu);
}
