#!/usr/bin/env bash
# The public API end to end: threads on one connection, async reads,
# metadata semantics, a directory of thousands of entries.
# Usage: t_api.sh API_TEST_BINARY
set -euo pipefail
. "$(dirname "$0")/fixture.sh"
fixture_start
SMBQ_MANY=3000
mkdir "$SMBQ_TEST_SHAREDIR/many"
for i in $(seq 1 $SMBQ_MANY); do printf 'abc' >"$SMBQ_TEST_SHAREDIR/many/file-$i"; done
chown -R "$SMBQ_TEST_USER" "$SMBQ_TEST_SHAREDIR"
export SMBQ_MANY
export_example_env
"$1" "$SMBQ_TEST_HOST" share "$SMBQ_TEST_SHAREDIR"
