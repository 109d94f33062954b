/* SMB2 packet header (MS-SMB2 2.2.1) and protocol constants.
 *
 * PDU convention used by every command family file (smb2_<family>.c):
 *  - Request encoders write the BODY only (the 64-byte header is written by
 *    the connection core), into `out` of `cap` bytes, and return the body
 *    length or SMBQ_ERR_BUFSMALL. Offsets inside the body (e.g. a name's
 *    NameOffset) are relative to the start of the SMB2 header, i.e. body
 *    offset + SMB2_HDR_SIZE.
 *  - Response decoders take the WHOLE message (`msg`, `len`: header + body,
 *    no transport framing) so that header-relative offsets can be checked
 *    with smbq_check_range(). They return 0 or SMBQ_ERR_PROTO. Pointers they
 *    return point into `msg` and stay valid as long as `msg` does.
 */
#ifndef SMB2_HDR_H
#define SMB2_HDR_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/smb2_crypto.h"

/* Commands (MS-SMB2 2.2.1.2) */
enum smb2_command {
  SMB2_NEGOTIATE = 0x0000,
  SMB2_SESSION_SETUP = 0x0001,
  SMB2_LOGOFF = 0x0002,
  SMB2_TREE_CONNECT = 0x0003,
  SMB2_TREE_DISCONNECT = 0x0004,
  SMB2_CREATE = 0x0005,
  SMB2_CLOSE = 0x0006,
  SMB2_FLUSH = 0x0007,
  SMB2_READ = 0x0008,
  SMB2_WRITE = 0x0009,
  SMB2_LOCK = 0x000A,
  SMB2_IOCTL = 0x000B,
  SMB2_CANCEL = 0x000C,
  SMB2_ECHO = 0x000D,
  SMB2_QUERY_DIRECTORY = 0x000E,
  SMB2_CHANGE_NOTIFY = 0x000F,
  SMB2_QUERY_INFO = 0x0010,
  SMB2_SET_INFO = 0x0011,
  SMB2_OPLOCK_BREAK = 0x0012,
  SMB2_NUM_COMMANDS = 0x0013,
};

/* Header flags (MS-SMB2 2.2.1.2) */
#define SMB2_FLAGS_SERVER_TO_REDIR 0x00000001u
#define SMB2_FLAGS_ASYNC_COMMAND 0x00000002u
#define SMB2_FLAGS_RELATED_OPERATIONS 0x00000004u
#define SMB2_FLAGS_SIGNED 0x00000008u
#define SMB2_FLAGS_PRIORITY_MASK 0x00000070u
#define SMB2_FLAGS_DFS_OPERATIONS 0x10000000u
#define SMB2_FLAGS_REPLAY_OPERATION 0x20000000u

#define SMB2_PROTOCOL_ID 0x424D53FEu     /* 0xFE 'S' 'M' 'B' little-endian */
#define SMB2_TRANSFORM_PROTO_ID 0x424D53FDu /* 0xFD 'S' 'M' 'B' */
#define SMB2_COMPRESS_PROTO_ID 0x424D53FCu

/* Sizes and offsets of the headers (2.2.1, 2.2.41) */
#define SMB2_HDR_SIZE 64
#define SMB2_SIG_OFFSET 48
#define SMB2_SIG_SIZE SMB2_MAC_SIZE /* 16 */
#define SMB2_TRANSFORM_HDR_SIZE 52

/* NTSTATUS values we act on (MS-ERREF 2.3.1) */
/* MS-ERREF 2.3: the severity bits; 3 (error) means the reply carries an
 * error response, not the command's body. Warnings (2) such as
 * BUFFER_OVERFLOW and NO_MORE_FILES may carry data. */
#define NT_STATUS_IS_ERROR(s) (((s) >> 30) == 3u)
#define NT_STATUS_SUCCESS 0x00000000u
#define NT_STATUS_PENDING 0x00000103u
#define NT_STATUS_NOTIFY_ENUM_DIR 0x0000010Cu
#define NT_STATUS_BUFFER_OVERFLOW 0x80000005u
#define NT_STATUS_NO_MORE_FILES 0x80000006u
#define NT_STATUS_INVALID_PARAMETER 0xC000000Du
#define NT_STATUS_NO_SUCH_FILE 0xC000000Fu
#define NT_STATUS_END_OF_FILE 0xC0000011u
#define NT_STATUS_MORE_PROCESSING_REQUIRED 0xC0000016u
#define NT_STATUS_ACCESS_DENIED 0xC0000022u
#define NT_STATUS_CANNOT_DELETE 0xC0000121u
#define NT_STATUS_BUFFER_TOO_SMALL 0xC0000023u
#define NT_STATUS_OBJECT_NAME_INVALID 0xC0000033u
#define NT_STATUS_OBJECT_NAME_NOT_FOUND 0xC0000034u
#define NT_STATUS_OBJECT_NAME_COLLISION 0xC0000035u
#define NT_STATUS_OBJECT_PATH_NOT_FOUND 0xC000003Au
#define NT_STATUS_SHARING_VIOLATION 0xC0000043u
#define NT_STATUS_DELETE_PENDING 0xC0000056u
#define NT_STATUS_PRIVILEGE_NOT_HELD 0xC0000061u
#define NT_STATUS_LOGON_FAILURE 0xC000006Du
#define NT_STATUS_ACCOUNT_RESTRICTION 0xC000006Eu
#define NT_STATUS_PASSWORD_EXPIRED 0xC0000071u
#define NT_STATUS_ACCOUNT_DISABLED 0xC0000072u
#define NT_STATUS_DISK_FULL 0xC000007Fu
#define NT_STATUS_INSUFFICIENT_RESOURCES 0xC000009Au
#define NT_STATUS_FILE_IS_A_DIRECTORY 0xC00000BAu
#define NT_STATUS_NOT_SUPPORTED 0xC00000BBu
#define NT_STATUS_BAD_NETWORK_NAME 0xC00000CCu
#define NT_STATUS_REQUEST_NOT_ACCEPTED 0xC00000D0u
#define NT_STATUS_DIRECTORY_NOT_EMPTY 0xC0000101u
#define NT_STATUS_NOT_A_DIRECTORY 0xC0000103u
#define NT_STATUS_CANCELLED 0xC0000120u
#define NT_STATUS_FILE_CLOSED 0xC0000128u
#define NT_STATUS_NETWORK_NAME_DELETED 0xC00000C9u
#define NT_STATUS_USER_SESSION_DELETED 0xC0000203u
#define NT_STATUS_NETWORK_SESSION_EXPIRED 0xC000035Cu
#define NT_STATUS_ACCOUNT_LOCKED_OUT 0xC0000234u
#define NT_STATUS_NOT_FOUND 0xC0000225u
#define NT_STATUS_INVALID_DEVICE_REQUEST 0xC0000010u
#define NT_STATUS_ACCESS_DENIED_2 NT_STATUS_ACCESS_DENIED
#define NT_STATUS_FILE_NOT_AVAILABLE 0xC0000467u
#define NT_STATUS_QUOTA_EXCEEDED 0xC0000044u
#define NT_STATUS_INVALID_HANDLE 0xC0000008u
#define NT_STATUS_NO_SUCH_USER 0xC0000064u
#define NT_STATUS_WRONG_PASSWORD 0xC000006Au

/* The decoded header. */
struct smb2_hdr {
  uint16_t credit_charge;
  uint32_t status;         /* responses; ChannelSequence/Reserved on req */
  uint16_t command;
  uint16_t credits;        /* CreditRequest / CreditResponse */
  uint32_t flags;
  uint32_t next_command;
  uint64_t message_id;
  uint64_t async_id;       /* valid if flags & ASYNC_COMMAND */
  uint32_t process_id;     /* sync form */
  uint32_t tree_id;        /* sync form */
  uint64_t session_id;
  uint8_t signature[16];
};

/* Encode a 64-byte header at `out` (which must hold SMB2_HDR_SIZE bytes). */
void smb2_hdr_encode(uint8_t *out, const struct smb2_hdr *h);

/* Decode a header. Returns 0, or SMBQ_ERR_PROTO if len < 64, the protocol
 * id is wrong, or StructureSize != 64. */
int smb2_hdr_decode(const uint8_t *in, size_t len, struct smb2_hdr *h);

/* Error response body (MS-SMB2 2.2.2): StructureSize 9. Returns 0 if the
 * body is a well-formed error response. */
int smb2_decode_error_rsp(const uint8_t *msg, size_t len);

/* A Windows FILETIME <-> Unix time helpers (100ns since 1601). */
#define SMB2_FILETIME_UNIX_EPOCH 116444736000000000ULL
static inline uint64_t smb2_unix_to_filetime(int64_t sec, long nsec) {
  return (uint64_t)(sec * 10000000LL + nsec / 100) + SMB2_FILETIME_UNIX_EPOCH;
}

#endif
