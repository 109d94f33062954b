/* Connecting the CLI to a share, error printing and exit codes. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "creds.h"
#include "exitcodes.h"

int smbq_exit_from_err(int err) {
  switch (err) {
  case SMBQ_OK:
    return SMBQ_EXIT_OK;
  case SMBQ_ERR_AUTH:
  case SMBQ_ERR_POLICY:
    return SMBQ_EXIT_AUTH;
  case SMBQ_ERR_NOENT:
  case SMBQ_ERR_ACCESS:
  case SMBQ_ERR_NOTDIR:
    return SMBQ_EXIT_NOTFOUND;
  case SMBQ_ERR_NET:
  case SMBQ_ERR_TIMEOUT:
  case SMBQ_ERR_CLOSED:
  case SMBQ_ERR_UNSUPPORTED:
    return SMBQ_EXIT_NET;
  case SMBQ_ERR_TLS:
  case SMBQ_ERR_CERT:
    return SMBQ_EXIT_CERT;
  default:
    return SMBQ_EXIT_OTHER;
  }
}

/* The library says what is wrong in its own words (naming its option
 * functions); where one of our flags (smbq's and smbq-mount's alike) is the
 * way out, we name it after the message. Matched on the library's wording;
 * a message that already names the flag gets no second mention. %s in a
 * hint is the server as the user typed it. */
static const struct {
  const char *says; /* part of the library's message */
  const char *flag; /* the flag the hint names */
  const char *hint; /* appended after "; " */
} flag_hints[] = {
    {"requires a client certificate", "--client-cert",
     "use --client-cert FILE (and --client-key FILE)"},
    {"refused our client certificate", "--client-cert",
     "check --client-cert"},
    {"if you trust it, configure its CA", "--ca-file",
     "use --ca-file CA.pem"},
    {"QUIC is disabled by policy", "--quic-exception",
     "use --transport tcp, or --quic-exception %s"},
    {"does not offer SMB 3.1.1", "--transport tcp", "use --transport tcp"},
    {"no QUIC answer", "--quic-port", "try --transport tcp or --quic-port"},
    {"not for SMB (ALPN", "--quic-port", "check --quic-port"},
    {"the QUIC transport (UDP) may get through", "--transport quic",
     "try --transport quic"},
    {"the port is right", "--port", "check --port"},
    {"cannot resolve server name", "--resolve",
     "or use --resolve %s:ADDRESS"},
    {"smbq_opts_set_resolve) is not a numeric IP", "--resolve",
     "check --resolve"},
    {"Kerberos needs the server's name", "--resolve",
     "use --resolve NAME:ADDR"},
    {"no KDC proxy is configured", "--kdc-proxy",
     "use --kdc-proxy REALM=https://HOST/PATH"},
    {"or list the server's shares", "smbq shares", "smbq shares //%s"},
};

static void add_flag_hints(char *msg, size_t cap, const char *server) {
  /* what a KDC proxy answered is about the proxy, not about the SMB
   * server the transport and port flags are for */
  const char *proxy = strstr(msg, "through the KDC proxy");
  for (size_t i = 0; i < sizeof(flag_hints) / sizeof(flag_hints[0]); i++) {
    const char *h = flag_hints[i].hint, *at = strstr(h, "%s");
    const char *says = strstr(msg, flag_hints[i].says);
    if (!says || (proxy && says > proxy) || strstr(msg, flag_hints[i].flag))
      continue;
    size_t n = strlen(msg);
    if (at)
      snprintf(msg + n, cap - n, "; %.*s%s%s", (int)(at - h), h, server,
               at + 2);
    else
      snprintf(msg + n, cap - n, "; %s", h);
  }
}

int cli_fail(struct cli_share *s, int err, const char *fmt, ...) {
  char what[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof(what), fmt, ap);
  va_end(ap);
  char msg[2048];
  if (s && s->conn) {
    smbq_conn_errmsg(s->conn, msg, sizeof(msg));
    add_flag_hints(msg, sizeof(msg), s->url.host);
  } else
    snprintf(msg, sizeof(msg), "%s", smbq_strerror(err));
  fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what, msg);
  return smbq_exit_from_err(err);
}

void cli_json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\')
      fprintf(f, "\\%c", *p);
    else if (*p < 0x20)
      fprintf(f, "\\u%04x", *p);
    else
      fputc(*p, f);
  }
  fputc('"', f);
}

const char *cli_user(const struct cli *cli, const struct smbq_url *u) {
  if (cli->user)
    return cli->user;
  if (u->user[0])
    return u->user;
  if (cli->config_user)
    return cli->config_user;
  const char *env = getenv("USER");
  return env ? env : "guest";
}

void cli_no_core_dumps(void) {
  struct rlimit none = {0, 0};
  setrlimit(RLIMIT_CORE, &none);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

int cli_parse_transport(const char *s, enum smbq_transport_mode *m) {
  static const struct {
    const char *name;
    enum smbq_transport_mode mode;
  } modes[] = {{"auto", SMBQ_TRANSPORT_AUTO},
               {"tcp", SMBQ_TRANSPORT_TCP},
               {"quic", SMBQ_TRANSPORT_QUIC}};
  for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
    if (strcasecmp(s, modes[i].name) == 0) {
      *m = modes[i].mode;
      return 0;
    }
  }
  return -1;
}

int cli_parse_port(const char *s, uint16_t *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (!*s || *end || v < 1 || v > 65535)
    return -1;
  *out = (uint16_t)v;
  return 0;
}

int cli_parse_reconnect_timeout(const char *s, unsigned *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (!*s || *end || errno || v < 0 || v > CLI_RECONNECT_TIMEOUT_MAX)
    return -1;
  *out = (unsigned)v;
  return 0;
}

int cli_kdc_proxy_transport(smbq_opts *o, const char *arg) {
  static const struct {
    const char *name;
    enum smbq_kdc_proxy_transport t;
  } modes[] = {{"auto", SMBQ_KDC_PROXY_AUTO},
               {"https", SMBQ_KDC_PROXY_HTTPS},
               {"h3", SMBQ_KDC_PROXY_H3}};
  for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
    if (strcasecmp(arg, modes[i].name) == 0)
      return smbq_opts_set_kdc_proxy_transport(o, modes[i].t);
  fprintf(stderr, "%s: --kdc-proxy-transport wants auto, https or h3, not "
          "'%s'\n", program_invocation_short_name, arg);
  return -1;
}

int cli_kdc_proxy(smbq_opts *o, const char *arg) {
  const char *eq = strchr(arg, '=');
  char realm[256];
  if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(realm) ||
      strncasecmp(eq + 1, "https://", 8) != 0) {
    fprintf(stderr, "%s: --kdc-proxy wants REALM=https://HOST/PATH, not "
            "'%s'\n", program_invocation_short_name, arg);
    return -1;
  }
  snprintf(realm, sizeof(realm), "%.*s", (int)(eq - arg), arg);
  int rc = smbq_opts_set_kdc_proxy(o, realm, eq + 1);
  if (rc < 0)
    fprintf(stderr, "%s: --kdc-proxy %s: %s\n", program_invocation_short_name,
            arg, smbq_strerror(rc));
  return rc < 0 ? -1 : 0;
}

/* A user named on the command line, in the URL or in the configuration
 * (not the $USER default). */
static bool explicit_user(const struct cli *cli, const struct smbq_url *u) {
  return cli->user || u->user[0] || cli->config_user;
}

/* --password-file, then SMBQ_PASSWORD, then (unless a Kerberos ticket of
 * the user is at hand, which needs no password) a prompt. */
static int resolve_password(struct cli *cli, const char *user,
                            const char *host) {
  if (cli->password)
    return 0;
  char err[512];
  if (cli->password_file) {
    cli->password = smbq_read_password_file(cli->password_file, err,
                                            sizeof(err));
    if (!cli->password) {
      fprintf(stderr, "smbq: %s\n", err);
      return SMBQ_EXIT_USAGE;
    }
    return 0;
  }
  const char *env = getenv("SMBQ_PASSWORD");
  if (env) {
    cli->password = strdup(env);
    return cli->password ? 0 : SMBQ_EXIT_OTHER;
  }
  if (smbq_opts_have_kerberos_ticket(cli->opts, NULL, 0))
    return 0;
  cli->password = smbq_prompt_password(user, host);
  if (!cli->password && cli->kerberos)
    return 0; /* Kerberos without a ticket: the library says so */
  if (!cli->password) {
    fprintf(stderr, "smbq: no password: use --password-file FILE, set "
            "SMBQ_PASSWORD, or run on a terminal to be asked\n");
    return SMBQ_EXIT_USAGE;
  }
  return 0;
}

/* --resolve HOST:ADDR applies when HOST is the server named. */
static const char *resolve_addr(const struct cli *cli, const char *host) {
  if (!cli->resolve)
    return NULL;
  size_t hl = strlen(host);
  if (strncasecmp(cli->resolve, host, hl) == 0 && cli->resolve[hl] == ':')
    return cli->resolve + hl + 1;
  return NULL;
}

static void report_connection(struct cli_share *s) {
  struct smbq_conn_info i;
  if (smbq_conn_get_info(s->conn, &i) < 0)
    return;
  fprintf(stderr,
          "smbq: connected to %s (%s) over %s: SMB %s, signing %s, "
          "encryption %s, auth %s\n",
          i.server, i.peer, i.transport, i.dialect, i.signing,
          smbq_tree_encrypted(s->tree) ? i.cipher : "none", i.auth);
  if (i.tls_version[0])
    fprintf(stderr,
            "smbq: %s %s, ALPN %s%s; certificate %s issued by %s, "
            "SHA-256 %s\n",
            i.tls_version, i.tls_cipher, i.alpn,
            i.tls_resumed ? ", session resumed" : "", i.cert_subject,
            i.cert_issuer, i.cert_sha256);
}

void cli_print_stats(smbq_conn *c) {
  struct smbq_stats st;
  struct smbq_conn_info i;
  if (!c || smbq_conn_get_stats(c, &st) < 0 || smbq_conn_get_info(c, &i) < 0)
    return;
  fprintf(stderr,
          "round trips: %" PRIu64 ", requests: %" PRIu64 ", sent: %" PRIu64
          " bytes, received: %" PRIu64 " bytes, breaks: %" PRIu64
          ", read data placed: %" PRIu64 " bytes, copied: %" PRIu64
          " bytes, reconnects: %u\n",
          st.round_trips, st.requests, st.bytes_sent, st.bytes_received,
          st.breaks, st.read_bytes_placed, st.read_bytes_copied,
          i.reconnects);
}

int cli_prepare(struct cli *cli, const struct smbq_url *u) {
  int rc = cli->prepare_server ? cli->prepare_server(cli, u->host) : 0;
  if (rc)
    return rc;
  const char *user = cli_user(cli, u);
  /* Kerberos: with no user named, the credentials cache's principal is
   * the user (an empty user name tells the library so) */
  smbq_opts_set_user(cli->opts, explicit_user(cli, u) ? user : "", NULL);
  if (!explicit_user(cli, u) && !cli->kerberos &&
      !smbq_opts_have_kerberos_ticket(cli->opts, NULL, 0))
    smbq_opts_set_user(cli->opts, user, NULL);
  rc = resolve_password(cli, user, u->host);
  if (rc)
    return rc;
  smbq_opts_set_password(cli->opts, cli->password);
  /* with prepare_server, the configuration (which records --resolve)
   * has set the address */
  if (!cli->prepare_server)
    smbq_opts_set_resolve(cli->opts, resolve_addr(cli, u->host));
  if (cli->client_cert || cli->client_key) {
    if (!cli->client_cert) {
      fprintf(stderr, "smbq: --client-key needs --client-cert\n");
      return SMBQ_EXIT_USAGE;
    }
    smbq_opts_set_client_cert(cli->opts, cli->client_cert, cli->client_key);
  }
  if (u->port && !cli->port_set)
    smbq_opts_set_port(cli->opts, u->port);
  return 0;
}

/* Connect and authenticate to the server of the parsed s->url. */
static int cli_connect(struct cli *cli, struct cli_share *s) {
  int rc = cli_prepare(cli, &s->url);
  if (rc)
    return rc;
  s->conn = smbq_conn_new(cli->opts);
  if (!s->conn)
    return cli_fail(NULL, SMBQ_ERR_NOMEM, "connect");
  int err_code = smbq_conn_connect(s->conn, s->url.host);
  if (err_code < 0) {
    rc = cli_fail(s, err_code, "cannot connect to %s", s->url.host);
    cli_close(s);
    return rc;
  }
  return 0;
}

int cli_open_server(struct cli *cli, const char *url_str,
                    struct cli_share *s) {
  char err[512];
  memset(s, 0, sizeof(*s));
  s->verbose = cli->verbose > 0;
  if (smbq_url_parse(url_str, false, &s->url, err, sizeof(err)) < 0) {
    fprintf(stderr, "smbq: %s\n", err);
    return SMBQ_EXIT_USAGE;
  }
  if (s->url.share[0]) {
    fprintf(stderr, "smbq: '%s' names a share; give the server only "
            "(//host)\n", url_str);
    return SMBQ_EXIT_USAGE;
  }
  int rc = cli_connect(cli, s);
  if (rc == 0 && cli->verbose)
    report_connection(s);
  return rc;
}

int cli_open(struct cli *cli, const char *url_str, struct cli_share *s) {
  char err[512];
  memset(s, 0, sizeof(*s));
  s->verbose = cli->verbose > 0;
  if (smbq_url_parse(url_str, true, &s->url, err, sizeof(err)) < 0) {
    fprintf(stderr, "smbq: %s\n", err);
    return SMBQ_EXIT_USAGE;
  }
  int rc = cli_connect(cli, s);
  if (rc)
    return rc;
  int err_code = smbq_tree_connect(s->conn, s->url.share, &s->tree);
  if (err_code < 0) {
    rc = cli_fail(s, err_code, "cannot open share \\\\%s\\%s",
                  s->url.host, s->url.share);
    cli_close(s);
    return rc;
  }
  if (cli->verbose)
    report_connection(s);
  return 0;
}

void cli_close(struct cli_share *s) {
  /* smbq_conn_free closes what is open and drops the tree and session
   * with the connection, as Windows does: no TREE_DISCONNECT or LOGOFF
   * round trips before exiting */
  s->tree = NULL;
  if (s->verbose)
    cli_print_stats(s->conn);
  smbq_conn_free(s->conn);
  s->conn = NULL;
}
