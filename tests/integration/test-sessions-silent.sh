#!/bin/sh
# A charger silent for a long time keeps its transaction, OCPP 1.6 and
# 2.0.1: the real daemon, the real simulator and the strict test CSMS.
# Per version: bay1 stops answering Modbus for SILENT_S seconds while its
# car charges; the daemon reports it offline, and when it answers again
# takes its session as going on: not one transaction message, the same
# transaction id, energy values that only grow.
# What makes a silence long is the time the daemon counts in: its
# reconnect attempts back off up to 30 s apart.  make check keeps bay1
# silent for 35 s (SILENT_S): past that cap, the attempts at their
# slowest.  `make bench` runs the 120 s variant
# (bench/bench-sessions-silent.sh).  (The AC Wallbox has no communication
# timeout register: it falls back to its offline limits by itself.)
# Most of the run is the silence, so the two versions run side by side,
# each a copy of this script with its own simulator, daemon and CSMS
# (TX_VERSIONS picks the versions of one copy).
# Skipped (77) without node / npm.
set -u
name=test-sessions-silent
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
    { echo "node / npm not found: skipped"; exit 77; }
if [ -z "${TX_VERSIONS:-}" ]; then
	out=$(mktemp -d "${TMPDIR:-/tmp}/$name.XXXXXX") || exit 99
	TX_VERSIONS=1.6 ${SHELL:-sh} "$0" >"$out/1.6" 2>&1 &
	p16=$!
	TX_VERSIONS=2.0.1 ${SHELL:-sh} "$0" >"$out/2.0.1" 2>&1 &
	p201=$!
	# (each copy stops what it started on TERM)
	trap 'kill -TERM "$p16" "$p201" 2>/dev/null; rm -rf "$out"; exit 99' \
	    INT TERM
	wait "$p16"
	rc16=$?
	wait "$p201"
	rc201=$?
	cat "$out/1.6" "$out/2.0.1"
	rm -rf "$out"
	[ "$rc16" -eq 0 ] && [ "$rc201" -eq 0 ] && exit 0
	[ "$rc16" -eq 77 ] && [ "$rc201" -eq 77 ] && exit 77
	[ "$rc16" -eq 99 ] || [ "$rc201" -eq 99 ] && exit 99
	exit 1
fi
. "${top_srcdir:-.}/tests/integration/lib.sh"
. "$S/tests/integration/csms.sh"
. "$S/tests/integration/sessions.sh"
csms_identity=silent-site
silent_s=${SILENT_S:-35}

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
	# (the next attempt may be up to the backoff's cap, 30 s, away)
	wait_for 40 goes_on_reaches $((g + 1)) &&
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

for v in $TX_VERSIONS; do
	run_version "$v"
done
finish
