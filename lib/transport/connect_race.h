/* The connect policy behind `auto`: happy-eyeballs racing of two transport
 * attempts (RFC 8305, curl's QUIC/TCP racing).
 *
 * The preferred transport starts first. If it has not connected after a
 * head start (SMBQ_RACE_HEAD_START_MS), the other one starts alongside; if
 * the first fails before that, the other starts at once. The first attempt
 * whose step() reports "connected" (TCP connect, or QUIC handshake with the
 * certificate checks) wins; the other is freed on the spot.
 *
 * The race is not itself a transport: it ends once a winner is known, and
 * the caller hands the winner to the I/O thread directly (no delegation
 * layer on the data path, and the winner's name/flags are its own).
 *
 * Time comes in as an argument (smbq_race_step); only smbq_race_run reads
 * the clock and polls. Children are opened through a callback, so tests
 * drive the decisions with fake transports and synthetic time.
 */
#ifndef SMBQ_CONNECT_RACE_H
#define SMBQ_CONNECT_RACE_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "transport/transport.h"

/* How long the preferred transport runs alone (RFC 8305 suggests 250 ms
 * as the "connection attempt delay"; curl uses 200 ms for QUIC/TCP). */
#define SMBQ_RACE_HEAD_START_MS 250

enum smbq_tp_kind { SMBQ_TP_TCP = 0, SMBQ_TP_QUIC = 1 };

/* "tcp" or "quic" (static). */
const char *smbq_tp_kind_name(enum smbq_tp_kind k);

/* Start one child attempt (non-blocking), same contract as smbq_tcp_open:
 * 0 and *out owned by the race, or a negative SMBQ_ERR_* with a message in
 * err. */
typedef int (*smbq_race_open_fn)(void *user, enum smbq_tp_kind kind,
                                 struct smbq_transport **out, char *err,
                                 size_t errlen);

struct smbq_race_cfg {
  smbq_race_open_fn open;
  void *user;
  enum smbq_tp_kind first;   /* started at once */
  bool race;                 /* false: only `first` is ever tried */
  int64_t head_start_ns;     /* usually SMBQ_RACE_HEAD_START_MS * 1e6 */
};

enum smbq_race_state {
  SMBQ_RACE_IDLE = 0,   /* not started yet */
  SMBQ_RACE_RUNNING,    /* connecting; tp is set */
  SMBQ_RACE_FAILED,     /* rc and err say why; tp freed */
  SMBQ_RACE_WON,        /* tp connected; taken by smbq_race_take */
};

struct smbq_race_attempt {
  enum smbq_tp_kind kind;
  enum smbq_race_state state;
  struct smbq_transport *tp; /* owned by the race until taken */
  int rc;
  char err[640];
};

struct smbq_race {
  struct smbq_race_cfg cfg;
  struct smbq_race_attempt a[2]; /* [0] the preferred, [1] the other */
  int64_t second_at_ns;          /* end of the head start */
  char errmsg[1024];             /* both causes, once all failed */
};

/* Prepare a race starting at now_ns. Nothing is opened until the first
 * smbq_race_step. */
void smbq_race_init(struct smbq_race *r, const struct smbq_race_cfg *cfg,
                    int64_t now_ns);

/* Start the attempts that are due and advance the running ones.
 * Returns 1 when one attempt connected (the other is freed already; take
 * the winner with smbq_race_take), 0 while in progress (wait for
 * smbq_race_pollfds / smbq_race_deadline, then call again), or a negative
 * SMBQ_ERR_* once every allowed attempt failed: the more telling of the
 * two errors (a certificate error beats a timeout), with r->errmsg naming
 * both causes in start order ("...; then over QUIC: ..."). SMBQ_ERR_NOMEM
 * ends the race at once. */
int smbq_race_step(struct smbq_race *r, int64_t now_ns);

/* Fill pfd (room for 2) with the sockets of the running attempts; returns
 * how many. */
nfds_t smbq_race_pollfds(const struct smbq_race *r, struct pollfd *pfd);

/* Absolute time (ns) by which smbq_race_step must run again: the earliest
 * child deadline or the end of the head start; -1 if none. */
int64_t smbq_race_deadline(const struct smbq_race *r, int64_t now_ns);

/* The winner after smbq_race_step returned 1; the caller owns it from now
 * on (free with smbq_transport_free). NULL if there is none. */
struct smbq_transport *smbq_race_take(struct smbq_race *r);

/* Free every attempt the race still owns. Safe to call in any state and
 * more than once. */
void smbq_race_clear(struct smbq_race *r);

/* Run the race to its end, blocking in the caller's thread (poll on both
 * sockets, monotonic clock). 0 and *out = the winner (caller owns it), or
 * the error of smbq_race_step with r->errmsg; the race owns nothing
 * afterwards either way. */
int smbq_race_run(struct smbq_race *r, struct smbq_transport **out);

#endif
