#!/bin/sh
# The systemd unit as built: `systemd-analyze verify` says nothing, the
# offline security review rates its exposure at most 3.0, and the unit
# keeps the daemon unprivileged (its user, no capabilities, the state and
# runtime directories it needs, serial devices only).
# Usage: test-unit.sh [UNIT PROGRAM]; by default the built unit and the
# built ocpp-edged (test-deb.sh passes the packaged ones).
set -u
. "${top_srcdir:-.}/tests/packaging/lib.sh"
builddir=$(cd "${top_builddir:-.}" && pwd)
unit="${1:-$builddir/ocpp-edged.service}"
prog="${2:-$builddir/ocpp-edged}"
[ -f "$unit" ] || { echo "missing $unit"; exit 99; }
[ -x "$prog" ] || { echo "missing $prog"; exit 99; }
if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "SKIP: systemd-analyze is not installed"
	exit 77
fi
make_tmp test-unit

# verify wants the program to exist: point ExecStart at PROGRAM.
sed "s|^ExecStart=[^ ]*/ocpp-edged |ExecStart=$prog |" \
    "$unit" >"$tmp/ocpp-edged.service"
grep -qF "ExecStart=$prog " "$tmp/ocpp-edged.service" ||
	fail "no ExecStart running ocpp-edged in $unit"
if out=$(systemd-analyze verify --man=no "$tmp/ocpp-edged.service" 2>&1) &&
    [ -z "$out" ]; then
	pass "systemd-analyze verify"
else
	fail "systemd-analyze verify:"
	printf '%s\n' "$out" | sed 's/^/    | /'
fi

systemd-analyze security --offline=yes --no-pager \
    "$tmp/ocpp-edged.service" >"$tmp/security" 2>&1
level=$(sed -n 's/.*Overall exposure level for ocpp-edged.service: \([0-9.]*\).*/\1/p' \
    "$tmp/security")
if [ -z "$level" ]; then
	fail "no exposure level in systemd-analyze security's output:"
	sed 's/^/    | /' "$tmp/security"
elif awk -v l="$level" 'BEGIN { exit !(l <= 3.0) }'; then
	pass "exposure $level (at most 3.0)"
else
	fail "exposure $level, above 3.0:"
	grep '✗' "$tmp/security" | sed 's/^/    | /'
fi

for line in User=ocpp-edge Group=ocpp-edge StateDirectory=ocpp-edge \
    RuntimeDirectory=ocpp-edge NoNewPrivileges=yes ProtectSystem=strict \
    CapabilityBoundingSet= DevicePolicy=closed "--control %t/ocpp-edge/ctl.sock"; do
	if grep -qF -- "$line" "$unit"; then
		pass "$line"
	else
		fail "the unit lacks $line"
	fi
done
finish
