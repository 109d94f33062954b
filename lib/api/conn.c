/* smbq_conn: transport + I/O thread + negotiate + session. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/conn_internal.h"
#include "api/lease.h"
#include "core/core_reconnect.h"
#include "smb2/smb2_pdu.h"
#include "smbq_bytes.h"
#include "transport/connect_race.h"
#include "transport/quic_tickets.h"
#include "transport/transport.h"

smbq_conn *smbq_conn_new(const smbq_opts *o) {
  smbq_conn *c = calloc(1, sizeof(*c));
  if (!c)
    return NULL;
  if (api_opts_copy(&c->opts, o) < 0) {
    free(c);
    return NULL;
  }
  /* Large request buffers (WRITE) are reused: 32 of them cover the
   * requests two calls keep in flight (RW_WINDOW each). */
  c->pool = smb2_req_pool_new(32);
  if (!c->pool) {
    api_opts_clear(&c->opts);
    free(c);
    return NULL;
  }
  pthread_mutex_init(&c->lock, NULL);
  return c;
}

static void set_errmsg(smbq_conn *c, const char *msg) {
  api_set_errmsg(c, 0, msg);
}

/* Start one transport of the given kind (the race's open callback). */
static int open_child(void *user, enum smbq_tp_kind kind,
                      struct smbq_transport **tp, char *err, size_t errlen) {
  smbq_conn *c = user;
  bool quic = kind == SMBQ_TP_QUIC;
  const char *cert, *key;
  api_client_cert_for(&c->opts, c->server, &cert, &key);
  struct smbq_endpoint ep = {
      .host = c->server,
      .addr = c->opts.resolve,
      .port = quic ? c->opts.quic_port : c->opts.port,
      .timeout_ms = c->try_connect_ms ? c->try_connect_ms
                                      : c->opts.connect_timeout_ms,
      .ca_file = c->opts.ca_file,
      .client_cert = cert,
      .client_key = key,
      .tickets = c->opts.tickets,
  };
  return quic ? smbq_quic_open(&ep, smbq_now_ms(), tp, err, errlen)
              : smbq_tcp_open(&ep, smbq_now_ms(), tp, err, errlen);
}

/* Transport tcp or quic: that one only; auto: race them (TCP first, or
 * what the transport cache remembers), as conn_policy.c plans. */
int conn_open_transport(smbq_conn *c, struct smbq_transport **tp) {
  struct smbq_race_cfg cfg = {.open = open_child, .user = c};
  int rc = conn_policy_plan(c, &cfg);
  if (rc < 0)
    return rc;
  struct smbq_race race;
  smbq_race_init(&race, &cfg, smbq_now_ns());
  rc = smbq_race_run(&race, tp);
  if (rc < 0) {
    set_errmsg(c, race.errmsg);
    return rc;
  }
  pthread_mutex_lock(&c->lock);
  snprintf(c->transport, sizeof(c->transport), "%s", (*tp)->ops->name);
  snprintf(c->peer, sizeof(c->peer), "%s", (*tp)->peer);
  snprintf(c->local, sizeof(c->local), "%s", (*tp)->local);
  c->transport_encrypted = (*tp)->encrypted;
  c->tls = (*tp)->tls;
  pthread_mutex_unlock(&c->lock);
  return 0;
}

int smbq_conn_connect(smbq_conn *c, const char *server) {
  if (!c || !server || !server[0] || c->io)
    return SMBQ_ERR_INVAL;
  snprintf(c->server, sizeof(c->server), "%s", server);
  struct smbq_transport *tp = NULL;
  int rc = conn_open_transport(c, &tp);
  if (rc < 0)
    return rc;
  struct smb2_conn_env env = {.random = api_random,
                              .expired = api_session_expired,
                              .user = c};
  api_leases_env(c, &env);
  struct smb2_conn *core = smb2_conn_new(&env);
  if (core)
    c->io = smbq_io_start(core, tp);
  if (!c->io) {
    smb2_conn_free(core);
    smbq_transport_free(tp);
    return api_fail(c, SMBQ_ERR_NOMEM, 0, "cannot start the I/O thread");
  }
  rc = conn_negotiate(c);
  if (rc == 0)
    conn_policy_remember(c);
  if (rc == 0)
    rc = conn_session_setup(c);
  if (rc == 0)
    rc = api_leases_start(c);
  if (rc == 0)
    rc = api_reconnect_start(c);
  if (rc == 0) {
    conn_connected(c);
    conn_report(c, SMBQ_EVENT_CONNECTED);
  }
  return rc;
}

void smbq_conn_free(smbq_conn *c) {
  if (!c)
    return;
  /* Handles kept for reuse are closed (the server must not keep them);
   * the trees and the session end with the connection, without waiting
   * for TREE_DISCONNECT and LOGOFF replies (as Windows does: the server
   * cleans both up when the transport closes). */
  api_reconnect_stop(c);
  while (c->trees)
    api_tree_drop(c->trees);
  api_leases_stop(c);
  smbq_io_stop(c->io);
  if (c->rc)
    core_rc_clear(c->rc);
  free(c->rc);
  api_leases_free(c);
  core_sess_clear(&c->sess);
  core_neg_clear(&c->neg);
  api_opts_clear(&c->opts);
  smb2_req_pool_free(c->pool); /* after the I/O thread freed every request */
  pthread_mutex_destroy(&c->lock);
  free(c);
}

const char *conn_cipher_name(uint16_t cipher) {
  static const char *const names[] = {"none", "AES-128-CCM", "AES-128-GCM",
                                      "AES-256-CCM", "AES-256-GCM"};
  return cipher < 5 ? names[cipher] : "unknown";
}

const char *conn_signing_name(uint16_t alg) {
  static const char *const names[] = {"HMAC-SHA256", "AES-128-CMAC",
                                      "AES-128-GMAC"};
  return alg < 3 ? names[alg] : "unknown";
}

int smbq_conn_get_info(smbq_conn *c, struct smbq_conn_info *i) {
  if (!c || !i || !c->session_valid)
    return SMBQ_ERR_INVAL;
  memset(i, 0, sizeof(*i));
  snprintf(i->server, sizeof(i->server), "%s", c->server);
  snprintf(i->peer, sizeof(i->peer), "%s", c->peer);
  pthread_mutex_lock(&c->lock);
  snprintf(i->local, sizeof(i->local), "%s", c->local);
  pthread_mutex_unlock(&c->lock);
  snprintf(i->transport, sizeof(i->transport), "%s", c->transport);
  snprintf(i->dialect, sizeof(i->dialect), "%s",
           smb2_dialect_name(c->neg.dialect));
  const char *sig =
      c->sess.sec.sign ? conn_signing_name(c->neg.signing_alg) : "none";
  snprintf(i->signing, sizeof(i->signing), "%s", sig);
  snprintf(i->encryption, sizeof(i->encryption), "%s",
           c->sess.sec.encrypt ? conn_cipher_name(c->neg.cipher) : "none");
  snprintf(i->cipher, sizeof(i->cipher), "%s", conn_cipher_name(c->neg.cipher));
  snprintf(i->auth, sizeof(i->auth), "%s", c->auth_mech);
  i->max_read = c->neg.max_read;
  i->max_write = c->neg.max_write;
  i->max_transact = c->neg.max_transact;
  i->signing_required =
      (c->neg.server_security_mode & SMB2_NEGOTIATE_SIGNING_REQUIRED) != 0;
  i->transport_security = c->neg.transport_security;
  pthread_mutex_lock(&c->lock); /* migration may update tls */
  snprintf(i->tls_version, sizeof(i->tls_version), "%s", c->tls.version);
  snprintf(i->tls_cipher, sizeof(i->tls_cipher), "%s", c->tls.cipher);
  snprintf(i->alpn, sizeof(i->alpn), "%s", c->tls.alpn);
  snprintf(i->cert_subject, sizeof(i->cert_subject), "%s",
           c->tls.cert_subject);
  snprintf(i->cert_issuer, sizeof(i->cert_issuer), "%s", c->tls.cert_issuer);
  snprintf(i->cert_sha256, sizeof(i->cert_sha256), "%s", c->tls.cert_sha256);
  i->cert_not_after = c->tls.cert_not_after;
  i->tls_resumed = c->tls.resumed;
  i->handshake_us = (uint32_t)(c->tls.handshake_ns / 1000);
  pthread_mutex_unlock(&c->lock);
  api_reconnect_info(c, i);
  return 0;
}

void conn_report(smbq_conn *c, enum smbq_event ev) {
  struct smbq_conn_info info;
  if (!c->opts.event_cb || smbq_conn_get_info(c, &info) < 0)
    return;
  c->opts.event_cb(c->opts.event_arg, ev, &info);
}

struct migration {
  smbq_conn *c;
  char err[640];
};

/* Runs on the I/O thread: the transport belongs to it. */
static int migrate_on_io(void *arg, struct smbq_transport *tp) {
  struct migration *m = arg;
  if (!tp->ops->migrate)
    return SMBQ_ERR_UNSUPPORTED;
  int rc = tp->ops->migrate(tp);
  if (rc < 0) {
    snprintf(m->err, sizeof(m->err), "%s", tp->errmsg);
    return rc;
  }
  pthread_mutex_lock(&m->c->lock);
  snprintf(m->c->local, sizeof(m->c->local), "%s", tp->local);
  pthread_mutex_unlock(&m->c->lock);
  return rc;
}

int smbq_conn_migrate(smbq_conn *c) {
  if (!c || !c->io || smbq_io_on_thread(c->io))
    return SMBQ_ERR_INVAL;
  if (!c->transport_encrypted)
    return api_fail(c, SMBQ_ERR_UNSUPPORTED, 0,
                    "connection migration needs QUIC; %s is reached over "
                    "%s", c->server, c->transport);
  struct migration m = {.c = c};
  int rc = smbq_io_run_transport(c->io, migrate_on_io, &m);
  if (rc < 0) {
    if (m.err[0])
      set_errmsg(c, m.err);
    return rc;
  }
  conn_report(c, SMBQ_EVENT_MIGRATED);
  return 0;
}

static int parse_echo(void *ctx, uint32_t status, const uint8_t *msg,
                      size_t len) {
  (void)ctx, (void)status;
  return smb2_decode_empty_rsp(msg, len);
}

int smbq_echo(smbq_conn *c) {
  struct smb2_req *r = api_req(c, NULL, SMB2_ECHO, 4);
  if (!r)
    return SMBQ_ERR_NOMEM;
  smb2_req_set_body_len(r, (size_t)smb2_encode_empty_req(smb2_req_body(r),
                                                         4));
  uint32_t status;
  int rc = api_call1(c, r, parse_echo, NULL, &status);
  return rc < 0 ? api_fail(c, rc, status, "echo to %s failed", c->server)
                : 0;
}
