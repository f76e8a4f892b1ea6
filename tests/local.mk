# Cross-module tests: the direction of dependencies between modules.
TESTS += tests/test-layering.sh
EXTRA_DIST += tests/test-layering.sh
