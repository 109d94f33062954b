/* The tree connect state machine (MS-SMB2 3.2.4.2.4, 3.2.5.5): one
 * share on a session, its encryption policy, and the 3.0/3.0.2
 * negotiate validation on the connection's first tree.
 *
 *   NONE --connect--> CONNECTING --reply--> (VALIDATING --reply-->)
 *        CONNECTED
 *   CONNECTING/VALIDATING --error, or a share that needs encryption we
 *        cannot give (the tree is disconnected again)--> FAILED
 *   CONNECTED --disconnect--> DISCONNECTED
 *
 * Sans-I/O over smb2_conn; runs on the I/O thread. Results are read after
 * the done callback.
 */
#ifndef CORE_TREE_H
#define CORE_TREE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/core_negotiate.h"
#include "core/core_err.h"
#include "smb2/smb2_conn.h"

enum core_tree_state {
  CORE_TREE_NONE = 0,
  CORE_TREE_CONNECTING,
  CORE_TREE_VALIDATING,
  CORE_TREE_CONNECTED,
  CORE_TREE_FAILED,
  CORE_TREE_DISCONNECTED,
};

struct core_tree;
struct core_open;
typedef void (*core_tree_done_fn)(void *arg, struct core_tree *t);

struct core_tree_cfg {
  const char *server;            /* the UNC's host part; copied */
  const char *share;             /* copied */
  const struct smb2_sec *sec;    /* the session's */
  const struct smb2_sec *enc_sec;/* the same keys, encryption forced */
  struct core_neg *neg;          /* the connection's negotiation: its
                                    cipher decides whether a share that
                                    requires encryption can be used, and
                                    it is validated on 3.0/3.0.2 */
};

struct core_tree {
  enum core_tree_state state;
  uint32_t tree_id;
  uint32_t share_flags;
  uint32_t share_caps;
  uint8_t share_type;
  bool encrypt;                  /* requests go through enc_sec */
  char share[256];
  struct core_open *opens;       /* its open handles (core_open.c) */
  uint32_t prev_tree_id;         /* after a reconnect: the id before */
  struct core_err err;           /* FAILED: what and why */
  /* private */
  struct core_tree_cfg cfg;
  char server[256];
  struct smb2_conn *conn;
  core_tree_done_fn done;
  void *arg;
};

/* TREE_CONNECT to \\server\share. done runs once on the I/O thread with
 * the state CONNECTED or FAILED. Returns 0 or an error (FAILED, no
 * callback). */
int core_tree_connect(struct core_tree *t, struct smb2_conn *conn,
                      const struct core_tree_cfg *cfg, core_tree_done_fn done,
                      void *arg);

/* A reconnect connected the share again into src (CONNECTED): its
 * results go to dst field by field (other threads build requests from
 * dst meanwhile); dst keeps its opens. */
void core_tree_take(struct core_tree *dst, const struct core_tree *src);
/* The security a request on this tree carries. */
const struct smb2_sec *core_tree_sec(const struct core_tree *t);

/* TREE_DISCONNECT; done (may be NULL) runs when the reply came (state
 * DISCONNECTED either way). Returns 0 or an error (nothing sent). */
int core_tree_disconnect(struct core_tree *t, struct smb2_conn *conn,
                         core_tree_done_fn done, void *arg);

#endif
