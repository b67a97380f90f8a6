#!/bin/sh
# Run ThermoTrace as a chaincode service (CCaaS): fabric-shim's gRPC server listens
# and the peer connects to it. Settings come from the environment (see README.md);
# extra arguments go to `fabric-chaincode-node server` as they are.
set -eu

: "${CHAINCODE_ID:?CHAINCODE_ID is missing: set it to the package ID the peer printed on install (label:hash)}"
app=$(cd "$(dirname "$0")/.." && pwd)

set -- --chaincode-address="${CHAINCODE_SERVER_ADDRESS:-0.0.0.0:9999}" --chaincode-id="$CHAINCODE_ID" \
    --module-path="$app" "$@"
# TLS: a key and a certificate (PEM files) turn it on; a client CA also demands the peer's certificate.
if [ -n "${CHAINCODE_TLS_KEY_FILE:-}" ] || [ -n "${CHAINCODE_TLS_CERT_FILE:-}" ]; then
    set -- "$@" --chaincode-tls-key-file="${CHAINCODE_TLS_KEY_FILE:-}" \
        --chaincode-tls-cert-file="${CHAINCODE_TLS_CERT_FILE:-}"
fi
if [ -n "${CHAINCODE_TLS_CLIENT_CACERT_FILE:-}" ]; then
    set -- "$@" --chaincode-tls-client-cacert-file="$CHAINCODE_TLS_CLIENT_CACERT_FILE"
fi
exec "$app/node_modules/.bin/fabric-chaincode-node" server "$@"
