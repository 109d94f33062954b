/* smbq-mount: what the mount knows of directories. Each directory's last
 * complete listing with our own changes applied since (a struct dcache in
 * its node), which answers lookups without a round trip while it is
 * fresh (the entry timeout), and the directory's own attributes as the
 * server last gave them. Both change under the inode table's lock
 * (nodes_lock), never across a network call.
 *
 * Uses nodes.c and dcache.c; no other fs_*.c file. */
#ifndef SMBQ_MOUNT_FS_LISTING_H
#define SMBQ_MOUNT_FS_LISTING_H

#include <stddef.h>
#include <stdint.h>

#include "dcache.h"
#include "fs.h"

/* CLOCK_MONOTONIC in seconds. */
double fs_clock(void);

enum fs_dir_change {
  FS_DIR_ADD,   /* name exists now, with attributes st (NULL: unknown) */
  FS_DIR_DEL,   /* name is gone */
  FS_DIR_ATTRS, /* name changed: its attributes are st (NULL: unknown) */
  FS_DIR_FORGET, /* we no longer know what dir holds */
};
/* We changed dir/name on the server: keep dir's listing in step. */
void fs_dir_note(struct fs *fs, struct node *dir, const char *name,
                 enum fs_dir_change what, const struct smbq_stat *st);
/* The same for the file of node n (found through its parent). */
void fs_node_note(struct fs *fs, struct node *n, enum fs_dir_change what,
                  const struct smbq_stat *st);
/* A complete listing of dir, started at `at` (fs_clock) when dir_gen was
 * gen: kept for lookups if nothing changed meanwhile (d is taken).
 * leased: the directory's lease held READ caching (smbq_dir_cache): the
 * listing stays fresh until that lease breaks (fs_dir_lease_lost), not
 * just for the entry timeout. */
void fs_dir_listed(struct fs *fs, struct node *dir, struct dcache *d,
                   double at, uint64_t gen, bool leased);
/* dir's lease lost READ caching (locked: nodes_lock held): another
 * client changed it, its listing is dropped. */
void fs_dir_lease_lost_locked(struct node *dir);
uint64_t fs_dir_gen(struct fs *fs, struct node *dir);
/* dir's entries from its listing while that is fresh (no round trip), as
 * dcache_snapshot; NULL: list it on the server. */
struct dcache_ent *fs_dir_snapshot(struct fs *fs, struct node *dir,
                                   size_t *n);
/* What dir's listing says of name: DCACHE_UNKNOWN when there is no fresh
 * listing (the server must be asked). A listing older than the entry
 * timeout is renewed when it answered enough lookups to pay for that,
 * else dropped. */
enum dcache_answer fs_listing_lookup(struct fs *fs, struct node *dir,
                                     const char *name, struct smbq_stat *s);

/* The server's attributes of directory n, fresh now (s of another type:
 * nothing to note). */
void fs_note_dattr(struct fs *fs, struct node *n, const struct smbq_stat *s);
/* A directory's attributes from less than attr_timeout ago: the kernel
 * asks again when the directory changed (a name added or removed), and
 * would have kept them that long otherwise. */
bool fs_cached_dattr(struct fs *fs, struct node *n, struct smbq_stat *s);

#endif
