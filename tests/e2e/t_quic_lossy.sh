#!/usr/bin/env bash
# SMB over QUIC on a bad path: the UDP relay drops 1% of the datagrams in
# each direction and adds 20 ms one way. A 64 MiB put and get (or MB from
# $1) must come back byte-exact. Prints the elapsed time and rate of each
# (figures only: no test asserts a wall-clock time), and checks from the
# relay's counters that the loss really happened both ways.
# SMBQ_RELAY_SEED=N replays the relay's drop pattern.
set -euo pipefail
. "$(dirname "$0")/fixture.sh"
if [ "${SMBQ_TRANSPORT:-tcp}" != quic ]; then
  echo "SKIP: a QUIC-only case (SMBQ_TRANSPORT=quic)"
  exit 77
fi
MB=${1:-64}
fixture_start
fixture_relay --loss 1 --delay-ms 20 ${SMBQ_RELAY_SEED:+--seed "$SMBQ_RELAY_SEED"}
W=$SMBQ_TEST_DIR/work
mkdir -p "$W"
head -c $((MB * 1024 * 1024)) /dev/urandom >"$W/big"

timed() { # timed WHAT CMD...: run CMD (must succeed), print time and rate
  local what=$1 t0 t1
  shift
  t0=$(date +%s%N)
  expect_rc 0 "$@"
  t1=$(date +%s%N)
  awk -v w="$what" -v mb="$MB" -v ns=$((t1 - t0)) 'BEGIN {
    s = ns / 1e9; printf "%s %d MiB: %.2f s, %.1f MB/s\n", w, mb, s,
    mb * 1.048576 / s }'
}

timed put sq put "$W/big" "$(url share big)"
same_file "$W/big" "$SMBQ_TEST_SHAREDIR/big"
timed get sq get "$(url share big)" "$W/back"
same_file "$W/big" "$W/back"

fixture_relay_stop
cat "$SMBQ_TEST_DIR/relay.log"
# the impairment must have been real, or this case proves nothing
for d in up down; do
  [ "$(relay_stat ${d}_dropped)" -gt 0 ] ||
    fail "the relay dropped nothing in direction $d"
  [ "$(relay_stat ${d}_forwarded)" -gt 0 ] ||
    fail "the relay forwarded nothing in direction $d"
done
echo PASS
