/* smbq.conf, the environment and the command line: see config.h and
 * smbq.conf(5).
 *
 * The files are read with inih (Debian's libinih-dev): a small, widely
 * used INI reader, so we keep no parser of our own. It hands over
 * key/value pairs per section; the line numbers for messages come from
 * our line reader, which feeds it one line at a time with leading blanks
 * removed, so an indented line is never taken as the continuation of the
 * previous value (inih's multi-line values, which smbq.conf does not
 * have). */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "exitcodes.h"

#define SYSTEM_CONFIG "/etc/smbq/smbq.conf"
/* A bound on what configuration files can make us keep. */
#define MAX_ENTRIES 4096
#define MAX_VALUE 1024

enum cfg_key {
  K_TRANSPORT,
  K_QUIC,
  K_QUIC_EXCEPTIONS,
  K_PORT,
  K_QUIC_PORT,
  K_USER,
  K_CA_FILE,
  K_TRANSPORT_CACHE,
  K_ADDRESS,
  K_CLIENT_CERT,
  K_CLIENT_KEY,
  /* authentication */
  K_AUTH,
  K_NTLM,
  K_KDC_PROXY,
  K_KDC_PROXY_ONLY,
  K_KDC_PROXY_TRANSPORT,
  K_RECONNECT_TIMEOUT,
  K_COUNT
};

/* Where a key may appear. */
enum { IN_GLOBAL = 1, IN_SERVER = 2 };

/* Layers, weakest first; the explicit --config/SMBQ_CONFIG file counts
 * as the user's file. */
enum layer { L_SYSTEM = 1, L_USER = 2, L_ENV = 3, L_CMDLINE = 4 };

/* Checks a value from a file or the environment and writes its normal
 * form to out. Returns 0, or -1 with the reason in why. */
typedef int (*check_fn)(const char *in, char *out, size_t outlen, char *why,
                        size_t whylen);

struct key_def {
  const char *name;
  unsigned scope;
  /* Its environment variable: the ones examples/example_opts.h reads,
   * with the same meaning. NULL: none. */
  const char *env;
  check_fn check;
  const char *def; /* built-in default, "" = none */
};

static int check_transport(const char *in, char *out, size_t outlen,
                           char *why, size_t whylen);
static int check_bool(const char *in, char *out, size_t outlen, char *why,
                      size_t whylen);
static int check_list(const char *in, char *out, size_t outlen, char *why,
                      size_t whylen);
static int check_port(const char *in, char *out, size_t outlen, char *why,
                      size_t whylen);
static int check_text(const char *in, char *out, size_t outlen, char *why,
                      size_t whylen);
static int check_path(const char *in, char *out, size_t outlen, char *why,
                      size_t whylen);
static int check_cache(const char *in, char *out, size_t outlen, char *why,
                       size_t whylen);
static int check_address(const char *in, char *out, size_t outlen,
                         char *why, size_t whylen);
static int check_auth(const char *in, char *out, size_t outlen, char *why,
                      size_t whylen);
static int check_kdc_proxy(const char *in, char *out, size_t outlen,
                           char *why, size_t whylen);
static int check_reconnect_timeout(const char *in, char *out, size_t outlen,
                                   char *why, size_t whylen);
static int check_kdc_transport(const char *in, char *out, size_t outlen,
                               char *why, size_t whylen);

static const struct key_def keys[K_COUNT] = {
    [K_TRANSPORT] = {"transport", IN_GLOBAL | IN_SERVER, "SMBQ_TRANSPORT",
                     check_transport, "auto"},
    [K_QUIC] = {"quic", IN_GLOBAL, NULL, check_bool, "on"},
    [K_QUIC_EXCEPTIONS] = {"quic_exceptions", IN_GLOBAL, NULL, check_list,
                           ""},
    [K_PORT] = {"port", IN_GLOBAL | IN_SERVER, "SMBQ_PORT", check_port,
                "445"},
    [K_QUIC_PORT] = {"quic_port", IN_GLOBAL | IN_SERVER, "SMBQ_QUIC_PORT",
                     check_port, "443"},
    [K_USER] = {"user", IN_GLOBAL | IN_SERVER, "SMBQ_USER", check_text, ""},
    [K_CA_FILE] = {"ca_file", IN_GLOBAL | IN_SERVER, "SMBQ_CA_FILE",
                   check_path, ""},
    [K_TRANSPORT_CACHE] = {"transport_cache", IN_GLOBAL, NULL, check_cache,
                           ""},
    [K_ADDRESS] = {"address", IN_SERVER, NULL, check_address, ""},
    [K_CLIENT_CERT] = {"client_cert", IN_GLOBAL | IN_SERVER, NULL,
                       check_path, ""},
    [K_CLIENT_KEY] = {"client_key", IN_GLOBAL | IN_SERVER, NULL, check_path,
                      ""},
    [K_AUTH] = {"auth", IN_GLOBAL | IN_SERVER, NULL, check_auth, "auto"},
    [K_NTLM] = {"ntlm", IN_GLOBAL | IN_SERVER, NULL, check_bool, "on"},
    [K_KDC_PROXY] = {"kdc_proxy", IN_GLOBAL, NULL, check_kdc_proxy, ""},
    [K_KDC_PROXY_ONLY] = {"kdc_proxy_only", IN_GLOBAL, NULL, check_bool,
                          "off"},
    [K_KDC_PROXY_TRANSPORT] = {"kdc_proxy_transport", IN_GLOBAL, NULL,
                               check_kdc_transport, "auto"},
    [K_RECONNECT_TIMEOUT] = {"reconnect_timeout", IN_GLOBAL | IN_SERVER,
                             NULL, check_reconnect_timeout, "60"},
};

/* Command-line options that are settings. fixed: the value of a flag. */
static const struct {
  const char *opt;
  enum cfg_key key;
  const char *fixed;
} opt_keys[] = {
    {"transport", K_TRANSPORT, NULL},
    {"port", K_PORT, NULL},
    {"quic-port", K_QUIC_PORT, NULL},
    {"user", K_USER, NULL},
    {"ca-file", K_CA_FILE, NULL},
    {"client-cert", K_CLIENT_CERT, NULL},
    {"client-key", K_CLIENT_KEY, NULL},
    {"resolve", K_ADDRESS, NULL},
    {"transport-cache", K_TRANSPORT_CACHE, NULL},
    {"no-transport-cache", K_TRANSPORT_CACHE, "off"},
    {"no-quic", K_QUIC, "off"},
    {"quic-exception", K_QUIC_EXCEPTIONS, NULL},
    {"kerberos", K_AUTH, "kerberos"},
    {"no-ntlm", K_NTLM, "off"},
    {"kdc-proxy", K_KDC_PROXY, NULL},
    {"kdc-proxy-only", K_KDC_PROXY_ONLY, "on"},
    {"kdc-proxy-transport", K_KDC_PROXY_TRANSPORT, NULL},
    {"reconnect-timeout", K_RECONNECT_TIMEOUT, NULL},
};

struct entry {
  enum cfg_key key;
  enum layer layer;
  char *server; /* NULL: for every server */
  char *value;  /* normal form; "" = back to the default */
  char *origin; /* "FILE:LINE", "environment VAR", "command line --OPT" */
};

struct cfg_file {
  char *path;
  const char *status; /* "read", "not found", "errors" */
};

struct cli_config {
  const char *file; /* --config */
  bool no_files;
  struct entry *v;
  size_t n, cap;
  struct cfg_file files[2];
  size_t n_files;
  /* The options that got the settings applied once per process (QUIC
   * exceptions are added to a list: twice would repeat them). */
  const smbq_opts *once_for;
};

/* ---- values ------------------------------------------------------------ */

static int copy_out(const char *s, char *out, size_t outlen, char *why,
                    size_t whylen) {
  if (strlen(s) >= outlen) {
    snprintf(why, whylen, "value too long");
    return -1;
  }
  memcpy(out, s, strlen(s) + 1);
  return 0;
}

static int check_transport(const char *in, char *out, size_t outlen,
                           char *why, size_t whylen) {
  static const char *const modes[] = {"auto", "tcp", "quic"};
  for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
    if (strcasecmp(in, modes[i]) == 0)
      return copy_out(modes[i], out, outlen, why, whylen);
  snprintf(why, whylen, "'%s' is not a transport (use auto, tcp or quic)",
           in);
  return -1;
}

static int check_kdc_transport(const char *in, char *out, size_t outlen,
                               char *why, size_t whylen) {
  static const char *const modes[] = {"auto", "https", "h3"};
  for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
    if (strcasecmp(in, modes[i]) == 0)
      return copy_out(modes[i], out, outlen, why, whylen);
  snprintf(why, whylen, "'%s' is not a KDC proxy transport (use auto, "
           "https or h3)", in);
  return -1;
}

static int check_bool(const char *in, char *out, size_t outlen, char *why,
                      size_t whylen) {
  static const struct {
    const char *word;
    const char *value;
  } words[] = {{"on", "on"},   {"yes", "on"},  {"true", "on"}, {"1", "on"},
               {"off", "off"}, {"no", "off"},  {"false", "off"},
               {"0", "off"}};
  for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
    if (strcasecmp(in, words[i].word) == 0)
      return copy_out(words[i].value, out, outlen, why, whylen);
  snprintf(why, whylen, "'%s' is neither on nor off", in);
  return -1;
}

/* "a, b c" -> "a,b,c" */
static int check_list(const char *in, char *out, size_t outlen, char *why,
                      size_t whylen) {
  size_t used = 0;
  out[0] = '\0';
  for (const char *p = in; *p;) {
    p += strspn(p, ", \t");
    size_t n = strcspn(p, ", \t");
    if (!n)
      break;
    if (used + n + 2 > outlen) {
      snprintf(why, whylen, "list too long");
      return -1;
    }
    if (used)
      out[used++] = ',';
    memcpy(out + used, p, n);
    used += n;
    out[used] = '\0';
    p += n;
  }
  return 0;
}

static int check_port(const char *in, char *out, size_t outlen, char *why,
                      size_t whylen) {
  char *end;
  errno = 0;
  long v = strtol(in, &end, 10);
  if (!*in || *end || errno || v < 1 || v > 65535) {
    snprintf(why, whylen, "invalid port '%s' (expected 1-65535)", in);
    return -1;
  }
  snprintf(out, outlen, "%ld", v);
  return 0;
}

static int check_text(const char *in, char *out, size_t outlen, char *why,
                      size_t whylen) {
  return copy_out(in, out, outlen, why, whylen);
}

/* "~/x" is taken from $HOME. */
static int check_path(const char *in, char *out, size_t outlen, char *why,
                      size_t whylen) {
  if (strncmp(in, "~/", 2) != 0)
    return copy_out(in, out, outlen, why, whylen);
  const char *home = getenv("HOME");
  if (!home || !home[0]) {
    snprintf(why, whylen, "'%s': $HOME is not set", in);
    return -1;
  }
  if ((size_t)snprintf(out, outlen, "%s/%s", home, in + 2) >= outlen) {
    snprintf(why, whylen, "path too long");
    return -1;
  }
  return 0;
}

static int check_cache(const char *in, char *out, size_t outlen, char *why,
                       size_t whylen) {
  if (strcasecmp(in, "off") == 0 || strcasecmp(in, "none") == 0)
    return copy_out("off", out, outlen, why, whylen);
  return check_path(in, out, outlen, why, whylen);
}

/* A numeric address, as --resolve takes ([::1] or ::1 for IPv6). */
static int check_address(const char *in, char *out, size_t outlen,
                         char *why, size_t whylen) {
  char a[INET6_ADDRSTRLEN + 2];
  size_t n = strlen(in);
  if (n >= 2 && in[0] == '[' && in[n - 1] == ']' && n - 2 < sizeof(a)) {
    memcpy(a, in + 1, n - 2);
    a[n - 2] = '\0';
  } else if (n < sizeof(a)) {
    memcpy(a, in, n + 1);
  } else {
    a[0] = '\0';
  }
  unsigned char bin[16];
  if (n && inet_pton(AF_INET, a, bin) != 1 &&
      inet_pton(AF_INET6, a, bin) != 1) {
    snprintf(why, whylen, "'%s' is not a numeric IPv4 or IPv6 address", in);
    return -1;
  }
  return copy_out(n ? a : "", out, outlen, why, whylen);
}

static int check_auth(const char *in, char *out, size_t outlen, char *why,
                      size_t whylen) {
  static const char *const modes[] = {"auto", "kerberos", "ntlm"};
  for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
    if (strcasecmp(in, modes[i]) == 0)
      return copy_out(modes[i], out, outlen, why, whylen);
  snprintf(why, whylen, "'%s' is not an authentication mode (use auto, "
           "kerberos or ntlm)", in);
  return -1;
}

/* "R1=https://a/KdcProxy, R2=https://b/KdcProxy": REALM=URL entries,
 * https only; normal form joined by ','. */
static int check_kdc_proxy(const char *in, char *out, size_t outlen,
                           char *why, size_t whylen) {
  if (check_list(in, out, outlen, why, whylen) < 0)
    return -1;
  for (const char *p = out; *p;) {
    size_t n = strcspn(p, ",");
    const char *eq = memchr(p, '=', n);
    if (!eq || eq == p || strncasecmp(eq + 1, "https://", 8) != 0 ||
        (size_t)(eq + 9 - p) > n) {
      snprintf(why, whylen, "'%.*s' is not REALM=https://HOST/PATH",
               (int)n, p);
      return -1;
    }
    p += n + (p[n] == ',');
  }
  return 0;
}

/* Whole seconds, 0-86400. */
static int check_reconnect_timeout(const char *in, char *out, size_t outlen,
                                   char *why, size_t whylen) {
  unsigned v;
  if (cli_parse_reconnect_timeout(in, &v) < 0) {
    snprintf(why, whylen, "invalid value '%s' (expected seconds, 0-%d)", in,
             CLI_RECONNECT_TIMEOUT_MAX);
    return -1;
  }
  snprintf(out, outlen, "%u", v);
  return 0;
}

/* Not case-sensitive, and a blank in name stands for an underscore:
 * "reconnect timeout" is reconnect_timeout. */
static bool key_is(const char *key, const char *name) {
  for (; *key && *name; key++, name++) {
    bool blank = *name == ' ' || *name == '\t';
    if (blank ? *key != '_'
              : tolower((unsigned char)*key) != tolower((unsigned char)*name))
      return false;
  }
  return !*key && !*name;
}

static int key_by_name(const char *name) {
  for (int k = 0; k < K_COUNT; k++)
    if (key_is(keys[k].name, name))
      return k;
  return -1;
}

/* ---- entries ----------------------------------------------------------- */

static int add_entry(struct cli_config *c, enum cfg_key k, enum layer l,
                     const char *server, const char *value,
                     const char *origin) {
  if (c->n == MAX_ENTRIES)
    return -1;
  if (c->n == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 32;
    struct entry *v = realloc(c->v, cap * sizeof(*v));
    if (!v)
      return -1;
    c->v = v;
    c->cap = cap;
  }
  struct entry *e = &c->v[c->n];
  e->key = k;
  e->layer = l;
  e->server = server ? strdup(server) : NULL;
  e->value = strdup(value);
  e->origin = strdup(origin);
  if ((server && !e->server) || !e->value || !e->origin) {
    free(e->server);
    free(e->value);
    free(e->origin);
    return -1;
  }
  c->n++;
  return 0;
}

/* How strongly e applies to server (NULL: global only): -1 not at all,
 * else higher wins; see the precedence in config.h. */
static int score(const struct entry *e, const char *server) {
  if (e->server && (!server || strcasecmp(e->server, server) != 0))
    return -1;
  if (e->layer >= L_ENV)
    return 100 + (int)e->layer;
  return (e->server ? 20 : 10) + (int)e->layer;
}

/* The winning entry for k, NULL if none (the default applies); on a tie
 * the later one (a later line of the same file). */
static const struct entry *best(const struct cli_config *c, enum cfg_key k,
                                const char *server) {
  const struct entry *b = NULL;
  int bs = -1;
  for (size_t i = 0; i < c->n; i++) {
    int s = c->v[i].key == k ? score(&c->v[i], server) : -1;
    if (s >= 0 && s >= bs) {
      b = &c->v[i];
      bs = s;
    }
  }
  return b;
}

static bool same_section(const struct entry *a, const struct entry *b) {
  if (a->layer != b->layer || !a->server != !b->server)
    return false;
  return !a->server || strcasecmp(a->server, b->server) == 0;
}

/* A key belongs to its certificate: client_key comes from where the
 * client_cert in force was set, never from a weaker section. */
static const struct entry *lookup(const struct cli_config *c, enum cfg_key k,
                                  const char *server) {
  if (k != K_CLIENT_KEY)
    return best(c, k, server);
  const struct entry *cert = best(c, K_CLIENT_CERT, server);
  if (!cert)
    return best(c, k, server);
  const struct entry *key = NULL;
  for (size_t i = 0; i < c->n; i++)
    if (c->v[i].key == K_CLIENT_KEY && same_section(&c->v[i], cert))
      key = &c->v[i];
  return key;
}

static const char *value_of(const struct cli_config *c, enum cfg_key k,
                            const char *server) {
  const struct entry *e = lookup(c, k, server);
  return e ? e->value : keys[k].def;
}

/* ---- files ------------------------------------------------------------- */

static const char *prog(void) { return program_invocation_short_name; }

struct parse {
  struct cli_config *c;
  const char *path;
  enum layer layer;
  FILE *f;
  char *line;
  size_t cap;
  int lineno;
  int section_lineno; /* of the last [section] line */
  bool failed;
  bool full; /* no more entries could be kept */
  char warned[256]; /* the unknown section last warned about */
};

/* A warning or an error about line `at` of the file. */
static void say(struct parse *p, int at, bool error, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void say(struct parse *p, int at, bool error, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "%s: %s%s:%d: ", prog(), error ? "" : "warning: ",
          p->path, at);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  if (error)
    p->failed = true;
}

/* inih's fgets-style reader: one whole line per call (num is inih's line
 * buffer), counted, without its leading blanks. */
static char *read_line(char *str, int num, void *stream) {
  struct parse *p = stream;
  if (getline(&p->line, &p->cap, p->f) < 0)
    return NULL;
  p->lineno++;
  const char *s = p->line + strspn(p->line, " \t");
  size_t len = strlen(s);
  size_t text = strcspn(s, "\r\n");
  if (s[0] == '[')
    p->section_lineno = p->lineno;
  if (len + 1 > (size_t)num) {
    say(p, p->lineno, true, "line too long (%zu characters; at most %d)", text,
        num - 3);
    len = 0;
  }
  memcpy(str, s, len);
  str[len] = '\0';
  return str;
}

/* "server NAME" (or server "NAME") -> NAME; 0 or -1. */
static int server_name(const char *sec, char *name, size_t len) {
  if (strncasecmp(sec, "server", 6) != 0 || (sec[6] != ' ' && sec[6] != '\t'))
    return -1;
  const char *s = sec + 6 + strspn(sec + 6, " \t");
  size_t n = strlen(s);
  if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
    s++;
    n -= 2;
  }
  if (!n || n >= len || memchr(s, ' ', n) || memchr(s, '\t', n) ||
      memchr(s, '"', n))
    return -1;
  memcpy(name, s, n);
  name[n] = '\0';
  return 0;
}

/* IN_GLOBAL for [global] or before any section, IN_SERVER with the name
 * for [server NAME]; 0 for a section we ignore (warned about once). */
static unsigned section_scope(struct parse *p, const char *sec, char *name,
                              size_t len) {
  if (!sec[0] || strcasecmp(sec, "global") == 0)
    return IN_GLOBAL;
  if (server_name(sec, name, len) == 0)
    return IN_SERVER;
  if (strcmp(p->warned, sec) == 0)
    return 0;
  snprintf(p->warned, sizeof(p->warned), "%s", sec);
  if (strncasecmp(sec, "server", 6) == 0)
    say(p, p->section_lineno, true, "[%s]: a server section names one "
        "server: [server NAME]", sec);
  else
    say(p, p->section_lineno, false, "unknown section [%s] (expected "
        "[global] or [server NAME]); its keys are ignored", sec);
  return 0;
}

/* Keys under which people keep passwords (smb.conf, credentials files). */
static bool is_password_key(const char *name) {
  static const char *const words[] = {"password", "pass", "passwd", "pw"};
  for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
    if (strcasecmp(name, words[i]) == 0)
      return true;
  return false;
}

static int on_pair(void *user, const char *section, const char *name,
                   const char *value) {
  struct parse *p = user;
  char server[256], val[MAX_VALUE], why[320];
  unsigned scope = section_scope(p, section, server, sizeof(server));
  if (!scope)
    return 1;
  int k = key_by_name(name);
  if (k < 0) {
    say(p, p->lineno, false, "unknown key '%s' ignored%s", name,
        is_password_key(name)
            ? ": smbq.conf holds no passwords (others may read it); use "
              "--credentials FILE or --password-file FILE, and remove this "
              "line"
            : "");
    return 1;
  }
  if (!(keys[k].scope & scope)) {
    say(p, p->lineno, false, "'%s' belongs in %s; ignored", name,
        scope == IN_GLOBAL ? "a [server NAME] section" : "[global]");
    return 1;
  }
  if (keys[k].check(value, val, sizeof(val), why, sizeof(why)) < 0) {
    say(p, p->lineno, true, "%s: %s", keys[k].name, why);
    return 1;
  }
  char origin[4200];
  snprintf(origin, sizeof(origin), "%s:%d", p->path, p->lineno);
  if (add_entry(p->c, (enum cfg_key)k, p->layer,
                scope == IN_SERVER ? server : NULL, val, origin) < 0 &&
      !p->full) {
    p->full = true; /* said once: the file fails anyway */
    say(p, p->lineno, true, "out of memory, or more than %d settings",
        MAX_ENTRIES);
  }
  return 1; /* our errors are counted in p->failed, not by inih */
}

static void note_file(struct cli_config *c, const char *path,
                      const char *status) {
  if (c->n_files < sizeof(c->files) / sizeof(c->files[0])) {
    c->files[c->n_files].path = strdup(path);
    c->files[c->n_files++].status = status;
  }
}

/* Read one file into layer l. must_exist: a missing file is an error
 * (named with --config or SMBQ_CONFIG). 0, or -1 after printing why. */
static int load_file(struct cli_config *c, const char *path, enum layer l,
                     bool must_exist) {
  FILE *f = fopen(path, "re");
  if (!f) {
    bool quiet = errno == ENOENT && !must_exist;
    note_file(c, path, errno == ENOENT ? "not found" : "unreadable");
    if (quiet)
      return 0;
    fprintf(stderr, "%s: %scannot read configuration file %s: %s\n",
            prog(), must_exist ? "" : "warning: ", path, strerror(errno));
    return must_exist ? -1 : 0;
  }
  /* smbq.conf holds no secrets, but a user may have written a password
   * into it anyway (warned about as an unknown key): the line buffer and
   * stdio's buffer are wiped before they are given back. Our own stdio
   * buffer, as fclose() would free its own unwiped. */
  char iobuf[BUFSIZ];
  setvbuf(f, iobuf, _IOFBF, sizeof(iobuf));
  struct parse p = {.c = c, .path = path, .layer = l, .f = f};
  int rc = ini_parse_stream(read_line, &p, on_pair, &p);
  if (p.line)
    explicit_bzero(p.line, p.cap);
  free(p.line);
  fclose(f);
  explicit_bzero(iobuf, sizeof(iobuf));
  if (rc > 0) {
    fprintf(stderr, "%s: %s:%d: syntax error: expected [global], [server "
            "NAME], key = value, or a comment (# or ;)\n", prog(), path, rc);
    p.failed = true;
  } else if (rc < 0) {
    fprintf(stderr, "%s: %s: out of memory\n", prog(), path);
    p.failed = true;
  }
  note_file(c, path, p.failed ? "errors" : "read");
  return p.failed ? -1 : 0;
}

/* $XDG_CONFIG_HOME/smbq/smbq.conf, else ~/.config/smbq/smbq.conf. */
static int user_file(char *out, size_t len) {
  const char *xdg = getenv("XDG_CONFIG_HOME");
  const char *home = getenv("HOME");
  int n;
  if (xdg && xdg[0] == '/')
    n = snprintf(out, len, "%s/smbq/smbq.conf", xdg);
  else if (home && home[0])
    n = snprintf(out, len, "%s/.config/smbq/smbq.conf", home);
  else
    return -1;
  return n > 0 && (size_t)n < len ? 0 : -1;
}

static int load_files(struct cli_config *c) {
  if (c->no_files)
    return 0;
  const char *one = c->file;
  if (!one && getenv("SMBQ_CONFIG") && getenv("SMBQ_CONFIG")[0])
    one = getenv("SMBQ_CONFIG");
  if (one)
    return load_file(c, one, L_USER, true);
  char path[4096];
  int rc = load_file(c, SYSTEM_CONFIG, L_SYSTEM, false);
  if (user_file(path, sizeof(path)) == 0 &&
      load_file(c, path, L_USER, false) < 0)
    rc = -1;
  return rc;
}

static int load_env(struct cli_config *c) {
  int rc = 0;
  for (int k = 0; k < K_COUNT; k++) {
    const char *v = keys[k].env ? getenv(keys[k].env) : NULL;
    if (!v || !v[0])
      continue;
    char val[MAX_VALUE], why[320], origin[64];
    if (keys[k].check(v, val, sizeof(val), why, sizeof(why)) < 0) {
      fprintf(stderr, "%s: environment variable %s: %s\n", prog(),
              keys[k].env, why);
      rc = -1;
      continue;
    }
    snprintf(origin, sizeof(origin), "environment %s", keys[k].env);
    if (add_entry(c, (enum cfg_key)k, L_ENV, NULL, val, origin) < 0)
      rc = -1;
  }
  return rc;
}

/* ---- public ------------------------------------------------------------ */

struct cli_config *cli_config_new(void) {
  return calloc(1, sizeof(struct cli_config));
}

void cli_config_free(struct cli_config *c) {
  if (!c)
    return;
  for (size_t i = 0; i < c->n; i++) {
    free(c->v[i].server);
    free(c->v[i].value);
    free(c->v[i].origin);
  }
  free(c->v);
  for (size_t i = 0; i < c->n_files; i++)
    free(c->files[i].path);
  free(c);
}

void cli_config_use_file(struct cli_config *c, const char *path) {
  c->file = path;
  c->no_files = false;
}

void cli_config_no_files(struct cli_config *c) { c->no_files = true; }

/* Repeated list options on the command line (--quic-exception,
 * --kdc-proxy) add up to one comma-separated entry. */
static int append_cmdline_list(struct cli_config *c, enum cfg_key key,
                               const char *v,
                               const char *origin) {
  for (size_t i = 0; i < c->n; i++) {
    struct entry *e = &c->v[i];
    if (e->key != key || e->layer != L_CMDLINE)
      continue;
    size_t n = strlen(e->value);
    char *nv = realloc(e->value, n + strlen(v) + 2);
    if (!nv)
      return -1;
    snprintf(nv + n, strlen(v) + 2, "%s%s", n ? "," : "", v);
    e->value = nv;
    return 0;
  }
  return add_entry(c, key, L_CMDLINE, NULL, v, origin);
}

int cli_config_cmdline(struct cli_config *c, const char *opt,
                       const char *arg) {
  for (size_t i = 0; i < sizeof(opt_keys) / sizeof(opt_keys[0]); i++) {
    if (strcmp(opt_keys[i].opt, opt) != 0)
      continue;
    const char *v = opt_keys[i].fixed ? opt_keys[i].fixed : arg ? arg : "";
    char origin[64], server[256];
    snprintf(origin, sizeof(origin), "command line --%s", opt);
    if (opt_keys[i].key == K_QUIC_EXCEPTIONS ||
        opt_keys[i].key == K_KDC_PROXY)
      return append_cmdline_list(c, opt_keys[i].key, v, origin);
    if (opt_keys[i].key != K_ADDRESS)
      return add_entry(c, opt_keys[i].key, L_CMDLINE, NULL, v, origin);
    /* --resolve HOST:ADDR is HOST's address (checked by the caller) */
    const char *colon = strchr(v, ':');
    if (!colon || (size_t)(colon - v) >= sizeof(server))
      return 0;
    snprintf(server, sizeof(server), "%.*s", (int)(colon - v), v);
    return add_entry(c, K_ADDRESS, L_CMDLINE, server, colon + 1, origin);
  }
  return 0;
}

int cli_config_load(struct cli_config *c) {
  int rc = load_files(c);
  if (load_env(c) < 0)
    rc = -1;
  return rc;
}

const char *cli_config_get(const struct cli_config *c, const char *server,
                           const char *key, const char **origin) {
  int k = key_by_name(key);
  const struct entry *e = k >= 0 ? lookup(c, (enum cfg_key)k, server) : NULL;
  if (origin)
    *origin = e ? e->origin : "default";
  if (e)
    return e->value;
  return k >= 0 ? keys[k].def : "";
}

static bool in_list(const char *list, const char *name) {
  size_t n = strlen(name);
  for (const char *p = list; *p;) {
    size_t len = strcspn(p, ",");
    if (len == n && strncasecmp(p, name, n) == 0)
      return true;
    p += len + (p[len] == ',');
  }
  return false;
}

int cli_config_quic_allowed(const struct cli_config *c, const char *server) {
  if (strcmp(value_of(c, K_QUIC, server), "off") != 0)
    return 1;
  return server && in_list(value_of(c, K_QUIC_EXCEPTIONS, server), server);
}

/* ---- applying to smbq_opts -------------------------------------------- */

static const char *or_null(const char *s) { return s && s[0] ? s : NULL; }

static int set_transport(smbq_opts *o, const char *v) {
  enum smbq_transport_mode mode;
  if (cli_parse_transport(v, &mode) < 0)
    return SMBQ_ERR_INVAL;
  return smbq_opts_set_transport(o, mode);
}

static int set_port(smbq_opts *o, const char *v) {
  uint16_t p;
  return cli_parse_port(v, &p) < 0 ? SMBQ_ERR_INVAL : smbq_opts_set_port(o, p);
}

static int set_quic_port(smbq_opts *o, const char *v) {
  uint16_t p;
  return cli_parse_port(v, &p) < 0 ? SMBQ_ERR_INVAL
                                   : smbq_opts_set_quic_port(o, p);
}

static int set_ca_file(smbq_opts *o, const char *v) {
  return smbq_opts_set_ca_file(o, or_null(v));
}

static int set_quic(smbq_opts *o, const char *v) {
  return smbq_opts_set_quic_enabled(o, strcmp(v, "off") != 0);
}

static int set_address(smbq_opts *o, const char *v) {
  return smbq_opts_set_resolve(o, or_null(v));
}

static int set_auth(smbq_opts *o, const char *v) {
  return smbq_opts_set_auth(o, strcmp(v, "kerberos") == 0 ? SMBQ_AUTH_KERBEROS
                               : strcmp(v, "ntlm") == 0   ? SMBQ_AUTH_NTLM
                                                          : SMBQ_AUTH_AUTO);
}

static int set_ntlm(smbq_opts *o, const char *v) {
  return smbq_opts_set_ntlm(o, strcmp(v, "off") != 0);
}

static int set_kdc_proxy_only(smbq_opts *o, const char *v) {
  return smbq_opts_set_kdc_proxy_only(o, strcmp(v, "on") == 0);
}

static int set_kdc_transport(smbq_opts *o, const char *v) {
  return smbq_opts_set_kdc_proxy_transport(
      o, strcmp(v, "https") == 0 ? SMBQ_KDC_PROXY_HTTPS
         : strcmp(v, "h3") == 0  ? SMBQ_KDC_PROXY_H3
                                 : SMBQ_KDC_PROXY_AUTO);
}

static int set_reconnect_timeout(smbq_opts *o, const char *v) {
  unsigned s;
  return cli_parse_reconnect_timeout(v, &s) < 0
             ? SMBQ_ERR_INVAL
             : smbq_opts_set_reconnect_timeout(o, s);
}

/* Set for every connection, defaults included: the options may have
 * served another server before. */
static const struct {
  enum cfg_key key;
  int (*set)(smbq_opts *o, const char *v);
  bool server_only;
} setters[] = {
    {K_TRANSPORT, set_transport, false}, {K_PORT, set_port, false},
    {K_QUIC_PORT, set_quic_port, false}, {K_CA_FILE, set_ca_file, false},
    {K_QUIC, set_quic, false},           {K_ADDRESS, set_address, true},
    {K_AUTH, set_auth, false},           {K_NTLM, set_ntlm, false},
    {K_KDC_PROXY_ONLY, set_kdc_proxy_only, false},
    {K_KDC_PROXY_TRANSPORT, set_kdc_transport, false},
    {K_RECONNECT_TIMEOUT, set_reconnect_timeout, false},
};

/* The [global] certificate is the default; one from [server NAME] becomes
 * the library's per-server mapping. */
static int apply_client_cert(const struct cli_config *c, const char *server,
                             smbq_opts *o) {
  int rc = smbq_opts_set_client_cert(o, or_null(value_of(c, K_CLIENT_CERT,
                                                         NULL)),
                                     or_null(value_of(c, K_CLIENT_KEY, NULL)));
  const struct entry *e = server ? lookup(c, K_CLIENT_CERT, server) : NULL;
  if (rc < 0 || !e || !e->server || !e->value[0])
    return rc;
  return smbq_opts_map_client_cert(o, server, e->value,
                                   or_null(value_of(c, K_CLIENT_KEY, server)));
}

/* Settings for all servers that add to lists or that only the command
 * line set before (it applied those itself). */
static int apply_once(struct cli_config *c, smbq_opts *o) {
  if (c->once_for == o)
    return 0;
  c->once_for = o;
  const struct entry *e = lookup(c, K_QUIC_EXCEPTIONS, NULL);
  for (const char *p = e && e->layer != L_CMDLINE ? e->value : ""; *p;) {
    char name[256];
    size_t n = strcspn(p, ",");
    snprintf(name, sizeof(name), "%.*s", (int)n, p);
    int rc = smbq_opts_add_quic_exception(o, name);
    if (rc < 0)
      return rc;
    p += n + (p[n] == ',');
  }
  e = lookup(c, K_KDC_PROXY, NULL);
  for (const char *p = e && e->layer != L_CMDLINE ? e->value : ""; *p;) {
    char one[MAX_VALUE];
    size_t n = strcspn(p, ",");
    snprintf(one, sizeof(one), "%.*s", (int)n, p);
    if (cli_kdc_proxy(o, one) < 0)
      return SMBQ_ERR_INVAL;
    p += n + (p[n] == ',');
  }
  e = lookup(c, K_TRANSPORT_CACHE, NULL);
  if (!e || e->layer == L_CMDLINE || !e->value[0])
    return 0; /* the library's default path */
  return smbq_opts_set_transport_cache(
      o, strcmp(e->value, "off") == 0 ? NULL : e->value);
}

int cli_config_apply(struct cli_config *c, const char *server,
                     smbq_opts *o) {
  for (size_t i = 0; i < sizeof(setters) / sizeof(setters[0]); i++) {
    if (setters[i].server_only && !server)
      continue;
    int rc = setters[i].set(o, value_of(c, setters[i].key, server));
    if (rc < 0)
      return rc;
  }
  int rc = apply_client_cert(c, server, o);
  return rc < 0 ? rc : apply_once(c, o);
}

int cli_config_prepare(struct cli *cli, const char *host) {
  if (!cli->config)
    return 0;
  int rc = cli_config_apply(cli->config, host, cli->opts);
  if (rc < 0) {
    fprintf(stderr, "%s: cannot apply the configuration: %s\n", prog(),
            smbq_strerror(rc));
    return SMBQ_EXIT_OTHER;
  }
  const char *origin;
  const char *user = cli_config_get(cli->config, host, "user", &origin);
  cli->config_user = user[0] ? user : NULL;
  return 0;
}

/* ---- smbq config ------------------------------------------------------- */

/* How a default (or an emptied setting) is shown. */
static void shown_default(enum cfg_key k, char *out, size_t len) {
  const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
  const char *user = getenv("USER");
  switch (k) {
  case K_USER:
    if (user)
      snprintf(out, len, "%s (from $USER)", user);
    else
      snprintf(out, len, "guest ($USER is not set)");
    return;
  case K_TRANSPORT_CACHE:
    if (xdg && xdg[0] == '/')
      snprintf(out, len, "%s/smbq/transports", xdg);
    else
      snprintf(out, len, "%s/.cache/smbq/transports", home ? home : "~");
    return;
  case K_CA_FILE:
    snprintf(out, len, "(none: the system's trust store only)");
    return;
  case K_ADDRESS:
    snprintf(out, len, "(none: the name is resolved)");
    return;
  case K_CLIENT_KEY:
    snprintf(out, len, "(none: in the client_cert file)");
    return;
  default:
    snprintf(out, len, "%s", keys[k].def[0] ? keys[k].def : "(none)");
  }
}

static void print_key(const struct cli_config *c, FILE *f, enum cfg_key k,
                      const char *server) {
  const struct entry *e = lookup(c, k, server);
  char value[MAX_VALUE + 64];
  if (e && e->value[0])
    snprintf(value, sizeof(value), "%s", e->value);
  else
    shown_default(k, value, sizeof(value));
  fprintf(f, "%-17s = %-36s # %s", keys[k].name, value,
          e ? e->origin : "default");
  if (e && e->server && e->layer < L_ENV)
    fprintf(f, " [server %s]", e->server);
  fputc('\n', f);
}

/* Each [server NAME] section once, where it first appears. */
static void print_servers(const struct cli_config *c, FILE *f) {
  for (size_t i = 0; i < c->n; i++) {
    const struct entry *e = &c->v[i];
    bool seen = !e->server || e->layer >= L_ENV;
    for (size_t j = 0; j < i && !seen; j++)
      seen = c->v[j].server && c->v[j].layer < L_ENV &&
             strcasecmp(c->v[j].server, e->server) == 0;
    if (!seen)
      fprintf(f, "# [server %s] at %s: smbq config //%s\n", e->server,
              e->origin, e->server);
  }
}

void cli_config_print(const struct cli_config *c, FILE *f,
                      const char *server) {
  if (c->no_files)
    fprintf(f, "# configuration files: none (--no-config)\n");
  for (size_t i = 0; i < c->n_files; i++)
    fprintf(f, "# configuration file %s: %s\n", c->files[i].path,
            c->files[i].status);
  if (server)
    fprintf(f, "# settings for server %s\n", server);
  else
    fprintf(f, "# settings for every server\n");
  for (int k = 0; k < K_COUNT; k++)
    if (server || (keys[k].scope & IN_GLOBAL))
      print_key(c, f, (enum cfg_key)k, server);
  if (!server)
    print_servers(c, f);
}
