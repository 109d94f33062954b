/* Connection options. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "auth/kdcproxy.h"
#include "smbq_bytes.h"
#include "transport/quic_tickets.h"

smbq_opts *smbq_opts_new(void) {
  smbq_opts *o = calloc(1, sizeof(*o));
  if (!o)
    return NULL;
  o->transport = SMBQ_TRANSPORT_AUTO;
  o->port = 445;
  o->quic_port = 443;
  o->tickets = quic_tickets_new();
  if (!o->tickets) {
    free(o);
    return NULL;
  }
  return o;
}

static void free_secret(char **s) {
  if (*s)
    smbq_wipe(*s, strlen(*s));
  free(*s);
  *s = NULL;
}

void api_opts_clear(struct smbq_opts *o) {
  free(o->user);
  free(o->domain);
  free_secret(&o->password);
  free(o->resolve);
  free(o->ca_file);
  free(o->client_cert);
  free(o->client_key);
  o->user = o->domain = o->resolve = o->ca_file = NULL;
  o->client_cert = o->client_key = NULL;
  api_policy_opts_clear(o);
  api_auth_opts_clear(o);
  quic_tickets_unref(o->tickets);
  o->tickets = NULL;
  for (size_t i = 0; i < o->n_cert_maps; i++) {
    free(o->cert_maps[i].server);
    free(o->cert_maps[i].cert);
    free(o->cert_maps[i].key);
  }
  free(o->cert_maps);
  o->cert_maps = NULL;
  o->n_cert_maps = 0;
}

void smbq_opts_free(smbq_opts *o) {
  if (!o)
    return;
  api_opts_clear(o);
  free(o);
}

static int set_str(char **dst, const char *src) {
  char *n = NULL;
  if (src && !(n = strdup(src)))
    return SMBQ_ERR_NOMEM;
  free(*dst);
  *dst = n;
  return 0;
}

int api_opts_copy(struct smbq_opts *dst, const struct smbq_opts *src) {
  *dst = *src;
  dst->user = dst->domain = dst->password = dst->resolve = dst->ca_file =
      NULL;
  dst->client_cert = dst->client_key = NULL;
  quic_tickets_ref(dst->tickets); /* shared: a copy resumes like the
                                     original */
  dst->cert_maps = NULL;
  dst->n_cert_maps = 0;
  dst->ccache = NULL;
  dst->kdc_proxies = NULL;
  dst->n_kdc_proxies = 0;
  if (api_policy_opts_copy(dst, src) < 0 ||
      api_auth_opts_copy(dst, src) < 0 ||
      set_str(&dst->user, src->user) < 0 ||
      set_str(&dst->domain, src->domain) < 0 ||
      set_str(&dst->password, src->password) < 0 ||
      set_str(&dst->resolve, src->resolve) < 0 ||
      set_str(&dst->ca_file, src->ca_file) < 0 ||
      set_str(&dst->client_cert, src->client_cert) < 0 ||
      set_str(&dst->client_key, src->client_key) < 0) {
    api_opts_clear(dst);
    return SMBQ_ERR_NOMEM;
  }
  for (size_t i = 0; i < src->n_cert_maps; i++) {
    const struct api_cert_map *m = &src->cert_maps[i];
    if (smbq_opts_map_client_cert(dst, m->server, m->cert, m->key) < 0) {
      api_opts_clear(dst);
      return SMBQ_ERR_NOMEM;
    }
  }
  return 0;
}

int smbq_opts_set_transport(smbq_opts *o, enum smbq_transport_mode m) {
  if (m != SMBQ_TRANSPORT_AUTO && m != SMBQ_TRANSPORT_TCP &&
      m != SMBQ_TRANSPORT_QUIC)
    return SMBQ_ERR_INVAL;
  o->transport = m;
  return 0;
}

int smbq_opts_set_port(smbq_opts *o, uint16_t p) {
  if (!p)
    return SMBQ_ERR_INVAL;
  o->port = p;
  return 0;
}

int smbq_opts_set_quic_port(smbq_opts *o, uint16_t p) {
  if (!p)
    return SMBQ_ERR_INVAL;
  o->quic_port = p;
  return 0;
}

/* "DOMAIN\user" splits into domain and user; an explicit domain wins. */
int smbq_opts_set_user(smbq_opts *o, const char *user, const char *domain) {
  if (!user)
    return SMBQ_ERR_INVAL;
  const char *bs = strchr(user, '\\');
  if (bs && !domain) {
    char *d = strndup(user, (size_t)(bs - user));
    if (!d)
      return SMBQ_ERR_NOMEM;
    int rc = set_str(&o->user, bs + 1);
    free(o->domain);
    o->domain = d;
    return rc;
  }
  if (set_str(&o->user, bs ? bs + 1 : user) < 0)
    return SMBQ_ERR_NOMEM;
  return set_str(&o->domain, domain);
}

int smbq_opts_set_password(smbq_opts *o, const char *pw) {
  free_secret(&o->password);
  return set_str(&o->password, pw);
}

int smbq_opts_set_resolve(smbq_opts *o, const char *addr) {
  return set_str(&o->resolve, addr);
}

int smbq_opts_set_ca_file(smbq_opts *o, const char *path) {
  return set_str(&o->ca_file, path);
}

int smbq_opts_set_client_cert(smbq_opts *o, const char *cert,
                              const char *key) {
  if (set_str(&o->client_cert, cert) < 0)
    return SMBQ_ERR_NOMEM;
  return set_str(&o->client_key, key);
}

int smbq_opts_set_encrypt(smbq_opts *o, int required) {
  o->encrypt = required != 0;
  return 0;
}

int smbq_opts_set_allow_guest(smbq_opts *o, int allow) {
  o->allow_guest = allow != 0;
  return 0;
}

int smbq_opts_set_dialects(smbq_opts *o, uint16_t min, uint16_t max) {
  if (min && max && min > max)
    return SMBQ_ERR_INVAL;
  o->dialect_min = min;
  o->dialect_max = max;
  return 0;
}

int smbq_opts_set_timeouts(smbq_opts *o, uint32_t connect_ms,
                           uint32_t request_ms) {
  o->connect_timeout_ms = connect_ms;
  o->request_timeout_ms = request_ms;
  return 0;
}

int smbq_opts_set_reconnect_timeout(smbq_opts *o, unsigned seconds) {
  if (!o || seconds > 24u * 3600)
    return SMBQ_ERR_INVAL;
  o->reconnect_timeout_set = true;
  o->reconnect_timeout_s = seconds;
  return 0;
}

/* A fresh store rather than clearing the shared one: other copies of
 * these options keep their tickets. */
int smbq_opts_set_tls_resumption(smbq_opts *o, int enabled) {
  if (!o)
    return SMBQ_ERR_INVAL;
  if (!enabled) {
    quic_tickets_unref(o->tickets);
    o->tickets = NULL;
    return 0;
  }
  if (o->tickets)
    return 0;
  o->tickets = quic_tickets_new();
  return o->tickets ? 0 : SMBQ_ERR_NOMEM;
}

int smbq_opts_set_event_cb(smbq_opts *o, smbq_event_fn cb, void *arg) {
  if (!o)
    return SMBQ_ERR_INVAL;
  o->event_cb = cb;
  o->event_arg = arg;
  return 0;
}

/* ---- connect policy: transport cache, QUIC switch --------------------- */

void api_policy_opts_clear(struct smbq_opts *o) {
  free(o->tcache_path);
  o->tcache_path = NULL;
  for (size_t i = 0; i < o->n_quic_exceptions; i++)
    free(o->quic_exceptions[i]);
  free(o->quic_exceptions);
  o->quic_exceptions = NULL;
  o->n_quic_exceptions = 0;
}

int api_policy_opts_copy(struct smbq_opts *dst, const struct smbq_opts *src) {
  dst->tcache_path = NULL;
  dst->quic_exceptions = NULL;
  dst->n_quic_exceptions = 0;
  if (set_str(&dst->tcache_path, src->tcache_path) < 0)
    return SMBQ_ERR_NOMEM;
  for (size_t i = 0; i < src->n_quic_exceptions; i++)
    if (smbq_opts_add_quic_exception(dst, src->quic_exceptions[i]) < 0)
      return SMBQ_ERR_NOMEM;
  return 0;
}

int smbq_opts_set_transport_cache(smbq_opts *o, const char *path) {
  if (!o || (path && !path[0]))
    return SMBQ_ERR_INVAL;
  if (set_str(&o->tcache_path, path) < 0)
    return SMBQ_ERR_NOMEM;
  o->tcache_set = true;
  return 0;
}

int smbq_opts_set_quic_enabled(smbq_opts *o, int enabled) {
  if (!o)
    return SMBQ_ERR_INVAL;
  o->quic_disabled = !enabled;
  return 0;
}

int smbq_opts_add_quic_exception(smbq_opts *o, const char *server) {
  if (!o || !server || !server[0])
    return SMBQ_ERR_INVAL;
  char **n = realloc(o->quic_exceptions,
                     (o->n_quic_exceptions + 1) * sizeof(*n));
  if (!n)
    return SMBQ_ERR_NOMEM;
  o->quic_exceptions = n;
  if (!(n[o->n_quic_exceptions] = strdup(server)))
    return SMBQ_ERR_NOMEM;
  o->n_quic_exceptions++;
  return 0;
}

/* A mapping replaces an earlier one for the same server. */
int smbq_opts_map_client_cert(smbq_opts *o, const char *server,
                              const char *cert, const char *key) {
  if (!o || !server || !server[0] || !cert)
    return SMBQ_ERR_INVAL;
  struct api_cert_map *m = NULL;
  for (size_t i = 0; i < o->n_cert_maps && !m; i++)
    if (strcasecmp(o->cert_maps[i].server, server) == 0)
      m = &o->cert_maps[i];
  if (!m) {
    if (o->n_cert_maps == API_MAX_CERT_MAPS)
      return SMBQ_ERR_INVAL;
    struct api_cert_map *n = realloc(
        o->cert_maps, (o->n_cert_maps + 1) * sizeof(*o->cert_maps));
    if (!n)
      return SMBQ_ERR_NOMEM;
    o->cert_maps = n;
    m = &n[o->n_cert_maps++];
    memset(m, 0, sizeof(*m));
    if (set_str(&m->server, server) < 0) {
      o->n_cert_maps--;
      return SMBQ_ERR_NOMEM;
    }
  }
  if (set_str(&m->cert, cert) < 0 || set_str(&m->key, key) < 0)
    return SMBQ_ERR_NOMEM;
  return 0;
}

void api_client_cert_for(const struct smbq_opts *o, const char *server,
                         const char **cert, const char **key) {
  for (size_t i = 0; i < o->n_cert_maps; i++) {
    if (strcasecmp(o->cert_maps[i].server, server) == 0) {
      *cert = o->cert_maps[i].cert;
      *key = o->cert_maps[i].key;
      return;
    }
  }
  *cert = o->client_cert;
  *key = o->client_key;
}

/* ---- authentication: Kerberos, NTLM, KDC proxy -------------------------- */

void api_auth_opts_clear(struct smbq_opts *o) {
  free(o->ccache);
  o->ccache = NULL;
  for (size_t i = 0; i < o->n_kdc_proxies; i++) {
    free(o->kdc_proxies[i].realm);
    free(o->kdc_proxies[i].url);
  }
  free(o->kdc_proxies);
  o->kdc_proxies = NULL;
  o->n_kdc_proxies = 0;
}

int api_auth_opts_copy(struct smbq_opts *dst, const struct smbq_opts *src) {
  dst->ccache = NULL;
  dst->kdc_proxies = NULL;
  dst->n_kdc_proxies = 0;
  if (set_str(&dst->ccache, src->ccache) < 0)
    return SMBQ_ERR_NOMEM;
  for (size_t i = 0; i < src->n_kdc_proxies; i++)
    if (smbq_opts_set_kdc_proxy(dst, src->kdc_proxies[i].realm,
                                src->kdc_proxies[i].url) < 0)
      return SMBQ_ERR_NOMEM;
  return 0;
}

int smbq_opts_set_auth(smbq_opts *o, enum smbq_auth mode) {
  if (!o || (mode != SMBQ_AUTH_AUTO && mode != SMBQ_AUTH_KERBEROS &&
             mode != SMBQ_AUTH_NTLM))
    return SMBQ_ERR_INVAL;
  o->auth = mode;
  return 0;
}

int smbq_opts_set_ntlm(smbq_opts *o, int allowed) {
  if (!o)
    return SMBQ_ERR_INVAL;
  o->ntlm_forbidden = !allowed;
  return 0;
}

int smbq_opts_set_kdc_proxy(smbq_opts *o, const char *realm,
                            const char *url) {
  if (!o || !realm || !realm[0] ||
      (url && strncasecmp(url, "https://", 8) != 0) || (url && !url[8]))
    return SMBQ_ERR_INVAL;
  size_t i = 0;
  while (i < o->n_kdc_proxies && strcmp(o->kdc_proxies[i].realm, realm))
    i++;
  if (!url) { /* remove */
    if (i == o->n_kdc_proxies)
      return 0;
    free(o->kdc_proxies[i].realm);
    free(o->kdc_proxies[i].url);
    o->kdc_proxies[i] = o->kdc_proxies[--o->n_kdc_proxies];
    return 0;
  }
  if (i < o->n_kdc_proxies)
    return set_str(&o->kdc_proxies[i].url, url);
  if (o->n_kdc_proxies == API_MAX_KDC_PROXIES)
    return SMBQ_ERR_INVAL;
  struct api_kdc_proxy *n = realloc(
      o->kdc_proxies, (o->n_kdc_proxies + 1) * sizeof(*o->kdc_proxies));
  if (!n)
    return SMBQ_ERR_NOMEM;
  o->kdc_proxies = n;
  struct api_kdc_proxy *p = &n[o->n_kdc_proxies];
  p->realm = strdup(realm);
  p->url = strdup(url);
  if (!p->realm || !p->url) {
    free(p->realm);
    free(p->url);
    return SMBQ_ERR_NOMEM;
  }
  o->n_kdc_proxies++;
  return 0;
}

int smbq_opts_set_kdc_proxy_transport(smbq_opts *o,
                                      enum smbq_kdc_proxy_transport t) {
  if (!o || (t != SMBQ_KDC_PROXY_AUTO && t != SMBQ_KDC_PROXY_HTTPS &&
             t != SMBQ_KDC_PROXY_H3))
    return SMBQ_ERR_INVAL;
  o->kdc_proxy_transport = t;
  return 0;
}

int smbq_opts_check_kdc_proxies(const smbq_opts *o,
                                enum smbq_kdc_proxy_transport t,
                                smbq_kdc_proxy_check_cb cb, void *arg) {
  if (!o || !cb)
    return SMBQ_ERR_INVAL;
  for (size_t i = 0; i < o->n_kdc_proxies; i++) {
    char msg[2048];
    const struct api_kdc_proxy *p = &o->kdc_proxies[i];
    int rc = kdcproxy_probe(p->realm, p->url, (enum kdcproxy_transport)t,
                            o->ca_file, o->tickets, msg, sizeof(msg));
    cb(arg, p->realm, p->url, rc, msg);
  }
  return (int)o->n_kdc_proxies;
}

int smbq_opts_set_kdc_proxy_only(smbq_opts *o, int only) {
  if (!o)
    return SMBQ_ERR_INVAL;
  o->kdc_proxy_only = only != 0;
  return 0;
}

int smbq_opts_set_ccache(smbq_opts *o, const char *name) {
  if (!o || (name && !name[0]))
    return SMBQ_ERR_INVAL;
  return set_str(&o->ccache, name);
}
