#!/bin/sh
# The demo in a pseudo-terminal: tools/ocpp-edge-demo runs inside a tmux
# server of our own (private socket), which starts the simulator, the
# daemon and `ocpp-edgectl status --watch`.  The screen is read back with
# capture-pane: every charger and connector shows, the cloud is on local
# fallback, the dashboard's address and the demo's paths stay on top, the
# screen is redrawn in place (the clock moves, nothing
# scrolls into the history).  Ctrl-C must end the demo with status 0 and
# every process it started.  The tmux server is killed by its socket.
set -u
. "${top_srcdir:-.}/tests/ctl/lib.sh"
need_built
need tmux "tmux is not installed (tools/install-deps)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-demo.XXXXXX") || exit 99
mkdir "$tmp/d" || exit 99
tm() { tmux -S "$tmp/tmux.sock" -f /dev/null "$@"; }
cleanup() {
	tm kill-server 2>/dev/null
	# the demo's own processes, should a check below have failed
	kill_demo_pids
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# screen: the visible pane, trailing blank lines dropped.
screen() { tm capture-pane -p -t demo:0 | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}'; }
# wait_screen TEXT...: until every TEXT is on the screen (at most 30 s).
wait_screen() {
	i=0
	while :; do
		screen >"$tmp/screen" 2>/dev/null
		ok=1
		for t in "$@"; do
			grep -qF -- "$t" "$tmp/screen" || { ok=0; break; }
		done
		[ "$ok" -eq 1 ] && return 0
		i=$((i + 1))
		if [ "$i" -gt 300 ]; then
			echo "screen never showed '$t':"; cat "$tmp/screen"
			return 1
		fi
		sleep 0.1
	done
}

if ! tm new-session -d -s demo -x 150 -y 60 \
    "TMPDIR='$tmp/d' sh '$src/tools/ocpp-edge-demo' --builddir '$bld' \
     --interval 0.5 --keep; echo \"DEMO-EXIT=\$?\" >'$tmp/exit'; sleep 600"; then
	echo "cannot start a tmux server"; exit 99
fi

# All five chargers online and the six connectors (EVSE 1..6) listed.
wait_screen "Every 0.5s: ocpp-edgectl status" "running on local fallback" \
    "dc1/1" || { fail "status screen"; exit 1; }
wait_screen "wallbox1  autel-ac-wallbox  AW22-0001" "compact1  autel-ac-compact  AC07-0002" \
    "ultra1    autel-ac-ultra    AU22-0003" "single1   autel-single      AS11-0004" \
    "dc1       autel-dc          DC40-0005" || fail "chargers"
for c in wallbox1 compact1 ultra1 single1 dc1; do
	grep -E "^$c .*  online\$" "$tmp/screen" >/dev/null || fail "$c not online"
done
n=0
for c in "1  wallbox1/1" "2  compact1/1" "3  ultra1/1" "4  ultra1/2" "5  single1/1" "6  dc1/1"; do
	grep -qF "   $c  " "$tmp/screen" && n=$((n + 1))
done
[ "$n" -eq 6 ] || fail "$n of 6 connectors listed"
grep -q '^Mode      ALM  reserve 10 %  available 60.0 kW  (settings from file)$' "$tmp/screen" ||
    fail "mode line"
grep -q '^          if the meter is lost: 6.0 kW shared; if the cloud is lost: site cap 30.0 kW$' "$tmp/screen" ||
    fail "settings of etc/demo.conf not in force"
grep -q '^Meter     sdm630  online' "$tmp/screen" || fail "meter line"
pass "status screen: 5 chargers online, 6 connectors, ALM, meter online, local fallback"

# The dashboard's address and the paths stay on top of the status screen.
url=$(sed -n 's|^ocpp-edge-demo: dashboard *\(http://127\.0\.0\.1:[0-9]*/\)$|\1|p' "$tmp/screen")
[ "$(sed -n 1p "$tmp/screen")" = "ocpp-edge-demo: dashboard      $url" ] &&
    grep -q '^  control socket .*/ctl\.sock ' "$tmp/screen" &&
    grep -q '^  daemon log .*/ocpp-edged\.log$' "$tmp/screen" &&
    pass "the dashboard $url and the paths stay on the status screen" ||
    fail "no dashboard line or paths on top of the status screen: $(head -3 "$tmp/screen")"

# Redrawn in place: the header clock changes, the first line stays the
# demo's, and no line goes to the scroll-back history between frames.
h1=$(tm display-message -p -t demo:0 '#{history_size}')
first=$(grep -m1 '^Every 0.5s' "$tmp/screen")
i=0
while :; do
	screen >"$tmp/screen2"
	now=$(grep -m1 '^Every 0.5s' "$tmp/screen2")
	case "$now" in
	"Every 0.5s: ocpp-edgectl status"*) [ "$now" != "$first" ] && break ;;
	esac
	i=$((i + 1))
	[ "$i" -le 50 ] || { fail "the screen was not redrawn: '$now'"; break; }
	sleep 0.1
done
sleep 1.2   # two more frames
h2=$(tm display-message -p -t demo:0 '#{history_size}')
[ "$h1" = "$h2" ] || fail "$((h2 - h1)) line(s) scrolled into the history: not redrawn in place"
grep -qF "dc1/1" "$tmp/screen2" || fail "redrawn screen lacks the connectors"
[ "$(sed -n 1p "$tmp/screen2")" = "ocpp-edge-demo: dashboard      $url" ] ||
    fail "the redrawn screen's first line: $(sed -n 1p "$tmp/screen2")"
pass "redrawn in place ('$first' -> '$now', history $h1 -> $h2 lines)"

# Ctrl-C ends the demo (exit 0) and every process it started.
pids=$(cat "$tmp"/d/ocpp-edge-demo.*/pids 2>/dev/null)
[ -n "$pids" ] || fail "the demo wrote no pids file"
tm send-keys -t demo:0 C-c
i=0
until [ -s "$tmp/exit" ]; do
	i=$((i + 1))
	[ "$i" -le 150 ] || { fail "the demo did not end within 15 s of Ctrl-C"; break; }
	sleep 0.1
done
grep -qx 'DEMO-EXIT=0' "$tmp/exit" || fail "demo exit: $(cat "$tmp/exit")"
for pid in $pids; do
	kill -0 "$pid" 2>/dev/null && fail "process $pid still running after Ctrl-C"
done
screen >"$tmp/screen"
grep -q '^ocpp-edge-demo: stopped; logs and database kept in ' "$tmp/screen" ||
    fail "no 'stopped' line: $(tail -3 "$tmp/screen")"
pass "Ctrl-C stopped the demo and its $(echo $pids | wc -w) processes"

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "all demo checks passed"
exit 0
