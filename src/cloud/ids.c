/* The one table between the site's connectors (index k in the site
 * model, 0..n-1) and their OCPP ids (1.6 connectorId, 2.0.1 evseId).
 * The backend only ever sees the ids; the site model only the indexes.
 * Ids may leave gaps: an id no connector has maps to no index. */
#include "config.h"

#include "cloud/cloud.h"

#include <stdlib.h>

#include "common/util.h"

int
cloud_ids_init(struct cloud_ids *t, const int *ids, int n, char **cause)
{
	int max_id = 0;

	t->n = 0;
	t->max_id = 0;
	t->id_of = NULL;
	t->k_of = NULL;
	if (n < 0 || n > CLOUD_IDS_MAX) {
		xasprintf(cause, "%d connectors: allowed 0..%d", n,
		    CLOUD_IDS_MAX);
		return -1;
	}
	for (int k = 0; k < n; k++) {
		if (ids[k] < 1 || ids[k] > CLOUD_IDS_MAX) {
			xasprintf(cause, "connector %d: id %d: allowed 1..%d",
			    k + 1, ids[k], CLOUD_IDS_MAX);
			return -1;
		}
		if (ids[k] > max_id)
			max_id = ids[k];
	}
	t->k_of = xmalloc(((size_t)max_id + 1) * sizeof(*t->k_of));
	for (int id = 0; id <= max_id; id++)
		t->k_of[id] = -1;
	for (int k = 0; k < n; k++) {
		if (t->k_of[ids[k]] >= 0) {
			xasprintf(cause, "connectors %d and %d: both id %d",
			    t->k_of[ids[k]] + 1, k + 1, ids[k]);
			free(t->k_of);
			t->k_of = NULL;
			return -1;
		}
		t->k_of[ids[k]] = k;
	}
	t->id_of = xcalloc((size_t)n + 1, sizeof(*t->id_of));
	for (int k = 0; k < n; k++)
		t->id_of[k] = ids[k];
	t->n = n;
	t->max_id = max_id;
	return 0;
}

void
cloud_ids_free(struct cloud_ids *t)
{
	free(t->id_of);
	free(t->k_of);
	t->id_of = NULL;
	t->k_of = NULL;
	t->n = 0;
	t->max_id = 0;
}

int
cloud_ids_k(const struct cloud_ids *t, int id)
{
	return id >= 1 && id <= t->max_id ? t->k_of[id] : -1;
}

int
cloud_ids_id(const struct cloud_ids *t, int k)
{
	return k >= 0 && k < t->n ? t->id_of[k] : 0;
}
