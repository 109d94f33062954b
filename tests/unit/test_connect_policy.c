/* Unit tests of the connect policy: the TCP/QUIC race decisions, driven by
 * fake transports and synthetic time (no sockets, no clock), and the
 * per-server transport cache file (parsing garbage, the bound, atomic
 * rewrite, the default path). */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smbq/smbq_err.h"
#include "transport/connect_race.h"
#include "transport/transport_cache.h"

#define MS 1000000LL /* ns */

/* ---- fake transports -------------------------------------------------- */

/* What one kind of attempt will do, and what happened to it. */
struct script {
  int open_rc;          /* <0: open fails at once */
  int64_t connect_at;   /* ms after open; -1 never */
  int64_t fail_at;      /* ms after open; -1 never */
  int fail_rc;
  const char *fail_msg;
  /* observed */
  int opened;
  int64_t opened_ms;
  int freed;
};

struct fake_env {
  struct script s[2]; /* by kind */
  int64_t now_ms;     /* the synthetic clock the opener sees */
};

struct fake_tp {
  struct smbq_transport base;
  struct script *s;
  int64_t t0;
};

static int fake_step(struct smbq_transport *t, int64_t now_ms) {
  struct fake_tp *f = (struct fake_tp *)t;
  int64_t el = now_ms - f->t0;
  if (f->s->fail_at >= 0 && el >= f->s->fail_at) {
    snprintf(t->errmsg, sizeof(t->errmsg), "%s", f->s->fail_msg);
    return f->s->fail_rc;
  }
  return f->s->connect_at >= 0 && el >= f->s->connect_at ? 1 : 0;
}

static int fake_fd(const struct smbq_transport *t) {
  (void)t;
  return -1;
}

static uint32_t fake_events(const struct smbq_transport *t) {
  (void)t;
  return SMBQ_TP_WANT_READ;
}

static int64_t fake_deadline(const struct smbq_transport *t) {
  const struct fake_tp *f = (const struct fake_tp *)t;
  int64_t d = -1;
  if (f->s->connect_at >= 0)
    d = f->t0 + f->s->connect_at;
  if (f->s->fail_at >= 0 && (d < 0 || f->t0 + f->s->fail_at < d))
    d = f->t0 + f->s->fail_at;
  return d < 0 ? -1 : d * MS;
}

static void fake_destroy(struct smbq_transport *t) {
  struct fake_tp *f = (struct fake_tp *)t;
  f->s->freed++;
  free(f);
}

static const struct smbq_transport_ops fake_ops = {
    .name = "fake",
    .step = fake_step,
    .fd = fake_fd,
    .events = fake_events,
    .deadline = fake_deadline,
    .destroy = fake_destroy,
};

static int fake_open(void *user, enum smbq_tp_kind kind,
                     struct smbq_transport **out, char *err, size_t errlen) {
  struct fake_env *env = user;
  struct script *s = &env->s[kind];
  s->opened++;
  s->opened_ms = env->now_ms;
  if (s->open_rc < 0) {
    snprintf(err, errlen, "%s open failed", smbq_tp_kind_name(kind));
    return s->open_rc;
  }
  struct fake_tp *f = calloc(1, sizeof(*f));
  ck_assert_ptr_nonnull(f);
  f->base.ops = &fake_ops;
  f->s = s;
  f->t0 = env->now_ms;
  *out = &f->base;
  return 0;
}

static const struct script hang = {.connect_at = -1, .fail_at = -1};

static void env_init(struct fake_env *env) {
  memset(env, 0, sizeof(*env));
  env->s[SMBQ_TP_TCP] = hang;
  env->s[SMBQ_TP_QUIC] = hang;
}

static void race_start(struct smbq_race *r, struct fake_env *env,
                       enum smbq_tp_kind first, bool race) {
  struct smbq_race_cfg cfg = {.open = fake_open,
                              .user = env,
                              .first = first,
                              .race = race,
                              .head_start_ns =
                                  SMBQ_RACE_HEAD_START_MS * MS};
  smbq_race_init(r, &cfg, 0);
}

/* Step the race at each millisecond up to limit_ms; returns the step's
 * result and leaves env->now_ms at the time it ended. */
static int race_until(struct smbq_race *r, struct fake_env *env,
                      int64_t limit_ms) {
  for (; env->now_ms <= limit_ms; env->now_ms++) {
    int rc = smbq_race_step(r, env->now_ms * MS);
    if (rc != 0)
      return rc;
  }
  env->now_ms = limit_ms;
  return 0;
}

START_TEST(race_tcp_wins_quic_never_started) {
  struct fake_env env;
  env_init(&env);
  env.s[SMBQ_TP_TCP].connect_at = 100;
  struct smbq_race r;
  race_start(&r, &env, SMBQ_TP_TCP, true);
  ck_assert_int_eq(race_until(&r, &env, 1000), 1);
  ck_assert_int_eq(env.now_ms, 100);
  ck_assert_int_eq(env.s[SMBQ_TP_QUIC].opened, 0);
  struct smbq_transport *tp = smbq_race_take(&r);
  ck_assert_ptr_nonnull(tp);
  ck_assert_ptr_null(smbq_race_take(&r));
  smbq_race_clear(&r);
  ck_assert_int_eq(env.s[SMBQ_TP_TCP].freed, 0);
  smbq_transport_free(tp);
  ck_assert_int_eq(env.s[SMBQ_TP_TCP].freed, 1);
}
END_TEST

START_TEST(race_head_start_then_quic_wins) {
  struct fake_env env;
  env_init(&env);
  env.s[SMBQ_TP_QUIC].connect_at = 5;
  struct smbq_race r;
  race_start(&r, &env, SMBQ_TP_TCP, true);
  ck_assert_int_eq(smbq_race_step(&r, 0), 0);
  /* Alone until the head start is over: the timer says when. */
  ck_assert_int_eq(smbq_race_deadline(&r, 0), SMBQ_RACE_HEAD_START_MS * MS);
  ck_assert_int_eq(race_until(&r, &env, 1000), 1);
  ck_assert_int_eq(env.s[SMBQ_TP_QUIC].opened_ms, SMBQ_RACE_HEAD_START_MS);
  ck_assert_int_eq(env.now_ms, SMBQ_RACE_HEAD_START_MS + 5);
  /* the TCP attempt lost and is freed on the spot */
  ck_assert_int_eq(env.s[SMBQ_TP_TCP].freed, 1);
  struct smbq_transport *tp = smbq_race_take(&r);
  ck_assert_ptr_nonnull(tp);
  smbq_transport_free(tp);
  ck_assert_int_eq(env.s[SMBQ_TP_QUIC].freed, 1);
}
END_TEST

START_TEST(race_refused_starts_other_at_once) {
  struct fake_env env;
  env_init(&env);
  env.s[SMBQ_TP_TCP].fail_at = 3;
  env.s[SMBQ_TP_TCP].fail_rc = SMBQ_ERR_NET;
  env.s[SMBQ_TP_TCP].fail_msg = "TCP refused";
  env.s[SMBQ_TP_QUIC].connect_at = 2;
  struct smbq_race r;
  race_start(&r, &env, SMBQ_TP_TCP, true);
  ck_assert_int_eq(race_until(&r, &env, 1000), 1);
  ck_assert_int_eq(env.s[SMBQ_TP_QUIC].opened_ms, 3);
  ck_assert_int_eq(env.now_ms, 5);
  smbq_transport_free(smbq_race_take(&r));
}
END_TEST

START_TEST(race_open_failure_starts_other_at_once) {
  struct fake_env env;
  env_init(&env);
  env.s[SMBQ_TP_TCP].open_rc = SMBQ_ERR_NET;
  env.s[SMBQ_TP_QUIC].connect_at = 0;
  struct smbq_race r;
  race_start(&r, &env, SMBQ_TP_TCP, true);
  /* one step: TCP cannot start, QUIC starts and connects */
  ck_assert_int_eq(smbq_race_step(&r, 0), 1);
  ck_assert_int_eq(env.s[SMBQ_TP_QUIC].opened, 1);
  smbq_transport_free(smbq_race_take(&r));
  ck_assert_int_eq(env.s[SMBQ_TP_QUIC].freed, 1);
}
END_TEST

START_TEST(race_both_fail_cert_error_wins) {
  struct fake_env env;
  env_init(&env);
  env.s[SMBQ_TP_TCP].fail_at = 2000;
  env.s[SMBQ_TP_TCP].fail_rc = SMBQ_ERR_TIMEOUT;
  env.s[SMBQ_TP_TCP].fail_msg = "TCP timed out";
  env.s[SMBQ_TP_QUIC].fail_at = 10;
  env.s[SMBQ_TP_QUIC].fail_rc = SMBQ_ERR_CERT;
  env.s[SMBQ_TP_QUIC].fail_msg = "certificate expired";
  struct smbq_race r;
  race_start(&r, &env, SMBQ_TP_TCP, true);
  int rc = race_until(&r, &env, 5000);
  ck_assert_int_eq(rc, SMBQ_ERR_CERT);
  ck_assert_int_eq(env.now_ms, 2000); /* QUIC's failure did not end it */
  ck_assert_str_eq(r.errmsg,
                   "TCP timed out; then over QUIC: certificate expired");
  ck_assert_int_eq(env.s[SMBQ_TP_TCP].freed, 1);
  ck_assert_int_eq(env.s[SMBQ_TP_QUIC].freed, 1);
  ck_assert_ptr_null(smbq_race_take(&r));
}
END_TEST

START_TEST(race_both_unreachable_keeps_first_error) {
  struct fake_env env;
  env_init(&env);
  env.s[SMBQ_TP_TCP].fail_at = 1;
  env.s[SMBQ_TP_TCP].fail_rc = SMBQ_ERR_NET;
  env.s[SMBQ_TP_TCP].fail_msg = "TCP refused";
  env.s[SMBQ_TP_QUIC].fail_at = 100;
  env.s[SMBQ_TP_QUIC].fail_rc = SMBQ_ERR_TIMEOUT;
  env.s[SMBQ_TP_QUIC].fail_msg = "no QUIC answer";
  struct smbq_race r;
  race_start(&r, &env, SMBQ_TP_TCP, true);
  ck_assert_int_eq(race_until(&r, &env, 5000), SMBQ_ERR_NET);
  ck_assert_str_eq(r.errmsg, "TCP refused; then over QUIC: no QUIC answer");
}
END_TEST

START_TEST(race_quic_first_from_cache) {
  struct fake_env env;
  env_init(&env);
  env.s[SMBQ_TP_TCP].connect_at = 1;
  struct smbq_race r;
  race_start(&r, &env, SMBQ_TP_QUIC, true);
  ck_assert_int_eq(race_until(&r, &env, 1000), 1);
  ck_assert_int_eq(env.s[SMBQ_TP_QUIC].opened_ms, 0);
  ck_assert_int_eq(env.s[SMBQ_TP_TCP].opened_ms, SMBQ_RACE_HEAD_START_MS);
  ck_assert_int_eq(env.s[SMBQ_TP_QUIC].freed, 1);
  struct smbq_transport *tp = smbq_race_take(&r);
  smbq_transport_free(tp);
  ck_assert_int_eq(env.s[SMBQ_TP_TCP].freed, 1);
}
END_TEST

START_TEST(race_quic_first_fails_message_order) {
  struct fake_env env;
  env_init(&env);
  env.s[SMBQ_TP_QUIC].fail_at = 1;
  env.s[SMBQ_TP_QUIC].fail_rc = SMBQ_ERR_TIMEOUT;
  env.s[SMBQ_TP_QUIC].fail_msg = "no QUIC answer";
  env.s[SMBQ_TP_TCP].fail_at = 1;
  env.s[SMBQ_TP_TCP].fail_rc = SMBQ_ERR_NET;
  env.s[SMBQ_TP_TCP].fail_msg = "TCP refused";
  struct smbq_race r;
  race_start(&r, &env, SMBQ_TP_QUIC, true);
  ck_assert_int_eq(race_until(&r, &env, 1000), SMBQ_ERR_TIMEOUT);
  ck_assert_int_eq(env.s[SMBQ_TP_TCP].opened_ms, 1);
  ck_assert_str_eq(r.errmsg, "no QUIC answer; then over TCP: TCP refused");
}
END_TEST

START_TEST(race_single_transport_never_touches_other) {
  struct fake_env env;
  env_init(&env);
  env.s[SMBQ_TP_TCP].fail_at = 700;
  env.s[SMBQ_TP_TCP].fail_rc = SMBQ_ERR_TIMEOUT;
  env.s[SMBQ_TP_TCP].fail_msg = "TCP timed out";
  env.s[SMBQ_TP_QUIC].connect_at = 0;
  struct smbq_race r;
  race_start(&r, &env, SMBQ_TP_TCP, false);
  ck_assert_int_eq(smbq_race_step(&r, 0), 0);
  /* no head-start timer without a second transport */
  ck_assert_int_eq(smbq_race_deadline(&r, 0), 700 * MS);
  ck_assert_int_eq(race_until(&r, &env, 5000), SMBQ_ERR_TIMEOUT);
  ck_assert_int_eq(env.s[SMBQ_TP_QUIC].opened, 0);
  ck_assert_str_eq(r.errmsg, "TCP timed out");
}
END_TEST

START_TEST(race_nomem_ends_at_once) {
  struct fake_env env;
  env_init(&env);
  env.s[SMBQ_TP_TCP].open_rc = SMBQ_ERR_NOMEM;
  env.s[SMBQ_TP_QUIC].connect_at = 0;
  struct smbq_race r;
  race_start(&r, &env, SMBQ_TP_TCP, true);
  ck_assert_int_eq(smbq_race_step(&r, 0), SMBQ_ERR_NOMEM);
  ck_assert_int_eq(env.s[SMBQ_TP_QUIC].opened, 0);
}
END_TEST

START_TEST(race_clear_frees_running_attempts) {
  struct fake_env env;
  env_init(&env);
  struct smbq_race r;
  race_start(&r, &env, SMBQ_TP_TCP, true);
  ck_assert_int_eq(race_until(&r, &env, 300), 0);
  ck_assert_int_eq(env.s[SMBQ_TP_QUIC].opened, 1);
  struct pollfd pfd[2];
  ck_assert_uint_eq(smbq_race_pollfds(&r, pfd), 2);
  ck_assert_int_eq(pfd[0].events, POLLIN);
  smbq_race_clear(&r);
  smbq_race_clear(&r);
  ck_assert_int_eq(env.s[SMBQ_TP_TCP].freed, 1);
  ck_assert_int_eq(env.s[SMBQ_TP_QUIC].freed, 1);
  ck_assert_uint_eq(smbq_race_pollfds(&r, pfd), 0);
  ck_assert_int_eq(smbq_race_deadline(&r, 0), -1);
}
END_TEST

/* ---- transport cache -------------------------------------------------- */

static struct smbq_tcache *tc_new(void) {
  struct smbq_tcache *c = calloc(1, sizeof(*c));
  ck_assert_ptr_nonnull(c);
  return c;
}

START_TEST(cache_parse_skips_garbage) {
  static const char text[] =
      "# comment\n"
      "\n"
      "FSEdge1.Contoso.com 445 443 quic\n"
      "too few 445\n"
      "a 445 443 quic extra\n"
      "b 0 443 tcp\n"
      "c 445 70000 tcp\n"
      "d 44x5 443 tcp\n"
      "e 445 443 udp\n"
      "f\x01x 445 443 tcp\n"
      "g\xc3\xa9 445 443 tcp\n"
      "fsedge1.contoso.com 445 443 tcp\n" /* duplicate: first wins */
      "fs2\t4450 443 tcp\r\n"
      "ipv6::1 445 443 quic"; /* no final newline */
  struct smbq_tcache *c = tc_new();
  smbq_tcache_parse(c, text, sizeof(text) - 1);
  ck_assert_uint_eq(c->n, 3);
  ck_assert_str_eq(c->e[0].server, "fsedge1.contoso.com");
  ck_assert_int_eq(c->e[0].kind, SMBQ_TP_QUIC);
  ck_assert_str_eq(c->e[1].server, "fs2");
  ck_assert_int_eq(c->e[1].port, 4450);
  ck_assert_str_eq(c->e[2].server, "ipv6::1");
  ck_assert_int_eq(smbq_tcache_lookup(c, "FSEDGE1.contoso.COM", 445, 443),
                   SMBQ_TP_QUIC);
  ck_assert_int_eq(smbq_tcache_lookup(c, "fsedge1.contoso.com", 445, 444),
                   -1);
  ck_assert_int_eq(smbq_tcache_lookup(c, "fs2", 4450, 443), SMBQ_TP_TCP);
  free(c);
}
END_TEST

START_TEST(cache_parse_binary_and_long_lines) {
  char text[4096];
  memset(text, 'x', sizeof(text));
  memcpy(text + 1000, "\nok 1 2 tcp\n", 12);
  memcpy(text + 2000, "\nn\0ul 1 2 tcp\n", 14);
  struct smbq_tcache *c = tc_new();
  smbq_tcache_parse(c, text, sizeof(text));
  ck_assert_uint_eq(c->n, 1);
  ck_assert_str_eq(c->e[0].server, "ok");
  free(c);
}
END_TEST

START_TEST(cache_parse_bound) {
  size_t cap = 400 * 64;
  char *text = malloc(cap);
  size_t off = 0;
  for (int i = 0; i < 400; i++)
    off += (size_t)snprintf(text + off, cap - off, "host%d 445 443 %s\n", i,
                            i % 2 ? "quic" : "tcp");
  struct smbq_tcache *c = tc_new();
  smbq_tcache_parse(c, text, off);
  ck_assert_uint_eq(c->n, SMBQ_TCACHE_MAX_ENTRIES);
  ck_assert_str_eq(c->e[255].server, "host255");
  ck_assert_int_eq(smbq_tcache_lookup(c, "host256", 445, 443), -1);
  free(text);
  free(c);
}
END_TEST

START_TEST(cache_remember_lru) {
  struct smbq_tcache *c = tc_new();
  ck_assert_int_eq(smbq_tcache_remember(c, "a", 445, 443, SMBQ_TP_TCP), 1);
  ck_assert_int_eq(smbq_tcache_remember(c, "b", 445, 443, SMBQ_TP_QUIC), 1);
  ck_assert_int_eq(smbq_tcache_remember(c, "B", 445, 443, SMBQ_TP_QUIC), 0);
  ck_assert_int_eq(smbq_tcache_remember(c, "A", 445, 443, SMBQ_TP_QUIC), 1);
  ck_assert_uint_eq(c->n, 2);
  ck_assert_str_eq(c->e[0].server, "a");
  ck_assert_int_eq(c->e[0].kind, SMBQ_TP_QUIC);
  ck_assert_str_eq(c->e[1].server, "b");
  ck_assert_int_eq(smbq_tcache_remember(c, "bad name", 445, 443,
                                        SMBQ_TP_TCP),
                   SMBQ_ERR_INVAL);
  ck_assert_int_eq(smbq_tcache_remember(c, "", 445, 443, SMBQ_TP_TCP),
                   SMBQ_ERR_INVAL);
  char longname[300];
  memset(longname, 'n', sizeof(longname) - 1);
  longname[sizeof(longname) - 1] = '\0';
  ck_assert_int_eq(smbq_tcache_remember(c, longname, 445, 443, SMBQ_TP_TCP),
                   SMBQ_ERR_INVAL);
  /* full: the oldest goes */
  c->n = 0;
  for (int i = 0; i < SMBQ_TCACHE_MAX_ENTRIES; i++) {
    char name[16];
    snprintf(name, sizeof(name), "h%d", i);
    smbq_tcache_remember(c, name, 445, 443, SMBQ_TP_TCP);
  }
  ck_assert_uint_eq(c->n, SMBQ_TCACHE_MAX_ENTRIES);
  ck_assert_int_eq(smbq_tcache_remember(c, "new", 1, 2, SMBQ_TP_QUIC), 1);
  ck_assert_uint_eq(c->n, SMBQ_TCACHE_MAX_ENTRIES);
  ck_assert_str_eq(c->e[0].server, "new");
  ck_assert_int_eq(smbq_tcache_lookup(c, "h0", 445, 443), -1);
  ck_assert_int_eq(smbq_tcache_lookup(c, "h1", 445, 443), SMBQ_TP_TCP);
  free(c);
}
END_TEST

START_TEST(cache_format_round_trip) {
  struct smbq_tcache *c = tc_new(), *d = tc_new();
  smbq_tcache_remember(c, "one.example", 445, 443, SMBQ_TP_TCP);
  smbq_tcache_remember(c, "Two.Example", 4445, 8443, SMBQ_TP_QUIC);
  size_t len;
  char *text = smbq_tcache_format(c, &len);
  ck_assert_ptr_nonnull(text);
  ck_assert_uint_eq(strlen(text), len);
  ck_assert_ptr_nonnull(strstr(text, "\ntwo.example 4445 8443 quic\n"
                                     "one.example 445 443 tcp\n"));
  smbq_tcache_parse(d, text, len);
  ck_assert_uint_eq(d->n, 2);
  for (int i = 0; i < 2; i++) {
    ck_assert_str_eq(c->e[i].server, d->e[i].server);
    ck_assert_int_eq(c->e[i].port, d->e[i].port);
    ck_assert_int_eq(c->e[i].quic_port, d->e[i].quic_port);
    ck_assert_int_eq(c->e[i].kind, d->e[i].kind);
  }
  free(text);
  free(c);
  free(d);
}
END_TEST

static char tmpdir[64];

static void make_tmpdir(void) {
  snprintf(tmpdir, sizeof(tmpdir), "/tmp/smbq-unit-tc.XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void remove_tree(const char *dir) {
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  ck_assert_int_eq(system(cmd), 0);
}

static int count_entries(const char *dir) {
  DIR *d = opendir(dir);
  ck_assert_ptr_nonnull(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.')
      n++;
  closedir(d);
  return n;
}

START_TEST(cache_save_load_atomic) {
  make_tmpdir();
  char path[256], dir[128];
  snprintf(dir, sizeof(dir), "%s/a/b", tmpdir);
  snprintf(path, sizeof(path), "%s/transports", dir);
  struct smbq_tcache *c = tc_new(), *d = tc_new();
  /* missing file: empty, no error */
  ck_assert_int_eq(smbq_tcache_load(path, d), 0);
  ck_assert_uint_eq(d->n, 0);
  smbq_tcache_remember(c, "fs1", 445, 443, SMBQ_TP_QUIC);
  ck_assert_int_eq(smbq_tcache_save(path, c), 0); /* makes a/b */
  struct stat st1, st2;
  ck_assert_int_eq(stat(path, &st1), 0);
  ck_assert_int_eq(st1.st_mode & 0777, 0600);
  smbq_tcache_remember(c, "fs2", 445, 443, SMBQ_TP_TCP);
  ck_assert_int_eq(smbq_tcache_save(path, c), 0);
  ck_assert_int_eq(stat(path, &st2), 0);
  /* a new file renamed over the old one, not rewritten in place */
  ck_assert(st1.st_ino != st2.st_ino);
  ck_assert_int_eq(count_entries(dir), 1); /* no temporary left */
  ck_assert_int_eq(smbq_tcache_load(path, d), 0);
  ck_assert_uint_eq(d->n, 2);
  ck_assert_int_eq(smbq_tcache_lookup(d, "fs1", 445, 443), SMBQ_TP_QUIC);
  /* an unwritable place fails cleanly and leaves nothing behind */
  char bad[288];
  snprintf(bad, sizeof(bad), "%s/transports/x", dir);
  ck_assert_int_eq(smbq_tcache_save(bad, c), SMBQ_ERR_IO);
  ck_assert_int_eq(count_entries(dir), 1);
  free(c);
  free(d);
  remove_tree(tmpdir);
}
END_TEST

START_TEST(cache_load_huge_file_is_bounded) {
  make_tmpdir();
  char path[128];
  snprintf(path, sizeof(path), "%s/transports", tmpdir);
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs("first 445 443 quic\n", f);
  /* Fill so that the bound falls right after "tcp" of a line that goes
   * on ("... tcp extra" is garbage): cut there it would look valid. */
  long n = SMBQ_TCACHE_MAX_FILE - (long)strlen("first 445 443 quic\n") -
           (long)strlen("\ncut 445 443 tcp");
  for (long i = 0; i < n; i++)
    fputc(i % 100 == 99 ? '\n' : 'z', f);
  fputs("\ncut 445 443 tcp extra\n", f);
  fclose(f);
  struct smbq_tcache *c = tc_new();
  ck_assert_int_eq(smbq_tcache_load(path, c), 0);
  ck_assert_uint_eq(c->n, 1);
  ck_assert_str_eq(c->e[0].server, "first");
  ck_assert_int_eq(smbq_tcache_lookup(c, "cut", 445, 443), -1);
  free(c);
  remove_tree(tmpdir);
}
END_TEST

START_TEST(cache_default_path) {
  char buf[256];
  setenv("XDG_CACHE_HOME", "/x/cache", 1);
  setenv("HOME", "/home/u", 1);
  ck_assert_int_eq(smbq_tcache_default_path(buf, sizeof(buf)), 0);
  ck_assert_str_eq(buf, "/x/cache/smbq/transports");
  setenv("XDG_CACHE_HOME", "relative", 1); /* invalid per XDG: ignored */
  ck_assert_int_eq(smbq_tcache_default_path(buf, sizeof(buf)), 0);
  ck_assert_str_eq(buf, "/home/u/.cache/smbq/transports");
  unsetenv("XDG_CACHE_HOME");
  ck_assert_int_eq(smbq_tcache_default_path(buf, 8), SMBQ_ERR_INVAL);
  unsetenv("HOME");
  ck_assert_int_eq(smbq_tcache_default_path(buf, sizeof(buf)),
                   SMBQ_ERR_NOENT);
}
END_TEST

static Suite *policy_suite(void) {
  Suite *s = suite_create("connect_policy");
  TCase *tr = tcase_create("race");
  tcase_add_test(tr, race_tcp_wins_quic_never_started);
  tcase_add_test(tr, race_head_start_then_quic_wins);
  tcase_add_test(tr, race_refused_starts_other_at_once);
  tcase_add_test(tr, race_open_failure_starts_other_at_once);
  tcase_add_test(tr, race_both_fail_cert_error_wins);
  tcase_add_test(tr, race_both_unreachable_keeps_first_error);
  tcase_add_test(tr, race_quic_first_from_cache);
  tcase_add_test(tr, race_quic_first_fails_message_order);
  tcase_add_test(tr, race_single_transport_never_touches_other);
  tcase_add_test(tr, race_nomem_ends_at_once);
  tcase_add_test(tr, race_clear_frees_running_attempts);
  suite_add_tcase(s, tr);
  TCase *tc = tcase_create("cache");
  tcase_add_test(tc, cache_parse_skips_garbage);
  tcase_add_test(tc, cache_parse_binary_and_long_lines);
  tcase_add_test(tc, cache_parse_bound);
  tcase_add_test(tc, cache_remember_lru);
  tcase_add_test(tc, cache_format_round_trip);
  tcase_add_test(tc, cache_save_load_atomic);
  tcase_add_test(tc, cache_load_huge_file_is_bounded);
  tcase_add_test(tc, cache_default_path);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(policy_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
