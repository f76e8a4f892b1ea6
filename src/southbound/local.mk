# src/southbound: rules for this module, its tests and its benchmarks.
noinst_LTLIBRARIES += libsouthbound.la
libsouthbound_la_SOURCES = \
	src/southbound/southbound.h src/southbound/sb-private.h \
	src/southbound/regmap.c src/southbound/driver.c \
	src/southbound/worker.c
libsouthbound_la_CFLAGS = $(AM_CFLAGS) $(MODBUS_CFLAGS)
libsouthbound_la_LIBADD = libcommon.la

check_PROGRAMS += tests/southbound/test-southbound
TESTS += tests/southbound/test-southbound
tests_southbound_test_southbound_SOURCES = \
	tests/southbound/test-southbound.c \
	tests/southbound/devsrv.c tests/southbound/devsrv.h \
	tests/southbound/sbtest.c tests/southbound/sbtest.h tests/cu.h
tests_southbound_test_southbound_CFLAGS = $(AM_CFLAGS) $(MODBUS_CFLAGS) \
	$(CUNIT_CFLAGS) -I$(top_srcdir)/tests
tests_southbound_test_southbound_LDADD = libsouthbound.la libcommon.la \
	$(MODBUS_LIBS) $(CUNIT_LIBS) $(LIBS)

# Against the site simulator (skipped when it is not built).
check_PROGRAMS += tests/southbound/test-sb-sim
TESTS += tests/southbound/test-sb-sim
tests_southbound_test_sb_sim_SOURCES = tests/southbound/test-sb-sim.c \
	tests/southbound/sbtest.c tests/southbound/sbtest.h tests/cu.h
tests_southbound_test_sb_sim_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) \
	$(CUNIT_CFLAGS) -I$(top_srcdir)/tests
tests_southbound_test_sb_sim_LDADD = libsouthbound.la libcommon.la \
	$(MODBUS_LIBS) $(JANSSON_LIBS) $(CUNIT_LIBS) $(LIBS)
tests_southbound_test_sb_sim_DEPENDENCIES = libsouthbound.la libcommon.la \
	ocpp-edge-sim$(EXEEXT)
EXTRA_DIST += tests/southbound/sim-site.json

# make bench: a full cycle on 40 and 200 TCP chargers; an SDM630 RTU poll.
EXTRA_PROGRAMS += bench/bench-southbound
bench_programs += bench/bench-southbound
bench_bench_southbound_SOURCES = bench/bench-southbound.c \
	tests/southbound/devsrv.c tests/southbound/devsrv.h
bench_bench_southbound_CFLAGS = $(AM_CFLAGS) $(MODBUS_CFLAGS) \
	-I$(top_srcdir)/tests/southbound
bench_bench_southbound_LDADD = libsouthbound.la libcommon.la $(MODBUS_LIBS) \
	$(LIBS)
CLEANFILES += bench/bench-southbound

# A read-only identity probe for `ocpp-edgectl scan` (src/ctl/).
libsouthbound_la_SOURCES += src/southbound/probe.c
