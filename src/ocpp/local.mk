# src/ocpp: rules for this module, its tests and its benchmarks.
