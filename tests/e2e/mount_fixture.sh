# shellcheck shell=bash
# FUSE mounts on top of the Samba fixture, for the tests that drive
# smbq-mount (sourced, bash; it sources fixture.sh itself).
#
#   mount_fixture_need_fuse          SMBQ_MOUNT must be set; skip (exit 77)
#                                    without root, /dev/fuse and fusermount3
#   mount_fixture_start [EXTRA_GLOBAL_LINE...]
#                                    fixture_start, then the EXIT trap
#                                    mount_cleanup; sets W (a work dir,
#                                    created) and S (the share's directory)
#   is_mounted DIR                   DIR is listed in /proc/self/mountinfo
#   mount_wait DIR PID               until DIR is mounted (0), or PID died
#                                    or 10 s passed (1)
#   mnt_opts                         the smbq flags for the fixture's user
#                                    and transport
#   fg_mount DIR [ARGS...]           smbq-mount -f of share "share" in our
#   fg_mount_url DIR URL [ARGS...]   background (or of URL); returns once
#                                    DIR is mounted, else fails. Sets
#                                    MOUNT_PID; its stderr is in DIR.log
#   fg_umount DIR PID                fusermount3 -u; the daemon must exit 0
#                                    with no sanitizer report
#   mount_tmpfs_share SHARE DIR SIZE FSNAME
#                                    a tmpfs of SIZE on DIR, owned by the
#                                    share user, added to smb.conf as share
#                                    SHARE; returns 1 if it cannot mount
#   step TEXT...                     progress in the test log ("== TEXT")
#
# Cleanup: what a test mounts or starts is listed in MOUNTS (mount
# points), DAEMONS (PIDs of the smbq-mount or other FUSE daemons we
# started) and TMPFS (tmpfs mount points); fg_mount, fg_mount_url and
# mount_tmpfs_share add to them, a test that mounts otherwise adds itself.
# mount_fixture_start empties them (a subshell with a fixture of its own
# never touches its parent's mounts) and sets `trap mount_cleanup EXIT`,
# replacing the trap fixture_start set; mount_cleanup ends by calling
# fixture_cleanup, so one EXIT trap does both. In order, mount_cleanup:
#   - runs mount_cleanup_first if the test defines it (processes that keep
#     files in a mount open, and must go before it is unmounted),
#   - unmounts each of MOUNTS still mounted (fusermount3 -u, else -u -z),
#   - kills and reaps each of DAEMONS, by PID,
#   - with a tmpfs listed: stops smbd first (it must let go of the tmpfs),
#     then unmounts each of TMPFS (umount, else umount -l),
#   - stops the TCP relays of fixture_tcp_relay (fixture_tcp_relay_stop),
#   - fixture_cleanup: the QUIC front and relay, smbd and its helpers (by
#     PID), the temp dir.
# A test that sets its own EXIT trap after mount_fixture_start must call
# mount_cleanup from it.

# shellcheck source-path=SCRIPTDIR source=fixture.sh
. "$(dirname "${BASH_SOURCE[0]}")/fixture.sh"

mount_fixture_need_fuse() {
  : "${SMBQ_MOUNT:?SMBQ_MOUNT must point at the smbq-mount binary}"
  if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/fuse ] || ! command -v fusermount3 >/dev/null; then
    echo "SKIP: needs root, /dev/fuse and fusermount3"
    exit 77
  fi
}

mount_fixture_start() {
  MOUNTS=()  # mount points we mounted (unmounted again in the EXIT trap)
  DAEMONS=() # PIDs of the FUSE daemons we started (killed in the EXIT trap)
  TMPFS=()   # tmpfs we mounted (unmounted in the EXIT trap, after smbd)
  fixture_start "$@"
  trap mount_cleanup EXIT
  W=$SMBQ_TEST_DIR/work
  # shellcheck disable=SC2034 # for the test that sources this
  S=$SMBQ_TEST_SHAREDIR
  mkdir -p "$W"
}

is_mounted() { # is_mounted DIR: listed in /proc/self/mountinfo
  awk -v m="$1" '$5 == m { found = 1 } END { exit !found }' /proc/self/mountinfo
}

mount_cleanup() {
  set +e
  cd /
  local m pid
  if declare -F mount_cleanup_first >/dev/null; then
    mount_cleanup_first
  fi
  for m in ${MOUNTS[@]+"${MOUNTS[@]}"}; do
    if is_mounted "$m"; then
      fusermount3 -u "$m" 2>/dev/null || fusermount3 -u -z "$m"
    fi
  done
  for pid in ${DAEMONS[@]+"${DAEMONS[@]}"}; do
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  if [ -n "${TMPFS[*]+x}" ]; then # a tmpfs listed
    # smbd must let go of a tmpfs before it can be unmounted: stop it
    # first (fixture_cleanup then finds it gone)
    if [ -n "${FIXTURE_SMBD_PID:-}" ]; then
      kill "$FIXTURE_SMBD_PID" 2>/dev/null
      wait "$FIXTURE_SMBD_PID" 2>/dev/null
    fi
    for m in "${TMPFS[@]}"; do
      is_mounted "$m" && { umount "$m" || umount -l "$m"; }
    done
  fi
  fixture_tcp_relay_stop
  fixture_cleanup
}

step() { echo "== $*"; } # progress in the test log

mnt_opts() { # the smbq flags for the fixture's user and transport
  echo "-U $SMBQ_TEST_USER $(transport_opts)"
}

# mount_wait DIR PID: 0 once DIR is mounted; 1 when PID (the daemon that
# mounts it) has died or after 10 s.
mount_wait() {
  local _
  for _ in $(seq 1 200); do
    is_mounted "$1" && return 0
    kill -0 "$2" 2>/dev/null || break
    sleep 0.05
  done
  return 1
}

# fg_mount_url DIR URL [ARGS...]: smbq-mount -f in the background of this
# shell; returns once DIR is mounted. Sets MOUNT_PID; stderr in DIR.log.
fg_mount_url() {
  local dir=$1 u=$2
  shift 2
  mkdir -p "$dir"
  MOUNTS+=("$dir")
  # shellcheck disable=SC2046
  "$SMBQ_MOUNT" -f "$u" "$dir" $(mnt_opts) "$@" 2>"$dir.log" &
  MOUNT_PID=$!
  DAEMONS+=("$MOUNT_PID")
  mount_wait "$dir" "$MOUNT_PID" && return 0
  cat "$dir.log" >&2
  fail "smbq-mount did not mount $dir"
}

# fg_mount DIR [ARGS...]: fg_mount_url of the fixture's share "share".
fg_mount() {
  local dir=$1
  shift
  fg_mount_url "$dir" "$(url share)" "$@"
}

# fg_umount DIR PID: fusermount3 -u, then the daemon must exit 0 (under
# ASan also: no leak, no error report).
fg_umount() {
  local dir=$1 pid=$2 rc=0
  fusermount3 -u "$dir" || fail "fusermount3 -u $dir failed"
  wait "$pid" || rc=$?
  [ "$rc" -eq 0 ] || { cat "$dir.log" >&2; fail "smbq-mount exited $rc after unmount"; }
  ! grep -q 'ERROR: \(Address\|Leak\|Undefined\)Sanitizer\|runtime error' "$dir.log" ||
    { cat "$dir.log" >&2; fail "sanitizer report from smbq-mount"; }
}

# mount_tmpfs_share SHARE DIR SIZE FSNAME: a small disk for a share that
# fills up. smbd reads its configuration anew for each connection, so the
# share is there for the next one.
mount_tmpfs_share() {
  local share=$1 dir=$2 size=$3 fsname=$4
  mkdir -p "$dir" || return 1
  mount -t tmpfs -o "size=$size,mode=0777" "$fsname" "$dir" || return 1
  TMPFS+=("$dir")
  chown "$SMBQ_TEST_USER" "$dir" || return 1
  printf '[%s]\n  path = %s\n  read only = no\n' "$share" "$dir" >>"$SMBQ_TEST_DIR/smb.conf"
}
