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
  smbq_conn *c;
  struct core_neg_cfg cfg;
  int start_rc;
  pthread_mutex_t m;
  pthread_cond_t cv;
  bool done;
};

/* On the I/O thread. */
static void neg_done(void *arg, struct core_neg *n) {
  (void)n;
  struct neg_run *r = arg;
  pthread_mutex_lock(&r->m);
  r->done = true;
  pthread_cond_signal(&r->cv);
  pthread_mutex_unlock(&r->m);
}

static void neg_kick(void *arg, struct smb2_conn *core) {
  struct neg_run *r = arg;
  smb2_conn_set_timeout(core, r->c->opts.request_timeout_ms);
  r->start_rc = core_neg_start(&r->c->neg, core, &r->cfg, neg_done, r);
}

/* Run the negotiate state machine (core_negotiate.c) and wait for it. */
int conn_negotiate(smbq_conn *c) {
  struct neg_run r = {.c = c};
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
  pthread_mutex_init(&r.m, NULL);
  pthread_cond_init(&r.cv, NULL);
  int rc = smbq_io_run(c->io, neg_kick, &r);
  if (rc == 0 && r.start_rc == 0) {
    pthread_mutex_lock(&r.m);
    while (!r.done)
      pthread_cond_wait(&r.cv, &r.m);
    pthread_mutex_unlock(&r.m);
  }
  pthread_mutex_destroy(&r.m);
  pthread_cond_destroy(&r.cv);
  if (rc < 0)
    return api_fail(c, rc, 0, "SMB negotiation with %s failed", c->server);
  if (c->neg.state != CORE_NEG_DONE)
    return api_fail(c, c->neg.rc, c->neg.status, "%s", c->neg.err);
  return 0;
}
