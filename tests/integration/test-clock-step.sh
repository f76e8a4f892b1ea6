#!/bin/sh
# The clock, OCPP 1.6 and 2.0.1: the real daemon, the real simulator and
# the strict test CSMS.  With csms.use-csms-time = "yes" the CSMS's
# currentTime is the gateway's wall time, kept as an offset to the system
# clock (which is never set, so no root is needed).  A daily recurring
# site cap runs; the CSMS's clock steps +1 h, then back (-1 h): the cap in
# force follows each step at once, the period boundary jumped over does
# not fire, the next boundary of the new time fires when it is due (not
# on the old timer), and each step is reported as a SecurityEventNotification
# SettingSystemTime.  Timers follow the monotonic clock: no Heartbeat
# beyond the ones asked for.  Skipped (77) without node / npm.
set -u
name=test-clock-step
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
    { echo "node / npm not found: skipped"; exit 77; }
. "${top_srcdir:-.}/tests/integration/lib.sh"
. "$S/tests/integration/csms.sh"
csms_identity=clock-site

bays_site "$tmp/site.json" clock-site 0 200
start_sim "$tmp/site.json"
cp "$tmp/edge.conf" "$tmp/base.conf"

iso_at() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

# The site caps of the recurring profile and what each car gets under
# them (DLB, three cars, 100 W steps).
A=21000 B=15000 C=18000 D=13500 E=21000

# recurring VERSION START: the daily recurring site cap, its day begun at
# epoch second START: A, then B at +1815 s, E at +1835 s, C at +5400 s
# (one hour after +1800) and D at +5425 s.
recurring() {
	periods="[{\"startPeriod\":0,\"limit\":$A},{\"startPeriod\":1815,\"limit\":$B},{\"startPeriod\":1835,\"limit\":$E},{\"startPeriod\":5400,\"limit\":$C},{\"startPeriod\":5425,\"limit\":$D}]"
	if [ "$1" = 1.6 ]; then
		echo "{\"connectorId\":0,\"csChargingProfiles\":{\"chargingProfileId\":9,\"stackLevel\":0,\"chargingProfilePurpose\":\"ChargePointMaxProfile\",\"chargingProfileKind\":\"Recurring\",\"recurrencyKind\":\"Daily\",\"chargingSchedule\":{\"startSchedule\":\"$(iso_at "$2")\",\"chargingRateUnit\":\"W\",\"chargingSchedulePeriod\":$periods}}}"
	else
		echo "{\"evseId\":0,\"chargingProfile\":{\"id\":9,\"stackLevel\":0,\"chargingProfilePurpose\":\"ChargingStationMaxProfile\",\"chargingProfileKind\":\"Recurring\",\"recurrencyKind\":\"Daily\",\"chargingSchedule\":[{\"id\":9,\"startSchedule\":\"$(iso_at "$2")\",\"chargingRateUnit\":\"W\",\"chargingSchedulePeriod\":$periods}]}}"
	fi
}

each() { echo "$(($1 / 300 * 100)) $(($1 / 300 * 100)) $(($1 / 300 * 100))"; }
# until_s EPOCH: seconds from now to EPOCH (negative once past).
until_s() { echo $(($1 - $(date +%s))); }

# step_to OFFSET_S: the CSMS's clock OFFSET_S from the system's; a
# triggered Heartbeat carries it to the gateway.
step_to() {
	csms "{\"cmd\":\"set\",\"clockOffsetMs\":$(($1 * 1000))}"
	call TriggerMessage '{"requestedMessage":"Heartbeat"}' |
	    grep -q '"status":"Accepted"' || fail "$v: Heartbeat not triggered"
}
events() {
	grep '"event":"call"' "$tmp/csms.log" |
	    grep '"action":"SecurityEventNotification"' | grep -c '"type":"SettingSystemTime"'
}
events_are() { [ "$(events)" = "$1" ]; }

run_version() {
	v=$1
	start_csms
	csms_conf "$v"
	conf_set "csms {" 'use-csms-time = "yes"'
	start_daemon "$tmp/edge.conf"
	connected() { [ "$(st cloud.state)" = connected ]; }
	wait_for 10 connected && pass "$v: connected" ||
	    fail "$v: cloud $(st cloud.state)"
	wait_for 10 is_limits "13300 13300 13300" || fail "$v: start $(limits)"

	# The profile's day began 30 min ago: A now, B in 15 s.
	t0=$(date +%s)
	call SetChargingProfile "$(recurring "$v" $((t0 - 1800)))" |
	    grep -q '"status":"Accepted"' || fail "$v: recurring profile refused"
	wait_for 3 is_limits "$(each $A)" && pass "$v: recurring cap $A W: $(each $A)" ||
	    fail "$v: recurring cap: $(limits)"

	# +1 h: the gateway is in the period begun at t0 + 1 h (C) at once.
	step_to 3600
	wait_for 3 is_limits "$(each $C)" && pass "$v: clock +1 h: cap $C W at once" ||
	    fail "$v: after +1 h: $(limits)"
	wait_for 3 events_are 1 && pass "$v: SettingSystemTime reported" ||
	    fail "$v: $(events) SettingSystemTime events"
	grep -Eq 'wall time moved by \+3(5[89][0-9]|60[0-9])\.' "$tmp/d.log" ||
	    fail "$v: the step is not logged"
	# B's boundary (t0 + 15 s by the system clock) was jumped over: it
	# never fires; D comes at t0 + 1 h + 25 s of the new time.
	while [ "$(until_s $((t0 + 23)))" -gt 0 ]; do
		is_limits "$(each $C)" || {
			fail "$v: $(limits)before D's boundary (+$(until_s $t0 | tr -d -) s)"
			break
		}
		sleep 0.5
	done
	wait_for 5 is_limits "$(each $D)" &&
	    pass "$v: next period of the new time: $D W at +$((-$(until_s $t0))) s (due +25 s)" ||
	    fail "$v: D: $(limits)"
	[ $((-$(until_s $t0))) -le 27 ] || fail "$v: D applied late"

	# -1 h, back to the system clock's time: B (begun t0 + 15 s) at
	# once; E at t0 + 35 s.
	step_to 0
	wait_for 3 is_limits "$(each $B)" && pass "$v: clock -1 h: cap $B W at once" ||
	    fail "$v: after -1 h: $(limits)"
	wait_for 3 events_are 2 && pass "$v: SettingSystemTime reported again" ||
	    fail "$v: $(events) SettingSystemTime events"
	while [ "$(until_s $((t0 + 33)))" -gt 0 ]; do
		is_limits "$(each $B)" || {
			fail "$v: $(limits)before E's boundary (+$(until_s $t0 | tr -d -) s)"
			break
		}
		sleep 0.5
	done
	wait_for 5 is_limits "$(each $E)" &&
	    pass "$v: E $E W at +$((-$(until_s $t0))) s (due +35 s)" ||
	    fail "$v: E: $(limits)"
	[ $((-$(until_s $t0))) -le 37 ] || fail "$v: E applied late"

	# Only the two Heartbeats asked for: the steps moved no timer.
	hb=$(grep '"event":"call"' "$tmp/csms.log" | grep -c '"action":"Heartbeat"')
	[ "$hb" = 2 ] && pass "$v: 2 Heartbeats, as asked" || fail "$v: $hb Heartbeats"
	no_violations "$v"
	stop_daemon
	stop_csms
}

for v in ${CLOCK_VERSIONS:-1.6 2.0.1}; do
	run_version "$v"
done
finish
