/* quic_server: the QUIC server core of the test servers (quic_front.c, the
 * SMB over QUIC front of smbd, and h3_kdcproxy.c, the HTTP/3 KDC proxy).
 *
 * It holds everything about QUIC (RFC 9000, RFC 9001) that is not the
 * application's: the UDP socket (recvmmsg with GRO in, GSO batches out,
 * paced by ngtcp2), the connection table with every connection ID routed
 * through a hash table (RFC 9000 5.1), TLS 1.3 with ALPN chosen from the
 * program's list and session tickets, client certificates, ngtcp2's
 * callbacks, timers, Version Negotiation (RFC 9000 6), migration (RFC 9000
 * 9), CONNECTION_CLOSE (RFC 9000 10.2), Stateless Reset of forgotten
 * connections (RFC 9000 10.3), the port file and SIGTERM/SIGINT. It never
 * interprets stream data.
 *
 * Stream data flows as on the client side (lib/transport/quic_conn.h), in
 * the nghttp3 manner: when packets are written the application is pulled
 * for the next bytes of one stream and told how many ngtcp2 took
 * (consumed); those bytes stay valid and unchanged until acknowledged
 * (acked). Received bytes are pushed in order (recv); the application
 * gives the flow-control credit back with qsrv_conn_consume once it used
 * them.
 *
 * One thread; callbacks run inside qsrv_run. They may call the qsrv_conn_*
 * functions on their own connection, never qsrv_free. A callback returning
 * -1 fails the connection (after qsrv_conn_close_app, with that error;
 * else with a transport error).
 */
#ifndef SMBQ_TEST_QUIC_SERVER_H
#define SMBQ_TEST_QUIC_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct qsrv;
struct qsrv_conn;

/* Bytes of one stream offered to ngtcp2 (borrowed from the application). */
struct qsrv_vec {
  const uint8_t *base;
  size_t len;
};

/* The application. `app` is qsrv_cfg.app; `cu` is what accept returned
 * for the connection. Every callback but accept may be NULL. */
struct qsrv_app {
  /* A client Initial starts connection c: return its state (owned by the
   * application until gone), or NULL to refuse it. */
  void *(*accept)(void *app, struct qsrv_conn *c);
  /* Handshake done, ALPN agreed: open the server's streams now. */
  int (*established)(void *cu);
  /* The client opened a stream (RFC 9000 2.1). */
  int (*stream_open)(void *cu, int64_t sid);
  /* In-order stream data (len may be 0 with fin); valid during the call. */
  int (*recv)(void *cu, int64_t sid, const uint8_t *data, size_t len,
              bool fin);
  /* The client acknowledged these bytes: they may be released. */
  int (*acked)(void *cu, int64_t sid, uint64_t offset, uint64_t len);
  /* RESET_STREAM (RFC 9000 19.4) or STOP_SENDING (19.5) from the client. */
  int (*reset)(void *cu, int64_t sid, uint64_t app_error);
  /* The stream is closed; app_error is 0 unless the close carried one
   * (has_error). */
  int (*closed)(void *cu, int64_t sid, uint64_t app_error, bool has_error);
  /* The next data of ONE stream: set *sid (-1: nothing to send), *fin
   * (the data ends the stream), fill at most n vecs; returns the vec count
   * or -1. Asked only while the connection has flow-control credit. */
  long (*pull)(void *cu, int64_t *sid, bool *fin, struct qsrv_vec *v,
               size_t n);
  /* ngtcp2 took len bytes (from the start) of what pull offered, and the
   * FIN with them when fin. */
  int (*consumed)(void *cu, int64_t sid, size_t len, bool fin);
  /* Flow control holds the stream back (shut: the client stopped it): do
   * not offer it until unblocked. Without this hook the stream is offered
   * again at the next packet (fine for one stream). */
  int (*blocked)(void *cu, int64_t sid, bool shut);
  /* The client raised the stream's window (MAX_STREAM_DATA). */
  int (*unblocked)(void *cu, int64_t sid);
  /* The client may open streams up to max (bidirectional). */
  void (*max_streams_bidi)(void *cu, uint64_t max);
  /* A descriptor of the application to wait on for this connection (-1:
   * none) and its poll events; readiness wakes the connection up. */
  int (*poll_fd)(void *cu, short *events);
  /* Once per loop turn for a connection that has something to do (a
   * packet, a timer, its descriptor), after timers and before packets
   * are written: the place to move data that is not the client's. */
  void (*service)(void *cu);
  /* The connection is freed: free cu. */
  void (*gone)(void *cu);
  /* The client's certificate verified against the client CA; its SHA-256
   * (lower-case hex): 0 to accept it, -1 to refuse. NULL: accepted. */
  int (*client_cert)(void *app, const char *sha256_hex);
};

struct qsrv_cfg {
  const char *name;      /* for messages: "quic_front" */
  const char *cert_file; /* PEM chain and key, loaded in qsrv_new */
  const char *key_file;
  const char *client_ca; /* CA for client certificates, or NULL */
  bool require_client_cert;
  const char *const *alpn; /* offered in this order (RFC 7301) */
  size_t n_alpn;
  const char *listen_addr; /* IPv4 or IPv6 literal; NULL: 127.0.0.1 */
  int port;                /* 0: a free one */
  const char *port_file;   /* the port written here once listening */
  /* transport parameters (RFC 9000 18.2) */
  uint64_t max_streams_bidi, max_streams_uni;
  uint64_t stream_window_bidi, stream_window_uni, conn_window;
  uint64_t idle_timeout_s;
  uint64_t initial_rtt_ms; /* 0: ngtcp2's default */
  bool bbr;                /* BBR instead of ngtcp2's default (CUBIC) */
  const struct qsrv_app *cb;
  void *app;
};

/* The options every test server takes alike, for its getopt_long table:
 * --cert FILE, --key FILE, --port-file FILE (the caller includes
 * <getopt.h>). */
enum { QSRV_OPT_CERT = 0x100, QSRV_OPT_KEY, QSRV_OPT_PORT_FILE };
#define QSRV_LONG_OPTIONS                                                   \
  {"cert", required_argument, NULL, QSRV_OPT_CERT},                         \
      {"key", required_argument, NULL, QSRV_OPT_KEY},                       \
      {"port-file", required_argument, NULL, QSRV_OPT_PORT_FILE}

/* Take getopt_long's opt (with its argument, kept as a pointer) into cfg
 * if it is one of QSRV_LONG_OPTIONS; false otherwise. */
bool qsrv_cfg_option(struct qsrv_cfg *cfg, int opt, const char *arg);

/* Load the certificate, open the socket, install the signal handlers and
 * write the port file. 0 and *out (free with qsrv_free), or -1 with the
 * reason on stderr. */
int qsrv_new(const struct qsrv_cfg *cfg, struct qsrv **out);

/* Serve until SIGTERM or SIGINT. */
void qsrv_run(struct qsrv *s);

/* Free every connection (gone runs, nothing is sent), then the server.
 * s may be NULL. */
void qsrv_free(struct qsrv *s);

/* qsrv_new, qsrv_run until a signal, qsrv_free: the exit status of a
 * server's main (0, or 1 when it could not start). */
int qsrv_serve(const struct qsrv_cfg *cfg);

/* The client used n received bytes of sid: open the stream's and the
 * connection's windows by as much (RFC 9000 4.1). */
void qsrv_conn_consume(struct qsrv_conn *c, int64_t sid, size_t n);

/* Open a server stream; 0 and *sid, or -1. */
int qsrv_conn_open_uni(struct qsrv_conn *c, int64_t *sid);

/* RESET_STREAM and STOP_SENDING (both, or the one direction). 0 or -1. */
int qsrv_conn_shutdown_stream(struct qsrv_conn *c, int64_t sid,
                              uint64_t app_error);
int qsrv_conn_shutdown_read(struct qsrv_conn *c, int64_t sid,
                            uint64_t app_error);
int qsrv_conn_shutdown_write(struct qsrv_conn *c, int64_t sid,
                             uint64_t app_error);

/* Let the client open n more bidirectional streams. */
void qsrv_conn_extend_streams_bidi(struct qsrv_conn *c, size_t n);

/* Close at the end of this loop turn with an application CONNECTION_CLOSE
 * (RFC 9000 19.19): code and reason (copied, up to 127 bytes). The first
 * close of a connection wins. */
void qsrv_conn_close_app(struct qsrv_conn *c, uint64_t code,
                         const char *reason);

/* The server cannot go on with the connection (out of memory): close it
 * at the end of this loop turn with INTERNAL_ERROR (RFC 9000 20.1). */
void qsrv_conn_fail(struct qsrv_conn *c);

/* Forget the connection after this turn's packets, silently, keeping its
 * stateless reset tokens: the client's next packet meets a Stateless
 * Reset (RFC 9000 10.3). */
void qsrv_conn_forget(struct qsrv_conn *c);

/* Wake the connection up this loop turn (service and a flush). */
void qsrv_conn_wake(struct qsrv_conn *c);

/* The connection's number (1 for the first accepted). */
unsigned qsrv_conn_number(const struct qsrv_conn *c);

/* TLS was resumed with a session ticket (RFC 8446 2.2). */
bool qsrv_conn_resumed(const struct qsrv_conn *c);

#endif
