#include "nodes.h"

#define FUSE_USE_VERSION 35
#include <errno.h>
#include <fuse_lowlevel.h>
#include <stdlib.h>
#include <string.h>

#define INITIAL_BUCKETS 1024

static size_t hash(const struct node *dir, const char *name, size_t nb) {
  uint64_t h = 1469598103934665603ull ^ (uint64_t)(uintptr_t)dir;
  for (const unsigned char *p = (const unsigned char *)name; *p; p++)
    h = (h ^ *p) * 1099511628211ull;
  return (size_t)(h % nb);
}

int nodes_init(struct nodes *t, const char *prefix) {
  memset(t, 0, sizeof(*t));
  t->prefix = strdup(prefix);
  t->root.name = strdup("");
  t->buckets = calloc(INITIAL_BUCKETS, sizeof(*t->buckets));
  if (!t->prefix || !t->root.name || !t->buckets) {
    nodes_destroy(t);
    return -1;
  }
  t->nbuckets = INITIAL_BUCKETS;
  t->root.refs = 1; /* never freed while mounted */
  t->root.hashed = true;
  t->root.serial = FUSE_ROOT_ID;
  t->next_serial = FUSE_ROOT_ID + 1;
  pthread_mutex_init(&t->mu, NULL);
  return 0;
}

static void free_node(struct nodes *t, struct node *n) {
  if (n->prev_all)
    n->prev_all->next_all = n->next_all;
  else
    t->all = n->next_all;
  if (n->next_all)
    n->next_all->prev_all = n->prev_all;
  dcache_free(n->listing);
  free(n->name);
  free(n);
}

void nodes_destroy(struct nodes *t) {
  while (t->all)
    free_node(t, t->all);
  free(t->buckets);
  free(t->prefix);
  free(t->root.name);
  dcache_free(t->root.listing);
  if (t->nbuckets)
    pthread_mutex_destroy(&t->mu);
  memset(t, 0, sizeof(*t));
}

uint64_t nodes_ino(const struct nodes *t, const struct node *n) {
  return n == &t->root ? FUSE_ROOT_ID : (uint64_t)(uintptr_t)n;
}

struct node *nodes_get(struct nodes *t, uint64_t ino) {
  return ino == FUSE_ROOT_ID ? &t->root : (struct node *)(uintptr_t)ino;
}

uint64_t nodes_parent_serial(struct nodes *t, struct node *n) {
  pthread_mutex_lock(&t->mu);
  uint64_t s = n->parent ? n->parent->serial : n->serial;
  pthread_mutex_unlock(&t->mu);
  return s;
}

/* ---- paths ---------------------------------------------------------- */

static char *put_component(char *end, const char *name) {
  size_t l = strlen(name);
  end -= l;
  memcpy(end, name, l);
  *--end = '/';
  return end;
}

/* "prefix/a/b[/extra]" ("a/b" with an empty prefix). Called locked. */
static char *build_path(struct nodes *t, struct node *n, const char *extra) {
  size_t pl = strlen(t->prefix);
  size_t len = pl + (extra ? strlen(extra) + 1 : 0);
  for (struct node *p = n; p != &t->root; p = p->parent) {
    if (!p->hashed && !p->superseded) {
      errno = ENOENT;
      return NULL;
    }
    len += strlen(p->name) + 1;
  }
  char *buf = malloc(len + 1);
  if (!buf) {
    errno = ENOMEM;
    return NULL;
  }
  char *end = buf + len;
  *end = '\0';
  if (extra)
    end = put_component(end, extra);
  for (struct node *p = n; p != &t->root; p = p->parent)
    end = put_component(end, p->name);
  memcpy(buf, t->prefix, pl);
  if (pl == 0 && len > 0)
    memmove(buf, buf + 1, len); /* no leading '/' */
  return buf;
}

char *nodes_path(struct nodes *t, struct node *n) {
  pthread_mutex_lock(&t->mu);
  char *p = build_path(t, n, NULL);
  pthread_mutex_unlock(&t->mu);
  return p;
}

char *nodes_child_path(struct nodes *t, struct node *dir, const char *name) {
  pthread_mutex_lock(&t->mu);
  char *p = build_path(t, dir, name);
  pthread_mutex_unlock(&t->mu);
  return p;
}

/* ---- the table ------------------------------------------------------ */

static struct node **slot(struct nodes *t, struct node *dir,
                          const char *name) {
  struct node **pp = &t->buckets[hash(dir, name, t->nbuckets)];
  while (*pp && ((*pp)->parent != dir || strcmp((*pp)->name, name) != 0))
    pp = &(*pp)->next;
  return pp;
}

static void unhash(struct nodes *t, struct node *n) {
  if (!n->hashed)
    return;
  struct node **pp = slot(t, n->parent, n->name);
  *pp = n->next;
  n->next = NULL;
  n->hashed = false;
  t->count--;
}

static void rehash_into(struct nodes *t, struct node **nb, size_t nnb) {
  for (size_t i = 0; i < t->nbuckets; i++) {
    struct node *n = t->buckets[i];
    while (n) {
      struct node *next = n->next;
      size_t h = hash(n->parent, n->name, nnb);
      n->next = nb[h];
      nb[h] = n;
      n = next;
    }
  }
  free(t->buckets);
  t->buckets = nb;
  t->nbuckets = nnb;
}

/* Keep chains short: double the buckets when they average two nodes. A
 * failed allocation only makes chains longer. */
static void maybe_grow(struct nodes *t) {
  if (t->count < 2 * t->nbuckets)
    return;
  struct node **nb = calloc(2 * t->nbuckets, sizeof(*nb));
  if (nb)
    rehash_into(t, nb, 2 * t->nbuckets);
}

static void insert(struct nodes *t, struct node *n) {
  size_t h = hash(n->parent, n->name, t->nbuckets);
  n->next = t->buckets[h];
  t->buckets[h] = n;
  n->hashed = true;
  t->count++;
  maybe_grow(t);
}

static struct node *new_node(struct nodes *t, struct node *dir,
                             const char *name) {
  struct node *n = calloc(1, sizeof(*n));
  if (!n || !(n->name = strdup(name))) {
    free(n);
    return NULL;
  }
  n->parent = dir;
  dir->refs++;
  n->next_all = t->all;
  if (t->all)
    t->all->prev_all = n;
  t->all = n;
  n->serial = t->next_serial++;
  insert(t, n);
  return n;
}

struct node *nodes_lookup(struct nodes *t, struct node *dir,
                          const char *name) {
  pthread_mutex_lock(&t->mu);
  struct node *n = *slot(t, dir, name);
  if (!n)
    n = new_node(t, dir, name);
  if (n)
    n->refs++;
  pthread_mutex_unlock(&t->mu);
  return n;
}

struct node *nodes_lookup_renew(struct nodes *t, struct node *dir,
                                const char *name,
                                bool (*stale)(struct node *n, void *arg),
                                void *arg, bool *renewed) {
  pthread_mutex_lock(&t->mu);
  *renewed = false;
  struct node *n = *slot(t, dir, name);
  bool estale = false;
  if (n && n->open == 0 && !n->handles && stale(n, arg)) {
    unhash(t, n);
    n->superseded = true;
    estale = n->cache.estale_sent;
    n = NULL;
    *renewed = true;
  }
  if (!n) {
    n = new_node(t, dir, name);
    if (n) /* an open retried after ESTALE is not refused again */
      n->cache.estale_sent = estale;
  }
  if (n)
    n->refs++;
  pthread_mutex_unlock(&t->mu);
  return n;
}

void nodes_lock(struct nodes *t) { pthread_mutex_lock(&t->mu); }
void nodes_unlock(struct nodes *t) { pthread_mutex_unlock(&t->mu); }

/* path without leading '/': "rest" after the mounted folder, or NULL. */
static const char *strip_prefix(const struct nodes *t, const char *path) {
  while (*path == '/')
    path++;
  const char *pre = t->prefix;
  while (*pre == '/')
    pre++;
  size_t pl = strlen(pre);
  while (pl > 0 && pre[pl - 1] == '/')
    pl--;
  if (pl == 0)
    return path;
  if (strncmp(path, pre, pl) != 0 || (path[pl] != '\0' && path[pl] != '/'))
    return NULL;
  return path + pl;
}

struct node *nodes_find_locked(struct nodes *t, const char *path,
                               uint64_t *parent_ino) {
  const char *rest = strip_prefix(t, path);
  if (!rest)
    return NULL;
  char *copy = strdup(rest);
  if (!copy)
    return NULL;
  struct node *n = &t->root, *parent = NULL;
  char *save = NULL;
  for (char *c = strtok_r(copy, "/", &save); c && n;
       c = strtok_r(NULL, "/", &save)) {
    parent = n;
    n = *slot(t, n, c);
  }
  free(copy);
  if (n && parent_ino)
    *parent_ino = parent ? nodes_ino(t, parent) : 0;
  return n;
}

/* Drop refs; a node nobody refers to goes, and with it its ref on the
 * parent (iteratively: a deep chain must not recurse). */
static void unref(struct nodes *t, struct node *n, uint64_t count) {
  while (n && n != &t->root) {
    n->refs = n->refs > count ? n->refs - count : 0;
    if (n->refs > 0)
      return;
    struct node *parent = n->parent;
    unhash(t, n);
    free_node(t, n);
    n = parent;
    count = 1;
  }
}

void nodes_forget(struct nodes *t, struct node *node, uint64_t n) {
  pthread_mutex_lock(&t->mu);
  unref(t, node, n);
  pthread_mutex_unlock(&t->mu);
}

struct node *nodes_child_locked(struct nodes *t, struct node *dir,
                                const char *name) {
  return *slot(t, dir, name);
}

unsigned nodes_open_count(struct nodes *t, struct node *dir,
                          const char *name) {
  pthread_mutex_lock(&t->mu);
  struct node *n = *slot(t, dir, name);
  unsigned open = n ? n->open : 0;
  pthread_mutex_unlock(&t->mu);
  return open;
}

void nodes_handle_open(struct nodes *t, struct node *n,
                       struct node_handle *h) {
  pthread_mutex_lock(&t->mu);
  h->node = n;
  h->refs = 1;
  h->prev = NULL;
  h->next = n->handles;
  if (n->handles)
    n->handles->prev = h;
  n->handles = h;
  n->open++;
  pthread_mutex_unlock(&t->mu);
}

struct node_handle *nodes_handle_hold_locked(struct node *n) {
  struct node_handle *h = n->handles;
  if (h)
    h->refs++;
  return h;
}

struct node_handle *nodes_handle_hold(struct nodes *t, struct node *n) {
  pthread_mutex_lock(&t->mu);
  struct node_handle *h = nodes_handle_hold_locked(n);
  pthread_mutex_unlock(&t->mu);
  return h;
}

enum node_drop nodes_handle_drop(struct nodes *t, struct node_handle *h) {
  pthread_mutex_lock(&t->mu);
  enum node_drop r = NODE_HANDLE_HELD;
  if (--h->refs == 0) {
    struct node *n = h->node;
    if (h->prev)
      h->prev->next = h->next;
    else
      n->handles = h->next;
    if (h->next)
      h->next->prev = h->prev;
    r = NODE_HANDLE_LAST;
    if (n->open == 1)
      n->cache.closed = true;
    if (--n->open == 0 && n->doomed) {
      n->doomed = false;
      r = NODE_HANDLE_DOOMED;
    }
  }
  pthread_mutex_unlock(&t->mu);
  return r;
}

bool nodes_doom(struct nodes *t, struct node *dir, const char *name) {
  pthread_mutex_lock(&t->mu);
  struct node *n = *slot(t, dir, name);
  bool marked = n && n->open > 0 && !n->doomed;
  if (marked)
    n->doomed = true;
  pthread_mutex_unlock(&t->mu);
  return marked;
}

void nodes_detach(struct nodes *t, struct node *dir, const char *name) {
  pthread_mutex_lock(&t->mu);
  struct node *n = *slot(t, dir, name);
  if (n)
    unhash(t, n);
  pthread_mutex_unlock(&t->mu);
}

int nodes_move(struct nodes *t, struct node *dir, const char *name,
               struct node *newdir, const char *newname) {
  char *copy = strdup(newname);
  if (!copy)
    return -1;
  pthread_mutex_lock(&t->mu);
  struct node *victim = *slot(t, newdir, newname);
  struct node *n = *slot(t, dir, name);
  if (victim && victim != n)
    unhash(t, victim);
  if (n) {
    unhash(t, n);
    free(n->name);
    n->name = copy;
    copy = NULL;
    newdir->refs++;
    struct node *old = n->parent;
    n->parent = newdir;
    insert(t, n);
    unref(t, old, 1);
  }
  pthread_mutex_unlock(&t->mu);
  free(copy);
  return 0;
}
