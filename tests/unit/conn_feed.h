/* Feeding the connection core (lib/smb2/smb2_conn) in unit suites. */
#ifndef SMBQ_CONN_FEED_H
#define SMBQ_CONN_FEED_H

#include <check.h>
#include <string.h>

#include "smb2/smb2_conn.h"
#include "smbq_bytes.h"

/* Hand one SMB2 message (header and body) to the core as one frame, with
 * its 4-byte length (MS-SMB2 2.1). Returns smb2_conn_received's result. */
static inline int feed_message(struct smb2_conn *c, const uint8_t *msg,
                               size_t len) {
  size_t cap;
  uint8_t *dst = smb2_conn_recv_buf(c, &cap);
  ck_assert_ptr_nonnull(dst);
  ck_assert_uint_ge(cap, len + 4);
  smbq_put_be32(dst, (uint32_t)len);
  memcpy(dst + 4, msg, len);
  return smb2_conn_received(c, len + 4);
}

#endif
