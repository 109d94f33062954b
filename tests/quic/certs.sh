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
