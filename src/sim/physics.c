/* The physics of the simulated site: EVs following limits after a delay,
 * offline fallback after the communication timeout, energy, and the grid
 * meter. */
#include "sim/sim-private.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

/* The site phase (0..2) that charger-local phase p feeds, or -1 when the
 * charger does not use it. */
static int
site_phase(const struct sim_charger *c, int p)
{
	if (c->model_id == SIM_MODEL_SINGLE && c->phase_switch >= 1 &&
	    c->phase_switch <= 3)
		return p == 0 ? c->phase_switch - 1 : -1;
	if (c->phases == 1)
		return p == 0 ? c->wired_phase : -1;
	return (p + c->wired_phase) % 3;
}

/* Number of phases the charger can feed now. */
int
sim_charger_phases(const struct sim_charger *c)
{
	if (c->model_id == SIM_MODEL_SINGLE && c->phase_switch >= 1 &&
	    c->phase_switch <= 3)
		return 1;
	return c->phases;
}

/* Number of phases the EV at connector k draws on. */
static int
conn_phases(const struct sim_charger *c, int k)
{
	int n = sim_charger_phases(c);
	int ev = c->conn[k].plugged ? c->conn[k].ev_phases : n;

	return ev < n ? ev : n;
}

/* Returns the value of the status register of connector k (0 = charger). */
int
sim_connector_status(const struct sim_charger *c, int k)
{
	const struct sim_connector *x = &c->conn[k];

	if (c->faulted)
		return 10;
	if (c->fw_step == SIM_FW_INSTALLING)
		return k == 0 ? 8 : 9;
	if (k == 0)
		return 0;
	if (x->faulted)
		return 10;
	if (!x->plugged)
		return 0;
	if (x->finished)
		return 6;
	if (x->waiting_start)
		return 2;
	if (x->ev_suspended || (x->soc_pct >= 100.0))
		return 4;
	if (x->power_w <= 0.0)
		return 5;
	return 3;
}

/* Sums the connectors' power. */
double
sim_charger_power(const struct sim_charger *c)
{
	double p = 0;

	for (int k = 1; k <= c->connectors; k++)
		p += c->conn[k].power_w;
	return p;
}

/* Adds the power of connector k to each local phase (0..2). */
void
sim_conn_local_phase_power(const struct sim_charger *c, int k, double out[3])
{
	int n = conn_phases(c, k);

	for (int p = 0; p < 3; p++)
		out[p] = p < n ? c->conn[k].power_w / n : 0.0;
}

/* Fills out[3] with the power the charger draws on site phases L1..L3. */
void
sim_charger_phase_power(const struct sim_charger *c, double out[3])
{
	out[0] = out[1] = out[2] = 0;
	for (int k = 1; k <= c->connectors; k++) {
		double loc[3];

		sim_conn_local_phase_power(c, k, loc);
		for (int p = 0; p < 3; p++) {
			int sp = site_phase(c, p);

			if (sp >= 0)
				out[sp] += loc[p];
		}
	}
}

/* W per 0.01 A of a current limit for connector k. */
static double
watts_per_ca(const struct sim_charger *c, int k, const struct sim_site *s)
{
	if (c->model->dc)
		return s->dc_voltage_v / 100.0;
	return s->voltage_v * conn_phases(c, k) / 100.0;
}

/* The limit (W) connector k's registers express now, online or offline,
 * in the unit register 0 selects. */
static double
conn_register_limit(const struct sim_charger *c, int k,
    const struct sim_site *s)
{
	const struct sim_connector *x = &c->conn[k];
	/* Without register 0 the unit of the last limit written rules. */
	bool current = c->has_mode_reg ? c->control_mode == 1 :
	    (c->offline ? x->off_by_current : x->lim_by_current);
	uint32_t p = c->offline ? x->off_power_w : x->lim_power_w;
	uint32_t i = c->offline ? x->off_current_ca : x->lim_current_ca;

	if (current)
		return (double)i * watts_per_ca(c, k, s);
	return (double)p;
}

/* Returns the command (W) of connector k as the charger computes it now:
 * the smaller of its own limit and its share of the charger limit. */
double
sim_connector_command(const struct sim_charger *c, int k,
    const struct sim_site *s)
{
	double own = conn_register_limit(c, k, s);
	double whole = conn_register_limit(c, 0, s);
	int active = 0;

	for (int j = 1; j <= c->connectors; j++)
		if (c->conn[j].plugged)
			active++;
	if (active > 1)
		whole /= active;
	if (whole < own)
		own = whole;
	if (own > c->max_power_w)
		own = c->max_power_w;
	return own;
}

/* What connector k draws with the limit it follows now. */
static double
conn_draw(const struct sim_charger *c, int k, const struct sim_site *s)
{
	const struct sim_connector *x = &c->conn[k];
	double p;

	if (c->faulted || x->faulted || !x->plugged || x->finished ||
	    x->waiting_start || x->ev_suspended || x->soc_pct >= 100.0)
		return 0.0;
	p = x->applied_w;
	if (p > x->ev_max_w)
		p = x->ev_max_w;
	if (p > c->max_power_w)
		p = c->max_power_w;
	/* IEC 61851: an AC EV cannot charge below the minimum current. */
	if (!c->model->dc &&
	    p < s->min_current_a * s->voltage_v * conn_phases(c, k) - 1e-6)
		return 0.0;
	return p < 0 ? 0 : p;
}

/* Integrates energy (and SoC) of connector k over dt_ms at its power. */
static void
integrate(struct sim_connector *x, int64_t dt_ms)
{
	double wh;

	if (dt_ms <= 0 || x->power_w <= 0)
		return;
	wh = x->power_w * (double)dt_ms / 3600000.0;
	x->energy_wh += wh;
	x->session_wh += wh;
	if (x->soc_pct >= 0 && x->battery_wh > 0) {
		x->soc_pct += wh / x->battery_wh * 100.0;
		if (x->soc_pct > 100.0)
			x->soc_pct = 100.0;
	}
}

/* What an EV draws dt_ms after drawing prev when it may draw target:
 * it drops at once, and rises at ramp_w_per_s (0 = at once). */
static double
ramped(const struct sim_site *s, double prev, double target, int64_t dt_ms)
{
	double up;

	if (s->ramp_w_per_s <= 0 || target <= prev)
		return target;
	up = prev + s->ramp_w_per_s * (double)dt_ms / 1000.0;
	return up < target ? up : target;
}

/* Advances connector k from `from` to `now`, applying queued commands at
 * their due times; the draw ramps up towards what the EV may draw. */
static void
conn_advance(struct sim_site *s, struct sim_charger *c, int k,
    int64_t from, int64_t now)
{
	struct sim_connector *x = &c->conn[k];
	double cmd = sim_connector_command(c, k, s);

	x->power_w = ramped(s, x->power_w, conn_draw(c, k, s), 0);
	while (x->queue_len > 0 && x->queue[0].at_ms <= now) {
		int64_t at = x->queue[0].at_ms < from ? from : x->queue[0].at_ms;

		integrate(x, at - from);
		x->power_w = ramped(s, x->power_w, conn_draw(c, k, s), at - from);
		from = at;
		x->applied_w = x->queue[0].limit_w;
		memmove(&x->queue[0], &x->queue[1],
		    (size_t)(x->queue_len - 1) * sizeof(x->queue[0]));
		x->queue_len--;
		x->power_w = ramped(s, x->power_w, conn_draw(c, k, s), 0);
	}
	integrate(x, now - from);
	x->power_w = ramped(s, x->power_w, conn_draw(c, k, s), now - from);
	if (cmd != x->cmd_w) {
		x->cmd_w = cmd;
		if (s->follow_delay_ms <= 0 || !x->plugged) {
			x->applied_w = cmd;
			x->queue_len = 0;
		} else {
			if (x->queue_len == SIM_FOLLOW_QUEUE)
				x->queue_len--;  /* keep the newest */
			x->queue[x->queue_len].at_ms = now + s->follow_delay_ms;
			x->queue[x->queue_len].limit_w = cmd;
			x->queue_len++;
		}
	}
	x->power_w = ramped(s, x->power_w, conn_draw(c, k, s), 0);
}

/* Recomputes the meter's registers from the site. */
static void
meter_update(struct sim_site *s, int64_t dt_ms)
{
	struct sim_meter *m = &s->meter;
	double phase[3];
	bool single = m->type != SIM_METER_SDM630;

	for (int p = 0; p < 3; p++)
		phase[p] = s->household_w * s->household_split[p] -
		    s->pv_w / 3.0;
	for (size_t i = 0; i < s->n_chargers; i++) {
		double cp[3];

		sim_charger_phase_power(&s->chargers[i], cp);
		for (int p = 0; p < 3; p++)
			phase[p] += cp[p];
	}
	if (single) {
		phase[0] += phase[1] + phase[2];
		phase[1] = phase[2] = 0;
	}
	m->total_w = 0;
	for (int p = 0; p < 3; p++) {
		bool used = !single || p == 0;

		m->v_phase[p] = used ? s->voltage_v : 0.0;
		m->p_phase[p] = phase[p];
		m->i_phase[p] = used ? fabs(phase[p]) / s->voltage_v : 0.0;
		m->total_w += phase[p];
	}
	m->frequency_hz = 50.0;
	if (dt_ms > 0) {
		double kwh = m->total_w * (double)dt_ms / 3600000000.0;

		if (kwh > 0)
			m->import_kwh += kwh;
		else
			m->export_kwh -= kwh;
	}
}

/* Advances the whole site to now_ms. */
void
sim_site_update(struct sim_site *s, int64_t now_ms)
{
	int64_t from = s->last_update_ms;

	if (now_ms < from)
		now_ms = from;
	for (size_t i = 0; i < s->n_chargers; i++) {
		struct sim_charger *c = &s->chargers[i];

		c->offline = c->comm_timeout_s > 0 &&
		    now_ms - c->last_write_ms >
		    (int64_t)c->comm_timeout_s * 1000;
		for (int k = 1; k <= c->connectors; k++)
			conn_advance(s, c, k, from, now_ms);
	}
	meter_update(s, now_ms - from);
	s->last_update_ms = now_ms;
}

/* Finds a charger by name. */
struct sim_charger *
sim_site_charger(struct sim_site *s, const char *name)
{
	for (size_t i = 0; i < s->n_chargers; i++)
		if (strcmp(s->chargers[i].name, name) == 0)
			return &s->chargers[i];
	return NULL;
}

/* Finds an RTU charger by slave id. */
struct sim_charger *
sim_site_charger_by_unit(struct sim_site *s, int unit)
{
	for (size_t i = 0; i < s->n_chargers; i++)
		if (s->chargers[i].link == SIM_LINK_RTU &&
		    s->chargers[i].unit_id == unit)
			return &s->chargers[i];
	return NULL;
}

/* Plugs an EV into connector k.  Returns 0 or -1 with *cause. */
int
sim_ev_plug(struct sim_site *s, struct sim_charger *c, int k,
    uint32_t evmax_w, int phases, const char *idtag, double soc,
    double battery_kwh, bool wait_start, int64_t now_ms, char **cause)
{
	struct sim_connector *x;

	if (k < 1 || k > c->connectors) {
		xasprintf(cause, "connector %d out of range 1..%d", k,
		    c->connectors);
		return -1;
	}
	if (phases != 1 && phases != 3) {
		xasprintf(cause, "phases %d: must be 1 or 3", phases);
		return -1;
	}
	if (idtag != NULL && strlen(idtag) > SIM_IDTAG_MAX) {
		xasprintf(cause, "idtag longer than %d characters",
		    SIM_IDTAG_MAX);
		return -1;
	}
	if (soc > 100.0) {
		xasprintf(cause, "soc %.0f out of range 0..100", soc);
		return -1;
	}
	x = &c->conn[k];
	if (x->plugged) {
		xasprintf(cause, "connector %d already has an EV (unplug it "
		    "first)", k);
		return -1;
	}
	sim_site_update(s, now_ms);
	x->plugged = true;
	x->ev_suspended = false;
	x->finished = false;
	x->waiting_start = wait_start;
	x->ev_max_w = evmax_w;
	x->ev_phases = phases;
	strlcpy_ok(x->idtag, idtag != NULL ? idtag : "", sizeof(x->idtag));
	x->soc_pct = soc;
	x->battery_wh = battery_kwh * 1000.0;
	x->session_wh = 0;
	x->session_start_ms = now_ms;
	x->session_end_ms = 0;
	/* The EV starts on the command in force at plug-in time. */
	x->cmd_w = sim_connector_command(c, k, s);
	x->applied_w = x->cmd_w;
	x->queue_len = 0;
	sim_site_update(s, now_ms);
	return 0;
}

/* Unplugs the EV from connector k. */
void
sim_ev_unplug(struct sim_charger *c, int k, int64_t now_ms)
{
	struct sim_connector *x = &c->conn[k];

	x->plugged = false;
	x->ev_suspended = false;
	x->finished = false;
	x->waiting_start = false;
	x->idtag[0] = '\0';
	x->soc_pct = -1;
	x->power_w = 0;
	x->queue_len = 0;
	x->session_end_ms = now_ms;
}
