/* Leases on the API side (lease.c): options, the break worker and the
 * handle cache. Not installed. */
#ifndef SMBQ_API_LEASE_H
#define SMBQ_API_LEASE_H

#include "api/api.h"

/* Capabilities to offer in NEGOTIATE for leasing (0 when disabled). */
uint32_t api_lease_client_caps(const smbq_conn *c);

/* Route the core's unsolicited messages (break notifications) here. */
void api_leases_env(smbq_conn *c, struct smb2_conn_env *env);

/* After NEGOTIATE: make the lease table for the dialect and the server's
 * capabilities and start the break worker. 0 or SMBQ_ERR_NOMEM. */
int api_leases_start(smbq_conn *c);
/* Stop the worker (breaks still queued are dropped: the connection is
 * going). Call after every tree's cached handles are closed. */
void api_leases_stop(smbq_conn *c);
/* Free the table, after the I/O thread stopped. */
void api_leases_free(smbq_conn *c);

/* Drop a reference on the lease of path (on t); when that gives up
 * rights, the break callback hears of it (a local release, on the
 * worker). l may be NULL. */
/* On the I/O thread: the lease of o's file did not live through an
 * outage (reconnect.c): the caller's break callback hears of it as a
 * local break of everything (what it cached may be stale). */
struct core_open;
void api_lease_lapsed(smbq_conn *c, struct core_open *o);
void api_lease_release(smbq_tree *t, const char *path, struct core_lease *l);

/* ---- handle cache: closed files kept open while READ|HANDLE is held, so
 * that their lease (and what the caller cached under it) lives on ---- */

/* smbq_close: keep f open (its lease alive) for a while instead (true),
 * or not (false). */
bool api_cache_put(smbq_file *f);
/* Close the cached opens of path and everything below it (before a
 * delete or rename: an open handle would keep the name busy). */
void api_cache_flush(smbq_tree *t, const char *path);
/* Close the cached opens that use lease l (HANDLE was broken). */
void api_cache_flush_lease(smbq_tree *t, const struct core_lease *l);
/* Close every cached open of t (disconnect). */
void api_cache_flush_tree(smbq_tree *t);
/* Serialise closing cached handles with a tree's disconnect. */
void api_cache_lock(smbq_conn *c);
void api_cache_unlock(smbq_conn *c);

/* file.c: an smbq_file for a handle opened elsewhere (a directory's, by
 * smbq_opendir), taking over its lease reference: what the handle cache
 * keeps. The core registers it as one of the tree's opens. NULL on
 * allocation failure (the caller still owns the lease reference). */
smbq_file *api_file_adopt(smbq_tree *t, const char *path,
                          const struct smb2_create_rsp *created,
                          struct core_lease *lease);

/* file.c: send CLOSE now and free f (the handle cache's real close). */
int api_file_close_now(smbq_file *f);

#endif
