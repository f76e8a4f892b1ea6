#!/bin/sh
# A DC charger's energy register (built from its session counter 1500+x,
# which the manual gives in kWh/100) is kept across daemon restarts: after
# one finished session and part of a second, a restart starts from the
# total of both, not from the running session alone, and the total never
# goes back (the real daemon and the simulator on loopback, no backend).
set -u
name=test-dc-energy
. "${top_srcdir:-.}/tests/integration/lib.sh"

cat >"$tmp/site.json" <<'JSON'
{ "site": { "id": "dcenergy", "voltage_v": 230, "available_power_kw": 100,
            "main_breaker_a": 200, "household_w": 0 },
  "follow_delay_ms": 0,
  "chargers": [
    { "name": "dc", "model": "autel-dc", "connectors": 1,
      "max_power_w": 60000, "max_offline_power_w": 20000,
      "evs": [ { "connector": 1, "evmax_w": 60000, "soc": 10,
                 "battery_kwh": 100 } ] } ] }
JSON
start_sim "$tmp/site.json"
sed -i 's|^\turl = .*|\turl = ""|' "$tmp/edge.conf"
sed -i "s|path = \"[^\"]*\"|path = \"$tmp/edge.db\"|" "$tmp/edge.conf"
printf 'http {\n\tlisten = ""\n}\n' >>"$tmp/edge.conf"
start_daemon "$tmp/edge.conf"

# energy: the daemon's energy register of dc/1, whole Wh.
energy() { st chargers.0.connectors.0.energy_wh | sed 's/\..*//'; }
above() { e=$(energy); [ -n "$e" ] && [ "$e" != null ] && [ "$e" -gt "$1" ]; }
session() { sim_get dc connectors.0.session_wh | sed 's/\..*//'; }

# a first session of at least 100 Wh, then a new car
wait_for 20 above 100 || fail "no energy counted: $(energy)"
sim "unplug dc 1" >/dev/null
e1=$(energy)
available() { [ "$(st chargers.0.connectors.0.status)" = Available ]; }
wait_for 10 available ||
    fail "not Available after unplugging"
sim "plug dc 1 evmax=60000 soc=10 battery=100" >/dev/null
wait_for 20 above $((e1 + 100)) || fail "second session: $(energy) <= $e1 + 100"
stop_daemon
e2=$(sim_get dc connectors.0.session_wh | sed 's/\..*//')
pass "before the restart: first session $e1 Wh, second at $e2 Wh"

# the daemon again: the register goes on from both sessions
start_daemon "$tmp/edge.conf"
wait_for 10 above 0 || fail "no energy after the restart"
after=$(energy)
s2=$(session)
[ "$after" -ge $((e1 + e2)) ] &&
    pass "after the restart: $after Wh >= $e1 + $e2 Wh" ||
    fail "after the restart: $after Wh < $e1 + $e2 Wh (session now $s2 Wh)"
[ "$after" -gt "$s2" ] ||
    fail "after the restart the register is the session alone: $after Wh"
stop_daemon

[ "$failures" -eq 0 ] || exit 1
exit 0
