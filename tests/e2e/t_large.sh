#!/usr/bin/env bash
# Large put/get round trip, byte-exact, on the plain and the encrypted
# share. Usage: t_large.sh MIB (64 as e2e_*_large, 1024 as *_large_1g).
set -euo pipefail
. "$(dirname "$0")/fixture.sh"
MB=${1:-64}
# The file exists up to four times at once (source, share, enc share, copy
# back): skip, saying so, where /tmp lacks the room.
need_mb=$((MB * 4 + 512))
free_mb=$(df -Pm /tmp | awk 'NR == 2 {print $4}')
if [ "$free_mb" -lt "$need_mb" ]; then
  echo "SKIP: the ${MB} MiB case needs ${need_mb} MiB free in /tmp, only ${free_mb} MiB here"
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
