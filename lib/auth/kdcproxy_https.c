/* The KDC proxy over HTTPS with libcurl's multi interface. See
 * kdcproxy_https.h. */
#include "auth/kdcproxy_https.h"

#include <ctype.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/kdcproxy.h"
#include "smbq/smbq_err.h"

struct kp_https {
  CURLM *multi;   /* owns the connection cache: kept for the logon */
  CURL *easy;     /* reused for every exchange */
  struct curl_slist *hdrs;
  bool running;   /* easy is in multi */
  bool done;
  int rc;
  uint8_t *buf;   /* the body so far */
  size_t len;
  bool too_big;
  char content_type[128];
  char alt_svc[256];
  char url[512];
  char cerr[CURL_ERROR_SIZE];
  char errmsg[900];
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void) {
  curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct kp_https *kp_https_new(void) {
  pthread_once(&curl_once, curl_init);
  if (curl_init_rc != CURLE_OK)
    return NULL;
  struct kp_https *h = calloc(1, sizeof(*h));
  if (!h)
    return NULL;
  h->multi = curl_multi_init();
  h->easy = curl_easy_init();
  h->hdrs = curl_slist_append(NULL, "Content-Type: application/kerberos");
  if (h->hdrs)
    h->hdrs = curl_slist_append(h->hdrs, "Cache-Control: no-cache");
  if (!h->multi || !h->easy || !h->hdrs) {
    kp_https_free(h);
    return NULL;
  }
  return h;
}

static void reset_answer(struct kp_https *h) {
  free(h->buf);
  h->buf = NULL;
  h->len = 0;
  h->too_big = false;
  h->content_type[0] = h->alt_svc[0] = h->cerr[0] = h->errmsg[0] = '\0';
  h->done = false;
  h->rc = 0;
}

void kp_https_cancel(struct kp_https *h) {
  if (h && h->running) {
    curl_multi_remove_handle(h->multi, h->easy);
    h->running = false;
  }
}

void kp_https_free(struct kp_https *h) {
  if (!h)
    return;
  kp_https_cancel(h);
  if (h->easy)
    curl_easy_cleanup(h->easy);
  if (h->multi)
    curl_multi_cleanup(h->multi);
  curl_slist_free_all(h->hdrs);
  free(h->buf);
  free(h);
}

static size_t on_body(char *p, size_t size, size_t n, void *arg) {
  struct kp_https *h = arg;
  size_t add = size * n;
  if (add > KDCPROXY_MAX_REPLY - h->len) {
    h->too_big = true;
    return 0; /* makes curl stop with CURLE_WRITE_ERROR */
  }
  uint8_t *nb = realloc(h->buf, h->len + add);
  if (!nb)
    return 0;
  h->buf = nb;
  memcpy(nb + h->len, p, add);
  h->len += add;
  return add;
}

/* Copy the value of header line `line` (n bytes, "Name: value\r\n") into
 * out when its name is `name`. */
static void header_value(const char *line, size_t n, const char *name,
                         char *out, size_t outlen) {
  size_t nl = strlen(name);
  if (n <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
    return;
  const char *v = line + nl + 1;
  const char *end = line + n;
  while (v < end && (*v == ' ' || *v == '\t'))
    v++;
  while (end > v && isspace((unsigned char)end[-1]))
    end--;
  snprintf(out, outlen, "%.*s", (int)(end - v), v);
}

static size_t on_header(char *p, size_t size, size_t n, void *arg) {
  struct kp_https *h = arg;
  size_t len = size * n;
  if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) { /* a new response */
    h->content_type[0] = h->alt_svc[0] = '\0';
    return len;
  }
  header_value(p, len, "Content-Type", h->content_type,
               sizeof(h->content_type));
  header_value(p, len, "Alt-Svc", h->alt_svc, sizeof(h->alt_svc));
  return len;
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

static void set_options(struct kp_https *h, const char *ca_file,
                        long timeout_ms, const uint8_t *body, size_t len) {
  CURL *e = h->easy;
  curl_easy_setopt(e, CURLOPT_URL, h->url);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
  if (ca_file) {
    /* in addition to the system's anchors, as for QUIC */
    curl_easy_setopt(e, CURLOPT_CAINFO, ca_file);
    curl_easy_setopt(e, CURLOPT_CAPATH, "/etc/ssl/certs");
  }
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_POST, 1L);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, (const char *)body);
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, h->hdrs);
  curl_easy_setopt(e, CURLOPT_USERAGENT, "libsmbq-kdcproxy");
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms
                                                          : 30000L);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, h);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, h);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->cerr);
}

int kp_https_start(struct kp_https *h, const char *url, const char *ca_file,
                   long timeout_ms, const uint8_t *body, size_t len) {
  kp_https_cancel(h);
  reset_answer(h);
  snprintf(h->url, sizeof(h->url), "%s", url);
  if (strncasecmp(url, "https://", 8) != 0) {
    snprintf(h->errmsg, sizeof(h->errmsg), "KDC proxy URL %s is not "
             "https://", url);
    return SMBQ_ERR_INVAL;
  }
  set_options(h, ca_file, timeout_ms, body, len);
  if (curl_multi_add_handle(h->multi, h->easy) != CURLM_OK) {
    snprintf(h->errmsg, sizeof(h->errmsg), "cannot start an HTTPS request "
             "to %s", url);
    return SMBQ_ERR_NOMEM;
  }
  h->running = true;
  return 0;
}

void kp_https_wait(struct kp_https *h, struct curl_waitfd *extra,
                   unsigned n_extra, int timeout_ms) {
  curl_multi_poll(h->multi, extra, n_extra, timeout_ms, NULL);
}

/* The transfer ended with cc: judge the answer. */
static int finish(struct kp_https *h, CURLcode cc) {
  long status = 0;
  curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &status);
  kp_https_cancel(h);
  h->done = true;
  if (h->too_big) {
    snprintf(h->errmsg, sizeof(h->errmsg), "the KDC proxy %s sent more "
             "than %u KiB over HTTPS", h->url, KDCPROXY_MAX_REPLY / 1024);
    return h->rc = SMBQ_ERR_PROTO;
  }
  if (cc != CURLE_OK) {
    snprintf(h->errmsg, sizeof(h->errmsg), "KDC proxy %s: %s", h->url,
             h->cerr[0] ? h->cerr : curl_easy_strerror(cc));
    return h->rc = curl_err(cc);
  }
  h->rc = kdcproxy_check_answer(h->url, "HTTPS", status, h->content_type,
                                h->len, h->errmsg, sizeof(h->errmsg));
  return h->rc < 0 ? h->rc : 1;
}

int kp_https_step(struct kp_https *h) {
  if (h->done)
    return h->rc < 0 ? h->rc : 1;
  if (!h->running)
    return 0;
  int still = 0;
  curl_multi_perform(h->multi, &still);
  int left;
  for (CURLMsg *m; (m = curl_multi_info_read(h->multi, &left));)
    if (m->msg == CURLMSG_DONE && m->easy_handle == h->easy)
      return finish(h, m->data.result);
  return 0;
}

void kp_https_take(struct kp_https *h, uint8_t **body, size_t *len) {
  *body = h->buf;
  *len = h->len;
  h->buf = NULL;
  h->len = 0;
}

const char *kp_https_alt_svc(const struct kp_https *h) { return h->alt_svc; }

const char *kp_https_errmsg(const struct kp_https *h) { return h->errmsg; }
