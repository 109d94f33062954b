/* The connect policy of smbq_conn_connect: which transports may be tried
 * (transport mode, QUIC switch and its exception list), which one starts
 * first (the per-server transport cache), and remembering what worked.
 * The racing itself lives in lib/transport/connect_race.c. */
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "api/conn_internal.h"
#include "transport/transport_cache.h"

bool conn_quic_allowed(const smbq_conn *c) {
  if (!c->opts.quic_disabled)
    return true;
  for (size_t i = 0; i < c->opts.n_quic_exceptions; i++)
    if (strcasecmp(c->opts.quic_exceptions[i], c->server) == 0)
      return true;
  return false;
}

static int refuse_quic(smbq_conn *c) {
  char msg[1024];
  snprintf(msg, sizeof(msg),
           "SMB over QUIC is disabled by policy "
           "(smbq_opts_set_quic_enabled) and %s is not on its exception "
           "list: connect over TCP, or put this server on the exception "
           "list (smbq_opts_add_quic_exception)",
           c->server);
  api_set_errmsg(c, 0, msg);
  return SMBQ_ERR_POLICY;
}

const char *api_tcache_path(const struct smbq_opts *o, char *buf,
                            size_t len) {
  if (o->tcache_set)
    return o->tcache_path;
  return smbq_tcache_default_path(buf, len) == 0 ? buf : NULL;
}

/* The transport that last worked for this server, or -1. A cache that
 * cannot be read is no cache: the connect goes on with the default. */
static int cached_kind(const smbq_conn *c) {
  char buf[4096];
  const char *path = api_tcache_path(&c->opts, buf, sizeof(buf));
  struct smbq_tcache *tc = path ? malloc(sizeof(*tc)) : NULL;
  if (!tc)
    return -1;
  smbq_tcache_load(path, tc);
  int kind = smbq_tcache_lookup(tc, c->server, c->opts.port,
                                c->opts.quic_port);
  free(tc);
  return kind;
}

int conn_policy_plan(smbq_conn *c, struct smbq_race_cfg *cfg) {
  bool quic_ok = conn_quic_allowed(c);
  cfg->head_start_ns = (int64_t)SMBQ_RACE_HEAD_START_MS * 1000000;
  switch (c->opts.transport) {
  case SMBQ_TRANSPORT_QUIC:
    if (!quic_ok)
      return refuse_quic(c);
    cfg->first = SMBQ_TP_QUIC;
    cfg->race = false;
    return 0;
  case SMBQ_TRANSPORT_TCP:
    cfg->first = SMBQ_TP_TCP;
    cfg->race = false;
    return 0;
  default:
    cfg->first = quic_ok && cached_kind(c) == SMBQ_TP_QUIC ? SMBQ_TP_QUIC
                                                           : SMBQ_TP_TCP;
    cfg->race = quic_ok;
    return 0;
  }
}

void conn_policy_remember(smbq_conn *c) {
  char buf[4096];
  const char *path = c->opts.transport == SMBQ_TRANSPORT_AUTO
                         ? api_tcache_path(&c->opts, buf, sizeof(buf))
                         : NULL;
  struct smbq_tcache *tc = path ? malloc(sizeof(*tc)) : NULL;
  if (!tc)
    return;
  enum smbq_tp_kind kind =
      c->transport_encrypted ? SMBQ_TP_QUIC : SMBQ_TP_TCP;
  smbq_tcache_load(path, tc);
  /* Written only when it changes: a repeat connect costs one read. */
  if (smbq_tcache_remember(tc, c->server, c->opts.port, c->opts.quic_port,
                           kind) > 0)
    smbq_tcache_save(path, tc);
  free(tc);
}
