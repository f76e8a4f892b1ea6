#!/bin/sh
# ChangeAvailability during a transaction, across restarts, OCPP 1.6 and
# 2.0.1: the real daemon, the real simulator and the strict test CSMS
# (tests/csms).  Per version: connector 2 charging, made Inoperative ->
# Scheduled, still charging; the daemon stopped and started again -> no
# transaction message at all (the session went on); the EV unplugged ->
# one end of the transaction, with the energy the charger read, then 0 W
# and a StatusNotification Unavailable; another restart -> still 0 W,
# reported Unavailable at boot; made Operative -> Accepted, a new EV
# charges, and after another restart it stays operative.  Skipped (77)
# without node / npm.
set -u
name=test-availability
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
    { echo "node / npm not found: skipped"; exit 77; }
. "${top_srcdir:-.}/tests/integration/lib.sh"
. "$S/tests/integration/csms.sh"
csms_identity=av-site

bays_site "$tmp/site.json" av-site 0 200
start_sim "$tmp/site.json"
cp "$tmp/edge.conf" "$tmp/base.conf"

limit2() { sim_get bay2 connectors.0.limits.power_w; }
limit2_is() { [ "$(limit2)" = "$1" ]; }
limit2_above() { l=$(limit2); [ -n "$l" ] && [ "$l" -gt "$1" ] 2>/dev/null; }

# status_seen STATUS: the CSMS got a StatusNotification for connector /
# EVSE 2 with that status since its log began.
status_seen() {
	grep '"event":"call"' "$tmp/csms.log" |
	    grep '"action":"StatusNotification"' |
	    grep -E "\"(connectorId|evseId)\":2[,}]" |
	    grep -qE "\"(status|connectorStatus)\":\"$1\""
}
# last_status: the status of the last StatusNotification for 2.
last_status() {
	grep '"event":"call"' "$tmp/csms.log" |
	    grep '"action":"StatusNotification"' |
	    grep -E "\"(connectorId|evseId)\":2[,}]" | tail -1 |
	    grep -oE "\"(status|connectorStatus)\":\"[A-Za-z]*\""
}
connected() { [ "$(st cloud.state)" = connected ]; }
ended_seen() { ends | grep -q .; }

# restart: the daemon stopped (SIGTERM) and started again, with a new
# CSMS log so that only what it says after the restart counts.
restart() {
	stop_daemon
	stop_csms
	start_csms
	csms_url
	start_daemon "$tmp/edge.conf"
	wait_for 10 connected || fail "$v: not connected after restart"
}

run_version() {
	v=$1
	if [ "$v" = 1.6 ]; then
		off='{"connectorId":2,"type":"Inoperative"}'
		on='{"connectorId":2,"type":"Operative"}'
	else
		off='{"operationalStatus":"Inoperative","evse":{"id":2}}'
		on='{"operationalStatus":"Operative","evse":{"id":2}}'
	fi
	start_csms
	csms_conf "$v"
	start_daemon "$tmp/edge.conf"
	wait_for 10 connected && pass "$v: connected" ||
	    fail "$v: cloud $(st cloud.state)"
	# DLB 40 kW, three cars: 13333 -> 13300 W each.
	wait_for 5 limit2_is 13300 && pass "$v: connector 2 at 13300 W" ||
	    fail "$v: connector 2 at $(limit2) W"

	call ChangeAvailability "$off" | grep -q '"status":"Scheduled"' &&
	    pass "$v: Inoperative during a transaction: Scheduled" ||
	    fail "$v: Inoperative during a transaction not Scheduled"
	limit2_above 4200 && pass "$v: scheduled: still charging, $(limit2) W" ||
	    fail "$v: scheduled: connector 2 at $(limit2) W"

	# The three starts reached the CSMS before the restart (else they
	# would be sent after it, and counted there): the session sends its
	# queue in order, the StartupOfTheDevice security event first.
	starts_sent() { [ "$(tx_msgs | grep -c .)" -ge 3 ]; }
	wait_for 10 starts_sent ||
	    fail "$v: the starts did not reach the CSMS: $(tx_msgs | grep -c .)"
	goes_on=$(grep -c 'read again, its transaction goes on' "$tmp/d.log")
	restart
	# The sessions went on: once the three chargers were read and each
	# transaction taken as going on, not one transaction message.
	went_on() { [ "$(grep -c 'read again, its transaction goes on' \
	    "$tmp/d.log")" -ge $((goes_on + 3)) ]; }
	wait_for 15 went_on ||
	    fail "$v: after restart: the transactions not taken as going on"
	tx_msgs | grep -q . &&
	    fail "$v: after restart: transaction messages: $(tx_msgs | head -3)" ||
	    pass "$v: after restart: no transaction message (sessions went on)"

	wh=$(sim_get bay2 connectors.0.energy_wh | cut -d. -f1)
	sim unplug bay2 1 >/dev/null
	wait_for 10 ended_seen && pass "$v: unplugged: the transaction ended" ||
	    fail "$v: unplugged: no end of the transaction"
	[ "$(tx_msgs | grep -c .)" -eq 1 ] ||
	    fail "$v: unplugged: $(tx_msgs | grep -c .) transaction messages"
	stop_wh=$(tx_msgs | grep -oE '"meterStop":[0-9]+|"value":[0-9.]+' |
	    head -1 | grep -oE '[0-9]+' | head -1)
	[ -n "$stop_wh" ] && [ "$stop_wh" -ge "${wh:-0}" ] &&
	    pass "$v: ended with the charger's energy, $stop_wh Wh" ||
	    fail "$v: ended with ${stop_wh:-none} Wh, the charger read ${wh:-?}"
	wait_for 5 limit2_is 0 && pass "$v: applied after the end: 0 W" ||
	    fail "$v: after the end: connector 2 at $(limit2) W"
	wait_for 5 status_seen Unavailable &&
	    pass "$v: StatusNotification Unavailable" ||
	    fail "$v: no StatusNotification Unavailable"

	restart
	# Kept: 0 W and Unavailable from the boot on, never Available.
	wait_for 5 status_seen Unavailable &&
	    pass "$v: after restart: still reported Unavailable" ||
	    fail "$v: after restart: no StatusNotification Unavailable"
	last_status | grep -q '"Unavailable"' ||
	    fail "$v: after restart: connector 2 last reported $(last_status)"
	wait_for 5 limit2_is 0 && pass "$v: after restart: connector 2 at 0 W" ||
	    fail "$v: after restart: connector 2 at $(limit2) W"

	call ChangeAvailability "$on" | grep -q '"status":"Accepted"' &&
	    pass "$v: Operative accepted" || fail "$v: Operative refused"
	sim plug bay2 1 evmax=22000 >/dev/null
	# Charging again; (Pmin 4200 W for a three-phase charger: any
	# limit above it means it runs again).
	wait_for 15 limit2_above 4200 && pass "$v: operative: connector 2 at $(limit2) W" ||
	    fail "$v: operative: connector 2 at $(limit2) W"

	restart
	wait_for 15 limit2_above 4200 &&
	    pass "$v: after a second restart: operative, $(limit2) W" ||
	    fail "$v: after a second restart: connector 2 at $(limit2) W"
	status_seen Unavailable &&
	    fail "$v: after a second restart: reported Unavailable"
	no_violations "$v"
	stop_daemon
	stop_csms
}

for v in ${AV_VERSIONS:-1.6 2.0.1}; do
	run_version "$v"
done
finish
