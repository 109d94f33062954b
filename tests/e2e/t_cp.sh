#!/usr/bin/env bash
# smbq cp: trees up and down (-r), byte-exact with mtimes, several sources
# into a directory, cp(1) target rules, remote to remote, --resume after an
# interruption (hand-made partial copies and SIGKILL mid-transfer, both
# directions), skipping complete files, the progress bar on a terminal
# only, the --json summary, and per-file errors that do not stop the rest.
set -euo pipefail
. "$(dirname "$0")/fixture.sh"
fixture_start
S=$SMBQ_TEST_SHAREDIR
W=$SMBQ_TEST_DIR/work
T=$W/tree
OUT=$SMBQ_TEST_DIR/out
ERR=$SMBQ_TEST_DIR/err
mkdir -p "$W"

# The test tree: 300 small files (some empty, some with unicode names) in
# nested directories (one empty), two multi-MiB files, distinct mtimes.
python3 - "$T" <<'PY'
import os, random, sys
root = sys.argv[1]
rnd = random.Random(7)
dirs = ["", "a", "a/b", "a/b/c", "a/b/c/d/e", "dir ü", "dir ü/日本",
        "x y", "x y/z"]
for d in dirs:
    os.makedirs(os.path.join(root, d), exist_ok=True)
os.makedirs(os.path.join(root, "empty-dir"))
for i in range(300):
    name = f"f{i:03d}.txt" if i % 10 else f"résumé-日本-{i}-😀.txt"
    size = rnd.choice([0, 1, 100, 4095, 65536, 70001])
    with open(os.path.join(root, dirs[i % len(dirs)], name), "wb") as f:
        f.write(os.urandom(size))
for name, mib in (("big0.bin", 5), ("a/big1.bin", 9)):
    with open(os.path.join(root, name), "wb") as f:
        f.write(os.urandom(mib * 1024 * 1024 + 123))
t = 1600000000
for dp, dn, fn in os.walk(root, topdown=False):
    for n in sorted(fn) + sorted(dn):
        t += 37
        os.utime(os.path.join(dp, n), (t, t))
PY
NFILES=$(find "$T" -type f | wc -l)
NBYTES=$(find "$T" -type f -printf '%s\n' | awk '{s += $1} END {print s}')

# same_tree A B: same names, types and contents, same mtimes (whole
# seconds) for files and directories, and no .smbq-part left over.
same_tree() {
  diff -r "$1" "$2" >/dev/null || fail "$1 and $2 differ: $(diff -r "$1" "$2" | head -5)"
  python3 - "$1" "$2" <<'PY' || fail "mtimes of $1 and $2 differ"
import os, sys
a, b = sys.argv[1], sys.argv[2]
bad = []
for dp, dn, fn in os.walk(a):
    for n in dn + fn:
        pa = os.path.join(dp, n)
        pb = os.path.join(b, os.path.relpath(pa, a))
        if int(os.stat(pa).st_mtime) != int(os.stat(pb).st_mtime):
            bad.append(pb)
assert not bad, bad[:5]
PY
  [ -z "$(find "$2" -name '*.smbq-part')" ] || fail "a .smbq-part is left in $2"
}

json_get() { # json_get KEY: from the last --json summary in $OUT
  python3 -c "import json,sys; print(json.load(open('$OUT'))[sys.argv[1]])" "$1"
}

rate() { # the MB/s of the last --json summary, for the log
  python3 -c "import json; d=json.load(open('$OUT')); print('%d files, %.1f MB in %.2f s: %.1f MB/s' % (d['files'], d['bytes']/1e6, d['seconds'], d['mb_per_s']))"
}

# ---- a tree up and down ------------------------------------------------
expect_rc 0 sq cp -r --json "$T" "$(url share)"
[ ! -s "$ERR" ] || fail "cp printed on a pipe: $(cat "$ERR")"
echo "upload ($SMBQ_TRANSPORT): $(rate)"
same_tree "$T" "$S/tree"
python3 - "$OUT" "$NFILES" "$NBYTES" <<'PY' || fail "cp --json summary is wrong: $(cat "$OUT")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["files"] == int(sys.argv[2]) and d["bytes"] == int(sys.argv[3]), d
assert d["failed"] == 0 and d["skipped"] == 0 and d["errors"] == [], d
assert d["dirs"] == 11 and d["seconds"] > 0 and d["mb_per_s"] > 0, d
PY
chown -R "$SMBQ_TEST_USER" "$S"

expect_rc 0 sq cp -r --json "$(url share tree)" "$W/back"
echo "download ($SMBQ_TRANSPORT): $(rate)"
same_tree "$T" "$W/back"
[ "$(json_get files)" = "$NFILES" ] || fail "download counted $(json_get files) files"

# into an existing directory: DST/basename; a trailing slash on the
# source changes nothing (as cp); "dir/." copies the contents
mkdir "$W/into"
expect_rc 0 sq cp -r "$(url share tree/a/)" "$W/into"
same_tree "$T/a" "$W/into/a"
expect_rc 0 sq cp -r "$T/x y/." "$(url share xy-contents)"
same_tree "$T/x y" "$S/xy-contents"
expect_rc 0 sq cp -r "$(url share "tree/x y/.")" "$W/xy-contents"
same_tree "$T/x y" "$W/xy-contents"

# remote to remote: within the share, and to another share on the same
# connection
expect_rc 0 sq cp -r "$(url share tree)" "$(url share tree2)"
same_tree "$T" "$S/tree2"
expect_rc 0 sq cp -r "$(url share tree/a)" "$(url enc a-copy)"
same_tree "$T/a" "$SMBQ_TEST_ENCDIR/a-copy"

# ---- single files and several sources ----------------------------------
expect_rc 0 sq cp "$T/big0.bin" "$(url share one.bin)"
same_file "$T/big0.bin" "$S/one.bin"
[ "$(stat -c %Y "$S/one.bin")" = "$(stat -c %Y "$T/big0.bin")" ] ||
  fail "upload lost the mtime"
expect_rc 0 sq cp "$(url share one.bin)" "$W/one.bin"
same_file "$T/big0.bin" "$W/one.bin"
[ "$(stat -c %Y "$W/one.bin")" = "$(stat -c %Y "$T/big0.bin")" ] ||
  fail "download lost the mtime"
expect_rc 0 sq mkdir "$(url share multi)"
expect_rc 0 sq cp "$T/big0.bin" "$T/a/big1.bin" "$T/f009.txt" \
  "$T/a/b/f002.txt" "$(url share multi)"
for f in big0.bin a/big1.bin f009.txt a/b/f002.txt; do
  same_file "$T/$f" "$S/multi/$(basename "$f")"
done
# several sources need an existing directory
expect_rc 4 sq cp "$T/f009.txt" "$T/big0.bin" "$(url share nodir)"
expect_stderr "does not exist"
expect_rc 2 sq cp "$T/f009.txt" "$T/big0.bin" "$(url share one.bin)"
expect_stderr "not a directory"
# a file onto a name with a trailing slash that is no directory
expect_rc 4 sq cp "$T/f009.txt" "$(url share nodir/)"
# a directory without -r: a usage error naming the fix
expect_rc 2 sq cp "$T/a" "$(url share a-no-r)"
expect_stderr "use cp -r"
[ ! -e "$S/a-no-r" ] || fail "cp without -r copied a directory"
# a directory into itself
expect_rc 1 sq cp -r "$(url share tree)" "$(url share tree/a/inside)"
expect_stderr "into itself"
# only local paths: that is cp(1)'s job
expect_rc 2 sq cp "$T/f009.txt" "$W/local-copy"

# ---- errors: the first error's exit code, the rest still copied --------
expect_rc 0 sq mkdir "$(url share errs)"
expect_rc 4 sq cp --json "$W/missing" "$T/big0.bin" "$(url share nope.txt)" \
  "$T/f009.txt" "$W/back"
grep -q "missing" "$ERR" || fail "no message about the missing source"
grep -q "nope.txt" "$ERR" || fail "no message about the missing remote file"
same_file "$T/big0.bin" "$W/back/big0.bin"
same_file "$T/f009.txt" "$W/back/f009.txt"
python3 - "$OUT" <<'PY' || fail "error summary wrong: $(cat "$OUT")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["files"] == 2 and d["failed"] == 0, d
assert len(d["errors"]) == 2 and all(e["exit"] == 4 for e in d["errors"]), d
assert "missing" in d["errors"][0]["path"], d
PY

# a copy that fails midway (a full disk) leaves nothing behind: run in a
# private mount namespace with a 2 MiB tmpfs as the target
mkdir "$W/full"
if unshare -m true 2>/dev/null; then
  rc=0
  # shellcheck disable=SC2016,SC2046
  unshare -m bash -c 'mount -t tmpfs -o size=2m tmpfs "$1" || exit 99
    "${@:3}"; rc=$?; ls -A "$1" >"$2"; exit $rc' _ "$W/full" "$W/full.ls" \
    "$SMBQ" -U "$SMBQ_TEST_USER" $(transport_opts) cp "$(url share one.bin)" \
    "$W/full/one.bin" 2>"$ERR" || rc=$?
  [ "$rc" = 1 ] || fail "a copy to a full disk exited $rc: $(cat "$ERR")"
  expect_stderr "no space"
  [ ! -s "$W/full.ls" ] || fail "a failed copy left $(cat "$W/full.ls")"
fi

# ---- --resume ----------------------------------------------------------
MiB=$((1024 * 1024))
head -c $((20 * MiB + 777)) /dev/urandom >"$W/r.bin"
touch -d @1650000000 "$W/r.bin"
server_put "$W/r.bin" r.bin
touch -d @1650000000 "$S/r.bin"
SIZE=$((20 * MiB + 777))
# a download's partial copy, made by hand: continued from its size less
# one block (4 MiB), after checking the bytes before that point
mkdir "$W/res"
head -c $((16 * MiB)) "$W/r.bin" >"$W/res/r.bin.smbq-part"
expect_rc 0 sq cp --resume --json "$(url share r.bin)" "$W/res/r.bin"
same_file "$W/r.bin" "$W/res/r.bin"
[ "$(json_get bytes)" = $((SIZE - 12 * MiB)) ] ||
  fail "resume copied $(json_get bytes) bytes, expected $((SIZE - 12 * MiB))"
[ ! -e "$W/res/r.bin.smbq-part" ] || fail "the .smbq-part is left over"
# complete now (same size and mtime): skipped
expect_rc 0 sq cp --resume --json "$(url share r.bin)" "$W/res/r.bin"
[ "$(json_get skipped)" = 1 ] && [ "$(json_get bytes)" = 0 ] ||
  fail "a complete file was not skipped: $(cat "$OUT")"
# a partial copy that does not match the source: copied again in full
{ head -c $((10 * MiB)) /dev/urandom; } >"$W/res/r.bin.smbq-part"
rm "$W/res/r.bin"
expect_rc 0 sq cp --resume --json "$(url share r.bin)" "$W/res/r.bin"
same_file "$W/r.bin" "$W/res/r.bin"
[ "$(json_get bytes)" = "$SIZE" ] || fail "a bad prefix was kept"
# a shorter file under the final name counts as a partial copy
head -c $((10 * MiB)) "$W/r.bin" >"$W/res/r.bin"
expect_rc 0 sq cp --resume --json "$(url share r.bin)" "$W/res/r.bin"
same_file "$W/r.bin" "$W/res/r.bin"
[ "$(json_get bytes)" = $((SIZE - 6 * MiB)) ] || fail "shorter file not continued"
# an upload's partial copy on the share
head -c $((16 * MiB)) "$W/r.bin" >"$S/up.bin.smbq-part"
chown "$SMBQ_TEST_USER" "$S/up.bin.smbq-part"
expect_rc 0 sq cp --resume --json "$W/r.bin" "$(url share up.bin)"
same_file "$W/r.bin" "$S/up.bin"
[ "$(json_get bytes)" = $((SIZE - 12 * MiB)) ] || fail "upload not continued"
# a whole tree already there: everything skipped
expect_rc 0 sq cp -r --resume --json "$T" "$(url share)"
[ "$(json_get skipped)" = "$NFILES" ] && [ "$(json_get files)" = 0 ] ||
  fail "resume of a complete tree copied again: $(cat "$OUT")"

# SIGKILL mid-transfer leaves only NAME.smbq-part; --resume finishes it
# byte-exact. kill_mid SRC DST PART: run cp, kill it once PART holds 8 MiB.
kill_mid() {
  local part=$3 size
  # shellcheck disable=SC2046
  "$SMBQ" -U "$SMBQ_TEST_USER" $(transport_opts) cp "$1" "$2" \
    2>/dev/null &
  local pid=$!
  for _ in $(seq 1 2000); do
    size=$(stat -c %s "$part" 2>/dev/null || echo 0)
    [ "$size" -ge $((8 * MiB)) ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.005
  done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
head -c $((256 * MiB)) /dev/urandom >"$W/huge.bin"
server_put "$W/huge.bin" huge.bin
for dir in down up; do
  if [ $dir = down ]; then
    src=$(url share huge.bin) dst=$W/huge-back.bin local_dst=$dst
  else
    src=$W/huge.bin dst=$(url share huge-up.bin) local_dst=$S/huge-up.bin
  fi
  kill_mid "$src" "$dst" "$local_dst.smbq-part"
  if [ ! -e "$local_dst.smbq-part" ]; then
    echo "note: the $dir copy finished before it could be killed"
    continue
  fi
  [ ! -e "$local_dst" ] || fail "an interrupted copy left $local_dst"
  kept=$(stat -c %s "$local_dst.smbq-part")
  expect_rc 0 sq cp --resume --json "$src" "$dst"
  same_file "$W/huge.bin" "$local_dst"
  [ "$(json_get bytes)" -lt $((256 * MiB)) ] ||
    fail "the $dir copy started over after a kill at $kept bytes"
  echo "killed $dir copy at $kept bytes; resume copied $(json_get bytes)"
done
rm -f "$W/huge.bin" "$W/huge-back.bin" "$S/huge.bin" "$S/huge-up.bin"

# ---- progress: on a terminal only --------------------------------------
# shellcheck disable=SC2046
cmd=$(printf '%q ' "$SMBQ" -U "$SMBQ_TEST_USER" $(transport_opts) cp -r \
  "$(url share tree)" "$W/tty")
script -qec "$cmd" /dev/null >"$W/tty.log" 2>&1 </dev/null ||
  fail "cp on a terminal failed: $(cat "$W/tty.log")"
grep -q "ETA" "$W/tty.log" && grep -qE "[0-9.]+ [kMG]?B/s" "$W/tty.log" ||
  fail "no progress bar on a terminal: $(cat "$W/tty.log")"
grep -q "$NFILES files copied" "$W/tty.log" ||
  fail "no final progress line: $(cat "$W/tty.log")"
same_tree "$T" "$W/tty"
script -qec "$cmd --no-progress" /dev/null >"$W/tty2.log" 2>&1 </dev/null
! grep -q "ETA" "$W/tty2.log" || fail "--no-progress drew a bar"
# piped: silent, unless --progress
expect_rc 0 sq cp -r "$(url share tree/a)" "$W/piped"
[ ! -s "$ERR" ] || fail "cp wrote to a piped stderr: $(cat "$ERR")"
expect_rc 0 sq cp -r --progress "$(url share tree/a)" "$W/piped2"
expect_stderr "ETA"
echo "PASS"
