#!/usr/bin/env bash
# smbq-mount against `smbq get/put/cp` and smbclient, in one run on this
# machine, against the same smbd on loopback:
#  1. sequential read of one large file: dd through the mount, smbq get,
#     smbclient get (page cache dropped before each, then the server's
#     copy read back into it, so every reader starts with a cold client
#     cache and a warm server);
#  2. sequential write of it: cp into the mount, smbq put, smbclient put;
#  3. a tarball of BENCH_FILES small files: tar -x into the mount, against
#     tar -x into a local directory then `smbq cp -r`, and then
#     smbclient's `prompt off; recurse on; mput` (each checked complete).
# Over TCP, or with BENCH_TRANSPORT=quic the mount and smbq over QUIC
# (through tests/quic/quic_front; smbclient has TCP only). Rounds
# alternate the order; medians of MB/s or seconds, with the ratios
# mount/smbq and mount/smbclient (above 1: the mount is faster).
# Needs root (the Samba fixture, FUSE, drop_caches).
#   BENCH_SIZE_MB (default 1024)  BENCH_ROUNDS (default 3)
#   BENCH_FILES (default 3000)    BENCH_TRANSPORT (tcp|quic, default tcp)
#   SMBQ, SMBQ_MOUNT, SMBQ_QUIC_FRONT: binaries (default: build/)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$here/../../build
export SMBQ=${SMBQ:-$build/cli/smbq}
export SMBQ_MOUNT=${SMBQ_MOUNT:-$build/fuse/smbq-mount}
export SMBQ_QUIC_FRONT=${SMBQ_QUIC_FRONT:-$build/tests/quic/quic_front}
export SMBQ_TRANSPORT=${BENCH_TRANSPORT:-tcp}
. "$here/../e2e/fixture.sh"
SIZE_MB=${BENCH_SIZE_MB:-1024}
ROUNDS=${BENCH_ROUNDS:-3}
FILES=${BENCH_FILES:-3000}
if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/fuse ]; then
  echo "SKIP: needs root and /dev/fuse"
  exit 77
fi
# smbq use runs the smbq-mount found next to smbq, else in PATH
PATH="$(dirname "$SMBQ_MOUNT"):$PATH"
export PATH
fixture_start
W=$SMBQ_TEST_DIR/work
S=$SMBQ_TEST_SHAREDIR
M=$SMBQ_TEST_DIR/mnt
mkdir -p "$W" "$M"

bench_cleanup() {
  set +e
  cd /
  if awk -v m="$M" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo; then
    sq use "$M" --delete >/dev/null || fusermount3 -u -z "$M"
  fi
  fixture_cleanup
}
trap bench_cleanup EXIT

now() { date +%s.%N; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
mbps() { python3 -c "print(f'{$SIZE_MB / ($2 - $1):.0f}')"; }
secs() { python3 -c "print(f'{$2 - $1:.2f}')"; }

smbc() { # smbclient on the share with the fixture's user, signed
  smbclient "//127.0.0.1/share" -p "$SMBQ_TEST_PORT" \
    -U "$SMBQ_TEST_USER%$SMBQ_PASSWORD" --client-protection=sign "$@" \
    >"$W/smbclient.out" 2>&1 || { cat "$W/smbclient.out" >&2; return 1; }
}

# ---- data -------------------------------------------------------------------

head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom >"$S/big"
chown "$SMBQ_TEST_USER" "$S/big"
cp "$S/big" "$W/up"
# A tree of small files (0-8 KiB) in directories of 100, as a tarball.
python3 - "$W/src" "$FILES" <<'PY'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(4711)
for i in range(n):
    d = os.path.join(root, "d%03d" % (i // 100))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%04d.txt" % i), "wb") as f:
        f.write(rnd.randbytes(rnd.randrange(0, 8192)))
PY
tar -cf "$W/tree.tar" -C "$W" src
TREE_MB=$(du -sm --apparent-size "$W/src" | cut -f1)
sync

# ---- the mount --------------------------------------------------------------

sq use "$(url share)" "$M" >/dev/null
URL=$(url share)
TRANSPORT=$(sq use "$M" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["transport"])')

# ---- 1. sequential read -----------------------------------------------------

# Cold client side, warm server side, the same for every reader.
cold() {
  sync
  echo 3 >/proc/sys/vm/drop_caches
  cat "$S/big" >/dev/null
}

read_by() { # read_by mount|smbq|smbclient
  case $1 in
  mount) dd if="$M/big" of=/dev/null bs=1M status=none ;;
  smbq) sq get "$URL/big" - >/dev/null ;;
  smbclient) smbc -c 'get big /dev/null' ;;
  esac
}

write_by() { # write_by mount|smbq|smbclient: a new file each time
  rm -f "$S/up-$1"
  case $1 in
  mount) cp "$W/up" "$M/up-mount" ;;
  smbq) sq put "$W/up" "$URL/up-smbq" ;;
  smbclient) smbc -c "put $W/up up-smbclient" ;;
  esac
}

# untar_by mount|smbq|smbclient ROUND: the tree into a new directory on
# the share (through a local directory for smbq and smbclient)
untar_by() {
  local who=$1 dir=t-$1-$2
  case $who in
  mount)
    mkdir "$M/$dir"
    tar -xf "$W/tree.tar" -C "$M/$dir" ;;
  smbq)
    mkdir -p "$W/$dir"
    tar -xf "$W/tree.tar" -C "$W/$dir"
    sq cp -r --no-progress "$W/$dir/src" "$URL/$dir" >/dev/null ;;
  smbclient)
    mkdir -p "$W/$dir"
    tar -xf "$W/tree.tar" -C "$W/$dir"
    smbc -c "prompt off; recurse on; mkdir $dir; cd $dir; lcd $W/$dir; mput src" ;;
  esac
}

# The tree arrived whole: same number of files as the tarball.
check_tree() { # check_tree WHO ROUND
  local dir=$S/t-$1-$2 n
  n=$(find "$dir" -type f | wc -l)
  [ "$n" -eq "$FILES" ] || { echo "FAIL: $1 put $n of $FILES files" >&2; exit 1; }
  rm -rf "$dir" "$W/t-$1-$2"
}

declare -A R # R[kind:who] = the values of the rounds

# one_round KIND ROUND WHO...: time each WHO once, in the order given
one_round() {
  local kind=$1 round=$2 who t0 t1
  shift 2
  for who in "$@"; do
    case $kind in
    read)
      cold
      t0=$(now); read_by "$who"; t1=$(now)
      R[$kind:$who]+=" $(mbps "$t0" "$t1")" ;;
    write)
      sync
      t0=$(now); write_by "$who"; t1=$(now)
      R[$kind:$who]+=" $(mbps "$t0" "$t1")" ;;
    untar)
      sync
      t0=$(now); untar_by "$who" "$round"; t1=$(now)
      check_tree "$who" "$round"
      R[$kind:$who]+=" $(secs "$t0" "$t1")" ;;
    esac
  done
}

# bench KIND UNIT: warm-up, then ROUNDS rounds in alternating order
bench() {
  local kind=$1 unit=$2 i
  one_round "$kind" 0 mount smbq smbclient
  R=()
  for i in $(seq 1 "$ROUNDS"); do
    if [ $((i % 2)) -eq 1 ]; then
      one_round "$kind" "$i" mount smbq smbclient
    else
      one_round "$kind" "$i" smbclient smbq mount
    fi
  done
  local who m=() line=""
  for who in mount smbq smbclient; do
    # shellcheck disable=SC2086
    m+=("$(median ${R[$kind:$who]})")
    line+=$(printf '  %s %7s %s (%s)' "$who" "${m[-1]}" "$unit" "${R[$kind:$who]# }")
  done
  printf '%-6s%s\n' "$kind:" "$line"
  if [ "$unit" = s ]; then # time: the mount is faster when it takes less
    printf '%-6s  mount/smbq %s  mount/smbclient %s  (speed ratios)\n' "" \
      "$(ratio "${m[1]}" "${m[0]}")" "$(ratio "${m[2]}" "${m[0]}")"
  else
    printf '%-6s  mount/smbq %s  mount/smbclient %s\n' "" \
      "$(ratio "${m[0]}" "${m[1]}")" "$(ratio "${m[0]}" "${m[2]}")"
  fi
}

echo "smbq-mount vs smbq vs smbclient, loopback, mount and smbq over" \
  "${TRANSPORT^^} (smbclient: TCP), signed; ${ROUNDS} alternating rounds, median"
echo "large file: ${SIZE_MB} MiB; read: dd bs=1M from the mount after" \
  "drop_caches; write: cp into the mount"
bench read MB/s
bench write MB/s
echo "small files: tar -x of ${FILES} files (${TREE_MB} MB) into the mount;" \
  "smbq and smbclient: tar -x locally, then cp -r / mput (time includes both)"
bench untar s
