/* Restoring a lost connection (MS-SMB2 3.2.4.4, 3.2.5.1.9 ff.): the
 * transport went (reset, closed, or silent: smb2_conn_set_probe), the
 * connection core holds every request (smb2_conn_hold), and this state
 * machine brings the session back under them:
 *
 *   UP --lost--> WAITING (DISCONNECTED)
 *   WAITING --backoff--> a new transport (env.connect, blocking)
 *       --fails--> WAITING (RECONNECTING: attempt, cause)
 *       --up--> NEGOTIATING (the same ClientGuid and dialects)
 *   NEGOTIATING --DONE, same dialect--> SESSION (fresh tokens from the
 *       kept credentials, PreviousSessionId = the lost session's)
 *   SESSION --VALID--> TREES (each tree again; its lease entries follow
 *       its new id)
 *   TREES --done--> OPENS (durable handles reclaimed with their lease
 *       keys, read-only opens opened again, the rest LOST)
 *   OPENS --done--> UP: the held requests get the new tree and file ids,
 *       those that went out before as replays (3.x), and go
 *       (RECONNECTED: reclaimed, lost)
 *   any step failing, or the transport lost again --> WAITING
 *   WAITING past the timeout: the held requests fail and new ones are
 *       refused (LOST); the tries go on, further apart
 *
 * It also renews a session the server says expired (a Kerberos ticket's
 * end, MS-SMB2 3.2.5.1.6):
 *
 *   UP --a reply: STATUS_NETWORK_SESSION_EXPIRED--> UP, renewing (the
 *       request parked; SESSION_SETUP on the same SessionId)
 *   renewing --VALID--> the parked requests go again (RENEWED)
 *   renewing --FAILED--> they fail, SMBQ_ERR_NOSESSION (RENEW_FAILED)
 *   renewing --transport lost--> the renewal ends unreported; the parked
 *            requests wait with the others for the reconnect's new logon
 *
 * Sans-I/O but for env.connect; runs on the I/O thread (its hooks). The
 * objects it restores (negotiation, session, trees, opens, leases) are
 * the caller's; it only steps their own state machines.
 */
#ifndef CORE_RECONNECT_H
#define CORE_RECONNECT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/core_lease.h"
#include "core/core_negotiate.h"
#include "core/core_open.h"
#include "core/core_session.h"
#include "core/core_tree.h"
#include "smb2/smb2_conn.h"

enum core_rc_state {
  CORE_RC_UP = 0,
  CORE_RC_WAITING,
  CORE_RC_NEGOTIATING,
  CORE_RC_SESSION,
  CORE_RC_TREES,
  CORE_RC_OPENS,
  CORE_RC_STOPPED,           /* the connection is being freed */
};

enum core_rc_event {
  CORE_RC_DISCONNECTED,
  CORE_RC_RECONNECTING,
  CORE_RC_RECONNECTED,
  CORE_RC_LOST,
  CORE_RC_RENEWED,          /* an expired session was re-authenticated */
  CORE_RC_RENEW_FAILED,     /* it could not be: cause says why */
};

struct core_rc_env {
  /* Open a new transport and attach it to the I/O thread (blocking, at
   * most timeout_ms). 0, or an error with why filled; *encrypted: QUIC
   * (only 3.1.1 may be offered on it). */
  int (*connect)(void *user, uint32_t timeout_ms, bool *encrypted,
                 char *why, size_t len);
  /* A session setup with fresh mechanisms from the kept credentials
   * (cfg->mechs then belong to the session). 0, or an error with why. */
  int (*session_cfg)(void *user, struct core_sess_cfg *cfg, char *why,
                     size_t len);
  /* The trees to connect again, one after another (prev NULL: the
   * first); NULL after the last. */
  struct core_tree *(*next_tree)(void *user, struct core_tree *prev);
  /* The state changed (r's fields tell the rest). */
  void (*event)(void *user, enum core_rc_event ev);
  /* o's lease did not live through the outage (o was opened again by
   * name, or lost): what was cached under it may be stale. */
  void (*lapsed)(void *user, struct core_open *o);
  int (*random)(void *user, uint8_t *buf, size_t n);
  void *user;
};

struct core_rc {
  enum core_rc_state state;
  bool refused;              /* past the timeout: calls fail at once */
  unsigned attempt;          /* tries in this outage */
  unsigned reconnects;       /* outages survived */
  unsigned reclaimed, lost;  /* opens, in the last restore */
  char cause[256];           /* the loss, or the last try's failure */
  /* private */
  struct core_rc_env env;
  struct smb2_conn *conn;
  struct core_neg *neg;
  struct core_sess *sess;
  struct core_leases *leases;
  uint32_t timeout_ms;       /* 0: never (the caller does not call us) */
  uint32_t connect_ms;       /* a try's longest connect */
  uint32_t request_ms;
  uint64_t old_session_id;
  uint16_t dialect;
  int64_t lost_at_ms, next_try_ms;
  struct core_tree *tree;    /* TREES: the one being connected */
  /* What a try negotiates and connects into: the connection's own
   * objects are read by callers' threads all the while (sizes, tree
   * ids), so they only ever take finished results (core_neg_take,
   * core_tree_take), never a state machine's reset. */
  struct core_neg neg_new;
  struct core_tree tree_new;
  char server[256];
  unsigned pending;          /* OPENS: reclaims in flight */
  bool renewing;             /* an expired session's re-authentication */
  unsigned renewals;
};

/* Set r up for the connection's objects (all outlive r). timeout_ms:
 * how long calls wait; connect_ms: the connect timeout (the restoring
 * requests' too); request_ms: the request timeout again once up. */
void core_rc_init(struct core_rc *r, struct smb2_conn *conn,
                  struct core_neg *neg, struct core_sess *sess,
                  struct core_leases *leases, uint32_t timeout_ms,
                  uint32_t connect_ms, uint32_t request_ms,
                  const struct core_rc_env *env);
/* Free what r holds (before freeing r). */
void core_rc_clear(struct core_rc *r);
/* The transport is gone (the core holds the requests already): start or
 * go on restoring. why: the cause, for messages. */
void core_rc_lost(struct core_rc *r, const char *why, int64_t now_ms);
/* The connection is being freed: no more tries; what waits fails now
 * (nothing waits for a server that may never come back). */
void core_rc_stop(struct core_rc *r);
/* smb2_conn's `expired`: a reply said the session sec expired (MS-SMB2
 * 3.2.5.1.6). Starts its re-authentication (core_sess_reauth, fresh
 * tokens from env.session_cfg) unless one runs; true: the request waits
 * for it (parked), and goes again once renewed (smb2_conn_unpark), or
 * fails with SMBQ_ERR_NOSESSION (cause: why). False when no new logon
 * can even be started (cause set). A connection being restored gets a
 * new session anyway: true. */
bool core_rc_expired(struct core_rc *r, const struct smb2_sec *sec);
/* Time passes: a try when due, the timeout. Returns the next deadline
 * (ms) or -1. */
int64_t core_rc_tick(struct core_rc *r, int64_t now_ms);

#endif
