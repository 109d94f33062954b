/* Strict server certificate checks for the QUIC transport: system trust
 * plus --ca-file, the name the user typed must match a DNS (or IP) SAN with
 * no CN fallback, EKU serverAuth, validity dates. Each failure gets its own
 * message; GnuTLS does the cryptographic chain validation. */
#include "transport/quic_cert.h"

#include <gnutls/x509.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "smbq/smbq_err.h"
#include "transport/transport.h"

/* GnuTLS keeps and verifies at most 16 certificates of a chain (its
 * default verify depth): a longer chain fails as if issued by an
 * untrusted CA, which would send the user after the wrong cause. */
#define MAX_CHAIN_CERTS 16u

static void fmt_date(time_t t, char *out, size_t len) {
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, len, "%Y-%m-%d %H:%M UTC", &tm);
}

/* Comma-separated DNS/IP SANs of the leaf; returns how many there are. */
static int list_sans(gnutls_x509_crt_t crt, char *out, size_t len) {
  int n = 0;
  out[0] = '\0';
  for (unsigned i = 0;; i++) {
    char name[256];
    size_t nl = sizeof(name);
    unsigned critical;
    int type = gnutls_x509_crt_get_subject_alt_name(crt, i, name, &nl,
                                                    &critical);
    if (type < 0)
      break;
    if (type != GNUTLS_SAN_DNSNAME && type != GNUTLS_SAN_IPADDRESS)
      continue;
    /* the server chose these bytes: no escape sequences to the terminal */
    char shown[256];
    if (type == GNUTLS_SAN_IPADDRESS)
      snprintf(shown, sizeof(shown), "IP address (%zu bytes)", nl);
    else
      quic_printable(shown, sizeof(shown), (const uint8_t *)name, nl);
    size_t used = strlen(out);
    snprintf(out + used, len - used, "%s%s", n ? ", " : "", shown);
    n++;
  }
  return n;
}

static void dn_of(gnutls_x509_crt_t crt, bool issuer, char *out,
                  size_t len) {
  gnutls_datum_t dn = {NULL, 0};
  int rc = issuer ? gnutls_x509_crt_get_issuer_dn3(crt, &dn, 0)
                  : gnutls_x509_crt_get_dn3(crt, &dn, 0);
  snprintf(out, len, "%s", rc == 0 ? (const char *)dn.data : "?");
  gnutls_free(dn.data);
}

int quic_cert_fingerprint(gnutls_session_t s, char *out, size_t len) {
  unsigned n = 0;
  const gnutls_datum_t *certs = gnutls_certificate_get_peers(s, &n);
  uint8_t fp[32];
  size_t fl = sizeof(fp);
  if (!certs || !n ||
      gnutls_fingerprint(GNUTLS_DIG_SHA256, &certs[0], fp, &fl) < 0)
    return SMBQ_ERR_CERT;
  out[0] = '\0';
  for (size_t i = 0; i < fl && 3 * i + 3 <= len; i++)
    snprintf(out + 3 * i, len - 3 * i, "%02X%s", fp[i],
             i + 1 < fl ? ":" : "");
  return 0;
}

int quic_cert_describe(gnutls_session_t s, char *subject, char *issuer,
                       size_t len, int64_t *not_after) {
  unsigned n = 0;
  const gnutls_datum_t *certs = gnutls_certificate_get_peers(s, &n);
  gnutls_x509_crt_t crt;
  if (!certs || !n || gnutls_x509_crt_init(&crt) < 0)
    return SMBQ_ERR_CERT;
  int rc = SMBQ_ERR_CERT;
  if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) == 0) {
    dn_of(crt, false, subject, len);
    dn_of(crt, true, issuer, len);
    *not_after = (int64_t)gnutls_x509_crt_get_expiration_time(crt);
    rc = 0;
  }
  gnutls_x509_crt_deinit(crt);
  return rc;
}

/* Map GnuTLS's verification status to one message, most useful first. */
static void explain(unsigned status, gnutls_x509_crt_t crt, const char *host,
                    char *msg, size_t len) {
  char when[64], dn[512], sans[512];
  if (status & (GNUTLS_CERT_SIGNER_NOT_FOUND | GNUTLS_CERT_SIGNER_NOT_CA |
                GNUTLS_CERT_INVALID) &&
      !(status & (GNUTLS_CERT_EXPIRED | GNUTLS_CERT_NOT_ACTIVATED |
                  GNUTLS_CERT_UNEXPECTED_OWNER | GNUTLS_CERT_PURPOSE_MISMATCH))) {
    char subj[512];
    dn_of(crt, true, dn, sizeof(dn));
    dn_of(crt, false, subj, sizeof(subj));
    bool self = strcmp(dn, subj) == 0;
    /* an untrusted certificate's issuer goes into the message as
     * printable ASCII only */
    quic_printable(dn, sizeof(dn), (const uint8_t *)dn, strlen(dn));
    snprintf(msg, len,
             "certificate for %s %s (issuer: %s); if you trust it, configure "
             "its CA as trusted for this server (smbq_opts_set_ca_file)",
             host,
             self ? "is self-signed, not issued by a trusted CA"
                  : "is issued by an untrusted CA",
             dn);
  } else if (status & GNUTLS_CERT_EXPIRED) {
    fmt_date(gnutls_x509_crt_get_expiration_time(crt), when, sizeof(when));
    snprintf(msg, len, "certificate for %s expired on %s; the server needs "
             "a renewed certificate", host, when);
  } else if (status & GNUTLS_CERT_NOT_ACTIVATED) {
    fmt_date(gnutls_x509_crt_get_activation_time(crt), when, sizeof(when));
    snprintf(msg, len, "certificate for %s is not valid before %s (check "
             "the clocks)", host, when);
  } else if (status & GNUTLS_CERT_UNEXPECTED_OWNER) {
    list_sans(crt, sans, sizeof(sans));
    snprintf(msg, len, "certificate is not valid for name %s (SAN: %s); "
             "connect with a name the certificate lists", host,
             sans[0] ? sans : "none");
  } else if (status & GNUTLS_CERT_PURPOSE_MISMATCH) {
    snprintf(msg, len, "certificate for %s is not meant for server "
             "authentication (its extended key usage lacks serverAuth)",
             host);
  } else {
    gnutls_datum_t out = {NULL, 0};
    gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509,
                                                 &out, 0);
    snprintf(msg, len, "certificate for %s rejected: %s", host,
             out.data ? (const char *)out.data : "unknown reason");
    gnutls_free(out.data);
  }
}

int quic_cert_verify(gnutls_session_t s, const char *host, char *msg,
                     size_t len) {
  unsigned n = 0;
  const gnutls_datum_t *certs = gnutls_certificate_get_peers(s, &n);
  if (!certs || n == 0) {
    snprintf(msg, len, "server %s sent no certificate", host);
    return SMBQ_ERR_CERT;
  }
  gnutls_x509_crt_t crt;
  if (gnutls_x509_crt_init(&crt) < 0)
    return SMBQ_ERR_NOMEM;
  int rc = SMBQ_ERR_CERT;
  char sans[512];
  if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) < 0) {
    snprintf(msg, len, "server %s sent an unreadable certificate", host);
    goto out;
  }
  /* No CN fallback: a certificate must name the server in its SAN. */
  if (list_sans(crt, sans, sizeof(sans)) == 0) {
    snprintf(msg, len, "certificate for %s has no subjectAltName; names in "
             "the subject CN are not accepted", host);
    goto out;
  }
  gnutls_typed_vdata_st data[2] = {
      {GNUTLS_DT_DNS_HOSTNAME, (unsigned char *)host, 0},
      {GNUTLS_DT_KEY_PURPOSE_OID, (unsigned char *)GNUTLS_KP_TLS_WWW_SERVER,
       0},
  };
  unsigned status = 0;
  if (gnutls_certificate_verify_peers(s, data, 2, &status) < 0) {
    snprintf(msg, len, "certificate for %s could not be verified", host);
    goto out;
  }
  if (status == 0) {
    rc = 0;
    goto out;
  }
  if (n >= MAX_CHAIN_CERTS && (status & GNUTLS_CERT_SIGNER_NOT_FOUND)) {
    snprintf(msg, len, "certificate chain from %s is too long (%u "
             "certificates or more; longer than can be verified): refused; "
             "the server needs a shorter certificate chain", host,
             MAX_CHAIN_CERTS);
    goto out;
  }
  explain(status, crt, host, msg, len);
out:
  gnutls_x509_crt_deinit(crt);
  return rc;
}
