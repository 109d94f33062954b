/* The inode table of smbq-mount.
 *
 * SMB names files by path, FUSE by inode number. Each name the kernel has
 * looked up gets a node that knows its parent and its own name, so a path
 * is built by walking up to the root and a rename of a directory moves
 * everything below it at once. A node's number for FUSE is its address
 * (the root is FUSE_ROOT_ID), as in libfuse's passthrough_ll: the kernel
 * only sends numbers it holds a lookup on.
 *
 * A node lives while the kernel holds lookups on it or a child node points
 * at it (refs counts both). Nodes are found by (parent, name) in a hash
 * table; unlink, rmdir and replacing renames take a node out of the table
 * ("detached") but keep it until the kernel forgets it, so open files keep
 * working. One mutex guards the table; no network call is made under it.
 */
#ifndef SMBQ_MOUNT_NODES_H
#define SMBQ_MOUNT_NODES_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "dcache.h"

/* What the kernel may cache of a file, kept by fs_file.c, fs_reply.c,
 * fs_handle.c and fs.c under the table's mutex (nodes_lock). */
struct node_cache {
  unsigned held;          /* SMBQ_CACHE_* of the file's lease, as last
                             reported by an open or a break */
  bool pages_valid;       /* the kernel's pages are the server's data for
                             as long as READ caching holds */
  unsigned breaks;        /* breaks and releases seen (an open compares) */
  bool closed;            /* every handle was closed since (the lease may
                             have lapsed) */
  uint64_t valid_size;    /* the server's size and mtime when the pages */
  struct timespec valid_mtime; /* became valid */
  /* With the kernel's writeback cache, the kernel keeps the size and
   * mtime of a cached inode and ignores the server's: what it believes,
   * so a lookup can tell when the server's file changed behind it. */
  bool estale_sent;       /* an open was refused with ESTALE for this */
  bool kattr_known;
  bool kmtime_known;
  uint64_t ksize;
  struct timespec kmtime;
};

struct node {
  struct node *parent;  /* holds a ref on it; NULL for the root */
  struct node *next;    /* hash chain */
  struct node *prev_all, *next_all; /* every node, to free them at exit */
  char *name;           /* one path component ("" for the root) */
  uint64_t serial;      /* st_ino shown to programs: never reused */
  uint64_t refs;        /* kernel lookups + child nodes */
  unsigned open;        /* open file handles */
  struct node_handle *handles;
  bool doomed;          /* deleted on the server while open */
  bool hashed;          /* false once the name is gone on the server */
  bool superseded;      /* out of the table, replaced by a fresh node for
                           the same name (nodes_lookup_renew); its path
                           still resolves for requests in flight */
  struct node_cache cache;
  /* Directories (fs_listing.c, under the table's lock): the names of the
   * last complete listing with our own changes applied since, so lookups
   * need no round trip while it is fresh (NULL: none); and the attributes
   * the server last gave, so a getattr the kernel sends because the directory
   * changed need not go out while they are fresh. */
  struct dcache *listing;
  double listing_at;      /* CLOCK_MONOTONIC seconds: listed (or made) */
  unsigned listing_hits;  /* lookups it answered */
  unsigned listing_misses; /* lookups that came after it expired */
  bool relisting;
  bool listing_leased;    /* made under a directory lease with READ
                             caching and no break since: fresh however
                             old (a break of it drops it) */
  uint64_t dir_gen;       /* bumped by each change we make in it */
  bool dattr_valid;
  double dattr_at;
  struct smbq_stat dattr;
};

struct nodes {
  pthread_mutex_t mu;
  struct node root;
  char *prefix;         /* the mounted folder inside the share, "" = root */
  struct node **buckets;
  struct node *all;     /* every node but the root */
  size_t nbuckets, count;
  uint64_t next_serial;
};

int nodes_init(struct nodes *t, const char *prefix);
/* Frees every node: after unmount the kernel sends no more FORGETs, so
 * nodes may still hold lookups then. */
void nodes_destroy(struct nodes *t);

uint64_t nodes_ino(const struct nodes *t, const struct node *n);
struct node *nodes_get(struct nodes *t, uint64_t ino);

/* st_ino for ".." in n's listing. */
uint64_t nodes_parent_serial(struct nodes *t, struct node *n);

/* Path of n inside the share (malloc'd), or NULL: errno ENOENT when n or
 * a directory above it was removed, ENOMEM. */
char *nodes_path(struct nodes *t, struct node *n);
/* Path of `name` inside directory `dir`. */
char *nodes_child_path(struct nodes *t, struct node *dir, const char *name);

/* The node for dir/name with one more kernel lookup on it (created when
 * new). NULL when out of memory. */
struct node *nodes_lookup(struct nodes *t, struct node *dir,
                          const char *name);
/* As nodes_lookup, but when the existing node has no open handle and
 * stale(node, arg) says the kernel's copy of the file is outdated, that
 * node leaves the table (it lives on until forgotten) and a fresh one
 * with a new number takes the name: the kernel then drops its old inode
 * with the cached pages, size and mtime, and makes a new one from the
 * attributes replied. *renewed says which happened. stale runs locked. */
struct node *nodes_lookup_renew(struct nodes *t, struct node *dir,
                                const char *name,
                                bool (*stale)(struct node *n, void *arg),
                                void *arg, bool *renewed);

/* The node and its parent's number for a share-relative path
 * ('/'-separated, as libsmbq reports it), without creating anything or
 * taking a reference: call locked, and use the node only until
 * nodes_unlock. NULL if the kernel has no node for it (or the path is
 * outside the mounted folder). */
struct node *nodes_find_locked(struct nodes *t, const char *path,
                               uint64_t *parent_ino);
void nodes_lock(struct nodes *t);
void nodes_unlock(struct nodes *t);

/* The kernel dropped n lookups. */
void nodes_forget(struct nodes *t, struct node *node, uint64_t n);

/* The node for dir/name in the table, or NULL; call locked, use only
 * until nodes_unlock. */
struct node *nodes_child_locked(struct nodes *t, struct node *dir,
                                const char *name);

/* Open handles on dir/name (0 if the kernel has no node for it). */
unsigned nodes_open_count(struct nodes *t, struct node *dir,
                          const char *name);

/* An open file of a node, reference-counted so that a stat through it
 * (fstat(2) of a deleted file arrives without the handle) cannot race
 * with its release. Embedded in the frontend's handle. */
struct node_handle {
  struct node_handle *prev, *next;
  struct node *node;
  unsigned refs;
};

/* h was opened on n: one reference, owned by the kernel's open file. */
void nodes_handle_open(struct nodes *t, struct node *n, struct node_handle *h);
/* Some open handle of n with a reference taken, or NULL. */
struct node_handle *nodes_handle_hold(struct nodes *t, struct node *n);
/* The same, called locked. */
struct node_handle *nodes_handle_hold_locked(struct node *n);

enum node_drop {
  NODE_HANDLE_HELD,    /* still referenced */
  NODE_HANDLE_LAST,    /* unreferenced and off its node: close it */
  NODE_HANDLE_DOOMED,  /* ... and the last of a file deleted while open */
};
enum node_drop nodes_handle_drop(struct nodes *t, struct node_handle *h);

/* dir/name was deleted on the server while open: mark it doomed if it is
 * still open. True if it was marked. */
bool nodes_doom(struct nodes *t, struct node *dir, const char *name);

/* dir/name no longer exists on the server. */
void nodes_detach(struct nodes *t, struct node *dir, const char *name);
/* dir/name was renamed to newdir/newname (replacing what was there). */
int nodes_move(struct nodes *t, struct node *dir, const char *name,
               struct node *newdir, const char *newname);

#endif
