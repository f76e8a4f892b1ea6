#!/bin/sh
# Local authorization of the IdTokens chargers report, OCPP 1.6 and
# 2.0.1: the real daemon, the real simulator (EVs plugged with an RFID
# idtag) and the strict test CSMS.  Per version:
#  - SendLocalList Full / Differential, GetLocalListVersion, the version
#    kept across a restart;
#  - LocalPreAuthorize false: Authorize goes before the start; true: a
#    token Accepted in the list starts at once, no Authorize;
#  - the backend answers Authorize Invalid: the charging is stopped and
#    no transaction starts;
#  - the backend away: a token Accepted in the list starts (the start is
#    queued and sent once the backend is back), a Blocked one does not,
#    one the cache has Accepted (from an earlier Authorize) does; an
#    unknown one follows AllowOfflineTxForUnknownId (false: refused);
#    ClearCache.
# Skipped (77) without node / npm.
set -u
name=test-sessions-auth
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
    { echo "node / npm not found: skipped"; exit 77; }
. "${top_srcdir:-.}/tests/integration/lib.sh"
. "$S/tests/integration/csms.sh"
. "$S/tests/integration/sessions.sh"
csms_identity=auth-site

bays_site "$tmp/site.json" auth-site 0 200
start_sim "$tmp/site.json"
cp "$tmp/edge.conf" "$tmp/base.conf"

offline() { [ "$(st cloud.state)" != connected ]; }
calls() { grep '"event":"call"' "$tmp/csms.log"; }
n_calls() { calls | grep -c "\"action\":\"$1\""; }
calls_reach() { [ "$(n_calls "$1")" -ge "$2" ]; }
starts_with() { calls | grep -E '"action":"StartTransaction"|"eventType":"Started"' | grep -c "\"$1\""; }
starts_with_reach() { [ "$(starts_with "$1")" -ge "$2" ]; }
ends_reach() { [ "$(calls | grep -cE '"action":"StopTransaction"|"eventType":"Ended"')" -ge "$1" ]; }
bay_stopped() { [ "$(sim_get "$1" connectors.0.status)" = 6 ]; }
bay_tx() { st "chargers.$1.connectors.0.transaction"; }
bay_has_tx() { case $(bay_tx "$1") in "" | null) return 1 ;; esac; }
bay_available() { [ "$(st "chargers.$1.connectors.0.status")" = Available ]; }
log_has() { grep -q "$1" "$tmp/d.log"; }
log_has_n() { [ "$(grep -c "$1" "$tmp/d.log")" -ge "$2" ]; }
bay_running() { case $(st "chargers.$1.connectors.0.status") in Charging | SuspendedEV | SuspendedEVSE) return 0 ;; *) return 1 ;; esac; }

# setkey KEY16 COMPONENT VARIABLE VALUE: ChangeConfiguration / SetVariables.
setkey() {
	if [ "$v" = 1.6 ]; then
		call ChangeConfiguration "{\"key\":\"$1\",\"value\":\"$4\"}"
	else
		call SetVariables "{\"setVariableData\":[{\"component\":{\"name\":\"$2\"},\"variable\":{\"name\":\"$3\"},\"attributeValue\":\"$4\"}]}"
	fi | grep -qE '"(status|attributeStatus)":"Accepted"' ||
	    fail "$v: $1 = $4 refused"
}

# entry TOKEN [STATUS]: one local list entry (no STATUS: a removal).
entry() {
	if [ "$v" = 1.6 ]; then
		[ -n "${2:-}" ] && echo "{\"idTag\":\"$1\",\"idTagInfo\":{\"status\":\"$2\"}}" ||
		    echo "{\"idTag\":\"$1\"}"
	else
		[ -n "${2:-}" ] && echo "{\"idToken\":{\"idToken\":\"$1\",\"type\":\"ISO14443\"},\"idTokenInfo\":{\"status\":\"$2\"}}" ||
		    echo "{\"idToken\":{\"idToken\":\"$1\",\"type\":\"ISO14443\"}}"
	fi
}
# send_list VERSION TYPE ENTRIES: SendLocalList; prints its status.
send_list() {
	if [ "$v" = 1.6 ]; then vk=listVersion; else vk=versionNumber; fi
	call SendLocalList "{\"$vk\":$1,\"updateType\":\"$2\",\"localAuthorizationList\":[$3]}" |
	    grep -oE '"status":"[A-Za-z]*"' | head -1
}
list_version() {
	call GetLocalListVersion '{}' | grep -oE '"(listVersion|versionNumber)":-?[0-9]+' |
	    grep -oE -- '-?[0-9]+$'
}

run_version() {
	v=$1
	start_csms
	csms_conf "$v"
	for c in bay1 bay2 bay3; do sim unplug "$c" 1 >/dev/null 2>&1; done
	start_daemon "$tmp/edge.conf"
	wait_for 10 connected || fail "$v: cloud $(st cloud.state)"

	# 1. The local list.
	[ "$(list_version)" = 0 ] || fail "$v: list version at start $(list_version)"
	[ "$(send_list 3 Full "$(entry TAG-A Accepted),$(entry TAG-B Blocked),$(entry TAG-C Accepted)")" = '"status":"Accepted"' ] &&
	    [ "$(list_version)" = 3 ] &&
	    pass "$v: SendLocalList Full, version 3" ||
	    fail "$v: SendLocalList Full: version $(list_version)"
	[ "$(send_list 3 Differential "$(entry TAG-C)")" = '"status":"VersionMismatch"' ] &&
	    [ "$(send_list 4 Differential "$(entry TAG-C)")" = '"status":"Accepted"' ] &&
	    [ "$(list_version)" = 4 ] &&
	    pass "$v: SendLocalList Differential: old version refused, new applied" ||
	    fail "$v: SendLocalList Differential: version $(list_version)"

	# 2. LocalPreAuthorize false (default): Authorize, then the start.
	a=$(n_calls Authorize)
	sim plug bay1 1 evmax=22000 idtag=TAG-A >/dev/null
	wait_for 15 starts_with_reach TAG-A 1 || fail "$v: TAG-A did not start"
	calls | grep -E '"action":"(Authorize|StartTransaction|TransactionEvent)"' |
	    grep -m1 TAG-A | grep -q '"action":"Authorize"' &&
	    [ "$(n_calls Authorize)" -eq $((a + 1)) ] &&
	    pass "$v: LocalPreAuthorize false: Authorize before the start" ||
	    fail "$v: LocalPreAuthorize false: $(n_calls Authorize) Authorize"

	# 3. LocalPreAuthorize true: TAG-A (Accepted in the list) at once.
	setkey LocalPreAuthorize AuthCtrlr LocalPreAuthorize true
	sim unplug bay1 1 >/dev/null
	wait_for 10 ends_reach 1 || fail "$v: bay1 unplugged, no end"
	a=$(n_calls Authorize)
	sim plug bay1 1 evmax=22000 idtag=TAG-A >/dev/null
	wait_for 15 starts_with_reach TAG-A 2 &&
	    [ "$(n_calls Authorize)" -eq "$a" ] &&
	    pass "$v: LocalPreAuthorize true: TAG-A started without Authorize" ||
	    fail "$v: LocalPreAuthorize true: $(starts_with TAG-A) starts, $(($(n_calls Authorize) - a)) Authorize"

	# 4. Authorize answered Invalid: stopped, no transaction.
	csms '{"cmd":"set","invalidIdTag":"TAG-X"}'
	sim plug bay2 1 evmax=22000 idtag=TAG-X >/dev/null
	wait_for 10 log_has "connector 2: IdToken not authorized (Invalid)" &&
	    wait_for 10 bay_stopped bay2 &&
	    [ "$(starts_with TAG-X)" -eq 0 ] && ! bay_has_tx 1 &&
	    pass "$v: Authorize Invalid: charging stopped, no transaction" ||
	    fail "$v: Authorize Invalid: $(starts_with TAG-X) starts, bay2 $(sim_get bay2 connectors.0.status)"
	sim unplug bay2 1 >/dev/null
	csms '{"cmd":"set","invalidIdTag":null}'
	# TAG-Y, not in the list, answered Accepted: kept in the cache.
	sim plug bay3 1 evmax=22000 idtag=TAG-Y >/dev/null
	wait_for 15 starts_with_reach TAG-Y 1 || fail "$v: TAG-Y did not start"
	sim unplug bay3 1 >/dev/null
	wait_for 10 bay_available 2 || fail "$v: bay3 not available after unplug"

	# 5. A restart keeps the list.
	stop_daemon
	start_daemon "$tmp/edge.conf"
	wait_for 10 connected || fail "$v: not connected after the restart"
	[ "$(list_version)" = 4 ] &&
	    pass "$v: local list version 4 after a restart" ||
	    fail "$v: after a restart: list version $(list_version)"

	# 6. The backend away.
	setkey AllowOfflineTxForUnknownId AuthCtrlr OfflineTxForUnknownIdEnabled false
	stop_csms
	wait_for 15 offline || fail "$v: still connected without a backend"
	# (1.6 has no transaction id offline: the start of TAG-A is seen
	# once the backend is back, below.)
	r2=$(grep -c "connector 2: IdToken not authorized" "$tmp/d.log")
	sim plug bay2 1 evmax=22000 idtag=TAG-A >/dev/null
	sim plug bay3 1 evmax=22000 idtag=TAG-B >/dev/null
	wait_for 10 log_has "connector 3: IdToken not authorized (Blocked)" &&
	    wait_for 10 bay_stopped bay3 && ! bay_has_tx 2 &&
	    pass "$v: offline: TAG-B (Blocked) refused" ||
	    fail "$v: offline: TAG-B: bay3 $(sim_get bay3 connectors.0.status), transaction '$(bay_tx 2)'"
	[ "$(grep -c "connector 2: IdToken not authorized" "$tmp/d.log")" -eq "$r2" ] &&
	    ! bay_stopped bay2 &&
	    pass "$v: offline: TAG-A (in the list) not stopped" ||
	    fail "$v: offline: TAG-A: bay2 $(sim_get bay2 connectors.0.status)"
	sim unplug bay3 1 >/dev/null
	wait_for 10 bay_available 2 || fail "$v: bay3 not available after unplug"
	sim plug bay3 1 evmax=22000 idtag=TAG-U >/dev/null
	wait_for 10 log_has "connector 3: IdToken not authorized (offline, unknown)" &&
	    wait_for 10 bay_stopped bay3 && ! bay_has_tx 2 &&
	    pass "$v: offline: unknown TAG-U refused (AllowOfflineTxForUnknownId false)" ||
	    fail "$v: offline: TAG-U: bay3 $(sim_get bay3 connectors.0.status), transaction '$(bay_tx 2)'"
	sim unplug bay3 1 >/dev/null
	wait_for 10 bay_available 2 || fail "$v: bay3 not available after unplug"
	r3=$(grep -c "connector 3: IdToken not authorized" "$tmp/d.log")
	sim plug bay3 1 evmax=22000 idtag=TAG-Y >/dev/null
	wait_for 10 bay_running 2 || fail "$v: offline: TAG-Y not seen"
	# A refusal would come with the reading that saw the plug.
	if wait_for 3 log_has_n "connector 3: IdToken not authorized" $((r3 + 1)) ||
	    bay_stopped bay3; then
		fail "$v: offline: TAG-Y refused: bay3 $(sim_get bay3 connectors.0.status)"
	else
		pass "$v: offline: TAG-Y (Accepted in the cache) not stopped"
	fi
	sim unplug bay3 1 >/dev/null
	# Back online: the starts queued offline are sent, nothing for B or U.
	stop_daemon
	start_csms
	csms_url
	start_daemon "$tmp/edge.conf"
	wait_for 10 connected || fail "$v: not connected after the backend came back"
	wait_for 15 starts_with_reach TAG-A 1 && wait_for 15 starts_with_reach TAG-Y 1 &&
	    [ "$(starts_with TAG-B)" -eq 0 ] && [ "$(starts_with TAG-U)" -eq 0 ] &&
	    pass "$v: back online: the offline starts of TAG-A and TAG-Y sent, none for TAG-B / TAG-U" ||
	    fail "$v: back online: starts A $(starts_with TAG-A) Y $(starts_with TAG-Y) B $(starts_with TAG-B) U $(starts_with TAG-U)"
	call ClearCache '{}' | grep -q '"status":"Accepted"' &&
	    pass "$v: ClearCache Accepted" || fail "$v: ClearCache not Accepted"

	end_version
}

for v in ${TX_VERSIONS:-1.6 2.0.1}; do
	run_version "$v"
done
finish
