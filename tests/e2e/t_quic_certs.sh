#!/usr/bin/env bash
# SMB over QUIC handshake checks: each bad certificate fails with its own
# message and the certificate exit code 6; a missing CA is refused; UDP to
# a silent port times out clearly.
set -euo pipefail
. "$(dirname "$0")/fixture.sh"
fixture_start
BACKEND=$SMBQ_TEST_PORT
q() { # q CA_ARGS... -- smbq args
  "$SMBQ" -U "$SMBQ_TEST_USER" -t quic --quic-port "$SMBQ_TEST_QUIC_PORT" \
    --resolve fsedge1.smbq.test:127.0.0.1 "$@"
}
stop_front() {
  kill "$FIXTURE_FRONT_PID" 2>/dev/null || true
  wait "$FIXTURE_FRONT_PID" 2>/dev/null || true
}
# under SMBQ_TRANSPORT=quic fixture_start has started a front already:
# each case here starts its own
[ -n "${FIXTURE_FRONT_PID:-}" ] && stop_front
fixture_front "$BACKEND" server
CA=$SMBQ_TEST_PKI/ca.pem
expect_rc 6 q info //fsedge1.smbq.test/share   # no --ca-file
expect_stderr "untrusted CA.*--ca-file"
stop_front
check() { # check CERT PATTERN
  fixture_front "$BACKEND" "$1"
  expect_rc 6 q --ca-file "$CA" info //fsedge1.smbq.test/share
  expect_stderr "$2"
  stop_front
  echo "ok $1"
}
check expired "expired on 2021-01-01"
check wrongname "not valid for name fsedge1.smbq.test \(SAN: other.smbq.test\)"
check wrongeku "not meant for server authentication"
check selfsigned "self-signed"
check cnonly "no subjectAltName"
# UDP to a port where nothing listens: bounded wait, clear error
port=$(fixture_free_port)
start=$(date +%s)
expect_rc 5 "$SMBQ" -U "$SMBQ_TEST_USER" -t quic --quic-port "$port" \
  --ca-file "$CA" --resolve fsedge1.smbq.test:127.0.0.1 ls //fsedge1.smbq.test/share
expect_stderr "no QUIC answer.*UDP"
[ $(($(date +%s) - start)) -le 15 ] || fail "QUIC timeout took too long"
echo PASS
