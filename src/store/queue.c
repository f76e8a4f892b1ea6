/* Transactions and the outgoing queue: atomic state change + enqueue,
 * batched meter values, in-order peek/ack, the bound and its drop policy. */
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

/* Checks a message given to store_enqueue / store_tx_save. */
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
	if (m->connector < 0 || m->tx_ref < 0 || m->seq_no < -1) {
		store_set_cause(cause, "message %s: connector %d, transaction "
		    "reference %lld and seqNo %lld must be >= 0 (seqNo -1 for "
		    "none)", m->action, m->connector, (long long)m->tx_ref,
		    (long long)m->seq_no);
		return STORE_ERR_INVALID;
	}
	return 0;
}

/* Copies a buffered message into *m; the payload is left to the caller.
 * Its transaction's id is not resolved (tx_id stays empty). */
static void
pending_to_msg(const struct store_pending *p, struct store_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->id = p->id;
	m->kind = p->kind;
	memcpy(m->action, p->action, sizeof(m->action));
	m->connector = p->connector;
	m->tx_ref = p->tx_ref;
	m->seq_no = p->seq_no;
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
    const char *action, const char *payload, int connector, int64_t tx_ref,
    int64_t seq_no, int64_t created_ms, int attempts, char **cause)
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
	if (tx_ref > 0)
		sqlite3_bind_int64(s, 6, tx_ref);
	else
		sqlite3_bind_null(s, 6);
	sqlite3_bind_int64(s, 7, seq_no);
	sqlite3_bind_int64(s, 8, created_ms);
	sqlite3_bind_int(s, 9, attempts);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return store_sqlite_error(st, rc, "queueing a message", cause);
	st->committed++;
	if (tx_ref > 0 && seq_no >= 0) {
		if ((s = store_stmt(st, SQ_TX_SEQ_MAX, &rc, cause)) == NULL)
			return rc;
		sqlite3_bind_int64(s, 1, tx_ref);
		sqlite3_bind_int64(s, 2, seq_no);
		rc = sqlite3_step(s);
		sqlite3_reset(s);
		if (rc != SQLITE_DONE)
			return store_sqlite_error(st, rc,
			    "recording a seqNo", cause);
	}
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
		    p->connector, p->tx_ref, p->seq_no, p->created_ms, p->attempts,
		    cause);
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
	p->tx_ref = msg->tx_ref;
	p->seq_no = msg->seq_no;
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
		    msg->connector, msg->tx_ref, msg->seq_no, msg->created_ms,
		    0, cause);
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

/* Checks the caller's transaction record. */
static int
check_tx(const struct store_tx *tx, char **cause)
{
	if (tx->ref < 0 || tx->connector < 1) {
		store_set_cause(cause, "transaction reference %lld must be "
		    ">= 0 and connector %d >= 1", (long long)tx->ref,
		    tx->connector);
		return STORE_ERR_INVALID;
	}
	if (!terminated(tx->tx_id, sizeof(tx->tx_id)) ||
	    !terminated(tx->id_token, sizeof(tx->id_token))) {
		store_set_cause(cause, "transaction id and id token must be "
		    "at most %d characters", STORE_TX_ID_MAX - 1);
		return STORE_ERR_INVALID;
	}
	if (tx->state != STORE_TX_ACTIVE && tx->state != STORE_TX_ENDED) {
		store_set_cause(cause, "transaction state %d out of range 0..1",
		    (int)tx->state);
		return STORE_ERR_INVALID;
	}
	if (tx->seq_no < 0) {
		store_set_cause(cause, "transaction seqNo %lld must be >= 0",
		    (long long)tx->seq_no);
		return STORE_ERR_INVALID;
	}
	return 0;
}

/* Inserts or updates the transaction row; sets *ref for a new one. */
static int
write_tx(struct store *st, const struct store_tx *tx, int64_t *ref,
    char **cause)
{
	sqlite3_stmt *s;
	int rc = 0, i = 1;

	if (tx->ref == 0) {
		if ((s = store_stmt(st, SQ_TX_INSERT, &rc, cause)) == NULL)
			return rc;
	} else {
		if ((s = store_stmt(st, SQ_TX_UPDATE, &rc, cause)) == NULL)
			return rc;
		sqlite3_bind_int64(s, i++, tx->ref);
	}
	sqlite3_bind_text(s, i++, tx->tx_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, i++, tx->connector);
	sqlite3_bind_text(s, i++, tx->id_token, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, i++, tx->meter_start_wh);
	sqlite3_bind_int64(s, i++, tx->meter_stop_wh);
	sqlite3_bind_int64(s, i++, tx->seq_no);
	sqlite3_bind_int(s, i++, (int)tx->state);
	sqlite3_bind_int64(s, i++, tx->started_ms);
	sqlite3_bind_int64(s, i++, tx->stopped_ms);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return store_sqlite_error(st, rc, "saving a transaction", cause);
	if (tx->ref == 0) {
		*ref = sqlite3_last_insert_rowid(st->db);
	} else {
		if (sqlite3_changes(st->db) == 0) {
			store_set_cause(cause, "no transaction with reference "
			    "%lld", (long long)tx->ref);
			return STORE_ERR_NOT_FOUND;
		}
		*ref = tx->ref;
	}
	return 0;
}

int
store_tx_save(struct store *st, struct store_tx *tx,
    const struct store_msg *msg, int64_t now_ms, int64_t *msg_id,
    char **cause)
{
	struct store_mark m;
	int64_t ref = 0, id = st->next_msg_id;
	int rc;

	if ((rc = check_tx(tx, cause)) != 0)
		return rc;
	if (msg != NULL) {
		if ((rc = check_msg(msg, cause)) != 0)
			return rc;
		if (store_msg_kind_droppable(msg->kind)) {
			store_set_cause(cause, "message %s: a droppable kind "
			    "cannot carry a transaction state change; use "
			    "store_enqueue", msg->action);
			return STORE_ERR_INVALID;
		}
	}
	store_mark_take(st, &m);
	if ((rc = store_begin(st, cause)) != 0)
		return rc;
	rc = write_pending(st, cause);
	if (rc == 0)
		rc = write_tx(st, tx, &ref, cause);
	if (rc == 0 && msg != NULL)
		rc = insert_msg(st, id, msg->kind, msg->action, msg->payload,
		    msg->connector, ref, msg->seq_no, msg->created_ms, 0,
		    cause);
	if ((rc = finish(st, rc, &m, cause)) != 0)
		return rc;
	pending_done(st, now_ms);
	tx->ref = ref;
	if (msg != NULL) {
		st->next_msg_id = id + 1;
		if (msg_id != NULL)
			*msg_id = id;
	}
	return 0;
}

#define TX_COLUMNS "ref, tx_id, connector, id_token, meter_start_wh, " \
	"meter_stop_wh, seq_no, state, started_ms, stopped_ms"

/* Copies a transactions row (columns in the order of TX_COLUMNS). */
static void
row_to_tx(sqlite3_stmt *s, struct store_tx *tx)
{
	const unsigned char *t;

	memset(tx, 0, sizeof(*tx));
	tx->ref = sqlite3_column_int64(s, 0);
	if ((t = sqlite3_column_text(s, 1)) != NULL)
		strlcpy_ok(tx->tx_id, (const char *)t, sizeof(tx->tx_id));
	tx->connector = sqlite3_column_int(s, 2);
	if ((t = sqlite3_column_text(s, 3)) != NULL)
		strlcpy_ok(tx->id_token, (const char *)t, sizeof(tx->id_token));
	tx->meter_start_wh = sqlite3_column_int64(s, 4);
	tx->meter_stop_wh = sqlite3_column_int64(s, 5);
	tx->seq_no = sqlite3_column_int64(s, 6);
	tx->state = sqlite3_column_int(s, 7) == STORE_TX_ENDED ?
	    STORE_TX_ENDED : STORE_TX_ACTIVE;
	tx->started_ms = sqlite3_column_int64(s, 8);
	tx->stopped_ms = sqlite3_column_int64(s, 9);
}

int
store_tx_get(struct store *st, int64_t ref, struct store_tx *out,
    char **cause)
{
	sqlite3_stmt *s;
	int rc;

	rc = sqlite3_prepare_v2(st->db, "SELECT " TX_COLUMNS
	    " FROM transactions WHERE ref = ?1", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_error(st, rc, "reading a transaction",
		    cause);
	sqlite3_bind_int64(s, 1, ref);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		row_to_tx(s, out);
		sqlite3_finalize(s);
		return 0;
	}
	sqlite3_finalize(s);
	if (rc == SQLITE_DONE) {
		store_set_cause(cause, "no transaction with reference %lld",
		    (long long)ref);
		return STORE_ERR_NOT_FOUND;
	}
	return store_sqlite_error(st, rc, "reading a transaction", cause);
}

int
store_tx_foreach_active(struct store *st,
    int (*fn)(const struct store_tx *tx, void *arg), void *arg, char **cause)
{
	struct store_tx tx;
	sqlite3_stmt *s;
	int rc, r = 0;

	rc = sqlite3_prepare_v2(st->db, "SELECT " TX_COLUMNS
	    " FROM transactions WHERE state = 0 ORDER BY ref", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return store_sqlite_error(st, rc, "listing transactions",
		    cause);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		row_to_tx(s, &tx);
		if ((r = fn(&tx, arg)) != 0)
			break;
	}
	sqlite3_finalize(s);
	if (r != 0)
		return r;
	if (rc != SQLITE_DONE)
		return store_sqlite_error(st, rc, "listing transactions",
		    cause);
	return 0;
}

/* Deletes queue message id and forgets its transaction when that ended
 * and has nothing else queued; inside an open transaction. */
static int
delete_msg(struct store *st, int64_t id, char **cause)
{
	sqlite3_stmt *s;
	int64_t tx_ref = 0;
	int rc = 0;

	if ((s = store_stmt(st, SQ_QUEUE_TXREF, &rc, cause)) == NULL)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		tx_ref = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (rc == SQLITE_DONE) {
		store_set_cause(cause, "no queued message with id %lld",
		    (long long)id);
		return STORE_ERR_NOT_FOUND;
	}
	if (rc != SQLITE_ROW)
		return store_sqlite_error(st, rc, "acknowledging", cause);
	if ((s = store_stmt(st, SQ_QUEUE_DELETE, &rc, cause)) == NULL)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return store_sqlite_error(st, rc, "acknowledging", cause);
	st->committed--;
	if (tx_ref > 0) {
		if ((s = store_stmt(st, SQ_TX_FORGET, &rc, cause)) == NULL)
			return rc;
		sqlite3_bind_int64(s, 1, tx_ref);
		rc = sqlite3_step(s);
		sqlite3_reset(s);
		if (rc != SQLITE_DONE)
			return store_sqlite_error(st, rc,
			    "forgetting an ended transaction", cause);
	}
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

int
store_tx_assign_id(struct store *st, int64_t ref, const char *tx_id,
    int64_t ack_msg_id, char **cause)
{
	struct store_mark m;
	sqlite3_stmt *s;
	int rc;

	if (tx_id == NULL || tx_id[0] == '\0' ||
	    strlen(tx_id) >= STORE_TX_ID_MAX) {
		store_set_cause(cause, "transaction id must be 1..%d "
		    "characters", STORE_TX_ID_MAX - 1);
		return STORE_ERR_INVALID;
	}
	store_mark_take(st, &m);
	if ((rc = store_begin(st, cause)) != 0)
		return rc;
	rc = sqlite3_prepare_v2(st->db, "UPDATE transactions SET tx_id = ?2 "
	    "WHERE ref = ?1", -1, &s, NULL);
	if (rc != SQLITE_OK) {
		rc = store_sqlite_error(st, rc, "assigning a transaction id",
		    cause);
		return finish(st, rc, &m, cause);
	}
	sqlite3_bind_int64(s, 1, ref);
	sqlite3_bind_text(s, 2, tx_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		rc = store_sqlite_error(st, rc, "assigning a transaction id",
		    cause);
	} else if (sqlite3_changes(st->db) == 0) {
		store_set_cause(cause, "no transaction with reference %lld",
		    (long long)ref);
		rc = STORE_ERR_NOT_FOUND;
	} else {
		rc = 0;
		if (ack_msg_id > 0)
			rc = delete_msg(st, ack_msg_id, cause);
	}
	return finish(st, rc, &m, cause);
}

/* Copies a peeked row into *m; the payload is left to the caller. */
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
	m->tx_ref = sqlite3_column_int64(s, 5);
	m->seq_no = sqlite3_column_int64(s, 6);
	m->created_ms = sqlite3_column_int64(s, 7);
	m->attempts = sqlite3_column_int(s, 8);
	if ((t = sqlite3_column_text(s, 9)) != NULL)
		strlcpy_ok(m->tx_id, (const char *)t, sizeof(m->tx_id));
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
	sqlite3_bind_int64(s, 1, 0);
	sqlite3_bind_int64(s, 2, 1);
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

	rc = sqlite3_prepare_v2(st->db, "SELECT q.id, q.kind, q.action, "
	    "q.payload, q.connector, q.tx_ref, q.seq_no, q.created_ms, "
	    "q.attempts, t.tx_id FROM queue q LEFT JOIN transactions t "
	    "ON t.ref = q.tx_ref ORDER BY q.id", -1, &s, NULL);
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
	if ((rc = store_exec(st, "PRAGMA synchronous = NORMAL",
	    "setting synchronous=NORMAL", cause)) != 0)
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
	if (store_exec(st, "PRAGMA synchronous = FULL",
	    "setting synchronous=FULL", rc == 0 ? cause : NULL) != 0 && rc == 0)
		rc = STORE_ERR_INTERNAL;
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
