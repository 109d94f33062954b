/* What lib/api/file.c shares with put.c and dir.c about open files: the
 * disposition an SMBQ_O_* open maps to, and attributes from a CREATE or
 * CLOSE reply. Not installed. */
#ifndef SMBQ_API_FILE_EXT_H
#define SMBQ_API_FILE_EXT_H

#include "api/api.h"
#include "smb2/smb2_pdu.h"

/* The CREATE disposition for SMBQ_O_CREAT / _EXCL / _TRUNC. */
uint32_t api_open_disposition(unsigned flags);

/* The attributes a CLOSE reply with SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB
 * carries, into *st (file_id 0: the reply has none). */
void api_close_rsp_stat(const struct smb2_close_rsp *r, struct smbq_stat *st);
/* The attributes a CREATE reply carries, into *st (file_id 0). */
void api_create_rsp_stat(const struct smb2_create_rsp *cr,
                         struct smbq_stat *st);

#endif
