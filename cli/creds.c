#include "creds.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"

/* Secrets files are small; anything larger is not one. */
#define SECRET_FILE_MAX 4096

void smbq_free_secret(char *s) {
  if (!s)
    return;
  explicit_bzero(s, strlen(s));
  free(s);
}

static void chomp(char *s) {
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
    s[--n] = '\0';
}

/* Read a file holding secrets into buf (NUL-terminated). The mode is
 * checked on the open descriptor, so the file cannot be swapped between
 * the check and the read. `what` names the file in messages. */
static int read_secret_file(const char *path, const char *what, char *buf,
                            size_t cap, char *err, size_t errlen) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    snprintf(err, errlen, "cannot open %s %s: %s", what, path,
             strerror(errno));
    return -1;
  }
  struct stat st;
  if (fstat(fd, &st) == 0 && (st.st_mode & S_IROTH)) {
    snprintf(err, errlen, "%s %s is readable by others; "
             "run: chmod o-rwx %s", what, path, path);
    close(fd);
    return -1;
  }
  size_t n = 0;
  ssize_t r = 1;
  while (n < cap - 1 && (r = read(fd, buf + n, cap - 1 - n)) > 0)
    n += (size_t)r;
  close(fd);
  buf[n] = '\0';
  if (r < 0) {
    snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
    return -1;
  }
  return 0;
}

char *smbq_read_password_file(const char *path, char *err, size_t errlen) {
  char buf[1024];
  if (read_secret_file(path, "password file", buf, sizeof(buf), err,
                       errlen) < 0)
    return NULL;
  char *nl = strchr(buf, '\n');
  if (nl)
    *nl = '\0';
  chomp(buf);
  char *pw = strdup(buf);
  explicit_bzero(buf, sizeof(buf));
  if (!pw)
    snprintf(err, errlen, "out of memory");
  return pw;
}

/* ---- credentials files ------------------------------------------------ */

enum cred_field { CRED_USER, CRED_PASSWORD, CRED_DOMAIN };

static const struct {
  const char *key;
  enum cred_field field;
} cred_keys[] = {
    {"username", CRED_USER},     {"user", CRED_USER},
    {"password", CRED_PASSWORD}, {"pass", CRED_PASSWORD},
    {"domain", CRED_DOMAIN},     {"dom", CRED_DOMAIN},
    {"workgroup", CRED_DOMAIN},
};

void smbq_creds_clear(struct smbq_creds *c) {
  smbq_free_secret(c->password);
  memset(c, 0, sizeof(*c));
}

static int set_name(char *dst, size_t cap, const char *v, const char *key,
                    char *err, size_t errlen) {
  if (strlen(v) >= cap) {
    snprintf(err, errlen, "%s= is too long", key);
    return -1;
  }
  memcpy(dst, v, strlen(v) + 1);
  return 0;
}

static int set_field(struct smbq_creds *c, enum cred_field f, const char *key,
                     const char *v, char *err, size_t errlen) {
  switch (f) {
  case CRED_USER:
    return set_name(c->user, sizeof(c->user), v, key, err, errlen);
  case CRED_DOMAIN:
    return set_name(c->domain, sizeof(c->domain), v, key, err, errlen);
  case CRED_PASSWORD:
    smbq_free_secret(c->password);
    c->password = strdup(v);
    if (!c->password)
      snprintf(err, errlen, "out of memory");
    return c->password ? 0 : -1;
  }
  return -1;
}

/* One "key=value" line; the value runs to the end of the line. */
static int parse_cred_line(struct smbq_creds *c, char *line, char *err,
                           size_t errlen) {
  line += strspn(line, " \t");
  chomp(line);
  if (!line[0] || line[0] == '#')
    return 0;
  char *eq = strchr(line, '=');
  if (!eq) {
    snprintf(err, errlen, "expected key=value");
    return -1;
  }
  size_t klen = (size_t)(eq - line);
  while (klen > 0 && (line[klen - 1] == ' ' || line[klen - 1] == '\t'))
    klen--;
  for (size_t i = 0; i < sizeof(cred_keys) / sizeof(cred_keys[0]); i++)
    if (strlen(cred_keys[i].key) == klen &&
        strncasecmp(line, cred_keys[i].key, klen) == 0)
      return set_field(c, cred_keys[i].field, cred_keys[i].key, eq + 1, err,
                       errlen);
  snprintf(err, errlen, "unknown key '%.*s' (expected username=, "
           "password= or domain=)", (int)klen, line);
  return -1;
}

int smbq_read_credentials(const char *path, struct smbq_creds *c, char *err,
                          size_t errlen) {
  memset(c, 0, sizeof(*c));
  char buf[SECRET_FILE_MAX];
  if (read_secret_file(path, "credentials file", buf, sizeof(buf), err,
                       errlen) < 0)
    return -1;
  int rc = 0, lineno = 0;
  char *save = NULL;
  for (char *line = strtok_r(buf, "\n", &save); line && rc == 0;
       line = strtok_r(NULL, "\n", &save)) {
    lineno++;
    char why[320];
    rc = parse_cred_line(c, line, why, sizeof(why));
    if (rc < 0)
      snprintf(err, errlen, "credentials file %s, line %d: %s", path,
               lineno, why);
  }
  explicit_bzero(buf, sizeof(buf));
  if (rc < 0)
    smbq_creds_clear(c);
  return rc;
}

int cli_use_credentials(struct cli *cli, const char *path) {
  /* cli->user points here for the rest of the run. */
  static char user[sizeof(((struct smbq_creds *)0)->user) +
                   sizeof(((struct smbq_creds *)0)->domain) + 1];
  struct smbq_creds c;
  char err[512];
  if (smbq_read_credentials(path, &c, err, sizeof(err)) < 0) {
    fprintf(stderr, "%s: %s\n", program_invocation_short_name, err);
    return -1;
  }
  if (c.user[0] && !cli->user) {
    bool qualified = strchr(c.user, '\\') || strchr(c.user, '@');
    if (c.domain[0] && !qualified)
      snprintf(user, sizeof(user), "%s\\%s", c.domain, c.user);
    else
      snprintf(user, sizeof(user), "%s", c.user);
    cli->user = user;
  }
  if (c.password) {
    smbq_free_secret(cli->password);
    cli->password = c.password;
    c.password = NULL;
  }
  smbq_creds_clear(&c);
  return 0;
}

char *smbq_prompt_password(const char *user, const char *host) {
  int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return NULL;
  struct termios old, noecho;
  if (tcgetattr(fd, &old) < 0) {
    close(fd);
    return NULL;
  }
  /* Echo off (and type-ahead dropped) before the prompt appears, as
   * getpass(3) does: input typed after the prompt must not be flushed. */
  noecho = old;
  noecho.c_lflag &= ~(tcflag_t)ECHO;
  tcsetattr(fd, TCSAFLUSH, &noecho);
  dprintf(fd, "Password for %s@%s: ", user, host);
  char buf[1024];
  size_t n = 0;
  while (n < sizeof(buf) - 1) {
    char ch;
    if (read(fd, &ch, 1) != 1 || ch == '\n')
      break;
    buf[n++] = ch;
  }
  buf[n] = '\0';
  tcsetattr(fd, TCSAFLUSH, &old);
  dprintf(fd, "\n");
  close(fd);
  chomp(buf);
  char *pw = strdup(buf);
  explicit_bzero(buf, sizeof(buf));
  return pw;
}
