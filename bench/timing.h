/* Timing helpers shared by the C benchmarks: the monotonic clock in ns and
 * in ms, and the median of a set of samples.  Header only (static inline),
 * so each benchmark needs nothing more in its SOURCES. */
#ifndef EDGE_BENCH_TIMING_H
#define EDGE_BENCH_TIMING_H

#include <stddef.h>
#include <stdlib.h>
#include <time.h>

/* Orders doubles for qsort. */
static inline int
bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nanoseconds on the monotonic clock. */
static inline double
bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Milliseconds on the monotonic clock. */
static inline double
bench_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The median of the n samples at v (the upper middle one when n is even);
 * sorts v in place. */
static inline double
bench_median(double *v, size_t n)
{
	qsort(v, n, sizeof(v[0]), bench_cmp_double);
	return v[n / 2];
}

#endif
