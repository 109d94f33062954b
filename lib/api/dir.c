/* Directory listing (MS-SMB2 3.2.4.17): smbq_opendir sends CREATE, two
 * QUERY_DIRECTORY requests and the CLOSE on its handle as one related
 * compound (3.2.4.1.4): a directory whose entries fit in the first reply
 * (up to 1 MiB of FileIdBothDirectoryInformation; the second then answers
 * STATUS_NO_MORE_FILES) is listed, handle closed, in one round trip.
 * A larger one is listed again without the CLOSE (one wasted round trip)
 * and goes on with one QUERY_DIRECTORY per round trip. Entries are handed
 * out one at a time, in order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/file_ext.h"
#include "api/fileops.h"
#include "api/lease.h"
#include "smbq_utf16.h"

#define DIR_BUF (64 * 1024)
/* The first compound's replies: most directories fit (about 8000 entries
 * of usual name lengths). Bounded by what the server transacts. */
#define DIR_BUF_FIRST (1024 * 1024)
/* Replies fetched but not yet handed out: the compound's two. */
#define DIR_QUEUE 2

/* What one QUERY_DIRECTORY answered. */
struct dir_batch {
  uint8_t *data;        /* the entries (owned copy), NULL if none */
  size_t len;
  bool end;             /* STATUS_NO_MORE_FILES, or an empty success */
  int rc;               /* an error to report when this batch's turn comes */
  uint32_t status;
};

struct smbq_dir {
  smbq_tree *tree;
  uint8_t file_id[16];
  uint8_t *buf;         /* entries being handed out (owned) */
  struct smb2_dir_iter it;
  struct dir_batch queue[DIR_QUEUE]; /* replies waiting their turn */
  size_t nq;
  bool eof;
  bool closed;          /* the handle went with the first compound */
  char path[1024];
  /* a directory lease (servers with SMB2_GLOBAL_CAP_DIRECTORY_LEASING):
   * the listing stays valid until a break */
  struct core_lease *lease;
  struct smb2_create_rsp created;
};

/* On the I/O thread: the handle, and the directory lease's grant while
 * the reply is at hand. */
static int parse_create(void *ctx, uint32_t status, const uint8_t *msg,
                        size_t len) {
  smbq_dir *d = ctx;
  (void)status;
  struct smb2_create_rsp *r = &d->created;
  int rc = smb2_decode_create_rsp(msg, len, r);
  if (rc < 0)
    return rc;
  memcpy(d->file_id, r->file_id, 16);
  core_lease_granted(d->tree->conn->leases, d->lease, r);
  r->contexts = NULL; /* they point into the reply */
  r->contexts_len = 0;
  return 0;
}

/* MS-SMB2 3.2.4.3.8: directory leases on 3.x where the server offers
 * them (Windows Server; Samba 4.17 does not). */
static bool dir_leasing(const smbq_conn *c) {
  return core_leases_mode(c->leases) == CORE_LEASE_V2 &&
         (c->neg.server_caps & SMB2_GLOBAL_CAP_DIRECTORY_LEASING);
}

/* A QUERY_DIRECTORY reply into a batch (on the I/O thread). A success with
 * OutputBufferLength 0 has no entries: the end, as NO_MORE_FILES. */
static int parse_query(void *ctx, uint32_t status, const uint8_t *msg,
                       size_t len) {
  struct dir_batch *b = ctx;
  if (status == NT_STATUS_NO_MORE_FILES) {
    b->end = true;
    return 0;
  }
  if (status) /* another warning: nothing we know how to read */
    return SMBQ_ERR_PROTO;
  const uint8_t *buf;
  size_t blen;
  int rc = smb2_decode_query_dir_rsp(msg, len, &buf, &blen);
  if (rc < 0)
    return rc;
  if (blen == 0 || !buf) {
    b->end = true;
    return 0;
  }
  b->data = malloc(blen);
  if (!b->data)
    return SMBQ_ERR_NOMEM;
  memcpy(b->data, buf, blen);
  b->len = blen;
  return 0;
}

static struct smb2_req *query_req(smbq_tree *t, const uint8_t fid[16],
                                  uint8_t flags, uint32_t buf_len) {
  static const uint8_t star[2] = {'*', 0};
  struct smb2_query_dir_req q = {
      .info_class = SMB2_FILE_ID_BOTH_DIRECTORY_INFORMATION,
      .flags = flags,
      .pattern = star,
      .pattern_len = 2,
      .output_len = buf_len,
  };
  memcpy(q.file_id, fid, 16);
  struct smb2_req *r = api_req(t->conn, t, SMB2_QUERY_DIRECTORY, 34);
  if (!r)
    return NULL;
  long n = smb2_encode_query_dir_req(smb2_req_body(r), smb2_req_body_cap(r),
                                     &q);
  if (n < 0) {
    smb2_req_free(r);
    return NULL;
  }
  smb2_req_set_body_len(r, (size_t)n);
  r->payload_size = buf_len;
  return r;
}

/* Queue a reply's result: its entries, its end, or its error. */
static void enqueue(smbq_dir *d, struct dir_batch *b,
                    const struct api_elem *e) {
  if (e->rc < 0) {
    free(b->data);
    *b = (struct dir_batch){.rc = e->rc, .status = e->status};
  }
  d->queue[d->nq++] = *b;
}

static void close_handle(smbq_dir *d) {
  struct smb2_req *r = api_close_req(d->tree, d->file_id);
  if (r)
    api_call1(d->tree->conn, r, NULL, NULL, NULL);
}

static void drop_queue(smbq_dir *d) {
  for (size_t i = 0; i < d->nq; i++)
    free(d->queue[i].data);
  d->nq = 0;
}

/* CREATE + QUERY_DIRECTORY (RESTART_SCANS) + QUERY_DIRECTORY (+ CLOSE),
 * related. Returns 1 when the listing is complete (the second reply's
 * end, or an error reported in turn), 0 when more entries wait on the
 * server, or an error of the CREATE. */
static int open_and_list(smbq_dir *d, const char *path, bool with_close) {
  smbq_tree *t = d->tree;
  struct core_create_spec spec = {
      .access = SMB2_FILE_LIST_DIRECTORY | SMB2_FILE_READ_ATTRIBUTES |
                SMB2_SYNCHRONIZE,
      .disposition = SMB2_FILE_OPEN,
      .options = SMB2_FILE_DIRECTORY_FILE,
  };
  uint32_t buf = t->conn->neg.max_transact < DIR_BUF_FIRST
                     ? t->conn->neg.max_transact
                     : DIR_BUF_FIRST;
  if (dir_leasing(t->conn)) {
    /* the handle carries the lease: it stays open (closedir may keep it
     * for a while, as for files) */
    d->lease = core_lease_get(t->conn->leases, t->core.tree_id, path, true);
    spec.lease = d->lease;
    spec.lease_want = SMB2_LEASE_READ | SMB2_LEASE_HANDLE;
    with_close = false;
  }
  struct smb2_req *cr =
      core_create_req(&t->core, t->conn->leases, path, &spec);
  if (!cr) {
    api_lease_release(t, path, d->lease);
    d->lease = NULL;
    return api_fail(t->conn, SMBQ_ERR_INVAL, 0, "bad path '%s'", path);
  }
  struct smb2_req *q1 =
      query_req(t, smb2_related_file_id, SMB2_RESTART_SCANS, buf);
  struct smb2_req *q2 = query_req(t, smb2_related_file_id, 0, buf);
  struct smb2_req *cl =
      with_close ? api_close_req(t, smb2_related_file_id) : NULL;
  if (!q1 || !q2 || (with_close && !cl)) {
    smb2_req_free(cr);
    smb2_req_free(q1);
    smb2_req_free(q2);
    smb2_req_free(cl);
    api_lease_release(t, path, d->lease);
    d->lease = NULL;
    return SMBQ_ERR_NOMEM;
  }
  struct dir_batch b[2];
  memset(b, 0, sizeof(b));
  struct api_call call;
  struct api_elem e[4];
  api_elem_init(&e[0], &call, cr, parse_create, d);
  api_elem_init(&e[1], &call, q1, parse_query, &b[0]);
  api_elem_init(&e[2], &call, q2, parse_query, &b[1]);
  cr->chain = q1;
  q1->chain = q2;
  if (cl) {
    api_elem_init(&e[3], &call, cl, NULL, NULL);
    q2->chain = cl;
  }
  int rc = api_run(t->conn, &call, cl ? 4 : 3, cr);
  uint32_t status = 0;
  if (rc == 0 && e[0].rc < 0) {
    rc = e[0].rc;
    status = e[0].status;
  }
  if (rc < 0) {
    /* the QUERY_DIRECTORYs failed with the CREATE (3.3.5.2.7.2) */
    free(b[0].data);
    free(b[1].data);
    api_lease_release(t, path, d->lease);
    d->lease = NULL;
    return api_fail(t->conn, rc, status, "cannot open directory '%s'",
                    path[0] ? path : "\\");
  }
  d->closed = cl != NULL;
  /* Errors of the listing itself are reported by smbq_readdir, in turn.
   * After the first reply's end or error the second only repeats it. */
  enqueue(d, &b[0], &e[1]);
  if (e[1].rc < 0 || b[0].end) {
    free(b[1].data);
    return 1;
  }
  enqueue(d, &b[1], &e[2]);
  return e[2].rc < 0 || b[1].end;
}

unsigned smbq_dir_cache(const smbq_dir *d) {
  return d ? core_lease_state(d->tree->conn->leases, d->lease) : 0;
}

int smbq_dir_stat(const smbq_dir *d, struct smbq_stat *st) {
  if (!d || !st)
    return SMBQ_ERR_INVAL;
  api_create_rsp_stat(&d->created, st);
  return 0;
}

int smbq_opendir(smbq_tree *t, const char *path, smbq_dir **out) {
  if (!t || !path || !out)
    return SMBQ_ERR_INVAL;
  smbq_dir *d = calloc(1, sizeof(*d));
  if (!d)
    return SMBQ_ERR_NOMEM;
  d->tree = t;
  snprintf(d->path, sizeof(d->path), "%s", path);
  int rc = open_and_list(d, path, true);
  if (rc == 0 && d->closed) { /* more than the replies hold: keep a handle */
    drop_queue(d);
    rc = open_and_list(d, path, false);
  }
  if (rc < 0) {
    drop_queue(d);
    free(d);
    return rc;
  }
  *out = d;
  return 0;
}

/* One more QUERY_DIRECTORY, its result queued. */
static int fetch(smbq_dir *d) {
  smbq_conn *c = d->tree->conn;
  struct smb2_req *r = query_req(d->tree, d->file_id, 0, DIR_BUF);
  if (!r)
    return SMBQ_ERR_NOMEM;
  struct dir_batch b;
  memset(&b, 0, sizeof(b));
  uint32_t status = 0;
  int rc = api_call1(c, r, parse_query, &b, &status);
  if (rc < 0) {
    free(b.data);
    return api_fail(c, rc, status, "listing '%s' failed", d->path);
  }
  d->queue[d->nq++] = b;
  return 0;
}

/* Hand the oldest queued reply to the iterator. Returns 1 with entries to
 * walk, 0 at the end, or the batch's error. */
static int next_batch(smbq_dir *d) {
  struct dir_batch b = d->queue[0];
  memmove(&d->queue[0], &d->queue[1], (d->nq - 1) * sizeof(d->queue[0]));
  d->nq--;
  if (b.rc < 0)
    return api_fail(d->tree->conn, b.rc, b.status, "listing '%s' failed",
                    d->path);
  if (b.end) {
    d->eof = true;
    return 0;
  }
  free(d->buf);
  d->buf = b.data;
  smb2_dir_iter_init(&d->it, d->buf, b.len);
  return 1;
}

static bool is_dot(const struct smb2_dir_entry *e) {
  return (e->name_len == 2 && e->name[0] == '.' && e->name[1] == 0) ||
         (e->name_len == 4 && e->name[0] == '.' && e->name[2] == '.' &&
          e->name[1] == 0 && e->name[3] == 0);
}

static int fill(struct smbq_dirent *out, const struct smb2_dir_entry *e) {
  char *name;
  if (smbq_utf16le_to_utf8(e->name, e->name_len, &name) < 0)
    return SMBQ_ERR_PROTO;
  memset(out, 0, sizeof(*out));
  snprintf(out->name, sizeof(out->name), "%s", name);
  free(name);
  out->st.type = (e->attributes & SMB2_ATTR_DIRECTORY) ? SMBQ_TYPE_DIR
                                                       : SMBQ_TYPE_FILE;
  out->st.size = e->end_of_file;
  out->st.alloc_size = e->allocation_size;
  out->st.attributes = e->attributes;
  out->st.file_id = e->file_id;
  out->st.btime = api_filetime_to_ts(e->times.creation);
  out->st.atime = api_filetime_to_ts(e->times.last_access);
  out->st.mtime = api_filetime_to_ts(e->times.last_write);
  out->st.ctime = api_filetime_to_ts(e->times.change);
  return 0;
}

int smbq_readdir(smbq_dir *d, struct smbq_dirent *out) {
  if (!d || !out)
    return SMBQ_ERR_INVAL;
  for (;;) {
    struct smb2_dir_entry e;
    int rc = d->buf ? smb2_dir_next(&d->it, &e) : 0;
    if (rc < 0)
      return api_fail(d->tree->conn, rc, 0,
                      "malformed directory listing of '%s' from server",
                      d->path);
    if (rc > 0) {
      if (is_dot(&e))
        continue;
      rc = fill(out, &e);
      if (rc < 0)
        return api_fail(d->tree->conn, rc, 0,
                        "server sent an invalid UTF-16 file name");
      return 1;
    }
    if (d->eof)
      return 0;
    if (d->nq == 0 && (rc = fetch(d)) < 0)
      return rc;
    rc = next_batch(d);
    if (rc <= 0)
      return rc;
  }
}

void smbq_closedir(smbq_dir *d) {
  if (!d)
    return;
  smbq_tree *t = d->tree;
  /* a directory lease lives with its handle: hand it to the handle cache,
   * which keeps it while the lease holds READ|HANDLE */
  smbq_file *kept = d->lease && !d->closed
                        ? api_file_adopt(t, d->path, &d->created, d->lease)
                        : NULL;
  if (kept) {
    d->lease = NULL;
    if (!api_cache_put(kept))
      api_file_close_now(kept);
  } else if (!d->closed) {
    close_handle(d);
  }
  api_lease_release(t, d->path, d->lease);
  free(d->buf);
  drop_queue(d);
  free(d);
}
