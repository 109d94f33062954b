#!/usr/bin/env bash
# The reconnect benchmark: how soon smbq-mount serves again once the path
# to the server is back. For each transport and kind of cut, a fresh mount
# of a throw-away smbd (durable handles on: posix locking = no) goes
# through BENCH_OUTAGES outages of BENCH_OUTAGE_S seconds each, while a
# poller makes a new directory through the mount every 10 ms (each mkdir
# must reach the server; one made during the outage waits, or fails and
# is tried again). The figure of an outage is the time from the restore
# to the first mkdir that succeeds after it. Prints each figure, the median
# per row, and the goal: median < 1 s once the path is back.
#   tcp hard:    tests/bench/tcp_delay_relay resets every connection and
#                refuses new ones (SIGUSR1), then listens again (SIGUSR2)
#   tcp silent:  that relay stopped (SIGSTOP: connections stay open,
#                nothing is answered), then resumed (SIGCONT)
#   quic hard:   the QUIC front (tests/quic/quic_front) stopped, then
#                started again on the same UDP port; the old connection is
#                gone with it
#   quic silent: tests/quic/udp_relay between the mount and the front
#                drops every datagram (SIGUSR2), then lets them through
# Needs root (the Samba fixture, FUSE).
#   BENCH_OUTAGES (default 7)   BENCH_OUTAGE_S (default 3)
#   BENCH_TRANSPORTS (default "tcp quic")   BENCH_CUTS (default "hard silent")
#   BENCH_MAX_WAIT (default 30): seconds to wait for a success after a
#     restore; a row stops at its first outage without one
#   SMBQ, SMBQ_MOUNT, SMBQ_TCP_RELAY, SMBQ_QUIC_FRONT, SMBQ_UDP_RELAY:
#     binaries (default: build/)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$here/../../build
export SMBQ=${SMBQ:-$build/cli/smbq}
export SMBQ_MOUNT=${SMBQ_MOUNT:-$build/fuse/smbq-mount}
export SMBQ_TCP_RELAY=${SMBQ_TCP_RELAY:-$build/tests/bench/tcp_delay_relay}
export SMBQ_QUIC_FRONT=${SMBQ_QUIC_FRONT:-$build/tests/quic/quic_front}
export SMBQ_UDP_RELAY=${SMBQ_UDP_RELAY:-$build/tests/quic/udp_relay}
# the fixture is smbd alone; the QUIC front is started below
export SMBQ_TRANSPORT=tcp
. "$here/../e2e/mount_fixture.sh"
OUTAGES=${BENCH_OUTAGES:-7}
OUTAGE_S=${BENCH_OUTAGE_S:-3}
TRANSPORTS=${BENCH_TRANSPORTS:-tcp quic}
CUTS=${BENCH_CUTS:-hard silent}
MAX_WAIT=${BENCH_MAX_WAIT:-30}
GOAL_S=1
mount_fixture_need_fuse
fixture_need_tools python3
for b in "$SMBQ" "$SMBQ_MOUNT" "$SMBQ_TCP_RELAY" "$SMBQ_QUIC_FRONT" "$SMBQ_UDP_RELAY"; do
  [ -x "$b" ] || { echo "SKIP: $b is not built"; exit 77; }
done

# ---- fixture, paths, cleanup ------------------------------------------------------

POLLER= # the poller running, stopped first at exit
UDP_RELAY_PID=
mount_cleanup_first() {
  if [ -n "$POLLER" ]; then
    kill -- "-$POLLER" 2>/dev/null
    wait "$POLLER" 2>/dev/null
  fi
  restore_all
  if [ -n "$UDP_RELAY_PID" ]; then
    kill "$UDP_RELAY_PID" 2>/dev/null
    wait "$UDP_RELAY_PID" 2>/dev/null
  fi
}
mount_fixture_start "posix locking = no" "kernel oplocks = no" \
  "kernel share modes = no"
trap 'exit 130' INT TERM
SMBD_PORT=$SMBQ_TEST_PORT

fixture_tcp_relay 127.0.0.1:0 ||
  fail "tcp_delay_relay did not start: $(cat "$FIXTURE_TCP_RELAY_LOG")"
HARD_RELAY=$FIXTURE_TCP_RELAY_PID
HARD_RELAY_LOG=$FIXTURE_TCP_RELAY_LOG
HARD_PORT=$FIXTURE_TCP_RELAY_PORT
fixture_tcp_relay 127.0.0.1:0 ||
  fail "tcp_delay_relay did not start: $(cat "$FIXTURE_TCP_RELAY_LOG")"
SILENT_RELAY=$FIXTURE_TCP_RELAY_PID
SILENT_PORT=$FIXTURE_TCP_RELAY_PORT
case " $TRANSPORTS " in
*" quic "*)
  fixture_front "$SMBD_PORT" server
  FRONT_PORT=$FIXTURE_FRONT_PORT
  UDP_STATS=$SMBQ_TEST_DIR/udp_relay.stats
  "$SMBQ_UDP_RELAY" --upstream-port "$FRONT_PORT" --port-file "$SMBQ_TEST_DIR/udp_relay.port" \
    --stats-file "$UDP_STATS" >"$SMBQ_TEST_DIR/udp_relay.log" 2>&1 &
  UDP_RELAY_PID=$!
  for _ in $(seq 1 100); do [ -s "$SMBQ_TEST_DIR/udp_relay.port" ] && break; sleep 0.05; done
  [ -s "$SMBQ_TEST_DIR/udp_relay.port" ] ||
    fail "udp_relay did not start: $(cat "$SMBQ_TEST_DIR/udp_relay.log")"
  UDP_PORT=$(cat "$SMBQ_TEST_DIR/udp_relay.port") ;;
esac

# until_true SECONDS CMD...: CMD every 10 ms until it succeeds (0) or
# SECONDS pass (1)
until_true() {
  local end=$((SECONDS + $1))
  shift
  until "$@"; do
    [ "$SECONDS" -lt "$end" ] || return 1
    sleep 0.01
  done
}
relay_logged() { [ "$(grep -c -- "$1" "$HARD_RELAY_LOG" || true)" -ge "$2" ]; }
is_stopped() { [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = T ]; }
blackhole_is() { grep -qx "blackhole=$1" "$UDP_STATS" 2>/dev/null; }

# cut ROW / restore ROW: each returns once the relay or front has acted
cut() {
  local n
  case $1 in
  tcp-hard)
    n=$(grep -c 'relay: cut$' "$HARD_RELAY_LOG" || true)
    kill -USR1 "$HARD_RELAY"
    until_true 5 relay_logged 'relay: cut$' $((n + 1)) || fail "the relay did not cut" ;;
  tcp-silent)
    kill -STOP "$SILENT_RELAY"
    until_true 5 is_stopped "$SILENT_RELAY" || fail "the relay did not stop" ;;
  quic-hard) fixture_front_stop ;;
  quic-silent)
    kill -USR2 "$UDP_RELAY_PID"
    until_true 5 blackhole_is 1 || fail "udp_relay did not go silent" ;;
  esac
}
restore() {
  local n
  case $1 in
  tcp-hard)
    n=$(grep -c 'relay: restored$' "$HARD_RELAY_LOG" || true)
    kill -USR2 "$HARD_RELAY"
    until_true 5 relay_logged 'relay: restored$' $((n + 1)) || fail "the relay did not restore" ;;
  tcp-silent) kill -CONT "$SILENT_RELAY" ;;
  quic-hard)
    fixture_front_restart ||
      fail "quic_front did not restart: $(tail -3 "$SMBQ_TEST_DIR/front.log")" ;;
  quic-silent)
    kill -USR2 "$UDP_RELAY_PID"
    until_true 5 blackhole_is 0 || fail "udp_relay did not let datagrams through" ;;
  esac
}
# every path open again (the EXIT trap); never fails
restore_all() {
  kill -CONT "$SILENT_RELAY" 2>/dev/null
  kill -USR2 "$HARD_RELAY" 2>/dev/null
  if [ -n "$UDP_RELAY_PID" ]; then
    blackhole_is 1 && kill -USR2 "$UDP_RELAY_PID" 2>/dev/null
    kill -0 "${FIXTURE_FRONT_PID:-x}" 2>/dev/null || fixture_front_restart
  fi
  return 0
}

declare -A WHAT=(
  [tcp-hard]="TCP, hard cut (relay resets every connection, refuses new ones)"
  [tcp-silent]="TCP, silent cut (relay stopped: nothing answered)"
  [quic-hard]="QUIC, hard cut (front stopped, restarted on its port)"
  [quic-silent]="QUIC, silent cut (udp_relay drops every datagram)"
)

# mount_row ROW DIR: smbq-mount -f of the share on DIR through ROW's path
mount_row() {
  local opts
  case $1 in
  tcp-hard) opts=(-t tcp -p "$HARD_PORT") ;;
  tcp-silent) opts=(-t tcp -p "$SILENT_PORT") ;;
  quic-*)
    opts=(-t quic --quic-port "$FRONT_PORT" --ca-file "$SMBQ_TEST_PKI/ca.pem"
      --resolve fsedge1.smbq.test:127.0.0.1)
    [ "$1" = quic-hard ] || opts[3]=$UDP_PORT ;;
  esac
  local host=127.0.0.1
  [[ $1 == tcp-* ]] || host=fsedge1.smbq.test
  mkdir -p "$2"
  MOUNTS+=("$2")
  "$SMBQ_MOUNT" -f "//$host/share" "$2" -U "$SMBQ_TEST_USER" "${opts[@]}" 2>"$2.log" &
  MOUNT_PID=$!
  DAEMONS+=("$MOUNT_PID")
  mount_wait "$2" "$MOUNT_PID" || fail "smbq-mount did not mount $2: $(tail -3 "$2.log")"
}

# The poller: poll.py DIR OUT: a new directory in DIR every 10 ms; OUT
# gets "ok TIME" or "err TIME ERRNO" per call (TIME: when it returned,
# seconds since the epoch, as bash's EPOCHREALTIME).
cat >"$W/poll.py" <<'PY'
import errno, os, sys, time
d, out = sys.argv[1], sys.argv[2]
with open(out, "w", buffering=1) as f:
    i = 0
    while True:
        i += 1
        try:
            os.mkdir(os.path.join(d, "n%d" % i))
            f.write("ok %.6f\n" % time.time())
        except OSError as e:
            f.write("err %.6f %s\n" % (time.time(), errno.errorcode.get(e.errno, e.errno)))
        time.sleep(0.01)
PY

# first_ok OUT AFTER: the time of the first success after AFTER, or nothing
first_ok() { awk -v t="$2" '$1 == "ok" && $2 > t { print $2; exit }' "$1"; }

# failed_calls OUT: ", N calls failed (ERRNO...)", or nothing
failed_calls() {
  awk '$1 == "err" { n++; e[$3] = 1 } END {
    if (n) { s = ""; for (k in e) s = s (s ? " " : "") k
             p = (n > 1) ? "s" : ""
             printf ", %d call%s failed (%s)", n, p, s } }' "$1"
}

declare -A FIG # FIG[row] = the figures, space-separated ("timeout" for none)

# run_row ROW
run_row() {
  local row=$1 m=$SMBQ_TEST_DIR/mnt-$1 i out t_cut t_restore t_ok figs=() during
  echo "-- ${WHAT[$row]}"
  mount_row "$row" "$m"
  local pid=$MOUNT_PID
  until_true "$MAX_WAIT" mkdir "$m/$row" 2>/dev/null || fail "mkdir through the new mount"
  for i in $(seq 1 "$OUTAGES"); do
    local d=$m/$row/o$i
    if ! until_true "$MAX_WAIT" mkdir "$d" 2>/dev/null; then
      echo "   outage $i: the mount does not serve before the cut; row stopped"
      break
    fi
    out=$W/poll.$row.$i
    timeout $((OUTAGE_S + MAX_WAIT + 30)) python3 "$W/poll.py" "$d" "$out" &
    POLLER=$!
    sleep 0.3
    cut "$row"
    t_cut=$EPOCHREALTIME
    sleep "$OUTAGE_S"
    restore "$row"
    t_restore=$EPOCHREALTIME
    t_ok=
    local end=$((SECONDS + MAX_WAIT))
    while [ "$SECONDS" -lt "$end" ]; do
      t_ok=$(first_ok "$out" "$t_restore")
      [ -z "$t_ok" ] || break
      sleep 0.01
    done
    kill -- "-$POLLER" 2>/dev/null || true
    wait "$POLLER" 2>/dev/null || true
    POLLER=
    # a success while the path was cut came from no server
    during=$(awk -v a="$t_cut" -v b="$t_restore" '$1 == "ok" && $2 > a + 0.05 && $2 < b' "$out" | wc -l)
    [ "$during" -eq 0 ] || echo "   outage $i: $during mkdir succeeded during the outage (the cut did not hold?)"
    if [ -z "$t_ok" ]; then
      figs+=(timeout)
      echo "   outage $i: no success within $MAX_WAIT s of the restore; row stopped$(failed_calls "$out");" \
        "the mount's log ends: $(tail -1 "$m.log")"
      break
    fi
    figs+=("$(awk -v a="$t_restore" -v b="$t_ok" 'BEGIN { printf "%.3f", b - a }')")
    echo "   outage $i: ${figs[-1]} s$(failed_calls "$out")"
  done
  FIG[$row]=${figs[*]}
  fusermount3 -u "$m" || fusermount3 -u -z "$m" || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# median FIGURES...: "timeout" counts as longer than any figure
median() {
  [ $# -gt 0 ] || { echo n/a; return; }
  printf '%s\n' "$@" | sed 's/^timeout$/1e99/' | sort -g |
    awk '{ v[NR] = $1 } END {
      m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      if (m > 1e90) print "timeout"; else printf "%.3f\n", m }'
}

echo "== reconnect benchmark: $OUTAGES outages of $OUTAGE_S s per row; the time" \
  "from the path coming back to the first mkdir through smbq-mount that" \
  "succeeds (polled every 10 ms)"
ROWS=()
for t in $TRANSPORTS; do
  for c in $CUTS; do
    case "$t-$c" in tcp-hard | tcp-silent | quic-hard | quic-silent) ;;
    *) fail "unknown row $t-$c (BENCH_TRANSPORTS, BENCH_CUTS)" ;;
    esac
    ROWS+=("$t-$c")
    run_row "$t-$c"
  done
done

echo
echo "seconds from the restore to the first success (median over the outages)"
for row in "${ROWS[@]}"; do
  # shellcheck disable=SC2086 # the figures, one word each
  printf '  %-12s %-10s %s\n' "$row" "$(median ${FIG[$row]})" "(${FIG[$row]})"
done
echo
echo "goals:"
for row in "${ROWS[@]}"; do
  # shellcheck disable=SC2086
  med=$(median ${FIG[$row]})
  if [[ $med =~ ^[0-9.]+$ ]] && awk -v m="$med" -v g="$GOAL_S" 'BEGIN { exit !(m < g) }'; then
    verdict=met
  else
    verdict="NOT met"
  fi
  printf '  %-48s %-10s %s\n' "$row: median < ${GOAL_S} s once the path is back" "$med s" "$verdict"
done
