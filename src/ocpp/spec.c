/* Which actions the session handles, and the validator that walks the
 * payload tables generated from the official 1.6 and 2.0.1 JSON schemas
 * (schemas.c, tools/gen-ocpp-schemas.js): types, required fields, enums,
 * ranges, multipleOf, maxLength in characters, date-time and URI formats,
 * array sizes, members no schema allows.
 *
 * Which CALLERROR for which fault (1.6 JSON spec §4.2.3, 2.0.1 part 4
 * §4.3): a missing required field violates an occurrence constraint, a
 * value of the wrong JSON type a type constraint, a value outside its
 * enum / range / length a property constraint, and a field the PDU does
 * not define makes the payload not conform the PDU structure (2.0.1
 * ProtocolError, 1.6 FormationViolation). */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "ocpp/ocpp-private.h"

/* The actions the session takes from the backend, per version; their
 * payloads are checked against the generated tables before a handler
 * runs.  Charging profiles are handed over to the daemon's smart
 * charging after the same check. */
static const char *const handled16[] = {
	"CertificateSigned", "ChangeAvailability", "ChangeConfiguration",
	"ClearChargingProfile", "ClearCache", "DataTransfer",
	"DeleteCertificate", "ExtendedTriggerMessage", "GetCompositeSchedule",
	"GetConfiguration", "GetInstalledCertificateIds",
	"GetLocalListVersion", "InstallCertificate", "RemoteStartTransaction",
	"RemoteStopTransaction", "Reset", "SendLocalList",
	"SetChargingProfile", "TriggerMessage", "UnlockConnector",
	"UpdateFirmware", NULL };
static const char *const handled201[] = {
	"CertificateSigned", "ChangeAvailability", "ClearCache",
	"ClearChargingProfile", "DataTransfer", "DeleteCertificate",
	"GetBaseReport", "GetChargingProfiles", "GetCompositeSchedule",
	"GetInstalledCertificateIds", "GetLocalListVersion", "GetVariables",
	"InstallCertificate", "RequestStartTransaction",
	"RequestStopTransaction", "Reset", "SendLocalList",
	"SetChargingProfile", "SetVariables", "TriggerMessage",
	"UnlockConnector", "UpdateFirmware", NULL };
/* The answers to our CALLs that the session reads fields of. */
static const char *const read16[] = {
	"Authorize", "BootNotification", "Heartbeat", "StartTransaction",
	NULL };
static const char *const read201[] = {
	"Authorize", "BootNotification", "Heartbeat", NULL };

/* True when name is in the NULL-terminated list. */
static bool
listed(const char *const *list, const char *name)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, name) == 0)
			return true;
	return false;
}

/* Looks an action up in a generated table. */
static const struct ocpp_action_spec *
find_spec(const struct ocpp_action_spec *t, const char *action)
{
	for (; t->action != NULL; t++)
		if (strcmp(t->action, action) == 0)
			return t;
	return NULL;
}

const struct ocpp_action_spec *
ocpp_action_spec(enum ocpp_version v, const char *action)
{
	bool v16 = v == OCPP_V16;

	if (!listed(v16 ? handled16 : handled201, action))
		return NULL;
	return find_spec(v16 ? ocpp_requests16 : ocpp_requests201, action);
}

const struct ocpp_action_spec *
ocpp_response_spec(enum ocpp_version v, const char *action)
{
	bool v16 = v == OCPP_V16;

	if (!listed(v16 ? read16 : read201, action))
		return NULL;
	return find_spec(v16 ? ocpp_responses16 : ocpp_responses201, action);
}

bool
ocpp_action_known(enum ocpp_version v, const char *action)
{
	return find_spec(v == OCPP_V16 ? ocpp_requests16 : ocpp_requests201,
	    action) != NULL;
}

/* Where a value sits in the payload ("a.b[2].c"), as a chain up to the
 * root, written out only for an error message. */
struct vpath {
	const struct vpath *up;	/* NULL: a member of the payload */
	const char *name;	/* a member; NULL: an array item */
	size_t index;
};

static enum ocpp_rpc_error validate_obj(enum ocpp_version v,
    const struct ocpp_field *fields, json_t *obj, const struct vpath *vp,
    bool strict, char **cause);

/* Sets *cause and returns e. */
static enum ocpp_rpc_error
fail(char **cause, enum ocpp_rpc_error e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum ocpp_rpc_error
fail(char **cause, enum ocpp_rpc_error e, const char *fmt, ...)
{
	va_list ap;
	char buf[512];

	if (cause == NULL)
		return e;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	*cause = strdup(buf);	/* NULL: no memory for it */
	return e;
}

/* Characters (code points) in the UTF-8 text s of len bytes: the unit
 * of the schemas' maxLength. */
static size_t
utf8_chars(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			n++;
	return n;
}

/* True when d is a multiple of m (> 0) up to the precision of a double:
 * 21.7 is a multiple of 0.1, 21.75 is not; beyond 2^53 every double is
 * a whole number of steps. */
static bool
multiple_of(double d, double m)
{
	double q = d / m;

	if (!isfinite(q) || fabs(q) >= 9007199254740992.0)
		return true;
	return fabs(q - round(q)) <= 1e-9 * (fabs(q) > 1 ? fabs(q) : 1);
}

/* True when s looks like "scheme://rest". */
static bool
looks_like_uri(const char *s)
{
	const char *p = strstr(s, "://");

	if (p == NULL || p == s)
		return false;
	for (const char *q = s; q < p; q++)
		if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
		    (q > s && ((*q >= '0' && *q <= '9') || *q == '+' ||
		    *q == '-' || *q == '.'))))
			return false;
	return p[3] != '\0';
}

/* Writes the path of vp into buf (size n, at least 1): "" for the
 * payload itself; cut short when it does not fit.  Returns buf. */
static char *
path_text(const struct vpath *vp, char *buf, size_t n)
{
	size_t len;

	if (vp == NULL) {
		buf[0] = '\0';
		return buf;
	}
	path_text(vp->up, buf, n);
	len = strlen(buf);
	if (vp->name != NULL)
		snprintf(buf + len, n - len, "%s%s", len > 0 ? "." : "",
		    vp->name);
	else
		snprintf(buf + len, n - len, "[%zu]", vp->index);
	return buf;
}

/* The path of vp in a buffer of the calling function's statement. */
#define PATH(vp) path_text((vp), (char[160]){ 0 }, 160)

/* Checks one value against its field spec (type, then constraints). */
static enum ocpp_rpc_error
validate_value(enum ocpp_version v, const struct ocpp_field *f,
    enum ocpp_ftype type, json_t *val, const struct vpath *vp, bool strict,
    char **cause)
{
	switch (type) {
	case OCPP_F_STR:
	case OCPP_F_DATETIME:
	case OCPP_F_URI: {
		const char *s;
		size_t len;

		if (!json_is_string(val))
			return fail(cause, OCPP_RPC_TYPE, "%s must be a string",
			    PATH(vp));
		s = json_string_value(val);
		len = utf8_chars(s, json_string_length(val));
		if (f->max_len > 0 && len > (size_t)f->max_len)
			return fail(cause, OCPP_RPC_PROPERTY,
			    "%s is %zu characters long, at most %d allowed",
			    PATH(vp), len, f->max_len);
		if (type == OCPP_F_DATETIME) {
			int64_t ms;

			if (parse_rfc3339(s, &ms) != 0)
				return fail(cause, OCPP_RPC_PROPERTY,
				    "%s is not an RFC 3339 date-time",
				    PATH(vp));
		}
		if (type == OCPP_F_URI && !looks_like_uri(s))
			return fail(cause, OCPP_RPC_PROPERTY,
			    "%s is not a URI (scheme://…)", PATH(vp));
		if (f->enums != NULL) {
			for (const char *const *e = f->enums; *e != NULL; e++)
				if (strcmp(*e, s) == 0)
					return OCPP_RPC_OK;
			return fail(cause, OCPP_RPC_PROPERTY,
			    "%s: value not among the allowed ones (%s, …)",
			    PATH(vp), f->enums[0]);
		}
		return OCPP_RPC_OK;
	}
	case OCPP_F_INT:
	case OCPP_F_NUM: {
		double d;

		if (type == OCPP_F_INT ? !json_is_integer(val) :
		    !json_is_number(val))
			return fail(cause, OCPP_RPC_TYPE, "%s must be %s",
			    PATH(vp), type == OCPP_F_INT ? "an integer" :
			    "a number");
		d = json_number_value(val);
		/* OCPP's integer is 32 bits (2.0.1 part 2 §2.1; 1.6 alike):
		 * the handlers may hold every integer in an int. */
		if (type == OCPP_F_INT && (json_integer_value(val) < INT32_MIN ||
		    json_integer_value(val) > INT32_MAX))
			return fail(cause, OCPP_RPC_PROPERTY,
			    "%s = %" JSON_INTEGER_FORMAT " does not fit a 32-bit "
			    "integer", PATH(vp), json_integer_value(val));
		if (f->has_range && (d < f->min || d > f->max || isnan(d)))
			return fail(cause, OCPP_RPC_PROPERTY,
			    "%s = %g is out of range [%g, %g]", PATH(vp), d,
			    f->min, f->max);
		if (f->multiple_of > 0 && !multiple_of(d, f->multiple_of))
			return fail(cause, OCPP_RPC_PROPERTY,
			    "%s = %g is not a multiple of %g", PATH(vp), d,
			    f->multiple_of);
		return OCPP_RPC_OK;
	}
	case OCPP_F_BOOL:
		if (!json_is_boolean(val))
			return fail(cause, OCPP_RPC_TYPE, "%s must be a boolean",
			    PATH(vp));
		return OCPP_RPC_OK;
	case OCPP_F_OBJ:
		if (!json_is_object(val))
			return fail(cause, OCPP_RPC_TYPE, "%s must be an object",
			    PATH(vp));
		return validate_obj(v, f->sub, val, vp, strict && !f->open,
		    cause);
	case OCPP_F_ARR: {
		size_t n, i;
		json_t *it;

		if (!json_is_array(val))
			return fail(cause, OCPP_RPC_TYPE, "%s must be an array",
			    PATH(vp));
		n = json_array_size(val);
		if (n < (size_t)f->min_items)
			return fail(cause, OCPP_RPC_OCCURRENCE,
			    "%s has %zu items, at least %d required", PATH(vp),
			    n, f->min_items);
		if (f->max_items >= 0 && n > (size_t)f->max_items)
			return fail(cause, OCPP_RPC_OCCURRENCE,
			    "%s has %zu items, at most %d allowed", PATH(vp), n,
			    f->max_items);
		json_array_foreach(val, i, it) {
			struct vpath sub = { vp, NULL, i };
			enum ocpp_rpc_error e;

			e = validate_value(v, f->item, f->item->type, it, &sub,
			    strict, cause);
			if (e != OCPP_RPC_OK)
				return e;
		}
		return OCPP_RPC_OK;
	}
	case OCPP_F_ANY:
		return OCPP_RPC_OK;
	}
	return OCPP_RPC_INTERNAL;
}

/* Checks an object: unknown members, then each field in spec order. */
static enum ocpp_rpc_error
validate_obj(enum ocpp_version v, const struct ocpp_field *fields, json_t *obj,
    const struct vpath *vp, bool strict, char **cause)
{
	const char *key;
	json_t *val;

	if (strict) {
		json_object_foreach(obj, key, val) {
			const struct ocpp_field *f;

			for (f = fields; f->name != NULL; f++)
				if (strcmp(f->name, key) == 0)
					break;
			if (f->name == NULL) {
				struct vpath sub = { vp, key, 0 };

				return fail(cause, v == OCPP_V16 ?
				    OCPP_RPC_FORMAT : OCPP_RPC_PROTOCOL,
				    "%s is not a field of this message",
				    PATH(&sub));
			}
		}
	}
	for (const struct ocpp_field *f = fields; f->name != NULL; f++) {
		struct vpath sub = { vp, f->name, 0 };
		enum ocpp_rpc_error e;

		val = json_object_get(obj, f->name);
		if (val == NULL) {
			if (f->required)
				return fail(cause, OCPP_RPC_OCCURRENCE,
				    "required field %s is missing", PATH(&sub));
			continue;
		}
		e = validate_value(v, f, f->type, val, &sub, strict, cause);
		if (e != OCPP_RPC_OK)
			return e;
	}
	return OCPP_RPC_OK;
}

enum ocpp_rpc_error
ocpp_validate(enum ocpp_version v, const struct ocpp_field *fields,
    json_t *payload, char **cause)
{
	if (cause != NULL)
		*cause = NULL;
	if (!json_is_object(payload))
		return fail(cause, OCPP_RPC_FORMAT, "payload is not an object");
	if (fields == NULL)
		return OCPP_RPC_OK;
	return validate_obj(v, fields, payload, NULL, true, cause);
}

enum ocpp_rpc_error
ocpp_validate_response(enum ocpp_version v, const struct ocpp_field *fields,
    json_t *payload, char **cause)
{
	if (cause != NULL)
		*cause = NULL;
	if (!json_is_object(payload))
		return fail(cause, OCPP_RPC_FORMAT, "payload is not an object");
	return validate_obj(v, fields, payload, NULL, false, cause);
}
