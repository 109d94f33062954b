/* READ (MS-SMB2 2.2.19, 2.2.20). */
#include <assert.h>
#include <string.h>

#include "smb2/smb2_pdu.h"
#include "smbq/smbq_err.h"
#include "smbq_bytes.h"

#define READ_REQ_LEN 49

long smb2_encode_read_req_ex(uint8_t *out, size_t cap,
                             const struct smb2_read_req *r) {
  if (cap < READ_REQ_LEN)
    return SMBQ_ERR_BUFSMALL;
  uint8_t *p = out;
  p = smbq_put_le16(p, 49);
  p = smbq_put_u8(p, r->padding); /* where we like the data (0x50) */
  p = smbq_put_u8(p, r->flags);
  p = smbq_put_le32(p, r->length);
  p = smbq_put_le64(p, r->offset);
  p = smbq_put_bytes(p, r->file_id, 16);
  p = smbq_put_le32(p, r->minimum_count);
  p = smbq_put_le32(p, 0); /* Channel: SMB2_CHANNEL_NONE */
  p = smbq_put_le32(p, r->remaining_bytes);
  p = smbq_put_le16(p, 0); /* ReadChannelInfoOffset */
  p = smbq_put_le16(p, 0); /* ReadChannelInfoLength */
  p = smbq_put_u8(p, 0);   /* Buffer: one byte (StructureSize 49) */
  assert(p - out == READ_REQ_LEN);
  return READ_REQ_LEN;
}

long smb2_encode_read_req(uint8_t *out, size_t cap, const uint8_t fid[16],
                          uint64_t offset, uint32_t length) {
  struct smb2_read_req r = {.padding = 0x50, .length = length,
                            .offset = offset};
  memcpy(r.file_id, fid, 16);
  return smb2_encode_read_req_ex(out, cap, &r);
}

/* 2.2.20: DataOffset (8 bits), Reserved, DataLength, DataRemaining,
 * Reserved2 / Flags; the data must lie after the 16-byte fixed part. */
int smb2_decode_read_rsp(const uint8_t *msg, size_t len,
                         struct smb2_read_rsp *r) {
  const uint8_t *b = msg + SMB2_HDR_SIZE;
  memset(r, 0, sizeof(*r));
  if (len < SMB2_HDR_SIZE + 16 || smbq_le16_at(b) != 17)
    return SMBQ_ERR_PROTO;
  uint8_t off = b[2];
  r->data_len = smbq_le32_at(b + 4);
  r->remaining = smbq_le32_at(b + 8);
  return smb2_rsp_buffer(msg, len, 16, off, r->data_len, &r->data);
}
