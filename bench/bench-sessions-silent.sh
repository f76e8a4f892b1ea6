#!/bin/sh
# The unscaled silence of tests/integration/test-sessions-silent.sh: a
# charger silent for 120 s, four times the reconnect backoff's cap, keeps
# its transaction, OCPP 1.6 and 2.0.1 (make check runs 35 s).  One line:
#   sessions.silent_120s: kept (target kept)
# Skipped without node / npm.
set -u
S="${top_srcdir:-.}"
out=$(mktemp "${TMPDIR:-/tmp}/bench-sessions-silent.XXXXXX") || exit 1
SILENT_S=120 sh "$S/tests/integration/test-sessions-silent.sh" \
    >"$out" 2>&1
rc=$?
case $rc in
0) echo "sessions.silent_120s: kept (target kept)" ;;
77) echo "sessions.silent_120s: skipped (node / npm not found)"; rc=0 ;;
*) cat "$out"; echo "sessions.silent_120s: not kept, see above (target kept)" ;;
esac
rm -f "$out"
exit $rc
