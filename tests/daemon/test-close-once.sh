#!/bin/sh
# Every descriptor of the daemon is closed once.  A number closed twice is
# taken from whoever opened it in between: under load a southbound worker
# opened a Modbus socket between the two closes of a control connection,
# and the second close shut it ("Bad file descriptor" for one charger,
# another talking to a third device's socket).  The daemon runs with
# close-once.so preloaded, which reports every close of a descriptor that
# was not open, while control connections come and go (answered, refused
# requests, hung up without a request) and chargers are polled; then it is
# stopped (the listening socket, the southbound wake-up descriptor).
set -u
name=test-close-once
. "${top_srcdir:-.}/tests/integration/lib.sh"
shim="$B/tests/daemon/close-once.so"
[ -f "$shim" ] || { echo "missing $shim"; exit 99; }
# (preloaded ahead of a sanitizer's runtime, which then must not object)
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
export ASAN_OPTIONS

# The shim sees a close of a descriptor that is not open, or this test
# could not fail.
if LD_PRELOAD="$shim" perl -MPOSIX -e 'POSIX::close(1000)' 2>&1 |
    grep -q 'close-once: close(1000)'; then
	pass "the preloaded close reports a descriptor that was not open"
else
	fail "close-once.so reports nothing"
	exit 1
fi

cat >"$tmp/site.json" <<'JSON'
{ "site": { "id": "close-site", "voltage_v": 230, "available_power_kw": 40,
            "main_breaker_a": 63, "household_w": 1000 },
  "meter": { "type": "sdm630", "tcp": true },
  "chargers": [
    { "name": "bay1", "model": "autel-ac-wallbox",
      "evs": [ { "connector": 1, "evmax_w": 22000 } ] },
    { "name": "bay2", "model": "autel-ac-wallbox" },
    { "name": "bay3", "model": "autel-ac-ultra", "connectors": 2,
      "evs": [ { "connector": 1, "evmax_w": 22000 } ] } ] }
JSON
start_sim "$tmp/site.json"
sed -i 's|^\turl = .*|\turl = ""|' "$tmp/edge.conf"
LD_PRELOAD="$shim" "$EDGED" --stderr --config "$tmp/edge.conf" \
    --control "$tmp/ctl.sock" 2>>"$tmp/d.log" &
d_pid=$!
wait_for 20 daemon_ready || { fail "daemon not ready"; exit 1; }
online() { [ "$(st chargers.0.online chargers.1.online chargers.2.online)" = \
    "$(printf 'true\ntrue\ntrue')" ]; }
wait_for 20 online || fail "chargers not online: $(st chargers.0.error)"

i=0
while [ "$i" -lt 30 ]; do
	ctl '{"cmd":"status"}' | grep -q '"ok":true' || fail "status $i"
	ctl '{"cmd":"no-such-command"}' | grep -q '"ok":false' ||
	    fail "refused request $i"
	# connected and hung up without a word
	"$CTLC" "$tmp/ctl.sock" - </dev/null >/dev/null 2>&1
	i=$((i + 1))
done
pass "90 control connections opened and closed"
[ "$(st chargers.1.online)" = true ] || fail "bay2 offline: $(st chargers.1.error)"
stop_daemon

if grep -q 'close-once:' "$tmp/d.log"; then
	fail "descriptors closed twice: $(grep -c 'close-once:' "$tmp/d.log") closes of a descriptor that was not open"
	grep 'close-once:' "$tmp/d.log" | head -5
else
	pass "no descriptor closed twice"
fi
[ "$failures" -eq 0 ]
