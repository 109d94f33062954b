#!/usr/bin/env bash
# smbq doctor against smbd (TCP) and the QUIC front: every step passes on
# a healthy setup, then each failure is injected and must show up as the
# right ✗ line (or ! for a certificate about to expire) with the exit
# status of its kind: unresolvable name, TCP dropped (nftables, a table
# of our own matching only our runs' group, removed on exit), TCP
# refused, nothing on the QUIC port, expired / wrong-name / self-signed /
# untrusted certificates, a client certificate required but not given,
# a wrong password, a missing share.
set -euo pipefail
SMBQ_TRANSPORT=quic # the fixture starts the QUIC front as well as smbd
export -n SMBQ_TRANSPORT
. "$(dirname "$0")/fixture.sh"
fixture_skip_unless_root
fixture_need_tools nft setpriv
unset SMBQ_USER SMBQ_PORT SMBQ_QUIC_PORT SMBQ_CA_FILE
fixture_start

TABLE=smbq_doctor_$$
GID=$((40000 + $$ % 20000)) # our doctor runs' group; nft matches it
cleanup() {
  nft delete table inet "$TABLE" 2>/dev/null || true
  fixture_cleanup
}
trap cleanup EXIT
nft add table inet "$TABLE"
nft add chain inet "$TABLE" out \
  "{ type filter hook output priority 0; policy accept; }"

export LC_ALL=C.UTF-8
H=fsedge1.smbq.test
P=$SMBQ_TEST_PKI
TP=$SMBQ_TEST_PORT
export SMBQ_CONFIG=$SMBQ_TEST_DIR/smbq.conf
# conf [LINES...]: the server's section, plus LINES
conf() {
  {
    echo "[server $H]"
    echo "address = 127.0.0.1"
    echo "port = $TP"
    echo "quic_port = $QP"
    echo "ca_file = $P/ca.pem"
    printf '%s\n' "$@"
  } >"$SMBQ_CONFIG"
}
# front CERT [FRONT OPTIONS...]: restart the QUIC front, default config
front() {
  kill "$FIXTURE_FRONT_PID" 2>/dev/null || true
  wait "$FIXTURE_FRONT_PID" 2>/dev/null || true
  fixture_front "$TP" "$@"
  QP=$SMBQ_TEST_QUIC_PORT
  conf
}
doc() { # smbq doctor in our group
  setpriv --regid "$GID" --clear-groups -- "$SMBQ" -U "$SMBQ_TEST_USER" \
    doctor "$@"
}
# line MARK TITLE PATTERN: the output has that step line
line() {
  grep -qE "^$1 $2 +.*$3" "$SMBQ_TEST_DIR/out" ||
    fail "no '$1 $2 .*$3' line in:
$(cat "$SMBQ_TEST_DIR/out")"
}
no_line() { # no_line PATTERN
  ! grep -qE "$1" "$SMBQ_TEST_DIR/out" ||
    fail "unexpected '$1' in:
$(cat "$SMBQ_TEST_DIR/out")"
}
summary() { # summary PATTERN
  grep -qE "$1" "$SMBQ_TEST_DIR/out" ||
    fail "summary is not '$1':
$(cat "$SMBQ_TEST_DIR/out")"
}
URL=//$H/share

# 1. All green (a certificate far from expiry).
front longlived
expect_rc 0 doc "$URL"
for t in "name resolution" "TCP port" "QUIC handshake" "server certificate" \
  "client certificate" "SMB over TCP" "SMB over QUIC" authentication share; do
  line ✓ "$t" ""
done
line ✓ "name resolution" "$H → 127.0.0.1 \(address from $SMBQ_CONFIG:2"
line ✓ "QUIC handshake" "TLS1.3, .*ALPN smb"
line ✓ "server certificate" "CN=fsedge1.smbq.test, issued by CN=smbq test CA"
line ✓ "SMB over TCP" "SMB 3.1.1; signing AES-128-GMAC"
line ✓ authentication \
  "NTLMv2 logon as $SMBQ_TEST_USER accepted over TCP and QUIC"
grep -q "SHA-256 [0-9A-F:]\{95\}" "$SMBQ_TEST_DIR/out" || fail "no SHA-256"
no_line "✗|^!"
summary "^9 passed, 0 warnings, 0 failed, 0 skipped$"
echo "ok all green"

# Without a UTF-8 locale: ASCII marks.
LC_ALL=C expect_rc 0 doc "$URL"
line "\[ok\]  " "TCP port" "accepts connections"
echo "ok ASCII marks"

# 2. The name does not resolve: every later step is skipped.
expect_rc 5 doc //nosuch.invalid/share
line ✗ "name resolution" "cannot resolve nosuch.invalid"
grep -q "fix: .*address = IP in \[server nosuch.invalid\]" \
  "$SMBQ_TEST_DIR/out" || fail "no fix for the name"
line - "QUIC handshake" "skipped because the name does not resolve"
summary "first failure: name resolution \(exit status 5\)"
echo "ok unresolvable name"

# 3. TCP silently dropped: TCP fails after 3 s, QUIC still works.
nft add rule inet "$TABLE" out oifname lo meta skgid "$GID" tcp dport "$TP" drop
expect_rc 5 doc "$URL"
nft flush chain inet "$TABLE" out
line ✗ "TCP port" \
  "no answer from 127.0.0.1:$TP within 3 s: packets to TCP $TP are dropped"
line - "SMB over TCP" "skipped because TCP port $TP is not reachable"
line ✓ "QUIC handshake" "ALPN smb"
line ✓ authentication "accepted over QUIC"
line ✓ share "opened over QUIC"
summary "first failure: TCP port \(exit status 5\)"
echo "ok TCP dropped"

# 4. TCP refused: nothing listens on the port.
conf "port = $(fixture_free_port)"
expect_rc 5 doc "$URL"
line ✗ "TCP port" "refused the connection: nothing listens"
echo "ok TCP refused"

# 5. Nothing on the QUIC port.
conf "quic_port = $(fixture_free_port)"
start=$(date +%s)
expect_rc 5 doc "$URL"
[ $(($(date +%s) - start)) -le 12 ] || fail "QUIC silence took too long"
line ✗ "QUIC handshake" "no QUIC answer from $H on UDP port"
# nothing listens: the ICMP port unreachable says so at once (a firewall
# that drops UDP silently still gets "let UDP ... through")
grep -q "fix: check quic_port" "$SMBQ_TEST_DIR/out" || fail "no fix for UDP"
line - "server certificate" "skipped because the QUIC handshake failed"
line - "SMB over QUIC" "skipped because the QUIC handshake failed"
line ✓ "SMB over TCP" "SMB 3.1.1"
echo "ok nothing on the QUIC port"

# 6. Certificates: each refusal on the certificate line, exit 6.
cert_case() { # cert_case CERT PATTERN [CONF LINES...]
  local cert=$1 pattern=$2
  shift 2
  front "$cert"
  [ $# -eq 0 ] || conf "$@"
  expect_rc 6 doc "$URL"
  line ✓ "QUIC handshake" "answers"
  line ✗ "server certificate" "$pattern"
  line - "client certificate" \
    "skipped because the server certificate was refused"
  line ✓ authentication "accepted over TCP"
  summary "first failure: server certificate \(exit status 6\)"
  echo "ok certificate: $cert"
}
cert_case expired "expired on 2021-01-01"
cert_case wrongname "not valid for name $H \(SAN: other.smbq.test\)"
cert_case selfsigned "is self-signed"
grep -q "fix: trust it explicitly" "$SMBQ_TEST_DIR/out" || fail "no fix"
# the CA is not trusted: a config without ca_file
cert_case server "untrusted CA" "ca_file ="
grep -q "fix: trust the issuing CA: ca_file" "$SMBQ_TEST_DIR/out" ||
  fail "no fix for the CA"

# 7. A certificate that expires within 30 days: a warning, exit 0.
front soon
expect_rc 0 doc "$URL"
line ! "server certificate" "expires [0-9-]+ [0-9:]+ UTC: in (9|10) days"
grep -q "fix: renew it before then; .*new SHA-256" "$SMBQ_TEST_DIR/out" ||
  fail "no advice about the renewal"
summary "^8 passed, 1 warning, 0 failed, 0 skipped$"
echo "ok certificate expiring soon"

# 8. The server requires a client certificate; none given, then one.
front server --client-ca "$P/ca.pem" --require-client-cert
expect_rc 6 doc "$URL"
line ✓ "server certificate" "accepted"
line ✗ "client certificate" "requires a client certificate"
grep -q "fix: .*client_cert = FILE .* in \[server $H\]" "$SMBQ_TEST_DIR/out" ||
  fail "no fix for the client certificate"
line - "SMB over QUIC" "skipped because the QUIC handshake failed"
summary "first failure: client certificate \(exit status 6\)"
conf "client_cert = $P/client.pem" "client_key = $P/client.key"
expect_rc 0 doc "$URL"
line ✓ "client certificate" "$P/client.pem \(from $SMBQ_CONFIG:6\): sent"
echo "ok client certificate required"

# 9. Wrong password; 10. missing share.
front longlived
SMBQ_PASSWORD=wrong expect_rc 3 doc "$URL"
line ✗ authentication "logon failure for user '$SMBQ_TEST_USER'"
line - share "skipped because no session was set up"
summary "first failure: authentication \(exit status 3\)"
echo "ok wrong password"
expect_rc 4 doc "//$H/nosuch"
line ✗ share "nosuch"
grep -q "fix: list the shares the server has: smbq shares //$H" \
  "$SMBQ_TEST_DIR/out" || fail "no fix for the share"
echo "ok missing share"

# 11. QUIC disabled by policy: auto skips QUIC; transport quic fails.
conf "transport = auto"
printf '[global]\nquic = off\n' >>"$SMBQ_CONFIG"
expect_rc 0 doc "$URL"
line - "QUIC handshake" "skipped because QUIC is disabled by policy"
conf "transport = quic"
printf '[global]\nquic = off\n' >>"$SMBQ_CONFIG"
expect_rc 3 doc "$URL"
line ✗ "QUIC handshake" "QUIC is disabled by policy"
line - "TCP port" "skipped because transport = quic \($SMBQ_CONFIG:6\)"
echo "ok QUIC policy"
echo PASS
