#!/usr/bin/env bash
# Bad input gets the documented exit code and a message naming the cause.
set -euo pipefail
. "$(dirname "$0")/fixture.sh"
fixture_start
expect_rc 0 sq ls "$(url share)"
SMBQ_PASSWORD=wrong-password expect_rc 3 sq ls "$(url share)"
expect_stderr "logon failure|wrong user name or password"
expect_rc 4 sq ls "$(url nosuchshare)"
expect_stderr "does not exist"
expect_rc 4 sq get "$(url share nosuchfile)" "$SMBQ_TEST_DIR/x"
expect_stderr "not found"
[ ! -e "$SMBQ_TEST_DIR/x" ] && [ ! -e "$SMBQ_TEST_DIR/x.smbq-part" ] ||
  fail "a failed get left a file behind"
port=$(fixture_free_port)
if [ "${SMBQ_TRANSPORT:-tcp}" = quic ]; then
  # UDP to a port where nothing listens: a bounded wait, then a clear error
  start=$(date +%s)
  expect_rc 5 "$SMBQ" -U "$SMBQ_TEST_USER" -t quic --quic-port "$port" \
    --ca-file "$SMBQ_TEST_PKI/ca.pem" --resolve fsedge1.smbq.test:127.0.0.1 \
    ls "$(url share)"
  expect_stderr "no QUIC answer.*UDP"
  [ $(($(date +%s) - start)) -le 15 ] || fail "QUIC timeout took too long"
else
  expect_rc 5 "$SMBQ" -U "$SMBQ_TEST_USER" -t tcp -p "$port" ls "$(url share)"
  expect_stderr "refused"
fi
expect_rc 5 sq ls //no-such-host.invalid/share
expect_stderr "resolve"
expect_rc 2 "$SMBQ" frobnicate
expect_rc 2 "$SMBQ" ls
expect_rc 2 "$SMBQ" ls not-a-url
expect_rc 2 "$SMBQ" --port 99999 ls "$(url share)"
# password file readable by others is refused
pf=$SMBQ_TEST_DIR/pw
printf '%s\n' "$SMBQ_PASSWORD" >"$pf"
chmod 644 "$pf"
expect_rc 2 sq --password-file "$pf" ls "$(url share)"
expect_stderr "readable by others"
chmod 600 "$pf"
SMBQ_PASSWORD= expect_rc 0 sq --password-file "$pf" ls "$(url share)"
echo "PASS"
