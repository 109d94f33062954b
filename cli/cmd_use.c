/* smbq use: smbq-mount mounts in the manner of Windows' NET USE.
 *
 *   smbq use                          list: Status, Local, Remote, Transport
 *   smbq use MOUNTPOINT               one mount in detail
 *   smbq use URL MOUNTPOINT           mount, by running smbq-mount with the
 *                                     options given to smbq (so its errors
 *                                     and exit codes are smbq-mount's)
 *   smbq use MOUNTPOINT --delete      unmount, wait for the daemon to exit
 *   smbq use '*' --delete [--yes]     unmount every smbq mount
 *   smbq use --stats MOUNTPOINT       the mount's counters, asked of the
 *                                     daemon by an ioctl on its root
 *                                     (MOUNT_IOC_STATS)
 *
 * What is mounted comes from /proc/self/mountinfo (type fuse.smbq-mount);
 * transport and state from the state file each smbq-mount daemon keeps
 * (mount_state.h). A mount whose daemon is gone is Unavailable; one whose
 * connection is lost is Reconnecting (or Disconnected, with reconnecting
 * off), and why is shown below its line of the list, in the detail view
 * and as "cause" in JSON. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mount.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "exitcodes.h"
#include "mount_state.h"

#define MOUNT_PROGRAM "smbq-mount"
/* How long --delete waits for a daemon to exit after the unmount (it
 * answers what is in flight and logs off first). */
#define DAEMON_EXIT_WAIT_MS 30000
/* Status of a mount with no state file: made by a daemon that could not
 * write one, or whose file is where we do not look. */
#define STATUS_UNKNOWN "Unknown"
#define STATUS_UNAVAILABLE "Unavailable"
/* What smbq-mount answers on its root (fuse/fs_stats.c): lines
 * "requests N", "round_trips N", "bytes_sent N", "bytes_received N",
 * "breaks N". */

/* ---- what is mounted -------------------------------------------------- */

struct state_entry {
  struct mount_state s;
  char path[PATH_MAX]; /* its file */
  bool alive;          /* the daemon runs */
  bool claimed;        /* joined with a mount */
};

struct use_mount {
  struct mountinfo mi;
  struct state_entry *st; /* NULL: no state file */
  const char *status;
};

struct use_list {
  struct use_mount *m;
  size_t n;
  struct state_entry *st;
  size_t nst;
};

/* A running smbq-mount, not a zombie, and not a process that got the pid
 * of a daemon that died. */
static bool daemon_alive(long pid) {
  char path[64], buf[256];
  snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
  FILE *f = fopen(path, "re");
  if (!f)
    return false;
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  /* "PID (COMM) STATE ..." */
  char *lp = strchr(buf, '('), *rp = strrchr(buf, ')');
  if (!lp || !rp || rp < lp || rp[1] != ' ')
    return false;
  *rp = '\0';
  return strcmp(lp + 1, MOUNT_PROGRAM) == 0 && rp[2] != 'Z' && rp[2] != 'X';
}

static void *grow(void *v, size_t n, size_t size) {
  /* one at a time: there are a handful of mounts */
  return realloc(v, (n + 1) * size);
}

static int add_mount(const struct mountinfo *mi, void *arg) {
  struct use_list *l = arg;
  if (strcmp(mi->fstype, MOUNT_FSTYPE) != 0)
    return 0;
  struct use_mount *m = grow(l->m, l->n, sizeof(*m));
  if (!m)
    return -1;
  l->m = m;
  memset(&m[l->n], 0, sizeof(m[l->n]));
  m[l->n++].mi = *mi;
  return 0;
}

static void add_state(struct use_list *l, const char *path) {
  struct state_entry *st = grow(l->st, l->nst, sizeof(*st));
  if (!st)
    return;
  l->st = st;
  st = &st[l->nst];
  if (mount_state_read(path, &st->s) < 0)
    return; /* a half-made or foreign file: not ours to judge */
  snprintf(st->path, sizeof(st->path), "%s", path);
  st->alive = daemon_alive(st->s.pid);
  st->claimed = false;
  l->nst++;
}

static bool is_state_name(const char *name) {
  size_t n = strlen(name);
  return name[0] != '.' && n > 6 && strcmp(name + n - 6, ".state") == 0;
}

static void load_dir(struct use_list *l, const char *dir) {
  DIR *d = opendir(dir);
  if (!d)
    return;
  struct dirent *e;
  char path[PATH_MAX];
  while ((e = readdir(d)))
    if (is_state_name(e->d_name) &&
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) <
            (int)sizeof(path))
      add_state(l, path);
  closedir(d);
}

/* Root's daemons write to /run/smbq/mounts, other users' to their
 * XDG_RUNTIME_DIR (usually /run/user/UID), which root reads too. */
static void load_states(struct use_list *l) {
  load_dir(l, "/run/smbq/mounts");
  char own[PATH_MAX];
  if (geteuid() != 0) {
    if (mount_state_dir(own, sizeof(own), false) == 0)
      load_dir(l, own);
    return;
  }
  glob_t g;
  if (glob("/run/user/*/smbq/mounts", GLOB_NOSORT, NULL, &g) == 0)
    for (size_t i = 0; i < g.gl_pathc; i++)
      load_dir(l, g.gl_pathv[i]);
  globfree(&g);
}

/* The state file of m: same mount point and mount id, else (a mount seen
 * from another mount namespace has another id) same mount point, a
 * running daemon first. */
static struct state_entry *find_state(struct use_list *l,
                                      const struct mountinfo *mi,
                                      bool by_id) {
  struct state_entry *best = NULL;
  for (size_t i = 0; i < l->nst; i++) {
    struct state_entry *st = &l->st[i];
    if (st->claimed || strcmp(st->s.mountpoint, mi->mountpoint) != 0)
      continue;
    if (by_id ? st->s.mount_id == mi->id : !best || st->alive)
      best = st;
  }
  return best;
}

static void join(struct use_list *l) {
  for (int pass = 0; pass < 2; pass++)
    for (size_t i = 0; i < l->n; i++) {
      struct use_mount *m = &l->m[i];
      if (!m->st && (m->st = find_state(l, &m->mi, pass == 0)))
        m->st->claimed = true;
    }
  for (size_t i = 0; i < l->n; i++) {
    struct use_mount *m = &l->m[i];
    m->status = !m->st || !m->st->s.state[0] ? STATUS_UNKNOWN
                : m->st->alive                 ? m->st->s.state
                                               : STATUS_UNAVAILABLE;
  }
}

/* A daemon that died without unmounting (killed) leaves its file. */
static void remove_stale(const struct use_list *l) {
  for (size_t i = 0; i < l->nst; i++)
    if (!l->st[i].claimed && !l->st[i].alive)
      unlink(l->st[i].path);
}

static void list_free(struct use_list *l) {
  free(l->m);
  free(l->st);
  memset(l, 0, sizeof(*l));
}

static int list_load(struct use_list *l) {
  memset(l, 0, sizeof(*l));
  if (mountinfo_each(add_mount, l) < 0) {
    fprintf(stderr, "smbq: cannot read /proc/self/mountinfo: %s\n",
            strerror(errno));
    return SMBQ_EXIT_OTHER;
  }
  load_states(l);
  join(l);
  remove_stale(l);
  return 0;
}

/* The mount at path that is on top (mounted last), or NULL. */
static struct use_mount *find_mount(struct use_list *l, const char *path) {
  for (size_t i = l->n; i-- > 0;)
    if (strcmp(l->m[i].mi.mountpoint, path) == 0)
      return &l->m[i];
  return NULL;
}

/* ---- showing ---------------------------------------------------------- */

/* Why the connection is lost, while the daemon says so (Reconnecting,
 * Disconnected); NULL otherwise. */
static const char *cause_of(const struct use_mount *m) {
  if (!m->st || !m->st->alive || !m->st->s.cause[0] ||
      strcmp(m->st->s.state, MOUNT_STATE_OK) == 0)
    return NULL;
  return m->st->s.cause;
}

static const char *transport_label(const struct use_mount *m) {
  if (!m->st || !m->st->s.transport[0])
    return "-";
  return strcasecmp(m->st->s.transport, "quic") == 0 ? "QUIC" : "TCP";
}

/* Columns on a terminal: UTF-8 characters, not bytes. */
static size_t text_width(const char *s) {
  size_t w = 0;
  for (; *s; s++)
    w += ((unsigned char)*s & 0xC0) != 0x80;
  return w;
}

/* Names on a terminal: control characters (a newline in a mount point)
 * are shown as '?'. */
static void put_text(const char *s, size_t width) {
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    putchar(*p < 0x20 || *p == 0x7F ? '?' : *p);
  for (size_t w = text_width(s); w < width; w++)
    putchar(' ');
}

enum { COL_STATUS, COL_LOCAL, COL_REMOTE, COL_TRANSPORT, N_COLS };

static void cells(const struct use_mount *m, const char *c[N_COLS]) {
  c[COL_STATUS] = m->status;
  c[COL_LOCAL] = m->mi.mountpoint;
  c[COL_REMOTE] = m->mi.source;
  c[COL_TRANSPORT] = transport_label(m);
}

static void print_row(const char *const c[N_COLS], const size_t *w) {
  for (int i = 0; i < N_COLS - 1; i++)
    put_text(c[i], w[i] + 2);
  put_text(c[N_COLS - 1], 0);
  putchar('\n');
}

static void print_table(const struct use_list *l) {
  if (l->n == 0) {
    printf("There are no smbq mounts.\n");
    return;
  }
  static const char *const head[N_COLS] = {"Status", "Local", "Remote",
                                           "Transport"};
  size_t w[N_COLS];
  for (int i = 0; i < N_COLS; i++)
    w[i] = strlen(head[i]);
  for (size_t k = 0; k < l->n; k++) {
    const char *c[N_COLS];
    cells(&l->m[k], c);
    for (int i = 0; i < N_COLS; i++)
      w[i] = text_width(c[i]) > w[i] ? text_width(c[i]) : w[i];
  }
  print_row(head, w);
  for (size_t k = 0; k < l->n; k++) {
    const char *c[N_COLS];
    cells(&l->m[k], c);
    print_row(c, w);
    /* as NET USE continues a row: on the next line, under Local */
    const char *cause = cause_of(&l->m[k]);
    if (cause) {
      put_text("", w[COL_STATUS] + 2);
      put_text(cause, 0);
      putchar('\n');
    }
  }
}

static void json_field(const char *key, const char *v) {
  printf(",\"%s\":", key);
  if (v && v[0])
    cli_json_str(stdout, v);
  else
    printf("null");
}

static void print_json_mount(const struct use_mount *m) {
  const struct mount_state *s = m->st ? &m->st->s : NULL;
  printf("{\"status\":");
  cli_json_str(stdout, m->status);
  json_field("local", m->mi.mountpoint);
  json_field("remote", m->mi.source);
  json_field("transport", s ? s->transport : NULL);
  json_field("url", s ? s->url : NULL);
  json_field("server", s ? s->server : NULL);
  json_field("address", s ? s->peer : NULL);
  json_field("dialect", s ? s->dialect : NULL);
  json_field("cause", cause_of(m));
  if (s)
    printf(",\"pid\":%ld}", s->pid);
  else
    printf(",\"pid\":null}");
}

static void print_json_list(const struct use_list *l) {
  printf("[");
  for (size_t i = 0; i < l->n; i++) {
    printf(i ? ",\n  " : "\n  ");
    print_json_mount(&l->m[i]);
  }
  printf("\n]\n");
}

static void print_detail(const struct use_mount *m) {
  const struct mount_state *s = m->st ? &m->st->s : NULL;
  const char *cause = cause_of(m);
  const struct {
    const char *label, *value;
  } rows[] = {
      {"Local name", m->mi.mountpoint},
      {"Remote name", m->mi.source},
      {"Status", m->status},
      {"Cause", cause}, /* only while the connection is lost */
      {"Transport", transport_label(m)},
      {"URL", s ? s->url : "-"},
      {"Server", s ? s->server : "-"},
      {"Address", s ? s->peer : "-"},
      {"Dialect", s ? s->dialect : "-"},
  };
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    if (!rows[i].value)
      continue;
    put_text(rows[i].label, 14);
    put_text(rows[i].value[0] ? rows[i].value : "-", 0);
    putchar('\n');
  }
  if (s)
    printf("%-14s%ld\n", "Daemon PID", s->pid);
}

/* ---- mount points ----------------------------------------------------- */

/* The absolute path of a mount point, found without looking into the
 * mount itself where possible: that stats the daemon's root, and a mount
 * whose daemon is gone fails it (ENOTCONN). So: the parent resolved,
 * then the last name, unless it is "." or "..". */
static int parent_path(const char *arg, char *out) {
  char tmp[PATH_MAX], dir[PATH_MAX];
  if (snprintf(tmp, sizeof(tmp), "%s", arg) >= (int)sizeof(tmp))
    return -1;
  size_t n = strlen(tmp);
  while (n > 1 && tmp[n - 1] == '/')
    tmp[--n] = '\0';
  char *slash = strrchr(tmp, '/');
  const char *base = slash ? slash + 1 : tmp;
  if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
    return -1;
  const char *parent = !slash ? "." : slash == tmp ? "/" : tmp;
  if (slash)
    *slash = '\0';
  if (!realpath(parent, dir))
    return -1;
  bool root = strcmp(dir, "/") == 0;
  if (snprintf(out, PATH_MAX, "%s%s%s", dir, root ? "" : "/", base) >=
      PATH_MAX)
    return -1;
  return 0;
}

/* The smbq mount named by arg (a symbolic link to one, too), or NULL. */
static struct use_mount *mount_named(struct use_list *l, const char *arg) {
  char path[PATH_MAX];
  struct use_mount *m = NULL;
  if (parent_path(arg, path) == 0)
    m = find_mount(l, path);
  if (!m && realpath(arg, path))
    m = find_mount(l, path);
  return m;
}

static int not_a_mount(const char *arg) {
  fprintf(stderr, "smbq: %s is not an smbq mount (see 'smbq use' for the "
          "list)\n", arg);
  return SMBQ_EXIT_NOTFOUND;
}

/* ---- unmounting ------------------------------------------------------- */

static int run_wait(char *const argv[]) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "smbq: fork: %s\n", strerror(errno));
    return SMBQ_EXIT_OTHER;
  }
  if (pid == 0) {
    execvp(argv[0], argv);
    fprintf(stderr, "smbq: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(SMBQ_EXIT_OTHER);
  }
  int st;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR)
      return SMBQ_EXIT_OTHER;
  if (WIFEXITED(st))
    return WEXITSTATUS(st);
  return SMBQ_EXIT_OTHER;
}

/* Root unmounts itself; others through the setuid fusermount3, which
 * allows it for the user who mounted. */
static int unmount(const char *path) {
  if (geteuid() != 0) {
    char *const argv[] = {"fusermount3", "-u", (char *)path, NULL};
    return run_wait(argv) == 0 ? 0 : SMBQ_EXIT_OTHER;
  }
  if (umount2(path, UMOUNT_NOFOLLOW) == 0)
    return 0;
  if (errno == EBUSY)
    fprintf(stderr, "smbq: cannot unmount %s: it is in use (open files, "
            "or a process's working directory inside it)\n", path);
  else
    fprintf(stderr, "smbq: cannot unmount %s: %s\n", path, strerror(errno));
  return SMBQ_EXIT_OTHER;
}

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Until the daemon has exited: a pidfd (it is not our child) becomes
 * readable then; without one, look every 50 ms. Returns 0, or -1 on
 * timeout. */
static int wait_exit(int pidfd, long pid) {
  long deadline = now_ms() + DAEMON_EXIT_WAIT_MS;
  for (long left = DAEMON_EXIT_WAIT_MS; left > 0; left = deadline - now_ms()) {
    if (pidfd < 0 && !daemon_alive(pid))
      return 0;
    if (pidfd < 0) {
      usleep(50000);
      continue;
    }
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    if (poll(&p, 1, (int)left) > 0)
      return 0;
  }
  return -1;
}

static int delete_mount(struct use_mount *m) {
  const char *path = m->mi.mountpoint;
  struct state_entry *st = m->st && m->st->alive ? m->st : NULL;
  /* opened before the unmount: the pid cannot be reused under us */
  int pidfd = st ? pidfd_open((pid_t)st->s.pid, 0) : -1;
  int rc = unmount(path);
  if (rc == 0 && st && wait_exit(pidfd, st->s.pid) < 0) {
    fprintf(stderr, "smbq: %s is unmounted, but its smbq-mount (pid %ld) "
            "has not exited after %d s\n", path, st->s.pid,
            DAEMON_EXIT_WAIT_MS / 1000);
    rc = SMBQ_EXIT_OTHER;
  }
  if (pidfd >= 0)
    close(pidfd);
  if (rc == 0 && m->st)
    unlink(m->st->path); /* the daemon's job, unless it died before */
  if (rc == 0)
    printf("%s was deleted successfully.\n", path);
  return rc;
}

static bool confirm_all(const struct use_list *l) {
  printf("You have these smbq mounts:\n\n");
  print_table(l);
  printf("\nUnmounting them will close any files open on them.\n");
  printf("Do you want to continue this operation? (Y/N) [N]: ");
  fflush(stdout);
  char line[32];
  if (!fgets(line, sizeof(line), stdin))
    return false;
  return strcasecmp(line, "y\n") == 0 || strcasecmp(line, "yes\n") == 0;
}

/* Last first: a mount inside another, or stacked on one, goes before
 * it. */
static int delete_all(struct cli *cli, struct use_list *l) {
  if (l->n == 0) {
    printf("There are no smbq mounts.\n");
    return SMBQ_EXIT_OK;
  }
  if (!cli->yes && !isatty(STDIN_FILENO)) {
    fprintf(stderr, "smbq: use '*' --delete unmounts every smbq mount; "
            "standard input is not a terminal to ask, so add --yes\n");
    return SMBQ_EXIT_USAGE;
  }
  if (!cli->yes && !confirm_all(l)) {
    printf("Nothing was unmounted.\n");
    return SMBQ_EXIT_OTHER;
  }
  int rc = SMBQ_EXIT_OK;
  for (size_t i = l->n; i-- > 0;) {
    int r = delete_mount(&l->m[i]);
    rc = rc ? rc : r;
  }
  return rc;
}

/* ---- mounting --------------------------------------------------------- */

enum fwd { FWD, LOCAL, REFUSE };

/* What an smbq option means for `use URL MOUNTPOINT`. The connection
 * options have the same names in smbq-mount and go there as they are
 * (any not listed here: smbq-mount then says if it lacks one); these are
 * smbq's own, or cp's. */
static const struct {
  const char *name;
  enum fwd what;
} use_opts[] = {
    {"json", LOCAL},     {"yes", LOCAL},      {"delete", LOCAL},
    {"stats", LOCAL},
    {"recursive", REFUSE}, {"resume", REFUSE}, {"progress", REFUSE},
    {"no-progress", REFUSE},
};

static enum fwd use_opt(const char *name) {
  for (size_t i = 0; i < sizeof(use_opts) / sizeof(use_opts[0]); i++)
    if (strcmp(use_opts[i].name, name) == 0)
      return use_opts[i].what;
  return FWD;
}

/* smbq-mount next to this smbq (an installation, or a copy beside it),
 * else the one in PATH. */
static void mount_program(char *buf, size_t len) {
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n > 0) {
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash && (size_t)(slash - self) + sizeof("/" MOUNT_PROGRAM) <= len) {
      memcpy(buf, self, (size_t)(slash - self));
      memcpy(buf + (slash - self), "/" MOUNT_PROGRAM,
             sizeof("/" MOUNT_PROGRAM));
      if (access(buf, X_OK) == 0)
        return;
    }
  }
  snprintf(buf, len, "%s", MOUNT_PROGRAM);
}

/* PROGRAM URL MOUNTPOINT --name=value... (-o for --mount-options); the
 * strings made here go to args. Room: 2 per option + 4 in each. Returns
 * 0 or an exit code. */
static int mount_argv(const struct cli *cli, const char *url,
                      const char *mnt, char *prog, char **argv,
                      char **args) {
  int n = 0, k = 0;
  argv[n++] = prog;
  argv[n++] = (char *)url;
  argv[n++] = (char *)mnt;
  for (int i = 0; i < cli->ngiven; i++) {
    const struct cli_given *g = &cli->given[i];
    enum fwd what = use_opt(g->name);
    if (what == REFUSE) {
      fprintf(stderr, "smbq: --%s does not apply to 'smbq use'\n",
              g->name);
      return SMBQ_EXIT_USAGE;
    }
    if (what == LOCAL)
      continue;
    if (strcmp(g->name, "mount-options") == 0) {
      argv[n++] = "-o";
      argv[n++] = (char *)g->arg;
      continue;
    }
    int len = g->arg ? asprintf(&args[k], "--%s=%s", g->name, g->arg)
                     : asprintf(&args[k], "--%s", g->name);
    if (len < 0) {
      args[k] = NULL;
      fprintf(stderr, "smbq: out of memory\n");
      return SMBQ_EXIT_OTHER;
    }
    argv[n++] = args[k++];
  }
  argv[n] = NULL;
  return 0;
}

static int run_mount(const struct cli *cli, const char *url,
                     const char *mnt) {
  char prog[PATH_MAX];
  mount_program(prog, sizeof(prog));
  size_t cap = 2 * (size_t)cli->ngiven + 4;
  char **argv = calloc(cap, sizeof(char *));
  char **args = calloc(cap, sizeof(char *));
  int rc = SMBQ_EXIT_OTHER;
  if (!argv || !args)
    fprintf(stderr, "smbq: out of memory\n");
  else if ((rc = mount_argv(cli, url, mnt, prog, argv, args)) == 0)
    rc = run_wait(argv);
  for (size_t i = 0; args && i < cap; i++)
    free(args[i]);
  free(args);
  free(argv);
  return rc;
}

/* What was mounted, as the listing shows it. */
static void report_mounted(const struct cli *cli, const char *url,
                           const char *mnt) {
  struct use_list l;
  struct use_mount *m = NULL;
  if (list_load(&l) == 0)
    m = mount_named(&l, mnt);
  if (m && cli->json) {
    print_json_mount(m);
    putchar('\n');
  } else if (m && m->st) {
    printf("%s is now %s over %s (%s, SMB %s).\n", m->mi.mountpoint,
           m->mi.source, transport_label(m), m->st->s.peer,
           m->st->s.dialect);
  } else {
    printf("%s is now %s.\n", mnt, url);
  }
  list_free(&l);
}

static int use_mount(struct cli *cli, const char *url, const char *mnt) {
  struct use_list l;
  int rc = list_load(&l);
  if (rc)
    return rc;
  struct use_mount *m = mount_named(&l, mnt);
  if (m) {
    fprintf(stderr, "smbq: %s is already an smbq mount of %s; 'smbq use "
            "%s --delete' first\n", mnt, m->mi.source, mnt);
    list_free(&l);
    return SMBQ_EXIT_OTHER;
  }
  list_free(&l);
  rc = run_mount(cli, url, mnt);
  if (rc == SMBQ_EXIT_OK)
    report_mounted(cli, url, mnt);
  return rc;
}

/* ---- the command ------------------------------------------------------ */

static int use_show(struct cli *cli, struct use_list *l, const char *arg) {
  struct use_mount *m = mount_named(l, arg);
  if (!m)
    return not_a_mount(arg);
  if (cli->json) {
    print_json_mount(m);
    putchar('\n');
  } else {
    print_detail(m);
  }
  return SMBQ_EXIT_OK;
}

/* The counters of the mount named by arg, as its daemon reports them
 * (MOUNT_IOC_STATS on the mount's root). */
static int use_stats(struct use_list *l, const char *arg) {
  struct use_mount *m = mount_named(l, arg);
  if (!m)
    return not_a_mount(arg);
  const char *path = m->mi.mountpoint;
  struct mount_stats_text buf;
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int rc = fd < 0 ? -1 : ioctl(fd, MOUNT_IOC_STATS, &buf);
  int err = errno;
  if (fd >= 0)
    close(fd);
  if (rc < 0 && err == ENOTCONN) {
    fprintf(stderr, "smbq: %s: the smbq-mount serving it is gone; 'smbq "
            "use %s --delete' removes the mount\n", arg, arg);
    return SMBQ_EXIT_OTHER;
  }
  if (rc < 0) {
    /* ENOTTY: a daemon from before the counters' ioctl */
    fprintf(stderr, "smbq: cannot read the counters of %s: %s (its "
            "smbq-mount may be too old to report them)\n", arg,
            strerror(err));
    return SMBQ_EXIT_OTHER;
  }
  buf.text[sizeof(buf.text) - 1] = '\0';
  size_t n = strlen(buf.text);
  fputs(buf.text, stdout);
  if (n > 0 && buf.text[n - 1] != '\n')
    putchar('\n');
  return SMBQ_EXIT_OK;
}

static int use_delete(struct cli *cli, struct use_list *l, const char *arg) {
  if (strcmp(arg, "*") == 0)
    return delete_all(cli, l);
  struct use_mount *m = mount_named(l, arg);
  return m ? delete_mount(m) : not_a_mount(arg);
}

static int use_usage(const char *why) {
  fprintf(stderr, "smbq: use: %s\nUsage: smbq use [URL MOUNTPOINT | "
          "MOUNTPOINT [--delete] | '*' --delete [--yes] | --stats "
          "MOUNTPOINT]\n", why);
  return SMBQ_EXIT_USAGE;
}

int cmd_use(struct cli *cli, int argc, char **argv) {
  if (cli->use_stats && (argc != 1 || cli->use_delete ||
                         strcmp(argv[0], "*") == 0))
    return use_usage("--stats takes one mount point (and no --delete)");
  if (argc == 2 && cli->use_delete)
    return use_usage("--delete takes only the mount point");
  if (argc == 2)
    return use_mount(cli, argv[0], argv[1]);
  if (argc == 0 && cli->use_delete)
    return use_usage("--delete needs a mount point, or '*' for all");
  if (argc == 1 && !cli->use_delete && strcmp(argv[0], "*") == 0)
    return use_usage("'*' goes with --delete");
  struct use_list l;
  int rc = list_load(&l);
  if (rc)
    return rc;
  if (argc == 0 && cli->json)
    print_json_list(&l);
  else if (argc == 0)
    print_table(&l);
  else if (cli->use_delete)
    rc = use_delete(cli, &l, argv[0]);
  else if (cli->use_stats)
    rc = use_stats(&l, argv[0]);
  else
    rc = use_show(cli, &l, argv[0]);
  list_free(&l);
  return rc;
}
