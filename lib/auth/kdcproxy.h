/* Kerberos KDC proxy client (MS-KKDCP): KDC requests wrapped in a
 * KDC-PROXY-MESSAGE and POSTed over HTTPS (libcurl, certificates checked),
 * for realms whose KDCs cannot be reached directly.
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

/* ---- HTTPS transport ------------------------------------------------------ */

/* Largest proxy reply accepted. */
#define KDCPROXY_MAX_REPLY (1u << 20)

/* POST body to url (https only) as application/kerberos and return the
 * response body (malloc'd, caller frees). ca_file: extra trust anchors
 * (PEM) besides the system's; NULL for the system store only. The server
 * certificate and host name are always verified; redirects are not
 * followed. Errors: SMBQ_ERR_CERT (certificate rejected), SMBQ_ERR_TLS,
 * SMBQ_ERR_TIMEOUT, SMBQ_ERR_NET (cannot connect, or an HTTP status other
 * than 200), SMBQ_ERR_PROTO (reply over KDCPROXY_MAX_REPLY),
 * SMBQ_ERR_NOMEM; err says which (URL, HTTP status, curl's reason). */
int kdcproxy_post(const char *url, const char *ca_file, long timeout_ms,
                  const uint8_t *body, size_t len, uint8_t **reply,
                  size_t *replylen, char *err, size_t errlen);

/* ---- routing a krb5_context through the proxy ---------------------------- */

struct kdcproxy_url {
  const char *realm; /* compared case-sensitively, as realms are */
  const char *url;
};

struct kdcproxy_route {
  const struct kdcproxy_url *urls;
  size_t n_urls;
  const char *ca_file;
  bool active;        /* false: every message goes to the KDCs directly */
  /* set by the plugin: */
  int n_sent;         /* messages answered through the proxy */
  int last_err;       /* SMBQ_ERR_* of the last proxy failure, 0 if none */
  char errmsg[512];   /* and its description */
};

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
