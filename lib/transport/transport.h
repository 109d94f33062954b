/* The transport seam: one small table of functions per transport, in the
 * manner of curl's connection filters. A transport carries whole Direct-TCP
 * framed SMB2 messages as a byte stream; nothing above lib/transport knows
 * which one it has, except through the flags and info it reports.
 *
 * All calls are non-blocking. Ownership: the connect functions return a
 * transport the caller frees with smbq_transport_free().
 */
#ifndef SMBQ_TRANSPORT_H
#define SMBQ_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct smbq_transport;

#define SMBQ_TP_WANT_READ 0x1u
#define SMBQ_TP_WANT_WRITE 0x2u
/* Received stream bytes already wait inside the transport (QUIC reads whole
 * datagrams while it runs its timers): call recv() now, without waiting for
 * the socket to become readable again. */
#define SMBQ_TP_HAVE_DATA 0x4u

/* What a TLS transport learnt in its handshake (all empty for TCP). */
struct smbq_tls_info {
  char version[16];        /* "TLS1.3" */
  char cipher[64];         /* "TLS_AES_128_GCM_SHA256" */
  char alpn[16];           /* "smb" */
  char cert_subject[256];  /* server certificate's subject DN */
  char cert_issuer[256];
  char cert_sha256[96];    /* "AB:CD:..." */
  int64_t cert_not_after;  /* end of validity, seconds since the epoch */
  bool resumed;            /* session ticket accepted: no certificate
                              exchange (the cert_* fields come from the
                              full handshake that issued the ticket) */
  int64_t handshake_ns;    /* first packet sent to handshake complete */
};

struct quic_tickets;

struct smbq_transport_ops {
  const char *name; /* "tcp", "quic" */
  /* Advance connection setup: 1 = connected, 0 = in progress (wait for
   * events()/deadline()), <0 = SMBQ_ERR_* (message via errmsg). */
  int (*step)(struct smbq_transport *t, int64_t now_ms);
  /* Bytes accepted (0 = would block) or SMBQ_ERR_*. */
  long (*send)(struct smbq_transport *t, const uint8_t *buf, size_t len);
  /* send() of the concatenation of n pieces (gather I/O: a WRITE's data
   * goes from the caller's buffer without being joined first). Bytes
   * accepted, across the pieces, or as send(). NULL: the transport has
   * none (smbq_transport_sendv() then sends piece by piece). */
  long (*sendv)(struct smbq_transport *t, const struct iovec *iov, int n);
  /* Bytes read (0 = would block), SMBQ_ERR_CLOSED at end of stream. */
  long (*recv)(struct smbq_transport *t, uint8_t *buf, size_t len);
  int (*fd)(const struct smbq_transport *t);
  uint32_t (*events)(const struct smbq_transport *t);
  /* Absolute time (smbq_now_ns) of the next timer, or -1. Nanoseconds:
   * QUIC pacing needs finer timers than milliseconds. */
  int64_t (*deadline)(const struct smbq_transport *t);
  void (*destroy)(struct smbq_transport *t);
  /* Move the connection to a new local socket (QUIC connection migration,
   * RFC 9000 9.2); NULL when the transport cannot. 0 or SMBQ_ERR_*. */
  int (*migrate)(struct smbq_transport *t);
  /* Replies are due (smb2_conn_replies_due), told on every change. A
   * transport whose client side would otherwise stay silent while it
   * waits (QUIC: a receiver sends only ACKs of what arrives) keeps
   * packets on the wire, so that a path that changed under it (NAT
   * rebinding, RFC 9000 9.3) or died shows within a round trip or two
   * instead of at the next request. NULL: nothing to do (TCP
   * retransmits and acknowledges in the kernel). */
  void (*replies_due)(struct smbq_transport *t, bool due);
};

struct smbq_transport {
  const struct smbq_transport_ops *ops;
  bool encrypted;          /* the transport itself encrypts (QUIC/TLS) */
  char peer[64];           /* numeric address:port actually connected */
  char local[64];          /* our address:port (changes on migration) */
  char errmsg[640];        /* why the last step/send/recv failed */
  struct smbq_tls_info tls; /* filled once connected (TLS transports) */
};

/* ops->sendv, or ops->send piece after piece up to the first short one. */
long smbq_transport_sendv(struct smbq_transport *t, const struct iovec *iov,
                          int n);

/* Connect parameters shared by all transports. */
struct smbq_endpoint {
  const char *host;        /* server name as the user typed it */
  const char *addr;        /* address to use instead of resolving host, or
                              NULL (smbq_opts_set_resolve) */
  uint16_t port;
  uint32_t timeout_ms;     /* connect timeout */
  const char *ca_file;     /* QUIC: extra trust anchors (PEM), or NULL */
  const char *client_cert; /* QUIC: client certificate (PEM), or NULL */
  const char *client_key;  /* QUIC: its key (PEM); NULL = in client_cert */
  struct quic_tickets *tickets; /* QUIC: session tickets to resume with and
                              to store into (borrowed), or NULL */
};

/* Start a TCP connection (non-blocking). On failure returns a negative
 * SMBQ_ERR_* and writes a message into err (errlen bytes). */
int smbq_tcp_open(const struct smbq_endpoint *ep, int64_t now_ms,
                  struct smbq_transport **out, char *err, size_t errlen);

/* Start a QUIC connection (non-blocking): UDP, TLS 1.3, ALPN "smb". The
 * handshake, including the certificate checks, completes in step(). */
int smbq_quic_open(const struct smbq_endpoint *ep, int64_t now_ms,
                   struct smbq_transport **out, char *err, size_t errlen);

void smbq_transport_free(struct smbq_transport *t);

/* Record fd's local address as "addr:port" ("[addr]:port" for IPv6) in
 * t->local. */
void smbq_transport_set_local(struct smbq_transport *t, int fd);

/* ---- pure helpers of the QUIC transport (quic.c, quic_conn.c) ----------- */

/* Where a stream of Direct-TCP frames (MS-SMB2 2.1: a zero byte, a 24-bit
 * big-endian length, the message) stands after the bytes fed so far. The
 * transport only counts, to tell a stream that ends between two messages
 * from one cut inside a message; the core checks the frames. */
struct quic_frame_pos {
  uint8_t hdr_got; /* header bytes seen of the current frame (0 = between
                      frames, 4 = inside its message) */
  uint32_t len;    /* the current frame's length, once hdr_got == 4 */
  uint32_t got;    /* its message bytes seen */
};

/* Account for n more bytes of the stream. Zero-initialise f first. */
void quic_frame_feed(struct quic_frame_pos *f, const uint8_t *d, size_t n);

/* Text from the server (a CONNECTION_CLOSE reason phrase, RFC 9000
 * 19.19; names in its certificate) made safe to print in a message:
 * printable ASCII is kept, every other byte (control characters, escape
 * sequences, UTF-8) becomes '?'; at most outlen - 1 bytes, NUL-terminated.
 * in may be NULL when len is 0. Returns the length written. */
size_t quic_printable(char *out, size_t outlen, const uint8_t *in,
                      size_t len);

/* Monotonic clock in milliseconds (the only clock the library reads; the
 * protocol core receives it as an argument). */
int64_t smbq_now_ms(void);
int64_t smbq_now_ns(void);

#endif
