# Shared by the shell tests and the benchmark of ocpp-edgectl
# (tests/ctl/*.sh): where the programs are, a check that they are built, a
# skip when a tool is missing, the failure counter, a JSON reader, a free
# port, and the clean-up of the processes they start.
#   top_builddir, top_srcdir: from the test environment.
src="${top_srcdir:-.}"
bld="${top_builddir:-.}"
ctl="$bld/ocpp-edgectl"

# need_built: a hard error (99) unless the daemon, ocpp-edgectl and the
# simulator are built.
need_built() {
	for p in ocpp-edged ocpp-edgectl ocpp-edge-sim; do
		[ -x "$bld/$p" ] || { echo "missing $bld/$p"; exit 99; }
	done
}

# need CMD WHY: skips the test (77) when CMD is not installed.
need() { command -v "$1" >/dev/null 2>&1 || { echo "skip: $2"; exit 77; }; }

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

# json FILE EXPR: EXPR evaluated on the parsed file (as j); arrays one per
# line.
json() {
	node -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const v = eval(process.argv[2]);
console.log(Array.isArray(v) ? v.join("\n") : v);' "$1" "$2"
}

# free_port: prints a loopback TCP port that is free now (from the kernel).
free_port() {
	node -e 'const s = require("net").createServer().listen(0, "127.0.0.1",
() => { console.log(s.address().port); s.close(); });'
}

# stop_sim_edged: stops $edged_pid and $sim_pid (those set), by PID, and
# waits for them.
stop_sim_edged() {
	for pid in $edged_pid $sim_pid; do kill "$pid" 2>/dev/null; done
	for pid in $edged_pid $sim_pid; do wait "$pid" 2>/dev/null; done
}

# kill_demo_pids: stops what a demo run under $tmp/d started, by the PIDs
# in its pids file (should a check have failed before it ended).
kill_demo_pids() {
	for f in "$tmp"/d/ocpp-edge-demo.*/pids; do
		[ -f "$f" ] && for pid in $(cat "$f"); do kill "$pid" 2>/dev/null; done
	done
}
