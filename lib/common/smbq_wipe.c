#include "smbq_bytes.h"

/* explicit_bzero exists in glibc >= 2.25; a volatile loop would also do, but
 * the libc one is what auditors look for. */
void smbq_wipe(void *p, size_t n) {
  if (p && n)
    explicit_bzero(p, n);
}
