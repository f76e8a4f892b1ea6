# Shared by the shell tests that run the real daemon against the real
# simulator: start and stop by PID, readiness by file / log line / socket,
# the two control sockets.  Source it after setting `name`.
#   top_builddir, top_srcdir: from the test environment.
B="${top_builddir:-.}"
S="${top_srcdir:-.}"
SIM="$B/ocpp-edge-sim"
EDGED="$B/ocpp-edged"
CTLC="$B/tests/daemon/ctl-client"
JG="$B/tests/daemon/json-get"
for prog in "$SIM" "$EDGED" "$CTLC" "$JG"; do
	[ -x "$prog" ] || { echo "missing $prog"; exit 99; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/${name:-itest}.XXXXXX") || exit 99
sim_pid=
d_pid=
extra_pids=
failures=0

# Stops what this test started, by PID, on every exit path.
cleanup() {
	for p in $d_pid $sim_pid $extra_pids; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in $d_pid $sim_pid $extra_pids; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ "$i" -lt 50 ]; do
			sleep 0.05
			i=$((i + 1))
		done
		kill -KILL "$p" 2>/dev/null
	done
	if [ "$failures" -ne 0 ] || [ -n "${KEEP_TMP:-}" ]; then
		for f in "$tmp"/*.log; do
			[ -f "$f" ] || continue
			echo "---- $f (last 40 lines)"
			tail -${TAIL_LINES:-40} "$f"
		done
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 99' INT TERM

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
has() { grep -qF -- "$2" "$1"; }

# wait_for SECONDS CMD...: runs CMD every 50 ms until it succeeds; 1 on
# timeout.
wait_for() {
	wf_limit=$(($1 * 20))
	shift
	wf_i=0
	until "$@" >/dev/null 2>&1; do
		wf_i=$((wf_i + 1))
		[ "$wf_i" -ge "$wf_limit" ] && return 1
		sleep 0.05
	done
	return 0
}

# wait_secs SECONDS CMD...: like wait_for, for a CMD that itself takes
# seconds (a browser's page load): bounded by the clock, not by a count.
wait_secs() {
	ws_end=$(($(date +%s) + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -ge "$ws_end" ] && return 1
		sleep 0.05
	done
	return 0
}

# start_sim SCENARIO [ARGS...]: the simulator with its control socket,
# ready file and a matching daemon configuration in $tmp/edge.conf.
start_sim() {
	scen=$1
	shift
	rm -f "$tmp/sim.ready"
	"$SIM" --scenario "$scen" --control "$tmp/sim.sock" \
	    --ready-file "$tmp/sim.ready" --write-config "$tmp/edge.conf" \
	    "$@" >"$tmp/sim.out" 2>"$tmp/sim.log" &
	sim_pid=$!
	wait_for 20 test -s "$tmp/sim.ready" || {
		fail "simulator not ready"; exit 1; }
}

# sim CMD: one command on the simulator's socket; its reply on stdout.
sim() { "$CTLC" "$tmp/sim.sock" "$*"; }

# sim_get CHARGER PATH...: values out of `get CHARGER`.
sim_get() {
	c=$1
	shift
	sim "get $c" | "$JG" "$@"
}

# start_daemon CONF [ARGS...]: the daemon, logging to $tmp/d.log, ready
# when its control socket answers.  A CONF without an http section gets
# one on a port the system picks (tests side by side would all want the
# default 8080).
start_daemon() {
	conf=$1
	shift
	http_any_port "$conf"
	"$EDGED" --stderr --config "$conf" --control "$tmp/ctl.sock" "$@" \
	    2>>"$tmp/d.log" &
	d_pid=$!
	wait_for 20 daemon_ready || { fail "daemon not ready"; exit 1; }
}

# http_any_port CONF: appends an http section on 127.0.0.1, port 0, to
# CONF unless it has one.
http_any_port() {
	grep -Eq '^[[:space:]]*http[[:space:]]*\{' "$1" ||
	    printf 'http {\n\tlisten = "127.0.0.1:0"\n}\n' >>"$1"
}

# stop_daemon: SIGTERM, wait, expect exit 0.
stop_daemon() {
	kill -TERM "$d_pid"
	wait "$d_pid"
	rc=$?
	[ "$rc" -eq 0 ] || fail "daemon exit status $rc"
	d_pid=
}

# daemon_ready: its socket answers (exits the test when it died).
daemon_ready() {
	kill -0 "$d_pid" 2>/dev/null || { fail "daemon exited"; exit 1; }
	ctl_ok
}
ctl_ok() { "$CTLC" "$tmp/ctl.sock" '{"cmd":"status"}' | grep -q '"ok":true'; }
# ctl REQUEST: one request on the daemon's socket.
ctl() { "$CTLC" "$tmp/ctl.sock" "$1"; }
# st PATH...: values out of the daemon's status result.
st() {
	ctl '{"cmd":"status"}' >"$tmp/st.json"
	args=
	for p in "$@"; do
		"$JG" "result.$p" <"$tmp/st.json"
	done
}

# conf_set KEY LINE: appends LINE inside the section that starts with
# KEY in $tmp/edge.conf (e.g. conf_set "balancer {" 'mode = "dlb"').
conf_set() {
	sed -i "s|^$1\$|$1\n\t$2|" "$tmp/edge.conf"
}

# bays_site FILE ID HOUSEHOLD_W FOLLOW_DELAY_MS [meter]: writes FILE, a
# simulated site of three 22 kW wallboxes bay1..bay3 (a car on connector 1
# of each) on a 40 kW, 100 A connection; "meter" adds an SDM630 on TCP.
# (100 A x 230 V x 3 = 69 kW: the cars at their 22 kW factory limits
# before the first setpoints, 66 kW + the household, stay within what the
# gateway takes for a plausible meter reading, 1.2 x the main breaker.)
bays_site() {
	{
		cat <<JSON
{ "site": { "id": "$2", "voltage_v": 230, "available_power_kw": 40,
            "main_breaker_a": 100, "household_w": $3 },
  "follow_delay_ms": $4,
JSON
		[ "${5:-}" = meter ] &&
		    echo '  "meter": { "type": "sdm630", "tcp": true },'
		cat <<'JSON'
  "chargers": [
    { "name": "bay1", "model": "autel-ac-wallbox", "evs": [ { "connector": 1, "evmax_w": 22000 } ] },
    { "name": "bay2", "model": "autel-ac-wallbox", "evs": [ { "connector": 1, "evmax_w": 22000 } ] },
    { "name": "bay3", "model": "autel-ac-wallbox", "evs": [ { "connector": 1, "evmax_w": 22000 } ] } ] }
JSON
	} >"$1"
}
# limits: the power limit registers of bay1..bay3, each followed by a
# space, on one line.
limits() { for c in bay1 bay2 bay3; do sim_get "$c" connectors.0.limits.power_w; done | tr '\n' ' '; }
# is_limits "W1 W2 W3": the three limits are these.
is_limits() { [ "$(limits)" = "$1 " ]; }

# The dashboard in headless Chromium (CHROMIUM empty: not installed).
CHROMIUM=$(command -v chromium || command -v chromium-browser)
# browser ARGS...: Chromium with its own profile in $tmp; no sandbox when
# run as root (CI containers); 7 s of page time (three polls or more), or
# $page_time.
browser() {
	sandbox=
	[ "$(id -u)" -eq 0 ] && sandbox=--no-sandbox
	"$CHROMIUM" --headless $sandbox --disable-gpu --no-first-run \
	    --no-default-browser-check --user-data-dir="$tmp/chrome" \
	    ${page_time:---virtual-time-budget=7000} "$@" 2>>"$tmp/chromium.log"
}

# finish: the summary and exit status.
finish() {
	if [ "$failures" -ne 0 ]; then
		echo "$failures failure(s)"
		exit 1
	fi
	echo "all checks passed"
	exit 0
}
