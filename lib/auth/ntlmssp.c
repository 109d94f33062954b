/* NTLMSSP client, NTLMv2 with extended session security, key exchange
 * and the AUTHENTICATE MIC (MS-NLMP 2.2, 3.1.5, 3.2.5, 3.3.2, 3.4.4). */
#include "auth/ntlmssp.h"

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
  if (alen)
    gnutls_hmac(h, a, alen);
  if (blen)
    gnutls_hmac(h, b, blen);
  gnutls_hmac_deinit(h, out);
  return 0;
}

void ntlm_rc4(const uint8_t key[16], const uint8_t *in, size_t len,
              uint8_t *out) {
  struct arcfour_ctx rc4;
  arcfour_set_key(&rc4, 16, key);
  arcfour_crypt(&rc4, len, out, in);
  smbq_wipe(&rc4, sizeof(rc4));
}

/* Upper-case for the NTOWFv2 user name: ASCII and Latin-1 letters, as
 * Windows' RtlUpcaseUnicodeString does for those ranges. */
static void upcase_utf16(uint8_t *s, size_t len) {
  for (size_t i = 0; i + 1 < len; i += 2) {
    uint16_t u = smbq_le16_at(s + i);
    if ((u >= 'a' && u <= 'z') || (u >= 0xE0 && u <= 0xFE && u != 0xF7))
      smbq_put_le16(s + i, (uint16_t)(u - 0x20));
  }
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
  (void)p;
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
  size_t target_info_len;
  bool has_timestamp;
  uint64_t timestamp;
  uint32_t av_flags;
};

/* Walk AV pairs (2.2.2.1) with bounds checks; MsvAvEOL must end them. */
static int parse_av_pairs(const uint8_t *p, size_t len, struct challenge *ch,
                          size_t *used) {
  size_t off = 0;
  while (off + 4 <= len) {
    uint16_t id = smbq_le16_at(p + off), alen = smbq_le16_at(p + off + 2);
    if (alen > len - off - 4)
      return SMBQ_ERR_PROTO;
    const uint8_t *v = p + off + 4;
    if (id == AV_EOL) {
      *used = off; /* pairs before EOL */
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

static int parse_challenge(const uint8_t *m, size_t len,
                           struct challenge *ch) {
  memset(ch, 0, sizeof(*ch));
  if (len < 48 || memcmp(m, signature, 8) != 0 || smbq_le32_at(m + 8) != 2)
    return SMBQ_ERR_PROTO;
  uint16_t tn_len = smbq_le16_at(m + 12);
  uint32_t tn_off = smbq_le32_at(m + 16);
  ch->flags = smbq_le32_at(m + 20);
  memcpy(ch->server_challenge, m + 24, 8);
  uint16_t ti_len = smbq_le16_at(m + 40);
  uint32_t ti_off = smbq_le32_at(m + 44);
  if (smbq_check_range(len, 48, tn_off, tn_len) < 0 ||
      smbq_check_range(len, 48, ti_off, ti_len) < 0)
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

/* ---- AUTHENTICATE --------------------------------------------------------- */

static uint8_t *put_av(uint8_t *p, uint16_t id, const void *v, size_t len) {
  p = smbq_put_le16(p, id);
  p = smbq_put_le16(p, (uint16_t)len);
  return smbq_put_bytes(p, v, len);
}

/* The NTLMv2 "temp" blob (3.3.2) with our AV pairs added: MsvAvFlags
 * (MIC present), the target SPN, empty channel bindings, EOL. */
static int build_temp(struct ntlmssp_ctx *c, const struct challenge *ch,
                      const uint8_t cc[8], uint8_t **out, size_t *outlen) {
  uint8_t *spn = NULL;
  size_t spn_len = 0;
  if (c->spn[0] && smbq_utf8_to_utf16le(c->spn, &spn, &spn_len) < 0)
    return SMBQ_ERR_INVAL;
  /* server pairs minus any MsvAvFlags (we re-add it with the MIC bit) */
  size_t len = 28 + ch->target_info_len + 8 + (spn ? 4 + spn_len : 0) +
               20 + 4 + 4;
  uint8_t *t = calloc(1, len);
  if (!t) {
    free(spn);
    return SMBQ_ERR_NOMEM;
  }
  uint64_t ts = ch->has_timestamp ? ch->timestamp : c->env.filetime(c->env.user);
  uint8_t *p = t;
  p = smbq_put_u8(p, 1);
  p = smbq_put_u8(p, 1);
  p = smbq_put_zero(p, 6);
  p = smbq_put_le64(p, ts);
  p = smbq_put_bytes(p, cc, 8);
  p = smbq_put_zero(p, 4);
  for (size_t off = 0; off < ch->target_info_len;) {
    const uint8_t *a = ch->target_info + off;
    uint16_t id = smbq_le16_at(a), alen = smbq_le16_at(a + 2);
    if (id != AV_FLAGS)
      p = smbq_put_bytes(p, a, 4 + (size_t)alen);
    off += 4 + (size_t)alen;
  }
  uint8_t flags[4], cb[16] = {0};
  smbq_put_le32(flags, ch->av_flags | AV_FLAG_MIC);
  p = put_av(p, AV_FLAGS, flags, 4);
  if (spn)
    p = put_av(p, AV_TARGET_NAME, spn, spn_len);
  p = put_av(p, AV_CHANNEL_BINDINGS, cb, 16);
  p = put_av(p, AV_EOL, NULL, 0);
  p = smbq_put_zero(p, 4);
  free(spn);
  *out = t;
  *outlen = (size_t)(p - t);
  return 0;
}

static uint8_t *put_field(uint8_t *hdr, uint8_t *base, size_t *payload_off,
                          const uint8_t *data, size_t len) {
  hdr = smbq_put_le16(hdr, (uint16_t)len);
  hdr = smbq_put_le16(hdr, (uint16_t)len);
  hdr = smbq_put_le32(hdr, (uint32_t)*payload_off);
  if (len)
    memcpy(base + *payload_off, data, len);
  *payload_off += len;
  return hdr;
}

struct auth_parts {
  const uint8_t *lm, *nt, *dom, *user, *ws, *key;
  size_t lm_len, nt_len, dom_len, user_len, ws_len, key_len;
};

static int assemble_auth(struct ntlmssp_ctx *c, const struct auth_parts *a,
                         uint8_t **out, size_t *outlen) {
  size_t len = AUTH_FIXED + a->lm_len + a->nt_len + a->dom_len +
               a->user_len + a->ws_len + a->key_len;
  if (len > 0xFFFF)
    return SMBQ_ERR_INVAL;
  uint8_t *m = calloc(1, len);
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
  (void)p; /* MIC (16 zero bytes) at 72, filled by the caller */
  *out = m;
  *outlen = len;
  return 0;
}

static void md5_two(const uint8_t *a, size_t al, const char *b, size_t bl,
                    uint8_t out[16]) {
  gnutls_hash_hd_t h;
  gnutls_hash_init(&h, GNUTLS_DIG_MD5);
  gnutls_hash(h, a, al);
  gnutls_hash(h, b, bl);
  gnutls_hash_deinit(h, out);
}

/* 3.4.5.2 / 3.4.5.3: signing and sealing keys for both directions. */
static void derive_signing(struct ntlmssp_ctx *c) {
  static const char c2s_sign[] =
      "session key to client-to-server signing key magic constant";
  static const char s2c_sign[] =
      "session key to server-to-client signing key magic constant";
  static const char c2s_seal[] =
      "session key to client-to-server sealing key magic constant";
  static const char s2c_seal[] =
      "session key to server-to-client sealing key magic constant";
  uint8_t seal[16];
  md5_two(c->exported_key, 16, c2s_sign, sizeof(c2s_sign), c->sign_c2s);
  md5_two(c->exported_key, 16, s2c_sign, sizeof(s2c_sign), c->sign_s2c);
  md5_two(c->exported_key, 16, c2s_seal, sizeof(c2s_seal), seal);
  arcfour_set_key(&c->seal_c2s, 16, seal);
  md5_two(c->exported_key, 16, s2c_seal, sizeof(s2c_seal), seal);
  arcfour_set_key(&c->seal_s2c, 16, seal);
  smbq_wipe(seal, sizeof(seal));
  c->seq_c2s = c->seq_s2c = 0;
}

static int anonymous_auth(struct ntlmssp_ctx *c, uint8_t **out,
                          size_t *outlen) {
  static const uint8_t z = 0;
  struct auth_parts a = {.lm = &z, .lm_len = 1};
  c->flags |= NTLMSSP_NEGOTIATE_ANONYMOUS;
  c->have_key = false;
  return assemble_auth(c, &a, out, outlen);
}

/* NTLMv2 responses and keys (3.3.2, 3.1.5.1.2). */
static int ntlmv2_auth(struct ntlmssp_ctx *c, const struct challenge *ch,
                       uint8_t **out, size_t *outlen) {
  uint8_t rk[16], cc[8], proof[16], base[16], enc_key[16];
  uint8_t *temp = NULL, *nt = NULL, *u = NULL, *d = NULL, *ws = NULL;
  size_t temp_len, ul, dl, wl;
  int rc = c->env.random(c->env.user, cc, sizeof(cc));
  if (rc == 0)
    rc = ntlm_ntowfv2(c->user, c->domain, c->password, rk);
  if (rc == 0)
    rc = build_temp(c, ch, cc, &temp, &temp_len);
  if (rc == 0)
    rc = ntlm_proof(rk, ch->server_challenge, temp, temp_len, proof);
  if (rc == 0)
    rc = ntlm_hmac_md5(rk, 16, proof, 16, NULL, 0, base);
  if (rc == 0 && !(nt = malloc(16 + temp_len)))
    rc = SMBQ_ERR_NOMEM;
  if (rc == 0 && (smbq_utf8_to_utf16le(c->user, &u, &ul) < 0 ||
                  smbq_utf8_to_utf16le(c->domain, &d, &dl) < 0 ||
                  smbq_utf8_to_utf16le(c->workstation, &ws, &wl) < 0))
    rc = SMBQ_ERR_INVAL;
  if (rc == 0 && (c->flags & NTLMSSP_NEGOTIATE_KEY_EXCH)) {
    rc = c->env.random(c->env.user, c->exported_key, 16);
    ntlm_rc4(base, c->exported_key, 16, enc_key);
  } else if (rc == 0) {
    memcpy(c->exported_key, base, 16);
  }
  if (rc == 0) {
    memcpy(nt, proof, 16);
    memcpy(nt + 16, temp, temp_len);
    /* MsvAvTimestamp present: LmChallengeResponse is Z(24) (3.1.5.1.2) */
    static const uint8_t z24[24];
    struct auth_parts a = {
        .lm = z24, .lm_len = 24, .nt = nt, .nt_len = 16 + temp_len,
        .dom = d, .dom_len = dl, .user = u, .user_len = ul, .ws = ws,
        .ws_len = wl, .key = enc_key,
        .key_len = (c->flags & NTLMSSP_NEGOTIATE_KEY_EXCH) ? 16 : 0};
    rc = assemble_auth(c, &a, out, outlen);
  }
  if (rc == 0) {
    c->have_key = true;
    derive_signing(c);
  }
  smbq_wipe(rk, sizeof(rk));
  smbq_wipe(base, sizeof(base));
  free(temp);
  free(nt);
  free(u);
  free(d);
  free(ws);
  return rc;
}

int ntlmssp_authenticate(struct ntlmssp_ctx *c, const uint8_t *chal,
                         size_t len, uint8_t **out, size_t *outlen) {
  if (!c->negotiate)
    return SMBQ_ERR_INVAL;
  struct challenge ch;
  int rc = parse_challenge(chal, len, &ch);
  if (rc < 0)
    return rc;
  if (!(ch.flags & NTLMSSP_NEGOTIATE_ESS) || !(ch.flags & NTLMSSP_NEGOTIATE_128))
    return SMBQ_ERR_UNSUPPORTED;
  c->flags = ch.flags & CLIENT_FLAGS;
  bool anon = !c->user[0] && !c->password[0];
  rc = anon ? anonymous_auth(c, out, outlen) : ntlmv2_auth(c, &ch, out, outlen);
  if (rc < 0 || anon)
    return rc;
  /* MIC over all three messages with the MIC field zero (3.1.5.1.2). */
  uint8_t mic[16];
  gnutls_hmac_hd_t h;
  if (gnutls_hmac_init(&h, GNUTLS_MAC_MD5, c->exported_key, 16) < 0) {
    free(*out);
    return SMBQ_ERR_CRYPTO;
  }
  gnutls_hmac(h, c->negotiate, c->negotiate_len);
  gnutls_hmac(h, chal, len);
  gnutls_hmac(h, *out, *outlen);
  gnutls_hmac_deinit(h, mic);
  memcpy(*out + MIC_OFFSET, mic, 16);
  return 0;
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
