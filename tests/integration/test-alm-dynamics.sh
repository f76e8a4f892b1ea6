#!/bin/sh
# The control loop under real dynamics, no backend: the real daemon and
# the real simulator on loopback, EVs that follow a new limit 1 s later
# and ramp up at 2500 W/s.  ALM with three EVs ramping from 0 on a budget
# of 20.5 kW (three times the minimum fits): no car is ever paused, in
# three rounds of plugging in.  A silent meter pauses every car; once it
# answers again charging resumes within one meter poll + 1 s.
set -u
name=test-alm-dynamics
. "${top_srcdir:-.}/tests/integration/lib.sh"

# household 13500 W: 40000 x 85 % - 13500 = 20500 W, 6833 -> 6800 W each.
bays_site "$tmp/site.json" alm-dyn 13500 1000 meter
start_sim "$tmp/site.json"
sim "ramp 2500" >/dev/null
for c in bay1 bay2 bay3; do sim "unplug $c" >/dev/null; done
sed -i 's|^\turl = .*|\turl = ""|' "$tmp/edge.conf"
conf_set "balancer {" 'offline-meter-power-kw = 0'
conf_set "meter {" 'max-age-s = 2'
start_daemon "$tmp/edge.conf"

all_limits() { [ "$(limits)" = "$1 $1 $1 " ]; }
draws() { for c in bay1 bay2 bay3; do sim_get "$c" connectors.0.power_w; done | tr '\n' ' '; }
# every car draws $1 W (within 50 W)
drawing() {
	draws | awk -v w="$1" 'NF != 3 { exit 1 } { for (i = 1; i <= 3; i++) if ($i < w - 50 || $i > w + 50) exit 1 }'
}
paused_lines() { grep -cE '\((paused-below-min|held-at-min)\)' "$tmp/d.log"; }

# Three rounds: the three cars plug in together and ramp from 0.
for round in 1 2 3; do
	for c in bay1 bay2 bay3; do sim "plug $c 1 evmax=22000" >/dev/null; done
	wait_for 15 drawing 6800 && pass "round $round: three cars ramped to 6800 W" ||
	    fail "round $round: limits $(limits), draws $(draws)"
	for c in bay1 bay2 bay3; do sim "unplug $c" >/dev/null; done
	wait_for 5 all_limits 0 || fail "round $round: unplugged: $(limits)"
done
[ "$(paused_lines)" -eq 0 ] && pass "no car paused or held at its minimum" ||
    fail "pauses: $(grep -E '\((paused-below-min|held-at-min)\)' "$tmp/d.log" | head -5)"

# Meter fault and recovery.
for c in bay1 bay2 bay3; do sim "plug $c 1 evmax=22000" >/dev/null; done
wait_for 15 drawing 6800 || fail "before the fault: $(draws)"
sim "meter silence on" >/dev/null
wait_for 6 all_limits 0 && pass "meter silent: all paused" ||
    fail "meter silent: $(limits)"
# the cars stop, and the daemon has seen it
wait_for 5 drawing 0 || fail "cars still drawing: $(draws)"
sim "meter silence off" >/dev/null
t0=$(date +%s%N)
if wait_for 10 all_limits 6800; then
	ms=$((($(date +%s%N) - t0) / 1000000))
	# one meter poll (1000 ms) + 1 s
	[ "$ms" -le 2000 ] && pass "meter back: 6800 W each after $ms ms" ||
	    fail "meter back: resumed after $ms ms (> 2000 ms)"
else
	fail "meter back: $(limits)"
fi
stop_daemon
finish
