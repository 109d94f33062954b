#!/usr/bin/env bash
# Malformed server replies give a clear error, never a crash or a hang; a
# server that accepts the connection (or completes the QUIC handshake) and
# then never answers NEGOTIATE fails within the connect timeout, naming
# the step.
set -euo pipefail
SMBQ_TEST_DIR=$(mktemp -d /tmp/smbq-hostile.XXXXXX)
. "$(dirname "$0")/fixture.sh"
trap 'kill $SRV 2>/dev/null || true; fixture_cleanup' EXIT
export SMBQ_PASSWORD=x
check() { # check MODE WANT_RC STDERR_PATTERN
  local pf=$SMBQ_TEST_DIR/port.$1
  python3 "$(dirname "$0")/bad_server.py" "$1" "$pf" &
  SRV=$!
  for _ in $(seq 1 100); do [ -s "$pf" ] && break; sleep 0.05; done
  if [ "${SMBQ_TRANSPORT:-tcp}" = quic ]; then
    # the same hostile bytes, carried inside QUIC by the front
    fixture_front "$(cat "$pf")" server
    expect_rc "$2" timeout 20 "$SMBQ" -U u -t quic \
      --quic-port "$SMBQ_TEST_QUIC_PORT" --ca-file "$SMBQ_TEST_PKI/ca.pem" \
      --resolve fsedge1.smbq.test:127.0.0.1 ls //fsedge1.smbq.test/share
  else
    expect_rc "$2" timeout 20 "$SMBQ" -U u -p "$(cat "$pf")" ls //127.0.0.1/share
  fi
  expect_stderr "$3"
  kill $SRV 2>/dev/null || true
  wait $SRV 2>/dev/null || true
  if [ -n "${FIXTURE_FRONT_PID:-}" ]; then
    kill "$FIXTURE_FRONT_PID" 2>/dev/null || true
    wait "$FIXTURE_FRONT_PID" 2>/dev/null || true
    FIXTURE_FRONT_PID=
  fi
  echo "ok $1"
}
check garbage 1 "not an SMB2 message"
check truncated 1 "malformed"
check badoffset 1 "malformed"
check hugeframe 1 "size limit"
check nbss 1 "Direct-TCP"
check close 5 "closed the (connection|QUIC stream)"
start=$(date +%s)
check silent 5 "did not answer NEGOTIATE"
took=$(($(date +%s) - start))
[ "$took" -lt 25 ] || fail "a silent server kept smbq waiting ${took} s"
echo PASS
