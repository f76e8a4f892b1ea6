#!/bin/sh
# make bench: what an operator waits for with ocpp-edgectl on a large site.
# The simulator plays etc/sim/site-200.json (200 chargers, 280 connectors)
# with the daemon on it; then, each as a whole process run from the shell:
#   ctl.status_200_chargers       status rendered as text
#   ctl.status_json_200_chargers  status --json
#   ctl.explain_200_chargers      explain of the last connector (280)
# as the median of 20 runs, and
#   ctl.scan_tcp_per_charger      scan of 20 chargers over loopback, per charger
# Each figure on one line with its unit and target.
set -u
. "${top_srcdir:-.}/tests/ctl/lib.sh"
need_built
command -v node >/dev/null 2>&1 || { echo "bench-ctl: skipped (no node)"; exit 0; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-ctl.XXXXXX") || exit 1
sim_pid=""
edged_pid=""
cleanup() {
	stop_sim_edged
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

until_ok() {
	i=0
	until "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -le 600 ] || return 1
		sleep 0.05
	done
}
now_us() { echo $(( $(date +%s%N) / 1000 )); }
# median_ms N COMMAND...: median wall time of N runs, in ms (2 decimals).
median_ms() {
	n=$1; shift
	: >"$tmp/times"
	k=0
	while [ "$k" -lt "$n" ]; do
		t0=$(now_us)
		"$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; return 1; }
		t1=$(now_us)
		echo $((t1 - t0)) >>"$tmp/times"
		k=$((k + 1))
	done
	sort -n "$tmp/times" | awk '{ v[NR] = $1 } END {
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.2f", m / 1000 }'
}

gw=$(free_port)
"$bld/ocpp-edge-sim" -q --scenario "$src/etc/sim/site-200.json" \
    --ready-file "$tmp/ready.json" --write-config "$tmp/edge.conf" \
    --gateway "127.0.0.1:$gw" >/dev/null 2>"$tmp/sim.err" &
sim_pid=$!
until_ok test -s "$tmp/ready.json" || { echo "bench-ctl: simulator not ready"; cat "$tmp/sim.err"; exit 1; }
sed -i 's|^\(\s*url\s*=\).*|\1 "ws://127.0.0.1:9/ocpp"|' "$tmp/edge.conf"
"$bld/ocpp-edged" --stderr --log-level warning --config "$tmp/edge.conf" \
    --control "$tmp/ctl.sock" >"$tmp/edged.log" 2>&1 &
edged_pid=$!
until_ok "$ctl" -s "$tmp/ctl.sock" status || { echo "bench-ctl: daemon not up"; cat "$tmp/edged.log"; exit 1; }
# every charger read once
all_online() {
	"$ctl" -s "$tmp/ctl.sock" status --json >"$tmp/st.json" &&
	[ "$(node -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1]));
console.log(j.chargers.filter(c => c.online).length)' "$tmp/st.json")" = 200 ]
}
until_ok all_online || echo "bench-ctl: note: not every charger online"
bytes=$(wc -c <"$tmp/st.json")

m=$(median_ms 20 "$ctl" -s "$tmp/ctl.sock" status) || exit 1
echo "ctl.status_200_chargers: $m ms/call, whole process, text screen (target < 200 ms)"
m=$(median_ms 20 "$ctl" -s "$tmp/ctl.sock" status --json) || exit 1
echo "ctl.status_json_200_chargers: $m ms/call, $bytes bytes (target < 200 ms)"
m=$(median_ms 20 "$ctl" -s "$tmp/ctl.sock" explain 280) || exit 1
echo "ctl.explain_200_chargers: $m ms/call (target < 100 ms)"

targets=$(node -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1]));
console.log(j.chargers.slice(0, 20).map(c => "127.0.0.1:" + c.port).join(" "))' "$tmp/ready.json")
t0=$(now_us)
# shellcheck disable=SC2086
"$ctl" scan $targets >"$tmp/scan.out" 2>"$tmp/scan.err" || { echo "bench-ctl: scan failed"; cat "$tmp/scan.err"; exit 1; }
t1=$(now_us)
echo "ctl.scan_tcp_per_charger: $(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.2f", d / 20 / 1000 }') ms/charger, 20 chargers over loopback (target < 50 ms)"
exit 0
