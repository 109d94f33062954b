/* e2e of the public API against the fixture's smbd, run by t_api.sh.
 * Usage: api_test HOST SHARE SHAREDIR  (user, password and transport from
 * the environment, as for the examples: examples/example_opts.h)
 * SHAREDIR is the server-side path, used to check results independently.
 * Prints one line per case and exits non-zero on the first failure. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <smbq/smbq.h>

#include "../../examples/example_opts.h"

static smbq_conn *conn;
static smbq_tree *tree;
static const char *sharedir;

#define CHECK(cond, ...)                                                    \
  do {                                                                      \
    if (!(cond)) {                                                          \
      char m_[512];                                                         \
      fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);      \
      fprintf(stderr, __VA_ARGS__);                                         \
      fprintf(stderr, " [%s]\n", smbq_conn_errmsg(conn, m_, sizeof(m_)));   \
      exit(1);                                                              \
    }                                                                       \
  } while (0)

static void fill(uint8_t *buf, size_t len, unsigned seed) {
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < len; i++) {
    x = x * 1103515245u + 12345u;
    buf[i] = (uint8_t)(x >> 16);
  }
}

static char *server_path(const char *rel) {
  static __thread char p[4096];
  snprintf(p, sizeof(p), "%s/%s", sharedir, rel);
  return p;
}

/* ---- threads sharing one connection ---------------------------------- */

#define THREADS 4
#define TSIZE (6u * 1024 * 1024 + 123)

static void *writer(void *arg) {
  unsigned id = (unsigned)(uintptr_t)arg;
  char name[64];
  snprintf(name, sizeof(name), "thread-%u.bin", id);
  uint8_t *buf = malloc(TSIZE), *back = malloc(TSIZE);
  fill(buf, TSIZE, id);
  smbq_file *f;
  CHECK(smbq_open(tree, name, SMBQ_O_RDWR | SMBQ_O_CREAT | SMBQ_O_TRUNC,
                  &f) == 0, "open %s", name);
  CHECK(smbq_pwrite(f, buf, TSIZE, 0) == (ssize_t)TSIZE, "pwrite");
  for (int i = 0; i < 20; i++) { /* interleave metadata calls */
    struct smbq_stat st;
    CHECK(smbq_fstat(f, &st) == 0 && st.size == TSIZE, "fstat");
  }
  CHECK(smbq_pread(f, back, TSIZE, 0) == (ssize_t)TSIZE, "pread");
  CHECK(memcmp(buf, back, TSIZE) == 0, "thread %u data differs", id);
  CHECK(smbq_close(f) == 0, "close");
  free(buf);
  free(back);
  return NULL;
}

static void case_threads(void) {
  pthread_t t[THREADS];
  for (unsigned i = 0; i < THREADS; i++)
    pthread_create(&t[i], NULL, writer, (void *)(uintptr_t)i);
  for (unsigned i = 0; i < THREADS; i++)
    pthread_join(t[i], NULL);
  /* the server holds exactly what each thread wrote */
  uint8_t *want = malloc(TSIZE), *got = malloc(TSIZE);
  for (unsigned i = 0; i < THREADS; i++) {
    char name[64];
    snprintf(name, sizeof(name), "thread-%u.bin", i);
    FILE *fp = fopen(server_path(name), "rb");
    CHECK(fp && fread(got, 1, TSIZE, fp) == TSIZE, "server copy %s", name);
    fclose(fp);
    fill(want, TSIZE, i);
    CHECK(memcmp(want, got, TSIZE) == 0, "server data of %s", name);
  }
  free(want);
  free(got);
  printf("ok threads: %d threads x %u bytes on one connection\n", THREADS,
         TSIZE);
}

/* ---- async reads ------------------------------------------------------ */

struct waiter {
  pthread_mutex_t m;
  pthread_cond_t cv;
  int pending;
  ssize_t results[8];
};

struct slot {
  struct waiter *w;
  int i;
};

static void on_read(void *arg, ssize_t res) {
  struct slot *s = arg;
  pthread_mutex_lock(&s->w->m);
  s->w->results[s->i] = res;
  s->w->pending--;
  pthread_cond_signal(&s->w->cv);
  pthread_mutex_unlock(&s->w->m);
}

/* ---- each thread reads its own error message --------------------------- */

struct err_case {
  const char *path;
  pthread_barrier_t *go;
  char msg[512];
  int rc;
};

static void *fail_stat(void *arg) {
  struct err_case *e = arg;
  struct smbq_stat st;
  pthread_barrier_wait(e->go);
  for (int i = 0; i < 50; i++) { /* interleave with the other thread */
    e->rc = smbq_stat(tree, e->path, &st);
    smbq_conn_errmsg(conn, e->msg, sizeof(e->msg));
    if (!strstr(e->msg, e->path))
      break;
  }
  return NULL;
}

static void case_thread_errors(void) {
  pthread_barrier_t go;
  pthread_barrier_init(&go, NULL, 2);
  struct err_case a = {.path = "no-such-file-a", .go = &go},
                  b = {.path = "no-such-dir-b/x", .go = &go};
  pthread_t ta, tb;
  pthread_create(&ta, NULL, fail_stat, &a);
  pthread_create(&tb, NULL, fail_stat, &b);
  pthread_join(ta, NULL);
  pthread_join(tb, NULL);
  pthread_barrier_destroy(&go);
  CHECK(a.rc == SMBQ_ERR_NOENT && b.rc == SMBQ_ERR_NOENT, "stat errors");
  CHECK(strstr(a.msg, a.path) && !strstr(a.msg, b.path),
        "thread a reads its own message: %s", a.msg);
  CHECK(strstr(b.msg, b.path) && !strstr(b.msg, a.path),
        "thread b reads its own message: %s", b.msg);
  printf("ok per-thread error messages\n");
}

/* An async write that fails (on a handle opened for reading: the server
 * answers ACCESS_DENIED) is the failure of the thread that started it:
 * its message replaces that thread's older one. */
static void case_async_error_message(void) {
  struct smbq_stat st;
  char msg[512];
  CHECK(smbq_stat(tree, "no-such-file-c", &st) == SMBQ_ERR_NOENT, "stat");
  smbq_file *f;
  CHECK(smbq_open(tree, "thread-1.bin", SMBQ_O_RDONLY, &f) == 0, "open");
  struct waiter w = {.pending = 1};
  pthread_mutex_init(&w.m, NULL);
  pthread_cond_init(&w.cv, NULL);
  struct slot sl = {&w, 0};
  static const uint8_t data[4] = {1, 2, 3, 4};
  CHECK(smbq_pwrite_async(f, data, sizeof(data), 0, on_read, &sl) == 0,
        "submit");
  pthread_mutex_lock(&w.m);
  while (w.pending)
    pthread_cond_wait(&w.cv, &w.m);
  pthread_mutex_unlock(&w.m);
  CHECK(w.results[0] == SMBQ_ERR_ACCESS, "write on a read-only handle: %zd",
        w.results[0]);
  smbq_conn_errmsg(conn, msg, sizeof(msg));
  CHECK(strstr(msg, "writing 'thread-1.bin'") && !strstr(msg, "no-such"),
        "the async failure is the thread's last: %s", msg);
  smbq_close(f);
  pthread_mutex_destroy(&w.m);
  pthread_cond_destroy(&w.cv);
  printf("ok an async failure's message goes to the thread that started it\n");
}

static void case_async(void) {
  smbq_file *f;
  CHECK(smbq_open(tree, "thread-1.bin", SMBQ_O_RDONLY, &f) == 0, "open");
  struct waiter w = {.pending = 8};
  pthread_mutex_init(&w.m, NULL);
  pthread_cond_init(&w.cv, NULL);
  struct slot slots[8];
  uint8_t *bufs[8];
  const size_t chunk = TSIZE / 8 + 1; /* the last one runs past EOF */
  for (int i = 0; i < 8; i++) {
    slots[i] = (struct slot){&w, i};
    bufs[i] = malloc(chunk);
    CHECK(smbq_pread_async(f, bufs[i], chunk, (uint64_t)i * chunk, on_read,
                           &slots[i]) == 0, "submit %d", i);
  }
  pthread_mutex_lock(&w.m);
  while (w.pending)
    pthread_cond_wait(&w.cv, &w.m);
  pthread_mutex_unlock(&w.m);
  uint8_t *want = malloc(TSIZE);
  fill(want, TSIZE, 1);
  for (int i = 0; i < 8; i++) {
    size_t off = (size_t)i * chunk;
    size_t exp = off + chunk <= TSIZE ? chunk : TSIZE - off;
    CHECK(w.results[i] == (ssize_t)exp, "async %d got %zd want %zu", i,
          w.results[i], exp);
    CHECK(memcmp(bufs[i], want + off, exp) == 0, "async data %d", i);
    free(bufs[i]);
  }
  /* reading at EOF returns 0 */
  uint8_t b;
  CHECK(smbq_pread(f, &b, 1, TSIZE) == 0, "read at EOF");
  free(want);
  smbq_close(f);
  printf("ok async: 8 concurrent reads, short read at EOF\n");
}

/* ---- one call of any size: memory bounded by the request window ------ */

#define BIG (200u * 1024 * 1024 + 4321)

static long max_rss_kib(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

static uint8_t *big_buffer(void) {
  void *p = mmap(NULL, BIG + (100u << 20), PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  CHECK(p != MAP_FAILED, "mmap");
  return p;
}

/* A 200 MiB pwrite and a pread asking 100 MiB past the end, each one
 * call: byte-exact, the read stops at the end of file, and the library's
 * own memory (peak RSS beyond the caller's buffers, touched beforehand)
 * stays far below the call's size: requests are built as earlier ones
 * complete. Under ASan freed memory sits in its quarantine, so there the
 * bound is not checked. */
static void case_big_call(void) {
  uint8_t *buf = big_buffer(), *back = big_buffer();
  fill(buf, BIG, 9);
  long before = max_rss_kib();
  smbq_file *f;
  CHECK(smbq_open(tree, "big-call.bin", SMBQ_O_RDWR | SMBQ_O_CREAT |
                  SMBQ_O_TRUNC, &f) == 0, "open");
  CHECK(smbq_pwrite(f, buf, BIG, 0) == (ssize_t)BIG, "pwrite 200 MiB");
  CHECK(smbq_pread(f, back, BIG + (100u << 20), 0) == (ssize_t)BIG,
        "pread past the end");
  long grew_mib = (max_rss_kib() - before) / 1024;
  CHECK(memcmp(buf, back, BIG) == 0, "200 MiB differ");
  CHECK(smbq_close(f) == 0, "close");
  struct stat st;
  CHECK(stat(server_path("big-call.bin"), &st) == 0 && st.st_size == BIG,
        "server size");
#if defined(__SANITIZE_ADDRESS__)
  printf("ok big call: 200 MiB in one pwrite/pread (library memory %ld "
         "MiB; bound not checked under ASan)\n", grew_mib);
#else
  CHECK(grew_mib < 64, "one 200 MiB call grew the RSS by %ld MiB", grew_mib);
  printf("ok big call: 200 MiB in one pwrite/pread, library memory %ld "
         "MiB\n", grew_mib);
#endif
  munmap(buf, BIG + (100u << 20));
  munmap(back, BIG + (100u << 20));
}

/* ---- metadata semantics ---------------------------------------------- */

static void put_small(const char *name, const char *text) {
  smbq_file *f;
  CHECK(smbq_open(tree, name, SMBQ_O_WRONLY | SMBQ_O_CREAT | SMBQ_O_TRUNC,
                  &f) == 0, "create %s", name);
  CHECK(smbq_pwrite(f, text, strlen(text), 0) == (ssize_t)strlen(text), "w");
  CHECK(smbq_close(f) == 0, "close");
}

static void case_metadata(void) {
  put_small("a.txt", "aaaa");
  put_small("b.txt", "bb");
  CHECK(smbq_rename(tree, "a.txt", "b.txt", SMBQ_RENAME_NOREPLACE) ==
            SMBQ_ERR_EXISTS, "rename noreplace over existing");
  CHECK(smbq_rename(tree, "a.txt", "b.txt", 0) == 0, "rename replace");
  struct stat sb;
  CHECK(stat(server_path("b.txt"), &sb) == 0 && sb.st_size == 4,
        "b.txt replaced");
  CHECK(stat(server_path("a.txt"), &sb) != 0, "a.txt gone");

  smbq_file *f;
  CHECK(smbq_open(tree, "b.txt", SMBQ_O_RDWR, &f) == 0, "open");
  CHECK(smbq_ftruncate(f, 1000000) == 0, "grow");
  struct smbq_stat st;
  CHECK(smbq_fstat(f, &st) == 0 && st.size == 1000000, "size after grow");
  CHECK(smbq_ftruncate(f, 3) == 0, "shrink");
  CHECK(smbq_fflush(f) == 0, "flush");
  smbq_close(f);
  CHECK(stat(server_path("b.txt"), &sb) == 0 && sb.st_size == 3, "size 3");

  struct timespec mt = {.tv_sec = 1000000000, .tv_nsec = 0};
  CHECK(smbq_set_times(tree, "b.txt", NULL, &mt) == 0, "set mtime");
  CHECK(stat(server_path("b.txt"), &sb) == 0 &&
            sb.st_mtime == 1000000000, "server mtime %ld", (long)sb.st_mtime);
  CHECK(smbq_stat(tree, "b.txt", &st) == 0 && st.mtime.tv_sec == 1000000000,
        "stat mtime");
  CHECK(smbq_set_attributes(tree, "b.txt", SMBQ_ATTR_READONLY) == 0, "ro");
  CHECK(smbq_stat(tree, "b.txt", &st) == 0 &&
            (st.attributes & SMBQ_ATTR_READONLY), "readonly visible");
  CHECK(smbq_open(tree, "b.txt", SMBQ_O_WRONLY, &f) == SMBQ_ERR_ACCESS,
        "write open of a read-only file");
  CHECK(smbq_set_attributes(tree, "b.txt", 0) == 0, "clear ro");

  /* errors map to the right codes */
  CHECK(smbq_open(tree, "missing", SMBQ_O_RDONLY, &f) == SMBQ_ERR_NOENT,
        "missing");
  CHECK(smbq_mkdir(tree, "d") == 0, "mkdir");
  CHECK(smbq_mkdir(tree, "d") == SMBQ_ERR_EXISTS, "mkdir twice");
  {
    struct smbq_stats s0, s1;
    struct smbq_stat ds;
    CHECK(smbq_conn_get_stats(conn, &s0) == 0, "stats");
    CHECK(smbq_mkdir_stat(tree, "d2", &ds) == 0, "mkdir_stat");
    CHECK(smbq_conn_get_stats(conn, &s1) == 0, "stats");
    CHECK(ds.type == SMBQ_TYPE_DIR && ds.mtime.tv_sec > 0,
          "mkdir_stat attributes");
    CHECK(s1.round_trips == s0.round_trips + 1, "mkdir_stat took %llu",
          (unsigned long long)(s1.round_trips - s0.round_trips));
    CHECK(smbq_mkdir_stat(tree, "d2", &ds) == SMBQ_ERR_EXISTS,
          "mkdir_stat twice");
    CHECK(smbq_rmdir(tree, "d2") == 0, "rmdir d2");
  }
  put_small("d/inner", "x");
  CHECK(smbq_rmdir(tree, "d") == SMBQ_ERR_NOTEMPTY, "rmdir non-empty");
  CHECK(smbq_unlink(tree, "d") == SMBQ_ERR_ISDIR, "unlink a directory");
  smbq_dir *dir;
  CHECK(smbq_opendir(tree, "b.txt", &dir) == SMBQ_ERR_NOTDIR, "opendir file");
  CHECK(smbq_open(tree, "b.txt", SMBQ_O_WRONLY | SMBQ_O_CREAT | SMBQ_O_EXCL,
                  &f) == SMBQ_ERR_EXISTS, "O_EXCL");
  CHECK(smbq_stat(tree, "d", &st) == 0 && st.type == SMBQ_TYPE_DIR, "dir");

  /* delete of an open file: gone once the last handle closes */
  CHECK(smbq_open(tree, "d/inner", SMBQ_O_RDONLY, &f) == 0, "open inner");
  CHECK(smbq_unlink(tree, "d/inner") == 0, "unlink open file");
  smbq_close(f);
  CHECK(stat(server_path("d/inner"), &sb) != 0, "inner gone after close");
  CHECK(smbq_rmdir(tree, "d") == 0, "rmdir now empty");

  struct smbq_statvfs sv;
  CHECK(smbq_statvfs(tree, &sv) == 0 && sv.block_size > 0 &&
            sv.total_blocks > 0 && sv.free_blocks <= sv.total_blocks,
        "statvfs");
  CHECK(smbq_echo(conn) == 0, "echo");
  printf("ok metadata: rename, truncate, times, attributes, errors, "
         "delete-open, statvfs, echo\n");
}

static void case_big_dir(void) {
  smbq_dir *d;
  CHECK(smbq_opendir(tree, "many", &d) == 0, "opendir many");
  struct smbq_dirent e;
  int n = 0, rc;
  while ((rc = smbq_readdir(d, &e)) > 0) {
    CHECK(e.st.type == SMBQ_TYPE_FILE && e.st.size == 3, "entry %s", e.name);
    n++;
  }
  CHECK(rc == 0, "readdir end");
  smbq_closedir(d);
  int want = atoi(getenv("SMBQ_MANY") ? getenv("SMBQ_MANY") : "0");
  CHECK(n == want, "listed %d of %d", n, want);
  printf("ok big dir: %d entries over several QUERY_DIRECTORY rounds\n", n);
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: api_test HOST SHARE SHAREDIR\n");
    return 2;
  }
  sharedir = argv[3];
  smbq_opts *o = example_opts();
  conn = smbq_conn_new(o);
  smbq_opts_free(o);
  CHECK(smbq_conn_connect(conn, argv[1]) == 0, "connect");
  CHECK(smbq_tree_connect(conn, argv[2], &tree) == 0, "tree");
  case_threads();
  case_thread_errors();
  case_async();
  case_async_error_message();
  case_big_call();
  case_metadata();
  case_big_dir();
  smbq_tree_disconnect(tree);
  smbq_conn_free(conn);
  printf("PASS\n");
  return 0;
}
