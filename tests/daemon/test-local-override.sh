#!/bin/sh
# ocpp-edgectl limit, pause and resume against a running daemon on the
# simulator: a local limit holds a connector (written to the charger),
# never lifts it above its fair share, is shown as the cap "local" in
# explain, a pause survives a restart, resume lifts it, --for ends by
# itself, and bad requests are refused.
set -u
name=test-local-override
. "${top_srcdir:-.}/tests/http/lib.sh"
CTL="$B/ocpp-edgectl"

start_bays ""

sp() { st "chargers.$1.connectors.0.setpoint_w"; }
sp_is() { [ "$(sp "$1")" = "$2" ]; }
wait_for 10 sp_is 0 10600 || fail "no first split: $(sp 0)"

# A local limit of 5 kW on bay1: written; the others share the rest.
"$CTL" -s "$tmp/ctl.sock" limit 1 5 >"$tmp/out" ||
    fail "limit 1 5: exit $? $(cat "$tmp/out")"
grep -q '^bay1/1: limited to 5.0 kW until resume$' "$tmp/out" &&
    pass "limit 1 5: $(cat "$tmp/out")" || fail "limit answer: $(cat "$tmp/out")"
limit_reg() { [ "$(sim_get bay1 connectors.0.limits.power_w)" = 5000 ]; }
wait_for 10 sp_is 0 5000 && wait_for 5 limit_reg &&
    pass "bay1 held at 5000 W and written to the charger" ||
    fail "bay1 at $(sp 0) W, register $(sim_get bay1 connectors.0.limits.power_w)"
wait_for 10 sp_is 1 13500 && pass "the others share the rest: 13500 W" ||
    fail "bay2 at $(sp 1) W"
"$CTL" -s "$tmp/ctl.sock" explain 1 >"$tmp/ex.txt"
grep -q '^  =>  local     5.0 kW .*ocpp-edgectl limit, until resume$' "$tmp/ex.txt" &&
    grep -q '^Held at 5.0 kW by a local limit' "$tmp/ex.txt" &&
    pass "explain 1: the local cap marked, in words" ||
    fail "explain 1: $(cat "$tmp/ex.txt")"
[ "$(st chargers.0.connectors.0.reason_text)" = "Held by the operator's local limit (ocpp-edgectl limit)" ] &&
    pass "status: the reason in words names the local limit" ||
    fail "reason_text: $(st chargers.0.connectors.0.reason_text)"

# A limit above the fair share does not raise it.
"$CTL" -s "$tmp/ctl.sock" limit 1 30 >/dev/null || fail "limit 1 30: exit $?"
wait_for 10 sp_is 0 10600 && pass "limit 30 kW: still the fair 10600 W" ||
    fail "limit 30 kW: bay1 at $(sp 0) W"

# A pause survives a restart; resume lifts it.
"$CTL" -s "$tmp/ctl.sock" pause bay2 >"$tmp/out" || fail "pause: exit $?"
wait_for 10 sp_is 1 0 && pass "pause bay2: 0 W" || fail "pause: bay2 at $(sp 1) W"
stop_daemon
start_daemon "$tmp/edge.conf"
has "$tmp/d.log" "bay2/1: local override 0 W kept from before the start" &&
    pass "the pause is read back at start" || fail "no pause at start"
sleep_until_run() { [ "$(st chargers.2.connectors.0.reason)" != starting ]; }
wait_for 10 sleep_until_run
wait_for 10 sp_is 1 0 && pass "after a restart bay2 is still paused" ||
    fail "after a restart bay2 at $(sp 1) W"
"$CTL" -s "$tmp/ctl.sock" explain bay2 >"$tmp/ex.txt"
grep -q '^Paused by a local pause (ocpp-edgectl pause, until resume)\.$' "$tmp/ex.txt" &&
    grep -q '^  =>  local' "$tmp/ex.txt" &&
    pass "explain bay2: paused by a local pause" || fail "explain bay2: $(cat "$tmp/ex.txt")"
"$CTL" -s "$tmp/ctl.sock" resume bay2 >"$tmp/out" &&
    grep -q '^bay2/1: local override lifted$' "$tmp/out" || fail "resume: $(cat "$tmp/out")"
"$CTL" -s "$tmp/ctl.sock" resume 1 >/dev/null || fail "resume 1"
wait_for 10 sp_is 1 10600 && pass "resume bay2: back to 10600 W" ||
    fail "resume: bay2 at $(sp 1) W"

# --for: the limit ends by itself (bay3 charging first: a car paused
# after the restart waits out the balancer's hold).
wait_for 20 sp_is 2 10600 || fail "bay3 not charging: $(sp 2) W"
"$CTL" -s "$tmp/ctl.sock" limit 3 4.5 --for 5s >"$tmp/out" || fail "limit --for: exit $?"
grep -q '^bay3/1: limited to 4.5 kW until 20' "$tmp/out" || fail "limit --for: $(cat "$tmp/out")"
wait_for 5 sp_is 2 4500 && pass "limit 3 4.5 --for 5s: 4500 W" || fail "bay3 at $(sp 2) W"
wait_for 20 sp_is 2 10600 && has "$tmp/d.log" "bay3/1: local override ended" &&
    pass "... and back to 10600 W when it ends" || fail "after --for: bay3 at $(sp 2) W"

# Refusals.
"$CTL" -s "$tmp/ctl.sock" limit 9 5 >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "no connector '9'" "$tmp/err" && pass "limit 9: refused" ||
    fail "limit 9: $(cat "$tmp/err")"
"$CTL" -s "$tmp/ctl.sock" limit 1 lots >/dev/null 2>&1
[ $? -eq 2 ] && pass "limit 1 lots: usage error" || fail "limit 1 lots accepted"
"$CTL" -s "$tmp/ctl.sock" pause 1 --for 0s >/dev/null 2>&1
[ $? -eq 2 ] && pass "pause --for 0s: usage error" || fail "pause --for 0s accepted"
ctl '{"cmd":"limit","connector":"1","w":-5}' | grep -q '"limit needs \\"w\\": the limit in W, 0..1000000"' &&
    pass "limit w -5: refused with the range" || fail "w -5: $(ctl '{"cmd":"limit","connector":"1","w":-5}')"
stop_daemon

[ "$failures" -eq 0 ] || exit 1
exit 0
