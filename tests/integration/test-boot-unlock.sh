#!/bin/sh
# Boot details end to end: the real daemon, the real simulator and the
# strict test CSMS.  1.6: UnlockConnector on a connector with a
# transaction ends it first (StopTransaction reason UnlockCommand), the
# charger is told to stop (3y000) and then to unlock (3y001); no new
# transaction starts for the same car; TriggerMessage(BootNotification) is
# Accepted and boots again.  2.0.1: TriggerMessage(BootNotification) once
# Accepted is Rejected (F06.FR.17) and no BootNotification follows;
# UnlockConnector during a transaction answers OngoingAuthorizedTransaction
# and writes nothing.  Skipped (77) without node / npm.
set -u
name=test-boot-unlock
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
    { echo "node / npm not found: skipped"; exit 77; }
. "${top_srcdir:-.}/tests/integration/lib.sh"
. "$S/tests/integration/csms.sh"
csms_identity=bu-site

bays_site "$tmp/site.json" bu-site 0 200
start_sim "$tmp/site.json"
cp "$tmp/edge.conf" "$tmp/base.conf"

calls() { grep '"event":"call"' "$tmp/csms.log" | grep "\"action\":\"$1\""; }
ncalls() { calls "$1" | wc -l; }
more_calls() { [ "$(ncalls "$1")" -gt "$2" ]; }
connected() { [ "$(st cloud.state)" = connected ]; }
has_tx() { t=$(st chargers.0.connectors.0.transaction); [ -n "$t" ] && [ "$t" != null ] && [ "$t" != missing ]; }

run_version() {
	v=$1
	# (a car on bay1 again: the 1.6 run stopped the first)
	sim unplug bay1 1 >/dev/null
	sim plug bay1 1 evmax=22000 >/dev/null
	start_csms
	csms_conf "$v"
	start_daemon "$tmp/edge.conf"
	wait_for 10 connected && pass "$v: connected and accepted" ||
	    fail "$v: cloud $(st cloud.state)"
	wait_for 10 has_tx || fail "$v: no transaction on bay1"
	boots=$(ncalls BootNotification)
	u0=$(sim_get bay1 unlocks)
	if [ "$v" = 1.6 ]; then
		starts=$(calls StartTransaction | grep -c '"connectorId":1')
		call UnlockConnector '{"connectorId":1}' | grep -q '"status":"Unlocked"' &&
		    pass "$v: UnlockConnector during the transaction: Unlocked" ||
		    fail "$v: UnlockConnector not Unlocked"
		wait_for 5 more_calls StopTransaction 0 &&
		    calls StopTransaction | tail -1 | grep -q '"reason":"UnlockCommand"' &&
		    pass "$v: StopTransaction reason UnlockCommand" ||
		    fail "$v: stop $(calls StopTransaction | tail -1)"
		unlocked() { [ "$(sim_get bay1 unlocks)" = $((u0 + 1)) ]; }
		stopped() { [ "$(sim_get bay1 connectors.0.status)" != charging ]; }
		wait_for 5 unlocked && wait_for 5 stopped &&
		    pass "$v: the charger stopped ($(sim_get bay1 connectors.0.status)) and unlocked" ||
		    fail "$v: charger unlocks $(sim_get bay1 unlocks), status $(sim_get bay1 connectors.0.status)"
		grep -q 'stop to unlock on bay1/1 (backend)' "$tmp/d.log" &&
		    grep -A3 'stop to unlock on bay1/1' "$tmp/d.log" | grep -q 'unlock on bay1/1 (backend)' &&
		    pass "$v: stop written before the unlock" ||
		    fail "$v: order in the log: $(grep 'unlock on bay1' "$tmp/d.log")"
		call TriggerMessage '{"requestedMessage":"BootNotification"}' |
		    grep -q '"status":"Accepted"' &&
		    wait_for 5 more_calls BootNotification "$boots" &&
		    pass "$v: TriggerMessage(BootNotification): Accepted, booted again" ||
		    fail "$v: triggered boot: $(ncalls BootNotification) boots"
		# (a heartbeat round trip: anything the unlock might have
		# started would be through by then)
		call TriggerMessage '{"requestedMessage":"Heartbeat"}' >/dev/null
		wait_for 5 more_calls Heartbeat 0 || fail "$v: no heartbeat"
		[ "$(calls StartTransaction | grep -c '"connectorId":1')" = "$starts" ] &&
		    pass "$v: no new transaction for the unlocked connector" ||
		    fail "$v: a transaction started again on connector 1"
	else
		call TriggerMessage '{"requestedMessage":"BootNotification"}' |
		    grep -q '"status":"Rejected"' &&
		    pass "$v: TriggerMessage(BootNotification) once Accepted: Rejected" ||
		    fail "$v: triggered boot not Rejected"
		hb=$(ncalls Heartbeat)
		call TriggerMessage '{"requestedMessage":"Heartbeat"}' >/dev/null
		wait_for 5 more_calls Heartbeat "$hb" || fail "$v: no heartbeat"
		[ "$(ncalls BootNotification)" = "$boots" ] &&
		    pass "$v: no BootNotification after it" ||
		    fail "$v: $(ncalls BootNotification) boots"
		call UnlockConnector '{"evseId":1,"connectorId":1}' |
		    grep -q '"status":"OngoingAuthorizedTransaction"' &&
		    [ "$(sim_get bay1 unlocks)" = "$u0" ] &&
		    pass "$v: UnlockConnector during a transaction: OngoingAuthorizedTransaction, nothing written" ||
		    fail "$v: unlock during a transaction: unlocks $(sim_get bay1 unlocks)"
	fi
	no_violations "$v"
	stop_daemon
	stop_csms
}

for v in 1.6 2.0.1; do
	run_version "$v"
done
finish
