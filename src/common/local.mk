# src/common: logging, allocation, clocks; depends on nothing but libc.
noinst_LTLIBRARIES += libcommon.la
libcommon_la_SOURCES = \
	src/common/log.c src/common/log.h \
	src/common/util.c src/common/util.h

check_PROGRAMS += tests/common/test-common
TESTS += tests/common/test-common
tests_common_test_common_SOURCES = tests/common/test-common.c tests/cu.h
tests_common_test_common_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_common_test_common_LDADD = libcommon.la $(CUNIT_LIBS) $(LIBS)

# Atomic file replacement (temporary file, fsync, rename); its tests live
# with the daemon's, in tests/daemon/.
libcommon_la_SOURCES += src/common/atomic-file.c src/common/atomic-file.h
