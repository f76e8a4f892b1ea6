#!/bin/sh
# The manual pages as built: no placeholder left, no warning from mandoc
# -T lint nor from groff -ww (those installed), and each program's --help is
# its page (the same sections in the same order).
set -u
. "${top_srcdir:-.}/tests/packaging/lib.sh"
builddir="${top_builddir:-.}"
have_mandoc=no
have_groff=no
command -v mandoc >/dev/null 2>&1 && have_mandoc=yes
command -v groff >/dev/null 2>&1 && have_groff=yes
if [ "$have_mandoc$have_groff" = nono ]; then
	echo "SKIP: neither mandoc nor groff is installed"
	exit 77
fi
# lint PAGE: what mandoc -T lint and groff -ww (those installed) say.
lint() {
	[ "$have_mandoc" = no ] || mandoc -T lint -W warning "$1" 2>&1
	[ "$have_groff" = no ] || groff -man -ww -z "$1" 2>&1
}

for page in ocpp-edged.8 ocpp-edgectl.8 ocpp-edge.conf.5 ocpp-edge-sim.1; do
	f="$builddir/man/$page"
	[ -f "$f" ] || { fail "$f was not built"; continue; }
	if grep -n '@[a-zA-Z]*@' "$f"; then
		fail "$page keeps a placeholder"
	fi
	out=$(lint "$f")
	if [ -n "$out" ]; then
		fail "$page: lint says:"
		printf '%s\n' "$out" | sed 's/^/    | /'
	else
		pass "$page lints clean"
	fi
done

# The help is the page: the same sections in the same order.
for prog in ocpp-edged:8 ocpp-edgectl:8 ocpp-edge-sim:1; do
	name=${prog%%:*}
	page="$builddir/man/$name.${prog##*:}"
	want=$(sed -n 's/^\.SH //p' "$page" | tr -d '"')
	got=$("$builddir/$name" --help | grep '^[A-Z][A-Z ]*$')
	if [ "$want" = "$got" ]; then
		pass "$name --help has the page's sections"
	else
		fail "$name --help sections differ from $page:"
		printf 'page: %s\nhelp: %s\n' "$want" "$got" | sed 's/^/    | /'
	fi
done
finish
