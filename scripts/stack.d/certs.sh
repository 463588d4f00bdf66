#!/usr/bin/env bash
# Throw-away TLS material for the local stack and the transport-security tests:
#
#   scripts/stack.d/certs.sh DIR [CLIENT_NAME]
#
# writes into DIR (created, mode 0700):
#   ca.pem ca.key                  a private CA (never trust it outside this machine)
#   server.pem server.key          a server certificate for localhost / 127.0.0.1 (SAN), signed by the CA
#   server-keystore.pem            server.key + server.pem, for Kafka's ssl.keystore.type=PEM
#   client.pem client.key          a client certificate, CN=CLIENT_NAME (default fraud: the Kafka
#                                  principal and the PostgreSQL role of clientcert=verify-full)
# Keys are unencrypted PKCS#8, mode 0600. Idempotent: files that are present, signed by the
# CA in DIR and valid for at least another day are kept; otherwise everything is generated anew.
set -euo pipefail

DIR=${1:?usage: certs.sh DIR [CLIENT_NAME]}
CLIENT=${2:-fraud}
DAYS=${FRAUD_CERT_DAYS:-365}
log() { printf '[certs] %s\n' "$*" >&2; }
command -v openssl >/dev/null || { log "ERROR: openssl not found (apt-get install openssl)"; exit 1; }

mkdir -p "$DIR"
chmod 700 "$DIR"
cd "$DIR"

valid() { # valid CERT: signed by ca.pem and not expiring within a day
  [[ -s $1 ]] && openssl x509 -in "$1" -noout -checkend 86400 >/dev/null 2>&1 \
    && openssl verify -CAfile ca.pem "$1" >/dev/null 2>&1
}
if [[ -s ca.key && -s server.key && -s client.key && -s server-keystore.pem ]] && valid ca.pem && valid server.pem && valid client.pem \
   && [[ $(openssl x509 -in client.pem -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= *//p') == "$CLIENT" ]]; then
  log "reusing the certificates in $DIR"
  exit 0
fi

umask 077
tmp=$(mktemp -d "$DIR/.new.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
serial() { printf '0x%s' "$(openssl rand -hex 16)"; }

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/ca.key" -out "$tmp/ca.pem" -days "$DAYS" \
  -subj "/O=fraud-engine/CN=fraud-engine throw-away CA" \
  -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign' 2>/dev/null

# leaf NAME CN EXTENSIONS
leaf() {
  openssl req -newkey rsa:2048 -nodes -keyout "$tmp/$1.key" -out "$tmp/$1.csr" -subj "/O=fraud-engine/CN=$2" 2>/dev/null
  printf '%s\n' "$3" 'basicConstraints=critical,CA:FALSE' 'keyUsage=critical,digitalSignature,keyEncipherment' > "$tmp/$1.ext"
  openssl x509 -req -in "$tmp/$1.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -set_serial "$(serial)" \
    -days "$DAYS" -sha256 -extfile "$tmp/$1.ext" -out "$tmp/$1.pem" 2>/dev/null
  rm -f "$tmp/$1.csr" "$tmp/$1.ext"
}
leaf server localhost $'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth'
leaf client "$CLIENT" 'extendedKeyUsage=clientAuth'
cat "$tmp/server.key" "$tmp/server.pem" > "$tmp/server-keystore.pem"
chmod 600 "$tmp"/*.key "$tmp/server-keystore.pem"
chmod 644 "$tmp"/*.pem
chmod 600 "$tmp/server-keystore.pem"
mv -f "$tmp"/* "$DIR"/
log "generated a throw-away CA, a server certificate (localhost, 127.0.0.1) and a client certificate (CN=$CLIENT) in $DIR"
