#!/bin/sh
# Sessions and what the backend answers, OCPP 1.6 and 2.0.1: the real
# daemon, the real simulator (three wallboxes, a car on each) and the
# strict test CSMS (tests/csms).  Per version:
#  - registration Pending: the backend reads the configuration (1.6
#    GetConfiguration; 2.0.1 GetBaseReport, and its NotifyReport comes),
#    2.0.1 RequestStartTransaction is Rejected (B02.FR.05); no transaction
#    message until the registration is Accepted, then one start per car;
#  - a charger answering each request 2 s late for 6 s: no end, no start;
#  - a TxProfile of 5000 W for a running transaction, the daemon
#    restarted: the same transaction goes on (no message) and the profile
#    bounds its setpoint again;
#  - the backend answers Invalid for the configured idTag:
#    StopTransactionOnInvalidId / StopTxOnInvalidId true -> the charging is
#    stopped and the transaction ends as DeAuthorized when the EV leaves;
#    false -> the charging goes on, the end is EVDisconnected.
# Skipped (77) without node / npm.
set -u
name=test-sessions-csms
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
    { echo "node / npm not found: skipped"; exit 77; }
. "${top_srcdir:-.}/tests/integration/lib.sh"
. "$S/tests/integration/csms.sh"
. "$S/tests/integration/sessions.sh"
csms_identity=auth-site

bays_site "$tmp/site.json" auth-site 0 200
start_sim "$tmp/site.json"
cp "$tmp/edge.conf" "$tmp/base.conf"

bay_status() { sim_get "$1" connectors.0.status; }
# bay_stopped BAY: the simulator's EV on BAY was stopped (status 6,
# finishing).
bay_stopped() { [ "$(bay_status "$1")" = 6 ]; }
# explain K: "SETPOINT BOUND_BY" of connector K.
explain() {
	ctl "{\"cmd\":\"explain\",\"connector\":\"$1\"}" >"$tmp/ex.json"
	echo "$("$JG" result.setpoint_w <"$tmp/ex.json") $("$JG" result.bound_by <"$tmp/ex.json")"
}
explain_is() { [ "$(explain "$1")" = "$2" ]; }

run_version() {
	v=$1
	start_csms
	csms '{"cmd":"set","bootStatus":"Pending","interval":2}'
	csms_conf "$v"
	conf_set "csms {" 'id-tag = "FLEET-7"'
	plug_bays
	start_daemon "$tmp/edge.conf"

	# 1. Pending registration.
	wait_for 15 csms_got BootNotification ||
	    fail "$v: no BootNotification"
	if [ "$v" = 1.6 ]; then
		call GetConfiguration '{"key":["HeartbeatInterval"]}' |
		    grep -q '"key":"HeartbeatInterval"' &&
		    pass "$v: Pending: GetConfiguration answered" ||
		    fail "$v: Pending: GetConfiguration not answered"
	else
		call GetBaseReport '{"requestId":7,"reportBase":"FullInventory"}' |
		    grep -q '"status":"Accepted"' &&
		    wait_for 10 csms_got NotifyReport &&
		    pass "$v: Pending: GetBaseReport Accepted, NotifyReport sent" ||
		    fail "$v: Pending: no GetBaseReport / NotifyReport"
		call RequestStartTransaction '{"idToken":{"idToken":"R-1","type":"Central"},"remoteStartId":1,"evseId":1}' |
		    grep -q '"status":"Rejected"' &&
		    pass "$v: Pending: RequestStartTransaction Rejected" ||
		    fail "$v: Pending: RequestStartTransaction not Rejected"
	fi
	[ "$(n_tx_msgs)" -eq 0 ] &&
	    pass "$v: Pending: no transaction message" ||
	    fail "$v: Pending: $(tx_msgs | head -2)"
	csms '{"cmd":"set","bootStatus":"Accepted","interval":300}'
	wait_for 20 starts_reach 3 &&
	    pass "$v: Accepted: one start per car" ||
	    fail "$v: Accepted: $(n_starts) starts"
	wait_for 10 connected || fail "$v: cloud $(st cloud.state)"

	# 2. bay1 answers 2 s late for 6 s.
	n=$(n_tx_msgs)
	sim reply-delay bay1 2000 >/dev/null
	# The 6 s of slow answers are the scenario itself.
	sleep 6
	sim reply-delay bay1 0 >/dev/null
	wait_for 15 bay_online 0 || fail "$v: bay1 not online again"
	[ "$(n_tx_msgs)" -eq "$n" ] &&
	    pass "$v: charger 2 s late: no end, no start" ||
	    fail "$v: charger 2 s late: $(tx_msgs | tail -n +$((n + 1)) | head -2)"

	# 3. A TxProfile for bay2's transaction, across a restart.
	txid=$(st chargers.1.connectors.0.transaction)
	if [ "$v" = 1.6 ]; then
		q=$txid
		p="{\"connectorId\":2,\"csChargingProfiles\":{\"chargingProfileId\":31,\"transactionId\":$q,\"stackLevel\":0,\"chargingProfilePurpose\":\"TxProfile\",\"chargingProfileKind\":\"Relative\",\"chargingSchedule\":{\"chargingRateUnit\":\"W\",\"chargingSchedulePeriod\":[{\"startPeriod\":0,\"limit\":5000}]}}}"
	else
		q="\"$txid\""
		p="{\"evseId\":2,\"chargingProfile\":{\"id\":31,\"transactionId\":$q,\"stackLevel\":0,\"chargingProfilePurpose\":\"TxProfile\",\"chargingProfileKind\":\"Relative\",\"chargingSchedule\":[{\"id\":31,\"chargingRateUnit\":\"W\",\"chargingSchedulePeriod\":[{\"startPeriod\":0,\"limit\":5000}]}]}}"
	fi
	call SetChargingProfile "$p" | grep -q '"status":"Accepted"' ||
	    fail "$v: TxProfile for transaction $txid refused"
	wait_for 5 explain_is 2 "5000 profile" ||
	    fail "$v: TxProfile not applied: $(explain 2)"
	stop_daemon
	stop_csms
	start_csms
	csms_url
	start_daemon "$tmp/edge.conf"
	wait_for 10 connected || fail "$v: not connected after the restart"
	wait_for 10 explain_is 2 "5000 profile" &&
	    [ "$(st chargers.1.connectors.0.transaction)" = "$txid" ] &&
	    pass "$v: TxProfile bound to transaction $txid after the restart" ||
	    fail "$v: after the restart: connector 2 $(explain 2), transaction $(st chargers.1.connectors.0.transaction)"
	[ "$(n_tx_msgs)" -eq 0 ] &&
	    pass "$v: restart with a TxProfile: no transaction message" ||
	    fail "$v: restart with a TxProfile: $(tx_msgs | head -2)"

	# 4. Invalid for the configured idTag, StopTransactionOnInvalidId
	# true: the charging is stopped at once; the transaction ends when the
	# charger ends the session (an AC Wallbox reports a stopped session
	# as suspended until the EV leaves), as DeAuthorized.
	csms '{"cmd":"set","invalidIdTag":"FLEET-7"}'
	e=$(n_ends)
	s=$(n_starts)
	sim unplug bay3 1 >/dev/null
	wait_for 10 ends_reach $((e + 1)) || fail "$v: bay3 unplugged, no end"
	sim plug bay3 1 evmax=22000 >/dev/null
	wait_for 15 starts_reach $((s + 1)) || fail "$v: bay3 plugged, no start"
	wait_for 10 bay_stopped bay3 &&
	    pass "$v: Invalid idTag, stop on invalid: charging stopped" ||
	    fail "$v: Invalid idTag, stop on invalid: bay3 status $(bay_status bay3)"
	sim unplug bay3 1 >/dev/null
	wait_for 10 ends_reach $((e + 2)) &&
	    ends | tail -1 | grep -qE '"reason":"DeAuthorized"|"stoppedReason":"DeAuthorized"' &&
	    pass "$v: Invalid idTag, stop on invalid: ended DeAuthorized" ||
	    fail "$v: Invalid idTag, stop on invalid: $(ends | tail -1)"
	grep -q '"idTag":"FLEET-7"\|"idToken":"FLEET-7"' "$tmp/csms.log" ||
	    fail "$v: the configured idTag was not used"

	# 5. StopTransactionOnInvalidId false: the charging goes on.
	if [ "$v" = 1.6 ]; then
		call ChangeConfiguration '{"key":"StopTransactionOnInvalidId","value":"false"}'
	else
		call SetVariables '{"setVariableData":[{"component":{"name":"TxCtrlr"},"variable":{"name":"StopTxOnInvalidId"},"attributeValue":"false"}]}'
	fi | grep -qE '"(status|attributeStatus)":"Accepted"' ||
	    fail "$v: StopTransactionOnInvalidId false refused"
	s=$(n_starts)
	sim plug bay3 1 evmax=22000 >/dev/null
	wait_for 15 starts_reach $((s + 1)) || fail "$v: bay3 plugged, no start"
	# The answer to the start is handled before the next CALL's answer.
	call TriggerMessage '{"requestedMessage":"Heartbeat"}' >/dev/null
	wait_for 5 csms_got Heartbeat || fail "$v: no triggered Heartbeat"
	# The same 10 s the stop took with the option true.
	wait_for 10 bay_stopped bay3 &&
	    fail "$v: Invalid idTag, no stop on invalid: bay3 stopped" ||
	    pass "$v: Invalid idTag, no stop on invalid: still charging"
	sim unplug bay3 1 >/dev/null
	wait_for 10 ends_reach $((e + 3)) &&
	    ends | tail -1 | grep -qE '"reason":"EVDisconnected"|"stoppedReason":"EVDisconnected"' &&
	    pass "$v: Invalid idTag, no stop on invalid: ended EVDisconnected" ||
	    fail "$v: Invalid idTag, no stop on invalid: $(ends | tail -1)"
	csms '{"cmd":"set","invalidIdTag":null}'

	end_version
}

for v in ${TX_VERSIONS:-1.6 2.0.1}; do
	run_version "$v"
done
finish
