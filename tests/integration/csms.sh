# Sourced after lib.sh by the integration tests that talk to the test CSMS
# (tests/csms/csms.js, node + ocpp-rpc): installs its npm dependencies,
# starts and stops it behind a command fifo, sends it CALLs.  Set
# csms_identity (the station the CALLs go to) before calling call.
top_builddir="$B"
top_srcdir="$S"
. "$S/tests/ocpp/csms-deps.sh"
csms_deps_install >"$tmp/npm.log" 2>&1 || { cat "$tmp/npm.log"; exit 99; }

csms_pid=
holder_pid=
# start_csms [ARGS...]: the CSMS (csms.js with ARGS) with its command
# fifo kept open by a holder.
start_csms() {
	# (the old log goes first: the new one is truncated only once the
	# fifo has a writer, and the old port must not be read meanwhile)
	[ -f "$tmp/csms.log" ] && cat "$tmp/csms.log" >>"$tmp/csms-all.log"
	rm -f "$tmp/csms.in" "$tmp/csms.log"
	mkfifo "$tmp/csms.in"
	NODE_PATH="$csms_deps/node_modules" node "$S/tests/csms/csms.js" "$@" \
	    <"$tmp/csms.in" >"$tmp/csms.log" 2>&1 &
	csms_pid=$!
	# (for as long as the run lasts: when the holder goes, the CSMS
	# reads the end of its input and exits; stopped by PID)
	sleep infinity >"$tmp/csms.in" &
	holder_pid=$!
	extra_pids="$csms_pid $holder_pid"
	wait_for 20 csms_port || { fail "CSMS not listening"; exit 1; }
}
# csms_port: sets port once the CSMS printed its listening line.
csms_port() {
	port=$(grep '"event":"listening"' "$tmp/csms.log" | head -1 |
	    "$JG" port)
	case $port in
	[1-9]*) return 0 ;;
	*) return 1 ;;
	esac
}
# stop_csms: stops the CSMS and its fifo holder, by PID.
stop_csms() {
	kill -TERM "$csms_pid" "$holder_pid" 2>/dev/null
	wait "$csms_pid" 2>/dev/null
	wait "$holder_pid" 2>/dev/null
	extra_pids=
}
# csms JSON: one command to the CSMS (as is: printf, not echo, which
# would turn the \n of a JSON string into a line break).
csms() { printf '%s\n' "$1" >"$tmp/csms.in"; }
echo 0 >"$tmp/ref"
# call ACTION PARAMS: a CALL from the CSMS to $csms_identity; waits for
# its result and prints it.  (The counter is in a file: call runs in
# subshells.)
call() {
	ref=$(($(cat "$tmp/ref") + 1))
	echo "$ref" >"$tmp/ref"
	csms "{\"cmd\":\"call\",\"identity\":\"$csms_identity\",\"action\":\"$1\",\"params\":$2,\"ref\":$ref}"
	wait_for 10 grep -q "\"ref\":$ref," "$tmp/csms.log" ||
	    { fail "$1: no answer"; return 1; }
	grep "\"ref\":$ref," "$tmp/csms.log" | head -1
}
# tx_msgs: the transaction starts and ends the CSMS got since its log
# began (StartTransaction, StopTransaction, TransactionEvent Started /
# Ended), one line each.
tx_msgs() {
	grep '"event":"call"' "$tmp/csms.log" |
	    grep -E '"action":"(StartTransaction|StopTransaction)"|"eventType":"(Started|Ended)"'
}
# ends: the transaction ends among them.
ends() { tx_msgs | grep -E '"action":"StopTransaction"|"eventType":"Ended"'; }
# tx_twice: the transaction starts and ends the CSMS got more than once
# (the same payload under another message id), one line each.
tx_twice() { tx_msgs | sed 's/,"messageId":"[^"]*"//' | sort | uniq -d; }
# csms_url: points $tmp/edge.conf at the CSMS running now.
# no_violations [LABEL]: fails the test when the strict CSMS logged a
# schema violation in any of its runs so far (the first two shown).
no_violations() {
	_v=$(grep -h '"event":"violation"' "$tmp/csms.log" "$tmp/csms-all.log" \
	    2>/dev/null | head -2)
	[ -z "$_v" ] || fail "${1:+$1: }schema violation: $_v"
}

csms_url() {
	sed -i "s|^\turl = .*|\turl = \"ws://127.0.0.1:$port/ocpp\"|" "$tmp/edge.conf"
}
# csms_conf VERSION: $tmp/edge.conf from $tmp/base.conf for OCPP VERSION
# against the CSMS running now: DLB, a store of its own, reconnects
# after 1 s.
csms_conf() {
	cp "$tmp/base.conf" "$tmp/edge.conf"
	csms_url
	sed -i "s|^\tocpp-version = .*|\tocpp-version = \"$1\"|; s|^\tmode = \"alm\"|\tmode = \"dlb\"|; s|ocpp-edge.db|state-$1.db|" \
	    "$tmp/edge.conf"
	conf_set "csms {" 'retry-backoff-min-s = 1'
	conf_set "csms {" 'retry-backoff-random-s = 0'
}
