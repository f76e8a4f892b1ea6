# src/ctl: rules for this module, its tests and its benchmarks.
