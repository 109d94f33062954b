#!/usr/bin/env bash
# The connection counters (smbq_conn_get_stats) as the frontends show them:
# `smbq -v` ends with the round-trip line; a listing of a small directory
# is one round trip (CREATE + QUERY_DIRECTORY + QUERY_DIRECTORY + CLOSE
# compounded, the second answering STATUS_NO_MORE_FILES) beyond what
# `smbq info` makes of the same connection (an empty directory too; 14000
# entries take more); `smbq info --json`
# carries them; `smbq use --stats` reads them from an smbq-mount (the
# xattr user.smbq.stats of its root) and they grow with an ls of the
# mount; a path that is no smbq mount is an error naming it.
set -euo pipefail
. "$(dirname "$0")/fixture.sh"
fixture_start
S=$SMBQ_TEST_SHAREDIR
W=$SMBQ_TEST_DIR/work
mkdir -p "$W"

LINE_RE='^round trips: [0-9]+, requests: [0-9]+, sent: [0-9]+ bytes, received: [0-9]+ bytes, breaks: [0-9]+, read data placed: [0-9]+ bytes, copied: [0-9]+ bytes, reconnects: [0-9]+$'

# round_trips FILE: N of the -v line in FILE (exactly one such line)
round_trips() {
  local n
  n=$(grep -cE "$LINE_RE" "$1" || true)
  [ "$n" -eq 1 ] || fail "expected one counters line on stderr, got $n: $(cat "$1")"
  grep -E "$LINE_RE" "$1" | sed -E 's/^round trips: ([0-9]+),.*/\1/'
}

# ---- smbq -v ------------------------------------------------------------------
mkdir "$S/five"
for i in 1 2 3 4 5; do echo "$i" >"$S/five/f$i"; done
chown -R "$SMBQ_TEST_USER" "$S"

expect_rc 0 sq -v info "$(url share)"
cp "$SMBQ_TEST_DIR/err" "$W/info.err"
info_rt=$(round_trips "$W/info.err")
expect_rc 0 sq -v ls "$(url share five)"
cp "$SMBQ_TEST_DIR/err" "$W/ls.err"
[ "$(grep -c ' f[1-5]$' "$SMBQ_TEST_DIR/out")" -eq 5 ] ||
  fail "ls of five files: $(cat "$SMBQ_TEST_DIR/out")"
ls_rt=$(round_trips "$W/ls.err")
# the line comes last, after the command's own -v report
tail -n 1 "$W/ls.err" | grep -qE "$LINE_RE" ||
  fail "the counters line is not the last line: $(cat "$W/ls.err")"
# the listing: CREATE + 2 QUERY_DIRECTORY + CLOSE in one compound
want=$((info_rt + 1))
[ "$ls_rt" -eq "$want" ] ||
  fail "ls of 5 files took $ls_rt round trips, info $info_rt: want $want (listing and close in one)"
# the requests of the compound count one by one
info_req=$(sed -nE 's/.*requests: ([0-9]+),.*/\1/p' "$W/info.err")
ls_req=$(sed -nE 's/.*requests: ([0-9]+),.*/\1/p' "$W/ls.err")
[ "$ls_req" -eq $((info_req + 4)) ] ||
  fail "ls made $ls_req requests, info $info_req: want 4 more"

# an empty directory, and one that needs more than the compound
mkdir "$S/empty" "$S/many"
python3 - "$S/many" <<'PY'
import os, sys
# more than the first compound's two 1 MiB replies hold: the listing
# is made again with a handle kept open, and goes on from there
for i in range(14000):
    open(os.path.join(sys.argv[1], "entry-with-a-longish-name-%05d" % i), "w").close()
PY
chown -R "$SMBQ_TEST_USER" "$S"
expect_rc 0 sq -v ls "$(url share empty)"
[ ! -s "$SMBQ_TEST_DIR/out" ] || fail "ls of an empty dir printed: $(cat "$SMBQ_TEST_DIR/out")"
[ "$(round_trips "$SMBQ_TEST_DIR/err")" -eq "$want" ] ||
  fail "ls of an empty directory is not one round trip: $(cat "$SMBQ_TEST_DIR/err")"
expect_rc 0 sq -v ls "$(url share many)"
[ "$(grep -c ' entry-with-a-longish-name-[0-9]*$' "$SMBQ_TEST_DIR/out")" -eq 14000 ] ||
  fail "ls of 14000 entries lost some"
[ "$(sed -E 's/.* //' "$SMBQ_TEST_DIR/out" | sort -u | wc -l)" -eq 14000 ] ||
  fail "ls of 14000 entries repeated some"
many_rt=$(round_trips "$SMBQ_TEST_DIR/err")
[ "$many_rt" -gt $((want + 1)) ] || fail "14000 entries in $many_rt round trips?"

# -v on a failing command still reports what it sent
expect_rc 4 sq -v ls "$(url share nosuchdir)"
round_trips "$SMBQ_TEST_DIR/err" >/dev/null
# without -v: no counters
expect_rc 0 sq ls "$(url share five)"
! grep -qE "$LINE_RE" "$SMBQ_TEST_DIR/err" || fail "counters printed without -v"

# ---- smbq info ------------------------------------------------------------------
expect_rc 0 sq info "$(url share)"
grep -qE '^Round trips: +[0-9]+ \([0-9]+ requests\)$' "$SMBQ_TEST_DIR/out" ||
  fail "info does not show the round trips: $(cat "$SMBQ_TEST_DIR/out")"
expect_rc 0 sq info --json "$(url share)"
python3 - "$SMBQ_TEST_DIR/out" <<'PY' || fail "info --json lacks the counters: $(cat "$SMBQ_TEST_DIR/out")"
import json, sys
s = json.load(open(sys.argv[1]))["stats"]
assert set(s) == {"requests", "round_trips", "bytes_sent", "bytes_received", "breaks"}, s
assert all(isinstance(v, int) and v >= 0 for v in s.values()), s
# negotiate, session setup, tree connect at least
assert s["round_trips"] >= 3 and s["requests"] >= s["round_trips"], s
assert s["bytes_sent"] > 0 and s["bytes_received"] > 0, s
PY

# ---- smbq use --stats on a mount --------------------------------------------
# a path that is no smbq mount
mkdir -p "$W/plain"
expect_rc 4 sq use --stats "$W/plain"
expect_stderr "$W/plain.*not an smbq mount"
expect_rc 2 sq use --stats
expect_rc 2 sq use --stats "$W/plain" --delete

if [ ! -c /dev/fuse ] || ! command -v fusermount3 >/dev/null; then
  echo "SKIP (mount part): needs /dev/fuse and fusermount3"
  exit 0
fi
: "${SMBQ_MOUNT:?SMBQ_MOUNT must point at the smbq-mount binary}"
M=$W/mnt
MOUNT_PID=
is_mounted() {
  awk -v m="$1" '$5 == m { found = 1 } END { exit !found }' /proc/self/mountinfo
}
stats_cleanup() {
  set +e
  cd /
  if is_mounted "$M"; then
    fusermount3 -u "$M" 2>/dev/null || fusermount3 -u -z "$M"
  fi
  if [ -n "$MOUNT_PID" ]; then
    kill "$MOUNT_PID" 2>/dev/null
    wait "$MOUNT_PID" 2>/dev/null
  fi
  fixture_cleanup
}
trap stats_cleanup EXIT
mkdir -p "$M"
# shellcheck disable=SC2046
"$SMBQ_MOUNT" -f "$(url share)" "$M" -U "$SMBQ_TEST_USER" $(transport_opts) \
  2>"$W/mount.log" &
MOUNT_PID=$!
for _ in $(seq 1 200); do
  is_mounted "$M" && break
  kill -0 "$MOUNT_PID" 2>/dev/null || break
  sleep 0.05
done
is_mounted "$M" || { cat "$W/mount.log" >&2; fail "smbq-mount did not mount $M"; }

STATS_RE='^(requests|round_trips|bytes_sent|bytes_received|breaks) [0-9]+$'
check_stats() { # check_stats FILE: the five lines, in order
  [ "$(wc -l <"$1")" -eq 5 ] && ! grep -vqE "$STATS_RE" "$1" &&
    [ "$(cut -d' ' -f1 "$1" | tr '\n' ' ')" = "requests round_trips bytes_sent bytes_received breaks " ] ||
    fail "use --stats printed: $(cat "$1")"
}
expect_rc 0 sq use --stats "$M"
cp "$SMBQ_TEST_DIR/out" "$W/stats1"
check_stats "$W/stats1"
rt1=$(awk '$1 == "round_trips" { print $2 }' "$W/stats1")
ls "$M/five" >"$W/mnt.ls"
[ "$(wc -l <"$W/mnt.ls")" -eq 5 ] || fail "ls of the mount: $(cat "$W/mnt.ls")"
expect_rc 0 sq use --stats "$M/"
cp "$SMBQ_TEST_DIR/out" "$W/stats2"
check_stats "$W/stats2"
rt2=$(awk '$1 == "round_trips" { print $2 }' "$W/stats2")
[ "$rt2" -gt "$rt1" ] || fail "round_trips did not grow with an ls: $rt1 -> $rt2"
# the same text as the xattr, which exists on the root only
if command -v getfattr >/dev/null; then
  getfattr --only-values -n user.smbq.stats "$M" >"$W/xattr"
  check_stats "$W/xattr"
  ! getfattr -n user.smbq.stats "$M/five" 2>/dev/null || fail "the xattr is on a subdirectory"
  ! getfattr -n user.other "$M" 2>/dev/null || fail "another xattr name answered"
fi
# a directory inside the mount is not the mount
expect_rc 4 sq use --stats "$M/five"
expect_stderr "$M/five.*not an smbq mount"

fusermount3 -u "$M"
rc=0
wait "$MOUNT_PID" || rc=$?
MOUNT_PID=
[ "$rc" -eq 0 ] || { cat "$W/mount.log" >&2; fail "smbq-mount exited $rc"; }
! grep -q 'ERROR: \(Address\|Leak\|Undefined\)Sanitizer\|runtime error' "$W/mount.log" ||
  { cat "$W/mount.log" >&2; fail "sanitizer report from smbq-mount"; }
echo "PASS"
