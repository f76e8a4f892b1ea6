#!/bin/sh
# Zero-touch provisioning over OCPP, 1.6 and 2.0.1: the real daemon, the
# real simulator (three 22 kW wallboxes, a car on each) and the strict
# test CSMS (tests/csms).  Per version: a bootstrap file (csms and store
# only) boots with no connectors; the site pushed in a DataTransfer
# (SetSiteConfiguration) brings the chargers online, reported, balanced;
# a lower site cap pushed applies live; a push with five mistakes is
# answered with five error lines and changes nothing; a push that removes
# a charger with a transaction is refused with the reason; a push that
# changes one charger while all three charge leaves every transaction
# alone and the other chargers' Modbus connections open (the site is
# built again without a restart); a charger removed is disconnected and
# its transaction ended; one added comes online and is reported; after a
# restart the pushed site is used without a new push;
# GetSiteConfiguration says where the site came from; a revert goes back
# to provisioning mode; csms.allow-remote-site = false refuses pushes; a
# site written into the file is built live by a reload, which refuses to
# renumber charging connectors and ends a removed charger's transaction.
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
	bootstrap_conf "$v"
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

	# Removing bay1 would renumber connectors with transactions.
	awk '/^charger "bay1"/ { skip = 1 } !skip { print } /^\}/ { skip = 0 }' \
	    "$tmp/site30.conf" >"$tmp/no-bay1.conf"
	r=$(transfer SetSiteConfiguration "$tmp/no-bay1.conf")
	printf '%s\n' "$r" | status_of | grep -qx Rejected &&
	    printf '%s\n' "$r" | data_of | grep -q 'transaction' &&
	    pass "$v: a push renumbering charging connectors: Rejected ($(printf '%s\n' "$r" | data_of | cut -c1-60)...)" ||
	    fail "$v: renumbering push: $r"

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
	one_end() { [ "$(ends | grep -c .)" -eq 1 ]; }
	wait_for 10 one_end && pass "$v: bay3 removed: its transaction ended" ||
	    fail "$v: bay3 removed: ends $(ends | grep -c .): $(ends | head -2)"
	stop_wh=$(ends | grep -oE '"meterStop":[0-9]+|"value":[0-9.]+' |
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
	for c in bay1 bay2 bay3; do sim unplug "$c" 1 >/dev/null; done
	no_tx() { [ "$(ends | grep -c .)" -ge 3 ]; }
	wait_for 15 no_tx || fail "$v: the unplugged cars' transactions did not end"
	# No transaction now, but bay2 pins its connector id: a push that
	# drops bay1 would renumber it and is refused by the checks.
	awk '/^charger "bay1"/ { skip = 1 } !skip { print } /^\}/ { skip = 0 }' \
	    "$tmp/two.conf" | sed 's/^charger "bay2" {$/&\n\tocpp-id = 2/' \
	    >"$tmp/pinned.conf"
	r=$(transfer SetSiteConfiguration "$tmp/pinned.conf")
	printf '%s\n' "$r" | status_of | grep -qx Rejected &&
	    printf '%s\n' "$r" | data_of | grep -q "^SetSiteConfiguration:[0-9]*: option 'charger\[bay2\].ocpp-id': value '2'" &&
	    pass "$v: a pinned ocpp-id refuses the renumbering push" ||
	    fail "$v: pinned ocpp-id: $r"
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
	# Dropping bay1 from the file would renumber charging connectors.
	awk '/^charger "bay1"/ { skip = 1 } !skip { print } /^\}/ { skip = 0 }' \
	    "$tmp/boot.conf" >"$tmp/no-bay1-file.conf"
	cp "$tmp/boot.conf" "$tmp/three.conf"
	cp "$tmp/no-bay1-file.conf" "$tmp/boot.conf"
	b=$(builds)
	ctl '{"cmd":"reload"}' >"$tmp/reload.json"
	grep -q '"ok":false' "$tmp/reload.json" &&
	    grep -q 'has transaction' "$tmp/reload.json" &&
	    [ "$(builds)" -eq "$b" ] && online3 &&
	    pass "$v: a reload renumbering charging connectors: refused, nothing changed" ||
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
