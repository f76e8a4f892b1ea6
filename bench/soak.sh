#!/bin/sh
# Soak run (`make soak`, SOAK_S seconds, default 3600): the real daemon on
# the 200-charger site (etc/sim/site-200.json) with the test CSMS, while
#   every 5 s: household 0..30 kW and PV 0..20 kW at random, and one
#     Wallbox in turn unplugged or plugged again (an 11 kW EV);
#   every 60 s: a new site cap (ChargePointMaxProfile, 800 / 1000 kW);
#   every 180 s: the CSMS drops the connection.
# Every 5 s the sum of the setpoints is compared with the site cap in
# force.  At the end (after the queue drained) it prints, one a line:
#   soak.rss: VmRSS after the 60 s warm-up and at the end, MiB (growth
#     target <= 1 MiB)
#   soak.cpu: % of one core over the run after the warm-up
#   soak.transaction_messages: transaction starts and ends
#     (StartTransaction / StopTransaction, TransactionEvent Started / Ended)
#     the CSMS received and answered; lost = still in the daemon's queue
#     when it stopped (after the queue drained); duplicated = the same
#     call received twice (targets 0 and 0)
#   soak.meter_messages: the periodic ones (MeterValues, TransactionEvent
#     Updated) received and answered, and still queued at the end (no
#     target: a charging connector always has one on its way)
#   soak.setpoints_above_cap: samples where the setpoints' sum exceeded the
#     site cap (target 0)
#   soak.errors_logged: the daemon's "error:" and "warning:" lines, the
#     first 20 of them below
# Usage: bench/soak.sh [SECONDS].  Needs node + npm (the test CSMS) and
# sqlite3 (what is left in the daemon's queue).
set -u
name=soak
duration=${1:-3600}
case $duration in
'' | *[!0-9]*) echo "usage: soak.sh [SECONDS]"; exit 1 ;;
esac
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1 ||
    ! command -v sqlite3 >/dev/null 2>&1; then
	echo "soak: skipped (node, npm or sqlite3 not found)"
	exit 0
fi
. "${top_srcdir:-.}/tests/integration/lib.sh"
. "$S/tests/integration/csms.sh"
start_csms
start_sim "$S/etc/sim/site-200.json"
sed -i "s|^\turl = .*|\turl = \"ws://127.0.0.1:$port/ocpp\"|" "$tmp/edge.conf"
conf_set "csms {" 'retry-backoff-min-s = 1'
start_daemon "$tmp/edge.conf"
id=$(sed -n 's/^\tidentity = "\(.*\)"/\1/p' "$tmp/edge.conf")
connected() { [ "$(st cloud.state)" = connected ]; }
wait_for 30 connected || { echo "the daemon never connected"; exit 1; }

ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
rss_kb() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status"; }
# The sum of all connectors' setpoints and the site cap, from status.
setpoints_vs_cap() {
	ctl '{"cmd":"status"}' | node -e '
		let t = ""; process.stdin.on("data", (d) => t += d).on("end", () => {
			const r = JSON.parse(t).result; let sum = 0;
			for (const c of r.chargers) for (const k of c.connectors)
				sum += k.setpoint_w > 0 ? k.setpoint_w : 0;
			console.log(sum + " " + r.site_cap.w); });'
}
cap() {
	start=$(date -u -d '-1 min' +%Y-%m-%dT%H:%M:%SZ)
	csms "{\"cmd\":\"call\",\"identity\":\"$id\",\"action\":\"SetChargingProfile\",\"params\":{\"connectorId\":0,\"csChargingProfiles\":{\"chargingProfileId\":1,\"stackLevel\":0,\"chargingProfilePurpose\":\"ChargePointMaxProfile\",\"chargingProfileKind\":\"Absolute\",\"chargingSchedule\":{\"startSchedule\":\"$start\",\"chargingRateUnit\":\"W\",\"chargingSchedulePeriod\":[{\"startPeriod\":0,\"limit\":$1}]}}}}"
}

sleep 60
kill -0 "$d_pid" 2>/dev/null || { fail "daemon exited in the warm-up"; exit 1; }
rss0=$(rss_kb "$d_pid")
c0=$(ticks "$d_pid")
t0=$(date +%s)
above=0
samples=0
r=0
while [ $(($(date +%s) - t0)) -lt "$duration" ]; do
	kill -0 "$d_pid" 2>/dev/null || { fail "daemon exited"; exit 1; }
	sim "household $(shuf -i 0-30000 -n 1)" >/dev/null
	sim "pv $(shuf -i 0-20000 -n 1)" >/dev/null
	c=wb-$((r % 120 + 1))
	if [ $((r / 120 % 2)) -eq 0 ]; then
		sim "unplug $c" >/dev/null
	else
		sim "plug $c 1 evmax=11000" >/dev/null
	fi
	[ $((r % 12)) -eq 0 ] && cap $(((r / 12) % 2 == 0 ? 800000 : 1000000))
	[ $((r % 36)) -eq 35 ] && csms "{\"cmd\":\"drop\",\"identity\":\"$id\"}"
	set -- $(setpoints_vs_cap)
	samples=$((samples + 1))
	[ "${1:-0}" -gt "${2:-0}" ] && above=$((above + 1))
	r=$((r + 1))
	sleep 5
done
c1=$(ticks "$d_pid")
el=$(($(date +%s) - t0))
rss1=$(rss_kb "$d_pid")
# The transaction messages have gone when the queue holds only the
# periodic meter values charging connectors keep adding.
tx_queued() {
	sqlite3 "$db" "SELECT count(*) FROM queue WHERE kind IN (0, 1);"
}
db=$(sed -n 's/^\tpath = "\(.*\)"/\1/p' "$tmp/edge.conf")
drained() { connected && [ "$(tx_queued)" = 0 ]; }
wait_for 120 drained || true
errors=$(grep -c ' error: ' "$tmp/d.log")
warnings=$(grep -c ' warning: ' "$tmp/d.log")
stop_daemon
# What the stopped daemon left in its queue, by kind (store.h's
# STORE_MSG_*: 0 start, 1 end, 2 update, 3 meter values).
lost=$(tx_queued)
meter_queued=$(sqlite3 "$db" "SELECT count(*) FROM queue WHERE kind IN (2, 3);")
# calls ACTIONS-REGEX [EVENT-TYPES-REGEX]: the calls the CSMS received.
calls() {
	grep '"event":"call"' "$tmp/csms.log" | grep -E "\"action\":\"($1)\"" |
	    grep -E "${2:-.}"
}
tx_calls() {
	calls '(Start|Stop)Transaction'
	calls TransactionEvent '"eventType":"(Started|Ended)"'
}
meter_calls() {
	calls MeterValues
	calls TransactionEvent '"eventType":"Updated"'
}
ids() { sed -n 's/.*"messageId":"\([^"]*\)".*/\1/p' | sort -u; }
grep '"event":"response"' "$tmp/csms.log" | ids >"$tmp/answered"
# answered CALLS-FUNCTION: how many of those calls the CSMS answered
# (a result or an error, matched by message id).
answered() { $1 | ids | comm -12 - "$tmp/answered" | wc -l; }
sent=$(tx_calls | wc -l)
acked=$(answered tx_calls)
dups=$(tx_calls | sed 's/"messageId":"[^"]*"//' | sort | uniq -d | wc -l)
m_sent=$(meter_calls | wc -l)
m_acked=$(answered meter_calls)
awk -v a="$rss0" -v b="$rss1" 'BEGIN {
	printf "soak.rss: %.1f MiB after the warm-up, %.1f MiB at the end, growth %.2f MiB (target <= 1 MiB)\n", a / 1024, b / 1024, (b - a) / 1024 }'
awk -v c=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v s="$el" 'BEGIN {
	printf "soak.cpu: %.2f %% of one core over %d s\n", c * 100 / hz / s, s }'
echo "soak.transaction_messages: $sent received, $acked answered, lost (still queued) $lost, duplicated $dups (targets 0, 0)"
echo "soak.meter_messages: $m_sent received, $m_acked answered, $meter_queued still queued (no target)"
echo "soak.setpoints_above_cap: $above of $samples samples (target 0)"
echo "soak.errors_logged: $errors errors, $warnings warnings"
# (the first of them, to say what they were)
grep -E ' (error|warning): ' "$tmp/d.log" | head -20 | sed 's/^/  /'
[ "$failures" -eq 0 ]
