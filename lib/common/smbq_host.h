/* Telling a server name from an address literal. */
#ifndef SMBQ_HOST_H
#define SMBQ_HOST_H

#include <stdbool.h>

/* True when host is an IPv4 or IPv6 address literal (IPv6 also in
 * brackets, as in URLs) rather than a name: Kerberos needs a name for the
 * service principal (cifs/<name>), and TLS sends no SNI for an address
 * (RFC 6066 3). */
bool smbq_host_is_address(const char *host);

#endif
