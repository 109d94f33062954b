/* A QUIC client connection (RFC 9000, RFC 9001) for applications that own
 * their streams: the SMB transport (quic.c: one bidirectional stream,
 * ALPN "smb") and the HTTP/3 client of the KDC proxy (ALPN "h3").
 *
 * quic_conn holds everything about the connection: the UDP socket
 * (recvmmsg/GRO in, GSO bursts out), the TLS 1.3 handshake with the
 * certificate checks of quic_cert.c, session tickets (quic_tickets.c,
 * kept per ALPN), timers and pacing, migration, and the messages that
 * say why a connection failed. It never interprets stream data.
 *
 * Stream data flows in the nghttp3 manner: when packets are written the
 * application is pulled for the next bytes of one stream and told how
 * many ngtcp2 took (consumed); those bytes must stay valid and unchanged
 * until acknowledged (acked), since ngtcp2 retransmits from them.
 * Received bytes are pushed in order (recv); the application opens the
 * flow-control windows again with quic_conn_consumed once it used them.
 *
 * Not thread-safe: one thread drives a connection. All calls are
 * non-blocking. The callbacks run inside quic_conn_step, _read, _flush,
 * _timers and _migrate; they may call quic_conn_open_bidi/_uni,
 * quic_conn_consumed, quic_conn_resume, quic_conn_fail and the getters,
 * but never quic_conn_free or the driving functions.
 *
 * All ngtcp2 calls of the library live in lib/transport/quic*.c (the
 * Debian ngtcp2 is 0.12; a port to 1.x must stay a one-folder change). */
#ifndef SMBQ_QUIC_CONN_H
#define SMBQ_QUIC_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "transport/transport.h"

struct quic_conn;

/* Bytes of one stream offered to ngtcp2 (borrowed from the application). */
struct quic_vec {
  const uint8_t *base;
  size_t len;
};

/* The application's callbacks; `user` is quic_conn_open's. A callback
 * that returns an error has called quic_conn_fail first (if it did not,
 * the connection fails with a generic message). Any callback may be NULL:
 * without pull nothing is sent on streams; without blocked a stream that
 * flow control holds back is offered again at the next packet (and
 * refused: fine for one stream). */
struct quic_conn_app {
  /* Handshake done, certificate verified, ALPN agreed: open streams now.
   * 0 or SMBQ_ERR_*. */
  int (*established)(void *user);
  /* In-order stream data (len may be 0 with fin). data is valid during the
   * call only. 0 or SMBQ_ERR_* (after quic_conn_fail). */
  int (*recv)(void *user, int64_t stream_id, const uint8_t *data,
              size_t len, bool fin);
  /* The peer acknowledged these bytes: they may be released. */
  void (*acked)(void *user, int64_t stream_id, uint64_t offset,
                uint64_t len);
  /* RESET_STREAM from the peer (RFC 9000 19.4). */
  void (*reset)(void *user, int64_t stream_id, uint64_t app_error);
  /* The stream is fully closed (both directions, or reset). */
  void (*closed)(void *user, int64_t stream_id, uint64_t app_error);
  /* The next data of ONE stream: set *stream_id (-1: nothing to send),
   * *fin (the data ends the stream), fill at most n vecs; returns the vec
   * count (0 with *fin: the FIN alone). The bytes stay valid and unchanged
   * until acked. */
  long (*pull)(void *user, int64_t *stream_id, bool *fin,
               struct quic_vec *v, size_t n);
  /* ngtcp2 took len bytes (from the start) of what pull offered. */
  void (*consumed)(void *user, int64_t stream_id, size_t len);
  /* Flow control (or a peer STOP_SENDING): do not offer this stream
   * until unblocked. */
  void (*blocked)(void *user, int64_t stream_id);
  /* The peer raised the stream's window (MAX_STREAM_DATA). */
  void (*unblocked)(void *user, int64_t stream_id);
};

struct quic_conn_cfg {
  /* host, addr, port, timeout, ca_file, client certificate, tickets
   * (transport.h); borrowed during quic_conn_open only */
  const struct smbq_endpoint *ep;
  const char *alpn;      /* "smb" or "h3" (copied) */
  const char *service;   /* for messages: "SMB over QUIC", "the KDC proxy
                            over HTTP/3" (copied) */
  /* What to do instead when the server does not answer QUIC at all, for
   * messages: "connect over TCP"; NULL: only "check the QUIC port"
   * (copied). An addition to the agreed shape, optional. */
  const char *fallback;
  uint64_t stream_window; /* receive window of each stream */
  uint64_t conn_window;   /* receive window of the connection */
  uint64_t peer_uni_streams; /* unidirectional streams the server may open
                                (HTTP/3: >= 3; 0: none) */
};

/* Start the connection: resolve, open the UDP socket, set up TLS (offering
 * a stored ticket for this server, ALPN and client identity) and send the
 * first Initial. The handshake completes in quic_conn_step. On failure
 * returns SMBQ_ERR_NET (resolve, socket), SMBQ_ERR_INVAL (CA or client
 * certificate files), SMBQ_ERR_TLS or SMBQ_ERR_NOMEM with a message in
 * err. On success the caller owns *out and frees it with quic_conn_free;
 * cfg need not outlive the call. */
int quic_conn_open(const struct quic_conn_cfg *cfg,
                   const struct quic_conn_app *app, void *user,
                   struct quic_conn **out, char *err, size_t errlen);

/* Drive the handshake: read packets (until established), run timers,
 * write packets. 1 established, 0 in progress (wait for the fd and
 * quic_conn_deadline), <0 SMBQ_ERR_* (quic_conn_errmsg says why; the
 * connection is dead). Once established it reads nothing: the
 * application calls quic_conn_read when the fd is readable. */
int quic_conn_step(struct quic_conn *qc);

/* Read every datagram the socket holds and feed it to ngtcp2 (recv,
 * acked, reset, closed run). 0 or the fatal SMBQ_ERR_*. */
int quic_conn_read(struct quic_conn *qc);

/* Write packets: ngtcp2's own and the application's stream data (pull,
 * consumed), in GSO bursts, as far as congestion control, pacing and the
 * socket allow. 0 or the fatal SMBQ_ERR_*. */
int quic_conn_flush(struct quic_conn *qc);

/* Handle expired timers (loss detection, idle timeout, keep-alive). 0 or
 * the fatal SMBQ_ERR_*. Call quic_conn_flush after it. */
int quic_conn_timers(struct quic_conn *qc);

/* From a recv callback: the buffer the application lends for stream data
 * is full. quic_conn_read stops after the current packet and keeps the
 * datagrams it has not fed yet for the next quic_conn_read (their data
 * then goes straight into the next buffer instead of being copied
 * aside); quic_conn_has_held says that some wait. */
void quic_conn_pause(struct quic_conn *qc);
bool quic_conn_has_held(const struct quic_conn *qc);

/* The UDP socket (changes on migration), to wait on for reading. */
int quic_conn_fd(const struct quic_conn *qc);

/* The socket said EAGAIN: wait for it to become writable, then flush. */
bool quic_conn_want_write(const struct quic_conn *qc);

/* Absolute time (smbq_now_ns) of the next timer (including the connect
 * deadline until established), or -1. */
int64_t quic_conn_deadline(const struct quic_conn *qc);

/* Open a client stream (RFC 9000 2.1); 0 and *id, or SMBQ_ERR_PROTO when
 * the server allows no more streams (see its MAX_STREAMS). */
int quic_conn_open_bidi(struct quic_conn *qc, int64_t *id);
int quic_conn_open_uni(struct quic_conn *qc, int64_t *id);

/* The application used n received bytes of stream_id: open the stream's
 * and the connection's flow-control windows by as much. */
void quic_conn_consumed(struct quic_conn *qc, int64_t stream_id, size_t n);

/* The application has new data for a stream (after blocked, or when it
 * was idle). pull is asked at every flush anyway; this only records that
 * the next quic_conn_flush has work. */
void quic_conn_resume(struct quic_conn *qc, int64_t stream_id);

/* The application found the peer at fault: the connection is dead with
 * err (SMBQ_ERR_*) and the message (first reason wins). */
void quic_conn_fail(struct quic_conn *qc, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* 0 while alive, else the fatal SMBQ_ERR_*. */
int quic_conn_error(const struct quic_conn *qc);

/* Why the connection died, or why the last quic_conn_migrate failed;
 * "" otherwise. Valid until the next call on qc. */
const char *quic_conn_errmsg(const struct quic_conn *qc);

/* What the handshake negotiated (filled once established); valid until
 * quic_conn_free. */
const struct smbq_tls_info *quic_conn_tls(const struct quic_conn *qc);

/* The application waits for answers from the server (due) or not: while
 * it does, silence of 2 PTO (at least 200 ms) sends a PING, so that a
 * NAT rebinding under a client that only receives is noticed by the
 * server at once (RFC 9000 9.3); otherwise a PING only keeps an idle
 * connection alive (25 s). */
void quic_conn_expect_answer(struct quic_conn *qc, bool due);

/* Connection migration (RFC 9000 9.2): continue on a new local UDP
 * socket. 0; SMBQ_ERR_INVAL before the handshake; SMBQ_ERR_NET (no new
 * socket) or SMBQ_ERR_UNSUPPORTED (no spare connection ID from the
 * server) with quic_conn_errmsg, the connection still usable on the old
 * socket; or the fatal error. */
int quic_conn_migrate(struct quic_conn *qc);

/* Best-effort CONNECTION_CLOSE (RFC 9000 10.2), then free everything,
 * the socket included. qc may be NULL. */
void quic_conn_free(struct quic_conn *qc);

/* "addr:port" ("[addr]:port" for IPv6) of the server actually used; valid
 * until quic_conn_free. An addition to the agreed shape: the SMB
 * transport reports it (smbq_transport.peer). */
const char *quic_conn_peer(const struct quic_conn *qc);

#endif
