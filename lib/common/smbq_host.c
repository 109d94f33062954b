#include "smbq_host.h"

#include <arpa/inet.h>
#include <string.h>

bool smbq_host_is_address(const char *host) {
  unsigned char b[16];
  char tmp[64];
  size_t n = strlen(host);
  if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof(tmp)) {
    memcpy(tmp, host + 1, n - 2);
    tmp[n - 2] = '\0';
    host = tmp;
  }
  return inet_pton(AF_INET, host, b) == 1 || inet_pton(AF_INET6, host, b) == 1;
}
