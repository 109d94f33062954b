/* The lease table of one connection: which caching rights (MS-SMB2
 * 2.2.13.2.8) this client holds for which file, and the break state
 * machine (MS-SMB2 3.2.5.19).
 *
 * Sans-I/O: it builds the lease create context for a CREATE, takes the
 * server's grant from the CREATE reply and the break notifications from the
 * wire, and says which acknowledgement to send; it never sends anything.
 *
 * One entry per file (MS-SMB2 3.2.4.3.8: one lease key per file, shared by
 * every open of that file from this client, so our own opens never break
 * each other). Entries are reference-counted by the opens that use them;
 * the entry goes when the last open is gone. With oplocks (SMB 2.0.2, or a
 * server without SMB2_GLOBAL_CAP_LEASING) an entry stands for one open and
 * is found by its file id.
 *
 * Lease states of one entry:
 *
 *    NONE --CREATE reply grants S--> HELD(S)
 *    HELD(S) --break notification to S' (ack required)--> BREAKING(S -> S')
 *    HELD(S) --break notification to S' (no ack)--> HELD(S')
 *    BREAKING --ack reply--> HELD(S')        (the ack's state, 3.2.5.19.2)
 *    BREAKING --ack failed--> HELD(S')       (the server moved on anyway)
 *    any --last open released--> gone
 *
 * A break notification for a lease key we do not know is ignored (the
 * server may race a break with our close, 3.2.5.19.2); a malformed one is
 * an error for the caller to report.
 *
 * Thread-safe: the table has its own lock, because opens are built on the
 * callers' threads while notifications arrive on the I/O thread. No
 * callback is called with the lock held.
 */
#ifndef CORE_LEASE_H
#define CORE_LEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smb2/smb2_pdu.h"

struct core_lease;
struct core_leases;

/* What the table asks for on opens. */
enum core_lease_mode {
  CORE_LEASE_OFF = 0,   /* nothing (leases disabled by the caller) */
  CORE_LEASE_OPLOCK,    /* batch oplock: SMB 2.0.2 or no CAP_LEASING */
  CORE_LEASE_V1,        /* SMB2_CREATE_REQUEST_LEASE: SMB 2.1 */
  CORE_LEASE_V2,        /* SMB2_CREATE_REQUEST_LEASE_V2: SMB 3.x */
};

/* random fills n bytes (lease keys); returns 0 or a negative error. */
struct core_leases *core_leases_new(enum core_lease_mode mode,
                                    int (*random)(void *user, uint8_t *buf,
                                                  size_t n),
                                    void *user);
/* Frees the table. Entries still referenced are freed too: call only
 * when no open uses the table any more. NULL is fine. */
void core_leases_free(struct core_leases *t);

enum core_lease_mode core_leases_mode(const struct core_leases *t);

/* The entry for the file `path` (share-relative, as the caller spells it)
 * on tree `tree_id`, made if needed (a fresh lease key), with one more
 * reference. With oplocks every call makes a new entry. NULL when leasing
 * is off or on allocation failure (the open then goes without). */
struct core_lease *core_lease_get(struct core_leases *t, uint32_t tree_id,
                                  const char *path, bool is_dir);
/* Drop a reference; returns the state the entry held when this was the
 * last reference (the rights the caller now gives up), else 0. */
uint32_t core_lease_put(struct core_leases *t, struct core_lease *l);

/* The entry of an existing open of `path` on `tree_id`, referenced, or
 * NULL: path operations (delete, rename, set-info) carry its key so that
 * they do not break our own lease. */
struct core_lease *core_lease_find(struct core_leases *t, uint32_t tree_id,
                                   const char *path);

/* A rename by this client: entries of `from` (and below it) now name
 * `to` (a lease key stays with its file, MS-SMB2 3.2.4.3.8; a new file
 * at the old name must not get the old key). */
void core_lease_rename(struct core_leases *t, uint32_t tree_id,
                       const char *from, const char *to);

/* This client deleted `path` (and what is below it): their entries may
 * no longer keep handles open for reuse, which would keep the deleted
 * name alive ("delete pending") on the server. */
/* A reconnect gave the tree a new id: entries of old_id move to new_id
 * (their keys stay: a reclaimed open asks for the same lease). */
void core_leases_retree(struct core_leases *t, uint32_t old_id,
                        uint32_t new_id);
void core_lease_doom(struct core_leases *t, uint32_t tree_id,
                     const char *path);
/* Whether l was doomed so. */
bool core_lease_doomed(struct core_leases *t, const struct core_lease *l);

/* The create context and oplock level for a CREATE of entry l: *ctx gets
 * the "RqLs" context with its data in buf (SMB2_LEASE_V2_SIZE bytes,
 * which must outlive the encoding) and *oplock the level to ask for.
 * Returns 1 with a context, 0 without one (oplock mode: only *oplock), or a
 * negative error. want is SMB2_LEASE_* (what the open would like). */
int core_lease_request(struct core_leases *t, struct core_lease *l,
                       uint32_t want, struct smb2_create_ctx *ctx,
                       uint8_t *buf, uint8_t *oplock);

/* Record what a successful CREATE reply granted for entry l (its lease
 * context, or its oplock level and file id). Returns 0, or SMBQ_ERR_PROTO
 * for a lease context that is malformed or for another key. */
int core_lease_granted(struct core_leases *t, struct core_lease *l,
                       const struct smb2_create_rsp *rsp);

/* The rights held now (SMB2_LEASE_*), 0 for NULL. */
uint32_t core_lease_state(struct core_leases *t, const struct core_lease *l);
/* The same, but 0 while a break from the server has not been through
 * core_break_done (its callback has not run): what to tell a new open
 * it may cache. */
uint32_t core_lease_state_settled(struct core_leases *t,
                                  const struct core_lease *l);
/* Whether l is a directory's lease. */
bool core_lease_is_dir(struct core_leases *t, const struct core_lease *l);
/* The lease version (2, 1), or 0 for an oplock or nothing. */
int core_lease_version(struct core_leases *t, const struct core_lease *l);

/* A break to handle, as core_leases_on_notify describes it. It holds a
 * reference on its entry until core_break_done. */
struct core_break {
  struct core_lease *lease;
  uint32_t tree_id;
  char path[1024];
  bool is_dir;
  bool oplock;              /* an oplock break (ack with file id/level) */
  bool ack_required;
  uint32_t old_state, new_state; /* SMB2_LEASE_* */
  /* the acknowledgement, when ack_required */
  uint8_t key[16];
  uint8_t file_id[16];
  uint8_t oplock_level;
};

/* An OPLOCK_BREAK notification arrived (msg: whole message). Returns 1
 * with *b filled (a break of one of our entries: the caller lets the user
 * flush and drop caches, then acknowledges with core_break_ack_req), 0
 * when it is for no entry we know (ignored), or SMBQ_ERR_PROTO for a
 * malformed notification. */
int core_leases_on_notify(struct core_leases *t, const uint8_t *msg,
                          size_t len, struct core_break *b);

/* Whether b's entry has no open left (the break holds the last
 * reference): closing every open answers a break (MS-SMB2 3.2.5.19.1,
 * 3.3.4.6), so no acknowledgement is sent for it. */
bool core_break_orphaned(struct core_leases *t, const struct core_break *b);

/* The acknowledgement's command (SMB2_OPLOCK_BREAK) body for b: writes it
 * to out and returns its length, or a negative error. */
long core_break_ack_body(const struct core_break *b, uint8_t *out,
                         size_t cap);

/* The acknowledgement's reply (or its failure, msg NULL): settles the
 * entry's state. Then releases the break's reference. */
void core_break_done(struct core_leases *t, struct core_break *b,
                     const uint8_t *msg, size_t len);

/* How many entries exist (tests, diagnostics). */
size_t core_leases_count(struct core_leases *t);

#endif
