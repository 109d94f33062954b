/* srvsvc (MS-SRVS): the NetrShareEnum stub at information level 1
 * (name, type, remark), sans-I/O. Stub data only: lib/rpc/dcerpc.h wraps
 * it in REQUEST/RESPONSE PDUs. */
#ifndef SMBQ_SRVSVC_H
#define SMBQ_SRVSVC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rpc/dcerpc.h"

/* The interface: 4b324fc8-1670-01d3-1278-5a47bf6ee188 v3.0 (MS-SRVS 1.9),
 * reached over the named pipe \PIPE\srvsvc (MS-SRVS 2.1). */
extern const struct dcerpc_syntax_id srvsvc_syntax;
#define SRVSVC_PIPE_NAME "srvsvc"
#define SRVSVC_OPNUM_NETR_SHARE_ENUM 15 /* MS-SRVS 3.1.4.8 */

/* shi1_type (MS-SRVS 2.2.2.4): one base type in the low byte
 * (STYPE_MASK), ORed with the flags. */
#define SRVSVC_STYPE_DISKTREE 0x00000000u
#define SRVSVC_STYPE_PRINTQ 0x00000001u
#define SRVSVC_STYPE_DEVICE 0x00000002u
#define SRVSVC_STYPE_IPC 0x00000003u
#define SRVSVC_STYPE_MASK 0x000000FFu
#define SRVSVC_STYPE_TEMPORARY 0x40000000u
#define SRVSVC_STYPE_SPECIAL 0x80000000u

/* PreferedMaximumLength: return everything (MS-SRVS 2.2.2.2) */
#define SRVSVC_MAX_PREFERRED_LENGTH 0xFFFFFFFFu

/* NET_API_STATUS values the caller acts on (MS-ERREF 2.2) */
#define SRVSVC_WERR_OK 0u
#define SRVSVC_WERR_ACCESS_DENIED 5u
#define SRVSVC_WERR_INVALID_LEVEL 124u
#define SRVSVC_WERR_MORE_DATA 234u

/* At most this many entries in one reply, whatever the server says. */
#define SRVSVC_MAX_SHARES 65536u

struct srvsvc_share_enum_req {
  const uint8_t *server; /* ServerName, UTF-16LE without NUL; NULL sends a
                            NULL pointer (the server's own name) */
  size_t server_len;     /* bytes, even, at most 2048 */
  uint32_t prefmaxlen;   /* PreferedMaximumLength */
  const uint32_t *resume; /* ResumeHandle; NULL sends a NULL pointer */
};

/* The NetrShareEnum request stub (MS-SRVS 3.1.4.8) asking for level 1:
 * ServerName ([string, unique] wchar_t*), InfoStruct (Level 1, a
 * SHARE_INFO_1_CONTAINER with no entries), PreferedMaximumLength,
 * ResumeHandle ([unique] DWORD*). Returns the length or SMBQ_ERR_INVAL /
 * SMBQ_ERR_BUFSMALL. */
long srvsvc_encode_share_enum_req(uint8_t *out, size_t cap,
                                  const struct srvsvc_share_enum_req *r);
size_t srvsvc_share_enum_req_size(const struct srvsvc_share_enum_req *r);

/* One SHARE_INFO_1 (MS-SRVS 2.2.4.23): the strings point into the stub
 * given to the decoder (UTF-16LE, terminator stripped). A NULL remark
 * pointer gives remark NULL. */
struct srvsvc_share1 {
  const uint8_t *name;
  size_t name_len;
  uint32_t type;
  const uint8_t *remark;
  size_t remark_len;
};

struct srvsvc_share_enum_rsp {
  uint32_t count;
  struct srvsvc_share1 *shares; /* malloc'd, count entries */
  uint32_t total_entries;
  bool has_resume;
  uint32_t resume;
  uint32_t werror;              /* the NET_API_STATUS return value */
};

/* Decode the reply stub: InfoStruct (level 1 only), TotalEntries,
 * ResumeHandle, return value. Every count and length is checked against
 * the stub, the entry count also against SRVSVC_MAX_SHARES, so what is
 * allocated is bounded by the stub's size. The caller judges werror
 * (entries may come with SRVSVC_WERR_MORE_DATA). Returns 0 (free with
 * srvsvc_share_enum_rsp_free, also after an error), SMBQ_ERR_PROTO
 * (malformed: a bad count, a string outside the stub, another level, a
 * share without a name), SMBQ_ERR_NOMEM. */
int srvsvc_decode_share_enum_rsp(const uint8_t *stub, size_t len,
                                 struct srvsvc_share_enum_rsp *r);
void srvsvc_share_enum_rsp_free(struct srvsvc_share_enum_rsp *r);

/* "WERR_ACCESS_DENIED", ... or NULL. */
const char *srvsvc_werror_name(uint32_t werror);

#endif
