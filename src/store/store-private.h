/* Inside the store module only: the handle, cached statements and helpers
 * shared by store.c, profiles.c, settings.c and queue.c. */
#ifndef EDGE_STORE_PRIVATE_H
#define EDGE_STORE_PRIVATE_H

#include <sqlite3.h>

#include "store/store.h"

/* The queue columns a message is read from, in row_to_msg's order. */
#define STORE_QUEUE_COLUMNS "id, kind, action, payload, connector, " \
	"created_ms, attempts"

/* Cached prepared statements, one per hot query. */
enum store_stmt {
	SQ_BEGIN,
	SQ_COMMIT,
	SQ_ROLLBACK,
	SQ_QUEUE_INSERT,
	SQ_QUEUE_PEEK,
	SQ_QUEUE_DELETE,
	SQ_QUEUE_TRIM,
	SQ_QUEUE_ATTEMPT,
	SQ_COUNTER_SET,
	SQ_PROFILE_PUT,
	SQ_SETTING_GET,
	SQ_SYNC_NORMAL,
	SQ_SYNC_FULL,
	SQ_MAX
};

/* A sampled meter value or intermediate update waiting for its batch. */
struct store_pending {
	int64_t id;
	enum store_msg_kind kind;
	char action[STORE_ACTION_MAX];
	char *payload;
	int connector;
	int64_t created_ms;
	int attempts;		/* sends counted before its flush */
};

struct store_syncer;

/* WAL pages past which the sync thread checkpoints (SQLite's default for
 * its automatic checkpoints, which the WAL hook replaces). */
#define STORE_WAL_CHECKPOINT_PAGES 1000
/* The sync thread waits this long after a request before it syncs, so
 * that the commits of a burst share one sync (and one flash write). */
#define STORE_SYNC_COALESCE_MS 10

struct store {
	sqlite3 *db;
	struct store_syncer *syncer; /* sync.c: the WAL's sync thread */
	bool sync_full;         /* the connection's synchronous is FULL */
	char *path;
	int opened_version;
	int64_t queue_max;
	int64_t meter_flush_ms;

	sqlite3_stmt *stmt[SQ_MAX];

	int64_t next_msg_id;    /* id the next queued message gets */
	int64_t committed;      /* rows in the queue table */
	int64_t dropped;        /* total dropped by the bound */
	int64_t dropped_saved;  /* value of the counter row in the file */
	int64_t commits;
	int64_t last_meter_commit_ms;
	bool meter_committed_once;
	bool flush_failed;      /* the last batch commit failed ... */
	int64_t flush_failed_ms; /* ... at this time */

	struct store_pending *pending;
	size_t n_pending;

	char *peek_payload;     /* borrowed by store_queue_peek's caller */

	/* history.c's batch: rows not yet committed. */
	struct store_site_sample *hist_samples;
	size_t n_hist_samples;
	struct store_hist_change *hist_changes;
	size_t n_hist_changes;
	int64_t hist_last_commit_ms;
	bool hist_committed_once;
};

/* A buffered setpoint change with its own copies of the strings. */
struct store_hist_change {
	int64_t at_ms;
	int connector;
	int64_t setpoint_w;
	char *reason, *bound_by, *summary, *caps_json;
};

/* Sets *cause (when cause is not NULL) to a formatted sentence. */
void store_set_cause(char **cause, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Maps an SQLite result code of st (st may be NULL) to an enum store_err
 * and sets *cause to "<what>: <sqlite message>". */
int store_sqlite_error(struct store *st, int rc, const char *what,
    char **cause);
/* Returns the cached statement for id, preparing it on first use; NULL with
 * *cause set on failure (*rc gets the store error). */
sqlite3_stmt *store_stmt(struct store *st, enum store_stmt id, int *rc,
    char **cause);
/* Runs one SQL statement text without results. */
int store_exec(struct store *st, const char *sql, const char *what,
    char **cause);
/* BEGIN IMMEDIATE / COMMIT / ROLLBACK on the handle. */
int store_begin(struct store *st, char **cause);
int store_commit(struct store *st, char **cause);
void store_rollback(struct store *st);

/* Sets key in the settings table to value as a backend value with no
 * file value (what store_setting_set(st, key, value, NULL) records), or
 * deletes the row when value is NULL or ""; runs inside the caller's open
 * transaction (or autocommit when none).  0 or an enum store_err. */
int store_state_write(struct store *st, const char *key, const char *value,
    char **cause);

/* Restores the in-memory counters after a rolled-back transaction. */
struct store_mark {
	int64_t committed;
	int64_t dropped;
};
void store_mark_take(const struct store *st, struct store_mark *m);
void store_mark_restore(struct store *st, const struct store_mark *m);

/* sync.c: starts the sync thread on its own connection and hooks the
 * main connection's commits (0 or an enum store_err); stops it after a
 * last sync of what was asked (no-op when not started). */
int store_sync_start(struct store *st, char **cause);
void store_sync_stop(struct store *st);
/* Sets the connection's synchronous to FULL (full) or NORMAL for the
 * next commits; NORMAL commits are synced by the thread.  The setting
 * stays until changed (a PRAGMA costs a parse each time): every write
 * that must be durable when it returns sets FULL first (store_begin,
 * the settings' writes), the NORMAL ones set NORMAL.  0 or an enum
 * store_err. */
int store_sync_full(struct store *st, bool full, char **cause);

/* Creates the schema of exactly this version in an empty database (tests
 * use it to build an old file); 0 or an enum store_err. */
int store_schema_create_version(sqlite3 *db, int version, char **cause);
/* The SQLite handle, for tests that count changes. */
sqlite3 *store_sqlite(struct store *st);

#endif
