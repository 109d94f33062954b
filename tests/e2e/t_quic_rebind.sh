#!/usr/bin/env bash
# SMB over QUIC through NAT rebinding (RFC 9000 9.3): the UDP relay moves
# its upstream socket to a new source port in the middle of a 64 MiB put
# (or MB from $1), by itself once a third of the file has gone upstream
# (--rebind-after-bytes), and again in the middle of the get, told by
# SIGUSR1 when a quarter has come back. Both must be byte-exact. The relay's
# counters must show each rebind during its transfer, with at least a
# third of the file relayed after it, so the server carried on over the
# new path; the front must have validated each new path (RFC 9000 8.2,
# 9.3.1); and neither command may have reconnected (its -v counters): the
# QUIC connection itself must follow the new address. Last, a third
# rebinding while the client waits for a stopped smbd: its PINGs must
# bring the server to the new address before any answer comes.
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

# check_rebound KEY BEFORE WHAT: the relay rebound once since BEFORE
# rebinds, and at least a third of the file went through (counter KEY)
# after that rebind (the relay records where it happened).
check_rebound() {
  local key=$1 before=$2 what=$3
  settle_stats
  [ "$(relay_stat rebinds)" -eq $((before + 1)) ] ||
    fail "the relay did not rebind (once) during the $what: $(relay_stat rebinds) rebinds"
  [ $(($(relay_stat "$key") - $(relay_stat "rebind_$key"))) -ge $((SIZE / 3)) ] ||
    fail "less than a third of the $what went through after the rebind"
}

# new_ports [N]: the upstream ports the relay moved to (that of rebind N)
new_ports() {
  sed -n "s/.*rebind ${1:-[0-9]*}: upstream source port [0-9]* -> //p" \
    "$SMBQ_TEST_DIR/relay.log"
}

# validated PORT: the front validated the path from that port
validated() {
  grep -q "path validation to 127.0.0.1:$1 succeeded" "$SMBQ_TEST_DIR/front.log"
}

# same_conn FILE WHAT: the -v counters in FILE show no reconnect: the QUIC
# connection itself followed the new address, with nothing lost
same_conn() {
  grep -q ', reconnects: 0$' "$1" ||
    fail "the $2 reconnected instead of following the rebinding on its QUIC connection: $(cat "$1")"
}

# put: the relay rebinds by itself after SIZE/3 bytes upstream
expect_rc 0 sq -v put "$W/big" "$(url share big)"
same_file "$W/big" "$SMBQ_TEST_SHAREDIR/big"
same_conn "$SMBQ_TEST_DIR/err" put
check_rebound up_bytes 0 put
echo "put: rebound after $(($(relay_stat rebind_up_bytes) >> 20)) MiB upstream"

# get: in the background; SIGUSR1 once a quarter has come back (the
# counters the test reads lag a little behind the relay). The client
# only receives: if the rebinding catches it with nothing to acknowledge,
# only its own PING tells the server the new address.
base=$(relay_stat down_bytes)
sq -v get "$(url share big)" "$W/back" >"$SMBQ_TEST_DIR/out" 2>"$SMBQ_TEST_DIR/err" &
pid=$!
sent=
while kill -0 "$pid" 2>/dev/null; do
  if [ $(($(relay_stat down_bytes) - base)) -ge $((SIZE / 4)) ]; then
    kill -USR1 "$FIXTURE_RELAY_PID"
    sent=1
    break
  fi
  sleep 0.01
done
rc=0
wait "$pid" || rc=$?
[ "$rc" -eq 0 ] || fail "get through the rebind exited $rc: $(cat "$SMBQ_TEST_DIR/err")"
[ -n "$sent" ] || fail "the get ended before a quarter of it was relayed"
same_file "$W/big" "$W/back"
same_conn "$SMBQ_TEST_DIR/err" get
check_rebound down_bytes 1 get
echo "get: rebound after $((($(relay_stat rebind_down_bytes) - base) >> 20)) MiB downstream"

# A rebinding while the client waits on a silent server: smbd is stopped,
# so the front (QUIC) acknowledges the NEGOTIATE and no answer comes. The
# client has nothing in flight, only an answer due: it must keep packets
# on the wire (PING after 2 PTO of silence), so the server learns the new
# address and validates it before smbd answers at all; the answer then
# takes the new path, and the get needs no reconnect.
kill -STOP "$FIXTURE_SMBD_PID"
trap 'kill -CONT "$FIXTURE_SMBD_PID" 2>/dev/null || true; fixture_cleanup' EXIT
head -c 100000 /dev/urandom >"$SMBQ_TEST_SHAREDIR/small"
up0=$(relay_stat up_forwarded)
down0=$(relay_stat down_forwarded)
sq -v get "$(url share small)" "$W/small" >"$SMBQ_TEST_DIR/out" 2>"$SMBQ_TEST_DIR/err" &
pid=$!
# the handshake went both ways through the relay: the NEGOTIATE is out
for _ in $(seq 1 100); do
  [ "$(relay_stat down_forwarded)" -gt "$down0" ] &&
    [ "$(relay_stat up_forwarded)" -gt $((up0 + 2)) ] && break
  sleep 0.02
done
sleep 0.3
kill -USR1 "$FIXTURE_RELAY_PID"
settle_stats
[ "$(relay_stat rebinds)" -eq 3 ] || fail "the relay did not rebind: $(relay_stat rebinds) rebinds"
port=$(new_ports 3)
seen=
for _ in $(seq 1 50); do # 2.5 s, short of the SMB layer's 4 s ECHO
  if validated "$port"; then
    seen=1
    break
  fi
  sleep 0.05
done
kill -CONT "$FIXTURE_SMBD_PID"
[ -n "$seen" ] ||
  fail "while an answer was due, no packet of the client told the front its new port $port: $(cat "$SMBQ_TEST_DIR/front.log")"
rc=0
wait "$pid" || rc=$?
[ "$rc" -eq 0 ] || fail "get across the silent rebind exited $rc: $(cat "$SMBQ_TEST_DIR/err")"
same_file "$SMBQ_TEST_SHAREDIR/small" "$W/small"
same_conn "$SMBQ_TEST_DIR/err" "get across the silent rebind"
echo "silent server: the front validated port $port before smbd answered"

fixture_relay_stop
cat "$SMBQ_TEST_DIR/relay.log"
grep "path validation" "$SMBQ_TEST_DIR/front.log" || true
# each new upstream port the relay moved to was validated by the front
for port in $(new_ports); do
  validated "$port" ||
    fail "the front did not validate the new path from port $port: $(cat "$SMBQ_TEST_DIR/front.log")"
done
echo PASS
