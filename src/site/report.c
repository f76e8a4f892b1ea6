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
	r->budget_w = s->site_out.budget_w;
	r->allocated_w = s->site_out.allocated_w;
	r->balancer_source = bal_cap_source_name(s->site_out.cap_source);
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
	mv->healthy = s->meter.healthy;
	mv->age_ms = m->age_ms >= 0 ? m->age_ms : -1;
	mv->polls = m->present ? m->polls : 0;
	mv->total_w = m->present && m->polls > 0 ? m->total_power_w : NAN;
	for (int p = 0; p < BAL_PHASES; p++) {
		mv->phase_v[p] = m->present ? m->voltage_v[p] : NAN;
		mv->phase_a[p] = m->present ? m->current_a[p] : NAN;
		mv->phase_w[p] = m->present ? m->power_w[p] : NAN;
	}
	mv->household_w = s->site_out.household_load_w;
	mv->pv_w = s->site_out.pv_surplus_w;
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
	v->failures = r->failures;
	v->readback_errors = r->readback_errors;
	v->first_conn = s->n_conns;
	for (int k = s->n_conns - 1; k >= 0; k--)
		if (s->conns[k].charger == c)
			v->first_conn = k;
	v->n_conns = cc->connectors;
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
	v->setpoint_w = o->setpoint_w;
	if (cc->control_unit == CFG_CONTROL_CURRENT)
		amps = o->setpoint_ma / 1000.0;
	else
		amps = (double)o->setpoint_w / ((double)cc->phases *
		    s->cfg->site.nominal_voltage_v);
	v->setpoint_a = round(amps * 10.0) / 10.0;
	v->paused = o->paused;
	v->reason = s->have_run ? bal_reason_name(o->reason) : "starting";
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

/* Appends {what, w, detail} to e's caps when w is a cap. */
static void
add_cap(struct site_explain *e, const char *what, int32_t w,
    const char *detail)
{
	struct site_cap_view *c;

	if (w == BAL_NO_CAP || e->n_caps >= (int)ARRAY_SIZE(e->caps))
		return;
	c = &e->caps[e->n_caps++];
	c->what = what;
	c->w = w;
	strlcpy_ok(c->detail, detail != NULL ? detail : "", sizeof(c->detail));
}

void
site_explain(const struct site *s, int k, struct site_explain *e)
{
	const struct site_conn *sc = &s->conns[k];
	const struct bal_conn_out *o = &s->out[k];
	const struct bal_chain *ch = &o->chain;
	char detail[160];

	memset(e, 0, sizeof(*e));
	e->label = sc->label;
	e->ocpp_id = sc->ocpp_id;
	e->setpoint_w = o->setpoint_w;
	e->reason = s->have_run ? bal_reason_name(o->reason) : "starting";
	add_cap(e, "profile", ch->profile_cap_w, sc->profile_detail[0] ?
	    sc->profile_detail : NULL);
	add_cap(e, "max", ch->max_w, NULL);
	add_cap(e, "held", ch->held_cap_w, "EV draws less: draw + headroom");
	add_cap(e, "circuit", ch->circuit_room_w,
	    circuit_name(s, s->chargers[sc->charger].circuit));
	if (ch->phase_room_w != BAL_NO_CAP) {
		snprintf(detail, sizeof(detail), "L%d", ch->bound_phase >= 0 ?
		    ch->bound_phase + 1 : s->chargers[sc->charger].wired_phase +
		    1);
		add_cap(e, "phase", ch->phase_room_w, detail);
	}
	add_cap(e, "share", ch->level_w, "the common level of the fair split");
	snprintf(detail, sizeof(detail), "site cap %d W (%s), balancer budget "
	    "%lld W (%s)", (int)s->cap_w, site_cap_source_name(s->cap_source),
	    (long long)s->site_out.budget_w,
	    bal_cap_source_name(s->site_out.cap_source));
	add_cap(e, "site", ch->site_room_w, detail);
	switch (ch->bound) {
	case BAL_B_NONE:
		e->bound_by = "none";
		break;
	case BAL_B_OWN:
		e->bound_by = ch->upper_w == ch->profile_cap_w ? "profile" :
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
	bal_format(o, e->line, sizeof(e->line));
}
