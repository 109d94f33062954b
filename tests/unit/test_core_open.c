/* Opens across a lost connection (lib/core/core_open.c): what a request
 * held for an open gets when the reclaim finds its durable handle gone
 * (MS-SMB2 3.2.4.4). Driven through the connection core by hand: the
 * reclaim CREATE and the requests held meanwhile are pulled and answered
 * here, and the release fixes file ids as core_reconnect.c does. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/core_lease.h"
#include "core/core_open.h"
#include "core/core_tree.h"
#include "smb2/smb2_conn.h"
#include "smb2/smb2_pdu.h"
#include "smbq/smbq_err.h"
#include "smbq_bytes.h"
#include "conn_feed.h"
#include "testutil.h"

#define SID 0x41u

static int no_random(void *user, uint8_t *buf, size_t n) {
  (void)user;
  memset(buf, 0, n);
  return 0;
}

/* A reply to message mid: command cmd, status (an error body for an
 * error, else the body given). */
static int answer(struct smb2_conn *c, uint64_t mid, uint16_t cmd,
                  uint32_t status, const uint8_t *body, size_t blen) {
  uint8_t m[64 + 128];
  memset(m, 0, sizeof(m));
  struct smb2_hdr h = {.status = status, .command = cmd, .credits = 8,
                       .flags = SMB2_FLAGS_SERVER_TO_REDIR,
                       .message_id = mid, .session_id = SID};
  smb2_hdr_encode(m, &h);
  size_t len = 64 + 9;
  smbq_put_le16(m + 64, 9); /* MS-SMB2 2.2.2 ERROR */
  if (!status) {
    ck_assert_uint_le(blen, 128);
    memcpy(m + 64, body, blen);
    len = 64 + blen;
  }
  return feed_message(c, m, len);
}

/* Everything the core has to send goes out; returns the command of the
 * last message pulled and its message id in *mid. */
static uint16_t send_all(struct smb2_conn *c, uint64_t *mid) {
  const uint8_t *out;
  long k;
  uint16_t cmd = 0xFFFF;
  while ((k = smb2_conn_pull(c, &out)) > 0) {
    ck_assert_int_gt(k, 4 + 64);
    cmd = smbq_le16_at(out + 4 + 12);
    if (mid)
      *mid = smbq_le64_at(out + 4 + 24);
    smb2_conn_sent(c, (size_t)k);
  }
  return cmd;
}

struct fixture {
  struct smb2_conn *c;
  struct core_leases *leases;
  struct smb2_sec sec;
  struct core_tree t;
  struct core_open o;
};

static const uint8_t old_id[16] = {1, 2, 3, 4, 5, 6, 7, 8,
                                   9, 10, 11, 12, 13, 14, 15, 16};

/* A connection with credits, and an open of "a.bin" for writing that
 * holds a durable handle (v2). */
static void setup(struct fixture *f) {
  memset(f, 0, sizeof(*f));
  struct smb2_conn_env env = {.random = no_random};
  f->c = smb2_conn_new(&env);
  ck_assert_ptr_nonnull(f->c);
  struct smb2_req *e = smb2_req_new(SMB2_ECHO, 4);
  ck_assert_ptr_nonnull(e);
  smb2_req_set_body_len(e, (size_t)smb2_encode_echo_req(smb2_req_body(e), 4));
  ck_assert_int_eq(smb2_conn_submit(f->c, e, 0), 0);
  send_all(f->c, NULL);
  static const uint8_t echo_rsp[4] = {4};
  ck_assert_int_eq(answer(f->c, 0, SMB2_ECHO, 0, echo_rsp, 4), 0);
  f->leases = core_leases_new(CORE_LEASE_OFF, no_random, NULL);
  f->sec.session_id = SID;
  f->t.state = CORE_TREE_CONNECTED;
  f->t.tree_id = 5;
  f->t.cfg.sec = &f->sec;
  struct smb2_create_rsp created = {0};
  memcpy(created.file_id, old_id, 16);
  core_open_adopt(&f->o, &f->t, f->leases, "a.bin", &created, NULL, false);
  f->o.spec.access = SMB2_FILE_WRITE_DATA;
  f->o.durable.version = 2;
  f->o.durable_req.version = 2;
}

static void teardown(struct fixture *f) {
  smb2_conn_free(f->c);
  core_leases_free(f->leases);
}

/* The connection goes; the new one reclaims the open, and the server
 * answers the reclaim with status (0: granted, new file id 0x77...). */
static void outage_and_reclaim(struct fixture *f, uint32_t status) {
  smb2_conn_hold(f->c);
  smb2_conn_restore_begin(f->c);
  ck_assert_int_eq(core_open_reclaim(&f->o, f->c, NULL, NULL), 0);
  smb2_conn_restore_end(f->c);
  uint64_t mid;
  ck_assert_uint_eq(send_all(f->c, &mid), SMB2_CREATE); /* only it */
  uint8_t body[89] = {0};
  smbq_put_le16(body, 89); /* MS-SMB2 2.2.14 */
  memset(body + 64, 0x77, 16);
  ck_assert_int_eq(answer(f->c, mid, SMB2_CREATE, status, body, 89), 0);
  memcpy(f->o.prev_file_id, old_id, 16);
  f->o.have_prev = true;
}

/* What core_reconnect.c's fix does with a held request's file id. */
static int fix(void *arg, struct smb2_req *r, uint8_t *body, size_t len) {
  struct core_open *o = arg;
  (void)r;
  size_t off = r->command == SMB2_CLOSE ? 8 : 16; /* CLOSE, WRITE */
  ck_assert_uint_ge(len, off + 16);
  if (memcmp(body + off, o->prev_file_id, 16) != 0)
    return 0;
  if (o->state == CORE_OPEN_LOST)
    return SMBQ_ERR_STALE;
  memcpy(body + off, o->file_id, 16);
  return 0;
}

struct done {
  int calls;
  int rc;
  enum core_open_state state;
};

static void on_done(void *arg, struct core_open *o) {
  struct done *d = arg;
  d->calls++;
  d->rc = o->rc;
  d->state = o->state;
}

/* The CLOSE was in flight at the outage and the server answered the
 * durable reconnect with OBJECT_NAME_NOT_FOUND (it had closed the handle
 * and the reply was lost, or it dropped the handle): the close is
 * complete, not an error (it was reported as "open file lost with the
 * connection", failing smbq cp across an outage). */
START_TEST(close_in_flight_handle_gone) {
  struct fixture f;
  setup(&f);
  struct done d = {0};
  ck_assert_int_eq(core_open_close(&f.o, f.c, 0, on_done, &d), 0);
  ck_assert_uint_eq(send_all(f.c, NULL), SMB2_CLOSE);
  outage_and_reclaim(&f, NT_STATUS_OBJECT_NAME_NOT_FOUND);
  ck_assert_int_eq(f.o.state, CORE_OPEN_LOST);
  ck_assert_int_eq(d.calls, 0);
  smb2_conn_release(f.c, fix, &f.o);
  ck_assert_int_eq(d.calls, 1);
  ck_assert_int_eq(d.rc, 0);
  ck_assert_int_eq(d.state, CORE_OPEN_CLOSED);
  ck_assert(!f.o.have_closed);
  ck_assert_ptr_null(f.t.opens);
  ck_assert_int_eq(send_all(f.c, NULL), 0xFFFF); /* no CLOSE sent again */
  teardown(&f);
}
END_TEST

/* The reclaim worked: the CLOSE goes again with the new file id. */
START_TEST(close_in_flight_handle_reclaimed) {
  struct fixture f;
  setup(&f);
  struct done d = {0};
  ck_assert_int_eq(core_open_close(&f.o, f.c, 0, on_done, &d), 0);
  send_all(f.c, NULL);
  outage_and_reclaim(&f, 0);
  ck_assert_int_eq(f.o.state, CORE_OPEN_CLOSING);
  smb2_conn_release(f.c, fix, &f.o);
  const uint8_t *out;
  long k = smb2_conn_pull(f.c, &out);
  ck_assert_int_ge(k, 4 + 64 + 24);
  ck_assert_uint_eq(smbq_le16_at(out + 4 + 12), SMB2_CLOSE);
  uint8_t want[16];
  memset(want, 0x77, 16);
  ck_assert_mem_eq(out + 4 + 64 + 8, want, 16);
  uint64_t mid = smbq_le64_at(out + 4 + 24);
  smb2_conn_sent(f.c, (size_t)k);
  uint8_t body[60] = {0};
  smbq_put_le16(body, 60); /* MS-SMB2 2.2.16 */
  ck_assert_int_eq(answer(f.c, mid, SMB2_CLOSE, 0, body, 60), 0);
  ck_assert_int_eq(d.calls, 1);
  ck_assert_int_eq(d.rc, 0);
  teardown(&f);
}
END_TEST

struct got {
  int calls, err;
};

static void on_write(void *arg, int err, uint32_t status, const uint8_t *msg,
                     size_t len) {
  (void)status, (void)msg, (void)len;
  struct got *g = arg;
  g->calls++;
  g->err = err;
}

/* A WRITE in flight at the outage, the handle gone: the WRITE fails
 * (its data may not be in the file); that error is what tells the
 * caller. A CLOSE made afterwards has nothing to close and succeeds. */
START_TEST(write_in_flight_handle_gone) {
  struct fixture f;
  setup(&f);
  struct smb2_req *w = smb2_req_new(SMB2_WRITE, smb2_write_req_size(4));
  ck_assert_ptr_nonnull(w);
  static const uint8_t data[4] = {1, 2, 3, 4};
  long bl = smb2_encode_write_req(smb2_req_body(w), smb2_req_body_cap(w),
                                  old_id, 0, data, 4);
  ck_assert_int_gt(bl, 0);
  smb2_req_set_body_len(w, (size_t)bl);
  w->sec = &f.sec;
  w->tree_id = 5;
  struct got g = {0};
  ck_assert_int_eq(smb2_conn_submit_now(f.c, w, on_write, &g), 0);
  send_all(f.c, NULL);
  outage_and_reclaim(&f, NT_STATUS_OBJECT_NAME_NOT_FOUND);
  smb2_conn_release(f.c, fix, &f.o);
  ck_assert_int_eq(g.calls, 1);
  ck_assert_int_eq(g.err, SMBQ_ERR_STALE);
  struct done d = {0};
  ck_assert_int_eq(core_open_close(&f.o, f.c, 0, on_done, &d), 0);
  ck_assert_int_eq(d.calls, 1);
  ck_assert_int_eq(d.rc, 0);
  teardown(&f);
}
END_TEST

int main(void) {
  Suite *s = suite_create("core_open");
  TCase *tc = tcase_create("reclaim");
  tcase_add_test(tc, close_in_flight_handle_gone);
  tcase_add_test(tc, close_in_flight_handle_reclaimed);
  tcase_add_test(tc, write_in_flight_handle_gone);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
