#!/usr/bin/env bash
# A server that maps unknown users to guest must not get a silent guest
# session: smbq refuses it as an authentication failure.
set -euo pipefail
. "$(dirname "$0")/fixture.sh"
fixture_start "map to guest = bad user" "guest account = nobody"
expect_rc 3 sq_as nosuchuser ls "$(url share)"
expect_stderr "guest"
echo "PASS"
