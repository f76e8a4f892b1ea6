#!/bin/sh
# A profile answered Accepted survives a kill -9 of the daemon at once
# after the answer, OCPP 1.6 and 2.0.1: the real daemon, the real
# simulator and the strict test CSMS.  The store commits a profile before
# the answer goes out (synchronous=NORMAL: in the WAL file, not yet
# synced; its sync thread makes it power-cut durable right after, see
# docs/store.md), so a crash of the process keeps it.  Per version: a
# 22 kW site cap and a 6 kW default on connector 1 are sent, the daemon
# is killed with SIGKILL as soon as the second is answered, started
# again: both are applied (6000 W on connector 1, (22000 - 6000) / 2 =
# 8000 W for the others, the site cap from profile 1).  Then a
# ClearChargingProfile of the default, answered and killed the same way,
# is not undone: 7300 W each.  Skipped (77) without node / npm.
set -u
name=test-profile-kill9
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
    { echo "node / npm not found: skipped"; exit 77; }
. "${top_srcdir:-.}/tests/integration/lib.sh"
. "$S/tests/integration/csms.sh"
csms_identity=kill9-site

bays_site "$tmp/site.json" kill9-site 0 200
start_sim "$tmp/site.json"
cp "$tmp/edge.conf" "$tmp/base.conf"

# profile VERSION ID CONNECTOR PURPOSE LIMIT_W: a SetChargingProfile
# payload, Absolute from a minute ago, one period.
profile() {
	start=$(date -u -d '-1 min' +%Y-%m-%dT%H:%M:%SZ)
	if [ "$1" = 1.6 ]; then
		printf '{"connectorId":%s,"csChargingProfiles":{"chargingProfileId":%s,"stackLevel":0,"chargingProfilePurpose":"%s","chargingProfileKind":"Absolute","chargingSchedule":{"startSchedule":"%s","chargingRateUnit":"W","chargingSchedulePeriod":[{"startPeriod":0,"limit":%s}]}}}' \
		    "$3" "$2" "$4" "$start" "$5"
	else
		printf '{"evseId":%s,"chargingProfile":{"id":%s,"stackLevel":0,"chargingProfilePurpose":"%s","chargingProfileKind":"Absolute","chargingSchedule":[{"id":%s,"startSchedule":"%s","chargingRateUnit":"W","chargingSchedulePeriod":[{"startPeriod":0,"limit":%s}]}]}}' \
		    "$3" "$2" "$4" "$2" "$start" "$5"
	fi
}

# kill9: SIGKILL to the daemon, reaped.
kill9() {
	kill -KILL "$d_pid"
	wait "$d_pid" 2>/dev/null
	d_pid=
}

connected() { [ "$(st cloud.state)" = connected ]; }

for v in ${KILL9_VERSIONS:-1.6 2.0.1}; do
	if [ "$v" = 1.6 ]; then
		max=ChargePointMaxProfile
		clear2='{"id":2}'
	else
		max=ChargingStationMaxProfile
		clear2='{"chargingProfileId":2}'
	fi
	start_csms
	csms_conf "$v"
	start_daemon "$tmp/edge.conf"
	wait_for 10 connected || fail "$v: cloud $(st cloud.state)"
	# DLB 40 kW, three cars: 13300 W each.
	wait_for 5 is_limits "13300 13300 13300" ||
	    fail "$v: start $(limits)"

	call SetChargingProfile "$(profile "$v" 1 0 "$max" 22000)" |
	    grep -q '"status":"Accepted"' || fail "$v: site cap refused"
	call SetChargingProfile "$(profile "$v" 2 1 TxDefaultProfile 6000)" |
	    grep -q '"status":"Accepted"' || fail "$v: 6 kW default refused"
	kill9
	start_daemon "$tmp/edge.conf"
	wait_for 10 connected || fail "$v: not connected after kill -9"
	wait_for 5 is_limits "6000 8000 8000" &&
	    pass "$v: both profiles applied after kill -9: 6000 8000 8000 W" ||
	    fail "$v: after kill -9: $(limits)"
	[ "$(st site_cap.w site_cap.source site_cap.profile_id | tr '\n' ' ')" = "22000 profile 1 " ] &&
	    pass "$v: status: site cap 22000 W from profile 1" ||
	    fail "$v: status cap $(st site_cap.w site_cap.source site_cap.profile_id | tr '\n' ' ')"

	call ClearChargingProfile "$clear2" |
	    grep -q '"status":"Accepted"' || fail "$v: clearing profile 2 refused"
	kill9
	start_daemon "$tmp/edge.conf"
	wait_for 10 connected || fail "$v: not connected after the second kill -9"
	wait_for 5 is_limits "7300 7300 7300" &&
	    pass "$v: the cleared default stays cleared after kill -9: 7300 W each" ||
	    fail "$v: after clear and kill -9: $(limits)"
	no_violations "$v"
	stop_daemon
	stop_csms
done
finish
