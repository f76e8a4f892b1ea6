# Cross-module tests: the direction of dependencies between modules.
TESTS += tests/test-layering.sh
EXTRA_DIST += tests/test-layering.sh

# Sourced by the integration tests that talk to the test CSMS (their rules
# are in src/daemon.mk).
EXTRA_DIST += tests/integration/csms.sh tests/integration/sessions.sh
