/* quic_front: a QUIC front end for Samba, for the tests.
 *
 * Terminates QUIC (TLS 1.3, ALPN "smb") with a test certificate and relays
 * each connection's bidirectional stream to smbd's TCP port, the way a
 * Windows Server 2025 SMB over QUIC endpoint presents itself. Handles many
 * connections in one poll loop. Optionally requires a client certificate
 * and filters it by SHA-256 allow/deny lists.
 *
 * usage: quic_front --cert FILE --key FILE --backend PORT --port-file FILE
 *                   [--listen PORT] [--client-ca FILE] [--require-client-cert]
 *                   [--allow SHA256HEX]... [--deny SHA256HEX]...
 * Stops on SIGTERM/SIGINT.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 256
#define MAX_CIDS 8
#define CHUNK (256 * 1024)
#define MAX_LIST 16

struct chunk {
  struct chunk *next;
  uint64_t off;
  size_t len;
  uint8_t data[CHUNK];
};

struct fconn {
  ngtcp2_conn *conn;
  ngtcp2_crypto_conn_ref ref;
  gnutls_session_t tls;
  struct sockaddr_storage remote;
  socklen_t remote_len;
  ngtcp2_cid cids[MAX_CIDS];
  size_t n_cids;
  int tcp;                    /* to smbd */
  int64_t stream_id;
  /* client -> smbd */
  uint8_t *up;
  size_t up_off, up_len, up_cap;
  /* smbd -> client, kept until acknowledged */
  struct chunk *head, *tail;
  uint64_t end, sent, acked;
  bool tcp_eof;
  bool closing;
};

struct front {
  int udp;
  struct sockaddr_storage local;
  socklen_t local_len;
  uint16_t backend_port;
  gnutls_certificate_credentials_t cred;
  gnutls_datum_t ticket_key;
  bool require_client_cert;
  char allow[MAX_LIST][65], deny[MAX_LIST][65];
  int n_allow, n_deny;
  struct fconn *conns[MAX_CONNS];
};

static volatile sig_atomic_t stop_flag;
static struct front *the_front; /* for the verify callback's lists */

static ngtcp2_tstamp now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (ngtcp2_tstamp)ts.tv_sec * NGTCP2_SECONDS + (ngtcp2_tstamp)ts.tv_nsec;
}

static void on_signal(int sig) {
  (void)sig;
  stop_flag = 1;
}

/* ---- callbacks ------------------------------------------------------- */

static ngtcp2_conn *get_conn(ngtcp2_crypto_conn_ref *ref) {
  return ((struct fconn *)ref->user_data)->conn;
}

static void cb_rand(uint8_t *d, size_t n, const ngtcp2_rand_ctx *ctx) {
  (void)ctx;
  gnutls_rnd(GNUTLS_RND_RANDOM, d, n);
}

static int cb_new_cid(ngtcp2_conn *conn, ngtcp2_cid *cid, uint8_t *token,
                      size_t cidlen, void *user) {
  (void)conn;
  struct fconn *c = user;
  gnutls_rnd(GNUTLS_RND_RANDOM, cid->data, cidlen);
  cid->datalen = cidlen;
  gnutls_rnd(GNUTLS_RND_RANDOM, token, NGTCP2_STATELESS_RESET_TOKENLEN);
  if (c->n_cids < MAX_CIDS)
    c->cids[c->n_cids++] = *cid;
  return 0;
}

static int backend_connect(struct fconn *c) {
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_port = htons(the_front->backend_port)};
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  c->tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (c->tcp < 0 || connect(c->tcp, (struct sockaddr *)&sa, sizeof(sa)) < 0)
    return -1;
  int one = 1;
  setsockopt(c->tcp, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  fcntl(c->tcp, F_SETFL, O_NONBLOCK);
  return 0;
}

static int cb_stream_open(ngtcp2_conn *conn, int64_t stream_id, void *user) {
  (void)conn;
  struct fconn *c = user;
  if (c->stream_id >= 0)
    return 0; /* SMB uses one stream; others are ignored */
  c->stream_id = stream_id;
  return backend_connect(c) < 0 ? NGTCP2_ERR_CALLBACK_FAILURE : 0;
}

static int cb_recv_stream_data(ngtcp2_conn *conn, uint32_t flags,
                               int64_t stream_id, uint64_t offset,
                               const uint8_t *data, size_t len, void *user,
                               void *stream_user) {
  (void)conn;
  (void)flags;
  (void)offset;
  (void)stream_user;
  struct fconn *c = user;
  if (stream_id != c->stream_id || !len)
    return 0;
  if (c->up_cap - c->up_len < len) {
    if (c->up) /* memmove(NULL, ...) is undefined even for 0 bytes */
      memmove(c->up, c->up + c->up_off, c->up_len - c->up_off);
    c->up_len -= c->up_off;
    c->up_off = 0;
    size_t ncap = c->up_cap ? c->up_cap : 1 << 20;
    while (ncap - c->up_len < len)
      ncap *= 2;
    uint8_t *n = realloc(c->up, ncap);
    if (!n)
      return NGTCP2_ERR_CALLBACK_FAILURE;
    c->up = n;
    c->up_cap = ncap;
  }
  memcpy(c->up + c->up_len, data, len);
  c->up_len += len;
  return 0;
}

static int cb_acked(ngtcp2_conn *conn, int64_t stream_id, uint64_t offset,
                    uint64_t len, void *user, void *stream_user) {
  (void)conn;
  (void)stream_id;
  (void)stream_user;
  struct fconn *c = user;
  if (offset + len > c->acked)
    c->acked = offset + len;
  while (c->head && c->head->len == CHUNK &&
         c->head->off + CHUNK <= c->acked) {
    struct chunk *k = c->head;
    c->head = k->next;
    if (!c->head)
      c->tail = NULL;
    free(k);
  }
  return 0;
}

static const ngtcp2_callbacks server_callbacks = {
    .recv_client_initial = ngtcp2_crypto_recv_client_initial_cb,
    .recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb,
    .encrypt = ngtcp2_crypto_encrypt_cb,
    .decrypt = ngtcp2_crypto_decrypt_cb,
    .hp_mask = ngtcp2_crypto_hp_mask_cb,
    .recv_stream_data = cb_recv_stream_data,
    .acked_stream_data_offset = cb_acked,
    .stream_open = cb_stream_open,
    .rand = cb_rand,
    .get_new_connection_id = cb_new_cid,
    .update_key = ngtcp2_crypto_update_key_cb,
    .delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb,
    .delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb,
    .get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb,
    .version_negotiation = ngtcp2_crypto_version_negotiation_cb,
};

/* ---- client certificates ---------------------------------------------- */

static bool listed(char list[][65], int n, const char *fp) {
  for (int i = 0; i < n; i++)
    if (strcasecmp(list[i], fp) == 0)
      return true;
  return false;
}

static int verify_client(gnutls_session_t s) {
  unsigned n = 0;
  const gnutls_datum_t *certs = gnutls_certificate_get_peers(s, &n);
  if (!certs || !n)
    return the_front->require_client_cert ? -1 : 0;
  unsigned status = 0;
  if (gnutls_certificate_verify_peers2(s, &status) < 0 || status) {
    fprintf(stderr, "quic_front: client certificate does not verify\n");
    return -1;
  }
  uint8_t fp[32];
  size_t fl = sizeof(fp);
  char hex[65];
  gnutls_fingerprint(GNUTLS_DIG_SHA256, &certs[0], fp, &fl);
  for (size_t i = 0; i < 32; i++)
    snprintf(hex + 2 * i, 3, "%02x", fp[i]);
  if (listed(the_front->deny, the_front->n_deny, hex) ||
      (the_front->n_allow && !listed(the_front->allow, the_front->n_allow,
                                     hex))) {
    fprintf(stderr, "quic_front: client certificate %s refused\n", hex);
    return -1;
  }
  return 0;
}

/* ---- connections -------------------------------------------------------- */

static void free_conn(struct front *f, int i) {
  struct fconn *c = f->conns[i];
  if (c->conn)
    ngtcp2_conn_del(c->conn);
  if (c->tls)
    gnutls_deinit(c->tls);
  if (c->tcp >= 0)
    close(c->tcp);
  while (c->head) {
    struct chunk *k = c->head;
    c->head = k->next;
    free(k);
  }
  free(c->up);
  free(c);
  f->conns[i] = NULL;
}

static int setup_tls(struct front *f, struct fconn *c) {
  static const char prio[] =
      "NORMAL:-VERS-ALL:+VERS-TLS1.3:%DISABLE_TLS13_COMPAT_MODE";
  gnutls_datum_t alpn = {(unsigned char *)"smb", 3};
  if (gnutls_init(&c->tls, GNUTLS_SERVER | GNUTLS_NO_END_OF_EARLY_DATA) < 0 ||
      gnutls_priority_set_direct(c->tls, prio, NULL) < 0 ||
      ngtcp2_crypto_gnutls_configure_server_session(c->tls) != 0 ||
      gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, f->cred) < 0 ||
      gnutls_alpn_set_protocols(c->tls, &alpn, 1, GNUTLS_ALPN_MANDATORY) < 0 ||
      gnutls_session_ticket_enable_server(c->tls, &f->ticket_key) < 0)
    return -1;
  gnutls_certificate_server_set_request(
      c->tls, f->require_client_cert ? GNUTLS_CERT_REQUIRE : GNUTLS_CERT_IGNORE);
  c->ref.get_conn = get_conn;
  c->ref.user_data = c;
  gnutls_session_set_ptr(c->tls, &c->ref);
  return 0;
}

static struct fconn *accept_conn(struct front *f, const uint8_t *pkt,
                                 size_t len, struct sockaddr_storage *from,
                                 socklen_t from_len) {
  ngtcp2_pkt_hd hd;
  if (ngtcp2_accept(&hd, pkt, len) != 0)
    return NULL;
  int slot = -1;
  for (int i = 0; i < MAX_CONNS && slot < 0; i++)
    if (!f->conns[i])
      slot = i;
  if (slot < 0)
    return NULL;
  struct fconn *c = calloc(1, sizeof(*c));
  c->tcp = -1;
  c->stream_id = -1;
  memcpy(&c->remote, from, from_len);
  c->remote_len = from_len;
  ngtcp2_cid scid;
  scid.datalen = 18;
  gnutls_rnd(GNUTLS_RND_RANDOM, scid.data, scid.datalen);
  c->cids[c->n_cids++] = scid;
  ngtcp2_settings settings;
  ngtcp2_settings_default(&settings);
  settings.initial_ts = now_ns();
  settings.initial_rtt = 10 * NGTCP2_MILLISECONDS;
  settings.cc_algo = NGTCP2_CC_ALGO_BBR;
  settings.max_tx_udp_payload_size = 1452;
  ngtcp2_transport_params params;
  ngtcp2_transport_params_default(&params);
  params.initial_max_streams_bidi = 4;
  params.initial_max_stream_data_bidi_remote = 16 << 20;
  params.initial_max_data = 32 << 20;
  params.max_idle_timeout = 60 * NGTCP2_SECONDS;
  params.original_dcid = hd.dcid;
  gnutls_rnd(GNUTLS_RND_RANDOM, params.stateless_reset_token,
             sizeof(params.stateless_reset_token));
  params.stateless_reset_token_present = 1;
  ngtcp2_path path = {.local = {(ngtcp2_sockaddr *)&f->local, f->local_len},
                      .remote = {(ngtcp2_sockaddr *)&c->remote,
                                 c->remote_len}};
  if (setup_tls(f, c) < 0 ||
      ngtcp2_conn_server_new(&c->conn, &hd.scid, &scid, &path, hd.version,
                             &server_callbacks, &settings, &params, NULL,
                             c) != 0) {
    f->conns[slot] = c;
    free_conn(f, slot);
    return NULL;
  }
  ngtcp2_conn_set_tls_native_handle(c->conn, c->tls);
  f->conns[slot] = c;
  return c;
}

static struct fconn *find_conn(struct front *f, const uint8_t *dcid,
                               size_t len) {
  for (int i = 0; i < MAX_CONNS; i++) {
    struct fconn *c = f->conns[i];
    if (!c)
      continue;
    for (size_t k = 0; k < c->n_cids; k++)
      if (c->cids[k].datalen == len && !memcmp(c->cids[k].data, dcid, len))
        return c;
  }
  return NULL;
}

/* ---- I/O -------------------------------------------------------------- */

static void send_packets(struct front *f, struct fconn *c) {
  uint8_t buf[1500];
  ngtcp2_tstamp ts = now_ns();
  for (int i = 0; i < 64; i++) {
    ngtcp2_vec v[16];
    size_t nv = 0;
    for (struct chunk *k = c->head; k && nv < 16; k = k->next) {
      if (k->off + k->len <= c->sent)
        continue;
      size_t skip = c->sent > k->off ? (size_t)(c->sent - k->off) : 0;
      v[nv].base = k->data + skip;
      v[nv].len = k->len - skip;
      nv++;
    }
    ngtcp2_path_storage ps;
    ngtcp2_pkt_info pi;
    ngtcp2_path_storage_zero(&ps);
    ngtcp2_ssize datalen = -1;
    int64_t sid = nv && c->stream_id >= 0 ? c->stream_id : -1;
    uint32_t fl = NGTCP2_WRITE_STREAM_FLAG_MORE;
    uint64_t given = 0;
    for (size_t k = 0; k < nv; k++)
      given += v[k].len;
    /* FIN only with a vector that reaches the end of the stream */
    if (c->tcp_eof && c->stream_id >= 0 && c->sent + given == c->end) {
      fl |= NGTCP2_WRITE_STREAM_FLAG_FIN;
      sid = c->stream_id;
    }
    ngtcp2_ssize n = ngtcp2_conn_writev_stream(c->conn, &ps.path, &pi, buf,
                                               sizeof(buf), &datalen, fl, sid,
                                               nv ? v : NULL, nv, ts);
    if (datalen > 0)
      c->sent += (uint64_t)datalen;
    if (n == NGTCP2_ERR_WRITE_MORE)
      continue;
    if (n == NGTCP2_ERR_STREAM_DATA_BLOCKED || n == NGTCP2_ERR_STREAM_SHUT_WR)
      n = ngtcp2_conn_write_pkt(c->conn, &ps.path, &pi, buf, sizeof(buf), ts);
    if (n <= 0) {
      if (n < 0)
        c->closing = true;
      break;
    }
    sendto(f->udp, buf, (size_t)n, 0, (struct sockaddr *)&c->remote,
           c->remote_len);
  }
  ngtcp2_conn_update_pkt_tx_time(c->conn, ts);
}

static void pump_backend(struct fconn *c) {
  /* client -> smbd */
  while (c->tcp >= 0 && c->up_len > c->up_off) {
    ssize_t n = send(c->tcp, c->up + c->up_off, c->up_len - c->up_off,
                     MSG_NOSIGNAL);
    if (n <= 0)
      break;
    c->up_off += (size_t)n;
    ngtcp2_conn_extend_max_stream_offset(c->conn, c->stream_id, (size_t)n);
    ngtcp2_conn_extend_max_offset(c->conn, (size_t)n);
  }
  /* smbd -> client, bounded by what waits for acknowledgement */
  while (c->tcp >= 0 && !c->tcp_eof && c->end - c->acked < (64u << 20)) {
    struct chunk *k = c->tail;
    if (!k || k->len == CHUNK) {
      k = calloc(1, sizeof(*k));
      k->off = c->end;
      if (c->tail)
        c->tail->next = k;
      else
        c->head = k;
      c->tail = k;
    }
    ssize_t n = recv(c->tcp, k->data + k->len, CHUNK - k->len, 0);
    if (n == 0)
      c->tcp_eof = true;
    if (n <= 0)
      break;
    k->len += (size_t)n;
    c->end += (uint64_t)n;
  }
}

static void on_datagram(struct front *f, uint8_t *pkt, size_t len,
                        struct sockaddr_storage *from, socklen_t from_len) {
  ngtcp2_version_cid vc;
  if (ngtcp2_pkt_decode_version_cid(&vc, pkt, len, 18) != 0)
    return;
  struct fconn *c = find_conn(f, vc.dcid, vc.dcidlen);
  if (!c) {
    c = accept_conn(f, pkt, len, from, from_len);
    if (!c)
      return;
    /* the client's first DCID routes its Initial packets too */
    if (c->n_cids < MAX_CIDS) {
      memcpy(c->cids[c->n_cids].data, vc.dcid, vc.dcidlen);
      c->cids[c->n_cids++].datalen = vc.dcidlen;
    }
  }
  /* remember the latest client address (NAT rebinding, migration) */
  memcpy(&c->remote, from, from_len);
  c->remote_len = from_len;
  ngtcp2_path path = {.local = {(ngtcp2_sockaddr *)&f->local, f->local_len},
                      .remote = {(ngtcp2_sockaddr *)from, from_len}};
  ngtcp2_pkt_info pi = {0};
  int rc = ngtcp2_conn_read_pkt(c->conn, &path, &pi, pkt, len, now_ns());
  if (rc != 0)
    c->closing = true;
}

static void run(struct front *f) {
  struct pollfd pfd[1 + MAX_CONNS];
  uint8_t buf[65536];
  while (!stop_flag) {
    int n = 0, map[1 + MAX_CONNS];
    pfd[n].fd = f->udp;
    pfd[n++].events = POLLIN;
    ngtcp2_tstamp next = UINT64_MAX, now = now_ns();
    for (int i = 0; i < MAX_CONNS; i++) {
      struct fconn *c = f->conns[i];
      if (!c)
        continue;
      ngtcp2_tstamp e = ngtcp2_conn_get_expiry(c->conn);
      if (e < next)
        next = e;
      if (c->tcp >= 0) {
        map[n] = i;
        pfd[n].fd = c->tcp;
        pfd[n++].events = POLLIN;
      }
    }
    int timeout = next == UINT64_MAX ? 1000
                  : next <= now      ? 0
                                     : (int)((next - now) / 1000000 + 1);
    if (poll(pfd, (nfds_t)n, timeout) < 0 && errno != EINTR)
      break;
    for (int i = 0; i < 256; i++) { /* datagrams */
      struct sockaddr_storage from;
      socklen_t fl = sizeof(from);
      ssize_t r = recvfrom(f->udp, buf, sizeof(buf), MSG_DONTWAIT,
                           (struct sockaddr *)&from, &fl);
      if (r <= 0)
        break;
      on_datagram(f, buf, (size_t)r, &from, fl);
    }
    (void)map;
    now = now_ns();
    for (int i = 0; i < MAX_CONNS; i++) {
      struct fconn *c = f->conns[i];
      if (!c)
        continue;
      if (ngtcp2_conn_get_expiry(c->conn) <= now &&
          ngtcp2_conn_handle_expiry(c->conn, now) != 0)
        c->closing = true;
      if (!c->closing) {
        pump_backend(c);
        send_packets(f, c);
      }
      if (c->closing || ngtcp2_conn_is_in_draining_period(c->conn) ||
          ngtcp2_conn_is_in_closing_period(c->conn) ||
          (c->tcp_eof && c->acked >= c->end && c->stream_id >= 0))
        free_conn(f, i);
    }
  }
}

static int add_hex(char list[][65], int *n, const char *hex) {
  if (*n >= MAX_LIST || strlen(hex) != 64)
    return -1;
  snprintf(list[(*n)++], 65, "%s", hex);
  return 0;
}

int main(int argc, char **argv) {
  static const struct option opts[] = {
      {"cert", required_argument, NULL, 'c'},
      {"key", required_argument, NULL, 'k'},
      {"backend", required_argument, NULL, 'b'},
      {"listen", required_argument, NULL, 'l'},
      {"port-file", required_argument, NULL, 'p'},
      {"client-ca", required_argument, NULL, 'a'},
      {"require-client-cert", no_argument, NULL, 'r'},
      {"allow", required_argument, NULL, 'A'},
      {"deny", required_argument, NULL, 'D'},
      {NULL, 0, NULL, 0}};
  struct front f;
  memset(&f, 0, sizeof(f));
  the_front = &f;
  const char *cert = NULL, *key = NULL, *port_file = NULL, *client_ca = NULL;
  int listen_port = 0, o;
  while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (o) {
    case 'c': cert = optarg; break;
    case 'k': key = optarg; break;
    case 'b': f.backend_port = (uint16_t)atoi(optarg); break;
    case 'l': listen_port = atoi(optarg); break;
    case 'p': port_file = optarg; break;
    case 'a': client_ca = optarg; break;
    case 'r': f.require_client_cert = true; break;
    case 'A':
      if (add_hex(f.allow, &f.n_allow, optarg) < 0) return 2;
      break;
    case 'D':
      if (add_hex(f.deny, &f.n_deny, optarg) < 0) return 2;
      break;
    default: return 2;
    }
  }
  if (!cert || !key || !f.backend_port || !port_file) {
    fprintf(stderr, "usage: quic_front --cert F --key F --backend PORT "
            "--port-file F [--listen PORT] [--client-ca F] "
            "[--require-client-cert] [--allow SHA256] [--deny SHA256]\n");
    return 2;
  }
  gnutls_certificate_allocate_credentials(&f.cred);
  if (gnutls_certificate_set_x509_key_file(f.cred, cert, key,
                                           GNUTLS_X509_FMT_PEM) < 0) {
    fprintf(stderr, "quic_front: cannot load %s / %s\n", cert, key);
    return 1;
  }
  if (client_ca)
    gnutls_certificate_set_x509_trust_file(f.cred, client_ca,
                                           GNUTLS_X509_FMT_PEM);
  gnutls_certificate_set_verify_function(f.cred, verify_client);
  gnutls_session_ticket_key_generate(&f.ticket_key);
  f.udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_port = htons((uint16_t)listen_port)};
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  int sz = 8 << 20;
  setsockopt(f.udp, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
  setsockopt(f.udp, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
  if (bind(f.udp, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
    perror("quic_front: bind");
    return 1;
  }
  f.local_len = sizeof(f.local);
  getsockname(f.udp, (struct sockaddr *)&f.local, &f.local_len);
  FILE *pf = fopen(port_file, "w");
  if (!pf)
    return 1;
  fprintf(pf, "%u\n", ntohs(((struct sockaddr_in *)&f.local)->sin_port));
  fclose(pf);
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  run(&f);
  for (int i = 0; i < MAX_CONNS; i++)
    if (f.conns[i])
      free_conn(&f, i);
  gnutls_free(f.ticket_key.data);
  gnutls_certificate_free_credentials(f.cred);
  close(f.udp);
  return 0;
}
