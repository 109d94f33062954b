/* Helpers shared by the libFuzzer harnesses (tests/fuzz/README.md).
 *
 * Every harness is deterministic (fixed keys, time and "random" bytes,
 * reset for each input) and frees all it allocates: a leak is a finding
 * like a crash. What a decoder hands back (pointers into the input, or
 * copies) is checked to lie inside what it was given and then read, so
 * that AddressSanitizer sees a bad range even where the decoder itself
 * never touched it. */
#ifndef SMBQ_FUZZ_UTIL_H
#define SMBQ_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A decoder broke its contract: a finding, reported like a crash. */
#define FUZZ_FAIL(...)                                                      \
  do {                                                                      \
    fprintf(stderr, "fuzz: " __VA_ARGS__);                                  \
    fputc('\n', stderr);                                                    \
    abort();                                                                \
  } while (0)

/* Read n bytes at p (so that ASan checks them) and fold them into a
 * value the optimizer cannot drop. */
static inline void fuzz_touch(const void *p, size_t n) {
  const uint8_t *b = p;
  uint8_t x = 0;
  for (size_t i = 0; i < n; i++)
    x ^= b[i];
  __asm__ __volatile__("" : : "r"(x) : "memory");
}

/* A returned range (p, n) must be empty or lie inside [base, base+len). */
static inline void fuzz_in(const uint8_t *p, size_t n, const uint8_t *base,
                           size_t len, const char *what) {
  if (n == 0)
    return;
  if (!p || p < base || (size_t)(p - base) > len ||
      n > len - (size_t)(p - base))
    FUZZ_FAIL("%s: %zu bytes outside the input", what, n);
  fuzz_touch(p, n);
}

/* A cursor over the fuzz input, for harnesses that take several values
 * from it (in the manner of LLVM's FuzzedDataProvider). Reads past the end
 * give zeros. */
struct fuzz_in {
  const uint8_t *p;
  size_t n;
};

static inline uint8_t fuzz_u8(struct fuzz_in *in) {
  if (!in->n)
    return 0;
  in->n--;
  return *in->p++;
}

static inline uint16_t fuzz_u16(struct fuzz_in *in) {
  uint16_t lo = fuzz_u8(in);
  return (uint16_t)(lo | (uint16_t)fuzz_u8(in) << 8);
}

static inline uint32_t fuzz_u32(struct fuzz_in *in) {
  uint32_t lo = fuzz_u16(in);
  return lo | (uint32_t)fuzz_u16(in) << 16;
}

/* Up to n bytes (fewer at the end of the input); *got says how many. */
static inline const uint8_t *fuzz_bytes(struct fuzz_in *in, size_t n,
                                        size_t *got) {
  const uint8_t *p = in->p;
  if (n > in->n)
    n = in->n;
  in->p += n;
  in->n -= n;
  *got = n;
  return p;
}

/* A fresh heap copy of (p, n) of exactly n bytes (at least one byte is
 * allocated so that an empty copy is not NULL), so that ASan's redzone
 * follows the last byte of a piece of the input. */
static inline uint8_t *fuzz_dup(const uint8_t *p, size_t n) {
  uint8_t *c = malloc(n ? n : 1);
  if (!c)
    abort();
  if (n)
    memcpy(c, p, n);
  return c;
}

/* Deterministic "random" bytes: a counter, restarted for every input. */
static inline int fuzz_random(void *user, uint8_t *buf, size_t n) {
  uint32_t *ctr = user;
  for (size_t i = 0; i < n; i++)
    buf[i] = (uint8_t)(++*ctr * 0x9Du);
  return 0;
}

#endif
