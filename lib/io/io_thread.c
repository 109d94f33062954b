/* I/O thread: see io_thread.h.
 *
 * One epoll set per thread with the transport's socket and the wake-up
 * eventfd: registered once (again only when the transport or what it
 * waits for changes), so a wake-up costs one epoll_pwait2 and no
 * re-arming of a poll array. Deadlines come from the core (its ordered
 * list of requests in flight), the transport (ngtcp2's expiry) and the
 * hooks (reconnect), each asked for its nearest one only. */
#include "io/io_thread.h"

#include <errno.h>
#include <sys/epoll.h>
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
  int ep;                    /* epoll set: wake_fd and the transport */
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
  int ep_fd;                  /* the transport fd in `ep`, or -1 */
  uint32_t ep_events;         /* what it is registered for */
  bool tp_due;                /* last told to tp: replies are due */
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

/* The transport's descriptor leaves the epoll set before it is closed
 * (a closed descriptor leaves by itself, but its number may come back
 * with the next transport and must then be added, not skipped). */
static void ep_forget(struct smbq_io *io) {
  if (io->ep_fd >= 0)
    epoll_ctl(io->ep, EPOLL_CTL_DEL, io->ep_fd, NULL);
  io->ep_fd = -1;
}

void smbq_io_attach(struct smbq_io *io, struct smbq_transport *tp) {
  ep_forget(io);
  smbq_transport_free(io->tp);
  io->tp = tp;
  io->tp_due = false;
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
  ep_forget(io);
  smbq_transport_free(io->tp);
  io->tp = NULL;
  io->tp_due = false;
  smb2_conn_hold(io->core);
  if (!io->hooks.lost(io->hooks.arg, err, msg))
    die(io, err, msg);
}

/* Send as much as the transport takes. Returns <0 on a fatal error. */
static int flush_output(struct smbq_io *io, bool *blocked) {
  *blocked = false;
  for (;;) {
    /* gather: a WRITE's data goes from the caller's buffer */
    struct iovec iov[SMB2_CONN_IOV_MAX];
    int niov = SMB2_CONN_IOV_MAX;
    long n = smb2_conn_pull_iov(io->core, iov, &niov);
    if (n < 0)
      continue; /* that request failed alone; try the next one */
    if (n == 0)
      return 0;
    long sent = smbq_transport_sendv(io->tp, iov, niov);
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

/* Tell the transport when replies become due or stop being due (before
 * its deadline is asked: it may set a timer for it). */
static void tell_replies_due(struct smbq_io *io) {
  bool due = smb2_conn_replies_due(io->core);
  if (!io->tp || due == io->tp_due)
    return;
  io->tp_due = due;
  if (io->tp->ops->replies_due)
    io->tp->ops->replies_due(io->tp, due);
}

/* The nearer of the core's request deadline and the transport's timer. */
static struct timespec *wait_timeout(struct smbq_io *io, struct timespec *ts) {
  int64_t now = smbq_now_ns();
  int64_t d1 = smb2_conn_tick(io->core, now / 1000000);
  tell_replies_due(io);
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

/* Register the transport's descriptor for `events`, if not already. */
static int ep_watch(struct smbq_io *io, int fd, uint32_t events) {
  if (fd == io->ep_fd && events == io->ep_events)
    return 0;
  struct epoll_event ev = {.events = events, .data.u32 = 1};
  int op = fd == io->ep_fd ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
  if (op == EPOLL_CTL_ADD)
    ep_forget(io);
  if (epoll_ctl(io->ep, op, fd, &ev) < 0)
    return -1;
  io->ep_fd = fd;
  io->ep_events = events;
  return 0;
}

/* Wait for the set or the timeout (NULL: none). Returns whether the
 * transport is readable (or failed); drains the wake-up counter. */
static bool ep_wait(struct smbq_io *io, const struct timespec *tmo) {
  struct epoll_event evs[2];
  int n = epoll_pwait2(io->ep, evs, 2, tmo, NULL);
  /* kernels older than 5.11 have no epoll_pwait2: epoll_wait, whose
   * timeout is in ms, rounded up so a deadline is never woken early */
  if (n < 0 && errno == ENOSYS) {
    int ms = !tmo ? -1
                  : (int)(tmo->tv_sec * 1000 + (tmo->tv_nsec + 999999) /
                                                   1000000);
    n = epoll_wait(io->ep, evs, 2, ms);
  }
  bool readable = false;
  for (int i = 0; i < n; i++) {
    if (evs[i].data.u32 == 0)
      drain_wake(io);
    else if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
      readable = true;
  }
  return readable;
}

/* Nothing to do but wait for submissions (dead), or for the hooks' new
 * transport and their timers (lost). */
static void wait_without_transport(struct smbq_io *io) {
  ep_forget(io);
  struct timespec ts;
  struct timespec *tmo = io->dead ? NULL : wait_timeout(io, &ts);
  if (io->tp)
    return; /* the hooks attached one meanwhile */
  ep_wait(io, tmo);
}

static void *io_main(void *arg) {
  struct smbq_io *io = arg;
  bool blocked = false;
  while (drain_submissions(io)) {
    if (io->dead || !io->tp) {
      /* dead: keep serving submissions (failing them) until told to
       * stop; lost: requests wait for the new transport */
      wait_without_transport(io);
      continue;
    }
    int rc = flush_output(io, &blocked);
    if (rc < 0) {
      lose(io, transport_err(rc), io->tp->errmsg);
      continue;
    }
    uint32_t ev = io->tp->ops->events(io->tp);
    uint32_t want = EPOLLIN | ((ev & SMBQ_TP_WANT_WRITE) ? EPOLLOUT : 0);
    struct timespec ts, zero = {0, 0};
    struct timespec *tmo =
        (ev & SMBQ_TP_HAVE_DATA) ? &zero : wait_timeout(io, &ts);
    if (smb2_conn_path_dead(io->core)) {
      lose(io, SMBQ_ERR_CLOSED, "the server stopped answering (an ECHO "
                                "went unanswered)");
      continue;
    }
    if (io->dead || !io->tp)
      continue;
    if (ep_watch(io, io->tp->ops->fd(io->tp), want) < 0) {
      die(io, SMBQ_ERR_CLOSED, "cannot watch the connection (epoll)");
      continue;
    }
    bool readable = ep_wait(io, tmo);
    /* transport timers first: QUIC retransmission, ACKs, pacing,
     * keep-alive; stream bytes it reads on the way are delivered below */
    rc = io->tp->ops->step(io->tp, smbq_now_ms());
    if (rc < 0 && !(io->tp->ops->events(io->tp) & SMBQ_TP_HAVE_DATA)) {
      lose(io, transport_err(rc), io->tp->errmsg);
      continue;
    }
    if (readable || (io->tp->ops->events(io->tp) & SMBQ_TP_HAVE_DATA)) {
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
  io->ep_fd = -1;
  io->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  io->ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 0};
  if (io->wake_fd < 0 || io->ep < 0 ||
      epoll_ctl(io->ep, EPOLL_CTL_ADD, io->wake_fd, &ev) < 0) {
    if (io->wake_fd >= 0)
      close(io->wake_fd);
    if (io->ep >= 0)
      close(io->ep);
    free(io);
    return NULL;
  }
  pthread_mutex_init(&io->lock, NULL);
  pthread_cond_init(&io->task_cv, NULL);
  if (pthread_create(&io->thread, NULL, io_main, io) != 0) {
    close(io->wake_fd);
    close(io->ep);
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
  ep_forget(io);
  smbq_transport_free(io->tp);
  close(io->ep);
  close(io->wake_fd);
  pthread_mutex_destroy(&io->lock);
  pthread_cond_destroy(&io->task_cv);
  free(io);
}
