/* smbq-mount: mount an SMB share with FUSE, on the libsmbq public API.
 *
 * Start-up order matters: libsmbq runs an I/O thread per connection and a
 * fork() keeps only the calling thread, so in the background case the
 * process forks first and the child connects, checks the share, mounts
 * and only then tells the waiting parent to exit 0. Until that moment the
 * child writes its errors to the terminal and exits with the smbq CLI's
 * exit code, which the parent passes on; nothing is left mounted. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "creds.h"
#include "exitcodes.h"
#include "fs.h"
#include "fs_file.h"
#include "log.h"
#include "mount.h"
#include "readahead.h"
#include "reconnect.h"

/* Sequential reads then reach us as requests of up to 1 MiB (max_pages
 * follows max_write), which libsmbq pipelines. */
#define READAHEAD_KIB 4096


/* Our own copies of the password go as soon as the session is up; so does
 * SMBQ_PASSWORD, which /proc/PID/environ would otherwise show. */
static void forget_secrets(struct mount_cfg *m) {
  smbq_free_secret(m->cli.password);
  m->cli.password = NULL;
  smbq_opts_free(m->cli.opts);
  m->cli.opts = NULL;
  char *env = getenv("SMBQ_PASSWORD");
  if (env)
    explicit_bzero(env, strlen(env));
  unsetenv("SMBQ_PASSWORD");
}

/* An absolute path: unmounting happens after chdir("/"). */
static int check_mountpoint(struct mount_cfg *m, char *abs) {
  struct stat st;
  if (!realpath(m->mountpoint, abs) || stat(abs, &st) < 0) {
    fprintf(stderr, "smbq-mount: mount point %s: %s\n", m->mountpoint,
            strerror(errno));
    return SMBQ_EXIT_USAGE;
  }
  if (!S_ISDIR(st.st_mode)) {
    fprintf(stderr, "smbq-mount: mount point %s is not a directory\n",
            m->mountpoint);
    return SMBQ_EXIT_USAGE;
  }
  m->mountpoint = abs;
  return 0;
}

/* Mounted: leave the terminal and tell the parent to exit 0. */
static void detach(int notify_fd) {
  if (chdir("/") < 0)
    mlog(LOG_WARNING, "chdir /: %s", strerror(errno));
  if (notify_fd < 0)
    return;
  setsid();
  mlog_use_syslog();
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    dup2(null, STDIN_FILENO);
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    if (null > STDERR_FILENO)
      close(null);
  }
  unsigned char ok = SMBQ_EXIT_OK;
  if (write(notify_fd, &ok, 1) != 1)
    mlog(LOG_WARNING, "cannot notify the starting process");
  close(notify_fd);
}

static void log_mounted(const struct mount_cfg *m, struct fs *fs) {
  struct smbq_conn_info i;
  if (smbq_conn_get_info(fs->conn, &i) < 0)
    return;
  mlog(LOG_INFO, "mounted %s on %s (%s over %s, SMB %s)", m->url,
       m->mountpoint, i.peer, i.transport, i.dialect);
}

static int loop(const struct mount_cfg *m, struct fuse_session *se) {
  int res;
  if (m->singlethread) {
    res = fuse_session_loop(se);
  } else {
    struct fuse_loop_config cfg = {.clone_fd = 0, .max_idle_threads = 64};
    res = fuse_session_loop_mt(se, &cfg);
  }
  /* > 0: stopped by a signal (SIGTERM, SIGINT), an ordinary way out. */
  return res < 0 ? SMBQ_EXIT_OTHER : SMBQ_EXIT_OK;
}

/* Signal handlers only now: while the parent of a background start waits
 * for us, Ctrl-C must still end both. */
static int run_session(struct mount_cfg *m, struct fuse_session *se,
                       struct fs *fs, int notify_fd) {
  if (fuse_set_signal_handlers(se) < 0)
    return SMBQ_EXIT_OTHER;
  int rc = SMBQ_EXIT_OTHER;
  if (fuse_session_mount(se, m->mountpoint) == 0) {
    fs_set_session(fs, se); /* lease breaks may now reach the kernel */
    mount_raise_readahead(m->mountpoint, READAHEAD_KIB);
    statefile_mounted(&fs->state, m->url, m->mountpoint, fs->conn);
    detach(notify_fd);
    log_mounted(m, fs);
    rc = loop(m, se);
    fs_drain(fs);
    fuse_session_unmount(se);
    statefile_unmounted(&fs->state);
    mlog(LOG_INFO, "unmounted %s", m->mountpoint);
  }
  fuse_remove_signal_handlers(se);
  return rc;
}

/* Connect, check the folder to mount, mount and serve until unmounted.
 * fs is the session's userdata, filled in here. */
static int serve(struct mount_cfg *m, struct fuse_session *se, struct fs *fs,
                 int notify_fd) {
  struct cli_share share;
  int rc = cli_open(&m->cli, m->url, &share);
  if (rc)
    return rc;
  forget_secrets(m);
  int err = fs_init(fs, m, share.conn, share.tree, share.url.path);
  if (err == SMBQ_ERR_NOTDIR) {
    fprintf(stderr, "smbq-mount: %s is not a directory\n", m->url);
    rc = SMBQ_EXIT_NOTFOUND;
  } else if (err < 0) {
    rc = cli_fail(&share, err, "cannot mount %s", m->url);
  } else {
    rc = run_session(m, se, fs, notify_fd);
    fs_destroy(fs);
  }
  cli_close(&share);
  return rc;
}

/* Parent side of the background start: the child's verdict. */
static int wait_child(pid_t pid, int fd) {
  unsigned char code;
  ssize_t n;
  do
    n = read(fd, &code, 1);
  while (n < 0 && errno == EINTR);
  close(fd);
  if (n == 1)
    return code; /* mounted; the child serves on */
  int st;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR)
      return SMBQ_EXIT_OTHER;
  if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
    return WEXITSTATUS(st);
  return SMBQ_EXIT_OTHER;
}

static int serve_in_background(struct mount_cfg *m, struct fuse_session *se,
                               struct fs *fs) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) {
    fprintf(stderr, "smbq-mount: pipe: %s\n", strerror(errno));
    return SMBQ_EXIT_OTHER;
  }
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "smbq-mount: fork: %s\n", strerror(errno));
    return SMBQ_EXIT_OTHER;
  }
  if (pid == 0) {
    close(p[0]);
    return serve(m, se, fs, p[1]);
  }
  close(p[1]);
  return wait_child(pid, p[0]);
}

/* The reconnect timeout in force for the server of m->url (command line
 * over smbq.conf over the default, as cli_config_prepare sets it), for
 * the log lines and the state file. */
static unsigned reconnect_timeout(const struct mount_cfg *m) {
  struct smbq_url u;
  char err[256];
  const char *host =
      smbq_url_parse(m->url, true, &u, err, sizeof(err)) == 0 ? u.host : NULL;
  const char *v =
      cli_config_get(m->cli.config, host, "reconnect_timeout", NULL);
  unsigned seconds;
  return cli_parse_reconnect_timeout(v, &seconds) == 0 ? seconds : 0;
}

/* The session is made before connecting, so that libfuse judges the mount
 * options first (it opens nothing yet). */
static int start(struct mount_cfg *m) {
  struct fs fs;
  memset(&fs, 0, sizeof(fs));
  /* Reconnect: the events log the outage and keep the state file (the
   * connection's copy of the options calls back into watch and
   * fs.state, which live until it is freed in serve). */
  unsigned timeout = reconnect_timeout(m);
  struct reconnect_watch watch;
  statefile_init(&fs.state, timeout > 0);
  reconnect_watch_init(&watch, timeout, &fs.state);
  if (smbq_opts_set_event_cb(m->cli.opts, reconnect_event, &watch) < 0) {
    fprintf(stderr, "smbq-mount: cannot watch the connection\n");
    statefile_destroy(&fs.state);
    return SMBQ_EXIT_OTHER;
  }
  /* Leases (on by default in libsmbq): a break drops what the kernel
   * caches of the file, after writing back what it holds (fs_file.c). The
   * callback only works once the mount is up (fs_set_session); the
   * options are copied when the connection is made. */
  int rc = SMBQ_EXIT_OTHER;
  struct fuse_session *se = NULL;
  if (smbq_opts_set_lease_break_cb(m->cli.opts, fs_lease_break, &fs) < 0) {
    fprintf(stderr, "smbq-mount: cannot watch lease breaks\n");
  } else if (!(se = fuse_session_new(&m->fuse_args, &smbq_fs_ops,
                                     sizeof(smbq_fs_ops), &fs))) {
    rc = SMBQ_EXIT_USAGE; /* libfuse said which option it did not like */
  } else {
    rc = m->foreground ? serve(m, se, &fs, -1)
                       : serve_in_background(m, se, &fs);
    fuse_session_destroy(se);
  }
  statefile_destroy(&fs.state);
  return rc;
}

int main(int argc, char **argv) {
  cli_no_core_dumps();
  mlog_capture_fuse();
  struct mount_cfg m;
  memset(&m, 0, sizeof(m));
  m.fuse_args = (struct fuse_args)FUSE_ARGS_INIT(0, NULL);
  m.cli.opts = smbq_opts_new();
  /* smbq.conf applies per server, as for smbq (cli/config.h) */
  m.cli.config = cli_config_new();
  m.cli.prepare_server = cli_config_prepare;
  if (!m.cli.opts || !m.cli.config) {
    fprintf(stderr, "smbq-mount: out of memory\n");
    smbq_opts_free(m.cli.opts);
    cli_config_free(m.cli.config);
    return SMBQ_EXIT_OTHER;
  }
  char mountpoint[PATH_MAX];
  int rc = mount_parse_args(&m, argc, argv);
  if (rc == 0 && m.help)
    mount_usage(stdout);
  else if (rc == 0 && m.version)
    printf("smbq-mount %s (libfuse %s)\n", smbq_version(),
           fuse_pkgversion());
  else if (rc == 0 && (rc = check_mountpoint(&m, mountpoint)) == 0)
    rc = start(&m);
  smbq_free_secret(m.cli.password);
  smbq_opts_free(m.cli.opts);
  cli_config_free(m.cli.config);
  mount_cfg_free(&m);
  return rc;
}
