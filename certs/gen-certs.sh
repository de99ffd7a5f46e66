#!/bin/sh
# Generates a development PKI for swift-iam into certs/out/ (git-ignored):
#   ca.pem / ca.key           root CA (P-256, 10 years)
#   server.pem / server.key   server leaf for $IAM_SERVER_SAN (default localhost + 127.0.0.1 + ::1)
#   client.pem / client.key   mutual-TLS client leaf (CN from $IAM_CLIENT_CN, default "iam-dev-client")
# Usage: certs/gen-certs.sh [output-dir]. Private keys never leave the output directory and are
# never committed (.gitignore covers *.key and certs/out/).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-"$here/out"}
days=${IAM_CERT_DAYS:-825}
server_san=${IAM_SERVER_SAN:-"DNS:localhost,IP:127.0.0.1,IP:::1"}
client_cn=${IAM_CLIENT_CN:-iam-dev-client}
cnf="$here/openssl.cnf"

mkdir -p "$out"
umask 077
cd "$out"
# The config refers to $IAM_SAN; give it a value for the commands that do not use it.
export IAM_SAN="$server_san"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
serial() { echo "0x$(openssl rand -hex 16)"; }

key ca.key
openssl req -config "$cnf" -x509 -new -key ca.key -subj "/O=swift-iam dev/CN=swift-iam dev CA" \
    -extensions v3_ca -days 3650 -sha256 -out ca.pem

key server.key
openssl req -config "$cnf" -new -key server.key -subj "/O=swift-iam dev/CN=localhost" -out server.csr
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial "$(serial)" -days "$days" -sha256 \
    -extfile "$cnf" -extensions v3_server -out server.pem 2>/dev/null

key client.key
openssl req -config "$cnf" -new -key client.key -subj "/O=swift-iam dev/CN=$client_cn" -out client.csr
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -set_serial "$(serial)" -days "$days" -sha256 \
    -extfile "$cnf" -extensions v3_client -out client.pem 2>/dev/null

rm -f server.csr client.csr
chmod 644 ca.pem server.pem client.pem
openssl verify -CAfile ca.pem server.pem client.pem
echo "wrote $out/{ca,server,client}.{pem,key}"
