/* List a directory on a share (sync API).
 * Usage: list HOST SHARE [PATH]   (connection settings from the
 * environment: see example_opts.h) */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <smbq/smbq.h>

#include "example_opts.h"

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s HOST SHARE [PATH]\n", argv[0]);
    return 2;
  }
  smbq_opts *o = example_opts();
  smbq_conn *c = smbq_conn_new(o);
  smbq_opts_free(o);
  smbq_tree *t = NULL;
  smbq_dir *d = NULL;
  char msg[512];
  int rc = smbq_conn_connect(c, argv[1]);
  if (rc == 0)
    rc = smbq_tree_connect(c, argv[2], &t);
  if (rc == 0)
    rc = smbq_opendir(t, argc > 3 ? argv[3] : "", &d);
  struct smbq_dirent e;
  while (rc == 0 && (rc = smbq_readdir(d, &e)) > 0) {
    printf("%s %12" PRIu64 " %s\n", e.st.type == SMBQ_TYPE_DIR ? "d" : "-",
           e.st.size, e.name);
    rc = 0;
  }
  if (rc < 0)
    fprintf(stderr, "list: %s\n", smbq_conn_errmsg(c, msg, sizeof(msg)));
  smbq_closedir(d);
  smbq_conn_free(c); /* also disconnects the tree */
  return rc < 0 ? 1 : 0;
}
