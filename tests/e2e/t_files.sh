#!/usr/bin/env bash
# File commands against the share: ls, stat, cat, get, put, rm, mkdir,
# rmdir, mv, odd sizes, unicode names, --json output.
set -euo pipefail
. "$(dirname "$0")/fixture.sh"
fixture_start
S=$SMBQ_TEST_SHAREDIR
W=$SMBQ_TEST_DIR/work
mkdir -p "$W"

# listing reflects what the server directory holds
mkdir "$S/sub"
head -c 12345 /dev/urandom >"$W/f1" && server_put "$W/f1" f1.bin
chown -R "$SMBQ_TEST_USER" "$S"
expect_rc 0 sq ls "$(url share)"
grep -q ' f1.bin$' "$SMBQ_TEST_DIR/out" || fail "ls lacks f1.bin"
grep -q ' sub/$' "$SMBQ_TEST_DIR/out" || fail "ls lacks sub/"
expect_rc 0 sq ls --json "$(url share)"
python3 - "$SMBQ_TEST_DIR/out" "$S" <<'PY' || fail "ls --json does not match the server"
import json, os, sys
entries = {e["name"]: e for e in json.load(open(sys.argv[1]))}
on_disk = set(os.listdir(sys.argv[2]))
assert set(entries) == on_disk, (set(entries), on_disk)
assert entries["f1.bin"]["size"] == os.path.getsize(os.path.join(sys.argv[2], "f1.bin"))
assert entries["f1.bin"]["type"] == "file" and entries["sub"]["type"] == "dir"
assert abs(entries["f1.bin"]["mtime"] - os.path.getmtime(os.path.join(sys.argv[2], "f1.bin"))) < 2
PY

# stat
expect_rc 0 sq stat --json "$(url share f1.bin)"
python3 -c "import json,sys; d=json.load(open('$SMBQ_TEST_DIR/out')); assert d['size']==12345 and d['type']=='file', d" ||
  fail "stat --json wrong"
expect_rc 0 sq stat --json "$(url share sub)"
grep -q '"type":"dir"' "$SMBQ_TEST_DIR/out" || fail "stat of a dir is not dir"

# cat and get to stdout
sq cat "$(url share f1.bin)" >"$W/cat.out"
same_file "$W/f1" "$W/cat.out"
sq get "$(url share f1.bin)" - >"$W/dash.out"
same_file "$W/f1" "$W/dash.out"

# put/get round trips of edge sizes
for size in 0 1 65535 65536 65537 1048577 8388609; do
  head -c "$size" /dev/urandom >"$W/s$size"
  expect_rc 0 sq put "$W/s$size" "$(url share "s$size")"
  same_file "$W/s$size" "$S/s$size"
  expect_rc 0 sq get "$(url share "s$size")" "$W/g$size"
  same_file "$W/s$size" "$W/g$size"
done
# put and cp end with FLUSH (one request more), unless --no-flush; the
# bytes are there either way
reqs() { sed -n 's/.*requests: \([0-9]*\),.*/\1/p' "$SMBQ_TEST_DIR/err"; }
for cmd in put cp; do
  expect_rc 0 sq -v "$cmd" "$W/s65537" "$(url share "f_$cmd")"
  with=$(reqs)
  same_file "$W/s65537" "$S/f_$cmd"
  expect_rc 0 sq -v --no-flush "$cmd" "$W/s1048577" "$(url share "f_$cmd")"
  without=$(reqs)
  same_file "$W/s1048577" "$S/f_$cmd"
  expect_rc 0 sq -v --no-flush "$cmd" "$W/s65537" "$(url share "f_$cmd")"
  [ "$(reqs)" -eq $((with - 1)) ] ||
    fail "$cmd --no-flush: $(reqs) requests, with FLUSH $with (expected one less)"
  [ -n "$without" ] || fail "no request count from -v"
done
# get without LOCAL uses the basename, in the current directory
(cd "$W" && rm -f s1 && sq get "$(url share s1)") && same_file "$W/s1" "$S/s1"
# put into a directory keeps the local name
expect_rc 0 sq put "$W/s1" "$(url share sub)"
same_file "$W/s1" "$S/sub/s1"

# unicode names
U="résumé-日本-😀.txt"
printf 'unicode\n' >"$W/$U"
expect_rc 0 sq put "$W/$U" "$(url share "$U")"
[ -f "$S/$U" ] || fail "unicode name not stored as UTF-8 on the server"
expect_rc 0 sq ls "$(url share)"
grep -qF "$U" "$SMBQ_TEST_DIR/out" || fail "ls lost the unicode name"

# mkdir / rmdir / mv / rm, checked on the server
expect_rc 0 sq mkdir "$(url share newdir)"
[ -d "$S/newdir" ] || fail "mkdir did not create the directory"
expect_rc 0 sq mv "$(url share f1.bin)" "$(url share newdir/moved.bin)"
[ -f "$S/newdir/moved.bin" ] && [ ! -e "$S/f1.bin" ] || fail "mv did not move"
expect_rc 1 sq rmdir "$(url share newdir)"
expect_stderr "not empty"
expect_rc 0 sq rm "$(url share newdir/moved.bin)"
[ ! -e "$S/newdir/moved.bin" ] || fail "rm did not remove"
expect_rc 0 sq rmdir "$(url share newdir)"
[ ! -e "$S/newdir" ] || fail "rmdir did not remove"
# backslash UNC and smb:// URLs name the same file
expect_rc 0 sq cat "\\\\$SMBQ_TEST_HOST\\share\\s1"
if [ "${SMBQ_TRANSPORT:-tcp}" = tcp ]; then
  expect_rc 0 "$SMBQ" cat "smb://$SMBQ_TEST_USER@$SMBQ_TEST_HOST:$SMBQ_TEST_PORT/share/s1"
else
  expect_rc 0 sq cat "smb://$SMBQ_TEST_USER@$SMBQ_TEST_HOST/share/s1"
fi
# -v reports the negotiated connection on stderr, output unchanged
expect_rc 0 sq -v cat "$(url share s1)"
expect_stderr "over ${SMBQ_TRANSPORT:-tcp}: SMB 3.1.1, signing AES-128-GMAC"
echo "PASS"
