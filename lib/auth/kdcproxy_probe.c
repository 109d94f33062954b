/* Is a KDC proxy usable? Heimdal starts a logon of a principal nobody
 * has, through the proxy one given way: any KDC answer (a KRB-ERROR such
 * as "client not found") proves the whole path — transport, certificate,
 * proxy, KDC. See kdcproxy.h. */
#include <krb5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/kdcproxy.h"
#include "smbq/smbq_err.h"

int kdcproxy_probe(const char *realm, const char *url,
                   enum kdcproxy_transport t, const char *ca_file,
                   struct quic_tickets *tickets, char *msg, size_t msglen) {
  struct kdcproxy_url u = {realm, url};
  struct kdcproxy_route r = {.urls = &u, .n_urls = 1, .ca_file = ca_file,
                             .transport = t, .tickets = tickets,
                             .active = true};
  krb5_context ctx;
  if (krb5_init_context(&ctx) != 0) {
    snprintf(msg, msglen, "cannot initialise Kerberos (check krb5.conf or "
             "KRB5_CONFIG)");
    return SMBQ_ERR_AUTH;
  }
  krb5_principal p = NULL;
  int rc = kdcproxy_attach(ctx, &r);
  if (rc < 0) {
    snprintf(msg, msglen, "cannot set up the KDC proxy");
  } else if (krb5_make_principal(ctx, &p, realm, "smbq-doctor-probe",
                                 NULL) == 0) {
    /* the password is never right: the AS exchange is the point */
    krb5_creds creds;
    memset(&creds, 0, sizeof(creds));
    if (krb5_get_init_creds_password(ctx, &creds, p, "x", NULL, NULL, 0,
                                     NULL, NULL) == 0)
      krb5_free_cred_contents(ctx, &creds);
    if (r.n_sent > 0)
      snprintf(msg, msglen, "the KDC of %s answered through %s over %s",
               realm, url, r.used);
    else if ((rc = r.last_err ? r.last_err : SMBQ_ERR_NET) < 0)
      snprintf(msg, msglen, "%s", r.errmsg[0] ? r.errmsg
                                              : "the proxy was not used");
  }
  if (p)
    krb5_free_principal(ctx, p);
  kdcproxy_detach(ctx);
  kdcproxy_route_clear(&r);
  krb5_free_context(ctx);
  return rc < 0 ? rc : 0;
}
