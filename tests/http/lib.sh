# Shared by the tests of the operators' side (the HTTP server, the
# dashboard, the history, the write verbs, reload): a simulated site and
# the daemon on it.  Source it after setting `name`.
. "${top_srcdir:-.}/tests/integration/lib.sh"

# start_bays LISTEN: three 22 kW wallboxes bay1..bay3, a car on each that
# follows a new limit after 200 ms, an SDM630, household 2000 W, site id
# $name; the daemon in ALM without a backend, its store in $tmp, the HTTP
# server on LISTEN ("" = none).  $tmp/base.conf is the configuration
# without the http section.
start_bays() {
	bays_site "$tmp/site.json" "$name" 2000 200 meter
	start_sim "$tmp/site.json"
	sed -i -e 's|^\turl = .*|\turl = ""|' \
	    -e "s|^\tpath = .*\.db\"|\tpath = \"$tmp/edge.db\"|" "$tmp/edge.conf"
	grep -q "path = \"$tmp/edge.db\"" "$tmp/edge.conf" || {
		fail "no store path in the simulator's configuration"; exit 1; }
	cp "$tmp/edge.conf" "$tmp/base.conf"
	printf 'http {\n\tlisten = "%s"\n}\n' "$1" >>"$tmp/edge.conf"
	start_daemon "$tmp/edge.conf"
}

# http_url: sets url to the dashboard address the daemon logged last.
http_url() {
	url=$(sed -n 's|.*info: dashboard: \(http://[^ ]*\)$|\1|p' "$tmp/d.log" |
	    tail -1)
	[ -n "$url" ]
}
