/* Per-server transport cache for `auto`: which transport last worked for a
 * server (name + TCP port + QUIC port), so the next connect tries that one
 * first and a server reachable only over QUIC costs no TCP head start.
 *
 * A small text file, one entry a line, most recently used first:
 *
 *   # smbq transport cache: SERVER TCP_PORT QUIC_PORT tcp|quic
 *   fsedge1.contoso.com 445 443 quic
 *
 * A KDC proxy is listed under its URL: TCP port, HTTP/3 port, and tcp
 * (HTTPS answered last) or quic (HTTP/3 did):
 *
 *   https://fsedge1.contoso.com/KdcProxy 443 443 quic
 *
 * It is a hint only: unreadable files and lines that do not parse are
 * skipped, never an error for the connect. Writes go to a temporary file
 * in the same directory, renamed over the old one, so a reader never sees
 * a half-written file. The order (not a clock) tells what is oldest.
 */
#ifndef SMBQ_TRANSPORT_CACHE_H
#define SMBQ_TRANSPORT_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "transport/connect_race.h"

#define SMBQ_TCACHE_MAX_ENTRIES 256
/* Longest server name kept (c->server holds 255 bytes + NUL). */
#define SMBQ_TCACHE_MAX_NAME 255
/* Bytes of the file read at most: 256 full lines fit with room to spare;
 * whatever lies beyond is garbage by definition. */
#define SMBQ_TCACHE_MAX_FILE (128 * 1024)

struct smbq_tcache_entry {
  char server[SMBQ_TCACHE_MAX_NAME + 1]; /* lower case */
  uint16_t port, quic_port;
  enum smbq_tp_kind kind;
};

struct smbq_tcache {
  size_t n;
  struct smbq_tcache_entry e[SMBQ_TCACHE_MAX_ENTRIES]; /* [0] newest */
};

/* Replace c's entries with those parsed from text (len bytes, need not be
 * NUL-terminated). Bad lines are skipped; for a server listed twice the
 * first (newest) line counts; entries past the bound are dropped. */
void smbq_tcache_parse(struct smbq_tcache *c, const char *text, size_t len);

/* The file text for c: malloc'd, NUL-terminated, caller frees; *len gets
 * its length. NULL on allocation failure. */
char *smbq_tcache_format(const struct smbq_tcache *c, size_t *len);

/* The transport remembered for server + ports, or -1 if none. Server names
 * compare case-insensitively. */
int smbq_tcache_lookup(const struct smbq_tcache *c, const char *server,
                       uint16_t port, uint16_t quic_port);

/* The newest entry for server and TCP port, whatever its QUIC port (a
 * KDC proxy: its HTTP/3 port may have come from Alt-Svc), or NULL. The
 * pointer is valid until c changes. */
const struct smbq_tcache_entry *smbq_tcache_newest(const struct smbq_tcache *c,
                                                   const char *server,
                                                   uint16_t port);

/* Make server + ports -> kind the newest entry (dropping the oldest when
 * full). Returns 1 if c changed, 0 if it was already the newest entry with
 * that transport (nothing to write), SMBQ_ERR_INVAL for a name that cannot
 * be stored (empty, too long, blanks or control characters). */
int smbq_tcache_remember(struct smbq_tcache *c, const char *server,
                         uint16_t port, uint16_t quic_port,
                         enum smbq_tp_kind kind);

/* Read the file at path into c. A missing file gives an empty cache and 0;
 * other read errors give an empty cache and SMBQ_ERR_IO. */
int smbq_tcache_load(const char *path, struct smbq_tcache *c);

/* Write c to path atomically: a temporary file beside it (mode 0600), then
 * rename. Creates missing parent directories (mode 0700). 0 or
 * SMBQ_ERR_IO / SMBQ_ERR_NOMEM / SMBQ_ERR_INVAL (path too long); on error
 * the old file is left as it was and no temporary file remains. */
int smbq_tcache_save(const char *path, const struct smbq_tcache *c);

/* The default file: $XDG_CACHE_HOME/smbq/transports if that variable holds
 * an absolute path, else $HOME/.cache/smbq/transports. 0, or
 * SMBQ_ERR_NOENT when neither variable helps, SMBQ_ERR_INVAL when the
 * path does not fit in len bytes. */
int smbq_tcache_default_path(char *out, size_t len);

#endif
