/* libFuzzer harness: the connection core (lib/smb2/smb2_conn.c) and the
 * client state machines over it (lib/core: negotiate, session setup with
 * NTLMSSP in SPNEGO, tree connect with the 3.0.x negotiate validation,
 * opens with lease and durable contexts, the lease table with its break
 * state machine, reconnect and session renewal), fed an arbitrary stream
 * of server bytes after scripted requests, the way lib/io and lib/api
 * drive them, with no network and no clock.
 *
 * The harness stands in for lib/api (fuzz_api.c drives the real one, on
 * its I/O thread, more slowly): its callbacks run the decoders lib/api
 * runs on each reply (READ data, directory entries, information classes,
 * create contexts, the pipe's DCE/RPC answer).
 *
 * Input: two configuration bytes, then records until the input ends.
 *   byte 0: bit 0   established: skip NEGOTIATE and SESSION_SETUP and
 *                   start with a session whose keys are fixed (else the
 *                   whole handshake is fed: NEGOTIATE, then NTLMSSP in
 *                   SPNEGO as "alice", guest allowed)
 *           bits 1-3 the dialect (established: 2.0.2 2.1 3.0 3.0.2 3.1.1
 *                   3.1.1 3.0 3.1.1;
 *                   handshake: 0-3 offer all five, 4-7 only 3.1.1 over an
 *                   encrypted transport, as over QUIC)
 *           bit 4   sign (established)    bit 5 encrypt (established;
 *                   handshake: the caller requires encryption)
 *           bit 6   reconnect on (a lost transport is restored)
 *           bit 7   leases off
 *           (established 3.0 and 3.0.2: the tree connect validates the
 *           negotiation: server capabilities 0x66, or 0x64 with bit 5 of
 *           byte 1, ServerGuid 33..33, SecurityMode 1)
 *   byte 1: bits 0-1 cipher (established: AES-128-CCM, -128-GCM,
 *                   -256-CCM, -256-GCM)  bits 2-3 signing algorithm
 *                   (HMAC-SHA256, AES-CMAC, AES-GMAC)  bit 4 large MTU
 *                   bit 5 the server leases nothing (oplocks); (whether
 *                   a share requires encryption is the tree connect
 *                   reply's ShareFlags)
 * A record is an op byte (kind = op & 7, param = op >> 3), and for the
 * kinds that carry bytes a 16-bit little-endian length and the bytes:
 *   0 RAW     bytes as received from the transport, handed over in reads
 *             of param bytes (param 0: all at once)
 *   1 FRAME   one Direct-TCP frame: the 4-byte header is added
 *   2 REPLY   a reply to a request seen on the wire, the header made here:
 *             [which: 1][status: 4][credits: 2][flags: 1][body]; param
 *             bit 0 / bit 1 put the file's / directory's lease key into
 *             the lease context of a CREATE reply; which picks one of the
 *             requests sent and not yet answered (in the order sent);
 *             flags: 1 sign it, 2 encrypt the frame, 4 an
 *             interim (ASYNC) reply, 8 more elements of a compound follow
 *             (held until an element without this bit), 16 RELATED,
 *             32 leave the request unanswered (a duplicate), 64 another
 *             session id, 128 another message id (+1)
 *   3 CRYPT   bytes put in a TRANSFORM_HEADER with the session's key
 *   4 TICK    (no bytes) time passes: (param + 1) * 500 ms
 *   5 SUBMIT  (no bytes) a request as lib/api would make it; param picks
 *             which (see act() below)
 *   6 LOST    (no bytes) the transport goes; param bit 0: the next
 *             reconnect attempt fails
 *   7 BREAK   an OPLOCK_BREAK notification whose body is the bytes (its
 *             header made here); param bit 0 / bit 1 write the file's /
 *             directory's lease key (or file id, for oplocks) at body
 *             offset 8, bit 2 encrypts it
 * tests/fuzz/gen_corpus.py writes seeds in this format. */
#include <stdbool.h>

#include "auth/auth_mech.h"
#include "auth/spnego.h"
#include "core/core_lease.h"
#include "core/core_negotiate.h"
#include "core/core_open.h"
#include "core/core_reconnect.h"
#include "core/core_session.h"
#include "core/core_tree.h"
#include "fuzz_util.h"
#include "rpc/dcerpc.h"
#include "rpc/srvsvc.h"
#include "smb2/smb2_conn.h"
#include "smb2/smb2_pdu.h"
#include "smb2/smb2_secure.h"
#include "smbq/smbq_err.h"
#include "smbq_bytes.h"

#define FIXED_SID 0x0000100000000041ULL
#define FIXED_TID 5u
#define MAX_SEEN 64
#define MAX_CHAIN 8
#define MAX_PUMP 64
#define RPC_MAX_STUB (4u * 1024u * 1024u)

/* A request as it went over the wire. */
struct seen {
  uint64_t mid;
  uint64_t sid;
  uint32_t tid;
  uint16_t cmd;
};

/* An element of a compound reply being put together. */
struct elem {
  uint8_t *msg;
  size_t len;
  bool sign;
};

struct run {
  uint32_t ctr; /* "random" bytes */
  int64_t now;
  uint8_t cfg0, cfg1;
  struct smb2_conn *conn;
  bool tp_up;         /* a transport is attached */
  bool dead;          /* the connection was given up */
  bool fail_connect;  /* the next reconnect try fails */
  struct core_neg neg;
  struct core_sess sess;
  struct core_tree tree;
  struct core_open file, dir;
  struct core_leases *leases;
  struct core_rc rc;
  bool rc_inited;
  struct seen seen[MAX_SEEN];
  size_t n_seen;
  struct elem chain[MAX_CHAIN];
  size_t n_chain;
  /* the srvsvc pipe: one BIND, then NetrShareEnum answers */
  struct dcerpc_reader rd;
  struct dcerpc_rsp rsp;
  bool bound;
  uint8_t scratch[64];
};

static const uint16_t est_dialects[] = {SMB2_DIALECT_202, SMB2_DIALECT_210,
                                        SMB2_DIALECT_300, SMB2_DIALECT_302,
                                        SMB2_DIALECT_311, SMB2_DIALECT_311,
                                        SMB2_DIALECT_300, SMB2_DIALECT_311};
static const uint16_t all_dialects[] = {SMB2_DIALECT_202, SMB2_DIALECT_210,
                                        SMB2_DIALECT_300, SMB2_DIALECT_302,
                                        SMB2_DIALECT_311};
static const uint16_t ciphers[] = {SMB2_CIPHER_AES128_CCM,
                                   SMB2_CIPHER_AES128_GCM,
                                   SMB2_CIPHER_AES256_CCM,
                                   SMB2_CIPHER_AES256_GCM};
static const uint16_t sign_algs[] = {SMB2_SIGNING_HMAC_SHA256,
                                     SMB2_SIGNING_AES_CMAC,
                                     SMB2_SIGNING_AES_GMAC,
                                     SMB2_SIGNING_AES_CMAC};

static int run_random(void *user, uint8_t *buf, size_t n) {
  struct run *r = user;
  return fuzz_random(&r->ctr, buf, n);
}

static uint64_t fixed_time(void *user) {
  (void)user;
  return 0x01DB0A1B2C3D4E5FULL;
}

/* ---- what goes out --------------------------------------------------------- */

static const struct smb2_sec *sec_of(struct run *r, uint64_t sid) {
  if (r->sess.sec.session_id == sid)
    return &r->sess.sec;
  return NULL;
}

static void note_seen(struct run *r, const uint8_t *m, size_t len) {
  while (len >= SMB2_HDR_SIZE) {
    struct smb2_hdr h;
    if (smb2_hdr_decode(m, len, &h) < 0)
      FUZZ_FAIL("the core sent a malformed header");
    if (h.command != SMB2_CANCEL) { /* answered by the request itself */
      if (r->n_seen == MAX_SEEN) {
        memmove(r->seen, r->seen + 1, sizeof(r->seen[0]) * (MAX_SEEN - 1));
        r->n_seen--;
      }
      r->seen[r->n_seen++] = (struct seen){h.message_id, h.session_id,
                                           h.tree_id, h.command};
    }
    if (!h.next_command || h.next_command > len)
      break;
    m += h.next_command;
    len -= h.next_command;
  }
}

/* A frame the core handed to the transport: remember what it asks. */
static void note_frame(struct run *r, const uint8_t *f, size_t n) {
  if (n < 4 + 4)
    FUZZ_FAIL("the core sent a frame of %zu bytes", n);
  uint32_t be;
  smbq_get_be32(&be, f);
  if (be != n - 4)
    FUZZ_FAIL("frame header says %u for %zu bytes", be, n - 4);
  const uint8_t *m = f + 4;
  size_t len = n - 4;
  if (smbq_le32_at(m) != SMB2_TRANSFORM_PROTO_ID) {
    note_seen(r, m, len);
    return;
  }
  uint64_t sid;
  const struct smb2_sec *s;
  if (smb2_transform_session_id(m, len, &sid) < 0 || !(s = sec_of(r, sid)))
    FUZZ_FAIL("the core encrypted for a session it does not have");
  uint8_t *plain = malloc(len);
  size_t plen = 0;
  if (!plain)
    abort();
  if (smb2_decrypt(s->cipher, s->keys.encrypt, m, len, plain, &plen) < 0)
    FUZZ_FAIL("the core's own encrypted frame does not decrypt");
  note_seen(r, plain, plen);
  free(plain);
}

/* Send what the core has (lib/io's flush_output). */
static void pump(struct run *r) {
  for (int i = 0; i < MAX_PUMP && r->tp_up && !r->dead; i++) {
    const uint8_t *buf;
    long n = smb2_conn_pull(r->conn, &buf);
    if (n < 0)
      continue; /* that request failed alone */
    if (n == 0)
      break;
    note_frame(r, buf, (size_t)n);
    smb2_conn_sent(r->conn, (size_t)n);
  }
}

/* ---- the transport goes (lib/io's lose) ------------------------------------- */

static void drop_chain(struct run *r) {
  for (size_t i = 0; i < r->n_chain; i++)
    free(r->chain[i].msg);
  r->n_chain = 0;
}

static void lose(struct run *r, int err, const char *why) {
  r->n_seen = 0;
  drop_chain(r);
  if (!r->tp_up)
    return;
  if (!r->rc_inited || !r->rc.timeout_ms) {
    r->dead = true;
    r->tp_up = false;
    smb2_conn_abort(r->conn, err);
    return;
  }
  r->tp_up = false;
  smb2_conn_hold(r->conn);
  core_rc_lost(&r->rc, why, r->now);
}

/* ---- what comes in ------------------------------------------------------------ */

static void feed(struct run *r, const uint8_t *p, size_t n, size_t step) {
  if (!r->tp_up || r->dead)
    return;
  smb2_conn_set_now(r->conn, r->now);
  while (n > 0 && r->tp_up && !r->dead) {
    size_t cap;
    uint8_t *dst = smb2_conn_recv_buf(r->conn, &cap);
    if (!dst || !cap)
      FUZZ_FAIL("no receive buffer");
    size_t k = n < cap ? n : cap;
    if (step && k > step)
      k = step;
    memcpy(dst, p, k);
    p += k;
    n -= k;
    if (smb2_conn_received(r->conn, k) < 0)
      lose(r, SMBQ_ERR_PROTO, smb2_conn_last_error(r->conn));
    pump(r);
  }
}

static void feed_framed(struct run *r, const uint8_t *m, size_t n) {
  uint8_t *f = malloc(n + 4);
  if (!f)
    abort();
  smbq_put_be32(f, (uint32_t)n);
  memcpy(f + 4, m, n);
  feed(r, f, n + 4, 0);
  free(f);
}

/* Wrap m into a TRANSFORM_HEADER with the session's server-to-client key
 * (any cipher and key when there is no session yet) and feed it. */
static void feed_encrypted(struct run *r, const uint8_t *m, size_t n) {
  if (n < SMB2_HDR_SIZE)
    return; /* smb2_encrypt wants one header at least */
  const struct smb2_sec *s = &r->sess.sec;
  uint16_t cipher = s->cipher ? s->cipher : SMB2_CIPHER_AES128_GCM;
  uint8_t nonce[16] = {0};
  smbq_put_le64(nonce, ++r->ctr);
  size_t flen = SMB2_TRANSFORM_HDR_SIZE + n;
  uint8_t *f = malloc(flen);
  if (!f)
    abort();
  if (smb2_encrypt(cipher, s->keys.decrypt, s->session_id, nonce, m, n, f) <
      0)
    FUZZ_FAIL("encryption of a reply failed");
  feed_framed(r, f, flen);
  free(f);
}

static void flush_chain(struct run *r, bool encrypt) {
  size_t total = 0;
  for (size_t i = 0; i < r->n_chain; i++)
    total += i + 1 < r->n_chain ? (r->chain[i].len + 7) & ~(size_t)7
                                : r->chain[i].len;
  uint8_t *f = calloc(1, total ? total : 1);
  if (!f)
    abort();
  size_t off = 0;
  for (size_t i = 0; i < r->n_chain; i++) {
    struct elem *e = &r->chain[i];
    bool last = i + 1 == r->n_chain;
    size_t elen = last ? e->len : (e->len + 7) & ~(size_t)7;
    memcpy(f + off, e->msg, e->len);
    smbq_put_le32(f + off + 20, last ? 0 : (uint32_t)elen);
    /* MS-SMB2 3.3.4.1.3: each element is signed with its padding */
    if (e->sign)
      smb2_sign(r->sess.sec.signing_alg, r->sess.sec.keys.signing, f + off,
                elen);
    off += elen;
    free(e->msg);
  }
  r->n_chain = 0;
  if (encrypt)
    feed_encrypted(r, f, total);
  else
    feed_framed(r, f, total);
  free(f);
}

/* The lease key of o, or NULL. */
static bool lease_key(struct run *r, struct core_open *o, uint8_t key[16]) {
  struct smb2_create_ctx ctx;
  uint8_t buf[SMB2_LEASE_V2_SIZE], op;
  if (!o->lease ||
      core_lease_request(r->leases, o->lease, 7, &ctx, buf, &op) != 1)
    return false;
  memcpy(key, ctx.data, 16);
  return true;
}

/* Write o's lease key into the "RqLs" contexts of a CREATE reply (the
 * server echoes the client's key, which the input cannot know). */
static void patch_lease(struct run *r, struct core_open *o, uint8_t *m,
                        size_t len) {
  uint8_t key[16];
  struct smb2_create_rsp cr;
  if (!lease_key(r, o, key) || smb2_decode_create_rsp(m, len, &cr) < 0)
    return;
  struct smb2_create_ctx_iter it;
  struct smb2_create_ctx c;
  smb2_create_ctx_iter_init(&it, cr.contexts, cr.contexts_len);
  while (smb2_create_ctx_next(&it, &c) == 1)
    if (c.name_len == 4 && !memcmp(c.name, "RqLs", 4) && c.data_len >= 16)
      memcpy(m + (c.data - m), key, 16);
}

/* REPLY: [which][status 4][credits 2][flags][body]; param bit 0 / bit 1:
 * the file's / directory's lease key goes into a CREATE reply's lease
 * context. */
static void reply(struct run *r, uint8_t param, struct fuzz_in *in) {
  uint8_t which = fuzz_u8(in);
  uint32_t status = fuzz_u32(in);
  uint16_t credits = fuzz_u16(in);
  uint8_t fl = fuzz_u8(in);
  size_t blen;
  const uint8_t *body = fuzz_bytes(in, in->n, &blen);
  struct seen s = {0, FIXED_SID, FIXED_TID, SMB2_ECHO};
  if (r->n_seen) {
    size_t i = which % r->n_seen;
    s = r->seen[i];
    bool interim = (fl & 4) && status == NT_STATUS_PENDING;
    if (!interim && !(fl & 32)) {
      memmove(r->seen + i, r->seen + i + 1,
              sizeof(r->seen[0]) * (r->n_seen - i - 1));
      r->n_seen--;
    }
  }
  struct smb2_hdr h = {
      .credit_charge = 1,
      .status = status,
      .command = s.cmd,
      .credits = credits,
      .flags = SMB2_FLAGS_SERVER_TO_REDIR |
               ((fl & 1) ? SMB2_FLAGS_SIGNED : 0) |
               ((fl & 4) ? SMB2_FLAGS_ASYNC_COMMAND : 0) |
               ((fl & 16) ? SMB2_FLAGS_RELATED_OPERATIONS : 0),
      .message_id = s.mid + ((fl & 128) ? 1 : 0),
      .async_id = 0x7700 + s.mid,
      .process_id = 0xFEFF,
      .tree_id = s.tid ? s.tid : FIXED_TID,
      .session_id = (s.sid ? s.sid : FIXED_SID) + ((fl & 64) ? 1 : 0),
  };
  if (r->n_chain == MAX_CHAIN)
    flush_chain(r, false);
  struct elem *e = &r->chain[r->n_chain++];
  e->len = SMB2_HDR_SIZE + blen;
  e->msg = malloc(e->len);
  if (!e->msg)
    abort();
  smb2_hdr_encode(e->msg, &h);
  if (blen)
    memcpy(e->msg + SMB2_HDR_SIZE, body, blen);
  if (param & 3)
    patch_lease(r, (param & 1) ? &r->file : &r->dir, e->msg, e->len);
  e->sign = fl & 1;
  if (!(fl & 8))
    flush_chain(r, fl & 2);
}

/* BREAK: a notification with the body given. */
static void notify(struct run *r, uint8_t param, const uint8_t *body,
                   size_t blen) {
  size_t len = SMB2_HDR_SIZE + blen;
  uint8_t *m = calloc(1, len);
  if (!m)
    abort();
  struct smb2_hdr h = {.command = SMB2_OPLOCK_BREAK,
                       .flags = SMB2_FLAGS_SERVER_TO_REDIR,
                       .message_id = UINT64_MAX};
  smb2_hdr_encode(m, &h);
  if (blen)
    memcpy(m + SMB2_HDR_SIZE, body, blen);
  struct core_open *o = (param & 1) ? &r->file : (param & 2) ? &r->dir : NULL;
  if (o && blen >= 24 && !lease_key(r, o, m + SMB2_HDR_SIZE + 8))
    memcpy(m + SMB2_HDR_SIZE + 8, o->file_id, 16);
  if (param & 4)
    feed_encrypted(r, m, len);
  else
    feed_framed(r, m, len);
  free(m);
}

/* ---- breaks (lib/api/lease.c, without the worker thread) ------------------- */

/* A break being acknowledged. */
struct ack {
  struct run *r;
  struct core_break b;
};

static void ack_done(void *arg, int err, uint32_t status, const uint8_t *msg,
                     size_t len) {
  struct ack *a = arg;
  (void)err;
  core_break_done(a->r->leases, &a->b, status ? NULL : msg, len);
  free(a);
}

static void on_notify(void *user, const uint8_t *msg, size_t len,
                      bool encrypted) {
  (void)encrypted;
  struct run *r = user;
  if (!r->leases)
    return;
  struct core_break b;
  int rc = core_leases_on_notify(r->leases, msg, len, &b);
  if (rc != 1)
    return;
  if (!b.ack_required || core_break_orphaned(r->leases, &b)) {
    core_break_done(r->leases, &b, NULL, 0);
    return;
  }
  struct smb2_req *q = smb2_req_new(SMB2_OPLOCK_BREAK, 36);
  long n = q ? core_break_ack_body(&b, smb2_req_body(q), 36) : -1;
  struct ack *a = malloc(sizeof(*a));
  if (n < 0 || !a) {
    smb2_req_free(q);
    free(a);
    core_break_done(r->leases, &b, NULL, 0);
    return;
  }
  a->r = r;
  a->b = b;
  smb2_req_set_body_len(q, (size_t)n);
  q->sec = core_tree_sec(&r->tree);
  q->tree_id = r->tree.tree_id;
  /* on failure the request is freed without its callback */
  if (smb2_conn_submit_now(r->conn, q, ack_done, a) < 0) {
    core_break_done(r->leases, &a->b, NULL, 0);
    free(a);
  }
}

static bool on_expired(void *user, const struct smb2_sec *sec) {
  struct run *r = user;
  return r->rc_inited && core_rc_expired(&r->rc, sec);
}

/* ---- the scripted client: negotiate, session, tree, opens ------------------- */

static struct auth_mech *ntlm_mech(struct run *r) {
  struct ntlmssp_creds cr = {.user = "alice", .domain = "FUZZ",
                             .password = "Passw0rd!",
                             .workstation = "CLIENT",
                             .target_spn = "cifs/server.fuzz.test"};
  struct ntlmssp_env env = {run_random, fixed_time, r};
  struct auth_mech *m = auth_ntlm_new(&cr, &env, "server.fuzz.test",
                                      "FUZZ\\alice");
  if (!m)
    abort();
  return m;
}

static void sess_cfg(struct run *r, struct core_sess_cfg *cfg) {
  *cfg = (struct core_sess_cfg){
      .server = "server.fuzz.test",
      .dialect = r->neg.dialect,
      .preauth = r->neg.preauth,
      .cipher = r->neg.cipher,
      .signing_alg = r->neg.signing_alg,
      .transport_security = r->neg.transport_security,
      .want_encrypt = !(r->cfg0 & 1) && (r->cfg0 & 0x20),
      .allow_guest = true,
      .n_mechs = 1,
      .mechs = {ntlm_mech(r)},
      .random = run_random,
      .user = r,
  };
}

static int rc_connect(void *user, uint32_t timeout_ms, bool *encrypted,
                      char *why, size_t len) {
  (void)timeout_ms;
  struct run *r = user;
  if (r->fail_connect) {
    r->fail_connect = false;
    snprintf(why, len, "connection refused");
    return SMBQ_ERR_NET;
  }
  *encrypted = r->neg.cfg.transport_encrypted;
  r->tp_up = true;
  return 0;
}

static int rc_session_cfg(void *user, struct core_sess_cfg *cfg, char *why,
                          size_t len) {
  (void)why, (void)len;
  sess_cfg(user, cfg);
  return 0;
}

static struct core_tree *rc_next_tree(void *user, struct core_tree *prev) {
  struct run *r = user;
  return !prev && r->tree.state != CORE_TREE_NONE ? &r->tree : NULL;
}

static void open_done(void *arg, struct core_open *o) {
  (void)arg, (void)o;
}

/* The file: read and write, a RWH lease, a durable handle. */
static void open_file(struct run *r) {
  struct core_create_spec fs = {
      .access = SMB2_GENERIC_READ | SMB2_GENERIC_WRITE | SMB2_DELETE,
      .disposition = SMB2_FILE_OPEN_IF,
      .options = SMB2_FILE_NON_DIRECTORY_FILE,
      .attributes = SMB2_ATTR_NORMAL,
      .lease_want = SMB2_LEASE_READ | SMB2_LEASE_WRITE | SMB2_LEASE_HANDLE,
  };
  struct smb2_durable_req dh = {.version = r->neg.dialect >= SMB2_DIALECT_300
                                               ? 2 : 1,
                                .timeout_ms = 60000};
  memset(dh.create_guid, 0xC5, 16);
  fs.durable = &dh;
  core_open_start(&r->file, r->conn, &r->tree, r->leases, "dir/file.txt",
                  &fs, false, open_done, r);
}

/* The file, and its directory for listings (a RH lease where directories
 * are leased). */
static void start_opens(struct run *r) {
  open_file(r);
  struct core_create_spec ds = {
      .access = SMB2_FILE_LIST_DIRECTORY | SMB2_FILE_READ_ATTRIBUTES |
                SMB2_SYNCHRONIZE,
      .disposition = SMB2_FILE_OPEN,
      .options = SMB2_FILE_DIRECTORY_FILE,
      .lease_want = SMB2_LEASE_READ | SMB2_LEASE_HANDLE,
  };
  core_open_start(&r->dir, r->conn, &r->tree, r->leases, "dir", &ds, true,
                  open_done, r);
}

static void tree_done(void *arg, struct core_tree *t) {
  struct run *r = arg;
  if (t->state == CORE_TREE_CONNECTED)
    start_opens(r);
}

/* After the logon, as smbq_conn_connect: the lease table, the reconnect
 * machine, then the share. */
static void logged_on(struct run *r) {
  enum core_lease_mode mode =
      (r->cfg0 & 0x80) ? CORE_LEASE_OFF
      : r->neg.dialect == SMB2_DIALECT_202 ||
              !(r->neg.server_caps & SMB2_GLOBAL_CAP_LEASING)
          ? CORE_LEASE_OPLOCK
      : r->neg.dialect == SMB2_DIALECT_210 ? CORE_LEASE_V1
                                           : CORE_LEASE_V2;
  r->leases = core_leases_new(mode, run_random, r);
  if (!r->leases)
    abort();
  struct core_rc_env env = {
      .connect = rc_connect,
      .session_cfg = rc_session_cfg,
      .next_tree = rc_next_tree,
      .random = run_random,
      .user = r,
  };
  core_rc_init(&r->rc, r->conn, &r->neg, &r->sess, r->leases,
               (r->cfg0 & 0x40) ? 60000 : 0, 10000, 60000, &env);
  r->rc_inited = true;
  smb2_conn_set_probe(r->conn, 4000);
  smb2_conn_set_timeout(r->conn, 60000);
  struct core_tree_cfg tc = {
      .server = "server.fuzz.test",
      .share = "share",
      .sec = &r->sess.sec,
      .enc_sec = &r->sess.enc_sec,
      .neg = &r->neg,
  };
  core_tree_connect(&r->tree, r->conn, &tc, tree_done, r);
}

static void sess_done(void *arg, struct core_sess *s) {
  struct run *r = arg;
  if (s->state == CORE_SESS_VALID)
    logged_on(r);
}

static void neg_done(void *arg, struct core_neg *n) {
  struct run *r = arg;
  if (n->state != CORE_NEG_DONE)
    return;
  struct spnego_init_hint hint; /* as lib/api/session.c picks mechanisms */
  spnego_parse_hint(n->spnego_hint, n->spnego_hint_len, &hint);
  struct core_sess_cfg cfg;
  sess_cfg(r, &cfg);
  core_sess_start(&r->sess, r->conn, &cfg, sess_done, r);
}

static void start_handshake(struct run *r) {
  struct core_neg_cfg cfg = {
      .server = "server.fuzz.test",
      .dialects = all_dialects,
      .n_dialects = sizeof(all_dialects) / sizeof(all_dialects[0]),
      .capabilities = SMB2_GLOBAL_CAP_LARGE_MTU | SMB2_GLOBAL_CAP_ENCRYPTION |
                      SMB2_GLOBAL_CAP_LEASING |
                      SMB2_GLOBAL_CAP_DIRECTORY_LEASING,
  };
  if (r->cfg0 & 0x08) { /* QUIC: 3.1.1 only, transport-level security */
    cfg.dialects = &all_dialects[4];
    cfg.n_dialects = 1;
    cfg.transport_encrypted = true;
  }
  memset(cfg.client_guid, 0xC1, 16);
  memset(cfg.salt, 0x5A, sizeof(cfg.salt));
  smb2_conn_set_timeout(r->conn, 10000);
  core_neg_start(&r->neg, r->conn, &cfg, neg_done, r);
}

/* A negotiated connection and a valid session with fixed keys. */
static void start_established(struct run *r) {
  struct core_neg *n = &r->neg;
  n->state = CORE_NEG_DONE;
  n->dialect = est_dialects[(r->cfg0 >> 1) & 7];
  n->server_caps = SMB2_GLOBAL_CAP_LARGE_MTU | SMB2_GLOBAL_CAP_ENCRYPTION |
                   SMB2_GLOBAL_CAP_DIRECTORY_LEASING |
                   ((r->cfg1 & 0x20) ? 0 : SMB2_GLOBAL_CAP_LEASING);
  n->max_read = n->max_write = n->max_transact = 8u << 20;
  n->large_mtu = (r->cfg1 & 0x10) && n->dialect >= SMB2_DIALECT_210;
  n->cipher = n->dialect >= SMB2_DIALECT_300 ? ciphers[r->cfg1 & 3] : 0;
  if (n->dialect < SMB2_DIALECT_311 && n->cipher)
    n->cipher = SMB2_CIPHER_AES128_CCM;
  n->signing_alg = n->dialect < SMB2_DIALECT_300
                       ? SMB2_SIGNING_HMAC_SHA256
                       : sign_algs[(r->cfg1 >> 2) & 3];
  if (n->dialect < SMB2_DIALECT_311 && n->dialect >= SMB2_DIALECT_300)
    n->signing_alg = SMB2_SIGNING_AES_CMAC;
  n->server_security_mode = SMB2_NEGOTIATE_SIGNING_ENABLED;
  memset(n->server_guid, 0x33, 16);
  /* 3.0 and 3.0.2 validate the negotiation on the first tree (3.2.5.5):
   * the tree connect's reply is followed by the IOCTL's */
  n->validated = n->dialect != SMB2_DIALECT_300 &&
                 n->dialect != SMB2_DIALECT_302;
  /* what a reconnect offers again */
  n->cfg.server = n->server;
  snprintf(n->server, sizeof(n->server), "server.fuzz.test");
  n->cfg.dialects = n->dialects;
  n->cfg.n_dialects = 1;
  n->dialects[0] = n->dialect;
  n->cfg.capabilities = SMB2_GLOBAL_CAP_LARGE_MTU | SMB2_GLOBAL_CAP_LEASING;
  memset(n->cfg.client_guid, 0xC1, 16);
  smb2_conn_set_large_mtu(r->conn, n->large_mtu);
  struct core_sess *s = &r->sess;
  s->state = CORE_SESS_VALID;
  snprintf(s->server, sizeof(s->server), "server.fuzz.test");
  s->cfg.server = s->server;
  s->cfg.dialect = n->dialect;
  s->conn = r->conn;
  s->mech_name = "NTLMv2";
  s->sec.session_id = FIXED_SID;
  s->sec.sign = r->cfg0 & 0x10;
  s->sec.cipher = n->cipher;
  s->sec.encrypt = (r->cfg0 & 0x20) && n->cipher;
  s->sec.signing_alg = n->signing_alg;
  for (size_t i = 0; i < 16; i++)
    s->sec.keys.signing[i] = (uint8_t)(0xA0 + i);
  for (size_t i = 0; i < 32; i++) {
    s->sec.keys.encrypt[i] = (uint8_t)(0x10 + i);
    s->sec.keys.decrypt[i] = (uint8_t)(0x40 + i);
  }
  s->sec.keys.cipher_key_len = smb2_cipher_key_len(n->cipher);
  memset(s->sec.nonce_salt, 0x33, sizeof(s->sec.nonce_salt));
  s->enc_sec = s->sec;
  s->enc_sec.nonce_salt[0] ^= 0x80;
  s->enc_sec.encrypt = n->cipher != 0;
  logged_on(r);
}

/* ---- requests as lib/api makes them (SUBMIT) --------------------------------- */

static const uint8_t zero_fid[16];

static const uint8_t *fid_of(const struct core_open *o) {
  return o->state == CORE_OPEN_OPEN || o->state == CORE_OPEN_CLOSING
             ? o->file_id
             : zero_fid;
}

static struct smb2_req *tree_req(struct run *r, uint16_t cmd, size_t cap,
                                 smb2_done_fn done) {
  struct smb2_req *q = smb2_req_new(cmd, cap);
  if (!q)
    abort();
  q->sec = core_tree_sec(&r->tree);
  q->tree_id = r->tree.tree_id;
  q->done = done;
  q->arg = r;
  return q;
}

static void set_len(struct smb2_req *q, long n) {
  if (n < 0)
    FUZZ_FAIL("an encoder refused a request lib/api makes (%ld)", n);
  smb2_req_set_body_len(q, (size_t)n);
}

static void submit(struct run *r, struct smb2_req *head) {
  if (smb2_conn_submit(r->conn, head, r->now) < 0) {
    while (head) {
      struct smb2_req *nx = head->chain;
      smb2_req_free(head);
      head = nx;
    }
  }
}

static bool ok(int err, uint32_t status) {
  return err == 0 && !NT_STATUS_IS_ERROR(status);
}

static void on_read(void *arg, int err, uint32_t status, const uint8_t *msg,
                    size_t len) {
  (void)arg;
  struct smb2_read_rsp rr;
  if (ok(err, status) && smb2_decode_read_rsp(msg, len, &rr) == 0)
    fuzz_in(rr.data, rr.data_len, msg, len, "READ data");
}

static void on_write(void *arg, int err, uint32_t status, const uint8_t *msg,
                     size_t len) {
  (void)arg;
  uint32_t count;
  if (ok(err, status))
    smb2_decode_write_rsp(msg, len, &count);
}

static void walk_dir(uint8_t cls, const uint8_t *buf, size_t blen,
                     const uint8_t *msg, size_t len) {
  struct smb2_dir_iter it;
  struct smb2_dir_entry e;
  smb2_dir_iter_init_class(&it, cls, buf, blen);
  for (unsigned n = 0; smb2_dir_next(&it, &e) == 1; n++) {
    fuzz_in(e.name, e.name_len, msg, len, "directory entry name");
    fuzz_in(e.short_name, e.short_name_len, msg, len, "short name");
    if (n > blen)
      FUZZ_FAIL("directory listing does not advance");
  }
}

static void on_query_dir(void *arg, int err, uint32_t status,
                         const uint8_t *msg, size_t len) {
  (void)arg;
  const uint8_t *buf;
  size_t blen;
  if (err < 0 || status != NT_STATUS_SUCCESS ||
      smb2_decode_query_dir_rsp(msg, len, &buf, &blen) < 0)
    return;
  fuzz_in(buf, blen, msg, len, "QUERY_DIRECTORY buffer");
  walk_dir(SMB2_FILE_ID_BOTH_DIRECTORY_INFORMATION, buf, blen, msg, len);
  walk_dir(SMB2_FILE_DIRECTORY_INFORMATION, buf, blen, msg, len);
}

static void on_query_info(void *arg, int err, uint32_t status,
                          const uint8_t *msg, size_t len) {
  (void)arg;
  const uint8_t *buf;
  size_t blen;
  /* a BUFFER_OVERFLOW warning carries a truncated structure */
  if (!ok(err, status) ||
      smb2_decode_query_info_rsp(msg, len, &buf, &blen) < 0)
    return;
  fuzz_in(buf, blen, msg, len, "QUERY_INFO buffer");
  struct smb2_file_all_info all;
  if (smb2_decode_file_all_info(buf, blen, &all) == 0)
    fuzz_in(all.name, all.name_len, msg, len, "FileAllInformation name");
  struct smb2_file_basic_info bi;
  smb2_decode_file_basic_info(buf, blen, &bi);
  struct smb2_file_standard_info si;
  smb2_decode_file_standard_info(buf, blen, &si);
  struct smb2_file_network_open_info ni;
  smb2_decode_file_network_open_info(buf, blen, &ni);
  struct smb2_fs_full_size ff;
  smb2_decode_fs_full_size(buf, blen, &ff);
  struct smb2_fs_size fs;
  smb2_decode_fs_size(buf, blen, &fs);
  struct smb2_fs_volume_info vi;
  if (smb2_decode_fs_volume_info(buf, blen, &vi) == 0)
    fuzz_in(vi.label, vi.label_len, msg, len, "volume label");
}

static void on_simple(void *arg, int err, uint32_t status, const uint8_t *msg,
                      size_t len) {
  (void)arg;
  if (!ok(err, status))
    return;
  smb2_decode_flush_rsp(msg, len);
  smb2_decode_set_info_rsp(msg, len);
  smb2_decode_echo_rsp(msg, len);
  smb2_decode_logoff_rsp(msg, len);
}

static void on_create(void *arg, int err, uint32_t status, const uint8_t *msg,
                      size_t len) {
  (void)arg;
  struct smb2_create_rsp cr;
  if (!ok(err, status) || smb2_decode_create_rsp(msg, len, &cr) < 0)
    return;
  fuzz_in(cr.contexts, cr.contexts_len, msg, len, "CREATE contexts");
  struct smb2_lease l;
  smb2_create_rsp_lease(&cr, &l);
  struct smb2_durable_rsp d;
  smb2_create_rsp_durable(&cr, &d);
}

static void on_close(void *arg, int err, uint32_t status, const uint8_t *msg,
                     size_t len) {
  (void)arg;
  struct smb2_close_rsp cr;
  if (ok(err, status))
    smb2_decode_close_rsp(msg, len, &cr);
}

/* The pipe's bytes (an IOCTL's output or a READ's data) through the
 * DCE/RPC reader, as lib/api/shares.c takes them. */
static void rpc_bytes(struct run *r, const uint8_t *p, size_t n) {
  size_t off = 0;
  while (off < n) {
    const uint8_t *frag;
    size_t flen;
    long k = dcerpc_reader_feed(&r->rd, p + off, n - off, &frag, &flen);
    if (k < 0) {
      dcerpc_reader_free(&r->rd);
      return;
    }
    off += (size_t)k;
    if (!frag)
      continue;
    if (!r->bound) {
      struct dcerpc_bind_ack a;
      r->bound = dcerpc_decode_bind_ack(frag, flen, 1, &dcerpc_ndr20, &a) ==
                 0;
      continue;
    }
    int rc = dcerpc_rsp_add(&r->rsp, frag, flen);
    if (rc == 1) {
      struct srvsvc_share_enum_rsp se;
      if (srvsvc_decode_share_enum_rsp(r->rsp.stub, r->rsp.stub_len, &se) ==
          0)
        for (uint32_t i = 0; i < se.count; i++)
          fuzz_touch(se.shares[i].name, se.shares[i].name_len);
      srvsvc_share_enum_rsp_free(&se);
    }
    if (rc != 0) {
      dcerpc_rsp_free(&r->rsp);
      dcerpc_rsp_init(&r->rsp, 2, RPC_MAX_STUB);
    }
  }
}

static void on_ioctl(void *arg, int err, uint32_t status, const uint8_t *msg,
                     size_t len) {
  struct run *r = arg;
  struct smb2_ioctl_rsp io;
  /* a BUFFER_OVERFLOW warning: the pipe has more to read */
  if (!ok(err, status) || smb2_decode_ioctl_rsp(msg, len, &io) < 0)
    return;
  fuzz_in(io.output, io.output_len, msg, len, "IOCTL output");
  fuzz_in(io.input, io.input_len, msg, len, "IOCTL input");
  rpc_bytes(r, io.output, io.output_len);
}

static void on_pipe_read(void *arg, int err, uint32_t status,
                         const uint8_t *msg, size_t len) {
  struct run *r = arg;
  struct smb2_read_rsp rr;
  if (ok(err, status) && smb2_decode_read_rsp(msg, len, &rr) == 0) {
    fuzz_in(rr.data, rr.data_len, msg, len, "READ data");
    rpc_bytes(r, rr.data, rr.data_len);
  }
}

static void close_done(void *arg, struct core_open *o) {
  struct run *r = arg;
  core_lease_put(r->leases, core_open_take_lease(o));
}

static struct smb2_req *read_req(struct run *r, const uint8_t *fid,
                                 uint32_t n, smb2_done_fn done) {
  struct smb2_req *q = tree_req(r, SMB2_READ, 49, done);
  set_len(q, smb2_encode_read_req(smb2_req_body(q), 49, fid, 0, n));
  q->payload_size = n;
  return q;
}

static struct smb2_req *query_info_req(struct run *r, const uint8_t *fid,
                                       uint8_t type, uint8_t cls) {
  struct smb2_query_info_req qi = {.info_type = type, .info_class = cls,
                                   .output_len = 65536};
  memcpy(qi.file_id, fid, 16);
  struct smb2_req *q = tree_req(r, SMB2_QUERY_INFO, 41, on_query_info);
  set_len(q, smb2_encode_query_info_req(smb2_req_body(q), 41, &qi));
  return q;
}

static struct smb2_req *query_dir_req(struct run *r, const uint8_t *fid,
                                      uint8_t cls, uint8_t flags) {
  static const uint8_t star[2] = {'*', 0};
  struct smb2_query_dir_req qd = {.info_class = cls, .flags = flags,
                                  .pattern = star, .pattern_len = 2,
                                  .output_len = 65536};
  memcpy(qd.file_id, fid, 16);
  struct smb2_req *q = tree_req(r, SMB2_QUERY_DIRECTORY, 34, on_query_dir);
  set_len(q, smb2_encode_query_dir_req(smb2_req_body(q), 34, &qd));
  q->payload_size = 65536;
  return q;
}

static struct smb2_req *close_req(struct run *r, const uint8_t *fid) {
  struct smb2_req *q = tree_req(r, SMB2_CLOSE, 24, on_close);
  set_len(q, smb2_encode_close_req(smb2_req_body(q), 24,
                                   SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB, fid));
  return q;
}

static struct smb2_req *create_req(struct run *r, const char *path,
                                   bool dir) {
  struct core_create_spec s = {
      .access = SMB2_FILE_READ_ATTRIBUTES | SMB2_SYNCHRONIZE |
                (dir ? SMB2_FILE_LIST_DIRECTORY : 0),
      .disposition = SMB2_FILE_OPEN,
      .options = dir ? SMB2_FILE_DIRECTORY_FILE : 0,
  };
  struct smb2_req *q = core_create_req(&r->tree, r->leases, path, &s);
  if (!q)
    abort();
  q->done = on_create;
  q->arg = r;
  return q;
}

static struct smb2_req *ioctl_req(struct run *r, uint32_t code,
                                  const uint8_t *in, size_t in_len) {
  size_t cap = 56 + in_len;
  struct smb2_req *q = tree_req(r, SMB2_IOCTL, cap, on_ioctl);
  set_len(q, smb2_encode_ioctl_req(smb2_req_body(q), cap, code,
                                   fid_of(&r->file), in, in_len, 65536));
  return q;
}

static void act(struct run *r, unsigned what) {
  const uint8_t *ffid = fid_of(&r->file), *dfid = fid_of(&r->dir);
  switch (what % 20) {
  case 0:
    submit(r, read_req(r, ffid, 4096, on_read));
    break;
  case 1: /* a large READ: a multi-credit charge */
    submit(r, read_req(r, ffid, 1u << 20, on_read));
    break;
  case 2: {
    static const uint8_t data[16] = "sixteen bytes!!";
    struct smb2_req *q = tree_req(r, SMB2_WRITE, 48 + 16, on_write);
    set_len(q, smb2_encode_write_req(smb2_req_body(q), 48 + 16, ffid, 0,
                                     data, 16));
    submit(r, q);
    break;
  }
  case 3:
    submit(r, query_dir_req(r, dfid, SMB2_FILE_ID_BOTH_DIRECTORY_INFORMATION,
                            SMB2_RESTART_SCANS));
    break;
  case 4:
    submit(r, query_dir_req(r, dfid, SMB2_FILE_DIRECTORY_INFORMATION, 0));
    break;
  case 5:
    submit(r, query_info_req(r, ffid, SMB2_0_INFO_FILE,
                             SMB2_FILE_ALL_INFORMATION));
    break;
  case 6:
    submit(r, query_info_req(r, ffid, SMB2_0_INFO_FILESYSTEM,
                             SMB2_FS_FULL_SIZE_INFORMATION));
    break;
  case 7: {
    struct smb2_req *q = tree_req(r, SMB2_FLUSH, 24, on_simple);
    set_len(q, smb2_encode_flush_req(smb2_req_body(q), 24, ffid));
    submit(r, q);
    break;
  }
  case 8: {
    long n = smb2_encode_eof_info(r->scratch, sizeof(r->scratch), 4096);
    if (n < 0)
      FUZZ_FAIL("eof info");
    struct smb2_req *q = tree_req(r, SMB2_SET_INFO, 32 + (size_t)n,
                                  on_simple);
    set_len(q, smb2_encode_set_info_req(
                   smb2_req_body(q), 32 + (size_t)n, SMB2_0_INFO_FILE,
                   SMB2_FILE_END_OF_FILE_INFORMATION, ffid, r->scratch,
                   (size_t)n));
    submit(r, q);
    break;
  }
  case 9: {
    struct smb2_req *q = tree_req(r, SMB2_ECHO, 4, on_simple);
    set_len(q, smb2_encode_echo_req(smb2_req_body(q), 4));
    submit(r, q);
    break;
  }
  case 10: { /* a stat: CREATE + QUERY_INFO + CLOSE (lib/api/meta.c) */
    struct smb2_req *c = create_req(r, "dir/other.txt", false);
    c->chain = query_info_req(r, smb2_related_file_id, SMB2_0_INFO_FILE,
                              SMB2_FILE_ALL_INFORMATION);
    c->chain->chain = close_req(r, smb2_related_file_id);
    submit(r, c);
    break;
  }
  case 11: { /* a listing: CREATE + 2 QUERY_DIRECTORY + CLOSE (dir.c) */
    struct smb2_req *c = create_req(r, "dir", true);
    struct smb2_req *q1 = query_dir_req(
        r, smb2_related_file_id, SMB2_FILE_ID_BOTH_DIRECTORY_INFORMATION,
        SMB2_RESTART_SCANS);
    struct smb2_req *q2 = query_dir_req(
        r, smb2_related_file_id, SMB2_FILE_ID_BOTH_DIRECTORY_INFORMATION, 0);
    c->chain = q1;
    q1->chain = q2;
    q2->chain = close_req(r, smb2_related_file_id);
    submit(r, c);
    break;
  }
  case 12: { /* the srvsvc BIND through FSCTL_PIPE_TRANSCEIVE */
    uint8_t pdu[128];
    struct dcerpc_bind_req b = {.call_id = 1, .max_xmit_frag = 4280,
                                .max_recv_frag = 4280, .ctx_id = 0,
                                .abstract = &srvsvc_syntax,
                                .transfer = &dcerpc_ndr20};
    long n = dcerpc_encode_bind(pdu, sizeof(pdu), &b);
    if (n < 0)
      FUZZ_FAIL("bind");
    submit(r, ioctl_req(r, SMB2_FSCTL_PIPE_TRANSCEIVE, pdu, (size_t)n));
    break;
  }
  case 13: { /* NetrShareEnum */
    static const uint8_t srv[] = {'s', 0, 'r', 0, 'v', 0};
    uint8_t stub[256], pdu[512];
    struct srvsvc_share_enum_req q = {.server = srv,
                                      .server_len = sizeof(srv),
                                      .prefmaxlen =
                                          SRVSVC_MAX_PREFERRED_LENGTH};
    long sn = srvsvc_encode_share_enum_req(stub, sizeof(stub), &q);
    struct dcerpc_request rq = {.call_id = 2, .opnum =
                                    SRVSVC_OPNUM_NETR_SHARE_ENUM,
                                .stub = stub, .stub_len = (size_t)sn,
                                .max_frag = 4280};
    long n = sn < 0 ? sn : dcerpc_encode_request(pdu, sizeof(pdu), &rq);
    if (n < 0)
      FUZZ_FAIL("request");
    submit(r, ioctl_req(r, SMB2_FSCTL_PIPE_TRANSCEIVE, pdu, (size_t)n));
    break;
  }
  case 14: /* the rest of the pipe's answer */
    submit(r, read_req(r, ffid, 4280, on_pipe_read));
    break;
  case 15:
    if (r->file.state == CORE_OPEN_OPEN)
      core_open_close(&r->file, r->conn, SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB,
                      close_done, r);
    break;
  case 16: /* open the file again once it is closed (never while open:
             * the core_open is linked into the tree's list) */
    if (r->tree.state == CORE_TREE_CONNECTED &&
        (r->file.state == CORE_OPEN_CLOSED ||
         r->file.state == CORE_OPEN_FAILED)) {
      core_lease_put(r->leases, core_open_take_lease(&r->file));
      open_file(r);
    }
    break;
  case 17:
    if (r->tree.state == CORE_TREE_CONNECTED)
      core_tree_disconnect(&r->tree, r->conn, NULL, NULL);
    break;
  case 18: {
    struct smb2_req *q = tree_req(r, SMB2_LOGOFF, 4, on_simple);
    q->tree_id = 0;
    set_len(q, smb2_encode_logoff_req(smb2_req_body(q), 4));
    submit(r, q);
    break;
  }
  default:
    submit(r, query_info_req(r, dfid, SMB2_0_INFO_FILESYSTEM,
                             SMB2_FS_VOLUME_INFORMATION));
    break;
  }
}

/* ---- one input ------------------------------------------------------------------ */

static void tick(struct run *r, int64_t ms) {
  r->now += ms;
  smb2_conn_tick(r->conn, r->now);
  if (r->rc_inited)
    core_rc_tick(&r->rc, r->now);
  if (smb2_conn_path_dead(r->conn))
    lose(r, SMBQ_ERR_CLOSED, "the server stopped answering");
}

static void step(struct run *r, struct fuzz_in *in) {
  uint8_t op = fuzz_u8(in);
  uint8_t kind = op & 7, param = op >> 3;
  if (kind == 4) {
    tick(r, (int64_t)(param + 1) * 500);
  } else if (kind == 5) {
    if (!r->dead)
      act(r, param);
  } else if (kind == 6) {
    r->fail_connect = param & 1;
    lose(r, SMBQ_ERR_CLOSED, "connection reset by peer");
  } else {
    size_t want = fuzz_u16(in), n;
    uint8_t *b = NULL;
    const uint8_t *p = fuzz_bytes(in, want, &n);
    b = fuzz_dup(p, n);
    switch (kind) {
    case 0: feed(r, b, n, param); break;
    case 1: feed_framed(r, b, n); break;
    case 2: {
      struct fuzz_in sub = {b, n};
      reply(r, param, &sub);
      break;
    }
    case 3: feed_encrypted(r, b, n); break;
    default: notify(r, param, b, n); break;
    }
    free(b);
  }
  pump(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct fuzz_in in = {data, size};
  struct run *r = calloc(1, sizeof(*r));
  if (!r)
    abort();
  r->now = 1000;
  r->cfg0 = fuzz_u8(&in);
  r->cfg1 = fuzz_u8(&in);
  struct smb2_conn_env env = {.random = run_random, .notify = on_notify,
                              .expired = on_expired, .user = r};
  r->conn = smb2_conn_new(&env);
  if (!r->conn)
    abort();
  smb2_conn_set_now(r->conn, r->now);
  r->tp_up = true;
  dcerpc_reader_init(&r->rd);
  dcerpc_rsp_init(&r->rsp, 2, RPC_MAX_STUB);
  if (r->cfg0 & 1)
    start_established(r);
  else
    start_handshake(r);
  pump(r);
  while (in.n)
    step(r, &in);

  struct smb2_conn_stats st;
  smb2_conn_get_stats(r->conn, &st);
  if (getenv("SMBQ_FUZZ_TRACE")) /* for writing seeds: how far it got */
    fprintf(stderr,
            "neg %d dialect %04x sess %d%s tree %d file %d dir %d "
            "rc %d/%u leases %zu outstanding %zu replies %llu breaks "
            "%llu%s\n",
            r->neg.state, r->neg.dialect, r->sess.state,
            r->sess.guest ? " (guest)" : "", r->tree.state, r->file.state,
            r->dir.state, r->rc.state, r->rc.reconnects,
            r->leases ? core_leases_count(r->leases) : 0,
            smb2_conn_outstanding(r->conn),
            (unsigned long long)st.replies,
            (unsigned long long)st.notifications,
            r->dead ? " dead" : "");
  /* teardown in smbq_conn_free's order */
  if (r->rc_inited)
    core_rc_stop(&r->rc);
  smb2_conn_free(r->conn);
  if (r->rc_inited)
    core_rc_clear(&r->rc);
  drop_chain(r);
  core_lease_put(r->leases, core_open_take_lease(&r->file));
  core_lease_put(r->leases, core_open_take_lease(&r->dir));
  core_leases_free(r->leases);
  core_sess_clear(&r->sess);
  core_neg_clear(&r->neg);
  dcerpc_rsp_free(&r->rsp);
  dcerpc_reader_free(&r->rd);
  free(r);
  return 0;
}
