/* Benchmark: one allocation for 200 chargers x 2 connectors in 3
 * circuits (ALM, a mix of three- and single-phase chargers, some EVs
 * suspended, some idle, some profile caps), in a busy and in an
 * overloaded site; prints the median time per allocation over many runs,
 * one line each. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "balancer/balancer.h"
#include "timing.h"

#define CHARGERS 200
#define RUNS 2001
/* The balancer runs once per control cycle (at least 1 s; more often
 * only for a safety decrease or a backend's limit): 100 us for the
 * largest site is 0.01 % of a core, a two-hundredth of the whole
 * daemon's 2 % budget at 200 chargers (bench-daemon-200.sh). */
#define TARGET_NS 100000.0

struct bench_site {
	struct bal_circuit circ[3];
	struct bal_charger ch[CHARGERS];
	struct bal_connector cn[CHARGERS * 2];
	struct bal_conn_out out[CHARGERS * 2];
	struct bal_site site;
	struct bal_meter meter;
	struct bal_settings set;
	struct bal_input in;
	struct bal_site_out so;
	struct bal_state st;
	double ns[RUNS];
};

/* 200 chargers in 3 circuits (main 3000 A, two sub-circuits of 1000 A
 * and 800 A), a quarter single-phase, a third in current mode, one in
 * twenty offline; per connector: a fifth idle, some EVs suspended, one
 * in six with a 6 kW profile cap.  ALM with a household load. */
static void
build(struct bench_site *b, int32_t available_w, int32_t cloud_w,
    int32_t household_w)
{
	static const int32_t maxes[] = { 7400, 11000, 22000 };
	uint32_t r = 12345;
	int n = 0;

	memset(b, 0, sizeof(*b));
	b->circ[0].parent = BAL_NONE;
	b->circ[0].max_current_ma = 3000000;
	b->circ[1].parent = 0;
	b->circ[1].max_current_ma = 1000000;
	b->circ[2].parent = 0;
	b->circ[2].max_current_ma = 800000;
	b->site.phases = 3;
	b->site.nominal_voltage_v = 230;
	b->site.available_power_w = available_w;
	b->site.cloud_cap_w = cloud_w;
	b->site.circuits = b->circ;
	b->site.n_circuits = 3;
	for (int p = 0; p < 3; p++)
		b->site.phase_max_ma[p] = 3000000;
	bal_settings_default(&b->set);
	b->set.mode = BAL_MODE_ALM;
	b->meter.healthy = true;
	for (int h = 0; h < CHARGERS; h++) {
		struct bal_charger *ch = &b->ch[h];
		r = r * 1103515245u + 12345u;
		ch->online = (r >> 8) % 20 != 0;
		ch->phases = (r >> 12) % 4 == 0 ? 1 : 3;
		ch->wired_phase = (int)((r >> 16) % 3);
		ch->phase_switchable = ch->phases == 1;
		ch->unit = (r >> 20) % 3 == 0 ? BAL_UNIT_A : BAL_UNIT_W;
		ch->circuit = h % 3;
		ch->max_power_w = ch->phases == 1 ? 7400 : maxes[(r >> 24) % 3];
		for (int j = 0; j < 2; j++, n++) {
			struct bal_connector *cn = &b->cn[n];
			r = r * 1103515245u + 12345u;
			cn->charger = h;
			cn->state = (r >> 8) % 5 == 0 ? BAL_ST_AVAILABLE :
			    (r >> 8) % 7 == 0 ? BAL_ST_SUSPENDED_EV : BAL_ST_CHARGING;
			cn->rated_max_w = ch->max_power_w;
			cn->profile_cap_w = (r >> 12) % 6 == 0 ? 6000 : BAL_NO_CAP;
			cn->last_start_ms = (int64_t)((r >> 4) % 100000);
		}
	}
	b->meter.total_power_w = household_w;
	for (int p = 0; p < 3; p++)
		b->meter.phase_power_w[p] = household_w / 3;
	b->in.site = &b->site;
	b->in.meter = &b->meter;
	b->in.settings = &b->set;
	b->in.chargers = b->ch;
	b->in.n_chargers = CHARGERS;
	b->in.connectors = b->cn;
	b->in.n_connectors = n;
	bal_state_init(&b->st);
}

/* Runs RUNS allocations one second apart; between runs the cars follow
 * their setpoints (suspended ones draw nothing) and the meter sees them.
 * Prints one line; returns 0 when the median is within the target. */
static int
measure(struct bench_site *b, const char *name, struct bal_work *work)
{
	char err[256];
	int allocated = 0, paused = 0, n = b->in.n_connectors;
	double median;

	for (int k = 0; k < RUNS; k++) {
		double t0, total = 0;
		int32_t household = b->meter.total_power_w;
		for (int i = 0; i < n; i++)
			household -= b->ch[b->cn[i].charger].online ?
			    b->cn[i].measured_power_w : 0;
		b->in.now_ms = 1000 * k;
		t0 = bench_now_ns();
		if (bal_run(&b->in, &b->st, work, b->out, &b->so, err,
		    sizeof(err)) != 0) {
			fprintf(stderr, "bench-balancer: %s\n", err);
			return 1;
		}
		b->ns[k] = bench_now_ns() - t0;
		for (int i = 0; i < n; i++) {
			struct bal_connector *cn = &b->cn[i];
			cn->measured_power_w = cn->state == BAL_ST_SUSPENDED_EV ? 0 :
			    b->out[i].setpoint_w;
			total += cn->measured_power_w;
		}
		b->meter.total_power_w = household + (int32_t)total;
	}
	for (int i = 0; i < n; i++) {
		allocated += b->out[i].setpoint_w > 0;
		paused += b->out[i].paused;
	}
	median = bench_median(b->ns, RUNS);
	printf("balancer.alloc_%d_connectors_%s: %.1f us/alloc (median of %d; "
	    "%d charging, %d paused, %lld kW) (target < %.0f us)\n", n, name,
	    median / 1000, RUNS, allocated, paused,
	    (long long)(b->so.allocated_w / 1000), TARGET_NS / 1000);
	return median < TARGET_NS ? 0 : 1;
}

/* Times the busy and the overloaded site; exit 1 when a median misses the target. */
int
main(void)
{
	struct bench_site *b = malloc(sizeof(*b));
	struct bal_work *work = malloc(bal_work_size());
	int rc = 0;

	if (b == NULL || work == NULL)
		return 99;
	/* busy evening: 2 MW connection, 1.8 MW from the cloud, 150 kW of
	 * other loads: most cars get a share above Pmin */
	build(b, 2000000, 1800000, 150000);
	rc |= measure(b, "busy", work);
	/* overloaded: 1 MW for the same cars: many pause (Pmin rule) */
	build(b, 1000000, 900000, 150000);
	rc |= measure(b, "overloaded", work);
	free(b);
	free(work);
	return rc;
}
