# src/balancer: pure allocation of power to connectors (libc + common only).
noinst_LTLIBRARIES += libbalancer.la
libbalancer_la_SOURCES = src/balancer/balancer.h \
	src/balancer/balancer-private.h src/balancer/balancer.c \
	src/balancer/check.c src/balancer/fill.c src/balancer/phase.c

check_PROGRAMS += tests/balancer/test-balancer
TESTS += tests/balancer/test-balancer
tests_balancer_test_balancer_SOURCES = tests/balancer/test-balancer.c \
	tests/balancer/test-property.c tests/balancer/test-phase.c \
	tests/balancer/test-sort.c \
	tests/balancer/test-balancer.h tests/cu.h
tests_balancer_test_balancer_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_balancer_test_balancer_LDADD = libbalancer.la libcommon.la \
	$(CUNIT_LIBS) $(LIBS)

EXTRA_PROGRAMS += bench/bench-balancer
bench_programs += bench/bench-balancer
bench_bench_balancer_SOURCES = bench/bench-balancer.c
bench_bench_balancer_LDADD = libbalancer.la libcommon.la $(LIBS)
