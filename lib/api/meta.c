/* Path operations done in one round trip each: CREATE + (QUERY_INFO |
 * SET_INFO) + CLOSE compounded (MS-SMB2 3.2.4.1.4). */
#include <stdlib.h>
#include <string.h>

#include "api/conn_internal.h"
#include "api/fileops.h"
#include "api/lease.h"
#include "smbq_bytes.h"

/* CREATE path, then `mid` (may be NULL) on the related handle, then CLOSE,
 * in one compound. The first failing element decides the result. */
static int path_compound(smbq_tree *t, const char *path,
                         const struct core_create_spec *spec,
                         struct smb2_req *mid, api_parse_fn parse, void *ctx,
                         uint32_t *status) {
  struct smb2_req *cr = core_create_req(&t->core, t->conn->leases, path, spec);
  struct smb2_req *cl = api_close_req(t, smb2_related_file_id);
  if (!cr || !cl) {
    smb2_req_free(cr);
    smb2_req_free(cl);
    smb2_req_free(mid);
    return SMBQ_ERR_NOMEM;
  }
  struct api_call call;
  struct api_elem e[3];
  int n = 0;
  api_elem_init(&e[n++], &call, cr, NULL, NULL);
  if (mid) {
    api_elem_init(&e[n++], &call, mid, parse, ctx);
    cr->chain = mid;
    mid->chain = cl;
  } else {
    cr->chain = cl;
  }
  api_elem_init(&e[n++], &call, cl, NULL, NULL);
  int rc = api_run(t->conn, &call, n, cr);
  *status = 0;
  if (rc < 0)
    return rc;
  for (int i = 0; i < n; i++) {
    if (e[i].rc < 0) {
      *status = e[i].status;
      return e[i].rc;
    }
  }
  return 0;
}

int smbq_stat(smbq_tree *t, const char *path, struct smbq_stat *st) {
  if (!t || !path || !st)
    return SMBQ_ERR_INVAL;
  struct core_create_spec spec = {.access = SMB2_FILE_READ_ATTRIBUTES,
                                 .disposition = SMB2_FILE_OPEN};
  struct smb2_req *q = api_query_info_req(
      t, smb2_related_file_id, SMB2_0_INFO_FILE, SMB2_FILE_ALL_INFORMATION);
  if (!q)
    return SMBQ_ERR_NOMEM;
  uint32_t status;
  int rc = path_compound(t, path, &spec, q, api_parse_all_info, st, &status);
  return rc < 0 ? api_fail(t->conn, rc, status, "cannot stat '%s'", path)
                : 0;
}

static int parse_fs_size(void *ctx, uint32_t status, const uint8_t *msg,
                         size_t len) {
  struct smbq_statvfs *sv = ctx;
  if (status) /* a warning: nothing we know how to read */
    return SMBQ_ERR_PROTO;
  const uint8_t *buf;
  size_t blen;
  struct smb2_fs_full_size fs;
  int rc = smb2_decode_query_info_rsp(msg, len, &buf, &blen);
  if (rc == 0)
    rc = smb2_decode_fs_full_size(buf, blen, &fs);
  if (rc < 0)
    return rc;
  sv->block_size = (uint64_t)fs.sectors_per_unit * fs.bytes_per_sector;
  sv->total_blocks = fs.total_units;
  sv->free_blocks = fs.caller_avail_units;
  return 0;
}

int smbq_statvfs(smbq_tree *t, struct smbq_statvfs *sv) {
  if (!t || !sv)
    return SMBQ_ERR_INVAL;
  struct core_create_spec spec = {.access = SMB2_FILE_READ_ATTRIBUTES,
                                 .disposition = SMB2_FILE_OPEN,
                                 .options = SMB2_FILE_DIRECTORY_FILE};
  struct smb2_req *q =
      api_query_info_req(t, smb2_related_file_id, SMB2_0_INFO_FILESYSTEM,
                         SMB2_FS_FULL_SIZE_INFORMATION);
  if (!q)
    return SMBQ_ERR_NOMEM;
  uint32_t status;
  int rc = path_compound(t, "", &spec, q, parse_fs_size, sv, &status);
  return rc < 0 ? api_fail(t->conn, rc, status,
                           "cannot read the size of share '%s'", t->core.share)
                : 0;
}

/* A path compound that opens with our lease key for the file when we
 * hold one: the server then does not break our own lease (a delete or
 * rename open breaks HANDLE caching of every other key). */
static int lease_compound(smbq_tree *t, const char *path,
                          struct core_create_spec *spec, struct smb2_req *mid,
                          uint32_t *status) {
  struct core_leases *leases = t->conn->leases;
  spec->lease = core_lease_find(leases, t->core.tree_id, path);
  spec->lease_want = core_lease_state(leases, spec->lease);
  int rc = path_compound(t, path, spec, mid, NULL, NULL, status);
  core_lease_put(leases, spec->lease);
  return rc;
}

/* CREATE (new directory) + QUERY_INFO when st is wanted + CLOSE. */
int smbq_mkdir_stat(smbq_tree *t, const char *path, struct smbq_stat *st) {
  if (!t || !path)
    return SMBQ_ERR_INVAL;
  struct core_create_spec spec = {.access = SMB2_FILE_READ_ATTRIBUTES,
                                 .disposition = SMB2_FILE_CREATE,
                                 .options = SMB2_FILE_DIRECTORY_FILE,
                                 .attributes = SMB2_ATTR_DIRECTORY};
  struct smb2_req *q = NULL;
  if (st) {
    q = api_query_info_req(t, smb2_related_file_id, SMB2_0_INFO_FILE,
                           SMB2_FILE_ALL_INFORMATION);
    if (!q)
      return SMBQ_ERR_NOMEM;
  }
  uint32_t status;
  int rc = path_compound(t, path, &spec, q, st ? api_parse_all_info : NULL,
                         st, &status);
  return rc < 0 ? api_fail(t->conn, rc, status,
                           "cannot create directory '%s'", path)
                : 0;
}

int smbq_mkdir(smbq_tree *t, const char *path) {
  return smbq_mkdir_stat(t, path, NULL);
}

/* Delete through FileDispositionInformation, so that "directory not empty"
 * and "file in use" are reported where Windows reports them. */
static int delete_path(smbq_tree *t, const char *path, uint32_t options,
                       const char *what) {
  if (!t || !path || !path[0])
    return SMBQ_ERR_INVAL;
  /* a handle we keep for reuse would leave the name "delete pending" */
  api_cache_flush(t, path);
  struct core_create_spec spec = {.access = SMB2_DELETE |
                                           SMB2_FILE_READ_ATTRIBUTES,
                                 .disposition = SMB2_FILE_OPEN,
                                 .options = options};
  uint8_t one = 1;
  struct smb2_req *si = api_set_info_req(
      t, smb2_related_file_id, SMB2_FILE_DISPOSITION_INFORMATION, &one, 1);
  if (!si)
    return SMBQ_ERR_NOMEM;
  uint32_t status;
  unsigned outages = api_reconnect_count(t->conn);
  int rc = lease_compound(t, path, &spec, si, &status);
  /* Sent again after a reconnect: the first one may have done it before
   * the connection went (a path compound is not a durable open the
   * server could recognise as a replay, MS-SMB2 3.3.5.9). Gone is what
   * was asked. */
  if (rc == SMBQ_ERR_NOENT && api_reconnect_count(t->conn) != outages)
    rc = 0;
  if (rc == 0)
    core_lease_doom(t->conn->leases, t->core.tree_id, path);
  return rc < 0 ? api_fail(t->conn, rc, status, "cannot remove %s '%s'",
                           what, path)
                : 0;
}

int smbq_rmdir(smbq_tree *t, const char *path) {
  return delete_path(t, path, SMB2_FILE_DIRECTORY_FILE, "directory");
}

int smbq_unlink(smbq_tree *t, const char *path) {
  return delete_path(t, path, SMB2_FILE_NON_DIRECTORY_FILE, "file");
}

static bool renamed_already(smbq_tree *t, const char *from, const char *to) {
  struct smbq_stat st;
  return smbq_stat(t, from, &st) == SMBQ_ERR_NOENT &&
         smbq_stat(t, to, &st) == 0;
}

int smbq_rename(smbq_tree *t, const char *from, const char *to,
                unsigned flags) {
  if (!t || !from || !to || !from[0] || !to[0])
    return SMBQ_ERR_INVAL;
  uint8_t *name;
  size_t nlen;
  if (core_path_utf16(to, &name, &nlen) < 0)
    return api_fail(t->conn, SMBQ_ERR_INVAL, 0, "bad path '%s'", to);
  uint8_t *buf = malloc(20 + nlen);
  long bl = buf ? smb2_encode_rename_info(buf, 20 + nlen,
                                          !(flags & SMBQ_RENAME_NOREPLACE),
                                          name, nlen)
                : -1;
  free(name);
  struct smb2_req *si =
      bl < 0 ? NULL
             : api_set_info_req(t, smb2_related_file_id,
                                SMB2_FILE_RENAME_INFORMATION, buf,
                                (size_t)bl);
  free(buf);
  if (!si)
    return SMBQ_ERR_NOMEM;
  struct core_create_spec spec = {.access = SMB2_DELETE |
                                           SMB2_FILE_READ_ATTRIBUTES,
                                 .disposition = SMB2_FILE_OPEN};
  /* open handles below a renamed directory make the server refuse it;
   * a kept handle on the target would keep the replaced file alive */
  api_cache_flush(t, from);
  api_cache_flush(t, to);
  uint32_t status;
  unsigned outages = api_reconnect_count(t->conn);
  int rc = lease_compound(t, from, &spec, si, &status);
  /* Sent again after a reconnect (see delete_path): the first may have
   * renamed it already; then the source is gone and the target there. */
  if (rc == SMBQ_ERR_NOENT && api_reconnect_count(t->conn) != outages &&
      renamed_already(t, from, to))
    rc = 0;
  if (rc == 0) { /* the replaced file's key must not pass to the moved */
    core_lease_doom(t->conn->leases, t->core.tree_id, to);
    core_lease_rename(t->conn->leases, t->core.tree_id, from, to);
  }
  return rc < 0 ? api_fail(t->conn, rc, status,
                           "cannot rename '%s' to '%s'", from, to)
                : 0;
}

static int set_basic(smbq_tree *t, const char *path,
                     const struct smb2_file_times *ft, uint32_t attrs) {
  uint8_t buf[40];
  smb2_encode_basic_info(buf, sizeof(buf), ft, attrs);
  struct smb2_req *si = api_set_info_req(
      t, smb2_related_file_id, SMB2_FILE_BASIC_INFORMATION, buf, 40);
  if (!si)
    return SMBQ_ERR_NOMEM;
  struct core_create_spec spec = {.access = SMB2_FILE_WRITE_ATTRIBUTES |
                                           SMB2_FILE_READ_ATTRIBUTES,
                                 .disposition = SMB2_FILE_OPEN};
  /* a kept handle was opened under the old attributes (read-only decides
   * whether a write open succeeds): the next open must ask the server */
  api_cache_flush(t, path);
  uint32_t status;
  int rc = path_compound(t, path, &spec, si, NULL, NULL, &status);
  return rc < 0 ? api_fail(t->conn, rc, status,
                           "cannot change attributes of '%s'", path)
                : 0;
}

int smbq_set_times(smbq_tree *t, const char *path,
                   const struct timespec *atime,
                   const struct timespec *mtime) {
  if (!t || !path)
    return SMBQ_ERR_INVAL;
  struct smb2_file_times ft = {0, 0, 0, 0};
  if (atime)
    ft.last_access = api_ts_to_filetime(atime);
  if (mtime)
    ft.last_write = api_ts_to_filetime(mtime);
  return set_basic(t, path, &ft, 0);
}

int smbq_set_attributes(smbq_tree *t, const char *path,
                        uint32_t attributes) {
  if (!t || !path)
    return SMBQ_ERR_INVAL;
  struct smb2_file_times ft = {0, 0, 0, 0};
  /* 0 means "unchanged" on the wire; NORMAL clears every bit. */
  return set_basic(t, path, &ft, attributes ? attributes : SMB2_ATTR_NORMAL);
}
