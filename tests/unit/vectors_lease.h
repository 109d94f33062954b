/* Byte vectors shared by the lease suites (test_smb2_lease.c for the
 * codecs, test_core_lease.c for the state machine). */
#ifndef SMBQ_VECTORS_LEASE_H
#define SMBQ_VECTORS_LEASE_H

#define KEY_HEX "A0A1A2A3A4A5A6A7A8A9AAABACADAEAF"
#define PARENT_HEX "B0B1B2B3B4B5B6B7B8B9BABBBCBDBEBF"
#define GUID_HEX "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF"
#define FID_HEX "1122334455667788" "99AABBCCDDEEFF00"

/* Header of a break notification (2.2.1.2, 3.3.4.6/3.3.4.7): ProtocolId,
 * StructureSize 64, CreditCharge 0, Status 0, Command OPLOCK_BREAK (0x12),
 * CreditResponse 0, Flags SERVER_TO_REDIR, NextCommand 0, MessageId all
 * ones, Reserved, TreeId 0, SessionId 0, Signature 0. */
#define HDR_NOTIFY                                                          \
  "FE534D42 4000 0000 00000000 1200 0000 01000000 00000000"               \
  "FFFFFFFFFFFFFFFF 00000000 00000000 0000000000000000"                   \
  "00000000000000000000000000000000"

/* A CREATE reply for a directory opened with a v2 lease request (RH, with
 * the parent's key) and a DH2Q request, as Windows Server returns it.
 * Samba 4.17 grants no directory leases and we cannot capture Windows
 * here, so these bytes were COMPOSED BY HAND FROM THE SPEC LAYOUT (MS-SMB2
 * 2.2.1.2 header, 2.2.14 body, 2.2.14.2 contexts MxAc 2.2.14.2.5, QFid
 * 2.2.14.2.9, RqLs v2 2.2.14.2.11, DH2Q 2.2.14.2.12), not recorded.
 * Caveat: by 3.3.5.9.10 a server skips durability for directories, so a
 * real server would likely leave the DH2Q context out; it is here to
 * exercise the decoder on a four-context chain. */
static const char dir_create_rsp_hex[] =
    /* header: CREATE, one credit, MessageId 7, decrypted (no signature) */
    "FE534D42 4000 0100 00000000 0500 0100 01000000 00000000"
    "0700000000000000 FFFE0000 05000000 4100000000100000"
    "00000000000000000000000000000000"
    /* 2.2.14 */
    "5900"             /* StructureSize 89 */
    "FF"               /* OplockLevel: LEASE */
    "00"               /* Flags */
    "01000000"         /* CreateAction: FILE_OPENED */
    "785634123A5EDB01" /* CreationTime */
    "0090C2E1475EDB01" /* LastAccessTime */
    "0090C2E1475EDB01" /* LastWriteTime */
    "0090C2E1475EDB01" /* ChangeTime */
    "0000000000000000" /* AllocationSize */
    "0000000000000000" /* EndofFile */
    "10000000"         /* FileAttributes: DIRECTORY */
    "00000000"         /* Reserved2 */
    "ED1C000004000000 1100400000000000" /* FileId */
    "98000000"         /* CreateContextsOffset 152 */
    "C8000000"         /* CreateContextsLength 200 */
    /* MxAc (32): QueryStatus 0, MaximalAccess 0x001F01FF */
    "20000000 1000 0400 0000 1800 08000000 4D784163 00000000"
    "00000000 FF011F00"
    /* QFid (56): DiskFileId, VolumeId */
    "38000000 1000 0400 0000 1800 20000000 51466964 00000000"
    "2A1B000000000300 0000000000000000"
    "7C3F9A1E00000000 0000000000000000"
    /* RqLs v2 (76 + 4 padding): RH, PARENT_LEASE_KEY_SET, epoch 2 */
    "50000000 1000 0400 0000 1800 34000000 52714C73 00000000"
    KEY_HEX "03000000 04000000 0000000000000000" PARENT_HEX "0200 0000"
    "00000000"
    /* DH2Q (32, last): Timeout 60000 ms, Flags 0 */
    "00000000 1000 0400 0000 1800 08000000 44483251 00000000"
    "60EA0000 00000000";

/* The lease break that follows when another client changes the
 * directory: RH -> R, acknowledgement required, NewEpoch 3. Composed from
 * the spec layout (2.2.1.2, 2.2.23.2), like the reply above. */
static const char dir_lease_notify_hex[] =
    HDR_NOTIFY
    "2C00 0300 01000000" KEY_HEX "03000000 01000000"
    "00000000 00000000 00000000";

#endif
