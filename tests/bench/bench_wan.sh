#!/usr/bin/env bash
# The WAN benchmark ("leases and few round trips"): smbq-mount against the
# Linux mount peers, rclone mount (smb backend) and smbnetfs (libsmbclient),
# all against one throw-away smbd reached through tests/bench/
# tcp_delay_relay adding BENCH_DELAY_MS each way (RTT = 2 x that; there is
# no tc netem here). Each client gets a fresh mount, then, in this order:
#   ls -l of a BENCH_ENTRIES-entry directory, cold (first listing) then warm
#   cat of a BENCH_SIZE_MB MiB file, cold then warm (the second read right
#     after the first),
#   untar of BENCH_FILES files of 4 KiB (a local tarball) into the mount,
#   rm -rf of that tree,
#   dd if=local of=MOUNT/x bs=1M conv=fsync of the BENCH_SIZE_MB MiB file,
# and once, `smbq put` of that file and `smbq ls` of the share, through the
# same relay. For smbq-mount also the round trips of each step, from
# `smbq use --stats MOUNTPOINT`, and for `smbq ls` from `smbq -v`.
# Prints seconds per step and client, the ratio smbq-mount / peer (time:
# below 1, smbq-mount is faster) and the goals of the issue.
# Needs root (the Samba fixture, FUSE); installs rclone and smbnetfs with
# apt-get when missing. smbnetfs reaches servers on port 445 only, so its
# relay listens on 127.0.0.2:445; it is skipped, saying why, when that
# address is taken.
#   BENCH_DELAY_MS (default 10)  BENCH_FILES (default 300)
#   BENCH_ENTRIES (default 1000) BENCH_SIZE_MB (default 64)
#   BENCH_CLIENTS (default "smbq-mount rclone smbnetfs")
#   SMBQ, SMBQ_MOUNT, SMBQ_TCP_RELAY: binaries (default: build/)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$here/../../build
export SMBQ=${SMBQ:-$build/cli/smbq}
export SMBQ_MOUNT=${SMBQ_MOUNT:-$build/fuse/smbq-mount}
export SMBQ_TCP_RELAY=${SMBQ_TCP_RELAY:-$build/tests/bench/tcp_delay_relay}
export SMBQ_TRANSPORT=tcp
. "$here/../e2e/mount_fixture.sh"
DELAY_MS=${BENCH_DELAY_MS:-10}
FILES=${BENCH_FILES:-300}
ENTRIES=${BENCH_ENTRIES:-1000}
SIZE_MB=${BENCH_SIZE_MB:-64}
CLIENTS=${BENCH_CLIENTS:-smbq-mount rclone smbnetfs}
mount_fixture_need_fuse
for b in "$SMBQ" "$SMBQ_MOUNT" "$SMBQ_TCP_RELAY"; do
  [ -x "$b" ] || { echo "SKIP: $b is not built"; exit 77; }
done

# ---- the peers --------------------------------------------------------------

missing=()
for p in rclone smbnetfs; do
  case " $CLIENTS " in *" $p "*) command -v "$p" >/dev/null || missing+=("$p") ;; esac
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing the peers: apt-get install -y ${missing[*]}"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" \
    >/tmp/bench_wan_apt.$$ 2>&1; then
    echo "apt-get failed (those peers are skipped):"
    tail -3 /tmp/bench_wan_apt.$$
  fi
  rm -f /tmp/bench_wan_apt.$$
fi

# ---- fixture, relays, cleanup -----------------------------------------------

# mount_cleanup (the EXIT trap, mount_fixture.sh) unmounts MOUNTS, stops
# DAEMONS by PID, the relays and the fixture; first the step still running.
mount_cleanup_first() {
  if [ -n "${STEP_PID:-}" ]; then
    kill "$STEP_PID" 2>/dev/null
    wait "$STEP_PID" 2>/dev/null
  fi
}
mount_fixture_start
trap 'exit 130' INT TERM

# The relay for smbq-mount, rclone and smbq: a free port on 127.0.0.1.
fixture_tcp_relay 127.0.0.1:0 --delay-ms "$DELAY_MS" ||
  fail "tcp_delay_relay did not start: $(cat "$FIXTURE_TCP_RELAY_LOG")"
RELAY_PORT=$FIXTURE_TCP_RELAY_PORT
# smbnetfs knows port 445 only: a second relay on 127.0.0.2:445.
SMBNETFS_SKIP=
case " $CLIENTS " in
*" smbnetfs "*)
  if ! command -v smbnetfs >/dev/null; then
    SMBNETFS_SKIP="smbnetfs is not installed"
  elif ! fixture_tcp_relay 127.0.0.2:445 --delay-ms "$DELAY_MS"; then
    SMBNETFS_SKIP="127.0.0.2:445 is not free ($(tail -1 "$FIXTURE_TCP_RELAY_LOG"))"
  fi ;;
esac

# ---- data -------------------------------------------------------------------

head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom >"$W/big"
cp "$W/big" "$S/big"
mkdir "$S/dir"
python3 - "$S/dir" "$ENTRIES" "$W/src" "$FILES" <<'PY'
import os, sys
d, n, src, files = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
for i in range(n):
    with open(os.path.join(d, "entry-%05d.txt" % i), "wb") as f:
        f.write(b"x" * (i % 512))
os.makedirs(src)
for i in range(files):
    with open(os.path.join(src, "f%05d.bin" % i), "wb") as f:
        f.write(os.urandom(4096))
PY
chown -R "$SMBQ_TEST_USER" "$S"
tar -cf "$W/tree.tar" -C "$W" src
cat "$S/big" >/dev/null # the server reads from its page cache: a fast disk
sync

# ---- measuring --------------------------------------------------------------

declare -A T  # T[client:step] = seconds, or "fail"
declare -A RT # RT[step] = round trips of smbq-mount, or "n/a"
STEPS=(ls_cold ls_warm cat_cold cat_warm untar rm dd)
declare -A LABEL=(
  [ls_cold]="ls -l $ENTRIES entries, cold"
  [ls_warm]="ls -l $ENTRIES entries, warm"
  [cat_cold]="cat $SIZE_MB MiB, cold"
  [cat_warm]="cat $SIZE_MB MiB, warm"
  [untar]="untar $FILES x 4 KiB"
  [rm]="rm -rf $FILES files"
  [dd]="dd $SIZE_MB MiB conv=fsync"
)

secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# timed CLIENT STEP CMD...: run CMD, keep its time in T[CLIENT:STEP];
# on failure keep "fail", say why, and return 1. CMD runs in the
# background and we wait for it: bash runs a trap only after a foreground
# command ends, and an untar through a slow peer can take minutes, while
# `wait` returns at once on a signal (the EXIT trap then stops CMD).
STEP_PID=
timed() {
  local who=$1 step=$2 rc=0 t0 t1
  shift 2
  t0=$EPOCHREALTIME
  "$@" >"$W/out" 2>"$W/err" &
  STEP_PID=$!
  wait "$STEP_PID" || rc=$?
  STEP_PID=
  t1=$EPOCHREALTIME
  if [ "$rc" -ne 0 ]; then
    T[$who:$step]=fail
    echo "  $who: ${LABEL[$step]:-$step} failed (exit $rc): $(tail -2 "$W/err" | tr '\n' ' ')"
    return 1
  fi
  T[$who:$step]=$(secs "$t0" "$t1")
}

# check CLIENT STEP TEST...: a step that ran must have done its work.
check() {
  local who=$1 step=$2
  shift 2
  [ "${T[$who:$step]:-fail}" = fail ] && return 0
  "$@" || {
    echo "  $who: ${LABEL[$step]} did not do its work ($*)"
    T[$who:$step]=fail
  }
}

# The mount's round-trip counter: `smbq use --stats` prints "round_trips N".
STATS_OK=
rt_now() {
  "$SMBQ" use --stats "$1" 2>/dev/null | awk '$1 == "round_trips" { print $2 }'
}

# Steps for `timed` only (they exec: STEP_PID is then the tool itself, and
# the EXIT trap's kill reaches it).
ls_l() { exec ls -l "$1" >"$W/ls.out"; }
cat_null() { exec cat "$1" >/dev/null; }
untar() { mkdir "$1" && exec tar -xf "$W/tree.tar" -C "$1"; }
n_files() { find "$1" -type f | wc -l; }

# mount_client CLIENT DIR: mounts, sets ROOT (the share's root in it)
mount_client() {
  local who=$1 dir=$2 log=$W/$1.log
  mkdir -p "$dir"
  MOUNTS+=("$dir")
  case $who in
  smbq-mount)
    # -f in our background: we stop it by PID; the password comes from
    # SMBQ_PASSWORD (the fixture's), never the command line
    "$SMBQ_MOUNT" -f "//127.0.0.1/share" "$dir" -U "$SMBQ_TEST_USER" \
      --port "$RELAY_PORT" --transport tcp 2>"$log" &
    ROOT=$dir ;;
  rclone)
    printf '[wan]\ntype = smb\nhost = 127.0.0.1\nport = %s\nuser = %s\npass = %s\n' \
      "$RELAY_PORT" "$SMBQ_TEST_USER" \
      "$(printf '%s' "$SMBQ_PASSWORD" | rclone obscure -)" >"$W/rclone.conf"
    chmod 600 "$W/rclone.conf"
    # the default --vfs-cache-mode off: writes go to the server before
    # close returns, as with the other two (with "writes" they would be
    # uploaded seconds later, after the timing)
    rclone --config "$W/rclone.conf" mount wan:share "$dir" 2>"$log" &
    ROOT=$dir ;;
  smbnetfs)
    local home=$W/smbnetfs-home
    mkdir -p "$home/.smb"
    {
      echo "smb_query_browsers \"false\""
      echo "show_hidden_hosts \"true\""
      echo "auth \"127.0.0.2\" \"$SMBQ_TEST_USER\" \"$SMBQ_PASSWORD\""
      echo "host 127.0.0.2 visible=true"
    } >"$home/.smb/smbnetfs.conf"
    printf '[global]\n  disable netbios = yes\n  name resolve order = host\n' \
      >"$home/.smb/smb.conf"
    chmod -R go-rwx "$home"
    HOME=$home smbnetfs "$dir" -f -o "config=$home/.smb/smbnetfs.conf" 2>"$log" &
    ROOT=$dir/127.0.0.2/share ;;
  esac
  local pid=$!
  DAEMONS+=("$pid")
  MOUNT_PID=$pid
  mount_wait "$dir" "$pid" && return 0
  echo "  mounting $dir failed: $(tail -3 "$log" | tr '\n' ' ')"
  return 1
}

unmount_client() { # unmount_client DIR
  fusermount3 -u "$1" || fusermount3 -u -z "$1" || true
  for _ in $(seq 1 100); do
    kill -0 "$MOUNT_PID" 2>/dev/null || break
    sleep 0.05
  done
  kill "$MOUNT_PID" 2>/dev/null || true
  wait "$MOUNT_PID" 2>/dev/null || true
}

# run_client CLIENT: every step through a fresh mount
run_client() {
  local who=$1 m=$SMBQ_TEST_DIR/mnt-$1 t0 rt0 rt1 step
  echo "-- $who"
  t0=$EPOCHREALTIME
  if ! mount_client "$who" "$m"; then
    for step in "${STEPS[@]}"; do T[$who:$step]=fail; done
    return 0
  fi
  # the first access connects (smbnetfs, rclone: lazily): not timed
  ls "$ROOT" >/dev/null 2>&1 || true
  echo "  mounted and connected in $(secs "$t0" "$EPOCHREALTIME") s"
  local R=$ROOT
  local stats=
  if [ "$who" = smbq-mount ] && [ -n "$(rt_now "$m")" ]; then stats=1; STATS_OK=1; fi
  for step in "${STEPS[@]}"; do
    [ -z "$stats" ] || rt0=$(rt_now "$m")
    case $step in
    ls_cold | ls_warm)
      timed "$who" "$step" ls_l "$R/dir" || true
      check "$who" "$step" test "$(grep -c entry- "$W/ls.out")" -eq "$ENTRIES" ;;
    cat_cold | cat_warm)
      timed "$who" "$step" cat_null "$R/big" || true ;;
    untar)
      timed "$who" "$step" untar "$R/t-$who" || true
      check "$who" "$step" test "$(n_files "$S/t-$who")" -eq "$FILES" ;;
    rm)
      timed "$who" "$step" rm -rf "$R/t-$who" || true
      check "$who" "$step" test ! -e "$S/t-$who" ;;
    dd)
      timed "$who" "$step" dd if="$W/big" of="$R/dd-$who" bs=1M conv=fsync status=none || true
      check "$who" "$step" cmp -s "$W/big" "$S/dd-$who" ;;
    esac
    if [ -n "$stats" ]; then
      rt1=$(rt_now "$m")
      RT[$step]=$((rt1 - rt0))
    fi
  done
  # what cat read was the file (after the timing: cmp costs time)
  [ "${T[$who:cat_warm]}" = fail ] || cmp -s "$W/big" "$R/big" ||
    { echo "  $who: cat read wrong data"; T[$who:cat_cold]=fail; T[$who:cat_warm]=fail; }
  unmount_client "$m"
  rm -f "$S/dd-$who"
}

SQ=("$SMBQ" -U "$SMBQ_TEST_USER" -t tcp -p "$RELAY_PORT")
rtt=$((2 * DELAY_MS))
echo "== WAN benchmark: smbd on loopback through tcp_delay_relay, ${DELAY_MS} ms" \
  "each way (RTT ${rtt} ms) =="
echo "   $FILES files of 4 KiB, a directory of $ENTRIES entries, a file of $SIZE_MB MiB;"
echo "   each client with its defaults, one fresh mount each"
CLIENTS_RUN=()
for who in $CLIENTS; do
  case $who in
  smbq-mount) ;;
  rclone)
    command -v rclone >/dev/null || { echo "-- rclone: skipped (not installed)"; continue; } ;;
  smbnetfs)
    [ -z "$SMBNETFS_SKIP" ] || { echo "-- smbnetfs: skipped ($SMBNETFS_SKIP)"; continue; } ;;
  *) fail "unknown client $who (BENCH_CLIENTS)" ;;
  esac
  CLIENTS_RUN+=("$who")
  run_client "$who"
done

echo "-- smbq put, smbq ls (the CLI, through the same relay)"
timed smbq put "${SQ[@]}" put "$W/big" "//127.0.0.1/share/put-smbq" || true
check smbq put cmp -s "$W/big" "$S/put-smbq"
LS_RT=
if timed smbq ls "${SQ[@]}" -v ls "//127.0.0.1/share"; then
  LS_RT=$(sed -n 's/^round trips: \([0-9][0-9]*\).*/\1/p' "$W/err" | tail -1)
fi

# ---- report -----------------------------------------------------------------

ratio() { # ratio A B: A / B, or "-" when either is missing
  case "$1$2" in *fail* | *-*) echo "-"; return ;; esac
  awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3g", a / b; else print "-" }'
}
val() { echo "${T[$1]:--}"; }

echo
echo "seconds per step (lower is better); smbq-mount/PEER = time ratio," \
  "below 1: smbq-mount is faster"
hdr=$(printf '%-26s' step)
for who in "${CLIENTS_RUN[@]}"; do hdr+=$(printf ' %11s' "$who"); done
for who in "${CLIENTS_RUN[@]}"; do
  [ "$who" = smbq-mount ] || hdr+=$(printf ' %15s' "smbq-mount/$who")
done
[ -z "$STATS_OK" ] || hdr+=$(printf ' %12s' "round trips")
echo "$hdr"
for step in "${STEPS[@]}"; do
  line=$(printf '%-26s' "${LABEL[$step]}")
  for who in "${CLIENTS_RUN[@]}"; do line+=$(printf ' %11s' "$(val "$who:$step")"); done
  for who in "${CLIENTS_RUN[@]}"; do
    [ "$who" = smbq-mount ] ||
      line+=$(printf ' %15s' "$(ratio "$(val "smbq-mount:$step")" "$(val "$who:$step")")")
  done
  [ -z "$STATS_OK" ] || line+=$(printf ' %12s' "${RT[$step]:-n/a}")
  echo "$line"
done
printf '%-26s %11s\n' "smbq put $SIZE_MB MiB" "$(val smbq:put)"
printf '%-26s %11s %s\n' "smbq ls" "$(val smbq:ls)" \
  "(round trips: ${LS_RT:-n/a})"
[ -n "$STATS_OK" ] || echo "round trips: n/a (smbq use --stats unavailable)"
[ -n "$LS_RT" ] || echo "smbq ls round trips: n/a (smbq -v prints no round trips)"

# goal NAME VALUE VERDICT: one line of the goals
goal() { printf '  %-40s %-26s %s\n' "$1" "$2" "$3"; }
met() { # met VALUE OP LIMIT: "met", "NOT met", or "n/a" (no value)
  [[ $1 =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo n/a; return; }
  if awk -v v="$1" -v l="$3" "BEGIN { exit !(v $2 l) }"; then
    echo met
  else
    echo "NOT met"
  fi
}
per_file() { # per_file ROUND_TRIPS
  [ -n "${1:-}" ] || { echo n/a; return; }
  awk -v a="$1" -v n="$FILES" 'BEGIN { printf "%.2f", a / n }'
}

echo
echo "goals (smbq-mount, RTT ${rtt} ms):"
u=$(per_file "${RT[untar]:-}")
goal "untar <= 2 round trips per file" "$u" "$(met "$u" "<=" 2)"
r=$(per_file "${RT[rm]:-}")
goal "rm -rf <= 1.2 round trips per file" "$r" "$(met "$r" "<=" 1.2)"
w=$(val smbq-mount:cat_warm)
goal "warm $SIZE_MB MiB re-read < 0.15 s" "$w s" "$(met "$w" "<" 0.15)"
d=$(ratio "$(val smbq:put)" "$(val smbq-mount:dd)")
goal "mount dd >= 0.8 x smbq put (speed)" "$d x (dd $(val smbq-mount:dd) s, put $(val smbq:put) s)" \
  "$(met "$d" ">=" 0.8)"
goal "smbq ls <= 7 round trips" "${LS_RT:-n/a}" "$(met "${LS_RT:-n/a}" "<=" 7)"
