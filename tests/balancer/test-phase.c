/* Tests of the 1p <-> 3p switching decisions (src/balancer/phase.c). */
#include "config.h"

#include <stdlib.h>

#include "tests/balancer/test-balancer.h"

/* A configuration with short windows for the tests: 10 s confirmation,
 * 60 s dwell, 1 kW margin. */
static void
conf_short(struct bal_phase_conf *c)
{
	bal_phase_conf_default(c);
	c->confirm_ms = 10000;
	c->dwell_ms = 60000;
}

/* Feeds the same rooms once a second from t0 for secs seconds; returns
 * the first time a switch was decided, or -1. */
static int64_t
feed(const struct bal_phase_conf *c, struct bal_phase_mem *m, int64_t t0,
    int secs, int64_t r1, int64_t r3)
{
	for (int i = 0; i <= secs; i++) {
		int64_t t = t0 + i * 1000LL;
		int want = bal_phase_step(c, m, true, r1, r3, t);

		if (want != m->phases) {
			bal_phase_done(m, want);
			return t;
		}
	}
	return -1;
}

static void
test_defaults(void)
{
	struct bal_phase_conf c;
	struct bal_phase_mem m;

	bal_phase_conf_default(&c);
	CU_ASSERT_EQUAL(c.dwell_ms, 300000);
	CU_ASSERT_EQUAL(c.min_power_1ph_w, 1400);
	CU_ASSERT_EQUAL(c.min_power_3ph_w, 4200);
	bal_phase_init(&m, 3);
	CU_ASSERT_EQUAL(m.phases, 3);
	CU_ASSERT_EQUAL(bal_phase_next_allowed_ms(&c, &m), -1);
	bal_phase_init(&m, 1);
	CU_ASSERT_EQUAL(m.phases, 1);
}

/* Down when three phases cannot hold Pmin(3p) but one holds Pmin(1p),
 * only once that held through the confirmation window. */
static void
test_down_after_confirmation(void)
{
	struct bal_phase_conf c;
	struct bal_phase_mem m;

	conf_short(&c);
	bal_phase_init(&m, 3);
	/* enough for three phases: nothing */
	CU_ASSERT_EQUAL(feed(&c, &m, 0, 100, 4000, 4200), -1);
	/* not even one phase's minimum: pausing is the balancer's job */
	CU_ASSERT_EQUAL(feed(&c, &m, 200000, 100, 1300, 1300), -1);
	/* 3 kW: one phase, after 10 s */
	CU_ASSERT_EQUAL(feed(&c, &m, 400000, 100, 3000, 3000), 410000);
	CU_ASSERT_EQUAL(m.phases, 1);
	CU_ASSERT_EQUAL(bal_phase_next_allowed_ms(&c, &m), 470000);
}

/* A break in the condition restarts the confirmation. */
static void
test_break_restarts_confirmation(void)
{
	struct bal_phase_conf c;
	struct bal_phase_mem m;

	conf_short(&c);
	bal_phase_init(&m, 3);
	CU_ASSERT_EQUAL(feed(&c, &m, 0, 8, 3000, 3000), -1);
	CU_ASSERT_EQUAL(bal_phase_step(&c, &m, true, 5000, 5000, 9000), 3);
	CU_ASSERT_EQUAL(feed(&c, &m, 10000, 9, 3000, 3000), -1);
	CU_ASSERT_EQUAL(feed(&c, &m, 20000, 10, 3000, 3000), 20000);
	/* nobody charging: no switch, and the wish is forgotten */
	bal_phase_init(&m, 3);
	for (int i = 0; i < 100; i++)
		CU_ASSERT_EQUAL(bal_phase_step(&c, &m, false, 3000, 3000,
		    i * 1000), 3);
	CU_ASSERT_EQUAL(m.want, 0);
}

/* Up only with the margin: Pmin(3p) + 1 kW, and not within the dwell. */
static void
test_up_with_hysteresis_and_dwell(void)
{
	struct bal_phase_conf c;
	struct bal_phase_mem m;

	conf_short(&c);
	bal_phase_init(&m, 3);
	CU_ASSERT_EQUAL(feed(&c, &m, 0, 20, 3000, 3000), 10000);
	/* inside the band 4.2 .. 5.2 kW: stays on one phase */
	CU_ASSERT_EQUAL(feed(&c, &m, 11000, 300, 4400, 5100), -1);
	/* above it, but the dwell since 10 s runs until 70 s: the switch
	 * comes at 70 s, not at 21 s */
	bal_phase_init(&m, 1);
	m.switched_ms = 10000;
	CU_ASSERT_EQUAL(feed(&c, &m, 11000, 100, 6000, 6000), 70000);
	CU_ASSERT_EQUAL(m.phases, 3);
}

/* A noisy budget around the threshold over 6 hours: never two switches
 * within the dwell, and far fewer switches than crossings. */
static void
test_no_flapping_with_noise(void)
{
	struct bal_phase_conf c;
	struct bal_phase_mem m;
	int64_t last = -1;
	int switches = 0, crossings = 0;
	bool above = true;

	bal_phase_conf_default(&c); /* 30 s, 5 min */
	bal_phase_init(&m, 3);
	srand(15);
	for (int64_t t = 0; t < 6 * 3600 * 1000LL; t += 1000) {
		/* 10 min each: low (2..4 kW), around the threshold (3.2 ..
		 * 6.2 kW, crossing it every few seconds), high (5.5 .. 7.5) */
		int64_t seg = (t / 600000) % 3;
		int64_t r3 = seg == 0 ? 3000 + rand() % 2001 - 1000 :
		    seg == 1 ? 4700 + rand() % 3001 - 1500 :
		    6500 + rand() % 2001 - 1000;
		int64_t r1 = r3 < 7000 ? r3 : 7000;
		int want = bal_phase_step(&c, &m, true, r1, r3, t);

		if ((r3 >= 4200) != above) {
			above = r3 >= 4200;
			crossings++;
		}
		if (want != m.phases) {
			if (last >= 0)
				CU_ASSERT(t - last >= c.dwell_ms);
			last = t;
			switches++;
			bal_phase_done(&m, want);
		}
	}
	/* one down in each low stretch, one up in each high one */
	CU_ASSERT_EQUAL(switches, 2 * 12);
	CU_ASSERT(crossings > 20 * switches);
}

/* Rooms on one and on three phases from a run's chain. */
static void
test_rooms(void)
{
	struct bal_conn_out o = { 0 };
	int64_t r1, r3;

	o.chain.site_room_w = 10000;
	o.chain.phase_room_w = 6000;
	o.chain.circuit_room_w = BAL_NO_CAP;
	bal_phase_rooms(&o, 3, &r1, &r3);
	CU_ASSERT_EQUAL(r3, 6000);
	CU_ASSERT_EQUAL(r1, 2000);
	o.chain.phase_room_w = 2000;
	bal_phase_rooms(&o, 1, &r1, &r3);
	CU_ASSERT_EQUAL(r1, 2000);
	CU_ASSERT_EQUAL(r3, 6000);
	o.chain.site_room_w = 3000;
	o.chain.phase_room_w = BAL_NO_CAP;
	bal_phase_rooms(&o, 3, &r1, &r3);
	CU_ASSERT_EQUAL(r1, 3000);
	CU_ASSERT_EQUAL(r3, 3000);
}

/* PV full green with 3 kW of export and a three-phase car: the run's
 * rooms ask for one phase; with 7 kW, for three. */
static void
test_rooms_from_a_pv_run(void)
{
	struct tsite *t = ts_new(3, 22000, BAL_MODE_PV);
	struct bal_phase_conf c;
	struct bal_phase_mem m;
	int64_t r1, r3;
	int i;

	t->set.pv_mode = BAL_PV_FULL_GREEN;
	i = ts_add(t, 3, 0, 0, 11000);
	ts_ch(t, i)->phase_switchable = true;
	t->meter.total_power_w = -3000;
	for (int p = 0; p < BAL_PHASES; p++)
		t->meter.phase_power_w[p] = -1000;
	CU_ASSERT_EQUAL(ts_run(t, 0), 0);
	bal_phase_rooms(&t->out[i], 3, &r1, &r3);
	CU_ASSERT(r3 < 4200);
	CU_ASSERT(r1 >= 1400);
	conf_short(&c);
	bal_phase_init(&m, 3);
	CU_ASSERT_EQUAL(feed(&c, &m, 0, 20, r1, r3), 10000);

	/* on one phase now, 7 kW of surplus: back to three */
	ts_ch(t, i)->phases = 1;
	ts_ch(t, i)->wired_phase = 0;
	t->cn[i].rated_max_w = 11000 / 3;
	t->meter.total_power_w = -7000;
	for (int p = 0; p < BAL_PHASES; p++)
		t->meter.phase_power_w[p] = -7000 / 3;
	CU_ASSERT_EQUAL(ts_run(t, 100000), 0);
	bal_phase_rooms(&t->out[i], 1, &r1, &r3);
	CU_ASSERT(r3 >= 5200);
	CU_ASSERT_EQUAL(feed(&c, &m, 100000, 20, r1, r3), 110000);
	ts_free(t);
}

const struct cu_test phase_tests[] = {
	{ "defaults", test_defaults },
	{ "down after confirmation", test_down_after_confirmation },
	{ "a break restarts the confirmation", test_break_restarts_confirmation },
	{ "up with hysteresis and dwell", test_up_with_hysteresis_and_dwell },
	{ "no flapping with a noisy budget", test_no_flapping_with_noise },
	{ "rooms", test_rooms },
	{ "rooms from a PV run", test_rooms_from_a_pv_run },
	{ NULL, NULL },
};
