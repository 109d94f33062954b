/* e2e of leases through the public API against the fixture's smbd, run by
 * t_lease_api.sh over TCP and QUIC.
 * Usage: lease_test HOST SHARE SHAREDIR MODE
 *   MODE lease:  the server grants leases (Samba's default)
 *   MODE oplock: the server was started with "smb2 leases = no": the same
 *                cases through batch oplocks
 * Two connections (A and B, as two clients) on the same share: grants,
 * one key per file, the handle cache, breaks with held-back data written
 * from the callback before the acknowledgement, HANDLE breaks that close
 * kept handles, and leasing turned off. Exits non-zero on the first
 * failure, naming it. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <smbq/smbq.h>

#include "../../examples/example_opts.h"

static smbq_conn *ca, *cb;
static smbq_tree *ta, *tb;
static const char *sharedir;
static int oplock_mode;

#define CHECK(cond, ...)                                                    \
  do {                                                                      \
    if (!(cond)) {                                                          \
      char m_[512];                                                         \
      fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);      \
      fprintf(stderr, __VA_ARGS__);                                         \
      fprintf(stderr, " [A: %s]\n", smbq_conn_errmsg(ca, m_, sizeof(m_)));  \
      exit(1);                                                              \
    }                                                                       \
  } while (0)

/* What A's break callback saw. */
struct seen {
  pthread_mutex_t m;
  int breaks, releases;
  unsigned old_state, new_state;
  char path[256];
  smbq_file *dirty;        /* A's handle with held-back data */
  const char *dirty_text;  /* written from the callback, before the ack */
  int wrote;
};
static struct seen seen = {.m = PTHREAD_MUTEX_INITIALIZER};

static void on_break(void *arg, const struct smbq_lease_break *b) {
  struct seen *s = arg;
  pthread_mutex_lock(&s->m);
  if (b->local) { /* a release of ours (a file closed): nothing to write */
    s->releases++;
    pthread_mutex_unlock(&s->m);
    return;
  }
  s->breaks++;
  s->old_state = b->old_state;
  s->new_state = b->new_state;
  snprintf(s->path, sizeof(s->path), "%s", b->path);
  smbq_file *f = NULL;
  const char *text = s->dirty_text;
  /* only the break of the file that holds the data takes it */
  if (s->dirty && strcmp(b->path, "shared.txt") == 0) {
    f = s->dirty;
    s->dirty = NULL;
  }
  pthread_mutex_unlock(&s->m);
  /* WRITE caching lost: what we held back goes to the server now, with a
   * sync call from the callback, before the library acknowledges */
  if (f && (b->old_state & SMBQ_CACHE_WRITE) &&
      !(b->new_state & SMBQ_CACHE_WRITE)) {
    ssize_t n = smbq_pwrite(f, text, strlen(text), 0);
    pthread_mutex_lock(&s->m);
    s->wrote = n == (ssize_t)strlen(text);
    pthread_mutex_unlock(&s->m);
  }
}

static smbq_conn *connect_one(const char *host, const char *share,
                              smbq_tree **t, int leases, int with_cb) {
  smbq_opts *o = example_opts();
  smbq_opts_set_leases(o, leases);
  if (with_cb)
    smbq_opts_set_lease_break_cb(o, on_break, &seen);
  smbq_conn *c = smbq_conn_new(o);
  smbq_opts_free(o);
  CHECK(c && smbq_conn_connect(c, host) == 0, "connect");
  CHECK(smbq_tree_connect(c, share, t) == 0, "tree connect");
  return c;
}

static void put(smbq_tree *t, const char *name, const char *text) {
  smbq_file *f;
  CHECK(smbq_open(t, name, SMBQ_O_WRONLY | SMBQ_O_CREAT | SMBQ_O_TRUNC,
                  &f) == 0, "create %s", name);
  CHECK(smbq_pwrite(f, text, strlen(text), 0) == (ssize_t)strlen(text),
        "write %s", name);
  CHECK(smbq_close(f) == 0, "close %s", name);
}

static void expect_server(const char *name, const char *text) {
  char p[4096], buf[256] = "";
  snprintf(p, sizeof(p), "%s/%s", sharedir, name);
  FILE *fp = fopen(p, "r");
  CHECK(fp != NULL, "server copy of %s", name);
  size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
  fclose(fp);
  buf[n] = '\0';
  CHECK(strcmp(buf, text) == 0, "server has '%s', expected '%s'", buf, text);
}

static const unsigned RWH =
    SMBQ_CACHE_READ | SMBQ_CACHE_WRITE | SMBQ_CACHE_HANDLE;

/* A sole writer gets everything: a lease (V2 on 3.x) or a batch oplock. */
static void case_grant(void) {
  put(ta, "grant.txt", "one");
  smbq_file *f, *g;
  CHECK(smbq_open(ta, "grant.txt", SMBQ_O_RDWR, &f) == 0, "open");
  struct smbq_file_info i;
  CHECK(smbq_file_get_info(f, &i) == 0, "info");
  CHECK(i.cache == RWH, "granted %#x", i.cache);
  CHECK(i.st.size == 3 && i.st.type == SMBQ_TYPE_FILE,
        "attributes from CREATE: size %llu", (unsigned long long)i.st.size);
  /* MS-SMB2 3.3.5.9.10: with a handle lease or a batch oplock a server
   * grants the durable handle we ask for (v2 on 3.x); the oplock-only
   * server here is one that grants none */
  int want_dh = oplock_mode ? 0 : 2;
  CHECK(i.durable == want_dh && !i.persistent, "durable v%d%s, want v%d",
        i.durable, i.persistent ? ", persistent" : "", want_dh);
  if (oplock_mode) {
    CHECK(i.lease_version == 0 && i.oplock_level == 9, "batch oplock");
  } else {
    CHECK(i.lease_version >= 1 && i.oplock_level == 0xFF, "lease v%d",
          i.lease_version);
    /* a second open of the same file shares the key: no break */
    struct smbq_stats s0, s1;
    CHECK(smbq_conn_get_stats(ca, &s0) == 0, "stats");
    CHECK(smbq_open(ta, "grant.txt", SMBQ_O_RDWR, &g) == 0, "second open");
    CHECK(smbq_conn_get_stats(ca, &s1) == 0, "stats");
    CHECK(s1.breaks == s0.breaks, "own opens broke each other");
    CHECK(smbq_file_get_info(g, &i) == 0 && i.cache == RWH, "second %#x",
          i.cache);
    CHECK(smbq_close(g) == 0, "close second");
  }
  CHECK(smbq_close(f) == 0, "close");
  printf("ok grant: %s, READ|WRITE|HANDLE, durable v%d (%u ms)\n",
         oplock_mode ? "batch oplock" : "lease, one key per file", i.durable,
         (unsigned)i.durable_timeout_ms);
}

/* A closed file stays open a while HANDLE caching is held, so its lease
 * lives on: a reopen is one CREATE (the server resolves the name) that
 * finds the lease still held, and no break. */
static void case_handle_cache(void) {
  smbq_file *f;
  CHECK(smbq_open(ta, "grant.txt", SMBQ_O_RDONLY, &f) == 0, "open");
  CHECK(smbq_close(f) == 0, "close");
  struct smbq_stats s0, s1;
  CHECK(smbq_conn_get_stats(ca, &s0) == 0, "stats");
  CHECK(smbq_open(ta, "grant.txt", SMBQ_O_RDONLY, &f) == 0, "reopen");
  CHECK(smbq_conn_get_stats(ca, &s1) == 0, "stats");
  CHECK(s1.round_trips == s0.round_trips + 1, "reopen took %llu round trips",
        (unsigned long long)(s1.round_trips - s0.round_trips));
  CHECK(s1.breaks == s0.breaks, "the reopen broke our own lease");
  struct smbq_file_info i;
  CHECK(smbq_file_get_info(f, &i) == 0 && (i.cache & SMBQ_CACHE_READ),
        "lease after reopen %#x", i.cache);
  char buf[8] = "";
  CHECK(smbq_pread(f, buf, sizeof(buf), 0) == 3 && !memcmp(buf, "one", 3),
        "read");
  CHECK(smbq_close(f) == 0, "close");
  /* a delete closes the kept handle: the name must go at once */
  CHECK(smbq_unlink(ta, "grant.txt") == 0, "unlink");
  char p[4096];
  struct stat sb;
  snprintf(p, sizeof(p), "%s/grant.txt", sharedir);
  CHECK(stat(p, &sb) != 0, "deleted file still on the server");
  printf("ok handle cache: %s\n",
         oplock_mode ? "nothing kept under an oplock, reopen is one CREATE"
                     : "the lease outlives the close, delete closes it");
}

static void wait_breaks(int n) {
  /* the acknowledgement is sent before B's open returns (the server
   * waits for it), so by now the callback has run */
  pthread_mutex_lock(&seen.m);
  int got = seen.breaks;
  pthread_mutex_unlock(&seen.m);
  CHECK(got >= n, "breaks seen %d, expected %d", got, n);
}

/* B opens what A holds with WRITE caching: the server breaks A's lease,
 * A's callback writes its held-back data, then acknowledges, and only
 * then does B's open complete: B reads A's data. */
static void case_break_dirty(void) {
  put(ta, "shared.txt", "old-data");
  smbq_file *fa, *fb;
  CHECK(smbq_open(ta, "shared.txt", SMBQ_O_RDWR, &fa) == 0, "A open");
  struct smbq_file_info i;
  CHECK(smbq_file_get_info(fa, &i) == 0 && (i.cache & SMBQ_CACHE_WRITE),
        "A holds WRITE caching (%#x)", i.cache);
  pthread_mutex_lock(&seen.m);
  int before = seen.breaks;
  seen.dirty = fa;
  seen.dirty_text = "from-A-!";
  seen.wrote = 0;
  pthread_mutex_unlock(&seen.m);
  CHECK(smbq_open(tb, "shared.txt", SMBQ_O_RDONLY, &fb) == 0, "B open");
  wait_breaks(before + 1);
  pthread_mutex_lock(&seen.m);
  int wrote = seen.wrote;
  unsigned old_s = seen.old_state, new_s = seen.new_state;
  pthread_mutex_unlock(&seen.m);
  CHECK(wrote, "A's callback could not write its data");
  CHECK((old_s & SMBQ_CACHE_WRITE) && !(new_s & SMBQ_CACHE_WRITE),
        "break %#x -> %#x", old_s, new_s);
  CHECK(strcmp(seen.path, "shared.txt") == 0, "break path '%s'", seen.path);
  char buf[16] = "";
  CHECK(smbq_pread(fb, buf, 8, 0) == 8, "B read");
  CHECK(memcmp(buf, "from-A-!", 8) == 0, "B read '%.8s', not A's data",
        buf);
  CHECK(smbq_file_get_info(fa, &i) == 0 && !(i.cache & SMBQ_CACHE_WRITE),
        "A's state after the break %#x", i.cache);
  CHECK(smbq_close(fb) == 0 && smbq_close(fa) == 0, "close");
  printf("ok break: %#x -> %#x, held-back data written before the ack\n",
         old_s, new_s);
}

static void put_server(const char *name, const char *text) {
  char p[4096];
  snprintf(p, sizeof(p), "%s/%s", sharedir, name);
  FILE *fp = fopen(p, "w");
  CHECK(fp && fputs(text, fp) >= 0 && fclose(fp) == 0, "write %s", p);
  CHECK(chmod(p, 0666) == 0, "chmod %s", p); /* the share's user writes */
}

/* A keeps a closed handle (HANDLE caching); B renames the file away and
 * makes a new one under its name. A server that breaks HANDLE caching on
 * rename (MS-FSA; Windows) makes A close the kept handle before
 * acknowledging; one that does not (Samba 4.17) leaves it open. Either way
 * A's next open of the name must be the new file, never the kept one.
 * (With oplocks no handle is kept: an oplock belongs to one open.) */
static void case_rename_behind(void) {
  /* made behind the server's back: A is the sole opener */
  put_server("kept.txt", "old!");
  smbq_file *f;
  CHECK(smbq_open(ta, "kept.txt", SMBQ_O_RDONLY, &f) == 0, "A open");
  struct smbq_file_info i;
  CHECK(smbq_file_get_info(f, &i) == 0 && (i.cache & SMBQ_CACHE_HANDLE),
        "A holds HANDLE caching (%#x)", i.cache);
  CHECK(smbq_close(f) == 0, "A close (kept)");
  pthread_mutex_lock(&seen.m);
  int before = seen.breaks;
  pthread_mutex_unlock(&seen.m);
  CHECK(smbq_rename(tb, "kept.txt", "moved.txt", 0) == 0, "B renames");
  put(tb, "kept.txt", "new!");
  pthread_mutex_lock(&seen.m);
  int broke = seen.breaks > before;
  pthread_mutex_unlock(&seen.m);
  CHECK(smbq_open(ta, "kept.txt", SMBQ_O_RDONLY, &f) == 0, "A reopen");
  char buf[8] = "";
  CHECK(smbq_pread(f, buf, 4, 0) == 4 && !memcmp(buf, "new!", 4),
        "A reads '%.4s' under the name, not the new file", buf);
  CHECK(smbq_close(f) == 0, "close");
  printf("ok rename behind our back: the name is the new file (%s)\n",
         broke ? "HANDLE broken" : "the server broke nothing");
}

/* A holds READ caching; B writes: A's next open reads B's data. */
static void case_write_behind(void) {
  put_server("read.txt", "aaaa");
  smbq_file *f;
  CHECK(smbq_open(ta, "read.txt", SMBQ_O_RDONLY, &f) == 0, "A open");
  CHECK(smbq_close(f) == 0, "A close (kept)");
  CHECK(smbq_open(tb, "read.txt", SMBQ_O_RDWR, &f) == 0, "B write open");
  CHECK(smbq_pwrite(f, "B", 1, 0) == 1, "B write");
  CHECK(smbq_close(f) == 0, "B close");
  expect_server("read.txt", "Baaa");
  CHECK(smbq_open(ta, "read.txt", SMBQ_O_RDONLY, &f) == 0, "A reopen");
  char buf[8] = "";
  CHECK(smbq_pread(f, buf, 4, 0) == 4 && !memcmp(buf, "Baaa", 4),
        "A reads '%.4s', not B's data", buf);
  CHECK(smbq_close(f) == 0, "close");
  printf("ok write behind our back: A reads B's data\n");
}

/* Leasing off: nothing is asked for, nothing cached. */
static void case_off(const char *host, const char *share) {
  smbq_tree *t;
  smbq_conn *c = connect_one(host, share, &t, 0, 0);
  smbq_file *f;
  CHECK(smbq_open(t, "read.txt", SMBQ_O_RDONLY, &f) == 0, "open");
  struct smbq_file_info i;
  CHECK(smbq_file_get_info(f, &i) == 0 && i.cache == 0 &&
            i.oplock_level == 0, "no caching asked, got %#x", i.cache);
  CHECK(smbq_close(f) == 0, "close");
  smbq_tree_disconnect(t);
  smbq_conn_free(c);
  printf("ok leases off: nothing cached\n");
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: lease_test HOST SHARE SHAREDIR lease|oplock\n");
    return 2;
  }
  sharedir = argv[3];
  oplock_mode = strcmp(argv[4], "oplock") == 0;
  ca = connect_one(argv[1], argv[2], &ta, 1, 1);
  cb = connect_one(argv[1], argv[2], &tb, 1, 0);
  case_grant();
  case_handle_cache();
  case_break_dirty();
  case_rename_behind();
  case_write_behind();
  case_off(argv[1], argv[2]);
  smbq_tree_disconnect(tb);
  smbq_conn_free(cb);
  smbq_tree_disconnect(ta);
  smbq_conn_free(ca);
  printf("PASS\n");
  return 0;
}
