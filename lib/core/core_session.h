/* The session state machine (MS-SMB2 3.2.4.2.3, 3.2.5.3): SESSION_SETUP
 * rounds carrying an authentication mechanism's tokens (auth_mech.h),
 * the preauth integrity hash of 3.1.1, key derivation, the signing and
 * encryption policy, and the checks on the final reply.
 *
 *   NONE --start--> SETUP --reply MORE_PROCESSING, token--> SETUP (next round)
 *   SETUP --server chose NTLMSSP--> SETUP (next mechanism, a new session)
 *   SETUP --final reply, keys derived, signature good--> VALID
 *   SETUP --error status / bad reply / transport gone--> FAILED
 *
 * Sans-I/O over smb2_conn: it submits requests and steps in their
 * completion callbacks, so it runs on the thread that owns the connection
 * core (the I/O thread). Its results (the keys in sec/enc_sec, the
 * mechanism's name, guest or not) are read after the done callback.
 */
#ifndef CORE_SESSION_H
#define CORE_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/auth_mech.h"
#include "core/core_err.h"
#include "smb2/smb2_conn.h"

enum core_sess_state {
  CORE_SESS_NONE = 0,
  CORE_SESS_SETUP,
  CORE_SESS_VALID,
  CORE_SESS_FAILED,
};

#define CORE_SESS_MAX_MECHS 2

struct core_sess_cfg {
  const char *server;           /* for messages; copied */
  uint16_t dialect;
  const uint8_t *preauth;       /* the NEGOTIATE's hash (3.1.1); copied */
  uint16_t cipher;              /* negotiated, 0 = none */
  uint16_t signing_alg;
  bool transport_security;      /* QUIC: no SMB signing/encryption */
  bool want_encrypt;            /* the caller requires encryption */
  bool allow_guest;
  uint64_t previous_session_id; /* a reconnect: the session this one
                                   replaces (MS-SMB2 3.2.4.2.3) */
  /* tried in order; the next one only when the server chose NTLMSSP.
   * The session owns them from core_sess_start on and frees them when
   * it reaches VALID or FAILED. */
  struct auth_mech *mechs[CORE_SESS_MAX_MECHS];
  size_t n_mechs;
  int (*random)(void *user, uint8_t *buf, size_t n);
  void *user;
};

struct core_sess;
typedef void (*core_sess_done_fn)(void *arg, struct core_sess *s);

struct core_sess {
  enum core_sess_state state;
  struct smb2_sec sec;        /* what requests of this session carry */
  struct smb2_sec enc_sec;    /* the same keys, encryption forced (for
                                 shares that require it) */
  bool guest;                 /* guest or anonymous logon */
  const char *mech_name;      /* "Kerberos", "NTLMv2" (static) */
  struct core_err err;        /* FAILED: what failed and what to do */
  /* private */
  struct core_sess_cfg cfg;
  char server[256];
  uint8_t neg_preauth[SMB2_PREAUTH_HASH_SIZE];
  uint8_t preauth[SMB2_PREAUTH_HASH_SIZE];
  size_t mech;                /* index of the mechanism in use */
  bool reauth;                /* renewing a VALID session's logon */
  struct smb2_conn *conn;
  core_sess_done_fn done;
  void *arg;
};

/* Start the rounds on conn (I/O thread). done runs once, on the I/O
 * thread, when the state is VALID or FAILED. Returns 0, or an error
 * (state FAILED, err set; done is not called). */
int core_sess_start(struct core_sess *s, struct smb2_conn *conn,
                    const struct core_sess_cfg *cfg, core_sess_done_fn done,
                    void *arg);

/* MS-SMB2 3.2.4.2.3.1: the server said the session expired (a Kerberos
 * ticket's end): SESSION_SETUP again on the same SessionId with fresh
 * tokens (cfg's mechanisms, taken over as by core_sess_start), signed
 * with the session's keys, which stay (3.2.5.3.2). done runs once with
 * the state VALID (renewed) or FAILED. Returns 0 or an error (FAILED, no
 * callback). */
int core_sess_reauth(struct core_sess *s, struct smb2_conn *conn,
                     const struct core_sess_cfg *cfg, core_sess_done_fn done,
                     void *arg);
/* Free what is left of the mechanisms and wipe the keys. */
void core_sess_clear(struct core_sess *s);

#endif
