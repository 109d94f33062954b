#!/usr/bin/env bash
# The quick-start demo: install what is missing, build, start a throw-away
# Samba server on loopback with a demo share, and use smbq against it:
# info, ls, get, put, stat. Everything is removed at the end. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
. tests/e2e/fixture.sh
fixture_start
SMBQ=$PWD/build/cli/smbq
printf 'Quarterly numbers\n' >"$SMBQ_TEST_SHAREDIR/report.txt"
mkdir -p "$SMBQ_TEST_SHAREDIR/photos"
head -c 50000000 /dev/urandom >"$SMBQ_TEST_SHAREDIR/photos/big.raw"
chown -R "$SMBQ_TEST_USER" "$SMBQ_TEST_SHAREDIR"
U="//127.0.0.1/share"
run() {
  echo
  echo "\$ smbq $*"
  "$SMBQ" -U "$SMBQ_TEST_USER" -p "$SMBQ_TEST_PORT" "$@"
}
echo "Samba is serving //127.0.0.1/share on port $SMBQ_TEST_PORT (user $SMBQ_TEST_USER)."
run info "$U"
run ls "$U"
run ls "$U/photos"
run get "$U/photos/big.raw" "$SMBQ_TEST_DIR/big.raw"
cmp "$SMBQ_TEST_DIR/big.raw" "$SMBQ_TEST_SHAREDIR/photos/big.raw" &&
  echo "(downloaded copy is byte-identical)"
run cat "$U/report.txt"
printf 'uploaded by smbq\n' >"$SMBQ_TEST_DIR/note.txt"
run put "$SMBQ_TEST_DIR/note.txt" "$U/note.txt"
run stat "$U/note.txt"
run --encrypt info "$U"
echo
echo "Done; the demo server and its files are removed now."
