/* Benchmark: loading and validating a 200-charger configuration (the
 * largest site allowed: 5 circuits of 40 chargers, TCP and RS-485 chargers, every
 * cross-check busy); prints the median time per load, one line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "common/util.h"
#include "timing.h"

#define CHARGERS 200
#define RUNS 51
#define TARGET_MS 100.0

/* Builds the configuration text.  Caller frees. */
static char *
make_text(void)
{
	char *text, *tmp;

	xasprintf(&text,
	    "# 200 chargers on five circuits\n"
	    "site { id = \"bench\" main-breaker-a = 2000 available-power-kw = 1300\n"
	    "	circuit \"main\" { max-current-a = 2000 }\n"
	    "	circuit \"a\" { max-current-a = 630 parent = \"main\" }\n"
	    "	circuit \"b\" { max-current-a = 630 parent = \"main\" }\n"
	    "	circuit \"c\" { max-current-a = 400 parent = \"b\" }\n"
	    "	circuit \"d\" { max-current-a = 400 parent = \"main\" }\n"
	    "}\n"
	    "csms { url = \"ws://127.0.0.1:9000/ocpp\" identity = \"bench\" }\n"
	    "balancer { mode = \"alm\" reserve-pct = 10 }\n"
	    "meter { link = \"rtu\" device = \"/dev/ttyS0\" unit-id = 1 }\n");
	for (int i = 0; i < CHARGERS; i++) {
		static const char *const circuits[] = {
			"main", "a", "b", "c", "d"
		};

		if (i % 4 == 3)
			xasprintf(&tmp, "%scharger \"bay%d\" { # RS-485\n"
			    "	model = \"autel-single\" link = \"rtu\"\n"
			    "	device = \"/dev/ttyS0\" unit-id = %d\n"
			    "	connectors = 1 phases = 1 wired-phase = \"L%d\"\n"
			    "	max-power-kw = 7.4 offline-power-kw = 1.4\n"
			    "	circuit = \"%s\"\n}\n", text, i, 2 + i / 4,
			    1 + i % 3, circuits[i % 5]);
		else
			xasprintf(&tmp, "%scharger \"bay%d\" {\n"
			    "	model = \"autel-ac-wallbox\" host = \"10.0.%d.%d\"\n"
			    "	max-power-kw = 22 offline-power-kw = 4.2\n"
			    "	circuit = \"%s\"\n}\n", text, i, i / 250,
			    1 + i % 250, circuits[i % 5]);
		free(text);
		text = tmp;
	}
	return text;
}

int
main(void)
{
	char *text = make_text();
	double ms[RUNS], median;
	struct cfg cfg;
	struct cfg_errors errors = { 0 };

	for (int r = 0; r < RUNS; r++) {
		double t0 = bench_now_ms();

		if (cfg_load_string("bench.conf", text, &cfg, &errors) != 0) {
			for (size_t i = 0; i < errors.n; i++)
				fprintf(stderr, "%s\n", errors.msgs[i]);
			return 1;
		}
		ms[r] = bench_now_ms() - t0;
		if (cfg.n_chargers != CHARGERS) {
			fprintf(stderr, "loaded %zu chargers, want %d\n",
			    cfg.n_chargers, CHARGERS);
			return 1;
		}
		cfg_clear(&cfg);
	}
	median = bench_median(ms, RUNS);
	printf("config.load_200_chargers: %.2f ms/load (median of %d, %zu "
	    "bytes; target < %.0f ms)\n", median, RUNS, strlen(text),
	    TARGET_MS);
	free(text);
	return median < TARGET_MS ? 0 : 1;
}
