/* The session's durable queue and state in the store: which kind each
 * queued message is (transaction starts and ends are never dropped), and
 * the session's state keys. */
#include "cloud/cloud-private.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "southbound/southbound.h"
#include "store/store.h"

/* ---- The durable queue, in the store --------------------------------- */

/* Prefixes a session state key as it is kept among the store's settings;
 * NULL stays NULL.  Returns k or NULL. */
static const char *
state_key_of(const char *key, char *k, size_t len)
{
	if (key == NULL)
		return NULL;
	snprintf(k, len, STATE_PREFIX "%s", key);
	return k;
}

/* Sets (value "" deletes) one state key. */
static int
state_put(struct cloud *c, const char *key, const char *value)
{
	char k[128], *cause = NULL;
	int rc;

	state_key_of(key, k, sizeof(k));
	if (value == NULL || value[0] == '\0')
		rc = store_setting_clear(c->store, k, &cause);
	else
		rc = store_setting_set(c->store, k, value, NULL, &cause);
	if (rc != 0) {
		log_warnx("store: session state %s: %s", key, cause);
		free(cause);
	}
	return rc;
}

/* Reads one state key into buf: 0, 1 when absent, -1 (logged). */
static int
state_get(const struct cloud *c, const char *key, char *buf, size_t len)
{
	enum store_setting_source src;
	char k[128], *value = NULL, *cause = NULL;

	state_key_of(key, k, sizeof(k));
	if (store_setting_get(c->store, k, NULL, &value, &src, &cause) != 0) {
		log_warnx("store: session state %s: %s", key, cause);
		free(cause);
		return -1;
	}
	if (value == NULL)
		return 1;
	strlcpy_ok(buf, value, len);
	free(value);
	return 0;
}

static int
q_state_get(void *ud, const char *key, char *buf, size_t len)
{
	return state_get(ud, key, buf, len);
}

static int
q_state_set(void *ud, const char *key, const char *value)
{
	return state_put(ud, key, value) == 0 ? 0 : -1;
}

/* The store's kind of each transaction message: starts and ends are
 * never dropped; 2.0.1's intermediate TransactionEvents (Updated) and 1.6
 * MeterValues of a transaction are what the queue bound may drop and
 * batch (E04.FR.07/08). */
static const struct {
	const char *action;
	const char *event_type; /* TransactionEvent's eventType, or NULL */
	enum store_msg_kind kind;
} msg_kinds[] = {
	{ "StartTransaction", NULL, STORE_MSG_TX_START },
	{ "StopTransaction", NULL, STORE_MSG_TX_END },
	{ "TransactionEvent", "Started", STORE_MSG_TX_START },
	{ "TransactionEvent", "Ended", STORE_MSG_TX_END },
	{ "TransactionEvent", "Updated", STORE_MSG_TX_UPDATE },
	/* 1.6 periodic values of a transaction: batched and droppable like
	 * 2.0.1's updates (the session queues no other MeterValues). */
	{ "MeterValues", NULL, STORE_MSG_METER },
};

/* The store's kind for a queued message (STORE_MSG_OTHER when none of
 * the table's). */
static enum store_msg_kind
msg_kind(const char *action, const char *payload)
{
	enum store_msg_kind kind = STORE_MSG_OTHER;
	json_t *p = NULL;
	const char *ev = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(msg_kinds); i++) {
		if (strcmp(msg_kinds[i].action, action) != 0)
			continue;
		if (msg_kinds[i].event_type == NULL) {
			kind = msg_kinds[i].kind;
			break;
		}
		if (p == NULL) {
			p = json_loads(payload, 0, NULL);
			ev = json_string_value(json_object_get(p, "eventType"));
		}
		if (ev != NULL && strcmp(ev, msg_kinds[i].event_type) == 0) {
			kind = msg_kinds[i].kind;
			break;
		}
	}
	json_decref(p);
	return kind;
}

static int
q_enqueue(void *ud, const char *action, const char *payload,
    const char *state_key, const char *state_value)
{
	struct cloud *c = ud;
	struct store_msg m;
	char k[128], *cause = NULL;
	int rc;

	memset(&m, 0, sizeof(m));
	m.kind = msg_kind(action, payload);
	strlcpy_ok(m.action, action, sizeof(m.action));
	m.payload = payload;
	m.created_ms = wall_now_ms();
	if (store_msg_kind_droppable(m.kind)) {
		/* An update is batched (committed within a second, or with the
		 * next start or end) and the state written now: a crash can
		 * lose the update, leaving a gap in seqNo as a drop does, but
		 * never sends a seqNo twice. */
		rc = store_enqueue(c->store, &m, mono_now_ms(), NULL,
		    &cause);
		if (rc == 0 && state_key != NULL &&
		    state_put(c, state_key, state_value) != 0)
			return -1;
	} else {
		/* The message and the state key commit together: a crash
		 * never leaves an open transaction without its message or
		 * the reverse. */
		rc = store_queue_enqueue_with_state(c->store, &m,
		    state_key_of(state_key, k, sizeof(k)), state_value,
		    mono_now_ms(), NULL, &cause);
	}
	if (rc != 0) {
		log_warnx("store: cannot queue %s: %s", action, cause);
		free(cause);
		return -1;
	}
	return 0;
}

static int
q_peek(void *ud, struct ocpp_queued *out)
{
	struct cloud *c = ud;
	struct store_msg m;
	char *cause = NULL;
	bool found = false;

	if (store_queue_peek(c->store, &m, &found, &cause) != 0) {
		log_warnx("store: queue: %s", cause);
		free(cause);
		return -1;
	}
	if (!found)
		return 1;
	out->id = m.id;
	out->action = xstrdup(m.action);
	out->payload = xstrdup(m.payload);
	out->attempts = m.attempts;
	return 0;
}

static int
q_ack(void *ud, int64_t id, const char *state_key, const char *state_value)
{
	struct cloud *c = ud;
	char k[128], *cause = NULL;
	int rc;

	/* Removal and state change commit together. */
	rc = store_queue_ack_with_state(c->store, id,
	    state_key_of(state_key, k, sizeof(k)), state_value, &cause);
	if (rc == STORE_ERR_NOT_FOUND) {
		/* No such message (already gone): only the state changes. */
		free(cause);
		if (state_key != NULL && state_put(c, state_key,
		    state_value) != 0)
			return -1;
		return 0;
	}
	if (rc != 0) {
		log_warnx("store: ack %lld: %s", (long long)id, cause);
		free(cause);
		return -1;
	}
	return 0;
}

static int
q_set_attempts(void *ud, int64_t id, int attempts)
{
	struct cloud *c = ud;
	char *cause = NULL;

	(void)attempts; /* the store counts one more per call */
	if (store_queue_attempt(c->store, id, &cause) != 0) {
		log_debug("ocpp", "store: attempt %lld: %s", (long long)id, cause);
		free(cause);
		return -1;
	}
	return 0;
}

const struct ocpp_queue_ops cloud_queue_ops = {
	q_enqueue, q_peek, q_ack, q_set_attempts, q_state_get, q_state_set,
};
