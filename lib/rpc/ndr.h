/* NDR 2.0 transfer syntax, little-endian data representation (C706 ch. 14,
 * MS-RPCE 2.2.5): the few primitives the RPC stubs in lib/rpc need.
 *
 * Decoding goes through a cursor over the whole stub (alignment is
 * relative to the stub's first byte, C706 14.2.2), and every read checks
 * the bytes it takes through the one helper ndr_pull_take(): a hostile
 * count or length ends the decode with SMBQ_ERR_PROTO instead of reading
 * past the buffer. Encoders follow the smb2 habit (compute the length,
 * check the room, write with smbq_put_*, assert the length) and only use
 * ndr_pad() and ndr_wstring_size() from here. */
#ifndef SMBQ_NDR_H
#define SMBQ_NDR_H

#include <stddef.h>
#include <stdint.h>

struct ndr_pull {
  const uint8_t *buf;
  size_t len;
  size_t off;
};

static inline void ndr_pull_init(struct ndr_pull *n, const uint8_t *buf,
                                 size_t len) {
  n->buf = buf;
  n->len = buf ? len : 0;
  n->off = 0;
}

/* Padding that brings off to a multiple of align (a power of two). */
static inline size_t ndr_pad(size_t off, size_t align) {
  return (align - (off & (align - 1))) & (align - 1);
}

/* The one bounds check: align the cursor to `align`, then take `count`
 * elements of `size` bytes. Returns a pointer to them and advances, or
 * NULL (cursor unchanged) when they do not fit or count * size overflows. */
const uint8_t *ndr_pull_take(struct ndr_pull *n, size_t align, size_t count,
                             size_t size);

/* An aligned 32-bit integer (also unique-pointer referent ids, array
 * conformance and variance). 0 or SMBQ_ERR_PROTO. */
int ndr_pull_u32(struct ndr_pull *n, uint32_t *v);

/* A conformant varying string of 16-bit characters ([string] wchar_t*,
 * C706 14.3.4.2): MaximumCount, Offset (must be 0), ActualCount
 * (<= MaximumCount), then ActualCount characters. *s points into the
 * buffer at the UTF-16LE text with the terminating NUL stripped (when
 * present), *bytes is its length. 0 or SMBQ_ERR_PROTO. */
int ndr_pull_wstring(struct ndr_pull *n, const uint8_t **s, size_t *bytes);

/* Bytes a [string] wchar_t* referent takes on the wire for a UTF-16LE
 * text of text_len bytes (the NUL is added): the three counts, the
 * characters and the NUL, not padded. */
static inline size_t ndr_wstring_size(size_t text_len) {
  return 12 + text_len + 2;
}

/* Write that referent at p (4-aligned): counts, text, NUL; returns the
 * cursor after the NUL (the caller pads). text_len must be even and at
 * most 2 * (UINT32_MAX - 1). */
uint8_t *ndr_put_wstring(uint8_t *p, const uint8_t *text, size_t text_len);

#endif
