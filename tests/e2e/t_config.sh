#!/usr/bin/env bash
# smbq.conf: precedence (defaults < /etc/smbq/smbq.conf < the user's file
# < environment < command line; [server NAME] over [global]) and the
# origins `smbq config` prints; per-server ports and addresses that alone
# make a connection work; a client certificate per server against a
# front that requires one; quic = off with an exception; syntax errors
# (exit 2, FILE:LINE) and unknown keys (a warning); reconnect_timeout
# (and --reconnect-timeout of smbq and smbq-mount): values, precedence,
# errors.
# The real /etc and home are never touched: /etc/smbq comes from an
# overlay in a private mount namespace, the user's file from
# $XDG_CONFIG_HOME or $HOME in the test's directory.
set -euo pipefail
SMBQ_TRANSPORT=quic # the fixture starts the QUIC front as well as smbd
export -n SMBQ_TRANSPORT
. "$(dirname "$0")/fixture.sh"
unset SMBQ_USER SMBQ_PORT SMBQ_QUIC_PORT SMBQ_CA_FILE
fixture_start
D=$SMBQ_TEST_DIR
H=fsedge1.smbq.test
P=$SMBQ_TEST_PKI
TP=$SMBQ_TEST_PORT
QP=$SMBQ_TEST_QUIC_PORT
export HOME=$D/home XDG_CONFIG_HOME=$D/xdg
mkdir -p "$HOME/.config/smbq" "$XDG_CONFIG_HOME/smbq" "$D/up/smbq" "$D/work"
unset SMBQ_CONFIG # the fixture's /dev/null: here the default files count

# has KEY VALUE ORIGIN: `smbq config` (in out) shows KEY = VALUE # ORIGIN
has() {
  grep -qE "^$1 *= $2 +# $3\$" "$SMBQ_TEST_DIR/out" ||
    fail "no '$1 = $2 # $3' in:
$(cat "$SMBQ_TEST_DIR/out")"
}

# 1. Precedence and origins. /etc/smbq/smbq.conf is an overlay over /etc
# in a private mount namespace (the real /etc stays as it is).
cat >"$D/up/smbq/smbq.conf" <<'EOF'
[global]
port = 1001
quic_port = 2001
transport = tcp
user = sysuser
[server s1.test]
port = 1101
EOF
cat >"$XDG_CONFIG_HOME/smbq/smbq.conf" <<'EOF'
[global]
port = 1002
port = 1012
[server s1.test]
quic_port = 2102
address = 192.0.2.1
EOF
SYS=/etc/smbq/smbq.conf USR=$XDG_CONFIG_HOME/smbq/smbq.conf
with_etc() { # with_etc CMD...: run with the overlay on /etc
  unshare -m sh -c 'mount --make-rprivate / &&
    mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1,workdir=$2" /etc &&
    shift 2 && exec "$@"' sh "$D/up" "$D/work" "$@"
}
if with_etc true 2>/dev/null; then
  expect_rc 0 with_etc "$SMBQ" config
  grep -q "^# configuration file $SYS: read" "$D/out" || fail "$SYS not read"
  has port 1012 "$USR:3"             # user file over /etc, later line wins
  has quic_port 2001 "$SYS:3"
  has transport tcp "$SYS:4"
  has user sysuser "$SYS:5"
  expect_rc 0 with_etc "$SMBQ" config //S1.test
  has port 1101 "$SYS:7 \[server s1.test\]" # [server] over [global]
  has quic_port 2102 "$USR:5 \[server s1.test\]"
  has address 192.0.2.1 "$USR:6 \[server s1.test\]"
  SMBQ_PORT=1003 SMBQ_USER=envuser expect_rc 0 with_etc "$SMBQ" config //s1.test
  has port 1003 "environment SMBQ_PORT"
  has user envuser "environment SMBQ_USER"
  SMBQ_PORT=1003 expect_rc 0 with_etc "$SMBQ" -p 1004 -t quic config //s1.test
  has port 1004 "command line --port"
  has transport quic "command line --transport"
  expect_rc 0 with_etc "$SMBQ" --resolve s1.test:192.0.2.9 config //s1.test
  has address 192.0.2.9 "command line --resolve"
  echo "ok precedence: /etc < user file < environment < command line"
else
  echo "(no overlay mount here: the /etc layer is not checked)"
fi

# The user's file from $HOME when $XDG_CONFIG_HOME is not set.
printf '[global]\nquic_port = 3003\n' >"$HOME/.config/smbq/smbq.conf"
XDG_CONFIG_HOME= expect_rc 0 "$SMBQ" config
has quic_port 3003 "$HOME/.config/smbq/smbq.conf:2"
has port 445 default
# SMBQ_CONFIG and --config: that one file only; --no-config: none.
printf '[global]\ntransport = quic\n' >"$D/one.conf"
printf '[global]\ntransport = tcp\n' >"$D/two.conf"
SMBQ_CONFIG=$D/one.conf expect_rc 0 "$SMBQ" config
has transport quic "$D/one.conf:2"
has port 445 default
grep -q "configuration file $USR" "$D/out" && fail "user file read too"
SMBQ_CONFIG=$D/one.conf expect_rc 0 "$SMBQ" --config "$D/two.conf" config
has transport tcp "$D/two.conf:2"
expect_rc 0 "$SMBQ" --no-config config
has transport auto default
grep -q "^# configuration files: none (--no-config)" "$D/out" ||
  fail "--no-config"
SMBQ_CONFIG=$D/none.conf expect_rc 2 "$SMBQ" config
expect_stderr "cannot read configuration file $D/none.conf"
echo "ok SMBQ_CONFIG, --config, --no-config, \$HOME"

# 2. The connection works only thanks to the server's section: its
# address (fsedge1.smbq.test resolves nowhere), ports, CA and user.
C=$D/smbq.conf
export SMBQ_CONFIG=$C
printf 'hello\n' >"$SMBQ_TEST_SHAREDIR/hello.txt"
chown "$SMBQ_TEST_USER" "$SMBQ_TEST_SHAREDIR/hello.txt"
server_conf() { # server_conf [LINES...]: fsedge1's section plus LINES
  {
    echo "[server $H]"
    echo "address = 127.0.0.1"
    echo "port = $TP"
    echo "quic_port = $QP"
    echo "ca_file = $P/ca.pem"
    echo "user = $SMBQ_TEST_USER"
    printf '%s\n' "$@"
  } >"$C"
}
server_conf
for t in tcp quic; do
  expect_rc 0 "$SMBQ" -v -t $t cat "//$H/share/hello.txt"
  grep -qx hello "$D/out" || fail "cat over $t: $(cat "$D/out")"
  expect_stderr "connected to $H \(127.0.0.1:.*\) over $t:"
done
expect_rc 5 "$SMBQ" --no-config -U "$SMBQ_TEST_USER" -t tcp ls "//$H/share"
# the transport from the section; an smb:// port beats the file's
server_conf "transport = quic"
expect_rc 0 "$SMBQ" -v ls "//$H/share"
expect_stderr "over quic:"
server_conf "port = 1"
expect_rc 0 "$SMBQ" -t tcp ls "smb://$H:$TP/share"
# the user from the environment (below -U, above the file)
server_conf "user = nosuchuser"
SMBQ_USER=$SMBQ_TEST_USER expect_rc 0 "$SMBQ" -t tcp ls "//$H/share"
expect_rc 3 "$SMBQ" -t tcp ls "//$H/share"
expect_stderr "nosuchuser"
# the transport cache of auto where [global] says
server_conf
printf '[global]\ntransport_cache = %s\n' "$D/tcache" >>"$C"
expect_rc 0 "$SMBQ" -t auto ls "//$H/share"
grep -qE "^$H $TP $QP (tcp|quic)\$" "$D/tcache" ||
  fail "transport cache: $(cat "$D/tcache" 2>&1)"
echo "ok per-server address, ports, CA, transport and user; transport_cache"

# 3. A client certificate per server against a front that requires one
# and refuses client.pem: [server] client2 is mapped for this server and
# wins over [global]'s client; the command line wins over both.
# refused PATTERN CMD...: CMD fails saying PATTERN (which certificate was
# offered is the point here; exit statuses are t_quic_client_cert.sh's)
refused() {
  local pattern=$1 rc=0
  shift
  "$@" >"$D/out" 2>"$D/err" || rc=$?
  [ "$rc" -ne 0 ] || fail "'$*' was not refused"
  expect_stderr "$pattern"
}
kill "$FIXTURE_FRONT_PID"
wait "$FIXTURE_FRONT_PID" 2>/dev/null || true
fp=$(certtool --fingerprint --hash sha256 --infile "$P/client.pem" 2>/dev/null)
fixture_front "$TP" server --client-ca "$P/ca.pem" --require-client-cert \
  --deny "$fp"
QP=$SMBQ_TEST_QUIC_PORT
server_conf
refused "requires a client certificate" "$SMBQ" -t quic ls "//$H/share"
global_cert() { # [global] with client.pem, which the front refuses
  printf '[global]\nclient_cert = %s\nclient_key = %s\n' "$P/client.pem" \
    "$P/client.key" >>"$C"
}
global_cert
refused "refused our client certificate" "$SMBQ" -t quic ls "//$H/share"
server_conf "client_cert = $P/client2.pem" "client_key = $P/client2.key"
global_cert
expect_rc 0 "$SMBQ" -t quic ls "//$H/share"
expect_rc 0 "$SMBQ" config "//$H"
has client_cert "$P/client2.pem" "$C:7 \[server $H\]"
has client_key "$P/client2.key" "$C:8 \[server $H\]"
refused "refused our client certificate" "$SMBQ" -t quic \
  --client-cert "$P/client.pem" --client-key "$P/client.key" ls "//$H/share"
echo "ok client certificate per server"

# 4. quic = off, then with this server as an exception.
server_conf "client_cert = $P/client2.pem" "client_key = $P/client2.key"
printf '[global]\nquic = off\n' >>"$C"
expect_rc 3 "$SMBQ" -t quic ls "//$H/share"
expect_stderr "QUIC is disabled by policy"
expect_rc 0 "$SMBQ" -v ls "//$H/share" # auto: TCP only
expect_stderr "over tcp:"
printf 'quic_exceptions = other.test, FSEDGE1.smbq.test\n' >>"$C"
expect_rc 0 "$SMBQ" -v -t quic ls "//$H/share"
expect_stderr "over quic:"
expect_rc 0 "$SMBQ" config
has quic off "$C:10"
has quic_exceptions "other.test,FSEDGE1.smbq.test" "$C:11"
echo "ok quic = off with an exception"

# 5. Errors: a syntax error stops with status 2 and names the line; a bad
# value too; an unknown key or section is a warning naming its line.
server_conf "this line is not ini"
expect_rc 2 "$SMBQ" -t tcp ls "//$H/share"
expect_stderr "$C:7: syntax error"
server_conf "port = 99999"
expect_rc 2 "$SMBQ" config
expect_stderr "$C:7: port: invalid port '99999'"
server_conf "colour = blue" "[printers]" "x = 1"
expect_rc 0 "$SMBQ" -t tcp ls "//$H/share"
expect_stderr "warning: $C:7: unknown key 'colour' ignored"
expect_stderr "warning: $C:8: unknown section \[printers\]"
printf '[global]\naddress = 127.0.0.1\n' >"$D/bad.conf"
expect_rc 0 "$SMBQ" --config "$D/bad.conf" config
expect_stderr "warning: $D/bad.conf:2: 'address' belongs in a \[server NAME\]"
SMBQ_PORT=0 expect_rc 2 "$SMBQ" config
expect_stderr "environment variable SMBQ_PORT: invalid port"
echo "ok errors and warnings"

# 6. reconnect_timeout: 60 by default; from [global] and [server NAME],
# also written as the issue has it, "reconnect timeout" (a blank for the
# underscore); the command line over the file. 0 and 86400 are valid;
# 86401, -1 and words are not, in a file or on the command line of smbq
# and smbq-mount (--reconnect-timeout, -o reconnect_timeout=): status 2
# and a message naming the setting and the range.
: "${SMBQ_MOUNT:?SMBQ_MOUNT must point at the smbq-mount binary}"
expect_rc 0 "$SMBQ" --no-config config
has reconnect_timeout 60 default
printf '[global]\nreconnect timeout = 30\n' >"$C"
expect_rc 0 "$SMBQ" config
has reconnect_timeout 30 "$C:2"
printf '[global]\nreconnect_timeout = 30\n[server %s]\nReconnect_Timeout = 0\n' \
  "$H" >"$C"
expect_rc 0 "$SMBQ" config "//$H"
has reconnect_timeout 0 "$C:4 \[server $H\]"
expect_rc 0 "$SMBQ" --reconnect-timeout 86400 config "//$H"
has reconnect_timeout 86400 "command line --reconnect-timeout"
expect_rc 0 "$SMBQ" config //other.test
has reconnect_timeout 30 "$C:2"
expect_rc 0 "$SMBQ_MOUNT" --reconnect-timeout 0 -o reconnect_timeout=86400 \
  -o reconnect-timeout=7 --help
for v in 86401 -1 ten; do
  printf '[global]\nreconnect_timeout = %s\n' "$v" >"$C"
  expect_rc 2 "$SMBQ" config
  expect_stderr "$C:2: reconnect_timeout: invalid value '$v' \(expected seconds, 0-86400\)"
  expect_rc 2 "$SMBQ" --no-config --reconnect-timeout "$v" config
  expect_stderr "invalid --reconnect-timeout '$v' \(expected seconds, 0-86400\)"
  for o in --reconnect-timeout="$v" "-oreconnect_timeout=$v"; do
    expect_rc 2 "$SMBQ_MOUNT" --no-config "$o" "//$H/share" "$D"
    expect_stderr "invalid reconnect timeout '$v' \(--reconnect-timeout, -o reconnect_timeout: seconds, 0-86400\)"
  done
done
echo "ok reconnect_timeout"
echo PASS
