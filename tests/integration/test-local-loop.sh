#!/bin/sh
# The local control loop, no backend: the real daemon and the real
# simulator on loopback.  ALM: a household step lowers the limits within
# two meter polls and the site gets back under its allocable power; a
# silent meter pauses every car within max-age + one cycle and the mode
# resumes when it answers again; a charger that stops answering gets its
# offline reserve; a restart writes the same setpoints; the offline-site
# cap applies after its delay.
set -u
name=test-local-loop
. "${top_srcdir:-.}/tests/integration/lib.sh"

# Three 22 kW wallboxes with cars that follow a new limit after 200 ms;
# household 2000 W.
bays_site "$tmp/site.json" alm-site 2000 200 meter
start_sim "$tmp/site.json"
# No backend; ALM, reserve 10 %, pause all on a meter fault, meter stale
# after 2 s.
sed -i 's|^\turl = .*|\turl = ""|' "$tmp/edge.conf"
conf_set "balancer {" 'offline-meter-power-kw = 0'
conf_set "meter {" 'max-age-s = 2'
start_daemon "$tmp/edge.conf"

# all_limits W: every car's limit register is W.
all_limits() { [ "$(limits)" = "$1 $1 $1 " ]; }

# Allocable = 40000 x (1 - 5 % - 10 %) = 34000 W; household 2000 W:
# 32000 / 3 = 10666 -> 10600 W each.
wait_for 10 all_limits 10600 && pass "ALM split: 10600 W each" ||
    fail "ALM split: $(limits)"
[ "$(st cloud.state site_cap.source | tr '\n' ' ')" = "disabled config " ] &&
    pass "cloud disabled, cap from the configuration" ||
    fail "cloud/cap: $(st cloud.state site_cap.source | tr '\n' ' ')"

# Household +10 kW: 34000 - 12000 = 22000 / 3 = 7333 -> 7300 W, written
# within two meter polls (2 s; checked at 2.5 s for the write and read).
sim "household 12000" >/dev/null
t0=$(date +%s%N)
wait_for 3 all_limits 7300 && {
	t1=$(date +%s%N)
	pass "household step: 7300 W each after $(((t1 - t0) / 1000000)) ms"
	[ $(((t1 - t0) / 1000000)) -le 2500 ] ||
	    fail "household step took more than two polls"
} || fail "household step: $(limits)"
# Once the cars followed: 12000 + 3 x 7300 = 33900 <= 34000.
under_cap() {
	t=$(sim "get meter" | "$JG" total_w)
	[ "$t" -le 34000 ] && [ "$t" -ge 33000 ]
}
wait_for 3 under_cap && pass "meter total $(sim "get meter" | "$JG" total_w) W <= 34000 W" ||
    fail "meter total $(sim "get meter" | "$JG" total_w) W"

# The meter goes silent: stale after 2 s, every car paused (0 W) within
# a cycle more.
sim "meter silence on" >/dev/null
wait_for 5 all_limits 0 && pass "meter silent: all paused" ||
    fail "meter silent: $(limits)"
[ "$(st meter.healthy chargers.0.connectors.0.reason | tr '\n' ' ')" = "false paused-meter-fault " ] &&
    pass "status: meter unhealthy, paused-meter-fault" ||
    fail "status: $(st meter.healthy chargers.0.connectors.0.reason | tr '\n' ' ')"
has "$tmp/d.log" "meter: fault" && pass "meter fault logged" || fail "no meter fault line"
# Back: the mode resumes by itself (after the balancer's restart hold).
sim "meter silence off" >/dev/null
wait_for 20 all_limits 7300 && pass "meter back: 7300 W each again" ||
    fail "meter back: $(limits)"

# bay3 stops answering: offline after three failed polls.  Its car keeps
# drawing 7300 W, which the meter now counts as household (12000 + 7300
# = 19300 W), and its reserve in ALM is Pmin (4200 W):
# (34000 - 19300 - 4200) / 2 = 5250 -> 5200 W for the others.
sim "silence bay3 close" >/dev/null
offline3() { [ "$(st chargers.2.online chargers.2.connectors.0.reason | tr '\n' ' ')" = "false offline-reserve " ]; }
wait_for 10 offline3 && pass "bay3 offline: offline-reserve" ||
    fail "bay3: $(st chargers.2.online chargers.2.connectors.0.reason | tr '\n' ' ')"
two52() { [ "$(sim_get bay1 connectors.0.limits.power_w) $(sim_get bay2 connectors.0.limits.power_w)" = "5200 5200" ]; }
# (While bay3 fails its polls but is not yet offline, its stale reading
# can pause a car for the balancer's hold time, 10 s: up to 15 s.)
wait_for 15 two52 && pass "the others share the rest: 5200 W each" ||
    fail "after bay3 offline: $(limits)"
sim "silence bay3 off" >/dev/null
wait_for 20 all_limits 7300 && pass "bay3 back: 7300 W each" ||
    fail "bay3 back: $(limits)"

# Restart: the same setpoints are written again.
before=$(st chargers.0.connectors.0.setpoint_w chargers.1.connectors.0.setpoint_w chargers.2.connectors.0.setpoint_w | tr '\n' ' ')
w0=$(sim_get bay1 writes)
stop_daemon
start_daemon "$tmp/edge.conf"
same() {
	[ "$(st chargers.0.connectors.0.setpoint_w chargers.1.connectors.0.setpoint_w chargers.2.connectors.0.setpoint_w | tr '\n' ' ')" = "$before" ] &&
	    [ "$(sim_get bay1 writes)" -gt "$w0" ] && all_limits 7300
}
wait_for 10 same && pass "restart: the same setpoints ($before) written again" ||
    fail "restart: $(st chargers.0.connectors.0.setpoint_w) vs $before, $(limits)"
stop_daemon

# DLB with an offline-site power of 22 kW after 2 s without a backend
# (the url points at a closed port): first 40000 / 3 = 13333 -> 13300 W,
# then 22000 / 3 = 7333 -> 7300 W.
sim "household 0" >/dev/null
sed -i 's|^\turl = .*|\turl = "ws://127.0.0.1:1/ocpp"|; s|^\tmode = "alm"|\tmode = "dlb"|' \
    "$tmp/edge.conf"
conf_set "balancer {" 'offline-site-power-kw = 22'
conf_set "balancer {" 'offline-site-delay-s = 2'
start_daemon "$tmp/edge.conf"
wait_for 2 all_limits 13300 && pass "DLB before the delay: 13300 W each" ||
    fail "DLB before the delay: $(limits)"
wait_for 5 all_limits 7300 && pass "offline-site cap after the delay: 7300 W each" ||
    fail "offline-site cap: $(limits)"
[ "$(st site_cap.w site_cap.source | tr '\n' ' ')" = "22000 offline-fallback " ] &&
    pass "status: site cap 22000 W, offline-fallback" ||
    fail "status cap: $(st site_cap.w site_cap.source | tr '\n' ' ')"
stop_daemon
finish
