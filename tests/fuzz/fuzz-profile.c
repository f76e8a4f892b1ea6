/* Fuzz target: SetChargingProfile, then evaluation and the composite
 * schedule.  The first byte picks the version, the rest is the request
 * payload, straight into the profile engine (no schema check before it:
 * the engine must hold on its own).  Every limit evaluated must be finite,
 * within 0 .. the scope's physical maximum, and every answer valid JSON. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "ocpp/smartcharging.h"
#include "tests/fuzz/fuzz-station.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t len);

#define SITE_MAX_W 43470.0
#define CONN_MAX_W 22000.0

static void
check_limit(const struct sc_limit *l, int k)
{
	double max = k == 1 ? CONN_MAX_W : SITE_MAX_W;

	if (l->has_station && !(l->station_w >= 0 && l->station_w <= SITE_MAX_W))
		abort();
	if (l->has_tx && !(l->tx_w >= 0 && l->tx_w <= max))
		abort();
	if (l->limited && !(isfinite(l->limit_a) && l->limit_w >= 0 &&
	    l->limit_w <= SITE_MAX_W))
		abort();
	if (!(l->min_rate_w >= 0 && l->min_rate_w <= max))
		abort();
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t len)
{
	static struct sc_set set;
	struct sc_connector conns[2] = {
		{ .tx_active = true, .tx_id = "7",
		  .tx_start_ms = 1795000000000LL, .max_w = CONN_MAX_W },
		{ .phases = 1 },
	};
	struct sc_context ctx = {
		.n_connectors = 2, .connectors = conns, .voltage_v = 230,
		.site_max_w = SITE_MAX_W, .units = SC_UNITS_W | SC_UNITS_A,
		.max_stack_level = 8, .max_periods = 24, .max_profiles = 16,
		.now_ms = 1795000060000LL,
	};
	struct sc_composite_opts o = { .max_w = CONN_MAX_W, .local_cap_w = -1 };
	struct sc_verdict vd;
	enum sc_version v;
	char *payload;
	int id;

	if (len < 1)
		return 0;
	v = data[0] & 1 ? SC_V201 : SC_V16;
	payload = xmalloc(len);
	memcpy(payload, data + 1, len - 1);
	payload[len - 1] = '\0';
	fuzz_must_be_object(sc_set_request(&set, v, payload, &ctx, &vd, &id));
	free(payload);
	for (int k = 0; k <= 2; k++) {
		struct sc_limit l;

		if (sc_evaluate(&set, &ctx, k, ctx.now_ms, &l) != 0)
			abort();
		check_limit(&l, k);
		if (sc_evaluate(&set, &ctx, k, ctx.now_ms + 86400000LL * 3,
		    &l) != 0)
			abort();
		check_limit(&l, k);
	}
	(void)sc_next_change(&set, &ctx, ctx.now_ms);
	fuzz_must_be_object(sc_composite_request(&set, &ctx, v, v == SC_V16 ?
	    "{\"connectorId\":1,\"duration\":86400,\"chargingRateUnit\":\"A\"}" :
	    "{\"evseId\":1,\"duration\":86400,\"chargingRateUnit\":\"A\"}", &o,
	    &vd));
	fuzz_must_be_object(sc_composite_request(&set, &ctx, v, v == SC_V16 ?
	    "{\"connectorId\":0,\"duration\":3600}" :
	    "{\"evseId\":0,\"duration\":3600}", &o, &vd));
	if (set.n > 16) {
		sc_set_free(&set);
		sc_set_init(&set);
	}
	return 0;
}
