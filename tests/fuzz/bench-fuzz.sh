#!/bin/sh
# make bench: the fuzz targets for 10^7 executions in all (FUZZ_EXECS),
# one line per target: "fuzz.<target>: N execs, 0 crashes".
"${SHELL:-/bin/sh}" "${top_srcdir:?}/tests/fuzz/fuzz.sh" bench
rc=$?
[ $rc -eq 77 ] && exit 0	# no clang: said so, nothing to measure
exit $rc
