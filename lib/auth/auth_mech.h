/* A client authentication mechanism inside SPNEGO, as the rounds of
 * SESSION_SETUP carry it (MS-SMB2 3.2.4.2.3, MS-SPNG 3.1.5, RFC 4178).
 *
 * The session state machine (lib/core/core_session.c) drives it without
 * knowing which mechanism it is: start() gives the first token; each
 * reply's status and token go to step(), which gives the next token, says
 * the logon is complete (mechListMIC checked), or that the server chose
 * NTLMSSP instead; refused() explains a round the server failed.
 *
 * Tokens handed out are malloc'd; the caller frees them. After a failure
 * m->err says what failed and what to do, naming the server and the user
 * (in the library's words; no command-line flags). Not thread-safe: one
 * session state machine owns a mechanism.
 */
#ifndef SMBQ_AUTH_MECH_H
#define SMBQ_AUTH_MECH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/krb5_gss.h"
#include "auth/ntlmssp.h"

enum auth_result {
  AUTH_DONE = 0,     /* authenticated: the session key is available */
  AUTH_SEND = 1,     /* send *out in another SESSION_SETUP round */
  AUTH_FALLBACK = 2, /* the server chose NTLMSSP: start over with NTLM */
};

struct auth_mech;

struct auth_mech_ops {
  /* The first token (a SPNEGO negTokenInit). 0 or an error. */
  int (*start)(struct auth_mech *m, uint8_t **out, size_t *len);
  /* A round's reply: more is true for STATUS_MORE_PROCESSING_REQUIRED,
   * false for STATUS_SUCCESS; token its security buffer (may be empty).
   * Returns an auth_result or a negative error. */
  int (*step)(struct auth_mech *m, bool more, const uint8_t *token,
              size_t len, uint8_t **out, size_t *out_len);
  /* The server failed a round with status (rc: its SMBQ_ERR_*): set
   * m->err and return the error to report. */
  int (*refused)(struct auth_mech *m, int rc, uint32_t status,
                 const uint8_t *token, size_t len);
  /* The session key (MS-SMB2 3.2.5.3): 0, or an error for a logon
   * without one (anonymous). */
  int (*session_key)(struct auth_mech *m, uint8_t key[16]);
  void (*free)(struct auth_mech *m);
};

struct auth_mech {
  const struct auth_mech_ops *ops;
  const char *name;        /* "NTLMv2" or "Kerberos" */
  char server[256];
  char err[1024];
};

/* NTLMv2 in SPNEGO. who labels the user in messages ("DOM\\alice").
 * NULL on allocation failure. */
struct auth_mech *auth_ntlm_new(const struct ntlmssp_creds *creds,
                                const struct ntlmssp_env *env,
                                const char *server, const char *who);

/* Kerberos in SPNEGO through GSSAPI (krb5_gss.h): gets the ticket now
 * (the KDC exchanges block). offer_ntlm lists NTLMSSP in the SPNEGO
 * offer too. NULL with *rc and err set when no ticket could be had. */
struct auth_mech *auth_krb5_new(const struct kgss_cfg *cfg, bool offer_ntlm,
                                int *rc, char *err, size_t errlen);

/* For the mechanisms: record what failed in m->err and return rc. */
int auth_mech_fail(struct auth_mech *m, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Free (wipes key material). NULL is fine. */
void auth_mech_free(struct auth_mech *m);

#endif
