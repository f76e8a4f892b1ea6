/* Charging profiles as the backend sent them: put (skipping unchanged
 * ones, so flash is written only when something changed), delete, list. */
#include "store/store-private.h"

#include <stdlib.h>
#include <string.h>

/* Checks a profile given to store_profile_put. */
static int
check_profile(const struct store_profile *p, char **cause)
{
	if (p->connector < 0 || p->stack_level < 0) {
		store_set_cause(cause, "profile %lld: connector %d and stack "
		    "level %d must be >= 0", (long long)p->id, p->connector,
		    p->stack_level);
		return STORE_ERR_INVALID;
	}
	if (p->purpose == NULL || p->purpose[0] == '\0' || p->json == NULL ||
	    p->json[0] == '\0') {
		store_set_cause(cause, "profile %lld: purpose and JSON text "
		    "must not be empty", (long long)p->id);
		return STORE_ERR_INVALID;
	}
	if (p->valid_from_ms < 0 || p->valid_to_ms < 0) {
		store_set_cause(cause, "profile %lld: validity times must be "
		    ">= 0 (0 = not given)", (long long)p->id);
		return STORE_ERR_INVALID;
	}
	return 0;
}

int
store_profile_put(struct store *st, const struct store_profile *p,
    bool *changed, char **cause)
{
	sqlite3_stmt *s;
	int rc = 0;

	if (changed != NULL)
		*changed = false;
	if ((rc = check_profile(p, cause)) != 0)
		return rc;
	if ((s = store_stmt(st, SQ_PROFILE_PUT, &rc, cause)) == NULL)
		return rc;
	sqlite3_bind_int64(s, 1, p->id);
	sqlite3_bind_int(s, 2, p->connector);
	sqlite3_bind_text(s, 3, p->purpose, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 4, p->stack_level);
	if (p->tx_id != NULL)
		sqlite3_bind_text(s, 5, p->tx_id, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 5);
	sqlite3_bind_text(s, 6, p->json, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 7, p->valid_from_ms);
	sqlite3_bind_int64(s, 8, p->valid_to_ms);
	/* One statement in autocommit mode: its own transaction, durable
	 * across a crash when it returns and across a power cut once the
	 * sync thread has synced the WAL (store_sync_wait). */
	if ((rc = store_sync_full(st, false, cause)) != 0)
		return rc;
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return store_sqlite_error(st, rc, "saving a profile", cause);
	if (sqlite3_changes(st->db) == 0)
		return 0;	/* stored already, field for field */
	st->commits++;
	if (changed != NULL)
		*changed = true;
	return 0;
}

/* Runs a DELETE built by the callers below; *deleted gets the count. */
static int
run_delete(struct store *st, sqlite3_stmt *s, int *deleted, char **cause)
{
	int rc, n;

	/* Synced off the loop, as a put (store_profile_put). */
	if ((rc = store_sync_full(st, false, cause)) != 0) {
		sqlite3_finalize(s);
		return rc;
	}
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return store_sqlite_error(st, rc, "deleting profiles", cause);
	n = sqlite3_changes(st->db);
	if (n > 0)
		st->commits++;
	if (deleted != NULL)
		*deleted = n;
	return 0;
}

int
store_profile_delete(struct store *st, int64_t id, int *deleted,
    char **cause)
{
	sqlite3_stmt *s;
	int rc;

	if (deleted != NULL)
		*deleted = 0;
	rc = sqlite3_prepare_v2(st->db, "DELETE FROM profiles WHERE id = ?1",
	    -1, &s, NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_error(st, rc, "deleting a profile", cause);
	sqlite3_bind_int64(s, 1, id);
	return run_delete(st, s, deleted, cause);
}

int
store_profile_delete_matching(struct store *st,
    const struct store_profile_filter *f, int *deleted, char **cause)
{
	sqlite3_stmt *s;
	int rc;

	if (deleted != NULL)
		*deleted = 0;
	if (f->connector < -1 || f->stack_level < -1) {
		store_set_cause(cause, "profile filter: connector %d and stack "
		    "level %d must be >= 0 (or -1 for any)", f->connector,
		    f->stack_level);
		return STORE_ERR_INVALID;
	}
	rc = sqlite3_prepare_v2(st->db, "DELETE FROM profiles WHERE "
	    "(?1 < 0 OR connector = ?1) AND (?2 IS NULL OR purpose = ?2) AND "
	    "(?3 < 0 OR stack_level = ?3)", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_error(st, rc, "deleting profiles", cause);
	sqlite3_bind_int(s, 1, f->connector);
	if (f->purpose != NULL)
		sqlite3_bind_text(s, 2, f->purpose, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 2);
	sqlite3_bind_int(s, 3, f->stack_level);
	return run_delete(st, s, deleted, cause);
}

int
store_profile_foreach(struct store *st,
    int (*fn)(const struct store_profile *p, void *arg), void *arg,
    char **cause)
{
	struct store_profile p;
	sqlite3_stmt *s;
	int rc, r = 0;

	rc = sqlite3_prepare_v2(st->db, "SELECT id, connector, purpose, "
	    "stack_level, tx_id, json, valid_from_ms, valid_to_ms "
	    "FROM profiles ORDER BY connector, purpose, stack_level, id",
	    -1, &s, NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_error(st, rc, "listing profiles", cause);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		p.id = sqlite3_column_int64(s, 0);
		p.connector = sqlite3_column_int(s, 1);
		p.purpose = (const char *)sqlite3_column_text(s, 2);
		p.stack_level = sqlite3_column_int(s, 3);
		p.tx_id = (const char *)sqlite3_column_text(s, 4);
		p.json = (const char *)sqlite3_column_text(s, 5);
		p.valid_from_ms = sqlite3_column_int64(s, 6);
		p.valid_to_ms = sqlite3_column_int64(s, 7);
		if ((r = fn(&p, arg)) != 0)
			break;
	}
	sqlite3_finalize(s);
	if (r != 0)
		return r;
	if (rc != SQLITE_DONE)
		return store_sqlite_error(st, rc, "listing profiles", cause);
	return 0;
}
