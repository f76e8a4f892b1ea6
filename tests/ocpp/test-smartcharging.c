/* Unit tests of the charging-profile engine: SetChargingProfile
 * validation (1.6 and 2.0.1), replacement and clearing, stacking, A to W,
 * recurrence, relative schedules, expiry, the next-change time, composite
 * schedules period by period, GetChargingProfiles and the stored text. */
#include "config.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "ocpp/smartcharging.h"
#include "tests/cu.h"

#define V 230.0
#define EPS 0.01

/* Test payloads are written with ' for " to stay readable; J() swaps
 * them into a static ring of buffers. */
static const char *
J(const char *fmt, ...)
{
	static char bufs[8][4096];
	static int next;
	char *b = bufs[next++ % 8];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b, sizeof(bufs[0]), fmt, ap);
	va_end(ap);
	for (char *p = b; *p; p++)
		if (*p == '\'')
			*p = '"';
	return b;
}

/* Epoch ms of an RFC 3339 text. */
static int64_t
T(const char *s)
{
	int64_t ms = 0;

	if (parse_rfc3339(s, &ms) < 0) {
		fprintf(stderr, "bad time %s\n", s);
		abort();
	}
	return ms;
}

static struct sc_connector conns[3];
static struct sc_context ctx;
static struct sc_set set;

/* Three 3-phase connectors, 230 V, W and A, no transaction, 08:00 on
 * Thursday 2026-11-26. */
static void
reset(void)
{
	sc_set_free(&set);
	memset(conns, 0, sizeof(conns));
	ctx = (struct sc_context){
		.n_connectors = 3, .connectors = conns, .voltage_v = V,
		.units = SC_UNITS_W | SC_UNITS_A, .max_stack_level = 10,
		.max_periods = 24, .now_ms = T("2026-11-26T08:00:00Z"),
	};
}

/* Starts transaction id on connector k at time at. */
static void
tx_start(int k, const char *id, const char *at)
{
	conns[k - 1].tx_active = true;
	strcpy(conns[k - 1].tx_id, id);
	conns[k - 1].tx_start_ms = T(at);
}

/* Sends a SetChargingProfile; returns the status, *vd_out the verdict. */
static enum sc_status
set_profile(enum sc_version v, const char *payload, struct sc_verdict *vd_out)
{
	struct sc_verdict vd;
	int id;
	char *resp = sc_set_request(&set, v, payload, &ctx, &vd, &id);

	free(resp);
	if (vd_out != NULL)
		*vd_out = vd;
	return vd.status;
}

/* A 1.6 request: connector, id, stack, purpose, kind + extra profile
 * fields, schedule fields (startSchedule etc.) and periods. */
static const char *
p16(int conn, int id, int stack, const char *purpose, const char *kind,
    const char *extra, const char *sched, const char *periods)
{
	return J("{'connectorId':%d,'csChargingProfiles':{'chargingProfileId':"
	    "%d,'stackLevel':%d,'chargingProfilePurpose':'%s',"
	    "'chargingProfileKind':'%s'%s,'chargingSchedule':{%s"
	    "'chargingSchedulePeriod':[%s]}}}", conn, id, stack, purpose,
	    kind, extra, sched, periods);
}

/* The same for 2.0.1. */
static const char *
p201(int evse, int id, int stack, const char *purpose, const char *kind,
    const char *extra, const char *sched, const char *periods)
{
	return J("{'evseId':%d,'chargingProfile':{'id':%d,'stackLevel':%d,"
	    "'chargingProfilePurpose':'%s','chargingProfileKind':'%s'%s,"
	    "'chargingSchedule':[{'id':1,%s'chargingSchedulePeriod':[%s]}]}}",
	    evse, id, stack, purpose, kind, extra, sched, periods);
}

#define START8 "'startSchedule':'2026-11-26T08:00:00Z','chargingRateUnit':'W',"
#define START8A "'startSchedule':'2026-11-26T08:00:00Z','chargingRateUnit':'A',"
#define UNIT_W "'chargingRateUnit':'W',"

/* Asserts a 1.6 status and that the reason mentions what. */
/* Asserts that the verdict's reason mentions what (when not NULL). */
static void
check_reason(const struct sc_verdict *vd, const char *what)
{
	if (what != NULL && strstr(vd->reason, what) == NULL) {
		fprintf(stderr, "reason \"%s\" lacks \"%s\"\n", vd->reason,
		    what);
		CU_FAIL("reason");
	}
}

#define EXPECT16(payload, st, what) do { \
	struct sc_verdict vd_; \
	CU_ASSERT_EQUAL(set_profile(SC_V16, payload, &vd_), st); \
	check_reason(&vd_, what); \
} while (0)

#define EXPECT201(payload, code, what) do { \
	struct sc_verdict vd_; \
	enum sc_status st_ = set_profile(SC_V201, payload, &vd_); \
	if ((code) == NULL) { \
		CU_ASSERT_EQUAL(st_, SC_ACCEPTED); \
	} else { \
		CU_ASSERT_EQUAL(st_, SC_REJECTED); \
		CU_ASSERT_PTR_NOT_NULL_FATAL(vd_.reason_code); \
		CU_ASSERT_STRING_EQUAL(vd_.reason_code, \
		    (const char *)(code)); \
	} \
	check_reason(&vd_, what); \
} while (0)

static const char *P1 = "{'startPeriod':0,'limit':11000}";

/* ---- Validation, 1.6 ---- */

static void
test_validate16(void)
{
	reset();
	/* Accepted: TxDefault on 0 and on 2, station cap on 0. */
	EXPECT16(p16(0, 1, 0, "TxDefaultProfile", "Absolute", "", START8, P1),
	    SC_ACCEPTED, NULL);
	EXPECT16(p16(2, 2, 0, "TxDefaultProfile", "Absolute", "", START8, P1),
	    SC_ACCEPTED, NULL);
	EXPECT16(p16(0, 3, 0, "ChargePointMaxProfile", "Absolute", "", START8,
	    P1), SC_ACCEPTED, NULL);
	CU_ASSERT_EQUAL(set.n, 3);
	/* Station cap only on 0. */
	EXPECT16(p16(1, 4, 0, "ChargePointMaxProfile", "Absolute", "", START8,
	    P1), SC_REJECTED, "only allowed on connectorId 0");
	/* Unknown connector: 3 connectors, so 4 does not exist. */
	EXPECT16(p16(4, 4, 0, "TxDefaultProfile", "Absolute", "", START8, P1),
	    SC_REJECTED, "connectorId 4 does not exist (valid 0..3)");
	/* TxProfile: never on 0, only with a transaction, matching id. */
	EXPECT16(p16(0, 5, 0, "TxProfile", "Relative", "", UNIT_W, P1),
	    SC_REJECTED, "TxProfile needs connectorId > 0");
	EXPECT16(p16(1, 5, 0, "TxProfile", "Relative", "", UNIT_W, P1),
	    SC_REJECTED, "no transaction is running");
	tx_start(1, "42", "2026-11-26T07:50:00Z");
	EXPECT16(p16(1, 5, 0, "TxProfile", "Relative", ",'transactionId':43",
	    UNIT_W, P1), SC_REJECTED, "transactionId 43 is not");
	EXPECT16(p16(1, 5, 0, "TxProfile", "Relative", ",'transactionId':42",
	    UNIT_W, P1), SC_ACCEPTED, NULL);
	EXPECT16(p16(1, 6, 1, "TxProfile", "Relative", "", UNIT_W, P1),
	    SC_ACCEPTED, NULL);
	/* Sent without transactionId, it is bound to the running one (42)
	 * in memory; the stored text stays as received. */
	CU_ASSERT_STRING_EQUAL(sc_set_find(&set, 6)->tx_id, "42");
	CU_ASSERT_PTR_NULL(strstr(sc_set_find(&set, 6)->json,
	    "transactionId"));
	/* Unit not offered: NotSupported in 1.6. */
	ctx.units = SC_UNITS_W;
	EXPECT16(p16(0, 7, 2, "TxDefaultProfile", "Absolute", "", START8A,
	    "{'startPeriod':0,'limit':16}"), SC_NOT_SUPPORTED,
	    "chargingRateUnit A is not supported (supported: W)");
	ctx.units = SC_UNITS_W | SC_UNITS_A;
	/* Periods. */
	EXPECT16(p16(0, 7, 2, "TxDefaultProfile", "Absolute", "", START8,
	    "{'startPeriod':60,'limit':1}"), SC_REJECTED,
	    "the first period must start at 0");
	EXPECT16(p16(0, 7, 2, "TxDefaultProfile", "Absolute", "", START8,
	    "{'startPeriod':0,'limit':1},{'startPeriod':600,'limit':2},"
	    "{'startPeriod':600,'limit':3}"), SC_REJECTED,
	    "chargingSchedulePeriod[2].startPeriod is 600, must be greater");
	EXPECT16(p16(0, 7, 2, "TxDefaultProfile", "Absolute", "", START8,
	    "{'startPeriod':0,'limit':-1}"), SC_REJECTED, "limit is -1");
	EXPECT16(p16(0, 7, 2, "TxDefaultProfile", "Absolute", "", START8,
	    "{'startPeriod':0,'limit':1,'numberPhases':4}"), SC_REJECTED,
	    "numberPhases is 4, valid range 1..3");
	EXPECT16(p16(0, 7, 2, "TxDefaultProfile", "Absolute", "", START8,
	    "{'startPeriod':0,'limit':1,'numberPhases':0}"), SC_REJECTED,
	    "numberPhases is 0");
	/* ChargingScheduleMaxPeriods. */
	ctx.max_periods = 2;
	EXPECT16(p16(0, 7, 2, "TxDefaultProfile", "Absolute", "", START8,
	    "{'startPeriod':0,'limit':1},{'startPeriod':60,'limit':2},"
	    "{'startPeriod':120,'limit':3}"), SC_REJECTED,
	    "3 schedule periods, ChargingScheduleMaxPeriods is 2");
	ctx.max_periods = 24;
	/* Stack level above ChargeProfileMaxStackLevel (10). */
	EXPECT16(p16(0, 7, 11, "TxDefaultProfile", "Absolute", "", START8, P1),
	    SC_REJECTED, "stackLevel 11 is above");
	/* Kinds. */
	EXPECT16(p16(0, 7, 2, "TxDefaultProfile", "Absolute", "", UNIT_W, P1),
	    SC_REJECTED, "startSchedule is required for an Absolute");
	EXPECT16(p16(0, 7, 2, "TxDefaultProfile", "Recurring", "", START8, P1),
	    SC_REJECTED, "recurrencyKind (Daily or Weekly) is required");
	EXPECT16(p16(0, 7, 2, "TxDefaultProfile", "Recurring",
	    ",'recurrencyKind':'Daily'", START8 "'duration':90000,", P1),
	    SC_REJECTED, "duration is 90000 s, longer than the Daily");
	EXPECT16(p16(0, 7, 2, "TxDefaultProfile", "Recurring",
	    ",'recurrencyKind':'Hourly'", START8, P1), SC_REJECTED,
	    "recurrencyKind \"Hourly\"");
	EXPECT16(p16(0, 7, 2, "ChargePointMaxProfile", "Relative", "", UNIT_W,
	    P1), SC_REJECTED, "Relative is not allowed for ChargePointMax");
	EXPECT16(p16(0, 7, 2, "TxDefaultProfile", "Sometimes", "", START8, P1),
	    SC_REJECTED, "chargingProfileKind \"Sometimes\"");
	/* Validity. */
	EXPECT16(p16(0, 7, 2, "TxDefaultProfile", "Absolute",
	    ",'validFrom':'2026-11-27T00:00:00Z','validTo':"
	    "'2026-11-26T00:00:00Z'", START8, P1), SC_REJECTED,
	    "validTo must be after validFrom");
	EXPECT16(p16(0, 7, 2, "TxDefaultProfile", "Absolute",
	    ",'validTo':'2026-11-26T07:59:59Z'", START8, P1), SC_REJECTED,
	    "validTo is not in the future");
	EXPECT16(p16(0, 7, 2, "TxDefaultProfile", "Absolute",
	    ",'validTo':'yesterday'", START8, P1), SC_REJECTED,
	    "is not an RFC 3339 date-time");
	EXPECT16(p16(0, 7, 2, "TxDefaultProfile", "Absolute", "",
	    START8 "'duration':0,", P1), SC_REJECTED,
	    "duration is 0, valid range 1..");
	EXPECT16(p16(0, 7, 2, "TxDefaultProfile", "Absolute", "",
	    START8 "'minChargingRate':-6,", P1), SC_REJECTED,
	    "minChargingRate is -6");
	/* transactionId belongs to TxProfiles only. */
	EXPECT16(p16(1, 7, 2, "TxDefaultProfile", "Absolute",
	    ",'transactionId':42", START8, P1), SC_REJECTED,
	    "transactionId is only allowed in a TxProfile");
	/* A date-time without seconds, as in the 1.6 §3.13.7 example. */
	EXPECT16(p16(3, 7, 2, "TxDefaultProfile", "Absolute", "",
	    "'startSchedule':'2013-01-01T00:00Z','chargingRateUnit':'W',",
	    P1), SC_ACCEPTED, NULL);
	CU_ASSERT_EQUAL(sc_set_find(&set, 7)->start_ms,
	    T("2013-01-01T00:00:00Z"));
	/* MaxChargingProfilesInstalled: 6 installed (1, 2, 3, 5, 6, 7), at
	 * most 6: a new id is refused, a replacement is not. */
	ctx.max_profiles = 6;
	EXPECT16(p16(0, 8, 5, "TxDefaultProfile", "Absolute", "", START8, P1),
	    SC_REJECTED, "6 profiles are installed, "
	    "MaxChargingProfilesInstalled is 6");
	EXPECT16(p16(3, 7, 2, "TxDefaultProfile", "Absolute", "", START8, P1),
	    SC_ACCEPTED, NULL);
	ctx.max_profiles = 0;
	sc_set_clear(&set, &(struct sc_filter){ .has_id = true, .id = 7 },
	    NULL, 0);
	/* Malformed: flagged so the caller may answer a CALLERROR. */
	{
		struct sc_verdict vd;

		CU_ASSERT_EQUAL(set_profile(SC_V16, J("{'connectorId':0}"),
		    &vd), SC_REJECTED);
		CU_ASSERT_TRUE(vd.malformed);
		CU_ASSERT_STRING_EQUAL(vd.reason,
		    "csChargingProfiles is missing");
		CU_ASSERT_EQUAL(set_profile(SC_V16, "{", &vd), SC_REJECTED);
		CU_ASSERT_TRUE(vd.malformed);
		CU_ASSERT_EQUAL(set_profile(SC_V16, J("{'connectorId':'1'}"),
		    &vd), SC_REJECTED);
		CU_ASSERT_STRING_EQUAL(vd.reason,
		    "connectorId must be an integer");
		/* Nothing rejected was installed: still 1, 2, 3, 5, 6. */
		CU_ASSERT_EQUAL(set.n, 5);
	}
	/* The 1.6 answers. */
	{
		struct sc_verdict vd = { .status = SC_NOT_SUPPORTED };
		char *s = sc_verdict_json(SC_V16, &vd);

		CU_ASSERT_STRING_EQUAL(s, "{\"status\":\"NotSupported\"}");
		free(s);
	}
	reset();
}

/* ---- Validation, 2.0.1 ---- */

static void
test_validate201(void)
{
	struct sc_verdict vd;
	char *s;
	int id;

	reset();
	EXPECT201(p201(0, 1, 0, "ChargingStationMaxProfile", "Absolute", "",
	    START8, P1), NULL, NULL);
	EXPECT201(p201(5, 2, 0, "TxDefaultProfile", "Absolute", "", START8,
	    P1), "UnknownEvse", "evseId 5 does not exist (valid 0..3)");
	EXPECT201(p201(1, 2, 0, "ChargingStationMaxProfile", "Absolute", "",
	    START8, P1), "InvalidProfile", "only allowed on evseId 0");
	EXPECT201(p201(0, 2, 0, "ChargingStationExternalConstraints",
	    "Absolute", "", START8, P1), "InvalidProfile", "cannot be set");
	EXPECT201(p201(0, 2, 0, "ChargePointMaxProfile", "Absolute", "",
	    START8, P1), "InvalidValue", "is not one of Charging");
	/* K01.FR.09, K01.FR.03, K01.FR.33 */
	EXPECT201(p201(2, 2, 0, "TxProfile", "Relative",
	    ",'transactionId':'tx-2'", UNIT_W, P1), "TxNotFound",
	    "no transaction is running");
	tx_start(2, "tx-2", "2026-11-26T07:00:00Z");
	EXPECT201(p201(2, 2, 0, "TxProfile", "Relative", "", UNIT_W, P1),
	    "MissingParam", "without transactionId");
	EXPECT201(p201(2, 2, 0, "TxProfile", "Relative",
	    ",'transactionId':'tx-9'", UNIT_W, P1), "TxNotFound",
	    "transactionId tx-9 is not");
	EXPECT201(p201(2, 2, 0, "TxProfile", "Relative",
	    ",'transactionId':'tx-2'", UNIT_W, P1), NULL, NULL);
	/* K01.FR.39: another id with the same stack level and transaction. */
	EXPECT201(p201(2, 9, 0, "TxProfile", "Relative",
	    ",'transactionId':'tx-2'", UNIT_W, P1), "DuplicateProfile",
	    "profile 2 already has TxProfile stackLevel 0");
	/* K01.FR.26 */
	ctx.units = SC_UNITS_A;
	EXPECT201(p201(0, 3, 1, "TxDefaultProfile", "Absolute", "", START8,
	    P1), "UnsupportedRateUnit", "chargingRateUnit W");
	ctx.units = SC_UNITS_W | SC_UNITS_A;
	/* K01.FR.31 / 35 */
	EXPECT201(p201(0, 3, 1, "TxDefaultProfile", "Absolute", "", START8,
	    "{'startPeriod':10,'limit':1}"), "InvalidSchedule",
	    "must start at 0");
	EXPECT201(p201(0, 3, 1, "TxDefaultProfile", "Absolute", "", START8,
	    "{'startPeriod':0,'limit':1},{'startPeriod':0,'limit':2}"),
	    "InvalidSchedule", "greater than the previous");
	/* K01.FR.34: one schedule. */
	EXPECT201(J("{'evseId':0,'chargingProfile':{'id':3,'stackLevel':1,"
	    "'chargingProfilePurpose':'TxDefaultProfile','chargingProfileKind':"
	    "'Relative','chargingSchedule':[{'id':1,'chargingRateUnit':'W',"
	    "'chargingSchedulePeriod':[%s]},{'id':2,'chargingRateUnit':'W',"
	    "'chargingSchedulePeriod':[%s]}]}}", P1, P1), "TooManyElements",
	    "exactly 1");
	/* K01.FR.40 / 41 / 38 */
	EXPECT201(p201(0, 3, 1, "TxDefaultProfile", "Relative", "", START8,
	    P1), "InvalidSchedule", "must be absent in a Relative");
	EXPECT201(p201(0, 3, 1, "TxDefaultProfile", "Recurring",
	    ",'recurrencyKind':'Weekly'", UNIT_W, P1), "InvalidSchedule",
	    "startSchedule is required for a");
	EXPECT201(p201(0, 3, 1, "ChargingStationMaxProfile", "Relative", "",
	    UNIT_W, P1), "InvalidProfile", "Relative is not allowed");
	/* K01.FR.19 / 48 */
	EXPECT201(p201(0, 3, 1, "TxDefaultProfile", "Absolute", "", START8,
	    "{'startPeriod':0,'limit':1,'numberPhases':3,'phaseToUse':1}"),
	    "InvalidSchedule", "only allowed with numberPhases 1");
	EXPECT201(p201(0, 3, 1, "TxDefaultProfile", "Absolute", "", START8,
	    "{'startPeriod':0,'limit':1,'numberPhases':1,'phaseToUse':2}"),
	    "UnsupportedParam", "cannot switch");
	/* K01.FR.06: same purpose, stack level and EVSE, another id,
	 * overlapping validity.  Profile 1 is valid forever. */
	EXPECT201(p201(0, 3, 0, "ChargingStationMaxProfile", "Absolute", "",
	    START8, P1), "DuplicateProfile", "profile 1 already has");
	/* ... but not when the windows do not overlap. */
	EXPECT201(p201(1, 10, 0, "TxDefaultProfile", "Absolute",
	    ",'validTo':'2026-11-27T00:00:00Z'", START8, P1), NULL, NULL);
	EXPECT201(p201(1, 11, 0, "TxDefaultProfile", "Absolute",
	    ",'validFrom':'2026-11-27T00:00:00Z'", START8, P1), NULL, NULL);
	/* K01.FR.53: TxDefault on EVSE 0 with a stack level used on EVSE 1. */
	EXPECT201(p201(0, 12, 0, "TxDefaultProfile", "Absolute", "", START8,
	    P1), "DuplicateProfile", "on evseId 1 has the same stackLevel 0");
	EXPECT201(p201(0, 12, 3, "TxDefaultProfile", "Absolute", "", START8,
	    P1), NULL, NULL);
	/* K01.FR.52 the other way round. */
	EXPECT201(p201(3, 13, 3, "TxDefaultProfile", "Absolute", "", START8,
	    P1), "DuplicateProfile", "on evseId 0 has the same stackLevel 3");
	/* K01.FR.05: the same id replaces, whatever it was. */
	EXPECT201(p201(0, 12, 3, "TxDefaultProfile", "Absolute", "", START8,
	    "{'startPeriod':0,'limit':7000}"), NULL, NULL);
	CU_ASSERT_EQUAL(sc_set_find(&set, 12)->periods[0].limit, 7000);
	CU_ASSERT_EQUAL(set.n, 5);	/* 1, 2, 10, 11, 12 */

	/* The 2.0.1 answers. */
	s = sc_set_request(&set, SC_V201, p201(9, 20, 0, "TxDefaultProfile",
	    "Absolute", "", START8, P1), &ctx, &vd, &id);
	CU_ASSERT_EQUAL(id, -1);
	CU_ASSERT_STRING_EQUAL(s, "{\"status\":\"Rejected\",\"statusInfo\":"
	    "{\"reasonCode\":\"UnknownEvse\",\"additionalInfo\":\"evseId 9 "
	    "does not exist (valid 0..3)\"}}");
	free(s);
	s = sc_set_request(&set, SC_V201, p201(0, 20, 5, "TxDefaultProfile",
	    "Absolute", "", START8, P1), &ctx, &vd, &id);
	CU_ASSERT_EQUAL(id, 20);
	CU_ASSERT_STRING_EQUAL(s, "{\"status\":\"Accepted\"}");
	free(s);
	reset();
}

/* ---- Replacement, clearing, end of transaction ---- */

static void
test_replace_clear(void)
{
	struct sc_filter f;
	struct sc_verdict vd;
	struct sc_profile *p;
	int ids[8];
	char *s;

	reset();
	/* 1.6 §5.16: the same id replaces. */
	EXPECT16(p16(0, 1, 0, "TxDefaultProfile", "Absolute", "", START8, P1),
	    SC_ACCEPTED, NULL);
	EXPECT16(p16(0, 1, 0, "TxDefaultProfile", "Absolute", "", START8,
	    "{'startPeriod':0,'limit':5000}"), SC_ACCEPTED, NULL);
	CU_ASSERT_EQUAL(set.n, 1);
	CU_ASSERT_EQUAL(set.v[0]->periods[0].limit, 5000);
	/* The same purpose + stack level on the same connector replaces
	 * too, and says which id went. */
	CU_ASSERT_EQUAL(sc_profile_parse(SC_V16, p16(0, 2, 0,
	    "TxDefaultProfile", "Absolute", "", START8, P1), &p, &vd), 0);
	CU_ASSERT_EQUAL(sc_set_install(&set, p, ids, 8), 1);
	CU_ASSERT_EQUAL(ids[0], 1);
	CU_ASSERT_EQUAL(set.n, 1);
	CU_ASSERT_EQUAL(set.v[0]->id, 2);
	/* Another connector or stack level stacks next to it. */
	EXPECT16(p16(1, 3, 0, "TxDefaultProfile", "Absolute", "", START8, P1),
	    SC_ACCEPTED, NULL);
	EXPECT16(p16(0, 4, 1, "TxDefaultProfile", "Absolute", "", START8, P1),
	    SC_ACCEPTED, NULL);
	EXPECT16(p16(0, 5, 0, "ChargePointMaxProfile", "Absolute", "", START8,
	    P1), SC_ACCEPTED, NULL);
	tx_start(2, "7", "2026-11-26T07:00:00Z");
	EXPECT16(p16(2, 6, 0, "TxProfile", "Relative", "", UNIT_W, P1),
	    SC_ACCEPTED, NULL);
	EXPECT16(p16(2, 7, 1, "TxProfile", "Relative", "", UNIT_W, P1),
	    SC_ACCEPTED, NULL);
	CU_ASSERT_EQUAL(set.n, 6);	/* 2, 3, 4, 5, 6, 7 */

	/* Clear by id (1.6: other criteria then ignored). */
	CU_ASSERT_EQUAL(sc_clear_parse(SC_V16, J("{'id':4,'connectorId':2}"),
	    &f, &vd), 0);
	CU_ASSERT_EQUAL(sc_set_clear(&set, &f, ids, 8), 1);
	CU_ASSERT_EQUAL(ids[0], 4);
	/* Nothing matches: Unknown (K10.FR.01). */
	CU_ASSERT_EQUAL(sc_set_clear(&set, &f, ids, 8), 0);
	s = sc_clear_response(SC_V16, 0);
	CU_ASSERT_STRING_EQUAL(s, "{\"status\":\"Unknown\"}");
	free(s);
	s = sc_clear_response(SC_V201, 1);
	CU_ASSERT_STRING_EQUAL(s, "{\"status\":\"Accepted\"}");
	free(s);
	/* By purpose and stack level (ANDed): TxProfile level 1 = id 7. */
	CU_ASSERT_EQUAL(sc_clear_parse(SC_V16, J("{'chargingProfilePurpose':"
	    "'TxProfile','stackLevel':1}"), &f, &vd), 0);
	CU_ASSERT_EQUAL(sc_set_clear(&set, &f, ids, 8), 1);
	CU_ASSERT_EQUAL(ids[0], 7);
	/* 2.0.1 criteria by EVSE: evse 1 holds id 3. */
	CU_ASSERT_EQUAL(sc_clear_parse(SC_V201, J("{'chargingProfileCriteria':"
	    "{'evseId':1}}"), &f, &vd), 0);
	CU_ASSERT_EQUAL(sc_set_clear(&set, &f, ids, 8), 1);
	CU_ASSERT_EQUAL(ids[0], 3);
	/* 2.0.1 by id: chargingProfileId. */
	CU_ASSERT_EQUAL(sc_clear_parse(SC_V201, J("{'chargingProfileId':5}"),
	    &f, &vd), 0);
	CU_ASSERT_TRUE(f.has_id);
	CU_ASSERT_EQUAL(f.id, 5);
	CU_ASSERT_FALSE(f.has_connector);
	CU_ASSERT_EQUAL(sc_clear_parse(SC_V201, J("{'chargingProfileCriteria':"
	    "{'chargingProfilePurpose':'Bogus'}}"), &f, &vd), -1);
	CU_ASSERT_TRUE(vd.malformed);
	/* The transaction on 2 ends: its TxProfile (6) goes, not 2 or 5. */
	CU_ASSERT_EQUAL(sc_set_tx_ended(&set, 1, "7", ids, 8), 0);
	CU_ASSERT_EQUAL(sc_set_tx_ended(&set, 2, "7", ids, 8), 1);
	CU_ASSERT_EQUAL(ids[0], 6);
	CU_ASSERT_EQUAL(set.n, 2);
	/* No criteria: everything. */
	CU_ASSERT_EQUAL(sc_clear_parse(SC_V16, "{}", &f, &vd), 0);
	CU_ASSERT_EQUAL(sc_set_clear(&set, &f, ids, 8), 2);
	CU_ASSERT_EQUAL(set.n, 0);
	reset();
}

/* Evaluates connector k at time at. */
static struct sc_limit
eval_at(int k, const char *at)
{
	struct sc_limit l;

	CU_ASSERT_EQUAL_FATAL(sc_evaluate(&set, &ctx, k, T(at), &l), 0);
	return l;
}

/* A profile attached to a remote start: parsed before the transaction,
 * installed once it runs, bound to it. */
static void
test_remote_start(void)
{
	struct sc_profile *p;
	struct sc_verdict vd;
	struct sc_limit l;

	reset();
	CU_ASSERT_EQUAL(sc_profile_remote_start(SC_V16, 2, J("{"
	    "'chargingProfileId':9,'stackLevel':0,'chargingProfilePurpose':"
	    "'TxDefaultProfile','chargingProfileKind':'Relative',"
	    "'chargingSchedule':{'chargingRateUnit':'W',"
	    "'chargingSchedulePeriod':[%s]}}", P1), &p, &vd), -1);
	CU_ASSERT_STRING_EQUAL(vd.reason, "the chargingProfile of a remote "
	    "start must be a TxProfile");
	CU_ASSERT_EQUAL(sc_profile_remote_start(SC_V16, 2, J("{"
	    "'chargingProfileId':9,'transactionId':3,'stackLevel':0,"
	    "'chargingProfilePurpose':'TxProfile','chargingProfileKind':"
	    "'Relative','chargingSchedule':{'chargingRateUnit':'W',"
	    "'chargingSchedulePeriod':[%s]}}", P1), &p, &vd), -1);
	CU_ASSERT_EQUAL(sc_profile_remote_start(SC_V201, 2, J("{'id':9,"
	    "'stackLevel':0,'chargingProfilePurpose':'TxProfile',"
	    "'chargingProfileKind':'Relative','chargingSchedule':[{'id':1,"
	    "'chargingRateUnit':'A','chargingSchedulePeriod':[{'startPeriod':"
	    "0,'limit':10}]}]}"), &p, &vd), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(p->connector, 2);
	CU_ASSERT_STRING_EQUAL(p->json, J("{'evseId':2,'chargingProfile':{"
	    "'id':9,'stackLevel':0,'chargingProfilePurpose':'TxProfile',"
	    "'chargingProfileKind':'Relative','chargingSchedule':[{'id':1,"
	    "'chargingRateUnit':'A','chargingSchedulePeriod':[{'startPeriod':"
	    "0,'limit':10}]}]}}"));
	/* Before the transaction the check refuses it ... */
	CU_ASSERT_EQUAL(sc_set_check(&set, p, &ctx, &vd), -1);
	/* ... once it runs, bound, it goes in: 10 A x 230 x 3 = 6900 W. */
	tx_start(2, "rs-1", "2026-11-26T08:00:00Z");
	sc_profile_bind(p, &ctx);
	CU_ASSERT_STRING_EQUAL(p->tx_id, "rs-1");
	CU_ASSERT_EQUAL(sc_set_check(&set, p, &ctx, &vd), 0);
	sc_set_install(&set, p, NULL, 0);
	l = eval_at(2, "2026-11-26T08:01:00Z");
	CU_ASSERT_DOUBLE_EQUAL(l.limit_w, 6900, EPS);
	CU_ASSERT_EQUAL(l.purpose, SC_TX);
	reset();
}

/* ---- Evaluation ---- */

static void
test_stacking(void)
{
	struct sc_limit l;

	reset();
	/* TxDefault on 0, level 0: 32 A on 3 phases = 32 x 230 x 3 =
	 * 22080 W. */
	EXPECT16(p16(0, 1, 0, "TxDefaultProfile", "Absolute", "", START8A,
	    "{'startPeriod':0,'limit':32}"), SC_ACCEPTED, NULL);
	/* TxDefault on 0, level 1, valid from 09:00: 16 A = 11040 W. */
	EXPECT16(p16(0, 2, 1, "TxDefaultProfile", "Absolute",
	    ",'validFrom':'2026-11-26T09:00:00Z'", START8A,
	    "{'startPeriod':0,'limit':16}"), SC_ACCEPTED, NULL);
	l = eval_at(2, "2026-11-26T08:30:00Z");
	CU_ASSERT_TRUE(l.limited);
	CU_ASSERT_DOUBLE_EQUAL(l.limit_w, 22080, EPS);
	CU_ASSERT_DOUBLE_EQUAL(l.limit_a, 32, EPS);
	CU_ASSERT_EQUAL(l.profile_id, 1);
	CU_ASSERT_EQUAL(l.purpose, SC_TX_DEFAULT);
	/* Level 1 becomes valid at 09:00: that is the next change. */
	CU_ASSERT_EQUAL(l.next_change_ms, T("2026-11-26T09:00:00Z"));
	/* From 09:00 the higher level wins, even though it is lower. */
	l = eval_at(2, "2026-11-26T09:00:00Z");
	CU_ASSERT_DOUBLE_EQUAL(l.limit_w, 11040, EPS);
	CU_ASSERT_EQUAL(l.profile_id, 2);
	CU_ASSERT_EQUAL(l.next_change_ms, SC_NEVER);
	/* A TxDefault on connector 1 (10 kW, level 0) overrides those on 0
	 * for connector 1 only. */
	EXPECT16(p16(1, 3, 0, "TxDefaultProfile", "Absolute", "", START8,
	    "{'startPeriod':0,'limit':10000}"), SC_ACCEPTED, NULL);
	l = eval_at(1, "2026-11-26T09:30:00Z");
	CU_ASSERT_DOUBLE_EQUAL(l.limit_w, 10000, EPS);
	CU_ASSERT_EQUAL(l.profile_id, 3);
	l = eval_at(2, "2026-11-26T09:30:00Z");
	CU_ASSERT_EQUAL(l.profile_id, 2);
	/* A TxProfile of 12 kW, sent without transactionId, overrides the
	 * TxDefault of 10 kW (it is not the minimum of the two: K02.FR.04). */
	tx_start(1, "100", "2026-11-26T09:10:00Z");
	EXPECT16(p16(1, 4, 0, "TxProfile", "Relative", "", UNIT_W,
	    "{'startPeriod':0,'limit':12000}"), SC_ACCEPTED, NULL);
	l = eval_at(1, "2026-11-26T09:30:00Z");
	CU_ASSERT_DOUBLE_EQUAL(l.limit_w, 12000, EPS);
	CU_ASSERT_EQUAL(l.profile_id, 4);
	CU_ASSERT_EQUAL(l.purpose, SC_TX);
	CU_ASSERT_FALSE(l.has_station);
	/* A station cap of 20 kW: min(12000, 20000) = 12000 from the
	 * TxProfile, the station part reported beside it. */
	EXPECT16(p16(0, 5, 0, "ChargePointMaxProfile", "Absolute", "",
	    START8, "{'startPeriod':0,'limit':20000}"), SC_ACCEPTED, NULL);
	l = eval_at(1, "2026-11-26T09:30:00Z");
	CU_ASSERT_DOUBLE_EQUAL(l.limit_w, 12000, EPS);
	CU_ASSERT_TRUE(l.has_station);
	CU_ASSERT_DOUBLE_EQUAL(l.station_w, 20000, EPS);
	CU_ASSERT_EQUAL(l.station_id, 5);
	CU_ASSERT_DOUBLE_EQUAL(l.tx_w, 12000, EPS);
	/* A station cap of 9 kW binds: 9000 < 12000. */
	EXPECT16(p16(0, 5, 0, "ChargePointMaxProfile", "Absolute", "",
	    START8, "{'startPeriod':0,'limit':9000}"), SC_ACCEPTED, NULL);
	l = eval_at(1, "2026-11-26T09:30:00Z");
	CU_ASSERT_DOUBLE_EQUAL(l.limit_w, 9000, EPS);
	CU_ASSERT_EQUAL(l.purpose, SC_STATION_MAX);
	CU_ASSERT_EQUAL(l.profile_id, 5);
	CU_ASSERT_EQUAL(l.tx_id, 4);
	/* Connector 0: only the station cap. */
	l = eval_at(0, "2026-11-26T09:30:00Z");
	CU_ASSERT_DOUBLE_EQUAL(l.limit_w, 9000, EPS);
	CU_ASSERT_FALSE(l.has_tx);
	/* A TxProfile belongs to its transaction: were the end of 100 not
	 * reported, a new transaction 101 would not get it (TxDefault 3's
	 * 10000 W, capped at 9000 by the station). */
	strcpy(conns[0].tx_id, "101");
	l = eval_at(1, "2026-11-26T09:30:00Z");
	CU_ASSERT_EQUAL(l.tx_id, 3);
	strcpy(conns[0].tx_id, "100");
	/* The transaction ends: the TxProfile goes, TxDefault 3 is back. */
	sc_set_tx_ended(&set, 1, "100", NULL, 0);
	conns[0].tx_active = false;
	l = eval_at(1, "2026-11-26T09:30:00Z");
	CU_ASSERT_DOUBLE_EQUAL(l.tx_w, 10000, EPS);
	CU_ASSERT_EQUAL(l.tx_id, 3);
	/* Offline with the cloud's Tx limits ignored: only the station
	 * cap (9000) is left on connector 1... */
	tx_start(1, "100", "2026-11-26T09:10:00Z");
	ctx.ignore_purposes = (1u << SC_TX) | (1u << SC_TX_DEFAULT);
	l = eval_at(1, "2026-11-26T09:30:00Z");
	CU_ASSERT_FALSE(l.has_tx);
	CU_ASSERT_DOUBLE_EQUAL(l.limit_w, 9000, EPS);
	/* ... or with the station cap ignored, TxDefault 3's 10000 (the
	 * TxProfile went with the previous transaction). */
	ctx.ignore_purposes = 1u << SC_STATION_MAX;
	l = eval_at(1, "2026-11-26T09:30:00Z");
	CU_ASSERT_FALSE(l.has_station);
	CU_ASSERT_DOUBLE_EQUAL(l.limit_w, 10000, EPS);
	ctx.ignore_purposes = 0;
	conns[0].tx_active = false;
	/* A connector that does not exist. */
	CU_ASSERT_EQUAL(sc_evaluate(&set, &ctx, 4, T("2026-11-26T09:30:00Z"),
	    &l), -1);
	/* No profile at all. */
	reset();
	l = eval_at(1, "2026-11-26T09:30:00Z");
	CU_ASSERT_FALSE(l.limited);
	CU_ASSERT_EQUAL(l.next_change_ms, SC_NEVER);
	reset();
}

static void
test_amps(void)
{
	struct sc_limit l;

	reset();
	/* 16 A on one phase: 16 x 230 x 1 = 3680 W. */
	EXPECT16(p16(1, 1, 0, "TxDefaultProfile", "Absolute", "", START8A,
	    "{'startPeriod':0,'limit':16,'numberPhases':1}"), SC_ACCEPTED,
	    NULL);
	l = eval_at(1, "2026-11-26T08:00:00Z");
	CU_ASSERT_DOUBLE_EQUAL(l.limit_w, 3680, EPS);
	CU_ASSERT_DOUBLE_EQUAL(l.limit_a, 16, EPS);
	CU_ASSERT_EQUAL(l.phases, 1);
	/* No numberPhases: the connector's wiring (1 phase) -> 3680 W. */
	EXPECT16(p16(2, 2, 0, "TxDefaultProfile", "Absolute", "", START8A,
	    "{'startPeriod':0,'limit':16}"), SC_ACCEPTED, NULL);
	conns[1].phases = 1;
	l = eval_at(2, "2026-11-26T08:00:00Z");
	CU_ASSERT_DOUBLE_EQUAL(l.limit_w, 3680, EPS);
	/* Not known either: 3 phases (K01.FR.49) -> 11040 W. */
	conns[1].phases = 0;
	l = eval_at(2, "2026-11-26T08:00:00Z");
	CU_ASSERT_DOUBLE_EQUAL(l.limit_w, 11040, EPS);
	CU_ASSERT_EQUAL(l.phases, 3);
	/* 110 V: 16 x 110 x 3 = 5280 W. */
	ctx.voltage_v = 110;
	l = eval_at(2, "2026-11-26T08:00:00Z");
	CU_ASSERT_DOUBLE_EQUAL(l.limit_w, 5280, EPS);
	ctx.voltage_v = V;
	/* W given, A reported: 6900 W on 3 phases = 6900 / 690 = 10 A; the
	 * minChargingRate of 6 A is 6 x 690 = 4140 W. */
	EXPECT16(p16(3, 3, 0, "TxDefaultProfile", "Absolute", "",
	    START8 "'minChargingRate':4140,", "{'startPeriod':0,'limit':6900}"),
	    SC_ACCEPTED, NULL);
	l = eval_at(3, "2026-11-26T08:00:00Z");
	CU_ASSERT_DOUBLE_EQUAL(l.limit_a, 10, EPS);
	CU_ASSERT_DOUBLE_EQUAL(l.min_rate_w, 4140, EPS);
	reset();
}

static void
test_recurring(void)
{
	struct sc_limit l;

	reset();
	/* Daily from 2026-11-01 00:00: 11 kW, 18:00 (64800 s) 5 kW, 22:00
	 * (79200 s) 11 kW again. */
	EXPECT16(p16(0, 1, 0, "TxDefaultProfile", "Recurring",
	    ",'recurrencyKind':'Daily'", "'startSchedule':"
	    "'2026-11-01T00:00:00Z','chargingRateUnit':'W',",
	    "{'startPeriod':0,'limit':11000},{'startPeriod':64800,'limit':"
	    "5000},{'startPeriod':79200,'limit':11000}"), SC_ACCEPTED, NULL);
	l = eval_at(1, "2026-11-26T12:00:00Z");
	CU_ASSERT_DOUBLE_EQUAL(l.limit_w, 11000, EPS);
	CU_ASSERT_EQUAL(l.next_change_ms, T("2026-11-26T18:00:00Z"));
	l = eval_at(1, "2026-11-26T19:00:00Z");
	CU_ASSERT_DOUBLE_EQUAL(l.limit_w, 5000, EPS);
	CU_ASSERT_EQUAL(l.next_change_ms, T("2026-11-26T22:00:00Z"));
	/* The last period runs to the end of the day; the cycle restarts
	 * at midnight. */
	l = eval_at(1, "2026-11-26T23:00:00Z");
	CU_ASSERT_DOUBLE_EQUAL(l.limit_w, 11000, EPS);
	CU_ASSERT_EQUAL(l.next_change_ms, T("2026-11-27T00:00:00Z"));
	/* The one timer over all connectors: 22:00. */
	CU_ASSERT_EQUAL(sc_next_change(&set, &ctx, T("2026-11-26T19:00:00Z")),
	    T("2026-11-26T22:00:00Z"));
	/* Before startSchedule it does not apply (K01.FR.30). */
	l = eval_at(1, "2026-10-31T19:00:00Z");
	CU_ASSERT_FALSE(l.limited);
	CU_ASSERT_EQUAL(l.next_change_ms, T("2026-11-01T00:00:00Z"));

	/* Daily 07:00 for one hour (duration 3600) at 3 kW, level 1. */
	EXPECT16(p16(0, 2, 1, "TxDefaultProfile", "Recurring",
	    ",'recurrencyKind':'Daily'", "'startSchedule':"
	    "'2026-11-01T07:00:00Z','duration':3600,'chargingRateUnit':'W',",
	    "{'startPeriod':0,'limit':3000}"), SC_ACCEPTED, NULL);
	l = eval_at(1, "2026-11-26T07:30:00Z");
	CU_ASSERT_DOUBLE_EQUAL(l.limit_w, 3000, EPS);
	CU_ASSERT_EQUAL(l.profile_id, 2);
	CU_ASSERT_EQUAL(l.next_change_ms, T("2026-11-26T08:00:00Z"));
	/* After its hour, level 0 applies again (K01.FR.13); the next
	 * change is the lower level's 18:00 boundary, before tomorrow's
	 * 07:00. */
	l = eval_at(1, "2026-11-26T08:30:00Z");
	CU_ASSERT_DOUBLE_EQUAL(l.limit_w, 11000, EPS);
	CU_ASSERT_EQUAL(l.profile_id, 1);
	CU_ASSERT_EQUAL(l.next_change_ms, T("2026-11-26T18:00:00Z"));
	/* At 23:00: level 1 comes back at 07:00 tomorrow, level 0 changes
	 * at midnight first. */
	l = eval_at(1, "2026-11-26T23:00:00Z");
	CU_ASSERT_EQUAL(l.next_change_ms, T("2026-11-27T00:00:00Z"));
	l = eval_at(1, "2026-11-27T00:00:00Z");
	CU_ASSERT_EQUAL(l.next_change_ms, T("2026-11-27T07:00:00Z"));

	/* Weekly from Monday 2026-11-23: 10 kW, Sunday (day 6 = 518400 s)
	 * 4 kW, as a station cap. */
	EXPECT16(p16(0, 3, 0, "ChargePointMaxProfile", "Recurring",
	    ",'recurrencyKind':'Weekly'", "'startSchedule':"
	    "'2026-11-23T00:00:00Z','chargingRateUnit':'W',",
	    "{'startPeriod':0,'limit':10000},{'startPeriod':518400,'limit':"
	    "4000}"), SC_ACCEPTED, NULL);
	l = eval_at(0, "2026-11-29T12:00:00Z");	/* Sunday */
	CU_ASSERT_DOUBLE_EQUAL(l.limit_w, 4000, EPS);
	/* The week wraps on Monday 2026-11-30 00:00. */
	CU_ASSERT_EQUAL(l.next_change_ms, T("2026-11-30T00:00:00Z"));
	l = eval_at(0, "2026-11-30T01:00:00Z");
	CU_ASSERT_DOUBLE_EQUAL(l.limit_w, 10000, EPS);
	CU_ASSERT_EQUAL(l.next_change_ms, T("2026-12-06T00:00:00Z"));
	/* Three weeks later, same answer. */
	l = eval_at(0, "2026-12-20T23:59:59Z");	/* Sunday */
	CU_ASSERT_DOUBLE_EQUAL(l.limit_w, 4000, EPS);
	CU_ASSERT_EQUAL(l.next_change_ms, T("2026-12-21T00:00:00Z"));
	/* The station cap also binds connector 1 at 23:00 on Sunday:
	 * min(11000, 4000) = 4000. */
	l = eval_at(1, "2026-11-29T23:00:00Z");
	CU_ASSERT_DOUBLE_EQUAL(l.limit_w, 4000, EPS);
	CU_ASSERT_EQUAL(l.purpose, SC_STATION_MAX);
	CU_ASSERT_DOUBLE_EQUAL(l.tx_w, 11000, EPS);
	reset();
}

static void
test_relative_expiry(void)
{
	struct sc_limit l;

	reset();
	/* TxProfile relative to the transaction start (08:00): 3 kW, after
	 * 1800 s 7 kW. */
	tx_start(1, "5", "2026-11-26T08:00:00Z");
	EXPECT16(p16(1, 1, 0, "TxProfile", "Relative", "", UNIT_W,
	    "{'startPeriod':0,'limit':3000},{'startPeriod':1800,'limit':"
	    "7000}"), SC_ACCEPTED, NULL);
	l = eval_at(1, "2026-11-26T08:10:00Z");
	CU_ASSERT_DOUBLE_EQUAL(l.limit_w, 3000, EPS);
	CU_ASSERT_EQUAL(l.next_change_ms, T("2026-11-26T08:30:00Z"));
	l = eval_at(1, "2026-11-26T08:31:00Z");
	CU_ASSERT_DOUBLE_EQUAL(l.limit_w, 7000, EPS);
	CU_ASSERT_EQUAL(l.next_change_ms, SC_NEVER);
	/* A relative TxDefault on a connector without transaction: its
	 * first period, as if charging started now; no timer from it. */
	EXPECT16(p16(2, 2, 0, "TxDefaultProfile", "Relative", "", UNIT_W,
	    "{'startPeriod':0,'limit':2000},{'startPeriod':600,'limit':"
	    "9000}"), SC_ACCEPTED, NULL);
	l = eval_at(2, "2026-11-26T12:00:00Z");
	CU_ASSERT_DOUBLE_EQUAL(l.limit_w, 2000, EPS);
	CU_ASSERT_EQUAL(l.next_change_ms, SC_NEVER);
	/* Once a transaction runs there since 11:55, its 600 s boundary is
	 * 12:05. */
	tx_start(2, "6", "2026-11-26T11:55:00Z");
	l = eval_at(2, "2026-11-26T12:00:00Z");
	CU_ASSERT_EQUAL(l.next_change_ms, T("2026-11-26T12:05:00Z"));

	/* validTo: level 1 (5 kW) until 10:00 over level 0 (8 kW). */
	EXPECT16(p16(3, 3, 0, "TxDefaultProfile", "Absolute", "", START8,
	    "{'startPeriod':0,'limit':8000}"), SC_ACCEPTED, NULL);
	EXPECT16(p16(3, 4, 1, "TxDefaultProfile", "Absolute",
	    ",'validTo':'2026-11-26T10:00:00Z'", START8,
	    "{'startPeriod':0,'limit':5000}"), SC_ACCEPTED, NULL);
	l = eval_at(3, "2026-11-26T09:59:59Z");
	CU_ASSERT_DOUBLE_EQUAL(l.limit_w, 5000, EPS);
	CU_ASSERT_EQUAL(l.next_change_ms, T("2026-11-26T10:00:00Z"));
	l = eval_at(3, "2026-11-26T10:00:00Z");
	CU_ASSERT_DOUBLE_EQUAL(l.limit_w, 8000, EPS);
	CU_ASSERT_EQUAL(l.profile_id, 3);
	/* An absolute schedule with a duration ends: 08:00 + 3600 s. */
	EXPECT16(p16(0, 5, 0, "ChargePointMaxProfile", "Absolute", "",
	    START8 "'duration':3600,", "{'startPeriod':0,'limit':15000},"
	    "{'startPeriod':1800,'limit':12000},{'startPeriod':3600,'limit':"
	    "1}"), SC_ACCEPTED, NULL);
	l = eval_at(0, "2026-11-26T08:45:00Z");
	CU_ASSERT_DOUBLE_EQUAL(l.limit_w, 12000, EPS);
	/* The period at 3600 is past the duration (K01.FR.11). */
	CU_ASSERT_EQUAL(l.next_change_ms, T("2026-11-26T09:00:00Z"));
	l = eval_at(0, "2026-11-26T09:00:00Z");
	CU_ASSERT_FALSE(l.limited);
	/* A future startSchedule: nothing until then (K01.FR.30). */
	l = eval_at(0, "2026-11-26T07:00:00Z");
	CU_ASSERT_FALSE(l.limited);
	CU_ASSERT_EQUAL(l.next_change_ms, T("2026-11-26T08:00:00Z"));
	reset();
}

/* ---- Composite schedules ---- */

/* The set used by the composite tests: a station cap of 20 kW, 15 kW
 * from 09:00; a TxDefault on 0 of 32 A, 16 A from 08:30, 32 A from
 * 09:30 (3 phases: 22080 W, 11040 W, 22080 W). */
static void
composite_setup(void)
{
	reset();
	EXPECT16(p16(0, 1, 0, "ChargePointMaxProfile", "Absolute", "", START8,
	    "{'startPeriod':0,'limit':20000},{'startPeriod':3600,'limit':"
	    "15000}"), SC_ACCEPTED, NULL);
	EXPECT16(p16(0, 2, 0, "TxDefaultProfile", "Absolute", "", START8A,
	    "{'startPeriod':0,'limit':32},{'startPeriod':1800,'limit':16},"
	    "{'startPeriod':5400,'limit':32}"), SC_ACCEPTED, NULL);
}

/* Asserts the composite's periods against want[] of (start, limit). */
static void
check_periods(const struct sc_composite *c, const double (*want)[2],
    size_t n)
{
	CU_ASSERT_EQUAL(c->n_periods, n);
	for (size_t i = 0; i < n && i < c->n_periods; i++) {
		CU_ASSERT_EQUAL(c->periods[i].start_s, (int32_t)want[i][0]);
		CU_ASSERT_DOUBLE_EQUAL(c->periods[i].limit, want[i][1], EPS);
		if (c->periods[i].start_s != (int32_t)want[i][0] ||
		    fabs(c->periods[i].limit - want[i][1]) > EPS)
			fprintf(stderr, "period %zu: %d %.1f, want %.0f "
			    "%.1f\n", i, c->periods[i].start_s,
			    c->periods[i].limit, want[i][0], want[i][1]);
	}
}

/* An applied-limit hook: half of the schedule from 09:00 (as if a
 * local mode held the connector there). */
static double
half_after_nine(void *ud, int connector, int64_t at_ms, double w)
{
	(void)ud;
	(void)connector;
	return at_ms >= T("2026-11-26T09:00:00Z") ? w / 2 : w;
}

static void
test_composite(void)
{
	struct sc_composite c;
	struct sc_verdict vd;
	struct sc_composite_opts o = { .max_w = 22000, .local_cap_w = -1 };
	int64_t t0 = T("2026-11-26T08:00:00Z");

	composite_setup();
	/* Connector 1 from 08:00 for 7200 s, in W:
	 *   08:00-08:30 min(20000, 22080) = 20000
	 *   08:30-09:00 min(20000, 11040) = 11040
	 *   09:00-09:30 min(15000, 11040) = 11040 (merged)
	 *   09:30-10:00 min(15000, 22080) = 15000 */
	{
		static const double want[][2] = {
			{ 0, 20000 }, { 1800, 11040 }, { 5400, 15000 },
		};

		CU_ASSERT_EQUAL(sc_composite(&set, &ctx, 1, t0, 7200,
		    SC_UNIT_W, &o, &c, &vd), 0);
		check_periods(&c, want, ARRAY_SIZE(want));
		CU_ASSERT_EQUAL(c.periods[0].phases, 3);
		sc_composite_free(&c);
	}
	/* The same in A (/ 230 / 3 = / 690): 28.99 -> 29.0, 16.0,
	 * 21.74 -> 21.7. */
	{
		static const double want[][2] = {
			{ 0, 29.0 }, { 1800, 16 }, { 5400, 21.7 },
		};

		CU_ASSERT_EQUAL(sc_composite(&set, &ctx, 1, t0, 7200,
		    SC_UNIT_A, &o, &c, &vd), 0);
		check_periods(&c, want, ARRAY_SIZE(want));
		sc_composite_free(&c);
	}
	/* Connector 0: the station cap only: 20000, 15000 from 3600. */
	{
		static const double want[][2] = { { 0, 20000 },
			{ 3600, 15000 } };

		CU_ASSERT_EQUAL(sc_composite(&set, &ctx, 0, t0, 7200,
		    SC_UNIT_W, &o, &c, &vd), 0);
		check_periods(&c, want, ARRAY_SIZE(want));
		sc_composite_free(&c);
	}
	/* Starting mid-period (08:40) for 1800 s: 11040 throughout (08:40
	 * -09:00 min(20000, 11040), 09:00-09:10 min(15000, 11040)). */
	{
		static const double want[][2] = { { 0, 11040 } };

		CU_ASSERT_EQUAL(sc_composite(&set, &ctx, 1,
		    T("2026-11-26T08:40:00Z"), 1800, SC_UNIT_W, &o, &c, &vd),
		    0);
		check_periods(&c, want, ARRAY_SIZE(want));
		sc_composite_free(&c);
	}
	/* A local cap of 12 kW: 12000, 11040 at 1800, 12000 at 5400. */
	{
		static const double want[][2] = {
			{ 0, 12000 }, { 1800, 11040 }, { 5400, 12000 },
		};

		o.local_cap_w = 12000;
		CU_ASSERT_EQUAL(sc_composite(&set, &ctx, 1, t0, 7200,
		    SC_UNIT_W, &o, &c, &vd), 0);
		check_periods(&c, want, ARRAY_SIZE(want));
		sc_composite_free(&c);
		o.local_cap_w = -1;
	}
	/* The applied hook halves from 09:00: 20000, 11040 at 1800, 5520
	 * at 3600 (11040 / 2), 7500 at 5400 (15000 / 2). */
	{
		static const double want[][2] = {
			{ 0, 20000 }, { 1800, 11040 }, { 3600, 5520 },
			{ 5400, 7500 },
		};

		o.applied_w = half_after_nine;
		CU_ASSERT_EQUAL(sc_composite(&set, &ctx, 1, t0, 7200,
		    SC_UNIT_W, &o, &c, &vd), 0);
		check_periods(&c, want, ARRAY_SIZE(want));
		sc_composite_free(&c);
		o.applied_w = NULL;
	}
	/* Past the last boundary, before 08:00 the next day nothing
	 * changes: from 11:00 for a day, 15000 all along. */
	{
		static const double want[][2] = { { 0, 15000 } };

		CU_ASSERT_EQUAL(sc_composite(&set, &ctx, 2,
		    T("2026-11-26T11:00:00Z"), 86400, SC_UNIT_W, &o, &c, &vd),
		    0);
		check_periods(&c, want, ARRAY_SIZE(want));
		sc_composite_free(&c);
	}
	/* Rejections: unknown connector, unit, duration. */
	CU_ASSERT_EQUAL(sc_composite(&set, &ctx, 4, t0, 60, SC_UNIT_W, &o, &c,
	    &vd), -1);
	CU_ASSERT_STRING_EQUAL(vd.reason_code, "UnknownEvse");
	ctx.units = SC_UNITS_W;
	CU_ASSERT_EQUAL(sc_composite(&set, &ctx, 1, t0, 60, SC_UNIT_A, &o, &c,
	    &vd), -1);
	CU_ASSERT_STRING_EQUAL(vd.reason_code, "UnsupportedRateUnit");
	ctx.units = SC_UNITS_W | SC_UNITS_A;
	CU_ASSERT_EQUAL(sc_composite(&set, &ctx, 1, t0, 0, SC_UNIT_W, &o, &c,
	    &vd), -1);
	/* No profile: the physical maximum (22000 W). */
	reset();
	{
		static const double want[][2] = { { 0, 22000 } };

		CU_ASSERT_EQUAL(sc_composite(&set, &ctx, 1, t0, 3600,
		    SC_UNIT_W, &o, &c, &vd), 0);
		check_periods(&c, want, ARRAY_SIZE(want));
		sc_composite_free(&c);
	}
	reset();
}

/* A relative TxDefault in a composite with no transaction: as if one
 * started at the request (K08.FR.06). */
static void
test_composite_relative(void)
{
	struct sc_composite c;
	struct sc_verdict vd;
	struct sc_composite_opts o = { .max_w = 22000, .local_cap_w = -1 };
	static const double want[][2] = { { 0, 2000 }, { 600, 9000 } };

	reset();
	EXPECT16(p16(2, 2, 0, "TxDefaultProfile", "Relative", "", UNIT_W,
	    "{'startPeriod':0,'limit':2000},{'startPeriod':600,'limit':"
	    "9000}"), SC_ACCEPTED, NULL);
	CU_ASSERT_EQUAL(sc_composite(&set, &ctx, 2, T("2026-11-26T12:00:00Z"),
	    3600, SC_UNIT_W, &o, &c, &vd), 0);
	check_periods(&c, want, ARRAY_SIZE(want));
	sc_composite_free(&c);
	reset();
}

/* Returns the parsed JSON of text (asserting it parses). */
static json_t *
parse(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	return j;
}

static void
test_composite_payloads(void)
{
	struct sc_verdict vd;
	struct sc_composite_opts o = { .max_w = 22000, .local_cap_w = -1 };
	json_t *j, *s, *per;
	char *r;

	composite_setup();
	/* 1.6: connectorId 1, 7200 s, A. */
	r = sc_composite_request(&set, &ctx, SC_V16, J("{'connectorId':1,"
	    "'duration':7200,'chargingRateUnit':'A'}"), &o, &vd);
	j = parse(r);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "status")),
	    "Accepted");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "connectorId")),
	    1);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j,
	    "scheduleStart")), "2026-11-26T08:00:00.000Z");
	s = json_object_get(j, "chargingSchedule");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(s, "duration")),
	    7200);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(s,
	    "chargingRateUnit")), "A");
	per = json_object_get(s, "chargingSchedulePeriod");
	CU_ASSERT_EQUAL(json_array_size(per), 3);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(per,
	    1), "startPeriod")), 1800);
	CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(
	    json_array_get(per, 2), "limit")), 21.7, EPS);
	/* Printed as 21.7, not 21.699999999999999. */
	CU_ASSERT_PTR_NOT_NULL(strstr(r, "\"limit\":21.7,"));
	json_decref(j);
	free(r);
	/* 2.0.1: evseId 0, 3600 s, unit absent -> W. */
	r = sc_composite_request(&set, &ctx, SC_V201, J("{'evseId':0,"
	    "'duration':3600}"), &o, &vd);
	CU_ASSERT_STRING_EQUAL(r, "{\"status\":\"Accepted\",\"schedule\":{"
	    "\"evseId\":0,\"duration\":3600,\"scheduleStart\":"
	    "\"2026-11-26T08:00:00.000Z\",\"chargingRateUnit\":\"W\","
	    "\"chargingSchedulePeriod\":[{\"startPeriod\":0,\"limit\":20000,"
	    "\"numberPhases\":3}]}}");
	free(r);
	/* Rejected shapes. */
	r = sc_composite_request(&set, &ctx, SC_V201, J("{'evseId':7,"
	    "'duration':3600}"), &o, &vd);
	j = parse(r);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "status")),
	    "Rejected");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(
	    json_object_get(j, "statusInfo"), "reasonCode")), "UnknownEvse");
	json_decref(j);
	free(r);
	r = sc_composite_request(&set, &ctx, SC_V16, J("{'connectorId':1}"),
	    &o, &vd);
	CU_ASSERT_STRING_EQUAL(r, "{\"status\":\"Rejected\"}");
	CU_ASSERT_TRUE(vd.malformed);
	free(r);
	reset();
}

/* Limits above what the site could ever draw (1e308 A, 3e10 W, the
 * largest double) are clamped to the physical maximum of their scope:
 * the connector's, else the site's, else SC_POWER_MAX_W; every value
 * fits an int32_t and the composite answer is valid JSON. */
static void
test_huge_limits(void)
{
	struct sc_composite_opts o = { .max_w = 22000, .local_cap_w = -1 };
	struct sc_verdict vd;
	struct sc_limit lim;
	json_t *j, *per;
	char *r;

	reset();
	CU_ASSERT_EQUAL(set_profile(SC_V16, p16(0, 1, 0, "TxDefaultProfile",
	    "Absolute", "", START8A, "{'startPeriod':0,'limit':1e308}"), NULL),
	    SC_ACCEPTED);
	CU_ASSERT_EQUAL(set_profile(SC_V16, p16(0, 2, 0,
	    "ChargePointMaxProfile", "Absolute", "", START8,
	    "{'startPeriod':0,'limit':3e10}"), NULL), SC_ACCEPTED);
	/* Nothing known about the site: the hard bound. */
	CU_ASSERT_EQUAL(sc_evaluate(&set, &ctx, 1, ctx.now_ms, &lim), 0);
	CU_ASSERT_TRUE(lim.has_station && lim.has_tx);
	CU_ASSERT_DOUBLE_EQUAL(lim.station_w, SC_POWER_MAX_W, EPS);
	CU_ASSERT_DOUBLE_EQUAL(lim.tx_w, SC_POWER_MAX_W, EPS);
	CU_ASSERT_TRUE(lim.limit_w <= INT32_MAX);
	CU_ASSERT_TRUE(isfinite(lim.limit_a));
	/* The site's breaker (63 A x 230 V x 3) and a 22 kW connector. */
	ctx.site_max_w = 43470;
	conns[0].max_w = 22000;
	CU_ASSERT_EQUAL(sc_evaluate(&set, &ctx, 0, ctx.now_ms, &lim), 0);
	CU_ASSERT_DOUBLE_EQUAL(lim.station_w, 43470, EPS);
	CU_ASSERT_EQUAL(sc_evaluate(&set, &ctx, 1, ctx.now_ms, &lim), 0);
	CU_ASSERT_DOUBLE_EQUAL(lim.tx_w, 22000, EPS);
	CU_ASSERT_DOUBLE_EQUAL(lim.limit_w, 22000, EPS);
	CU_ASSERT_EQUAL(sc_evaluate(&set, &ctx, 2, ctx.now_ms, &lim), 0);
	CU_ASSERT_DOUBLE_EQUAL(lim.tx_w, 43470, EPS);
	/* In A over the whole window: finite, bounded, valid JSON. */
	r = sc_composite_request(&set, &ctx, SC_V16, J("{'connectorId':1,"
	    "'duration':600,'chargingRateUnit':'A'}"), &o, &vd);
	j = json_loads(r, 0, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	per = json_object_get(json_object_get(j, "chargingSchedule"),
	    "chargingSchedulePeriod");
	CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(
	    json_array_get(per, 0), "limit")), 22000 / (3 * V), 0.1);
	json_decref(j);
	free(r);
	/* The largest double, in W and in A, without any site figure. */
	ctx.site_max_w = 0;
	conns[0].max_w = 0;
	CU_ASSERT_EQUAL(set_profile(SC_V201, p201(1, 3, 1, "TxDefaultProfile",
	    "Absolute", "", START8A, "{'startPeriod':0,'limit':"
	    "1.7976931348623157e308,'numberPhases':3}"), NULL), SC_ACCEPTED);
	r = sc_composite_request(&set, &ctx, SC_V201, J("{'evseId':1,"
	    "'duration':600,'chargingRateUnit':'W'}"), &o, &vd);
	j = json_loads(r, 0, NULL);
	CU_ASSERT_PTR_NOT_NULL(j);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "status")),
	    "Accepted");
	json_decref(j);
	free(r);
	reset();
}

/* A small deterministic generator (64-bit LCG), for the randomized
 * consistency test. */
static uint64_t rng_state;

static int
rnd(int n)
{
	rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (int)((rng_state >> 33) % (uint64_t)n);
}

/* Installs a random profile: any purpose, kind, unit, validity.
 * Returns true when it was accepted. */
static bool
random_profile(int id)
{
	static const char *const purposes[] = { "ChargePointMaxProfile",
		"TxDefaultProfile", "TxProfile" };
	char per[512], extra[160], sched[200];
	int purpose = rnd(3), conn, kind = rnd(3), n = 1 + rnd(4), at = 0;
	int unit_a = rnd(2);
	size_t off = 0;
	struct sc_verdict vd;

	conn = purpose == 0 ? 0 : purpose == 2 ? 1 + rnd(3) : rnd(4);
	if (purpose == 0 && kind == 2)
		kind = 0;
	for (int i = 0; i < n; i++) {
		off += (size_t)snprintf(per + off, sizeof(per) - off,
		    "%s{'startPeriod':%d,'limit':%d%s}", i ? "," : "", at,
		    unit_a ? 6 + rnd(27) : 1000 * (1 + rnd(22)),
		    rnd(3) == 0 ? ",'numberPhases':1" : "");
		at += 60 * (1 + rnd(300));
	}
	extra[0] = '\0';
	if (kind == 1)
		snprintf(extra, sizeof(extra), ",'recurrencyKind':'%s'",
		    rnd(2) ? "Daily" : "Weekly");
	if (rnd(3) == 0)
		snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra),
		    ",'validFrom':'2026-11-26T%02d:%02d:00Z'", rnd(24),
		    rnd(60));
	if (rnd(3) == 0)
		snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra),
		    ",'validTo':'2026-11-27T%02d:%02d:00Z'", rnd(24),
		    rnd(60));
	snprintf(sched, sizeof(sched), "%s%s'chargingRateUnit':'%s',",
	    kind == 2 ? "" : rnd(2) ? "'startSchedule':'2026-11-26T06:30:00Z',"
	    : "'startSchedule':'2026-11-25T13:17:00Z',",
	    rnd(2) ? J("'duration':%d,", at + rnd(20000) - 10000 > 60 ?
	    at + rnd(20000) - 10000 : 60) : "", unit_a ? "A" : "W");
	/* Some are refused (e.g. a duration beyond a day); that is fine,
	 * the set is what it is. */
	return set_profile(SC_V16, p16(conn, id, rnd(4), purposes[purpose],
	    kind == 0 ? "Absolute" : kind == 1 ? "Recurring" : "Relative",
	    extra, sched, per), &vd) == SC_ACCEPTED;
}

/* Randomized sets: the composite schedule (built by jumping from one
 * next change to the next) must equal sc_evaluate() sampled at every
 * minute and just before every period boundary; a next-change time that
 * missed a change would show as a mismatch. */
static void
test_composite_consistency(void)
{
	struct sc_composite_opts o = { .max_w = 50000, .local_cap_w = -1 };
	int64_t t0 = T("2026-11-26T07:00:00Z");
	int mismatches = 0, checked = 0, accepted = 0, periods = 0;

	rng_state = 20261126;
	for (int r = 0; r < 40; r++) {
		reset();
		tx_start(1, "1", "2026-11-26T06:50:00Z");
		tx_start(2, "2", "2026-11-26T07:00:00Z");
		tx_start(3, "3", "2026-11-26T05:00:00Z");
		conns[2].phases = 1;
		for (int i = 0; i < 6; i++)
			accepted += random_profile(i + 1);
		for (int k = 0; k <= 3; k++) {
			struct sc_composite c;
			struct sc_verdict vd;

			CU_ASSERT_EQUAL_FATAL(sc_composite(&set, &ctx, k, t0,
			    2 * 86400, SC_UNIT_W, &o, &c, &vd), 0);
			periods += (int)c.n_periods;
			for (size_t i = 0; i < c.n_periods; i++) {
				int64_t from = t0 + c.periods[i].start_s * 1000LL;
				int64_t to = i + 1 < c.n_periods ? t0 +
				    c.periods[i + 1].start_s * 1000LL : t0 +
				    2 * 86400 * 1000LL;

				/* Merged periods differ from their neighbour. */
				if (i > 0)
					CU_ASSERT(c.periods[i].limit !=
					    c.periods[i - 1].limit ||
					    c.periods[i].phases !=
					    c.periods[i - 1].phases);
				for (int64_t s = from; s < to; s += 60000) {
					int64_t at = s + 60000 >= to ? to - 1 :
					    s;
					struct sc_limit l;
					double w;

					sc_evaluate(&set, &ctx, k, at, &l);
					w = l.limited ? round(l.limit_w * 10) /
					    10 : 50000;
					checked++;
					if (fabs(w - c.periods[i].limit) > EPS &&
					    mismatches++ < 5)
						fprintf(stderr, "round %d k %d "
						    "at +%llds: %.1f vs %.1f\n",
						    r, k, (long long)(at -
						    t0) / 1000, w,
						    c.periods[i].limit);
				}
			}
			sc_composite_free(&c);
		}
	}
	CU_ASSERT_EQUAL(mismatches, 0);
	CU_ASSERT(checked > 40 * 4 * 2 * 1440 - 100);
	/* The sets are not trivial: most profiles get in, and the
	 * schedules change many times. */
	fprintf(stderr, "consistency: %d of 240 profiles accepted, %d "
	    "periods, %d samples\n", accepted, periods, checked);
	CU_ASSERT(accepted > 120);
	CU_ASSERT(periods > 40 * 4 * 3);
	reset();
}

/* ---- Stored text, GetChargingProfiles ---- */

static void
test_roundtrip(void)
{
	struct sc_set copy;
	char *cause = NULL;

	reset();
	tx_start(1, "77", "2026-11-26T07:00:00Z");
	EXPECT16(p16(0, 1, 0, "ChargePointMaxProfile", "Recurring",
	    ",'recurrencyKind':'Weekly','validFrom':'2026-11-01T00:00:00Z',"
	    "'validTo':'2027-01-01T00:00:00Z'", "'startSchedule':"
	    "'2026-11-23T00:00:00Z','duration':86400,'chargingRateUnit':'A',"
	    "'minChargingRate':6.5,", "{'startPeriod':0,'limit':32.5,"
	    "'numberPhases':1},{'startPeriod':3600,'limit':10}"), SC_ACCEPTED,
	    NULL);
	EXPECT16(p16(1, 2, 3, "TxProfile", "Relative", ",'transactionId':77",
	    UNIT_W, P1), SC_ACCEPTED, NULL);
	EXPECT201(p201(2, 3, 1, "TxDefaultProfile", "Absolute", "", START8,
	    P1), NULL, NULL);
	sc_set_init(&copy);
	for (size_t i = 0; i < set.n; i++)
		CU_ASSERT_EQUAL(sc_set_load(&copy, set.v[i]->json, &cause), 0);
	CU_ASSERT_EQUAL_FATAL(copy.n, set.n);
	for (size_t i = 0; i < set.n; i++) {
		const struct sc_profile *a = set.v[i], *b = copy.v[i];

		CU_ASSERT_STRING_EQUAL(a->json, b->json);
		CU_ASSERT_EQUAL(a->version, b->version);
		CU_ASSERT_EQUAL(a->connector, b->connector);
		CU_ASSERT_EQUAL(a->id, b->id);
		CU_ASSERT_EQUAL(a->stack_level, b->stack_level);
		CU_ASSERT_EQUAL(a->purpose, b->purpose);
		CU_ASSERT_EQUAL(a->kind, b->kind);
		CU_ASSERT_EQUAL(a->recurrency, b->recurrency);
		CU_ASSERT_EQUAL(a->valid_from_ms, b->valid_from_ms);
		CU_ASSERT_EQUAL(a->valid_to_ms, b->valid_to_ms);
		CU_ASSERT_STRING_EQUAL(a->tx_id, b->tx_id);
		CU_ASSERT_EQUAL(a->start_ms, b->start_ms);
		CU_ASSERT_EQUAL(a->duration_s, b->duration_s);
		CU_ASSERT_EQUAL(a->unit, b->unit);
		CU_ASSERT_EQUAL(a->min_rate, b->min_rate);
		CU_ASSERT_EQUAL_FATAL(a->n_periods, b->n_periods);
		CU_ASSERT_EQUAL(memcmp(a->periods, b->periods,
		    a->n_periods * sizeof(*a->periods)), 0);
	}
	/* The recurring one kept everything: 1 phase, 32.5 A, 6.5 A. */
	CU_ASSERT_EQUAL(copy.v[0]->periods[0].phases, 1);
	CU_ASSERT_DOUBLE_EQUAL(copy.v[0]->periods[0].limit, 32.5, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(copy.v[0]->min_rate, 6.5, 1e-9);
	CU_ASSERT_STRING_EQUAL(copy.v[1]->tx_id, "77");
	/* A TxProfile sent without transactionId comes back bound to the
	 * transaction stored beside it. */
	EXPECT16(p16(1, 4, 4, "TxProfile", "Relative", "", UNIT_W, P1),
	    SC_ACCEPTED, NULL);
	CU_ASSERT_STRING_EQUAL(sc_set_find(&set, 4)->tx_id, "77");
	CU_ASSERT_EQUAL(sc_set_load_bound(&copy, sc_set_find(&set, 4)->json,
	    sc_set_find(&set, 4)->tx_id, NULL), 0);
	CU_ASSERT_STRING_EQUAL(sc_set_find(&copy, 4)->tx_id, "77");
	CU_ASSERT_EQUAL(sc_set_load(&copy, sc_set_find(&set, 4)->json, NULL),
	    0);
	CU_ASSERT_STRING_EQUAL(sc_set_find(&copy, 4)->tx_id, "");
	sc_set_clear(&set, &(struct sc_filter){ .has_id = true, .id = 4 },
	    NULL, 0);
	sc_set_clear(&copy, &(struct sc_filter){ .has_id = true, .id = 4 },
	    NULL, 0);
	/* Loading the same text again replaces, never duplicates. */
	CU_ASSERT_EQUAL(sc_set_load(&copy, set.v[0]->json, NULL), 0);
	CU_ASSERT_EQUAL(copy.n, set.n);
	/* Bad text says so. */
	CU_ASSERT_EQUAL(sc_set_load(&copy, "{\"evseId\":1}", &cause), -1);
	CU_ASSERT_PTR_NOT_NULL(cause);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "chargingProfile is missing"));
	free(cause);
	sc_set_free(&copy);
	reset();
}

static void
test_get_profiles(void)
{
	struct sc_filter f;
	struct sc_verdict vd;
	const struct sc_profile *out[8];
	char **reports;
	size_t n;
	char *r;
	json_t *j;

	reset();
	EXPECT201(p201(0, 1, 0, "ChargingStationMaxProfile", "Absolute", "",
	    START8, P1), NULL, NULL);
	EXPECT201(p201(0, 2, 1, "TxDefaultProfile", "Absolute", "", START8,
	    P1), NULL, NULL);
	EXPECT201(p201(2, 3, 2, "TxDefaultProfile", "Absolute", "", START8,
	    P1), NULL, NULL);
	EXPECT201(p201(1, 4, 2, "TxDefaultProfile", "Absolute", "", START8,
	    P1), NULL, NULL);
	/* By purpose: 2, 4, 3 in EVSE order. */
	CU_ASSERT_EQUAL(sc_get_parse(J("{'requestId':9,'chargingProfile':"
	    "{'chargingProfilePurpose':'TxDefaultProfile'}}"), &f, &vd), 0);
	CU_ASSERT_EQUAL(sc_set_list(&set, &f, out, 8), 3);
	CU_ASSERT_EQUAL(out[0]->id, 2);
	CU_ASSERT_EQUAL(out[1]->id, 4);
	CU_ASSERT_EQUAL(out[2]->id, 3);
	/* K09.FR.05: evseId 0 reports only what is installed on 0. */
	CU_ASSERT_EQUAL(sc_get_parse(J("{'requestId':9,'evseId':0,"
	    "'chargingProfile':{}}"), &f, &vd), 0);
	CU_ASSERT_EQUAL(sc_set_list(&set, &f, out, 8), 2);
	/* By ids and stack level. */
	CU_ASSERT_EQUAL(sc_get_parse(J("{'requestId':9,'chargingProfile':"
	    "{'chargingProfileId':[1,3,4],'stackLevel':2}}"), &f, &vd), 0);
	CU_ASSERT_EQUAL(sc_set_list(&set, &f, out, 8), 2);
	/* Another source than CSO: none. */
	CU_ASSERT_EQUAL(sc_get_parse(J("{'requestId':9,'chargingProfile':"
	    "{'chargingLimitSource':['EMS']}}"), &f, &vd), 0);
	r = sc_get_answer(&set, &f, &reports, &n);
	CU_ASSERT_STRING_EQUAL(r, "{\"status\":\"NoProfiles\"}");
	CU_ASSERT_EQUAL(n, 0);
	free(r);
	free(reports);
	/* All of them: three reports (EVSE 0, 1, 2), tbc on the first
	 * two, requestId everywhere. */
	CU_ASSERT_EQUAL(sc_get_parse(J("{'requestId':9,'chargingProfile':"
	    "{'chargingLimitSource':['CSO']}}"), &f, &vd), 0);
	r = sc_get_answer(&set, &f, &reports, &n);
	CU_ASSERT_STRING_EQUAL(r, "{\"status\":\"Accepted\"}");
	CU_ASSERT_EQUAL_FATAL(n, 3);
	for (size_t i = 0; i < n; i++) {
		j = parse(reports[i]);
		CU_ASSERT_EQUAL(json_integer_value(json_object_get(j,
		    "requestId")), 9);
		CU_ASSERT_EQUAL(json_integer_value(json_object_get(j,
		    "evseId")), (json_int_t)i);
		CU_ASSERT_EQUAL(json_is_true(json_object_get(j, "tbc")),
		    i < 2);
		CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j,
		    "chargingLimitSource")), "CSO");
		CU_ASSERT_EQUAL(json_array_size(json_object_get(j,
		    "chargingProfile")), i == 0 ? 2 : 1);
		json_decref(j);
		free(reports[i]);
	}
	free(reports);
	free(r);
	/* The profile objects are the ones received. */
	CU_ASSERT_EQUAL(sc_get_parse(J("{'requestId':1,'chargingProfile':"
	    "{'chargingProfileId':[3]}}"), &f, &vd), 0);
	r = sc_get_answer(&set, &f, &reports, &n);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_STRING_EQUAL(reports[0], J("{'requestId':1,"
	    "'chargingLimitSource':'CSO','tbc':false,'evseId':2,"
	    "'chargingProfile':[{'id':3,'stackLevel':2,"
	    "'chargingProfilePurpose':'TxDefaultProfile',"
	    "'chargingProfileKind':'Absolute','chargingSchedule':[{'id':1,"
	    "'startSchedule':'2026-11-26T08:00:00Z','chargingRateUnit':'W',"
	    "'chargingSchedulePeriod':[{'startPeriod':0,'limit':11000}]}]}]}"));
	free(reports[0]);
	free(reports);
	free(r);
	/* Malformed request. */
	CU_ASSERT_EQUAL(sc_get_parse(J("{'chargingProfile':{}}"), &f, &vd),
	    -1);
	CU_ASSERT_STRING_EQUAL(vd.reason, "requestId is missing");
	reset();
}

static const struct cu_test validate_tests[] = {
	{ "1.6 SetChargingProfile rules", test_validate16 },
	{ "2.0.1 SetChargingProfile rules and reasonCodes", test_validate201 },
	{ "replacement, clearing, transaction end", test_replace_clear },
	{ "profile of a remote start", test_remote_start },
	{ NULL, NULL },
};

static const struct cu_test eval_tests[] = {
	{ "stacking and purposes", test_stacking },
	{ "A to W with phases and voltage", test_amps },
	{ "daily and weekly recurrence", test_recurring },
	{ "relative schedules, validTo, duration", test_relative_expiry },
	{ NULL, NULL },
};

static const struct cu_test composite_tests[] = {
	{ "composite period by period", test_composite },
	{ "composite of a relative TxDefault", test_composite_relative },
	{ "GetCompositeSchedule payloads", test_composite_payloads },
	{ "limits above the site's maximum are clamped", test_huge_limits },
	{ "composite equals evaluation, random sets",
	    test_composite_consistency },
	{ NULL, NULL },
};

static const struct cu_test store_tests[] = {
	{ "stored text round trip", test_roundtrip },
	{ "GetChargingProfiles and reports", test_get_profiles },
	{ NULL, NULL },
};

/* Frees the set after the last test. */
static int
cleanup(void)
{
	sc_set_free(&set);
	return 0;
}

int
main(void)
{
	static const struct cu_suite suites[] = {
		{ "smartcharging-validate", NULL, cleanup, validate_tests },
		{ "smartcharging-evaluate", NULL, cleanup, eval_tests },
		{ "smartcharging-composite", NULL, cleanup, composite_tests },
		{ "smartcharging-store", NULL, cleanup, store_tests },
		{ NULL, NULL, NULL, NULL },
	};

	return cu_run(suites);
}
