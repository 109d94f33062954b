/* The KDC proxy over HTTP/3 (MS-KKDCP over RFC 9114): the HTTP/3 client
 * (http3.h, nghttp3) on a QUIC connection of lib/transport (quic_conn.h,
 * ALPN "h3", the certificate rules of SMB over QUIC). One object per
 * logon: the AS and TGS exchanges of a logon share its connection, and a
 * new connection resumes TLS with a ticket from the store it was given.
 *
 * Non-blocking, driven by kdcproxy_race.c: fd(), events(), deadline(),
 * step(). Thread: whoever runs the logon; the object is not shared. */
#ifndef SMBQ_KDCPROXY_H3_H
#define SMBQ_KDCPROXY_H3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kp_h3;
struct quic_tickets;

/* An object that connects on the first start. tickets: borrowed, may be
 * NULL. NULL when out of memory. */
struct kp_h3 *kp_h3_new(struct quic_tickets *tickets);
/* Close the connection (CONNECTION_CLOSE, H3_NO_ERROR) and free. */
void kp_h3_free(struct kp_h3 *h);

/* POST body (borrowed until step() returns non-zero or cancel/free) to
 * https://host:port/path as application/kerberos over HTTP/3 at UDP
 * port udp_port of host (the URL's port, or an Alt-Svc one). Opens the
 * connection when there is none, or when the one kept is no longer
 * usable. ca_file: extra trust anchors, or NULL. 0 or SMBQ_ERR_* (message
 * in kp_h3_errmsg). */
int kp_h3_start(struct kp_h3 *h, const char *url, const char *host,
                uint16_t udp_port, const char *path, const char *ca_file,
                long timeout_ms, const uint8_t *body, size_t len);
/* Forget the request in progress (the other transport won); the
 * connection stays when it is usable. */
void kp_h3_cancel(struct kp_h3 *h);

/* The socket to wait on (-1: none), whether to wait for POLLOUT too, and
 * the next timer (absolute smbq_now_ms, -1: none). */
int kp_h3_fd(const struct kp_h3 *h);
bool kp_h3_want_write(const struct kp_h3 *h);
int64_t kp_h3_deadline_ms(const struct kp_h3 *h);
/* Read, run timers, write. 1: answered (a checked 200 answer: take it),
 * 0: going on (or nothing started), <0: failed, SMBQ_ERR_* with the
 * message. */
int kp_h3_step(struct kp_h3 *h);
/* The answer body: *body is malloc'd, the caller frees. */
void kp_h3_take(struct kp_h3 *h, uint8_t **body, size_t *len);
const char *kp_h3_errmsg(const struct kp_h3 *h);
/* Whether the last TLS handshake resumed a session (tests, doctor). */
bool kp_h3_resumed(const struct kp_h3 *h);

#endif
