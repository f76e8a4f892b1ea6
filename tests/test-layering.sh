#!/bin/sh
# Fails when a module includes a header it must not depend on:
#   balancer -> libc, common/ and balancer/ only;
#   ocpp, southbound and store never include each other, nor confuse.h;
#   only src/config/ includes confuse.h.
set -u
src="${top_srcdir:-.}/src"
bad=0

check() { # $1 = files, $2 = grep -E pattern of forbidden includes, $3 = why
	for f in $1; do
		[ -f "$f" ] || continue
		hits=$(grep -nE "$2" "$f") || continue
		echo "$f: $3:"
		echo "$hits"
		bad=1
	done
}

# The balancer is pure: quoted includes must be common/ or balancer/, and
# the only system headers allowed are from the C library.
for f in "$src"/balancer/*.[ch]; do
	[ -f "$f" ] || continue
	if grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" |
	    grep -vE '"(common|balancer)/[^"]+"|"config\.h"'; then
		echo "$f: the balancer may only include common/ and balancer/ headers"
		bad=1
	fi
	if grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*<' "$f" |
	    grep -vE '<(assert|ctype|errno|float|inttypes|limits|math|stdbool|stddef|stdint|stdio|stdlib|string)\.h>'; then
		echo "$f: the balancer may only include C library headers"
		bad=1
	fi
done

check "$src/ocpp/*.[ch]" '#[[:space:]]*include[[:space:]]*"(store|southbound)/' "ocpp must not include store/ or southbound/"
check "$src/southbound/*.[ch]" '#[[:space:]]*include[[:space:]]*"(store|ocpp)/' "southbound must not include store/ or ocpp/"
check "$src/store/*.[ch]" '#[[:space:]]*include[[:space:]]*"(ocpp|southbound)/' "store must not include ocpp/ or southbound/"

for f in $(grep -rlE '#[[:space:]]*include[[:space:]]*<confuse\.h>' "$src" 2>/dev/null); do
	case "$f" in
	*/src/config/*) ;;
	*) echo "$f: only src/config/ may include confuse.h"; bad=1 ;;
	esac
done

[ "$bad" -eq 0 ] && echo "layering: ok"
exit "$bad"
