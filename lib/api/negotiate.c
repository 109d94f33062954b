/* NEGOTIATE, the API side: what the options let us offer (dialects,
 * capabilities) and the sync wrapper around the core's negotiate state
 * machine (core_negotiate.c), which checks the server's choice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/conn_internal.h"
#include "api/lease.h"
#include "smb2/smb2_pdu.h"

static const uint16_t all_dialects[] = {SMB2_DIALECT_202, SMB2_DIALECT_210,
                                        SMB2_DIALECT_300, SMB2_DIALECT_302,
                                        SMB2_DIALECT_311};

size_t conn_offered_dialects(const smbq_conn *c, uint16_t *out) {
  size_t n = 0;
  for (size_t i = 0; i < sizeof(all_dialects) / sizeof(all_dialects[0]);
       i++) {
    uint16_t d = all_dialects[i];
    if (c->opts.dialect_min && d < c->opts.dialect_min)
      continue;
    if (c->opts.dialect_max && d > c->opts.dialect_max)
      continue;
    /* MS-SMB2 2.1: over QUIC only 3.1.1 is allowed */
    if (c->transport_encrypted && d != SMB2_DIALECT_311)
      continue;
    out[n++] = d;
  }
  return n;
}

uint32_t conn_client_caps(const smbq_conn *c) {
  return SMB2_GLOBAL_CAP_LARGE_MTU | SMB2_GLOBAL_CAP_ENCRYPTION |
         api_lease_client_caps(c);
}

struct neg_run {
  struct api_core_call w; /* first */
  smbq_conn *c;
  struct core_neg_cfg cfg;
};

static void neg_done(void *arg, struct core_neg *n) {
  (void)n;
  api_core_done(arg);
}

/* The connect phase (NEGOTIATE, SESSION_SETUP) is bounded by the connect
 * timeout: a server that accepts and then stays silent must not hold the
 * caller for a whole request timeout. conn_connected() restores it. */
#define DEFAULT_CONNECT_MS 10000

static int neg_start(struct api_core_call *w, struct smb2_conn *core) {
  struct neg_run *r = (struct neg_run *)w;
  uint32_t ms = r->c->opts.connect_timeout_ms;
  smb2_conn_set_timeout(core, ms ? ms : DEFAULT_CONNECT_MS);
  return core_neg_start(&r->c->neg, core, &r->cfg, neg_done, w);
}

/* Run the negotiate state machine (core_negotiate.c) and wait for it. */
int conn_negotiate(smbq_conn *c) {
  struct neg_run r = {.w.start = neg_start, .c = c};
  r.cfg.server = c->server;
  uint16_t dialects[8];
  r.cfg.dialects = dialects;
  r.cfg.n_dialects = conn_offered_dialects(c, dialects);
  if (r.cfg.n_dialects == 0)
    return api_fail(c, SMBQ_ERR_INVAL, 0, "no SMB dialect left to offer");
  r.cfg.capabilities = conn_client_caps(c);
  r.cfg.transport_encrypted = c->transport_encrypted;
  if (api_random(c, r.cfg.salt, sizeof(r.cfg.salt)) < 0 ||
      api_random(c, r.cfg.client_guid, 16) < 0)
    return api_fail(c, SMBQ_ERR_CRYPTO, 0, "no randomness available");
  int rc = api_core_run(c, &r.w);
  if (rc < 0 && c->neg.state != CORE_NEG_FAILED)
    return api_fail(c, rc, 0, "SMB negotiation with %s failed", c->server);
  if (c->neg.state != CORE_NEG_DONE)
    return api_fail(c, c->neg.err.rc, c->neg.err.status, "%s",
                    c->neg.err.msg);
  return 0;
}

static void set_request_timeout(void *arg, struct smb2_conn *core) {
  smbq_conn *c = arg;
  smb2_conn_set_timeout(core, c->opts.request_timeout_ms);
}

void conn_connected(smbq_conn *c) {
  smbq_io_run(c->io, set_request_timeout, c);
}
