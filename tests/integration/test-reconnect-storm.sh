#!/bin/sh
# Links torn down and set up again all the time, late answers, and the
# control socket busy, all at once; afterwards every charger is online
# with its own identity.  40 TCP chargers (30 Wallboxes, 10 DC) on the
# simulator: for 15 s, in turn, a charger's connections closed and its
# port refused for a moment, and one answering 700 ms late (past the
# 500 ms response timeout, so the late answer arrives when the next
# request may already be out), while status requests come and go on the
# control socket.  No "Bad file descriptor", no Wallbox register refused
# (the DC models' 150 / 10116 are refused by design), every serial number
# the daemon shows is the simulator's for that charger.
set -u
name=test-reconnect-storm
. "${top_srcdir:-.}/tests/integration/lib.sh"

cat >"$tmp/site.json" <<'JSON'
{ "site": { "id": "storm-site", "available_power_kw": 600,
            "household_w": 5000 },
  "follow_delay_ms": 0,
  "meter": { "type": "sdm630" },
  "chargers": [
    { "name": "wb", "model": "autel-ac-wallbox", "count": 30, "serial": "AW",
      "evs": [ { "connector": 1, "evmax_w": 11000 } ] },
    { "name": "dc", "model": "autel-dc", "count": 10, "connectors": 2,
      "serial": "DC", "max_power_w": 120000,
      "max_offline_power_w": 30000 } ] }
JSON
start_sim "$tmp/site.json"
sed -i 's|^\turl = .*|\turl = ""|' "$tmp/edge.conf"
start_daemon "$tmp/edge.conf"

# all_online: every charger of the status is online.
all_online() {
	ctl '{"cmd":"status"}' >"$tmp/on.json" &&
	    ! grep -q '"online":false' "$tmp/on.json" &&
	    grep -q '"online":true' "$tmp/on.json"
}
wait_for 60 all_online || { fail "not all online at start"; exit 1; }
pass "40 chargers online"

end=$(($(date +%s) + 15))
r=0
while [ "$(date +%s)" -lt "$end" ]; do
	kill -0 "$d_pid" 2>/dev/null || { fail "daemon exited"; exit 1; }
	a=wb-$((r % 30 + 1))
	b=dc-$((r % 10 + 1))
	l=wb-$(((r + 15) % 30 + 1))
	sim "silence $a close" >/dev/null
	sim "silence $b close" >/dev/null
	sim "reply-delay $l 700" >/dev/null
	for i in 1 2 3; do
		ctl '{"cmd":"status"}' >/dev/null
	done
	sim "silence $a off" >/dev/null
	sim "silence $b off" >/dev/null
	for i in 1 2 3; do
		ctl '{"cmd":"status"}' >/dev/null
	done
	sim "reply-delay $l 0" >/dev/null
	r=$((r + 1))
done
pass "$r rounds of closed links and late answers"

# settled: every charger online with an identity read on its current
# connection (a charger given up on backs off up to 30 s before its next
# attempt)
settled() { all_online && ! grep -q '"serial":""' "$tmp/on.json"; }
wait_for 60 settled || fail "not all online again: $(grep -o '"name":"[^"]*","model":"[^"]*","serial":"[^"]*","firmware":"[^"]*","link":"[^"]*","online":false' "$tmp/on.json" | head -3)"
grep 'Bad file descriptor' "$tmp/d.log" | head -3
n=$(grep -c 'Bad file descriptor' "$tmp/d.log")
[ "$n" -eq 0 ] && pass "no Bad file descriptor" ||
    fail "$n lines with Bad file descriptor"
n=$(grep ' wb-[0-9]*: register .* not supported' "$tmp/d.log" | wc -l)
[ "$n" -eq 0 ] && pass "no Wallbox register refused" || {
	fail "$n Wallbox registers refused"
	grep ' wb-[0-9]*: register .* not supported' "$tmp/d.log" | head -3
}
cp "$tmp/on.json" "$tmp/st.json"
bad=0
i=0
while [ "$i" -lt 40 ]; do
	c=$("$JG" "result.chargers.$i.name" <"$tmp/st.json")
	got=$("$JG" "result.chargers.$i.serial" <"$tmp/st.json")
	want=$(sim_get "$c" serial)
	unsup=$("$JG" "result.chargers.$i.unsupported" <"$tmp/st.json" 2>/dev/null)
	if [ "$got" != "$want" ]; then
		fail "$c shows serial \"$got\", the simulator's is \"$want\""
		bad=$((bad + 1))
	fi
	case $c in
	wb-*) [ -z "$unsup" ] || [ "$unsup" = null ] ||
	    fail "$c lists unsupported registers: $unsup" ;;
	esac
	i=$((i + 1))
done
[ "$bad" -eq 0 ] && pass "every charger shows its own serial number"
stop_daemon
[ "$failures" -eq 0 ]
