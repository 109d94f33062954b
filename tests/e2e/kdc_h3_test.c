/* e2e of the KDC proxy over HTTP/3 at the API, run by t_kerberos.sh: two
 * logons in one process with the same options, the KDC reachable only
 * through an HTTP/3 proxy. Each connect does its own AS and TGS
 * exchanges; the test proxy's log then shows whether they shared a QUIC
 * connection and whether the second logon resumed TLS.
 * Usage: kdc_h3_test SERVER REALM URL (user, password, transport, CA
 * file from the environment: examples/example_opts.h). Exits non-zero on
 * the first failure, with the library's message. */
#include <stdio.h>
#include <stdlib.h>

#include <smbq/smbq.h>

#include "../../examples/example_opts.h"

static int logon(const smbq_opts *o, const char *server, int n) {
  smbq_conn *c = smbq_conn_new(o);
  if (!c) {
    fprintf(stderr, "logon %d: no memory\n", n);
    return 1;
  }
  int rc = smbq_conn_connect(c, server);
  char msg[1024] = "";
  if (rc < 0)
    smbq_conn_errmsg(c, msg, sizeof(msg));
  printf("logon %d: %s %s\n", n, rc < 0 ? "FAILED" : "ok", msg);
  smbq_conn_free(c);
  return rc < 0;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: kdc_h3_test SERVER REALM URL\n");
    return 2;
  }
  smbq_opts *o = example_opts();
  if (!o || smbq_opts_set_auth(o, SMBQ_AUTH_KERBEROS) < 0 ||
      smbq_opts_set_kdc_proxy(o, argv[2], argv[3]) < 0 ||
      smbq_opts_set_kdc_proxy_only(o, 1) < 0 ||
      smbq_opts_set_kdc_proxy_transport(o, SMBQ_KDC_PROXY_H3) < 0 ||
      smbq_opts_set_transport_cache(o, NULL) < 0) {
    fprintf(stderr, "cannot set the options\n");
    return 1;
  }
  int failed = logon(o, argv[1], 1) || logon(o, argv[1], 2);
  smbq_opts_free(o);
  return failed;
}
