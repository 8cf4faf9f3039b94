#!/usr/bin/env bash
# make_test_ca.sh OUTDIR [DNS-NAME...] — a local TLS CA and a server certificate for 127.0.0.1,
# localhost, api.keyward.localhost and any DNS-NAME given (tests, and keyward's own TLS listener
# for SDKs that only speak https: README, "The exchanges' official SDKs").
#
# Writes into OUTDIR:
#   ca.pem, ca.key          the test CA (ECDSA P-256, SHA-256, basicConstraints critical CA:TRUE)
#   server.pem, server.key  the server certificate (X.509 v3, SAN IP:127.0.0.1, DNS:localhost and
#                           DNS:api.keyward.localhost (pybit builds https://api.DOMAIN.TLD),
#                           EKU serverAuth, signed by the CA) and its key (PKCS#8)
#   server-chain.pem        server.pem followed by ca.pem
# rustls/webpki is strict: it needs v3 certificates, names in subjectAltName (the CN is ignored),
# and a CA certificate distinct from the end-entity certificate. Everything here satisfies that.
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 OUTDIR [DNS-NAME...]" >&2
  exit 2
fi
out=$1
shift
san="IP:127.0.0.1, DNS:localhost, DNS:api.keyward.localhost"
for name in "$@"; do san="$san, DNS:$name"; done
mkdir -p "$out"
umask 077
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

days=825

# --- CA ---
openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/ca.ec.key" 2>/dev/null
openssl pkcs8 -topk8 -nocrypt -in "$tmp/ca.ec.key" -out "$out/ca.key"
cat > "$tmp/ca.ext" <<'EXT'
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EXT
openssl req -new -key "$out/ca.key" -subj "/CN=keyward test CA/O=keyward tests" -out "$tmp/ca.csr"
openssl x509 -req -in "$tmp/ca.csr" -signkey "$out/ca.key" -sha256 -days "$days" \
  -set_serial "0x$(openssl rand -hex 16)" -extfile "$tmp/ca.ext" -out "$out/ca.pem" 2>/dev/null

# --- server ---
openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/server.ec.key" 2>/dev/null
openssl pkcs8 -topk8 -nocrypt -in "$tmp/server.ec.key" -out "$out/server.key"
cat > "$tmp/server.ext" <<EXT
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $san
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EXT
openssl req -new -key "$out/server.key" -subj "/CN=localhost/O=keyward tests" -out "$tmp/server.csr"
openssl x509 -req -in "$tmp/server.csr" -CA "$out/ca.pem" -CAkey "$out/ca.key" -sha256 -days "$days" \
  -set_serial "0x$(openssl rand -hex 16)" -extfile "$tmp/server.ext" -out "$out/server.pem" 2>/dev/null
cat "$out/server.pem" "$out/ca.pem" > "$out/server-chain.pem"

chmod 644 "$out/ca.pem" "$out/server.pem" "$out/server-chain.pem"
chmod 600 "$out/ca.key" "$out/server.key"

openssl verify -CAfile "$out/ca.pem" -purpose sslserver "$out/server.pem" >/dev/null
