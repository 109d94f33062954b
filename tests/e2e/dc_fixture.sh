# Throw-away Samba AD domain controller for the Kerberos e2e tests
# (sourced, bash, after fixture.sh for its helpers).
#
#   dc_sandbox "$@"   first thing in the script: re-runs the script inside
#                     a private network and mount namespace (unshare), so
#                     the DC's ports (88, 445) and /run/samba cannot clash
#                     with anything else, standalone smbd fixtures of
#                     parallel tests included
#   dc_start          provision realm SMBQ.TEST (DC fsedge1.smbq.test) into
#                     a temp dir, start `samba`, create users
#   dc_kdcproxy [CERTNAME]  start the test KDC proxy (python3-kdcproxy
#                     behind kdcproxy_server.py, TLS with the test PKI's
#                     certificate CERTNAME, default server) forwarding to
#                     the DC's KDC; sets DC_KDCPROXY_URL, DC_KDCPROXY_LOG
#   dc_kdcproxy_h3 [CERTNAME] [MODE] [PORT]  the same over HTTP/3 only
#                     (h3_kdcproxy); sets DC_KDCPROXY_H3_URL, DC_KDCPROXY_H3_LOG
#
# Why the namespaces (see shared NOTES): with a DC running, a standalone
# smbd started beside it fails its logons (its winbind lookups reach the
# DC's winbindd at /run/samba/winbindd). Inside the sandbox /run/samba is a
# private directory bind-mounted over the real one, /etc/hosts names
# fsedge1.smbq.test 127.0.0.1, and /etc/krb5.conf is the DC's (kdc =
# 127.0.0.1, rdns = false, no DNS). The whole test script runs in the
# sandbox, so smbq, kinit, the QUIC front and the proxy reach the DC on
# the sandbox's own loopback. Nothing outside changes.
#
# Exports SMBQ_TEST_DIR, DC_DIR, DC_REALM, DC_HOST, DC_USER (alice@REALM),
# DC_PASSWORD, DC_SHAREDIR (share "share"), KRB5_CONFIG-free defaults.
# An EXIT trap stops everything started (by PID, and the DC's session).

DC_REALM=SMBQ.TEST
DC_HOST=fsedge1.smbq.test

dc_sandbox() {
  if [ -n "${SMBQ_DC_SANDBOX:-}" ]; then
    ip link set lo up
    fixture_drop_foreign_mounts
    return 0
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: the AD DC fixture needs root (namespaces, samba)"
    exit 77
  fi
  local p
  for p in samba samba-tool kinit unshare ip; do
    if ! command -v "$p" >/dev/null; then
      echo "SKIP: $p is not installed (run scripts/install-deps.sh)"
      exit 77
    fi
  done
  if ! /usr/bin/python3 -c 'import kdcproxy' 2>/dev/null; then
    echo "SKIP: python3-kdcproxy is not installed"
    exit 77
  fi
  exec env SMBQ_DC_SANDBOX=1 unshare --net --mount --propagation private \
    bash "$0" "$@"
}

dc_cleanup() {
  set +e
  local pid
  for pid in ${DC_PIDS:-}; do
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  # samba's helpers live in the session setsid gave it
  if [ -n "${DC_SAMBA_PID:-}" ]; then
    kill "$DC_SAMBA_PID" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$DC_SAMBA_PID" 2>/dev/null || break; sleep 0.1; done
    for pid in $(ps -o pid= -s "$DC_SAMBA_PID" 2>/dev/null); do
      kill -9 "$pid" 2>/dev/null
    done
    wait "$DC_SAMBA_PID" 2>/dev/null
  fi
  umount /run/samba /etc/hosts /etc/krb5.conf 2>/dev/null
  fixture_cleanup
}

# wait_port PORT [PID]: until 127.0.0.1:PORT accepts TCP (10 s)
dc_wait_port() {
  local port=$1 pid=${2:-} i
  for i in $(seq 1 200); do
    if /usr/bin/python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(s.connect_ex(('127.0.0.1', $port)))" 2>/dev/null; then
      return 0
    fi
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      return 1
    fi
    sleep 0.05
  done
  return 1
}

dc_start() {
  SMBQ_TEST_DIR=$(mktemp -d /tmp/smbq-dc.XXXXXX)
  chmod 755 "$SMBQ_TEST_DIR"
  DC_DIR=$SMBQ_TEST_DIR
  export SMBQ_TEST_DIR DC_DIR
  DC_PIDS=
  trap dc_cleanup EXIT
  local d=$DC_DIR
  mkdir -p "$d"/{run-samba,pid,ncalrpc,share,xdg-cache}
  chmod 1777 "$d/share"
  # private /run/samba, /etc/hosts and /etc/krb5.conf (this mount
  # namespace only)
  mkdir -p /run/samba
  mount --bind "$d/run-samba" /run/samba
  { cat /etc/hosts; echo "127.0.0.1 $DC_HOST fsedge1"; } >"$d/hosts"
  mount --bind "$d/hosts" /etc/hosts
  cat >"$d/krb5.conf" <<EOF
[libdefaults]
	default_realm = $DC_REALM
	dns_lookup_kdc = false
	dns_lookup_realm = false
	rdns = false
	kdc_timeout = 3
[realms]
	$DC_REALM = {
		kdc = 127.0.0.1
	}
[domain_realm]
	.smbq.test = $DC_REALM
EOF
  [ -e /etc/krb5.conf ] || : >/etc/krb5.conf
  mount --bind "$d/krb5.conf" /etc/krb5.conf
  : >"$d/empty.conf"
  DC_ADMIN_PASSWORD="Adm-$RANDOM-$RANDOM-Pw!"
  if ! samba-tool domain provision -s "$d/empty.conf" --realm="$DC_REALM" \
    --domain=SMBQ --server-role=dc --dns-backend=NONE \
    --adminpass="$DC_ADMIN_PASSWORD" --host-name=fsedge1 \
    --targetdir="$d/prov" --option="interfaces = lo" \
    --option="bind interfaces only = yes" >"$d/provision.log" 2>&1; then
    cat "$d/provision.log" >&2
    fail "samba-tool domain provision failed"
  fi
  # the provisioned [global] plus what a throw-away DC needs
  {
    sed -n '/^\[global\]/,/^\[/p' "$d/prov/etc/smb.conf" | sed '$d' |
      grep -v 'server services'
    echo "	server services = s3fs, rpc, ldap, kdc, winbindd"
    echo "	pid directory = $d/pid"
    echo "	ncalrpc dir = $d/ncalrpc"
    echo "	log file = $d/log.%m"
    echo "	log level = 1"
    echo "	disable netbios = yes"
    echo "	smb ports = 445"
    echo "	load printers = no"
    echo "	printcap name = /dev/null"
    echo "	disable spoolss = yes"
    echo "[share]"
    echo "	path = $d/share"
    echo "	read only = no"
  } >"$d/smb.conf"
  DC_USER=alice@$DC_REALM
  DC_PASSWORD="Al1ce-$RANDOM-$RANDOM!x"
  samba-tool user create alice "$DC_PASSWORD" -s "$d/smb.conf" \
    >"$d/user.log" 2>&1 || { cat "$d/user.log" >&2; fail "user create"; }
  setsid samba --foreground --no-process-group -s "$d/smb.conf" \
    </dev/null >"$d/samba.out" 2>&1 &
  DC_SAMBA_PID=$!
  dc_wait_port 445 "$DC_SAMBA_PID" && dc_wait_port 88 "$DC_SAMBA_PID" || {
    cat "$d/samba.out" "$d"/log.* >&2 2>/dev/null
    fail "samba (AD DC) did not start"
  }
  # Open ports are not enough: until samba's winbindd maps the user's
  # SIDs, session setups fail with STATUS_INTERNAL_ERROR. Wait for one
  # logon to go through (smbclient, NTLM: independent of the code under
  # test), 30 s at most.
  local i
  for i in $(seq 1 150); do
    smbclient "//127.0.0.1/share" -U "alice%$DC_PASSWORD" -W "$DC_REALM" \
      -c ls >"$d/ready.log" 2>&1 && break
    kill -0 "$DC_SAMBA_PID" 2>/dev/null || break
    sleep 0.2
  done
  smbclient "//127.0.0.1/share" -U "alice%$DC_PASSWORD" -W "$DC_REALM" \
    -c ls >"$d/ready.log" 2>&1 ||
    fail "the AD DC accepts no logon: $(cat "$d/ready.log")"
  DC_SHAREDIR=$d/share
  SMBQ_TEST_HOST=$DC_HOST
  SMBQ_TEST_PORT=445
  export DC_REALM DC_HOST DC_USER DC_PASSWORD DC_SHAREDIR SMBQ_TEST_HOST \
    SMBQ_TEST_PORT
  export XDG_CACHE_HOME=$d/xdg-cache SMBQ_CONFIG=/dev/null
  # a ccache nobody else uses, empty until a test runs kinit
  export KRB5CCNAME=FILE:$d/ccache.none
  if [ "${SMBQ_TRANSPORT:-tcp}" = quic ]; then
    fixture_front 445 server
    DC_PIDS="$DC_PIDS $FIXTURE_FRONT_PID"
    FIXTURE_FRONT_PID=
  fi
}

dc_kdcproxy() {
  local cert=${1:-server} alt_svc=${2:-}
  local pf=$DC_DIR/kdcproxy-$cert.port
  rm -f "$pf"
  fixture_pki
  cat >"$DC_DIR/kdcproxy.conf" <<EOF
[global]
use_dns = false
[$DC_REALM]
kerberos = kerberos+tcp://127.0.0.1:88
EOF
  DC_KDCPROXY_LOG=$DC_DIR/kdcproxy-$cert.log
  : >"$DC_KDCPROXY_LOG"
  /usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/kdcproxy_server.py" \
    --cert "$SMBQ_TEST_PKI/$cert.pem" --key "$SMBQ_TEST_PKI/$cert.key" \
    --config "$DC_DIR/kdcproxy.conf" --port-file "$pf" \
    --log "$DC_KDCPROXY_LOG" ${alt_svc:+--alt-svc "$alt_svc"} \
    >"$DC_DIR/kdcproxy-$cert.out" 2>&1 &
  DC_PIDS="$DC_PIDS $!"
  local i
  for i in $(seq 1 100); do [ -s "$pf" ] && break; sleep 0.05; done
  [ -s "$pf" ] || fail "KDC proxy did not start: $(cat "$DC_DIR/kdcproxy-$cert.out")"
  DC_KDCPROXY_PORT=$(cat "$pf")
  DC_KDCPROXY_PID=$!
  DC_KDCPROXY_URL=https://$DC_HOST:$DC_KDCPROXY_PORT/KdcProxy
  export DC_KDCPROXY_URL DC_KDCPROXY_LOG DC_KDCPROXY_PORT
}

# dc_kdcproxy_h3 [CERTNAME] [MODE] [PORT]: the HTTP/3-only test KDC proxy
# ($SMBQ_H3_KDCPROXY, tests/quic/h3_kdcproxy.c: UDP, no TCP listener) in
# front of the DC's KDC, with the test PKI's certificate CERTNAME (default
# server), misbehaving as MODE says (ok, status, type, garbage, oversize,
# reset; default ok), on UDP port PORT (default 0: a free one; pass the
# HTTPS proxy's port to serve both on one port number). Sets
# DC_KDCPROXY_H3_URL, DC_KDCPROXY_H3_LOG (one line per request: METHOD PATH
# LENGTH resumed=yes|no conn=N) and DC_KDCPROXY_H3_PORT.
dc_kdcproxy_h3() {
  local cert=${1:-server} mode=${2:-ok} port=${3:-0}
  local tag=kdcproxy-h3-$cert-$mode
  local pf=$DC_DIR/$tag.port
  [ -n "${SMBQ_H3_KDCPROXY:-}" ] ||
    fail "SMBQ_H3_KDCPROXY must point at h3_kdcproxy (tests/quic)"
  fixture_pki
  rm -f "$pf"
  DC_KDCPROXY_H3_LOG=$DC_DIR/$tag.log
  : >"$DC_KDCPROXY_H3_LOG"
  "$SMBQ_H3_KDCPROXY" --cert "$SMBQ_TEST_PKI/$cert.pem" \
    --key "$SMBQ_TEST_PKI/$cert.key" --kdc 127.0.0.1:88 --port "$port" \
    --mode "$mode" --port-file "$pf" --log "$DC_KDCPROXY_H3_LOG" \
    >"$DC_DIR/$tag.out" 2>&1 &
  local pid=$!
  DC_PIDS="$DC_PIDS $pid"
  for _ in $(seq 1 100); do
    [ -s "$pf" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  [ -s "$pf" ] ||
    fail "HTTP/3 KDC proxy did not start: $(cat "$DC_DIR/$tag.out")"
  DC_KDCPROXY_H3_PORT=$(cat "$pf")
  DC_KDCPROXY_H3_URL=https://$DC_HOST:$DC_KDCPROXY_H3_PORT/KdcProxy
  export DC_KDCPROXY_H3_URL DC_KDCPROXY_H3_LOG DC_KDCPROXY_H3_PORT
}

# kinit as alice into the ccache $1 (a path), with Heimdal's kinit.
dc_kinit() {
  local cc=$1
  shift
  printf '%s\n' "$DC_PASSWORD" >"$DC_DIR/pw"
  chmod 600 "$DC_DIR/pw"
  KRB5CCNAME=FILE:$cc kinit --password-file="$DC_DIR/pw" "$@" "$DC_USER" \
    >"$DC_DIR/kinit.out" 2>&1 || { cat "$DC_DIR/kinit.out" >&2; fail "kinit failed"; }
  rm -f "$DC_DIR/pw"
}
