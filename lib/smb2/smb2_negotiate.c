/* NEGOTIATE request and reply, with the 3.1.1 negotiate contexts
 * (MS-SMB2 2.2.3, 2.2.3.1, 2.2.4). */
#include <assert.h>
#include <string.h>

#include "smb2/smb2_pdu.h"
#include "smbq/smbq_err.h"
#include "smbq_bytes.h"

#define NEG_FIXED 36   /* body bytes before the dialect array */
#define CTX_HDR 8      /* ContextType, DataLength, Reserved */

static size_t align8(size_t n) { return (n + 7) & ~(size_t)7; }

static bool offers_311(const struct smb2_negotiate_req *r) {
  for (size_t i = 0; i < r->n_dialects; i++)
    if (r->dialects[i] == SMB2_DIALECT_311)
      return true;
  return false;
}

/* Data lengths of the contexts we send, in order; 0 = not sent. */
static void ctx_lengths(const struct smb2_negotiate_req *r, size_t len[5]) {
  len[0] = 4 + 2 + r->salt_len;                          /* 2.2.3.1.1 */
  len[1] = r->n_ciphers ? 2 + 2 * r->n_ciphers : 0;      /* 2.2.3.1.2 */
  len[2] = r->n_signing_algs ? 2 + 2 * r->n_signing_algs : 0; /* .1.7 */
  len[3] = r->netname_len;                               /* 2.2.3.1.4 */
  len[4] = r->transport_caps ? 4 : 0;                    /* 2.2.3.1.5 */
}

static const uint16_t ctx_types[5] = {
    SMB2_PREAUTH_INTEGRITY_CAPABILITIES, SMB2_ENCRYPTION_CAPABILITIES,
    SMB2_SIGNING_CAPABILITIES, SMB2_NETNAME_NEGOTIATE_CONTEXT_ID,
    SMB2_TRANSPORT_CAPABILITIES};

/* Header-relative offsets: contexts start 8-aligned after the dialects. */
static size_t ctx_start(const struct smb2_negotiate_req *r) {
  return align8(SMB2_HDR_SIZE + NEG_FIXED + 2 * r->n_dialects);
}

static uint8_t *put_ctx_data(uint8_t *p, size_t i,
                             const struct smb2_negotiate_req *r) {
  size_t k;
  switch (i) {
  case 0:
    p = smbq_put_le16(p, 1); /* HashAlgorithmCount */
    p = smbq_put_le16(p, (uint16_t)r->salt_len);
    p = smbq_put_le16(p, SMB2_PREAUTH_SHA512);
    return smbq_put_bytes(p, r->salt, r->salt_len);
  case 1:
    p = smbq_put_le16(p, (uint16_t)r->n_ciphers);
    for (k = 0; k < r->n_ciphers; k++)
      p = smbq_put_le16(p, r->ciphers[k]);
    return p;
  case 2:
    p = smbq_put_le16(p, (uint16_t)r->n_signing_algs);
    for (k = 0; k < r->n_signing_algs; k++)
      p = smbq_put_le16(p, r->signing_algs[k]);
    return p;
  case 3:
    return smbq_put_bytes(p, r->netname, r->netname_len);
  default:
    return smbq_put_le32(p, r->transport_flags);
  }
}

long smb2_encode_negotiate_req(uint8_t *out, size_t cap,
                               const struct smb2_negotiate_req *r) {
  if (r->n_dialects == 0 || r->n_dialects > 16 || r->salt_len > 64 ||
      r->n_ciphers > 8 || r->n_signing_algs > 8 || r->netname_len > 1024)
    return SMBQ_ERR_INVAL;
  bool ctx = offers_311(r);
  size_t lens[5];
  ctx_lengths(r, lens);
  size_t end = SMB2_HDR_SIZE + NEG_FIXED + 2 * r->n_dialects;
  size_t n_ctx = 0, first = ctx_start(r);
  if (ctx) {
    end = first;
    for (size_t i = 0; i < 5; i++) {
      if (!lens[i])
        continue;
      end = align8(end) + CTX_HDR + lens[i];
      n_ctx++;
    }
  }
  size_t len = end - SMB2_HDR_SIZE;
  if (len > cap)
    return SMBQ_ERR_BUFSMALL;
  memset(out, 0, len);
  uint8_t *p = out;
  p = smbq_put_le16(p, NEG_FIXED);
  p = smbq_put_le16(p, (uint16_t)r->n_dialects);
  p = smbq_put_le16(p, r->security_mode);
  p = smbq_put_le16(p, 0);
  p = smbq_put_le32(p, r->capabilities);
  p = smbq_put_bytes(p, r->client_guid, 16);
  p = smbq_put_le32(p, ctx ? (uint32_t)first : 0); /* NegotiateContextOffset */
  p = smbq_put_le16(p, (uint16_t)n_ctx);
  p = smbq_put_le16(p, 0);
  for (size_t i = 0; i < r->n_dialects; i++)
    p = smbq_put_le16(p, r->dialects[i]);
  if (ctx) {
    for (size_t i = 0; i < 5; i++) {
      if (!lens[i])
        continue;
      size_t at = align8((size_t)(p - out) + SMB2_HDR_SIZE) - SMB2_HDR_SIZE;
      p = out + at; /* padding already zeroed */
      p = smbq_put_le16(p, ctx_types[i]);
      p = smbq_put_le16(p, (uint16_t)lens[i]);
      p = smbq_put_le32(p, 0);
      p = put_ctx_data(p, i, r);
    }
  }
  assert((size_t)(p - out) == len);
  return (long)len;
}

/* One reply context. Unknown types are skipped (2.2.4). */
static int parse_ctx(uint16_t type, const uint8_t *d, size_t dl,
                     struct smb2_negotiate_rsp *r) {
  switch (type) {
  case SMB2_PREAUTH_INTEGRITY_CAPABILITIES: {
    if (dl < 4)
      return SMBQ_ERR_PROTO;
    uint16_t count = smbq_le16_at(d), salt = smbq_le16_at(d + 2);
    /* 3.2.5.2: exactly one hash algorithm in the reply */
    if (count != 1 || dl < 4 + 2u + salt || r->has_preauth)
      return SMBQ_ERR_PROTO;
    r->has_preauth = true;
    r->preauth_hash = smbq_le16_at(d + 4);
    r->preauth_salt = salt ? d + 6 : NULL;
    r->preauth_salt_len = salt;
    return 0;
  }
  case SMB2_ENCRYPTION_CAPABILITIES: /* 2.2.3.1.2: exactly one cipher */
    if (dl < 4 || smbq_le16_at(d) != 1 || r->has_cipher)
      return SMBQ_ERR_PROTO;
    r->has_cipher = true;
    r->cipher = smbq_le16_at(d + 2);
    return 0;
  case SMB2_SIGNING_CAPABILITIES: /* 2.2.3.1.7: exactly one algorithm */
    if (dl < 4 || smbq_le16_at(d) != 1 || r->has_signing)
      return SMBQ_ERR_PROTO;
    r->has_signing = true;
    r->signing_alg = smbq_le16_at(d + 2);
    return 0;
  case SMB2_TRANSPORT_CAPABILITIES: /* 2.2.3.1.5 */
    if (dl < 4 || r->has_transport_caps)
      return SMBQ_ERR_PROTO;
    r->has_transport_caps = true;
    r->transport_flags = smbq_le32_at(d);
    return 0;
  default:
    return 0;
  }
}

static int parse_contexts(const uint8_t *msg, size_t len, size_t off,
                          unsigned count, struct smb2_negotiate_rsp *r) {
  /* 2.2.4: NegotiateContextOffset names the first, 8-byte aligned context */
  if (off & 7)
    return SMBQ_ERR_PROTO;
  for (unsigned i = 0; i < count; i++) {
    /* each context starts 8-byte aligned (2.2.4) */
    off = align8(off);
    if (smbq_check_range(len, SMB2_HDR_SIZE + 64, off, CTX_HDR) < 0)
      return SMBQ_ERR_PROTO;
    uint16_t type = smbq_le16_at(msg + off);
    uint16_t dl = smbq_le16_at(msg + off + 2);
    if (dl && smbq_check_range(len, off + CTX_HDR, off + CTX_HDR, dl) < 0)
      return SMBQ_ERR_PROTO;
    int rc = parse_ctx(type, msg + off + CTX_HDR, dl, r);
    if (rc < 0)
      return rc;
    off += CTX_HDR + dl;
  }
  return 0;
}

int smb2_decode_negotiate_rsp(const uint8_t *msg, size_t len,
                              struct smb2_negotiate_rsp *r) {
  const uint8_t *b = msg + SMB2_HDR_SIZE;
  memset(r, 0, sizeof(*r));
  if (len < SMB2_HDR_SIZE + 64 || smbq_le16_at(b) != 65)
    return SMBQ_ERR_PROTO;
  r->security_mode = smbq_le16_at(b + 2);
  r->dialect = smbq_le16_at(b + 4);
  uint16_t n_ctx = smbq_le16_at(b + 6); /* Reserved before 3.1.1 */
  memcpy(r->server_guid, b + 8, 16);
  r->capabilities = smbq_le32_at(b + 24);
  r->max_transact = smbq_le32_at(b + 28);
  r->max_read = smbq_le32_at(b + 32);
  r->max_write = smbq_le32_at(b + 36);
  r->system_time = smbq_le64_at(b + 40);
  uint16_t sb_off = smbq_le16_at(b + 56), sb_len = smbq_le16_at(b + 58);
  uint32_t ctx_off = smbq_le32_at(b + 60);
  if (smb2_rsp_buffer(msg, len, 64, sb_off, sb_len, &r->security_buffer) < 0)
    return SMBQ_ERR_PROTO;
  r->security_len = sb_len;
  r->n_contexts = n_ctx;
  if (r->dialect != SMB2_DIALECT_311)
    return n_ctx ? SMBQ_ERR_PROTO : 0;
  if (n_ctx == 0)
    return SMBQ_ERR_PROTO; /* 3.1.1 requires the preauth context */
  return parse_contexts(msg, len, ctx_off, n_ctx, r);
}

const char *smb2_dialect_name(uint16_t d) {
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
