/* Shared CUnit runner for the test programs: registers the suites given,
 * runs them verbosely and exits non-zero when any assertion failed. */
#ifndef EDGE_TESTS_CU_H
#define EDGE_TESTS_CU_H

#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>

struct cu_test {
	const char *name;
	CU_TestFunc fn;
};

struct cu_suite {
	const char *name;
	CU_InitializeFunc init;
	CU_CleanupFunc cleanup;
	const struct cu_test *tests; /* ends with { NULL, NULL } */
};

/* Runs every suite in the NULL-name-terminated array; returns the exit
 * code for main(): 0 when all passed, 1 on failures, 99 on set-up errors. */
static inline int
cu_run(const struct cu_suite *suites)
{
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 99;
	for (const struct cu_suite *s = suites; s->name != NULL; s++) {
		CU_pSuite suite = CU_add_suite(s->name, s->init, s->cleanup);
		if (suite == NULL)
			return 99;
		for (const struct cu_test *t = s->tests; t->name != NULL; t++)
			if (CU_add_test(suite, t->name, t->fn) == NULL)
				return 99;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	failed += CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return failed == 0 ? 0 : 1;
}

#endif
