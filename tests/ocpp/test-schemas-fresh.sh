#!/bin/sh
# src/ocpp/schemas.c is what tools/gen-ocpp-schemas.js writes from the JSON
# schemas of the ocpp-rpc version the test CSMS pins: a schema update or a
# hand edit of the tables fails here.  Skip (77) without node / npm.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"

command -v node >/dev/null 2>&1 || { echo "node not found: skipped"; exit 77; }
command -v npm >/dev/null 2>&1 || { echo "npm not found: skipped"; exit 77; }
. "$top_srcdir/tests/ocpp/csms-deps.sh"
csms_deps_install || { echo "npm ci failed"; exit 99; }

out=$(mktemp "${TMPDIR:-/tmp}/schemas.XXXXXX") || exit 99
trap 'rm -f "$out"' EXIT INT TERM
node "$top_srcdir/tools/gen-ocpp-schemas.js" \
    "$csms_deps/node_modules/ocpp-rpc" "$out" || exit 99
if ! cmp -s "$out" "$top_srcdir/src/ocpp/schemas.c"; then
	diff -u "$top_srcdir/src/ocpp/schemas.c" "$out" | head -40
	echo "src/ocpp/schemas.c is stale: run tools/gen-ocpp-schemas.js"
	exit 1
fi
echo "src/ocpp/schemas.c matches the schemas of ocpp-rpc"
