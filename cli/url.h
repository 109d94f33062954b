/* Parsing of the locations the CLI accepts:
 *   //host/share/path   \\host\share\path   smb://[user@]host[:port]/share/path
 * IPv6 literals in brackets are accepted in all forms ([::1]). */
#ifndef SMBQ_CLI_URL_H
#define SMBQ_CLI_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct smbq_url {
  char host[256];
  char share[256];
  char path[1024];  /* '/'-separated, no leading '/', "" = share root */
  char user[256];   /* from smb://user@, "" if none */
  uint16_t port;    /* from smb://host:port, 0 if none */
};

/* True if s looks like a remote location (so "get" can tell local from
 * remote arguments). */
bool smbq_is_url(const char *s);

/* Parse s. need_share: the share component is mandatory. Returns 0, or -1
 * with a message in err. */
int smbq_url_parse(const char *s, bool need_share, struct smbq_url *u,
                   char *err, size_t errlen);

/* Last path component (the whole path if there is no '/'). */
const char *smbq_url_basename(const char *path);

#endif
