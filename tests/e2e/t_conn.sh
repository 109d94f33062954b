#!/usr/bin/env bash
# The connection-level API end to end: events, TLS session resumption
# and QUIC connection migration in mid-transfer (TCP: what applies).
# Usage: t_conn.sh CONN_TEST_BINARY
set -euo pipefail
. "$(dirname "$0")/fixture.sh"
fixture_start
export_example_env
"$1" "$SMBQ_TEST_HOST" share "$SMBQ_TEST_SHAREDIR"
