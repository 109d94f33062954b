#!/usr/bin/env bash
# SMB over QUIC through NAT rebinding (RFC 9000 9.3): the UDP relay moves
# its upstream socket to a new source port when a third of a 64 MiB put
# (or MB from $1) has gone through, and again during the get. Both must
# be byte-exact. The relay's counters must show the two rebinds, and that
# at least another third of each transfer went through after its rebind,
# so the server really carried on over the new path; the front must have
# validated the new paths (RFC 9000 8.2).
set -euo pipefail
. "$(dirname "$0")/fixture.sh"
if [ "${SMBQ_TRANSPORT:-tcp}" != quic ]; then
  echo "SKIP: a QUIC-only case (SMBQ_TRANSPORT=quic)"
  exit 77
fi
MB=${1:-64}
SIZE=$((MB * 1024 * 1024))
fixture_start
# a little delay keeps each transfer long enough to rebind in its middle
fixture_relay --delay-ms 2 ${SMBQ_RELAY_SEED:+--seed "$SMBQ_RELAY_SEED"}
W=$SMBQ_TEST_DIR/work
mkdir -p "$W"
head -c "$SIZE" /dev/urandom >"$W/big"

# xfer_with_rebind KEY CMD...: run CMD in the background; when the relay's
# counter KEY (bytes relayed in the transfer's direction) has grown by a
# third of the file, rebind the relay. CMD must succeed and at least
# another third must go through after the rebind.
xfer_with_rebind() {
  local key=$1 base at pid rc=0 rebinds
  shift
  base=$(relay_stat "$key")
  rebinds=$(relay_stat rebinds)
  "$@" >"$SMBQ_TEST_DIR/out" 2>"$SMBQ_TEST_DIR/err" &
  pid=$!
  at=
  while kill -0 "$pid" 2>/dev/null; do
    if [ $(($(relay_stat "$key") - base)) -ge $((SIZE / 3)) ]; then
      at=$(relay_stat "$key")
      kill -USR1 "$FIXTURE_RELAY_PID"
      break
    fi
    sleep 0.02
  done
  wait "$pid" || rc=$?
  if [ "$rc" -ne 0 ]; then
    cat "$SMBQ_TEST_DIR/err" >&2
    fail "'$*' exited $rc after the rebind"
  fi
  [ -n "$at" ] || fail "'$*' ended before a third of it was relayed"
  sleep 0.3 # the stats file is rewritten every 100 ms
  [ "$(relay_stat rebinds)" -eq $((rebinds + 1)) ] ||
    fail "the relay did not rebind during '$*'"
  [ $(($(relay_stat "$key") - at)) -ge $((SIZE / 3)) ] ||
    fail "less than a third of '$*' went through after the rebind"
  echo "rebound after $(((at - base) >> 20)) MiB of '$1 $2'"
}

xfer_with_rebind up_bytes sq put "$W/big" "$(url share big)"
same_file "$W/big" "$SMBQ_TEST_SHAREDIR/big"
xfer_with_rebind down_bytes sq get "$(url share big)" "$W/back"
same_file "$W/big" "$W/back"

fixture_relay_stop
cat "$SMBQ_TEST_DIR/relay.log"
[ "$(relay_stat rebinds)" -eq 2 ] ||
  fail "expected 2 rebinds, the relay counted $(relay_stat rebinds)"
grep "path validation" "$SMBQ_TEST_DIR/front.log" || true
n=$(grep -c "path validation to .* succeeded" "$SMBQ_TEST_DIR/front.log" || true)
[ "$n" -ge 2 ] || fail "the front validated $n new paths, expected 2: $(cat "$SMBQ_TEST_DIR/front.log")"
echo PASS
