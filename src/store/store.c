/* The store's handle: opening and refusing files, schema versions and
 * migrations, error mapping, transactions and the statement cache. */
#define _GNU_SOURCE
#include "store/store-private.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"

/* SQLite's page cache, KiB (see set_cache). */
#define STORE_CACHE_KIB 256

const char *
store_strerror(int code)
{
	switch ((enum store_err)code) {
	case STORE_OK:
		return "success";
	case STORE_ERR_INVALID:
		return "invalid argument";
	case STORE_ERR_IO:
		return "input/output error";
	case STORE_ERR_READONLY:
		return "database or its directory is not writable";
	case STORE_ERR_FULL:
		return "disk full or database size limit reached";
	case STORE_ERR_NOT_DATABASE:
		return "file is not a database";
	case STORE_ERR_FOREIGN:
		return "database belongs to another application";
	case STORE_ERR_TOO_NEW:
		return "database schema is newer than this program";
	case STORE_ERR_CORRUPT:
		return "database is corrupt";
	case STORE_ERR_BUSY:
		return "database is locked by another process";
	case STORE_ERR_NOT_FOUND:
		return "no such record";
	case STORE_ERR_INTERNAL:
		return "unexpected database error";
	}
	return "unknown store error";
}

void
store_set_cause(char **cause, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (cause == NULL)
		return;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = xstrdup("(out of memory formatting an error)");
	va_end(ap);
	free(*cause);
	*cause = s;
}

/* Maps a primary/extended SQLite code plus the OS errno to our codes. */
static int
map_sqlite(int rc, int sys_errno)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return STORE_OK;
	case SQLITE_FULL:
		return STORE_ERR_FULL;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return STORE_ERR_READONLY;
	case SQLITE_NOTADB:
		return STORE_ERR_NOT_DATABASE;
	case SQLITE_CORRUPT:
		return STORE_ERR_CORRUPT;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return STORE_ERR_BUSY;
	case SQLITE_CANTOPEN:
	case SQLITE_IOERR:
		if (sys_errno == ENOSPC || sys_errno == EDQUOT)
			return STORE_ERR_FULL;
		if (sys_errno == EACCES || sys_errno == EPERM ||
		    sys_errno == EROFS)
			return STORE_ERR_READONLY;
		return STORE_ERR_IO;
	default:
		return STORE_ERR_INTERNAL;
	}
}

int
store_sqlite_error(struct store *st, int rc, const char *what, char **cause)
{
	int sys = 0, code;
	const char *msg = sqlite3_errstr(rc);

	if (st != NULL && st->db != NULL) {
		sys = sqlite3_system_errno(st->db);
		msg = sqlite3_errmsg(st->db);
	}
	code = map_sqlite(rc, sys);
	if (code == STORE_OK)
		code = STORE_ERR_INTERNAL;
	if (sys != 0 && (code == STORE_ERR_IO || code == STORE_ERR_FULL ||
	    code == STORE_ERR_READONLY))
		store_set_cause(cause, "%s%s%s: %s (%s)",
		    st != NULL && st->path != NULL ? st->path : "",
		    st != NULL && st->path != NULL ? ": " : "", what, msg,
		    strerror(sys));
	else
		store_set_cause(cause, "%s%s%s: %s",
		    st != NULL && st->path != NULL ? st->path : "",
		    st != NULL && st->path != NULL ? ": " : "", what, msg);
	log_debug("store", "%s failed: rc %d (%s)", what, rc, msg);
	return code;
}

/* SQL text of every cached statement. */
static const char *const stmt_sql[SQ_MAX] = {
	[SQ_BEGIN] = "BEGIN IMMEDIATE",
	[SQ_COMMIT] = "COMMIT",
	[SQ_ROLLBACK] = "ROLLBACK",
	[SQ_QUEUE_INSERT] = "INSERT INTO queue (id, kind, action, payload, "
	    "connector, created_ms, attempts) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[SQ_QUEUE_PEEK] = "SELECT " STORE_QUEUE_COLUMNS " FROM queue "
	    "ORDER BY id LIMIT 1",
	[SQ_QUEUE_DELETE] = "DELETE FROM queue WHERE id = ?1",
	[SQ_QUEUE_TRIM] = "DELETE FROM queue WHERE id IN (SELECT id FROM "
	    "queue WHERE kind IN (2, 3) AND attempts = 0 ORDER BY id "
	    "LIMIT ?1)",
	[SQ_QUEUE_ATTEMPT] = "UPDATE queue SET attempts = attempts + 1 "
	    "WHERE id = ?1",
	[SQ_COUNTER_SET] = "UPDATE counters SET value = ?2 WHERE name = ?1",
	/* Writes only when the stored row differs in some field: one
	 * statement, one transaction, nothing written for a profile sent
	 * again unchanged (an upsert: no temporary table, as an INSERT ...
	 * SELECT from the same table would need). */
	[SQ_PROFILE_PUT] = "INSERT INTO profiles (id, connector, purpose, "
	    "stack_level, tx_id, json, valid_from_ms, valid_to_ms) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (id) DO "
	    "UPDATE SET connector = excluded.connector, purpose = "
	    "excluded.purpose, stack_level = excluded.stack_level, tx_id = "
	    "excluded.tx_id, json = excluded.json, valid_from_ms = "
	    "excluded.valid_from_ms, valid_to_ms = excluded.valid_to_ms "
	    "WHERE connector IS NOT excluded.connector OR purpose IS NOT "
	    "excluded.purpose OR stack_level IS NOT excluded.stack_level OR "
	    "tx_id IS NOT excluded.tx_id OR json IS NOT excluded.json OR "
	    "valid_from_ms IS NOT excluded.valid_from_ms OR valid_to_ms IS "
	    "NOT excluded.valid_to_ms",
	[SQ_SETTING_GET] = "SELECT value, file_value FROM settings "
	    "WHERE key = ?1",
	[SQ_SYNC_NORMAL] = "PRAGMA synchronous = NORMAL",
	[SQ_SYNC_FULL] = "PRAGMA synchronous = FULL",
};

sqlite3_stmt *
store_stmt(struct store *st, enum store_stmt id, int *rc, char **cause)
{
	int r;

	if (st->stmt[id] != NULL) {
		sqlite3_reset(st->stmt[id]);
		sqlite3_clear_bindings(st->stmt[id]);
		return st->stmt[id];
	}
	r = sqlite3_prepare_v3(st->db, stmt_sql[id], -1,
	    SQLITE_PREPARE_PERSISTENT, &st->stmt[id], NULL);
	if (r != SQLITE_OK) {
		*rc = store_sqlite_error(st, r, "preparing a query", cause);
		st->stmt[id] = NULL;
		return NULL;
	}
	return st->stmt[id];
}

int
store_exec(struct store *st, const char *sql, const char *what, char **cause)
{
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return store_sqlite_error(st, rc, what, cause);
	return 0;
}

/* Steps a cached statement that returns no rows. */
static int
step_done(struct store *st, enum store_stmt id, const char *what,
    char **cause)
{
	int rc = 0;
	sqlite3_stmt *s = store_stmt(st, id, &rc, cause);

	if (s == NULL)
		return rc;
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return store_sqlite_error(st, rc, what, cause);
	return 0;
}

int
store_begin(struct store *st, char **cause)
{
	int rc;

	/* Transactions commit durably before they return. */
	if ((rc = store_sync_full(st, true, cause)) != 0)
		return rc;
	return step_done(st, SQ_BEGIN, "starting a transaction", cause);
}

int
store_commit(struct store *st, char **cause)
{
	int rc = step_done(st, SQ_COMMIT, "committing", cause);

	if (rc == 0)
		st->commits++;
	return rc;
}

void
store_rollback(struct store *st)
{
	/* After some errors SQLite has already rolled back; that is fine. */
	if (!sqlite3_get_autocommit(st->db))
		(void)step_done(st, SQ_ROLLBACK, "rolling back", NULL);
}

void
store_mark_take(const struct store *st, struct store_mark *m)
{
	m->committed = st->committed;
	m->dropped = st->dropped;
}

void
store_mark_restore(struct store *st, const struct store_mark *m)
{
	st->committed = m->committed;
	st->dropped = m->dropped;
}

sqlite3 *
store_sqlite(struct store *st)
{
	return st->db;
}

int
store_opened_version(const struct store *st)
{
	return st->opened_version;
}

/* ---- Schema. ---- */

/* Version 1: profiles, settings, transactions and an unbounded queue. */
static const char schema_v1[] =
	"CREATE TABLE profiles ("
	" id INTEGER PRIMARY KEY,"
	" connector INTEGER NOT NULL,"
	" purpose TEXT NOT NULL,"
	" stack_level INTEGER NOT NULL,"
	" tx_id TEXT,"
	" json TEXT NOT NULL,"
	" valid_from_ms INTEGER NOT NULL DEFAULT 0,"
	" valid_to_ms INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE settings ("
	" key TEXT PRIMARY KEY NOT NULL,"
	" value TEXT NOT NULL,"
	" file_value TEXT) WITHOUT ROWID;"
	"CREATE TABLE transactions ("
	" ref INTEGER PRIMARY KEY AUTOINCREMENT,"
	" tx_id TEXT NOT NULL DEFAULT '',"
	" connector INTEGER NOT NULL,"
	" id_token TEXT NOT NULL,"
	" meter_start_wh INTEGER NOT NULL,"
	" meter_stop_wh INTEGER NOT NULL DEFAULT -1,"
	" seq_no INTEGER NOT NULL DEFAULT 0,"
	" state INTEGER NOT NULL,"
	" started_ms INTEGER NOT NULL,"
	" stopped_ms INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE queue ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" kind INTEGER NOT NULL,"
	" action TEXT NOT NULL,"
	" payload TEXT NOT NULL,"
	" connector INTEGER NOT NULL,"
	" tx_ref INTEGER,"
	" created_ms INTEGER NOT NULL,"
	" attempts INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX queue_tx ON queue(tx_ref) WHERE tx_ref IS NOT NULL;";

/* Version 2: the bounded queue.  Messages carry their 2.0.1 seqNo, an
 * index finds the oldest droppable message, a counter keeps the drops. */
static const char schema_v2[] =
	"ALTER TABLE queue ADD COLUMN seq_no INTEGER NOT NULL DEFAULT -1;"
	"CREATE INDEX queue_droppable ON queue(id) WHERE kind IN (2, 3);"
	"CREATE TABLE counters ("
	" name TEXT PRIMARY KEY NOT NULL,"
	" value INTEGER NOT NULL) WITHOUT ROWID;"
	"INSERT INTO counters (name, value) VALUES ('queue_dropped', 0);";

/* Version 3: the site's history (history.c): a site sample every 10 s
 * and every setpoint change with its reason and binding cap. */
static const char schema_v3[] =
	"CREATE TABLE history_site ("
	" at_ms INTEGER PRIMARY KEY,"
	" power_w INTEGER,"
	" cap_w INTEGER NOT NULL,"
	" budget_w INTEGER NOT NULL);"
	"CREATE TABLE history_changes ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" at_ms INTEGER NOT NULL,"
	" connector INTEGER NOT NULL,"
	" setpoint_w INTEGER NOT NULL,"
	" reason TEXT NOT NULL,"
	" bound_by TEXT NOT NULL,"
	" summary TEXT NOT NULL,"
	" caps TEXT NOT NULL);"
	"CREATE INDEX history_changes_at ON history_changes(connector, at_ms);";

/* Version 4: one place for open transactions.  The OCPP session keeps each
 * connector's open transaction in its state row (settings, `ocpp.state.*`),
 * written with the queue; the transactions table and the queue's link to it
 * (tx_ref) and copy of the seqNo were never written by the daemon and go. */
static const char schema_v4[] =
	"DROP INDEX queue_tx;"
	"ALTER TABLE queue DROP COLUMN tx_ref;"
	"ALTER TABLE queue DROP COLUMN seq_no;"
	"DROP TABLE transactions;";

static const char *const migrations[] = {
	NULL, /* version 0: the empty file */
	schema_v1,
	schema_v2,
	schema_v3,
	schema_v4,
};

int
store_schema_create_version(sqlite3 *db, int version, char **cause)
{
	char *sql = NULL;
	int rc;

	if (version < 1 || version > STORE_SCHEMA_VERSION) {
		store_set_cause(cause, "schema version %d out of range 1..%d",
		    version, STORE_SCHEMA_VERSION);
		return STORE_ERR_INVALID;
	}
	for (int v = 1; v <= version; v++) {
		rc = sqlite3_exec(db, migrations[v], NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			store_set_cause(cause, "creating schema version %d: %s",
			    v, sqlite3_errmsg(db));
			return map_sqlite(rc, sqlite3_system_errno(db));
		}
	}
	xasprintf(&sql, "PRAGMA application_id = %d; PRAGMA user_version = %d;",
	    (int)STORE_APPLICATION_ID, version);
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	free(sql);
	if (rc != SQLITE_OK) {
		store_set_cause(cause, "setting the schema version: %s",
		    sqlite3_errmsg(db));
		return map_sqlite(rc, sqlite3_system_errno(db));
	}
	return 0;
}

/* Reads one integer from a single-row query. */
static int
query_int(struct store *st, const char *sql, int64_t *out, char **cause)
{
	sqlite3_stmt *s;
	int rc;

	rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_error(st, rc, "reading the header", cause);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(s, 0);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		*out = 0;
		rc = SQLITE_OK;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_OK)
		return store_sqlite_error(st, rc, "reading the header", cause);
	return 0;
}

/* PRAGMA quick_check: refuses a file whose pages do not add up. */
static int
check_integrity(struct store *st, char **cause)
{
	sqlite3_stmt *s;
	const unsigned char *text;
	int rc;

	rc = sqlite3_prepare_v2(st->db, "PRAGMA quick_check(1)", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_error(st, rc, "checking integrity", cause);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(s);
		return store_sqlite_error(st, rc, "checking integrity", cause);
	}
	text = sqlite3_column_text(s, 0);
	if (text == NULL || strcmp((const char *)text, "ok") != 0) {
		store_set_cause(cause, "%s: integrity check failed (%s); "
		    "the file is left untouched: restore it from a backup or "
		    "move it away to start with an empty store", st->path,
		    text != NULL ? (const char *)text : "no answer");
		sqlite3_finalize(s);
		return STORE_ERR_CORRUPT;
	}
	sqlite3_finalize(s);
	return 0;
}

/* Decides whether the file is ours, new, foreign or too new; sets
 * st->opened_version. */
static int
identify(struct store *st, char **cause)
{
	int64_t app_id, version, objects;
	int rc;

	if ((rc = query_int(st, "PRAGMA application_id", &app_id, cause)) != 0 ||
	    (rc = query_int(st, "PRAGMA user_version", &version, cause)) != 0 ||
	    (rc = query_int(st, "SELECT count(*) FROM sqlite_master",
	    &objects, cause)) != 0) {
		if (rc == STORE_ERR_NOT_DATABASE)
			store_set_cause(cause, "%s: not an SQLite database "
			    "(refusing to overwrite it; check store.path)",
			    st->path);
		return rc;
	}
	if ((uint32_t)app_id == STORE_APPLICATION_ID) {
		if (version > STORE_SCHEMA_VERSION) {
			store_set_cause(cause, "%s: schema version %lld is newer "
			    "than this program knows (1..%d); upgrade the "
			    "program or restore an older database", st->path,
			    (long long)version, STORE_SCHEMA_VERSION);
			return STORE_ERR_TOO_NEW;
		}
		if (version < 1) {
			store_set_cause(cause, "%s: our application id but schema "
			    "version %lld (valid 1..%d)", st->path,
			    (long long)version, STORE_SCHEMA_VERSION);
			return STORE_ERR_CORRUPT;
		}
		st->opened_version = (int)version;
		return 0;
	}
	if (app_id == 0 && version == 0 && objects == 0) {
		st->opened_version = 0;
		return 0;
	}
	store_set_cause(cause, "%s: an SQLite database of another application "
	    "(application_id 0x%08x, user_version %lld, %lld schema objects; "
	    "ours is 0x%08x); refusing to touch it", st->path,
	    (unsigned)app_id, (long long)version, (long long)objects,
	    (unsigned)STORE_APPLICATION_ID);
	return STORE_ERR_FOREIGN;
}

/* Applies the migrations from st->opened_version up, in one transaction. */
static int
migrate(struct store *st, char **cause)
{
	char *sql = NULL;
	int rc;

	if (st->opened_version == STORE_SCHEMA_VERSION)
		return 0;
	if ((rc = store_exec(st, "BEGIN IMMEDIATE", "starting the migration",
	    cause)) != 0)
		return rc;
	for (int v = st->opened_version + 1; v <= STORE_SCHEMA_VERSION; v++) {
		rc = sqlite3_exec(st->db, migrations[v], NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			char what[64];
			snprintf(what, sizeof(what), "migrating to version %d", v);
			rc = store_sqlite_error(st, rc, what, cause);
			store_rollback(st);
			return rc;
		}
	}
	xasprintf(&sql, "PRAGMA application_id = %d; PRAGMA user_version = %d;",
	    (int)STORE_APPLICATION_ID, STORE_SCHEMA_VERSION);
	rc = store_exec(st, sql, "setting the schema version", cause);
	free(sql);
	if (rc == 0)
		rc = store_exec(st, "COMMIT", "committing the migration", cause);
	if (rc != 0) {
		store_rollback(st);
		return rc;
	}
	log_debug("store", "migrated %s from version %d to %d", st->path,
	    st->opened_version, STORE_SCHEMA_VERSION);
	return 0;
}

/* Loads the queue counters kept in memory. */
static int
load_state(struct store *st, char **cause)
{
	int64_t max_id, seq;
	int rc;

	if ((rc = query_int(st, "SELECT count(*) FROM queue", &st->committed,
	    cause)) != 0 ||
	    (rc = query_int(st, "SELECT coalesce(max(id), 0) FROM queue",
	    &max_id, cause)) != 0 ||
	    (rc = query_int(st, "SELECT coalesce(max(seq), 0) FROM "
	    "sqlite_sequence WHERE name = 'queue'", &seq, cause)) != 0 ||
	    (rc = query_int(st, "SELECT value FROM counters WHERE "
	    "name = 'queue_dropped'", &st->dropped, cause)) != 0)
		return rc;
	st->dropped_saved = st->dropped;
	st->next_msg_id = (max_id > seq ? max_id : seq) + 1;
	return 0;
}

/* Checks the options and copies them with defaults applied. */
static int
apply_options(struct store *st, const struct store_options *opt,
    char **cause)
{
	struct store_options o = { 0, 0, 0 };

	if (opt != NULL)
		o = *opt;
	if (o.queue_max == 0)
		o.queue_max = STORE_QUEUE_DEFAULT_MAX;
	if (o.meter_flush_ms == 0)
		o.meter_flush_ms = STORE_METER_FLUSH_MS;
	if (o.queue_max < 1 || o.queue_max > 100000000) {
		store_set_cause(cause, "queue bound %lld out of range "
		    "1..100000000 messages", (long long)o.queue_max);
		return STORE_ERR_INVALID;
	}
	if (o.meter_flush_ms < 1 || o.meter_flush_ms > 60000) {
		store_set_cause(cause, "meter flush interval %lld ms out of "
		    "range 1..60000 ms", (long long)o.meter_flush_ms);
		return STORE_ERR_INVALID;
	}
	if (o.max_db_bytes != 0 && (o.max_db_bytes < 65536 ||
	    o.max_db_bytes > ((int64_t)1 << 40))) {
		store_set_cause(cause, "database size limit %lld bytes out of "
		    "range 65536..%lld (or 0 for none)",
		    (long long)o.max_db_bytes, (long long)1 << 40);
		return STORE_ERR_INVALID;
	}
	st->queue_max = o.queue_max;
	st->meter_flush_ms = o.meter_flush_ms;
	if (o.max_db_bytes != 0) {
		char sql[96];
		int64_t page_size = 0;
		int rc;

		if ((rc = query_int(st, "PRAGMA page_size", &page_size,
		    cause)) != 0)
			return rc;
		if (page_size <= 0)
			page_size = 4096;
		snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld",
		    (long long)(o.max_db_bytes / page_size));
		if ((rc = store_exec(st, sql, "setting the size limit",
		    cause)) != 0)
			return rc;
	}
	return 0;
}

/* Switches the file to WAL (checking that it took) and FULL sync. */
static int
set_journal(struct store *st, char **cause)
{
	sqlite3_stmt *s;
	const unsigned char *mode;
	int rc;

	rc = sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = WAL", -1, &s,
	    NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_error(st, rc, "enabling WAL", cause);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(s);
		return store_sqlite_error(st, rc, "enabling WAL", cause);
	}
	mode = sqlite3_column_text(s, 0);
	if (mode == NULL || strcmp((const char *)mode, "wal") != 0) {
		store_set_cause(cause, "%s: could not switch to WAL mode "
		    "(journal mode stays %s); is the directory writable?",
		    st->path, mode != NULL ? (const char *)mode : "unknown");
		sqlite3_finalize(s);
		return STORE_ERR_READONLY;
	}
	sqlite3_finalize(s);
	return store_exec(st, "PRAGMA synchronous = FULL",
	    "setting synchronous=FULL", cause);
}

/* Bounds SQLite's page cache: its default (2000 KiB) fills up within
 * minutes as the queue and the history turn over, and stays resident.  The kernel keeps the file's pages cached anyway, so a page
 * read again costs a copy, not a disk access. */
static int
set_cache(struct store *st, char **cause)
{
	char sql[48];

	snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%d",
	    STORE_CACHE_KIB);
	return store_exec(st, sql, "bounding the page cache", cause);
}

/* Explains a failed sqlite3_open_v2: SQLite reports the last errno of its
 * fallbacks, so look at the directory ourselves. */
static int
open_error(struct store *st, int rc, char **cause)
{
	char *dir = xstrdup(st->path), *slash = strrchr(dir, '/');
	struct stat sb;
	int code;

	if (slash == dir)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	else
		strcpy(dir, ".");
	code = store_sqlite_error(st, rc, "opening", cause);
	if (stat(st->path, &sb) != 0 && errno == ENOENT) {
		if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
			store_set_cause(cause, "%s: cannot create the database: "
			    "directory %s does not exist", st->path, dir);
			code = STORE_ERR_IO;
		} else if (access(dir, W_OK) != 0) {
			store_set_cause(cause, "%s: cannot create the database: "
			    "directory %s is not writable", st->path, dir);
			code = STORE_ERR_READONLY;
		}
	}
	free(dir);
	return code;
}

int
store_open(const char *path, const struct store_options *opt,
    struct store **out, char **cause)
{
	struct store *st;
	int rc;

	*out = NULL;
	if (path == NULL || *path == '\0') {
		store_set_cause(cause, "store path is empty");
		return STORE_ERR_INVALID;
	}
	st = xcalloc(1, sizeof(*st));
	st->path = xstrdup(path);
	rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		rc = open_error(st, rc, cause);
		goto fail;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, 200);
	if (sqlite3_db_readonly(st->db, "main") == 1) {
		store_set_cause(cause, "%s: the file is not writable (check "
		    "its owner and mode)", path);
		rc = STORE_ERR_READONLY;
		goto fail;
	}
	if ((rc = identify(st, cause)) != 0)
		goto fail;
	if (st->opened_version > 0 && (rc = check_integrity(st, cause)) != 0)
		goto fail;
	if ((rc = set_journal(st, cause)) != 0 ||
	    (rc = set_cache(st, cause)) != 0 ||
	    (rc = apply_options(st, opt, cause)) != 0 ||
	    (rc = migrate(st, cause)) != 0 ||
	    (rc = load_state(st, cause)) != 0 ||
	    (rc = store_sync_start(st, cause)) != 0)
		goto fail;
	log_debug("store", "opened %s (schema %d, %lld queued, %lld dropped)",
	    path, st->opened_version, (long long)st->committed,
	    (long long)st->dropped);
	*out = st;
	return 0;

fail:
	if (rc == STORE_ERR_READONLY && cause != NULL && *cause != NULL &&
	    strstr(*cause, "not writable") == NULL) {
		char *detail = *cause;

		*cause = NULL;
		store_set_cause(cause, "%s: not writable: the file and its "
		    "directory must be writable, SQLite keeps %s-wal and %s-shm "
		    "beside it (%s)", path, path, path, detail);
		free(detail);
	}
	store_close(st);
	return rc;
}

int
store_close(struct store *st)
{
	int rc = 0, hrc = 0;

	if (st == NULL)
		return 0;
	if (st->db != NULL && st->n_pending > 0)
		rc = store_flush(st, 0, true, NULL);
	if (st->db != NULL)
		hrc = store_history_flush(st, 0, true, NULL);
	if (rc == 0)
		rc = hrc;
	store_sync_stop(st);
	store_history_free(st);
	for (size_t i = 0; i < st->n_pending; i++)
		free(st->pending[i].payload);
	free(st->pending);
	for (int i = 0; i < SQ_MAX; i++)
		sqlite3_finalize(st->stmt[i]);
	if (st->db != NULL)
		sqlite3_close(st->db);
	free(st->peek_payload);
	free(st->path);
	free(st);
	return rc;
}
