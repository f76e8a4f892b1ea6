#!/bin/sh
# Benchmark of the OCPP session (`make bench`): 10,000 CALL/CALLRESULT
# round trips over loopback against the test CSMS, and the resident memory
# of the station with 200 chargers x 2 connectors connected and reporting.
# Needs node + npm (the test CSMS); skips with a message otherwise.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
	{ echo "ocpp bench: node/npm not found, skipped"; exit 0; }
. "$top_srcdir/tests/ocpp/csms-deps.sh"
csms_deps_install || exit 1
STATION="$top_builddir/tests/ocpp/test-station" \
CSMS_JS="$top_srcdir/tests/csms/csms.js" \
NODE_PATH="$csms_deps/node_modules" \
	node "$top_srcdir/bench/bench-ocpp.js"
