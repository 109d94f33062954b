/* Counters and the one-line progress bar of smbq cp (see progress.h). */
#include "progress.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define TICK_MS 250
/* Weight of the newest tick in the smoothed rate: the figure follows a
 * change within a few seconds without jumping at every tick. */
#define RATE_ALPHA 0.3

struct progress {
  _Atomic uint64_t files_seen, files_copied, files_skipped, files_failed;
  _Atomic uint64_t bytes_total, bytes_done, bytes_copied;
  atomic_bool walk_done;
  struct timespec start;
  /* The lock orders stderr writes (bar and messages); the condition lets
   * progress_stop end the tick wait at once. */
  pthread_mutex_t lock;
  pthread_cond_t cv;
  bool stopping;
  bool line_shown; /* a bar is on screen, without a newline */
  pthread_t thread;
  bool have_thread;
  /* for the smoothed rate, touched by the drawing thread only */
  double last_t, rate;
  uint64_t last_copied;
};

static double elapsed(const struct progress *p) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)(now.tv_sec - p->start.tv_sec) +
         (double)(now.tv_nsec - p->start.tv_nsec) / 1e9;
}

void progress_fmt_bytes(double bytes, char *buf, size_t len) {
  static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
  size_t u = 0;
  while (bytes >= 1000.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
    bytes /= 1000.0;
    u++;
  }
  if (u == 0)
    snprintf(buf, len, "%.0f B", bytes);
  else
    snprintf(buf, len, "%.1f %s", bytes, units[u]);
}

static void fmt_eta(double secs, char *buf, size_t len) {
  if (secs < 0 || secs > 99.0 * 3600) {
    snprintf(buf, len, "--:--");
    return;
  }
  unsigned long s = (unsigned long)(secs + 0.5);
  if (s >= 3600)
    snprintf(buf, len, "%lu:%02lu:%02lu", s / 3600, s / 60 % 60, s % 60);
  else
    snprintf(buf, len, "%lu:%02lu", s / 60, s % 60);
}

void progress_get(struct progress *p, struct progress_counts *o) {
  o->files_seen = atomic_load(&p->files_seen);
  o->files_copied = atomic_load(&p->files_copied);
  o->files_skipped = atomic_load(&p->files_skipped);
  o->files_failed = atomic_load(&p->files_failed);
  o->files_done = o->files_copied + o->files_skipped + o->files_failed;
  o->bytes_total = atomic_load(&p->bytes_total);
  o->bytes_done = atomic_load(&p->bytes_done);
  o->bytes_copied = atomic_load(&p->bytes_copied);
  o->seconds = elapsed(p);
}

/* Rate over the recent past (bytes/s), updated once per drawn tick. */
static double update_rate(struct progress *p, const struct progress_counts *c) {
  double dt = c->seconds - p->last_t;
  if (dt < 0.05)
    return p->rate;
  double inst = (double)(c->bytes_copied - p->last_copied) / dt;
  p->rate = p->last_t == 0 ? inst : RATE_ALPHA * inst +
                                        (1 - RATE_ALPHA) * p->rate;
  p->last_t = c->seconds;
  p->last_copied = c->bytes_copied;
  return p->rate;
}

/* Caller holds the lock. */
static void draw_bar(struct progress *p) {
  struct progress_counts c;
  progress_get(p, &c);
  double rate = update_rate(p, &c);
  const char *more = atomic_load(&p->walk_done) ? "" : "+";
  char done[32], total[32], r[32], eta[32];
  progress_fmt_bytes((double)c.bytes_done, done, sizeof(done));
  progress_fmt_bytes((double)c.bytes_total, total, sizeof(total));
  progress_fmt_bytes(rate, r, sizeof(r));
  uint64_t left = c.bytes_total > c.bytes_done ? c.bytes_total - c.bytes_done
                                                 : 0;
  fmt_eta(rate > 0 ? (double)left / rate : -1, eta, sizeof(eta));
  /* files may grow while they are copied: never past 100 % */
  unsigned pct = c.bytes_total && c.bytes_done < c.bytes_total
                     ? (unsigned)(100.0 * (double)c.bytes_done /
                                  (double)c.bytes_total)
                     : (c.bytes_total ? 100 : 0);
  fprintf(stderr,
          "\r%llu/%llu%s files  %s/%s%s  %u%%  %s/s  ETA %s\033[K",
          (unsigned long long)c.files_done,
          (unsigned long long)c.files_seen, more, done, total, more, pct, r,
          eta);
  fflush(stderr);
  p->line_shown = true;
}

static void *draw_thread(void *arg) {
  struct progress *p = arg;
  pthread_mutex_lock(&p->lock);
  while (!p->stopping) {
    draw_bar(p);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += TICK_MS * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
      until.tv_sec++;
      until.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&p->cv, &p->lock, &until);
  }
  pthread_mutex_unlock(&p->lock);
  return NULL;
}

struct progress *progress_start(bool draw) {
  struct progress *p = calloc(1, sizeof(*p));
  if (!p)
    return NULL;
  clock_gettime(CLOCK_MONOTONIC, &p->start);
  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->cv, NULL);
  /* Without a thread the counters still work; the bar is just absent. */
  if (draw && pthread_create(&p->thread, NULL, draw_thread, p) == 0)
    p->have_thread = true;
  return p;
}

void progress_add_file(struct progress *p, uint64_t bytes) {
  atomic_fetch_add(&p->files_seen, 1);
  atomic_fetch_add(&p->bytes_total, bytes);
}

void progress_walk_done(struct progress *p) {
  atomic_store(&p->walk_done, true);
}

void progress_add_copied(struct progress *p, uint64_t bytes) {
  atomic_fetch_add(&p->bytes_copied, bytes);
  atomic_fetch_add(&p->bytes_done, bytes);
}

void progress_add_kept(struct progress *p, uint64_t bytes) {
  atomic_fetch_add(&p->bytes_done, bytes);
}

void progress_file_copied(struct progress *p) {
  atomic_fetch_add(&p->files_copied, 1);
}

void progress_file_failed(struct progress *p) {
  atomic_fetch_add(&p->files_failed, 1);
}

void progress_file_skipped(struct progress *p, uint64_t bytes) {
  atomic_fetch_add(&p->files_skipped, 1);
  atomic_fetch_sub(&p->bytes_total, bytes);
}

void progress_msg(struct progress *p, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (p)
    pthread_mutex_lock(&p->lock);
  if (p && p->line_shown) {
    fputs("\r\033[K", stderr);
    p->line_shown = false;
  }
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  if (p)
    pthread_mutex_unlock(&p->lock);
  va_end(ap);
}

static void draw_final(struct progress *p) {
  struct progress_counts c;
  progress_get(p, &c);
  char bytes[32], rate[32];
  progress_fmt_bytes((double)c.bytes_copied, bytes, sizeof(bytes));
  progress_fmt_bytes(c.seconds > 0 ? (double)c.bytes_copied / c.seconds : 0,
                     rate, sizeof(rate));
  fprintf(stderr, "\r%llu files copied, %llu skipped, %llu failed; %s in "
          "%.1f s, %s/s\033[K\n",
          (unsigned long long)c.files_copied,
          (unsigned long long)c.files_skipped,
          (unsigned long long)c.files_failed, bytes, c.seconds, rate);
}

void progress_stop(struct progress *p) {
  if (!p)
    return;
  pthread_mutex_lock(&p->lock);
  p->stopping = true;
  pthread_cond_signal(&p->cv);
  pthread_mutex_unlock(&p->lock);
  if (p->have_thread) {
    pthread_join(p->thread, NULL);
    draw_final(p);
  }
  pthread_mutex_destroy(&p->lock);
  pthread_cond_destroy(&p->cv);
  free(p);
}
