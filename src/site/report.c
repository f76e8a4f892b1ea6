/* Reports of the site model (see site.h): what the control socket shows,
 * as plain structs filled from the model, so that no reader outside
 * src/site/ needs to know struct site's fields. */
#include "site/site.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"

void
site_report(const struct site *s, struct site_report *r)
{
	const struct sb_meter_reading *m = &s->meter_reading;
	struct site_meter_view *mv = &r->meter;

	memset(r, 0, sizeof(*r));
	r->cap_w = s->cap_w;
	r->cap_source = site_cap_source_name(s->cap_source);
	r->profile_id = s->cap_source == SITE_CAP_PROFILE ? s->profile_site_id :
	    -1;
	r->budget_w = s->site_out.budget_w > 0 ? s->site_out.budget_w : 0;
	r->allocated_w = s->site_out.allocated_w;
	/* the balancer's "cloud" is the site cap in force, which may be the
	 * offline fallback or a profile kept while the backend is away */
	r->balancer_source = s->site_out.cap_source == BAL_CAP_CLOUD ?
	    site_cap_source_name(s->cap_source) :
	    bal_cap_source_name(s->site_out.cap_source);
	for (int i = 0; i < s->n_conns; i++) {
		const struct site_conn *sc = &s->conns[i];
		const struct sb_charger_reading *rd = &s->readings[sc->charger];

		if (sc->submitted && rd->online &&
		    fabs(rd->conn[sc->connector - 1].limit_written -
		    sc->written_limit) > 0.005)
			r->writes_pending++;
	}
	r->cloud_state = site_cloud_name(s->cloud);
	r->cloud_since_epoch_ms = s->cloud_since_epoch_ms;
	r->lb = s->lb;
	memcpy(r->lb_backend, s->lb_backend, sizeof(r->lb_backend));
	r->n_chargers = s->n_chargers;
	r->n_conns = s->n_conns;
	r->has_meter = s->meter_used || cfg_has_meter(s->cfg);
	mv->type = cfg_meter_type_name(s->cfg->meter.type);
	mv->online = m->present && m->polls > 0 && !m->fault;
	mv->since_epoch_ms = s->meter_since_epoch_ms;
	mv->healthy = s->meter.healthy;
	mv->age_ms = m->age_ms >= 0 ? m->age_ms : -1;
	mv->polls = m->present ? m->polls : 0;
	if (m->present)
		mv->io = m->io;
	mv->total_w = m->present && m->polls > 0 ? m->total_power_w : NAN;
	for (int p = 0; p < BAL_PHASES; p++) {
		mv->phase_v[p] = m->present ? m->voltage_v[p] : NAN;
		mv->phase_a[p] = m->present ? m->current_a[p] : NAN;
		mv->phase_w[p] = m->present ? m->power_w[p] : NAN;
	}
	mv->household_w = mv->surplus_w = NAN;
	if (s->have_run && s->meter_used && !s->site_out.meter_fault &&
	    s->meter_household_valid) {
		if (s->settings.mode == BAL_MODE_PV)
			mv->surplus_w = (double)s->site_out.pv_surplus_w;
		else
			mv->household_w = (double)s->site_out.household_load_w;
	}
	mv->household_clamped = s->household_clamped &&
	    !isnan(mv->household_w);
}

void
site_charger_view(const struct site *s, int c, struct site_charger_view *v)
{
	const struct cfg_charger *cc = &s->cfg->chargers[c];
	const struct cfg_link *l = &cc->link;
	const struct sb_charger_reading *r = &s->readings[c];

	memset(v, 0, sizeof(*v));
	v->name = cc->name;
	v->model = cfg_model_name(cc->model);
	v->serial = r->serial;
	v->firmware = r->firmware;
	v->error = r->error;
	v->unsupported = r->unsupported;
	v->unit_id = l->unit_id;
	switch (l->kind) {
	case CFG_LINK_TCP:
		snprintf(v->link, sizeof(v->link), "tcp %s:%d", l->host, l->port);
		break;
	case CFG_LINK_TCP_LISTEN:
		snprintf(v->link, sizeof(v->link), "tcp-listen serial %s",
		    l->serial);
		break;
	case CFG_LINK_RTU:
		snprintf(v->link, sizeof(v->link), "rtu %s unit %d", l->device,
		    l->unit_id);
		break;
	}
	v->online = r->online;
	v->updated_ms = r->updated_ms;
	v->polls = r->polls;
	v->io = r->io;
	v->failures = r->failures;
	v->readback_errors = r->readback_errors;
	v->phases = s->chargers[c].phases;
	v->phase_switching = site_phase_step_name(s->phase[c].step);
	v->phase_next_ms = bal_phase_next_allowed_ms(&s->phase_conf,
	    &s->phase[c].mem);
	v->phase_switches = s->phase[c].switches;
	v->phase_error = s->phase[c].error;
	v->first_conn = s->n_conns;
	for (int k = s->n_conns - 1; k >= 0; k--)
		if (s->conns[k].charger == c)
			v->first_conn = k;
	v->n_conns = cc->connectors;
}

/* A reason in plain words, for people (the dashboard, status). */
static const char *
reason_words(enum bal_reason r)
{
	switch (r) {
	case BAL_R_SHARE:
		return "Gets its fair share of the power";
	case BAL_R_CAPPED_PROFILE:
		return "Held by a charging profile from the backend";
	case BAL_R_CAPPED_MAX:
		return "At its maximum power";
	case BAL_R_CAPPED_CIRCUIT:
		return "Limited by its circuit";
	case BAL_R_CAPPED_PHASE:
		return "Limited by a phase of the grid connection";
	case BAL_R_CAPPED_SITE:
		return "Limited by the site cap";
	case BAL_R_HELD_NEAR_DRAW:
		return "The car takes less: held a little above its draw";
	case BAL_R_WAITING_FOR_ROOM:
		return "Waiting for the meter to show room before going up";
	case BAL_R_HELD_AT_MIN:
		return "Held at its minimum while a shortage is confirmed";
	case BAL_R_PAUSED_BELOW_MIN:
		return "Paused: less room than the car's minimum";
	case BAL_R_PAUSED_METER_FAULT:
		return "Paused: the meter is not answering";
	case BAL_R_PAUSED_NO_SURPLUS:
		return "Paused: not enough solar surplus";
	case BAL_R_OFFLINE_RESERVE:
		return "Charger not answering: its offline power is kept for it";
	case BAL_R_IDLE:
		return "No car asking for power";
	case BAL_R_UNAVAILABLE:
		return "Charger unavailable or faulted";
	case BAL_R_PHASE_SWITCHING:
		return "Paused while the charger switches phases";
	}
	return "?";
}

void
site_conn_view(const struct site *s, int k, struct site_conn_view *v)
{
	const struct site_conn *sc = &s->conns[k];
	const struct cfg_charger *cc = &s->cfg->chargers[sc->charger];
	const struct sb_charger_reading *r = &s->readings[sc->charger];
	const struct sb_connector_reading *cr = &r->conn[sc->connector - 1];
	const struct bal_conn_out *o = &s->out[k];
	double amps;

	memset(v, 0, sizeof(*v));
	v->label = sc->label;
	v->connector = sc->connector;
	v->ocpp_id = sc->ocpp_id;
	v->status = site_status_name(cr->status, r->online);
	v->power_w = r->online ? cr->power_w : NAN;
	v->energy_wh = cr->energy_wh;
	sb_fault_code_text(cr, v->fault, sizeof(v->fault));
	v->setpoint_w = o->setpoint_w;
	if (cc->control_unit == CFG_CONTROL_CURRENT)
		amps = o->setpoint_ma / 1000.0;
	else
		amps = (double)o->setpoint_w / ((double)cc->phases *
		    s->cfg->site.nominal_voltage_v);
	v->setpoint_a = round(amps * 10.0) / 10.0;
	v->paused = o->paused;
	v->reason = s->have_run ? bal_reason_name(o->reason) : "starting";
	v->reason_text = s->have_run ? reason_words(o->reason) :
	    "Starting: waiting for the first readings";
	/* The balancer sees one own cap: say whose it was. */
	if (s->have_run && sc->local_cap_w != BAL_NO_CAP &&
	    (sc->profile_cap_w == BAL_NO_CAP ||
	    sc->local_cap_w <= sc->profile_cap_w) &&
	    (o->reason == BAL_R_CAPPED_PROFILE ||
	    (o->reason == BAL_R_PAUSED_BELOW_MIN &&
	    sc->local_cap_w < o->chain.pmin_w)))
		v->reason_text = sc->local_cap_w == 0 ? "Paused by the operator "
		    "(ocpp-edgectl pause)" : "Held by the operator's local "
		    "limit (ocpp-edgectl limit)";
	v->tx_running = site_tx_running(s->bconns[k].state);
}

/* The name of balancer circuit index i (0 = the main connection). */
static const char *
circuit_name(const struct site *s, int i)
{
	for (size_t k = 0; k < s->cfg->site.n_circuits; k++)
		if (s->circuit_of_cfg[k] == i)
			return s->cfg->site.circuits[k].name;
	return "main connection";
}

/* Appends a cap to e when w is one; returns it, or NULL. */
static struct site_cap_view *
add_cap(struct site_explain *e, const char *what, int32_t w, int32_t room_w,
    const char *detail)
{
	struct site_cap_view *c;

	if (w == BAL_NO_CAP || e->n_caps >= (int)ARRAY_SIZE(e->caps))
		return NULL;
	c = &e->caps[e->n_caps++];
	c->what = what;
	c->w = w;
	c->room_w = room_w;
	strlcpy_ok(c->detail, detail != NULL ? detail : "", sizeof(c->detail));
	return c;
}

/* The cap named what in e, or NULL. */
static struct site_cap_view *
find_cap(struct site_explain *e, const char *what)
{
	for (int i = 0; i < e->n_caps; i++)
		if (strcmp(e->caps[i].what, what) == 0)
			return &e->caps[i];
	return NULL;
}

/* "12.3" (kW, one decimal) into buf. */
static const char *
kw(int64_t w, char *buf, size_t len)
{
	snprintf(buf, len, "%.1f", (double)w / 1000.0);
	return buf;
}

/* The room of a cap (its value when it has no separate room). */
static int32_t
room_of(const struct site_cap_view *c)
{
	return c->room_w != BAL_NO_CAP ? c->room_w : c->w;
}

/* For a paused or waiting connector, the cap that left too little room:
 * the one with the least room among site, phase and circuit. */
static struct site_cap_view *
tightest(struct site_explain *e)
{
	static const char *const kinds[] = { "site", "phase", "circuit" };
	struct site_cap_view *best = NULL, *c;

	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if ((c = find_cap(e, kinds[i])) != NULL &&
		    (best == NULL || room_of(c) < room_of(best)))
			best = c;
	return best;
}

/* How people call a cap in a sentence ("phase L1", "circuit garage"). */
static void
cap_words(const struct site_cap_view *c, char *buf, size_t len)
{
	if (strcmp(c->what, "phase") == 0)
		snprintf(buf, len, "phase %s", c->detail);
	else if (strcmp(c->what, "circuit") == 0)
		snprintf(buf, len, "circuit %.*s", (int)strcspn(c->detail, ","),
		    c->detail);
	else if (strcmp(c->what, "site") == 0)
		snprintf(buf, len, "the site's budget");
	else if (strcmp(c->what, "profile") == 0)
		snprintf(buf, len, "the backend's charging profile");
	else
		snprintf(buf, len, "its %s", c->what);
}

/* The one sentence that says why, from the reason and the bound cap. */
static void
summarise(const struct site *s, const struct site_conn *sc,
    const struct bal_conn_out *o, struct site_explain *e,
    struct site_cap_view *bound)
{
	const struct bal_chain *ch = &o->chain;
	const char *car = s->chargers[sc->charger].phases == 1 ?
	    "single-phase" : "three-phase";
	char a[16], b[16], c[16], what[200];

	if (bound != NULL)
		cap_words(bound, what, sizeof(what));
	else
		strlcpy_ok(what, "nothing", sizeof(what));
	kw(o->setpoint_w, a, sizeof(a));
	if (!s->have_run) {
		snprintf(e->summary, sizeof(e->summary), "Starting: waiting "
		    "for the first readings.");
		return;
	}
	switch (o->reason) {
	case BAL_R_SHARE:
		snprintf(e->summary, sizeof(e->summary), "Charging at %s kW, "
		    "its fair share of the site's budget of %s kW.", a,
		    kw(s->site_out.budget_w, b, sizeof(b)));
		break;
	case BAL_R_CAPPED_PROFILE:
		if (bound != NULL && strcmp(bound->what, "local") == 0)
			snprintf(e->summary, sizeof(e->summary), "Held at %s kW "
			    "by a local limit (%s).", a, bound->detail);
		else if (sc->profile_detail[0] != '\0')
			snprintf(e->summary, sizeof(e->summary), "Held at %s kW "
			    "by a charging profile from the backend (%s).", a,
			    sc->profile_detail);
		else
			snprintf(e->summary, sizeof(e->summary), "Held at %s kW "
			    "by a charging profile from the backend.", a);
		break;
	case BAL_R_CAPPED_MAX:
		snprintf(e->summary, sizeof(e->summary), "At its maximum of "
		    "%s kW.", a);
		break;
	case BAL_R_CAPPED_CIRCUIT:
	case BAL_R_CAPPED_PHASE:
	case BAL_R_CAPPED_SITE:
		snprintf(e->summary, sizeof(e->summary), "Limited to %s kW by "
		    "%s (%s kW): the other chargers use the rest.", a, what,
		    bound != NULL ? kw(bound->w, b, sizeof(b)) : "?");
		break;
	case BAL_R_HELD_NEAR_DRAW:
		snprintf(e->summary, sizeof(e->summary), "The car takes less "
		    "than it may: held at %s kW (its draw plus headroom) so "
		    "the rest can go to others.", a);
		break;
	case BAL_R_WAITING_FOR_ROOM:
		snprintf(e->summary, sizeof(e->summary), "Held at %s kW until "
		    "the meter shows room for more.", a);
		break;
	case BAL_R_HELD_AT_MIN:
		snprintf(e->summary, sizeof(e->summary), "Held at its minimum "
		    "of %s kW: the budget looks short of what the cars need; "
		    "it pauses only if the shortage lasts.", a);
		break;
	case BAL_R_PAUSED_BELOW_MIN:
		if (bound != NULL && strcmp(bound->what, "local") == 0)
			snprintf(e->summary, sizeof(e->summary), "Paused by a "
			    "local %s (%s).", bound->w == 0 ? "pause" :
			    "limit below the car's minimum", bound->detail);
		else if (bound != NULL && room_of(bound) >= ch->pmin_w)
			snprintf(e->summary, sizeof(e->summary), "Paused: the "
			    "site's budget of %s kW cannot give every car the "
			    "%s kW a %s car needs; the last to start waits.",
			    kw(s->site_out.budget_w, b, sizeof(b)),
			    kw(ch->pmin_w, c, sizeof(c)), car);
		else if (bound != NULL)
			snprintf(e->summary, sizeof(e->summary), "Paused: %s "
			    "has %s kW of room, less than the %s kW a %s car "
			    "needs.", what, kw(room_of(bound) < 0 ? 0 :
			    room_of(bound), b, sizeof(b)), kw(ch->pmin_w, c,
			    sizeof(c)), car);
		else
			snprintf(e->summary, sizeof(e->summary), "Paused: less "
			    "room than the %s kW a %s car needs.", kw(ch->pmin_w,
			    c, sizeof(c)), car);
		break;
	case BAL_R_PAUSED_METER_FAULT:
		snprintf(e->summary, sizeof(e->summary), "Paused: the meter "
		    "is not answering and the power allowed without it "
		    "(offline-meter-power) is used up.");
		break;
	case BAL_R_PAUSED_NO_SURPLUS:
		snprintf(e->summary, sizeof(e->summary), "Paused: the solar "
		    "surplus of %s kW is less than the %s kW a %s car needs.",
		    kw(s->site_out.pv_surplus_w, b, sizeof(b)), kw(ch->pmin_w,
		    c, sizeof(c)), car);
		break;
	case BAL_R_OFFLINE_RESERVE:
		snprintf(e->summary, sizeof(e->summary), "The charger is not "
		    "answering: %s kW of its offline power is kept for it.",
		    kw(o->offline_reserve_w, b, sizeof(b)));
		break;
	case BAL_R_IDLE:
		snprintf(e->summary, sizeof(e->summary), "No car is asking "
		    "for power.");
		break;
	case BAL_R_UNAVAILABLE:
		snprintf(e->summary, sizeof(e->summary), "The connector is "
		    "unavailable or faulted.");
		break;
	case BAL_R_PHASE_SWITCHING:
		snprintf(e->summary, sizeof(e->summary), "Paused while the "
		    "charger switches from %d to %d phase%s (register 21008: "
		    "%s).", s->phase[sc->charger].mem.phases,
		    s->phase[sc->charger].target,
		    s->phase[sc->charger].target == 1 ? "" : "s",
		    site_phase_step_name(s->phase[sc->charger].step));
		break;
	}
}

void
site_explain(const struct site *s, int k, struct site_explain *e)
{
	const struct site_conn *sc = &s->conns[k];
	const struct bal_conn_out *o = &s->out[k];
	const struct bal_chain *ch = &o->chain;
	const struct bal_charger *chg = &s->chargers[sc->charger];
	int phases = chg->phases;
	double volts = s->cfg->site.nominal_voltage_v;
	struct site_cap_view *bound = NULL;
	char detail[160];
	int circ, ph;

	memset(e, 0, sizeof(*e));
	e->label = sc->label;
	e->ocpp_id = sc->ocpp_id;
	e->setpoint_w = o->setpoint_w;
	e->reason = s->have_run ? bal_reason_name(o->reason) : "starting";
	e->phases = chg->phases;
	e->phase_switching = site_phase_step_name(s->phase[sc->charger].step);
	e->phase_next_ms = bal_phase_next_allowed_ms(&s->phase_conf,
	    &s->phase[sc->charger].mem);
	add_cap(e, "profile", sc->profile_cap_w, BAL_NO_CAP,
	    sc->profile_detail[0] ? sc->profile_detail : NULL);
	if (sc->local_cap_w != BAL_NO_CAP) {
		char until[40];

		if (sc->local_until_ms > 0)
			snprintf(detail, sizeof(detail), "ocpp-edgectl %s, until "
			    "%s", sc->local_cap_w == 0 ? "pause" : "limit",
			    format_rfc3339(sc->local_until_ms, until,
			    sizeof(until)));
		else
			snprintf(detail, sizeof(detail), "ocpp-edgectl %s, until "
			    "resume", sc->local_cap_w == 0 ? "pause" : "limit");
		add_cap(e, "local", sc->local_cap_w, BAL_NO_CAP, detail);
	}
	add_cap(e, "max", ch->max_w, BAL_NO_CAP, NULL);
	add_cap(e, "held", ch->held_cap_w, BAL_NO_CAP, "EV draws less: draw + "
	    "headroom");
	/* A circuit's and a phase's value: its current as this charger's
	 * power (A x V x the charger's phases). */
	circ = ch->bound_circuit >= 0 && ch->bound_circuit < s->bsite.n_circuits ?
	    ch->bound_circuit : chg->circuit;
	if (ch->circuit_room_w != BAL_NO_CAP && circ >= 0 &&
	    circ < s->bsite.n_circuits) {
		snprintf(detail, sizeof(detail), "%s, %d A", circuit_name(s, circ),
		    (int)(s->circuits[circ].max_current_ma / 1000));
		add_cap(e, "circuit", (int32_t)(s->circuits[circ].max_current_ma /
		    1000.0 * volts * phases), ch->circuit_room_w, detail);
	}
	ph = ch->bound_phase >= 0 && ch->bound_phase < BAL_PHASES ?
	    ch->bound_phase : chg->wired_phase;
	if (ch->phase_room_w != BAL_NO_CAP && ph >= 0 && ph < BAL_PHASES) {
		snprintf(detail, sizeof(detail), "L%d", ph + 1);
		add_cap(e, "phase", (int32_t)(s->bsite.phase_max_ma[ph] / 1000.0 *
		    volts * phases), ch->phase_room_w, detail);
	}
	add_cap(e, "share", ch->level_w, BAL_NO_CAP, "the common level of the "
	    "fair split");
	snprintf(detail, sizeof(detail), "balancer budget (%s); site cap %d W "
	    "(%s)", bal_cap_source_name(s->site_out.cap_source), (int)s->cap_w,
	    site_cap_source_name(s->cap_source));
	if (ch->site_room_w != BAL_NO_CAP)
		add_cap(e, "site", (int32_t)s->site_out.budget_w, ch->site_room_w,
		    detail);
	switch (ch->bound) {
	case BAL_B_NONE:
		e->bound_by = "none";
		break;
	case BAL_B_OWN:
		e->bound_by = ch->upper_w == ch->profile_cap_w ?
		    (ch->profile_cap_w == sc->local_cap_w ? "local" : "profile") :
		    ch->upper_w == ch->held_cap_w ? "held" : "max";
		break;
	case BAL_B_SITE:
		e->bound_by = "site";
		break;
	case BAL_B_PHASE:
		e->bound_by = "phase";
		break;
	case BAL_B_CIRCUIT:
		e->bound_by = "circuit";
		break;
	}
	if (e->bound_by == NULL)
		e->bound_by = "none";
	/* Paused or held for lack of room: the cap that left the least is
	 * the cause, though the balancer froze nothing (a local pause or a
	 * local limit below the minimum first). */
	if (s->have_run && o->reason == BAL_R_PAUSED_BELOW_MIN &&
	    sc->local_cap_w != BAL_NO_CAP && sc->local_cap_w < ch->pmin_w) {
		bound = find_cap(e, "local");
		e->bound_by = "local";
	} else if (s->have_run && ch->bound == BAL_B_NONE &&
	    (o->reason == BAL_R_PAUSED_BELOW_MIN ||
	    o->reason == BAL_R_WAITING_FOR_ROOM ||
	    o->reason == BAL_R_PAUSED_NO_SURPLUS ||
	    o->reason == BAL_R_PAUSED_METER_FAULT)) {
		bound = o->reason == BAL_R_PAUSED_BELOW_MIN ||
		    o->reason == BAL_R_WAITING_FOR_ROOM ? tightest(e) :
		    find_cap(e, "site");
		/* Room enough for its minimum: the fair split paused it. */
		if (bound != NULL && o->reason == BAL_R_PAUSED_BELOW_MIN &&
		    room_of(bound) >= ch->pmin_w)
			bound = find_cap(e, "site");
		if (bound != NULL)
			e->bound_by = bound->what;
	} else if (strcmp(e->bound_by, "none") != 0) {
		bound = find_cap(e, e->bound_by);
	}
	if (bound != NULL)
		bound->bound = true;
	summarise(s, sc, o, e, bound);
	bal_format(o, e->line, sizeof(e->line));
}
