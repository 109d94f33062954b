# Throw-away Samba fixture for the e2e tests (sourced, bash).
#
#   fixture_start [EXTRA_GLOBAL_LINE...]   start smbd on a free loopback port
#
# With SMBQ_TRANSPORT=quic it also makes a test PKI and starts the QUIC
# front end ($SMBQ_QUIC_FRONT) before smbd: clients then reach the share as
# fsedge1.smbq.test over QUIC, and `sq` passes the matching options.
# fixture_relay [RELAY OPTIONS...] then puts the UDP impairment relay
# ($SMBQ_UDP_RELAY: delay, loss, reorder, NAT rebinding) in between.
#
# Optional hooks (unset = the defaults above): SMBQ_FIXTURE_SHARE_COMMENT
# and SMBQ_FIXTURE_ENC_COMMENT give [share] and [enc] a "comment =" line;
# SMBQ_FIXTURE_EXTRA_SHARES is smb.conf text appended after [enc] (more
# shares; "@DIR@" in it becomes the fixture's temp dir).
#
# Exports SMBQ_TEST_HOST, SMBQ_TEST_PORT, SMBQ_TEST_USER, SMBQ_PASSWORD,
# SMBQ_TEST_SHAREDIR (share "share"), SMBQ_TEST_ENCDIR (share "enc", which
# requires encryption), SMBQ_TEST_DIR. Everything lives in a temp dir; an
# EXIT trap stops the smbd we started (by PID) and removes the dir.
# Needs root (smbd, useradd). Several fixtures may run in parallel.

SMBQ_TEST_USER=smbqtest

fixture_free_port() {
  python3 - <<'EOF'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

# Skip (exit 77, saying why) unless every TOOL is installed.
fixture_need_tools() { # fixture_need_tools TOOL...
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || {
      echo "SKIP: $tool is not installed (run scripts/install-deps.sh)"
      exit 77
    }
  done
}

fixture_skip_unless_root() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: the Samba fixture needs root (smbd, useradd)"
    exit 77
  fi
  fixture_need_tools smbd
}

# A mount namespace of a test's own (unshare -m, ip netns exec) starts with
# copies of every mount of the moment, other tests' FUSE mounts included:
# while such a copy lives, unmounting the original does not end that
# mount's daemon, and the other test waits for it. Call this first thing
# inside the new namespace to detach the copies (the originals stay).
fixture_drop_foreign_mounts() {
  local t
  { findmnt -rn -t fuse.smbq-mount -o TARGET 2>/dev/null || true; } |
    while read -r t; do
      umount -l "$(printf '%b' "$t")" 2>/dev/null || true
    done
}

fixture_cleanup() {
  fixture_relay_stop
  if [ -n "${FIXTURE_FRONT_PID:-}" ]; then
    kill "$FIXTURE_FRONT_PID" 2>/dev/null || true
    wait "$FIXTURE_FRONT_PID" 2>/dev/null || true
  fi
  if [ -n "${FIXTURE_SMBD_PID:-}" ]; then
    kill "$FIXTURE_SMBD_PID" 2>/dev/null || true
    wait "$FIXTURE_SMBD_PID" 2>/dev/null || true
  fi
  # smbd starts samba-dcerpcd (and its rpcd_* workers) on demand for RPC
  # pipes such as srvsvc; they outlive smbd. They are ours: they run with
  # this fixture's own configuration file.
  if [ -n "${SMBQ_TEST_DIR:-}" ]; then
    local pids
    pids=$(pgrep -f -- "--configfile=$SMBQ_TEST_DIR/smb.conf" || true)
    # shellcheck disable=SC2086
    [ -z "$pids" ] || kill $pids 2>/dev/null || true
  fi
  if [ -n "${SMBQ_TEST_DIR:-}" ] && [ -d "$SMBQ_TEST_DIR" ]; then
    rm -rf "$SMBQ_TEST_DIR"
  fi
}

fixture_start() {
  fixture_skip_unless_root
  id "$SMBQ_TEST_USER" >/dev/null 2>&1 ||
    useradd -M -s /usr/sbin/nologin "$SMBQ_TEST_USER"
  SMBQ_TEST_DIR=$(mktemp -d /tmp/smbq-e2e.XXXXXX)
  chmod 755 "$SMBQ_TEST_DIR"
  trap fixture_cleanup EXIT
  local d=$SMBQ_TEST_DIR
  mkdir -p "$d"/{private,lock,state,cache,pid,ncalrpc,winbindd,share,enc}
  chown "$SMBQ_TEST_USER" "$d/share" "$d/enc"
  SMBQ_TEST_PORT=$(fixture_free_port)
  {
    echo "[global]"
    echo "  server role = standalone server"
    echo "  smb ports = $SMBQ_TEST_PORT"
    echo "  interfaces = lo"
    echo "  bind interfaces only = yes"
    echo "  disable netbios = yes"
    echo "  private dir = $d/private"
    echo "  lock directory = $d/lock"
    echo "  state directory = $d/state"
    echo "  cache directory = $d/cache"
    echo "  pid directory = $d/pid"
    echo "  ncalrpc dir = $d/ncalrpc"
    echo "  winbindd socket directory = $d/winbindd"
    echo "  passdb backend = tdbsam:$d/private/passdb.tdb"
    echo "  log file = $d/log.%m"
    echo "  log level = 1"
    echo "  load printers = no"
    echo "  printing = bsd"
    echo "  printcap name = /dev/null"
    echo "  disable spoolss = yes"
    echo "  map to guest = never"
    local line
    for line in "$@"; do echo "  $line"; done
    echo "[share]"
    echo "  path = $d/share"
    echo "  read only = no"
    [ -z "${SMBQ_FIXTURE_SHARE_COMMENT:-}" ] ||
      echo "  comment = $SMBQ_FIXTURE_SHARE_COMMENT"
    echo "[enc]"
    echo "  path = $d/enc"
    echo "  read only = no"
    echo "  smb encrypt = required"
    [ -z "${SMBQ_FIXTURE_ENC_COMMENT:-}" ] ||
      echo "  comment = $SMBQ_FIXTURE_ENC_COMMENT"
    [ -z "${SMBQ_FIXTURE_EXTRA_SHARES:-}" ] ||
      printf '%s\n' "${SMBQ_FIXTURE_EXTRA_SHARES//@DIR@/$d}"
  } >"$d/smb.conf"
  SMBQ_PASSWORD="pw-$RANDOM-$RANDOM-x"
  printf '%s\n%s\n' "$SMBQ_PASSWORD" "$SMBQ_PASSWORD" |
    smbpasswd -c "$d/smb.conf" -s -a "$SMBQ_TEST_USER" >/dev/null 2>&1
  # setsid: smbd gets its own process group, so its exit cannot signal ours
  setsid smbd -F --no-process-group -s "$d/smb.conf" </dev/null \
    >"$d/smbd.out" 2>&1 &
  FIXTURE_SMBD_PID=$!
  local i
  for i in $(seq 1 100); do
    if python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(s.connect_ex(('127.0.0.1', $SMBQ_TEST_PORT)))" 2>/dev/null; then
      break
    fi
    if ! kill -0 "$FIXTURE_SMBD_PID" 2>/dev/null; then
      echo "FAIL: smbd exited at start:" >&2
      cat "$d/smbd.out" >&2
      exit 1
    fi
    sleep 0.05
  done
  SMBQ_TEST_HOST=127.0.0.1
  SMBQ_TEST_SHAREDIR=$d/share
  SMBQ_TEST_ENCDIR=$d/enc
  export SMBQ_TEST_HOST SMBQ_TEST_PORT SMBQ_TEST_USER SMBQ_PASSWORD \
    SMBQ_TEST_SHAREDIR SMBQ_TEST_ENCDIR SMBQ_TEST_DIR
  # the transport cache of `auto` goes here, never into root's home
  export XDG_CACHE_HOME=$d/xdg-cache
  # no smbq.conf from /etc or home (smbq.conf(5)); t_config.sh tests them
  export SMBQ_CONFIG=/dev/null
  if [ "${SMBQ_TRANSPORT:-tcp}" = quic ]; then
    fixture_front "$SMBQ_TEST_PORT" server
  fi
}

# Stop smbd entirely (its whole process group: every client's process)
# and start it again on the same port with the same configuration, as a
# server restarted: what it kept in memory (sessions, durable handles
# that are not persistent) is gone. Returns 1 if it did not come back.
fixture_smbd_restart() {
  local d=$SMBQ_TEST_DIR i
  kill -TERM -- "-$FIXTURE_SMBD_PID" 2>/dev/null || true
  wait "$FIXTURE_SMBD_PID" 2>/dev/null || true
  for i in $(seq 1 100); do
    python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(s.connect_ex(('127.0.0.1', $SMBQ_TEST_PORT)) == 0)" 2>/dev/null && break
    sleep 0.05
  done
  setsid smbd -F --no-process-group -s "$d/smb.conf" </dev/null \
    >>"$d/smbd.out" 2>&1 &
  FIXTURE_SMBD_PID=$!
  for i in $(seq 1 100); do
    python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(s.connect_ex(('127.0.0.1', $SMBQ_TEST_PORT)))" 2>/dev/null && return 0
    kill -0 "$FIXTURE_SMBD_PID" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

# The test PKI (tests/quic/certs.sh), made once per fixture.
fixture_pki() {
  SMBQ_TEST_PKI=$SMBQ_TEST_DIR/pki
  [ -f "$SMBQ_TEST_PKI/ca.pem" ] ||
    bash "$(dirname "${BASH_SOURCE[0]}")/../quic/certs.sh" "$SMBQ_TEST_PKI"
  export SMBQ_TEST_PKI
}

# Start the QUIC front for backend TCP port $1 with certificate $2 (a name
# from certs.sh) and extra front options; sets SMBQ_TEST_QUIC_PORT.
fixture_front() {
  local backend=$1 cert=$2
  shift 2
  fixture_pki
  local pf=$SMBQ_TEST_DIR/front.port
  rm -f "$pf"
  FIXTURE_FRONT_ARGS=(--cert "$SMBQ_TEST_PKI/$cert.pem"
    --key "$SMBQ_TEST_PKI/$cert.key" --backend "$backend" "$@")
  "${SMBQ_QUIC_FRONT:?SMBQ_QUIC_FRONT must point at quic_front}" \
    "${FIXTURE_FRONT_ARGS[@]}" --port-file "$pf" \
    >"$SMBQ_TEST_DIR/front.log" 2>&1 &
  FIXTURE_FRONT_PID=$!
  local i
  for i in $(seq 1 100); do [ -s "$pf" ] && break; sleep 0.05; done
  [ -s "$pf" ] || fail "quic_front did not start: $(cat "$SMBQ_TEST_DIR/front.log")"
  SMBQ_TEST_QUIC_PORT=$(cat "$pf")
  FIXTURE_FRONT_PORT=$SMBQ_TEST_QUIC_PORT
  SMBQ_TEST_HOST=fsedge1.smbq.test
  export SMBQ_TEST_QUIC_PORT SMBQ_TEST_HOST
}

# Stop the QUIC front (SIGTERM; it sends nothing to its clients): every
# QUIC connection through it dies, and with it the front's TCP connection
# to smbd. fixture_front_restart starts it again with the same options on
# the same UDP port ($FIXTURE_FRONT_PORT), as a server coming back (the
# old connections stay dead: it knows none of their connection IDs), and
# returns 1 if it did not come up (the reason is in front.log).
fixture_front_stop() {
  if [ -n "${FIXTURE_FRONT_PID:-}" ]; then
    kill "$FIXTURE_FRONT_PID" 2>/dev/null || true
    wait "$FIXTURE_FRONT_PID" 2>/dev/null || true
    FIXTURE_FRONT_PID=
  fi
}

fixture_front_restart() {
  fixture_front_stop
  local pf=$SMBQ_TEST_DIR/front.port i
  rm -f "$pf"
  "$SMBQ_QUIC_FRONT" "${FIXTURE_FRONT_ARGS[@]}" --listen "$FIXTURE_FRONT_PORT" \
    --port-file "$pf" >>"$SMBQ_TEST_DIR/front.log" 2>&1 &
  FIXTURE_FRONT_PID=$!
  for i in $(seq 1 100); do [ -s "$pf" ] && break; sleep 0.05; done
  [ -s "$pf" ]
}

# Put the UDP impairment relay ($SMBQ_UDP_RELAY, tests/quic/udp_relay.c)
# in front of the running QUIC front: fixture_relay [RELAY OPTIONS...]
# (--delay-ms MS, --loss PCT, --reorder PCT, --seed N,
# --rebind-after-bytes N; kill -USR2 "$FIXTURE_RELAY_PID" toggles dropping
# every datagram, a silent path). Sets FIXTURE_RELAY_PID and points
# SMBQ_TEST_QUIC_PORT at the relay, so `sq` goes through it. The relay
# keeps its counters in $FIXTURE_RELAY_STATS (read them with relay_stat)
# and its log in $SMBQ_TEST_DIR/relay.log.
fixture_relay() {
  local pf=$SMBQ_TEST_DIR/relay.port
  rm -f "$pf"
  FIXTURE_RELAY_STATS=$SMBQ_TEST_DIR/relay.stats
  "${SMBQ_UDP_RELAY:?SMBQ_UDP_RELAY must point at udp_relay}" \
    --upstream-port "${SMBQ_TEST_QUIC_PORT:?start the QUIC front first}" \
    --port-file "$pf" --stats-file "$FIXTURE_RELAY_STATS" "$@" \
    >"$SMBQ_TEST_DIR/relay.log" 2>&1 &
  FIXTURE_RELAY_PID=$!
  local i
  for i in $(seq 1 100); do [ -s "$pf" ] && break; sleep 0.05; done
  [ -s "$pf" ] || fail "udp_relay did not start: $(cat "$SMBQ_TEST_DIR/relay.log")"
  SMBQ_TEST_QUIC_PORT=$(cat "$pf")
  export SMBQ_TEST_QUIC_PORT
}

# Stop the relay we started (it writes its final counters on SIGTERM).
fixture_relay_stop() {
  if [ -n "${FIXTURE_RELAY_PID:-}" ]; then
    kill "$FIXTURE_RELAY_PID" 2>/dev/null || true
    wait "$FIXTURE_RELAY_PID" 2>/dev/null || true
    FIXTURE_RELAY_PID=
  fi
}

# One relay counter, e.g. relay_stat rebinds, relay_stat up_dropped
# (up: client -> server, down: server -> client); 0 before the first.
relay_stat() {
  local v
  v=$(sed -n "s/^$1=//p" "$FIXTURE_RELAY_STATS" 2>/dev/null || true)
  echo "${v:-0}"
}

# Options that make smbq use the fixture's transport.
transport_opts() {
  if [ "${SMBQ_TRANSPORT:-tcp}" = quic ]; then
    echo "-t quic --quic-port $SMBQ_TEST_QUIC_PORT --ca-file $SMBQ_TEST_PKI/ca.pem --resolve fsedge1.smbq.test:127.0.0.1"
  else
    echo "-t tcp -p $SMBQ_TEST_PORT"
  fi
}

# smbq with the fixture's user, transport and port: sq ARGS...
sq() {
  # shellcheck disable=SC2046
  "${SMBQ:?SMBQ must point at the smbq binary}" -U "$SMBQ_TEST_USER" \
    $(transport_opts) "$@"
}

# smbq as another user: sq_as USER ARGS...
sq_as() {
  local user=$1
  shift
  # shellcheck disable=SC2046
  "$SMBQ" -U "$user" $(transport_opts) "$@"
}

# The share URL: url share [path]
url() {
  echo "//$SMBQ_TEST_HOST/$1${2:+/$2}"
}

# Assertions: each prints what failed and exits 1.
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

expect_rc() { # expect_rc WANT CMD...
  local want=$1
  shift
  local rc=0
  "$@" >"$SMBQ_TEST_DIR/out" 2>"$SMBQ_TEST_DIR/err" || rc=$?
  if [ "$rc" -ne "$want" ]; then
    cat "$SMBQ_TEST_DIR/err" >&2
    fail "'$*' exited $rc, expected $want"
  fi
}

expect_stderr() { # expect_stderr PATTERN (after expect_rc)
  grep -qiE "$1" "$SMBQ_TEST_DIR/err" ||
    fail "stderr does not mention '$1': $(cat "$SMBQ_TEST_DIR/err")"
}

same_file() { # same_file A B
  [ "$(sha256sum <"$1")" = "$(sha256sum <"$2")" ] ||
    fail "$1 and $2 differ"
}

# Files created on the server side must belong to the share user.
server_put() { # server_put SRC DEST_IN_SHARE
  cp "$1" "$SMBQ_TEST_SHAREDIR/$2"
  chown "$SMBQ_TEST_USER" "$SMBQ_TEST_SHAREDIR/$2"
}

# Environment for programs configured by examples/example_opts.h.
export_example_env() {
  export SMBQ_USER=$SMBQ_TEST_USER SMBQ_PORT=$SMBQ_TEST_PORT
  if [ "${SMBQ_TRANSPORT:-tcp}" = quic ]; then
    export SMBQ_QUIC_PORT=$SMBQ_TEST_QUIC_PORT
    export SMBQ_CA_FILE=$SMBQ_TEST_PKI/ca.pem SMBQ_RESOLVE=127.0.0.1
  fi
}

# Put the TCP delay relay ($SMBQ_TCP_RELAY, tests/bench/tcp_delay_relay.c)
# in front of the fixture's smbd: fixture_tcp_relay ADDR:PORT [OPTIONS...]
# listens on ADDR:PORT (port 0: a free one) with relay options such as
# --delay-ms MS (added each way) or --max-queue BYTES. Sets
# FIXTURE_TCP_RELAY_PID and FIXTURE_TCP_RELAY_PORT (where it listens);
# returns 1 if it could not listen there (the reason is in
# $FIXTURE_TCP_RELAY_LOG), so a caller can skip what needs that address.
# Several relays may run at once; fixture_tcp_relay_stop stops them all
# (call it from your EXIT trap; the relays also die with this shell).
# kill -USR1 "$FIXTURE_TCP_RELAY_PID" cuts every relayed connection and
# refuses new ones, kill -USR2 restores.
fixture_tcp_relay() {
  local listen=$1 i
  shift
  FIXTURE_TCP_RELAY_N=$((${FIXTURE_TCP_RELAY_N:-0} + 1))
  local base=$SMBQ_TEST_DIR/tcp_relay.$FIXTURE_TCP_RELAY_N
  FIXTURE_TCP_RELAY_LOG=$base.log
  "${SMBQ_TCP_RELAY:?SMBQ_TCP_RELAY must point at tcp_delay_relay}" \
    --listen "$listen" --target "127.0.0.1:$SMBQ_TEST_PORT" \
    --port-file "$base.port" "$@" >"$FIXTURE_TCP_RELAY_LOG" 2>&1 &
  FIXTURE_TCP_RELAY_PID=$!
  FIXTURE_TCP_RELAY_PIDS+=("$FIXTURE_TCP_RELAY_PID")
  for i in $(seq 1 100); do
    [ -s "$base.port" ] && break
    kill -0 "$FIXTURE_TCP_RELAY_PID" 2>/dev/null || break
    sleep 0.05
  done
  if [ ! -s "$base.port" ]; then
    fixture_tcp_relay_stop_one "$FIXTURE_TCP_RELAY_PID"
    return 1
  fi
  FIXTURE_TCP_RELAY_PORT=$(cat "$base.port")
}

fixture_tcp_relay_stop_one() { # fixture_tcp_relay_stop_one PID
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# Stop every relay fixture_tcp_relay started (each prints its counters to
# its log as it stops).
fixture_tcp_relay_stop() {
  local pid
  for pid in ${FIXTURE_TCP_RELAY_PIDS[@]+"${FIXTURE_TCP_RELAY_PIDS[@]}"}; do
    fixture_tcp_relay_stop_one "$pid"
  done
  FIXTURE_TCP_RELAY_PIDS=()
}
