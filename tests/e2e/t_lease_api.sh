#!/usr/bin/env bash
# Leases through the public API (lease_test.c), two clients on one share:
# grants, one key per file, the handle cache, breaks with held-back data
# written before the acknowledgement, HANDLE breaks.
# Usage: t_lease_api.sh LEASE_TEST_BINARY lease|oplock
#   oplock: the server leases nothing ("smb2 leases = no"): the same
#   cases through batch oplocks.
# The leasing server grants the durable handles we ask for (Samba's
# default); the oplock-only one grants none ("durable handles = no").
set -euo pipefail
. "$(dirname "$0")/fixture.sh"
mode=$2
if [ "$mode" = oplock ]; then
  fixture_start "smb2 leases = no" "durable handles = no"
else
  fixture_start
fi
export_example_env
"$1" "$SMBQ_TEST_HOST" share "$SMBQ_TEST_SHAREDIR" "$mode"

# smbq stat -v shows what an open of the file is granted
printf 'x' >"$SMBQ_TEST_SHAREDIR/v.txt"
chown "$SMBQ_TEST_USER" "$SMBQ_TEST_SHAREDIR/v.txt"
expect_rc 0 sq -v stat "$(url share v.txt)"
if [ "$mode" = oplock ]; then
  grep -q '^ Lease: RWH (oplock)$' "$SMBQ_TEST_DIR/out" &&
    grep -q '^Durable: no$' "$SMBQ_TEST_DIR/out" ||
    fail "stat -v: $(cat "$SMBQ_TEST_DIR/out")"
else
  grep -qE '^ Lease: RH \(v2\)$' "$SMBQ_TEST_DIR/out" &&
    grep -qE '^Durable: v2, kept [0-9]+ ms for a reconnect$' "$SMBQ_TEST_DIR/out" ||
    fail "stat -v: $(cat "$SMBQ_TEST_DIR/out")"
fi
expect_rc 0 sq -v --json stat "$(url share v.txt)"
python3 - "$SMBQ_TEST_DIR/out" "$mode" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
want = 0 if sys.argv[2] == "oplock" else 2
assert s["durable"] == want and s["lease"] in ("RH", "RWH"), s
PY
echo "ok stat -v"
