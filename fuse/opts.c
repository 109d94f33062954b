/* smbq-mount command line: the smbq CLI's connection options (same names),
 * mount options, and -o opt[=value],... as mount.fuse3 passes them from
 * fstab. One table serves both spellings: --quic-port 4433 and
 * -o quic_port=4433 ('_' and '-' are the same in -o names). Unknown -o
 * options go to libfuse (allow_other, noatime, ...), which rejects what it
 * does not know either. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <math.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "creds.h"
#include "exitcodes.h"
#include "mount.h"

#define MAX_STRINGS 64

struct mopt {
  const char *name;  /* --name and -o name */
  int short_opt;     /* or 0 */
  bool has_arg;
  bool long_form;    /* also accepted as --name */
  int (*apply)(struct mount_cfg *m, const char *arg);
  const char *setting; /* smbq.conf records it under this option name
                          (NULL: `name`; options that are no setting are
                          ignored there) */
};

__attribute__((format(printf, 1, 2))) static int bad(const char *fmt,
                                                      ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "smbq-mount: ");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return -1;
}

/* ---- connection options (as in cli/main.c) ---------------------------- */

static int parse_port(const char *s, uint16_t *out) {
  if (cli_parse_port(s, out) == 0)
    return 0;
  return bad("invalid port '%s' (expected 1-65535)", s);
}

static int opt_transport(struct mount_cfg *m, const char *arg) {
  enum smbq_transport_mode mode;
  if (cli_parse_transport(arg, &mode) == 0)
    return smbq_opts_set_transport(m->cli.opts, mode);
  return bad("invalid transport '%s' (use auto, tcp or quic)", arg);
}

static int opt_port(struct mount_cfg *m, const char *arg) {
  uint16_t port;
  if (parse_port(arg, &port) < 0)
    return -1;
  m->cli.port_set = 1;
  return smbq_opts_set_port(m->cli.opts, port);
}

static int opt_quic_port(struct mount_cfg *m, const char *arg) {
  uint16_t port;
  if (parse_port(arg, &port) < 0)
    return -1;
  return smbq_opts_set_quic_port(m->cli.opts, port);
}

static int opt_user(struct mount_cfg *m, const char *arg) {
  m->cli.user = arg;
  return 0;
}

static int opt_domain(struct mount_cfg *m, const char *arg) {
  m->domain = arg;
  return 0;
}

static int opt_password_file(struct mount_cfg *m, const char *arg) {
  m->cli.password_file = arg;
  return 0;
}

static int opt_credentials(struct mount_cfg *m, const char *arg) {
  return cli_use_credentials(&m->cli, arg);
}

static int opt_password(struct mount_cfg *m, const char *arg) {
  (void)m, (void)arg;
  return bad("%s", "a password on the command line shows in ps; use "
             "credentials=FILE, --password-file FILE, SMBQ_PASSWORD or the "
             "prompt");
}

static int opt_ca_file(struct mount_cfg *m, const char *arg) {
  return smbq_opts_set_ca_file(m->cli.opts, arg);
}

static int opt_client_cert(struct mount_cfg *m, const char *arg) {
  m->cli.client_cert = arg;
  return 0;
}

static int opt_client_key(struct mount_cfg *m, const char *arg) {
  m->cli.client_key = arg;
  return 0;
}

static int opt_resolve(struct mount_cfg *m, const char *arg) {
  if (!strchr(arg, ':'))
    return bad("%s", "resolve wants HOST:ADDR");
  m->cli.resolve = arg;
  return 0;
}

static int opt_encrypt(struct mount_cfg *m, const char *arg) {
  (void)arg;
  return smbq_opts_set_encrypt(m->cli.opts, 1);
}

/* Kerberos, as smbq's -k, --no-ntlm, --kdc-proxy, --kdc-proxy-only. */
static int opt_kerberos(struct mount_cfg *m, const char *arg) {
  (void)arg;
  m->cli.kerberos = true;
  return smbq_opts_set_auth(m->cli.opts, SMBQ_AUTH_KERBEROS);
}

static int opt_no_ntlm(struct mount_cfg *m, const char *arg) {
  (void)arg;
  return smbq_opts_set_ntlm(m->cli.opts, 0);
}

static int opt_kdc_proxy(struct mount_cfg *m, const char *arg) {
  return cli_kdc_proxy(m->cli.opts, arg);
}

static int opt_kdc_proxy_only(struct mount_cfg *m, const char *arg) {
  (void)arg;
  return smbq_opts_set_kdc_proxy_only(m->cli.opts, 1);
}

static int opt_kdc_proxy_transport(struct mount_cfg *m, const char *arg) {
  return cli_kdc_proxy_transport(m->cli.opts, arg);
}

static int opt_transport_cache(struct mount_cfg *m, const char *arg) {
  return smbq_opts_set_transport_cache(m->cli.opts, arg);
}

static int opt_no_transport_cache(struct mount_cfg *m, const char *arg) {
  (void)arg;
  return smbq_opts_set_transport_cache(m->cli.opts, NULL);
}

static int opt_no_quic(struct mount_cfg *m, const char *arg) {
  (void)arg;
  return smbq_opts_set_quic_enabled(m->cli.opts, 0);
}

static int opt_quic_exception(struct mount_cfg *m, const char *arg) {
  return smbq_opts_add_quic_exception(m->cli.opts, arg);
}

/* --reconnect-timeout S, -o reconnect_timeout=S (main.c reads the
 * setting in force back from the configuration for its log lines). */
static int opt_reconnect_timeout(struct mount_cfg *m, const char *arg) {
  unsigned seconds;
  if (cli_parse_reconnect_timeout(arg, &seconds) < 0)
    return bad("invalid reconnect timeout '%s' (--reconnect-timeout, -o "
               "reconnect_timeout: seconds, 0-%d)", arg,
               CLI_RECONNECT_TIMEOUT_MAX);
  return smbq_opts_set_reconnect_timeout(m->cli.opts, seconds);
}

static int opt_config(struct mount_cfg *m, const char *arg) {
  cli_config_use_file(m->cli.config, arg);
  return 0;
}

static int opt_no_config(struct mount_cfg *m, const char *arg) {
  (void)arg;
  cli_config_no_files(m->cli.config);
  return 0;
}

static int opt_verbose(struct mount_cfg *m, const char *arg) {
  (void)arg;
  m->cli.verbose++;
  return 0;
}

/* ---- mount options ---------------------------------------------------- */

static int parse_id(const char *s, unsigned long *out) {
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (!*s || *end || errno || v >= (unsigned long)(uid_t)-1)
    return -1;
  *out = v;
  return 0;
}

static int opt_uid(struct mount_cfg *m, const char *arg) {
  unsigned long v;
  if (parse_id(arg, &v) == 0) {
    m->uid = (uid_t)v;
    return 0;
  }
  struct passwd *pw = getpwnam(arg);
  if (!pw)
    return bad("uid=%s: no such user", arg);
  m->uid = pw->pw_uid;
  return 0;
}

static int opt_gid(struct mount_cfg *m, const char *arg) {
  unsigned long v;
  if (parse_id(arg, &v) == 0) {
    m->gid = (gid_t)v;
    return 0;
  }
  struct group *gr = getgrnam(arg);
  if (!gr)
    return bad("gid=%s: no such group", arg);
  m->gid = gr->gr_gid;
  return 0;
}

static int parse_mode(const char *s, mode_t *out) {
  char *end;
  unsigned long v = strtoul(s, &end, 8);
  if (!*s || *end || v > 07777)
    return bad("invalid mode '%s' (octal, e.g. 0644)", s);
  *out = (mode_t)v;
  return 0;
}

static int opt_file_mode(struct mount_cfg *m, const char *arg) {
  return parse_mode(arg, &m->file_mode);
}

static int opt_dir_mode(struct mount_cfg *m, const char *arg) {
  return parse_mode(arg, &m->dir_mode);
}

static int parse_seconds(const char *s, double *out) {
  char *end;
  double v = strtod(s, &end);
  if (!*s || *end || !isfinite(v) || v < 0)
    return bad("invalid timeout '%s' (seconds, e.g. 1 or 0.5)", s);
  *out = v;
  return 0;
}

static int opt_attr_timeout(struct mount_cfg *m, const char *arg) {
  return parse_seconds(arg, &m->attr_timeout);
}

static int opt_entry_timeout(struct mount_cfg *m, const char *arg) {
  return parse_seconds(arg, &m->entry_timeout);
}

static int opt_negative_timeout(struct mount_cfg *m, const char *arg) {
  return parse_seconds(arg, &m->negative_timeout);
}

static int opt_actimeo(struct mount_cfg *m, const char *arg) {
  if (parse_seconds(arg, &m->attr_timeout) < 0)
    return -1;
  m->entry_timeout = m->attr_timeout;
  return 0;
}

static int opt_ro(struct mount_cfg *m, const char *arg) {
  (void)arg;
  m->ro = true;
  return fuse_opt_add_opt(&m->fuse_o, "ro");
}

static int opt_no_writeback(struct mount_cfg *m, const char *arg) {
  (void)arg;
  m->no_writeback = true;
  return 0;
}

static int opt_foreground(struct mount_cfg *m, const char *arg) {
  (void)arg;
  m->foreground = true;
  return 0;
}

static int opt_debug(struct mount_cfg *m, const char *arg) {
  (void)arg;
  m->foreground = true;
  return fuse_opt_add_opt(&m->fuse_o, "debug");
}

static int opt_single(struct mount_cfg *m, const char *arg) {
  (void)arg;
  m->singlethread = true;
  return 0;
}

static int opt_help(struct mount_cfg *m, const char *arg) {
  (void)arg;
  m->help = true;
  return 0;
}

static int opt_version(struct mount_cfg *m, const char *arg) {
  (void)arg;
  m->version = true;
  return 0;
}

static const struct mopt mopts[] = {
    /* the smbq CLI's connection options */
    {"transport", 't', true, true, opt_transport, NULL},
    {"port", 'p', true, true, opt_port, NULL},
    {"quic-port", 0, true, true, opt_quic_port, NULL},
    {"user", 'U', true, true, opt_user, NULL},
    {"username", 0, true, false, opt_user, "user"},
    {"domain", 0, true, true, opt_domain, NULL},
    {"password-file", 0, true, true, opt_password_file, NULL},
    {"credentials", 0, true, true, opt_credentials, NULL},
    {"password", 0, true, true, opt_password, NULL},
    {"ca-file", 0, true, true, opt_ca_file, NULL},
    {"client-cert", 0, true, true, opt_client_cert, NULL},
    {"client-key", 0, true, true, opt_client_key, NULL},
    {"resolve", 0, true, true, opt_resolve, NULL},
    {"encrypt", 0, false, true, opt_encrypt, NULL},
    {"kerberos", 'k', false, true, opt_kerberos, NULL},
    {"no-ntlm", 0, false, true, opt_no_ntlm, NULL},
    {"kdc-proxy", 0, true, true, opt_kdc_proxy, NULL},
    {"kdc-proxy-only", 0, false, true, opt_kdc_proxy_only, NULL},
    {"kdc-proxy-transport", 0, true, true, opt_kdc_proxy_transport, NULL},
    {"transport-cache", 0, true, true, opt_transport_cache, NULL},
    {"no-transport-cache", 0, false, true, opt_no_transport_cache, NULL},
    {"no-quic", 0, false, true, opt_no_quic, NULL},
    {"quic-exception", 0, true, true, opt_quic_exception, NULL},
    {"reconnect-timeout", 0, true, true, opt_reconnect_timeout, NULL},
    {"config", 0, true, true, opt_config, NULL},
    {"no-config", 0, false, true, opt_no_config, NULL},
    {"verbose", 'v', false, true, opt_verbose, NULL},
    /* mount */
    {"uid", 0, true, true, opt_uid, NULL},
    {"gid", 0, true, true, opt_gid, NULL},
    {"file-mode", 0, true, true, opt_file_mode, NULL},
    {"dir-mode", 0, true, true, opt_dir_mode, NULL},
    {"attr-timeout", 0, true, true, opt_attr_timeout, NULL},
    {"entry-timeout", 0, true, true, opt_entry_timeout, NULL},
    {"negative-timeout", 0, true, true, opt_negative_timeout, NULL},
    {"actimeo", 0, true, true, opt_actimeo, NULL},
    {"ro", 'r', false, true, opt_ro, NULL},
    {"no-writeback", 0, false, true, opt_no_writeback, NULL},
    {"foreground", 'f', false, true, opt_foreground, NULL},
    {"debug", 'd', false, true, opt_debug, NULL},
    {"single-thread", 's', false, true, opt_single, NULL},
    {"help", 'h', false, true, opt_help, NULL},
    {"version", 'V', false, true, opt_version, NULL},
};

#define N_MOPTS (sizeof(mopts) / sizeof(mopts[0]))

/* Options mount(8) and fstab use that mean nothing to a FUSE mount. */
static bool ignored_mount_opt(const char *o) {
  static const char *const exact[] = {"_netdev", "nofail", "noauto", "auto",
                                      "user", "users", "nouser", "owner",
                                      "group", "defaults"};
  for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
    if (strcmp(o, exact[i]) == 0)
      return true;
  return strncmp(o, "x-", 2) == 0 || strncmp(o, "comment=", 8) == 0;
}

/* Apply an option and record it for smbq.conf's precedence (the command
 * line wins over files and environment), as the smbq CLI does. */
static int apply(struct mount_cfg *m, const struct mopt *mo,
                 const char *arg) {
  if (mo->apply(m, arg) < 0)
    return -1;
  const char *setting = mo->setting ? mo->setting : mo->name;
  if (cli_config_cmdline(m->cli.config, setting, arg) < 0)
    return bad("%s", "out of memory");
  return 0;
}

/* -o name: the entry whose name matches, '_' read as '-'. */
static const struct mopt *find_o(const char *name, size_t len) {
  for (size_t i = 0; i < N_MOPTS; i++) {
    const char *n = mopts[i].name;
    if (strlen(n) != len)
      continue;
    size_t k = 0;
    while (k < len && (name[k] == n[k] || (name[k] == '_' && n[k] == '-')))
      k++;
    if (k == len)
      return &mopts[i];
  }
  return NULL;
}

static int apply_o(struct mount_cfg *m, char *o) {
  if (ignored_mount_opt(o))
    return 0; /* before the table: fstab's bare "user" is not user= */
  char *eq = strchr(o, '=');
  size_t len = eq ? (size_t)(eq - o) : strlen(o);
  const struct mopt *mo = find_o(o, len);
  if (!mo)
    return fuse_opt_add_opt(&m->fuse_o, o); /* libfuse's to judge */
  if (mo->has_arg && !eq)
    return bad("option %s needs a value (name=value)", mo->name);
  if (!mo->has_arg && eq)
    return bad("option %s takes no value", mo->name);
  return apply(m, mo, eq ? eq + 1 : NULL);
}

/* The split -o strings stay allocated: options point into them. */
static int apply_o_list(struct mount_cfg *m, const char *list) {
  if (m->nstrings == MAX_STRINGS)
    return bad("%s", "too many -o options");
  char *copy = strdup(list);
  if (!copy)
    return bad("%s", "out of memory");
  m->strings[m->nstrings++] = copy;
  char *save = NULL;
  for (char *o = strtok_r(copy, ",", &save); o; o = strtok_r(NULL, ",", &save))
    if (apply_o(m, o) < 0)
      return -1;
  return 0;
}

static void build_long_opts(struct option *lo, char *shorts, size_t cap) {
  size_t n = 0, s = 0;
  for (size_t i = 0; i < N_MOPTS; i++) {
    if (mopts[i].long_form)
      lo[n++] = (struct option){mopts[i].name,
                                mopts[i].has_arg ? required_argument
                                                 : no_argument,
                                NULL, 256 + (int)i};
    if (mopts[i].short_opt && s + 3 < cap) {
      shorts[s++] = (char)mopts[i].short_opt;
      if (mopts[i].has_arg)
        shorts[s++] = ':';
    }
  }
  lo[n] = (struct option){NULL, 0, NULL, 0};
  snprintf(shorts + s, cap - s, "o:");
}

static const struct mopt *by_getopt(int c) {
  if (c >= 256 && c < 256 + (int)N_MOPTS)
    return &mopts[c - 256];
  for (size_t i = 0; i < N_MOPTS; i++)
    if (mopts[i].short_opt == c)
      return &mopts[i];
  return NULL;
}

static int parse_options(struct mount_cfg *m, int argc, char **argv) {
  struct option lo[N_MOPTS + 1];
  char shorts[2 * N_MOPTS + 4];
  build_long_opts(lo, shorts, sizeof(shorts));
  const char *pos[2] = {NULL, NULL};
  int npos = 0, c;
  optind = 1;
  /* '-': positional arguments come back as 1, wherever they are. */
  char spec[sizeof(shorts) + 1];
  snprintf(spec, sizeof(spec), "-%s", shorts);
  while ((c = getopt_long(argc, argv, spec, lo, NULL)) != -1) {
    const struct mopt *mo = by_getopt(c);
    int rc = 0;
    if (c == 1) {
      if (npos == 2)
        return bad("unexpected argument '%s'", optarg);
      pos[npos++] = optarg;
    } else if (c == 'o') {
      rc = apply_o_list(m, optarg);
    } else if (mo) {
      rc = apply(m, mo, optarg);
    } else {
      return -1; /* getopt printed why */
    }
    if (rc < 0)
      return -1;
  }
  m->url = pos[0];
  m->mountpoint = pos[1];
  return 0;
}

/* -o domain=D with a plain user name means D\user. */
static int apply_domain(struct mount_cfg *m) {
  const char *u = m->cli.user;
  if (!m->domain || !u || strchr(u, '\\') || strchr(u, '@'))
    return 0;
  snprintf(m->user_buf, sizeof(m->user_buf), "%s\\%s", m->domain, u);
  m->cli.user = m->user_buf;
  return 0;
}

/* fsname= (the source column of /proc/mounts) and subtype=, so the mount
 * shows as "//host/share/path" of type fuse.smbq-mount; default
 * permission checks so uid=, gid=, file_mode= and dir_mode= hold. */
static int add_fuse_opts(struct mount_cfg *m) {
  char err[256];
  struct smbq_url u;
  if (smbq_url_parse(m->url, true, &u, err, sizeof(err)) < 0)
    return bad("%s", err);
  char fsname[2048];
  snprintf(fsname, sizeof(fsname), "fsname=//%s/%s%s%s", u.host, u.share,
           u.path[0] ? "/" : "", u.path);
  if (fuse_opt_add_opt_escaped(&m->fuse_o, fsname) < 0 ||
      fuse_opt_add_opt(&m->fuse_o, "subtype=smbq-mount") < 0 ||
      fuse_opt_add_opt(&m->fuse_o, "default_permissions") < 0 ||
      fuse_opt_add_arg(&m->fuse_args, "smbq-mount") < 0 ||
      fuse_opt_add_arg(&m->fuse_args, "-o") < 0 ||
      fuse_opt_add_arg(&m->fuse_args, m->fuse_o) < 0)
    return bad("%s", "out of memory");
  return 0;
}

int mount_parse_args(struct mount_cfg *m, int argc, char **argv) {
  m->uid = getuid();
  m->gid = getgid();
  m->file_mode = 0644;
  m->dir_mode = 0755;
  m->attr_timeout = 1.0;
  m->entry_timeout = 1.0;
  m->negative_timeout = 0.0;
  if (parse_options(m, argc, argv) < 0) {
    fprintf(stderr, "Try 'smbq-mount --help'.\n");
    return SMBQ_EXIT_USAGE;
  }
  if (m->help || m->version)
    return 0;
  if (!m->url || !m->mountpoint) {
    mount_usage(stderr);
    return SMBQ_EXIT_USAGE;
  }
  if (apply_domain(m) < 0 || add_fuse_opts(m) < 0)
    return SMBQ_EXIT_USAGE;
  /* smbq.conf and SMBQ_* variables, under the command line */
  if (cli_config_load(m->cli.config) < 0)
    return SMBQ_EXIT_USAGE;
  return 0;
}

void mount_cfg_free(struct mount_cfg *m) {
  fuse_opt_free_args(&m->fuse_args);
  free(m->fuse_o);
  for (int i = 0; i < m->nstrings; i++)
    free(m->strings[i]);
  m->nstrings = 0;
}

void mount_usage(FILE *f) {
  fprintf(
      f,
      "Usage: smbq-mount URL MOUNTPOINT [options] [-o opt[=value],...]\n"
      "\n"
      "URL: //host/share[/path], \\\\host\\share[\\path],\n"
      "     smb://[user@]host[:port]/share[/path]\n"
      "\n"
      "Connection (as for smbq; also as -o name=value, '_' for '-'):\n"
      "  -t, --transport MODE     auto|tcp|quic (default auto)\n"
      "  -p, --port N             TCP port (default 445)\n"
      "      --quic-port N        QUIC port (default 443)\n"
      "  -U, --user [DOMAIN\\]USER user name (-o user=, username=)\n"
      "      --domain DOMAIN      domain of a plain user name\n"
      "      --credentials FILE   username=/password=/domain= lines (not\n"
      "                           readable by others)\n"
      "      --password-file FILE first line is the password (not readable\n"
      "                           by others); else $SMBQ_PASSWORD; else a\n"
      "                           prompt on the terminal\n"
      "      --ca-file FILE       extra trusted CA certificates for QUIC\n"
      "      --client-cert FILE   QUIC client certificate (PEM)\n"
      "      --client-key FILE    its private key (PEM)\n"
      "      --resolve HOST:ADDR  connect to ADDR for server name HOST\n"
      "      --encrypt            require SMB encryption\n"
      "  -k, --kerberos           require Kerberos (KRB5CCNAME, or user@REALM\n"
      "                           and a password)\n"
      "      --no-ntlm            never fall back to NTLMv2\n"
      "      --kdc-proxy REALM=URL  reach the KDC through this KDC proxy\n"
      "      --kdc-proxy-only     use the KDC proxy only\n"
      "      --kdc-proxy-transport auto|https|h3  how the KDC proxy is\n"
      "                           reached (default auto: both raced)\n"
      "      --transport-cache FILE  where auto remembers which transport\n"
      "                           worked per server\n"
      "      --no-transport-cache neither read nor write that cache\n"
      "      --no-quic            policy: no SMB over QUIC\n"
      "      --quic-exception SERVER  allow QUIC to SERVER despite\n"
      "                           --no-quic (repeatable)\n"
      "      --reconnect-timeout S  when the connection is lost, calls wait\n"
      "                           up to S seconds while it is restored,\n"
      "                           then fail with EIO until the server is\n"
      "                           back (0-86400; default 60, as Windows;\n"
      "                           0: no reconnecting, the mount stays\n"
      "                           disconnected)\n"
      "      --config FILE        read settings from FILE only (default:\n"
      "                           /etc/smbq/smbq.conf and\n"
      "                           ~/.config/smbq/smbq.conf, smbq.conf(5))\n"
      "      --no-config          read no configuration file\n"
      "  -v, --verbose            report the negotiated connection\n"
      "\n"
      "Mount:\n"
      "      --uid=ID, --gid=ID   owner and group shown (default: yours)\n"
      "      --file-mode=MODE     permissions of files (default 0644)\n"
      "      --dir-mode=MODE      permissions of directories (default 0755)\n"
      "      --attr-timeout=S     attribute cache in seconds (default 1)\n"
      "      --entry-timeout=S    name cache in seconds (default 1)\n"
      "      --negative-timeout=S cache of missing names (default 0)\n"
      "      --actimeo=S          attr-timeout and entry-timeout\n"
      "  -r, --ro                 read-only mount\n"
      "      --no-writeback       no kernel writeback cache: every write(2)\n"
      "                           waits for the server (default: writes are\n"
      "                           cached while the file's lease allows)\n"
      "  -f, --foreground         stay in the foreground, log to stderr\n"
      "  -d, --debug              foreground with FUSE request tracing\n"
      "  -s, --single-thread      serve one request at a time\n"
      "  -o OPT,...               any option above, or a FUSE mount option\n"
      "                           (allow_other, noatime, ...)\n"
      "  -h, --help               this help\n"
      "  -V, --version            print the version\n"
      "\n"
      "In fstab: //host/share /mnt/s fuse.smbq-mount "
      "credentials=/etc/smbq/s.cred,_netdev 0 0\n"
      "\n"
      "Exit codes: 0 mounted, 1 other error, 2 usage, 3 authentication,\n"
      "            4 not found or access denied, 5 network/transport,\n"
      "            6 certificate/TLS\n");
}
