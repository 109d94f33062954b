/* Which way a KDC-PROXY-MESSAGE goes: HTTPS, HTTP/3, or both raced as
 * the SMB connect policy races TCP and QUIC (connect_race.h): the
 * transport remembered for the proxy starts at once, the other after a
 * head start or as soon as the first fails, and the first checked answer
 * wins. The winner is remembered in the transport cache, with the HTTP/3
 * port an HTTPS answer advertised in Alt-Svc (RFC 7838).
 *
 * Runs on the thread of the logon, inside Heimdal's KDC exchange. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/kdcproxy.h"
#include "auth/kdcproxy_h3.h"
#include "auth/kdcproxy_https.h"
#include "smbq/smbq_err.h"
#include "transport/connect_race.h"
#include "transport/transport.h"
#include "transport/transport_cache.h"

struct kdcproxy_conns {
  struct kp_https *https;
  struct kp_h3 *h3;
};

enum way { WAY_HTTPS, WAY_H3, N_WAYS };

static const char *const way_name[N_WAYS] = {"HTTPS", "HTTP/3"};

enum run { IDLE, RUNNING, FAILED, ANSWERED };

/* One exchange. */
struct race {
  struct kdcproxy_route *r;
  const char *url;
  char host[256], path[1024];
  uint16_t port, h3_port;
  long timeout_ms;
  const uint8_t *req;
  size_t len;
  enum way first;
  bool both;
  enum run run[N_WAYS];
  int rc[N_WAYS];
  char err[N_WAYS][1300];
  int64_t second_at_ms, deadline_ms;
};

void kdcproxy_route_clear(struct kdcproxy_route *r) {
  if (!r->conns)
    return;
  kp_https_free(r->conns->https);
  kp_h3_free(r->conns->h3);
  free(r->conns);
  r->conns = NULL;
}

static int ensure_conns(struct kdcproxy_route *r) {
  if (!r->conns)
    r->conns = calloc(1, sizeof(*r->conns));
  if (!r->conns)
    return SMBQ_ERR_NOMEM;
  if (!r->conns->https && r->transport != KDCPROXY_H3)
    r->conns->https = kp_https_new();
  if (!r->conns->h3 && r->transport != KDCPROXY_HTTPS)
    r->conns->h3 = kp_h3_new(r->tickets);
  if ((r->transport != KDCPROXY_H3 && !r->conns->https) ||
      (r->transport != KDCPROXY_HTTPS && !r->conns->h3))
    return SMBQ_ERR_NOMEM;
  return 0;
}

/* ---- the plan: what the cache says ---------------------------------------- */

static void plan(struct race *x) {
  struct kdcproxy_route *r = x->r;
  x->h3_port = x->port;
  x->first = r->transport == KDCPROXY_H3 ? WAY_H3 : WAY_HTTPS;
  x->both = r->transport == KDCPROXY_AUTO;
  struct smbq_tcache c;
  if (!r->cache_path || smbq_tcache_load(r->cache_path, &c) < 0)
    return;
  const struct smbq_tcache_entry *e = smbq_tcache_newest(&c, x->url,
                                                         x->port);
  if (!e)
    return;
  x->h3_port = e->quic_port;
  if (x->both && e->kind == SMBQ_TP_QUIC)
    x->first = WAY_H3;
}

/* Remember what answered, and the HTTP/3 port HTTPS advertised. A hint:
 * a cache that cannot be written changes nothing for this logon. */
static void remember(struct race *x, enum way won) {
  struct kdcproxy_route *r = x->r;
  if (!r->cache_path)
    return;
  uint16_t h3_port = x->h3_port;
  if (won == WAY_HTTPS) {
    int alt = kdcproxy_alt_svc_h3_port(kp_https_alt_svc(r->conns->https),
                                       x->host);
    if (alt != 0)
      h3_port = alt < 0 ? x->port : (uint16_t)alt;
  }
  struct smbq_tcache c;
  smbq_tcache_load(r->cache_path, &c);
  if (smbq_tcache_remember(&c, x->url, x->port, h3_port,
                           won == WAY_H3 ? SMBQ_TP_QUIC : SMBQ_TP_TCP) > 0)
    smbq_tcache_save(r->cache_path, &c);
}

/* ---- the attempts ----------------------------------------------------------- */

static void start(struct race *x, enum way w) {
  struct kdcproxy_conns *k = x->r->conns;
  int rc = w == WAY_HTTPS
               ? kp_https_start(k->https, x->url, x->r->ca_file,
                                x->timeout_ms, x->req, x->len)
               : kp_h3_start(k->h3, x->url, x->host, x->h3_port, x->path,
                             x->r->ca_file, x->timeout_ms, x->req, x->len);
  x->run[w] = RUNNING;
  if (rc < 0) {
    x->run[w] = FAILED;
    x->rc[w] = rc;
    snprintf(x->err[w], sizeof(x->err[w]), "%s",
             w == WAY_HTTPS ? kp_https_errmsg(k->https)
                            : kp_h3_errmsg(k->h3));
  }
}

static void step(struct race *x, enum way w) {
  if (x->run[w] != RUNNING)
    return;
  struct kdcproxy_conns *k = x->r->conns;
  int rc = w == WAY_HTTPS ? kp_https_step(k->https) : kp_h3_step(k->h3);
  if (rc == 0)
    return;
  x->run[w] = rc > 0 ? ANSWERED : FAILED;
  x->rc[w] = rc;
  if (rc < 0)
    snprintf(x->err[w], sizeof(x->err[w]), "%s",
             w == WAY_HTTPS ? kp_https_errmsg(k->https)
                            : kp_h3_errmsg(k->h3));
}

static enum way other(enum way w) { return w == WAY_HTTPS ? WAY_H3 : WAY_HTTPS; }

/* The second attempt starts at the end of the head start, or at once
 * when the first has failed. */
static void maybe_second(struct race *x, int64_t now) {
  enum way s = other(x->first);
  if (!x->both || x->run[s] != IDLE)
    return;
  if (now >= x->second_at_ms || x->run[x->first] == FAILED)
    start(x, s);
}

/* Nothing runs and nothing is left to start. */
static bool all_failed(const struct race *x) {
  for (int w = 0; w < N_WAYS; w++)
    if (x->run[w] == RUNNING)
      return false;
  return !x->both || x->run[other(x->first)] != IDLE;
}

/* Wait for either socket or the next timer. */
static void wait_some(struct race *x, int64_t now) {
  struct kdcproxy_conns *k = x->r->conns;
  int64_t until = x->deadline_ms;
  if (x->both && x->run[other(x->first)] == IDLE && x->second_at_ms < until)
    until = x->second_at_ms;
  struct curl_waitfd fd = {.fd = -1};
  unsigned n = 0;
  if (x->run[WAY_H3] == RUNNING) {
    int64_t d = kp_h3_deadline_ms(k->h3);
    if (d >= 0 && d < until)
      until = d;
    fd.fd = kp_h3_fd(k->h3);
    fd.events = CURL_WAIT_POLLIN |
                (kp_h3_want_write(k->h3) ? CURL_WAIT_POLLOUT : 0);
    n = fd.fd >= 0;
  }
  int64_t ms = until - now;
  ms = ms < 0 ? 0 : ms > 1000 ? 1000 : ms;
  if (x->run[WAY_HTTPS] == RUNNING || k->https)
    kp_https_wait(k->https, &fd, n, (int)ms);
  else if (n)
    poll(&(struct pollfd){.fd = fd.fd,
                          .events = (short)(POLLIN |
                                            (fd.events & CURL_WAIT_POLLOUT
                                                 ? POLLOUT
                                                 : 0))},
         1, (int)ms);
}

/* ---- the outcome -------------------------------------------------------------- */

/* Which failure says most: a certificate or TLS failure first (the user
 * must act), then a bad answer, then the rest. */
static int rank(int rc) {
  switch (rc) {
  case SMBQ_ERR_CERT: return 5;
  case SMBQ_ERR_TLS: return 4;
  case SMBQ_ERR_PROTO: return 3;
  case SMBQ_ERR_NET: return 2;
  default: return 1;
  }
}

static int failed(struct race *x) {
  struct kdcproxy_route *r = x->r;
  int rc = 0, tried = 0;
  size_t off = 0;
  r->errmsg[0] = '\0';
  for (int w = 0; w < N_WAYS; w++)
    tried += x->run[w] != IDLE;
  for (int i = 0; i < N_WAYS; i++) {
    enum way w = i == 0 ? x->first : other(x->first);
    if (x->run[w] == IDLE)
      continue;
    if (x->run[w] == RUNNING) {
      x->rc[w] = SMBQ_ERR_TIMEOUT;
      snprintf(x->err[w], sizeof(x->err[w]), "KDC proxy %s did not answer "
               "within %ld s", x->url, x->timeout_ms / 1000);
    }
    if (!rc || rank(x->rc[w]) > rank(rc))
      rc = x->rc[w];
    /* with both tried, each message says which way it is about */
    int n = tried > 1 ? snprintf(r->errmsg + off, sizeof(r->errmsg) - off,
                                 "%sover %s: %s", off ? "; " : "",
                                 way_name[w], x->err[w])
                      : snprintf(r->errmsg, sizeof(r->errmsg), "%s",
                                 x->err[w]);
    if (n > 0)
      off += (size_t)n < sizeof(r->errmsg) - off ? (size_t)n
                                                  : sizeof(r->errmsg) - off - 1;
  }
  if (r->conns->https)
    kp_https_cancel(r->conns->https);
  if (r->conns->h3)
    kp_h3_cancel(r->conns->h3);
  return rc ? rc : SMBQ_ERR_NET;
}

static int answered(struct race *x, enum way w, uint8_t **reply,
                    size_t *replylen) {
  struct kdcproxy_conns *k = x->r->conns;
  if (w == WAY_HTTPS) {
    kp_https_take(k->https, reply, replylen);
    if (k->h3)
      kp_h3_cancel(k->h3);
  } else {
    kp_h3_take(k->h3, reply, replylen);
    if (k->https)
      kp_https_cancel(k->https);
  }
  x->r->used = way_name[w];
  remember(x, w);
  return 0;
}

int kdcproxy_exchange(struct kdcproxy_route *r, const char *url,
                      long timeout_ms, const uint8_t *req, size_t len,
                      uint8_t **reply, size_t *replylen) {
  *reply = NULL;
  *replylen = 0;
  struct race x = {.r = r, .url = url, .timeout_ms = timeout_ms,
                   .req = req, .len = len};
  if (kdcproxy_parse_url(url, x.host, sizeof(x.host), &x.port, x.path,
                         sizeof(x.path)) < 0) {
    snprintf(r->errmsg, sizeof(r->errmsg), "KDC proxy URL %s is not "
             "https://HOST[:PORT]/PATH", url);
    return SMBQ_ERR_INVAL;
  }
  if (ensure_conns(r) < 0) {
    snprintf(r->errmsg, sizeof(r->errmsg), "cannot set up a request to "
             "the KDC proxy %s", url);
    return SMBQ_ERR_NOMEM;
  }
  plan(&x);
  int64_t now = smbq_now_ms();
  x.deadline_ms = now + timeout_ms;
  x.second_at_ms = now + SMBQ_RACE_HEAD_START_MS;
  start(&x, x.first);
  for (;;) {
    step(&x, WAY_HTTPS);
    step(&x, WAY_H3);
    for (int w = 0; w < N_WAYS; w++)
      if (x.run[w] == ANSWERED)
        return answered(&x, (enum way)w, reply, replylen);
    now = smbq_now_ms();
    maybe_second(&x, now);
    if (all_failed(&x) || now >= x.deadline_ms)
      return failed(&x);
    wait_some(&x, now);
  }
}
