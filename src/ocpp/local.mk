# src/ocpp: OCPP-J codec, 1.6 and 2.0.1 session on a libwebsockets client.
# schemas.c is generated (tools/gen-ocpp-schemas.js, committed); the test
# test-schemas-fresh.sh checks it against the schemas.
noinst_LTLIBRARIES += libocpp.la
libocpp_la_SOURCES = \
	src/ocpp/ocpp.h src/ocpp/ocpp-private.h src/ocpp/session-private.h \
	src/ocpp/rpc.c src/ocpp/spec.c src/ocpp/schemas.c src/ocpp/keys.c \
	src/ocpp/session.c src/ocpp/transactions.c src/ocpp/calls.c \
	src/ocpp/transport.c src/ocpp/auth.c src/ocpp/security.c \
	src/ocpp/certs.c src/ocpp/clock.c
libocpp_la_CFLAGS = $(AM_CFLAGS) $(LWS_CFLAGS) $(JANSSON_CFLAGS) $(OPENSSL_CFLAGS)
OCPP_LIBS = libocpp.la libcommon.la $(LWS_LIBS) $(JANSSON_LIBS) \
	$(OPENSSL_LIBS) $(LIBS)

# Unit tests: codec, validation, back-off, session logic without a network.
check_PROGRAMS += tests/ocpp/test-ocpp
TESTS += tests/ocpp/test-ocpp
tests_ocpp_test_ocpp_SOURCES = tests/ocpp/test-ocpp.c tests/cu.h
tests_ocpp_test_ocpp_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS) $(JANSSON_CFLAGS) \
	$(LWS_CFLAGS)
tests_ocpp_test_ocpp_LDADD = $(OCPP_LIBS) $(CUNIT_LIBS)

# Allocation failure on the frame path: malloc and friends of the
# program's own code fail on demand through the linker's --wrap.
check_PROGRAMS += tests/ocpp/test-alloc-fail
TESTS += tests/ocpp/test-alloc-fail
tests_ocpp_test_alloc_fail_SOURCES = tests/ocpp/test-alloc-fail.c \
	tests/fuzz/fuzz-station.c tests/fuzz/fuzz-station.h
tests_ocpp_test_alloc_fail_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) \
	$(LWS_CFLAGS)
tests_ocpp_test_alloc_fail_LDFLAGS = -Wl,--wrap=malloc,--wrap=calloc \
	-Wl,--wrap=realloc,--wrap=strdup,--wrap=json_loadb,--wrap=json_loads
tests_ocpp_test_alloc_fail_LDADD = libocpp.la $(SMARTCHARGING_LIBS) \
	$(OCPP_LIBS)

# The station harness: the session with a scripted station model and an
# in-memory durable queue, driven by JSON lines on stdin.
check_PROGRAMS += tests/ocpp/test-station
tests_ocpp_test_station_SOURCES = tests/ocpp/station.c
tests_ocpp_test_station_CFLAGS = $(AM_CFLAGS) $(LWS_CFLAGS) $(JANSSON_CFLAGS)
tests_ocpp_test_station_LDADD = $(OCPP_LIBS)

# Integration: the harness against the test CSMS (Node.js, ocpp-rpc); its
# npm dependencies are installed into tests/ocpp/node_modules/csms-deps of
# the build tree.
TESTS += tests/ocpp/test-session.sh tests/ocpp/test-csms-cli.sh \
	tests/ocpp/test-schemas-fresh.sh
EXTRA_DIST += tests/ocpp/test-session.sh tests/ocpp/session.test.js \
	tests/ocpp/malformed-corpus.js \
	tests/ocpp/test-schemas-fresh.sh tools/gen-ocpp-schemas.js \
	tests/ocpp/test-csms-cli.sh tests/ocpp/csms-deps.sh \
	tests/csms/csms.js tests/csms/package.json tests/csms/package-lock.json
# (Another module needing clean-local can add its own prerequisite here.)
clean-local: clean-local-ocpp
clean-local-ocpp:
	-rm -rf tests/ocpp/node_modules
.PHONY: clean-local-ocpp

# Benchmark (`make bench`): round trips and memory, against the test CSMS.
bench_scripts += bench/bench-ocpp.sh
EXTRA_DIST += bench/bench-ocpp.sh bench/bench-ocpp.js
bench: tests/ocpp/test-station$(EXEEXT)

# ---- Charging profiles (smart charging): validation, the profile set,
# evaluation at an instant and composite schedules.  Pure: libc, jansson
# and common/ only.
noinst_LTLIBRARIES += libsmartcharging.la
libsmartcharging_la_SOURCES = src/ocpp/smartcharging.h \
	src/ocpp/smartcharging-private.h src/ocpp/smartcharging-parse.c \
	src/ocpp/smartcharging.c src/ocpp/smartcharging-eval.c
libsmartcharging_la_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
SMARTCHARGING_LIBS = libsmartcharging.la libcommon.la $(JANSSON_LIBS) $(LIBS)

check_PROGRAMS += tests/ocpp/test-smartcharging
TESTS += tests/ocpp/test-smartcharging
tests_ocpp_test_smartcharging_SOURCES = tests/ocpp/test-smartcharging.c \
	tests/cu.h
tests_ocpp_test_smartcharging_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS) \
	$(JANSSON_CFLAGS)
tests_ocpp_test_smartcharging_LDADD = $(SMARTCHARGING_LIBS) $(CUNIT_LIBS)

# Benchmark (`make bench`): evaluation, timer, SetChargingProfile,
# composite and reload on a 200-connector site.
EXTRA_PROGRAMS += bench/bench-smartcharging
bench_programs += bench/bench-smartcharging
bench_bench_smartcharging_SOURCES = bench/bench-smartcharging.c
bench_bench_smartcharging_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
bench_bench_smartcharging_LDADD = $(SMARTCHARGING_LIBS)

# ---- In-tree fuzzing (libFuzzer with Debian's clang, built outside the
# autotools compiler by tests/fuzz/fuzz.sh; skipped without clang).
# `make fuzz` builds the targets into tests/fuzz/; `make check` runs each
# a few seconds; `make bench` runs each for an equal share of 10 minutes
# (FUZZ_BENCH_S) or of 10^7 executions (FUZZ_EXECS), whichever ends first.
TESTS += tests/fuzz/test-fuzz.sh
bench_scripts += tests/fuzz/bench-fuzz.sh
EXTRA_DIST += tests/fuzz/fuzz.sh tests/fuzz/test-fuzz.sh \
	tests/fuzz/bench-fuzz.sh tests/fuzz/fuzz-station.h \
	tests/fuzz/fuzz-station.c tests/fuzz/fuzz-rpc.c \
	tests/fuzz/fuzz-profile.c tests/fuzz/fuzz-profile-query.c \
	tests/fuzz/fuzz-config.c tests/fuzz/fuzz-cfgload.c \
	tests/fuzz/fuzz-control.c tests/fuzz/corpus
fuzz:
	@top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	  $(SHELL) $(srcdir)/tests/fuzz/fuzz.sh build; rc=$$?; \
	  test $$rc = 0 || test $$rc = 77
clean-local: clean-local-fuzz
clean-local-fuzz:
	-rm -rf tests/fuzz/obj tests/fuzz/fuzz-rpc16 tests/fuzz/fuzz-rpc201 \
	  tests/fuzz/fuzz-profile tests/fuzz/fuzz-profile-query \
	  tests/fuzz/fuzz-config tests/fuzz/fuzz-cfgload tests/fuzz/fuzz-control
.PHONY: fuzz clean-local-fuzz
