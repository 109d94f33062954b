/* UDP in batches for the test servers: see udp_batch.h. */
#include "udp_batch.h"

#include <string.h>

int udp_recv_batch(int fd, struct udp_rx *b, uint8_t *bufs, size_t cap, int n) {
  if (n > UDP_RX_MAX)
    n = UDP_RX_MAX;
  for (int i = 0; i < n; i++) {
    b->iov[i] = (struct iovec){bufs + (size_t)i * cap, cap};
    b->mm[i].msg_hdr = (struct msghdr){.msg_name = &b->from[i],
                                       .msg_namelen = sizeof(b->from[i]),
                                       .msg_iov = &b->iov[i],
                                       .msg_iovlen = 1,
                                       .msg_control = b->ctl[i].buf,
                                       .msg_controllen = sizeof(b->ctl[i].buf)};
  }
  return recvmmsg(fd, b->mm, (unsigned)n, MSG_DONTWAIT, NULL);
}

size_t udp_gro_size(struct msghdr *mh) {
  for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
    if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
      int v;
      memcpy(&v, CMSG_DATA(c), sizeof(v));
      return v > 0 ? (size_t)v : 0;
    }
  }
  return 0;
}

void udp_set_segment(struct msghdr *mh, union udp_ctl *ctl, size_t seg) {
  memset(ctl, 0, sizeof(*ctl));
  mh->msg_control = ctl->buf;
  mh->msg_controllen = CMSG_SPACE(sizeof(uint16_t));
  struct cmsghdr *c = CMSG_FIRSTHDR(mh);
  c->cmsg_level = SOL_UDP;
  c->cmsg_type = UDP_SEGMENT;
  c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
  uint16_t v = (uint16_t)seg;
  memcpy(CMSG_DATA(c), &v, sizeof(v));
}
