/* SESSION_SETUP (MS-SMB2 2.2.5, 2.2.6) and the 4-byte bodies of LOGOFF,
 * TREE_DISCONNECT and ECHO (2.2.7, 2.2.8, 2.2.11, 2.2.12, 2.2.28, 2.2.29). */
#include <assert.h>
#include <string.h>

#include "smb2/smb2_pdu.h"
#include "smbq/smbq_err.h"
#include "smbq_bytes.h"

#define SS_FIXED 24

long smb2_encode_session_setup_req(uint8_t *out, size_t cap,
                                   const struct smb2_session_setup_req *r) {
  if (r->token_len > 0xFFFF)
    return SMBQ_ERR_INVAL;
  size_t len = SS_FIXED + r->token_len;
  if (len > cap)
    return SMBQ_ERR_BUFSMALL;
  uint8_t *p = out;
  p = smbq_put_le16(p, 25);
  p = smbq_put_u8(p, 0); /* Flags: no binding */
  p = smbq_put_u8(p, r->security_mode);
  p = smbq_put_le32(p, r->capabilities);
  p = smbq_put_le32(p, 0); /* Channel */
  p = smbq_put_le16(p, SMB2_HDR_SIZE + SS_FIXED);
  p = smbq_put_le16(p, (uint16_t)r->token_len);
  p = smbq_put_le64(p, r->previous_session_id);
  p = smbq_put_bytes(p, r->token, r->token_len);
  assert((size_t)(p - out) == len);
  return (long)len;
}

int smb2_decode_session_setup_rsp(const uint8_t *msg, size_t len,
                                  struct smb2_session_setup_rsp *r) {
  const uint8_t *b = msg + SMB2_HDR_SIZE;
  memset(r, 0, sizeof(*r));
  if (len < SMB2_HDR_SIZE + 8 || smbq_le16_at(b) != 9)
    return SMBQ_ERR_PROTO;
  r->session_flags = smbq_le16_at(b + 2);
  uint16_t off = smbq_le16_at(b + 4), blen = smbq_le16_at(b + 6);
  if (smb2_rsp_buffer(msg, len, 8, off, blen, &r->token) < 0)
    return SMBQ_ERR_PROTO;
  r->token_len = blen;
  return 0;
}

long smb2_encode_empty_req(uint8_t *out, size_t cap) {
  if (cap < 4)
    return SMBQ_ERR_BUFSMALL;
  uint8_t *p = smbq_put_le16(out, 4);
  p = smbq_put_le16(p, 0);
  assert(p - out == 4);
  return 4;
}

int smb2_decode_empty_rsp(const uint8_t *msg, size_t len) {
  if (len < SMB2_HDR_SIZE + 4 || smbq_le16_at(msg + SMB2_HDR_SIZE) != 4)
    return SMBQ_ERR_PROTO;
  return 0;
}

/* LOGOFF (2.2.7, 2.2.8) */
long smb2_encode_logoff_req(uint8_t *out, size_t cap) {
  return smb2_encode_empty_req(out, cap);
}

int smb2_decode_logoff_rsp(const uint8_t *msg, size_t len) {
  return smb2_decode_empty_rsp(msg, len);
}
