/* Benchmark: one allocation for 200 chargers x 2 connectors in 3
 * circuits (ALM, a mix of three- and single-phase chargers, some EVs
 * under-drawing, some idle, some profile caps); prints the median time
 * per allocation over many runs. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "balancer/balancer.h"

#define CHARGERS 200
#define RUNS 2001
#define TARGET_NS 20000.0

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int
main(void)
{
	static struct bal_circuit circ[3];
	static struct bal_charger ch[CHARGERS];
	static struct bal_connector cn[CHARGERS * 2];
	static struct bal_conn_out out[CHARGERS * 2];
	static double ns[RUNS];
	static const int32_t maxes[] = { 7400, 11000, 22000 };
	struct bal_site site = { 0 };
	struct bal_meter meter = { 0 };
	struct bal_settings set;
	struct bal_input in = { 0 };
	struct bal_site_out so;
	struct bal_state *st = malloc(sizeof(*st));
	struct bal_work *work = malloc(bal_work_size());
	char err[256];
	int n = 0, allocated = 0;
	uint32_t r = 12345;

	if (st == NULL || work == NULL)
		return 99;
	circ[0].parent = BAL_NONE;
	circ[0].max_current_ma = 1600000; /* 1600 A main */
	circ[1].parent = 0;
	circ[1].max_current_ma = 400000;
	circ[2].parent = 0;
	circ[2].max_current_ma = 630000;
	site.phases = 3;
	site.nominal_voltage_v = 230;
	site.available_power_w = 1000000;
	site.cloud_cap_w = 900000;
	site.circuits = circ;
	site.n_circuits = 3;
	for (int p = 0; p < 3; p++)
		site.phase_max_ma[p] = 1600000;
	bal_settings_default(&set);
	set.mode = BAL_MODE_ALM;
	meter.healthy = true;
	for (int h = 0; h < CHARGERS; h++) {
		r = r * 1103515245u + 12345u;
		ch[h].online = (r >> 8) % 20 != 0;
		ch[h].phases = (r >> 12) % 4 == 0 ? 1 : 3;
		ch[h].wired_phase = (int)((r >> 16) % 3);
		ch[h].phase_switchable = ch[h].phases == 1;
		ch[h].unit = (r >> 20) % 3 == 0 ? BAL_UNIT_A : BAL_UNIT_W;
		ch[h].circuit = h % 3;
		ch[h].max_power_w = ch[h].phases == 1 ? 7400 : maxes[(r >> 24) % 3];
		for (int j = 0; j < 2; j++, n++) {
			r = r * 1103515245u + 12345u;
			cn[n].charger = h;
			cn[n].state = (r >> 8) % 5 == 0 ? BAL_ST_AVAILABLE :
			    (r >> 8) % 7 == 0 ? BAL_ST_SUSPENDED_EV : BAL_ST_CHARGING;
			cn[n].rated_max_w = ch[h].max_power_w;
			cn[n].profile_cap_w = (r >> 12) % 6 == 0 ? 6000 : BAL_NO_CAP;
			cn[n].measured_power_w = (int32_t)((r >> 14) % 7000);
			cn[n].last_start_ms = (int64_t)((r >> 4) % 100000);
			meter.total_power_w += cn[n].measured_power_w;
		}
	}
	meter.total_power_w += 150000; /* household */
	for (int p = 0; p < 3; p++)
		meter.phase_power_w[p] = meter.total_power_w / 3;
	in.site = &site;
	in.meter = &meter;
	in.settings = &set;
	in.chargers = ch;
	in.n_chargers = CHARGERS;
	in.connectors = cn;
	in.n_connectors = n;

	bal_state_init(st);
	for (int k = 0; k < RUNS; k++) {
		double t0;
		in.now_ms = 1000 * k;
		t0 = now_ns();
		if (bal_run(&in, st, work, out, &so, err, sizeof(err)) != 0) {
			fprintf(stderr, "bench-balancer: %s\n", err);
			return 1;
		}
		ns[k] = now_ns() - t0;
	}
	for (int i = 0; i < n; i++)
		allocated += out[i].setpoint_w > 0;
	qsort(ns, RUNS, sizeof(ns[0]), cmp_double);
	printf("balancer.alloc_%d_connectors: %.1f us/alloc median of %d "
	    "(%d allocated, %lld W) (target < %.0f us)\n", n, ns[RUNS / 2] / 1000,
	    RUNS, allocated, (long long)so.allocated_w, TARGET_NS / 1000);
	free(st);
	free(work);
	return ns[RUNS / 2] < TARGET_NS ? 0 : 1;
}
