/* The lease table and break state machine (lib/core/core_lease.c), driven
 * by hand-made CREATE replies and break notifications: one key per file,
 * grants, breaks with and without acknowledgement, stale epochs, unknown
 * keys, malformed notifications, oplocks, renames and deletes. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/core_lease.h"
#include "core/core_open.h"
#include "smbq/smbq_err.h"
#include "smbq_bytes.h"
#include "testutil.h"
#include "vectors_lease.h"

static int counter_random(void *user, uint8_t *buf, size_t n) {
  unsigned *ctr = user;
  for (size_t i = 0; i < n; i++)
    buf[i] = (uint8_t)(++*ctr);
  return 0;
}

static unsigned ctr;

static struct core_leases *table(enum core_lease_mode m) {
  ctr = 0;
  return core_leases_new(m, counter_random, &ctr);
}

/* A CREATE reply granting `state` for `key` (v2 lease context), built
 * through the request encoder's context layout: the table only reads the
 * decoded struct and its context bytes. */
struct grant {
  uint8_t ctxbuf[128];
  struct smb2_create_rsp rsp;
};

static void make_grant(struct grant *g, const uint8_t key[16],
                       uint32_t state, uint16_t epoch) {
  memset(g, 0, sizeof(*g));
  uint8_t *p = g->ctxbuf;
  /* MS-SMB2 2.2.13.2: Next 0, NameOffset 16, NameLength 4, Reserved,
   * DataOffset 24, DataLength 52, "RqLs", 4 bytes padding, data */
  smbq_put_le32(p, 0);
  smbq_put_le16(p + 4, 16);
  smbq_put_le16(p + 6, 4);
  smbq_put_le16(p + 10, 24);
  smbq_put_le32(p + 12, 52);
  memcpy(p + 16, "RqLs", 4);
  uint8_t *d = p + 24;
  memcpy(d, key, 16);
  smbq_put_le32(d + 16, state);
  smbq_put_le16(d + 48, epoch);
  g->rsp.oplock_level = SMB2_OPLOCK_LEVEL_LEASE;
  g->rsp.contexts = g->ctxbuf;
  g->rsp.contexts_len = 24 + 52;
}

/* A lease break notification (2.2.23.2) as the wire carries it. */
static size_t make_break(uint8_t *msg, const uint8_t key[16], uint32_t cur,
                         uint32_t next, uint16_t epoch, bool ack) {
  memset(msg, 0, 64 + 44);
  smbq_put_le32(msg, 0x424D53FEu);
  smbq_put_le16(msg + 4, 64);
  smbq_put_le16(msg + 12, 0x12);
  smbq_put_le32(msg + 16, 1); /* SERVER_TO_REDIR */
  memset(msg + 24, 0xFF, 8);
  uint8_t *b = msg + 64;
  smbq_put_le16(b, 44);
  smbq_put_le16(b + 2, epoch);
  smbq_put_le32(b + 4, ack ? 1 : 0);
  memcpy(b + 8, key, 16);
  smbq_put_le32(b + 24, cur);
  smbq_put_le32(b + 28, next);
  return 64 + 44;
}

static void key_of(struct core_leases *t, struct core_lease *l,
                   uint8_t key[16]) {
  struct smb2_create_ctx ctx;
  uint8_t buf[SMB2_LEASE_V2_SIZE], op;
  ck_assert_int_eq(core_lease_request(t, l, 7, &ctx, buf, &op), 1);
  ck_assert_int_eq(op, SMB2_OPLOCK_LEVEL_LEASE);
  ck_assert_uint_eq(ctx.data_len, SMB2_LEASE_V2_SIZE);
  memcpy(key, ctx.data, 16);
}

START_TEST(one_key_per_file) {
  struct core_leases *t = table(CORE_LEASE_V2);
  struct core_lease *a = core_lease_get(t, 1, "dir/A.txt", false);
  struct core_lease *b = core_lease_get(t, 1, "\\dir\\a.TXT", false);
  struct core_lease *c = core_lease_get(t, 2, "dir/a.txt", false);
  ck_assert_ptr_eq(a, b); /* same file, case and separators aside */
  ck_assert_ptr_ne(a, c); /* another share */
  ck_assert_uint_eq(core_leases_count(t), 2);
  uint8_t ka[16], kc[16];
  key_of(t, a, ka);
  key_of(t, c, kc);
  ck_assert(memcmp(ka, kc, 16) != 0);
  ck_assert_uint_eq(core_lease_put(t, b), 0);
  ck_assert_uint_eq(core_lease_put(t, a), 0); /* nothing granted */
  ck_assert_uint_eq(core_leases_count(t), 1);
  core_lease_put(t, c);
  core_leases_free(t);
}
END_TEST

START_TEST(grant_break_ack) {
  struct core_leases *t = table(CORE_LEASE_V2);
  struct core_lease *l = core_lease_get(t, 1, "f", false);
  uint8_t key[16];
  key_of(t, l, key);
  struct grant g;
  make_grant(&g, key, 7, 1);
  ck_assert_int_eq(core_lease_granted(t, l, &g.rsp), 0);
  ck_assert_uint_eq(core_lease_state(t, l), 7);
  ck_assert_int_eq(core_lease_version(t, l), 2);

  uint8_t msg[128];
  size_t len = make_break(msg, key, 7, 1, 2, true);
  struct core_break b;
  ck_assert_int_eq(core_leases_on_notify(t, msg, len, &b), 1);
  ck_assert(b.ack_required && !b.oplock);
  ck_assert_uint_eq(b.old_state, 7);
  ck_assert_uint_eq(b.new_state, 1);
  ck_assert_str_eq(b.path, "f");
  /* held until acknowledged (MS-SMB2 3.2.5.19.2), but not offered to a
   * new open until the callback ran */
  ck_assert_uint_eq(core_lease_state(t, l), 7);
  ck_assert_uint_eq(core_lease_state_settled(t, l), 0);
  uint8_t ack[64];
  long n = core_break_ack_body(&b, ack, sizeof(ack));
  ck_assert_int_eq(n, 36);
  ck_assert_uint_eq(smbq_le16_at(ack), 36);
  ck_assert(memcmp(ack + 8, key, 16) == 0);
  ck_assert_uint_eq(smbq_le32_at(ack + 24), 1);
  ck_assert(!core_break_orphaned(t, &b)); /* the open is still there */
  core_break_done(t, &b, NULL, 0); /* the ack failed: state moves on */
  ck_assert_uint_eq(core_lease_state(t, l), 1);
  ck_assert_uint_eq(core_lease_state_settled(t, l), 1);
  /* the break's reference is gone: the open's is the last */
  ck_assert_uint_eq(core_lease_put(t, l), 1);
  core_leases_free(t);
}
END_TEST

START_TEST(break_without_ack_and_stale_epoch) {
  struct core_leases *t = table(CORE_LEASE_V2);
  struct core_lease *l = core_lease_get(t, 1, "f", false);
  uint8_t key[16];
  key_of(t, l, key);
  struct grant g;
  make_grant(&g, key, 3, 5);
  core_lease_granted(t, l, &g.rsp);
  uint8_t msg[128];
  struct core_break b;
  /* epoch 4 < 5: an old notification, ignored */
  size_t len = make_break(msg, key, 3, 0, 4, false);
  ck_assert_int_eq(core_leases_on_notify(t, msg, len, &b), 0);
  ck_assert_uint_eq(core_lease_state(t, l), 3);
  /* READ to nothing needs no ack: the state changes at once */
  len = make_break(msg, key, 3, 0, 6, false);
  ck_assert_int_eq(core_leases_on_notify(t, msg, len, &b), 1);
  ck_assert(!b.ack_required);
  ck_assert_uint_eq(core_lease_state(t, l), 0);
  /* an open granted READ again before the callback ran (its reply came
   * after the notification): not offered until the break is through */
  make_grant(&g, key, 1, 7);
  ck_assert_int_eq(core_lease_granted(t, l, &g.rsp), 0);
  ck_assert_uint_eq(core_lease_state(t, l), 1);
  ck_assert_uint_eq(core_lease_state_settled(t, l), 0);
  core_break_done(t, &b, NULL, 0);
  ck_assert_uint_eq(core_lease_state(t, l), 1); /* the newer grant stays */
  ck_assert_uint_eq(core_lease_state_settled(t, l), 1);
  core_lease_put(t, l);
  core_leases_free(t);
}
END_TEST

START_TEST(unknown_and_malformed) {
  struct core_leases *t = table(CORE_LEASE_V2);
  uint8_t msg[128], other[16];
  memset(other, 0x5A, 16);
  struct core_break b;
  size_t len = make_break(msg, other, 7, 1, 1, true);
  ck_assert_int_eq(core_leases_on_notify(t, msg, len, &b), 0);
  ck_assert_int_eq(core_leases_on_notify(t, msg, len - 1, &b),
                   SMBQ_ERR_PROTO);
  smbq_put_le16(msg + 64, 40); /* wrong StructureSize */
  ck_assert_int_eq(core_leases_on_notify(t, msg, len, &b), SMBQ_ERR_PROTO);
  ck_assert_int_eq(core_leases_on_notify(t, msg, 10, &b), SMBQ_ERR_PROTO);
  core_leases_free(t);
}
END_TEST

START_TEST(grant_for_another_key) {
  struct core_leases *t = table(CORE_LEASE_V2);
  struct core_lease *l = core_lease_get(t, 1, "f", false);
  uint8_t other[16];
  memset(other, 0x77, 16);
  struct grant g;
  make_grant(&g, other, 7, 1);
  ck_assert_int_eq(core_lease_granted(t, l, &g.rsp), SMBQ_ERR_PROTO);
  ck_assert_uint_eq(core_lease_state(t, l), 0); /* nothing granted */
  core_lease_put(t, l);
  core_leases_free(t);
}
END_TEST

START_TEST(oplocks) {
  struct core_leases *t = table(CORE_LEASE_OPLOCK);
  struct core_lease *a = core_lease_get(t, 1, "f", false);
  struct core_lease *b = core_lease_get(t, 1, "f", false);
  ck_assert_ptr_ne(a, b); /* an oplock belongs to one open */
  struct smb2_create_ctx ctx;
  uint8_t buf[SMB2_LEASE_V2_SIZE], op;
  ck_assert_int_eq(core_lease_request(t, a, 3, &ctx, buf, &op), 0);
  ck_assert_int_eq(op, SMB2_OPLOCK_LEVEL_BATCH);
  struct smb2_create_rsp rsp = {.oplock_level = SMB2_OPLOCK_LEVEL_BATCH};
  memset(rsp.file_id, 0x11, 16);
  core_lease_granted(t, a, &rsp);
  ck_assert_uint_eq(core_lease_state(t, a), 7);
  ck_assert_int_eq(core_lease_version(t, a), 0);
  /* an oplock break (2.2.23.1) to level II for that file id */
  uint8_t msg[64 + 24] = {0};
  smbq_put_le32(msg, 0x424D53FEu);
  smbq_put_le16(msg + 4, 64);
  smbq_put_le16(msg + 12, 0x12);
  smbq_put_le32(msg + 16, 1);
  memset(msg + 24, 0xFF, 8);
  smbq_put_le16(msg + 64, 24);
  msg[66] = SMB2_OPLOCK_LEVEL_II;
  memset(msg + 64 + 8, 0x11, 16);
  struct core_break br;
  ck_assert_int_eq(core_leases_on_notify(t, msg, sizeof(msg), &br), 1);
  ck_assert(br.oplock && br.ack_required);
  ck_assert_uint_eq(br.new_state, 1);
  uint8_t ack[32];
  ck_assert_int_eq(core_break_ack_body(&br, ack, sizeof(ack)), 24);
  ck_assert_uint_eq(ack[2], SMB2_OPLOCK_LEVEL_II);
  core_break_done(t, &br, NULL, 0);
  ck_assert_uint_eq(core_lease_state(t, a), 1);
  core_lease_put(t, a);
  core_lease_put(t, b);
  core_leases_free(t);
}
END_TEST

START_TEST(rename_and_doom) {
  struct core_leases *t = table(CORE_LEASE_V2);
  struct core_lease *d = core_lease_get(t, 1, "d/x", false);
  core_lease_rename(t, 1, "d", "e");
  struct core_lease *f = core_lease_find(t, 1, "e/x");
  ck_assert_ptr_eq(f, d); /* the key moved with the file */
  core_lease_put(t, f);
  ck_assert_ptr_null(core_lease_find(t, 1, "d/x"));
  core_lease_doom(t, 1, "e");
  ck_assert(core_lease_doomed(t, d));
  /* a new file at the deleted name gets a key of its own */
  struct core_lease *n = core_lease_get(t, 1, "e/x", false);
  ck_assert_ptr_ne(n, d);
  ck_assert(!core_lease_doomed(t, n));
  core_lease_put(t, n);
  core_lease_put(t, d);
  core_leases_free(t);
}
END_TEST

/* Keys A0..AF for the first entry, B0..BF for the second: the keys of the
 * composed Windows directory vectors (vectors_lease.h). */
static int vector_random(void *user, uint8_t *buf, size_t n) {
  unsigned *calls = user;
  for (size_t i = 0; i < n; i++)
    buf[i] = (uint8_t)((*calls ? 0xB0 : 0xA0) + i);
  ++*calls;
  return 0;
}

/* A directory lease as Windows Server grants it (Samba 4.17 has none):
 * the CREATE reply of a directory with an RH V2 lease, a file below it
 * whose lease names the directory's as parent (so our own changes there
 * break nothing), and the break of the directory lease to R when another
 * client changes the directory. */
START_TEST(directory_lease) {
  unsigned calls = 0;
  struct core_leases *t = core_leases_new(CORE_LEASE_V2, vector_random,
                                          &calls);
  struct core_lease *d = core_lease_get(t, 5, "docs", true);
  size_t n;
  uint8_t *m = unhex(dir_create_rsp_hex, &n);
  struct smb2_create_rsp rsp;
  ck_assert_int_eq(smb2_decode_create_rsp(m, n, &rsp), 0);
  ck_assert_int_eq(core_lease_granted(t, d, &rsp), 0);
  ck_assert_uint_eq(core_lease_state(t, d), SMB2_LEASE_READ |
                                                SMB2_LEASE_HANDLE);
  free(m);
  /* a file below: its own key, the directory's as parent */
  struct core_lease *f = core_lease_get(t, 5, "docs/a.txt", false);
  struct smb2_create_ctx ctx;
  uint8_t buf[SMB2_LEASE_V2_SIZE], op;
  ck_assert_int_eq(core_lease_request(t, f, 7, &ctx, buf, &op), 1);
  struct smb2_lease l;
  ck_assert_int_eq(smb2_decode_lease_ctx(ctx.data, ctx.data_len, &l), 0);
  ck_assert_uint_eq(l.flags & SMB2_LEASE_FLAG_PARENT_LEASE_KEY_SET,
                    SMB2_LEASE_FLAG_PARENT_LEASE_KEY_SET);
  ck_assert_uint_eq(l.parent_key[0], 0xA0); /* the directory's key */
  ck_assert_uint_eq(l.key[0], 0xB0);
  /* another client adds a file: RH -> R, acknowledged */
  uint8_t *b = unhex(dir_lease_notify_hex, &n);
  struct core_break br;
  ck_assert_int_eq(core_leases_on_notify(t, b, n, &br), 1);
  ck_assert(br.is_dir && br.ack_required && !br.oplock);
  ck_assert_str_eq(br.path, "docs");
  ck_assert_uint_eq(br.old_state, SMB2_LEASE_READ | SMB2_LEASE_HANDLE);
  ck_assert_uint_eq(br.new_state, SMB2_LEASE_READ);
  uint8_t ack[64];
  ck_assert_int_eq(core_break_ack_body(&br, ack, sizeof(ack)), 36);
  ck_assert_uint_eq(ack[8], 0xA0);
  core_break_done(t, &br, NULL, 0);
  ck_assert_uint_eq(core_lease_state(t, d), SMB2_LEASE_READ);
  free(b);
  core_lease_put(t, f);
  core_lease_put(t, d);
  core_leases_free(t);
}
END_TEST

/* How the server compares names: either separator, case ignored, the
 * root above everything; a sibling with a longer name is not below. */
START_TEST(path_under) {
  ck_assert(core_path_under("dir/a.txt", "dir"));
  ck_assert(core_path_under("\\DIR\\a.txt", "/dir/"));
  ck_assert(core_path_under("dir", "dir"));
  ck_assert(core_path_under("dir//sub/x", "dir/sub"));
  ck_assert(core_path_under("anything", ""));
  ck_assert(core_path_under("anything", "/"));
  ck_assert(!core_path_under("directory/a", "dir"));
  ck_assert(!core_path_under("dir", "dir/a"));
  ck_assert(!core_path_under("other/a", "dir"));
}
END_TEST

START_TEST(off) {
  struct core_leases *t = table(CORE_LEASE_OFF);
  ck_assert_ptr_null(core_lease_get(t, 1, "f", false));
  struct smb2_create_ctx ctx;
  uint8_t buf[SMB2_LEASE_V2_SIZE], op = 0xAA;
  ck_assert_int_eq(core_lease_request(t, NULL, 7, &ctx, buf, &op), 0);
  ck_assert_int_eq(op, SMB2_OPLOCK_LEVEL_NONE);
  core_leases_free(t);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("core_lease");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, one_key_per_file);
  tcase_add_test(tc, grant_break_ack);
  tcase_add_test(tc, break_without_ack_and_stale_epoch);
  tcase_add_test(tc, unknown_and_malformed);
  tcase_add_test(tc, grant_for_another_key);
  tcase_add_test(tc, oplocks);
  tcase_add_test(tc, rename_and_doom);
  tcase_add_test(tc, directory_lease);
  tcase_add_test(tc, path_under);
  tcase_add_test(tc, off);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
