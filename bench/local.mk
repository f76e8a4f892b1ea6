# Benchmarks live with their module's rules (bench_programs / bench_scripts);
# this file holds the ones that span modules.
