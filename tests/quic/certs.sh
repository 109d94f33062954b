#!/usr/bin/env bash
# Generate the test PKI with GnuTLS certtool into DIR:
#   ca.pem/ca.key          test CA
#   server.pem/key         valid: fsedge1.smbq.test + 127.0.0.1, serverAuth
#   expired.pem/key        valid names, expired
#   wrongname.pem/key      for other.smbq.test only
#   wrongeku.pem/key       clientAuth only
#   selfsigned.pem/key     fsedge1.smbq.test, self-signed
#   cnonly.pem/key         fsedge1.smbq.test in the CN, no SAN
#   client.pem/key         client certificate (clientAuth) from the CA
#   client2.pem/key        a second client certificate
#   soon.pem/key           valid like server, but expires in 10 days
#   longlived.pem/key      valid like server, for 365 days (no expiry
#                          warning from smbq doctor, which warns at 30)
# Usage: certs.sh DIR
#
#        certs.sh DIR bigchain
# adds to the PKI already in DIR (the same CA), for the hostile server
# cases of t_hostile.sh:
#   bigchain.pem/key       valid like server, but sent with 12 intermediate
#                          CAs padded to ~8 KiB each: a chain of ~100 KiB
#   longchain.pem/key      valid like server, but sent with 20 (small)
#                          intermediate CAs: 21 certificates
set -euo pipefail
d=$1
mkdir -p "$d"
cd "$d"
key() { certtool --generate-privkey --key-type=ecdsa --outfile "$1.key" 2>/dev/null; }
tmpl() { # tmpl NAME LINES...
  local n=$1
  shift
  printf '%s\n' "$@" >"$n.tmpl"
}
# sign_by NAME ISSUER: NAME.pem from NAME.key/NAME.tmpl, issued by ISSUER
sign_by() {
  certtool --generate-certificate --load-privkey "$1.key" \
    --load-ca-certificate "$2.pem" --load-ca-privkey "$2.key" \
    --template "$1.tmpl" --outfile "$1.pem" 2>/dev/null
}
# chain NAME COUNT PAD: an otherwise valid chain CA -> NAME-i1 -> ... ->
# NAME-iCOUNT -> leaf NAME, each intermediate padded with a non-critical
# private extension of PAD bytes (0: none). NAME.pem is the leaf followed
# by the intermediates, as a server sends them.
chain() {
  local name=$1 count=$2 pad=() issuer=ca i
  [ "$3" -eq 0 ] || pad=("add_extension = \"1.3.6.1.4.1.55555.1 0x$(
    head -c "$3" /dev/zero | od -An -tx1 -v | tr -d ' \n')\"")
  for i in $(seq 1 "$count"); do
    key "$name-i$i"
    tmpl "$name-i$i" "cn = \"smbq test intermediate $i\"" ca \
      cert_signing_key 'expiration_days = 30' ${pad[@]+"${pad[@]}"}
    sign_by "$name-i$i" "$issuer"
    issuer=$name-i$i
  done
  key "$name"
  tmpl "$name" 'cn = "fsedge1.smbq.test"' 'dns_name = "fsedge1.smbq.test"' \
    'ip_address = "127.0.0.1"' tls_www_server signing_key encryption_key \
    'expiration_days = 30'
  sign_by "$name" "$issuer"
  for i in $(seq "$count" -1 1); do cat "$name-i$i.pem"; done >>"$name.pem"
}
if [ "${2:-}" = bigchain ]; then
  chain bigchain 12 8000
  chain longchain 20 0
  exit 0
fi
key ca
tmpl ca 'cn = "smbq test CA"' ca cert_signing_key 'expiration_days = 30'
certtool --generate-self-signed --load-privkey ca.key --template ca.tmpl \
  --outfile ca.pem 2>/dev/null
sign() { # sign NAME
  certtool --generate-certificate --load-privkey "$1.key" --load-ca-certificate ca.pem \
    --load-ca-privkey ca.key --template "$1.tmpl" --outfile "$1.pem" 2>/dev/null
}
key server
tmpl server 'cn = "fsedge1.smbq.test"' 'dns_name = "fsedge1.smbq.test"' \
  'ip_address = "127.0.0.1"' tls_www_server signing_key encryption_key \
  'expiration_days = 30'
sign server
key expired
tmpl expired 'cn = "fsedge1.smbq.test"' 'dns_name = "fsedge1.smbq.test"' \
  tls_www_server signing_key 'activation_date = "2020-01-01 00:00:00 UTC"' \
  'expiration_date = "2021-01-01 00:00:00 UTC"'
sign expired
key wrongname
tmpl wrongname 'cn = "other.smbq.test"' 'dns_name = "other.smbq.test"' \
  tls_www_server signing_key 'expiration_days = 30'
sign wrongname
key wrongeku
tmpl wrongeku 'cn = "fsedge1.smbq.test"' 'dns_name = "fsedge1.smbq.test"' \
  tls_www_client signing_key 'expiration_days = 30'
sign wrongeku
key cnonly
tmpl cnonly 'cn = "fsedge1.smbq.test"' tls_www_server signing_key 'expiration_days = 30'
sign cnonly
key selfsigned
tmpl selfsigned 'cn = "fsedge1.smbq.test"' 'dns_name = "fsedge1.smbq.test"' \
  tls_www_server signing_key 'expiration_days = 30'
certtool --generate-self-signed --load-privkey selfsigned.key \
  --template selfsigned.tmpl --outfile selfsigned.pem 2>/dev/null
for c in client client2; do
  key $c
  tmpl $c "cn = \"$c.smbq.test\"" tls_www_client signing_key 'expiration_days = 30'
  sign $c
done
# like server, but expiring soon or late (smbq doctor warns at 30 days)
for c in soon longlived; do
  days=10
  [ $c = soon ] || days=365
  key $c
  tmpl $c 'cn = "fsedge1.smbq.test"' 'dns_name = "fsedge1.smbq.test"' \
    'ip_address = "127.0.0.1"' tls_www_server signing_key encryption_key \
    "expiration_days = $days"
  sign $c
done
