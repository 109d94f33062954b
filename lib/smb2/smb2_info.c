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
  if (r->input_len > 0xFFFF || (r->input_len && !r->input))
    return SMBQ_ERR_INVAL;
  /* StructureSize 41 counts one buffer byte: sent as 0 without input */
  size_t len = QI_FIXED + (r->input_len ? r->input_len : 1);
  if (len > cap)
    return SMBQ_ERR_BUFSMALL;
  uint8_t *p = out;
  p = smbq_put_le16(p, 41);
  p = smbq_put_u8(p, r->info_type);
  p = smbq_put_u8(p, r->info_class);
  p = smbq_put_le32(p, r->output_len);
  p = smbq_put_le16(p, r->input_len ? SMB2_HDR_SIZE + QI_FIXED : 0);
  p = smbq_put_le16(p, 0); /* Reserved */
  p = smbq_put_le32(p, (uint32_t)r->input_len);
  p = smbq_put_le32(p, r->additional);
  p = smbq_put_le32(p, r->flags);
  p = smbq_put_bytes(p, r->file_id, 16);
  if (r->input_len)
    p = smbq_put_bytes(p, r->input, r->input_len);
  else
    p = smbq_put_u8(p, 0);
  assert((size_t)(p - out) == len);
  return (long)len;
}

int smb2_decode_query_info_rsp(const uint8_t *msg, size_t len,
                               const uint8_t **buf, size_t *buf_len) {
  return smb2_decode_out_buffer(msg, len, buf, buf_len); /* 2.2.38 */
}

long smb2_encode_set_info_req_ex(uint8_t *out, size_t cap,
                                 const struct smb2_set_info_req *r) {
  if (r->buf_len == 0 || r->buf_len > 0xFFFFFF || !r->buf)
    return SMBQ_ERR_INVAL;
  size_t len = SI_FIXED + r->buf_len;
  if (len > cap)
    return SMBQ_ERR_BUFSMALL;
  uint8_t *p = out;
  p = smbq_put_le16(p, 33);
  p = smbq_put_u8(p, r->info_type);
  p = smbq_put_u8(p, r->info_class);
  p = smbq_put_le32(p, (uint32_t)r->buf_len);
  p = smbq_put_le16(p, SMB2_HDR_SIZE + SI_FIXED); /* BufferOffset */
  p = smbq_put_le16(p, 0);                        /* Reserved */
  p = smbq_put_le32(p, r->additional);
  p = smbq_put_bytes(p, r->file_id, 16);
  p = smbq_put_bytes(p, r->buf, r->buf_len);
  assert((size_t)(p - out) == len);
  return (long)len;
}

long smb2_encode_set_info_req(uint8_t *out, size_t cap, uint8_t info_type,
                              uint8_t info_class, const uint8_t fid[16],
                              const uint8_t *buf, size_t buf_len) {
  struct smb2_set_info_req r = {.info_type = info_type,
                                .info_class = info_class,
                                .buf = buf,
                                .buf_len = buf_len};
  memcpy(r.file_id, fid, 16);
  return smb2_encode_set_info_req_ex(out, cap, &r);
}

/* 2.2.40: StructureSize 2, nothing else. */
int smb2_decode_set_info_rsp(const uint8_t *msg, size_t len) {
  if (len < SMB2_HDR_SIZE + 2 || smbq_le16_at(msg + SMB2_HDR_SIZE) != 2)
    return SMBQ_ERR_PROTO;
  return 0;
}

/* MS-FSCC 2.4.2: Basic(40) Standard(24) Internal(8) EA(4) Access(4)
 * Position(8) Mode(4) Alignment(4) NameLength(4) Name. */
#define ALL_INFO_FIXED 100

int smb2_decode_file_all_info(const uint8_t *buf, size_t len,
                              struct smb2_file_all_info *fi) {
  if (!buf || len < ALL_INFO_FIXED)
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
  fi->ea_size = smbq_le32_at(buf + 72);
  fi->access_flags = smbq_le32_at(buf + 76);
  fi->current_byte_offset = smbq_le64_at(buf + 80);
  fi->mode = smbq_le32_at(buf + 88);
  fi->alignment = smbq_le32_at(buf + 92);
  uint32_t name_len = smbq_le32_at(buf + 96);
  size_t avail = (len - ALL_INFO_FIXED) & ~(size_t)1;
  /* A reply cut short (STATUS_BUFFER_OVERFLOW, MS-SMB2 3.3.5.20.1) keeps
   * the full NameLength: hand back what is there. */
  if (name_len > avail) {
    fi->name_truncated = true;
    name_len = (uint32_t)avail;
  }
  fi->name = name_len ? buf + ALL_INFO_FIXED : NULL;
  fi->name_len = name_len & ~1u;
  return 0;
}

/* MS-FSCC 2.4.7: four times, FileAttributes, Reserved (4). */
int smb2_decode_file_basic_info(const uint8_t *buf, size_t len,
                                struct smb2_file_basic_info *fi) {
  if (!buf || len < 40)
    return SMBQ_ERR_PROTO;
  const uint8_t *p = smb2_get_file_times(&fi->times, buf);
  smbq_get_le32(&fi->attributes, p);
  return 0;
}

/* MS-FSCC 2.4.41: AllocationSize, EndOfFile, NumberOfLinks, DeletePending,
 * Directory, Reserved (2). */
int smb2_decode_file_standard_info(const uint8_t *buf, size_t len,
                                   struct smb2_file_standard_info *fi) {
  if (!buf || len < 24)
    return SMBQ_ERR_PROTO;
  fi->allocation_size = smbq_le64_at(buf);
  fi->end_of_file = smbq_le64_at(buf + 8);
  fi->nlinks = smbq_le32_at(buf + 16);
  fi->delete_pending = buf[20] != 0;
  fi->directory = buf[21] != 0;
  return 0;
}

/* MS-FSCC 2.4.29: four times, AllocationSize, EndOfFile, FileAttributes,
 * Reserved (4). */
int smb2_decode_file_network_open_info(const uint8_t *buf, size_t len,
                                       struct smb2_file_network_open_info *fi) {
  if (!buf || len < 56)
    return SMBQ_ERR_PROTO;
  smb2_get_file_times(&fi->times, buf);
  fi->allocation_size = smbq_le64_at(buf + 32);
  fi->end_of_file = smbq_le64_at(buf + 40);
  fi->attributes = smbq_le32_at(buf + 48);
  return 0;
}

/* MS-FSCC 2.5.4: TotalAllocationUnits, CallerAvailableAllocationUnits,
 * ActualAvailableAllocationUnits, SectorsPerAllocationUnit,
 * BytesPerSector. */
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

/* MS-FSCC 2.5.8: TotalAllocationUnits, AvailableAllocationUnits,
 * SectorsPerAllocationUnit, BytesPerSector. */
int smb2_decode_fs_size(const uint8_t *buf, size_t len,
                        struct smb2_fs_size *fs) {
  if (!buf || len < 24)
    return SMBQ_ERR_PROTO;
  fs->total_units = smbq_le64_at(buf);
  fs->avail_units = smbq_le64_at(buf + 8);
  fs->sectors_per_unit = smbq_le32_at(buf + 16);
  fs->bytes_per_sector = smbq_le32_at(buf + 20);
  return 0;
}

/* MS-FSCC 2.5.9: VolumeCreationTime, VolumeSerialNumber,
 * VolumeLabelLength, SupportsObjects, Reserved, VolumeLabel. */
int smb2_decode_fs_volume_info(const uint8_t *buf, size_t len,
                               struct smb2_fs_volume_info *vi) {
  if (!buf || len < 18)
    return SMBQ_ERR_PROTO;
  uint32_t label_len = smbq_le32_at(buf + 12);
  if (smbq_check_range(len, 18, 18, label_len) < 0)
    return SMBQ_ERR_PROTO;
  vi->creation_time = smbq_le64_at(buf);
  vi->serial_number = smbq_le32_at(buf + 8);
  vi->supports_objects = buf[16] != 0;
  vi->label = label_len ? buf + 18 : NULL;
  vi->label_len = label_len;
  return 0;
}

/* MS-FSCC 2.4.37.2 (the SMB2 form with an 8-byte RootDirectory). */
long smb2_encode_rename_info(uint8_t *out, size_t cap, bool replace,
                             const uint8_t *name, size_t name_len) {
  if (name_len > 0xFFFF || (name_len & 1))
    return SMBQ_ERR_INVAL;
  size_t len = 20 + name_len;
  if (len > cap)
    return SMBQ_ERR_BUFSMALL;
  uint8_t *p = out;
  p = smbq_put_u8(p, replace ? 1 : 0); /* ReplaceIfExists */
  p = smbq_put_zero(p, 7);              /* Reserved */
  p = smbq_put_le64(p, 0); /* RootDirectory */
  p = smbq_put_le32(p, (uint32_t)name_len);
  p = smbq_put_bytes(p, name, name_len);
  assert((size_t)(p - out) == len);
  return (long)len;
}

/* MS-FSCC 2.4.11: DeletePending (1 byte). */
long smb2_encode_disposition_info(uint8_t *out, size_t cap, bool del) {
  if (cap < 1)
    return SMBQ_ERR_BUFSMALL;
  out[0] = del ? 1 : 0;
  return 1;
}

/* MS-FSCC 2.4.13: EndOfFile (8 bytes). */
long smb2_encode_eof_info(uint8_t *out, size_t cap, uint64_t eof) {
  if (cap < 8)
    return SMBQ_ERR_BUFSMALL;
  smbq_put_le64(out, eof);
  return 8;
}

/* MS-FSCC 2.4.7; 0 in a time or the attributes leaves it unchanged. */
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
  p = smbq_put_le32(p, 0); /* Reserved */
  assert(p - out == 40);
  return 40;
}
