/* The balancer: vendor budgets (DLB / ALM / PV), every cap at once,
 * max-min fair water-filling, Pmin pausing with hysteresis, meter-confirmed
 * increases and resolution steps.  See docs/balancing.md. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "balancer/balancer.h"

/* Constraint numbering: 0 = site budget (W), 1..3 = main-connection
 * phases (mA), then 3 per circuit (mA). */
#define K_SITE 0
#define K_MAIN(p) (1 + (p))
#define K_CIRC(c, p) (1 + BAL_PHASES + BAL_PHASES * (c) + (p))
#define NK (1 + BAL_PHASES + BAL_PHASES * BAL_MAX_CIRCUITS)
#define EPS 1e-6
/* pending[]: held at its minimum (it was running), or its start deferred */
#define PEND_HELD 1
#define PEND_START 2
/* constraints one connector can be in: site, 3 main phases, 3 per level */
#define KPER (1 + BAL_PHASES + BAL_PHASES * BAL_MAX_DEPTH)
/* classes of connectors: circuit x (L1, L2, L3 or three-phase) */
#define NCLS (BAL_MAX_CIRCUITS * 4)
_Static_assert(NK <= 128, "constraint masks hold 128 bits");

struct bal_work {
	/* per connector */
	double coef[BAL_MAX_CONNECTORS][BAL_PHASES]; /* mA per W on a phase */
	double upper[BAL_MAX_CONNECTORS];  /* own bound, W */
	double pmin[BAL_MAX_CONNECTORS];   /* minimum on the grid, W */
	double step[BAL_MAX_CONNECTORS];   /* resolution in W */
	double inv_step[BAL_MAX_CONNECTORS];
	double old[BAL_MAX_CONNECTORS];    /* last setpoint on the grid */
	double x[BAL_MAX_CONNECTORS];      /* water-filling result, W */
	double held[BAL_MAX_CONNECTORS];   /* under-draw cap, or -1 */
	double maxw[BAL_MAX_CONNECTORS];
	double profile[BAL_MAX_CONNECTORS];
	int bound_k[BAL_MAX_CONNECTORS];   /* -1 = own bound */
	int by_upper[BAL_MAX_CONNECTORS];  /* demanding ones, ascending upper */
	int by_pmin[BAL_MAX_CONNECTORS];   /* the same, ascending minimum */
	int n_by_upper;
	int pord[BAL_MAX_CONNECTORS];      /* pause order scratch */
	int tmp[BAL_MAX_CONNECTORS];
	uint64_t key[BAL_MAX_CONNECTORS];
	uint64_t key_tmp[BAL_MAX_CONNECTORS];
	unsigned char dem[BAL_MAX_CONNECTORS];    /* demanding and eligible */
	unsigned char act[BAL_MAX_CONNECTORS];    /* in the current fill */
	unsigned char frozen[BAL_MAX_CONNECTORS];
	unsigned char rising[BAL_MAX_CONNECTORS]; /* above its floor */
	unsigned char newly[BAL_MAX_CONNECTORS];  /* paused in this run */
	unsigned char resumed[BAL_MAX_CONNECTORS];
	unsigned char pending[BAL_MAX_CONNECTORS]; /* PEND_*: a shortage not
	                                            * confirmed yet */
	/* constraints of each connector: kk/ka[kofs[i] .. kofs[i]+klen[i]),
	 * shared by the connectors of one class */
	int kofs[BAL_MAX_CONNECTORS];
	int klen[BAL_MAX_CONNECTORS];
	int cls[BAL_MAX_CONNECTORS];
	unsigned char eph[BAL_MAX_CONNECTORS];   /* phases it loads */
	unsigned char ewire[BAL_MAX_CONNECTORS]; /* ... the one if single */
	int cls_ofs[NCLS];
	int cls_len[NCLS];
	uint64_t cls_mask[NCLS][2];        /* constraints of a class, as bits */
	int cls_list[NCLS];                /* classes present */
	int n_cls;
	double csum[NCLS];                 /* per-class sums */
	int ccnt[NCLS];
	int ccnt2[NCLS];
	double croom[NCLS][3];             /* per-class room, by kind */
	int kk[NCLS * KPER];
	double ka[NCLS * KPER];
	double ka_inv[NCLS * KPER];
	/* per constraint */
	double cap[NK];
	double fixed[NK];
	double slope[NK];
	double committed[NK];
	int cnt[NK];
	unsigned char used[NK];
	unsigned char kfrozen[NK];
	unsigned char measured[NK];        /* its cap comes from the meter */
	double widened[NK];                /* cap added for pending[] (fill) */
	int nk;
	/* per charger */
	double reserve[BAL_MAX_CHARGERS];
	double own_ma[BAL_MAX_CHARGERS];   /* a charger's load on its phase */
	int nconn[BAL_MAX_CHARGERS];
	unsigned char charging[BAL_MAX_CHARGERS];
	const struct bal_input *in;
};

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
	s->phase_switch_margin_ma = 2000;
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

#define FAIL(...) do { snprintf(errbuf, errlen, __VA_ARGS__); return -1; } while (0)

/* Validates the input; writes what is wrong, where, and the range. */
int
bal_check(const struct bal_input *in, char *errbuf, size_t errlen)
{
	const struct bal_site *site = in->site;
	const struct bal_settings *s = in->settings;
	int depth[BAL_MAX_CIRCUITS];

	if (errlen > 0)
		errbuf[0] = '\0';
	if (site == NULL || s == NULL)
		FAIL("input: site and settings are required");
	if (site->phases != 1 && site->phases != 3)
		FAIL("site: phases %d, must be 1 or 3", site->phases);
	if (site->nominal_voltage_v < 100 || site->nominal_voltage_v > 400)
		FAIL("site: nominal voltage %d V, valid 100..400 V",
		    (int)site->nominal_voltage_v);
	if (site->available_power_w < 0)
		FAIL("site: available power %d W, must be >= 0",
		    (int)site->available_power_w);
	if (site->cloud_cap_w < BAL_NO_CAP)
		FAIL("site: cloud cap %d W, must be >= 0 or absent (-1)",
		    (int)site->cloud_cap_w);
	for (int p = 0; p < BAL_PHASES; p++)
		if (site->phase_max_ma[p] < 0)
			FAIL("site: phase L%d limit %d mA, must be >= 0 (0 = none)",
			    p + 1, (int)site->phase_max_ma[p]);
	if (site->n_circuits < 1 || site->n_circuits > BAL_MAX_CIRCUITS ||
	    site->circuits == NULL)
		FAIL("site: %d circuits, valid 1..%d", site->n_circuits,
		    BAL_MAX_CIRCUITS);
	for (int c = 0; c < site->n_circuits; c++) {
		const struct bal_circuit *ci = &site->circuits[c];
		if (ci->parent != BAL_NONE && (ci->parent < 0 || ci->parent >= c))
			FAIL("circuit %d: parent %d, must be -1 or 0..%d "
			    "(parents come first)", c, ci->parent, c - 1);
		if (ci->max_current_ma <= 0)
			FAIL("circuit %d: max current %d mA, must be > 0", c,
			    (int)ci->max_current_ma);
		depth[c] = ci->parent == BAL_NONE ? 1 : depth[ci->parent] + 1;
		if (depth[c] > BAL_MAX_DEPTH)
			FAIL("circuit %d: %d levels deep, at most %d", c, depth[c],
			    BAL_MAX_DEPTH);
	}
	if (in->n_chargers < 0 || in->n_chargers > BAL_MAX_CHARGERS ||
	    (in->n_chargers > 0 && in->chargers == NULL))
		FAIL("input: %d chargers, valid 0..%d", in->n_chargers,
		    BAL_MAX_CHARGERS);
	for (int h = 0; h < in->n_chargers; h++) {
		const struct bal_charger *ch = &in->chargers[h];
		if (ch->phases != 1 && ch->phases != 3)
			FAIL("charger %d: phases %d, must be 1 or 3", h, ch->phases);
		if (ch->phases == 3 && site->phases != 3)
			FAIL("charger %d: three-phase charger on a single-phase site", h);
		if (ch->wired_phase < 0 || ch->wired_phase >= site->phases)
			FAIL("charger %d: wired phase %d, valid 0..%d", h,
			    ch->wired_phase, site->phases - 1);
		if (ch->circuit < 0 || ch->circuit >= site->n_circuits)
			FAIL("charger %d: circuit %d, valid 0..%d", h, ch->circuit,
			    site->n_circuits - 1);
		if (ch->unit != BAL_UNIT_W && ch->unit != BAL_UNIT_A)
			FAIL("charger %d: control unit %d, must be W (0) or A (1)",
			    h, (int)ch->unit);
		if (ch->resolution_w < 0 || ch->resolution_w > 10000)
			FAIL("charger %d: resolution %d W, valid 0..10000 W (0 = the "
			    "setting)", h, (int)ch->resolution_w);
		if (ch->offline_power_w < 0 || ch->max_power_w < 0)
			FAIL("charger %d: offline power %d W and max power %d W "
			    "must be >= 0", h, (int)ch->offline_power_w,
			    (int)ch->max_power_w);
	}
	if (in->n_connectors < 0 || in->n_connectors > BAL_MAX_CONNECTORS ||
	    (in->n_connectors > 0 && in->connectors == NULL))
		FAIL("input: %d connectors, valid 0..%d", in->n_connectors,
		    BAL_MAX_CONNECTORS);
	for (int i = 0; i < in->n_connectors; i++) {
		const struct bal_connector *cn = &in->connectors[i];
		if (cn->charger < 0 || cn->charger >= in->n_chargers)
			FAIL("connector %d: charger %d, valid 0..%d", i, cn->charger,
			    in->n_chargers - 1);
		if ((int)cn->state < BAL_ST_AVAILABLE || cn->state > BAL_ST_FAULTED)
			FAIL("connector %d: state %d, valid 0..%d", i,
			    (int)cn->state, BAL_ST_FAULTED);
		if (cn->rated_max_w <= 0)
			FAIL("connector %d: rated max %d W, must be > 0", i,
			    (int)cn->rated_max_w);
		if (cn->configured_max_w < 0)
			FAIL("connector %d: configured max %d W, must be >= 0 "
			    "(0 = rated)", i, (int)cn->configured_max_w);
		if (cn->profile_cap_w < BAL_NO_CAP)
			FAIL("connector %d: profile cap %d W, must be >= 0 or "
			    "absent (-1)", i, (int)cn->profile_cap_w);
		if (cn->measured_power_w < 0)
			FAIL("connector %d: measured power %d W, must be >= 0", i,
			    (int)cn->measured_power_w);
	}
	if (s->mode != BAL_MODE_DLB && s->mode != BAL_MODE_ALM &&
	    s->mode != BAL_MODE_PV)
		FAIL("settings: mode %d, valid 0 (dlb), 1 (alm), 2 (pv)",
		    (int)s->mode);
	if (s->pv_mode != BAL_PV_FULL_GREEN && s->pv_mode != BAL_PV_GREEN_PRIORITY &&
	    s->pv_mode != BAL_PV_SPEED_PRIORITY)
		FAIL("settings: pv-mode %d, valid 0..2", (int)s->pv_mode);
	if (s->mode != BAL_MODE_DLB && in->meter == NULL)
		FAIL("input: a meter reading is required in ALM and PV modes");
	if (s->reserve_pct < 0 || s->reserve_pct > 50)
		FAIL("settings: reserve %d %%, valid 0..50 %%", s->reserve_pct);
	if (s->min_power_1ph_w < 100 || s->min_power_1ph_w > 100000 ||
	    s->min_power_3ph_w < 100 || s->min_power_3ph_w > 100000)
		FAIL("settings: minimum power %d W / %d W, valid 100..100000 W",
		    (int)s->min_power_1ph_w, (int)s->min_power_3ph_w);
	if (s->offline_meter_power_w < 0)
		FAIL("settings: offline-meter power %d W, must be >= 0",
		    (int)s->offline_meter_power_w);
	if (s->meter_max_age_ms <= 0)
		FAIL("settings: meter max age %d ms, must be > 0",
		    (int)s->meter_max_age_ms);
	if (s->resolution_w < 1 || s->resolution_w > 10000)
		FAIL("settings: resolution %d W, valid 1..10000 W",
		    (int)s->resolution_w);
	if (s->resolution_ma < 100 || s->resolution_ma > 10000)
		FAIL("settings: resolution %d mA, valid 100..10000 mA",
		    (int)s->resolution_ma);
	if (s->restart_margin_w < 0 || s->restart_hold_ms < 0 ||
	    s->underdraw_after_ms < 0 || s->phase_switch_margin_ma < 0 ||
	    s->pause_confirm_ms < 0)
		FAIL("settings: restart margin, hold time, under-draw time, "
		    "phase-switch margin and pause confirmation must be >= 0");
	if (s->underdraw_margin_w <= 0 ||
	    s->underdraw_headroom_w <= s->underdraw_margin_w)
		FAIL("settings: under-draw margin %d W must be > 0 and below "
		    "the headroom %d W", (int)s->underdraw_margin_w,
		    (int)s->underdraw_headroom_w);
	return 0;
}

/* True for states in which an EV wants power. */
static bool
is_demanding(enum bal_conn_state st)
{
	return st == BAL_ST_PREPARING || st == BAL_ST_CHARGING ||
	    st == BAL_ST_SUSPENDED_EV || st == BAL_ST_SUSPENDED_EVSE;
}

/* floor() and ceil() without a library call (|x| < 2^62). */
static inline double
ffloor(double x)
{
	double t = (double)(int64_t)x;
	return t > x ? t - 1 : t;
}

/* ceil() without a library call, as ffloor(). */
static inline double
fceil(double x)
{
	double t = (double)(int64_t)x;
	return t < x ? t + 1 : t;
}

/* Rounds v down to connector i's resolution grid (0 for v <= 0). */
static double
floor_grid(const struct bal_work *w, int i, double v)
{
	if (v <= 0)
		return 0;
	return ffloor(v * w->inv_step[i] + 1e-9) * w->step[i];
}

/* Rounds v up to connector i's resolution grid. */
static double
ceil_grid(const struct bal_work *w, int i, double v)
{
	return fceil(v * w->inv_step[i] - 1e-9) * w->step[i];
}

/* Builds the constraint lists: connectors of one class (same circuit,
 * same phases) share one list; kofs/klen of a connector point to its
 * class's list (used[] and coef[] must be set). */
static void
build_lists(struct bal_work *w)
{
	const struct bal_input *in = w->in;
	const struct bal_circuit *circ = in->site->circuits;
	int n = in->n_connectors, pos = 0;

	for (int c = 0; c < NCLS; c++)
		w->cls_ofs[c] = -1;
	w->n_cls = 0;
	for (int i = 0; i < n; i++) {
		const struct bal_charger *ch = &in->chargers[in->connectors[i].charger];
		int cl = ch->circuit * 4 + (w->eph[i] == 3 ? 3 : w->ewire[i]);

		if (!ch->online) {
			w->kofs[i] = 0;
			w->klen[i] = 0;
			w->cls[i] = 0;
			continue;
		}
		if (w->cls_ofs[cl] < 0) {
			int start = pos;
			w->cls_mask[cl][0] = 0;
			w->cls_mask[cl][1] = 0;
#define ADD(k, a) do { \
	if (w->used[k]) { \
		w->kk[pos] = (k); w->ka[pos] = (a); w->ka_inv[pos] = 1 / (a); pos++; \
		w->cls_mask[cl][(k) >> 6] |= 1ull << ((k) & 63); \
	} \
} while (0)
			ADD(K_SITE, 1.0);
			for (int p = 0; p < BAL_PHASES; p++) {
				double a = w->coef[i][p];
				if (a <= 0)
					continue;
				ADD(K_MAIN(p), a);
				for (int c = ch->circuit; c != BAL_NONE; c = circ[c].parent)
					ADD(K_CIRC(c, p), a);
			}
#undef ADD
			w->cls_ofs[cl] = start;
			w->cls_len[cl] = pos - start;
			w->cls_list[w->n_cls++] = cl;
		}
		w->cls[i] = cl;
		w->kofs[i] = w->cls_ofs[cl];
		w->klen[i] = w->cls_len[cl];
	}
}

/* Clears the per-class sums and counts. */
static void
csum_clear(struct bal_work *w)
{
	for (int q = 0; q < w->n_cls; q++) {
		w->csum[w->cls_list[q]] = 0;
		w->ccnt[w->cls_list[q]] = 0;
		w->ccnt2[w->cls_list[q]] = 0;
	}
}

/* Adds each class's sum, times the class's coefficients, into acc[k]
 * (acc zeroed first). */
static void
csum_spread(struct bal_work *w, double *acc)
{
	for (int k = 0; k < w->nk; k++)
		acc[k] = 0;
	for (int q = 0; q < w->n_cls; q++) {
		int cl = w->cls_list[q];
		for (int e = w->cls_ofs[cl]; e < w->cls_ofs[cl] + w->cls_len[cl]; e++)
			acc[w->kk[e]] += w->ka[e] * w->csum[cl];
	}
}

/* Max-min fair water-filling with floors over the connectors with act[]
 * set: a common level L rises from 0; connector i gets min(upper_i,
 * max(pmin_i, L)), so every running connector has at least its minimum
 * (the caller made that feasible) and the rest is shared at one level.
 * A connector stops at its own bound, or when a constraint containing
 * it fills up (then all its members stop: those still at their floor stay
 * there).  Results in x[] and bound_k[]. */
static void
fill(struct bal_work *w)
{
	int n = w->in->n_connectors, left = 0, jl = 0, ju = 0;

	for (int k = 0; k < w->nk; k++) {
		w->fixed[k] = 0;
		w->slope[k] = 0;
		w->cnt[k] = 0;
		w->kfrozen[k] = !w->used[k];
	}
	csum_clear(w);
	for (int i = 0; i < n; i++) {
		w->frozen[i] = 0;
		w->rising[i] = 0;
		w->x[i] = 0;
		w->bound_k[i] = -1;
		if (!w->act[i])
			continue;
		left++;
		w->x[i] = w->pmin[i];
		w->ccnt[w->cls[i]]++;
		w->csum[w->cls[i]] += w->pmin[i];
	}
	/* everyone starts at the floor: fixed load, no slope */
	for (int q = 0; q < w->n_cls; q++) {
		int cl = w->cls_list[q];
		for (int e = w->cls_ofs[cl]; e < w->cls_ofs[cl] + w->cls_len[cl]; e++) {
			w->fixed[w->kk[e]] += w->ka[e] * w->csum[cl];
			w->cnt[w->kk[e]] += w->ccnt[cl];
		}
	}
	while (left > 0) {
		int is = -1, iu = -1, best = -1;
		double lmin, ns = HUGE_VAL, nu = HUGE_VAL;

		/* next to start rising (level reaches its floor) */
		while (jl < w->n_by_upper && (!w->act[w->by_pmin[jl]] ||
		    w->frozen[w->by_pmin[jl]] || w->rising[w->by_pmin[jl]]))
			jl++;
		if (jl < w->n_by_upper) {
			is = w->by_pmin[jl];
			ns = w->pmin[is];
		}
		/* next to stop at its own bound */
		while (ju < w->n_by_upper && (!w->act[w->by_upper[ju]] ||
		    w->frozen[w->by_upper[ju]]))
			ju++;
		if (ju < w->n_by_upper) {
			iu = w->by_upper[ju];
			nu = w->upper[iu];
		}
		/* the lowest level at which a constraint fills, if below both:
		 * (cap - fixed) / slope < lmin, compared without dividing */
		lmin = ns < nu ? ns : nu;
		for (int k = 0; k < w->nk; k++)
			if (!w->kfrozen[k] && w->cnt[k] > 0 && w->slope[k] > 0 &&
			    w->cap[k] - w->fixed[k] < lmin * w->slope[k]) {
				lmin = (w->cap[k] - w->fixed[k]) / w->slope[k];
				best = k;
			}
		if (best < 0 && is >= 0 && ns <= nu) {
			/* all at floor ns leave it: their load now rises with
			 * the level (exact in one batch: the load at L = ns is
			 * the same either way) */
			csum_clear(w);
			for (; jl < w->n_by_upper && w->pmin[w->by_pmin[jl]] <= ns; jl++) {
				int i = w->by_pmin[jl];
				if (!w->act[i] || w->frozen[i] || w->rising[i])
					continue;
				w->rising[i] = 1;
				w->ccnt[w->cls[i]]++;
				w->csum[w->cls[i]] += w->pmin[i];
			}
			for (int q = 0; q < w->n_cls; q++) {
				int cl = w->cls_list[q];
				if (w->ccnt[cl] == 0)
					continue;
				for (int e = w->cls_ofs[cl]; e < w->cls_ofs[cl] + w->cls_len[cl]; e++) {
					w->fixed[w->kk[e]] -= w->ka[e] * w->csum[cl];
					w->slope[w->kk[e]] += w->ka[e] * w->ccnt[cl];
				}
			}
			continue;
		}
		if (best < 0 && iu >= 0) {
			/* all rising at bound nu stop there (they are rising:
			 * pmin <= upper and starts go first; exact in one batch:
			 * no constraint fills below nu meanwhile) */
			csum_clear(w);
			for (; ju < w->n_by_upper && w->upper[w->by_upper[ju]] <= nu; ju++) {
				int i = w->by_upper[ju];
				if (!w->act[i] || w->frozen[i])
					continue;
				w->x[i] = nu;
				w->frozen[i] = 1;
				left--;
				w->ccnt[w->cls[i]]++;
			}
			for (int q = 0; q < w->n_cls; q++) {
				int cl = w->cls_list[q], c = w->ccnt[cl];
				if (c == 0)
					continue;
				for (int e = w->cls_ofs[cl]; e < w->cls_ofs[cl] + w->cls_len[cl]; e++) {
					w->slope[w->kk[e]] -= w->ka[e] * c;
					w->cnt[w->kk[e]] -= c;
					w->fixed[w->kk[e]] += w->ka[e] * nu * c;
				}
			}
			continue;
		}
		if (best < 0)
			break; /* cannot happen: every act connector has a bound */
		/* constraint best is full at lmin: its rising members stop
		 * there, those still at their floor stay at it; then update
		 * the constraints once per class */
		if (lmin < 0)
			lmin = 0;
		w->kfrozen[best] = 1;
		csum_clear(w);
		for (int m = 0; m < n; m++) {
			if (!w->act[m] || w->frozen[m] ||
			    !(w->cls_mask[w->cls[m]][best >> 6] & (1ull << (best & 63))))
				continue;
			if (w->rising[m]) {
				w->x[m] = lmin;
				w->ccnt[w->cls[m]]++;
			} else {
				w->ccnt2[w->cls[m]]++; /* stays at its floor */
			}
			w->bound_k[m] = best;
			w->frozen[m] = 1;
			left--;
		}
		for (int q = 0; q < w->n_cls; q++) {
			int cl = w->cls_list[q], c = w->ccnt[cl], f = w->ccnt2[cl];
			if (c == 0 && f == 0)
				continue;
			for (int e = w->cls_ofs[cl]; e < w->cls_ofs[cl] + w->cls_len[cl]; e++) {
				int k = w->kk[e];
				w->slope[k] -= w->ka[e] * c;
				w->cnt[k] -= c + f;
				w->fixed[k] += w->ka[e] * lmin * c;
			}
		}
	}
}

/* Orders connectors: true when a should be paused later than b: one
 * whose EV uses what it gets before one held near its draw (suspended or
 * under-drawing: it loses least), then higher priority, then earlier
 * start, then lower index. */
static bool
pause_later(const struct bal_work *w, int a, int b)
{
	const struct bal_connector *ca = &w->in->connectors[a];
	const struct bal_connector *cb = &w->in->connectors[b];
	bool ha = w->held[a] >= 0, hb = w->held[b] >= 0;

	if (ha != hb)
		return hb;
	if (ca->priority != cb->priority)
		return ca->priority > cb->priority;
	if (ca->last_start_ms != cb->last_start_ms)
		return ca->last_start_ms < cb->last_start_ms;
	return a < b;
}

/* Sorts the demanding connectors (by_upper's members) by ascending
 * val[] (in mW, then index) into out: bottom-up merge sort of 64-bit
 * keys. */
static void
sort_by_value(struct bal_work *w, const double *val, int *out)
{
	uint64_t *src = w->key, *dst = w->key_tmp;
	int n = w->n_by_upper;

	for (int q = 0; q < n; q++) {
		int i = w->by_upper[q];
		src[q] = ((uint64_t)ffloor(val[i] * 1000 + 0.5) << 11) | (uint64_t)i;
	}
	for (int width = 1; width < n; width *= 2) {
		for (int lo = 0; lo < n; lo += 2 * width) {
			int mid = lo + width < n ? lo + width : n;
			int hi = lo + 2 * width < n ? lo + 2 * width : n;
			int a = lo, b = mid, o = lo;
			while (a < mid && b < hi)
				dst[o++] = src[b] < src[a] ? src[b++] : src[a++];
			while (a < mid)
				dst[o++] = src[a++];
			while (b < hi)
				dst[o++] = src[b++];
		}
		uint64_t *t = src;
		src = dst;
		dst = t;
	}
	for (int q = 0; q < n; q++)
		out[q] = (int)(src[q] & 0x7ff);
}

/* Orders the demanding connectors by ascending minimum into by_pmin:
 * minimums take few distinct values (per phases, unit, step), so a
 * counting sort over them, else the general sort. */
static void
sort_minimums(struct bal_work *w)
{
	double val[16];
	int nv = 0, n = w->n_by_upper, start[17];

	for (int q = 0; q < n; q++) {
		double p = w->pmin[w->by_upper[q]];
		int v = 0;
		while (v < nv && val[v] != p)
			v++;
		if (v == nv) {
			if (nv == 16) {
				sort_by_value(w, w->pmin, w->by_pmin);
				return;
			}
			val[nv++] = p;
		}
	}
	/* the distinct values in order (insertion sort of at most 16) */
	for (int a = 1; a < nv; a++)
		for (int b = a; b > 0 && val[b] < val[b - 1]; b--) {
			double t = val[b];
			val[b] = val[b - 1];
			val[b - 1] = t;
		}
	for (int v = 0; v <= nv; v++)
		start[v] = 0;
	for (int q = 0; q < n; q++) {
		int v = 0;
		while (val[v] != w->pmin[w->by_upper[q]])
			v++;
		w->tmp[q] = v;
		start[v + 1]++;
	}
	for (int v = 0; v < nv; v++)
		start[v + 1] += start[v];
	for (int q = 0; q < n; q++)
		w->by_pmin[start[w->tmp[q]]++] = w->by_upper[q];
}

/* Stable bottom-up merge sort of v[0..n) by the pause order, tmp as
 * scratch. */
static void
sort_idx(struct bal_work *w, int *v, int n)
{
	int *src = v, *dst = w->tmp;

	for (int width = 1; width < n; width *= 2) {
		for (int lo = 0; lo < n; lo += 2 * width) {
			int mid = lo + width < n ? lo + width : n;
			int hi = lo + 2 * width < n ? lo + 2 * width : n;
			int a = lo, b = mid, o = lo;
			while (a < mid && b < hi) {
				bool take_b = pause_later(w, src[b], src[a]);
				dst[o++] = take_b ? src[b++] : src[a++];
			}
			while (a < mid)
				dst[o++] = src[a++];
			while (b < hi)
				dst[o++] = src[b++];
		}
		int *t = src;
		src = dst;
		dst = t;
	}
	if (src != v)
		memcpy(v, src, (size_t)n * sizeof(*v));
}

/* Sums, per constraint, the minimum of every active connector into
 * committed[]. */
static void
sum_minimums(struct bal_work *w)
{
	csum_clear(w);
	for (int i = 0; i < w->in->n_connectors; i++)
		if (w->act[i])
			w->csum[w->cls[i]] += w->pmin[i];
	csum_spread(w, w->committed);
}

/* True when connector i is in a constraint that cannot carry the
 * minimums (committed[] holds them). */
static bool
in_overfull(const struct bal_work *w, int i)
{
	for (int e = w->kofs[i]; e < w->kofs[i] + w->klen[i]; e++)
		if (w->committed[w->kk[e]] > w->cap[w->kk[e]] + EPS)
			return true;
	return false;
}

/* True when every constraint of connector i that cannot carry the
 * minimums has a measured cap (a household estimate, a PV surplus). */
static bool
short_of_measured(const struct bal_work *w, int i)
{
	for (int e = w->kofs[i]; e < w->kofs[i] + w->klen[i]; e++)
		if (w->committed[w->kk[e]] > w->cap[w->kk[e]] + EPS &&
		    !w->measured[w->kk[e]])
			return false;
	return true;
}

/* The vendor's rule, per bottleneck: while a constraint cannot carry
 * the minimum of all its running connectors, the last activated among
 * them pauses (lowest priority first, then latest start).  Short of a
 * measured cap only, the pause waits until the shortage has lasted
 * pause_confirm_ms (pending[]): a running connector is held at its
 * minimum meanwhile (the constraints it is in are widened to carry the
 * minimums), one not started yet gets 0 without the restart hold. */
static void
pause_until_feasible(struct bal_work *w, struct bal_state *state)
{
	const struct bal_input *in = w->in;
	int n = in->n_connectors, na = 0, npend = 0;
	int32_t confirm_ms = in->settings->pause_confirm_ms;
	bool over = false;

	sum_minimums(w);
	for (int k = 0; k < w->nk; k++)
		if (w->used[k] && w->committed[k] > w->cap[k] + EPS)
			over = true;
	if (!over)
		return;
	for (int i = 0; i < n; i++)
		if (w->act[i])
			w->pord[na++] = i;
	sort_idx(w, w->pord, na);
	for (int q = na - 1; q >= 0; q--) {
		int i = w->pord[q];
		struct bal_conn_mem *mem = &state->conn[i];

		if (!in_overfull(w, i))
			continue;
		if (confirm_ms > 0 && short_of_measured(w, i)) {
			if (mem->short_since_ms < 0)
				mem->short_since_ms = in->now_ms;
			if (in->now_ms - mem->short_since_ms < confirm_ms) {
				if (mem->applied_w >= w->pmin[i] - EPS) {
					w->pending[i] = PEND_HELD;
					npend++;
				} else {
					w->pending[i] = PEND_START;
				}
			}
		}
		if (w->pending[i] != PEND_HELD) {
			w->act[i] = 0;
			w->newly[i] = 1;
		}
		for (int e = w->kofs[i]; e < w->kofs[i] + w->klen[i]; e++)
			w->committed[w->kk[e]] -= w->ka[e] * w->pmin[i];
	}
	if (npend == 0)
		return;
	for (int i = 0; i < n; i++) {
		if (w->pending[i] != PEND_HELD)
			continue;
		for (int e = w->kofs[i]; e < w->kofs[i] + w->klen[i]; e++)
			w->committed[w->kk[e]] += w->ka[e] * w->pmin[i];
	}
	/* one that has room after all (the pause of a more important one
	 * elsewhere made it) is not short */
	for (int i = 0; i < n; i++)
		if (w->pending[i] == PEND_HELD && !in_overfull(w, i))
			w->pending[i] = 0;
	for (int k = 0; k < w->nk; k++)
		if (w->used[k] && w->committed[k] > w->cap[k]) {
			w->widened[k] = w->committed[k] - w->cap[k];
			w->cap[k] = w->committed[k];
		}
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

static int32_t
clamp32(double v)
{
	if (v > INT32_MAX)
		return INT32_MAX;
	if (v < INT32_MIN)
		return INT32_MIN;
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
	double sum_pmin = 0, budget, factor;
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

	/* connectors: bounds, grid, coefficients, demand */
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
			int on = 0, off = 0, which = 0;
			for (int p = 0; p < BAL_PHASES; p++) {
				if (cn->measured_current_ma[p] >= 1000) {
					on++;
					which = p;
				} else if (cn->measured_current_ma[p] < 200) {
					off++;
				}
			}
			if (on == 1 && off == 2) {
				eph = 1;
				ewire = which;
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
		w->inv_step[i] = 1.0 / w->step[i];
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
		for (int p = 0; p < BAL_PHASES; p++) {
			if (eph == 3)
				w->coef[i][p] = 1000.0 / (3 * v);
			else
				w->coef[i][p] = p == ewire ? 1000.0 / v : 0;
		}
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
		for (int p = 0; p < BAL_PHASES; p++)
			charger_phase_w[p] += cn->measured_power_w *
			    w->coef[i][p] * v / 1000.0;
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

	build_lists(w);

	/* sharing */
	if (pause_all) {
		w->n_by_upper = 0; /* nobody active */
	} else {
		bool held = false;
		int np = 0;

		sort_minimums(w);
		sort_by_value(w, w->upper, w->by_upper);
		for (int q = 0; q < w->n_by_upper; q++) {
			int i = w->by_upper[q];
			w->act[i] = !state->conn[i].paused;
		}
		pause_until_feasible(w, state);
		/* resume previously paused ones, most important first, once
		 * there is room for their minimum + the margin beyond the
		 * minimums of the running ones (committed[] holds those),
		 * for the hold time */
		for (int q = 0; q < w->n_by_upper; q++) {
			int i = w->by_upper[q];
			if (state->conn[i].paused && !w->act[i] && !w->newly[i])
				w->pord[np++] = i;
		}
		sort_idx(w, w->pord, np);
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
		fill(w);
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
	csum_clear(w);
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
	csum_spread(w, w->committed);
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
		o->proposed_phase = BAL_NONE;
		o->chain.target_w = target;
		o->chain.pmin_w = clamp32(w->pmin[i]);
		o->chain.max_w = clamp32(w->maxw[i]);
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
	csum_clear(w);
	for (int i = 0; i < n; i++)
		if (w->klen[i] > 0)
			w->csum[w->cls[i]] += out[i].setpoint_w;
	csum_spread(w, w->committed);
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

	/* phase switching proposals at the main connection */
	if (site->phases == 3) {
		double load[BAL_PHASES], score[BAL_PHASES];
		for (int p = 0; p < BAL_PHASES; p++) {
			load[p] = main_offline_ma[p];
			if (s->mode != BAL_MODE_DLB && !meter_fault)
				load[p] += (in->meter->phase_power_w[p] - charger_phase_w[p]) *
				    1000.0 / v;
		}
		double kv = 1000.0 / v;
		/* chargers' load per phase from the per-class setpoint sums
		 * (csum still holds them) */
		for (int q = 0; q < w->n_cls; q++) {
			int cl = w->cls_list[q], pat = cl % 4;
			for (int p = 0; p < BAL_PHASES; p++)
				if (pat == 3)
					load[p] += w->csum[cl] * kv / 3;
				else if (pat == p)
					load[p] += w->csum[cl] * kv;
		}
		for (int h = 0; h < in->n_chargers; h++)
			w->own_ma[h] = 0;
		for (int i = 0; i < n; i++) {
			int h = in->connectors[i].charger;
			if (in->chargers[h].phase_switchable)
				w->own_ma[h] += out[i].setpoint_w * kv;
		}
		for (int p = 0; p < BAL_PHASES; p++)
			score[p] = (site->phase_max_ma[p] > 0 ?
			    site->phase_max_ma[p] * factor : 0) - load[p];
		for (int i = 0; i < n; i++) {
			const struct bal_connector *cn = &in->connectors[i];
			const struct bal_charger *ch = &in->chargers[cn->charger];
			double best_score;
			int best = BAL_NONE;
			if (!ch->online || ch->phases != 1 || !ch->phase_switchable)
				continue;
			best_score = score[ch->wired_phase] + w->own_ma[cn->charger] +
			    s->phase_switch_margin_ma;
			for (int p = 0; p < BAL_PHASES; p++)
				if (p != ch->wired_phase && score[p] > best_score) {
					best_score = score[p];
					best = p;
				}
			out[i].proposed_phase = best;
		}
	}
	return 0;
}
