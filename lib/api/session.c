/* Session setup, the API side: the policy that picks the mechanisms
 * (Kerberos or NTLMv2, AUTO's fallback, the NTLM switch), and the sync
 * wrapper that runs the core's session state machine (core_session.c) on
 * the I/O thread and waits for it. The rounds themselves, key derivation
 * and the checks on the final reply are the core's. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/conn_internal.h"
#include "auth/auth_mech.h"
#include "auth/krb5_gss.h"
#include "core/core_session.h"
#include "smbq_host.h"
#include "auth/spnego.h"
#include "smb2/smb2_pdu.h"
#include "smbq_bytes.h"

static uint64_t env_filetime(void *user) {
  (void)user;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return smb2_unix_to_filetime(ts.tv_sec, ts.tv_nsec);
}

static const char *user_label(const smbq_conn *c, char *buf, size_t len) {
  const char *u = c->opts.user ? c->opts.user : "";
  if (c->opts.domain && c->opts.domain[0])
    snprintf(buf, len, "%s\\%s", c->opts.domain, u);
  else
    snprintf(buf, len, "%s", u);
  return buf;
}

/* What the server's NEGOTIATE hint offers (an empty hint: anything). */
struct offer {
  bool krb5, ntlm;
};

static int read_hint(smbq_conn *c, struct offer *of) {
  struct spnego_init_hint hint;
  if (spnego_parse_hint(c->neg.spnego_hint, c->neg.spnego_hint_len, &hint) < 0)
    return api_fail(c, SMBQ_ERR_PROTO, 0,
                    "malformed SPNEGO hint in the negotiate reply of %s",
                    c->server);
  of->krb5 = of->ntlm = hint.n_mechs == 0;
  for (size_t i = 0; i < hint.n_mechs; i++) {
    if (hint.mechs[i] == SPNEGO_MECH_NTLMSSP)
      of->ntlm = true;
    if (hint.mechs[i] == SPNEGO_MECH_KRB5 ||
        hint.mechs[i] == SPNEGO_MECH_MSKRB5)
      of->krb5 = true;
  }
  return 0;
}

/* ---- the mechanisms ------------------------------------------------------ */

static struct auth_mech *ntlm_mech(smbq_conn *c, int *rc) {
  bool anon = !c->opts.user || !c->opts.user[0];
  if (anon && !c->opts.allow_guest) {
    *rc = api_fail(c, SMBQ_ERR_INVAL, 0, "no user name given");
    return NULL;
  }
  struct ntlmssp_creds cr = {
      .user = anon ? "" : c->opts.user,
      .domain = c->opts.domain ? c->opts.domain : "",
      .password = c->opts.password ? c->opts.password : "",
  };
  struct ntlmssp_env env = {api_random, env_filetime, c};
  char who[300];
  struct auth_mech *m =
      auth_ntlm_new(&cr, &env, c->server, user_label(c, who, sizeof(who)));
  if (!m)
    *rc = api_fail(c, SMBQ_ERR_NOMEM, 0, "session setup");
  return m;
}

/* ---- Kerberos ---------------------------------------------------------- */

/* The KDC proxy list of the options, as lib/auth wants it. */
static struct kdcproxy_url *proxy_list(const struct smbq_opts *o) {
  struct kdcproxy_url *l = calloc(o->n_kdc_proxies + 1, sizeof(*l));
  for (size_t i = 0; l && i < o->n_kdc_proxies; i++) {
    l[i].realm = o->kdc_proxies[i].realm;
    l[i].url = o->kdc_proxies[i].url;
  }
  return l;
}

static void kgss_cfg_of(const struct smbq_opts *o, const char *server,
                        const struct kdcproxy_url *proxies,
                        struct kgss_cfg *cfg) {
  memset(cfg, 0, sizeof(*cfg));
  cfg->user = o->user;
  cfg->domain = o->domain;
  cfg->password = o->password;
  cfg->ccache = o->ccache;
  cfg->server = server;
  cfg->proxies = proxies;
  cfg->n_proxies = proxies ? o->n_kdc_proxies : 0;
  cfg->proxy_only = o->kdc_proxy_only;
  cfg->ca_file = o->ca_file;
  _Static_assert((int)KDCPROXY_H3 == (int)SMBQ_KDC_PROXY_H3 &&
                     (int)KDCPROXY_HTTPS == (int)SMBQ_KDC_PROXY_HTTPS,
                 "lib/auth's transports are the public ones");
  cfg->proxy_transport = (enum kdcproxy_transport)o->kdc_proxy_transport;
  cfg->tickets = o->tickets;
}

int smbq_opts_have_kerberos_ticket(const smbq_opts *o, char *why,
                                   size_t len) {
  if (why && len)
    why[0] = '\0';
  if (!o)
    return 0;
  struct kgss_cfg cfg;
  kgss_cfg_of(o, NULL, NULL, &cfg);
  return kgss_have_ticket(&cfg, why, len);
}

/* AUTO: whether Kerberos is worth trying (see smbq_opts_set_auth). */
static bool kerberos_worth_trying(smbq_conn *c, const struct offer *of,
                                  const struct kgss_cfg *cfg) {
  if (!of->krb5 || smbq_host_is_address(c->server))
    return false;
  char realm[256];
  if (c->opts.password && c->opts.password[0] &&
      kgss_explicit_realm(cfg, realm, sizeof(realm)))
    return true;
  return kgss_have_ticket(cfg, NULL, 0) == 1;
}

/* ---- running the state machine ------------------------------------------ */

struct sess_run {
  struct api_core_call w; /* first */
  smbq_conn *c;
  struct core_sess_cfg cfg;
};

static void sess_done(void *arg, struct core_sess *s) {
  (void)s;
  api_core_done(arg);
}

static int sess_start(struct api_core_call *w, struct smb2_conn *core) {
  struct sess_run *r = (struct sess_run *)w;
  return core_sess_start(&r->c->sess, core, &r->cfg, sess_done, w);
}

void conn_session_cfg(smbq_conn *c, struct auth_mech **mechs, size_t n,
                      struct core_sess_cfg *cfg) {
  *cfg = (struct core_sess_cfg){
      .server = c->server,
      .dialect = c->neg.dialect,
      .preauth = c->neg.preauth,
      .cipher = c->neg.cipher,
      .signing_alg = c->neg.signing_alg,
      .transport_security = c->neg.transport_security,
      .want_encrypt = c->opts.encrypt,
      .allow_guest = c->opts.allow_guest,
      .n_mechs = n,
      .random = api_random,
      .user = c,
  };
  for (size_t i = 0; i < n; i++)
    cfg->mechs[i] = mechs[i];
}

/* Run the session state machine with mechs (handed over) and wait. */
static int run_session(smbq_conn *c, struct auth_mech **mechs, size_t n) {
  struct sess_run r = {.w.start = sess_start, .c = c};
  conn_session_cfg(c, mechs, n, &r.cfg);
  int rc = api_core_run(c, &r.w);
  if (rc < 0 && c->sess.state != CORE_SESS_FAILED) {
    /* the I/O thread is gone: the mechanisms were not used */
    for (size_t i = 0; i < n; i++)
      auth_mech_free(mechs[i]);
    return api_fail(c, rc, 0, "session setup with %s failed", c->server);
  }
  struct core_sess *s = &c->sess;
  if (s->state != CORE_SESS_VALID)
    return api_fail(c, s->err.rc, s->err.status, "%s", s->err.msg);
  snprintf(c->auth_mech, sizeof(c->auth_mech), "%s", s->mech_name);
  c->session_valid = true;
  return 0;
}

/* Kerberos first (with NTLM after it when the server may choose NTLMSSP),
 * or NTLM alone when AUTO cannot get a ticket. A logon from the ticket
 * cache may have no user name: NTLM is then not offered at all. */
static int krb_mechs(smbq_conn *c, bool may_fall_back, bool offer_ntlm,
                     struct auth_mech **mechs, size_t *n_out) {
  struct kdcproxy_url *proxies = proxy_list(&c->opts);
  if (!proxies)
    return api_fail(c, SMBQ_ERR_NOMEM, 0, "session setup");
  struct kgss_cfg cfg;
  kgss_cfg_of(&c->opts, c->server, proxies, &cfg);
  char tcache[4096];
  cfg.tcache_path = api_tcache_path(&c->opts, tcache, sizeof(tcache));
  bool have_user = c->opts.user && c->opts.user[0];
  offer_ntlm = offer_ntlm && (have_user || c->opts.allow_guest);
  char err[2048] = "";
  int rc = 0;
  struct auth_mech *krb =
      auth_krb5_new(&cfg, offer_ntlm, &rc, err, sizeof(err));
  free(proxies);
  if (!krb && !(may_fall_back && offer_ntlm))
    return api_fail(c, rc, 0, "Kerberos logon to %s failed: %s", c->server,
                    err);
  mechs[0] = krb;
  size_t n = krb ? 1 : 0;
  if (offer_ntlm) {
    mechs[n] = ntlm_mech(c, &rc);
    if (!mechs[n]) {
      auth_mech_free(krb);
      return rc;
    }
    n++;
  }
  *n_out = n;
  return 0;
}

int conn_session_mechs(smbq_conn *c, struct auth_mech **mechs, size_t *n) {
  *n = 0;
  struct offer of = {false, false};
  int rc = read_hint(c, &of);
  if (rc < 0)
    return rc;
  enum smbq_auth mode = c->opts.auth;
  bool ntlm_ok = mode != SMBQ_AUTH_KERBEROS && !c->opts.ntlm_forbidden;
  if (mode == SMBQ_AUTH_NTLM && c->opts.ntlm_forbidden)
    return api_fail(c, SMBQ_ERR_POLICY, 0, "NTLM was asked for but is "
                    "forbidden by the configuration (ntlm = off)");
  bool try_krb = mode == SMBQ_AUTH_KERBEROS;
  if (mode == SMBQ_AUTH_AUTO) {
    struct kgss_cfg cfg;
    kgss_cfg_of(&c->opts, c->server, NULL, &cfg);
    try_krb = kerberos_worth_trying(c, &of, &cfg) ||
              (!ntlm_ok && of.krb5 && !smbq_host_is_address(c->server));
  }
  if (try_krb && !of.krb5)
    return api_fail(c, SMBQ_ERR_UNSUPPORTED, 0,
                    "server %s does not offer Kerberos authentication",
                    c->server);
  if (try_krb)
    return krb_mechs(c, mode == SMBQ_AUTH_AUTO && ntlm_ok, ntlm_ok, mechs, n);
  if (!ntlm_ok) {
    char why[512];
    struct kgss_cfg cfg;
    kgss_cfg_of(&c->opts, c->server, NULL, &cfg);
    kgss_have_ticket(&cfg, why, sizeof(why));
    return api_fail(c, SMBQ_ERR_POLICY, 0,
                    "NTLM is forbidden by the configuration and Kerberos "
                    "is not possible with %s (%s): run kinit, or give "
                    "user@REALM and a password", c->server,
                    !of.krb5 ? "the server does not offer it"
                    : smbq_host_is_address(c->server)
                        ? "the server was given by address, not by name"
                        : why);
  }
  if (!of.ntlm)
    return api_fail(c, SMBQ_ERR_UNSUPPORTED, 0,
                    "server %s does not offer NTLM authentication "
                    "(Kerberos only): run kinit, or give user@REALM and a "
                    "password", c->server);
  mechs[0] = ntlm_mech(c, &rc);
  if (!mechs[0])
    return rc;
  *n = 1;
  return 0;
}

int conn_session_setup(smbq_conn *c) {
  struct auth_mech *mechs[CORE_SESS_MAX_MECHS];
  size_t n = 0;
  int rc = conn_session_mechs(c, mechs, &n);
  return rc < 0 ? rc : run_session(c, mechs, n);
}
