# src/balancer: rules for this module, its tests and its benchmarks.
