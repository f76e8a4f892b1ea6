/* Balancer tests: the vendor formulas table by table, each rule of the
 * issue with numbers worked out by hand, and (test-property.c) random
 * sites checked against the invariants. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "tests/balancer/test-balancer.h"

/* Allocates a site; see test-balancer.h. */
struct tsite *
ts_new(int phases, int32_t available_w, enum bal_mode mode)
{
	struct tsite *t = calloc(1, sizeof(*t));

	if (t == NULL)
		abort();
	t->work = calloc(1, bal_work_size());
	if (t->work == NULL)
		abort();
	t->site.phases = phases;
	t->site.nominal_voltage_v = 230;
	t->site.available_power_w = available_w;
	t->site.cloud_cap_w = BAL_NO_CAP;
	t->circ[0].parent = BAL_NONE;
	t->circ[0].max_current_ma = 63000;
	t->site.circuits = t->circ;
	t->site.n_circuits = 1;
	t->meter.healthy = true;
	bal_settings_default(&t->set);
	t->set.mode = mode;
	ts_wire(t);
	return t;
}

/* Points the input at the site's own parts and starts a fresh state. */
void
ts_wire(struct tsite *t)
{
	t->in.site = &t->site;
	t->in.meter = &t->meter;
	t->in.settings = &t->set;
	t->in.chargers = t->ch;
	t->in.connectors = t->cn;
	bal_state_init(&t->st);
}

/* Frees a site from ts_new(). */
void
ts_free(struct tsite *t)
{
	free(t->work);
	free(t);
}

/* Adds a charger with one charging connector; returns its index. */
int
ts_add(struct tsite *t, int phases, int wired, int circuit, int32_t max_w)
{
	int h = t->in.n_chargers++, i = t->in.n_connectors++;

	t->ch[h].online = true;
	t->ch[h].phases = phases;
	t->ch[h].wired_phase = wired;
	t->ch[h].unit = BAL_UNIT_W;
	t->ch[h].circuit = circuit;
	t->ch[h].max_power_w = max_w;
	t->cn[i].charger = h;
	t->cn[i].state = BAL_ST_CHARGING;
	t->cn[i].rated_max_w = max_w;
	t->cn[i].profile_cap_w = BAL_NO_CAP;
	t->cn[i].last_start_ms = 1000 * (i + 1);
	return i;
}

/* Adds a second connector to the charger of `like`; returns its index. */
int
ts_add_connector(struct tsite *t, int like)
{
	int i = t->in.n_connectors++;

	t->cn[i] = t->cn[like];
	t->cn[i].last_start_ms = 1000 * (i + 1);
	return i;
}

/* Runs the balancer once. */
int
ts_run(struct tsite *t, int64_t now_ms)
{
	t->in.now_ms = now_ms;
	return bal_run(&t->in, &t->st, t->work, t->out, &t->so, t->err,
	    sizeof(t->err));
}

/* The charger of connector i. */
struct bal_charger *
ts_ch(struct tsite *t, int i)
{
	return &t->ch[t->cn[i].charger];
}

/* Seeded xorshift on *state: a number in [0, n). */
uint32_t
ts_rnd(uint64_t *state, uint32_t n)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return n == 0 ? 0 : (uint32_t)((*state >> 16) % n);
}

/* Sets every connector's measured power to its last setpoint (the cars
 * followed). */
static void
follow(struct tsite *t)
{
	for (int i = 0; i < t->in.n_connectors; i++)
		t->cn[i].measured_power_w = t->out[i].setpoint_w;
}

#define RUN_OK(t, now) do { \
	int rc_ = ts_run((t), (now)); \
	if (rc_ != 0) \
		fprintf(stderr, "bal_run: %s\n", (t)->err); \
	CU_ASSERT_FATAL(rc_ == 0); \
} while (0)

/* ---- DLB (DOMAIN.md §2, manual §6) ------------------------------------ */

struct dlb_case {
	int32_t pmax_w;
	int charging, idle, offline;   /* three-phase 22 kW chargers */
	int64_t reserved_w, offline_w, budget_w;
	int32_t setpoint_w;            /* each charging connector */
	enum bal_reason reason;
};

static const struct dlb_case dlb_cases[] = {
	/* all charging: reserved 0; 22000 / 3 = 7333.3 -> 7300 (100 W steps) */
	{ 22000, 3, 0, 0, 0, 0, 22000, 7300, BAL_R_SHARE },
	/* N = 4: offline 22000 / 4 = 5500; one idle: reserved = Pmin 4200;
	 * (22000 - 4200 - 5500) / 2 = 6150 -> 6100 */
	{ 22000, 2, 1, 1, 4200, 5500, 12300, 6100, BAL_R_SHARE },
	/* 40000 / 4 = 10000 each */
	{ 40000, 4, 0, 0, 0, 0, 40000, 10000, BAL_R_SHARE },
	/* N = 4, two offline at 40000 / 4 = 10000; an offline charger keeps
	 * the reserve (Pmin 4200): (40000 - 4200 - 20000) / 2 = 7900 */
	{ 40000, 2, 0, 2, 4200, 20000, 15800, 7900, BAL_R_SHARE },
	/* one charging, two idle: 30000 - 4200 = 25800 > its 22000 max */
	{ 30000, 1, 2, 0, 4200, 0, 25800, 22000, BAL_R_CAPPED_MAX },
};

/* DLB, table-driven: reserve, offline share, equal split. */
static void
test_dlb_formulas(void)
{
	for (size_t c = 0; c < ARRAY_SIZE(dlb_cases); c++) {
		const struct dlb_case *k = &dlb_cases[c];
		struct tsite *t = ts_new(3, k->pmax_w, BAL_MODE_DLB);
		int i;

		t->in.meter = NULL; /* DLB has no meter */
		for (i = 0; i < k->charging; i++)
			ts_add(t, 3, 0, 0, 22000);
		for (int j = 0; j < k->idle; j++)
			t->cn[ts_add(t, 3, 0, 0, 22000)].state = BAL_ST_AVAILABLE;
		for (int j = 0; j < k->offline; j++)
			ts_ch(t, ts_add(t, 3, 0, 0, 22000))->online = false;
		RUN_OK(t, 0);
		CU_ASSERT_EQUAL(t->so.reserved_w, k->reserved_w);
		CU_ASSERT_EQUAL(t->so.offline_power_w, k->offline_w);
		CU_ASSERT_EQUAL(t->so.budget_w, k->budget_w);
		CU_ASSERT_EQUAL(t->so.cap_source, BAL_CAP_AVAILABLE);
		for (i = 0; i < k->charging; i++) {
			CU_ASSERT_EQUAL(t->out[i].setpoint_w, k->setpoint_w);
			CU_ASSERT_EQUAL(t->out[i].reason, k->reason);
		}
		for (; i < k->charging + k->idle; i++) {
			CU_ASSERT_EQUAL(t->out[i].setpoint_w, 0);
			CU_ASSERT_EQUAL(t->out[i].reason, BAL_R_IDLE);
		}
		for (; i < t->in.n_connectors; i++) {
			CU_ASSERT_EQUAL(t->out[i].reason, BAL_R_OFFLINE_RESERVE);
			CU_ASSERT_EQUAL(t->out[i].offline_reserve_w,
			    k->pmax_w / (k->charging + k->idle + k->offline));
		}
		ts_free(t);
	}
}

/* ---- ALM ----------------------------------------------------------------- */

struct alm_case {
	int32_t pmax_w;
	int reserve_pct;
	int32_t meter_w;        /* grid import */
	int32_t measured_w;     /* each charging connector */
	int charging, offline;  /* three-phase 22 kW chargers */
	int64_t household_w, budget_w;
	int32_t setpoint_w;
};

static const struct alm_case alm_cases[] = {
	/* allocable 22000 * 0.85 = 18700; household 10000 - 2 * 3000 = 4000;
	 * (18700 - 4000) / 2 = 7350 -> 7300 */
	{ 22000, 10, 10000, 3000, 2, 0, 4000, 14700, 7300 },
	/* allocable 40000 * 0.85 = 34000; household 12000 - 8000 = 4000;
	 * offline 1 x Pmin 4200; (34000 - 4000 - 4200) / 2 = 12900 */
	{ 40000, 10, 12000, 4000, 2, 1, 4000, 25800, 12900 },
	/* reserve 0: allocable 38000; household 5000; 33000 / 3 = 11000 */
	{ 40000, 0, 5000, 0, 3, 0, 5000, 33000, 11000 },
	/* reserve 50: allocable 40000 * 0.45 = 18000; household 2000 - 2000
	 * = 0; 18000 / 2 = 9000 */
	{ 40000, 50, 2000, 1000, 2, 0, 0, 18000, 9000 },
};

/* ALM, table-driven: allocable, household, offline at Pmin. */
static void
test_alm_formulas(void)
{
	for (size_t c = 0; c < ARRAY_SIZE(alm_cases); c++) {
		const struct alm_case *k = &alm_cases[c];
		struct tsite *t = ts_new(3, k->pmax_w, BAL_MODE_ALM);

		t->set.reserve_pct = k->reserve_pct;
		t->meter.total_power_w = k->meter_w;
		for (int i = 0; i < k->charging; i++)
			t->cn[ts_add(t, 3, 0, 0, 22000)].measured_power_w = k->measured_w;
		for (int j = 0; j < k->offline; j++)
			ts_ch(t, ts_add(t, 3, 0, 0, 22000))->online = false;
		RUN_OK(t, 0);
		CU_ASSERT_EQUAL(t->so.household_load_w, k->household_w);
		CU_ASSERT_EQUAL(t->so.budget_w, k->budget_w);
		CU_ASSERT_EQUAL(t->so.cap_source, BAL_CAP_ALM);
		for (int i = 0; i < k->charging; i++) {
			CU_ASSERT_EQUAL(t->out[i].setpoint_w, k->setpoint_w);
			CU_ASSERT_EQUAL(t->out[i].reason, BAL_R_SHARE);
		}
		for (int i = k->charging; i < t->in.n_connectors; i++)
			CU_ASSERT_EQUAL(t->out[i].offline_reserve_w, 4200);
		ts_free(t);
	}
}

/* Share below Pmin: the last activated pauses; it resumes only after room
 * for Pmin + margin held for the hold time, and then only once the meter
 * shows the other car followed its decrease. */
static void
test_alm_pause_last_activated_and_resume(void)
{
	struct tsite *t = ts_new(3, 22000, BAL_MODE_ALM);
	int a = ts_add(t, 3, 0, 0, 22000), b = ts_add(t, 3, 0, 0, 22000);

	/* A started at 1000 ms, B at 2000 ms: B is the last activated.
	 * allocable 18700; household 12000; budget 6700; 3350 each < 4200:
	 * B does not start, A gets 6700; while the shortage is not yet
	 * confirmed (3 s) B waits with no restart hold, then pauses. */
	t->meter.total_power_w = 12000;
	RUN_OK(t, 0);
	CU_ASSERT_EQUAL(t->so.vendor_share_w, 3350);
	CU_ASSERT_EQUAL(t->out[a].setpoint_w, 6700);
	CU_ASSERT_EQUAL(t->out[b].setpoint_w, 0);
	CU_ASSERT_TRUE(t->out[b].paused);
	CU_ASSERT_EQUAL(t->out[b].reason, BAL_R_WAITING_FOR_ROOM);
	RUN_OK(t, 3000);
	CU_ASSERT_EQUAL(t->out[b].setpoint_w, 0);
	CU_ASSERT_EQUAL(t->out[b].reason, BAL_R_PAUSED_BELOW_MIN);

	/* t = 5 s: household 8000 (A draws 6700: meter 14700); budget 10700;
	 * both would get 5350 >= 4200 + 500: room seen, the hold (10 s)
	 * starts and the room stays free for B: A is held at its trial share
	 * 5350 -> 5300 (a decrease, at once) instead of rising to 10700 and
	 * dropping back when B resumes. */
	follow(t);
	t->meter.total_power_w = 8000 + 6700;
	RUN_OK(t, 5000);
	CU_ASSERT_EQUAL(t->out[a].setpoint_w, 5300);
	CU_ASSERT_EQUAL(t->out[b].setpoint_w, 0);
	CU_ASSERT_EQUAL(t->out[b].reason, BAL_R_PAUSED_BELOW_MIN);

	/* t = 14.999 s: not yet */
	follow(t);
	t->meter.total_power_w = 8000 + 5300;
	RUN_OK(t, 14999);
	CU_ASSERT_EQUAL(t->out[b].setpoint_w, 0);

	/* t = 15 s: B resumes; the meter shows A at 5300, so the room
	 * 10700 - 5300 = 5400 is confirmed: B starts at once at 5300 */
	RUN_OK(t, 15000);
	CU_ASSERT_EQUAL(t->out[a].setpoint_w, 5300);
	CU_ASSERT_EQUAL(t->out[b].setpoint_w, 5300);
	CU_ASSERT_EQUAL(t->out[b].reason, BAL_R_SHARE);
	CU_ASSERT_FALSE(t->out[b].paused);

	/* household jumps to 12000 again (meter 12000 + 10600): A and B
	 * would get 3350: both come down to their minimum at once, and B
	 * (last activated) is held there while the shortage is confirmed */
	follow(t);
	t->meter.total_power_w = 12000 + 10600;
	RUN_OK(t, 16000);
	CU_ASSERT_EQUAL(t->out[b].setpoint_w, 4200);
	CU_ASSERT_EQUAL(t->out[b].reason, BAL_R_HELD_AT_MIN);
	CU_ASSERT_FALSE(t->out[b].paused);
	CU_ASSERT_EQUAL(t->out[a].setpoint_w, 4200);
	/* t = 18.999 s: still short, still held */
	follow(t);
	t->meter.total_power_w = 12000 + 8400;
	RUN_OK(t, 18999);
	CU_ASSERT_EQUAL(t->out[b].setpoint_w, 4200);
	CU_ASSERT_EQUAL(t->out[b].reason, BAL_R_HELD_AT_MIN);
	/* t = 19 s: short for 3 s (pause_confirm_ms): B pauses, A gets
	 * 6700 - but A may rise only as the meter confirms: A draws 4200,
	 * B's 4200 still counts until its car stops: room 6700 - 8400 < 0:
	 * A stays */
	RUN_OK(t, 19000);
	CU_ASSERT_EQUAL(t->out[b].setpoint_w, 0);
	CU_ASSERT_EQUAL(t->out[b].reason, BAL_R_PAUSED_BELOW_MIN);
	CU_ASSERT_EQUAL(t->out[a].setpoint_w, 4200);
	CU_ASSERT_EQUAL(t->out[a].reason, BAL_R_WAITING_FOR_ROOM);
	ts_free(t);
}

/* A shortage that lasts less than the confirmation window pauses nobody
 * (a household spike, or an estimate taken while cars ramp); in DLB,
 * and for a car that never ran, the pause is at once. */
static void
test_pause_confirmed(void)
{
	struct tsite *t = ts_new(3, 22000, BAL_MODE_ALM);
	int a = ts_add(t, 3, 0, 0, 22000), b = ts_add(t, 3, 0, 0, 22000);

	/* allocable 18700, household 4000: 7300 each */
	t->meter.total_power_w = 4000;
	RUN_OK(t, 0);
	CU_ASSERT_EQUAL(t->out[a].setpoint_w, 7300);
	CU_ASSERT_EQUAL(t->out[b].setpoint_w, 7300);
	/* 2 s of household 12000 (budget 6700 < 2 x 4200): both at 4200 */
	for (int k = 1; k <= 2; k++) {
		follow(t);
		t->meter.total_power_w = 12000 + t->cn[a].measured_power_w +
		    t->cn[b].measured_power_w;
		RUN_OK(t, 1000 * k);
		CU_ASSERT_EQUAL(t->out[a].setpoint_w, 4200);
		CU_ASSERT_EQUAL(t->out[b].setpoint_w, 4200);
		CU_ASSERT_EQUAL(t->out[b].reason, BAL_R_HELD_AT_MIN);
	}
	/* back to 4000: nobody paused, no hold time to wait out: the shares
	 * come back as the meter confirms the room */
	follow(t);
	t->meter.total_power_w = 4000 + 8400;
	RUN_OK(t, 3000);
	CU_ASSERT_EQUAL(t->out[a].setpoint_w, 7300);
	CU_ASSERT_EQUAL(t->out[b].setpoint_w, 7300);
	CU_ASSERT_EQUAL(t->so.n_paused, 0);
	/* a new shortage starts a new window */
	follow(t);
	t->meter.total_power_w = 12000 + 14600;
	RUN_OK(t, 4000);
	CU_ASSERT_EQUAL(t->out[b].reason, BAL_R_HELD_AT_MIN);
	ts_free(t);

	/* with confirmation off the pause is at once */
	t = ts_new(3, 22000, BAL_MODE_ALM);
	a = ts_add(t, 3, 0, 0, 22000);
	b = ts_add(t, 3, 0, 0, 22000);
	t->set.pause_confirm_ms = 0;
	t->meter.total_power_w = 4000;
	RUN_OK(t, 0);
	follow(t);
	t->meter.total_power_w = 12000 + 14600;
	RUN_OK(t, 1000);
	CU_ASSERT_EQUAL(t->out[b].setpoint_w, 0);
	CU_ASSERT_EQUAL(t->out[b].reason, BAL_R_PAUSED_BELOW_MIN);
	ts_free(t);
}

/* DLB's budget is not measured: a shortage pauses the last activated
 * at once, even one that was running. */
static void
test_pause_confirmed_dlb(void)
{
	struct tsite *t = ts_new(3, 22000, BAL_MODE_DLB);
	int a = ts_add(t, 3, 0, 0, 22000), b = ts_add(t, 3, 0, 0, 22000);
	int c = ts_add(t, 3, 0, 0, 22000);

	/* 22000 / 3 = 7333: 7300 each */
	RUN_OK(t, 0);
	CU_ASSERT_EQUAL(t->out[c].setpoint_w, 7300);
	/* 12000 W: 4000 each < 4200: the last pauses, the others 6000 */
	follow(t);
	t->site.available_power_w = 12000;
	RUN_OK(t, 1000);
	CU_ASSERT_EQUAL(t->out[a].setpoint_w, 6000);
	CU_ASSERT_EQUAL(t->out[b].setpoint_w, 6000);
	CU_ASSERT_EQUAL(t->out[c].setpoint_w, 0);
	ts_free(t);
}

/* A car held near its draw (here: suspended by the EV) pauses before
 * one that uses its power, even if it started first. */
static void
test_suspended_pauses_first(void)
{
	struct tsite *t = ts_new(3, 8000, BAL_MODE_DLB);
	int a = ts_add(t, 3, 0, 0, 22000), b = ts_add(t, 3, 0, 0, 22000);

	/* A started first but its EV is suspended: held at Pmin 4200; B
	 * needs 4200 too: 8400 > 8000, so A pauses (not B, the last
	 * activated), and B gets 8000 */
	t->cn[a].state = BAL_ST_SUSPENDED_EV;
	RUN_OK(t, 0);
	CU_ASSERT_EQUAL(t->out[a].setpoint_w, 0);
	CU_ASSERT_EQUAL(t->out[a].reason, BAL_R_PAUSED_BELOW_MIN);
	CU_ASSERT_EQUAL(t->out[b].setpoint_w, 8000);
	ts_free(t);
}

/* Several paused cars resume together once the room has lasted for the
 * hold time; meanwhile the room found for them is kept free. */
static void
test_resume_together(void)
{
	struct tsite *t = ts_new(3, 40000, BAL_MODE_DLB);
	int c[4];

	for (int j = 0; j < 4; j++)
		c[j] = ts_add(t, 3, 0, 0, 22000);
	/* cloud 8400: 2100 each < 4200; room for two at Pmin: the two
	 * started last pause */
	t->site.cloud_cap_w = 8400;
	RUN_OK(t, 0);
	CU_ASSERT_EQUAL(t->out[c[0]].setpoint_w, 4200);
	CU_ASSERT_EQUAL(t->out[c[1]].setpoint_w, 4200);
	CU_ASSERT_EQUAL(t->out[c[2]].setpoint_w, 0);
	CU_ASSERT_EQUAL(t->out[c[3]].setpoint_w, 0);
	/* cloud 40000 at 1 s: 10000 each would fit; the hold (10 s) starts.
	 * The running two stay at their trial share 10000 (not 20000) */
	follow(t);
	t->site.cloud_cap_w = 40000;
	RUN_OK(t, 1000);
	CU_ASSERT_EQUAL(t->out[c[0]].setpoint_w, 10000);
	CU_ASSERT_EQUAL(t->out[c[1]].setpoint_w, 10000);
	CU_ASSERT_EQUAL(t->out[c[2]].setpoint_w, 0);
	CU_ASSERT_EQUAL(t->out[c[3]].reason, BAL_R_PAUSED_BELOW_MIN);
	follow(t);
	RUN_OK(t, 10999);
	CU_ASSERT_EQUAL(t->out[c[2]].setpoint_w, 0);
	/* 11 s: both resume at once; room 40000 - 20000 measured */
	follow(t);
	RUN_OK(t, 11000);
	for (int j = 0; j < 4; j++) {
		CU_ASSERT_EQUAL(t->out[c[j]].setpoint_w, 10000);
		CU_ASSERT_EQUAL(t->out[c[j]].reason, BAL_R_SHARE);
	}
	ts_free(t);
}

/* Priority beats start order: the lower priority pauses first. */
static void
test_pause_respects_priority(void)
{
	struct tsite *t = ts_new(3, 8000, BAL_MODE_DLB);
	int a = ts_add(t, 3, 0, 0, 22000), b = ts_add(t, 3, 0, 0, 22000);

	/* 8000 / 2 = 4000 < 4200: one pauses.  B started later but has the
	 * higher priority, so A pauses and B gets 8000. */
	t->cn[b].priority = 5;
	RUN_OK(t, 0);
	CU_ASSERT_EQUAL(t->out[a].setpoint_w, 0);
	CU_ASSERT_EQUAL(t->out[b].setpoint_w, 8000);
	ts_free(t);
}

/* Ten cars, room for three at Pmin: exactly seven pause, the seven
 * started last. */
static void
test_pause_just_enough(void)
{
	struct tsite *t = ts_new(3, 12600, BAL_MODE_DLB);

	for (int j = 0; j < 10; j++)
		ts_add(t, 3, 0, 0, 22000);
	/* 12600 / 10 = 1260 < 4200; 12600 / 4200 = 3 keep running */
	RUN_OK(t, 0);
	for (int j = 0; j < 10; j++) {
		CU_ASSERT_EQUAL(t->out[j].setpoint_w, j < 3 ? 4200 : 0);
		CU_ASSERT_EQUAL(t->out[j].paused, j >= 3);
	}
	CU_ASSERT_EQUAL(t->so.n_paused, 7);
	ts_free(t);
}

/* Minimums differ (4200 W three-phase, 1400 W single-phase): the vendor
 * splits 8000 W into 4000 + 4000 and pauses the three-phase car; ours
 * gives each at least its minimum and shares the rest at one level. */
static void
test_mixed_minimums(void)
{
	struct tsite *t = ts_new(3, 8000, BAL_MODE_DLB);
	int one = ts_add(t, 1, 0, 0, 7400), three = ts_add(t, 3, 0, 0, 22000);

	/* level L with max(4200, L) + max(1400, L) = 8000: L = 3800 */
	RUN_OK(t, 0);
	CU_ASSERT_EQUAL(t->so.vendor_share_w, 4000);
	CU_ASSERT_EQUAL(t->out[three].setpoint_w, 4200);
	CU_ASSERT_EQUAL(t->out[one].setpoint_w, 3800);
	CU_ASSERT_EQUAL(t->out[three].reason, BAL_R_SHARE);
	CU_ASSERT_EQUAL(t->out[three].chain.pmin_w, 4200);
	/* 5000 W: 4200 + 1400 = 5600 do not fit: the later one (the
	 * three-phase car) pauses; the other may have 5000 once that car
	 * has stopped drawing its 4200 W */
	follow(t);
	t->site.available_power_w = 5000;
	RUN_OK(t, 1000);
	CU_ASSERT_EQUAL(t->out[three].setpoint_w, 0);
	CU_ASSERT_EQUAL(t->out[one].setpoint_w, 3800);
	CU_ASSERT_EQUAL(t->out[one].reason, BAL_R_WAITING_FOR_ROOM);
	follow(t);
	RUN_OK(t, 9000);
	CU_ASSERT_EQUAL(t->out[one].setpoint_w, 5000);
	ts_free(t);
}

/* Meter abnormal: all paused; with offline-meter power: that is shared. */
static void
test_meter_fault(void)
{
	struct tsite *t = ts_new(3, 22000, BAL_MODE_ALM);
	int a = ts_add(t, 3, 0, 0, 22000), b = ts_add(t, 3, 0, 0, 22000);

	t->meter.healthy = false;
	RUN_OK(t, 0);
	CU_ASSERT_TRUE(t->so.meter_fault);
	CU_ASSERT_EQUAL(t->so.cap_source, BAL_CAP_METER_FAULT);
	CU_ASSERT_EQUAL(t->out[a].setpoint_w, 0);
	CU_ASSERT_EQUAL(t->out[b].setpoint_w, 0);
	CU_ASSERT_EQUAL(t->out[a].reason, BAL_R_PAUSED_METER_FAULT);
	CU_ASSERT_EQUAL(t->so.n_paused, 2);

	/* a stale reading is a fault too; 9000 W configured for that case
	 * is shared: 4500 each (>= 4200) */
	t->meter.healthy = true;
	t->meter.age_ms = t->set.meter_max_age_ms + 1;
	t->set.offline_meter_power_w = 9000;
	RUN_OK(t, 1000);
	CU_ASSERT_TRUE(t->so.meter_fault);
	CU_ASSERT_EQUAL(t->so.cap_source, BAL_CAP_OFFLINE_METER);
	CU_ASSERT_EQUAL(t->out[a].setpoint_w, 4500);
	CU_ASSERT_EQUAL(t->out[b].setpoint_w, 4500);

	/* 10 % of 22 kW = 2200 W: below Pmin 4200 even for one: both 0 */
	follow(t);
	t->set.offline_meter_power_w = 2200;
	RUN_OK(t, 2000);
	CU_ASSERT_EQUAL(t->out[a].setpoint_w + t->out[b].setpoint_w, 0);
	CU_ASSERT_EQUAL(t->out[b].reason, BAL_R_PAUSED_BELOW_MIN);
	ts_free(t);
}

/* ---- PV ------------------------------------------------------------------ */

struct pv_case {
	enum bal_pv_mode pv;
	int32_t meter_w;       /* + import, - export */
	int32_t measured_w;    /* each connector */
	int n;                 /* single-phase 7.4 kW chargers, L1, L2 */
	int64_t surplus_w;
	enum bal_cap_source src;
	int32_t sp0, sp1;
};

static const struct pv_case pv_cases[] = {
	/* export 5000 + chargers 2000: surplus 7000, all to the one car */
	{ BAL_PV_FULL_GREEN, -5000, 2000, 1, 7000, BAL_CAP_PV_SURPLUS, 7000, 0 },
	/* surplus 1000 < Pmin 1400: paused, no grid */
	{ BAL_PV_FULL_GREEN, -1000, 0, 1, 1000, BAL_CAP_PV_SURPLUS, 0, 0 },
	/* surplus 2000 for two: 1000 < 1400 each: the later one pauses */
	{ BAL_PV_FULL_GREEN, -2000, 0, 2, 2000, BAL_CAP_PV_SURPLUS, 2000, 0 },
	/* surplus 1000 <= 2 x 1400: each gets Pmin, the grid adds 1800 */
	{ BAL_PV_GREEN_PRIORITY, -1000, 0, 2, 1000, BAL_CAP_PV_MIN, 1400, 1400 },
	/* surplus 5000 > 2800: 2500 each */
	{ BAL_PV_GREEN_PRIORITY, -5000, 0, 2, 5000, BAL_CAP_PV_SURPLUS, 2500, 2500 },
	/* importing 1000: surplus -1000; + 11000 available = 10000: 5000 each */
	{ BAL_PV_SPEED_PRIORITY, 1000, 0, 2, -1000, BAL_CAP_PV_SPEED, 5000, 5000 },
};

/* PV hybrid, table-driven: the three charging modes. */
static void
test_pv_formulas(void)
{
	for (size_t c = 0; c < ARRAY_SIZE(pv_cases); c++) {
		const struct pv_case *k = &pv_cases[c];
		struct tsite *t = ts_new(3, 11000, BAL_MODE_PV);

		t->set.pv_mode = k->pv;
		t->set.pause_confirm_ms = 0; /* the formulas, at once */
		t->meter.total_power_w = k->meter_w;
		for (int i = 0; i < k->n; i++)
			t->cn[ts_add(t, 1, i, 0, 7400)].measured_power_w = k->measured_w;
		RUN_OK(t, 0);
		CU_ASSERT_EQUAL(t->so.pv_surplus_w, k->surplus_w);
		CU_ASSERT_EQUAL(t->so.cap_source, k->src);
		CU_ASSERT_EQUAL(t->out[0].setpoint_w, k->sp0);
		if (k->n > 1)
			CU_ASSERT_EQUAL(t->out[1].setpoint_w, k->sp1);
		if (k->sp0 == 0)
			CU_ASSERT_EQUAL(t->out[0].reason, BAL_R_PAUSED_NO_SURPLUS);
		if (k->n > 1 && k->sp1 == 0)
			CU_ASSERT_EQUAL(t->out[1].reason, BAL_R_PAUSED_NO_SURPLUS);
		ts_free(t);
	}
}

/* ---- every cap ----------------------------------------------------------- */

/* The cloud's site cap lowers the budget of the mode. */
static void
test_cloud_cap(void)
{
	struct tsite *t = ts_new(3, 22000, BAL_MODE_DLB);
	int a = ts_add(t, 3, 0, 0, 22000), b = ts_add(t, 3, 0, 0, 22000);

	/* cloud 9000 < 22000: 4500 each, capped by the site */
	t->site.cloud_cap_w = 9000;
	RUN_OK(t, 0);
	CU_ASSERT_EQUAL(t->so.cap_source, BAL_CAP_CLOUD);
	CU_ASSERT_EQUAL(t->so.cap_w, 9000);
	CU_ASSERT_EQUAL(t->out[a].setpoint_w, 4500);
	CU_ASSERT_EQUAL(t->out[b].setpoint_w, 4500);
	CU_ASSERT_EQUAL(t->out[a].reason, BAL_R_CAPPED_SITE);
	ts_free(t);
}

/* Profile caps and maxima bound a connector; the rest goes to others. */
static void
test_profile_and_max(void)
{
	struct tsite *t = ts_new(3, 22000, BAL_MODE_DLB);
	int a = ts_add(t, 3, 0, 0, 22000), b = ts_add(t, 3, 0, 0, 22000);
	int c = ts_add(t, 3, 0, 0, 22000);

	/* A's profile 5000, B configured 6000; C takes the rest:
	 * 22000 - 5000 - 6000 = 11000 (vendor: 7333 each) */
	t->cn[a].profile_cap_w = 5000;
	t->cn[b].configured_max_w = 6000;
	RUN_OK(t, 0);
	CU_ASSERT_EQUAL(t->out[a].setpoint_w, 5000);
	CU_ASSERT_EQUAL(t->out[a].reason, BAL_R_CAPPED_PROFILE);
	CU_ASSERT_EQUAL(t->out[a].chain.bound, BAL_B_OWN);
	CU_ASSERT_EQUAL(t->out[b].setpoint_w, 6000);
	CU_ASSERT_EQUAL(t->out[b].reason, BAL_R_CAPPED_MAX);
	CU_ASSERT_EQUAL(t->out[c].setpoint_w, 11000);
	CU_ASSERT_EQUAL(t->out[c].reason, BAL_R_SHARE);
	CU_ASSERT_EQUAL(t->out[c].chain.bound, BAL_B_SITE);

	/* a profile cap below Pmin pauses (0, never 3000) */
	t->cn[a].profile_cap_w = 3000;
	RUN_OK(t, 1000);
	CU_ASSERT_EQUAL(t->out[a].setpoint_w, 0);
	CU_ASSERT_TRUE(t->out[a].paused);
	CU_ASSERT_EQUAL(t->out[a].reason, BAL_R_PAUSED_BELOW_MIN);
	CU_ASSERT_EQUAL(t->out[a].chain.profile_cap_w, 3000);
	ts_free(t);
}

/* A sub-circuit and the main circuit limit their connectors. */
static void
test_circuit_tree(void)
{
	struct tsite *t = ts_new(3, 40000, BAL_MODE_DLB);
	int a, b, c;

	/* circuit 1 "garage" of 16 A under the main one (63 A) */
	t->circ[1].parent = 0;
	t->circ[1].max_current_ma = 16000;
	t->site.n_circuits = 2;
	a = ts_add(t, 3, 0, 1, 11000);
	b = ts_add(t, 3, 0, 1, 11000);
	c = ts_add(t, 3, 0, 0, 22000);
	RUN_OK(t, 0);
	/* garage: 16 A x 3 x 230 V = 11040 W for two: 5520 -> 5500 each */
	CU_ASSERT_EQUAL(t->out[a].setpoint_w, 5500);
	CU_ASSERT_EQUAL(t->out[b].setpoint_w, 5500);
	CU_ASSERT_EQUAL(t->out[a].reason, BAL_R_CAPPED_CIRCUIT);
	CU_ASSERT_EQUAL(t->out[a].chain.bound_circuit, 1);
	{
		/* target 5520 (11040 / 2); room: the site has 40000 - 33000
		 * = 7000 W more, so 12500 for A; the garage only the 40 W
		 * that the 100 W steps left: 5540; no phase limits */
		char line[256];
		bal_format(&t->out[a], line, sizeof(line));
		CU_ASSERT_STRING_EQUAL(line, "5500 W capped-by-circuit: target "
		    "5520 W, min 4200, max 11000, profile -, held -, bound "
		    "circuit 1 L1, room site 12500 phase - circuit 5540");
	}
	/* C: 40000 - 11040 = 28960 left, its max 22000 binds; main circuit
	 * 22000 / 690 = 31.9 A + 16 A < 63 A */
	CU_ASSERT_EQUAL(t->out[c].setpoint_w, 22000);
	CU_ASSERT_EQUAL(t->out[c].reason, BAL_R_CAPPED_MAX);

	/* main circuit to 40 A: C gets (40 - 16) A x 690 V = 16560 W */
	t->circ[0].max_current_ma = 40000;
	RUN_OK(t, 1000);
	CU_ASSERT_EQUAL(t->out[c].setpoint_w, 16500);
	CU_ASSERT_EQUAL(t->out[c].reason, BAL_R_CAPPED_CIRCUIT);
	CU_ASSERT_EQUAL(t->out[c].chain.bound_circuit, 0);
	ts_free(t);
}

/* ---- phases -------------------------------------------------------------- */

/* Single-phase chargers load their wired phase. */
static void
test_single_phase_chargers_and_switching(void)
{
	struct tsite *t = ts_new(3, 40000, BAL_MODE_DLB);
	int l1[3], l2;

	for (int p = 0; p < 3; p++)
		t->site.phase_max_ma[p] = 32000;
	for (int j = 0; j < 3; j++) {
		l1[j] = ts_add(t, 1, 0, 0, 7400);
		ts_ch(t, l1[j])->phase_switchable = true;
	}
	l2 = ts_add(t, 1, 1, 0, 7000);
	RUN_OK(t, 0);
	/* L1: 32 A / 3 = 10.67 A x 230 V = 2453 W -> 2400 each */
	for (int j = 0; j < 3; j++) {
		CU_ASSERT_EQUAL(t->out[l1[j]].setpoint_w, 2400);
		CU_ASSERT_EQUAL(t->out[l1[j]].reason, BAL_R_CAPPED_PHASE);
		CU_ASSERT_EQUAL(t->out[l1[j]].chain.bound_phase, 0);
	}
	/* L2: 7000 W = 30.4 A < 32 A: its own max */
	CU_ASSERT_EQUAL(t->out[l2].setpoint_w, 7000);
	CU_ASSERT_EQUAL(t->out[l2].reason, BAL_R_CAPPED_MAX);
	ts_free(t);
}

/* Single-phase chargers wired to L2 and L3 count against that phase of
 * their circuit, not against L1. */
static void
test_single_phase_circuit_wired_phase(void)
{
	struct tsite *t = ts_new(3, 40000, BAL_MODE_DLB);
	int a, b, c;

	t->circ[1].parent = 0;
	t->circ[1].max_current_ma = 16000;
	t->site.n_circuits = 2;
	a = ts_add(t, 1, 1, 1, 7400);	/* L2 */
	b = ts_add(t, 1, 1, 1, 7400);	/* L2 */
	c = ts_add(t, 1, 2, 1, 7400);	/* L3 */
	RUN_OK(t, 0);
	/* L2: 16 A x 230 V = 3680 W for two: 1840 -> 1800 each (on L1 the
	 * three would share 3680 W: below Pmin, the last one paused) */
	CU_ASSERT_EQUAL(t->out[a].setpoint_w, 1800);
	CU_ASSERT_EQUAL(t->out[b].setpoint_w, 1800);
	CU_ASSERT_EQUAL(t->out[a].reason, BAL_R_CAPPED_CIRCUIT);
	CU_ASSERT_EQUAL(t->out[a].chain.bound_circuit, 1);
	CU_ASSERT_EQUAL(t->out[a].chain.bound_phase, 1);
	/* L3 alone: 3680 W -> 3600 */
	CU_ASSERT_EQUAL(t->out[c].setpoint_w, 3600);
	CU_ASSERT_EQUAL(t->out[c].chain.bound_phase, 2);
	ts_free(t);
}

/* ALM per phase: the household on L1 is taken from the meter. */
static void
test_alm_phase_household(void)
{
	struct tsite *t = ts_new(3, 40000, BAL_MODE_ALM);
	int a = ts_add(t, 1, 0, 0, 7400);

	/* L1 limit 32 A x 0.85 (5 % + 10 %) = 27.2 A; household on L1
	 * 2300 W = 10 A: 17.2 A x 230 V = 3956 W -> 3900 */
	t->site.phase_max_ma[0] = 32000;
	t->meter.phase_power_w[0] = 2300;
	t->meter.total_power_w = 2300;
	RUN_OK(t, 0);
	CU_ASSERT_EQUAL(t->out[a].setpoint_w, 3900);
	CU_ASSERT_EQUAL(t->out[a].reason, BAL_R_CAPPED_PHASE);
	ts_free(t);
}

/* ---- fairness ------------------------------------------------------------ */

/* A suspended EV is held at Pmin; the others share the rest. */
static void
test_suspended_ev_gives_way(void)
{
	struct tsite *t = ts_new(3, 22000, BAL_MODE_DLB);
	int a = ts_add(t, 3, 0, 0, 22000), b = ts_add(t, 3, 0, 0, 22000);

	/* vendor: 11000 each.  A's EV suspended: held at max(Pmin 4200,
	 * draw 0 + 2000) = 4200; B gets 22000 - 4200 = 17800 */
	t->cn[a].state = BAL_ST_SUSPENDED_EV;
	RUN_OK(t, 0);
	CU_ASSERT_EQUAL(t->out[a].setpoint_w, 4200);
	CU_ASSERT_EQUAL(t->out[a].reason, BAL_R_HELD_NEAR_DRAW);
	CU_ASSERT_EQUAL(t->out[b].setpoint_w, 17800);
	CU_ASSERT_EQUAL(t->out[b].reason, BAL_R_SHARE);
	ts_free(t);
}

/* An EV drawing less is held near its draw, and gets its share back. */
static void
test_under_drawing_and_back(void)
{
	struct tsite *t = ts_new(3, 22000, BAL_MODE_DLB);
	int a = ts_add(t, 3, 0, 0, 22000), b = ts_add(t, 3, 0, 0, 22000);

	RUN_OK(t, 0);
	CU_ASSERT_EQUAL(t->out[a].setpoint_w, 11000);
	/* A draws 7000 of 11000 (< 11000 - 1000): noticed at 1 s ... */
	t->cn[a].measured_power_w = 7000;
	t->cn[b].measured_power_w = 11000;
	RUN_OK(t, 1000);
	CU_ASSERT_EQUAL(t->out[a].setpoint_w, 11000);
	/* ... acted on 15 s later: A held at 7000 + 2000 = 9000, B may rise
	 * to 13000: measured 11000 + 9000 = 20000, room 2000 */
	RUN_OK(t, 16000);
	CU_ASSERT_EQUAL(t->out[a].setpoint_w, 9000);
	CU_ASSERT_EQUAL(t->out[a].reason, BAL_R_HELD_NEAR_DRAW);
	CU_ASSERT_EQUAL(t->out[b].setpoint_w, 13000);
	/* A draws 8500 >= 9000 - 1000: it wants more, share back: target
	 * 11000; B drops to 11000 at once but still draws 12900, so A may
	 * only go to 22000 - 12900 = 9100 now ... */
	t->cn[a].measured_power_w = 8500;
	t->cn[b].measured_power_w = 12900;
	RUN_OK(t, 17000);
	CU_ASSERT_EQUAL(t->out[b].setpoint_w, 11000);
	CU_ASSERT_EQUAL(t->out[a].setpoint_w, 9100);
	CU_ASSERT_EQUAL(t->out[a].reason, BAL_R_WAITING_FOR_ROOM);
	/* ... and to 11000 when B follows */
	t->cn[a].measured_power_w = 9100;
	t->cn[b].measured_power_w = 11000;
	RUN_OK(t, 18000);
	CU_ASSERT_EQUAL(t->out[a].setpoint_w, 11000);
	CU_ASSERT_EQUAL(t->out[a].reason, BAL_R_SHARE);
	ts_free(t);
}

/* The doc's example: a car with a single-phase on-board charger draws
 * 3700 W on a three-phase charger. */
static void
test_fairer_than_equal_split(void)
{
	struct tsite *t = ts_new(3, 33000, BAL_MODE_DLB);
	int a = ts_add(t, 3, 0, 0, 22000), b = ts_add(t, 3, 0, 0, 22000);
	int c = ts_add(t, 3, 0, 0, 22000);
	int64_t delivered;

	/* vendor and ours at first: 33000 / 3 = 11000 each */
	RUN_OK(t, 0);
	CU_ASSERT_EQUAL(t->so.vendor_share_w, 11000);
	for (int j = 0; j < 3; j++)
		CU_ASSERT_EQUAL(t->out[j].setpoint_w, 11000);
	follow(t);
	t->cn[a].measured_power_w = 3700;
	RUN_OK(t, 1000);
	/* delivered with the equal split: 3700 + 2 x 11000 = 25700 W */
	delivered = t->cn[a].measured_power_w + t->out[b].setpoint_w +
	    t->out[c].setpoint_w;
	CU_ASSERT_EQUAL(delivered, 25700);
	/* 15 s later: A held at 3700 + 2000 = 5700; B and C: (33000 -
	 * 5700) / 2 = 13650 -> 13600; room: 5700 + 2 x 11000 = 27700
	 * committed, 5300 free: B to 13600 (+2600), C to 13600 (+2600) */
	RUN_OK(t, 16000);
	CU_ASSERT_EQUAL(t->out[a].setpoint_w, 5700);
	CU_ASSERT_EQUAL(t->out[b].setpoint_w, 13600);
	CU_ASSERT_EQUAL(t->out[c].setpoint_w, 13600);
	delivered = 3700 + t->out[b].setpoint_w + t->out[c].setpoint_w;
	CU_ASSERT_EQUAL(delivered, 30900);
	/* explain: A could have 5800 from the site with B and C at 13600
	 * (33000 - 27200); no phase limit; the 63 A circuit carries 32900 W
	 * = 47.68 A, so A could have 5700 + (63 - 47.68) A x 690 V = 16269 W */
	CU_ASSERT_EQUAL(t->out[a].chain.site_room_w, 5800);
	CU_ASSERT_EQUAL(t->out[a].chain.phase_room_w, BAL_NO_CAP);
	CU_ASSERT_EQUAL(t->out[a].chain.circuit_room_w, 16269);
	CU_ASSERT_EQUAL(t->out[a].chain.held_cap_w, 5700);
	CU_ASSERT_EQUAL(t->out[b].chain.bound, BAL_B_SITE);
	{
		char line[256];
		bal_format(&t->out[a], line, sizeof(line));
		CU_ASSERT_STRING_EQUAL(line, "5700 W held-near-draw: target "
		    "5700 W, min 4200, max 22000, profile -, held 5700, bound "
		    "own, room site 5800 phase - circuit 16269");
	}
	ts_free(t);
}

/* Pmin per bottleneck: a full garage pauses a car in the garage, not
 * the car started last elsewhere. */
static void
test_pause_in_the_bottleneck(void)
{
	struct tsite *t = ts_new(3, 40000, BAL_MODE_DLB);
	int a, b, c;

	t->circ[1].parent = 0;
	t->circ[1].max_current_ma = 10000; /* 10 A x 690 V = 6900 W */
	t->site.n_circuits = 2;
	a = ts_add(t, 3, 0, 1, 11000);     /* started at 1 s */
	b = ts_add(t, 3, 0, 1, 11000);     /* 2 s */
	c = ts_add(t, 3, 0, 0, 22000);     /* 3 s: the last activated */
	RUN_OK(t, 0);
	/* garage: 6900 / 2 = 3450 < 4200: B pauses, A gets 6900 */
	CU_ASSERT_EQUAL(t->out[a].setpoint_w, 6900);
	CU_ASSERT_EQUAL(t->out[a].reason, BAL_R_CAPPED_CIRCUIT);
	CU_ASSERT_EQUAL(t->out[b].setpoint_w, 0);
	CU_ASSERT_EQUAL(t->out[b].reason, BAL_R_PAUSED_BELOW_MIN);
	CU_ASSERT_EQUAL(t->out[c].setpoint_w, 22000);
	ts_free(t);
}

/* A single-phase site: everything on L1. */
static void
test_single_phase_site(void)
{
	struct tsite *t = ts_new(1, 7000, BAL_MODE_DLB);
	int a = ts_add(t, 1, 0, 0, 7400), b = ts_add(t, 1, 0, 0, 7400);

	/* 7000 / 2 = 3500 each; 2 x 15.2 A < 63 A */
	RUN_OK(t, 0);
	CU_ASSERT_EQUAL(t->out[a].setpoint_w, 3500);
	CU_ASSERT_EQUAL(t->out[b].setpoint_w, 3500);
	/* current mode, 1 A steps = 230 W: 3500 / 230 = 15.2 -> 15 A */
	ts_ch(t, a)->unit = BAL_UNIT_A;
	bal_state_init(&t->st);
	RUN_OK(t, 1000);
	CU_ASSERT_EQUAL(t->out[a].setpoint_ma, 15000);
	CU_ASSERT_EQUAL(t->out[a].setpoint_w, 3450);
	/* a three-phase charger on a single-phase site is refused */
	ts_ch(t, b)->phases = 3;
	CU_ASSERT_EQUAL(ts_run(t, 2000), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(t->err, "three-phase charger on a single-phase site"));
	ts_free(t);
}

/* A car with a single-phase on-board charger on a three-phase charger
 * loads L1 only: the L1 limit must hold. */
static void
test_single_phase_car_on_three_phase_charger(void)
{
	struct tsite *t = ts_new(3, 40000, BAL_MODE_DLB);
	int a = ts_add(t, 3, 0, 0, 22000);

	for (int p = 0; p < 3; p++)
		t->site.phase_max_ma[p] = 16000;
	/* before it draws: three-phase, 16 A x 690 V = 11040 -> 11000 W */
	RUN_OK(t, 0);
	CU_ASSERT_EQUAL(t->out[a].setpoint_w, 11000);
	/* it draws 16 A on L1 only: now 16 A x 230 V = 3680 -> 3600 W on
	 * L1, a decrease at once; its minimum is the single-phase 1400 W */
	t->cn[a].measured_power_w = 3680;
	t->cn[a].measured_current_ma[0] = 16000;
	RUN_OK(t, 1000);
	CU_ASSERT_EQUAL(t->out[a].setpoint_w, 3600);
	CU_ASSERT_EQUAL(t->out[a].reason, BAL_R_CAPPED_PHASE);
	CU_ASSERT_EQUAL(t->out[a].chain.bound_phase, 0);
	CU_ASSERT_EQUAL(t->out[a].chain.pmin_w, 1400);
	/* in current mode the steps are 1 A x 230 V on that one phase: the
	 * limit 16 A is exactly 16 steps = 3680 W; the last setpoint 3600 W
	 * is 15 A (3450 W) on that grid, and 16 A is less than 1.5 steps
	 * more: calm keeps 15 A */
	ts_ch(t, a)->unit = BAL_UNIT_A;
	RUN_OK(t, 2000);
	CU_ASSERT_EQUAL(t->out[a].setpoint_ma, 15000);
	CU_ASSERT_EQUAL(t->out[a].setpoint_w, 3450);
	CU_ASSERT_EQUAL(t->out[a].chain.target_w, 3680);
	/* from nothing it gets the full 16 A */
	bal_state_init(&t->st);
	RUN_OK(t, 3000);
	CU_ASSERT_EQUAL(t->out[a].setpoint_ma, 16000);
	CU_ASSERT_EQUAL(t->out[a].setpoint_w, 3680);
	ts_free(t);
}

/* A DC charger written in whole kW. */
static void
test_charger_resolution(void)
{
	struct tsite *t = ts_new(3, 50000, BAL_MODE_DLB);
	int a = ts_add(t, 3, 0, 0, 50000), b = ts_add(t, 3, 0, 0, 22000);

	/* cloud 37500: 18750 each; A in 1000 W steps -> 18000, B 18700 */
	ts_ch(t, a)->resolution_w = 1000;
	t->site.cloud_cap_w = 37500;
	RUN_OK(t, 0);
	CU_ASSERT_EQUAL(t->out[a].setpoint_w, 18000);
	CU_ASSERT_EQUAL(t->out[b].setpoint_w, 18700);
	ts_free(t);
}

/* A single-phase charger's room is its wired phase's: a free phase
 * elsewhere does not raise it. */
static void
test_single_phase_room_is_its_phase(void)
{
	struct tsite *t = ts_new(3, 40000, BAL_MODE_DLB);
	int a = ts_add(t, 1, 0, 0, 7400), b = ts_add(t, 1, 1, 0, 7400);
	int c = ts_add(t, 1, 2, 0, 7400);

	for (int p = 0; p < 3; p++)
		t->site.phase_max_ma[p] = 32000;
	ts_ch(t, a)->phase_switchable = true;
	RUN_OK(t, 0);
	/* one car per phase, 7400 W = 32.2 A > 32 A: each capped by its
	 * phase at 32 A x 230 V = 7360 -> 7300 W */
	CU_ASSERT_EQUAL(t->out[a].setpoint_w, 7300);
	CU_ASSERT_EQUAL(t->out[a].reason, BAL_R_CAPPED_PHASE);
	CU_ASSERT_EQUAL(t->out[a].chain.bound_phase, 0);
	/* C leaves: L3 is free, A stays capped by L1 */
	t->cn[c].state = BAL_ST_AVAILABLE;
	RUN_OK(t, 1000);
	CU_ASSERT_EQUAL(t->out[a].setpoint_w, 7300);
	CU_ASSERT_EQUAL(t->out[a].reason, BAL_R_CAPPED_PHASE);
	CU_ASSERT_EQUAL(t->out[b].setpoint_w, 7300);
	ts_free(t);
}

/* ---- headroom and calm --------------------------------------------------- */

/* Decreases are immediate; increases wait for the meter. */
static void
test_decrease_at_once_increase_waits(void)
{
	struct tsite *t = ts_new(3, 22000, BAL_MODE_DLB);
	int a = ts_add(t, 3, 0, 0, 22000), b;

	RUN_OK(t, 0);
	CU_ASSERT_EQUAL(t->out[a].setpoint_w, 22000);
	follow(t);
	/* B arrives: 11000 each; A drops at once, B waits for A's car */
	b = ts_add(t, 3, 0, 0, 22000);
	t->cn[b].state = BAL_ST_PREPARING;
	RUN_OK(t, 1000);
	CU_ASSERT_EQUAL(t->out[a].setpoint_w, 11000);
	CU_ASSERT_EQUAL(t->out[b].setpoint_w, 0);
	CU_ASSERT_EQUAL(t->out[b].reason, BAL_R_WAITING_FOR_ROOM);
	/* A's car followed after ~8 s: measured 11000, room 11000 */
	follow(t);
	RUN_OK(t, 9000);
	CU_ASSERT_EQUAL(t->out[b].setpoint_w, 11000);
	ts_free(t);
}

/* Steps of the resolution; small increases are not written. */
static void
test_resolution_and_hysteresis(void)
{
	struct tsite *t = ts_new(3, 40000, BAL_MODE_DLB);
	int a = ts_add(t, 3, 0, 0, 22000);

	/* cloud cap as the noisy input: 10050 -> 10000 (100 W steps) */
	t->site.cloud_cap_w = 10050;
	RUN_OK(t, 0);
	CU_ASSERT_EQUAL(t->out[a].setpoint_w, 10000);
	follow(t);
	/* 10120 < 10000 + 1.5 x 100: not worth a rewrite */
	t->site.cloud_cap_w = 10120;
	RUN_OK(t, 1000);
	CU_ASSERT_EQUAL(t->out[a].setpoint_w, 10000);
	/* 10160: up one step */
	t->site.cloud_cap_w = 10160;
	RUN_OK(t, 2000);
	CU_ASSERT_EQUAL(t->out[a].setpoint_w, 10100);
	follow(t);
	/* 10090: a decrease, applied at once */
	t->site.cloud_cap_w = 10090;
	RUN_OK(t, 3000);
	CU_ASSERT_EQUAL(t->out[a].setpoint_w, 10000);
	ts_free(t);
}

/* Chargers in current mode get whole-ampere steps. */
/* Ten minutes of a noisy household, one run per second, cars following
 * their setpoints; returns how often B was paused or resumed and how
 * often A's setpoint was rewritten. */
static void
noisy_run(int32_t margin_w, int32_t hold_ms, int noise_w, int *flips,
    int *rewrites)
{
	struct tsite *t = ts_new(3, 22000, BAL_MODE_ALM);
	int a = ts_add(t, 3, 0, 0, 22000), b = ts_add(t, 3, 0, 0, 22000);
	uint32_t r = 1;
	int32_t last_a = -1;
	bool paused = false;

	t->set.restart_margin_w = margin_w;
	t->set.restart_hold_ms = hold_ms;
	if (hold_ms == 0)
		t->set.pause_confirm_ms = 0; /* no hysteresis at all */
	*flips = *rewrites = 0;
	for (int k = 0; k < 600; k++) {
		int32_t household;
		r = r * 1103515245u + 12345u;
		household = 10000 + (int32_t)((r >> 8) % (2 * noise_w + 1)) - noise_w;
		t->meter.total_power_w = household + t->cn[a].measured_power_w +
		    t->cn[b].measured_power_w;
		RUN_OK(t, 1000 * k);
		if (t->out[b].paused != paused)
			(*flips)++;
		paused = t->out[b].paused;
		if (t->out[a].setpoint_w != last_a)
			(*rewrites)++;
		last_a = t->out[a].setpoint_w;
		follow(t);
	}
	ts_free(t);
}

/* Calm: allocable 18700 - household 10000 +- noise leaves about 8700 W
 * for two cars that need 2 x 4200 = 8400 W. */
static void
test_calm_under_noise(void)
{
	int flips, rewrites;

	/* noise +-40 W, below the 100 W step: A is written at most twice
	 * (its first value, one step down), B never pauses */
	noisy_run(500, 10000, 40, &flips, &rewrites);
	CU_ASSERT_EQUAL(flips, 0);
	CU_ASSERT(rewrites <= 2);
	/* noise +-600 W: the budget dips below 8400 W a quarter of the
	 * time; B pauses once and resumes only after 10 s above 8400 +
	 * 500 W, which this noise does not give: at most 2 changes */
	noisy_run(500, 10000, 600, &flips, &rewrites);
	CU_ASSERT(flips >= 1);
	CU_ASSERT(flips <= 2);
	/* without margin and hold time the same noise makes B flap */
	noisy_run(0, 0, 600, &flips, &rewrites);
	CU_ASSERT(flips > 20);
}

static void
test_current_unit(void)
{
	struct tsite *t = ts_new(3, 20000, BAL_MODE_DLB);
	int a = ts_add(t, 3, 0, 0, 22000), b = ts_add(t, 3, 0, 0, 22000);

	/* 1 A steps on three phases = 690 W; 10000 W / 690 = 14.49 -> 14 A
	 * = 9660 W */
	ts_ch(t, a)->unit = BAL_UNIT_A;
	ts_ch(t, b)->unit = BAL_UNIT_A;
	RUN_OK(t, 0);
	CU_ASSERT_EQUAL(t->out[a].setpoint_ma, 14000);
	CU_ASSERT_EQUAL(t->out[a].setpoint_w, 9660);
	CU_ASSERT_EQUAL(t->out[b].setpoint_ma, 14000);
	/* Pmin 4200 W = 6.09 A -> 7 A = 4830 W on the grid */
	CU_ASSERT_EQUAL(t->out[a].chain.pmin_w, 4830);
	ts_free(t);
}

/* Two connectors on one charger: DLB's N counts chargers. */
static void
test_chargers_vs_connectors(void)
{
	struct tsite *t = ts_new(3, 30000, BAL_MODE_DLB);
	int a = ts_add(t, 3, 0, 0, 22000), a2 = ts_add_connector(t, a);
	int b = ts_add(t, 3, 0, 0, 22000);

	ts_ch(t, b)->online = false;
	RUN_OK(t, 0);
	/* N = 2 chargers: offline 30000 / 2 = 15000, and B offline keeps
	 * the reserve (4200); budget 10800 for A's two connectors: 5400
	 * each; one charging charger: share 10800 */
	CU_ASSERT_EQUAL(t->so.offline_power_w, 15000);
	CU_ASSERT_EQUAL(t->so.reserved_w, 4200);
	CU_ASSERT_EQUAL(t->so.n_charging_chargers, 1);
	CU_ASSERT_EQUAL(t->so.vendor_share_w, 10800);
	CU_ASSERT_EQUAL(t->out[a].setpoint_w, 5400);
	CU_ASSERT_EQUAL(t->out[a2].setpoint_w, 5400);
	/* B back and charging, A's second connector free: every charger is
	 * online and charging, no reserve (manual §6 counts chargers):
	 * 30000 W for three connectors */
	ts_ch(t, b)->online = true;
	t->cn[a2].state = BAL_ST_AVAILABLE;
	RUN_OK(t, 1000);
	CU_ASSERT_EQUAL(t->so.reserved_w, 0);
	CU_ASSERT_EQUAL(t->so.budget_w, 30000);
	/* B unavailable: not charging, it keeps the reserve */
	t->cn[b].state = BAL_ST_UNAVAILABLE;
	RUN_OK(t, 2000);
	CU_ASSERT_EQUAL(t->so.reserved_w, 4200);
	ts_free(t);
}

/* Bad input is refused with what, where and the valid range. */
/* The offline reserve: the vendor's figure or the programmed offline
 * limit, whichever is larger, never above the charger's rating. */
static void
test_offline_reserve(void)
{
	struct tsite *t = ts_new(3, 44000, BAL_MODE_DLB);
	int a = ts_add(t, 3, 0, 0, 22000), b = ts_add(t, 1, 0, 0, 7400);
	int c = ts_add(t, 3, 0, 0, 22000);

	/* (a 200 A circuit: the reserves alone would fill L1 of 63 A) */
	t->circ[0].max_current_ma = 200000;
	/* N = 3: 44000 / 3 = 14667 W each offline; B can draw 7400 W */
	ts_ch(t, b)->online = false;
	/* C programmed to 20000 W when offline: more than 14667 */
	ts_ch(t, c)->online = false;
	ts_ch(t, c)->offline_power_w = 20000;
	RUN_OK(t, 0);
	CU_ASSERT_EQUAL(t->out[b].offline_reserve_w, 7400);
	CU_ASSERT_EQUAL(t->out[c].offline_reserve_w, 20000);
	CU_ASSERT_EQUAL(t->so.offline_power_w, 27400);
	/* A: 44000 - 27400 - the reserve the offline chargers keep (the
	 * larger minimum, C's 4200) = 12400 W */
	CU_ASSERT_EQUAL(t->so.reserved_w, 4200);
	CU_ASSERT_EQUAL(t->out[a].setpoint_w, 12400);
	/* ALM: Pmin (1400 / 4200) unless the programmed limit is higher */
	t->set.mode = BAL_MODE_ALM;
	ts_ch(t, c)->offline_power_w = 0;
	RUN_OK(t, 1000);
	CU_ASSERT_EQUAL(t->out[b].offline_reserve_w, 1400);
	CU_ASSERT_EQUAL(t->out[c].offline_reserve_w, 4200);
	ts_free(t);
}

static void
test_bad_input(void)
{
	struct tsite *t = ts_new(3, 22000, BAL_MODE_DLB);
	int a = ts_add(t, 3, 0, 0, 22000);

	t->set.reserve_pct = 60;
	CU_ASSERT_EQUAL(ts_run(t, 0), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(t->err, "reserve 60 %, valid 0..50"));
	t->set.reserve_pct = 10;
	t->cn[a].charger = 4;
	CU_ASSERT_EQUAL(ts_run(t, 0), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(t->err, "connector 0: charger 4, valid 0..0"));
	t->cn[a].charger = 0;
	t->circ[0].parent = 0;
	CU_ASSERT_EQUAL(ts_run(t, 0), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(t->err, "circuit 0: parent 0"));
	ts_free(t);
}

/* Every reason has a name. */
static void
test_names(void)
{
	CU_ASSERT_STRING_EQUAL(bal_reason_name(BAL_R_SHARE), "share");
	CU_ASSERT_STRING_EQUAL(bal_reason_name(BAL_R_OFFLINE_RESERVE),
	    "offline-reserve");
	CU_ASSERT_STRING_EQUAL(bal_cap_source_name(BAL_CAP_CLOUD), "cloud");
	CU_ASSERT_STRING_EQUAL(bal_state_name(BAL_ST_SUSPENDED_EV), "suspended-ev");
	for (int r = 0; r < BAL_R_COUNT; r++)
		CU_ASSERT_STRING_NOT_EQUAL(bal_reason_name(r), "?");
}

static const struct cu_test formula_tests[] = {
	{ "dlb formulas", test_dlb_formulas },
	{ "alm formulas", test_alm_formulas },
	{ "alm pause last activated, resume", test_alm_pause_last_activated_and_resume },
	{ "alm pause only when confirmed", test_pause_confirmed },
	{ "dlb pause at once", test_pause_confirmed_dlb },
	{ "resume together", test_resume_together },
	{ "suspended pauses first", test_suspended_pauses_first },
	{ "pause respects priority", test_pause_respects_priority },
	{ "pause just enough", test_pause_just_enough },
	{ "mixed minimums", test_mixed_minimums },
	{ "meter fault", test_meter_fault },
	{ "pv formulas", test_pv_formulas },
	{ NULL, NULL },
};

static const struct cu_test rule_tests[] = {
	{ "cloud cap", test_cloud_cap },
	{ "profile and max", test_profile_and_max },
	{ "circuit tree", test_circuit_tree },
	{ "single-phase chargers, switching", test_single_phase_chargers_and_switching },
	{ "single-phase chargers on L2 / L3 of a circuit", test_single_phase_circuit_wired_phase },
	{ "alm phase household", test_alm_phase_household },
	{ "suspended EV gives way", test_suspended_ev_gives_way },
	{ "fairer than the equal split", test_fairer_than_equal_split },
	{ "pause in the bottleneck", test_pause_in_the_bottleneck },
	{ "single-phase site", test_single_phase_site },
	{ "single-phase room is its phase", test_single_phase_room_is_its_phase },
	{ "single-phase car on a three-phase charger", test_single_phase_car_on_three_phase_charger },
	{ "charger resolution", test_charger_resolution },
	{ "under-drawing and back", test_under_drawing_and_back },
	{ "decrease at once, increase waits", test_decrease_at_once_increase_waits },
	{ "resolution and hysteresis", test_resolution_and_hysteresis },
	{ "calm under noise", test_calm_under_noise },
	{ "current unit", test_current_unit },
	{ "chargers vs connectors", test_chargers_vs_connectors },
	{ "offline reserve", test_offline_reserve },
	{ "bad input", test_bad_input },
	{ "names", test_names },
	{ NULL, NULL },
};

/* Runs every balancer suite; non-zero exit on failure. */
int
main(void)
{
	static const struct cu_suite suites[] = {
		{ "balancer formulas", NULL, NULL, formula_tests },
		{ "balancer rules", NULL, NULL, rule_tests },
		{ "balancer properties", NULL, NULL, property_tests },
		{ "phase switching", NULL, NULL, phase_tests },
		{ "balancer orderings", NULL, NULL, sort_tests },
		{ NULL, NULL, NULL, NULL },
	};

	return cu_run(suites);
}
