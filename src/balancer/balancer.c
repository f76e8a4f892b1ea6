/* The balancer: vendor budgets (DLB / ALM / PV), every cap at once,
 * max-min fair water-filling, Pmin pausing with hysteresis, meter-confirmed
 * increases and resolution steps.  See docs/balancing.md. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "balancer/balancer-private.h"

/* Returns the size of the workspace callers allocate once. */
size_t
bal_work_size(void)
{
	return sizeof(struct bal_work);
}

/* Fills s with the vendor's defaults and ours for the hysteresis. */
void
bal_settings_default(struct bal_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->mode = BAL_MODE_ALM;
	s->pv_mode = BAL_PV_GREEN_PRIORITY;
	s->reserve_pct = 10;
	s->min_power_1ph_w = 1400;
	s->min_power_3ph_w = 4200;
	s->offline_meter_power_w = 0;
	s->meter_max_age_ms = 5000;
	s->resolution_w = 100;
	s->resolution_ma = 1000;
	s->restart_margin_w = 500;
	s->restart_hold_ms = 10000;
	s->underdraw_margin_w = 1000;
	s->underdraw_after_ms = 15000;
	s->underdraw_headroom_w = 2000;
	s->pause_confirm_ms = 3000;
}

/* Resets every connector's memory to "nothing applied". */
void
bal_state_init(struct bal_state *state)
{
	state->n_connectors = 0;
	for (int i = 0; i < BAL_MAX_CONNECTORS; i++) {
		state->conn[i].applied_w = 0;
		state->conn[i].paused = false;
		state->conn[i].underdrawing = false;
		state->conn[i].room_since_ms = -1;
		state->conn[i].underdraw_since_ms = -1;
		state->conn[i].short_since_ms = -1;
	}
}

void
bal_state_forget(struct bal_state *state, int i)
{
	if (i < 0 || i >= BAL_MAX_CONNECTORS)
		return;
	state->conn[i].paused = false;
	state->conn[i].room_since_ms = -1;
	state->conn[i].short_since_ms = -1;
}

/* Returns the stable name of a reason code. */
const char *
bal_reason_name(enum bal_reason r)
{
	switch (r) {
	case BAL_R_SHARE: return "share";
	case BAL_R_CAPPED_PROFILE: return "capped-by-profile";
	case BAL_R_CAPPED_MAX: return "capped-by-max";
	case BAL_R_CAPPED_CIRCUIT: return "capped-by-circuit";
	case BAL_R_CAPPED_PHASE: return "capped-by-phase";
	case BAL_R_CAPPED_SITE: return "capped-by-site";
	case BAL_R_HELD_NEAR_DRAW: return "held-near-draw";
	case BAL_R_WAITING_FOR_ROOM: return "waiting-for-room";
	case BAL_R_HELD_AT_MIN: return "held-at-min";
	case BAL_R_PAUSED_BELOW_MIN: return "paused-below-min";
	case BAL_R_PAUSED_METER_FAULT: return "paused-meter-fault";
	case BAL_R_PAUSED_NO_SURPLUS: return "paused-no-surplus";
	case BAL_R_OFFLINE_RESERVE: return "offline-reserve";
	case BAL_R_IDLE: return "idle";
	case BAL_R_UNAVAILABLE: return "unavailable";
	case BAL_R_PHASE_SWITCHING: return "phase-switching";
	}
	return "?";
}

/* Returns the stable name of a cap source. */
const char *
bal_cap_source_name(enum bal_cap_source s)
{
	switch (s) {
	case BAL_CAP_AVAILABLE: return "available-power";
	case BAL_CAP_ALM: return "alm-allocable";
	case BAL_CAP_PV_SURPLUS: return "pv-surplus";
	case BAL_CAP_PV_MIN: return "pv-min-power";
	case BAL_CAP_PV_SPEED: return "pv-speed";
	case BAL_CAP_OFFLINE_METER: return "offline-meter-power";
	case BAL_CAP_METER_FAULT: return "meter-fault";
	case BAL_CAP_CLOUD: return "cloud";
	}
	return "?";
}

/* Returns the stable name of a connector state. */
const char *
bal_state_name(enum bal_conn_state s)
{
	switch (s) {
	case BAL_ST_AVAILABLE: return "available";
	case BAL_ST_PREPARING: return "preparing";
	case BAL_ST_CHARGING: return "charging";
	case BAL_ST_SUSPENDED_EV: return "suspended-ev";
	case BAL_ST_SUSPENDED_EVSE: return "suspended-evse";
	case BAL_ST_FINISHING: return "finishing";
	case BAL_ST_RESERVED: return "reserved";
	case BAL_ST_UNAVAILABLE: return "unavailable";
	case BAL_ST_FAULTED: return "faulted";
	}
	return "?";
}

/* Returns the stable name of a bound kind. */
const char *
bal_bound_name(enum bal_bound b)
{
	switch (b) {
	case BAL_B_NONE: return "none";
	case BAL_B_OWN: return "own";
	case BAL_B_SITE: return "site";
	case BAL_B_PHASE: return "phase";
	case BAL_B_CIRCUIT: return "circuit";
	}
	return "?";
}

/* Formats "-" for BAL_NO_CAP, else the number, into a small buffer. */
static const char *
opt_w(int32_t v, char *buf, size_t len)
{
	if (v == BAL_NO_CAP)
		return "-";
	snprintf(buf, len, "%d", (int)v);
	return buf;
}

/* Writes one line explaining o into buf; see balancer.h. */
int
bal_format(const struct bal_conn_out *o, char *buf, size_t len)
{
	const struct bal_chain *c = &o->chain;
	char b1[16], b2[16], b3[16], b4[16], b5[16], where[32] = "";

	if (c->bound == BAL_B_PHASE)
		snprintf(where, sizeof(where), " L%d", c->bound_phase + 1);
	else if (c->bound == BAL_B_CIRCUIT)
		snprintf(where, sizeof(where), " %d L%d", c->bound_circuit,
		    c->bound_phase + 1);
	return snprintf(buf, len, "%d W %s: target %d W, min %d, max %d, "
	    "profile %s, held %s, bound %s%s, room site %s phase %s circuit %s",
	    (int)o->setpoint_w, bal_reason_name(o->reason), (int)c->target_w,
	    (int)c->pmin_w, (int)c->max_w, opt_w(c->profile_cap_w, b1, sizeof(b1)),
	    opt_w(c->held_cap_w, b2, sizeof(b2)), bal_bound_name(c->bound), where,
	    opt_w(c->site_room_w, b3, sizeof(b3)),
	    opt_w(c->phase_room_w, b4, sizeof(b4)),
	    opt_w(c->circuit_room_w, b5, sizeof(b5)));
}

/* Output reason of an allocated connector from what bound it. */
static enum bal_reason
reason_of(const struct bal_work *w, int i, enum bal_cap_source src)
{
	int k = w->bound_k[i];

	if (k < 0) {
		if (w->held[i] >= 0 && w->held[i] <= w->upper[i] + EPS)
			return BAL_R_HELD_NEAR_DRAW;
		if (w->profile[i] >= 0 && w->profile[i] <= w->maxw[i])
			return BAL_R_CAPPED_PROFILE;
		return BAL_R_CAPPED_MAX;
	}
	if (k == K_SITE)
		return src == BAL_CAP_CLOUD ? BAL_R_CAPPED_SITE : BAL_R_SHARE;
	if (k < K_CIRC(0, 0))
		return BAL_R_CAPPED_PHASE;
	return BAL_R_CAPPED_CIRCUIT;
}

/* v, or 0 when negative. */
static inline double
nonneg(double v)
{
	return v > 0 ? v : 0;
}

/* v as an int32_t, saturated at either end (compiles to min/max, no
 * branches). */
static int32_t
clamp32(double v)
{
	v = v < INT32_MAX ? v : INT32_MAX;
	v = v > INT32_MIN ? v : INT32_MIN;
	return (int32_t)v;
}

/* Computes the site budget of the active mode; fills out_site figures. */
static double
mode_budget(const struct bal_input *in, struct bal_site_out *so, double charger_measured, double offline_w,
    double sum_pmin_demanding, double dlb_reserve)
{
	const struct bal_settings *s = in->settings;
	const struct bal_site *site = in->site;
	double pmax = site->available_power_w, budget;

	if (s->mode == BAL_MODE_DLB) {
		so->reserved_w = (int64_t)dlb_reserve;
		budget = pmax - dlb_reserve - offline_w;
		so->cap_source = BAL_CAP_AVAILABLE;
	} else if (so->meter_fault) {
		budget = s->offline_meter_power_w - offline_w;
		so->cap_source = s->offline_meter_power_w > 0 ?
		    BAL_CAP_OFFLINE_METER : BAL_CAP_METER_FAULT;
		if (s->offline_meter_power_w == 0)
			budget = 0;
	} else if (s->mode == BAL_MODE_ALM) {
		double allocable = pmax * (100 - 5 - s->reserve_pct) / 100.0;
		double household = in->meter->total_power_w - charger_measured;
		so->household_load_w = (int64_t)household;
		budget = allocable - household - offline_w;
		so->cap_source = BAL_CAP_ALM;
	} else {
		double surplus = -(double)in->meter->total_power_w + charger_measured;
		so->pv_surplus_w = (int64_t)surplus;
		switch (s->pv_mode) {
		case BAL_PV_FULL_GREEN:
			budget = surplus - offline_w;
			so->cap_source = BAL_CAP_PV_SURPLUS;
			break;
		case BAL_PV_GREEN_PRIORITY:
			if (surplus - offline_w > sum_pmin_demanding) {
				budget = surplus - offline_w;
				so->cap_source = BAL_CAP_PV_SURPLUS;
			} else {
				budget = sum_pmin_demanding;
				so->cap_source = BAL_CAP_PV_MIN;
			}
			/* never import more than the available power */
			if (budget > surplus + pmax - offline_w)
				budget = surplus + pmax - offline_w;
			break;
		case BAL_PV_SPEED_PRIORITY:
		default:
			budget = surplus + pmax - offline_w;
			so->cap_source = BAL_CAP_PV_SPEED;
			break;
		}
	}
	if (site->cloud_cap_w != BAL_NO_CAP &&
	    site->cloud_cap_w - offline_w < budget) {
		budget = site->cloud_cap_w - offline_w;
		so->cap_source = BAL_CAP_CLOUD;
	}
	return budget;
}

/* Runs one allocation: see balancer.h. */
int
bal_run(const struct bal_input *in, struct bal_state *state,
    struct bal_work *w, struct bal_conn_out *out, struct bal_site_out *so,
    char *errbuf, size_t errlen)
{
	const struct bal_site *site;
	const struct bal_settings *s;
	int n, nc;
	double v, charger_measured = 0, offline_w = 0, dlb_reserve = 0;
	double sum_pmin = 0, budget, factor, last_step = 0, last_inv_step = 0;
	double coef_3ph, coef_1ph;
	double offline_ma[BAL_MAX_CIRCUITS][BAL_PHASES];
	double main_offline_ma[BAL_PHASES] = { 0, 0, 0 };
	double charger_phase_w[BAL_PHASES] = { 0, 0, 0 };
	bool meter_fault = false, pause_all;

	if (bal_check(in, errbuf, errlen) < 0)
		return -1;
	site = in->site;
	s = in->settings;
	n = in->n_connectors;
	nc = site->n_circuits;
	v = site->nominal_voltage_v;
	w->in = in;
	if (state->n_connectors != n) {
		bal_state_init(state);
		state->n_connectors = n;
	}
	memset(so, 0, sizeof(*so));
	memset(offline_ma, 0, sizeof(offline_ma));

	if (s->mode != BAL_MODE_DLB)
		meter_fault = !in->meter->healthy ||
		    in->meter->age_ms > s->meter_max_age_ms;
	so->meter_fault = meter_fault;
	/* the vendor's rule on a meter fault, unless an offline-meter power
	 * is configured */
	pause_all = meter_fault && s->offline_meter_power_w == 0;

	/* chargers: connector counts, charging flags */
	for (int h = 0; h < in->n_chargers; h++) {
		w->nconn[h] = 0;
		w->charging[h] = 0;
	}
	for (int i = 0; i < n; i++) {
		const struct bal_connector *cn = &in->connectors[i];
		w->nconn[cn->charger]++;
		if (in->chargers[cn->charger].online && is_demanding(cn->state))
			w->charging[cn->charger] = 1;
	}
	for (int h = 0; h < in->n_chargers; h++) {
		const struct bal_charger *ch = &in->chargers[h];
		double r;
		if (ch->online) {
			if (w->charging[h])
				so->n_charging_chargers++;
			w->reserve[h] = 0;
			continue;
		}
		so->n_offline_chargers++;
		/* DLB: Pmax / N; ALM and PV: Pmin; never below what it was
		 * programmed to draw, never above what it can draw */
		if (s->mode == BAL_MODE_DLB)
			r = (double)site->available_power_w / in->n_chargers;
		else
			r = ch->phases == 3 ? s->min_power_3ph_w : s->min_power_1ph_w;
		if (ch->offline_power_w > r)
			r = ch->offline_power_w;
		if (ch->max_power_w > 0 && r > ch->max_power_w)
			r = ch->max_power_w;
		w->reserve[h] = r;
		offline_w += r;
		for (int p = 0; p < BAL_PHASES; p++) {
			double ma;
			if (ch->phases == 3)
				ma = r * 1000.0 / (3 * v);
			else if (p == ch->wired_phase)
				ma = r * 1000.0 / v;
			else
				continue;
			main_offline_ma[p] += ma;
			for (int c = ch->circuit; c != BAL_NONE; c = site->circuits[c].parent)
				offline_ma[c][p] += ma;
		}
	}
	so->offline_power_w = (int64_t)offline_w;

	/* connectors: bounds, grid, coefficients (mA per W), demand */
	coef_3ph = 1000.0 / (3 * v);
	coef_1ph = 1000.0 / v;
	w->n_by_upper = 0;
	for (int i = 0; i < n; i++) {
		const struct bal_connector *cn = &in->connectors[i];
		const struct bal_charger *ch = &in->chargers[cn->charger];
		struct bal_conn_mem *mem = &state->conn[i];
		double pmin_raw, mx;
		int eph = ch->phases, ewire = ch->wired_phase;

		/* a car with a single-phase on-board charger on a three-phase
		 * charger loads one phase only: seen as current on one phase */
		if (ch->phases == 3 && ch->online) {
			const int32_t *ma = cn->measured_current_ma;
			int on = (ma[0] >= 1000) + (ma[1] >= 1000) + (ma[2] >= 1000);
			int off = (ma[0] < 200) + (ma[1] < 200) + (ma[2] < 200);

			if (on == 1 && off == 2) {
				eph = 1;
				ewire = ma[0] >= 1000 ? 0 : ma[1] >= 1000 ? 1 : 2;
			}
		}
		pmin_raw = eph == 3 ? s->min_power_3ph_w : s->min_power_1ph_w;
		w->eph[i] = (unsigned char)eph;
		w->ewire[i] = (unsigned char)ewire;
		if (ch->unit == BAL_UNIT_A)
			w->step[i] = s->resolution_ma * v * eph / 1000.0;
		else
			w->step[i] = ch->resolution_w > 0 ? ch->resolution_w :
			    s->resolution_w;
		/* steps take few values: divide only when it changes */
		if (w->step[i] != last_step) {
			last_step = w->step[i];
			last_inv_step = 1.0 / last_step;
		}
		w->inv_step[i] = last_inv_step;
		w->pmin[i] = ceil_grid(w, i, pmin_raw);
		mx = cn->rated_max_w;
		if (cn->configured_max_w > 0 && cn->configured_max_w < mx)
			mx = cn->configured_max_w;
		w->maxw[i] = mx;
		w->profile[i] = cn->profile_cap_w;
		if (cn->profile_cap_w != BAL_NO_CAP && cn->profile_cap_w < mx)
			mx = cn->profile_cap_w;
		w->held[i] = -1;
		w->upper[i] = floor_grid(w, i, mx);
		for (int p = 0; p < BAL_PHASES; p++)
			w->coef[i][p] = eph == 3 ? coef_3ph : p == ewire ? coef_1ph : 0;
		w->dem[i] = 0;
		w->act[i] = 0;
		w->newly[i] = 0;
		w->resumed[i] = 0;
		w->pending[i] = 0;
		if (!ch->online) {
			mem->underdrawing = false;
			mem->underdraw_since_ms = -1;
			continue;
		}
		charger_measured += cn->measured_power_w;
		if (eph == 3) {
			double pw = cn->measured_power_w * w->coef[i][0] * v / 1000.0;
			for (int p = 0; p < BAL_PHASES; p++)
				charger_phase_w[p] += pw;
		} else {
			charger_phase_w[ewire] += cn->measured_power_w *
			    w->coef[i][ewire] * v / 1000.0;
		}
		if (!is_demanding(cn->state)) {
			mem->underdrawing = false;
			mem->underdraw_since_ms = -1;
			mem->paused = false;
			mem->room_since_ms = -1;
			continue;
		}
		/* under-drawing: suspended by the EV, or drawing clearly
		 * below what it was given for a while */
		if (cn->state == BAL_ST_SUSPENDED_EV) {
			mem->underdrawing = true;
			if (mem->underdraw_since_ms < 0)
				mem->underdraw_since_ms = in->now_ms;
		} else if (mem->applied_w > 0 &&
		    cn->measured_power_w < mem->applied_w - s->underdraw_margin_w) {
			if (mem->underdraw_since_ms < 0)
				mem->underdraw_since_ms = in->now_ms;
			if (in->now_ms - mem->underdraw_since_ms >= s->underdraw_after_ms)
				mem->underdrawing = true;
		} else {
			mem->underdrawing = false;
			mem->underdraw_since_ms = -1;
		}
		if (mem->underdrawing) {
			double hcap = ceil_grid(w, i, (double)cn->measured_power_w +
			    s->underdraw_headroom_w);
			if (hcap < w->pmin[i])
				hcap = w->pmin[i];
			w->held[i] = hcap;
			if (hcap < mx)
				mx = hcap;
		}
		w->upper[i] = floor_grid(w, i, mx);
		if (w->upper[i] + EPS < w->pmin[i])
			continue; /* a cap below Pmin: paused, not demanding */
		w->dem[i] = 1;
		sum_pmin += w->pmin[i];
		w->by_upper[w->n_by_upper++] = i;
	}

	/* DLB's reserve (manual §6): Pmin, 0 only when every charger is
	 * online and charging; the largest minimum among those that are
	 * offline or not charging */
	if (s->mode == BAL_MODE_DLB)
		for (int i = 0; i < n; i++) {
			int h = in->connectors[i].charger;

			if ((!in->chargers[h].online || !w->charging[h]) &&
			    w->pmin[i] > dlb_reserve)
				dlb_reserve = w->pmin[i];
		}

	/* constraints */
	budget = mode_budget(in, so, charger_measured, offline_w, sum_pmin,
	    dlb_reserve);
	so->budget_w = (int64_t)floor(budget);
	so->cap_w = (int64_t)floor(budget + offline_w);
	so->vendor_share_w = so->n_charging_chargers > 0 ?
	    (int64_t)floor(budget / so->n_charging_chargers) : 0;
	w->nk = K_CIRC(nc, 0);
	for (int k = 0; k < w->nk; k++) {
		w->used[k] = 0;
		w->measured[k] = 0;
		w->widened[k] = 0;
	}
	w->used[K_SITE] = 1;
	w->measured[K_SITE] = so->cap_source == BAL_CAP_ALM ||
	    so->cap_source == BAL_CAP_PV_SURPLUS ||
	    so->cap_source == BAL_CAP_PV_SPEED;
	w->cap[K_SITE] = budget;
	factor = s->mode == BAL_MODE_ALM ? (100 - 5 - s->reserve_pct) / 100.0 : 1.0;
	for (int p = 0; p < site->phases; p++) {
		if (site->phase_max_ma[p] > 0) {
			double cap = site->phase_max_ma[p] * factor - main_offline_ma[p];
			if (s->mode != BAL_MODE_DLB && !meter_fault) {
				double hh_w = in->meter->phase_power_w[p] - charger_phase_w[p];
				cap -= hh_w * 1000.0 / v;
			}
			w->used[K_MAIN(p)] = 1;
			w->measured[K_MAIN(p)] = s->mode != BAL_MODE_DLB &&
			    !meter_fault;
			w->cap[K_MAIN(p)] = cap;
		}
		for (int c = 0; c < nc; c++) {
			w->used[K_CIRC(c, p)] = 1;
			w->cap[K_CIRC(c, p)] = site->circuits[c].max_current_ma -
			    offline_ma[c][p];
		}
	}

	bal_build_lists(w);

	/* sharing */
	if (pause_all) {
		w->n_by_upper = 0; /* nobody active */
	} else {
		bool held = false;
		int np = 0;

		bal_sort_minimums(w);
		bal_sort_by_value(w, w->upper, w->by_upper);
		for (int q = 0; q < w->n_by_upper; q++) {
			int i = w->by_upper[q];
			w->act[i] = !state->conn[i].paused;
		}
		bal_pause_until_feasible(w, state);
		/* resume previously paused ones, most important first, once
		 * there is room for their minimum + the margin beyond the
		 * minimums of the running ones (committed[] holds those),
		 * for the hold time */
		for (int q = 0; q < w->n_by_upper; q++) {
			int i = w->by_upper[q];
			if (state->conn[i].paused && !w->act[i] && !w->newly[i])
				w->pord[np++] = i;
		}
		bal_sort_idx(w, w->pord, np);
		for (int q = 0; q < np; q++) {
			int i = w->pord[q];
			struct bal_conn_mem *mem = &state->conn[i];
			double need = w->pmin[i] + s->restart_margin_w;
			bool room = true;

			for (int e = w->kofs[i]; e < w->kofs[i] + w->klen[i]; e++)
				if (w->committed[w->kk[e]] + w->ka[e] * need >
				    w->cap[w->kk[e]] + EPS)
					room = false;
			if (!room) {
				/* it and the ones after it stay paused */
				for (; q < np; q++)
					state->conn[w->pord[q]].room_since_ms = -1;
				break;
			}
			if (mem->room_since_ms < 0)
				mem->room_since_ms = in->now_ms;
			if (in->now_ms - mem->room_since_ms >= s->restart_hold_ms)
				w->resumed[i] = 1;
			else
				held = true;
			/* in the sharing from now on: resumed, or its room kept
			 * free while the hold time runs */
			w->act[i] = 1;
			for (int e = w->kofs[i]; e < w->kofs[i] + w->klen[i]; e++)
				w->committed[w->kk[e]] += w->ka[e] * w->pmin[i];
		}
		bal_fill(w);
		/* those still in their hold time get 0, but the others keep
		 * the shares computed with them: nobody rises now to drop
		 * back when they resume */
		if (held)
			for (int q = 0; q < np; q++)
				if (!w->resumed[w->pord[q]])
					w->act[w->pord[q]] = 0;
		/* the caps as measured again: no increase into the room
		 * lent to the ones held at their minimum */
		for (int k = 0; k < w->nk; k++)
			w->cap[k] -= w->widened[k];
	}

	/* targets, resolution, calm; then the meter-confirmed increases */
	bal_csum_clear(w);
	for (int i = 0; i < n; i++) {
		const struct bal_connector *cn = &in->connectors[i];
		struct bal_conn_mem *mem = &state->conn[i];
		double t = w->act[i] ? w->x[i] : 0, r, old, nw;

		out[i].chain.target_w = clamp32(ffloor(t + 1e-6));
		r = floor_grid(w, i, t);
		/* the last setpoint on today's grid, never above what it was
		 * (current-mode setpoints were floored to whole W; the grid
		 * changes when a car turns out to be single-phase) */
		old = floor_grid(w, i, mem->applied_w + 0.999);
		w->old[i] = old;
		nw = r;
		if (r > old && old >= w->pmin[i] - EPS && t < old + 1.5 * w->step[i])
			nw = old; /* calm: not worth a rewrite */
		w->x[i] = nw; /* from here on: the new setpoint */
		if (!in->chargers[cn->charger].online)
			continue;
		/* what each connector may draw: its measurement, or what it
		 * keeps (the new setpoint if lower, the last one if higher) */
		double base = cn->measured_power_w;
		double keep = nw <= old ? nw : mem->applied_w;
		if (keep > base)
			base = keep;
		w->csum[w->cls[i]] += base;
	}
	bal_csum_spread(w, w->committed);
	for (int i = 0; i < n; i++) {
		const struct bal_connector *cn = &in->connectors[i];
		double old = w->old[i];
		double base, room = HUGE_VAL, grant;

		w->frozen[i] = 0; /* reused: increase held back */
		if (!in->chargers[cn->charger].online || w->x[i] <= old)
			continue;
		base = cn->measured_power_w > state->conn[i].applied_w ?
		    cn->measured_power_w : state->conn[i].applied_w;
		for (int e = w->kofs[i]; e < w->kofs[i] + w->klen[i]; e++) {
			double rk = (w->cap[w->kk[e]] - w->committed[w->kk[e]]) * w->ka_inv[e];
			if (rk < room)
				room = rk;
		}
		if (room < 0)
			room = 0;
		grant = floor_grid(w, i, base + room);
		if (grant > w->x[i])
			grant = w->x[i];
		/* no room for its minimum: it keeps what it had if that is a
		 * valid setpoint (its minimum can change: a single-phase car
		 * unplugged), else it pauses, which is a decrease */
		if (grant < w->pmin[i] - EPS || grant < old)
			grant = old >= w->pmin[i] - EPS ? old : 0;
		if (grant > base)
			for (int e = w->kofs[i]; e < w->kofs[i] + w->klen[i]; e++)
				w->committed[w->kk[e]] += w->ka[e] * (grant - base);
		if (grant < w->x[i] - EPS)
			w->frozen[i] = 1;
		w->x[i] = grant;
	}

	/* outputs and state */
	for (int i = 0; i < n; i++) {
		const struct bal_connector *cn = &in->connectors[i];
		const struct bal_charger *ch = &in->chargers[cn->charger];
		struct bal_conn_mem *mem = &state->conn[i];
		struct bal_conn_out *o = &out[i];
		double sp = w->x[i];
		int32_t target = o->chain.target_w;

		if (!w->pending[i])
			mem->short_since_ms = -1;
		memset(o, 0, sizeof(*o));
		o->chain.target_w = target;
		/* both in range: a checked minimum on a checked grid, and the
		 * lower of two int32_t */
		o->chain.pmin_w = (int32_t)w->pmin[i];
		o->chain.max_w = (int32_t)w->maxw[i];
		o->chain.profile_cap_w = cn->profile_cap_w;
		o->chain.held_cap_w = w->held[i] >= 0 ? clamp32(w->held[i]) : BAL_NO_CAP;
		o->chain.upper_w = ch->online ? clamp32(w->upper[i]) : 0;
		o->chain.bound = BAL_B_NONE;
		o->chain.bound_circuit = BAL_NONE;
		o->chain.bound_phase = BAL_NONE;
		if (!ch->online) {
			o->reason = BAL_R_OFFLINE_RESERVE;
			o->offline_reserve_w = clamp32(w->reserve[cn->charger] /
			    w->nconn[cn->charger]);
			mem->applied_w = 0;
			mem->paused = false;
			mem->room_since_ms = -1;
			continue;
		}
		if (ch->unit == BAL_UNIT_A) {
			double steps = ffloor(sp * w->inv_step[i] + 0.5);
			o->setpoint_ma = clamp32(steps * s->resolution_ma);
			o->setpoint_w = clamp32(ffloor(sp + 1e-6));
		} else {
			o->setpoint_w = clamp32(ffloor(sp + 1e-6));
			o->setpoint_ma = clamp32(ffloor(sp * w->coef[i][w->eph[i] == 3 ? 0 : w->ewire[i]]));
		}
		mem->applied_w = o->setpoint_w;
		so->allocated_w += o->setpoint_w;
		if (!is_demanding(cn->state)) {
			o->reason = cn->state == BAL_ST_UNAVAILABLE ||
			    cn->state == BAL_ST_FAULTED ? BAL_R_UNAVAILABLE : BAL_R_IDLE;
			continue;
		}
		if (w->act[i]) {
			int k = w->bound_k[i];
			o->chain.level_w = target;
			if (k < 0) {
				o->chain.bound = BAL_B_OWN;
			} else if (k == K_SITE) {
				o->chain.bound = BAL_B_SITE;
			} else if (k < K_CIRC(0, 0)) {
				o->chain.bound = BAL_B_PHASE;
				o->chain.bound_phase = k - K_MAIN(0);
			} else {
				o->chain.bound = BAL_B_CIRCUIT;
				o->chain.bound_circuit = (k - K_CIRC(0, 0)) / BAL_PHASES;
				o->chain.bound_phase = (k - K_CIRC(0, 0)) % BAL_PHASES;
			}
			o->reason = reason_of(w, i, so->cap_source);
			mem->paused = false;
			if (w->resumed[i])
				mem->room_since_ms = -1;
			if (w->frozen[i])
				o->reason = BAL_R_WAITING_FOR_ROOM;
			if (w->pending[i] == PEND_HELD)
				o->reason = BAL_R_HELD_AT_MIN;
		} else if (pause_all) {
			o->reason = BAL_R_PAUSED_METER_FAULT;
		} else if (w->pending[i] == PEND_START) {
			/* its start waits for the shortage to be confirmed
			 * or to end, with no restart hold */
			mem->paused = false;
			o->reason = BAL_R_WAITING_FOR_ROOM;
		} else if (w->dem[i]) {
			/* paused by the Pmin rule (now or before) */
			mem->paused = true;
			o->reason = s->mode == BAL_MODE_PV && !meter_fault ?
			    BAL_R_PAUSED_NO_SURPLUS : BAL_R_PAUSED_BELOW_MIN;
		} else {
			o->reason = BAL_R_PAUSED_BELOW_MIN; /* a cap below Pmin */
		}
		if (o->setpoint_w == 0) {
			o->paused = true;
			so->n_paused++;
		}
	}

	/* explain: how much each connector could have from the site, its
	 * circuits and the main phases with the others at their setpoints */
	bal_csum_clear(w);
	for (int i = 0; i < n; i++)
		if (w->klen[i] > 0)
			w->csum[w->cls[i]] += out[i].setpoint_w;
	bal_csum_spread(w, w->committed);
	for (int q = 0; q < w->n_cls; q++) {
		int cl = w->cls_list[q];
		double *room = w->croom[cl];
		room[0] = room[1] = room[2] = HUGE_VAL;
		for (int e = w->cls_ofs[cl]; e < w->cls_ofs[cl] + w->cls_len[cl]; e++) {
			int k = w->kk[e];
			int kind = k == K_SITE ? 0 : k < K_CIRC(0, 0) ? 1 : 2;
			double r = (w->cap[k] - w->committed[k]) * w->ka_inv[e];
			if (r < room[kind])
				room[kind] = r;
		}
	}
	for (int i = 0; i < n; i++) {
		struct bal_chain *c = &out[i].chain;
		const double *room;
		c->site_room_w = c->phase_room_w = c->circuit_room_w = BAL_NO_CAP;
		if (w->klen[i] == 0)
			continue;
		room = w->croom[w->cls[i]];
		if (room[0] != HUGE_VAL)
			c->site_room_w = clamp32(nonneg(out[i].setpoint_w + room[0]));
		if (room[1] != HUGE_VAL)
			c->phase_room_w = clamp32(nonneg(out[i].setpoint_w + room[1]));
		if (room[2] != HUGE_VAL)
			c->circuit_room_w = clamp32(nonneg(out[i].setpoint_w + room[2]));
	}
	return 0;
}
