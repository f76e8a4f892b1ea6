# Shared by the shell tests of ocpp-edgectl (tests/ctl/test-*.sh): where
# the programs are, a check that they are built, a skip when a tool is
# missing, the failure counter, a JSON reader and the demo's clean-up.
#   top_builddir, top_srcdir: from the test environment.
src="${top_srcdir:-.}"
bld="${top_builddir:-.}"
ctl="$bld/ocpp-edgectl"
for p in ocpp-edged ocpp-edgectl ocpp-edge-sim; do
	[ -x "$bld/$p" ] || { echo "missing $bld/$p"; exit 99; }
done

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

# kill_demo_pids: stops what a demo run under $tmp/d started, by the PIDs
# in its pids file (should a check have failed before it ended).
kill_demo_pids() {
	for f in "$tmp"/d/ocpp-edge-demo.*/pids; do
		[ -f "$f" ] && for pid in $(cat "$f"); do kill "$pid" 2>/dev/null; done
	done
}
