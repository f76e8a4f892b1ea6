#!/bin/sh
# Benchmark (`make bench`): what a backend's calls cost the running daemon.
# The real daemon on the demo site (etc/sim/demo.json, the simulator on
# loopback), connected to the test CSMS, which sends N (BENCH_CALLS_N,
# default 2000) GetConfiguration, then N SetChargingProfile calls, one in
# flight (bench/bench-calls.js).  Two lines per action: the daemon's CPU
# time per call (target <= 100 us) and the mean answer latency (target
# for SetChargingProfile <= 0.3 ms).  Needs node + npm; skipped without.
set -u
name=bench-calls
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "daemon.cpu_per_call: skipped (node / npm not found)"
	exit 0
fi
. "${top_srcdir:-.}/tests/integration/lib.sh"
top_builddir="$B"
top_srcdir="$S"
. "$S/tests/ocpp/csms-deps.sh"
csms_deps_install >"$tmp/npm.log" 2>&1 || { cat "$tmp/npm.log"; exit 1; }

start_sim "$S/etc/sim/demo.json"
id=$(sed -n 's/^\tidentity = "\(.*\)"/\1/p' "$tmp/edge.conf")
CSMS_JS="$S/tests/csms/csms.js" NODE_PATH="$csms_deps/node_modules" \
    IDENTITY="$id" PORT_FILE="$tmp/port" PID_FILE="$tmp/pid" \
    N="${BENCH_CALLS_N:-2000}" \
    node "$S/bench/bench-calls.js" >"$tmp/out" 2>"$tmp/node.log" &
node_pid=$!
extra_pids=$node_pid
wait_for 20 test -s "$tmp/port" || { cat "$tmp/node.log"; echo "no CSMS"; exit 1; }
sed -i "s|^\turl = .*|\turl = \"ws://127.0.0.1:$(cat "$tmp/port")/ocpp\"|" "$tmp/edge.conf"
start_daemon "$tmp/edge.conf"
echo "$d_pid" >"$tmp/pid.new" && mv "$tmp/pid.new" "$tmp/pid"
wait "$node_pid"
rc=$?
extra_pids=
cat "$tmp/out"
[ "$rc" -eq 0 ] || fail "calls: $(cat "$tmp/node.log")"
stop_daemon
[ "$failures" -eq 0 ]
