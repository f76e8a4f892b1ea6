#!/bin/sh
# What the backend is told of the chargers' readings (the real daemon, the
# simulator and the strict test CSMS on loopback):
# - a single-phase charger wired to L2 of a three-phase site reports its
#   current and voltage on L2 in MeterValues, never on L1; a three-phase
#   one beside it reports on all three;
# - a Wallbox's fault codes (11141 / 11143) reach StatusNotification as
#   errorCode OtherError with vendorErrorCode, and `status` shows them.
set -u
name=test-cloud-readings
. "${top_srcdir:-.}/tests/integration/lib.sh"
command -v node >/dev/null 2>&1 || { echo "node not installed: skipped"; exit 77; }
. "$S/tests/integration/csms.sh"

cat >"$tmp/site.json" <<'JSON'
{ "site": { "id": "phases", "voltage_v": 230, "available_power_kw": 40,
            "main_breaker_a": 100, "household_w": 0 },
  "follow_delay_ms": 100,
  "chargers": [
    { "name": "s2", "model": "autel-single", "phases": 1, "wired_phase": "L2",
      "max_power_w": 7400,
      "evs": [ { "connector": 1, "evmax_w": 7400, "phases": 1 } ] },
    { "name": "w3", "model": "autel-ac-wallbox",
      "evs": [ { "connector": 1, "evmax_w": 11000 } ] } ] }
JSON
start_sim "$tmp/site.json"
grep -q 'wired-phase = "L2"' "$tmp/edge.conf" ||
    { fail "the simulator's configuration has no L2 charger"; exit 1; }
printf 'http {\n\tlisten = ""\n}\n' >>"$tmp/edge.conf"
cp "$tmp/edge.conf" "$tmp/base.conf"
start_csms
csms_conf 1.6
csms_identity=phases
start_daemon "$tmp/edge.conf"
wait_for 15 grep -q '"action":"BootNotification"' "$tmp/csms.log" ||
    { fail "no BootNotification"; exit 1; }
call ChangeConfiguration '{"key":"MeterValuesSampledData","value":"Energy.Active.Import.Register,Current.Import,Voltage"}' |
    grep -q Accepted || fail "MeterValuesSampledData not accepted"
call ChangeConfiguration '{"key":"MeterValueSampleInterval","value":"1"}' |
    grep -q Accepted || fail "MeterValueSampleInterval not accepted"

# mv K: the last MeterValues of connector K whose current is above 1 A.
mv() {
	grep '"event":"call"' "$tmp/csms.log" | grep '"action":"MeterValues"' |
	    grep "\"connectorId\":$1," |
	    grep -E '"value":"([1-9][0-9]*)(\.[0-9]+)?","context":"Sample.Periodic","measurand":"Current.Import"' |
	    tail -1 >"$tmp/mv$1.json"
	[ -s "$tmp/mv$1.json" ]
}
wait_for 20 mv 1 && wait_for 10 mv 2 || fail "no MeterValues with current"
# phases_of K MEASURAND: the phases of MEASURAND in mv K, in order.
phases_of() { tr '}' '\n' <"$tmp/mv$1.json" | grep "\"measurand\":\"$2\"" |
    sed -n 's/.*"phase":"\([^"]*\)".*/\1/p' | tr '\n' ' '; }
[ "$(phases_of 1 Current.Import)" = "L2 " ] &&
    pass "single-phase on L2: current on L2 only" ||
    fail "single-phase on L2: current phases '$(phases_of 1 Current.Import)': $(cat "$tmp/mv1.json")"
[ "$(phases_of 1 Voltage)" = "L2-N " ] &&
    pass "single-phase on L2: voltage on L2-N only" ||
    fail "single-phase on L2: voltage phases '$(phases_of 1 Voltage)'"
[ "$(phases_of 2 Current.Import)" = "L1 L2 L3 " ] &&
    pass "three-phase: current on L1 L2 L3" ||
    fail "three-phase: current phases '$(phases_of 2 Current.Import)'"

# The Wallbox's connector faults: fault codes 1 / 1 (the status stays
# the derived one: its table lists no connector status).
sim "fault w3 1" >/dev/null
faulted() {
	grep '"action":"StatusNotification"' "$tmp/csms.log" |
	    grep '"connectorId":2,' | grep '"vendorErrorCode"' | tail -1 \
	    >"$tmp/sn.json"
	[ -s "$tmp/sn.json" ]
}
wait_for 10 faulted && grep -q '"errorCode":"OtherError"' "$tmp/sn.json" &&
    grep -q '"vendorErrorCode":"EU 00000001 US 00000001"' "$tmp/sn.json" &&
    pass "fault codes in StatusNotification" ||
    fail "fault codes: $(cat "$tmp/sn.json")"
[ "$(st chargers.1.connectors.0.fault)" = "EU 00000001 US 00000001" ] &&
    pass "fault codes in status" ||
    fail "status fault: $(st chargers.1.connectors.0.fault)"
"$B/ocpp-edgectl" -s "$tmp/ctl.sock" status >"$tmp/status.txt" 2>&1
has "$tmp/status.txt" "w3/1: fault codes EU 00000001 US 00000001" &&
    pass "ocpp-edgectl status shows them" ||
    fail "ocpp-edgectl status: $(cat "$tmp/status.txt")"
sim "clear w3 1" >/dev/null
cleared() {
	grep '"action":"StatusNotification"' "$tmp/csms.log" |
	    grep '"connectorId":2,' | tail -1 | grep -q '"errorCode":"NoError"'
}
wait_for 10 cleared && pass "cleared: NoError again" ||
    fail "cleared: $(grep StatusNotification "$tmp/csms.log" | tail -1)"
no_violations
stop_daemon
stop_csms
[ "$failures" -eq 0 ] || exit 1
exit 0
