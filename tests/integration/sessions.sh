# Sourced after lib.sh and csms.sh by the session tests (test-sessions*.sh):
# what the daemon and the test CSMS say about transactions, and the set-up
# and tear-down of one OCPP version's run on the three bays.

connected() { [ "$(st cloud.state)" = connected ]; }
n_tx_msgs() { tx_msgs | grep -c .; }
n_ends() { ends | grep -c .; }
ends_reach() { [ "$(n_ends)" -ge "$1" ]; }
n_starts() { tx_msgs | grep -cE '"action":"StartTransaction"|"eventType":"Started"'; }
starts_reach() { [ "$(n_starts)" -ge "$1" ]; }
starts_are() { [ "$(n_starts)" -eq "$1" ]; }
# goes_on: how many times the daemon took a transaction as going on.
goes_on() { grep -c 'read again, its transaction goes on' "$tmp/d.log"; }
goes_on_reaches() { [ "$(goes_on)" -ge "$1" ]; }
bay_online() { [ "$(st "chargers.$1.online")" = true ]; }
bay_offline() { [ "$(st "chargers.$1.online")" = false ]; }
# csms_got ACTION: the CSMS received a CALL of ACTION.
csms_got() { grep '"event":"call"' "$tmp/csms.log" | grep -q "\"action\":\"$1\""; }
# plug_bays: an EV on each bay that has none.
plug_bays() {
	for c in bay1 bay2 bay3; do
		sim_get "$c" connectors.0.plugged | grep -q true ||
		    sim plug "$c" 1 evmax=22000 >/dev/null
	done
}
# end_version: no schema violation in version $v's run; the daemon and
# the CSMS stopped, every EV gone.
end_version() {
	no_violations "$v"
	stop_daemon
	stop_csms
	for c in bay1 bay2 bay3; do sim unplug "$c" 1 >/dev/null 2>&1; done
}
