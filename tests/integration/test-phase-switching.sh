#!/bin/sh
# Automatic 1p <-> 3p switching, the real daemon and the real simulator
# on loopback, no backend: an AC Single Charger (register 21008) in PV
# full-green mode.  9 kW of PV: three phases.  The surplus drops to 3 kW:
# after the confirmation the car is paused, 21008 = 1 written once it
# stopped drawing (the simulator refuses a switch under load) and read
# back, and it charges on one phase.  The surplus rises again at once:
# the switch back to three phases waits for the dwell (30 s here; the
# decisions' times in the daemon's log are at least that far apart).
# The status, ocpp-edgectl and the dashboard show the phases and the
# switching state.
set -u
name=test-phase-switching
. "${top_srcdir:-.}/tests/integration/lib.sh"

DWELL_S=30
cat >"$tmp/site.json" <<'JSON'
{ "site": { "id": "phase", "voltage_v": 230, "available_power_kw": 22,
            "main_breaker_a": 40, "household_w": 500, "pv_w": 9000 },
  "follow_delay_ms": 1000, "ramp_w_per_s": 5000,
  "meter": { "type": "sdm630", "tcp": true },
  "chargers": [
    { "name": "solo", "model": "autel-single", "phases": 3,
      "evs": [ { "connector": 1, "evmax_w": 11000, "phases": 3 } ] } ] }
JSON
start_sim "$tmp/site.json"
sed -i -e 's|^\turl = .*|\turl = ""|' \
    -e 's|^\tmode = .*|\tmode = "pv"\n\tpv-mode = "full-green"|' \
    -e "s|^\tpath = .*|\tpath = \"$tmp/edge.db\"|" "$tmp/edge.conf"
# no fixed ports: no chargers dial in; the dashboard on a port of the
# system's choice
sed -i 's|^\tlisten = .*|\tlisten = "127.0.0.1:0"|' "$tmp/edge.conf"
conf_set "balancer {" "phase-switch-dwell-s = $DWELL_S"
conf_set "balancer {" 'phase-switch-confirm-s = 2'
conf_set 'charger "solo" {' 'phase-switching = true'
start_daemon "$tmp/edge.conf"

phases() { st chargers.0.phases; }
is_phases() { [ "$(phases)" = "$1" ]; }
draw() { sim_get solo connectors.0.power_w; }
# the car draws between $1 and $2 W
drawing() { draw | awk -v lo="$1" -v hi="$2" '{ exit !($1 >= lo && $1 <= hi) }'; }
# epoch seconds (with fraction) of the daemon's log lines matching $1
switch_times() {
	grep -F "$1" "$tmp/d.log" | cut -d' ' -f1 |
	    while read -r ts; do date -d "$ts" +%s.%N; done
}

# 9000 W of PV, 500 W of household: three phases, about 8.5 kW.
wait_for 20 drawing 7000 9000 && is_phases 3 &&
    pass "PV 9 kW: three phases, $(draw) W" ||
    fail "PV 9 kW: phases $(phases), draw $(draw) W"
[ "$(st chargers.0.phase_switching.state)" = steady ] ||
    fail "switching state $(st chargers.0.phase_switching.state)"

# 3500 W of PV: 3 kW of surplus holds one phase's minimum, not three's.
sim "pv 3500" >/dev/null
if wait_for 30 is_phases 1; then
	pass "PV 3.5 kW: switched to one phase"
else
	fail "PV 3.5 kW: phases $(phases), draw $(draw) W"
fi
# The surplus back at once: three phases fit again, but the dwell holds.
sim "pv 9000" >/dev/null
[ "$(sim_get solo phase_switch)" = 1 ] && pass "register 21008 = 1 (L1)" ||
    fail "register 21008 = $(sim_get solo phase_switch)"
wait_for 20 drawing 1400 3700 && pass "charging on one phase: $(draw) W" ||
    fail "on one phase: draw $(draw) W"
next=$(st chargers.0.phase_switching.next_allowed)
[ "$next" != null ] || fail "no next allowed switch shown after a switch"
ctl '{"cmd":"explain","connector":"1"}' >"$tmp/ex.json"
[ "$("$JG" result.phases <"$tmp/ex.json")" = 1 ] &&
    pass "explain shows one phase" ||
    fail "explain: $(cat "$tmp/ex.json")"

"$B/ocpp-edgectl" -s "$tmp/ctl.sock" status >"$tmp/status.txt" 2>&1
has "$tmp/status.txt" "solo: on 1 phase, phase switching steady, 1 switch, next not before" &&
    pass "ocpp-edgectl status shows the phase and the next switch" ||
    fail "ocpp-edgectl status: $(grep solo: "$tmp/status.txt")"
# The dashboard says the same (without Chromium: not checked).
if [ -n "$CHROMIUM" ]; then
	url=$(sed -n 's|.*info: dashboard: \(http://[^ ]*\)$|\1|p' "$tmp/d.log" | tail -1)
	browser --dump-dom "$url" >"$tmp/dom.html"
	page=$(sed -n 's|.*class="phases-text">\([^<]*\)<.*|\1|p' "$tmp/dom.html")
	case $page in
	"1 phase · switching steady, 1 switch, next allowed in "[0-9]*" s")
		pass "the dashboard: $page" ;;
	*)	fail "the dashboard's phases: '$page'" ;;
	esac
else
	echo "(chromium not installed: the dashboard not checked)"
fi
"$B/ocpp-edgectl" -s "$tmp/ctl.sock" explain 1 >"$tmp/explain.txt" 2>&1
has "$tmp/explain.txt" "Its charger is on 1 phase (phase switching steady, next switch not before" &&
    pass "ocpp-edgectl explain shows the phase" ||
    fail "ocpp-edgectl explain: $(cat "$tmp/explain.txt")"

# Not back on three phases before the dwell ends (next_allowed, in the
# status; one second of slack for the clocks' rounding), by the clock.
until_s=$(($(date -d "$next" +%s 2>/dev/null || date +%s) - 1))
left=$((until_s - $(date +%s)))
early=
while [ "$(date +%s)" -lt "$until_s" ]; do
	is_phases 3 && { early=yes; break; }
	sleep 0.2
done
if [ -n "$early" ]; then
	fail "switched back within the dwell"
elif [ "$left" -lt 2 ]; then
	echo "(dwell nearly over when checked: $left s left; the log's times below are the check)"
else
	pass "still on one phase for the $left s left of the dwell"
fi
wait_for 40 is_phases 3 && pass "back on three phases" ||
    fail "not back on three phases: $(phases)"
wait_for 20 drawing 7000 9000 && pass "three phases: $(draw) W" ||
    fail "after the switch back: draw $(draw) W"

# The two decisions at least the dwell apart; two switches in the
# simulator, none refused (the car was paused before each write).
set -- $(switch_times "switching from")
if [ $# -eq 2 ]; then
	gap=$(awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }')
	awk -v g="$gap" -v d="$DWELL_S" 'BEGIN { exit !(g >= d) }' &&
	    pass "switches $gap s apart (dwell $DWELL_S s)" ||
	    fail "switches only $gap s apart"
else
	fail "$# switch decisions logged, expected 2"
fi
[ "$(sim_get solo phase_switches)" = 2 ] &&
    [ "$(sim_get solo phase_switches_refused)" = 0 ] &&
    pass "two switches, none under load" ||
    fail "switches $(sim_get solo phase_switches), refused $(sim_get solo phase_switches_refused)"
[ "$(st chargers.0.phase_switching.switches)" = 2 ] ||
    fail "status counts $(st chargers.0.phase_switching.switches) switches"
grep -q "given up" "$tmp/d.log" && fail "a switch was given up"
stop_daemon
finish
