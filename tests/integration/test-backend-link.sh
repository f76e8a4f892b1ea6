#!/bin/sh
# The backend link says what is wrong from its first attempt, once per
# cause, and says when it is back (the real daemon, the simulator and the
# strict test CSMS, loopback only):
# - a closed port (127.0.0.1:1): "cloud: not connected yet: URL: TCP
#   connect failed ..." at the first attempt, and only once over several
#   attempts;
# - an HTTP server that answers 404 to the websocket upgrade: the status;
# - the CSMS refusing the password: "HTTP 401 Unauthorized", once; when it
#   accepts it, "cloud: back: connected to URL after S s (N failed attempts)";
# - the CSMS dropping the link: "cloud: connection lost", then back.
set -u
name=test-backend-link
. "${top_srcdir:-.}/tests/integration/lib.sh"
command -v node >/dev/null 2>&1 || { echo "node not installed: skipped"; exit 77; }
. "$S/tests/integration/csms.sh"

bays_site "$tmp/site.json" link-site 0 200
start_sim "$tmp/site.json"
sed -i 's|^\tmode = "alm"|\tmode = "dlb"|' "$tmp/edge.conf"
# a retry every second (csms_conf sets the minimum and random parts)
conf_set "csms {" 'retry-backoff-repeat = 0'
printf 'http {\n\tlisten = ""\n}\n' >>"$tmp/edge.conf"
cp "$tmp/edge.conf" "$tmp/base.conf"
fast_retries() {
	conf_set "csms {" 'retry-backoff-min-s = 1'
	conf_set "csms {" 'retry-backoff-random-s = 0'
}
fast_retries

# attempts: the failed attempts so far (the session's debug lines).
attempts() { grep -c 'link down' "$tmp/d.log"; }
at_least() { [ "$(attempts)" -ge "$1" ]; }
count() { grep -cF -- "$1" "$tmp/d.log"; }

# 1. Nothing listens: the first attempt says so, the next ones do not.
sed -i 's|^\turl = .*|\turl = "ws://127.0.0.1:1/ocpp"|' "$tmp/edge.conf"
: >"$tmp/d.log"
start_daemon "$tmp/edge.conf" -d ocpp
line='cloud: not connected yet: ws://127.0.0.1:1/ocpp/link-site: TCP connect failed'
wait_for 10 has "$tmp/d.log" "$line" &&
    pass "closed port: logged at the first attempt" ||
    fail "closed port: no line \"$line\""
wait_for 15 at_least 3 || fail "fewer than 3 attempts: $(attempts)"
[ "$(count 'cloud: not connected yet')" -eq 1 ] &&
    pass "closed port: once over $(attempts) attempts" ||
    fail "closed port: $(count 'cloud: not connected yet') lines"
stop_daemon

# 2. An HTTP server that is no OCPP endpoint: 404 to the upgrade.
node -e "require('http').createServer((q, r) => { r.statusCode = 404;
    r.end('no'); }).listen(0, '127.0.0.1', function () {
    console.log(this.address().port); });" >"$tmp/h404.port" 2>&1 &
h404_pid=$!
extra_pids="$h404_pid"
wait_for 10 grep -q '^[1-9]' "$tmp/h404.port" || fail "404 server not up"
hport=$(cat "$tmp/h404.port")
cp "$tmp/base.conf" "$tmp/edge.conf"
sed -i "s|^\turl = .*|\turl = \"ws://127.0.0.1:$hport/nothing\"|" "$tmp/edge.conf"
fast_retries
: >"$tmp/d.log"
start_daemon "$tmp/edge.conf"
wait_for 10 has "$tmp/d.log" "ws://127.0.0.1:$hport/nothing/link-site: HTTP 404 Not Found" &&
    pass "404: the HTTP status logged" ||
    fail "404: $(grep 'cloud:' "$tmp/d.log")"
stop_daemon
kill -TERM "$h404_pid"
wait "$h404_pid" 2>/dev/null
extra_pids=

# 3. The CSMS wants another password: 401 once, then back once it takes
# the daemon's.
start_csms --password 'the-right-password'
csms_conf 1.6
sed -i 's|^\tocpp-version = .*|&\n\tpassword = "the-wrong-password"|' \
    "$tmp/edge.conf"
chmod 600 "$tmp/edge.conf"
: >"$tmp/d.log"
start_daemon "$tmp/edge.conf" -d ocpp
wait_for 10 has "$tmp/d.log" "cloud: not connected yet: ws://127.0.0.1:$port/ocpp/link-site: HTTP 401 Unauthorized" &&
    pass "401: logged at the first attempt" ||
    fail "401: $(grep 'cloud:' "$tmp/d.log")"
wait_for 15 at_least 3 || fail "fewer than 3 attempts: $(attempts)"
[ "$(count 'cloud: not connected yet')" -eq 1 ] &&
    pass "401: once over $(attempts) attempts" ||
    fail "401: $(count 'cloud: not connected yet') lines"
csms '{"cmd":"set","password":"the-wrong-password"}'
wait_for 10 has "$tmp/d.log" "cloud: back: connected to ws://127.0.0.1:$port/ocpp/link-site after" &&
    pass "back: $(grep -o '([0-9]* failed attempts)' "$tmp/d.log")" ||
    fail "back: $(grep 'cloud:' "$tmp/d.log")"
wait_for 10 grep -q '"event":"connected"' "$tmp/csms.log" ||
    fail "the CSMS saw no connection"

# 4. The CSMS drops the link: lost, then back.
csms '{"cmd":"drop","identity":"link-site"}'
wait_for 10 has "$tmp/d.log" "cloud: connection lost: ws://127.0.0.1:$port/ocpp/link-site" &&
    pass "drop: connection lost logged" ||
    fail "drop: $(grep 'cloud:' "$tmp/d.log")"
back_twice() { [ "$(count 'cloud: back:')" -eq 2 ]; }
wait_for 10 back_twice &&
    pass "drop: back again" || fail "drop: $(grep 'cloud:' "$tmp/d.log")"
stop_daemon
stop_csms

[ "$failures" -eq 0 ] || exit 1
exit 0
