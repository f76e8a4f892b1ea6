/* The balancer's orderings (fill.c): the radix sort by value and the
 * counting sort of minimums give the order of (value in mW, index) for
 * whole and fractional values, narrow and wide ranges, few and many
 * distinct values, as a plain comparison sort of the same keys does. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "balancer/balancer-private.h"
#include "tests/balancer/test-balancer.h"

#define ROUNDS 400

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

/* Seeded xorshift: a number in [0, n). */
static uint32_t
rnd(uint32_t n)
{
	return ts_rnd(&rng_state, n);
}

/* Orders (mW, index) pairs for qsort. */
static int
cmp_key(const void *a, const void *b)
{
	const int64_t *x = a, *y = b;

	if (x[0] != y[0])
		return x[0] < y[0] ? -1 : 1;
	return (x[1] > y[1]) - (x[1] < y[1]);
}

/* The expected order of by_upper's members by val: qsort of (mW, index). */
static void
expected(const struct bal_work *w, const double *val, int *order)
{
	int64_t (*keys)[2] = calloc((size_t)w->n_by_upper, sizeof(*keys));

	CU_ASSERT_FATAL(keys != NULL);
	for (int q = 0; q < w->n_by_upper; q++) {
		int i = w->by_upper[q];
		keys[q][0] = (int64_t)ffloor(val[i] * 1000 + 0.5);
		keys[q][1] = i;
	}
	qsort(keys, (size_t)w->n_by_upper, sizeof(*keys), cmp_key);
	for (int q = 0; q < w->n_by_upper; q++)
		order[q] = (int)keys[q][1];
	free(keys);
}

/* A value of one of four shapes: a few whole W, many whole W, a wide
 * whole range, or fractional (current-mode grids). */
static double
value(int shape, int ndistinct)
{
	static const double few[] = { 1400, 4200, 7400, 11000, 22000, 1610, 4830 };

	switch (shape) {
	case 0:
		return few[rnd((uint32_t)ndistinct % 7 + 1)];
	case 1:
		return 100.0 * rnd(220);
	case 2:
		return (double)rnd(2000000000u);
	default:
		return 10.1 * rnd(3000) + (rnd(2) ? 0.0004 : 0);
	}
}

/* Random members (a subset of the connectors, in index order) and
 * values; both sorts against the reference. */
static void
test_sorts_match_reference(void)
{
	struct bal_work *w = calloc(1, bal_work_size());
	int *order = calloc(BAL_MAX_CONNECTORS, sizeof(int));

	CU_ASSERT_FATAL(w != NULL && order != NULL);
	for (int round = 0; round < ROUNDS; round++) {
		int n = round < 4 ? round : (int)rnd(BAL_MAX_CONNECTORS + 1);
		int shape = (int)rnd(4), ndistinct = (int)rnd(40);
		bool mismatch = false;

		w->n_by_upper = 0;
		for (int i = 0; i < n; i++) {
			w->upper[i] = value(shape, ndistinct);
			w->pmin[i] = rnd(2) ? value(0, ndistinct) :
			    value(shape, ndistinct);
			if (rnd(4) != 0)
				w->by_upper[w->n_by_upper++] = i;
		}
		expected(w, w->pmin, order);
		bal_sort_minimums(w);
		for (int q = 0; q < w->n_by_upper; q++)
			mismatch |= w->by_pmin[q] != order[q];
		expected(w, w->upper, order);
		bal_sort_by_value(w, w->upper, w->by_upper);
		for (int q = 0; q < w->n_by_upper; q++)
			mismatch |= w->by_upper[q] != order[q];
		CU_ASSERT_FALSE(mismatch);
		if (mismatch)
			fprintf(stderr, "round %d (shape %d, %d members) out of "
			    "order\n", round, shape, w->n_by_upper);
	}
	free(order);
	free(w);
}

const struct cu_test sort_tests[] = {
	{ "sorts match a comparison sort", test_sorts_match_reference },
	{ NULL, NULL },
};
