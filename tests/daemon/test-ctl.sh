#!/bin/sh
# ocpp-edgectl as a real process: --help/--version, bad command lines, and
# "daemon not running" (exit 3) when no socket exists at the path given.
set -u
bin="${top_builddir:-.}/ocpp-edgectl"
[ -x "$bin" ] || { echo "missing $bin"; exit 99; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-ctl.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
run() { "$@" >"$tmp/out" 2>"$tmp/err"; echo $?; }
has() { grep -qF -- "$2" "$1"; }

[ "$(run "$bin" --help)" -eq 0 ] || fail "--help exit status"
for word in --socket --help --version status "EXIT STATUS" "3   the daemon is not running" \
    ctl.sock; do
	has "$tmp/out" "$word" || fail "--help lacks '$word'"
done
pass "--help"

[ "$(run "$bin" --version)" -eq 0 ] || fail "--version exit status"
grep -qE '^ocpp-edgectl [0-9]+\.[0-9]+\.[0-9]+$' "$tmp/out" ||
    fail "--version printed '$(cat "$tmp/out")'"
pass "--version"

[ "$(run "$bin")" -eq 2 ] && has "$tmp/err" "no command given" ||
    fail "no command"
[ "$(run "$bin" frobnicate)" -eq 2 ] && has "$tmp/err" "unknown command 'frobnicate'" ||
    fail "unknown command"
[ "$(run "$bin" --bogus status)" -eq 2 ] && has "$tmp/err" "unknown option '--bogus'" ||
    fail "unknown option"
pass "bad command lines exit 2"

sock="$tmp/ctl.sock"
[ "$(run "$bin" --socket "$sock" status)" -eq 3 ] || fail "status without daemon: exit status"
has "$tmp/err" "daemon not running (no socket at $sock)" || fail "status without daemon: message"
[ -s "$tmp/out" ] && fail "status without daemon printed on stdout"
pass "status without a daemon exits 3"

# A socket left behind with nobody listening, and a peer that answers:
# python3 plays the daemon's side when it is installed.
if command -v python3 >/dev/null 2>&1; then
	python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])' "$tmp/stale.sock"
	[ "$(run "$bin" --socket "$tmp/stale.sock" status)" -eq 3 ] &&
	    has "$tmp/err" "daemon not running ($tmp/stale.sock exists but nobody listens on it)" &&
	    pass "stale socket exits 3" || fail "stale socket"

	python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(1)
open(sys.argv[2], "w").close()
c, _ = s.accept()
line = c.makefile("rb").readline()
open(sys.argv[3], "wb").write(line)
c.sendall(b"{\"ok\":true,\"result\":{\"site_id\":\"test-peer\",\"chargers\":[]}}\n")
c.close()' "$tmp/live.sock" "$tmp/ready" "$tmp/got" &
	peer=$!
	i=0
	until [ -e "$tmp/ready" ]; do
		i=$((i + 1))
		[ "$i" -le 200 ] || { fail "test peer not ready"; break; }
		sleep 0.05
	done
	[ "$(run "$bin" -s "$tmp/live.sock" status)" -eq 0 ] || fail "live status exit"
	has "$tmp/out" "site test-peer" ||
	    fail "live status printed '$(cat "$tmp/out")'"
	printf '{"cmd":"status"}\n' | cmp -s - "$tmp/got" || fail "peer got '$(cat "$tmp/got")'"
	kill "$peer" 2>/dev/null
	wait "$peer" 2>/dev/null
	pass "status prints the daemon's answer"
else
	echo "skip: stale socket and live answer (no python3 to play the daemon)"
fi

# A socket path too long for sun_path is a usage error, not a crash.
long=$(printf '%0200d' 0)
[ "$(run "$bin" -s "$tmp/$long" status)" -eq 2 ] && has "$tmp/err" "socket path too long" ||
    fail "long socket path"
pass "long socket path refused"

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "all ctl checks passed"
exit 0
