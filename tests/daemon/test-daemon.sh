#!/bin/sh
# ocpp-edged as a real process: --help/--version, --check-config exit codes
# and output, refused command lines, and the lifecycle (starts with a
# valid file, stops with exit 0 within one second of SIGTERM or SIGINT).
set -u
bin="${top_builddir:-.}/ocpp-edged"
srcdir="${top_srcdir:-.}"
[ -x "$bin" ] || { echo "missing $bin"; exit 99; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-daemon.XXXXXX") || exit 99
pid=
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

# expect_rc WANT CMD... : runs CMD with output in $tmp/out and $tmp/err.
expect_rc() {
	want=$1
	shift
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	if [ "$got" -ne "$want" ]; then
		fail "$* exited $got, want $want"
		sed 's/^/    | /' "$tmp/err"
		return 1
	fi
	return 0
}
# has FILE TEXT: fixed-string search.
has() { grep -qF -- "$2" "$1"; }

cat >"$tmp/good.conf" <<'EOF'
site { id = "t1" available-power-kw = 20 circuit "c1" { max-current-a = 32 } }
csms { url = "ws://127.0.0.1:1/ocpp" identity = "t1" }
balancer { mode = "dlb" }
charger "a" { model = "autel-ac-wallbox" host = "127.0.0.1" port = 1 max-power-kw = 11 circuit = "c1" }
log { level = "info" target = "syslog" }
EOF
echo "store { path = \"$tmp/state.db\" }" >>"$tmp/good.conf"
# (the dashboard on a port the system picks: tests run side by side)
echo 'http { listen = "127.0.0.1:0" }' >>"$tmp/good.conf"

# --help and --version.
if expect_rc 0 "$bin" --help; then
	for word in --config --check-config --debug --log-level --syslog \
	    --stderr --help --version "EXIT STATUS" "ocpp-edge.conf" \
	    "0   stopped" "1   invalid configuration" "2   bad command line"; do
		has "$tmp/out" "$word" || fail "--help lacks '$word'"
	done
	pass "--help"
fi
if expect_rc 0 "$bin" --version; then
	grep -qE '^ocpp-edged [0-9]+\.[0-9]+\.[0-9]+$' "$tmp/out" ||
	    fail "--version printed '$(cat "$tmp/out")'"
	pass "--version"
fi

# Bad command lines: exit 2 with a message.
expect_rc 2 "$bin" --bogus && has "$tmp/err" "unknown option '--bogus'" &&
    pass "unknown option" || fail "unknown option message"
expect_rc 2 "$bin" --log-level loud && has "$tmp/err" "allowed error, warning, info, debug" &&
    pass "bad --log-level" || fail "bad --log-level message"
expect_rc 2 "$bin" -d nosuch && has "$tmp/err" "unknown debug token 'nosuch'" &&
    pass "bad --debug" || fail "bad --debug message"
expect_rc 2 "$bin" --config && has "$tmp/err" "needs a value" &&
    pass "missing value" || fail "missing value message"

# --check-config: the shipped file, a good one, five mistakes, no file.
if expect_rc 0 "$bin" --check-config "$srcdir/etc/ocpp-edge.conf"; then
	has "$tmp/out" "available-power-kw = 40" || fail "shipped: no power"
	has "$tmp/out" "configuration valid" || fail "shipped: no verdict"
	pass "--check-config on etc/ocpp-edge.conf"
fi
if expect_rc 0 "$bin" -t "$tmp/good.conf"; then
	# Defaults filled in, in the file's units.
	has "$tmp/out" "heartbeat-interval-s = 300" || fail "default heartbeat"
	has "$tmp/out" "offline-meter-power-kw = 2" || fail "10 % of 20 kW"
	has "$tmp/out" 'charger "a" {' || fail "charger printed"
	pass "--check-config prints effective settings"
fi

cat >"$tmp/five.conf" <<'EOF'
site {
	available-power-kw = 20
	colour = "blue"
}
csms { url = "ws://127.0.0.1:1/ocpp" identity = "t1"
	heartbeat-interval-s = -5 }
balancer { mode = "turbo" reserve-pct = 60 }
charger "a" { model = "autel-ac-wallbox" host = "h" max-power-kw = 11 }
charger "a" { model = "autel-ac-wallbox" host = "h" max-power-kw = 11 unit-id = 2 }
EOF
if expect_rc 1 "$bin" --check-config "$tmp/five.conf"; then
	f="$tmp/five.conf"
	has "$tmp/err" "$f:3: option 'site.colour': unknown option" || fail "five: colour"
	has "$tmp/err" "$f:6: option 'csms.heartbeat-interval-s': value '-5'" || fail "five: heartbeat"
	has "$tmp/err" "$f:7: option 'balancer.mode': value 'turbo'" || fail "five: mode"
	has "$tmp/err" "$f:7: option 'balancer.reserve-pct': value '60'" || fail "five: reserve"
	has "$tmp/err" "$f:9: option 'charger': value 'a': duplicate name" || fail "five: duplicate"
	n=$(grep -c "^$f:[0-9]*: option '" "$tmp/err")
	[ "$n" -eq 5 ] || fail "five: $n messages, want 5"
	has "$tmp/err" "5 errors in $f" || fail "five: summary"
	[ -s "$tmp/out" ] && fail "five: printed settings despite errors"
	pass "--check-config with five mistakes"
fi
expect_rc 1 "$bin" --check-config "$tmp/none.conf" &&
    has "$tmp/err" "$tmp/none.conf: cannot open: No such file or directory" &&
    pass "--check-config on a missing file" || fail "missing file message"
expect_rc 1 "$bin" --check-config "$tmp" &&
    has "$tmp/err" "not a regular file" &&
    pass "--check-config on a directory" || fail "directory message"
if [ "$(id -u)" -ne 0 ]; then
	cp "$tmp/good.conf" "$tmp/locked.conf" && chmod 000 "$tmp/locked.conf"
	expect_rc 1 "$bin" --check-config "$tmp/locked.conf" &&
	    has "$tmp/err" "cannot open: Permission denied" &&
	    pass "--check-config on an unreadable file" ||
	    fail "unreadable file message"
else
	echo "skip: unreadable file (running as root reads everything)"
fi

# A daemon with a bad file never starts.
expect_rc 1 "$bin" --stderr --config "$tmp/five.conf" &&
    has "$tmp/err" "not started" && ! has "$tmp/err" "started (" &&
    pass "bad configuration: exit 1 before start" ||
    fail "bad configuration at start"

# The systemd unit carries the configured paths, no placeholder left.
unit="${top_builddir:-.}/ocpp-edged.service"
if [ -f "$unit" ]; then
	grep -q '^ExecStart=/.*/ocpp-edged --config /.*/ocpp-edge.conf' "$unit" &&
	    ! grep -qE '@[a-z]+@' "$unit" && pass "systemd unit generated" ||
	    fail "systemd unit: $(grep ExecStart "$unit")"
else
	fail "no $unit (built with the programs)"
fi

# Lifecycle: start, wait for "started", signal by PID, bounded wait.
# now_ms: milliseconds on the wall clock (GNU date).
now_ms() { echo $(($(date +%s%N) / 1000000)); }

run_and_stop() { # $1 = signal name
	sig=$1
	log="$tmp/daemon-$sig.log"
	"$bin" --stderr --config "$tmp/good.conf" --control "$tmp/ctl.sock" \
	    2>"$log" &
	pid=$!
	i=0
	until has "$log" "info: started"; do
		i=$((i + 1))
		if [ "$i" -gt 400 ] || ! kill -0 "$pid" 2>/dev/null; then
			fail "$sig: no 'started' line within 20 s"
			sed 's/^/    | /' "$log"
			return
		fi
		sleep 0.05
	done
	has "$log" "config $tmp/good.conf" || fail "$sig: started line lacks the config path"
	if [ "$sig" = TERM ]; then
		# SIGHUP must not stop it: it reads the file again and runs on.
		kill -HUP "$pid"
		i=0
		until has "$log" "reload: 0 settings applied, 0 sections"; do
			i=$((i + 1))
			if [ "$i" -gt 200 ] || ! kill -0 "$pid" 2>/dev/null; then
				fail "HUP: no 'reload: 0 settings applied' line"
				break
			fi
			sleep 0.05
		done
		state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' \
		    "/proc/$pid/status" 2>/dev/null)
		[ -n "$state" ] && [ "$state" != Z ] || fail "HUP: the daemon exited"
	fi
	t0=$(now_ms)
	kill -"$sig" "$pid"
	# The process is our child: it stays a zombie until waited for, so
	# look at its state rather than at kill -0.
	i=0
	while state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' \
	    "/proc/$pid/status" 2>/dev/null) && [ "$state" != Z ]; do
		i=$((i + 1))
		if [ "$i" -gt 200 ]; then
			break
		fi
		sleep 0.01
	done
	t1=$(now_ms)
	if [ "${state:-Z}" != Z ]; then
		fail "$sig: still running $((t1 - t0)) ms after the signal"
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid"
	rc=$?
	pid=
	[ "$rc" -eq 0 ] || fail "$sig: exit status $rc, want 0"
	[ $((t1 - t0)) -le 1000 ] || fail "$sig: took $((t1 - t0)) ms, want <= 1000"
	has "$log" "info: stopping (SIG$sig, config $tmp/good.conf)" ||
	    fail "$sig: no stopping line"
	has "$log" "info: stopped" || fail "$sig: no stopped line"
	echo "ok: $sig stop in $((t1 - t0)) ms, exit $rc"
}
run_and_stop TERM
run_and_stop INT

# A password in a file every user can read earns a warning at start.
sed 's/identity = "t1"/identity = "t1" password = "0123456789abcdef"/' \
    "$tmp/good.conf" >"$tmp/pw.conf"
chmod 644 "$tmp/pw.conf"
"$bin" --stderr --config "$tmp/pw.conf" --control "$tmp/ctl.sock" \
    2>"$tmp/pw.log" &
pid=$!
i=0
until has "$tmp/pw.log" "info: started"; do
	i=$((i + 1))
	[ "$i" -le 400 ] && kill -0 "$pid" 2>/dev/null || break
	sleep 0.05
done
kill -TERM "$pid" 2>/dev/null
wait "$pid"
pid=
has "$tmp/pw.log" "holds the CSMS password and is readable by every user" &&
    ! has "$tmp/pw.log" "0123456789abcdef" &&
    pass "warning for a world-readable password" ||
    fail "no warning for a world-readable password"

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "all daemon checks passed"
exit 0
