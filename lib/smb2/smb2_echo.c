/* ECHO (MS-SMB2 2.2.28, 2.2.29): a 4-byte body each way (StructureSize 4,
 * Reserved). Used as the keep-alive of an idle connection. */
#include "smb2/smb2_pdu.h"

long smb2_encode_echo_req(uint8_t *out, size_t cap) {
  return smb2_encode_empty_req(out, cap);
}

int smb2_decode_echo_rsp(const uint8_t *msg, size_t len) {
  return smb2_decode_empty_rsp(msg, len);
}
