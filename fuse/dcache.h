/* One directory's names as the server listed them (plus the changes this
 * mount made since), so that lookups in it can be answered without a
 * round trip while the listing is fresh (fs_listing.c decides how long:
 * the entry timeout). Names compare as SMB servers do by default: ASCII
 * letters without regard to case. Not thread-safe: fs_listing.c calls it
 * under the inode table's lock (fs_dir.c fills one of its own unlocked,
 * before handing it over). */
#ifndef SMBQ_MOUNT_DCACHE_H
#define SMBQ_MOUNT_DCACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "smbq/smbq.h"

/* A listing of more names is not kept (its memory, and re-listing it
 * would cost more than the lookups it spares). */
#define DCACHE_MAX 8192

struct dcache;

struct dcache *dcache_new(void);
void dcache_free(struct dcache *d); /* NULL is fine */

/* name exists, with attributes st (NULL: not known). Replaces an entry of
 * the same name (in any case). -1 when out of memory or over DCACHE_MAX
 * (the listing is then unusable: free it). */
int dcache_put(struct dcache *d, const char *name, const struct smbq_stat *st);
/* name no longer exists. */
void dcache_del(struct dcache *d, const char *name);
/* name's attributes are no longer known (it changed). */
void dcache_forget_attrs(struct dcache *d, const char *name);

enum dcache_answer {
  DCACHE_UNKNOWN, /* ask the server */
  DCACHE_ABSENT,  /* no such name */
  DCACHE_PRESENT, /* *st filled */
};
/* What the listing says of name: PRESENT only for a name spelt as listed
 * with known attributes; ABSENT only for an ASCII name that matches no
 * entry in any case, in a listing of ASCII names only (other names may
 * match under the server's Unicode case rules). */
enum dcache_answer dcache_find(const struct dcache *d, const char *name,
                               struct smbq_stat *st);
size_t dcache_count(const struct dcache *d);

/* Every entry, when all have known attributes: an array of *n entries
 * (names inside the same allocation; free() it), or NULL (also when
 * some attributes are unknown, or out of memory). */
struct dcache_ent {
  const char *name;
  struct smbq_stat st;
};
struct dcache_ent *dcache_snapshot(const struct dcache *d, size_t *n);

#endif
