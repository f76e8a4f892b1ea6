/* The site model, readings in: charger and meter readings into the
 * balancer's snapshot, the household load estimated from them, and the
 * status names of the chargers' states. */
#include "site/site-private.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"

enum bal_conn_state
site_bal_state(int st)
{
	switch (st) {
	case SB_STATUS_AVAILABLE:
		return BAL_ST_AVAILABLE;
	case SB_STATUS_PREPARING_TAG:
	case SB_STATUS_PREPARING_EV:
		return BAL_ST_PREPARING;
	case SB_STATUS_CHARGING:
		return BAL_ST_CHARGING;
	case SB_STATUS_SUSPENDED_EV:
		return BAL_ST_SUSPENDED_EV;
	case SB_STATUS_SUSPENDED_EVSE:
		return BAL_ST_SUSPENDED_EVSE;
	case SB_STATUS_FINISHING:
		return BAL_ST_FINISHING;
	case SB_STATUS_RESERVED:
		return BAL_ST_RESERVED;
	case SB_STATUS_FAULTED:
		return BAL_ST_FAULTED;
	case SB_STATUS_UNAVAILABLE:
	case SB_STATUS_UNAVAILABLE_FW:
	case SB_STATUS_UNAVAILABLE_CONN:
		return BAL_ST_UNAVAILABLE;
	default:
		return BAL_ST_AVAILABLE; /* not read yet */
	}
}

bool
site_tx_running(enum bal_conn_state st)
{
	return st == BAL_ST_CHARGING || st == BAL_ST_SUSPENDED_EV ||
	    st == BAL_ST_SUSPENDED_EVSE;
}

const char *
site_status_name(int st, bool online)
{
	static const char *const names[] = { "Available", "Preparing",
		"Preparing", "Charging", "SuspendedEV", "SuspendedEVSE",
		"Finishing", "Reserved", "Unavailable", "Unavailable", "Faulted",
		"Unavailable" };

	if (!online)
		return "Unavailable";
	if (st < 0 || st >= (int)ARRAY_SIZE(names))
		return "Unknown";
	return names[st];
}

/* True when a connector in state st asks for power. */
static bool
demanding(enum bal_conn_state st)
{
	return st == BAL_ST_PREPARING || site_tx_running(st);
}

/* A reading's double as a non-negative integer (unknown = 0). */
static int32_t
nonneg(double v, double scale)
{
	if (!isfinite(v) || v <= 0)
		return 0;
	v *= scale;
	return v > INT32_MAX ? INT32_MAX : (int32_t)lround(v);
}

/* Connector k's load on the site's phases from its measurement: a
 * three-phase charger on all three, a single-phase one on its wired
 * phase. */
static void
site_phases_of(const struct site *s, int k, int32_t *phase_w,
    int32_t *phase_ma)
{
	const struct bal_connector *bn = &s->bconns[k];
	const struct bal_charger *bc = &s->chargers[bn->charger];

	for (int p = 0; p < BAL_PHASES; p++)
		phase_w[p] = phase_ma[p] = 0;
	if (bc->phases == 3) {
		for (int p = 0; p < BAL_PHASES; p++) {
			phase_w[p] = bn->measured_power_w / 3;
			phase_ma[p] = bn->measured_current_ma[p];
		}
	} else {
		phase_w[bc->wired_phase] = bn->measured_power_w;
		phase_ma[bc->wired_phase] = bn->measured_current_ma[0];
	}
}

/* Keeps connector k's measurement taken at t_ms in its history (one per
 * poll; the oldest goes). */
static void
keep_sample(struct site *s, int k, int64_t t_ms)
{
	struct site_conn *sc = &s->conns[k];
	struct site_sample *x;

	if (sc->n_hist > 0 && sc->hist[sc->n_hist - 1].t_ms == t_ms)
		x = &sc->hist[sc->n_hist - 1]; /* the same poll again */
	else {
		if (sc->n_hist == SITE_HISTORY) {
			memmove(&sc->hist[0], &sc->hist[1],
			    (SITE_HISTORY - 1) * sizeof(sc->hist[0]));
			sc->n_hist--;
		}
		x = &sc->hist[sc->n_hist++];
	}
	x->t_ms = t_ms;
	x->power_w = s->bconns[k].measured_power_w;
	site_phases_of(s, k, x->phase_w, x->phase_ma);
}

void
site_take_charger(struct site *s, const struct sb_charger_reading *r,
    int64_t now_ms)
{
	struct bal_charger *bc;
	int c = (int)r->index, base = 0;

	if (c < 0 || c >= s->n_chargers)
		return;
	for (int i = 0; i < c; i++)
		base += s->cfg->chargers[i].connectors;
	bc = &s->chargers[c];
	if (bc->online != r->online)
		s->dirty = true;
	bc->online = r->online;
	s->readings[c] = *r;
	for (int j = 0; j < s->cfg->chargers[c].connectors; j++) {
		struct bal_connector *bn = &s->bconns[base + j];
		const struct sb_connector_reading *cr = &r->conn[j];
		enum bal_conn_state st;
		int32_t p, ma[BAL_PHASES];

		if (!r->online)
			continue; /* the charger is offline as a whole */
		st = s->inoperative[base + j] ? BAL_ST_UNAVAILABLE :
		    site_bal_state(cr->status);
		p = nonneg(cr->power_w, 1.0);
		for (int ph = 0; ph < BAL_PHASES; ph++)
			ma[ph] = nonneg(cr->current_a[ph], 1000.0);
		if (st != bn->state) {
			if (demanding(st) && !demanding(bn->state))
				s->conns[base + j].last_start_ms = now_ms;
			s->dirty = true;
		}
		/* With a meter, the snapshot completed by the meter's next
		 * reading starts the cycle's run; a draw alone does not. */
		if (!s->meter_used) {
			if (abs(p - bn->measured_power_w) >= 50)
				s->dirty = true;
			for (int ph = 0; ph < BAL_PHASES; ph++)
				if (abs(ma[ph] - bn->measured_current_ma[ph]) >= 200)
					s->dirty = true;
		}
		bn->state = st;
		bn->measured_power_w = p;
		memcpy(bn->measured_current_ma, ma, sizeof(ma));
		bn->last_start_ms = s->conns[base + j].last_start_ms;
		keep_sample(s, base + j, r->updated_ms);
	}
	site_phase_take(s, r, now_ms);
}

/* True once every charger was read or found offline: before that a
 * charger's draw would count as household, and a first balancer run would
 * reserve power for chargers merely not read yet. */
static bool
site_all_read(const struct site *s)
{
	for (int c = 0; c < s->n_chargers; c++)
		if (s->readings[c].polls == 0 && !s->readings[c].online &&
		    s->readings[c].failures <
		    (unsigned)s->cfg->southbound.offline_after_failures)
			return false;
	return true;
}

int64_t
site_bus_cycle_ms(const struct site *s)
{
	int64_t max = 0;

	for (int c = 0; c < s->n_chargers; c++)
		if (s->readings[c].online && s->readings[c].bus_cycle_ms > max)
			max = s->readings[c].bus_cycle_ms;
	return max;
}

int64_t
site_cycle_ms(const struct site *s)
{
	int64_t base = s->meter_used ? s->cfg->meter.poll_interval_ms :
	    SITE_POLL_MS, bus = site_bus_cycle_ms(s);

	return bus > base ? bus : base;
}

/* How long after a meter reading the chargers' first readings may come
 * and still pair with it: SITE_SKEW_MS, plus a bus's cycle (a slave asked
 * for a poll right after the meter reading gets its turn within it). */
static int64_t
skew_ms(const struct site *s)
{
	return SITE_SKEW_MS + site_bus_cycle_ms(s);
}

/* What the online chargers measure now: total W, and per site phase W
 * and mA. */
int64_t
site_online_power_w(const struct site *s, int64_t *phase_w,
    int64_t *phase_ma)
{
	int64_t sum = 0;

	for (int p = 0; p < BAL_PHASES; p++)
		phase_w[p] = phase_ma[p] = 0;
	for (int k = 0; k < s->n_conns; k++) {
		int32_t w[BAL_PHASES], ma[BAL_PHASES];

		if (!s->chargers[s->bconns[k].charger].online)
			continue;
		sum += s->bconns[k].measured_power_w;
		site_phases_of(s, k, w, ma);
		for (int p = 0; p < BAL_PHASES; p++) {
			phase_w[p] += w[p];
			phase_ma[p] += ma[p];
		}
	}
	return sum;
}

/* How long before a meter reading's poll began a charger's poll must
 * have begun to count as read before it: SITE_ORDER_MS, plus a bus's
 * cycle (a poll on a slow bus reads its registers over its turn).  Two
 * polls begun closer than that, even in the same millisecond, may have
 * read their registers in either order. */
static int64_t
order_ms(const struct site *s)
{
	return SITE_ORDER_MS + site_bus_cycle_ms(s);
}

/* x's total W, its site phases' W and their mA, as v[0], v[1..3], v[4..6]. */
static void
sample_values(const struct site_sample *x, double v[7])
{
	v[0] = x->power_w;
	for (int p = 0; p < BAL_PHASES; p++) {
		v[1 + p] = x->phase_w[p];
		v[4 + p] = x->phase_ma[p];
	}
}

/* What connector k may have drawn when the meter was read at t: between
 * its last reading begun at least guard before t (not before oldest)
 * and its first one begun at or after t (within skew), passing through
 * every reading in between.  Adds the lowest and the highest of those
 * draws, and per site phase W and mA, to lo[] / hi[] (index 0 the total,
 * 1..3 the phases' W, 4..6 their mA).  Returns false when no reading was
 * begun within [t, t + skew]. */
static bool
draw_around(const struct site *s, int k, int64_t t, int64_t skew,
    int64_t guard, int64_t oldest, double *lo, double *hi)
{
	const struct site_conn *sc = &s->conns[k];
	double vmin[7], vmax[7];
	int a = -1, b = -1;

	for (int h = 0; h < sc->n_hist && a < 0; h++)
		if (sc->hist[h].t_ms >= t)
			a = h;
	if (a < 0 || sc->hist[a].t_ms > t + skew)
		return false;
	for (int h = 0; h < a; h++)
		if (sc->hist[h].t_ms >= oldest &&
		    (b < 0 || sc->hist[h].t_ms <= t - guard))
			b = h; /* else the oldest one within reach */
	if (b < 0)
		b = a;
	sample_values(&sc->hist[b], vmin);
	memcpy(vmax, vmin, sizeof(vmax));
	for (int h = b + 1; h <= a; h++) {
		double v[7];

		sample_values(&sc->hist[h], v);
		for (int i = 0; i < 7; i++) {
			if (v[i] < vmin[i])
				vmin[i] = v[i];
			if (v[i] > vmax[i])
				vmax[i] = v[i];
		}
	}
	for (int i = 0; i < 7; i++) {
		lo[i] += vmin[i];
		hi[i] += vmax[i];
	}
	return true;
}

/* The estimate in [meter - hi, meter - lo] closest to prev (the last
 * estimate; valid says there is one, else the middle). */
static int64_t
closest(double meter, double lo, double hi, int64_t prev, bool valid)
{
	double min = meter - hi, max = meter - lo;

	if (!valid)
		return llround((min + max) / 2);
	if (prev < min)
		return llround(min);
	if (prev > max)
		return llround(max);
	return prev;
}

/* The snapshot of meter reading bm taken at t: 1 when the household
 * estimate was made, 0 while an online charger has not been read since
 * t, -1 when one was first read too late (after t + skew_ms).  As a
 * car's draw between its readings around t is not known, the estimate
 * is the one that changes the household the least: a car ramping up or
 * down around t is not taken for household load. */
static int
household_at(struct site *s, const struct bal_meter *bm, int64_t t)
{
	double lo[7] = { 0 }, hi[7] = { 0 };
	bool clamp = s->settings.mode == BAL_MODE_ALM;
	bool valid = s->meter_household_valid;
	int64_t skew = skew_ms(s), guard = order_ms(s);
	int64_t oldest = t - guard - 2 * site_cycle_ms(s), est;
	char was[24] = "none";

	if (!site_all_read(s))
		return 0;
	for (int c = 0; c < s->n_chargers; c++)
		if (s->readings[c].online && s->readings[c].updated_ms < t)
			return 0;
	for (int k = 0; k < s->n_conns; k++)
		if (s->chargers[s->conns[k].charger].online &&
		    !draw_around(s, k, t, skew, guard, oldest, lo, hi))
			return -1;
	est = closest(bm->total_power_w, lo[0], hi[0], s->meter_household_w,
	    valid);
	if (valid)
		snprintf(was, sizeof(was), "%lld W",
		    (long long)s->meter_household_w);
	log_debug("bal", "snapshot at %lld ms: meter %d W, chargers %.0f.."
	    "%.0f W, household %lld W (was %s)", (long long)t,
	    (int)bm->total_power_w, lo[0], hi[0], (long long)est, was);
	s->meter_household_w = est;
	s->household_clamped = clamp && s->meter_household_w < 0;
	if (s->household_clamped)
		s->meter_household_w = 0;
	for (int p = 0; p < BAL_PHASES; p++) {
		int64_t w = closest(bm->phase_power_w[p], lo[1 + p], hi[1 + p],
		    s->meter_household_phase_w[p], valid);
		int64_t ma = closest(bm->phase_current_ma[p], lo[4 + p],
		    hi[4 + p], s->meter_household_phase_ma[p], valid);

		s->meter_household_phase_w[p] = clamp && w < 0 ? 0 : w;
		s->meter_household_phase_ma[p] = clamp && ma < 0 ? 0 : ma;
	}
	s->meter_household_valid = true;
	s->snapshots++;
	s->dirty = true;
	return 1;
}

bool
site_take_household(struct site *s)
{
	int rc;

	if (!s->meter_new)
		return false;
	rc = household_at(s, &s->meter_prev, s->meter_prev_ms);
	if (rc == 0)
		return false;
	s->meter_new = false;
	if (rc < 0)
		s->snapshots_skewed++;
	return rc > 0;
}

bool
site_snapshot_ready(const struct site *s)
{
	if (!site_all_read(s))
		return false;
	/* a meter merely not read yet (stale from the start) is not faulty:
	 * wait for it (the daemon's bound, 3 s, still applies) */
	return !s->meter_used || s->meter_household_valid ||
	    (s->meter_reading.fault && (s->meter_reading.polls > 0 ||
	    s->meter_reading.why != SB_FAULT_STALE));
}

void
site_take_meter(struct site *s, const struct sb_meter_reading *m)
{
	struct bal_meter *bm = &s->meter;
	bool healthy = m->present && !m->fault;
	int32_t total = isfinite(m->total_power_w) ?
	    (int32_t)lround(m->total_power_w) : 0;

	s->meter_reading = *m;
	if (healthy != bm->healthy || total != bm->total_power_w)
		s->dirty = true;
	bm->healthy = healthy;
	bm->age_ms = m->age_ms < 0 ? INT32_MAX : m->age_ms > INT32_MAX ?
	    INT32_MAX : (int32_t)m->age_ms;
	bm->total_power_w = total;
	for (int p = 0; p < BAL_PHASES; p++) {
		bm->phase_power_w[p] = isfinite(m->power_w[p]) ?
		    (int32_t)lround(m->power_w[p]) : 0;
		bm->phase_current_ma[p] = nonneg(m->current_a[p], 1000.0);
	}
	if (!healthy)
		s->meter_new = false;
	if (healthy && m->polls != s->meter_polls_seen) {
		/* one still waiting for its snapshot gets it now; on a slow
		 * bus it waits on while its chargers may still come (the
		 * cycle adapts: this newer reading is not used), else it is
		 * dropped */
		(void)site_take_household(s);
		if (s->meter_new && m->updated_ms - s->meter_prev_ms <=
		    skew_ms(s) && site_bus_cycle_ms(s) > 0) {
			s->meter_polls_seen = m->polls;
			return;
		}
		if (s->meter_new)
			s->snapshots_skewed++;
		s->meter_new = true;
		s->meter_prev = *bm;
		s->meter_prev_ms = m->updated_ms;
	}
	s->meter_polls_seen = m->polls;
}

void
site_note_meter(struct site *s, int64_t epoch_ms)
{
	const struct sb_meter_reading *m = &s->meter_reading;
	bool online = m->present && m->polls > 0 && !m->fault;

	if (online == s->meter_online)
		return;
	s->meter_online = online;
	s->meter_since_epoch_ms = epoch_ms;
}
