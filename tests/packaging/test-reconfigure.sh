#!/bin/sh
# The installer's order from the README: build (and test), then configure
# again with another prefix and `make install` without `make clean`.  The
# installed programs must carry the new directories.  Runs on a copy of the
# built tree so the tree under test is left alone.
set -u
. "${top_srcdir:-.}/tests/packaging/lib.sh"
srcdir=$(cd "${top_srcdir:-.}" && pwd)
builddir=$(cd "${top_builddir:-.}" && pwd)
if [ "$srcdir" != "$builddir" ]; then
	echo "SKIP: needs an in-tree build (this one builds in $builddir)"
	exit 77
fi
[ -x "$builddir/ocpp-edged" ] || { echo "missing $builddir/ocpp-edged"; exit 99; }
# Without dependency tracking (a one-time build, e.g. debhelper's) no
# object follows the headers it includes, paths.h included.
if (cd "$builddir" && ./config.status --config) |
    grep -q -- --disable-dependency-tracking; then
	echo "SKIP: configured with --disable-dependency-tracking"
	exit 77
fi

make_tmp test-reconfigure

# The built tree as it is (objects and all, times kept), without the
# repository, the test CSMS's modules and the logs of the running suite.
(cd "$builddir" && tar -cf - --exclude=./.git --exclude=node_modules \
    --exclude='*.log' --exclude='*.trs' --exclude='./ocpp-edge-*' .) |
    (mkdir "$tmp/tree" && cd "$tmp/tree" && tar -xpf -) ||
	{ echo "cannot copy the tree"; exit 99; }

# The same options as the tree was configured with (sanitizers and all),
# then the other directories.
prefix=/opt/edge-test
eval "set -- $(cd "$builddir" && ./config.status --config)"
cd "$tmp/tree" || exit 99
# At a lower priority, so the tests that run beside it keep their pace.
if ! nice -n 10 ./configure "$@" --prefix="$prefix" --sysconfdir=/etc/edge-test \
    --localstatedir=/var/edge-test --runstatedir=/run/edge-test \
    >"$tmp/configure.out" 2>&1; then
	tail -20 "$tmp/configure.out"
	exit 99
fi
if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL nice -n 10 \
    make install DESTDIR="$tmp/dest" >"$tmp/install.out" 2>&1; then
	tail -30 "$tmp/install.out"
	exit 99
fi

bin="$tmp/dest$prefix/sbin/ocpp-edged"
ctl="$tmp/dest$prefix/sbin/ocpp-edgectl"
[ -x "$bin" ] || { echo "make install did not install $bin"; exit 99; }
"$bin" --help >"$tmp/help" 2>&1 || fail "installed ocpp-edged --help failed"
"$ctl" --help >"$tmp/ctl-help" 2>&1 || fail "installed ocpp-edgectl --help failed"
# check FILE TEXT WHAT
check() {
	if grep -qF -- "$2" "$1"; then pass "$3: $2"; else fail "$3 lacks $2"; fi
}
check "$tmp/help" /etc/edge-test/ocpp-edge.conf "ocpp-edged --help"
check "$tmp/help" /run/edge-test/ocpp-edge/ctl.sock "ocpp-edged --help"
check "$tmp/help" "$prefix/share/doc/ocpp-edge" "ocpp-edged --help"
check "$tmp/ctl-help" /run/edge-test/ocpp-edge/ctl.sock "ocpp-edgectl --help"

# The store's default path: the shipped file without its store path.
grep -v '^[[:space:]]*path = ' "$srcdir/etc/ocpp-edge.conf" >"$tmp/min.conf"
"$bin" --check-config "$tmp/min.conf" >"$tmp/check" 2>&1 ||
	fail "--check-config of a minimal file failed: $(cat "$tmp/check")"
check "$tmp/check" /var/edge-test/lib/ocpp-edge/ocpp-edge.db "--check-config"

# The old directories are gone from the programs.
old=$(sed -n 's/^#define SYSCONFDIR "\(.*\)"$/\1/p' "$builddir/paths.h")
if [ -n "$old" ] && grep -qF -- "$old/ocpp-edge.conf" "$tmp/help"; then
	fail "ocpp-edged --help still names $old/ocpp-edge.conf"
fi
finish
