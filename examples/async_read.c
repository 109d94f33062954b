/* Read the first bytes of several files at once with the async API:
 * all requests share one connection; callbacks run on its I/O thread.
 * Usage: async_read HOST SHARE FILE...  (settings: example_opts.h) */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <smbq/smbq.h>

#include "example_opts.h"

struct job {
  const char *name;
  char buf[64];
  ssize_t result;
  pthread_mutex_t *m;
  pthread_cond_t *cv;
  int *pending;
};

static void done(void *arg, ssize_t result) {
  struct job *j = arg; /* runs on the I/O thread: keep it short */
  pthread_mutex_lock(j->m);
  j->result = result;
  (*j->pending)--;
  pthread_cond_signal(j->cv);
  pthread_mutex_unlock(j->m);
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s HOST SHARE FILE...\n", argv[0]);
    return 2;
  }
  smbq_opts *o = example_opts();
  smbq_conn *c = smbq_conn_new(o);
  smbq_opts_free(o);
  smbq_tree *t;
  char msg[512];
  if (smbq_conn_connect(c, argv[1]) < 0 ||
      smbq_tree_connect(c, argv[2], &t) < 0) {
    fprintf(stderr, "async_read: %s\n", smbq_conn_errmsg(c, msg, sizeof(msg)));
    smbq_conn_free(c);
    return 1;
  }
  int n = argc - 3, pending = 0;
  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
  pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
  struct job *jobs = calloc((size_t)n, sizeof(*jobs));
  smbq_file **files = calloc((size_t)n, sizeof(*files));
  for (int i = 0; i < n; i++) {
    jobs[i] = (struct job){argv[3 + i], {0}, -1, &m, &cv, &pending};
    if (smbq_open(t, jobs[i].name, SMBQ_O_RDONLY, &files[i]) < 0)
      continue;
    pthread_mutex_lock(&m);
    pending++;
    pthread_mutex_unlock(&m);
    if (smbq_pread_async(files[i], jobs[i].buf, sizeof(jobs[i].buf) - 1, 0,
                         done, &jobs[i]) < 0) {
      pthread_mutex_lock(&m);
      pending--;
      pthread_mutex_unlock(&m);
    }
  }
  pthread_mutex_lock(&m);
  while (pending > 0)
    pthread_cond_wait(&cv, &m);
  pthread_mutex_unlock(&m);
  for (int i = 0; i < n; i++) {
    printf("%s: %zd bytes: %.20s\n", jobs[i].name, jobs[i].result,
           jobs[i].result > 0 ? jobs[i].buf : "");
    if (files[i])
      smbq_close(files[i]);
  }
  free(jobs);
  free(files);
  smbq_conn_free(c);
  return 0;
}
