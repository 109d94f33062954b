/* smbq_conn: transport + I/O thread + negotiate + session. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/conn_internal.h"
#include "smb2/smb2_pdu.h"
#include "smbq_bytes.h"
#include "transport/transport.h"

smbq_conn *smbq_conn_new(const smbq_opts *o) {
  smbq_conn *c = calloc(1, sizeof(*c));
  if (!c)
    return NULL;
  if (api_opts_copy(&c->opts, o) < 0) {
    free(c);
    return NULL;
  }
  pthread_mutex_init(&c->lock, NULL);
  return c;
}

/* Wait (blocking, in the caller's thread) for a transport to connect. */
static int wait_connected(struct smbq_transport *tp) {
  for (;;) {
    int64_t now = smbq_now_ms();
    int rc = tp->ops->step(tp, now);
    if (rc != 0)
      return rc < 0 ? rc : 0;
    struct pollfd pfd = {.fd = tp->ops->fd(tp)};
    uint32_t ev = tp->ops->events(tp);
    pfd.events = (short)(((ev & SMBQ_TP_WANT_READ) ? POLLIN : 0) |
                         ((ev & SMBQ_TP_WANT_WRITE) ? POLLOUT : 0));
    int64_t d = tp->ops->deadline(tp);
    int timeout = d < 0 ? -1 : (d > now ? (int)(d - now) : 0);
    poll(&pfd, 1, timeout);
  }
}

static int open_transport(smbq_conn *c, struct smbq_transport **tp) {
  struct smbq_endpoint ep = {
      .host = c->server,
      .addr = c->opts.resolve,
      .port = c->opts.port,
      .timeout_ms = c->opts.connect_timeout_ms,
  };
  char err[256] = "";
  if (c->opts.transport == SMBQ_TRANSPORT_QUIC)
    return api_fail(c, SMBQ_ERR_UNSUPPORTED, 0,
                    "SMB over QUIC is not available in this version of "
                    "libsmbq; use --transport tcp");
  int rc = smbq_tcp_open(&ep, smbq_now_ms(), tp, err, sizeof(err));
  if (rc < 0) {
    pthread_mutex_lock(&c->lock);
    snprintf(c->errmsg, sizeof(c->errmsg), "%s", err);
    pthread_mutex_unlock(&c->lock);
    return rc;
  }
  rc = wait_connected(*tp);
  if (rc < 0) {
    pthread_mutex_lock(&c->lock);
    snprintf(c->errmsg, sizeof(c->errmsg), "%s", (*tp)->errmsg);
    pthread_mutex_unlock(&c->lock);
    smbq_transport_free(*tp);
    *tp = NULL;
    return rc;
  }
  snprintf(c->transport, sizeof(c->transport), "%s", (*tp)->ops->name);
  snprintf(c->peer, sizeof(c->peer), "%s", (*tp)->peer);
  return 0;
}

static int core_random(void *user, uint8_t *buf, size_t n) {
  return conn_random(user, buf, n);
}

int smbq_conn_connect(smbq_conn *c, const char *server) {
  if (!c || !server || !server[0] || c->io)
    return SMBQ_ERR_INVAL;
  snprintf(c->server, sizeof(c->server), "%s", server);
  struct smbq_transport *tp = NULL;
  int rc = open_transport(c, &tp);
  if (rc < 0)
    return rc;
  struct smb2_conn_env env = {.random = core_random, .user = c};
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
    rc = conn_session_setup(c);
  return rc;
}

void smbq_conn_free(smbq_conn *c) {
  if (!c)
    return;
  while (c->trees)
    smbq_tree_disconnect(c->trees);
  conn_logoff(c);
  smbq_io_stop(c->io);
  smbq_wipe(&c->sec, sizeof(c->sec));
  smbq_wipe(&c->enc_sec, sizeof(c->enc_sec));
  free(c->spnego_hint);
  api_opts_clear(&c->opts);
  pthread_mutex_destroy(&c->lock);
  free(c);
}

const char *conn_dialect_name(uint16_t d) {
  switch (d) {
  case SMB2_DIALECT_202:
    return "2.0.2";
  case SMB2_DIALECT_210:
    return "2.1";
  case SMB2_DIALECT_300:
    return "3.0";
  case SMB2_DIALECT_302:
    return "3.0.2";
  case SMB2_DIALECT_311:
    return "3.1.1";
  default:
    return "unknown";
  }
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
  snprintf(i->transport, sizeof(i->transport), "%s", c->transport);
  snprintf(i->dialect, sizeof(i->dialect), "%s",
           conn_dialect_name(c->dialect));
  const char *sig = c->sec.sign ? conn_signing_name(c->signing_alg) : "none";
  snprintf(i->signing, sizeof(i->signing), "%s", sig);
  snprintf(i->encryption, sizeof(i->encryption), "%s",
           c->sec.encrypt ? conn_cipher_name(c->cipher) : "none");
  snprintf(i->cipher, sizeof(i->cipher), "%s", conn_cipher_name(c->cipher));
  snprintf(i->auth, sizeof(i->auth), "%s", c->auth_mech);
  i->max_read = c->max_read;
  i->max_write = c->max_write;
  i->max_transact = c->max_transact;
  i->signing_required =
      (c->server_security_mode & SMB2_NEGOTIATE_SIGNING_REQUIRED) != 0;
  return 0;
}

static int parse_echo(void *ctx, uint32_t status, const uint8_t *msg,
                      size_t len) {
  (void)ctx;
  if (status)
    return api_status_err(status) ? api_status_err(status) : SMBQ_ERR_PROTO;
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
