/* Internal structures of the public handles and helpers shared by the
 * lib/api files. Not installed. */
#ifndef SMBQ_API_H
#define SMBQ_API_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/core_lease.h"
#include "core/core_negotiate.h"
#include "core/core_session.h"
#include "core/core_open.h"
#include "core/core_tree.h"
#include "io/io_thread.h"
#include "smb2/smb2_conn.h"
#include "smb2/smb2_req_pool.h"
#include "transport/transport.h"
#include "smbq/smbq.h"

struct smbq_opts {
  enum smbq_transport_mode transport;
  uint16_t port;
  uint16_t quic_port;
  char *user;
  char *domain;
  char *password;
  char *resolve;
  char *ca_file;
  char *client_cert;
  char *client_key;
  bool encrypt;
  bool allow_guest;
  uint16_t dialect_min, dialect_max;
  uint32_t connect_timeout_ms;
  uint32_t request_timeout_ms;
  bool reconnect_timeout_set;  /* false: the default (60 s) */
  uint32_t reconnect_timeout_s;
  /* Connect policy (conn_policy.c): transport cache and QUIC switch */
  bool tcache_set;          /* false: the default file (environment) */
  char *tcache_path;        /* with tcache_set: NULL = cache disabled */
  bool quic_disabled;       /* smbq_opts_set_quic_enabled(o, 0) */
  char **quic_exceptions;   /* servers allowed QUIC while disabled */
  size_t n_quic_exceptions;
  /* QUIC session resumption and connection events */
  struct quic_tickets *tickets; /* shared by copies (reference counted);
                                   NULL = resumption off */
  smbq_event_fn event_cb;
  void *event_arg;
  struct api_cert_map *cert_maps; /* per-server client certificates */
  size_t n_cert_maps;
  /* Authentication (opts.c's own block; session.c) */
  enum smbq_auth auth;
  bool ntlm_forbidden;      /* smbq_opts_set_ntlm(o, 0) */
  char *ccache;             /* NULL: KRB5CCNAME / default */
  struct api_kdc_proxy *kdc_proxies;
  size_t n_kdc_proxies;
  bool kdc_proxy_only;
  int kdc_proxy_transport;  /* enum smbq_kdc_proxy_transport */
  /* Leases (lease.c) */
  bool leases_off;          /* smbq_opts_set_leases(o, 0) */
  smbq_lease_break_fn lease_cb;
  void *lease_arg;
};

struct api_kdc_proxy {
  char *realm, *url;
};

#define API_MAX_KDC_PROXIES 16

/* The authentication part of api_opts_copy / api_opts_clear. */
int api_auth_opts_copy(struct smbq_opts *dst, const struct smbq_opts *src);
void api_auth_opts_clear(struct smbq_opts *o);

struct api_cert_map {
  char *server, *cert, *key; /* key may be NULL: inside cert */
};

#define API_MAX_CERT_MAPS 64

/* The client certificate and key to present to server: its mapping, else
 * the default (smbq_opts_set_client_cert), else none (NULLs). The strings
 * belong to o. */
void api_client_cert_for(const struct smbq_opts *o, const char *server,
                         const char **cert, const char **key);

/* Deep copy / release of the option strings (password wiped). */
int api_opts_copy(struct smbq_opts *dst, const struct smbq_opts *src);
void api_opts_clear(struct smbq_opts *o);
/* The connect-policy part of the two above (opts.c, its own block). */
int api_policy_opts_copy(struct smbq_opts *dst, const struct smbq_opts *src);
void api_policy_opts_clear(struct smbq_opts *o);

/* The last failure seen by one thread on a connection: threads sharing a
 * connection each read their own (smbq_conn_errmsg). */
struct api_err_slot {
  pthread_t tid;
  uint64_t stamp;           /* for replacing the least recently used */
  uint32_t ntstatus;
  char msg[2048];
};

#define API_ERR_SLOTS 16

struct smbq_conn {
  struct smbq_opts opts;
  char server[256];
  struct smbq_io *io;
  struct smb2_req_pool *pool; /* large request buffers (WRITE), reused */
  pthread_mutex_t lock;     /* guards errmsg, ntstatus, trees */
  char errmsg[2048];         /* the connection's last failure, any thread */
  uint32_t ntstatus;
  struct api_err_slot err_slots[API_ERR_SLOTS];
  size_t n_err_slots;
  uint64_t err_stamp;
  /* set once while connecting, read-only afterwards */
  struct core_neg neg;      /* what NEGOTIATE settled (core_negotiate.c) */
  struct core_sess sess;    /* the session (core_session.c): its sec is
                               referenced by every request, its enc_sec
                               by trees with ENCRYPT_DATA */
  bool transport_encrypted;   /* QUIC: TLS protects the whole stream */
  bool session_valid;
  char auth_mech[16];
  char transport[8];
  char peer[64];
  char local[64];
  struct smbq_tls_info tls;     /* QUIC: the TLS handshake's results */
  struct smbq_tree *trees;
  /* Leases (lease.c): the table is the core's; the break worker runs the
   * caller's break callback and sends the acknowledgements. */
  struct core_leases *leases;
  struct api_breaks *breaks;
  /* Reconnect (reconnect.c): the core's machine, stepped by the I/O
   * thread's hooks; NULL when off. try_connect_ms: a try's connect
   * timeout while one runs (0: the options'). */
  struct core_rc *rc;
  uint32_t try_connect_ms;
};

struct smbq_tree {
  smbq_conn *conn;
  struct smbq_tree *next;
  struct core_tree core;    /* the share's state (core_tree.c) */
  struct smbq_file *cached; /* closed by the caller, kept open while the
                               lease keeps HANDLE caching (lease.c);
                               guarded by conn->lock */
};

struct smbq_file {
  smbq_tree *tree;
  struct core_open open;       /* the handle (core_open.c): file id, path,
                                  lease reference, CREATE reply */
  unsigned flags;              /* SMBQ_O_* it was opened with */
  /* handle cache (lease.c) */
  struct smbq_file *cache_next;
  int64_t cached_until_ms;
};

/* ---- error reporting ---------------------------------------------------- */

/* Record a failure on the connection and return rc. The message is
 * formatted from fmt; when the failure came from the server, status is its
 * NTSTATUS (named in the message), else 0. Transport failures append the
 * I/O thread's reason. */
int api_fail(smbq_conn *c, int rc, uint32_t status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The same, recorded as thread tid's failure: an async call that fails
 * on the I/O thread reports to the thread that made the call. */
int api_fail_for(smbq_conn *c, pthread_t tid, int rc, uint32_t status,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Record msg as the calling thread's (and the connection's) last failure.
 * Takes c->lock. */
void api_set_errmsg(smbq_conn *c, uint32_t status, const char *msg);

/* ---- sync calls ---------------------------------------------------------- */

/* Parse a reply on the I/O thread; returns 0 or SMBQ_ERR_*. msg is valid
 * only during the call. Called for success and warning statuses only
 * (BUFFER_OVERFLOW, NO_MORE_FILES carry data): an error status is mapped
 * to SMBQ_ERR_* in one place (elem_done) and never reaches a parser; the
 * reply's StructureSize was checked by the core already. */
typedef int (*api_parse_fn)(void *ctx, uint32_t status, const uint8_t *msg,
                            size_t len);

struct api_call {
  pthread_mutex_t m;
  pthread_cond_t cv;
  int remaining;
};

struct api_elem {
  struct api_call *call;
  api_parse_fn parse;       /* NULL: success iff the status maps to none */
  void *ctx;
  int rc;                   /* result: 0 or SMBQ_ERR_* */
  uint32_t status;          /* NTSTATUS of the reply, 0 if none */
};

/* A request for conn (session security attached) on tree (may be NULL),
 * with body room of body_cap bytes. NULL on allocation failure. */
struct smb2_req *api_req(smbq_conn *c, smbq_tree *t, uint16_t cmd,
                         size_t body_cap);

/* Attach a completion element to a request. */
void api_elem_init(struct api_elem *e, struct api_call *call,
                   struct smb2_req *r, api_parse_fn parse, void *ctx);

/* Submit a chain whose n elements were attached to call, and wait until all
 * completed. Returns 0 if submitted (look at each element's rc), or
 * SMBQ_ERR_CLOSED/SMBQ_ERR_INVAL (then nothing was sent and the chain is
 * freed). */
int api_run(smbq_conn *c, struct api_call *call, int n,
            struct smb2_req *chain);

/* A step of one of the core's state machines (negotiate, session, tree,
 * open), made from a caller's thread: start runs on the I/O thread and
 * returns 0 when the machine will finish later (its done callback then
 * calls api_core_done), or an error. Embed it first in a struct of your
 * own to carry the step's arguments. */
struct api_core_call {
  int (*start)(struct api_core_call *w, struct smb2_conn *core);
  int start_rc;
  pthread_mutex_t m;
  pthread_cond_t cv;
  bool done;
};

/* Run w->start on the I/O thread and wait until api_core_done(w). Returns
 * 0, start's error, or the connection's end (SMBQ_ERR_CLOSED, ...). Not
 * from the I/O thread. */
int api_core_run(smbq_conn *c, struct api_core_call *w);

/* From the machine's done callback (I/O thread): wake the caller. */
void api_core_done(struct api_core_call *w);

/* One request, one parse, wait: returns the element's rc. *status gets the
 * NTSTATUS when non-NULL. */
int api_call1(smbq_conn *c, struct smb2_req *r, api_parse_fn parse,
              void *ctx, uint32_t *status);


/* Status -> SMBQ_ERR_* treating the statuses that carry data as success. */
int api_status_err(uint32_t status);

#endif
