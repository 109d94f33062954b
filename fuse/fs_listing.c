/* smbq-mount: what the mount knows of directories (fs_listing.h). */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "fs_listing.h"

double fs_clock(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Locked. */
static void dir_note_locked(struct node *dir, const char *name,
                            enum fs_dir_change what,
                            const struct smbq_stat *st) {
  dir->dir_gen++;
  struct dcache *d = dir->listing;
  if (!d)
    return;
  int rc = 0;
  if (what == FS_DIR_FORGET)
    rc = -1;
  else if (what == FS_DIR_ADD)
    rc = dcache_put(d, name, st);
  else if (what == FS_DIR_DEL)
    dcache_del(d, name);
  else if (st)
    rc = dcache_put(d, name, st);
  else
    dcache_forget_attrs(d, name);
  if (rc < 0) { /* cannot follow: forget the listing */
    dcache_free(d);
    dir->listing = NULL;
    dir->listing_leased = false;
  }
}

void fs_dir_lease_lost_locked(struct node *dir) {
  dcache_free(dir->listing);
  dir->listing = NULL;
  dir->listing_leased = false;
  dir->dir_gen++; /* a listing under way started before the change */
}

/* Locked: the listing answers without a round trip. */
static bool listing_fresh(struct fs *fs, const struct node *dir) {
  return dir->listing &&
         (dir->listing_leased ||
          fs_clock() - dir->listing_at <= fs->cfg->entry_timeout);
}

void fs_dir_note(struct fs *fs, struct node *dir, const char *name,
                 enum fs_dir_change what, const struct smbq_stat *st) {
  nodes_lock(&fs->nodes);
  dir_note_locked(dir, name, what, st);
  nodes_unlock(&fs->nodes);
}

void fs_node_note(struct fs *fs, struct node *n, enum fs_dir_change what,
                  const struct smbq_stat *st) {
  nodes_lock(&fs->nodes);
  if (n->parent && n->hashed)
    dir_note_locked(n->parent, n->name, what, st);
  nodes_unlock(&fs->nodes);
}

uint64_t fs_dir_gen(struct fs *fs, struct node *dir) {
  nodes_lock(&fs->nodes);
  uint64_t g = dir->dir_gen;
  nodes_unlock(&fs->nodes);
  return g;
}

void fs_dir_listed(struct fs *fs, struct node *dir, struct dcache *d,
                   double at, uint64_t gen, bool leased) {
  nodes_lock(&fs->nodes);
  if (dir->dir_gen == gen && (!dir->listing || dir->listing_at <= at)) {
    dcache_free(dir->listing);
    dir->listing = d;
    dir->listing_at = at;
    dir->listing_leased = leased;
    dir->listing_hits = 0;
    dir->listing_misses = 0;
    d = NULL;
  }
  nodes_unlock(&fs->nodes);
  dcache_free(d);
}

/* List dir again (the old listing expired after answering many lookups:
 * one listing costs fewer round trips than the lookups it spares). */
static void relist(struct fs *fs, struct node *dir) {
  double at = fs_clock();
  uint64_t gen = fs_dir_gen(fs, dir);
  char *path = nodes_path(&fs->nodes, dir);
  smbq_dir *sd = NULL;
  struct dcache *d = dcache_new();
  int rc = path && d ? smbq_opendir(fs->tree, path, &sd) : SMBQ_ERR_NOMEM;
  static struct smbq_dirent de; /* 1 KiB name: not on the stack */
  static pthread_mutex_t de_mu = PTHREAD_MUTEX_INITIALIZER;
  pthread_mutex_lock(&de_mu);
  while (rc >= 0 && (rc = smbq_readdir(sd, &de)) == 1)
    if (dcache_put(d, de.name, &de.st) < 0)
      rc = SMBQ_ERR_NOMEM;
  pthread_mutex_unlock(&de_mu);
  bool leased = sd && (smbq_dir_cache(sd) & SMBQ_CACHE_READ);
  if (sd)
    smbq_closedir(sd);
  free(path);
  if (rc == 0)
    fs_dir_listed(fs, dir, d, at, gen, leased);
  else
    dcache_free(d);
  nodes_lock(&fs->nodes);
  dir->relisting = false;
  nodes_unlock(&fs->nodes);
}

enum dcache_answer fs_listing_lookup(struct fs *fs, struct node *dir,
                                     const char *name, struct smbq_stat *s) {
  for (int round = 0;; round++) {
    nodes_lock(&fs->nodes);
    struct dcache *d = dir->listing;
    if (!d) {
      nodes_unlock(&fs->nodes);
      return DCACHE_UNKNOWN;
    }
    if (listing_fresh(fs, dir)) {
      enum dcache_answer a = dcache_find(d, name, s);
      if (a != DCACHE_UNKNOWN)
        dir->listing_hits++;
      nodes_unlock(&fs->nodes);
      return a;
    }
    /* Expired. Listing again costs two round trips (plus one per 400
     * entries): worth it when lookups come in bursts here, as under
     * rm -r or an untar: it answered lookups, or several missed it
     * since it expired (the kernel's own entries from the listing may
     * have answered them meanwhile). Otherwise they go to the server. */
    unsigned cost = 2 + (unsigned)(dcache_count(d) / 400);
    bool worth = round == 0 && (dir->listing_hits >= 2 * cost ||
                                dir->listing_misses >= cost);
    if (dir->relisting || !worth) {
      dir->listing_misses++;
      /* long unused: not worth its memory */
      if (!dir->relisting &&
          fs_clock() - dir->listing_at > 10 * fs->cfg->entry_timeout + 10) {
        dcache_free(d);
        dir->listing = NULL;
      }
      nodes_unlock(&fs->nodes);
      return DCACHE_UNKNOWN;
    }
    dir->relisting = true;
    nodes_unlock(&fs->nodes);
    relist(fs, dir);
  }
}

struct dcache_ent *fs_dir_snapshot(struct fs *fs, struct node *dir,
                                   size_t *n) {
  struct dcache_ent *a = NULL;
  nodes_lock(&fs->nodes);
  if (listing_fresh(fs, dir)) {
    a = dcache_snapshot(dir->listing, n);
    if (a)
      dir->listing_hits++;
  }
  nodes_unlock(&fs->nodes);
  return a;
}

void fs_note_dattr(struct fs *fs, struct node *n, const struct smbq_stat *s) {
  if (s->type != SMBQ_TYPE_DIR)
    return;
  nodes_lock(&fs->nodes);
  n->dattr = *s;
  n->dattr_at = fs_clock();
  n->dattr_valid = true;
  nodes_unlock(&fs->nodes);
}

bool fs_cached_dattr(struct fs *fs, struct node *n, struct smbq_stat *s) {
  nodes_lock(&fs->nodes);
  bool ok = n->dattr_valid &&
            fs_clock() - n->dattr_at <= fs->cfg->attr_timeout;
  if (ok)
    *s = n->dattr;
  nodes_unlock(&fs->nodes);
  return ok;
}
