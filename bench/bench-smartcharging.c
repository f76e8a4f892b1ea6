/* Benchmark of the charging-profile engine on a 200-connector site: a
 * weekly station cap and a daily TxDefault of 24 periods each on 0, a
 * TxDefault per connector, a TxProfile on every other connector.  Times
 * (medians over many runs, one line each with its target): evaluating
 * every connector, the next-change timer, a SetChargingProfile of 24
 * periods (parse + check + install), a 24-hour composite schedule, and
 * reloading the whole set from its stored text.  Exit 1 when a median
 * misses its target. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"
#include "ocpp/smartcharging.h"
#include "timing.h"

#define CONNECTORS 200
#define RUNS 201

/* 24 hourly periods as JSON, limits from base upwards. */
static void
periods(char *buf, size_t len, int base, int step_s)
{
	size_t off = 0;

	for (int h = 0; h < 24; h++)
		off += (size_t)snprintf(buf + off, len - off,
		    "%s{\"startPeriod\":%d,\"limit\":%d}", h ? "," : "",
		    h * step_s, base + (h % 6) * 1000);
}

/* A 1.6 SetChargingProfile payload.  Caller frees. */
static char *
request(int conn, int id, int stack, const char *purpose, const char *kind,
    const char *extra, const char *sched, const char *per)
{
	char *s;

	xasprintf(&s, "{\"connectorId\":%d,\"csChargingProfiles\":{"
	    "\"chargingProfileId\":%d,\"stackLevel\":%d,"
	    "\"chargingProfilePurpose\":\"%s\",\"chargingProfileKind\":\"%s\""
	    "%s,\"chargingSchedule\":{%s\"chargingRateUnit\":\"W\","
	    "\"chargingSchedulePeriod\":[%s]}}}", conn, id, stack, purpose,
	    kind, extra, sched, per);
	return s;
}

/* Installs a request, failing loudly. */
static void
install(struct sc_set *set, const struct sc_context *ctx, char *req)
{
	struct sc_verdict vd;
	int id;
	char *resp = sc_set_request(set, SC_V16, req, ctx, &vd, &id);

	if (vd.status != SC_ACCEPTED) {
		fprintf(stderr, "bench-smartcharging: %s\n", vd.reason);
		exit(99);
	}
	free(resp);
	free(req);
}

/* Prints one figure and returns 1 when it misses its target. */
static int
report(const char *name, double value_us, const char *what, double target)
{
	printf("smartcharging.%s: %.1f us%s (median of %d) (target < %.0f us)\n",
	    name, value_us, what, RUNS, target);
	return value_us < target ? 0 : 1;
}

/* Builds the site, times each operation; exit 1 when a median misses its
 * target, 99 on a set-up error. */
int
main(void)
{
	static struct sc_connector conns[CONNECTORS];
	static double ns[RUNS];
	struct sc_context ctx = {
		.n_connectors = CONNECTORS, .connectors = conns,
		.voltage_v = 230, .units = SC_UNITS_W | SC_UNITS_A,
		.max_stack_level = 10, .max_periods = 48,
	};
	struct sc_set set;
	char per[2048];
	struct sc_composite_opts opts = { .max_w = 22000, .local_cap_w = -1 };
	int64_t t0;
	int rc = 0;
	size_t n_profiles;
	double t;

	parse_rfc3339("2026-11-26T08:00:00Z", &t0);
	ctx.now_ms = t0;
	sc_set_init(&set);
	for (int k = 0; k < CONNECTORS; k += 2) {
		conns[k].tx_active = true;
		snprintf(conns[k].tx_id, sizeof(conns[k].tx_id), "%d", 1000 + k);
		conns[k].tx_start_ms = t0 - 600000;
	}
	periods(per, sizeof(per), 400000, 25200);
	install(&set, &ctx, request(0, 1, 0, "ChargePointMaxProfile",
	    "Recurring", ",\"recurrencyKind\":\"Weekly\"",
	    "\"startSchedule\":\"2026-11-23T00:00:00Z\",", per));
	periods(per, sizeof(per), 11000, 3600);
	install(&set, &ctx, request(0, 2, 0, "TxDefaultProfile", "Recurring",
	    ",\"recurrencyKind\":\"Daily\"",
	    "\"startSchedule\":\"2026-11-01T00:00:00Z\",", per));
	for (int k = 1; k <= CONNECTORS; k++) {
		install(&set, &ctx, request(k, 100 + k, 1, "TxDefaultProfile",
		    "Absolute", "", "\"startSchedule\":\"2026-11-26T00:00:00Z\","
		    "\"duration\":86400,", "{\"startPeriod\":0,\"limit\":7400},"
		    "{\"startPeriod\":36000,\"limit\":11000}"));
		if (conns[k - 1].tx_active)
			install(&set, &ctx, request(k, 1000 + k, 0, "TxProfile",
			    "Relative", "", "", "{\"startPeriod\":0,\"limit\":"
			    "6000},{\"startPeriod\":1800,\"limit\":9000}"));
	}
	n_profiles = set.n;

	/* Every connector's limit at one instant: what the daemon does on
	 * each change. */
	for (int r = 0; r < RUNS; r++) {
		struct sc_limit l;

		t = bench_now_ns();
		for (int k = 0; k <= CONNECTORS; k++)
			sc_evaluate(&set, &ctx, k, t0 + r * 60000, &l);
		ns[r] = bench_now_ns() - t;
	}
	printf("smartcharging: %zu profiles on %d connectors\n", n_profiles,
	    CONNECTORS);
	rc |= report("evaluate_201_connectors", bench_median(ns, RUNS) / 1000,
	    "/site", 2000);

	for (int r = 0; r < RUNS; r++) {
		t = bench_now_ns();
		(void)sc_next_change(&set, &ctx, t0 + r * 60000);
		ns[r] = bench_now_ns() - t;
	}
	rc |= report("next_change_201_connectors",
	    bench_median(ns, RUNS) / 1000, "/site", 2000);

	/* SetChargingProfile with 24 periods, replacing itself each time. */
	periods(per, sizeof(per), 3000, 3600);
	for (int r = 0; r < RUNS; r++) {
		char *req = request(0, 3, 2, "TxDefaultProfile", "Recurring",
		    ",\"recurrencyKind\":\"Daily\"",
		    "\"startSchedule\":\"2026-11-01T00:00:00Z\",", per);

		t = bench_now_ns();
		install(&set, &ctx, req);
		ns[r] = bench_now_ns() - t;
	}
	rc |= report("set_profile_24_periods", bench_median(ns, RUNS) / 1000,
	    "/request", 200);

	/* GetCompositeSchedule of a charging connector over 24 h. */
	for (int r = 0; r < RUNS; r++) {
		struct sc_composite c;
		struct sc_verdict vd;

		t = bench_now_ns();
		if (sc_composite(&set, &ctx, 2, t0, 86400, SC_UNIT_W, &opts,
		    &c, &vd) < 0)
			return 99;
		ns[r] = bench_now_ns() - t;
		if (r == 0)
			printf("smartcharging: 24 h composite of connector 2 "
			    "has %zu periods\n", c.n_periods);
		sc_composite_free(&c);
	}
	rc |= report("composite_24h", bench_median(ns, RUNS) / 1000,
	    "/schedule", 1000);

	/* Reloading every profile from its stored text (start-up). */
	for (int r = 0; r < RUNS; r++) {
		struct sc_set copy;

		sc_set_init(&copy);
		t = bench_now_ns();
		for (size_t i = 0; i < set.n; i++)
			if (sc_set_load(&copy, set.v[i]->json, NULL) < 0)
				return 99;
		ns[r] = bench_now_ns() - t;
		sc_set_free(&copy);
	}
	rc |= report("reload_all",
	    bench_median(ns, RUNS) / 1000 / (double)set.n, "/profile", 50);
	sc_set_free(&set);
	return rc;
}
