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

#define MAX_PIECES 4

static bool known_alg(uint16_t alg) {
  return alg == SMB2_SIGNING_HMAC_SHA256 || alg == SMB2_SIGNING_AES_CMAC ||
         alg == SMB2_SIGNING_AES_GMAC;
}

/* The MAC of a message with its Signature field taken as zero (3.1.4.1
 * step 1), fed in pieces so the message is neither copied nor modified:
 * the header up to the signature, zeros, the rest of the first piece
 * (hdr, at least the header), then the other pieces. */
static int compute_sig(uint16_t alg, const uint8_t key[16],
                       const struct smb2_crypto_buf *hdr,
                       const struct smb2_crypto_buf *rest, size_t nrest,
                       uint8_t sig[16]) {
  static const uint8_t zero[SMB2_SIG_SIZE];
  if (!known_alg(alg) || !key || !hdr->data || nrest > MAX_PIECES)
    return SMBQ_ERR_INVAL;
  if (hdr->len < SMB2_HDR_SIZE)
    return SMBQ_ERR_PROTO;
  const uint8_t *msg = hdr->data;
  uint8_t nonce[12];
  if (alg == SMB2_SIGNING_AES_GMAC)
    gmac_nonce(msg, nonce);
  struct smb2_crypto_buf parts[3 + MAX_PIECES] = {
      {msg, SMB2_SIG_OFFSET},
      {zero, SMB2_SIG_SIZE},
      {msg + SMB2_HDR_SIZE, hdr->len - SMB2_HDR_SIZE},
  };
  for (size_t i = 0; i < nrest; i++)
    parts[3 + i] = rest[i];
  /* GnuTLS buffers partial blocks for CMAC and GMAC: pieces may split
   * anywhere (tests/unit/test_smb2_sign.c checks odd splits) */
  return smb2_mac(alg, key, alg == SMB2_SIGNING_AES_GMAC ? nonce : NULL,
                  parts, 3 + nrest, sig);
}

static int check_sig(const uint8_t sig[SMB2_SIG_SIZE], const uint8_t *msg) {
  uint8_t diff = 0;
  for (size_t i = 0; i < SMB2_SIG_SIZE; i++)
    diff |= (uint8_t)(sig[i] ^ msg[SMB2_SIG_OFFSET + i]);
  return diff ? SMBQ_ERR_SIGNATURE : 0;
}

int smb2_sign(uint16_t alg, const uint8_t key[16], uint8_t *msg, size_t len) {
  uint8_t sig[SMB2_SIG_SIZE];
  const struct smb2_crypto_buf whole = {msg, len};
  int rc = compute_sig(alg, key, &whole, NULL, 0, sig);
  if (rc == 0)
    memcpy(msg + SMB2_SIG_OFFSET, sig, SMB2_SIG_SIZE);
  return rc;
}

/* A WRITE whose data is the caller's: the MAC covers header, body and
 * data as they will go on the wire, read where they lie (3.1.4.1). */
int smb2_sign_iov(uint16_t alg, const uint8_t key[16], uint8_t *msg,
                  size_t len, const struct smb2_crypto_buf *rest,
                  size_t nrest) {
  uint8_t sig[SMB2_SIG_SIZE];
  const struct smb2_crypto_buf first = {msg, len};
  int rc = compute_sig(alg, key, &first, rest, nrest, sig);
  if (rc == 0)
    memcpy(msg + SMB2_SIG_OFFSET, sig, SMB2_SIG_SIZE);
  return rc;
}

/* 3.1.5.1: recompute and compare in constant time. */
int smb2_verify(uint16_t alg, const uint8_t key[16], const uint8_t *msg,
                size_t len) {
  const struct smb2_crypto_buf whole = {msg, len};
  return smb2_verify_iov(alg, key, &whole, 1);
}

int smb2_verify_iov(uint16_t alg, const uint8_t key[16],
                    const struct smb2_crypto_buf *parts, size_t n) {
  if (!parts || !n)
    return SMBQ_ERR_INVAL;
  uint8_t sig[SMB2_SIG_SIZE];
  int rc = compute_sig(alg, key, &parts[0], parts + 1, n - 1, sig);
  return rc < 0 ? rc : check_sig(sig, parts[0].data);
}
