/* smbq cat, get, put: streaming copies with reads/writes kept in flight.
 *
 * Two blocks ping-pong: while one block is written locally, the next is
 * already being fetched (the library splits each block into many READ
 * requests in flight at once), so the network never waits on the disk. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "exitcodes.h"
#include "local_dest.h"

#define BLOCK (16u * 1024 * 1024)

struct pending {
  pthread_mutex_t m;
  pthread_cond_t cv;
  bool done;
  ssize_t result;
};

static void pending_init(struct pending *p) {
  pthread_mutex_init(&p->m, NULL);
  pthread_cond_init(&p->cv, NULL);
  p->done = false;
  p->result = 0;
}

static void pending_done(void *arg, ssize_t result) {
  struct pending *p = arg;
  pthread_mutex_lock(&p->m);
  p->result = result;
  p->done = true;
  pthread_cond_signal(&p->cv);
  pthread_mutex_unlock(&p->m);
}

static ssize_t pending_wait(struct pending *p) {
  pthread_mutex_lock(&p->m);
  while (!p->done)
    pthread_cond_wait(&p->cv, &p->m);
  pthread_mutex_unlock(&p->m);
  return p->result;
}

static void pending_destroy(struct pending *p) {
  pthread_mutex_destroy(&p->m);
  pthread_cond_destroy(&p->cv);
}

static int write_all(int fd, const uint8_t *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -1;
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Copy the remote file to fd. Returns an exit code. */
static int download(struct cli_share *s, smbq_file *f, int fd,
                    const char *what, const char *local) {
  uint8_t *buf[2] = {malloc(BLOCK), malloc(BLOCK)};
  struct pending p[2];
  int rc = SMBQ_EXIT_OK;
  if (!buf[0] || !buf[1]) {
    fprintf(stderr, "smbq: out of memory\n");
    rc = SMBQ_EXIT_OTHER;
    goto out;
  }
  uint64_t off = 0;
  int cur = 0;
  pending_init(&p[cur]);
  int err = smbq_pread_async(f, buf[cur], BLOCK, off, pending_done, &p[cur]);
  if (err < 0) {
    pending_destroy(&p[cur]);
    rc = cli_fail(s, err, "cannot read %s", what);
    goto out;
  }
  for (;;) {
    ssize_t n = pending_wait(&p[cur]);
    pending_destroy(&p[cur]);
    if (n < 0) {
      rc = cli_fail(s, (int)n, "cannot read %s", what);
      break;
    }
    if (n == 0)
      break;
    off += (uint64_t)n;
    int nxt = cur ^ 1;
    bool more = (size_t)n == BLOCK;
    if (more) {
      pending_init(&p[nxt]);
      err = smbq_pread_async(f, buf[nxt], BLOCK, off, pending_done, &p[nxt]);
      if (err < 0) {
        pending_destroy(&p[nxt]);
        rc = cli_fail(s, err, "cannot read %s", what);
        break;
      }
    }
    if (write_all(fd, buf[cur], (size_t)n) < 0) {
      fprintf(stderr, "smbq: writing %s failed: %s\n", local,
              strerror(errno));
      rc = SMBQ_EXIT_OTHER;
      if (more) {
        pending_wait(&p[nxt]);
        pending_destroy(&p[nxt]);
      }
      break;
    }
    if (!more)
      break;
    cur = nxt;
  }
out:
  free(buf[0]);
  free(buf[1]);
  return rc;
}

static int open_remote(struct cli *cli, const char *url, unsigned flags,
                       struct cli_share *s, smbq_file **f) {
  int rc = cli_open(cli, url, s);
  if (rc)
    return rc;
  if (!s->url.path[0]) {
    fprintf(stderr, "smbq: %s names a share, not a file\n", url);
    cli_close(s);
    return SMBQ_EXIT_USAGE;
  }
  int err = smbq_open(s->tree, s->url.path, flags, f);
  if (err < 0) {
    rc = cli_fail(s, err, "cannot open %s", url);
    cli_close(s);
    return rc;
  }
  return 0;
}

int cmd_cat(struct cli *cli, int argc, char **argv) {
  (void)argc;
  struct cli_share s;
  smbq_file *f;
  int rc = open_remote(cli, argv[0], SMBQ_O_RDONLY, &s, &f);
  if (rc)
    return rc;
  rc = download(&s, f, STDOUT_FILENO, argv[0], "standard output");
  smbq_close(f);
  cli_close(&s);
  return rc;
}

/* Where `smbq get URL [LOCAL]` writes: LOCAL, or the remote file's name
 * inside LOCAL when that is a directory (as cp(1)); the remote file's name
 * when LOCAL is not given. false if the result does not fit. */
static bool get_target(const char *local, const char *remote_path, char *out,
                       size_t len) {
  const char *base = smbq_url_basename(remote_path);
  struct stat st;
  int n;
  if (!local)
    n = snprintf(out, len, "%s", base);
  else if (strcmp(local, "-") != 0 && stat(local, &st) == 0 &&
           S_ISDIR(st.st_mode))
    n = snprintf(out, len, "%s%s%s", local,
                 local[strlen(local) - 1] == '/' ? "" : "/", base);
  else
    n = snprintf(out, len, "%s", local);
  return n > 0 && (size_t)n < len;
}

static const char *local_why(int e) {
  return e == EEXIST ? "exists and is not a regular file" : strerror(e);
}

/* Download into a device, FIFO, socket or standard output, in place. */
static int get_direct(struct cli_share *s, smbq_file *f,
                      const struct local_dest *d, const char *what) {
  int fd = local_direct_open(d->name);
  if (fd < 0) {
    fprintf(stderr, "smbq: cannot open %s: %s\n", d->name, local_why(errno));
    return SMBQ_EXIT_OTHER;
  }
  int rc = download(s, f, fd, what, d->name);
  if (close(fd) < 0 && rc == 0 && errno != EINTR) {
    fprintf(stderr, "smbq: writing %s failed: %s\n", d->name,
            strerror(errno));
    rc = SMBQ_EXIT_OTHER;
  }
  return rc;
}

/* Download into NAME.smbq-part and rename it over NAME at the end, so a
 * failed download never leaves a truncated file under the final name; the
 * temporary file goes on every failure, signals included. */
static int get_replace(struct cli_share *s, smbq_file *f,
                       const struct local_dest *d, const char *what) {
  char part[PATH_MAX + sizeof(LOCAL_PART_SUFFIX)];
  snprintf(part, sizeof(part), "%s%s", d->name, LOCAL_PART_SUFFIX);
  int fd = local_part_create(part);
  if (fd < 0) {
    fprintf(stderr, "smbq: cannot create %s: %s\n", part, local_why(errno));
    return SMBQ_EXIT_OTHER;
  }
  int slot = local_tmp_register(part);
  int rc = download(s, f, fd, what, part);
  if (close(fd) < 0 && rc == 0) {
    fprintf(stderr, "smbq: writing %s failed: %s\n", part, strerror(errno));
    rc = SMBQ_EXIT_OTHER;
  }
  if (rc == 0 && local_replace(part, d->name) < 0) {
    fprintf(stderr, "smbq: cannot replace %s with %s: %s\n", d->name, part,
            strerror(errno));
    rc = SMBQ_EXIT_OTHER;
  }
  if (rc)
    unlink(part);
  local_tmp_unregister(slot);
  return rc;
}

int cmd_get(struct cli *cli, int argc, char **argv) {
  struct cli_share s;
  smbq_file *f;
  int rc = open_remote(cli, argv[0], SMBQ_O_RDONLY, &s, &f);
  if (rc)
    return rc;
  const char *given = argc > 1 ? argv[1] : smbq_url_basename(s.url.path);
  char local[PATH_MAX], why[256] = "path too long";
  struct local_dest d;
  int err = SMBQ_ERR_INVAL;
  bool fits = get_target(argc > 1 ? argv[1] : NULL, s.url.path, local,
                         sizeof(local));
  if (fits)
    err = local_dest_plan(local, &d, why, sizeof(why));
  if (err < 0) {
    fprintf(stderr, "smbq: cannot write %s: %s\n", fits ? local : given,
            why);
    rc = smbq_exit_from_err(err);
  } else if (d.how == LOCAL_DEST_REPLACE) {
    rc = get_replace(&s, f, &d, argv[0]);
  } else {
    rc = get_direct(&s, f, &d, argv[0]);
  }
  smbq_close(f);
  cli_close(&s);
  return rc;
}

static ssize_t read_full(int fd, uint8_t *buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = read(fd, buf + got, len - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -1;
    if (n == 0)
      break;
    got += (size_t)n;
  }
  return (ssize_t)got;
}

/* Upload fd to f: the next block is read locally while the previous one
 * is on the wire. A block counts only once the server acknowledged it.
 * Returns 0, a library error of a write (not yet reported: the caller
 * may copy again), or UPLOAD_LOCAL_FAILED (reported). */
#define UPLOAD_LOCAL_FAILED 1
static int upload(smbq_file *f, int fd) {
  uint8_t *buf[2] = {malloc(BLOCK), malloc(BLOCK)};
  struct pending p[2];
  bool inflight[2] = {false, false};
  size_t sent_len[2] = {0, 0};
  int rc = 0;
  uint64_t off = 0;
  int cur = 0;
  if (!buf[0] || !buf[1]) {
    fprintf(stderr, "smbq: out of memory\n");
    rc = UPLOAD_LOCAL_FAILED;
    goto out;
  }
  for (;;) {
    if (inflight[cur]) {
      ssize_t n = pending_wait(&p[cur]);
      pending_destroy(&p[cur]);
      inflight[cur] = false;
      if (n < 0 || (size_t)n != sent_len[cur]) {
        rc = n < 0 ? (int)n : SMBQ_ERR_IO;
        break;
      }
    }
    ssize_t n = read_full(fd, buf[cur], BLOCK);
    if (n < 0) {
      fprintf(stderr, "smbq: local read failed: %s\n", strerror(errno));
      rc = UPLOAD_LOCAL_FAILED;
      break;
    }
    if (n == 0)
      break;
    pending_init(&p[cur]);
    int err = smbq_pwrite_async(f, buf[cur], (size_t)n, off, pending_done,
                                &p[cur]);
    if (err < 0) {
      pending_destroy(&p[cur]);
      rc = err;
      break;
    }
    inflight[cur] = true;
    sent_len[cur] = (size_t)n;
    off += (uint64_t)n;
    cur ^= 1;
  }
  for (int i = 0; i < 2; i++) {
    if (!inflight[i])
      continue;
    ssize_t n = pending_wait(&p[i]);
    pending_destroy(&p[i]);
    if (rc == 0 && (n < 0 || (size_t)n != sent_len[i]))
      rc = n < 0 ? (int)n : SMBQ_ERR_IO;
  }
out:
  free(buf[0]);
  free(buf[1]);
  return rc;
}

/* One upload into path: created or truncated, written, flushed unless
 * told not to, closed. Returns 0, or the library error of the step that
 * failed (*what names it), or UPLOAD_LOCAL_FAILED (reported). */
static int put_once(struct cli *cli, smbq_tree *t, const char *path, int fd,
                    const char **what) {
  smbq_file *f;
  *what = "cannot create";
  int err = smbq_open(t, path, SMBQ_O_WRONLY | SMBQ_O_CREAT | SMBQ_O_TRUNC,
                      &f);
  if (err < 0)
    return err;
  *what = "cannot write";
  int rc = upload(f, fd);
  /* Data only counts as stored once CLOSE succeeded too, and FLUSH
   * (the server's stable storage) unless told otherwise. */
  if (rc == 0 && !cli->no_flush && (rc = smbq_fflush(f)) < 0)
    *what = "cannot flush";
  err = smbq_close(f);
  if (rc == 0 && err < 0) {
    rc = err;
    *what = "cannot close";
  }
  return rc;
}

int cmd_put(struct cli *cli, int argc, char **argv) {
  (void)argc;
  int fd = strcmp(argv[0], "-") == 0 ? STDIN_FILENO
                                     : open(argv[0], O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    fprintf(stderr, "smbq: cannot open %s: %s\n", argv[0], strerror(errno));
    return errno == ENOENT ? SMBQ_EXIT_NOTFOUND : SMBQ_EXIT_OTHER;
  }
  struct cli_share s;
  int rc = cli_open(cli, argv[1], &s);
  if (rc) {
    close(fd);
    return rc;
  }
  /* "put file //h/s/dir" or "//h/s/dir/" puts the file into dir. */
  char path[1024];
  snprintf(path, sizeof(path), "%s", s.url.path);
  struct smbq_stat st;
  if (!path[0] || (smbq_stat(s.tree, path, &st) == 0 &&
                   st.type == SMBQ_TYPE_DIR)) {
    const char *base = smbq_url_basename(argv[0]);
    size_t l = strlen(path);
    snprintf(path + l, sizeof(path) - l, "%s%s", l ? "/" : "", base);
  }
  for (int tries = 0;; tries++) {
    const char *what;
    int err = put_once(cli, s.tree, path, fd, &what);
    /* The server refused the open's durable handle when the client
     * reconnected after an outage (Samba does when an async write ended
     * after it saved the handle's state): writes in flight then may be
     * missing. A file read from the start again is written again. */
    if (err == SMBQ_ERR_STALE && tries < CLI_LOST_RETRIES &&
        lseek(fd, 0, SEEK_SET) == 0) {
      fprintf(stderr, "smbq: %s: " CLI_LOST_AGAIN "\n", argv[1]);
      continue;
    }
    if (err == UPLOAD_LOCAL_FAILED)
      rc = SMBQ_EXIT_OTHER;
    else if (err < 0)
      rc = cli_fail(&s, err, "%s %s", what, argv[1]);
    break;
  }
  if (fd != STDIN_FILENO)
    close(fd);
  cli_close(&s);
  return rc;
}
