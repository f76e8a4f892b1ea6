# src/store: the durable SQLite store, its tests and its benchmarks.
noinst_LTLIBRARIES += libstore.la
libstore_la_SOURCES = \
	src/store/store.h src/store/store-private.h \
	src/store/store.c src/store/queue.c \
	src/store/profiles.c src/store/settings.c src/store/history.c \
	src/store/sync.c
libstore_la_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS)

check_PROGRAMS += tests/store/test-store
TESTS += tests/store/test-store
tests_store_test_store_SOURCES = tests/store/test-store.c tests/cu.h
tests_store_test_store_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS) $(CUNIT_CFLAGS)
tests_store_test_store_LDADD = libstore.la libcommon.la $(SQLITE_LIBS) \
	$(CUNIT_LIBS) $(LIBS)

# The crash test: a child killed with SIGKILL 200 times.
check_PROGRAMS += tests/store/test-store-crash
TESTS += tests/store/test-store-crash
tests_store_test_store_crash_SOURCES = tests/store/test-store-crash.c \
	tests/cu.h
tests_store_test_store_crash_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS) \
	$(CUNIT_CFLAGS)
tests_store_test_store_crash_LDADD = libstore.la libcommon.la \
	$(SQLITE_LIBS) $(CUNIT_LIBS) $(LIBS)

# Benchmarks: throughput, file size, open time; the 1000-kill soak.
EXTRA_PROGRAMS += bench/bench-store bench/bench-store-soak
bench_programs += bench/bench-store bench/bench-store-soak
bench_bench_store_SOURCES = bench/bench-store.c
bench_bench_store_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS)
bench_bench_store_LDADD = libstore.la libcommon.la $(SQLITE_LIBS) $(LIBS)
bench_bench_store_soak_SOURCES = tests/store/test-store-crash.c tests/cu.h
bench_bench_store_soak_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS) \
	$(CUNIT_CFLAGS) -DCRASH_KILLS=1000 -DCRASH_BENCH
bench_bench_store_soak_LDADD = libstore.la libcommon.la $(SQLITE_LIBS) \
	$(CUNIT_LIBS) $(LIBS)
