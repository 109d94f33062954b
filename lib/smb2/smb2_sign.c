/* SMB2 message signing and verification (MS-SMB2 3.1.4.1, 3.1.5.1): which
 * bytes are signed and where the signature goes. The MACs themselves are
 * lib/crypto's (smb2_mac()). */
#include <stdbool.h>
#include <string.h>

#include "crypto/smb2_crypto.h"
#include "smb2/smb2_secure.h"
#include "smbq/smbq_err.h"
#include "smbq_bytes.h"

/* 3.1.4.1: the AES-GMAC nonce is 12 bytes: MessageId, then a 32-bit field
 * whose least significant bit is 1 when the sender is the server
 * (SMB2_FLAGS_SERVER_TO_REDIR) and whose next bit is 1 for an SMB2 CANCEL
 * request (a request never carries SERVER_TO_REDIR); the rest is zero. */
static void gmac_nonce(const uint8_t *msg, uint8_t nonce[12]) {
  uint32_t flags = smbq_le32_at(msg + 16);
  uint16_t cmd = smbq_le16_at(msg + 12);
  uint32_t bits = 0;
  if (flags & SMB2_FLAGS_SERVER_TO_REDIR)
    bits |= 1;
  else if (cmd == SMB2_CANCEL)
    bits |= 2;
  memcpy(nonce, msg + 24, 8);
  smbq_put_le32(nonce + 8, bits);
}

static bool known_alg(uint16_t alg) {
  return alg == SMB2_SIGNING_HMAC_SHA256 || alg == SMB2_SIGNING_AES_CMAC ||
         alg == SMB2_SIGNING_AES_GMAC;
}

/* The MAC of msg with its Signature field taken as zero (3.1.4.1 step 1),
 * fed in three pieces so the message is neither copied nor modified. */
static int compute_sig(uint16_t alg, const uint8_t key[16],
                       const uint8_t *msg, size_t len, uint8_t sig[16]) {
  static const uint8_t zero[SMB2_SIG_SIZE];
  if (!known_alg(alg) || !key || !msg)
    return SMBQ_ERR_INVAL;
  if (len < SMB2_HDR_SIZE)
    return SMBQ_ERR_PROTO;
  uint8_t nonce[12];
  if (alg == SMB2_SIGNING_AES_GMAC)
    gmac_nonce(msg, nonce);
  const struct smb2_crypto_buf parts[] = {
      {msg, SMB2_SIG_OFFSET},
      {zero, SMB2_SIG_SIZE},
      {msg + SMB2_HDR_SIZE, len - SMB2_HDR_SIZE},
  };
  return smb2_mac(alg, key, alg == SMB2_SIGNING_AES_GMAC ? nonce : NULL,
                  parts, sizeof(parts) / sizeof(parts[0]), sig);
}

int smb2_sign(uint16_t alg, const uint8_t key[16], uint8_t *msg, size_t len) {
  uint8_t sig[SMB2_SIG_SIZE];
  int rc = compute_sig(alg, key, msg, len, sig);
  if (rc == 0)
    memcpy(msg + SMB2_SIG_OFFSET, sig, SMB2_SIG_SIZE);
  return rc;
}

/* 3.1.5.1: recompute and compare in constant time. */
int smb2_verify(uint16_t alg, const uint8_t key[16], const uint8_t *msg,
                size_t len) {
  uint8_t sig[SMB2_SIG_SIZE];
  int rc = compute_sig(alg, key, msg, len, sig);
  if (rc < 0)
    return rc;
  uint8_t diff = 0;
  for (size_t i = 0; i < SMB2_SIG_SIZE; i++)
    diff |= (uint8_t)(sig[i] ^ msg[SMB2_SIG_OFFSET + i]);
  return diff ? SMBQ_ERR_SIGNATURE : 0;
}
