/* NDR primitives (C706 ch. 14; MS-RPCE 2.2.5). */
#include "rpc/ndr.h"

#include "smbq/smbq_err.h"
#include "smbq_bytes.h"

const uint8_t *ndr_pull_take(struct ndr_pull *n, size_t align, size_t count,
                             size_t size) {
  size_t pad = ndr_pad(n->off, align);
  if (n->off > n->len || pad > n->len - n->off)
    return NULL;
  size_t at = n->off + pad;
  if (size && count > (SIZE_MAX / size))
    return NULL;
  size_t bytes = count * size;
  if (bytes > n->len - at)
    return NULL;
  n->off = at + bytes;
  return n->buf + at;
}

int ndr_pull_u32(struct ndr_pull *n, uint32_t *v) {
  const uint8_t *p = ndr_pull_take(n, 4, 1, 4);
  if (!p)
    return SMBQ_ERR_PROTO;
  *v = smbq_le32_at(p);
  return 0;
}

int ndr_pull_wstring(struct ndr_pull *n, const uint8_t **s, size_t *bytes) {
  uint32_t max_count, offset, actual;
  if (ndr_pull_u32(n, &max_count) < 0 || ndr_pull_u32(n, &offset) < 0 ||
      ndr_pull_u32(n, &actual) < 0)
    return SMBQ_ERR_PROTO;
  /* C706 14.3.3.4: the varying part lies inside the conformant bound;
   * for [string] the first transmitted element is element 0. */
  if (offset != 0 || actual > max_count)
    return SMBQ_ERR_PROTO;
  const uint8_t *p = ndr_pull_take(n, 2, actual, 2);
  if (!p)
    return SMBQ_ERR_PROTO;
  size_t len = (size_t)actual * 2;
  if (len >= 2 && p[len - 2] == 0 && p[len - 1] == 0)
    len -= 2; /* the terminator is part of ActualCount (14.3.4.2) */
  *s = p;
  *bytes = len;
  return 0;
}

uint8_t *ndr_put_wstring(uint8_t *p, const uint8_t *text, size_t text_len) {
  uint32_t chars = (uint32_t)(text_len / 2 + 1);
  p = smbq_put_le32(p, chars); /* MaximumCount */
  p = smbq_put_le32(p, 0);     /* Offset */
  p = smbq_put_le32(p, chars); /* ActualCount */
  p = smbq_put_bytes(p, text, text_len);
  return smbq_put_le16(p, 0);
}
