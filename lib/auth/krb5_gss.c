/* Kerberos through Heimdal's GSSAPI: see krb5_gss.h.
 *
 * Why the KDC exchanges are done here rather than by gss_init_sec_context:
 * GSSAPI's krb5 mechanism uses a krb5_context of its own, which the KDC
 * proxy route (kdcproxy.h) cannot be attached to. So this file gets the
 * TGT (when a password is given) and the service ticket with its own
 * context, where the route applies, stores them in the ccache that it then
 * hands to GSSAPI (gss_krb5_import_cred); GSSAPI finds the service ticket
 * there and needs no KDC. */
#include "smbq_host.h"
#include "auth/krb5_gss.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_krb5.h>
#include <krb5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "smbq/smbq_err.h"
#include "smbq_bytes.h"

/* A TGT must outlive this margin to count as usable. */
#define TICKET_MARGIN_S 60

#define GSS_FLAGS                                                           \
  (GSS_C_MUTUAL_FLAG | GSS_C_REPLAY_FLAG | GSS_C_SEQUENCE_FLAG |            \
   GSS_C_INTEG_FLAG)

/* GSS_C_INQ_SSPI_SESSION_KEY, 1.2.840.113554.1.2.2.5.5: the header of
 * Debian's Heimdal 7.8 declares it, but libgssapi.so.3 does not export
 * the variable, so it is spelled out here. */
static gss_OID_desc inq_session_key_oid = {
    11, (void *)"\x2a\x86\x48\x86\xf7\x12\x01\x02\x02\x05\x05"};

struct kgss {
  krb5_context ctx;
  struct kdcproxy_route route;
  bool attached;
  krb5_ccache cc;
  bool private_cc;          /* a MEMORY ccache of ours: destroyed */
  krb5_principal client;
  char *client_name;
  char realm[256];
  gss_cred_id_t cred;
  gss_name_t target;
  gss_ctx_id_t gctx;
  bool complete;
};

/* ---- names ----------------------------------------------------------- */

static void upper(char *s) {
  for (; *s; s++)
    *s = (char)toupper((unsigned char)*s);
}

/* The user's name part and realm from cfg (realm "" when not explicit). */
static void split_user(const struct kgss_cfg *cfg, char *name, size_t nlen,
                       char *realm, size_t rlen) {
  const char *u = cfg->user ? cfg->user : "";
  const char *at = strrchr(u, '@');
  realm[0] = '\0';
  if (at) {
    snprintf(name, nlen, "%.*s", (int)(at - u), u);
    snprintf(realm, rlen, "%s", at + 1);
  } else {
    snprintf(name, nlen, "%s", u);
    if (cfg->domain && strchr(cfg->domain, '.'))
      snprintf(realm, rlen, "%s", cfg->domain);
  }
  upper(realm);
}

int kgss_explicit_realm(const struct kgss_cfg *cfg, char *realm,
                        size_t len) {
  char name[256];
  split_user(cfg, name, sizeof(name), realm, len);
  return name[0] && realm[0] ? 1 : 0;
}

/* ---- errors ---------------------------------------------------------- */

static int proxy_failure(const struct kgss *g, const char *realm, char *err,
                         size_t errlen, const char *base) {
  const char *url = kdcproxy_url_for(&g->route, realm);
  if (!url) {
    snprintf(err, errlen, "%s (no KDC proxy is configured for %s: "
             "smbq_opts_set_kdc_proxy)", base, realm);
    return SMBQ_ERR_NET;
  }
  if (g->route.last_err) {
    snprintf(err, errlen, "%s; through the KDC proxy: %s", base,
             g->route.errmsg);
    int e = g->route.last_err;
    return e == SMBQ_ERR_CERT || e == SMBQ_ERR_TLS || e == SMBQ_ERR_TIMEOUT
               ? e
               : SMBQ_ERR_NET;
  }
  snprintf(err, errlen, "%s, nor its KDC proxy %s", base, url);
  return SMBQ_ERR_NET;
}

/* A krb5 error code (also GSSAPI's minor status for the krb5 mechanism)
 * to SMBQ_ERR_* and a message that names the cause. what: the step. */
static int krb_fail(struct kgss *g, krb5_error_code code, const char *what,
                    const char *service, char *err, size_t errlen) {
  const char *who = g->client_name ? g->client_name : "the user";
  const char *realm = g->realm;
  char base[600];
  switch (code) {
  case KRB5_KDC_UNREACH:
  case KRB5_REALM_CANT_RESOLVE:
  case KRB5_REALM_UNKNOWN:
    snprintf(base, sizeof(base), "KDC unreachable: %s: cannot reach a KDC "
             "of realm %s", what, realm);
    return proxy_failure(g, realm, err, errlen, base);
  case KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN:
    snprintf(err, errlen, "unknown principal %s: the KDC of %s does not "
             "know this user", who, realm);
    return SMBQ_ERR_AUTH;
  case KRB5KDC_ERR_S_PRINCIPAL_UNKNOWN:
    snprintf(err, errlen, "unknown principal %s: realm %s has no server "
             "of that name (use the name the server is registered under, "
             "not an address or an alias)", service ? service : "(service)",
             realm);
    return SMBQ_ERR_AUTH;
  case KRB5KRB_AP_ERR_SKEW:
    snprintf(err, errlen, "clock skew too great: %s: this machine's clock "
             "and the %s's differ by more than Kerberos allows (usually 5 "
             "minutes): synchronise the clocks (NTP)", what,
             service && strcmp(service, "the server") == 0 ? "server"
                                                          : "KDC");
    return SMBQ_ERR_AUTH;
  case KRB5KDC_ERR_PREAUTH_FAILED:
  case KRB5KRB_AP_ERR_BAD_INTEGRITY:
    snprintf(err, errlen, "wrong password for %s (the KDC of %s refused "
             "it)", who, realm);
    return SMBQ_ERR_AUTH;
  case KRB5KRB_AP_ERR_TKT_EXPIRED:
    snprintf(err, errlen, "expired ticket: %s: the Kerberos ticket of %s "
             "has expired: run kinit", what, who);
    return SMBQ_ERR_AUTH;
  case KRB5KDC_ERR_CLIENT_REVOKED:
    snprintf(err, errlen, "the account %s is disabled, locked or expired",
             who);
    return SMBQ_ERR_AUTH;
  case KRB5KDC_ERR_KEY_EXPIRED:
    snprintf(err, errlen, "the password of %s has expired: change it",
             who);
    return SMBQ_ERR_AUTH;
  case KRB5_CC_NOTFOUND:
  case KRB5_FCC_NOFILE:
  case KRB5_CC_END:
    snprintf(err, errlen, "no ticket: %s: the credentials cache holds no "
             "usable Kerberos ticket: run kinit", what);
    return SMBQ_ERR_AUTH;
  default: {
    const char *m = krb5_get_error_message(g->ctx, code);
    snprintf(err, errlen, "Kerberos: %s: %s", what, m ? m : "error");
    krb5_free_error_message(g->ctx, m);
    return SMBQ_ERR_AUTH;
  }
  }
}

/* ---- the credentials cache ---------------------------------------------- */

enum tkt_state { TKT_OK, TKT_NONE, TKT_EXPIRED, TKT_OTHER };

static krb5_error_code open_cc(krb5_context ctx, const char *name,
                               krb5_ccache *cc) {
  return name && name[0] ? krb5_cc_resolve(ctx, name, cc)
                         : krb5_cc_default(ctx, cc);
}

/* Look at the ccache: whose it is and whether its TGT is still valid. */
static enum tkt_state probe_cc(krb5_context ctx, const struct kgss_cfg *cfg,
                               char *why, size_t whylen) {
  krb5_ccache cc = NULL;
  krb5_principal p = NULL;
  char wname[256], wrealm[256], pname[512] = "";
  split_user(cfg, wname, sizeof(wname), wrealm, sizeof(wrealm));
  if (open_cc(ctx, cfg->ccache, &cc) != 0) {
    snprintf(why, whylen, "no credentials cache %s",
             cfg->ccache ? cfg->ccache : "(default)");
    return TKT_NONE;
  }
  const char *ccname = krb5_cc_get_name(ctx, cc);
  const char *cctype = krb5_cc_get_type(ctx, cc);
  enum tkt_state st = TKT_NONE;
  char *unparsed = NULL;
  if (krb5_cc_get_principal(ctx, cc, &p) != 0) {
    snprintf(why, whylen, "no ticket in the credentials cache %s:%s",
             cctype ? cctype : "", ccname ? ccname : "");
    goto out;
  }
  if (krb5_unparse_name(ctx, p, &unparsed) == 0)
    snprintf(pname, sizeof(pname), "%s", unparsed);
  const char *prealm = krb5_principal_get_realm(ctx, p);
  const char *pcomp = krb5_principal_get_comp_string(ctx, p, 0);
  if ((wname[0] && (!pcomp || strcasecmp(pcomp, wname) != 0)) ||
      (wname[0] && wrealm[0] && strcmp(prealm, wrealm) != 0)) {
    snprintf(why, whylen, "the credentials cache %s:%s holds tickets of %s, "
             "not of %s%s%s", cctype ? cctype : "", ccname ? ccname : "",
             pname, wname, wrealm[0] ? "@" : "", wrealm);
    st = TKT_OTHER;
    goto out;
  }
  krb5_cc_cursor cur;
  krb5_creds cr;
  time_t now = time(NULL), best_end = 0;
  bool found = false;
  if (krb5_cc_start_seq_get(ctx, cc, &cur) == 0) {
    while (krb5_cc_next_cred(ctx, cc, &cur, &cr) == 0) {
      const char *c0 = krb5_principal_get_comp_string(ctx, cr.server, 0);
      const char *c1 = krb5_principal_get_comp_string(ctx, cr.server, 1);
      if (c0 && c1 && strcmp(c0, "krbtgt") == 0 &&
          strcmp(c1, prealm) == 0) {
        found = true;
        if (cr.times.endtime > best_end)
          best_end = cr.times.endtime;
      }
      krb5_free_cred_contents(ctx, &cr);
    }
    krb5_cc_end_seq_get(ctx, cc, &cur);
  }
  if (!found) {
    snprintf(why, whylen, "no ticket-granting ticket of %s in %s:%s", pname,
             cctype ? cctype : "", ccname ? ccname : "");
  } else if (best_end <= now + TICKET_MARGIN_S) {
    char when[64];
    struct tm tm;
    gmtime_r(&best_end, &tm);
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
    snprintf(why, whylen, "the Kerberos ticket of %s in %s:%s expired at %s",
             pname, cctype ? cctype : "", ccname ? ccname : "", when);
    st = TKT_EXPIRED;
  } else {
    st = TKT_OK;
  }
out:
  free(unparsed);
  if (p)
    krb5_free_principal(ctx, p);
  krb5_cc_close(ctx, cc);
  return st;
}

int kgss_have_ticket(const struct kgss_cfg *cfg, char *why, size_t whylen) {
  char dummy[8];
  if (!why) {
    why = dummy;
    whylen = sizeof(dummy);
  }
  krb5_context ctx;
  if (krb5_init_context(&ctx) != 0) {
    snprintf(why, whylen, "Kerberos is not configured (krb5.conf)");
    return 0;
  }
  enum tkt_state st = probe_cc(ctx, cfg, why, whylen);
  krb5_free_context(ctx);
  return st == TKT_OK;
}

/* ---- KDC exchanges, directly then through the proxy ------------------------ */

static bool unreachable(krb5_error_code e) {
  return e == KRB5_KDC_UNREACH || e == KRB5_REALM_CANT_RESOLVE ||
         e == KRB5_REALM_UNKNOWN;
}

/* Switch the route on for a retry when the direct attempt found no KDC
 * and the realm has a proxy. */
static bool retry_via_proxy(struct kgss *g, krb5_error_code e) {
  if (!unreachable(e) || g->route.active ||
      !kdcproxy_url_for(&g->route, g->realm))
    return false;
  g->route.active = true;
  return true;
}

static int set_client(struct kgss *g, krb5_const_principal p) {
  if (g->client)
    krb5_free_principal(g->ctx, g->client);
  g->client = NULL;
  free(g->client_name);
  g->client_name = NULL;
  if (krb5_copy_principal(g->ctx, p, &g->client) != 0 ||
      krb5_unparse_name(g->ctx, g->client, &g->client_name) != 0)
    return SMBQ_ERR_NOMEM;
  snprintf(g->realm, sizeof(g->realm), "%s",
           krb5_principal_get_realm(g->ctx, g->client));
  return 0;
}

/* AS exchange with the password into a fresh MEMORY ccache. */
static int get_tgt(struct kgss *g, const struct kgss_cfg *cfg, char *err,
                   size_t errlen) {
  char name[256], realm[256], full[600];
  split_user(cfg, name, sizeof(name), realm, sizeof(realm));
  if (!name[0]) {
    snprintf(err, errlen, "no Kerberos ticket and no user name to get one "
             "for: run kinit, or give user@REALM and a password");
    return SMBQ_ERR_AUTH;
  }
  if (realm[0])
    snprintf(full, sizeof(full), "%s@%s", name, realm);
  else
    snprintf(full, sizeof(full), "%s", name);
  krb5_principal p = NULL;
  krb5_error_code e = krb5_parse_name(g->ctx, full, &p);
  if (e != 0) {
    snprintf(err, errlen, "'%s' is not a valid Kerberos principal name",
             full);
    return SMBQ_ERR_INVAL;
  }
  int rc = set_client(g, p);
  krb5_free_principal(g->ctx, p);
  if (rc < 0)
    return rc;
  if (cfg->proxy_only && kdcproxy_url_for(&g->route, g->realm))
    g->route.active = true;
  krb5_creds creds;
  memset(&creds, 0, sizeof(creds));
  krb5_get_init_creds_opt *opt = NULL;
  if (krb5_get_init_creds_opt_alloc(g->ctx, &opt) != 0)
    return SMBQ_ERR_NOMEM;
  do {
    e = krb5_get_init_creds_password(g->ctx, &creds, g->client,
                                     cfg->password, NULL, NULL, 0, NULL,
                                     opt);
  } while (e != 0 && retry_via_proxy(g, e));
  krb5_get_init_creds_opt_free(g->ctx, opt);
  if (e != 0) {
    char what[600];
    snprintf(what, sizeof(what), "getting a ticket for %s", g->client_name);
    return krb_fail(g, e, what, NULL, err, errlen);
  }
  /* the KDC may have canonicalised the name */
  rc = set_client(g, creds.client);
  if (rc == 0 && krb5_cc_new_unique(g->ctx, "MEMORY", NULL, &g->cc) != 0)
    rc = SMBQ_ERR_NOMEM;
  if (rc == 0) {
    g->private_cc = true;
    if (krb5_cc_initialize(g->ctx, g->cc, g->client) != 0 ||
        krb5_cc_store_cred(g->ctx, g->cc, &creds) != 0)
      rc = SMBQ_ERR_NOMEM;
  }
  krb5_free_cred_contents(g->ctx, &creds);
  if (rc < 0)
    snprintf(err, errlen, "cannot store the Kerberos ticket in memory");
  return rc;
}

/* The caller's ccache, its principal. */
static int use_cc(struct kgss *g, const struct kgss_cfg *cfg, char *err,
                  size_t errlen) {
  krb5_principal p = NULL;
  krb5_error_code e = open_cc(g->ctx, cfg->ccache, &g->cc);
  if (e == 0)
    e = krb5_cc_get_principal(g->ctx, g->cc, &p);
  if (e != 0) {
    snprintf(err, errlen, "no ticket: cannot read the credentials cache");
    return SMBQ_ERR_AUTH;
  }
  int rc = set_client(g, p);
  krb5_free_principal(g->ctx, p);
  if (rc == 0 && cfg->proxy_only && kdcproxy_url_for(&g->route, g->realm))
    g->route.active = true;
  return rc;
}

/* TGS exchange for cifs/<server>@<realm>, stored in g->cc. */
static int get_service_ticket(struct kgss *g, const char *server,
                              krb5_principal *sp, char *err,
                              size_t errlen) {
  krb5_error_code e =
      krb5_make_principal(g->ctx, sp, g->realm, "cifs", server, NULL);
  if (e != 0)
    return SMBQ_ERR_NOMEM;
  char spn[600];
  snprintf(spn, sizeof(spn), "cifs/%s@%s", server, g->realm);
  krb5_creds in, *out = NULL;
  memset(&in, 0, sizeof(in));
  in.client = g->client;
  in.server = *sp;
  do {
    e = krb5_get_credentials(g->ctx, 0, g->cc, &in, &out);
  } while (e != 0 && retry_via_proxy(g, e));
  if (e != 0) {
    char what[700];
    snprintf(what, sizeof(what), "getting a ticket for %s", spn);
    return krb_fail(g, e, what, spn, err, errlen);
  }
  krb5_free_creds(g->ctx, out);
  return 0;
}

/* ---- GSSAPI ------------------------------------------------------------------ */

static int gss_fail(struct kgss *g, OM_uint32 maj, OM_uint32 min,
                    const char *what, char *err, size_t errlen) {
  if (min != 0 && GSS_ROUTINE_ERROR(maj) != GSS_S_BAD_SIG &&
      (krb5_error_code)min != KRB5KRB_AP_ERR_BAD_INTEGRITY) {
    /* the krb5 mechanism's minor status is a krb5 error code */
    switch ((krb5_error_code)min) {
    case KRB5KRB_AP_ERR_SKEW:
    case KRB5KRB_AP_ERR_TKT_EXPIRED:
    case KRB5KDC_ERR_S_PRINCIPAL_UNKNOWN:
    case KRB5_KDC_UNREACH:
    case KRB5_CC_NOTFOUND:
      return krb_fail(g, (krb5_error_code)min, what, "the server", err,
                      errlen);
    default:
      break;
    }
  }
  OM_uint32 m2, ctx = 0;
  gss_buffer_desc b = GSS_C_EMPTY_BUFFER;
  char detail[256] = "";
  gss_display_status(&m2, min ? min : maj, min ? GSS_C_MECH_CODE
                                               : GSS_C_GSS_CODE,
                     GSS_KRB5_MECHANISM, &ctx, &b);
  if (b.length)
    snprintf(detail, sizeof(detail), "%.*s", (int)b.length,
             (const char *)b.value);
  gss_release_buffer(&m2, &b);
  snprintf(err, errlen, "Kerberos (GSSAPI): %s: %s", what,
           detail[0] ? detail : "failed");
  return GSS_ROUTINE_ERROR(maj) == GSS_S_BAD_SIG ||
                 GSS_ROUTINE_ERROR(maj) == GSS_S_BAD_MIC
             ? SMBQ_ERR_SIGNATURE
             : SMBQ_ERR_AUTH;
}

static int start_gss(struct kgss *g, krb5_const_principal sp,
                     uint8_t **token, size_t *token_len, char *err,
                     size_t errlen) {
  OM_uint32 maj, min = 0;
  maj = gss_krb5_import_cred(&min, g->cc, g->client, NULL, &g->cred);
  if (GSS_ERROR(maj))
    return gss_fail(g, maj, min, "using the credentials cache", err, errlen);
  char *spn = NULL;
  if (krb5_unparse_name(g->ctx, sp, &spn) != 0)
    return SMBQ_ERR_NOMEM;
  gss_buffer_desc nb = {strlen(spn), spn};
  maj = gss_import_name(&min, &nb, GSS_KRB5_NT_PRINCIPAL_NAME, &g->target);
  free(spn);
  if (GSS_ERROR(maj))
    return gss_fail(g, maj, min, "the service name", err, errlen);
  gss_buffer_desc out = GSS_C_EMPTY_BUFFER;
  OM_uint32 flags = 0;
  maj = gss_init_sec_context(&min, g->cred, &g->gctx, g->target,
                             GSS_KRB5_MECHANISM, GSS_FLAGS, 0,
                             GSS_C_NO_CHANNEL_BINDINGS, GSS_C_NO_BUFFER,
                             NULL, &out, &flags, NULL);
  if (GSS_ERROR(maj) || maj != GSS_S_CONTINUE_NEEDED || !out.length) {
    gss_release_buffer(&min, &out);
    if (!GSS_ERROR(maj)) {
      snprintf(err, errlen, "Kerberos (GSSAPI) would not ask for mutual "
               "authentication");
      return SMBQ_ERR_AUTH;
    }
    return gss_fail(g, maj, min, "building the AP-REQ", err, errlen);
  }
  int rc = 0;
  *token = malloc(out.length);
  if (*token) {
    memcpy(*token, out.value, out.length);
    *token_len = out.length;
  } else {
    rc = SMBQ_ERR_NOMEM;
  }
  gss_release_buffer(&min, &out);
  return rc;
}

int kgss_start(const struct kgss_cfg *cfg, struct kgss **out,
               uint8_t **token, size_t *token_len, char *err,
               size_t errlen) {
  *out = NULL;
  *token = NULL;
  *token_len = 0;
  if (!cfg->server || !cfg->server[0] || smbq_host_is_address(cfg->server)) {
    snprintf(err, errlen, "Kerberos needs the server's name, not an "
             "address (%s): connect by name (smbq_opts_set_resolve gives "
             "the address and keeps the name)", cfg->server ? cfg->server : "");
    return SMBQ_ERR_INVAL;
  }
  struct kgss *g = calloc(1, sizeof(*g));
  if (!g)
    return SMBQ_ERR_NOMEM;
  g->gctx = GSS_C_NO_CONTEXT;
  g->cred = GSS_C_NO_CREDENTIAL;
  g->target = GSS_C_NO_NAME;
  if (krb5_init_context(&g->ctx) != 0) {
    free(g);
    snprintf(err, errlen, "cannot initialise Kerberos (check krb5.conf "
             "or KRB5_CONFIG)");
    return SMBQ_ERR_AUTH;
  }
  g->route.urls = cfg->proxies;
  g->route.n_urls = cfg->n_proxies;
  g->route.ca_file = cfg->ca_file;
  g->route.transport = cfg->proxy_transport;
  g->route.cache_path = cfg->tcache_path;
  g->route.tickets = cfg->tickets;
  int rc = 0;
  if (cfg->n_proxies) {
    rc = kdcproxy_attach(g->ctx, &g->route);
    g->attached = rc == 0;
    if (rc < 0)
      snprintf(err, errlen, "cannot set up the KDC proxy");
  }
  char why[512] = "";
  enum tkt_state st = rc == 0 ? probe_cc(g->ctx, cfg, why, sizeof(why))
                              : TKT_NONE;
  if (rc < 0) {
    /* err is set */
  } else if (st == TKT_OK) {
    rc = use_cc(g, cfg, err, errlen);
  } else if (cfg->password && cfg->password[0]) {
    rc = get_tgt(g, cfg, err, errlen);
  } else if (st == TKT_EXPIRED) {
    snprintf(err, errlen, "expired ticket: %s: run kinit", why);
    rc = SMBQ_ERR_AUTH;
  } else {
    snprintf(err, errlen, "no ticket: %s; run kinit, or give a password",
             why);
    rc = SMBQ_ERR_AUTH;
  }
  krb5_principal sp = NULL;
  if (rc == 0)
    rc = get_service_ticket(g, cfg->server, &sp, err, errlen);
  if (rc == 0)
    rc = start_gss(g, sp, token, token_len, err, errlen);
  if (sp)
    krb5_free_principal(g->ctx, sp);
  if (rc < 0) {
    kgss_free(g);
    return rc;
  }
  *out = g;
  return 0;
}

int kgss_step(struct kgss *g, const uint8_t *in, size_t len, uint8_t **out,
              size_t *out_len, char *err, size_t errlen) {
  if (out) {
    *out = NULL;
    *out_len = 0;
  }
  if (!g || g->complete || !in || !len) {
    snprintf(err, errlen, "the server sent no Kerberos reply (AP-REP): "
             "mutual authentication impossible");
    return SMBQ_ERR_PROTO;
  }
  gss_buffer_desc ib = {len, (void *)in}, ob = GSS_C_EMPTY_BUFFER;
  OM_uint32 min = 0, flags = 0;
  OM_uint32 maj = gss_init_sec_context(
      &min, g->cred, &g->gctx, g->target, GSS_KRB5_MECHANISM, GSS_FLAGS, 0,
      GSS_C_NO_CHANNEL_BINDINGS, &ib, NULL, &ob, &flags, NULL);
  if (GSS_ERROR(maj)) {
    gss_release_buffer(&min, &ob);
    return gss_fail(g, maj, min, "checking the server's reply", err, errlen);
  }
  if (maj == GSS_S_CONTINUE_NEEDED && ob.length && out) {
    int rc = 1;
    *out = malloc(ob.length);
    if (*out) {
      memcpy(*out, ob.value, ob.length);
      *out_len = ob.length;
    } else {
      rc = SMBQ_ERR_NOMEM;
    }
    gss_release_buffer(&min, &ob);
    return rc;
  }
  gss_release_buffer(&min, &ob);
  if (maj == GSS_S_CONTINUE_NEEDED) {
    snprintf(err, errlen, "clock skew too great: the server refused the "
             "ticket for the time in it, also after a retry in the "
             "server's time: synchronise the clocks (NTP)");
    return SMBQ_ERR_AUTH;
  }
  if (maj != GSS_S_COMPLETE || !(flags & GSS_C_MUTUAL_FLAG)) {
    snprintf(err, errlen, "the server's Kerberos reply did not complete "
             "mutual authentication");
    return SMBQ_ERR_SIGNATURE;
  }
  g->complete = true;
  return 0;
}

int kgss_session_key(struct kgss *g, uint8_t key[16]) {
  if (!g || !g->complete)
    return SMBQ_ERR_INVAL;
  OM_uint32 min;
  gss_buffer_set_t set = GSS_C_NO_BUFFER_SET;
  OM_uint32 maj = gss_inquire_sec_context_by_oid(
      &min, g->gctx, &inq_session_key_oid, &set);
  if (GSS_ERROR(maj) || !set || set->count < 1 ||
      !set->elements[0].length) {
    gss_release_buffer_set(&min, &set);
    return SMBQ_ERR_CRYPTO;
  }
  gss_buffer_t k = &set->elements[0];
  memset(key, 0, 16);
  memcpy(key, k->value, k->length < 16 ? k->length : 16);
  smbq_wipe(k->value, k->length);
  gss_release_buffer_set(&min, &set);
  return 0;
}

int kgss_get_mic(struct kgss *g, const uint8_t *msg, size_t len,
                 uint8_t **mic, size_t *mic_len) {
  *mic = NULL;
  *mic_len = 0;
  if (!g || !g->complete)
    return SMBQ_ERR_INVAL;
  gss_buffer_desc mb = {len, (void *)msg}, out = GSS_C_EMPTY_BUFFER;
  OM_uint32 min;
  if (GSS_ERROR(gss_get_mic(&min, g->gctx, GSS_C_QOP_DEFAULT, &mb, &out)))
    return SMBQ_ERR_CRYPTO;
  int rc = 0;
  *mic = malloc(out.length ? out.length : 1);
  if (*mic) {
    memcpy(*mic, out.value, out.length);
    *mic_len = out.length;
  } else {
    rc = SMBQ_ERR_NOMEM;
  }
  gss_release_buffer(&min, &out);
  return rc;
}

int kgss_verify_mic(struct kgss *g, const uint8_t *msg, size_t len,
                    const uint8_t *mic, size_t mic_len) {
  if (!g || !g->complete)
    return SMBQ_ERR_INVAL;
  gss_buffer_desc mb = {len, (void *)msg}, tb = {mic_len, (void *)mic};
  OM_uint32 min;
  OM_uint32 maj = gss_verify_mic(&min, g->gctx, &mb, &tb, NULL);
  if (maj == GSS_S_COMPLETE)
    return 0;
  return GSS_ROUTINE_ERROR(maj) == GSS_S_BAD_SIG ? SMBQ_ERR_SIGNATURE
                                                 : SMBQ_ERR_CRYPTO;
}

const char *kgss_principal(const struct kgss *g) {
  return g && g->client_name ? g->client_name : "";
}

bool kgss_used_proxy(const struct kgss *g) {
  return g && g->route.n_sent > 0;
}

void kgss_free(struct kgss *g) {
  if (!g)
    return;
  OM_uint32 min;
  if (g->gctx != GSS_C_NO_CONTEXT)
    gss_delete_sec_context(&min, &g->gctx, GSS_C_NO_BUFFER);
  if (g->cred != GSS_C_NO_CREDENTIAL)
    gss_release_cred(&min, &g->cred);
  if (g->target != GSS_C_NO_NAME)
    gss_release_name(&min, &g->target);
  if (g->cc) {
    if (g->private_cc)
      krb5_cc_destroy(g->ctx, g->cc); /* the TGT goes with it */
    else
      krb5_cc_close(g->ctx, g->cc);
  }
  if (g->client)
    krb5_free_principal(g->ctx, g->client);
  free(g->client_name);
  if (g->attached)
    kdcproxy_detach(g->ctx);
  kdcproxy_route_clear(&g->route);
  krb5_free_context(g->ctx);
  smbq_wipe(g, sizeof(*g));
  free(g);
}
