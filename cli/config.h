/* Configuration of smbq (and of any frontend built on cli/): smbq.conf
 * files, environment variables and the command line, merged into one set
 * of settings that each remember where they came from (`smbq config`
 * prints them). The format and the precedence are documented in
 * smbq.conf(5):
 *
 *   command line > environment > [server NAME] sections > [global]
 *   sections > built-in defaults;
 *
 * among files, ~/.config/smbq/smbq.conf ($XDG_CONFIG_HOME honoured) over
 * /etc/smbq/smbq.conf, and a later line over an earlier one. --config
 * FILE or SMBQ_CONFIG=FILE reads that one file instead of both;
 * --no-config reads none.
 *
 * Independent of main.c: a frontend creates a cli_config, records its
 * command-line options with cli_config_cmdline, calls cli_config_load
 * once they are all parsed, and cli_config_apply before each connection
 * (or sets struct cli's prepare_server to cli_config_prepare). Messages
 * are prefixed with the program's name. Not thread-safe: set up before
 * the connections start. */
#ifndef SMBQ_CLI_CONFIG_H
#define SMBQ_CLI_CONFIG_H

#include <stdio.h>

#include "smbq/smbq.h"

struct cli;
struct cli_config;

/* NULL on allocation failure. Free with cli_config_free (NULL is fine). */
struct cli_config *cli_config_new(void);
void cli_config_free(struct cli_config *c);

/* --config FILE: read only FILE (it must exist). path must stay valid. */
void cli_config_use_file(struct cli_config *c, const char *path);
/* --no-config: read no file (environment and command line still apply). */
void cli_config_no_files(struct cli_config *c);

/* Record a command-line option (long name without dashes, e.g. "port",
 * "resolve", "no-quic") with its argument (NULL for flags), so that it
 * wins over the files and the environment and `smbq config` shows it.
 * Options that are not settings are ignored. The frontend applies the
 * option to its smbq_opts itself as well. Returns 0, or -1 on allocation
 * failure. */
int cli_config_cmdline(struct cli_config *c, const char *opt,
                       const char *arg);

/* Read the files and the environment. Unknown keys and sections are
 * warned about (FILE:LINE) on stderr; syntax errors and bad values are
 * printed (FILE:LINE) and make it return -1: exit with status 2. */
int cli_config_load(struct cli_config *c);

/* Set on o what the configuration says for server (the name as given in
 * the location; NULL: the [global] values only): transport, ports, CA
 * file, address (as --resolve), client certificate (a [server] one as a
 * per-server mapping), QUIC policy and exceptions, transport cache.
 * Settings nobody set get their defaults, so options shared by
 * connections to several servers carry nothing over from one to the next.
 * Returns 0 or a negative SMBQ_ERR_*. */
int cli_config_apply(struct cli_config *c, const char *server,
                     smbq_opts *o);

/* The effective value of key (a smbq.conf key name) for server (NULL:
 * global), "" when none; *origin (if not NULL) is set to "default",
 * "FILE:LINE", "environment VAR" or "command line --OPT". The strings
 * live as long as c. */
const char *cli_config_get(const struct cli_config *c, const char *server,
                           const char *key, const char **origin);

/* True if QUIC may be used for server: quic = on, or server is in
 * quic_exceptions. */
int cli_config_quic_allowed(const struct cli_config *c, const char *server);

/* Print every setting with its value and origin, for server (NULL: the
 * global ones and the list of [server] sections). */
void cli_config_print(const struct cli_config *c, FILE *f,
                      const char *server);

/* For struct cli's prepare_server: cli_config_apply(cli->config, host,
 * cli->opts), and cli->config_user from the configuration. Returns 0 or
 * an exit code (after printing why). */
int cli_config_prepare(struct cli *cli, const char *host);

#endif
