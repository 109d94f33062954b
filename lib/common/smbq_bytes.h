/* Little/big-endian wire helpers.
 *
 * Every wire integer goes through these: they take and return a cursor and
 * use memcpy-free byte assembly, so unaligned access never happens (pointer
 * casts on wire buffers are undefined behaviour and trip UBSan).
 */
#ifndef SMBQ_BYTES_H
#define SMBQ_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint8_t *smbq_put_u8(uint8_t *p, uint8_t v) {
  *p = v;
  return p + 1;
}

static inline uint8_t *smbq_put_le16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  return p + 2;
}

static inline uint8_t *smbq_put_le32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
  return p + 4;
}

static inline uint8_t *smbq_put_le64(uint8_t *p, uint64_t v) {
  p = smbq_put_le32(p, (uint32_t)v);
  return smbq_put_le32(p, (uint32_t)(v >> 32));
}

static inline uint8_t *smbq_put_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
  return p + 4;
}

static inline uint8_t *smbq_put_bytes(uint8_t *p, const void *src, size_t n) {
  if (n)
    memcpy(p, src, n);
  return p + n;
}

static inline uint8_t *smbq_put_zero(uint8_t *p, size_t n) {
  if (n)
    memset(p, 0, n);
  return p + n;
}

static inline const uint8_t *smbq_get_u8(uint8_t *v, const uint8_t *p) {
  *v = *p;
  return p + 1;
}

static inline const uint8_t *smbq_get_le16(uint16_t *v, const uint8_t *p) {
  *v = (uint16_t)(p[0] | (p[1] << 8));
  return p + 2;
}

static inline const uint8_t *smbq_get_le32(uint32_t *v, const uint8_t *p) {
  *v = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
       ((uint32_t)p[3] << 24);
  return p + 4;
}

static inline const uint8_t *smbq_get_le64(uint64_t *v, const uint8_t *p) {
  uint32_t lo, hi;
  p = smbq_get_le32(&lo, p);
  p = smbq_get_le32(&hi, p);
  *v = ((uint64_t)hi << 32) | lo;
  return p;
}

static inline const uint8_t *smbq_get_be32(uint32_t *v, const uint8_t *p) {
  *v = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
       ((uint32_t)p[2] << 8) | (uint32_t)p[3];
  return p + 4;
}

/* Pure readers for fixed offsets (no cursor). */
static inline uint16_t smbq_le16_at(const uint8_t *p) {
  uint16_t v;
  smbq_get_le16(&v, p);
  return v;
}

static inline uint32_t smbq_le32_at(const uint8_t *p) {
  uint32_t v;
  smbq_get_le32(&v, p);
  return v;
}

static inline uint64_t smbq_le64_at(const uint8_t *p) {
  uint64_t v;
  smbq_get_le64(&v, p);
  return v;
}

/* The one bounds check for server-supplied (offset, length) pairs.
 * Returns 0 when [off, off+len) lies inside a message of msglen bytes and
 * starts at or after min_off (the end of the fixed part); -1 otherwise.
 * Overflow-safe. A zero length is always accepted (the offset is then
 * meaningless and servers are allowed to send 0). */
static inline int smbq_check_range(size_t msglen, size_t min_off, size_t off,
                                   size_t len) {
  if (len == 0)
    return 0;
  if (off < min_off || off > msglen)
    return -1;
  if (len > msglen - off)
    return -1;
  return 0;
}

/* Overwrite a secret so the compiler cannot elide it. */
void smbq_wipe(void *p, size_t n);

#endif
