/* WRITE and FLUSH (MS-SMB2 2.2.17, 2.2.18, 2.2.21, 2.2.22). */
#include <assert.h>
#include <string.h>

#include "smb2/smb2_pdu.h"
#include "smbq/smbq_err.h"
#include "smbq_bytes.h"

#define WRITE_FIXED 48

size_t smb2_write_req_size(size_t n) { return WRITE_FIXED + (n ? n : 1); }

long smb2_encode_write_req_ex(uint8_t *out, size_t cap,
                              const struct smb2_write_req *r) {
  if (r->length && !r->data)
    return SMBQ_ERR_INVAL;
  size_t len = smb2_write_req_size(r->length);
  if (len > cap)
    return SMBQ_ERR_BUFSMALL;
  uint8_t *p = out;
  p = smbq_put_le16(p, 49);
  p = smbq_put_le16(p, SMB2_HDR_SIZE + WRITE_FIXED); /* DataOffset 0x70 */
  p = smbq_put_le32(p, r->length);
  p = smbq_put_le64(p, r->offset);
  p = smbq_put_bytes(p, r->file_id, 16);
  p = smbq_put_le32(p, 0); /* Channel: SMB2_CHANNEL_NONE */
  p = smbq_put_le32(p, r->remaining_bytes);
  p = smbq_put_le16(p, 0); /* WriteChannelInfoOffset */
  p = smbq_put_le16(p, 0); /* WriteChannelInfoLength */
  p = smbq_put_le32(p, r->flags);
  if (r->length)
    p = smbq_put_bytes(p, r->data, r->length);
  else
    p = smbq_put_u8(p, 0); /* StructureSize 49 counts one buffer byte */
  assert((size_t)(p - out) == len);
  return (long)len;
}

long smb2_encode_write_req(uint8_t *out, size_t cap, const uint8_t fid[16],
                           uint64_t offset, const void *data, uint32_t n) {
  struct smb2_write_req r = {.offset = offset, .data = data, .length = n};
  memcpy(r.file_id, fid, 16);
  return smb2_encode_write_req_ex(out, cap, &r);
}

/* 2.2.22: StructureSize 17, Reserved, Count, Remaining, channel info. */
int smb2_decode_write_rsp(const uint8_t *msg, size_t len, uint32_t *count) {
  const uint8_t *b = msg + SMB2_HDR_SIZE;
  if (len < SMB2_HDR_SIZE + 16 || smbq_le16_at(b) != 17)
    return SMBQ_ERR_PROTO;
  *count = smbq_le32_at(b + 4);
  return 0;
}

long smb2_encode_flush_req(uint8_t *out, size_t cap, const uint8_t fid[16]) {
  if (cap < 24)
    return SMBQ_ERR_BUFSMALL;
  uint8_t *p = out;
  p = smbq_put_le16(p, 24);
  p = smbq_put_le16(p, 0);
  p = smbq_put_le32(p, 0);
  p = smbq_put_bytes(p, fid, 16);
  assert(p - out == 24);
  return 24;
}

int smb2_decode_flush_rsp(const uint8_t *msg, size_t len) {
  return smb2_decode_empty_rsp(msg, len);
}
