/* smbq: command-line SMB client on the libsmbq public API. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "creds.h"
#include "exitcodes.h"

struct cmd {
  const char *name;
  int min_args, max_args;
  cli_cmd_fn fn;
  const char *usage;
};

static const struct cmd commands[] = {
    {"ls", 1, 1, cmd_ls, "ls //host/share[/dir]        list a directory"},
    {"stat", 1, 1, cmd_stat, "stat //host/share/path       show metadata"},
    {"cat", 1, 1, cmd_cat, "cat //host/share/file        print a file"},
    {"get", 1, 2, cmd_get,
     "get //host/share/file [LOCAL|-]  download (default: basename)"},
    {"put", 2, 2, cmd_put, "put LOCAL //host/share/path  upload"},
    {"rm", 1, 1, cmd_rm, "rm //host/share/file         delete a file"},
    {"mkdir", 1, 1, cmd_mkdir, "mkdir //host/share/dir       create a dir"},
    {"rmdir", 1, 1, cmd_rmdir, "rmdir //host/share/dir       remove an "
                               "empty directory"},
    {"mv", 2, 2, cmd_mv, "mv //host/share/a //host/share/b  rename "
                         "(same share)"},
    {"info", 1, 1, cmd_info, "info //host/share            show dialect, "
                             "transport, signing, encryption, auth"},
    {"shares", 1, 1, cmd_shares, "shares //host                list the "
                                 "server's shares (as net view)"},
    {"cp", 2, INT_MAX, cmd_cp,
     "cp [-r] [--resume] SRC... DST  copy files/trees to, from or "
     "between shares"},
    {"config", 0, 1, cmd_config,
     "config [//host]              show the settings and where each is "
     "from"},
    {"doctor", 1, 1, cmd_doctor,
     "doctor //host[/share]        diagnose the connection step by step"},
    {"use", 0, 2, cmd_use,
     "use [[URL] MOUNTPOINT]       list smbq mounts, show one, or mount\n"
     "                               URL there (as net use)\n"
     "  use MOUNTPOINT|'*' --delete  unmount one, or all\n"
     "  use --stats MOUNTPOINT       the mount's counters (requests,\n"
     "                               round trips, bytes, breaks)"},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f) {
  fprintf(f,
          "Usage: smbq [options] COMMAND ARGS\n"
          "\n"
          "Commands:\n");
  for (size_t i = 0; i < N_COMMANDS; i++)
    fprintf(f, "  %s\n", commands[i].usage);
  fprintf(
      f,
      "\n"
      "Locations: //host/share/path, \\\\host\\share\\path,\n"
      "           smb://[user@]host[:port]/share/path\n"
      "\n"
      "Options:\n"
      "  -t, --transport MODE   auto|tcp|quic (default auto: race them; the\n"
      "                         one that last worked (else TCP) starts, the\n"
      "                         other 250 ms later or when the first fails;\n"
      "                         the first to connect is used)\n"
      "  -p, --port N           TCP port (default 445)\n"
      "      --quic-port N      QUIC port (default 443)\n"
      "  -U, --user [DOMAIN\\]USER  user name (default: $USER)\n"
      "      --password-file F  read the password from F (not readable by\n"
      "                         others); else $SMBQ_PASSWORD; else a "
      "prompt\n"
      "      --credentials F    username=, password=, domain= lines from F\n"
      "                         (not readable by others); its password\n"
      "                         comes before the sources above\n"
      "      --ca-file FILE     extra trusted CA certificates for QUIC (PEM)\n"
      "      --client-cert FILE QUIC client certificate (PEM)\n"
      "      --client-key FILE  its private key (PEM; default: in the cert)\n"
      "      --resolve HOST:ADDR  connect to ADDR for server name HOST\n"
      "      --transport-cache FILE  where auto remembers per server which\n"
      "                         transport worked, to try it first next time\n"
      "                         (default $XDG_CACHE_HOME/smbq/transports or\n"
      "                         ~/.cache/smbq/transports)\n"
      "      --no-transport-cache  neither read nor write that cache\n"
      "      --no-quic          policy: no SMB over QUIC (auto uses TCP only,\n"
      "                         -t quic is refused)\n"
      "      --quic-exception SERVER  allow QUIC to SERVER despite --no-quic\n"
      "                         (repeatable)\n"
      "      --encrypt          require SMB encryption\n"
      "      --reconnect-timeout SECONDS  when the connection is lost, calls\n"
      "                         wait this long while it is restored, then\n"
      "                         fail (0-86400; default 60, as Windows; 0:\n"
      "                         fail at once, no reconnecting)\n"
      "  -k, --kerberos         Kerberos only (ticket from the credentials\n"
      "                         cache, KRB5CCNAME, or from user@REALM and\n"
      "                         the password); default: Kerberos when such\n"
      "                         credentials exist, else NTLMv2\n"
      "      --no-ntlm          policy: never use NTLM\n"
      "      --kdc-proxy REALM=URL  MS-KKDCP KDC proxy (https) for REALM,\n"
      "                         used when its KDCs cannot be reached\n"
      "                         (repeatable)\n"
      "      --kdc-proxy-only   use the KDC proxy without trying the KDCs\n"
      "      --kdc-proxy-transport auto|https|h3  how the KDC proxy is\n"
      "                         reached: HTTPS and HTTP/3 raced (auto,\n"
      "                         default), HTTPS over TCP, or HTTP/3 over\n"
      "                         QUIC (UDP only)\n"
      "      --json             machine-readable output\n"
      "  -r, --recursive        cp: copy directories and their contents\n"
      "      --resume           cp: continue partial copies (*.smbq-part or\n"
      "                         shorter targets), skip complete ones (same\n"
      "                         size and mtime)\n"
      "      --no-flush         put, cp: report a file stored once the server\n"
      "                         acknowledged every write and the close,\n"
      "                         without FLUSH (the server's disk cache may\n"
      "                         still hold it); default: FLUSH as well\n"
      "      --progress, --no-progress  cp: draw a progress bar on stderr\n"
      "                         or not (default: when stderr is a terminal)\n"
      "      --config FILE      read settings from FILE only (also\n"
      "                         $SMBQ_CONFIG) instead of /etc/smbq/smbq.conf\n"
      "                         and ~/.config/smbq/smbq.conf (smbq.conf(5))\n"
      "      --no-config        read no configuration file\n"
      "      --delete           use: unmount the mount point, or '*': all\n"
      "      --stats            use: print a mount's counters\n"
      "  -y, --yes              use '*' --delete: do not ask\n"
      "  -o, --mount-options OPT,...  use: smbq-mount -o options (ro,\n"
      "                         uid=, allow_other, ...)\n"
      "  -v, --verbose          report the negotiated connection on stderr,\n"
      "                         and at the end its round trips, requests\n"
      "                         and bytes\n"
      "  -h, --help             this help\n"
      "      --version          print the version\n"
      "\n"
      "Exit codes: 0 ok, 1 other error, 2 usage, 3 authentication,\n"
      "            4 not found or access denied, 5 network/transport,\n"
      "            6 certificate/TLS\n");
}

enum {
  OPT_QUIC_PORT = 256,
  OPT_PASSWORD_FILE,
  OPT_CREDENTIALS,
  OPT_CA_FILE,
  OPT_CLIENT_CERT,
  OPT_CLIENT_KEY,
  OPT_RESOLVE,
  OPT_ENCRYPT,
  OPT_JSON,
  OPT_VERSION,
  /* connect policy */
  OPT_TRANSPORT_CACHE,
  OPT_NO_TRANSPORT_CACHE,
  OPT_NO_QUIC,
  OPT_QUIC_EXCEPTION,
  OPT_RECONNECT_TIMEOUT,
  /* cp */
  OPT_RESUME,
  OPT_NO_FLUSH,
  OPT_PROGRESS,
  OPT_NO_PROGRESS,
  /* configuration files */
  OPT_CONFIG,
  OPT_NO_CONFIG,
  /* Kerberos */
  OPT_NO_NTLM,
  OPT_KDC_PROXY,
  OPT_KDC_PROXY_ONLY,
  OPT_KDC_PROXY_TRANSPORT,
  /* use */
  OPT_DELETE,
  OPT_STATS,
};

static const struct option long_opts[] = {
    {"transport", required_argument, NULL, 't'},
    {"port", required_argument, NULL, 'p'},
    {"quic-port", required_argument, NULL, OPT_QUIC_PORT},
    {"user", required_argument, NULL, 'U'},
    {"password-file", required_argument, NULL, OPT_PASSWORD_FILE},
    {"credentials", required_argument, NULL, OPT_CREDENTIALS},
    {"ca-file", required_argument, NULL, OPT_CA_FILE},
    {"client-cert", required_argument, NULL, OPT_CLIENT_CERT},
    {"client-key", required_argument, NULL, OPT_CLIENT_KEY},
    {"resolve", required_argument, NULL, OPT_RESOLVE},
    {"encrypt", no_argument, NULL, OPT_ENCRYPT},
    {"json", no_argument, NULL, OPT_JSON},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {"transport-cache", required_argument, NULL, OPT_TRANSPORT_CACHE},
    {"no-transport-cache", no_argument, NULL, OPT_NO_TRANSPORT_CACHE},
    {"no-quic", no_argument, NULL, OPT_NO_QUIC},
    {"quic-exception", required_argument, NULL, OPT_QUIC_EXCEPTION},
    {"reconnect-timeout", required_argument, NULL, OPT_RECONNECT_TIMEOUT},
    {"recursive", no_argument, NULL, 'r'},
    {"resume", no_argument, NULL, OPT_RESUME},
    {"no-flush", no_argument, NULL, OPT_NO_FLUSH},
    {"progress", no_argument, NULL, OPT_PROGRESS},
    {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"no-config", no_argument, NULL, OPT_NO_CONFIG},
    {"kerberos", no_argument, NULL, 'k'},
    {"no-ntlm", no_argument, NULL, OPT_NO_NTLM},
    {"kdc-proxy", required_argument, NULL, OPT_KDC_PROXY},
    {"kdc-proxy-only", no_argument, NULL, OPT_KDC_PROXY_ONLY},
    {"kdc-proxy-transport", required_argument, NULL,
     OPT_KDC_PROXY_TRANSPORT},
    {"delete", no_argument, NULL, OPT_DELETE},
    {"stats", no_argument, NULL, OPT_STATS},
    {"yes", no_argument, NULL, 'y'},
    {"mount-options", required_argument, NULL, 'o'},
    {NULL, 0, NULL, 0},
};

static int parse_port(const char *s, uint16_t *out) {
  if (cli_parse_port(s, out) == 0)
    return 0;
  fprintf(stderr, "smbq: invalid port '%s' (expected 1-65535)\n", s);
  return -1;
}

static int parse_transport(const char *s, enum smbq_transport_mode *m) {
  if (cli_parse_transport(s, m) == 0)
    return 0;
  fprintf(stderr, "smbq: invalid transport '%s' (use auto, tcp or quic)\n",
          s);
  return -1;
}

static int parse_reconnect_timeout(const char *s, unsigned *out) {
  if (cli_parse_reconnect_timeout(s, out) == 0)
    return 0;
  fprintf(stderr, "smbq: invalid --reconnect-timeout '%s' (expected "
          "seconds, 0-%d)\n", s, CLI_RECONNECT_TIMEOUT_MAX);
  return -1;
}

static int apply_option(struct cli *cli, int c, const char *arg) {
  uint16_t port;
  unsigned seconds;
  enum smbq_transport_mode mode;
  switch (c) {
  case 't':
    if (parse_transport(arg, &mode) < 0)
      return -1;
    return smbq_opts_set_transport(cli->opts, mode);
  case 'p':
    if (parse_port(arg, &port) < 0)
      return -1;
    cli->port_set = 1;
    return smbq_opts_set_port(cli->opts, port);
  case OPT_QUIC_PORT:
    if (parse_port(arg, &port) < 0)
      return -1;
    return smbq_opts_set_quic_port(cli->opts, port);
  case 'U':
    cli->user = arg;
    return 0;
  case OPT_PASSWORD_FILE:
    cli->password_file = arg;
    return 0;
  case OPT_CREDENTIALS:
    return cli_use_credentials(cli, arg);
  case OPT_CA_FILE:
    return smbq_opts_set_ca_file(cli->opts, arg);
  case OPT_CLIENT_CERT:
    cli->client_cert = arg;
    return 0;
  case OPT_CLIENT_KEY:
    cli->client_key = arg;
    return 0;
  case OPT_RESOLVE:
    if (!strchr(arg, ':')) {
      fprintf(stderr, "smbq: --resolve wants HOST:ADDR\n");
      return -1;
    }
    cli->resolve = arg;
    return 0;
  case OPT_ENCRYPT:
    return smbq_opts_set_encrypt(cli->opts, 1);
  case OPT_JSON:
    cli->json = true;
    return 0;
  case 'v':
    cli->verbose++;
    return 0;
  case OPT_TRANSPORT_CACHE:
    return smbq_opts_set_transport_cache(cli->opts, arg);
  case OPT_NO_TRANSPORT_CACHE:
    return smbq_opts_set_transport_cache(cli->opts, NULL);
  case OPT_NO_QUIC:
    return smbq_opts_set_quic_enabled(cli->opts, 0);
  case OPT_QUIC_EXCEPTION:
    return smbq_opts_add_quic_exception(cli->opts, arg);
  case OPT_RECONNECT_TIMEOUT:
    if (parse_reconnect_timeout(arg, &seconds) < 0)
      return -1;
    return smbq_opts_set_reconnect_timeout(cli->opts, seconds);
  case 'r':
    cli->recursive = true;
    return 0;
  case OPT_RESUME:
    cli->resume = true;
    return 0;
  case OPT_NO_FLUSH:
    cli->no_flush = true;
    return 0;
  case OPT_PROGRESS:
    cli->progress = CLI_PROGRESS_ON;
    return 0;
  case OPT_NO_PROGRESS:
    cli->progress = CLI_PROGRESS_OFF;
    return 0;
  case OPT_CONFIG:
    cli_config_use_file(cli->config, arg);
    return 0;
  case OPT_NO_CONFIG:
    cli_config_no_files(cli->config);
    return 0;
  case 'k':
    cli->kerberos = true;
    return smbq_opts_set_auth(cli->opts, SMBQ_AUTH_KERBEROS);
  case OPT_NO_NTLM:
    return smbq_opts_set_ntlm(cli->opts, 0);
  case OPT_KDC_PROXY:
    return cli_kdc_proxy(cli->opts, arg);
  case OPT_KDC_PROXY_ONLY:
    return smbq_opts_set_kdc_proxy_only(cli->opts, 1);
  case OPT_KDC_PROXY_TRANSPORT:
    return cli_kdc_proxy_transport(cli->opts, arg);
  case OPT_DELETE:
    cli->use_delete = true;
    return 0;
  case OPT_STATS:
    cli->use_stats = true;
    return 0;
  case 'y':
    cli->yes = true;
    return 0;
  case 'o':
    return 0; /* recorded for smbq use */
  default:
    return -1;
  }
}

/* The configuration records the options that are settings, so they win
 * over smbq.conf and the environment and `smbq config` names them. */
static int record_option(struct cli *cli, int c, const char *arg) {
  for (const struct option *o = long_opts; o->name; o++)
    if (o->val == c) {
      cli->given[cli->ngiven++] = (struct cli_given){o->name, arg};
      return cli_config_cmdline(cli->config, o->name, arg);
    }
  return 0;
}

static const struct cmd *find_cmd(const char *name) {
  for (size_t i = 0; i < N_COMMANDS; i++)
    if (strcmp(commands[i].name, name) == 0)
      return &commands[i];
  return NULL;
}

int main(int argc, char **argv) {
  struct cli cli;
  memset(&cli, 0, sizeof(cli));
  cli_no_core_dumps();
  cli.opts = smbq_opts_new();
  cli.config = cli_config_new();
  cli.prepare_server = cli_config_prepare;
  /* each option takes at least one argument of argv */
  cli.given = calloc((size_t)argc, sizeof(*cli.given));
  if (!cli.opts || !cli.config || !cli.given) {
    fprintf(stderr, "smbq: out of memory\n");
    smbq_opts_free(cli.opts);
    cli_config_free(cli.config);
    free(cli.given);
    return SMBQ_EXIT_OTHER;
  }
  int c, rc = SMBQ_EXIT_USAGE;
  /* '+': options end at the command name, as in git. */
  while ((c = getopt_long(argc, argv, "+t:p:U:rvhkyo:", long_opts, NULL)) != -1) {
    if (c == 'h') {
      usage(stdout);
      rc = SMBQ_EXIT_OK;
      goto out;
    }
    if (c == OPT_VERSION) {
      printf("smbq %s\n", smbq_version());
      rc = SMBQ_EXIT_OK;
      goto out;
    }
    if (c == '?' || apply_option(&cli, c, optarg) < 0 ||
        record_option(&cli, c, optarg) < 0) {
      fprintf(stderr, "Try 'smbq --help'.\n");
      goto out;
    }
  }
  if (optind >= argc) {
    usage(stderr);
    goto out;
  }
  const struct cmd *cmd = find_cmd(argv[optind]);
  if (!cmd) {
    fprintf(stderr, "smbq: unknown command '%s'; try 'smbq --help'\n",
            argv[optind]);
    goto out;
  }
  /* Options may also follow the command ("smbq ls URL --json"). */
  int cargc = argc - optind;
  char **cargv = argv + optind;
  optind = 0; /* glibc: 0 re-initialises getopt */
  int nargs = 0;
  char **args = calloc((size_t)cargc, sizeof(char *));
  if (!args)
    goto out;
  while (optind < cargc) {
    c = getopt_long(cargc, cargv, "-t:p:U:rvhkyo:", long_opts, NULL);
    if (c == -1)
      break;
    if (c == 1) {
      args[nargs++] = optarg;
      continue;
    }
    if (c == 'h') {
      printf("Usage: smbq [options] %s\n", cmd->usage);
      rc = SMBQ_EXIT_OK;
      free(args);
      goto out;
    }
    if (c == '?' || apply_option(&cli, c, optarg) < 0 ||
        record_option(&cli, c, optarg) < 0) {
      fprintf(stderr, "Try 'smbq --help'.\n");
      free(args);
      goto out;
    }
  }
  while (optind < cargc)
    args[nargs++] = cargv[optind++];
  if (nargs < cmd->min_args || nargs > cmd->max_args) {
    fprintf(stderr, "smbq: wrong number of arguments\nUsage: smbq "
            "[options] %s\n", cmd->usage);
    free(args);
    goto out;
  }
  if (cli_config_load(cli.config) < 0) {
    free(args);
    goto out; /* the errors are printed; usage status */
  }
  rc = cmd->fn(&cli, nargs, args);
  free(args);
out:
  smbq_free_secret(cli.password);
  smbq_opts_free(cli.opts);
  cli_config_free(cli.config);
  free(cli.given);
  return rc;
}
