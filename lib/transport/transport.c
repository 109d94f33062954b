#include "transport/transport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>

void smbq_transport_free(struct smbq_transport *t) {
  if (t)
    t->ops->destroy(t);
}

long smbq_transport_sendv(struct smbq_transport *t, const struct iovec *iov,
                          int n) {
  if (t->ops->sendv)
    return t->ops->sendv(t, iov, n);
  long total = 0;
  for (int i = 0; i < n; i++) {
    long k = t->ops->send(t, iov[i].iov_base, iov[i].iov_len);
    if (k < 0)
      return total ? total : k;
    total += k;
    if ((size_t)k < iov[i].iov_len)
      break;
  }
  return total;
}

int64_t smbq_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t smbq_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void smbq_transport_set_local(struct smbq_transport *t, int fd) {
  struct sockaddr_storage ss;
  socklen_t sl = sizeof(ss);
  char host[INET6_ADDRSTRLEN] = "?";
  t->local[0] = '\0';
  if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
    return;
  if (ss.ss_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
    snprintf(t->local, sizeof(t->local), "%s:%u", host, ntohs(in->sin_port));
  } else if (ss.ss_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
    snprintf(t->local, sizeof(t->local), "[%s]:%u", host,
             ntohs(in6->sin6_port));
  }
}
