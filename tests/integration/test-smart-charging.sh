#!/bin/sh
# Smart charging end to end, OCPP 1.6 and 2.0.1: the real daemon, the
# real simulator and the strict test CSMS (tests/csms, ocpp-rpc).  Per
# version: a 22 kW site cap splits within a second; 3e10 W and 1e308 A
# profiles are clamped and a site cap still applies after them; a 6 kW profile on one
# connector, the rest share the remainder; GetCompositeSchedule reports
# what is written; a period boundary takes effect within a second;
# LoadBalancer settings from the backend; the backend gone -> the
# offline-site cap after its delay; a restart -> profiles back, the same
# setpoints.  Skipped (77) without node / npm.
set -u
name=test-smart-charging
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
    { echo "node / npm not found: skipped"; exit 77; }
. "${top_srcdir:-.}/tests/integration/lib.sh"
. "$S/tests/integration/csms.sh"
csms_identity=sc-site

bays_site "$tmp/site.json" sc-site 0 200
start_sim "$tmp/site.json"
cp "$tmp/edge.conf" "$tmp/base.conf"

iso() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }

# profile VERSION ID CONNECTOR PURPOSE PERIODS: a SetChargingProfile
# payload, Absolute from a minute ago, in W.
profile() {
	start=$(iso '-1 min')
	if [ "$1" = 1.6 ]; then
		echo "{\"connectorId\":$3,\"csChargingProfiles\":{\"chargingProfileId\":$2,\"stackLevel\":0,\"chargingProfilePurpose\":\"$4\",\"chargingProfileKind\":\"Absolute\",\"chargingSchedule\":{\"startSchedule\":\"$start\",\"chargingRateUnit\":\"W\",\"chargingSchedulePeriod\":$5}}}"
	else
		echo "{\"evseId\":$3,\"chargingProfile\":{\"id\":$2,\"stackLevel\":0,\"chargingProfilePurpose\":\"$4\",\"chargingProfileKind\":\"Absolute\",\"chargingSchedule\":[{\"id\":$2,\"startSchedule\":\"$start\",\"chargingRateUnit\":\"W\",\"chargingSchedulePeriod\":$5}]}}"
	fi
}

# raw_call ACTION PARAMS: the same CALL as call, sent as raw text (no
# schema check on the CSMS's side); prints the raw answer's event.
raw_call() {
	ref=$(($(cat "$tmp/ref") + 1))
	echo "$ref" >"$tmp/ref"
	text=$(printf '[2,"raw%s","%s",%s]' "$ref" "$1" "$2" | sed 's/"/\\"/g')
	csms "{\"cmd\":\"raw\",\"identity\":\"$csms_identity\",\"text\":\"$text\"}"
	wait_for 10 grep -q "\"text\":\"\\[[34],\\\\\"raw$ref\\\\\"" "$tmp/csms.log" ||
	    { fail "$1: no answer to raw$ref"; return 1; }
	grep "\"text\":\"\\[[34],\\\\\"raw$ref\\\\\"" "$tmp/csms.log" | head -1
}

run_version() {
	v=$1
	if [ "$v" = 1.6 ]; then
		max=ChargePointMaxProfile
		comp='{"connectorId":1,"duration":60,"chargingRateUnit":"W"}'
		setlb='{"key":"LBAvailablePowerKw","value":"30"}'
		setlb_action=ChangeConfiguration
	else
		max=ChargingStationMaxProfile
		comp='{"evseId":1,"duration":60,"chargingRateUnit":"W"}'
		setlb='{"setVariableData":[{"component":{"name":"LoadBalancer"},"variable":{"name":"AvailablePower"},"attributeValue":"30"}]}'
		setlb_action=SetVariables
	fi
	start_csms
	cp "$tmp/base.conf" "$tmp/edge.conf"
	sed -i "s|^\turl = .*|\turl = \"ws://127.0.0.1:$port/ocpp\"|; s|^\tocpp-version = .*|\tocpp-version = \"$v\"|; s|^\tmode = \"alm\"|\tmode = \"dlb\"|; s|ocpp-edge.db|state-$v.db|" \
	    "$tmp/edge.conf"
	conf_set "csms {" 'retry-backoff-min-s = 1'
	conf_set "csms {" 'retry-backoff-random-s = 0'
	conf_set "balancer {" 'offline-site-power-kw = 12'
	conf_set "balancer {" 'offline-site-delay-s = 2'
	# Each charger may draw 4 kW on its own (12 kW in all, as much as
	# the offline-site power: the configuration check asks no less).
	sed -i 's|^\tmax-power-kw = 22$|\tmax-power-kw = 22\n\toffline-power-kw = 4|' \
	    "$tmp/edge.conf"
	start_daemon "$tmp/edge.conf"
	offline_regs() { for c in bay1 bay2 bay3; do sim_get "$c" connectors.0.limits.offline_power_w; done | tr '\n' ' '; }
	is_offline_regs() { [ "$(offline_regs)" = "$1 " ]; }
	wait_for 5 is_offline_regs "4000 4000 4000" &&
	    pass "$v: offline limits programmed: 4000 W each" ||
	    fail "$v: offline limits $(offline_regs)"
	connected() { [ "$(st cloud.state)" = connected ]; }
	wait_for 10 connected && pass "$v: connected and accepted" ||
	    fail "$v: cloud $(st cloud.state)"
	# The open transaction as the backend knows it (1.6: the CSMS's
	# number; 2.0.1: the station's id).
	has_tx() { t=$(st chargers.0.connectors.0.transaction); [ -n "$t" ] && [ "$t" != null ] && [ "$t" != missing ]; }
	wait_for 5 has_tx && pass "$v: status shows transaction $(st chargers.0.connectors.0.transaction)" ||
	    fail "$v: no transaction in status"
	# DLB 40 kW, three cars: 13333 -> 13300 W each.
	wait_for 5 is_limits "13300 13300 13300" && pass "$v: 13300 W each" ||
	    fail "$v: start $(limits)"

	# Site cap 22 kW: 22000 / 3 = 7333 -> 7300 W each, within 1 s.
	call SetChargingProfile "$(profile "$v" 1 0 "$max" '[{"startPeriod":0,"limit":22000}]')" |
	    grep -q '"status":"Accepted"' || fail "$v: site cap refused"
	wait_for 1 is_limits "7300 7300 7300" && pass "$v: 22 kW site cap: 7300 W each within 1 s" ||
	    fail "$v: site cap: $(limits)"
	[ "$(st site_cap.w site_cap.source site_cap.profile_id | tr '\n' ' ')" = "22000 profile 1 " ] &&
	    pass "$v: status: site cap 22000 W from profile 1" ||
	    fail "$v: status cap $(st site_cap.w site_cap.source site_cap.profile_id | tr '\n' ' ')"

	# Limits no site could use: a 3e10 W site cap and a 1e308 A default
	# for every connector are accepted and clamped (site breaker, charger
	# maximum): DLB's 40 kW shared again, 13300 W each; then the 22 kW
	# cap applies again within 2 s (the balancer never stalls on them).
	call SetChargingProfile "$(profile "$v" 1 0 "$max" '[{"startPeriod":0,"limit":3e10}]')" |
	    grep -q '"status":"Accepted"' || fail "$v: 3e10 W site cap refused"
	# (sent raw: the CSMS's 1.6 schema check cannot take 1e308 as a
	# multiple of 0.1, the station must.)
	raw_call SetChargingProfile "$(profile "$v" 5 0 TxDefaultProfile '[{"startPeriod":0,"limit":1e308}]' |
	    sed 's/"chargingRateUnit":"W"/"chargingRateUnit":"A"/')" |
	    grep -q '\\"status\\":\\"Accepted\\"' || fail "$v: 1e308 A default refused"
	wait_for 2 is_limits "13300 13300 13300" &&
	    pass "$v: 3e10 W and 1e308 A profiles clamped: 13300 W each" ||
	    fail "$v: huge profiles: $(limits)"
	# 3e10 W is clamped to the breaker (63 A x 230 V x 3 = 43470 W),
	# above the 40 kW available: the configured power caps the site.
	[ "$(st site_cap.w site_cap.source | tr '\n' ' ')" = "40000 config " ] &&
	    pass "$v: status: site cap 40000 W from the configuration" ||
	    fail "$v: status cap after huge profiles $(st site_cap.w site_cap.source | tr '\n' ' ')"
	call SetChargingProfile "$(profile "$v" 1 0 "$max" '[{"startPeriod":0,"limit":22000}]')" |
	    grep -q '"status":"Accepted"' || fail "$v: 22 kW cap refused after huge ones"
	wait_for 2 is_limits "7300 7300 7300" &&
	    pass "$v: 22 kW site cap after huge profiles: 7300 W each within 2 s" ||
	    fail "$v: site cap after huge profiles: $(limits)"
	if [ "$v" = 1.6 ]; then clear5='{"id":5}'; else clear5='{"chargingProfileId":5}'; fi
	call ClearChargingProfile "$clear5" |
	    grep -q '"status":"Accepted"' || fail "$v: clearing profile 5 refused"

	# Fail-safe: a 9 kW cap is below the offline limits' 12 kW: they come
	# down in proportion to 3000 W each (9000 x 4000 / 12000); the cars
	# (9000 / 3 = 3000 W < Pmin) cannot all run: the balancer pauses as
	# many as needed; checked as a sum.  Back to 22 kW: 4000 W each.
	call SetChargingProfile "$(profile "$v" 1 0 "$max" '[{"startPeriod":0,"limit":9000}]')" |
	    grep -q '"status":"Accepted"' || fail "$v: 9 kW cap refused"
	wait_for 2 is_offline_regs "3000 3000 3000" &&
	    pass "$v: 9 kW cap: offline limits lowered to 3000 W each" ||
	    fail "$v: 9 kW cap: offline limits $(offline_regs)"
	sum9() { set -- $(limits); [ $(($1 + $2 + $3)) -le 9000 ]; }
	wait_for 2 sum9 && pass "$v: 9 kW cap: setpoints $(limits)<= 9000 W" ||
	    fail "$v: 9 kW cap: setpoints $(limits)"
	call SetChargingProfile "$(profile "$v" 1 0 "$max" '[{"startPeriod":0,"limit":22000}]')" |
	    grep -q '"status":"Accepted"' || fail "$v: 22 kW cap refused"
	wait_for 2 is_offline_regs "4000 4000 4000" &&
	    pass "$v: 22 kW cap again: offline limits back to 4000 W" ||
	    fail "$v: offline limits $(offline_regs)"
	# The paused cars resume after the balancer's hold (10 s).
	wait_for 15 is_limits "7300 7300 7300" && pass "$v: resumed: 7300 W each" ||
	    fail "$v: resume: $(limits)"

	# 6 kW on connector 1: the others share 22000 - 6000 = 16000: 8000 W.
	call SetChargingProfile "$(profile "$v" 2 1 TxDefaultProfile '[{"startPeriod":0,"limit":6000}]')" |
	    grep -q '"status":"Accepted"' || fail "$v: 6 kW profile refused"
	wait_for 2 is_limits "6000 8000 8000" && pass "$v: 6000 W on connector 1, 8000 W for the others" ||
	    fail "$v: 6 kW profile: $(limits)"
	call GetCompositeSchedule "$comp" >"$tmp/comp"
	grep -q '"chargingSchedulePeriod":\[{"startPeriod":0,"limit":6000' "$tmp/comp" &&
	    pass "$v: composite schedule of connector 1: 6000 W" ||
	    fail "$v: composite: $(cut -c1-300 "$tmp/comp")"

	# A period boundary 4 s from now: connector 1's default drops to
	# 4200 W; the others then get (22000 - 4200) / 2 = 8900 W.
	t_now=$(date +%s)
	call SetChargingProfile "$(profile "$v" 2 1 TxDefaultProfile "[{\"startPeriod\":0,\"limit\":6000},{\"startPeriod\":$((t_now - $(date -u -d "$(iso '-1 min')" +%s) + 4)),\"limit\":4200}]")" |
	    grep -q '"status":"Accepted"' || fail "$v: two-period profile refused"
	boundary=$((t_now + 4))
	wait_for 8 is_limits "4200 8900 8900" && {
		late=$(($(date +%s) - boundary))
		[ "$late" -le 1 ] && pass "$v: period boundary: 4200 W within 1 s (+${late} s)" ||
		    fail "$v: period boundary applied ${late} s late"
	} || fail "$v: period boundary: $(limits)"

	# A TxProfile of 5000 W for bay2's running transaction (DLB, all
	# charging: connector 1 keeps 4200 W, bay3 22000 - 4200 - 5000 =
	# 12800 W).  The car leaves and another arrives: the profile ended
	# with its transaction (K02.FR.05), so 8900 W each again.
	txid=$(st chargers.1.connectors.0.transaction)
	if [ "$v" = 1.6 ]; then q=$txid; else q="\"$txid\""; fi
	call SetChargingProfile "$(profile "$v" 3 2 TxProfile '[{"startPeriod":0,"limit":5000}]' |
	    sed "s/\"chargingProfilePurpose\":\"TxProfile\",/&\"transactionId\":$q,/")" |
	    grep -q '"status":"Accepted"' || fail "$v: TxProfile for transaction $txid refused"
	wait_for 3 is_limits "4200 5000 12800" && pass "$v: TxProfile: 5000 W on connector 2" ||
	    fail "$v: TxProfile: $(limits)"
	bay2_is() { [ "$(st chargers.1.connectors.0.status)" = "$1" ]; }
	sim "unplug bay2" >/dev/null
	wait_for 5 bay2_is Available || fail "$v: bay2 $(st chargers.1.connectors.0.status)"
	sim "plug bay2 1 evmax=22000" >/dev/null
	wait_for 15 is_limits "4200 8900 8900" &&
	    pass "$v: TxProfile gone with its transaction: 8900 W again" ||
	    fail "$v: after the transaction: $(limits)"
	grep -q 'connector 2: transaction ended, 1 TxProfile(s) removed' "$tmp/d.log" ||
	    fail "$v: no TxProfile removal logged"

	# Available power from the backend: 30 kW, persisted; with the
	# 22 kW cap nothing changes on the chargers.
	call "$setlb_action" "$setlb" | grep -q 'tatus":"Accepted"' &&
	    [ "$(st settings.available_power_w settings.source.available_power_w | tr '\n' ' ')" = "30000 backend " ] &&
	    pass "$v: AvailablePower set from the backend" ||
	    fail "$v: set available power: $(st settings.available_power_w settings.source.available_power_w | tr '\n' ' ')"
	no_violations "$v"

	# The backend goes away: offline at once, the 12 kW offline-site
	# cap after 2 s.  Connector 1 keeps its 4200 W (profile); 7800 W is
	# left for two cars, 3900 W each is below Pmin (4200 W), so one
	# pauses and the other gets 7800 W.  Which one is the balancer's
	# choice: checked as a sum.
	stop_csms
	offline() { [ "$(st cloud.state)" = offline ]; }
	st_is_run() {
		case $(st chargers.2.connectors.0.status) in
		Charging | SuspendedEVSE | SuspendedEV) return 0 ;;
		*) return 1 ;;
		esac
	}
	wait_for 5 offline && pass "$v: cloud offline" || fail "$v: cloud $(st cloud.state)"
	capped12() {
		set -- $(limits)
		[ $(($1 + $2 + $3)) -le 12000 ] &&
		    [ "$(st site_cap.source)" = offline-fallback ]
	}
	wait_for 6 capped12 && pass "$v: offline-site cap: $(limits)<= 12000 W" ||
	    fail "$v: offline cap: $(limits) $(st site_cap.w site_cap.source | tr '\n' ' ')"

	# While offline, bay3's car leaves and another arrives: the stop and
	# the new start wait in the store's queue.
	st_is() { [ "$(st chargers.2.connectors.0.status)" = "$1" ]; }
	sim "unplug bay3" >/dev/null
	wait_for 5 st_is Available || fail "$v: bay3 $(st chargers.2.connectors.0.status)"
	sim "plug bay3 1 evmax=22000" >/dev/null
	wait_for 5 st_is_run || fail "$v: bay3 did not restart"

	# Restart (backend back): the profiles and the setting come back
	# from the store, the same setpoints as before the outage.
	stop_daemon
	start_csms
	sed -i "s|^\turl = .*|\turl = \"ws://127.0.0.1:$port/ocpp\"|" "$tmp/edge.conf"
	start_daemon "$tmp/edge.conf" ${SC_DEBUG:-}
	wait_for 10 connected || fail "$v: not connected after restart"
	# The queue drains; the offline stop is delivered exactly once.
	drained() { [ "$(st cloud.queued)" = 0 ]; }
	wait_for 10 drained || fail "$v: queue not drained: $(st cloud.queued)"
	if [ "$v" = 1.6 ]; then
		n=$(grep '"event":"call"' "$tmp/csms.log" |
		    grep -c '"action":"StopTransaction"')
	else
		n=$(grep '"event":"call"' "$tmp/csms.log" |
		    grep '"action":"TransactionEvent"' |
		    grep '"eventType":"Ended"' | grep -c '"offline":true')
	fi
	[ "$n" = 1 ] && pass "$v: the offline stop delivered exactly once" ||
	    fail "$v: $n stop messages after the outage"
	wait_for 5 is_limits "4200 8900 8900" && pass "$v: after restart: profiles back, 4200 8900 8900 W" ||
	    fail "$v: after restart: $(limits)"
	[ "$(st settings.available_power_w)" = 30000 ] &&
	    pass "$v: backend setting kept across the restart" ||
	    fail "$v: available power after restart $(st settings.available_power_w)"
	# Reset Hard / Immediate: answered, the sessions stopped and their
	# transactions ended, then the daemon executes itself again (same
	# PID) and boots again; new sessions get the same setpoints (the
	# TxDefaultProfile holds for them too).
	starts=$(grep -c "info: started (" "$tmp/d.log")
	if [ "$v" = 1.6 ]; then
		call Reset '{"type":"Hard"}' | grep -q '"status":"Accepted"'
	else
		call Reset '{"type":"Immediate"}' | grep -q '"status":"Accepted"'
	fi || fail "$v: Reset not accepted"
	restarted() { [ "$(grep -c "info: started (" "$tmp/d.log")" -gt "$starts" ]; }
	wait_for 10 restarted && kill -0 "$d_pid" &&
	    pass "$v: Reset: the daemon restarted itself (pid $d_pid)" ||
	    fail "$v: no restart after Reset"
	for c in bay1 bay2 bay3; do
		sim unplug "$c" 1 >/dev/null
		sim plug "$c" 1 evmax=22000 >/dev/null
	done
	wait_for 10 connected && wait_for 10 is_limits "4200 8900 8900" &&
	    pass "$v: after Reset: connected, 4200 8900 8900 W" ||
	    fail "$v: after Reset: $(st cloud.state) $(limits)"
	no_violations "$v"
	stop_daemon
	stop_csms
}

for v in ${SC_VERSIONS:-1.6 2.0.1}; do
	run_version "$v"
done
finish
