/* The durable store: one SQLite database holding what must survive a crash,
 * a kill -9 or a power cut: charging profiles, settings changed from the
 * backend, the OCPP session's state (its open transactions among it) and
 * the outgoing message queue.
 *
 * Threading: a struct store belongs to the one thread that opened it (the
 * daemon's event loop); each call is one short SQLite transaction.  Another
 * thread must open its own handle.  The handle runs one thread of its own
 * (sync.c) that syncs the WAL after the commits that do not wait for it
 * (profiles) and checkpoints it; the calls never wait for that thread
 * except store_sync_wait() and store_close().
 *
 * Time is always passed in: now_ms is monotonic milliseconds (for the
 * batching interval), created_ms and the like are epoch milliseconds that
 * are only stored.  The store never reads a clock.
 *
 * One process owns the file: the handle keeps queue counters in memory.
 * The *_foreach() callbacks must not call into the store.
 *
 * Errors: functions return 0 or a negative enum store_err; store_strerror()
 * names the code and the optional char **cause receives a sentence for
 * people (caller frees).  Nothing here logs above debug. */
#ifndef EDGE_STORE_H
#define EDGE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

enum store_err {
	STORE_OK = 0,
	STORE_ERR_INVALID = -1,      /* bad argument (what and valid range in cause) */
	STORE_ERR_IO = -2,           /* the operating system failed a read/write */
	STORE_ERR_READONLY = -3,     /* file or directory not writable */
	STORE_ERR_FULL = -4,         /* disk full or the size limit reached */
	STORE_ERR_NOT_DATABASE = -5, /* the file is not an SQLite database */
	STORE_ERR_FOREIGN = -6,      /* an SQLite database of another application */
	STORE_ERR_TOO_NEW = -7,      /* written by a newer version of this program */
	STORE_ERR_CORRUPT = -8,      /* the database failed its integrity check */
	STORE_ERR_BUSY = -9,         /* locked by another process */
	STORE_ERR_NOT_FOUND = -10,   /* no such profile or message */
	STORE_ERR_INTERNAL = -11,    /* an unexpected SQLite error (see cause) */
};

/* Returns a constant description of an enum store_err code. */
const char *store_strerror(int code);

/* Schema version this build writes (PRAGMA user_version). */
#define STORE_SCHEMA_VERSION 4
/* PRAGMA application_id that marks our databases ("OCEG"). */
#define STORE_APPLICATION_ID 0x4f434547

/* Default queue bound: 24 h of 200 chargers sampled every 60 s is
 * 200 * 1440 = 288,000 meter-value messages; rounded up. */
#define STORE_QUEUE_DEFAULT_MAX 300000
/* Sampled meter values are committed at most once per this interval... */
#define STORE_METER_FLUSH_MS 1000
/* ...or sooner when this many wait in memory. */
#define STORE_PENDING_MAX 4096

struct store_options {
	/* Queue bound in messages; 0 = STORE_QUEUE_DEFAULT_MAX.  Valid 1 ..
	 * 100,000,000. */
	int64_t queue_max;
	/* Minimum time between two commits of sampled meter values;
	 * 0 = STORE_METER_FLUSH_MS.  Valid 1 .. 60,000 ms. */
	int64_t meter_flush_ms;
	/* Largest database file in bytes (PRAGMA max_page_count); writes
	 * beyond it fail with STORE_ERR_FULL as on a full disk.  0 = no limit
	 * of our own.  Valid 0 or 65,536 .. 2^40. */
	int64_t max_db_bytes;
};

/* Opens (creating when absent) the database at path, migrates an older
 * schema forward and checks its integrity.  Refuses, never resets, a file
 * that is not a database, another application's database, a newer schema
 * or a corrupt file.  opt may be NULL for defaults.  On success *out is a
 * handle the caller closes with store_close(). */
int store_open(const char *path, const struct store_options *opt,
    struct store **out, char **cause);
/* Commits any buffered meter values and history and closes the handle
 * (NULL is a no-op).  Returns 0 or the error of the first failed commit
 * (the handle is freed anyway). */
int store_close(struct store *st);

/* Schema version found in the file before store_open() migrated it (0 for
 * a new file). */
int store_opened_version(const struct store *st);

/* Durability: a commit is in the WAL file when its call returns, so it
 * survives a crash or kill -9 of the process.  Most commits also wait for
 * the WAL to reach stable storage (synchronous=FULL); profile puts and
 * deletes and attempt counters do not: the handle's sync thread syncs the
 * WAL 10 ms after the first of them, one sync for all the commits made
 * until it starts, so a power cut loses at most the ones made in the
 * window before it (10 ms plus a sync's duration; window_max_us says the
 * longest seen). */
struct store_sync_stats {
	int64_t pending;   /* commits not yet known to be on stable storage */
	int64_t syncs;     /* WAL syncs the thread made */
	int64_t failures;  /* of them, failed (the next commit asks again) */
	int64_t window_max_us; /* longest time from a commit to its sync */
};
/* Fills *out (takes the sync thread's lock for a moment). */
void store_sync_stats(struct store *st, struct store_sync_stats *out);
/* Waits until every commit made so far is on stable storage (for tests
 * and benches; the daemon never waits). */
void store_sync_wait(struct store *st);

/* ---- Charging profiles, as the backend sent them. ---- */

struct store_profile {
	int64_t id;            /* chargingProfileId (key) */
	int connector;         /* connector (1.6) / EVSE (2.0.1); 0 = station */
	const char *purpose;   /* chargingProfilePurpose, e.g. "TxDefaultProfile" */
	int stack_level;       /* >= 0 */
	const char *tx_id;     /* transactionId it is bound to, or NULL */
	const char *json;      /* the profile's JSON text as received */
	int64_t valid_from_ms; /* epoch ms; 0 = not given */
	int64_t valid_to_ms;   /* epoch ms; 0 = not given */
};

/* Inserts or replaces the profile with p->id.  When an identical profile is
 * already stored nothing is written and *changed (optional) is false. */
int store_profile_put(struct store *st, const struct store_profile *p,
    bool *changed, char **cause);
/* Deletes the profile with this id; *deleted (optional) gets 0 or 1. */
int store_profile_delete(struct store *st, int64_t id, int *deleted,
    char **cause);

/* Matches profiles for a delete; each field may be "any". */
struct store_profile_filter {
	int connector;       /* -1 = any */
	const char *purpose; /* NULL = any */
	int stack_level;     /* -1 = any */
};
/* Deletes every profile matching f; *deleted (optional) gets the count. */
int store_profile_delete_matching(struct store *st,
    const struct store_profile_filter *f, int *deleted, char **cause);
/* Calls fn for every stored profile, ordered by connector, purpose, stack
 * level, id.  The profile is borrowed for the duration of the call.  A
 * non-zero return from fn stops the walk and is returned. */
int store_profile_foreach(struct store *st,
    int (*fn)(const struct store_profile *p, void *arg), void *arg,
    char **cause);

/* ---- Settings changed from the backend, layered over the file. ---- */

enum store_setting_source {
	STORE_SETTING_FILE = 0,    /* the configuration file's value */
	STORE_SETTING_BACKEND = 1, /* a backend override in force */
};

/* Records a value set by the backend for key.  file_value is the value the
 * configuration file gives the option now (NULL when the file does not set
 * it); the override holds until the file's value differs from it. */
int store_setting_set(struct store *st, const char *key, const char *value,
    const char *file_value, char **cause);
/* Removes the backend override of key (no error when there is none). */
int store_setting_clear(struct store *st, const char *key, char **cause);

/* A configuration-file option as read at start (value NULL = not set). */
struct store_kv {
	const char *key;
	const char *value;
};
/* At start: drops every backend override whose option has changed in the
 * file since the override was set.  file lists the file's current values;
 * keys not listed count as "not set in the file".  *dropped (optional) gets
 * the number of overrides removed. */
int store_settings_reconcile(struct store *st, const struct store_kv *file,
    size_t n_file, int *dropped, char **cause);
/* The value in force for key: the backend override when there is one and
 * the file still gives file_value as when it was set, else file_value.
 * *value is a copy the caller frees (NULL when neither exists). */
int store_setting_get(struct store *st, const char *key,
    const char *file_value, char **value, enum store_setting_source *source,
    char **cause);
/* Calls fn for every stored backend override (borrowed strings; file_value
 * may be NULL).  A non-zero return from fn stops the walk and is returned. */
int store_setting_foreach(struct store *st,
    int (*fn)(const char *key, const char *value, const char *file_value,
        void *arg), void *arg, char **cause);

/* ---- The outgoing queue. ---- */

#define STORE_ACTION_MAX 48   /* bytes incl. NUL */

enum store_msg_kind {
	STORE_MSG_TX_START = 0,  /* StartTransaction / TransactionEvent Started */
	STORE_MSG_TX_END = 1,    /* StopTransaction / TransactionEvent Ended */
	STORE_MSG_TX_UPDATE = 2, /* intermediate update: droppable, batched */
	STORE_MSG_METER = 3,     /* sampled meter values: droppable, batched */
	STORE_MSG_OTHER = 4,     /* any other message that must be delivered */
};

/* True for kinds the bound may drop (and that are committed in batches). */
bool store_msg_kind_droppable(enum store_msg_kind kind);

struct store_msg {
	int64_t id;             /* queue id (out); ids only grow */
	enum store_msg_kind kind;
	char action[STORE_ACTION_MAX]; /* "MeterValues", "StopTransaction", ... */
	const char *payload;    /* JSON text; on output borrowed until the next
	                           call on this store */
	int connector;          /* 0 = station */
	int64_t created_ms;     /* epoch ms when it was queued */
	int attempts;           /* out: sends recorded by store_queue_attempt */
};

/* Queues msg.  Droppable kinds (meter values, intermediate updates) are
 * buffered and committed at most once per meter_flush_ms (by this call when
 * the interval has passed, by store_flush, or with the next transaction
 * message); other kinds are committed, synchronous=FULL, before returning.
 * *msg_id (optional) gets the id the message will have.  When the batch
 * commit fails (disk full) the error is returned, the samples stay
 * buffered and the commit is retried once per interval; a buffer of
 * STORE_PENDING_MAX samples that still cannot be written loses its oldest
 * sample for each new one (counted as dropped). */
int store_enqueue(struct store *st, const struct store_msg *msg,
    int64_t now_ms, int64_t *msg_id, char **cause);
/* Queues msg (a kind that is not droppable: those are batched) and, when
 * state_key is not NULL, sets state_key to state_value (NULL or "" deletes
 * it) in the same SQLite transaction, committed with synchronous=FULL
 * before returning (buffered meter values go first in it, as with
 * store_enqueue): after a crash both are there or neither.  The state is a
 * row of the settings table, as store_setting_set(st, key, value, NULL)
 * records it, so store_setting_get(st, key, NULL, ...) reads it back.
 * *msg_id (optional) gets the queue id. */
int store_queue_enqueue_with_state(struct store *st,
    const struct store_msg *msg, const char *state_key,
    const char *state_value, int64_t now_ms, int64_t *msg_id, char **cause);
/* Commits buffered meter values when meter_flush_ms has passed since the
 * last such commit (force: regardless).  Call it from a timer. */
int store_flush(struct store *st, int64_t now_ms, bool force, char **cause);
/* Sets *found and, when true, *out to the oldest queued message: the
 * oldest committed one, else the oldest buffered one, so that a buffered
 * message need not wait for its flush to be sent.  out->payload is
 * borrowed until the next call on this store.  Acknowledging or counting
 * an attempt works on a buffered message as on a committed one. */
int store_queue_peek(struct store *st, struct store_msg *out, bool *found,
    char **cause);
/* Counts one more send of message id (committed without fsync: a lost
 * increment only under-counts). */
int store_queue_attempt(struct store *st, int64_t id, char **cause);
/* Removes message id after the backend's CALLRESULT and, when state_key
 * is not NULL, sets state_key to state_value (NULL or "" deletes it) in
 * the same SQLite transaction,
 * durable on return: after a crash the message is gone and the state
 * changed, or neither.  STORE_ERR_NOT_FOUND (nothing changed) when no
 * such message is queued. */
int store_queue_ack_with_state(struct store *st, int64_t id,
    const char *state_key, const char *state_value, char **cause);
/* Calls fn for every committed message, oldest first (borrowed).  A
 * non-zero return from fn stops the walk and is returned. */
int store_queue_foreach(struct store *st,
    int (*fn)(const struct store_msg *m, void *arg), void *arg, char **cause);

struct store_queue_stats {
	int64_t committed;  /* messages in the database */
	int64_t buffered;   /* meter values waiting for their batch commit */
	int64_t bound;      /* the queue bound */
	int64_t dropped;    /* messages ever dropped by the bound (persistent) */
	int64_t commits;    /* commits made by this handle (for tests/benches) */
};
/* Fills *out (no I/O). */
void store_queue_stats(const struct store *st, struct store_queue_stats *out);

/* ---- History (history.c): what the site did, for the dashboard's plot
 * and `explain --at`.  Kept STORE_HISTORY_KEEP_MS (by the newest time
 * written) and at most STORE_HISTORY_MAX_CHANGES changes; buffered in
 * memory and committed at most once per STORE_HISTORY_FLUSH_MS (a crash
 * loses at most that much history, never anything else). */
#define STORE_HISTORY_KEEP_MS (7LL * 24 * 3600 * 1000)
#define STORE_HISTORY_FLUSH_MS 60000
#define STORE_HISTORY_MAX_CHANGES 30000
/* Buffered rows past which a batch is committed at once. */
#define STORE_HISTORY_PENDING_MAX 512
/* No power reading (a site without a meter). */
#define STORE_HISTORY_NO_POWER INT64_MIN

/* The site every 10 s (epoch ms). */
struct store_site_sample {
	int64_t at_ms;
	int64_t power_w;  /* STORE_HISTORY_NO_POWER = unknown */
	int64_t cap_w;
	int64_t budget_w;
};

/* One setpoint change: the explain of that moment.  The strings are
 * borrowed when adding, and borrowed until the next call when read. */
struct store_setpoint_change {
	int64_t at_ms;
	int connector;          /* OCPP connector id */
	int64_t setpoint_w;
	const char *reason;     /* "share", ... */
	const char *bound_by;   /* "site", ..., "none" */
	const char *summary;    /* the sentence */
	const char *caps_json;  /* the caps as explain gives them */
};

/* Buffers a sample or a change; commits the batch when it is due. */
int store_history_add_sample(struct store *st,
    const struct store_site_sample *s, int64_t now_ms, char **cause);
int store_history_add_change(struct store *st,
    const struct store_setpoint_change *c, int64_t now_ms, char **cause);
/* Commits the buffered history when the interval has passed (or force),
 * trimming what is past the bounds.  now_ms is monotonic. */
int store_history_flush(struct store *st, int64_t now_ms, bool force,
    char **cause);
/* Calls fn for each sample with from_ms <= at_ms <= to_ms, oldest first,
 * at most max_points of them evenly spread (0 = all); buffered ones
 * included. */
int store_history_samples(struct store *st, int64_t from_ms, int64_t to_ms,
    int max_points, void (*fn)(void *arg, const struct store_site_sample *s),
    void *arg, char **cause);
/* Calls fn for each change of connector (0 = every one) in the range,
 * oldest first, at most limit (the newest ones; 0 = no limit). */
int store_history_changes(struct store *st, int connector, int64_t from_ms,
    int64_t to_ms, int limit,
    void (*fn)(void *arg, const struct store_setpoint_change *c), void *arg,
    char **cause);
/* Frees the history buffer (store_close does). */
void store_history_free(struct store *st);

#endif
