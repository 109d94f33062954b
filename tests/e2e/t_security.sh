#!/usr/bin/env bash
# Signing-required server, encryption-required share, --encrypt.
set -euo pipefail
. "$(dirname "$0")/fixture.sh"
fixture_start "server signing = mandatory"
W=$SMBQ_TEST_DIR/work
mkdir -p "$W"
head -c 300000 /dev/urandom >"$W/f"

info() { # info SHARE [opts] -> prints json
  sq info --json "$@" >"$W/info.json"
}
field() { python3 -c "import json; print(json.load(open('$W/info.json'))['$1'])"; }

info "$(url share)"
[ "$(field signing_required)" = True ] || fail "server requires signing, info says not"
[ "$(field signing)" != none ] || fail "signing not in use on a signing-required server"
[ "$(field encryption)" = none ] || fail "plain share should not be encrypted"
[ "$(field dialect)" = 3.1.1 ] || fail "expected 3.1.1"
[ "$(field auth)" = NTLMv2 ] || fail "expected NTLMv2"
[ "$(field transport)" = "${SMBQ_TRANSPORT:-tcp}" ] || fail "wrong transport"

info "$(url enc)"
[ "$(field encryption)" != none ] || fail "enc share must be encrypted"
expect_rc 0 sq put "$W/f" "$(url enc f)"
same_file "$W/f" "$SMBQ_TEST_ENCDIR/f"
expect_rc 0 sq get "$(url enc f)" "$W/g"
same_file "$W/f" "$W/g"

info --encrypt "$(url share)"
[ "$(field encryption)" != none ] || fail "--encrypt did not encrypt"
expect_rc 0 sq --encrypt put "$W/f" "$(url share f)"
same_file "$W/f" "$SMBQ_TEST_SHAREDIR/f"
echo "PASS"
