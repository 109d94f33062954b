/* Fuzzing findings, replayed (tests/fuzz/README.md): each input a server
 * could send that once made a decoder misbehave, given to the same
 * decoder at the lowest layer that shows it. Undefined behaviour is what
 * most of them were, so they fail under UBSan (the ASan+UBSan build of
 * tests/run, UBSAN_OPTIONS=halt_on_error=1) rather than in a plain build. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "api/api.h"
#include "rpc/dcerpc.h"
#include "rpc/srvsvc.h"
#include "smb2/smb2_conn.h"
#include "smb2/smb2_pdu.h"
#include "smbq/smbq_err.h"
#include "smbq_bytes.h"
#include "conn_feed.h"
#include "testutil.h"

/* ---- issue 12: a memcpy from or to NULL with length 0 ------------------- */

/* A first-and-last RESPONSE fragment without stub data: rsp_append()
 * copied 0 bytes into a stub not yet allocated (NULL + 0, then memcpy to
 * NULL). lib/rpc/dcerpc.c. */
static const char empty_response[] =
    "05 00 02 03 10 00 00 00 18 00 00 00 02 00 00 00"
    "00 00 00 00 00 00 00 00";

START_TEST(dcerpc_response_without_stub) {
  size_t len;
  uint8_t *pdu = unhex(empty_response, &len);
  struct dcerpc_rsp rsp;
  dcerpc_rsp_init(&rsp, 2, 1u << 20);
  ck_assert_int_eq(dcerpc_rsp_add(&rsp, pdu, len), 1);
  ck_assert(rsp.done);
  ck_assert_uint_eq(rsp.stub_len, 0);
  /* an empty stub is no NetrShareEnum reply */
  struct srvsvc_share_enum_rsp se;
  ck_assert_int_eq(srvsvc_decode_share_enum_rsp(rsp.stub, rsp.stub_len, &se),
                   SMBQ_ERR_PROTO);
  srvsvc_share_enum_rsp_free(&se);
  dcerpc_rsp_free(&rsp);
  free(pdu);
}
END_TEST

/* The same PDU as lib/api/shares.c gets it: out of the pipe's byte stream
 * through the fragment reader, after the BIND_ACK. */
START_TEST(dcerpc_response_without_stub_streamed) {
  size_t len;
  uint8_t *pdu = unhex(empty_response, &len);
  struct dcerpc_reader rd;
  dcerpc_reader_init(&rd);
  const uint8_t *frag;
  size_t flen;
  ck_assert_int_eq(dcerpc_reader_feed(&rd, pdu, len, &frag, &flen),
                   (long)len);
  ck_assert_ptr_nonnull(frag);
  struct dcerpc_rsp rsp;
  dcerpc_rsp_init(&rsp, 2, 1u << 20);
  ck_assert_int_eq(dcerpc_rsp_add(&rsp, frag, flen), 1);
  ck_assert_uint_eq(rsp.stub_len, 0);
  dcerpc_rsp_free(&rsp);
  dcerpc_reader_free(&rd);
  free(pdu);
}
END_TEST

/* READ and QUERY_DIRECTORY successes without data (lib/api/file.c
 * read_done and lib/api/dir.c parse_query copied the reply's buffer
 * unconditionally: memcpy from NULL). First the decoders' part, through
 * the connection core: they hand back NULL for an empty buffer
 * (smb2_rsp_buffer), so their callers must not copy from it. */
struct got {
  int calls;
  int err;
  uint32_t status;
  int rc;
  const uint8_t *buf;
  size_t len;
  uint16_t cmd;
};

static void on_reply(void *arg, int err, uint32_t status, const uint8_t *msg,
                     size_t len) {
  struct got *g = arg;
  g->calls++;
  g->err = err;
  g->status = status;
  if (err < 0)
    return;
  if (g->cmd == SMB2_READ) {
    struct smb2_read_rsp r;
    g->rc = smb2_decode_read_rsp(msg, len, &r);
    g->buf = r.data;
    g->len = r.data_len;
  } else {
    g->rc = smb2_decode_query_dir_rsp(msg, len, &g->buf, &g->len);
    /* walking no entries is the end of the listing */
    struct smb2_dir_iter it;
    struct smb2_dir_entry e;
    smb2_dir_iter_init(&it, g->buf, g->len);
    ck_assert_int_eq(smb2_dir_next(&it, &e), 0);
  }
}

static int no_random(void *user, uint8_t *buf, size_t n) {
  (void)user;
  memset(buf, 0, n);
  return 0;
}

/* Send one request of cmd through a fresh core and answer it with
 * reply_hex (header + body, MessageId 0). */
static void replay(uint16_t cmd, const char *reply_hex, struct got *g) {
  struct smb2_conn_env env = {.random = no_random};
  struct smb2_conn *c = smb2_conn_new(&env);
  ck_assert_ptr_nonnull(c);
  struct smb2_req *r = smb2_req_new(cmd, 64);
  ck_assert_ptr_nonnull(r);
  smb2_req_set_body_len(r, 49);
  r->done = on_reply;
  r->arg = g;
  g->cmd = cmd;
  ck_assert_int_eq(smb2_conn_submit(c, r, 0), 0);
  const uint8_t *out;
  long n = smb2_conn_pull(c, &out);
  ck_assert_int_gt(n, 0);
  smb2_conn_sent(c, (size_t)n);
  size_t mlen;
  uint8_t *msg = unhex(reply_hex, &mlen);
  ck_assert_int_eq(feed_message(c, msg, mlen), 0);
  free(msg);
  smb2_conn_free(c);
}

/* SMB2 header of a reply to MessageId 0: command, status 0, 1 credit,
 * SERVER_TO_REDIR. */
#define REPLY_HDR(cmd)                                                      \
  "FE534D42 4000 0000 00000000" cmd "0100 01000000 00000000"              \
  "0000000000000000 FFFE0000 00000000 0000000000000000"                   \
  "00000000000000000000000000000000"

START_TEST(read_success_without_data) {
  struct got g = {0};
  /* 2.2.20: StructureSize 17, DataOffset 0x50, DataLength 0 */
  replay(SMB2_READ, REPLY_HDR("0800") "1100 50 00 00000000 00000000 00000000",
         &g);
  ck_assert_int_eq(g.calls, 1);
  ck_assert_int_eq(g.err, 0);
  ck_assert_int_eq(g.rc, 0);
  ck_assert_uint_eq(g.len, 0);
  ck_assert_ptr_null(g.buf); /* so callers must not memcpy from it */
}
END_TEST

START_TEST(query_directory_success_without_entries) {
  struct got g = {0};
  /* 2.2.34: StructureSize 9, OutputBufferOffset 0x48, Length 0 */
  replay(SMB2_QUERY_DIRECTORY, REPLY_HDR("0E00") "0900 4800 00000000 00",
         &g);
  ck_assert_int_eq(g.calls, 1);
  ck_assert_int_eq(g.err, 0);
  ck_assert_int_eq(g.rc, 0);
  ck_assert_uint_eq(g.len, 0);
  ck_assert_ptr_null(g.buf);
}
END_TEST

/* Then the same two replies through lib/api itself (smbq_pread,
 * smbq_opendir/smbq_readdir), where the copies were (without the guards
 * these fail under UBSan: "null pointer passed as argument 2"): a
 * connection whose I/O thread talks to an in-memory transport that
 * answers every request at once (no socket, no server). Negotiation and
 * session are skipped: the connection is set up as smbq_conn_connect()
 * leaves it, unsigned. (tests/fuzz/fuzz_api.c fuzzes lib/api this way.) */

struct mem_tp {
  struct smbq_transport tp; /* first */
  int fd;                   /* an eventfd for the I/O thread's epoll set;
                               never signalled: replies are announced by
                               SMBQ_TP_HAVE_DATA */
  uint8_t out[8192];        /* reply frames not yet received */
  size_t out_len, out_off;
};

static int mem_step(struct smbq_transport *t, int64_t now_ms) {
  (void)t, (void)now_ms;
  return 1;
}

/* The body this fake server answers each command with. */
static size_t mem_body(uint16_t cmd, uint8_t *b) {
  switch (cmd) {
  case SMB2_CREATE: /* 2.2.14: StructureSize 89, no contexts */
    memset(b, 0, 88);
    smbq_put_le16(b, 89);
    smbq_put_le32(b + 4, 1); /* FILE_OPENED */
    memset(b + 64, 0x42, 16); /* FileId */
    return 88;
  case SMB2_READ: /* 2.2.20: success, DataOffset 0x50, DataLength 0 */
    memset(b, 0, 16);
    smbq_put_le16(b, 17);
    b[2] = 0x50;
    return 16;
  case SMB2_QUERY_DIRECTORY: /* 2.2.34: success, OutputBufferLength 0 */
    memset(b, 0, 8);
    smbq_put_le16(b, 9);
    smbq_put_le16(b + 2, 0x48);
    return 8;
  case SMB2_CLOSE: /* 2.2.16 */
    memset(b, 0, 60);
    smbq_put_le16(b, 60);
    return 60;
  default: /* an empty 4-byte body (ECHO, TREE_DISCONNECT, ...) */
    memset(b, 0, 4);
    smbq_put_le16(b, 4);
    return 4;
  }
}

/* Every request of the frame gets its reply, each in its own frame. */
static long mem_send(struct smbq_transport *t, const uint8_t *buf,
                     size_t len) {
  struct mem_tp *m = (struct mem_tp *)t;
  ck_assert_uint_ge(len, 4 + 64);
  const uint8_t *p = buf + 4;
  size_t left = len - 4;
  for (;;) {
    struct smb2_hdr h;
    ck_assert_int_eq(smb2_hdr_decode(p, left, &h), 0);
    if (h.command != SMB2_CANCEL) {
      uint8_t *f = m->out + m->out_len;
      ck_assert_uint_le(m->out_len + 4 + 64 + 96, sizeof(m->out));
      struct smb2_hdr rh = {.command = h.command, .credits = 32,
                            .flags = SMB2_FLAGS_SERVER_TO_REDIR,
                            .message_id = h.message_id,
                            .tree_id = h.tree_id,
                            .session_id = h.session_id};
      smb2_hdr_encode(f + 4, &rh);
      size_t blen = mem_body(h.command, f + 4 + 64);
      smbq_put_be32(f, (uint32_t)(64 + blen));
      m->out_len += 4 + 64 + blen;
    }
    if (!h.next_command)
      break;
    ck_assert_uint_le(h.next_command, left);
    p += h.next_command;
    left -= h.next_command;
  }
  return (long)len;
}

static long mem_recv(struct smbq_transport *t, uint8_t *buf, size_t len) {
  struct mem_tp *m = (struct mem_tp *)t;
  size_t n = m->out_len - m->out_off;
  if (n > len)
    n = len;
  memcpy(buf, m->out + m->out_off, n);
  m->out_off += n;
  if (m->out_off == m->out_len)
    m->out_off = m->out_len = 0;
  return (long)n;
}

static int mem_fd(const struct smbq_transport *t) {
  return ((const struct mem_tp *)t)->fd;
}

static uint32_t mem_events(const struct smbq_transport *t) {
  const struct mem_tp *m = (const struct mem_tp *)t;
  return SMBQ_TP_WANT_READ |
         (m->out_len > m->out_off ? SMBQ_TP_HAVE_DATA : 0);
}

static int64_t mem_deadline(const struct smbq_transport *t) {
  (void)t;
  return -1;
}

static void mem_destroy(struct smbq_transport *t) {
  struct mem_tp *m = (struct mem_tp *)t;
  close(m->fd);
  free(m);
}

static const struct smbq_transport_ops mem_ops = {
    .name = "mem", .step = mem_step, .send = mem_send, .recv = mem_recv,
    .fd = mem_fd, .events = mem_events, .deadline = mem_deadline,
    .destroy = mem_destroy,
};

/* A connection and a tree over the in-memory transport. */
static smbq_tree *mem_tree(smbq_conn **out) {
  smbq_opts *o = smbq_opts_new();
  ck_assert_ptr_nonnull(o);
  smbq_opts_set_leases(o, 0);
  smbq_conn *c = smbq_conn_new(o);
  smbq_opts_free(o);
  ck_assert_ptr_nonnull(c);
  snprintf(c->server, sizeof(c->server), "mem");
  c->neg.state = CORE_NEG_DONE;
  c->neg.dialect = SMB2_DIALECT_311;
  c->neg.max_read = c->neg.max_write = c->neg.max_transact = 65536;
  struct mem_tp *m = calloc(1, sizeof(*m));
  ck_assert_ptr_nonnull(m);
  m->tp.ops = &mem_ops;
  m->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  ck_assert_int_ge(m->fd, 0);
  struct smb2_conn_env env = {.random = no_random};
  struct smb2_conn *core = smb2_conn_new(&env);
  ck_assert_ptr_nonnull(core);
  /* credits, as NEGOTIATE would have granted them (a listing is a
   * compound of four) */
  struct smb2_req *e = smb2_req_new(SMB2_ECHO, 4);
  ck_assert_ptr_nonnull(e);
  smb2_req_set_body_len(e, (size_t)smb2_encode_echo_req(smb2_req_body(e), 4));
  ck_assert_int_eq(smb2_conn_submit(core, e, 0), 0);
  const uint8_t *frame;
  long n = smb2_conn_pull(core, &frame);
  ck_assert_int_gt(n, 0);
  ck_assert_int_eq(mem_send(&m->tp, frame, (size_t)n), n);
  smb2_conn_sent(core, (size_t)n);
  size_t cap;
  uint8_t *in = smb2_conn_recv_buf(core, &cap);
  ck_assert_ptr_nonnull(in);
  long got = mem_recv(&m->tp, in, cap);
  ck_assert_int_eq(smb2_conn_received(core, (size_t)got), 0);
  c->io = smbq_io_start(core, &m->tp);
  ck_assert_ptr_nonnull(c->io);
  smbq_tree *t = calloc(1, sizeof(*t));
  ck_assert_ptr_nonnull(t);
  t->conn = c;
  t->core.state = CORE_TREE_CONNECTED;
  t->core.tree_id = 1;
  snprintf(t->core.share, sizeof(t->core.share), "share");
  c->trees = t; /* smbq_conn_free drops it */
  *out = c;
  return t;
}

START_TEST(api_read_success_without_data) {
  smbq_conn *c;
  smbq_tree *t = mem_tree(&c);
  smbq_file *f;
  ck_assert_int_eq(smbq_open(t, "f.txt", SMBQ_O_RDONLY, &f), 0);
  uint8_t buf[4096];
  memset(buf, 0x5a, sizeof(buf));
  /* nothing read: the end of the file */
  ck_assert_int_eq(smbq_pread(f, buf, sizeof(buf), 0), 0);
  ck_assert_int_eq(smbq_close(f), 0);
  smbq_conn_free(c);
}
END_TEST

START_TEST(api_listing_success_without_entries) {
  smbq_conn *c;
  smbq_tree *t = mem_tree(&c);
  smbq_dir *d;
  ck_assert_int_eq(smbq_opendir(t, "dir", &d), 0);
  struct smbq_dirent e;
  ck_assert_int_eq(smbq_readdir(d, &e), 0); /* no entries: the end */
  smbq_closedir(d);
  smbq_conn_free(c);
}
END_TEST

/* ---- fuzz_core_stream: a parked element freed under its chain ----------
 *
 * A compound whose first element the server answers "session expired"
 * (MS-SMB2 3.2.5.1.6: parked until the session is renewed) and whose
 * second it answers otherwise: the parked element can no longer go again
 * and failed, but stayed linked into what was left of its chain, so the
 * third element's reply walked into freed memory (lib/smb2/smb2_conn.c,
 * sweep_parked; the same when the renewal failed, smb2_conn_fail_parked).
 * AddressSanitizer: heap-use-after-free in detach(). */

static bool renewing(void *user, const struct smb2_sec *sec) {
  (void)sec;
  int *asked = user;
  ++*asked;
  return true; /* the session is being renewed: park the request */
}

static void on_elem(void *arg, int err, uint32_t status, const uint8_t *msg,
                    size_t len) {
  (void)status, (void)msg, (void)len;
  struct got *g = arg;
  g->calls++;
  g->err = err;
}

static int answer(struct smb2_conn *c, uint64_t mid, uint32_t status);

/* A chain of n ECHOs of one session, sent in one frame after a first
 * ECHO that got the credits; their message ids are 1..n. */
static struct smb2_conn *chain_sent(size_t n, struct got *g,
                                    const struct smb2_sec *sec, int *asked) {
  struct smb2_conn_env env = {.random = no_random, .expired = renewing,
                              .user = asked};
  struct smb2_conn *c = smb2_conn_new(&env);
  ck_assert_ptr_nonnull(c);
  struct smb2_req *first = smb2_req_new(SMB2_ECHO, 4);
  ck_assert_ptr_nonnull(first);
  smb2_req_set_body_len(first,
                        (size_t)smb2_encode_echo_req(smb2_req_body(first), 4));
  ck_assert_int_eq(smb2_conn_submit(c, first, 0), 0);
  const uint8_t *out;
  long k = smb2_conn_pull(c, &out);
  ck_assert_int_gt(k, 0);
  smb2_conn_sent(c, (size_t)k);
  ck_assert_int_eq(answer(c, 0, 0), 0);
  struct smb2_req *head = NULL, **tail = &head;
  for (size_t i = 0; i < n; i++) {
    struct smb2_req *r = smb2_req_new(SMB2_ECHO, 4);
    ck_assert_ptr_nonnull(r);
    smb2_req_set_body_len(r, (size_t)smb2_encode_echo_req(smb2_req_body(r),
                                                          4));
    r->sec = sec;
    r->done = on_elem;
    r->arg = &g[i];
    *tail = r;
    tail = &r->chain;
  }
  ck_assert_int_eq(smb2_conn_submit(c, head, 0), 0);
  k = smb2_conn_pull(c, &out);
  ck_assert_int_gt(k, 0);
  smb2_conn_sent(c, (size_t)k);
  return c;
}

/* An ECHO reply (or an error body for an error status) to mid, framed. */
static int answer(struct smb2_conn *c, uint64_t mid, uint32_t status) {
  uint8_t m[64 + 9];
  memset(m, 0, sizeof(m));
  struct smb2_hdr h = {.status = status, .command = SMB2_ECHO,
                       .credits = 8, .flags = SMB2_FLAGS_SERVER_TO_REDIR,
                       .message_id = mid, .session_id = 0x41};
  smb2_hdr_encode(m, &h);
  size_t len = 64 + 4;
  smbq_put_le16(m + 64, 4);
  if (status) { /* MS-SMB2 2.2.2 */
    smbq_put_le16(m + 64, 9);
    len = 64 + 9;
  }
  return feed_message(c, m, len);
}

START_TEST(parked_element_of_a_broken_chain) {
  struct smb2_sec sec = {.session_id = 0x41};
  struct got g[3] = {{0}};
  int asked = 0;
  struct smb2_conn *c = chain_sent(3, g, &sec, &asked);
  ck_assert_int_eq(answer(c, 1, NT_STATUS_NETWORK_SESSION_EXPIRED), 0);
  ck_assert_int_eq(asked, 1);
  ck_assert_int_eq(g[0].calls, 0); /* parked */
  /* the second element answered: the first cannot go again */
  ck_assert_int_eq(answer(c, 2, 0), 0);
  ck_assert_int_eq(g[1].calls, 1);
  ck_assert_int_eq(g[1].err, 0);
  ck_assert_int_eq(g[0].calls, 1);
  ck_assert_int_eq(g[0].err, SMBQ_ERR_NOSESSION);
  /* the third's reply must not touch the first */
  ck_assert_int_eq(answer(c, 3, 0), 0);
  ck_assert_int_eq(g[2].calls, 1);
  ck_assert_int_eq(g[2].err, 0);
  smb2_conn_free(c);
  for (int i = 0; i < 3; i++)
    ck_assert_int_eq(g[i].calls, 1);
}
END_TEST

START_TEST(parked_element_failed_with_its_renewal) {
  struct smb2_sec sec = {.session_id = 0x41};
  struct got g[2] = {{0}};
  int asked = 0;
  struct smb2_conn *c = chain_sent(2, g, &sec, &asked);
  ck_assert_int_eq(answer(c, 1, NT_STATUS_NETWORK_SESSION_EXPIRED), 0);
  ck_assert_int_eq(g[0].calls, 0);
  /* the renewal failed: the parked element fails now */
  smb2_conn_fail_parked(c, SMBQ_ERR_NOSESSION);
  ck_assert_int_eq(g[0].calls, 1);
  ck_assert_int_eq(g[0].err, SMBQ_ERR_NOSESSION);
  /* its sibling's reply must not touch it */
  ck_assert_int_eq(answer(c, 2, 0), 0);
  ck_assert_int_eq(g[1].calls, 1);
  smb2_conn_free(c);
  ck_assert_int_eq(g[1].calls, 1);
}
END_TEST


/* tests/fuzz/corpus/core_stream/late-session-round (fuzz_core_stream): a
 * session renewal's SESSION_SETUP was in flight when the transport was
 * lost. smb2_conn_hold kept it and sent it again on the new connection,
 * where the reconnect had started a new logon on the same session; the
 * renewal's reply then arrived with no mechanism left (a NULL
 * dereference) and the renewal's mechanisms leaked. A logon round means
 * something on one connection only: it fails when the connection goes. */
static struct smb2_req *sent_request(struct smb2_conn *c, uint16_t cmd,
                                     struct got *g) {
  struct smb2_req *r = smb2_req_new(cmd, 64);
  ck_assert_ptr_nonnull(r);
  if (cmd == SMB2_SESSION_SETUP) {
    static const uint8_t tok[4] = {1, 2, 3, 4};
    struct smb2_session_setup_req sr = {.token = tok, .token_len = 4};
    smb2_req_set_body_len(r, (size_t)smb2_encode_session_setup_req(
                                 smb2_req_body(r), smb2_req_body_cap(r), &sr));
  } else {
    smb2_req_set_body_len(r, (size_t)smb2_encode_echo_req(smb2_req_body(r),
                                                          4));
  }
  r->done = on_elem;
  r->arg = g;
  ck_assert_int_eq(smb2_conn_submit(c, r, 0), 0);
  const uint8_t *out;
  long k = smb2_conn_pull(c, &out);
  ck_assert_int_gt(k, 0);
  smb2_conn_sent(c, (size_t)k);
  return r;
}

START_TEST(logon_round_not_resent_after_outage) {
  struct smb2_conn_env env = {.random = no_random};
  struct smb2_conn *c = smb2_conn_new(&env);
  ck_assert_ptr_nonnull(c);
  struct got g_echo = {0}, g_setup = {0};
  sent_request(c, SMB2_ECHO, &g_echo);
  ck_assert_int_eq(answer(c, 0, 0), 0); /* credits for the next */
  ck_assert_int_eq(g_echo.calls, 1);
  struct got g_read = {0};
  sent_request(c, SMB2_SESSION_SETUP, &g_setup);
  sent_request(c, SMB2_ECHO, &g_read);
  smb2_conn_hold(c);
  /* the round failed with the connection; the other request waits */
  ck_assert_int_eq(g_setup.calls, 1);
  ck_assert_int_eq(g_setup.err, SMBQ_ERR_CLOSED);
  ck_assert_int_eq(g_read.calls, 0);
  smb2_conn_release(c, NULL, NULL);
  const uint8_t *out;
  long k = smb2_conn_pull(c, &out);
  ck_assert_int_gt(k, 4);
  ck_assert_uint_eq(smbq_le16_at(out + 4 + 12), SMB2_ECHO); /* not the round */
  smb2_conn_sent(c, (size_t)k);
  ck_assert_int_eq(smb2_conn_pull(c, &out), 0);
  smb2_conn_free(c);
  ck_assert_int_eq(g_setup.calls, 1);
  ck_assert_int_eq(g_read.calls, 1);
}
END_TEST

int main(void) {
  Suite *s = suite_create("fuzz_regress");
  TCase *tc = tcase_create("issue12");
  tcase_add_test(tc, dcerpc_response_without_stub);
  tcase_add_test(tc, dcerpc_response_without_stub_streamed);
  tcase_add_test(tc, read_success_without_data);
  tcase_add_test(tc, query_directory_success_without_entries);
  tcase_add_test(tc, api_read_success_without_data);
  tcase_add_test(tc, api_listing_success_without_entries);
  suite_add_tcase(s, tc);
  TCase *tc2 = tcase_create("core_stream");
  tcase_add_test(tc2, parked_element_of_a_broken_chain);
  tcase_add_test(tc2, parked_element_failed_with_its_renewal);
  tcase_add_test(tc2, logon_round_not_resent_after_outage);
  suite_add_tcase(s, tc2);
  return run_suite(s);
}
