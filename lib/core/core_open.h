/* Opens (MS-SMB2 3.2.4.3, 3.2.5.7): the CREATE request that every open and
 * every path compound sends (with the file's lease context from the lease
 * table), and the state machine of an open a caller holds:
 *
 *   NONE --CREATE--> OPENING --reply: handle, lease grant recorded--> OPEN
 *   OPENING --STATUS_INVALID_PARAMETER while our lease key rode along: the
 *            key is another file's (ours was renamed or deleted behind our
 *            back, MS-SMB2 3.3.5.9.8)--> OPENING (the name's entry doomed,
 *            a new key; once)
 *   OPENING --error--> FAILED
 *   OPEN --CLOSE sent--> CLOSING --reply--> CLOSED (whatever the reply:
 *            the handle is gone)
 *   OPEN/CLOSING --connection lost and restored (core_reconnect.c)-->
 *            the same state with a new file id (a durable handle
 *            reclaimed, or a read-only open opened again), or LOST
 *   LOST --close--> CLOSED at once (nothing to send)
 *
 * A tree keeps the list of its OPEN opens: the core knows every handle it
 * would have to reclaim. Sans-I/O over smb2_conn; runs on the I/O thread
 * (the list needs no lock).
 */
#ifndef CORE_OPEN_H
#define CORE_OPEN_H

#include <stdbool.h>
#include <stdint.h>

#include "core/core_lease.h"
#include "core/core_tree.h"
#include "smb2/smb2_conn.h"
#include "smb2/smb2_pdu.h"

/* UTF-8 path ('/' or '\' separated, leading and repeated separators
 * dropped) to the UTF-16LE share-relative form SMB2 wants ('\'). *out is
 * malloc'd; the caller frees it. */
int core_path_utf16(const char *path, uint8_t **out, size_t *outlen);

/* Whether path names dir or lies below it, as the server compares names:
 * '/' and '\' alike, leading and trailing separators ignored, ASCII case
 * ignored. dir "" is the share's root: everything is below it. */
bool core_path_under(const char *path, const char *dir);

struct core_create_spec {
  uint32_t access;
  uint32_t disposition;
  uint32_t options;
  uint32_t attributes;
  /* the file's lease entry (a lease context, or an oplock, is asked for)
   * and the rights wanted (SMB2_LEASE_*); NULL: none */
  struct core_lease *lease;
  uint32_t lease_want;
  /* a durable handle to ask for (MS-SMB2 3.2.4.3.5: DH2Q on 3.x, DHnQ
   * before; servers grant one only with a handle lease or a batch oplock,
   * 3.3.5.9.10), or NULL */
  const struct smb2_durable_req *durable;
  /* a reconnect: reclaim the durable handle reclaim_file_id (DH2C with
   * durable->create_guid, or DHnC) instead of asking for a new one */
  const struct smb2_durable_rsp *reclaim;
  const uint8_t *reclaim_file_id;
};

/* A CREATE of path on tree t, ready to submit or to head a compound.
 * NULL on a bad path or allocation failure. */
struct smb2_req *core_create_req(const struct core_tree *t,
                                 struct core_leases *leases,
                                 const char *path,
                                 const struct core_create_spec *s);

enum core_open_state {
  CORE_OPEN_NONE = 0,
  CORE_OPEN_OPENING,
  CORE_OPEN_OPEN,
  CORE_OPEN_FAILED,
  CORE_OPEN_CLOSED,
  CORE_OPEN_CLOSING,
  CORE_OPEN_LOST,
};

struct core_open;
typedef void (*core_open_done_fn)(void *arg, struct core_open *o);

struct core_open {
  enum core_open_state state;
  uint8_t file_id[16];
  struct core_lease *lease;        /* a reference while open, or NULL */
  struct smb2_create_rsp created;  /* the CREATE reply (contexts cleared) */
  struct smb2_close_rsp closed;    /* CLOSE reply, when have_closed */
  struct smb2_durable_req durable_req; /* what was asked (the CreateGuid
                                          a reconnect names) */
  struct smb2_durable_rsp durable; /* what was granted: version 0 none */
  bool have_closed;
  uint8_t prev_file_id[16];        /* after a reconnect: the id before */
  bool have_prev;
  int rc;                          /* FAILED / close: the error */
  uint32_t status;
  char path[1024];
  /* private */
  struct core_create_spec spec;
  bool is_dir;
  bool retried;
  struct core_tree *tree;
  struct core_leases *leases;
  struct smb2_conn *conn;
  struct core_open *next;          /* in tree->opens while OPEN */
  core_open_done_fn done;
  void *arg;
  /* a reclaim's own callback: done/arg may belong to a CLOSE held
   * meanwhile */
  core_open_done_fn reclaim_done;
  void *reclaim_arg;
  bool reclaiming_durable;         /* by DH2C/DHnC (else by name) */
  bool close_sent;                 /* its CLOSE was submitted: lost
                                      after that, it is closed (on_close) */
};

/* Open path on t with spec (its lease fields are filled here from the
 * table: spec->lease_want is what is asked for). done runs once on the
 * I/O thread with the state OPEN or FAILED. Returns 0 or an error
 * (FAILED, no callback). */
int core_open_start(struct core_open *o, struct smb2_conn *conn,
                    struct core_tree *t, struct core_leases *leases,
                    const char *path, const struct core_create_spec *spec,
                    bool is_dir, core_open_done_fn done, void *arg);

/* CLOSE (flags: SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB for the attributes
 * after it). done runs once with the state CLOSED; o->rc says whether
 * the server accepted it. The lease reference stays for the caller to
 * release (core_open_take_lease). Returns 0 or an error (nothing sent:
 * the open is CLOSED and off the tree's list all the same, as the
 * caller frees it). */
int core_open_close(struct core_open *o, struct smb2_conn *conn,
                    uint16_t flags, core_open_done_fn done, void *arg);

/* An open made by a compound of the caller's (a directory's CREATE with
 * its listing): registered as OPEN with the CREATE reply and the lease
 * reference handed over. */
void core_open_adopt(struct core_open *o, struct core_tree *t,
                     struct core_leases *leases, const char *path,
                     const struct smb2_create_rsp *created,
                     struct core_lease *lease, bool is_dir);

/* After a reconnect (the tree connected again): reclaim o (OPEN or
 * CLOSING) on conn. A durable handle is reclaimed (MS-SMB2 3.2.4.4: DH2C
 * with its CreateGuid on 3.x, DHnC on 2.1) with its lease asked for
 * again under the same key; an open that only reads and has none, or
 * whose durable handle the server no longer has (it restarted), is
 * opened again by path; anything else is LOST. done runs once
 * with o's state kept (a new file id, the old one in prev_file_id) or
 * LOST (o->rc: SMBQ_ERR_STALE). Returns 0, or SMBQ_ERR_STALE when o was
 * lost at once (no callback). */
int core_open_reclaim(struct core_open *o, struct smb2_conn *conn,
                      core_open_done_fn done, void *arg);
/* Whether o's access could change the file (a lost one cannot be opened
 * again behind the caller's back). */
bool core_open_writes(const struct core_open *o);

/* Hand the lease reference over to the caller (NULL if none). */
struct core_lease *core_open_take_lease(struct core_open *o);

#endif
