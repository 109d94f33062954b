/* Per-server transport cache file (see transport_cache.h). */
#include "transport/transport_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smbq/smbq_err.h"

#define HEADER "# smbq transport cache: SERVER TCP_PORT QUIC_PORT tcp|quic\n"
/* A stored line is at most name + 2 ports + kind + blanks; longer lines
 * are garbage. */
#define MAX_LINE (SMBQ_TCACHE_MAX_NAME + 32)

/* Printable ASCII without blanks: host names, IPv4/IPv6 literals. */
static bool name_ok(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > SMBQ_TCACHE_MAX_NAME || s[0] == '#')
    return false;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
      return false;
  return true;
}

static int parse_port(const char *s, uint16_t *out) {
  if (!*s || strlen(s) > 5 || strspn(s, "0123456789") != strlen(s))
    return -1;
  unsigned long v = strtoul(s, NULL, 10);
  if (v < 1 || v > 65535)
    return -1;
  *out = (uint16_t)v;
  return 0;
}

static int parse_kind(const char *s, enum smbq_tp_kind *out) {
  if (strcmp(s, "tcp") == 0)
    *out = SMBQ_TP_TCP;
  else if (strcmp(s, "quic") == 0)
    *out = SMBQ_TP_QUIC;
  else
    return -1;
  return 0;
}

static void lower(char *s) {
  for (; *s; s++)
    if (*s >= 'A' && *s <= 'Z')
      *s = (char)(*s - 'A' + 'a');
}

/* One line (without its newline) into e; -1 if it is not exactly
 * "SERVER TCP_PORT QUIC_PORT KIND". */
static int parse_line(const char *p, size_t len, struct smbq_tcache_entry *e) {
  char buf[MAX_LINE + 1];
  if (len > MAX_LINE || memchr(p, '\0', len))
    return -1;
  memcpy(buf, p, len);
  buf[len] = '\0';
  char *tok[5], *save = NULL;
  int n = 0;
  for (char *t = strtok_r(buf, " \t\r", &save); t && n < 5;
       t = strtok_r(NULL, " \t\r", &save))
    tok[n++] = t;
  if (n != 4 || !name_ok(tok[0]) || parse_port(tok[1], &e->port) < 0 ||
      parse_port(tok[2], &e->quic_port) < 0 || parse_kind(tok[3], &e->kind) < 0)
    return -1;
  snprintf(e->server, sizeof(e->server), "%s", tok[0]);
  lower(e->server);
  return 0;
}

static int find(const struct smbq_tcache *c, const char *server,
                uint16_t port, uint16_t quic_port) {
  for (size_t i = 0; i < c->n; i++)
    if (c->e[i].port == port && c->e[i].quic_port == quic_port &&
        strcasecmp(c->e[i].server, server) == 0)
      return (int)i;
  return -1;
}

void smbq_tcache_parse(struct smbq_tcache *c, const char *text, size_t len) {
  c->n = 0;
  const char *p = text, *end = text + len;
  while (p < end && c->n < SMBQ_TCACHE_MAX_ENTRIES) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
    struct smbq_tcache_entry e;
    if (parse_line(p, l, &e) == 0 &&
        find(c, e.server, e.port, e.quic_port) < 0)
      c->e[c->n++] = e;
    if (!nl)
      break;
    p = nl + 1;
  }
}

char *smbq_tcache_format(const struct smbq_tcache *c, size_t *len) {
  size_t cap = sizeof(HEADER) + c->n * (MAX_LINE + 2);
  char *out = malloc(cap);
  if (!out)
    return NULL;
  size_t off = (size_t)snprintf(out, cap, "%s", HEADER);
  for (size_t i = 0; i < c->n; i++) {
    const struct smbq_tcache_entry *e = &c->e[i];
    off += (size_t)snprintf(out + off, cap - off, "%s %u %u %s\n", e->server,
                            e->port, e->quic_port, smbq_tp_kind_name(e->kind));
  }
  *len = off;
  return out;
}

int smbq_tcache_lookup(const struct smbq_tcache *c, const char *server,
                       uint16_t port, uint16_t quic_port) {
  int i = find(c, server, port, quic_port);
  return i < 0 ? -1 : (int)c->e[i].kind;
}

const struct smbq_tcache_entry *smbq_tcache_newest(const struct smbq_tcache *c,
                                                   const char *server,
                                                   uint16_t port) {
  for (size_t i = 0; i < c->n; i++)
    if (c->e[i].port == port && strcasecmp(c->e[i].server, server) == 0)
      return &c->e[i];
  return NULL;
}

int smbq_tcache_remember(struct smbq_tcache *c, const char *server,
                         uint16_t port, uint16_t quic_port,
                         enum smbq_tp_kind kind) {
  if (!name_ok(server) || !port || !quic_port)
    return SMBQ_ERR_INVAL;
  int i = find(c, server, port, quic_port);
  if (i == 0 && c->e[0].kind == kind)
    return 0;
  /* Shift the newer entries down one slot over the old one (or over the
   * oldest when the cache is full), then put this one on top. */
  size_t hole = i >= 0 ? (size_t)i
                       : (c->n < SMBQ_TCACHE_MAX_ENTRIES ? c->n++ : c->n - 1);
  memmove(&c->e[1], &c->e[0], hole * sizeof(c->e[0]));
  struct smbq_tcache_entry *e = &c->e[0];
  snprintf(e->server, sizeof(e->server), "%s", server);
  lower(e->server);
  e->port = port;
  e->quic_port = quic_port;
  e->kind = kind;
  return 1;
}

int smbq_tcache_load(const char *path, struct smbq_tcache *c) {
  c->n = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? 0 : SMBQ_ERR_IO;
  char *buf = malloc(SMBQ_TCACHE_MAX_FILE);
  if (!buf) {
    close(fd);
    return SMBQ_ERR_NOMEM;
  }
  size_t len = 0;
  ssize_t n;
  while (len < SMBQ_TCACHE_MAX_FILE &&
         (n = read(fd, buf + len, SMBQ_TCACHE_MAX_FILE - len)) != 0) {
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      break;
    len += (size_t)n;
  }
  close(fd);
  /* A file cut at the bound ends in a partial line: drop it, lest a
   * truncated name be taken for a real one. */
  if (len == SMBQ_TCACHE_MAX_FILE) {
    char *nl = memrchr(buf, '\n', len);
    len = nl ? (size_t)(nl - buf) : 0;
  }
  smbq_tcache_parse(c, buf, len);
  free(buf);
  return 0;
}

/* mkdir -p for the directories above path (not path itself). */
static int make_parents(const char *path) {
  char dir[PATH_MAX];
  snprintf(dir, sizeof(dir), "%s", path);
  for (char *p = dir + 1; (p = strchr(p, '/')) != NULL; p++) {
    *p = '\0';
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
      return -1;
    *p = '/';
  }
  return 0;
}

static int write_all(int fd, const char *buf, size_t len) {
  while (len) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return -1;
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

int smbq_tcache_save(const char *path, const struct smbq_tcache *c) {
  char tmp[PATH_MAX];
  if (!path[0] || (size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >=
                      sizeof(tmp))
    return SMBQ_ERR_INVAL;
  if (make_parents(path) < 0)
    return SMBQ_ERR_IO;
  size_t len;
  char *text = smbq_tcache_format(c, &len);
  if (!text)
    return SMBQ_ERR_NOMEM;
  int fd = mkostemp(tmp, O_CLOEXEC);
  if (fd < 0) {
    free(text);
    return SMBQ_ERR_IO;
  }
  /* No fsync: after a crash an empty or old file is an acceptable cache. */
  int rc = write_all(fd, text, len);
  free(text);
  if (close(fd) < 0)
    rc = -1;
  if (rc == 0 && rename(tmp, path) == 0)
    return 0;
  unlink(tmp);
  return SMBQ_ERR_IO;
}

int smbq_tcache_default_path(char *out, size_t len) {
  const char *xdg = getenv("XDG_CACHE_HOME");
  const char *home = getenv("HOME");
  int n;
  /* XDG Base Directory: a relative value is invalid and to be ignored. */
  if (xdg && xdg[0] == '/')
    n = snprintf(out, len, "%s/smbq/transports", xdg);
  else if (home && home[0] == '/')
    n = snprintf(out, len, "%s/.cache/smbq/transports", home);
  else
    return SMBQ_ERR_NOENT;
  return n < 0 || (size_t)n >= len ? SMBQ_ERR_INVAL : 0;
}
