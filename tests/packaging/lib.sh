# Sourced by the packaging tests: a scratch directory removed on exit,
# pass/fail lines, and the exit status from the failures counted.
# make_tmp NAME: $tmp, a fresh directory, removed (even read-only parts)
# when the test exits.
make_tmp() {
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX") || exit 99
	trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
}
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
# finish: exit 1 when something failed, else 0.
finish() {
	[ "$failures" -eq 0 ] || exit 1
	exit 0
}
