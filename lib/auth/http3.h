/* HTTP/3 client session for the KDC proxy over QUIC (MS-KKDCP over
 * RFC 9114), sans-I/O.
 *
 * struct h3_client wraps an nghttp3 client connection. It knows nothing of
 * sockets or ngtcp2: the QUIC connection layer below (lib/transport's
 * quic_conn) drives it through its stream interface. Each function of the
 * "QUIC stream interface" section below is the body of one quic_conn_app
 * callback:
 *
 *   recv      -> h3_client_recv       (then drain h3_client_next_consumed
 *                                      into quic_conn_consumed)
 *   acked     -> h3_client_acked
 *   reset     -> h3_client_reset
 *   closed    -> h3_client_closed
 *   pull      -> h3_client_pull
 *   consumed  -> h3_client_consumed
 *   blocked   -> h3_client_blocked
 *   unblocked -> h3_client_unblocked
 *
 * and after any of them, h3_client_error() != 0 means the server broke
 * HTTP/3: close the QUIC connection with application error
 * h3_client_app_error() (RFC 9114 8.1) and h3_client_errmsg() as the
 * reason.
 *
 * One h3_client serves one QUIC connection, i.e. one logon: its AS and
 * TGS exchanges are requests in sequence (or side by side) on
 * client-initiated bidirectional streams of the same connection.
 *
 * Not thread-safe: one thread drives a client (the QUIC connection's).
 * nghttp3 is called from this module only.
 */
#ifndef SMBQ_HTTP3_H
#define SMBQ_HTTP3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Same layout as lib/transport's struct quic_vec (which this module cannot
 * include: quic_conn.h lives in the transport layer). */
struct h3_vec {
  const uint8_t *base;
  size_t len;
};

struct h3_limits {
  /* largest response body accepted, bytes; 0 means KDCPROXY_MAX_REPLY */
  size_t max_body;
  /* largest response header section (RFC 9114 4.2.2, advertised in
   * SETTINGS_MAX_FIELD_SECTION_SIZE); 0 means 16 KiB */
  uint64_t max_field_section;
  /* the server, as messages name it, e.g. "fsedge1.contoso.com:443";
   * copied. NULL: the authority of the first request. */
  const char *peer;
};

struct h3_client;

/* Create a client (nghttp3 client connection, no dynamic QPACK table).
 * lim may be NULL for the defaults. Free with h3_client_free.
 * Errors: SMBQ_ERR_NOMEM. */
int h3_client_new(const struct h3_limits *lim, struct h3_client **out);

/* Free the client, its requests and their response bodies not taken.
 * Accepts NULL. */
void h3_client_free(struct h3_client *h3);

/* Bind the three client unidirectional streams the caller opened
 * (quic_conn_open_uni) once the handshake completed: the control stream
 * (RFC 9114 6.2.1) and the QPACK encoder and decoder streams (RFC 9204
 * 4.2). Their stream-type bytes and SETTINGS are then offered by
 * h3_client_pull. Call once, before the first h3_client_post.
 * Errors: SMBQ_ERR_INVAL (called twice, or not unidirectional client
 * stream ids). */
int h3_client_bind(struct h3_client *h3, int64_t ctrl_id, int64_t qenc_id,
                   int64_t qdec_id);

/* Queue a POST of body on the client bidirectional stream stream_id
 * (quic_conn_open_bidi): :method POST, :scheme https, :authority
 * authority (host[:port]), :path path, content-type content_type,
 * content-length len, then the body and FIN. The body is copied (it must
 * outlive every retransmission, which may come after the answer), so the
 * caller's buffer is free at return; the copy is held until
 * h3_client_free. Nothing is sent until h3_client_pull.
 * Errors: SMBQ_ERR_INVAL (empty authority/path/content type, stream id
 * not a client bidirectional stream, or already used, before
 * h3_client_bind), SMBQ_ERR_CLOSED (the connection failed, or the server
 * sent GOAWAY: open a new connection), SMBQ_ERR_NOMEM. */
int h3_client_post(struct h3_client *h3, int64_t stream_id,
                   const char *authority, const char *path,
                   const char *content_type, const uint8_t *body, size_t len);

/* The state of one request. Pointers are owned by the client and stay
 * valid until h3_client_take_body (body only) or h3_client_free. */
struct h3_response {
  bool done;                /* complete: answered, or failed */
  int err;                  /* 0, or SMBQ_ERR_* when the request failed */
  const char *errmsg;       /* why it failed ("" when err == 0) */
  int status;               /* final HTTP status, 0 before the headers */
  const char *content_type; /* content-type field, "" if none */
  const uint8_t *body;      /* response body so far (NULL if none) */
  size_t body_len;
};

/* The state of the request on stream_id.
 * Errors: SMBQ_ERR_INVAL (no request on that stream). */
int h3_client_response(const struct h3_client *h3, int64_t stream_id,
                       struct h3_response *resp);

/* Hand the response body of a completed request to the caller (malloc'd,
 * caller frees; NULL with *len 0 if there was none). The response then
 * shows no body. Errors: SMBQ_ERR_INVAL (no such request, or not done). */
int h3_client_take_body(struct h3_client *h3, int64_t stream_id, uint8_t **body,
                        size_t *len);

/* The checks a KDC proxy answer must pass before it reaches Heimdal
 * (MS-KKDCP 2.2.1, 3.2.5.1): the request succeeded, status 200,
 * Content-Type application/kerberos (type case-insensitive, parameters
 * after ';' allowed), a non-empty body. authority names the proxy in the
 * message written to err ("the KDC proxy fsedge1.contoso.com:443 answered
 * HTTP status 502 over HTTP/3").
 * Returns 0, resp->err for a failed request, SMBQ_ERR_NET (a status other
 * than 200, as the HTTPS path does), SMBQ_ERR_PROTO (content type, empty
 * body), SMBQ_ERR_INVAL (not done yet). */
int h3_kdcproxy_check(const struct h3_response *resp, const char *authority,
                      char *err, size_t errlen);

/* ---- the QUIC stream interface (see the table above) ---------------- */

/* In-order bytes of a stream from the server (len may be 0 with fin).
 * Returns 0, or SMBQ_ERR_PROTO / SMBQ_ERR_NOMEM when the connection
 * failed (h3_client_error); every unfinished request then fails too.
 * A failing request does not fail the call. */
int h3_client_recv(struct h3_client *h3, int64_t stream_id, const uint8_t *data,
                   size_t len, bool fin);

/* Flow-control credit to return: the next stream with received bytes
 * nghttp3 has finished with (frames parsed, body bytes stored, QPACK-
 * blocked bytes released late). Call until it returns false after
 * h3_client_recv and h3_client_closed, and give each to
 * quic_conn_consumed. */
bool h3_client_next_consumed(struct h3_client *h3, int64_t *stream_id,
                             size_t *n);

/* The server acknowledged len bytes of stream_id (in order, from offset). */
void h3_client_acked(struct h3_client *h3, int64_t stream_id, uint64_t offset,
                     uint64_t len);

/* RESET_STREAM from the server (RFC 9000 19.4): the request on stream_id,
 * unless answered already, fails naming app_error. */
void h3_client_reset(struct h3_client *h3, int64_t stream_id,
                     uint64_t app_error);

/* The stream is fully closed. A request without a complete answer fails;
 * a closed critical stream of the server fails the connection
 * (RFC 9114 6.2.1). */
void h3_client_closed(struct h3_client *h3, int64_t stream_id,
                      uint64_t app_error);

/* Data to send on one stream: fills up to n vecs, sets *stream_id (-1:
 * nothing to send) and *fin. The bytes stay valid and unchanged until
 * acknowledged (h3_client_acked) or h3_client_free. Returns the vec count,
 * or SMBQ_ERR_PROTO / SMBQ_ERR_NOMEM (h3_client_error set). */
long h3_client_pull(struct h3_client *h3, int64_t *stream_id, bool *fin,
                    struct h3_vec *v, size_t n);

/* QUIC took len bytes of what h3_client_pull offered for stream_id
 * (0 with a bare FIN). */
void h3_client_consumed(struct h3_client *h3, int64_t stream_id, size_t len);

/* Flow control: stop offering stream_id until h3_client_unblocked. */
void h3_client_blocked(struct h3_client *h3, int64_t stream_id);
void h3_client_unblocked(struct h3_client *h3, int64_t stream_id);

/* ---- connection state ------------------------------------------------ */

/* 0, or the SMBQ_ERR_* of the HTTP/3 layer's failure. */
int h3_client_error(const struct h3_client *h3);

/* What failed, naming the server and the HTTP/3 error ("" if nothing).
 * Valid until h3_client_free. */
const char *h3_client_errmsg(const struct h3_client *h3);

/* The application error code for CONNECTION_CLOSE (RFC 9114 8.1):
 * H3_NO_ERROR (0x100) unless the HTTP/3 layer failed. */
uint64_t h3_client_app_error(const struct h3_client *h3);

/* The server sent GOAWAY (RFC 9114 5.2): no new request may be posted. */
bool h3_client_goaway(const struct h3_client *h3);

#endif
