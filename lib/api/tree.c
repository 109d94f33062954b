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

/* Run one step of the core's tree machine on the I/O thread and wait. */
struct tree_run {
  smbq_tree *t;
  struct core_tree_cfg cfg;  /* connect; NULL sec: disconnect */
  bool connect;
  int start_rc;
  pthread_mutex_t m;
  pthread_cond_t cv;
  bool done;
};

static void tree_done(void *arg, struct core_tree *ct) {
  (void)ct;
  struct tree_run *r = arg;
  pthread_mutex_lock(&r->m);
  r->done = true;
  pthread_cond_signal(&r->cv);
  pthread_mutex_unlock(&r->m);
}

static void tree_kick(void *arg, struct smb2_conn *core) {
  struct tree_run *r = arg;
  struct core_tree *ct = &r->t->core;
  r->start_rc = r->connect
                    ? core_tree_connect(ct, core, &r->cfg, tree_done, r)
                    : core_tree_disconnect(ct, core, tree_done, r);
}

static int tree_run(smbq_conn *c, struct tree_run *r) {
  pthread_mutex_init(&r->m, NULL);
  pthread_cond_init(&r->cv, NULL);
  int rc = smbq_io_run(c->io, tree_kick, r);
  if (rc == 0 && r->start_rc == 0) {
    pthread_mutex_lock(&r->m);
    while (!r->done)
      pthread_cond_wait(&r->cv, &r->m);
    pthread_mutex_unlock(&r->m);
  }
  pthread_mutex_destroy(&r->m);
  pthread_cond_destroy(&r->cv);
  return rc < 0 ? rc : r->start_rc;
}

int smbq_tree_connect(smbq_conn *c, const char *share, smbq_tree **out) {
  if (!c || !share || !share[0] || !out || !c->session_valid)
    return SMBQ_ERR_INVAL;
  smbq_tree *t = calloc(1, sizeof(*t));
  if (!t)
    return SMBQ_ERR_NOMEM;
  t->conn = c;
  struct tree_run r = {.t = t, .connect = true};
  r.cfg = (struct core_tree_cfg){
      .server = c->server,
      .share = share,
      .sec = &c->sess.sec,
      .enc_sec = &c->sess.enc_sec,
      .neg = &c->neg,
  };
  int rc = tree_run(c, &r);
  if (rc == 0 && t->core.state != CORE_TREE_CONNECTED)
    rc = t->core.rc ? t->core.rc : SMBQ_ERR_PROTO;
  if (rc < 0) {
    if (t->core.err[0])
      rc = api_fail(c, rc, t->core.status, "%s", t->core.err);
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
  struct tree_run r = {.t = t, .connect = false};
  int rc = tree_run(c, &r);
  free(t);
  return rc;
}
