#!/usr/bin/env bash
# The data path of one large file, in one run on this machine, against the
# same smbd on loopback (the Samba fixture; QUIC through the test front
# tests/quic/quic_front), signed, not encrypted:
#  1. get: `smbq get` over TCP, `smbq get` over QUIC, `smbclient get` (TCP),
#     and `smbq get --encrypt` over TCP (SMB3 encryption: the same AES-GCM
#     on every byte that QUIC's TLS pays, for a comparison at equal
#     protection);
#  2. put: `smbq put` over TCP and over QUIC, each with the final FLUSH
#     (the default: the server has the file on stable storage) and with
#     --no-flush (every write and the close acknowledged: what smbclient
#     guarantees), `smbq put --encrypt --no-flush` over TCP, and
#     `smbclient put`. Every put writes a new file: the
#     previous one is deleted on the server and `sync` run before it.
#  BENCH_ROUNDS rounds of each after one untimed warm-up run of each; the
#  order of the clients is reversed every other round. For each client
#  process (not the shell, not the server) tests/bench/rusage gives wall
#  time, user and system CPU seconds and peak RSS (wait4); each row shows
#  the medians: MiB/s, client CPU seconds per GiB (user+sys, and the two
#  apart for the median round) and peak RSS.
#  3. peak RSS of `smbq get` of a BENCH_RSS_GB GiB file (sparse on the
#     server) to standard output and of `smbq put -` of BENCH_RSS_GB GiB
#     from a pipe, over TCP and QUIC (the put part is skipped, saying why,
#     when the server's disk has not that much free space);
#  3b. the READ data copies of one more `smbq -v get` over TCP and QUIC:
#     bytes received straight into the caller's buffer and bytes copied
#     there, and the copies per byte read (smbq_stats read_bytes_placed /
#     read_bytes_copied, as `-v` prints them);
#  4. with BENCH_PERF=1, where the client's CPU goes: `perf record -e
#     cpu-clock -g` (the software clock: there are no hardware counters
#     here) of `smbq get` and `smbq put` over QUIC and over TCP, and the
#     top lines of `perf report --no-children` by shared object and
#     symbol, and by shared object alone (skipped, saying why, when perf,
#     Debian's linux-perf, is not installed).
# The ratios printed, each with its goal (issue 11) and MET / NOT MET:
#  - CPU/GiB QUIC / TCP (get; put with and without FLUSH): client CPU
#    seconds per GiB over QUIC divided by the same over TCP; goal <= 1.5,
#    stretch <= 1.2.
#  - MiB/s QUIC / TCP (get; put with and without FLUSH): smbq through the
#    test front against smbq straight to smbd; goal >= 0.6.
#  - for information, no goal: CPU/GiB QUIC / TCP with SMB encryption
#    (get; put --no-flush): QUIC against TCP at equal protection.
#  - get smbq TCP / smbclient: MiB/s; goal >= 1.2.
#  - put smbq TCP --no-flush / smbclient: MiB/s at equal durability;
#    goal >= 1.0.
#  - put smbq TCP (FLUSH) / smbclient: MiB/s, smbq promising more than
#    smbclient (stable storage); shown against the same 1.0.
#  - peak RSS of each 3. run against 128 MiB.
# Other work on the machine makes MiB/s noisy; CPU seconds and peak RSS
# are those of the client alone, and much steadier. The script fails (exit
# 1) only when a transfer fails; goals not met are reported, not failed.
# Needs root (the Samba fixture) and smbclient; exit 77 when it cannot run.
#   BENCH_SIZE_MB (default 512)  BENCH_ROUNDS (default 3)
#   BENCH_RSS_GB (default 4; 0 skips part 3)  BENCH_PERF (1: part 4)
#   SMBQ (default build/cli/smbq), SMBQ_QUIC_FRONT and BENCH_RUSAGE
#   (default: tests/quic/quic_front and tests/bench/rusage of the build
#   directory SMBQ is in)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export SMBQ=${SMBQ:-$here/../../build/cli/smbq}
build=$(cd "$(dirname "$SMBQ")/.." 2>/dev/null && pwd || echo "$here/../../build")
export SMBQ_QUIC_FRONT=${SMBQ_QUIC_FRONT:-$build/tests/quic/quic_front}
RUSAGE=${BENCH_RUSAGE:-$build/tests/bench/rusage}
export SMBQ_TRANSPORT=quic
. "$here/../e2e/fixture.sh"
SIZE_MB=${BENCH_SIZE_MB:-512}
ROUNDS=${BENCH_ROUNDS:-3}
RSS_GB=${BENCH_RSS_GB:-4}
PERF=${BENCH_PERF:-0}
RSS_GOAL_MIB=128

for b in "$SMBQ" "$SMBQ_QUIC_FRONT" "$RUSAGE"; do
  [ -x "$b" ] || { echo "SKIP: $b is not built (ninja -C BUILDDIR)"; exit 77; }
done
fixture_need_tools smbclient python3
fixture_start
W=$SMBQ_TEST_DIR/work # client side
S=$SMBQ_TEST_SHAREDIR # server side
R=$SMBQ_TEST_DIR/results
mkdir -p "$W" "$R"
head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom >"$S/big"
cp "$S/big" "$W/up"
chown "$SMBQ_TEST_USER" "$S/big"
sync

H=fsedge1.smbq.test
QUIC=(-t quic --quic-port "$SMBQ_TEST_QUIC_PORT" --ca-file "$SMBQ_TEST_PKI/ca.pem"
  --resolve "$H:127.0.0.1")
TCP=(-t tcp -p "$SMBQ_TEST_PORT" --resolve "$H:127.0.0.1")

# measure OUT CMD...: run CMD under rusage (stdin inherited, stdout to
# /dev/null), append "wall user sys maxrss_kib" to OUT; fail with the
# client's stderr when it fails.
measure() {
  local out=$1 rc=0
  shift
  "$RUSAGE" "$R/last" "$@" >/dev/null 2>"$R/err" || rc=$?
  # smbclient -c reports some failures only as an NT_STATUS line
  if [ "$rc" -ne 0 ] || grep -q NT_STATUS_ "$R/err"; then
    cat "$R/err" >&2
    fail "'$*' exited $rc"
  fi
  cat "$R/last" >>"$out"
}

# smbclient on the share, signed like smbq: "${SMBC[@]}" COMMANDS
SMBC=(smbclient "//127.0.0.1/share" -p "$SMBQ_TEST_PORT"
  -U "$SMBQ_TEST_USER%$SMBQ_PASSWORD" --client-protection=sign -c)

# set_opts TCP|QUIC: O becomes the smbq options of that transport.
set_opts() {
  if [ "$1" = QUIC ]; then O=("${QUIC[@]}"); else O=("${TCP[@]}"); fi
}

# One client run: client LABEL OUT, LABEL one of get.tcp get.quic
# get.tcpenc get.smbclient put.tcp put.tcp.noflush put.quic
# put.quic.noflush put.tcpenc.noflush put.smbclient.
client() {
  local label=$1 out=$2 opts=("${TCP[@]}") extra=()
  case $label in
  *.quic*) opts=("${QUIC[@]}") ;;
  *.tcpenc*) opts=("${TCP[@]}" --encrypt) ;;
  esac
  case $label in
  *.noflush) extra=(--no-flush) ;;
  esac
  case $label in
  get.smbclient) measure "$out" "${SMBC[@]}" "get big /dev/null" ;;
  get.*)
    measure "$out" "$SMBQ" -U "$SMBQ_TEST_USER" "${opts[@]}" \
      get "//$H/share/big" - ;;
  put.*)
    # a new file every time, with nothing of the last one left to write
    rm -f "$S/up"
    sync
    if [ "$label" = put.smbclient ]; then
      measure "$out" "${SMBC[@]}" "put $W/up up"
    else
      measure "$out" "$SMBQ" -U "$SMBQ_TEST_USER" "${opts[@]}" "${extra[@]}" \
        put "$W/up" "//$H/share/up"
    fi
    [ "$(stat -c %s "$S/up")" -eq $((SIZE_MB * 1024 * 1024)) ] ||
      fail "$label left $(stat -c %s "$S/up") bytes, not ${SIZE_MB} MiB"
    ;;
  esac
}

# rounds LABEL...: one untimed warm-up run of each, then ROUNDS rounds,
# the order reversed every other round; samples in $R/LABEL.
rounds() {
  local order=("$@") rev=() i label
  for ((i = ${#order[@]} - 1; i >= 0; i--)); do rev+=("${order[i]}"); done
  for label in "${order[@]}"; do
    client "$label" "$R/warmup"
    : >"$R/$label"
  done
  for ((i = 1; i <= ROUNDS; i++)); do
    if [ $((i % 2)) -eq 1 ]; then
      for label in "${order[@]}"; do client "$label" "$R/$label"; done
    else
      for label in "${rev[@]}"; do client "$label" "$R/$label"; done
    fi
  done
}

# stats LABEL: "MIBS CPU USER SYS RSS MIBS_ROUNDS CPU_ROUNDS": medians of
# MiB/s, CPU seconds per GiB and peak RSS (MiB); USER and SYS (seconds per
# GiB) are those of the round with the median CPU, so they add up to it;
# the rounds comma-separated.
stats() {
  awk -v mb="$SIZE_MB" '
    function medidx(a, n, i, j, t, k) { # index of the median of a[1..n]
      for (i = 1; i <= n; i++) k[i] = i
      for (i = 2; i <= n; i++)
        for (j = i; j > 1 && a[k[j - 1]] > a[k[j]]; j--) {
          t = k[j]; k[j] = k[j - 1]; k[j - 1] = t
        }
      return k[int((n + 1) / 2)]
    }
    function list(a, n, f, i, s) {
      s = sprintf(f, a[1])
      for (i = 2; i <= n; i++) s = s "," sprintf(f, a[i])
      return s
    }
    { n++; w[n] = mb / $1; c[n] = ($2 + $3) * 1024 / mb
      u[n] = $2 * 1024 / mb; s[n] = $3 * 1024 / mb; r[n] = $4 / 1024 }
    END {
      m = medidx(c, n)
      printf "%.0f %.2f %.2f %.2f %.0f %s %s\n", w[medidx(w, n)], c[m],
        u[m], s[m], r[medidx(r, n)], list(w, n, "%.0f"), list(c, n, "%.2f")
    }' "$R/$1"
}

row() { # row LABEL TITLE
  local m c u s r ml cl
  read -r m c u s r ml cl < <(stats "$1")
  printf '%-26s %6s %7s %6s %6s %5s   %-16s %s\n' \
    "$2" "$m" "$c" "$u" "$s" "$r" "$ml" "$cl"
}

header() {
  printf '%-26s %6s %7s %6s %6s %5s   %-16s %s\n' \
    "" MiB/s "CPU s/" "user" "sys" "RSS" "rounds:" "rounds:"
  printf '%-26s %6s %7s %6s %6s %5s   %-16s %s\n' \
    client "" GiB s/GiB s/GiB MiB MiB/s "CPU s/GiB"
}

med_of() { # med_of LABEL FIELD (1: MiB/s, 2: CPU s/GiB)
  stats "$1" | cut -d' ' -f"$2"
}

# goal TITLE A B OP GOAL [STRETCH]: the ratio A/B against OP GOAL (<= or
# >=), and against the stretch goal if given.
goal() {
  awk -v t="$1" -v a="$2" -v b="$3" -v op="$4" -v g="$5" -v st="${6:-}" '
    function ok(x, lim) { return op == "<=" ? x <= lim : x >= lim }
    BEGIN {
      x = b > 0 ? a / b : 0
      v = ok(x, g) ? "MET" : "NOT MET"
      if (st != "") v = v sprintf(", stretch %s %.2f %s", op, st,
                                  ok(x, st) ? "MET" : "NOT MET")
      printf "%-44s %5.2f  goal %s %.2f  %s\n", t, x, op, g, v
    }'
}

# info_ratio TITLE A B: the ratio A/B, with no goal (for information).
info_ratio() {
  awk -v t="$1" -v a="$2" -v b="$3" 'BEGIN {
    # parenthesised: a bare > in a print list redirects to a file
    printf "%-44s %5.2f  (equal protection; no goal)\n", t, (b > 0 ? a / b : 0)
  }'
}

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

echo "== smbq data path: ${SIZE_MB} MiB file, loopback, signed, ${ROUNDS} rounds, medians =="
echo "$("$SMBQ" --version) ($SMBQ, built $(date -r "$SMBQ" '+%F %T %Z'));" \
  "smbclient $(smbclient --version); $(nproc) cores; load average $(loadavg)"
echo "note: other work shares this machine: MiB/s (wall clock) is noisy;"
echo "      CPU s/GiB (user+sys of the client process alone) and RSS are not"
for t in TCP QUIC; do
  set_opts $t
  if info=$("$SMBQ" -U "$SMBQ_TEST_USER" "${O[@]}" info "//$H/share" \
    2>"$R/err"); then
    info=$(awk -F':  *' '
      /^(TLS|Dialect|Signing|Encryption|Max read|Max write):/ {
        s = s (s ? "; " : "") $1 " " $2 }
      END { print s }' <<<"$info")
  else
    info="smbq info failed: $(head -1 "$R/err")"
  fi
  printf '%-4s: %s\n' "$t" "$info"
done

echo
echo "-- get (to /dev/null)"
rounds get.tcp get.quic get.tcpenc get.smbclient
header
row get.tcp "smbq get TCP"
row get.quic "smbq get QUIC"
row get.tcpenc "smbq get TCP --encrypt"
row get.smbclient "smbclient get"

echo
echo "-- put (a new file each time)"
rounds put.tcp put.tcp.noflush put.quic put.quic.noflush put.tcpenc.noflush \
  put.smbclient
header
row put.tcp "smbq put TCP (FLUSH)"
row put.tcp.noflush "smbq put TCP --no-flush"
row put.quic "smbq put QUIC (FLUSH)"
row put.quic.noflush "smbq put QUIC --no-flush"
row put.tcpenc.noflush "smbq put TCP enc --no-flush"
row put.smbclient "smbclient put"

echo
echo "-- ratios of the medians"
goal "client CPU/GiB get, QUIC / TCP" \
  "$(med_of get.quic 2)" "$(med_of get.tcp 2)" "<=" 1.5 1.2
goal "client CPU/GiB put (FLUSH), QUIC / TCP" \
  "$(med_of put.quic 2)" "$(med_of put.tcp 2)" "<=" 1.5 1.2
goal "client CPU/GiB put --no-flush, QUIC / TCP" \
  "$(med_of put.quic.noflush 2)" "$(med_of put.tcp.noflush 2)" "<=" 1.5 1.2
goal "MiB/s get, QUIC / TCP" \
  "$(med_of get.quic 1)" "$(med_of get.tcp 1)" ">=" 0.6
goal "MiB/s put (FLUSH), QUIC / TCP" \
  "$(med_of put.quic 1)" "$(med_of put.tcp 1)" ">=" 0.6
goal "MiB/s put --no-flush, QUIC / TCP" \
  "$(med_of put.quic.noflush 1)" "$(med_of put.tcp.noflush 1)" ">=" 0.6
info_ratio "client CPU/GiB get, QUIC / TCP --encrypt" \
  "$(med_of get.quic 2)" "$(med_of get.tcpenc 2)"
info_ratio "client CPU/GiB put --no-flush, QUIC / TCP --encrypt" \
  "$(med_of put.quic.noflush 2)" "$(med_of put.tcpenc.noflush 2)"
goal "MiB/s get, smbq TCP / smbclient" \
  "$(med_of get.tcp 1)" "$(med_of get.smbclient 1)" ">=" 1.2
goal "MiB/s put, smbq TCP --no-flush / smbclient" \
  "$(med_of put.tcp.noflush 1)" "$(med_of put.smbclient 1)" ">=" 1.0
goal "MiB/s put, smbq TCP (FLUSH) / smbclient" \
  "$(med_of put.tcp 1)" "$(med_of put.smbclient 1)" ">=" 1.0
echo "(--no-flush is smbclient's durability; with FLUSH smbq also waits for"
echo " the server's stable storage, which smbclient never asks for)"

# copies: one more get per transport with -v, whose counters line (on
# stderr at the end) tells how much READ data went straight into the
# caller's buffer ("read data placed: N bytes, copied: M bytes").
echo
echo "-- READ data copies (smbq -v get: the connection's counters)"
for t in TCP QUIC; do
  set_opts "$t"
  "$SMBQ" -v -U "$SMBQ_TEST_USER" "${O[@]}" get "//$H/share/big" - \
    >/dev/null 2>"$R/verbose" || { cat "$R/verbose" >&2; fail "get -v over $t"; }
  line=$(grep -E '^round trips:' "$R/verbose" | tail -n 1)
  awk -v t="$t" -v l="$line" 'BEGIN {
    p = l; c = l
    if (sub(/.*placed: /, "", p) && sub(/.*copied: /, "", c)) {
      p += 0; c += 0
      printf "%-5s placed %d bytes, copied %d bytes: %.4f copies per byte\n",
        t, p, c, (p + c) ? c / (p + c) : 0
    } else
      printf "%-5s %s\n      (this smbq prints no read counters)\n", t, l
  }'
done

# rss_row TITLE: the last run's peak RSS against the goal.
rss_row() {
  read -r wall _ _ kib <"$R/last"
  awk -v t="$1" -v k="$kib" -v w="$wall" -v gb="$RSS_GB" -v g="$RSS_GOAL_MIB" '
    BEGIN { m = k / 1024
      printf "%-44s %5.0f MiB  goal < %d MiB  %s  (%.0f MiB/s)\n", t, m, g,
        m < g ? "MET" : "NOT MET", gb * 1024 / w }'
}

if [ "$RSS_GB" -gt 0 ]; then
  echo
  echo "-- peak RSS, ${RSS_GB} GiB file"
  truncate -s "${RSS_GB}G" "$S/huge" # sparse: costs the server no disk
  chown "$SMBQ_TEST_USER" "$S/huge"
  for t in TCP QUIC; do
    set_opts $t
    measure "$R/rss" "$SMBQ" -U "$SMBQ_TEST_USER" "${O[@]}" \
      get "//$H/share/huge" -
    rss_row "smbq get $t (to /dev/null)"
  done
  rm -f "$S/huge"
  need_kib=$(((RSS_GB + 1) * 1024 * 1024))
  free_kib=$(df -Pk "$S" | awk 'NR == 2 { print $4 }')
  if [ "$free_kib" -lt "$need_kib" ]; then
    echo "put skipped: $((free_kib / 1024)) MiB free where the server writes," \
      "${RSS_GB} GiB and 1 GiB to spare needed"
  else
    for t in TCP QUIC; do
      set_opts $t
      rm -f "$S/hugeup"
      sync
      head -c $((RSS_GB * 1024 * 1024 * 1024)) /dev/zero |
        measure "$R/rss" "$SMBQ" -U "$SMBQ_TEST_USER" "${O[@]}" \
          put - "//$H/share/hugeup"
      [ "$(stat -c %s "$S/hugeup")" -eq $((RSS_GB * 1024 * 1024 * 1024)) ] ||
        fail "put of ${RSS_GB} GiB left $(stat -c %s "$S/hugeup") bytes"
      rss_row "smbq put $t (from a pipe)"
    done
    rm -f "$S/hugeup"
  fi
fi

# profile TITLE FILE: the top of one perf profile, by symbol and by
# shared object. Libraries shipped stripped (GnuTLS's own AES-GCM code,
# ngtcp2's internals) show up as bare addresses: those of one library are
# added up into one "(no symbols)" line before the 1.5% cut.
profile() {
  local rep
  rep=$(perf report -i "$2" --no-children --stdio -g none --sort dso,sym \
    2>/dev/null)
  echo "- $1: $(sed -n 's/^# Samples: *\([^ ]*\).*/\1/p' <<<"$rep") samples"
  awk '/^ *[0-9.]+%/ {
        p = $1 + 0; d = $2; $1 = ""; $2 = ""; $3 = ""; sub(/^ +/, "")
        if ($0 ~ /^0x[0-9a-f]+$/) { u[d] += p; next }
        if (p >= 1.5) printf "%.2f\t%s\t%s\n", p, d, $0 }
      END { for (d in u) if (u[d] >= 1.5)
              printf "%.2f\t%s\t(no symbols)\n", u[d], d }' <<<"$rep" |
    sort -t "$(printf '\t')" -k1,1 -g -r |
    awk -F '\t' '{ printf "  %6s%%  %-24s %s\n", $1, $2, $3 }'
  echo "  by shared object:"
  perf report -i "$2" --no-children --percent-limit 1 --stdio -g none \
    --sort dso 2>/dev/null |
    awk '/^ *[0-9.]+%/ { printf "  %7s  %s\n", $1, $2 }'
}

if [ "$PERF" = 1 ]; then
  echo
  echo "-- where the client's CPU goes: perf record -e cpu-clock -g," \
    "${SIZE_MB} MiB, self time >= 1.5%"
  if ! command -v perf >/dev/null; then
    echo "skipped: perf is not installed (Debian package linux-perf)"
  else
    for t in TCP QUIC; do
      set_opts $t
      for op in get put; do
        args=(get "//$H/share/big" -)
        if [ $op = put ]; then
          rm -f "$S/up"
          sync
          args=(put "$W/up" "//$H/share/up")
        fi
        pd=$R/perf.$op.$t.data
        perf record -e cpu-clock -g -o "$pd" -- "$SMBQ" -U "$SMBQ_TEST_USER" \
          "${O[@]}" "${args[@]}" >/dev/null 2>"$R/perf.log" ||
          fail "perf record of smbq $op $t failed: $(cat "$R/perf.log")"
        profile "smbq $op $t" "$pd"
      done
    done
  fi
fi
echo
echo "load average at the end: $(loadavg)"
