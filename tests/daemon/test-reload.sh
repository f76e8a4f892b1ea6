#!/bin/sh
# ocpp-edgectl reload and SIGHUP against a running daemon on the
# simulator: a new available power applies at once, a changed charger is
# applied by building the site again live (the unchanged chargers keep
# their Modbus links), a changed csms section is reported as needing a
# restart, an invalid file is refused with
# file:line while the running configuration stays, and SIGHUP reloads;
# log.level applies live unless --log-level was given.
set -u
name=test-reload
. "${top_srcdir:-.}/tests/http/lib.sh"
CTL="$B/ocpp-edgectl"

start_bays ""
cp "$tmp/edge.conf" "$tmp/orig.conf"

sp_is() { [ "$(st chargers.0.connectors.0.setpoint_w)" = "$1" ]; }
wait_for 10 sp_is 10600 || fail "no first split"

# 40 -> 30 kW: 30000 x 0.85 - 2000 = 23500 / 3 -> 7800 W each.
grep -q 'available-power-kw = 40$' "$tmp/edge.conf" || fail "no available power line"
sed -i 's|^\tavailable-power-kw = 40$|\tavailable-power-kw = 30|' "$tmp/edge.conf"
sed -i '0,/^\tmax-power-kw = 22$/s//\tmax-power-kw = 11/' "$tmp/edge.conf"
sed -i 's|^csms {$|&\n\tping-interval-s = 17|' "$tmp/edge.conf"
grep -q '^	ping-interval-s = 17$' "$tmp/edge.conf" || fail "no csms section"
a1=$(sim_get bay1 accepted)
a2=$(sim_get bay2 accepted)
a3=$(sim_get bay3 accepted)
builds() { grep -c 'ocpp-edged info: site built again' "$tmp/d.log"; }
b0=$(builds)
"$CTL" -s "$tmp/ctl.sock" reload >"$tmp/out" || fail "reload: exit $?"
grep -q '^Applied: site.available-power-kw: 40 -> 30$' "$tmp/out" &&
    pass "reload applies the available power" || fail "reload: $(cat "$tmp/out")"
grep -q '^Applied: charger "bay1": the site built again live$' "$tmp/out" &&
    ! grep -q 'Needs a restart: charger' "$tmp/out" &&
    [ "$(builds)" -gt "$b0" ] &&
    has "$tmp/d.log" 'info: reload: charger "bay1" changed' &&
    pass "a changed charger applies live" || fail "reload: $(cat "$tmp/out")"
grep -q '^Needs a restart: csms$' "$tmp/out" &&
    pass "a changed csms section needs a restart" ||
    fail "reload: $(cat "$tmp/out")"
wait_for 10 sp_is 7800 && pass "setpoints follow: 7800 W" ||
    fail "after reload: $(st chargers.0.connectors.0.setpoint_w) W"
# bay1's section changed: its link is new; bay2 and bay3 keep theirs.
relinked() { [ "$(sim_get bay1 accepted)" -gt "$a1" ]; }
wait_for 10 relinked && pass "bay1 has a new link after its change" ||
    fail "bay1: no new link after its change ($a1 accepted before)"
[ "$(sim_get bay2 accepted) $(sim_get bay3 accepted)" = "$a2 $a3" ] &&
    pass "unchanged chargers keep their links" ||
    fail "links: bay2 $a2 -> $(sim_get bay2 accepted), bay3 $a3 -> $(sim_get bay3 accepted)"
[ "$(st chargers.1.online)" = true ] && pass "bay2 online through the rebuild" ||
    fail "bay2 offline after the rebuild"

# An invalid file: refused with file:line, nothing changes.
echo 'bogus = 1' >>"$tmp/edge.conf"
line=$(wc -l <"$tmp/edge.conf")
"$CTL" -s "$tmp/ctl.sock" reload >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "edge.conf:$line: option 'bogus'" "$tmp/err" &&
    grep -q "the running configuration stays" "$tmp/err" &&
    pass "an invalid file is refused at line $line" || fail "invalid: $(cat "$tmp/err")"
[ "$(st settings.available_power_w)" = 30000 ] && sp_is 7800 &&
    pass "the running configuration stays" || fail "changed by an invalid file"

# SIGHUP: the original file again.
cp "$tmp/orig.conf" "$tmp/edge.conf"
kill -HUP "$d_pid"
wait_for 10 sp_is 10600 && pass "SIGHUP: back to 40 kW, 10600 W" ||
    fail "SIGHUP: $(st chargers.0.connectors.0.setpoint_w) W"
has "$tmp/d.log" "reload: site.available-power-kw: 30 -> 40" &&
    pass "SIGHUP logged what it applied" || fail "no SIGHUP line"
kill -0 "$d_pid" && pass "alive after SIGHUP" || fail "SIGHUP killed the daemon"

# The log level applies live: debug lines (every subsystem's, no --debug
# given) from the reload on, none before; back to info, none after.
grep -q ' debug \[' "$tmp/d.log" && fail "debug lines at level info"
printf 'log {\n\tlevel = "debug"\n}\n' >>"$tmp/edge.conf"
"$CTL" -s "$tmp/ctl.sock" reload >"$tmp/out" || fail "reload: exit $?"
grep -q '^Applied: log.level: info -> debug$' "$tmp/out" &&
    has "$tmp/d.log" "info: reload: log.level: info -> debug" &&
    pass "reload applies log.level debug, and says so" ||
    fail "log level reload: $(cat "$tmp/out")"
wait_for 10 grep -q ' debug \[bal\]: run ' "$tmp/d.log" &&
    pass "debug lines follow ($(grep -c ' debug \[' "$tmp/d.log") so far)" ||
    fail "no debug lines after the reload"
cp "$tmp/orig.conf" "$tmp/edge.conf"
kill -HUP "$d_pid"
wait_for 10 has "$tmp/d.log" "info: reload: log.level: debug -> info" ||
    fail "SIGHUP: no log.level line"
sim "household 5000" >/dev/null
wait_for 10 sh -c "sed -n '/log.level: debug -> info/,\$p' '$tmp/d.log' | grep -q 'setpoint'" ||
    fail "no setpoint line after the step"
n=$(sed -n '/log.level: debug -> info/,$p' "$tmp/d.log" | grep -c ' debug \[')
[ "$n" -eq 0 ] && pass "back to info on SIGHUP: no debug line since" ||
    fail "$n debug line(s) after the level went back to info"
stop_daemon

# A level set on the command line stays whatever the file says.
n0=$(wc -l <"$tmp/d.log")
start_daemon "$tmp/edge.conf" --log-level warning
printf 'log {\n\tlevel = "debug"\n}\n' >>"$tmp/edge.conf"
"$CTL" -s "$tmp/ctl.sock" reload >"$tmp/out" || fail "reload: exit $?"
grep -q 'log.level' "$tmp/out" && fail "--log-level overridden: $(cat "$tmp/out")"
sim "household 2000" >/dev/null
wait_for 10 sp_is 10600 || fail "no split back"
n=$(tail -n +$((n0 + 1)) "$tmp/d.log" | grep -c ' debug \[\| info: ')
[ "$n" -eq 0 ] && pass "--log-level warning stays over the file's debug" ||
    fail "$n info or debug line(s) with --log-level warning"
stop_daemon

[ "$failures" -eq 0 ] || exit 1
exit 0
