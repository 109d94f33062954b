/* The KDC proxy over HTTPS (MS-KKDCP 2.1: HTTP POST over TLS) with
 * libcurl's multi interface, so that it can run beside the HTTP/3
 * attempt in one wait (kdcproxy_race.c). One object per logon: curl
 * keeps the TLS connection between the AS and the TGS exchanges.
 *
 * Thread: whoever runs the logon; the object is not shared. */
#ifndef SMBQ_KDCPROXY_HTTPS_H
#define SMBQ_KDCPROXY_HTTPS_H

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

struct kp_https;

/* NULL when out of memory or libcurl cannot start. */
struct kp_https *kp_https_new(void);
/* Abort any exchange and close the connection. NULL is fine. */
void kp_https_free(struct kp_https *h);

/* Start POSTing body (borrowed until the exchange ends: step() returned
 * non-zero, or cancel/free) to url as application/kerberos. ca_file:
 * extra trust anchors (PEM) besides the system's, or NULL. The
 * certificate and host name are always verified; redirects are not
 * followed. 0 or SMBQ_ERR_* (message in kp_https_errmsg). */
int kp_https_start(struct kp_https *h, const char *url, const char *ca_file,
                   long timeout_ms, const uint8_t *body, size_t len);
/* Stop the exchange in progress (the other transport won). */
void kp_https_cancel(struct kp_https *h);

/* Wait at most timeout_ms for curl's sockets or the extra ones. */
void kp_https_wait(struct kp_https *h, struct curl_waitfd *extra,
                   unsigned n_extra, int timeout_ms);
/* Let curl work. 1: answered (a checked 200 answer: take it), 0: still
 * going (or nothing started), <0: failed, SMBQ_ERR_* with the message. */
int kp_https_step(struct kp_https *h);
/* The answer's body: *body is malloc'd, the caller frees. */
void kp_https_take(struct kp_https *h, uint8_t **body, size_t *len);
/* The last answer's Alt-Svc field value (RFC 7838 3), "" if none; valid
 * until the next start. */
const char *kp_https_alt_svc(const struct kp_https *h);
const char *kp_https_errmsg(const struct kp_https *h);

#endif
