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

csms_dir="$top_builddir/tests/ocpp/node_modules/csms-deps"
mkdir -p "$csms_dir" || exit 99
# Reinstall only when the lock file changed.
if ! cmp -s "$top_srcdir/tests/csms/package-lock.json" \
    "$csms_dir/package-lock.json" || [ ! -d "$csms_dir/node_modules/ocpp-rpc" ]; then
	cp "$top_srcdir/tests/csms/package.json" \
	    "$top_srcdir/tests/csms/package-lock.json" "$csms_dir/" || exit 99
	chmod u+w "$csms_dir/package.json" "$csms_dir/package-lock.json"
	(cd "$csms_dir" && npm ci --no-audit --no-fund --loglevel=error) ||
	    { echo "npm ci failed"; exit 99; }
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/ocpp-session.XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT INT TERM

STATION="$top_builddir/tests/ocpp/test-station" \
CSMS_JS="$top_srcdir/tests/csms/csms.js" \
WORKDIR="$work" \
NODE_PATH="$csms_dir/node_modules" \
    node --test --test-concurrency=1 --test-reporter=tap \
    "$top_srcdir/tests/ocpp/session.test.js"
