/* Trees, the API side: the handle, its place in the connection's list,
 * and sync wrappers over the core's tree state machine (core_tree.c:
 * TREE_CONNECT, the share's encryption policy, the 3.0/3.0.2 negotiate
 * validation; MS-SMB2 3.2.4.2.4, 3.2.5.5). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/conn_internal.h"
#include "api/lease.h"

static void link_tree(smbq_conn *c, smbq_tree *t) {
  pthread_mutex_lock(&c->lock);
  t->next = c->trees;
  c->trees = t;
  pthread_mutex_unlock(&c->lock);
}

static void unlink_tree(smbq_conn *c, smbq_tree *t) {
  pthread_mutex_lock(&c->lock);
  for (smbq_tree **pp = &c->trees; *pp; pp = &(*pp)->next)
    if (*pp == t) {
      *pp = t->next;
      break;
    }
  pthread_mutex_unlock(&c->lock);
}

/* A step of the core's tree machine, run from the caller's thread. */
struct tree_run {
  struct api_core_call w; /* first */
  smbq_tree *t;
  struct core_tree_cfg cfg;  /* connect only */
};

static void tree_done(void *arg, struct core_tree *ct) {
  (void)ct;
  api_core_done(arg);
}

static int tree_connect_start(struct api_core_call *w,
                              struct smb2_conn *core) {
  struct tree_run *r = (struct tree_run *)w;
  return core_tree_connect(&r->t->core, core, &r->cfg, tree_done, w);
}

static int tree_disconnect_start(struct api_core_call *w,
                                 struct smb2_conn *core) {
  struct tree_run *r = (struct tree_run *)w;
  return core_tree_disconnect(&r->t->core, core, tree_done, w);
}

int smbq_tree_connect(smbq_conn *c, const char *share, smbq_tree **out) {
  if (!c || !share || !share[0] || !out || !c->session_valid)
    return SMBQ_ERR_INVAL;
  smbq_tree *t = calloc(1, sizeof(*t));
  if (!t)
    return SMBQ_ERR_NOMEM;
  t->conn = c;
  struct tree_run r = {.w.start = tree_connect_start, .t = t};
  r.cfg = (struct core_tree_cfg){
      .server = c->server,
      .share = share,
      .sec = &c->sess.sec,
      .enc_sec = &c->sess.enc_sec,
      .neg = &c->neg,
  };
  int rc = api_core_run(c, &r.w);
  if (rc == 0 && t->core.state != CORE_TREE_CONNECTED)
    rc = t->core.err.rc ? t->core.err.rc : SMBQ_ERR_PROTO;
  if (rc < 0) {
    if (t->core.err.msg[0])
      rc = api_fail(c, rc, t->core.err.status, "%s", t->core.err.msg);
    else
      rc = api_fail(c, rc, 0, "cannot connect to share \\\\%s\\%s",
                    c->server, share);
    free(t);
    return rc;
  }
  link_tree(c, t);
  *out = t;
  return 0;
}

int smbq_tree_encrypted(const smbq_tree *t) {
  return t && (t->core.encrypt || t->conn->sess.sec.encrypt);
}

void api_tree_drop(smbq_tree *t) {
  smbq_conn *c = t->conn;
  api_cache_lock(c);
  api_cache_flush_tree(t);
  unlink_tree(c, t);
  api_cache_unlock(c);
  free(t);
}

int smbq_tree_disconnect(smbq_tree *t) {
  if (!t)
    return SMBQ_ERR_INVAL;
  smbq_conn *c = t->conn;
  /* handles kept open for reuse go first, and the break worker must not
   * be closing one of them while the tree goes */
  api_cache_lock(c);
  api_cache_flush_tree(t);
  unlink_tree(c, t);
  api_cache_unlock(c);
  struct tree_run r = {.w.start = tree_disconnect_start, .t = t};
  int rc = api_core_run(c, &r.w);
  free(t);
  return rc;
}
