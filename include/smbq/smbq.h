/* libsmbq — SMB 3.1.1 client library.
 *
 * Handle model:
 *   smbq_opts   connection settings (transport, ports, credentials, policy)
 *   smbq_conn   one transport connection with one authenticated session
 *   smbq_tree   a connected share on a connection
 *   smbq_file   an open file or directory on a tree
 *   smbq_dir    a directory listing in progress
 *
 * Threads: a connection runs its own I/O thread. Every call below may be
 * made from any thread, concurrently; requests from all threads share the
 * connection's credits and are pipelined. Async callbacks run on the I/O
 * thread: they must not call the sync functions (those return
 * SMBQ_ERR_INVAL there) and should return quickly.
 *
 * Errors: functions return 0 (or a byte count) on success and a negative
 * SMBQ_ERR_* (smbq_err.h) on failure. smbq_conn_errmsg() then tells what
 * failed and what to do, e.g. "logon failure for user 'bob' on
 * fs1.example: wrong user name or password".
 *
 * Paths are UTF-8, relative to the share root, with '/' or '\' separators.
 */
#ifndef SMBQ_H
#define SMBQ_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "smbq_err.h"
#include "smbq_export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct smbq_opts smbq_opts;
typedef struct smbq_conn smbq_conn;
typedef struct smbq_tree smbq_tree;
typedef struct smbq_file smbq_file;
typedef struct smbq_dir smbq_dir;

/* ---- version ---------------------------------------------------------- */

SMBQ_EXPORT const char *smbq_version(void);

/* ---- options ---------------------------------------------------------- */

enum smbq_transport_mode {
  SMBQ_TRANSPORT_AUTO = 0, /* race TCP and QUIC (TCP first, QUIC after a
                              250 ms head start or at once when TCP
                              fails); see "connect policy" below */
  SMBQ_TRANSPORT_TCP = 1,
  SMBQ_TRANSPORT_QUIC = 2,
};

/* Create default options: transport auto, TCP port 445, QUIC port 443,
 * signing as the server requires (always on for 3.x sessions), no guest.
 * Returns NULL on allocation failure. Free with smbq_opts_free(), which
 * wipes the password. */
SMBQ_EXPORT smbq_opts *smbq_opts_new(void);
SMBQ_EXPORT void smbq_opts_free(smbq_opts *o);

SMBQ_EXPORT int smbq_opts_set_transport(smbq_opts *o,
                                        enum smbq_transport_mode m);
SMBQ_EXPORT int smbq_opts_set_port(smbq_opts *o, uint16_t tcp_port);
SMBQ_EXPORT int smbq_opts_set_quic_port(smbq_opts *o, uint16_t quic_port);
/* user may be "DOMAIN\\user", "user@realm" or "user"; domain may be NULL. */
SMBQ_EXPORT int smbq_opts_set_user(smbq_opts *o, const char *user,
                                   const char *domain);
/* The password is copied; the copy is wiped when the options are freed. */
SMBQ_EXPORT int smbq_opts_set_password(smbq_opts *o, const char *password);
/* Connect to addr (numeric IP) while using the server name for everything
 * else (SPN, SNI, certificate checks). NULL clears. */
SMBQ_EXPORT int smbq_opts_set_resolve(smbq_opts *o, const char *addr);
/* Trust anchors for QUIC/TLS in addition to the system store. */
SMBQ_EXPORT int smbq_opts_set_ca_file(smbq_opts *o, const char *path);
/* QUIC client certificate and key (PEM files; key NULL = inside cert),
 * presented when the server asks for one. */
SMBQ_EXPORT int smbq_opts_set_client_cert(smbq_opts *o, const char *cert,
                                          const char *key);
/* A client certificate for one server (its name as given to
 * smbq_conn_connect, case-insensitive), used instead of the default above
 * for that server: QUIC client access control maps certificates per
 * server. A later mapping for the same server replaces the earlier one.
 * Errors: SMBQ_ERR_INVAL (no server or cert, more than 64 mappings),
 * SMBQ_ERR_NOMEM. */
SMBQ_EXPORT int smbq_opts_map_client_cert(smbq_opts *o, const char *server,
                                          const char *cert,
                                          const char *key);
/* Require SMB encryption for everything on this connection (fails with
 * SMBQ_ERR_UNSUPPORTED if the server cannot encrypt). */
SMBQ_EXPORT int smbq_opts_set_encrypt(smbq_opts *o, int required);
/* Allow a guest or anonymous session. Off by default: a server that would
 * log us on as guest makes the connect fail with SMBQ_ERR_POLICY. */
SMBQ_EXPORT int smbq_opts_set_allow_guest(smbq_opts *o, int allow);
/* Restrict the dialects offered, e.g. (0x0300, 0x0311). 0 = no limit. */
SMBQ_EXPORT int smbq_opts_set_dialects(smbq_opts *o, uint16_t min,
                                       uint16_t max);
/* Connect and per-request timeouts in milliseconds (0 = default: 10 s
 * to connect, 60 s per request). */
SMBQ_EXPORT int smbq_opts_set_timeouts(smbq_opts *o, uint32_t connect_ms,
                                       uint32_t request_ms);

/* Reconnect (MS-SMB2 3.2.4.4): when the connection is lost (reset,
 * closed, or silent: requests outstanding and an ECHO unanswered), the
 * library connects again in the background through the same connect
 * policy, with the same client GUID; a new session replaces the old one
 * (PreviousSessionId), every tree is connected again, durable handles
 * are reclaimed with their leases, and the requests that were in flight
 * are sent again (changes as replays on 3.x, so the server applies them
 * once). Calls made meanwhile wait. After `seconds` without success the
 * waiting calls fail with SMBQ_ERR_CLOSED and a message naming the
 * outage and its cause, and so do new calls, while the library keeps
 * trying (a few seconds apart) and serves again once the server is
 * back. 0 turns reconnecting off: a lost connection fails every call
 * for good. Default 60 s. Opens that could not be reclaimed (no durable
 * handle, or the server lost it) fail with SMBQ_ERR_STALE. */
SMBQ_EXPORT int smbq_opts_set_reconnect_timeout(smbq_opts *o,
                                                unsigned seconds);

/* ---- authentication: Kerberos, NTLM, KDC proxy ------------------------ */

enum smbq_auth {
  SMBQ_AUTH_AUTO = 0,     /* Kerberos when credentials for it exist (see
                             below), else NTLMv2 */
  SMBQ_AUTH_KERBEROS = 1, /* Kerberos only */
  SMBQ_AUTH_NTLM = 2,     /* NTLMv2 only */
};

/* Which mechanism SESSION_SETUP uses (inside SPNEGO).
 *
 * Kerberos goes through Heimdal's GSSAPI with the service principal
 * cifs/<the server name given to smbq_conn_connect> (never an address:
 * with smbq_opts_set_resolve the name stays the name), mutual
 * authentication, and the GSS session key feeding the SMB key derivation.
 * Its credentials: the credentials cache (smbq_opts_set_ccache, else
 * KRB5CCNAME, else Heimdal's default) when it holds a valid ticket-granting
 * ticket of the user (any user when the user name is empty); else, with a
 * password, a ticket obtained from the KDC for user@REALM into a private
 * in-memory cache that is destroyed after the logon. krb5.conf
 * (KRB5_CONFIG) names the realms' KDCs.
 *
 * AUTO uses Kerberos when the server offers it, the server was named (not
 * an address), and either the cache holds a valid ticket of the user or
 * the user name carries a realm (user@REALM) and a password is set; when
 * Kerberos cannot get a ticket it falls back to NTLMv2, unless NTLM is
 * forbidden (smbq_opts_set_ntlm). KERBEROS never falls back.
 * Errors at connect (smbq_conn_errmsg says which): SMBQ_ERR_AUTH ("no
 * ticket", "expired ticket", "clock skew too great", "unknown principal",
 * wrong password), SMBQ_ERR_NET ("KDC unreachable", also through the KDC
 * proxy), SMBQ_ERR_CERT/SMBQ_ERR_TLS (the KDC proxy's certificate),
 * SMBQ_ERR_POLICY (NTLM needed but forbidden), SMBQ_ERR_INVAL (Kerberos
 * asked for with a server address). Returns SMBQ_ERR_INVAL for an
 * unknown mode. smbq_conn_info.auth then says "Kerberos" or "NTLMv2". */
SMBQ_EXPORT int smbq_opts_set_auth(smbq_opts *o, enum smbq_auth mode);

/* Policy: allowed = 0 forbids NTLM (as Windows' "Restrict NTLM"): AUTO
 * then uses Kerberos or fails with SMBQ_ERR_POLICY. On by default. */
SMBQ_EXPORT int smbq_opts_set_ntlm(smbq_opts *o, int allowed);

/* KDC proxy (MS-KKDCP) for a realm, e.g. ("CONTOSO.COM",
 * "https://fsedge1.contoso.com/KdcProxy"): the AS and TGS exchanges for
 * that realm are wrapped in KDC-PROXY-MESSAGEs and POSTed to url over
 * HTTPS or HTTP/3 (smbq_opts_set_kdc_proxy_transport; the certificate and
 * host name are checked against the system's trust anchors and
 * smbq_opts_set_ca_file's), when the realm's
 * KDCs cannot be reached, or always with smbq_opts_set_kdc_proxy_only.
 * Tickets obtained this way land in the cache that GSSAPI then uses (the
 * caller's, or the private one). A later call for the same realm replaces
 * the URL; url NULL removes it. Both strings are copied.
 * Errors: SMBQ_ERR_INVAL (no realm, a URL that is not https://, more than
 * 16 realms), SMBQ_ERR_NOMEM. */
SMBQ_EXPORT int smbq_opts_set_kdc_proxy(smbq_opts *o, const char *realm,
                                        const char *url);
/* only = 1: for realms with a KDC proxy, the proxy is the only path (the
 * KDCs are not tried). Default 0: KDCs first, the proxy when none
 * answers. */
SMBQ_EXPORT int smbq_opts_set_kdc_proxy_only(smbq_opts *o, int only);

/* How KDC proxies are reached. */
enum smbq_kdc_proxy_transport {
  /* HTTPS and HTTP/3 raced: the one that answered last for this proxy
   * (remembered in the transport cache, smbq_opts_set_transport_cache)
   * starts at once, the other after a head start of 250 ms or as soon as
   * the first fails; the first valid answer wins. An HTTPS answer's
   * Alt-Svc (h3="host:port") tells the HTTP/3 port; else HTTP/3 goes to
   * the URL's port on UDP. The default. */
  SMBQ_KDC_PROXY_AUTO = 0,
  SMBQ_KDC_PROXY_HTTPS = 1, /* HTTPS over TCP only (libcurl) */
  /* HTTP/3 over QUIC only (UDP; ALPN h3; the certificate rules of SMB
   * over QUIC); the AS and TGS exchanges of a logon share one QUIC
   * connection, and later logons resume its TLS session */
  SMBQ_KDC_PROXY_H3 = 2,
};
/* Errors: SMBQ_ERR_INVAL (not one of the values above). */
SMBQ_EXPORT int smbq_opts_set_kdc_proxy_transport(
    smbq_opts *o, enum smbq_kdc_proxy_transport t);

/* Check the KDC proxies of o over t (HTTPS or H3; AUTO races both as a
 * logon would): for each, an AS-REQ for a principal nobody has goes
 * through the proxy, and any answer of the realm's KDC proves the path
 * (transport, certificate, proxy, KDC). Nothing is remembered. cb runs
 * once per proxy, in order, on the calling thread, with 0 or a negative
 * smbq_err and a message (valid during the call). Blocks up to 10 s per
 * proxy. Returns the number of proxies checked, or SMBQ_ERR_INVAL. */
typedef void (*smbq_kdc_proxy_check_cb)(void *arg, const char *realm,
                                        const char *url, int rc,
                                        const char *msg);
SMBQ_EXPORT int smbq_opts_check_kdc_proxies(const smbq_opts *o,
                                            enum smbq_kdc_proxy_transport t,
                                            smbq_kdc_proxy_check_cb cb,
                                            void *arg);

/* The Kerberos credentials cache to use ("FILE:/tmp/krb5cc_1000",
 * "MEMORY:x", ...) instead of KRB5CCNAME / the default; copied; NULL
 * restores the default. */
SMBQ_EXPORT int smbq_opts_set_ccache(smbq_opts *o, const char *name);

/* 1 if the options' credentials cache holds a ticket-granting ticket, valid
 * for at least another minute, of the options' user (of anyone when the
 * user is not set or empty), else 0 with the reason in why (when not NULL;
 * "the Kerberos ticket of alice@R ... expired at ..."). Contacts no KDC.
 * Frontends use it to skip asking for a password. */
SMBQ_EXPORT int smbq_opts_have_kerberos_ticket(const smbq_opts *o,
                                               char *why, size_t len);

/* ---- connect policy: transport racing, cache, QUIC switch ------------ */

/* SMBQ_TRANSPORT_AUTO races the two transports in the manner of RFC 8305:
 * the preferred one starts first; if it has not connected after 250 ms the
 * other starts alongside (at once if the first fails), and the first to
 * connect (TCP connect, or QUIC handshake including the certificate
 * checks) is used; the other attempt is dropped. When both fail,
 * smbq_conn_connect returns the more telling error (a certificate or TLS
 * failure over QUIC beats a TCP timeout) and smbq_conn_errmsg names both
 * causes ("...; then over QUIC: ..."). Each attempt has the full connect
 * timeout of smbq_opts_set_timeouts. */

/* Per-server transport cache for AUTO: after a successful NEGOTIATE over
 * AUTO, the transport used is remembered for the server name (case
 * insensitive) with the TCP and QUIC ports, and the next AUTO connect to
 * them starts with that transport (QUIC first, TCP after the head start).
 * The cache is a text file of at most 256 entries (least recently used
 * dropped), rewritten atomically; unreadable or garbled content is
 * ignored, and failing to write it never fails a connect.
 * Default: $XDG_CACHE_HOME/smbq/transports, else
 * $HOME/.cache/smbq/transports. path is copied; NULL disables the cache
 * (neither read nor written). Only AUTO reads or writes it.
 * Errors: SMBQ_ERR_INVAL (empty path), SMBQ_ERR_NOMEM. */
SMBQ_EXPORT int smbq_opts_set_transport_cache(smbq_opts *o,
                                              const char *path);

/* Policy switch for SMB over QUIC (as Windows' EnableSMBQUIC), on by
 * default. With 0, AUTO uses TCP only and SMBQ_TRANSPORT_QUIC makes
 * smbq_conn_connect fail at once with SMBQ_ERR_POLICY (the message names
 * the policy and how to change it), except for servers on the exception
 * list below. */
SMBQ_EXPORT int smbq_opts_set_quic_enabled(smbq_opts *o, int enabled);

/* Add a server that may still use QUIC while QUIC is disabled (as
 * Windows' DisabledSMBQUICServerExceptionList). Matched against the name
 * given to smbq_conn_connect, case-insensitively. The name is copied; may
 * be called repeatedly. Errors: SMBQ_ERR_INVAL (NULL or empty),
 * SMBQ_ERR_NOMEM. */
SMBQ_EXPORT int smbq_opts_add_quic_exception(smbq_opts *o,
                                             const char *server);

/* ---- QUIC session resumption and connection events ----------------- */

/* TLS session resumption over QUIC, on by default: connections made from
 * these options (and from copies of them, such as the one every smbq_conn
 * keeps) store the session tickets their servers send, in memory, per
 * server name, port and client certificate. The next connection to that
 * server resumes the TLS session (RFC 8446 2.2) instead of a full
 * handshake with certificate exchange. A ticket is used once, and tickets
 * older than an hour are not offered. 0 turns it off for these options
 * and forgets their tickets. Errors: SMBQ_ERR_NOMEM. */
SMBQ_EXPORT int smbq_opts_set_tls_resumption(smbq_opts *o, int enabled);

enum smbq_event {
  SMBQ_EVENT_CONNECTED = 1, /* negotiated and authenticated (the
                               counterpart of Windows' SMBClient event
                               30832) */
  SMBQ_EVENT_MIGRATED = 2,  /* smbq_conn_migrate moved the connection */
  /* Reconnect (smbq_opts_set_reconnect_timeout). These come from the
   * library's I/O thread: the callback must not call libsmbq on this
   * connection other than smbq_conn_get_info. */
  SMBQ_EVENT_DISCONNECTED = 3, /* the connection was lost: info->cause */
  SMBQ_EVENT_RECONNECTING = 4, /* a try failed, another follows:
                                  info->attempt, info->cause */
  SMBQ_EVENT_RECONNECTED = 5,  /* serving again: info->reclaimed,
                                  info->lost (opens) */
  SMBQ_EVENT_LOST = 6,         /* the reconnect timeout passed: waiting
                                  calls failed; tries go on */
};

struct smbq_conn_info;
/* Called in the thread that made the call (smbq_conn_connect,
 * smbq_conn_migrate), with what the connection uses; info is valid during
 * the call only. Must not free the connection. */
typedef void (*smbq_event_fn)(void *arg, enum smbq_event ev,
                              const struct smbq_conn_info *info);
/* Report connection events to cb (NULL = none). */
SMBQ_EXPORT int smbq_opts_set_event_cb(smbq_opts *o, smbq_event_fn cb,
                                       void *arg);

/* ---- connection ------------------------------------------------------- */

/* Allocate a connection handle (not yet connected). Returns NULL on
 * allocation failure. The options are copied. */
SMBQ_EXPORT smbq_conn *smbq_conn_new(const smbq_opts *o);

/* Connect to `server` (a host name or address; the name is also used for
 * the SPN and TLS), negotiate and authenticate. Sync.
 * Errors: SMBQ_ERR_NET / SMBQ_ERR_TIMEOUT (unreachable), SMBQ_ERR_CERT /
 * SMBQ_ERR_TLS (QUIC certificate or handshake), SMBQ_ERR_AUTH
 * (wrong credentials), SMBQ_ERR_POLICY (guest refused, or QUIC asked for
 * while disabled by smbq_opts_set_quic_enabled),
 * SMBQ_ERR_UNSUPPORTED (no common dialect/cipher), SMBQ_ERR_PROTO,
 * SMBQ_ERR_SIGNATURE. */
SMBQ_EXPORT int smbq_conn_connect(smbq_conn *c, const char *server);

/* Disconnect and free (also valid on a failed connection). Handles the
 * library keeps open for reuse (see leases) are closed first; the trees
 * and the session then end with the connection, as Windows ends them:
 * no TREE_DISCONNECT or LOGOFF round trips (the server cleans both up
 * when the transport closes). Close your own files before. */
SMBQ_EXPORT void smbq_conn_free(smbq_conn *c);

/* The message for the most recent failure on this connection in the
 * calling thread (threads sharing a connection each get their own; a
 * thread that saw none gets the connection's last one; an async read or
 * write that failed counts as a failure of the thread that started it),
 * copied into buf (always NUL-terminated). Returns buf. */
SMBQ_EXPORT const char *smbq_conn_errmsg(smbq_conn *c, char *buf,
                                         size_t len);

/* The NTSTATUS of the calling thread's most recent failure (as for
 * smbq_conn_errmsg) if it came from the server, else 0. */
SMBQ_EXPORT uint32_t smbq_conn_ntstatus(smbq_conn *c);

struct smbq_conn_info {
  char server[256];
  char peer[64];          /* address:port actually connected */
  char local[64];         /* our address:port (QUIC: changes when the
                             connection migrates) */
  char transport[8];      /* "tcp" or "quic" */
  char dialect[8];        /* "3.1.1", "3.0.2", "3.0", "2.1", "2.0.2" */
  char signing[16];       /* "AES-128-GMAC", "AES-128-CMAC",
                             "HMAC-SHA256", "none" */
  char encryption[16];    /* session-wide encryption: "AES-128-GCM", ...,
                             "none" (a share may still require it: see
                             smbq_tree_encrypted) */
  char cipher[16];        /* negotiated cipher, "none" if the server
                             offers no encryption */
  char auth[16];          /* "Kerberos", "NTLMv2" or "guest" */
  uint32_t max_read, max_write, max_transact;
  int signing_required;   /* the server requires signing */
  int transport_security; /* the server accepted transport-level security
                             over QUIC (MS-SMB2 2.2.3.1.5): no SMB signing
                             or encryption on top of TLS */
  /* QUIC only (empty strings and 0 over TCP): */
  char tls_version[16];   /* "TLS1.3" */
  char tls_cipher[64];    /* "TLS_AES_128_GCM_SHA256" */
  char alpn[16];          /* "smb" */
  char cert_subject[256]; /* the server certificate's subject DN */
  char cert_issuer[256];
  char cert_sha256[96];   /* "AB:CD:..." (what client access control and
                             certificate mappings are keyed on) */
  int64_t cert_not_after; /* the certificate's end of validity (seconds
                             since the epoch): renewals change the
                             SHA-256 and break mappings to it */
  int tls_resumed;        /* a session ticket spared the full handshake */
  uint32_t handshake_us;  /* QUIC handshake time */
  /* Reconnect (with the SMBQ_EVENT_DISCONNECTED..LOST events, and for
   * smbq_conn_get_info while one is under way): */
  int reconnecting;       /* the connection is lost and being restored */
  char cause[256];        /* why it was lost, or why the last try failed */
  unsigned attempt;       /* tries so far in this outage */
  unsigned reconnects;    /* outages survived since connecting */
  unsigned reclaimed;     /* RECONNECTED: opens reclaimed, */
  unsigned lost;          /* and opens that could not be */
};

SMBQ_EXPORT int smbq_conn_get_info(smbq_conn *c, struct smbq_conn_info *i);

/* Move a QUIC connection to a new local UDP socket (a new source port),
 * as after a change of the client's address: QUIC connection migration
 * (RFC 9000 9.2). Requests in flight carry on; an SMBQ_EVENT_MIGRATED
 * event follows. Sync: not from an async callback.
 * Errors: SMBQ_ERR_UNSUPPORTED (TCP, or the server issued no spare
 * connection ID), SMBQ_ERR_NET, SMBQ_ERR_CLOSED. */
SMBQ_EXPORT int smbq_conn_migrate(smbq_conn *c);

/* Send an ECHO and wait for the reply (a liveness check). */
SMBQ_EXPORT int smbq_echo(smbq_conn *c);

/* ---- trees ------------------------------------------------------------ */

/* Connect to a share. The tree belongs to the connection; free it with
 * smbq_tree_disconnect() before smbq_conn_free() (or let conn_free do it).
 * Errors: SMBQ_ERR_NOENT (no such share), SMBQ_ERR_ACCESS. */
SMBQ_EXPORT int smbq_tree_connect(smbq_conn *c, const char *share,
                                  smbq_tree **out);
SMBQ_EXPORT int smbq_tree_disconnect(smbq_tree *t);
/* Whether this share's traffic is encrypted (share or session policy). */
SMBQ_EXPORT int smbq_tree_encrypted(const smbq_tree *t);

/* ---- metadata --------------------------------------------------------- */

enum smbq_type { SMBQ_TYPE_FILE = 0, SMBQ_TYPE_DIR = 1 };

struct smbq_stat {
  enum smbq_type type;
  uint64_t size;          /* end of file */
  uint64_t alloc_size;
  uint32_t attributes;    /* FILE_ATTRIBUTE_* */
  uint64_t file_id;       /* server's index number, 0 if unknown */
  struct timespec atime, mtime, ctime, btime;
};

/* Attribute bits callers commonly test (MS-FSCC 2.6). */
#define SMBQ_ATTR_READONLY 0x0001u
#define SMBQ_ATTR_HIDDEN 0x0002u
#define SMBQ_ATTR_SYSTEM 0x0004u
#define SMBQ_ATTR_DIRECTORY 0x0010u
#define SMBQ_ATTR_ARCHIVE 0x0020u
#define SMBQ_ATTR_NORMAL 0x0080u

/* Stat a path in one round trip (CREATE + QUERY_INFO + CLOSE compounded). */
SMBQ_EXPORT int smbq_stat(smbq_tree *t, const char *path,
                          struct smbq_stat *st);

struct smbq_statvfs {
  uint64_t block_size;
  uint64_t total_blocks;
  uint64_t free_blocks;   /* available to the caller */
};
SMBQ_EXPORT int smbq_statvfs(smbq_tree *t, struct smbq_statvfs *sv);

SMBQ_EXPORT int smbq_mkdir(smbq_tree *t, const char *path);
/* The same, and the new directory's attributes in *st, in the same round
 * trip (CREATE + QUERY_INFO + CLOSE compounded). Errors: SMBQ_ERR_EXISTS,
 * SMBQ_ERR_NOENT (no parent), SMBQ_ERR_ACCESS. */
SMBQ_EXPORT int smbq_mkdir_stat(smbq_tree *t, const char *path,
                                struct smbq_stat *st);
/* Errors: SMBQ_ERR_NOTEMPTY, SMBQ_ERR_NOTDIR, SMBQ_ERR_NOENT. */
SMBQ_EXPORT int smbq_rmdir(smbq_tree *t, const char *path);
/* Errors: SMBQ_ERR_ISDIR, SMBQ_ERR_NOENT, SMBQ_ERR_BUSY. */
SMBQ_EXPORT int smbq_unlink(smbq_tree *t, const char *path);

#define SMBQ_RENAME_NOREPLACE 0x1u
/* Rename within the share; replaces an existing target unless
 * SMBQ_RENAME_NOREPLACE (then SMBQ_ERR_EXISTS). */
SMBQ_EXPORT int smbq_rename(smbq_tree *t, const char *from, const char *to,
                            unsigned flags);

/* Set times (NULL = leave unchanged) on a path. */
SMBQ_EXPORT int smbq_set_times(smbq_tree *t, const char *path,
                               const struct timespec *atime,
                               const struct timespec *mtime);
/* Replace the attribute bits (e.g. SMBQ_ATTR_READONLY). */
SMBQ_EXPORT int smbq_set_attributes(smbq_tree *t, const char *path,
                                    uint32_t attributes);

/* ---- directories ------------------------------------------------------ */

struct smbq_dirent {
  char name[1024];        /* UTF-8 */
  struct smbq_stat st;
};

/* List a directory. Entries "." and ".." are skipped. Listing is
 * streamed: each QUERY_DIRECTORY fetches up to 64 KiB of entries. */
SMBQ_EXPORT int smbq_opendir(smbq_tree *t, const char *path, smbq_dir **out);
/* 1 = an entry was stored, 0 = end, <0 = error. */
SMBQ_EXPORT int smbq_readdir(smbq_dir *d, struct smbq_dirent *e);
/* Close the listing. Where the server leases directories (SMB 3.x with
 * SMB2_GLOBAL_CAP_DIRECTORY_LEASING: Windows Server, not Samba 4.17) the
 * directory's handle, and with it its lease, is kept for a few seconds
 * like a file's (see leases). */
SMBQ_EXPORT void smbq_closedir(smbq_dir *d);

/* The caching rights held for the listed directory: with a directory
 * lease (READ|HANDLE), the listing and the attributes in it stay valid
 * until the lease break callback says otherwise (is_dir set, the
 * directory's path); 0 without one. */
SMBQ_EXPORT unsigned smbq_dir_cache(const smbq_dir *d);
/* The listed directory's own attributes, as the listing's open returned
 * them (no round trip). Errors: SMBQ_ERR_INVAL. */
SMBQ_EXPORT int smbq_dir_stat(const smbq_dir *d, struct smbq_stat *st);

/* ---- files ------------------------------------------------------------ */

#define SMBQ_O_RDONLY 0x0u
#define SMBQ_O_WRONLY 0x1u
#define SMBQ_O_RDWR 0x2u
#define SMBQ_O_CREAT 0x40u
#define SMBQ_O_EXCL 0x80u
#define SMBQ_O_TRUNC 0x200u

/* Open a file (never a directory). Errors: SMBQ_ERR_NOENT, SMBQ_ERR_ISDIR,
 * SMBQ_ERR_EXISTS (O_EXCL), SMBQ_ERR_ACCESS, SMBQ_ERR_BUSY. */
SMBQ_EXPORT int smbq_open(smbq_tree *t, const char *path, unsigned flags,
                          smbq_file **out);

/* Read up to len bytes at off. Large reads are split into many READ
 * requests in flight at once: up to 16 of 1 MiB (or the server's smaller
 * maximum), each next one sent as an earlier one completes, so a call of
 * any size holds a bounded amount of the library's memory. Returns bytes
 * read (0 at end of file) or a negative error. */
SMBQ_EXPORT ssize_t smbq_pread(smbq_file *f, void *buf, size_t len,
                               uint64_t off);
/* Write len bytes at off; returns len only after the server acknowledged
 * every byte, else a negative error. Pipelined like smbq_pread: the
 * library copies at most the requests in flight (16 MiB), never the whole
 * buffer. */
SMBQ_EXPORT ssize_t smbq_pwrite(smbq_file *f, const void *buf, size_t len,
                                uint64_t off);

/* Async variants. cb(arg, result) runs on the I/O thread once, with the
 * byte count or a negative error. buf must stay valid until then. */
typedef void (*smbq_io_cb)(void *arg, ssize_t result);
SMBQ_EXPORT int smbq_pread_async(smbq_file *f, void *buf, size_t len,
                                 uint64_t off, smbq_io_cb cb, void *arg);
SMBQ_EXPORT int smbq_pwrite_async(smbq_file *f, const void *buf, size_t len,
                                  uint64_t off, smbq_io_cb cb, void *arg);

SMBQ_EXPORT int smbq_fstat(smbq_file *f, struct smbq_stat *st);
SMBQ_EXPORT int smbq_ftruncate(smbq_file *f, uint64_t size);
/* Set times (NULL = leave unchanged) through an open handle: one round
 * trip, no open of its own. The handle needs write access (opened with
 * SMBQ_O_WRONLY or SMBQ_O_RDWR). A time set this way stays: the server
 * no longer moves it on this handle's later writes (MS-FSA 2.1.5.14.2). */
SMBQ_EXPORT int smbq_fset_times(smbq_file *f, const struct timespec *atime,
                                const struct timespec *mtime);
SMBQ_EXPORT int smbq_fflush(smbq_file *f);
/* Close and free the handle (also on error). */
SMBQ_EXPORT int smbq_close(smbq_file *f);
/* smbq_close that also tells the file's attributes after the close (st
 * may be NULL), without a round trip of its own: the CLOSE asks for them
 * (SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB). A handle the library keeps open for
 * reuse (see "leases") sends no CLOSE: st then has what the handle knows
 * (its size follows our writes and truncates; write and change times
 * that our writes made unknown are 0). st->file_id is 0 unless an
 * smbq_fstat of the handle learnt it. Errors: as smbq_close (the handle
 * is freed either way; st is filled only on success). */
SMBQ_EXPORT int smbq_close_stat(smbq_file *f, struct smbq_stat *st);

/* Largest single READ/WRITE the server accepts (for callers that size
 * their own buffers). */
SMBQ_EXPORT size_t smbq_file_io_size(const smbq_file *f);

/* ---- leases: what a client may cache ---------------------------------- */

/* Caching rights (MS-SMB2 2.2.13.2.8 lease states). An oplock maps onto
 * them (3.2.5.19.1): batch = READ|WRITE|HANDLE, exclusive = READ|WRITE,
 * level II = READ.
 *  READ    the file's data and attributes cannot change behind our back:
 *          cached data and attributes stay valid;
 *  WRITE   nobody else has the file open: writes may be held back
 *          (written later, on close, flush or a break);
 *  HANDLE  the file cannot be deleted or renamed by others: a closed
 *          handle may be kept open for reuse. */
#define SMBQ_CACHE_READ 0x1u
#define SMBQ_CACHE_HANDLE 0x2u
#define SMBQ_CACHE_WRITE 0x4u

/* Leasing, on by default. Where the server offers SMB2_GLOBAL_CAP_LEASING,
 * every open asks for READ|HANDLE|WRITE (READ|HANDLE for directories)
 * with a lease — V2 with epoch and parent key on SMB 3.x, V1 on 2.1 — and
 * a batch oplock on 2.0.2. All opens of one file from one connection share
 * one lease key, so they never break each other. enabled = 0 asks for
 * nothing (every operation then goes to the server). */
SMBQ_EXPORT int smbq_opts_set_leases(smbq_opts *o, int enabled);

struct smbq_lease_break {
  smbq_tree *tree;        /* the share the file is on */
  const char *path;       /* share-relative path of the file's most recent
                             open, '/'-separated, UTF-8 */
  unsigned old_state;     /* SMBQ_CACHE_* held until now */
  unsigned new_state;     /* what the server leaves us (often 0 or READ) */
  int is_dir;             /* a directory lease */
  int local;              /* not the server's doing: the library gave the
                             rights up itself (the file's last handle was
                             closed, a kept handle expired); nothing is
                             acknowledged. What was cached under the lease
                             must be dropped all the same: nothing told us
                             about changes since. */
};

/* Called when the server breaks a lease or oplock of this connection
 * (and when the library gives one up, see .local), on a thread of the connection's own (never the I/O thread), one break at
 * a time, so it may make sync calls: write held-back data (smbq_pwrite on
 * any handle of the file, which still works), drop cached data and
 * attributes. The acknowledgement is sent when it returns (MS-SMB2
 * 3.2.5.19.2): return within the server's break timeout (35 s on Windows
 * and Samba). Handles kept open for reuse lose that status first when
 * HANDLE goes. Pointers in *b are valid during the call only. Without a
 * callback the library acknowledges at once. */
typedef void (*smbq_lease_break_fn)(void *arg,
                                    const struct smbq_lease_break *b);
SMBQ_EXPORT int smbq_opts_set_lease_break_cb(smbq_opts *o,
                                             smbq_lease_break_fn cb,
                                             void *arg);

struct smbq_file_info {
  unsigned cache;         /* SMBQ_CACHE_* now held for the file (changes
                             when the server breaks the lease) */
  int lease_version;      /* 2 or 1 for a lease, 0 otherwise */
  uint8_t oplock_level;   /* the CREATE reply's OplockLevel: 0 none,
                             1 level II, 8 exclusive, 9 batch, 0xFF lease */
  int created;            /* this open created the file */
  int durable;            /* a durable handle was granted: 2 (DH2Q, SMB
                             3.x), 1 (DHnQ), 0 none. Asked for on every
                             open that gets HANDLE caching (a handle lease
                             or a batch oplock); servers grant it only then
                             (Samba also needs "posix locking = no") */
  int persistent;         /* the durable handle is persistent (a
                             continuously available share) */
  uint32_t durable_timeout_ms; /* how long the server keeps it for a
                             reconnect (v2; 0: the server's default) */
  struct smbq_stat st;    /* attributes without an extra round trip: the
                             CREATE reply's, kept current by this
                             handle's writes, truncates and smbq_fstat
                             (also when a kept handle is reused); write
                             and change times our writes made unknown
                             are 0 until an smbq_fstat */
};

/* What an open holds, without a round trip. Errors: SMBQ_ERR_INVAL. */
SMBQ_EXPORT int smbq_file_get_info(smbq_file *f, struct smbq_file_info *i);

/* ---- small files in one round trip ------------------------------------ */

/* Which members of struct smbq_put_attrs to set. */
#define SMBQ_PUT_ATIME 0x1u
#define SMBQ_PUT_MTIME 0x2u
#define SMBQ_PUT_ATTRIBUTES 0x4u

struct smbq_put_attrs {
  unsigned set;           /* SMBQ_PUT_* */
  struct timespec atime;  /* last access */
  struct timespec mtime;  /* last write (modification) */
  uint32_t attributes;    /* SMBQ_ATTR_* replacing the file's (0: NORMAL,
                             none); e.g. SMBQ_ATTR_READONLY, which the
                             writing handle itself still ignores */
};

/* With SMBQ_O_* in smbq_put_small's flags: the server writes the data to
 * stable storage before it answers (an SMB2 FLUSH in the compound). */
#define SMBQ_PUT_SYNC 0x10000u

/* The most bytes smbq_put_small takes: one WRITE of the connection
 * (the server's MaxWriteSize, at most 1 MiB). 0 for NULL. */
SMBQ_EXPORT size_t smbq_put_small_max(const smbq_tree *t);

/* Write a whole small file in one round trip: CREATE, WRITE (none for
 * len 0), SET_INFO of the times and attributes in attrs (none for NULL or
 * attrs->set 0), QUERY_INFO of the file id, and CLOSE asking for the
 * attributes after it, as one related compound (MS-SMB2 3.2.4.1.4).
 * flags: SMBQ_O_CREAT, SMBQ_O_EXCL, SMBQ_O_TRUNC as for smbq_open (the
 * data goes at offset 0: without SMBQ_O_TRUNC an existing longer file
 * keeps its tail), and SMBQ_PUT_SYNC. The times in attrs are set after the
 * data is written, so they stay. The CREATE carries this connection's
 * lease key of the file when one of our opens holds a lease on it, so the
 * call never breaks our own lease.
 *
 * Returns 0 once the server acknowledged every byte and the close; then
 * *st_out (if not NULL) has the attributes from the CLOSE reply and the
 * file id. Sync: not from an async callback.
 * Errors: SMBQ_ERR_INVAL (NULL t or path, data NULL with len > 0, len over
 * smbq_put_small_max, other flags, from a callback), SMBQ_ERR_EXISTS
 * (SMBQ_O_EXCL and the name exists), SMBQ_ERR_NOENT (no SMBQ_O_CREAT and
 * no such file, or a missing directory on the path), SMBQ_ERR_ISDIR,
 * SMBQ_ERR_ACCESS, SMBQ_ERR_BUSY, SMBQ_ERR_NOSPACE (disk full or quota,
 * also a short write), SMBQ_ERR_NOMEM, and the transport errors of any
 * call (SMBQ_ERR_CLOSED, SMBQ_ERR_TIMEOUT, ...). A failure after the
 * CREATE (a WRITE, SET_INFO or FLUSH refused) leaves the file created or
 * truncated by it with what the server kept of the data: the CLOSE is
 * still sent (it is in the compound); smbq_conn_errmsg names the step. */
SMBQ_EXPORT int smbq_put_small(smbq_tree *t, const char *path,
                               unsigned flags, const void *data, size_t len,
                               const struct smbq_put_attrs *attrs,
                               struct smbq_stat *st_out);

/* ---- counters ------------------------------------------------------------ */

/* What a connection sent and received since it was made: round trips are
 * counted, not guessed. A compound (CREATE+QUERY_INFO+CLOSE) is one round
 * trip with three requests. */
struct smbq_stats {
  uint64_t requests;      /* SMB2 requests sent */
  uint64_t round_trips;   /* frames sent: a lone request or one compound */
  uint64_t bytes_sent;    /* bytes handed to the transport (SMB frames) */
  uint64_t bytes_received;
  uint64_t breaks;        /* lease and oplock breaks received */
  /* Data of file reads (smbq_pread and the like): bytes received
   * straight into the caller's buffer, and bytes copied there from the
   * library's receive buffer. copied / (placed + copied) is the copies
   * per byte read. */
  uint64_t read_bytes_placed;
  uint64_t read_bytes_copied;
};

/* Copy the counters. Errors: SMBQ_ERR_INVAL (not connected). */
SMBQ_EXPORT int smbq_conn_get_stats(smbq_conn *c, struct smbq_stats *s);

/* ---- shares ------------------------------------------------------------ */

/* The base type of a share (MS-SRVS 2.2.2.4, shi1_type & STYPE_MASK). */
enum smbq_share_type {
  SMBQ_SHARE_DISK = 0,    /* STYPE_DISKTREE: a file share */
  SMBQ_SHARE_PRINTER = 1, /* STYPE_PRINTQ: a print queue */
  SMBQ_SHARE_DEVICE = 2,  /* STYPE_DEVICE: a communication device */
  SMBQ_SHARE_IPC = 3,     /* STYPE_IPC: interprocess communication (IPC$) */
  SMBQ_SHARE_OTHER = 4,   /* a base type not listed above: see raw_type */
};

struct smbq_share_info {
  char *name;             /* UTF-8, never empty */
  char *comment;          /* UTF-8, "" when the server has none */
  enum smbq_share_type type;
  int hidden;             /* the name ends in '$' (Windows' browsing does
                             not show these) */
  int special;            /* STYPE_SPECIAL: IPC$, ADMIN$, C$, ...; Samba
                             sets it on every share ending in '$' */
  int temporary;          /* STYPE_TEMPORARY */
  uint32_t raw_type;      /* shi1_type as the server sent it */
};

/* List the server's shares, as `net view \\server` does: srvsvc
 * NetrShareEnum (MS-SRVS 3.1.4.8, information level 1) over DCE/RPC on
 * the named pipe \PIPE\srvsvc of the IPC$ share. The IPC$ tree and the
 * pipe are opened and closed by the call; the connection stays usable.
 * Sync: not from an async callback.
 *
 * On success *out is an array of *count entries in the server's order
 * (*out is NULL when there are none); free it with
 * smbq_share_enum_free(*out, *count). On failure *out is NULL, *count 0
 * and smbq_conn_errmsg() says what failed.
 * Errors: SMBQ_ERR_INVAL (NULL arguments, not connected, called from a
 * callback), SMBQ_ERR_ACCESS (IPC$, the pipe or the listing refused to
 * this user), SMBQ_ERR_NOENT (the server has no IPC$ or srvsvc pipe),
 * SMBQ_ERR_UNSUPPORTED (the server refused the RPC binding or the
 * operation), SMBQ_ERR_STATUS (an RPC fault or another error code from
 * the server; the message names it), SMBQ_ERR_PROTO (a malformed reply,
 * including more than 65536 shares or a listing over 4 MiB),
 * SMBQ_ERR_NOMEM, and the transport errors of any call (SMBQ_ERR_CLOSED,
 * SMBQ_ERR_TIMEOUT, ...). */
SMBQ_EXPORT int smbq_share_enum(smbq_conn *c, struct smbq_share_info **out,
                                size_t *count);

/* Free what smbq_share_enum returned (NULL is fine). */
SMBQ_EXPORT void smbq_share_enum_free(struct smbq_share_info *shares,
                                      size_t count);

#ifdef __cplusplus
}
#endif

#endif
