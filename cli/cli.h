/* Shared state of one smbq invocation. */
#ifndef SMBQ_CLI_H
#define SMBQ_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "smbq/smbq.h"
#include "url.h"

struct cli_config;

/* An option as given on the command line: its long name and argument
 * (NULL: none). smbq use passes them on to smbq-mount. */
struct cli_given {
  const char *name;
  const char *arg;
};

struct cli {
  smbq_opts *opts;
  bool json;
  int verbose;
  const char *user;          /* -U */
  const char *password_file; /* --password-file */
  const char *resolve;       /* --resolve HOST:ADDR */
  const char *client_cert;   /* --client-cert */
  const char *client_key;    /* --client-key */
  int port_set;              /* -p given */
  char *password;            /* resolved lazily, wiped at exit */
  /* cp */
  bool recursive;            /* -r */
  bool resume;               /* --resume */
  bool no_flush;             /* --no-flush: put/cp end without FLUSH */
  int progress;              /* CLI_PROGRESS_*: --progress, --no-progress */
  /* smbq.conf (config.h); NULL: none (smbq-mount for now) */
  struct cli_config *config;
  /* Called by cli_prepare before each connection to host (NULL: none);
   * smbq sets it to cli_config_prepare. When set, it owns the per-server
   * settings: transport, ports, CA file, address (--resolve), client
   * certificate. Returns 0 or an exit code. */
  int (*prepare_server)(struct cli *cli, const char *host);
  const char *config_user;   /* user name from the configuration for the
                                server at hand (below -U and smb://user@) */
  bool kerberos;             /* -k: no password at hand is no error (the
                                library then says which ticket is
                                missing) */
  /* every option given, in order (room for argc) */
  struct cli_given *given;
  int ngiven;
  /* use */
  bool use_delete;           /* --delete */
  bool use_stats;            /* --stats */
  bool yes;                  /* -y, --yes */
};

enum { CLI_PROGRESS_AUTO = 0, CLI_PROGRESS_ON, CLI_PROGRESS_OFF };

/* An open share for one command. */
struct cli_share {
  struct smbq_url url;
  smbq_conn *conn;
  smbq_tree *tree;
  bool verbose;              /* -v: cli_close prints the counters */
};

/* Connect to the server and share named by url_str. On failure prints the
 * error and returns the exit code (>0); 0 on success. */
int cli_open(struct cli *cli, const char *url_str, struct cli_share *s);
/* Disconnect and free; with -v, first print the connection's counters
 * (cli_print_stats). */
void cli_close(struct cli_share *s);
/* As cli_open for a location naming only a server (//host): connects and
 * authenticates, no tree (s->tree stays NULL). */
int cli_open_server(struct cli *cli, const char *url_str,
                    struct cli_share *s);
/* Set cli->opts up for the server of u (configuration, user, password,
 * --resolve, client certificate, port of an smb:// URL), as cli_open
 * does before it connects. Returns 0, or an exit code after printing
 * why. */
int cli_prepare(struct cli *cli, const struct smbq_url *u);
/* The user name for u: -U, else smb://user@, else the configuration,
 * else $USER, else "guest". */
const char *cli_user(const struct cli *cli, const struct smbq_url *u);

/* "round trips: N, requests: M, sent: X bytes, received: Y bytes,
 * breaks: B" on stderr, what -v prints at the end of a command (nothing
 * when c is not connected). */
void cli_print_stats(smbq_conn *c);

/* Print "smbq: <what>: <library message>" and return the exit code for
 * err. */
int cli_fail(struct cli_share *s, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* --kdc-proxy REALM=URL (and smbq.conf's kdc_proxy entries): set it on
 * o. Prints why and returns -1 when malformed. */
int cli_kdc_proxy(smbq_opts *o, const char *arg);
/* --kdc-proxy-transport auto|https|h3. 0, or -1 after a message. */
int cli_kdc_proxy_transport(smbq_opts *o, const char *arg);

/* The password stays in memory while the program runs (the library keeps
 * it to authenticate): no core dumps, no ptrace by other users. */
void cli_no_core_dumps(void);

/* "auto", "tcp" or "quic" (any case) -> *m; 0, or -1 for anything else.
 * Prints nothing: the callers word their own errors. */
int cli_parse_transport(const char *s, enum smbq_transport_mode *m);
/* A port number 1-65535 -> *out; 0, or -1. Prints nothing. */
int cli_parse_port(const char *s, uint16_t *out);
/* --reconnect-timeout, smbq.conf's reconnect_timeout: whole seconds
 * 0-CLI_RECONNECT_TIMEOUT_MAX (smbq_opts_set_reconnect_timeout's range;
 * 0 = no reconnecting) -> *out; 0, or -1. Prints nothing. */
#define CLI_RECONNECT_TIMEOUT_MAX 86400
int cli_parse_reconnect_timeout(const char *s, unsigned *out);

/* put and cp: copies of one file started again after the server lost its
 * open (its durable handle refused on reconnect), and what they say. */
#define CLI_LOST_RETRIES 2
#define CLI_LOST_AGAIN "the server lost the open file with the " \
                       "connection; copying it again"

/* Print a JSON string literal. */
void cli_json_str(FILE *f, const char *s);

typedef int (*cli_cmd_fn)(struct cli *cli, int argc, char **argv);

int cmd_ls(struct cli *cli, int argc, char **argv);
int cmd_stat(struct cli *cli, int argc, char **argv);
int cmd_cat(struct cli *cli, int argc, char **argv);
int cmd_get(struct cli *cli, int argc, char **argv);
int cmd_put(struct cli *cli, int argc, char **argv);
int cmd_rm(struct cli *cli, int argc, char **argv);
int cmd_mkdir(struct cli *cli, int argc, char **argv);
int cmd_rmdir(struct cli *cli, int argc, char **argv);
int cmd_mv(struct cli *cli, int argc, char **argv);
int cmd_info(struct cli *cli, int argc, char **argv);
int cmd_shares(struct cli *cli, int argc, char **argv);
int cmd_cp(struct cli *cli, int argc, char **argv);
int cmd_config(struct cli *cli, int argc, char **argv);
int cmd_doctor(struct cli *cli, int argc, char **argv);
int cmd_use(struct cli *cli, int argc, char **argv);

#endif
