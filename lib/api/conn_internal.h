/* Steps of smbq_conn_connect(), one file each. */
#ifndef SMBQ_CONN_INTERNAL_H
#define SMBQ_CONN_INTERNAL_H

#include "api/api.h"

/* random.c: random bytes from GnuTLS's nonce-grade generator, in the
 * shape of the core's env callbacks (user unused). */
int api_random(void *user, uint8_t *buf, size_t n);

/* conn.c: a transport through the connect policy (the message set on
 * failure). */
struct smbq_transport;
int conn_open_transport(smbq_conn *c, struct smbq_transport **tp);

/* Dialects allowed by the options, ascending; returns the count. */
size_t conn_offered_dialects(const smbq_conn *c, uint16_t *out);
uint32_t conn_client_caps(const smbq_conn *c);

/* negotiate.c: NEGOTIATE; fills dialect, caps, cipher, signing, sizes.
 * Requests get the connect timeout until conn_connected(). */
int conn_negotiate(smbq_conn *c);
/* negotiate.c: the connect phase is over: the request timeout again. */
void conn_connected(smbq_conn *c);

/* session.c: SESSION_SETUP rounds (SPNEGO/NTLMSSP), key derivation. */
int conn_session_setup(smbq_conn *c);
/* session.c: the mechanisms the options and the server's hint call for,
 * from the kept credentials (at most CORE_SESS_MAX_MECHS; the caller
 * owns them). 0, or an error with the message set. */
struct auth_mech;
struct core_sess_cfg;
int conn_session_mechs(smbq_conn *c, struct auth_mech **mechs, size_t *n);
/* session.c: the session state machine's configuration (mechs handed
 * over to it). */
void conn_session_cfg(smbq_conn *c, struct auth_mech **mechs, size_t n,
                      struct core_sess_cfg *cfg);

/* reconnect.c: restore the connection when it is lost (the options'
 * reconnect timeout; nothing when 0), and notice a silent server. Called
 * once connected. */
int api_reconnect_start(smbq_conn *c);
/* reconnect.c: the connection is being freed: stop restoring it, and
 * fail what waits for that (from a caller's thread). */
void api_reconnect_stop(smbq_conn *c);
/* reconnect.c: smb2_conn's `expired` (user: the connection): renew the
 * session (core_rc_expired). */
struct smb2_sec;
bool api_session_expired(void *user, const struct smb2_sec *sec);
/* reconnect.c: outages survived so far (0 with reconnect off). A call
 * whose requests were sent again after a reconnect sees it change. */
unsigned api_reconnect_count(smbq_conn *c);
/* reconnect.c: the reconnect fields of smbq_conn_info. */
void api_reconnect_info(smbq_conn *c, struct smbq_conn_info *i);

/* tree.c: close t's kept handles and free it without TREE_DISCONNECT
 * (the connection is going: the server ends the tree with it). */
void api_tree_drop(smbq_tree *t);

/* Tell the options' event callback (if any) about ev. */
void conn_report(smbq_conn *c, enum smbq_event ev);

/* conn_policy.c: the connect policy (transport mode, QUIC switch and
 * exceptions, per-server transport cache). */
struct smbq_race_cfg;
bool conn_quic_allowed(const smbq_conn *c);
/* The transport cache file of o: its own, the default one (in buf), or
 * NULL when there is none. */
const char *api_tcache_path(const struct smbq_opts *o, char *buf,
                            size_t len);

/* Fill cfg's first transport, whether to race, and the head start (the
 * caller sets the open callback). SMBQ_ERR_POLICY, with the message set,
 * when QUIC is asked for but disabled for this server. */
int conn_policy_plan(smbq_conn *c, struct smbq_race_cfg *cfg);
/* After a successful NEGOTIATE over AUTO: remember the transport used in
 * the cache file (best effort, never an error). */
void conn_policy_remember(smbq_conn *c);

/* Names for smbq_conn_get_info(). */
const char *conn_cipher_name(uint16_t cipher);
const char *conn_signing_name(uint16_t alg);

#endif
