#!/usr/bin/env bash
# Install what libsmbq needs to build and test (Debian bookworm, as root).
# Idempotent: does nothing when every package is already installed.
set -euo pipefail
PKGS=(build-essential meson ninja-build pkg-config python3
  libgnutls28-dev nettle-dev libngtcp2-dev libngtcp2-crypto-gnutls-dev
  libnghttp3-dev # the KDC proxy over HTTP/3 (lib/auth/http3.c)
  heimdal-dev heimdal-multidev libfuse3-dev fuse3 check
  libinih-dev # smbq.conf (cli/config.c)
  samba smbclient gnutls-bin passwd
  nftables # nftables: e2e connect policy drops a port (t_connect_policy.sh)
  # Kerberos: libcurl (GnuTLS) for the KDC proxy client; the e2e AD DC
  # (samba-ad-dc, samba-ad-provision, winbind), Heimdal's kinit/klist, the
  # test KDC proxy (python3-kdcproxy), faketime for the clock cases
  libcurl4-gnutls-dev heimdal-clients samba-ad-dc samba-ad-provision
  winbind python3-kdcproxy faketime iproute2 util-linux procps
  # libFuzzer harnesses (tests/fuzz): clang and its fuzzer/sanitizer
  # runtimes
  clang libclang-rt-14-dev
  # the WAN emulator's address translation (tests/wan/wan_env.sh); perf
  # for bench_datapath.sh's profiles
  nftables linux-perf)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}; run as root" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
