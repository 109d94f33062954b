/* Opens. See core_open.h. */
#include "core/core_open.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smbq/smbq_err.h"

struct smb2_req *core_create_req(const struct core_tree *t,
                                 struct core_leases *leases,
                                 const char *path,
                                 const struct core_create_spec *s) {
  uint8_t *name;
  size_t nlen;
  if (core_path_utf16(path, &name, &nlen) < 0)
    return NULL;
  struct smb2_create_ctx ctx[2];
  uint8_t lease_buf[SMB2_LEASE_V2_SIZE], dh_buf[36];
  uint8_t oplock = SMB2_OPLOCK_LEVEL_NONE;
  int n_ctx = core_lease_request(leases, s->lease, s->lease_want, &ctx[0],
                                 lease_buf, &oplock);
  if (n_ctx >= 0 && s->reclaim &&
      smb2_durable_reconnect_ctx(&ctx[n_ctx], dh_buf, s->reclaim->version,
                                 s->reclaim_file_id,
                                 s->durable ? s->durable->create_guid : NULL,
                                 s->reclaim->flags) == 0)
    n_ctx++;
  else if (n_ctx >= 0 && s->durable && !s->reclaim &&
           smb2_durable_req_ctx(&ctx[n_ctx], dh_buf, s->durable) == 0)
    n_ctx++;
  if (n_ctx < 0) {
    free(name);
    return NULL;
  }
  struct smb2_create_req cr = {
      .desired_access = s->access,
      .file_attributes = s->attributes,
      .share_access = SMB2_FILE_SHARE_ALL,
      .disposition = s->disposition,
      .options = s->options,
      .name = name,
      .name_len = nlen,
      .oplock_level = oplock,
      .contexts = n_ctx ? ctx : NULL,
      .n_contexts = (size_t)n_ctx,
  };
  /* 2.2.13: fixed part, name, padding to 8, each context (16-byte
   * header, 4-byte name padded to 8, data padded to 8) */
  size_t cap = 57 + nlen + 7;
  for (int i = 0; i < n_ctx; i++)
    cap += 24 + ((ctx[i].data_len + 7) & ~(size_t)7);
  struct smb2_req *r = smb2_req_new(SMB2_CREATE, cap);
  long n = r ? smb2_encode_create_req(smb2_req_body(r),
                                       smb2_req_body_cap(r), &cr)
             : -1;
  free(name);
  if (n < 0) {
    smb2_req_free(r);
    return NULL;
  }
  smb2_req_set_body_len(r, (size_t)n);
  r->sec = core_tree_sec(t);
  r->tree_id = t->tree_id;
  return r;
}

static void link_open(struct core_open *o) {
  o->next = o->tree->opens;
  o->tree->opens = o;
}

static void unlink_open(struct core_open *o) {
  for (struct core_open **pp = &o->tree->opens; *pp; pp = &(*pp)->next)
    if (*pp == o) {
      *pp = o->next;
      break;
    }
  o->next = NULL;
}

static void finish(struct core_open *o, enum core_open_state st, int rc) {
  o->state = st;
  o->rc = rc;
  if (o->done)
    o->done(o->arg, o);
}

static int send_create(struct core_open *o);

static void on_create(void *arg, int err, uint32_t status,
                      const uint8_t *msg, size_t len) {
  struct core_open *o = arg;
  o->status = status;
  if (err == 0 && status == NT_STATUS_INVALID_PARAMETER && o->lease &&
      core_leases_mode(o->leases) >= CORE_LEASE_V1 && !o->retried) {
    o->retried = true;
    core_lease_doom(o->leases, o->tree->tree_id, o->path);
    core_lease_put(o->leases, o->lease);
    o->lease = core_lease_get(o->leases, o->tree->tree_id, o->path,
                              o->is_dir);
    if (send_create(o) == 0)
      return;
  }
  int rc = err;
  if (rc == 0 && NT_STATUS_IS_ERROR(status))
    rc = smbq_err_from_ntstatus(status);
  if (rc == 0)
    rc = smb2_decode_create_rsp(msg, len, &o->created);
  if (rc < 0) {
    core_lease_put(o->leases, o->lease);
    o->lease = NULL;
    return finish(o, CORE_OPEN_FAILED, rc ? rc : SMBQ_ERR_PROTO);
  }
  /* a malformed lease context, or one for another key, grants nothing:
   * the open itself is good; so does a malformed durable reply */
  core_lease_granted(o->leases, o->lease, &o->created);
  if (!o->spec.durable ||
      smb2_create_rsp_durable(&o->created, &o->durable) != 1)
    memset(&o->durable, 0, sizeof(o->durable));
  o->created.contexts = NULL; /* they point into the reply */
  o->created.contexts_len = 0;
  memcpy(o->file_id, o->created.file_id, 16);
  link_open(o);
  finish(o, CORE_OPEN_OPEN, 0);
}

static int send_create(struct core_open *o) {
  o->spec.lease = o->lease;
  struct smb2_req *r = core_create_req(o->tree, o->leases, o->path, &o->spec);
  if (!r)
    return SMBQ_ERR_INVAL;
  return smb2_conn_submit_now(o->conn, r, on_create, o);
}

int core_open_start(struct core_open *o, struct smb2_conn *conn,
                    struct core_tree *t, struct core_leases *leases,
                    const char *path, const struct core_create_spec *spec,
                    bool is_dir, core_open_done_fn done, void *arg) {
  memset(o, 0, sizeof(*o));
  o->spec = *spec;
  if (spec->durable) { /* kept: a reconnect names the same CreateGuid */
    o->durable_req = *spec->durable;
    o->spec.durable = &o->durable_req;
  }
  o->is_dir = is_dir;
  o->tree = t;
  o->leases = leases;
  o->conn = conn;
  o->done = done;
  o->arg = arg;
  snprintf(o->path, sizeof(o->path), "%s", path);
  o->lease = core_lease_get(leases, t->tree_id, path, is_dir);
  o->state = CORE_OPEN_OPENING;
  int rc = send_create(o);
  if (rc < 0) {
    core_lease_put(leases, o->lease);
    o->lease = NULL;
    o->state = CORE_OPEN_FAILED;
    o->rc = rc;
  }
  return rc;
}

static void on_close(void *arg, int err, uint32_t status, const uint8_t *msg,
                     size_t len) {
  struct core_open *o = arg;
  o->status = status;
  unlink_open(o);
  int rc = err;
  /* The CLOSE was in flight when the connection went, and the reclaim
   * found the handle gone: the server closed it (the reply was lost) or
   * dropped it. Either way nothing is open any more, and every WRITE on
   * it was answered before the CLOSE went out, so nothing depends on
   * this one: as for an open lost before its CLOSE (core_open_close). */
  if (err == SMBQ_ERR_STALE && o->state == CORE_OPEN_LOST && o->close_sent)
    rc = 0;
  else if (rc == 0 && NT_STATUS_IS_ERROR(status))
    rc = smbq_err_from_ntstatus(status);
  if (rc == 0 && err == SMBQ_ERR_STALE)
    o->have_closed = false;
  else if (rc == 0 && smb2_decode_close_rsp(msg, len, &o->closed) == 0)
    o->have_closed = (o->closed.flags & SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB);
  else if (rc == 0)
    rc = SMBQ_ERR_PROTO;
  finish(o, CORE_OPEN_CLOSED, rc);
}

int core_open_close(struct core_open *o, struct smb2_conn *conn,
                    uint16_t flags, core_open_done_fn done, void *arg) {
  o->done = done;
  o->arg = arg;
  if (o->state == CORE_OPEN_LOST) { /* the server has nothing to close */
    unlink_open(o);
    o->have_closed = false;
    finish(o, CORE_OPEN_CLOSED, 0);
    return 0;
  }
  struct smb2_req *r = smb2_req_new(SMB2_CLOSE, 24);
  if (!r) {
    unlink_open(o);
    o->state = CORE_OPEN_CLOSED;
    return SMBQ_ERR_NOMEM;
  }
  smb2_req_set_body_len(r, (size_t)smb2_encode_close_req(smb2_req_body(r),
                                                         24, flags,
                                                         o->file_id));
  r->sec = core_tree_sec(o->tree);
  r->tree_id = o->tree->tree_id;
  int rc = smb2_conn_submit_now(conn, r, on_close, o);
  if (rc < 0) {
    /* refused (the connection is gone, or not restored in time): the
     * caller frees o whatever happens, so it leaves the tree's list;
     * the server drops the handle with the session, or when its durable
     * timeout passes */
    unlink_open(o);
    o->state = CORE_OPEN_CLOSED;
    return rc;
  }
  /* CLOSING stays in the tree's list until the reply: a reconnect in
   * between reclaims it, so that the CLOSE sent again finds it */
  o->state = CORE_OPEN_CLOSING;
  o->close_sent = true;
  o->conn = conn;
  o->have_closed = false;
  return 0;
}

void core_open_adopt(struct core_open *o, struct core_tree *t,
                     struct core_leases *leases, const char *path,
                     const struct smb2_create_rsp *created,
                     struct core_lease *lease, bool is_dir) {
  memset(o, 0, sizeof(*o));
  o->tree = t;
  o->leases = leases;
  o->is_dir = is_dir;
  o->lease = lease;
  o->created = *created;
  o->created.contexts = NULL;
  o->created.contexts_len = 0;
  memcpy(o->file_id, created->file_id, 16);
  snprintf(o->path, sizeof(o->path), "%s", path);
  o->state = CORE_OPEN_OPEN;
  link_open(o);
}

struct core_lease *core_open_take_lease(struct core_open *o) {
  struct core_lease *l = o->lease;
  o->lease = NULL;
  return l;
}

bool core_open_writes(const struct core_open *o) {
  const uint32_t changes = SMB2_FILE_WRITE_DATA | SMB2_FILE_APPEND_DATA |
                           SMB2_FILE_WRITE_EA | SMB2_FILE_WRITE_ATTRIBUTES |
                           SMB2_DELETE | SMB2_WRITE_DAC | SMB2_WRITE_OWNER |
                           SMB2_GENERIC_WRITE | SMB2_GENERIC_ALL |
                           SMB2_MAXIMUM_ALLOWED;
  return (o->spec.access & changes) != 0;
}

/* Lost with the connection: it stays in the tree's list (requests held
 * for it fail with SMBQ_ERR_STALE) until closed; its id is no handle's
 * (the server may give the old one to another open). */
static void lose_open(struct core_open *o) {
  o->state = CORE_OPEN_LOST;
  o->rc = SMBQ_ERR_STALE;
  memset(o->file_id, 0, sizeof(o->file_id));
}

static int send_reclaim(struct core_open *o, bool by_name);

static void on_reclaim(void *arg, int err, uint32_t status,
                       const uint8_t *msg, size_t len) {
  struct core_open *o = arg;
  struct smb2_create_rsp rsp;
  int rc = err;
  if (rc == 0 && NT_STATUS_IS_ERROR(status))
    rc = smbq_err_from_ntstatus(status);
  if (rc == 0)
    rc = smb2_decode_create_rsp(msg, len, &rsp);
  if (err < 0) {
    o->rc = err; /* the new connection went too: the next try reclaims */
  } else if (rc < 0 && o->reclaiming_durable && !core_open_writes(o) &&
             send_reclaim(o, true) == 0) {
    return; /* the server lost it (a restart): a reader opens the name */
  } else if (rc < 0) {
    o->status = status;
    lose_open(o);
  } else {
    core_lease_granted(o->leases, o->lease, &rsp);
    memcpy(o->file_id, rsp.file_id, 16);
    o->rc = 0;
  }
  if (o->reclaim_done)
    o->reclaim_done(o->reclaim_arg, o);
}

/* The CREATE of a reclaim: by its durable handle (MS-SMB2 3.2.4.4: the
 * same name, the same lease key), or by name for an open that only
 * reads (nothing of ours can be lost with it). */
static int send_reclaim(struct core_open *o, bool by_name) {
  struct core_create_spec spec = o->spec;
  spec.lease = o->lease;
  spec.disposition = SMB2_FILE_OPEN;
  if (by_name) {
    spec.durable = NULL;
  } else {
    spec.reclaim = &o->durable;
    spec.reclaim_file_id = o->file_id; /* the last one granted */
  }
  o->reclaiming_durable = !by_name;
  struct smb2_req *r = core_create_req(o->tree, o->leases, o->path, &spec);
  return r ? smb2_conn_submit_now(o->conn, r, on_reclaim, o)
           : SMBQ_ERR_NOMEM;
}

int core_open_reclaim(struct core_open *o, struct smb2_conn *conn,
                      core_open_done_fn done, void *arg) {
  o->conn = conn;
  o->reclaim_done = done;
  o->reclaim_arg = arg;
  int rc = SMBQ_ERR_STALE;
  if (o->durable.version)
    rc = send_reclaim(o, false);
  else if (!core_open_writes(o))
    rc = send_reclaim(o, true);
  if (rc < 0) {
    lose_open(o);
    return SMBQ_ERR_STALE;
  }
  return 0;
}
