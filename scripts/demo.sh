#!/usr/bin/env bash
# The quick-start demo: install what is missing, build, start a throw-away
# Samba server on loopback with a demo share and, in front of it, the test
# QUIC front end (TLS 1.3 with a throw-away CA, ALPN "smb", as a Windows
# Server 2025 SMB over QUIC endpoint), then use smbq against both: info,
# ls, get, put, stat over TCP and over QUIC. Everything is removed at the
# end. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
export SMBQ_TRANSPORT=quic SMBQ_QUIC_FRONT=$PWD/build/tests/quic/quic_front
. tests/e2e/fixture.sh
fixture_start
SMBQ=$PWD/build/cli/smbq
printf 'Quarterly numbers\n' >"$SMBQ_TEST_SHAREDIR/report.txt"
mkdir -p "$SMBQ_TEST_SHAREDIR/photos"
head -c 50000000 /dev/urandom >"$SMBQ_TEST_SHAREDIR/photos/big.raw"
chown -R "$SMBQ_TEST_USER" "$SMBQ_TEST_SHAREDIR"
H=fsedge1.smbq.test
U="//$H/share"
# the demo host name resolves to loopback; QUIC trusts the demo CA
COMMON=(-U "$SMBQ_TEST_USER" -p "$SMBQ_TEST_PORT"
  --quic-port "$SMBQ_TEST_QUIC_PORT" --ca-file "$SMBQ_TEST_PKI/ca.pem"
  --resolve "$H:127.0.0.1" --no-transport-cache)
run() {
  echo
  echo "\$ smbq $*"
  "$SMBQ" "${COMMON[@]}" "$@"
}
echo "Samba serves $U on TCP port $SMBQ_TEST_PORT; the QUIC front serves it"
echo "on UDP port $SMBQ_TEST_QUIC_PORT (user $SMBQ_TEST_USER)."
run -t quic info "$U"
run -t tcp ls "$U"
run -t quic ls "$U/photos"
run -t quic get "$U/photos/big.raw" "$SMBQ_TEST_DIR/big.raw"
cmp "$SMBQ_TEST_DIR/big.raw" "$SMBQ_TEST_SHAREDIR/photos/big.raw" &&
  echo "(downloaded copy is byte-identical)"
run -t quic cat "$U/report.txt"
printf 'uploaded by smbq\n' >"$SMBQ_TEST_DIR/note.txt"
run -t quic put "$SMBQ_TEST_DIR/note.txt" "$U/note.txt"
run -t tcp stat "$U/note.txt"
run -v -t auto ls "$U"
run -t tcp --encrypt info "$U"
echo
echo "Done; the demo servers and their files are removed now."
