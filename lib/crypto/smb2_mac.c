/* The signing MACs of MS-SMB2 3.1.4.1: HMAC-SHA256 (truncated to 16
 * bytes), AES-128-CMAC and AES-128-GMAC, over caller-given pieces. What
 * the pieces are (an SMB2 message with its signature zeroed) and where the
 * GMAC nonce comes from is lib/smb2's business (smb2_sign.c). */
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <string.h>

#include "crypto/smb2_crypto.h"
#include "smbq/smbq_err.h"
#include "smbq_bytes.h"

#define GMAC_NONCE_SIZE 12

static int mac_algo(uint16_t alg, gnutls_mac_algorithm_t *mac) {
  switch (alg) {
  case SMB2_SIGNING_HMAC_SHA256: /* 2.0.2 / 2.1 */
    *mac = GNUTLS_MAC_SHA256;
    return 0;
  case SMB2_SIGNING_AES_CMAC: /* 3.x default */
    *mac = GNUTLS_MAC_AES_CMAC_128;
    return 0;
  case SMB2_SIGNING_AES_GMAC: /* 3.1.1 SMB2_SIGNING_CAPABILITIES */
    *mac = GNUTLS_MAC_AES_GMAC_128;
    return 0;
  default:
    return SMBQ_ERR_INVAL;
  }
}

int smb2_mac(uint16_t alg, const uint8_t key[16], const uint8_t *nonce,
             const struct smb2_crypto_buf *parts, size_t nparts,
             uint8_t tag[SMB2_MAC_SIZE]) {
  gnutls_mac_algorithm_t mac;
  if (mac_algo(alg, &mac) < 0 || !key || !tag || (!parts && nparts) ||
      (alg == SMB2_SIGNING_AES_GMAC && !nonce))
    return SMBQ_ERR_INVAL;
  for (size_t i = 0; i < nparts; i++)
    if (!parts[i].data && parts[i].len)
      return SMBQ_ERR_INVAL;
  gnutls_hmac_hd_t h;
  uint8_t full[32];
  if (gnutls_hmac_init(&h, mac, key, 16) < 0)
    return SMBQ_ERR_CRYPTO;
  if (alg == SMB2_SIGNING_AES_GMAC)
    gnutls_hmac_set_nonce(h, nonce, GMAC_NONCE_SIZE);
  int rc = 0;
  for (size_t i = 0; rc >= 0 && i < nparts; i++)
    if (parts[i].len)
      rc = gnutls_hmac(h, parts[i].data, parts[i].len);
  gnutls_hmac_deinit(h, full);
  if (rc >= 0)
    memcpy(tag, full, SMB2_MAC_SIZE);
  smbq_wipe(full, sizeof(full));
  return rc < 0 ? SMBQ_ERR_CRYPTO : 0;
}
