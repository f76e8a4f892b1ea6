#!/bin/sh
# Benchmark of the OCPP session (`make bench`): 10,000 CALL/CALLRESULT
# round trips over loopback against the test CSMS, and the resident memory
# of the station with 200 chargers x 2 connectors connected and reporting.
# Needs node + npm (the test CSMS); skips with a message otherwise.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
	{ echo "ocpp bench: node/npm not found, skipped"; exit 0; }
deps="$top_builddir/tests/ocpp/node_modules/csms-deps"
mkdir -p "$deps" || exit 1
if ! cmp -s "$top_srcdir/tests/csms/package-lock.json" "$deps/package-lock.json" ||
    [ ! -d "$deps/node_modules/ocpp-rpc" ]; then
	cp "$top_srcdir/tests/csms/package.json" \
	    "$top_srcdir/tests/csms/package-lock.json" "$deps/" || exit 1
	chmod u+w "$deps/package.json" "$deps/package-lock.json"
	(cd "$deps" && npm ci --no-audit --no-fund --loglevel=error) || exit 1
fi
STATION="$top_builddir/tests/ocpp/test-station" \
CSMS_JS="$top_srcdir/tests/csms/csms.js" \
NODE_PATH="$deps/node_modules" \
	node "$top_srcdir/bench/bench-ocpp.js"
