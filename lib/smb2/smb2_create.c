/* CREATE and CLOSE (MS-SMB2 2.2.13 - 2.2.16). */
#include <assert.h>
#include <string.h>

#include "smb2/smb2_pdu.h"
#include "smbq/smbq_err.h"
#include "smbq_bytes.h"

#define CREATE_FIXED 56
#define CTX_FIXED 16   /* create context header (2.2.13.2) */
#define MAX_CONTEXTS 32

static size_t align8(size_t n) { return (n + 7) & ~(size_t)7; }

/* Where a context's data starts and how long the context is, unpadded. */
static size_t ctx_data_off(const struct smb2_create_ctx *c) {
  return c->data_len ? align8(CTX_FIXED + c->name_len) : 0;
}
static size_t ctx_size(const struct smb2_create_ctx *c) {
  return c->data_len ? ctx_data_off(c) + c->data_len
                     : CTX_FIXED + c->name_len;
}

long smb2_encode_create_req(uint8_t *out, size_t cap,
                            const struct smb2_create_req *r) {
  if (r->name_len > 0xFFFF || (r->name_len & 1) ||
      r->n_contexts > MAX_CONTEXTS || (r->n_contexts && !r->contexts))
    return SMBQ_ERR_INVAL;
  size_t ctx_len = 0;
  for (size_t i = 0; i < r->n_contexts; i++) {
    const struct smb2_create_ctx *c = &r->contexts[i];
    if (c->name_len == 0 || c->name_len > 0xFFFF || c->data_len > 0xFFFFFF)
      return SMBQ_ERR_INVAL;
    /* each context but the last is padded to 8 bytes (2.2.13.2) */
    ctx_len = (i ? align8(ctx_len) : 0) + ctx_size(c);
  }
  /* Contexts start 8-aligned after the name. Without any, StructureSize
   * 57 counts one buffer byte: an empty name still sends one zero byte. */
  size_t name_end = CREATE_FIXED + r->name_len;
  size_t ctx_off = r->n_contexts ? align8(name_end) : 0; /* body-relative */
  size_t len = r->n_contexts ? ctx_off + ctx_len
                             : CREATE_FIXED + (r->name_len ? r->name_len : 1);
  if (len > cap)
    return SMBQ_ERR_BUFSMALL;
  uint8_t *p = out;
  p = smbq_put_le16(p, 57);
  p = smbq_put_u8(p, 0); /* SecurityFlags */
  p = smbq_put_u8(p, r->oplock_level);
  p = smbq_put_le32(p, SMB2_IMPERSONATION_IMPERSONATION);
  p = smbq_put_le64(p, 0); /* SmbCreateFlags */
  p = smbq_put_le64(p, 0); /* Reserved */
  p = smbq_put_le32(p, r->desired_access);
  p = smbq_put_le32(p, r->file_attributes);
  p = smbq_put_le32(p, r->share_access);
  p = smbq_put_le32(p, r->disposition);
  p = smbq_put_le32(p, r->options);
  p = smbq_put_le16(p, SMB2_HDR_SIZE + CREATE_FIXED);
  p = smbq_put_le16(p, (uint16_t)r->name_len);
  p = smbq_put_le32(p, r->n_contexts ? (uint32_t)(SMB2_HDR_SIZE + ctx_off)
                                     : 0); /* CreateContextsOffset */
  p = smbq_put_le32(p, (uint32_t)ctx_len); /* CreateContextsLength */
  p = smbq_put_bytes(p, r->name, r->name_len);
  if (!r->n_contexts) {
    if (!r->name_len)
      p = smbq_put_u8(p, 0);
    assert((size_t)(p - out) == len);
    return (long)len;
  }
  p = smbq_put_zero(p, ctx_off - name_end);
  for (size_t i = 0; i < r->n_contexts; i++) {
    const struct smb2_create_ctx *c = &r->contexts[i];
    uint8_t *start = p;
    size_t sz = ctx_size(c), doff = ctx_data_off(c);
    bool last = i + 1 == r->n_contexts;
    p = smbq_put_le32(p, last ? 0 : (uint32_t)align8(sz)); /* Next */
    p = smbq_put_le16(p, CTX_FIXED);                       /* NameOffset */
    p = smbq_put_le16(p, (uint16_t)c->name_len);
    p = smbq_put_le16(p, 0);                               /* Reserved */
    p = smbq_put_le16(p, (uint16_t)doff);                  /* DataOffset */
    p = smbq_put_le32(p, (uint32_t)c->data_len);
    p = smbq_put_bytes(p, c->name, c->name_len);
    if (c->data_len) {
      p = smbq_put_zero(p, doff - (CTX_FIXED + c->name_len));
      p = smbq_put_bytes(p, c->data, c->data_len);
    }
    if (!last)
      p = smbq_put_zero(p, align8(sz) - sz);
    assert((size_t)(p - start) == (last ? sz : align8(sz)));
  }
  assert((size_t)(p - out) == len);
  return (long)len;
}

int smb2_decode_create_rsp(const uint8_t *msg, size_t len,
                           struct smb2_create_rsp *r) {
  const uint8_t *b = msg + SMB2_HDR_SIZE;
  memset(r, 0, sizeof(*r));
  if (len < SMB2_HDR_SIZE + 88 || smbq_le16_at(b) != 89)
    return SMBQ_ERR_PROTO;
  r->oplock_level = b[2];
  r->flags = b[3];
  r->create_action = smbq_le32_at(b + 4);
  smb2_get_file_times(&r->times, b + 8);
  r->allocation_size = smbq_le64_at(b + 40);
  r->end_of_file = smbq_le64_at(b + 48);
  r->attributes = smbq_le32_at(b + 56);
  memcpy(r->file_id, b + 64, 16); /* Persistent (8) + Volatile (8) */
  uint32_t off = smbq_le32_at(b + 80), clen = smbq_le32_at(b + 84);
  if (smb2_rsp_buffer(msg, len, 88, off, clen, &r->contexts) < 0)
    return SMBQ_ERR_PROTO;
  r->contexts_len = clen;
  return 0;
}

/* 2.2.14.2: the reply's create contexts have the request's layout. */
void smb2_create_ctx_iter_init(struct smb2_create_ctx_iter *it,
                               const uint8_t *buf, size_t len) {
  it->buf = buf;
  it->len = buf ? len : 0;
  it->off = 0;
  it->done = it->len == 0;
}

int smb2_create_ctx_next(struct smb2_create_ctx_iter *it,
                         struct smb2_create_ctx *c) {
  if (it->done)
    return 0;
  size_t left = it->len - it->off;
  const uint8_t *p = it->buf + it->off;
  if (left < CTX_FIXED)
    return SMBQ_ERR_PROTO;
  uint32_t next = smbq_le32_at(p);
  uint16_t name_off = smbq_le16_at(p + 4), name_len = smbq_le16_at(p + 6);
  uint16_t data_off = smbq_le16_at(p + 10);
  uint32_t data_len = smbq_le32_at(p + 12);
  /* Next: 8-aligned, past this header, inside the buffer; 0 = last. */
  if (next && (next < CTX_FIXED || next > left || (next & 7)))
    return SMBQ_ERR_PROTO;
  size_t clen = next ? next : left;
  if (name_len == 0 ||
      smbq_check_range(clen, CTX_FIXED, name_off, name_len) < 0 ||
      smbq_check_range(clen, CTX_FIXED, data_off, data_len) < 0)
    return SMBQ_ERR_PROTO;
  c->name = p + name_off;
  c->name_len = name_len;
  c->data = data_len ? p + data_off : NULL;
  c->data_len = data_len;
  if (next)
    it->off += next;
  else
    it->done = true;
  return 1;
}

long smb2_encode_close_req(uint8_t *out, size_t cap, uint16_t flags,
                           const uint8_t file_id[16]) {
  if (cap < 24)
    return SMBQ_ERR_BUFSMALL;
  uint8_t *p = out;
  p = smbq_put_le16(p, 24);
  p = smbq_put_le16(p, flags);
  p = smbq_put_le32(p, 0);
  p = smbq_put_bytes(p, file_id, 16);
  assert(p - out == 24);
  return 24;
}

int smb2_decode_close_rsp(const uint8_t *msg, size_t len,
                          struct smb2_close_rsp *r) {
  const uint8_t *b = msg + SMB2_HDR_SIZE;
  memset(r, 0, sizeof(*r));
  if (len < SMB2_HDR_SIZE + 60 || smbq_le16_at(b) != 60)
    return SMBQ_ERR_PROTO;
  r->flags = smbq_le16_at(b + 2);
  smb2_get_file_times(&r->times, b + 8);
  r->allocation_size = smbq_le64_at(b + 40);
  r->end_of_file = smbq_le64_at(b + 48);
  r->attributes = smbq_le32_at(b + 56);
  return 0;
}
