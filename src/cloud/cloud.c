/* The backend side of the daemon (see cloud.h): the OCPP session wired to
 * the site model, the store and the southbound, and the charging profiles
 * of the smart-charging engine turned into the balancer's caps. */
#include "config.h"

#include "cloud/cloud.h"

#include <errno.h>
#include <jansson.h>
#include <libwebsockets.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "daemon.h"
#include "ocpp/ocpp.h"
#include "ocpp/smartcharging.h"
#include "southbound/southbound.h"
#include "store/store.h"

/* Store keys: the session's durable state and the keys it owns that the
 * backend changed (they have no value in the file). */
#define STATE_PREFIX "ocpp.state."
#define CFG_PREFIX "ocpp.config."
/* The connectors the backend made inoperative, kept across restarts
 * (OCPP 1.6 §5.2 / 2.0.1 G03: availability is persistent): a comma list
 * of connector numbers (1-based); absent = all operative. */
#define AVAIL_KEY "ocpp.availability.inoperative"

#define MAX_PROTOCOLS 8

struct cloud {
	struct daemon *d;
	struct ocpp_settings st;
	struct ocpp_session *s;
	struct ocpp_station station;
	struct ocpp_connector *conn; /* n_conns + 1 */
	struct ocpp_ext_key ext[16];
	struct lws_protocols protocols[MAX_PROTOCOLS];
	struct sc_set profiles;
	struct sc_connector *scc;    /* n_conns */
	bool *held;                  /* n_conns: told the backend (2.0.1) */
	struct sc_profile **pending; /* n_conns: remote start's TxProfile */
	int n_pending;
	enum sc_version scv;
	bool last_online, last_accepted;
};

static struct cloud cloud_state;

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
		rc = store_setting_clear(c->d->store, k, &cause);
	else
		rc = store_setting_set(c->d->store, k, value, NULL, &cause);
	if (rc != 0) {
		log_warnx("store: session state %s: %s", key, cause);
		free(cause);
	}
	return rc;
}

static int
q_state_get(void *ud, const char *key, char *buf, size_t len)
{
	struct cloud *c = ud;
	enum store_setting_source src;
	char k[128], *value = NULL, *cause = NULL;

	state_key_of(key, k, sizeof(k));
	if (store_setting_get(c->d->store, k, NULL, &value, &src, &cause) != 0) {
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
q_state_set(void *ud, const char *key, const char *value)
{
	return state_put(ud, key, value) == 0 ? 0 : -1;
}

/* The store's kind for a queued message: starts and ends are never
 * dropped; 2.0.1's intermediate TransactionEvents (Updated) are the
 * updates the queue bound may drop and batch (E04.FR.07/08). */
static enum store_msg_kind
msg_kind(const char *action, const char *payload)
{
	enum store_msg_kind kind = STORE_MSG_OTHER;

	if (strcmp(action, "StartTransaction") == 0)
		return STORE_MSG_TX_START;
	if (strcmp(action, "StopTransaction") == 0)
		return STORE_MSG_TX_END;
	if (strcmp(action, "TransactionEvent") == 0) {
		json_t *p = json_loads(payload, 0, NULL);
		const char *ev = json_string_value(json_object_get(p,
		    "eventType"));

		if (ev != NULL && strcmp(ev, "Started") == 0)
			kind = STORE_MSG_TX_START;
		else if (ev != NULL && strcmp(ev, "Ended") == 0)
			kind = STORE_MSG_TX_END;
		else if (ev != NULL && strcmp(ev, "Updated") == 0)
			kind = STORE_MSG_TX_UPDATE;
		json_decref(p);
	}
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
	m.seq_no = -1;
	m.created_ms = wall_now_ms();
	if (store_msg_kind_droppable(m.kind)) {
		/* An update is batched (committed within a second, or with the
		 * next start or end) and the state written now: a crash can
		 * lose the update, leaving a gap in seqNo as a drop does, but
		 * never sends a seqNo twice. */
		rc = store_enqueue(c->d->store, &m, mono_now_ms(), NULL,
		    &cause);
		if (rc == 0 && state_key != NULL &&
		    state_put(c, state_key, state_value) != 0)
			return -1;
	} else {
		/* The message and the state key commit together: a crash
		 * never leaves an open transaction without its message or
		 * the reverse. */
		rc = store_queue_enqueue_with_state(c->d->store, &m,
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

	if (store_queue_peek(c->d->store, &m, &found, &cause) != 0) {
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
	rc = store_queue_ack_with_state(c->d->store, id,
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
	if (store_queue_attempt(c->d->store, id, &cause) != 0) {
		log_debug("ocpp", "store: attempt %lld: %s", (long long)id, cause);
		free(cause);
		return -1;
	}
	return 0;
}

static const struct ocpp_queue_ops queue_ops = {
	q_enqueue, q_peek, q_ack, q_set_attempts, q_state_get, q_state_set,
};

/* ---- Smart charging --------------------------------------------------- */

/* The open transaction id of connector k (1..n), from the session's
 * durable state; "" when none. */
static void
tx_of(struct cloud *c, int k, char *buf, size_t len)
{
	char key[48], local[32];

	buf[0] = '\0';
	if (c->st.version == OCPP_V16) {
		snprintf(key, sizeof(key), "tx16.c%d", k);
		if (q_state_get(c, key, local, sizeof(local)) != 0)
			return;
		snprintf(key, sizeof(key), "tx16.id.%s", local);
		(void)q_state_get(c, key, buf, len);
	} else {
		snprintf(key, sizeof(key), "tx201.c%d", k);
		if (q_state_get(c, key, buf, len) == 0)
			buf[strcspn(buf, " ")] = '\0';
	}
}

bool
cloud_transaction(const struct daemon *d, int k, char *buf, size_t len)
{
	struct cloud *c = &cloud_state;

	(void)d;
	if (c->s == NULL || len == 0)
		return false;
	tx_of(c, k, buf, len);
	return buf[0] != '\0';
}

static void unpersist(struct cloud *c, const int *ids, size_t n);

/* True while a connector in this state has a transaction running. */
static bool
tx_running(enum bal_conn_state bs)
{
	return bs == BAL_ST_CHARGING || bs == BAL_ST_SUSPENDED_EV ||
	    bs == BAL_ST_SUSPENDED_EVSE;
}

/* A transaction on connector k (1-based) ended: its TxProfiles go from the
 * engine and the store (K02.FR.05; 1.6 §3.13.2), so they neither apply to
 * the next transaction nor fill the MaxChargingProfilesInstalled room. */
static void
tx_profiles_end(struct cloud *c, int k, const char *tx_id)
{
	int removed[32];
	size_t n;

	n = sc_set_tx_ended(&c->profiles, k, tx_id[0] != '\0' ? tx_id : NULL,
	    removed, ARRAY_SIZE(removed));
	if (n == 0)
		return;
	log_info("connector %d: transaction ended, %zu TxProfile(s) removed",
	    k, n);
	unpersist(c, removed, n < ARRAY_SIZE(removed) ? n : ARRAY_SIZE(removed));
}

/* Fills the engine's view of the station. */
static void
sc_ctx(struct cloud *c, struct sc_context *ctx, bool with_tx)
{
	struct site *s = &c->d->site;

	for (int k = 0; k < s->n_conns; k++) {
		struct sc_connector *sc = &c->scc[k];
		bool was_active = sc->tx_active;
		enum bal_conn_state bs = s->bconns[k].state;

		sc->phases = c->d->cfg.chargers[s->conns[k].charger].phases;
		sc->tx_active = tx_running(bs);
		if (was_active && !sc->tx_active)
			tx_profiles_end(c, k + 1, sc->tx_id);
		if (with_tx && sc->tx_active)
			tx_of(c, k + 1, sc->tx_id, sizeof(sc->tx_id));
		else if (!sc->tx_active)
			sc->tx_id[0] = '\0';
		if (sc->tx_active && sc->tx_start_ms == 0)
			sc->tx_start_ms = wall_now_ms();
		if (!sc->tx_active)
			sc->tx_start_ms = 0;
	}
	memset(ctx, 0, sizeof(*ctx));
	ctx->n_connectors = s->n_conns;
	ctx->connectors = c->scc;
	ctx->voltage_v = c->d->cfg.site.nominal_voltage_v;
	ctx->units = SC_UNITS_W | SC_UNITS_A;
	ctx->max_stack_level = 8;
	ctx->max_periods = 24;
	ctx->max_profiles = 16;
	ctx->ignore_purposes = 0;
	if (s->cloud != SITE_CLOUD_CONNECTED) {
		switch (c->d->cfg.balancer.offline_profiles) {
		case CFG_OFFLINE_PROFILES_ALL:
			break;
		case CFG_OFFLINE_PROFILES_STATION_MAX:
			ctx->ignore_purposes = (1u << SC_TX_DEFAULT) |
			    (1u << SC_TX);
			break;
		case CFG_OFFLINE_PROFILES_NONE:
			ctx->ignore_purposes = (1u << SC_STATION_MAX) |
			    (1u << SC_TX_DEFAULT) | (1u << SC_TX);
			break;
		}
	}
	ctx->now_ms = wall_now_ms();
}

int64_t
cloud_apply_profiles(struct daemon *d)
{
	struct cloud *c = &cloud_state;
	struct site *s = &d->site;
	struct sc_context ctx;
	struct sc_limit lim;
	int64_t next;

	if (c->s == NULL)
		return -1;
	sc_ctx(c, &ctx, false);
	if (sc_evaluate(&c->profiles, &ctx, 0, ctx.now_ms, &lim) == 0 &&
	    lim.has_station)
		site_set_profile_cap(s, (int32_t)floor(lim.station_w),
		    lim.station_id);
	else
		site_set_profile_cap(s, BAL_NO_CAP, -1);
	for (int k = 0; k < s->n_conns; k++) {
		char detail[96];

		if (sc_evaluate(&c->profiles, &ctx, k + 1, ctx.now_ms, &lim) ==
		    0 && lim.has_tx) {
			snprintf(detail, sizeof(detail), "%s id %d",
			    sc_purpose_name(c->scv, lim.tx_purpose), lim.tx_id);
			site_set_conn_cap(s, k, (int32_t)floor(lim.tx_w), detail);
		} else {
			site_set_conn_cap(s, k, BAL_NO_CAP, NULL);
		}
	}
	next = sc_next_change(&c->profiles, &ctx, ctx.now_ms);
	if (s->dirty)
		daemon_schedule_run(d);
	daemon_profile_timer(d, next == SC_NEVER ? -1 : next);
	return next == SC_NEVER ? -1 : next;
}

/* What is really applied to connector k (0 = the site) at at_ms, for the
 * composite schedule: the schedule's value, held down by the local
 * limits in force now. */
static double
applied_w(void *ud, int connector, int64_t at_ms, double schedule_w)
{
	struct daemon *d = ud;
	const struct site *s = &d->site;
	double w = schedule_w;

	(void)at_ms;
	if (connector == 0) {
		if (s->cap_w < w)
			w = s->cap_w;
	} else if (connector <= s->n_conns && s->have_run) {
		const struct bal_conn_out *o = &s->out[connector - 1];

		if (o->setpoint_w < w && s->chargers[s->conns[connector - 1]
		    .charger].online)
			w = o->setpoint_w;
	}
	return w;
}

/* Persists every profile of the set that the store lacks or has stale,
 * and deletes stored ones no longer in it. */
static int
persist_profile(struct cloud *c, int id)
{
	const struct sc_profile *p = sc_set_find(&c->profiles, id);
	struct store_profile sp;
	char *cause = NULL;

	if (p == NULL)
		return 0;
	memset(&sp, 0, sizeof(sp));
	sp.id = p->id;
	sp.connector = p->connector;
	sp.purpose = sc_purpose_name(c->scv, p->purpose);
	sp.stack_level = p->stack_level;
	sp.tx_id = p->tx_id[0] != '\0' ? p->tx_id : NULL;
	sp.json = p->json;
	sp.valid_from_ms = p->has_valid_from ? p->valid_from_ms : 0;
	sp.valid_to_ms = p->has_valid_to ? p->valid_to_ms : 0;
	if (store_profile_put(c->d->store, &sp, NULL, &cause) != 0) {
		log_warnx("store: profile %d not saved: %s", id, cause);
		free(cause);
		return -1;
	}
	return 0;
}

/* Deletes the profiles ids[0..n) from the store. */
static void
unpersist(struct cloud *c, const int *ids, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *cause = NULL;

		if (store_profile_delete(c->d->store, ids[i], NULL, &cause) != 0) {
			log_warnx("store: profile %d not deleted: %s", ids[i],
			    cause);
			free(cause);
		}
	}
}

/* SetChargingProfile: engine, store, caps. */
static char *
set_profile(struct cloud *c, const char *payload, enum ocpp_rpc_error *error)
{
	struct sc_context ctx;
	struct sc_verdict v;
	struct sc_profile *p = NULL;
	int replaced[32];
	size_t n;

	sc_ctx(c, &ctx, true);
	if (sc_profile_parse(c->scv, payload, &p, &v) != 0) {
		if (v.malformed) {
			*error = OCPP_RPC_PROPERTY;
			return NULL;
		}
		log_info("SetChargingProfile rejected: %s", v.reason);
		return sc_verdict_json(c->scv, &v);
	}
	if (sc_set_check(&c->profiles, p, &ctx, &v) != 0) {
		log_info("SetChargingProfile %d rejected: %s", p->id, v.reason);
		sc_profile_free(p);
		return sc_verdict_json(c->scv, &v);
	}
	sc_profile_bind(p, &ctx);
	{
		int id = p->id;

		n = sc_set_install(&c->profiles, p, replaced, ARRAY_SIZE(replaced));
		for (size_t i = 0; i < n && i < ARRAY_SIZE(replaced); i++)
			if (replaced[i] == id)
				replaced[i] = -1;
		for (size_t i = 0; i < n && i < ARRAY_SIZE(replaced); i++)
			if (replaced[i] >= 0)
				unpersist(c, &replaced[i], 1);
		(void)persist_profile(c, id);
		log_info("charging profile %d installed on connector %d", id,
		    sc_set_find(&c->profiles, id) != NULL ?
		    sc_set_find(&c->profiles, id)->connector : -1);
	}
	v.status = SC_ACCEPTED;
	v.reason_code = NULL;
	v.malformed = false;
	v.reason[0] = '\0';
	(void)cloud_apply_profiles(c->d);
	return sc_verdict_json(c->scv, &v);
}

static char *
cb_profile_action(void *ud, const char *action, const char *payload,
    enum ocpp_rpc_error *error)
{
	struct cloud *c = ud;
	struct sc_context ctx;
	struct sc_verdict v;

	if (strcmp(action, "SetChargingProfile") == 0)
		return set_profile(c, payload, error);
	if (strcmp(action, "ClearChargingProfile") == 0) {
		struct sc_filter f;
		int removed[64];
		size_t n;

		if (sc_clear_parse(c->scv, payload, &f, &v) != 0) {
			*error = OCPP_RPC_PROPERTY;
			return NULL;
		}
		n = sc_set_clear(&c->profiles, &f, removed, ARRAY_SIZE(removed));
		unpersist(c, removed, n < ARRAY_SIZE(removed) ? n :
		    ARRAY_SIZE(removed));
		log_info("ClearChargingProfile: %zu profile%s removed", n,
		    n == 1 ? "" : "s");
		(void)cloud_apply_profiles(c->d);
		return sc_clear_response(c->scv, n);
	}
	if (strcmp(action, "GetCompositeSchedule") == 0) {
		struct sc_composite_opts o;
		char *out;

		sc_ctx(c, &ctx, false);
		memset(&o, 0, sizeof(o));
		o.max_w = c->d->site.lb.available_power_w;
		o.local_cap_w = -1;
		o.applied_w = applied_w;
		o.ud = c->d;
		out = sc_composite_request(&c->profiles, &ctx, c->scv, payload,
		    &o, &v);
		if (out == NULL)
			*error = OCPP_RPC_PROPERTY;
		return out;
	}
	if (strcmp(action, "GetChargingProfiles") == 0) {
		struct sc_filter f;
		char **reports = NULL, *answer;
		size_t n = 0;

		if (sc_get_parse(payload, &f, &v) != 0) {
			*error = OCPP_RPC_PROPERTY;
			return NULL;
		}
		answer = sc_get_answer(&c->profiles, &f, &reports, &n);
		for (size_t i = 0; i < n; i++) {
			(void)ocpp_session_send_call(c->s, "ReportChargingProfiles",
			    reports[i]);
			free(reports[i]);
		}
		free(reports);
		return answer;
	}
	*error = OCPP_RPC_NOT_SUPPORTED;
	return NULL;
}

/* Loads the stored profiles into the engine's set. */
static int
load_profile(const struct store_profile *p, void *arg)
{
	struct cloud *c = arg;
	char *cause = NULL;

	/* A TxProfile keeps the transaction it was bound to, so it does
	 * not carry over to the next one after a restart. */
	if (sc_set_load_bound(&c->profiles, p->json, p->tx_id, &cause) != 0) {
		log_warnx("stored charging profile %lld ignored: %s",
		    (long long)p->id, cause);
		free(cause);
	}
	return 0;
}

/* ---- Callbacks: backend -> chargers ------------------------------------ */

/* Queues a command on connector k's charger; the OCPP answer. */
static enum ocpp_result
command(struct cloud *c, int k, enum sb_command cmd, const char *what)
{
	const struct site *s = &c->d->site;
	const struct site_conn *sc;
	int rc;

	if (k < 1 || k > s->n_conns || c->d->sb == NULL)
		return OCPP_REJECTED;
	sc = &s->conns[k - 1];
	rc = sb_submit_command(c->d->sb, (size_t)sc->charger, sc->connector,
	    cmd, 0, NULL, NULL);
	if (rc != 0) {
		log_info("%s on %s refused: %s", what, sc->label, sb_strerror(rc));
		return rc == SB_ERR_UNSUPPORTED ? OCPP_NOT_SUPPORTED :
		    OCPP_REJECTED;
	}
	log_info("%s on %s (backend)", what, sc->label);
	return OCPP_ACCEPTED;
}

static enum ocpp_result
cb_remote_start(void *ud, int connector, const char *id_token,
    const char *profile_json)
{
	struct cloud *c = ud;
	struct sc_profile *p = NULL;
	struct sc_verdict v;
	enum ocpp_result r;

	(void)id_token;
	if (profile_json != NULL) {
		if (connector < 1 || connector > c->d->site.n_conns ||
		    sc_profile_remote_start(c->scv, connector, profile_json, &p,
		    &v) != 0) {
			log_info("remote start on connector %d refused: its "
			    "charging profile: %s", connector,
			    p == NULL ? v.reason : "bad connector");
			sc_profile_free(p);
			return OCPP_REJECTED;
		}
	}
	r = command(ud, connector, SB_CMD_START, "start");
	if (r == OCPP_ACCEPTED && p != NULL) {
		/* Installed once the transaction runs (K05). */
		sc_profile_free(c->pending[connector - 1]);
		c->pending[connector - 1] = p;
		c->n_pending++;
	} else {
		sc_profile_free(p);
	}
	return r;
}

/* Installs the TxProfiles of remote starts whose transaction runs now. */
static void
install_pending(struct cloud *c)
{
	struct sc_context ctx;
	struct sc_verdict v;
	int replaced[32];

	if (c->n_pending == 0)
		return;
	sc_ctx(c, &ctx, true);
	for (int k = 0; k < c->d->site.n_conns; k++) {
		struct sc_profile *p = c->pending[k];
		int id;

		if (p == NULL || !c->scc[k].tx_active || c->scc[k].tx_id[0] ==
		    '\0')
			continue;
		c->pending[k] = NULL;
		c->n_pending--;
		sc_profile_bind(p, &ctx);
		if (sc_set_check(&c->profiles, p, &ctx, &v) != 0) {
			log_info("remote start's profile on connector %d not "
			    "installed: %s", k + 1, v.reason);
			sc_profile_free(p);
			continue;
		}
		id = p->id;
		(void)sc_set_install(&c->profiles, p, replaced,
		    ARRAY_SIZE(replaced));
		(void)persist_profile(c, id);
		log_info("charging profile %d of the remote start installed on "
		    "connector %d", id, k + 1);
		(void)cloud_apply_profiles(c->d);
	}
}

static enum ocpp_result
cb_remote_stop(void *ud, int connector)
{
	return command(ud, connector, SB_CMD_STOP, "stop");
}

static enum ocpp_result
cb_unlock(void *ud, int connector)
{
	return command(ud, connector, SB_CMD_UNLOCK, "unlock");
}

/* Saves which connectors are inoperative, with connector (0 = all) set
 * to operative or not; 0, or -1 when the store refused (logged). */
static int
availability_save(struct cloud *c, int connector, bool operative)
{
	const struct site *s = &c->d->site;
	char *list = xstrdup(""), *next, *cause = NULL;
	int rc;

	for (int k = 0; k < s->n_conns; k++) {
		bool off = connector == 0 || connector == k + 1 ? !operative :
		    s->inoperative[k];

		if (!off)
			continue;
		xasprintf(&next, "%s%s%d", list, list[0] != '\0' ? "," : "",
		    k + 1);
		free(list);
		list = next;
	}
	if (list[0] == '\0')
		rc = store_setting_clear(c->d->store, AVAIL_KEY, &cause);
	else
		rc = store_setting_set(c->d->store, AVAIL_KEY, list, NULL,
		    &cause);
	if (rc != 0) {
		log_warnx("store: availability: %s", cause);
		free(cause);
	}
	free(list);
	return rc != 0 ? -1 : 0;
}

/* At start: makes the connectors the backend left inoperative so again. */
static void
availability_load(struct cloud *c)
{
	struct site *s = &c->d->site;
	char *value = NULL, *cause = NULL, *p, *end, esc[64];
	long k;

	if (store_setting_get(c->d->store, AVAIL_KEY, NULL, &value, NULL,
	    &cause) != 0) {
		log_warnx("store: availability: %s", cause);
		free(cause);
		return;
	}
	for (p = value; p != NULL && *p != '\0'; p = *end == ',' ? end + 1 :
	    end) {
		k = strtol(p, &end, 10);
		if (end == p) {
			log_warnx("kept availability '%s' is not a list of "
			    "connectors: ignored", log_escape(value,
			    strlen(value), esc, sizeof(esc)));
			break;
		}
		if (k < 1 || k > s->n_conns) {
			log_warnx("kept availability: connector %ld is not "
			    "1..%d: ignored", k, s->n_conns);
			continue;
		}
		site_set_inoperative(s, (int)k - 1, true);
		log_info("connector %ld inoperative (kept from the backend)",
		    k);
	}
	free(value);
}

static enum ocpp_result
cb_availability(void *ud, int connector, bool operative)
{
	struct cloud *c = ud;

	if (connector < 0 || connector > c->d->site.n_conns)
		return OCPP_REJECTED;
	/* Persisted first: a change the gateway would forget on restart is
	 * refused rather than accepted. */
	if (availability_save(c, connector, operative) != 0)
		return OCPP_REJECTED;
	/* The chargers have no availability register: the gateway keeps
	 * them at 0 W while inoperative. */
	for (int k = 0; k < c->d->site.n_conns; k++)
		if (connector == 0 || connector == k + 1)
			site_set_inoperative(&c->d->site, k, !operative);
	daemon_schedule_run(c->d);
	log_info("connector %d %s (backend)", connector, operative ?
	    "operative" : "inoperative");
	return OCPP_ACCEPTED;
}

static void
cb_reset(void *ud, bool hard)
{
	struct cloud *c = ud;

	log_info("%s reset asked by the backend: restarting", hard ? "hard" :
	    "soft");
	daemon_restart(c->d);
}

static enum ocpp_result
cb_firmware(void *ud, const char *url, int64_t retrieve_ms)
{
	struct cloud *c = ud;
	int sent = 0;

	(void)retrieve_ms;
	if (c->d->sb == NULL)
		return OCPP_REJECTED;
	for (int ch = 0; ch < c->d->site.n_chargers; ch++)
		if (sb_submit_command(c->d->sb, (size_t)ch, 0, SB_CMD_FIRMWARE,
		    0, url, NULL) == 0)
			sent++;
	log_info("firmware update handed to %d charger%s", sent,
	    sent == 1 ? "" : "s");
	if (sent == 0)
		return OCPP_REJECTED;
	(void)ocpp_session_firmware_status(c->s, "Installing");
	return OCPP_ACCEPTED;
}

/* The index of an ext key in site_setting_keys. */
static size_t
ext_index(const struct cloud *c, const struct ocpp_ext_key *k)
{
	return (size_t)(k - c->ext);
}

static int
cb_config_get(void *ud, const struct ocpp_ext_key *k, char *buf, size_t len)
{
	struct cloud *c = ud;
	size_t i = ext_index(c, k);

	if (i >= site_n_setting_keys)
		return -1;
	site_lb_format(&c->d->site.lb, i, buf, len);
	return 0;
}

static enum ocpp_result
cb_config_set(void *ud, const struct ocpp_ext_key *k, const char *value,
    char **cause)
{
	struct cloud *c = ud;
	struct daemon *d = c->d;
	struct site_lb lb = d->site.lb, file;
	size_t i = ext_index(c, k);
	char fv[32], *why = NULL;

	if (i >= site_n_setting_keys)
		return OCPP_UNKNOWN;
	if (site_lb_parse(&lb, &d->cfg, i, value, cause) != 0)
		return OCPP_REJECTED;
	/* Persisted before it takes effect. */
	site_lb_from_cfg(&d->cfg, &file);
	if (store_setting_set(d->store, site_setting_keys[i].key, value,
	    site_lb_format(&file, i, fv, sizeof(fv)), &why) != 0) {
		xasprintf(cause, "cannot persist: %s", why);
		free(why);
		return OCPP_REJECTED;
	}
	d->lb_backend[i] = true;
	site_set_lb(&d->site, &lb);
	(void)site_update_caps(&d->site, mono_now_ms());
	daemon_schedule_run(d);
	log_info("settings: %s = %s (backend)", site_setting_keys[i].key, value);
	return OCPP_ACCEPTED;
}

static void
cb_config_changed(void *ud, const char *key16, const char *value)
{
	struct cloud *c = ud;
	char k[96], *cause = NULL;

	snprintf(k, sizeof(k), CFG_PREFIX "%s", key16);
	if (store_setting_set(c->d->store, k, value, NULL, &cause) != 0) {
		log_warnx("store: %s not kept: %s", key16, cause);
		free(cause);
	}
}

static void
cb_link_state(void *ud, bool online, bool accepted)
{
	struct cloud *c = ud;
	struct daemon *d = c->d;
	enum site_cloud st = online && accepted ? SITE_CLOUD_CONNECTED :
	    SITE_CLOUD_OFFLINE;

	if (online != c->last_online || accepted != c->last_accepted)
		log_info("backend %s%s", online ? "connected" : "unreachable",
		    online && !accepted ? " (not accepted yet)" : "");
	c->last_online = online;
	c->last_accepted = accepted;
	if (st == SITE_CLOUD_OFFLINE && d->site.cloud == SITE_CLOUD_CONNECTING)
		return; /* still trying since start: the same clock runs */
	site_set_cloud(&d->site, st, mono_now_ms(), wall_now_ms());
	(void)site_update_caps(&d->site, mono_now_ms());
	(void)cloud_apply_profiles(d);
	daemon_schedule_run(d);
}

static struct ocpp_callbacks callbacks = {
	.remote_start = cb_remote_start,
	.remote_stop = cb_remote_stop,
	.unlock = cb_unlock,
	.change_availability = cb_availability,
	.reset = cb_reset,
	.update_firmware = cb_firmware,
	.config_get = cb_config_get,
	.config_set = cb_config_set,
	.config_changed = cb_config_changed,
	.profile_action = cb_profile_action,
	.link_state = cb_link_state,
};

/* ---- Set-up ----------------------------------------------------------- */

/* Applies a session key the backend changed before (kept in the store). */
static int
apply_kept(const char *key, const char *value, const char *file_value,
    void *arg)
{
	struct cloud *c = arg;

	(void)file_value;
	if (strncmp(key, CFG_PREFIX, strlen(CFG_PREFIX)) != 0)
		return 0;
	if (ocpp_settings_apply(&c->st, key + strlen(CFG_PREFIX), value) != 0)
		log_warnx("kept setting %s = %s ignored", key, value);
	return 0;
}

int
cloud_prepare(struct daemon *d, struct lws_context_creation_info *info,
    const void *extra_protocols, char **cause)
{
	struct cloud *c = &cloud_state;
	const struct lws_protocols *p = ocpp_lws_protocols();
	const struct lws_protocols *x = extra_protocols;
	size_t n = 0;

	memset(c, 0, sizeof(*c));
	c->d = d;
	if (d->cfg.csms.url[0] == '\0') {
		info->protocols = x;
		return 0;
	}
	for (; p->name != NULL && n < MAX_PROTOCOLS - 2; p++)
		c->protocols[n++] = *p;
	for (; x->name != NULL && n < MAX_PROTOCOLS - 1; x++)
		c->protocols[n++] = *x;
	info->protocols = c->protocols;

	ocpp_settings_defaults(&c->st);
	c->st.version = d->cfg.csms.ocpp_version == CFG_OCPP_201 ? OCPP_V201 :
	    OCPP_V16;
	c->st.url = d->cfg.csms.url;
	c->st.identity = d->cfg.csms.identity;
	c->st.security_profile = d->cfg.csms.security_profile;
	c->st.password = d->cfg.csms.password;
	c->st.ca_file = d->cfg.csms.ca_file;
	c->st.client_cert = d->cfg.csms.client_cert;
	c->st.client_key = d->cfg.csms.client_key;
	c->st.heartbeat_interval_s = d->cfg.csms.heartbeat_interval_s;
	c->st.retry_backoff_min_s = d->cfg.csms.retry_backoff_min_s;
	c->st.retry_backoff_random_s = d->cfg.csms.retry_backoff_random_s;
	c->st.retry_backoff_repeat = d->cfg.csms.retry_backoff_repeat;
	c->st.ping_interval_s = d->cfg.csms.ping_interval_s;
	c->st.ping_timeout_s = d->cfg.csms.ping_timeout_s;
	if (ocpp_settings_check(&c->st, cause) != 0)
		return -1;
	ocpp_context_info(info, &c->st);
	return 0;
}

int
cloud_init(struct daemon *d, char **cause)
{
	struct cloud *c = &cloud_state;
	struct site *s = &d->site;

	if (d->cfg.csms.url[0] == '\0')
		return 0;
	if (store_setting_foreach(d->store, apply_kept, c, cause) != 0)
		return -1;
	c->scv = c->st.version == OCPP_V201 ? SC_V201 : SC_V16;
	sc_set_init(&c->profiles);
	c->scc = xcalloc((size_t)s->n_conns + 1, sizeof(*c->scc));
	c->held = xcalloc((size_t)s->n_conns + 1, sizeof(*c->held));
	c->pending = xcalloc((size_t)s->n_conns + 1, sizeof(*c->pending));
	if (store_profile_foreach(d->store, load_profile, c, cause) != 0)
		return -1;
	availability_load(c);
	if (c->profiles.n > 0)
		log_info("%zu charging profile%s loaded from the store",
		    c->profiles.n, c->profiles.n == 1 ? "" : "s");

	c->conn = xcalloc((size_t)s->n_conns + 1, sizeof(*c->conn));
	c->station.vendor = "ocpp-edge";
	c->station.model = "site-gateway";
	c->station.serial = d->cfg.site.id;
	c->station.firmware = PACKAGE_VERSION;
	c->station.n_connectors = s->n_conns;
	c->station.conn = c->conn;
	for (int k = 0; k <= s->n_conns; k++) {
		c->conn[k].status = OCPP_ST_AVAILABLE;
		c->conn[k].phases = k == 0 ? s->bsite.phases :
		    d->cfg.chargers[s->conns[k - 1].charger].phases;
	}
	for (size_t i = 0; i < site_n_setting_keys && i < ARRAY_SIZE(c->ext) -
	    1; i++) {
		c->ext[i].key16 = site_setting_keys[i].key16;
		c->ext[i].component = "LoadBalancer";
		c->ext[i].variable = site_setting_keys[i].variable;
		c->ext[i].readonly = false;
	}
	callbacks.ext_keys = c->ext;
	c->s = ocpp_session_new(d->lws, &c->st, &c->station, &callbacks,
	    &queue_ops, c, cause);
	if (c->s == NULL)
		return -1;
	(void)cloud_apply_profiles(d);
	return 0;
}

void
cloud_finalise(struct daemon *d)
{
	struct cloud *c = &cloud_state;

	if (c->s != NULL)
		ocpp_session_free(c->s);
	c->s = NULL;
	sc_set_free(&c->profiles);
	free(c->scc);
	free(c->held);
	c->held = NULL;
	if (c->pending != NULL)
		for (int k = 0; k < d->site.n_conns; k++)
			sc_profile_free(c->pending[k]);
	free(c->pending);
	c->pending = NULL;
	free(c->conn);
	c->scc = NULL;
	c->conn = NULL;
}

/* The station status of a connector from its register and link. */
static enum ocpp_conn_status
ocpp_status(int st, bool online, bool inoperative)
{
	if (!online || inoperative)
		return OCPP_ST_UNAVAILABLE;
	switch (site_bal_state(st)) {
	case BAL_ST_AVAILABLE:
		return OCPP_ST_AVAILABLE;
	case BAL_ST_PREPARING:
		return OCPP_ST_PREPARING;
	case BAL_ST_CHARGING:
		return OCPP_ST_CHARGING;
	case BAL_ST_SUSPENDED_EV:
		return OCPP_ST_SUSPENDED_EV;
	case BAL_ST_SUSPENDED_EVSE:
		return OCPP_ST_SUSPENDED_EVSE;
	case BAL_ST_FINISHING:
		return OCPP_ST_FINISHING;
	case BAL_ST_RESERVED:
		return OCPP_ST_RESERVED;
	case BAL_ST_UNAVAILABLE:
		return OCPP_ST_UNAVAILABLE;
	case BAL_ST_FAULTED:
		return OCPP_ST_FAULTED;
	}
	return OCPP_ST_UNAVAILABLE;
}

/* A reading or 0 when unknown. */
static double
val(double v)
{
	return isfinite(v) && v > 0 ? v : 0;
}

/* 2.0.1 K12: tells the backend (NotifyChargingLimit, source EMS) when a
 * local limit (household, PV, a circuit, the offline fallback) holds a
 * charging connector below what its profiles allow; once per episode. */
static void
notify_limits(struct cloud *c)
{
	const struct site *s = &c->d->site;

	if (c->st.version != OCPP_V201 || !s->have_run ||
	    !ocpp_session_accepted(c->s))
		return;
	for (int k = 0; k < s->n_conns; k++) {
		const struct bal_conn_out *o = &s->out[k];
		int32_t cap = s->conns[k].profile_cap_w;
		bool below = (cap != BAL_NO_CAP || s->cap_source ==
		    SITE_CAP_PROFILE) && s->bconns[k].state == BAL_ST_CHARGING &&
		    s->conns[k].submitted && o->reason != BAL_R_CAPPED_PROFILE &&
		    o->reason != BAL_R_CAPPED_SITE && o->reason != BAL_R_CAPPED_MAX &&
		    o->reason != BAL_R_HELD_NEAR_DRAW &&
		    o->reason != BAL_R_WAITING_FOR_ROOM &&
		    (cap == BAL_NO_CAP || o->setpoint_w < cap);
		char payload[160];

		if (below && !c->held[k]) {
			snprintf(payload, sizeof(payload), "{\"chargingLimit\":"
			    "{\"chargingLimitSource\":\"EMS\",\"isGridCritical\":"
			    "false},\"evseId\":%d}", k + 1);
			if (ocpp_session_send_call(c->s, "NotifyChargingLimit",
			    payload) == 0)
				log_info("%s held below its profile by a local "
				    "limit (%s): backend told",
				    s->conns[k].label, bal_reason_name(o->reason));
			else
				continue; /* tried again on the next tick */
		}
		c->held[k] = below;
	}
}

void
cloud_service(struct daemon *d, int64_t now_ms)
{
	struct cloud *c = &cloud_state;
	const struct site *s = &d->site;
	const struct sb_meter_reading *m = &s->meter_reading;

	if (c->s == NULL)
		return;
	/* A transaction that started or ended changes which TxProfiles
	 * apply (and an ended one's are removed): evaluate again. */
	for (int k = 0; k < s->n_conns; k++) {
		if (tx_running(s->bconns[k].state) != c->scc[k].tx_active) {
			(void)cloud_apply_profiles(d);
			daemon_schedule_run(d);
			break;
		}
	}
	for (int k = 0; k < s->n_conns; k++) {
		const struct site_conn *sc = &s->conns[k];
		const struct sb_charger_reading *r = &s->readings[sc->charger];
		const struct sb_connector_reading *cr =
		    &r->conn[sc->connector - 1];
		struct ocpp_connector *oc = &c->conn[k + 1];

		if (r->polls == 0 && !r->online)
			continue; /* never read: keep "Available" until known */
		oc->status = ocpp_status(cr->status, r->online,
		    s->inoperative != NULL && s->inoperative[k]);
		oc->fault_error = site_bal_state(cr->status) == BAL_ST_FAULTED;
		oc->power_w = val(cr->power_w);
		oc->energy_wh = val(cr->energy_wh);
		for (int p = 0; p < 3; p++) {
			oc->voltage_v[p] = val(cr->voltage_v[p]);
			oc->current_a[p] = val(cr->current_a[p]);
		}
		oc->meter_valid = r->online;
		strlcpy_ok(oc->id_token, cr->id_token, sizeof(oc->id_token));
	}
	if (m->present) {
		struct ocpp_connector *oc = &c->conn[0];

		oc->power_w = val(m->total_power_w);
		oc->energy_wh = val(m->import_kwh) * 1000.0;
		for (int p = 0; p < 3; p++) {
			oc->voltage_v[p] = val(m->voltage_v[p]);
			oc->current_a[p] = val(m->current_a[p]);
		}
		oc->meter_valid = m->polls > 0 && !m->fault;
	}
	notify_limits(c);
	install_pending(c);
	ocpp_session_service(c->s, now_ms);
}
