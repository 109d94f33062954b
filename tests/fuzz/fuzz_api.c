/* libFuzzer harness: lib/api above the core, through its public calls
 * (smbq_tree_connect, smbq_stat, smbq_statvfs, smbq_open/pread/pwrite/
 * fstat/close, smbq_opendir/readdir, smbq_put_small, smbq_rename,
 * smbq_unlink, smbq_share_enum ...), with its own I/O thread, over an
 * in-memory transport whose "server" answers every request at once from
 * the input. No socket, no server process.
 *
 * The connection starts as smbq_conn_connect() leaves it after NEGOTIATE
 * (3.1.1) and SESSION_SETUP (unsigned, leases off): those two, signing,
 * encryption, breaks and reconnect are fuzz_core_stream's.
 *
 * Input: a plan byte (which calls run, in this order: bit 0 smbq_stat,
 * 1 smbq_statvfs, 2 a file opened, read (200 KiB in 64 KiB chunks),
 * written, stat'ed and closed, 3 a directory listed, 4 smbq_put_small,
 * 5 rename/unlink/mkdir/rmdir/set_attributes, 6 disconnect the tree at
 * the end, 7 smbq_share_enum over IPC$; the tree connect always), then one
 * record per request, in the order the requests reach the transport:
 *   [flags: 1] and, unless flags bit 0, [status: 4][length: 2][body]
 *   flags bit 0: the built-in well-formed reply for that request (the
 *                same once the input has run out: every input ends with
 *                the calls succeeding, so short inputs go far);
 *   flags bit 1: an interim STATUS_PENDING (async) reply first;
 *   flags bit 2: the replies to a compound's requests in one frame.
 * The reply header (message id, command, credits, ids) is made here:
 * every request gets exactly one final reply, so no call waits for a
 * reply that never comes. The calls' results are not judged: the
 * sanitizers and the harness's bounds checks are. */
#include <stdbool.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "api/api.h"
#include "fuzz_util.h"
#include "smb2/smb2_pdu.h"
#include "smbq/smbq.h"
#include "smbq/smbq_err.h"
#include "smbq_bytes.h"
#include "../unit/vectors_rpc.h"

#define OUT_MAX (1u << 20)
#define SID 0x0000100000000041ULL

/* The in-memory transport and the server behind it. Touched by the I/O
 * thread only, once the connection runs. */
struct srv {
  struct smbq_transport tp; /* first */
  int fd;                   /* for the I/O thread's epoll set; never
                               signalled: SMBQ_TP_HAVE_DATA says when */
  struct fuzz_in in;        /* the replies */
  uint8_t *out;             /* reply frames not yet received */
  size_t out_len, out_off, out_cap;
  uint8_t *req;             /* request bytes not yet a whole frame: the
                               core may send a frame in pieces */
  size_t req_len, req_cap;
  uint8_t *bind_ack, *share_enum; /* the srvsvc answers (vectors_rpc.h) */
  bool trace;                     /* SMBQ_FUZZ_TRACE set */
  size_t bind_ack_len, share_enum_len;
};

static uint8_t *from_hex(const char *s, size_t *len) {
  size_t n = strlen(s) / 2;
  uint8_t *b = malloc(n);
  if (!b)
    abort();
  for (size_t i = 0; i < n; i++) {
    unsigned v;
    if (sscanf(s + 2 * i, "%2x", &v) != 1)
      abort();
    b[i] = (uint8_t)v;
  }
  *len = n;
  return b;
}

/* ---- built-in replies ------------------------------------------------------ */

/* The DCE/RPC PDU inside a PIPE_TRANSCEIVE request: a BIND gets the
 * BIND_ACK, a REQUEST the NetrShareEnum RESPONSE, with its call id. */
static size_t rpc_answer(struct srv *s, const uint8_t *req, size_t len,
                         uint8_t *out, size_t cap) {
  uint32_t off = smbq_le32_at(req + SMB2_HDR_SIZE + 24);
  uint32_t in_len = smbq_le32_at(req + SMB2_HDR_SIZE + 28);
  if (off < SMB2_HDR_SIZE || off > len || in_len > len - off || in_len < 16)
    return 0;
  const uint8_t *pdu = req + off;
  const uint8_t *ans = pdu[2] == 11 ? s->bind_ack : s->share_enum;
  size_t n = pdu[2] == 11 ? s->bind_ack_len : s->share_enum_len;
  if (n > cap)
    return 0;
  memcpy(out, ans, n);
  memcpy(out + 12, pdu + 12, 4); /* call_id */
  return n;
}

static size_t put_times(uint8_t *p) {
  for (int i = 0; i < 4; i++)
    smbq_put_le64(p + 8 * i, 0x01DB0A1B2C3D4E5FULL + (uint64_t)i);
  return 32;
}

/* FileIdBothDirectoryInformation entries "." and "file.txt" (MS-FSCC
 * 2.4.17). */
static size_t dir_entries(uint8_t *p) {
  static const char *const names[] = {".", "file.txt"};
  size_t off = 0;
  for (int i = 0; i < 2; i++) {
    uint8_t *e = p + off;
    size_t nlen = 2 * strlen(names[i]);
    memset(e, 0, 104 + nlen);
    put_times(e + 8);
    smbq_put_le64(e + 40, 1234);
    smbq_put_le32(e + 56, i ? SMB2_ATTR_ARCHIVE : SMB2_ATTR_DIRECTORY);
    smbq_put_le32(e + 60, (uint32_t)nlen);
    smbq_put_le64(e + 96, 77 + (uint64_t)i);
    for (size_t k = 0; k < nlen / 2; k++)
      e[104 + 2 * k] = (uint8_t)names[i][k];
    size_t elen = (104 + nlen + 7) & ~(size_t)7;
    if (i == 0)
      smbq_put_le32(e, (uint32_t)elen);
    off += i == 0 ? elen : 104 + nlen;
  }
  return off;
}

/* An information class's structure, as MS-FSCC lays it out. */
static size_t info_of(uint8_t type, uint8_t cls, uint8_t *p) {
  if (type == SMB2_0_INFO_FILESYSTEM && cls == SMB2_FS_FULL_SIZE_INFORMATION) {
    memset(p, 0, 32);
    smbq_put_le64(p, 1000000);
    smbq_put_le64(p + 8, 500000);
    smbq_put_le64(p + 16, 500000);
    smbq_put_le32(p + 24, 8);
    smbq_put_le32(p + 28, 512);
    return 32;
  }
  if (type == SMB2_0_INFO_FILESYSTEM) { /* FileFsVolumeInformation */
    memset(p, 0, 18 + 8);
    smbq_put_le32(p + 12, 8);
    memcpy(p + 18, "v\0o\0l\0\0\0", 8);
    return 18 + 6;
  }
  if (cls == SMB2_FILE_BASIC_INFORMATION) {
    memset(p, 0, 40);
    put_times(p);
    smbq_put_le32(p + 32, SMB2_ATTR_ARCHIVE);
    return 40;
  }
  if (cls == SMB2_FILE_STANDARD_INFORMATION) {
    memset(p, 0, 24);
    smbq_put_le64(p + 8, 1234);
    smbq_put_le32(p + 16, 1);
    return 24;
  }
  /* FileAllInformation: Basic, Standard, Internal, EA, Access, Position,
   * Mode, Alignment, Name (MS-FSCC 2.4.2) */
  memset(p, 0, 100 + 8);
  put_times(p);
  smbq_put_le32(p + 32, SMB2_ATTR_ARCHIVE);
  smbq_put_le64(p + 40, 4096);
  smbq_put_le64(p + 48, 1234);
  smbq_put_le32(p + 56, 1);
  smbq_put_le64(p + 64, 99);
  smbq_put_le32(p + 96, 8);
  memcpy(p + 100, "\\\0f\0.\0t\0", 8);
  return 108;
}

/* The built-in reply to request m: *status and the body at b (room for
 * 72 KiB). */
static size_t builtin(struct srv *s, const uint8_t *m, size_t len,
                      uint32_t *status, uint8_t *b) {
  const uint8_t *q = m + SMB2_HDR_SIZE;
  uint16_t cmd = smbq_le16_at(m + 12);
  *status = 0;
  switch (cmd) {
  case SMB2_TREE_CONNECT:
    memset(b, 0, 16);
    smbq_put_le16(b, 16);
    b[2] = SMB2_SHARE_TYPE_DISK;
    smbq_put_le32(b + 12, 0x001F01FF);
    return 16;
  case SMB2_CREATE: {
    memset(b, 0, 88);
    smbq_put_le16(b, 89);
    smbq_put_le32(b + 4, SMB2_FILE_OPENED);
    put_times(b + 8);
    smbq_put_le64(b + 40, 4096);
    smbq_put_le64(b + 48, 1234);
    bool dir = len >= SMB2_HDR_SIZE + 44 &&
               (smbq_le32_at(q + 40) & SMB2_FILE_DIRECTORY_FILE);
    smbq_put_le32(b + 56, dir ? SMB2_ATTR_DIRECTORY : SMB2_ATTR_ARCHIVE);
    memset(b + 64, 0x42, 16);
    return 88;
  }
  case SMB2_CLOSE:
    memset(b, 0, 60);
    smbq_put_le16(b, 60);
    smbq_put_le16(b + 2, SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB);
    put_times(b + 8);
    smbq_put_le64(b + 48, 1234);
    smbq_put_le32(b + 56, SMB2_ATTR_ARCHIVE);
    return 60;
  case SMB2_READ: { /* 2.2.20: data after the 16-byte fixed part */
    uint32_t want = len >= SMB2_HDR_SIZE + 8 ? smbq_le32_at(q + 4) : 0;
    uint32_t n = want < 8192 ? want : 8192; /* short: the end of file */
    memset(b, 0, 16);
    smbq_put_le16(b, 17);
    b[2] = 0x50;
    smbq_put_le32(b + 4, n);
    memset(b + 16, 'd', n);
    return 16 + n;
  }
  case SMB2_WRITE:
    memset(b, 0, 16);
    smbq_put_le16(b, 17);
    smbq_put_le32(b + 4, len >= SMB2_HDR_SIZE + 8 ? smbq_le32_at(q + 4)
                                                  : 0);
    return 16;
  case SMB2_QUERY_DIRECTORY: {
    memset(b, 0, 8);
    smbq_put_le16(b, 9);
    if (len < SMB2_HDR_SIZE + 4 || !(q[3] & SMB2_RESTART_SCANS)) {
      *status = NT_STATUS_NO_MORE_FILES;
      return 8;
    }
    smbq_put_le16(b + 2, SMB2_HDR_SIZE + 8);
    size_t n = dir_entries(b + 8);
    smbq_put_le32(b + 4, (uint32_t)n);
    return 8 + n;
  }
  case SMB2_QUERY_INFO: {
    memset(b, 0, 8);
    smbq_put_le16(b, 9);
    smbq_put_le16(b + 2, SMB2_HDR_SIZE + 8);
    size_t n = len >= SMB2_HDR_SIZE + 4 ? info_of(q[2], q[3], b + 8) : 0;
    smbq_put_le32(b + 4, (uint32_t)n);
    return 8 + n;
  }
  case SMB2_SET_INFO:
    memset(b, 0, 2);
    smbq_put_le16(b, 2);
    return 2;
  case SMB2_IOCTL: {
    memset(b, 0, 48);
    smbq_put_le16(b, 49);
    memcpy(b + 4, q + 4, 4); /* CtlCode */
    memcpy(b + 8, q + 8, 16); /* FileId */
    size_t n = len >= SMB2_HDR_SIZE + 56
                   ? rpc_answer(s, m, len, b + 48, 65536)
                   : 0;
    if (!n) {
      *status = NT_STATUS_NOT_SUPPORTED;
      memset(b, 0, 9);
      smbq_put_le16(b, 9);
      return 9;
    }
    smbq_put_le32(b + 24, SMB2_HDR_SIZE + 48); /* InputOffset */
    smbq_put_le32(b + 32, SMB2_HDR_SIZE + 48); /* OutputOffset */
    smbq_put_le32(b + 36, (uint32_t)n);
    return 48 + n;
  }
  case SMB2_LOCK:
  case SMB2_CHANGE_NOTIFY:
    *status = NT_STATUS_NOT_SUPPORTED;
    memset(b, 0, 9);
    smbq_put_le16(b, 9);
    return 9;
  default: /* ECHO, FLUSH, TREE_DISCONNECT, LOGOFF: 4 bytes */
    memset(b, 0, 4);
    smbq_put_le16(b, 4);
    return 4;
  }
}

/* ---- the transport ----------------------------------------------------------- */

static uint8_t *out_room(struct srv *s, size_t n) {
  if (s->out_len + n > s->out_cap) {
    size_t cap = s->out_cap ? s->out_cap : 65536;
    while (cap < s->out_len + n)
      cap *= 2;
    if (cap > OUT_MAX * 4)
      return NULL;
    uint8_t *o = realloc(s->out, cap);
    if (!o)
      abort();
    s->out = o;
    s->out_cap = cap;
  }
  return s->out + s->out_len;
}

/* One reply message (header + body) for request header rq; returns its
 * length or 0 when there is no room. */
static size_t put_reply(uint8_t *at, const struct smb2_hdr *rq,
                        uint32_t status, bool interim, const uint8_t *body,
                        size_t blen) {
  struct smb2_hdr h = {
      .credit_charge = 1,
      .status = status,
      .command = rq->command,
      .credits = 32,
      .flags = SMB2_FLAGS_SERVER_TO_REDIR |
               (interim ? SMB2_FLAGS_ASYNC_COMMAND : 0),
      .message_id = rq->message_id,
      .async_id = 0x7700 + rq->message_id,
      .process_id = 0xFEFF,
      .tree_id = rq->tree_id,
      .session_id = rq->session_id,
  };
  smb2_hdr_encode(at, &h);
  memmove(at + SMB2_HDR_SIZE, body, blen); /* the body may be there */
  return SMB2_HDR_SIZE + blen;
}

/* Queue one frame of n messages (compounded with 8-byte padding and
 * NextCommand when n > 1). */
static void put_frame(struct srv *s, uint8_t **msgs, size_t *lens, size_t n) {
  size_t total = 0;
  for (size_t i = 0; i < n; i++)
    total += i + 1 < n ? (lens[i] + 7) & ~(size_t)7 : lens[i];
  uint8_t *at = out_room(s, 4 + total);
  if (!at)
    return; /* the client stopped reading: it gets no more */
  smbq_put_be32(at, (uint32_t)total);
  size_t off = 4;
  for (size_t i = 0; i < n; i++) {
    size_t elen = i + 1 < n ? (lens[i] + 7) & ~(size_t)7 : lens[i];
    memset(at + off, 0, elen);
    memcpy(at + off, msgs[i], lens[i]);
    smbq_put_le32(at + off + 20, i + 1 < n ? (uint32_t)elen : 0);
    off += elen;
  }
  s->out_len += 4 + total;
}

/* Every request of a frame gets one final reply (after an interim one,
 * if the input says so). buf is one whole frame, length prefix included. */
static void srv_frame(struct srv *s, const uint8_t *buf, size_t len) {
  enum { MAX_ELEMS = 32 };
  uint8_t *msgs[MAX_ELEMS];
  size_t lens[MAX_ELEMS], n = 0;
  bool compound = false;
  if (len < 4 + SMB2_HDR_SIZE)
    FUZZ_FAIL("the core sent a frame of %zu bytes", len);
  const uint8_t *p = buf + 4;
  size_t left = len - 4;
  for (;;) {
    struct smb2_hdr h;
    if (smb2_hdr_decode(p, left, &h) < 0)
      FUZZ_FAIL("the core sent a malformed header");
    size_t mlen = h.next_command ? h.next_command : left;
    if (h.command != SMB2_CANCEL) { /* a CANCEL has no reply */
      if (n == MAX_ELEMS)
        FUZZ_FAIL("a compound of more than %d requests", MAX_ELEMS);
      uint8_t fl = s->in.n ? fuzz_u8(&s->in) : 1;
      uint32_t status;
      size_t blen;
      const uint8_t *b;
      uint8_t *m = malloc(SMB2_HDR_SIZE + 80 * 1024);
      if (!m)
        abort();
      if (fl & 1) {
        blen = builtin(s, p, mlen, &status, m + SMB2_HDR_SIZE);
        b = m + SMB2_HDR_SIZE;
      } else {
        status = fuzz_u32(&s->in);
        b = fuzz_bytes(&s->in, fuzz_u16(&s->in), &blen);
      }
      if (n == 0)
        compound = fl & 4;
      if (fl & 2) { /* interim (MS-SMB2 3.3.4.2), its own frame */
        uint8_t im[SMB2_HDR_SIZE + 9] = {0};
        static const uint8_t err9[9] = {9};
        uint8_t *ip = im;
        size_t il = put_reply(im, &h, NT_STATUS_PENDING, true, err9, 9);
        put_frame(s, &ip, &il, 1);
      }
      if (s->trace) /* for writing seeds: the requests, in order */
        fprintf(stderr, "request %u (%s) mid %llu: %s reply, status %08x\n",
                h.command, smb2_cmd_desc(h.command)
                               ? smb2_cmd_desc(h.command)->name : "?",
                (unsigned long long)h.message_id,
                (fl & 1) ? "built-in" : "input", status);
      lens[n] = put_reply(m, &h, status, false, b, blen);
      msgs[n++] = m;
    }
    if (!h.next_command)
      break;
    if (h.next_command > left)
      FUZZ_FAIL("the core sent a bad NextCommand");
    p += h.next_command;
    left -= h.next_command;
  }
  if (compound) {
    put_frame(s, msgs, lens, n);
  } else {
    for (size_t i = 0; i < n; i++)
      put_frame(s, &msgs[i], &lens[i], 1);
  }
  for (size_t i = 0; i < n; i++)
    free(msgs[i]);
}

/* The core writes a byte stream (a WRITE's header and its data may come
 * in separate pieces, several frames in one): collect it and answer each
 * frame once it is whole (MS-SMB2 2.1: 4-byte length, then the message). */
static long srv_send(struct smbq_transport *t, const uint8_t *buf,
                     size_t len) {
  struct srv *s = (struct srv *)t;
  if (s->req_len + len > s->req_cap) {
    size_t cap = s->req_len + len + 65536;
    uint8_t *r = realloc(s->req, cap);
    if (!r)
      abort();
    s->req = r, s->req_cap = cap;
  }
  memcpy(s->req + s->req_len, buf, len);
  s->req_len += len;
  size_t off = 0;
  while (s->req_len - off >= 4) {
    uint32_t flen;
    smbq_get_be32(&flen, s->req + off);
    if (flen > (16u << 20))
      FUZZ_FAIL("the core sent a frame of %u bytes", flen);
    if (s->req_len - off < 4 + (size_t)flen)
      break;
    srv_frame(s, s->req + off, 4 + (size_t)flen);
    off += 4 + (size_t)flen;
  }
  memmove(s->req, s->req + off, s->req_len - off);
  s->req_len -= off;
  return (long)len;
}

static long srv_recv(struct smbq_transport *t, uint8_t *buf, size_t len) {
  struct srv *s = (struct srv *)t;
  size_t n = s->out_len - s->out_off;
  if (n > len)
    n = len;
  memcpy(buf, s->out + s->out_off, n);
  s->out_off += n;
  if (s->out_off == s->out_len)
    s->out_off = s->out_len = 0;
  return (long)n;
}

static int srv_step(struct smbq_transport *t, int64_t now_ms) {
  (void)t, (void)now_ms;
  return 1;
}

static int srv_fd(const struct smbq_transport *t) {
  return ((const struct srv *)t)->fd;
}

static uint32_t srv_events(const struct smbq_transport *t) {
  const struct srv *s = (const struct srv *)t;
  return SMBQ_TP_WANT_READ |
         (s->out_len > s->out_off ? SMBQ_TP_HAVE_DATA : 0);
}

static int64_t srv_deadline(const struct smbq_transport *t) {
  (void)t;
  return -1;
}

static void srv_destroy(struct smbq_transport *t) {
  struct srv *s = (struct srv *)t;
  close(s->fd);
  free(s->out);
  free(s->req);
  free(s->bind_ack);
  free(s->share_enum);
  free(s);
}

static const struct smbq_transport_ops srv_ops = {
    .name = "mem", .step = srv_step, .send = srv_send, .recv = srv_recv,
    .fd = srv_fd, .events = srv_events, .deadline = srv_deadline,
    .destroy = srv_destroy,
};

/* ---- the connection, as smbq_conn_connect() leaves it ---------------------- */

static int zero_random(void *user, uint8_t *buf, size_t n) {
  (void)user;
  memset(buf, 0x5A, n);
  return 0;
}

static smbq_conn *connect_mem(struct srv *s) {
  smbq_opts *o = smbq_opts_new();
  if (!o)
    abort();
  smbq_opts_set_leases(o, 0); /* breaks are fuzz_core_stream's */
  smbq_conn *c = smbq_conn_new(o);
  smbq_opts_free(o);
  if (!c)
    abort();
  snprintf(c->server, sizeof(c->server), "server.fuzz.test");
  c->neg.state = CORE_NEG_DONE;
  c->neg.dialect = SMB2_DIALECT_311;
  c->neg.max_read = c->neg.max_write = c->neg.max_transact = 65536;
  c->sess.state = CORE_SESS_VALID;
  c->sess.sec.session_id = SID;
  c->sess.enc_sec = c->sess.sec;
  c->session_valid = true;
  snprintf(c->auth_mech, sizeof(c->auth_mech), "NTLMv2");
  struct smb2_conn_env env = {.random = zero_random};
  struct smb2_conn *core = smb2_conn_new(&env);
  if (!core)
    abort();
  /* the credits NEGOTIATE and SESSION_SETUP would have granted: one
   * ECHO, answered by the built-in server */
  struct smb2_req *e = smb2_req_new(SMB2_ECHO, 4);
  if (!e)
    abort();
  smb2_req_set_body_len(e, (size_t)smb2_encode_echo_req(smb2_req_body(e), 4));
  const uint8_t *f;
  long n;
  size_t cap;
  uint8_t *in;
  struct fuzz_in keep = s->in;
  s->in.n = 0;
  if (smb2_conn_submit(core, e, 0) < 0 || (n = smb2_conn_pull(core, &f)) <= 0)
    abort();
  srv_send(&s->tp, f, (size_t)n);
  smb2_conn_sent(core, (size_t)n);
  if (!(in = smb2_conn_recv_buf(core, &cap)) ||
      smb2_conn_received(core, (size_t)srv_recv(&s->tp, in, cap)) < 0)
    abort();
  s->in = keep;
  c->io = smbq_io_start(core, &s->tp);
  if (!c->io)
    abort();
  return c;
}

/* ---- the calls --------------------------------------------------------------- */

static void file_ops(smbq_tree *t) {
  smbq_file *f;
  if (smbq_open(t, "dir/file.txt", SMBQ_O_RDWR, &f) < 0)
    return;
  size_t len = 200 * 1024;
  uint8_t *buf = malloc(len);
  if (!buf)
    abort();
  ssize_t n = smbq_pread(f, buf, len, 0);
  if (n > (ssize_t)len)
    FUZZ_FAIL("smbq_pread read %zd bytes into %zu", n, len);
  if (n > 0)
    fuzz_touch(buf, (size_t)n);
  memset(buf, 'w', 4096);
  smbq_pwrite(f, buf, 4096, 0);
  struct smbq_stat st;
  smbq_fstat(f, &st);
  struct smbq_file_info fi;
  smbq_file_get_info(f, &fi);
  smbq_fflush(f);
  smbq_ftruncate(f, 100);
  smbq_close_stat(f, &st);
  free(buf);
}

static void list_dir(smbq_tree *t) {
  smbq_dir *d;
  if (smbq_opendir(t, "dir", &d) < 0)
    return;
  struct smbq_dirent e;
  for (int i = 0; i < 4096 && smbq_readdir(d, &e) == 1; i++)
    fuzz_touch(e.name, strnlen(e.name, sizeof(e.name)));
  struct smbq_stat st;
  smbq_dir_stat(d, &st);
  smbq_closedir(d);
}

static void path_ops(smbq_tree *t) {
  struct smbq_stat st;
  smbq_rename(t, "dir/a.txt", "dir/b.txt", 1);
  smbq_unlink(t, "dir/b.txt");
  smbq_mkdir_stat(t, "dir/sub", &st);
  smbq_set_attributes(t, "dir/sub", SMB2_ATTR_HIDDEN);
  smbq_rmdir(t, "dir/sub");
}

static void shares(smbq_conn *c) {
  struct smbq_share_info *v;
  size_t n;
  if (smbq_share_enum(c, &v, &n) == 0) {
    for (size_t i = 0; i < n; i++) {
      fuzz_touch(v[i].name, strlen(v[i].name));
      fuzz_touch(v[i].comment, strlen(v[i].comment));
    }
    smbq_share_enum_free(v, n);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct fuzz_in in = {data, size};
  uint8_t plan = fuzz_u8(&in);
  struct srv *s = calloc(1, sizeof(*s));
  if (!s)
    abort();
  s->tp.ops = &srv_ops;
  s->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (s->fd < 0)
    abort();
  s->in = in;
  s->trace = getenv("SMBQ_FUZZ_TRACE") != NULL;
  s->bind_ack = from_hex(vec_rpc_bind_ack, &s->bind_ack_len);
  s->share_enum = from_hex(vec_rpc_share_enum_rsp, &s->share_enum_len);
  smbq_conn *c = connect_mem(s); /* the I/O thread owns s from now on */
  smbq_tree *t;
  if (smbq_tree_connect(c, "share", &t) == 0) {
    struct smbq_stat st;
    struct smbq_statvfs sv;
    if (plan & 1)
      smbq_stat(t, "dir/file.txt", &st);
    if (plan & 2)
      smbq_statvfs(t, &sv);
    if (plan & 4)
      file_ops(t);
    if (plan & 8)
      list_dir(t);
    if (plan & 16) {
      static const uint8_t small[100] = "small";
      smbq_put_small(t, "dir/small.txt", SMBQ_O_CREAT | SMBQ_O_TRUNC, small,
                     sizeof(small), NULL, &st);
    }
    if (plan & 32)
      path_ops(t);
    if (plan & 64)
      smbq_tree_disconnect(t);
  }
  if (plan & 128)
    shares(c);
  if (getenv("SMBQ_FUZZ_TRACE")) {
    char msg[1024];
    fprintf(stderr, "last error: %s\n",
            smbq_conn_errmsg(c, msg, sizeof(msg)));
  }
  smbq_conn_free(c);
  return 0;
}
