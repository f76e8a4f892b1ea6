/* Settings changed from the backend, layered over the configuration file:
 * the file gives defaults; a backend value wins until the file's own value
 * for that option changes (we remember the file value seen at the time). */
#include "store/store-private.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"

/* NULL-aware string equality. */
static bool
same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == NULL && b == NULL;
	return strcmp(a, b) == 0;
}

/* Upserts (value not NULL) or deletes (value NULL) the settings row of
 * key, skipping a write that changes nothing; in autocommit mode or inside
 * the caller's transaction.  *changed gets whether a row changed. */
static int
setting_write(struct store *st, const char *key, const char *value,
    const char *file_value, bool *changed, char **cause)
{
	const char *what = value != NULL ? "saving a setting" :
	    "clearing a setting";
	sqlite3_stmt *s;
	int rc;

	*changed = false;
	/* Durable before it returns (the transaction's begin did it when
	 * there is one). */
	if ((rc = store_sync_full(st, true, cause)) != 0)
		return rc;
	if (value != NULL)
		rc = sqlite3_prepare_v2(st->db, "INSERT INTO settings (key, "
		    "value, file_value) VALUES (?1, ?2, ?3) ON CONFLICT (key) "
		    "DO UPDATE SET value = excluded.value, file_value = "
		    "excluded.file_value WHERE value IS NOT excluded.value OR "
		    "file_value IS NOT excluded.file_value", -1, &s, NULL);
	else
		rc = sqlite3_prepare_v2(st->db, "DELETE FROM settings WHERE "
		    "key = ?1", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_error(st, rc, what, cause);
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	if (value != NULL) {
		sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC);
		if (file_value != NULL)
			sqlite3_bind_text(s, 3, file_value, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(s, 3);
	}
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return store_sqlite_error(st, rc, what, cause);
	*changed = sqlite3_changes(st->db) > 0;
	return 0;
}

int
store_setting_set(struct store *st, const char *key, const char *value,
    const char *file_value, char **cause)
{
	bool changed;
	int rc;

	if (key == NULL || key[0] == '\0' || value == NULL) {
		store_set_cause(cause, "setting: key must not be empty and "
		    "value must be given");
		return STORE_ERR_INVALID;
	}
	/* Skips the write when the same override is already recorded. */
	rc = setting_write(st, key, value, file_value, &changed, cause);
	if (rc == 0 && changed)
		st->commits++;
	return rc;
}

int
store_setting_clear(struct store *st, const char *key, char **cause)
{
	bool changed;
	int rc;

	if (key == NULL) {
		store_set_cause(cause, "setting: key must be given");
		return STORE_ERR_INVALID;
	}
	rc = setting_write(st, key, NULL, NULL, &changed, cause);
	if (rc == 0 && changed)
		st->commits++;
	return rc;
}

int
store_state_write(struct store *st, const char *key, const char *value,
    char **cause)
{
	bool changed;

	if (key == NULL || key[0] == '\0') {
		store_set_cause(cause, "state key must not be empty");
		return STORE_ERR_INVALID;
	}
	if (value != NULL && value[0] == '\0')
		value = NULL; /* "" deletes, as the session's ops say */
	return setting_write(st, key, value, NULL, &changed, cause);
}

/* The file's value for key in the list given at start (NULL = not set). */
static const char *
file_value_of(const struct store_kv *file, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (file[i].key != NULL && strcmp(file[i].key, key) == 0)
			return file[i].value;
	return NULL;
}

struct stale_list {
	char **keys;
	size_t n;
	const struct store_kv *file;
	size_t n_file;
};

/* Collects the keys whose file value changed since their override. */
static int
collect_stale(const char *key, const char *value, const char *file_value,
    void *arg)
{
	struct stale_list *l = arg;

	if (!same(file_value, file_value_of(l->file, l->n_file, key))) {
		l->keys = xrealloc(l->keys, (l->n + 1) * sizeof(*l->keys));
		l->keys[l->n++] = xstrdup(key);
	}
	return 0;
}

int
store_settings_reconcile(struct store *st, const struct store_kv *file,
    size_t n_file, int *dropped, char **cause)
{
	struct stale_list l = { NULL, 0, file, n_file };
	struct store_mark m;
	sqlite3_stmt *s = NULL;
	int rc;

	if (dropped != NULL)
		*dropped = 0;
	if ((rc = store_setting_foreach(st, collect_stale, &l, cause)) != 0)
		goto out;
	if (l.n == 0)
		goto out;
	store_mark_take(st, &m);
	if ((rc = store_begin(st, cause)) != 0)
		goto out;
	rc = sqlite3_prepare_v2(st->db, "DELETE FROM settings WHERE key = ?1",
	    -1, &s, NULL);
	if (rc != SQLITE_OK)
		rc = store_sqlite_error(st, rc, "dropping overrides", cause);
	for (size_t i = 0; rc == 0 && i < l.n; i++) {
		sqlite3_reset(s);
		sqlite3_bind_text(s, 1, l.keys[i], -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
		rc = rc == SQLITE_DONE ? 0 :
		    store_sqlite_error(st, rc, "dropping overrides", cause);
	}
	sqlite3_finalize(s);
	if (rc == 0)
		rc = store_commit(st, cause);
	if (rc != 0) {
		store_rollback(st);
		store_mark_restore(st, &m);
	} else if (dropped != NULL) {
		*dropped = (int)l.n;
	}
out:
	for (size_t i = 0; i < l.n; i++)
		free(l.keys[i]);
	free(l.keys);
	return rc;
}

int
store_setting_get(struct store *st, const char *key, const char *file_value,
    char **value, enum store_setting_source *source, char **cause)
{
	sqlite3_stmt *s;
	int rc;

	*value = NULL;
	if (source != NULL)
		*source = STORE_SETTING_FILE;
	if ((s = store_stmt(st, SQ_SETTING_GET, &rc, cause)) == NULL)
		return rc;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && same((const char *)sqlite3_column_text(s, 1),
	    file_value)) {
		*value = xstrdup((const char *)sqlite3_column_text(s, 0));
		if (source != NULL)
			*source = STORE_SETTING_BACKEND;
		rc = SQLITE_DONE;
	} else if (rc == SQLITE_ROW) {
		rc = SQLITE_DONE; /* the file changed: its value wins */
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return store_sqlite_error(st, rc, "reading a setting", cause);
	if (*value == NULL && file_value != NULL)
		*value = xstrdup(file_value);
	return 0;
}

int
store_setting_foreach(struct store *st,
    int (*fn)(const char *key, const char *value, const char *file_value,
        void *arg), void *arg, char **cause)
{
	sqlite3_stmt *s;
	int rc, r = 0;

	rc = sqlite3_prepare_v2(st->db, "SELECT key, value, file_value FROM "
	    "settings ORDER BY key", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_error(st, rc, "listing settings", cause);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		r = fn((const char *)sqlite3_column_text(s, 0),
		    (const char *)sqlite3_column_text(s, 1),
		    (const char *)sqlite3_column_text(s, 2), arg);
		if (r != 0)
			break;
	}
	sqlite3_finalize(s);
	if (r != 0)
		return r;
	if (rc != SQLITE_DONE)
		return store_sqlite_error(st, rc, "listing settings", cause);
	return 0;
}
