/* smbq ls, stat, rm, mkdir, rmdir, mv, info. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "exitcodes.h"

static void fmt_time(const struct timespec *ts, char *buf, size_t len) {
  struct tm tm;
  time_t t = ts->tv_sec;
  localtime_r(&t, &tm);
  strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

static const char *type_name(enum smbq_type t) {
  return t == SMBQ_TYPE_DIR ? "dir" : "file";
}

static void print_json_fields(const char *name, const struct smbq_stat *st) {
  printf("{\"name\":");
  cli_json_str(stdout, name);
  printf(",\"type\":\"%s\",\"size\":%" PRIu64 ",\"mtime\":%lld,"
         "\"atime\":%lld,\"ctime\":%lld,\"btime\":%lld,\"attributes\":%u",
         type_name(st->type), st->size, (long long)st->mtime.tv_sec,
         (long long)st->atime.tv_sec, (long long)st->ctime.tv_sec,
         (long long)st->btime.tv_sec, st->attributes);
}

static void print_entry_json(const char *name, const struct smbq_stat *st) {
  print_json_fields(name, st);
  printf("}");
}

static void print_entry_text(const char *name, const struct smbq_stat *st) {
  char when[32];
  fmt_time(&st->mtime, when, sizeof(when));
  printf("%c %12" PRIu64 "  %s  %s%s\n",
         st->type == SMBQ_TYPE_DIR ? 'd' : '-', st->size, when, name,
         st->type == SMBQ_TYPE_DIR ? "/" : "");
}

int cmd_ls(struct cli *cli, int argc, char **argv) {
  (void)argc;
  struct cli_share s;
  int rc = cli_open(cli, argv[0], &s);
  if (rc)
    return rc;
  smbq_dir *d;
  int err = smbq_opendir(s.tree, s.url.path, &d);
  if (err < 0) {
    rc = cli_fail(&s, err, "cannot list %s", argv[0]);
    cli_close(&s);
    return rc;
  }
  struct smbq_dirent e;
  bool first = true;
  if (cli->json)
    printf("[");
  while ((err = smbq_readdir(d, &e)) > 0) {
    if (cli->json) {
      printf(first ? "\n  " : ",\n  ");
      print_entry_json(e.name, &e.st);
    } else {
      print_entry_text(e.name, &e.st);
    }
    first = false;
  }
  if (cli->json)
    printf("\n]\n");
  if (err < 0)
    rc = cli_fail(&s, err, "listing %s failed", argv[0]);
  smbq_closedir(d);
  cli_close(&s);
  return rc;
}

/* "RWH"-style letters for caching rights. */
static void cache_letters(unsigned c, char out[4]) {
  size_t n = 0;
  if (c & SMBQ_CACHE_READ)
    out[n++] = 'R';
  if (c & SMBQ_CACHE_WRITE)
    out[n++] = 'W';
  if (c & SMBQ_CACHE_HANDLE)
    out[n++] = 'H';
  out[n] = '\0';
}

/* stat -v of a file: what an open of it gets (lease, durable handle). */
static int open_report(struct cli_share *s, struct smbq_file_info *i) {
  smbq_file *f;
  int err = smbq_open(s->tree, s->url.path, SMBQ_O_RDONLY, &f);
  if (err < 0)
    return err;
  err = smbq_file_get_info(f, i);
  smbq_close(f);
  return err;
}

static void print_open_text(const struct smbq_file_info *i) {
  char l[4];
  cache_letters(i->cache, l);
  if (i->lease_version)
    printf(" Lease: %s (v%d)\n", l[0] ? l : "none", i->lease_version);
  else
    printf(" Lease: %s%s\n", l[0] ? l : "none",
           i->cache ? " (oplock)" : "");
  if (i->durable)
    printf("Durable: v%d%s, kept %u ms for a reconnect\n", i->durable,
           i->persistent ? ", persistent" : "", i->durable_timeout_ms);
  else
    printf("Durable: no\n");
}

int cmd_stat(struct cli *cli, int argc, char **argv) {
  (void)argc;
  struct cli_share s;
  int rc = cli_open(cli, argv[0], &s);
  if (rc)
    return rc;
  struct smbq_stat st;
  int err = smbq_stat(s.tree, s.url.path, &st);
  if (err < 0) {
    rc = cli_fail(&s, err, "cannot stat %s", argv[0]);
    cli_close(&s);
    return rc;
  }
  const char *name = s.url.path[0] ? smbq_url_basename(s.url.path) : "";
  /* -v on a file: what an open of it is granted */
  struct smbq_file_info fi;
  bool have_fi = cli->verbose && st.type == SMBQ_TYPE_FILE &&
                 open_report(&s, &fi) == 0;
  if (cli->json) {
    print_json_fields(name, &st);
    if (have_fi) {
      char l[4];
      cache_letters(fi.cache, l);
      printf(",\"lease\":\"%s\",\"lease_version\":%d,\"durable\":%d,"
             "\"persistent\":%s",
             l, fi.lease_version, fi.durable,
             fi.persistent ? "true" : "false");
    }
    printf("}\n");
  } else {
    char m[32], a[32], c[32], b[32];
    fmt_time(&st.mtime, m, sizeof(m));
    fmt_time(&st.atime, a, sizeof(a));
    fmt_time(&st.ctime, c, sizeof(c));
    fmt_time(&st.btime, b, sizeof(b));
    printf("  Name: %s\n  Type: %s\n  Size: %" PRIu64 "\n"
           "Modify: %s\nAccess: %s\nChange: %s\n Birth: %s\n"
           " Attrs: 0x%04x\n",
           name, type_name(st.type), st.size, m, a, c, b, st.attributes);
    if (have_fi)
      print_open_text(&fi);
  }
  cli_close(&s);
  return 0;
}

/* rm, mkdir, rmdir share a shape: one path, one call. */
static int path_op(struct cli *cli, const char *url, const char *verb,
                   int (*op)(smbq_tree *, const char *)) {
  struct cli_share s;
  int rc = cli_open(cli, url, &s);
  if (rc)
    return rc;
  if (!s.url.path[0]) {
    fprintf(stderr, "smbq: %s needs a path inside the share\n", verb);
    cli_close(&s);
    return SMBQ_EXIT_USAGE;
  }
  int err = op(s.tree, s.url.path);
  if (err < 0)
    rc = cli_fail(&s, err, "cannot %s %s", verb, url);
  cli_close(&s);
  return rc;
}

int cmd_rm(struct cli *cli, int argc, char **argv) {
  (void)argc;
  return path_op(cli, argv[0], "remove", smbq_unlink);
}

int cmd_mkdir(struct cli *cli, int argc, char **argv) {
  (void)argc;
  return path_op(cli, argv[0], "create directory", smbq_mkdir);
}

int cmd_rmdir(struct cli *cli, int argc, char **argv) {
  (void)argc;
  return path_op(cli, argv[0], "remove directory", smbq_rmdir);
}

/* The destination may be a full location on the same share or a path
 * relative to the share root ("/new/name"). */
static int mv_target(const struct cli_share *s, const char *dst, char *out,
                     size_t len) {
  if (!smbq_is_url(dst)) {
    while (*dst == '/')
      dst++;
    snprintf(out, len, "%s", dst);
    return 0;
  }
  struct smbq_url u;
  char err[256];
  if (smbq_url_parse(dst, true, &u, err, sizeof(err)) < 0) {
    fprintf(stderr, "smbq: %s\n", err);
    return -1;
  }
  if (strcasecmp(u.host, s->url.host) || strcasecmp(u.share, s->url.share)) {
    fprintf(stderr, "smbq: mv works within one share; copy across "
            "shares with get and put\n");
    return -1;
  }
  snprintf(out, len, "%s", u.path);
  return 0;
}

int cmd_mv(struct cli *cli, int argc, char **argv) {
  (void)argc;
  struct cli_share s;
  int rc = cli_open(cli, argv[0], &s);
  if (rc)
    return rc;
  char to[1024];
  if (mv_target(&s, argv[1], to, sizeof(to)) < 0 || !to[0] ||
      !s.url.path[0]) {
    cli_close(&s);
    return SMBQ_EXIT_USAGE;
  }
  int err = smbq_rename(s.tree, s.url.path, to, 0);
  if (err < 0)
    rc = cli_fail(&s, err, "cannot rename %s to %s", argv[0], argv[1]);
  cli_close(&s);
  return rc;
}

/* "2027-01-31T12:00:00Z" */
static void utc_date(int64_t t, char *out, size_t len) {
  time_t tt = (time_t)t;
  struct tm tm;
  if (!gmtime_r(&tt, &tm) || !strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
    snprintf(out, len, "?");
}

static void json_field(const char *name, const char *value) {
  printf(",\"%s\":", name);
  cli_json_str(stdout, value);
}

static void print_info_json(const struct smbq_conn_info *i, const char *share,
                            const char *enc, const struct smbq_stats *st) {
  printf("{\"server\":");
  cli_json_str(stdout, i->server);
  json_field("share", share);
  json_field("peer", i->peer);
  json_field("transport", i->transport);
  json_field("dialect", i->dialect);
  json_field("signing", i->signing);
  json_field("encryption", enc);
  json_field("auth", i->auth);
  printf(",\"signing_required\":%s,\"transport_security\":%s,"
         "\"max_read\":%u,\"max_write\":%u",
         i->signing_required ? "true" : "false",
         i->transport_security ? "true" : "false", i->max_read, i->max_write);
  if (strcmp(i->transport, "quic") == 0) {
    json_field("tls_version", i->tls_version);
    json_field("tls_cipher", i->tls_cipher);
    json_field("alpn", i->alpn);
    json_field("cert_subject", i->cert_subject);
    json_field("cert_issuer", i->cert_issuer);
    json_field("cert_sha256", i->cert_sha256);
    char until[32];
    utc_date(i->cert_not_after, until, sizeof(until));
    json_field("cert_not_after", until);
    printf(",\"tls_resumed\":%s,\"handshake_us\":%u",
           i->tls_resumed ? "true" : "false", i->handshake_us);
  }
  printf(",\"stats\":{\"requests\":%" PRIu64 ",\"round_trips\":%" PRIu64
         ",\"bytes_sent\":%" PRIu64 ",\"bytes_received\":%" PRIu64
         ",\"breaks\":%" PRIu64 "}}\n",
         st->requests, st->round_trips, st->bytes_sent, st->bytes_received,
         st->breaks);
}

static void print_info_text(const struct smbq_conn_info *i, const char *share,
                            const char *enc, const struct smbq_stats *st) {
  printf("Server:      %s (%s)\nShare:       %s\nTransport:   %s\n",
         i->server, i->peer, share, i->transport);
  if (strcmp(i->transport, "quic") == 0) {
    char until[32];
    utc_date(i->cert_not_after, until, sizeof(until));
    printf("TLS:         %s, %s, ALPN %s%s, handshake %.1f ms\n"
           "Certificate: %s\nIssuer:      %s\nValid until: %s\n"
           "SHA-256:     %s\n",
           i->tls_version, i->tls_cipher, i->alpn,
           i->tls_resumed ? ", resumed" : "", i->handshake_us / 1000.0,
           i->cert_subject, i->cert_issuer, until, i->cert_sha256);
  }
  printf("Dialect:     %s\nSigning:     %s%s\nEncryption:  %s%s\n"
         "Auth:        %s\nMax read:    %u\nMax write:   %u\n",
         i->dialect, i->signing,
         i->signing_required ? " (required by server)" : "", enc,
         i->transport_security ? " (TLS protects the transport)" : "",
         i->auth, i->max_read, i->max_write);
  printf("Round trips: %" PRIu64 " (%" PRIu64 " requests)\n"
         "Sent:        %" PRIu64 " bytes\nReceived:    %" PRIu64 " bytes\n"
         "Breaks:      %" PRIu64 "\n",
         st->round_trips, st->requests, st->bytes_sent, st->bytes_received,
         st->breaks);
}

int cmd_info(struct cli *cli, int argc, char **argv) {
  (void)argc;
  struct cli_share s;
  int rc = cli_open(cli, argv[0], &s);
  if (rc)
    return rc;
  struct smbq_conn_info i;
  struct smbq_stats st;
  int err = smbq_conn_get_info(s.conn, &i);
  if (err == 0)
    err = smbq_conn_get_stats(s.conn, &st);
  if (err < 0) {
    rc = cli_fail(&s, err, "cannot read connection info");
    cli_close(&s);
    return rc;
  }
  const char *enc = smbq_tree_encrypted(s.tree) ? i.cipher : "none";
  if (cli->json)
    print_info_json(&i, s.url.share, enc, &st);
  else
    print_info_text(&i, s.url.share, enc, &st);
  cli_close(&s);
  return 0;
}
