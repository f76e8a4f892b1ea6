#!/bin/sh
# ocpp-edgectl scan against the site simulator on loopback: every charger
# model on Modbus TCP, an SDM630 on TCP and on the simulator's RTU pty
# (9600 8E1, slave 3) with an AC Ultra as slave 5, two chargers that dial
# the gateway (scan --listen).  Checks each printed
# section against tests/ctl/scan-site.json, that the daemon accepts the
# result as its configuration, that an unreachable host is reported and
# not fatal, and that scanning writes nothing to the chargers.
# node (installed by tools/install-deps) reads the simulator's JSON.
set -u
. "${top_srcdir:-.}/tests/ctl/lib.sh"
need_built
sim="$bld/ocpp-edge-sim"
edged="$bld/ocpp-edged"
need node "node is not installed"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-scan.XXXXXX") || exit 99
sim_pid=""
cleanup() {
	[ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# simctl COMMAND: one line to the simulator's control socket.
simctl() {
	node -e 'const c = require("net").connect(process.argv[1]);
let b = "";
c.on("data", d => { b += d; if (b.includes("\n")) { process.stdout.write(b); c.end(); } });
c.write(process.argv[2] + "\n");' "$tmp/sim.sock" "$1"
}
# block FILE HEADER: the lines of the section that starts with HEADER.
block() {
	awk -v h="$2" '$0 == h { on = 1; next } on && $0 == "}" { exit } on { print }' "$1"
}

# The dial-in chargers' gateway: a free port, from the kernel.
gw=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1",
() => { console.log(s.address().port); s.close(); });')
"$sim" -q --scenario "$src/tests/ctl/scan-site.json" --control "$tmp/sim.sock" \
    --ready-file "$tmp/ready.json" --gateway "127.0.0.1:$gw" --redial-ms 100 \
    >/dev/null 2>"$tmp/sim.err" &
sim_pid=$!
i=0
until [ -s "$tmp/ready.json" ]; do
	i=$((i + 1))
	if [ "$i" -gt 200 ] || ! kill -0 "$sim_pid" 2>/dev/null; then
		echo "simulator not ready:"; cat "$tmp/sim.err"; exit 99
	fi
	sleep 0.05
done

# ---- Modbus TCP: every charger and the meter, plus a closed port ----------
targets=$(json "$tmp/ready.json" 'j.chargers.filter(c => c.link === "tcp").map(c => "127.0.0.1:" + c.port).join(" ")')
mport=$(json "$tmp/ready.json" 'j.meter.port')
# shellcheck disable=SC2086
"$ctl" scan $targets 127.0.0.1:1 "127.0.0.1:$mport" >"$tmp/tcp.out" 2>"$tmp/tcp.err"
rc=$?
[ "$rc" -eq 6 ] || fail "scan with a closed port: exit $rc, expected 6"
grep -q '^ocpp-edgectl: scan: 127.0.0.1:1: Connection refused$' "$tmp/tcp.err" ||
    fail "closed port not reported on stderr: $(cat "$tmp/tcp.err")"
grep -q '^# 127.0.0.1:1: Connection refused$' "$tmp/tcp.out" ||
    fail "closed port not reported as a comment"
grep -q '^ocpp-edgectl: scan: 7 devices found, 1 target without one$' "$tmp/tcp.err" ||
    fail "summary: $(tail -1 "$tmp/tcp.err")"
pass "unreachable host reported, the others scanned (exit 6)"

# Expected per charger (scan-site.json): name serial-as-config-name model
# connectors phases max-power-kw word-order.  7400 W -> 7.4 kW; the Ultra
# is low word first; the odd product text falls back to the Wallbox map.
while read -r name cname model conns phases kw order; do
	port=$(json "$tmp/ready.json" "j.chargers.find(c => c.name === '$name').port")
	serial=$(json "$tmp/ready.json" "j.chargers.find(c => c.name === '$name').serial")
	block "$tmp/tcp.out" "charger \"$cname\" {" >"$tmp/b"
	[ -s "$tmp/b" ] || { fail "$name: no section charger \"$cname\""; continue; }
	for want in "model = \"$model\"" 'link = "tcp"' 'host = "127.0.0.1"' \
	    "port = $port" 'unit-id = 1' "serial = \"$serial\"" \
	    "connectors = $conns" "phases = $phases" "max-power-kw = $kw"; do
		grep -qxF "	$want" "$tmp/b" || fail "$name: lacks '$want': $(cat "$tmp/b")"
	done
	if [ "$order" = low ]; then
		grep -qxF '	word-order = "low-first"' "$tmp/b" || fail "$name: word order"
	else
		grep -q 'word-order' "$tmp/b" && fail "$name: word order printed"
	fi
	pass "$name: $model, $conns connector(s), $phases phase(s), $kw kW"
done <<EOF
wallbox1 AW22-0001 autel-ac-wallbox 1 3 22 high
compact1 AC07-0002 autel-ac-compact 1 1 7.4 high
ultra1 AU22-0003 autel-ac-ultra 2 3 22 low
single1 AS11-0004 autel-single 1 3 11 high
dc1 DH60-0005 autel-dc 2 3 60 high
odd1 XX-0006--1 autel-ac-wallbox 1 3 11 high
EOF
grep -q '^# MaxiCharger AC Wallbox, firmware V2.0.1, serial AW22-0001$' "$tmp/tcp.out" ||
    fail "wallbox1: product / firmware comment"
grep -q 'serial AS11-0004, refuses function 04 (read with 03)$' "$tmp/tcp.out" ||
    fail "single1: function 04 refusal not noted"
grep -q '^# rated 60000 W, offline maximum 10000 W$' "$tmp/tcp.out" ||
    fail "dc1: DC maxima comment"
grep -q '^# product type not recognised: the model is a guess, check it$' "$tmp/tcp.out" ||
    fail "odd1: guessed model not flagged"
block "$tmp/tcp.out" "meter {" >"$tmp/b"
for want in 'type = "sdm630"' 'link = "tcp"' "port = $mport"; do
	grep -qxF "	$want" "$tmp/b" || fail "TCP meter lacks '$want'"
done
pass "TCP meter: sdm630"

# ---- chargers that dial the gateway ("charger as client") ---------------
"$ctl" scan --listen "127.0.0.1:$gw" --wait 20 --count 2 >"$tmp/dial.out" 2>"$tmp/dial.err"
rc=$?
[ "$rc" -eq 0 ] || fail "scan --listen: exit $rc: $(cat "$tmp/dial.err")"
while read -r cname model kw phases; do
	block "$tmp/dial.out" "charger \"$cname\" {" >"$tmp/b"
	for want in "model = \"$model\"" 'link = "tcp-listen"' "serial = \"$cname\"" \
	    'connectors = 1' "phases = $phases" "max-power-kw = $kw"; do
		grep -qxF "	$want" "$tmp/b" || fail "dial-in $cname lacks '$want': $(cat "$tmp/b")"
	done
	grep -q 'host = ' "$tmp/b" && fail "dial-in $cname has a host"
done <<EOF
AC07-DIAL1 autel-ac-compact 7.4 1
AW22-DIAL2 autel-ac-wallbox 11 3
EOF
[ "$(grep -c '^# dialled in from 127.0.0.1 to ' "$tmp/dial.out")" -eq 2 ] ||
    fail "dial-in comments: $(grep '^#' "$tmp/dial.out")"
pass "scan --listen: both dial-in chargers, each once"
# Fewer than --count within --wait: reported, exit 6 (they dial again
# 100 ms after the first scan hung up, so 2 of the 3 asked for come).
"$ctl" scan --listen "127.0.0.1:$gw" --wait 2 --count 3 >"$tmp/dial.out" 2>"$tmp/dial.err"
rc=$?
[ "$rc" -eq 6 ] || fail "scan --listen --count 3: exit $rc"
grep -q "^# 127.0.0.1:$gw: 2 chargers dialled in within 2 s (fewer than --count)\$" "$tmp/dial.out" ||
    fail "missing dial-ins not reported: $(grep '^#' "$tmp/dial.out")"
pass "scan --listen: fewer chargers than --count reported (exit 6)"

# Scanning only reads: no charger saw a write.
for name in wallbox1 compact1 ultra1 single1 dc1 odd1 dialer1 dialer2; do
	simctl "get $name" >"$tmp/get"
	w=$(sed -n 's/^ok //p' "$tmp/get" >"$tmp/get.json"; json "$tmp/get.json" 'j.writes')
	[ "$w" = 0 ] || fail "$name: scan wrote $w time(s)"
done
pass "no register written"

# The daemon accepts the printed sections (TCP and dial-in) as its
# configuration.
cat >"$tmp/edge.conf" <<EOF
site {
	id = "scan-test"
	available-power-kw = 100
	main-breaker-a = 160
}
csms {
	url = "ws://127.0.0.1:9/ocpp"
	identity = "scan-test"
}
balancer {
	mode = "alm"
}
store {
	path = "$tmp/edge.db"
}
EOF
cat "$tmp/tcp.out" "$tmp/dial.out" >>"$tmp/edge.conf"
if "$edged" --check-config "$tmp/edge.conf" >"$tmp/check.out" 2>&1; then
	pass "ocpp-edged --check-config accepts the scan"
else
	fail "ocpp-edged --check-config refused the scan:"; cat "$tmp/check.out"
fi

# ---- the RTU bus: meter at 3, charger at 5, nothing at 4 ------------------
pty=$(json "$tmp/ready.json" 'j.rtu.pty')
"$ctl" scan --rtu "$pty" --baud 9600 --parity even --slave-ids 3-5 >"$tmp/rtu.out" 2>"$tmp/rtu.err"
rc=$?
[ "$rc" -eq 0 ] || fail "RTU scan: exit $rc: $(cat "$tmp/rtu.err")"
block "$tmp/rtu.out" "meter {" >"$tmp/b"
for want in 'type = "sdm630"' 'link = "rtu"' "device = \"$pty\"" 'baud = 9600' \
    'parity = "even"' 'stop-bits = 1' 'unit-id = 3'; do
	grep -qxF "	$want" "$tmp/b" || fail "RTU meter lacks '$want': $(cat "$tmp/b")"
done
block "$tmp/rtu.out" 'charger "AU22-RTU5" {' >"$tmp/b"
for want in 'model = "autel-ac-ultra"' 'link = "rtu"' 'unit-id = 5' \
    'serial = "AU22-RTU5"' 'connectors = 2' 'max-power-kw = 22' 'parity = "even"'; do
	grep -qxF "	$want" "$tmp/b" || fail "RTU charger lacks '$want': $(cat "$tmp/b")"
done
grep -q "slave 4: no answer" "$tmp/rtu.err" || fail "RTU slave 4 not reported"
pass "RTU bus: SDM630 at 3, AC Ultra at 5, nothing at 4"

"$ctl" scan --rtu "$tmp/no-such-tty" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 6 ] && grep -q "cannot open $tmp/no-such-tty" "$tmp/err" ||
    fail "missing serial device: exit $rc, $(cat "$tmp/err")"
pass "missing serial device reported (exit 6)"

# ---- an address range: 127.0.0.0/29 on one charger's port ---------------
# 127.0.0.1 .. 127.0.0.6 are probed 3 at once; only 127.0.0.1 has the
# charger (the simulator listens there), the others refuse the connection.
cport=$(json "$tmp/ready.json" 'j.chargers.filter(c => c.link === "tcp")[0].port')
cname=$(json "$tmp/ready.json" 'j.chargers.filter(c => c.link === "tcp")[0].name')
"$ctl" scan 127.0.0.0/29 --port "$cport" --parallel 3 --timeout 500 \
    >"$tmp/cidr.out" 2>"$tmp/cidr.err"
rc=$?
[ "$rc" -eq 0 ] || fail "scan 127.0.0.0/29: exit $rc: $(cat "$tmp/cidr.err")"
[ "$(grep -c '^charger "' "$tmp/cidr.out")" -eq 1 ] &&
    grep -qF "host = \"127.0.0.1\"" "$tmp/cidr.out" &&
    grep -qF "port = $cport" "$tmp/cidr.out" ||
    fail "scan 127.0.0.0/29: $(cat "$tmp/cidr.out")"
grep -qF "127.0.0.0/29 port $cport: 6/6 addresses probed, 1 device" \
    "$tmp/cidr.err" || fail "no final progress line: $(cat "$tmp/cidr.err")"
grep -q "127.0.0.0/29 port $cport: [0-9]/6 addresses probed" "$tmp/cidr.err" ||
    fail "no progress line"
pass "scan 127.0.0.0/29: $cname's charger at 127.0.0.1 only, with progress"
# nothing in the range: exit 6 and said so
"$ctl" scan 127.0.0.8/30 --port "$cport" >"$tmp/cidr.out" 2>"$tmp/cidr.err"
rc=$?
[ "$rc" -eq 6 ] && grep -q "no device answered at unit 1 (2 addresses)" \
    "$tmp/cidr.out" && pass "an empty range: exit 6, said so" ||
    fail "empty range: exit $rc: $(cat "$tmp/cidr.out")"

# ---- bad command lines ----------------------------------------------------
usage() { # expected-stderr-text args...
	want=$1; shift
	"$ctl" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ "$rc" -eq 2 ] && grep -qF -- "$want" "$tmp/err" ||
	    fail "'$*': exit $rc, stderr '$(cat "$tmp/err")'"
}
usage "scan needs HOST[:PORT] targets, --rtu DEVICE and/or --listen HOST:PORT" scan
usage "--slave-ids '0-3': expected A-B with 1 <= A <= B <= 247" scan --rtu x --slave-ids 0-3
usage "--parity 'mark': allowed none, even, odd" scan --rtu x --parity mark
usage "--baud '300': allowed 1200..115200" scan --rtu x --baud 300
usage "are for scan" status --rtu x
"$ctl" scan 10.0.0.0/8 >"$tmp/out" 2>"$tmp/err"
grep -q "N 20..32 (at most 4096 addresses)" "$tmp/err" || fail "range size message"
usage "--parallel '0': allowed 1..64" scan 127.0.0.0/30 --parallel 0
"$ctl" scan 127.0.0.1:70000 >"$tmp/out" 2>"$tmp/err"
grep -q "port '70000' out of range 1..65535" "$tmp/err" || fail "port range message"
pass "bad command lines exit 2, with the valid range"

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "all scan checks passed"
exit 0
