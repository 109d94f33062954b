# A WAN between two network namespaces, for test scripts (sourced, bash).
#
#   wan_start DELAY_MS_ONE_WAY LOSS_PCT [RATE_MBIT]
#
# creates a client and a server namespace (names with $$ in them), joined
# by tests/wan/wan_emu ($SMBQ_WAN_EMU): every packet between them crosses
# it and gets DELAY_MS_ONE_WAY of delay and LOSS_PCT % random loss in each
# direction, and with RATE_MBIT a bottleneck of that rate with a drop-tail
# queue of one BDP. Addresses: client $WAN_CLI_ADDR (10.201.0.1), server
# $WAN_SRV_ADDR (10.201.0.2), on a TUN device "wan0" with MTU 1500 on each
# side; each namespace also has its own loopback (lo up). The addresses
# exist only inside the two namespaces, so they cannot clash with the
# host's routes, nor with another run's.
#
#   wan_cli CMD...   run CMD in the client namespace
#   wan_srv CMD...   run CMD in the server namespace
#   wan_set DELAY_MS_ONE_WAY LOSS_PCT [RATE_MBIT]   change the impairments
#                    of the running emulator (for packets from now on)
#   wan_rtt_ms [N]   the round trip client -> server in ms (best of N)
#   wan_stat KEY     one counter of the emulator (see wan_emu.c), e.g.
#                    wan_stat up_drop_loss (up: client -> server), as of
#                    its last write of them (every 100 ms while packets
#                    move); wan_stats_now first makes it write them now
#   wan_log          the emulator's log: its settings, and once it
#                    stopped, its counters
#   wan_dev_drops    packets the two TUN devices dropped themselves (their
#                    TX queues overflowed: losses the emulator never saw)
#   wan_expose_udp PORT   make the server's 127.0.0.1:PORT (UDP) reachable
#                    as $WAN_SRV_ADDR:PORT from the client (for a server
#                    that binds loopback only, such as tests/quic/quic_front)
#   wan_stop         stop the emulator (by PID) and delete the namespaces;
#                    runs from the EXIT trap wan_start sets
#
# wan_start skips the script (exit 77, saying why) when it is not root, or
# when TUN devices, network namespaces or nftables are unavailable.
# WAN_SEED=N fixes the emulator's loss pattern. The WAN_* variables are
# exported, so a script that runs itself again inside the server namespace
# (ip netns exec "$WAN_SRV_NS" bash "$0") can use wan_cli, wan_set and
# wan_stat from there; only the process that ran wan_start stops the WAN.
# For a command in the background, call ip netns exec yourself: wan_cli in
# the background is a subshell, and $! would not be the command's PID.
# In the server namespace TCP is not connection-tracked (nftables notrack:
# no work, nor window checks, added to TCP's path); UDP is, for the port
# mapping of wan_expose_udp.

WAN_CLI_ADDR=10.201.0.1
WAN_SRV_ADDR=10.201.0.2
WAN_DEV=wan0

# The emulator binary: $SMBQ_WAN_EMU, else the one next to $SMBQ's build.
wan_emu_path() {
  if [ -n "${SMBQ_WAN_EMU:-}" ]; then
    echo "$SMBQ_WAN_EMU"
  elif [ -n "${SMBQ:-}" ]; then
    echo "$(cd "$(dirname "$SMBQ")/.." && pwd)/tests/wan/wan_emu"
  else
    echo "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/tests/wan/wan_emu"
  fi
}

# Skip (exit 77) unless this machine can run the WAN at all.
wan_need() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: the WAN emulator needs root (network namespaces, TUN)"
    exit 77
  fi
  local tool
  for tool in ip nft; do
    command -v "$tool" >/dev/null || {
      echo "SKIP: $tool is not installed (iproute2, nftables)"
      exit 77
    }
  done
  if [ ! -c /dev/net/tun ]; then
    echo "SKIP: /dev/net/tun is missing (no TUN support in this kernel)"
    exit 77
  fi
}

# The arguments of wan_emu (or lines of its control file) for
# DELAY LOSS [RATE]: one setting per line.
wan_settings() {
  echo "delay-ms $1"
  echo "loss $2"
  echo "rate-mbit ${3:-0}"
}

wan_start() { # wan_start DELAY_MS_ONE_WAY LOSS_PCT [RATE_MBIT]
  wan_need
  WAN_EMU_BIN=$(wan_emu_path)
  [ -x "$WAN_EMU_BIN" ] || {
    echo "FAIL: the WAN emulator is not built at $WAN_EMU_BIN" \
      "(build tests/wan, or set SMBQ_WAN_EMU)" >&2
    exit 1
  }
  WAN_DIR=$(mktemp -d /tmp/smbq-wan.XXXXXX)
  WAN_CLI_NS=smbqwan-$$-cli
  WAN_SRV_NS=smbqwan-$$-srv
  WAN_OWNER=$BASHPID
  trap wan_stop EXIT
  local ns
  for ns in "$WAN_CLI_NS" "$WAN_SRV_NS"; do
    if ! ip netns add "$ns" 2>"$WAN_DIR/err"; then
      echo "SKIP: cannot create a network namespace: $(cat "$WAN_DIR/err")"
      exit 77
    fi
    WAN_NS_MADE+=("$ns")
  done
  wan_settings "$@" >"$WAN_DIR/control"
  local args=()
  mapfile -t args < <(wan_settings "$@" | sed 's/^/--/; s/ /\n/')
  "$WAN_EMU_BIN" --client-ns "$WAN_CLI_NS" --server-ns "$WAN_SRV_NS" \
    --ready-file "$WAN_DIR/ready" --stats-file "$WAN_DIR/stats" \
    --control "$WAN_DIR/control" ${WAN_SEED:+--seed "$WAN_SEED"} "${args[@]}" \
    2>"$WAN_DIR/emu.log" &
  WAN_EMU_PID=$!
  for _ in $(seq 1 100); do
    [ -s "$WAN_DIR/ready" ] && break
    kill -0 "$WAN_EMU_PID" 2>/dev/null || break
    sleep 0.05
  done
  if [ ! -s "$WAN_DIR/ready" ]; then
    if grep -q 'TUNSETIFF\|/dev/net/tun' "$WAN_DIR/emu.log"; then
      echo "SKIP: cannot create TUN devices: $(tail -1 "$WAN_DIR/emu.log")"
      exit 77
    fi
    echo "FAIL: wan_emu did not start: $(cat "$WAN_DIR/emu.log")" >&2
    exit 1
  fi
  # Addresses and routes. No IPv6: router solicitations and the like would
  # only add packets to the counters. A deep TX queue on the devices, so
  # that a burst waiting for the emulator to read it is not dropped there.
  wan_setup_side "$WAN_CLI_NS" "$WAN_CLI_ADDR" || exit 1
  wan_setup_side "$WAN_SRV_NS" "$WAN_SRV_ADDR" || exit 1
  # The server may bind loopback only (wan_expose_udp): the server
  # namespace accepts and sends packets for 127.0.0.1 on the TUN device.
  ip netns exec "$WAN_SRV_NS" sysctl -qw net.ipv4.conf.all.route_localnet=1 \
    "net.ipv4.conf.$WAN_DEV.route_localnet=1" || exit 1
  # No connection tracking for TCP: it would only add work to TCP's path
  # (and, under loss, judge segments out of window); UDP needs it for the
  # port mapping of wan_expose_udp.
  ip netns exec "$WAN_SRV_NS" nft -f - <<EOF || {
table ip smbqwan {
  chain raw_pre { type filter hook prerouting priority raw; ip protocol tcp notrack; }
  chain raw_out { type filter hook output priority raw; ip protocol tcp notrack; }
  chain nat_pre { type nat hook prerouting priority dstnat; }
}
EOF
    echo "SKIP: nftables does not work in a network namespace here"
    exit 77
  }
  # the path works: a round trip across it
  wan_rtt_ms 3 >"$WAN_DIR/rtt" 2>&1 || {
    echo "FAIL: no round trip across the WAN: $(cat "$WAN_DIR/rtt")" >&2
    exit 1
  }
  export WAN_CLI_NS WAN_SRV_NS WAN_DIR WAN_EMU_PID WAN_CLI_ADDR WAN_SRV_ADDR \
    WAN_DEV
}

wan_setup_side() { # wan_setup_side NS ADDR
  local ns=$1 addr=$2
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
    net.ipv6.conf.default.disable_ipv6=1 "net.ipv6.conf.$WAN_DEV.disable_ipv6=1" &&
    ip -n "$ns" link set lo up &&
    ip -n "$ns" link set "$WAN_DEV" txqueuelen 10000 &&
    ip -n "$ns" addr add "$addr/24" dev "$WAN_DEV"
}

wan_cli() { ip netns exec "${WAN_CLI_NS:?wan_start first}" "$@"; }
wan_srv() { ip netns exec "${WAN_SRV_NS:?wan_start first}" "$@"; }

# The round-trip time client -> server in ms, the smallest of N (default 3)
# tries: a TCP SYN to a closed port of the server, answered by a RST (no
# ping needed, no server). Fails if no try got an answer within 3 s (with
# loss, one may not).
wan_rtt_ms() { # wan_rtt_ms [N]
  wan_cli python3 - "$WAN_SRV_ADDR" "${1:-3}" <<'PY'
import socket, sys, time
best = None
for _ in range(int(sys.argv[2])):
    s = socket.socket()
    s.settimeout(3)
    t0 = time.monotonic()
    try:
        s.connect((sys.argv[1], 9))
    except ConnectionRefusedError:
        ms = (time.monotonic() - t0) * 1000
        best = ms if best is None else min(best, ms)
    except OSError:
        pass
    finally:
        s.close()
if best is None:
    sys.exit("no answer from %s" % sys.argv[1])
print("%.1f" % best)
PY
}

wan_stat() { # wan_stat KEY: a counter of the emulator, 0 before the first
  local v
  v=$(sed -n "s/^$1=//p" "$WAN_DIR/stats" 2>/dev/null || true)
  echo "${v:-0}"
}

# Ask the emulator for fresh counters (SIGUSR1) and wait until it wrote
# them; returns 1 if it did not within 2 s.
wan_stats_now() {
  local before
  before=$(wan_stat stats_seq)
  kill -USR1 "$WAN_EMU_PID" 2>/dev/null || return 1
  for _ in $(seq 1 40); do
    [ "$(wan_stat stats_seq)" != "$before" ] && return 0
    sleep 0.05
  done
  return 1
}

wan_set() { # wan_set DELAY_MS_ONE_WAY LOSS_PCT [RATE_MBIT]
  local gen fails
  gen=$(wan_stat config_gen)
  fails=$(wan_stat config_failures)
  wan_settings "$@" >"$WAN_DIR/control.tmp"
  mv "$WAN_DIR/control.tmp" "$WAN_DIR/control"
  kill -HUP "$WAN_EMU_PID" || return 1
  for _ in $(seq 1 100); do
    [ "$(wan_stat config_failures)" = "$fails" ] || {
      echo "wan_set $*: the emulator refused it: $(tail -2 "$WAN_DIR/emu.log")" >&2
      return 1
    }
    [ "$(wan_stat config_gen)" = "$gen" ] || return 0
    sleep 0.02
  done
  echo "wan_set $*: the emulator did not answer" >&2
  return 1
}

wan_dev_drops() { # TX drops of both TUN devices together
  local n=0 ns d
  for ns in "$WAN_CLI_NS" "$WAN_SRV_NS"; do
    d=$(ip netns exec "$ns" cat "/sys/class/net/$WAN_DEV/statistics/tx_dropped" 2>/dev/null || echo 0)
    n=$((n + d))
  done
  echo "$n"
}

wan_expose_udp() { # wan_expose_udp PORT
  ip netns exec "$WAN_SRV_NS" nft add rule ip smbqwan nat_pre \
    iifname "$WAN_DEV" ip daddr "$WAN_SRV_ADDR" udp dport "$1" \
    dnat to "127.0.0.1:$1"
}

# The emulator's log: its settings and, once stopped, its counters.
wan_log() { cat "$WAN_DIR/emu.log" 2>/dev/null || true; }

# Run "$@" (this script again: wan_run_inner "$0" "$@") inside the server
# namespace with WAN_INNER=1, and exit with its status. It runs in the
# background so that a signal reaches us at once; on the way out it is
# stopped first (its EXIT trap stops its fixture), then the WAN, and a
# second signal does not cut that short. (ip netns exec directly, not
# wan_srv: a function in the background would be a subshell, and its PID
# not that of the inner run.)
wan_run_inner() {
  WAN_INNER_PID=
  trap wan_outer_exit EXIT
  trap 'exit 130' INT TERM
  WAN_INNER=1 ip netns exec "$WAN_SRV_NS" bash "$@" &
  WAN_INNER_PID=$!
  local rc=0
  wait "$WAN_INNER_PID" || rc=$?
  WAN_INNER_PID=
  exit "$rc"
}

wan_outer_exit() {
  trap '' INT TERM
  if [ -n "${WAN_INNER_PID:-}" ]; then
    kill "$WAN_INNER_PID" 2>/dev/null || true
    wait "$WAN_INNER_PID" 2>/dev/null || true
  fi
  wan_stop
}

wan_stop() {
  # only the process that started the WAN stops it (not a subshell, not
  # the script run again inside the server namespace)
  [ "${WAN_OWNER:-}" = "$BASHPID" ] || return 0
  if [ -n "${WAN_EMU_PID:-}" ]; then
    kill "$WAN_EMU_PID" 2>/dev/null || true
    wait "$WAN_EMU_PID" 2>/dev/null || true
    WAN_EMU_PID=
  fi
  local ns
  for ns in ${WAN_NS_MADE[@]+"${WAN_NS_MADE[@]}"}; do
    ip netns del "$ns" 2>/dev/null || true
  done
  WAN_NS_MADE=()
  if [ -n "${WAN_DIR:-}" ] && [ -d "$WAN_DIR" ] && [ -z "${WAN_KEEP_DIR:-}" ]; then
    rm -rf "$WAN_DIR"
  fi
}
