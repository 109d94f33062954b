/* Large request buffers kept for reuse (see smb2_req_pool.h). */
#include "smb2/smb2_req_pool.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "smb2/smb2_conn.h"

struct pool_buf {
  struct pool_buf *next; /* stored in the idle buffer itself */
  size_t cap;
};

struct smb2_req_pool {
  pthread_mutex_t lock;
  struct pool_buf *idle;
  size_t n_idle, keep;
  uint64_t fresh, reused;
};

struct smb2_req_pool *smb2_req_pool_new(size_t keep) {
  struct smb2_req_pool *p = calloc(1, sizeof(*p));
  if (!p)
    return NULL;
  pthread_mutex_init(&p->lock, NULL);
  p->keep = keep;
  return p;
}

void smb2_req_pool_free(struct smb2_req_pool *p) {
  if (!p)
    return;
  while (p->idle) {
    struct pool_buf *b = p->idle;
    p->idle = b->next;
    free(b);
  }
  pthread_mutex_destroy(&p->lock);
  free(p);
}

/* An idle buffer of exactly `cap` bytes, or a new one; NULL when out of
 * memory. The first `zero` bytes are zeroed. */
static uint8_t *pool_get(struct smb2_req_pool *p, size_t cap, size_t zero) {
  uint8_t *buf = NULL;
  pthread_mutex_lock(&p->lock);
  for (struct pool_buf **pp = &p->idle; *pp; pp = &(*pp)->next) {
    if ((*pp)->cap != cap)
      continue;
    struct pool_buf *b = *pp;
    *pp = b->next;
    p->n_idle--;
    p->reused++;
    buf = (uint8_t *)b;
    break;
  }
  if (!buf)
    p->fresh++;
  pthread_mutex_unlock(&p->lock);
  if (!buf)
    buf = malloc(cap);
  if (buf)
    memset(buf, 0, zero);
  return buf;
}

void smb2_req_pool_put(struct smb2_req_pool *p, uint8_t *buf, size_t cap) {
  pthread_mutex_lock(&p->lock);
  if (p->n_idle < p->keep) {
    struct pool_buf *b = (struct pool_buf *)(void *)buf;
    b->cap = cap;
    b->next = p->idle;
    p->idle = b;
    p->n_idle++;
    buf = NULL;
  }
  pthread_mutex_unlock(&p->lock);
  free(buf);
}

struct smb2_req *smb2_req_new_from(struct smb2_req_pool *p, uint16_t command,
                                   size_t body_cap) {
  size_t need = SMB2_REQ_SPARE + SMB2_HDR_SIZE + body_cap;
  if (!p || need < SMB2_POOL_MIN)
    return smb2_req_new(command, body_cap);
  size_t cap = (need + SMB2_POOL_STEP - 1) / SMB2_POOL_STEP * SMB2_POOL_STEP;
  struct smb2_req *r = calloc(1, sizeof(*r));
  if (!r)
    return NULL;
  size_t zero = SMB2_REQ_SPARE + SMB2_HDR_SIZE +
                (body_cap < SMB2_POOL_ZEROED ? body_cap : SMB2_POOL_ZEROED);
  r->buf = pool_get(p, cap, zero);
  if (!r->buf) {
    free(r);
    return NULL;
  }
  r->cap = cap;
  r->pool = p;
  r->command = command;
  r->len = SMB2_HDR_SIZE;
  return r;
}

void smb2_req_pool_counts(struct smb2_req_pool *p, uint64_t *fresh,
                          uint64_t *reused) {
  pthread_mutex_lock(&p->lock);
  *fresh = p->fresh;
  *reused = p->reused;
  pthread_mutex_unlock(&p->lock);
}
