#!/bin/sh
# The history of a running daemon on the simulator: every setpoint change
# with its reason and binding cap and a site sample every 10 s, read by
# `ocpp-edgectl history`, `explain N --at TIME` and GET /api/history, and
# still there after a restart (the batch is committed on the way out).
set -u
name=test-history
. "${top_srcdir:-.}/tests/http/lib.sh"
command -v node >/dev/null 2>&1 || { echo "SKIP: node not installed"; exit 77; }
PROBE="node $S/tests/http/http-probe.js"
CTL="$B/ocpp-edgectl"

start_bays 127.0.0.1:0

limits_are() { [ "$(st chargers.0.connectors.0.setpoint_w)" = "$1" ]; }
wait_for 10 limits_are 10600 || fail "no first split"
# The household steps up: 7300 W each, recorded with its reason.
sim "household 12000" >/dev/null
wait_for 10 limits_are 7300 || fail "no second split"
t_mid=$(node -e 'process.stdout.write(String(Date.now()))')
# A second site sample (they come every 10 s).
samples() {
	n=$(ctl '{"cmd":"history"}' | node -e '
let s = ""; process.stdin.on("data", (d) => { s += d; });
process.stdin.on("end", () => process.stdout.write(
  String(JSON.parse(s).result.samples.length)));')
	[ "${n:-0}" -ge 2 ]
}
wait_for 15 samples && pass "history: $n site samples" || fail "history: ${n:-no} samples"
"$CTL" -s "$tmp/ctl.sock" history bay1 >"$tmp/h.txt" ||
    fail "ocpp-edgectl history: exit $?"
grep -q ' 1  *7.3 kW  share  *Charging at 7.3 kW' "$tmp/h.txt" &&
    grep -q ' 1  *10.6 kW  share ' "$tmp/h.txt" &&
    pass "ocpp-edgectl history bay1: 10.6 kW then 7.3 kW with the reason" ||
    fail "history bay1: $(cat "$tmp/h.txt")"
awk '/^20[0-9][0-9]-/ { n++; if ($2 != 1) bad = 1 } END { exit bad || n < 2 }' "$tmp/h.txt" &&
    pass "history bay1 lists bay1 only" ||
    fail "history bay1 lists another connector"

# A restart: what was recorded is still there.
stop_daemon
: >"$tmp/d.log"
start_daemon "$tmp/edge.conf"
wait_for 10 http_url || fail "no dashboard line after the restart"
"$CTL" -s "$tmp/ctl.sock" explain 1 --at "$(node -e "process.stdout.write(new Date($t_mid).toISOString())")" >"$tmp/ex.txt" ||
    fail "explain --at: exit $?"
head -3 "$tmp/ex.txt" | grep -q '^Connector bay1/1 (EVSE 1): setpoint 7.3 kW, reason share$' &&
    grep -q '^Recorded at ' "$tmp/ex.txt" &&
    grep -q '^  =>  site ' "$tmp/ex.txt" &&
    pass "after a restart: explain 1 --at the step = 7.3 kW share, site marked" ||
    fail "explain --at: $(cat "$tmp/ex.txt")"
"$CTL" -s "$tmp/ctl.sock" explain 1 --at 2020-01-01T00:00:00Z >"$tmp/out" 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "no setpoint of bay1/1 recorded" "$tmp/err" &&
    pass "explain --at before any record: refused with the reason" ||
    fail "explain --at 2020: $(cat "$tmp/err")"
"$CTL" -s "$tmp/ctl.sock" history --from yesterday >"$tmp/out" 2>"$tmp/err"
[ $? -eq 2 ] && pass "history --from yesterday: usage error" ||
    fail "history --from yesterday: $(cat "$tmp/err")"

# GET /api/history: the same record, the range from the query.
$PROBE get "${url}api/history?from=$((t_mid - 3600000))&connector=1" >"$tmp/api.out"
[ "$(head -1 "$tmp/api.out")" = 200 ] &&
    tail -n +2 "$tmp/api.out" | node -e '
let s = ""; process.stdin.on("data", (d) => { s += d; });
process.stdin.on("end", () => { const h = JSON.parse(s);
  const ok = h.samples.length >= 2 && h.samples.every((r) => r.length === 4) &&
    h.changes.some((c) => c.ocpp_id === 1 && c.setpoint_w === 7300) &&
    h.changes.every((c) => c.ocpp_id === 1);
  process.exit(ok ? 0 : 1); });' &&
    pass "/api/history: samples and bay1's changes after the restart" ||
    fail "/api/history: $(head -c 300 "$tmp/api.out")"
[ "$($PROBE get "${url}api/history?from=soon" | head -1)" = 400 ] &&
    pass "/api/history?from=soon: 400" || fail "/api/history?from=soon accepted"
[ "$($PROBE get "${url}api/history?from=2000&to=1000" | head -1)" = 400 ] &&
    pass "/api/history from after to: 400" || fail "from after to accepted"
stop_daemon

[ "$failures" -eq 0 ] || exit 1
exit 0
