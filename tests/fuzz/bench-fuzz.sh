#!/bin/sh
# make bench: each fuzz target for an equal share of FUZZ_BENCH_S seconds
# (default 600) or of FUZZ_EXECS executions (default 10^7), whichever ends
# first; one line per target, "fuzz.<target>: N execs in S s, 0 crashes
# (target 0 crashes; box S s)", and the total.
"${SHELL:-/bin/sh}" "${top_srcdir:?}/tests/fuzz/fuzz.sh" bench
rc=$?
[ $rc -eq 77 ] && exit 0	# no clang: said so, nothing to measure
exit $rc
