#!/bin/sh
# A storm of kill -9 during charging: the real daemon, the real simulator
# (three wallboxes) and the strict test CSMS on loopback.  Per OCPP version
# (KILL9_VERSIONS, default "1.6 2.0.1"), KILL9_COUNT rounds (default 100,
# so 200 kills in all): an EV is plugged in or leaves at a random bay, the
# daemon is killed with SIGKILL 0-0.9 s later, now and then an EV arrives
# or leaves while it is down, and it is started again.  An EV leaves only
# once the backend has its transaction's start (else the session could
# begin and end unseen, and nothing would be owed).  At the end every EV
# leaves and the queue drains; then the backend's log is compared with the
# EV sessions the script made:
#   lost: an EV session without a transaction, or a transaction never
#     ended;
#   duplicated: the same start or end received twice;
#   split: more transactions on a connector than EV sessions on it;
#   invented: an end for a transaction the backend never started.
# A message the daemon sent just before it was killed, whose answer it
# never wrote down, is sent again after the restart (at least once, as
# OCPP's retries are): counted apart, and for 1.6 the transaction id the
# backend gave the first copy is set aside (the daemon uses the second).
# One line per version and the total:
#   sessions.kill9_storm: N restarts, L lost, D duplicated (split S,
#     invented I; target 0 lost, 0 duplicated, 0 split, 0 invented)
# Each EV session has its own RFID card (authorized with Authorize, or
# offline as an unknown card).  KILL9_NO_IDTAG=1 plugs EVs without one:
# then an EV that leaves and another that arrives while the daemon is down
# look like one session to it, unless the charger's charging time went
# back (the AC Wallbox's only tells in whole seconds, and the record of a
# running transaction is written once a minute), and are one transaction.
# KILL9_SEED repeats a run.  Skipped without node / npm.
set -u
name=bench-sessions-kill9
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "sessions.kill9_storm: skipped (node / npm not found)"
	exit 0
fi
. "${top_srcdir:-.}/tests/integration/lib.sh"
. "$S/tests/integration/csms.sh"
csms_identity=storm-site
count=${KILL9_COUNT:-100}
seed=${KILL9_SEED:-$(date +%s)}
case $count in '' | *[!0-9]*) echo "KILL9_COUNT must be a number"; exit 1 ;; esac

bays_site "$tmp/site.json" storm-site 0 200
start_sim "$tmp/site.json"
cp "$tmp/edge.conf" "$tmp/base.conf"

connected() { [ "$(st cloud.state)" = connected ]; }
drained() { connected && [ "$(st cloud.queued)" = 0 ]; }
# rnd N: r = a number in 0..N-1 from the seeded generator.
rnd() { seed=$(((seed * 1103515245 + 12345) % 2147483648)); r=$((seed / 65536 % $1)); }
# n_started K: starts the backend received for connector K (one sent
# again after a kill counted once).
n_started() {
	if [ "$v" = 1.6 ]; then
		grep '"event":"call"' "$tmp/csms.log" |
		    grep "\"action\":\"StartTransaction\",\"params\":{\"connectorId\":$1,"
	else
		grep '"event":"call"' "$tmp/csms.log" | grep '"eventType":"Started"' |
		    grep "\"evse\":{\"id\":$1,"
	fi | sed 's/"messageId":"[^"]*"//' | sort -u | grep -c .
}
# seen K: the backend has the start of connector K's current session.
seen() { [ "$(n_started "$1")" -ge "$(eval echo \$plugs$1)" ]; }
all_seen() { seen 1 && seen 2 && seen 3; }
# all_ended: the backend received an end for every EV session.
all_ended() {
	[ "$(grep '"event":"call"' "$tmp/csms.log" |
	    grep -E '"action":"StopTransaction"|"eventType":"Ended"' |
	    sed 's/"messageId":"[^"]*"//' | sort -u | grep -c .)" -ge $((plugs1 + plugs2 + plugs3)) ]
}
plugged() { eval [ \"\$in$1\" = 1 ]; }
# note WHAT: a line in actions.log (shown with the other logs on a failure).
note() { echo "$(date -u +%T.%N | cut -c1-12) $*" >>"$tmp/actions.log"; }
plug() {
	eval "in$1=1; plugs$1=\$((plugs$1 + 1)); n=\$plugs$1"
	# Each EV session with its own RFID card, as in the field (see
	# KILL9_NO_IDTAG above).
	tag=
	[ -n "${KILL9_NO_IDTAG:-}" ] || tag="idtag=EV$1-$n"
	note "plug bay$1 $tag"
	sim plug "bay$1" 1 evmax=22000 $tag >/dev/null
}
unplug() { note "unplug bay$1"; sim unplug "bay$1" 1 >/dev/null; eval "in$1=0"; }
# act: an EV arrives at, or (once seen) leaves, a random bay.
act() {
	rnd 3
	b=$((r + 1))
	if ! plugged "$b"; then
		plug "$b"
	elif seen "$b"; then
		unplug "$b"
	fi
}

# The analysis of the backend's log: counts per connector against the EV
# sessions (plugs), and every transaction's start and end.
analyse() {
	node -e '
const fs = require("fs");
const [log, p1, p2, p3] = process.argv.slice(1);
const plugs = [0, +p1, +p2, +p3];
const ev = fs.readFileSync(log, "utf8").split("\n").filter((l) => l.startsWith("{"))
    .map((l) => { try { return JSON.parse(l); } catch (e) { return {}; } });
const seenCall = new Map();	// action + params -> the transaction it made
const tx = new Map();		// id -> {conn, starts, ends, superseded}
let dup = 0, redelivered = 0, invented = 0, pending = null;
for (const e of ev) {
	if (e.event === "response" && e.method === "StartTransaction" && e.result &&
	    pending !== null) {
		/* 1.6: the backend makes the id; a start received again after a
		 * kill in flight makes a second one, and only that is used. */
		const id = String(e.result.transactionId);
		if (pending.again !== undefined && tx.has(pending.again))
			tx.get(pending.again).superseded = true;
		tx.set(id, { conn: pending.conn, starts: 1, ends: 0 });
		seenCall.set(pending.key, id);
		pending = null;
	}
	if (e.event !== "call") continue;
	const key = e.action + JSON.stringify(e.params);
	const txMsg = e.action === "StartTransaction" || e.action === "StopTransaction" ||
	    (e.action === "TransactionEvent" && e.params.eventType !== "Updated");
	const again = txMsg && seenCall.has(key);
	if (again) {
		/* The same message once more: the daemon was killed after
		 * sending it and before the answer was written (at least once). */
		redelivered++;
		console.error(`  received again after a kill: ${key.slice(0, 120)}`);
	}
	if (e.action === "StartTransaction") {
		pending = { conn: e.params.connectorId, key, again: again ? seenCall.get(key) : undefined };
		continue;
	}
	if (txMsg) seenCall.set(key, true);
	if (again) continue;
	if (e.action === "StopTransaction") {
		const t = tx.get(String(e.params.transactionId));
		if (t === undefined) invented++; else t.ends++;
	}
	if (e.action === "TransactionEvent") {
		const id = e.params.transactionInfo.transactionId;
		const t = tx.get(id);
		if (e.params.eventType === "Started") {
			if (t === undefined) tx.set(id, { conn: e.params.evse.id, starts: 1, ends: 0 });
			else t.starts++;
		} else if (e.params.eventType === "Ended") {
			if (t === undefined) invented++; else t.ends++;
		}
	}
}
let lost = 0, split = 0;
const per = [0, 0, 0, 0];
for (const t of tx.values()) {
	if (t.superseded) continue;
	if (t.conn >= 1 && t.conn <= 3) per[t.conn]++;
	if (t.ends === 0) lost++;
	if (t.ends > 1) dup += t.ends - 1;
	if (t.starts > 1) dup += t.starts - 1;
}
for (let k = 1; k <= 3; k++) {
	if (per[k] < plugs[k]) lost += plugs[k] - per[k];
	if (per[k] > plugs[k]) split += per[k] - plugs[k];
}
// What went wrong, for the person reading the bench output.
for (const [id, t] of tx) if (!t.superseded && (t.ends !== 1 || t.starts !== 1))
	console.error(`  transaction ${id} on connector ${t.conn}: ${t.starts} start(s), ${t.ends} end(s)`);
for (let k = 1; k <= 3; k++) if (per[k] !== plugs[k])
	console.error(`  connector ${k}: ${plugs[k]} EV sessions, ${per[k]} transactions`);
console.log(lost, dup, split, invented, redelivered, per[1] + per[2] + per[3]);
' "$tmp/csms.log" "$plugs1" "$plugs2" "$plugs3"
}

total_kills=0 total_lost=0 total_dup=0 total_split=0 total_inv=0 total_again=0
for v in ${KILL9_VERSIONS:-1.6 2.0.1}; do
	start_csms
	csms_conf "$v"
	for b in 1 2 3; do sim unplug "bay$b" 1 >/dev/null 2>&1; done
	in1=0 in2=0 in3=0 plugs1=0 plugs2=0 plugs3=0
	start_daemon "$tmp/edge.conf"
	wait_for 20 connected || { echo "$v: the daemon never connected"; exit 1; }
	kills=0
	while [ "$kills" -lt "$count" ]; do
		act
		rnd 10
		sleep "0.$r"
		note "kill -9"
		kill -KILL "$d_pid"
		wait "$d_pid" 2>/dev/null
		d_pid=
		kills=$((kills + 1))
		rnd 3
		[ "$r" -eq 0 ] && act
		note "start"
		start_daemon "$tmp/edge.conf"
	done
	# Every session seen, every EV gone, the queue drained.
	wait_for 120 all_seen || echo "$v: not every session reached the backend"
	for b in 1 2 3; do plugged "$b" && unplug "$b"; done
	wait_for 120 all_ended || echo "$v: not every session ended at the backend"
	wait_for 120 drained || echo "$v: the queue did not drain ($(st cloud.queued) left)"
	stop_daemon
	set -- $(analyse)
	echo "sessions.kill9_storm.$v: $kills restarts, ${1:-?} lost, ${2:-?} duplicated (split ${3:-?}, invented ${4:-?}; $((plugs1 + plugs2 + plugs3)) EV sessions, ${6:-?} transactions, ${5:-?} messages received again after a kill in flight; target 0 lost, 0 duplicated, 0 split, 0 invented)"
	total_kills=$((total_kills + kills))
	total_lost=$((total_lost + ${1:-1}))
	total_dup=$((total_dup + ${2:-1}))
	total_split=$((total_split + ${3:-1}))
	total_inv=$((total_inv + ${4:-1}))
	total_again=$((total_again + ${5:-0}))
	grep -h '"event":"violation"' "$tmp/csms.log" | head -2
	stop_csms
done
echo "sessions.kill9_storm: $total_kills restarts, $total_lost lost, $total_dup duplicated (split $total_split, invented $total_inv, $total_again received again after a kill in flight; target 0 lost, 0 duplicated, 0 split, 0 invented)"
[ "$total_lost" -eq 0 ] && [ "$total_dup" -eq 0 ] && [ "$total_split" -eq 0 ] &&
    [ "$total_inv" -eq 0 ] || failures=1
finish
