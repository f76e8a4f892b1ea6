/* Charging profiles: the installed set (the checks of a new profile
 * against it, installation with the replacement rules, loading), clearing,
 * the ends of transactions and the GetChargingProfiles answers.
 * Requirement ids in comments are OCPP 2.0.1 part 2 (K01..K10) unless
 * marked 1.6. */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "ocpp/smartcharging-private.h"

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
	if (p->connector > ctx->n_connectors || (p->connector > 0 &&
	    ctx->connectors[p->connector - 1].absent))
		return sc_verdict_set(vd, SC_REJECTED, "UnknownEvse", false,
		    "%s %d does not exist (valid 0..%d)", cname, p->connector,
		    ctx->n_connectors);
	if (p->purpose == SC_STATION_MAX && p->connector != 0)
		return sc_verdict_set(vd, SC_REJECTED, "InvalidProfile", false,
		    "%s is only allowed on %s 0, not %d", pname, cname,
		    p->connector);
	if (p->purpose == SC_TX) {
		const struct sc_connector *c;

		/* K01.FR.16 */
		if (p->connector == 0)
			return sc_verdict_set(vd, SC_REJECTED, "InvalidProfile",
			    false, "TxProfile needs %s > 0", cname);
		c = &ctx->connectors[p->connector - 1];
		/* K01.FR.09; 1.6 §3.13.4 */
		if (!c->tx_active)
			return sc_verdict_set(vd, SC_REJECTED, "TxNotFound", false,
			    "TxProfile on %s %d: no transaction is running "
			    "there", cname, p->connector);
		/* K01.FR.03 */
		if (v == SC_V201 && p->tx_id[0] == '\0')
			return sc_verdict_set(vd, SC_REJECTED, "MissingParam", false,
			    "TxProfile without transactionId (the running "
			    "one on %s %d is %.36s)", cname, p->connector,
			    c->tx_id);
		/* K01.FR.33 */
		if (p->tx_id[0] != '\0' && strcmp(p->tx_id, c->tx_id) != 0)
			return sc_verdict_set(vd, SC_REJECTED, "TxNotFound", false,
			    "transactionId %.36s is not the transaction "
			    "running on %s %d (%.36s)", p->tx_id, cname,
			    p->connector, c->tx_id);
	}
	/* K01.FR.26; 1.6 ChargingScheduleAllowedChargingRateUnit. */
	if ((ctx->units & (1u << p->unit)) == 0)
		return sc_verdict_set(vd, v == SC_V16 ? SC_NOT_SUPPORTED :
		    SC_REJECTED, "UnsupportedRateUnit", false,
		    "chargingRateUnit %s is not supported (supported: %s)",
		    p->unit == SC_UNIT_W ? "W" : "A",
		    ctx->units == (SC_UNITS_W | SC_UNITS_A) ? "W, A" :
		    (ctx->units & SC_UNITS_W) ? "W" : "A");
	if (p->stack_level > ctx->max_stack_level)
		return sc_verdict_set(vd, SC_REJECTED, "InvalidStackLevel", false,
		    "stackLevel %d is above ChargeProfileMaxStackLevel "
		    "(valid 0..%d)", p->stack_level, ctx->max_stack_level);
	if ((int64_t)p->n_periods > ctx->max_periods)
		return sc_verdict_set(vd, SC_REJECTED, "TooManyElements", false,
		    "%zu schedule periods, ChargingScheduleMaxPeriods is %d",
		    p->n_periods, ctx->max_periods);
	if (p->has_valid_to && p->valid_to_ms <= ctx->now_ms)
		return sc_verdict_set(vd, SC_REJECTED, "InvalidProfile", false,
		    "validTo is not in the future: the profile would never "
		    "apply");
	if (ctx->max_profiles > 0) {
		size_t kept = 0;

		for (size_t i = 0; i < set->n; i++)
			if (!replaces(p, set->v[i]))
				kept++;
		if (kept + 1 > (size_t)ctx->max_profiles)
			return sc_verdict_set(vd, SC_REJECTED, "OutOfStorage", false,
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
			return sc_verdict_set(vd, SC_REJECTED, "DuplicateProfile",
			    false, "TxDefaultProfile %d on evseId %d has the "
			    "same stackLevel %d as this one on evseId %d",
			    q->id, q->connector, q->stack_level, p->connector);
		/* K01.FR.06 and K01.FR.39 */
		if (q->connector == p->connector &&
		    (p->purpose != SC_TX || strcmp(q->tx_id, p->tx_id) == 0) &&
		    validity_overlaps(p, q))
			return sc_verdict_set(vd, SC_REJECTED, "DuplicateProfile",
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
			sc_verdict_ok(vd);
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
	if (sc_profile_from_stored(v, root, text, &p, &vd) < 0) {
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
		return sc_verdict_set(vd, SC_REJECTED, "InvalidValue", true,
		    "the payload must be a JSON object");
	}
	r = sc_json_int(root, "", v == SC_V16 ? "id" : "chargingProfileId", false,
	    INT32_MIN, INT32_MAX, &n, vd);
	if (r < 0)
		goto fail;
	f->has_id = r == 1;
	f->id = (int)n;
	crit = root;
	if (v == SC_V201) {
		crit = json_object_get(root, "chargingProfileCriteria");
		if (crit != NULL && !json_is_object(crit)) {
			sc_verdict_set(vd, SC_REJECTED, "InvalidValue", true,
			    "chargingProfileCriteria must be an object");
			goto fail;
		}
	}
	if (crit != NULL) {
		const char *w = v == SC_V16 ? "" : "chargingProfileCriteria.";

		r = sc_json_int(crit, w, v == SC_V16 ? "connectorId" : "evseId",
		    false, 0, INT32_MAX, &n, vd);
		if (r < 0)
			goto fail;
		f->has_connector = r == 1;
		f->connector = (int)n;
		r = sc_json_int(crit, w, "stackLevel", false, 0, INT32_MAX, &n, vd);
		if (r < 0)
			goto fail;
		f->has_stack_level = r == 1;
		f->stack_level = (int)n;
		r = sc_json_str(crit, w, "chargingProfilePurpose", false, &s, vd);
		if (r < 0)
			goto fail;
		if (r == 1) {
			int pu = sc_purpose_from(v, s);

			if (pu < 0) {
				sc_verdict_set(vd, SC_REJECTED, "InvalidValue", true,
				    "%schargingProfilePurpose \"%.40s\" is "
				    "not a purpose that can be cleared", w, s);
				goto fail;
			}
			f->has_purpose = true;
			f->purpose = (enum sc_purpose)pu;
		}
	}
	json_decref(root);
	sc_verdict_ok(vd);
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
		return sc_verdict_set(vd, SC_REJECTED, "InvalidValue", true,
		    "the payload must be a JSON object");
	}
	if (sc_json_int(root, "", "requestId", true, INT32_MIN, INT32_MAX, &n,
	    vd) < 0)
		goto fail;
	f->request_id = (int)n;
	if ((r = sc_json_int(root, "", "evseId", false, 0, INT32_MAX, &n,
	    vd)) < 0)
		goto fail;
	f->has_connector = r == 1;
	f->connector = (int)n;
	crit = json_object_get(root, "chargingProfile");
	if (!json_is_object(crit)) {
		sc_verdict_set(vd, SC_REJECTED, "MissingParam", true,
		    "chargingProfile (the criteria) is missing");
		goto fail;
	}
	if ((r = sc_json_int(crit, w, "stackLevel", false, 0, INT32_MAX, &n,
	    vd)) < 0)
		goto fail;
	f->has_stack_level = r == 1;
	f->stack_level = (int)n;
	if ((r = sc_json_str(crit, w, "chargingProfilePurpose", false, &s,
	    vd)) < 0)
		goto fail;
	if (r == 1) {
		int pu = sc_purpose_from(SC_V201, s);

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
			sc_verdict_set(vd, SC_REJECTED, "InvalidValue", true,
			    "%schargingProfileId must be an array of 1..%zu "
			    "ids", w, ARRAY_SIZE(f->ids));
			goto fail;
		}
		for (size_t i = 0; i < json_array_size(a); i++) {
			json_t *e = json_array_get(a, i);

			if (!json_is_integer(e)) {
				sc_verdict_set(vd, SC_REJECTED, "InvalidValue", true,
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
			sc_verdict_set(vd, SC_REJECTED, "InvalidValue", true,
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
	sc_verdict_ok(vd);
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
