/* The sans-I/O SMB2 connection core.
 *
 * It takes requests (header fields + body) and produces Direct-TCP framed
 * bytes for the wire; it takes received bytes and hands completed replies
 * to per-request callbacks. It never touches a socket or a clock: time is
 * passed in (smb2_conn_tick) and randomness comes from the env callback.
 *
 * What happens here, in one place, when bytes are produced or consumed:
 *  - message ids and the credit window (MS-SMB2 3.2.4.1.3, 3.2.5.1.4),
 *    multi-credit charges for large requests (3.2.4.1.5),
 *  - compound chains (3.2.4.1.4) in both directions,
 *  - interim STATUS_PENDING replies (3.2.5.1.5),
 *  - signing of requests and verification of replies (3.2.4.1.1,
 *    3.2.5.1.3), encryption and decryption (3.2.4.1.8, 3.2.5.1.1.1),
 *  - preauth integrity hash updates for NEGOTIATE/SESSION_SETUP (3.2.5.2).
 *
 * Not thread-safe: one thread (the I/O loop) owns a connection core.
 */
#ifndef SMB2_CONN_H
#define SMB2_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "smb2/smb2_hdr.h"

struct smb2_conn;

/* Per-session security state the core applies on the wire. Owned by the
 * caller (the API's session object); the core keeps a pointer in each
 * request, so it must outlive the requests that reference it. */
struct smb2_sec {
  uint64_t session_id;
  bool sign;               /* sign requests, require signed replies */
  bool encrypt;            /* encrypt requests, require encrypted replies */
  uint16_t signing_alg;    /* SMB2_SIGNING_* */
  uint16_t cipher;         /* SMB2_CIPHER_* */
  struct smb2_keys keys;
  uint64_t nonce_counter;  /* for unique AEAD nonces (caller zeroes) */
  uint8_t nonce_salt[4];   /* random per session */
};

/* Completion callback. Called exactly once per request:
 *  - err == 0: a final reply arrived, passed its integrity checks, and its
 *    header decoded; `status` is its NTSTATUS, `msg`/`len` the whole reply
 *    message (header + body), valid only during the call;
 *  - err < 0: the request failed locally (SMBQ_ERR_TIMEOUT, SMBQ_ERR_CLOSED,
 *    SMBQ_ERR_SIGNATURE, SMBQ_ERR_PROTO, SMBQ_ERR_CANCELLED); msg is NULL.
 * The callback may submit new requests. */
typedef void (*smb2_done_fn)(void *arg, int err, uint32_t status,
                             const uint8_t *msg, size_t len);

/* Request flags */
#define SMB2_REQ_NO_VERIFY 0x01u  /* reply integrity checked by the caller
                                     (final SESSION_SETUP reply) */
#define SMB2_REQ_NO_SIGN 0x02u    /* never sign (SESSION_SETUP rounds) */
#define SMB2_REQ_CANCEL 0x04u     /* core-private: a CANCEL for message_id
                                     (async_id when pending); no id, no
                                     credit, no reply (MS-SMB2 3.2.4.24) */
#define SMB2_REQ_RESTORE 0x08u    /* part of restoring a lost connection:
                                     sent while the rest is held (set by
                                     the core inside smb2_conn_restore_
                                     begin/end and in the callbacks of
                                     such requests) */
#define SMB2_REQ_PROBE 0x10u      /* core-private: an ECHO asking whether
                                     the path is alive */

/* Bytes before the SMB2 header in a request's buffer (the Direct-TCP
 * length, MS-SMB2 2.1). */
#define SMB2_REQ_SPARE 4

struct smb2_req_pool;

/* One request. Create with smb2_req_new() (or smb2_req_new_from(), with
 * a buffer from a pool); after a successful smb2_conn_submit() the core
 * owns it and frees it after the callback. */
struct smb2_req {
  struct smb2_req *next;     /* queue link (core-private) */
  struct smb2_req *chain;    /* next request of a compound chain */
  uint16_t command;
  uint32_t tree_id;
  uint32_t flags;            /* SMB2_REQ_* */
  uint32_t hdr_flags;        /* extra header flags (e.g. DFS) */
  uint32_t payload_size;     /* max of request/expected reply payload, for
                                the credit charge (0 = one credit) */
  const struct smb2_sec *sec;/* NULL before a session exists */
  uint8_t *preauth;          /* if set, SHA-512 chain updated with request
                                and non-final reply (3.2.5.2) */
  smb2_done_fn done;
  void *arg;
  /* READ only, optional: the caller's buffer for the reply's data
   * (MS-SMB2 2.2.20), dst_cap bytes, valid until the callback has run.
   * When the final reply is a lone (not compounded) READ response with
   * STATUS_SUCCESS whose data lies at its end and fits in dst_cap, the
   * data is received straight into dst (verified or decrypted there) and
   * *placed (the caller's, zeroed by it) is set to DataLength before the
   * callback; msg/len are then the message up to DataOffset only.
   * Otherwise *placed stays 0 and msg holds the whole reply, as for any
   * request. If the request fails, dst's content is unspecified. */
  uint8_t *dst;
  size_t dst_cap;
  size_t *placed;
  /* Optional external payload (a WRITE's data, MS-SMB2 2.2.21: it
   * follows the fixed part at DataOffset 0x70; the body's Length says
   * data_len): appended after the body on the wire without being copied
   * into the request, sent from here (signed over where it lies) when the
   * request goes alone and unencrypted, copied into the frame otherwise.
   * The caller keeps these bytes valid and unchanged until the request's
   * callback has run (a reconnect sends them again); the core never reads
   * them after that: what is still to be sent of a partly sent frame when
   * the request completes early is copied first. Not with preauth. */
  const uint8_t *data;
  size_t data_len;
  /* private to the core */
  uint8_t *buf;              /* 4 spare bytes + header + body */
  size_t len;                /* header + body */
  size_t cap;
  uint64_t message_id;
  uint64_t async_id;
  uint16_t charge;
  int64_t deadline_ms;
  bool related;              /* later element of a compound chain */
  bool pending;              /* an interim reply was seen */
  bool sent;                 /* went out on a connection that was lost:
                                sent again as a replay */
  bool orphan;               /* another element of its chain completed:
                                it cannot be sent again */
  bool expired;              /* answered STATUS_NETWORK_SESSION_EXPIRED:
                                parked until the session is renewed */
  struct smb2_req *chain_prev; /* previous element of its chain */
  struct smb2_req_pool *pool; /* buf is the pool's (smb2_req_pool.h) */
  /* in flight: the core's list of requests by deadline */
  struct smb2_req *dl_prev, *dl_next;
  bool in_dl;
};

/* Allocate a request with room for a body of body_cap bytes. Returns NULL
 * on allocation failure. Free with smb2_req_free() unless submitted. */
struct smb2_req *smb2_req_new(uint16_t command, size_t body_cap);
void smb2_req_free(struct smb2_req *r);

/* Body area of a request (body_cap bytes) and the setter for its length. */
uint8_t *smb2_req_body(struct smb2_req *r);
size_t smb2_req_body_cap(const struct smb2_req *r);
void smb2_req_set_body_len(struct smb2_req *r, size_t len);

struct smb2_conn_env {
  int (*random)(void *user, uint8_t *buf, size_t n);
  /* An unsolicited message: MessageId 0xFFFFFFFFFFFFFFFF, an oplock or
   * lease break notification (MS-SMB2 3.2.5.19). Such messages are never
   * signed (SessionId 0, 3.3.4.7); encrypted says whether it came inside
   * a transform (it was then authenticated by a session's key). msg is the
   * whole message (header + body), valid during the call only. NULL: they
   * are dropped. */
  void (*notify)(void *user, const uint8_t *msg, size_t len,
                 bool encrypted);
  /* A reply said STATUS_NETWORK_SESSION_EXPIRED for a request of session
   * sec (not a SESSION_SETUP): true when the session is being renewed
   * (MS-SMB2 3.2.5.1.6), and the request then waits for it (parked, see
   * smb2_conn_unpark); false, or NULL: it completes with that status. */
  bool (*expired)(void *user, const struct smb2_sec *sec);
  void *user;
};

/* What went over the wire on one connection (smb2_conn_get_stats). */
struct smb2_conn_stats {
  uint64_t requests;      /* request messages sent (each element of a
                             compound counts) */
  uint64_t frames;        /* frames sent: a lone request or a whole
                             compound, i.e. one round trip each */
  uint64_t bytes_out;     /* frame bytes handed to the transport */
  uint64_t bytes_in;      /* frame bytes received */
  uint64_t replies;       /* final replies matched to a request */
  uint64_t notifications; /* unsolicited messages (breaks) */
  /* READ data of requests with a destination (smb2_req.dst): */
  uint64_t read_placed;   /* received straight into the destination */
  uint64_t read_copied;   /* copied: the bytes of a placed reply that came
                             with its header, and whole replies that took
                             the ordinary path (their callback copies) */
};

struct smb2_conn_limits {
  uint32_t max_frame;        /* largest Direct-TCP frame accepted */
  uint32_t request_timeout_ms;
  bool large_mtu;            /* dialect >= 2.1 and LARGE_MTU negotiated */
  bool supports_multi_credit;
};

/* Create/destroy. smb2_conn_free() fails every outstanding request with
 * SMBQ_ERR_CANCELLED (calling their callbacks) and frees them. */
struct smb2_conn *smb2_conn_new(const struct smb2_conn_env *env);
void smb2_conn_free(struct smb2_conn *c);

/* After NEGOTIATE: whether multi-credit requests are allowed (3.2.4.1.5). */
void smb2_conn_set_large_mtu(struct smb2_conn *c, bool on);
/* Per-request timeout (default 60 s). */
void smb2_conn_set_timeout(struct smb2_conn *c, uint32_t ms);

/* Queue a request, or a compound chain linked through ->chain (the first
 * element's callback sees the first reply, etc.). now_ms is the current
 * time for the timeout. Returns 0 or SMBQ_ERR_INVAL/SMBQ_ERR_CLOSED (then
 * the caller still owns the requests). */
int smb2_conn_submit(struct smb2_conn *c, struct smb2_req *r, int64_t now_ms);

/* For the state machines stepped on the core's thread: queue one request
 * with its callback at the core's own time (smb2_conn_now). On failure
 * the request is freed (its callback is not called) and the error is
 * returned. */
int smb2_conn_submit_now(struct smb2_conn *c, struct smb2_req *r,
                         smb2_done_fn done, void *arg);

/* The next frame to send, with its 4-byte Direct-TCP header, or 0 when
 * nothing can be sent (nothing queued, or no credits). *buf stays valid
 * until smb2_conn_sent() or smb2_conn_free(). Returns the frame length or a
 * negative error (a crypto failure fails that request, not the conn). */
long smb2_conn_pull(struct smb2_conn *c, const uint8_t **buf);

/* smb2_conn_pull() in pieces, for gather I/O: fills up to *n (at least
 * SMB2_CONN_IOV_MAX) iovecs with what is left of the next frame and sets
 * *n to their number (0 when nothing is to be sent). A lone unencrypted
 * request with external data (smb2_req.data) is two pieces: its own
 * buffer (Direct-TCP header, SMB2 header, body) and the caller's data;
 * anything else is one. Pointers stay valid until smb2_conn_sent() or
 * smb2_conn_free(). Returns the bytes left in the frame, 0, or a negative
 * error as smb2_conn_pull(). smb2_conn_pull() itself joins the pieces of
 * such a frame into one buffer (a copy). */
#define SMB2_CONN_IOV_MAX 2
long smb2_conn_pull_iov(struct smb2_conn *c, struct iovec *iov, int *n);

/* Report that n bytes of the frame from smb2_conn_pull() (or _pull_iov(),
 * across its pieces) were sent. */
void smb2_conn_sent(struct smb2_conn *c, size_t n);

/* Receive side: a place to put up to *cap bytes, valid until the next
 * smb2_conn_received(). With READs that have a destination in flight,
 * it may be a small room for the next frame's headers only (4 + 64 + 16
 * bytes, plus 52 with encryption), or a part of such a READ's
 * destination. NULL (and *cap 0) when out of memory. */
uint8_t *smb2_conn_recv_buf(struct smb2_conn *c, size_t *cap);
/* n bytes were stored at the recv_buf pointer: process every complete
 * frame. Returns 0, or a fatal error (malformed framing, frame too large):
 * then the caller must drop the transport and call smb2_conn_abort(). */
int smb2_conn_received(struct smb2_conn *c, size_t n);

/* Fail all requests with err (transport died); the conn is then dead. */
void smb2_conn_abort(struct smb2_conn *c, int err);

/* ---- a lost connection, restored (MS-SMB2 3.2.4.4 ff.) ----------------
 *
 *   UP --hold (transport lost)--> HELD --release--> UP
 *   HELD --refuse(err)--> HELD, refusing: queued requests failed with err,
 *        new ones refused (submit returns err) until release
 *
 * While HELD nothing is sent but the requests that restore the
 * connection (SMB2_REQ_RESTORE); the others wait without a deadline. */

/* The transport is gone. Requests in flight go back to the queue ahead
 * of those not yet sent, in their order, marked `sent` (a chain one of
 * whose elements was answered cannot be sent again: it fails with
 * SMBQ_ERR_CLOSED, and so do NEGOTIATE and SESSION_SETUP, which mean
 * something on one connection only); a partly sent frame, received bytes
 * and pending CANCELs are dropped; message ids start again at 0 with one credit, as
 * on a new connection. */
void smb2_conn_hold(struct smb2_conn *c);
bool smb2_conn_held(const struct smb2_conn *c);
/* Requests submitted between begin and end (and by the callbacks of such
 * requests) carry SMB2_REQ_RESTORE. */
void smb2_conn_restore_begin(struct smb2_conn *c);
void smb2_conn_restore_end(struct smb2_conn *c);
/* Fail the held requests with err and refuse new ones with it, still
 * HELD (the reconnect timeout passed; tries go on). */
void smb2_conn_refuse(struct smb2_conn *c, int err);
/* Restored: each held element goes through fix (its tree id and file id
 * for the new connection; whether it is a replay); fix returning an
 * error fails the element's whole chain with it. The rest is sent with
 * fresh deadlines. */
typedef int (*smb2_fix_fn)(void *arg, struct smb2_req *r, uint8_t *body,
                           size_t body_len);
void smb2_conn_release(struct smb2_conn *c, smb2_fix_fn fix, void *arg);

/* The session was renewed: the parked requests (whole chains, in their
 * order) go again ahead of the queue with fresh deadlines. */
void smb2_conn_unpark(struct smb2_conn *c);
/* It could not be: the parked requests fail with err. */
void smb2_conn_fail_parked(struct smb2_conn *c, int err);

/* Silence (MS-SMB2 3.2.6.? has no rule; Windows sends an ECHO): with
 * requests waiting for a reply and nothing received or sent for
 * probe_ms, an ECHO goes out; unanswered within probe_ms more, the path
 * is dead (smb2_conn_path_dead). 0 turns it off (the default). */
void smb2_conn_set_probe(struct smb2_conn *c, uint32_t probe_ms);
/* The ECHO went unanswered: the caller drops the transport. */
bool smb2_conn_path_dead(const struct smb2_conn *c);
/* Replies are due: a request is in flight that the server has not
 * promised to answer later with an interim STATUS_PENDING (MS-SMB2
 * 3.3.4.2), and the connection is not held. While true, silence from the
 * server means something is wrong with the path; the I/O layer tells the
 * transport (smbq_transport_ops.replies_due). */
bool smb2_conn_replies_due(const struct smb2_conn *c);

/* Time passes: fail requests whose deadline passed (SMBQ_ERR_TIMEOUT),
 * and tell the server with SMB2 CANCEL (MS-SMB2 3.2.4.24) so that it stops
 * working on them. A request the server answered with an interim
 * STATUS_PENDING gets a new full timeout from that answer, then the same.
 * Returns the next deadline (ms, absolute) or -1 if none. */
int64_t smb2_conn_tick(struct smb2_conn *c, int64_t now_ms);

/* The current time, for what happens next without a deadline check
 * (bytes about to be received, tasks about to run): requests that
 * completion callbacks and state machines submit (smb2_conn_submit_now)
 * get their deadlines from it. */
void smb2_conn_set_now(struct smb2_conn *c, int64_t now_ms);
/* The core's current time (the last set_now or tick). */
int64_t smb2_conn_time(const struct smb2_conn *c);


/* Number of requests queued or in flight. */
size_t smb2_conn_outstanding(const struct smb2_conn *c);

/* Counters since smb2_conn_new (copied into *s). */
void smb2_conn_get_stats(const struct smb2_conn *c,
                         struct smb2_conn_stats *s);

/* Credits currently available (for tests and diagnostics). */
uint32_t smb2_conn_credits(const struct smb2_conn *c);

/* A human-readable reason for the last fatal error. */
const char *smb2_conn_last_error(const struct smb2_conn *c);

/* Sign/verify helpers used by the session code for the final
 * SESSION_SETUP reply (MS-SMB2 3.2.5.3.1). */
int smb2_conn_verify_reply(const struct smb2_sec *sec, const uint8_t *msg,
                           size_t len);

#endif
