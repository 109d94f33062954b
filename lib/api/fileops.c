/* Request builders and reply parsers shared by the files that work on
 * handles and paths (file.c, meta.c, dir.c, put.c): SET_INFO,
 * QUERY_INFO, CLOSE, FileAllInformation, FILETIME conversion. */
#include <stdlib.h>
#include <string.h>

#include "api/fileops.h"
#include "smbq_bytes.h"

#define FT_EPOCH SMB2_FILETIME_UNIX_EPOCH

struct timespec api_filetime_to_ts(uint64_t ft) {
  struct timespec ts = {0, 0};
  if (ft <= FT_EPOCH)
    return ts;
  ft -= FT_EPOCH;
  ts.tv_sec = (time_t)(ft / 10000000u);
  ts.tv_nsec = (long)(ft % 10000000u) * 100;
  return ts;
}

uint64_t api_ts_to_filetime(const struct timespec *ts) {
  return smb2_unix_to_filetime(ts->tv_sec, ts->tv_nsec);
}

struct smb2_req *api_set_info_req(smbq_tree *t, const uint8_t fid[16],
                                  uint8_t info_class, const uint8_t *buf,
                                  size_t len) {
  struct smb2_req *r = api_req(t->conn, t, SMB2_SET_INFO, 32 + len);
  if (!r)
    return NULL;
  long n = smb2_encode_set_info_req(smb2_req_body(r), smb2_req_body_cap(r),
                                    SMB2_0_INFO_FILE, info_class, fid, buf,
                                    len);
  if (n < 0) {
    smb2_req_free(r);
    return NULL;
  }
  smb2_req_set_body_len(r, (size_t)n);
  return r;
}

struct smb2_req *api_query_info_req(smbq_tree *t, const uint8_t fid[16],
                                    uint8_t info_type, uint8_t info_class) {
  struct smb2_req *r = api_req(t->conn, t, SMB2_QUERY_INFO, 41);
  if (!r)
    return NULL;
  struct smb2_query_info_req q = {.info_type = info_type,
                                  .info_class = info_class,
                                  .output_len = 4096};
  memcpy(q.file_id, fid, 16);
  smb2_req_set_body_len(r, (size_t)smb2_encode_query_info_req(
                               smb2_req_body(r), smb2_req_body_cap(r), &q));
  r->payload_size = q.output_len;
  return r;
}

struct smb2_req *api_close_req(smbq_tree *t, const uint8_t fid[16]) {
  struct smb2_req *r = api_req(t->conn, t, SMB2_CLOSE, 24);
  if (!r)
    return NULL;
  smb2_req_set_body_len(
      r, (size_t)smb2_encode_close_req(smb2_req_body(r), 24, 0, fid));
  return r;
}

int api_parse_all_info(void *ctx, uint32_t status, const uint8_t *msg,
                       size_t len) {
  struct smbq_stat *st = ctx;
  /* BUFFER_OVERFLOW: the name did not fit, the fixed part did. */
  if (status && status != NT_STATUS_BUFFER_OVERFLOW)
    return SMBQ_ERR_PROTO;
  const uint8_t *buf;
  size_t blen;
  struct smb2_file_all_info fi;
  int rc = smb2_decode_query_info_rsp(msg, len, &buf, &blen);
  if (rc == 0)
    rc = smb2_decode_file_all_info(buf, blen, &fi);
  if (rc < 0)
    return rc;
  memset(st, 0, sizeof(*st));
  st->type = fi.directory ? SMBQ_TYPE_DIR : SMBQ_TYPE_FILE;
  st->size = fi.end_of_file;
  st->alloc_size = fi.allocation_size;
  st->attributes = fi.attributes;
  st->file_id = fi.index_number;
  st->btime = api_filetime_to_ts(fi.times.creation);
  st->atime = api_filetime_to_ts(fi.times.last_access);
  st->mtime = api_filetime_to_ts(fi.times.last_write);
  st->ctime = api_filetime_to_ts(fi.times.change);
  return 0;
}
