/* Kerberos initiator for SMB through Heimdal's GSSAPI (RFC 4121), with
 * the KDC exchanges done here first so that they can go through a KDC
 * proxy (kdcproxy.h) when the realm's KDCs cannot be reached.
 *
 *   kgss_start      credentials (the caller's ccache, or an AS exchange
 *                   with user + password into a private MEMORY ccache),
 *                   the service ticket for cifs/<server>, and the first
 *                   GSS token (the AP-REQ, mutual authentication asked)
 *   kgss_step       the server's AP-REP; completes the context
 *   kgss_session_key, kgss_get_mic, kgss_verify_mic  after completion
 *
 * The KDC exchanges block (Heimdal's own I/O, or libcurl for the proxy);
 * the SMB messages do not pass through here. Not thread-safe per context;
 * contexts in different threads are independent.
 *
 * Errors are negative SMBQ_ERR_* with a message in the caller's buffer
 * that names the cause: no ticket, expired ticket, clock skew, unknown
 * principal, wrong password, KDC unreachable (and what the proxy said).
 */
#ifndef SMBQ_KRB5_GSS_H
#define SMBQ_KRB5_GSS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/kdcproxy.h"

struct kgss_cfg {
  /* "user@REALM", "user" (realm: domain if it has a dot, else the default
   * realm of krb5.conf), or NULL/"" for the ccache's principal. */
  const char *user;
  const char *domain;       /* may be NULL */
  const char *password;     /* may be NULL: then a ticket must exist */
  const char *ccache;       /* NULL: KRB5CCNAME or the default */
  const char *server;       /* host name as the user typed it: the
                               service principal is cifs/<server> */
  const struct kdcproxy_url *proxies;
  size_t n_proxies;
  bool proxy_only;          /* the proxy is the only path for its realms */
  const char *ca_file;      /* extra trust anchors for the proxy */
  enum kdcproxy_transport proxy_transport;
  const char *tcache_path;  /* remembers the proxy's transport, or NULL */
  struct quic_tickets *tickets; /* HTTP/3 TLS resumption (borrowed), or
                                   NULL */
};

struct kgss;

/* Whether cfg's credentials cache holds a TGT for cfg's user (any user
 * when none is given; with "user@REALM" that principal, with a plain
 * user name that name in any realm) that is valid for at least another
 * minute. 1 yes, 0 no; why (may be NULL) says why not ("no credentials
 * cache FILE:/tmp/krb5cc_0", "the ticket of alice@R expired at ...").
 * Never contacts a KDC. */
int kgss_have_ticket(const struct kgss_cfg *cfg, char *why, size_t whylen);

/* The realm a password logon of cfg's user would use: 1 and the realm
 * when the user name carries one (user@REALM, or a domain with a dot),
 * else 0. */
int kgss_explicit_realm(const struct kgss_cfg *cfg, char *realm,
                        size_t len);

/* Get credentials and the first token. *token is malloc'd (caller
 * frees). Errors: SMBQ_ERR_AUTH (no or expired ticket and no password,
 * wrong password, unknown principal, clock skew, account problems),
 * SMBQ_ERR_NET (no KDC reachable, directly or through the proxy),
 * SMBQ_ERR_CERT/SMBQ_ERR_TLS (the proxy's certificate), SMBQ_ERR_INVAL
 * (no server name, or an address instead of a name), SMBQ_ERR_NOMEM,
 * SMBQ_ERR_CRYPTO (other GSSAPI failures). On failure *out is NULL. */
int kgss_start(const struct kgss_cfg *cfg, struct kgss **out,
               uint8_t **token, size_t *token_len, char *err,
               size_t errlen);

/* Feed the server's reply token (AP-REP, or a KRB-ERROR). Returns 0 when
 * the context is complete with mutual authentication; 1 when GSSAPI wants
 * another round with *out (malloc'd, caller frees): Heimdal answers a
 * KRB_AP_ERR_SKEW from the server once with a new AP-REQ in the server's
 * time; else an error: SMBQ_ERR_AUTH (the server refused the ticket:
 * clock skew, ...), SMBQ_ERR_SIGNATURE (mutual authentication failed),
 * SMBQ_ERR_PROTO. out may be NULL: then a second round is an error. */
int kgss_step(struct kgss *g, const uint8_t *in, size_t len, uint8_t **out,
              size_t *out_len, char *err, size_t errlen);

/* MS-SMB2 3.2.5.3.1: the GSS session key (GSS_C_INQ_SSPI_SESSION_KEY),
 * first 16 bytes, zero-padded if shorter. SMBQ_ERR_INVAL before
 * completion. */
int kgss_session_key(struct kgss *g, uint8_t key[16]);

/* gss_get_mic / gss_verify_mic over msg (the SPNEGO mechListMIC). *mic is
 * malloc'd. Errors: SMBQ_ERR_INVAL (not complete), SMBQ_ERR_SIGNATURE
 * (verify: wrong MIC), SMBQ_ERR_CRYPTO. */
int kgss_get_mic(struct kgss *g, const uint8_t *msg, size_t len,
                 uint8_t **mic, size_t *mic_len);
int kgss_verify_mic(struct kgss *g, const uint8_t *msg, size_t len,
                    const uint8_t *mic, size_t mic_len);

/* The client principal ("alice@SMBQ.TEST"); valid until kgss_free. */
const char *kgss_principal(const struct kgss *g);
/* Whether a KDC message went through the KDC proxy. */
bool kgss_used_proxy(const struct kgss *g);

/* Free; destroys a private ccache and wipes the key material. NULL ok. */
void kgss_free(struct kgss *g);

#endif
