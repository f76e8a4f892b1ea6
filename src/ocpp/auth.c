/* OCPP session, local authorization of the IdTokens chargers report: the
 * local authorization list (SendLocalList / GetLocalListVersion), the
 * authorization cache (ClearCache), Authorize before a transaction, and
 * the rules for a token while the backend is away (1.6 LocalPreAuthorize,
 * LocalAuthorizeOffline, AuthorizationCacheEnabled, LocalAuthListEnabled,
 * AllowOfflineTxForUnknownId; 2.0.1 AuthCtrlr, AuthCacheCtrlr,
 * LocalAuthListCtrlr).  The list and the cache are kept in the durable
 * session state (keys "auth.list" and "auth.cache"). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "ocpp/session-private.h"

/* Finds token in t; NULL when absent. */
static struct auth_entry *
find(struct auth_table *t, const char *token)
{
	for (int i = 0; i < t->n; i++)
		if (strcmp(t->e[i].token, token) == 0)
			return &t->e[i];
	return NULL;
}

/* Sets token's status in t (a new entry at the end; when t is full the
 * oldest goes first, or, when drop_oldest is false, -1). */
static int
put(struct auth_table *t, const char *token, const char *status,
    bool drop_oldest)
{
	struct auth_entry *e = find(t, token);

	if (e == NULL) {
		if (t->n == AUTH_MAX_ENTRIES) {
			if (!drop_oldest)
				return -1;
			memmove(&t->e[0], &t->e[1],
			    (size_t)(t->n - 1) * sizeof(t->e[0]));
			t->n--;
		}
		e = &t->e[t->n++];
		strlcpy_ok(e->token, token, sizeof(e->token));
	}
	strlcpy_ok(e->status, status, sizeof(e->status));
	return 0;
}

/* Removes token from t. */
static void
del(struct auth_table *t, const char *token)
{
	struct auth_entry *e = find(t, token);

	if (e == NULL)
		return;
	memmove(e, e + 1, (size_t)(&t->e[t->n] - (e + 1)) * sizeof(*e));
	t->n--;
}

/* Writes the table to state key (with the list's version). */
static void
save(struct ocpp_session *s, const char *key, const struct auth_table *t,
    int version)
{
	json_t *o = json_object(), *tokens = json_object();
	char *text;

	for (int i = 0; i < t->n; i++)
		json_object_set_new(tokens, t->e[i].token,
		    json_string(t->e[i].status));
	json_object_set_new(o, "version", json_integer(version));
	json_object_set_new(o, "tokens", tokens);
	text = ocpp_json_dumps(o);
	json_decref(o);
	if (text == NULL || s->q == NULL || s->q->state_set == NULL ||
	    s->q->state_set(s->ud, key, text) != 0)
		log_warnx("ocpp: could not save the %s", strcmp(key,
		    "auth.list") == 0 ? "local authorization list" :
		    "authorization cache");
	free(text);
}

/* Reads a table written by save(); returns its version. */
static int
load(struct ocpp_session *s, const char *key, struct auth_table *t)
{
	/* 100 entries of up to 36 + 12 characters and their JSON. */
	char buf[AUTH_MAX_ENTRIES * 64 + 64];
	const char *token;
	json_t *o, *tokens, *v;
	int version;

	t->n = 0;
	if (session_state_get(s, key, buf, sizeof(buf)) != 0 || buf[0] == '\0')
		return 0;
	if ((o = json_loads(buf, 0, NULL)) == NULL) {
		log_warnx("ocpp: saved %s unreadable, ignored", key);
		return 0;
	}
	version = (int)json_integer_value(json_object_get(o, "version"));
	tokens = json_object_get(o, "tokens");
	json_object_foreach(tokens, token, v) {
		if (json_is_string(v) && strlen(token) <= OCPP_ID_TOKEN_MAX)
			(void)put(t, token, json_string_value(v), false);
	}
	json_decref(o);
	return version;
}

void
session_auth_load(struct ocpp_session *s)
{
	s->auth_list_version = load(s, "auth.list", &s->auth_list);
	(void)load(s, "auth.cache", &s->auth_cache);
}

/* What the station knows of token: the list's status (when the list is
 * enabled), else the cache's (when enabled); NULL when unknown. */
static const char *
known_status(struct ocpp_session *s, const char *token)
{
	struct auth_entry *e;

	if (s->cfg[CI_LOCAL_LIST_ENABLED] &&
	    (e = find(&s->auth_list, token)) != NULL)
		return e->status;
	if (s->cfg[CI_AUTH_CACHE_ENABLED] &&
	    (e = find(&s->auth_cache, token)) != NULL)
		return e->status;
	return NULL;
}

void
session_auth_learn(struct ocpp_session *s, const char *token,
    const char *status)
{
	struct auth_entry *e;

	if (!s->cfg[CI_AUTH_CACHE_ENABLED] || token == NULL ||
	    token[0] == '\0' || status == NULL ||
	    strlen(token) > OCPP_ID_TOKEN_MAX)
		return;
	e = find(&s->auth_cache, token);
	if (e != NULL && strcmp(e->status, status) == 0)
		return;
	(void)put(&s->auth_cache, token, status, true);
	save(s, "auth.cache", &s->auth_cache, 0);
}

/* Stops the charging of connector k, whose session's token was refused;
 * no transaction starts until the connector leaves the charging states. */
static void
refuse(struct ocpp_session *s, int k, const char *token, const char *why)
{
	struct conn_state *cs = &s->cs[k];

	cs->auth_refused = true;
	cs->auth_asked = false;
	strlcpy_ok(cs->auth_token, token, sizeof(cs->auth_token));
	log_info("connector %d: IdToken not authorized (%s): charging "
	    "stopped, no transaction", k, why);
	if (s->cb->remote_stop != NULL)
		(void)s->cb->remote_stop(s->ud, k);
}

/* Sends Authorize for connector k's token. */
static void
ask(struct ocpp_session *s, int k, const char *token)
{
	json_t *p;

	if (session_v16(s))
		p = json_pack("{ss}", "idTag", token);
	else
		p = json_pack("{s{ssss}}", "idToken", "idToken", token, "type",
		    "ISO14443");
	s->cs[k].auth_asked = true;
	s->cs[k].auth_asked_ms = s->now_ms;
	strlcpy_ok(s->cs[k].auth_token, token, sizeof(s->cs[k].auth_token));
	session_push_call(s, "Authorize", p);
}

/* The rules for a token while the backend cannot be asked. */
static enum auth_gate
offline_rule(struct ocpp_session *s, int k, const char *token)
{
	const char *st = known_status(s, token);

	if (st != NULL && s->cfg[CI_LOCAL_AUTH_OFFLINE]) {
		if (strcmp(st, "Accepted") == 0)
			return AUTH_START;
		refuse(s, k, token, st);
		return AUTH_REFUSED;
	}
	if (s->cfg[CI_OFFLINE_UNKNOWN])
		return AUTH_START;
	refuse(s, k, token, "offline, unknown");
	return AUTH_REFUSED;
}

enum auth_gate
session_auth_gate(struct ocpp_session *s, int k)
{
	struct conn_state *cs = &s->cs[k];
	const char *token = s->station->conn[k].id_token;
	const char *st;

	/* The gateway's own tag and a remote start's need no check. */
	if (token[0] == '\0' || cs->remote_id_tag[0] != '\0')
		return AUTH_START;
	if (cs->auth_refused) {
		if (strcmp(cs->auth_token, token) == 0)
			return AUTH_REFUSED;
		cs->auth_refused = false;	/* another card, another session */
	}
	if (cs->auth_ok && strcmp(cs->auth_token, token) == 0)
		return AUTH_START;
	if (s->link != LINK_UP || s->boot != BOOT_ACCEPTED) {
		if (cs->auth_asked)
			cs->auth_asked = false;	/* the answer is lost */
		return offline_rule(s, k, token);
	}
	st = known_status(s, token);
	if (s->cfg[CI_LOCAL_PRE_AUTH] && st != NULL &&
	    strcmp(st, "Accepted") == 0)
		return AUTH_START;
	/* Asked again when the answer can no longer come (the request was
	 * dropped with a link that went down and came back meanwhile). */
	if (!cs->auth_asked || strcmp(cs->auth_token, token) != 0 ||
	    s->now_ms - cs->auth_asked_ms > (s->cfg[CI_CALL_TIMEOUT] + 5) *
	    1000LL)
		ask(s, k, token);
	return AUTH_WAIT;
}

void
session_auth_left(struct ocpp_session *s, int k)
{
	struct conn_state *cs = &s->cs[k];

	cs->auth_refused = false;
	cs->auth_asked = false;
	cs->auth_ok = false;
}

void
session_auth_answer(struct ocpp_session *s, const char *token,
    const char *status)
{
	for (int k = 1; k <= s->station->n_connectors; k++) {
		struct conn_state *cs = &s->cs[k];

		if (!cs->auth_asked || strcmp(cs->auth_token, token) != 0)
			continue;
		cs->auth_asked = false;
		if (status == NULL) {
			/* No answer: as if the backend were away. */
			if (offline_rule(s, k, token) == AUTH_START)
				cs->auth_ok = true;
		} else if (strcmp(status, "Accepted") == 0) {
			cs->auth_ok = true;
		} else {
			refuse(s, k, token, status);
		}
	}
	if (status != NULL)
		session_auth_learn(s, token, status);
}

/* ---- the backend's calls ---- */

/* The IdToken and status of one list entry (1.6 or 2.0.1 form); status
 * NULL when the entry has no idTagInfo / idTokenInfo (a removal). */
static const char *
entry_token(const struct ocpp_session *s, json_t *e, const char **status)
{
	json_t *info;

	if (session_v16(s)) {
		info = json_object_get(e, "idTagInfo");
		*status = json_string_value(json_object_get(info, "status"));
		return json_string_value(json_object_get(e, "idTag"));
	}
	info = json_object_get(e, "idTokenInfo");
	*status = json_string_value(json_object_get(info, "status"));
	return json_string_value(json_object_get(json_object_get(e,
	    "idToken"), "idToken"));
}

json_t *
session_send_local_list(struct ocpp_session *s, json_t *req)
{
	bool v16 = session_v16(s);
	int version = (int)json_integer_value(json_object_get(req, v16 ?
	    "listVersion" : "versionNumber"));
	const char *type = json_string_value(json_object_get(req,
	    "updateType"));
	json_t *list = json_object_get(req, "localAuthorizationList");
	struct auth_table next;
	bool full = type != NULL && strcmp(type, "Full") == 0;
	size_t i;
	json_t *e;

	if (!s->cfg[CI_LOCAL_LIST_ENABLED])
		return json_pack("{ss}", "status", v16 ? "NotSupported" :
		    "Failed");
	if (version < 1 || json_array_size(list) > AUTH_MAX_ENTRIES)
		return json_pack("{ss}", "status", "Failed");
	if (!full && version <= s->auth_list_version)
		return json_pack("{ss}", "status", "VersionMismatch");
	next = full ? (struct auth_table){ .n = 0 } : s->auth_list;
	json_array_foreach(list, i, e) {
		const char *status, *token = entry_token(s, e, &status);

		if (token == NULL || token[0] == '\0' ||
		    strlen(token) > OCPP_ID_TOKEN_MAX)
			return json_pack("{ss}", "status", "Failed");
		if (status == NULL)
			del(&next, token);
		else if (put(&next, token, status, false) != 0)
			return json_pack("{ss}", "status", "Failed");
	}
	s->auth_list = next;
	s->auth_list_version = version;
	save(s, "auth.list", &s->auth_list, version);
	log_info("ocpp: local authorization list version %d, %d IdToken(s)",
	    version, s->auth_list.n);
	return json_pack("{ss}", "status", "Accepted");
}

json_t *
session_get_local_list_version(struct ocpp_session *s)
{
	/* 1.6 §5.10 / 2.0.1 D02: 0 when there is no list. */
	int version = s->auth_list.n > 0 || s->auth_list_version > 0 ?
	    s->auth_list_version : 0;

	if (session_v16(s) && !s->cfg[CI_LOCAL_LIST_ENABLED])
		version = -1;	/* 1.6: the list is not enabled */
	return json_pack("{si}", session_v16(s) ? "listVersion" :
	    "versionNumber", version);
}

json_t *
session_clear_cache(struct ocpp_session *s)
{
	if (!s->cfg[CI_AUTH_CACHE_ENABLED])
		return json_pack("{ss}", "status", "Rejected");
	s->auth_cache.n = 0;
	save(s, "auth.cache", &s->auth_cache, 0);
	return json_pack("{ss}", "status", "Accepted");
}
