/* A small file in one round trip (smbq_put_small): CREATE, WRITE,
 * SET_INFO(FileBasicInformation), QUERY_INFO(FileInternalInformation),
 * optionally FLUSH, and CLOSE with SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB, all
 * on the CREATE's handle in one related compound (MS-SMB2 3.2.4.1.4).
 *
 * Order matters: the times are set after the data is written (a server
 * updates the write time on WRITE; an explicitly set one then sticks until
 * the close), and the CLOSE reports the attributes the file ended with. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/file_ext.h"
#include "api/fileops.h"
#include "api/lease.h"
#include "api/put.h"
#include "smbq_bytes.h"

/* One WRITE carries the data: large enough for what the compound is for,
 * small enough that one request's credits stay modest. */
#define PUT_MAX (1024u * 1024u)

#define PUT_FLAGS (SMBQ_O_CREAT | SMBQ_O_EXCL | SMBQ_O_TRUNC | SMBQ_PUT_SYNC)

size_t smbq_put_small_max(const smbq_tree *t) {
  if (!t || !t->conn)
    return 0;
  size_t m = t->conn->neg.max_write;
  return m < PUT_MAX ? m : PUT_MAX;
}

bool api_put_basic_info(const struct smbq_put_attrs *a, uint8_t out[40]) {
  if (!a || !(a->set & (SMBQ_PUT_ATIME | SMBQ_PUT_MTIME | SMBQ_PUT_ATTRIBUTES)))
    return false;
  struct smb2_file_times ft = {0, 0, 0, 0};
  if (a->set & SMBQ_PUT_ATIME)
    ft.last_access = api_ts_to_filetime(&a->atime);
  if (a->set & SMBQ_PUT_MTIME)
    ft.last_write = api_ts_to_filetime(&a->mtime);
  uint32_t attrs = 0; /* unchanged */
  if (a->set & SMBQ_PUT_ATTRIBUTES)
    attrs = a->attributes ? a->attributes : SMB2_ATTR_NORMAL;
  smb2_encode_basic_info(out, 40, &ft, attrs);
  return true;
}

struct put_ctx {
  smbq_conn *c;
  struct core_lease *lease;
  uint32_t len;
  struct smb2_create_rsp cr;
  uint64_t file_id;
  struct smbq_stat st;
  bool got_st;
};

static int status_rc(uint32_t status) {
  int e = api_status_err(status);
  return status && !e ? SMBQ_ERR_PROTO : e;
}

/* On the I/O thread: the lease grant is recorded while the reply is at
 * hand (as smbq_open does). */
static int parse_create(void *arg, uint32_t status, const uint8_t *msg,
                        size_t len) {
  struct put_ctx *p = arg;
  if (status)
    return status_rc(status);
  int rc = smb2_decode_create_rsp(msg, len, &p->cr);
  if (rc == 0 && p->lease)
    core_lease_granted(p->c->leases, p->lease, &p->cr);
  p->cr.contexts = NULL; /* points into msg */
  p->cr.contexts_len = 0;
  return rc;
}

static int parse_write(void *arg, uint32_t status, const uint8_t *msg,
                       size_t len) {
  struct put_ctx *p = arg;
  uint32_t count = 0;
  if (status)
    return status_rc(status);
  if (smb2_decode_write_rsp(msg, len, &count) < 0)
    return SMBQ_ERR_PROTO;
  return count == p->len ? 0 : SMBQ_ERR_NOSPACE; /* short: disk full */
}

static int parse_internal(void *arg, uint32_t status, const uint8_t *msg,
                          size_t len) {
  struct put_ctx *p = arg;
  if (status)
    return status_rc(status);
  const uint8_t *buf;
  size_t blen;
  int rc = smb2_decode_query_info_rsp(msg, len, &buf, &blen);
  if (rc < 0)
    return rc;
  if (blen < 8) /* MS-FSCC 2.4.22: IndexNumber, 8 bytes */
    return SMBQ_ERR_PROTO;
  p->file_id = smbq_le64_at(buf);
  return 0;
}

static int parse_close(void *arg, uint32_t status, const uint8_t *msg,
                       size_t len) {
  struct put_ctx *p = arg;
  if (status)
    return status_rc(status);
  struct smb2_close_rsp r;
  if (smb2_decode_close_rsp(msg, len, &r) < 0)
    return SMBQ_ERR_PROTO;
  if (r.flags & SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB) {
    api_close_rsp_stat(&r, &p->st);
    p->got_st = true;
  }
  return 0;
}

static struct smb2_req *write_req(smbq_tree *t, const void *data,
                                  uint32_t len) {
  struct smb2_req *r = api_req(t->conn, t, SMB2_WRITE,
                               smb2_write_req_size(len));
  if (!r)
    return NULL;
  long n = smb2_encode_write_req(smb2_req_body(r), smb2_req_body_cap(r),
                                 smb2_related_file_id, 0, data, len);
  if (n < 0) {
    smb2_req_free(r);
    return NULL;
  }
  smb2_req_set_body_len(r, (size_t)n);
  r->payload_size = len;
  return r;
}

static struct smb2_req *flush_req(smbq_tree *t) {
  struct smb2_req *r = api_req(t->conn, t, SMB2_FLUSH, 24);
  if (r)
    smb2_req_set_body_len(r, (size_t)smb2_encode_flush_req(
                                 smb2_req_body(r), 24, smb2_related_file_id));
  return r;
}

static struct smb2_req *close_req(smbq_tree *t) {
  struct smb2_req *r = api_req(t->conn, t, SMB2_CLOSE, 24);
  if (r)
    smb2_req_set_body_len(
        r, (size_t)smb2_encode_close_req(smb2_req_body(r), 24,
                                         SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB,
                                         smb2_related_file_id));
  return r;
}

/* The rights our other opens of path hold, carried by the CREATE so that
 * it breaks none of them; NULL when they hold nothing. */
static struct core_lease *our_lease(smbq_tree *t, const char *path,
                                    uint32_t *want) {
  struct core_leases *leases = t->conn->leases;
  struct core_lease *l = core_lease_find(leases, t->core.tree_id, path);
  *want = core_lease_state(leases, l);
  if (l && !*want) {
    core_lease_put(leases, l);
    l = NULL;
  }
  return l;
}

enum { E_CREATE, E_WRITE, E_SETINFO, E_QUERY, E_FLUSH, E_CLOSE, E_MAX };

static const char *const step_name[E_MAX] = {
    [E_CREATE] = "cannot create",
    [E_WRITE] = "writing failed for",
    [E_SETINFO] = "cannot set the times and attributes of",
    [E_QUERY] = "cannot read the file id of",
    [E_FLUSH] = "flushing failed for",
    [E_CLOSE] = "closing failed for",
};

int smbq_put_small(smbq_tree *t, const char *path, unsigned flags,
                   const void *data, size_t len,
                   const struct smbq_put_attrs *attrs,
                   struct smbq_stat *st_out) {
  if (!t || !path || (len && !data) || (flags & ~PUT_FLAGS) ||
      len > smbq_put_small_max(t))
    return SMBQ_ERR_INVAL;
  smbq_conn *c = t->conn;
  uint8_t basic[40];
  bool set_basic = api_put_basic_info(attrs, basic);
  /* a handle kept for reuse would go on reporting the old contents */
  api_cache_flush(t, path);
  struct put_ctx p = {.c = c, .len = (uint32_t)len};
  uint32_t want = 0;
  p.lease = our_lease(t, path, &want);
  unsigned oflags = flags & (SMBQ_O_CREAT | SMBQ_O_EXCL | SMBQ_O_TRUNC);
  struct core_create_spec spec = {
      .access = SMB2_FILE_WRITE_DATA | SMB2_FILE_APPEND_DATA |
                SMB2_FILE_WRITE_ATTRIBUTES | SMB2_FILE_READ_ATTRIBUTES |
                SMB2_SYNCHRONIZE,
      .disposition = api_open_disposition(oflags),
      .options = SMB2_FILE_NON_DIRECTORY_FILE,
      .attributes = SMB2_ATTR_NORMAL,
      .lease = p.lease,
      .lease_want = want,
  };
  struct smb2_req *r[E_MAX] = {NULL};
  r[E_CREATE] = core_create_req(&t->core, t->conn->leases, path, &spec);
  if (len)
    r[E_WRITE] = write_req(t, data, (uint32_t)len);
  if (set_basic)
    r[E_SETINFO] = api_set_info_req(t, smb2_related_file_id,
                                    SMB2_FILE_BASIC_INFORMATION, basic, 40);
  r[E_QUERY] = api_query_info_req(t, smb2_related_file_id, SMB2_0_INFO_FILE,
                                  SMB2_FILE_INTERNAL_INFORMATION);
  if (flags & SMBQ_PUT_SYNC)
    r[E_FLUSH] = flush_req(t);
  r[E_CLOSE] = close_req(t);
  bool ok = r[E_CREATE] && r[E_QUERY] && r[E_CLOSE] &&
            (!len || r[E_WRITE]) && (!set_basic || r[E_SETINFO]) &&
            (!(flags & SMBQ_PUT_SYNC) || r[E_FLUSH]);
  if (!ok) {
    for (int i = 0; i < E_MAX; i++)
      smb2_req_free(r[i]);
    api_lease_release(t, path, p.lease);
    return api_fail(c, r[E_CREATE] ? SMBQ_ERR_NOMEM : SMBQ_ERR_INVAL, 0,
                    "cannot write '%s' in one round trip", path);
  }
  static const api_parse_fn parse[E_MAX] = {
      [E_CREATE] = parse_create, [E_WRITE] = parse_write,
      [E_QUERY] = parse_internal, [E_CLOSE] = parse_close,
  };
  struct api_call call;
  struct api_elem e[E_MAX];
  int idx[E_MAX], n = 0;
  struct smb2_req *head = NULL, *prev = NULL;
  for (int i = 0; i < E_MAX; i++) {
    if (!r[i])
      continue;
    api_elem_init(&e[n], &call, r[i], parse[i], &p);
    idx[n++] = i;
    if (prev)
      prev->chain = r[i];
    else
      head = r[i];
    prev = r[i];
  }
  int rc = api_run(c, &call, n, head);
  uint32_t status = 0;
  int failed = -1;
  for (int i = 0; rc == 0 && i < n; i++) {
    if (e[i].rc < 0) {
      rc = e[i].rc;
      status = e[i].status;
      failed = idx[i];
    }
  }
  api_lease_release(t, path, p.lease);
  if (rc < 0)
    return api_fail(c, rc, status, "%s '%s'",
                    step_name[failed < 0 ? E_CREATE : failed], path);
  if (st_out) {
    if (!p.got_st) /* a server that ignored POSTQUERY_ATTRIB */
      memset(&p.st, 0, sizeof(p.st));
    p.st.file_id = p.file_id;
    *st_out = p.st;
  }
  return 0;
}
