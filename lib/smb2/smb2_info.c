/* QUERY_INFO and SET_INFO (MS-SMB2 2.2.37 - 2.2.40) and the MS-FSCC
 * information classes we read and write. */
#include <assert.h>
#include <string.h>

#include "smb2/smb2_pdu.h"
#include "smbq/smbq_err.h"
#include "smbq_bytes.h"

#define QI_FIXED 40
#define SI_FIXED 32

long smb2_encode_query_info_req(uint8_t *out, size_t cap,
                                const struct smb2_query_info_req *r) {
  size_t len = QI_FIXED + 1;
  if (len > cap)
    return SMBQ_ERR_BUFSMALL;
  uint8_t *p = out;
  p = smbq_put_le16(p, 41);
  p = smbq_put_u8(p, r->info_type);
  p = smbq_put_u8(p, r->info_class);
  p = smbq_put_le32(p, r->output_len);
  p = smbq_put_le16(p, 0); /* InputBufferOffset */
  p = smbq_put_le16(p, 0);
  p = smbq_put_le32(p, 0); /* InputBufferLength */
  p = smbq_put_le32(p, r->additional);
  p = smbq_put_le32(p, 0); /* Flags */
  p = smbq_put_bytes(p, r->file_id, 16);
  p = smbq_put_u8(p, 0);
  assert((size_t)(p - out) == len);
  return (long)len;
}

int smb2_decode_query_info_rsp(const uint8_t *msg, size_t len,
                               const uint8_t **buf, size_t *buf_len) {
  return smb2_decode_out_buffer(msg, len, buf, buf_len); /* 2.2.38 */
}

long smb2_encode_set_info_req(uint8_t *out, size_t cap, uint8_t info_type,
                              uint8_t info_class, const uint8_t fid[16],
                              const uint8_t *buf, size_t buf_len) {
  if (buf_len == 0 || buf_len > 0xFFFFFF)
    return SMBQ_ERR_INVAL;
  size_t len = SI_FIXED + buf_len;
  if (len > cap)
    return SMBQ_ERR_BUFSMALL;
  uint8_t *p = out;
  p = smbq_put_le16(p, 33);
  p = smbq_put_u8(p, info_type);
  p = smbq_put_u8(p, info_class);
  p = smbq_put_le32(p, (uint32_t)buf_len);
  p = smbq_put_le16(p, SMB2_HDR_SIZE + SI_FIXED);
  p = smbq_put_le16(p, 0);
  p = smbq_put_le32(p, 0); /* AdditionalInformation */
  p = smbq_put_bytes(p, fid, 16);
  p = smbq_put_bytes(p, buf, buf_len);
  assert((size_t)(p - out) == len);
  return (long)len;
}

int smb2_decode_set_info_rsp(const uint8_t *msg, size_t len) {
  if (len < SMB2_HDR_SIZE + 2 || smbq_le16_at(msg + SMB2_HDR_SIZE) != 2)
    return SMBQ_ERR_PROTO;
  return 0;
}

/* MS-FSCC 2.4.2: Basic(40) Standard(24) Internal(8) EA(4) Access(4)
 * Position(8) Mode(4) Alignment(4) NameLength(4) Name. */
int smb2_decode_file_all_info(const uint8_t *buf, size_t len,
                              struct smb2_file_all_info *fi) {
  if (!buf || len < 100)
    return SMBQ_ERR_PROTO;
  memset(fi, 0, sizeof(*fi));
  smb2_get_file_times(&fi->times, buf);
  fi->attributes = smbq_le32_at(buf + 32);
  fi->allocation_size = smbq_le64_at(buf + 40);
  fi->end_of_file = smbq_le64_at(buf + 48);
  fi->nlinks = smbq_le32_at(buf + 56);
  fi->delete_pending = buf[60] != 0;
  fi->directory = buf[61] != 0;
  fi->index_number = smbq_le64_at(buf + 64);
  return 0;
}

int smb2_decode_fs_full_size(const uint8_t *buf, size_t len,
                             struct smb2_fs_full_size *fs) {
  if (!buf || len < 32)
    return SMBQ_ERR_PROTO;
  fs->total_units = smbq_le64_at(buf);
  fs->caller_avail_units = smbq_le64_at(buf + 8);
  fs->actual_avail_units = smbq_le64_at(buf + 16);
  fs->sectors_per_unit = smbq_le32_at(buf + 24);
  fs->bytes_per_sector = smbq_le32_at(buf + 28);
  return 0;
}

/* MS-FSCC 2.4.37.2 (the SMB2 form with an 8-byte RootDirectory). */
long smb2_encode_rename_info(uint8_t *out, size_t cap, bool replace,
                             const uint8_t *name, size_t name_len) {
  size_t len = 20 + name_len;
  if (len > cap)
    return SMBQ_ERR_BUFSMALL;
  uint8_t *p = out;
  p = smbq_put_u8(p, replace ? 1 : 0);
  p = smbq_put_zero(p, 7);
  p = smbq_put_le64(p, 0); /* RootDirectory */
  p = smbq_put_le32(p, (uint32_t)name_len);
  p = smbq_put_bytes(p, name, name_len);
  assert((size_t)(p - out) == len);
  return (long)len;
}

long smb2_encode_disposition_info(uint8_t *out, size_t cap, bool del) {
  if (cap < 1)
    return SMBQ_ERR_BUFSMALL;
  out[0] = del ? 1 : 0;
  return 1;
}

long smb2_encode_eof_info(uint8_t *out, size_t cap, uint64_t eof) {
  if (cap < 8)
    return SMBQ_ERR_BUFSMALL;
  smbq_put_le64(out, eof);
  return 8;
}

long smb2_encode_basic_info(uint8_t *out, size_t cap,
                            const struct smb2_file_times *t,
                            uint32_t attributes) {
  if (cap < 40)
    return SMBQ_ERR_BUFSMALL;
  uint8_t *p = out;
  p = smbq_put_le64(p, t->creation);
  p = smbq_put_le64(p, t->last_access);
  p = smbq_put_le64(p, t->last_write);
  p = smbq_put_le64(p, t->change);
  p = smbq_put_le32(p, attributes);
  p = smbq_put_le32(p, 0);
  assert(p - out == 40);
  return 40;
}
