/* srvsvc NetrShareEnum, level 1 (MS-SRVS 3.1.4.8, 2.2.4.38, 2.2.4.23;
 * NDR as in C706 ch. 14 and MS-RPCE 2.2.5). */
#include "rpc/srvsvc.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/ndr.h"
#include "smbq/smbq_err.h"
#include "smbq_bytes.h"

#define LEVEL 1
#define MAX_SERVER_LEN 2048 /* bytes of UTF-16 */
#define SHARE_INFO_1_LEN 12 /* netname ptr, type, remark ptr */

/* Referent ids of the unique pointers we send: any non-zero value will
 * do (C706 14.3.11.2); these are what Windows and Samba use. */
#define REF_SERVER 0x00020000u
#define REF_CONTAINER 0x00020004u
#define REF_RESUME 0x00020008u

const struct dcerpc_syntax_id srvsvc_syntax = {
    .uuid = {0x4b324fc8, 0x1670, 0x01d3, {0x12, 0x78},
             {0x5a, 0x47, 0xbf, 0x6e, 0xe1, 0x88}},
    .major = 3,
    .minor = 0,
};

size_t srvsvc_share_enum_req_size(const struct srvsvc_share_enum_req *r) {
  size_t len = 4; /* ServerName referent id */
  if (r->server)
    len += ndr_wstring_size(r->server_len);
  len += ndr_pad(len, 4);
  len += 4 + 4 + 4; /* Level, union discriminant, Level1 referent id */
  len += 4 + 4;     /* container: EntriesRead, Buffer (NULL) */
  len += 4;         /* PreferedMaximumLength */
  len += 4;         /* ResumeHandle referent id */
  if (r->resume)
    len += 4;
  return len;
}

long srvsvc_encode_share_enum_req(uint8_t *out, size_t cap,
                                  const struct srvsvc_share_enum_req *r) {
  if (r->server && ((r->server_len & 1) || r->server_len > MAX_SERVER_LEN))
    return SMBQ_ERR_INVAL;
  size_t len = srvsvc_share_enum_req_size(r);
  if (len > cap)
    return SMBQ_ERR_BUFSMALL;
  uint8_t *p = out;
  /* [in, string, unique] SRVSVC_HANDLE ServerName */
  p = smbq_put_le32(p, r->server ? REF_SERVER : 0);
  if (r->server)
    p = ndr_put_wstring(p, r->server, r->server_len);
  p = smbq_put_zero(p, ndr_pad((size_t)(p - out), 4));
  /* [in, out] LPSHARE_ENUM_STRUCT InfoStruct: a top-level reference
   * pointer, so no referent id; Level, then the non-encapsulated union
   * (its discriminant, then the arm: a unique pointer whose referent,
   * the empty SHARE_INFO_1_CONTAINER, follows the struct) */
  p = smbq_put_le32(p, LEVEL);
  p = smbq_put_le32(p, LEVEL);
  p = smbq_put_le32(p, REF_CONTAINER);
  p = smbq_put_le32(p, 0); /* EntriesRead */
  p = smbq_put_le32(p, 0); /* Buffer: NULL */
  p = smbq_put_le32(p, r->prefmaxlen);
  /* [in, out, unique] DWORD* ResumeHandle */
  p = smbq_put_le32(p, r->resume ? REF_RESUME : 0);
  if (r->resume)
    p = smbq_put_le32(p, *r->resume);
  assert((size_t)(p - out) == len);
  return (long)len;
}

/* The deferred strings of the entries, in element order (C706 14.3.12.3:
 * the referents of an array's embedded pointers follow the array). */
static int pull_strings(struct ndr_pull *n, struct srvsvc_share1 *s,
                        const uint8_t *flat, uint32_t count) {
  for (uint32_t i = 0; i < count; i++) {
    const uint8_t *e = flat + (size_t)i * SHARE_INFO_1_LEN;
    s[i].type = smbq_le32_at(e + 4);
    if (smbq_le32_at(e) == 0)
      return SMBQ_ERR_PROTO; /* a share needs a name */
    if (ndr_pull_wstring(n, &s[i].name, &s[i].name_len) < 0 ||
        s[i].name_len == 0)
      return SMBQ_ERR_PROTO;
    if (smbq_le32_at(e + 8) != 0 &&
        ndr_pull_wstring(n, &s[i].remark, &s[i].remark_len) < 0)
      return SMBQ_ERR_PROTO;
  }
  return 0;
}

/* SHARE_INFO_1_CONTAINER (2.2.4.33): EntriesRead and a unique pointer to
 * a conformant array of SHARE_INFO_1, whose MaximumCount must be
 * EntriesRead (size_is). */
static int pull_container(struct ndr_pull *n,
                          struct srvsvc_share_enum_rsp *r) {
  uint32_t entries, buf_ref, max_count;
  if (ndr_pull_u32(n, &entries) < 0 || ndr_pull_u32(n, &buf_ref) < 0)
    return SMBQ_ERR_PROTO;
  if (buf_ref == 0)
    return entries == 0 ? 0 : SMBQ_ERR_PROTO;
  if (ndr_pull_u32(n, &max_count) < 0 || max_count != entries ||
      entries > SRVSVC_MAX_SHARES)
    return SMBQ_ERR_PROTO;
  const uint8_t *flat = ndr_pull_take(n, 4, entries, SHARE_INFO_1_LEN);
  if (!flat)
    return SMBQ_ERR_PROTO; /* the count does not fit the stub */
  if (entries == 0)
    return 0;
  r->shares = calloc(entries, sizeof(*r->shares));
  if (!r->shares)
    return SMBQ_ERR_NOMEM;
  r->count = entries;
  return pull_strings(n, r->shares, flat, entries);
}

/* SHARE_ENUM_STRUCT (2.2.4.38): Level, the union's discriminant, and the
 * arm's unique pointer (NULL leaves no entries). */
static int pull_info_struct(struct ndr_pull *n,
                            struct srvsvc_share_enum_rsp *r) {
  uint32_t level, disc, ctr_ref;
  if (ndr_pull_u32(n, &level) < 0 || ndr_pull_u32(n, &disc) < 0 ||
      ndr_pull_u32(n, &ctr_ref) < 0)
    return SMBQ_ERR_PROTO;
  if (level != LEVEL || disc != LEVEL)
    return SMBQ_ERR_PROTO;
  return ctr_ref ? pull_container(n, r) : 0;
}

int srvsvc_decode_share_enum_rsp(const uint8_t *stub, size_t len,
                                 struct srvsvc_share_enum_rsp *r) {
  memset(r, 0, sizeof(*r));
  struct ndr_pull n;
  ndr_pull_init(&n, stub, len);
  int rc = pull_info_struct(&n, r);
  if (rc < 0)
    return rc;
  uint32_t resume_ref;
  if (ndr_pull_u32(&n, &r->total_entries) < 0 ||
      ndr_pull_u32(&n, &resume_ref) < 0)
    return SMBQ_ERR_PROTO;
  r->has_resume = resume_ref != 0;
  if (r->has_resume && ndr_pull_u32(&n, &r->resume) < 0)
    return SMBQ_ERR_PROTO;
  return ndr_pull_u32(&n, &r->werror);
}

void srvsvc_share_enum_rsp_free(struct srvsvc_share_enum_rsp *r) {
  free(r->shares);
  r->shares = NULL;
  r->count = 0;
}

const char *srvsvc_werror_name(uint32_t werror) {
  static const struct {
    uint32_t code;
    const char *name;
  } names[] = {
      {0, "WERR_OK"},
      {5, "WERR_ACCESS_DENIED"},
      {8, "WERR_NOT_ENOUGH_MEMORY"},
      {50, "WERR_NOT_SUPPORTED"},
      {87, "WERR_INVALID_PARAMETER"},
      {124, "WERR_INVALID_LEVEL"},
      {234, "WERR_MORE_DATA"},
      {1722, "RPC_S_SERVER_UNAVAILABLE"},
      {2123, "NERR_BufTooSmall"},
  };
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    if (names[i].code == werror)
      return names[i].name;
  return NULL;
}
