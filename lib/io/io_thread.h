/* The I/O thread that drives one connection: it owns the protocol core and
 * the transport, moves bytes between them, and runs the core's timers.
 *
 * Any thread may submit requests (smbq_io_submit); they are handed over
 * through a locked queue and an eventfd wake-up, so the core itself is only
 * ever touched by the I/O thread and needs no lock. Completion callbacks run
 * on the I/O thread with no lock held: they may submit more requests but
 * must not block waiting for a reply.
 */
#ifndef SMBQ_IO_THREAD_H
#define SMBQ_IO_THREAD_H

#include <stdbool.h>

#include "smb2/smb2_conn.h"
#include "transport/transport.h"

struct smbq_io;

/* Start the thread. Takes ownership of core and tp (freed by
 * smbq_io_stop). Returns NULL on failure (then the caller still owns
 * them). */
struct smbq_io *smbq_io_start(struct smb2_conn *core,
                              struct smbq_transport *tp);

/* Queue a request or compound chain. Thread-safe. Returns 0, or the
 * connection's end (SMBQ_ERR_CLOSED, or the certificate/TLS error that
 * ended it) if the connection is dead (the caller then still owns
 * the requests and no callback runs). */
int smbq_io_submit(struct smbq_io *io, struct smb2_req *chain);

/* Queue n independent requests at once: either all are queued (0) or
 * none (SMBQ_ERR_CLOSED, the caller still owns them). Thread-safe. */
int smbq_io_submit_batch(struct smbq_io *io, struct smb2_req **reqs,
                         size_t n);

/* Run fn(arg, core) on the I/O thread and wait for it (used to change core
 * settings after negotiation). Thread-safe; must not be called from the I/O
 * thread. */
int smbq_io_run(struct smbq_io *io, void (*fn)(void *arg, struct smb2_conn *c),
                void *arg);

/* Run fn(arg, transport) on the I/O thread, wait, and return its result
 * (SMBQ_ERR_CLOSED if the connection is dead). Thread-safe; not from the
 * I/O thread. */
int smbq_io_run_transport(struct smbq_io *io,
                          int (*fn)(void *arg, struct smbq_transport *tp),
                          void *arg);

/* True when called from the I/O thread (a sync call there would deadlock). */
bool smbq_io_on_thread(const struct smbq_io *io);

/* Why the connection died ("" while alive); copied into buf. */
int smbq_io_error(struct smbq_io *io, char *buf, size_t len);

/* ---- a lost transport (reconnect) ---------------------------------------
 *
 * Without hooks a transport that fails kills the connection: every
 * request fails with its error. With a `lost` hook, the I/O thread frees
 * the transport, holds the core (smb2_conn_hold: requests wait) and asks
 * the hook; the connection then lives on without a transport (requests
 * are still accepted and wait) until smbq_io_attach gives it a new one
 * or smbq_io_fail ends it. Silence counts as loss when the core's ECHO
 * goes unanswered (smb2_conn_set_probe). */
struct smbq_io_hooks {
  /* On the I/O thread: the transport is gone (err, why). True: the hook
   * takes it from here; false: the connection dies now. */
  bool (*lost)(void *arg, int err, const char *why);
  /* On the I/O thread at every wake-up: time passes. Returns the next
   * deadline (ms, absolute) or -1. */
  int64_t (*tick)(void *arg, int64_t now_ms);
  void *arg;
};

/* Set the hooks (on the I/O thread, through smbq_io_run, or before any
 * request). */
void smbq_io_set_hooks(struct smbq_io *io, const struct smbq_io_hooks *h);
/* On the I/O thread: tp (owned from now on) replaces the lost transport. */
void smbq_io_attach(struct smbq_io *io, struct smbq_transport *tp);
/* On the I/O thread: the connection is over (every request fails with
 * err; why is what smbq_io_error tells). */
void smbq_io_fail(struct smbq_io *io, int err, const char *why);
/* What smbq_io_error tells while the connection is not dead (an outage
 * under way; "" when it is over). Thread-safe. */
void smbq_io_set_error(struct smbq_io *io, const char *why);
/* Whether a transport is attached (on the I/O thread). */
bool smbq_io_has_transport(const struct smbq_io *io);

/* Fail every request with SMBQ_ERR_CANCELLED, stop and join the thread,
 * free the core and transport. */
void smbq_io_stop(struct smbq_io *io);

#endif
