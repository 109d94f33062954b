/* Open files: CREATE/CLOSE, pipelined READ/WRITE, FLUSH, size and
 * attributes (MS-SMB2 3.2.4.3 - 3.2.4.7). */
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "api/fileops.h"
#include "api/conn_internal.h"
#include "api/file_ext.h"
#include "api/lease.h"
#include "smb2/smb2_pdu.h"
#include "smbq_bytes.h"

/* Each READ/WRITE carries at most this much: small enough that many are in
 * flight inside the credit window, large enough to amortise per-request
 * cost. MS-SMB2 3.2.4.1.5: larger than 64 KiB needs multi-credit. */
#define IO_CHUNK (1024u * 1024u)
/* Requests of one call built and in flight at once: the rest are built
 * as these complete, so a call of any size holds at most this many
 * requests (a write's data is sent from the caller's buffer, not copied
 * into them, except when encrypted or compounded), and 16 MiB
 * in flight covers the bandwidth-delay product of a 1 Gbit/s path at
 * 100 ms. */
#define RW_WINDOW 16

uint32_t api_open_disposition(unsigned flags) {
  if ((flags & SMBQ_O_CREAT) && (flags & SMBQ_O_EXCL))
    return SMB2_FILE_CREATE;
  if ((flags & SMBQ_O_CREAT) && (flags & SMBQ_O_TRUNC))
    return SMB2_FILE_OVERWRITE_IF;
  if (flags & SMBQ_O_CREAT)
    return SMB2_FILE_OPEN_IF;
  if (flags & SMBQ_O_TRUNC)
    return SMB2_FILE_OVERWRITE;
  return SMB2_FILE_OPEN;
}

static uint32_t open_access(unsigned flags) {
  uint32_t rd = SMB2_FILE_READ_DATA | SMB2_FILE_READ_ATTRIBUTES;
  uint32_t wr = SMB2_FILE_WRITE_DATA | SMB2_FILE_APPEND_DATA |
                SMB2_FILE_WRITE_ATTRIBUTES | SMB2_FILE_READ_ATTRIBUTES;
  switch (flags & 3u) {
  case SMBQ_O_WRONLY:
    return wr | SMB2_SYNCHRONIZE;
  case SMBQ_O_RDWR:
    return rd | wr | SMB2_SYNCHRONIZE;
  default:
    return rd | SMB2_SYNCHRONIZE;
  }
}

/* The rights an open asks for: a file opened for writing may hold back
 * writes (WRITE); every open may cache data (READ) and its handle
 * (HANDLE). */
static uint32_t lease_want(unsigned flags) {
  uint32_t want = SMB2_LEASE_READ | SMB2_LEASE_HANDLE;
  return (flags & 3u) ? want | SMB2_LEASE_WRITE : want;
}

/* What a handle knows of its file's attributes, kept current (the
 * smbq_file a caller holds is the first member: file.c allocates every
 * smbq_file this way). The CREATE reply gives them; a WRITE or a
 * truncate through the handle moves the size (known) and the server's
 * change and write times (not known until the server is asked: a QUERY_INFO
 * or the CLOSE reply). A handle the handle cache hands out again goes on
 * with what it knew, so smbq_file_get_info does not report the CREATE
 * reply of an open made long before. */
struct file_ext {
  struct smbq_file f;
  pthread_mutex_t mu;     /* the I/O thread updates st on completions */
  struct smbq_stat st;
  bool times_known;       /* st's write and change times are the server's */
};

static struct file_ext *file_ext(smbq_file *f) {
  return (struct file_ext *)f;
}

void api_create_rsp_stat(const struct smb2_create_rsp *cr,
                         struct smbq_stat *st) {
  memset(st, 0, sizeof(*st));
  st->type = (cr->attributes & SMB2_ATTR_DIRECTORY) ? SMBQ_TYPE_DIR
                                                    : SMBQ_TYPE_FILE;
  st->size = cr->end_of_file;
  st->alloc_size = cr->allocation_size;
  st->attributes = cr->attributes;
  st->btime = api_filetime_to_ts(cr->times.creation);
  st->atime = api_filetime_to_ts(cr->times.last_access);
  st->mtime = api_filetime_to_ts(cr->times.last_write);
  st->ctime = api_filetime_to_ts(cr->times.change);
}

void api_close_rsp_stat(const struct smb2_close_rsp *r, struct smbq_stat *st) {
  memset(st, 0, sizeof(*st));
  st->type = (r->attributes & SMB2_ATTR_DIRECTORY) ? SMBQ_TYPE_DIR
                                                   : SMBQ_TYPE_FILE;
  st->size = r->end_of_file;
  st->alloc_size = r->allocation_size;
  st->attributes = r->attributes;
  st->btime = api_filetime_to_ts(r->times.creation);
  st->atime = api_filetime_to_ts(r->times.last_access);
  st->mtime = api_filetime_to_ts(r->times.last_write);
  st->ctime = api_filetime_to_ts(r->times.change);
}

/* Our own WRITE (end: its end offset) or truncate (to `size`) went
 * through: the size is known, the server's times moved on. */
static void note_size(smbq_file *f, uint64_t size, bool grow_only) {
  struct file_ext *x = file_ext(f);
  pthread_mutex_lock(&x->mu);
  if (!grow_only || size > x->st.size)
    x->st.size = size;
  x->times_known = false;
  pthread_mutex_unlock(&x->mu);
}

/* The server told us the attributes (QUERY_INFO). */
static void note_stat(smbq_file *f, const struct smbq_stat *st) {
  struct file_ext *x = file_ext(f);
  pthread_mutex_lock(&x->mu);
  x->st = *st;
  x->times_known = true;
  pthread_mutex_unlock(&x->mu);
}

/* What the handle knows; times it does not know are 0. */
static void known_stat(smbq_file *f, struct smbq_stat *st) {
  struct file_ext *x = file_ext(f);
  pthread_mutex_lock(&x->mu);
  *st = x->st;
  if (!x->times_known) {
    st->mtime = (struct timespec){0, 0};
    st->ctime = (struct timespec){0, 0};
  }
  pthread_mutex_unlock(&x->mu);
}

/* MS-SMB2 3.2.4.3.5: ask for a durable handle on opens that ask for
 * HANDLE caching (a lease, or a batch oplock): DH2Q with a fresh
 * CreateGuid on 3.x (persistent on a continuously available share of a
 * server that offers persistent handles), DHnQ before. What is granted
 * lets a reconnect reclaim the open. */
static bool durable_req(smbq_tree *t, struct smb2_durable_req *dh) {
  smbq_conn *c = t->conn;
  if (core_leases_mode(c->leases) == CORE_LEASE_OFF)
    return false;
  memset(dh, 0, sizeof(*dh));
  if (c->neg.dialect < SMB2_DIALECT_300) {
    dh->version = 1;
    return true;
  }
  dh->version = 2;
  if ((t->core.share_caps & SMB2_SHARE_CAP_CONTINUOUS_AVAILABILITY) &&
      (c->neg.server_caps & SMB2_GLOBAL_CAP_PERSISTENT_HANDLES))
    dh->flags = SMB2_DHANDLE_FLAG_PERSISTENT;
  return api_random(c, dh->create_guid, sizeof(dh->create_guid)) == 0;
}

/* A step of an open's state machine, run from the caller's thread. */
struct open_run {
  struct api_core_call w;      /* first */
  smbq_file *f;
  const char *path;
  struct core_create_spec spec;
  uint16_t close_flags;
};

static void open_done(void *arg, struct core_open *o) {
  (void)o;
  api_core_done(arg);
}

static int open_start(struct api_core_call *w, struct smb2_conn *core) {
  struct open_run *r = (struct open_run *)w;
  smbq_tree *t = r->f->tree;
  return core_open_start(&r->f->open, core, &t->core, t->conn->leases,
                         r->path, &r->spec, false, open_done, w);
}

static int close_start(struct api_core_call *w, struct smb2_conn *core) {
  struct open_run *r = (struct open_run *)w;
  return core_open_close(&r->f->open, core, r->close_flags, open_done, w);
}

/* Every open asks the server (the name is the server's to resolve: a
 * handle we keep open may have been renamed away by another client, which
 * a server need not tell us). The core's open state machine retries with
 * a new lease key when ours turns out to be another file's. */
int smbq_open(smbq_tree *t, const char *path, unsigned flags,
              smbq_file **out) {
  if (!t || !path || !out)
    return SMBQ_ERR_INVAL;
  smbq_conn *c = t->conn;
  struct file_ext *x = calloc(1, sizeof(*x));
  if (!x)
    return SMBQ_ERR_NOMEM;
  smbq_file *f = &x->f;
  f->tree = t;
  f->flags = flags;
  struct open_run r = {.w.start = open_start, .f = f, .path = path};
  r.spec = (struct core_create_spec){
      .access = open_access(flags),
      .disposition = api_open_disposition(flags),
      .options = SMB2_FILE_NON_DIRECTORY_FILE,
      .attributes = SMB2_ATTR_NORMAL,
      .lease_want = lease_want(flags),
  };
  struct smb2_durable_req dh;
  if (durable_req(t, &dh))
    r.spec.durable = &dh;
  int rc = api_core_run(c, &r.w);
  if (rc == 0 && f->open.state != CORE_OPEN_OPEN)
    rc = f->open.rc ? f->open.rc : SMBQ_ERR_PROTO;
  if (rc < 0) {
    uint32_t status = f->open.status;
    free(x);
    return api_fail(c, rc, status, "cannot open '%s'", path);
  }
  pthread_mutex_init(&x->mu, NULL);
  api_create_rsp_stat(&f->open.created, &x->st);
  x->times_known = true;
  *out = f;
  return 0;
}

struct adopt_run {
  smbq_file *f;
  const char *path;
  const struct smb2_create_rsp *created;
  struct core_lease *lease;
};

/* On the I/O thread: the tree's list of opens is the core's. */
static void adopt_kick(void *arg, struct smb2_conn *core) {
  (void)core;
  struct adopt_run *a = arg;
  smbq_tree *t = a->f->tree;
  core_open_adopt(&a->f->open, &t->core, t->conn->leases, a->path,
                  a->created, a->lease, true);
}

smbq_file *api_file_adopt(smbq_tree *t, const char *path,
                          const struct smb2_create_rsp *created,
                          struct core_lease *lease) {
  struct file_ext *x = calloc(1, sizeof(*x));
  if (!x)
    return NULL;
  smbq_file *f = &x->f;
  f->tree = t;
  f->flags = SMBQ_O_RDONLY;
  struct adopt_run a = {f, path, created, lease};
  if (smbq_io_run(t->conn->io, adopt_kick, &a) < 0) {
    free(x);
    return NULL;
  }
  pthread_mutex_init(&x->mu, NULL);
  api_create_rsp_stat(created, &x->st);
  x->times_known = true;
  return f;
}

/* The real CLOSE; with st, the attributes after it (POSTQUERY_ATTRIB;
 * what the handle knew if the server sent none). Frees f. */
static int close_now(smbq_file *f, struct smbq_stat *st) {
  smbq_conn *c = f->tree->conn;
  struct open_run r = {.w.start = close_start,
                       .f = f,
                       .close_flags = st ? SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB
                                         : 0};
  int rc = api_core_run(c, &r.w);
  if (rc == 0)
    rc = f->open.rc;
  if (rc < 0)
    api_fail(c, rc, f->open.status, "closing '%s' failed", f->open.path);
  if (rc == 0 && st) {
    uint64_t id = file_ext(f)->st.file_id; /* CLOSE has none */
    if (f->open.have_closed)
      api_close_rsp_stat(&f->open.closed, st);
    else
      known_stat(f, st);
    st->file_id = id;
  }
  api_lease_release(f->tree, f->open.path, core_open_take_lease(&f->open));
  pthread_mutex_destroy(&file_ext(f)->mu);
  free(file_ext(f));
  return rc;
}

int api_file_close_now(smbq_file *f) { return close_now(f, NULL); }

int smbq_close_stat(smbq_file *f, struct smbq_stat *st) {
  if (!f)
    return SMBQ_ERR_INVAL;
  /* Every write was acknowledged already: keeping the handle open under
   * HANDLE caching holds nothing back from the server. Its lease keeps
   * others from changing the file: what it knows is current. */
  if (st)
    known_stat(f, st);
  if (api_cache_put(f))
    return 0;
  return close_now(f, st);
}

int smbq_close(smbq_file *f) { return smbq_close_stat(f, NULL); }

int smbq_file_get_info(smbq_file *f, struct smbq_file_info *i) {
  if (!f || !i)
    return SMBQ_ERR_INVAL;
  smbq_conn *c = f->tree->conn;
  const struct smb2_create_rsp *cr = &f->open.created;
  memset(i, 0, sizeof(*i));
  i->cache = core_lease_state_settled(c->leases, f->open.lease);
  i->lease_version = core_lease_version(c->leases, f->open.lease);
  i->oplock_level = cr->oplock_level;
  i->created = cr->create_action == SMB2_FILE_CREATED;
  i->durable = f->open.durable.version;
  i->persistent = (f->open.durable.flags & SMB2_DHANDLE_FLAG_PERSISTENT) != 0;
  i->durable_timeout_ms = f->open.durable.timeout_ms;
  known_stat(f, &i->st);
  return 0;
}

size_t smbq_file_io_size(const smbq_file *f) {
  smbq_conn *c = f->tree->conn;
  size_t m =
      c->neg.max_read < c->neg.max_write ? c->neg.max_read : c->neg.max_write;
  return m < IO_CHUNK ? m : IO_CHUNK;
}

/* ---- pipelined READ/WRITE ------------------------------------------- */

/* One smbq_pread/pwrite split into chunks, built lazily: the caller
 * builds and submits the first RW_WINDOW, and each completion (on the I/O
 * thread) builds the next one, so memory stays bounded by the window
 * whatever the length. `next` is the caller's until the first batch is
 * submitted and the I/O thread's after; `remaining` (chunks not yet
 * finished, built or not) is atomic only because the submitting thread may
 * still hold the op when the first replies arrive. */
struct rw_op {
  smbq_file *f;
  uint8_t *dst;          /* reads */
  const uint8_t *src;    /* writes */
  size_t len;
  uint64_t off;
  bool write;
  size_t chunk;          /* bytes per request */
  size_t n_chunks, next; /* in all; the next one to build */
  atomic_int remaining;
  int err;
  uint32_t status;
  size_t done_to;        /* reads: end of the contiguous data */
  smbq_io_cb cb;
  void *arg;
  pthread_t caller;      /* a failure is this thread's (smbq_conn_errmsg) */
};

struct rw_chunk {
  struct rw_op *op;
  size_t rel;            /* offset of the chunk inside the op */
  uint32_t len;
  size_t placed;         /* reads: data the core put at dst + rel itself */
};

static void op_finish(struct rw_op *op) {
  if (atomic_fetch_sub(&op->remaining, 1) != 1)
    return;
  smbq_conn *c = op->f->tree->conn;
  ssize_t res = op->err ? op->err
                        : (ssize_t)(op->write ? op->len : op->done_to);
  if (op->write && (op->err == 0 || op->err == SMBQ_ERR_NOSPACE))
    note_size(op->f, op->off + op->len, true); /* NOSPACE: maybe some */
  if (op->err)
    api_fail_for(c, op->caller, op->err, op->status,
                 "%s '%s' at offset %llu failed",
                 op->write ? "writing" : "reading", op->f->open.path,
                 (unsigned long long)op->off);
  smbq_io_cb cb = op->cb;
  void *arg = op->arg;
  free(op);
  cb(arg, res);
}

static void set_err(struct rw_op *op, int err, uint32_t status) {
  if (!op->err) {
    op->err = err;
    op->status = status;
  }
}

static void submit_next(struct rw_op *op);

static void read_done(void *arg, int err, uint32_t status,
                      const uint8_t *msg, size_t len) {
  struct rw_chunk *ch = arg;
  struct rw_op *op = ch->op;
  size_t got = 0;
  if (err < 0) {
    set_err(op, err, 0);
  } else if (status == NT_STATUS_SUCCESS && ch->placed) {
    got = ch->placed; /* already in op->dst + ch->rel (smb2_req.dst) */
  } else if (status == NT_STATUS_SUCCESS) {
    /* a reply the core could not place (smb2_conn.h): copy its data */
    struct smb2_read_rsp r;
    if (smb2_decode_read_rsp(msg, len, &r) < 0 || r.data_len > ch->len) {
      set_err(op, SMBQ_ERR_PROTO, 0);
    } else {
      if (r.data_len) /* a server may answer success with no data */
        memcpy(op->dst + ch->rel, r.data, r.data_len);
      got = r.data_len;
    }
  } else if (status != NT_STATUS_END_OF_FILE) {
    int e = api_status_err(status);
    set_err(op, e ? e : SMBQ_ERR_PROTO, status);
  }
  /* A short chunk marks end of file: data is contiguous only up to it. */
  if (got < ch->len && ch->rel + got < op->done_to)
    op->done_to = ch->rel + got;
  free(ch);
  submit_next(op);
  op_finish(op);
}

static void write_done(void *arg, int err, uint32_t status,
                       const uint8_t *msg, size_t len) {
  struct rw_chunk *ch = arg;
  struct rw_op *op = ch->op;
  uint32_t count = 0;
  if (err < 0)
    set_err(op, err, 0);
  else if (status != NT_STATUS_SUCCESS)
    set_err(op, api_status_err(status) ? api_status_err(status)
                                        : SMBQ_ERR_PROTO,
            status);
  else if (smb2_decode_write_rsp(msg, len, &count) < 0)
    set_err(op, SMBQ_ERR_PROTO, 0);
  else if (count != ch->len)
    set_err(op, SMBQ_ERR_NOSPACE, 0); /* short write: disk full/quota */
  free(ch);
  submit_next(op);
  op_finish(op);
}

/* A WRITE of n bytes at src (MS-SMB2 2.2.21): the body is the fixed part
 * only and the data goes from the caller's buffer to the transport as the
 * request's external data (smb2_req.data), which the caller of
 * smbq_pwrite keeps valid until this chunk's callback. The fixed part is
 * encoded as for an empty write, then Length is set: DataOffset stays
 * 0x70, where the data follows. */
static void write_body(struct smb2_req *r, const uint8_t fid[16],
                       uint64_t off, const uint8_t *src, uint32_t n) {
  uint8_t *b = smb2_req_body(r);
  long bl = smb2_encode_write_req(b, smb2_req_body_cap(r), fid, off, NULL, 0);
  if (n == 0) { /* StructureSize 49 counts one buffer byte */
    smb2_req_set_body_len(r, (size_t)bl);
    return;
  }
  smbq_put_le32(b + 4, n); /* Length */
  smb2_req_set_body_len(r, (size_t)bl - 1);
  r->data = src;
  r->data_len = n;
}

/* The request for chunk i of op. */
static struct smb2_req *chunk_req(struct rw_op *op, size_t i) {
  smbq_file *f = op->f;
  smbq_conn *c = f->tree->conn;
  size_t rel = i * op->chunk;
  uint32_t n = (uint32_t)(op->len - rel < op->chunk ? op->len - rel
                                                    : op->chunk);
  struct rw_chunk *ch = calloc(1, sizeof(*ch));
  /* both bodies fit 49 bytes: a WRITE's data is not copied in */
  struct smb2_req *r =
      ch ? api_req(c, f->tree, op->write ? SMB2_WRITE : SMB2_READ, 49)
         : NULL;
  if (!r) {
    free(ch);
    return NULL;
  }
  if (op->write)
    write_body(r, f->open.file_id, op->off + rel, op->src + rel, n);
  else
    smb2_req_set_body_len(
        r, (size_t)smb2_encode_read_req(smb2_req_body(r), smb2_req_body_cap(r),
                                        f->open.file_id, op->off + rel, n));
  r->payload_size = n;
  if (!op->write) {
    r->dst = op->dst + rel;
    r->dst_cap = n;
    r->placed = &ch->placed;
  }
  ch->op = op;
  ch->rel = rel;
  ch->len = n;
  r->done = op->write ? write_done : read_done;
  r->arg = ch;
  return r;
}

static void free_req(struct smb2_req *r) {
  if (r)
    free(r->arg);
  smb2_req_free(r);
}

/* Nothing more will be built (an error, or end of file reached): the
 * chunks never built count as finished. Runs while the calling chunk is
 * still unfinished, so the op outlives this. */
static void drop_unbuilt(struct rw_op *op) {
  size_t k = op->n_chunks - op->next;
  op->next = op->n_chunks;
  atomic_fetch_sub(&op->remaining, (int)k);
}

/* On the I/O thread, as a chunk completes: build and submit the next. */
static void submit_next(struct rw_op *op) {
  if (op->next == op->n_chunks)
    return;
  bool at_eof = !op->write && op->done_to < op->len;
  if (op->err || at_eof) {
    drop_unbuilt(op);
    return;
  }
  struct smb2_req *r = chunk_req(op, op->next);
  if (!r) {
    set_err(op, SMBQ_ERR_NOMEM, 0);
    drop_unbuilt(op);
    return;
  }
  op->next++;
  int rc = smbq_io_submit(op->f->tree->conn->io, r);
  if (rc < 0) {
    free_req(r);
    op->next--;
    set_err(op, rc, 0);
    drop_unbuilt(op);
  }
}

static int rw_submit(smbq_file *f, bool write, uint8_t *dst,
                     const uint8_t *src, size_t len, uint64_t off,
                     smbq_io_cb cb, void *arg) {
  if (!f || !cb || (len && !(write ? (const void *)src : (void *)dst)))
    return SMBQ_ERR_INVAL;
  size_t chunk = smbq_file_io_size(f);
  size_t n = len ? (len + chunk - 1) / chunk : 1;
  if (len > SSIZE_MAX || n > INT_MAX)
    return SMBQ_ERR_INVAL; /* the result is an ssize_t */
  size_t first = n < RW_WINDOW ? n : RW_WINDOW;
  struct rw_op *op = calloc(1, sizeof(*op));
  struct smb2_req *reqs[RW_WINDOW] = {NULL};
  if (!op)
    return SMBQ_ERR_NOMEM;
  *op = (struct rw_op){.f = f, .dst = dst, .src = src, .len = len,
                       .off = off, .write = write, .chunk = chunk,
                       .n_chunks = n, .next = first, .done_to = len,
                       .cb = cb, .arg = arg, .caller = pthread_self()};
  atomic_init(&op->remaining, (int)n);
  for (size_t i = 0; i < first; i++) {
    reqs[i] = chunk_req(op, i);
    if (!reqs[i]) {
      for (size_t k = 0; k < i; k++)
        free_req(reqs[k]);
      free(op);
      return SMBQ_ERR_NOMEM;
    }
  }
  int rc = smbq_io_submit_batch(f->tree->conn->io, reqs, first);
  if (rc < 0) {
    for (size_t k = 0; k < first; k++)
      free_req(reqs[k]);
    free(op);
  }
  return rc;
}

int smbq_pread_async(smbq_file *f, void *buf, size_t len, uint64_t off,
                     smbq_io_cb cb, void *arg) {
  return rw_submit(f, false, buf, NULL, len, off, cb, arg);
}

int smbq_pwrite_async(smbq_file *f, const void *buf, size_t len,
                      uint64_t off, smbq_io_cb cb, void *arg) {
  return rw_submit(f, true, NULL, buf, len, off, cb, arg);
}

struct sync_wait {
  pthread_mutex_t m;
  pthread_cond_t cv;
  bool done;
  ssize_t res;
};

static void sync_done(void *arg, ssize_t res) {
  struct sync_wait *w = arg;
  pthread_mutex_lock(&w->m);
  w->res = res;
  w->done = true;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->m);
}

static ssize_t rw_sync(smbq_file *f, bool write, void *dst, const void *src,
                       size_t len, uint64_t off) {
  if (!f)
    return SMBQ_ERR_INVAL;
  if (smbq_io_on_thread(f->tree->conn->io))
    return SMBQ_ERR_INVAL;
  struct sync_wait w = {.done = false};
  pthread_mutex_init(&w.m, NULL);
  pthread_cond_init(&w.cv, NULL);
  int rc = rw_submit(f, write, dst, src, len, off, sync_done, &w);
  if (rc == 0) {
    pthread_mutex_lock(&w.m);
    while (!w.done)
      pthread_cond_wait(&w.cv, &w.m);
    pthread_mutex_unlock(&w.m);
  }
  pthread_mutex_destroy(&w.m);
  pthread_cond_destroy(&w.cv);
  return rc < 0 ? rc : w.res;
}

ssize_t smbq_pread(smbq_file *f, void *buf, size_t len, uint64_t off) {
  return rw_sync(f, false, buf, NULL, len, off);
}

ssize_t smbq_pwrite(smbq_file *f, const void *buf, size_t len,
                    uint64_t off) {
  return rw_sync(f, true, NULL, buf, len, off);
}

/* ---- flush, size, stat -------------------------------------------------- */

int smbq_fflush(smbq_file *f) {
  if (!f)
    return SMBQ_ERR_INVAL;
  smbq_conn *c = f->tree->conn;
  struct smb2_req *r = api_req(c, f->tree, SMB2_FLUSH, 24);
  if (!r)
    return SMBQ_ERR_NOMEM;
  smb2_req_set_body_len(
      r, (size_t)smb2_encode_flush_req(smb2_req_body(r), 24, f->open.file_id));
  uint32_t status = 0;
  int rc = api_call1(c, r, NULL, NULL, &status);
  return rc < 0 ? api_fail(c, rc, status, "flushing '%s' failed", f->open.path)
                : 0;
}

int smbq_ftruncate(smbq_file *f, uint64_t size) {
  if (!f)
    return SMBQ_ERR_INVAL;
  uint8_t buf[8];
  smb2_encode_eof_info(buf, sizeof(buf), size);
  struct smb2_req *r = api_set_info_req(f->tree, f->open.file_id,
                                        SMB2_FILE_END_OF_FILE_INFORMATION,
                                        buf, sizeof(buf));
  if (!r)
    return SMBQ_ERR_NOMEM;
  uint32_t status = 0;
  int rc = api_call1(f->tree->conn, r, NULL, NULL, &status);
  if (rc < 0)
    return api_fail(f->tree->conn, rc, status, "truncating '%s' failed",
                    f->open.path);
  note_size(f, size, false);
  return 0;
}

int smbq_fset_times(smbq_file *f, const struct timespec *atime,
                    const struct timespec *mtime) {
  if (!f || (f->flags & 3u) == SMBQ_O_RDONLY)
    return SMBQ_ERR_INVAL;
  struct smb2_file_times ft = {0, 0, 0, 0}; /* 0: unchanged */
  if (atime)
    ft.last_access = api_ts_to_filetime(atime);
  if (mtime)
    ft.last_write = api_ts_to_filetime(mtime);
  uint8_t buf[40];
  smb2_encode_basic_info(buf, sizeof(buf), &ft, 0);
  struct smb2_req *r = api_set_info_req(f->tree, f->open.file_id,
                                        SMB2_FILE_BASIC_INFORMATION, buf,
                                        sizeof(buf));
  if (!r)
    return SMBQ_ERR_NOMEM;
  uint32_t status = 0;
  int rc = api_call1(f->tree->conn, r, NULL, NULL, &status);
  if (rc < 0)
    return api_fail(f->tree->conn, rc, status,
                    "cannot change the times of '%s'", f->open.path);
  struct file_ext *x = file_ext(f);
  pthread_mutex_lock(&x->mu);
  if (atime)
    x->st.atime = *atime;
  if (mtime)
    x->st.mtime = *mtime;
  pthread_mutex_unlock(&x->mu);
  return 0;
}

int smbq_fstat(smbq_file *f, struct smbq_stat *st) {
  if (!f || !st)
    return SMBQ_ERR_INVAL;
  struct smb2_req *r = api_query_info_req(f->tree, f->open.file_id,
                                          SMB2_0_INFO_FILE,
                                          SMB2_FILE_ALL_INFORMATION);
  if (!r)
    return SMBQ_ERR_NOMEM;
  uint32_t status = 0;
  int rc = api_call1(f->tree->conn, r, api_parse_all_info, st, &status);
  if (rc < 0)
    return api_fail(f->tree->conn, rc, status, "cannot stat '%s'",
                    f->open.path);
  note_stat(f, st);
  return 0;
}
