/* Which OCPP ids (1.6 connectorId, 2.0.1 evseId) each charger's
 * connectors get: the one rule, for the file's checks, the site's
 * numbering and the check of a new site against open transactions. */
#include "config/config-private.h"

#include <stdlib.h>

#include "common/util.h"

/* True when ids first..first+n-1 are all within 1..CFG_MAX_OCPP_ID and
 * not in used. */
static bool
range_free(const bool *used, int first, int n)
{
	if (first < 1 || n < 1 || first > CFG_MAX_OCPP_ID - n + 1)
		return false;
	for (int id = first; id < first + n; id++)
		if (used[id])
			return false;
	return true;
}

/* Marks ids first..first+n-1 as used (a range range_free accepted). */
static void
take(bool *used, int first, int n)
{
	for (int id = first; id < first + n; id++)
		used[id] = true;
}

int
cfg_assign_ids(const struct cfg *c, const int *kept, int *first,
    size_t *bad)
{
	bool *used = xcalloc(CFG_MAX_OCPP_ID + 1, sizeof(*used));
	size_t i;
	int rc = 0;

	/* The pins first: they hold whatever the order. */
	for (i = 0; i < c->n_chargers; i++) {
		const struct cfg_charger *ch = &c->chargers[i];

		first[i] = 0;
		if (ch->ocpp_id == 0)
			continue;
		if (!range_free(used, ch->ocpp_id, ch->connectors))
			goto fail;
		take(used, ch->ocpp_id, ch->connectors);
		first[i] = ch->ocpp_id;
	}
	/* Then the ids a charger had, where they are still free. */
	for (i = 0; kept != NULL && i < c->n_chargers; i++) {
		const struct cfg_charger *ch = &c->chargers[i];

		if (first[i] != 0 || !range_free(used, kept[i], ch->connectors))
			continue;
		take(used, kept[i], ch->connectors);
		first[i] = kept[i];
	}
	/* The others after the charger before them (wrapping round to 1
	 * when nothing is free above). */
	for (i = 0; i < c->n_chargers; i++) {
		const struct cfg_charger *ch = &c->chargers[i];
		int from = i == 0 ? 1 :
		    first[i - 1] + c->chargers[i - 1].connectors, id;

		if (first[i] != 0)
			continue;
		if (from > CFG_MAX_OCPP_ID)
			from = 1;
		id = from;
		while (!range_free(used, id, ch->connectors)) {
			if (++id > CFG_MAX_OCPP_ID)
				id = 1;
			if (id == from)
				goto fail;
		}
		take(used, id, ch->connectors);
		first[i] = id;
	}
	goto out;
fail:
	if (bad != NULL)
		*bad = i;
	rc = -1;
out:
	free(used);
	return rc;
}
