/* The charging profiles: the smart-charging engine's set, persisted in
 * the store, evaluated into the site model's caps, and the backend's
 * profile actions (Set/Clear, GetCompositeSchedule, GetChargingProfiles). */
#include "cloud/cloud-private.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "southbound/southbound.h"
#include "store/store.h"

static void unpersist(struct cloud *c, const int *ids, size_t n);

/* A transaction on the connector of OCPP id id ended: its TxProfiles go
 * from the engine and the store (K02.FR.05; 1.6 §3.13.2), so they neither
 * apply to the next transaction nor fill the MaxChargingProfilesInstalled
 * room. */
static void
tx_profiles_end(struct cloud *c, int id, const char *tx_id)
{
	int removed[32];
	size_t n;

	n = sc_set_tx_ended(&c->profiles, id, tx_id[0] != '\0' ? tx_id : NULL,
	    removed, ARRAY_SIZE(removed));
	if (n == 0)
		return;
	log_info("connector %d: transaction ended, %zu TxProfile(s) removed",
	    id, n);
	unpersist(c, removed, n < ARRAY_SIZE(removed) ? n : ARRAY_SIZE(removed));
}

/* Fills the engine's view of the station. */
static void
sc_ctx(struct cloud *c, struct sc_context *ctx, bool with_tx)
{
	struct site *s = c->site;

	for (int k = 0; k < c->ids.n; k++) {
		int id = cloud_ids_id(&c->ids, k);
		struct sc_connector *sc = &c->scc[id - 1];
		bool was_active = sc->tx_active;

		sc->phases = c->cfg->chargers[s->conns[k].charger].phases;
		sc->max_w = s->bconns[k].rated_max_w > 0 ?
		    s->bconns[k].rated_max_w : 0;	/* 0: not read yet */
		/* The session's transaction, which a silent charger or a
		 * restart does not end. */
		sc->tx_active = c->s != NULL && ocpp_session_tx_open(c->s, id);
		if (was_active && !sc->tx_active)
			tx_profiles_end(c, id, sc->tx_id);
		/* The id is also taken when it is not known yet (after a
		 * restart, or once the 1.6 backend gave it), so a TxProfile
		 * restored bound to it applies from the first evaluation. */
		if (sc->tx_active && (with_tx || sc->tx_id[0] == '\0'))
			(void)ocpp_session_transaction(c->s, id, sc->tx_id,
			    sizeof(sc->tx_id));
		else if (!sc->tx_active)
			sc->tx_id[0] = '\0';
		if (sc->tx_active && sc->tx_start_ms == 0)
			sc->tx_start_ms = cloud_wall_ms(c);
		if (!sc->tx_active)
			sc->tx_start_ms = 0;
	}
	memset(ctx, 0, sizeof(*ctx));
	ctx->n_connectors = c->ids.max_id;
	ctx->connectors = c->scc;
	ctx->voltage_v = c->cfg->site.nominal_voltage_v;
	/* Profiles above what the main breaker carries are clamped to it. */
	ctx->site_max_w = (double)cfg_breaker_w(c->cfg, NULL);
	ctx->units = SC_UNITS_W | SC_UNITS_A;
	ctx->max_stack_level = 8;
	ctx->max_periods = 24;
	ctx->max_profiles = 16;
	ctx->ignore_purposes = 0;
	if (s->cloud != SITE_CLOUD_CONNECTED) {
		switch (c->cfg->balancer.offline_profiles) {
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
	ctx->now_ms = cloud_wall_ms(c);
}

void
cloud_apply_profiles(struct cloud *c)
{
	struct site *s = c->site;
	struct sc_context ctx;
	struct sc_limit lim;
	int64_t next, wait_ms;

	if (c->s == NULL)
		return;
	sc_ctx(c, &ctx, false);
	if (sc_evaluate(&c->profiles, &ctx, 0, ctx.now_ms, &lim) == 0 &&
	    lim.has_station)
		site_set_profile_cap(s, (int32_t)floor(lim.station_w),
		    lim.station_id);
	else
		site_set_profile_cap(s, BAL_NO_CAP, -1);
	for (int k = 0; k < c->ids.n; k++) {
		char detail[96];

		if (sc_evaluate(&c->profiles, &ctx, cloud_ids_id(&c->ids, k),
		    ctx.now_ms, &lim) == 0 && lim.has_tx) {
			snprintf(detail, sizeof(detail), "%s id %d",
			    sc_purpose_name(c->scv, lim.tx_purpose), lim.tx_id);
			site_set_conn_cap(s, k, (int32_t)floor(lim.tx_w), detail);
		} else {
			site_set_conn_cap(s, k, BAL_NO_CAP, NULL);
		}
	}
	next = sc_next_change(&c->profiles, &ctx, ctx.now_ms);
	if (s->dirty)
		cloud_schedule_run(c);
	if (next == SC_NEVER) {
		c->svc->timer_arm(c->profile_timer, -1);
		return;
	}
	/* A millisecond late, so the change is in force when it fires; a
	 * day at most, checked again then. */
	wait_ms = next - cloud_wall_ms(c);
	if (wait_ms < 0)
		wait_ms = 0;
	if (wait_ms > 24 * 3600 * 1000LL)
		wait_ms = 24 * 3600 * 1000LL;
	c->svc->timer_arm(c->profile_timer, wait_ms + 1);
}

/* What is really applied to connector k (0 = the site) at at_ms, for the
 * composite schedule: the schedule's value, held down by the local
 * limits in force now. */
static double
applied_w(void *ud, int connector, int64_t at_ms, double schedule_w)
{
	(void)at_ms;
	return site_applied_w(ud, connector, schedule_w);
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
	if (store_profile_put(c->store, &sp, NULL, &cause) != 0) {
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

		if (store_profile_delete(c->store, ids[i], NULL, &cause) != 0) {
			log_warnx("store: profile %d not deleted: %s", ids[i],
			    cause);
			free(cause);
		}
	}
}

/* The one way a profile enters the set: bound to the transaction running
 * on its connector (TxProfile), installed with the replacement rules,
 * the profiles it replaced deleted from the store and it saved there.
 * Takes p; what says where it came from, for the log.  Returns its id. */
static int
install_profile(struct cloud *c, struct sc_profile *p,
    const struct sc_context *ctx, const char *what)
{
	const struct sc_profile *in;
	int replaced[32], id = p->id;
	size_t n;

	sc_profile_bind(p, ctx);
	n = sc_set_install(&c->profiles, p, replaced, ARRAY_SIZE(replaced));
	for (size_t i = 0; i < n && i < ARRAY_SIZE(replaced); i++)
		if (replaced[i] != id)
			unpersist(c, &replaced[i], 1);
	(void)persist_profile(c, id);
	in = sc_set_find(&c->profiles, id);
	log_info("charging profile %d%s installed on connector %d", id, what,
	    in != NULL ? in->connector : -1);
	return id;
}

/* SetChargingProfile: engine, store, caps. */
static char *
set_profile(struct cloud *c, const char *payload, enum ocpp_rpc_error *error)
{
	struct sc_context ctx;
	struct sc_verdict v;
	struct sc_profile *p = NULL;

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
	(void)install_profile(c, p, &ctx, "");
	v.status = SC_ACCEPTED;
	v.reason_code = NULL;
	v.malformed = false;
	v.reason[0] = '\0';
	cloud_apply_profiles(c);
	return sc_verdict_json(c->scv, &v);
}

/* ClearChargingProfile: engine, store, caps. */
static char *
clear_profiles(struct cloud *c, const char *payload,
    enum ocpp_rpc_error *error)
{
	struct sc_verdict v;
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
	cloud_apply_profiles(c);
	return sc_clear_response(c->scv, n);
}

/* GetCompositeSchedule: the profiles held down by the local limits. */
static char *
composite_schedule(struct cloud *c, const char *payload,
    enum ocpp_rpc_error *error)
{
	struct sc_context ctx;
	struct sc_verdict v;
	struct sc_composite_opts o;
	char *out;

	sc_ctx(c, &ctx, false);
	memset(&o, 0, sizeof(o));
	o.max_w = c->site->lb.available_power_w;
	o.local_cap_w = -1;
	o.applied_w = applied_w;
	o.ud = c->site;
	out = sc_composite_request(&c->profiles, &ctx, c->scv, payload, &o, &v);
	if (out == NULL)
		*error = OCPP_RPC_PROPERTY;
	return out;
}

/* GetChargingProfiles: the answer, and the reports sent after it. */
static char *
get_profiles(struct cloud *c, const char *payload, enum ocpp_rpc_error *error)
{
	struct sc_verdict v;
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

/* The profile actions the daemon answers (the session validated the
 * payload against its schema before). */
static const struct profile_action {
	const char *action;
	char *(*handle)(struct cloud *c, const char *payload,
	    enum ocpp_rpc_error *error);
} profile_actions[] = {
	{ "SetChargingProfile", set_profile },
	{ "ClearChargingProfile", clear_profiles },
	{ "GetCompositeSchedule", composite_schedule },
	{ "GetChargingProfiles", get_profiles },
	{ "DataTransfer", cloud_data_transfer },
};

char *
cloud_on_profile_action(void *ud, const char *action, const char *payload,
    enum ocpp_rpc_error *error)
{
	for (size_t i = 0; i < ARRAY_SIZE(profile_actions); i++)
		if (strcmp(profile_actions[i].action, action) == 0)
			return profile_actions[i].handle(ud, payload, error);
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


/* Installs the TxProfiles of remote starts whose transaction runs now. */
void
cloud_install_pending(struct cloud *c)
{
	struct sc_context ctx;
	struct sc_verdict v;

	if (c->n_pending == 0)
		return;
	sc_ctx(c, &ctx, true);
	for (int k = 0; k < c->ids.n; k++) {
		struct sc_profile *p = c->pending[k];
		int id = cloud_ids_id(&c->ids, k);

		if (p == NULL || !c->scc[id - 1].tx_active ||
		    c->scc[id - 1].tx_id[0] == '\0')
			continue;
		c->pending[k] = NULL;
		c->n_pending--;
		sc_profile_bind(p, &ctx);
		if (sc_set_check(&c->profiles, p, &ctx, &v) != 0) {
			log_info("remote start's profile on connector %d not "
			    "installed: %s", id, v.reason);
			sc_profile_free(p);
			continue;
		}
		(void)install_profile(c, p, &ctx, " of the remote start");
		cloud_apply_profiles(c);
	}
}

int
cloud_profiles_load(struct cloud *c, char **cause)
{
	return store_profile_foreach(c->store, load_profile, c, cause);
}
