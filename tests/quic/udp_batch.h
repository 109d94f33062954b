/* UDP in batches for the test servers (quic_server.c, udp_relay.c):
 * receive with recvmmsg, learning each message's GRO segment size, and
 * mark a message to send as a GSO batch (UDP_SEGMENT). The library's
 * transport (lib/transport/quic_conn.c) keeps its own: library code is
 * not shared with tests. */
#ifndef SMBQ_TESTS_UDP_BATCH_H
#define SMBQ_TESTS_UDP_BATCH_H

#include <netinet/udp.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

#define UDP_RX_MAX 64 /* messages per udp_recv_batch at the most */

/* A cmsg buffer for one int or uint16_t (UDP_GRO, UDP_SEGMENT). */
union udp_ctl {
  char buf[CMSG_SPACE(sizeof(int))];
  struct cmsghdr align;
};

/* What one udp_recv_batch fills: message i is mm[i].msg_len bytes from
 * from[i] (mm[i].msg_hdr.msg_namelen long); udp_gro_size(&mm[i].msg_hdr)
 * tells whether GRO joined several datagrams in it. */
struct udp_rx {
  struct mmsghdr mm[UDP_RX_MAX];
  struct iovec iov[UDP_RX_MAX];
  struct sockaddr_storage from[UDP_RX_MAX];
  union udp_ctl ctl[UDP_RX_MAX];
};

/* recvmmsg, without waiting, of up to n (at most UDP_RX_MAX) messages on
 * fd, message i into bufs + i * cap (cap bytes, owned by the caller).
 * Returns recvmmsg's result: the number of messages, or -1 with errno. */
int udp_recv_batch(int fd, struct udp_rx *b, uint8_t *bufs, size_t cap, int n);

/* The segment size of a message GRO joined from several datagrams, or 0. */
size_t udp_gro_size(struct msghdr *mh);

/* Have the kernel split mh's payload into datagrams of seg bytes, the last
 * one shorter (UDP_SEGMENT); the cmsg lives in ctl, which must outlive the
 * send. */
void udp_set_segment(struct msghdr *mh, union udp_ctl *ctl, size_t seg);

#endif
