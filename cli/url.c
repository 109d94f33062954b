#include "url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool smbq_is_url(const char *s) {
  return strncmp(s, "//", 2) == 0 || strncmp(s, "\\\\", 2) == 0 ||
         strncmp(s, "smb://", 6) == 0;
}

static int copy_part(char *dst, size_t cap, const char *src, size_t n) {
  if (n >= cap)
    return -1;
  memcpy(dst, src, n);
  dst[n] = '\0';
  return 0;
}

/* Percent-decoding for smb:// URLs (RFC 3986 2.1). */
static int pct_decode(char *s) {
  char *w = s;
  for (char *r = s; *r; r++) {
    if (*r != '%') {
      *w++ = *r;
      continue;
    }
    char hex[3] = {r[1], r[1] ? r[2] : 0, 0};
    char *end;
    long v = strtol(hex, &end, 16);
    if (!hex[0] || !hex[1] || *end || v == 0)
      return -1;
    *w++ = (char)v;
    r += 2;
  }
  *w = '\0';
  return 0;
}

static int parse_authority(const char *a, size_t n, bool smb_url,
                           struct smbq_url *u, char *err, size_t errlen) {
  const char *at = memchr(a, '@', n);
  /* smb://user:password@host (RFC 3986 3.2.1 deprecates it): no Windows
   * account name holds ':', so that is a password, and taking it as part
   * of the user name would send and print it. Refused before any message
   * repeats the location. */
  if (at && smb_url && memchr(a, ':', (size_t)(at - a))) {
    snprintf(err, errlen, "a password in the location (smb://user:password@"
             "host) is not accepted: it shows in the process list and in "
             "logs; give smb://user@host and the password with "
             "--password-file FILE, --credentials FILE or SMBQ_PASSWORD");
    return -1;
  }
  if (at && smb_url) {
    if (copy_part(u->user, sizeof(u->user), a, (size_t)(at - a)) < 0 ||
        pct_decode(u->user) < 0) {
      snprintf(err, errlen, "bad user name in URL");
      return -1;
    }
    n -= (size_t)(at + 1 - a);
    a = at + 1;
  }
  const char *host = a, *hend = a + n, *port = NULL;
  if (n && a[0] == '[') {
    const char *rb = memchr(a, ']', n);
    if (!rb) {
      snprintf(err, errlen, "unterminated '[' in host");
      return -1;
    }
    host = a + 1;
    hend = rb;
    if (rb + 1 < a + n) {
      if (rb[1] != ':' || !smb_url)
        goto bad_port;
      port = rb + 2;
    }
  } else if (smb_url) {
    const char *colon = memchr(a, ':', n);
    if (colon) {
      hend = colon;
      port = colon + 1;
    }
  }
  if (hend == host || copy_part(u->host, sizeof(u->host), host,
                                (size_t)(hend - host)) < 0) {
    snprintf(err, errlen, "missing or too long server name");
    return -1;
  }
  if (port) {
    char pbuf[8];
    char *end;
    if (copy_part(pbuf, sizeof(pbuf), port, (size_t)(a + n - port)) < 0)
      goto bad_port;
    long p = strtol(pbuf, &end, 10);
    if (!pbuf[0] || *end || p < 1 || p > 65535)
      goto bad_port;
    u->port = (uint16_t)p;
  }
  return 0;
bad_port:
  snprintf(err, errlen, "bad port in URL (expected 1-65535)");
  return -1;
}

int smbq_url_parse(const char *s, bool need_share, struct smbq_url *u,
                   char *err, size_t errlen) {
  memset(u, 0, sizeof(*u));
  bool smb_url = strncmp(s, "smb://", 6) == 0;
  if (!smbq_is_url(s)) {
    snprintf(err, errlen, "'%s' is not a share location; use "
             "//host/share/path or smb://host/share/path", s);
    return -1;
  }
  char *buf = strdup(s + (smb_url ? 6 : 2));
  if (!buf) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  for (char *p = buf; *p; p++)
    if (*p == '\\')
      *p = '/';
  char *slash = strchr(buf, '/');
  size_t alen = slash ? (size_t)(slash - buf) : strlen(buf);
  int rc = parse_authority(buf, alen, smb_url, u, err, errlen);
  if (rc == 0 && slash) {
    char *share = slash + 1;
    char *rest = strchr(share, '/');
    size_t slen = rest ? (size_t)(rest - share) : strlen(share);
    if (copy_part(u->share, sizeof(u->share), share, slen) < 0)
      rc = -1;
    if (rc == 0 && rest) {
      while (*rest == '/')
        rest++;
      if (copy_part(u->path, sizeof(u->path), rest, strlen(rest)) < 0)
        rc = -1;
    }
    if (rc == 0 && smb_url && (pct_decode(u->share) < 0 ||
                               pct_decode(u->path) < 0))
      rc = -1;
    if (rc < 0)
      snprintf(err, errlen, "bad or too long share/path in '%s'", s);
  }
  /* strip trailing '/' from the path */
  size_t pl = strlen(u->path);
  while (pl > 0 && u->path[pl - 1] == '/')
    u->path[--pl] = '\0';
  explicit_bzero(buf, strlen(buf)); /* a location may hold secrets */
  free(buf);
  if (rc == 0 && need_share && !u->share[0]) {
    snprintf(err, errlen, "'%s' names no share; use //host/share/path", s);
    rc = -1;
  }
  return rc;
}

const char *smbq_url_basename(const char *path) {
  const char *s = strrchr(path, '/');
  return s ? s + 1 : path;
}
