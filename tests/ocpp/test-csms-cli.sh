#!/bin/sh
# The test CSMS driven the way shell and C tests use it: JSON commands on
# its stdin, JSON events on its stdout.  Starts it, connects the station
# harness, asks for a configuration key over stdin and checks the answer;
# stops both by PID.  Exit 77 only when node / npm are missing.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
command -v node >/dev/null 2>&1 || { echo "node not found: skipped"; exit 77; }
command -v npm >/dev/null 2>&1 || { echo "npm not found: skipped"; exit 77; }
. "$top_srcdir/tests/ocpp/csms-deps.sh"
csms_deps_install || { echo "npm ci failed"; exit 99; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/csms-cli.XXXXXX") || exit 99
csms_pid=
station_pid=
cleanup() {
	[ -n "$station_pid" ] && kill "$station_pid" 2>/dev/null
	[ -n "$csms_pid" ] && kill "$csms_pid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
mkfifo "$tmp/csms.in" "$tmp/station.in" || exit 99

# Waits (at most 10 s) until file $1 has a line matching $2.
wait_for() {
	i=0
	until grep -q "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		if [ "$i" -gt 200 ]; then
			echo "timed out waiting for $2 in $1:"; cat "$1"
			return 1
		fi
		sleep 0.05
	done
}

NODE_PATH="$csms_deps/node_modules" node "$top_srcdir/tests/csms/csms.js" \
    --password 'cli-password-0123456' <"$tmp/csms.in" >"$tmp/csms.out" 2>&1 &
csms_pid=$!
exec 3>"$tmp/csms.in"
wait_for "$tmp/csms.out" '"event":"listening"' || exit 1
port=$(sed -n 's/.*"event":"listening","port":\([0-9]*\).*/\1/p' "$tmp/csms.out")
[ -n "$port" ] || { echo "no port"; exit 1; }

"$top_builddir/tests/ocpp/test-station" --url "ws://127.0.0.1:$port/ocpp" \
    --version 1.6 --identity CS001 --password 'cli-password-0123456' \
    <"$tmp/station.in" >"$tmp/station.out" 2>"$tmp/station.err" &
station_pid=$!
exec 4>"$tmp/station.in"
wait_for "$tmp/station.out" '"accepted":true' || exit 1

echo '{"cmd":"call","identity":"CS001","action":"GetConfiguration","params":{"key":["HeartbeatInterval"]},"ref":7}' >&3
wait_for "$tmp/csms.out" '"event":"call_result","ref":7' || exit 1
# HeartbeatInterval is the CSMS's boot interval: 300.
grep '"ref":7' "$tmp/csms.out" | grep -q '"key":"HeartbeatInterval","readonly":false,"value":"300"' ||
	{ echo "unexpected answer:"; grep '"ref":7' "$tmp/csms.out"; exit 1; }
# A raw malformed frame gets its CALLERROR, seen as a message event.
echo '{"cmd":"raw","identity":"CS001","text":"[2,\"r1\",\"Reset\",{}]"}' >&3
wait_for "$tmp/csms.out" 'OccurenceConstraintViolation' || exit 1
if grep -q '"event":"violation"' "$tmp/csms.out"; then
	echo "schema violation:"; grep '"event":"violation"' "$tmp/csms.out"; exit 1
fi

echo '{"cmd":"quit"}' >&4
exec 4>&-
wait "$station_pid"
rc=$?
station_pid=
[ "$rc" -eq 0 ] || { echo "station exited $rc"; cat "$tmp/station.err"; exit 1; }
echo '{"cmd":"quit"}' >&3
exec 3>&-
wait "$csms_pid"
csms_pid=
echo "csms command line: ok"
