#!/bin/sh
# Integration tests of the OCPP session against the test CSMS (Node.js,
# ocpp-rpc in strict mode).  Installs the CSMS's pinned dependencies with
# `npm ci` into the build tree (the source tree may be read-only), then
# runs tests/ocpp/session.test.js with node's test runner.
# Exit 77 (skip) only when node or npm is missing.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"

command -v node >/dev/null 2>&1 || { echo "node not found: skipped"; exit 77; }
command -v npm >/dev/null 2>&1 || { echo "npm not found: skipped"; exit 77; }
command -v openssl >/dev/null 2>&1 || { echo "openssl not found"; exit 99; }

. "$top_srcdir/tests/ocpp/csms-deps.sh"
csms_deps_install || { echo "npm ci failed"; exit 99; }

work=$(mktemp -d "${TMPDIR:-/tmp}/ocpp-session.XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT INT TERM

STATION="$top_builddir/tests/ocpp/test-station" \
CSMS_JS="$top_srcdir/tests/csms/csms.js" \
WORKDIR="$work" \
NODE_PATH="$csms_deps/node_modules" \
    node --test --test-concurrency=1 --test-reporter=tap \
    "$top_srcdir/tests/ocpp/session.test.js"
