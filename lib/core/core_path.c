/* Path conversion: UTF-8 with '/' or '\' to share-relative UTF-16LE with
 * '\' (MS-SMB2 2.2.13: the name must not begin with a separator). */
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
