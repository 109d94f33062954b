/* TCP transport (MS-SMB2 2.1, Direct TCP on port 445).
 *
 * Connects non-blocking to each resolved address in turn until one answers
 * or the connect deadline passes. Framing is the core's job: this is a
 * plain byte stream. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "smbq/smbq_err.h"
#include "transport/transport.h"

struct tcp_transport {
  struct smbq_transport base;
  struct addrinfo *ai_list;
  struct addrinfo *ai_cur;
  int fd;
  bool connected;
  bool send_blocked;
  int64_t deadline_ms;
  char host[256];
  uint16_t port;
  int last_errno;
};

static void tcp_destroy(struct smbq_transport *t) {
  struct tcp_transport *tt = (struct tcp_transport *)t;
  if (tt->fd >= 0)
    close(tt->fd);
  if (tt->ai_list)
    freeaddrinfo(tt->ai_list);
  free(tt);
}

static void format_addr(const struct sockaddr *sa, char *out, size_t len) {
  char host[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
    port = ntohs(in->sin_port);
    snprintf(out, len, "%s:%u", host, port);
  } else if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
    port = ntohs(in6->sin6_port);
    snprintf(out, len, "[%s]:%u", host, port);
  } else {
    snprintf(out, len, "?");
  }
}

/* Start a connect to the current address; moves on past addresses whose
 * socket() or connect() fails at once. */
static int start_next(struct tcp_transport *tt) {
  for (; tt->ai_cur; tt->ai_cur = tt->ai_cur->ai_next) {
    struct addrinfo *ai = tt->ai_cur;
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
                                       SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      tt->last_errno = errno;
      continue;
    }
    int one = 1;
    /* Requests are whole frames; Nagle only adds latency to small ones. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    format_addr(ai->ai_addr, tt->base.peer, sizeof(tt->base.peer));
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
        errno == EINPROGRESS) {
      tt->fd = fd;
      return 0;
    }
    tt->last_errno = errno;
    close(fd);
  }
  return -1;
}

static int fail_connect(struct tcp_transport *tt) {
  int e = tt->last_errno;
  const char *hint = "check the server address and port";
  int code = SMBQ_ERR_NET;
  if (e == ECONNREFUSED)
    hint = "nothing listens there: check that the SMB server runs and the "
           "port is right";
  else if (e == ETIMEDOUT) {
    hint = "the port may be filtered by a firewall; the QUIC transport "
           "(UDP) may get through";
    code = SMBQ_ERR_TIMEOUT;
  } else if (e == ENETUNREACH || e == EHOSTUNREACH)
    hint = "no route to the server: check the network";
  if (tt->base.peer[0])
    snprintf(tt->base.errmsg, sizeof(tt->base.errmsg),
             "TCP connection to %s failed: %s; %s", tt->base.peer,
             strerror(e ? e : ETIMEDOUT), hint);
  else
    snprintf(tt->base.errmsg, sizeof(tt->base.errmsg),
             "TCP connection to %.200s port %u failed: %s; %s", tt->host,
             tt->port, strerror(e ? e : ETIMEDOUT), hint);
  return code;
}

static int tcp_step(struct smbq_transport *t, int64_t now_ms) {
  struct tcp_transport *tt = (struct tcp_transport *)t;
  if (tt->connected)
    return 1;
  if (tt->fd < 0)
    return fail_connect(tt);
  int err = 0;
  socklen_t elen = sizeof(err);
  if (getsockopt(tt->fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
    err = errno;
  if (err == 0) {
    /* Still in progress unless the socket has a peer. */
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getpeername(tt->fd, (struct sockaddr *)&ss, &sl) == 0) {
      tt->connected = true;
      smbq_transport_set_local(t, tt->fd);
      return 1;
    }
    if (now_ms < tt->deadline_ms)
      return 0;
    err = ETIMEDOUT;
  }
  tt->last_errno = err;
  close(tt->fd);
  tt->fd = -1;
  if (tt->ai_cur)
    tt->ai_cur = tt->ai_cur->ai_next;
  if (now_ms < tt->deadline_ms && start_next(tt) == 0)
    return 0;
  return fail_connect(tt);
}

static long sent_or_error(struct tcp_transport *tt, ssize_t n);

static long tcp_send(struct smbq_transport *t, const uint8_t *buf,
                     size_t len) {
  struct tcp_transport *tt = (struct tcp_transport *)t;
  return sent_or_error(tt, send(tt->fd, buf, len, MSG_NOSIGNAL));
}

/* Gather: a WRITE's header and its data (the caller's buffer) in one
 * call; sendmsg rather than writev for MSG_NOSIGNAL (no SIGPIPE). */
static long tcp_sendv(struct smbq_transport *t, const struct iovec *iov,
                      int n) {
  struct tcp_transport *tt = (struct tcp_transport *)t;
  struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n};
  return sent_or_error(tt, sendmsg(tt->fd, &m, MSG_NOSIGNAL));
}

static long sent_or_error(struct tcp_transport *tt, ssize_t n) {
  struct smbq_transport *t = &tt->base;
  tt->send_blocked = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  if (n >= 0)
    return (long)n;
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
    return 0;
  snprintf(t->errmsg, sizeof(t->errmsg), "connection to %s lost: %s",
           tt->host, strerror(errno));
  return SMBQ_ERR_CLOSED;
}

static long tcp_recv(struct smbq_transport *t, uint8_t *buf, size_t len) {
  struct tcp_transport *tt = (struct tcp_transport *)t;
  ssize_t n = recv(tt->fd, buf, len, 0);
  if (n > 0)
    return (long)n;
  if (n == 0) {
    snprintf(t->errmsg, sizeof(t->errmsg),
             "server %s closed the connection", tt->host);
    return SMBQ_ERR_CLOSED;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
    return 0;
  snprintf(t->errmsg, sizeof(t->errmsg), "connection to %s lost: %s",
           tt->host, strerror(errno));
  return SMBQ_ERR_CLOSED;
}

static int tcp_fd(const struct smbq_transport *t) {
  return ((const struct tcp_transport *)t)->fd;
}

static uint32_t tcp_events(const struct smbq_transport *t) {
  const struct tcp_transport *tt = (const struct tcp_transport *)t;
  if (!tt->connected)
    return SMBQ_TP_WANT_WRITE;
  return SMBQ_TP_WANT_READ | (tt->send_blocked ? SMBQ_TP_WANT_WRITE : 0);
}

static int64_t tcp_deadline(const struct smbq_transport *t) {
  const struct tcp_transport *tt = (const struct tcp_transport *)t;
  return tt->connected ? -1 : tt->deadline_ms * 1000000;
}

static const struct smbq_transport_ops tcp_ops = {
    .name = "tcp",
    .step = tcp_step,
    .send = tcp_send,
    .sendv = tcp_sendv,
    .recv = tcp_recv,
    .fd = tcp_fd,
    .events = tcp_events,
    .deadline = tcp_deadline,
    .destroy = tcp_destroy,
};

static int resolve(const struct smbq_endpoint *ep, struct addrinfo **out,
                   char *err, size_t errlen) {
  struct addrinfo hints;
  char port[8];
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = ep->addr ? AI_NUMERICHOST : AI_ADDRCONFIG;
  snprintf(port, sizeof(port), "%u", ep->port);
  const char *name = ep->addr ? ep->addr : ep->host;
  int rc = getaddrinfo(name, port, &hints, out);
  if (rc == 0)
    return 0;
  if (ep->addr)
    snprintf(err, errlen, "the address '%s' given for %s "
             "(smbq_opts_set_resolve) is not a numeric IP address: %s",
             ep->addr, ep->host, gai_strerror(rc));
  else
    snprintf(err, errlen, "cannot resolve server name '%s': %s; check the "
             "name, or give its address (smbq_opts_set_resolve)",
             ep->host, gai_strerror(rc));
  return SMBQ_ERR_NET;
}

int smbq_tcp_open(const struct smbq_endpoint *ep, int64_t now_ms,
                  struct smbq_transport **out, char *err, size_t errlen) {
  struct tcp_transport *tt = calloc(1, sizeof(*tt));
  if (!tt)
    return SMBQ_ERR_NOMEM;
  tt->base.ops = &tcp_ops;
  tt->fd = -1;
  tt->port = ep->port;
  snprintf(tt->host, sizeof(tt->host), "%s", ep->host);
  tt->deadline_ms = now_ms + (ep->timeout_ms ? ep->timeout_ms : 10000);
  int rc = resolve(ep, &tt->ai_list, err, errlen);
  if (rc < 0) {
    free(tt);
    return rc;
  }
  tt->ai_cur = tt->ai_list;
  if (start_next(tt) < 0) {
    rc = fail_connect(tt);
    snprintf(err, errlen, "%s", tt->base.errmsg);
    tcp_destroy(&tt->base);
    return rc;
  }
  *out = &tt->base;
  return 0;
}
