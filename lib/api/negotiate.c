/* NEGOTIATE: dialect, capabilities, and for 3.1.1 the preauth hash,
 * cipher and signing algorithm (MS-SMB2 3.2.4.2.2.2, 3.2.5.2). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/conn_internal.h"
#include "api/lease.h"
#include "smb2/smb2_pdu.h"
#include "smbq_utf16.h"

static const uint16_t all_dialects[] = {SMB2_DIALECT_202, SMB2_DIALECT_210,
                                        SMB2_DIALECT_300, SMB2_DIALECT_302,
                                        SMB2_DIALECT_311};

/* Preference orders, strongest common choice first, as Windows does. */
static const uint16_t cipher_prefs[] = {
    SMB2_CIPHER_AES128_GCM, SMB2_CIPHER_AES128_CCM, SMB2_CIPHER_AES256_GCM,
    SMB2_CIPHER_AES256_CCM};
static const uint16_t signing_prefs[] = {
    SMB2_SIGNING_AES_GMAC, SMB2_SIGNING_AES_CMAC, SMB2_SIGNING_HMAC_SHA256};

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

struct neg_ctx {
  smbq_conn *c;
  struct smb2_negotiate_rsp rsp;
  uint8_t *secbuf;
  size_t secbuf_len;
};

static int parse_negotiate(void *arg, uint32_t status, const uint8_t *msg,
                           size_t len) {
  struct neg_ctx *n = arg;
  if (status != NT_STATUS_SUCCESS)
    return api_status_err(status) ? api_status_err(status) : SMBQ_ERR_PROTO;
  int rc = smb2_decode_negotiate_rsp(msg, len, &n->rsp);
  if (rc < 0)
    return rc;
  /* The SPNEGO hint lives in the reply: copy it out. */
  if (n->rsp.security_len) {
    n->secbuf = malloc(n->rsp.security_len);
    if (!n->secbuf)
      return SMBQ_ERR_NOMEM;
    memcpy(n->secbuf, n->rsp.security_buffer, n->rsp.security_len);
    n->secbuf_len = n->rsp.security_len;
  }
  n->rsp.security_buffer = NULL;
  return 0;
}

static bool offered(const uint16_t *list, size_t n, uint16_t v) {
  for (size_t i = 0; i < n; i++)
    if (list[i] == v)
      return true;
  return false;
}

/* Check the reply against what we offered and record the outcome. */
static int accept_negotiate(smbq_conn *c, const struct smb2_negotiate_rsp *r,
                            const uint16_t *dialects, size_t nd) {
  if (!offered(dialects, nd, r->dialect))
    return api_fail(c, SMBQ_ERR_UNSUPPORTED, 0,
                    "server %s chose dialect 0x%04x, which was not offered "
                    "(offered %s); the server may require SMB1, which "
                    "smbq does not speak",
                    c->server, r->dialect, nd ? "2.0.2 to 3.1.1" : "none");
  c->dialect = r->dialect;
  c->server_caps = r->capabilities;
  c->server_security_mode = r->security_mode;
  memcpy(c->server_guid, r->server_guid, 16);
  bool large = c->dialect >= SMB2_DIALECT_210 &&
               (r->capabilities & SMB2_GLOBAL_CAP_LARGE_MTU);
  uint32_t cap = large ? 8u * 1024 * 1024 : 65536;
  c->max_read = r->max_read < cap ? r->max_read : cap;
  c->max_write = r->max_write < cap ? r->max_write : cap;
  c->max_transact = r->max_transact < cap ? r->max_transact : cap;
  if (c->max_read < 4096 || c->max_write < 4096)
    return api_fail(c, SMBQ_ERR_PROTO, 0,
                    "server %s offers a maximum read/write size below 4 KiB",
                    c->server);
  c->large_mtu = large;
  if (c->dialect == SMB2_DIALECT_311) {
    if (!r->has_preauth || r->preauth_hash != SMB2_PREAUTH_SHA512)
      return api_fail(c, SMBQ_ERR_PROTO, 0,
                      "server %s sent no SHA-512 preauth integrity context",
                      c->server);
    c->cipher = r->has_cipher ? r->cipher : 0;
    if (c->cipher && !offered(cipher_prefs, 4, c->cipher))
      return api_fail(c, SMBQ_ERR_PROTO, 0,
                      "server %s chose cipher 0x%04x, which was not offered",
                      c->server, c->cipher);
    /* 3.2.5.2: without a signing context, 3.1.1 signs with AES-CMAC. */
    c->signing_alg = r->has_signing ? r->signing_alg : SMB2_SIGNING_AES_CMAC;
    c->transport_security =
        c->transport_encrypted && r->has_transport_caps &&
        (r->transport_flags & SMB2_ACCEPT_TRANSPORT_LEVEL_SECURITY);
    if (!offered(signing_prefs, 3, c->signing_alg))
      return api_fail(c, SMBQ_ERR_PROTO, 0,
                      "server %s chose signing algorithm 0x%04x, which was "
                      "not offered", c->server, c->signing_alg);
  } else if (c->dialect >= SMB2_DIALECT_300) {
    c->cipher = (r->capabilities & SMB2_GLOBAL_CAP_ENCRYPTION)
                    ? SMB2_CIPHER_AES128_CCM
                    : 0;
    c->signing_alg = SMB2_SIGNING_AES_CMAC;
  } else {
    c->cipher = 0;
    c->signing_alg = SMB2_SIGNING_HMAC_SHA256;
  }
  return 0;
}

static void set_large_mtu(void *arg, struct smb2_conn *core) {
  smbq_conn *c = arg;
  smb2_conn_set_large_mtu(core, c->large_mtu);
  smb2_conn_set_timeout(core, c->opts.request_timeout_ms);
}

static struct smb2_req *build_negotiate(smbq_conn *c, const uint16_t *d,
                                        size_t nd, uint8_t *salt) {
  struct smb2_negotiate_req nr;
  memset(&nr, 0, sizeof(nr));
  nr.dialects = d;
  nr.n_dialects = nd;
  /* Always sign (MS-SMB2 3.2.4.2.2: clients may require it; secure by
   * default), so guest sessions that cannot sign are refused early. */
  nr.security_mode =
      SMB2_NEGOTIATE_SIGNING_ENABLED | SMB2_NEGOTIATE_SIGNING_REQUIRED;
  nr.capabilities = conn_client_caps(c);
  memcpy(nr.client_guid, c->client_guid, 16);
  nr.salt = salt;
  nr.salt_len = 32;
  nr.ciphers = cipher_prefs;
  nr.n_ciphers = 4;
  nr.signing_algs = signing_prefs;
  nr.n_signing_algs = 3;
  /* 2.2.3.1.5: over QUIC, offer to rely on the transport's TLS */
  nr.transport_caps = c->transport_encrypted;
  nr.transport_flags = SMB2_ACCEPT_TRANSPORT_LEVEL_SECURITY;
  uint8_t *netname = NULL;
  size_t netname_len = 0;
  if (smbq_utf8_to_utf16le(c->server, &netname, &netname_len) == 0) {
    nr.netname = netname;
    nr.netname_len = netname_len;
  }
  struct smb2_req *r = api_req(c, NULL, SMB2_NEGOTIATE, 512);
  long n = r ? smb2_encode_negotiate_req(smb2_req_body(r),
                                          smb2_req_body_cap(r), &nr)
             : SMBQ_ERR_NOMEM;
  free(netname);
  if (n < 0) {
    smb2_req_free(r);
    return NULL;
  }
  smb2_req_set_body_len(r, (size_t)n);
  return r;
}

int conn_negotiate(smbq_conn *c) {
  uint16_t dialects[8];
  size_t nd = conn_offered_dialects(c, dialects);
  if (nd == 0)
    return api_fail(c, SMBQ_ERR_INVAL, 0, "no SMB dialect left to offer");
  uint8_t salt[32];
  if (conn_random(c, salt, sizeof(salt)) < 0 ||
      conn_random(c, c->client_guid, 16) < 0)
    return api_fail(c, SMBQ_ERR_CRYPTO, 0, "no randomness available");
  struct smb2_req *r = build_negotiate(c, dialects, nd, salt);
  if (!r)
    return api_fail(c, SMBQ_ERR_NOMEM, 0, "negotiate");
  memset(c->preauth, 0, sizeof(c->preauth));
  bool offers_311 = dialects[nd - 1] == SMB2_DIALECT_311;
  r->preauth = offers_311 ? c->preauth : NULL;
  struct neg_ctx n = {.c = c};
  uint32_t status = 0;
  int rc = api_call1(c, r, parse_negotiate, &n, &status);
  if (rc < 0) {
    free(n.secbuf);
    if (c->transport_encrypted && status == NT_STATUS_NOT_SUPPORTED)
      /* MS-SMB2 2.1: SMB over QUIC carries dialect 3.1.1 only */
      return api_fail(c, rc, status,
                      "%s does not offer SMB 3.1.1, the only dialect SMB "
                      "over QUIC carries; upgrade the server or connect "
                      "over TCP", c->server);
    return api_fail(c, rc, status, "SMB negotiation with %s failed",
                    c->server);
  }
  rc = accept_negotiate(c, &n.rsp, dialects, nd);
  c->spnego_hint = n.secbuf;
  c->spnego_hint_len = n.secbuf_len;
  if (rc < 0)
    return rc;
  if (c->dialect != SMB2_DIALECT_311)
    memset(c->preauth, 0, sizeof(c->preauth));
  smbq_io_run(c->io, set_large_mtu, c);
  return 0;
}
