#!/usr/bin/env bash
# Leases through the public API (lease_test.c), two clients on one share:
# grants, one key per file, the handle cache, breaks with held-back data
# written before the acknowledgement, HANDLE breaks.
# Usage: t_lease_api.sh LEASE_TEST_BINARY lease|oplock
#   oplock: the server leases nothing ("smb2 leases = no"): the same
#   cases through batch oplocks.
set -euo pipefail
. "$(dirname "$0")/fixture.sh"
mode=$2
if [ "$mode" = oplock ]; then
  fixture_start "smb2 leases = no"
else
  fixture_start
fi
export_example_env
"$1" "$SMBQ_TEST_HOST" share "$SMBQ_TEST_SHAREDIR" "$mode"
