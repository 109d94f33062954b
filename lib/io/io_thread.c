/* I/O thread: see io_thread.h.
 *
 * poll(2) rather than epoll: each thread watches exactly two descriptors
 * (the transport and its wake-up eventfd), where epoll's set management
 * buys nothing. */
#include "io/io_thread.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "smbq/smbq_err.h"

struct io_task {
  void (*fn)(void *arg, struct smb2_conn *c);
  int (*tp_fn)(void *arg, struct smbq_transport *tp); /* or this */
  int rc;                    /* tp_fn's result */
  void *arg;
  bool done;
  struct io_task *next;
};

struct smbq_io {
  pthread_t thread;
  int wake_fd;
  pthread_mutex_t lock;      /* protects everything below */
  pthread_cond_t task_cv;
  struct smb2_req *sub_head, *sub_tail;
  struct io_task *tasks;
  bool stop;
  bool dead;
  int dead_err;              /* what requests fail with once dead */
  char errmsg[640];
  /* owned by the I/O thread */
  struct smb2_conn *core;
  struct smbq_transport *tp;  /* NULL while a lost one is replaced */
  struct smbq_io_hooks hooks;
};

static void wake(struct smbq_io *io) {
  uint64_t one = 1;
  ssize_t n = write(io->wake_fd, &one, sizeof(one));
  (void)n; /* a full counter already means "wake up" */
}

int smbq_io_submit_batch(struct smbq_io *io, struct smb2_req **reqs,
                         size_t n) {
  pthread_mutex_lock(&io->lock);
  if (io->dead || io->stop) {
    int err = io->dead ? io->dead_err : SMBQ_ERR_CLOSED;
    pthread_mutex_unlock(&io->lock);
    return err;
  }
  for (size_t i = 0; i < n; i++) {
    reqs[i]->next = NULL;
    if (io->sub_tail)
      io->sub_tail->next = reqs[i];
    else
      io->sub_head = reqs[i];
    io->sub_tail = reqs[i];
  }
  pthread_mutex_unlock(&io->lock);
  wake(io);
  return 0;
}

int smbq_io_submit(struct smbq_io *io, struct smb2_req *chain) {
  return smbq_io_submit_batch(io, &chain, 1);
}

/* Queue task t for the I/O thread and wait until it ran. */
static int run_task(struct smbq_io *io, struct io_task *t) {
  pthread_mutex_lock(&io->lock);
  if (io->dead || io->stop) {
    int err = io->dead ? io->dead_err : SMBQ_ERR_CLOSED;
    pthread_mutex_unlock(&io->lock);
    return err;
  }
  t->next = io->tasks;
  io->tasks = t;
  pthread_mutex_unlock(&io->lock);
  wake(io);
  pthread_mutex_lock(&io->lock);
  while (!t->done)
    pthread_cond_wait(&io->task_cv, &io->lock);
  pthread_mutex_unlock(&io->lock);
  return 0;
}

int smbq_io_run_transport(struct smbq_io *io,
                          int (*fn)(void *arg, struct smbq_transport *tp),
                          void *arg) {
  struct io_task t = {.tp_fn = fn, .arg = arg};
  int rc = run_task(io, &t);
  return rc < 0 ? rc : t.rc;
}

int smbq_io_run(struct smbq_io *io, void (*fn)(void *, struct smb2_conn *),
                void *arg) {
  struct io_task t = {.fn = fn, .arg = arg};
  return run_task(io, &t);
}

bool smbq_io_on_thread(const struct smbq_io *io) {
  return pthread_equal(pthread_self(), io->thread);
}

int smbq_io_error(struct smbq_io *io, char *buf, size_t len) {
  pthread_mutex_lock(&io->lock);
  snprintf(buf, len, "%s", io->errmsg);
  int dead = io->dead;
  pthread_mutex_unlock(&io->lock);
  return dead;
}

/* Move submitted chains into the core and run queued tasks. Returns false
 * when asked to stop. */
static bool drain_submissions(struct smbq_io *io) {
  pthread_mutex_lock(&io->lock);
  struct smb2_req *head = io->sub_head;
  struct io_task *tasks = io->tasks;
  io->sub_head = io->sub_tail = NULL;
  io->tasks = NULL;
  bool stop = io->stop;
  pthread_mutex_unlock(&io->lock);
  int64_t now = smbq_now_ms();
  smb2_conn_set_now(io->core, now); /* for what the tasks below submit */
  while (head) {
    struct smb2_req *nx = head->next;
    if (smb2_conn_submit(io->core, head, now) < 0) {
      int err = io->dead ? io->dead_err : SMBQ_ERR_CLOSED;
      for (struct smb2_req *r = head; r;) {
        struct smb2_req *rn = r->chain;
        if (r->done)
          r->done(r->arg, err, 0, NULL, 0);
        smb2_req_free(r);
        r = rn;
      }
    }
    head = nx;
  }
  for (struct io_task *t = tasks; t;) {
    struct io_task *tn = t->next;
    if (t->tp_fn)
      t->rc = io->dead || !io->tp ? SMBQ_ERR_CLOSED : t->tp_fn(t->arg, io->tp);
    else
      t->fn(t->arg, io->core);
    pthread_mutex_lock(&io->lock);
    t->done = true;
    pthread_cond_broadcast(&io->task_cv);
    pthread_mutex_unlock(&io->lock);
    t = tn;
  }
  return !stop;
}

/* What requests fail with when the transport dies: a certificate or TLS
 * refusal keeps its code (a TLS 1.3 server may refuse our client
 * certificate only after our handshake completed); the rest is a closed
 * connection. */
static int transport_err(int rc) {
  return rc == SMBQ_ERR_CERT || rc == SMBQ_ERR_TLS ? rc : SMBQ_ERR_CLOSED;
}

static void die(struct smbq_io *io, int err, const char *why) {
  pthread_mutex_lock(&io->lock);
  if (!io->dead) {
    snprintf(io->errmsg, sizeof(io->errmsg), "%s", why);
    io->dead_err = err;
  }
  io->dead = true;
  pthread_mutex_unlock(&io->lock);
  smb2_conn_abort(io->core, err);
}

void smbq_io_fail(struct smbq_io *io, int err, const char *why) {
  die(io, err, why);
}

void smbq_io_set_hooks(struct smbq_io *io, const struct smbq_io_hooks *h) {
  io->hooks = *h;
}

void smbq_io_attach(struct smbq_io *io, struct smbq_transport *tp) {
  smbq_transport_free(io->tp);
  io->tp = tp;
}

bool smbq_io_has_transport(const struct smbq_io *io) { return io->tp; }

void smbq_io_set_error(struct smbq_io *io, const char *why) {
  pthread_mutex_lock(&io->lock);
  if (!io->dead)
    snprintf(io->errmsg, sizeof(io->errmsg), "%s", why);
  pthread_mutex_unlock(&io->lock);
}

/* The transport failed: with a `lost` hook the connection waits for a new
 * one (the core holds its requests); without, it dies. */
static void lose(struct smbq_io *io, int err, const char *why) {
  char msg[640];
  snprintf(msg, sizeof(msg), "%s", why); /* why may be the transport's */
  if (!io->hooks.lost || !io->tp) {
    die(io, err, msg);
    return;
  }
  smbq_transport_free(io->tp);
  io->tp = NULL;
  smb2_conn_hold(io->core);
  if (!io->hooks.lost(io->hooks.arg, err, msg))
    die(io, err, msg);
}

/* Send as much as the transport takes. Returns <0 on a fatal error. */
static int flush_output(struct smbq_io *io, bool *blocked) {
  *blocked = false;
  for (;;) {
    const uint8_t *buf;
    long n = smb2_conn_pull(io->core, &buf);
    if (n < 0)
      continue; /* that request failed alone; try the next one */
    if (n == 0)
      return 0;
    long sent = io->tp->ops->send(io->tp, buf, (size_t)n);
    if (sent < 0)
      return (int)sent;
    if (sent == 0) {
      *blocked = true;
      return 0;
    }
    smb2_conn_sent(io->core, (size_t)sent);
  }
}

static int read_input(struct smbq_io *io) {
  /* completion callbacks may submit requests: they take this time */
  smb2_conn_set_now(io->core, smbq_now_ms());
  for (int i = 0; i < 64; i++) {
    size_t cap;
    uint8_t *buf = smb2_conn_recv_buf(io->core, &cap);
    if (!buf)
      return SMBQ_ERR_NOMEM;
    long n = io->tp->ops->recv(io->tp, buf, cap);
    if (n < 0)
      return (int)n;
    if (n == 0)
      return 0;
    int rc = smb2_conn_received(io->core, (size_t)n);
    if (rc < 0)
      return rc;
    if ((size_t)n < cap)
      return 0;
  }
  return 0;
}

/* The nearer of the core's request deadline and the transport's timer. */
static struct timespec *poll_timeout(struct smbq_io *io, struct timespec *ts) {
  int64_t now = smbq_now_ns();
  int64_t d1 = smb2_conn_tick(io->core, now / 1000000);
  int64_t d = d1 < 0 ? -1 : d1 * 1000000;
  int64_t d2 = io->tp ? io->tp->ops->deadline(io->tp) : -1;
  if (d2 >= 0 && (d < 0 || d2 < d))
    d = d2;
  if (io->hooks.tick) {
    int64_t d3 = io->hooks.tick(io->hooks.arg, now / 1000000);
    d3 = d3 < 0 ? -1 : d3 * 1000000;
    if (d3 >= 0 && (d < 0 || d3 < d))
      d = d3;
  }
  if (d < 0)
    return NULL;
  int64_t wait = d <= now ? 0 : d - now;
  if (wait > 60 * (int64_t)1000000000)
    wait = 60 * (int64_t)1000000000;
  ts->tv_sec = (time_t)(wait / 1000000000);
  ts->tv_nsec = (long)(wait % 1000000000);
  return ts;
}

static void drain_wake(struct smbq_io *io) {
  uint64_t v;
  ssize_t r = read(io->wake_fd, &v, sizeof(v));
  (void)r;
}

static void *io_main(void *arg) {
  struct smbq_io *io = arg;
  struct pollfd pfd[2];
  bool blocked = false;
  while (drain_submissions(io)) {
    if (io->dead) {
      /* Keep serving submissions (failing them) until told to stop. */
      pfd[0].fd = io->wake_fd;
      pfd[0].events = POLLIN;
      poll(pfd, 1, -1);
      drain_wake(io);
      continue;
    }
    if (!io->tp) {
      /* lost: wait for the hooks' new transport; requests wait too */
      struct timespec ts;
      struct timespec *tmo = poll_timeout(io, &ts);
      if (io->dead || io->tp)
        continue;
      pfd[0].fd = io->wake_fd;
      pfd[0].events = POLLIN;
      ppoll(pfd, 1, tmo, NULL);
      if (pfd[0].revents & POLLIN)
        drain_wake(io);
      continue;
    }
    int rc = flush_output(io, &blocked);
    if (rc < 0) {
      lose(io, transport_err(rc), io->tp->errmsg);
      continue;
    }
    uint32_t ev = io->tp->ops->events(io->tp);
    pfd[0].fd = io->tp->ops->fd(io->tp);
    pfd[0].events =
        (short)(POLLIN | ((ev & SMBQ_TP_WANT_WRITE) ? POLLOUT : 0));
    pfd[1].fd = io->wake_fd;
    pfd[1].events = POLLIN;
    struct timespec ts, zero = {0, 0};
    struct timespec *tmo =
        (ev & SMBQ_TP_HAVE_DATA) ? &zero : poll_timeout(io, &ts);
    if (smb2_conn_path_dead(io->core)) {
      lose(io, SMBQ_ERR_CLOSED, "the server stopped answering (an ECHO "
                                "went unanswered)");
      continue;
    }
    if (io->dead || !io->tp)
      continue;
    if (ppoll(pfd, 2, tmo, NULL) < 0 && errno != EINTR) {
      die(io, SMBQ_ERR_CLOSED, "poll failed");
      continue;
    }
    if (pfd[1].revents & POLLIN)
      drain_wake(io);
    /* transport timers first: QUIC retransmission, ACKs, pacing,
     * keep-alive; stream bytes it reads on the way are delivered below */
    rc = io->tp->ops->step(io->tp, smbq_now_ms());
    if (rc < 0 && !(io->tp->ops->events(io->tp) & SMBQ_TP_HAVE_DATA)) {
      lose(io, transport_err(rc), io->tp->errmsg);
      continue;
    }
    if ((pfd[0].revents & (POLLIN | POLLERR | POLLHUP)) ||
        (io->tp->ops->events(io->tp) & SMBQ_TP_HAVE_DATA)) {
      rc = read_input(io);
      /* a malformed reply ends the connection: a server that sends one
       * is not to be trusted with a reconnect */
      if (rc == SMBQ_ERR_PROTO)
        die(io, SMBQ_ERR_PROTO, smb2_conn_last_error(io->core));
      else if (rc < 0)
        lose(io, transport_err(rc), io->tp->errmsg);
    }
  }
  return NULL;
}

struct smbq_io *smbq_io_start(struct smb2_conn *core,
                              struct smbq_transport *tp) {
  struct smbq_io *io = calloc(1, sizeof(*io));
  if (!io)
    return NULL;
  io->core = core;
  io->tp = tp;
  io->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (io->wake_fd < 0) {
    free(io);
    return NULL;
  }
  pthread_mutex_init(&io->lock, NULL);
  pthread_cond_init(&io->task_cv, NULL);
  if (pthread_create(&io->thread, NULL, io_main, io) != 0) {
    close(io->wake_fd);
    pthread_mutex_destroy(&io->lock);
    pthread_cond_destroy(&io->task_cv);
    free(io);
    return NULL;
  }
  return io;
}

void smbq_io_stop(struct smbq_io *io) {
  if (!io)
    return;
  pthread_mutex_lock(&io->lock);
  io->stop = true;
  pthread_mutex_unlock(&io->lock);
  wake(io);
  pthread_join(io->thread, NULL);
  /* Submissions that raced with stop never reached the core. */
  for (struct smb2_req *h = io->sub_head; h;) {
    struct smb2_req *nx = h->next;
    for (struct smb2_req *r = h; r;) {
      struct smb2_req *rn = r->chain;
      if (r->done)
        r->done(r->arg, SMBQ_ERR_CANCELLED, 0, NULL, 0);
      smb2_req_free(r);
      r = rn;
    }
    h = nx;
  }
  smb2_conn_free(io->core);
  smbq_transport_free(io->tp);
  close(io->wake_fd);
  pthread_mutex_destroy(&io->lock);
  pthread_cond_destroy(&io->task_cv);
  free(io);
}
