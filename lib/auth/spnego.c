/* SPNEGO tokens (RFC 4178, RFC 2743 3.1, MS-SPNG 2.2).
 *
 * Hand-written DER, on purpose: four small fixed structures, where a
 * libtasn1 schema and its runtime would be more code than the encoding
 * itself. Every length read is bounds-checked; indefinite lengths are
 * rejected (DER forbids them). */
#include "auth/spnego.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "smbq/smbq_err.h"

/* OIDs as DER content bytes */
static const uint8_t oid_spnego[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x02};
static const uint8_t oid_ntlmssp[] = {0x2b, 0x06, 0x01, 0x04, 0x01,
                                      0x82, 0x37, 0x02, 0x02, 0x0a};
static const uint8_t oid_krb5[] = {0x2a, 0x86, 0x48, 0x86, 0xf7,
                                   0x12, 0x01, 0x02, 0x02};
static const uint8_t oid_mskrb5[] = {0x2a, 0x86, 0x48, 0x82, 0xf7,
                                     0x12, 0x01, 0x02, 0x02};

struct oid_name {
  enum spnego_mech mech;
  const uint8_t *oid;
  size_t len;
};

static const struct oid_name mech_oids[] = {
    {SPNEGO_MECH_NTLMSSP, oid_ntlmssp, sizeof(oid_ntlmssp)},
    {SPNEGO_MECH_KRB5, oid_krb5, sizeof(oid_krb5)},
    {SPNEGO_MECH_MSKRB5, oid_mskrb5, sizeof(oid_mskrb5)},
};

static enum spnego_mech mech_of(const uint8_t *oid, size_t len) {
  for (size_t i = 0; i < sizeof(mech_oids) / sizeof(mech_oids[0]); i++)
    if (mech_oids[i].len == len && !memcmp(mech_oids[i].oid, oid, len))
      return mech_oids[i].mech;
  return SPNEGO_MECH_UNKNOWN;
}

static const struct oid_name *oid_of(enum spnego_mech m) {
  for (size_t i = 0; i < sizeof(mech_oids) / sizeof(mech_oids[0]); i++)
    if (mech_oids[i].mech == m)
      return &mech_oids[i];
  return NULL;
}

/* ---- reading ---------------------------------------------------------- */

struct der {
  const uint8_t *p;
  size_t len;
};

/* Read one TLV from *in (X.690 8.1): its tag and content; advances *in.
 * Single-byte tags only (every tag in these structures has a number below
 * 31); definite lengths of up to 4 length bytes. */
static int der_next(struct der *in, uint8_t *tag, struct der *content) {
  if (in->len < 2 || (in->p[0] & 0x1f) == 0x1f)
    return SMBQ_ERR_PROTO;
  *tag = in->p[0];
  size_t l = in->p[1], hdr = 2;
  if (l & 0x80) {
    size_t n = l & 0x7f;
    if (n == 0 || n > 4 || in->len < 2 + n)
      return SMBQ_ERR_PROTO; /* indefinite or too long */
    l = 0;
    for (size_t i = 0; i < n; i++)
      l = (l << 8) | in->p[2 + i];
    hdr += n;
  }
  if (l > in->len - hdr)
    return SMBQ_ERR_PROTO;
  content->p = in->p + hdr;
  content->len = l;
  in->p += hdr + l;
  in->len -= hdr + l;
  return 0;
}

/* Read a TLV that must have tag `want`. */
static int der_expect(struct der *in, uint8_t want, struct der *content) {
  uint8_t tag;
  int rc = der_next(in, &tag, content);
  if (rc < 0)
    return rc;
  return tag == want ? 0 : SMBQ_ERR_PROTO;
}

/* The content of an explicit context tag [n] must be exactly one TLV with
 * tag `want` (RFC 4178 4.2 fields). */
static int der_explicit(struct der field, uint8_t want, struct der *v) {
  int rc = der_expect(&field, want, v);
  if (rc < 0)
    return rc;
  return field.len == 0 ? 0 : SMBQ_ERR_PROTO;
}

static int parse_mech_list(struct der list, struct spnego_init_hint *out) {
  while (list.len) {
    struct der oid;
    int rc = der_expect(&list, 0x06, &oid);
    if (rc < 0)
      return rc;
    enum spnego_mech m = mech_of(oid.p, oid.len);
    if (m != SPNEGO_MECH_UNKNOWN && out->n_mechs < 8)
      out->mechs[out->n_mechs++] = m;
  }
  return 0;
}

int spnego_parse_hint(const uint8_t *in, size_t len,
                      struct spnego_init_hint *out) {
  memset(out, 0, sizeof(*out));
  if (len == 0)
    return 0;
  struct der d = {in, len}, app, oid, init, seq;
  if (der_expect(&d, 0x60, &app) < 0 || der_expect(&app, 0x06, &oid) < 0 ||
      oid.len != sizeof(oid_spnego) ||
      memcmp(oid.p, oid_spnego, oid.len) != 0 ||
      der_expect(&app, 0xa0, &init) < 0 || der_expect(&init, 0x30, &seq) < 0)
    return SMBQ_ERR_PROTO;
  /* negTokenInit(2): [0] mechTypes, then fields we skip (negHints...) */
  while (seq.len) {
    uint8_t tag;
    struct der field, list;
    if (der_next(&seq, &tag, &field) < 0)
      return SMBQ_ERR_PROTO;
    if (tag != 0xa0)
      continue;
    if (der_explicit(field, 0x30, &list) < 0)
      return SMBQ_ERR_PROTO;
    return parse_mech_list(list, out);
  }
  return 0;
}

int spnego_parse_resp(const uint8_t *in, size_t len, struct spnego_resp *out) {
  memset(out, 0, sizeof(*out));
  out->state = SPNEGO_STATE_ABSENT;
  struct der d = {in, len}, resp, seq;
  if (der_expect(&d, 0xa1, &resp) < 0 || der_expect(&resp, 0x30, &seq) < 0)
    return SMBQ_ERR_PROTO;
  while (seq.len) {
    uint8_t tag;
    struct der field, v;
    if (der_next(&seq, &tag, &field) < 0)
      return SMBQ_ERR_PROTO;
    switch (tag) {
    case 0xa0: /* negState ENUMERATED */
      if (der_explicit(field, 0x0a, &v) < 0 || v.len != 1 || v.p[0] > 3)
        return SMBQ_ERR_PROTO;
      out->state = (enum spnego_state)v.p[0];
      break;
    case 0xa1: /* supportedMech */
      if (der_explicit(field, 0x06, &v) < 0)
        return SMBQ_ERR_PROTO;
      out->supported_mech = mech_of(v.p, v.len);
      break;
    case 0xa2: /* responseToken */
      if (der_explicit(field, 0x04, &v) < 0)
        return SMBQ_ERR_PROTO;
      out->token = v.p;
      out->token_len = v.len;
      break;
    case 0xa3: /* mechListMIC */
      if (der_explicit(field, 0x04, &v) < 0)
        return SMBQ_ERR_PROTO;
      out->mic = v.p;
      out->mic_len = v.len;
      break;
    default:
      return SMBQ_ERR_PROTO;
    }
  }
  return 0;
}

/* ---- writing ------------------------------------------------------------ */

/* Bytes of a DER length (X.690 8.1.3): short form, or 0x8n and n bytes.
 * Callers keep lengths below 2^32. */
static size_t der_len_size(size_t len) {
  return len < 0x80        ? 1
         : len < 0x100     ? 2
         : len < 0x10000   ? 3
         : len < 0x1000000 ? 4
                           : 5;
}

static size_t tlv_size(size_t len) { return 1 + der_len_size(len) + len; }

static uint8_t *put_hdr(uint8_t *p, uint8_t tag, size_t len) {
  *p++ = tag;
  size_t n = der_len_size(len);
  if (n == 1) {
    *p++ = (uint8_t)len;
    return p;
  }
  *p++ = (uint8_t)(0x80 | (n - 1));
  for (size_t i = n - 1; i > 0; i--)
    *p++ = (uint8_t)(len >> (8 * (i - 1)));
  return p;
}

static uint8_t *put_tlv(uint8_t *p, uint8_t tag, const uint8_t *v,
                        size_t len) {
  p = put_hdr(p, tag, len);
  if (len)
    memcpy(p, v, len);
  return p + len;
}

int spnego_build_init(const enum spnego_mech *mechs, size_t n_mechs,
                      const uint8_t *token, size_t token_len, uint8_t **out,
                      size_t *outlen, uint8_t **mechtypes,
                      size_t *mechtypes_len) {
  size_t oids = 0;
  for (size_t i = 0; i < n_mechs; i++) {
    const struct oid_name *o = oid_of(mechs[i]);
    if (!o)
      return SMBQ_ERR_INVAL;
    oids += tlv_size(o->len);
  }
  if (token_len > 0xFFFFFF)
    return SMBQ_ERR_INVAL;
  size_t mt = tlv_size(oids);                      /* SEQUENCE OF OID */
  size_t fields = tlv_size(mt) + (token_len ? tlv_size(tlv_size(token_len))
                                            : 0);
  size_t init = tlv_size(tlv_size(fields));        /* [0] { SEQUENCE } */
  size_t app = tlv_size(sizeof(oid_spnego)) + init;
  size_t total = tlv_size(app);
  uint8_t *buf = malloc(total), *p = buf;
  if (!buf)
    return SMBQ_ERR_NOMEM;
  p = put_hdr(p, 0x60, app);
  p = put_tlv(p, 0x06, oid_spnego, sizeof(oid_spnego));
  p = put_hdr(p, 0xa0, tlv_size(fields));
  p = put_hdr(p, 0x30, fields);
  p = put_hdr(p, 0xa0, mt);
  uint8_t *mt_start = p;
  p = put_hdr(p, 0x30, oids);
  for (size_t i = 0; i < n_mechs; i++) {
    const struct oid_name *o = oid_of(mechs[i]);
    p = put_tlv(p, 0x06, o->oid, o->len);
  }
  if (mechtypes) {
    *mechtypes = malloc(mt);
    if (!*mechtypes) {
      free(buf);
      return SMBQ_ERR_NOMEM;
    }
    memcpy(*mechtypes, mt_start, mt);
    *mechtypes_len = mt;
  }
  if (token_len) {
    p = put_hdr(p, 0xa2, tlv_size(token_len));
    p = put_tlv(p, 0x04, token, token_len);
  }
  assert((size_t)(p - buf) == total);
  *out = buf;
  *outlen = total;
  return 0;
}

int spnego_build_resp(const uint8_t *token, size_t token_len,
                      const uint8_t *mic, size_t mic_len, uint8_t **out,
                      size_t *outlen) {
  if (token_len > 0xFFFFFF || mic_len > 0xFFFF)
    return SMBQ_ERR_INVAL;
  size_t fields = (token_len ? tlv_size(tlv_size(token_len)) : 0) +
                  (mic_len ? tlv_size(tlv_size(mic_len)) : 0);
  size_t total = tlv_size(tlv_size(fields));
  uint8_t *buf = malloc(total), *p = buf;
  if (!buf)
    return SMBQ_ERR_NOMEM;
  p = put_hdr(p, 0xa1, tlv_size(fields));
  p = put_hdr(p, 0x30, fields);
  if (token_len) {
    p = put_hdr(p, 0xa2, tlv_size(token_len));
    p = put_tlv(p, 0x04, token, token_len);
  }
  if (mic_len) {
    p = put_hdr(p, 0xa3, tlv_size(mic_len));
    p = put_tlv(p, 0x04, mic, mic_len);
  }
  assert((size_t)(p - buf) == total);
  *out = buf;
  *outlen = total;
  return 0;
}
