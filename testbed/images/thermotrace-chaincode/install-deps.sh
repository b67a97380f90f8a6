#!/bin/sh
# Runs on the host in the scratch build context, where the test bed has copied
# chaincode/thermotrace (this recipe's `inputs:`): install the dependencies that
# package-lock.json pins, runtime only, without install scripts (none is needed:
# every dependency is plain JavaScript). The tests stay out of the image.
set -eu
command -v npm > /dev/null || { echo "install-deps: npm is needed on the host to build this image" >&2; exit 1; }
cd chaincode/thermotrace
npm ci --omit=dev --ignore-scripts --no-audit --no-fund
rm -rf test
