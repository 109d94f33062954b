/* Request builders shared by file.c, meta.c and dir.c. Each returns a
 * request ready to submit (caller owns it), or NULL on a bad path or
 * allocation failure. */
#ifndef SMBQ_FILEOPS_H
#define SMBQ_FILEOPS_H

#include "api/api.h"
#include "smb2/smb2_pdu.h"

struct api_create_spec {
  uint32_t access;
  uint32_t disposition;
  uint32_t options;
  uint32_t attributes;
  /* the file's lease entry (a lease context, or an oplock, is asked for)
   * and the rights wanted (SMB2_LEASE_*); NULL: none */
  struct core_lease *lease;
  uint32_t lease_want;
};

struct smb2_req *api_create_req(smbq_tree *t, const char *path,
                                const struct api_create_spec *s);
/* fid may be smb2_related_file_id inside a compound. buf is copied. */
struct smb2_req *api_set_info_req(smbq_tree *t, const uint8_t fid[16],
                                  uint8_t info_class, const uint8_t *buf,
                                  size_t len);
struct smb2_req *api_query_info_req(smbq_tree *t, const uint8_t fid[16],
                                    uint8_t info_type, uint8_t info_class);
struct smb2_req *api_close_req(smbq_tree *t, const uint8_t fid[16]);

/* api_parse_fn for a FileAllInformation reply into struct smbq_stat. */
int api_parse_all_info(void *ctx, uint32_t status, const uint8_t *msg,
                       size_t len);

/* FILETIME <-> timespec (0 stays 0: "unknown" / "do not change"). */
struct timespec api_filetime_to_ts(uint64_t ft);
uint64_t api_ts_to_filetime(const struct timespec *ts);

#endif
