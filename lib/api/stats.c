/* smbq_conn_get_stats: the protocol core's counters, read on the I/O
 * thread (the only thread that touches the core). */
#include <string.h>

#include "api/api.h"

static void read_stats(void *arg, struct smb2_conn *core) {
  smb2_conn_get_stats(core, arg);
}

int smbq_conn_get_stats(smbq_conn *c, struct smbq_stats *s) {
  if (!c || !s || !c->io || !c->session_valid ||
      smbq_io_on_thread(c->io))
    return SMBQ_ERR_INVAL;
  struct smb2_conn_stats cs;
  memset(&cs, 0, sizeof(cs));
  /* A connection that has ended has no core to ask: "not connected". */
  if (smbq_io_run(c->io, read_stats, &cs) < 0)
    return SMBQ_ERR_INVAL;
  *s = (struct smbq_stats){
      .requests = cs.requests,
      .round_trips = cs.frames,
      .bytes_sent = cs.bytes_out,
      .bytes_received = cs.bytes_in,
      .breaks = cs.notifications,
      .read_bytes_placed = cs.read_placed,
      .read_bytes_copied = cs.read_copied,
  };
  return 0;
}
