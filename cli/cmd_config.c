/* smbq config [//host]: the effective settings and where each came from
 * (config.c does the work). */
#include <stdio.h>

#include "cli.h"
#include "config.h"
#include "exitcodes.h"

int cmd_config(struct cli *cli, int argc, char **argv) {
  struct smbq_url u;
  char err[512];
  if (argc > 0 && smbq_url_parse(argv[0], false, &u, err, sizeof(err)) < 0) {
    fprintf(stderr, "smbq: %s\n", err);
    return SMBQ_EXIT_USAGE;
  }
  cli_config_print(cli->config, stdout, argc > 0 ? u.host : NULL);
  return SMBQ_EXIT_OK;
}
