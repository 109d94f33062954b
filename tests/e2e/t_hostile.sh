#!/usr/bin/env bash
# Malformed server replies give a clear error, never a crash or a hang; a
# server that accepts the connection (or completes the QUIC handshake) and
# then never answers NEGOTIATE fails within the connect timeout, naming
# the step.
#
# Over QUIC also hostile QUIC servers (quic_front --hostile MODE): after
# the handshake garbage, a truncated frame, frame headers claiming 2 GiB
# and 16 MiB, silence, a stream reset, an application CONNECTION_CLOSE, a
# stateless reset; and certificate chains too large and too long. Each
# ends within 25 s with the exit code of smbq(1) and a message naming the
# cause. Those cases do not exist over TCP and are not run there.
set -euo pipefail
SMBQ_TEST_DIR=$(mktemp -d /tmp/smbq-hostile.XXXXXX)
. "$(dirname "$0")/fixture.sh"
trap 'kill $SRV 2>/dev/null || true; fixture_cleanup' EXIT
export SMBQ_PASSWORD=x
# as fixture_start does: no smbq.conf, no transport cache outside the test
export SMBQ_CONFIG=/dev/null XDG_CACHE_HOME=$SMBQ_TEST_DIR/xdg-cache
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

if [ "${SMBQ_TRANSPORT:-tcp}" != quic ]; then
  echo "# the QUIC-level hostile servers are QUIC only: not run over TCP"
  echo PASS
  exit 0
fi

# A certificate chain of ~100 KiB and one of 21 certificates, from the
# test CA (tests/quic/certs.sh)
fixture_pki
bash "$(dirname "$0")/../quic/certs.sh" "$SMBQ_TEST_PKI" bigchain

qcheck() { # qcheck MODE WANT_RC STDERR_PATTERN [CERT]
  local mode=$1 cert=${4:-server}
  local pf=$SMBQ_TEST_DIR/qport.$mode.$cert log=$SMBQ_TEST_DIR/front.$mode.log
  rm -f "$pf"
  "$SMBQ_QUIC_FRONT" --cert "$SMBQ_TEST_PKI/$cert.pem" \
    --key "$SMBQ_TEST_PKI/$cert.key" --hostile "$mode" --port-file "$pf" \
    >"$log" 2>&1 &
  FIXTURE_FRONT_PID=$!
  for _ in $(seq 1 100); do [ -s "$pf" ] && break; sleep 0.05; done
  [ -s "$pf" ] || fail "quic_front --hostile $mode did not start: $(cat "$log")"
  local t0=$SECONDS
  # timeout 40: a hang shows as 124, not as the exit code we want
  expect_rc "$2" timeout 40 "$SMBQ" -U u -t quic --quic-port "$(cat "$pf")" \
    --ca-file "$SMBQ_TEST_PKI/ca.pem" \
    --resolve fsedge1.smbq.test:127.0.0.1 ls //fsedge1.smbq.test/share
  local took=$((SECONDS - t0))
  expect_stderr "$3"
  [ "$took" -lt 25 ] || fail "hostile QUIC server ($mode) kept smbq ${took} s"
  kill "$FIXTURE_FRONT_PID" 2>/dev/null || true
  wait "$FIXTURE_FRONT_PID" 2>/dev/null || true
  FIXTURE_FRONT_PID=
  echo "ok quic $mode${4:+ (certificate $4)} (${took} s)"
}
qcheck garbage 1 "bad Direct-TCP frame header \(48 54 54 50\): the server does not speak SMB2"
qcheck truncated 5 "closed the QUIC stream inside a message: its last message is truncated \(68 of 200 bytes\)"
qcheck huge 1 "bad Direct-TCP frame header \(80 00 00 00\)"
qcheck huge16m 1 "exceeds the size limit"
qcheck silent 5 "did not answer NEGOTIATE"
qcheck reset 5 "reset the QUIC stream \(application error 0x1bad\)"
qcheck appclose 5 "closed the connection with application error 0x1bad: hostile test server: go away"
# the reason phrase came with an escape sequence: it must not reach the
# terminal
if grep -q $'\x1b' "$SMBQ_TEST_DIR/err"; then
  fail "the server's reason phrase reached stderr with its escape sequence"
fi
qcheck statelessreset 5 "stateless reset"
grep -q "stateless reset" "$SMBQ_TEST_DIR/front.statelessreset.log" ||
  fail "quic_front sent no stateless reset: $(cat "$SMBQ_TEST_DIR/front.statelessreset.log")"
qcheck bigchain 6 "certificate chain too large" bigchain
qcheck bigchain 6 "certificate chain from fsedge1.smbq.test is too long" longchain
echo PASS
