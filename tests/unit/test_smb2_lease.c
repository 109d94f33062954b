/* Leases, oplock breaks and durable handles (smb2_lease.c): exact
 * encodings of the create contexts inside whole CREATE requests, the
 * break notifications, acknowledgements and their responses, durable
 * contexts both ways, and every malformed case we can think of. */
#include <check.h>

#include "smb2/smb2_pdu.h"
#include "smbq/smbq_err.h"
#include "smbq_bytes.h"
#include "testutil.h"
#include "vectors_lease.h"

/* ---- shared bytes ----------------------------------------------------- */

static const uint8_t key[16] = {0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5,
                                0xA6, 0xA7, 0xA8, 0xA9, 0xAA, 0xAB,
                                0xAC, 0xAD, 0xAE, 0xAF};
static const uint8_t parent[16] = {0xB0, 0xB1, 0xB2, 0xB3, 0xB4, 0xB5,
                                   0xB6, 0xB7, 0xB8, 0xB9, 0xBA, 0xBB,
                                   0xBC, 0xBD, 0xBE, 0xBF};
static const uint8_t guid[16] = {0xC0, 0xC1, 0xC2, 0xC3, 0xC4, 0xC5,
                                 0xC6, 0xC7, 0xC8, 0xC9, 0xCA, 0xCB,
                                 0xCC, 0xCD, 0xCE, 0xCF};
static const uint8_t fid[16] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66,
                                0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC,
                                0xDD, 0xEE, 0xFF, 0x00};

/* Header of the server's response to an acknowledgement: MessageId 11,
 * one credit, a session and a tree. */
#define HDR_ACK_RSP                                                         \
  "FE534D42 4000 0100 00000000 1200 0100 01000000 00000000"               \
  "0B00000000000000 FFFE0000 05000000 4100000000100000"                   \
  "00000000000000000000000000000000"

/* Lease break notification (2.2.23.2) for a file lease RWH -> RH. */
static const char lease_notify_hex[] =
    HDR_NOTIFY
    "2C00"     /* StructureSize 44 */
    "0200"     /* NewEpoch 2 */
    "01000000" /* Flags: ACK_REQUIRED */
    KEY_HEX    /* LeaseKey */
    "07000000" /* CurrentLeaseState RWH */
    "03000000" /* NewLeaseState RH */
    "00000000 00000000 00000000"; /* BreakReason, AccessMask/ShareMaskHint */

/* Oplock break notification (2.2.23.1): batch -> level II. */
static const char oplock_notify_hex[] =
    HDR_NOTIFY
    "1800"     /* StructureSize 24 */
    "01"       /* OplockLevel II */
    "00"       /* Reserved */
    "00000000" /* Reserved2 */
    FID_HEX;

static uint8_t *msg_of(const char *hex, size_t *n) { return unhex(hex, n); }

/* ---- lease contexts in a CREATE request ------------------------------- */

START_TEST(lease_v1_in_create_req) {
  uint8_t buf[SMB2_LEASE_V2_SIZE], body[256];
  static const uint8_t name[2] = {'d', 0};
  struct smb2_lease l = {.version = 1,
                         .state = SMB2_LEASE_READ | SMB2_LEASE_HANDLE |
                                  SMB2_LEASE_WRITE,
                         /* not sent: v1 LeaseFlags MUST be 0 */
                         .flags = SMB2_LEASE_FLAG_BREAK_IN_PROGRESS};
  memcpy(l.key, key, 16);
  struct smb2_create_ctx ctx;
  memset(buf, 0xEE, sizeof(buf));
  ck_assert_int_eq(smb2_lease_ctx(&ctx, buf, &l), 0);
  ck_assert_uint_eq(ctx.name_len, 4);
  ck_assert_mem_eq(ctx.name, "RqLs", 4);
  ck_assert_ptr_eq(ctx.data, buf);
  ck_assert_uint_eq(ctx.data_len, SMB2_LEASE_V1_SIZE);
  struct smb2_create_req cr = {
      .desired_access = SMB2_FILE_READ_DATA | SMB2_FILE_READ_ATTRIBUTES,
      .share_access = SMB2_FILE_SHARE_ALL, .disposition = SMB2_FILE_OPEN,
      .name = name, .name_len = 2, .oplock_level = SMB2_OPLOCK_LEVEL_LEASE,
      .contexts = &ctx, .n_contexts = 1};
  long len = smb2_encode_create_req(body, sizeof(body), &cr);
  ck_assert_int_eq(len, 120);
  ck_assert_mem_hex(body,
                    "3900 00 FF 02000000 0000000000000000 0000000000000000"
                    "81000000 00000000 07000000 01000000 00000000"
                    "7800 0200 80000000 38000000"
                    "6400 000000000000"
                    /* 2.2.13.2: Next, NameOffset, NameLength, Reserved,
                     * DataOffset, DataLength, "RqLs", padding */
                    "00000000 1000 0400 0000 1800 20000000 52714C73 00000000"
                    /* 2.2.13.2.8 */
                    KEY_HEX "07000000 00000000 0000000000000000");
  /* decoded back through the reply-side helpers */
  struct smb2_create_rsp r = {.contexts = body + 64, .contexts_len = 56};
  struct smb2_lease got;
  ck_assert_int_eq(smb2_create_rsp_lease(&r, &got), 1);
  ck_assert_int_eq(got.version, 1);
  ck_assert_mem_eq(got.key, key, 16);
  ck_assert_uint_eq(got.state, 7);
  ck_assert_uint_eq(got.flags, 0);
  ck_assert_uint_eq(got.epoch, 0);
  struct smb2_durable_rsp d;
  ck_assert_int_eq(smb2_create_rsp_durable(&r, &d), 0);
  /* bad versions */
  l.version = 0;
  ck_assert_int_eq(smb2_lease_ctx(&ctx, buf, &l), SMBQ_ERR_INVAL);
  l.version = 3;
  ck_assert_int_eq(smb2_lease_ctx(&ctx, buf, &l), SMBQ_ERR_INVAL);
}
END_TEST

START_TEST(lease_v2_and_dh2q_in_create_req) {
  uint8_t lbuf[SMB2_LEASE_V2_SIZE], dbuf[32], body[256];
  static const uint8_t name[2] = {'d', 0};
  struct smb2_lease l = {.version = 2,
                         .state = SMB2_LEASE_READ | SMB2_LEASE_HANDLE |
                                  SMB2_LEASE_WRITE,
                         .flags = SMB2_LEASE_FLAG_PARENT_LEASE_KEY_SET};
  memcpy(l.key, key, 16);
  memcpy(l.parent_key, parent, 16);
  struct smb2_durable_req dr = {.version = 2, .timeout_ms = 60000};
  memcpy(dr.create_guid, guid, 16);
  struct smb2_create_ctx ctx[2];
  memset(lbuf, 0xEE, sizeof(lbuf));
  memset(dbuf, 0xEE, sizeof(dbuf));
  ck_assert_int_eq(smb2_lease_ctx(&ctx[0], lbuf, &l), 0);
  ck_assert_uint_eq(ctx[0].data_len, SMB2_LEASE_V2_SIZE);
  ck_assert_int_eq(smb2_durable_req_ctx(&ctx[1], dbuf, &dr), 0);
  ck_assert_uint_eq(ctx[1].data_len, 32);
  struct smb2_create_req cr = {
      .desired_access = SMB2_FILE_READ_DATA | SMB2_FILE_READ_ATTRIBUTES,
      .share_access = SMB2_FILE_SHARE_ALL, .disposition = SMB2_FILE_OPEN,
      .name = name, .name_len = 2, .oplock_level = SMB2_OPLOCK_LEVEL_LEASE,
      .contexts = ctx, .n_contexts = 2};
  long len = smb2_encode_create_req(body, sizeof(body), &cr);
  ck_assert_int_eq(len, 64 + 80 + 56);
  ck_assert_mem_hex(body,
                    "3900 00 FF 02000000 0000000000000000 0000000000000000"
                    "81000000 00000000 07000000 01000000 00000000"
                    "7800 0200 80000000 88000000"
                    "6400 000000000000"
                    /* RqLs: 24 + 52 = 76, padded to 80 */
                    "50000000 1000 0400 0000 1800 34000000 52714C73 00000000"
                    /* 2.2.13.2.10 */
                    KEY_HEX "07000000 04000000 0000000000000000" PARENT_HEX
                    "0000 0000"
                    "00000000"
                    /* DH2Q, last: 24 + 32 */
                    "00000000 1000 0400 0000 1800 20000000 44483251 00000000"
                    /* 2.2.13.2.11: Timeout, Flags, Reserved, CreateGuid */
                    "60EA0000 00000000 0000000000000000" GUID_HEX);
  struct smb2_create_rsp r = {.contexts = body + 64, .contexts_len = 136};
  struct smb2_lease got;
  ck_assert_int_eq(smb2_create_rsp_lease(&r, &got), 1);
  ck_assert_int_eq(got.version, 2);
  ck_assert_mem_eq(got.key, key, 16);
  ck_assert_mem_eq(got.parent_key, parent, 16);
  ck_assert_uint_eq(got.state, 7);
  ck_assert_uint_eq(got.flags, SMB2_LEASE_FLAG_PARENT_LEASE_KEY_SET);
  /* a request's DH2Q (32 bytes) is not a reply's (8 bytes) */
  struct smb2_durable_rsp d;
  ck_assert_int_eq(smb2_create_rsp_durable(&r, &d), SMBQ_ERR_PROTO);
}
END_TEST

START_TEST(lease_ctx_roundtrip_and_sizes) {
  uint8_t buf[SMB2_LEASE_V2_SIZE];
  struct smb2_create_ctx ctx;
  struct smb2_lease l = {.version = 2, .state = SMB2_LEASE_READ,
                         .flags = SMB2_LEASE_FLAG_PARENT_LEASE_KEY_SET |
                                  SMB2_LEASE_FLAG_BREAK_IN_PROGRESS,
                         .epoch = 0xBEEF};
  memcpy(l.key, key, 16);
  memcpy(l.parent_key, parent, 16);
  ck_assert_int_eq(smb2_lease_ctx(&ctx, buf, &l), 0);
  ck_assert_mem_hex(buf + 48, "EFBE 0000"); /* Epoch, Reserved */
  struct smb2_lease got;
  ck_assert_int_eq(smb2_decode_lease_ctx(ctx.data, ctx.data_len, &got), 0);
  ck_assert_int_eq(got.version, 2);
  ck_assert_uint_eq(got.epoch, 0xBEEF);
  ck_assert_uint_eq(got.flags, 6);
  ck_assert_mem_eq(got.parent_key, parent, 16);
  /* the v1 form is the first 32 bytes of the v2 form */
  ck_assert_int_eq(smb2_decode_lease_ctx(buf, 32, &got), 0);
  ck_assert_int_eq(got.version, 1);
  ck_assert_uint_eq(got.epoch, 0);
  ck_assert_uint_eq(got.flags, 6); /* a reply's flags are kept */
  /* every other size is malformed, including 40 */
  uint8_t big[64] = {0};
  for (size_t n = 0; n <= sizeof(big); n++) {
    int want = n == 32 || n == 52 ? 0 : SMBQ_ERR_PROTO;
    ck_assert_msg(smb2_decode_lease_ctx(big, n, &got) == want, "len %zu", n);
  }
  ck_assert_int_eq(smb2_decode_lease_ctx(big, 40, &got), SMBQ_ERR_PROTO);
  ck_assert_int_eq(smb2_decode_lease_ctx(NULL, 32, &got), SMBQ_ERR_PROTO);
}
END_TEST

/* ---- a Windows-style directory open ----------------------------------- */



START_TEST(windows_directory_lease) {
  size_t n;
  uint8_t *m = msg_of(dir_create_rsp_hex, &n);
  ck_assert_uint_eq(n, 64 + 88 + 200);
  struct smb2_create_rsp r;
  ck_assert_int_eq(smb2_decode_create_rsp(m, n, &r), 0);
  ck_assert_uint_eq(r.oplock_level, SMB2_OPLOCK_LEVEL_LEASE);
  ck_assert_uint_eq(r.attributes, SMB2_ATTR_DIRECTORY);
  ck_assert_uint_eq(r.contexts_len, 200);
  struct smb2_lease l;
  ck_assert_int_eq(smb2_create_rsp_lease(&r, &l), 1);
  ck_assert_int_eq(l.version, 2);
  ck_assert_mem_eq(l.key, key, 16);
  ck_assert_uint_eq(l.state, SMB2_LEASE_READ | SMB2_LEASE_HANDLE);
  ck_assert_uint_eq(l.flags, SMB2_LEASE_FLAG_PARENT_LEASE_KEY_SET);
  ck_assert_mem_eq(l.parent_key, parent, 16);
  ck_assert_uint_eq(l.epoch, 2);
  struct smb2_durable_rsp d;
  ck_assert_int_eq(smb2_create_rsp_durable(&r, &d), 1);
  ck_assert_int_eq(d.version, 2);
  ck_assert_uint_eq(d.timeout_ms, 60000);
  ck_assert_uint_eq(d.flags, 0);

  /* the whole chain is checked: any truncation of the contexts fails */
  struct smb2_create_rsp t = r;
  for (size_t k = 1; k < r.contexts_len; k++) {
    t.contexts_len = k;
    ck_assert_msg(smb2_create_rsp_lease(&t, &l) == SMBQ_ERR_PROTO, "k %zu",
                  k);
    ck_assert_msg(smb2_create_rsp_durable(&t, &d) == SMBQ_ERR_PROTO, "k %zu",
                  k);
  }
  t.contexts = NULL;
  t.contexts_len = 0;
  ck_assert_int_eq(smb2_create_rsp_lease(&t, &l), 0);
  ck_assert_int_eq(smb2_create_rsp_durable(&t, &d), 0);

  /* the break */
  size_t bn;
  uint8_t *b = msg_of(dir_lease_notify_hex, &bn);
  ck_assert_uint_eq(bn, 64 + 44);
  struct smb2_break_notify nt;
  ck_assert_int_eq(smb2_decode_break_notify(b, bn, &nt), 0);
  ck_assert_int_eq(nt.kind, SMB2_BREAK_LEASE);
  ck_assert_uint_eq(nt.new_epoch, 3);
  ck_assert_uint_eq(nt.flags, SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED);
  ck_assert_mem_eq(nt.lease_key, key, 16);
  ck_assert_uint_eq(nt.current_state, SMB2_LEASE_READ | SMB2_LEASE_HANDLE);
  ck_assert_uint_eq(nt.new_state, SMB2_LEASE_READ);
  /* and our acknowledgement (2.2.24.2) */
  uint8_t ack[36];
  ck_assert_int_eq(smb2_encode_lease_break_ack(ack, sizeof(ack),
                                               nt.lease_key, nt.new_state),
                   36);
  ck_assert_mem_hex(ack, "2400 0000 00000000" KEY_HEX
                         "01000000 0000000000000000");
  free(b);
  free(m);
}
END_TEST

/* Offsets into dir_create_rsp_hex's contexts (from 64 + 152 = 216 in the
 * message): MxAc 0, QFid 32, RqLs 88, DH2Q 168. */
#define CTX0 (64 + 88)
#define MXAC (CTX0 + 0)
#define QFID (CTX0 + 32)
#define RQLS (CTX0 + 88)
#define DH2Q (CTX0 + 168)

START_TEST(create_rsp_contexts_malformed) {
  size_t n;
  uint8_t *orig = msg_of(dir_create_rsp_hex, &n);
  uint8_t *m = malloc(n);
  struct smb2_create_rsp r;
  struct smb2_lease l;
  struct smb2_durable_rsp d;

  /* Next pointing outside the contexts */
  memcpy(m, orig, n);
  smbq_put_le32(m + MXAC, 0x400);
  ck_assert_int_eq(smb2_decode_create_rsp(m, n, &r), 0);
  ck_assert_int_eq(smb2_create_rsp_lease(&r, &l), SMBQ_ERR_PROTO);
  ck_assert_int_eq(smb2_create_rsp_durable(&r, &d), SMBQ_ERR_PROTO);
  /* ... or just past them, from the lease context */
  memcpy(m, orig, n);
  smbq_put_le32(m + RQLS, 120);
  ck_assert_int_eq(smb2_decode_create_rsp(m, n, &r), 0);
  ck_assert_int_eq(smb2_create_rsp_lease(&r, &l), SMBQ_ERR_PROTO);

  /* a 40-byte lease context (fits its context, but is neither v1 nor v2) */
  memcpy(m, orig, n);
  smbq_put_le32(m + RQLS + 12, 40);
  ck_assert_int_eq(smb2_decode_create_rsp(m, n, &r), 0);
  ck_assert_int_eq(smb2_create_rsp_lease(&r, &l), SMBQ_ERR_PROTO);
  /* lease data running into the next context */
  smbq_put_le32(m + RQLS + 12, 60);
  ck_assert_int_eq(smb2_create_rsp_lease(&r, &l), SMBQ_ERR_PROTO);

  /* two lease contexts: QFid renamed (its 32 bytes look like a v1 lease) */
  memcpy(m, orig, n);
  memcpy(m + QFID + 16, "RqLs", 4);
  ck_assert_int_eq(smb2_decode_create_rsp(m, n, &r), 0);
  ck_assert_int_eq(smb2_create_rsp_lease(&r, &l), SMBQ_ERR_PROTO);

  /* no lease context: 0, *l untouched */
  memcpy(m, orig, n);
  memcpy(m + RQLS + 16, "RqLx", 4);
  ck_assert_int_eq(smb2_decode_create_rsp(m, n, &r), 0);
  memset(&l, 0x5A, sizeof(l));
  ck_assert_int_eq(smb2_create_rsp_lease(&r, &l), 0);
  ck_assert_uint_eq(l.key[0], 0x5A);
  /* a 3-byte name that starts like the tag is not the tag */
  memcpy(m, orig, n);
  smbq_put_le16(m + RQLS + 6, 3);
  ck_assert_int_eq(smb2_decode_create_rsp(m, n, &r), 0);
  ck_assert_int_eq(smb2_create_rsp_lease(&r, &l), 0);

  /* DH2Q of a wrong size */
  memcpy(m, orig, n);
  smbq_put_le32(m + DH2Q + 12, 4);
  ck_assert_int_eq(smb2_decode_create_rsp(m, n, &r), 0);
  ck_assert_int_eq(smb2_create_rsp_durable(&r, &d), SMBQ_ERR_PROTO);
  ck_assert_int_eq(smb2_create_rsp_lease(&r, &l), 1); /* lease still ok */
  /* DHnQ (MxAc renamed, 8 bytes) and DH2Q together */
  memcpy(m, orig, n);
  memcpy(m + MXAC + 16, "DHnQ", 4);
  ck_assert_int_eq(smb2_decode_create_rsp(m, n, &r), 0);
  ck_assert_int_eq(smb2_create_rsp_durable(&r, &d), SMBQ_ERR_PROTO);
  /* DHnQ alone: version 1 */
  memcpy(m + DH2Q + 16, "DH2x", 4);
  memset(&d, 0x5A, sizeof(d));
  ck_assert_int_eq(smb2_create_rsp_durable(&r, &d), 1);
  ck_assert_int_eq(d.version, 1);
  ck_assert_uint_eq(d.timeout_ms, 0);
  ck_assert_uint_eq(d.flags, 0);
  /* DHnQ of 16 bytes (a request's size) overruns its context */
  smbq_put_le32(m + MXAC + 12, 16);
  ck_assert_int_eq(smb2_create_rsp_durable(&r, &d), SMBQ_ERR_PROTO);
  free(m);
  free(orig);
}
END_TEST

/* ---- break notifications ------------------------------------------------ */

START_TEST(lease_break_notify) {
  size_t n;
  uint8_t *m = msg_of(lease_notify_hex, &n);
  ck_assert_uint_eq(n, 64 + 44);
  struct smb2_break_notify nt;
  ck_assert_int_eq(smb2_decode_break_notify(m, n, &nt), 0);
  ck_assert_int_eq(nt.kind, SMB2_BREAK_LEASE);
  ck_assert_uint_eq(nt.new_epoch, 2);
  ck_assert_uint_eq(nt.flags, SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED);
  ck_assert_mem_eq(nt.lease_key, key, 16);
  ck_assert_uint_eq(nt.current_state, 7);
  ck_assert_uint_eq(nt.new_state, 3);
  ck_assert_uint_eq(nt.oplock_level, 0);
  /* trailing bytes (e.g. 8-byte padding) are allowed */
  uint8_t *big = calloc(1, n + 8);
  memcpy(big, m, n);
  ck_assert_int_eq(smb2_decode_break_notify(big, n + 8, &nt), 0);
  free(big);
  /* every truncation */
  for (size_t k = 0; k < n; k++)
    ck_assert_msg(smb2_decode_break_notify(m, k, &nt) == SMBQ_ERR_PROTO,
                  "len %zu", k);
  free(m);
}
END_TEST

START_TEST(oplock_break_notify) {
  size_t n;
  uint8_t *m = msg_of(oplock_notify_hex, &n);
  ck_assert_uint_eq(n, 64 + 24);
  struct smb2_break_notify nt;
  ck_assert_int_eq(smb2_decode_break_notify(m, n, &nt), 0);
  ck_assert_int_eq(nt.kind, SMB2_BREAK_OPLOCK);
  ck_assert_uint_eq(nt.oplock_level, SMB2_OPLOCK_LEVEL_II);
  ck_assert_mem_eq(nt.file_id, fid, 16);
  ck_assert_uint_eq(nt.new_state, 0);
  ck_assert_uint_eq(nt.flags, 0);
  for (size_t k = 0; k < n; k++)
    ck_assert_msg(smb2_decode_break_notify(m, k, &nt) == SMBQ_ERR_PROTO,
                  "len %zu", k);
  free(m);
}
END_TEST

START_TEST(break_notify_malformed) {
  const char *hexes[2] = {lease_notify_hex, oplock_notify_hex};
  for (int w = 0; w < 2; w++) {
    size_t n;
    uint8_t *orig = msg_of(hexes[w], &n);
    uint8_t *m = malloc(n);
    struct smb2_break_notify nt;
    /* wrong body StructureSize */
    static const uint16_t sizes[] = {0, 9, 23, 25, 36, 43, 45, 0xFFFF};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
      memcpy(m, orig, n);
      smbq_put_le16(m + 64, sizes[i]);
      ck_assert_msg(smb2_decode_break_notify(m, n, &nt) == SMBQ_ERR_PROTO,
                    "form %d size %u", w, sizes[i]);
    }
    /* an oplock-sized message claiming the lease form */
    if (w == 1) {
      memcpy(m, orig, n);
      smbq_put_le16(m + 64, 44);
      ck_assert_int_eq(smb2_decode_break_notify(m, n, &nt), SMBQ_ERR_PROTO);
    }
    /* wrong command */
    memcpy(m, orig, n);
    smbq_put_le16(m + 12, SMB2_CREATE);
    ck_assert_int_eq(smb2_decode_break_notify(m, n, &nt), SMBQ_ERR_PROTO);
    /* MessageId not all ones */
    static const uint64_t ids[] = {0, 11, 0xFFFFFFFFFFFFFFFEull,
                                   0x00FFFFFFFFFFFFFFull};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
      memcpy(m, orig, n);
      smbq_put_le64(m + 24, ids[i]);
      ck_assert_int_eq(smb2_decode_break_notify(m, n, &nt), SMBQ_ERR_PROTO);
    }
    /* header: protocol id, header StructureSize, not from the server */
    memcpy(m, orig, n);
    m[0] = 0xFD;
    ck_assert_int_eq(smb2_decode_break_notify(m, n, &nt), SMBQ_ERR_PROTO);
    memcpy(m, orig, n);
    smbq_put_le16(m + 4, 63);
    ck_assert_int_eq(smb2_decode_break_notify(m, n, &nt), SMBQ_ERR_PROTO);
    memcpy(m, orig, n);
    smbq_put_le32(m + 16, 0);
    ck_assert_int_eq(smb2_decode_break_notify(m, n, &nt), SMBQ_ERR_PROTO);
    /* the untouched copy still decodes */
    memcpy(m, orig, n);
    ck_assert_int_eq(smb2_decode_break_notify(m, n, &nt), 0);
    free(m);
    free(orig);
  }
}
END_TEST

/* ---- acknowledgements and their responses ------------------------------- */

START_TEST(break_acks_exact) {
  uint8_t out[64];
  memset(out, 0xEE, sizeof(out));
  ck_assert_int_eq(smb2_encode_oplock_break_ack(out, sizeof(out), fid,
                                                SMB2_OPLOCK_LEVEL_II),
                   24);
  /* 2.2.24.1: StructureSize, OplockLevel, Reserved, Reserved2, FileId */
  ck_assert_mem_hex(out, "1800 01 00 00000000" FID_HEX);
  ck_assert_uint_eq(out[24], 0xEE); /* nothing past the body */
  memset(out, 0xEE, sizeof(out));
  ck_assert_int_eq(smb2_encode_lease_break_ack(out, sizeof(out), key,
                                               SMB2_LEASE_READ |
                                                   SMB2_LEASE_HANDLE),
                   36);
  /* 2.2.24.2: StructureSize, Reserved, Flags, LeaseKey, LeaseState,
   * LeaseDuration */
  ck_assert_mem_hex(out, "2400 0000 00000000" KEY_HEX
                         "03000000 0000000000000000");
  ck_assert_uint_eq(out[36], 0xEE);
  for (size_t cap = 0; cap < 24; cap++)
    ck_assert_int_eq(smb2_encode_oplock_break_ack(out, cap, fid, 0),
                     SMBQ_ERR_BUFSMALL);
  for (size_t cap = 0; cap < 36; cap++)
    ck_assert_int_eq(smb2_encode_lease_break_ack(out, cap, key, 0),
                     SMBQ_ERR_BUFSMALL);
  ck_assert_int_eq(smb2_encode_oplock_break_ack(out, 24, fid, 0), 24);
  ck_assert_int_eq(smb2_encode_lease_break_ack(out, 36, key, 0), 36);
}
END_TEST

START_TEST(break_responses) {
  size_t on, ln;
  uint8_t *om = msg_of(HDR_ACK_RSP "1800 00 00 00000000" FID_HEX, &on);
  uint8_t *lm = msg_of(HDR_ACK_RSP "2400 0000 00000000" KEY_HEX
                                   "01000000 0000000000000000",
                       &ln);
  ck_assert_uint_eq(on, 64 + 24);
  ck_assert_uint_eq(ln, 64 + 36);
  uint8_t level = 0xEE, id[16], k[16];
  uint32_t state = 0xEE;
  ck_assert_int_eq(smb2_decode_oplock_break_rsp(om, on, &level, id), 0);
  ck_assert_uint_eq(level, SMB2_OPLOCK_LEVEL_NONE);
  ck_assert_mem_eq(id, fid, 16);
  ck_assert_int_eq(smb2_decode_lease_break_rsp(lm, ln, k, &state), 0);
  ck_assert_mem_eq(k, key, 16);
  ck_assert_uint_eq(state, SMB2_LEASE_READ);
  /* the other form is refused */
  ck_assert_int_eq(smb2_decode_oplock_break_rsp(lm, ln, &level, id),
                   SMBQ_ERR_PROTO);
  ck_assert_int_eq(smb2_decode_lease_break_rsp(om, on, k, &state),
                   SMBQ_ERR_PROTO);
  /* truncations */
  for (size_t c = 0; c < on; c++)
    ck_assert_int_eq(smb2_decode_oplock_break_rsp(om, c, &level, id),
                     SMBQ_ERR_PROTO);
  for (size_t c = 0; c < ln; c++)
    ck_assert_int_eq(smb2_decode_lease_break_rsp(lm, c, k, &state),
                     SMBQ_ERR_PROTO);
  /* wrong command, wrong StructureSize, an error body */
  smbq_put_le16(om + 12, SMB2_CLOSE);
  ck_assert_int_eq(smb2_decode_oplock_break_rsp(om, on, &level, id),
                   SMBQ_ERR_PROTO);
  smbq_put_le16(om + 12, SMB2_OPLOCK_BREAK);
  smbq_put_le16(om + 64, 25);
  ck_assert_int_eq(smb2_decode_oplock_break_rsp(om, on, &level, id),
                   SMBQ_ERR_PROTO);
  smbq_put_le16(lm + 64, 9);
  ck_assert_int_eq(smb2_decode_lease_break_rsp(lm, ln, k, &state),
                   SMBQ_ERR_PROTO);
  smbq_put_le16(lm + 64, 44);
  ck_assert_int_eq(smb2_decode_lease_break_rsp(lm, ln, k, &state),
                   SMBQ_ERR_PROTO);
  free(om);
  free(lm);
}
END_TEST

/* ---- durable handle contexts -------------------------------------------- */

START_TEST(durable_contexts) {
  uint8_t buf[36];
  struct smb2_create_ctx c;
  /* DHnQ (2.2.13.2.3): 16 zero bytes */
  struct smb2_durable_req d1 = {.version = 1, .timeout_ms = 5, .flags = 2};
  memset(buf, 0xEE, sizeof(buf));
  ck_assert_int_eq(smb2_durable_req_ctx(&c, buf, &d1), 0);
  ck_assert_mem_eq(c.name, "DHnQ", 4);
  ck_assert_uint_eq(c.name_len, 4);
  ck_assert_ptr_eq(c.data, buf);
  ck_assert_uint_eq(c.data_len, 16);
  ck_assert_mem_hex(buf, "00000000000000000000000000000000");
  /* DH2Q (2.2.13.2.11) */
  struct smb2_durable_req d2 = {.version = 2, .timeout_ms = 120000,
                                .flags = SMB2_DHANDLE_FLAG_PERSISTENT};
  memcpy(d2.create_guid, guid, 16);
  memset(buf, 0xEE, sizeof(buf));
  ck_assert_int_eq(smb2_durable_req_ctx(&c, buf, &d2), 0);
  ck_assert_mem_eq(c.name, "DH2Q", 4);
  ck_assert_uint_eq(c.data_len, 32);
  ck_assert_mem_hex(buf, "C0D40100 02000000 0000000000000000" GUID_HEX);
  d2.version = 3;
  ck_assert_int_eq(smb2_durable_req_ctx(&c, buf, &d2), SMBQ_ERR_INVAL);
  d2.version = 0;
  ck_assert_int_eq(smb2_durable_req_ctx(&c, buf, &d2), SMBQ_ERR_INVAL);

  /* DHnC (2.2.13.2.4): the file id */
  memset(buf, 0xEE, sizeof(buf));
  ck_assert_int_eq(smb2_durable_reconnect_ctx(&c, buf, 1, fid, NULL, 0), 0);
  ck_assert_mem_eq(c.name, "DHnC", 4);
  ck_assert_uint_eq(c.data_len, 16);
  ck_assert_mem_hex(buf, FID_HEX);
  /* DH2C (2.2.13.2.12): FileId, CreateGuid, Flags */
  memset(buf, 0xEE, sizeof(buf));
  ck_assert_int_eq(smb2_durable_reconnect_ctx(&c, buf, 2, fid, guid,
                                              SMB2_DHANDLE_FLAG_PERSISTENT),
                   0);
  ck_assert_mem_eq(c.name, "DH2C", 4);
  ck_assert_uint_eq(c.data_len, 36);
  ck_assert_mem_hex(buf, FID_HEX GUID_HEX "02000000");
  ck_assert_int_eq(smb2_durable_reconnect_ctx(&c, buf, 2, fid, NULL, 0),
                   SMBQ_ERR_INVAL);
  ck_assert_int_eq(smb2_durable_reconnect_ctx(&c, buf, 0, fid, guid, 0),
                   SMBQ_ERR_INVAL);

  /* a reconnect CREATE: DH2C + RqLs v2, byte-exact */
  uint8_t lbuf[SMB2_LEASE_V2_SIZE], body[256];
  struct smb2_lease l = {.version = 2,
                         .state = SMB2_LEASE_READ | SMB2_LEASE_HANDLE};
  memcpy(l.key, key, 16);
  struct smb2_create_ctx ctx[2];
  ck_assert_int_eq(smb2_durable_reconnect_ctx(&ctx[0], buf, 2, fid, guid, 0),
                   0);
  ck_assert_int_eq(smb2_lease_ctx(&ctx[1], lbuf, &l), 0);
  static const uint8_t name[2] = {'f', 0};
  struct smb2_create_req cr = {.desired_access = SMB2_GENERIC_READ,
                               .share_access = SMB2_FILE_SHARE_READ,
                               .disposition = SMB2_FILE_OPEN,
                               .name = name, .name_len = 2,
                               .oplock_level = SMB2_OPLOCK_LEVEL_LEASE,
                               .contexts = ctx, .n_contexts = 2};
  /* DH2C 24 + 36 = 60 -> 64, RqLs 24 + 52 = 76 */
  ck_assert_int_eq(smb2_encode_create_req(body, sizeof(body), &cr),
                   64 + 64 + 76);
  ck_assert_mem_hex(body + 48, "80000000 8C000000");
  ck_assert_mem_hex(body + 64,
                    "40000000 1000 0400 0000 1800 24000000 44483243 00000000"
                    FID_HEX GUID_HEX "00000000"
                    "00000000"
                    "00000000 1000 0400 0000 1800 34000000 52714C73 00000000"
                    KEY_HEX "03000000 00000000 0000000000000000"
                    "00000000000000000000000000000000 0000 0000");

  /* replies: a Samba-style DHnQ (8 reserved bytes) */
  uint8_t *rc = unhex("00000000 1000 0400 0000 1800 08000000 44486E51 00000000"
                      "0000000000000000",
                      &(size_t){0});
  struct smb2_create_rsp r = {.contexts = rc, .contexts_len = 32};
  struct smb2_durable_rsp dr;
  ck_assert_int_eq(smb2_create_rsp_durable(&r, &dr), 1);
  ck_assert_int_eq(dr.version, 1);
  ck_assert_uint_eq(dr.timeout_ms, 0);
  struct smb2_lease got;
  ck_assert_int_eq(smb2_create_rsp_lease(&r, &got), 0);
  free(rc);
  /* a persistent DH2Q reply */
  rc = unhex("00000000 1000 0400 0000 1800 08000000 44483251 00000000"
             "C0D40100 02000000",
             &(size_t){0});
  r.contexts = rc;
  ck_assert_int_eq(smb2_create_rsp_durable(&r, &dr), 1);
  ck_assert_int_eq(dr.version, 2);
  ck_assert_uint_eq(dr.timeout_ms, 120000);
  ck_assert_uint_eq(dr.flags, SMB2_DHANDLE_FLAG_PERSISTENT);
  /* DataLength pointing past the context */
  smbq_put_le32(rc + 12, 9);
  ck_assert_int_eq(smb2_create_rsp_durable(&r, &dr), SMBQ_ERR_PROTO);
  free(rc);
}
END_TEST

int main(void) {
  Suite *s = suite_create("smb2_lease");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, lease_v1_in_create_req);
  tcase_add_test(tc, lease_v2_and_dh2q_in_create_req);
  tcase_add_test(tc, lease_ctx_roundtrip_and_sizes);
  tcase_add_test(tc, windows_directory_lease);
  tcase_add_test(tc, create_rsp_contexts_malformed);
  tcase_add_test(tc, lease_break_notify);
  tcase_add_test(tc, oplock_break_notify);
  tcase_add_test(tc, break_notify_malformed);
  tcase_add_test(tc, break_acks_exact);
  tcase_add_test(tc, break_responses);
  tcase_add_test(tc, durable_contexts);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
