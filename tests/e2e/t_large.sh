#!/usr/bin/env bash
# Large put/get round trip, byte-exact: 64 MiB by default, or
# SMBQ_E2E_SIZE_MB (the 1 GiB case runs as t_large_1g).
set -euo pipefail
. "$(dirname "$0")/fixture.sh"
MB=${1:-64}
if [ "$MB" -ge 1024 ] && [ "${SMBQ_E2E_LARGE:-0}" != 1 ]; then
  echo "SKIP: the ${MB} MiB case runs only with SMBQ_E2E_LARGE=1"
  exit 77
fi
fixture_start
W=$SMBQ_TEST_DIR/work
mkdir -p "$W"
head -c $((MB * 1024 * 1024)) /dev/urandom >"$W/big"
for share in share enc; do
  expect_rc 0 sq put "$W/big" "$(url $share big)"
  dir=$SMBQ_TEST_SHAREDIR
  [ $share = enc ] && dir=$SMBQ_TEST_ENCDIR
  same_file "$W/big" "$dir/big"
  expect_rc 0 sq get "$(url $share big)" "$W/back"
  same_file "$W/big" "$W/back"
  rm -f "$W/back" "$dir/big"
done
echo "PASS"
