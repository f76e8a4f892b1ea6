#!/bin/sh
# Benchmark of smart-charging latency (`make bench`): the real daemon, the
# real simulator with 40 AC Wallbox chargers on TCP loopback (an EV in
# each) and the test CSMS.  The CSMS sets a site-wide cap
# (ChargePointMaxProfile / ChargingStationMaxProfile), alternating between
# two values so that every limit changes each time; measured from the
# SetChargingProfile frame sent to the last charger's limit register
# holding the new value (bench/bench-profile.js).  Two lines per OCPP
# version, p50 and p99 in ms (target p99 <= 50 ms).
# Needs node + npm (the test CSMS); prints "skipped" and exits 0 without.
set -u
name=bench-profile
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "profile.site_cap_40_chargers: skipped: node missing"
	exit 0
fi
. "${top_srcdir:-.}/tests/integration/lib.sh"
top_builddir="$B"
top_srcdir="$S"
. "$S/tests/ocpp/csms-deps.sh"
csms_deps_install >"$tmp/npm.log" 2>&1 || { cat "$tmp/npm.log"; exit 1; }
N=${BENCH_PROFILE_N:-100}

# 40 chargers, each with an 11 kW EV that follows a new limit at once.
cat >"$tmp/site.json" <<'JSON'
{ "site": { "id": "bench-profile", "voltage_v": 230, "available_power_kw": 500,
            "household_w": 0 },
  "follow_delay_ms": 0,
  "meter": { "type": "sdm630" },
  "chargers": [
    { "name": "wb", "model": "autel-ac-wallbox", "count": 40, "serial": "AW",
      "evs": [ { "connector": 1, "evmax_w": 11000 } ] } ] }
JSON
start_sim "$tmp/site.json"
cp "$tmp/edge.conf" "$tmp/base.conf"
id=$(sed -n 's/^\tidentity = "\(.*\)"/\1/p' "$tmp/base.conf")

# DLB, every charger charging (no reserve): a cap of C W gives C / 40
# each: 200000 / 40 = 5000 W, 300000 / 40 = 7500 W (both whole 100 W,
# above Pmin 4200 W, below the EVs' 11000 W).
caps="200000:5000,300000:7500"
for v in 1.6 2.0.1; do
	cp "$tmp/base.conf" "$tmp/edge.conf"
	sed -i "s|^\tocpp-version = .*|\tocpp-version = \"$v\"|; s|^\tmode = \"alm\"|\tmode = \"dlb\"|; s|ocpp-edge.db|state-$v.db|" \
	    "$tmp/edge.conf"
	conf_set "csms {" 'retry-backoff-min-s = 1'
	conf_set "csms {" 'retry-backoff-random-s = 0'
	rm -f "$tmp/port"
	CSMS_JS="$S/tests/csms/csms.js" NODE_PATH="$csms_deps/node_modules" \
	    VERSION="$v" IDENTITY="$id" SIM_SOCK="$tmp/sim.sock" \
	    CTL_SOCK="$tmp/ctl.sock" PORT_FILE="$tmp/port" CAPS="$caps" \
	    CHARGERS=40 N="$N" \
	    node "$S/bench/bench-profile.js" >"$tmp/out-$v" 2>"$tmp/node-$v.log" &
	node_pid=$!
	extra_pids=$node_pid
	wait_for 20 test -s "$tmp/port" || { cat "$tmp/node-$v.log"; echo "$v: no CSMS"; exit 1; }
	sed -i "s|^\turl = .*|\turl = \"ws://127.0.0.1:$(cat "$tmp/port")/ocpp\"|" "$tmp/edge.conf"
	start_daemon "$tmp/edge.conf"
	wait "$node_pid"
	rc=$?
	extra_pids=
	cat "$tmp/out-$v"
	if [ "$rc" -ne 0 ]; then
		fail "profile ($v): $(cat "$tmp/node-$v.log")"
	fi
	stop_daemon
done
[ "$failures" -eq 0 ] || exit 1
exit 0
