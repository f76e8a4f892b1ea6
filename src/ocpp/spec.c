/* Payload specs of the actions the session handles, as data (field type,
 * required, enum values, ranges, maxLength, from the official 1.6 and
 * 2.0.1 JSON schemas), and the validator that walks them.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "ocpp/ocpp-private.h"

/* One field of a payload: name, JSON type, required, then constraints. */
#define F(n, t, req) .name = n, .type = t, .required = req
#define END { .name = NULL }
#define STR(n, req, len) { F(n, OCPP_F_STR, req), .max_len = len }
#define ENUM(n, req, e) { F(n, OCPP_F_STR, req), .enums = e }
#define INT(n, req) { F(n, OCPP_F_INT, req) }
#define INTR(n, req, lo, hi) \
	{ F(n, OCPP_F_INT, req), .has_range = true, .min = lo, .max = hi }
#define NUM(n, req) { F(n, OCPP_F_NUM, req) }
#define DATE(n, req) { F(n, OCPP_F_DATETIME, req) }
#define URI(n, req, len) { F(n, OCPP_F_URI, req), .max_len = len }
#define OBJ(n, req, s) { F(n, OCPP_F_OBJ, req), .sub = s }
#define ARR(n, req, it, s, lo, hi) { F(n, OCPP_F_ARR, req), \
	.item_type = it, .sub = s, .has_range = true, .min = lo, .max = hi }
#define ANY(n, req) { F(n, OCPP_F_ANY, req) }

#define ID_MAX 2147483647.0	/* connector / EVSE ids: 0 .. int32 max */

static const char *const e_availability[] = { "Inoperative", "Operative",
	NULL };
static const char *const e_reset16[] = { "Hard", "Soft", NULL };
static const char *const e_reset201[] = { "Immediate", "OnIdle", NULL };
static const char *const e_trigger16[] = { "BootNotification",
	"DiagnosticsStatusNotification", "FirmwareStatusNotification",
	"Heartbeat", "MeterValues", "StatusNotification", NULL };
static const char *const e_trigger201[] = { "BootNotification",
	"LogStatusNotification", "FirmwareStatusNotification", "Heartbeat",
	"MeterValues", "SignChargingStationCertificate", "SignV2GCertificate",
	"StatusNotification", "TransactionEvent", "SignCombinedCertificate",
	"PublishFirmwareStatusNotification", NULL };
static const char *const e_token_type[] = { "Central", "eMAID", "ISO14443",
	"ISO15693", "KeyCode", "Local", "MacAddress", "NoAuthorization", NULL };
static const char *const e_attribute[] = { "Actual", "Target", "MinSet",
	"MaxSet", NULL };
static const char *const e_report_base[] = { "ConfigurationInventory",
	"FullInventory", "SummaryInventory", NULL };
static const char *const e_registration[] = { "Accepted", "Pending",
	"Rejected", NULL };
static const char *const e_auth16[] = { "Accepted", "Blocked", "Expired",
	"Invalid", "ConcurrentTx", NULL };

/* ---- OCPP 1.6 ---- */
static const struct ocpp_field f16_change_availability[] = {
	INTR("connectorId", true, 0, ID_MAX),
	ENUM("type", true, e_availability), END };
static const struct ocpp_field f16_change_configuration[] = {
	STR("key", true, 50), STR("value", true, 500), END };
static const struct ocpp_field f16_data_transfer[] = {
	STR("vendorId", true, 255), STR("messageId", false, 50),
	STR("data", false, 0), END };
static const struct ocpp_field f16_get_configuration[] = {
	{ .name = "key", .type = OCPP_F_ARR, .item_type = OCPP_F_STR,
	  .max_len = 50 }, END };
static const struct ocpp_field f16_remote_start[] = {
	INTR("connectorId", false, 1, ID_MAX), STR("idTag", true, 20),
	OBJ("chargingProfile", false, NULL), END };
static const struct ocpp_field f16_remote_stop[] = {
	INT("transactionId", true), END };
static const struct ocpp_field f16_reset[] = {
	ENUM("type", true, e_reset16), END };
static const struct ocpp_field f16_trigger[] = {
	ENUM("requestedMessage", true, e_trigger16),
	INTR("connectorId", false, 0, ID_MAX), END };
static const struct ocpp_field f16_unlock[] = {
	INTR("connectorId", true, 1, ID_MAX), END };
static const struct ocpp_field f16_update_firmware[] = {
	URI("location", true, 0), INTR("retries", false, 0, ID_MAX),
	DATE("retrieveDate", true), INTR("retryInterval", false, 0, ID_MAX),
	END };

static const struct ocpp_action_spec specs16[] = {
	{ "ChangeAvailability", f16_change_availability },
	{ "ChangeConfiguration", f16_change_configuration },
	{ "DataTransfer", f16_data_transfer },
	{ "GetConfiguration", f16_get_configuration },
	{ "RemoteStartTransaction", f16_remote_start },
	{ "RemoteStopTransaction", f16_remote_stop },
	{ "Reset", f16_reset },
	{ "TriggerMessage", f16_trigger },
	{ "UnlockConnector", f16_unlock },
	{ "UpdateFirmware", f16_update_firmware },
	/* Charging profiles belong to the daemon's smart charging: the
	 * session checks the envelope only and hands the payload over. */
	{ "SetChargingProfile", NULL },
	{ "ClearChargingProfile", NULL },
	{ "GetCompositeSchedule", NULL },
};

/* ---- OCPP 2.0.1 ---- */
static const struct ocpp_field f201_evse[] = {
	INTR("id", true, 0, ID_MAX), INTR("connectorId", false, 0, ID_MAX), END };
static const struct ocpp_field f201_additional_info[] = {
	STR("additionalIdToken", true, 36), STR("type", true, 50), END };
static const struct ocpp_field f201_id_token[] = {
	STR("idToken", true, 36), ENUM("type", true, e_token_type),
	ARR("additionalInfo", false, OCPP_F_OBJ, f201_additional_info, 1, 1e9),
	END };
static const struct ocpp_field f201_change_availability[] = {
	OBJ("evse", false, f201_evse),
	ENUM("operationalStatus", true, e_availability), END };
static const struct ocpp_field f201_data_transfer[] = {
	STR("messageId", false, 50), ANY("data", false),
	STR("vendorId", true, 255), END };
static const struct ocpp_field f201_get_base_report[] = {
	INT("requestId", true), ENUM("reportBase", true, e_report_base), END };
static const struct ocpp_field f201_component[] = {
	OBJ("evse", false, f201_evse), STR("name", true, 50),
	STR("instance", false, 50), END };
static const struct ocpp_field f201_variable[] = {
	STR("name", true, 50), STR("instance", false, 50), END };
static const struct ocpp_field f201_get_variable_data[] = {
	ENUM("attributeType", false, e_attribute),
	OBJ("component", true, f201_component),
	OBJ("variable", true, f201_variable), END };
static const struct ocpp_field f201_get_variables[] = {
	ARR("getVariableData", true, OCPP_F_OBJ, f201_get_variable_data, 1, 1e9),
	END };
static const struct ocpp_field f201_set_variable_data[] = {
	ENUM("attributeType", false, e_attribute),
	STR("attributeValue", true, 1000),
	OBJ("component", true, f201_component),
	OBJ("variable", true, f201_variable), END };
static const struct ocpp_field f201_set_variables[] = {
	ARR("setVariableData", true, OCPP_F_OBJ, f201_set_variable_data, 1, 1e9),
	END };
static const struct ocpp_field f201_request_start[] = {
	INTR("evseId", false, 1, ID_MAX),
	OBJ("groupIdToken", false, f201_id_token),
	OBJ("idToken", true, f201_id_token),
	INT("remoteStartId", true),
	OBJ("chargingProfile", false, NULL), END };
static const struct ocpp_field f201_request_stop[] = {
	STR("transactionId", true, 36), END };
static const struct ocpp_field f201_reset[] = {
	ENUM("type", true, e_reset201), INTR("evseId", false, 0, ID_MAX), END };
static const struct ocpp_field f201_trigger[] = {
	OBJ("evse", false, f201_evse),
	ENUM("requestedMessage", true, e_trigger201), END };
static const struct ocpp_field f201_unlock[] = {
	INTR("evseId", true, 1, ID_MAX), INTR("connectorId", true, 1, ID_MAX),
	END };
static const struct ocpp_field f201_firmware[] = {
	URI("location", true, 512), DATE("retrieveDateTime", true),
	DATE("installDateTime", false), STR("signingCertificate", false, 5500),
	STR("signature", false, 800), END };
static const struct ocpp_field f201_update_firmware[] = {
	INTR("retries", false, 0, ID_MAX), INTR("retryInterval", false, 0, ID_MAX),
	INT("requestId", true), OBJ("firmware", true, f201_firmware), END };

static const struct ocpp_action_spec specs201[] = {
	{ "ChangeAvailability", f201_change_availability },
	{ "DataTransfer", f201_data_transfer },
	{ "GetBaseReport", f201_get_base_report },
	{ "GetVariables", f201_get_variables },
	{ "SetVariables", f201_set_variables },
	{ "RequestStartTransaction", f201_request_start },
	{ "RequestStopTransaction", f201_request_stop },
	{ "Reset", f201_reset },
	{ "TriggerMessage", f201_trigger },
	{ "UnlockConnector", f201_unlock },
	{ "UpdateFirmware", f201_update_firmware },
	{ "SetChargingProfile", NULL },
	{ "ClearChargingProfile", NULL },
	{ "GetChargingProfiles", NULL },
	{ "GetCompositeSchedule", NULL },
};

/* ---- responses to our CALLs ---- */
static const struct ocpp_field r16_boot[] = {
	ENUM("status", true, e_registration), DATE("currentTime", true),
	INTR("interval", true, 0, ID_MAX), END };
static const struct ocpp_field r_heartbeat[] = {
	DATE("currentTime", true), END };
static const struct ocpp_field r16_id_tag_info[] = {
	ENUM("status", true, e_auth16), END };
static const struct ocpp_field r16_start[] = {
	OBJ("idTagInfo", true, r16_id_tag_info), INT("transactionId", true), END };
static const struct ocpp_field r201_boot[] = {
	ENUM("status", true, e_registration), DATE("currentTime", true),
	INTR("interval", true, 0, ID_MAX), END };

static const struct ocpp_action_spec rspecs16[] = {
	{ "BootNotification", r16_boot },
	{ "Heartbeat", r_heartbeat },
	{ "StartTransaction", r16_start },
};
static const struct ocpp_action_spec rspecs201[] = {
	{ "BootNotification", r201_boot },
	{ "Heartbeat", r_heartbeat },
};

/* Every action name of each version (schemas of 1.6 with the security
 * extension, and of 2.0.1), for NotSupported versus NotImplemented. */
static const char *const known16[] = {
	"Authorize", "BootNotification", "CancelReservation",
	"CertificateSigned", "ChangeAvailability", "ChangeConfiguration",
	"ClearCache", "ClearChargingProfile", "DataTransfer", "DeleteCertificate",
	"DiagnosticsStatusNotification", "ExtendedTriggerMessage",
	"FirmwareStatusNotification", "GetCompositeSchedule", "GetConfiguration",
	"GetDiagnostics", "GetInstalledCertificateIds", "GetLocalListVersion",
	"GetLog", "Heartbeat", "InstallCertificate", "LogStatusNotification",
	"MeterValues", "RemoteStartTransaction", "RemoteStopTransaction",
	"ReserveNow", "Reset", "SecurityEventNotification", "SendLocalList",
	"SetChargingProfile", "SignCertificate",
	"SignedFirmwareStatusNotification", "SignedUpdateFirmware",
	"StartTransaction", "StatusNotification", "StopTransaction",
	"TriggerMessage", "UnlockConnector", "UpdateFirmware", NULL };
static const char *const known201[] = {
	"Authorize", "BootNotification", "CancelReservation",
	"CertificateSigned", "ChangeAvailability", "ClearCache",
	"ClearChargingProfile", "ClearDisplayMessage", "ClearVariableMonitoring",
	"ClearedChargingLimit", "CostUpdated", "CustomerInformation",
	"DataTransfer", "DeleteCertificate", "FirmwareStatusNotification",
	"Get15118EVCertificate", "GetBaseReport", "GetCertificateStatus",
	"GetChargingProfiles", "GetCompositeSchedule", "GetDisplayMessages",
	"GetInstalledCertificateIds", "GetLocalListVersion", "GetLog",
	"GetMonitoringReport", "GetReport", "GetTransactionStatus",
	"GetVariables", "Heartbeat", "InstallCertificate",
	"LogStatusNotification", "MeterValues", "NotifyChargingLimit",
	"NotifyCustomerInformation", "NotifyDisplayMessages",
	"NotifyEVChargingNeeds", "NotifyEVChargingSchedule", "NotifyEvent",
	"NotifyMonitoringReport", "NotifyReport", "PublishFirmware",
	"PublishFirmwareStatusNotification", "ReportChargingProfiles",
	"RequestStartTransaction", "RequestStopTransaction",
	"ReservationStatusUpdate", "ReserveNow", "Reset",
	"SecurityEventNotification", "SendLocalList", "SetChargingProfile",
	"SetDisplayMessage", "SetMonitoringBase", "SetMonitoringLevel",
	"SetNetworkProfile", "SetVariableMonitoring", "SetVariables",
	"SignCertificate", "StatusNotification", "TransactionEvent",
	"TriggerMessage", "UnlockConnector", "UnpublishFirmware",
	"UpdateFirmware", NULL };

/* Looks an action up in a spec table. */
static const struct ocpp_action_spec *
find_spec(const struct ocpp_action_spec *t, size_t n, const char *action)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].action, action) == 0)
			return &t[i];
	return NULL;
}

const struct ocpp_action_spec *
ocpp_action_spec(enum ocpp_version v, const char *action)
{
	if (v == OCPP_V16)
		return find_spec(specs16, ARRAY_SIZE(specs16), action);
	return find_spec(specs201, ARRAY_SIZE(specs201), action);
}

const struct ocpp_action_spec *
ocpp_response_spec(enum ocpp_version v, const char *action)
{
	if (v == OCPP_V16)
		return find_spec(rspecs16, ARRAY_SIZE(rspecs16), action);
	return find_spec(rspecs201, ARRAY_SIZE(rspecs201), action);
}

bool
ocpp_action_known(enum ocpp_version v, const char *action)
{
	for (const char *const *p = v == OCPP_V16 ? known16 : known201;
	    *p != NULL; p++)
		if (strcmp(*p, action) == 0)
			return true;
	return false;
}

static enum ocpp_rpc_error validate_obj(enum ocpp_version v,
    const struct ocpp_field *fields, json_t *obj, const char *path,
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
	*cause = xstrdup(buf);
	return e;
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

/* Checks one value against its field spec (type, then constraints). */
static enum ocpp_rpc_error
validate_value(enum ocpp_version v, const struct ocpp_field *f,
    enum ocpp_ftype type, json_t *val, const char *path, bool strict,
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
			    path);
		s = json_string_value(val);
		len = json_string_length(val);
		if (f->max_len > 0 && len > (size_t)f->max_len)
			return fail(cause, OCPP_RPC_PROPERTY,
			    "%s is %zu characters long, at most %d allowed",
			    path, len, f->max_len);
		if (type == OCPP_F_DATETIME) {
			int64_t ms;

			if (parse_rfc3339(s, &ms) != 0)
				return fail(cause, OCPP_RPC_PROPERTY,
				    "%s is not an RFC 3339 date-time", path);
		}
		if (type == OCPP_F_URI && !looks_like_uri(s))
			return fail(cause, OCPP_RPC_PROPERTY,
			    "%s is not a URI (scheme://…)", path);
		if (f->enums != NULL) {
			for (const char *const *e = f->enums; *e != NULL; e++)
				if (strcmp(*e, s) == 0)
					return OCPP_RPC_OK;
			return fail(cause, OCPP_RPC_PROPERTY,
			    "%s: value not among the allowed ones (%s, …)", path,
			    f->enums[0]);
		}
		return OCPP_RPC_OK;
	}
	case OCPP_F_INT:
	case OCPP_F_NUM: {
		double d;

		if (type == OCPP_F_INT ? !json_is_integer(val) :
		    !json_is_number(val))
			return fail(cause, OCPP_RPC_TYPE, "%s must be %s", path,
			    type == OCPP_F_INT ? "an integer" : "a number");
		d = json_number_value(val);
		if (f->has_range && (d < f->min || d > f->max || isnan(d)))
			return fail(cause, OCPP_RPC_PROPERTY,
			    "%s = %g is out of range [%g, %g]", path, d, f->min,
			    f->max);
		return OCPP_RPC_OK;
	}
	case OCPP_F_BOOL:
		if (!json_is_boolean(val))
			return fail(cause, OCPP_RPC_TYPE, "%s must be a boolean",
			    path);
		return OCPP_RPC_OK;
	case OCPP_F_OBJ:
		if (!json_is_object(val))
			return fail(cause, OCPP_RPC_TYPE, "%s must be an object",
			    path);
		if (f->sub == NULL)
			return OCPP_RPC_OK;
		return validate_obj(v, f->sub, val, path, strict, cause);
	case OCPP_F_ARR: {
		size_t n, i;
		json_t *it;

		if (!json_is_array(val))
			return fail(cause, OCPP_RPC_TYPE, "%s must be an array",
			    path);
		n = json_array_size(val);
		if (f->has_range && ((double)n < f->min || (double)n > f->max))
			return fail(cause, OCPP_RPC_OCCURRENCE,
			    "%s has %zu items, allowed %g to %g", path, n,
			    f->min, f->max);
		json_array_foreach(val, i, it) {
			char sub[160];
			struct ocpp_field item = *f;
			enum ocpp_rpc_error e;

			item.has_range = false;
			item.enums = NULL;
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			e = validate_value(v, &item, f->item_type, it, sub,
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
    const char *path, bool strict, char **cause)
{
	const char *key;
	json_t *val;

	if (strict) {
		json_object_foreach(obj, key, val) {
			const struct ocpp_field *f;

			/* 2.0.1: every object may carry vendor customData. */
			if (v == OCPP_V201 && strcmp(key, "customData") == 0 &&
			    json_is_object(val))
				continue;
			for (f = fields; f->name != NULL; f++)
				if (strcmp(f->name, key) == 0)
					break;
			if (f->name == NULL)
				return fail(cause, v == OCPP_V16 ?
				    OCPP_RPC_FORMAT : OCPP_RPC_PROTOCOL,
				    "%s%s%s is not a field of this message",
				    path, *path ? "." : "", key);
		}
	}
	for (const struct ocpp_field *f = fields; f->name != NULL; f++) {
		char sub[160];
		enum ocpp_rpc_error e;

		snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "",
		    f->name);
		val = json_object_get(obj, f->name);
		if (val == NULL) {
			if (f->required)
				return fail(cause, OCPP_RPC_OCCURRENCE,
				    "required field %s is missing", sub);
			continue;
		}
		e = validate_value(v, f, f->type, val, sub, strict, cause);
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
	return validate_obj(v, fields, payload, "", true, cause);
}

enum ocpp_rpc_error
ocpp_validate_response(enum ocpp_version v, const struct ocpp_field *fields,
    json_t *payload, char **cause)
{
	if (cause != NULL)
		*cause = NULL;
	if (!json_is_object(payload))
		return fail(cause, OCPP_RPC_FORMAT, "payload is not an object");
	return validate_obj(v, fields, payload, "", false, cause);
}
