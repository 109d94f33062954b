#!/usr/bin/env bash
# Kerberos against a real Samba AD DC (dc_fixture.sh: its own network and
# mount namespace), over the fixture's transport (TCP, or QUIC through
# the QUIC front before the DC's smbd):
#   - a ccache from Heimdal's kinit: smbq --kerberos ls/get/put/info, and
#     the default mode picking Kerberos by itself;
#   - a password (user@REALM, no ccache): a ticket in a private memory
#     cache, the caller's ccache untouched;
#   - the KDC port unreachable and only the KDC proxy (MS-KKDCP over
#     HTTPS, python3-kdcproxy) reachable, with a password and with a
#     ccache (TGS through the proxy); --kdc-proxy-only; a proxy with a
#     wrong certificate;
#   - the KDC proxy over HTTP/3 (tests/quic/h3_kdcproxy, UDP only): forced,
#     auto with nothing remembered, two logons in one process (TLS
#     resumed), HTTPS forced, both on one port with TCP dropped (auto
#     within 1 s of HTTP/3 alone), smbq doctor saying which way works,
#     Alt-Svc remembered, a -k mount; a wrong certificate (exit 6) and
#     proxies answering wrong;
#   - errors: no ticket, expired ticket, clock skew (faketime), unknown
#     principal (user and service), wrong password, KDC unreachable,
#     an address instead of a name, --no-ntlm without Kerberos;
#   - the default mode falling back to NTLMv2 without Kerberos credentials;
#   - smbq-mount with the ccache (the default mode uses Kerberos);
#   - a session whose ticket ends under a mount (the server answers
#     STATUS_NETWORK_SESSION_EXPIRED): without a ticket the call fails
#     saying so, after kinit the mount renews the session by itself.
set -euo pipefail
. "$(dirname "$0")/fixture.sh"
. "$(dirname "$0")/dc_fixture.sh"
dc_sandbox "$@"
dc_start
W=$DC_DIR/work
mkdir -p "$W"
S=$DC_SHAREDIR
SHARE=//$DC_HOST/share
unset SMBQ_PASSWORD

# smbq with the fixture's transport (no user: the ccache's, or -U)
k() {
  # shellcheck disable=SC2046
  "$SMBQ" $(transport_opts) "$@"
}

# Wait (up to 10 s) until MOUNTPOINT is mounted, or smbq-mount PID ended:
# mounted_within MOUNTPOINT PID; 0 when mounted.
mounted_within() {
  local m=$1 pid=$2
  for _ in $(seq 1 200); do
    awk -v m="$m" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo &&
      return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  awk -v m="$m" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo
}

# expect_stderr, and show the message in the test log
expect_msg() {
  expect_stderr "$1"
  sed 's/^/  message: /' "$SMBQ_TEST_DIR/err"
}

head -c 300000 /dev/urandom >"$W/big.bin"
cp "$W/big.bin" "$S/big.bin"
echo "hello from the DC" >"$S/hello.txt"
chmod 666 "$S/big.bin" "$S/hello.txt"

# ---- a ccache from kinit ----------------------------------------------------
CC=$DC_DIR/cc.alice
dc_kinit "$CC"
export KRB5CCNAME=FILE:$CC

expect_rc 0 k --kerberos ls "$SHARE"
grep -q hello.txt "$SMBQ_TEST_DIR/out" || fail "ls: no hello.txt"
expect_rc 0 k -k get "$SHARE/big.bin" "$W/got.bin"
same_file "$W/big.bin" "$W/got.bin"
expect_rc 0 k -k put "$W/big.bin" "$SHARE/put.bin"
same_file "$W/big.bin" "$S/put.bin"
expect_rc 0 k -k info "$SHARE"
grep -qi "auth.*Kerberos" "$SMBQ_TEST_DIR/out" ||
  fail "info does not say Kerberos: $(cat "$SMBQ_TEST_DIR/out")"
expect_rc 0 k -k --json info "$SHARE"
grep -q '"auth": *"Kerberos"' "$SMBQ_TEST_DIR/out" ||
  fail "info --json: $(cat "$SMBQ_TEST_DIR/out")"
# the service ticket was stored in the caller's ccache, as GSSAPI does
klist -c "FILE:$CC" | grep -qi "cifs/$DC_HOST@$DC_REALM" ||
  fail "no cifs/$DC_HOST ticket in the ccache: $(klist -c "FILE:$CC")"
# default mode: credentials for the realm exist -> Kerberos
expect_rc 0 k -v ls "$SHARE"
expect_stderr "auth Kerberos"
# encryption required on top still works with the Kerberos-derived keys
expect_rc 0 k -k --encrypt get "$SHARE/hello.txt" "$W/hello.enc"
grep -q "hello from the DC" "$W/hello.enc" || fail "encrypted get"

# ---- a password, no ccache -----------------------------------------------------
export KRB5CCNAME=FILE:$DC_DIR/cc.empty
export SMBQ_PASSWORD=$DC_PASSWORD
expect_rc 0 k -k -U "$DC_USER" -v get "$SHARE/hello.txt" "$W/hello.pw"
expect_stderr "auth Kerberos"
grep -q "hello from the DC" "$W/hello.pw" || fail "get with a password"
[ ! -e "$DC_DIR/cc.empty" ] || fail "the password logon wrote the caller's ccache"
# default mode with user@REALM and a password: Kerberos too
expect_rc 0 k -U "$DC_USER" -v ls "$SHARE"
expect_stderr "auth Kerberos"
# a plain user name and no ticket: the default falls back to NTLMv2
expect_rc 0 k -U alice -v ls "$SHARE"
expect_stderr "auth NTLMv2"
# ... unless NTLM is forbidden
expect_rc 0 k -U "$DC_USER" --no-ntlm -v ls "$SHARE"
expect_stderr "auth Kerberos"
expect_rc 3 k -U alice --no-ntlm --resolve "$DC_HOST:127.0.0.1" ls "//127.0.0.1/share"
expect_msg "NTLM is forbidden"
# the same policy from smbq.conf (ntlm = off)
printf '[global]\nntlm = off\n' >"$DC_DIR/nontlm.conf"
SMBQ_CONFIG=$DC_DIR/nontlm.conf expect_rc 3 k -U alice ls "//127.0.0.1/share"
expect_msg "NTLM is forbidden"

# ---- errors ---------------------------------------------------------------------
unset SMBQ_PASSWORD
expect_rc 3 k -k ls "$SHARE" </dev/null
expect_msg "no ticket"
SMBQ_PASSWORD=wrong-password expect_rc 3 k -k -U "$DC_USER" ls "$SHARE"
expect_msg "wrong password"
SMBQ_PASSWORD=x expect_rc 3 k -k -U "nosuchuser@$DC_REALM" ls "$SHARE"
expect_msg "unknown principal nosuchuser@$DC_REALM"
export KRB5CCNAME=FILE:$CC
if [ "${SMBQ_TRANSPORT:-tcp}" = tcp ]; then
  # (over QUIC the front's certificate would not name other.smbq.test)
  expect_rc 3 k -k --resolve "other.smbq.test:127.0.0.1" ls "//other.smbq.test/share"
  expect_msg "unknown principal cifs/other.smbq.test@$DC_REALM"
fi
expect_rc 1 k -k ls "//127.0.0.1/share"
expect_msg "needs the server's name"
if command -v faketime >/dev/null; then
  # faketime preloads itself: tell ASan not to insist on coming first
  FT_ENV=(env "ASAN_OPTIONS=${ASAN_OPTIONS:-}:verify_asan_link_order=0")
  "${FT_ENV[@]}" true
  expect_rc 3 "${FT_ENV[@]}" faketime -f +2d "$SMBQ" $(transport_opts) -k ls "$SHARE"
  expect_msg "expired ticket"
  # 2 h on the TGT is still valid, but the KDC refuses the TGS request
  # for the skew (a fresh ccache: no service ticket in it yet)
  dc_kinit "$DC_DIR/cc.skew"
  KRB5CCNAME=FILE:$DC_DIR/cc.skew expect_rc 3 "${FT_ENV[@]}" faketime -f +2h "$SMBQ" $(transport_opts) -k ls "$SHARE"
  expect_msg "clock skew"
  # with the service ticket already cached, only the server sees the
  # skew; its KRB-ERROR carries its time and GSSAPI retries once in it
  expect_rc 0 "${FT_ENV[@]}" faketime -f +2h "$SMBQ" $(transport_opts) -k -v ls "$SHARE"
  expect_stderr "auth Kerberos"
else
  echo "note: faketime missing: expired-ticket and clock-skew cases skipped"
fi

# ---- the KDC unreachable: the KDC proxy ----------------------------------------
sed 's/kdc = 127.0.0.1$/kdc = 127.0.0.1:1/' /etc/krb5.conf >"$DC_DIR/krb5-unreach.conf"
grep -q 'kdc = 127.0.0.1:1' "$DC_DIR/krb5-unreach.conf" || fail "krb5-unreach.conf"
export SMBQ_PASSWORD=$DC_PASSWORD
export KRB5CCNAME=FILE:$DC_DIR/cc.empty2
KRB5_CONFIG=$DC_DIR/krb5-unreach.conf expect_rc 5 k -k -U "$DC_USER" ls "$SHARE"
expect_stderr "KDC unreachable"
expect_msg "no KDC proxy is configured"
dc_kdcproxy server
fixture_pki
PX=(--kdc-proxy "$DC_REALM=$DC_KDCPROXY_URL" --ca-file "$SMBQ_TEST_PKI/ca.pem")
KRB5_CONFIG=$DC_DIR/krb5-unreach.conf expect_rc 0 k -k -U "$DC_USER" "${PX[@]}" -v get "$SHARE/big.bin" "$W/got.proxy"
expect_stderr "auth Kerberos"
same_file "$W/big.bin" "$W/got.proxy"
n_as=$(grep -c '^POST /KdcProxy' "$DC_KDCPROXY_LOG" || true)
[ "$n_as" -ge 2 ] || fail "the KDC proxy saw $n_as requests (want AS + TGS)"
# with a ccache: only the TGS exchange, through the proxy
CC2=$DC_DIR/cc.alice2
dc_kinit "$CC2"
before=$(grep -c '^POST /KdcProxy' "$DC_KDCPROXY_LOG" || true)
unset SMBQ_PASSWORD
KRB5CCNAME=FILE:$CC2 KRB5_CONFIG=$DC_DIR/krb5-unreach.conf expect_rc 0 k -k "${PX[@]}" ls "$SHARE"
after=$(grep -c '^POST /KdcProxy' "$DC_KDCPROXY_LOG" || true)
[ "$after" -gt "$before" ] || fail "the TGS request did not go through the proxy"
# --kdc-proxy-only: the proxy although the KDC answers
export SMBQ_PASSWORD=$DC_PASSWORD
before=$after
expect_rc 0 k -k -U "$DC_USER" "${PX[@]}" --kdc-proxy-only ls "$SHARE"
after=$(grep -c '^POST /KdcProxy' "$DC_KDCPROXY_LOG" || true)
[ "$after" -gt "$before" ] || fail "--kdc-proxy-only did not use the proxy"
# and without it, a reachable KDC is used directly
before=$after
expect_rc 0 k -k -U "$DC_USER" "${PX[@]}" ls "$SHARE"
after=$(grep -c '^POST /KdcProxy' "$DC_KDCPROXY_LOG" || true)
[ "$after" -eq "$before" ] || fail "the proxy was used although the KDC answers"
# the same from smbq.conf: kdc_proxy in [global]
printf '[global]\nkdc_proxy = %s=%s\nca_file = %s\n' "$DC_REALM" \
  "$DC_KDCPROXY_URL" "$SMBQ_TEST_PKI/ca.pem" >"$DC_DIR/smbq.conf"
SMBQ_CONFIG=$DC_DIR/smbq.conf KRB5_CONFIG=$DC_DIR/krb5-unreach.conf \
  expect_rc 0 k -k -U "$DC_USER" ls "$SHARE"
# a proxy whose certificate names another host: refused, and said so
dc_kdcproxy wrongname
KRB5_CONFIG=$DC_DIR/krb5-unreach.conf expect_rc 6 k -k -U "$DC_USER" \
  --kdc-proxy "$DC_REALM=$DC_KDCPROXY_URL" --ca-file "$SMBQ_TEST_PKI/ca.pem" ls "$SHARE"
expect_stderr "KDC unreachable"
expect_msg "certificate|SSL|TLS"

# ---- a mount with the ccache, Kerberos required (-k) ------------------------
[ -x "${SMBQ_MOUNT:-}" ] || fail "SMBQ_MOUNT must point at smbq-mount"
[ -c /dev/fuse ] && command -v fusermount3 >/dev/null ||
  fail "the mount case needs /dev/fuse and fusermount3 (scripts/install-deps.sh)"
{
  unset SMBQ_PASSWORD
  export KRB5CCNAME=FILE:$CC
  M=$DC_DIR/mnt
  mkdir -p "$M"
  # shellcheck disable=SC2046
  "$SMBQ_MOUNT" -f -v -k "$SHARE" "$M" $(transport_opts) 2>"$DC_DIR/mount.log" </dev/null &
  MPID=$!
  DC_PIDS="$DC_PIDS $MPID"
  mounted_within "$M" "$MPID" ||
    fail "smbq-mount did not mount with Kerberos: $(cat "$DC_DIR/mount.log")"
  grep -q "auth Kerberos" "$DC_DIR/mount.log" ||
    fail "the mount did not use Kerberos: $(cat "$DC_DIR/mount.log")"
  same_file "$W/big.bin" "$M/big.bin"
  cp "$W/big.bin" "$M/mounted.bin"
  same_file "$W/big.bin" "$S/mounted.bin"
  fusermount3 -u "$M"
  wait "$MPID" || fail "smbq-mount exited non-zero: $(cat "$DC_DIR/mount.log")"
}

# ---- the KDC proxy over HTTP/3 (h3_kdcproxy: UDP only, no TCP listener) --------
# The KDC is unreachable directly in every case (krb5-unreach.conf).
unreach() { KRB5_CONFIG=$DC_DIR/krb5-unreach.conf "$@"; }
# the requests and QUIC connections an HTTP/3 proxy's log shows: "N C"
h3_seen() {
  awk '/^POST / { n++; for (i = 1; i <= NF; i++) if ($i ~ /^conn=/) c[$i] = 1 }
       END { k = 0; for (x in c) k++; print n + 0, k }' "$1"
}
export SMBQ_PASSWORD=$DC_PASSWORD
export KRB5CCNAME=FILE:$DC_DIR/cc.empty3
CA=(--ca-file "$SMBQ_TEST_PKI/ca.pem")
dc_kdcproxy_h3 server ok
H3_URL=$DC_KDCPROXY_H3_URL H3_LOG=$DC_KDCPROXY_H3_LOG H3_PORT=$DC_KDCPROXY_H3_PORT
# HTTP/3 forced: a password logon, its AS and TGS exchanges on one QUIC
# connection
TC=$DC_DIR/transports.h3
unreach expect_rc 0 k -k -U "$DC_USER" --kdc-proxy "$DC_REALM=$H3_URL" \
  "${CA[@]}" --kdc-proxy-transport h3 --transport-cache "$TC" \
  get "$SHARE/big.bin" "$W/got.h3"
same_file "$W/big.bin" "$W/got.h3"
read -r n c < <(h3_seen "$H3_LOG")
[ "$n" -ge 2 ] && [ "$c" -eq 1 ] ||
  fail "HTTP/3 proxy: $n requests on $c QUIC connections (want AS + TGS on one)"
echo "   HTTP/3 only: $n requests on one QUIC connection"
# auto with nothing remembered: HTTPS finds nothing on the TCP port, HTTP/3
# answers, and the cache remembers it
TC=$DC_DIR/transports.auto
unreach expect_rc 0 k -k -U "$DC_USER" --kdc-proxy "$DC_REALM=$H3_URL" \
  "${CA[@]}" --transport-cache "$TC" ls "$SHARE"
grep -qiF "$H3_URL $H3_PORT $H3_PORT quic" "$TC" ||
  fail "auto did not remember HTTP/3 for the proxy: $(cat "$TC")"
# two logons in one process: the second resumes the first one's TLS session
before=$(wc -l <"$H3_LOG")
{
  SMBQ_USER=$DC_USER SMBQ_PORT=445 SMBQ_CA_FILE=$SMBQ_TEST_PKI/ca.pem
  export SMBQ_USER SMBQ_PORT SMBQ_CA_FILE
  if [ "${SMBQ_TRANSPORT:-tcp}" = quic ]; then
    export SMBQ_QUIC_PORT=$SMBQ_TEST_QUIC_PORT SMBQ_RESOLVE=127.0.0.1
  fi
  unreach expect_rc 0 "${SMBQ_KDC_H3_TEST:?SMBQ_KDC_H3_TEST must point at kdc_h3_test}" \
    "$DC_HOST" "$DC_REALM" "$H3_URL"
  unset SMBQ_USER SMBQ_PORT SMBQ_CA_FILE SMBQ_QUIC_PORT SMBQ_RESOLVE
}
tail -n +"$((before + 1))" "$H3_LOG" >"$DC_DIR/h3.two"
grep -q 'resumed=no' "$DC_DIR/h3.two" && grep -q 'resumed=yes' "$DC_DIR/h3.two" ||
  fail "the second logon did not resume TLS: $(cat "$DC_DIR/h3.two")"
echo "   two logons: $(awk '{print $4}' "$DC_DIR/h3.two" | sort | uniq -c | tr '\n' ' ')"
# HTTPS forced through the HTTPS proxy
dc_kdcproxy server
unreach expect_rc 0 k -k -U "$DC_USER" --kdc-proxy "$DC_REALM=$DC_KDCPROXY_URL" \
  "${CA[@]}" --kdc-proxy-transport https --no-transport-cache ls "$SHARE"
# both on one port number, TCP silently dropped (nftables): auto ends
# within a second of the logon over HTTP/3 alone
command -v nft >/dev/null || fail "nft is missing (scripts/install-deps.sh)"
dc_kdcproxy server
dc_kdcproxy_h3 server ok "$DC_KDCPROXY_PORT"
BOTH_URL=$DC_KDCPROXY_URL
t0=$(date +%s%N)
unreach expect_rc 0 k -k -U "$DC_USER" --kdc-proxy "$DC_REALM=$BOTH_URL" \
  "${CA[@]}" --kdc-proxy-transport h3 --no-transport-cache ls "$SHARE"
t_h3=$(( ($(date +%s%N) - t0) / 1000000 ))
# smbq doctor says which way reaches the proxy
unreach expect_rc 0 k -U "$DC_USER" --kdc-proxy "$DC_REALM=$BOTH_URL" \
  "${CA[@]}" doctor "$SHARE"
grep -q "answers over HTTPS and HTTP/3" "$SMBQ_TEST_DIR/out" ||
  fail "doctor: $(grep -i 'KDC proxy' "$SMBQ_TEST_DIR/out")"
nft add table inet smbq_kdc
nft add chain inet smbq_kdc out '{ type filter hook output priority 0; }'
nft add rule inet smbq_kdc out tcp dport "$DC_KDCPROXY_PORT" drop
t0=$(date +%s%N)
unreach expect_rc 0 k -k -U "$DC_USER" --kdc-proxy "$DC_REALM=$BOTH_URL" \
  "${CA[@]}" --transport-cache "$DC_DIR/transports.race" ls "$SHARE"
t_race=$(( ($(date +%s%N) - t0) / 1000000 ))
unreach expect_rc 0 k -U "$DC_USER" --kdc-proxy "$DC_REALM=$BOTH_URL" \
  "${CA[@]}" doctor "$SHARE"
grep -q "answers over HTTP/3 only" "$SMBQ_TEST_DIR/out" ||
  fail "doctor with TCP dropped: $(grep -i -A2 'KDC proxy' "$SMBQ_TEST_DIR/out")"
grep -A1 'KDC proxy' "$SMBQ_TEST_DIR/out" | sed 's/^/  doctor: /'
nft delete table inet smbq_kdc
echo "   TCP dropped: auto took $t_race ms, HTTP/3 alone $t_h3 ms"
[ "$t_race" -le $((t_h3 + 1000)) ] ||
  fail "auto with TCP dropped took $t_race ms, HTTP/3 alone $t_h3 ms (want within 1 s)"
# Alt-Svc: an HTTPS proxy that advertises the HTTP/3 one on another port;
# once HTTPS is gone, the remembered port still gets Kerberos through
dc_kdcproxy server "h3=\":$H3_PORT\"; ma=3600"
TC=$DC_DIR/transports.altsvc
unreach expect_rc 0 k -k -U "$DC_USER" --kdc-proxy "$DC_REALM=$DC_KDCPROXY_URL" \
  "${CA[@]}" --transport-cache "$TC" ls "$SHARE"
grep -qiF "$DC_KDCPROXY_URL $DC_KDCPROXY_PORT $H3_PORT" "$TC" ||
  fail "the Alt-Svc port was not remembered: $(cat "$TC")"
kill "$DC_KDCPROXY_PID"
wait "$DC_KDCPROXY_PID" 2>/dev/null || true
before=$(grep -c '^POST' "$H3_LOG")
unreach expect_rc 0 k -k -U "$DC_USER" --kdc-proxy "$DC_REALM=$DC_KDCPROXY_URL" \
  "${CA[@]}" --transport-cache "$TC" ls "$SHARE"
[ "$(grep -c '^POST' "$H3_LOG")" -gt "$before" ] ||
  fail "the logon after HTTPS went away did not use the Alt-Svc HTTP/3 port"
# a -k mount whose service ticket comes through HTTP/3 alone
{
  unset SMBQ_PASSWORD
  CC4=$DC_DIR/cc.h3
  dc_kinit "$CC4"
  M4=$DC_DIR/mnt4
  mkdir -p "$M4"
  before=$(grep -c '^POST' "$H3_LOG")
  # shellcheck disable=SC2046
  KRB5CCNAME=FILE:$CC4 KRB5_CONFIG=$DC_DIR/krb5-unreach.conf \
    "$SMBQ_MOUNT" -f -v -k --kdc-proxy "$DC_REALM=$H3_URL" "${CA[@]}" \
    --kdc-proxy-transport h3 "$SHARE" "$M4" $(transport_opts) \
    2>"$DC_DIR/mount4.log" </dev/null &
  M4PID=$!
  DC_PIDS="$DC_PIDS $M4PID"
  mounted_within "$M4" "$M4PID" ||
    fail "smbq-mount -k did not mount through HTTP/3: $(cat "$DC_DIR/mount4.log")"
  same_file "$W/big.bin" "$M4/big.bin"
  [ "$(grep -c '^POST' "$H3_LOG")" -gt "$before" ] ||
    fail "the mount's service ticket did not come through the HTTP/3 proxy"
  fusermount3 -u "$M4"
  wait "$M4PID" || fail "smbq-mount exited non-zero: $(cat "$DC_DIR/mount4.log")"
  export SMBQ_PASSWORD=$DC_PASSWORD
}
# a proxy certificate for another name: exit 6, said so
dc_kdcproxy_h3 wrongname ok
unreach expect_rc 6 k -k -U "$DC_USER" --kdc-proxy "$DC_REALM=$DC_KDCPROXY_H3_URL" \
  "${CA[@]}" --kdc-proxy-transport h3 --no-transport-cache ls "$SHARE"
expect_msg "certificate"
# proxies that answer wrong: a clear error naming the proxy
for mode in status type garbage oversize reset; do
  case $mode in
  status) want="HTTP status 500" ;;
  type) want="Content-Type" ;;
  garbage) want="malformed KDC-PROXY-MESSAGE" ;;
  oversize) want="more than 1024 KiB|over 1 MiB" ;;
  reset) want="reset" ;;
  esac
  dc_kdcproxy_h3 server "$mode"
  unreach expect_rc 5 k -k -U "$DC_USER" --kdc-proxy "$DC_REALM=$DC_KDCPROXY_H3_URL" \
    "${CA[@]}" --kdc-proxy-transport h3 --no-transport-cache ls "$SHARE"
  expect_stderr "$DC_HOST:$DC_KDCPROXY_H3_PORT"
  expect_msg "$want"
done

# ---- a ticket that expires under a mount (MS-SMB2 3.2.5.1.6) ------------------
# Samba ends a Kerberos session when its service ticket does (it answers
# STATUS_NETWORK_SESSION_EXPIRED): without a new ticket the next call
# fails and the log says why; after kinit the next call renews the
# session by itself (SESSION_SETUP on the same session) and goes on.
# Samba's KDC issues no service ticket from a TGT with less than its
# 5-minute clock skew left, so the shortest such session lasts over 5
# minutes: the case waits that long (meson runs other tests meanwhile).
{
  unset SMBQ_PASSWORD
  CC3=$DC_DIR/cc.short
  dc_kinit "$CC3" --lifetime=320s
  t_kinit=$(date +%s)
  export KRB5CCNAME=FILE:$CC3
  M3=$DC_DIR/mnt3
  mkdir -p "$M3"
  # shellcheck disable=SC2046
  "$SMBQ_MOUNT" -f -v -k "$SHARE" "$M3" $(transport_opts) \
    2>"$DC_DIR/mount3.log" </dev/null &
  M3PID=$!
  DC_PIDS="$DC_PIDS $M3PID"
  mounted_within "$M3" "$M3PID" ||
    fail "smbq-mount did not mount with a short ticket: $(cat "$DC_DIR/mount3.log")"
  same_file "$W/big.bin" "$M3/big.bin"
  echo "   waiting for the ticket to end ($((t_kinit + 326 - $(date +%s))) s)"
  sleep $((t_kinit + 326 - $(date +%s)))
  # a name the mount has not seen: the lookup must ask the server
  if stat "$M3/after-expiry-1" 2>"$DC_DIR/stat1.err"; then
    fail "a name that does not exist was found"
  fi
  ! grep -q "No such file" "$DC_DIR/stat1.err" ||
    fail "the server still served the session after its ticket ended: the case proves nothing"
  grep -qi "expired" "$DC_DIR/mount3.log" ||
    fail "the mount's log does not say the ticket expired: $(tail -3 "$DC_DIR/mount3.log")"
  echo "   expired, no new ticket: $(grep -i expired "$DC_DIR/mount3.log" | tail -1)"
  dc_kinit "$CC3"
  cp "$W/big.bin" "$M3/renewed.bin" ||
    fail "the mount did not renew its session after kinit: $(tail -3 "$DC_DIR/mount3.log")"
  same_file "$W/big.bin" "$S/renewed.bin"
  echo "   after kinit: the session renewed, the copy went through"
  fusermount3 -u "$M3"
  wait "$M3PID" || fail "smbq-mount exited non-zero: $(cat "$DC_DIR/mount3.log")"
}
echo "PASS"
