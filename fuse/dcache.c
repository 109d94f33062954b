#include "dcache.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct dentry {
  struct dentry *next;
  bool have_st;
  struct smbq_stat st;
  char name[];
};

struct dcache {
  struct dentry **buckets;
  size_t nbuckets, count;
  size_t nonascii; /* entries with non-ASCII names */
};

static bool ascii(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s >= 0x80)
      return false;
  return true;
}

static unsigned char fold(unsigned char c) {
  return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

static size_t hash(const char *name, size_t nb) {
  uint64_t h = 1469598103934665603ull;
  for (const unsigned char *p = (const unsigned char *)name; *p; p++)
    h = (h ^ fold(*p)) * 1099511628211ull;
  return (size_t)(h % nb);
}

static bool same(const char *a, const char *b) {
  for (; *a && *b; a++, b++)
    if (fold((unsigned char)*a) != fold((unsigned char)*b))
      return false;
  return *a == *b;
}

struct dcache *dcache_new(void) {
  struct dcache *d = calloc(1, sizeof(*d));
  if (!d)
    return NULL;
  d->nbuckets = 64;
  d->buckets = calloc(d->nbuckets, sizeof(*d->buckets));
  if (!d->buckets) {
    free(d);
    return NULL;
  }
  return d;
}

void dcache_free(struct dcache *d) {
  if (!d)
    return;
  for (size_t i = 0; i < d->nbuckets; i++) {
    struct dentry *e = d->buckets[i];
    while (e) {
      struct dentry *n = e->next;
      free(e);
      e = n;
    }
  }
  free(d->buckets);
  free(d);
}

static struct dentry **slot(const struct dcache *d, const char *name) {
  struct dentry **pp = &d->buckets[hash(name, d->nbuckets)];
  while (*pp && !same((*pp)->name, name))
    pp = &(*pp)->next;
  return pp;
}

static void grow(struct dcache *d) {
  size_t nnb = d->nbuckets * 2;
  struct dentry **nb = calloc(nnb, sizeof(*nb));
  if (!nb)
    return; /* longer chains only */
  for (size_t i = 0; i < d->nbuckets; i++) {
    struct dentry *e = d->buckets[i];
    while (e) {
      struct dentry *n = e->next;
      size_t h = hash(e->name, nnb);
      e->next = nb[h];
      nb[h] = e;
      e = n;
    }
  }
  free(d->buckets);
  d->buckets = nb;
  d->nbuckets = nnb;
}

int dcache_put(struct dcache *d, const char *name,
               const struct smbq_stat *st) {
  struct dentry **pp = slot(d, name);
  if (*pp) { /* replace: the spelling may have changed */
    struct dentry *old = *pp;
    *pp = old->next;
    d->nonascii -= !ascii(old->name);
    free(old);
    d->count--;
  }
  if (d->count >= DCACHE_MAX)
    return -1;
  size_t len = strlen(name);
  struct dentry *e = malloc(sizeof(*e) + len + 1);
  if (!e)
    return -1;
  memcpy(e->name, name, len + 1);
  e->have_st = st != NULL;
  if (st)
    e->st = *st;
  pp = &d->buckets[hash(name, d->nbuckets)];
  e->next = *pp;
  *pp = e;
  d->count++;
  d->nonascii += !ascii(name);
  if (d->count > 2 * d->nbuckets)
    grow(d);
  return 0;
}

void dcache_del(struct dcache *d, const char *name) {
  struct dentry **pp = slot(d, name);
  if (!*pp)
    return;
  struct dentry *e = *pp;
  *pp = e->next;
  d->nonascii -= !ascii(e->name);
  free(e);
  d->count--;
}

void dcache_forget_attrs(struct dcache *d, const char *name) {
  struct dentry *e = *slot(d, name);
  if (e)
    e->have_st = false;
}

enum dcache_answer dcache_find(const struct dcache *d, const char *name,
                               struct smbq_stat *st) {
  const struct dentry *e = *slot(d, name);
  if (!e) /* a non-ASCII name may match another under Unicode case
             * rules (U+0131 upcases to 'I' on some servers) */
    return ascii(name) && d->nonascii == 0 ? DCACHE_ABSENT : DCACHE_UNKNOWN;
  if (!e->have_st || strcmp(e->name, name) != 0)
    return DCACHE_UNKNOWN;
  *st = e->st;
  return DCACHE_PRESENT;
}

size_t dcache_count(const struct dcache *d) { return d->count; }

struct dcache_ent *dcache_snapshot(const struct dcache *d, size_t *n) {
  size_t names = 0;
  for (size_t i = 0; i < d->nbuckets; i++)
    for (const struct dentry *e = d->buckets[i]; e; e = e->next) {
      if (!e->have_st)
        return NULL;
      names += strlen(e->name) + 1;
    }
  struct dcache_ent *a = malloc(d->count * sizeof(*a) + names + 1);
  if (!a)
    return NULL;
  char *p = (char *)(a + d->count);
  size_t k = 0;
  for (size_t i = 0; i < d->nbuckets; i++)
    for (const struct dentry *e = d->buckets[i]; e; e = e->next) {
      size_t l = strlen(e->name) + 1;
      memcpy(p, e->name, l);
      a[k].name = p;
      a[k].st = e->st;
      p += l;
      k++;
    }
  *n = k;
  return a;
}
