/* Path conversion: UTF-8 with '/' or '\' to share-relative UTF-16LE with
 * '\' (MS-SMB2 2.2.13: the name must not begin with a separator). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/core_open.h"
#include "smbq/smbq_err.h"
#include "smbq_utf16.h"

int core_path_utf16(const char *path, uint8_t **out, size_t *outlen) {
  if (!path)
    return SMBQ_ERR_INVAL;
  size_t n = strlen(path);
  char *norm = malloc(n + 1);
  if (!norm)
    return SMBQ_ERR_NOMEM;
  size_t j = 0;
  for (size_t i = 0; i < n; i++) {
    char ch = path[i] == '/' ? '\\' : path[i];
    /* drop leading and repeated separators */
    if (ch == '\\' && (j == 0 || norm[j - 1] == '\\'))
      continue;
    norm[j++] = ch;
  }
  while (j > 0 && norm[j - 1] == '\\')
    j--;
  norm[j] = '\0';
  int rc = smbq_utf8_to_utf16le(norm, out, outlen);
  free(norm);
  return rc;
}

static bool is_sep(char c) { return c == '/' || c == '\\'; }

static char fold(char c) {
  return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

bool core_path_under(const char *path, const char *dir) {
  while (is_sep(*path))
    path++;
  while (is_sep(*dir))
    dir++;
  if (!*dir) /* the root */
    return true;
  while (*dir) {
    if (is_sep(*dir)) {
      while (is_sep(*dir)) /* one or more, or trailing */
        dir++;
      if (!*dir)
        break;
      if (!is_sep(*path))
        return false;
      while (is_sep(*path))
        path++;
      continue;
    }
    if (fold(*path) != fold(*dir))
      return false;
    path++;
    dir++;
  }
  return !*path || is_sep(*path);
}
