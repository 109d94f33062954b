/* TLS session ticket store: see quic_tickets.h. A short array searched
 * linearly: it holds at most QUIC_TICKETS_MAX entries. */
#include "transport/quic_tickets.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "smbq/smbq_err.h"
#include "smbq_bytes.h"

struct ticket {
  char *key;
  uint8_t *data;
  size_t len;
  struct smbq_tls_info info;
  int64_t stored_ms;
};

struct quic_tickets {
  atomic_int refs;
  pthread_mutex_t lock;
  struct ticket slots[QUIC_TICKETS_MAX];
  size_t n; /* slots[0..n) in use, oldest first */
};

static void ticket_clear(struct ticket *k) {
  if (k->data)
    smbq_wipe(k->data, k->len);
  free(k->data);
  free(k->key);
  memset(k, 0, sizeof(*k));
}

/* Remove slot i, keeping the others in age order. */
static void remove_slot(struct quic_tickets *t, size_t i) {
  ticket_clear(&t->slots[i]);
  memmove(&t->slots[i], &t->slots[i + 1],
          (t->n - i - 1) * sizeof(t->slots[0]));
  t->n--;
  memset(&t->slots[t->n], 0, sizeof(t->slots[0]));
}

struct quic_tickets *quic_tickets_new(void) {
  struct quic_tickets *t = calloc(1, sizeof(*t));
  if (!t)
    return NULL;
  atomic_init(&t->refs, 1);
  pthread_mutex_init(&t->lock, NULL);
  return t;
}

struct quic_tickets *quic_tickets_ref(struct quic_tickets *t) {
  if (t)
    atomic_fetch_add(&t->refs, 1);
  return t;
}

void quic_tickets_unref(struct quic_tickets *t) {
  if (!t || atomic_fetch_sub(&t->refs, 1) != 1)
    return;
  while (t->n)
    remove_slot(t, t->n - 1);
  pthread_mutex_destroy(&t->lock);
  free(t);
}

int quic_tickets_take(struct quic_tickets *t, const char *key,
                      uint8_t **data, size_t *len,
                      struct smbq_tls_info *info, int64_t now_ms) {
  if (!t)
    return 0;
  int found = 0;
  pthread_mutex_lock(&t->lock);
  for (size_t i = t->n; i-- > 0;) {
    struct ticket *k = &t->slots[i];
    if (strcmp(k->key, key) != 0)
      continue;
    if (now_ms - k->stored_ms > QUIC_TICKETS_MAX_AGE_MS) {
      remove_slot(t, i);
      continue;
    }
    *data = k->data;
    *len = k->len;
    *info = k->info;
    k->data = NULL; /* handed over */
    remove_slot(t, i);
    found = 1;
    break;
  }
  pthread_mutex_unlock(&t->lock);
  return found;
}

int quic_tickets_put(struct quic_tickets *t, const char *key,
                     const uint8_t *data, size_t len,
                     const struct smbq_tls_info *info, int64_t now_ms) {
  if (!t)
    return 0;
  struct ticket k = {.key = strdup(key), .data = malloc(len ? len : 1),
                     .len = len, .info = *info, .stored_ms = now_ms};
  if (!k.key || !k.data) {
    ticket_clear(&k);
    return SMBQ_ERR_NOMEM;
  }
  memcpy(k.data, data, len);
  pthread_mutex_lock(&t->lock);
  if (t->n == QUIC_TICKETS_MAX)
    remove_slot(t, 0);
  t->slots[t->n++] = k;
  pthread_mutex_unlock(&t->lock);
  return 0;
}
