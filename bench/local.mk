# Benchmarks live with their module's rules (bench_programs / bench_scripts);
# this file holds the ones that span modules.

# Timing helpers the C benchmarks include (header only).
EXTRA_DIST += bench/timing.h
