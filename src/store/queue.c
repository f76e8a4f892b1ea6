/* The outgoing queue: atomic state change + enqueue, batched meter
 * values, in-order peek/ack, the bound and its drop policy. */
#include "store/store-private.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"

bool
store_msg_kind_droppable(enum store_msg_kind kind)
{
	return kind == STORE_MSG_TX_UPDATE || kind == STORE_MSG_METER;
}

/* True when the fixed-size text field holds a terminated string. */
static bool
terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

/* Checks a message given to store_enqueue. */
static int
check_msg(const struct store_msg *m, char **cause)
{
	if ((int)m->kind < STORE_MSG_TX_START || m->kind > STORE_MSG_OTHER) {
		store_set_cause(cause, "message kind %d out of range 0..%d",
		    (int)m->kind, STORE_MSG_OTHER);
		return STORE_ERR_INVALID;
	}
	if (!terminated(m->action, sizeof(m->action)) || m->action[0] == '\0') {
		store_set_cause(cause, "message action must be 1..%d "
		    "characters", STORE_ACTION_MAX - 1);
		return STORE_ERR_INVALID;
	}
	if (m->payload == NULL || m->payload[0] == '\0') {
		store_set_cause(cause, "message %s has an empty payload",
		    m->action);
		return STORE_ERR_INVALID;
	}
	if (m->connector < 0) {
		store_set_cause(cause, "message %s: connector %d must be >= 0",
		    m->action, m->connector);
		return STORE_ERR_INVALID;
	}
	return 0;
}

/* Copies a buffered message into *m; the payload is left to the caller. */
static void
pending_to_msg(const struct store_pending *p, struct store_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->id = p->id;
	m->kind = p->kind;
	memcpy(m->action, p->action, sizeof(m->action));
	m->connector = p->connector;
	m->created_ms = p->created_ms;
	m->attempts = p->attempts;
}

/* The buffered message with this id, or NULL. */
static struct store_pending *
pending_find(struct store *st, int64_t id)
{
	for (size_t i = 0; i < st->n_pending; i++)
		if (st->pending[i].id == id)
			return &st->pending[i];
	return NULL;
}

/* Inserts one queue row with an id chosen by us (ids only grow). */
static int
insert_msg(struct store *st, int64_t id, enum store_msg_kind kind,
    const char *action, const char *payload, int connector,
    int64_t created_ms, int attempts, char **cause)
{
	sqlite3_stmt *s;
	int rc = 0;

	if ((s = store_stmt(st, SQ_QUEUE_INSERT, &rc, cause)) == NULL)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int(s, 2, (int)kind);
	sqlite3_bind_text(s, 3, action, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, payload, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 5, connector);
	sqlite3_bind_int64(s, 6, created_ms);
	sqlite3_bind_int(s, 7, attempts);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return store_sqlite_error(st, rc, "queueing a message", cause);
	st->committed++;
	return 0;
}

/* Writes the buffered messages; inside an open transaction. */
static int
write_pending(struct store *st, char **cause)
{
	int rc;

	for (size_t i = 0; i < st->n_pending; i++) {
		struct store_pending *p = &st->pending[i];

		rc = insert_msg(st, p->id, p->kind, p->action, p->payload,
		    p->connector, p->created_ms, p->attempts, cause);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Frees the buffered messages after the commit that wrote them. */
static void
pending_done(struct store *st, int64_t now_ms)
{
	bool had = st->n_pending > 0;

	for (size_t i = 0; i < st->n_pending; i++)
		free(st->pending[i].payload);
	st->n_pending = 0;
	if (had) {
		st->last_meter_commit_ms = now_ms;
		st->meter_committed_once = true;
	}
}

/* Enforces the bound: drops the oldest droppable messages not yet sent;
 * inside an open transaction.  Transaction starts and ends are never
 * dropped, so the queue may exceed its bound with them alone. */
static int
trim(struct store *st, char **cause)
{
	int64_t excess = st->committed - st->queue_max;
	sqlite3_stmt *s;
	int rc = 0, n;

	if (excess > 0) {
		if ((s = store_stmt(st, SQ_QUEUE_TRIM, &rc, cause)) == NULL)
			return rc;
		sqlite3_bind_int64(s, 1, excess);
		rc = sqlite3_step(s);
		sqlite3_reset(s);
		if (rc != SQLITE_DONE)
			return store_sqlite_error(st, rc,
			    "dropping old meter values", cause);
		n = sqlite3_changes(st->db);
		st->committed -= n;
		st->dropped += n;
		if (n > 0)
			log_debug("store", "queue bound %lld reached: dropped %d "
			    "oldest meter value(s), %lld dropped in all",
			    (long long)st->queue_max, n,
			    (long long)st->dropped);
	}
	if (st->dropped != st->dropped_saved) {
		if ((s = store_stmt(st, SQ_COUNTER_SET, &rc, cause)) == NULL)
			return rc;
		sqlite3_bind_text(s, 1, "queue_dropped", -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, st->dropped);
		rc = sqlite3_step(s);
		sqlite3_reset(s);
		if (rc != SQLITE_DONE)
			return store_sqlite_error(st, rc,
			    "counting dropped messages", cause);
	}
	return 0;
}

/* Commits the transaction opened by the caller, or rolls it back and
 * restores the counters when rc is already an error or the commit fails. */
static int
finish(struct store *st, int rc, const struct store_mark *m, char **cause)
{
	if (rc == 0)
		rc = trim(st, cause);
	if (rc == 0)
		rc = store_commit(st, cause);
	if (rc != 0) {
		store_rollback(st);
		store_mark_restore(st, m);
		return rc;
	}
	st->dropped_saved = st->dropped;
	return 0;
}

int
store_flush(struct store *st, int64_t now_ms, bool force, char **cause)
{
	struct store_mark m;
	int rc;

	if (st->n_pending == 0)
		return 0;
	if (!force) {
		bool due = !st->meter_committed_once ||
		    now_ms - st->last_meter_commit_ms >= st->meter_flush_ms ||
		    st->n_pending >= STORE_PENDING_MAX;

		/* After a failed commit (disk full?) retry once per interval,
		 * not on every new sample. */
		if (!due || (st->flush_failed &&
		    now_ms - st->flush_failed_ms < st->meter_flush_ms))
			return 0;
	}
	store_mark_take(st, &m);
	if ((rc = store_begin(st, cause)) == 0) {
		rc = write_pending(st, cause);
		rc = finish(st, rc, &m, cause);
	}
	if (rc != 0) {
		st->flush_failed = true;
		st->flush_failed_ms = now_ms;
		return rc;
	}
	st->flush_failed = false;
	pending_done(st, now_ms);
	return 0;
}

/* Buffers a droppable message; when the buffer cannot be committed and is
 * full, its oldest entry is dropped and counted. */
static int
enqueue_buffered(struct store *st, const struct store_msg *msg,
    int64_t now_ms, int64_t *msg_id, char **cause)
{
	struct store_pending *p;

	if (st->n_pending >= STORE_PENDING_MAX) {
		/* Commits keep failing (disk full?): keep memory bounded. */
		free(st->pending[0].payload);
		memmove(&st->pending[0], &st->pending[1],
		    (st->n_pending - 1) * sizeof(st->pending[0]));
		st->n_pending--;
		st->dropped++;
	}
	if (st->pending == NULL)
		st->pending = xcalloc(STORE_PENDING_MAX,
		    sizeof(*st->pending));
	p = &st->pending[st->n_pending++];
	p->id = st->next_msg_id++;
	p->kind = msg->kind;
	memcpy(p->action, msg->action, sizeof(p->action));
	p->payload = xstrdup(msg->payload);
	p->connector = msg->connector;
	p->created_ms = msg->created_ms;
	p->attempts = 0;
	if (msg_id != NULL)
		*msg_id = p->id;
	return store_flush(st, now_ms, false, cause);
}

/* Commits msg (not droppable), the buffered messages before it and, when
 * state_key is not NULL, the state change, in one SQLite transaction. */
static int
enqueue_durable(struct store *st, const struct store_msg *msg,
    const char *state_key, const char *state_value, int64_t now_ms,
    int64_t *msg_id, char **cause)
{
	struct store_mark m;
	int64_t id;
	int rc;

	store_mark_take(st, &m);
	if ((rc = store_begin(st, cause)) != 0)
		return rc;
	id = st->next_msg_id;
	rc = write_pending(st, cause);
	if (rc == 0)
		rc = insert_msg(st, id, msg->kind, msg->action, msg->payload,
		    msg->connector, msg->created_ms, 0, cause);
	if (rc == 0 && state_key != NULL)
		rc = store_state_write(st, state_key, state_value, cause);
	if ((rc = finish(st, rc, &m, cause)) != 0)
		return rc;
	st->next_msg_id = id + 1;
	pending_done(st, now_ms);
	if (msg_id != NULL)
		*msg_id = id;
	return 0;
}

int
store_enqueue(struct store *st, const struct store_msg *msg, int64_t now_ms,
    int64_t *msg_id, char **cause)
{
	int rc;

	if ((rc = check_msg(msg, cause)) != 0)
		return rc;
	if (store_msg_kind_droppable(msg->kind))
		return enqueue_buffered(st, msg, now_ms, msg_id, cause);
	return enqueue_durable(st, msg, NULL, NULL, now_ms, msg_id, cause);
}

int
store_queue_enqueue_with_state(struct store *st, const struct store_msg *msg,
    const char *state_key, const char *state_value, int64_t now_ms,
    int64_t *msg_id, char **cause)
{
	int rc;

	if ((rc = check_msg(msg, cause)) != 0)
		return rc;
	if (store_msg_kind_droppable(msg->kind)) {
		store_set_cause(cause, "a %s message is committed in batches "
		    "and cannot carry a state change; use kind %d (start), "
		    "%d (end) or %d (other)", msg->action, STORE_MSG_TX_START,
		    STORE_MSG_TX_END, STORE_MSG_OTHER);
		return STORE_ERR_INVALID;
	}
	if (state_key != NULL && state_key[0] == '\0') {
		store_set_cause(cause, "state key must not be empty");
		return STORE_ERR_INVALID;
	}
	return enqueue_durable(st, msg, state_key, state_value, now_ms,
	    msg_id, cause);
}

/* Deletes queue message id; inside an open transaction. */
static int
delete_msg(struct store *st, int64_t id, char **cause)
{
	sqlite3_stmt *s;
	int rc = 0;

	if ((s = store_stmt(st, SQ_QUEUE_DELETE, &rc, cause)) == NULL)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return store_sqlite_error(st, rc, "acknowledging", cause);
	if (sqlite3_changes(st->db) == 0) {
		store_set_cause(cause, "no queued message with id %lld",
		    (long long)id);
		return STORE_ERR_NOT_FOUND;
	}
	st->committed--;
	return 0;
}

int
store_queue_ack_with_state(struct store *st, int64_t id,
    const char *state_key, const char *state_value, char **cause)
{
	struct store_pending *p;
	struct store_mark m;
	bool buffered = false;
	int rc;

	if (state_key != NULL && state_key[0] == '\0') {
		store_set_cause(cause, "state key must not be empty");
		return STORE_ERR_INVALID;
	}
	if ((p = pending_find(st, id)) != NULL) {
		/* Sent before its flush: it never reaches SQLite. */
		size_t i = (size_t)(p - st->pending);

		free(p->payload);
		memmove(p, p + 1, (st->n_pending - i - 1) * sizeof(*p));
		st->n_pending--;
		if (state_key == NULL)
			return 0;
		buffered = true;
	}
	store_mark_take(st, &m);
	if ((rc = store_begin(st, cause)) != 0)
		return rc;
	rc = buffered ? 0 : delete_msg(st, id, cause);
	if (rc == 0 && state_key != NULL)
		rc = store_state_write(st, state_key, state_value, cause);
	return finish(st, rc, &m, cause);
}

/* Copies a row of STORE_QUEUE_COLUMNS into *m; the payload is left to the
 * caller. */
static void
row_to_msg(sqlite3_stmt *s, struct store_msg *m)
{
	const unsigned char *t;

	memset(m, 0, sizeof(*m));
	m->id = sqlite3_column_int64(s, 0);
	m->kind = (enum store_msg_kind)sqlite3_column_int(s, 1);
	if ((t = sqlite3_column_text(s, 2)) != NULL)
		strlcpy_ok(m->action, (const char *)t, sizeof(m->action));
	m->connector = sqlite3_column_int(s, 4);
	m->created_ms = sqlite3_column_int64(s, 5);
	m->attempts = sqlite3_column_int(s, 6);
}

int
store_queue_peek(struct store *st, struct store_msg *out, bool *found,
    char **cause)
{
	sqlite3_stmt *s;
	const unsigned char *t;
	int rc = 0;

	*found = false;
	if ((s = store_stmt(st, SQ_QUEUE_PEEK, &rc, cause)) == NULL)
		return rc;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		row_to_msg(s, out);
		t = sqlite3_column_text(s, 3);
		free(st->peek_payload);
		st->peek_payload = xstrdup(t != NULL ? (const char *)t : "");
		out->payload = st->peek_payload;
		*found = true;
		rc = SQLITE_DONE;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return store_sqlite_error(st, rc, "reading the queue", cause);
	/* Buffered messages are newer than every committed one (a commit
	 * writes the buffer first): they go out without waiting for the
	 * next flush. */
	if (!*found && st->n_pending > 0) {
		pending_to_msg(&st->pending[0], out);
		free(st->peek_payload);
		st->peek_payload = xstrdup(st->pending[0].payload);
		out->payload = st->peek_payload;
		*found = true;
	}
	return 0;
}

int
store_queue_foreach(struct store *st,
    int (*fn)(const struct store_msg *m, void *arg), void *arg, char **cause)
{
	struct store_msg m;
	sqlite3_stmt *s;
	const unsigned char *t;
	int rc, r = 0;

	rc = sqlite3_prepare_v2(st->db, "SELECT " STORE_QUEUE_COLUMNS
	    " FROM queue ORDER BY id", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_error(st, rc, "reading the queue", cause);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		row_to_msg(s, &m);
		t = sqlite3_column_text(s, 3);
		m.payload = t != NULL ? (const char *)t : "";
		if ((r = fn(&m, arg)) != 0)
			break;
	}
	sqlite3_finalize(s);
	if (r != 0)
		return r;
	if (rc != SQLITE_DONE)
		return store_sqlite_error(st, rc, "reading the queue", cause);
	return 0;
}

int
store_queue_attempt(struct store *st, int64_t id, char **cause)
{
	struct store_pending *p;
	sqlite3_stmt *s;
	int rc = 0, changed;

	if ((p = pending_find(st, id)) != NULL) {
		p->attempts++;
		return 0;
	}
	/* A lost increment only under-counts: no fsync for this one. */
	if ((rc = store_sync_full(st, false, cause)) != 0)
		return rc;
	if ((s = store_stmt(st, SQ_QUEUE_ATTEMPT, &rc, cause)) == NULL)
		goto out;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	changed = sqlite3_changes(st->db);
	if (rc != SQLITE_DONE) {
		rc = store_sqlite_error(st, rc, "counting an attempt", cause);
	} else if (changed == 0) {
		store_set_cause(cause, "no queued message with id %lld",
		    (long long)id);
		rc = STORE_ERR_NOT_FOUND;
	} else {
		rc = 0;
		st->commits++;
	}
out:
	return rc;
}

void
store_queue_stats(const struct store *st, struct store_queue_stats *out)
{
	out->committed = st->committed;
	out->buffered = (int64_t)st->n_pending;
	out->bound = st->queue_max;
	out->dropped = st->dropped;
	out->commits = st->commits;
}
