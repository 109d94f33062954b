#!/usr/bin/env bash
# Throughput of `smbq get` vs `smbclient get` of the same file from the same
# smbd on loopback, alternating, in one run. Prints MB/s per round, the
# median of each and the ratio smbq/smbclient, for signed and for
# encrypted transfers. Needs root (the Samba fixture).
#   BENCH_SIZE_MB (default 1024)   BENCH_ROUNDS (default 3)
#   SMBQ: path of the smbq binary (default: build/cli/smbq)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../e2e/fixture.sh"
SMBQ=${SMBQ:-$here/../../build/cli/smbq}
SIZE_MB=${BENCH_SIZE_MB:-1024}
ROUNDS=${BENCH_ROUNDS:-3}
fixture_start
head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom >"$SMBQ_TEST_SHAREDIR/big"
cp "$SMBQ_TEST_SHAREDIR/big" "$SMBQ_TEST_ENCDIR/big"
chown "$SMBQ_TEST_USER" "$SMBQ_TEST_SHAREDIR/big" "$SMBQ_TEST_ENCDIR/big"
sync

now() { date +%s.%N; }
mbps() { python3 -c "print(f'{$SIZE_MB / ($2 - $1):.0f}')"; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

run_smbq() { # run_smbq SHARE [opts]
  local share=$1
  shift
  "$SMBQ" -U "$SMBQ_TEST_USER" -p "$SMBQ_TEST_PORT" "$@" \
    get "//127.0.0.1/$share/big" - >/dev/null
}
run_smbclient() { # run_smbclient SHARE PROTECTION
  smbclient "//127.0.0.1/$1" -p "$SMBQ_TEST_PORT" \
    -U "$SMBQ_TEST_USER%$SMBQ_PASSWORD" --client-protection="$2" \
    -c 'get big /dev/null' >/dev/null 2>&1
}

bench() { # bench LABEL SHARE SMBCLIENT_PROTECTION [smbq opts]
  local label=$1 share=$2 prot=$3
  shift 3
  local q=() c=() t0 t1 i
  run_smbq "$share" "$@"
  run_smbclient "$share" "$prot" # warm the server's page cache
  for i in $(seq 1 "$ROUNDS"); do
    if [ $((i % 2)) -eq 1 ]; then
      t0=$(now); run_smbq "$share" "$@"; t1=$(now); q+=("$(mbps "$t0" "$t1")")
      t0=$(now); run_smbclient "$share" "$prot"; t1=$(now); c+=("$(mbps "$t0" "$t1")")
    else
      t0=$(now); run_smbclient "$share" "$prot"; t1=$(now); c+=("$(mbps "$t0" "$t1")")
      t0=$(now); run_smbq "$share" "$@"; t1=$(now); q+=("$(mbps "$t0" "$t1")")
    fi
  done
  local mq mc
  mq=$(median "${q[@]}")
  mc=$(median "${c[@]}")
  printf '%-10s smbq %6s MB/s (rounds: %s)  smbclient %6s MB/s (rounds: %s)  ratio %s\n' \
    "$label" "$mq" "${q[*]}" "$mc" "${c[*]}" \
    "$(python3 -c "print(f'{$mq / $mc:.2f}')")"
}

echo "get of a ${SIZE_MB} MiB file over TCP on loopback, ${ROUNDS} alternating rounds, median:"
bench signed share sign
bench encrypted enc encrypt
