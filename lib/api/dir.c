/* Directory listing: CREATE the directory, then QUERY_DIRECTORY rounds of
 * up to 64 KiB of FileIdBothDirectoryInformation each (MS-SMB2 3.2.4.17),
 * handed out one entry at a time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/fileops.h"
#include "smbq_utf16.h"

#define DIR_BUF (64 * 1024)

struct smbq_dir {
  smbq_tree *tree;
  uint8_t file_id[16];
  uint8_t *buf;         /* entries of the last round (owned copy) */
  size_t buf_len;
  struct smb2_dir_iter it;
  bool first;
  bool eof;
  char path[1024];
};

static int parse_create(void *ctx, uint32_t status, const uint8_t *msg,
                        size_t len) {
  smbq_dir *d = ctx;
  struct smb2_create_rsp r;
  if (status) {
    int e = api_status_err(status);
    return e ? e : SMBQ_ERR_PROTO;
  }
  int rc = smb2_decode_create_rsp(msg, len, &r);
  if (rc == 0)
    memcpy(d->file_id, r.file_id, 16);
  return rc;
}

int smbq_opendir(smbq_tree *t, const char *path, smbq_dir **out) {
  if (!t || !path || !out)
    return SMBQ_ERR_INVAL;
  smbq_dir *d = calloc(1, sizeof(*d));
  if (!d)
    return SMBQ_ERR_NOMEM;
  d->tree = t;
  d->first = true;
  snprintf(d->path, sizeof(d->path), "%s", path);
  struct api_create_spec spec = {
      .access = SMB2_FILE_LIST_DIRECTORY | SMB2_FILE_READ_ATTRIBUTES |
                SMB2_SYNCHRONIZE,
      .disposition = SMB2_FILE_OPEN,
      .options = SMB2_FILE_DIRECTORY_FILE,
  };
  struct smb2_req *r = api_create_req(t, path, &spec);
  if (!r) {
    free(d);
    return api_fail(t->conn, SMBQ_ERR_INVAL, 0, "bad path '%s'", path);
  }
  uint32_t status = 0;
  int rc = api_call1(t->conn, r, parse_create, d, &status);
  if (rc < 0) {
    free(d);
    return api_fail(t->conn, rc, status, "cannot open directory '%s'",
                    path[0] ? path : "\\");
  }
  *out = d;
  return 0;
}

static int parse_query(void *ctx, uint32_t status, const uint8_t *msg,
                       size_t len) {
  smbq_dir *d = ctx;
  if (status == NT_STATUS_NO_MORE_FILES) {
    d->eof = true;
    return 0;
  }
  if (status) {
    int e = api_status_err(status);
    return e ? e : SMBQ_ERR_PROTO;
  }
  const uint8_t *buf;
  size_t blen;
  int rc = smb2_decode_query_dir_rsp(msg, len, &buf, &blen);
  if (rc < 0)
    return rc;
  free(d->buf);
  d->buf = malloc(blen ? blen : 1);
  if (!d->buf)
    return SMBQ_ERR_NOMEM;
  memcpy(d->buf, buf, blen);
  d->buf_len = blen;
  smb2_dir_iter_init(&d->it, d->buf, blen);
  if (blen == 0)
    d->eof = true;
  return 0;
}

static int fetch(smbq_dir *d) {
  static const uint8_t star[2] = {'*', 0};
  smbq_conn *c = d->tree->conn;
  struct smb2_query_dir_req q = {
      .info_class = SMB2_FILE_ID_BOTH_DIRECTORY_INFORMATION,
      .flags = d->first ? SMB2_RESTART_SCANS : 0,
      .pattern = star,
      .pattern_len = 2,
      .output_len = DIR_BUF,
  };
  memcpy(q.file_id, d->file_id, 16);
  struct smb2_req *r = api_req(c, d->tree, SMB2_QUERY_DIRECTORY, 34);
  if (!r)
    return SMBQ_ERR_NOMEM;
  smb2_req_set_body_len(r, (size_t)smb2_encode_query_dir_req(
                               smb2_req_body(r), smb2_req_body_cap(r), &q));
  r->payload_size = DIR_BUF;
  d->first = false;
  uint32_t status = 0;
  int rc = api_call1(c, r, parse_query, d, &status);
  return rc < 0 ? api_fail(c, rc, status, "listing '%s' failed", d->path)
                : 0;
}

static bool is_dot(const struct smb2_dir_entry *e) {
  return (e->name_len == 2 && e->name[0] == '.' && e->name[1] == 0) ||
         (e->name_len == 4 && e->name[0] == '.' && e->name[2] == '.' &&
          e->name[1] == 0 && e->name[3] == 0);
}

static int fill(struct smbq_dirent *out, const struct smb2_dir_entry *e) {
  char *name;
  if (smbq_utf16le_to_utf8(e->name, e->name_len, &name) < 0)
    return SMBQ_ERR_PROTO;
  memset(out, 0, sizeof(*out));
  snprintf(out->name, sizeof(out->name), "%s", name);
  free(name);
  out->st.type = (e->attributes & SMB2_ATTR_DIRECTORY) ? SMBQ_TYPE_DIR
                                                       : SMBQ_TYPE_FILE;
  out->st.size = e->end_of_file;
  out->st.alloc_size = e->allocation_size;
  out->st.attributes = e->attributes;
  out->st.file_id = e->file_id;
  out->st.btime = api_filetime_to_ts(e->times.creation);
  out->st.atime = api_filetime_to_ts(e->times.last_access);
  out->st.mtime = api_filetime_to_ts(e->times.last_write);
  out->st.ctime = api_filetime_to_ts(e->times.change);
  return 0;
}

int smbq_readdir(smbq_dir *d, struct smbq_dirent *out) {
  if (!d || !out)
    return SMBQ_ERR_INVAL;
  for (;;) {
    struct smb2_dir_entry e;
    int rc = d->buf ? smb2_dir_next(&d->it, &e) : 0;
    if (rc < 0)
      return api_fail(d->tree->conn, rc, 0,
                      "malformed directory listing of '%s' from server",
                      d->path);
    if (rc > 0) {
      if (is_dot(&e))
        continue;
      rc = fill(out, &e);
      if (rc < 0)
        return api_fail(d->tree->conn, rc, 0,
                        "server sent an invalid UTF-16 file name");
      return 1;
    }
    if (d->eof)
      return 0;
    rc = fetch(d);
    if (rc < 0)
      return rc;
  }
}

void smbq_closedir(smbq_dir *d) {
  if (!d)
    return;
  struct smb2_req *r = api_close_req(d->tree, d->file_id);
  if (r)
    api_call1(d->tree->conn, r, NULL, NULL, NULL);
  free(d->buf);
  free(d);
}
