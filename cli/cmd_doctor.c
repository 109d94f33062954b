/* smbq doctor //host[/share]: the checks an administrator makes by hand
 * when "QUIC doesn't connect", in order, each with its result, the exact
 * cause and what to change:
 *
 *   name resolution -> TCP port -> QUIC handshake -> server certificate
 *   -> client certificate -> SMB negotiate (per transport) ->
 *   authentication -> KDC proxies (HTTPS and HTTP/3) -> share
 *
 * TCP and QUIC are tried in separate connections (transport tcp, then
 * quic), so each transport's failure stands on its own. The network
 * probes use libc; everything else the public API only. A step that
 * cannot run because of an earlier failure says why it was skipped. The
 * exit status is that of the first failure's kind: 5 network, 6
 * certificate, 3 authentication, 4 share. */
#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "exitcodes.h"

#define TCP_PROBE_MS 3000   /* a reachable server answers well within it */
#define CONNECT_MS 5000     /* each SMB connect: QUIC silence ends here */
#define MAX_ADDRS 8
#define TITLE_WIDTH 19      /* "server certificate" and a blank */
#define EXPIRY_WARN_DAYS 30 /* a renewal changes the certificate's SHA-256,
                               which breaks mappings to it: warn early */

enum mark { M_OK, M_WARN, M_FAIL, M_SKIP };

/* Where a failed SMB connect stopped. */
enum stage { S_NONE, S_TRANSPORT, S_CERT, S_CLIENT_CERT, S_NEGOTIATE,
             S_AUTH };

/* One SMB connection over one transport. */
struct attempt {
  const char *name;             /* "TCP", "QUIC" */
  enum smbq_transport_mode mode;
  char skipped[512];            /* why it was not tried, "" = tried */
  bool by_policy;               /* not tried: QUIC disabled by policy */
  int rc;                       /* of smbq_conn_connect */
  enum stage failed;            /* S_NONE when rc == 0 */
  char msg[1024];
  smbq_conn *conn;              /* connected, for the share step */
  bool have_info;
  bool info_anonymous;          /* info from an anonymous session */
  struct smbq_conn_info info;
};

struct doctor {
  struct cli *cli;
  struct smbq_url url;
  const char *location, *host, *user;
  bool utf8;
  int exit_code; /* of the first failure */
  int count[4];  /* steps per mark */
  const char *first_failure;
  /* settings, with where they came from */
  uint16_t port, quic_port;
  const char *port_origin, *quic_port_origin;
  const char *addr, *addr_origin;
  const char *mode_name, *mode_origin;
  enum smbq_transport_mode mode;
  bool quic_allowed;
  /* results */
  struct sockaddr_storage addrs[MAX_ADDRS];
  socklen_t addr_lens[MAX_ADDRS];
  size_t n_addrs;
  bool tcp_ok;
  struct attempt tcp, quic;
};

/* ---- output ------------------------------------------------------------- */

static bool utf8_locale(void) {
  setlocale(LC_CTYPE, "");
  const char *cs = nl_langinfo(CODESET);
  return cs && strcasecmp(cs, "UTF-8") == 0;
}

static const char *glyph(const struct doctor *d, enum mark m) {
  static const char *const utf8[] = {"\u2713", "!", "\u2717", "-"};
  static const char *const ascii[] = {"[ok]  ", "[warn]", "[FAIL]",
                                      "[skip]"};
  return d->utf8 ? utf8[m] : ascii[m];
}

static void step(struct doctor *d, enum mark m, int exit_code,
                 const char *title, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void step(struct doctor *d, enum mark m, int exit_code,
                 const char *title, const char *fmt, ...) {
  d->count[m]++;
  if (m == M_FAIL && !d->exit_code) {
    d->exit_code = exit_code;
    d->first_failure = title;
  }
  printf("%s %-*s", glyph(d, m), TITLE_WIDTH, title);
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  putchar('\n');
  fflush(stdout);
}

/* A further line of the step above: a detail, aligned under its text,
 * or (fix) what to change. */
static void more(const struct doctor *d, bool fix, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void more(const struct doctor *d, bool fix, const char *fmt, ...) {
  int mark = d->utf8 ? 1 : 6; /* columns of the mark */
  if (fix)
    printf("%*s%s fix: ", mark + 3, "", d->utf8 ? "\u2192" : "->");
  else
    printf("%*s", mark + 1 + TITLE_WIDTH, "");
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  putchar('\n');
}

static void skip(struct doctor *d, const char *title, const char *why) {
  step(d, M_SKIP, 0, title, "skipped because %s", why);
}

static void fmt_addr(const struct sockaddr *sa, socklen_t len, uint16_t port,
                     char *out, size_t outlen) {
  char host[NI_MAXHOST];
  if (getnameinfo(sa, len, host, sizeof(host), NULL, 0, NI_NUMERICHOST))
    snprintf(host, sizeof(host), "?");
  snprintf(out, outlen, sa->sa_family == AF_INET6 ? "[%s]:%u" : "%s:%u",
           host, port);
}

static void fmt_utc(int64_t t, char *out, size_t len) {
  time_t tt = (time_t)t;
  struct tm tm;
  if (!gmtime_r(&tt, &tm) || !strftime(out, len, "%Y-%m-%d %H:%M UTC", &tm))
    snprintf(out, len, "?");
}

/* ---- settings --------------------------------------------------------- */

static uint16_t port_setting(struct doctor *d, const char *key,
                             const char **origin) {
  long p = strtol(cli_config_get(d->cli->config, d->host, key, origin),
                  NULL, 10);
  return (uint16_t)p;
}

/* What the connection would use, as cli_prepare and the configuration
 * decide it. */
static void load_settings(struct doctor *d) {
  struct cli_config *c = d->cli->config;
  d->port = port_setting(d, "port", &d->port_origin);
  if (d->url.port && !d->cli->port_set) {
    d->port = d->url.port;
    d->port_origin = "the location";
  }
  d->quic_port = port_setting(d, "quic_port", &d->quic_port_origin);
  d->addr = cli_config_get(c, d->host, "address", &d->addr_origin);
  d->mode_name = cli_config_get(c, d->host, "transport", &d->mode_origin);
  d->mode = strcmp(d->mode_name, "tcp") == 0    ? SMBQ_TRANSPORT_TCP
            : strcmp(d->mode_name, "quic") == 0 ? SMBQ_TRANSPORT_QUIC
                                                : SMBQ_TRANSPORT_AUTO;
  d->quic_allowed = cli_config_quic_allowed(c, d->host);
}

/* ---- name resolution ------------------------------------------------- */

static void keep_addrs(struct doctor *d, const struct addrinfo *res) {
  for (const struct addrinfo *ai = res; ai && d->n_addrs < MAX_ADDRS;
       ai = ai->ai_next) {
    bool dup = false;
    for (size_t i = 0; i < d->n_addrs && !dup; i++)
      dup = d->addr_lens[i] == ai->ai_addrlen &&
            memcmp(&d->addrs[i], ai->ai_addr, ai->ai_addrlen) == 0;
    if (dup || ai->ai_addrlen > sizeof(d->addrs[0]))
      continue;
    memcpy(&d->addrs[d->n_addrs], ai->ai_addr, ai->ai_addrlen);
    d->addr_lens[d->n_addrs++] = ai->ai_addrlen;
  }
}

static void addr_list(const struct doctor *d, char *out, size_t len) {
  size_t used = 0;
  out[0] = '\0';
  for (size_t i = 0; i < d->n_addrs && used < len; i++) {
    char host[NI_MAXHOST];
    if (getnameinfo((const struct sockaddr *)&d->addrs[i], d->addr_lens[i],
                    host, sizeof(host), NULL, 0, NI_NUMERICHOST))
      continue;
    used += (size_t)snprintf(out + used, len - used, "%s%s", used ? ", " : "",
                             host);
  }
}

static void check_resolve(struct doctor *d) {
  const char *name = d->addr[0] ? d->addr : d->host;
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
  hints.ai_flags = d->addr[0] ? AI_NUMERICHOST : 0;
  struct addrinfo *res = NULL;
  int rc = getaddrinfo(name, NULL, &hints, &res);
  if (rc) {
    step(d, M_FAIL, SMBQ_EXIT_NET, "name resolution",
         "cannot resolve %s: %s", name, gai_strerror(rc));
    more(d, true, "check the name and DNS, or give the address: address = "
         "IP in [server %s] of smbq.conf, or --resolve %s:IP", d->host,
         d->host);
    return;
  }
  keep_addrs(d, res);
  freeaddrinfo(res);
  char list[512];
  addr_list(d, list, sizeof(list));
  if (d->addr[0])
    step(d, M_OK, 0, "name resolution",
         "%s %s %s (address from %s; DNS not asked)", d->host,
         d->utf8 ? "\u2192" : "->", list, d->addr_origin);
  else
    step(d, M_OK, 0, "name resolution", "%s %s %s", d->host,
         d->utf8 ? "\u2192" : "->", list);
}

/* ---- TCP -------------------------------------------------------------- */

/* A TCP connect with a deadline: 0 or an errno (ETIMEDOUT: no answer). */
static int tcp_probe(const struct sockaddr_storage *ss, socklen_t len,
                     uint16_t port, double *ms) {
  struct sockaddr_storage to = *ss;
  if (to.ss_family == AF_INET)
    ((struct sockaddr_in *)&to)->sin_port = htons(port);
  else
    ((struct sockaddr_in6 *)&to)->sin6_port = htons(port);
  int fd = socket(to.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                  0);
  if (fd < 0)
    return errno;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int err = 0;
  if (connect(fd, (struct sockaddr *)&to, len) < 0) {
    err = errno;
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    if (err == EINPROGRESS) {
      socklen_t el = sizeof(err);
      int n = poll(&p, 1, TCP_PROBE_MS);
      if (n == 0)
        err = ETIMEDOUT;
      else if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
        err = errno;
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  *ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
        (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
  close(fd);
  return err;
}

static void tcp_failed(struct doctor *d, const char *where, int err) {
  const char *title = "TCP port";
  if (err == ECONNREFUSED) {
    step(d, M_FAIL, SMBQ_EXIT_NET, title,
         "%s refused the connection: nothing listens on TCP %u there", where,
         d->port);
    more(d, true, "check that the SMB server runs and listens on TCP %u, "
         "and the port (port = in [server %s] of smbq.conf, -p; now from "
         "%s)", d->port, d->host, d->port_origin);
  } else if (err == ETIMEDOUT) {
    step(d, M_FAIL, SMBQ_EXIT_NET, title,
         "no answer from %s within %d s: packets to TCP %u are dropped "
         "(a firewall?)", where, TCP_PROBE_MS / 1000, d->port);
    more(d, true, "open TCP %u between here and the server, or use SMB "
         "over QUIC (transport = quic in smbq.conf, -t quic)", d->port);
  } else {
    step(d, M_FAIL, SMBQ_EXIT_NET, title, "%s: %s", where, strerror(err));
  }
}

static void check_tcp(struct doctor *d) {
  char why[256], where[128] = "";
  if (!d->n_addrs) {
    skip(d, "TCP port", "the name does not resolve");
    return;
  }
  if (d->mode == SMBQ_TRANSPORT_QUIC) {
    snprintf(why, sizeof(why), "transport = quic (%s)", d->mode_origin);
    skip(d, "TCP port", why);
    return;
  }
  int err = 0;
  double ms = 0;
  for (size_t i = 0; i < d->n_addrs; i++) {
    fmt_addr((struct sockaddr *)&d->addrs[i], d->addr_lens[i], d->port,
             where, sizeof(where));
    if ((err = tcp_probe(&d->addrs[i], d->addr_lens[i], d->port, &ms)) == 0)
      break;
  }
  if (err) {
    tcp_failed(d, where, err);
    return;
  }
  d->tcp_ok = true;
  step(d, M_OK, 0, "TCP port", "%s accepts connections (%.1f ms)", where,
       ms);
}

/* ---- SMB connections ------------------------------------------------- */

/* Where a failed connect stopped. The error codes tell transport,
 * certificate and logon failures apart; that a certificate error concerns
 * our client certificate only the message says (the QUIC transport names
 * it in each of those messages). */
static enum stage failed_stage(int rc, const char *msg) {
  if (strstr(msg, "client certificate"))
    return S_CLIENT_CERT;
  if (strstr(msg, "CA certificates"))
    return S_CERT; /* ca_file unreadable */
  switch (rc) {
  case SMBQ_ERR_AUTH:
  case SMBQ_ERR_POLICY: /* a guest logon refused */
    return S_AUTH;
  case SMBQ_ERR_CERT:
    return S_CERT;
  case SMBQ_ERR_TLS:
  case SMBQ_ERR_NET:
  case SMBQ_ERR_TIMEOUT:
  case SMBQ_ERR_CLOSED:
    return S_TRANSPORT;
  default:
    return S_NEGOTIATE;
  }
}

/* After a failed logon: what an anonymous session shows of the
 * negotiation and the certificate. */
static void probe_anonymous(struct doctor *d, struct attempt *a) {
  smbq_opts *o = d->cli->opts;
  smbq_opts_set_user(o, "", NULL);
  smbq_opts_set_password(o, NULL); /* anonymous: no password at all */
  smbq_opts_set_allow_guest(o, 1);
  smbq_conn *c = smbq_conn_new(o);
  if (c && smbq_conn_connect(c, d->host) == 0 &&
      smbq_conn_get_info(c, &a->info) == 0)
    a->have_info = a->info_anonymous = true;
  smbq_conn_free(c);
  smbq_opts_set_allow_guest(o, 0);
  smbq_opts_set_user(o, d->user, NULL);
  smbq_opts_set_password(o, d->cli->password);
}

static void run_attempt(struct doctor *d, struct attempt *a) {
  smbq_opts_set_transport(d->cli->opts, a->mode);
  a->conn = smbq_conn_new(d->cli->opts);
  if (!a->conn) {
    a->rc = SMBQ_ERR_NOMEM;
    a->failed = S_NEGOTIATE;
    snprintf(a->msg, sizeof(a->msg), "out of memory");
    return;
  }
  a->rc = smbq_conn_connect(a->conn, d->host);
  if (a->rc == 0) {
    a->have_info = smbq_conn_get_info(a->conn, &a->info) == 0;
    return;
  }
  smbq_conn_errmsg(a->conn, a->msg, sizeof(a->msg));
  smbq_conn_free(a->conn);
  a->conn = NULL;
  a->failed = failed_stage(a->rc, a->msg);
  if (a->failed == S_AUTH)
    probe_anonymous(d, a);
}

static void run_tcp(struct doctor *d) {
  struct attempt *a = &d->tcp;
  if (d->mode == SMBQ_TRANSPORT_QUIC)
    snprintf(a->skipped, sizeof(a->skipped), "transport = quic (%s)",
             d->mode_origin);
  else if (!d->n_addrs)
    snprintf(a->skipped, sizeof(a->skipped), "the name does not resolve");
  else if (!d->tcp_ok)
    snprintf(a->skipped, sizeof(a->skipped),
             "TCP port %u is not reachable", d->port);
  else
    run_attempt(d, a);
}

static void run_quic(struct doctor *d) {
  struct attempt *a = &d->quic;
  if (d->mode == SMBQ_TRANSPORT_TCP)
    snprintf(a->skipped, sizeof(a->skipped), "transport = tcp (%s)",
             d->mode_origin);
  else if (!d->n_addrs)
    snprintf(a->skipped, sizeof(a->skipped), "the name does not resolve");
  else if ((a->by_policy = !d->quic_allowed))
    snprintf(a->skipped, sizeof(a->skipped),
             "QUIC is disabled by policy (quic = off) and %s is not in "
             "quic_exceptions", d->host);
  else
    run_attempt(d, a);
}

/* ---- QUIC and certificates --------------------------------------------- */

static const char *quic_fix(const struct doctor *d, int rc, char *buf,
                            size_t len) {
  if (rc == SMBQ_ERR_TIMEOUT)
    snprintf(buf, len, "let UDP %u through every firewall between here and "
             "the server, and check that the server offers SMB over QUIC "
             "on it (quic_port = in [server %s] of smbq.conf, --quic-port; "
             "now from %s)", d->quic_port, d->host, d->quic_port_origin);
  else if (rc == SMBQ_ERR_TLS)
    snprintf(buf, len, "UDP %u answers, but not as an SMB over QUIC "
             "endpoint: check quic_port (now from %s)", d->quic_port,
             d->quic_port_origin);
  else
    snprintf(buf, len, "check quic_port (UDP %u, from %s) and the "
             "address", d->quic_port, d->quic_port_origin);
  return buf;
}

static void check_quic(struct doctor *d) {
  const struct attempt *a = &d->quic;
  const char *title = "QUIC handshake";
  char fix[512];
  if (a->by_policy && d->mode == SMBQ_TRANSPORT_QUIC) {
    step(d, M_FAIL, SMBQ_EXIT_AUTH, title, "%s", a->skipped);
    more(d, true, "quic = on in smbq.conf, or add %s to quic_exceptions "
         "(--quic-exception %s)", d->host, d->host);
    return;
  }
  if (a->skipped[0]) {
    skip(d, title, a->skipped);
    return;
  }
  if (a->failed == S_TRANSPORT) {
    step(d, M_FAIL, smbq_exit_from_err(a->rc), title, "%s", a->msg);
    more(d, true, "%s", quic_fix(d, a->rc, fix, sizeof(fix)));
    return;
  }
  if (!a->have_info) {
    step(d, M_OK, 0, title, "UDP %u answers with TLS 1.3 and ALPN smb",
         d->quic_port);
    return;
  }
  step(d, M_OK, 0, title, "%s over UDP: %s, %s, ALPN %s%s (%.1f ms)",
       a->info.peer, a->info.tls_version, a->info.tls_cipher, a->info.alpn,
       a->info.tls_resumed ? ", resumed" : "", a->info.handshake_us / 1000.0);
}

/* Why a step after the QUIC handshake could not run. */
static const char *quic_not_that_far(const struct attempt *a) {
  return a->skipped[0] ? a->skipped : "the QUIC handshake failed";
}

/* What to change for each certificate failure the library names. */
static const char *cert_fix(const char *msg) {
  static const struct {
    const char *says;
    const char *fix;
  } fixes[] = {
      {"expired", "the server needs a renewed certificate (mappings to "
                  "the old SHA-256 must then be updated)"},
      {"not valid before", "check the clocks of client and server"},
      {"not valid for name", "connect with a name the certificate lists, "
                             "or reissue it with this name as a DNS "
                             "subjectAltName"},
      {"no subjectAltName", "reissue the certificate with the server's "
                            "name as a DNS subjectAltName"},
      {"server authentication", "reissue the certificate with the "
                                "serverAuth extended key usage "
                                "(1.3.6.1.5.5.7.3.1)"},
      {"self-signed", "trust it explicitly (ca_file = its PEM in smbq.conf, "
                      "--ca-file), or give the server a certificate from a "
                      "trusted CA"},
      {"untrusted CA", "trust the issuing CA: ca_file = CA.pem in [server "
                       "NAME] or [global] of smbq.conf, or --ca-file"},
      {"CA certificates", "ca_file must name a readable PEM file"},
  };
  for (size_t i = 0; i < sizeof(fixes) / sizeof(fixes[0]); i++)
    if (strstr(msg, fixes[i].says))
      return fixes[i].fix;
  return NULL;
}

static void cert_details(struct doctor *d, const struct smbq_conn_info *i) {
  const char *origin;
  const char *ca = cli_config_get(d->cli->config, d->host, "ca_file",
                                  &origin);
  more(d, false, "trusted (%s%s%s), valid for %s (subjectAltName) and "
       "server authentication (EKU)", ca[0] ? ca : "system trust store",
       ca[0] ? " from " : "", ca[0] ? origin : "", d->host);
  more(d, false, "SHA-256 %s", i->cert_sha256);
}

static void cert_ok(struct doctor *d, const struct smbq_conn_info *i) {
  const char *title = "server certificate";
  char until[40];
  fmt_utc(i->cert_not_after, until, sizeof(until));
  int64_t days = (i->cert_not_after - (int64_t)time(NULL)) / 86400;
  if (i->cert_not_after && days < EXPIRY_WARN_DAYS) {
    step(d, M_WARN, 0, title, "%s, issued by %s, expires %s: in %lld "
         "day%s", i->cert_subject, i->cert_issuer, until, (long long)days,
         days == 1 ? "" : "s");
    cert_details(d, i);
    more(d, true, "renew it before then; the renewed certificate has a new "
         "SHA-256, so update certificate mappings and client access "
         "control entries that name the current one");
    return;
  }
  step(d, M_OK, 0, title, "%s, issued by %s, valid until %s (%lld days)",
       i->cert_subject, i->cert_issuer, until, (long long)days);
  cert_details(d, i);
}

static void check_cert(struct doctor *d) {
  const struct attempt *a = &d->quic;
  const char *title = "server certificate";
  if (a->skipped[0] || a->failed == S_TRANSPORT) {
    skip(d, title, quic_not_that_far(a));
    return;
  }
  if (a->failed == S_CERT) {
    step(d, M_FAIL, SMBQ_EXIT_CERT, title, "%s", a->msg);
    const char *fix = cert_fix(a->msg);
    if (fix)
      more(d, true, "%s", fix);
    return;
  }
  if (a->have_info) {
    cert_ok(d, &a->info);
    return;
  }
  step(d, M_OK, 0, title, "accepted: trusted, valid for %s and for server "
       "authentication (details unavailable: the connection failed later)",
       d->host);
}

static void check_client_cert(struct doctor *d) {
  const struct attempt *a = &d->quic;
  const char *title = "client certificate", *origin;
  const char *cert = cli_config_get(d->cli->config, d->host, "client_cert",
                                    &origin);
  char have[1024];
  if (cert[0])
    snprintf(have, sizeof(have), "%s (from %s)", cert, origin);
  else
    snprintf(have, sizeof(have), "none configured for %s", d->host);
  if (a->skipped[0] || a->failed == S_TRANSPORT || a->failed == S_CERT) {
    char why[1600];
    snprintf(why, sizeof(why), "%s (client certificate: %s)",
             a->failed == S_CERT ? "the server certificate was refused"
                                 : quic_not_that_far(a),
             have);
    skip(d, title, why);
    return;
  }
  if (a->failed != S_CLIENT_CERT) {
    step(d, M_OK, 0, title, "%s: %s", have,
         cert[0] ? "sent when the server asks, and accepted"
                 : "the server did not ask for one");
    return;
  }
  step(d, M_FAIL, SMBQ_EXIT_CERT, title, "%s", a->msg);
  if (!cert[0])
    more(d, true, "give %s a client certificate the server trusts: "
         "client_cert = FILE (and client_key = FILE) in [server %s] of "
         "smbq.conf, or --client-cert FILE", d->host, d->host);
  else
    more(d, true, "the server must trust the CA of %s and allow its "
         "SHA-256 (client access control), or map another certificate to "
         "%s (client_cert in [server %s])", cert, d->host, d->host);
}

/* ---- SMB negotiate, logon, share ------------------------------------- */

static void negotiated(struct doctor *d, const char *title,
                       const struct attempt *a) {
  const struct smbq_conn_info *i = &a->info;
  char enc[64];
  if (strcmp(i->encryption, "none") == 0 && strcmp(i->cipher, "none") != 0)
    snprintf(enc, sizeof(enc), "none (%s offered)", i->cipher);
  else
    snprintf(enc, sizeof(enc), "%s", i->encryption);
  if (i->transport_security)
    step(d, M_OK, 0, title, "SMB %s; transport security: TLS protects "
         "every message, no SMB signing or encryption on top", i->dialect);
  else if (a->info_anonymous)
    step(d, M_OK, 0, title, "SMB %s; signing %srequired by the server; "
         "encryption %s", i->dialect, i->signing_required ? "" : "not ",
         enc);
  else
    step(d, M_OK, 0, title, "SMB %s; signing %s%s; encryption %s",
         i->dialect, i->signing,
         i->signing_required ? " (required by the server)" : "", enc);
  if (a->info_anonymous)
    more(d, false, "(seen by an anonymous session: the logon failed)");
}

static void check_negotiate(struct doctor *d, const struct attempt *a) {
  char title[32], why[600];
  snprintf(title, sizeof(title), "SMB over %s", a->name);
  if (a->skipped[0]) {
    skip(d, title, a->skipped);
    return;
  }
  if (a->mode == SMBQ_TRANSPORT_QUIC && a->failed >= S_TRANSPORT &&
      a->failed <= S_CLIENT_CERT) {
    snprintf(why, sizeof(why), "the QUIC handshake failed");
    skip(d, title, why);
    return;
  }
  if (a->failed == S_NEGOTIATE || a->failed == S_TRANSPORT) {
    step(d, M_FAIL, smbq_exit_from_err(a->rc), title, "%s", a->msg);
    return;
  }
  if (a->have_info) {
    negotiated(d, title, a);
    return;
  }
  step(d, M_OK, 0, title, "negotiated (details unavailable: an anonymous "
       "session to see them failed too)");
}

static void check_auth(struct doctor *d) {
  const char *title = "authentication";
  const struct attempt *both[] = {&d->tcp, &d->quic};
  for (size_t i = 0; i < 2; i++) {
    if (both[i]->failed != S_AUTH)
      continue;
    step(d, M_FAIL, SMBQ_EXIT_AUTH, title, "over %s: %s", both[i]->name,
         both[i]->msg);
    more(d, true, "check the user name (-U, user = in smbq.conf, "
         "SMBQ_USER; now %s) and the password (--password-file, "
         "SMBQ_PASSWORD, --credentials)", d->user);
    return;
  }
  bool tcp = d->tcp.conn, quic = d->quic.conn;
  if (!tcp && !quic) {
    skip(d, title, "no SMB connection was negotiated");
    return;
  }
  step(d, M_OK, 0, title, "%s logon as %s accepted over %s",
       (tcp ? &d->tcp : &d->quic)->info.auth, d->user,
       tcp && quic ? "TCP and QUIC" : tcp ? "TCP" : "QUIC");
}

/* The KDC proxies (MS-KKDCP) of the settings, each over HTTPS and over
 * HTTP/3: which way works. */
#define MAX_PROXIES 16
struct kdc_result {
  char realm[256], url[512];
  int rc[2];
  char msg[2][1024];
};
struct kdc_results {
  struct kdc_result r[MAX_PROXIES];
  size_t n, way;
};

static void kdc_result(void *arg, const char *realm, const char *url, int rc,
                       const char *msg) {
  struct kdc_results *k = arg;
  size_t i = 0;
  while (i < k->n && strcmp(k->r[i].url, url) != 0)
    i++;
  if (i == k->n) {
    if (k->n == MAX_PROXIES)
      return;
    snprintf(k->r[i].realm, sizeof(k->r[i].realm), "%s", realm);
    snprintf(k->r[i].url, sizeof(k->r[i].url), "%s", url);
    k->n++;
  }
  k->r[i].rc[k->way] = rc;
  snprintf(k->r[i].msg[k->way], sizeof(k->r[i].msg[k->way]), "%s", msg);
}

static void kdc_report(struct doctor *d, const struct kdc_result *r) {
  const char *title = "KDC proxy";
  bool https = r->rc[0] == 0, h3 = r->rc[1] == 0;
  if (https && h3) {
    step(d, M_OK, 0, title, "%s (%s) answers over HTTPS and HTTP/3", r->url,
         r->realm);
    return;
  }
  if (https || h3) {
    step(d, M_WARN, 0, title, "%s (%s) answers over %s only", r->url,
         r->realm, https ? "HTTPS" : "HTTP/3");
    more(d, false, "over %s: %s", https ? "HTTP/3" : "HTTPS",
         r->msg[https ? 1 : 0]);
    more(d, true, "%s", https
             ? "with UDP 443 alone (an SMB over QUIC network) Kerberos needs "
               "HTTP/3 on the proxy; --kdc-proxy-transport https avoids "
               "the try"
             : "HTTPS (TCP) does not reach the proxy; --kdc-proxy-transport "
               "h3 avoids the try");
    return;
  }
  int rc = r->rc[0] == SMBQ_ERR_CERT || r->rc[1] != SMBQ_ERR_CERT ? r->rc[0]
                                                                  : r->rc[1];
  step(d, M_FAIL, smbq_exit_from_err(rc), title, "%s (%s) answers neither "
       "over HTTPS nor over HTTP/3", r->url, r->realm);
  more(d, false, "over HTTPS: %s", r->msg[0]);
  more(d, false, "over HTTP/3: %s", r->msg[1]);
  if (rc == SMBQ_ERR_CERT)
    more(d, true, "the proxy needs a certificate for its host name from a "
         "CA this machine trusts (or --ca-file)");
}

static void check_kdc_proxy(struct doctor *d) {
  struct kdc_results *k = calloc(1, sizeof(*k));
  if (!k)
    return;
  static const enum smbq_kdc_proxy_transport ways[2] = {
      SMBQ_KDC_PROXY_HTTPS, SMBQ_KDC_PROXY_H3};
  for (k->way = 0; k->way < 2; k->way++)
    if (smbq_opts_check_kdc_proxies(d->cli->opts, ways[k->way], kdc_result,
                                    k) <= 0)
      break;
  for (size_t i = 0; i < k->n; i++)
    kdc_report(d, &k->r[i]);
  free(k);
}

static void check_share(struct doctor *d) {
  const char *title = "share";
  if (!d->url.share[0])
    return;
  struct attempt *a = d->tcp.conn ? &d->tcp : &d->quic;
  if (!a->conn) {
    skip(d, title, "no session was set up");
    return;
  }
  smbq_tree *t;
  int rc = smbq_tree_connect(a->conn, d->url.share, &t);
  if (rc == 0) {
    step(d, M_OK, 0, title, "\\\\%s\\%s opened over %s (SMB encryption: %s)",
         d->host, d->url.share, a->name,
         smbq_tree_encrypted(t) ? "yes" : "no");
    smbq_tree_disconnect(t);
    return;
  }
  char msg[1024];
  smbq_conn_errmsg(a->conn, msg, sizeof(msg));
  step(d, M_FAIL, smbq_exit_from_err(rc), title, "%s", msg);
  if (rc == SMBQ_ERR_NOENT)
    more(d, true, "list the shares the server has: smbq shares //%s",
         d->host);
  else if (rc == SMBQ_ERR_ACCESS)
    more(d, true, "%s needs permission for the share on the server",
         d->user);
}

/* ---- the command ------------------------------------------------------ */

static void summary(const struct doctor *d) {
  printf("\n%d passed, %d warning%s, %d failed, %d skipped", d->count[M_OK],
         d->count[M_WARN], d->count[M_WARN] == 1 ? "" : "s",
         d->count[M_FAIL], d->count[M_SKIP]);
  if (d->first_failure)
    printf("; first failure: %s (exit status %d)", d->first_failure,
           d->exit_code);
  putchar('\n');
}

static void run_checks(struct doctor *d) {
  printf("smbq doctor: %s as %s (transport %s, TCP port %u, QUIC port "
         "%u)\n\n",
         d->location, d->user, d->mode_name, d->port, d->quic_port);
  check_resolve(d);
  check_tcp(d);
  run_tcp(d);
  run_quic(d);
  check_quic(d);
  check_cert(d);
  check_client_cert(d);
  check_negotiate(d, &d->tcp);
  check_negotiate(d, &d->quic);
  check_auth(d);
  check_kdc_proxy(d);
  check_share(d);
  summary(d);
}

int cmd_doctor(struct cli *cli, int argc, char **argv) {
  (void)argc;
  struct doctor *d = calloc(1, sizeof(*d));
  char err[512];
  if (!d)
    return SMBQ_EXIT_OTHER;
  int rc = SMBQ_EXIT_USAGE;
  if (!cli->config) {
    fprintf(stderr, "smbq: doctor needs the configuration\n");
    goto out;
  }
  if (smbq_url_parse(argv[0], false, &d->url, err, sizeof(err)) < 0) {
    fprintf(stderr, "smbq: %s\n", err);
    goto out;
  }
  if ((rc = cli_prepare(cli, &d->url)) != 0)
    goto out;
  d->cli = cli;
  d->location = argv[0];
  d->host = d->url.host;
  d->user = cli_user(cli, &d->url);
  d->utf8 = utf8_locale();
  d->tcp = (struct attempt){.name = "TCP", .mode = SMBQ_TRANSPORT_TCP};
  d->quic = (struct attempt){.name = "QUIC", .mode = SMBQ_TRANSPORT_QUIC};
  smbq_opts_set_timeouts(cli->opts, CONNECT_MS, 0);
  load_settings(d);
  run_checks(d);
  rc = d->exit_code;
  if (cli->verbose) { /* one line per connection made */
    cli_print_stats(d->tcp.conn);
    cli_print_stats(d->quic.conn);
  }
  smbq_conn_free(d->tcp.conn);
  smbq_conn_free(d->quic.conn);
out:
  free(d);
  return rc;
}
