/* Request builders shared by file.c, meta.c, dir.c and put.c
 * (fileops.c). Each returns a request ready to submit (caller owns it),
 * or NULL on allocation failure. CREATE requests come from the core
 * (core_create_req, core_open.h). */
#ifndef SMBQ_FILEOPS_H
#define SMBQ_FILEOPS_H

#include "api/api.h"
#include "smb2/smb2_pdu.h"

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
