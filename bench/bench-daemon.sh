#!/bin/sh
# Benchmark: ocpp-edged from exec to its "started" line, and from SIGTERM
# to exit, over five runs; prints the worst of each, one line each.
set -u
bin="${top_builddir:-.}/ocpp-edged"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-daemon.XXXXXX") || exit 1
pid=
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
cat >"$tmp/edge.conf" <<'CONF'
site { available-power-kw = 20 }
csms { url = "ws://127.0.0.1:1/ocpp" identity = "bench" }
balancer { mode = "dlb" }
charger "a" { model = "autel-ac-wallbox" host = "127.0.0.1" port = 1 max-power-kw = 11 }
CONF
echo "store { path = \"$tmp/state.db\" }" >>"$tmp/edge.conf"
now_ms() { echo $(($(date +%s%N) / 1000000)); }
worst_start=0
worst_stop=0
for run in 1 2 3 4 5; do
	log="$tmp/run$run.log"
	t0=$(now_ms)
	"$bin" --stderr --config "$tmp/edge.conf" --control "$tmp/ctl.sock" \
	    2>"$log" &
	pid=$!
	i=0
	until grep -q "info: started" "$log"; do
		i=$((i + 1))
		[ "$i" -le 2000 ] && kill -0 "$pid" 2>/dev/null || {
			echo "daemon did not start"; cat "$log"; exit 1; }
		sleep 0.005
	done
	t1=$(now_ms)
	kill -TERM "$pid"
	while state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' \
	    "/proc/$pid/status" 2>/dev/null) && [ "$state" != Z ]; do
		sleep 0.002
	done
	t2=$(now_ms)
	wait "$pid" || { echo "exit status $?"; exit 1; }
	pid=
	[ $((t1 - t0)) -gt "$worst_start" ] && worst_start=$((t1 - t0))
	[ $((t2 - t1)) -gt "$worst_stop" ] && worst_stop=$((t2 - t1))
done
echo "daemon.start_to_ready: $worst_start ms (worst of 5; target < 1000 ms)"
echo "daemon.stop_after_sigterm: $worst_stop ms (worst of 5; target < 1000 ms)"
[ "$worst_start" -lt 1000 ] && [ "$worst_stop" -lt 1000 ]
