#!/bin/sh
# ocpp-edgectl against a running ocpp-edged on the site simulator
# (etc/sim/demo.json, no backend: local fallback): status as text and as
# JSON (parsed with node and compared with the simulator's ready file),
# several requests on one connection, explain by number, by CHARGER/K and
# by CHARGER, refusals (exit 1), the socket's permissions (another user
# gets exit 4), and exit 3 once the daemon is stopped.
set -u
. "${top_srcdir:-.}/tests/ctl/lib.sh"
need_built
need node "node is not installed"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-ctl-daemon.XXXXXX") || exit 99
chmod 755 "$tmp"
sim_pid=""
edged_pid=""
cleanup() {
	stop_sim_edged
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
# until_ok WHAT COMMAND...: retries for at most 20 s, while the processes
# started so far run.
until_ok() {
	what=$1; shift
	i=0
	until "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -le 400 ] || { echo "$what: not within 20 s"; return 1; }
		for pid in $sim_pid $edged_pid; do
			kill -0 "$pid" 2>/dev/null || { echo "$what: process $pid ended"; return 1; }
		done
		sleep 0.05
	done
}

# The dial-in charger's gateway port: a free one, from the kernel.
gw=$(free_port)
"$bld/ocpp-edge-sim" -q --scenario "$src/etc/sim/demo.json" \
    --ready-file "$tmp/ready.json" --write-config "$tmp/edge.conf" \
    --gateway "127.0.0.1:$gw" >/dev/null 2>"$tmp/sim.err" &
sim_pid=$!
until_ok "simulator ready" test -s "$tmp/ready.json" || { cat "$tmp/sim.err"; exit 99; }

# Nobody listens at the backend URL: port 9 (discard) on loopback.
sed -i 's|^\(\s*url\s*=\).*|\1 "ws://127.0.0.1:9/ocpp"|' "$tmp/edge.conf"
# The dashboard on a port the system picks (tests run side by side).
printf 'http {\n\tlisten = "127.0.0.1:0"\n}\n' >>"$tmp/edge.conf"
"$bld/ocpp-edged" --stderr --config "$tmp/edge.conf" --control "$tmp/run/ctl.sock" \
    >"$tmp/edged.log" 2>&1 &
edged_pid=$!
sock="$tmp/run/ctl.sock"
until_ok "ocpp-edged control socket" "$ctl" -s "$sock" status ||
    { cat "$tmp/edged.log"; exit 1; }
grep -q "control $sock" "$tmp/edged.log" || fail "the started line does not name the socket"

# ---- the socket ----------------------------------------------------------
mode=$(stat -c %a "$sock")
[ "$mode" = 660 ] || fail "socket mode $mode, expected 660"
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null 2>&1; then
	setpriv --reuid=65534 --regid=65534 --clear-groups "$ctl" -s "$sock" status \
	    >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ "$rc" -eq 4 ] || fail "another user: exit $rc, expected 4"
	grep -q "permission denied on $sock" "$tmp/err" || fail "EACCES message: $(cat "$tmp/err")"
	pass "socket 0660: another user gets 'permission denied' (exit 4)"
else
	echo "note: not root (or no setpriv): the other-user check is not run"
fi

# ---- status --json: the site as the simulator describes it ---------------
# Wait until every charger was read once (serials known).
all_online() {
	"$ctl" -s "$sock" status --json >"$tmp/st.json" &&
	[ "$(json "$tmp/st.json" 'j.chargers.filter(c => c.online && c.serial).length')" = 5 ]
}
until_ok "all five chargers online" all_online || fail "chargers never all online: $(cat "$tmp/st.json")"
"$ctl" -s "$sock" status --json >"$tmp/st.json"
rc=$?
[ "$rc" -eq 0 ] || fail "status --json: exit $rc"
[ "$(wc -l <"$tmp/st.json")" -eq 1 ] || fail "status --json is not one line"
# The simulator's chargers in configuration order, with their serials and
# models; connectors numbered 1..6 for OCPP in that order (the Ultra has 2).
want=$(json "$tmp/ready.json" 'j.chargers.map(c => c.name + " " + c.model + " " + c.serial)')
got=$(json "$tmp/st.json" 'j.chargers.map(c => c.name + " " + c.model + " " + c.serial)')
[ "$want" = "$got" ] || fail "chargers: got '$got', want '$want'"
ids=$(json "$tmp/st.json" 'j.chargers.flatMap(c => c.connectors.map(k => c.name + "/" + k.connector + "=" + k.ocpp_id)).join(" ")')
[ "$ids" = "wallbox1/1=1 compact1/1=2 ultra1/1=3 ultra1/2=4 single1/1=5 dc1/1=6" ] ||
    fail "OCPP numbering: $ids"
[ "$(json "$tmp/st.json" 'j.site_id')" = demo-site ] || fail "site_id"
[ "$(json "$tmp/st.json" 'j.settings.mode')" = alm ] || fail "mode"
# demo.json: available 60 kW -> 60000 W; no backend -> not connected.
[ "$(json "$tmp/st.json" 'j.settings.available_power_w')" = 60000 ] || fail "available power"
st=$(json "$tmp/st.json" 'j.cloud.state')
case "$st" in connecting|offline) ;; *) fail "cloud state '$st' without a backend" ;; esac
[ "$(json "$tmp/st.json" 'j.meter.type + " " + j.meter.online')" = "sdm630 true" ] || fail "meter"
[ "$(json "$tmp/st.json" 'j.meter.phases.length')" = 3 ] || fail "meter phases"
# Every connector has a status, a setpoint in W and a reason.
bad=$(json "$tmp/st.json" 'j.chargers.flatMap(c => c.connectors).filter(k => typeof k.status !== "string" || !Number.isInteger(k.setpoint_w) || typeof k.reason !== "string").length')
[ "$bad" = 0 ] || fail "$bad connector(s) without status, setpoint or reason"
pass "status --json matches the simulated site ($st, 5 chargers, 6 connectors)"

# ---- status as text: the same site on the screen ---------------------------
"$ctl" -s "$sock" status >"$tmp/st.txt"
rc=$?
[ "$rc" -eq 0 ] || fail "status: exit $rc"
for line in "^ocpp-edge [0-9.]*  site demo-site  up " "^Cloud     $st since .*: running on local fallback$" \
    "^          ws://127.0.0.1:9/ocpp  OCPP 1.6  identity demo-site$" \
    "^Mode      ALM  reserve 10 %  available 60.0 kW" "^Meter     sdm630  online" \
    "^wallbox1  autel-ac-wallbox  AW22-0001  V1.2.3    tcp 127.0.0.1:[0-9]* *online$" \
    "^dc1       autel-dc          DC40-0005  V1.2.3    tcp 127.0.0.1:[0-9]* *online$" \
    "^   4  ultra1/2    " "^   6  dc1/1       "; do
	grep -q "$line" "$tmp/st.txt" || fail "status text lacks /$line/"
done
pass "status text"

# ---- status --watch into a file: frames one after the other, no escape
# sequences (the terminal case is tests/ctl/test-demo.sh); SIGINT ends it
# with status 0.  --header's lines top every frame.
"$ctl" -s "$sock" status --watch --interval 0.2 --header "$(printf 'demo site\npaths here')" \
    >"$tmp/watch.out" 2>"$tmp/watch.err" &
wpid=$!
i=0
until [ "$(grep -c '^Every 0.2s: ocpp-edgectl status' "$tmp/watch.out")" -ge 3 ]; do
	i=$((i + 1))
	[ "$i" -le 200 ] || { fail "--watch wrote fewer than 3 frames in 10 s"; break; }
	sleep 0.05
done
kill -INT "$wpid"
wait "$wpid"
rc=$?
[ "$rc" -eq 0 ] || fail "--watch ended with $rc on SIGINT"
grep -q "$(printf '\033')" "$tmp/watch.out" && fail "--watch into a file wrote escape sequences"
[ "$(grep -c '^   6  dc1/1 ' "$tmp/watch.out")" -ge 3 ] || fail "--watch frames lack the connectors"
[ "$(grep -B2 '^Every 0.2s' "$tmp/watch.out" | grep -c '^demo site$')" -eq \
    "$(grep -c '^Every 0.2s' "$tmp/watch.out")" ] &&
    [ "$(grep -B1 '^Every 0.2s' "$tmp/watch.out" | grep -c '^paths here$')" -eq \
    "$(grep -c '^Every 0.2s' "$tmp/watch.out")" ] ||
    fail "--header not on top of every frame: $(head -3 "$tmp/watch.out")"
"$ctl" -s "$sock" status --header x >/dev/null 2>"$tmp/hd.err"
rc=$?
[ "$rc" -eq 2 ] && grep -q -- "--header need --watch" "$tmp/hd.err" ||
    fail "--header without --watch: exit $rc, $(cat "$tmp/hd.err")"
pass "status --watch into a file: $(grep -c '^Every' "$tmp/watch.out") frames, SIGINT ends it (exit 0)"

# ---- explain -----------------------------------------------------------------
for c in 1 4 6 ultra1/2 dc1 wallbox1/1; do
	"$ctl" -s "$sock" explain --json "$c" >"$tmp/ex.json"
	rc=$?
	[ "$rc" -eq 0 ] || { fail "explain $c: exit $rc"; continue; }
	label=$(json "$tmp/ex.json" 'j.connector + " " + j.ocpp_id')
	case "$c" in
	1|wallbox1/1) want="wallbox1/1 1" ;;
	4|ultra1/2) want="ultra1/2 4" ;;
	6|dc1) want="dc1/1 6" ;;
	esac
	[ "$label" = "$want" ] || fail "explain $c names '$label', want '$want'"
	# the setpoint is the one status reports; the caps list "max"
	sp=$(json "$tmp/ex.json" 'j.setpoint_w')
	case "$sp" in ''|*[!0-9]*) fail "explain $c: setpoint '$sp'" ;; esac
	json "$tmp/ex.json" 'j.caps.map(c => c.what)' | grep -qx max || fail "explain $c: no max cap"
done
"$ctl" -s "$sock" explain 6 >"$tmp/ex.txt"
grep -q '^Connector dc1/1 (EVSE 6): setpoint ' "$tmp/ex.txt" || fail "explain text: $(head -1 "$tmp/ex.txt")"
grep -q '^      max      40.0 kW\|^  =>  max      40.0 kW' "$tmp/ex.txt" || fail "explain text: max 40 kW of dc1"
sed -n 2p "$tmp/ex.txt" | grep -q '^[A-Z].*\.$' || fail "explain text: no sentence on line 2"
grep -q '^balancer: ' "$tmp/ex.txt" && fail "explain text: the balancer's debugging line is shown"
pass "explain by number, CHARGER/K and CHARGER"

# refusals: exit 1 with the daemon's own message
"$ctl" -s "$sock" explain 99 >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 1 ] || fail "explain 99: exit $rc, expected 1"
grep -q "^ocpp-edgectl: .*'99'" "$tmp/err" || fail "explain 99 message: $(cat "$tmp/err")"
"$ctl" -s "$sock" explain ultra1 >"$tmp/out" 2>"$tmp/err"
[ $? -eq 1 ] || fail "explain of a two-connector charger by name should be refused"
[ -s "$tmp/out" ] && fail "refusal printed on stdout"
pass "unknown connector refused by the daemon (exit 1)"

# ---- the daemon stops: exit 3 ----------------------------------------------
kill "$edged_pid"
wait "$edged_pid"
rc=$?
edged_pid=""
[ "$rc" -eq 0 ] || fail "ocpp-edged exit $rc on SIGTERM"
"$ctl" -s "$sock" status >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 3 ] || fail "status after stop: exit $rc, expected 3"
grep -q "^ocpp-edgectl: daemon not running" "$tmp/err" || fail "message: $(cat "$tmp/err")"
pass "stopped daemon: exit 3"

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "all ctl-daemon checks passed"
exit 0
