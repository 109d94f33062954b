#!/usr/bin/env bash
# SMB over QUIC against SMB over TCP across the same packet-level WAN:
# smbd (and the QUIC front tests/quic/quic_front in front of it) in one
# network namespace, smbq in another, joined by tests/wan/wan_emu, which
# delays and drops each IP packet (tests/wan/wan_env.sh). Unlike a TCP
# relay, nothing ends a connection on the way: TCP's and QUIC's congestion
# controls both see the delay and the losses, end to end.
#
# For RTT 20 and 50 ms x loss 0 and 1 % (the same in both directions), it
# times `smbq get` and `smbq put` of one BENCH_SIZE_MB MiB random file over
# TCP and over QUIC (alternating, BENCH_ROUNDS rounds), checks every copy
# byte for byte (a wrong copy fails the benchmark), and prints the medians
# in MB/s (10^6 bytes/s), the ratio QUIC/TCP against the goals (>= 0.9 at
# 0 % loss, >= 1.0 at 1 %), and the congestion control on each side; with
# smbclient installed, its TCP get as a reference. Each setting's line
# also gives the emulator's drops (a loss figure far from the setting means
# the run is not what it says) and the drops of the TUN devices themselves.
# Needs root (the Samba fixture, namespaces, TUN).
#   BENCH_SIZE_MB (default 256)  BENCH_ROUNDS (default 3)
#   BENCH_RTTS (default "20 50")  BENCH_LOSSES (default "0 1")
#   BENCH_RATE_MBIT (default 0: no bottleneck, the emulator and the CPUs
#     are the only limit; else a drop-tail bottleneck of one BDP)
#   SMBQ, SMBQ_QUIC_FRONT, SMBQ_WAN_EMU: binaries (default: build/)
#   BENCH_SRC: the source tree they were built from, where the QUIC
#     congestion control is read (default: this script's tree)
#
# How it runs: this script creates the WAN, then runs itself again inside
# the server namespace (WAN_INNER=1), where the fixture starts smbd and the
# front as usual; smbq runs in the client namespace through wan_cli. The
# front binds loopback only, so the server namespace maps
# $WAN_SRV_ADDR:PORT/udp to it (wan_expose_udp, nftables DNAT); smbd
# listens on every address of its namespace.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$here/../../build
src=${BENCH_SRC:-$here/../..}
export SMBQ=${SMBQ:-$build/cli/smbq}
export SMBQ_QUIC_FRONT=${SMBQ_QUIC_FRONT:-$build/tests/quic/quic_front}
export SMBQ_WAN_EMU=${SMBQ_WAN_EMU:-$(dirname "$SMBQ")/../tests/wan/wan_emu}
. "$here/../wan/wan_env.sh"

if [ -z "${WAN_INNER:-}" ]; then
  for b in "$SMBQ" "$SMBQ_QUIC_FRONT" "$SMBQ_WAN_EMU"; do
    [ -x "$b" ] || { echo "SKIP: $b is not built"; exit 77; }
  done
  wan_start 10 0 "${BENCH_RATE_MBIT:-0}"
  wan_run_inner "$0" "$@" # the rest, in the server namespace
fi

# ---- inside the server namespace ---------------------------------------------

export SMBQ_TRANSPORT=quic # the fixture starts the QUIC front too
. "$here/../e2e/fixture.sh"
# ip netns exec made a mount namespace: other tests' FUSE mounts in it
fixture_drop_foreign_mounts
SIZE_MB=${BENCH_SIZE_MB:-256}
ROUNDS=${BENCH_ROUNDS:-3}
RTTS=${BENCH_RTTS:-20 50}
LOSSES=${BENCH_LOSSES:-0 1}
RATE=${BENCH_RATE_MBIT:-0}
# smbd on every address of this namespace (the fixture says lo only; the
# later line wins)
fixture_start "bind interfaces only = no"
# our EXIT trap: the transfer still running (see xfer), then the fixture's
STEP_PID=
inner_exit() {
  trap '' INT TERM # a second signal (see outer_exit) must not cut it short
  if [ -n "$STEP_PID" ]; then
    kill "$STEP_PID" 2>/dev/null || true
    wait "$STEP_PID" 2>/dev/null || true
  fi
  fixture_cleanup
}
trap inner_exit EXIT
trap 'exit 130' INT TERM
wan_expose_udp "$SMBQ_TEST_QUIC_PORT"
W=$SMBQ_TEST_DIR/work
mkdir -p "$W"
chmod 755 "$W"
S=$SMBQ_TEST_SHAREDIR
head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom >"$W/big"
cp "$W/big" "$S/big"
chown "$SMBQ_TEST_USER" "$S/big"
sync

H=fsedge1.smbq.test
URL=//$H/share
QUIC=(-t quic --quic-port "$SMBQ_TEST_QUIC_PORT" --ca-file "$SMBQ_TEST_PKI/ca.pem"
  --resolve "$H:$WAN_SRV_ADDR")
TCP=(-t tcp -p "$SMBQ_TEST_PORT" --resolve "$H:$WAN_SRV_ADDR")
HAVE_SMBCLIENT=
command -v smbclient >/dev/null && HAVE_SMBCLIENT=1

# The congestion control of each sender, and what bounds TCP's window.
tcp_cc() { "$1" cat /proc/sys/net/ipv4/tcp_congestion_control; }
tcp_max() { "$1" sysctl -n "net.ipv4.$2" | awk '{print $3}'; }
quic_cc() { # quic_cc FILE: the cc_algo the source sets
  sed -n 's/.*settings\.cc_algo = NGTCP2_CC_ALGO_\([A-Z0-9]*\).*/\1/p' "$1" |
    head -1
}
cc_lib=$(quic_cc "$src/lib/transport/quic_conn.c")
# the front sets it through its server core's .bbr (tests/quic/quic_server.c);
# without it ngtcp2 keeps its default, CUBIC
if grep -q '\.bbr = true' "$src/tests/quic/quic_front.c"; then
  cc_front=$(quic_cc "$src/tests/quic/quic_server.c")
else
  cc_front=CUBIC
fi

# ---- transfers ---------------------------------------------------------------

secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
mbps() { awk -v s="$1" -v m="$SIZE_MB" 'BEGIN { printf "%.1f", m * 1048576 / 1e6 / s }'; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# xfer WHO DIR: one transfer, checked byte for byte; sets XFER_MBPS.
# WHO: tcp, quic (smbq) or smbclient; DIR: get or put. A failed or wrong
# transfer ends the benchmark: it is a bug, not a figure. The transfer
# runs in the background and we wait for it: bash runs a trap only once a
# foreground command ended, `wait` returns at once on a signal.
xfer() {
  local who=$1 dir=$2 t0 t1 rc=0 out cmd opts=("${QUIC[@]}")
  [ "$who" = tcp ] && opts=("${TCP[@]}")
  case $who:$dir in
  smbclient:get)
    cmd=(smbclient "//$WAN_SRV_ADDR/share" -p "$SMBQ_TEST_PORT"
      -U "$SMBQ_TEST_USER%$SMBQ_PASSWORD" --client-protection=sign
      -c "get big $W/got") ;;
  *:get) cmd=("$SMBQ" -U "$SMBQ_TEST_USER" "${opts[@]}" get "$URL/big" "$W/got") ;;
  *:put) cmd=("$SMBQ" -U "$SMBQ_TEST_USER" "${opts[@]}" put "$W/big" "$URL/put") ;;
  esac
  rm -f "$W/got" "$S/put"
  t0=$EPOCHREALTIME
  # ip netns exec directly: $! is then the transfer itself (see above)
  ip netns exec "$WAN_CLI_NS" timeout --foreground 900 "${cmd[@]}" >"$W/err" 2>&1 &
  STEP_PID=$!
  wait "$STEP_PID" || rc=$?
  STEP_PID=
  t1=$EPOCHREALTIME
  [ "$rc" -eq 0 ] || fail "$who $dir failed (exit $rc): $(tail -3 "$W/err")"
  out=$W/got
  [ "$dir" = put ] && out=$S/put
  cmp -s "$W/big" "$out" || fail "$who $dir: the copy differs from the original"
  XFER_MBPS=$(mbps "$(secs "$t0" "$t1")")
}

# What the path carries without delay or loss: a bulk TCP stream client ->
# server for 2 s (Python), and the emulator's CPU meanwhile. The SMB
# figures below should stay well under it, or the emulator is what they
# measure.
path_check() {
  wan_set 0 0 "$RATE" || fail "wan_set 0 0"
  python3 - "$WAN_SRV_ADDR" "$W/sink.port" <<'PY' &
import socket, sys
s = socket.socket()
s.settimeout(30)
s.bind((sys.argv[1], 0))
s.listen(1)
open(sys.argv[2], "w").write(str(s.getsockname()[1]))
c, _ = s.accept()
c.settimeout(30)
buf = bytearray(1 << 20)
while c.recv_into(buf):
    pass
c.sendall(b"x")
PY
  local i c0 c1 t0 t1 out
  STEP_PID=$!
  for i in $(seq 1 100); do [ -s "$W/sink.port" ] && break; sleep 0.05; done
  c0=$(awk '{print $14 + $15}' "/proc/$WAN_EMU_PID/stat")
  t0=$EPOCHREALTIME
  out=$(wan_cli timeout --foreground 30 python3 - "$WAN_SRV_ADDR" "$(cat "$W/sink.port")" <<'PY'
import os, socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
buf = os.urandom(1 << 20)
n, t0 = 0, time.monotonic()
while time.monotonic() - t0 < 2:
    s.sendall(buf)
    n += len(buf)
s.shutdown(socket.SHUT_WR)
s.recv(1)
print("%.2f" % (n * 8 / (time.monotonic() - t0) / 1e9))
PY
  ) || out="?"
  t1=$EPOCHREALTIME
  c1=$(awk '{print $14 + $15}' "/proc/$WAN_EMU_PID/stat")
  wait "$STEP_PID" || true
  STEP_PID=
  echo "   path check (no delay, no loss): TCP bulk ${out} Gbit/s through the" \
    "emulator, which used $(awk -v c=$((c1 - c0)) -v t="$(secs "$t0" "$t1")" \
      -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.0f", 100 * c / hz / t }') %" \
    "of a CPU (its writes carry the receiving kernel's work too)"
}

declare -A R # R[rtt:loss:dir:who] = "MB/s MB/s ..." (the rounds)
declare -A NOTE # NOTE[rtt:loss] = what the emulator counted

run_setting() { # run_setting RTT_MS LOSS_PCT
  local rtt=$1 loss=$2 i dir who order k d0 d1 q0 l0 l1
  local one_way
  one_way=$(awk -v r="$rtt" 'BEGIN { print r / 2 }')
  wan_set "$one_way" "$loss" "$RATE" || fail "wan_set $one_way $loss $RATE"
  local rtt_seen
  rtt_seen=$(wan_rtt_ms 5 || echo "?")
  wan_stats_now || true
  l0=$(($(wan_stat up_drop_loss) + $(wan_stat down_drop_loss)))
  q0=$(($(wan_stat up_drop_queue) + $(wan_stat down_drop_queue) +
    $(wan_stat up_drop_ring) + $(wan_stat down_drop_ring) +
    $(wan_stat up_drop_oversize) + $(wan_stat down_drop_oversize)))
  local p0=$(($(wan_stat up_rx_pkts) + $(wan_stat down_rx_pkts)))
  d0=$(wan_dev_drops)
  for i in $(seq 1 "$ROUNDS"); do
    order="tcp quic"
    [ $((i % 2)) -eq 0 ] && order="quic tcp"
    [ -z "$HAVE_SMBCLIENT" ] || order+=" smbclient"
    for dir in get put; do
      for who in $order; do
        [ "$who:$dir" != smbclient:put ] || continue
        k=$rtt:$loss:$dir:$who
        xfer "$who" "$dir"
        R[$k]="${R[$k]:-}${R[$k]:+ }$XFER_MBPS"
      done
    done
  done
  wan_stats_now || true
  l1=$(($(wan_stat up_drop_loss) + $(wan_stat down_drop_loss)))
  local q1=$(($(wan_stat up_drop_queue) + $(wan_stat down_drop_queue) +
    $(wan_stat up_drop_ring) + $(wan_stat down_drop_ring) +
    $(wan_stat up_drop_oversize) + $(wan_stat down_drop_oversize)))
  local p1=$(($(wan_stat up_rx_pkts) + $(wan_stat down_rx_pkts)))
  d1=$(wan_dev_drops)
  NOTE[$rtt:$loss]=$(awk -v rs="$rtt_seen" -v p=$((p1 - p0)) -v l=$((l1 - l0)) \
    -v q=$((q1 - q0)) -v d=$((d1 - d0)) 'BEGIN {
      printf "measured RTT %s ms; %d packets, dropped for loss %d (%.2f %%), " \
        "other emulator drops %d, TUN device drops %d", rs, p, l,
        p ? 100 * l / p : 0, q, d }')
}

# ---- the run -----------------------------------------------------------------

echo "== SMB get/put over TCP and QUIC through wan_emu (packet-level WAN emulator) =="
echo "   file ${SIZE_MB} MiB, ${ROUNDS} round(s) alternating, median;" \
  "MB/s = 10^6 bytes/s; every copy checked with cmp"
if [ "$RATE" = 0 ]; then
  echo "   path: no rate limit, no bottleneck queue (the emulator and the 2" \
    "shared CPUs are the limit; loss is random only)"
else
  echo "   path: bottleneck ${RATE} Mbit/s each way, drop-tail queue of one BDP"
fi
echo "   congestion control: TCP client ns $(tcp_cc wan_cli)," \
  "server ns $(tcp_cc wan_srv) (net.ipv4.tcp_congestion_control; no fq qdisc" \
  "here, so TCP paces itself)"
echo "     TCP buffers: tcp_wmem max $(tcp_max wan_srv tcp_wmem) (server)" \
  "/ $(tcp_max wan_cli tcp_wmem) (client), tcp_rmem max" \
  "$(tcp_max wan_cli tcp_rmem) (client) / $(tcp_max wan_srv tcp_rmem) (server)"
wmem=$(tcp_max wan_srv tcp_wmem)
bound=$(for rtt in $RTTS; do awk -v w="$wmem" -v r="$rtt" \
  'BEGIN { printf "%.0f MB/s at %s ms, ", w / 1e6 / (r / 1000), r }'; done)
echo "     (a TCP sender keeps at most its send buffer in flight, so at most" \
  "${bound%, } less the buffer's overhead)"
echo "     QUIC (ngtcp2 settings.cc_algo): smbq ${cc_lib:-?}" \
  "(lib/transport/quic_conn.c), quic_front ${cc_front:-?} (tests/quic/quic_front.c)"
echo "     get: the server side sends (smbd over TCP; quic_front over QUIC)," \
  "put: smbq sends"
echo "   smbq: $SMBQ"
echo "   emulator: $(wan_log | sed -n 's/^wan_emu: client .*\(MTU [0-9]*\), \(seed [0-9]*\)/\1, \2/p' | head -1)"

path_check
for rtt in $RTTS; do
  for loss in $LOSSES; do
    echo "-- RTT $rtt ms, loss $loss % each way"
    run_setting "$rtt" "$loss"
    echo "   ${NOTE[$rtt:$loss]}"
  done
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
goal_for() { awk -v l="$1" 'BEGIN { print (l == 0) ? "0.9" : "1.0" }'; }

echo
printf '%-7s %-6s %-4s %10s %10s %9s %-12s %10s   %s\n' RTT loss op "TCP MB/s" \
  "QUIC MB/s" QUIC/TCP "goal" smbclient "rounds TCP | QUIC"
for rtt in $RTTS; do
  for loss in $LOSSES; do
    for dir in get put; do
      k=$rtt:$loss:$dir
      # shellcheck disable=SC2086
      mt=$(median ${R[$k:tcp]})
      # shellcheck disable=SC2086
      mq=$(median ${R[$k:quic]})
      r=$(ratio "$mq" "$mt")
      g=$(goal_for "$loss")
      verdict="NOT met"
      awk -v r="$r" -v g="$g" 'BEGIN { exit !(r >= g) }' && verdict=met
      sc=-
      # shellcheck disable=SC2086
      [ -z "${R[$k:smbclient]:-}" ] || sc=$(median ${R[$k:smbclient]})
      [ -n "$HAVE_SMBCLIENT" ] || [ "$dir" = put ] || sc="n/a"
      printf '%-7s %-6s %-4s %10s %10s %9s %-12s %10s   %s | %s\n' "$rtt ms" \
        "$loss %" "$dir" "$mt" "$mq" "$r" ">=$g $verdict" "$sc" \
        "${R[$k:tcp]}" "${R[$k:quic]}"
    done
  done
done
[ -n "$HAVE_SMBCLIENT" ] || echo "(smbclient is not installed: no reference figure)"
echo "(smbclient: TCP get with signing, the same file, as a reference)"
