/* free_scan: an LD_PRELOAD library for t_secrets.sh that proves secrets
 * are wiped before their memory goes back to the allocator.
 *
 * It interposes free(), realloc() and reallocarray() and, before a block
 * is given back, looks through all of it (malloc_usable_size) for each
 * pattern of FREE_SCAN_HEX ("name=hex,name=hex,...": the password in
 * UTF-8 and UTF-16LE, its NT hash, ...). Each hit is counted; the first
 * FREE_SCAN_MAX_RECORDS are written, with the freeing call stack (module
 * and offset of each frame, for addr2line), to FREE_SCAN_OUT.PID as they
 * happen, so a process that ends by _exit() or a signal still leaves them.
 * A "total NAME COUNT" line per pattern follows at exit.
 *
 * Only the freeing stack is recorded, not the allocating one: the frame
 * that frees a secret without wiping it is the one to fix. A child of
 * fork() starts with its parent's counts, so a hit may be counted twice;
 * none is ever missed that way.
 *
 * glibc's own calls of free() (fclose's buffer, getline, ...) come through
 * here too: glibc supports interposing the allocator and calls it through
 * the PLT. The real functions are glibc's __libc_* entry points, so no
 * dlsym() (which allocates) is needed. Not for sanitizer builds: ASan
 * replaces the allocator itself. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void __libc_free(void *p);
extern void *__libc_realloc(void *p, size_t n);

#define MAX_PATTERNS 16
#define MAX_PATTERN_LEN 256
#define MAX_NAME 32
#define FREE_SCAN_MAX_RECORDS 8
#define MAX_FRAMES 24

/* An interposed free() has no caller to hand state to: it lives here.
 * The patterns are filled once by the constructor, read-only afterwards. */
struct pattern {
  char name[MAX_NAME];
  uint8_t bytes[MAX_PATTERN_LEN];
  size_t len;
};
static struct pattern patterns[MAX_PATTERNS];
static size_t n_patterns;
static char out_path[4096];
static bool active;

static atomic_ulong hits[MAX_PATTERNS];
static atomic_uint records;
/* Set while this thread is inside the hook: backtrace() and dladdr() may
 * free, and those frees are ours, not the program's. */
static __thread bool in_hook;

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* "name=hex" up to `end`; 0, or -1 if malformed. */
static int parse_one(const char *s, const char *end, struct pattern *p) {
  const char *eq = memchr(s, '=', (size_t)(end - s));
  if (!eq || eq == s || (size_t)(eq - s) >= MAX_NAME)
    return -1;
  memcpy(p->name, s, (size_t)(eq - s));
  p->name[eq - s] = '\0';
  size_t hl = (size_t)(end - eq - 1);
  if (hl == 0 || hl % 2 || hl / 2 > MAX_PATTERN_LEN)
    return -1;
  for (size_t i = 0; i < hl / 2; i++) {
    int hi = hexval(eq[1 + 2 * i]), lo = hexval(eq[2 + 2 * i]);
    if (hi < 0 || lo < 0)
      return -1;
    p->bytes[i] = (uint8_t)(hi << 4 | lo);
  }
  p->len = hl / 2;
  return 0;
}

/* Writes without stdio (which allocates) and without a heap. */
static void out(int fd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void out(int fd, const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  if (n > 0 && write(fd, buf, (size_t)n < sizeof(buf) ? (size_t)n
                                                      : sizeof(buf) - 1) < 0)
    return;
}

static int open_out(void) {
  char path[sizeof(out_path) + 16];
  snprintf(path, sizeof(path), "%s.%d", out_path, (int)getpid());
  return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

static void record(const struct pattern *p, const void *block, size_t size,
                   size_t at, const char *how) {
  void *frames[MAX_FRAMES];
  int n = backtrace(frames, MAX_FRAMES);
  int fd = open_out();
  if (fd < 0)
    return;
  out(fd, "hit %s in a %zu-byte block %p at offset %zu, freed by %s:\n",
      p->name, size, block, at, how);
  for (int i = 1; i < n; i++) { /* 0 is record() */
    Dl_info info;
    if (dladdr(frames[i], &info) && info.dli_fname) {
      uintptr_t off = (uintptr_t)frames[i] - (uintptr_t)info.dli_fbase;
      /* a return address: the call is the byte before it */
      out(fd, "  frame %s 0x%lx %s\n", info.dli_fname,
          (unsigned long)(off ? off - 1 : off),
          info.dli_sname ? info.dli_sname : "?");
    } else {
      out(fd, "  frame ? %p ?\n", frames[i]);
    }
  }
  close(fd);
}

static void scan(const void *block, const char *how) {
  if (!active || !block || in_hook)
    return;
  in_hook = true;
  size_t size = malloc_usable_size((void *)block);
  for (size_t i = 0; i < n_patterns; i++) {
    const uint8_t *hit = memmem(block, size, patterns[i].bytes,
                                patterns[i].len);
    if (!hit)
      continue;
    atomic_fetch_add(&hits[i], 1);
    if (atomic_fetch_add(&records, 1) < FREE_SCAN_MAX_RECORDS)
      record(&patterns[i], block, size,
             (size_t)(hit - (const uint8_t *)block), how);
  }
  in_hook = false;
}

void free(void *p) {
  scan(p, "free");
  __libc_free(p);
}

/* realloc gives the old block back only when it moves (or n is 0): scan
 * first, count only then. Shrinking in place hands back a tail that is not
 * looked at. */
void *realloc(void *p, size_t n) {
  if (!p || !active || in_hook)
    return __libc_realloc(p, n);
  size_t size = malloc_usable_size(p);
  bool had[MAX_PATTERNS] = {false};
  bool any = false;
  for (size_t i = 0; i < n_patterns; i++)
    any |= had[i] = memmem(p, size, patterns[i].bytes, patterns[i].len) != 0;
  void *q = __libc_realloc(p, n);
  if (any && (q != p || n == 0) && (q || n == 0)) {
    in_hook = true;
    for (size_t i = 0; i < n_patterns; i++) {
      if (!had[i])
        continue;
      atomic_fetch_add(&hits[i], 1);
      if (atomic_fetch_add(&records, 1) < FREE_SCAN_MAX_RECORDS)
        record(&patterns[i], p, size, 0, "realloc (moved)");
    }
    in_hook = false;
  }
  return q;
}

void *reallocarray(void *p, size_t m, size_t n) {
  size_t total;
  if (__builtin_mul_overflow(m, n, &total)) {
    errno = ENOMEM;
    return NULL;
  }
  return realloc(p, total);
}

__attribute__((constructor)) static void free_scan_init(void) {
  const char *spec = getenv("FREE_SCAN_HEX");
  const char *o = getenv("FREE_SCAN_OUT");
  if (!spec || !o || strlen(o) >= sizeof(out_path))
    return;
  memcpy(out_path, o, strlen(o) + 1);
  for (const char *s = spec; *s && n_patterns < MAX_PATTERNS;) {
    const char *end = strchr(s, ',');
    if (!end)
      end = s + strlen(s);
    if (parse_one(s, end, &patterns[n_patterns]) == 0)
      n_patterns++;
    s = *end ? end + 1 : end;
  }
  /* backtrace() loads libgcc_s on first use, which allocates: do it now,
   * not inside a free() */
  void *f[2];
  in_hook = true;
  backtrace(f, 2);
  in_hook = false;
  active = n_patterns > 0;
}

/* Priority 101: after the program's own destructors, which may free. */
__attribute__((destructor(101))) static void free_scan_fini(void) {
  if (!active)
    return;
  int fd = open_out();
  if (fd < 0)
    return;
  for (size_t i = 0; i < n_patterns; i++)
    out(fd, "total %s %lu\n", patterns[i].name,
        (unsigned long)atomic_load(&hits[i]));
  close(fd);
}
