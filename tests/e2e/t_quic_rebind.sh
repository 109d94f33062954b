#!/usr/bin/env bash
# SMB over QUIC through NAT rebinding (RFC 9000 9.3): the UDP relay moves
# its upstream socket to a new source port in the middle of a 64 MiB put
# (or MB from $1), by itself once a third of the file has gone upstream
# (--rebind-after-bytes), and again in the middle of the get, told by
# SIGUSR1 when a third has come back. Both must be byte-exact. The relay's
# counters must show each rebind during its transfer, with at least a
# third of the file relayed after it, so the server carried on over the
# new path; and the front must have validated the new paths (RFC 9000
# 8.2, 9.3.1).
set -euo pipefail
. "$(dirname "$0")/fixture.sh"
if [ "${SMBQ_TRANSPORT:-tcp}" != quic ]; then
  echo "SKIP: a QUIC-only case (SMBQ_TRANSPORT=quic)"
  exit 77
fi
MB=${1:-64}
SIZE=$((MB * 1024 * 1024))
fixture_start
# a little delay keeps each transfer long enough to act in its middle
fixture_relay --delay-ms 2 --rebind-after-bytes $((SIZE / 3)) \
  ${SMBQ_RELAY_SEED:+--seed "$SMBQ_RELAY_SEED"}
W=$SMBQ_TEST_DIR/work
mkdir -p "$W"
head -c "$SIZE" /dev/urandom >"$W/big"

# settle_stats: wait until the relay has rewritten its stats file (20 ms)
settle_stats() { sleep 0.1; }

# check_rebound KEY BEFORE AT WHAT: the relay rebound once since BEFORE
# rebinds, and at least a third of the file went through (counter KEY)
# after the rebind at AT bytes.
check_rebound() {
  local key=$1 before=$2 at=$3 what=$4
  settle_stats
  [ "$(relay_stat rebinds)" -eq $((before + 1)) ] ||
    fail "the relay did not rebind (once) during the $what: $(relay_stat rebinds) rebinds"
  [ $(($(relay_stat "$key") - at)) -ge $((SIZE / 3)) ] ||
    fail "less than a third of the $what went through after the rebind"
}

# put: the relay rebinds by itself after SIZE/3 bytes upstream
expect_rc 0 sq put "$W/big" "$(url share big)"
same_file "$W/big" "$SMBQ_TEST_SHAREDIR/big"
check_rebound up_bytes 0 $((SIZE / 3)) put
echo "put: rebound after $((SIZE / 3 >> 20)) MiB upstream"

# get: in the background; SIGUSR1 once a third has come back
base=$(relay_stat down_bytes)
sq get "$(url share big)" "$W/back" >"$SMBQ_TEST_DIR/out" 2>"$SMBQ_TEST_DIR/err" &
pid=$!
at=
while kill -0 "$pid" 2>/dev/null; do
  if [ $(($(relay_stat down_bytes) - base)) -ge $((SIZE / 3)) ]; then
    at=$(relay_stat down_bytes)
    kill -USR1 "$FIXTURE_RELAY_PID"
    break
  fi
  sleep 0.01
done
rc=0
wait "$pid" || rc=$?
[ "$rc" -eq 0 ] || fail "get through the rebind exited $rc: $(cat "$SMBQ_TEST_DIR/err")"
[ -n "$at" ] || fail "the get ended before a third of it was relayed"
same_file "$W/big" "$W/back"
check_rebound down_bytes 1 "$at" get
echo "get: rebound after $(((at - base) >> 20)) MiB downstream"

fixture_relay_stop
cat "$SMBQ_TEST_DIR/relay.log"
grep "path validation" "$SMBQ_TEST_DIR/front.log" || true
n=$(grep -c "path validation to .* succeeded" "$SMBQ_TEST_DIR/front.log" || true)
[ "$n" -ge 2 ] ||
  fail "the front validated $n new paths, expected 2: $(cat "$SMBQ_TEST_DIR/front.log")"
echo PASS
