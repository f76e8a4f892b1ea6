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
	tests/southbound/devsrv.c tests/southbound/devsrv.h tests/cu.h
tests_southbound_test_southbound_CFLAGS = $(AM_CFLAGS) $(MODBUS_CFLAGS) \
	$(CUNIT_CFLAGS) -I$(top_srcdir)/tests
tests_southbound_test_southbound_LDADD = libsouthbound.la libcommon.la \
	$(MODBUS_LIBS) $(CUNIT_LIBS) $(LIBS)
