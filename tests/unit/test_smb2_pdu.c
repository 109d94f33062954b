/* SMB2 command bodies: exact encodings against a real Windows NEGOTIATE
 * and real smbclient/smbd 4.17 traffic, real reply decoding, and malformed
 * replies for every decoder. */
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


/* ---- real traffic: smbclient 4.17 <-> smbd 4.17 over loopback ----------
 * Captured with a recording TCP relay between `smbclient -m SMB3_11` and
 * the e2e fixture's smbd (ls, put, get, allinfo, rename, rm, volume).
 * Each string is one SMB2 message (header + body, no Direct-TCP framing). */
static const char *const samba_neg_req = /* frame 0 */
    "fe534d42400000000000000000001f000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000002400050001000000"
    "7f000000fe23ad0918096a4f9247b954efe61a7e70000000040000000202100200030203"
    "110300000100260000000000010020000100c3622f6fcc9dc8cdb8de76fa70428d0f7c89"
    "22f622263af416b23137d87f09da000002000a0000000000040002000100040003000000"
    "000000000800080000000000030002000100000005001200000000003100320037002e00"
    "30002e0030002e003100";

static const char *const samba_neg_rsp = /* frame 1 */
    "fe534d424000000000000000000001000100000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000004100010011030300"
    "766d00000000000000000000000000000f000000000080000000800000008000ee8b93c4"
    "e27add01000000000000000080004a00d0000000604806062b0601050502a03e303ca00e"
    "300c060a2b06010401823702020aa32a3028a0261b246e6f745f646566696e65645f696e"
    "5f5246433431373840706c656173655f69676e6f72650000000000000100260000000000"
    "01002000010005febe08cfaa2f4c85496522ac74e53c7783762f0842aeacded84a0f2cf9"
    "a92b000002000400000000000100020000000000080004000000000001000200";

static const char *const samba_sess_req = /* frame 2 */
    "fe534d424000010000000000010000201000000000000000010000000000000000000000"
    "000000000000000000000000000000000000000000000000000000001900000101000000"
    "0000000058004a000000000000000000604806062b0601050502a03e303ca00e300c060a"
    "2b06010401823702020aa22a04284e544c4d535350000100000015820862000000002800"
    "00000000000028000000060100000000000f";

static const char *const samba_sess_rsp_more = /* frame 3 */
    "fe534d4240000100160000c0010001001100000000000000010000000000000000000000"
    "000000007eff74e300000000000000000000000000000000000000000900000048008400"
    "a18181307fa0030a0101a10c060a2b06010401823702020aa26a04684e544c4d53535000"
    "02000000040004003800000015828a62f37e093891cf470500000000000000002c002c00"
    "3c000000060100000000000f56004d000200040056004d000100040056004d0004000000"
    "0300040076006d0007000800548994c4e27add0100000000";

static const char *const samba_sess_rsp = /* frame 5 */
    "fe534d424000010000000000010000201900000000000000020000000000000000000000"
    "000000007eff74e300000000c1002f0326ccc3beba0017b3b55429920900000048001d00"
    "a11b3019a0030a0100a31204100100000049400fcfcf4bcbc700000000";

static const char *const samba_err_rsp = /* frame 9 */
    "fe534d4240000100250200c00b0001001100000000000000040000000000000000000000"
    "638978db7eff74e300000000000000000000000000000000000000000900000000000000"
    "00";

static const char *const samba_tdis_req = /* frame 10 */
    "fe534d424000010000000000040001001000000000000000050000000000000000000000"
    "638978db7eff74e3000000000000000000000000000000000000000004000000";

static const char *const samba_tdis_rsp = /* frame 11 */
    "fe534d424000010000000000040001001100000000000000050000000000000000000000"
    "638978db7eff74e3000000000000000000000000000000000000000004000000";

static const char *const samba_tcon_req = /* frame 12 */
    "fe534d424000010000000000030001001800000000000000060000000000000000000000"
    "000000007eff74e30000000040063104f6cbfca2fa2081a05f61ebc90900000048002200"
    "5c005c003100320037002e0030002e0030002e0031005c0073006800610072006500";

static const char *const samba_tcon_rsp = /* frame 13 */
    "fe534d424000010000000000030001001900000000000000060000000000000000000000"
    "c29f85c67eff74e300000000cdfe2be9976da642dd55307261e58e951000010000000000"
    "00000000ff011f00";

static const char *const samba_create_root_req = /* frame 14 */
    "fe534d424000010000000000050001001000000000000000070000000000000000000000"
    "c29f85c67eff74e300000000000000000000000000000000000000003900000002000000"
    "000000000000000000000000000000008100000010000000030000000100000001000000"
    "78000000000000000000000000";

static const char *const samba_create_root_rsp = /* frame 15 */
    "fe534d424000010000000000050001001100000000000000070000000000000000000000"
    "c29f85c67eff74e300000000000000000000000000000000000000005900000001000000"
    "a1fedbc3e27add01a1fedbc3e27add01602a8bc4e27add01602a8bc4e27add0100000000"
    "000000000000000000000000100000000000000023d5692f00000000396c4e8300000000"
    "0000000000000000";

static const char *const samba_qdir_req = /* frame 16 */
    "fe534d4240008000000000000e0001001000000000000000080000000000000000000000"
    "c29f85c67eff74e300000000000000000000000000000000000000002100250000000000"
    "23d5692f00000000396c4e830000000060000200000080002a00";

static const char *const samba_qdir_rsp = /* frame 17 */
    "fe534d4240008000000000000e0080001100000000000000080000000000000000000000"
    "c29f85c67eff74e300000000000000000000000000000000000000000900480050010000"
    "7000000000000000a1fedbc3e27add01a1fedbc3e27add01602a8bc4e27add01602a8bc4"
    "e27add010000000000000000000000000000000010000000020000000000000000000000"
    "0000000000000000000000000000000000000000000000005921a700000000002e000000"
    "00000000700000000000000021c6dac3e27add0121c6dac3e27add01fc8194c4e27add01"
    "fc8194c4e27add0100000000000000000000000000000000100000000400000000000000"
    "000000000000000000000000000000000000000000000000000000005021a70000000000"
    "2e002e00000000000000000000000000602a8bc4e27add01602a8bc4e27add01602a8bc4"
    "e27add01602a8bc4e27add01000000000000000000000000000000001000000008000000"
    "00000000000000000000000000000000000000000000000000000000000000008d21a700"
    "000000006400690072003100";

static const char *const samba_close_req = /* frame 20 */
    "fe534d424000010000000000060001001000000000000000080100000000000000000000"
    "c29f85c67eff74e300000000000000000000000000000000000000001800000000000000"
    "23d5692f00000000396c4e8300000000";

static const char *const samba_close_rsp = /* frame 21 */
    "fe534d424000010000000000060001001100000000000000080100000000000000000000"
    "c29f85c67eff74e300000000000000000000000000000000000000003c00000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000"
    "00000000000000000000000000000000";

static const char *const samba_qi_fssize_req = /* frame 24 */
    "fe534d4240000100000000001000010010000000000000000a0100000000000000000000"
    "c29f85c67eff74e3000000000000000000000000000000000000000029000203ffff0000"
    "000000000000000000000000000000009d6e39c700000000d4b19cad0000000000";

static const char *const samba_qi_fssize_rsp = /* frame 25 */
    "fe534d4240000100000000001000010011000000000000000a0100000000000000000000"
    "c29f85c67eff74e300000000000000000000000000000000000000000900480018000000"
    "748ebf0f0000000078bef004000000000200000000020000";

static const char *const samba_create_file_req = /* frame 28 */
    "fe534d4240000100000000000500010010000000000000000c0100000000000000000000"
    "c29f85c67eff74e300000000000000000000000000000000000000003900000002000000"
    "000000000000000000000000000000009f01120000000000030000000500000040000000"
    "780012000000000000000000680065006c006c006f002e007400780074000000";

static const char *const samba_create_file_rsp = /* frame 29 */
    "fe534d4240000100000000000500010011000000000000000c0100000000000000000000"
    "c29f85c67eff74e300000000000000000000000000000000000000005900000002000000"
    "685e95c4e27add01685e95c4e27add01685e95c4e27add01685e95c4e27add0100000000"
    "0000000000000000000000002000000000000000383bb2d9000000005c7575dc00000000"
    "0000000000000000";

static const char *const samba_write_req = /* frame 30 */
    "fe534d4240000100000000000900010010000000000000000d0100000000000000000000"
    "c29f85c67eff74e30000000000000000000000000000000000000000310070000c000000"
    "0000000000000000383bb2d9000000005c7575dc00000000000000000000000000000000"
    "0000000068656c6c6f20776f726c640a";

static const char *const samba_write_rsp = /* frame 31 */
    "fe534d4240000100000000000900010011000000000000000d0100000000000000000000"
    "c29f85c67eff74e30000000000000000000000000000000000000000110000000c000000"
    "0000000000000000";

static const char *const samba_qi_all_req = /* frame 36 */
    "fe534d424000010000000000100001001000000000000000100100000000000000000000"
    "c29f85c67eff74e3000000000000000000000000000000000000000029000112ffff0000"
    "0000000000000000000000000000000059ab6e1800000000ddb4a93e0000000000";

static const char *const samba_qi_all_rsp = /* frame 37 */
    "fe534d424000010000000000100001001100000000000000100100000000000000000000"
    "c29f85c67eff74e300000000000000000000000000000000000000000900480078000000"
    "685e95c4e27add01685e95c4e27add019fed95c4e27add019fed95c4e27add0120000000"
    "0000000000100000000000000c0000000000000001000000000000009521a70000000000"
    "000000008900120000000000000000002000000000000000140000005c00680065006c00"
    "6c006f002e00740078007400";

static const char *const samba_read_req = /* frame 38 */
    "fe534d424000010000000000080001001000000000000000110100000000000000000000"
    "c29f85c67eff74e30000000000000000000000000000000000000000310000000c000000"
    "000000000000000059ab6e1800000000ddb4a93e00000000000000000000000000000000"
    "0000000000";

static const char *const samba_read_rsp = /* frame 39 */
    "fe534d424000010000000000080001001100000000000000110100000000000000000000"
    "c29f85c67eff74e30000000000000000000000000000000000000000110050000c000000"
    "000000000000000068656c6c6f20776f726c640a";

static const char *const samba_setinfo_rename_req = /* frame 68 */
    "fe534d424000010000000000110001001000000000000000200100000000000000000000"
    "c29f85c67eff74e300000000000000000000000000000000000000002100010a20000000"
    "6000000000000000b880830900000000439bce5500000000000000000000000000000000"
    "000000000c000000680032002e00740078007400";

static const char *const samba_setinfo_rsp = /* frame 69 */
    "fe534d424000010000000000110001001100000000000000200100000000000000000000"
    "c29f85c67eff74e300000000000000000000000000000000000000000200";

static const char *const samba_qdir_one_rsp = /* frame 93 */
    "fe534d4240008000000000000e00800011000000000000002a0200000000000000000000"
    "c29f85c67eff74e300000000000000000000000000000000000000000900480074000000"
    "0000000000000000685e95c4e27add01d81896c4e27add019fed95c4e27add019fed95c4"
    "e27add010c000000000000000010000000000000200000000c0000000000000000000000"
    "0000000000000000000000000000000000000000000000009521a7000000000068003200"
    "2e00740078007400";

static const char *const samba_qi_vol_req = /* frame 104 */
    "fe534d4240000100000000001000010010000000000000002e0300000000000000000000"
    "c29f85c67eff74e3000000000000000000000000000000000000000029000201ffff0000"
    "00000000000000000000000000000000bb9fd5d300000000c2095b9b0000000000";

static const char *const samba_qi_vol_rsp = /* frame 105 */
    "fe534d4240000100000000001000010011000000000000002e0300000000000000000000"
    "c29f85c67eff74e30000000000000000000000000000000000000000090048001c000000"
    "e02696c4e27add013d3cd6ea0a000000000073006800610072006500";


/* ASCII -> UTF-16LE into out; returns the byte length. */
static size_t u16(const char *s, uint8_t *out) {
  size_t n = 0;
  for (; *s; s++) {
    out[n++] = (uint8_t)*s;
    out[n++] = 0;
  }
  return n;
}

/* A copy of a hex vector that tests may corrupt. */
static uint8_t *vec(const char *hex, size_t *len) { return unhex(hex, len); }

START_TEST(samba_negotiate_req_exact) {
  size_t n;
  uint8_t *want = vec(samba_neg_req, &n);
  static const uint16_t d[] = {0x0202, 0x0210, 0x0300, 0x0302, 0x0311};
  static const uint16_t c[] = {SMB2_CIPHER_AES128_GCM, SMB2_CIPHER_AES128_CCM,
                               SMB2_CIPHER_AES256_GCM, SMB2_CIPHER_AES256_CCM};
  static const uint16_t sg[] = {SMB2_SIGNING_AES_GMAC, SMB2_SIGNING_AES_CMAC,
                                SMB2_SIGNING_HMAC_SHA256};
  uint8_t host[64];
  size_t hl = u16("127.0.0.1", host);
  struct smb2_negotiate_req r = {
      .dialects = d, .n_dialects = 5,
      .security_mode = SMB2_NEGOTIATE_SIGNING_ENABLED, .capabilities = 0x7F,
      .salt = want + 64 + 62, .salt_len = 32, .ciphers = c, .n_ciphers = 4,
      .signing_algs = sg, .n_signing_algs = 3, .netname = host,
      .netname_len = hl};
  memcpy(r.client_guid, want + 64 + 12, 16);
  uint8_t body[512];
  long len = smb2_encode_negotiate_req(body, sizeof(body), &r);
  ck_assert_int_eq(len, (long)(n - 64));
  ck_assert_mem_eq(body, want + 64, (size_t)len);
  /* every size below the needed one is refused */
  for (size_t cap = 0; cap < (size_t)len; cap += 7)
    ck_assert_int_eq(smb2_encode_negotiate_req(body, cap, &r),
                     SMBQ_ERR_BUFSMALL);
  /* without 3.1.1 no contexts and no offset */
  r.n_dialects = 4;
  ck_assert_int_eq(smb2_encode_negotiate_req(body, sizeof(body), &r), 44);
  ck_assert_uint_eq(smbq_le32_at(body + 28), 0);
  ck_assert_uint_eq(smbq_le16_at(body + 32), 0);
  r.n_dialects = 0;
  ck_assert_int_eq(smb2_encode_negotiate_req(body, sizeof(body), &r),
                   SMBQ_ERR_INVAL);
  free(want);
}
END_TEST

/* Every context 8-aligned for every dialect-count / name-length parity. */
START_TEST(negotiate_contexts_alignment_sweep) {
  static const uint16_t d[] = {0x0202, 0x0210, 0x0300, 0x0302, 0x0311};
  static const uint16_t c[] = {1, 2, 3}, sg[] = {1};
  uint8_t salt[32] = {0}, name[32] = {0};
  for (size_t nd = 1; nd <= 5; nd++)
    for (size_t nl = 0; nl <= 14; nl += 2)
      for (size_t nc = 0; nc <= 3; nc++) {
        struct smb2_negotiate_req r = {
            .dialects = d + 5 - nd, .n_dialects = nd, .salt = salt,
            .salt_len = 32, .ciphers = c, .n_ciphers = nc,
            .signing_algs = sg, .n_signing_algs = nc & 1, .netname = name,
            .netname_len = nl, .transport_caps = nc == 2};
        uint8_t body[512];
        long len = smb2_encode_negotiate_req(body, sizeof(body), &r);
        ck_assert_int_gt(len, 0);
        size_t off = smbq_le32_at(body + 28);
        unsigned cnt = smbq_le16_at(body + 32);
        ck_assert_uint_eq(off % 8, 0);
        ck_assert_uint_ge(off, 64 + 36 + 2 * nd);
        ck_assert_uint_eq(cnt, 1 + (nc > 0) + (nc & 1) + (nl > 0) + (nc == 2));
        for (unsigned i = 0; i < cnt; i++) {
          ck_assert_uint_eq(off % 8, 0);
          ck_assert_uint_eq(smbq_le32_at(body + off - 64 + 4), 0); /* Rsvd */
          off += 8 + smbq_le16_at(body + off - 64 + 2);
          if (i + 1 < cnt)
            off = (off + 7) & ~(size_t)7;
        }
        ck_assert_uint_eq(off - 64, (size_t)len); /* no trailing padding */
      }
}
END_TEST

START_TEST(samba_negotiate_rsp_three_contexts) {
  size_t n;
  uint8_t *m = vec(samba_neg_rsp, &n);
  struct smb2_negotiate_rsp r;
  ck_assert_int_eq(smb2_decode_negotiate_rsp(m, n, &r), 0);
  ck_assert_uint_eq(r.dialect, SMB2_DIALECT_311);
  ck_assert_uint_eq(r.security_mode, SMB2_NEGOTIATE_SIGNING_ENABLED);
  ck_assert_uint_eq(r.capabilities, 0x0F);
  ck_assert_uint_eq(r.max_transact, 0x800000);
  ck_assert_uint_eq(r.max_write, 0x800000);
  ck_assert_uint_eq(r.server_guid[0], 0x76);
  ck_assert_uint_eq(r.n_contexts, 3);
  ck_assert_ptr_eq(r.security_buffer, m + 128);
  ck_assert_uint_eq(r.security_len, 0x4A);
  ck_assert(r.has_preauth);
  ck_assert_uint_eq(r.preauth_hash, SMB2_PREAUTH_SHA512);
  ck_assert_uint_eq(r.preauth_salt_len, 32);
  ck_assert_ptr_eq(r.preauth_salt, m + 208 + 14);
  ck_assert(r.has_cipher);
  ck_assert_uint_eq(r.cipher, SMB2_CIPHER_AES128_GCM);
  ck_assert(r.has_signing);
  ck_assert_uint_eq(r.signing_alg, SMB2_SIGNING_AES_GMAC);
  ck_assert(!r.has_transport_caps);
  ck_assert_int_eq(smb2_check_rsp_size(m, n), 0);

  uint8_t *b = malloc(n);
#define RESET() memcpy(b, m, n)
#define BAD() ck_assert_int_eq(smb2_decode_negotiate_rsp(b, n, &r), SMBQ_ERR_PROTO)
  /* the cipher context turned into TRANSPORT_CAPABILITIES */
  RESET();
  smbq_put_le16(b + 256, SMB2_TRANSPORT_CAPABILITIES);
  ck_assert_int_eq(smb2_decode_negotiate_rsp(b, n, &r), 0);
  ck_assert(r.has_transport_caps && !r.has_cipher);
  ck_assert_uint_eq(r.transport_flags, 0x00020001);
  /* an unknown context type is skipped */
  RESET();
  smbq_put_le16(b + 256, 0x0077);
  ck_assert_int_eq(smb2_decode_negotiate_rsp(b, n, &r), 0);
  ck_assert(!r.has_cipher && r.has_signing);
  /* first context offset not 8-aligned */
  RESET();
  smbq_put_le32(b + 64 + 60, 0xD4);
  BAD();
  /* first context inside the fixed part / past the end */
  RESET();
  smbq_put_le32(b + 64 + 60, 64 + 56);
  BAD();
  RESET();
  smbq_put_le32(b + 64 + 60, 0xFFFFFFF8u);
  BAD();
  /* more contexts announced than present */
  RESET();
  smbq_put_le16(b + 64 + 6, 4);
  BAD();
  /* last context's DataLength one past the end; a huge one */
  RESET();
  smbq_put_le16(b + 272 + 2, 5);
  BAD();
  RESET();
  smbq_put_le16(b + 208 + 2, 0xFFFF);
  BAD();
  /* duplicate SIGNING context; two signing algorithms; no preauth hash */
  RESET();
  smbq_put_le16(b + 256, SMB2_SIGNING_CAPABILITIES);
  BAD();
  RESET();
  smbq_put_le16(b + 280, 2);
  BAD();
  RESET();
  smbq_put_le16(b + 216, 0);
  BAD();
  /* preauth salt longer than its context */
  RESET();
  smbq_put_le16(b + 218, 33);
  BAD();
  /* contexts with a 3.0.2 dialect; 3.1.1 without any */
  RESET();
  smbq_put_le16(b + 64 + 4, 0x0302);
  BAD();
  smbq_put_le16(b + 64 + 6, 0);
  ck_assert_int_eq(smb2_decode_negotiate_rsp(b, n, &r), 0);
  RESET();
  smbq_put_le16(b + 64 + 6, 0);
  BAD();
  /* security buffer: before the fixed part's end, past the message */
  RESET();
  smbq_put_le16(b + 64 + 56, 64 + 60);
  BAD();
  RESET();
  smbq_put_le16(b + 64 + 58, (uint16_t)(n - 128 + 1));
  BAD();
  /* wrong StructureSize, truncations */
  RESET();
  smbq_put_le16(b + 64, 64);
  BAD();
  for (size_t cut = 1; cut < n; cut++)
    ck_assert_int_eq(smb2_decode_negotiate_rsp(m, n - cut, &r),
                     SMBQ_ERR_PROTO);
#undef BAD
#undef RESET
  free(b);
  free(m);
}
END_TEST

START_TEST(samba_header_and_error) {
  size_t n;
  uint8_t *m = vec(samba_create_root_req, &n);
  struct smb2_hdr h;
  ck_assert_int_eq(smb2_hdr_decode(m, n, &h), 0);
  ck_assert_uint_eq(h.command, SMB2_CREATE);
  ck_assert_uint_eq(h.tree_id, smbq_le32_at(m + 36));
  ck_assert_uint_ne(h.session_id, 0);
  uint8_t hb[64];
  smb2_hdr_encode(hb, &h); /* real header round trip, signature included */
  ck_assert_mem_eq(hb, m, 64);
  free(m);
  m = vec(samba_neg_rsp, &n);
  ck_assert_int_eq(smb2_hdr_decode(m, n, &h), 0);
  ck_assert_uint_eq(h.flags, SMB2_FLAGS_SERVER_TO_REDIR);
  ck_assert_uint_eq(h.credits, 1);
  smbq_put_le16(m + 4, 65); /* header StructureSize */
  ck_assert_int_eq(smb2_hdr_decode(m, n, &h), SMBQ_ERR_PROTO);
  free(m);
  /* async form (2.2.1.1): AsyncId replaces Reserved + TreeId */
  struct smb2_hdr a = {.command = SMB2_CHANGE_NOTIFY, .status = 0x103,
                       .flags = SMB2_FLAGS_ASYNC_COMMAND | 1,
                       .message_id = 5, .async_id = 0x0102030405060708ULL,
                       .session_id = 0x1122334455667788ULL, .credits = 1};
  smb2_hdr_encode(hb, &a);
  ck_assert_mem_hex(hb, "FE534D42 4000 0000 03010000 0F00 0100 03000000"
                        "00000000 0500000000000000 0807060504030201"
                        "8877665544332211 00000000000000000000000000000000");
  /* STATUS_NOT_FOUND error reply to a DFS referral IOCTL (2.2.2) */
  m = vec(samba_err_rsp, &n);
  ck_assert_int_eq(smb2_hdr_decode(m, n, &h), 0);
  ck_assert_uint_eq(h.status, NT_STATUS_NOT_FOUND);
  ck_assert_int_eq(smb2_decode_error_rsp(m, n), 0);
  ck_assert_int_eq(smb2_check_rsp_size(m, n), 0);
  ck_assert_int_eq(smb2_decode_error_rsp(m, 71), SMBQ_ERR_PROTO);
  smbq_put_le32(m + 68, 2); /* ByteCount past the end */
  ck_assert_int_eq(smb2_decode_error_rsp(m, n), SMBQ_ERR_PROTO);
  smbq_put_le32(m + 68, 0xFFFFFFFFu);
  ck_assert_int_eq(smb2_decode_error_rsp(m, n), SMBQ_ERR_PROTO);
  free(m);
}
END_TEST

START_TEST(cmd_table_complete) {
  for (uint16_t c = 0; c < SMB2_NUM_COMMANDS; c++) {
    const struct smb2_cmd_desc *d = smb2_cmd_desc(c);
    ck_assert_ptr_nonnull(d);
    ck_assert_ptr_nonnull(d->name);
    ck_assert_uint_gt(d->req_size, 0);
  }
  ck_assert_ptr_null(smb2_cmd_desc(SMB2_NUM_COMMANDS));
  ck_assert_ptr_null(smb2_cmd_desc(0xFFFF));
  ck_assert(smb2_cmd_desc(SMB2_QUERY_INFO)->rsp_variable);
  ck_assert(smb2_cmd_desc(SMB2_READ)->rsp_variable);
  ck_assert(!smb2_cmd_desc(SMB2_CLOSE)->rsp_variable);
  ck_assert_uint_eq(smb2_cmd_desc(SMB2_CREATE)->req_size, 57);
  ck_assert_uint_eq(smb2_cmd_desc(SMB2_CREATE)->rsp_size, 89);
  /* every captured reply passes the table check */
  const char *const rsps[] = {
      samba_neg_rsp,        samba_sess_rsp_more,   samba_sess_rsp,
      samba_err_rsp,        samba_tcon_rsp,        samba_tdis_rsp,
      samba_create_root_rsp, samba_qdir_rsp,       samba_close_rsp,
      samba_qi_fssize_rsp,  samba_create_file_rsp, samba_write_rsp,
      samba_qi_all_rsp,     samba_read_rsp,        samba_setinfo_rsp,
      samba_qi_vol_rsp,     samba_qdir_one_rsp};
  for (size_t i = 0; i < sizeof(rsps) / sizeof(rsps[0]); i++) {
    size_t n;
    uint8_t *m = vec(rsps[i], &n);
    ck_assert_int_eq(smb2_check_rsp_size(m, n), 0);
    /* cut into the fixed part: refused */
    const struct smb2_cmd_desc *d = smb2_cmd_desc(smbq_le16_at(m + 12));
    if (smbq_le16_at(m + 64) == d->rsp_size)
      ck_assert_int_eq(smb2_check_rsp_size(m, 64 + (d->rsp_size & ~1u) - 1),
                       SMBQ_ERR_PROTO);
    free(m);
  }
}
END_TEST

START_TEST(samba_session_tree) {
  size_t n;
  uint8_t *want = vec(samba_sess_req, &n);
  struct smb2_session_setup_req ss = {
      .security_mode = SMB2_NEGOTIATE_SIGNING_ENABLED,
      .capabilities = SMB2_GLOBAL_CAP_DFS, .token = want + 64 + 24,
      .token_len = smbq_le16_at(want + 64 + 14)};
  uint8_t body[512];
  long len = smb2_encode_session_setup_req(body, sizeof(body), &ss);
  ck_assert_int_eq(len, (long)(n - 64));
  ck_assert_mem_eq(body, want + 64, (size_t)len);
  ck_assert_int_eq(smb2_encode_session_setup_req(body, (size_t)len - 1, &ss),
                   SMBQ_ERR_BUFSMALL);
  free(want);

  struct smb2_session_setup_rsp sr;
  uint8_t *m = vec(samba_sess_rsp_more, &n);
  ck_assert_int_eq(smb2_decode_session_setup_rsp(m, n, &sr), 0);
  ck_assert_ptr_eq(sr.token, m + 72);
  ck_assert_uint_eq(sr.token_len, 0x84);
  ck_assert_uint_eq(sr.token[0], 0xA1); /* SPNEGO NegTokenResp */
  smbq_put_le16(m + 68, 0x49);          /* one byte further: past the end */
  ck_assert_int_eq(smb2_decode_session_setup_rsp(m, n, &sr), SMBQ_ERR_PROTO);
  smbq_put_le16(m + 68, 0x40);          /* inside the header */
  ck_assert_int_eq(smb2_decode_session_setup_rsp(m, n, &sr), SMBQ_ERR_PROTO);
  smbq_put_le16(m + 68, 0x48);
  smbq_put_le16(m + 64, 8);
  ck_assert_int_eq(smb2_decode_session_setup_rsp(m, n, &sr), SMBQ_ERR_PROTO);
  smbq_put_le16(m + 64, 9);
  for (size_t cut = 1; cut < n - 64; cut++)
    ck_assert_int_eq(smb2_decode_session_setup_rsp(m, n - cut, &sr),
                     SMBQ_ERR_PROTO);
  free(m);
  m = vec(samba_sess_rsp, &n);
  ck_assert_int_eq(smb2_decode_session_setup_rsp(m, n, &sr), 0);
  ck_assert_uint_eq(sr.session_flags, 0);
  ck_assert_uint_eq(sr.token_len, 0x1D);
  free(m);

  /* TREE_CONNECT \\127.0.0.1\share */
  want = vec(samba_tcon_req, &n);
  uint8_t path[64];
  size_t pl = u16("\\\\127.0.0.1\\share", path);
  len = smb2_encode_tree_connect_req(body, sizeof(body), path, pl);
  ck_assert_int_eq(len, (long)(n - 64));
  ck_assert_mem_eq(body, want + 64, (size_t)len);
  free(want);
  struct smb2_tree_connect_rsp tr;
  m = vec(samba_tcon_rsp, &n);
  ck_assert_int_eq(smb2_decode_tree_connect_rsp(m, n, &tr), 0);
  ck_assert_uint_eq(tr.share_type, SMB2_SHARE_TYPE_DISK);
  ck_assert_uint_eq(tr.share_flags, 0);
  ck_assert_uint_eq(tr.maximal_access, 0x001F01FF);
  smbq_put_le16(m + 64, 17);
  ck_assert_int_eq(smb2_decode_tree_connect_rsp(m, n, &tr), SMBQ_ERR_PROTO);
  free(m);

  /* TREE_DISCONNECT, LOGOFF, ECHO: 04000000 */
  want = vec(samba_tdis_req, &n);
  ck_assert_int_eq(smb2_encode_tree_disconnect_req(body, sizeof(body)), 4);
  ck_assert_mem_eq(body, want + 64, 4);
  free(want);
  ck_assert_int_eq(smb2_encode_logoff_req(body, sizeof(body)), 4);
  ck_assert_mem_hex(body, "04000000");
  ck_assert_int_eq(smb2_encode_echo_req(body, sizeof(body)), 4);
  ck_assert_mem_hex(body, "04000000");
  ck_assert_int_eq(smb2_encode_echo_req(body, 3), SMBQ_ERR_BUFSMALL);
  m = vec(samba_tdis_rsp, &n);
  ck_assert_int_eq(smb2_decode_tree_disconnect_rsp(m, n), 0);
  ck_assert_int_eq(smb2_decode_logoff_rsp(m, n), 0);
  ck_assert_int_eq(smb2_decode_echo_rsp(m, n), 0);
  ck_assert_int_eq(smb2_decode_echo_rsp(m, n - 1), SMBQ_ERR_PROTO);
  smbq_put_le16(m + 64, 9);
  ck_assert_int_eq(smb2_decode_echo_rsp(m, n), SMBQ_ERR_PROTO);
  free(m);
}
END_TEST

START_TEST(samba_create_close) {
  size_t n;
  uint8_t body[512];
  /* the share root, opened as a directory */
  uint8_t *want = vec(samba_create_root_req, &n);
  struct smb2_create_req cr = {
      .desired_access = SMB2_FILE_READ_DATA | SMB2_FILE_READ_ATTRIBUTES,
      .file_attributes = SMB2_ATTR_DIRECTORY,
      .share_access = SMB2_FILE_SHARE_READ | SMB2_FILE_SHARE_WRITE,
      .disposition = SMB2_FILE_OPEN, .options = SMB2_FILE_DIRECTORY_FILE};
  long len = smb2_encode_create_req(body, sizeof(body), &cr);
  ck_assert_int_eq(len, 57);
  ck_assert_int_eq(len, (long)(n - 64));
  ck_assert_mem_eq(body, want + 64, 57);
  free(want);
  /* hello.txt, overwrite-if (smbclient pads its body to 8; we do not) */
  want = vec(samba_create_file_req, &n);
  uint8_t name[64];
  struct smb2_create_req cf = {
      .desired_access = 0x0012019F, .share_access = 3,
      .disposition = SMB2_FILE_OVERWRITE_IF,
      .options = SMB2_FILE_NON_DIRECTORY_FILE, .name = name,
      .name_len = u16("hello.txt", name)};
  len = smb2_encode_create_req(body, sizeof(body), &cf);
  ck_assert_int_eq(len, 56 + 18);
  ck_assert_mem_eq(body, want + 64, (size_t)len);
  free(want);

  struct smb2_create_rsp r;
  uint8_t *m = vec(samba_create_file_rsp, &n);
  ck_assert_int_eq(smb2_decode_create_rsp(m, n, &r), 0);
  ck_assert_uint_eq(r.create_action, SMB2_FILE_CREATED);
  ck_assert_uint_eq(r.attributes, SMB2_ATTR_ARCHIVE);
  ck_assert_uint_eq(r.end_of_file, 0);
  ck_assert_mem_eq(r.file_id, m + 64 + 64, 16);
  ck_assert_uint_eq(r.times.creation, 0x01DD7AE2C4955E68ULL);
  ck_assert_ptr_null(r.contexts);
  ck_assert_uint_eq(r.contexts_len, 0);
  uint8_t fid[16];
  memcpy(fid, r.file_id, 16);
  /* create contexts: past the end, inside the fixed part, 32-bit wrap */
  smbq_put_le32(m + 64 + 80, 152);
  smbq_put_le32(m + 64 + 84, 1);
  ck_assert_int_eq(smb2_decode_create_rsp(m, n, &r), SMBQ_ERR_PROTO);
  smbq_put_le32(m + 64 + 80, 144);
  smbq_put_le32(m + 64 + 84, 8);
  ck_assert_int_eq(smb2_decode_create_rsp(m, n, &r), SMBQ_ERR_PROTO);
  smbq_put_le32(m + 64 + 80, 0xFFFFFFF0u);
  smbq_put_le32(m + 64 + 84, 0x20);
  ck_assert_int_eq(smb2_decode_create_rsp(m, n, &r), SMBQ_ERR_PROTO);
  smbq_put_le32(m + 64 + 80, 100);
  smbq_put_le32(m + 64 + 84, 0xFFFFFFFFu);
  ck_assert_int_eq(smb2_decode_create_rsp(m, n, &r), SMBQ_ERR_PROTO);
  smbq_put_le32(m + 64 + 84, 0);
  smbq_put_le16(m + 64, 88);
  ck_assert_int_eq(smb2_decode_create_rsp(m, n, &r), SMBQ_ERR_PROTO);
  free(m);

  /* CLOSE of the directory, and its reply (no POSTQUERY: all zero) */
  want = vec(samba_close_req, &n);
  m = vec(samba_create_root_rsp, &n);
  ck_assert_int_eq(smb2_decode_create_rsp(m, n, &r), 0);
  ck_assert_uint_eq(r.attributes, SMB2_ATTR_DIRECTORY);
  ck_assert_uint_eq(r.create_action, SMB2_FILE_OPENED);
  free(m);
  ck_assert_int_eq(smb2_encode_close_req(body, sizeof(body), 0, r.file_id),
                   24);
  ck_assert_mem_eq(body, want + 64, 24);
  free(want);
  ck_assert_int_eq(smb2_encode_close_req(body, sizeof(body),
                                         SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB,
                                         fid),
                   24);
  ck_assert_uint_eq(smbq_le16_at(body + 2), 1);
  struct smb2_close_rsp cl;
  m = vec(samba_close_rsp, &n);
  ck_assert_int_eq(smb2_decode_close_rsp(m, n, &cl), 0);
  ck_assert_uint_eq(cl.flags, 0);
  ck_assert_int_eq(smb2_decode_close_rsp(m, n - 1, &cl), SMBQ_ERR_PROTO);
  smbq_put_le16(m + 64, 59);
  ck_assert_int_eq(smb2_decode_close_rsp(m, n, &cl), SMBQ_ERR_PROTO);
  free(m);
}
END_TEST

START_TEST(create_contexts_encode) {
  uint8_t body[512], name[8];
  size_t nl = u16("a", name); /* 2 bytes: contexts at 56+2 -> 64 */
  const uint8_t dh[16] = {0};
  struct smb2_create_ctx ctx[3] = {
      {.name = (const uint8_t *)"MxAc", .name_len = 4},
      {.name = (const uint8_t *)"DHnQ", .name_len = 4, .data = dh,
       .data_len = 16},
      {.name = (const uint8_t *)"QFid", .name_len = 4}};
  struct smb2_create_req cr = {.desired_access = 1, .disposition = 1,
                               .name = name, .name_len = nl,
                               .oplock_level = SMB2_OPLOCK_LEVEL_BATCH,
                               .contexts = ctx, .n_contexts = 3};
  long len = smb2_encode_create_req(body, sizeof(body), &cr);
  /* MxAc 20 -> 24, DHnQ 24+16=40, QFid 20 (last, unpadded) */
  ck_assert_int_eq(len, 64 + 24 + 40 + 20);
  ck_assert_uint_eq(body[3], SMB2_OPLOCK_LEVEL_BATCH);
  ck_assert_uint_eq(smbq_le32_at(body + 4), 2); /* Impersonation */
  ck_assert_uint_eq(smbq_le32_at(body + 48), 128); /* CreateContextsOffset */
  ck_assert_uint_eq(smbq_le32_at(body + 52), 84);
  ck_assert_uint_eq(smbq_le16_at(body + 56 + 2), 0); /* name pad zeroed */
  ck_assert_mem_hex(body + 64, "18000000 1000 0400 0000 0000 00000000"
                               "4D784163 00000000"
                               "28000000 1000 0400 0000 1800 10000000"
                               "44486E51 00000000"
                               "00000000000000000000000000000000"
                               "00000000 1000 0400 0000 0000 00000000"
                               "51466964");
  for (size_t cap = 0; cap < (size_t)len; cap += 5)
    ck_assert_int_eq(smb2_encode_create_req(body, cap, &cr),
                     SMBQ_ERR_BUFSMALL);
  /* the iterator reads back what the encoder wrote */
  struct smb2_create_ctx_iter it;
  struct smb2_create_ctx c;
  smb2_create_ctx_iter_init(&it, body + 64, 84);
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(smb2_create_ctx_next(&it, &c), 1);
    ck_assert_mem_eq(c.name, ctx[i].name, 4);
    ck_assert_uint_eq(c.data_len, ctx[i].data_len);
  }
  ck_assert_int_eq(smb2_create_ctx_next(&it, &c), 0);
  ck_assert_int_eq(smb2_create_ctx_next(&it, &c), 0);
  /* malformed chains */
  uint8_t bad[84];
  struct {
    size_t at;
    uint32_t v;
    int width;
  } cases[] = {
      {0, 20, 4},     /* Next not 8-aligned */
      {0, 8, 4},      /* Next inside the header */
      {0, 88, 4},     /* Next past the buffer */
      {4, 82, 2},     /* NameOffset past the context */
      {6, 0, 2},      /* empty name */
      {6, 9, 2},      /* name runs into the next context */
      {24 + 10, 30, 2}, /* DataOffset: data past its context */
      {24 + 12, 0xFFFFFFFFu, 4}, /* DataLength overflow */
      {64 + 12, 1, 4},  /* last context: DataLength with DataOffset 0 */
  };
  for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
    memcpy(bad, body + 64, 84);
    if (cases[k].width == 4)
      smbq_put_le32(bad + cases[k].at, cases[k].v);
    else
      smbq_put_le16(bad + cases[k].at, (uint16_t)cases[k].v);
    smb2_create_ctx_iter_init(&it, bad, 84);
    int rc;
    while ((rc = smb2_create_ctx_next(&it, &c)) == 1)
      ;
    ck_assert_msg(rc == SMBQ_ERR_PROTO, "case %zu: rc %d", k, rc);
  }
  /* no name, no contexts, odd name, absurd context */
  cr.name_len = 0;
  cr.n_contexts = 1;
  ck_assert_int_eq(smb2_encode_create_req(body, sizeof(body), &cr), 56 + 20);
  ck_assert_uint_eq(smbq_le32_at(body + 48), 120);
  ctx[0].name_len = 0;
  ck_assert_int_eq(smb2_encode_create_req(body, sizeof(body), &cr),
                   SMBQ_ERR_INVAL);
  cr.n_contexts = 0;
  cr.name_len = 1;
  ck_assert_int_eq(smb2_encode_create_req(body, sizeof(body), &cr),
                   SMBQ_ERR_INVAL);
}
END_TEST

START_TEST(samba_read_write_flush) {
  size_t n;
  uint8_t body[512];
  /* WRITE "hello world\n" at 0 */
  uint8_t *want = vec(samba_write_req, &n);
  long len = smb2_encode_write_req(body, sizeof(body), want + 64 + 16, 0,
                                   "hello world\n", 12);
  ck_assert_int_eq(len, (long)(n - 64));
  ck_assert_mem_eq(body, want + 64, (size_t)len);
  struct smb2_write_req w = {.offset = 1ULL << 33, .data = "x", .length = 1,
                             .flags = SMB2_WRITEFLAG_WRITE_THROUGH,
                             .remaining_bytes = 7};
  ck_assert_int_eq(smb2_encode_write_req_ex(body, sizeof(body), &w), 49);
  ck_assert_uint_eq(smbq_le64_at(body + 8), 1ULL << 33);
  ck_assert_uint_eq(smbq_le32_at(body + 36), 7);
  ck_assert_uint_eq(smbq_le32_at(body + 44), 1);
  ck_assert_int_eq(smb2_encode_write_req_ex(body, 48, &w), SMBQ_ERR_BUFSMALL);
  w.data = NULL;
  ck_assert_int_eq(smb2_encode_write_req_ex(body, sizeof(body), &w),
                   SMBQ_ERR_INVAL);
  free(want);
  uint32_t count;
  uint8_t *m = vec(samba_write_rsp, &n);
  ck_assert_int_eq(smb2_decode_write_rsp(m, n, &count), 0);
  ck_assert_uint_eq(count, 12);
  smbq_put_le16(m + 64, 16);
  ck_assert_int_eq(smb2_decode_write_rsp(m, n, &count), SMBQ_ERR_PROTO);
  free(m);

  /* READ 12 bytes at 0 (smbclient asks for Padding 0) */
  want = vec(samba_read_req, &n);
  struct smb2_read_req rr = {.length = 12};
  memcpy(rr.file_id, want + 64 + 16, 16);
  len = smb2_encode_read_req_ex(body, sizeof(body), &rr);
  ck_assert_int_eq(len, (long)(n - 64));
  ck_assert_mem_eq(body, want + 64, (size_t)len);
  ck_assert_int_eq(smb2_encode_read_req_ex(body, 48, &rr), SMBQ_ERR_BUFSMALL);
  ck_assert_int_eq(smb2_encode_read_req(body, sizeof(body), rr.file_id, 0, 12),
                   49);
  ck_assert_uint_eq(body[2], 0x50);
  rr.minimum_count = 5;
  rr.remaining_bytes = 9;
  rr.flags = SMB2_READFLAG_READ_UNBUFFERED;
  smb2_encode_read_req_ex(body, sizeof(body), &rr);
  ck_assert_uint_eq(body[3], 1);
  ck_assert_uint_eq(smbq_le32_at(body + 32), 5);
  ck_assert_uint_eq(smbq_le32_at(body + 40), 9);
  free(want);
  struct smb2_read_rsp rd;
  m = vec(samba_read_rsp, &n);
  ck_assert_int_eq(smb2_decode_read_rsp(m, n, &rd), 0);
  ck_assert_uint_eq(rd.data_len, 12);
  ck_assert_mem_eq(rd.data, "hello world\n", 12);
  ck_assert_uint_eq(rd.remaining, 0);
  for (size_t cut = 1; cut < n - 64; cut++)
    ck_assert_int_eq(smb2_decode_read_rsp(m, n - cut, &rd), SMBQ_ERR_PROTO);
  m[64 + 2] = 0x4F; /* DataOffset one byte into the fixed part */
  ck_assert_int_eq(smb2_decode_read_rsp(m, n, &rd), SMBQ_ERR_PROTO);
  m[64 + 2] = 0xFF; /* past the end */
  ck_assert_int_eq(smb2_decode_read_rsp(m, n, &rd), SMBQ_ERR_PROTO);
  m[64 + 2] = 0x50;
  smbq_put_le32(m + 68, 0); /* an empty read is fine whatever the offset */
  m[64 + 2] = 0;
  ck_assert_int_eq(smb2_decode_read_rsp(m, n, &rd), 0);
  ck_assert_ptr_null(rd.data);
  free(m);

  /* FLUSH (2.2.17): StructureSize 24, Reserved1, Reserved2, FileId */
  uint8_t fid[16];
  for (int i = 0; i < 16; i++)
    fid[i] = (uint8_t)i;
  ck_assert_int_eq(smb2_encode_flush_req(body, sizeof(body), fid), 24);
  ck_assert_mem_hex(body, "1800 0000 00000000 000102030405060708090A0B0C0D0E0F");
  ck_assert_int_eq(smb2_encode_flush_req(body, 23, fid), SMBQ_ERR_BUFSMALL);
  m = vec(samba_tdis_rsp, &n); /* a 4-byte body */
  ck_assert_int_eq(smb2_decode_flush_rsp(m, n), 0);
  free(m);
}
END_TEST

START_TEST(samba_query_directory) {
  size_t n;
  uint8_t body[512];
  uint8_t *want = vec(samba_qdir_req, &n);
  const uint8_t star[2] = {'*', 0};
  struct smb2_query_dir_req q = {
      .info_class = SMB2_FILE_ID_BOTH_DIRECTORY_INFORMATION,
      .pattern = star, .pattern_len = 2, .output_len = 0x800000};
  memcpy(q.file_id, want + 64 + 8, 16);
  long len = smb2_encode_query_dir_req(body, sizeof(body), &q);
  ck_assert_int_eq(len, (long)(n - 64));
  ck_assert_mem_eq(body, want + 64, (size_t)len);
  ck_assert_int_eq(smb2_encode_query_dir_req(body, (size_t)len - 1, &q),
                   SMBQ_ERR_BUFSMALL);
  q.flags = SMB2_INDEX_SPECIFIED | SMB2_RESTART_SCANS;
  q.file_index = 0x11223344;
  smb2_encode_query_dir_req(body, sizeof(body), &q);
  ck_assert_uint_eq(body[3], 5);
  ck_assert_uint_eq(smbq_le32_at(body + 4), 0x11223344);
  free(want);

  uint8_t *m = vec(samba_qdir_rsp, &n);
  const uint8_t *buf;
  size_t bl;
  ck_assert_int_eq(smb2_decode_query_dir_rsp(m, n, &buf, &bl), 0);
  ck_assert_ptr_eq(buf, m + 72);
  ck_assert_uint_eq(bl, 336);
  struct smb2_dir_iter it;
  struct smb2_dir_entry e;
  static const char *const names[] = {".", "..", "dir1"};
  smb2_dir_iter_init(&it, buf, bl);
  for (int i = 0; i < 3; i++) {
    uint8_t nm[16];
    size_t nl = u16(names[i], nm);
    ck_assert_int_eq(smb2_dir_next(&it, &e), 1);
    ck_assert_uint_eq(e.name_len, nl);
    ck_assert_mem_eq(e.name, nm, nl);
    ck_assert_uint_eq(e.attributes, SMB2_ATTR_DIRECTORY);
    ck_assert_uint_ne(e.file_id, 0);
    ck_assert_uint_eq(e.short_name_len, 0);
  }
  ck_assert_int_eq(smb2_dir_next(&it, &e), 0);
  /* the same bytes read as FileDirectoryInformation would misparse; the
   * class is the caller's. An unknown class is refused. */
  smb2_dir_iter_init_class(&it, 0x99, buf, bl);
  ck_assert_int_eq(smb2_dir_next(&it, &e), SMBQ_ERR_INVAL);

  /* malformed: each corruption of the first entry fails */
  uint8_t *b = malloc(bl);
  struct {
    size_t at;
    uint32_t v;
    int width;
  } cases[] = {
      {0, 0x71, 4},        /* NextEntryOffset not 8-aligned */
      {0, 8, 4},           /* smaller than an entry: would go backwards */
      {0, 0x78 + 336, 4},  /* past the buffer */
      {0, 0xFFFFFFF8u, 4}, /* huge */
      {60, 0x70 - 104 + 2, 4}, /* name runs into the next entry */
      {60, 3, 4},          /* odd name length */
      {60, 0xFFFFFFFFu, 4},
      {68, 26, 1},         /* ShortNameLength > 24 */
      {0x70 + 0x70 + 60, 336 - 0xE0 - 104 + 2, 4}, /* last name past end */
  };
  for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
    memcpy(b, buf, bl);
    if (cases[k].width == 4)
      smbq_put_le32(b + cases[k].at, cases[k].v);
    else
      b[cases[k].at] = (uint8_t)cases[k].v;
    smb2_dir_iter_init(&it, b, bl);
    int rc;
    while ((rc = smb2_dir_next(&it, &e)) == 1)
      ;
    ck_assert_msg(rc == SMBQ_ERR_PROTO, "case %zu: rc %d", k, rc);
  }
  /* a buffer cut anywhere fails or ends cleanly, never reads past it */
  for (size_t cut = 1; cut < bl; cut++) {
    smb2_dir_iter_init(&it, buf, bl - cut);
    int rc, count = 0;
    while ((rc = smb2_dir_next(&it, &e)) == 1)
      count++;
    ck_assert_int_eq(rc, SMBQ_ERR_PROTO);
    ck_assert_int_le(count, 2);
  }
  free(b);
  /* reply buffer offset/length checks */
  smbq_put_le32(m + 68, 337);
  ck_assert_int_eq(smb2_decode_query_dir_rsp(m, n, &buf, &bl), SMBQ_ERR_PROTO);
  smbq_put_le32(m + 68, 336);
  smbq_put_le16(m + 66, 71);
  ck_assert_int_eq(smb2_decode_query_dir_rsp(m, n, &buf, &bl), SMBQ_ERR_PROTO);
  free(m);

  /* one entry, FileDirectoryInformation layout (MS-FSCC 2.4.10) */
  uint8_t d[64 + 4] = {0};
  smbq_put_le32(d + 4, 7);       /* FileIndex */
  smbq_put_le64(d + 40, 1234);   /* EndOfFile */
  smbq_put_le32(d + 56, SMB2_ATTR_ARCHIVE);
  smbq_put_le32(d + 60, 4);
  d[64] = 'a';
  d[66] = 'b';
  smb2_dir_iter_init_class(&it, SMB2_FILE_DIRECTORY_INFORMATION, d, sizeof(d));
  ck_assert_int_eq(smb2_dir_next(&it, &e), 1);
  ck_assert_uint_eq(e.end_of_file, 1234);
  ck_assert_uint_eq(e.file_index, 7);
  ck_assert_ptr_eq(e.name, d + 64);
  ck_assert_uint_eq(e.name_len, 4);
  ck_assert_int_eq(smb2_dir_next(&it, &e), 0);
  smbq_put_le32(d + 60, 6);
  smb2_dir_iter_init_class(&it, SMB2_FILE_DIRECTORY_INFORMATION, d, sizeof(d));
  ck_assert_int_eq(smb2_dir_next(&it, &e), SMBQ_ERR_PROTO);

  /* the single-entry reply to a pattern lookup */
  m = vec(samba_qdir_one_rsp, &n);
  ck_assert_int_eq(smb2_decode_query_dir_rsp(m, n, &buf, &bl), 0);
  smb2_dir_iter_init(&it, buf, bl);
  ck_assert_int_eq(smb2_dir_next(&it, &e), 1);
  ck_assert_uint_eq(e.end_of_file, 12);
  ck_assert_uint_eq(e.name_len, 12);
  ck_assert_int_eq(smb2_dir_next(&it, &e), 0);
  free(m);
}
END_TEST

START_TEST(samba_query_set_info) {
  size_t n;
  uint8_t body[512];
  /* QUERY_INFO FileAllInformation, 0xFFFF bytes */
  uint8_t *want = vec(samba_qi_all_req, &n);
  struct smb2_query_info_req q = {.info_type = SMB2_0_INFO_FILE,
                                  .info_class = SMB2_FILE_ALL_INFORMATION,
                                  .output_len = 0xFFFF};
  memcpy(q.file_id, want + 64 + 24, 16);
  long len = smb2_encode_query_info_req(body, sizeof(body), &q);
  ck_assert_int_eq(len, (long)(n - 64));
  ck_assert_mem_eq(body, want + 64, (size_t)len);
  free(want);
  /* with an input buffer (e.g. a quota SID list) and security info */
  const uint8_t in[6] = {1, 2, 3, 4, 5, 6};
  q.info_type = SMB2_0_INFO_SECURITY;
  q.additional = SMB2_OWNER_SECURITY_INFORMATION |
                 SMB2_DACL_SECURITY_INFORMATION;
  q.flags = SMB2_SL_RESTART_SCAN;
  q.input = in;
  q.input_len = 6;
  ck_assert_int_eq(smb2_encode_query_info_req(body, sizeof(body), &q), 46);
  ck_assert_uint_eq(smbq_le16_at(body + 8), 104);
  ck_assert_uint_eq(smbq_le32_at(body + 12), 6);
  ck_assert_uint_eq(smbq_le32_at(body + 16), 5);
  ck_assert_uint_eq(smbq_le32_at(body + 20), 1);
  ck_assert_mem_eq(body + 40, in, 6);
  ck_assert_int_eq(smb2_encode_query_info_req(body, 45, &q), SMBQ_ERR_BUFSMALL);

  /* FileFsSizeInformation and FileFsVolumeInformation queries */
  static const char *const fsq[2] = {samba_qi_fssize_req, samba_qi_vol_req};
  static const uint8_t fsc[2] = {SMB2_FS_SIZE_INFORMATION,
                                 SMB2_FS_VOLUME_INFORMATION};
  for (int i = 0; i < 2; i++) {
    want = vec(fsq[i], &n);
    struct smb2_query_info_req f = {.info_type = SMB2_0_INFO_FILESYSTEM,
                                    .info_class = fsc[i],
                                    .output_len = 0xFFFF};
    memcpy(f.file_id, want + 64 + 24, 16);
    len = smb2_encode_query_info_req(body, sizeof(body), &f);
    ck_assert_int_eq(len, (long)(n - 64));
    ck_assert_mem_eq(body, want + 64, (size_t)len);
    free(want);
  }

  uint8_t *m = vec(samba_qi_all_rsp, &n);
  const uint8_t *buf;
  size_t bl;
  ck_assert_int_eq(smb2_decode_query_info_rsp(m, n, &buf, &bl), 0);
  ck_assert_uint_eq(bl, 120);
  struct smb2_file_all_info fi;
  ck_assert_int_eq(smb2_decode_file_all_info(buf, bl, &fi), 0);
  ck_assert_uint_eq(fi.end_of_file, 12);
  ck_assert_uint_eq(fi.allocation_size, 4096);
  ck_assert_uint_eq(fi.attributes, SMB2_ATTR_ARCHIVE);
  ck_assert_uint_eq(fi.nlinks, 1);
  ck_assert(!fi.directory && !fi.delete_pending);
  ck_assert_uint_eq(fi.index_number, 0xA72195);
  ck_assert_uint_eq(fi.access_flags, 0x00120089);
  ck_assert_uint_eq(fi.times.creation, 0x01DD7AE2C4955E68ULL);
  uint8_t nm[32];
  size_t nl = u16("\\hello.txt", nm);
  ck_assert_uint_eq(fi.name_len, nl);
  ck_assert_mem_eq(fi.name, nm, nl);
  ck_assert(!fi.name_truncated);
  /* a reply cut short keeps NameLength: the name is clamped */
  ck_assert_int_eq(smb2_decode_file_all_info(buf, bl - 5, &fi), 0);
  ck_assert(fi.name_truncated);
  ck_assert_uint_eq(fi.name_len, nl - 6);
  ck_assert_int_eq(smb2_decode_file_all_info(buf, 99, &fi), SMBQ_ERR_PROTO);
  ck_assert_int_eq(smb2_decode_file_all_info(NULL, 0, &fi), SMBQ_ERR_PROTO);
  /* the reply's buffer checks */
  for (size_t cut = 1; cut < n - 64; cut++)
    ck_assert_int_eq(smb2_decode_query_info_rsp(m, n - cut, &buf, &bl),
                     SMBQ_ERR_PROTO);
  smbq_put_le16(m + 66, 64); /* buffer inside the header */
  ck_assert_int_eq(smb2_decode_query_info_rsp(m, n, &buf, &bl),
                   SMBQ_ERR_PROTO);
  smbq_put_le16(m + 66, 72);
  smbq_put_le32(m + 68, 0xFFFFFFFFu);
  ck_assert_int_eq(smb2_decode_query_info_rsp(m, n, &buf, &bl),
                   SMBQ_ERR_PROTO);
  free(m);

  /* FileFsSizeInformation and FileFsVolumeInformation from smbd */
  m = vec(samba_qi_fssize_rsp, &n);
  ck_assert_int_eq(smb2_decode_query_info_rsp(m, n, &buf, &bl), 0);
  struct smb2_fs_size fs;
  ck_assert_int_eq(smb2_decode_fs_size(buf, bl, &fs), 0);
  ck_assert_uint_eq(fs.total_units, 0x0FBF8E74);
  ck_assert_uint_eq(fs.avail_units, 0x04F0BE78);
  ck_assert_uint_eq(fs.sectors_per_unit, 2);
  ck_assert_uint_eq(fs.bytes_per_sector, 512);
  ck_assert_int_eq(smb2_decode_fs_size(buf, 23, &fs), SMBQ_ERR_PROTO);
  free(m);
  m = vec(samba_qi_vol_rsp, &n);
  ck_assert_int_eq(smb2_decode_query_info_rsp(m, n, &buf, &bl), 0);
  struct smb2_fs_volume_info vi;
  ck_assert_int_eq(smb2_decode_fs_volume_info(buf, bl, &vi), 0);
  ck_assert_uint_eq(vi.serial_number, 0xEAD63C3D);
  nl = u16("share", nm);
  ck_assert_uint_eq(vi.label_len, nl);
  ck_assert_mem_eq(vi.label, nm, nl);
  ck_assert_int_eq(smb2_decode_fs_volume_info(buf, bl - 1, &vi),
                   SMBQ_ERR_PROTO);
  ck_assert_int_eq(smb2_decode_fs_volume_info(buf, 17, &vi), SMBQ_ERR_PROTO);
  uint8_t *vb = malloc(bl);
  memcpy(vb, buf, bl);
  smbq_put_le32(vb + 12, 0xFFFFFFFEu);
  ck_assert_int_eq(smb2_decode_fs_volume_info(vb, bl, &vi), SMBQ_ERR_PROTO);
  free(vb);
  free(m);

  /* Basic / Standard / NetworkOpen (MS-FSCC 2.4.7, 2.4.41, 2.4.29) */
  uint8_t fb[56] = {0};
  smbq_put_le64(fb, 1);
  smbq_put_le64(fb + 24, 4);
  smbq_put_le32(fb + 32, SMB2_ATTR_HIDDEN);
  struct smb2_file_basic_info bi;
  ck_assert_int_eq(smb2_decode_file_basic_info(fb, 40, &bi), 0);
  ck_assert_uint_eq(bi.times.creation, 1);
  ck_assert_uint_eq(bi.times.change, 4);
  ck_assert_uint_eq(bi.attributes, SMB2_ATTR_HIDDEN);
  ck_assert_int_eq(smb2_decode_file_basic_info(fb, 39, &bi), SMBQ_ERR_PROTO);
  memset(fb, 0, sizeof(fb));
  smbq_put_le64(fb, 8192);
  smbq_put_le64(fb + 8, 5000);
  smbq_put_le32(fb + 16, 2);
  fb[21] = 1;
  struct smb2_file_standard_info si;
  ck_assert_int_eq(smb2_decode_file_standard_info(fb, 24, &si), 0);
  ck_assert_uint_eq(si.end_of_file, 5000);
  ck_assert_uint_eq(si.nlinks, 2);
  ck_assert(si.directory && !si.delete_pending);
  ck_assert_int_eq(smb2_decode_file_standard_info(fb, 23, &si),
                   SMBQ_ERR_PROTO);
  memset(fb, 0, sizeof(fb));
  smbq_put_le64(fb + 40, 77);
  smbq_put_le32(fb + 48, SMB2_ATTR_READONLY);
  struct smb2_file_network_open_info no;
  ck_assert_int_eq(smb2_decode_file_network_open_info(fb, 56, &no), 0);
  ck_assert_uint_eq(no.end_of_file, 77);
  ck_assert_uint_eq(no.attributes, SMB2_ATTR_READONLY);
  ck_assert_int_eq(smb2_decode_file_network_open_info(fb, 55, &no),
                   SMBQ_ERR_PROTO);

  /* SET_INFO FileRenameInformation -> "h2.txt", no replace */
  want = vec(samba_setinfo_rename_req, &n);
  uint8_t ren[64];
  nl = u16("h2.txt", nm);
  long rl = smb2_encode_rename_info(ren, sizeof(ren), false, nm, nl);
  ck_assert_int_eq(rl, 32);
  struct smb2_set_info_req s = {.info_type = SMB2_0_INFO_FILE,
                                .info_class = SMB2_FILE_RENAME_INFORMATION,
                                .buf = ren, .buf_len = (size_t)rl};
  memcpy(s.file_id, want + 64 + 16, 16);
  len = smb2_encode_set_info_req_ex(body, sizeof(body), &s);
  ck_assert_int_eq(len, (long)(n - 64));
  ck_assert_mem_eq(body, want + 64, (size_t)len);
  ck_assert_int_eq(smb2_encode_set_info_req(body, sizeof(body), 1, 0x0A,
                                            s.file_id, ren, (size_t)rl),
                   len);
  ck_assert_mem_eq(body, want + 64, (size_t)len);
  ck_assert_int_eq(smb2_encode_set_info_req_ex(body, (size_t)len - 1, &s),
                   SMBQ_ERR_BUFSMALL);
  s.additional = SMB2_DACL_SECURITY_INFORMATION;
  smb2_encode_set_info_req_ex(body, sizeof(body), &s);
  ck_assert_uint_eq(smbq_le32_at(body + 12), 4);
  free(want);
  ck_assert_int_eq(smb2_encode_rename_info(ren, sizeof(ren), true, nm, 3),
                   SMBQ_ERR_INVAL);
  m = vec(samba_setinfo_rsp, &n);
  ck_assert_int_eq(smb2_decode_set_info_rsp(m, n), 0);
  smbq_put_le16(m + 64, 3);
  ck_assert_int_eq(smb2_decode_set_info_rsp(m, n), SMBQ_ERR_PROTO);
  free(m);
  /* EndOfFile / Disposition / Basic buffers (MS-FSCC 2.4.13, 2.4.11) */
  ck_assert_int_eq(smb2_encode_eof_info(body, 8, 0x0102030405060708ULL), 8);
  ck_assert_mem_hex(body, "0807060504030201");
  ck_assert_int_eq(smb2_encode_eof_info(body, 7, 1), SMBQ_ERR_BUFSMALL);
  ck_assert_int_eq(smb2_encode_disposition_info(body, 0, true),
                   SMBQ_ERR_BUFSMALL);
  struct smb2_file_times t = {0};
  ck_assert_int_eq(smb2_encode_basic_info(body, 40, &t, 0), 40);
  ck_assert_mem_hex(body, "0000000000000000 0000000000000000 0000000000000000"
                          "0000000000000000 00000000 00000000");
  ck_assert_int_eq(smb2_encode_basic_info(body, 39, &t, 0), SMBQ_ERR_BUFSMALL);
}
END_TEST

START_TEST(ioctl_full) {
  uint8_t in[64], body[256], guid[16];
  for (int i = 0; i < 16; i++)
    guid[i] = (uint8_t)(0xA0 + i);
  static const uint16_t d[] = {0x0202, 0x0210, 0x0300, 0x0302};
  /* 2.2.31.4 by hand: Capabilities, Guid, SecurityMode, count, dialects */
  ck_assert_int_eq(smb2_encode_validate_negotiate(in, sizeof(in), 0x7F, guid,
                                                  1, d, 4),
                   32);
  ck_assert_mem_hex(in, "7F000000 A0A1A2A3A4A5A6A7A8A9AAABACADAEAF 0100 0400"
                        "0202 1002 0003 0203");
  ck_assert_int_eq(
      smb2_encode_validate_negotiate(in, 31, 0x7F, guid, 1, d, 4),
      SMBQ_ERR_BUFSMALL);
  ck_assert_int_eq(
      smb2_encode_validate_negotiate(in, sizeof(in), 0x7F, guid, 1, d, 0),
      SMBQ_ERR_INVAL);
  struct smb2_ioctl_req r = {.ctl_code = SMB2_FSCTL_VALIDATE_NEGOTIATE_INFO,
                             .input = in, .input_len = 32,
                             .max_output = 24,
                             .flags = SMB2_0_IOCTL_IS_FSCTL};
  memset(r.file_id, 0xFF, 16);
  long n = smb2_encode_ioctl_req_ex(body, sizeof(body), &r);
  ck_assert_int_eq(n, 56 + 32);
  ck_assert_mem_hex(body, "3900 0000 04021400"
                          "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
                          "78000000 20000000 00000000 00000000 00000000"
                          "18000000 01000000 00000000");
  ck_assert_mem_eq(body + 56, in, 32);
  uint8_t body2[256];
  ck_assert_int_eq(smb2_encode_ioctl_req(body2, sizeof(body2),
                                         SMB2_FSCTL_VALIDATE_NEGOTIATE_INFO,
                                         r.file_id, in, 32, 24),
                   n);
  ck_assert_mem_eq(body, body2, (size_t)n);
  ck_assert_int_eq(smb2_encode_ioctl_req_ex(body, (size_t)n - 1, &r),
                   SMBQ_ERR_BUFSMALL);
  r.input_len = 0; /* no input: offset 0 and one pad byte */
  ck_assert_int_eq(smb2_encode_ioctl_req_ex(body, sizeof(body), &r), 57);
  ck_assert_uint_eq(smbq_le32_at(body + 24), 0);

  /* reply: the input echoed at 112, output (2.2.32.6) at 144 */
  size_t len;
  uint8_t *m = mkrsp(SMB2_IOCTL, 49, 48 + 32 + 24, &len);
  smbq_put_le32(m + 64 + 4, SMB2_FSCTL_VALIDATE_NEGOTIATE_INFO);
  memset(m + 64 + 8, 0xFF, 16);
  smbq_put_le32(m + 64 + 24, 112);
  smbq_put_le32(m + 64 + 28, 32);
  smbq_put_le32(m + 64 + 32, 144);
  smbq_put_le32(m + 64 + 36, 24);
  smbq_put_le32(m + 144, 0x2F);
  memcpy(m + 148, guid, 16);
  smbq_put_le16(m + 164, 1);
  smbq_put_le16(m + 166, 0x0302);
  struct smb2_ioctl_rsp rr;
  ck_assert_int_eq(smb2_decode_ioctl_rsp(m, len, &rr), 0);
  ck_assert_ptr_eq(rr.input, m + 112);
  ck_assert_uint_eq(rr.input_len, 32);
  ck_assert_uint_eq(rr.file_id[0], 0xFF);
  struct smb2_validate_negotiate_rsp v;
  ck_assert_int_eq(smb2_decode_validate_negotiate(rr.output, rr.output_len,
                                                  &v),
                   0);
  ck_assert_uint_eq(v.capabilities, 0x2F);
  ck_assert_mem_eq(v.guid, guid, 16);
  ck_assert_uint_eq(v.security_mode, 1);
  ck_assert_uint_eq(v.dialect, 0x0302);
  ck_assert_int_eq(smb2_decode_validate_negotiate(rr.output, 23, &v),
                   SMBQ_ERR_PROTO);
  ck_assert_int_eq(smb2_decode_validate_negotiate(NULL, 0, &v),
                   SMBQ_ERR_PROTO);
  smbq_put_le32(m + 64 + 28, 57); /* input past the end */
  ck_assert_int_eq(smb2_decode_ioctl_rsp(m, len, &rr), SMBQ_ERR_PROTO);
  smbq_put_le32(m + 64 + 28, 32);
  smbq_put_le32(m + 64 + 24, 100); /* input inside the fixed part */
  ck_assert_int_eq(smb2_decode_ioctl_rsp(m, len, &rr), SMBQ_ERR_PROTO);
  smbq_put_le32(m + 64 + 24, 112);
  smbq_put_le32(m + 64 + 32, 0xFFFFFFF0u); /* output offset wraps */
  ck_assert_int_eq(smb2_decode_ioctl_rsp(m, len, &rr), SMBQ_ERR_PROTO);
  smbq_put_le32(m + 64 + 32, 144);
  smbq_put_le16(m + 64, 48);
  ck_assert_int_eq(smb2_decode_ioctl_rsp(m, len, &rr), SMBQ_ERR_PROTO);
  smbq_put_le16(m + 64, 49);
  ck_assert_int_eq(smb2_decode_ioctl_rsp(m, 64 + 47, &rr), SMBQ_ERR_PROTO);
  free(m);
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
  tcase_add_test(tc, samba_negotiate_req_exact);
  tcase_add_test(tc, negotiate_contexts_alignment_sweep);
  tcase_add_test(tc, samba_negotiate_rsp_three_contexts);
  tcase_add_test(tc, samba_header_and_error);
  tcase_add_test(tc, cmd_table_complete);
  tcase_add_test(tc, samba_session_tree);
  tcase_add_test(tc, samba_create_close);
  tcase_add_test(tc, create_contexts_encode);
  tcase_add_test(tc, samba_read_write_flush);
  tcase_add_test(tc, samba_query_directory);
  tcase_add_test(tc, samba_query_set_info);
  tcase_add_test(tc, ioctl_full);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
