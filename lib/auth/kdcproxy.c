/* MS-KKDCP client: KDC-PROXY-MESSAGE through Heimdal's ASN.1 codec, HTTPS
 * through libcurl, and the send_to_kdc plugin that routes one
 * krb5_context's KDC messages through it. See kdcproxy.h. */
#include "auth/kdcproxy.h"

#include <curl/curl.h>
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

/* ---- HTTPS ------------------------------------------------------------------ */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void) { curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

struct sink {
  uint8_t *buf;
  size_t len;
  bool too_big;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg) {
  struct sink *s = arg;
  size_t add = size * n;
  if (add > KDCPROXY_MAX_REPLY - s->len) {
    s->too_big = true;
    return 0; /* makes curl stop with CURLE_WRITE_ERROR */
  }
  uint8_t *nb = realloc(s->buf, s->len + add);
  if (!nb)
    return 0;
  s->buf = nb;
  memcpy(nb + s->len, p, add);
  s->len += add;
  return add;
}

static int curl_err(CURLcode cc) {
  switch (cc) {
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_ISSUER_ERROR:
    return SMBQ_ERR_CERT;
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
    return SMBQ_ERR_TLS;
  case CURLE_OPERATION_TIMEDOUT:
    return SMBQ_ERR_TIMEOUT;
  case CURLE_OUT_OF_MEMORY:
    return SMBQ_ERR_NOMEM;
  default:
    return SMBQ_ERR_NET;
  }
}

int kdcproxy_post(const char *url, const char *ca_file, long timeout_ms,
                  const uint8_t *body, size_t len, uint8_t **reply,
                  size_t *replylen, char *err, size_t errlen) {
  *reply = NULL;
  *replylen = 0;
  if (strncasecmp(url, "https://", 8) != 0) {
    snprintf(err, errlen, "KDC proxy URL %s is not https://", url);
    return SMBQ_ERR_INVAL;
  }
  pthread_once(&curl_once, curl_init);
  CURL *h = curl_init_rc == CURLE_OK ? curl_easy_init() : NULL;
  struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: "
                                                    "application/kerberos");
  if (hdrs)
    hdrs = curl_slist_append(hdrs, "Cache-Control: no-cache");
  if (!h || !hdrs) {
    curl_slist_free_all(hdrs);
    if (h)
      curl_easy_cleanup(h);
    snprintf(err, errlen, "cannot set up an HTTPS request to %s", url);
    return SMBQ_ERR_NOMEM;
  }
  struct sink s = {0};
  char cerr[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  if (ca_file) {
    /* in addition to the system's anchors, as for QUIC */
    curl_easy_setopt(h, CURLOPT_CAINFO, ca_file);
    curl_easy_setopt(h, CURLOPT_CAPATH, "/etc/ssl/certs");
  }
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, (const char *)body);
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "libsmbq-kdcproxy");
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms
                                                          : 30000L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
  CURLcode cc = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(h);
  curl_slist_free_all(hdrs);
  int rc = 0;
  if (s.too_big) {
    snprintf(err, errlen, "KDC proxy %s sent a reply over %u bytes", url,
             KDCPROXY_MAX_REPLY);
    rc = SMBQ_ERR_PROTO;
  } else if (cc != CURLE_OK) {
    snprintf(err, errlen, "KDC proxy %s: %s", url,
             cerr[0] ? cerr : curl_easy_strerror(cc));
    rc = curl_err(cc);
  } else if (status != 200) {
    snprintf(err, errlen, "KDC proxy %s answered HTTP %ld", url, status);
    rc = SMBQ_ERR_NET;
  }
  if (rc < 0) {
    free(s.buf);
    return rc;
  }
  *reply = s.buf;
  *replylen = s.len;
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
    rc = kdcproxy_post(url, r->ca_file, ms, req, req_len, &rep, &rep_len,
                       r->errmsg, sizeof(r->errmsg));
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
