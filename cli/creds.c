#include "creds.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

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

char *smbq_read_password_file(const char *path, char *err, size_t errlen) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    snprintf(err, errlen, "cannot open password file %s: %s", path,
             strerror(errno));
    return NULL;
  }
  struct stat st;
  if (fstat(fd, &st) == 0 && (st.st_mode & S_IROTH)) {
    snprintf(err, errlen, "password file %s is readable by others; "
             "run: chmod o-rwx %s", path, path);
    close(fd);
    return NULL;
  }
  char buf[1024];
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n < 0) {
    snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
    return NULL;
  }
  buf[n] = '\0';
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

char *smbq_prompt_password(const char *user, const char *host) {
  int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return NULL;
  struct termios old, noecho;
  if (tcgetattr(fd, &old) < 0) {
    close(fd);
    return NULL;
  }
  dprintf(fd, "Password for %s@%s: ", user, host);
  noecho = old;
  noecho.c_lflag &= ~(tcflag_t)ECHO;
  tcsetattr(fd, TCSAFLUSH, &noecho);
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
