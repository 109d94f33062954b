#!/usr/bin/env bash
# The programs in examples/ work against a real server.
# Usage: t_examples.sh LIST COPY ASYNC_READ
set -euo pipefail
. "$(dirname "$0")/fixture.sh"
fixture_start
export_example_env
W=$SMBQ_TEST_DIR/work
mkdir -p "$W"
head -c 20000000 /dev/urandom >"$W/src"
server_put "$W/src" big.bin
printf 'hello from one\n' >"$W/one" && server_put "$W/one" one.txt
printf 'hello from two\n' >"$W/two" && server_put "$W/two" two.txt
"$1" "$SMBQ_TEST_HOST" share >"$W/list.out"
grep -q ' big.bin$' "$W/list.out" && grep -q ' one.txt$' "$W/list.out" ||
  fail "example list output: $(cat "$W/list.out")"
"$2" "$SMBQ_TEST_HOST" share big.bin "$W/copy"
same_file "$W/src" "$W/copy"
"$3" "$SMBQ_TEST_HOST" share one.txt two.txt >"$W/async.out"
grep -q 'one.txt: 15 bytes: hello from one' "$W/async.out" &&
  grep -q 'two.txt: 15 bytes: hello from two' "$W/async.out" ||
  fail "example async_read output: $(cat "$W/async.out")"
echo PASS
