/* Helpers shared by the unit suites. */
#ifndef SMBQ_TESTUTIL_H
#define SMBQ_TESTUTIL_H

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Decode hex (whitespace ignored) into a malloc'd buffer. */
static inline uint8_t *unhex(const char *s, size_t *len) {
  size_t n = strlen(s), k = 0;
  uint8_t *out = malloc(n / 2 + 1);
  int hi = -1;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    int v = (c >= '0' && c <= '9')   ? c - '0'
            : (c >= 'a' && c <= 'f') ? c - 'a' + 10
            : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                     : -1;
    if (v < 0)
      continue;
    if (hi < 0) {
      hi = v;
    } else {
      out[k++] = (uint8_t)(hi << 4 | v);
      hi = -1;
    }
  }
  *len = k;
  return out;
}

#define ck_assert_mem_hex(got, hexstr)                                       \
  do {                                                                       \
    size_t want_len_;                                                        \
    uint8_t *want_ = unhex(hexstr, &want_len_);                              \
    ck_assert_mem_eq(got, want_, want_len_);                                 \
    free(want_);                                                             \
  } while (0)

static inline int run_suite(Suite *s) {
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}

#endif
