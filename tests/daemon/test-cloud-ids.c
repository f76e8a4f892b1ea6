/* The table between the site's connectors and their OCPP ids
 * (src/cloud/ids.c): both ways, with gaps, and what it refuses. */
#include <stdlib.h>
#include <string.h>

#include "../cu.h"
#include "cloud/cloud.h"

/* Ids in configuration order, no gap: id = index + 1, as the site
 * numbers its connectors today. */
static void
test_in_order(void)
{
	const int ids[] = { 1, 2, 3, 4 };
	struct cloud_ids t;
	char *cause = NULL;

	CU_ASSERT_EQUAL_FATAL(cloud_ids_init(&t, ids, 4, &cause), 0);
	CU_ASSERT_EQUAL(t.n, 4);
	CU_ASSERT_EQUAL(t.max_id, 4);
	for (int k = 0; k < 4; k++) {
		CU_ASSERT_EQUAL(cloud_ids_id(&t, k), k + 1);
		CU_ASSERT_EQUAL(cloud_ids_k(&t, k + 1), k);
	}
	cloud_ids_free(&t);
}

/* A charger removed from the middle leaves its ids unused: the others
 * keep theirs; the gap, 0 (the station) and beyond map to no connector. */
static void
test_gaps(void)
{
	const int ids[] = { 1, 2, 5, 9, 10 };
	struct cloud_ids t;
	char *cause = NULL;

	CU_ASSERT_EQUAL_FATAL(cloud_ids_init(&t, ids, 5, &cause), 0);
	CU_ASSERT_EQUAL(t.max_id, 10);
	CU_ASSERT_EQUAL(cloud_ids_k(&t, 5), 2);
	CU_ASSERT_EQUAL(cloud_ids_k(&t, 9), 3);
	CU_ASSERT_EQUAL(cloud_ids_k(&t, 10), 4);
	CU_ASSERT_EQUAL(cloud_ids_id(&t, 3), 9);
	for (int id = 3; id <= 8; id++)
		if (id != 5)
			CU_ASSERT_EQUAL(cloud_ids_k(&t, id), -1);
	CU_ASSERT_EQUAL(cloud_ids_k(&t, 0), -1);
	CU_ASSERT_EQUAL(cloud_ids_k(&t, 11), -1);
	CU_ASSERT_EQUAL(cloud_ids_k(&t, -1), -1);
	CU_ASSERT_EQUAL(cloud_ids_k(&t, CLOUD_IDS_MAX + 1), -1);
	CU_ASSERT_EQUAL(cloud_ids_id(&t, -1), 0);
	CU_ASSERT_EQUAL(cloud_ids_id(&t, 5), 0);
	cloud_ids_free(&t);
	CU_ASSERT_EQUAL(cloud_ids_k(&t, 1), -1);
}

/* Ids need not follow the connectors' order: a pinned charger listed
 * first may hold the higher ids. */
static void
test_any_order(void)
{
	const int ids[] = { 7, 8, 1 };
	struct cloud_ids t;
	char *cause = NULL;

	CU_ASSERT_EQUAL_FATAL(cloud_ids_init(&t, ids, 3, &cause), 0);
	CU_ASSERT_EQUAL(cloud_ids_k(&t, 1), 2);
	CU_ASSERT_EQUAL(cloud_ids_k(&t, 8), 1);
	CU_ASSERT_EQUAL(cloud_ids_id(&t, 0), 7);
	cloud_ids_free(&t);
}

/* No connector: an empty table that maps nothing. */
static void
test_empty(void)
{
	struct cloud_ids t;
	char *cause = NULL;

	CU_ASSERT_EQUAL_FATAL(cloud_ids_init(&t, NULL, 0, &cause), 0);
	CU_ASSERT_EQUAL(t.max_id, 0);
	CU_ASSERT_EQUAL(cloud_ids_k(&t, 1), -1);
	CU_ASSERT_EQUAL(cloud_ids_id(&t, 0), 0);
	cloud_ids_free(&t);
}

/* Refused with the reason: an id used twice, out of range, a count out
 * of range; the table is then empty. */
static void
test_refused(void)
{
	const int twice[] = { 1, 4, 4 }, zero[] = { 1, 0 },
	    high[] = { CLOUD_IDS_MAX + 1 }, top[] = { CLOUD_IDS_MAX };
	struct cloud_ids t;
	char *cause = NULL;

	CU_ASSERT_EQUAL(cloud_ids_init(&t, twice, 3, &cause), -1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	CU_ASSERT_STRING_EQUAL(cause, "connectors 2 and 3: both id 4");
	CU_ASSERT_EQUAL(t.n, 0);
	CU_ASSERT_EQUAL(cloud_ids_k(&t, 4), -1);
	free(cause);
	cause = NULL;
	CU_ASSERT_EQUAL(cloud_ids_init(&t, zero, 2, &cause), -1);
	CU_ASSERT(cause != NULL && strstr(cause, "connector 2: id 0") != NULL);
	free(cause);
	cause = NULL;
	CU_ASSERT_EQUAL(cloud_ids_init(&t, high, 1, &cause), -1);
	free(cause);
	cause = NULL;
	CU_ASSERT_EQUAL(cloud_ids_init(&t, top, -1, &cause), -1);
	free(cause);
	cause = NULL;
	CU_ASSERT_EQUAL_FATAL(cloud_ids_init(&t, top, 1, &cause), 0);
	CU_ASSERT_EQUAL(cloud_ids_k(&t, CLOUD_IDS_MAX), 0);
	cloud_ids_free(&t);
}

static const struct cu_test tests[] = {
	{ "ids in configuration order", test_in_order },
	{ "ids with gaps", test_gaps },
	{ "ids in any order", test_any_order },
	{ "no connector", test_empty },
	{ "duplicate and out-of-range ids refused", test_refused },
	{ NULL, NULL },
};

static const struct cu_suite suites[] = {
	{ "cloud ids", NULL, NULL, tests },
	{ NULL, NULL, NULL, NULL },
};

int
main(void)
{
	return cu_run(suites);
}
