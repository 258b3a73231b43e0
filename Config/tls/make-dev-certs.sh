#!/usr/bin/env bash
# Regenerates the DEVELOPMENT ONLY certificates in this directory with the openssl CLI: a CA,
# a server certificate for 127.0.0.1, ::1 and localhost, and a till (client) certificate, all
# valid 10 years. The CA's key is deleted at the end, so nothing more can be signed with it.
# Never use these files in production: their private keys are public (they are in git).
set -euo pipefail
cd "$(dirname "$0")"
days=3650
org="/O=creditd DEVELOPMENT ONLY"
ext=$(mktemp)
trap 'rm -f "$ext" dev-ca.key dev-ca.srl server.csr till.csr' EXIT
cat > "$ext" <<'CNF'
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,IP:::1,DNS:localhost
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
CNF
newkey=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
openssl req -x509 "${newkey[@]}" -keyout dev-ca.key -out dev-ca.pem -days "$days" \
  -subj "$org/CN=creditd DEVELOPMENT CA - DO NOT TRUST" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
openssl req "${newkey[@]}" -keyout dev-server.key -out server.csr -subj "$org/CN=localhost"
openssl x509 -req -in server.csr -CA dev-ca.pem -CAkey dev-ca.key -CAcreateserial -out dev-server.pem \
  -days "$days" -extfile "$ext" -extensions server
openssl req "${newkey[@]}" -keyout dev-till.key -out till.csr -subj "$org/CN=dev-till-1"
openssl x509 -req -in till.csr -CA dev-ca.pem -CAkey dev-ca.key -CAcreateserial -out dev-till.pem \
  -days "$days" -extfile "$ext" -extensions client
chmod 0600 dev-server.key dev-till.key
openssl verify -CAfile dev-ca.pem dev-server.pem dev-till.pem
