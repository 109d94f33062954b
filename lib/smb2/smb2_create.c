/* CREATE and CLOSE (MS-SMB2 2.2.13 - 2.2.16). */
#include <assert.h>
#include <string.h>

#include "smb2/smb2_pdu.h"
#include "smbq/smbq_err.h"
#include "smbq_bytes.h"

#define CREATE_FIXED 56

long smb2_encode_create_req(uint8_t *out, size_t cap,
                            const struct smb2_create_req *r) {
  if (r->name_len > 0xFFFF || (r->name_len & 1))
    return SMBQ_ERR_INVAL;
  /* StructureSize 57 counts one buffer byte: an empty name still sends
   * one (zero) byte (2.2.13). */
  size_t len = CREATE_FIXED + (r->name_len ? r->name_len : 1);
  if (len > cap)
    return SMBQ_ERR_BUFSMALL;
  uint8_t *p = out;
  p = smbq_put_le16(p, 57);
  p = smbq_put_u8(p, 0); /* SecurityFlags */
  p = smbq_put_u8(p, SMB2_OPLOCK_LEVEL_NONE);
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
  p = smbq_put_le32(p, 0); /* CreateContextsOffset */
  p = smbq_put_le32(p, 0); /* CreateContextsLength */
  if (r->name_len)
    p = smbq_put_bytes(p, r->name, r->name_len);
  else
    p = smbq_put_u8(p, 0);
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
  r->create_action = smbq_le32_at(b + 4);
  smb2_get_file_times(&r->times, b + 8);
  r->allocation_size = smbq_le64_at(b + 40);
  r->end_of_file = smbq_le64_at(b + 48);
  r->attributes = smbq_le32_at(b + 56);
  memcpy(r->file_id, b + 64, 16);
  const uint8_t *ctx;
  /* create contexts: we request none, but a reply's must still fit */
  return smb2_rsp_buffer(msg, len, 88, smbq_le32_at(b + 80),
                         smbq_le32_at(b + 84), &ctx);
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
