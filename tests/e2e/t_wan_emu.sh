#!/usr/bin/env bash
# The packet-level WAN emulator (tests/wan) works end to end: smbd (and,
# over QUIC, the front) in a server network namespace, smbq in a client
# namespace, every packet between them through wan_emu at 20 ms RTT and
# 1 % loss each way (a fixed seed: the same packets are lost each run).
# Checks that the round trip is at least 20 ms (a TCP SYN answered by a RST,
# and `smbq -v ls`: its time over its round trips), that `smbq get` and
# `smbq put` of 8 MiB are byte-exact, and from the emulator's counters that
# the transfers crossed it and that it dropped packets for loss both ways.
# Skips (77) where TUN devices or network namespaces are unavailable.
# SMBQ_WAN_EMU: the emulator (default: tests/wan/wan_emu of $SMBQ's build).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../wan/wan_env.sh"
MB=8

if [ -z "${WAN_INNER:-}" ]; then
  # the loss pattern is fixed; WAN_SEED may replay another one
  WAN_SEED=${WAN_SEED:-1}
  wan_start 10 1
  wan_run_inner "$0" "$@" # the rest, in the server namespace
fi

# ---- inside the server namespace ---------------------------------------------

. "$here/fixture.sh"
# ip netns exec made a mount namespace: other tests' FUSE mounts in it
fixture_drop_foreign_mounts
# smbd on every address of this namespace (the later line wins)
fixture_start "bind interfaces only = no"
# the fixture's EXIT trap, kept from being cut short by a second signal
# (outer_exit sends one)
trap 'trap "" INT TERM; fixture_cleanup' EXIT
trap 'exit 130' INT TERM
H=fsedge1.smbq.test
if [ "${SMBQ_TRANSPORT:-tcp}" = quic ]; then
  wan_expose_udp "$SMBQ_TEST_QUIC_PORT"
  OPTS=(-t quic --quic-port "$SMBQ_TEST_QUIC_PORT" --ca-file "$SMBQ_TEST_PKI/ca.pem")
else
  OPTS=(-t tcp -p "$SMBQ_TEST_PORT")
fi
# smbq in the client namespace, reaching the server's WAN address
wq() {
  wan_cli timeout --foreground 30 "$SMBQ" -U "$SMBQ_TEST_USER" "${OPTS[@]}" \
    --resolve "$H:$WAN_SRV_ADDR" "$@"
}
W=$SMBQ_TEST_DIR/work
mkdir -p "$W"
head -c $((MB * 1024 * 1024)) /dev/urandom >"$W/big"

# 1. the round trip: the emulator's delay, and the path is no shortcut
rtt=$(wan_rtt_ms 5) || fail "no round trip across the WAN: $rtt"
awk -v r="$rtt" 'BEGIN { exit !(r >= 20) }' ||
  fail "round trip ${rtt} ms, expected at least 20 ms"
t0=$EPOCHREALTIME
expect_rc 0 wq -v ls "//$H/share"
t1=$EPOCHREALTIME
rts=$(sed -n 's/^.*round trips: \([0-9][0-9]*\).*/\1/p' "$SMBQ_TEST_DIR/err" | tail -1)
[ -n "$rts" ] || fail "smbq -v printed no round trips: $(cat "$SMBQ_TEST_DIR/err")"
per=$(awk -v a="$t0" -v b="$t1" -v n="$rts" 'BEGIN { printf "%.1f", (b - a) * 1000 / n }')
awk -v p="$per" 'BEGIN { exit !(p >= 20) }' ||
  fail "smbq ls took ${per} ms per round trip ($rts round trips), expected >= 20"
echo "ok round trip: ${rtt} ms (SYN/RST), smbq ls ${per} ms per round trip ($rts)"

# 2. put and get, byte-exact, across the lossy path
wan_stats_now || fail "wan_emu wrote no counters"
up0=$(wan_stat up_tx_bytes)
down0=$(wan_stat down_tx_bytes)
expect_rc 0 wq put "$W/big" "//$H/share/big"
same_file "$W/big" "$SMBQ_TEST_SHAREDIR/big"
echo "ok put ${MB} MiB"
expect_rc 0 wq get "//$H/share/big" "$W/back"
same_file "$W/big" "$W/back"
echo "ok get ${MB} MiB"

# 3. the emulator carried the transfers and dropped packets both ways
wan_stats_now || fail "wan_emu wrote no counters"
size=$((MB * 1024 * 1024))
[ $(($(wan_stat up_tx_bytes) - up0)) -ge "$size" ] ||
  fail "the put did not cross the emulator ($(($(wan_stat up_tx_bytes) - up0)) bytes up)"
[ $(($(wan_stat down_tx_bytes) - down0)) -ge "$size" ] ||
  fail "the get did not cross the emulator ($(($(wan_stat down_tx_bytes) - down0)) bytes down)"
for d in up down; do
  [ "$(wan_stat ${d}_drop_loss)" -gt 0 ] ||
    fail "the emulator dropped no packet for loss going $d: $(cat "$WAN_DIR/stats")"
  [ "$(wan_stat ${d}_drop_oversize)" -eq 0 ] ||
    fail "packets larger than the MTU reached the emulator going $d"
done
echo "ok emulator: up $(wan_stat up_rx_pkts) packets, $(wan_stat up_drop_loss) lost;" \
  "down $(wan_stat down_rx_pkts) packets, $(wan_stat down_drop_loss) lost;" \
  "TUN device drops $(wan_dev_drops)"
echo PASS
