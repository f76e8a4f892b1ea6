/* Fuzz target: GetChargingProfiles and ClearChargingProfile requests on a
 * set of installed profiles.  The first byte picks the version (and, in
 * 2.0.1, Get or Clear), the rest is the request payload, straight into
 * the profile engine.  Every answer and report must be valid JSON. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "ocpp/smartcharging.h"
#include "tests/fuzz/fuzz-station.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t len);

static const char *const installed[] = {
	"{\"connectorId\":0,\"csChargingProfiles\":{\"chargingProfileId\":1,"
	"\"stackLevel\":0,\"chargingProfilePurpose\":\"ChargePointMaxProfile\","
	"\"chargingProfileKind\":\"Recurring\",\"recurrencyKind\":\"Daily\","
	"\"chargingSchedule\":{\"startSchedule\":\"2026-11-01T00:00:00Z\","
	"\"chargingRateUnit\":\"W\",\"chargingSchedulePeriod\":[{\"startPeriod\":"
	"0,\"limit\":22000},{\"startPeriod\":3600,\"limit\":11000}]}}}",
	"{\"connectorId\":1,\"csChargingProfiles\":{\"chargingProfileId\":2,"
	"\"stackLevel\":1,\"chargingProfilePurpose\":\"TxDefaultProfile\","
	"\"chargingProfileKind\":\"Relative\",\"chargingSchedule\":{"
	"\"chargingRateUnit\":\"A\",\"chargingSchedulePeriod\":[{\"startPeriod\":"
	"0,\"limit\":16}]}}}",
};
static const char *const installed201[] = {
	"{\"evseId\":2,\"chargingProfile\":{\"id\":3,\"stackLevel\":2,"
	"\"chargingProfilePurpose\":\"TxDefaultProfile\",\"chargingProfileKind\":"
	"\"Absolute\",\"chargingSchedule\":[{\"id\":1,\"startSchedule\":"
	"\"2026-12-01T00:00:00Z\",\"chargingRateUnit\":\"W\","
	"\"chargingSchedulePeriod\":[{\"startPeriod\":0,\"limit\":7400}]}]}}",
	"{\"evseId\":0,\"chargingProfile\":{\"id\":4,\"stackLevel\":0,"
	"\"chargingProfilePurpose\":\"ChargingStationMaxProfile\","
	"\"chargingProfileKind\":\"Absolute\",\"chargingSchedule\":[{\"id\":1,"
	"\"startSchedule\":\"2026-12-01T00:00:00Z\",\"chargingRateUnit\":\"A\","
	"\"chargingSchedulePeriod\":[{\"startPeriod\":0,\"limit\":32}]}]}}",
};

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t len)
{
	struct sc_connector conns[2] = { { .tx_active = false } };
	struct sc_context ctx = {
		.n_connectors = 2, .connectors = conns, .voltage_v = 230,
		.units = SC_UNITS_W | SC_UNITS_A, .max_stack_level = 8,
		.max_periods = 24, .now_ms = 1796000000000LL,
	};
	struct sc_set set;
	struct sc_verdict vd;
	struct sc_filter f;
	enum sc_version v;
	char *payload;
	int id, removed[8];

	if (len < 1)
		return 0;
	v = data[0] & 1 ? SC_V201 : SC_V16;
	sc_set_init(&set);
	for (size_t i = 0; i < 2; i++)
		free(sc_set_request(&set, v, v == SC_V16 ? installed[i] :
		    installed201[i], &ctx, &vd, &id));
	payload = xmalloc(len);
	memcpy(payload, data + 1, len - 1);
	payload[len - 1] = '\0';
	if (v == SC_V201 && (data[0] & 2)) {
		if (sc_get_parse(payload, &f, &vd) == 0) {
			char **reports = NULL;
			size_t n = 0;

			fuzz_must_be_object(sc_get_answer(&set, &f, &reports, &n));
			for (size_t i = 0; i < n; i++)
				fuzz_must_be_object(reports[i]);
			free(reports);
		} else {
			fuzz_must_be_object(sc_verdict_json(v, &vd));
		}
	} else if (sc_clear_parse(v, payload, &f, &vd) == 0) {
		fuzz_must_be_object(sc_clear_response(v, sc_set_clear(&set, &f,
		    removed, 8)));
	} else {
		fuzz_must_be_object(sc_verdict_json(v, &vd));
	}
	free(payload);
	sc_set_free(&set);
	return 0;
}
