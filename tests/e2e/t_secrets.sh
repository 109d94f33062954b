#!/usr/bin/env bash
# Secrets never leak, and are wiped before their memory is freed.
#
#   t_secrets.sh output
#     The fixture user gets a distinctive password (ASCII and non-ASCII
#     characters). smbq runs a representative set with -v (and -v -v,
#     which smbq accepts; it prints nothing more today) and --json: ls,
#     stat, info, get, put, cp both ways, shares, doctor, config, the
#     password from SMBQ_PASSWORD, --password-file and --credentials, an
#     smbq.conf with a password line (warned about, not repeated), a wrong
#     password (its error message), a password in the location
#     (smb://user:PASSWORD@host: refused, without repeating it), -t auto
#     (so the transport cache is written), and `smbq use`: a mount through
#     smbq-mount, its listing, --json, the detail and --stats, a file read
#     through it, an outage it reconnects across, a wrong password, a
#     password in the location, -o password=, --delete. All the traffic goes
#     through a recording proxy in front of smbd (behind the QUIC front for
#     QUIC), from which the session keys are worked out: the password gives
#     the NTLMv2 keys, the NTLM MIC proves the session key right, the
#     signature of the final SESSION_SETUP reply proves the SMB 3.1.1
#     signing key right (when python3-cryptography is there). Then every
#     captured stdout and stderr, the transport cache, the `smbq use` state
#     files, the daemon's /proc environ and cmdline, what smbq-mount sent
#     to syslog, and the recorded traffic itself are searched for the
#     password (and the wrong one) in UTF-8, UTF-16LE, hex, JSON and URL
#     escapes, base64, its first and last 8 characters, its NT hash (raw,
#     hex, base64), the NTOWFv2, and the session, signing, cipher and
#     application keys (raw, hex, base64).
#     Syslog: the script runs in its own mount namespace with a private
#     /dev whose /dev/log is a socket of ours (every other entry of /dev
#     bound in from the real one), so smbq-mount's syslog(3) lines, once
#     it has detached, land in a file.
#
#   t_secrets.sh free FREE_SCAN_SO FREE_SCAN_OK
#     smbq (and smbq-mount) run with free_scan.c preloaded: every block
#     freed is searched for the password, the wrong password, in UTF-8 and
#     UTF-16LE, their NT hashes and NTOWFv2s. ls, get, put, shares, doctor,
#     the three password sources, an smbq.conf with a password line, a
#     wrong password, and (with FUSE) a mount
#     that reconnects across an outage: no hit. First, that the scanner
#     works: bash freeing a variable holding the password gives hits, and
#     so does smbq freeing a path name it was given.
#     FREE_SCAN_OK is 0 in sanitizer builds (ASan owns free()): skipped.
#
# Parts that need FUSE are skipped, saying so, without /dev/fuse.
set -euo pipefail
MODE=${1:?usage: t_secrets.sh output | free FREE_SCAN_SO FREE_SCAN_OK}
case "$MODE" in
output | free) ;;
*) echo "t_secrets.sh: unknown mode $MODE" >&2; exit 2 ;;
esac
if [ "$MODE" = free ] && [ "${3:-0}" != 1 ]; then
  echo "SKIP: sanitizer build: free_scan.so replaces free(), which ASan owns"
  exit 77
fi
: "${SMBQ_MOUNT:?SMBQ_MOUNT must point at the smbq-mount binary}"

# FUSE (and, in output mode, our own /dev/log) need a mount namespace of
# our own; without them the parts that mount are skipped.
NO_FUSE=
if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/fuse ] ||
  ! command -v fusermount3 >/dev/null || ! command -v unshare >/dev/null; then
  NO_FUSE="needs root, /dev/fuse, fusermount3 and unshare"
fi
if [ -z "$NO_FUSE" ] && [ -z "${SMBQ_SECRETS_UNSHARED:-}" ]; then
  mkdir -p /run/smbq
  SMBQ_SECRETS_UNSHARED=1 exec unshare -m --propagation private \
    bash "$0" "$@"
fi

if [ -n "${SMBQ_SECRETS_UNSHARED:-}" ]; then
  # /run/smbq of our own: `smbq use` lists and deletes our mounts only
  mount -t tmpfs -o mode=0755 smbq-secrets-run /run/smbq
  { findmnt -rn -t fuse.smbq-mount -o TARGET || true; } | while read -r t; do
    umount -l "$(printf '%b' "$t")" 2>/dev/null || true
  done
  if [ "$MODE" = output ]; then
    # A /dev of our own, the real one's entries bound in, so that /dev/log
    # can be our socket. The real /dev is reached through a bind mount
    # that is detached as soon as the entries are in (nothing here ever
    # deletes under it).
    OLDDEV=$(mktemp -d /tmp/smbq-secrets-dev.XXXXXX)
    mount --rbind /dev "$OLDDEV"
    mount -t tmpfs -o mode=0755 smbq-secrets-dev /dev
    for e in "$OLDDEV"/* "$OLDDEV"/.[!.]*; do
      n=${e##*/}
      [ "$n" != log ] || continue
      if [ -L "$e" ]; then
        cp -P "$e" "/dev/$n"
      elif [ -d "$e" ]; then
        mkdir "/dev/$n" && mount --rbind "$e" "/dev/$n"
      elif [ -c "$e" ] || [ -b "$e" ]; then
        : >"/dev/$n" && mount --bind "$e" "/dev/$n"
      fi
    done
    umount -l "$OLDDEV"
    rmdir "$OLDDEV"
  fi
fi

# shellcheck source=fixture.sh
. "$(dirname "$0")/fixture.sh"
fixture_start
D=$SMBQ_TEST_DIR
W=$D/work        # local files
O=$D/captured    # everything to search
mkdir -p "$W" "$O"
PY=$D/secrets.py
STATES=/run/smbq/mounts
PATH="$(dirname "$SMBQ_MOUNT"):$PATH" # smbq use finds smbq-mount there
export PATH
step() { echo "== $*"; }
# Sanitizer reports of the daemons (detached: their stderr is /dev/null)
# go to files, checked at the end.
SAN=$D/san
[ -z "${ASAN_OPTIONS:-}" ] || export ASAN_OPTIONS="$ASAN_OPTIONS:log_path=$SAN"
[ -z "${UBSAN_OPTIONS:-}" ] || export UBSAN_OPTIONS="$UBSAN_OPTIONS:log_path=$SAN"
san_check() {
  if ls "$SAN".* >/dev/null 2>&1; then
    cat "$SAN".* >&2
    fail "sanitizer reports (smbq or smbq-mount)"
  fi
}

PW='Zq7-s3cr3t-Pw!-Ä€'
WRONG='Xk9-wr0ng-Pw#-Ö'
printf '%s\n%s\n' "$PW" "$PW" |
  smbpasswd -c "$D/smb.conf" -s "$SMBQ_TEST_USER" >/dev/null ||
  fail "smbpasswd could not set the test password"
export SMBQ_PASSWORD=$PW

# ---- the helper ---------------------------------------------------------
# (patterns, recording proxy, syslog socket, session keys, search)
cat >"$PY" <<'PYEOF'
import base64, hashlib, hmac, json, os, signal, socket, struct, sys, threading

# ---- MD4 (RFC 1320): OpenSSL 3 no longer offers it to hashlib ----------
def md4(data):
    def f(x, y, z): return (x & y) | (~x & z)
    def g(x, y, z): return (x & y) | (x & z) | (y & z)
    def h(x, y, z): return x ^ y ^ z
    def rol(v, s):
        v &= 0xFFFFFFFF
        return ((v << s) | (v >> (32 - s))) & 0xFFFFFFFF
    msg = bytearray(data) + b'\x80'
    while len(msg) % 64 != 56:
        msg.append(0)
    msg += struct.pack('<Q', len(data) * 8)
    st = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476]
    rounds = ((f, 0, range(16), (3, 7, 11, 19)),
              (g, 0x5A827999, [(i % 4) * 4 + i // 4 for i in range(16)],
               (3, 5, 9, 13)),
              (h, 0x6ED9EBA1, (0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3,
                               11, 7, 15), (3, 9, 11, 15)))
    for off in range(0, len(msg), 64):
        x = struct.unpack('<16I', msg[off:off + 64])
        a, b, c, d = st
        for fn, k, order, sh in rounds:
            for i in range(16):
                t = rol(a + fn(b, c, d) + x[order[i]] + k, sh[i % 4])
                a, b, c, d = d, t, b, c
        st = [(v + w) & 0xFFFFFFFF for v, w in zip(st, (a, b, c, d))]
    return struct.pack('<4I', *st)

assert md4(b'abc').hex() == 'a448017aaf21d8525fc10ae87aa6729d'

def nt_hash(pw):
    return md4(pw.encode('utf-16-le'))

def hmac_md5(k, m):
    return hmac.new(k, m, hashlib.md5).digest()

def rc4(key, data):
    s, j = list(range(256)), 0
    for i in range(256):
        j = (j + s[i] + key[i % len(key)]) & 255
        s[i], s[j] = s[j], s[i]
    i = j = 0
    out = bytearray()
    for ch in data:
        i = (i + 1) & 255
        j = (j + s[i]) & 255
        s[i], s[j] = s[j], s[i]
        out.append(ch ^ s[(s[i] + s[j]) & 255])
    return bytes(out)

def ntowfv2(pw, user, domain):  # MS-NLMP 3.3.2
    return hmac_md5(nt_hash(pw), (user.upper() + domain).encode('utf-16-le'))

# ---- what must not show ------------------------------------------------
def forms(name, raw):
    """Secret bytes: raw, hex (both cases), base64."""
    return [(name, raw), (name + ' hex', raw.hex().encode()),
            (name + ' HEX', raw.hex().upper().encode()),
            (name + ' base64', base64.b64encode(raw).rstrip(b'='))]

def password_forms(label, pw):
    u8, u16 = pw.encode(), pw.encode('utf-16-le')
    pct = ''.join(c if c.isalnum() and c.isascii() or c in '-._~' else
                  ''.join('%%%02X' % b for b in c.encode()) for c in pw)
    out = [(label + ' JSON-escaped', json.dumps(pw)[1:-1].encode()),
           (label + ' percent-encoded', pct.encode()),
           # a cut-off copy is a leak too
           (label + ' (first 8 characters)', pw[:8].encode()),
           (label + ' (last 8 characters)', pw[-8:].encode())]
    out += forms(label, u8) + forms(label + ' UTF-16LE', u16)
    out += forms(label + ' NT hash', nt_hash(pw))
    return out

# ---- recording proxy ----------------------------------------------------
def proxy(portfile, target_port, d):
    os.makedirs(d, exist_ok=True)
    ls = socket.socket()
    ls.bind(('127.0.0.1', 0))
    ls.listen(64)
    live = set()

    def cut(*_):  # SIGUSR1: drop every connection, a network outage
        for s in list(live):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
    signal.signal(signal.SIGUSR1, cut)

    def pump(src, dst, f):
        try:
            while True:
                b = src.recv(65536)
                if not b:
                    break
                f.write(b)
                f.flush()
                dst.sendall(b)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            live.discard(s)
        f.close()

    with open(portfile + '.tmp', 'w') as pf:
        pf.write(str(ls.getsockname()[1]))
    os.rename(portfile + '.tmp', portfile)
    n = 0
    while True:
        try:
            c, _ = ls.accept()
        except InterruptedError:
            continue
        try:
            s = socket.create_connection(('127.0.0.1', target_port))
        except OSError:
            c.close()
            continue
        n += 1
        live.update((c, s))
        base = os.path.join(d, 'conn.%04d' % n)
        for a, b, ext in ((c, s, '.c2s'), (s, c, '.s2c')):
            threading.Thread(target=pump, args=(a, b, open(base + ext, 'wb')),
                             daemon=True).start()

# ---- a /dev/log that keeps what it is sent ------------------------------
def syslog(path, out):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    os.chmod(path, 0o666)
    with open(out, 'ab', buffering=0) as f:
        open(out + '.ready', 'w').close()
        while True:
            f.write(s.recv(65536) + b'\n')

# ---- the keys of each logon in a recording ------------------------------
MORE_PROCESSING = 0xC0000016

def frames(data):
    """The SMB2 messages of a direct-TCP stream (MS-SMB2 2.1)."""
    out, off = [], 0
    while off + 4 <= len(data):
        n = int.from_bytes(data[off + 1:off + 4], 'big')
        msg = data[off + 4:off + 4 + n]
        off += 4 + n
        if len(msg) == n and msg[:4] == b'\xfeSMB':
            out.append(msg)
    return out

def hdr(m):
    status, cmd, _, flags, _, mid = struct.unpack_from('<IHHIIQ', m, 8)
    return {'status': status, 'cmd': cmd, 'flags': flags, 'mid': mid}

def ntlm_token(m, kind):
    """The NTLMSSP message of type kind in m, cut at its DER length."""
    i = m.find(b'NTLMSSP\0')
    while i >= 0:
        if struct.unpack_from('<I', m, i + 8)[0] == kind:
            for k in (2, 3, 4):  # 04 LL | 04 81 LL | 04 82 LL LL
                t = m[i - k:i]
                if len(t) == k and t[0] == 4:
                    if k == 2 and t[1] < 0x80:
                        return m[i:i + t[1]]
                    if k == 3 and t[1] == 0x81:
                        return m[i:i + t[2]]
                    if k == 4 and t[1] == 0x82:
                        return m[i:i + (t[2] << 8 | t[3])]
            return m[i:]
        i = m.find(b'NTLMSSP\0', i + 1)
    return None

def field(msg, off):  # MS-NLMP 2.2.1.3 Len, MaxLen, BufferOffset
    ln, _, o = struct.unpack_from('<HHI', msg, off)
    return msg[o:o + ln]

def kdf(ki, label, ctx, nbytes):
    # SP800-108 counter mode, HMAC-SHA256 (MS-SMB2 3.1.4.2): the label
    # keeps its NUL ("SMBSigningKey\0"), then comes the 0x00 separator
    m = (struct.pack('>I', 1) + label + b'\0\0' + ctx +
         struct.pack('>I', nbytes * 8))
    return hmac.new(ki, m, hashlib.sha256).digest()[:nbytes]

def check_signature(key, m):
    """None when it cannot tell (unsigned, no AES at hand), else a bool."""
    h = hdr(m)
    if not h['flags'] & 0x8:
        return None
    try:
        from cryptography.hazmat.primitives import cmac
        from cryptography.hazmat.primitives.ciphers import algorithms
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    except ImportError:
        return None
    z, sig = m[:48] + bytes(16) + m[64:], m[48:64]
    # AES-GMAC (MS-SMB2 3.1.4.1): nonce MessageId || 1 for a response
    nonce = struct.pack('<QI', h['mid'], h['flags'] & 1)
    if AESGCM(key).encrypt(nonce, b'', z) == sig:
        return True
    c = cmac.CMAC(algorithms.AES(key))
    c.update(z)
    return c.finalize() == sig

def logon_keys(pw, neg, chal, auth, preauth, final, problems):
    user = field(auth, 36).decode('utf-16-le')
    dom = field(auth, 28).decode('utf-16-le')
    nt_resp, enc_key = field(auth, 20), field(auth, 52)
    flags = struct.unpack_from('<I', auth, 60)[0]
    if len(nt_resp) < 16:
        return []  # anonymous (MS-NLMP 3.2.5.1.2): no keys
    rk = ntowfv2(pw, user, dom)
    if hmac_md5(rk, chal[24:32] + nt_resp[16:]) != nt_resp[:16]:
        problems.append('a logon as %r that the password does not explain'
                        % user)
        return []
    base = hmac_md5(rk, nt_resp[:16])  # SessionBaseKey (MS-NLMP 3.3.2)
    # KEY_EXCH: the ExportedSessionKey went RC4-encrypted (3.4.5.1)
    sk = rc4(base, enc_key) if flags & 0x40000000 and enc_key else base
    if hmac_md5(sk, neg + chal + auth[:72] + bytes(16) + auth[88:]) != \
            auth[72:88]:
        problems.append('the MIC of a logon as %r does not verify with the '
                        'session key worked out' % user)
        return []
    out = forms('NTOWFv2', rk) + forms('SessionBaseKey', base)
    out += forms('session key', sk)
    for lbl in (b'SMBSigningKey', b'SMBC2SCipherKey', b'SMBS2CCipherKey',
                b'SMBAppKey'):
        for nb in (16, 32):
            k = kdf(sk, lbl, preauth, nb)
            out += forms('%s (%d bytes)' % (lbl.decode(), nb), k)
            if lbl == b'SMBSigningKey' and nb == 16 and \
                    check_signature(k, final) is False:
                problems.append('the signing key worked out does not '
                                'verify the final SESSION_SETUP reply')
    return out

def conn_keys(pw, c2s, s2c, problems):
    """[(label, bytes)] for each NTLM logon of one connection that
    succeeded (SMB 3.1.1: the preauth hash is the KDF context)."""
    reqs, rsps = frames(c2s), frames(s2c)
    by_mid = {hdr(r)['mid']: r for r in rsps}
    pre = bytes(64)
    neg_req = [r for r in reqs if hdr(r)['cmd'] == 0]
    if neg_req and hdr(neg_req[0])['mid'] in by_mid:
        for m in (neg_req[0], by_mid[hdr(neg_req[0])['mid']]):
            pre = hashlib.sha512(pre + m).digest()
    rounds = [r for r in reqs if hdr(r)['cmd'] == 1]
    out, i = [], 0
    while i < len(rounds):
        h, toks, final = pre, {}, None
        while i < len(rounds):  # one logon: until a final reply
            req = rounds[i]
            i += 1
            h = hashlib.sha512(h + req).digest()
            for kind in (1, 3):
                toks[kind] = ntlm_token(req, kind) or toks.get(kind)
            rsp = by_mid.get(hdr(req)['mid'])
            if rsp is None:
                break
            toks[2] = ntlm_token(rsp, 2) or toks.get(2)
            if hdr(rsp)['status'] != MORE_PROCESSING:
                final = rsp
                break
            h = hashlib.sha512(h + rsp).digest()
        if final is not None and hdr(final)['status'] == 0 and \
                all(toks.get(k) for k in (1, 2, 3)):
            out += logon_keys(pw, toks[1], toks[2], toks[3], h, final,
                              problems)
    return out

def keys(pw, d, outpath):
    allk, problems = [], []
    for name in sorted(os.listdir(d)):
        if name.endswith('.c2s'):
            base = os.path.join(d, name[:-4])
            s2c = open(base + '.s2c', 'rb').read() \
                if os.path.exists(base + '.s2c') else b''
            allk += conn_keys(pw, open(base + '.c2s', 'rb').read(), s2c,
                              problems)
    with open(outpath, 'w') as f:
        json.dump([[lbl, v.hex()] for lbl, v in allk], f)
    logons = sum(1 for lbl, _ in allk if lbl == 'session key')
    print('%d logons recorded, their keys learnt' % logons)
    for p in problems:
        print('PROBLEM: ' + p)
    return 1 if problems or not logons else 0

def scan(patfiles, files):
    pats = []
    for pf in patfiles.split(','):
        pats += [(lbl, bytes.fromhex(v)) for lbl, v in json.load(open(pf))]
    bad = 0
    for fn in files:
        data = open(fn, 'rb').read()
        for lbl, p in pats:
            j = data.find(p)
            if p and j >= 0:
                ctx = data[max(0, j - 80):j + len(p) + 40]
                print('LEAK: %s in %s at byte %d: ...%r...' % (lbl, fn, j, ctx))
                bad += 1
    print('%d files searched for %d patterns' % (len(files), len(pats)))
    return 1 if bad else 0

def main(a):
    if a[0] == 'proxy':  # proxy PORTFILE TARGET_PORT DIR
        proxy(a[1], int(a[2]), a[3])
    elif a[0] == 'syslog':  # syslog SOCKET FILE
        syslog(a[1], a[2])
    elif a[0] == 'keys':  # keys PASSWORD DIR OUT
        return keys(a[1], a[2], a[3])
    elif a[0] == 'patterns':  # patterns OUT LABEL=PASSWORD...
        pats = []
        for spec in a[2:]:
            lbl, pw = spec.split('=', 1)
            pats += password_forms(lbl, pw)
        with open(a[1], 'w') as f:
            json.dump([[lbl, v.hex()] for lbl, v in pats], f)
    elif a[0] == 'hexspec':  # hexspec USER DOMAIN PASSWORD...
        spec = []
        for n, pw in enumerate(a[3:]):
            spec += ['pw%d=%s' % (n, pw.encode().hex()),
                     'pw%d-utf16le=%s' % (n, pw.encode('utf-16-le').hex()),
                     'pw%d-nthash=%s' % (n, nt_hash(pw).hex()),
                     'pw%d-ntowfv2=%s' % (n, ntowfv2(pw, a[1], a[2]).hex())]
        print(','.join(spec))
    elif a[0] == 'scan':  # scan PATTERNS[,PATTERNS] FILE...
        return scan(a[1], a[2:])
    return 0

if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
PYEOF

# ---- processes of ours, cleanup -------------------------------------------
PROXY_PID=
SYSLOG_PID=
MOUNTS=()
secrets_cleanup() {
  set +e
  cd /
  local m pid
  for m in ${MOUNTS[@]+"${MOUNTS[@]}"}; do
    if awk -v m="$m" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo; then
      fusermount3 -u "$m" 2>/dev/null || umount -l "$m"
    fi
  done
  sed -n 's/^pid=//p' "$STATES"/*.state 2>/dev/null | while read -r pid; do
    kill "$pid" 2>/dev/null
  done
  for pid in $PROXY_PID $SYSLOG_PID; do
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  fixture_cleanup
}
trap secrets_cleanup EXIT

running() { # running PID: alive and not a zombie (orphans may wait long
  # to be reaped)
  [ -r "/proc/$1/stat" ] && ! grep -q '^[0-9]* (.*) [ZX] ' "/proc/$1/stat" 2>/dev/null
}

wait_file() { # wait_file FILE: up to 10 s until it exists and is not empty
  local i
  for i in $(seq 1 200); do [ -s "$1" ] && return 0; sleep 0.05; done
  return 1
}

nopw() { (unset SMBQ_PASSWORD; "$@"); } # nopw CMD...: without SMBQ_PASSWORD

# runs CMD, its stdout and stderr kept as $O/NAME.out and $O/NAME.err;
# it must exit WANT: run WANT NAME CMD...
run() {
  local want=$1 name=$2 rc=0
  shift 2
  "$@" >"$O/$name.out" 2>"$O/$name.err" </dev/null || rc=$?
  if [ "$rc" -ne "$want" ]; then
    cat "$O/$name.err" >&2
    fail "$name: '$*' exited $rc, expected $want"
  fi
}

S=$SMBQ_TEST_SHAREDIR
echo hello >"$S/hello.txt"
mkdir -p "$S/dir"
echo inner >"$S/dir/inner.txt"
chown -R "$SMBQ_TEST_USER" "$S/hello.txt" "$S/dir"
head -c 200000 /dev/urandom >"$W/local.bin"
printf '%s\n' "$PW" >"$W/pwfile"
printf 'username=%s\npassword=%s\n' "$SMBQ_TEST_USER" "$PW" >"$W/creds"
printf 'username=%s\npassword=%s\n' "$SMBQ_TEST_USER" "$WRONG" >"$W/creds.wrong"
chmod 600 "$W/pwfile" "$W/creds" "$W/creds.wrong"
# smbq.conf holds no passwords; a user may still write one there
printf '[global]\npassword = %s\n' "$PW" >"$W/pw.conf"
printf '[global]\n%s\n' "$PW" >"$W/pw-syntax.conf"

# use_mount NAME: mount share "share" on a new mount point through
# `smbq use`; sets MNT and DAEMON. The caller's environment (SMBQ_PASSWORD,
# LD_PRELOAD) goes on to smbq-mount.
use_mount() {
  MNT=$D/$1
  mkdir -p "$MNT"
  MOUNTS+=("$MNT")
  run 0 "use-mount-$1" sq -v use "$(url share)" "$MNT"
  local st
  st=$(grep -lx "mountpoint=$MNT" "$STATES"/*.state 2>/dev/null || true)
  [ -n "$st" ] || fail "no state file for $MNT in $STATES"
  DAEMON=$(sed -n 's/^pid=//p' "$st")
  [ "$(cat "$MNT/hello.txt")" = hello ] || fail "hello.txt not readable through $MNT"
}

# outage: cut every connection at the proxy, then read through MNT until
# the daemon has made a new connection and its state is OK again.
outage() {
  local before i
  before=$(find "$D/rec" -name '*.c2s' | wc -l)
  kill -USR1 "$PROXY_PID"
  for i in $(seq 1 60); do
    ls "$MNT/nonexistent-$i" >/dev/null 2>&1 || true
    [ "$(find "$D/rec" -name '*.c2s' | wc -l)" -gt "$before" ] &&
      [ "$(cat "$MNT/hello.txt" 2>/dev/null)" = hello ] &&
      grep -qx "state=OK" "$STATES/$DAEMON.state" 2>/dev/null && return 0
    sleep 0.5
  done
  fail "the mount on $MNT did not come back after the outage: $(cat "$STATES/$DAEMON.state" 2>&1)"
}

# The recording proxy between smbq (or the QUIC front) and smbd.
python3 "$PY" proxy "$D/proxy.port" "$SMBQ_TEST_PORT" "$D/rec" \
  >"$D/proxy.log" 2>&1 &
PROXY_PID=$!
wait_file "$D/proxy.port" || fail "the recording proxy did not start: $(cat "$D/proxy.log")"
SMBQ_TEST_PORT=$(cat "$D/proxy.port") # sq goes through it
if [ "${SMBQ_TRANSPORT:-tcp}" = quic ]; then
  fixture_front_stop
  fixture_front "$SMBQ_TEST_PORT" server
fi

# ==== free ===================================================================
if [ "$MODE" = free ]; then
  FREE_SCAN=${2:?the path of free_scan.so}
  FS=$D/free-scan
  mkdir -p "$FS"
  FREE_SCAN_HEX=$(python3 "$PY" hexspec "$SMBQ_TEST_USER" "" "$PW" "$WRONG")
  export FREE_SCAN_HEX

  step "the scanner finds what bash frees unwiped"
  # bash frees the words and the variable holding the password without
  # wiping them: the scanner must see that
  FREE_SCAN_OUT=$FS/control LD_PRELOAD=$FREE_SCAN \
    bash -c 'X=$SMBQ_PASSWORD; Y="$X$X"; unset X Y; true'
  hits=$(awk '$1 == "total" { n += $3 } END { print n + 0 }' "$FS"/control.* 2>/dev/null || echo 0)
  [ "$hits" -gt 0 ] || fail "free_scan.so saw no password freed by bash: the scanner does not work"
  rm -f "$FS"/control.*
  # and inside smbq: a name it handles (and frees unwiped, being no
  # secret) is seen
  CTL=ctl-Qw8Zx
  mkdir "$S/$CTL"
  chown "$SMBQ_TEST_USER" "$S/$CTL"
  FREE_SCAN_HEX="ctl=$(printf %s "$CTL" | od -An -tx1 | tr -d ' \n')" \
    FREE_SCAN_OUT=$FS/control LD_PRELOAD=$FREE_SCAN run 0 control-smbq sq ls "$(url share "$CTL")"
  hits=$(awk '$1 == "total" { n += $3 } END { print n + 0 }' "$FS"/control.* 2>/dev/null || echo 0)
  [ "$hits" -gt 0 ] || fail "free_scan.so saw nothing of what smbq frees: not preloaded, or not interposed"
  rm -f "$FS"/control.*

  export FREE_SCAN_OUT=$FS/smbq
  # shellcheck disable=SC2317 # run calls it
  scanned() { LD_PRELOAD=$FREE_SCAN "$@"; }
  step "ls, get, put, shares, doctor with the password from SMBQ_PASSWORD"
  run 0 ls scanned sq -v ls "$(url share)"
  run 0 get scanned sq -v get "$(url share hello.txt)" "$W/got"
  run 0 put scanned sq -v put "$W/local.bin" "$(url share put.bin)"
  run 0 ls-enc scanned sq -v ls "$(url enc)"
  run 0 shares scanned sq -v shares "//$SMBQ_TEST_HOST"
  run 0 doctor scanned sq -v doctor "$(url share)"
  step "--password-file, --credentials"
  run 0 ls-pwfile nopw scanned sq --password-file "$W/pwfile" ls "$(url share)"
  run 0 get-creds nopw scanned sq --credentials "$W/creds" get "$(url share hello.txt)" "$W/got2"
  step "a configuration file with a password in it"
  run 0 config-pw scanned sq --config "$W/pw.conf" ls "$(url share)"
  run 2 config-pw-syntax scanned sq --config "$W/pw-syntax.conf" ls "$(url share)"
  step "a wrong password"
  SMBQ_PASSWORD=$WRONG run 3 ls-wrong scanned sq -v ls "$(url share)"
  run 3 ls-wrong-creds nopw scanned sq --credentials "$W/creds.wrong" ls "$(url share)"
  SMBQ_PASSWORD=$WRONG run 3 doctor-wrong scanned sq -v doctor "$(url share)"

  if [ -n "$NO_FUSE" ]; then
    echo "SKIP (part): smbq use and smbq-mount: $NO_FUSE"
  else
    step "smbq use: mount, read, an outage it reconnects across, delete"
    export LD_PRELOAD=$FREE_SCAN
    use_mount m1
    outage
    run 0 use-delete sq use "$MNT" --delete
    unset LD_PRELOAD
    ! running "$DAEMON" || fail "smbq-mount $DAEMON still running after --delete"
  fi

  step "what the scanner saw"
  ls "$FS"/smbq.* >/dev/null 2>&1 || fail "free_scan.so wrote no report: was it preloaded?"
  procs=$(grep -l '^total ' "$FS"/smbq.* | wc -l)
  hits=$(awk '$1 == "total" { n += $3 } END { print n + 0 }' "$FS"/smbq.*)
  recs=$(cat "$FS"/smbq.* | grep -c '^hit ' || true)
  echo "$procs processes scanned, $hits secret(s) freed without wiping"
  [ "$procs" -ge 10 ] || fail "only $procs processes reported their totals"
  if [ "$hits" -gt 0 ] || [ "$recs" -gt 0 ]; then
    # the freeing stacks, symbolised: module offset -> function, file:line
    for f in "$FS"/smbq.*; do
      grep -q '^hit ' "$f" || continue
      echo "--- $f"
      while read -r kw a b c; do
        if [ "$kw" = frame ] && [ "$a" != "?" ] && command -v addr2line >/dev/null; then
          echo "  $(addr2line -f -p -e "$a" "$b" 2>/dev/null || echo "$a $b") [$a $c]"
        else
          echo "$kw $a $b $c"
        fi
      done <"$f"
    done >&2
    fail "secrets freed without being wiped (stacks above)"
  fi
  san_check
  echo "PASS"
  exit 0
fi

# ==== output =================================================================
if [ -n "${SMBQ_SECRETS_UNSHARED:-}" ]; then
  python3 "$PY" syslog /dev/log "$D/syslog.txt" >"$D/syslog.log" 2>&1 &
  SYSLOG_PID=$!
  for _ in $(seq 1 200); do [ -e "$D/syslog.txt.ready" ] && break; sleep 0.05; done
  [ -e "$D/syslog.txt.ready" ] || fail "no syslog socket: $(cat "$D/syslog.log")"
  logger -u /dev/log -t smbq-secrets-test "syslog capture works" ||
    fail "logger could not write to our /dev/log"
fi

step "ls, stat, info with -v, -vv and --json"
run 0 ls sq -v ls "$(url share)"
run 0 ls-vv sq -v -v ls "$(url share)"
run 0 ls-json sq -v --json ls "$(url share)"
run 0 stat-json sq -v --json stat "$(url share hello.txt)"
run 0 info-json sq -v -v --json info "$(url share)"
run 0 info-enc-json sq -v --json info "$(url enc)"
step "get, put, cp both ways"
run 0 get sq -v get "$(url share hello.txt)" "$W/got"
run 0 put sq -v put "$W/local.bin" "$(url enc put.bin)"
run 0 cp-up sq -v -v cp "$W/local.bin" "$(url share cp.bin)"
run 0 cp-down sq -v --json cp -r "$(url share dir)" "$W/cpdir"
step "shares, doctor, config"
run 0 shares sq -v shares "//$SMBQ_TEST_HOST"
run 0 shares-json sq -v -v --json shares "//$SMBQ_TEST_HOST"
run 0 doctor sq -v doctor "$(url share)"
run 0 config sq -v config "//$SMBQ_TEST_HOST"
step "a configuration file with a password in it: not repeated"
run 0 config-pw-key sq -v --config "$W/pw.conf" ls "$(url share)"
grep -q "unknown key .password. ignored: smbq.conf holds no passwords" "$O/config-pw-key.err" ||
  fail "smbq.conf's unknown key not reported: $(cat "$O/config-pw-key.err")"
run 0 config-pw-key-show sq -v --config "$W/pw.conf" config "//$SMBQ_TEST_HOST"
config_rc=0
sq -v --config "$W/pw-syntax.conf" ls "$(url share)" >"$O/config-pw-syntax.out" \
  2>"$O/config-pw-syntax.err" || config_rc=$?
[ "$config_rc" -ne 0 ] || fail "a syntax error in smbq.conf was let through"
step "--password-file, --credentials"
run 0 ls-pwfile nopw sq -v --password-file "$W/pwfile" ls "$(url share)"
run 0 ls-creds nopw sq -v --credentials "$W/creds" --json ls "$(url share)"
step "a wrong password: its error messages"
SMBQ_PASSWORD=$WRONG run 3 ls-wrong sq -v ls "$(url share)"
SMBQ_PASSWORD=$WRONG run 3 ls-wrong-json sq -v -v --json ls "$(url share)"
run 3 ls-wrong-creds nopw sq -v --credentials "$W/creds.wrong" \
  get "$(url share hello.txt)" "$W/nope"
SMBQ_PASSWORD=$WRONG run 3 doctor-wrong sq -v doctor "$(url share)"
SMBQ_PASSWORD=$WRONG run 3 cp-wrong sq -v cp "$W/local.bin" "$(url share nope.bin)"
grep -qiE 'logon failure|wrong user name or password' "$O/ls-wrong.err" ||
  fail "no logon failure reported: $(cat "$O/ls-wrong.err")"
step "a password in the location: refused, not repeated"
PWURL="smb://$SMBQ_TEST_USER:$PW@$SMBQ_TEST_HOST/share"
run 2 url-pw-ls sq -v ls "$PWURL"
run 2 url-pw-ls-wrong sq -v ls "smb://$SMBQ_TEST_USER:$WRONG@$SMBQ_TEST_HOST/share/dir"
run 2 url-pw-cp sq -v cp "$W/local.bin" "$PWURL/url.bin"
run 2 url-pw-cp-down sq -v cp "$PWURL/hello.txt" "$W/url.txt"
run 2 url-pw-doctor sq -v doctor "$PWURL"
run 2 url-pw-noshare sq -v ls "smb://$SMBQ_TEST_USER:$PW@$SMBQ_TEST_HOST/"
grep -q "password in the location" "$O/url-pw-ls.err" ||
  fail "a password in the location not refused as such: $(cat "$O/url-pw-ls.err")"
[ ! -e "$S/url.bin" ] || fail "a location with a password was used"

step "-t auto: the transport cache"
if [ "${SMBQ_TRANSPORT:-tcp}" = quic ]; then
  AUTO=(-t auto -p "$SMBQ_TEST_PORT" --quic-port "$SMBQ_TEST_QUIC_PORT"
    --ca-file "$SMBQ_TEST_PKI/ca.pem" --resolve "$SMBQ_TEST_HOST:127.0.0.1")
else
  AUTO=(-t auto -p "$SMBQ_TEST_PORT" --quic-port "$(fixture_free_port)")
fi
run 0 ls-auto "$SMBQ" -v -U "$SMBQ_TEST_USER" "${AUTO[@]}" ls "$(url share)"
CACHE=$XDG_CACHE_HOME/smbq/transports
[ -s "$CACHE" ] || fail "-t auto wrote no transport cache at $CACHE"
cp "$CACHE" "$O/transport-cache"

if [ -n "$NO_FUSE" ]; then
  echo "SKIP (part): smbq use, smbq-mount and its syslog lines: $NO_FUSE"
else
  step "smbq use: mount, list, detail, stats, an outage, wrong password, delete"
  use_mount m1
  run 0 use-list sq -v use
  run 0 use-json sq -v --json use
  run 0 use-detail sq -v use "$MNT"
  run 0 use-stats sq -v use --stats "$MNT"
  cp "$STATES/$DAEMON.state" "$O/state-mounted"
  # what /proc shows of the daemon: SMBQ_PASSWORD wiped from its
  # environment, no password in its arguments
  tr '\0' '\n' <"/proc/$DAEMON/environ" >"$O/daemon-environ"
  tr '\0' ' ' <"/proc/$DAEMON/cmdline" >"$O/daemon-cmdline"
  cp /proc/self/mountinfo "$O/mountinfo"
  grep -q '^SMBQ_PASSWORD=.' "$O/daemon-environ" &&
    fail "smbq-mount keeps SMBQ_PASSWORD in its environment"
  outage
  cp "$STATES/$DAEMON.state" "$O/state-reconnected"
  run 0 use-list-after sq -v --json use
  M2=$D/m2
  mkdir -p "$M2"
  MOUNTS+=("$M2")
  SMBQ_PASSWORD=$WRONG run 3 use-wrong sq -v use "$(url share)" "$M2"
  run 2 use-url-pw sq -v use "$PWURL" "$M2"
  run 2 use-o-pw sq -v use "$(url share)" "$M2" -o "password=$PW"
  grep -q "password on the command line" "$O/use-o-pw.err" ||
    fail "-o password= not refused as such: $(cat "$O/use-o-pw.err")"
  run 0 use-delete sq -v use "$MNT" --delete
  ! running "$DAEMON" || fail "smbq-mount $DAEMON still running after --delete"
  # the daemon's last line, before it exits
  for _ in $(seq 1 100); do
    grep -q "smbq-mount\[$DAEMON\]: unmounted " "$D/syslog.txt" && break
    sleep 0.1
  done
  cp "$D/syslog.txt" "$O/syslog"
  grep -q 'smbq-secrets-test.*syslog capture works' "$O/syslog" ||
    fail "our own logger line did not reach the captured syslog"
  grep -q "smbq-mount\[$DAEMON\]: mounted " "$O/syslog" ||
    fail "smbq-mount's syslog lines were not captured: $(cat "$O/syslog")"
  grep -q "smbq-mount\[$DAEMON\]: .*reconnect" "$O/syslog" ||
    fail "no reconnect lines from smbq-mount in syslog: $(cat "$O/syslog")"
  echo "$(grep -c "smbq-mount\[" "$O/syslog") syslog lines from smbq-mount captured"
fi

step "the keys of every logon, from the recording"
# (the proxy writes what it forwards before forwarding it: every message
# a client saw is on disk)
python3 "$PY" keys "$PW" "$D/rec" "$D/keys.json" >"$D/keys.log" 2>&1 ||
  fail "could not learn the session keys: $(cat "$D/keys.log")"
cat "$D/keys.log"
python3 "$PY" patterns "$D/passwords.json" "password=$PW" "wrong password=$WRONG"

step "the search"
# first, that it finds what is there
printf 'x %s y\n' "$(printf '%s' "$PW" | iconv -f UTF-8 -t UTF-16LE | od -An -tx1 | tr -d ' \n')" >"$D/control"
! python3 "$PY" scan "$D/passwords.json" "$D/control" >"$D/control.log" 2>&1 ||
  fail "the search does not find a password written in hex"
python3 "$PY" scan "$D/keys.json" "$D/keys.json" >/dev/null 2>&1 &&
  fail "the search does not find the keys in their own list"
mapfile -t FILES < <(find "$O" "$D/rec" -type f | sort)
[ "${#FILES[@]}" -ge 40 ] || fail "only ${#FILES[@]} files to search"
python3 "$PY" scan "$D/passwords.json,$D/keys.json" "${FILES[@]}" >"$D/scan.log" 2>&1 || {
  cat "$D/scan.log" >&2
  fail "secrets in the output, the cache, the state files, syslog or on the wire"
}
tail -1 "$D/scan.log"
san_check
echo "PASS"
