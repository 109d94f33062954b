/* SMB2 command bodies: exact encodings against a real Windows NEGOTIATE,
 * real reply decoding, and malformed replies for every decoder. */
#include <check.h>

#include "smb2/smb2_pdu.h"
#include "smbq/smbq_err.h"
#include "smbq_bytes.h"
#include "testutil.h"
#include "vectors.h"

START_TEST(negotiate_req_matches_windows) {
  size_t n;
  uint8_t *want = unhex(vec_negotiate_req, &n);
  static const uint16_t d[] = {0x0202, 0x0210, 0x0300, 0x0302, 0x0311};
  static const uint16_t ciphers[] = {SMB2_CIPHER_AES128_GCM,
                                     SMB2_CIPHER_AES128_CCM};
  struct smb2_negotiate_req r = {
      .dialects = d, .n_dialects = 5, .security_mode = 0,
      .capabilities = 0x3F, .salt = want + 64 + 62, .salt_len = 32,
      .ciphers = ciphers, .n_ciphers = 2};
  memcpy(r.client_guid, want + 64 + 12, 16);
  uint8_t body[512];
  long len = smb2_encode_negotiate_req(body, sizeof(body), &r);
  ck_assert_int_eq(len, (long)(n - 64));
  ck_assert_mem_eq(body, want + 64, (size_t)len);
  /* too small a buffer is refused, not overrun */
  ck_assert_int_eq(smb2_encode_negotiate_req(body, (size_t)len - 1, &r),
                   SMBQ_ERR_BUFSMALL);
  free(want);
}
END_TEST

START_TEST(negotiate_contexts_aligned) {
  static const uint16_t d[] = {0x0311};
  static const uint16_t c[] = {1, 2, 3, 4}, sg[] = {2, 1, 0};
  uint8_t salt[32] = {0}, name[10] = {'h', 0, 'o', 0, 's', 0, 't', 0, 'x', 0};
  struct smb2_negotiate_req r = {
      .dialects = d, .n_dialects = 1, .salt = salt, .salt_len = 32,
      .ciphers = c, .n_ciphers = 4, .signing_algs = sg, .n_signing_algs = 3,
      .netname = name, .netname_len = 10, .transport_caps = true,
      .transport_flags = 1};
  uint8_t body[512];
  long len = smb2_encode_negotiate_req(body, sizeof(body), &r);
  ck_assert_int_gt(len, 0);
  uint32_t off = smbq_le32_at(body + 28);
  ck_assert_uint_eq(smbq_le16_at(body + 32), 5);
  ck_assert_uint_eq(off % 8, 0);
  uint16_t types[5];
  for (int i = 0; i < 5; i++) {
    ck_assert_uint_eq(off % 8, 0); /* each context 8-aligned (2.2.3.1) */
    const uint8_t *ctx = body + off - 64;
    types[i] = smbq_le16_at(ctx);
    off += 8 + smbq_le16_at(ctx + 2);
    off = (off + 7) & ~7u;
  }
  ck_assert_uint_eq(types[0], SMB2_PREAUTH_INTEGRITY_CAPABILITIES);
  ck_assert_uint_eq(types[4], SMB2_TRANSPORT_CAPABILITIES);
}
END_TEST

START_TEST(negotiate_rsp_windows) {
  size_t n;
  uint8_t *m = unhex(vec_negotiate_rsp, &n);
  struct smb2_negotiate_rsp r;
  ck_assert_int_eq(smb2_decode_negotiate_rsp(m, n, &r), 0);
  ck_assert_uint_eq(r.dialect, 0x0311);
  ck_assert_uint_eq(r.security_mode, 1);
  ck_assert_uint_eq(r.max_read, 0x800000);
  ck_assert_uint_eq(r.security_len, 0x140);
  ck_assert(r.has_preauth);
  ck_assert_uint_eq(r.preauth_hash, SMB2_PREAUTH_SHA512);
  ck_assert(r.has_cipher);
  ck_assert_uint_eq(r.cipher, SMB2_CIPHER_AES128_GCM);
  ck_assert(!r.has_signing);
  /* every truncation fails cleanly */
  for (size_t cut = 1; cut < n - 64; cut += 5)
    ck_assert_int_eq(smb2_decode_negotiate_rsp(m, n - cut, &r),
                     SMBQ_ERR_PROTO);
  /* context offset pointing past the end */
  uint8_t *bad = malloc(n);
  memcpy(bad, m, n);
  smbq_put_le32(bad + 64 + 60, (uint32_t)n);
  ck_assert_int_eq(smb2_decode_negotiate_rsp(bad, n, &r), SMBQ_ERR_PROTO);
  /* contexts with a 3.0 dialect are malformed */
  memcpy(bad, m, n);
  smbq_put_le16(bad + 64 + 4, 0x0300);
  ck_assert_int_eq(smb2_decode_negotiate_rsp(bad, n, &r), SMBQ_ERR_PROTO);
  /* security buffer beyond the message */
  memcpy(bad, m, n);
  smbq_put_le16(bad + 64 + 58, 0xFFFF);
  ck_assert_int_eq(smb2_decode_negotiate_rsp(bad, n, &r), SMBQ_ERR_PROTO);
  /* two cipher contexts */
  memcpy(bad, m, n);
  smbq_put_le16(bad + 0x1C0, SMB2_ENCRYPTION_CAPABILITIES);
  ck_assert_int_eq(smb2_decode_negotiate_rsp(bad, n, &r), SMBQ_ERR_PROTO);
  free(bad);
  free(m);
}
END_TEST

/* A reply: header + body of `body` bytes, StructureSize ss. */
static uint8_t *mkrsp(uint16_t cmd, uint16_t ss, size_t body, size_t *len) {
  *len = 64 + body;
  uint8_t *m = calloc(1, *len);
  struct smb2_hdr h = {.command = cmd, .flags = SMB2_FLAGS_SERVER_TO_REDIR};
  smb2_hdr_encode(m, &h);
  smbq_put_le16(m + 64, ss);
  return m;
}

START_TEST(read_rsp_bounds) {
  size_t len;
  uint8_t *m = mkrsp(SMB2_READ, 17, 16 + 10, &len);
  m[64 + 2] = 0x50;          /* DataOffset 80 */
  smbq_put_le32(m + 68, 10); /* DataLength */
  struct smb2_read_rsp r;
  ck_assert_int_eq(smb2_decode_read_rsp(m, len, &r), 0);
  ck_assert_ptr_eq(r.data, m + 80);
  ck_assert_uint_eq(r.data_len, 10);
  smbq_put_le32(m + 68, 11); /* one byte past the end */
  ck_assert_int_eq(smb2_decode_read_rsp(m, len, &r), SMBQ_ERR_PROTO);
  smbq_put_le32(m + 68, 0xFFFFFFFFu);
  ck_assert_int_eq(smb2_decode_read_rsp(m, len, &r), SMBQ_ERR_PROTO);
  smbq_put_le32(m + 68, 4);
  m[64 + 2] = 0x40; /* data inside the header */
  ck_assert_int_eq(smb2_decode_read_rsp(m, len, &r), SMBQ_ERR_PROTO);
  m[64 + 2] = 0x50;
  smbq_put_le16(m + 64, 16); /* wrong StructureSize */
  ck_assert_int_eq(smb2_decode_read_rsp(m, len, &r), SMBQ_ERR_PROTO);
  free(m);
}
END_TEST

START_TEST(create_and_close) {
  const uint8_t name[4] = {'a', 0, 'b', 0};
  struct smb2_create_req cr = {.desired_access = 0x80, .disposition = 1,
                               .name = name, .name_len = 4};
  uint8_t body[128];
  ck_assert_int_eq(smb2_encode_create_req(body, sizeof(body), &cr), 60);
  ck_assert_uint_eq(smbq_le16_at(body), 57);
  ck_assert_uint_eq(smbq_le16_at(body + 44), 120); /* NameOffset */
  ck_assert_uint_eq(smbq_le16_at(body + 46), 4);
  ck_assert_mem_eq(body + 56, name, 4);
  cr.name_len = 0; /* the share root: one pad byte */
  ck_assert_int_eq(smb2_encode_create_req(body, sizeof(body), &cr), 57);
  cr.name_len = 3; /* odd UTF-16 length */
  ck_assert_int_eq(smb2_encode_create_req(body, sizeof(body), &cr),
                   SMBQ_ERR_INVAL);
  size_t len;
  uint8_t *m = mkrsp(SMB2_CREATE, 89, 88, &len);
  smbq_put_le64(m + 64 + 48, 12345);
  memset(m + 64 + 64, 0x77, 16);
  struct smb2_create_rsp r;
  ck_assert_int_eq(smb2_decode_create_rsp(m, len, &r), 0);
  ck_assert_uint_eq(r.end_of_file, 12345);
  ck_assert_uint_eq(r.file_id[15], 0x77);
  smbq_put_le32(m + 64 + 80, 200); /* create contexts past the end */
  smbq_put_le32(m + 64 + 84, 8);
  ck_assert_int_eq(smb2_decode_create_rsp(m, len, &r), SMBQ_ERR_PROTO);
  ck_assert_int_eq(smb2_decode_create_rsp(m, 100, &r), SMBQ_ERR_PROTO);
  free(m);
  uint8_t fid[16] = {1};
  ck_assert_int_eq(smb2_encode_close_req(body, sizeof(body), 1, fid), 24);
  ck_assert_int_eq(smb2_encode_close_req(body, 23, 1, fid), SMBQ_ERR_BUFSMALL);
}
END_TEST

START_TEST(write_layout) {
  uint8_t body[128], fid[16] = {0};
  ck_assert_uint_eq(smb2_write_req_size(5), 53);
  ck_assert_int_eq(smb2_encode_write_req(body, sizeof(body), fid, 7, "hello", 5),
                   53);
  ck_assert_uint_eq(smbq_le16_at(body + 2), 0x70); /* DataOffset */
  ck_assert_uint_eq(smbq_le32_at(body + 4), 5);
  ck_assert_uint_eq(smbq_le64_at(body + 8), 7);
  ck_assert_mem_eq(body + 48, "hello", 5);
  size_t len;
  uint8_t *m = mkrsp(SMB2_WRITE, 17, 16, &len);
  smbq_put_le32(m + 68, 5);
  uint32_t count;
  ck_assert_int_eq(smb2_decode_write_rsp(m, len, &count), 0);
  ck_assert_uint_eq(count, 5);
  ck_assert_int_eq(smb2_decode_write_rsp(m, len - 1, &count), SMBQ_ERR_PROTO);
  free(m);
}
END_TEST

/* Build a FileIdBothDirectoryInformation entry at p; returns its size. */
static size_t mkentry(uint8_t *p, const char *ascii, uint32_t next) {
  size_t nl = strlen(ascii) * 2;
  memset(p, 0, 104 + nl);
  smbq_put_le32(p, next);
  smbq_put_le64(p + 40, 99);
  smbq_put_le32(p + 56, SMB2_ATTR_ARCHIVE);
  smbq_put_le32(p + 60, (uint32_t)nl);
  for (size_t i = 0; ascii[i]; i++)
    p[104 + 2 * i] = (uint8_t)ascii[i];
  return 104 + nl;
}

START_TEST(dir_iterator) {
  uint8_t buf[512];
  size_t a = mkentry(buf, "one", 0);
  size_t next = (a + 7) & ~(size_t)7;
  smbq_put_le32(buf, (uint32_t)next);
  size_t b = mkentry(buf + next, "two", 0);
  size_t total = next + b;
  struct smb2_dir_iter it;
  struct smb2_dir_entry e;
  smb2_dir_iter_init(&it, buf, total);
  ck_assert_int_eq(smb2_dir_next(&it, &e), 1);
  ck_assert_uint_eq(e.name_len, 6);
  ck_assert_uint_eq(e.end_of_file, 99);
  ck_assert_int_eq(smb2_dir_next(&it, &e), 1);
  ck_assert_mem_eq(e.name, "t\0w\0o\0", 6);
  ck_assert_int_eq(smb2_dir_next(&it, &e), 0);
  /* NextEntryOffset: misaligned, too small, past the end */
  uint32_t bad_next[] = {next + 1, 8, (uint32_t)total + 8};
  for (size_t i = 0; i < 3; i++) {
    smbq_put_le32(buf, bad_next[i]);
    smb2_dir_iter_init(&it, buf, total);
    ck_assert_int_eq(smb2_dir_next(&it, &e), SMBQ_ERR_PROTO);
  }
  smbq_put_le32(buf, (uint32_t)next);
  smbq_put_le32(buf + 60, 0x7FFFFFFF); /* name longer than the entry */
  smb2_dir_iter_init(&it, buf, total);
  ck_assert_int_eq(smb2_dir_next(&it, &e), SMBQ_ERR_PROTO);
  smb2_dir_iter_init(&it, buf, 50); /* truncated entry */
  ck_assert_int_eq(smb2_dir_next(&it, &e), SMBQ_ERR_PROTO);
  smb2_dir_iter_init(&it, NULL, 0);
  ck_assert_int_eq(smb2_dir_next(&it, &e), 0);
}
END_TEST

START_TEST(info_buffers) {
  uint8_t out[64];
  const uint8_t nm[2] = {'x', 0};
  ck_assert_int_eq(smb2_encode_rename_info(out, sizeof(out), true, nm, 2), 22);
  ck_assert_uint_eq(out[0], 1);
  ck_assert_uint_eq(smbq_le32_at(out + 16), 2);
  ck_assert_int_eq(smb2_encode_rename_info(out, 21, true, nm, 2),
                   SMBQ_ERR_BUFSMALL);
  ck_assert_int_eq(smb2_encode_eof_info(out, 8, 1ULL << 40), 8);
  ck_assert_uint_eq(smbq_le64_at(out), 1ULL << 40);
  struct smb2_file_all_info fi;
  uint8_t all[100] = {0};
  smbq_put_le64(all + 48, 4242);
  all[61] = 1;
  ck_assert_int_eq(smb2_decode_file_all_info(all, sizeof(all), &fi), 0);
  ck_assert_uint_eq(fi.end_of_file, 4242);
  ck_assert(fi.directory);
  ck_assert_int_eq(smb2_decode_file_all_info(all, 99, &fi), SMBQ_ERR_PROTO);
  size_t len;
  uint8_t *m = mkrsp(SMB2_QUERY_INFO, 9, 8 + 4, &len);
  smbq_put_le16(m + 66, 72);
  smbq_put_le32(m + 68, 4);
  const uint8_t *buf;
  size_t bl;
  ck_assert_int_eq(smb2_decode_query_info_rsp(m, len, &buf, &bl), 0);
  ck_assert_uint_eq(bl, 4);
  smbq_put_le32(m + 68, 5);
  ck_assert_int_eq(smb2_decode_query_info_rsp(m, len, &buf, &bl),
                   SMBQ_ERR_PROTO);
  free(m);
}
END_TEST

START_TEST(ioctl_validate) {
  uint8_t in[64], guid[16] = {9};
  static const uint16_t d[] = {0x0300, 0x0302};
  ck_assert_int_eq(
      smb2_encode_validate_negotiate(in, sizeof(in), 0x44, guid, 3, d, 2), 28);
  uint8_t body[256];
  uint8_t fid[16];
  memset(fid, 0xff, 16);
  long n = smb2_encode_ioctl_req(body, sizeof(body),
                                 SMB2_FSCTL_VALIDATE_NEGOTIATE_INFO, fid, in,
                                 28, 24);
  ck_assert_int_eq(n, 56 + 28);
  ck_assert_uint_eq(smbq_le32_at(body + 4), 0x00140204);
  ck_assert_uint_eq(smbq_le32_at(body + 24), 120); /* InputOffset */
  size_t len;
  uint8_t *m = mkrsp(SMB2_IOCTL, 49, 48 + 24, &len);
  smbq_put_le32(m + 64 + 32, 112);
  smbq_put_le32(m + 64 + 36, 24);
  smbq_put_le16(m + 112 + 22, 0x0302);
  struct smb2_ioctl_rsp r;
  struct smb2_validate_negotiate_rsp v;
  ck_assert_int_eq(smb2_decode_ioctl_rsp(m, len, &r), 0);
  ck_assert_int_eq(smb2_decode_validate_negotiate(r.output, r.output_len, &v),
                   0);
  ck_assert_uint_eq(v.dialect, 0x0302);
  smbq_put_le32(m + 64 + 36, 25);
  ck_assert_int_eq(smb2_decode_ioctl_rsp(m, len, &r), SMBQ_ERR_PROTO);
  free(m);
}
END_TEST

START_TEST(rsp_size_table) {
  size_t len;
  uint8_t *m = mkrsp(SMB2_CLOSE, 60, 60, &len);
  ck_assert_int_eq(smb2_check_rsp_size(m, len), 0);
  smbq_put_le16(m + 64, 61);
  ck_assert_int_eq(smb2_check_rsp_size(m, len), SMBQ_ERR_PROTO);
  smbq_put_le16(m + 64, 9); /* error body */
  ck_assert_int_eq(smb2_check_rsp_size(m, len), 0);
  smbq_put_le32(m + 68, 1000); /* ByteCount past the end */
  ck_assert_int_eq(smb2_check_rsp_size(m, len), SMBQ_ERR_PROTO);
  free(m);
  ck_assert_str_eq(smb2_cmd_desc(SMB2_QUERY_DIRECTORY)->name,
                   "QUERY_DIRECTORY");
  ck_assert_ptr_null(smb2_cmd_desc(0x99));
}
END_TEST

START_TEST(remaining_families) {
  uint8_t body[256], fid[16];
  memset(fid, 0x42, 16);
  /* SESSION_SETUP */
  const uint8_t tok[5] = {1, 2, 3, 4, 5};
  struct smb2_session_setup_req ss = {.security_mode = 3, .token = tok,
                                      .token_len = 5};
  ck_assert_int_eq(smb2_encode_session_setup_req(body, sizeof(body), &ss), 29);
  ck_assert_uint_eq(smbq_le16_at(body), 25);
  ck_assert_uint_eq(body[3], 3);
  ck_assert_uint_eq(smbq_le16_at(body + 12), 88); /* buffer offset */
  ck_assert_mem_eq(body + 24, tok, 5);
  size_t len;
  uint8_t *m = mkrsp(SMB2_SESSION_SETUP, 9, 8 + 5, &len);
  smbq_put_le16(m + 66, SMB2_SESSION_FLAG_ENCRYPT_DATA);
  smbq_put_le16(m + 68, 72);
  smbq_put_le16(m + 70, 5);
  struct smb2_session_setup_rsp sr;
  ck_assert_int_eq(smb2_decode_session_setup_rsp(m, len, &sr), 0);
  ck_assert_uint_eq(sr.session_flags, SMB2_SESSION_FLAG_ENCRYPT_DATA);
  ck_assert_uint_eq(sr.token_len, 5);
  smbq_put_le16(m + 70, 6);
  ck_assert_int_eq(smb2_decode_session_setup_rsp(m, len, &sr), SMBQ_ERR_PROTO);
  smbq_put_le16(m + 70, 5);
  smbq_put_le16(m + 68, 64); /* token inside the fixed part */
  ck_assert_int_eq(smb2_decode_session_setup_rsp(m, len, &sr), SMBQ_ERR_PROTO);
  free(m);
  /* TREE_CONNECT */
  const uint8_t path[6] = {'\\', 0, 'x', 0, 'y', 0};
  ck_assert_int_eq(smb2_encode_tree_connect_req(body, sizeof(body), path, 6),
                   14);
  ck_assert_uint_eq(smbq_le16_at(body + 4), 72);
  ck_assert_int_eq(smb2_encode_tree_connect_req(body, sizeof(body), path, 0),
                   SMBQ_ERR_INVAL);
  m = mkrsp(SMB2_TREE_CONNECT, 16, 16, &len);
  m[66] = SMB2_SHARE_TYPE_DISK;
  smbq_put_le32(m + 68, SMB2_SHAREFLAG_ENCRYPT_DATA);
  struct smb2_tree_connect_rsp tr;
  ck_assert_int_eq(smb2_decode_tree_connect_rsp(m, len, &tr), 0);
  ck_assert_uint_eq(tr.share_flags, SMB2_SHAREFLAG_ENCRYPT_DATA);
  ck_assert_int_eq(smb2_decode_tree_connect_rsp(m, len - 1, &tr),
                   SMBQ_ERR_PROTO);
  free(m);
  /* LOGOFF / TREE_DISCONNECT / ECHO bodies, FLUSH */
  ck_assert_int_eq(smb2_encode_empty_req(body, 4), 4);
  ck_assert_int_eq(smb2_encode_empty_req(body, 3), SMBQ_ERR_BUFSMALL);
  m = mkrsp(SMB2_ECHO, 4, 4, &len);
  ck_assert_int_eq(smb2_decode_empty_rsp(m, len), 0);
  smbq_put_le16(m + 64, 5);
  ck_assert_int_eq(smb2_decode_empty_rsp(m, len), SMBQ_ERR_PROTO);
  free(m);
  ck_assert_int_eq(smb2_encode_flush_req(body, sizeof(body), fid), 24);
  ck_assert_mem_eq(body + 8, fid, 16);
  /* QUERY_DIRECTORY request */
  const uint8_t star[2] = {'*', 0};
  struct smb2_query_dir_req q = {.info_class = 0x25, .flags = 1,
                                 .pattern = star, .pattern_len = 2,
                                 .output_len = 65536};
  memcpy(q.file_id, fid, 16);
  ck_assert_int_eq(smb2_encode_query_dir_req(body, sizeof(body), &q), 34);
  ck_assert_uint_eq(smbq_le16_at(body + 24), 96);
  ck_assert_uint_eq(smbq_le32_at(body + 28), 65536);
  q.pattern_len = 0;
  ck_assert_int_eq(smb2_encode_query_dir_req(body, sizeof(body), &q),
                   SMBQ_ERR_INVAL);
  /* QUERY_INFO / SET_INFO */
  struct smb2_query_info_req qi = {.info_type = 2, .info_class = 7,
                                   .output_len = 4096};
  ck_assert_int_eq(smb2_encode_query_info_req(body, sizeof(body), &qi), 41);
  ck_assert_uint_eq(body[2], 2);
  ck_assert_uint_eq(body[3], 7);
  uint8_t one = 1;
  ck_assert_int_eq(smb2_encode_set_info_req(body, sizeof(body), 1, 13, fid,
                                            &one, 1),
                   33);
  ck_assert_uint_eq(smbq_le32_at(body + 4), 1);
  ck_assert_uint_eq(smbq_le16_at(body + 8), 96);
  ck_assert_uint_eq(body[32], 1);
  m = mkrsp(SMB2_SET_INFO, 2, 2, &len);
  ck_assert_int_eq(smb2_decode_set_info_rsp(m, len), 0);
  ck_assert_int_eq(smb2_decode_set_info_rsp(m, 65), SMBQ_ERR_PROTO);
  free(m);
  /* MS-FSCC buffers */
  uint8_t fs[32] = {0};
  smbq_put_le64(fs, 1000);
  smbq_put_le64(fs + 8, 400);
  smbq_put_le32(fs + 24, 8);
  smbq_put_le32(fs + 28, 512);
  struct smb2_fs_full_size ff;
  ck_assert_int_eq(smb2_decode_fs_full_size(fs, 32, &ff), 0);
  ck_assert_uint_eq(ff.caller_avail_units, 400);
  ck_assert_int_eq(smb2_decode_fs_full_size(fs, 31, &ff), SMBQ_ERR_PROTO);
  struct smb2_file_times t = {.last_write = 77};
  ck_assert_int_eq(smb2_encode_basic_info(body, 40, &t, 0x20), 40);
  ck_assert_uint_eq(smbq_le64_at(body + 16), 77);
  ck_assert_uint_eq(smbq_le64_at(body), 0); /* 0 = leave unchanged */
  ck_assert_uint_eq(smbq_le32_at(body + 32), 0x20);
  ck_assert_int_eq(smb2_encode_disposition_info(body, 1, true), 1);
  ck_assert_uint_eq(body[0], 1);
  /* READ request */
  ck_assert_int_eq(smb2_encode_read_req(body, sizeof(body), fid, 4096,
                                        1 << 20),
                   49);
  ck_assert_uint_eq(smbq_le32_at(body + 4), 1u << 20);
  ck_assert_uint_eq(smbq_le64_at(body + 8), 4096);
  /* header round trip, sync and async forms */
  struct smb2_hdr h = {.command = SMB2_READ, .credits = 7, .message_id = 99,
                       .tree_id = 5, .session_id = 11}, h2;
  uint8_t hb[64];
  smb2_hdr_encode(hb, &h);
  ck_assert_int_eq(smb2_hdr_decode(hb, 64, &h2), 0);
  ck_assert_uint_eq(h2.tree_id, 5);
  h.flags = SMB2_FLAGS_ASYNC_COMMAND;
  h.async_id = 0x1234567890ULL;
  smb2_hdr_encode(hb, &h);
  smb2_hdr_decode(hb, 64, &h2);
  ck_assert_uint_eq(h2.async_id, 0x1234567890ULL);
  ck_assert_int_eq(smb2_hdr_decode(hb, 63, &h2), SMBQ_ERR_PROTO);
  hb[0] = 0xFD;
  ck_assert_int_eq(smb2_hdr_decode(hb, 64, &h2), SMBQ_ERR_PROTO);
}
END_TEST

int main(void) {
  Suite *s = suite_create("smb2_pdu");
  TCase *tc = tcase_create("pdu");
  tcase_add_test(tc, negotiate_req_matches_windows);
  tcase_add_test(tc, negotiate_contexts_aligned);
  tcase_add_test(tc, negotiate_rsp_windows);
  tcase_add_test(tc, read_rsp_bounds);
  tcase_add_test(tc, create_and_close);
  tcase_add_test(tc, write_layout);
  tcase_add_test(tc, dir_iterator);
  tcase_add_test(tc, info_buffers);
  tcase_add_test(tc, ioctl_validate);
  tcase_add_test(tc, rsp_size_table);
  tcase_add_test(tc, remaining_families);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
