/* Server certificate checks for the QUIC transport (see quic_cert.c). */
#ifndef SMBQ_QUIC_CERT_H
#define SMBQ_QUIC_CERT_H

#include <gnutls/gnutls.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Verify the peer's certificate for `host` (the name the user typed).
 * Returns 0, or SMBQ_ERR_CERT with a message naming the cause and the
 * fix in msg. */
int quic_cert_verify(gnutls_session_t s, const char *host, char *msg,
                     size_t len);

/* SHA-256 of the leaf certificate as "AB:CD:..." (len >= 96). */
int quic_cert_fingerprint(gnutls_session_t s, char *out, size_t len);

/* Subject and issuer DNs of the leaf certificate, and the end of its
 * validity (seconds since the epoch). */
int quic_cert_describe(gnutls_session_t s, char *subject, char *issuer,
                       size_t len, int64_t *not_after);

#endif
