/* UTF-8 <-> UTF-16LE, strict: invalid UTF-8, overlong forms, surrogate
 * code points in UTF-8 and unpaired surrogates in UTF-16 are rejected.
 * Outputs are malloc'd; the caller frees them. */
#ifndef SMBQ_UTF16_H
#define SMBQ_UTF16_H

#include <stddef.h>
#include <stdint.h>

/* NUL-terminated UTF-8 in; *out gets *outlen bytes of UTF-16LE (no
 * terminator; *out is never NULL on success, even for ""). Returns 0,
 * SMBQ_ERR_INVAL for invalid UTF-8, SMBQ_ERR_NOMEM. */
int smbq_utf8_to_utf16le(const char *in, uint8_t **out, size_t *outlen);

/* len bytes of UTF-16LE in; *out gets a NUL-terminated UTF-8 string.
 * Returns 0, SMBQ_ERR_PROTO for odd length, bad surrogates or an embedded
 * U+0000 (which could not survive as a C string; strip a terminator
 * before calling), SMBQ_ERR_NOMEM. */
int smbq_utf16le_to_utf8(const uint8_t *in, size_t len, char **out);

#endif
