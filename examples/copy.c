/* Copy a remote file to a local one (sync API; each smbq_pread is split
 * by the library into many READs in flight).
 * Usage: copy HOST SHARE REMOTE_PATH LOCAL_FILE  (settings: example_opts.h) */
#include <stdio.h>
#include <stdlib.h>

#include <smbq/smbq.h>

#include "example_opts.h"

#define BLOCK (8 << 20)

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s HOST SHARE REMOTE LOCAL\n", argv[0]);
    return 2;
  }
  smbq_opts *o = example_opts();
  smbq_conn *c = smbq_conn_new(o);
  smbq_opts_free(o);
  smbq_tree *t;
  smbq_file *f = NULL;
  char msg[512];
  int rc = smbq_conn_connect(c, argv[1]);
  if (rc == 0)
    rc = smbq_tree_connect(c, argv[2], &t);
  if (rc == 0)
    rc = smbq_open(t, argv[3], SMBQ_O_RDONLY, &f);
  FILE *out = rc == 0 ? fopen(argv[4], "wb") : NULL;
  char *buf = malloc(BLOCK);
  uint64_t off = 0;
  ssize_t n = rc;
  while (out && buf && (n = smbq_pread(f, buf, BLOCK, off)) > 0) {
    fwrite(buf, 1, (size_t)n, out);
    off += (uint64_t)n;
  }
  if (n < 0)
    fprintf(stderr, "copy: %s\n", smbq_conn_errmsg(c, msg, sizeof(msg)));
  if (out)
    fclose(out);
  free(buf);
  if (f)
    smbq_close(f);
  smbq_conn_free(c);
  return n < 0 ? 1 : 0;
}
