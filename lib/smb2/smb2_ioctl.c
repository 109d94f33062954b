/* IOCTL (MS-SMB2 2.2.31, 2.2.32) and FSCTL_VALIDATE_NEGOTIATE_INFO
 * (2.2.31.4, 2.2.32.6). */
#include <assert.h>
#include <string.h>

#include "smb2/smb2_pdu.h"
#include "smbq/smbq_err.h"
#include "smbq_bytes.h"

#define IOCTL_FIXED 56

long smb2_encode_ioctl_req_ex(uint8_t *out, size_t cap,
                              const struct smb2_ioctl_req *r) {
  if (r->input_len > 0xFFFF || (r->input_len && !r->input))
    return SMBQ_ERR_INVAL;
  /* StructureSize 57 counts one buffer byte: sent as 0 without input */
  size_t len = IOCTL_FIXED + (r->input_len ? r->input_len : 1);
  if (len > cap)
    return SMBQ_ERR_BUFSMALL;
  uint8_t *p = out;
  p = smbq_put_le16(p, 57);
  p = smbq_put_le16(p, 0); /* Reserved */
  p = smbq_put_le32(p, r->ctl_code);
  p = smbq_put_bytes(p, r->file_id, 16);
  p = smbq_put_le32(p, r->input_len ? SMB2_HDR_SIZE + IOCTL_FIXED : 0);
  p = smbq_put_le32(p, (uint32_t)r->input_len);
  p = smbq_put_le32(p, r->max_input);  /* MaxInputResponse */
  p = smbq_put_le32(p, 0);             /* OutputOffset */
  p = smbq_put_le32(p, 0);             /* OutputCount */
  p = smbq_put_le32(p, r->max_output); /* MaxOutputResponse */
  p = smbq_put_le32(p, r->flags);
  p = smbq_put_le32(p, 0);             /* Reserved2 */
  if (r->input_len)
    p = smbq_put_bytes(p, r->input, r->input_len);
  else
    p = smbq_put_u8(p, 0);
  assert((size_t)(p - out) == len);
  return (long)len;
}

long smb2_encode_ioctl_req(uint8_t *out, size_t cap, uint32_t ctl_code,
                           const uint8_t fid[16], const uint8_t *in,
                           size_t in_len, uint32_t max_output) {
  struct smb2_ioctl_req r = {.ctl_code = ctl_code,
                             .input = in,
                             .input_len = in_len,
                             .max_output = max_output,
                             .flags = SMB2_0_IOCTL_IS_FSCTL};
  memcpy(r.file_id, fid, 16);
  return smb2_encode_ioctl_req_ex(out, cap, &r);
}

/* 2.2.32: StructureSize 49, Reserved, CtlCode, FileId, InputOffset,
 * InputCount, OutputOffset, OutputCount, Flags, Reserved2, buffers. */
int smb2_decode_ioctl_rsp(const uint8_t *msg, size_t len,
                          struct smb2_ioctl_rsp *r) {
  const uint8_t *b = msg + SMB2_HDR_SIZE;
  memset(r, 0, sizeof(*r));
  if (len < SMB2_HDR_SIZE + 48 || smbq_le16_at(b) != 49)
    return SMBQ_ERR_PROTO;
  r->ctl_code = smbq_le32_at(b + 4);
  memcpy(r->file_id, b + 8, 16);
  uint32_t in_off = smbq_le32_at(b + 24), in_cnt = smbq_le32_at(b + 28);
  uint32_t out_off = smbq_le32_at(b + 32), out_cnt = smbq_le32_at(b + 36);
  r->flags = smbq_le32_at(b + 40);
  if (smb2_rsp_buffer(msg, len, 48, in_off, in_cnt, &r->input) < 0 ||
      smb2_rsp_buffer(msg, len, 48, out_off, out_cnt, &r->output) < 0)
    return SMBQ_ERR_PROTO;
  r->input_len = in_cnt;
  r->output_len = out_cnt;
  return 0;
}

/* 2.2.31.4: Capabilities, Guid, SecurityMode, DialectCount, Dialects. */
long smb2_encode_validate_negotiate(uint8_t *out, size_t cap, uint32_t caps,
                                    const uint8_t guid[16], uint16_t mode,
                                    const uint16_t *dialects, size_t n) {
  if (n == 0 || n > 64)
    return SMBQ_ERR_INVAL;
  size_t len = 24 + 2 * n;
  if (len > cap)
    return SMBQ_ERR_BUFSMALL;
  uint8_t *p = out;
  p = smbq_put_le32(p, caps);
  p = smbq_put_bytes(p, guid, 16);
  p = smbq_put_le16(p, mode);
  p = smbq_put_le16(p, (uint16_t)n);
  for (size_t i = 0; i < n; i++)
    p = smbq_put_le16(p, dialects[i]);
  assert((size_t)(p - out) == len);
  return (long)len;
}

/* 2.2.32.6: Capabilities, Guid, SecurityMode, Dialect. */
int smb2_decode_validate_negotiate(const uint8_t *buf, size_t len,
                                   struct smb2_validate_negotiate_rsp *r) {
  if (!buf || len < 24)
    return SMBQ_ERR_PROTO;
  r->capabilities = smbq_le32_at(buf);
  memcpy(r->guid, buf + 4, 16);
  r->security_mode = smbq_le16_at(buf + 20);
  r->dialect = smbq_le16_at(buf + 22);
  return 0;
}
