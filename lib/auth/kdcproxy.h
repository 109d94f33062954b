/* Kerberos KDC proxy client (MS-KKDCP): KDC requests wrapped in a
 * KDC-PROXY-MESSAGE and POSTed over HTTPS (libcurl) or HTTP/3 (nghttp3 on
 * lib/transport's QUIC), certificates checked, for realms whose KDCs
 * cannot be reached directly.
 *
 * Heimdal 7.8 has no HTTPS KDC-proxy client, and its per-context
 * krb5_set_send_to_kdc_func hook is not consulted by krb5_sendto_context
 * (only by the old handle-based krb5_sendto), which is what the AS and TGS
 * exchanges use. Its send_to_kdc plugin interface (version 2, with
 * send_to_realm) is consulted first for every KDC message, but plugins are
 * registered for the whole process. So: one plugin, registered once, that
 * handles a message only when the krb5_context sending it has been
 * attached to a route here (and the route is switched on and has a proxy
 * for the realm); for every other context, GSSAPI's own included, it
 * answers "not mine" and Heimdal talks to the KDCs as usual.
 */
#ifndef SMBQ_KDCPROXY_H
#define SMBQ_KDCPROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- KDC-PROXY-MESSAGE (MS-KKDCP 2.2.2) -------------------------------- */

/* Wrap one KDC message (an AS-REQ or TGS-REQ, DER, without any length
 * prefix): kerb-message = 4-byte big-endian length + the message,
 * target-domain = realm, no dclocator-hint. *out is malloc'd (caller
 * frees). Errors: SMBQ_ERR_INVAL (empty message or realm, message over
 * 16 MiB), SMBQ_ERR_NOMEM. */
int kdcproxy_encode(const uint8_t *kdc_msg, size_t len, const char *realm,
                    uint8_t **out, size_t *outlen);

/* Unwrap the proxy's reply: the DER must be exactly one KDC-PROXY-MESSAGE
 * whose kerb-message carries a 4-byte length equal to the rest. *msg gets
 * the KDC message without the prefix (malloc'd, caller frees).
 * Errors: SMBQ_ERR_PROTO (malformed, trailing bytes, bad length prefix,
 * empty message), SMBQ_ERR_NOMEM. */
int kdcproxy_decode(const uint8_t *in, size_t len, uint8_t **msg,
                    size_t *msglen);

/* ---- the answer ------------------------------------------------------------ */

/* Largest proxy answer accepted. */
#define KDCPROXY_MAX_REPLY (1u << 20)

/* Check a proxy's HTTP answer before its body goes anywhere near
 * Heimdal: status 200, Content-Type application/kerberos (MS-KKDCP 2.2.1;
 * parameters after ';' and any case allowed), a body of 1 to
 * KDCPROXY_MAX_REPLY bytes. who: the proxy URL; over: "HTTPS" or
 * "HTTP/3". 0, or SMBQ_ERR_NET (an HTTP error status) / SMBQ_ERR_PROTO
 * with a message naming the proxy and what was wrong. */
int kdcproxy_check_answer(const char *who, const char *over, long status,
                          const char *content_type, size_t body_len,
                          char *err, size_t errlen);

/* ---- URLs and Alt-Svc ------------------------------------------------------ */

/* Split https://HOST[:PORT]/PATH (HOST may be [v6]). host gets HOST
 * without brackets, *port 443 when absent, path "/" when absent. 0 or
 * SMBQ_ERR_INVAL (not https, empty or too long a host, a bad port). */
int kdcproxy_parse_url(const char *url, char *host, size_t hostlen,
                       uint16_t *port, char *path, size_t pathlen);

/* The HTTP/3 port an Alt-Svc field value (RFC 7838 3) offers for the
 * origin host: the first alternative h3="[HOST]:PORT" whose HOST is empty
 * or host itself (another host would need its own checks; it is not
 * followed). Returns the port, 0 when none is offered, -1 for "clear". */
int kdcproxy_alt_svc_h3_port(const char *value, const char *host);

/* ---- routing a krb5_context through the proxy ---------------------------- */

struct kdcproxy_url {
  const char *realm; /* compared case-sensitively, as realms are */
  const char *url;
};

/* How a proxy is reached (MS-KKDCP over either). */
enum kdcproxy_transport {
  KDCPROXY_AUTO,  /* race HTTPS and HTTP/3, remembered per proxy */
  KDCPROXY_HTTPS, /* HTTP/1.1 or 2 over TLS over TCP (libcurl) */
  KDCPROXY_H3,    /* HTTP/3 over QUIC: UDP alone */
};

struct kdcproxy_conns; /* the connections of one logon (kdcproxy_race.c) */
struct quic_tickets;

struct kdcproxy_route {
  const struct kdcproxy_url *urls;
  size_t n_urls;
  const char *ca_file;
  enum kdcproxy_transport transport;
  const char *cache_path;  /* the transport cache (transport_cache.h) that
                              remembers which transport answered, or NULL */
  struct quic_tickets *tickets; /* TLS 1.3 tickets for HTTP/3 (borrowed),
                              or NULL */
  bool active;        /* false: every message goes to the KDCs directly */
  /* set by the plugin: */
  int n_sent;         /* messages answered through the proxy */
  const char *used;   /* "HTTPS" or "HTTP/3": what answered last (static) */
  int last_err;       /* SMBQ_ERR_* of the last proxy failure, 0 if none */
  char errmsg[2800];  /* and its description */
  struct kdcproxy_conns *conns; /* kept between the messages of a logon;
                              kdcproxy_route_clear frees them */
};

/* Send one KDC-PROXY-MESSAGE (req, len) to url the route's way (the race
 * of kdcproxy_race.c) and return the proxy's checked answer body in
 * *reply (malloc'd, caller frees). The connections stay in r for the
 * next message of the logon. 0, or SMBQ_ERR_* with r->errmsg set. */
int kdcproxy_exchange(struct kdcproxy_route *r, const char *url,
                      long timeout_ms, const uint8_t *req, size_t len,
                      uint8_t **reply, size_t *replylen);

/* Close the route's connections (the logon is over). */
void kdcproxy_route_clear(struct kdcproxy_route *r);

/* Check that the KDC of realm answers through the proxy at url over t
 * (an AS-REQ for a principal nobody has; any KDC answer will do). Nothing
 * is remembered. 0 with msg saying which way answered, or SMBQ_ERR_* with
 * msg saying why not. */
int kdcproxy_probe(const char *realm, const char *url,
                   enum kdcproxy_transport t, const char *ca_file,
                   struct quic_tickets *tickets, char *msg, size_t msglen);

/* The proxy URL configured for realm, or NULL. */
const char *kdcproxy_url_for(const struct kdcproxy_route *r,
                             const char *realm);

/* Attach route to the krb5_context ctx (a krb5_context, passed as void *
 * to keep krb5.h out of this header): while attached and r->active, the
 * context's KDC messages for a realm with a URL in r go to that proxy.
 * Registers the plugin on first use. The route must stay valid until
 * kdcproxy_detach(ctx). Errors: SMBQ_ERR_NOMEM, SMBQ_ERR_UNSUPPORTED (the
 * plugin cannot be registered). */
int kdcproxy_attach(void *krb5_ctx, struct kdcproxy_route *r);
void kdcproxy_detach(void *krb5_ctx);

#endif
