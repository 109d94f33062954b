/* UTF-8 <-> UTF-16LE (RFC 3629, RFC 2781). iconv would also do, but its
 * behaviour on invalid input depends on the locale and glibc version;
 * these forty lines are strict and locale-free. */
#include "smbq_utf16.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smbq/smbq_err.h"
#include "smbq_bytes.h"

/* Decode one code point; returns bytes consumed or 0 if invalid. */
static size_t utf8_decode(const unsigned char *s, uint32_t *cp) {
  static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
  size_t n;
  uint32_t c = s[0];
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    c &= 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    c &= 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    c &= 0x07;
  } else {
    return 0;
  }
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xC0) != 0x80)
      return 0;
    c = (c << 6) | (s[i] & 0x3F);
  }
  if (c < min_cp[n] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
    return 0;
  *cp = c;
  return n;
}

int smbq_utf8_to_utf16le(const char *in, uint8_t **out, size_t *outlen) {
  size_t n = strlen(in);
  /* at most 2 output bytes per input byte (ASCII); +2 so never malloc(0) */
  if (n > (SIZE_MAX - 2) / 2)
    return SMBQ_ERR_NOMEM;
  uint8_t *buf = malloc(n * 2 + 2);
  if (!buf)
    return SMBQ_ERR_NOMEM;
  uint8_t *p = buf;
  const unsigned char *s = (const unsigned char *)in;
  while (*s) {
    uint32_t cp;
    size_t k = utf8_decode(s, &cp);
    if (!k) {
      free(buf);
      return SMBQ_ERR_INVAL;
    }
    s += k;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      p = smbq_put_le16(p, (uint16_t)(0xD800 | (cp >> 10)));
      p = smbq_put_le16(p, (uint16_t)(0xDC00 | (cp & 0x3FF)));
    } else {
      p = smbq_put_le16(p, (uint16_t)cp);
    }
  }
  *out = buf;
  *outlen = (size_t)(p - buf);
  return 0;
}

static char *utf8_put(char *p, uint32_t cp) {
  if (cp < 0x80) {
    *p++ = (char)cp;
  } else if (cp < 0x800) {
    *p++ = (char)(0xC0 | (cp >> 6));
    *p++ = (char)(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *p++ = (char)(0xE0 | (cp >> 12));
    *p++ = (char)(0x80 | ((cp >> 6) & 0x3F));
    *p++ = (char)(0x80 | (cp & 0x3F));
  } else {
    *p++ = (char)(0xF0 | (cp >> 18));
    *p++ = (char)(0x80 | ((cp >> 12) & 0x3F));
    *p++ = (char)(0x80 | ((cp >> 6) & 0x3F));
    *p++ = (char)(0x80 | (cp & 0x3F));
  }
  return p;
}

int smbq_utf16le_to_utf8(const uint8_t *in, size_t len, char **out) {
  if (len & 1)
    return SMBQ_ERR_PROTO;
  char *buf = malloc(len / 2 * 3 + 1);
  if (!buf)
    return SMBQ_ERR_NOMEM;
  char *p = buf;
  for (size_t i = 0; i < len; i += 2) {
    uint32_t u = smbq_le16_at(in + i);
    if (u >= 0xD800 && u <= 0xDBFF) {
      uint32_t lo = i + 3 < len ? smbq_le16_at(in + i + 2) : 0;
      if (lo < 0xDC00 || lo > 0xDFFF)
        goto bad;
      u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
      i += 2;
    } else if (u >= 0xDC00 && u <= 0xDFFF) {
      goto bad;
    } else if (u == 0) {
      goto bad; /* no NULs inside names */
    }
    p = utf8_put(p, u);
  }
  *p = '\0';
  *out = buf;
  return 0;
bad:
  free(buf);
  return SMBQ_ERR_PROTO;
}
