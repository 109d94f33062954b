/* The NEGOTIATE state machine (MS-SMB2 3.2.4.2.2, 3.2.5.2) and the
 * 3.0/3.0.2 negotiate validation (3.2.5.5, run on the first tree):
 * what the client offers, the checks on the server's choice, and what
 * the connection then uses (dialect, sizes, cipher, signing algorithm,
 * the 3.1.1 preauth hash, transport-level security over QUIC).
 *
 *   NONE --start--> SENT --reply accepted--> DONE
 *                    '--error status / a choice we did not offer--> FAILED
 *
 * Sans-I/O over smb2_conn; runs on the thread that owns the connection
 * core (the I/O thread). The results are read after the done callback.
 */
#ifndef CORE_NEGOTIATE_H
#define CORE_NEGOTIATE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/core_err.h"
#include "smb2/smb2_conn.h"

enum core_neg_state {
  CORE_NEG_NONE = 0,
  CORE_NEG_SENT,
  CORE_NEG_DONE,
  CORE_NEG_FAILED,
};

struct core_neg_cfg {
  const char *server;            /* for the netname context and messages */
  const uint16_t *dialects;      /* ascending; copied */
  size_t n_dialects;             /* 1..8 */
  uint32_t capabilities;         /* SMB2_GLOBAL_CAP_* we offer */
  uint8_t client_guid[16];
  uint8_t salt[32];              /* 3.1.1 preauth salt */
  bool transport_encrypted;      /* QUIC: offer transport-level security */
};

struct core_neg;
typedef void (*core_neg_done_fn)(void *arg, struct core_neg *n);

struct core_neg {
  enum core_neg_state state;
  /* DONE: what the connection uses */
  uint16_t dialect;
  uint32_t server_caps;
  uint16_t server_security_mode;
  uint8_t server_guid[16];
  uint32_t max_read, max_write, max_transact;
  bool large_mtu;
  uint16_t cipher;               /* 0: none */
  uint16_t signing_alg;
  bool transport_security;       /* accepted (2.2.3.1.5) */
  uint8_t preauth[64];           /* 3.1.1: hash after NEGOTIATE */
  uint8_t *spnego_hint;          /* the reply's security buffer (owned) */
  size_t spnego_hint_len;
  bool validated;                /* 3.0/3.0.2 validation done */
  struct core_err err;           /* FAILED: what and why */
  /* private */
  struct core_neg_cfg cfg;
  uint16_t dialects[8];
  char server[256];
  struct smb2_conn *conn;
  core_neg_done_fn done;
  void *arg;
};

/* Send NEGOTIATE on conn. done runs once on the I/O thread when the
 * state is DONE or FAILED (the connection core then knows whether large
 * requests are allowed). Returns 0 or an error (FAILED, no callback). */
int core_neg_start(struct core_neg *n, struct smb2_conn *conn,
                   const struct core_neg_cfg *cfg, core_neg_done_fn done,
                   void *arg);

/* MS-SMB2 3.2.5.5: FSCTL_VALIDATE_NEGOTIATE_INFO on a tree of session
 * sec (3.0 and 3.0.2 only; the caller checks). The reply is signed; any
 * difference from what NEGOTIATE said is a possible downgrade attack.
 * done runs as for core_neg_start with state DONE (validated set) or
 * FAILED. */
int core_neg_validate(struct core_neg *n, struct smb2_conn *conn,
                      const struct smb2_sec *sec, uint32_t tree_id,
                      core_neg_done_fn done, void *arg);

/* Free the hint. */
void core_neg_clear(struct core_neg *n);
/* A reconnect negotiated into src (DONE): its results go to dst, field
 * by field (other threads read dst's sizes meanwhile: none is ever 0),
 * and the hint moves over. cfg stays dst's. */
void core_neg_take(struct core_neg *dst, struct core_neg *src);

#endif
