/* TREE_CONNECT (MS-SMB2 2.2.9, 2.2.10). TREE_DISCONNECT uses the empty
 * body helpers of smb2_session.c. */
#include <assert.h>
#include <string.h>

#include "smb2/smb2_pdu.h"
#include "smbq/smbq_err.h"
#include "smbq_bytes.h"

#define TC_FIXED 8

long smb2_encode_tree_connect_req(uint8_t *out, size_t cap,
                                  const uint8_t *path, size_t path_len) {
  if (path_len == 0 || path_len > 0xFFFF)
    return SMBQ_ERR_INVAL;
  size_t len = TC_FIXED + path_len;
  if (len > cap)
    return SMBQ_ERR_BUFSMALL;
  uint8_t *p = out;
  p = smbq_put_le16(p, 9);
  p = smbq_put_le16(p, 0); /* Flags */
  p = smbq_put_le16(p, SMB2_HDR_SIZE + TC_FIXED);
  p = smbq_put_le16(p, (uint16_t)path_len);
  p = smbq_put_bytes(p, path, path_len);
  assert((size_t)(p - out) == len);
  return (long)len;
}

int smb2_decode_tree_connect_rsp(const uint8_t *msg, size_t len,
                                 struct smb2_tree_connect_rsp *r) {
  const uint8_t *b = msg + SMB2_HDR_SIZE;
  memset(r, 0, sizeof(*r));
  if (len < SMB2_HDR_SIZE + 16 || smbq_le16_at(b) != 16)
    return SMBQ_ERR_PROTO;
  r->share_type = b[2];
  r->share_flags = smbq_le32_at(b + 4);
  r->capabilities = smbq_le32_at(b + 8);
  r->maximal_access = smbq_le32_at(b + 12);
  return 0;
}

/* TREE_DISCONNECT (2.2.11, 2.2.12) */
long smb2_encode_tree_disconnect_req(uint8_t *out, size_t cap) {
  return smb2_encode_empty_req(out, cap);
}

int smb2_decode_tree_disconnect_rsp(const uint8_t *msg, size_t len) {
  return smb2_decode_empty_rsp(msg, len);
}
