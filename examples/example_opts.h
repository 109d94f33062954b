/* Connection options for the examples, from the environment:
 *   SMBQ_USER (else USER), SMBQ_PASSWORD, SMBQ_PORT (TCP, default 445),
 *   SMBQ_TRANSPORT (auto|tcp|quic), SMBQ_QUIC_PORT (default 443),
 *   SMBQ_CA_FILE (extra CA for QUIC), SMBQ_RESOLVE (address to connect to).
 * The caller frees the result with smbq_opts_free(). */
#ifndef EXAMPLE_OPTS_H
#define EXAMPLE_OPTS_H

#include <stdlib.h>
#include <string.h>

#include <smbq/smbq.h>

static inline smbq_opts *example_opts(void) {
  const char *user = getenv("SMBQ_USER") ? getenv("SMBQ_USER") : getenv("USER");
  const char *t = getenv("SMBQ_TRANSPORT");
  smbq_opts *o = smbq_opts_new();
  if (!o)
    return NULL;
  smbq_opts_set_user(o, user ? user : "", NULL);
  smbq_opts_set_password(o, getenv("SMBQ_PASSWORD"));
  if (getenv("SMBQ_PORT"))
    smbq_opts_set_port(o, (uint16_t)atoi(getenv("SMBQ_PORT")));
  if (getenv("SMBQ_QUIC_PORT"))
    smbq_opts_set_quic_port(o, (uint16_t)atoi(getenv("SMBQ_QUIC_PORT")));
  if (t && !strcmp(t, "quic"))
    smbq_opts_set_transport(o, SMBQ_TRANSPORT_QUIC);
  else if (t && !strcmp(t, "tcp"))
    smbq_opts_set_transport(o, SMBQ_TRANSPORT_TCP);
  smbq_opts_set_ca_file(o, getenv("SMBQ_CA_FILE"));
  smbq_opts_set_resolve(o, getenv("SMBQ_RESOLVE"));
  return o;
}

#endif
