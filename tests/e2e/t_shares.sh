#!/usr/bin/env bash
# smbq shares //host: the share list through srvsvc NetrShareEnum on the
# IPC$ pipe (DCE/RPC), text and --json, against smbd's own view. Forty
# extra shares make the answer longer than one RPC fragment and than the
# first transceive, so the READ continuation is exercised too.
set -euo pipefail
. "$(dirname "$0")/fixture.sh"
export SMBQ_FIXTURE_SHARE_COMMENT="Team files – Équipe 日本"
export SMBQ_FIXTURE_ENC_COMMENT="encrypted share"
extra=""
for i in $(seq -w 1 40); do
  extra+="[bulk$i]
  path = @DIR@/share
  comment = bulk share $i, with a comment long enough to need fragments
"
done
extra+="[hid\$]
  path = @DIR@/share
  comment = not browsed
[lp]
  path = /tmp
  printable = yes
  comment = a printer
"
export SMBQ_FIXTURE_EXTRA_SHARES="$extra"
fixture_start
out=$SMBQ_TEST_DIR/out

# text: one line per share, hidden ones shown and marked
expect_rc 0 sq shares "//$SMBQ_TEST_HOST"
grep -qE '^Share +Type +Flags +Comment$' "$out" || fail "no header: $(head -1 "$out")"
grep -qE "^share +disk +Team files – Équipe 日本$" "$out" ||
  fail "share line wrong: $(grep '^share ' "$out")"
grep -qE '^enc +disk +encrypted share$' "$out" || fail "enc line wrong"
grep -qE '^IPC\$ +ipc +hidden,special +IPC Service' "$out" ||
  fail "IPC\$ line wrong: $(grep '^IPC' "$out")"
grep -qE '^hid\$ +disk +hidden +not browsed$' "$out" || fail "hid\$ line wrong"
grep -qE '^lp +printer +a printer$' "$out" || fail "printer line wrong"
[ "$(grep -c '^bulk' "$out")" -eq 40 ] || fail "bulk shares missing"
! grep -q ' $' "$out" || fail "trailing blanks in the table"

# --json parses and matches what smbd serves
expect_rc 0 sq shares --json "//$SMBQ_TEST_HOST"
python3 - "$out" <<'PY' || fail "shares --json does not match the server"
import json, sys
v = json.load(open(sys.argv[1], encoding="utf-8"))
by = {e["name"]: e for e in v}
want = {"share", "enc", "IPC$", "hid$", "lp"} | {"bulk%02d" % i for i in range(1, 41)}
assert set(by) == want, set(by) ^ want
assert len(v) == len(want)
assert by["share"]["type"] == "disk" and by["share"]["comment"] == "Team files – Équipe 日本"
assert by["enc"]["type"] == "disk" and by["enc"]["comment"] == "encrypted share"
ipc = by["IPC$"]
assert ipc["type"] == "ipc" and ipc["hidden"] and ipc["special"], ipc
assert ipc["raw_type"] == 0x80000003 and ipc["comment"].startswith("IPC Service")
assert by["hid$"]["hidden"] and by["hid$"]["type"] == "disk"
assert by["lp"]["type"] == "printer" and by["lp"]["raw_type"] == 1
assert not by["share"]["hidden"] and not by["share"]["special"]
assert by["bulk17"]["comment"] == "bulk share 17, with a comment long enough to need fragments"
for e in v:
    assert set(e) == {"name", "type", "hidden", "special", "temporary", "raw_type", "comment"}, e
PY

# the same over an encrypted session, from smb:// and \\host forms
expect_rc 0 sq --encrypt shares "\\\\$SMBQ_TEST_HOST"
grep -q '^IPC\$ ' "$out" || fail "--encrypt listing lacks IPC\$"
if [ "${SMBQ_TRANSPORT:-tcp}" = tcp ]; then
  expect_rc 0 "$SMBQ" shares "smb://$SMBQ_TEST_USER@$SMBQ_TEST_HOST:$SMBQ_TEST_PORT/"
  grep -q '^share ' "$out" || fail "smb:// listing lacks share"
fi
# -v reports the connection; the listing is unchanged
expect_rc 0 sq -v shares "//$SMBQ_TEST_HOST"
expect_stderr "over ${SMBQ_TRANSPORT:-tcp}: SMB 3.1.1"

# errors: the documented exit codes and messages
expect_rc 2 sq shares "//$SMBQ_TEST_HOST/share"
expect_stderr "names a share"
expect_rc 2 "$SMBQ" shares
expect_rc 2 "$SMBQ" shares not-a-url
SMBQ_PASSWORD=wrong-password expect_rc 3 sq shares "//$SMBQ_TEST_HOST"
expect_stderr "logon failure|wrong user name or password"
expect_rc 0 "$SMBQ" --help
grep -q '^  shares //host' "$out" || fail "--help does not list shares"
echo "PASS"
