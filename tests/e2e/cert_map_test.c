/* Connects to HOST over QUIC with per-server client certificate mappings
 * (smbq_opts_map_client_cert), for t_quic_client_cert.sh.
 * Usage: cert_map_test HOST [default CERT KEY] [map SERVER CERT KEY]...
 * (credentials, port, CA file, address: examples/example_opts.h)
 * Exit: 0 connected, 6 certificate/TLS refusal, 1 anything else; the
 * library's message goes to stderr. */
#include <stdio.h>
#include <string.h>

#include <smbq/smbq.h>

#include "../../examples/example_opts.h"

int main(int argc, char **argv) {
  if (argc < 2)
    return 2;
  smbq_opts *o = example_opts();
  smbq_opts_set_transport(o, SMBQ_TRANSPORT_QUIC);
  for (int i = 2; i < argc; i++) {
    if (!strcmp(argv[i], "default") && i + 2 < argc) {
      smbq_opts_set_client_cert(o, argv[i + 1], argv[i + 2]);
      i += 2;
    } else if (!strcmp(argv[i], "map") && i + 3 < argc) {
      if (smbq_opts_map_client_cert(o, argv[i + 1], argv[i + 2],
                                    argv[i + 3]) < 0)
        return 1;
      i += 3;
    } else {
      return 2;
    }
  }
  smbq_conn *c = smbq_conn_new(o);
  smbq_opts_free(o); /* the connection keeps its own copy */
  int rc = c ? smbq_conn_connect(c, argv[1]) : SMBQ_ERR_NOMEM;
  if (rc < 0) {
    char m[640];
    fprintf(stderr, "%s\n", smbq_conn_errmsg(c, m, sizeof(m)));
  }
  smbq_conn_free(c);
  if (rc == SMBQ_ERR_CERT || rc == SMBQ_ERR_TLS)
    return 6;
  return rc < 0 ? 1 : 0;
}
