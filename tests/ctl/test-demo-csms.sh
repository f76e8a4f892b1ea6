#!/bin/sh
# The demo's online path: tools/ocpp-edge-demo --csms --no-watch starts the
# test CSMS (tests/csms, node + ocpp-rpc), the simulator and the daemon;
# `ocpp-edgectl status --json` on the demo's socket must show the cloud
# link connected to that CSMS.  SIGTERM to the demo ends it with status 0
# and stops every process it started (their PIDs are in its pids file).
# Skipped (77) only without node or npm; a failed `npm ci` is a hard error.
set -u
. "${top_srcdir:-.}/tests/ctl/lib.sh"
need_built
need node "node is not installed"
need npm "npm is not installed"
top_srcdir=$src top_builddir=$bld
. "$src/tests/ocpp/csms-deps.sh"
csms_deps_install || { echo "npm ci failed"; exit 99; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-demo-csms.XXXXXX") || exit 99
mkdir "$tmp/d" || exit 99
demo_pid=""
cleanup() {
	[ -n "$demo_pid" ] && kill "$demo_pid" 2>/dev/null && wait "$demo_pid" 2>/dev/null
	kill_demo_pids
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

TMPDIR="$tmp/d" sh "$src/tools/ocpp-edge-demo" --builddir "$bld" --csms --no-watch --keep \
    >"$tmp/demo.out" 2>&1 &
demo_pid=$!

# The demo writes its pids file once the daemon answers.
i=0
until ls "$tmp"/d/ocpp-edge-demo.*/pids >/dev/null 2>&1; do
	i=$((i + 1))
	if [ "$i" -gt 600 ] || ! kill -0 "$demo_pid" 2>/dev/null; then
		echo "the demo did not come up:"; cat "$tmp/demo.out"; exit 1
	fi
	sleep 0.05
done
dir=$(dirname "$(ls "$tmp"/d/ocpp-edge-demo.*/pids)")
pids=$(cat "$dir/pids")
[ "$(echo $pids | wc -w)" -eq 3 ] || fail "expected 3 processes (simulator, daemon, CSMS): '$pids'"
grep -q "test CSMS (pid [0-9]*) at ws://127.0.0.1:[0-9]*/ocpp" "$tmp/demo.out" ||
    fail "banner lacks the CSMS: $(cat "$tmp/demo.out")"

# Connected to the demo's CSMS within 20 s (the session connects at once).
url=$(sed -n 's/.*test CSMS (pid [0-9]*) at \(ws:[^ ]*\).*/\1/p' "$tmp/demo.out")
i=0
while :; do
	"$ctl" -s "$dir/ctl.sock" status --json >"$tmp/st.json" 2>/dev/null &&
	    [ "$(json "$tmp/st.json" 'j.cloud.state')" = connected ] && break
	i=$((i + 1))
	[ "$i" -le 200 ] || { fail "cloud never connected: $(cat "$tmp/st.json")"; break; }
	sleep 0.1
done
[ "$(json "$tmp/st.json" 'j.cloud.url')" = "$url" ] || fail "cloud url is not the demo's CSMS ($url)"
grep -q '"event":"connected","identity":"demo-site"' "$dir/csms.log" ||
    fail "the CSMS saw no connection from demo-site"
"$ctl" -s "$dir/ctl.sock" status >"$tmp/st.txt"
grep -q '^Cloud     connected since ' "$tmp/st.txt" || fail "status text: $(grep '^Cloud' "$tmp/st.txt")"
pass "the demo's daemon is connected to the test CSMS"

kill -TERM "$demo_pid"
wait "$demo_pid"
rc=$?
demo_pid=""
[ "$rc" -eq 0 ] || fail "demo exit $rc on SIGTERM"
for pid in $pids; do
	kill -0 "$pid" 2>/dev/null && fail "process $pid still running"
done
grep -q "^ocpp-edge-demo: stopped; logs and database kept in $dir\$" "$tmp/demo.out" ||
    fail "no 'stopped' line"
pass "SIGTERM stopped the demo and its simulator, daemon and CSMS"

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "all demo --csms checks passed"
exit 0
