#!/usr/bin/env bash
# Malformed server replies give a clear error, never a crash or a hang.
set -euo pipefail
SMBQ_TEST_DIR=$(mktemp -d /tmp/smbq-hostile.XXXXXX)
trap 'kill $SRV 2>/dev/null || true; rm -rf "$SMBQ_TEST_DIR"' EXIT
. "$(dirname "$0")/fixture.sh"
export SMBQ_PASSWORD=x
check() { # check MODE WANT_RC STDERR_PATTERN
  local pf=$SMBQ_TEST_DIR/port.$1
  python3 "$(dirname "$0")/bad_server.py" "$1" "$pf" &
  SRV=$!
  for _ in $(seq 1 100); do [ -s "$pf" ] && break; sleep 0.05; done
  expect_rc "$2" timeout 20 "$SMBQ" -U u -p "$(cat "$pf")" ls //127.0.0.1/share
  expect_stderr "$3"
  kill $SRV 2>/dev/null || true
  wait $SRV 2>/dev/null || true
  echo "ok $1"
}
check garbage 1 "not an SMB2 message"
check truncated 1 "malformed"
check badoffset 1 "malformed"
check hugeframe 1 "size limit"
check nbss 1 "Direct-TCP"
check close 5 "closed the connection"
echo PASS
