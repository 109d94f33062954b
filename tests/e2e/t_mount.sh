#!/usr/bin/env bash
# smbq-mount on a real /dev/fuse over the fixture's transport, driven with
# ordinary tools: a tree round trip (tar in, diff -r, cp -r back), cp, mv,
# rm, mkdir, dd, truncate, touch -d, stat, df, sha256sum; rename over a
# file and RENAME_NOREPLACE; delete of an open file; two writers at once;
# chmod a-w as the read-only attribute; a large directory; fusermount3 -u;
# a detached mount; an fstab-style `mount -t fuse.smbq-mount` and umount;
# wrong password (exit 3, nothing mounted); credentials file readable by
# others refused; the password prompt; no password in the daemon's command
# line or environment.
set -euo pipefail
. "$(dirname "$0")/mount_fixture.sh"
mount_fixture_need_fuse
mount_fixture_start

# ---- test data --------------------------------------------------------------
step "test data"

# A tree of 2000 small files in 20 directories (a few odd names), three
# large files, and its tarball.
python3 - "$W/src" <<'PY'
import os, random, sys
root = sys.argv[1]
rnd = random.Random(4711)
for d in range(20):
    dd = os.path.join(root, "d%02d" % d, "sub") if d % 5 == 0 else os.path.join(root, "d%02d" % d)
    os.makedirs(dd, exist_ok=True)
    for f in range(100):
        name = "f%03d.txt" % f
        if f == 7: name = "with space %d.txt" % d
        if f == 8: name = "ünïcødé-%d-日本.bin" % d
        with open(os.path.join(dd, name), "wb") as fh:
            fh.write(rnd.randbytes(rnd.randrange(0, 6000)))
for name, size in (("big1.bin", 48 << 20), ("big2.bin", (8 << 20) + 1), ("big3.bin", (1 << 20) - 1)):
    with open(os.path.join(root, name), "wb") as fh:
        fh.write(os.urandom(size))
os.makedirs(os.path.join(root, "empty"))
PY
tar -cf "$W/tree.tar" -C "$W" src

M=$SMBQ_TEST_DIR/m1
export SMBQ_PASSWORD
fg_mount "$M"
M1_PID=$MOUNT_PID
grep -q "fuse.smbq-mount //$SMBQ_TEST_HOST/share" /proc/self/mountinfo ||
  fail "mountinfo does not show fuse.smbq-mount //$SMBQ_TEST_HOST/share"

# ---- secrets ----------------------------------------------------------------
step "secrets"

if tr '\0' '\n' <"/proc/$M1_PID/cmdline" | grep -qF "$SMBQ_PASSWORD"; then
  fail "password in the command line"
fi
if tr '\0' '\n' <"/proc/$M1_PID/environ" | grep -qF "$SMBQ_PASSWORD"; then
  fail "password still in the daemon's environment"
fi
grep -q '^Max core file size *0 *0 ' "/proc/$M1_PID/limits" ||
  fail "core dumps not disabled"

# ---- tree round trip --------------------------------------------------------
step "tree round trip"

tar -xf "$W/tree.tar" -C "$M"
diff -r "$W/src" "$M/src" || fail "tree read back through the mount differs"
diff -r "$W/src" "$S/src" || fail "tree on the server differs"
cp -r "$M/src" "$W/back"
diff -r "$W/src" "$W/back" || fail "tree copied back differs"
for f in big1.bin big2.bin big3.bin; do
  [ "$(sha256sum <"$M/src/$f")" = "$(sha256sum <"$W/src/$f")" ] ||
    fail "sha256 of $f differs"
done
[ "$(find "$M/src" -type f | wc -l)" -eq 2003 ] || fail "find counts the wrong number of files"

# ---- cp, mv, rm, mkdir, stat --------------------------------------------------
step "cp, mv, rm, mkdir, stat"

mkdir "$M/newdir"
[ -d "$S/newdir" ] || fail "mkdir not on the server"
cp "$W/src/big2.bin" "$M/newdir/copy.bin"
same_file "$W/src/big2.bin" "$S/newdir/copy.bin"
mv "$M/newdir/copy.bin" "$M/moved.bin"
[ ! -e "$S/newdir/copy.bin" ] || fail "mv left the source on the server"
same_file "$W/src/big2.bin" "$S/moved.bin"
mv "$M/src/d01" "$M/newdir/d01"             # a directory, with its files
diff -r "$W/src/d01" "$M/newdir/d01" || fail "moved directory differs"
[ "$(stat -c '%s %F' "$M/moved.bin")" = "$(((8 << 20) + 1)) regular file" ] ||
  fail "stat: $(stat -c '%s %F' "$M/moved.bin")"
[ "$(stat -c %F "$M/newdir")" = directory ] || fail "stat of a directory"
rm "$M/moved.bin"
[ ! -e "$S/moved.bin" ] || fail "rm did not delete on the server"
if rmdir "$M/newdir" 2>"$W/err"; then fail "rmdir of a non-empty dir worked"; fi
grep -q 'not empty' "$W/err" || fail "rmdir: $(cat "$W/err")"
rm -r "$M/newdir"
[ ! -e "$S/newdir" ] || fail "rm -r left the directory"
if cat "$M/nothing" 2>"$W/err"; then fail "cat of a missing file worked"; fi
grep -q 'No such file' "$W/err" || fail "missing file: $(cat "$W/err")"

# ---- dd, truncate, touch -d ---------------------------------------------------
step "dd, truncate, touch -d"

head -c $((24 << 20)) /dev/urandom >"$W/dd.bin"
dd if="$W/dd.bin" of="$M/dd.bin" bs=4M conv=fsync status=none
[ "$(dd if="$M/dd.bin" bs=1M status=none | sha256sum)" = "$(sha256sum <"$W/dd.bin")" ] ||
  fail "dd round trip differs"
dd if="$W/dd.bin" of="$M/dd.bin" bs=64k seek=3 count=2 conv=notrunc status=none
dd if="$W/dd.bin" of="$W/dd.bin" bs=64k seek=3 count=2 conv=notrunc status=none
same_file "$W/dd.bin" "$S/dd.bin"
truncate -s 1000001 "$M/dd.bin"
truncate -s 1000001 "$W/dd.bin"
same_file "$W/dd.bin" "$S/dd.bin"
truncate -s 3000000 "$M/dd.bin"             # grows with zeros
truncate -s 3000000 "$W/dd.bin"
same_file "$W/dd.bin" "$M/dd.bin"
[ "$(stat -c %s "$M/dd.bin")" -eq 3000000 ] || fail "truncate size"
touch -d '2001-02-03 04:05:06 UTC' "$M/dd.bin"
[ "$(stat -c %Y "$M/dd.bin")" -eq 981173106 ] || fail "touch -d: mount shows $(stat -c %y "$M/dd.bin")"
[ "$(stat -c %Y "$S/dd.bin")" -eq 981173106 ] || fail "touch -d: server has $(stat -c %y "$S/dd.bin")"
printf a >>"$M/appended"
printf b >>"$M/appended"
[ "$(cat "$S/appended")" = ab ] || fail "O_APPEND: $(cat "$S/appended")"
touch "$M/touched"
[ -f "$S/touched" ] && [ "$(stat -c %s "$S/touched")" -eq 0 ] || fail "touch did not create"

# ---- rename over an existing file; RENAME_NOREPLACE ---------------------------
step "rename over an existing file; RENAME_NOREPLACE"

echo one >"$M/r1"
echo two >"$M/r2"
mv "$M/r1" "$M/r2"
[ "$(cat "$M/r2")" = one ] && [ ! -e "$M/r1" ] && [ "$(cat "$S/r2")" = one ] ||
  fail "rename over an existing file"
echo three >"$M/r3"
python3 - "$M/r3" "$M/r2" <<'PY' || fail "renameat2(RENAME_NOREPLACE)"
import ctypes, errno, os, sys
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, RENAME_NOREPLACE = -100, 1
src, dst = (s.encode() for s in sys.argv[1:3])
r = libc.renameat2(AT_FDCWD, src, AT_FDCWD, dst, RENAME_NOREPLACE)
assert r == -1 and ctypes.get_errno() == errno.EEXIST, (r, ctypes.get_errno())
assert open(sys.argv[2]).read() == "one\n" and open(sys.argv[1]).read() == "three\n"
new = sys.argv[1] + ".new"
assert libc.renameat2(AT_FDCWD, src, AT_FDCWD, new.encode(), RENAME_NOREPLACE) == 0
assert not os.path.exists(sys.argv[1]) and open(new).read() == "three\n"
PY

# ---- delete of an open file ---------------------------------------------------
step "delete of an open file"

printf 'still here\n' >"$M/open.txt"
exec 3<"$M/open.txt"
rm "$M/open.txt"
[ ! -e "$M/open.txt" ] || fail "deleted file still visible"
[ ! -e "$S/open.txt" ] || fail "deleted file still on the server under its name"
[ "$(cat <&3)" = "still here" ] || fail "open file unreadable after delete"
echo new >"$M/open.txt"                  # the name is free again
exec 3<&-
for i in $(seq 1 40); do
  ls -A "$S" | grep -q '^\.smbq-deleted' || break
  sleep 0.05
done
! ls -A "$S" | grep -q '^\.smbq-deleted' || fail "deleted file left behind after close"
[ "$(cat "$S/open.txt")" = new ] || fail "new file under a deleted name"
mkdir "$M/gone"
echo x >"$M/gone/f"
rm "$M/gone/f"
rmdir "$M/gone" || fail "rmdir right after deleting the last file"

# ---- two processes writing different files at once ---------------------------
step "two processes writing different files at once"

head -c $((32 << 20)) /dev/urandom >"$W/p1"
head -c $((32 << 20)) /dev/urandom >"$W/p2"
cp "$W/p1" "$M/p1" &
c1=$!
dd if="$W/p2" of="$M/p2" bs=1M status=none &
c2=$!
wait "$c1" || fail "writer 1 failed"
wait "$c2" || fail "writer 2 failed"
same_file "$W/p1" "$S/p1"
same_file "$W/p2" "$S/p2"

# ---- df ---------------------------------------------------------------------------
step "df"

df -h "$M" | grep -q "^//$SMBQ_TEST_HOST/share " || fail "df: $(df -h "$M")"
python3 - "$M" "$S" <<'PY' || fail "statfs of the mount does not match the share's disk"
import os, sys
m, s = os.statvfs(sys.argv[1]), os.statvfs(sys.argv[2])
size_m, size_s = m.f_blocks * m.f_frsize, s.f_blocks * s.f_frsize
avail_m, avail_s = m.f_bavail * m.f_frsize, s.f_bavail * s.f_frsize
assert abs(size_m - size_s) <= max(size_s // 100, 1 << 20), (size_m, size_s)
assert abs(avail_m - avail_s) <= max(size_s // 20, 256 << 20), (avail_m, avail_s)
PY

# ---- chmod a-w shows read-only -----------------------------------------------------
step "chmod a-w shows read-only"

echo ro >"$M/ro.txt"
chmod a-w "$M/ro.txt"
[ "$(stat -c %A "$M/ro.txt")" = "-r--r--r--" ] || fail "chmod a-w: $(stat -c %A "$M/ro.txt")"
sq stat --json "$(url share ro.txt)" >"$W/ro.json"
python3 -c "import json,sys; sys.exit(0 if json.load(open('$W/ro.json'))['attributes'] & 1 else 1)" ||
  fail "read-only attribute not set on the server"
if (echo more >>"$M/ro.txt") 2>/dev/null; then fail "wrote to a read-only file"; fi
chmod u+w "$M/ro.txt"
[ "$(stat -c %A "$M/ro.txt")" = "-rw-r--r--" ] || fail "chmod u+w: $(stat -c %A "$M/ro.txt")"
echo more >>"$M/ro.txt"
chmod a-w "$M/ro.txt"
rm "$M/ro.txt" || fail "rm of a read-only file"
[ ! -e "$S/ro.txt" ] || fail "read-only file not deleted"

# ---- a large directory, streamed ---------------------------------------------------
step "a large directory, streamed"

mkdir "$S/many"
(cd "$S/many" && seq -f 'entry-%05g' 1 3000 | xargs touch)
chown -R "$SMBQ_TEST_USER" "$S/many"
[ "$(ls "$M/many" | wc -l)" -eq 3000 ] || fail "ls of 3000 entries: $(ls "$M/many" | wc -l)"
[ "$(ls -l "$M/many" | grep -c ' entry-')" -eq 3000 ] || fail "ls -l of 3000 entries"
[ "$(find "$M/many" -type f | wc -l)" -eq 3000 ] || fail "find in 3000 entries"

fg_umount "$M" "$M1_PID"
! is_mounted "$M" || fail "$M still mounted"
[ "$(ls -A "$M")" = "" ] || fail "mount point not empty after unmount"

# ---- credentials ---------------------------------------------------------------------
step "credentials"

CRED=$W/s.cred
printf '# test\nusername=%s\npassword=%s\n' "$SMBQ_TEST_USER" "$SMBQ_PASSWORD" >"$CRED"
chmod 600 "$CRED"
PW=$SMBQ_PASSWORD
unset SMBQ_PASSWORD

# the CLI takes the same file
# shellcheck disable=SC2046
expect_rc 0 "$SMBQ" $(transport_opts) --credentials "$CRED" ls "$(url share)"
grep -q 'r2' "$SMBQ_TEST_DIR/out" || fail "smbq --credentials: wrong listing"

# detached (no -f): returns 0 only once mounted
M2=$SMBQ_TEST_DIR/m2
mkdir -p "$M2"
MOUNTS+=("$M2")
# shellcheck disable=SC2046
expect_rc 0 "$SMBQ_MOUNT" "$(url share)" "$M2" $(transport_opts) \
  -o "credentials=$CRED,attr_timeout=0.5,ro,uid=1234,gid=4321,file_mode=0640,dir_mode=0750"
is_mounted "$M2" || fail "smbq-mount returned before the share was mounted"
[ "$(cat "$M2/r2")" = one ] || fail "read through the detached mount"
[ "$(stat -c '%u %g %a' "$M2/r2")" = "1234 4321 640" ] || fail "uid/gid/file_mode: $(stat -c '%u %g %a' "$M2/r2")"
[ "$(stat -c '%a' "$M2/many")" = 750 ] || fail "dir_mode: $(stat -c '%a' "$M2/many")"
if touch "$M2/nope" 2>"$W/err"; then fail "created a file on a ro mount"; fi
grep -q 'Read-only file system' "$W/err" || fail "ro mount: $(cat "$W/err")"
fusermount3 -u "$M2"
! is_mounted "$M2" || fail "$M2 still mounted"

# transport and ports from smbq.conf (smbq.conf(5)), as for smbq
CONF=$W/smbq.conf
if [ "${SMBQ_TRANSPORT:-tcp}" = quic ]; then
  printf '[server %s]\ntransport = quic\nquic_port = %s\nca_file = %s\naddress = 127.0.0.1\n' \
    "$SMBQ_TEST_HOST" "$SMBQ_TEST_QUIC_PORT" "$SMBQ_TEST_PKI/ca.pem" >"$CONF"
else
  printf '[server %s]\ntransport = tcp\nport = %s\n' "$SMBQ_TEST_HOST" "$SMBQ_TEST_PORT" >"$CONF"
fi
expect_rc 0 env SMBQ_CONFIG="$CONF" "$SMBQ_MOUNT" "$(url share)" "$M2" --credentials "$CRED"
[ "$(cat "$M2/r2")" = one ] || fail "read through a mount configured by smbq.conf"
fusermount3 -u "$M2"

# readable by others: refused, nothing mounted
chmod 644 "$CRED"
# shellcheck disable=SC2046
expect_rc 2 "$SMBQ_MOUNT" "$(url share)" "$M2" $(transport_opts) -o "credentials=$CRED"
expect_stderr 'readable by others'
! is_mounted "$M2" || fail "mounted with a world-readable credentials file"
chmod 600 "$CRED"

# wrong password: exit 3 before detaching, nothing mounted (detached and -f)
printf 'username=%s\npassword=wrong-%s\n' "$SMBQ_TEST_USER" "$RANDOM" >"$W/bad.cred"
chmod 600 "$W/bad.cred"
# shellcheck disable=SC2046
expect_rc 3 "$SMBQ_MOUNT" "$(url share)" "$M2" $(transport_opts) --credentials "$W/bad.cred"
expect_stderr 'logon failure|wrong user name or password'
! is_mounted "$M2" || fail "a mount with a wrong password was left behind"
# shellcheck disable=SC2046
expect_rc 3 env SMBQ_PASSWORD=wrong "$SMBQ_MOUNT" -f "$(url share)" "$M2" -U "$SMBQ_TEST_USER" $(transport_opts)
! is_mounted "$M2" || fail "a foreground mount with a wrong password was left behind"

# no credentials at all: asked on the terminal, without echo, before
# detaching
# shellcheck disable=SC2046
"$(dirname "$0")/on_tty.py" "Password for" "$PW" "$W/tty.out" \
  "$SMBQ_MOUNT" "$(url share)" "$M2" -U "$SMBQ_TEST_USER" $(transport_opts) ||
  fail "mount with the password typed at the prompt: $(cat "$W/tty.out")"
! grep -qF -- "$PW" "$W/tty.out" || fail "the password was echoed"
is_mounted "$M2" || fail "prompted mount not mounted"
[ "$(cat "$M2/r2")" = one ] || fail "read through the prompted mount"
fusermount3 -u "$M2"

# ---- fstab style: mount -t fuse.smbq-mount, umount ----------------------------------
step "fstab style: mount -t fuse.smbq-mount, umount"
#
# mount(8) runs helpers with a sanitised environment (no PATH), so
# mount.fuse3's `sh -c smbq-mount` searches the default PATH. In a private
# mount namespace /usr/local/sbin is bind-mounted over with a directory
# holding smbq-mount, which changes nothing outside this test.
BIN=$W/bin
mkdir -p "$BIN"
ln -sf "$SMBQ_MOUNT" "$BIN/smbq-mount"
export PATH="$BIN:$PATH"
M3=$SMBQ_TEST_DIR/m3
mkdir -p "$M3"
if [ "${SMBQ_TRANSPORT:-tcp}" = quic ]; then
  OPTS="transport=quic,quic_port=$SMBQ_TEST_QUIC_PORT,ca_file=$SMBQ_TEST_PKI/ca.pem,resolve=fsedge1.smbq.test:127.0.0.1"
else
  OPTS="transport=tcp,port=$SMBQ_TEST_PORT"
fi
OPTS="$OPTS,credentials=$CRED,_netdev"
unshare -m --propagation private bash -euo pipefail -c '
  M3=$1 BIN=$2 SRC=$3 OPTS=$4
  mnt() { awk -v m="$M3" "\$5 == m { f = 1 } END { exit !f }" /proc/self/mountinfo; }
  trap "mnt && { umount \"\$M3\" || umount -l \"\$M3\"; }" EXIT
  mount --bind "$BIN" /usr/local/sbin
  rc=0
  mount -t fuse.smbq-mount "$SRC" "$M3" -o "${OPTS/s.cred/bad.cred}" 2>/dev/null || rc=$?
  [ "$rc" -eq 3 ] && ! mnt || { echo "FAIL: mount with a wrong password: rc $rc" >&2; exit 1; }
  mount -t fuse.smbq-mount "$SRC" "$M3" -o "$OPTS"
  grep -q " $M3 .* - fuse.smbq-mount $SRC " /proc/self/mountinfo ||
    { echo "FAIL: fstab-style mount not in mountinfo" >&2; exit 1; }
  [ "$(cat "$M3/r2")" = one ] || { echo "FAIL: read via fstab-style mount" >&2; exit 1; }
  echo fstab >"$M3/fstab.txt"
  umount "$M3"
  ! mnt || { echo "FAIL: still mounted after umount" >&2; exit 1; }
' bash "$M3" "$BIN" "$(url share)" "$OPTS" || fail "fstab-style mount -t fuse.smbq-mount"
[ "$(cat "$S/fstab.txt")" = fstab ] || fail "write through the fstab-style mount"
SMBQ_PASSWORD=$PW
echo "PASS"
