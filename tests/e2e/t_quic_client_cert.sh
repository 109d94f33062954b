#!/usr/bin/env bash
# QUIC client access control: a front that requires a client certificate
# (and filters it by SHA-256 allow/deny lists) admits exactly the
# certificates it should, the refusals say what to change and exit 6, and
# per-server certificate mappings in the library pick the right one.
# Usage: t_quic_client_cert.sh CERT_MAP_TEST_BINARY
set -euo pipefail
SMBQ_TRANSPORT=quic
. "$(dirname "$0")/fixture.sh"
MAPTEST=$1
fixture_start # smbd and a front without client certificate checks
stop_front() {
  kill "$FIXTURE_FRONT_PID" 2>/dev/null || true
  wait "$FIXTURE_FRONT_PID" 2>/dev/null || true
  FIXTURE_FRONT_PID=
}
front() { # front FRONT_OPTIONS...: restart the front with these options
  stop_front
  fixture_front "$SMBQ_TEST_PORT" server --client-ca "$P/ca.pem" \
    --require-client-cert "$@"
}
P=$SMBQ_TEST_PKI
fp() { certtool --fingerprint --hash sha256 --infile "$1" 2>/dev/null; }
C1=(--client-cert "$P/client.pem" --client-key "$P/client.key")
C2=(--client-cert "$P/client2.pem" --client-key "$P/client2.key")

front
expect_rc 6 sq ls "$(url share)"
expect_stderr "requires a client certificate.*--client-cert"
expect_rc 0 sq "${C1[@]}" ls "$(url share)"
expect_rc 0 sq "${C2[@]}" ls "$(url share)"
echo "ok required: refused without, admitted with a certificate from the CA"

front --deny "$(fp "$P/client.pem")"
expect_rc 6 sq "${C1[@]}" ls "$(url share)"
expect_stderr "refused our client certificate"
expect_rc 0 sq "${C2[@]}" ls "$(url share)"
echo "ok deny list"

front --allow "$(fp "$P/client2.pem")"
expect_rc 6 sq "${C1[@]}" ls "$(url share)"
expect_stderr "refused our client certificate"
expect_rc 0 sq "${C2[@]}" ls "$(url share)"
echo "ok allow list"

# per-server mappings: the mapping for this server wins over the default
export_example_env
H=fsedge1.smbq.test
expect_rc 0 "$MAPTEST" $H default "$P/client.pem" "$P/client.key" \
  map FSEDGE1.smbq.test "$P/client2.pem" "$P/client2.key"
expect_rc 6 "$MAPTEST" $H default "$P/client.pem" "$P/client.key" \
  map other.smbq.test "$P/client2.pem" "$P/client2.key"
expect_rc 6 "$MAPTEST" $H map $H "$P/client.pem" "$P/client.key"
echo "ok per-server mappings"
echo PASS
