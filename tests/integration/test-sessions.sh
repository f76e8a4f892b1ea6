#!/bin/sh
# Charging sessions survive the gateway, OCPP 1.6 and 2.0.1: the real
# daemon, the real simulator (three wallboxes, a car charging on each) and
# the strict test CSMS (tests/csms).  The rule: the gateway never ends,
# splits or invents a session the charger did not end.  Per version:
#  - restart while the chargers answer 400 ms late: once every charger is
#    read and its transaction taken as going on, not one transaction
#    message;
#  - a charger silent for 6 s, then answering again: no message (a
#    silence past the reconnect backoff's cap: test-sessions-silent.sh);
#  - kill -9, the EV on bay2 leaves while the gateway is down, start
#    again: one end (reason PowerLoss) with the energy the charger read,
#    and nothing for the two sessions that went on;
#  - Reset OnIdle (2.0.1: Scheduled) / Soft (1.6) waits while a
#    transaction runs and restarts once it ended (2.0.1 boots with reason
#    RemoteReset); Reset Immediate / Hard ends the running transactions
#    first (ImmediateReset / HardReset).
# Skipped (77) without node / npm.
set -u
name=test-sessions
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
    { echo "node / npm not found: skipped"; exit 77; }
. "${top_srcdir:-.}/tests/integration/lib.sh"
. "$S/tests/integration/csms.sh"
. "$S/tests/integration/sessions.sh"
csms_identity=tx-site

bays_site "$tmp/site.json" tx-site 0 200
start_sim "$tmp/site.json"
cp "$tmp/edge.conf" "$tmp/base.conf"

boots_are() { [ "$(grep '"event":"call"' "$tmp/csms.log" | grep -c '"action":"BootNotification"')" -ge "$1" ]; }

# new_csms: a new CSMS (and log), the daemon's configuration pointed at it.
new_csms() {
	stop_csms
	start_csms
	csms_url
}

run_version() {
	v=$1
	start_csms
	csms_conf "$v"
	plug_bays
	start_daemon "$tmp/edge.conf"
	wait_for 10 connected || fail "$v: cloud $(st cloud.state)"
	wait_for 15 starts_are 3 && pass "$v: three transactions started" ||
	    fail "$v: $(n_tx_msgs) transaction messages at start"

	# 1. Restart with chargers that answer 400 ms late.
	for c in bay1 bay2 bay3; do sim reply-delay "$c" 400 >/dev/null; done
	n=$(goes_on)
	stop_daemon
	new_csms
	start_daemon "$tmp/edge.conf"
	wait_for 20 goes_on_reaches $((n + 3)) &&
	    pass "$v: slow chargers read after the restart, sessions going on" ||
	    fail "$v: after the restart: $(($(goes_on) - n)) of 3 taken as going on"
	wait_for 10 connected || fail "$v: not connected after restart"
	[ "$(n_tx_msgs)" -eq 0 ] &&
	    pass "$v: restart with slow chargers: no transaction message" ||
	    fail "$v: restart with slow chargers: $(tx_msgs | head -3)"
	for c in bay1 bay2 bay3; do sim reply-delay "$c" 0 >/dev/null; done

	# 2. A charger silent for 6 s.
	n=$(goes_on)
	sim silence bay1 on >/dev/null
	wait_for 10 bay_offline 0 || fail "$v: bay1 still online while silent"
	# The 6 s of silence are the scenario itself, not a wait for
	# readiness.
	sleep 6
	sim silence bay1 off >/dev/null
	wait_for 15 goes_on_reaches $((n + 1)) &&
	    pass "$v: bay1 answering again after 6 s, its session going on" ||
	    fail "$v: bay1 after 6 s of silence not taken as going on"
	[ "$(n_tx_msgs)" -eq 0 ] &&
	    pass "$v: charger silent 6 s: no transaction message" ||
	    fail "$v: charger silent 6 s: $(tx_msgs | head -3)"

	# 3. kill -9; the EV on bay2 leaves while the gateway is down.
	kill -KILL "$d_pid"
	wait "$d_pid" 2>/dev/null
	d_pid=
	sim unplug bay2 1 >/dev/null
	wh=$(sim_get bay2 connectors.0.energy_wh | cut -d. -f1)
	n=$(goes_on)
	new_csms
	start_daemon "$tmp/edge.conf"
	wait_for 10 connected || fail "$v: not connected after kill -9"
	wait_for 15 goes_on_reaches $((n + 2)) ||
	    fail "$v: after kill -9: $(($(goes_on) - n)) of 2 taken as going on"
	wait_for 10 ends_reach 1 ||
	    fail "$v: after kill -9: the session that ended was not ended"
	[ "$(n_tx_msgs)" -eq 1 ] &&
	    pass "$v: after kill -9: one transaction message" ||
	    fail "$v: after kill -9: $(n_tx_msgs) transaction messages: $(tx_msgs | head -3)"
	ends | grep -qE '"reason":"PowerLoss"|"stoppedReason":"PowerLoss"' &&
	    pass "$v: ended with reason PowerLoss" ||
	    fail "$v: end reason: $(ends | grep -oE '"(reason|stoppedReason)":"[A-Za-z]*"')"
	stop_wh=$(ends | grep -oE '"meterStop":[0-9]+|"value":[0-9.]+' |
	    head -1 | grep -oE '[0-9]+' | head -1)
	[ -n "$stop_wh" ] && [ "$stop_wh" -ge "$wh" ] &&
	    [ "$stop_wh" -le $((wh + 1)) ] &&
	    pass "$v: ended with the charger's reading, $wh Wh" ||
	    fail "$v: ended with ${stop_wh:-none} Wh, the charger read $wh Wh"

	# 4. Reset OnIdle / Soft while bay1 and bay3 charge: no restart until
	# their sessions end.
	if [ "$v" = 1.6 ]; then soft=Soft hard=Hard; else soft=OnIdle hard=Immediate; fi
	want=Accepted
	[ "$v" = 2.0.1 ] && want=Scheduled
	call Reset "{\"type\":\"$soft\"}" | grep -q "\"status\":\"$want\"" &&
	    pass "$v: Reset $soft while charging: $want" ||
	    fail "$v: Reset $soft while charging not $want"
	boots=$(grep -c 'stopping (backend Reset' "$tmp/d.log")
	sim unplug bay1 1 >/dev/null
	wait_for 10 ends_reach 2 ||
	    fail "$v: bay1 unplugged, its transaction not ended"
	[ "$(grep -c 'stopping (backend Reset' "$tmp/d.log")" -eq "$boots" ] &&
	    pass "$v: no restart while bay3 still charges" ||
	    fail "$v: restarted while a transaction ran"
	new_boot=$(grep '"event":"call"' "$tmp/csms.log" | grep -c '"action":"BootNotification"')
	sim unplug bay3 1 >/dev/null
	wait_for 15 boots_are $((new_boot + 1)) &&
	    pass "$v: restarted once the last transaction ended" ||
	    fail "$v: no restart after the last transaction ended"
	if [ "$v" = 2.0.1 ]; then
		grep '"action":"BootNotification"' "$tmp/csms.log" | tail -1 |
		    grep -q '"reason":"RemoteReset"' &&
		    pass "$v: BootNotification reason RemoteReset" ||
		    fail "$v: boot after Reset: $(grep '"action":"BootNotification"' "$tmp/csms.log" | tail -1)"
	fi

	# 5. Reset Immediate / Hard while two EVs charge: their transactions
	# end first, with the reset as the reason.
	wait_for 10 connected || fail "$v: not connected after the reset"
	sim plug bay1 1 evmax=22000 >/dev/null
	sim plug bay3 1 evmax=22000 >/dev/null
	wait_for 15 starts_reach 2 ||
	    fail "$v: the new sessions did not start"
	e=$(n_ends)
	new_boot=$(grep '"event":"call"' "$tmp/csms.log" | grep -c '"action":"BootNotification"')
	call Reset "{\"type\":\"$hard\"}" | grep -q '"status":"Accepted"' ||
	    fail "$v: Reset $hard refused"
	wait_for 15 boots_are $((new_boot + 1)) ||
	    fail "$v: no restart after Reset $hard"
	wait_for 10 ends_reach $((e + 2)) &&
	    pass "$v: Reset $hard ended both transactions" ||
	    fail "$v: Reset $hard: $(($(n_ends) - e)) of 2 transactions ended"
	r=HardReset
	[ "$v" = 2.0.1 ] && r=ImmediateReset
	[ "$(ends | tail -2 | grep -cE "\"(reason|stoppedReason)\":\"$r\"")" -eq 2 ] &&
	    pass "$v: reason $r" ||
	    fail "$v: reasons $(ends | tail -2 | grep -oE '"(reason|stoppedReason)":"[A-Za-z]*"')"

	end_version
}

for v in ${TX_VERSIONS:-1.6 2.0.1}; do
	run_version "$v"
done
finish
