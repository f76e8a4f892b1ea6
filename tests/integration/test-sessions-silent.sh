#!/bin/sh
# A charger silent for 120 s keeps its transaction, OCPP 1.6 and 2.0.1:
# the real daemon, the real simulator and the strict test CSMS.  Per
# version: bay1 stops answering Modbus for SILENT_S seconds (default 120)
# while its car charges; the daemon reports it offline, and when it
# answers again takes its session as going on: not one transaction
# message, the same transaction id, energy values that only grow.
# Most of its run time is the silence itself (nothing runs), so make check
# runs it beside the other tests.  Skipped (77) without node / npm.
set -u
name=test-sessions-silent
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
    { echo "node / npm not found: skipped"; exit 77; }
. "${top_srcdir:-.}/tests/integration/lib.sh"
. "$S/tests/integration/csms.sh"
. "$S/tests/integration/sessions.sh"
csms_identity=silent-site
silent_s=${SILENT_S:-120}

bays_site "$tmp/site.json" silent-site 0 200
start_sim "$tmp/site.json"
cp "$tmp/edge.conf" "$tmp/base.conf"


run_version() {
	v=$1
	start_csms
	csms_conf "$v"
	plug_bays
	start_daemon "$tmp/edge.conf"
	wait_for 10 connected || fail "$v: cloud $(st cloud.state)"
	wait_for 15 starts_are 3 || fail "$v: $(n_tx_msgs) transaction messages at start"
	n=$(n_tx_msgs)
	txid=$(st chargers.0.connectors.0.transaction)
	wh=$(st chargers.0.connectors.0.energy_wh | cut -d. -f1)
	g=$(goes_on)
	sim silence bay1 on >/dev/null
	wait_for 15 bay_offline 0 || fail "$v: bay1 still online while silent"
	# The silence is the scenario itself, not a wait for readiness.
	sleep "$silent_s"
	[ "$(st chargers.0.connectors.0.transaction)" = "$txid" ] &&
	    pass "$v: bay1 silent $silent_s s: transaction $txid still open" ||
	    fail "$v: bay1 silent $silent_s s: transaction $(st chargers.0.connectors.0.transaction), was $txid"
	sim silence bay1 off >/dev/null
	wait_for 15 goes_on_reaches $((g + 1)) &&
	    pass "$v: bay1 answering again after $silent_s s, its session going on" ||
	    fail "$v: bay1 after $silent_s s of silence not taken as going on"
	[ "$(n_tx_msgs)" -eq "$n" ] &&
	    pass "$v: charger silent $silent_s s: no transaction message" ||
	    fail "$v: charger silent $silent_s s: $(tx_msgs | tail -n +$((n + 1)) | head -3)"
	[ "$(st chargers.0.connectors.0.transaction)" = "$txid" ] &&
	    [ "$(st chargers.0.connectors.0.energy_wh | cut -d. -f1)" -ge "$wh" ] &&
	    pass "$v: the same transaction, energy not lower" ||
	    fail "$v: transaction $(st chargers.0.connectors.0.transaction) (was $txid), $(st chargers.0.connectors.0.energy_wh) Wh (was $wh)"
	end_version
}

for v in ${TX_VERSIONS:-1.6 2.0.1}; do
	run_version "$v"
done
finish
