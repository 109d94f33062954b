/* smbq-mount state files and /proc/self/mountinfo (see mount_state.h).
 *
 * A state file is "key=value" lines, a '\' or newline in a value written
 * as "\\" or "\n": a mount point may hold any byte but NUL. One table
 * lists the keys for the writer and the reader. */
#include "mount_state.h"

#include "local_dest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum key_kind { KEY_LONG, KEY_STR };

struct key {
  const char *name;
  enum key_kind kind;
  size_t off, size;
};

#define KLONG(f) {#f, KEY_LONG, offsetof(struct mount_state, f), 0}
#define KSTR(f)                                                            \
  {#f, KEY_STR, offsetof(struct mount_state, f),                           \
   sizeof(((struct mount_state *)0)->f)}

static const struct key keys[] = {
    KLONG(pid),       KLONG(mount_id),  KSTR(mountpoint),
    KSTR(url),        KSTR(server),     KSTR(peer),
    KSTR(transport),  KSTR(dialect),    KSTR(state),
    KSTR(cause),
};

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

/* ---- where ------------------------------------------------------------ */

static int make_dir(const char *path, mode_t mode) {
  if (mkdir(path, mode) == 0 || errno == EEXIST)
    return 0;
  return -1;
}

int mount_state_dir(char *buf, size_t len, bool create) {
  const char *base = "/run";
  mode_t mode = 0755; /* for other users' `smbq use` as well */
  if (geteuid() != 0) {
    base = getenv("XDG_RUNTIME_DIR");
    mode = 0700;
    if (!base || base[0] != '/') {
      errno = ENOENT;
      return -1;
    }
  }
  int n = snprintf(buf, len, "%s/smbq/mounts", base);
  if (n < 0 || (size_t)n >= len) {
    errno = ENAMETOOLONG;
    return -1;
  }
  if (!create)
    return 0;
  char *mounts = buf + strlen(base) + strlen("/smbq");
  *mounts = '\0';
  int rc = make_dir(buf, mode);
  *mounts = '/';
  return rc < 0 ? -1 : make_dir(buf, mode);
}

int mount_state_path(char *buf, size_t len, const char *dir, long pid) {
  int n = snprintf(buf, len, "%s/%ld.state", dir, pid);
  return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* ---- writing ---------------------------------------------------------- */

static void put_escaped(FILE *f, const char *s) {
  for (; *s; s++) {
    if (*s == '\\')
      fputs("\\\\", f);
    else if (*s == '\n')
      fputs("\\n", f);
    else
      fputc(*s, f);
  }
}

static void put_key(FILE *f, const struct key *k,
                    const struct mount_state *s) {
  const char *field = (const char *)s + k->off;
  fprintf(f, "%s=", k->name);
  if (k->kind == KEY_LONG)
    fprintf(f, "%ld", *(const long *)(const void *)field);
  else
    put_escaped(f, field);
  fputc('\n', f);
}

int mount_state_write(const char *dir, const struct mount_state *s) {
  char path[PATH_MAX], tmp[PATH_MAX + 8];
  if (mount_state_path(path, sizeof(path), dir, s->pid) < 0) {
    errno = ENAMETOOLONG;
    return -1;
  }
  snprintf(tmp, sizeof(tmp), "%s.tmp", path);
  /* made afresh, never through a link or into a node planted there */
  int fd = local_part_create(tmp);
  if (fd >= 0)
    fchmod(fd, 0644); /* readable by smbq use of any user, whatever the umask */
  FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
  if (!f) {
    int e = errno;
    if (fd >= 0)
      close(fd);
    errno = e;
    return -1;
  }
  for (size_t i = 0; i < N_KEYS; i++)
    put_key(f, &keys[i], s);
  bool bad = ferror(f) != 0;
  if (fclose(f) != 0 || bad) {
    unlink(tmp);
    errno = EIO;
    return -1;
  }
  if (rename(tmp, path) < 0) {
    int e = errno;
    unlink(tmp);
    errno = e;
    return -1;
  }
  return 0;
}

/* ---- reading ---------------------------------------------------------- */

/* Undo put_escaped into dst (size len). Returns -1 if it does not fit. */
static int get_escaped(char *dst, size_t len, const char *src) {
  size_t n = 0;
  for (; *src; src++) {
    char c = *src;
    if (c == '\\' && src[1]) {
      src++;
      c = *src == 'n' ? '\n' : *src;
    }
    if (n + 1 >= len)
      return -1;
    dst[n++] = c;
  }
  dst[n] = '\0';
  return 0;
}

static int get_long(long *out, const char *v) {
  char *end;
  errno = 0;
  long x = strtol(v, &end, 10);
  if (!*v || *end || errno || x < 0)
    return -1;
  *out = x;
  return 0;
}

static int parse_line(struct mount_state *s, char *line) {
  line[strcspn(line, "\n")] = '\0';
  char *eq = strchr(line, '=');
  if (!eq)
    return -1;
  *eq = '\0';
  for (size_t i = 0; i < N_KEYS; i++) {
    if (strcmp(keys[i].name, line) != 0)
      continue;
    char *field = (char *)s + keys[i].off;
    if (keys[i].kind == KEY_LONG)
      return get_long((long *)(void *)field, eq + 1);
    return get_escaped(field, keys[i].size, eq + 1);
  }
  return 0;
}

int mount_state_read(const char *path, struct mount_state *s) {
  memset(s, 0, sizeof(*s));
  FILE *f = fopen(path, "re");
  if (!f)
    return -1;
  char *line = NULL;
  size_t cap = 0;
  int rc = 0;
  while (rc == 0 && getline(&line, &cap, f) >= 0)
    rc = parse_line(s, line);
  free(line);
  fclose(f);
  if (rc < 0 || s->pid <= 0 || s->mountpoint[0] != '/') {
    errno = EINVAL;
    return -1;
  }
  return 0;
}

/* ---- mountinfo -------------------------------------------------------- */

/* Decode mountinfo's \ooo escapes (space, tab, newline, backslash). */
static void unescape_octal(char *dst, size_t len, const char *src) {
  size_t n = 0;
  while (*src && n + 1 < len) {
    if (src[0] == '\\' && src[1] >= '0' && src[1] <= '3' &&
        src[2] >= '0' && src[2] <= '7' && src[3] >= '0' && src[3] <= '7') {
      dst[n++] = (char)((src[1] - '0') * 64 + (src[2] - '0') * 8 +
                        (src[3] - '0'));
      src += 4;
    } else {
      dst[n++] = *src++;
    }
  }
  dst[n] = '\0';
}

/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE
 * SUPEROPTIONS (proc(5)). */
static int parse_mountinfo(char *line, struct mountinfo *mi) {
  char *save = NULL, *f[6];
  for (int i = 0; i < 6; i++)
    if (!(f[i] = strtok_r(i ? NULL : line, " \n", &save)))
      return -1;
  char *t;
  while ((t = strtok_r(NULL, " \n", &save)) && strcmp(t, "-") != 0)
    ;
  char *fstype = strtok_r(NULL, " \n", &save);
  char *source = strtok_r(NULL, " \n", &save);
  if (!t || !fstype || !source)
    return -1;
  mi->id = strtol(f[0], NULL, 10);
  unescape_octal(mi->mountpoint, sizeof(mi->mountpoint), f[4]);
  unescape_octal(mi->fstype, sizeof(mi->fstype), fstype);
  unescape_octal(mi->source, sizeof(mi->source), source);
  return 0;
}

int mountinfo_each(int (*fn)(const struct mountinfo *mi, void *arg),
                   void *arg) {
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f)
    return -1;
  struct mountinfo *mi = malloc(sizeof(*mi));
  char *line = NULL;
  size_t cap = 0;
  int rc = mi ? 0 : -1;
  while (mi && getline(&line, &cap, f) >= 0)
    if (parse_mountinfo(line, mi) == 0 && fn(mi, arg) != 0)
      break;
  free(line);
  free(mi);
  fclose(f);
  return rc;
}
