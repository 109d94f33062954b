/* SMB2 command bodies: one encoder for each request and one decoder for
 * each reply, one file per command family (smb2_<family>.c). The
 * conventions are those at the top of smb2_hdr.h: encoders write the body
 * only and return its length or SMBQ_ERR_BUFSMALL; decoders take the whole
 * message, bounds-check every offset the server sent, return 0 or
 * SMBQ_ERR_PROTO, and hand back pointers into the message.
 * Names are passed in UTF-16LE (bytes + length). */
#ifndef SMB2_PDU_H
#define SMB2_PDU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smb2/smb2_hdr.h"

/* ---- constants --------------------------------------------------------- */

/* SecurityMode (2.2.3) */
#define SMB2_NEGOTIATE_SIGNING_ENABLED 0x0001
#define SMB2_NEGOTIATE_SIGNING_REQUIRED 0x0002

/* Capabilities (2.2.3) */
#define SMB2_GLOBAL_CAP_DFS 0x00000001u
#define SMB2_GLOBAL_CAP_LEASING 0x00000002u
#define SMB2_GLOBAL_CAP_LARGE_MTU 0x00000004u
#define SMB2_GLOBAL_CAP_MULTI_CHANNEL 0x00000008u
#define SMB2_GLOBAL_CAP_PERSISTENT_HANDLES 0x00000010u
#define SMB2_GLOBAL_CAP_DIRECTORY_LEASING 0x00000020u
#define SMB2_GLOBAL_CAP_ENCRYPTION 0x00000040u

/* Negotiate context types (2.2.3.1) */
#define SMB2_PREAUTH_INTEGRITY_CAPABILITIES 0x0001
#define SMB2_ENCRYPTION_CAPABILITIES 0x0002
#define SMB2_COMPRESSION_CAPABILITIES 0x0003
#define SMB2_NETNAME_NEGOTIATE_CONTEXT_ID 0x0005
#define SMB2_TRANSPORT_CAPABILITIES 0x0006
#define SMB2_RDMA_TRANSFORM_CAPABILITIES 0x0007
#define SMB2_SIGNING_CAPABILITIES 0x0008
#define SMB2_PREAUTH_SHA512 0x0001
#define SMB2_ACCEPT_TRANSPORT_LEVEL_SECURITY 0x00000001u

/* SessionFlags (2.2.6) */
#define SMB2_SESSION_FLAG_IS_GUEST 0x0001
#define SMB2_SESSION_FLAG_IS_NULL 0x0002
#define SMB2_SESSION_FLAG_ENCRYPT_DATA 0x0004

/* ShareType / ShareFlags (2.2.10) */
#define SMB2_SHARE_TYPE_DISK 0x01
#define SMB2_SHARE_TYPE_PIPE 0x02
#define SMB2_SHARE_TYPE_PRINT 0x03
#define SMB2_SHAREFLAG_ENCRYPT_DATA 0x00008000u

/* Access mask (MS-SMB2 2.2.13.1) */
#define SMB2_FILE_READ_DATA 0x00000001u
#define SMB2_FILE_WRITE_DATA 0x00000002u
#define SMB2_FILE_APPEND_DATA 0x00000004u
#define SMB2_FILE_READ_EA 0x00000008u
#define SMB2_FILE_WRITE_EA 0x00000010u
#define SMB2_FILE_LIST_DIRECTORY 0x00000001u
#define SMB2_FILE_READ_ATTRIBUTES 0x00000080u
#define SMB2_FILE_WRITE_ATTRIBUTES 0x00000100u
#define SMB2_DELETE 0x00010000u
#define SMB2_READ_CONTROL 0x00020000u
#define SMB2_SYNCHRONIZE 0x00100000u
#define SMB2_MAXIMUM_ALLOWED 0x02000000u
#define SMB2_GENERIC_READ 0x80000000u
#define SMB2_GENERIC_WRITE 0x40000000u

/* ShareAccess, CreateDisposition, CreateOptions (2.2.13) */
#define SMB2_FILE_SHARE_READ 0x1u
#define SMB2_FILE_SHARE_WRITE 0x2u
#define SMB2_FILE_SHARE_DELETE 0x4u
#define SMB2_FILE_SHARE_ALL 0x7u
#define SMB2_FILE_SUPERSEDE 0u
#define SMB2_FILE_OPEN 1u
#define SMB2_FILE_CREATE 2u
#define SMB2_FILE_OPEN_IF 3u
#define SMB2_FILE_OVERWRITE 4u
#define SMB2_FILE_OVERWRITE_IF 5u
#define SMB2_FILE_DIRECTORY_FILE 0x00000001u
#define SMB2_FILE_NON_DIRECTORY_FILE 0x00000040u
#define SMB2_FILE_DELETE_ON_CLOSE 0x00001000u
#define SMB2_IMPERSONATION_IMPERSONATION 2u
#define SMB2_OPLOCK_LEVEL_NONE 0x00

/* File attributes (MS-FSCC 2.6) */
#define SMB2_ATTR_READONLY 0x00000001u
#define SMB2_ATTR_HIDDEN 0x00000002u
#define SMB2_ATTR_SYSTEM 0x00000004u
#define SMB2_ATTR_DIRECTORY 0x00000010u
#define SMB2_ATTR_ARCHIVE 0x00000020u
#define SMB2_ATTR_NORMAL 0x00000080u

/* CLOSE flags (2.2.15) */
#define SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB 0x0001

/* QUERY_DIRECTORY flags (2.2.33) */
#define SMB2_RESTART_SCANS 0x01
#define SMB2_RETURN_SINGLE_ENTRY 0x02
#define SMB2_INDEX_SPECIFIED 0x04
#define SMB2_REOPEN 0x10

/* InfoType (2.2.37) and classes (MS-FSCC 2.4, 2.5) */
#define SMB2_0_INFO_FILE 0x01
#define SMB2_0_INFO_FILESYSTEM 0x02
#define SMB2_FILE_DIRECTORY_INFORMATION 0x01
#define SMB2_FILE_BASIC_INFORMATION 0x04
#define SMB2_FILE_STANDARD_INFORMATION 0x05
#define SMB2_FILE_RENAME_INFORMATION 0x0A
#define SMB2_FILE_DISPOSITION_INFORMATION 0x0D
#define SMB2_FILE_ALL_INFORMATION 0x12
#define SMB2_FILE_END_OF_FILE_INFORMATION 0x14
#define SMB2_FILE_NETWORK_OPEN_INFORMATION 0x22
#define SMB2_FILE_ID_BOTH_DIRECTORY_INFORMATION 0x25
#define SMB2_FS_SIZE_INFORMATION 0x03
#define SMB2_FS_FULL_SIZE_INFORMATION 0x07

/* IOCTL (2.2.31) */
#define SMB2_FSCTL_VALIDATE_NEGOTIATE_INFO 0x00140204u
#define SMB2_0_IOCTL_IS_FSCTL 0x00000001u

/* More access mask bits (MS-SMB2 2.2.13.1.1, 2.2.13.1.2) */
#define SMB2_FILE_EXECUTE 0x00000020u
#define SMB2_FILE_TRAVERSE 0x00000020u
#define SMB2_FILE_DELETE_CHILD 0x00000040u
#define SMB2_FILE_ADD_FILE 0x00000002u
#define SMB2_FILE_ADD_SUBDIRECTORY 0x00000004u
#define SMB2_WRITE_DAC 0x00040000u
#define SMB2_WRITE_OWNER 0x00080000u
#define SMB2_ACCESS_SYSTEM_SECURITY 0x01000000u
#define SMB2_GENERIC_EXECUTE 0x20000000u
#define SMB2_GENERIC_ALL 0x10000000u

/* More CreateOptions (2.2.13) */
#define SMB2_FILE_WRITE_THROUGH 0x00000002u
#define SMB2_FILE_SEQUENTIAL_ONLY 0x00000004u
#define SMB2_FILE_NO_INTERMEDIATE_BUFFERING 0x00000008u
#define SMB2_FILE_SYNCHRONOUS_IO_ALERT 0x00000010u
#define SMB2_FILE_SYNCHRONOUS_IO_NONALERT 0x00000020u
#define SMB2_FILE_COMPLETE_IF_OPLOCKED 0x00000100u
#define SMB2_FILE_NO_EA_KNOWLEDGE 0x00000200u
#define SMB2_FILE_RANDOM_ACCESS 0x00000800u
#define SMB2_FILE_OPEN_BY_FILE_ID 0x00002000u
#define SMB2_FILE_OPEN_FOR_BACKUP_INTENT 0x00004000u
#define SMB2_FILE_NO_COMPRESSION 0x00008000u
#define SMB2_FILE_OPEN_REPARSE_POINT 0x00200000u
#define SMB2_FILE_OPEN_NO_RECALL 0x00400000u

/* ImpersonationLevel (2.2.13) */
#define SMB2_IMPERSONATION_ANONYMOUS 0u
#define SMB2_IMPERSONATION_IDENTIFICATION 1u
#define SMB2_IMPERSONATION_DELEGATE 3u

/* RequestedOplockLevel / OplockLevel (2.2.13, 2.2.14) */
#define SMB2_OPLOCK_LEVEL_II 0x01
#define SMB2_OPLOCK_LEVEL_EXCLUSIVE 0x08
#define SMB2_OPLOCK_LEVEL_BATCH 0x09
#define SMB2_OPLOCK_LEVEL_LEASE 0xFF

/* CREATE reply Flags (2.2.14) */
#define SMB2_CREATE_FLAG_REPARSEPOINT 0x01

/* CreateAction (2.2.14) */
#define SMB2_FILE_SUPERSEDED 0u
#define SMB2_FILE_OPENED 1u
#define SMB2_FILE_CREATED 2u
#define SMB2_FILE_OVERWRITTEN 3u

/* More file attributes (MS-FSCC 2.6) */
#define SMB2_ATTR_TEMPORARY 0x00000100u
#define SMB2_ATTR_SPARSE_FILE 0x00000200u
#define SMB2_ATTR_REPARSE_POINT 0x00000400u
#define SMB2_ATTR_COMPRESSED 0x00000800u
#define SMB2_ATTR_OFFLINE 0x00001000u
#define SMB2_ATTR_NOT_CONTENT_INDEXED 0x00002000u
#define SMB2_ATTR_ENCRYPTED 0x00004000u

/* READ / WRITE flags (2.2.19, 2.2.21) */
#define SMB2_READFLAG_READ_UNBUFFERED 0x01
#define SMB2_READFLAG_REQUEST_COMPRESSED 0x02
#define SMB2_WRITEFLAG_WRITE_THROUGH 0x00000001u
#define SMB2_WRITEFLAG_WRITE_UNBUFFERED 0x00000002u

/* ShareFlags and share Capabilities (2.2.10) */
#define SMB2_SHAREFLAG_MANUAL_CACHING 0x00000000u
#define SMB2_SHAREFLAG_AUTO_CACHING 0x00000010u
#define SMB2_SHAREFLAG_VDO_CACHING 0x00000020u
#define SMB2_SHAREFLAG_NO_CACHING 0x00000030u
#define SMB2_SHAREFLAG_DFS 0x00000001u
#define SMB2_SHAREFLAG_DFS_ROOT 0x00000002u
#define SMB2_SHAREFLAG_RESTRICT_EXCLUSIVE_OPENS 0x00000100u
#define SMB2_SHAREFLAG_FORCE_SHARED_DELETE 0x00000200u
#define SMB2_SHAREFLAG_ALLOW_NAMESPACE_CACHING 0x00000400u
#define SMB2_SHAREFLAG_ACCESS_BASED_DIRECTORY_ENUM 0x00000800u
#define SMB2_SHAREFLAG_FORCE_LEVELII_OPLOCK 0x00001000u
#define SMB2_SHAREFLAG_ENABLE_HASH_V1 0x00002000u
#define SMB2_SHAREFLAG_ENABLE_HASH_V2 0x00004000u
#define SMB2_SHAREFLAG_COMPRESS_DATA 0x00100000u
#define SMB2_SHARE_CAP_DFS 0x00000008u
#define SMB2_SHARE_CAP_CONTINUOUS_AVAILABILITY 0x00000010u
#define SMB2_SHARE_CAP_SCALEOUT 0x00000020u
#define SMB2_SHARE_CAP_CLUSTER 0x00000040u
#define SMB2_SHARE_CAP_ASYMMETRIC 0x00000080u

/* SESSION_SETUP request Flags (2.2.5) */
#define SMB2_SESSION_FLAG_BINDING 0x01

/* More InfoTypes and classes (2.2.37, MS-FSCC 2.4, 2.5) */
#define SMB2_0_INFO_SECURITY 0x03
#define SMB2_0_INFO_QUOTA 0x04
#define SMB2_FILE_INTERNAL_INFORMATION 0x06
#define SMB2_FILE_EA_INFORMATION 0x07
#define SMB2_FILE_ACCESS_INFORMATION 0x08
#define SMB2_FILE_POSITION_INFORMATION 0x0E
#define SMB2_FILE_MODE_INFORMATION 0x10
#define SMB2_FILE_ALIGNMENT_INFORMATION 0x11
#define SMB2_FILE_ALLOCATION_INFORMATION 0x13
#define SMB2_FILE_ALTERNATE_NAME_INFORMATION 0x15
#define SMB2_FILE_STREAM_INFORMATION 0x16
#define SMB2_FILE_FULL_DIRECTORY_INFORMATION 0x02
#define SMB2_FILE_BOTH_DIRECTORY_INFORMATION 0x03
#define SMB2_FILE_NAMES_INFORMATION 0x0C
#define SMB2_FILE_ID_FULL_DIRECTORY_INFORMATION 0x26
#define SMB2_FS_VOLUME_INFORMATION 0x01
#define SMB2_FS_DEVICE_INFORMATION 0x04
#define SMB2_FS_ATTRIBUTE_INFORMATION 0x05

/* AdditionalInformation for SMB2_0_INFO_SECURITY (2.2.37) */
#define SMB2_OWNER_SECURITY_INFORMATION 0x00000001u
#define SMB2_GROUP_SECURITY_INFORMATION 0x00000002u
#define SMB2_DACL_SECURITY_INFORMATION 0x00000004u
#define SMB2_SACL_SECURITY_INFORMATION 0x00000008u

/* QUERY_INFO Flags (2.2.37) */
#define SMB2_SL_RESTART_SCAN 0x00000001u
#define SMB2_SL_RETURN_SINGLE_ENTRY 0x00000002u
#define SMB2_SL_INDEX_SPECIFIED 0x00000004u

/* Other FSCTL codes (MS-FSCC 2.3) */
#define SMB2_FSCTL_DFS_GET_REFERRALS 0x00060194u
#define SMB2_FSCTL_PIPE_TRANSCEIVE 0x0011C017u

/* The FileId of a related compound element (3.2.4.1.4). */
extern const uint8_t smb2_related_file_id[16];

/* ---- descriptor table --------------------------------------------------- */

struct smb2_cmd_desc {
  const char *name;
  uint16_t req_size; /* request StructureSize */
  uint16_t rsp_size; /* response StructureSize */
  bool rsp_variable; /* the reply body carries a variable buffer (odd size
                        counts its first byte, MS-SMB2 2.2.1.2 note) */
};

/* Descriptor of a command, or NULL for an unknown code. */
const struct smb2_cmd_desc *smb2_cmd_desc(uint16_t cmd);

/* Check a reply's StructureSize against the table, or the error body
 * (2.2.2) for error statuses. Returns 0 or SMBQ_ERR_PROTO. */
int smb2_check_rsp_size(const uint8_t *msg, size_t len);

/* A variable buffer of a reply: (off, blen) header-relative, must start at
 * or after the fixed body part of `fixed` bytes and end inside msg.
 * Returns 0 (with *out = NULL for an empty buffer) or SMBQ_ERR_PROTO. */
int smb2_rsp_buffer(const uint8_t *msg, size_t len, size_t fixed,
                    size_t off, size_t blen, const uint8_t **out);

/* Replies made of one output buffer (QUERY_DIRECTORY, QUERY_INFO). */
int smb2_decode_out_buffer(const uint8_t *msg, size_t len,
                           const uint8_t **buf, size_t *buf_len);

/* ---- NEGOTIATE (smb2_negotiate.c) -------------------------------------- */

struct smb2_negotiate_req {
  const uint16_t *dialects;
  size_t n_dialects;
  uint16_t security_mode;
  uint32_t capabilities;
  uint8_t client_guid[16];
  /* 3.1.1 contexts, sent only if 0x0311 is among the dialects */
  const uint8_t *salt;           /* preauth salt */
  size_t salt_len;
  const uint16_t *ciphers;       /* preference order; none if 0 */
  size_t n_ciphers;
  const uint16_t *signing_algs;
  size_t n_signing_algs;
  const uint8_t *netname;        /* UTF-16LE server name, optional */
  size_t netname_len;
  bool transport_caps;           /* send SMB2_TRANSPORT_CAPABILITIES */
  uint32_t transport_flags;
};

struct smb2_negotiate_rsp {
  uint16_t security_mode;
  uint16_t dialect;
  uint8_t server_guid[16];
  uint32_t capabilities;
  uint32_t max_transact, max_read, max_write;
  uint64_t system_time;
  const uint8_t *security_buffer;
  size_t security_len;
  /* contexts (3.1.1) */
  bool has_preauth;
  uint16_t preauth_hash;
  bool has_cipher;
  uint16_t cipher;               /* 0 = server supports none we offered */
  bool has_signing;
  uint16_t signing_alg;
  bool has_transport_caps;
  uint32_t transport_flags;
  /* additions */
  uint16_t n_contexts;           /* NegotiateContextCount as sent */
  const uint8_t *preauth_salt;   /* the server's salt (pointer into msg) */
  size_t preauth_salt_len;
};

/* NEGOTIATE request: 36-byte fixed part, dialects, and, when 0x0311 is
 * offered, the contexts of 2.2.3.1 in the order PREAUTH, ENCRYPTION,
 * SIGNING, NETNAME, TRANSPORT, each 8-byte aligned (header-relative).
 * PREAUTH is always sent (SHA-512, r->salt); the others only when given.
 * Errors: SMBQ_ERR_INVAL (no dialects, >16 dialects, salt > 64 bytes, > 8
 * ciphers/signing algs, netname > 1024 bytes), SMBQ_ERR_BUFSMALL.
 *
 * NEGOTIATE reply: contexts are parsed only for dialect 0x0311 (then at
 * least one context, the first 8-aligned, after the fixed part, each inside
 * the message); the preauth hash is recorded, not judged (the caller checks
 * it is SHA-512); ENCRYPTION and SIGNING must name exactly one algorithm;
 * a repeated context type is malformed; unknown types are skipped. */
/* "2.0.2", "2.1", "3.0", "3.0.2", "3.1.1", or "unknown" (static). */
const char *smb2_dialect_name(uint16_t dialect);

long smb2_encode_negotiate_req(uint8_t *out, size_t cap,
                               const struct smb2_negotiate_req *r);
int smb2_decode_negotiate_rsp(const uint8_t *msg, size_t len,
                              struct smb2_negotiate_rsp *r);

/* ---- SESSION_SETUP, LOGOFF (smb2_session.c) ---------------------------- */

struct smb2_session_setup_req {
  uint8_t security_mode;
  uint32_t capabilities;
  uint64_t previous_session_id;
  const uint8_t *token;
  size_t token_len;
};

struct smb2_session_setup_rsp {
  uint16_t session_flags;
  const uint8_t *token;
  size_t token_len;
};

long smb2_encode_session_setup_req(uint8_t *out, size_t cap,
                                   const struct smb2_session_setup_req *r);
int smb2_decode_session_setup_rsp(const uint8_t *msg, size_t len,
                                  struct smb2_session_setup_rsp *r);

/* Bodies of LOGOFF, TREE_DISCONNECT and ECHO are all 4 bytes
 * (StructureSize 4, Reserved). */
long smb2_encode_empty_req(uint8_t *out, size_t cap);
int smb2_decode_empty_rsp(const uint8_t *msg, size_t len);

/* Named forms of the 4-byte bodies (2.2.7/2.2.8 LOGOFF in smb2_session.c,
 * 2.2.11/2.2.12 TREE_DISCONNECT in smb2_tree.c, 2.2.28/2.2.29 ECHO in
 * smb2_echo.c). */
long smb2_encode_logoff_req(uint8_t *out, size_t cap);
int smb2_decode_logoff_rsp(const uint8_t *msg, size_t len);
long smb2_encode_tree_disconnect_req(uint8_t *out, size_t cap);
int smb2_decode_tree_disconnect_rsp(const uint8_t *msg, size_t len);
long smb2_encode_echo_req(uint8_t *out, size_t cap);
int smb2_decode_echo_rsp(const uint8_t *msg, size_t len);

/* ---- TREE_CONNECT (smb2_tree.c) ----------------------------------------- */

struct smb2_tree_connect_rsp {
  uint8_t share_type;
  uint32_t share_flags;
  uint32_t capabilities;
  uint32_t maximal_access;
};

/* path: UTF-16LE "\\server\share" */
long smb2_encode_tree_connect_req(uint8_t *out, size_t cap,
                                  const uint8_t *path, size_t path_len);
int smb2_decode_tree_connect_rsp(const uint8_t *msg, size_t len,
                                 struct smb2_tree_connect_rsp *r);

/* ---- CREATE, CLOSE (smb2_create.c) -------------------------------------- */

/* One create context (2.2.13.2): name is the tag ("MxAc", "QFid", ...),
 * data its payload; both are copied by the encoder. */
struct smb2_create_ctx {
  const uint8_t *name;
  size_t name_len;
  const uint8_t *data;
  size_t data_len;
};

struct smb2_create_req {
  uint32_t desired_access;
  uint32_t file_attributes;
  uint32_t share_access;
  uint32_t disposition;
  uint32_t options;
  const uint8_t *name;  /* UTF-16LE, share-relative, may be empty */
  size_t name_len;
  /* additions (zero = previous behaviour) */
  uint8_t oplock_level;                  /* SMB2_OPLOCK_LEVEL_* */
  const struct smb2_create_ctx *contexts; /* optional create contexts */
  size_t n_contexts;
};

/* Times are FILETIMEs (100 ns since 1601). */
struct smb2_file_times {
  uint64_t creation, last_access, last_write, change;
};

/* Read the four FILETIMEs (creation, access, write, change) at p. */
const uint8_t *smb2_get_file_times(struct smb2_file_times *t,
                                   const uint8_t *p);

struct smb2_create_rsp {
  uint8_t oplock_level;
  uint32_t create_action;
  struct smb2_file_times times;
  uint64_t allocation_size;
  uint64_t end_of_file;
  uint32_t attributes;
  uint8_t file_id[16];
  /* additions */
  uint8_t flags;                 /* SMB2_CREATE_FLAG_REPARSEPOINT (3.1.1) */
  const uint8_t *contexts;       /* create contexts, pointer into msg */
  size_t contexts_len;
};

/* Iterate the create contexts of a reply (2.2.14.2): each Next offset is
 * 8-aligned, > 0 and inside the buffer; name and data lie inside their
 * context. smb2_create_ctx_next returns 1 (context stored, pointers into the
 * buffer), 0 at the end, SMBQ_ERR_PROTO on a malformed chain. */
struct smb2_create_ctx_iter {
  const uint8_t *buf;
  size_t len;
  size_t off;
  bool done;
};
void smb2_create_ctx_iter_init(struct smb2_create_ctx_iter *it,
                               const uint8_t *buf, size_t len);
int smb2_create_ctx_next(struct smb2_create_ctx_iter *it,
                         struct smb2_create_ctx *c);

/* CREATE request: 56-byte fixed part, the name (one zero byte if empty),
 * then, if contexts are given, padding to 8 (header-relative) and the
 * contexts, each 8-aligned, chained by Next. ImpersonationLevel is always
 * Impersonation (2). Errors: SMBQ_ERR_INVAL (odd or > 65535-byte name,
 * context name/data too long), SMBQ_ERR_BUFSMALL.
 * CREATE reply: StructureSize 89, create contexts bounds-checked. */
long smb2_encode_create_req(uint8_t *out, size_t cap,
                            const struct smb2_create_req *r);
int smb2_decode_create_rsp(const uint8_t *msg, size_t len,
                           struct smb2_create_rsp *r);

struct smb2_close_rsp {
  uint16_t flags;
  struct smb2_file_times times;
  uint64_t allocation_size;
  uint64_t end_of_file;
  uint32_t attributes;
};

long smb2_encode_close_req(uint8_t *out, size_t cap, uint16_t flags,
                           const uint8_t file_id[16]);
int smb2_decode_close_rsp(const uint8_t *msg, size_t len,
                          struct smb2_close_rsp *r);

/* ---- READ (smb2_read.c) -------------------------------------------------- */

struct smb2_read_rsp {
  const uint8_t *data;
  uint32_t data_len;
  uint32_t remaining;
};

long smb2_encode_read_req(uint8_t *out, size_t cap, const uint8_t fid[16],
                          uint64_t offset, uint32_t length);

/* The full READ request (2.2.19). smb2_encode_read_req() above is
 * smb2_encode_read_req_ex() with padding 0x50 and everything else 0. */
struct smb2_read_req {
  uint8_t padding;        /* where we want the data: 0x50 = after the body */
  uint8_t flags;          /* SMB2_READFLAG_* (3.0.2+) */
  uint32_t length;
  uint64_t offset;
  uint8_t file_id[16];
  uint32_t minimum_count;
  uint32_t remaining_bytes;
};
long smb2_encode_read_req_ex(uint8_t *out, size_t cap,
                             const struct smb2_read_req *r);
int smb2_decode_read_rsp(const uint8_t *msg, size_t len,
                         struct smb2_read_rsp *r);

/* ---- WRITE, FLUSH (smb2_write.c) ---------------------------------------- */

/* Body size of a WRITE request carrying n data bytes. */
size_t smb2_write_req_size(size_t n);
long smb2_encode_write_req(uint8_t *out, size_t cap, const uint8_t fid[16],
                           uint64_t offset, const void *data, uint32_t n);
/* The full WRITE request (2.2.21): the data follows the 48-byte fixed part
 * (DataOffset 0x70) and is copied in. smb2_encode_write_req() above is
 * the _ex form with flags and remaining_bytes 0. */
struct smb2_write_req {
  uint8_t file_id[16];
  uint64_t offset;
  const void *data;
  uint32_t length;
  uint32_t flags;           /* SMB2_WRITEFLAG_* */
  uint32_t remaining_bytes;
};
long smb2_encode_write_req_ex(uint8_t *out, size_t cap,
                              const struct smb2_write_req *r);

/* *count: bytes the server wrote. */
int smb2_decode_write_rsp(const uint8_t *msg, size_t len, uint32_t *count);

long smb2_encode_flush_req(uint8_t *out, size_t cap, const uint8_t fid[16]);
int smb2_decode_flush_rsp(const uint8_t *msg, size_t len);

/* ---- QUERY_DIRECTORY (smb2_dir.c) --------------------------------------- */

struct smb2_query_dir_req {
  uint8_t info_class;
  uint8_t flags;
  uint8_t file_id[16];
  const uint8_t *pattern; /* UTF-16LE, e.g. "*" */
  size_t pattern_len;
  uint32_t output_len;
  /* additions */
  uint32_t file_index;    /* with SMB2_INDEX_SPECIFIED */
};

long smb2_encode_query_dir_req(uint8_t *out, size_t cap,
                               const struct smb2_query_dir_req *r);
/* buf, buf_len: the entries (pointer into msg). */
int smb2_decode_query_dir_rsp(const uint8_t *msg, size_t len,
                              const uint8_t **buf, size_t *buf_len);

/* FileIdBothDirectoryInformation (MS-FSCC 2.4.17) iterator. */
struct smb2_dir_entry {
  struct smb2_file_times times;
  uint64_t end_of_file;
  uint64_t allocation_size;
  uint32_t attributes;
  uint64_t file_id;
  const uint8_t *name; /* UTF-16LE */
  size_t name_len;
  /* additions */
  uint32_t file_index;
  uint32_t ea_size;            /* 0x25 only */
  const uint8_t *short_name;   /* 0x25 only: UTF-16LE 8.3 name, may be 0 */
  size_t short_name_len;
};

struct smb2_dir_iter {
  const uint8_t *buf;
  size_t len;
  size_t off;
  bool done;
  /* addition: 0 (= 0x25) or SMB2_FILE_DIRECTORY_INFORMATION */
  uint8_t info_class;
};

/* The iterator walks `buf` (e.g. from smb2_decode_query_dir_rsp) without
 * copying: entry pointers stay valid as long as the buffer does. */
void smb2_dir_iter_init(struct smb2_dir_iter *it, const uint8_t *buf,
                        size_t len);
/* Same for another information class: SMB2_FILE_ID_BOTH_DIRECTORY_
 * INFORMATION or SMB2_FILE_DIRECTORY_INFORMATION (MS-FSCC 2.4.10; the
 * entry then has file_id, ea_size and short_name 0). */
void smb2_dir_iter_init_class(struct smb2_dir_iter *it, uint8_t info_class,
                              const uint8_t *buf, size_t len);
/* 1 = entry stored, 0 = end, SMBQ_ERR_PROTO = malformed buffer
 * (NextEntryOffset not 8-aligned, smaller than an entry or past the end;
 * name or short name outside the entry; odd name length),
 * SMBQ_ERR_INVAL = unsupported information class. After an error the
 * iterator stays at the bad entry. */
int smb2_dir_next(struct smb2_dir_iter *it, struct smb2_dir_entry *e);

/* ---- QUERY_INFO, SET_INFO (smb2_info.c) --------------------------------- */

struct smb2_query_info_req {
  uint8_t info_type;
  uint8_t info_class;
  uint32_t output_len;
  uint32_t additional;
  uint8_t file_id[16];
  /* additions */
  uint32_t flags;          /* SMB2_SL_* (quota queries) */
  const uint8_t *input;    /* optional input buffer (quota, EA lists) */
  size_t input_len;
};

long smb2_encode_query_info_req(uint8_t *out, size_t cap,
                                const struct smb2_query_info_req *r);
int smb2_decode_query_info_rsp(const uint8_t *msg, size_t len,
                               const uint8_t **buf, size_t *buf_len);

/* SET_INFO with an info buffer of buf_len bytes. */
long smb2_encode_set_info_req(uint8_t *out, size_t cap, uint8_t info_type,
                              uint8_t info_class, const uint8_t fid[16],
                              const uint8_t *buf, size_t buf_len);
int smb2_decode_set_info_rsp(const uint8_t *msg, size_t len);

/* The full SET_INFO request (2.2.39), with AdditionalInformation. */
struct smb2_set_info_req {
  uint8_t info_type;
  uint8_t info_class;
  uint32_t additional;
  uint8_t file_id[16];
  const uint8_t *buf;
  size_t buf_len;
};
long smb2_encode_set_info_req_ex(uint8_t *out, size_t cap,
                                 const struct smb2_set_info_req *r);

/* FileAllInformation (MS-FSCC 2.4.2), the parts we use. */
struct smb2_file_all_info {
  struct smb2_file_times times;
  uint32_t attributes;
  uint64_t allocation_size;
  uint64_t end_of_file;
  uint32_t nlinks;
  bool delete_pending;
  bool directory;
  uint64_t index_number;
  /* additions */
  uint32_t ea_size;
  uint32_t access_flags;
  uint64_t current_byte_offset;
  uint32_t mode;
  uint32_t alignment;
  const uint8_t *name;       /* UTF-16LE, pointer into buf */
  size_t name_len;
  bool name_truncated;       /* NameLength was larger than what was sent
                                (STATUS_BUFFER_OVERFLOW reply) */
};
/* Needs the 100-byte fixed part (SMBQ_ERR_PROTO otherwise). The name is
 * clamped to the bytes present; see name_truncated. */
int smb2_decode_file_all_info(const uint8_t *buf, size_t len,
                              struct smb2_file_all_info *fi);

/* FileBasicInformation (MS-FSCC 2.4.7), 40 bytes. */
struct smb2_file_basic_info {
  struct smb2_file_times times;
  uint32_t attributes;
};
int smb2_decode_file_basic_info(const uint8_t *buf, size_t len,
                                struct smb2_file_basic_info *fi);

/* FileStandardInformation (MS-FSCC 2.4.41), 24 bytes. */
struct smb2_file_standard_info {
  uint64_t allocation_size;
  uint64_t end_of_file;
  uint32_t nlinks;
  bool delete_pending;
  bool directory;
};
int smb2_decode_file_standard_info(const uint8_t *buf, size_t len,
                                   struct smb2_file_standard_info *fi);

/* FileNetworkOpenInformation (MS-FSCC 2.4.29), 56 bytes. */
struct smb2_file_network_open_info {
  struct smb2_file_times times;
  uint64_t allocation_size;
  uint64_t end_of_file;
  uint32_t attributes;
};
int smb2_decode_file_network_open_info(const uint8_t *buf, size_t len,
                                       struct smb2_file_network_open_info *fi);

/* FileFsSizeInformation (MS-FSCC 2.5.8), 24 bytes. */
struct smb2_fs_size {
  uint64_t total_units;
  uint64_t avail_units;
  uint32_t sectors_per_unit;
  uint32_t bytes_per_sector;
};
int smb2_decode_fs_size(const uint8_t *buf, size_t len,
                        struct smb2_fs_size *fs);

/* FileFsVolumeInformation (MS-FSCC 2.5.9), 18 bytes + label. */
struct smb2_fs_volume_info {
  uint64_t creation_time;
  uint32_t serial_number;
  bool supports_objects;
  const uint8_t *label;      /* UTF-16LE, pointer into buf */
  size_t label_len;
};
/* SMBQ_ERR_PROTO if the label runs past the buffer. */
int smb2_decode_fs_volume_info(const uint8_t *buf, size_t len,
                               struct smb2_fs_volume_info *vi);

/* FileFsFullSizeInformation (MS-FSCC 2.5.4). */
struct smb2_fs_full_size {
  uint64_t total_units;
  uint64_t caller_avail_units;
  uint64_t actual_avail_units;
  uint32_t sectors_per_unit;
  uint32_t bytes_per_sector;
};
int smb2_decode_fs_full_size(const uint8_t *buf, size_t len,
                             struct smb2_fs_full_size *fs);

/* SET_INFO buffers. Each returns the length written or
 * SMBQ_ERR_BUFSMALL. */
long smb2_encode_rename_info(uint8_t *out, size_t cap, bool replace,
                             const uint8_t *name, size_t name_len);
long smb2_encode_disposition_info(uint8_t *out, size_t cap, bool del);
long smb2_encode_eof_info(uint8_t *out, size_t cap, uint64_t eof);
/* Zero times / attributes mean "do not change" (MS-FSCC 2.4.7). */
long smb2_encode_basic_info(uint8_t *out, size_t cap,
                            const struct smb2_file_times *t,
                            uint32_t attributes);

/* ---- IOCTL (smb2_ioctl.c) ------------------------------------------------ */

struct smb2_ioctl_rsp {
  uint32_t ctl_code;
  const uint8_t *output;
  size_t output_len;
  /* additions */
  uint8_t file_id[16];
  const uint8_t *input;      /* pointer into msg, bounds-checked */
  size_t input_len;
  uint32_t flags;
};

/* The full IOCTL request (2.2.31). smb2_encode_ioctl_req() below is this
 * with flags SMB2_0_IOCTL_IS_FSCTL and max_input 0. */
struct smb2_ioctl_req {
  uint32_t ctl_code;
  uint8_t file_id[16];     /* all 0xFF for VALIDATE_NEGOTIATE_INFO */
  const uint8_t *input;
  size_t input_len;
  uint32_t max_input;      /* MaxInputResponse */
  uint32_t max_output;     /* MaxOutputResponse */
  uint32_t flags;          /* SMB2_0_IOCTL_IS_FSCTL */
};
long smb2_encode_ioctl_req_ex(uint8_t *out, size_t cap,
                              const struct smb2_ioctl_req *r);

long smb2_encode_ioctl_req(uint8_t *out, size_t cap, uint32_t ctl_code,
                           const uint8_t fid[16], const uint8_t *in,
                           size_t in_len, uint32_t max_output);
int smb2_decode_ioctl_rsp(const uint8_t *msg, size_t len,
                          struct smb2_ioctl_rsp *r);

/* FSCTL_VALIDATE_NEGOTIATE_INFO input (2.2.31.4) and output (2.2.32.6). */
long smb2_encode_validate_negotiate(uint8_t *out, size_t cap, uint32_t caps,
                                    const uint8_t guid[16], uint16_t mode,
                                    const uint16_t *dialects, size_t n);
struct smb2_validate_negotiate_rsp {
  uint32_t capabilities;
  uint8_t guid[16];
  uint16_t security_mode;
  uint16_t dialect;
};
int smb2_decode_validate_negotiate(const uint8_t *buf, size_t len,
                                   struct smb2_validate_negotiate_rsp *r);

/* ---- leases, oplock breaks, durable handles (smb2_lease.c) ------------- */

/* Lease states and flags (MS-SMB2 2.2.13.2.8, 2.2.13.2.10, 2.2.14.2.10,
 * 2.2.14.2.11, 2.2.23.2) */
#define SMB2_LEASE_READ 0x01u
#define SMB2_LEASE_HANDLE 0x02u
#define SMB2_LEASE_WRITE 0x04u
#define SMB2_LEASE_FLAG_BREAK_IN_PROGRESS 0x02u    /* replies */
#define SMB2_LEASE_FLAG_PARENT_LEASE_KEY_SET 0x04u /* v2 */
#define SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED 0x01u
#define SMB2_LEASE_V1_SIZE 32 /* context data sizes */
#define SMB2_LEASE_V2_SIZE 52

struct smb2_lease {
  int version;            /* 1 (SMB2_CREATE_REQUEST_LEASE) or 2 (_V2) */
  uint8_t key[16];
  uint32_t state;         /* SMB2_LEASE_* */
  uint32_t flags;         /* SMB2_LEASE_FLAG_* */
  uint8_t parent_key[16]; /* v2 */
  uint16_t epoch;         /* v2 */
};

/* A whole "RqLs" create context for a struct smb2_create_ctx list: fills
 * ctx (name a static tag, data pointing into buf) from l; buf must hold
 * SMB2_LEASE_V2_SIZE bytes and outlive the encoding of the request.
 * Writes 32 bytes (v1) or 52 (v2); LeaseDuration is 0, and for v1 the
 * flags are sent as 0 (2.2.13.2.8: LeaseFlags MUST be 0). Remember
 * oplock_level SMB2_OPLOCK_LEVEL_LEASE in the CREATE request.
 * Returns 0 or SMBQ_ERR_INVAL (version not 1 or 2). */
int smb2_lease_ctx(struct smb2_create_ctx *ctx, uint8_t *buf,
                   const struct smb2_lease *l);
/* Decode the data of a "RqLs" context from a CREATE reply: 32 bytes = v1,
 * 52 = v2, anything else SMBQ_ERR_PROTO. LeaseDuration and Reserved are
 * ignored. Returns 0 or SMBQ_ERR_PROTO. */
int smb2_decode_lease_ctx(const uint8_t *data, size_t len,
                          struct smb2_lease *l);
/* Walk the reply's create contexts (smb2_create_ctx_iter) and find the
 * lease one. The whole chain is checked. Returns 1 (found, *l filled),
 * 0 (none, *l untouched), SMBQ_ERR_PROTO (malformed chain, lease data of
 * a wrong size, or two lease contexts). */
int smb2_create_rsp_lease(const struct smb2_create_rsp *r,
                          struct smb2_lease *l);

/* Break notifications: OPLOCK_BREAK command, MessageId 0xFFFFFFFFFFFFFFFF
 * (2.2.23.1 oplock form, StructureSize 24; 2.2.23.2 lease form,
 * StructureSize 44). */
enum smb2_break_kind { SMB2_BREAK_OPLOCK = 1, SMB2_BREAK_LEASE = 2 };
struct smb2_break_notify {
  enum smb2_break_kind kind;
  uint8_t oplock_level;    /* oplock form */
  uint8_t file_id[16];     /* oplock form */
  uint16_t new_epoch;      /* lease form */
  uint32_t flags;          /* lease form: SMB2_NOTIFY_BREAK_LEASE_FLAG_* */
  uint8_t lease_key[16];   /* lease form */
  uint32_t current_state, new_state; /* lease form */
};
/* msg = whole message (64-byte header + body) as the core hands it.
 * Checks the header (protocol id, StructureSize 64, SERVER_TO_REDIR set),
 * Command == OPLOCK_BREAK, MessageId all-ones, the body StructureSize (24
 * or 44, which gives n->kind) and that the body fits in len (trailing
 * bytes are allowed). Fields of the other form are 0. Returns 0 or
 * SMBQ_ERR_PROTO (drop the message; the connection may go on). */
int smb2_decode_break_notify(const uint8_t *msg, size_t len,
                             struct smb2_break_notify *n);
/* Acknowledgement bodies (2.2.24.1 oplock: 24 bytes; 2.2.24.2 lease: 36
 * bytes, LeaseDuration 0), sent as an OPLOCK_BREAK request. Return the
 * bytes written or SMBQ_ERR_BUFSMALL. */
long smb2_encode_oplock_break_ack(uint8_t *out, size_t cap,
                                  const uint8_t file_id[16], uint8_t level);
long smb2_encode_lease_break_ack(uint8_t *out, size_t cap,
                                 const uint8_t key[16], uint32_t state);
/* Responses to the acks (2.2.25.1: StructureSize 24; 2.2.25.2:
 * StructureSize 36), msg = whole message; header checks as for the
 * notification but for the MessageId. Return 0 or SMBQ_ERR_PROTO (also
 * for an error body: look at the header status first).
 * smb2_check_rsp_size() accepts both forms of OPLOCK_BREAK (24 and 36). */
int smb2_decode_oplock_break_rsp(const uint8_t *msg, size_t len,
                                 uint8_t *level, uint8_t file_id[16]);
int smb2_decode_lease_break_rsp(const uint8_t *msg, size_t len,
                                uint8_t key[16], uint32_t *state);

/* Durable handles (2.2.13.2.3/.4/.11/.12, 2.2.14.2.3/.12). */
#define SMB2_DHANDLE_FLAG_PERSISTENT 0x02u
struct smb2_durable_req {
  int version;             /* 1 = DHnQ, 2 = DH2Q */
  uint32_t timeout_ms;     /* v2; 0 = server default */
  uint32_t flags;          /* v2: SMB2_DHANDLE_FLAG_PERSISTENT */
  uint8_t create_guid[16]; /* v2 */
};
/* Fills ctx: "DHnQ" with 16 zero bytes (v1) or "DH2Q" with 32 bytes (v2:
 * Timeout, Flags, Reserved, CreateGuid); buf (32 bytes) must outlive the
 * encoding. Returns 0 or SMBQ_ERR_INVAL (version). */
int smb2_durable_req_ctx(struct smb2_create_ctx *ctx, uint8_t *buf,
                         const struct smb2_durable_req *d);
struct smb2_durable_rsp {
  int version;             /* 1 = DHnQ reply, 2 = DH2Q reply */
  uint32_t timeout_ms;     /* v2; 0 for v1 */
  uint32_t flags;          /* v2; 0 for v1 */
};
/* Find the durable reply context: "DHnQ" (8 reserved bytes) or "DH2Q"
 * (8 bytes: Timeout, Flags). The whole chain is checked. Returns 1 (found,
 * *d filled), 0 (none: the open is not durable), SMBQ_ERR_PROTO (malformed
 * chain, wrong data size, more than one durable reply context). */
int smb2_create_rsp_durable(const struct smb2_create_rsp *r,
                            struct smb2_durable_rsp *d);
/* Reconnect contexts: "DHnC" (version 1: data = the 16-byte file id;
 * create_guid and flags unused, may be NULL/0) and "DH2C" (version 2: file
 * id 16, create guid 16, flags 4 = 36 bytes). buf (36 bytes) must outlive
 * the encoding. Returns 0 or SMBQ_ERR_INVAL (version, or v2 without a
 * create guid). */
int smb2_durable_reconnect_ctx(struct smb2_create_ctx *ctx, uint8_t *buf,
                               int version, const uint8_t file_id[16],
                               const uint8_t create_guid[16],
                               uint32_t flags);

#endif
