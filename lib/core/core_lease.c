/* The lease table and break state machine. See core_lease.h. */
#include "core/core_lease.h"
#include "core/core_open.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smbq/smbq_err.h"

#define PATH_MAX_LEN 1024

struct core_lease {
  struct core_lease *next;
  unsigned refs;
  uint32_t tree_id;
  bool is_dir;
  bool breaking;            /* a break awaits our acknowledgement */
  unsigned undelivered;     /* breaks from the server not yet through
                               core_break_done (the callback not run) */
  bool doomed;              /* deleted by us: no handle kept for reuse */
  int version;              /* 2, 1, or 0 (oplock) */
  uint8_t key[16];
  uint8_t parent_key[16];
  bool has_parent;
  uint16_t epoch;           /* v2: the server's last epoch */
  uint32_t state;           /* SMB2_LEASE_* held */
  uint8_t file_id[16];      /* oplock mode: the open's file id */
  bool have_file_id;
  char path[PATH_MAX_LEN];  /* normalized: '/'-separated, no leading '/' */
};

struct core_leases {
  pthread_mutex_t lock;
  enum core_lease_mode mode;
  int (*random)(void *user, uint8_t *buf, size_t n);
  void *user;
  struct core_lease *head;
  size_t count;
};

struct core_leases *core_leases_new(enum core_lease_mode mode,
                                    int (*random)(void *, uint8_t *, size_t),
                                    void *user) {
  struct core_leases *t = calloc(1, sizeof(*t));
  if (!t)
    return NULL;
  pthread_mutex_init(&t->lock, NULL);
  t->mode = mode;
  t->random = random;
  t->user = user;
  return t;
}

void core_leases_free(struct core_leases *t) {
  if (!t)
    return;
  while (t->head) {
    struct core_lease *l = t->head;
    t->head = l->next;
    free(l);
  }
  pthread_mutex_destroy(&t->lock);
  free(t);
}

enum core_lease_mode core_leases_mode(const struct core_leases *t) {
  return t ? t->mode : CORE_LEASE_OFF;
}

size_t core_leases_count(struct core_leases *t) {
  pthread_mutex_lock(&t->lock);
  size_t n = t->count;
  pthread_mutex_unlock(&t->lock);
  return n;
}

/* '/' or '\' separated, leading separators dropped: one spelling per name
 * (the server compares names case-insensitively, and so do we). */
static void normalize(const char *in, char *out, size_t cap) {
  while (*in == '/' || *in == '\\')
    in++;
  size_t i = 0;
  for (; in[i] && i + 1 < cap; i++)
    out[i] = in[i] == '\\' ? '/' : in[i];
  out[i] = '\0';
  while (i > 0 && out[i - 1] == '/')
    out[--i] = '\0';
}

static struct core_lease *find_path(struct core_leases *t, uint32_t tree_id,
                                    const char *norm) {
  /* a doomed entry names a deleted file: a new file of that name needs a
   * key of its own (a key belongs to one file, MS-SMB2 3.3.5.9.8) */
  for (struct core_lease *l = t->head; l; l = l->next)
    if (l->tree_id == tree_id && !l->doomed &&
        strcasecmp(l->path, norm) == 0)
      return l;
  return NULL;
}

/* MS-SMB2 3.2.4.3.8: a file's lease names its directory's lease as parent
 * (when we hold one), so that the server does not break the directory
 * lease for changes this client makes itself. */
static void set_parent(struct core_leases *t, struct core_lease *l) {
  char dir[PATH_MAX_LEN];
  snprintf(dir, sizeof(dir), "%s", l->path);
  char *slash = strrchr(dir, '/');
  if (slash)
    *slash = '\0';
  else
    dir[0] = '\0';
  if (strcmp(dir, l->path) == 0)
    return;
  struct core_lease *p = find_path(t, l->tree_id, dir);
  if (!p || !p->is_dir)
    return;
  memcpy(l->parent_key, p->key, 16);
  l->has_parent = true;
}

struct core_lease *core_lease_get(struct core_leases *t, uint32_t tree_id,
                                  const char *path, bool is_dir) {
  if (!t || t->mode == CORE_LEASE_OFF)
    return NULL;
  char norm[PATH_MAX_LEN];
  normalize(path, norm, sizeof(norm));
  pthread_mutex_lock(&t->lock);
  struct core_lease *l =
      t->mode == CORE_LEASE_OPLOCK ? NULL : find_path(t, tree_id, norm);
  if (l) {
    l->refs++;
    pthread_mutex_unlock(&t->lock);
    return l;
  }
  l = calloc(1, sizeof(*l));
  if (!l || t->random(t->user, l->key, sizeof(l->key)) < 0) {
    pthread_mutex_unlock(&t->lock);
    free(l);
    return NULL;
  }
  l->refs = 1;
  l->tree_id = tree_id;
  l->is_dir = is_dir;
  l->version = t->mode == CORE_LEASE_V2 ? 2 : t->mode == CORE_LEASE_V1;
  snprintf(l->path, sizeof(l->path), "%s", norm);
  if (l->version == 2)
    set_parent(t, l);
  l->next = t->head;
  t->head = l;
  t->count++;
  pthread_mutex_unlock(&t->lock);
  return l;
}

static void unlink_entry(struct core_leases *t, struct core_lease *l) {
  for (struct core_lease **pp = &t->head; *pp; pp = &(*pp)->next)
    if (*pp == l) {
      *pp = l->next;
      t->count--;
      return;
    }
}

uint32_t core_lease_put(struct core_leases *t, struct core_lease *l) {
  if (!t || !l)
    return 0;
  pthread_mutex_lock(&t->lock);
  uint32_t gone = 0;
  if (--l->refs == 0) {
    gone = l->state;
    unlink_entry(t, l);
    free(l);
  }
  pthread_mutex_unlock(&t->lock);
  return gone;
}

struct core_lease *core_lease_find(struct core_leases *t, uint32_t tree_id,
                                   const char *path) {
  if (!t || t->mode == CORE_LEASE_OFF || t->mode == CORE_LEASE_OPLOCK)
    return NULL;
  char norm[PATH_MAX_LEN];
  normalize(path, norm, sizeof(norm));
  pthread_mutex_lock(&t->lock);
  struct core_lease *l = find_path(t, tree_id, norm);
  if (l)
    l->refs++;
  pthread_mutex_unlock(&t->lock);
  return l;
}

void core_lease_rename(struct core_leases *t, uint32_t tree_id,
                       const char *from, const char *to) {
  if (!t)
    return;
  char nf[PATH_MAX_LEN], nt[PATH_MAX_LEN];
  normalize(from, nf, sizeof(nf));
  normalize(to, nt, sizeof(nt));
  size_t n = strlen(nf);
  pthread_mutex_lock(&t->lock);
  for (struct core_lease *l = t->head; l; l = l->next) {
    if (l->tree_id != tree_id || !core_path_under(l->path, nf))
      continue;
    char moved[PATH_MAX_LEN];
    snprintf(moved, sizeof(moved), "%s%s", nt, l->path + n);
    snprintf(l->path, sizeof(l->path), "%s", moved);
  }
  pthread_mutex_unlock(&t->lock);
}

void core_leases_retree(struct core_leases *t, uint32_t old_id,
                        uint32_t new_id) {
  if (!t || old_id == new_id)
    return;
  pthread_mutex_lock(&t->lock);
  for (struct core_lease *l = t->head; l; l = l->next)
    if (l->tree_id == old_id)
      l->tree_id = new_id;
  pthread_mutex_unlock(&t->lock);
}

void core_lease_doom(struct core_leases *t, uint32_t tree_id,
                     const char *path) {
  if (!t)
    return;
  char norm[PATH_MAX_LEN];
  normalize(path, norm, sizeof(norm));
  pthread_mutex_lock(&t->lock);
  for (struct core_lease *l = t->head; l; l = l->next)
    if (l->tree_id == tree_id && core_path_under(l->path, norm))
      l->doomed = true;
  pthread_mutex_unlock(&t->lock);
}

bool core_lease_doomed(struct core_leases *t, const struct core_lease *l) {
  if (!t || !l)
    return false;
  pthread_mutex_lock(&t->lock);
  bool d = l->doomed;
  pthread_mutex_unlock(&t->lock);
  return d;
}

int core_lease_request(struct core_leases *t, struct core_lease *l,
                       uint32_t want, struct smb2_create_ctx *ctx,
                       uint8_t *buf, uint8_t *oplock) {
  *oplock = SMB2_OPLOCK_LEVEL_NONE;
  if (!t || !l)
    return 0;
  if (t->mode == CORE_LEASE_OPLOCK) {
    /* MS-SMB2 3.2.4.3.8: no leases on 2.0.2. Only a batch oplock lets a
     * handle be kept after close, so every open that wants HANDLE asks
     * for one (as Windows does); the server grants level II where others
     * have the file open. */
    *oplock = (want & SMB2_LEASE_HANDLE) ? SMB2_OPLOCK_LEVEL_BATCH
                                         : SMB2_OPLOCK_LEVEL_II;
    return 0;
  }
  pthread_mutex_lock(&t->lock);
  struct smb2_lease req = {.version = l->version, .state = want};
  memcpy(req.key, l->key, 16);
  if (l->has_parent) {
    memcpy(req.parent_key, l->parent_key, 16);
    req.flags = SMB2_LEASE_FLAG_PARENT_LEASE_KEY_SET;
  }
  req.epoch = l->epoch;
  pthread_mutex_unlock(&t->lock);
  int rc = smb2_lease_ctx(ctx, buf, &req);
  if (rc < 0)
    return rc;
  *oplock = SMB2_OPLOCK_LEVEL_LEASE;
  return 1;
}

/* MS-SMB2 3.2.5.19.1: an oplock level as lease rights. */
static uint32_t oplock_rights(uint8_t level) {
  switch (level) {
  case SMB2_OPLOCK_LEVEL_BATCH:
    return SMB2_LEASE_READ | SMB2_LEASE_WRITE | SMB2_LEASE_HANDLE;
  case SMB2_OPLOCK_LEVEL_EXCLUSIVE:
    return SMB2_LEASE_READ | SMB2_LEASE_WRITE;
  case SMB2_OPLOCK_LEVEL_II:
    return SMB2_LEASE_READ;
  default:
    return 0;
  }
}

int core_lease_granted(struct core_leases *t, struct core_lease *l,
                       const struct smb2_create_rsp *rsp) {
  if (!t || !l)
    return 0;
  struct smb2_lease got;
  int found = 0;
  if (rsp->oplock_level == SMB2_OPLOCK_LEVEL_LEASE) {
    found = smb2_create_rsp_lease(rsp, &got);
    if (found < 0)
      return SMBQ_ERR_PROTO;
  }
  pthread_mutex_lock(&t->lock);
  int rc = 0;
  if (found) {
    if (memcmp(got.key, l->key, 16) != 0) {
      rc = SMBQ_ERR_PROTO; /* a grant for another file: ignore it */
    } else {
      /* 3.2.5.7.5: the reply carries the lease's current state */
      l->state = got.state & (SMB2_LEASE_READ | SMB2_LEASE_WRITE |
                              SMB2_LEASE_HANDLE);
      if (got.version == 2)
        l->epoch = got.epoch;
    }
  } else if (rsp->oplock_level != SMB2_OPLOCK_LEVEL_LEASE) {
    /* no lease context: an oplock (or nothing) for this open */
    uint32_t r = oplock_rights(rsp->oplock_level);
    if (t->mode == CORE_LEASE_OPLOCK || r) {
      l->state = r;
      l->version = 0;
      memcpy(l->file_id, rsp->file_id, 16);
      l->have_file_id = true;
    } else if (l->refs == 1) {
      l->state = 0;
    }
  }
  pthread_mutex_unlock(&t->lock);
  return rc;
}

uint32_t core_lease_state(struct core_leases *t, const struct core_lease *l) {
  if (!t || !l)
    return 0;
  pthread_mutex_lock(&t->lock);
  uint32_t s = l->state;
  pthread_mutex_unlock(&t->lock);
  return s;
}

/* A break that needs no acknowledgement (READ to none, MS-SMB2 3.3.4.7)
 * lets the server go on at once: another client's write may be done
 * before our callback dropped what was cached. An open whose reply came
 * after the notification (one connection: in order) must not trust that
 * cache meanwhile, so it is told of no rights until the break went
 * through core_break_done. */
uint32_t core_lease_state_settled(struct core_leases *t,
                                  const struct core_lease *l) {
  if (!t || !l)
    return 0;
  pthread_mutex_lock(&t->lock);
  uint32_t s = l->undelivered ? 0 : l->state;
  pthread_mutex_unlock(&t->lock);
  return s;
}

bool core_lease_is_dir(struct core_leases *t, const struct core_lease *l) {
  if (!t || !l)
    return false;
  pthread_mutex_lock(&t->lock);
  bool d = l->is_dir;
  pthread_mutex_unlock(&t->lock);
  return d;
}

int core_lease_version(struct core_leases *t, const struct core_lease *l) {
  if (!t || !l)
    return 0;
  pthread_mutex_lock(&t->lock);
  int v = l->state ? l->version : 0;
  pthread_mutex_unlock(&t->lock);
  return v;
}

static struct core_lease *find_key(struct core_leases *t,
                                   const uint8_t key[16]) {
  for (struct core_lease *l = t->head; l; l = l->next)
    if (l->version && memcmp(l->key, key, 16) == 0)
      return l;
  return NULL;
}

static struct core_lease *find_file_id(struct core_leases *t,
                                       const uint8_t fid[16]) {
  for (struct core_lease *l = t->head; l; l = l->next)
    if (l->have_file_id && memcmp(l->file_id, fid, 16) == 0)
      return l;
  return NULL;
}

static void fill_break(struct core_break *b, struct core_lease *l) {
  b->lease = l;
  b->tree_id = l->tree_id;
  b->is_dir = l->is_dir;
  snprintf(b->path, sizeof(b->path), "%s", l->path);
  memcpy(b->key, l->key, 16);
  memcpy(b->file_id, l->file_id, 16);
  l->refs++;
}

/* MS-SMB2 3.2.5.19.2: a lease break. */
static int lease_break(struct core_leases *t,
                       const struct smb2_break_notify *n,
                       struct core_break *b) {
  struct core_lease *l = find_key(t, n->lease_key);
  if (!l)
    return 0;
  /* v2: a notification older than what we know is stale */
  if (l->version == 2 && (int16_t)(n->new_epoch - l->epoch) < 0)
    return 0;
  fill_break(b, l);
  b->old_state = l->state;
  b->new_state = n->new_state & l->state;
  b->ack_required = n->flags & SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED;
  if (l->version == 2)
    l->epoch = n->new_epoch;
  if (b->ack_required)
    l->breaking = true;
  else
    l->state = b->new_state;
  return 1;
}

/* MS-SMB2 3.2.5.19.1: an oplock break; always acknowledged. */
static int oplock_break(struct core_leases *t,
                        const struct smb2_break_notify *n,
                        struct core_break *b) {
  struct core_lease *l = find_file_id(t, n->file_id);
  if (!l)
    return 0;
  fill_break(b, l);
  b->oplock = true;
  b->old_state = l->state;
  b->new_state = oplock_rights(n->oplock_level) & l->state;
  b->oplock_level = n->oplock_level == SMB2_OPLOCK_LEVEL_II
                        ? SMB2_OPLOCK_LEVEL_II
                        : SMB2_OPLOCK_LEVEL_NONE;
  b->ack_required = true;
  l->breaking = true;
  return 1;
}

int core_leases_on_notify(struct core_leases *t, const uint8_t *msg,
                          size_t len, struct core_break *b) {
  struct smb2_break_notify n;
  memset(b, 0, sizeof(*b));
  if (smb2_decode_break_notify(msg, len, &n) < 0)
    return SMBQ_ERR_PROTO;
  pthread_mutex_lock(&t->lock);
  int rc = n.kind == SMB2_BREAK_LEASE ? lease_break(t, &n, b)
                                      : oplock_break(t, &n, b);
  if (rc == 1)
    b->lease->undelivered++; /* until core_break_done */
  pthread_mutex_unlock(&t->lock);
  return rc;
}

bool core_break_orphaned(struct core_leases *t, const struct core_break *b) {
  if (!b->lease)
    return true;
  pthread_mutex_lock(&t->lock);
  bool orphaned = b->lease->refs == 1;
  pthread_mutex_unlock(&t->lock);
  return orphaned;
}

long core_break_ack_body(const struct core_break *b, uint8_t *out,
                         size_t cap) {
  if (b->oplock)
    return smb2_encode_oplock_break_ack(out, cap, b->file_id,
                                       b->oplock_level);
  return smb2_encode_lease_break_ack(out, cap, b->key, b->new_state);
}

void core_break_done(struct core_leases *t, struct core_break *b,
                     const uint8_t *msg, size_t len) {
  struct core_lease *l = b->lease;
  if (!l)
    return;
  uint32_t state = b->new_state;
  uint8_t key[16], level;
  uint8_t fid[16];
  if (msg && !b->oplock &&
      smb2_decode_lease_break_rsp(msg, len, key, &state) == 0 &&
      memcmp(key, b->key, 16) == 0)
    state &= b->new_state;
  else if (msg && b->oplock &&
           smb2_decode_oplock_break_rsp(msg, len, &level, fid) == 0)
    state = oplock_rights(level) & b->new_state;
  pthread_mutex_lock(&t->lock);
  /* Without an acknowledgement the new state was taken at the
   * notification, and a grant since (an open's reply) is newer. */
  if (b->ack_required) {
    l->breaking = false;
    l->state = state;
  }
  if (l->undelivered) /* only the server's breaks carry a lease */
    l->undelivered--;
  pthread_mutex_unlock(&t->lock);
  b->lease = NULL;
  core_lease_put(t, l);
}
