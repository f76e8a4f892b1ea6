#!/bin/sh
# The control socket (docs/control.md) of the real daemon, driving the
# real simulator: status against the simulator's registers, explain by
# number / CHARGER/K / CHARGER, every error reply, several requests on one
# connection, an over-long line, the socket's mode, a live socket refused,
# a stale one replaced.
set -u
name=test-control
. "${top_srcdir:-.}/tests/integration/lib.sh"

# A wallbox with a car, an Ultra with a car on connector 1 and a free
# connector 2; EVs follow new limits after 200 ms.
cat >"$tmp/site.json" <<'JSON'
{ "site": { "id": "ctl-site", "voltage_v": 230, "available_power_kw": 22,
            "main_breaker_a": 63, "household_w": 1000 },
  "follow_delay_ms": 200,
  "meter": { "type": "sdm630", "tcp": true },
  "chargers": [
    { "name": "bay1", "model": "autel-ac-wallbox",
      "evs": [ { "connector": 1, "evmax_w": 22000 } ] },
    { "name": "bay3", "model": "autel-ac-ultra", "connectors": 2,
      "evs": [ { "connector": 1, "evmax_w": 22000 } ] } ] }
JSON
start_sim "$tmp/site.json"
sed -i 's|^\turl = .*|\turl = ""|; s|^\tmode = "alm"|\tmode = "dlb"|' \
    "$tmp/edge.conf"
start_daemon "$tmp/edge.conf"

# DLB, Pmax 22 kW: both chargers are online and charging (bay3/2 is free,
# but manual §6 counts chargers), so no reserve: 11000 W each.
sp1() { [ "$(sim_get bay1 connectors.0.limits.power_w)" = 11000 ]; }
sp3() { [ "$(sim_get bay3 connectors.0.limits.power_w)" = 11000 ]; }
wait_for 10 sp1 && wait_for 10 sp3 && pass "DLB split written: 11000 W each" ||
    fail "setpoints: bay1 $(sim_get bay1 connectors.0.limits.power_w), bay3 $(sim_get bay3 connectors.0.limits.power_w)"
# bay3/2 gets a setpoint too (0 W: idle), so it never falls back.
[ "$(sim_get bay3 connectors.1.limits.power_w)" = 0 ] &&
    pass "idle connector written 0 W" ||
    fail "bay3/2 limit $(sim_get bay3 connectors.1.limits.power_w)"

# status
set -- $(st ok site_id cloud.state settings.mode settings.source.mode \
    site_cap.w site_cap.source chargers.0.serial chargers.0.online \
    chargers.1.connectors.1.ocpp_id chargers.0.connectors.0.setpoint_w \
    chargers.1.connectors.1.reason meter.type)
[ "$*" = "missing ctl-site disabled dlb file 22000 config SIMbay1 true 3 11000 idle sdm630" ] &&
    pass "status fields" || fail "status: $*"
grep -q '^{"ok":true,"result":{"version":"' "$tmp/st.json" &&
    pass "status reply shape" || fail "status reply: $(head -c 200 "$tmp/st.json")"
# The meter as the simulator serves it, once the cars have followed
# (200 ms) and the meter was polled again (1 s): 2 x 11000 + 1000 W.
meter_match() {
	got=$(st meter.total_w)
	[ "$got" = 23000 ] && [ "$(sim "get meter" | "$JG" total_w)" = 23000 ]
}
wait_for 5 meter_match && pass "meter total 23000 W as in the simulator" ||
    fail "meter total $(st meter.total_w), simulator $(sim "get meter" | "$JG" total_w)"

# explain by number, CHARGER/K and CHARGER: the same connector.
for c in 1 bay1/1 bay1; do
	got=$(ctl "{\"cmd\":\"explain\",\"connector\":\"$c\"}" |
	    "$JG" result.connector result.ocpp_id result.setpoint_w \
	    result.reason result.bound_by result.caps.0.what | tr '\n' ' ')
	[ "$got" = "bay1/1 1 11000 share site max " ] &&
	    pass "explain $c" || fail "explain $c: $got"
done
ctl '{"cmd":"explain","connector":"3"}' | "$JG" result.connector result.line >"$tmp/ex"
[ "$(head -1 "$tmp/ex")" = bay3/2 ] && grep -q "^0 W idle" "$tmp/ex" &&
    pass "explain 3 = bay3/2, idle" || fail "explain 3: $(cat "$tmp/ex")"

# Errors.
check_error() { # REQUEST TEXT
	got=$(ctl "$1")
	case $got in
	*'"ok":false'*"$2"*) pass "error: $2" ;;
	*) fail "request $1 answered $got" ;;
	esac
}
check_error '{"cmd":"reboot"}' "unknown command 'reboot' (known: status, explain, history, limit, pause, resume, reload)"
check_error '{"cmd":"explain","connector":"bay3"}' "no connector 'bay3'"
check_error '{"cmd":"explain","connector":"9"}' "OCPP connector number (1..3)"
check_error '{"cmd":"explain"}' 'explain needs \"connector\"'
check_error '{"cmd":7}' 'request needs a string \"cmd\"'
check_error 'status please' "request is not JSON"

# Several requests on one connection, then an over-long line, then a
# request that must still be answered.
"$CTLC" "$tmp/ctl.sock" '{"cmd":"status"}' '{"cmd":"explain","connector":"2"}' \
    '{"cmd":"nope"}' >"$tmp/multi"
[ "$(wc -l <"$tmp/multi")" -eq 3 ] &&
    [ "$(sed -n 2p "$tmp/multi" | "$JG" result.connector)" = bay3/1 ] &&
    sed -n 3p "$tmp/multi" | grep -q "unknown command 'nope'" &&
    pass "three requests, three replies in order" ||
    fail "multi: $(cut -c1-80 "$tmp/multi")"
long=$(head -c 5000 /dev/zero | tr '\0' 'x')
{ echo "$long"; echo '{"cmd":"explain","connector":"bay1"}'; } >"$tmp/long.in"
"$CTLC" "$tmp/ctl.sock" - <"$tmp/long.in" >"$tmp/long.out"
sed -n 1p "$tmp/long.out" | grep -q "request longer than 4096 bytes" &&
    [ "$(sed -n 2p "$tmp/long.out" | "$JG" result.connector)" = bay1/1 ] &&
    pass "over-long line refused, the connection still answers" ||
    fail "long line: $(cut -c1-100 "$tmp/long.out")"
# A request whose error text quotes half a character (jansson cuts the
# "\é" escape after its first byte): still one JSON reply, and the
# connection still answers.
printf '{"cmd":"x\\\303\251"}\n{"cmd":"explain","connector":"bay1"}\n' \
    >"$tmp/bad8.in"
"$CTLC" "$tmp/ctl.sock" - <"$tmp/bad8.in" >"$tmp/bad8.out"
[ "$(sed -n 1p "$tmp/bad8.out" | "$JG" ok)" = false ] &&
    sed -n 1p "$tmp/bad8.out" | grep -q "request is not JSON" &&
    [ "$(sed -n 2p "$tmp/bad8.out" | "$JG" result.connector)" = bay1/1 ] &&
    pass "error text made valid UTF-8, the connection still answers" ||
    fail "not UTF-8: $(od -c "$tmp/bad8.out" | head -5)"

# Socket mode and the started line.
[ "$(stat -c %a "$tmp/ctl.sock")" = 660 ] && pass "socket mode 0660" ||
    fail "socket mode $(stat -c %a "$tmp/ctl.sock")"
has "$tmp/d.log" "control $tmp/ctl.sock" && pass "started line names the socket" ||
    fail "started line lacks the socket path"

# A second daemon on the same socket is refused; the first keeps it.
sed 's|ocpp-edge.db|second.db|' "$tmp/edge.conf" >"$tmp/second.conf"
"$EDGED" --stderr --config "$tmp/second.conf" --control "$tmp/ctl.sock" \
    2>"$tmp/second.log" &
p2=$!
extra_pids=$p2
wait "$p2"
rc=$?
extra_pids=
[ "$rc" -eq 1 ] && has "$tmp/second.log" "is in use by another process" &&
    ctl_ok && pass "live socket refused to a second daemon" ||
    fail "second daemon: exit $rc, $(tail -1 "$tmp/second.log")"

# A --control path that is a regular file is never replaced.
echo "keep me" >"$tmp/afile"
"$EDGED" --stderr --config "$tmp/second.conf" --control "$tmp/afile" \
    2>"$tmp/afile.log" &
p3=$!
extra_pids=$p3
wait "$p3"
rc=$?
extra_pids=
[ "$rc" -eq 1 ] && [ "$(cat "$tmp/afile")" = "keep me" ] &&
    has "$tmp/afile.log" "exists and is not a socket" &&
    pass "a regular file at the socket path is left alone" ||
    fail "regular file at the socket path: exit $rc, $(tail -1 "$tmp/afile.log")"

# Killed hard, the daemon leaves its socket behind; the next start
# replaces it.
kill -KILL "$d_pid"
wait "$d_pid" 2>/dev/null
d_pid=
[ -S "$tmp/ctl.sock" ] || fail "no stale socket left (test assumption)"
start_daemon "$tmp/edge.conf"
pass "stale socket replaced"
stop_daemon
[ -e "$tmp/ctl.sock" ] && fail "socket left after a clean stop" ||
    pass "socket removed at stop"
finish
