#!/bin/sh
# In-tree fuzzing with libFuzzer (Debian's clang): builds the targets of
# tests/fuzz/ against the OCPP module's sources, and runs them.
#   fuzz.sh build     build every target into $top_builddir/tests/fuzz/
#   fuzz.sh check     build, then run each target FUZZ_SECONDS (default 3)
#                     from its seed corpus; fails on any crash
#   fuzz.sh bench     build, then run the targets in FUZZ_JOBS lanes at
#                     once (default: the processors, at most 4), each
#                     target for an equal share of its lane's
#                     FUZZ_BENCH_S seconds (default 600) or of FUZZ_EXECS
#                     executions (default 10^7 in all), whichever ends
#                     first, printing per target
#                     "fuzz.<target>: N execs in S s, 0 crashes (target 0
#                     crashes; box B s)", then the total
# Without clang (or its libFuzzer runtime): says so and exits 77 (skip).
set -u
: "${top_srcdir:=.}" "${top_builddir:=.}"
S=$top_srcdir
B=$top_builddir/tests/fuzz
CLANG=${FUZZ_CC:-clang}
targets="rpc16 rpc201 profile profile-query config cfgload control"

skip() { echo "fuzz: $1: skipped"; exit 77; }

command -v "$CLANG" >/dev/null 2>&1 ||
    skip "$CLANG not found (apt-get install clang)"
command -v pkg-config >/dev/null 2>&1 || skip "pkg-config not found"
pcs="jansson libwebsockets openssl libconfuse sqlite3 libmodbus"
# shellcheck disable=SC2086
deps=$(pkg-config --cflags $pcs) ||
    skip "development files of $pcs not found"
# shellcheck disable=SC2086
libs=$(pkg-config --libs $pcs)
mkdir -p "$B/obj" || exit 99
probe="$B/obj/probe"
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n)\n{ (void)d; (void)n; return 0; }\n' >"$probe.c"
"$CLANG" -fsanitize=fuzzer "$probe.c" -o "$probe" 2>/dev/null ||
    skip "$CLANG cannot link libFuzzer (apt-get install libclang-rt-14-dev)"

flags="-std=gnu11 -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined
    -fno-sanitize-recover=undefined -I$S/src -I$S -I$top_builddir $deps"
lib_src="src/common/log.c src/common/util.c src/common/atomic-file.c
    src/ocpp/rpc.c src/ocpp/spec.c
    src/ocpp/schemas.c src/ocpp/keys.c src/ocpp/session.c
    src/ocpp/transactions.c src/ocpp/calls.c src/ocpp/transport.c
    src/ocpp/auth.c src/ocpp/security.c src/ocpp/certs.c src/ocpp/clock.c
    src/ocpp/smartcharging-parse.c src/ocpp/smartcharging.c
    src/ocpp/smartcharging-eval.c
    tests/fuzz/fuzz-station.c"
# The daemon-layer targets (cfgload, control) link these as well.
daemon_src="src/config/schema.c src/config/context.c src/config/prescan.c
    src/config/checks.c src/config/dump.c src/config/ids.c src/config/load.c
    src/config/allow.c
    src/site/site.c src/site/readings.c src/site/settings.c
    src/site/report.c src/site/phase.c src/site/energy.c src/control.c
    src/cloud/cloud.c src/cloud/queue.c src/cloud/profiles.c
    src/cloud/commands.c src/cloud/station.c src/cloud/limits.c
    src/cloud/firmware.c src/cloud/ids.c
    src/balancer/balancer.c src/balancer/check.c src/balancer/fill.c
    src/balancer/phase.c
    src/store/store.c src/store/queue.c src/store/settings.c
    src/store/profiles.c src/store/history.c src/store/sync.c
    src/southbound/driver.c src/southbound/regmap.c
    src/southbound/probe.c src/southbound/worker.c"

# compile SRC OBJ [FLAGS...]: when OBJ is older than SRC or any header.
compile() {
	src=$1 obj=$2
	shift 2
	# (not what is in $B/obj: the probe is written there on every run)
	if [ -f "$obj" ] && [ -z "$(find "$S/$src" "$S/src" "$S/tests/fuzz" \
	    -path "$B/obj" -prune -o -name '*.[ch]' -newer "$obj" -print |
	    head -1)" ]; then
		return 0
	fi
	# shellcheck disable=SC2086
	"$CLANG" $flags -fsanitize=fuzzer-no-link "$@" -c "$S/$src" -o "$obj"
}

# objects SRC...: compiles each; prints the objects.
objects() {
	for src in "$@"; do
		obj="$B/obj/$(printf '%s\n' "$src" | tr / _ | sed 's/\.c$/.o/')"
		compile "$src" "$obj" >&2 || return 1
		echo "$obj"
	done
}

build() {
	# shellcheck disable=SC2086
	objs=$(objects $lib_src) || return 1
	# shellcheck disable=SC2086
	dobjs=$(objects $daemon_src) || return 1
	for t in $targets; do
		case $t in
		rpc16) src=tests/fuzz/fuzz-rpc.c extra=-DFUZZ_VERSION=OCPP_V16 ;;
		rpc201) src=tests/fuzz/fuzz-rpc.c extra=-DFUZZ_VERSION=OCPP_V201 ;;
		*) src=tests/fuzz/fuzz-$t.c extra= ;;
		esac
		case $t in
		cfgload | control) more=$dobjs ;;
		*) more= ;;
		esac
		compile "$src" "$B/obj/fuzz-$t.o" $extra || return 1
		# (linked again only when an object is newer: linking the
		# seven sanitized targets costs more than running them in
		# make check)
		# shellcheck disable=SC2086
		[ -x "$B/fuzz-$t" ] && [ -z "$(find "$B/obj/fuzz-$t.o" $more \
		    $objs -newer "$B/fuzz-$t" | head -1)" ] && continue
		# shellcheck disable=SC2086
		"$CLANG" $flags -fsanitize=fuzzer "$B/obj/fuzz-$t.o" $more $objs \
		    $libs -lpthread -lm -o "$B/fuzz-$t" || return 1
	done
}

# run TARGET ARGS...: one libFuzzer run on a scratch copy of the seeds;
# its output goes to $work/TARGET.log.
run() {
	t=$1
	shift
	mkdir -p "$work/$t"
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    "$B/fuzz-$t" -artifact_prefix="$work/$t-" -timeout=20 \
	    -rss_limit_mb=2048 -print_final_stats=1 "$@" "$work/$t" \
	    "$S/tests/fuzz/corpus/$t" >"$work/$t.log" 2>&1
}

mode=${1:-build}
build || { echo "fuzz: build failed"; exit 99; }
[ "$mode" = build ] && { echo "fuzz: targets in $B: $targets"; exit 0; }
work=$(mktemp -d "${TMPDIR:-/tmp}/fuzz.XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT INT TERM
n=0
for t in $targets; do n=$((n + 1)); done
# In bench, the targets run in FUZZ_JOBS lanes at once (default: the
# processors online, at most 4), each lane taking every FUZZ_JOBS-th
# target.  Each target gets a time box: what is left of the lane's
# FUZZ_BENCH_S shared by the lane's targets left, less 2 s for libFuzzer's
# start on the corpus and its leak check at the end (the targets differ a
# hundredfold in speed, cfgload being the slowest, so an equal share of
# executions alone would let one target take most of the time).
total_s=${FUZZ_BENCH_S:-600}
jobs=1
if [ "$mode" = bench ]; then
	jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
	[ "$jobs" -ge 1 ] 2>/dev/null || jobs=1
	[ "$jobs" -le 4 ] || jobs=4
fi
t_all=$(date +%s)

# lane K: runs targets K, K+jobs, ...; writes one result line per target
# into $work/result.TARGET: "STATUS EXECS SECS BOX".
lane() {
	k=$1
	mine=
	i=0
	for t in $targets; do
		[ $((i % jobs)) -eq "$k" ] && mine="$mine $t"
		i=$((i + 1))
	done
	left=0
	for t in $mine; do left=$((left + 1)); done
	for t in $mine; do
		t0=$(date +%s)
		box=$(( (t_all + total_s - t0) / left - 2 ))
		[ "$box" -ge 1 ] || box=1
		left=$((left - 1))
		case $mode in
		check) run "$t" -max_total_time="${FUZZ_SECONDS:-3}" ;;
		bench) run "$t" -runs=$(( ${FUZZ_EXECS:-10000000} / n )) \
		    -max_total_time="$box" ;;
		esac
		status=$?
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' \
		    "$work/$t.log" | tail -1)
		echo "$status ${execs:-0} $(($(date +%s) - t0)) $box" \
		    >"$work/result.$t"
	done
}

case $mode in
check | bench) ;;
*) echo "usage: fuzz.sh build|check|bench"; exit 99 ;;
esac
pids=
k=0
while [ "$k" -lt "$jobs" ]; do
	lane "$k" &
	pids="$pids $!"
	k=$((k + 1))
done
for p in $pids; do wait "$p"; done

rc=0
total_execs=0
total_crashes=0
for t in $targets; do
	read -r status execs secs box <"$work/result.$t" ||
	    { status=99 execs=0 secs=0 box=0; }
	# (libFuzzer's artifacts: $t-crash-..., $t-leak-..., $t-timeout-...,
	# $t-oom-...; "profile-" alone would also match profile-query's)
	crashes=$(ls "$work" | grep -cE "^$t-(crash|leak|timeout|oom|slow-unit)-")
	if [ "$status" -ne 0 ] || [ "$crashes" -ne 0 ]; then
		rc=1
		tail -40 "$work/$t.log"
		for a in "$work/$t-crash-"* "$work/$t-leak-"* \
		    "$work/$t-timeout-"* "$work/$t-oom-"*; do
			[ -f "$a" ] && { echo "input $a:"; od -c "$a" | head -20; }
		done
	fi
	[ "$status" -ne 0 ] && [ "$crashes" -eq 0 ] && crashes=1
	total_execs=$((total_execs + execs))
	total_crashes=$((total_crashes + crashes))
	if [ "$mode" = bench ]; then
		echo "fuzz.$t: $execs execs in $secs s, $crashes crashes (target 0 crashes; box $box s)"
	else
		echo "fuzz.$t: $execs execs, $crashes crashes"
	fi
done
[ "$mode" = bench ] &&
    echo "fuzz: $total_execs execs in $(($(date +%s) - t_all)) s on $jobs processor(s), $total_crashes crashes (target 0 crashes, 10^7 execs in all, at most $total_s s)"
exit $rc
