#!/bin/sh
# Fails when a module includes a header it must not depend on:
#   balancer -> libc, common/ and balancer/ only;
#   ocpp, southbound and store never include each other, nor confuse.h;
#   only src/config/ includes confuse.h;
#   the modules below the daemon layer never include its headers;
#   in the daemon layer, daemon.c and main.c are on top: control.c may use
#   site/, cloud/ and config/; cloud/ may use site/ and config/; site/ may
#   use config/; config/ uses none of them; nothing but main.c, ops.c and
#   provision.c (daemon.c's operator and backend writes) includes daemon.h
#   or calls daemon_*(),
#   and only daemon.c and http/ (the operators' server, which answers
#   with the control socket's replies) include control.h.
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

# The modules below the daemon layer know nothing of it.
inc='#[[:space:]]*include[[:space:]]*"'
check "$src/balancer/*.[ch] $src/store/*.[ch] $src/southbound/*.[ch] $src/ocpp/*.[ch] $src/common/*.[ch]" \
    "$inc(config|site|cloud)/|$inc(daemon|control|services)\.h\"" \
    "a module below the daemon layer must not include the daemon layer's headers"

# The daemon layer: nothing climbs back up.
check "$src/config/*.[ch]" "$inc(site|cloud)/|$inc(daemon|control|services)\.h\"" \
    "config/ must not include site/, cloud/, daemon.h, control.h or services.h"
check "$src/site/*.[ch]" "$inc(cloud)/|$inc(daemon|control)\.h\"" \
    "site/ must not include cloud/, daemon.h or control.h"
check "$src/cloud/*.[ch]" "$inc(daemon|control)\.h\"" \
    "cloud/ must not include daemon.h or control.h"
check "$src/control.[ch]" "$inc(daemon)\.h\"|$inc(http)/" \
    "control.c must not include daemon.h or http/"
check "$src/http/*.[ch]" "$inc(daemon)\.h\"|$inc(cloud)/" \
    "http/ must not include daemon.h or cloud/"
for f in "$src"/config/*.[ch] "$src"/site/*.[ch] "$src"/cloud/*.[ch] \
    "$src"/control.[ch] "$src"/http/*.[ch] "$src"/services.h; do
	[ -f "$f" ] || continue
	if grep -nE '\bdaemon_[a-z_]+[[:space:]]*\(' "$f"; then
		echo "$f: calls back up into daemon.c"
		bad=1
	fi
done
for f in $(grep -rlE "$inc(daemon|control)\.h\"" "$src" 2>/dev/null); do
	case "$f" in
	*/src/daemon.c|*/src/ops.c|*/src/provision.c|*/src/main.c|*/src/control.c|*/src/http/*) ;;
	*) echo "$f: only daemon.c, ops.c, provision.c, main.c and http/ sit above control.c"; bad=1 ;;
	esac
done

[ "$bad" -eq 0 ] && echo "layering: ok"
exit "$bad"
