/* What the backend is told about local limits (OCPP 2.0.1 K12 / K13):
 * when a limit of the site itself holds an EVSE below what the backend's
 * profiles allow, NotifyChargingLimit with the limit as a schedule; when
 * it stops binding, ClearedChargingLimit.  1.6 has neither message.
 *
 * The sources, and how they are named (2.0.1 ChargingLimitSourceEnumType):
 * - the gateway's own energy management (the share of the available
 *   power, the meter budget of ALM / PV, a circuit or phase limit): EMS;
 * - the operator's local limit or pause (ocpp-edgectl limit / pause):
 *   Other.
 * The offline-site cap binds only while the backend is unreachable, when
 * nothing can be sent; a limit told before the outage that no longer
 * binds is cleared once the link is back.
 *
 * A noisy budget must not flood the link: per EVSE, a new frame goes out
 * only when the limit started or stopped binding, changed source, or moved
 * by more than CLOUD_LIMIT_SIGNIFICANCE_PCT of the limit last told, and
 * never sooner than CLOUD_LIMIT_MIN_INTERVAL_MS after the previous one (the
 * state then in force is sent once the interval is over). */
#include "config.h"

#include "cloud/cloud-private.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"

/* The local limit binding connector k (0-based) now, if any. */
static bool
binding_limit(const struct site *s, int k, struct cloud_limit *out)
{
	const struct site_conn *sc = &s->conns[k];
	const struct bal_conn_out *o = &s->out[k];
	enum bal_reason reason;
	bool demanding;

	if (!s->have_run || !sc->submitted)
		return false;
	demanding = s->bconns[k].state == BAL_ST_CHARGING ||
	    s->bconns[k].state == BAL_ST_SUSPENDED_EVSE;
	/* The operator's limit joins the profile cap (site_set_local_cap):
	 * it is what bound when it is below the connector's own profiles. */
	if (demanding && sc->local_cap_w != BAL_NO_CAP &&
	    o->reason == BAL_R_CAPPED_PROFILE &&
	    o->setpoint_w <= sc->local_cap_w && !(sc->profile_cap_w !=
	    BAL_NO_CAP && sc->profile_cap_w <= sc->local_cap_w)) {
		out->source = CLOUD_LIMIT_OTHER;
		out->limit_w = o->setpoint_w;
		out->grid_critical = false;
		out->until_epoch_ms = sc->local_until_ms;
		return true;
	}
	if (!site_held_below_profile(s, k, &reason))
		return false;
	out->source = CLOUD_LIMIT_EMS;
	out->limit_w = o->setpoint_w;
	/* A circuit's or the main connection's current: what keeps the
	 * site's fuses (its grid connection) from tripping. */
	out->grid_critical = reason == BAL_R_CAPPED_CIRCUIT ||
	    reason == BAL_R_CAPPED_PHASE;
	out->until_epoch_ms = 0;
	return true;
}

static const char *
source_name(enum cloud_limit_source src)
{
	switch (src) {
	case CLOUD_LIMIT_EMS:
		return "EMS";
	case CLOUD_LIMIT_OTHER:
		return "Other";
	}
	return "Other";
}

/* True when want differs from what was told enough to say so. */
static bool
significant(const struct cloud_limit_told *t, bool binding,
    const struct cloud_limit *want)
{
	int64_t diff;

	if (binding != t->told)
		return true;
	if (!binding)
		return false;
	if (want->source != t->limit.source ||
	    want->grid_critical != t->limit.grid_critical ||
	    want->until_epoch_ms != t->limit.until_epoch_ms)
		return true;
	diff = (int64_t)want->limit_w - t->limit.limit_w;
	if (diff < 0)
		diff = -diff;
	return diff * 100 > (int64_t)t->limit.limit_w *
	    CLOUD_LIMIT_SIGNIFICANCE_PCT || (t->limit.limit_w == 0 && diff > 0);
}

/* NotifyChargingLimit for EVSE evse (site connector k): the limit as a
 * schedule from now (until its end when it has one).  Caller frees. */
static char *
notify_payload(const struct site *s, int k, int evse,
    const struct cloud_limit *l, int64_t epoch_ms)
{
	char start[40];
	json_t *period, *sched, *p;
	int phases = s->chargers[s->conns[k].charger].phases;
	char *text;

	period = json_pack("{sisf}", "startPeriod", 0, "limit",
	    (double)l->limit_w);
	if (period != NULL && (phases == 1 || phases == 3))
		json_object_set_new(period, "numberPhases",
		    json_integer(phases));
	sched = json_pack("{sisssss[o]}", "id", evse, "startSchedule",
	    format_rfc3339(epoch_ms, start, sizeof(start)),
	    "chargingRateUnit", "W", "chargingSchedulePeriod", period);
	if (sched != NULL && l->until_epoch_ms > epoch_ms)
		json_object_set_new(sched, "duration", json_integer(
		    (l->until_epoch_ms - epoch_ms + 999) / 1000));
	p = json_pack("{s{sssb}s[o]si}", "chargingLimit",
	    "chargingLimitSource", source_name(l->source), "isGridCritical",
	    l->grid_critical, "chargingSchedule", sched, "evseId", evse);
	if (p == NULL)
		return NULL;
	text = json_dumps(p, JSON_COMPACT);
	json_decref(p);
	return text;
}

/* Sends what site connector k's EVSE should be told now; true when it
 * went out. */
static bool
tell(struct cloud *c, int k, bool binding, const struct cloud_limit *want,
    int64_t epoch_ms)
{
	struct cloud_limit_told *t = &c->limits[k];
	const char *label = c->site->conns[k].label;
	char payload[96];
	char *text;
	int rc;

	/* A limit of another source replaces the one told: that one is
	 * cleared first (K13). */
	if (t->told && (!binding || want->source != t->limit.source)) {
		snprintf(payload, sizeof(payload), "{\"chargingLimitSource\":"
		    "\"%s\",\"evseId\":%d}", source_name(t->limit.source),
		    cloud_ids_id(&c->ids, k));
		if (ocpp_session_send_call(c->s, "ClearedChargingLimit",
		    payload) != 0)
			return false;
		t->told = false;
		log_info("%s: local limit (%s) no longer binds: backend told",
		    label, source_name(t->limit.source));
	}
	if (!binding)
		return true;
	text = notify_payload(c->site, k, cloud_ids_id(&c->ids, k), want,
	    epoch_ms);
	rc = text != NULL ? ocpp_session_send_call(c->s, "NotifyChargingLimit",
	    text) : -1;
	free(text);
	if (rc != 0)
		return false;
	t->told = true;
	t->limit = *want;
	log_info("%s held at %d W by a local limit (%s): backend told", label,
	    (int)want->limit_w, source_name(want->source));
	return true;
}

void
cloud_limits_update(struct cloud *c, int64_t now_ms, int64_t epoch_ms)
{
	const struct site *s = c->site;

	if (c->st.version != OCPP_V201 || c->limits == NULL ||
	    !ocpp_session_accepted(c->s))
		return;
	for (int k = 0; k < c->ids.n; k++) {
		struct cloud_limit_told *t = &c->limits[k];
		struct cloud_limit want = { 0 };
		bool binding = binding_limit(s, k, &want);

		if (!significant(t, binding, &want))
			continue;
		if (t->sent && now_ms - t->last_ms < CLOUD_LIMIT_MIN_INTERVAL_MS)
			continue; /* the state then in force goes out later */
		if (tell(c, k, binding, &want, epoch_ms)) {
			t->sent = true;
			t->last_ms = now_ms;
		}
	}
}
