#!/bin/sh
# Every charger model of the manual against the simulator in strict-manual
# mode (each model has only the registers its table lists), with the real
# daemon and no backend:
# - every model comes online, its statuses are mapped, its limits and
#   offline limits are written and read back, and the offline limits add
#   up to no more than the cap in force (the fail-safe);
# - chargers refusing optional registers (2 and 10119 on an Ultra, 0 on a
#   Single) go on without them, log it once and show it in the status;
# - with every device unreachable from the start, each says so, with the
#   cause, within 10 s, and only once while it stays down.
set -u
name=test-devices
. "${top_srcdir:-.}/tests/integration/lib.sh"

cat >"$tmp/site.json" <<'JSON'
{ "site": { "id": "devices", "voltage_v": 230, "available_power_kw": 100,
            "main_breaker_a": 160, "household_w": 0 },
  "follow_delay_ms": 200,
  "meter": { "type": "sdm630", "tcp": true },
  "chargers": [
    { "name": "wb", "model": "autel-ac-wallbox",
      "evs": [ { "connector": 1, "evmax_w": 11000 } ] },
    { "name": "cp", "model": "autel-ac-compact", "phases": 1 },
    { "name": "ul", "model": "autel-ac-ultra", "connectors": 2,
      "evs": [ { "connector": 2, "evmax_w": 7400, "phases": 1,
                 "idtag": "TAG-U2" } ] },
    { "name": "sg", "model": "autel-single",
      "evs": [ { "connector": 1, "evmax_w": 11000, "wait_start": true } ] },
    { "name": "dc", "model": "autel-dc", "connectors": 2,
      "max_power_w": 60000, "max_offline_power_w": 20000,
      "evs": [ { "connector": 1, "evmax_w": 50000, "soc": 40 } ] },
    { "name": "ur", "model": "autel-ac-ultra", "connectors": 1,
      "refuse": [ 2, 10119 ] },
    { "name": "sr", "model": "autel-single", "refuse": [ 0 ] },
    { "name": "sl", "model": "autel-ac-wallbox", "registers": "lenient" } ] }
JSON
start_sim "$tmp/site.json"
sed -i 's|^\turl = .*|\turl = ""|' "$tmp/edge.conf"
sed -i "s|path = \"./ocpp-edge.db\"|path = \"$tmp/edge.db\"|" "$tmp/edge.conf"
# 2 kW offline power per charger, written to every connector's offline
# limit register
sed -i 's|^\tmax-power-kw = \(.*\)|\tmax-power-kw = \1\n\toffline-power-kw = 2|' \
    "$tmp/edge.conf"
# a meter fault pauses every car (the vendor default)
conf_set "balancer {" 'offline-meter-power-kw = 0'
start_daemon "$tmp/edge.conf"

all_online() {
	[ "$(st chargers.0.online chargers.1.online chargers.2.online \
	    chargers.3.online chargers.4.online chargers.5.online \
	    chargers.6.online | tr '\n' ' ')" = \
	    "true true true true true true true " ]
}
wait_for 10 all_online && pass "every model online (DC included)" ||
    fail "online: $(st chargers.0.online chargers.1.online chargers.2.online chargers.3.online chargers.4.online chargers.5.online chargers.6.online | tr '\n' ' ')"

# Statuses: read (Ultra, Single, DC) or derived (Wallbox, Compact).
statuses() {
	st chargers.0.connectors.0.status chargers.1.connectors.0.status \
	    chargers.2.connectors.0.status chargers.2.connectors.1.status \
	    chargers.3.connectors.0.status chargers.4.connectors.0.status \
	    chargers.4.connectors.1.status | tr '\n' ' '
}
want="Charging Available Available Charging Preparing Charging Available "
statuses_ok() { [ "$(statuses)" = "$want" ]; }
wait_for 10 statuses_ok && pass "statuses: $want" ||
    fail "statuses: $(statuses), want $want"

# Each connector's setpoint lands in its limit register and is read back.
lim() { sim_get "$1" "connectors.$2.limits.power_w"; }
setp() { st "chargers.$1.connectors.$2.setpoint_w"; }
written() {
	[ "$(lim wb 0)" = "$(setp 0 0)" ] && [ "$(lim cp 0)" = "$(setp 1 0)" ] &&
	    [ "$(lim ul 1)" = "$(setp 2 1)" ] && [ "$(lim sg 0)" = "$(setp 3 0)" ] &&
	    [ "$(lim dc 0)" = "$(setp 4 0)" ] && [ "$(lim dc 1)" = "$(setp 4 1)" ] &&
	    [ "$(lim sr 0)" = "$(setp 6 0)" ] && [ "$(setp 0 0)" -gt 0 ] &&
	    [ "$(setp 4 0)" -gt 0 ]
}
wait_for 10 written && pass "setpoints written: wb $(lim wb 0) W, dc/1 $(lim dc 0) W, sr $(lim sr 0) W" ||
    fail "setpoints: sim $(lim wb 0) $(lim cp 0) $(lim ul 1) $(lim sg 0) $(lim dc 0) $(lim dc 1) $(lim sr 0), daemon $(setp 0 0) $(setp 1 0) $(setp 2 1) $(setp 3 0) $(setp 4 0) $(setp 4 1) $(setp 6 0)"

# Offline limits: 2000 W per charger, shared by its connectors, in every
# model's offline register (DC: 1800+x), and their sum within the cap.
off() { sim_get "$1" "connectors.$2.limits.offline_power_w"; }
offline_ok() {
	sum=0
	for cc in "wb 0" "cp 0" "ul 0" "ul 1" "sg 0" "dc 0" "dc 1" "ur 0" "sr 0"; do
		set -- $cc
		v=$(off "$1" "$2")
		[ "$v" -le 2000 ] || return 1
		sum=$((sum + v))
	done
	[ "$(off wb 0)" -gt 0 ] && [ "$(off dc 0)" -gt 0 ] &&
	    [ "$sum" -le "$(st site_cap.w)" ]
}
wait_for 10 offline_ok && pass "offline limits written: wb $(off wb 0) W, dc/1 $(off dc 0) W, within the cap" ||
    fail "offline limits: $(off wb 0) $(off cp 0) $(off ul 0) $(off ul 1) $(off sg 0) $(off dc 0) $(off dc 1) $(off ur 0) $(off sr 0)"
# Register 0 where the model lists it; the DC has none and was not asked.
[ "$(sim_get ul control_mode)" = 0 ] && [ "$(sim_get ul comm_timeout_s)" -gt 0 ] &&
    [ "$(sim_get wb comm_timeout_s)" = 0 ] &&
    pass "register 2 written to the Ultra, not to the Wallbox" ||
    fail "registers 0/2: ul $(sim_get ul control_mode) $(sim_get ul comm_timeout_s), wb $(sim_get wb comm_timeout_s)"

# Refused optional registers: once in the log, shown in the status.
has "$tmp/d.log" "ur: register 2 (comm-timeout) not supported (exception 02): the charger relies on the offline limits" &&
    has "$tmp/d.log" "ur: register 10119 (max-power) not supported (exception 02)" &&
    has "$tmp/d.log" "sr: register 0 (control-mode) not supported (exception 02): limits written in W" &&
    has "$tmp/d.log" "dc: register 0 not in the manual's table for autel-dc: limits written in W" &&
    has "$tmp/d.log" "wb: register 2 not in the manual's table for autel-ac-wallbox" &&
    pass "missing registers logged" || fail "missing registers not logged"
[ "$(grep -c 'ur: register 2 ' "$tmp/d.log")" = 1 ] &&
    pass "logged once" || fail "ur register 2 logged $(grep -c 'ur: register 2 ' "$tmp/d.log") times"
[ "$(st chargers.5.unsupported)" = "10119 max-power, 2 comm-timeout" ] &&
    [ "$(st chargers.6.unsupported)" = "0 control-mode" ] &&
    pass "status: ur lacks $(st chargers.5.unsupported)" ||
    fail "status unsupported: $(st chargers.5.unsupported) / $(st chargers.6.unsupported)"

# Absurd and NaN readings are a fault of that device, never numbers the
# balancer uses.  The meter reads 1e9 W (the main breaker carries
# 160 A x 230 V x 3 = 110 kW): meter fault, every car paused.
sim "meter garble 1e9" >/dev/null
all_paused() {
	[ "$(st meter.healthy)" = false ] &&
	    [ "$(lim wb 0) $(lim ul 1) $(lim dc 0)" = "0 0 0" ]
}
wait_for 10 all_paused && pass "meter at 1e9 W: a meter fault, every car paused" ||
    fail "meter at 1e9 W: healthy $(st meter.healthy), limits $(lim wb 0) $(lim ul 1) $(lim dc 0)"
[ "$(st meter.total_w)" != 1000000000 ] && pass "1e9 W never shown" ||
    fail "status shows the absurd reading"
has "$tmp/d.log" "meter: implausible reading, not used: total power 1e+09 W out of range" &&
    pass "logged with the range" || fail "no implausible-reading line for the meter"
sim "meter garble off" >/dev/null
healthy() { [ "$(st meter.healthy)" = true ]; }
wait_for 10 healthy && pass "meter healthy again" || fail "meter still unhealthy"
sim "meter garble nan" >/dev/null
nan_told() { has "$tmp/d.log" "meter: implausible reading, not used: m.total-power is not a number"; }
wait_for 10 nan_told && wait_for 10 all_paused &&
    pass "meter at NaN: a fault, every car paused" || fail "meter at NaN"
[ "$(grep -c 'meter: implausible' "$tmp/d.log")" = 2 ] &&
    pass "one line per episode" ||
    fail "$(grep -c 'meter: implausible' "$tmp/d.log") implausible-reading lines for two episodes"
sim "meter garble off" >/dev/null
wait_for 10 healthy || fail "meter not healthy after NaN"
# A DC charger reporting 4e9 W (60 kW maximum): its fault; offline after
# three such polls, so it gets its offline reserve, and 4e9 W is never
# shown nor used.
sim "garble dc 4e9" >/dev/null
dc_out() { [ "$(st chargers.4.online)" = false ]; }
wait_for 10 dc_out && pass "DC at 4e9 W: taken offline" ||
    fail "DC at 4e9 W: online $(st chargers.4.online)"
has "$tmp/d.log" "dc: implausible reading, not used: charger power 4e+09 W out of range 0..72000" &&
    pass "DC fault logged with its range" || fail "no implausible-reading line for dc"
[ "$(st chargers.4.connectors.0.power_w)" != 4000000000 ] &&
    pass "4e9 W never shown" || fail "status shows 4e9 W"
sim "garble dc off" >/dev/null
dc_back() { [ "$(st chargers.4.online)" = true ]; }
wait_for 20 dc_back && pass "DC back" || fail "DC not back"
# ocpp-edgectl read by the charger's configured name (its address and
# unit id from the running daemon)
"$B/ocpp-edgectl" -s "$tmp/ctl.sock" read dc 10100 16 >"$tmp/read.out" 2>&1 &&
    grep -q '^# text: "SIMdc' "$tmp/read.out" &&
    pass "read by name: the DC's serial number at 10100" ||
    fail "read dc: $(cat "$tmp/read.out")"
stop_daemon

# ocpp-edgectl read: any register as the device answers it, read only.
port_of() { sed -n "/^charger \"$1\"/,/^}/s/^\tport = //p" "$tmp/edge.conf"; }
w0=$(sim_get dc writes)
"$B/ocpp-edgectl" read "127.0.0.1:$(port_of dc)" 10100 16 >"$tmp/read.out" 2>&1 &&
    grep -q '^# text: "SIMdc' "$tmp/read.out" &&
    grep -q "^10100	0x5349	21321$" "$tmp/read.out" &&
    pass "read: the DC's serial number at 10100" ||
    fail "read 10100: $(cat "$tmp/read.out")"
"$B/ocpp-edgectl" read "127.0.0.1:$(port_of dc)" 0 >"$tmp/read.out" 2>&1
rc=$?
[ "$rc" = 1 ] && grep -q "Illegal data address" "$tmp/read.out" &&
    pass "read: the DC has no register 0 (exception 02)" ||
    fail "read 0: exit $rc, $(cat "$tmp/read.out")"
[ "$(sim_get dc writes)" = "$w0" ] && pass "read never writes" ||
    fail "writes $w0 -> $(sim_get dc writes)"
# ocpp-edgectl slave-id: 3 then 4, where the device has them (§5.5; only
# a lenient charger: no table of §5.6 lists them).
"$B/ocpp-edgectl" slave-id "127.0.0.1:$(port_of sl)" 7 >"$tmp/sid.out" 2>&1 &&
    [ "$(sim_get sl unit_id)" = 7 ] &&
    pass "slave-id: $(cat "$tmp/sid.out")" ||
    fail "slave-id: $(cat "$tmp/sid.out"), unit $(sim_get sl unit_id)"
"$B/ocpp-edgectl" slave-id "127.0.0.1:$(port_of wb)" 7 >"$tmp/sid.out" 2>&1
rc=$?
[ "$rc" = 1 ] && grep -q "register 3 (slave id): Illegal data address" "$tmp/sid.out" &&
    [ "$(sim_get wb unit_id)" = 1 ] &&
    pass "slave-id on a strict Wallbox: refused (exception 02)" ||
    fail "slave-id on wb: exit $rc, $(cat "$tmp/sid.out")"

# Nothing reachable: the simulator is gone (its ports are closed), a
# dial-in charger never dials.  Each device says so within 10 s.
kill -TERM "$sim_pid"
wait "$sim_pid"
sim_pid=
cat >>"$tmp/edge.conf" <<'CONF'
charger "dl" {
	model = "autel-ac-wallbox"
	link = "tcp-listen"
	serial = "NEVER-1"
	connectors = 1
	max-power-kw = 11
	circuit = "main"
}
CONF
sed -i 's|^\tlisten = .*|\tlisten = "127.0.0.1:0"|' "$tmp/edge.conf"
: >"$tmp/d.log"
start_daemon "$tmp/edge.conf"
mport=$(sed -n '/^meter {/,/^}/s/^\tport = //p' "$tmp/edge.conf")
told() {
	for c in wb cp ul sg dc ur sr; do
		has "$tmp/d.log" "$c: not reached yet: connect to 127.0.0.1:$(port_of $c): Connection refused (retrying every" || return 1
	done
	has "$tmp/d.log" "meter: not reached yet: connect to 127.0.0.1:$mport: Connection refused" &&
	    has "$tmp/d.log" "dl: not reached yet: no charger with serial number \"NEVER-1\" has dialled in"
}
wait_for 10 told && pass "every device unreachable from the start says why within 10 s" ||
    fail "missing 'not reached yet' lines"
# Still down a few polls later: no line per attempt.
sleep 3
[ "$(grep -c 'wb: not reached' "$tmp/d.log")" = 1 ] &&
    [ "$(grep -c 'meter: not reached' "$tmp/d.log")" = 1 ] &&
    pass "said once, not per attempt" ||
    fail "repeated: $(grep -c 'wb: not reached' "$tmp/d.log") / $(grep -c 'meter: not reached' "$tmp/d.log")"
stop_daemon
finish
