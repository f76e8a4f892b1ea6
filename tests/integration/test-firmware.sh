#!/bin/sh
# UpdateFirmware end to end, OCPP 1.6 and 2.0.1: the real daemon, the real
# simulator and the strict test CSMS.  Two AC Wallboxes (register 30002,
# the firmware URL) and an AC Single (no such register in the manual):
# the URL goes to the two Wallboxes only; the simulated chargers take
# it, show status 9 while they install, restart and come back with the
# new version: Downloading, Downloaded, Installing, Installed.  One that
# comes back with its old version: InstallationFailed.  A URL the chargers
# refuse (not HTTP(S)): DownloadFailed.  2.0.1: a retrieveDateTime ahead
# gives DownloadScheduled first; every status but Idle carries the
# update's requestId; a second update while one runs is Rejected and does
# not change that requestId.  Skipped (77) without node / npm.
set -u
name=test-firmware
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
    { echo "node / npm not found: skipped"; exit 77; }
. "${top_srcdir:-.}/tests/integration/lib.sh"
. "$S/tests/integration/csms.sh"
csms_identity=fw-site

cat >"$tmp/site.json" <<'JSON'
{ "site": { "id": "fw-site", "voltage_v": 230, "available_power_kw": 40,
            "main_breaker_a": 100, "household_w": 0 },
  "follow_delay_ms": 200,
  "chargers": [
    { "name": "bay1", "model": "autel-ac-wallbox", "evs": [ { "connector": 1, "evmax_w": 11000 } ] },
    { "name": "bay2", "model": "autel-ac-wallbox", "evs": [] },
    { "name": "bay3", "model": "autel-single", "evs": [] } ] }
JSON
start_sim "$tmp/site.json"
cp "$tmp/edge.conf" "$tmp/base.conf"

# statuses: the FirmwareStatusNotification statuses the CSMS got, in order,
# space-separated.
fw_calls() { grep '"event":"call"' "$tmp/csms.log" | grep '"action":"FirmwareStatusNotification"'; }
statuses() { fw_calls | sed 's/.*"status":"\([A-Za-z]*\)".*/\1/' | tr '\n' ' '; }
ends_with() { case "$(statuses)" in *"$1 ") return 0 ;; esac; return 1; }
connected() { [ "$(st cloud.state)" = connected ]; }
online3() { [ "$(st chargers.0.online chargers.1.online chargers.2.online | tr '\n' ' ')" = "true true true " ]; }
iso() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }

# update VERSION URL [RETRIEVE] [REQUEST_ID]: an UpdateFirmware; prints
# the answer.
update() {
	if [ "$1" = 1.6 ]; then
		call UpdateFirmware "{\"location\":\"$2\",\"retrieveDate\":\"${3:-$(iso '-1 min')}\"}"
	else
		call UpdateFirmware "{\"requestId\":${4:-1},\"firmware\":{\"location\":\"$2\",\"retrieveDateTime\":\"${3:-$(iso '-1 min')}\"}}"
	fi
}

run_version() {
	v=$1
	start_csms
	csms_conf "$v"
	start_daemon "$tmp/edge.conf"
	wait_for 10 connected && wait_for 10 online3 ||
	    fail "$v: not connected / chargers not online"
	fw3=$(sim_get bay3 fw_updates)
	old3=$(sim_get bay3 firmware)

	# 1. Both Wallboxes install V2-$v.
	sim firmware bay1 ok "V2-$v" >/dev/null
	sim firmware bay2 ok "V2-$v" >/dev/null
	if [ "$v" = 1.6 ]; then
		update "$v" "http://127.0.0.1:9/fw/V2-$v.bin" >"$tmp/ans"
		grep -q '"result":{}' "$tmp/ans" || fail "$v: answer $(cat "$tmp/ans")"
		want="Downloading Downloaded Installing Installed "
	else
		# (retrieve 3 s ahead: scheduled first)
		update "$v" "http://127.0.0.1:9/fw/V2-$v.bin" "$(iso '+3 sec')" 7 >"$tmp/ans"
		grep -q '"status":"Accepted"' "$tmp/ans" || fail "$v: answer $(cat "$tmp/ans")"
		update "$v" "http://127.0.0.1:9/fw/other.bin" "" 8 |
		    grep -q '"status":"Rejected"' &&
		    pass "$v: a second update while one runs: Rejected" ||
		    fail "$v: a second update not Rejected"
		want="DownloadScheduled Downloading Downloaded Installing Installed "
	fi
	wait_for 40 ends_with Installed && [ "$(statuses)" = "$want" ] &&
	    pass "$v: FirmwareStatusNotification $(statuses)" ||
	    fail "$v: statuses '$(statuses)'"
	[ "$(sim_get bay1 firmware)" = "V2-$v" ] && [ "$(sim_get bay2 firmware)" = "V2-$v" ] &&
	    pass "$v: both Wallboxes run V2-$v" ||
	    fail "$v: firmware $(sim_get bay1 firmware) $(sim_get bay2 firmware)"
	[ "$(sim_get bay3 fw_updates)" = "$fw3" ] && [ "$(sim_get bay3 firmware)" = "$old3" ] &&
	    pass "$v: the AC Single (no register 30002) left alone" ||
	    fail "$v: bay3 fw_updates $(sim_get bay3 fw_updates)"
	grep -q "bay1: firmware update: installed (version V2-$v, was " "$tmp/d.log" ||
	    fail "$v: no per-charger log line"
	# Finished: a triggered status is Idle (1.6 §4.5, 2.0.1 F06.FR.16).
	call TriggerMessage '{"requestedMessage":"FirmwareStatusNotification"}' |
	    grep -q '"status":"Accepted"' && wait_for 5 ends_with Idle &&
	    fw_calls | tail -1 | grep -q '"params":{"status":"Idle"}' &&
	    pass "$v: triggered after the update: Idle" ||
	    fail "$v: triggered: $(fw_calls | tail -1)"
	if [ "$v" = 2.0.1 ]; then
		busy_n=$(fw_calls | grep -vc '"status":"Idle"')
		[ "$(fw_calls | grep -v '"status":"Idle"' | grep -c '"requestId":7[,}]')" = "$busy_n" ] &&
		    pass "$v: every status but Idle ($busy_n) with requestId 7" ||
		    fail "$v: $(fw_calls | grep -v '"requestId":7[,}]')"
	fi

	# 2. bay2 comes back with its old version: InstallationFailed.
	wait_for 10 online3 || fail "$v: chargers not back online"
	n=$(fw_calls | wc -l)
	sim firmware bay1 ok "V3-$v" >/dev/null
	sim firmware bay2 fail >/dev/null
	update "$v" "http://127.0.0.1:9/fw/V3-$v.bin" "" 9 >/dev/null
	wait_for 40 ends_with InstallationFailed &&
	    [ "$(statuses | cut -d' ' -f$((n + 1))-)" = "Downloading Downloaded Installing InstallationFailed " ] &&
	    pass "$v: one charger back with its old version: InstallationFailed" ||
	    fail "$v: statuses '$(statuses)'"
	[ "$(sim_get bay1 firmware)" = "V3-$v" ] && [ "$(sim_get bay2 firmware)" = "V2-$v" ] ||
	    fail "$v: firmware $(sim_get bay1 firmware) $(sim_get bay2 firmware)"
	grep -q "bay2: firmware update: installation failed: back with the same version" "$tmp/d.log" &&
	    pass "$v: the failed charger named in the log" || fail "$v: no log line for bay2"

	# 3. A URL the chargers refuse: DownloadFailed.
	wait_for 10 online3 || fail "$v: chargers not back online"
	update "$v" "ftp://127.0.0.1:9/fw/V4.bin" "" 10 >/dev/null
	wait_for 10 ends_with DownloadFailed &&
	    pass "$v: a URL the chargers refuse: DownloadFailed" ||
	    fail "$v: statuses '$(statuses)'"
	no_violations "$v"
	stop_daemon
	stop_csms
}

for v in 1.6 2.0.1; do
	run_version "$v"
done
finish
