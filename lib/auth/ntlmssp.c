/* NTLMSSP client, NTLMv2 with extended session security, key exchange
 * and the AUTHENTICATE MIC (MS-NLMP 2.2, 3.1.5, 3.2.5, 3.3.2, 3.4.4). */
#include "auth/ntlmssp.h"

#include <assert.h>
#include <gnutls/crypto.h>
#include <nettle/arcfour.h>
#include <nettle/md4.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "auth/ntlmssp_internal.h"
#include "smbq/smbq_err.h"
#include "smbq_bytes.h"
#include "smbq_utf16.h"

/* NegotiateFlags (MS-NLMP 2.2.2.5) */
#define NTLMSSP_NEGOTIATE_UNICODE 0x00000001u
#define NTLMSSP_REQUEST_TARGET 0x00000004u
#define NTLMSSP_NEGOTIATE_SIGN 0x00000010u
#define NTLMSSP_NEGOTIATE_SEAL 0x00000020u
#define NTLMSSP_NEGOTIATE_NTLM 0x00000200u
#define NTLMSSP_NEGOTIATE_ANONYMOUS 0x00000800u
#define NTLMSSP_NEGOTIATE_ALWAYS_SIGN 0x00008000u
#define NTLMSSP_NEGOTIATE_ESS 0x00080000u
#define NTLMSSP_NEGOTIATE_TARGET_INFO 0x00800000u
#define NTLMSSP_NEGOTIATE_VERSION 0x02000000u
#define NTLMSSP_NEGOTIATE_128 0x20000000u
#define NTLMSSP_NEGOTIATE_KEY_EXCH 0x40000000u
#define NTLMSSP_NEGOTIATE_56 0x80000000u

#define CLIENT_FLAGS                                                        \
  (NTLMSSP_NEGOTIATE_UNICODE | NTLMSSP_REQUEST_TARGET |                     \
   NTLMSSP_NEGOTIATE_SIGN | NTLMSSP_NEGOTIATE_SEAL | NTLMSSP_NEGOTIATE_NTLM | \
   NTLMSSP_NEGOTIATE_ALWAYS_SIGN | NTLMSSP_NEGOTIATE_ESS |                  \
   NTLMSSP_NEGOTIATE_TARGET_INFO | NTLMSSP_NEGOTIATE_VERSION |              \
   NTLMSSP_NEGOTIATE_128 | NTLMSSP_NEGOTIATE_KEY_EXCH |                     \
   NTLMSSP_NEGOTIATE_56)

/* AV pair ids (2.2.2.1) */
#define AV_EOL 0
#define AV_FLAGS 6
#define AV_TIMESTAMP 7
#define AV_TARGET_NAME 9
#define AV_CHANNEL_BINDINGS 10
#define AV_FLAG_MIC 0x00000002u

#define NEG_LEN 40
#define AUTH_FIXED 88
#define MIC_OFFSET 72

/* The version we announce (2.2.2.10): 6.1 build 7600, NTLMSSP rev 15. */
static const uint8_t ntlm_version[8] = {6, 1, 0xB0, 0x1D, 0, 0, 0, 15};
static const uint8_t signature[8] = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0};

struct ntlmssp_ctx {
  struct ntlmssp_env env;
  char *user, *domain, *password, *workstation, *spn;
  uint8_t *negotiate;
  size_t negotiate_len;
  uint32_t flags;
  uint8_t exported_key[16];
  bool have_key;
  uint8_t sign_c2s[16], sign_s2c[16];
  struct arcfour_ctx seal_c2s, seal_s2c;
  uint32_t seq_c2s, seq_s2c;
};

static char *dup_or_empty(const char *s) { return strdup(s ? s : ""); }

static void free_secret(char *s) {
  if (s)
    smbq_wipe(s, strlen(s));
  free(s);
}

struct ntlmssp_ctx *ntlmssp_new(const struct ntlmssp_creds *creds,
                                const struct ntlmssp_env *env) {
  struct ntlmssp_ctx *c = calloc(1, sizeof(*c));
  if (!c)
    return NULL;
  c->env = *env;
  c->user = dup_or_empty(creds->user);
  c->domain = dup_or_empty(creds->domain);
  c->password = dup_or_empty(creds->password);
  c->workstation = dup_or_empty(creds->workstation);
  c->spn = dup_or_empty(creds->target_spn);
  if (!c->user || !c->domain || !c->password || !c->workstation || !c->spn) {
    ntlmssp_free(c);
    return NULL;
  }
  return c;
}

void ntlmssp_free(struct ntlmssp_ctx *c) {
  if (!c)
    return;
  free(c->user);
  free(c->domain);
  free_secret(c->password);
  free(c->workstation);
  free(c->spn);
  free(c->negotiate);
  smbq_wipe(c, sizeof(*c));
  free(c);
}

/* ---- primitives ---------------------------------------------------------- */

int ntlm_hmac_md5(const uint8_t *key, size_t klen, const uint8_t *a,
                  size_t alen, const uint8_t *b, size_t blen,
                  uint8_t out[16]) {
  gnutls_hmac_hd_t h;
  if (gnutls_hmac_init(&h, GNUTLS_MAC_MD5, key, klen) < 0)
    return SMBQ_ERR_CRYPTO;
  int rc = 0;
  if (alen)
    rc |= gnutls_hmac(h, a, alen);
  if (blen)
    rc |= gnutls_hmac(h, b, blen);
  gnutls_hmac_deinit(h, out);
  return rc < 0 ? SMBQ_ERR_CRYPTO : 0;
}

void ntlm_rc4(const uint8_t key[16], const uint8_t *in, size_t len,
              uint8_t *out) {
  struct arcfour_ctx rc4;
  arcfour_set_key(&rc4, 16, key);
  arcfour_crypt(&rc4, len, out, in);
  smbq_wipe(&rc4, sizeof(rc4));
}

/* Upper-casing of the NTOWFv2 user name (MS-NLMP 3.3.2 "Uppercase"):
 * the simple one-to-one mappings of the scripts user names are commonly
 * written in (Latin-1, Latin Extended-A, Greek, Cyrillic, fullwidth
 * Latin), which agree with Windows' RtlUpcaseUnicodeChar there. Characters
 * outside these ranges are left as they are. `step` 2 means every other
 * code point, starting at `first`, is a lower-case letter. */
struct upcase_range {
  uint16_t first, last;
  int16_t delta;
  uint8_t step;
};

static const struct upcase_range upcase_ranges[] = {
    {0x0061, 0x007A, -0x20, 1}, {0x00E0, 0x00F6, -0x20, 1},
    {0x00F8, 0x00FE, -0x20, 1}, {0x00FF, 0x00FF, 0x79, 1},
    {0x0101, 0x012F, -1, 2},    {0x0133, 0x0137, -1, 2},
    {0x013A, 0x0148, -1, 2},    {0x014B, 0x0177, -1, 2},
    {0x017A, 0x017E, -1, 2},    {0x03AC, 0x03AC, -0x26, 1},
    {0x03AD, 0x03AF, -0x25, 1}, {0x03B1, 0x03C1, -0x20, 1},
    {0x03C3, 0x03CB, -0x20, 1}, {0x03CC, 0x03CC, -0x40, 1},
    {0x03CD, 0x03CE, -0x3F, 1}, {0x0430, 0x044F, -0x20, 1},
    {0x0450, 0x045F, -0x50, 1}, {0xFF41, 0xFF5A, -0x20, 1},
};

static uint16_t upcase_unit(uint16_t u) {
  for (size_t i = 0; i < sizeof(upcase_ranges) / sizeof(upcase_ranges[0]);
       i++) {
    const struct upcase_range *r = &upcase_ranges[i];
    if (u >= r->first && u <= r->last && (u - r->first) % r->step == 0)
      return (uint16_t)(u + r->delta);
  }
  return u;
}

static void upcase_utf16(uint8_t *s, size_t len) {
  for (size_t i = 0; i + 1 < len; i += 2)
    smbq_put_le16(s + i, upcase_unit(smbq_le16_at(s + i)));
}

int ntlm_ntowfv2(const char *user, const char *domain, const char *password,
                 uint8_t out[16]) {
  uint8_t *pw = NULL, *u = NULL, *d = NULL, nt_hash[16];
  size_t pwl, ul, dl;
  int rc = SMBQ_ERR_INVAL;
  if (smbq_utf8_to_utf16le(password, &pw, &pwl) < 0 ||
      smbq_utf8_to_utf16le(user, &u, &ul) < 0 ||
      smbq_utf8_to_utf16le(domain, &d, &dl) < 0)
    goto out;
  struct md4_ctx md4;
  md4_init(&md4);
  md4_update(&md4, pwl, pw);
  md4_digest(&md4, sizeof(nt_hash), nt_hash);
  /* its block buffer still holds the tail of the UTF-16 password (all of
   * a password under 32 characters) */
  smbq_wipe(&md4, sizeof(md4));
  upcase_utf16(u, ul);
  rc = ntlm_hmac_md5(nt_hash, 16, u, ul, d, dl, out);
  smbq_wipe(nt_hash, sizeof(nt_hash));
out:
  if (pw)
    smbq_wipe(pw, pwl);
  free(pw);
  free(u);
  free(d);
  return rc;
}

int ntlm_proof(const uint8_t key[16], const uint8_t server_challenge[8],
               const uint8_t *temp, size_t temp_len, uint8_t out[16]) {
  return ntlm_hmac_md5(key, 16, server_challenge, 8, temp, temp_len, out);
}

int ntlm_lmv2(const uint8_t key[16], const uint8_t server_challenge[8],
              const uint8_t client_challenge[8], uint8_t out[24]) {
  memcpy(out + 16, client_challenge, 8);
  return ntlm_hmac_md5(key, 16, server_challenge, 8, client_challenge, 8,
                       out);
}

/* ---- NEGOTIATE ------------------------------------------------------------ */

int ntlmssp_negotiate(struct ntlmssp_ctx *c, uint8_t **out, size_t *outlen) {
  uint8_t *m = calloc(1, NEG_LEN);
  if (!m)
    return SMBQ_ERR_NOMEM;
  uint8_t *p = m;
  uint32_t flags = CLIENT_FLAGS;
  if (!c->user[0] && !c->password[0])
    flags |= NTLMSSP_NEGOTIATE_ANONYMOUS;
  p = smbq_put_bytes(p, signature, 8);
  p = smbq_put_le32(p, 1);
  p = smbq_put_le32(p, flags);
  p = smbq_put_zero(p, 8); /* DomainNameFields: none */
  p = smbq_put_zero(p, 8); /* WorkstationFields: none */
  p = smbq_put_bytes(p, ntlm_version, 8);
  assert((size_t)(p - m) == NEG_LEN);
  free(c->negotiate);
  c->negotiate = malloc(NEG_LEN);
  if (!c->negotiate) {
    free(m);
    return SMBQ_ERR_NOMEM;
  }
  memcpy(c->negotiate, m, NEG_LEN);
  c->negotiate_len = NEG_LEN;
  *out = m;
  *outlen = NEG_LEN;
  return 0;
}

/* ---- CHALLENGE ------------------------------------------------------------ */

struct challenge {
  uint32_t flags;
  uint8_t server_challenge[8];
  const uint8_t *target_info;
  size_t target_info_len; /* AV pairs before MsvAvEOL */
  bool has_timestamp;
  uint64_t timestamp;
  uint32_t av_flags;
};

/* Walk AV pairs (MS-NLMP 2.2.2.1) with bounds checks; MsvAvEOL must end
 * them. */
static int parse_av_pairs(const uint8_t *p, size_t len, struct challenge *ch,
                          size_t *used) {
  size_t off = 0;
  while (len - off >= 4) {
    uint16_t id = smbq_le16_at(p + off), alen = smbq_le16_at(p + off + 2);
    if (smbq_check_range(len, off + 4, off + 4, alen) < 0)
      return SMBQ_ERR_PROTO;
    const uint8_t *v = p + off + 4;
    if (id == AV_EOL) {
      *used = off;
      return 0;
    }
    if (id == AV_TIMESTAMP && alen == 8) {
      ch->has_timestamp = true;
      ch->timestamp = smbq_le64_at(v);
    } else if (id == AV_FLAGS && alen == 4) {
      ch->av_flags = smbq_le32_at(v);
    }
    off += 4 + (size_t)alen;
  }
  return SMBQ_ERR_PROTO; /* no MsvAvEOL */
}

/* MS-NLMP 2.2.1.2: fixed part is 48 bytes (Version, when present, lies
 * inside the payload area the offsets may point past). */
#define CHAL_FIXED 48

static int parse_challenge(const uint8_t *m, size_t len,
                           struct challenge *ch) {
  memset(ch, 0, sizeof(*ch));
  if (len < CHAL_FIXED || memcmp(m, signature, 8) != 0 ||
      smbq_le32_at(m + 8) != 2)
    return SMBQ_ERR_PROTO;
  uint16_t tn_len = smbq_le16_at(m + 12);
  uint32_t tn_off = smbq_le32_at(m + 16);
  ch->flags = smbq_le32_at(m + 20);
  memcpy(ch->server_challenge, m + 24, 8);
  uint16_t ti_len = smbq_le16_at(m + 40);
  uint32_t ti_off = smbq_le32_at(m + 44);
  if (smbq_check_range(len, CHAL_FIXED, tn_off, tn_len) < 0 ||
      smbq_check_range(len, CHAL_FIXED, ti_off, ti_len) < 0)
    return SMBQ_ERR_PROTO;
  if (!(ch->flags & NTLMSSP_NEGOTIATE_TARGET_INFO) || ti_len == 0)
    return SMBQ_ERR_UNSUPPORTED; /* NTLMv2 needs the target info */
  size_t used = 0;
  int rc = parse_av_pairs(m + ti_off, ti_len, ch, &used);
  if (rc < 0)
    return rc;
  ch->target_info = m + ti_off;
  ch->target_info_len = used;
  return 0;
}

/* We speak only NTLMv2 with extended session security, 128-bit keys and
 * Unicode strings (MS-NLMP 3.1.5.1.2); refuse servers that offer less. */
static int check_server_flags(uint32_t flags) {
  const uint32_t need = NTLMSSP_NEGOTIATE_UNICODE | NTLMSSP_NEGOTIATE_ESS |
                        NTLMSSP_NEGOTIATE_128;
  return (flags & need) == need ? 0 : SMBQ_ERR_UNSUPPORTED;
}

/* ---- AUTHENTICATE --------------------------------------------------------- */

static uint8_t *put_av(uint8_t *p, uint16_t id, const void *v, size_t len) {
  p = smbq_put_le16(p, id);
  p = smbq_put_le16(p, (uint16_t)len);
  return smbq_put_bytes(p, v, len);
}

/* Server AV pairs we replace with our own in the temp blob. */
static bool av_is_ours(uint16_t id) {
  return id == AV_FLAGS || id == AV_TARGET_NAME || id == AV_CHANNEL_BINDINGS;
}

static size_t server_avs_size(const struct challenge *ch) {
  size_t n = 0;
  for (size_t off = 0; off < ch->target_info_len;) {
    const uint8_t *a = ch->target_info + off;
    size_t alen = 4 + (size_t)smbq_le16_at(a + 2);
    if (!av_is_ours(smbq_le16_at(a)))
      n += alen;
    off += alen;
  }
  return n;
}

static uint8_t *put_server_avs(uint8_t *p, const struct challenge *ch) {
  for (size_t off = 0; off < ch->target_info_len;) {
    const uint8_t *a = ch->target_info + off;
    size_t alen = 4 + (size_t)smbq_le16_at(a + 2);
    if (!av_is_ours(smbq_le16_at(a)))
      p = smbq_put_bytes(p, a, alen);
    off += alen;
  }
  return p;
}

/* The NTLMv2 "temp" blob (MS-NLMP 3.3.2, 2.2.2.7): the server's AV pairs
 * plus MsvAvFlags (MIC present, 3.1.5.1.2), MsvAvTargetName when an SPN
 * was given, MsvAvChannelBindings of zeros (no TLS channel), MsvAvEOL. */
static int build_temp(struct ntlmssp_ctx *c, const struct challenge *ch,
                      uint64_t ts, const uint8_t cc[8], uint8_t **out,
                      size_t *outlen) {
  uint8_t *spn = NULL, flags[4], cb[16] = {0};
  size_t spn_len = 0;
  if (c->spn[0] && smbq_utf8_to_utf16le(c->spn, &spn, &spn_len) < 0)
    return SMBQ_ERR_INVAL;
  if (spn_len > 0xFFFF) {
    free(spn);
    return SMBQ_ERR_INVAL;
  }
  size_t len = 28 + server_avs_size(ch) + (4 + 4) +
               (spn ? 4 + spn_len : 0) + (4 + 16) + 4 + 4;
  uint8_t *t = malloc(len), *p = t;
  if (!t) {
    free(spn);
    return SMBQ_ERR_NOMEM;
  }
  p = smbq_put_u8(p, 1); /* RespType */
  p = smbq_put_u8(p, 1); /* HiRespType */
  p = smbq_put_zero(p, 6);
  p = smbq_put_le64(p, ts);
  p = smbq_put_bytes(p, cc, 8);
  p = smbq_put_zero(p, 4);
  p = put_server_avs(p, ch);
  smbq_put_le32(flags, ch->av_flags | AV_FLAG_MIC);
  p = put_av(p, AV_FLAGS, flags, 4);
  if (spn)
    p = put_av(p, AV_TARGET_NAME, spn, spn_len);
  p = put_av(p, AV_CHANNEL_BINDINGS, cb, 16);
  p = put_av(p, AV_EOL, NULL, 0);
  p = smbq_put_zero(p, 4);
  assert((size_t)(p - t) == len);
  free(spn);
  *out = t;
  *outlen = len;
  return 0;
}

static uint8_t *put_field(uint8_t *hdr, uint8_t *base, size_t *payload_off,
                          const uint8_t *data, size_t len) {
  hdr = smbq_put_le16(hdr, (uint16_t)len);
  hdr = smbq_put_le16(hdr, (uint16_t)len);
  hdr = smbq_put_le32(hdr, (uint32_t)*payload_off);
  smbq_put_bytes(base + *payload_off, data, len);
  *payload_off += len;
  return hdr;
}

struct auth_parts {
  const uint8_t *lm, *nt, *dom, *user, *ws, *key;
  size_t lm_len, nt_len, dom_len, user_len, ws_len, key_len;
};

/* AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3) with Version and a zero MIC. */
static int assemble_auth(struct ntlmssp_ctx *c, const struct auth_parts *a,
                         uint8_t **out, size_t *outlen) {
  size_t len = AUTH_FIXED + a->lm_len + a->nt_len + a->dom_len +
               a->user_len + a->ws_len + a->key_len;
  if (len > 0xFFFF)
    return SMBQ_ERR_INVAL; /* every field length must fit 16 bits */
  uint8_t *m = malloc(len);
  if (!m)
    return SMBQ_ERR_NOMEM;
  size_t off = AUTH_FIXED;
  uint8_t *p = smbq_put_bytes(m, signature, 8);
  p = smbq_put_le32(p, 3);
  p = put_field(p, m, &off, a->lm, a->lm_len);
  p = put_field(p, m, &off, a->nt, a->nt_len);
  p = put_field(p, m, &off, a->dom, a->dom_len);
  p = put_field(p, m, &off, a->user, a->user_len);
  p = put_field(p, m, &off, a->ws, a->ws_len);
  p = put_field(p, m, &off, a->key, a->key_len);
  p = smbq_put_le32(p, c->flags);
  p = smbq_put_bytes(p, ntlm_version, 8);
  p = smbq_put_zero(p, 16); /* MIC, filled in by add_mic() */
  assert((size_t)(p - m) == AUTH_FIXED && off == len);
  *out = m;
  *outlen = len;
  return 0;
}

static int md5_two(const uint8_t *a, size_t al, const char *b, size_t bl,
                   uint8_t out[16]) {
  gnutls_hash_hd_t h;
  if (gnutls_hash_init(&h, GNUTLS_DIG_MD5) < 0)
    return SMBQ_ERR_CRYPTO;
  int rc = gnutls_hash(h, a, al) | gnutls_hash(h, b, bl);
  gnutls_hash_deinit(h, out);
  return rc < 0 ? SMBQ_ERR_CRYPTO : 0;
}

/* MS-NLMP 3.4.5.2 SIGNKEY and 3.4.5.3 SEALKEY (128-bit), both directions;
 * the constants include their terminating NUL. */
static int derive_signing(struct ntlmssp_ctx *c) {
  static const char c2s_sign[] =
      "session key to client-to-server signing key magic constant";
  static const char s2c_sign[] =
      "session key to server-to-client signing key magic constant";
  static const char c2s_seal[] =
      "session key to client-to-server sealing key magic constant";
  static const char s2c_seal[] =
      "session key to server-to-client sealing key magic constant";
  uint8_t seal_c2s[16], seal_s2c[16];
  const uint8_t *k = c->exported_key;
  int rc = 0;
  rc |= md5_two(k, 16, c2s_sign, sizeof(c2s_sign), c->sign_c2s);
  rc |= md5_two(k, 16, s2c_sign, sizeof(s2c_sign), c->sign_s2c);
  rc |= md5_two(k, 16, c2s_seal, sizeof(c2s_seal), seal_c2s);
  rc |= md5_two(k, 16, s2c_seal, sizeof(s2c_seal), seal_s2c);
  arcfour_set_key(&c->seal_c2s, 16, seal_c2s);
  arcfour_set_key(&c->seal_s2c, 16, seal_s2c);
  smbq_wipe(seal_c2s, sizeof(seal_c2s));
  smbq_wipe(seal_s2c, sizeof(seal_s2c));
  c->seq_c2s = c->seq_s2c = 0;
  return rc ? SMBQ_ERR_CRYPTO : 0;
}

/* MS-NLMP 3.2.5.1.2 anonymous AUTHENTICATE: LmChallengeResponse Z(1), no
 * NtChallengeResponse, no names, no session key, no MIC. The context then
 * has no session key (ntlmssp_session_key/sign/verify fail). */
static int anonymous_auth(struct ntlmssp_ctx *c, uint8_t **out,
                          size_t *outlen) {
  static const uint8_t z = 0;
  struct auth_parts a = {.lm = &z, .lm_len = 1};
  c->flags |= NTLMSSP_NEGOTIATE_ANONYMOUS;
  /* No session key to exchange: KEY_EXCH with an empty
   * EncryptedRandomSessionKey is refused (Samba: STATUS_INVALID_PARAMETER,
   * "KEY_EXCH session key was of invalid length (0)"). */
  c->flags &= ~NTLMSSP_NEGOTIATE_KEY_EXCH;
  c->have_key = false;
  return assemble_auth(c, &a, out, outlen);
}

/* Responses of MS-NLMP 3.3.2 for one CHALLENGE. */
struct ntlmv2_resp {
  uint8_t *nt; /* NTProofStr || temp, malloc'd */
  size_t nt_len;
  uint8_t lm[24];
  uint8_t base[16]; /* SessionBaseKey (secret) */
};

static int compute_responses(struct ntlmssp_ctx *c,
                             const struct challenge *ch,
                             struct ntlmv2_resp *r) {
  uint8_t rk[16], cc[8], *temp = NULL;
  size_t temp_len = 0;
  uint64_t ts =
      ch->has_timestamp ? ch->timestamp : c->env.filetime(c->env.user);
  int rc = c->env.random(c->env.user, cc, sizeof(cc)) < 0 ? SMBQ_ERR_CRYPTO
                                                          : 0;
  if (rc == 0)
    rc = ntlm_ntowfv2(c->user, c->domain, c->password, rk);
  if (rc == 0)
    rc = build_temp(c, ch, ts, cc, &temp, &temp_len);
  if (rc == 0 && !(r->nt = malloc(16 + temp_len)))
    rc = SMBQ_ERR_NOMEM;
  if (rc == 0)
    rc = ntlm_proof(rk, ch->server_challenge, temp, temp_len, r->nt);
  if (rc == 0)
    rc = ntlm_hmac_md5(rk, 16, r->nt, 16, NULL, 0, r->base);
  /* With MsvAvTimestamp the LmChallengeResponse is Z(24) (3.1.5.1.2);
   * otherwise the LMv2 response (ResponseKeyLM == ResponseKeyNT). */
  memset(r->lm, 0, sizeof(r->lm));
  if (rc == 0 && !ch->has_timestamp)
    rc = ntlm_lmv2(rk, ch->server_challenge, cc, r->lm);
  if (rc == 0) {
    memcpy(r->nt + 16, temp, temp_len);
    r->nt_len = 16 + temp_len;
  }
  smbq_wipe(rk, sizeof(rk));
  free(temp);
  return rc;
}

/* KeyExchangeKey is SessionBaseKey for NTLMv2 (3.4.5.1); with KEY_EXCH the
 * ExportedSessionKey is random and sent RC4-encrypted under it (3.1.5.1.2).
 * Returns the length of the encrypted key (0 or 16). */
static int key_exchange(struct ntlmssp_ctx *c, const uint8_t base[16],
                        uint8_t enc_key[16]) {
  if (!(c->flags & NTLMSSP_NEGOTIATE_KEY_EXCH)) {
    memcpy(c->exported_key, base, 16);
    return 0;
  }
  if (c->env.random(c->env.user, c->exported_key, 16) < 0)
    return SMBQ_ERR_CRYPTO;
  ntlm_rc4(base, c->exported_key, 16, enc_key);
  return 16;
}

struct names {
  uint8_t *user, *dom, *ws;
  size_t user_len, dom_len, ws_len;
};

static void free_names(struct names *n) {
  free(n->user);
  free(n->dom);
  free(n->ws);
}

static int encode_names(const struct ntlmssp_ctx *c, struct names *n) {
  memset(n, 0, sizeof(*n));
  if (smbq_utf8_to_utf16le(c->user, &n->user, &n->user_len) < 0 ||
      smbq_utf8_to_utf16le(c->domain, &n->dom, &n->dom_len) < 0 ||
      smbq_utf8_to_utf16le(c->workstation, &n->ws, &n->ws_len) < 0) {
    free_names(n);
    return SMBQ_ERR_INVAL;
  }
  return 0;
}

static int ntlmv2_auth(struct ntlmssp_ctx *c, const struct challenge *ch,
                       uint8_t **out, size_t *outlen) {
  struct ntlmv2_resp r = {0};
  struct names n;
  uint8_t enc_key[16];
  int rc = encode_names(c, &n);
  if (rc < 0)
    return rc;
  int key_len = rc = compute_responses(c, ch, &r);
  if (rc == 0)
    key_len = rc = key_exchange(c, r.base, enc_key);
  if (rc >= 0) {
    struct auth_parts a = {
        .lm = r.lm, .lm_len = 24, .nt = r.nt, .nt_len = r.nt_len,
        .dom = n.dom, .dom_len = n.dom_len, .user = n.user,
        .user_len = n.user_len, .ws = n.ws, .ws_len = n.ws_len,
        .key = enc_key, .key_len = (size_t)key_len};
    rc = assemble_auth(c, &a, out, outlen);
  }
  if (rc == 0)
    rc = derive_signing(c);
  if (rc == 0)
    c->have_key = true;
  smbq_wipe(r.base, sizeof(r.base));
  free(r.nt);
  free_names(&n);
  return rc;
}

/* MIC = HMAC_MD5(ExportedSessionKey, NEGOTIATE || CHALLENGE ||
 * AUTHENTICATE) with the MIC field zero (MS-NLMP 3.1.5.1.2). */
static int add_mic(struct ntlmssp_ctx *c, const uint8_t *chal, size_t len,
                   uint8_t *auth, size_t auth_len) {
  gnutls_hmac_hd_t h;
  if (gnutls_hmac_init(&h, GNUTLS_MAC_MD5, c->exported_key, 16) < 0)
    return SMBQ_ERR_CRYPTO;
  int rc = gnutls_hmac(h, c->negotiate, c->negotiate_len) |
           gnutls_hmac(h, chal, len) | gnutls_hmac(h, auth, auth_len);
  gnutls_hmac_deinit(h, auth + MIC_OFFSET);
  return rc < 0 ? SMBQ_ERR_CRYPTO : 0;
}

int ntlmssp_authenticate(struct ntlmssp_ctx *c, const uint8_t *chal,
                         size_t len, uint8_t **out, size_t *outlen) {
  *out = NULL;
  *outlen = 0;
  if (!c->negotiate)
    return SMBQ_ERR_INVAL;
  struct challenge ch;
  int rc = parse_challenge(chal, len, &ch);
  if (rc == 0)
    rc = check_server_flags(ch.flags);
  if (rc < 0)
    return rc;
  c->flags = ch.flags & CLIENT_FLAGS;
  c->have_key = false;
  if (!c->user[0] && !c->password[0])
    return anonymous_auth(c, out, outlen);
  rc = ntlmv2_auth(c, &ch, out, outlen);
  if (rc == 0)
    rc = add_mic(c, chal, len, *out, *outlen);
  if (rc < 0) {
    free(*out);
    *out = NULL;
    *outlen = 0;
    c->have_key = false;
  }
  return rc;
}

int ntlmssp_session_key(const struct ntlmssp_ctx *c, uint8_t key[16]) {
  if (!c->have_key)
    return SMBQ_ERR_INVAL;
  memcpy(key, c->exported_key, 16);
  return 0;
}

/* 3.4.4.2: Version(1) || RC4(HMAC_MD5(SignKey, seq || msg)[0..8]) || seq */
static int mac(const uint8_t key[16], struct arcfour_ctx *rc4, uint32_t seq,
               bool key_exch, const uint8_t *msg, size_t len,
               uint8_t sig[16]) {
  uint8_t seqb[4], full[16];
  smbq_put_le32(seqb, seq);
  int rc = ntlm_hmac_md5(key, 16, seqb, 4, msg, len, full);
  if (rc < 0)
    return rc;
  smbq_put_le32(sig, 1);
  if (key_exch)
    arcfour_crypt(rc4, 8, sig + 4, full);
  else
    memcpy(sig + 4, full, 8);
  memcpy(sig + 12, seqb, 4);
  return 0;
}

int ntlmssp_sign(struct ntlmssp_ctx *c, const uint8_t *msg, size_t len,
                 uint8_t sig[16]) {
  if (!c->have_key)
    return SMBQ_ERR_INVAL;
  return mac(c->sign_c2s, &c->seal_c2s, c->seq_c2s++,
             c->flags & NTLMSSP_NEGOTIATE_KEY_EXCH, msg, len, sig);
}

int ntlmssp_verify(struct ntlmssp_ctx *c, const uint8_t *msg, size_t len,
                   const uint8_t sig[16]) {
  uint8_t want[16];
  if (!c->have_key)
    return SMBQ_ERR_INVAL;
  int rc = mac(c->sign_s2c, &c->seal_s2c, c->seq_s2c++,
               c->flags & NTLMSSP_NEGOTIATE_KEY_EXCH, msg, len, want);
  if (rc < 0)
    return rc;
  uint8_t diff = 0;
  for (size_t i = 0; i < 16; i++)
    diff |= (uint8_t)(want[i] ^ sig[i]);
  return diff ? SMBQ_ERR_SIGNATURE : 0;
}
