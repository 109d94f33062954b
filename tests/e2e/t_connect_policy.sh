#!/usr/bin/env bash
# The connect policy of `-t auto`, against smbd (TCP) and the QUIC front:
#  - TCP reachable: auto uses TCP, and the transport cache says so;
#  - TCP silently dropped: auto races QUIC after the 250 ms head start and
#    a whole `ls` finishes over QUIC within 1 s; the cache then says quic
#    and the next run starts with QUIC (even once TCP is back);
#  - TCP refused: auto falls back to QUIC at once;
#  - --no-quic: TCP only (no UDP sent), -t quic refused by policy, and a
#    --quic-exception server may still use QUIC.
# Dropping uses an nftables table of our own that matches only packets of
# the smbq runs here (a group id of their own: the QUIC front relays to the
# same smbd port and must not be cut off). Removed on exit, even on failure.
set -euo pipefail
. "$(dirname "$0")/fixture.sh"
fixture_skip_unless_root
fixture_need_tools nft setpriv
SMBQ_TRANSPORT=quic fixture_start

TABLE=smbq_test_$$
GID=$((40000 + $$ % 20000)) # the group our smbq runs use; nft matches it
cleanup() {
  nft delete table inet "$TABLE" 2>/dev/null || true
  fixture_cleanup
}
trap cleanup EXIT
nft add table inet "$TABLE"
nft add chain inet "$TABLE" out \
  "{ type filter hook output priority 0; policy accept; }"

TP=$SMBQ_TEST_PORT
QP=$SMBQ_TEST_QUIC_PORT
CACHE=$SMBQ_TEST_DIR/transports
URL=//fsedge1.smbq.test/share
echo hello >"$SMBQ_TEST_SHAREDIR/hello.txt"
chown "$SMBQ_TEST_USER" "$SMBQ_TEST_SHAREDIR/hello.txt"

# smbq in our group, reaching fsedge1.smbq.test over TCP $TP or QUIC $QP
a() {
  setpriv --regid "$GID" --clear-groups -- "$SMBQ" -U "$SMBQ_TEST_USER" \
    -p "$TP" --quic-port "$QP" --ca-file "$SMBQ_TEST_PKI/ca.pem" \
    --resolve fsedge1.smbq.test:127.0.0.1 "$@"
}
drop_tcp() {
  nft add rule inet "$TABLE" out oifname lo meta skgid "$GID" \
    tcp dport "$TP" drop
}
count_udp() { # count_udp PORT: count what our smbq runs send there
  nft add rule inet "$TABLE" out oifname lo meta skgid "$GID" \
    udp dport "$1" counter
}
udp_packets() {
  nft list chain inet "$TABLE" out | sed -n 's/.*udp dport.*packets \([0-9]*\).*/\1/p'
}
undrop() { nft flush chain inet "$TABLE" out; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# timed_ls EXPECTED_TRANSPORT ARGS...: a verbose ls; sets ELAPSED (ms)
timed_ls() {
  local want=$1 t0
  shift
  t0=$(now_ms)
  expect_rc 0 a -v "$@" ls "$URL"
  ELAPSED=$(($(now_ms) - t0))
  grep -q "hello.txt" "$SMBQ_TEST_DIR/out" || fail "ls output: $(cat "$SMBQ_TEST_DIR/out")"
  expect_stderr "over $want:"
}
cache_says() { # cache_says tcp|quic
  grep -qx "fsedge1.smbq.test $TP $QP $1" "$CACHE" ||
    fail "cache does not say $1: $(cat "$CACHE" 2>/dev/null)"
}

# 1. TCP reachable: auto uses TCP and remembers it.
timed_ls tcp -t auto --transport-cache "$CACHE"
cache_says tcp
echo "ok auto over reachable TCP (${ELAPSED} ms)"

# 2. TCP silently dropped: QUIC after the head start, whole ls within 1 s.
drop_tcp
timed_ls quic -t auto --transport-cache "$CACHE"
first_ms=$ELAPSED
[ "$first_ms" -le 1000 ] || fail "auto with TCP dropped took ${first_ms} ms"
cache_says quic
echo "ok auto with TCP dropped: over QUIC in ${first_ms} ms"

# 3. Second run: the cache puts QUIC first (no head start to wait out).
timed_ls quic -t auto --transport-cache "$CACHE"
second_ms=$ELAPSED
[ "$second_ms" -le 1000 ] || fail "cached auto took ${second_ms} ms"
[ "$(grep -vc '^#' "$CACHE")" -eq 1 ] || fail "cache: $(cat "$CACHE")"
echo "ok cached auto with TCP dropped: over QUIC in ${second_ms} ms"
undrop
# QUIC first even with TCP reachable: it connects well within the head start
timed_ls quic -t auto --transport-cache "$CACHE"
echo "ok cached auto prefers QUIC with TCP reachable (${ELAPSED} ms)"

# 4. TCP refused (nothing listens there): QUIC at once, no head start.
free_tcp=$(fixture_free_port)
t0=$(now_ms)
expect_rc 0 a -v -t auto -p "$free_tcp" --no-transport-cache ls "$URL"
refused_ms=$(($(now_ms) - t0))
expect_stderr "over quic:"
[ "$refused_ms" -le 1000 ] || fail "auto with TCP refused took ${refused_ms} ms"
echo "ok auto with TCP refused: over QUIC in ${refused_ms} ms"

# Both fail: the message names both causes, and the exit code follows the
# more telling one: 6 for the certificate (no --ca-file for the test CA).
expect_rc 6 "$SMBQ" -U "$SMBQ_TEST_USER" -t auto -p "$free_tcp" \
  --quic-port "$QP" --resolve fsedge1.smbq.test:127.0.0.1 \
  --no-transport-cache ls "$URL"
expect_stderr "TCP connection to .* refused.*; then over QUIC: .*untrusted CA"
echo "ok both failing: certificate error wins, both causes named"

# A QUIC attempt that loses is dropped cleanly (the ASan build checks for
# leaks): QUIC goes to a silent UDP port, so it is still handshaking when
# TCP's retransmitted SYN (about 1 s in) gets through once the drop is
# lifted after the head start.
silent_udp=$(fixture_free_port)
count_udp "$silent_udp"
drop_tcp
(sleep 0.6 && nft delete rule inet "$TABLE" out handle "$(nft -a list chain \
  inet "$TABLE" out | sed -n 's/.*tcp dport.*drop # handle \([0-9]*\)/\1/p')") &
lifter=$!
expect_rc 0 a -v -t auto --quic-port "$silent_udp" --no-transport-cache ls "$URL"
wait "$lifter"
expect_stderr "over tcp:"
[ "$(udp_packets)" -gt 0 ] || fail "QUIC was never started"
undrop
echo "ok a QUIC attempt that lost the race was discarded"

# A garbled cache file is ignored and rewritten.
printf 'garbage\x01\n\xff\xfe not a line\nfsedge1.smbq.test 0 0 quic\n' >"$CACHE"
timed_ls tcp -t auto --transport-cache "$CACHE"
cache_says tcp
grep -q garbage "$CACHE" && fail "garbage kept in the cache"
echo "ok garbled cache ignored and rewritten"

# 5. --no-quic with TCP dropped: the TCP error, and not one UDP packet.
drop_tcp
count_udp "$QP"
t0=$(now_ms)
expect_rc 5 a -t auto --no-quic --transport-cache "$CACHE" ls "$URL"
echo "  (--no-quic with TCP dropped failed after $(($(now_ms) - t0)) ms)"
expect_stderr "TCP connection to .* failed: Connection timed out"
if grep -q "over QUIC" "$SMBQ_TEST_DIR/err"; then
  fail "--no-quic tried QUIC: $(cat "$SMBQ_TEST_DIR/err")"
fi
[ "$(udp_packets)" = 0 ] || fail "--no-quic sent $(udp_packets) UDP packets"
undrop
echo "ok --no-quic never tries QUIC"

# 6. --no-quic -t quic: refused by policy, at once, with the way out.
expect_rc 3 a -t quic --no-quic ls "$URL"
expect_stderr "QUIC is disabled by policy.*--quic-exception fsedge1.smbq.test"
echo "ok --no-quic -t quic refused"

# 7. ... unless the server is on the exception list (any case).
expect_rc 0 a -v -t quic --no-quic --quic-exception FSEdge1.smbq.test ls "$URL"
expect_stderr "over quic:"
echo "ok --quic-exception allows QUIC"

# Only the first dropped-TCP run waits out the head start.
[ "$second_ms" -lt "$first_ms" ] && [ "$refused_ms" -lt "$first_ms" ] ||
  fail "no head start saved: first ${first_ms} ms, cached ${second_ms} ms, refused ${refused_ms} ms"
echo "timings: dropped-TCP first ${first_ms} ms, cached ${second_ms} ms, refused-TCP ${refused_ms} ms"
echo PASS
