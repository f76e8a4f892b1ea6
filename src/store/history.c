/* The site's history: a sample of the site every 10 s and every setpoint
 * change with its explain, buffered in memory and committed in batches
 * (at most once per STORE_HISTORY_FLUSH_MS) to spare the flash; trimmed
 * to STORE_HISTORY_KEEP_MS and STORE_HISTORY_MAX_CHANGES at each commit.
 * Reads include what is still buffered. */
#include "store/store-private.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"

/* Frees one buffered change's strings. */
static void
change_clear(struct store_hist_change *c)
{
	free(c->reason);
	free(c->bound_by);
	free(c->summary);
	free(c->caps_json);
}

void
store_history_free(struct store *st)
{
	for (size_t i = 0; i < st->n_hist_changes; i++)
		change_clear(&st->hist_changes[i]);
	free(st->hist_changes);
	free(st->hist_samples);
	st->hist_changes = NULL;
	st->hist_samples = NULL;
	st->n_hist_changes = st->n_hist_samples = 0;
}

/* Writes the buffer in the open transaction; the newest time seen goes
 * to *newest_ms. */
static int
write_batch(struct store *st, int64_t *newest_ms, char **cause)
{
	sqlite3_stmt *s = NULL;
	int rc;

	rc = sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO history_site "
	    "(at_ms, power_w, cap_w, budget_w) VALUES (?1, ?2, ?3, ?4)", -1, &s,
	    NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_error(st, rc, "writing the history", cause);
	for (size_t i = 0; i < st->n_hist_samples; i++) {
		const struct store_site_sample *h = &st->hist_samples[i];

		sqlite3_bind_int64(s, 1, h->at_ms);
		if (h->power_w == STORE_HISTORY_NO_POWER)
			sqlite3_bind_null(s, 2);
		else
			sqlite3_bind_int64(s, 2, h->power_w);
		sqlite3_bind_int64(s, 3, h->cap_w);
		sqlite3_bind_int64(s, 4, h->budget_w);
		rc = sqlite3_step(s);
		sqlite3_reset(s);
		if (rc != SQLITE_DONE) {
			sqlite3_finalize(s);
			return store_sqlite_error(st, rc, "writing the history",
			    cause);
		}
		if (h->at_ms > *newest_ms)
			*newest_ms = h->at_ms;
	}
	sqlite3_finalize(s);
	rc = sqlite3_prepare_v2(st->db, "INSERT INTO history_changes (at_ms, "
	    "connector, setpoint_w, reason, bound_by, summary, caps) VALUES "
	    "(?1, ?2, ?3, ?4, ?5, ?6, ?7)", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_error(st, rc, "writing the history", cause);
	for (size_t i = 0; i < st->n_hist_changes; i++) {
		const struct store_hist_change *c = &st->hist_changes[i];

		sqlite3_bind_int64(s, 1, c->at_ms);
		sqlite3_bind_int(s, 2, c->connector);
		sqlite3_bind_int64(s, 3, c->setpoint_w);
		sqlite3_bind_text(s, 4, c->reason, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 5, c->bound_by, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 6, c->summary, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 7, c->caps_json, -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
		sqlite3_reset(s);
		if (rc != SQLITE_DONE) {
			sqlite3_finalize(s);
			return store_sqlite_error(st, rc, "writing the history",
			    cause);
		}
		if (c->at_ms > *newest_ms)
			*newest_ms = c->at_ms;
	}
	sqlite3_finalize(s);
	return 0;
}

/* Deletes what is past the bounds, in the open transaction. */
static int
trim(struct store *st, int64_t newest_ms, char **cause)
{
	char *sql = NULL;
	int rc;

	xasprintf(&sql, "DELETE FROM history_site WHERE at_ms < %lld; "
	    "DELETE FROM history_changes WHERE at_ms < %lld OR id <= "
	    "(SELECT max(id) FROM history_changes) - %d;",
	    (long long)(newest_ms - STORE_HISTORY_KEEP_MS),
	    (long long)(newest_ms - STORE_HISTORY_KEEP_MS),
	    STORE_HISTORY_MAX_CHANGES);
	rc = store_exec(st, sql, "trimming the history", cause);
	free(sql);
	return rc;
}

int
store_history_flush(struct store *st, int64_t now_ms, bool force,
    char **cause)
{
	int64_t newest = 0;
	int rc;

	if (st->n_hist_samples == 0 && st->n_hist_changes == 0)
		return 0;
	if (!force && st->hist_committed_once &&
	    now_ms - st->hist_last_commit_ms < STORE_HISTORY_FLUSH_MS &&
	    st->n_hist_samples + st->n_hist_changes <
	    STORE_HISTORY_PENDING_MAX)
		return 0;
	st->hist_last_commit_ms = now_ms;
	st->hist_committed_once = true;
	if ((rc = store_begin(st, cause)) != 0)
		return rc;
	if ((rc = write_batch(st, &newest, cause)) != 0 ||
	    (rc = trim(st, newest, cause)) != 0 ||
	    (rc = store_commit(st, cause)) != 0) {
		store_rollback(st);
		/* A buffer that cannot be written is bounded: the oldest
		 * rows go (history only; it is retried next interval). */
		if (st->n_hist_samples + st->n_hist_changes >=
		    2 * STORE_HISTORY_PENDING_MAX)
			store_history_free(st);
		return rc;
	}
	store_history_free(st);
	return 0;
}

int
store_history_add_sample(struct store *st, const struct store_site_sample *s,
    int64_t now_ms, char **cause)
{
	st->hist_samples = xrealloc(st->hist_samples,
	    (st->n_hist_samples + 1) * sizeof(*st->hist_samples));
	st->hist_samples[st->n_hist_samples++] = *s;
	return store_history_flush(st, now_ms, false, cause);
}

int
store_history_add_change(struct store *st,
    const struct store_setpoint_change *c, int64_t now_ms, char **cause)
{
	struct store_hist_change *h;

	st->hist_changes = xrealloc(st->hist_changes,
	    (st->n_hist_changes + 1) * sizeof(*st->hist_changes));
	h = &st->hist_changes[st->n_hist_changes++];
	h->at_ms = c->at_ms;
	h->connector = c->connector;
	h->setpoint_w = c->setpoint_w;
	h->reason = xstrdup(c->reason != NULL ? c->reason : "");
	h->bound_by = xstrdup(c->bound_by != NULL ? c->bound_by : "none");
	h->summary = xstrdup(c->summary != NULL ? c->summary : "");
	h->caps_json = xstrdup(c->caps_json != NULL ? c->caps_json : "[]");
	return store_history_flush(st, now_ms, false, cause);
}

/* Hands fn one sample when it falls in a new bucket of the range. */
struct thin {
	int64_t from_ms, bucket_ms, last_bucket;
	void (*fn)(void *arg, const struct store_site_sample *s);
	void *arg;
};

static void
thin_emit(struct thin *t, const struct store_site_sample *s)
{
	int64_t b = t->bucket_ms > 0 ? (s->at_ms - t->from_ms) / t->bucket_ms :
	    s->at_ms;

	if (t->bucket_ms > 0 && b == t->last_bucket)
		return;
	t->last_bucket = b;
	t->fn(t->arg, s);
}

int
store_history_samples(struct store *st, int64_t from_ms, int64_t to_ms,
    int max_points, void (*fn)(void *arg, const struct store_site_sample *s),
    void *arg, char **cause)
{
	struct thin t = { from_ms, 0, -1, fn, arg };
	sqlite3_stmt *s;
	int rc;

	if (to_ms < from_ms) {
		store_set_cause(cause, "history: 'to' is before 'from'");
		return STORE_ERR_INVALID;
	}
	if (max_points > 0)
		t.bucket_ms = (to_ms - from_ms) / max_points + 1;
	rc = sqlite3_prepare_v2(st->db, "SELECT at_ms, power_w, cap_w, "
	    "budget_w FROM history_site WHERE at_ms BETWEEN ?1 AND ?2 ORDER BY "
	    "at_ms", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_error(st, rc, "reading the history", cause);
	sqlite3_bind_int64(s, 1, from_ms);
	sqlite3_bind_int64(s, 2, to_ms);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_site_sample h = {
			.at_ms = sqlite3_column_int64(s, 0),
			.power_w = sqlite3_column_type(s, 1) == SQLITE_NULL ?
			    STORE_HISTORY_NO_POWER : sqlite3_column_int64(s, 1),
			.cap_w = sqlite3_column_int64(s, 2),
			.budget_w = sqlite3_column_int64(s, 3),
		};

		thin_emit(&t, &h);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return store_sqlite_error(st, rc, "reading the history", cause);
	for (size_t i = 0; i < st->n_hist_samples; i++)
		if (st->hist_samples[i].at_ms >= from_ms &&
		    st->hist_samples[i].at_ms <= to_ms)
			thin_emit(&t, &st->hist_samples[i]);
	return 0;
}

/* One buffered change as the public struct (strings borrowed). */
static struct store_setpoint_change
change_view(const struct store_hist_change *h)
{
	return (struct store_setpoint_change){ h->at_ms, h->connector,
		h->setpoint_w, h->reason, h->bound_by, h->summary, h->caps_json };
}

int
store_history_changes(struct store *st, int connector, int64_t from_ms,
    int64_t to_ms, int limit,
    void (*fn)(void *arg, const struct store_setpoint_change *c), void *arg,
    char **cause)
{
	sqlite3_stmt *s;
	int64_t buffered = 0, skip;
	int rc;

	if (to_ms < from_ms) {
		store_set_cause(cause, "history: 'to' is before 'from'");
		return STORE_ERR_INVALID;
	}
	for (size_t i = 0; i < st->n_hist_changes; i++) {
		const struct store_hist_change *h = &st->hist_changes[i];

		if ((connector == 0 || h->connector == connector) &&
		    h->at_ms >= from_ms && h->at_ms <= to_ms)
			buffered++;
	}
	/* The newest `limit`: the committed rows first (the newest of them,
	 * in order), then the buffered ones. */
	skip = limit > 0 ? buffered - limit : 0;
	rc = sqlite3_prepare_v2(st->db, "SELECT at_ms, connector, setpoint_w, "
	    "reason, bound_by, summary, caps FROM (SELECT * FROM history_changes "
	    "WHERE (?1 = 0 OR connector = ?1) AND at_ms BETWEEN ?2 AND ?3 "
	    "ORDER BY at_ms DESC, id DESC LIMIT ?4) ORDER BY at_ms, id", -1, &s,
	    NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_error(st, rc, "reading the history", cause);
	sqlite3_bind_int(s, 1, connector);
	sqlite3_bind_int64(s, 2, from_ms);
	sqlite3_bind_int64(s, 3, to_ms);
	sqlite3_bind_int64(s, 4, limit > 0 ? (skip >= 0 ? 0 : -skip) : -1);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_setpoint_change c = {
			.at_ms = sqlite3_column_int64(s, 0),
			.connector = sqlite3_column_int(s, 1),
			.setpoint_w = sqlite3_column_int64(s, 2),
			.reason = (const char *)sqlite3_column_text(s, 3),
			.bound_by = (const char *)sqlite3_column_text(s, 4),
			.summary = (const char *)sqlite3_column_text(s, 5),
			.caps_json = (const char *)sqlite3_column_text(s, 6),
		};

		fn(arg, &c);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return store_sqlite_error(st, rc, "reading the history", cause);
	for (size_t i = 0; i < st->n_hist_changes; i++) {
		const struct store_hist_change *h = &st->hist_changes[i];
		struct store_setpoint_change c;

		if ((connector != 0 && h->connector != connector) ||
		    h->at_ms < from_ms || h->at_ms > to_ms)
			continue;
		if (skip > 0) {
			skip--;
			continue;
		}
		c = change_view(h);
		fn(arg, &c);
	}
	return 0;
}
