/* TLS 1.3 session tickets kept in memory per server, so that a reconnect
 * to the same server resumes (one round trip less for the certificate
 * exchange, no certificate to verify again: RFC 8446 2.2).
 *
 * One store is shared by the connections made from one smbq_opts and its
 * copies (reference counted); it is thread-safe. Tickets are single-use
 * (RFC 8446 C.4: a client SHOULD NOT reuse a ticket, so that passive
 * observers cannot correlate connections): take() removes the ticket it
 * returns, and the new connection stores the ones its server sends. */
#ifndef SMBQ_QUIC_TICKETS_H
#define SMBQ_QUIC_TICKETS_H

#include <stddef.h>
#include <stdint.h>

#include "transport/transport.h"

struct quic_tickets;

/* A new empty store with one reference, or NULL without memory. */
struct quic_tickets *quic_tickets_new(void);
/* Another reference to t (t may be NULL); returns t. */
struct quic_tickets *quic_tickets_ref(struct quic_tickets *t);
/* Drop a reference; the last one frees the store (t may be NULL). */
void quic_tickets_unref(struct quic_tickets *t);

/* Remove and return the newest ticket stored for key (ALPN, server name,
 * port and client identity; see quic_conn.c). On 1, *data is malloc'd (caller frees
 * after wiping) and *info holds what the original full handshake learnt
 * about the server (its certificate), which a resumed handshake does not
 * show again. Returns 0 when there is none. */
int quic_tickets_take(struct quic_tickets *t, const char *key,
                      uint8_t **data, size_t *len,
                      struct smbq_tls_info *info, int64_t now_ms);

/* Store a copy of a ticket (session data from GnuTLS) for key. The store
 * keeps at most QUIC_TICKETS_MAX tickets, dropping the oldest. Returns 0 or
 * SMBQ_ERR_NOMEM. */
int quic_tickets_put(struct quic_tickets *t, const char *key,
                     const uint8_t *data, size_t len,
                     const struct smbq_tls_info *info, int64_t now_ms);

#define QUIC_TICKETS_MAX 64
/* Older tickets are not offered: servers rotate their ticket keys, and an
 * old ticket only costs a wasted PSK attempt. */
#define QUIC_TICKETS_MAX_AGE_MS (60 * 60 * 1000)

#endif
