/* Charging profiles: evaluation at an instant (stacking, A to W) and
 * composite schedules.  Requirement ids in comments are OCPP 2.0.1 part 2
 * (K01..K10) unless marked 1.6. */
#include "config.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "ocpp/smartcharging-private.h"

#define DAY_MS (86400LL * 1000)
#define WEEK_MS (7 * DAY_MS)
/* Bounds on a composite's length and number of periods. */
#define COMPOSITE_MAX_S (31 * 86400)
#define COMPOSITE_MAX_STEPS 100000

/* ---- Evaluation ---- */

/* Where a profile stands at time t. */
struct pstate {
	bool active;
	const struct sc_period *period;
	int64_t next_ms;	/* next instant its state may change */
};

/* Evaluates one profile at t.  anchor_ms is where a Relative schedule
 * starts; anchor_moves says it is "now" (no transaction), so that its
 * period boundaries are not real changes. */
static void
profile_at(const struct sc_profile *p, int64_t t, int64_t anchor_ms,
    bool anchor_moves, struct pstate *st)
{
	int64_t vt = p->has_valid_to ? p->valid_to_ms : SC_NEVER;
	int64_t base, elapsed, cycle = 0, dur, next;
	size_t i;

	st->active = false;
	st->period = NULL;
	st->next_ms = SC_NEVER;
	/* K01.FR.36, K01.FR.37 */
	if (p->has_valid_from && t < p->valid_from_ms) {
		st->next_ms = p->valid_from_ms;
		return;
	}
	if (t >= vt)
		return;
	base = p->kind == SC_RELATIVE ? anchor_ms : p->start_ms;
	/* K01.FR.30: nothing before startSchedule. */
	if (t < base) {
		st->next_ms = base < vt ? base : vt;
		return;
	}
	elapsed = t - base;
	if (p->kind == SC_RECURRING) {
		cycle = p->recurrency == SC_RECUR_WEEKLY ? WEEK_MS : DAY_MS;
		elapsed %= cycle;
		base = t - elapsed;
	}
	dur = p->has_duration ? (int64_t)p->duration_s * 1000 :
	    cycle ? cycle : SC_NEVER;
	/* K01.FR.13, K02.FR.08: past the duration, lower levels apply. */
	if (elapsed >= dur) {
		next = cycle ? base + cycle : SC_NEVER;
		st->next_ms = next < vt ? next : vt;
		return;
	}
	for (i = 0; i + 1 < p->n_periods &&
	    (int64_t)p->periods[i + 1].start_s * 1000 <= elapsed; i++)
		;
	st->active = true;
	st->period = &p->periods[i];
	/* K01.FR.11, K01.FR.12 */
	if (i + 1 < p->n_periods &&
	    (int64_t)p->periods[i + 1].start_s * 1000 < dur)
		next = base + (int64_t)p->periods[i + 1].start_s * 1000;
	else
		next = dur == SC_NEVER ? SC_NEVER : base + dur;
	if (p->kind == SC_RELATIVE && anchor_moves)
		next = SC_NEVER;
	st->next_ms = next < vt ? next : vt;
}

/* A candidate with its precedence. */
struct cand {
	const struct sc_profile *p;
	int group;		/* lower wins: TxProfile, TxDefault on k, on 0 */
};

/* qsort order: group ascending, then stack level descending. */
static int
cmp_cand(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->group != y->group)
		return x->group < y->group ? -1 : 1;
	return (y->p->stack_level > x->p->stack_level) -
	    (y->p->stack_level < x->p->stack_level);
}

/* The winning candidate at t: the first active one in precedence
 * order.  *next is the earliest change among it and those before it. */
static const struct cand *
select_winner(struct cand *c, size_t n, int64_t t, int64_t anchor_ms,
    bool anchor_moves, struct pstate *win, int64_t *next)
{
	qsort(c, n, sizeof(*c), cmp_cand);
	for (size_t i = 0; i < n; i++) {
		struct pstate st;

		profile_at(c[i].p, t, anchor_ms, anchor_moves, &st);
		if (st.next_ms < *next)
			*next = st.next_ms;
		if (st.active) {
			*win = st;
			return &c[i];
		}
	}
	return NULL;
}

/* The phases a period stands for on connector k. */
static int
period_phases(const struct sc_context *ctx, int k, const struct sc_period *pe)
{
	if (pe->phases > 0)
		return pe->phases;
	if (k > 0 && ctx->connectors[k - 1].phases > 0)
		return ctx->connectors[k - 1].phases;
	return 3;		/* K01.FR.49 */
}

/* The physical maximum of connector k's scope (0 = the site), W. */
static double
scope_max_w(const struct sc_context *ctx, int k)
{
	double site = ctx->site_max_w > 0 && ctx->site_max_w < SC_POWER_MAX_W ?
	    ctx->site_max_w : SC_POWER_MAX_W;
	double conn = k > 0 ? ctx->connectors[k - 1].max_w : 0;

	return conn > 0 && conn < site ? conn : site;
}

/* A value in unit as W with the given phases, clamped to the physical
 * maximum of connector k's scope: a profile may say 1e308 A, what
 * reaches the balancer is never more than the site could draw. */
static double
to_w(const struct sc_context *ctx, int k, enum sc_unit u, double v,
    int phases)
{
	double w = u == SC_UNIT_W ? v : v * ctx->voltage_v * phases;
	double max = scope_max_w(ctx, k);

	if (!(w >= 0))		/* NaN cannot come from a parsed profile */
		return 0;
	return w < max ? w : max;
}

/* Evaluates connector k at t; anchor as in profile_at for connectors
 * without a transaction. */
static void
evaluate(const struct sc_set *set, const struct sc_context *ctx, int k,
    int64_t t, int64_t anchor_ms, bool anchor_moves, struct sc_limit *out)
{
	struct cand *c = xcalloc(set->n + 1, sizeof(*c));
	size_t n = 0;
	const struct cand *w;
	struct pstate st;
	const struct sc_connector *conn = k > 0 ? &ctx->connectors[k - 1] :
	    NULL;
	int64_t tx_anchor = anchor_ms;
	bool tx_moves = anchor_moves;
	int station_ph = 3, tx_ph = 3;

	memset(out, 0, sizeof(*out));
	out->profile_id = out->station_id = out->tx_id = -1;
	out->next_change_ms = SC_NEVER;

	/* The station-wide cap. */
	for (size_t i = 0; i < set->n; i++)
		if (set->v[i]->purpose == SC_STATION_MAX &&
		    set->v[i]->connector == 0 &&
		    !(ctx->ignore_purposes & (1u << SC_STATION_MAX)))
			c[n++] = (struct cand){ set->v[i], 0 };
	w = select_winner(c, n, t, anchor_ms, anchor_moves, &st,
	    &out->next_change_ms);
	if (w != NULL) {
		station_ph = period_phases(ctx, 0, st.period);
		out->has_station = true;
		out->station_w = to_w(ctx, 0, w->p->unit, st.period->limit,
		    station_ph);
		out->station_id = w->p->id;
	}

	if (k > 0) {
		/* K02.FR.04: TxProfile over TxDefaultProfile; a TxDefault on
		 * the connector over the one on 0 (1.6 §3.13.2). */
		n = 0;
		for (size_t i = 0; i < set->n; i++) {
			const struct sc_profile *p = set->v[i];

			if (ctx->ignore_purposes & (1u << p->purpose))
				continue;
			if (p->purpose == SC_TX && p->connector == k &&
			    conn->tx_active && (p->tx_id[0] == '\0' ||
			    strcmp(p->tx_id, conn->tx_id) == 0))
				c[n++] = (struct cand){ p, 0 };
			else if (p->purpose == SC_TX_DEFAULT &&
			    p->connector == k)
				c[n++] = (struct cand){ p, 1 };
			else if (p->purpose == SC_TX_DEFAULT &&
			    p->connector == 0)
				c[n++] = (struct cand){ p, 2 };
		}
		if (conn->tx_active) {
			tx_anchor = conn->tx_start_ms;
			tx_moves = false;
		}
		w = select_winner(c, n, t, tx_anchor, tx_moves, &st,
		    &out->next_change_ms);
		if (w != NULL) {
			tx_ph = period_phases(ctx, k, st.period);
			out->has_tx = true;
			out->tx_w = to_w(ctx, k, w->p->unit, st.period->limit,
			    tx_ph);
			out->tx_id = w->p->id;
			out->tx_purpose = w->p->purpose;
			if (w->p->has_min_rate)
				out->min_rate_w = to_w(ctx, k, w->p->unit,
				    w->p->min_rate, tx_ph);
		}
	}
	free(c);

	/* SC.01, K08.FR.04: the lowest of what applies. */
	if (out->has_tx && (!out->has_station || out->tx_w <= out->station_w)) {
		out->limited = true;
		out->limit_w = out->tx_w;
		out->phases = tx_ph;
		out->purpose = out->tx_purpose;
		out->profile_id = out->tx_id;
	} else if (out->has_station) {
		out->limited = true;
		out->limit_w = out->station_w;
		out->phases = station_ph;
		out->purpose = SC_STATION_MAX;
		out->profile_id = out->station_id;
	} else {
		out->phases = k > 0 && conn->phases > 0 ? conn->phases : 3;
	}
	if (out->limited)
		out->limit_a = out->limit_w / (ctx->voltage_v * out->phases);
}

/* Evaluates connector k at now_ms. */
int
sc_evaluate(const struct sc_set *set, const struct sc_context *ctx,
    int connector, int64_t now_ms, struct sc_limit *out)
{
	if (connector < 0 || connector > ctx->n_connectors)
		return -1;
	evaluate(set, ctx, connector, now_ms, now_ms, true, out);
	return 0;
}

/* The earliest change over every connector. */
int64_t
sc_next_change(const struct sc_set *set, const struct sc_context *ctx,
    int64_t now_ms)
{
	int64_t next = SC_NEVER;

	for (int k = 0; k <= ctx->n_connectors; k++) {
		struct sc_limit l;

		evaluate(set, ctx, k, now_ms, now_ms, true, &l);
		if (l.next_change_ms < next)
			next = l.next_change_ms;
	}
	return next;
}

/* ---- Composite schedules ---- */

/* Rounds to 0.1 (the 1.6 schema's multipleOf for limits). */
static double
round_tenth(double v)
{
	return round(v * 10.0) / 10.0;
}

/* Computes the composite schedule of connector k. */
int
sc_composite(const struct sc_set *set, const struct sc_context *ctx,
    int connector, int64_t start_ms, int32_t duration_s, enum sc_unit unit,
    const struct sc_composite_opts *opts, struct sc_composite *out,
    struct sc_verdict *vd)
{
	const char *cname = "connector";
	int64_t s = start_ms, end;
	size_t cap = 8;
	int steps = 0;

	memset(out, 0, sizeof(*out));
	/* K08.FR.05 */
	if (connector < 0 || connector > ctx->n_connectors || (connector > 0 &&
	    ctx->connectors[connector - 1].absent))
		return sc_verdict_set(vd, SC_REJECTED, "UnknownEvse", false,
		    "%s %d does not exist (valid 0..%d)", cname, connector,
		    ctx->n_connectors);
	/* K08.FR.07 */
	if ((ctx->units & (1u << unit)) == 0)
		return sc_verdict_set(vd, SC_REJECTED, "UnsupportedRateUnit", false,
		    "chargingRateUnit %s is not supported",
		    unit == SC_UNIT_W ? "W" : "A");
	if (duration_s <= 0 || duration_s > COMPOSITE_MAX_S)
		return sc_verdict_set(vd, SC_REJECTED, "InvalidValue", false,
		    "duration is %d s, valid 1..%d", duration_s,
		    COMPOSITE_MAX_S);
	out->connector = connector;
	out->start_ms = start_ms;
	out->duration_s = duration_s;
	out->unit = unit;
	out->periods = xcalloc(cap, sizeof(*out->periods));
	end = start_ms + (int64_t)duration_s * 1000;
	while (s < end && steps++ < COMPOSITE_MAX_STEPS) {
		struct sc_limit lim;
		double w, value;
		struct sc_composite_period *last;
		int32_t at;

		/* K08.FR.06: as if a transaction started at start_ms. */
		evaluate(set, ctx, connector, s, start_ms, false, &lim);
		w = lim.limited ? lim.limit_w : opts->max_w;
		if (opts->applied_w != NULL)
			w = opts->applied_w(opts->ud, connector, s, w);
		if (opts->local_cap_w >= 0 && opts->local_cap_w < w)
			w = opts->local_cap_w;
		if (w < 0)
			w = 0;
		value = round_tenth(unit == SC_UNIT_W ? w :
		    w / (ctx->voltage_v * lim.phases));
		at = (int32_t)((s - start_ms) / 1000);
		last = out->n_periods ? &out->periods[out->n_periods - 1] :
		    NULL;
		if (last != NULL && last->start_s == at) {
			last->limit = value;
			last->phases = lim.phases;
		} else if (last == NULL || last->limit != value ||
		    last->phases != lim.phases) {
			if (out->n_periods == cap) {
				cap *= 2;
				out->periods = xrealloc(out->periods,
				    cap * sizeof(*out->periods));
			}
			out->periods[out->n_periods++] =
			    (struct sc_composite_period){ at, value,
			    lim.phases };
		}
		/* Merge a period equal to the one before it (after an
		 * overwrite above). */
		if (out->n_periods >= 2) {
			struct sc_composite_period *a =
			    &out->periods[out->n_periods - 2];
			struct sc_composite_period *b =
			    &out->periods[out->n_periods - 1];

			if (a->limit == b->limit && a->phases == b->phases)
				out->n_periods--;
		}
		s = lim.next_change_ms > s ? lim.next_change_ms : s + 1000;
	}
	sc_verdict_ok(vd);
	return 0;
}

/* Frees the periods. */
void
sc_composite_free(struct sc_composite *c)
{
	free(c->periods);
	c->periods = NULL;
	c->n_periods = 0;
}

/* A JSON number: an integer when whole. */
static json_t *
number(double v)
{
	if (v == floor(v) && fabs(v) < 1e15)
		return json_integer((json_int_t)v);
	return json_real(v);
}

/* The chargingSchedulePeriod array of a composite. */
static json_t *
periods_json(const struct sc_composite *c)
{
	json_t *a = json_array();

	for (size_t i = 0; i < c->n_periods; i++)
		json_array_append_new(a, json_pack("{s:i, s:o, s:i}",
		    "startPeriod", c->periods[i].start_s, "limit",
		    number(c->periods[i].limit), "numberPhases",
		    c->periods[i].phases));
	return a;
}

/* Answers a GetCompositeSchedule request. */
char *
sc_composite_request(const struct sc_set *set, const struct sc_context *ctx,
    enum sc_version v, const char *payload,
    const struct sc_composite_opts *opts, struct sc_verdict *vd)
{
	json_error_t err;
	json_t *root = json_loads(payload, 0, &err), *o = NULL;
	const char *us;
	long long conn = 0, dur = 0;
	enum sc_unit unit = (ctx->units & SC_UNITS_W) ? SC_UNIT_W : SC_UNIT_A;
	struct sc_composite c;
	char start[40], *s;
	int r;

	if (root == NULL || !json_is_object(root)) {
		sc_verdict_set(vd, SC_REJECTED, "InvalidValue", true,
		    "the payload must be a JSON object");
		goto answer;
	}
	if (sc_json_int(root, "", v == SC_V16 ? "connectorId" : "evseId", true, 0,
	    INT32_MAX, &conn, vd) < 0 ||
	    sc_json_int(root, "", "duration", true, 0, INT32_MAX, &dur, vd) < 0 ||
	    (r = sc_json_str(root, "", "chargingRateUnit", false, &us, vd)) < 0)
		goto answer;
	if (r == 1) {
		if (strcmp(us, "W") == 0)
			unit = SC_UNIT_W;
		else if (strcmp(us, "A") == 0)
			unit = SC_UNIT_A;
		else {
			sc_verdict_set(vd, SC_REJECTED, "InvalidValue", true,
			    "chargingRateUnit \"%.20s\" is not W or A", us);
			goto answer;
		}
	}
	if (sc_composite(set, ctx, (int)conn, ctx->now_ms, (int32_t)dur, unit,
	    opts, &c, vd) < 0)
		goto answer;
	format_rfc3339(c.start_ms, start, sizeof(start));
	if (v == SC_V16) {
		o = json_pack("{s:s, s:i, s:s, s:{s:i, s:s, s:s, s:o}}",
		    "status", "Accepted", "connectorId", c.connector,
		    "scheduleStart", start, "chargingSchedule", "duration",
		    c.duration_s, "startSchedule", start, "chargingRateUnit",
		    unit == SC_UNIT_W ? "W" : "A", "chargingSchedulePeriod",
		    periods_json(&c));
	} else {
		o = json_pack("{s:s, s:{s:i, s:i, s:s, s:s, s:o}}", "status",
		    "Accepted", "schedule", "evseId", c.connector, "duration",
		    c.duration_s, "scheduleStart", start, "chargingRateUnit",
		    unit == SC_UNIT_W ? "W" : "A", "chargingSchedulePeriod",
		    periods_json(&c));
	}
	sc_composite_free(&c);
answer:
	json_decref(root);
	if (o == NULL) {
		if (vd->status == SC_ACCEPTED)	/* out of memory */
			sc_verdict_set(vd, SC_REJECTED, "InternalError", false,
			    "the composite schedule could not be built");
		vd->status = SC_REJECTED;
		return sc_verdict_json(v, vd);
	}
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER |
	    JSON_REAL_PRECISION(12));
	json_decref(o);
	if (s == NULL)
		abort();
	return s;
}
