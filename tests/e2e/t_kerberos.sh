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
  for _ in $(seq 1 200); do
    awk -v m="$M" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo && break
    kill -0 "$MPID" 2>/dev/null || break
    sleep 0.05
  done
  awk -v m="$M" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo ||
    fail "smbq-mount did not mount with Kerberos: $(cat "$DC_DIR/mount.log")"
  grep -q "auth Kerberos" "$DC_DIR/mount.log" ||
    fail "the mount did not use Kerberos: $(cat "$DC_DIR/mount.log")"
  same_file "$W/big.bin" "$M/big.bin"
  cp "$W/big.bin" "$M/mounted.bin"
  same_file "$W/big.bin" "$S/mounted.bin"
  fusermount3 -u "$M"
  wait "$MPID" || fail "smbq-mount exited non-zero: $(cat "$DC_DIR/mount.log")"
}

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
  for _ in $(seq 1 200); do
    awk -v m="$M3" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo && break
    kill -0 "$M3PID" 2>/dev/null || break
    sleep 0.05
  done
  awk -v m="$M3" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo ||
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
