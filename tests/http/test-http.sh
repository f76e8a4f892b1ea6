#!/bin/sh
# The operators' HTTP server of a running daemon on the simulator:
# /api/status and /api/explain/N say what the control socket says,
# /metrics is well-formed Prometheus text whose values are the status's
# and follow the site when it changes, bad and hostile requests get a 4xx
# or are closed without harm, basic auth guards it when a password is
# set, and a server off loopback without a password is refused.
set -u
name=test-http
. "${top_srcdir:-.}/tests/http/lib.sh"
command -v node >/dev/null 2>&1 || { echo "SKIP: node not installed"; exit 77; }
PROBE="node $S/tests/http/http-probe.js"

# The HTTP server on a port the system picks.
start_bays 127.0.0.1:0
wait_for 10 http_url || { fail "no dashboard line in the log"; exit 1; }
hport=$(printf '%s\n' "$url" | sed 's|.*:\([0-9]*\)/$|\1|')
pass "dashboard at $url"

# ALM: 34000 W allocable - 2000 W household = 32000 / 3 -> 10600 W each.
limits_are() { [ "$(st chargers.0.connectors.0.setpoint_w)" = "$1" ]; }
wait_for 10 limits_are 10600 || fail "no steady split: $(st chargers.0.connectors.0.setpoint_w)"

# same_json A B: equal once the fields that move with time are dropped.
same_json() {
	node -e '
const fs = require("fs");
const drop = (v) => { if (v && typeof v === "object") {
  for (const k of ["uptime_s", "now", "age_ms"]) delete v[k];
  Object.values(v).forEach(drop); } return v; };
const a = drop(JSON.parse(fs.readFileSync(process.argv[1], "utf8")));
const b = drop(JSON.parse(fs.readFileSync(process.argv[2], "utf8")));
process.exit(JSON.stringify(a) === JSON.stringify(b) ? 0 : 1);' "$1" "$2"
}
# api_matches PATH REQUEST: GET PATH equals the control socket's result.
api_matches() {
	$PROBE get "${url%/}$1" >"$tmp/api.out" || return 1
	[ "$(head -1 "$tmp/api.out")" = 200 ] || return 1
	tail -n +2 "$tmp/api.out" >"$tmp/api.json"
	ctl "$2" | node -e '
let s = ""; process.stdin.on("data", (d) => { s += d; });
process.stdin.on("end", () => process.stdout.write(
  JSON.stringify(JSON.parse(s).result)));' >"$tmp/ctl.json"
	same_json "$tmp/api.json" "$tmp/ctl.json"
}
wait_for 5 api_matches /api/status '{"cmd":"status"}' &&
    pass "/api/status = ocpp-edgectl status --json" ||
    fail "/api/status differs: $(head -c 300 "$tmp/api.json")"
wait_for 5 api_matches /api/explain/1 '{"cmd":"explain","connector":"1"}' &&
    pass "/api/explain/1 = explain 1" || fail "/api/explain/1 differs"
wait_for 5 api_matches /api/explain/bay2 '{"cmd":"explain","connector":"bay2"}' &&
    pass "/api/explain/bay2 = explain bay2" || fail "/api/explain/bay2 differs"

# /metrics: the format checked line by line, then the values.
$PROBE metrics "${url}metrics" >"$tmp/metrics.txt" 2>"$tmp/metrics.err" &&
    pass "/metrics is valid exposition format ($(wc -l <"$tmp/metrics.txt") series)" ||
    fail "/metrics format: $(cat "$tmp/metrics.err")"
# metric KEY: the value of one series (labels sorted, as the probe prints).
metric() {
	$PROBE metrics "${url}metrics" | grep -F "$1 " | sed 's/.* //'
}
# metrics_match: the metrics say what status says, read in one steady state.
metrics_match() {
	st site_cap.w site_cap.budget_w chargers.0.connectors.0.setpoint_w \
	    chargers.1.connectors.0.reason cloud.queued >"$tmp/want"
	{
		metric 'ocpp_edge_site_cap_watts{source=config}'
		metric 'ocpp_edge_site_budget_watts{}'
		metric 'ocpp_edge_connector_setpoint_watts{connector=1,label=bay1/1}'
		$PROBE metrics "${url}metrics" |
		    sed -n 's/^ocpp_edge_connector_reason{connector=2,label=bay2\/1,reason=\(.*\)} 1$/\1/p'
		metric 'ocpp_edge_cloud_queued_messages{}'
	} >"$tmp/got"
	cmp -s "$tmp/want" "$tmp/got"
}
wait_for 5 metrics_match &&
    pass "metrics = status: $(tr '\n' ' ' <"$tmp/got")" ||
    fail "metrics $(tr '\n' ' ' <"$tmp/got") vs status $(tr '\n' ' ' <"$tmp/want")"
[ "$(metric 'ocpp_edge_modbus_up{device=bay3}')" = 1 ] &&
    [ "$(metric 'ocpp_edge_meter_up{type=sdm630}')" = 1 ] &&
    [ "$(metric 'ocpp_edge_cloud_connected{}')" = 0 ] &&
    pass "modbus_up, meter_up 1; cloud_connected 0 (no backend)" ||
    fail "up/connected series: $(grep -E '_up|connected' "$tmp/metrics.txt")"
polls1=$(metric 'ocpp_edge_modbus_polls_total{device=bay1}')
wait_for 5 sh -c "[ \$($PROBE metrics '${url}metrics' | grep -F 'ocpp_edge_modbus_polls_total{device=bay1} ' | sed 's/.* //') -gt $polls1 ]" &&
    pass "modbus_polls_total counts up" || fail "polls stuck at $polls1"

# Modbus exchanges per device, as the workers count them: response times
# of every answer (a histogram whose count follows the status's), and the
# strict Wallboxes' refusal of the merged 10000..10020 span (exception 02).
answers=$(metric 'ocpp_edge_modbus_response_seconds_count{device=bay1}')
[ "${answers:-0}" -gt 0 ] &&
    [ "$(metric 'ocpp_edge_modbus_response_seconds_bucket{device=bay1,le=+Inf}')" -ge "$answers" ] &&
    pass "modbus_response_seconds: $answers answers from bay1" ||
    fail "response histogram: $(grep 'response_seconds.*bay1' "$tmp/metrics.txt")"
[ "$(metric 'ocpp_edge_modbus_exceptions_total{code=02,device=bay1}')" -ge 1 ] &&
    [ "$(metric 'ocpp_edge_modbus_errors_total{device=bay1,kind=exception}')" -ge 1 ] &&
    pass "exception 02 counted" ||
    fail "exceptions: $(grep 'exception' "$tmp/metrics.txt" | grep bay1)"
sa=$(st chargers.0.modbus.answers)
[ "${sa:-0}" -ge "$answers" ] && pass "status: modbus.answers $sa" ||
    fail "status modbus: $(st chargers.0.modbus)"
# bay3 stops answering: timeouts; then refuses connections: refused.
sim "silence bay3 on" >/dev/null
timeouts() { [ "$(metric 'ocpp_edge_modbus_errors_total{device=bay3,kind=timeout}')" -ge 1 ]; }
wait_for 10 timeouts && pass "a silent charger: timeouts counted" ||
    fail "timeouts: $(grep 'errors_total.*bay3' "$tmp/metrics.txt")"
sim "silence bay3 close" >/dev/null
refused() { [ "$(metric 'ocpp_edge_modbus_errors_total{device=bay3,kind=refused}')" -ge 1 ]; }
wait_for 15 refused && pass "a charger refusing connections: refused counted" ||
    fail "refused: $($PROBE metrics "${url}metrics" | grep 'errors_total.*bay3')"
[ "$(st chargers.2.modbus.errors.refused)" -ge 1 ] &&
    pass "status: modbus.errors.refused" ||
    fail "status errors: $(st chargers.2.modbus.errors)"
sim "silence bay3 off" >/dev/null
wait_for 20 sh -c "[ \$($PROBE metrics '${url}metrics' | grep -F 'ocpp_edge_modbus_up{device=bay3} ' | sed 's/.* //') = 1 ]" ||
    fail "bay3 not back"

# The site changes: household +10 kW -> 22000 / 3 -> 7300 W each; the
# metrics follow.
sim "household 12000" >/dev/null
setpoint_metric() {
	[ "$(metric 'ocpp_edge_connector_setpoint_watts{connector=3,label=bay3/1}')" = "$1" ]
}
wait_for 10 setpoint_metric 7300 && pass "metrics follow the site: 7300 W" ||
    fail "setpoint metric $(metric 'ocpp_edge_connector_setpoint_watts{connector=3,label=bay3/1}')"
wait_for 5 metrics_match && pass "metrics = status after the step" ||
    fail "after the step: $(tr '\n' ' ' <"$tmp/got") vs $(tr '\n' ' ' <"$tmp/want")"

# Household 28 kW: 34000 - 28000 = 6000 W for three cars that need 4.2 kW
# each: two pause.  A paused bay's explain says why in words, marks the
# cap that left too little, and the reason is a state series.
sim "household 28000" >/dev/null
paused_explained() {
	for k in 1 2 3; do
		$PROBE get "${url}api/explain/$k" >"$tmp/ex.out"
		tail -n +2 "$tmp/ex.out" | node -e '
let s = ""; process.stdin.on("data", (d) => { s += d; });
process.stdin.on("end", () => { const e = JSON.parse(s);
  const marked = e.caps.filter((c) => c.bound);
  const ok = e.reason === "paused-below-min" && e.setpoint_w === 0 &&
    /^Paused: .* less than the 4\.2 kW a three-phase car needs\.$/.test(e.summary) &&
    marked.length === 1 && marked[0].what === e.bound_by &&
    (marked[0].room_w === undefined ? marked[0].w : marked[0].room_w) < 4200;
  if (ok) console.log(e.summary + " [" + e.bound_by + "]");
  process.exit(ok ? 0 : 1); });' >"$tmp/why" && return 0
	done
	return 1
}
wait_for 15 paused_explained && pass "paused bay: $(cat "$tmp/why")" ||
    fail "no paused bay explained: $(tail -n +2 "$tmp/ex.out" | head -c 400)"
$PROBE metrics "${url}metrics" | grep -q '^ocpp_edge_connector_reason{connector=[123],label=bay[123]/1,reason=paused-below-min} 1$' &&
    pass "metrics: reason=paused-below-min series" || fail "no paused-below-min series"

# Bad requests: a short reason and a 4xx.
# code_of PATH: the status code of GET PATH.
code_of() { $PROBE get "${url%/}$1" | head -1; }
[ "$(code_of /nope)" = 404 ] && pass "unknown path: 404" || fail "unknown path: $(code_of /nope)"
[ "$(code_of /api/explain/99)" = 404 ] &&
    $PROBE get "${url}api/explain/99" | grep -q "no connector '99'" &&
    pass "unknown connector: 404 with the reason" || fail "unknown connector: $(code_of /api/explain/99)"
[ "$(code_of /api/explain/)" = 400 ] && pass "explain without a connector: 400" ||
    fail "explain without a connector: $(code_of /api/explain/)"
hex() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }
crlf=0d0a
out=$($PROBE raw "$hport" "$(hex 'POST /api/status HTTP/1.1')${crlf}$(hex 'Host: x')${crlf}$(hex 'Connection: close')${crlf}$(hex 'Content-Length: 2')${crlf}${crlf}$(hex '{}')")
printf '%s\n' "$out" | head -1 | grep -q '^HTTP/1.1 405' && pass "POST: 405" || fail "POST: $(printf '%s\n' "$out" | head -1)"
out=$($PROBE raw "$hport" "$(hex 'DELETE /metrics HTTP/1.1')${crlf}$(hex 'Host: x')${crlf}$(hex 'Connection: close')${crlf}${crlf}")
printf '%s\n' "$out" | head -1 | grep -q '^HTTP/1.1 4' && pass "DELETE: $(printf '%s\n' "$out" | head -1 | tr -d '\r')" ||
    fail "DELETE: $(printf '%s\n' "$out" | head -1)"
out=$($PROBE raw "$hport" "$(hex 'NONSENSE')${crlf}${crlf}")
printf '%s\n' "$out" | head -1 | grep -q '^HTTP/1.[01] 4' && pass "garbage: $(printf '%s\n' "$out" | head -1 | tr -d '\r')" ||
    fail "garbage: $(printf '%s\n' "$out" | head -1)"
big=$(head -c 9000 /dev/zero | tr '\0' 'a')
out=$($PROBE raw "$hport" "$(hex 'GET /api/status HTTP/1.1')${crlf}$(hex "X-Big: $big")${crlf}${crlf}")
case "$out" in
timeout) fail "a 9 kB header left the connection hanging" ;;
*'HTTP/1.1 200'*) fail "a 9 kB header was served" ;;
*) pass "a 9 kB header: refused (${out:-closed})" ;;
esac
# Many idle connections: past the bound they are closed at accept, and
# the server still answers once they go.
out=$($PROBE hold "$hport" 60)
[ "${out%% *}" -ge 20 ] && pass "60 idle connections: ${out%% *} closed at accept" ||
    fail "60 idle connections: $out"
[ "$(code_of /api/status)" = 200 ] && pass "answers again after the flood" ||
    fail "no answer after the flood"
kill -0 "$d_pid" && pass "daemon alive" || fail "daemon died"
stop_daemon

# A password: 401 with a challenge without it or with a wrong one.
cp "$tmp/base.conf" "$tmp/edge.conf"
printf 'http {\n\tlisten = "127.0.0.1:0"\n\tpassword = "correct-horse-battery"\n}\n' >>"$tmp/edge.conf"
: >"$tmp/d.log"
start_daemon "$tmp/edge.conf"
wait_for 10 http_url || fail "no dashboard line with a password"
[ "$(code_of /api/status)" = 401 ] && pass "no credentials: 401" ||
    fail "no credentials: $(code_of /api/status)"
[ "$($PROBE get "${url}metrics" admin:wrong-password-here | head -1)" = 401 ] &&
    pass "wrong password: 401" || fail "wrong password accepted"
[ "$($PROBE get "${url}metrics" admin:correct-horse-battery | head -1)" = 200 ] &&
    pass "right password: 200" || fail "right password refused"
stop_daemon

# Off loopback without a password: refused with file and line.
cp "$tmp/base.conf" "$tmp/open.conf"
printf 'http {\n\tlisten = "0.0.0.0:0"\n}\n' >>"$tmp/open.conf"
line=$(grep -n 'listen = "0.0.0.0:0"' "$tmp/open.conf" | cut -d: -f1)
"$EDGED" --check-config "$tmp/open.conf" >"$tmp/check.out" 2>&1 &&
    fail "0.0.0.0 without a password accepted" ||
    { grep -q "open.conf:$line: option 'http.listen'.*no password" "$tmp/check.out" &&
      pass "0.0.0.0 without a password: refused at line $line" ||
      fail "refusal: $(cat "$tmp/check.out")"; }
# listen = "": no server.
cp "$tmp/base.conf" "$tmp/edge.conf"
printf 'http {\n\tlisten = ""\n}\n' >>"$tmp/edge.conf"
: >"$tmp/d.log"
start_daemon "$tmp/edge.conf"
has "$tmp/d.log" "dashboard:" && fail "listen \"\" still serves" ||
    pass "listen \"\": no server"
stop_daemon

[ "$failures" -eq 0 ] || exit 1
exit 0
