/* SPNEGO (RFC 4178, MS-SPNG) token encoding and decoding: just the DER we
 * need, bounds-checked. Pure functions; output buffers are malloc'd and
 * owned by the caller.
 */
#ifndef SPNEGO_H
#define SPNEGO_H

#include <stddef.h>
#include <stdint.h>

/* Mechanism OIDs we know (DER content bytes, without tag/length). */
enum spnego_mech {
  SPNEGO_MECH_UNKNOWN = 0,
  SPNEGO_MECH_NTLMSSP,  /* 1.3.6.1.4.1.311.2.2.10 */
  SPNEGO_MECH_KRB5,     /* 1.2.840.113554.1.2.2 */
  SPNEGO_MECH_MSKRB5,   /* 1.2.840.48018.1.2.2 */
};

enum spnego_state {
  SPNEGO_ACCEPT_COMPLETED = 0,
  SPNEGO_ACCEPT_INCOMPLETE = 1,
  SPNEGO_REJECT = 2,
  SPNEGO_REQUEST_MIC = 3,
  SPNEGO_STATE_ABSENT = -1,
};

/* Parsed server hint from NEGOTIATE's security buffer (a GSS-API
 * InitialContextToken with OID 1.3.6.1.5.5.2 around a negTokenInit). */
struct spnego_init_hint {
  enum spnego_mech mechs[8];
  size_t n_mechs; /* known mechs only, in server order */
};

/* Parse the server's NEGOTIATE hint. An empty buffer is valid (n_mechs=0).
 * Returns 0 or SMBQ_ERR_PROTO. */
int spnego_parse_hint(const uint8_t *in, size_t len,
                      struct spnego_init_hint *out);

/* Build the client's first token: GSS-API InitialContextToken wrapping
 * negTokenInit { mechTypes = mechs, mechToken = token }.
 * Also returns the DER of the mechTypes SEQUENCE (needed for mechListMIC)
 * in *mechtypes (malloc'd, caller frees) if mechtypes != NULL. */
int spnego_build_init(const enum spnego_mech *mechs, size_t n_mechs,
                      const uint8_t *token, size_t token_len, uint8_t **out,
                      size_t *outlen, uint8_t **mechtypes,
                      size_t *mechtypes_len);

/* Build negTokenResp { responseToken, mechListMIC } (either may be absent
 * with len 0). */
int spnego_build_resp(const uint8_t *token, size_t token_len,
                      const uint8_t *mic, size_t mic_len, uint8_t **out,
                      size_t *outlen);

/* Parse the server's negTokenResp. Pointers returned point INTO `in` (valid
 * as long as `in` is). Absent fields: NULL/0; absent negState:
 * SPNEGO_STATE_ABSENT. Returns 0 or SMBQ_ERR_PROTO. */
struct spnego_resp {
  enum spnego_state state;
  enum spnego_mech supported_mech; /* UNKNOWN if absent */
  const uint8_t *token;
  size_t token_len;
  const uint8_t *mic;
  size_t mic_len;
};
int spnego_parse_resp(const uint8_t *in, size_t len, struct spnego_resp *out);

#endif
