#!/usr/bin/env bash
# SMB over QUIC against TCP, in one run on this machine:
#  1. throughput of one large file, get and put: smbq over QUIC (through
#     the test front tests/quic/quic_front), smbq over TCP and smbclient
#     (TCP) against the same smbd, alternating, median of the rounds, with
#     the ratios QUIC/TCP (the goal is at least 0.60) and smbq/smbclient;
#  2. connection set-up: TCP, QUIC with a full TLS handshake and QUIC
#     resumed with a session ticket, on loopback and through
#     tests/quic/udp_relay adding BENCH_DELAY_MS each way, where the
#     figures are also given in round trips (the goal: the QUIC handshake
#     under 2 round trips).
# Needs root (the Samba fixture).
#   BENCH_SIZE_MB (default 512)  BENCH_ROUNDS (default 3)
#   BENCH_DELAY_MS (default 10)  BENCH_CONNECTS (default 20)
#   SMBQ, SMBQ_QUIC_FRONT, SMBQ_UDP_RELAY, BENCH_CONNECT: binaries
#   (default: the ones in build/)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$here/../../build
export SMBQ=${SMBQ:-$build/cli/smbq}
export SMBQ_QUIC_FRONT=${SMBQ_QUIC_FRONT:-$build/tests/quic/quic_front}
export SMBQ_UDP_RELAY=${SMBQ_UDP_RELAY:-$build/tests/quic/udp_relay}
BENCH_CONNECT=${BENCH_CONNECT:-$build/tests/bench/bench_connect}
export SMBQ_TRANSPORT=quic
. "$here/../e2e/fixture.sh"
SIZE_MB=${BENCH_SIZE_MB:-512}
ROUNDS=${BENCH_ROUNDS:-3}
DELAY_MS=${BENCH_DELAY_MS:-10}
CONNECTS=${BENCH_CONNECTS:-20}
fixture_start
W=$SMBQ_TEST_DIR/work
mkdir -p "$W"
head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom >"$SMBQ_TEST_SHAREDIR/big"
cp "$SMBQ_TEST_SHAREDIR/big" "$W/up"
chown "$SMBQ_TEST_USER" "$SMBQ_TEST_SHAREDIR/big"
sync

now() { date +%s.%N; }
mbps() { python3 -c "print(f'{$SIZE_MB / ($2 - $1):.0f}')"; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }

H=fsedge1.smbq.test
QUIC=(-t quic --quic-port "$SMBQ_TEST_QUIC_PORT" --ca-file "$SMBQ_TEST_PKI/ca.pem"
  --resolve "$H:127.0.0.1")
TCP=(-t tcp -p "$SMBQ_TEST_PORT" --resolve "$H:127.0.0.1")
xfer() { # xfer quic|tcp|smbclient get|put
  case $1 in
  smbclient)
    local cmd="get big /dev/null"
    [ "$2" = put ] && cmd="put $W/up up"
    smbclient "//127.0.0.1/share" -p "$SMBQ_TEST_PORT" \
      -U "$SMBQ_TEST_USER%$SMBQ_PASSWORD" --client-protection=sign \
      -c "$cmd" >/dev/null 2>&1 ;;
  *)
    local opts=("${QUIC[@]}")
    [ "$1" = tcp ] && opts=("${TCP[@]}")
    if [ "$2" = get ]; then
      "$SMBQ" -U "$SMBQ_TEST_USER" "${opts[@]}" get "//$H/share/big" - >/dev/null
    else
      "$SMBQ" -U "$SMBQ_TEST_USER" "${opts[@]}" put "$W/up" "//$H/share/up"
    fi ;;
  esac
}

bench_xfer() { # bench_xfer get|put
  local dir=$1 q=() t=() c=() i t0 t1 who
  xfer quic "$dir"; xfer tcp "$dir"; xfer smbclient "$dir" # warm up
  for i in $(seq 1 "$ROUNDS"); do
    for who in quic tcp smbclient; do
      t0=$(now); xfer $who "$dir"; t1=$(now)
      case $who in
      quic) q+=("$(mbps "$t0" "$t1")") ;;
      tcp) t+=("$(mbps "$t0" "$t1")") ;;
      *) c+=("$(mbps "$t0" "$t1")") ;;
      esac
    done
  done
  local mq mt mc
  mq=$(median "${q[@]}"); mt=$(median "${t[@]}"); mc=$(median "${c[@]}")
  printf '%s: smbq/QUIC %5s MB/s (%s)  smbq/TCP %5s MB/s (%s)  smbclient %5s MB/s (%s)\n' \
    "$dir" "$mq" "${q[*]}" "$mt" "${t[*]}" "$mc" "${c[*]}"
  printf '%s: QUIC/TCP %s (goal >= 0.60)  smbq-QUIC/smbclient %s  smbq-TCP/smbclient %s\n' \
    "$dir" "$(ratio "$mq" "$mt")" "$(ratio "$mq" "$mc")" "$(ratio "$mt" "$mc")"
}

echo "== throughput: ${SIZE_MB} MiB, signed, loopback, ${ROUNDS} rounds, median =="
bench_xfer get
bench_xfer put

echo
echo "== connection set-up, median of ${CONNECTS} (connect = transport + NEGOTIATE + SESSION_SETUP) =="
export_example_env
export SMBQ_TRANSPORT=quic
echo "-- loopback"
"$BENCH_CONNECT" "$H" "$CONNECTS"
fixture_relay --delay-ms "$DELAY_MS"
export SMBQ_QUIC_PORT=$SMBQ_TEST_QUIC_PORT
rtt=$((2 * DELAY_MS))
echo "-- QUIC through udp_relay, ${DELAY_MS} ms each way (RTT ${rtt} ms + loopback)"
"$BENCH_CONNECT" "$H" "$CONNECTS" "$rtt" quic
