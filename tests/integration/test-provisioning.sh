#!/bin/sh
# Zero-touch provisioning over OCPP, 1.6 and 2.0.1: the real daemon, the
# real simulator (three 22 kW wallboxes, a car on each) and the strict
# test CSMS (tests/csms).  Per version: a bootstrap file (csms and store
# only) boots with no connectors; the site pushed in a DataTransfer
# (SetSiteConfiguration) brings the chargers online, reported, balanced;
# a lower site cap pushed applies live; a push with five mistakes is
# answered with five error lines and changes nothing, one naming a host
# the file does not allow (csms.remote-site-hosts) with one; a push that would
# renumber a connector with a transaction is refused with the reason; the
# middle charger removed while all charge leaves a gap: the last keeps
# its id and transaction, the absent id is never reported and requests
# for it are refused; ocpp-id = 10 gives ids 10.., which bay3 keeps when
# the pin is dropped, across a restart; two pins on one id are refused
# with the clash named; a push that changes one charger while all three
# charge leaves every transaction alone and the other chargers' Modbus
# connections open (the site is built again without a restart); a
# charger removed is disconnected and its transaction ended; one added
# comes online and is reported; after a restart the pushed site is used
# without a new push; GetSiteConfiguration says where the site came
# from; a revert goes back
# to provisioning mode; csms.allow-remote-site = false refuses pushes; a
# site written into the file is built live by a reload, which refuses to
# renumber a charging connector and ends a removed charger's transaction.
# Skipped (77) without node / npm.
set -u
name=test-provisioning
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
    { echo "node / npm not found: skipped"; exit 77; }
. "${top_srcdir:-.}/tests/integration/lib.sh"
. "$S/tests/integration/csms.sh"
csms_identity=prov-site

bays_site "$tmp/site.json" prov-site 0 200
start_sim "$tmp/site.json"
# The site part of the simulator's configuration: what the backend
# pushes (the csms and store sections stay in the gateway's file).
awk '/^(csms|store) \{/ { skip = 1 } !skip { print } /^\}/ { skip = 0 }' \
    "$tmp/edge.conf" | grep -v '^#' >"$tmp/site.conf"

# bootstrap_conf VERSION [EXTRA]: $tmp/boot.conf, the gateway's file with
# nothing but how to reach the CSMS running now and its store.
bootstrap_conf() {
	cat >"$tmp/boot.conf" <<EOF
csms {
	url = "ws://127.0.0.1:$port/ocpp"
	ocpp-version = "$1"
	identity = "$csms_identity"
	retry-backoff-min-s = 1
	retry-backoff-random-s = 0
	${2:-}
}
store {
	path = "$tmp/state-$1.db"
}
http {
	listen = ""
}
EOF
}

# transfer MESSAGE_ID [FILE]: a DataTransfer for vendorId ocpp-edge with
# FILE's text as data; prints the CSMS's call_result line.
transfer() {
	if [ -n "${2:-}" ]; then
		data=$(node -e 'process.stdout.write(JSON.stringify(
		    require("fs").readFileSync(process.argv[1], "utf8")))' "$2")
		call DataTransfer "{\"vendorId\":\"ocpp-edge\",\"messageId\":\"$1\",\"data\":$data}"
	else
		call DataTransfer "{\"vendorId\":\"ocpp-edge\",\"messageId\":\"$1\"}"
	fi
}
status_of() { "$JG" result.status; }
data_of() { "$JG" result.data; }

connected() { [ "$(st cloud.state)" = connected ]; }
starts() { grep -c 'ocpp-edged info: started' "$tmp/d.log"; }
builds() { grep -c 'ocpp-edged info: site built again' "$tmp/d.log"; }
# rebuilt N: the site was built again more than N times (no restart)
# and the backend link is up.
rebuilt() { [ "$(builds)" -gt "$1" ] && ctl_ok && connected; }
# accepted CHARGER: the Modbus connections the simulator accepted for it.
accepted() { sim_get "$1" accepted; }
# links: the websocket connections the CSMS accepted.
links() { grep -c '"event":"connected"' "$tmp/csms.log"; }
online3() {
	[ "$(st chargers.0.online chargers.1.online chargers.2.online |
	    tr '\n' ' ')" = "true true true " ]
}
# statuses_for N [FROM]: how many StatusNotifications the CSMS got for
# connector (1.6) / EVSE (2.0.1) N, from line FROM of its log on;
# status_for N: at least one.
statuses_for() {
	[ "$v" = 1.6 ] && key=connectorId || key=evseId
	tail -n +"${2:-1}" "$tmp/csms.log" | grep '"event":"call"' |
	    grep '"action":"StatusNotification"' | grep -cE "\"$key\":$1[,}]"
}
status_for() { [ "$(statuses_for "$1")" -gt 0 ]; }
all_charging() { limits | grep -qE '^[1-9][0-9]* [1-9][0-9]* [1-9][0-9]* $'; }

run_version() {
	v=$1
	start_csms
	bootstrap_conf "$v" 'remote-site-hosts = "127.0.0.1 ::1"'
	"$EDGED" --check-config "$tmp/boot.conf" >"$tmp/check.out" 2>&1 &&
	    has "$tmp/check.out" "provisioning mode" &&
	    pass "$v: the bootstrap file is valid: provisioning mode" ||
	    fail "$v: bootstrap file: $(tail -2 "$tmp/check.out")"

	# Bootstrap: connected and booted, no connectors, waiting.
	start_daemon "$tmp/boot.conf"
	wait_for 10 connected && pass "$v: bootstrap: connected" ||
	    fail "$v: bootstrap: cloud $(st cloud.state)"
	[ "$(st site_config.source)" = none ] && [ "$(st chargers.0.name)" = missing ] &&
	    pass "$v: bootstrap: no site, no charger" ||
	    fail "$v: bootstrap: source $(st site_config.source)"
	grep '"event":"call"' "$tmp/csms.log" | grep -q '"action":"BootNotification"' &&
	    pass "$v: bootstrap: booted" || fail "$v: bootstrap: no BootNotification"
	transfer GetSiteConfiguration | data_of | grep -q 'source: none' &&
	    pass "$v: GetSiteConfiguration: none yet" ||
	    fail "$v: GetSiteConfiguration in provisioning mode"

	# Other vendors and messages.
	call DataTransfer '{"vendorId":"com.example","messageId":"X"}' |
	    status_of | grep -qx UnknownVendorId &&
	    pass "$v: another vendorId: UnknownVendorId" ||
	    fail "$v: another vendorId not UnknownVendorId"
	transfer SetSomething | status_of | grep -qx UnknownMessageId &&
	    pass "$v: unknown messageId: UnknownMessageId" ||
	    fail "$v: unknown messageId not UnknownMessageId"

	# Commissioned by a push: built live, no restart.
	n=$(starts)
	b=$(builds)
	r=$(transfer SetSiteConfiguration "$tmp/site.conf")
	printf '%s\n' "$r" | status_of | grep -qx Accepted &&
	    pass "$v: site pushed: Accepted ($(printf '%s\n' "$r" | data_of))" ||
	    fail "$v: site pushed: $r"
	wait_for 20 rebuilt "$b" && [ "$(starts)" -eq "$n" ] &&
	    pass "$v: site pushed: built live, no restart" ||
	    fail "$v: not back after the push (starts $(starts), builds $(builds))"
	wait_for 15 online3 && pass "$v: commissioned: three chargers online" ||
	    fail "$v: commissioned: chargers $(st chargers.0.online chargers.1.online chargers.2.online | tr '\n' ' ')"
	wait_for 10 status_for 3 && status_for 1 && status_for 2 &&
	    pass "$v: commissioned: statuses of connectors 1..3 reported" ||
	    fail "$v: commissioned: statuses not reported"
	# DLB 40 kW over three cars: 13300 W each.
	wait_for 10 is_limits "13300 13300 13300" &&
	    pass "$v: commissioned: balanced, 13300 W each" ||
	    fail "$v: commissioned: limits $(limits)"
	[ "$(st site_config.source)" = backend ] &&
	    [ "$(st site_config.version)" = 1 ] &&
	    pass "$v: status: site from the backend, version $(st site_config.version)" ||
	    fail "$v: status: source $(st site_config.source)"
	# The origin, read-only, in the device model (1.6: two keys).
	if [ "$v" = 1.6 ]; then
		r=$(call GetConfiguration '{"key":["SiteConfigurationSource","SiteConfigurationVersion"]}')
		got=$(printf '%s\n' "$r" | "$JG" result.configurationKey.0.value \
		    result.configurationKey.1.value | tr '\n' ' ')
	else
		r=$(call GetVariables '{"getVariableData":[{"component":{"name":"SiteConfiguration"},"variable":{"name":"Source"}},{"component":{"name":"SiteConfiguration"},"variable":{"name":"Version"}}]}')
		got=$(printf '%s\n' "$r" | "$JG" result.getVariableResult.0.attributeValue \
		    result.getVariableResult.1.attributeValue | tr '\n' ' ')
		call GetBaseReport '{"requestId":7,"reportBase":"FullInventory"}' >/dev/null
		report_has_site() { grep '"action":"NotifyReport"' "$tmp/csms.log" |
		    grep -q '"name":"SiteConfiguration"'; }
		wait_for 10 report_has_site &&
		    pass "$v: GetBaseReport shows the SiteConfiguration component" ||
		    fail "$v: no SiteConfiguration in NotifyReport"
	fi
	[ "$got" = "backend 1 " ] &&
	    pass "$v: device model: site configuration from the backend, version 1" ||
	    fail "$v: device model: $got ($r)"
	wait_for 10 all_charging || fail "$v: the cars do not all charge"
	tx0=$(tx_msgs | grep -c .)

	# A lower site cap: live, no restart, transactions alone.
	n=$(starts)
	sed 's/available-power-kw = 40/available-power-kw = 30/' \
	    "$tmp/site.conf" >"$tmp/site30.conf"
	r=$(transfer SetSiteConfiguration "$tmp/site30.conf")
	printf '%s\n' "$r" | data_of | grep -q 'applied live' &&
	    pass "$v: site cap 30 kW: applied live" || fail "$v: site cap: $r"
	wait_for 10 is_limits "10000 10000 10000" &&
	    pass "$v: site cap 30 kW: 10000 W each" ||
	    fail "$v: site cap 30 kW: limits $(limits)"
	[ "$(starts)" -eq "$n" ] || fail "$v: site cap: the daemon restarted"

	# Five mistakes: five lines, nothing changed.
	cp "$tmp/site30.conf" "$tmp/bad.conf"
	sed -i 's/mode = "dlb"/mode = "turbo"\n\treserve-pct = 60/' "$tmp/bad.conf"
	sed -i '0,/max-power-kw = 22/s//max-power-kw = 99/' "$tmp/bad.conf"
	sed -i '0,/unit-id = 1/s//unit-id = 300/' "$tmp/bad.conf"
	printf 'log {\n\tlevel = "debug"\n}\n' >>"$tmp/bad.conf"
	before=$(transfer GetSiteConfiguration | data_of)
	r=$(transfer SetSiteConfiguration "$tmp/bad.conf")
	printf '%s\n' "$r" | data_of >"$tmp/errors.txt"
	printf '%s\n' "$r" | status_of | grep -qx Rejected &&
	    [ "$(grep -c '^SetSiteConfiguration:[0-9]*: ' "$tmp/errors.txt")" -eq 5 ] &&
	    pass "$v: five mistakes: Rejected with five error lines" ||
	    fail "$v: five mistakes: $(cat "$tmp/errors.txt")"
	log_line=$(grep -n '^log {' "$tmp/bad.conf" | cut -d: -f1)
	grep -q "^SetSiteConfiguration:$log_line: section 'log'" "$tmp/errors.txt" ||
	    fail "$v: five mistakes: no line $log_line for the log section"
	[ "$(transfer GetSiteConfiguration | data_of)" = "$before" ] &&
	    is_limits "10000 10000 10000" &&
	    pass "$v: five mistakes: nothing changed" ||
	    fail "$v: five mistakes: the site changed, limits $(limits)"

	# A host the file does not allow (remote-site-hosts above): one
	# error line, on bay2's host, and nothing changed.
	sed '/^charger "bay2" {$/,/^}/s/host = "127.0.0.1"/host = "127.0.0.2"/' \
	    "$tmp/site30.conf" >"$tmp/elsewhere.conf"
	host_line=$(grep -n 'host = "127.0.0.2"' "$tmp/elsewhere.conf" | cut -d: -f1)
	r=$(transfer SetSiteConfiguration "$tmp/elsewhere.conf")
	printf '%s\n' "$r" | data_of >"$tmp/errors.txt"
	printf '%s\n' "$r" | status_of | grep -qx Rejected &&
	    [ "$(grep -c . "$tmp/errors.txt")" -eq 1 ] &&
	    grep -q "^SetSiteConfiguration:$host_line: option 'charger\[bay2\].host': value '127.0.0.2': not allowed in a pushed site" "$tmp/errors.txt" &&
	    [ "$(transfer GetSiteConfiguration | data_of)" = "$before" ] &&
	    pass "$v: a host the file does not allow: Rejected, line $host_line" ||
	    fail "$v: a host the file does not allow: $(cat "$tmp/errors.txt")"

	# Pinning bay3 elsewhere while it charges would move its transaction.
	sed 's/^charger "bay3" {$/&\n\tocpp-id = 10/' "$tmp/site30.conf" \
	    >"$tmp/bay3-at-10.conf"
	r=$(transfer SetSiteConfiguration "$tmp/bay3-at-10.conf")
	printf '%s\n' "$r" | status_of | grep -qx Rejected &&
	    printf '%s\n' "$r" | data_of | grep -q 'connector 3 (bay3/1) has transaction .* would number it 10' &&
	    pass "$v: a push renumbering a charging connector: Rejected ($(printf '%s\n' "$r" | data_of | cut -c1-60)...)" ||
	    fail "$v: renumbering push: $r"

	# bay2, the middle charger, leaves while all three charge: Accepted,
	# its transaction ends; bay3 keeps connector 3 and its transaction.
	# Id 2 is a gap: never reported, a request for it refused.
	[ "$v" = 1.6 ] && key=connectorId || key=evseId
	b=$(builds)
	e0=$(ends | grep -c .)
	tx3=$(st chargers.2.connectors.0.transaction)
	log0=$(wc -l <"$tmp/csms.log")
	awk '/^charger "bay2"/ { skip = 1 } !skip { print } /^\}/ { skip = 0 }' \
	    "$tmp/site30.conf" >"$tmp/no-bay2.conf"
	r=$(transfer SetSiteConfiguration "$tmp/no-bay2.conf")
	printf '%s\n' "$r" | status_of | grep -qx Accepted &&
	    pass "$v: the middle charger removed while all charge: Accepted" ||
	    fail "$v: bay2 removed: $r"
	wait_for 20 rebuilt "$b" || fail "$v: not back after bay2 removed"
	one_more_end() { [ "$(ends | grep -c .)" -eq "$((e0 + 1))" ]; }
	wait_for 10 one_more_end || fail "$v: bay2 removed: its transaction did not end"
	[ "$(st chargers.1.name chargers.1.connectors.0.ocpp_id \
	    chargers.1.connectors.0.transaction | tr '\n' ' ')" = "bay3 3 $tx3 " ] &&
	    [ "$(ends | grep -c .)" -eq "$((e0 + 1))" ] &&
	    pass "$v: bay2 removed: bay3 keeps connector 3 and transaction $tx3" ||
	    fail "$v: bay2 removed: $(st chargers.1.name chargers.1.connectors.0.ocpp_id chargers.1.connectors.0.transaction | tr '\n' ' ')(was $tx3), ends $e0 -> $(ends | grep -c .)"
	if [ "$v" = 1.6 ]; then
		absent() { # the answers to requests for connector $1
			call RemoteStartTransaction "{\"connectorId\":$1,\"idTag\":\"GAP1\"}" | status_of
			call TriggerMessage "{\"requestedMessage\":\"StatusNotification\",\"connectorId\":$1}" | status_of
			call ChangeAvailability "{\"connectorId\":$1,\"type\":\"Inoperative\"}" | status_of
			call UnlockConnector "{\"connectorId\":$1}" | status_of
			call GetCompositeSchedule "{\"connectorId\":$1,\"duration\":60}" | status_of
			call SetChargingProfile "{\"connectorId\":$1,\"csChargingProfiles\":{\"chargingProfileId\":77,\"stackLevel\":1,\"chargingProfilePurpose\":\"TxDefaultProfile\",\"chargingProfileKind\":\"Absolute\",\"chargingSchedule\":{\"chargingRateUnit\":\"W\",\"chargingSchedulePeriod\":[{\"startPeriod\":0,\"limit\":11000}]}}}" | status_of
		}
		want="Rejected Rejected Rejected NotSupported Rejected Rejected "
	else
		absent() {
			call RequestStartTransaction "{\"evseId\":$1,\"remoteStartId\":5,\"idToken\":{\"idToken\":\"GAP1\",\"type\":\"Central\"}}" | status_of
			call TriggerMessage "{\"requestedMessage\":\"StatusNotification\",\"evse\":{\"id\":$1,\"connectorId\":1}}" | status_of
			call ChangeAvailability "{\"operationalStatus\":\"Inoperative\",\"evse\":{\"id\":$1}}" | status_of
			call UnlockConnector "{\"evseId\":$1,\"connectorId\":1}" | status_of
			call GetCompositeSchedule "{\"evseId\":$1,\"duration\":60}" | status_of
			call SetChargingProfile "{\"evseId\":$1,\"chargingProfile\":{\"id\":77,\"stackLevel\":1,\"chargingProfilePurpose\":\"TxDefaultProfile\",\"chargingProfileKind\":\"Absolute\",\"chargingSchedule\":[{\"id\":1,\"chargingRateUnit\":\"W\",\"chargingSchedulePeriod\":[{\"startPeriod\":0,\"limit\":11000}]}]}}" | status_of
		}
		want="Rejected Rejected Rejected UnknownConnector Rejected Rejected "
	fi
	got=$(absent 2 | tr '\n' ' ')
	[ "$got" = "$want" ] &&
	    pass "$v: requests for the absent id 2: $got" ||
	    fail "$v: requests for the absent id 2: $got, want $want"
	# (the same TriggerMessage for connector 3 is taken)
	call TriggerMessage "$([ "$v" = 1.6 ] &&
	    printf '%s\n' '{"requestedMessage":"StatusNotification","connectorId":3}' ||
	    printf '%s\n' '{"requestedMessage":"StatusNotification","evse":{"id":3,"connectorId":1}}')" |
	    status_of | grep -qx Accepted || fail "$v: TriggerMessage for connector 3 refused"
	more3() { [ "$(statuses_for 3 "$((log0 + 1))")" -ge 2 ]; }
	wait_for 10 more3 || fail "$v: bay2 removed: connector 3 not reported again"
	# (from bay2's transaction end on, which the removal sends first)
	endl=$(grep -nE '"action":"StopTransaction"|"eventType":"Ended"' \
	    "$tmp/csms.log" | grep '"event":"call"' | tail -1 | cut -d: -f1)
	tail -n +"$((endl + 1))" "$tmp/csms.log" | grep '"event":"call"' |
	    grep -E '"action":"(StatusNotification|MeterValues|TransactionEvent|StartTransaction)"' |
	    grep -E "\"$key\":2[,}]|\"evse\":\\{\"id\":2[,}]" >"$tmp/gap.txt"
	[ ! -s "$tmp/gap.txt" ] && [ "$(statuses_for 1 "$((log0 + 1))")" -gt 0 ] &&
	    pass "$v: bay2 removed: nothing reported for id 2 after its transaction ended" ||
	    fail "$v: bay2 removed: for id 2: $(head -2 "$tmp/gap.txt")"
	# bay2 back: after bay1, on its id 2 again; its car starts anew.
	b=$(builds)
	s0=$(tx_msgs | grep -vcE '"action":"StopTransaction"|"eventType":"Ended"')
	r=$(transfer SetSiteConfiguration "$tmp/site30.conf")
	printf '%s\n' "$r" | status_of | grep -qx Accepted || fail "$v: bay2 back: $r"
	wait_for 20 rebuilt "$b" || fail "$v: not back after bay2 added again"
	one_more_start() { [ "$(tx_msgs | grep -vcE '"action":"StopTransaction"|"eventType":"Ended"')" -gt "$s0" ]; }
	wait_for 15 online3 && wait_for 15 one_more_start &&
	    [ "$(st chargers.1.name chargers.1.connectors.0.ocpp_id | tr '\n' ' ')" = "bay2 2 " ] &&
	    pass "$v: bay2 back on connector 2, a new transaction" ||
	    fail "$v: bay2 back: $(st chargers.1.name chargers.1.connectors.0.ocpp_id | tr '\n' ' ')"
	wait_for 10 all_charging || fail "$v: bay2 back: not all charging"
	tx0=$(tx_msgs | grep -c .)

	# One charger changed while all three charge: bay3 down to 11 kW
	# and the site back to 40 kW; the others share the rest.  bay1 and
	# bay2 keep their Modbus connections; bay3 is connected anew.
	n=$(starts)
	b=$(builds)
	a1=$(accepted bay1)
	a2=$(accepted bay2)
	a3=$(accepted bay3)
	l=$(links)
	log0=$(wc -l <"$tmp/csms.log")
	awk '/^charger "bay3"/ { c = 1 } c && /max-power-kw/ { sub(/22/, "11"); c = 0 } { print }' \
	    "$tmp/site.conf" >"$tmp/bay3.conf"
	r=$(transfer SetSiteConfiguration "$tmp/bay3.conf")
	printf '%s\n' "$r" | status_of | grep -qx Accepted ||
	    fail "$v: bay3 changed: $r"
	wait_for 20 rebuilt "$b" || fail "$v: not back after the bay3 push"
	[ "$(starts)" -eq "$n" ] || fail "$v: bay3 changed: the daemon restarted"
	wait_for 10 online3 || fail "$v: bay3 changed: chargers not online"
	[ "$(accepted bay1) $(accepted bay2)" = "$a1 $a2" ] &&
	    [ "$(accepted bay3)" -gt "$a3" ] &&
	    pass "$v: bay3 changed: bay1 and bay2 kept their connections, bay3 reconnected" ||
	    fail "$v: bay3 changed: connections accepted bay1 $a1 -> $(accepted bay1), bay2 $a2 -> $(accepted bay2), bay3 $a3 -> $(accepted bay3)"
	[ "$(links)" -eq "$l" ] &&
	    pass "$v: bay3 changed: the backend link stayed up" ||
	    fail "$v: bay3 changed: the backend link was connected again"
	has "$tmp/d.log" 'provisioning: charger "bay3" changed' &&
	    pass "$v: logged: charger bay3 changed" ||
	    fail "$v: the change of bay3 not logged"
	wait_for 15 online3 || fail "$v: bay3 changed: chargers not online"
	wait_for 10 is_limits "14500 14500 11000" &&
	    pass "$v: bay3 changed: 14500 14500 11000 W" ||
	    fail "$v: bay3 changed: limits $(limits)"
	wait_for 10 all_charging || fail "$v: bay3 changed: not all charging"
	[ "$(tx_msgs | grep -c .)" -eq "$tx0" ] &&
	    pass "$v: bay3 changed: no transaction started or ended" ||
	    fail "$v: bay3 changed: transaction messages: $(tx_msgs | tail -3)"
	# (statuses reported again, but never a charging connector as free)
	[ "$v" = 1.6 ] && key=connectorId || key=evseId
	tail -n +"$((log0 + 1))" "$tmp/csms.log" | grep '"event":"call"' |
	    grep '"action":"StatusNotification"' |
	    grep -E "\"$key\":[123][,}]" >"$tmp/st123.txt"
	[ "$(statuses_for 1 "$((log0 + 1))")" -gt 0 ] &&
	    [ "$(statuses_for 2 "$((log0 + 1))")" -gt 0 ] &&
	    ! grep -q '"Available"' "$tmp/st123.txt" &&
	    pass "$v: bay3 changed: every connector reported again, none as free" ||
	    fail "$v: bay3 changed: $(grep -c . "$tmp/st123.txt") statuses, $(grep -c '"Available"' "$tmp/st123.txt") Available"

	# Restart: the pushed site without a new push.
	stop_daemon
	start_daemon "$tmp/boot.conf"
	wait_for 10 connected || fail "$v: not connected after restart"
	wait_for 15 online3 && [ "$(st site_config.source)" = backend ] &&
	    pass "$v: restarted: the backend's site, no push needed" ||
	    fail "$v: restarted: source $(st site_config.source)"
	# A reload reads the file again under the backend's site: nothing
	# to restart for, the site stays the backend's.
	ctl '{"cmd":"reload"}' >"$tmp/reload.json"
	[ "$("$JG" result.restart_needed <"$tmp/reload.json")" = "[]" ] &&
	    [ "$(st site_config.source)" = backend ] &&
	    pass "$v: reload under the backend's site: nothing to restart for" ||
	    fail "$v: reload: $(cat "$tmp/reload.json")"
	transfer GetSiteConfiguration | data_of >"$tmp/get.txt"
	has "$tmp/get.txt" "source: backend, version" &&
	    has "$tmp/get.txt" 'charger "bay3" {' &&
	    has "$tmp/get.txt" 'max-power-kw = 11' &&
	    ! has "$tmp/get.txt" 'csms {' &&
	    pass "$v: GetSiteConfiguration: the backend's site, no csms" ||
	    fail "$v: GetSiteConfiguration: $(head -3 "$tmp/get.txt")"

	# bay3 leaves the site while charging: its transaction ends with the
	# energy it read; bay1 and bay2 keep theirs.
	awk '/^charger "bay3"/ { skip = 1 } !skip { print } /^\}/ { skip = 0 }' \
	    "$tmp/bay3.conf" >"$tmp/two.conf"
	wh=$(sim_get bay3 connectors.0.energy_wh | cut -d. -f1)
	e0=$(ends | grep -c .)
	b=$(builds)
	a1=$(accepted bay1)
	a2=$(accepted bay2)
	r=$(transfer SetSiteConfiguration "$tmp/two.conf")
	printf '%s\n' "$r" | status_of | grep -qx Accepted || fail "$v: bay3 removed: $r"
	wait_for 20 rebuilt "$b" || fail "$v: not back after bay3 removed"
	[ "$(accepted bay1) $(accepted bay2)" = "$a1 $a2" ] &&
	    [ "$(sim_get bay3 connections)" = 0 ] &&
	    pass "$v: bay3 removed: its connection closed, bay1 and bay2 kept theirs" ||
	    fail "$v: bay3 removed: bay3 connections $(sim_get bay3 connections), accepted bay1 $a1 -> $(accepted bay1), bay2 $a2 -> $(accepted bay2)"
	one_end() { [ "$(ends | grep -c .)" -eq "$((e0 + 1))" ]; }
	wait_for 10 one_end && pass "$v: bay3 removed: its transaction ended" ||
	    fail "$v: bay3 removed: ends $e0 -> $(ends | grep -c .): $(ends | tail -2)"
	stop_wh=$(ends | tail -1 | grep -oE '"meterStop":[0-9]+|"value":[0-9.]+' |
	    head -1 | grep -oE '[0-9]+' | head -1)
	# (the car charges on: the last reading within 20 Wh of the one
	# taken just before the push)
	[ -n "$stop_wh" ] && [ "$((stop_wh + 20))" -ge "${wh:-0}" ] &&
	    [ "$stop_wh" -le "$((${wh:-0} + 20))" ] &&
	    pass "$v: bay3 removed: ended with the charger's energy, $stop_wh Wh" ||
	    fail "$v: bay3 removed: ended with ${stop_wh:-none} Wh, the charger read ${wh:-?}"
	has "$tmp/d.log" 'provisioning: charger "bay3" removed' ||
	    fail "$v: the removal of bay3 not logged"
	two_limits() { [ "$(sim_get bay1 connectors.0.limits.power_w) $(sim_get bay2 connectors.0.limits.power_w)" = "$1" ]; }
	wait_for 10 two_limits "20000 20000" &&
	    pass "$v: bay3 removed: bay1 and bay2 share 40 kW, 20000 W each" ||
	    fail "$v: bay3 removed: limits $(limits)"

	# bay3 added again while bay1 and bay2 charge: it comes online and
	# is reported; bay1 and bay2 keep their connections.
	b=$(builds)
	s3=$(statuses_for 3)
	r=$(transfer SetSiteConfiguration "$tmp/bay3.conf")
	printf '%s\n' "$r" | status_of | grep -qx Accepted || fail "$v: bay3 added: $r"
	wait_for 20 rebuilt "$b" || fail "$v: not back after bay3 added"
	more_status3() { [ "$(statuses_for 3)" -gt "$s3" ]; }
	wait_for 15 online3 && wait_for 10 more_status3 &&
	    pass "$v: bay3 added: online, connector 3 reported" ||
	    fail "$v: bay3 added: online $(st chargers.2.online), statuses of 3: $s3 -> $(statuses_for 3)"
	[ "$(accepted bay1) $(accepted bay2)" = "$a1 $a2" ] &&
	    pass "$v: bay3 added: bay1 and bay2 kept their connections" ||
	    fail "$v: bay3 added: accepted bay1 $a1 -> $(accepted bay1), bay2 $a2 -> $(accepted bay2)"
	wait_for 10 is_limits "14500 14500 11000" &&
	    pass "$v: bay3 added: 14500 14500 11000 W" ||
	    fail "$v: bay3 added: limits $(limits)"
	has "$tmp/d.log" 'provisioning: charger "bay3" added' ||
	    fail "$v: the addition of bay3 not logged"

	# The transactions end (cars unplugged), then a revert: provisioning
	# mode again (the file has no site).
	e0=$(ends | grep -c .)
	for c in bay1 bay2 bay3; do sim unplug "$c" 1 >/dev/null; done
	no_tx() { [ "$(ends | grep -c .)" -ge "$((e0 + 3))" ]; }
	wait_for 15 no_tx || fail "$v: the unplugged cars' transactions did not end"
	# No transaction now: bay3 pinned at 10 takes ids 10.., 3 is a gap.
	sed 's/^charger "bay3" {$/&\n\tocpp-id = 10/' "$tmp/bay3.conf" \
	    >"$tmp/pin10.conf"
	b=$(builds)
	log0=$(wc -l <"$tmp/csms.log")
	r=$(transfer SetSiteConfiguration "$tmp/pin10.conf")
	printf '%s\n' "$r" | status_of | grep -qx Accepted || fail "$v: bay3 at 10: $r"
	wait_for 20 rebuilt "$b" || fail "$v: not back after bay3 pinned at 10"
	status10() { [ "$(statuses_for 10 "$((log0 + 1))")" -gt 0 ]; }
	wait_for 10 status10 && [ "$(st chargers.2.connectors.0.ocpp_id)" = 10 ] &&
	    pass "$v: ocpp-id = 10: bay3 is connector 10, reported" ||
	    fail "$v: ocpp-id = 10: id $(st chargers.2.connectors.0.ocpp_id), statuses of 10: $(statuses_for 10 "$((log0 + 1))")"
	# Every connector's status asked for: 1, 2 and 10, never 3.
	log0=$(wc -l <"$tmp/csms.log")
	call TriggerMessage '{"requestedMessage":"StatusNotification"}' |
	    status_of | grep -qx Accepted || fail "$v: TriggerMessage refused"
	status_1_2_10() {
		[ "$(statuses_for 1 "$((log0 + 1))")" -gt 0 ] &&
		    [ "$(statuses_for 2 "$((log0 + 1))")" -gt 0 ] && status10
	}
	wait_for 10 status_1_2_10 &&
	    [ "$(statuses_for 3 "$((log0 + 1))")" -eq 0 ] &&
	    pass "$v: every status asked for: 1, 2 and 10, not 3" ||
	    fail "$v: statuses asked for: 3 reported $(statuses_for 3 "$((log0 + 1))") times"
	if [ "$v" = 1.6 ]; then
		r=$(call GetConfiguration '{"key":["NumberOfConnectors"]}')
		[ "$(printf '%s\n' "$r" | "$JG" result.configurationKey.0.value)" = 10 ] &&
		    pass "$v: NumberOfConnectors is the highest id, 10" ||
		    fail "$v: NumberOfConnectors: $r"
	else
		r=$(call GetVariables '{"getVariableData":[{"component":{"name":"EVSE","evse":{"id":3}},"variable":{"name":"AvailabilityState"}},{"component":{"name":"EVSE","evse":{"id":10}},"variable":{"name":"AvailabilityState"}}]}')
		[ "$(printf '%s\n' "$r" | "$JG" result.getVariableResult.0.attributeStatus \
		    result.getVariableResult.1.attributeStatus | tr '\n' ' ')" = "UnknownComponent Accepted " ] &&
		    pass "$v: device model: EVSE 10, no EVSE 3" ||
		    fail "$v: device model with a gap: $r"
		call GetBaseReport '{"requestId":8,"reportBase":"FullInventory"}' >/dev/null
		report8() { grep '"action":"NotifyReport"' "$tmp/csms.log" |
		    grep -E '"requestId":8[,}]' | grep -q '"tbc":false'; }
		wait_for 10 report8 || fail "$v: no complete NotifyReport 8"
		grep '"action":"NotifyReport"' "$tmp/csms.log" |
		    grep -E '"requestId":8[,}]' >"$tmp/report8.txt"
		grep -q '"evse":{"id":10,' "$tmp/report8.txt" &&
		    ! grep -q '"evse":{"id":3,' "$tmp/report8.txt" &&
		    pass "$v: NotifyReport: EVSE 10, no EVSE 3" ||
		    fail "$v: NotifyReport with a gap: EVSEs $(grep -oE '"evse":\{"id":[0-9]+' "$tmp/report8.txt" | sort -u | tr '\n' ' ')"
	fi
	# A pin over another charger's ids: the checks name the clash.
	sed 's/^charger "bay2" {$/&\n\tocpp-id = 10/' "$tmp/pin10.conf" \
	    >"$tmp/clash.conf"
	r=$(transfer SetSiteConfiguration "$tmp/clash.conf")
	printf '%s\n' "$r" | status_of | grep -qx Rejected &&
	    printf '%s\n' "$r" | data_of | grep -q "^SetSiteConfiguration:[0-9]*: option 'charger\[bay3\].ocpp-id': value '10': ids 10..10 clash with charger \"bay2\"" &&
	    pass "$v: two chargers pinned at 10: Rejected, the clash named" ||
	    fail "$v: pin clash: $r"
	# The pin dropped: bay3 keeps id 10 (kept by its name), across a
	# restart too.
	b=$(builds)
	r=$(transfer SetSiteConfiguration "$tmp/bay3.conf")
	printf '%s\n' "$r" | status_of | grep -qx Accepted || fail "$v: pin dropped: $r"
	wait_for 20 rebuilt "$b" && wait_for 15 online3 &&
	    [ "$(st chargers.2.connectors.0.ocpp_id)" = 10 ] &&
	    pass "$v: the pin dropped: bay3 keeps id 10" ||
	    fail "$v: the pin dropped: bay3 on $(st chargers.2.connectors.0.ocpp_id)"
	stop_daemon
	start_daemon "$tmp/boot.conf"
	wait_for 10 connected && wait_for 15 online3 &&
	    [ "$(st chargers.0.connectors.0.ocpp_id chargers.1.connectors.0.ocpp_id \
	    chargers.2.connectors.0.ocpp_id | tr '\n' ' ')" = "1 2 10 " ] &&
	    pass "$v: restarted: the ids kept, 1 2 10" ||
	    fail "$v: restarted: ids $(st chargers.0.connectors.0.ocpp_id chargers.1.connectors.0.ocpp_id chargers.2.connectors.0.ocpp_id | tr '\n' ' ')"
	b=$(builds)
	r=$(transfer RevertSiteConfiguration)
	printf '%s\n' "$r" | status_of | grep -qx Accepted ||
	    fail "$v: revert: $r"
	wait_for 20 rebuilt "$b" || fail "$v: not back after the revert"
	[ "$(st site_config.source)" = none ] && [ "$(st chargers.0.name)" = missing ] &&
	    pass "$v: reverted: provisioning mode again" ||
	    fail "$v: reverted: source $(st site_config.source)"
	for c in bay1 bay2 bay3; do sim plug "$c" 1 evmax=22000 >/dev/null; done

	# The local switch refuses pushes.
	stop_daemon
	bootstrap_conf "$v" 'allow-remote-site = "false"'
	start_daemon "$tmp/boot.conf"
	wait_for 10 connected || fail "$v: not connected (allow-remote-site)"
	r=$(transfer SetSiteConfiguration "$tmp/site.conf")
	printf '%s\n' "$r" | status_of | grep -qx Rejected &&
	    printf '%s\n' "$r" | data_of | grep -q 'allow-remote-site = false' &&
	    pass "$v: allow-remote-site = false: Rejected with the reason" ||
	    fail "$v: allow-remote-site = false: $r"
	[ "$(st site_config.source)" = none ] ||
	    fail "$v: allow-remote-site = false: the site changed"

	# The site written into the file and reloaded: built live, as a
	# push is; the cars plugged in start their transactions.
	n=$(starts)
	b=$(builds)
	s0=$(tx_msgs | grep -vcE '"action":"StopTransaction"|"eventType":"Ended"')
	cat "$tmp/site.conf" >>"$tmp/boot.conf"
	ctl '{"cmd":"reload"}' >"$tmp/reload.json"
	three_started() { [ "$(tx_msgs | grep -vcE '"action":"StopTransaction"|"eventType":"Ended"')" -ge "$((s0 + 3))" ]; }
	wait_for 20 rebuilt "$b" && wait_for 15 online3 &&
	    [ "$(st site_config.source)" = file ] && [ "$(starts)" -eq "$n" ] &&
	    wait_for 15 three_started &&
	    pass "$v: reload: the file's site built live, three transactions" ||
	    fail "$v: reload: source $(st site_config.source), builds $(builds), $(cat "$tmp/reload.json")"
	# Pinning bay2 elsewhere in the file would move its transaction.
	cp "$tmp/boot.conf" "$tmp/three.conf"
	sed -i 's/^charger "bay2" {$/&\n\tocpp-id = 20/' "$tmp/boot.conf"
	b=$(builds)
	ctl '{"cmd":"reload"}' >"$tmp/reload.json"
	grep -q '"ok":false' "$tmp/reload.json" &&
	    grep -q 'has transaction' "$tmp/reload.json" &&
	    [ "$(builds)" -eq "$b" ] && online3 &&
	    pass "$v: a reload renumbering a charging connector: refused, nothing changed" ||
	    fail "$v: renumbering reload: $(cat "$tmp/reload.json")"
	# bay3 dropped from the file while charging: its transaction ends,
	# bay1 and bay2 keep their connections.
	awk '/^charger "bay3"/ { skip = 1 } !skip { print } /^\}/ { skip = 0 }' \
	    "$tmp/three.conf" >"$tmp/boot.conf"
	e0=$(ends | grep -c .)
	a1=$(accepted bay1)
	a2=$(accepted bay2)
	ctl '{"cmd":"reload"}' >"$tmp/reload.json"
	one_more_end() { [ "$(ends | grep -c .)" -eq "$((e0 + 1))" ]; }
	wait_for 20 rebuilt "$b" && wait_for 10 one_more_end &&
	    [ "$(accepted bay1) $(accepted bay2)" = "$a1 $a2" ] &&
	    [ "$(sim_get bay3 connections)" = 0 ] &&
	    has "$tmp/d.log" 'reload: charger "bay3" removed' &&
	    pass "$v: reload without bay3: its transaction ended, bay1 and bay2 kept their connections" ||
	    fail "$v: reload without bay3: ends $e0 -> $(ends | grep -c .), accepted bay1 $a1 -> $(accepted bay1), bay2 $a2 -> $(accepted bay2), $(cat "$tmp/reload.json")"

	no_violations "$v"
	stop_daemon
	stop_csms
}

for v in ${PROV_VERSIONS:-1.6 2.0.1}; do
	run_version "$v"
done
finish
