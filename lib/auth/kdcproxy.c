/* MS-KKDCP client: KDC-PROXY-MESSAGE through Heimdal's ASN.1 codec, the
 * checks of a proxy's answer, and the send_to_kdc plugin that routes one
 * krb5_context's KDC messages through the proxy (kdcproxy_race.c picks
 * HTTPS or HTTP/3). See kdcproxy.h. */
#include "auth/kdcproxy.h"

#include <krb5.h>
#include <krb5/send_to_kdc_plugin.h>
#include <krb5_asn1.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smbq/smbq_err.h"
#include "smbq_bytes.h"
#include "transport/transport.h"

/* MS-KKDCP does not bound messages; Kerberos over TCP (RFC 4120 7.2.2)
 * has a 4-byte length with the top bit reserved. */
#define MAX_KDC_MSG (16u << 20)

/* ---- KDC-PROXY-MESSAGE ------------------------------------------------- */

int kdcproxy_encode(const uint8_t *kdc_msg, size_t len, const char *realm,
                    uint8_t **out, size_t *outlen) {
  *out = NULL;
  *outlen = 0;
  if (!kdc_msg || !len || len > MAX_KDC_MSG || !realm || !realm[0])
    return SMBQ_ERR_INVAL;
  uint8_t *framed = malloc(len + 4);
  if (!framed)
    return SMBQ_ERR_NOMEM;
  smbq_put_be32(framed, (uint32_t)len);
  memcpy(framed + 4, kdc_msg, len);
  char *r = (char *)realm; /* the codec's type is not const */
  KDC_PROXY_MESSAGE m;
  memset(&m, 0, sizeof(m));
  m.kerb_message.data = framed;
  m.kerb_message.length = len + 4;
  m.target_domain = &r;
  size_t need = length_KDC_PROXY_MESSAGE(&m), used = 0;
  uint8_t *buf = malloc(need);
  int rc = SMBQ_ERR_NOMEM;
  if (buf) {
    /* Heimdal's encoders write backwards from the last byte. */
    rc = encode_KDC_PROXY_MESSAGE(buf + need - 1, need, &m, &used) == 0 &&
                 used == need
             ? 0
             : SMBQ_ERR_INVAL;
  }
  free(framed);
  if (rc < 0) {
    free(buf);
    return rc;
  }
  *out = buf;
  *outlen = need;
  return 0;
}

int kdcproxy_decode(const uint8_t *in, size_t len, uint8_t **msg,
                    size_t *msglen) {
  *msg = NULL;
  *msglen = 0;
  if (!in || !len)
    return SMBQ_ERR_PROTO;
  KDC_PROXY_MESSAGE m;
  size_t used = 0;
  memset(&m, 0, sizeof(m));
  if (decode_KDC_PROXY_MESSAGE(in, len, &m, &used) != 0)
    return SMBQ_ERR_PROTO;
  int rc = SMBQ_ERR_PROTO;
  const uint8_t *km = m.kerb_message.data;
  size_t kl = m.kerb_message.length;
  uint32_t prefix = 0;
  if (kl > 4)
    smbq_get_be32(&prefix, km);
  if (used == len && kl > 4 && prefix == kl - 4) {
    *msg = malloc(kl - 4);
    rc = *msg ? 0 : SMBQ_ERR_NOMEM;
    if (*msg) {
      memcpy(*msg, km + 4, kl - 4);
      *msglen = kl - 4;
    }
  }
  free_KDC_PROXY_MESSAGE(&m);
  return rc;
}

/* ---- the answer ------------------------------------------------------------ */

/* "application/kerberos", any case, optionally followed by parameters. */
static bool is_kerberos_type(const char *ct) {
  static const char want[] = "application/kerberos";
  size_t n = sizeof(want) - 1;
  while (*ct == ' ' || *ct == '\t')
    ct++;
  if (strncasecmp(ct, want, n) != 0)
    return false;
  ct += n;
  while (*ct == ' ' || *ct == '\t')
    ct++;
  return *ct == '\0' || *ct == ';';
}

int kdcproxy_check_answer(const char *who, const char *over, long status,
                          const char *content_type, size_t body_len,
                          char *err, size_t errlen) {
  if (status != 200) {
    snprintf(err, errlen, "the KDC proxy %s answered HTTP status %ld over "
             "%s", who, status, over);
    return SMBQ_ERR_NET;
  }
  if (!content_type || !content_type[0]) {
    snprintf(err, errlen, "the KDC proxy %s answered without a "
             "Content-Type, not application/kerberos (over %s): is the "
             "URL a KDC proxy?", who, over);
    return SMBQ_ERR_PROTO;
  }
  if (!is_kerberos_type(content_type)) {
    char shown[64];
    quic_printable(shown, sizeof(shown), (const uint8_t *)content_type,
                   strlen(content_type));
    snprintf(err, errlen, "the KDC proxy %s answered with Content-Type %s, "
             "not application/kerberos (over %s): is the URL a KDC proxy?",
             who, shown, over);
    return SMBQ_ERR_PROTO;
  }
  if (body_len == 0) {
    snprintf(err, errlen, "the KDC proxy %s answered with an empty body "
             "over %s", who, over);
    return SMBQ_ERR_PROTO;
  }
  if (body_len > KDCPROXY_MAX_REPLY) {
    snprintf(err, errlen, "the KDC proxy %s sent more than %u KiB over %s",
             who, KDCPROXY_MAX_REPLY / 1024, over);
    return SMBQ_ERR_PROTO;
  }
  return 0;
}

/* ---- URLs and Alt-Svc ------------------------------------------------------ */

int kdcproxy_parse_url(const char *url, char *host, size_t hostlen,
                       uint16_t *port, char *path, size_t pathlen) {
  if (!url || strncasecmp(url, "https://", 8) != 0)
    return SMBQ_ERR_INVAL;
  const char *h = url + 8, *end;
  if (*h == '[') { /* RFC 3986 3.2.2: an IPv6 literal */
    end = strchr(h, ']');
    if (!end)
      return SMBQ_ERR_INVAL;
    h++;
  } else {
    end = h + strcspn(h, ":/?#");
  }
  size_t n = (size_t)(end - h);
  if (n == 0 || n >= hostlen)
    return SMBQ_ERR_INVAL;
  memcpy(host, h, n);
  host[n] = '\0';
  const char *p = *end == ']' ? end + 1 : end;
  *port = 443;
  if (*p == ':') {
    char *e;
    unsigned long v = strtoul(p + 1, &e, 10);
    if (e == p + 1 || v == 0 || v > 65535 || (*e && *e != '/'))
      return SMBQ_ERR_INVAL;
    *port = (uint16_t)v;
    p = e;
  }
  if (*p && *p != '/')
    return SMBQ_ERR_INVAL;
  if (snprintf(path, pathlen, "%s", *p ? p : "/") >= (int)pathlen)
    return SMBQ_ERR_INVAL;
  return 0;
}

/* One alternative "h3=\"HOST:PORT\"": its port when HOST is empty or
 * host, else 0. s points at the protocol id; n bytes up to ',' */
static int alt_h3(const char *s, size_t n, const char *host) {
  static const char id[] = "h3=\"";
  if (n < sizeof(id) || strncmp(s, id, sizeof(id) - 1) != 0)
    return 0;
  const char *a = s + sizeof(id) - 1, *q = memchr(a, '"', n - (sizeof(id) - 1));
  if (!q)
    return 0;
  const char *colon = q;
  while (colon > a && colon[-1] != ':')
    colon--;
  if (colon == a)
    return 0;
  size_t hl = (size_t)(colon - 1 - a);
  const char *ah = a;
  if (hl >= 2 && ah[0] == '[' && ah[hl - 1] == ']') {
    ah++;
    hl -= 2;
  }
  if (hl && (hl != strlen(host) || strncasecmp(ah, host, hl) != 0))
    return 0;
  int port = 0;
  for (const char *d = colon; d < q; d++) {
    if (*d < '0' || *d > '9' || port > 6553)
      return 0;
    port = port * 10 + (*d - '0');
  }
  return port > 0 && port <= 65535 ? port : 0;
}

int kdcproxy_alt_svc_h3_port(const char *value, const char *host) {
  const char *s = value;
  while (*s == ' ' || *s == '\t')
    s++;
  if (strncmp(s, "clear", 5) == 0 && (s[5] == '\0' || s[5] == ' '))
    return -1;
  while (*s) {
    while (*s == ' ' || *s == '\t' || *s == ',')
      s++;
    size_t n = strcspn(s, ",");
    int port = alt_h3(s, n, host);
    if (port > 0)
      return port;
    s += n;
  }
  return 0;
}

/* ---- routing --------------------------------------------------------------- */

const char *kdcproxy_url_for(const struct kdcproxy_route *r,
                             const char *realm) {
  for (size_t i = 0; r && realm && i < r->n_urls; i++)
    if (strcmp(r->urls[i].realm, realm) == 0)
      return r->urls[i].url;
  return NULL;
}

struct attached {
  krb5_context ctx;
  struct kdcproxy_route *route;
  struct attached *next;
};

static pthread_mutex_t routes_lock = PTHREAD_MUTEX_INITIALIZER;
static struct attached *routes;
static bool plugin_registered;

/* The route attached to ctx, or NULL. A route is only detached by the
 * thread that owns ctx, after its KDC exchange returned, and the plugin
 * runs inside that exchange: the pointer stays valid while it is used. */
static struct kdcproxy_route *route_of(krb5_context ctx) {
  struct kdcproxy_route *r = NULL;
  pthread_mutex_lock(&routes_lock);
  for (struct attached *a = routes; a && !r; a = a->next)
    if (a->ctx == ctx)
      r = a->route;
  pthread_mutex_unlock(&routes_lock);
  return r;
}

static krb5_error_code KRB5_CALLCONV plugin_init(krb5_context ctx,
                                                 void **data) {
  (void)ctx;
  *data = NULL;
  return 0;
}

static void KRB5_CALLCONV plugin_fini(void *data) { (void)data; }

/* Per KDC host: never ours (the realm hook below decides). */
static krb5_error_code KRB5_CALLCONV
plugin_send_to_kdc(krb5_context ctx, void *data, krb5_krbhst_info *hi,
                   time_t timeout, const krb5_data *in, krb5_data *out) {
  (void)ctx, (void)data, (void)hi, (void)timeout, (void)in, (void)out;
  return KRB5_PLUGIN_NO_HANDLE;
}

static krb5_error_code KRB5_CALLCONV
plugin_send_to_realm(krb5_context ctx, void *data, krb5_const_realm realm,
                     time_t timeout, const krb5_data *in, krb5_data *out) {
  (void)data;
  struct kdcproxy_route *r = route_of(ctx);
  const char *url = r && r->active ? kdcproxy_url_for(r, realm) : NULL;
  if (!url)
    return KRB5_PLUGIN_NO_HANDLE;
  uint8_t *req = NULL, *rep = NULL, *msg = NULL;
  size_t req_len = 0, rep_len = 0, msg_len = 0;
  int rc = kdcproxy_encode(in->data, in->length, realm, &req, &req_len);
  if (rc < 0) {
    snprintf(r->errmsg, sizeof(r->errmsg),
             "cannot wrap a KDC request for the proxy %s", url);
  } else {
    long ms = timeout > 0 && timeout < 600 ? (long)timeout * 1000 : 30000;
    rc = kdcproxy_exchange(r, url, ms, req, req_len, &rep, &rep_len);
  }
  if (rc == 0 && (rc = kdcproxy_decode(rep, rep_len, &msg, &msg_len)) < 0)
    snprintf(r->errmsg, sizeof(r->errmsg),
             "KDC proxy %s sent a malformed KDC-PROXY-MESSAGE", url);
  free(req);
  free(rep);
  krb5_error_code kret = KRB5_KDC_UNREACH;
  if (rc == 0) {
    kret = krb5_data_copy(out, msg, msg_len);
    r->n_sent++;
    r->last_err = 0;
  } else {
    r->last_err = rc;
  }
  free(msg);
  return kret;
}

static krb5plugin_send_to_kdc_ftable plugin_ftable = {
    .minor_version = KRB5_PLUGIN_SEND_TO_KDC_VERSION_2,
    .init = plugin_init,
    .fini = plugin_fini,
    .send_to_kdc = plugin_send_to_kdc,
    .send_to_realm = plugin_send_to_realm,
};

int kdcproxy_attach(void *krb5_ctx, struct kdcproxy_route *r) {
  krb5_context ctx = krb5_ctx;
  struct attached *a = calloc(1, sizeof(*a));
  if (!a)
    return SMBQ_ERR_NOMEM;
  a->ctx = ctx;
  a->route = r;
  int rc = 0;
  pthread_mutex_lock(&routes_lock);
  if (!plugin_registered) {
    /* process-wide in Heimdal, whatever context registers it */
    if (krb5_plugin_register(ctx, PLUGIN_TYPE_DATA, KRB5_PLUGIN_SEND_TO_KDC,
                             &plugin_ftable) == 0)
      plugin_registered = true;
    else
      rc = SMBQ_ERR_UNSUPPORTED;
  }
  if (rc == 0) {
    a->next = routes;
    routes = a;
  }
  pthread_mutex_unlock(&routes_lock);
  if (rc < 0)
    free(a);
  return rc;
}

void kdcproxy_detach(void *krb5_ctx) {
  pthread_mutex_lock(&routes_lock);
  for (struct attached **pp = &routes; *pp; pp = &(*pp)->next) {
    if ((*pp)->ctx == krb5_ctx) {
      struct attached *a = *pp;
      *pp = a->next;
      free(a);
      break;
    }
  }
  pthread_mutex_unlock(&routes_lock);
}
