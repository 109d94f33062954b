/* QUERY_DIRECTORY (MS-SMB2 2.2.33, 2.2.34) and the
 * FileIdBothDirectoryInformation entries it returns (MS-FSCC 2.4.17). */
#include <assert.h>
#include <string.h>

#include "smb2/smb2_pdu.h"
#include "smbq/smbq_err.h"
#include "smbq_bytes.h"

#define QD_FIXED 32
#define ENTRY_FIXED 104 /* FileIdBothDirectoryInformation up to FileName */

long smb2_encode_query_dir_req(uint8_t *out, size_t cap,
                               const struct smb2_query_dir_req *r) {
  if (r->pattern_len == 0 || r->pattern_len > 0xFFFF)
    return SMBQ_ERR_INVAL;
  size_t len = QD_FIXED + r->pattern_len;
  if (len > cap)
    return SMBQ_ERR_BUFSMALL;
  uint8_t *p = out;
  p = smbq_put_le16(p, 33);
  p = smbq_put_u8(p, r->info_class);
  p = smbq_put_u8(p, r->flags);
  p = smbq_put_le32(p, 0); /* FileIndex */
  p = smbq_put_bytes(p, r->file_id, 16);
  p = smbq_put_le16(p, SMB2_HDR_SIZE + QD_FIXED);
  p = smbq_put_le16(p, (uint16_t)r->pattern_len);
  p = smbq_put_le32(p, r->output_len);
  p = smbq_put_bytes(p, r->pattern, r->pattern_len);
  assert((size_t)(p - out) == len);
  return (long)len;
}

int smb2_decode_query_dir_rsp(const uint8_t *msg, size_t len,
                              const uint8_t **buf, size_t *buf_len) {
  return smb2_decode_out_buffer(msg, len, buf, buf_len); /* 2.2.34 */
}

void smb2_dir_iter_init(struct smb2_dir_iter *it, const uint8_t *buf,
                        size_t len) {
  it->buf = buf;
  it->len = buf ? len : 0;
  it->off = 0;
  it->done = it->len == 0;
}

int smb2_dir_next(struct smb2_dir_iter *it, struct smb2_dir_entry *e) {
  if (it->done)
    return 0;
  size_t left = it->len - it->off;
  const uint8_t *p = it->buf + it->off;
  if (left < ENTRY_FIXED)
    return SMBQ_ERR_PROTO;
  uint32_t next = smbq_le32_at(p);
  uint32_t name_len = smbq_le32_at(p + 60);
  size_t entry_len = next ? next : left;
  /* MS-FSCC 2.4: the next entry is further on (8-byte aligned) and the
   * name lies inside this entry. */
  if ((next && (next < ENTRY_FIXED || next > left || (next & 7))) ||
      name_len > entry_len - ENTRY_FIXED || (name_len & 1))
    return SMBQ_ERR_PROTO;
  memset(e, 0, sizeof(*e));
  smb2_get_file_times(&e->times, p + 8);
  e->end_of_file = smbq_le64_at(p + 40);
  e->allocation_size = smbq_le64_at(p + 48);
  e->attributes = smbq_le32_at(p + 56);
  e->file_id = smbq_le64_at(p + 96);
  e->name = p + ENTRY_FIXED;
  e->name_len = name_len;
  if (next)
    it->off += next;
  else
    it->done = true;
  return 1;
}
