#!/usr/bin/env bash
# smbq use (NET USE for smbq-mount) over the fixture's transport: mounting
# (a file visible through the mount, -o passed on), the listing with the
# transport actually used and state OK, --json, one mount in detail, two
# mounts, a second mount on a mount point refused, --delete of a busy
# mount refused, --delete of one (the daemon has exited and its state file
# is gone when it returns), a killed daemon listed as Unavailable, a lost
# connection with reconnecting off as Disconnected with its cause (the
# outage that ends, Reconnecting, is t_reconnect.sh's), '*' --delete
# asking on a terminal and
# refusing without --yes when stdin is not one, '*' --delete --yes, a
# wrong password (exit 3, no mount, no state file), --delete of a
# directory that is not an smbq mount, usage errors; the smbq-mount next to
# smbq found before the one in PATH, with the options given to smbq.
#
# `'*' --delete` unmounts every smbq mount in sight, so the script runs in
# its own mount namespace with its own /run/smbq (where root's smbq-mount
# keeps its state files): mounts of tests running alongside are neither
# listed nor touched.
set -euo pipefail
if [ -z "${SMBQ_USE_UNSHARED:-}" ]; then
  if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/fuse ] || ! command -v fusermount3 >/dev/null ||
    ! command -v unshare >/dev/null; then
    echo "SKIP: needs root, /dev/fuse, fusermount3 and unshare"
    exit 77
  fi
  mkdir -p /run/smbq
  SMBQ_USE_UNSHARED=1 exec unshare -m --propagation private bash "$0" "$@"
fi
mount -t tmpfs -o mode=0755 smbq-use-test /run/smbq
# Copies of other tests' mounts came along into this namespace; drop them
# here (and only here) so the listing holds ours alone.
{ findmnt -rn -t fuse.smbq-mount -o TARGET || true; } | while read -r t; do
  umount -l "$(printf '%b' "$t")" 2>/dev/null || true
done

. "$(dirname "$0")/fixture.sh"
: "${SMBQ_MOUNT:?SMBQ_MOUNT must point at the smbq-mount binary}"
fixture_start
W=$SMBQ_TEST_DIR/work
S=$SMBQ_TEST_SHAREDIR
STATES=/run/smbq/mounts
mkdir -p "$W"
# In the build tree smbq-mount is not next to smbq: smbq use finds it in
# PATH then.
PATH="$(dirname "$SMBQ_MOUNT"):$PATH"
export PATH
# Sanitizer reports of the daemons (detached: their stderr is /dev/null)
# go to files, checked at the end.
SAN=$SMBQ_TEST_DIR/san
[ -z "${ASAN_OPTIONS:-}" ] || export ASAN_OPTIONS="$ASAN_OPTIONS:log_path=$SAN"
[ -z "${UBSAN_OPTIONS:-}" ] || export UBSAN_OPTIONS="$UBSAN_OPTIONS:log_path=$SAN"

# ---- cleanup ----------------------------------------------------------------

MOUNTS=() # mount points we may have mounted
BUSY=     # a process we keep working inside a mount

is_mounted() { # is_mounted DIR: listed in /proc/self/mountinfo
  awk -v m="$1" '$5 == m { found = 1 } END { exit !found }' /proc/self/mountinfo
}

running() { # running PID: alive and not a zombie (orphans may wait long
  # to be reaped)
  [ -r "/proc/$1/stat" ] && ! grep -q '^[0-9]* (.*) [ZX] ' "/proc/$1/stat" 2>/dev/null
}

daemon_pids() { # the daemons of our mounts, from their state files
  sed -n 's/^pid=//p' "$STATES"/*.state 2>/dev/null || true
}

use_cleanup() {
  set +e
  cd /
  local m pid pids
  pids=$(daemon_pids)
  [ -z "$BUSY" ] || kill "$BUSY" 2>/dev/null
  for m in "${MOUNTS[@]}"; do
    if is_mounted "$m"; then
      fusermount3 -u "$m" 2>/dev/null || umount -l "$m"
    fi
  done
  for pid in $pids; do kill "$pid" 2>/dev/null; done
  fixture_cleanup
}
trap use_cleanup EXIT

step() { echo "== $*"; }

newmnt() { # newmnt NAME: an empty directory, unmounted at exit
  local d=$SMBQ_TEST_DIR/$1
  mkdir -p "$d"
  MOUNTS+=("$d")
  echo "$d"
}

want_transport=tcp
[ "${SMBQ_TRANSPORT:-tcp}" = quic ] && want_transport=quic
WANT_T=${want_transport^^}
REMOTE=//$SMBQ_TEST_HOST/share

# json_check PY_EXPR: evaluate PY_EXPR on the parsed stdout of the last
# expect_rc (as `j`); fail if it is false.
json_check() {
  python3 - "$SMBQ_TEST_DIR/out" "$1" <<'PY' || fail "json check failed: $1: $(cat "$SMBQ_TEST_DIR/out")"
import json, sys
j = json.load(open(sys.argv[1]))
sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)
PY
}

list_line() { # list_line DIR: the listing's line for DIR (after expect_rc)
  awk -v m="$1" '$2 == m' "$SMBQ_TEST_DIR/out"
}

state_of() { # state_of DIR: the state file naming DIR as mount point
  grep -lx "mountpoint=$1" "$STATES"/*.state 2>/dev/null || true
}

echo hello >"$S/hello.txt"
chown "$SMBQ_TEST_USER" "$S/hello.txt"

# ---- mount, list ------------------------------------------------------------
step "mount and list"

M1=$(newmnt m1)
expect_rc 0 sq use "$(url share)" "$M1"
grep -q "$M1 is now $REMOTE over $WANT_T" "$SMBQ_TEST_DIR/out" ||
  fail "no confirmation of the mount: $(cat "$SMBQ_TEST_DIR/out")"
is_mounted "$M1" || fail "$M1 not mounted"
[ "$(cat "$M1/hello.txt")" = hello ] || fail "file not visible through the mount"
ST1=$(state_of "$M1")
[ -n "$ST1" ] || fail "no state file for $M1 in $STATES"
PID1=$(sed -n 's/^pid=//p' "$ST1")
running "$PID1" || fail "daemon $PID1 of the state file not running"
grep -qx "transport=$want_transport" "$ST1" || fail "state file: $(cat "$ST1")"

expect_rc 0 sq use
head -1 "$SMBQ_TEST_DIR/out" | grep -q '^Status  *Local  *Remote  *Transport$' ||
  fail "listing header: $(cat "$SMBQ_TEST_DIR/out")"
read -r st loc rem tr < <(list_line "$M1")
[ "$st $loc $rem $tr" = "OK $M1 $REMOTE $WANT_T" ] ||
  fail "listing line: $(cat "$SMBQ_TEST_DIR/out")"

expect_rc 0 sq use --json
json_check "len(j) == 1 and j[0]['local'] == '$M1' and j[0]['status'] == 'OK'
  and j[0]['transport'] == '$want_transport' and j[0]['remote'] == '$REMOTE'
  and j[0]['dialect'] == '3.1.1' and j[0]['pid'] == $PID1
  and j[0]['address'].endswith(':' + str(${SMBQ_TEST_QUIC_PORT:-$SMBQ_TEST_PORT}))"

expect_rc 0 sq use "$M1"
grep -q "^Transport  *$WANT_T$" "$SMBQ_TEST_DIR/out" || fail "detail: $(cat "$SMBQ_TEST_DIR/out")"
grep -q "^Status  *OK$" "$SMBQ_TEST_DIR/out" || fail "detail: $(cat "$SMBQ_TEST_DIR/out")"

step "second mount (-o ro passed on), mount point taken"
M2=$(newmnt m2)
expect_rc 0 sq use "$(url share)" "$M2" -o ro
[ "$(cat "$M2/hello.txt")" = hello ] || fail "file not visible through $M2"
! touch "$M2/new.txt" 2>/dev/null || fail "-o ro did not reach smbq-mount"
expect_rc 0 sq use --json
json_check "sorted(m['local'] for m in j) == sorted(['$M1', '$M2'])
  and all(m['status'] == 'OK' and m['transport'] == '$want_transport' for m in j)"
expect_rc 1 sq use "$(url share)" "$M1"
expect_stderr "already an smbq mount"

# ---- delete one -------------------------------------------------------------
step "delete one"

ST2=$(state_of "$M2")
PID2=$(sed -n 's/^pid=//p' "$ST2")
# a process working inside keeps it busy: refused, still mounted
(cd "$M2" && exec sleep 60) &
BUSY=$!
for _ in $(seq 1 100); do [ "$(readlink "/proc/$BUSY/cwd")" = "$M2" ] && break; sleep 0.05; done
expect_rc 1 sq use "$M2" --delete
expect_stderr "in use"
is_mounted "$M2" || fail "a busy mount was unmounted"
kill "$BUSY"
wait "$BUSY" 2>/dev/null || true
BUSY=
expect_rc 0 sq use "$M2" --delete
grep -q "$M2 was deleted successfully" "$SMBQ_TEST_DIR/out" || fail "delete: $(cat "$SMBQ_TEST_DIR/out")"
! is_mounted "$M2" || fail "$M2 still mounted"
! running "$PID2" || fail "daemon $PID2 still running after --delete returned"
[ ! -e "$ST2" ] || fail "state file $ST2 left behind"
expect_rc 0 sq use --json
json_check "[m['local'] for m in j] == ['$M1']"

# ---- a killed daemon: Unavailable --------------------------------------------
step "killed daemon: Unavailable"

M3=$(newmnt m3)
expect_rc 0 sq use "$(url share)" "$M3"
ST3=$(state_of "$M3")
PID3=$(sed -n 's/^pid=//p' "$ST3")
kill -9 "$PID3"
for _ in $(seq 1 100); do running "$PID3" || break; sleep 0.05; done
expect_rc 0 sq use
read -r st _ < <(list_line "$M3")
[ "$st" = Unavailable ] || fail "killed daemon's mount: $(cat "$SMBQ_TEST_DIR/out")"
expect_rc 0 sq use "$M3" --delete
! is_mounted "$M3" || fail "$M3 still mounted"
[ ! -e "$ST3" ] || fail "state file of the killed daemon left behind"

# ---- wrong password, not an smbq mount, usage ---------------------------------
step "wrong password, not an smbq mount, usage errors"

M4=$(newmnt m4)
SMBQ_PASSWORD=wrong expect_rc 3 sq use "$(url share)" "$M4"
expect_stderr 'logon failure|wrong user name or password'
! is_mounted "$M4" || fail "a mount with a wrong password was left behind"
[ -z "$(state_of "$M4")" ] || fail "a state file for the failed mount"
[ "$(find "$STATES" -type f | wc -l)" -eq 1 ] || fail "state files: $(ls "$STATES")"

expect_rc 4 sq use "$M4" --delete
expect_stderr "not an smbq mount"
mkdir -p "$W/tmpfs"
mount -t tmpfs smbq-use-other "$W/tmpfs"
MOUNTS+=("$W/tmpfs")
expect_rc 4 sq use "$W/tmpfs" --delete
expect_stderr "not an smbq mount"
is_mounted "$W/tmpfs" || fail "--delete unmounted a tmpfs"
umount "$W/tmpfs"
expect_rc 4 sq use "$W/nonexistent" --delete
expect_rc 2 sq use --delete
expect_rc 2 sq use "$(url share)" "$M4" --delete
expect_rc 2 sq use '*'
expect_rc 2 sq use "$(url share)" "$M4" --recursive

step "smbq-mount next to smbq comes before PATH"
BIN=$W/bin
mkdir -p "$BIN"
cp "$SMBQ" "$BIN/smbq"
printf '#!/bin/sh\necho "$@" >%s\nexec %s "$@"\n' "$W/beside.args" "$SMBQ_MOUNT" >"$BIN/smbq-mount"
chmod +x "$BIN/smbq-mount"
M6=$(newmnt m6)
SMBQ=$BIN/smbq expect_rc 0 sq use "$(url share)" "$M6" -o ro
grep -q -- "--user=$SMBQ_TEST_USER .*-o ro" "$W/beside.args" ||
  fail "smbq-mount beside smbq not run with the options: $(cat "$W/beside.args" 2>&1)"
expect_rc 0 sq use "$M6" --delete

# ---- a lost connection: Disconnected ------------------------------------------
step "lost connection, reconnecting off: Disconnected"

M5=$(newmnt m5)
# --reconnect-timeout goes on to smbq-mount: 0, the connection stays lost
expect_rc 0 sq use "$(url share)" "$M5" --reconnect-timeout 0
# smbd serves each connection in a child process: ending those (ours, by
# PID) drops the connections of every mount.
for pid in $(ps -o pid= --ppid "$FIXTURE_SMBD_PID"); do kill "$pid" 2>/dev/null || true; done
# the daemon learns it when a request fails
for _ in $(seq 1 40); do
  ls "$M5/nonexistent-$RANDOM" >/dev/null 2>&1 || true
  grep -qx "state=Disconnected" "$(state_of "$M5")" && break
  sleep 0.25
done
expect_rc 0 sq use
read -r st _ < <(list_line "$M5")
[ "$st" = Disconnected ] || fail "lost connection: $(cat "$SMBQ_TEST_DIR/out")"
# why: in the state file, on the line below the mount's in the list, in
# the detail view and in JSON (M1 lost its connection too, but reconnects:
# not checked here)
grep -q "^cause=." "$(state_of "$M5")" || fail "no cause: $(cat "$(state_of "$M5")")"
awk -v m="$M5" 'found { ok = $0 ~ /^  +[^ ]/; exit } $2 == m { found = 1 }
  END { exit !ok }' "$SMBQ_TEST_DIR/out" ||
  fail "no cause below $M5: $(cat "$SMBQ_TEST_DIR/out")"
expect_rc 0 sq use "$M5"
grep -q "^Cause  *[^ -]" "$SMBQ_TEST_DIR/out" || fail "detail: $(cat "$SMBQ_TEST_DIR/out")"
expect_rc 0 sq use --json
json_check "[m['cause'] for m in j if m['local'] == '$M5'][0]"

# ---- delete all ---------------------------------------------------------------
step "delete all"

expect_rc 2 sq use '*' --delete </dev/null
expect_stderr "add --yes"
is_mounted "$M1" || fail "'*' --delete without --yes unmounted"
# on a terminal it asks; "n" keeps everything
rc=0
"$(dirname "$0")/on_tty.py" "(Y/N)" n "$SMBQ_TEST_DIR/tty.out" \
  "$SMBQ" use '*' --delete || rc=$?
[ "$rc" -eq 1 ] && grep -q "Nothing was unmounted" "$SMBQ_TEST_DIR/tty.out" ||
  fail "'*' --delete on a terminal, answered n: exit $rc: $(cat "$SMBQ_TEST_DIR/tty.out")"
{ is_mounted "$M1" && is_mounted "$M5"; } || fail "answering n unmounted something"

PIDS=$(daemon_pids)
expect_rc 0 sq use '*' --delete --yes
for m in "$M1" "$M5"; do ! is_mounted "$m" || fail "$m still mounted"; done
for pid in $PIDS; do ! running "$pid" || fail "daemon $pid still running"; done
[ -z "$(ls "$STATES")" ] || fail "state files left: $(ls "$STATES")"
expect_rc 0 sq use
grep -q "There are no smbq mounts" "$SMBQ_TEST_DIR/out" || fail "listing after '*' --delete: $(cat "$SMBQ_TEST_DIR/out")"
expect_rc 0 sq use --json
json_check "j == []"

# ---- sanitizers -------------------------------------------------------------
if ls "$SAN".* >/dev/null 2>&1; then
  cat "$SAN".* >&2
  fail "sanitizer reports (smbq or smbq-mount)"
fi
echo "PASS"
