#!/bin/sh
# The live status websocket (/api/live): a real websocket client gets the
# status at once and then each change without asking (the household steps
# up, the new setpoints arrive; the meter goes silent and comes back, its
# since-when moves), at most a few updates a second; upgrades
# to another path, without the subprotocol, from another site's page or
# without the password are refused; the ninth client is refused; a client
# that stops reading is dropped and logged, and its place is free again.
set -u
name=test-live
. "${top_srcdir:-.}/tests/http/lib.sh"
PROBE="node $S/tests/http/http-probe.js"

start_bays 127.0.0.1:0
wait_for 10 http_url || { fail "no dashboard line in the log"; exit 1; }
ws="ws://${url#http://}api/live"
hostport=${url#http://}
hostport=${hostport%/}

# live_bg OUT [AUTH] [OPT]: a live client in the background, its lines in
# $tmp/OUT; its PID in live_pid.
live_bg() {
	out=$1
	shift
	$PROBE live "$ws" "$@" >"$tmp/$out" 2>&1 &
	live_pid=$!
	extra_pids="$extra_pids $live_pid"
}
# last_msg OUT PATH: PATH out of the last whole message in $tmp/OUT.
last_msg() {
	grep '^{' "$tmp/$1" | tail -1 | "$JG" "$2"
}
limits_are() { [ "$(st chargers.2.connectors.0.setpoint_w)" = "$1" ]; }
pushed_is() { [ "$(last_msg a.out chargers.2.connectors.0.setpoint_w)" = "$1" ]; }

wait_for 10 limits_are 10600 || fail "no steady split"
live_bg a.out
a_pid=$live_pid
wait_for 10 grep -q '^{' "$tmp/a.out" &&
    [ "$(head -1 "$tmp/a.out")" = open ] &&
    [ "$(last_msg a.out site_id)" = "$name" ] &&
    pass "the status comes at once on connect" ||
    fail "no status on connect: $(head -3 "$tmp/a.out")"
grep -q "live client 127.0.0.1 connected (1 open)" "$tmp/d.log" &&
    pass "the connection is logged" || fail "no log line for the client"
wait_for 5 pushed_is 10600 && pass "pushed setpoint 10600 W as status says" ||
    fail "pushed setpoint $(last_msg a.out chargers.2.connectors.0.setpoint_w)"

# A change arrives without a request.
sim "household 12000" >/dev/null
wait_for 10 limits_are 7300 || fail "no new split"
wait_for 5 pushed_is 7300 &&
    pass "the new setpoint 7300 W was pushed" ||
    fail "not pushed: $(last_msg a.out chargers.2.connectors.0.setpoint_w)"
power=$(st meter.total_w)
wait_for 5 sh -c "grep '^{' '$tmp/a.out' | grep -q '\"total_w\":$power'" &&
    pass "the meter's new total $power W was pushed" ||
    fail "no message with the meter's total $power W"

# The meter's since-when: silenced, it goes offline and the time of that
# is pushed; answering again, it is online since a later time.
since0=$(st meter.since)
meter_is() {
	[ "$(last_msg a.out meter.online)" = "$1" ] &&
	    [ "$(last_msg a.out meter.since)" != "$since0" ]
}
sim "meter silence on" >/dev/null
wait_for 30 meter_is false && [ "$(st meter.online)" = false ] &&
    [ "$(last_msg a.out meter.since)" = "$(st meter.since)" ] &&
    pass "meter offline since $(st meter.since) (online since $since0), pushed" ||
    fail "meter offline: pushed $(last_msg a.out meter.online) since $(last_msg a.out meter.since), status $(st meter.online) since $(st meter.since)"
since0=$(st meter.since)
sim "meter silence off" >/dev/null
wait_for 30 meter_is true && [ "$(st meter.online)" = true ] &&
    pass "meter online again since $(st meter.since), pushed" ||
    fail "meter online again: pushed $(last_msg a.out meter.online) since $(last_msg a.out meter.since)"

# Coalesced: at most 4 a second (one per 250 ms), with a beat at least
# every 5 s even when nothing changes.
n0=$(grep -c '^{' "$tmp/a.out")
sleep 6
n1=$(grep -c '^{' "$tmp/a.out")
n=$((n1 - n0))
[ "$n" -ge 1 ] && [ "$n" -le 26 ] &&
    pass "$n updates in 6 s (1 to 26 expected)" ||
    fail "$n updates in 6 s"

# Refusals: another path, no subprotocol, another site's page, the
# right Origin is fine.
# refused_with WHAT CODE ARGS...: the upgrade is answered with CODE.
refused_with() {
	what=$1
	code=$2
	shift 2
	r=$($PROBE live "$@" | head -1)
	[ "$r" = "refused $code" ] && pass "$what: $r" || fail "$what: '$r', want $code"
}
refused_with "another path" 404 "ws://$hostport/api/status"
refused_with "no subprotocol" 400 "$ws" - noproto
refused_with "another site's Origin" 403 "$ws" - origin=http://evil.example
live_bg o.out - "origin=http://$hostport"
wait_for 10 grep -q '^{' "$tmp/o.out" && pass "the page's own Origin is served" ||
    fail "own Origin: $(head -2 "$tmp/o.out")"
kill "$live_pid"

# The bound: 8 clients; the ninth is refused while they are open.
pids=
for i in 2 3 4 5 6 7 8; do
	live_bg "c$i.out"
	pids="$pids $live_pid"
	wait_for 10 grep -q '^{' "$tmp/c$i.out" || fail "client $i not served"
done
refused_with "the ninth client" 503 "$ws"
for p in $pids; do kill "$p"; done
wait_for 10 sh -c "[ \$(grep -c 'live client 127.0.0.1 gone' '$tmp/d.log') -ge 8 ]" ||
    fail "the seven did not go"
live_bg n.out
wait_for 10 grep -q '^{' "$tmp/n.out" && pass "after they went, a client is served" ||
    fail "after they went: $(head -2 "$tmp/n.out")"
kill "$live_pid"

# A client that stops reading fills its queue and is dropped.  The site
# keeps changing meanwhile (the household steps every 2 s).
port=${hostport##*:}
"$B/tests/http/ws-stall" "$port" /api/live >"$tmp/s.out" 2>&1 &
s_pid=$!
extra_pids="$extra_pids $s_pid"
wait_for 10 grep -q "101" "$tmp/s.out" || fail "stalling client: $(cat "$tmp/s.out")"
(
	while kill -0 "$s_pid" 2>/dev/null; do
		sim "household 3000" >/dev/null; sleep 1
		sim "household 12000" >/dev/null; sleep 1
	done
) &
extra_pids="$extra_pids $!"
wait_for 120 grep -q "live client 127.0.0.1 dropped: 4 updates not taken" \
    "$tmp/d.log" && pass "the stalled client is dropped and logged" ||
    fail "the stalled client was not dropped"
kill "$s_pid"
kill -0 "$a_pid" 2>/dev/null && pass "the reading client stays" ||
    fail "the reading client went too"

# With a password: refused without it, served with it.
kill "$a_pid"
stop_daemon
cp "$tmp/base.conf" "$tmp/edge.conf"
printf 'http {\n\tlisten = "127.0.0.1:0"\n\tpassword = "correct-horse-battery"\n}\n' >>"$tmp/edge.conf"
start_daemon "$tmp/edge.conf"
wait_for 10 http_url || fail "no dashboard line with a password"
ws="ws://${url#http://}api/live"
refused_with "no password" 401 "$ws"
$PROBE live "$ws" >"$tmp/401.out"
grep -qx 'www-authenticate: Basic realm="ocpp-edge", charset="UTF-8"' \
    "$tmp/401.out" && pass "the 401 carries the Basic challenge" ||
    fail "the 401's challenge: $(sed -n 2p "$tmp/401.out")"
refused_with "wrong password" 401 "$ws" admin:wrong-password-here
live_bg p.out admin:correct-horse-battery
wait_for 10 grep -q '^{' "$tmp/p.out" && pass "with the password: served" ||
    fail "with the password: $(head -2 "$tmp/p.out")"
kill "$live_pid"
stop_daemon

[ "$failures" -eq 0 ] || exit 1
exit 0
