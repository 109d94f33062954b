#!/usr/bin/env bash
# One server max/min protocol: the negotiated dialect and a round trip.
# Usage: t_dialect.sh SMB2_02|SMB2_10|SMB3_00|SMB3_02|SMB3_11
set -euo pipefail
. "$(dirname "$0")/fixture.sh"
proto=$1
declare -A want=([SMB2_02]=2.0.2 [SMB2_10]=2.1 [SMB3_00]=3.0 [SMB3_02]=3.0.2 [SMB3_11]=3.1.1)
fixture_start "server min protocol = $proto" "server max protocol = $proto"
if [ "${SMBQ_TRANSPORT:-tcp}" = quic ] && [ "$proto" != SMB3_11 ]; then
  # SMB over QUIC carries dialect 3.1.1 only (MS-SMB2 2.1): a server that
  # stops below it is refused with a message that says so.
  expect_rc 5 sq ls "$(url share)"
  expect_stderr "does not offer SMB 3.1.1.*--transport tcp"
  echo "PASS"
  exit 0
fi
W=$SMBQ_TEST_DIR/work
mkdir -p "$W"
sq info --json "$(url share)" >"$W/info.json"
got=$(python3 -c "import json; print(json.load(open('$W/info.json'))['dialect'])")
[ "$got" = "${want[$proto]}" ] || fail "dialect $got, expected ${want[$proto]}"
head -c 3000000 /dev/urandom >"$W/f"
expect_rc 0 sq put "$W/f" "$(url share f)"
same_file "$W/f" "$SMBQ_TEST_SHAREDIR/f"
expect_rc 0 sq get "$(url share f)" "$W/g"
same_file "$W/f" "$W/g"
if [ "$got" = 2.0.2 ] || [ "$got" = 2.1 ]; then
  # SMB2 cannot encrypt: an encrypted share must be refused, not served
  # in clear
  expect_rc 4 sq ls "$(url enc)"
  expect_rc 5 sq --encrypt ls "$(url share)"
  expect_stderr "encryption"
else
  expect_rc 0 sq ls "$(url enc)"
fi
echo "PASS"
