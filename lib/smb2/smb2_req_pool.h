/* A pool of large request buffers, so that a stream of 1 MiB WRITEs does
 * not allocate and zero 1 MiB per request (calloc of a reused heap block
 * is a memset of all of it).
 *
 * Only buffers of at least SMB2_POOL_MIN bytes are pooled; their sizes
 * are rounded up to a multiple of SMB2_POOL_STEP so that requests of one
 * kind share buffers. A request made from a pool (smb2_req_new_from)
 * remembers it, and smb2_req_free gives its buffer back, from any thread
 * (the pool has its own lock). At most `keep` buffers wait idle; more are
 * freed. Pooled buffers are not zeroed beyond the header and the first
 * SMB2_POOL_ZEROED body bytes: encoders write every byte they send. */
#ifndef SMBQ_SMB2_REQ_POOL_H
#define SMBQ_SMB2_REQ_POOL_H

#include <stddef.h>
#include <stdint.h>

#define SMB2_POOL_MIN (64u * 1024)
#define SMB2_POOL_STEP (64u * 1024)
#define SMB2_POOL_ZEROED 256u

struct smb2_req;
struct smb2_req_pool;

/* Returns NULL when out of memory. */
struct smb2_req_pool *smb2_req_pool_new(size_t keep);
/* Frees the pool and its idle buffers. Every request made from it must
 * have been freed before. NULL is a no-op. */
void smb2_req_pool_free(struct smb2_req_pool *p);

/* As smb2_req_new, with the buffer from p (p may be NULL: plain
 * smb2_req_new). */
struct smb2_req *smb2_req_new_from(struct smb2_req_pool *p, uint16_t command,
                                   size_t body_cap);

/* For smb2_req_free: take back a buffer of `cap` bytes (it was
 * smb2_req_pool_get's). Frees it when the pool is full. */
void smb2_req_pool_put(struct smb2_req_pool *p, uint8_t *buf, size_t cap);

/* Counters for tests: buffers handed out new, and reused. */
void smb2_req_pool_counts(struct smb2_req_pool *p, uint64_t *fresh,
                          uint64_t *reused);

#endif
