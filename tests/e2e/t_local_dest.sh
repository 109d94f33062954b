#!/usr/bin/env bash
# Local destinations of smbq get and smbq cp: nothing that is not a regular
# file we were asked to write is ever replaced. A device node (a private
# one made with mknod, not the system's) and a FIFO are written in place
# and stay what they were; a link to a file is written through (the link
# stays); a regular file keeps its mode and owner; "-" is standard output;
# a dangling link, a socket and a directory are refused with the path and
# the cause; a link planted at NAME.smbq-part is not followed; the
# temporary file goes when the copy fails (disk full) and when smbq is
# interrupted (SIGINT, SIGTERM), leaving the old file untouched.
set -euo pipefail
. "$(dirname "$0")/fixture.sh"
fixture_skip_unless_root
fixture_start
trap 'kill ${BG:-} 2>/dev/null || true; umount "$SMALL" 2>/dev/null || true; fixture_cleanup' EXIT
W=$SMBQ_TEST_DIR/work
SMALL=$W/small
mkdir -p "$W"
ERR=$SMBQ_TEST_DIR/err
head -c 3000000 /dev/urandom >"$W/src"
server_put "$W/src" f.bin
F=$(url share f.bin)

# kind PATH: the file type as stat(1) names it
kind() { stat -c %F "$1"; }
no_part() { # no_part DIR: no temporary file left in DIR
  local left
  left=$(find "$1" -name '*.smbq-part' | head -3)
  [ -z "$left" ] || fail "temporary files left: $left"
}

# (a) a character device: written, not replaced (1,3 is the null device)
mknod "$W/nulldev" c 1 3
for cmd in get cp; do
  expect_rc 0 sq "$cmd" "$F" "$W/nulldev"
  [ "$(kind "$W/nulldev")" = "character special file" ] ||
    fail "$cmd replaced the device node with a $(kind "$W/nulldev")"
  [ "$(stat -c %t,%T "$W/nulldev")" = "1,3" ] || fail "device numbers changed"
done
no_part "$W"
echo "ok device node"

# (b) a FIFO: the bytes go to its reader, the FIFO stays
mkfifo "$W/fifo"
for cmd in get cp; do
  cat "$W/fifo" >"$W/from_fifo" &
  BG=$!
  expect_rc 0 sq "$cmd" "$F" "$W/fifo"
  wait "$BG"
  BG=
  [ -p "$W/fifo" ] || fail "$cmd replaced the FIFO"
  same_file "$W/src" "$W/from_fifo"
done
no_part "$W"
echo "ok fifo"

# (c) a link to a file: the file it names gets the copy, keeping its mode
# and owner; the link stays a link
printf old >"$W/target"
chmod 640 "$W/target"
chown 4321:4322 "$W/target"
ln -s target "$W/link"
for cmd in get cp; do
  expect_rc 0 sq "$cmd" "$F" "$W/link"
  [ -L "$W/link" ] || fail "$cmd replaced the link"
  [ "$(readlink "$W/link")" = target ] || fail "the link changed"
  same_file "$W/src" "$W/target"
  [ "$(stat -c %a:%u:%g "$W/target")" = "640:4321:4322" ] ||
    fail "$cmd changed mode/owner to $(stat -c %a:%u:%g "$W/target")"
  printf old >"$W/target"
done
no_part "$W"
echo "ok link to a file"

# (d) a regular file keeps its mode (and owner, as root)
printf old >"$W/plain"
chmod 604 "$W/plain"
chown 4321:4322 "$W/plain"
for cmd in get cp; do
  expect_rc 0 sq "$cmd" "$F" "$W/plain"
  same_file "$W/src" "$W/plain"
  [ "$(stat -c %a:%u:%g "$W/plain")" = "604:4321:4322" ] ||
    fail "$cmd: mode/owner now $(stat -c %a:%u:%g "$W/plain")"
done
echo "ok mode and owner kept"

# (e) "-" is standard output
sq get "$F" - >"$W/out.get" || fail "get to - failed"
same_file "$W/src" "$W/out.get"
sq cp "$F" - >"$W/out.cp" || fail "cp to - failed"
same_file "$W/src" "$W/out.cp"
[ ! -e ./-.smbq-part ] && [ ! -e ./- ] || fail "a file named - was made"
echo "ok standard output"

# (f) refused, named, nothing touched: a dangling link, a socket, a
# directory where the file would go
ln -s missing "$W/dangling"
for cmd in get cp; do
  expect_rc 4 sq "$cmd" "$F" "$W/dangling"
  expect_stderr "dangling|missing file"
  expect_stderr "$W/dangling"
  [ -L "$W/dangling" ] && [ ! -e "$W/missing" ] || fail "$cmd wrote through a dangling link"
done
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$W/sock"
for cmd in get cp; do
  expect_rc 1 sq "$cmd" "$F" "$W/sock"
  expect_stderr "$W/sock.*socket"
  [ -S "$W/sock" ] || fail "$cmd replaced the socket"
done
mkdir -p "$W/tree/f.bin"
for cmd in get cp; do # into the directory tree, where f.bin is a directory
  expect_rc 1 sq "$cmd" "$F" "$W/tree"
  expect_stderr "$W/tree/f.bin.*is a directory"
  [ -d "$W/tree/f.bin" ] || fail "$cmd replaced a directory"
done
no_part "$W"
echo "ok refused"

# (g) a link planted at the temporary name is not followed
printf victim >"$W/victim"
ln -s victim "$W/dest.smbq-part"
expect_rc 0 sq get "$F" "$W/dest"
[ "$(cat "$W/victim")" = victim ] || fail "the planted link was followed"
same_file "$W/src" "$W/dest"
mkfifo "$W/dest2.smbq-part"
expect_rc 1 sq get "$F" "$W/dest2"
expect_stderr "dest2.smbq-part.*not a regular file"
[ -p "$W/dest2.smbq-part" ] || fail "get replaced a FIFO at the temporary name"
rm "$W/dest2.smbq-part"
echo "ok temporary name"

# (h) disk full: an error naming the file, the old file untouched, no
# temporary file left
mkdir -p "$SMALL"
mount -t tmpfs -o size=1m tmpfs "$SMALL"
printf old >"$SMALL/dest"
for cmd in get cp; do
  expect_rc 1 sq "$cmd" "$F" "$SMALL/dest"
  expect_stderr "$SMALL/dest.*(space|full)"
  [ "$(cat "$SMALL/dest")" = old ] || fail "$cmd changed the old file"
  no_part "$SMALL"
done
umount "$SMALL"
echo "ok disk full"

# (i) interrupted: SIGINT and SIGTERM remove the temporary file (on a slow
# path: 40 ms each way over QUIC, about 3 MB/s over TCP)
head -c $((48 * 1024 * 1024)) /dev/urandom >"$W/big"
server_put "$W/big" big.bin
# Background jobs of a script start with SIGINT ignored (and smbq, as
# cp(1), leaves an ignored signal ignored): give smbq the default back.
dfl_int() {
  exec python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])' "$@"
}
if [ "${SMBQ_TRANSPORT:-tcp}" = quic ]; then
  fixture_relay --delay-ms 40
  # shellcheck disable=SC2046
  slow() { dfl_int "$SMBQ" -U "$SMBQ_TEST_USER" $(transport_opts) "$@"; }
else
  # and about 3 MB/s: 64 KiB per 20 ms window
  fixture_tcp_relay 127.0.0.1:0 --delay-ms 20 --max-queue 65536 ||
    fail "no TCP relay: $(cat "$FIXTURE_TCP_RELAY_LOG")"
  slow() { dfl_int "$SMBQ" -U "$SMBQ_TEST_USER" -t tcp -p "$FIXTURE_TCP_RELAY_PORT" "$@"; }
fi
for sig in INT TERM; do
  for cmd in get cp; do
    printf old >"$W/slow"
    slow "$cmd" "$(url share big.bin)" "$W/slow" 2>"$ERR" &
    BG=$!
    for _ in $(seq 1 400); do
      [ -s "$W/slow.smbq-part" ] && break
      sleep 0.02
    done
    [ -s "$W/slow.smbq-part" ] || fail "$cmd wrote nothing in 8 s: $(cat "$ERR")"
    # stopped first, so the signal surely lands mid-transfer
    kill -STOP "$BG"
    kill -"$sig" "$BG"
    kill -CONT "$BG"
    rc=0
    wait "$BG" || rc=$?
    BG=
    [ "$rc" -ne 0 ] || fail "$cmd finished before SIG$sig: make the path slower"
    [ ! -e "$W/slow.smbq-part" ] || fail "SIG$sig left $W/slow.smbq-part ($cmd)"
    [ "$(cat "$W/slow")" = old ] || fail "SIG$sig: $cmd changed the old file"
  done
done
echo "ok interrupted"
echo PASS
