/* Unit tests of the sans-I/O connection core: credits, message ids,
 * multi-credit charges, compounding, interim replies, framing, timeouts,
 * signing and encryption at the wire edge. Driven by synthetic replies and
 * synthetic time; no network. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/smb2_crypto.h"
#include "smb2/smb2_conn.h"
#include "smb2/smb2_pdu.h"
#include "smb2/smb2_req_pool.h"
#include "smb2/smb2_secure.h"
#include "smbq/smbq_err.h"
#include "smbq_bytes.h"

struct done_rec {
  int calls;
  int err;
  uint32_t status;
  uint16_t command;
  size_t len;
};

static void on_done(void *arg, int err, uint32_t status, const uint8_t *msg,
                    size_t len) {
  struct done_rec *d = arg;
  d->calls++;
  d->err = err;
  d->status = status;
  d->len = len;
  if (msg)
    d->command = smbq_le16_at(msg + 12);
}

static int fake_random(void *user, uint8_t *buf, size_t n) {
  (void)user;
  memset(buf, 0x5a, n);
  return 0;
}

static struct smb2_conn *new_conn(void) {
  struct smb2_conn_env env = {.random = fake_random};
  return smb2_conn_new(&env);
}

static struct smb2_req *mkreq(uint16_t cmd, size_t body, struct done_rec *d) {
  struct smb2_req *r = smb2_req_new(cmd, body);
  ck_assert_ptr_nonnull(r);
  memset(smb2_req_body(r), 0xab, body);
  smb2_req_set_body_len(r, body);
  r->done = on_done;
  r->arg = d;
  return r;
}

/* Pull one whole frame; returns its length (0 if none) and copies it. */
static long pull_frame(struct smb2_conn *c, uint8_t *out, size_t cap) {
  const uint8_t *buf;
  long n = smb2_conn_pull(c, &buf);
  ck_assert_int_ge(n, 0);
  if (n == 0)
    return 0;
  ck_assert_int_le(n, (long)cap);
  memcpy(out, buf, (size_t)n);
  smb2_conn_sent(c, (size_t)n);
  return n;
}

/* A reply header for message id mid; body of `body` bytes: zeros after
 * the command's StructureSize (the descriptor table's, which the core
 * enforces), or an error response's (9) for an error status. */
static size_t mkreply(uint8_t *out, uint16_t cmd, uint64_t mid,
                      uint16_t credits, uint32_t status, uint32_t flags,
                      size_t body) {
  struct smb2_hdr h;
  memset(&h, 0, sizeof(h));
  h.command = cmd;
  h.message_id = mid;
  h.credits = credits;
  h.status = status;
  h.flags = SMB2_FLAGS_SERVER_TO_REDIR | flags;
  h.async_id = 77;
  smb2_hdr_encode(out, &h);
  memset(out + SMB2_HDR_SIZE, 0, body);
  const struct smb2_cmd_desc *d = smb2_cmd_desc(cmd);
  if (body >= 2 && d)
    smbq_put_le16(out + SMB2_HDR_SIZE,
                  NT_STATUS_IS_ERROR(status) ? 9 : d->rsp_size);
  return SMB2_HDR_SIZE + body;
}

/* Feed bytes to the core in chunks of `step`. */
static int feed(struct smb2_conn *c, const uint8_t *p, size_t len,
                size_t step) {
  while (len > 0) {
    size_t cap;
    uint8_t *dst = smb2_conn_recv_buf(c, &cap);
    ck_assert_ptr_nonnull(dst);
    size_t n = len < step ? len : step;
    if (n > cap)
      n = cap;
    memcpy(dst, p, n);
    int rc = smb2_conn_received(c, n);
    if (rc < 0)
      return rc;
    p += n;
    len -= n;
  }
  return 0;
}

/* Frame one message with the Direct-TCP header and feed it. */
static int feed_msg(struct smb2_conn *c, const uint8_t *msg, size_t len,
                    size_t step) {
  uint8_t *f = malloc(len + 4);
  smbq_put_be32(f, (uint32_t)len);
  memcpy(f + 4, msg, len);
  int rc = feed(c, f, len + 4, step);
  free(f);
  return rc;
}

/* The descriptor table is enforced when a reply completes: a body of the
 * wrong StructureSize fails its request (SMBQ_ERR_PROTO), a well-formed
 * error response reaches the callback with its status. */
START_TEST(descriptor_table_enforced) {
  struct smb2_conn *c = new_conn();
  struct done_rec d[2] = {0};
  ck_assert_int_eq(smb2_conn_submit(c, mkreq(SMB2_ECHO, 4, &d[0]), 0), 0);
  uint8_t f[512];
  ck_assert_int_gt(pull_frame(c, f, sizeof(f)), 0);
  uint8_t rep[128];
  size_t n = mkreply(rep, SMB2_ECHO, 0, 5, 0, 0, 4);
  smbq_put_le16(rep + SMB2_HDR_SIZE, 5); /* ECHO replies are 4 */
  ck_assert_int_eq(feed_msg(c, rep, n, 1000), 0);
  ck_assert_int_eq(d[0].calls, 1);
  ck_assert_int_eq(d[0].err, SMBQ_ERR_PROTO);
  ck_assert_int_eq(smb2_conn_submit(c, mkreq(SMB2_ECHO, 4, &d[1]), 0), 0);
  ck_assert_int_gt(pull_frame(c, f, sizeof(f)), 0);
  n = mkreply(rep, SMB2_ECHO, 1, 5, 0xC0000022u, 0, 9); /* ACCESS_DENIED */
  ck_assert_int_eq(feed_msg(c, rep, n, 1000), 0);
  ck_assert_int_eq(d[1].err, 0);
  ck_assert_uint_eq(d[1].status, 0xC0000022u);
  smb2_conn_free(c);
}
END_TEST

START_TEST(credits_gate_sending) {
  struct smb2_conn *c = new_conn();
  struct done_rec d[3] = {0};
  for (int i = 0; i < 3; i++)
    ck_assert_int_eq(smb2_conn_submit(c, mkreq(SMB2_ECHO, 4, &d[i]), 0), 0);
  uint8_t f[512];
  ck_assert_int_gt(pull_frame(c, f, sizeof(f)), 0);
  ck_assert_uint_eq(smbq_le64_at(f + 4 + 24), 0); /* first MessageId 0 */
  /* one credit at start: nothing more until the server grants some */
  ck_assert_int_eq(pull_frame(c, f, sizeof(f)), 0);
  uint8_t rep[128];
  size_t n = mkreply(rep, SMB2_ECHO, 0, 5, 0, 0, 4);
  ck_assert_int_eq(feed_msg(c, rep, n, 1000), 0);
  ck_assert_int_eq(d[0].calls, 1);
  ck_assert_int_eq(d[0].err, 0);
  ck_assert_int_gt(pull_frame(c, f, sizeof(f)), 0);
  ck_assert_uint_eq(smbq_le64_at(f + 4 + 24), 1);
  ck_assert_int_gt(pull_frame(c, f, sizeof(f)), 0);
  ck_assert_uint_eq(smbq_le64_at(f + 4 + 24), 2);
  ck_assert_uint_eq(smb2_conn_credits(c), 3);
  smb2_conn_free(c);
  /* freeing fails what is still outstanding, exactly once */
  ck_assert_int_eq(d[1].calls, 1);
  ck_assert_int_eq(d[1].err, SMBQ_ERR_CANCELLED);
}
END_TEST

START_TEST(multi_credit_charge) {
  struct smb2_conn *c = new_conn();
  smb2_conn_set_large_mtu(c, true);
  struct done_rec d0 = {0}, d1 = {0};
  ck_assert_int_eq(smb2_conn_submit(c, mkreq(SMB2_ECHO, 4, &d0), 0), 0);
  uint8_t f[512];
  pull_frame(c, f, sizeof(f));
  uint8_t rep[128];
  size_t n = mkreply(rep, SMB2_ECHO, 0, 10, 0, 0, 4);
  feed_msg(c, rep, n, 4096);
  struct smb2_req *big = mkreq(SMB2_READ, 49, &d1);
  big->payload_size = 1024 * 1024; /* 16 credits (MS-SMB2 3.2.4.1.5) */
  ck_assert_int_eq(smb2_conn_submit(c, big, 0), 0);
  ck_assert_int_eq(pull_frame(c, f, sizeof(f)), 0); /* 10 < 16 */
  /* a later grant unblocks it */
  struct done_rec d2 = {0};
  smb2_conn_free(c);
  ck_assert_int_eq(d1.err, SMBQ_ERR_CANCELLED);
  (void)d2;
}
END_TEST

START_TEST(multi_credit_ids) {
  struct smb2_conn *c = new_conn();
  smb2_conn_set_large_mtu(c, true);
  struct done_rec d0 = {0}, d1 = {0}, d2 = {0};
  smb2_conn_submit(c, mkreq(SMB2_ECHO, 4, &d0), 0);
  uint8_t f[512];
  pull_frame(c, f, sizeof(f));
  uint8_t rep[128];
  feed_msg(c, rep, mkreply(rep, SMB2_ECHO, 0, 40, 0, 0, 4), 4096);
  struct smb2_req *big = mkreq(SMB2_READ, 49, &d1);
  big->payload_size = 65536 * 3 + 1; /* 4 credits */
  smb2_conn_submit(c, big, 0);
  smb2_conn_submit(c, mkreq(SMB2_ECHO, 4, &d2), 0);
  ck_assert_int_gt(pull_frame(c, f, sizeof(f)), 0);
  ck_assert_uint_eq(smbq_le64_at(f + 4 + 24), 1);
  ck_assert_uint_eq(smbq_le16_at(f + 4 + 6), 4); /* CreditCharge */
  ck_assert_int_gt(pull_frame(c, f, sizeof(f)), 0);
  ck_assert_uint_eq(smbq_le64_at(f + 4 + 24), 5); /* 1 + 4 */
  ck_assert_uint_eq(smb2_conn_credits(c), 40 - 5);
  smb2_conn_free(c);
}
END_TEST

START_TEST(compound_request_and_reply) {
  struct smb2_conn *c = new_conn();
  struct done_rec d0 = {0}, d[3] = {0};
  smb2_conn_submit(c, mkreq(SMB2_ECHO, 4, &d0), 0);
  uint8_t f[1024];
  pull_frame(c, f, sizeof(f));
  uint8_t rep[1024];
  feed_msg(c, rep, mkreply(rep, SMB2_ECHO, 0, 10, 0, 0, 4), 4096);
  struct smb2_req *a = mkreq(SMB2_CREATE, 57, &d[0]);
  struct smb2_req *b = mkreq(SMB2_QUERY_INFO, 41, &d[1]);
  struct smb2_req *e = mkreq(SMB2_CLOSE, 24, &d[2]);
  a->chain = b;
  b->chain = e;
  ck_assert_int_eq(smb2_conn_submit(c, a, 0), 0);
  long n = pull_frame(c, f, sizeof(f));
  /* 64+57 -> 128, 64+41 -> 112 (padded), 64+24 */
  ck_assert_int_eq(n, 4 + 128 + 112 + 88);
  const uint8_t *m0 = f + 4, *m1 = m0 + 128, *m2 = m1 + 112;
  ck_assert_uint_eq(smbq_le32_at(m0 + 20), 128);
  ck_assert_uint_eq(smbq_le32_at(m1 + 20), 112);
  ck_assert_uint_eq(smbq_le32_at(m2 + 20), 0);
  ck_assert(!(smbq_le32_at(m0 + 16) & SMB2_FLAGS_RELATED_OPERATIONS));
  ck_assert(smbq_le32_at(m1 + 16) & SMB2_FLAGS_RELATED_OPERATIONS);
  ck_assert(smbq_le32_at(m2 + 16) & SMB2_FLAGS_RELATED_OPERATIONS);
  ck_assert_uint_eq(smbq_le64_at(m2 + 24), 3);
  /* compounded reply: 3 elements, second one an error */
  size_t off = 0;
  size_t l0 = mkreply(rep, SMB2_CREATE, 1, 1, 0, 0, 88);
  smbq_put_le32(rep + 20, 152);
  off = 152;
  size_t l1 = mkreply(rep + off, SMB2_QUERY_INFO, 2, 1,
                      NT_STATUS_ACCESS_DENIED, 0, 9);
  smbq_put_le32(rep + off + 20, 80);
  (void)l0;
  (void)l1;
  off += 80;
  off += mkreply(rep + off, SMB2_CLOSE, 3, 1, 0, 0, 60);
  ck_assert_int_eq(feed_msg(c, rep, off, 7), 0);
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(d[i].calls, 1);
    ck_assert_int_eq(d[i].err, 0);
  }
  ck_assert_uint_eq(d[1].status, NT_STATUS_ACCESS_DENIED);
  ck_assert_uint_eq(d[0].len, 152);
  ck_assert_uint_eq(d[2].command, SMB2_CLOSE);
  smb2_conn_free(c);
}
END_TEST

START_TEST(interim_pending_reply) {
  struct smb2_conn *c = new_conn();
  struct done_rec d = {0};
  smb2_conn_submit(c, mkreq(SMB2_WRITE, 48, &d), 0);
  uint8_t f[512], rep[256];
  pull_frame(c, f, sizeof(f));
  size_t n = mkreply(rep, SMB2_WRITE, 0, 1, NT_STATUS_PENDING,
                     SMB2_FLAGS_ASYNC_COMMAND, 9);
  ck_assert_int_eq(feed_msg(c, rep, n, 4096), 0);
  ck_assert_int_eq(d.calls, 0);
  /* an interim reply starts a new full timeout (60 s by default) */
  ck_assert_int_eq(smb2_conn_tick(c, 59999), 60000);
  ck_assert_int_eq(d.calls, 0);
  n = mkreply(rep, SMB2_WRITE, 0, 1, 0, SMB2_FLAGS_ASYNC_COMMAND, 16);
  ck_assert_int_eq(feed_msg(c, rep, n, 4096), 0);
  ck_assert_int_eq(d.calls, 1);
  ck_assert_int_eq(d.err, 0);
  ck_assert_uint_eq(smb2_conn_credits(c), 2);
  smb2_conn_free(c);
}
END_TEST

START_TEST(request_timeout) {
  struct smb2_conn *c = new_conn();
  smb2_conn_set_timeout(c, 500);
  struct done_rec d = {0};
  smb2_conn_submit(c, mkreq(SMB2_ECHO, 4, &d), 1000);
  uint8_t f[512];
  pull_frame(c, f, sizeof(f));
  ck_assert_int_eq(smb2_conn_tick(c, 1200), 1500);
  ck_assert_int_eq(d.calls, 0);
  smb2_conn_tick(c, 1500);
  ck_assert_int_eq(d.calls, 1);
  ck_assert_int_eq(d.err, SMBQ_ERR_TIMEOUT);
  smb2_conn_free(c);
}
END_TEST

/* A request given up on is cancelled at the server (MS-SMB2 3.2.4.24):
 * a CANCEL with its MessageId, no credit charged or asked for; one the
 * server made async (STATUS_PENDING) by its AsyncId, after a new timeout
 * counted from the interim reply. Late replies are then discarded. */
START_TEST(timeout_sends_cancel) {
  struct smb2_conn *c = new_conn();
  smb2_conn_set_timeout(c, 500);
  struct done_rec d[2] = {0};
  smb2_conn_submit(c, mkreq(SMB2_READ, 48, &d[0]), 1000);
  uint8_t f[512], rep[256];
  ck_assert_int_gt(pull_frame(c, f, sizeof(f)), 0);
  size_t n = mkreply(rep, SMB2_READ, 0, 3, 0, 0, 16); /* grant credits */
  ck_assert_int_eq(feed_msg(c, rep, n, 4096), 0);
  smb2_conn_submit(c, mkreq(SMB2_READ, 48, &d[1]), 1000);
  ck_assert_int_gt(pull_frame(c, f, sizeof(f)), 0);
  ck_assert_uint_eq(smbq_le64_at(f + 4 + 24), 1);
  uint32_t credits = smb2_conn_credits(c);
  smb2_conn_tick(c, 1500);
  ck_assert_int_eq(d[1].calls, 1);
  ck_assert_int_eq(d[1].err, SMBQ_ERR_TIMEOUT);
  long len = pull_frame(c, f, sizeof(f));
  ck_assert_int_eq(len, 4 + 64 + 4);
  ck_assert_uint_eq(smbq_le16_at(f + 4 + 12), SMB2_CANCEL);
  ck_assert_uint_eq(smbq_le64_at(f + 4 + 24), 1);   /* its MessageId */
  ck_assert_uint_eq(smbq_le16_at(f + 4 + 6), 0);    /* CreditCharge */
  ck_assert_uint_eq(smbq_le16_at(f + 4 + 14), 0);   /* CreditRequest */
  ck_assert_uint_eq(smb2_conn_credits(c), credits);  /* none spent */
  ck_assert_int_eq(pull_frame(c, f, sizeof(f)), 0);
  /* the server's late answer to it is discarded */
  n = mkreply(rep, SMB2_READ, 1, 1, 0xC0000120u, 0, 9); /* CANCELLED */
  ck_assert_int_eq(feed_msg(c, rep, n, 4096), 0);
  ck_assert_int_eq(d[1].calls, 1);
  smb2_conn_free(c);

  /* the async form */
  c = new_conn();
  smb2_conn_set_timeout(c, 500);
  struct done_rec e = {0};
  smb2_conn_submit(c, mkreq(SMB2_WRITE, 48, &e), 0);
  pull_frame(c, f, sizeof(f));
  smb2_conn_set_now(c, 400);
  n = mkreply(rep, SMB2_WRITE, 0, 1, NT_STATUS_PENDING,
              SMB2_FLAGS_ASYNC_COMMAND, 9); /* AsyncId 77 */
  ck_assert_int_eq(feed_msg(c, rep, n, 4096), 0);
  ck_assert_int_eq(smb2_conn_tick(c, 800), 900);
  ck_assert_int_eq(e.calls, 0);
  smb2_conn_tick(c, 900);
  ck_assert_int_eq(e.err, SMBQ_ERR_TIMEOUT);
  ck_assert_int_gt(pull_frame(c, f, sizeof(f)), 0);
  ck_assert_uint_eq(smbq_le16_at(f + 4 + 12), SMB2_CANCEL);
  ck_assert(smbq_le32_at(f + 4 + 16) & SMB2_FLAGS_ASYNC_COMMAND);
  ck_assert_uint_eq(smbq_le64_at(f + 4 + 32), 77);  /* its AsyncId */
  smb2_conn_free(c);
}
END_TEST

/* Deadlines are kept in order: each tick fails exactly the requests whose
 * time is up, tells the next deadline, and an interim reply moves its
 * request to a new full timeout behind the others. */
START_TEST(deadlines_in_order) {
  struct smb2_conn *c = new_conn();
  smb2_conn_set_timeout(c, 500);
  struct done_rec first = {0}, d[3] = {0};
  smb2_conn_submit(c, mkreq(SMB2_ECHO, 4, &first), 0);
  uint8_t f[512], rep[256];
  pull_frame(c, f, sizeof(f));
  size_t n = mkreply(rep, SMB2_ECHO, 0, 8, 0, 0, 4); /* grant credits */
  ck_assert_int_eq(feed_msg(c, rep, n, 4096), 0);
  for (int i = 0; i < 3; i++) {
    smb2_conn_submit(c, mkreq(SMB2_READ, 48, &d[i]), 1000 + 10 * i);
    ck_assert_int_gt(pull_frame(c, f, sizeof(f)), 0);
  }
  ck_assert_int_eq(smb2_conn_tick(c, 1100), 1500);
  smb2_conn_set_now(c, 1100);
  n = mkreply(rep, SMB2_READ, 2, 1, NT_STATUS_PENDING,
              SMB2_FLAGS_ASYNC_COMMAND, 9); /* the second goes async */
  ck_assert_int_eq(feed_msg(c, rep, n, 4096), 0);
  ck_assert_int_eq(smb2_conn_tick(c, 1505), 1520);
  ck_assert_int_eq(d[0].err, SMBQ_ERR_TIMEOUT);
  ck_assert_int_eq(d[1].calls + d[2].calls, 0);
  ck_assert_int_eq(smb2_conn_tick(c, 1520), 1600);
  ck_assert_int_eq(d[2].err, SMBQ_ERR_TIMEOUT);
  ck_assert_int_eq(d[1].calls, 0);
  n = mkreply(rep, SMB2_READ, 2, 1, 0, SMB2_FLAGS_ASYNC_COMMAND, 17);
  ck_assert_int_eq(feed_msg(c, rep, n, 4096), 0);
  ck_assert_int_eq(d[1].calls, 1);
  ck_assert_int_eq(d[1].err, 0);
  ck_assert_int_eq(smb2_conn_tick(c, 1700), -1); /* nothing due */
  smb2_conn_free(c);
}
END_TEST

/* Large request buffers come back to their pool and are reused (one
 * size class per rounded size); small requests are not pooled; a reused
 * buffer has its header and first body bytes zeroed again; a full pool
 * frees what comes back; a pooled request goes through the core. */
START_TEST(request_pool) {
  struct smb2_req_pool *p = smb2_req_pool_new(2);
  uint64_t fresh, reused;
  struct smb2_req *small = smb2_req_new_from(p, SMB2_ECHO, 4);
  ck_assert_ptr_null(small->pool);
  smb2_req_free(small);
  struct smb2_req *r[3];
  for (int i = 0; i < 3; i++) {
    r[i] = smb2_req_new_from(p, SMB2_WRITE, 48 + (1u << 20));
    ck_assert_ptr_eq(r[i]->pool, p);
    ck_assert_uint_ge(smb2_req_body_cap(r[i]), 48 + (1u << 20));
    memset(smb2_req_body(r[i]), 0xee, smb2_req_body_cap(r[i]));
  }
  for (int i = 0; i < 3; i++)
    smb2_req_free(r[i]); /* the third is freed: the pool keeps 2 */
  smb2_req_pool_counts(p, &fresh, &reused);
  ck_assert_uint_eq(fresh, 3);
  ck_assert_uint_eq(reused, 0);
  struct smb2_req *a = smb2_req_new_from(p, SMB2_WRITE, 48 + (1u << 20));
  struct smb2_req *b = smb2_req_new_from(p, SMB2_WRITE, 48 + 1000000);
  struct smb2_req *c2 = smb2_req_new_from(p, SMB2_WRITE, 48 + (1u << 20));
  smb2_req_pool_counts(p, &fresh, &reused);
  ck_assert_uint_eq(reused, 2); /* a and b share the rounded size */
  ck_assert_uint_eq(fresh, 4);
  const uint8_t *body = smb2_req_body(a);
  for (size_t i = 0; i < SMB2_POOL_ZEROED; i++)
    ck_assert_uint_eq(body[i], 0);
  /* through the core: submitted, pulled, answered, freed back */
  struct smb2_conn *c = new_conn();
  struct done_rec d = {0};
  memset(smb2_req_body(a), 0xab, 48);
  smb2_req_set_body_len(a, 48);
  a->done = on_done;
  a->arg = &d;
  ck_assert_int_eq(smb2_conn_submit(c, a, 0), 0);
  uint8_t f[512], rep[256];
  ck_assert_int_eq(pull_frame(c, f, sizeof(f)), 4 + 64 + 48);
  size_t n = mkreply(rep, SMB2_WRITE, 0, 1, 0, 0, 16);
  ck_assert_int_eq(feed_msg(c, rep, n, 4096), 0);
  ck_assert_int_eq(d.calls, 1);
  smb2_conn_free(c);
  smb2_req_free(b);
  smb2_req_free(c2);
  smb2_req_pool_free(p);
}
END_TEST

START_TEST(framing_errors) {
  struct smb2_conn *c = new_conn();
  uint8_t bad[8] = {0x01, 0, 0, 4, 0xfe, 'S', 'M', 'B'};
  ck_assert_int_eq(feed(c, bad, sizeof(bad), 8), SMBQ_ERR_PROTO);
  smb2_conn_free(c);
  c = new_conn();
  uint8_t huge[4] = {0x00, 0xff, 0xff, 0xff};
  ck_assert_int_eq(feed(c, huge, sizeof(huge), 4), SMBQ_ERR_PROTO);
  smb2_conn_free(c);
  c = new_conn();
  uint8_t notsmb[12] = {0, 0, 0, 8, 'H', 'T', 'T', 'P', 0, 0, 0, 0};
  ck_assert_int_eq(feed(c, notsmb, sizeof(notsmb), 12), SMBQ_ERR_PROTO);
  smb2_conn_free(c);
}
END_TEST

START_TEST(unsolicited_and_mismatch) {
  struct smb2_conn *c = new_conn();
  struct done_rec d = {0};
  smb2_conn_submit(c, mkreq(SMB2_ECHO, 4, &d), 0);
  uint8_t f[512], rep[256];
  pull_frame(c, f, sizeof(f));
  /* reply for an id never sent: discarded (MS-SMB2 3.2.5.1.2) */
  size_t n = mkreply(rep, SMB2_ECHO, 42, 1, 0, 0, 4);
  ck_assert_int_eq(feed_msg(c, rep, n, 4096), 0);
  ck_assert_int_eq(d.calls, 0);
  /* a reply whose command differs from the request fails that request */
  n = mkreply(rep, SMB2_READ, 0, 1, 0, 0, 16);
  ck_assert_int_eq(feed_msg(c, rep, n, 4096), 0);
  ck_assert_int_eq(d.calls, 1);
  ck_assert_int_eq(d.err, SMBQ_ERR_PROTO);
  /* a request-direction header (no SERVER_TO_REDIR) is malformed */
  struct smb2_hdr h;
  memset(&h, 0, sizeof(h));
  h.command = SMB2_ECHO;
  smb2_hdr_encode(rep, &h);
  ck_assert_int_eq(feed_msg(c, rep, 68, 4096), SMBQ_ERR_PROTO);
  smb2_conn_free(c);
}
END_TEST

static void setup_sec(struct smb2_sec *s, uint16_t alg, uint16_t cipher) {
  memset(s, 0, sizeof(*s));
  s->session_id = 0x1122334455667788ULL;
  s->signing_alg = alg;
  s->cipher = cipher;
  memset(s->keys.signing, 0x11, 16);
  memset(s->keys.encrypt, 0x22, 32);
  memset(s->keys.decrypt, 0x22, 32); /* loop back: same key both ways */
  s->keys.cipher_key_len = smb2_cipher_key_len(cipher);
}

START_TEST(signed_requests_and_replies) {
  static const uint16_t algs[] = {SMB2_SIGNING_HMAC_SHA256,
                                  SMB2_SIGNING_AES_CMAC,
                                  SMB2_SIGNING_AES_GMAC};
  for (size_t i = 0; i < 3; i++) {
    struct smb2_conn *c = new_conn();
    struct smb2_sec s;
    setup_sec(&s, algs[i], 0);
    s.sign = true;
    struct done_rec d[3] = {0};
    for (int k = 0; k < 3; k++) {
      struct smb2_req *r = mkreq(SMB2_ECHO, 4, &d[k]);
      r->sec = &s;
      smb2_conn_submit(c, r, 0);
    }
    uint8_t f[512], rep[256];
    pull_frame(c, f, sizeof(f));
    ck_assert(smbq_le32_at(f + 4 + 16) & SMB2_FLAGS_SIGNED);
    ck_assert_int_eq(smb2_verify(algs[i], s.keys.signing, f + 4, 68), 0);
    /* a correctly signed reply is accepted */
    size_t n = mkreply(rep, SMB2_ECHO, 0, 3, 0, SMB2_FLAGS_SIGNED, 4);
    smbq_put_le64(rep + 40, s.session_id);
    ck_assert_int_eq(smb2_sign(algs[i], s.keys.signing, rep, n), 0);
    ck_assert_int_eq(feed_msg(c, rep, n, 4096), 0);
    ck_assert_int_eq(d[0].err, 0);
    /* unsigned reply on a signing session is rejected */
    pull_frame(c, f, sizeof(f));
    n = mkreply(rep, SMB2_ECHO, 1, 1, 0, 0, 4);
    ck_assert_int_eq(feed_msg(c, rep, n, 4096), 0);
    ck_assert_int_eq(d[1].err, SMBQ_ERR_SIGNATURE);
    /* tampered signed reply is rejected */
    pull_frame(c, f, sizeof(f));
    n = mkreply(rep, SMB2_ECHO, 2, 1, 0, SMB2_FLAGS_SIGNED, 4);
    smb2_sign(algs[i], s.keys.signing, rep, n);
    rep[n - 1] ^= 1;
    ck_assert_int_eq(feed_msg(c, rep, n, 4096), 0);
    ck_assert_int_eq(d[2].err, SMBQ_ERR_SIGNATURE);
    smb2_conn_free(c);
  }
}
END_TEST

START_TEST(encrypted_round_trip) {
  static const uint16_t ciphers[] = {
      SMB2_CIPHER_AES128_CCM, SMB2_CIPHER_AES128_GCM,
      SMB2_CIPHER_AES256_CCM, SMB2_CIPHER_AES256_GCM};
  for (size_t i = 0; i < 4; i++) {
    struct smb2_conn *c = new_conn();
    struct smb2_sec s;
    setup_sec(&s, SMB2_SIGNING_AES_CMAC, ciphers[i]);
    s.sign = true;
    s.encrypt = true;
    struct done_rec d[2] = {0};
    for (int k = 0; k < 2; k++) {
      struct smb2_req *r = mkreq(SMB2_ECHO, 4, &d[k]);
      r->sec = &s;
      smb2_conn_submit(c, r, 0);
    }
    uint8_t f[512], plain[256], rep[512];
    long n = pull_frame(c, f, sizeof(f));
    ck_assert_int_eq(n, 4 + 52 + 68);
    ck_assert_uint_eq(smbq_le32_at(f + 4), SMB2_TRANSFORM_PROTO_ID);
    size_t plen;
    ck_assert_int_eq(smb2_decrypt(ciphers[i], s.keys.encrypt, f + 4,
                                  (size_t)n - 4, plain, &plen), 0);
    ck_assert_uint_eq(plen, 68);
    ck_assert_uint_eq(smbq_le16_at(plain + 12), SMB2_ECHO);
    /* encrypted reply accepted (the "server" uses the same key here) */
    size_t rl = mkreply(plain, SMB2_ECHO, 0, 2, 0, 0, 4);
    smbq_put_le64(plain + 40, s.session_id);
    uint8_t nonce[16] = {9};
    ck_assert_int_eq(smb2_encrypt(ciphers[i], s.keys.decrypt, s.session_id,
                                  nonce, plain, rl, rep), 0);
    ck_assert_int_eq(feed_msg(c, rep, rl + 52, 13), 0);
    ck_assert_int_eq(d[0].calls, 1);
    ck_assert_int_eq(d[0].err, 0);
    /* a plaintext reply on an encrypted session is refused */
    pull_frame(c, f, sizeof(f));
    rl = mkreply(rep, SMB2_ECHO, 1, 1, 0, 0, 4);
    ck_assert_int_eq(feed_msg(c, rep, rl, 4096), 0);
    ck_assert_int_eq(d[1].err, SMBQ_ERR_SIGNATURE);
    smb2_conn_free(c);
  }
}
END_TEST

START_TEST(abort_fails_all) {
  struct smb2_conn *c = new_conn();
  struct done_rec d[2] = {0};
  smb2_conn_submit(c, mkreq(SMB2_ECHO, 4, &d[0]), 0);
  smb2_conn_submit(c, mkreq(SMB2_ECHO, 4, &d[1]), 0);
  uint8_t f[512];
  pull_frame(c, f, sizeof(f));
  smb2_conn_abort(c, SMBQ_ERR_CLOSED);
  ck_assert_int_eq(d[0].err, SMBQ_ERR_CLOSED);
  ck_assert_int_eq(d[1].err, SMBQ_ERR_CLOSED);
  struct done_rec d2 = {0};
  struct smb2_req *r = mkreq(SMB2_ECHO, 4, &d2);
  ck_assert_int_eq(smb2_conn_submit(c, r, 0), SMBQ_ERR_CLOSED);
  smb2_req_free(r);
  smb2_conn_free(c);
  ck_assert_int_eq(d[0].calls, 1);
}
END_TEST


/* A lost transport (smb2_conn_hold): what was in flight goes back to the
 * queue in its order, ahead of what was never sent, and waits with no
 * deadline; only the restoring requests go out, from MessageId 0 with one
 * credit; release gives the rest new ids through the fix callback, the
 * ones sent before marked as such; a chain answered in part fails. */
struct fix_rec {
  int calls;
  int sent_seen;
  uint32_t new_tree;
  int fail_cmd;
};

static int fix_cb(void *arg, struct smb2_req *r, uint8_t *body, size_t len) {
  struct fix_rec *f = arg;
  (void)body, (void)len;
  f->calls++;
  if (r->sent) {
    f->sent_seen++;
    r->hdr_flags |= SMB2_FLAGS_REPLAY_OPERATION;
  }
  r->tree_id = f->new_tree;
  return r->command == f->fail_cmd ? SMBQ_ERR_STALE : 0;
}

START_TEST(hold_and_release) {
  struct smb2_conn *c = new_conn();
  struct done_rec d[5] = {{0}};
  uint8_t f[1024], rep[256];
  /* credits first */
  smb2_conn_submit(c, mkreq(SMB2_ECHO, 4, &d[0]), 0);
  pull_frame(c, f, sizeof(f));
  feed_msg(c, rep, mkreply(rep, SMB2_ECHO, 0, 20, 0, 0, 4), 4096);
  /* in flight: a WRITE (mid 1) and a compound CREATE+CLOSE (2, 3) */
  smb2_conn_submit(c, mkreq(SMB2_WRITE, 48, &d[1]), 0);
  struct smb2_req *a = mkreq(SMB2_CREATE, 57, &d[2]);
  a->chain = mkreq(SMB2_CLOSE, 24, &d[3]);
  smb2_conn_submit(c, a, 0);
  ck_assert_int_gt(pull_frame(c, f, sizeof(f)), 0);
  ck_assert_int_gt(pull_frame(c, f, sizeof(f)), 0);
  /* the CREATE answered, its CLOSE not: that chain cannot go again */
  feed_msg(c, rep, mkreply(rep, SMB2_CREATE, 2, 1, 0, 0, 88), 4096);
  ck_assert_int_eq(d[2].calls, 1);
  /* never sent: a READ */
  smb2_conn_submit(c, mkreq(SMB2_READ, 48, &d[4]), 0);
  smb2_conn_hold(c);
  ck_assert(smb2_conn_held(c));
  ck_assert_int_eq(d[3].calls, 1);
  ck_assert_int_eq(d[3].err, SMBQ_ERR_CLOSED);
  ck_assert_int_eq(d[1].calls, 0);
  /* held: nothing goes, and nothing times out */
  ck_assert_int_eq(pull_frame(c, f, sizeof(f)), 0);
  smb2_conn_tick(c, 10 * 60 * 1000);
  ck_assert_int_eq(d[1].calls + d[4].calls, 0);
  /* a restoring request goes alone, from MessageId 0 */
  struct done_rec neg = {0};
  smb2_conn_restore_begin(c);
  smb2_conn_submit(c, mkreq(SMB2_NEGOTIATE, 36, &neg), 600000);
  smb2_conn_restore_end(c);
  ck_assert_int_gt(pull_frame(c, f, sizeof(f)), 0);
  ck_assert_uint_eq(smbq_le16_at(f + 4 + 12), SMB2_NEGOTIATE);
  ck_assert_uint_eq(smbq_le64_at(f + 4 + 24), 0);
  ck_assert_int_eq(pull_frame(c, f, sizeof(f)), 0);
  feed_msg(c, rep, mkreply(rep, SMB2_NEGOTIATE, 0, 10, 0, 0, 64), 4096);
  ck_assert_int_eq(neg.calls, 1);
  struct fix_rec fx = {.new_tree = 42, .fail_cmd = -1};
  smb2_conn_release(c, fix_cb, &fx);
  ck_assert(!smb2_conn_held(c));
  ck_assert_int_eq(fx.calls, 2);
  ck_assert_int_eq(fx.sent_seen, 1);
  /* the WRITE first (it went before), a replay, new id and tree */
  ck_assert_int_gt(pull_frame(c, f, sizeof(f)), 0);
  ck_assert_uint_eq(smbq_le16_at(f + 4 + 12), SMB2_WRITE);
  ck_assert_uint_eq(smbq_le64_at(f + 4 + 24), 1);
  ck_assert_uint_eq(smbq_le32_at(f + 4 + 36), 42);
  ck_assert(smbq_le32_at(f + 4 + 16) & SMB2_FLAGS_REPLAY_OPERATION);
  ck_assert_int_gt(pull_frame(c, f, sizeof(f)), 0);
  ck_assert_uint_eq(smbq_le16_at(f + 4 + 12), SMB2_READ);
  ck_assert(!(smbq_le32_at(f + 4 + 16) & SMB2_FLAGS_REPLAY_OPERATION));
  feed_msg(c, rep, mkreply(rep, SMB2_WRITE, 1, 1, 0, 0, 16), 4096);
  ck_assert_int_eq(d[1].calls, 1);
  ck_assert_int_eq(d[1].err, 0);
  smb2_conn_free(c);
}
END_TEST

/* Past the reconnect timeout: held requests fail, new ones are refused,
 * restoring ones still go; release serves again. A fix error fails the
 * request with it. */
START_TEST(refuse_while_held) {
  struct smb2_conn *c = new_conn();
  struct done_rec d[3] = {{0}};
  uint8_t f[512], rep[256];
  smb2_conn_submit(c, mkreq(SMB2_READ, 48, &d[0]), 0);
  pull_frame(c, f, sizeof(f));
  smb2_conn_hold(c);
  smb2_conn_refuse(c, SMBQ_ERR_CLOSED);
  ck_assert_int_eq(d[0].calls, 1);
  ck_assert_int_eq(d[0].err, SMBQ_ERR_CLOSED);
  struct smb2_req *r = mkreq(SMB2_READ, 48, &d[1]);
  ck_assert_int_eq(smb2_conn_submit(c, r, 0), SMBQ_ERR_CLOSED);
  smb2_req_free(r);
  struct done_rec neg = {0};
  smb2_conn_restore_begin(c);
  ck_assert_int_eq(smb2_conn_submit(c, mkreq(SMB2_NEGOTIATE, 36, &neg), 0),
                   0);
  smb2_conn_restore_end(c);
  ck_assert_int_gt(pull_frame(c, f, sizeof(f)), 0);
  feed_msg(c, rep, mkreply(rep, SMB2_NEGOTIATE, 0, 10, 0, 0, 64), 4096);
  struct fix_rec fx = {.new_tree = 1, .fail_cmd = SMB2_FLUSH};
  smb2_conn_release(c, fix_cb, &fx);
  ck_assert_int_eq(smb2_conn_submit(c, mkreq(SMB2_READ, 48, &d[1]), 0), 0);
  ck_assert_int_gt(pull_frame(c, f, sizeof(f)), 0);
  /* a request held for a handle that was lost fails with the fix's error */
  smb2_conn_submit(c, mkreq(SMB2_FLUSH, 24, &d[2]), 0);
  smb2_conn_hold(c);
  smb2_conn_release(c, fix_cb, &fx);
  ck_assert_int_eq(d[2].calls, 1);
  ck_assert_int_eq(d[2].err, SMBQ_ERR_STALE);
  smb2_conn_free(c);
}
END_TEST

/* Silence: with a reply due and nothing moving for probe_ms, an ECHO
 * (SessionId 0) goes ahead of the rest; unanswered for probe_ms more, the
 * path is dead. Answered, all is well. A request the server made async
 * (STATUS_PENDING) is no reason to ask. */
START_TEST(silence_probe) {
  struct smb2_conn *c = new_conn();
  smb2_conn_set_probe(c, 4000);
  struct done_rec d = {0};
  uint8_t f[512], rep[256];
  smb2_conn_set_now(c, 1000);
  smb2_conn_submit(c, mkreq(SMB2_READ, 48, &d), 1000);
  pull_frame(c, f, sizeof(f));
  ck_assert_int_eq(smb2_conn_tick(c, 1000), 5000);
  ck_assert_int_eq(pull_frame(c, f, sizeof(f)), 0);
  smb2_conn_tick(c, 5000);
  ck_assert_int_eq(smb2_conn_credits(c), 0);
  /* no credit for it: it waits, and times out in the queue all the same */
  ck_assert(!smb2_conn_path_dead(c));
  smb2_conn_tick(c, 9000);
  ck_assert(smb2_conn_path_dead(c));
  ck_assert_int_eq(d.calls, 0);
  smb2_conn_free(c);

  /* with credits: the ECHO goes out and its answer keeps the path */
  c = new_conn();
  smb2_conn_set_probe(c, 4000);
  struct done_rec e = {0}, g = {0};
  smb2_conn_submit(c, mkreq(SMB2_ECHO, 4, &e), 0);
  pull_frame(c, f, sizeof(f));
  feed_msg(c, rep, mkreply(rep, SMB2_ECHO, 0, 8, 0, 0, 4), 4096);
  smb2_conn_set_now(c, 100);
  smb2_conn_submit(c, mkreq(SMB2_READ, 48, &g), 100);
  pull_frame(c, f, sizeof(f));
  smb2_conn_tick(c, 100);
  smb2_conn_tick(c, 4200);
  ck_assert_int_gt(pull_frame(c, f, sizeof(f)), 0);
  ck_assert_uint_eq(smbq_le16_at(f + 4 + 12), SMB2_ECHO);
  ck_assert_uint_eq(smbq_le64_at(f + 4 + 40), 0); /* SessionId */
  uint64_t mid = smbq_le64_at(f + 4 + 24);
  feed_msg(c, rep, mkreply(rep, SMB2_ECHO, mid, 1, 0, 0, 4), 4096);
  smb2_conn_tick(c, 9000);
  ck_assert(!smb2_conn_path_dead(c));
  smb2_conn_free(c);

  /* an async request alone: no ECHO however long */
  c = new_conn();
  smb2_conn_set_probe(c, 4000);
  struct done_rec h = {0};
  smb2_conn_submit(c, mkreq(SMB2_CHANGE_NOTIFY, 32, &h), 0);
  pull_frame(c, f, sizeof(f));
  feed_msg(c, rep, mkreply(rep, SMB2_CHANGE_NOTIFY, 0, 1, NT_STATUS_PENDING,
                           SMB2_FLAGS_ASYNC_COMMAND, 9), 4096);
  smb2_conn_tick(c, 20000);
  ck_assert_int_eq(pull_frame(c, f, sizeof(f)), 0);
  ck_assert(!smb2_conn_path_dead(c));
  smb2_conn_free(c);
}
END_TEST

/* Replies are due while a request is in flight that the server has not
 * made async: not before it is sent, not after its answer, not once an
 * interim STATUS_PENDING promised a later one, not while held. */
START_TEST(replies_due) {
  struct smb2_conn *c = new_conn();
  struct done_rec d = {0}, n = {0};
  uint8_t f[512], rep[256];
  ck_assert(!smb2_conn_replies_due(c));
  smb2_conn_submit(c, mkreq(SMB2_READ, 48, &d), 0);
  pull_frame(c, f, sizeof(f));
  ck_assert(smb2_conn_replies_due(c));
  feed_msg(c, rep, mkreply(rep, SMB2_READ, 0, 1, 0, 0, 17), 4096);
  ck_assert_int_eq(d.calls, 1);
  ck_assert(!smb2_conn_replies_due(c));
  smb2_conn_submit(c, mkreq(SMB2_CHANGE_NOTIFY, 32, &n), 0);
  pull_frame(c, f, sizeof(f));
  ck_assert(smb2_conn_replies_due(c));
  feed_msg(c, rep, mkreply(rep, SMB2_CHANGE_NOTIFY, 1, 1, NT_STATUS_PENDING,
                           SMB2_FLAGS_ASYNC_COMMAND, 9), 4096);
  ck_assert(!smb2_conn_replies_due(c));
  smb2_conn_submit(c, mkreq(SMB2_READ, 48, &d), 0);
  pull_frame(c, f, sizeof(f));
  ck_assert(smb2_conn_replies_due(c));
  smb2_conn_hold(c);
  ck_assert(!smb2_conn_replies_due(c));
  smb2_conn_free(c);
}
END_TEST

/* MS-SMB2 3.2.5.1.6: a reply "session expired" parks its request while
 * the session is renewed (env.expired says so), whole chains at a time;
 * renewed, they go again with new ids; not renewed, they fail. Without
 * a renewal under way the status reaches the caller. */
struct expire_rec {
  int calls;
  bool renew;
};

static bool on_expired(void *user, const struct smb2_sec *sec) {
  struct expire_rec *e = user;
  (void)sec;
  e->calls++;
  return e->renew;
}

START_TEST(expired_session_parks) {
  struct expire_rec ex = {0, true};
  struct smb2_conn_env env = {.random = fake_random, .expired = on_expired,
                              .user = &ex};
  struct smb2_conn *c = smb2_conn_new(&env);
  struct smb2_sec sec;
  memset(&sec, 0, sizeof(sec));
  sec.session_id = 9;
  struct done_rec d[4] = {{0}};
  uint8_t f[1024], rep[512];
  smb2_conn_submit(c, mkreq(SMB2_ECHO, 4, &d[0]), 0);
  pull_frame(c, f, sizeof(f));
  feed_msg(c, rep, mkreply(rep, SMB2_ECHO, 0, 20, 0, 0, 4), 4096);
  struct smb2_req *r = mkreq(SMB2_READ, 48, &d[1]);
  r->sec = &sec;
  smb2_conn_submit(c, r, 0);
  struct smb2_req *a = mkreq(SMB2_CREATE, 57, &d[2]);
  a->sec = &sec;
  a->chain = mkreq(SMB2_CLOSE, 24, &d[3]);
  a->chain->sec = &sec;
  smb2_conn_submit(c, a, 0);
  pull_frame(c, f, sizeof(f));
  pull_frame(c, f, sizeof(f));
  /* READ (1), CREATE (2) and CLOSE (3) all come back expired */
  feed_msg(c, rep, mkreply(rep, SMB2_READ, 1, 1,
                           NT_STATUS_NETWORK_SESSION_EXPIRED, 0, 9), 4096);
  size_t off = mkreply(rep, SMB2_CREATE, 2, 1,
                       NT_STATUS_NETWORK_SESSION_EXPIRED, 0, 9);
  smbq_put_le32(rep + 20, 80);
  off = 80 + mkreply(rep + 80, SMB2_CLOSE, 3, 1,
                     NT_STATUS_NETWORK_SESSION_EXPIRED, 0, 9);
  feed_msg(c, rep, off, 4096);
  ck_assert_int_eq(ex.calls, 3);
  ck_assert_int_eq(d[1].calls + d[2].calls + d[3].calls, 0);
  ck_assert_int_eq(pull_frame(c, f, sizeof(f)), 0);
  /* renewed: the READ, then the compound whole, with new ids */
  smb2_conn_unpark(c);
  ck_assert_int_gt(pull_frame(c, f, sizeof(f)), 0);
  ck_assert_uint_eq(smbq_le16_at(f + 4 + 12), SMB2_READ);
  ck_assert_uint_eq(smbq_le64_at(f + 4 + 24), 4);
  long n = pull_frame(c, f, sizeof(f));
  ck_assert_int_gt(n, 0);
  ck_assert_uint_eq(smbq_le16_at(f + 4 + 12), SMB2_CREATE);
  ck_assert_uint_ne(smbq_le32_at(f + 4 + 20), 0); /* compounded */
  feed_msg(c, rep, mkreply(rep, SMB2_READ, 4, 1, 0, 0, 16), 4096);
  ck_assert_int_eq(d[1].calls, 1);
  ck_assert_int_eq(d[1].err, 0);
  ck_assert_uint_eq(d[1].status, 0);
  smb2_conn_free(c);

  /* not renewed: parked requests fail; no renewal: the status shows */
  ex = (struct expire_rec){0, true};
  c = smb2_conn_new(&env);
  struct done_rec e[2] = {{0}};
  r = mkreq(SMB2_READ, 48, &e[0]);
  r->sec = &sec;
  smb2_conn_submit(c, r, 0);
  pull_frame(c, f, sizeof(f));
  feed_msg(c, rep, mkreply(rep, SMB2_READ, 0, 2,
                           NT_STATUS_NETWORK_SESSION_EXPIRED, 0, 9), 4096);
  smb2_conn_fail_parked(c, SMBQ_ERR_NOSESSION);
  ck_assert_int_eq(e[0].calls, 1);
  ck_assert_int_eq(e[0].err, SMBQ_ERR_NOSESSION);
  ex.renew = false;
  r = mkreq(SMB2_READ, 48, &e[1]);
  r->sec = &sec;
  smb2_conn_submit(c, r, 0);
  pull_frame(c, f, sizeof(f));
  feed_msg(c, rep, mkreply(rep, SMB2_READ, 1, 1,
                           NT_STATUS_NETWORK_SESSION_EXPIRED, 0, 9), 4096);
  ck_assert_int_eq(e[1].calls, 1);
  ck_assert_uint_eq(e[1].status, NT_STATUS_NETWORK_SESSION_EXPIRED);
  smb2_conn_free(c);
}
END_TEST

/* ---- READ data placed in the request's destination ----------------------- */

#define RD_LEN 70000
#define RD_GUARD 32

/* A READ in flight with a destination of cap bytes (guard bytes after
 * it); the conn has credits from an ECHO first. Returns its MessageId. */
struct rd {
  struct done_rec d;
  size_t placed;
  uint8_t *buf; /* cap + RD_GUARD */
  size_t cap;
};

static uint64_t submit_read(struct smb2_conn *c, struct rd *x, size_t cap,
                            const struct smb2_sec *s) {
  x->cap = cap;
  x->buf = malloc(cap + RD_GUARD);
  memset(x->buf, 0xEE, cap + RD_GUARD);
  struct smb2_req *r = mkreq(SMB2_READ, 49, &x->d);
  r->dst = x->buf;
  r->dst_cap = cap;
  r->placed = &x->placed;
  r->sec = s;
  ck_assert_int_eq(smb2_conn_submit(c, r, 0), 0);
  uint8_t f[512], plain[512];
  long n = pull_frame(c, f, sizeof(f));
  ck_assert_int_gt(n, 0);
  if (!s || !s->encrypt)
    return smbq_le64_at(f + 4 + 24);
  size_t plen;
  ck_assert_int_eq(smb2_decrypt(s->cipher, s->keys.encrypt, f + 4,
                                (size_t)n - 4, plain, &plen), 0);
  return smbq_le64_at(plain + 24);
}

static void guard_intact(const struct rd *x) {
  for (size_t i = 0; i < RD_GUARD; i++)
    ck_assert_uint_eq(x->buf[x->cap + i], 0xEE);
}

static void rd_data(uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    p[i] = (uint8_t)(i * 31 + 7 + (i >> 9));
}

/* A READ response (MS-SMB2 2.2.20) to mid: DataOffset off, dlen bytes of
 * rd_data; returns the message length. */
static size_t mkread_reply(uint8_t *out, uint64_t mid, uint32_t flags,
                           uint8_t off, size_t dlen) {
  mkreply(out, SMB2_READ, mid, 8, 0, flags, 16);
  out[SMB2_HDR_SIZE + 2] = off;
  smbq_put_le32(out + SMB2_HDR_SIZE + 4, (uint32_t)dlen);
  memset(out + SMB2_HDR_SIZE + 16, 0, off - (SMB2_HDR_SIZE + 16));
  rd_data(out + off, dlen);
  return off + dlen;
}

static struct smb2_conn *conn_with_credits(const struct smb2_sec *s) {
  struct smb2_conn *c = new_conn();
  struct done_rec d = {0};
  struct smb2_req *r = mkreq(SMB2_ECHO, 4, &d);
  ck_assert_int_eq(smb2_conn_submit(c, r, 0), 0);
  uint8_t f[512], rep[128];
  pull_frame(c, f, sizeof(f));
  size_t n = mkreply(rep, SMB2_ECHO, 0, 20, 0, 0, 4);
  ck_assert_int_eq(feed_msg(c, rep, n, 4096), 0);
  ck_assert_int_eq(d.err, 0);
  (void)s;
  return c;
}

/* The callback saw a placed reply: the data is in dst, msg was the
 * header and fixed part up to DataOffset. */
static void placed_ok(const struct rd *x, uint8_t off, size_t dlen) {
  ck_assert_int_eq(x->d.calls, 1);
  ck_assert_int_eq(x->d.err, 0);
  ck_assert_uint_eq(x->d.status, 0);
  ck_assert_uint_eq(x->placed, dlen);
  ck_assert_uint_eq(x->d.len, off);
  uint8_t *want = malloc(dlen);
  rd_data(want, dlen);
  ck_assert_mem_eq(x->buf, want, dlen);
  free(want);
  guard_intact(x);
}

/* A conn with credits, a READ of RD_LEN in flight on it (x, its MessageId
 * mid) and room to build a reply in (rep, 512 + RD_LEN bytes). All of it
 * is freed by rd_case_free, the conn first; destinations of other READs
 * on the conn are freed after it. */
struct rd_case {
  struct smb2_conn *c;
  struct rd x;
  uint64_t mid;
  uint8_t *rep;
};

static void rd_case_init(struct rd_case *t, const struct smb2_sec *s) {
  t->rep = malloc(512 + RD_LEN);
  t->c = conn_with_credits(s);
  memset(&t->x, 0, sizeof(t->x));
  t->mid = submit_read(t->c, &t->x, RD_LEN, s);
}

static void rd_case_free(struct rd_case *t) {
  smb2_conn_free(t->c);
  free(t->x.buf);
  free(t->rep);
}

/* Answer the READ mid of y (flags, DataOffset 0x50, RD_LEN bytes) in
 * pieces of step, and check it was placed. */
static void answer_placed(struct rd_case *t, struct rd *y, uint64_t mid,
                          uint32_t flags, size_t step) {
  size_t n = mkread_reply(t->rep, mid, flags, 0x50, RD_LEN);
  ck_assert_int_eq(feed_msg(t->c, t->rep, n, step), 0);
  placed_ok(y, 0x50, RD_LEN);
}

/* rd_case_init without signing, then the reply to its READ (DataOffset
 * 0x50) framed for the transport (the 4-byte length first) is fed up to
 * its first data_part bytes of data. Returns the frame, malloc'd, *len
 * its size, for the rest to be fed. */
static uint8_t *start_placing(struct rd_case *t, size_t data_part,
                              size_t *len) {
  rd_case_init(t, NULL);
  size_t n = mkread_reply(t->rep, t->mid, 0, 0x50, RD_LEN);
  uint8_t *f = malloc(n + 4);
  smbq_put_be32(f, (uint32_t)n);
  memcpy(f + 4, t->rep, n);
  *len = n + 4;
  ck_assert_int_eq(feed(t->c, f, 4 + 0x50 + data_part, 4096), 0);
  return f;
}

/* Plain replies, fed whole, in 1-byte pieces and in between; DataOffset
 * 0x50 (the usual) and odd. recv_buf offers just the headers' room
 * between frames, then the destination itself. */
START_TEST(read_placed_plain) {
  static const size_t steps[] = {1, 7, 84, 1000, 1u << 20};
  static const uint8_t offs[] = {0x50, 0x51, 0x67};
  uint8_t *rep = malloc(256 + RD_LEN);
  for (size_t o = 0; o < sizeof(offs); o++) {
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
      struct smb2_conn *c = conn_with_credits(NULL);
      struct rd x = {0};
      uint64_t mid = submit_read(c, &x, RD_LEN, NULL);
      size_t cap;
      uint8_t *b = smb2_conn_recv_buf(c, &cap);
      ck_assert_ptr_nonnull(b);
      ck_assert_uint_eq(cap, 4 + 64 + 16); /* the headers' room only */
      size_t n = mkread_reply(rep, mid, 0, offs[o], RD_LEN);
      ck_assert_int_eq(feed_msg(c, rep, n, steps[i]), 0);
      placed_ok(&x, offs[o], RD_LEN);
      struct smb2_conn_stats st;
      smb2_conn_get_stats(c, &st);
      /* the core asked for the headers' bytes exactly: nothing copied */
      ck_assert_uint_eq(st.read_placed, RD_LEN);
      ck_assert_uint_eq(st.read_copied, 0);
      ck_assert_uint_eq(st.bytes_in, 4 + 68 + 4 + n);
      ck_assert_uint_eq(smb2_conn_credits(c), 20 - 1 + 8);
      /* nothing in flight with a destination: the ordinary room again */
      b = smb2_conn_recv_buf(c, &cap);
      ck_assert_uint_ge(cap, 4096);
      smb2_conn_free(c);
      ck_assert_int_eq(x.d.calls, 1);
      free(x.buf);
    }
  }
  free(rep);
}
END_TEST

/* Signed replies with each algorithm, verified over header and data in
 * their two buffers; a flipped data bit fails the READ alone. */
START_TEST(read_placed_signed) {
  static const uint16_t algs[] = {SMB2_SIGNING_HMAC_SHA256,
                                  SMB2_SIGNING_AES_CMAC,
                                  SMB2_SIGNING_AES_GMAC};
  static const uint8_t offs[] = {0x50, 0x53};
  for (size_t a = 0; a < 3; a++) {
    for (size_t o = 0; o < sizeof(offs); o++) {
      struct smb2_sec s;
      setup_sec(&s, algs[a], 0);
      s.sign = true;
      struct rd_case t;
      rd_case_init(&t, &s);
      struct rd y = {0}, z = {0};
      size_t n = mkread_reply(t.rep, t.mid, SMB2_FLAGS_SIGNED, offs[o], RD_LEN);
      smbq_put_le64(t.rep + 40, s.session_id);
      ck_assert_int_eq(smb2_sign(algs[a], s.keys.signing, t.rep, n), 0);
      ck_assert_int_eq(feed_msg(t.c, t.rep, n, o ? 1 : 65536), 0);
      placed_ok(&t.x, offs[o], RD_LEN);
      /* tampered data */
      uint64_t mid = submit_read(t.c, &y, RD_LEN, &s);
      n = mkread_reply(t.rep, mid, SMB2_FLAGS_SIGNED, offs[o], RD_LEN);
      smbq_put_le64(t.rep + 40, s.session_id);
      smb2_sign(algs[a], s.keys.signing, t.rep, n);
      t.rep[n - 5] ^= 0x10;
      ck_assert_int_eq(feed_msg(t.c, t.rep, n, 4096), 0);
      ck_assert_int_eq(y.d.calls, 1);
      ck_assert_int_eq(y.d.err, SMBQ_ERR_SIGNATURE);
      ck_assert_uint_eq(y.placed, 0);
      guard_intact(&y);
      /* unsigned on a signing session */
      mid = submit_read(t.c, &z, RD_LEN, &s);
      n = mkread_reply(t.rep, mid, 0, offs[o], RD_LEN);
      ck_assert_int_eq(feed_msg(t.c, t.rep, n, 4096), 0);
      ck_assert_int_eq(z.d.err, SMBQ_ERR_SIGNATURE);
      rd_case_free(&t); /* the conn first: no callback after its buffers */
      free(y.buf);
      free(z.buf);
    }
  }
}
END_TEST

/* Encrypted replies (every cipher): the ciphertext lands in dst and is
 * decrypted there; the room offered between frames covers the transform
 * header too. A tampered one fails the connection, as on the ordinary
 * path, and leaves no unauthenticated plaintext in dst. */
START_TEST(read_placed_encrypted) {
  static const uint16_t ciphers[] = {
      SMB2_CIPHER_AES128_CCM, SMB2_CIPHER_AES128_GCM,
      SMB2_CIPHER_AES256_CCM, SMB2_CIPHER_AES256_GCM};
  static const size_t steps[] = {1, 13, 1u << 20};
  uint8_t *plain = malloc(256 + RD_LEN), *rep = malloc(512 + RD_LEN);
  for (size_t k = 0; k < 4; k++) {
    for (size_t i = 0; i < 3; i++) {
      struct smb2_sec s;
      setup_sec(&s, SMB2_SIGNING_AES_CMAC, ciphers[k]);
      s.sign = s.encrypt = true;
      struct smb2_conn *c = conn_with_credits(&s);
      struct rd x = {0}, y = {0};
      uint64_t mid = submit_read(c, &x, RD_LEN, &s);
      size_t cap;
      smb2_conn_recv_buf(c, &cap);
      ck_assert_uint_eq(cap, 4 + 52 + 64 + 16);
      uint8_t off = i == 1 ? 0x51 : 0x50;
      size_t n = mkread_reply(plain, mid, 0, off, RD_LEN);
      smbq_put_le64(plain + 40, s.session_id);
      uint8_t nonce[16] = {9, (uint8_t)i};
      ck_assert_int_eq(smb2_encrypt(ciphers[k], s.keys.decrypt,
                                    s.session_id, nonce, plain, n, rep),
                       0);
      ck_assert_int_eq(feed_msg(c, rep, n + 52, steps[i]), 0);
      ck_assert_msg(x.d.calls == 1, "cipher %zu step %zu", k, i);
      placed_ok(&x, off, RD_LEN);
      /* tampered ciphertext: the connection's error */
      mid = submit_read(c, &y, RD_LEN, &s);
      n = mkread_reply(plain, mid, 0, off, RD_LEN);
      smbq_put_le64(plain + 40, s.session_id);
      smb2_encrypt(ciphers[k], s.keys.decrypt, s.session_id, nonce, plain,
                   n, rep);
      rep[52 + n - 3] ^= 1;
      ck_assert_int_eq(feed_msg(c, rep, n + 52, steps[i]),
                       SMBQ_ERR_SIGNATURE);
      ck_assert_int_eq(y.d.calls, 0);
      for (size_t b = 0; b < RD_LEN; b++)
        ck_assert_uint_eq(y.buf[b], 0);
      guard_intact(&y);
      smb2_conn_abort(c, SMBQ_ERR_SIGNATURE);
      ck_assert_int_eq(y.d.calls, 1);
      ck_assert_int_eq(y.d.err, SMBQ_ERR_SIGNATURE);
      smb2_conn_free(c);
      free(x.buf);
      free(y.buf);
    }
  }
  free(plain);
  free(rep);
}
END_TEST

/* What cannot be placed takes the ordinary path and reaches the callback
 * whole: DataLength beyond the destination (never written past), an
 * error status, a compound. */
START_TEST(read_not_placed) {
  uint8_t *rep = malloc(512 + RD_LEN);
  struct smb2_conn *c = conn_with_credits(NULL);
  /* larger than the destination */
  struct rd x = {0};
  uint64_t mid = submit_read(c, &x, 1000, NULL);
  size_t n = mkread_reply(rep, mid, 0, 0x50, 1001);
  ck_assert_int_eq(feed_msg(c, rep, n, 7), 0);
  ck_assert_int_eq(x.d.err, 0);
  ck_assert_uint_eq(x.placed, 0);
  ck_assert_uint_eq(x.d.len, n); /* the whole reply: the caller judges */
  ck_assert_uint_eq(x.buf[0], 0xEE);
  guard_intact(&x);
  /* an error reply */
  struct rd y = {0};
  mid = submit_read(c, &y, 1000, NULL);
  n = mkreply(rep, SMB2_READ, mid, 1, 0xC0000011u /* END_OF_FILE */, 0, 9);
  ck_assert_int_eq(feed_msg(c, rep, n, 1), 0);
  ck_assert_int_eq(y.d.err, 0);
  ck_assert_uint_eq(y.d.status, 0xC0000011u);
  ck_assert_uint_eq(y.placed, 0);
  /* a compound: ECHO + READ, answered in one frame */
  struct done_rec de = {0};
  struct rd z = {0};
  struct smb2_req *e = mkreq(SMB2_ECHO, 4, &de);
  struct smb2_req *r = mkreq(SMB2_READ, 49, &z.d);
  z.cap = RD_LEN;
  z.buf = malloc(RD_LEN + RD_GUARD);
  memset(z.buf, 0xEE, RD_LEN + RD_GUARD);
  r->dst = z.buf;
  r->dst_cap = RD_LEN;
  r->placed = &z.placed;
  e->chain = r;
  ck_assert_int_eq(smb2_conn_submit(c, e, 0), 0);
  uint8_t f[1024];
  ck_assert_int_gt(pull_frame(c, f, sizeof(f)), 0);
  uint64_t emid = smbq_le64_at(f + 4 + 24);
  size_t en = mkreply(rep, SMB2_ECHO, emid, 1, 0, 0, 8); /* padded to 72 */
  smbq_put_le32(rep + 20, (uint32_t)en);
  n = en + mkread_reply(rep + en, emid + 1, 0, 0x50, 100);
  ck_assert_int_eq(feed_msg(c, rep, n, 84), 0);
  ck_assert_int_eq(de.err, 0);
  ck_assert_int_eq(z.d.err, 0);
  ck_assert_uint_eq(z.placed, 0);
  ck_assert_uint_eq(z.d.len, 0x50 + 100);
  struct smb2_conn_stats st;
  smb2_conn_get_stats(c, &st);
  ck_assert_uint_eq(st.read_placed, 0);
  ck_assert_uint_eq(st.read_copied, 100); /* the callback copies it */
  smb2_conn_free(c);
  free(x.buf);
  free(y.buf);
  free(z.buf);
  free(rep);
}
END_TEST

/* STATUS_PENDING first (ordinary path), then the final reply, placed. */
START_TEST(read_placed_after_pending) {
  struct rd_case t;
  rd_case_init(&t, NULL);
  size_t n = mkreply(t.rep, SMB2_READ, t.mid, 1, NT_STATUS_PENDING,
                     SMB2_FLAGS_ASYNC_COMMAND, 9);
  ck_assert_int_eq(feed_msg(t.c, t.rep, n, 5), 0);
  ck_assert_int_eq(t.x.d.calls, 0);
  answer_placed(&t, &t.x, t.mid, SMB2_FLAGS_ASYNC_COMMAND, 3000);
  rd_case_free(&t);
}
END_TEST

/* A READ that times out while its data is arriving: the rest of the data
 * is dropped, never written to the (possibly freed) destination; the
 * reply's credits still count and the next frame is read normally. */
START_TEST(read_timeout_while_placing) {
  struct rd_case t;
  size_t flen;
  uint8_t *f = start_placing(&t, 1000, &flen);
  ck_assert_uint_eq(t.x.buf[999], f[4 + 0x50 + 999]); /* being placed */
  uint32_t credits = smb2_conn_credits(t.c);
  smb2_conn_tick(t.c, 10 * 60 * 1000);
  ck_assert_int_eq(t.x.d.calls, 1);
  ck_assert_int_eq(t.x.d.err, SMBQ_ERR_TIMEOUT);
  memset(t.x.buf, 0x77, RD_LEN);
  ck_assert_int_eq(feed(t.c, f + 4 + 0x50 + 1000, flen - 4 - 0x50 - 1000, 4096),
                   0);
  for (size_t i = 0; i < RD_LEN; i++)
    ck_assert_uint_eq(t.x.buf[i], 0x77);
  ck_assert_uint_eq(smb2_conn_credits(t.c), credits + 8);
  /* the CANCEL the timeout queued, then a new READ, placed */
  uint8_t out[512];
  ck_assert_int_gt(pull_frame(t.c, out, sizeof(out)), 0);
  ck_assert_uint_eq(smbq_le16_at(out + 4 + 12), SMB2_CANCEL);
  struct rd y = {0};
  smb2_conn_set_now(t.c, 10 * 60 * 1000);
  uint64_t mid = submit_read(t.c, &y, RD_LEN, NULL);
  answer_placed(&t, &y, mid, 0, 65536);
  rd_case_free(&t);
  free(f);
  free(y.buf);
}
END_TEST

/* The transport is lost while a reply is being placed: nothing more goes
 * to dst; the READ is sent again and its new reply placed. */
START_TEST(read_hold_while_placing) {
  struct rd_case t;
  size_t flen;
  uint8_t *f = start_placing(&t, 500, &flen);
  smb2_conn_hold(t.c);
  size_t cap;
  uint8_t *b = smb2_conn_recv_buf(t.c, &cap);
  ck_assert(b < t.x.buf || b >= t.x.buf + RD_LEN + RD_GUARD);
  smb2_conn_release(t.c, NULL, NULL);
  uint8_t out[512];
  ck_assert_int_gt(pull_frame(t.c, out, sizeof(out)), 0); /* sent again */
  uint64_t mid = smbq_le64_at(out + 4 + 24);
  ck_assert_uint_eq(mid, 0);
  answer_placed(&t, &t.x, mid, 0, 4096);
  free(f);
  rd_case_free(&t);
}
END_TEST

/* ---- WRITE with external data (smb2_req.data): gather I/O ------------- */

enum { WD_LEN = 3000, WD_BODY = 48 };

static uint32_t be32_at(const uint8_t *p) {
  uint32_t v;
  smbq_get_be32(&v, p);
  return v;
}

static void wd_fill(uint8_t *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++)
    p[i] = (uint8_t)(i * 31 + seed);
}

/* A WRITE of n bytes at data: the fixed part in the request, Length n,
 * the data the caller's. */
static struct smb2_req *mkwrite(const uint8_t *data, size_t n,
                                struct done_rec *d) {
  struct smb2_req *r = mkreq(SMB2_WRITE, WD_BODY, d);
  uint8_t *b = smb2_req_body(r);
  smbq_put_le16(b, 49);
  smbq_put_le16(b + 2, 0x70);
  smbq_put_le32(b + 4, (uint32_t)n);
  r->data = data;
  r->data_len = n;
  r->payload_size = (uint32_t)n;
  return r;
}

/* Take a frame through pull_iov/sent, `step` bytes per send, copying
 * what each iovec says into out, until it is done or cap bytes went (a
 * half sent frame). *pieces: the most iovecs seen at once. Returns the
 * frame length (0: nothing to send). */
static size_t pull_gather(struct smb2_conn *c, uint8_t *out, size_t cap,
                          size_t step, int *pieces) {
  size_t got = 0, total = 0;
  *pieces = 0;
  for (;;) {
    struct iovec iov[SMB2_CONN_IOV_MAX];
    int n = SMB2_CONN_IOV_MAX;
    long left = smb2_conn_pull_iov(c, iov, &n);
    ck_assert_int_ge(left, 0);
    if (left == 0)
      return total;
    if (!total)
      total = (size_t)left;
    ck_assert_uint_eq(got + (size_t)left, total); /* the same frame */
    if (n > *pieces)
      *pieces = n;
    size_t k = 0, lim = step < cap - got ? step : cap - got;
    for (int i = 0; i < n && k < lim; i++) {
      size_t m = iov[i].iov_len < lim - k ? iov[i].iov_len : lim - k;
      memcpy(out + got + k, iov[i].iov_base, m);
      k += m;
    }
    smb2_conn_sent(c, k);
    got += k;
    if (got == total || got == cap)
      return total;
  }
}

/* A WRITE reply for mid (MS-SMB2 2.2.22) with Count n, or an error. */
static void answer_write(struct smb2_conn *c, uint64_t mid, uint32_t status,
                         uint32_t n, const struct smb2_sec *s) {
  uint8_t rep[256];
  size_t len = mkreply(rep, SMB2_WRITE, mid, 4, status, 0,
                       NT_STATUS_IS_ERROR(status) ? 9 : 16);
  if (!NT_STATUS_IS_ERROR(status))
    smbq_put_le32(rep + SMB2_HDR_SIZE + 4, n);
  if (s && s->sign) {
    smbq_put_le64(rep + 40, s->session_id);
    smbq_put_le32(rep + 16, smbq_le32_at(rep + 16) | SMB2_FLAGS_SIGNED);
    ck_assert_int_eq(smb2_sign(s->signing_alg, s->keys.signing, rep, len),
                     0);
  }
  ck_assert_int_eq(feed_msg(c, rep, len, 4096), 0);
}

/* Sent in 1-byte pieces: two iovecs (the request's buffer, then the
 * caller's data itself, not a copy of it), the Direct-TCP length covers
 * both, the bytes are header + fixed part + data. */
START_TEST(write_gather_plain) {
  struct smb2_conn *c = conn_with_credits(NULL);
  static uint8_t data[WD_LEN], f[WD_LEN + 256];
  wd_fill(data, WD_LEN, 1);
  struct done_rec d = {0};
  ck_assert_int_eq(smb2_conn_submit(c, mkwrite(data, WD_LEN, &d), 0), 0);
  struct iovec iov[SMB2_CONN_IOV_MAX];
  int n = SMB2_CONN_IOV_MAX;
  long left = smb2_conn_pull_iov(c, iov, &n);
  ck_assert_int_eq(left, 4 + 64 + WD_BODY + WD_LEN);
  ck_assert_int_eq(n, 2);
  ck_assert_ptr_eq(iov[1].iov_base, data);
  ck_assert_uint_eq(iov[1].iov_len, WD_LEN);
  int pieces;
  size_t flen = pull_gather(c, f, sizeof(f), 1, &pieces);
  ck_assert_uint_eq(flen, (size_t)left);
  ck_assert_uint_eq(be32_at(f), flen - 4);
  ck_assert_uint_eq(smbq_le16_at(f + 4 + 12), SMB2_WRITE);
  ck_assert_uint_eq(smbq_le32_at(f + 4 + 64 + 4), WD_LEN);
  ck_assert_mem_eq(f + 4 + 64 + WD_BODY, data, WD_LEN);
  struct smb2_conn_stats st;
  smb2_conn_get_stats(c, &st);
  ck_assert_uint_eq(st.bytes_out, 4 + 68 + flen);
  ck_assert_int_eq(pull_gather(c, f, sizeof(f), 1, &pieces), 0);
  answer_write(c, 1, 0, WD_LEN, NULL);
  ck_assert_int_eq(d.calls, 1);
  ck_assert_int_eq(d.err, 0);
  smb2_conn_free(c);
}
END_TEST

/* The MAC of a request over its joined bytes, computed here with the
 * primitive (MS-SMB2 3.1.4.1: signature field zero; GMAC nonce from
 * MessageId, a request's bits 0), not with the core's signing code. */
static void check_sig_joined(uint16_t alg, const uint8_t key[16],
                             const uint8_t *msg, size_t len) {
  uint8_t *m = malloc(len), tag[16], nonce[12] = {0};
  memcpy(m, msg, len);
  memset(m + 48, 0, 16);
  memcpy(nonce, msg + 24, 8);
  struct smb2_crypto_buf one = {m, len};
  ck_assert_int_eq(smb2_mac(alg, key, nonce, &one, 1, tag), 0);
  ck_assert_mem_eq(tag, msg + 48, 16);
  free(m);
}

START_TEST(write_gather_signed) {
  static const uint16_t algs[] = {SMB2_SIGNING_HMAC_SHA256,
                                  SMB2_SIGNING_AES_CMAC,
                                  SMB2_SIGNING_AES_GMAC};
  for (size_t a = 0; a < 3; a++) {
    struct smb2_conn *c = conn_with_credits(NULL);
    struct smb2_sec s;
    setup_sec(&s, algs[a], 0);
    s.sign = true;
    static uint8_t data[WD_LEN], f[WD_LEN + 256];
    wd_fill(data, WD_LEN, (unsigned)a);
    struct done_rec d = {0};
    struct smb2_req *r = mkwrite(data, WD_LEN, &d);
    r->sec = &s;
    ck_assert_int_eq(smb2_conn_submit(c, r, 0), 0);
    int pieces;
    size_t flen = pull_gather(c, f, sizeof(f), 7, &pieces);
    ck_assert_int_eq(pieces, 2);
    ck_assert(smbq_le32_at(f + 4 + 16) & SMB2_FLAGS_SIGNED);
    check_sig_joined(algs[a], s.keys.signing, f + 4, flen - 4);
    ck_assert_int_eq(smb2_verify(algs[a], s.keys.signing, f + 4, flen - 4),
                     0);
    f[flen - 1] ^= 1; /* the data is covered */
    ck_assert_int_eq(smb2_verify(algs[a], s.keys.signing, f + 4, flen - 4),
                     SMBQ_ERR_SIGNATURE);
    answer_write(c, 1, 0, WD_LEN, &s);
    ck_assert_int_eq(d.err, 0);
    smb2_conn_free(c);
  }
}
END_TEST

/* Encrypted: one piece (gathered for the cipher), whose plaintext is
 * header + fixed part + data; the caller's data is not touched. */
START_TEST(write_gather_encrypted) {
  static const uint16_t ciphers[] = {SMB2_CIPHER_AES128_CCM,
                                     SMB2_CIPHER_AES256_GCM};
  for (size_t k = 0; k < 2; k++) {
    struct smb2_conn *c = conn_with_credits(NULL);
    struct smb2_sec s;
    setup_sec(&s, SMB2_SIGNING_AES_CMAC, ciphers[k]);
    s.sign = s.encrypt = true;
    static uint8_t data[WD_LEN], copy[WD_LEN], f[WD_LEN + 256],
        plain[WD_LEN + 256];
    wd_fill(data, WD_LEN, 9);
    memcpy(copy, data, WD_LEN);
    struct done_rec d = {0};
    struct smb2_req *r = mkwrite(data, WD_LEN, &d);
    r->sec = &s;
    ck_assert_int_eq(smb2_conn_submit(c, r, 0), 0);
    int pieces;
    size_t flen = pull_gather(c, f, sizeof(f), 5, &pieces);
    ck_assert_int_eq(pieces, 1);
    ck_assert_uint_eq(flen, 4 + 52 + 64 + WD_BODY + WD_LEN);
    ck_assert_uint_eq(be32_at(f), flen - 4);
    size_t plen;
    ck_assert_int_eq(smb2_decrypt(ciphers[k], s.keys.encrypt, f + 4,
                                  flen - 4, plain, &plen), 0);
    ck_assert_uint_eq(plen, 64 + WD_BODY + WD_LEN);
    ck_assert_uint_eq(smbq_le16_at(plain + 12), SMB2_WRITE);
    ck_assert_mem_eq(plain + 64 + WD_BODY, data, WD_LEN);
    ck_assert_mem_eq(data, copy, WD_LEN);
    smb2_conn_free(c); /* fails it: SMBQ_ERR_CANCELLED */
    ck_assert_int_eq(d.err, SMBQ_ERR_CANCELLED);
  }
}
END_TEST

/* In a compound (CREATE + WRITE + CLOSE) the data is copied into the
 * frame: each element 8-byte aligned, NextCommand counts the data, each
 * signed over its own bytes, data included. */
START_TEST(write_in_compound) {
  struct smb2_conn *c = conn_with_credits(NULL);
  struct smb2_sec s;
  setup_sec(&s, SMB2_SIGNING_AES_CMAC, 0);
  s.sign = true;
  enum { N = 1001 };
  static uint8_t data[N], f[N + 1024];
  wd_fill(data, N, 3);
  struct done_rec d[3] = {{0}};
  struct smb2_req *a = mkreq(SMB2_CREATE, 57, &d[0]);
  a->chain = mkwrite(data, N, &d[1]);
  a->chain->chain = mkreq(SMB2_CLOSE, 24, &d[2]);
  for (struct smb2_req *e = a; e; e = e->chain)
    e->sec = &s;
  ck_assert_int_eq(smb2_conn_submit(c, a, 0), 0);
  int pieces;
  size_t flen = pull_gather(c, f, sizeof(f), 64, &pieces);
  ck_assert_int_eq(pieces, 1);
  size_t e0 = 64 + 64; /* pad8(64 + 57) */
  size_t e1 = (64 + WD_BODY + N + 7) & ~(size_t)7;
  ck_assert_uint_eq(flen, 4 + e0 + e1 + 64 + 24);
  const uint8_t *w = f + 4 + e0;
  ck_assert_uint_eq(smbq_le32_at(f + 4 + 20), e0);
  ck_assert_uint_eq(smbq_le32_at(w + 20), e1);
  ck_assert_uint_eq(smbq_le16_at(w + 12), SMB2_WRITE);
  ck_assert_mem_eq(w + 64 + WD_BODY, data, N);
  for (size_t i = 64 + WD_BODY + N; i < e1; i++)
    ck_assert_uint_eq(w[i], 0);
  ck_assert_int_eq(smb2_verify(s.signing_alg, s.keys.signing, f + 4, e0), 0);
  ck_assert_int_eq(smb2_verify(s.signing_alg, s.keys.signing, w, e1), 0);
  ck_assert_int_eq(
      smb2_verify(s.signing_alg, s.keys.signing, w + e1, 64 + 24), 0);
  smb2_conn_free(c);
}
END_TEST

/* The caller reuses its buffer as soon as the callback has run. */
static uint8_t *poison_buf;
static void on_done_poison(void *arg, int err, uint32_t status,
                           const uint8_t *msg, size_t len) {
  on_done(arg, err, status, msg, len);
  memset(poison_buf, 0xEE, WD_LEN);
}

/* Completed (error reply, timeout, lost connection) while its frame is
 * half sent: the rest still goes out, intact, from the core's copy. */
static void half_sent_case(size_t sent_before, int how) {
  struct smb2_conn *c = conn_with_credits(NULL);
  uint8_t *data = malloc(WD_LEN), *want = malloc(WD_LEN + 256),
          *f = malloc(WD_LEN + 256);
  wd_fill(data, WD_LEN, 5);
  poison_buf = data;
  struct done_rec d = {0};
  struct smb2_req *r = mkwrite(data, WD_LEN, &d);
  r->done = on_done_poison;
  ck_assert_int_eq(smb2_conn_submit(c, r, 0), 0);
  /* what the frame must be: header, fixed part, original data */
  struct iovec iov[SMB2_CONN_IOV_MAX];
  int n = SMB2_CONN_IOV_MAX;
  long total = smb2_conn_pull_iov(c, iov, &n);
  ck_assert_int_eq(n, 2);
  memcpy(want, iov[0].iov_base, iov[0].iov_len);
  memcpy(want + iov[0].iov_len, data, WD_LEN);
  int pieces;
  size_t got = pull_gather(c, f, sent_before, sent_before, &pieces);
  ck_assert_uint_eq(got, (size_t)total); /* the whole frame's length */
  if (how == 0)
    answer_write(c, 1, NT_STATUS_ACCESS_DENIED, 0, NULL);
  else if (how == 1)
    smb2_conn_tick(c, 10 * 60 * 1000);
  else
    smb2_conn_abort(c, SMBQ_ERR_CLOSED);
  ck_assert_int_eq(d.calls, 1);
  ck_assert_int_eq(d.err, how == 0 ? 0 : how == 1 ? SMBQ_ERR_TIMEOUT
                                                  : SMBQ_ERR_CLOSED);
  ck_assert_uint_eq(data[0], 0xEE);
  /* the rest of the frame, then (a timeout) its CANCEL */
  n = SMB2_CONN_IOV_MAX;
  long left = smb2_conn_pull_iov(c, iov, &n);
  ck_assert_int_eq(left, total - (long)sent_before);
  for (int i = 0; i < n; i++)
    ck_assert(!((uint8_t *)iov[i].iov_base >= data &&
                (uint8_t *)iov[i].iov_base < data + WD_LEN));
  size_t off = sent_before;
  while (off < (size_t)total) {
    n = SMB2_CONN_IOV_MAX;
    smb2_conn_pull_iov(c, iov, &n);
    ck_assert_int_ge(n, 1);
    memcpy(f + off, iov[0].iov_base, 1);
    smb2_conn_sent(c, 1);
    off++;
  }
  ck_assert_mem_eq(f, want, (size_t)total);
  if (how == 1) { /* then the CANCEL */
    ck_assert_uint_gt(pull_gather(c, f, WD_LEN, 4096, &pieces), 0);
    ck_assert_uint_eq(smbq_le16_at(f + 4 + 12), SMB2_CANCEL);
  }
  smb2_conn_free(c);
  free(data);
  free(want);
  free(f);
}

START_TEST(write_completes_half_sent) {
  /* in the header, at the data's start, inside the data */
  static const size_t at[] = {10, 4 + 64 + WD_BODY, 4 + 64 + WD_BODY + 999};
  for (int how = 0; how < 3; how++)
    for (size_t i = 0; i < 3; i++)
      half_sent_case(at[i], how);
}
END_TEST

/* A lost connection while the WRITE is half sent: after release it goes
 * again, whole, from the caller's data (still valid: not completed), as
 * a replay; smb2_conn_pull joins the pieces for its callers. */
START_TEST(write_hold_and_release) {
  struct smb2_conn *c = conn_with_credits(NULL);
  static uint8_t data[WD_LEN], f[WD_LEN + 256];
  wd_fill(data, WD_LEN, 7);
  struct done_rec d = {0};
  ck_assert_int_eq(smb2_conn_submit(c, mkwrite(data, WD_LEN, &d), 0), 0);
  int pieces;
  pull_gather(c, f, 4 + 64 + WD_BODY + 100, 4 + 64 + WD_BODY + 100, &pieces);
  smb2_conn_hold(c);
  ck_assert_int_eq(d.calls, 0);
  struct iovec iov[SMB2_CONN_IOV_MAX];
  int n = SMB2_CONN_IOV_MAX;
  ck_assert_int_eq(smb2_conn_pull_iov(c, iov, &n), 0); /* held */
  struct fix_rec fx = {.new_tree = 42, .fail_cmd = -1};
  smb2_conn_release(c, fix_cb, &fx);
  ck_assert_int_eq(fx.sent_seen, 1);
  long flen = pull_frame(c, f, sizeof(f));
  ck_assert_int_eq(flen, 4 + 64 + WD_BODY + WD_LEN);
  ck_assert_uint_eq(be32_at(f), (uint32_t)flen - 4);
  ck_assert(smbq_le32_at(f + 4 + 16) & SMB2_FLAGS_REPLAY_OPERATION);
  ck_assert_uint_eq(smbq_le32_at(f + 4 + 36), 42);
  ck_assert_mem_eq(f + 4 + 64 + WD_BODY, data, WD_LEN);
  answer_write(c, 0, 0, WD_LEN, NULL);
  ck_assert_int_eq(d.calls, 1);
  ck_assert_int_eq(d.err, 0);
  smb2_conn_free(c);
}
END_TEST

/* External data is refused with a preauth chain or without a pointer. */
START_TEST(write_data_refused) {
  struct smb2_conn *c = new_conn();
  struct done_rec d = {0};
  uint8_t data[8] = {0}, hash[64];
  struct smb2_req *r = mkwrite(data, sizeof(data), &d);
  r->preauth = hash;
  ck_assert_int_eq(smb2_conn_submit(c, r, 0), SMBQ_ERR_INVAL);
  r->preauth = NULL;
  r->data = NULL;
  ck_assert_int_eq(smb2_conn_submit(c, r, 0), SMBQ_ERR_INVAL);
  smb2_req_free(r);
  smb2_conn_free(c);
}
END_TEST

static Suite *conn_suite(void) {
  Suite *s = suite_create("smb2_conn");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, descriptor_table_enforced);
  tcase_add_test(tc, timeout_sends_cancel);
  tcase_add_test(tc, credits_gate_sending);
  tcase_add_test(tc, multi_credit_charge);
  tcase_add_test(tc, multi_credit_ids);
  tcase_add_test(tc, compound_request_and_reply);
  tcase_add_test(tc, interim_pending_reply);
  tcase_add_test(tc, request_timeout);
  tcase_add_test(tc, deadlines_in_order);
  tcase_add_test(tc, request_pool);
  tcase_add_test(tc, framing_errors);
  tcase_add_test(tc, unsolicited_and_mismatch);
  tcase_add_test(tc, signed_requests_and_replies);
  tcase_add_test(tc, encrypted_round_trip);
  tcase_add_test(tc, abort_fails_all);
  tcase_add_test(tc, hold_and_release);
  tcase_add_test(tc, refuse_while_held);
  tcase_add_test(tc, silence_probe);
  tcase_add_test(tc, replies_due);
  tcase_add_test(tc, expired_session_parks);
  tcase_add_test(tc, read_placed_plain);
  tcase_add_test(tc, read_placed_signed);
  tcase_add_test(tc, read_placed_encrypted);
  tcase_add_test(tc, read_not_placed);
  tcase_add_test(tc, read_placed_after_pending);
  tcase_add_test(tc, read_timeout_while_placing);
  tcase_add_test(tc, read_hold_while_placing);
  tcase_add_test(tc, write_gather_plain);
  tcase_add_test(tc, write_gather_signed);
  tcase_add_test(tc, write_gather_encrypted);
  tcase_add_test(tc, write_in_compound);
  tcase_add_test(tc, write_completes_half_sent);
  tcase_add_test(tc, write_hold_and_release);
  tcase_add_test(tc, write_data_refused);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(conn_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
