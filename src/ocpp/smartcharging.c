/* Charging profiles: parsing and validation of SetChargingProfile,
 * the installed set with its replacement and clearing rules, evaluation
 * at an instant (stacking, A to W) and composite schedules.  Requirement
 * ids in comments are OCPP 2.0.1 part 2 (K01..K10) unless marked 1.6. */
#include "config.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "ocpp/smartcharging.h"

#define DAY_MS (86400LL * 1000)
#define WEEK_MS (7 * DAY_MS)
/* Bounds on a composite's length and number of periods. */
#define COMPOSITE_MAX_S (31 * 86400)
#define COMPOSITE_MAX_STEPS 100000

/* Fills *vd and returns -1. */
static int __attribute__((format(printf, 5, 6)))
verdict(struct sc_verdict *vd, enum sc_status st, const char *code,
    bool malformed, const char *fmt, ...)
{
	va_list ap;

	vd->status = st;
	vd->reason_code = code;
	vd->malformed = malformed;
	va_start(ap, fmt);
	vsnprintf(vd->reason, sizeof(vd->reason), fmt, ap);
	va_end(ap);
	return -1;
}

/* Marks *vd accepted. */
static void
verdict_ok(struct sc_verdict *vd)
{
	vd->status = SC_ACCEPTED;
	vd->reason_code = NULL;
	vd->malformed = false;
	vd->reason[0] = '\0';
}

static const char *const purpose16[SC_PURPOSE_COUNT] = {
	"ChargePointMaxProfile", "TxDefaultProfile", "TxProfile",
};
static const char *const purpose201[SC_PURPOSE_COUNT] = {
	"ChargingStationMaxProfile", "TxDefaultProfile", "TxProfile",
};

/* Name of a purpose as version v spells it.  Static. */
const char *
sc_purpose_name(enum sc_version v, enum sc_purpose p)
{
	return v == SC_V16 ? purpose16[p] : purpose201[p];
}

/* Looks a purpose name up for version v; -1 when unknown. */
static int
purpose_from(enum sc_version v, const char *s)
{
	for (int i = 0; i < SC_PURPOSE_COUNT; i++)
		if (strcmp(s, sc_purpose_name(v, (enum sc_purpose)i)) == 0)
			return i;
	return -1;
}

/* ---- JSON field access with messages that say where ---- */

/* Looks key up in obj into *j (borrowed).  Returns 1 when present, 0 when
 * absent and optional, -1 (MissingParam) when absent and required. */
static int
get_field(json_t *obj, const char *where, const char *key, bool required,
    json_t **j, struct sc_verdict *vd)
{
	*j = json_object_get(obj, key);
	if (*j != NULL)
		return 1;
	if (required)
		return verdict(vd, SC_REJECTED, "MissingParam", true,
		    "%s%s is missing", where, key);
	return 0;
}

/* Reads optional integer key of obj into *val within [lo, hi].  Returns 1
 * when present, 0 when absent (required: error), -1 on error. */
static int
get_int(json_t *obj, const char *where, const char *key, bool required,
    long long lo, long long hi, long long *val, struct sc_verdict *vd)
{
	json_t *j;
	int r = get_field(obj, where, key, required, &j, vd);

	if (r <= 0)
		return r;
	if (!json_is_integer(j))
		return verdict(vd, SC_REJECTED, "InvalidValue", true,
		    "%s%s must be an integer", where, key);
	*val = json_integer_value(j);
	if (*val < lo || *val > hi)
		return verdict(vd, SC_REJECTED, "InvalidValue", false,
		    "%s%s is %lld, valid range %lld..%lld", where, key, *val,
		    lo, hi);
	return 1;
}

/* Reads an optional number (integer or real).  Same returns as get_int. */
static int
get_num(json_t *obj, const char *where, const char *key, bool required,
    double *val, struct sc_verdict *vd)
{
	json_t *j;
	int r = get_field(obj, where, key, required, &j, vd);

	if (r <= 0)
		return r;
	if (!json_is_number(j))
		return verdict(vd, SC_REJECTED, "InvalidValue", true,
		    "%s%s must be a number", where, key);
	*val = json_number_value(j);
	if (!isfinite(*val))
		return verdict(vd, SC_REJECTED, "InvalidValue", true,
		    "%s%s must be a finite number", where, key);
	return 1;
}

/* Reads an optional string.  Same returns as get_int. */
static int
get_str(json_t *obj, const char *where, const char *key, bool required,
    const char **val, struct sc_verdict *vd)
{
	json_t *j;
	int r = get_field(obj, where, key, required, &j, vd);

	if (r <= 0)
		return r;
	if (!json_is_string(j))
		return verdict(vd, SC_REJECTED, "InvalidValue", true,
		    "%s%s must be a string", where, key);
	*val = json_string_value(j);
	return 1;
}

/* Parses "YYYY-MM-DDTHH:MM" + zone, without seconds (as in the 1.6
 * §3.13.7 example), by adding ":00".  Returns 0 or -1. */
static int
parse_no_seconds(const char *s, int64_t *ms)
{
	char buf[64];

	if (strlen(s) < 16 || strlen(s) > 40 || s[10] != 'T' || s[13] != ':' ||
	    (s[16] != 'Z' && s[16] != 'z' && s[16] != '+' && s[16] != '-'))
		return -1;
	snprintf(buf, sizeof(buf), "%.16s:00%s", s, s + 16);
	return parse_rfc3339(buf, ms);
}

/* Reads an optional RFC 3339 date-time into epoch ms. */
static int
get_time(json_t *obj, const char *where, const char *key, bool required,
    int64_t *ms, struct sc_verdict *vd)
{
	const char *s;
	int r = get_str(obj, where, key, required, &s, vd);

	if (r <= 0)
		return r;
	if (parse_rfc3339(s, ms) < 0 && parse_no_seconds(s, ms) < 0)
		return verdict(vd, SC_REJECTED, "InvalidValue", true,
		    "%s%s \"%.40s\" is not an RFC 3339 date-time", where, key,
		    s);
	return 1;
}

/* ---- Parsing a profile ---- */

/* Parses chargingSchedule object js into p.  where ends with '.'. */
static int
parse_schedule(enum sc_version v, json_t *js, const char *where,
    struct sc_profile *p, struct sc_verdict *vd)
{
	const char *unit;
	long long n;
	int r;
	json_t *jp;

	if (!json_is_object(js))
		return verdict(vd, SC_REJECTED, "InvalidValue", true,
		    "%s must be an object", where);
	if (v == SC_V201 &&
	    get_int(js, where, "id", true, INT32_MIN, INT32_MAX, &n, vd) < 0)
		return -1;
	if ((r = get_time(js, where, "startSchedule", false, &p->start_ms,
	    vd)) < 0)
		return -1;
	p->has_start = r == 1;
	if ((r = get_int(js, where, "duration", false, 1, INT32_MAX, &n,
	    vd)) < 0)
		return -1;
	if (r == 1) {
		p->has_duration = true;
		p->duration_s = (int32_t)n;
	}
	if (get_str(js, where, "chargingRateUnit", true, &unit, vd) < 0)
		return -1;
	if (strcmp(unit, "W") == 0)
		p->unit = SC_UNIT_W;
	else if (strcmp(unit, "A") == 0)
		p->unit = SC_UNIT_A;
	else
		return verdict(vd, SC_REJECTED, "InvalidValue", true,
		    "%schargingRateUnit \"%.20s\" is not W or A", where, unit);
	if ((r = get_num(js, where, "minChargingRate", false, &p->min_rate,
	    vd)) < 0)
		return -1;
	p->has_min_rate = r == 1;
	if (p->has_min_rate && p->min_rate < 0)
		return verdict(vd, SC_REJECTED, "InvalidSchedule", false,
		    "%sminChargingRate is %g, must be >= 0", where,
		    p->min_rate);

	jp = json_object_get(js, "chargingSchedulePeriod");
	if (jp == NULL)
		return verdict(vd, SC_REJECTED, "MissingParam", true,
		    "%schargingSchedulePeriod is missing", where);
	if (!json_is_array(jp) || json_array_size(jp) == 0)
		return verdict(vd, SC_REJECTED, "InvalidSchedule", true,
		    "%schargingSchedulePeriod must be a non-empty array",
		    where);
	if (json_array_size(jp) > SC_PERIODS_HARD_MAX)
		return verdict(vd, SC_REJECTED, "TooManyElements", false,
		    "%schargingSchedulePeriod has %zu periods, at most %d",
		    where, json_array_size(jp), SC_PERIODS_HARD_MAX);
	p->n_periods = json_array_size(jp);
	p->periods = xcalloc(p->n_periods, sizeof(*p->periods));
	for (size_t i = 0; i < p->n_periods; i++) {
		json_t *e = json_array_get(jp, i);
		char w[128];
		struct sc_period *pe = &p->periods[i];

		snprintf(w, sizeof(w), "%schargingSchedulePeriod[%zu].", where,
		    i);
		if (!json_is_object(e))
			return verdict(vd, SC_REJECTED, "InvalidSchedule",
			    true, "%.120s must be an object", w);
		if (get_int(e, w, "startPeriod", true, 0, INT32_MAX, &n,
		    vd) < 0)
			return -1;
		pe->start_s = (int32_t)n;
		/* K01.FR.31: the first period starts at 0; K01.FR.35: in
		 * increasing order. */
		if (i == 0 && pe->start_s != 0)
			return verdict(vd, SC_REJECTED, "InvalidSchedule",
			    false, "%sstartPeriod is %d, the first period "
			    "must start at 0", w, pe->start_s);
		if (i > 0 && pe->start_s <= p->periods[i - 1].start_s)
			return verdict(vd, SC_REJECTED, "InvalidSchedule",
			    false, "%sstartPeriod is %d, must be greater "
			    "than the previous period's %d", w, pe->start_s,
			    p->periods[i - 1].start_s);
		if (get_num(e, w, "limit", true, &pe->limit, vd) < 0)
			return -1;
		if (pe->limit < 0)
			return verdict(vd, SC_REJECTED, "InvalidSchedule",
			    false, "%slimit is %g, must be >= 0", w,
			    pe->limit);
		if ((r = get_int(e, w, "numberPhases", false, 1, 3, &n,
		    vd)) < 0) {
			if (!vd->malformed)
				vd->reason_code = "InvalidSchedule";
			return -1;
		}
		pe->phases = r == 1 ? (int)n : 0;
		if (v == SC_V201 && json_object_get(e, "phaseToUse") != NULL) {
			/* K01.FR.19 and K01.FR.48: phaseToUse only with one
			 * phase, and these EVSEs do not switch phases. */
			if (pe->phases != 1)
				return verdict(vd, SC_REJECTED,
				    "InvalidSchedule", false, "%sphaseToUse "
				    "is only allowed with numberPhases 1", w);
			return verdict(vd, SC_REJECTED, "UnsupportedParam",
			    false, "%sphaseToUse: the EVSEs cannot switch "
			    "phases", w);
		}
	}
	return 0;
}

/* Checks the rules that need no station: kinds, validity, duration. */
static int
check_static(enum sc_version v, const struct sc_profile *p,
    const char *where, struct sc_verdict *vd)
{
	if (p->tx_id[0] != '\0' && p->purpose != SC_TX)
		return verdict(vd, SC_REJECTED, "InvalidProfile", false,
		    "%stransactionId is only allowed in a TxProfile", where);
	if (p->has_valid_from && p->has_valid_to &&
	    p->valid_to_ms <= p->valid_from_ms)
		return verdict(vd, SC_REJECTED, "InvalidProfile", false,
		    "%svalidTo must be after validFrom", where);
	switch (p->kind) {
	case SC_ABSOLUTE:
	case SC_RECURRING:
		/* K01.FR.40 */
		if (!p->has_start)
			return verdict(vd, SC_REJECTED, "InvalidSchedule",
			    false, "%schargingSchedule.startSchedule is "
			    "required for an %s profile", where,
			    p->kind == SC_ABSOLUTE ? "Absolute" : "Recurring");
		break;
	case SC_RELATIVE:
		/* K01.FR.41 (1.6 ignores a startSchedule there). */
		if (p->has_start && v == SC_V201)
			return verdict(vd, SC_REJECTED, "InvalidSchedule",
			    false, "%schargingSchedule.startSchedule must "
			    "be absent in a Relative profile", where);
		/* K01.FR.38; a station-wide cap has no transaction start
		 * to be relative to in 1.6 either. */
		if (p->purpose == SC_STATION_MAX)
			return verdict(vd, SC_REJECTED, "InvalidProfile",
			    false, "%schargingProfileKind Relative is not "
			    "allowed for %s", where,
			    sc_purpose_name(v, p->purpose));
		break;
	}
	if (p->kind == SC_RECURRING) {
		int64_t cycle_s;

		if (p->recurrency == SC_RECUR_NONE)
			return verdict(vd, SC_REJECTED, "InvalidProfile",
			    false, "%srecurrencyKind (Daily or Weekly) is "
			    "required for a Recurring profile", where);
		cycle_s = p->recurrency == SC_RECUR_DAILY ? 86400 : 604800;
		if (p->has_duration && p->duration_s > cycle_s)
			return verdict(vd, SC_REJECTED, "InvalidSchedule",
			    false, "%schargingSchedule.duration is %d s, "
			    "longer than the %s recurrence (%lld s)", where,
			    p->duration_s, p->recurrency == SC_RECUR_DAILY ?
			    "Daily" : "Weekly", (long long)cycle_s);
		if (p->periods[p->n_periods - 1].start_s >= cycle_s)
			return verdict(vd, SC_REJECTED, "InvalidSchedule",
			    false, "%sa period starts at %d s, past the "
			    "recurrence period (%lld s)", where,
			    p->periods[p->n_periods - 1].start_s,
			    (long long)cycle_s);
	}
	return 0;
}

/* Parses the profile object jp of a request into p. */
static int
parse_profile(enum sc_version v, json_t *jp, struct sc_profile *p,
    struct sc_verdict *vd)
{
	const char *where = v == SC_V16 ? "csChargingProfiles." :
	    "chargingProfile.";
	const char *s;
	long long n;
	int r;
	json_t *js;
	char w[64];

	if (!json_is_object(jp))
		return verdict(vd, SC_REJECTED, "InvalidProfile", true,
		    "%.*s must be an object", (int)strlen(where) - 1, where);
	if (get_int(jp, where, v == SC_V16 ? "chargingProfileId" : "id",
	    true, INT32_MIN, INT32_MAX, &n, vd) < 0)
		return -1;
	p->id = (int)n;
	if (get_int(jp, where, "stackLevel", true, 0, INT32_MAX, &n, vd) < 0) {
		if (!vd->malformed)
			vd->reason_code = "InvalidStackLevel";
		return -1;
	}
	p->stack_level = (int)n;

	if (get_str(jp, where, "chargingProfilePurpose", true, &s, vd) < 0)
		return -1;
	if ((r = purpose_from(v, s)) < 0) {
		/* K01.FR.22: the CSMS never sets ExternalConstraints. */
		if (v == SC_V201 &&
		    strcmp(s, "ChargingStationExternalConstraints") == 0)
			return verdict(vd, SC_REJECTED, "InvalidProfile", false,
			    "%schargingProfilePurpose "
			    "ChargingStationExternalConstraints cannot be set "
			    "by the CSMS", where);
		return verdict(vd, SC_REJECTED, "InvalidValue", true,
		    "%schargingProfilePurpose \"%.40s\" is not one of %s, "
		    "TxDefaultProfile, TxProfile", where, s,
		    sc_purpose_name(v, SC_STATION_MAX));
	}
	p->purpose = (enum sc_purpose)r;

	if (get_str(jp, where, "chargingProfileKind", true, &s, vd) < 0)
		return -1;
	if (strcmp(s, "Absolute") == 0)
		p->kind = SC_ABSOLUTE;
	else if (strcmp(s, "Recurring") == 0)
		p->kind = SC_RECURRING;
	else if (strcmp(s, "Relative") == 0)
		p->kind = SC_RELATIVE;
	else
		return verdict(vd, SC_REJECTED, "InvalidValue", true,
		    "%schargingProfileKind \"%.40s\" is not Absolute, "
		    "Recurring or Relative", where, s);

	if ((r = get_str(jp, where, "recurrencyKind", false, &s, vd)) < 0)
		return -1;
	p->recurrency = SC_RECUR_NONE;
	if (r == 1) {
		if (strcmp(s, "Daily") == 0)
			p->recurrency = SC_RECUR_DAILY;
		else if (strcmp(s, "Weekly") == 0)
			p->recurrency = SC_RECUR_WEEKLY;
		else
			return verdict(vd, SC_REJECTED, "InvalidValue", true,
			    "%srecurrencyKind \"%.40s\" is not Daily or "
			    "Weekly", where, s);
	}
	if ((r = get_time(jp, where, "validFrom", false, &p->valid_from_ms,
	    vd)) < 0)
		return -1;
	p->has_valid_from = r == 1;
	if ((r = get_time(jp, where, "validTo", false, &p->valid_to_ms,
	    vd)) < 0)
		return -1;
	p->has_valid_to = r == 1;

	if (v == SC_V16) {
		if ((r = get_int(jp, where, "transactionId", false, INT32_MIN,
		    INT32_MAX, &n, vd)) < 0)
			return -1;
		if (r == 1)
			snprintf(p->tx_id, sizeof(p->tx_id), "%lld", n);
	} else {
		if ((r = get_str(jp, where, "transactionId", false, &s,
		    vd)) < 0)
			return -1;
		if (r == 1 && (*s == '\0' || !strlcpy_ok(p->tx_id, s, 37)))
			return verdict(vd, SC_REJECTED, "InvalidValue", true,
			    "%stransactionId must be 1..36 characters",
			    where);
	}

	js = json_object_get(jp, "chargingSchedule");
	if (js == NULL)
		return verdict(vd, SC_REJECTED, "MissingParam", true,
		    "%schargingSchedule is missing", where);
	if (v == SC_V201) {
		if (!json_is_array(js) || json_array_size(js) == 0)
			return verdict(vd, SC_REJECTED, "InvalidSchedule", true,
			    "%schargingSchedule must be an array of 1..3 "
			    "schedules", where);
		/* K01.FR.34: one schedule without ISO 15118. */
		if (json_array_size(js) > 1)
			return verdict(vd, SC_REJECTED, "TooManyElements",
			    false, "%schargingSchedule has %zu schedules; "
			    "without ISO 15118 exactly 1 is allowed", where,
			    json_array_size(js));
		js = json_array_get(js, 0);
		snprintf(w, sizeof(w), "%schargingSchedule[0].", where);
	} else {
		snprintf(w, sizeof(w), "%schargingSchedule.", where);
	}
	if (parse_schedule(v, js, w, p, vd) < 0)
		return -1;
	return check_static(v, p, where, vd);
}

/* Parses a request object root into a new profile. */
static int
profile_from_json(enum sc_version v, json_t *root, struct sc_profile **out,
    struct sc_verdict *vd)
{
	struct sc_profile *p;
	long long n;

	*out = NULL;
	if (!json_is_object(root))
		return verdict(vd, SC_REJECTED, "InvalidValue", true,
		    "the payload must be a JSON object");
	p = xcalloc(1, sizeof(*p));
	p->version = v;
	if (get_int(root, "", v == SC_V16 ? "connectorId" : "evseId", true,
	    0, INT32_MAX, &n, vd) < 0) {
		sc_profile_free(p);
		return -1;
	}
	p->connector = (int)n;
	if (json_object_get(root, v == SC_V16 ? "csChargingProfiles" :
	    "chargingProfile") == NULL) {
		sc_profile_free(p);
		return verdict(vd, SC_REJECTED, "MissingParam", true,
		    "%s is missing", v == SC_V16 ? "csChargingProfiles" :
		    "chargingProfile");
	}
	if (parse_profile(v, json_object_get(root, v == SC_V16 ?
	    "csChargingProfiles" : "chargingProfile"), p, vd) < 0) {
		sc_profile_free(p);
		return -1;
	}
	p->json = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (p->json == NULL)
		abort();
	verdict_ok(vd);
	*out = p;
	return 0;
}

/* Parses a SetChargingProfile request into a new profile. */
int
sc_profile_parse(enum sc_version v, const char *payload,
    struct sc_profile **out, struct sc_verdict *vd)
{
	json_error_t err;
	json_t *root = json_loads(payload, 0, &err);
	int r;

	*out = NULL;
	if (root == NULL)
		return verdict(vd, SC_REJECTED, "InvalidValue", true,
		    "the payload is not JSON: %s at column %d", err.text,
		    err.column);
	r = profile_from_json(v, root, out, vd);
	json_decref(root);
	return r;
}

/* Parses a profile attached to a remote start. */
int
sc_profile_remote_start(enum sc_version v, int connector,
    const char *profile_json, struct sc_profile **out,
    struct sc_verdict *vd)
{
	json_error_t err;
	json_t *obj = json_loads(profile_json, 0, &err), *root;
	int r;

	*out = NULL;
	if (obj == NULL)
		return verdict(vd, SC_REJECTED, "InvalidValue", true,
		    "chargingProfile is not JSON: %s at column %d", err.text,
		    err.column);
	root = json_pack("{s:i, s:o}", v == SC_V16 ? "connectorId" : "evseId",
	    connector, v == SC_V16 ? "csChargingProfiles" : "chargingProfile",
	    obj);
	r = profile_from_json(v, root, out, vd);
	json_decref(root);
	if (r < 0)
		return -1;
	if ((*out)->purpose != SC_TX || (*out)->tx_id[0] != '\0') {
		bool purpose_wrong = (*out)->purpose != SC_TX;

		sc_profile_free(*out);
		*out = NULL;
		return verdict(vd, SC_REJECTED, "InvalidProfile", false,
		    purpose_wrong ? "the chargingProfile of a remote start "
		    "must be a TxProfile" : "the chargingProfile of a remote "
		    "start must not have a transactionId");
	}
	return 0;
}

/* Frees a profile. */
void
sc_profile_free(struct sc_profile *p)
{
	if (p == NULL)
		return;
	free(p->periods);
	free(p->json);
	free(p);
}

/* ---- The set ---- */

/* Empties a caller-owned set. */
void
sc_set_init(struct sc_set *set)
{
	memset(set, 0, sizeof(*set));
}

/* Frees every profile and the array. */
void
sc_set_free(struct sc_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		sc_profile_free(set->v[i]);
	free(set->v);
	sc_set_init(set);
}

/* Finds a profile by id.  Borrowed. */
const struct sc_profile *
sc_set_find(const struct sc_set *set, int id)
{
	for (size_t i = 0; i < set->n; i++)
		if (set->v[i]->id == id)
			return set->v[i];
	return NULL;
}

/* True when the validity windows [from, to) of a and b overlap. */
static bool
validity_overlaps(const struct sc_profile *a, const struct sc_profile *b)
{
	int64_t af = a->has_valid_from ? a->valid_from_ms : INT64_MIN;
	int64_t at = a->has_valid_to ? a->valid_to_ms : INT64_MAX;
	int64_t bf = b->has_valid_from ? b->valid_from_ms : INT64_MIN;
	int64_t bt = b->has_valid_to ? b->valid_to_ms : INT64_MAX;

	return af < bt && bf < at;
}

/* True when installing p removes q: K01.FR.05 and 1.6 §5.16 the same
 * id; 1.6 §3.13.2 also the same stackLevel and purpose, on the same
 * connector (§3.13.1) and, for a TxProfile, the same transaction. */
static bool
replaces(const struct sc_profile *p, const struct sc_profile *q)
{
	return q->id == p->id ||
	    (p->version == SC_V16 && q->purpose == p->purpose &&
	    q->stack_level == p->stack_level && q->connector == p->connector &&
	    (p->purpose != SC_TX || strcmp(q->tx_id, p->tx_id) == 0));
}

/* Checks p against the station and the installed set. */
int
sc_set_check(const struct sc_set *set, const struct sc_profile *p,
    const struct sc_context *ctx, struct sc_verdict *vd)
{
	enum sc_version v = p->version;
	const char *cname = v == SC_V16 ? "connectorId" : "evseId";
	const char *pname = sc_purpose_name(v, p->purpose);

	/* K01.FR.28 */
	if (p->connector > ctx->n_connectors)
		return verdict(vd, SC_REJECTED, "UnknownEvse", false,
		    "%s %d does not exist (valid 0..%d)", cname, p->connector,
		    ctx->n_connectors);
	if (p->purpose == SC_STATION_MAX && p->connector != 0)
		return verdict(vd, SC_REJECTED, "InvalidProfile", false,
		    "%s is only allowed on %s 0, not %d", pname, cname,
		    p->connector);
	if (p->purpose == SC_TX) {
		const struct sc_connector *c;

		/* K01.FR.16 */
		if (p->connector == 0)
			return verdict(vd, SC_REJECTED, "InvalidProfile",
			    false, "TxProfile needs %s > 0", cname);
		c = &ctx->connectors[p->connector - 1];
		/* K01.FR.09; 1.6 §3.13.4 */
		if (!c->tx_active)
			return verdict(vd, SC_REJECTED, "TxNotFound", false,
			    "TxProfile on %s %d: no transaction is running "
			    "there", cname, p->connector);
		/* K01.FR.03 */
		if (v == SC_V201 && p->tx_id[0] == '\0')
			return verdict(vd, SC_REJECTED, "MissingParam", false,
			    "TxProfile without transactionId (the running "
			    "one on %s %d is %.36s)", cname, p->connector,
			    c->tx_id);
		/* K01.FR.33 */
		if (p->tx_id[0] != '\0' && strcmp(p->tx_id, c->tx_id) != 0)
			return verdict(vd, SC_REJECTED, "TxNotFound", false,
			    "transactionId %.36s is not the transaction "
			    "running on %s %d (%.36s)", p->tx_id, cname,
			    p->connector, c->tx_id);
	}
	/* K01.FR.26; 1.6 ChargingScheduleAllowedChargingRateUnit. */
	if ((ctx->units & (1u << p->unit)) == 0)
		return verdict(vd, v == SC_V16 ? SC_NOT_SUPPORTED :
		    SC_REJECTED, "UnsupportedRateUnit", false,
		    "chargingRateUnit %s is not supported (supported: %s)",
		    p->unit == SC_UNIT_W ? "W" : "A",
		    ctx->units == (SC_UNITS_W | SC_UNITS_A) ? "W, A" :
		    (ctx->units & SC_UNITS_W) ? "W" : "A");
	if (p->stack_level > ctx->max_stack_level)
		return verdict(vd, SC_REJECTED, "InvalidStackLevel", false,
		    "stackLevel %d is above ChargeProfileMaxStackLevel "
		    "(valid 0..%d)", p->stack_level, ctx->max_stack_level);
	if ((int64_t)p->n_periods > ctx->max_periods)
		return verdict(vd, SC_REJECTED, "TooManyElements", false,
		    "%zu schedule periods, ChargingScheduleMaxPeriods is %d",
		    p->n_periods, ctx->max_periods);
	if (p->has_valid_to && p->valid_to_ms <= ctx->now_ms)
		return verdict(vd, SC_REJECTED, "InvalidProfile", false,
		    "validTo is not in the future: the profile would never "
		    "apply");
	if (ctx->max_profiles > 0) {
		size_t kept = 0;

		for (size_t i = 0; i < set->n; i++)
			if (!replaces(p, set->v[i]))
				kept++;
		if (kept + 1 > (size_t)ctx->max_profiles)
			return verdict(vd, SC_REJECTED, "OutOfStorage", false,
			    "%zu profiles are installed, "
			    "MaxChargingProfilesInstalled is %d", kept,
			    ctx->max_profiles);
	}
	if (v == SC_V16)
		return 0;
	for (size_t i = 0; i < set->n; i++) {
		const struct sc_profile *q = set->v[i];

		if (q->id == p->id || q->purpose != p->purpose ||
		    q->stack_level != p->stack_level)
			continue;
		/* K01.FR.52 and K01.FR.53 */
		if (p->purpose == SC_TX_DEFAULT &&
		    (q->connector == 0) != (p->connector == 0))
			return verdict(vd, SC_REJECTED, "DuplicateProfile",
			    false, "TxDefaultProfile %d on evseId %d has the "
			    "same stackLevel %d as this one on evseId %d",
			    q->id, q->connector, q->stack_level, p->connector);
		/* K01.FR.06 and K01.FR.39 */
		if (q->connector == p->connector &&
		    (p->purpose != SC_TX || strcmp(q->tx_id, p->tx_id) == 0) &&
		    validity_overlaps(p, q))
			return verdict(vd, SC_REJECTED, "DuplicateProfile",
			    false, "profile %d already has %s stackLevel %d "
			    "on evseId %d with an overlapping validity", q->id,
			    pname, q->stack_level, q->connector);
	}
	return 0;
}

/* Binds an unbound TxProfile to the running transaction. */
void
sc_profile_bind(struct sc_profile *p, const struct sc_context *ctx)
{
	const struct sc_connector *c;

	if (p->purpose != SC_TX || p->tx_id[0] != '\0' || p->connector < 1 ||
	    p->connector > ctx->n_connectors)
		return;
	c = &ctx->connectors[p->connector - 1];
	if (c->tx_active)
		strlcpy_ok(p->tx_id, c->tx_id, sizeof(p->tx_id));
}

/* Removes entry i, keeping the order. */
static void
set_remove(struct sc_set *set, size_t i)
{
	sc_profile_free(set->v[i]);
	memmove(&set->v[i], &set->v[i + 1],
	    (set->n - i - 1) * sizeof(set->v[0]));
	set->n--;
}

/* Installs p with the replacement rules; reports replaced ids. */
size_t
sc_set_install(struct sc_set *set, struct sc_profile *p, int *replaced,
    size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < set->n;) {
		const struct sc_profile *q = set->v[i];

		if (!replaces(p, q)) {
			i++;
			continue;
		}
		if (n < cap)
			replaced[n] = q->id;
		n++;
		set_remove(set, i);
	}
	if (set->n == set->cap) {
		set->cap = set->cap ? set->cap * 2 : 8;
		set->v = xrealloc(set->v, set->cap * sizeof(set->v[0]));
	}
	set->v[set->n++] = p;
	return n;
}

/* The response payload for a verdict. */
char *
sc_verdict_json(enum sc_version v, const struct sc_verdict *vd)
{
	static const char *const names[] = {
		[SC_ACCEPTED] = "Accepted", [SC_REJECTED] = "Rejected",
		[SC_NOT_SUPPORTED] = "NotSupported",
	};
	json_t *o = json_object();
	char *s;

	if (v == SC_V201) {
		json_object_set_new(o, "status", json_string(
		    vd->status == SC_ACCEPTED ? "Accepted" : "Rejected"));
		if (vd->status != SC_ACCEPTED)
			json_object_set_new(o, "statusInfo", json_pack(
			    "{s:s, s:s}", "reasonCode", vd->reason_code ?
			    vd->reason_code : "Unspecified", "additionalInfo",
			    vd->reason));
	} else {
		json_object_set_new(o, "status",
		    json_string(names[vd->status]));
	}
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER |
	    JSON_REAL_PRECISION(12));
	json_decref(o);
	if (s == NULL)
		abort();
	return s;
}

/* Parse + check + install for SetChargingProfile. */
char *
sc_set_request(struct sc_set *set, enum sc_version v, const char *payload,
    const struct sc_context *ctx, struct sc_verdict *vd, int *installed_id)
{
	struct sc_profile *p;

	*installed_id = -1;
	if (sc_profile_parse(v, payload, &p, vd) == 0) {
		if (sc_set_check(set, p, ctx, vd) < 0) {
			sc_profile_free(p);
		} else {
			*installed_id = p->id;
			sc_profile_bind(p, ctx);
			sc_set_install(set, p, NULL, 0);
			verdict_ok(vd);
		}
	}
	return sc_verdict_json(v, vd);
}

/* Installs a profile from its stored text. */
int
sc_set_load(struct sc_set *set, const char *text, char **cause)
{
	return sc_set_load_bound(set, text, NULL, cause);
}

/* Installs a profile from its stored text and transaction binding. */
int
sc_set_load_bound(struct sc_set *set, const char *text, const char *tx_id,
    char **cause)
{
	json_error_t err;
	json_t *root = json_loads(text, 0, &err);
	struct sc_profile *p;
	struct sc_verdict vd;
	enum sc_version v;

	if (root == NULL) {
		if (cause != NULL)
			xasprintf(cause, "stored profile is not JSON: %s",
			    err.text);
		return -1;
	}
	v = json_object_get(root, "csChargingProfiles") != NULL ? SC_V16 :
	    SC_V201;
	if (profile_from_json(v, root, &p, &vd) < 0) {
		json_decref(root);
		if (cause != NULL)
			xasprintf(cause, "stored profile: %s", vd.reason);
		return -1;
	}
	json_decref(root);
	if (p->purpose == SC_TX && p->tx_id[0] == '\0' && tx_id != NULL)
		strlcpy_ok(p->tx_id, tx_id, sizeof(p->tx_id));
	sc_set_install(set, p, NULL, 0);
	return 0;
}

/* ---- Clear, transaction end, list ---- */

/* Parses a ClearChargingProfile request into a filter. */
int
sc_clear_parse(enum sc_version v, const char *payload, struct sc_filter *f,
    struct sc_verdict *vd)
{
	json_error_t err;
	json_t *root = json_loads(payload, 0, &err), *crit;
	const char *s;
	long long n;
	int r;

	memset(f, 0, sizeof(*f));
	if (root == NULL || !json_is_object(root)) {
		json_decref(root);
		return verdict(vd, SC_REJECTED, "InvalidValue", true,
		    "the payload must be a JSON object");
	}
	r = get_int(root, "", v == SC_V16 ? "id" : "chargingProfileId", false,
	    INT32_MIN, INT32_MAX, &n, vd);
	if (r < 0)
		goto fail;
	f->has_id = r == 1;
	f->id = (int)n;
	crit = root;
	if (v == SC_V201) {
		crit = json_object_get(root, "chargingProfileCriteria");
		if (crit != NULL && !json_is_object(crit)) {
			verdict(vd, SC_REJECTED, "InvalidValue", true,
			    "chargingProfileCriteria must be an object");
			goto fail;
		}
	}
	if (crit != NULL) {
		const char *w = v == SC_V16 ? "" : "chargingProfileCriteria.";

		r = get_int(crit, w, v == SC_V16 ? "connectorId" : "evseId",
		    false, 0, INT32_MAX, &n, vd);
		if (r < 0)
			goto fail;
		f->has_connector = r == 1;
		f->connector = (int)n;
		r = get_int(crit, w, "stackLevel", false, 0, INT32_MAX, &n, vd);
		if (r < 0)
			goto fail;
		f->has_stack_level = r == 1;
		f->stack_level = (int)n;
		r = get_str(crit, w, "chargingProfilePurpose", false, &s, vd);
		if (r < 0)
			goto fail;
		if (r == 1) {
			int pu = purpose_from(v, s);

			if (pu < 0) {
				verdict(vd, SC_REJECTED, "InvalidValue", true,
				    "%schargingProfilePurpose \"%.40s\" is "
				    "not a purpose that can be cleared", w, s);
				goto fail;
			}
			f->has_purpose = true;
			f->purpose = (enum sc_purpose)pu;
		}
	}
	json_decref(root);
	verdict_ok(vd);
	return 0;
fail:
	json_decref(root);
	return -1;
}

/* True when p matches the clear filter. */
static bool
clear_match(const struct sc_profile *p, const struct sc_filter *f)
{
	if (f->has_id)
		return p->id == f->id;
	return (!f->has_connector || p->connector == f->connector) &&
	    (!f->has_purpose || p->purpose == f->purpose) &&
	    (!f->has_stack_level || p->stack_level == f->stack_level);
}

/* Removes the profiles the filter names. */
size_t
sc_set_clear(struct sc_set *set, const struct sc_filter *f, int *removed,
    size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < set->n;) {
		if (!clear_match(set->v[i], f)) {
			i++;
			continue;
		}
		if (n < cap)
			removed[n] = set->v[i]->id;
		n++;
		set_remove(set, i);
	}
	return n;
}

/* Serialises a {"status": s} object.  Caller frees. */
static char *
status_json(const char *status)
{
	json_t *o = json_pack("{s:s}", "status", status);
	char *s = json_dumps(o, JSON_COMPACT);

	json_decref(o);
	if (s == NULL)
		abort();
	return s;
}

/* ClearChargingProfile response. */
char *
sc_clear_response(enum sc_version v, size_t n_removed)
{
	(void)v;
	return status_json(n_removed > 0 ? "Accepted" : "Unknown");
}

/* Drops the TxProfiles of an ended transaction. */
size_t
sc_set_tx_ended(struct sc_set *set, int connector, const char *tx_id,
    int *removed, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < set->n;) {
		const struct sc_profile *p = set->v[i];

		if (p->purpose != SC_TX || p->connector != connector ||
		    (p->tx_id[0] != '\0' && tx_id != NULL &&
		    strcmp(p->tx_id, tx_id) != 0)) {
			i++;
			continue;
		}
		if (n < cap)
			removed[n] = p->id;
		n++;
		set_remove(set, i);
	}
	return n;
}

/* Parses a 2.0.1 GetChargingProfiles request. */
int
sc_get_parse(const char *payload, struct sc_filter *f,
    struct sc_verdict *vd)
{
	json_error_t err;
	json_t *root = json_loads(payload, 0, &err), *crit, *a;
	const char *s;
	long long n;
	int r;
	const char *w = "chargingProfile.";

	memset(f, 0, sizeof(*f));
	if (root == NULL || !json_is_object(root)) {
		json_decref(root);
		return verdict(vd, SC_REJECTED, "InvalidValue", true,
		    "the payload must be a JSON object");
	}
	if (get_int(root, "", "requestId", true, INT32_MIN, INT32_MAX, &n,
	    vd) < 0)
		goto fail;
	f->request_id = (int)n;
	if ((r = get_int(root, "", "evseId", false, 0, INT32_MAX, &n,
	    vd)) < 0)
		goto fail;
	f->has_connector = r == 1;
	f->connector = (int)n;
	crit = json_object_get(root, "chargingProfile");
	if (!json_is_object(crit)) {
		verdict(vd, SC_REJECTED, "MissingParam", true,
		    "chargingProfile (the criteria) is missing");
		goto fail;
	}
	if ((r = get_int(crit, w, "stackLevel", false, 0, INT32_MAX, &n,
	    vd)) < 0)
		goto fail;
	f->has_stack_level = r == 1;
	f->stack_level = (int)n;
	if ((r = get_str(crit, w, "chargingProfilePurpose", false, &s,
	    vd)) < 0)
		goto fail;
	if (r == 1) {
		int pu = purpose_from(SC_V201, s);

		f->has_purpose = true;
		/* Purposes never installed here (external constraints)
		 * match nothing. */
		if (pu < 0)
			f->other_source = true;
		else
			f->purpose = (enum sc_purpose)pu;
	}
	a = json_object_get(crit, "chargingProfileId");
	if (a != NULL) {
		if (!json_is_array(a) || json_array_size(a) == 0 ||
		    json_array_size(a) > ARRAY_SIZE(f->ids)) {
			verdict(vd, SC_REJECTED, "InvalidValue", true,
			    "%schargingProfileId must be an array of 1..%zu "
			    "ids", w, ARRAY_SIZE(f->ids));
			goto fail;
		}
		for (size_t i = 0; i < json_array_size(a); i++) {
			json_t *e = json_array_get(a, i);

			if (!json_is_integer(e)) {
				verdict(vd, SC_REJECTED, "InvalidValue", true,
				    "%schargingProfileId[%zu] must be an "
				    "integer", w, i);
				goto fail;
			}
			f->ids[f->n_ids++] = (int)json_integer_value(e);
		}
	}
	a = json_object_get(crit, "chargingLimitSource");
	if (a != NULL) {
		bool cso = false;

		if (!json_is_array(a)) {
			verdict(vd, SC_REJECTED, "InvalidValue", true,
			    "%schargingLimitSource must be an array", w);
			goto fail;
		}
		for (size_t i = 0; i < json_array_size(a); i++) {
			json_t *e = json_array_get(a, i);

			if (json_is_string(e) &&
			    strcmp(json_string_value(e), "CSO") == 0)
				cso = true;
		}
		if (!cso)
			f->other_source = true;
	}
	json_decref(root);
	verdict_ok(vd);
	return 0;
fail:
	json_decref(root);
	return -1;
}

/* True when p matches a GetChargingProfiles filter. */
static bool
get_match(const struct sc_profile *p, const struct sc_filter *f)
{
	bool id_ok = f->n_ids == 0;

	for (size_t i = 0; i < f->n_ids; i++)
		if (f->ids[i] == p->id)
			id_ok = true;
	return !f->other_source && id_ok &&
	    (!f->has_connector || p->connector == f->connector) &&
	    (!f->has_purpose || p->purpose == f->purpose) &&
	    (!f->has_stack_level || p->stack_level == f->stack_level);
}

/* qsort order: connector, then id. */
static int
cmp_conn_id(const void *a, const void *b)
{
	const struct sc_profile *x = *(const struct sc_profile *const *)a;
	const struct sc_profile *y = *(const struct sc_profile *const *)b;

	if (x->connector != y->connector)
		return x->connector < y->connector ? -1 : 1;
	return (x->id > y->id) - (x->id < y->id);
}

/* The profiles a GetChargingProfiles filter matches. */
size_t
sc_set_list(const struct sc_set *set, const struct sc_filter *f,
    const struct sc_profile **out, size_t cap)
{
	size_t n = 0;
	const struct sc_profile **all = xcalloc(set->n + 1, sizeof(*all));

	for (size_t i = 0; i < set->n; i++)
		if (get_match(set->v[i], f))
			all[n++] = set->v[i];
	qsort(all, n, sizeof(*all), cmp_conn_id);
	for (size_t i = 0; i < n && i < cap; i++)
		out[i] = all[i];
	free(all);
	return n;
}

/* The stored request's profile object.  New reference. */
static json_t *
profile_object(const struct sc_profile *p)
{
	json_t *root = json_loads(p->json, 0, NULL), *o;

	if (root == NULL)
		abort();	/* p->json was produced by jansson */
	o = json_object_get(root, p->version == SC_V16 ?
	    "csChargingProfiles" : "chargingProfile");
	json_incref(o);
	json_decref(root);
	return o;
}

/* GetChargingProfiles response and the ReportChargingProfiles payloads. */
char *
sc_get_answer(const struct sc_set *set, const struct sc_filter *f,
    char ***reports, size_t *n_reports)
{
	size_t n = sc_set_list(set, f, NULL, 0), groups = 0;
	const struct sc_profile **list = xcalloc(n + 1, sizeof(*list));

	*reports = NULL;
	*n_reports = 0;
	sc_set_list(set, f, list, n);
	for (size_t i = 0; i < n; i++)
		if (i == 0 || list[i]->connector != list[i - 1]->connector)
			groups++;
	if (groups > 0)
		*reports = xcalloc(groups, sizeof(**reports));
	for (size_t i = 0; i < n;) {
		json_t *arr = json_array(), *msg;
		int conn = list[i]->connector;
		char *s;

		for (; i < n && list[i]->connector == conn; i++)
			json_array_append_new(arr, profile_object(list[i]));
		msg = json_pack("{s:i, s:s, s:b, s:i, s:o}", "requestId",
		    f->request_id, "chargingLimitSource", "CSO", "tbc",
		    *n_reports + 1 < groups, "evseId", conn, "chargingProfile",
		    arr);
		s = json_dumps(msg, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(msg);
		if (s == NULL)
			abort();
		(*reports)[(*n_reports)++] = s;
	}
	free(list);
	return status_json(n > 0 ? "Accepted" : "NoProfiles");
}

/* ---- Evaluation ---- */

/* Where a profile stands at time t. */
struct pstate {
	bool active;
	const struct sc_period *period;
	int64_t next_ms;	/* next instant its state may change */
};

/* Evaluates one profile at t.  anchor_ms is where a Relative schedule
 * starts; anchor_moves says it is "now" (no transaction), so that its
 * period boundaries are not real changes. */
static void
profile_at(const struct sc_profile *p, int64_t t, int64_t anchor_ms,
    bool anchor_moves, struct pstate *st)
{
	int64_t vt = p->has_valid_to ? p->valid_to_ms : SC_NEVER;
	int64_t base, elapsed, cycle = 0, dur, next;
	size_t i;

	st->active = false;
	st->period = NULL;
	st->next_ms = SC_NEVER;
	/* K01.FR.36, K01.FR.37 */
	if (p->has_valid_from && t < p->valid_from_ms) {
		st->next_ms = p->valid_from_ms;
		return;
	}
	if (t >= vt)
		return;
	base = p->kind == SC_RELATIVE ? anchor_ms : p->start_ms;
	/* K01.FR.30: nothing before startSchedule. */
	if (t < base) {
		st->next_ms = base < vt ? base : vt;
		return;
	}
	elapsed = t - base;
	if (p->kind == SC_RECURRING) {
		cycle = p->recurrency == SC_RECUR_WEEKLY ? WEEK_MS : DAY_MS;
		elapsed %= cycle;
		base = t - elapsed;
	}
	dur = p->has_duration ? (int64_t)p->duration_s * 1000 :
	    cycle ? cycle : SC_NEVER;
	/* K01.FR.13, K02.FR.08: past the duration, lower levels apply. */
	if (elapsed >= dur) {
		next = cycle ? base + cycle : SC_NEVER;
		st->next_ms = next < vt ? next : vt;
		return;
	}
	for (i = 0; i + 1 < p->n_periods &&
	    (int64_t)p->periods[i + 1].start_s * 1000 <= elapsed; i++)
		;
	st->active = true;
	st->period = &p->periods[i];
	/* K01.FR.11, K01.FR.12 */
	if (i + 1 < p->n_periods &&
	    (int64_t)p->periods[i + 1].start_s * 1000 < dur)
		next = base + (int64_t)p->periods[i + 1].start_s * 1000;
	else
		next = dur == SC_NEVER ? SC_NEVER : base + dur;
	if (p->kind == SC_RELATIVE && anchor_moves)
		next = SC_NEVER;
	st->next_ms = next < vt ? next : vt;
}

/* A candidate with its precedence. */
struct cand {
	const struct sc_profile *p;
	int group;		/* lower wins: TxProfile, TxDefault on k, on 0 */
};

/* qsort order: group ascending, then stack level descending. */
static int
cmp_cand(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->group != y->group)
		return x->group < y->group ? -1 : 1;
	return (y->p->stack_level > x->p->stack_level) -
	    (y->p->stack_level < x->p->stack_level);
}

/* The winning candidate at t: the first active one in precedence
 * order.  *next is the earliest change among it and those before it. */
static const struct cand *
select_winner(struct cand *c, size_t n, int64_t t, int64_t anchor_ms,
    bool anchor_moves, struct pstate *win, int64_t *next)
{
	qsort(c, n, sizeof(*c), cmp_cand);
	for (size_t i = 0; i < n; i++) {
		struct pstate st;

		profile_at(c[i].p, t, anchor_ms, anchor_moves, &st);
		if (st.next_ms < *next)
			*next = st.next_ms;
		if (st.active) {
			*win = st;
			return &c[i];
		}
	}
	return NULL;
}

/* The phases a period stands for on connector k. */
static int
period_phases(const struct sc_context *ctx, int k, const struct sc_period *pe)
{
	if (pe->phases > 0)
		return pe->phases;
	if (k > 0 && ctx->connectors[k - 1].phases > 0)
		return ctx->connectors[k - 1].phases;
	return 3;		/* K01.FR.49 */
}

/* The physical maximum of connector k's scope (0 = the site), W. */
static double
scope_max_w(const struct sc_context *ctx, int k)
{
	double site = ctx->site_max_w > 0 && ctx->site_max_w < SC_POWER_MAX_W ?
	    ctx->site_max_w : SC_POWER_MAX_W;
	double conn = k > 0 ? ctx->connectors[k - 1].max_w : 0;

	return conn > 0 && conn < site ? conn : site;
}

/* A value in unit as W with the given phases, clamped to the physical
 * maximum of connector k's scope: a profile may say 1e308 A, what
 * reaches the balancer is never more than the site could draw. */
static double
to_w(const struct sc_context *ctx, int k, enum sc_unit u, double v,
    int phases)
{
	double w = u == SC_UNIT_W ? v : v * ctx->voltage_v * phases;
	double max = scope_max_w(ctx, k);

	if (!(w >= 0))		/* NaN cannot come from a parsed profile */
		return 0;
	return w < max ? w : max;
}

/* Evaluates connector k at t; anchor as in profile_at for connectors
 * without a transaction. */
static void
evaluate(const struct sc_set *set, const struct sc_context *ctx, int k,
    int64_t t, int64_t anchor_ms, bool anchor_moves, struct sc_limit *out)
{
	struct cand *c = xcalloc(set->n + 1, sizeof(*c));
	size_t n = 0;
	const struct cand *w;
	struct pstate st;
	const struct sc_connector *conn = k > 0 ? &ctx->connectors[k - 1] :
	    NULL;
	int64_t tx_anchor = anchor_ms;
	bool tx_moves = anchor_moves;
	int station_ph = 3, tx_ph = 3;

	memset(out, 0, sizeof(*out));
	out->profile_id = out->station_id = out->tx_id = -1;
	out->next_change_ms = SC_NEVER;

	/* The station-wide cap. */
	for (size_t i = 0; i < set->n; i++)
		if (set->v[i]->purpose == SC_STATION_MAX &&
		    set->v[i]->connector == 0 &&
		    !(ctx->ignore_purposes & (1u << SC_STATION_MAX)))
			c[n++] = (struct cand){ set->v[i], 0 };
	w = select_winner(c, n, t, anchor_ms, anchor_moves, &st,
	    &out->next_change_ms);
	if (w != NULL) {
		station_ph = period_phases(ctx, 0, st.period);
		out->has_station = true;
		out->station_w = to_w(ctx, 0, w->p->unit, st.period->limit,
		    station_ph);
		out->station_id = w->p->id;
	}

	if (k > 0) {
		/* K02.FR.04: TxProfile over TxDefaultProfile; a TxDefault on
		 * the connector over the one on 0 (1.6 §3.13.2). */
		n = 0;
		for (size_t i = 0; i < set->n; i++) {
			const struct sc_profile *p = set->v[i];

			if (ctx->ignore_purposes & (1u << p->purpose))
				continue;
			if (p->purpose == SC_TX && p->connector == k &&
			    conn->tx_active && (p->tx_id[0] == '\0' ||
			    strcmp(p->tx_id, conn->tx_id) == 0))
				c[n++] = (struct cand){ p, 0 };
			else if (p->purpose == SC_TX_DEFAULT &&
			    p->connector == k)
				c[n++] = (struct cand){ p, 1 };
			else if (p->purpose == SC_TX_DEFAULT &&
			    p->connector == 0)
				c[n++] = (struct cand){ p, 2 };
		}
		if (conn->tx_active) {
			tx_anchor = conn->tx_start_ms;
			tx_moves = false;
		}
		w = select_winner(c, n, t, tx_anchor, tx_moves, &st,
		    &out->next_change_ms);
		if (w != NULL) {
			tx_ph = period_phases(ctx, k, st.period);
			out->has_tx = true;
			out->tx_w = to_w(ctx, k, w->p->unit, st.period->limit,
			    tx_ph);
			out->tx_id = w->p->id;
			out->tx_purpose = w->p->purpose;
			if (w->p->has_min_rate)
				out->min_rate_w = to_w(ctx, k, w->p->unit,
				    w->p->min_rate, tx_ph);
		}
	}
	free(c);

	/* SC.01, K08.FR.04: the lowest of what applies. */
	if (out->has_tx && (!out->has_station || out->tx_w <= out->station_w)) {
		out->limited = true;
		out->limit_w = out->tx_w;
		out->phases = tx_ph;
		out->purpose = out->tx_purpose;
		out->profile_id = out->tx_id;
	} else if (out->has_station) {
		out->limited = true;
		out->limit_w = out->station_w;
		out->phases = station_ph;
		out->purpose = SC_STATION_MAX;
		out->profile_id = out->station_id;
	} else {
		out->phases = k > 0 && conn->phases > 0 ? conn->phases : 3;
	}
	if (out->limited)
		out->limit_a = out->limit_w / (ctx->voltage_v * out->phases);
}

/* Evaluates connector k at now_ms. */
int
sc_evaluate(const struct sc_set *set, const struct sc_context *ctx,
    int connector, int64_t now_ms, struct sc_limit *out)
{
	if (connector < 0 || connector > ctx->n_connectors)
		return -1;
	evaluate(set, ctx, connector, now_ms, now_ms, true, out);
	return 0;
}

/* The earliest change over every connector. */
int64_t
sc_next_change(const struct sc_set *set, const struct sc_context *ctx,
    int64_t now_ms)
{
	int64_t next = SC_NEVER;

	for (int k = 0; k <= ctx->n_connectors; k++) {
		struct sc_limit l;

		evaluate(set, ctx, k, now_ms, now_ms, true, &l);
		if (l.next_change_ms < next)
			next = l.next_change_ms;
	}
	return next;
}

/* ---- Composite schedules ---- */

/* Rounds to 0.1 (the 1.6 schema's multipleOf for limits). */
static double
round_tenth(double v)
{
	return round(v * 10.0) / 10.0;
}

/* Computes the composite schedule of connector k. */
int
sc_composite(const struct sc_set *set, const struct sc_context *ctx,
    int connector, int64_t start_ms, int32_t duration_s, enum sc_unit unit,
    const struct sc_composite_opts *opts, struct sc_composite *out,
    struct sc_verdict *vd)
{
	const char *cname = "connector";
	int64_t s = start_ms, end;
	size_t cap = 8;
	int steps = 0;

	memset(out, 0, sizeof(*out));
	/* K08.FR.05 */
	if (connector < 0 || connector > ctx->n_connectors)
		return verdict(vd, SC_REJECTED, "UnknownEvse", false,
		    "%s %d does not exist (valid 0..%d)", cname, connector,
		    ctx->n_connectors);
	/* K08.FR.07 */
	if ((ctx->units & (1u << unit)) == 0)
		return verdict(vd, SC_REJECTED, "UnsupportedRateUnit", false,
		    "chargingRateUnit %s is not supported",
		    unit == SC_UNIT_W ? "W" : "A");
	if (duration_s <= 0 || duration_s > COMPOSITE_MAX_S)
		return verdict(vd, SC_REJECTED, "InvalidValue", false,
		    "duration is %d s, valid 1..%d", duration_s,
		    COMPOSITE_MAX_S);
	out->connector = connector;
	out->start_ms = start_ms;
	out->duration_s = duration_s;
	out->unit = unit;
	out->periods = xcalloc(cap, sizeof(*out->periods));
	end = start_ms + (int64_t)duration_s * 1000;
	while (s < end && steps++ < COMPOSITE_MAX_STEPS) {
		struct sc_limit lim;
		double w, value;
		struct sc_composite_period *last;
		int32_t at;

		/* K08.FR.06: as if a transaction started at start_ms. */
		evaluate(set, ctx, connector, s, start_ms, false, &lim);
		w = lim.limited ? lim.limit_w : opts->max_w;
		if (opts->applied_w != NULL)
			w = opts->applied_w(opts->ud, connector, s, w);
		if (opts->local_cap_w >= 0 && opts->local_cap_w < w)
			w = opts->local_cap_w;
		if (w < 0)
			w = 0;
		value = round_tenth(unit == SC_UNIT_W ? w :
		    w / (ctx->voltage_v * lim.phases));
		at = (int32_t)((s - start_ms) / 1000);
		last = out->n_periods ? &out->periods[out->n_periods - 1] :
		    NULL;
		if (last != NULL && last->start_s == at) {
			last->limit = value;
			last->phases = lim.phases;
		} else if (last == NULL || last->limit != value ||
		    last->phases != lim.phases) {
			if (out->n_periods == cap) {
				cap *= 2;
				out->periods = xrealloc(out->periods,
				    cap * sizeof(*out->periods));
			}
			out->periods[out->n_periods++] =
			    (struct sc_composite_period){ at, value,
			    lim.phases };
		}
		/* Merge a period equal to the one before it (after an
		 * overwrite above). */
		if (out->n_periods >= 2) {
			struct sc_composite_period *a =
			    &out->periods[out->n_periods - 2];
			struct sc_composite_period *b =
			    &out->periods[out->n_periods - 1];

			if (a->limit == b->limit && a->phases == b->phases)
				out->n_periods--;
		}
		s = lim.next_change_ms > s ? lim.next_change_ms : s + 1000;
	}
	verdict_ok(vd);
	return 0;
}

/* Frees the periods. */
void
sc_composite_free(struct sc_composite *c)
{
	free(c->periods);
	c->periods = NULL;
	c->n_periods = 0;
}

/* A JSON number: an integer when whole. */
static json_t *
number(double v)
{
	if (v == floor(v) && fabs(v) < 1e15)
		return json_integer((json_int_t)v);
	return json_real(v);
}

/* The chargingSchedulePeriod array of a composite. */
static json_t *
periods_json(const struct sc_composite *c)
{
	json_t *a = json_array();

	for (size_t i = 0; i < c->n_periods; i++)
		json_array_append_new(a, json_pack("{s:i, s:o, s:i}",
		    "startPeriod", c->periods[i].start_s, "limit",
		    number(c->periods[i].limit), "numberPhases",
		    c->periods[i].phases));
	return a;
}

/* Answers a GetCompositeSchedule request. */
char *
sc_composite_request(const struct sc_set *set, const struct sc_context *ctx,
    enum sc_version v, const char *payload,
    const struct sc_composite_opts *opts, struct sc_verdict *vd)
{
	json_error_t err;
	json_t *root = json_loads(payload, 0, &err), *o = NULL;
	const char *us;
	long long conn = 0, dur = 0;
	enum sc_unit unit = (ctx->units & SC_UNITS_W) ? SC_UNIT_W : SC_UNIT_A;
	struct sc_composite c;
	char start[40], *s;
	int r;

	if (root == NULL || !json_is_object(root)) {
		verdict(vd, SC_REJECTED, "InvalidValue", true,
		    "the payload must be a JSON object");
		goto answer;
	}
	if (get_int(root, "", v == SC_V16 ? "connectorId" : "evseId", true, 0,
	    INT32_MAX, &conn, vd) < 0 ||
	    get_int(root, "", "duration", true, 0, INT32_MAX, &dur, vd) < 0 ||
	    (r = get_str(root, "", "chargingRateUnit", false, &us, vd)) < 0)
		goto answer;
	if (r == 1) {
		if (strcmp(us, "W") == 0)
			unit = SC_UNIT_W;
		else if (strcmp(us, "A") == 0)
			unit = SC_UNIT_A;
		else {
			verdict(vd, SC_REJECTED, "InvalidValue", true,
			    "chargingRateUnit \"%.20s\" is not W or A", us);
			goto answer;
		}
	}
	if (sc_composite(set, ctx, (int)conn, ctx->now_ms, (int32_t)dur, unit,
	    opts, &c, vd) < 0)
		goto answer;
	format_rfc3339(c.start_ms, start, sizeof(start));
	if (v == SC_V16) {
		o = json_pack("{s:s, s:i, s:s, s:{s:i, s:s, s:s, s:o}}",
		    "status", "Accepted", "connectorId", c.connector,
		    "scheduleStart", start, "chargingSchedule", "duration",
		    c.duration_s, "startSchedule", start, "chargingRateUnit",
		    unit == SC_UNIT_W ? "W" : "A", "chargingSchedulePeriod",
		    periods_json(&c));
	} else {
		o = json_pack("{s:s, s:{s:i, s:i, s:s, s:s, s:o}}", "status",
		    "Accepted", "schedule", "evseId", c.connector, "duration",
		    c.duration_s, "scheduleStart", start, "chargingRateUnit",
		    unit == SC_UNIT_W ? "W" : "A", "chargingSchedulePeriod",
		    periods_json(&c));
	}
	sc_composite_free(&c);
answer:
	json_decref(root);
	if (o == NULL) {
		if (vd->status == SC_ACCEPTED)	/* out of memory */
			verdict(vd, SC_REJECTED, "InternalError", false,
			    "the composite schedule could not be built");
		vd->status = SC_REJECTED;
		return sc_verdict_json(v, vd);
	}
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER |
	    JSON_REAL_PRECISION(12));
	json_decref(o);
	if (s == NULL)
		abort();
	return s;
}
