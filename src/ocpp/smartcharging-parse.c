/* Charging profiles: parsing and validation of SetChargingProfile and
 * RequestStartTransaction / RemoteStartTransaction profiles.  Requirement
 * ids in comments are OCPP 2.0.1 part 2 (K01..K10) unless marked 1.6. */
#include "config.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "ocpp/smartcharging-private.h"


/* Fills *vd and returns -1. */
int __attribute__((format(printf, 5, 6)))
sc_verdict_set(struct sc_verdict *vd, enum sc_status st, const char *code,
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
void
sc_verdict_ok(struct sc_verdict *vd)
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
int
sc_purpose_from(enum sc_version v, const char *s)
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
		return sc_verdict_set(vd, SC_REJECTED, "MissingParam", true,
		    "%s%s is missing", where, key);
	return 0;
}

/* Reads optional integer key of obj into *val within [lo, hi].  Returns 1
 * when present, 0 when absent (required: error), -1 on error. */
int
sc_json_int(json_t *obj, const char *where, const char *key, bool required,
    long long lo, long long hi, long long *val, struct sc_verdict *vd)
{
	json_t *j;
	int r = get_field(obj, where, key, required, &j, vd);

	if (r <= 0)
		return r;
	if (!json_is_integer(j))
		return sc_verdict_set(vd, SC_REJECTED, "InvalidValue", true,
		    "%s%s must be an integer", where, key);
	*val = json_integer_value(j);
	if (*val < lo || *val > hi)
		return sc_verdict_set(vd, SC_REJECTED, "InvalidValue", false,
		    "%s%s is %lld, valid range %lld..%lld", where, key, *val,
		    lo, hi);
	return 1;
}

/* Reads an optional number (integer or real).  Same returns as
 * sc_json_int. */
static int
get_num(json_t *obj, const char *where, const char *key, bool required,
    double *val, struct sc_verdict *vd)
{
	json_t *j;
	int r = get_field(obj, where, key, required, &j, vd);

	if (r <= 0)
		return r;
	if (!json_is_number(j))
		return sc_verdict_set(vd, SC_REJECTED, "InvalidValue", true,
		    "%s%s must be a number", where, key);
	*val = json_number_value(j);
	if (!isfinite(*val))
		return sc_verdict_set(vd, SC_REJECTED, "InvalidValue", true,
		    "%s%s must be a finite number", where, key);
	return 1;
}

/* Reads an optional string.  Same returns as sc_json_int. */
int
sc_json_str(json_t *obj, const char *where, const char *key, bool required,
    const char **val, struct sc_verdict *vd)
{
	json_t *j;
	int r = get_field(obj, where, key, required, &j, vd);

	if (r <= 0)
		return r;
	if (!json_is_string(j))
		return sc_verdict_set(vd, SC_REJECTED, "InvalidValue", true,
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
	int r = sc_json_str(obj, where, key, required, &s, vd);

	if (r <= 0)
		return r;
	if (parse_rfc3339(s, ms) < 0 && parse_no_seconds(s, ms) < 0)
		return sc_verdict_set(vd, SC_REJECTED, "InvalidValue", true,
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
		return sc_verdict_set(vd, SC_REJECTED, "InvalidValue", true,
		    "%s must be an object", where);
	if (v == SC_V201 &&
	    sc_json_int(js, where, "id", true, INT32_MIN, INT32_MAX, &n, vd) < 0)
		return -1;
	if ((r = get_time(js, where, "startSchedule", false, &p->start_ms,
	    vd)) < 0)
		return -1;
	p->has_start = r == 1;
	if ((r = sc_json_int(js, where, "duration", false, 1, INT32_MAX, &n,
	    vd)) < 0)
		return -1;
	if (r == 1) {
		p->has_duration = true;
		p->duration_s = (int32_t)n;
	}
	if (sc_json_str(js, where, "chargingRateUnit", true, &unit, vd) < 0)
		return -1;
	if (strcmp(unit, "W") == 0)
		p->unit = SC_UNIT_W;
	else if (strcmp(unit, "A") == 0)
		p->unit = SC_UNIT_A;
	else
		return sc_verdict_set(vd, SC_REJECTED, "InvalidValue", true,
		    "%schargingRateUnit \"%.20s\" is not W or A", where, unit);
	if ((r = get_num(js, where, "minChargingRate", false, &p->min_rate,
	    vd)) < 0)
		return -1;
	p->has_min_rate = r == 1;
	if (p->has_min_rate && p->min_rate < 0)
		return sc_verdict_set(vd, SC_REJECTED, "InvalidSchedule", false,
		    "%sminChargingRate is %g, must be >= 0", where,
		    p->min_rate);

	jp = json_object_get(js, "chargingSchedulePeriod");
	if (jp == NULL)
		return sc_verdict_set(vd, SC_REJECTED, "MissingParam", true,
		    "%schargingSchedulePeriod is missing", where);
	if (!json_is_array(jp) || json_array_size(jp) == 0)
		return sc_verdict_set(vd, SC_REJECTED, "InvalidSchedule", true,
		    "%schargingSchedulePeriod must be a non-empty array",
		    where);
	if (json_array_size(jp) > SC_PERIODS_HARD_MAX)
		return sc_verdict_set(vd, SC_REJECTED, "TooManyElements", false,
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
			return sc_verdict_set(vd, SC_REJECTED, "InvalidSchedule",
			    true, "%.120s must be an object", w);
		if (sc_json_int(e, w, "startPeriod", true, 0, INT32_MAX, &n,
		    vd) < 0)
			return -1;
		pe->start_s = (int32_t)n;
		/* K01.FR.31: the first period starts at 0; K01.FR.35: in
		 * increasing order. */
		if (i == 0 && pe->start_s != 0)
			return sc_verdict_set(vd, SC_REJECTED, "InvalidSchedule",
			    false, "%sstartPeriod is %d, the first period "
			    "must start at 0", w, pe->start_s);
		if (i > 0 && pe->start_s <= p->periods[i - 1].start_s)
			return sc_verdict_set(vd, SC_REJECTED, "InvalidSchedule",
			    false, "%sstartPeriod is %d, must be greater "
			    "than the previous period's %d", w, pe->start_s,
			    p->periods[i - 1].start_s);
		if (get_num(e, w, "limit", true, &pe->limit, vd) < 0)
			return -1;
		if (pe->limit < 0)
			return sc_verdict_set(vd, SC_REJECTED, "InvalidSchedule",
			    false, "%slimit is %g, must be >= 0", w,
			    pe->limit);
		if ((r = sc_json_int(e, w, "numberPhases", false, 1, 3, &n,
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
				return sc_verdict_set(vd, SC_REJECTED,
				    "InvalidSchedule", false, "%sphaseToUse "
				    "is only allowed with numberPhases 1", w);
			return sc_verdict_set(vd, SC_REJECTED, "UnsupportedParam",
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
		return sc_verdict_set(vd, SC_REJECTED, "InvalidProfile", false,
		    "%stransactionId is only allowed in a TxProfile", where);
	if (p->has_valid_from && p->has_valid_to &&
	    p->valid_to_ms <= p->valid_from_ms)
		return sc_verdict_set(vd, SC_REJECTED, "InvalidProfile", false,
		    "%svalidTo must be after validFrom", where);
	switch (p->kind) {
	case SC_ABSOLUTE:
	case SC_RECURRING:
		/* K01.FR.40 */
		if (!p->has_start)
			return sc_verdict_set(vd, SC_REJECTED, "InvalidSchedule",
			    false, "%schargingSchedule.startSchedule is "
			    "required for an %s profile", where,
			    p->kind == SC_ABSOLUTE ? "Absolute" : "Recurring");
		break;
	case SC_RELATIVE:
		/* K01.FR.41 (1.6 ignores a startSchedule there). */
		if (p->has_start && v == SC_V201)
			return sc_verdict_set(vd, SC_REJECTED, "InvalidSchedule",
			    false, "%schargingSchedule.startSchedule must "
			    "be absent in a Relative profile", where);
		/* K01.FR.38; a station-wide cap has no transaction start
		 * to be relative to in 1.6 either. */
		if (p->purpose == SC_STATION_MAX)
			return sc_verdict_set(vd, SC_REJECTED, "InvalidProfile",
			    false, "%schargingProfileKind Relative is not "
			    "allowed for %s", where,
			    sc_purpose_name(v, p->purpose));
		break;
	}
	if (p->kind == SC_RECURRING) {
		int64_t cycle_s;

		if (p->recurrency == SC_RECUR_NONE)
			return sc_verdict_set(vd, SC_REJECTED, "InvalidProfile",
			    false, "%srecurrencyKind (Daily or Weekly) is "
			    "required for a Recurring profile", where);
		cycle_s = p->recurrency == SC_RECUR_DAILY ? 86400 : 604800;
		if (p->has_duration && p->duration_s > cycle_s)
			return sc_verdict_set(vd, SC_REJECTED, "InvalidSchedule",
			    false, "%schargingSchedule.duration is %d s, "
			    "longer than the %s recurrence (%lld s)", where,
			    p->duration_s, p->recurrency == SC_RECUR_DAILY ?
			    "Daily" : "Weekly", (long long)cycle_s);
		if (p->periods[p->n_periods - 1].start_s >= cycle_s)
			return sc_verdict_set(vd, SC_REJECTED, "InvalidSchedule",
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
		return sc_verdict_set(vd, SC_REJECTED, "InvalidProfile", true,
		    "%.*s must be an object", (int)strlen(where) - 1, where);
	if (sc_json_int(jp, where, v == SC_V16 ? "chargingProfileId" : "id",
	    true, INT32_MIN, INT32_MAX, &n, vd) < 0)
		return -1;
	p->id = (int)n;
	if (sc_json_int(jp, where, "stackLevel", true, 0, INT32_MAX, &n, vd) < 0) {
		if (!vd->malformed)
			vd->reason_code = "InvalidStackLevel";
		return -1;
	}
	p->stack_level = (int)n;

	if (sc_json_str(jp, where, "chargingProfilePurpose", true, &s, vd) < 0)
		return -1;
	if ((r = sc_purpose_from(v, s)) < 0) {
		/* K01.FR.22: the CSMS never sets ExternalConstraints. */
		if (v == SC_V201 &&
		    strcmp(s, "ChargingStationExternalConstraints") == 0)
			return sc_verdict_set(vd, SC_REJECTED, "InvalidProfile", false,
			    "%schargingProfilePurpose "
			    "ChargingStationExternalConstraints cannot be set "
			    "by the CSMS", where);
		return sc_verdict_set(vd, SC_REJECTED, "InvalidValue", true,
		    "%schargingProfilePurpose \"%.40s\" is not one of %s, "
		    "TxDefaultProfile, TxProfile", where, s,
		    sc_purpose_name(v, SC_STATION_MAX));
	}
	p->purpose = (enum sc_purpose)r;

	if (sc_json_str(jp, where, "chargingProfileKind", true, &s, vd) < 0)
		return -1;
	if (strcmp(s, "Absolute") == 0)
		p->kind = SC_ABSOLUTE;
	else if (strcmp(s, "Recurring") == 0)
		p->kind = SC_RECURRING;
	else if (strcmp(s, "Relative") == 0)
		p->kind = SC_RELATIVE;
	else
		return sc_verdict_set(vd, SC_REJECTED, "InvalidValue", true,
		    "%schargingProfileKind \"%.40s\" is not Absolute, "
		    "Recurring or Relative", where, s);

	if ((r = sc_json_str(jp, where, "recurrencyKind", false, &s, vd)) < 0)
		return -1;
	p->recurrency = SC_RECUR_NONE;
	if (r == 1) {
		if (strcmp(s, "Daily") == 0)
			p->recurrency = SC_RECUR_DAILY;
		else if (strcmp(s, "Weekly") == 0)
			p->recurrency = SC_RECUR_WEEKLY;
		else
			return sc_verdict_set(vd, SC_REJECTED, "InvalidValue", true,
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
		if ((r = sc_json_int(jp, where, "transactionId", false, INT32_MIN,
		    INT32_MAX, &n, vd)) < 0)
			return -1;
		if (r == 1)
			snprintf(p->tx_id, sizeof(p->tx_id), "%lld", n);
	} else {
		if ((r = sc_json_str(jp, where, "transactionId", false, &s,
		    vd)) < 0)
			return -1;
		if (r == 1 && (*s == '\0' || !strlcpy_ok(p->tx_id, s, 37)))
			return sc_verdict_set(vd, SC_REJECTED, "InvalidValue", true,
			    "%stransactionId must be 1..36 characters",
			    where);
	}

	js = json_object_get(jp, "chargingSchedule");
	if (js == NULL)
		return sc_verdict_set(vd, SC_REJECTED, "MissingParam", true,
		    "%schargingSchedule is missing", where);
	if (v == SC_V201) {
		if (!json_is_array(js) || json_array_size(js) == 0)
			return sc_verdict_set(vd, SC_REJECTED, "InvalidSchedule", true,
			    "%schargingSchedule must be an array of 1..3 "
			    "schedules", where);
		/* K01.FR.34: one schedule without ISO 15118. */
		if (json_array_size(js) > 1)
			return sc_verdict_set(vd, SC_REJECTED, "TooManyElements",
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

/* Parses a request object root into a new profile that keeps text (the
 * compact text of root, as jansson writes it) or, when text is NULL, root
 * written out. */
static int
profile_from(enum sc_version v, json_t *root, const char *text,
    struct sc_profile **out, struct sc_verdict *vd)
{
	struct sc_profile *p;
	long long n;

	*out = NULL;
	if (!json_is_object(root))
		return sc_verdict_set(vd, SC_REJECTED, "InvalidValue", true,
		    "the payload must be a JSON object");
	p = xcalloc(1, sizeof(*p));
	p->version = v;
	if (sc_json_int(root, "", v == SC_V16 ? "connectorId" : "evseId", true,
	    0, INT32_MAX, &n, vd) < 0) {
		sc_profile_free(p);
		return -1;
	}
	p->connector = (int)n;
	if (json_object_get(root, v == SC_V16 ? "csChargingProfiles" :
	    "chargingProfile") == NULL) {
		sc_profile_free(p);
		return sc_verdict_set(vd, SC_REJECTED, "MissingParam", true,
		    "%s is missing", v == SC_V16 ? "csChargingProfiles" :
		    "chargingProfile");
	}
	if (parse_profile(v, json_object_get(root, v == SC_V16 ?
	    "csChargingProfiles" : "chargingProfile"), p, vd) < 0) {
		sc_profile_free(p);
		return -1;
	}
	if (text != NULL)
		p->json = xstrdup(text);
	else if ((p->json = json_dumps(root, JSON_COMPACT |
	    JSON_PRESERVE_ORDER)) == NULL)
		abort();
	sc_verdict_ok(vd);
	*out = p;
	return 0;
}

int
sc_profile_from_json(enum sc_version v, json_t *root, struct sc_profile **out,
    struct sc_verdict *vd)
{
	return profile_from(v, root, NULL, out, vd);
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
		return sc_verdict_set(vd, SC_REJECTED, "InvalidValue", true,
		    "the payload is not JSON: %s at column %d", err.text,
		    err.column);
	/* The session hands the payload over as jansson's compact text
	 * (ocpp_text_json): kept as it is, not written out again. */
	r = profile_from(v, root, payload, out, vd);
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
		return sc_verdict_set(vd, SC_REJECTED, "InvalidValue", true,
		    "chargingProfile is not JSON: %s at column %d", err.text,
		    err.column);
	root = json_pack("{s:i, s:o}", v == SC_V16 ? "connectorId" : "evseId",
	    connector, v == SC_V16 ? "csChargingProfiles" : "chargingProfile",
	    obj);
	r = sc_profile_from_json(v, root, out, vd);
	json_decref(root);
	if (r < 0)
		return -1;
	if ((*out)->purpose != SC_TX || (*out)->tx_id[0] != '\0') {
		bool purpose_wrong = (*out)->purpose != SC_TX;

		sc_profile_free(*out);
		*out = NULL;
		return sc_verdict_set(vd, SC_REJECTED, "InvalidProfile", false,
		    purpose_wrong ? "the chargingProfile of a remote start "
		    "must be a TxProfile" : "the chargingProfile of a remote "
		    "start must not have a transactionId");
	}
	return 0;
}

/* Parses the root of a stored profile's text into a new profile that
 * keeps that text: it is what was stored, and it parsed. */
int
sc_profile_from_stored(enum sc_version v, json_t *root, const char *text,
    struct sc_profile **out, struct sc_verdict *vd)
{
	return profile_from(v, root, text, out, vd);
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
