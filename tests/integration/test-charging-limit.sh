#!/bin/sh
# OCPP 2.0.1 K12 / K13 end to end: the real daemon, the real simulator and
# the strict test CSMS.  Three 22 kW wallboxes share DLB's 40 kW under a
# 20 kW TxDefaultProfile: the site's own share (13300 W each) binds below
# the profile, so each EVSE is reported with NotifyChargingLimit (source
# EMS, the limit as a schedule); the operator's local limit on EVSE 1
# replaces it (ClearedChargingLimit EMS, NotifyChargingLimit Other with
# the limit's duration); an operator flapping that limit gets at most one
# frame per 5 s for it, the last state once the interval is over; with
# the profile cleared nothing binds below a profile any more: every EVSE
# is cleared.  No schema violation.  Skipped (77) without node / npm.
set -u
name=test-charging-limit
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
    { echo "node / npm not found: skipped"; exit 77; }
. "${top_srcdir:-.}/tests/integration/lib.sh"
. "$S/tests/integration/csms.sh"
csms_identity=cl-site
CTL="$B/ocpp-edgectl"

bays_site "$tmp/site.json" cl-site 0 200
start_sim "$tmp/site.json"
cp "$tmp/edge.conf" "$tmp/base.conf"
start_csms
csms_conf 2.0.1
start_daemon "$tmp/edge.conf"
connected() { [ "$(st cloud.state)" = connected ]; }
wait_for 10 connected && pass "connected and accepted" ||
    fail "cloud $(st cloud.state)"
wait_for 10 is_limits "13300 13300 13300" && pass "DLB: 13300 W each" ||
    fail "start: $(limits)"

# frames ACTION EVSE: the CALLs of ACTION for EVSE the CSMS got, one line
# each, oldest first.
frames() {
	grep '"event":"call"' "$tmp/csms.log" | grep "\"action\":\"$1\"" |
	    grep "\"evseId\":$2[,}]"
}
count() { frames "$1" "$2" | wc -l; }
has_count() { [ "$(count "$1" "$2")" -ge "$3" ]; }
last() { frames "$1" "$2" | tail -1; }

# Without a profile the site's share holds nobody below a profile.
[ "$(grep -c '"action":"NotifyChargingLimit"' "$tmp/csms.log")" = 0 ] &&
    pass "no profile: no NotifyChargingLimit" ||
    fail "NotifyChargingLimit without a profile: $(grep NotifyChargingLimit "$tmp/csms.log" | head -1)"

iso() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }
call SetChargingProfile "{\"evseId\":0,\"chargingProfile\":{\"id\":7,\"stackLevel\":0,\"chargingProfilePurpose\":\"TxDefaultProfile\",\"chargingProfileKind\":\"Absolute\",\"chargingSchedule\":[{\"id\":7,\"startSchedule\":\"$(iso '-1 min')\",\"chargingRateUnit\":\"W\",\"chargingSchedulePeriod\":[{\"startPeriod\":0,\"limit\":20000}]}]}}" |
    grep -q '"status":"Accepted"' || fail "20 kW TxDefaultProfile refused"

# The share binds below the 20 kW profile on every EVSE.
for e in 1 2 3; do
	wait_for 5 has_count NotifyChargingLimit "$e" 1 ||
	    { fail "EVSE $e: no NotifyChargingLimit"; continue; }
	f=$(last NotifyChargingLimit "$e")
	printf '%s\n' "$f" | grep -q '"chargingLimit":{"chargingLimitSource":"EMS","isGridCritical":false}' &&
	    printf '%s\n' "$f" | grep -q '"chargingRateUnit":"W","chargingSchedulePeriod":\[{"startPeriod":0,"limit":13300,"numberPhases":3}\]' &&
	    printf '%s\n' "$f" | grep -q '"startSchedule":"20' &&
	    pass "EVSE $e: NotifyChargingLimit EMS, 13300 W from now" ||
	    fail "EVSE $e: $f"
done

# The operator's 5 kW limit for 10 minutes on EVSE 1 (at least 5 s after
# its first frame): EMS cleared, Other told with its duration.
"$CTL" -s "$tmp/ctl.sock" limit 1 5 --for 10m >/dev/null || fail "limit 1 5: exit $?"
wait_for 10 has_count ClearedChargingLimit 1 1 &&
    last ClearedChargingLimit 1 | grep -q '"params":{"chargingLimitSource":"EMS","evseId":1}' &&
    pass "EVSE 1: ClearedChargingLimit EMS when the operator's limit took over" ||
    fail "EVSE 1: cleared $(last ClearedChargingLimit 1)"
wait_for 5 has_count NotifyChargingLimit 1 2 || fail "EVSE 1: no second NotifyChargingLimit"
f=$(last NotifyChargingLimit 1)
d=$(printf '%s\n' "$f" | sed -n 's/.*"duration":\([0-9]*\).*/\1/p')
printf '%s\n' "$f" | grep -q '"chargingLimitSource":"Other","isGridCritical":false' &&
    printf '%s\n' "$f" | grep -q '"limit":5000' && [ -n "$d" ] && [ "$d" -gt 590 ] &&
    [ "$d" -le 600 ] &&
    pass "EVSE 1: NotifyChargingLimit Other, 5000 W for ${d} s" ||
    fail "EVSE 1: $f"
# The others now share 35 kW: 17500 W, still below 20 kW, a change of
# more than 10 %: told again.
for e in 2 3; do
	wait_for 10 has_count NotifyChargingLimit "$e" 2 &&
	    last NotifyChargingLimit "$e" | grep -q '"limit":17500' &&
	    pass "EVSE $e: told again at 17500 W" ||
	    fail "EVSE $e: $(last NotifyChargingLimit "$e")"
done

# A noisy limit: 10 changes on EVSE 1 within about 2 s.  The link sees
# at most one frame pair for it per 5 s; the last value is told once the
# interval is over.
n0=$(count NotifyChargingLimit 1)
t0=$(date +%s)
for kw in 6 8 6 8 6 8 6 8 6 7; do
	"$CTL" -s "$tmp/ctl.sock" limit 1 "$kw" >/dev/null || fail "limit 1 $kw"
	sleep 0.2
done
told7() { last NotifyChargingLimit 1 | grep -q '"limit":7000'; }
wait_for 12 told7 && pass "EVSE 1: the last limit (7000 W) told" ||
    fail "EVSE 1: last told $(last NotifyChargingLimit 1)"
n=$(($(count NotifyChargingLimit 1) - n0))
el=$(($(date +%s) - t0 + 1))
[ "$n" -ge 1 ] && [ "$n" -le $((el / 5 + 1)) ] &&
    pass "EVSE 1: $n NotifyChargingLimit for 10 changes in ${el} s" ||
    fail "EVSE 1: $n frames for 10 changes in ${el} s"

# Profile cleared: no profile to be held below; every EVSE cleared.
call ClearChargingProfile '{"chargingProfileId":7}' |
    grep -q '"status":"Accepted"' || fail "ClearChargingProfile refused"
"$CTL" -s "$tmp/ctl.sock" resume 1 >/dev/null || fail "resume 1"
wait_for 12 has_count ClearedChargingLimit 1 2 &&
    last ClearedChargingLimit 1 | grep -q '"chargingLimitSource":"Other"' &&
    pass "EVSE 1: ClearedChargingLimit Other" ||
    fail "EVSE 1: $(last ClearedChargingLimit 1)"
for e in 2 3; do
	wait_for 12 has_count ClearedChargingLimit "$e" 1 &&
	    last ClearedChargingLimit "$e" | grep -q '"chargingLimitSource":"EMS"' &&
	    pass "EVSE $e: ClearedChargingLimit EMS" ||
	    fail "EVSE $e: $(last ClearedChargingLimit "$e")"
done
no_violations
stop_daemon
stop_csms
finish
