#!/bin/sh
# The Debian package: `make deb` (dpkg-buildpackage -us -uc -b on a copy
# of the distribution, the suite itself not run again: nocheck) builds
# ocpp-edge_VERSION_ARCH.deb; lintian reports no error; the files are
# those of deb-contents.txt, /etc/ocpp-edge.conf a conffile; the packaged
# unit passes test-unit.sh; the maintainer scripts are valid sh.
set -u
. "${top_srcdir:-.}/tests/packaging/lib.sh"
srcdir=$(cd "${top_srcdir:-.}" && pwd)
builddir=$(cd "${top_builddir:-.}" && pwd)
if [ -n "${EDGE_IN_PACKAGE_BUILD:-}" ]; then
	echo "SKIP: running inside the package's own build (debian/rules)"
	exit 77
fi
for tool in dpkg-buildpackage dpkg-deb dh fakeroot; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "SKIP: $tool is not installed (apt-get install dpkg-dev debhelper fakeroot)"
		exit 77
	fi
done
if ! out=$(cd "$srcdir" && dpkg-checkbuilddeps -P nocheck 2>&1); then
	echo "SKIP: $out"
	exit 77
fi

make_tmp test-deb

version=$(sed -n 's/^PACKAGE_VERSION = //p' "$builddir/Makefile")
arch=$(dpkg --print-architecture)
changelog=$(cd "$srcdir" && dpkg-parsechangelog -S Version)
[ "$changelog" = "$version" ] ||
	fail "debian/changelog says $changelog, configure.ac $version"

# Outside the make that runs this suite: its jobserver is not ours.  At a
# lower priority, so the tests that run beside it keep their pace.
if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL DEB_BUILD_OPTIONS=nocheck \
    nice -n 10 make -C "$builddir" deb DEB_BUILD_DIR="$tmp/build" DEB_OUT_DIR="$tmp/out" \
    >"$tmp/build.log" 2>&1; then
	tail -40 "$tmp/build.log"
	echo "make deb failed"
	exit 1
fi
deb="$tmp/out/ocpp-edge_${version}_$arch.deb"
[ -f "$deb" ] || { ls "$tmp/out"; echo "no $deb"; exit 1; }
pass "make deb built $(basename "$deb")"

if command -v lintian >/dev/null 2>&1; then
	lintian --tag-display-limit 0 "$deb" >"$tmp/lintian" 2>&1
	grep -v 'running with root privileges' "$tmp/lintian" | sed 's/^/    | /'
	if grep -q '^E: ' "$tmp/lintian"; then
		fail "lintian reports errors"
	else
		pass "lintian: no error ($(grep -c '^W: ' "$tmp/lintian") warnings)"
	fi
else
	echo "lintian is not installed: not run (apt-get install lintian)"
fi

dpkg-deb -c "$deb" | awk '{ sub(/^\./, "", $6); print $1, $2, $6 }' \
    >"$tmp/contents"
grep -v '^#' "$srcdir/tests/packaging/deb-contents.txt" >"$tmp/expected"
if diff -u "$tmp/expected" "$tmp/contents" >"$tmp/diff"; then
	pass "the package holds the expected $(wc -l <"$tmp/contents") entries"
else
	fail "package contents (- expected, + built):"
	sed 's/^/    | /' "$tmp/diff"
fi

mkdir "$tmp/root" "$tmp/control"
dpkg-deb -x "$deb" "$tmp/root" && dpkg-deb -e "$deb" "$tmp/control" ||
	{ echo "cannot unpack $deb"; exit 99; }
if [ "$(cat "$tmp/control/conffiles")" = /etc/ocpp-edge.conf ]; then
	pass "conffiles: /etc/ocpp-edge.conf"
else
	fail "conffiles: $(cat "$tmp/control/conffiles")"
fi
for s in postinst prerm postrm; do
	if sh -n "$tmp/control/$s"; then pass "$s is valid sh"; else fail "$s"; fi
done

if sh "$srcdir/tests/packaging/test-unit.sh" \
    "$tmp/root/lib/systemd/system/ocpp-edged.service" \
    "$tmp/root/usr/sbin/ocpp-edged" >"$tmp/unit" 2>&1; then
	pass "the packaged unit (test-unit.sh)"
else
	rc=$?
	sed 's/^/    | /' "$tmp/unit"
	[ "$rc" -eq 77 ] || fail "the packaged unit"
fi
# The packaged programs carry the package's directories.
"$tmp/root/usr/sbin/ocpp-edged" --help >"$tmp/help" 2>&1
for p in /etc/ocpp-edge.conf /run/ocpp-edge/ctl.sock /usr/share/doc/ocpp-edge; do
	grep -qF "$p" "$tmp/help" || fail "the packaged ocpp-edged --help lacks $p"
done
finish
