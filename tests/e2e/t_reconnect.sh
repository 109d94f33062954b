#!/usr/bin/env bash
# Transparent reconnect: the path to the server is cut and restored under
# smbq-mount and smbq, and work in flight carries on (durable handles
# reclaimed, requests re-sent), against a server granting durable handles
# (`posix locking = no`):
#  (h) the harness: a cut refuses (or swallows) new connections, a restore
#      lets them through again;
#  (a) dd conv=fsync of 24 MiB into the mount across a 4 s outage: exit 0,
#      the server's copy byte-exact;
#  (b) a file open for reading through the mount reads on across an outage;
#  (c) ls of the mount after an outage, with a file made on the server
#      meanwhile;
#  (d) smbq cp -r of a tree of 40 files (up to 8 MiB) to the server across
#      an outage: byte-exact;
#  (e) an outage longer than the reconnect timeout (-o reconnect_timeout=3,
#      cut for 8 s): a read made during it fails with EIO within timeout +
#      10 s, the mount's log names the outage, `smbq use` says Reconnecting;
#      after the restore the mount serves again without a remount;
#  (f) a share without durable handles: a file open for writing across an
#      outage fails with EIO or ESTALE, one open for reading only is
#      opened again by name and reads on, other operations go on;
#  (g) a silent path (requests outstanding, nothing comes back): noticed
#      within 10 s (a mount with reconnect timeout 2 fails a call within
#      15 s), a reader on another mount carries on once the path is back.
#      (t_hostile.sh covers a server silent from the start.)
#  (i) smbd restarted entirely: the durable handles it kept in memory are
#      gone: a file open for writing fails with EIO or ESTALE and the log
#      says what was lost, one open for reading reads on, new files work.
#  (j) smbq put and smbq cp stopped mid-file while smbd restarts (the
#      server loses the open they write to, as Samba also does when it
#      refuses a durable handle on reconnect): each says so, copies the
#      file again and succeeds, byte-exact.
#
# How the path is cut: the clients reach smbd only through something this
# script controls.
#   TCP, hard: tests/bench/tcp_delay_relay ($SMBQ_TCP_RELAY). SIGUSR1 resets
#     every relayed connection and refuses new ones, SIGUSR2 restores.
#   TCP, silent: a second relay, stopped with SIGSTOP (connections stay
#     open, bytes are queued, nothing is answered) and resumed with SIGCONT.
#   QUIC, hard: the QUIC front is stopped (its QUIC connections and its TCP
#     connections to smbd die with it; datagrams to its port get ICMP port
#     unreachable) and started again on the same UDP port
#     (fixture_front_restart); it knows none of the old connections.
#   QUIC, silent: one tests/quic/udp_relay per mount between it and the
#     front; SIGUSR2 toggles dropping every datagram.
#
# RECONNECT_CASES="h a b ..." runs only those cases (default: all), e.g. to
# see each one's result while another fails.
set -euo pipefail
. "$(dirname "$0")/mount_fixture.sh"
mount_fixture_need_fuse
fixture_need_tools python3 dd cmp diff timeout
T=${SMBQ_TRANSPORT:-tcp}
[ "$T" = quic ] ||
  : "${SMBQ_TCP_RELAY:?SMBQ_TCP_RELAY must point at tcp_delay_relay}"
[ "$T" = tcp ] ||
  : "${SMBQ_UDP_RELAY:?SMBQ_UDP_RELAY must point at udp_relay}"
CASES=${RECONNECT_CASES:-h a b c d e f g i j}
want() { [[ " $CASES " == *" $1 "* ]]; }

# ---- fixture ------------------------------------------------------------------

# Share "nodur" grants no durable handles, for (f).
export SMBQ_FIXTURE_EXTRA_SHARES='[nodur]
  path = @DIR@/nodur
  read only = no
  durable handles = no'
mount_fixture_start "posix locking = no" "kernel oplocks = no" \
  "kernel share modes = no"
mkdir "$SMBQ_TEST_DIR/nodur"
chown "$SMBQ_TEST_USER" "$SMBQ_TEST_DIR/nodur"
NODUR=$SMBQ_TEST_DIR/nodur

BG=()          # workers (dd, python, pollers): stopped first at exit;
               # those run under timeout(1) lead a process group of their
               # own, which is stopped as a whole
UDP_RELAYS=()  # udp_relay PIDs (QUIC silent path)
SILENT_UDP=()  # those the silent cut applies to

mount_cleanup_first() {
  local p _ alive
  # the path back first: a daemon waiting to reconnect may take up to its
  # reconnect timeout to exit otherwise
  restore_all
  for p in ${BG[@]+"${BG[@]}"}; do
    kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null
  done
  for _ in $(seq 1 10); do # 2 s to go, then SIGKILL
    alive=
    for p in ${BG[@]+"${BG[@]}"}; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ -n "$alive" ] || break
    sleep 0.2
  done
  for p in ${BG[@]+"${BG[@]}"}; do
    kill -9 -- "-$p" 2>/dev/null || kill -9 "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  for p in ${UDP_RELAYS[@]+"${UDP_RELAYS[@]}"}; do
    kill "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  # what a failed case left mounted under our temp dir (fg_mount lists it
  # in MOUNTS too; this is for anything else)
  awk -v d="$SMBQ_TEST_DIR/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo |
    while read -r m; do fusermount3 -u -z "$m" 2>/dev/null; done
}
trap 'exit 130' INT TERM

if [ "$T" = tcp ]; then
  fixture_tcp_relay 127.0.0.1:0 ||
    fail "tcp_delay_relay did not start: $(cat "$FIXTURE_TCP_RELAY_LOG")"
  HARD_RELAY=$FIXTURE_TCP_RELAY_PID
  HARD_RELAY_LOG=$FIXTURE_TCP_RELAY_LOG
  HARD_PORT=$FIXTURE_TCP_RELAY_PORT
  fixture_tcp_relay 127.0.0.1:0 ||
    fail "tcp_delay_relay did not start: $(cat "$FIXTURE_TCP_RELAY_LOG")"
  SILENT_RELAY=$FIXTURE_TCP_RELAY_PID
  SILENT_PORT=$FIXTURE_TCP_RELAY_PORT
  # sq and the mounts go through the hard relay from now on
  export SMBQ_TEST_PORT=$HARD_PORT
fi

# ---- cutting and restoring --------------------------------------------------

# n_lines FILE PATTERN: lines of FILE matching PATTERN
n_lines() { grep -c -- "$2" "$1" 2>/dev/null || true; }

# until_true SECONDS CMD...: CMD every 20 ms until it succeeds (0) or
# SECONDS pass (1)
until_true() {
  local end=$((SECONDS + $1))
  shift
  until "$@"; do
    [ "$SECONDS" -lt "$end" ] || return 1
    sleep 0.02
  done
}

relay_logged() { [ "$(n_lines "$HARD_RELAY_LOG" "$1")" -ge "$2" ]; }

cut_hard() {
  if [ "$T" = tcp ]; then
    local n
    n=$(n_lines "$HARD_RELAY_LOG" 'relay: cut$')
    kill -USR1 "$HARD_RELAY"
    until_true 5 relay_logged 'relay: cut$' $((n + 1)) ||
      fail "harness: the relay did not cut"
  else
    fixture_front_stop
  fi
}

restore_hard() {
  if [ "$T" = tcp ]; then
    local n
    n=$(n_lines "$HARD_RELAY_LOG" 'relay: restored$')
    kill -USR2 "$HARD_RELAY"
    until_true 5 relay_logged 'relay: restored$' $((n + 1)) ||
      fail "harness: the relay did not restore"
  else
    fixture_front_restart ||
      fail "harness: quic_front did not restart on port $FIXTURE_FRONT_PORT: $(tail -3 "$SMBQ_TEST_DIR/front.log")"
  fi
}

# Every path open again, whatever was cut; never fails (the EXIT trap).
restore_all() {
  local p
  # a stopped relay cannot take its SIGTERM either (fixture_tcp_relay_stop)
  for p in ${FIXTURE_TCP_RELAY_PIDS[@]+"${FIXTURE_TCP_RELAY_PIDS[@]}"}; do
    kill -CONT "$p" 2>/dev/null
    kill -USR2 "$p" 2>/dev/null
  done
  for p in ${SILENT_UDP[@]+"${SILENT_UDP[@]}"}; do
    udp_blackhole_now "$p" && kill -USR2 "$p" 2>/dev/null
  done
  if [ "$T" = quic ] && ! kill -0 "${FIXTURE_FRONT_PID:-x}" 2>/dev/null; then
    fixture_front_restart
  fi
  return 0
}

# For a cut sent from elsewhere (the watcher of (d)): "PID SIGNAL".
hard_cut_signal() {
  if [ "$T" = tcp ]; then echo "$HARD_RELAY USR1"; else echo "$FIXTURE_FRONT_PID TERM"; fi
}

is_stopped() { [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = T ]; }

# udp_relay_start: a UDP relay in front of the QUIC front, for one client;
# sets RELAY_PORT and RELAY_PID
udp_relay_start() {
  local base=$SMBQ_TEST_DIR/udp_relay.${#UDP_RELAYS[@]}
  "$SMBQ_UDP_RELAY" --upstream-port "$FIXTURE_FRONT_PORT" \
    --port-file "$base.port" --stats-file "$base.stats" >"$base.log" 2>&1 &
  RELAY_PID=$!
  UDP_RELAYS+=("$RELAY_PID")
  until_true 5 test -s "$base.port" ||
    fail "udp_relay did not start: $(cat "$base.log")"
  RELAY_PORT=$(cat "$base.port")
}

udp_relay_stats() { # udp_relay_stats PID: its stats file
  local i
  for i in "${!UDP_RELAYS[@]}"; do
    [ "${UDP_RELAYS[$i]}" != "$1" ] || echo "$SMBQ_TEST_DIR/udp_relay.$i.stats"
  done
}

# udp_blackhole_now PID: its silent path is on
udp_blackhole_now() { grep -qx "blackhole=1" "$(udp_relay_stats "$1")" 2>/dev/null; }

# udp_blackhole PID 0|1: the relay's silent path off or on (SIGUSR2
# toggles it; its stats file says which)
udp_blackhole() {
  local stats
  stats=$(udp_relay_stats "$1")
  grep -qx "blackhole=$2" "$stats" 2>/dev/null && return 0
  kill -USR2 "$1"
  until_true 5 grep -qx "blackhole=$2" "$stats" ||
    fail "harness: udp_relay $1 did not turn its silent path to $2"
}

cut_silent() {
  local p
  if [ "$T" = tcp ]; then
    kill -STOP "$SILENT_RELAY"
    until_true 5 is_stopped "$SILENT_RELAY" ||
      fail "harness: the silent relay did not stop"
  else
    for p in "${SILENT_UDP[@]}"; do udp_blackhole "$p" 1; done
  fi
}

restore_silent() {
  local p
  if [ "$T" = tcp ]; then
    kill -CONT "$SILENT_RELAY"
  else
    for p in "${SILENT_UDP[@]}"; do udp_blackhole "$p" 0; done
  fi
}

# ---- helpers ------------------------------------------------------------------

# A worker in the background, listed in BG: bg CMD... (sets BG_PID)
bg() {
  "$@" &
  BG_PID=$!
  BG+=("$BG_PID")
}

# reap PID: wait for a worker; RC is its exit status (never fails the
# script)
reap() {
  RC=0
  wait "$1" || RC=$?
}

secs_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# log_from FILE OFFSET: what FILE got after OFFSET bytes
log_size() { stat -c %s "$1" 2>/dev/null || echo 0; }
log_from() { tail -c +$(($2 + 1)) "$1" 2>/dev/null || true; }

# serves DIR NAME: `ls DIR` works and lists NAME
serves() { timeout 20 ls "$1" 2>/dev/null | grep -qx -- "$2"; }

# The reconnect lines a mount logged after OFFSET (information)
show_log() { # show_log LOG OFFSET WHAT
  local l
  l=$(log_from "$1" "$2" | grep -iE 'lost|reconnect|unreachable' | head -8 || true)
  [ -z "$l" ] || printf '   %s log: %s\n' "$3" "${l//$'\n'/$'\n   '"$3"' log: '}"
}

# Python helpers.
PY=$SMBQ_TEST_DIR/py
mkdir -p "$PY"

# reader.py FILE WANT HEAD READY GO [AGAIN]: read HEAD bytes of FILE, touch READY,
# wait for GO, read the rest; exit 0 if all is WANT's bytes
cat >"$PY/reader.py" <<'PY'
import os, sys, time
path, want, head, ready, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
# AGAIN (optional): what the first HEAD bytes must read as at the end,
# read again through the same descriptor (changed during the outage)
again = sys.argv[6] if len(sys.argv) > 6 else None
want = open(want, "rb").read()
f = open(path, "rb", buffering=0)
got = b""
while len(got) < head:
    got += f.read(min(1 << 20, head - len(got)))
open(ready, "w").close()
end = time.monotonic() + 60
while not os.path.exists(go):
    if time.monotonic() > end:
        sys.exit("never told to go on")
    time.sleep(0.01)
t0 = time.monotonic()
while True:
    b = f.read(1 << 20)
    if not b:
        break
    got += b
if again is not None:
    again = open(again, "rb").read()[:head]
    now = os.pread(f.fileno(), head, 0)
    if now != again:
        sys.exit("the first %d bytes, read again after the outage: %s" % (head,
                 "what was cached before it (stale)" if now == got[:head]
                 else "neither the old nor the new bytes"))
    print("   reader: the bytes changed during the outage read as the new ones")
f.close()
print("   reader: the rest (%d bytes) in %.1f s" % (len(got) - head, time.monotonic() - t0))
if got != want:
    sys.exit("read %d bytes, %s" % (len(got), "the right length but other bytes"
             if len(got) == len(want) else "want %d" % len(want)))
PY

# pace.py OUT MIB MS: MIB MiB of random bytes to OUT (a FIFO), one MiB
# every MS ms; a copy goes to OUT.src
cat >"$PY/pace.py" <<'PY'
import os, sys, time
out, mib, ms = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = open(out + ".src", "rb").read()
with open(out, "wb", buffering=0) as f:
    for i in range(mib):
        f.write(data[i << 20:(i + 1) << 20])
        time.sleep(ms / 1000)
PY

# call.py OP PATH: one call, its result and time: "ok SECONDS" or
# "ERRNO_NAME SECONDS"
cat >"$PY/call.py" <<'PY'
import errno, os, sys, time
op, path = sys.argv[1], sys.argv[2]
t0 = time.monotonic()
try:
    if op == "read":
        with open(path, "rb") as f:
            f.read()
    elif op == "mkdir":
        os.mkdir(path)
    elif op == "stat":
        os.stat(path)
    res = "ok"
except OSError as e:
    res = errno.errorcode.get(e.errno, str(e.errno))
print(res, "%.2f" % (time.monotonic() - t0))
PY

# writer.py FILE READY GO: write 1 MiB, fsync, touch READY; wait for GO,
# write 1 MiB more, fsync, close. Prints the first error: "ok" or
# "ERRNO_NAME at STEP"
cat >"$PY/writer.py" <<'PY'
import errno, os, sys, time
path, ready, go = sys.argv[1:4]
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, b"A" * (1 << 20))
os.fsync(fd)
open(ready, "w").close()
end = time.monotonic() + 90
while not os.path.exists(go):
    if time.monotonic() > end:
        sys.exit("never told to go on")
    time.sleep(0.01)
res = "ok"
for step, fn in (("write", lambda: os.write(fd, b"B" * (1 << 20))),
                 ("fsync", lambda: os.fsync(fd)), ("close", lambda: os.close(fd))):
    try:
        fn()
    except OSError as e:
        if res == "ok":
            res = "%s at %s" % (errno.errorcode.get(e.errno, str(e.errno)), step)
        if step != "close":
            try:
                os.close(fd)
            except OSError:
                pass
        break
print(res)
PY

# watch.py DIR BYTES PID SIG: once the files under DIR hold BYTES, send
# SIG to PID; prints how many bytes and files there were
cat >"$PY/watch.py" <<'PY'
import os, signal, sys, time
d, n, pid, sig = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
def count():
    b = f = 0
    for top, _, names in os.walk(d):
        for name in names:
            try:
                b += os.stat(os.path.join(top, name)).st_size
                f += 1
            except OSError:
                pass
    return b, f
end = time.monotonic() + 30
while (c := count())[0] < n:
    if time.monotonic() > end:
        sys.exit("not %d bytes under %s within 30 s" % (n, d))
    time.sleep(0.001)
os.kill(pid, getattr(signal, "SIG" + sig))
print(*c)
PY

rnd() { head -c "$2" /dev/urandom >"$1"; } # rnd FILE SIZE

M=$SMBQ_TEST_DIR/m
fg_mount "$M"
M_PID=$MOUNT_PID
echo "   transport $T; main mount $M"

# ---- (h) the harness ---------------------------------------------------------
if want h; then
  step "(h) harness: a hard cut refuses new connections, a restore lets them in"
  expect_rc 0 sq ls "$(url share)"
  cut_hard
  t0=$EPOCHREALTIME
  rc=0
  # shellcheck disable=SC2046
  timeout 25 "$SMBQ" -U "$SMBQ_TEST_USER" $(transport_opts) ls "$(url share)" \
    >/dev/null 2>"$W/h.err" || rc=$?
  [ "$rc" -ne 0 ] || fail "(h) smbq ls got through a hard cut"
  echo "   smbq ls during the cut: exit $rc after $(secs_since "$t0") s: $(head -1 "$W/h.err")"
  restore_hard
  until_true 10 sq ls "$(url share)" >/dev/null 2>&1 ||
    fail "(h) smbq ls does not get through after the restore"

  step "(h) harness: a silent cut swallows a new connection, a restore lets it in"
  if [ "$T" = tcp ]; then
    hport=$SILENT_PORT
  else
    udp_relay_start
    hport=$RELAY_PORT
    SILENT_UDP=("$RELAY_PID")
  fi
  hsq() { # smbq through the silent path
    if [ "$T" = tcp ]; then SMBQ_TEST_PORT=$hport sq "$@"; else SMBQ_TEST_QUIC_PORT=$hport sq "$@"; fi
  }
  hsq ls "$(url share)" >/dev/null || fail "(h) smbq ls through the silent path"
  cut_silent
  rc=0
  hsq ls "$(url share)" >/dev/null 2>&1 &
  hpid=$!
  sleep 4
  if kill -0 "$hpid" 2>/dev/null; then
    echo "   smbq ls during the silent cut: still waiting after 4 s (as it should)"
    kill "$hpid" 2>/dev/null || true
  fi
  reap "$hpid"
  rc=$RC
  [ "$rc" -ne 0 ] || fail "(h) smbq ls got through a silent cut"
  restore_silent
  until_true 10 hsq ls "$(url share)" >/dev/null 2>&1 ||
    fail "(h) smbq ls does not get through after the silent path is restored"
  SILENT_UDP=()
fi

# ---- (a) dd across an outage ---------------------------------------------------
if want a; then
  step "(a) dd of 24 MiB (conv=fsync) into the mount across a 4 s outage"
  # paced (1 MiB every 120 ms) so that the outage falls inside the copy
  mkfifo "$W/a.fifo"
  rnd "$W/a.fifo.src" $((24 << 20))
  bg timeout 60 python3 "$PY/pace.py" "$W/a.fifo" 24 120
  pace=$BG_PID
  bg timeout 120 dd if="$W/a.fifo" of="$M/a.bin" bs=1M count=24 iflag=fullblock \
    conv=fsync status=none
  dd_pid=$BG_PID
  off=$(log_size "$M.log")
  sleep 1
  kill -0 "$dd_pid" 2>/dev/null || { reap "$dd_pid"; fail "(a) dd ended before the cut (exit $RC)"; }
  cut_hard
  sleep 4
  restore_hard
  t0=$EPOCHREALTIME
  reap "$dd_pid"
  rc=$RC
  wait "$pace" 2>/dev/null || true
  show_log "$M.log" "$off" M
  [ "$rc" -eq 0 ] || fail "(a) dd exited $rc across the outage: $(log_from "$M.log" "$off" | tail -3)"
  echo "   dd finished $(secs_since "$t0") s after the restore"
  cmp "$W/a.fifo.src" "$S/a.bin" || fail "(a) the server's copy differs"
  cmp "$W/a.fifo.src" "$M/a.bin" || fail "(a) reading back through the mount differs"
fi

# ---- (b) a reader across an outage ----------------------------------------------
if want b; then
  step "(b) a file open for reading reads on across a 4 s outage"
  rnd "$W/b.bin" $((24 << 20))
  server_put "$W/b.bin" b.bin
  rm -f "$W/b.ready" "$W/b.go"
  bg timeout 120 python3 "$PY/reader.py" "$M/b.bin" "$W/b.bin" $((2 << 20)) "$W/b.ready" "$W/b.go"
  rd=$BG_PID
  until_true 20 test -e "$W/b.ready" || fail "(b) the reader did not start"
  off=$(log_size "$M.log")
  cut_hard
  touch "$W/b.go" # it reads on during the outage: those reads wait
  sleep 4
  restore_hard
  reap "$rd"
  rc=$RC
  show_log "$M.log" "$off" M
  [ "$rc" -eq 0 ] || fail "(b) the reader failed (exit $rc)"
fi

# ---- (c) ls after an outage --------------------------------------------------------
if want c; then
  step "(c) ls of the mount after an outage"
  echo before >"$S/c-before.txt"
  ls "$M" >/dev/null
  cut_hard
  echo during >"$S/c-during.txt" # made on the server during the outage
  sleep 4
  restore_hard
  until_true 60 serves "$M" c-during.txt ||
    fail "(c) ls of the mount after the outage: $(timeout 20 ls "$M" 2>&1 | tr '\n' ' ')"
  ls "$M" >"$W/c.ls"
  grep -qx c-before.txt "$W/c.ls" || fail "(c) c-before.txt missing from the listing"
  [ "$(cat "$M/c-during.txt")" = during ] || fail "(c) reading c-during.txt"
fi

# ---- (d) smbq cp -r across an outage ------------------------------------------------
if want d; then
  step "(d) smbq cp -r of 40 files to the server across a 4 s outage"
  python3 - "$W/tree" <<'PY'
import os, random, sys
r = random.Random(11)
d = sys.argv[1]
for i in range(40):
    sub = os.path.join(d, "d%d" % (i % 4))
    os.makedirs(sub, exist_ok=True)
    # big enough (about 130 MiB) that the copy is still going when the
    # watcher cuts, however fast this machine or slow the watcher
    n = r.choice([0, 1, 100, 4096, 65536, 300000, 1 << 20, 8 << 20, 8 << 20,
                  8 << 20, r.randrange(8 << 20)])
    with open(os.path.join(sub, "f%02d.bin" % i), "wb") as f:
        f.write(os.urandom(n))
PY
  # the cut comes from a watcher once the first MiB is on the server: on
  # loopback the whole copy takes a fraction of a second
  read -r cpid csig < <(hard_cut_signal)
  [ "$T" = quic ] || ncut=$(n_lines "$HARD_RELAY_LOG" 'relay: cut$')
  bg timeout 40 python3 "$PY/watch.py" "$S/tree" $((1 << 20)) "$cpid" "$csig" >"$W/d.watch"
  watcher=$BG_PID
  # shellcheck disable=SC2046
  bg timeout 90 "$SMBQ" -U "$SMBQ_TEST_USER" $(transport_opts) cp -r "$W/tree" \
    "$(url share)" 2>"$W/d.err"
  cp_pid=$BG_PID
  reap "$watcher"
  rc=$RC
  [ "$rc" -eq 0 ] || fail "(d) the watcher did not cut (exit $rc)"
  [ "$T" = quic ] || until_true 5 relay_logged 'relay: cut$' $((ncut + 1)) ||
    fail "harness: the relay did not cut"
  read -r nbytes nfiles <"$W/d.watch"
  kill -0 "$cp_pid" 2>/dev/null ||
    { reap "$cp_pid"; fail "(d) harness: smbq cp had finished (exit $RC) before the cut"; }
  echo "   cut with $nbytes of $(du -sb "$W/tree" | cut -f1) bytes ($nfiles files begun) on the server"
  sleep 4
  restore_hard
  t0=$EPOCHREALTIME
  reap "$cp_pid"
  rc=$RC
  [ "$rc" -eq 0 ] || fail "(d) smbq cp -r exited $rc across the outage$([ "$rc" -ne 124 ] || echo " (killed after 90 s)"), $(du -sb "$S/tree" | cut -f1) bytes on the server: $(tail -3 "$W/d.err")"
  echo "   smbq cp finished $(secs_since "$t0") s after the restore"
  diff -r "$W/tree" "$S/tree" || fail "(d) the server's tree differs"
fi

# ---- (e) an outage longer than the reconnect timeout ---------------------------------
if want e; then
  step "(e) reconnect_timeout=3, an 8 s outage: calls fail, then it serves again"
  rnd "$W/e1.bin" $((1 << 20))
  rnd "$W/e2.bin" $((1 << 20))
  server_put "$W/e1.bin" e1.bin
  server_put "$W/e2.bin" e2.bin
  ME=$SMBQ_TEST_DIR/me
  fg_mount "$ME" -o reconnect_timeout=3
  ME_PID=$MOUNT_PID
  cmp "$W/e1.bin" "$ME/e1.bin" || fail "(e) reading e1.bin"
  USE_OK=1
  use_status() { "$SMBQ" use "$ME" 2>/dev/null | awk '$1 == "Status" { print $2 }'; }
  use_poll() { # what smbq use says, every 200 ms, until $W/e.stop
    while [ ! -e "$W/e.stop" ]; do
      use_status
      sleep 0.2
    done
  }
  if [ "$(use_status)" != OK ]; then
    USE_OK=
    echo "   skipped: the Reconnecting check: smbq use $ME says: $("$SMBQ" use "$ME" 2>&1 | tr '\n' ' ')"
  fi
  off=$(log_size "$ME.log")
  cut_hard
  tcut=$EPOCHREALTIME
  if [ -n "$USE_OK" ]; then
    bg use_poll >"$W/e.status"
  fi
  sleep 1
  # a file this mount never opened: its open must go to the server
  bg timeout 30 python3 "$PY/call.py" read "$ME/e2.bin" >"$W/e.call"
  call=$BG_PID
  # the outage lasts 8 s, or until the call has returned (17 s at most:
  # the call may take 3 s + 10 s to notice a dead QUIC path, + 1 s)
  while :; do
    el=$(secs_since "$tcut")
    if ! kill -0 "$call" 2>/dev/null; then
      awk -v e="$el" 'BEGIN { exit !(e >= 8) }' && break
    fi
    awk -v e="$el" 'BEGIN { exit !(e >= 17) }' && break
    sleep 0.1
  done
  restore_hard
  echo "   restored after $(secs_since "$tcut") s"
  touch "$W/e.stop"
  reap "$call"
  rc=$RC
  read -r res took <"$W/e.call" || true
  show_log "$ME.log" "$off" ME
  { [ "$rc" -eq 0 ] && [ -n "${res:-}" ]; } ||
    fail "(e) the read during the outage did not return within 30 s"
  echo "   read during the outage: ${res} after ${took} s"
  [ "$res" = EIO ] || fail "(e) the read during the outage gave '$res' after $took s, want EIO"
  awk -v t="$took" 'BEGIN { exit !(t <= 14) }' ||
    fail "(e) the read failed only after $took s (reconnect timeout 3 s + 10 s to notice, + 1 s)"
  log_from "$ME.log" "$off" | grep -qiE 'lost|unreachable|outage' ||
    fail "(e) the mount's log does not name the outage: $(log_from "$ME.log" "$off")"
  if [ -n "$USE_OK" ]; then
    grep -qx Reconnecting "$W/e.status" ||
      fail "(e) smbq use never said Reconnecting during the outage (it said: $(sort -u "$W/e.status" | tr '\n' ' '))"
    echo "   smbq use during the outage: $(uniq "$W/e.status" | tr '\n' ' ')"
  fi
  # the mount tries on and serves again, without a remount
  until_true 60 serves "$ME" e2.bin ||
    fail "(e) the mount does not serve again after the restore: $(log_from "$ME.log" "$off" | tail -3)"
  cmp "$W/e2.bin" "$ME/e2.bin" || fail "(e) reading e2.bin after the restore"
  cmp "$W/e1.bin" "$ME/e1.bin" || fail "(e) reading e1.bin after the restore"
  if [ -n "$USE_OK" ]; then
    until_true 10 test "$(use_status)" = OK ||
      fail "(e) smbq use says $(use_status) after the restore, want OK"
  fi
  fg_umount "$ME" "$ME_PID"
fi

# ---- (f) no durable handles ---------------------------------------------------------
if want f; then
  step "(f) a share without durable handles: a file open for writing fails, one open for reading reads on, the rest goes on"
  rnd "$W/f-other.bin" $((1 << 20))
  cp "$W/f-other.bin" "$NODUR/f-other.bin"
  chown "$SMBQ_TEST_USER" "$NODUR/f-other.bin"
  MF=$SMBQ_TEST_DIR/mf
  fg_mount_url "$MF" "$(url nodur)"
  MF_PID=$MOUNT_PID
  rm -f "$W/f.ready" "$W/f.go"
  bg timeout 150 python3 "$PY/writer.py" "$MF/f.bin" "$W/f.ready" "$W/f.go" >"$W/f.out"
  wr=$BG_PID
  until_true 20 test -e "$W/f.ready" || fail "(f) the writer did not start: $(cat "$W/f.out")"
  # and a file open for reading only: without a durable handle it is
  # opened again by its name, and reads on
  rnd "$W/f-read.bin" $((24 << 20))
  cp "$W/f-read.bin" "$NODUR/f-read.bin"
  chown "$SMBQ_TEST_USER" "$NODUR/f-read.bin"
  rm -f "$W/fr.ready" "$W/fr.go"
  bg timeout 150 python3 "$PY/reader.py" "$MF/f-read.bin" "$W/f-read.bin" \
    $((2 << 20)) "$W/fr.ready" "$W/fr.go" "$W/f-read.new"
  frd=$BG_PID
  until_true 20 test -e "$W/fr.ready" || fail "(f) the reader did not start"
  off=$(log_size "$MF.log")
  cut_hard
  # its first 2 MiB change on the server meanwhile, size and mtime kept
  # (as rsync -t would): only the lease under which the mount cached them
  # could tell, and it did not live through the outage
  rnd "$W/f-read.new" $((2 << 20))
  python3 - "$NODUR/f-read.bin" "$W/f-read.new" <<'PY'
import os, sys
st = os.stat(sys.argv[1])
with open(sys.argv[1], "r+b") as f:
    f.write(open(sys.argv[2], "rb").read())
os.utime(sys.argv[1], ns=(st.st_atime_ns, st.st_mtime_ns))
PY
  sleep 4
  restore_hard
  # other operations on the same mount go on while that handle is lost
  until_true 60 serves "$MF" f-other.bin ||
    fail "(f) the mount does not serve again after the restore: $(log_from "$MF.log" "$off" | tail -3)"
  cmp "$W/f-other.bin" "$MF/f-other.bin" || fail "(f) reading another file after the outage"
  echo "new after the outage" >"$MF/f-new.txt" || fail "(f) writing a new file after the outage"
  [ "$(cat "$NODUR/f-new.txt")" = "new after the outage" ] || fail "(f) the new file on the server"
  touch "$W/fr.go"
  reap "$frd"
  [ "$RC" -eq 0 ] || fail "(f) the file open for reading did not read on (exit $RC)"
  echo "   the file open for reading, without a durable handle: read on"
  touch "$W/f.go"
  reap "$wr"
  rc=$RC
  show_log "$MF.log" "$off" MF
  [ "$rc" -eq 0 ] || fail "(f) the writer failed (exit $rc): $(cat "$W/f.out")"
  res=$(cat "$W/f.out")
  echo "   the write after the outage: $res"
  case $res in
  EIO* | ESTALE*) ;;
  ok) fail "(f) writing to a handle the server could not keep succeeded (no durable handle: the data may have gone to a reopened file)" ;;
  *) fail "(f) writing to the lost handle: $res, want EIO or ESTALE" ;;
  esac
  cmp -n $((1 << 20)) <(head -c $((1 << 20)) /dev/zero | tr '\0' A) "$NODUR/f.bin" ||
    fail "(f) the MiB fsynced before the outage is not on the server"
  ls "$MF" >/dev/null || fail "(f) ls of the mount after the failed write"
  fg_umount "$MF" "$MF_PID"
fi

# ---- (g) a silent path -----------------------------------------------------------------
if want g; then
  step "(g) a silent path: noticed within 10 s, a reader carries on after it"
  rnd "$W/g.bin" $((16 << 20))
  server_put "$W/g.bin" g.bin
  rnd "$W/g0.bin" 4096
  server_put "$W/g0.bin" g0.bin
  # G1: default timeout, a reader; G0: reconnect timeout 2, a call that
  # must fail once the silence is noticed. Each through the silent path.
  G1=$SMBQ_TEST_DIR/g1
  G0=$SMBQ_TEST_DIR/g0
  SILENT_UDP=()
  if [ "$T" = tcp ]; then
    SMBQ_TEST_PORT=$SILENT_PORT fg_mount "$G1"
    G1_PID=$MOUNT_PID
    SMBQ_TEST_PORT=$SILENT_PORT fg_mount "$G0" --reconnect-timeout=2
    G0_PID=$MOUNT_PID
  else
    udp_relay_start
    SILENT_UDP+=("$RELAY_PID")
    SMBQ_TEST_QUIC_PORT=$RELAY_PORT fg_mount "$G1"
    G1_PID=$MOUNT_PID
    udp_relay_start
    SILENT_UDP+=("$RELAY_PID")
    SMBQ_TEST_QUIC_PORT=$RELAY_PORT fg_mount "$G0" --reconnect-timeout=2
    G0_PID=$MOUNT_PID
  fi
  ls "$G0" >/dev/null
  rm -f "$W/g.ready" "$W/g.go"
  bg timeout 150 python3 "$PY/reader.py" "$G1/g.bin" "$W/g.bin" $((2 << 20)) "$W/g.ready" "$W/g.go"
  rd=$BG_PID
  until_true 20 test -e "$W/g.ready" || fail "(g) the reader did not start"
  off0=$(log_size "$G0.log")
  off1=$(log_size "$G1.log")
  cut_silent
  tcut=$EPOCHREALTIME
  touch "$W/g.go"
  bg timeout 40 python3 "$PY/call.py" mkdir "$G0/g-during" >"$W/g.call"
  call=$BG_PID
  # silent for 12 s, or until the call has returned (18 s at most)
  while :; do
    el=$(secs_since "$tcut")
    if ! kill -0 "$call" 2>/dev/null; then
      awk -v e="$el" 'BEGIN { exit !(e >= 12) }' && break
    fi
    awk -v e="$el" 'BEGIN { exit !(e >= 18) }' && break
    sleep 0.1
  done
  restore_silent
  echo "   the path answers again after $(secs_since "$tcut") s"
  reap "$call"
  rc=$RC
  read -r res took <"$W/g.call" || true
  show_log "$G0.log" "$off0" G0
  { [ "$rc" -eq 0 ] && [ -n "${res:-}" ]; } ||
    fail "(g) the call during the silence did not return within 40 s"
  echo "   mkdir during the silence (reconnect timeout 2): $res after $took s"
  [ "$res" = EIO ] ||
    fail "(g) mkdir during the silence: '$res' after $took s, want EIO once the dead path is noticed"
  awk -v t="$took" 'BEGIN { exit !(t <= 15) }' ||
    fail "(g) the silent path was noticed only after $took s (within 10 s + the 2 s timeout)"
  reap "$rd"
  rc=$RC
  show_log "$G1.log" "$off1" G1
  [ "$rc" -eq 0 ] || fail "(g) the reader across the silence failed (exit $rc)"
  until_true 60 serves "$G0" g0.bin ||
    fail "(g) G0 does not serve again: $(log_from "$G0.log" "$off0" | tail -3)"
  cmp "$W/g0.bin" "$G0/g0.bin" || fail "(g) reading through G0 after the silence"
  fg_umount "$G0" "$G0_PID"
  fg_umount "$G1" "$G1_PID"
fi

# ---- (i) smbd restarted entirely ------------------------------------------------------
if want i; then
  step "(i) smbd restarted entirely: a file open for writing fails, one open for reading reads on, the mount serves"
  MI=$SMBQ_TEST_DIR/mi
  fg_mount "$MI"
  MI_PID=$MOUNT_PID
  rnd "$W/i-read.bin" $((24 << 20))
  server_put "$W/i-read.bin" i-read.bin
  rm -f "$W/i.ready" "$W/i.go" "$W/ir.ready" "$W/ir.go"
  bg timeout 150 python3 "$PY/writer.py" "$MI/i.bin" "$W/i.ready" "$W/i.go" >"$W/i.out"
  iwr=$BG_PID
  bg timeout 150 python3 "$PY/reader.py" "$MI/i-read.bin" "$W/i-read.bin" \
    $((2 << 20)) "$W/ir.ready" "$W/ir.go"
  ird=$BG_PID
  until_true 20 test -e "$W/i.ready" || fail "(i) the writer did not start: $(cat "$W/i.out")"
  until_true 20 test -e "$W/ir.ready" || fail "(i) the reader did not start"
  off=$(log_size "$MI.log")
  # a durable handle that is not persistent lives in the server's memory:
  # a restart loses it (MS-SMB2 3.3.5.9.7 finds nothing to reclaim)
  fixture_smbd_restart || fail "harness: smbd did not come back: $(tail -3 "$SMBQ_TEST_DIR/smbd.out")"
  touch "$W/ir.go"
  reap "$ird"
  [ "$RC" -eq 0 ] || fail "(i) the file open for reading did not read on after the restart (exit $RC)"
  until_true 60 serves "$MI" i-read.bin ||
    fail "(i) the mount does not serve after the restart: $(log_from "$MI.log" "$off" | tail -3)"
  touch "$W/i.go"
  reap "$iwr"
  show_log "$MI.log" "$off" MI
  res=$(cat "$W/i.out")
  echo "   the write after the restart: $res"
  case $res in
  EIO* | ESTALE*) ;;
  *) fail "(i) writing to a handle the restarted server lost: $res, want EIO or ESTALE" ;;
  esac
  log_from "$MI.log" "$off" | grep -qE "lost|reclaimed" ||
    fail "(i) the mount's log does not say what was lost: $(log_from "$MI.log" "$off" | tail -3)"
  echo "after the restart" >"$MI/i-new.txt" || fail "(i) writing a new file after the restart"
  [ "$(cat "$S/i-new.txt")" = "after the restart" ] || fail "(i) the new file on the server"
  fg_umount "$MI" "$MI_PID"
fi

# ---- (j) smbq put and cp when the server loses the open ---------------------------------
if want j; then
  step "(j) smbq put and smbq cp when smbd restarts mid-file: copied again, byte-exact"
  rnd "$W/j.bin" $((128 << 20))
  for tool in put cp; do
    mkdir -p "$S/j-$tool"
    chown "$SMBQ_TEST_USER" "$S/j-$tool"
    rm -f "$W/j.go"
    # the PID is smbq's from the start (exec), so the watcher can stop it
    # however fast the copy runs once it begins
    # shellcheck disable=SC2046
    bg timeout 120 bash -c 'until [ -e "$1" ]; do sleep 0.01; done; shift; exec "$@"' \
      j "$W/j.go" "$SMBQ" -U "$SMBQ_TEST_USER" $(transport_opts) "$tool" \
      "$W/j.bin" "$(url share)/j-$tool/j.bin" 2>"$W/j-$tool.err"
    jpid=$BG_PID
    bg timeout 40 python3 "$PY/watch.py" "$S/j-$tool" $((4 << 20)) "$jpid" STOP >"$W/j.watch"
    watcher=$BG_PID
    sleep 0.2 # the watcher runs
    touch "$W/j.go"
    reap "$watcher"
    [ "$RC" -eq 0 ] || fail "(j) harness: the watcher did not stop smbq $tool (exit $RC)"
    until_true 5 is_stopped "$jpid" || fail "(j) harness: smbq $tool is not stopped"
    read -r nbytes _ <"$W/j.watch"
    echo "   smbq $tool stopped with $nbytes bytes on the server; smbd restarts"
    fixture_smbd_restart || fail "harness: smbd did not come back: $(tail -3 "$SMBQ_TEST_DIR/smbd.out")"
    kill -CONT "$jpid"
    reap "$jpid"
    [ "$RC" -eq 0 ] || fail "(j) smbq $tool exited $RC after the server lost its open: $(tail -3 "$W/j-$tool.err")"
    grep -q "the server lost the open file with the connection; copying it again" "$W/j-$tool.err" ||
      fail "(j) smbq $tool did not say that it copies the file again: $(tail -3 "$W/j-$tool.err")"
    cmp "$W/j.bin" "$S/j-$tool/j.bin" || fail "(j) smbq $tool: the file on the server differs"
    [ ! -e "$S/j-$tool/j.bin.smbq-part" ] || fail "(j) smbq $tool left its .smbq-part"
    echo "   smbq $tool: $(grep -c 'copying it again' "$W/j-$tool.err") restart(s), byte-exact"
  done
fi

# ---- the main mount is still there --------------------------------------------------
step "the main mount serves and unmounts cleanly"
until_true 60 timeout 20 ls "$M" >/dev/null ||
  fail "the main mount does not serve at the end"
fg_umount "$M" "$M_PID"
echo "PASS"
