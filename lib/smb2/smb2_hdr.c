/* SMB2 packet header (MS-SMB2 2.2.1.1 async form, 2.2.1.2 sync form). */
#include "smb2/smb2_hdr.h"

#include <string.h>

#include "smbq/smbq_err.h"
#include "smb2/smb2_pdu.h"
#include "smbq_bytes.h"

void smb2_hdr_encode(uint8_t *out, const struct smb2_hdr *h) {
  uint8_t *p = out;
  p = smbq_put_le32(p, SMB2_PROTOCOL_ID);
  p = smbq_put_le16(p, SMB2_HDR_SIZE); /* StructureSize */
  p = smbq_put_le16(p, h->credit_charge);
  p = smbq_put_le32(p, h->status);     /* ChannelSequence/Reserved */
  p = smbq_put_le16(p, h->command);
  p = smbq_put_le16(p, h->credits);
  p = smbq_put_le32(p, h->flags);
  p = smbq_put_le32(p, h->next_command);
  p = smbq_put_le64(p, h->message_id);
  if (h->flags & SMB2_FLAGS_ASYNC_COMMAND) {
    p = smbq_put_le64(p, h->async_id);
  } else {
    p = smbq_put_le32(p, h->process_id);
    p = smbq_put_le32(p, h->tree_id);
  }
  p = smbq_put_le64(p, h->session_id);
  p = smbq_put_bytes(p, h->signature, 16);
  (void)p;
}

int smb2_hdr_decode(const uint8_t *in, size_t len, struct smb2_hdr *h) {
  if (len < SMB2_HDR_SIZE || smbq_le32_at(in) != SMB2_PROTOCOL_ID ||
      smbq_le16_at(in + 4) != SMB2_HDR_SIZE)
    return SMBQ_ERR_PROTO;
  memset(h, 0, sizeof(*h));
  h->credit_charge = smbq_le16_at(in + 6);
  h->status = smbq_le32_at(in + 8);
  h->command = smbq_le16_at(in + 12);
  h->credits = smbq_le16_at(in + 14);
  h->flags = smbq_le32_at(in + 16);
  h->next_command = smbq_le32_at(in + 20);
  h->message_id = smbq_le64_at(in + 24);
  if (h->flags & SMB2_FLAGS_ASYNC_COMMAND) {
    h->async_id = smbq_le64_at(in + 32);
  } else {
    h->process_id = smbq_le32_at(in + 32);
    h->tree_id = smbq_le32_at(in + 36);
  }
  h->session_id = smbq_le64_at(in + 40);
  memcpy(h->signature, in + 48, 16);
  return 0;
}

/* MS-SMB2 2.2.2: StructureSize 9, ErrorContextCount, ByteCount, data. */
int smb2_decode_error_rsp(const uint8_t *msg, size_t len) {
  if (len < SMB2_HDR_SIZE + 8)
    return SMBQ_ERR_PROTO;
  if (smbq_le16_at(msg + SMB2_HDR_SIZE) != 9)
    return SMBQ_ERR_PROTO;
  uint32_t bytes = smbq_le32_at(msg + SMB2_HDR_SIZE + 4);
  return bytes > len - SMB2_HDR_SIZE - 8 ? SMBQ_ERR_PROTO : 0;
}

/* ---- descriptor table ---------------------------------------------------- */

const uint8_t smb2_related_file_id[16] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* StructureSize of each request and reply (MS-SMB2 2.2.3 - 2.2.39), and
 * whether the reply has a variable part. CANCEL has no reply; the
 * OPLOCK_BREAK entry is the oplock (not lease) form (2.2.23.1). */
static const struct smb2_cmd_desc cmd_table[SMB2_NUM_COMMANDS] = {
    [SMB2_NEGOTIATE] = {"NEGOTIATE", 36, 65, true},
    [SMB2_SESSION_SETUP] = {"SESSION_SETUP", 25, 9, true},
    [SMB2_LOGOFF] = {"LOGOFF", 4, 4, false},
    [SMB2_TREE_CONNECT] = {"TREE_CONNECT", 9, 16, false},
    [SMB2_TREE_DISCONNECT] = {"TREE_DISCONNECT", 4, 4, false},
    [SMB2_CREATE] = {"CREATE", 57, 89, true},
    [SMB2_CLOSE] = {"CLOSE", 24, 60, false},
    [SMB2_FLUSH] = {"FLUSH", 24, 4, false},
    [SMB2_READ] = {"READ", 49, 17, true},
    [SMB2_WRITE] = {"WRITE", 49, 17, false},
    [SMB2_LOCK] = {"LOCK", 48, 4, false},
    [SMB2_IOCTL] = {"IOCTL", 57, 49, true},
    [SMB2_CANCEL] = {"CANCEL", 4, 0, false},
    [SMB2_ECHO] = {"ECHO", 4, 4, false},
    [SMB2_QUERY_DIRECTORY] = {"QUERY_DIRECTORY", 33, 9, true},
    [SMB2_CHANGE_NOTIFY] = {"CHANGE_NOTIFY", 32, 9, true},
    [SMB2_QUERY_INFO] = {"QUERY_INFO", 41, 9, true},
    [SMB2_SET_INFO] = {"SET_INFO", 33, 2, false},
    [SMB2_OPLOCK_BREAK] = {"OPLOCK_BREAK", 24, 24, false},
};

const struct smb2_cmd_desc *smb2_cmd_desc(uint16_t cmd) {
  return cmd < SMB2_NUM_COMMANDS ? &cmd_table[cmd] : NULL;
}

int smb2_check_rsp_size(const uint8_t *msg, size_t len) {
  if (len < SMB2_HDR_SIZE + 2)
    return SMBQ_ERR_PROTO;
  const struct smb2_cmd_desc *d = smb2_cmd_desc(smbq_le16_at(msg + 12));
  uint16_t ss = smbq_le16_at(msg + SMB2_HDR_SIZE);
  if (!d)
    return SMBQ_ERR_PROTO;
  if (ss == 9 && d->rsp_size != 9)
    return smb2_decode_error_rsp(msg, len);
  /* The odd sizes count one byte of the variable buffer (2.2.1.2). The
   * lease form of the break acknowledgement's reply is 36 (2.2.25.2). */
  uint16_t want = d->rsp_size;
  if (smbq_le16_at(msg + 12) == SMB2_OPLOCK_BREAK && ss == 36)
    want = 36;
  size_t fixed = want & ~1u;
  if (ss != want || len < SMB2_HDR_SIZE + fixed)
    return SMBQ_ERR_PROTO;
  return 0;
}

int smb2_rsp_buffer(const uint8_t *msg, size_t len, size_t fixed,
                    size_t off, size_t blen, const uint8_t **out) {
  if (smbq_check_range(len, SMB2_HDR_SIZE + fixed, off, blen) < 0)
    return SMBQ_ERR_PROTO;
  *out = blen ? msg + off : NULL;
  return 0;
}

const uint8_t *smb2_get_file_times(struct smb2_file_times *t,
                                   const uint8_t *p) {
  p = smbq_get_le64(&t->creation, p);
  p = smbq_get_le64(&t->last_access, p);
  p = smbq_get_le64(&t->last_write, p);
  return smbq_get_le64(&t->change, p);
}

/* QUERY_DIRECTORY and QUERY_INFO replies share this layout (2.2.34,
 * 2.2.38): StructureSize 9, OutputBufferOffset (16 bits),
 * OutputBufferLength (32 bits), buffer. */
int smb2_decode_out_buffer(const uint8_t *msg, size_t len,
                           const uint8_t **buf, size_t *buf_len) {
  const uint8_t *b = msg + SMB2_HDR_SIZE;
  if (len < SMB2_HDR_SIZE + 8 || smbq_le16_at(b) != 9)
    return SMBQ_ERR_PROTO;
  uint16_t off = smbq_le16_at(b + 2);
  uint32_t blen = smbq_le32_at(b + 4);
  *buf_len = blen;
  return smb2_rsp_buffer(msg, len, 8, off, blen, buf);
}
