/* QUERY_DIRECTORY (MS-SMB2 2.2.33, 2.2.34) and the
 * FileIdBothDirectoryInformation entries it returns (MS-FSCC 2.4.17). */
#include <assert.h>
#include <string.h>

#include "smb2/smb2_pdu.h"
#include "smbq/smbq_err.h"
#include "smbq_bytes.h"

#define QD_FIXED 32
#define ENTRY_FIXED 104 /* FileIdBothDirectoryInformation up to FileName */
#define DIRINFO_FIXED 64 /* FileDirectoryInformation up to FileName */

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
  p = smbq_put_le32(p, r->file_index); /* with SMB2_INDEX_SPECIFIED */
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

void smb2_dir_iter_init_class(struct smb2_dir_iter *it, uint8_t info_class,
                              const uint8_t *buf, size_t len) {
  it->buf = buf;
  it->len = buf ? len : 0;
  it->off = 0;
  it->done = it->len == 0;
  it->info_class = info_class;
}

void smb2_dir_iter_init(struct smb2_dir_iter *it, const uint8_t *buf,
                        size_t len) {
  smb2_dir_iter_init_class(it, SMB2_FILE_ID_BOTH_DIRECTORY_INFORMATION, buf,
                           len);
}

/* Both classes share the first 64 bytes (MS-FSCC 2.4.10): NextEntryOffset,
 * FileIndex, four times, EndOfFile, AllocationSize, FileAttributes,
 * FileNameLength. FileIdBothDirectoryInformation then has EaSize (4),
 * ShortNameLength (1), Reserved1 (1), ShortName (24), Reserved2 (2),
 * FileId (8) and the name at 104. */
int smb2_dir_next(struct smb2_dir_iter *it, struct smb2_dir_entry *e) {
  if (it->done)
    return 0;
  bool both = it->info_class == 0 ||
              it->info_class == SMB2_FILE_ID_BOTH_DIRECTORY_INFORMATION;
  if (!both && it->info_class != SMB2_FILE_DIRECTORY_INFORMATION)
    return SMBQ_ERR_INVAL;
  size_t fixed = both ? ENTRY_FIXED : DIRINFO_FIXED;
  size_t left = it->len - it->off;
  const uint8_t *p = it->buf + it->off;
  if (left < fixed)
    return SMBQ_ERR_PROTO;
  uint32_t next = smbq_le32_at(p);
  uint32_t name_len = smbq_le32_at(p + 60);
  size_t entry_len = next ? next : left;
  /* MS-FSCC 2.4.10/2.4.17: entries are 8-byte aligned, so the next one is
   * a multiple of 8 further on (which also makes the chain strictly
   * advance), at least one fixed part away and inside the buffer; the name
   * lies inside this entry. */
  if ((next && (next < fixed || next > left || (next & 7))) ||
      name_len > entry_len - fixed || (name_len & 1))
    return SMBQ_ERR_PROTO;
  memset(e, 0, sizeof(*e));
  e->file_index = smbq_le32_at(p + 4);
  smb2_get_file_times(&e->times, p + 8);
  e->end_of_file = smbq_le64_at(p + 40);
  e->allocation_size = smbq_le64_at(p + 48);
  e->attributes = smbq_le32_at(p + 56);
  if (both) {
    uint8_t short_len = p[68];
    if (short_len > 24 || (short_len & 1))
      return SMBQ_ERR_PROTO;
    e->ea_size = smbq_le32_at(p + 64);
    e->short_name = short_len ? p + 70 : NULL;
    e->short_name_len = short_len;
    e->file_id = smbq_le64_at(p + 96);
  }
  e->name = p + fixed;
  e->name_len = name_len;
  if (next)
    it->off += next;
  else
    it->done = true;
  return 1;
}
