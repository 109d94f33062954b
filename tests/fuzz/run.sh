#!/usr/bin/env bash
# Run every libFuzzer harness of tests/fuzz for SECONDS each, over a copy
# of its committed seed corpus (tests/fuzz/corpus/<harness>), with its
# dictionary, under ASan + UBSan (UB halts: it is a finding like a crash).
#
# Usage: tests/fuzz/run.sh SECONDS [BUILDDIR [HARNESS...]]
#   BUILDDIR: build-fuzz; HARNESS: e.g. http3 for fuzz_http3 (default: all)
#
# BUILDDIR is set up (CC=clang, -Dfuzz=true, ASan+UBSan) when it does not
# exist, and the harnesses are (re)built in it. Per harness it prints the
# executions, executions per second and the result; a crash, leak, UB,
# timeout or out-of-memory input is kept under BUILDDIR/fuzz-artifacts/
# and its path printed. Inputs that found new coverage are left in
# BUILDDIR/fuzz-corpus/<harness>/ (never in the committed corpus: merging
# them is a manual step, see tests/fuzz/README.md). The last line is
# "fuzz: P passed, F failed". Exit status 0 when every harness passed.
set -uo pipefail

usage() {
  echo "usage: $0 SECONDS [BUILDDIR [HARNESS...]]" >&2
  exit 2
}
[ $# -ge 1 ] || usage
secs=$1
[[ "$secs" =~ ^[1-9][0-9]*$ ]] || usage

src=$(cd "$(dirname "$0")/../.." && pwd)
cd "$src" || exit 1
build=${2:-build-fuzz}
only=("${@:3}")
case $build in
/*) ;;
*) build="$src/$build" ;;
esac

if [ ! -f "$build/build.ninja" ]; then
  echo "fuzz: setting up $build (clang, ASan+UBSan, -Dfuzz=true)"
  CC=clang meson setup "$build" -Dfuzz=true \
    -Db_sanitize=address,undefined -Db_lundef=false --werror >"$build.setup.log" 2>&1 || {
    cat "$build.setup.log" >&2
    echo "fuzz: meson setup of $build failed" >&2
    exit 1
  }
  rm -f "$build.setup.log"
fi
# only the harnesses: the rest of the tree need not build with clang
if ! ninja -C "$build" fuzz >"$build/fuzz-build.log" 2>&1; then
  tail -n 40 "$build/fuzz-build.log" >&2
  if grep -q "unknown target 'fuzz'" "$build/fuzz-build.log"; then
    echo "fuzz: $build is not a fuzz build; set it up with" \
      "CC=clang meson setup $build -Dfuzz=true" \
      "-Db_sanitize=address,undefined -Db_lundef=false" >&2
  fi
  echo "fuzz: building the harnesses in $build failed" \
    "(log: $build/fuzz-build.log)" >&2
  exit 1
fi

harnesses=()
if [ ${#only[@]} -gt 0 ]; then
  for h in "${only[@]}"; do
    f="$build/tests/fuzz/fuzz_${h#fuzz_}"
    if [ ! -x "$f" ]; then
      echo "fuzz: no harness $f (tests/fuzz/meson.build lists them)" >&2
      exit 2
    fi
    harnesses+=("$(basename "$f")")
  done
else
  for f in "$build"/tests/fuzz/fuzz_*; do
    [ -f "$f" ] && [ -x "$f" ] && harnesses+=("$(basename "$f")")
  done
fi
if [ ${#harnesses[@]} -eq 0 ]; then
  echo "fuzz: no harnesses in $build/tests/fuzz" >&2
  exit 1
fi

art="$build/fuzz-artifacts"
logs="$build/fuzz-logs"
work="$build/fuzz-corpus"
mkdir -p "$art" "$logs" "$work"

# UB is a finding: halt at the first report (libFuzzer then keeps the
# input). Leaks are findings too; tests/lsan.supp holds the known ones of
# third-party libraries.
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1
export LSAN_OPTIONS=suppressions=$src/tests/lsan.supp:print_suppressions=0

pass=0 fail=0
printf '%-20s %12s %10s  %s\n' harness executions exec/s result
for h in "${harnesses[@]}"; do
  name=${h#fuzz_}
  seeds="$src/tests/fuzz/corpus/$name"
  dict="$src/tests/fuzz/$name.dict"
  [ -f "$dict" ] || dict="$src/tests/fuzz/smb.dict"
  corpus="$work/$name"
  rm -rf "$corpus"
  mkdir -p "$corpus"
  [ -d "$seeds" ] && cp -r "$seeds"/. "$corpus"/
  log="$logs/$name.log"
  before=$(ls "$art" | sort)
  # -max_total_time counts from the start, corpus loading included
  "$build/tests/fuzz/$h" -max_total_time="$secs" -timeout=10 \
    -rss_limit_mb=2048 -dict="$dict" -artifact_prefix="$art/$name-" \
    -print_final_stats=1 "$corpus" >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  if [ -z "$runs" ]; then # no final stats (a crash): the last status line
    runs=$(grep -o '^#[0-9]*' "$log" | tail -n 1 | tr -d '#')
  fi
  found=$(comm -13 <(echo "$before") <(ls "$art" | sort) |
    grep -E "^$name-(crash|leak|timeout|oom)-" | head -n 1)
  if [ $rc -eq 0 ] && [ -z "$found" ]; then
    result=ok
    pass=$((pass + 1))
  else
    kind=$(grep -oE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer): [a-z-]+|runtime error: .*|fuzz: .*' "$log" | head -n 1)
    result="FAIL (exit $rc${kind:+: $kind})"
    [ -n "$found" ] && result="$result; input: $art/$found"
    result="$result; log: $log"
    fail=$((fail + 1))
  fi
  printf '%-20s %12s %10s  %s\n' "$h" "${runs:-?}" "${eps:-?}" "$result"
done
echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
