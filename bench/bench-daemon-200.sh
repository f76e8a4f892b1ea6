#!/bin/sh
# Benchmark: the real daemon on the 200-charger site (etc/sim/site-200.json:
# 200 TCP chargers, 280 connectors, 120 charging, an SDM630, ALM), connected
# to the strict test CSMS.  After a warm-up it measures over a window and
# prints one line per figure, with its unit and target:
#   daemon.rss_200_chargers: peak resident set (VmHWM), MiB (target <= 16)
#   daemon.cpu_200_chargers: user + system CPU over the window, % of one
#     core (target <= 2 %)
#   daemon.threads_200_chargers: most threads seen in the window (target
#     <= 16)
#   daemon.modbus_requests_per_s: Modbus requests the simulator answered
#     per second over the window, and of them the writes (information; no
#     target); then the same per charger model and state
#     (daemon.modbus_requests_per_s.MODEL.charging / .idle, per charger)
#     and for the meter (bench/bench-requests.js)
# Environment: BENCH_WARMUP_S (default 20), BENCH_WINDOW_S (default 60;
# shorter windows are for trial runs only: the CPU figure needs >= 60 s).
set -u
name=bench-daemon-200
. "${top_srcdir:-.}/tests/integration/lib.sh"
warmup=${BENCH_WARMUP_S:-20}
window=${BENCH_WINDOW_S:-60}
case $warmup$window in
*[!0-9]*) echo "BENCH_WARMUP_S and BENCH_WINDOW_S are whole seconds"; exit 1 ;;
esac
[ "$window" -ge 1 ] || { echo "BENCH_WINDOW_S must be >= 1"; exit 1; }

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	for f in rss cpu threads; do
		echo "daemon.${f}_200_chargers: skipped (node / npm not found)"
	done
	echo "daemon.modbus_requests_per_s: skipped (node / npm not found)"
	exit 0
fi
. "$S/tests/integration/csms.sh"
start_csms
start_sim "$S/etc/sim/site-200.json"
sed -i "s|^\turl = .*|\turl = \"ws://127.0.0.1:$port/ocpp\"|" "$tmp/edge.conf"
start_daemon "$tmp/edge.conf"
connected() { [ "$(st cloud.state)" = connected ]; }
wait_for 30 connected || { echo "the daemon never connected to the CSMS"; exit 1; }

# CPU ticks (user + system) of a process; the command name in field 2 may
# hold spaces, so fields are counted after its closing parenthesis.
ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
# A field of /proc/PID/status, first number only (kB or a count).
status_field() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }
# Modbus requests (or writes) the simulator has answered, chargers and
# meter together, in the status reply saved in file $1.
requests() {
	grep -o "\"${2:-requests}\":[0-9]*" "$1" |
	    awk -F: '{ n += $2 } END { print n + 0 }'
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
hz=$(getconf CLK_TCK)

sleep "$warmup"
kill -0 "$d_pid" 2>/dev/null || { fail "daemon exited in the warm-up"; exit 1; }
threads=$(status_field "$d_pid" Threads)
sim status >"$tmp/status0"
r0=$(requests "$tmp/status0")
w0=$(requests "$tmp/status0" writes)
c0=$(ticks "$d_pid")
t0=$(now_ms)
# Threads are sampled every 5 s (and at the end): a bound, not an average.
left=$window
while [ "$left" -gt 0 ]; do
	step=$((left < 5 ? left : 5))
	sleep "$step"
	left=$((left - step))
	n=$(status_field "$d_pid" Threads) || { fail "daemon exited"; exit 1; }
	[ "${n:-0}" -gt "$threads" ] && threads=$n
done
c1=$(ticks "$d_pid")
t1=$(now_ms)
sim status >"$tmp/status1"
r1=$(requests "$tmp/status1")
w1=$(requests "$tmp/status1" writes)
hwm=$(status_field "$d_pid" VmHWM)
anon=$(status_field "$d_pid" RssAnon)
[ "$(st cloud.state)" = connected ] || fail "the CSMS link dropped during the window"

el=$((t1 - t0))
awk -v k="$hwm" -v a="$anon" 'BEGIN {
	printf "daemon.rss_200_chargers: %.1f MiB VmHWM (RssAnon %.1f MiB) (target <= 16 MiB)\n", k / 1024, a / 1024 }'
awk -v c=$((c1 - c0)) -v hz="$hz" -v ms="$el" 'BEGIN {
	printf "daemon.cpu_200_chargers: %.2f %% of one core over %.0f s (target <= 2 %%)\n", c * 100000 / hz / ms, ms / 1000 }'
echo "daemon.threads_200_chargers: $threads threads, most seen in the window (target <= 16)"
awk -v r=$((r1 - r0)) -v w=$((w1 - w0)) -v ms="$el" 'BEGIN {
	printf "daemon.modbus_requests_per_s: %.0f requests/s on 200 chargers and the meter, %.0f of them writes (no target; fewer is better)\n", r * 1000 / ms, w * 1000 / ms }'
node "$S/bench/bench-requests.js" "$tmp/status0" "$tmp/status1" \
    "$(awk -v ms="$el" 'BEGIN { print ms / 1000 }')" ||
    fail "requests per model not counted"
[ "$window" -ge 60 ] || echo "(window $window s: shorter than the 60 s the CPU target is defined over)"
stop_daemon
[ "$failures" -eq 0 ]
