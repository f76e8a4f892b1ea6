/* Configuration keys (1.6 GetConfiguration / ChangeConfiguration) and
 * device-model variables (2.0.1 GetVariables / SetVariables /
 * GetBaseReport) in one table: the session's own, then the daemon's
 * (ext_keys, e.g. the LoadBalancer settings) through its callbacks. */
#include "config.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/util.h"
#include "ocpp/session-private.h"

#define RW(k16, comp, var, inst, idx, lo, hi) \
	{ k16, comp, var, inst, OCPP_KEY_INT, false, lo, hi, idx, NULL, NULL }
#define MEAS(k16, comp, var, idx) \
	{ k16, comp, var, NULL, OCPP_KEY_MEASURANDS, false, 0, \
	  OCPP_MEAS_ALL, idx, NULL, MEASURAND_NAMES }
#define RW_BOOL(k16, comp, var, idx) \
	{ k16, comp, var, NULL, OCPP_KEY_BOOL, false, 0, 1, idx, NULL, NULL }
#define CONST(k16, comp, var, type, value) \
	{ k16, comp, var, NULL, type, true, 0, 0, -1, value, NULL }
#define CONST_I(comp, var, inst, type, value) \
	{ NULL, comp, var, inst, type, true, 0, 0, -1, value, NULL }
/* Writable by the spec, but the behaviour is fixed: setting the value it
 * has is Accepted, any other Rejected. */
#define FIXED(k16, comp, var, type, value, list) \
	{ k16, comp, var, NULL, type, false, 0, 0, -1, value, list }
/* Known only at run time (ocpp_key_value). */
#define RUNTIME(k16, comp, var, type) \
	{ k16, comp, var, NULL, type, true, 0, 0, -1, NULL, NULL }

#define MEASURAND_NAMES "Energy.Active.Import.Register,Power.Active.Import," \
	"Current.Import,Voltage"
/* The largest frame taken or sent (bytes). */
#define BYTES_PER_MESSAGE OCPP_FRAME_MAX_TEXT
#define TEXT_OF(x) #x
#define TEXT_OF_VALUE(x) TEXT_OF(x)
#define CERT_ROOTS_MAX_TEXT TEXT_OF_VALUE(OCPP_CERT_ROOTS_MAX)
#define ITEMS_TEXT TEXT_OF_VALUE(OCPP_ITEMS_PER_MESSAGE)

/* The 1.6 core profile keys (1.6 §9.1) and smart-charging keys (§9.4) the
 * gateway honours, with the 2.0.1 component/variable that means the same,
 * and the 2.0.1 variables the device-model appendix (part 2, appendix 3)
 * requires for the functional blocks the gateway implements (B
 * provisioning, C authorization, E transactions, J meter values, K smart
 * charging, the clock); constants describe fixed behaviour.  The daemon's
 * ext_keys override an entry with the same 1.6 key. */
const struct ocpp_key_entry ocpp_key_table[] = {
	RW("HeartbeatInterval", "OCPPCommCtrlr", "HeartbeatInterval", NULL,
	    CI_HEARTBEAT, 1, 86400),
	RW("MeterValueSampleInterval", "SampledDataCtrlr", "TxUpdatedInterval",
	    NULL, CI_METER_INTERVAL, 0, 86400),
	RW("TransactionMessageAttempts", "OCPPCommCtrlr", "MessageAttempts",
	    "TransactionEvent", CI_TX_ATTEMPTS, 1, 100),
	RW("TransactionMessageRetryInterval", "OCPPCommCtrlr",
	    "MessageAttemptInterval", "TransactionEvent", CI_TX_RETRY, 1, 86400),
	RW("WebSocketPingInterval", "OCPPCommCtrlr", "WebSocketPingInterval",
	    NULL, CI_PING, 0, 3600),
	RW("RetryBackOffWaitMinimum", "OCPPCommCtrlr", "RetryBackOffWaitMinimum",
	    NULL, CI_BACKOFF_MIN, 0, 86400),
	RW("RetryBackOffRandomRange", "OCPPCommCtrlr", "RetryBackOffRandomRange",
	    NULL, CI_BACKOFF_RANDOM, 0, 86400),
	RW("RetryBackOffRepeatTimes", "OCPPCommCtrlr", "RetryBackOffRepeatTimes",
	    NULL, CI_BACKOFF_REPEAT, 0, 100),
	RW("MessageTimeout", "OCPPCommCtrlr", "MessageTimeout", "Default",
	    CI_CALL_TIMEOUT, 1, 3600),
	MEAS("MeterValuesSampledData", "SampledDataCtrlr",
	    "TxUpdatedMeasurands", CI_SAMPLED_MEASURANDS),
	RUNTIME("NumberOfConnectors", NULL, NULL, OCPP_KEY_INT),
	{ "ConnectorPhaseRotation", NULL, NULL, NULL, OCPP_KEY_PHASE_ROTATION,
	  false, 0, 0, -1, NULL, NULL },
	/* A remote start is the backend's own decision: never Authorized
	 * again. */
	FIXED("AuthorizeRemoteTxRequests", "AuthCtrlr", "AuthorizeRemoteStart",
	    OCPP_KEY_BOOL, "false", NULL),
	RW("ClockAlignedDataInterval", "AlignedDataCtrlr", "Interval", NULL,
	    CI_ALIGNED_INTERVAL, 0, 86400),
	RW("ConnectionTimeOut", "TxCtrlr", "EVConnectionTimeOut", NULL,
	    CI_CONNECTION_TIMEOUT, 0, 86400),
	{ "GetConfigurationMaxKeys", "DeviceDataCtrlr", "ItemsPerMessage",
	  "GetVariables", OCPP_KEY_INT, true, 0, 0, -1, ITEMS_TEXT, NULL },
	RW_BOOL("LocalAuthorizeOffline", "AuthCtrlr", "LocalAuthorizeOffline",
	    CI_LOCAL_AUTH_OFFLINE),
	RW_BOOL("LocalPreAuthorize", "AuthCtrlr", "LocalPreAuthorize",
	    CI_LOCAL_PRE_AUTH),
	RW_BOOL("AuthorizationCacheEnabled", "AuthCacheCtrlr", "Enabled",
	    CI_AUTH_CACHE_ENABLED),
	RW_BOOL("LocalAuthListEnabled", "LocalAuthListCtrlr", "Enabled",
	    CI_LOCAL_LIST_ENABLED),
	RW_BOOL("AllowOfflineTxForUnknownId", "AuthCtrlr",
	    "OfflineTxForUnknownIdEnabled", CI_OFFLINE_UNKNOWN),
	CONST("LocalAuthListMaxLength", NULL, NULL, OCPP_KEY_INT, "100"),
	CONST("SendLocalListMaxLength", "LocalAuthListCtrlr", "ItemsPerMessage",
	    OCPP_KEY_INT, "100"),
	MEAS("MeterValuesAlignedData", "AlignedDataCtrlr", "Measurands",
	    CI_ALIGNED_MEASURANDS),
	RW("ResetRetries", "OCPPCommCtrlr", "ResetRetries", NULL,
	    CI_RESET_RETRIES, 0, OCPP_RESET_RETRIES_MAX),
	/* The charger ends its own session when the cable leaves the EV. */
	FIXED("StopTransactionOnEVSideDisconnect", "TxCtrlr",
	    "StopTxOnEVSideDisconnect", OCPP_KEY_BOOL, "true", NULL),
	RW_BOOL("StopTransactionOnInvalidId", "TxCtrlr", "StopTxOnInvalidId",
	    CI_STOP_ON_INVALID),
	MEAS("StopTxnAlignedData", "AlignedDataCtrlr", "TxEndedMeasurands",
	    CI_STOP_ALIGNED_MEASURANDS),
	MEAS("StopTxnSampledData", "SampledDataCtrlr", "TxEndedMeasurands",
	    CI_STOP_MEASURANDS),
	CONST("SupportedFeatureProfiles", NULL, NULL, OCPP_KEY_STR,
	    "Core,FirmwareManagement,LocalAuthListManagement,RemoteTrigger,"
	    "SmartCharging"),
	RW_BOOL("UnlockConnectorOnEVSideDisconnect", "OCPPCommCtrlr",
	    "UnlockOnEVSideDisconnect", CI_UNLOCK_ON_EV_DISCONNECT),
	CONST("ChargeProfileMaxStackLevel", "SmartChargingCtrlr",
	    "ProfileStackLevel", OCPP_KEY_INT, "8"),
	{ "ChargingScheduleAllowedChargingRateUnit", "SmartChargingCtrlr",
	  "RateUnit", NULL, OCPP_KEY_MEMBERLIST, true, 0, 0, -1,
	  "Current,Power", "A,W" },
	CONST("ChargingScheduleMaxPeriods", "SmartChargingCtrlr", "PeriodsPerSchedule",
	    OCPP_KEY_INT, "24"),
	{ "MaxChargingProfilesInstalled", "SmartChargingCtrlr", "Entries",
	  "ChargingProfiles", OCPP_KEY_INT, true, 0, 0, -1, "16", NULL },
	/* Security (1.6 security-extension keys, 2.0.1 SecurityCtrlr).  The
	 * profile is the configuration file's: read-only in both. */
	RUNTIME("SecurityProfile", "SecurityCtrlr", "SecurityProfile",
	    OCPP_KEY_INT),
	{ "CpoName", "SecurityCtrlr", "OrganizationName", NULL,
	  OCPP_KEY_ORGANIZATION, false, 0, 0, -1, NULL, NULL },
	RUNTIME(NULL, "SecurityCtrlr", "CertificateEntries", OCPP_KEY_INT),
	CONST("CertificateStoreMaxLength", NULL, NULL, OCPP_KEY_INT,
	    CERT_ROOTS_MAX_TEXT),
	/* No check of a new root against the installed ones (whitepaper
	 * §4.1.3): a new root is installed as it is. */
	CONST("AdditionalRootCertificateCheck", NULL, NULL, OCPP_KEY_BOOL,
	    "false"),
	/* 2.0.1 only. */
	CONST(NULL, "SecurityCtrlr", "Identity", OCPP_KEY_STR, NULL),
	CONST(NULL, "SmartChargingCtrlr", "Enabled", OCPP_KEY_BOOL, "true"),
	/* Every change of a limit is reported, however small. */
	FIXED(NULL, "SmartChargingCtrlr", "LimitChangeSignificance",
	    OCPP_KEY_DECIMAL, "0", NULL),
	CONST_I("DeviceDataCtrlr", "ItemsPerMessage", "GetReport",
	    OCPP_KEY_INT, ITEMS_TEXT),
	CONST_I("DeviceDataCtrlr", "ItemsPerMessage", "SetVariables",
	    OCPP_KEY_INT, ITEMS_TEXT),
	CONST_I("DeviceDataCtrlr", "BytesPerMessage", "GetReport",
	    OCPP_KEY_INT, BYTES_PER_MESSAGE),
	CONST_I("DeviceDataCtrlr", "BytesPerMessage", "GetVariables",
	    OCPP_KEY_INT, BYTES_PER_MESSAGE),
	CONST_I("DeviceDataCtrlr", "BytesPerMessage", "SetVariables",
	    OCPP_KEY_INT, BYTES_PER_MESSAGE),
	/* Firmware is fetched by the chargers, from an HTTP(S) URL. */
	{ NULL, "OCPPCommCtrlr", "FileTransferProtocols", NULL,
	  OCPP_KEY_MEMBERLIST, true, 0, 0, -1, "HTTP,HTTPS", "HTTP,HTTPS" },
	/* One connection profile, the configuration file's: nothing to
	 * switch to. */
	FIXED(NULL, "OCPPCommCtrlr", "NetworkConfigurationPriority",
	    OCPP_KEY_SEQUENCELIST, "1", "1"),
	FIXED(NULL, "OCPPCommCtrlr", "NetworkProfileConnectionAttempts",
	    OCPP_KEY_INT, "1", NULL),
	/* Every status is sent again after any reconnect. */
	FIXED(NULL, "OCPPCommCtrlr", "OfflineThreshold", OCPP_KEY_INT, "0",
	    NULL),
	RUNTIME(NULL, "LocalAuthListCtrlr", "Entries", OCPP_KEY_INT),
	CONST(NULL, "LocalAuthListCtrlr", "BytesPerMessage", OCPP_KEY_INT,
	    BYTES_PER_MESSAGE),
	/* A transaction is the charger's session from its first charging
	 * state (power path closed) to the last. */
	FIXED(NULL, "TxCtrlr", "TxStartPoint", OCPP_KEY_MEMBERLIST,
	    "PowerPathClosed", "PowerPathClosed"),
	FIXED(NULL, "TxCtrlr", "TxStopPoint", OCPP_KEY_MEMBERLIST,
	    "PowerPathClosed", "PowerPathClosed"),
	MEAS(NULL, "SampledDataCtrlr", "TxStartedMeasurands",
	    CI_START_MEASURANDS),
	/* The Ended event carries the end's values only. */
	FIXED(NULL, "SampledDataCtrlr", "TxEndedInterval", OCPP_KEY_INT, "0",
	    NULL),
	/* The aligned values of the Ended event are those of Interval. */
	RUNTIME(NULL, "AlignedDataCtrlr", "TxEndedInterval", OCPP_KEY_INT),
	RUNTIME(NULL, "ClockCtrlr", "DateTime", OCPP_KEY_DATETIME),
	{ NULL, "ClockCtrlr", "TimeSource", NULL, OCPP_KEY_SEQUENCELIST, false,
	  0, 0, CI_TIME_SOURCE, NULL, "NTP,Heartbeat" },
	{ NULL, NULL, NULL, NULL, OCPP_KEY_INT, true, 0, 0, -1, NULL, NULL },
};

/* ClockCtrlr TimeSource values, by enum ocpp_time_source: the system
 * clock (NTP) first and the CSMS's time (Heartbeat) when it is not
 * synchronised, the CSMS's only, the system's only. */
static const char *const time_sources[] = { "NTP,Heartbeat", "Heartbeat",
	"NTP" };

/* Measurand names, by bit (OCPP_MEAS_*). */
static const char *const measurands[] = {
	"Energy.Active.Import.Register", "Power.Active.Import",
	"Current.Import", "Voltage",
};

/* The measurand list of bits as comma-separated names into buf. */
static void
measurands_text(int bits, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(measurands); i++)
		if (bits & (1 << i) && o < len)
			o += (size_t)snprintf(buf + o, len - o, "%s%s",
			    o > 0 ? "," : "", measurands[i]);
}

/* Parses a comma-separated measurand list (spaces around names allowed,
 * empty = none) into *bits: 0, or -1 naming a measurand the station
 * cannot report (1.6 §9.1: Rejected). */
static int
measurands_parse(const char *value, long *bits)
{
	const char *p = value;

	*bits = 0;
	while (*p != '\0') {
		size_t n, i;

		p += strspn(p, " ");
		n = strcspn(p, ",");
		while (n > 0 && p[n - 1] == ' ')
			n--;
		for (i = 0; i < ARRAY_SIZE(measurands); i++)
			if (strlen(measurands[i]) == n &&
			    strncmp(measurands[i], p, n) == 0)
				break;
		if (i == ARRAY_SIZE(measurands))
			return n == 0 && p[strspn(p, " ")] == '\0' ? 0 : -1;
		*bits |= 1L << i;
		p += strcspn(p, ",");
		if (*p == ',' && *++p == '\0')
			return -1;	/* a trailing comma */
	}
	return 0;
}

void
ocpp_key_value(const struct ocpp_session *s, const struct ocpp_key_entry *e,
    char *buf, size_t len)
{
	if (e->type == OCPP_KEY_MEASURANDS && e->index >= 0) {
		measurands_text(s->cfg[e->index], buf, len);
		return;
	}
	if (e->index == CI_TIME_SOURCE) {
		snprintf(buf, len, "%s", time_sources[s->cfg[e->index]]);
		return;
	}
	if (e->index >= 0 && e->type == OCPP_KEY_BOOL) {
		snprintf(buf, len, "%s", s->cfg[e->index] ? "true" : "false");
		return;
	}
	if (e->index >= 0) {
		snprintf(buf, len, "%d", s->cfg[e->index]);
		return;
	}
	if (e->variable != NULL && strcmp(e->variable, "RateUnit") == 0 &&
	    !session_v16(s)) {
		snprintf(buf, len, "%s", e->values);	/* A, W */
		return;
	}
	if (e->constant != NULL) {
		snprintf(buf, len, "%s", e->constant);
		return;
	}
	/* Values known only at run time. */
	if (e->key16 != NULL && strcmp(e->key16, "NumberOfConnectors") == 0)
		snprintf(buf, len, "%d", s->station->n_connectors);
	else if (e->type == OCPP_KEY_PHASE_ROTATION)
		snprintf(buf, len, "%s", s->st.phase_rotation);
	else if (e->type == OCPP_KEY_ORGANIZATION)
		snprintf(buf, len, "%s", session_organization(s));
	else if (strcmp(e->variable, "CertificateEntries") == 0)
		snprintf(buf, len, "%d", session_certs_count(s));
	else if (strcmp(e->variable, "SecurityProfile") == 0)
		snprintf(buf, len, "%d", s->st.security_profile);
	else if (strcmp(e->variable, "Identity") == 0)
		snprintf(buf, len, "%s", s->st.identity);
	else if (strcmp(e->component, "LocalAuthListCtrlr") == 0)
		snprintf(buf, len, "%d", s->auth_list.n);	/* Entries */
	else if (strcmp(e->variable, "TxEndedInterval") == 0)
		snprintf(buf, len, "%d", s->cfg[CI_ALIGNED_INTERVAL]);
	else if (strcmp(e->variable, "DateTime") == 0 && len >= 32)
		session_now_stamp(s, buf, len);
	else
		buf[0] = '\0';
}

/* Parses value for the writable integer entry e into *v: 0, or -1 when e
 * is read-only or value is not a decimal integer within e's range. */
static int
entry_value(const struct ocpp_key_entry *e, const char *value, long *v)
{
	char *end;

	if (e->readonly || e->index < 0)
		return -1;
	if (e->type == OCPP_KEY_MEASURANDS)
		return measurands_parse(value, v);
	if (e->index == CI_TIME_SOURCE) {
		for (size_t i = 0; i < ARRAY_SIZE(time_sources); i++)
			if (strcmp(value, time_sources[i]) == 0) {
				*v = (long)i;
				return 0;
			}
		return -1;
	}
	if (e->type == OCPP_KEY_BOOL) {
		if (strcasecmp(value, "true") != 0 &&
		    strcasecmp(value, "false") != 0)
			return -1;
		*v = strcasecmp(value, "true") == 0;
		return 0;
	}
	*v = strtol(value, &end, 10);
	if (*value == '\0' || *end != '\0' || *v < e->min || *v > e->max)
		return -1;
	return 0;
}

/* True when value is a ConnectorPhaseRotation list (1.6 §9.1.9): items
 * "<connector>.<rotation>" separated by commas, connectors 0 and those of
 * s (any when s is NULL), the rotations of the spec. */
static bool
phase_rotation_ok(const char *value, const struct ocpp_session *s)
{
	static const char *const rotations[] = { "NotApplicable", "Unknown",
		"RST", "RTS", "SRT", "STR", "TRS", "TSR" };
	const char *p = value;

	if (strlen(value) > OCPP_PHASE_ROTATION_MAX)
		return false;
	for (;;) {
		char *end;
		size_t n, i;
		long k;

		p += strspn(p, " ");
		if (*p < '0' || *p > '9')
			return false;
		k = strtol(p, &end, 10);
		if ((s != NULL && k != 0 && (k > INT_MAX ||
		    !session_has_conn(s, (int)k))) || *end != '.')
			return false;
		p = end + 1;
		n = strcspn(p, ", ");
		for (i = 0; i < ARRAY_SIZE(rotations); i++)
			if (strlen(rotations[i]) == n &&
			    strncmp(rotations[i], p, n) == 0)
				break;
		if (i == ARRAY_SIZE(rotations))
			return false;
		p += n;
		p += strspn(p, " ");
		if (*p == '\0')
			return true;
		if (*p++ != ',')
			return false;
	}
}

/* True when value can be an organization name: 1 to
 * OCPP_ORGANIZATION_MAX bytes of UTF-8 without control characters. */
static bool
organization_ok(const char *value)
{
	const unsigned char *p = (const unsigned char *)value;
	size_t n = strlen(value);

	if (n == 0 || n > OCPP_ORGANIZATION_MAX)
		return false;
	while (*p != '\0') {
		size_t k = utf8_seq_len(p, strlen((const char *)p));

		if (k == 0 || *p < 0x20 || *p == 0x7f)
			return false;
		p += k;
	}
	return true;
}

const char *
session_organization(const struct ocpp_session *s)
{
	return s->st.organization[0] != '\0' ? s->st.organization :
	    s->station->vendor;
}

/* True when value is the one a FIXED entry has (a number equal to it, a
 * boolean in any case). */
static bool
fixed_value_ok(const struct ocpp_key_entry *e, const char *value)
{
	char *end;
	double v;

	if (e->type == OCPP_KEY_BOOL)
		return strcasecmp(value, e->constant) == 0;
	if (e->type == OCPP_KEY_INT || e->type == OCPP_KEY_DECIMAL) {
		v = strtod(value, &end);
		return *value != '\0' && *end == '\0' &&
		    v == strtod(e->constant, NULL);
	}
	return strcmp(value, e->constant) == 0;
}

/* The name a change of e is persisted under: its 1.6 key, else
 * "Component/Variable" (the session-owned 2.0.1 variables have no
 * instance). */
static const char *
persist_name(const struct ocpp_key_entry *e, char *buf, size_t len)
{
	if (e->key16 != NULL)
		return e->key16;
	snprintf(buf, len, "%s/%s", e->component, e->variable);
	return buf;
}

/* Tells the daemon to persist e's new value. */
static void
changed(struct ocpp_session *s, const struct ocpp_key_entry *e,
    const char *value)
{
	char name[96];

	if (s->cb->config_changed != NULL)
		s->cb->config_changed(s->ud, persist_name(e, name,
		    sizeof(name)), value);
}

enum ocpp_result
ocpp_key_set(struct ocpp_session *s, const struct ocpp_key_entry *e,
    const char *value)
{
	long v;

	if (e->index < 0 && !e->readonly && e->constant != NULL)
		return fixed_value_ok(e, value) ? OCPP_ACCEPTED : OCPP_REJECTED;
	if (e->type == OCPP_KEY_PHASE_ROTATION) {
		if (!phase_rotation_ok(value, s))
			return OCPP_REJECTED;
		strlcpy_ok(s->st.phase_rotation, value,
		    sizeof(s->st.phase_rotation));
		changed(s, e, value);
		return OCPP_ACCEPTED;
	}
	if (e->type == OCPP_KEY_ORGANIZATION) {
		if (!organization_ok(value))
			return OCPP_REJECTED;
		strlcpy_ok(s->st.organization, value,
		    sizeof(s->st.organization));
		changed(s, e, value);
		return OCPP_ACCEPTED;
	}
	if (entry_value(e, value, &v) < 0)
		return OCPP_REJECTED;
	s->cfg[e->index] = (int)v;
	if (e->index == CI_HEARTBEAT)
		s->next_heartbeat_ms = s->now_ms + v * 1000;
	if (e->index == CI_METER_INTERVAL)
		s->next_meter_ms = s->now_ms + v * 1000;
	if (e->index == CI_ALIGNED_INTERVAL)
		s->next_aligned_wall_ms = 0;	/* the next boundary of v */
	if (e->index == CI_TIME_SOURCE)
		session_clock_source_changed(s);
	changed(s, e, value);
	/* The ping policy is taken at connect time. */
	return e->index == CI_PING ? OCPP_REBOOT_REQUIRED : OCPP_ACCEPTED;
}

/* The daemon's key with this 1.6 name, or NULL. */
static const struct ocpp_ext_key *
ext_by_key16(const struct ocpp_session *s, const char *key)
{
	if (s->cb->ext_keys == NULL)
		return NULL;
	for (const struct ocpp_ext_key *k = s->cb->ext_keys; k->key16 != NULL ||
	    k->variable != NULL; k++)
		if (k->key16 != NULL && strcmp(k->key16, key) == 0)
			return k;
	return NULL;
}

/* The session's key with this 1.6 name, or NULL. */
static const struct ocpp_key_entry *
ocpp_key_by_key16(const char *key)
{
	for (const struct ocpp_key_entry *e = ocpp_key_table; e->key16 != NULL ||
	    e->component != NULL; e++)
		if (e->key16 != NULL && strcmp(e->key16, key) == 0)
			return e;
	return NULL;
}

/* Appends one {"key","readonly","value"} to a 1.6 configurationKey array,
 * opening the array when it is the first. */
static void
put_key16(struct ocpp_text *t, bool first, const char *key, bool ro,
    const char *value)
{
	char v[501];

	utf8_copy(v, sizeof(v), value);	/* CiString500 */
	ocpp_text_put(t, first ? "\"configurationKey\":[{\"key\":" :
	    ",{\"key\":");
	ocpp_text_str(t, key);
	ocpp_text_put(t, ro ? ",\"readonly\":true,\"value\":" :
	    ",\"readonly\":false,\"value\":");
	ocpp_text_str(t, v);
	ocpp_text_raw(t, "}", 1);
}

/* The value of a 1.6 key into buf: the daemon's key k first, then the
 * session's entry e (either may be NULL).  0, or -1 when neither has it. */
static int
value16(struct ocpp_session *s, const struct ocpp_ext_key *k,
    const struct ocpp_key_entry *e, char *buf, size_t len, bool *ro)
{
	if (k != NULL && s->cb->config_get != NULL &&
	    s->cb->config_get(s->ud, k, buf, len) == 0) {
		*ro = k->readonly;
		return 0;
	}
	if (e == NULL)
		return -1;
	ocpp_key_value(s, e, buf, len);
	*ro = e->readonly;
	return 0;
}

/* value16 of the 1.6 key of this name. */
static int
key16_value(struct ocpp_session *s, const char *key, char *buf, size_t len,
    bool *ro)
{
	return value16(s, ext_by_key16(s, key), ocpp_key_by_key16(key), buf,
	    len, ro);
}

void
ocpp_get_configuration(struct ocpp_session *s, json_t *req,
    struct ocpp_text *t)
{
	json_t *keys = json_object_get(req, "key"), *k;
	size_t n = json_array_size(keys), i, n_known = 0, n_unknown = 0;
	char buf[512];
	bool ro;

	/* Empty arrays are left out (2.0.1 part 4 §4.1.5 says so; 1.6
	 * peers accept either). */
	ocpp_text_raw(t, "{", 1);
	if (n > 0) {
		json_array_foreach(keys, i, k) {
			const char *key = json_string_value(k);

			if (key16_value(s, key, buf, sizeof(buf), &ro) != 0)
				continue;
			put_key16(t, n_known++ == 0, key, ro, buf);
		}
		if (n_known > 0)
			ocpp_text_raw(t, "]", 1);
		json_array_foreach(keys, i, k) {
			const char *key = json_string_value(k);

			if (key16_value(s, key, buf, sizeof(buf), &ro) == 0)
				continue;
			ocpp_text_put(t, n_unknown > 0 ? "," : n_known > 0 ?
			    ",\"unknownKey\":[" : "\"unknownKey\":[");
			ocpp_text_str(t, key);
			n_unknown++;
		}
		if (n_unknown > 0)
			ocpp_text_raw(t, "]", 1);
		ocpp_text_raw(t, "}", 1);
		return;
	}
	/* Every key: the session's (unless the daemon has one of that name),
	 * then the daemon's. */
	for (const struct ocpp_key_entry *e = ocpp_key_table;
	    e->key16 != NULL || e->component != NULL; e++)
		if (e->key16 != NULL && ext_by_key16(s, e->key16) == NULL &&
		    value16(s, NULL, e, buf, sizeof(buf), &ro) == 0)
			put_key16(t, n_known++ == 0, e->key16, ro, buf);
	if (s->cb->ext_keys != NULL)
		for (const struct ocpp_ext_key *x = s->cb->ext_keys;
		    x->key16 != NULL || x->variable != NULL; x++)
			if (x->key16 != NULL && value16(s, x,
			    ocpp_key_by_key16(x->key16), buf, sizeof(buf),
			    &ro) == 0)
				put_key16(t, n_known++ == 0, x->key16, ro, buf);
	ocpp_text_put(t, n_known > 0 ? "]}" : "}");
}

/* 1.6 ConfigurationStatus of a result. */
static const char *
config_status16(enum ocpp_result r)
{
	switch (r) {
	case OCPP_ACCEPTED:
		return "Accepted";
	case OCPP_REBOOT_REQUIRED:
		return "RebootRequired";
	case OCPP_NOT_SUPPORTED:
	case OCPP_UNKNOWN:
		return "NotSupported";
	case OCPP_REJECTED:
	case OCPP_SCHEDULED:
		return "Rejected";
	}
	return "Rejected";
}

json_t *
ocpp_change_configuration(struct ocpp_session *s, json_t *req)
{
	const char *key = json_string_value(json_object_get(req, "key"));
	const char *value = json_string_value(json_object_get(req, "value"));
	const struct ocpp_ext_key *k = ext_by_key16(s, key);
	const struct ocpp_key_entry *e;
	enum ocpp_result r = OCPP_UNKNOWN;

	/* Write only (security whitepaper): set here, never read back. */
	if (key != NULL && strcmp(key, "AuthorizationKey") == 0)
		return json_pack("{ss}", "status", config_status16(
		    session_security_set_password(s, value)));
	if (k != NULL && s->cb->config_set != NULL) {
		char *cause = NULL;

		r = k->readonly ? OCPP_REJECTED :
		    s->cb->config_set(s->ud, k, value, &cause);
		free(cause);
	} else if ((e = ocpp_key_by_key16(key)) != NULL) {
		r = ocpp_key_set(s, e, value);
	}
	return json_pack("{ss}", "status", config_status16(r));
}

/* ---- 2.0.1 device model ---- */

/* Compares an optional instance with the table's. */
static bool
same_instance(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Finds a variable: *e for the session's, *k for the daemon's.  Returns 0,
 * -1 unknown component, -2 unknown variable. */
static int
find_var(struct ocpp_session *s, const char *comp, const char *var,
    const char *inst, const struct ocpp_key_entry **e,
    const struct ocpp_ext_key **k)
{
	bool comp_known = false;

	*e = NULL;
	*k = NULL;
	if (s->cb->ext_keys != NULL)
		for (const struct ocpp_ext_key *x = s->cb->ext_keys;
		    x->key16 != NULL || x->variable != NULL; x++) {
			if (x->component == NULL || strcmp(x->component, comp) != 0)
				continue;
			comp_known = true;
			if (inst == NULL && strcmp(x->variable, var) == 0) {
				*k = x;
				return 0;
			}
		}
	for (const struct ocpp_key_entry *c = ocpp_key_table; c->key16 != NULL ||
	    c->component != NULL; c++) {
		if (c->component == NULL || strcmp(c->component, comp) != 0)
			continue;
		comp_known = true;
		if (strcmp(c->variable, var) == 0 && same_instance(c->instance, inst)) {
			*e = c;
			return 0;
		}
	}
	return comp_known ? -2 : -1;
}

/* ---- ChargingStation, EVSE and Connector: read-only state from the
 * station model (device-model appendix: AvailabilityState, Available,
 * SupplyPhases of each, an EVSE's Power, a connector's ConnectorType),
 * one EVSE per connector with connector 1. ---- */
enum { IN_STATION = 1, IN_EVSE = 2, IN_CONNECTOR = 4 };
static const struct {
	const char *name;
	enum ocpp_key_type type;
	int in;			/* IN_* bits: the components that have it */
	const char *values;	/* valuesList */
} station_vars[] = {
	{ "AvailabilityState", OCPP_KEY_OPTIONLIST, 7,
	  "Available,Occupied,Reserved,Unavailable,Faulted" },
	{ "Available", OCPP_KEY_BOOL, 7, NULL },
	{ "SupplyPhases", OCPP_KEY_INT, 7, NULL },
	{ "Power", OCPP_KEY_DECIMAL, IN_EVSE, NULL },
	{ "ConnectorType", OCPP_KEY_OPTIONLIST, IN_CONNECTOR, "cType1,sType2,Unknown" },
};

/* The station component a request's component names: 0 for the charging
 * station, k for EVSE k or its connector 1 (*in the IN_ bit of which);
 * -1 when it is none of them, -2 when it names an EVSE or connector that
 * does not exist. */
static int
station_component(const struct ocpp_session *s, json_t *comp, int *in)
{
	const char *name = json_string_value(json_object_get(comp, "name"));
	json_t *evse = json_object_get(comp, "evse");
	json_t *jc = json_object_get(evse, "connectorId");
	json_int_t id = json_integer_value(json_object_get(evse, "id"));
	bool conn = strcmp(name, "Connector") == 0;

	*in = IN_STATION;
	if (strcmp(name, "ChargingStation") == 0)
		return evse == NULL ? 0 : -2;
	if (!conn && strcmp(name, "EVSE") != 0)
		return -1;
	if (evse == NULL || id < 1 || id > s->station->n_connectors ||
	    !session_has_conn(s, (int)id))
		return -2;
	if (conn ? jc == NULL || json_integer_value(jc) != 1 : jc != NULL)
		return -2;
	*in = conn ? IN_CONNECTOR : IN_EVSE;
	return (int)id;
}

/* Index of a station variable (no instance) of the IN_ component in, or
 * -1. */
static int
station_var(const char *var, const char *inst, int in)
{
	for (size_t i = 0; inst == NULL && i < ARRAY_SIZE(station_vars); i++)
		if ((station_vars[i].in & in) != 0 &&
		    strcmp(station_vars[i].name, var) == 0)
			return (int)i;
	return -1;
}

/* ConnectorEnumType of a connector's type register (1y145): Type 1 is
 * a fixed cable, Type 2 a socket (the charger can unlock it). */
static const char *
connector_type(int reg)
{
	return reg == 4 ? "cType1" : reg == 5 ? "sType2" : "Unknown";
}

/* Value of station variable i of EVSE k (0 = the station) into buf. */
static void
station_value(const struct ocpp_session *s, int k, int i, char *buf,
    size_t len)
{
	const struct ocpp_connector *c = &s->station->conn[k];
	const char *v = station_vars[i].name;

	if (strcmp(v, "AvailabilityState") == 0)
		snprintf(buf, len, "%s", status_name201(c->status));
	else if (strcmp(v, "Available") == 0)
		snprintf(buf, len, "true");
	else if (strcmp(v, "SupplyPhases") == 0)
		snprintf(buf, len, "%d", c->phases == 1 ? 1 : 3);
	else if (strcmp(v, "Power") == 0)
		snprintf(buf, len, "%.0f", c->meter_valid &&
		    isfinite(c->power_w) && fabs(c->power_w) < 1e9 ?
		    c->power_w : 0.0);
	else
		snprintf(buf, len, "%s", connector_type(c->connector_type));
}

/* Looks a request's component / variable up: in the station model (*sv
 * its variable, *sk its EVSE), else the tables (find_var).  Returns 0,
 * -1 unknown component, -2 unknown variable. */
static int
lookup_var(struct ocpp_session *s, json_t *item, int *sk, int *sv,
    const struct ocpp_key_entry **e, const struct ocpp_ext_key **k)
{
	json_t *c = json_object_get(item, "component");
	json_t *v = json_object_get(item, "variable");
	const char *var = json_string_value(json_object_get(v, "name"));
	const char *inst = json_string_value(json_object_get(v, "instance"));

	int in;

	*sv = -1;
	*sk = station_component(s, c, &in);
	if (*sk == -1 && json_object_get(c, "evse") != NULL)
		return -1;	/* the tables' components are station-wide */
	if (*sk == -1)
		return find_var(s, json_string_value(json_object_get(c, "name")),
		    var, inst, e, k);
	if (*sk == -2)
		return -1;
	*sv = station_var(var, inst, in);
	return *sv < 0 ? -2 : 0;
}

/* True for SecurityCtrlr.BasicAuthPassword: write only, kept by
 * security.c, never read back. */
static bool
is_basic_auth_password(json_t *item)
{
	json_t *c = json_object_get(item, "component");
	json_t *v = json_object_get(item, "variable");
	const char *comp = json_string_value(json_object_get(c, "name"));
	const char *var = json_string_value(json_object_get(v, "name"));

	return comp != NULL && var != NULL &&
	    json_object_get(c, "evse") == NULL &&
	    json_object_get(v, "instance") == NULL &&
	    strcmp(comp, "SecurityCtrlr") == 0 &&
	    strcmp(var, "BasicAuthPassword") == 0;
}

void
ocpp_get_variables(struct ocpp_session *s, json_t *req, struct ocpp_text *t)
{
	json_t *item;
	size_t i;

	ocpp_text_put(t, "{\"getVariableResult\":[");
	json_array_foreach(json_object_get(req, "getVariableData"), i, item) {
		const char *at = json_string_value(json_object_get(item,
		    "attributeType"));
		const struct ocpp_key_entry *e;
		const struct ocpp_ext_key *k;
		const char *status = "Accepted";
		char buf[1001];
		int rc, sk, sv;

		rc = lookup_var(s, item, &sk, &sv, &e, &k);
		if (is_basic_auth_password(item))
			status = "Rejected";	/* WriteOnly */
		else if (rc == -1)
			status = "UnknownComponent";
		else if (rc == -2)
			status = "UnknownVariable";
		else if (at != NULL && strcmp(at, "Actual") != 0)
			status = "NotSupportedAttributeType";
		else if (sv >= 0)
			station_value(s, sk, sv, buf, sizeof(buf));
		else if (k != NULL) {
			if (s->cb->config_get == NULL ||
			    s->cb->config_get(s->ud, k, buf, sizeof(buf)) != 0)
				buf[0] = '\0';
		} else
			ocpp_key_value(s, e, buf, sizeof(buf));
		/* component and variable echoed as they came. */
		ocpp_text_put(t, i > 0 ? ",{\"component\":" :
		    "{\"component\":");
		ocpp_text_json(t, json_object_get(item, "component"));
		ocpp_text_put(t, ",\"variable\":");
		ocpp_text_json(t, json_object_get(item, "variable"));
		if (at != NULL) {
			ocpp_text_put(t, ",\"attributeType\":");
			ocpp_text_str(t, at);
		}
		ocpp_text_put(t, ",\"attributeStatus\":\"");
		ocpp_text_put(t, status);
		ocpp_text_raw(t, "\"", 1);
		if (rc == 0 && strcmp(status, "Accepted") == 0) {
			ocpp_text_put(t, ",\"attributeValue\":");
			ocpp_text_str(t, buf);
		}
		ocpp_text_raw(t, "}", 1);
	}
	ocpp_text_put(t, "]}");
}

/* Echoes component and variable of a request item into a result item;
 * -1 when memory ran out. */
static int
echo_cv(json_t *res, json_t *item)
{
	return json_object_set(res, "component", json_object_get(item,
	    "component")) | json_object_set(res, "variable",
	    json_object_get(item, "variable"));
}

json_t *
ocpp_set_variables(struct ocpp_session *s, json_t *req)
{
	json_t *out = json_array(), *item;
	size_t i;
	int built = out != NULL ? 0 : -1;	/* -1: a part is missing */

	json_array_foreach(json_object_get(req, "setVariableData"), i, item) {
		const char *at = json_string_value(json_object_get(item,
		    "attributeType"));
		const char *value = json_string_value(json_object_get(item,
		    "attributeValue"));
		const struct ocpp_key_entry *e;
		const struct ocpp_ext_key *k;
		json_t *r = json_object();
		const char *status;
		int rc, sk, sv;

		built |= r != NULL ? echo_cv(r, item) : -1;
		if (at != NULL)
			built |= json_object_set_new(r, "attributeType",
			    json_string(at));
		rc = lookup_var(s, item, &sk, &sv, &e, &k);
		if (is_basic_auth_password(item)) {
			status = at != NULL && strcmp(at, "Actual") != 0 ?
			    "NotSupportedAttributeType" :
			    session_security_set_password(s, value) ==
			    OCPP_ACCEPTED ? "Accepted" : "Rejected";
		} else if (rc == -1) {
			status = "UnknownComponent";
		} else if (rc == -2) {
			status = "UnknownVariable";
		} else if (at != NULL && strcmp(at, "Actual") != 0) {
			status = "NotSupportedAttributeType";
		} else {
			enum ocpp_result res;

			if (sv >= 0) {
				res = OCPP_REJECTED;	/* read-only state */
			} else if (k != NULL) {
				char *cause = NULL;

				res = k->readonly || s->cb->config_set == NULL ?
				    OCPP_REJECTED :
				    s->cb->config_set(s->ud, k, value, &cause);
				free(cause);
			} else {
				res = ocpp_key_set(s, e, value);
			}
			status = res == OCPP_ACCEPTED ? "Accepted" :
			    res == OCPP_REBOOT_REQUIRED ? "RebootRequired" :
			    "Rejected";
		}
		built |= json_object_set_new(r, "attributeStatus",
		    json_string(status));
		built |= json_array_append_new(out, r);
	}
	/* A result with a part missing would be wrong: none (InternalError). */
	if (built != 0) {
		log_warnx("ocpp: SetVariables answer not built: out of memory");
		json_decref(out);
		return NULL;
	}
	return json_pack("{so}", "setVariableResult", out);
}

/* The 2.0.1 dataType of a key type. */
static const char *
data_type(enum ocpp_key_type type)
{
	switch (type) {
	case OCPP_KEY_INT:
		return "integer";
	case OCPP_KEY_BOOL:
		return "boolean";
	case OCPP_KEY_MEASURANDS:
	case OCPP_KEY_MEMBERLIST:
		return "MemberList";
	case OCPP_KEY_SEQUENCELIST:
		return "SequenceList";
	case OCPP_KEY_OPTIONLIST:
		return "OptionList";
	case OCPP_KEY_DATETIME:
		return "dateTime";
	case OCPP_KEY_DECIMAL:
		return "decimal";
	case OCPP_KEY_STR:
	case OCPP_KEY_PHASE_ROTATION:
	case OCPP_KEY_ORGANIZATION:
		break;
	}
	return "string";
}

/* One reportData entry; values is the valuesList of a list type. */
static json_t *
report_item(const char *comp, int evse, int connector, const char *var,
    const char *inst, bool ro, enum ocpp_key_type type, const char *values,
    const char *value)
{
	json_t *c = json_pack("{ss}", "name", comp);
	json_t *v = json_pack("{ss}", "name", var);
	json_t *item;
	char val[2501];
	int built = c != NULL && v != NULL ? 0 : -1;

	if (evse > 0)
		built |= json_object_set_new(c, "evse", connector > 0 ?
		    json_pack("{sisi}", "id", evse, "connectorId", connector) :
		    json_pack("{si}", "id", evse));
	if (inst != NULL)
		built |= json_object_set_new(v, "instance", json_string(inst));
	if (built != 0) {
		json_decref(c);
		json_decref(v);
		return NULL;
	}
	strlcpy_ok(val, value, sizeof(val));
	item = json_pack("{soso s[{sssssssb}] s{sssb}}",
	    "component", c,
	    "variable", v,
	    "variableAttribute", "type", "Actual", "value", val,
	    "mutability", ro ? "ReadOnly" : "ReadWrite", "persistent", true,
	    "variableCharacteristics", "dataType", data_type(type),
	    "supportsMonitoring", false);
	if (item != NULL && values != NULL && json_object_set_new(
	    json_object_get(item, "variableCharacteristics"), "valuesList",
	    json_string(values)) != 0) {
		json_decref(item);
		return NULL;
	}
	return item;
}

int
ocpp_send_report(struct ocpp_session *s, int request_id,
    const char *report_base)
{
	bool config_only = strcmp(report_base, "ConfigurationInventory") == 0;
	json_t *data = json_array();
	char buf[1001], when[40];
	size_t n;
	int built = data != NULL ? 0 : -1;	/* -1: an item is missing */

	for (const struct ocpp_key_entry *e = ocpp_key_table; e->key16 != NULL ||
	    e->component != NULL; e++) {
		if (e->component == NULL || (config_only && e->readonly))
			continue;
		ocpp_key_value(s, e, buf, sizeof(buf));
		built |= json_array_append_new(data, report_item(e->component,
		    0, 0, e->variable, e->instance, e->readonly, e->type,
		    e->values, buf));
	}
	if (s->cb->ext_keys != NULL)
		for (const struct ocpp_ext_key *x = s->cb->ext_keys;
		    x->key16 != NULL || x->variable != NULL; x++) {
			if (x->component == NULL || (config_only && x->readonly))
				continue;
			if (s->cb->config_get == NULL ||
			    s->cb->config_get(s->ud, x, buf, sizeof(buf)) != 0)
				buf[0] = '\0';
			built |= json_array_append_new(data,
			    report_item(x->component, 0, 0,
			    x->variable, NULL, x->readonly, OCPP_KEY_STR, NULL,
			    buf));
		}
	for (int k = 0; !config_only && k <= s->station->n_connectors; k++)
		for (int in = k == 0 ? IN_STATION : IN_EVSE; in <= (k == 0 ?
		    IN_STATION : IN_CONNECTOR); in <<= 1)
			for (size_t i = 0; i < ARRAY_SIZE(station_vars); i++) {
				const struct ocpp_connector *c =
				    &s->station->conn[k];
				json_t *it, *ch, *attr;

				/* A gap in the ids is no EVSE. */
				if ((station_vars[i].in & in) == 0 ||
				    (k > 0 && !session_has_conn(s, k)))
					continue;
				station_value(s, k, (int)i, buf, sizeof(buf));
				it = report_item(in == IN_STATION ?
				    "ChargingStation" : in == IN_EVSE ? "EVSE" :
				    "Connector", k, in == IN_CONNECTOR ? 1 : 0,
				    station_vars[i].name, NULL, true,
				    station_vars[i].type, station_vars[i].values,
				    buf);
				/* State, not a setting. */
				attr = json_array_get(json_object_get(it,
				    "variableAttribute"), 0);
				built |= json_object_set_new(attr, "persistent",
				    json_false());
				ch = json_object_get(it, "variableCharacteristics");
				if (strcmp(station_vars[i].name, "Power") == 0) {
					/* The appendix requires the maximum. */
					built |= json_object_set_new(ch, "unit",
					    json_string("W"));
					if (c->max_power_w > 0 &&
					    c->max_power_w < 1e7)
						built |= json_object_set_new(ch,
						    "maxLimit",
						    json_real(c->max_power_w));
				}
				built |= json_array_append_new(data, it);
			}
	if (built != 0) {
		log_warnx("ocpp: GetBaseReport: the report could not be built "
		    "(out of memory)");
		json_decref(data);
		return -1;
	}
	format_rfc3339(session_wall_ms(s), when, sizeof(when));
	n = json_array_size(data);
	for (size_t i = 0, seq = 0; i < n; seq++) {
		json_t *part = json_array();

		for (size_t j = 0; j < OCPP_ITEMS_PER_MESSAGE && i < n; j++)
			built |= json_array_append(part, json_array_get(data,
			    i++));
		if (built != 0) {	/* not sent with an item missing */
			json_decref(part);
			part = NULL;
		}
		/* Queued whole, or dropped with a warning. */
		session_push_call(s, "NotifyReport", part == NULL ? NULL :
		    json_pack("{sisssbsiso}", "requestId", request_id,
		    "generatedAt", when, "tbc", i < n, "seqNo", (int)seq,
		    "reportData", part));
		built = 0;
	}
	json_decref(data);
	return 0;
}

int
ocpp_settings_apply(struct ocpp_settings *st, const char *key16,
    const char *value)
{
	const struct ocpp_key_entry *e = ocpp_key_by_key16(key16);
	char name[96];

	for (const struct ocpp_key_entry *x = ocpp_key_table; e == NULL &&
	    (x->key16 != NULL || x->component != NULL); x++)
		if (x->key16 == NULL && x->index >= 0 && strcmp(persist_name(x,
		    name, sizeof(name)), key16) == 0)
			e = x;
	long v;
	int *field = NULL;

	if (e != NULL && e->type == OCPP_KEY_PHASE_ROTATION) {
		if (!phase_rotation_ok(value, NULL))
			return -1;
		strlcpy_ok(st->phase_rotation, value, sizeof(st->phase_rotation));
		return 0;
	}
	if (e != NULL && e->type == OCPP_KEY_ORGANIZATION) {
		if (!organization_ok(value))
			return -1;
		strlcpy_ok(st->organization, value, sizeof(st->organization));
		return 0;
	}
	if (e == NULL || entry_value(e, value, &v) < 0)
		return -1;
	switch ((enum ocpp_key_int)e->index) {
	case CI_HEARTBEAT: field = &st->heartbeat_interval_s; break;
	case CI_METER_INTERVAL: field = &st->meter_interval_s; break;
	case CI_TX_ATTEMPTS: field = &st->tx_attempts; break;
	case CI_TX_RETRY: field = &st->tx_retry_interval_s; break;
	case CI_PING: field = &st->ping_interval_s; break;
	case CI_BACKOFF_MIN: field = &st->retry_backoff_min_s; break;
	case CI_BACKOFF_RANDOM: field = &st->retry_backoff_random_s; break;
	case CI_BACKOFF_REPEAT: field = &st->retry_backoff_repeat; break;
	case CI_CALL_TIMEOUT: field = &st->call_timeout_s; break;
	case CI_ALIGNED_INTERVAL: field = &st->aligned_interval_s; break;
	case CI_SAMPLED_MEASURANDS: field = &st->sampled_measurands; break;
	case CI_ALIGNED_MEASURANDS: field = &st->aligned_measurands; break;
	case CI_STOP_MEASURANDS: field = &st->stop_measurands; break;
	case CI_STOP_ALIGNED_MEASURANDS:
		field = &st->stop_aligned_measurands;
		break;
	case CI_RESET_RETRIES: field = &st->reset_retries; break;
	case CI_START_MEASURANDS: field = &st->start_measurands; break;
	case CI_TIME_SOURCE: field = &st->time_source; break;
	case CI_STOP_ON_INVALID: field = &st->stop_tx_on_invalid_id; break;
	case CI_LOCAL_PRE_AUTH: field = &st->local_pre_authorize; break;
	case CI_LOCAL_AUTH_OFFLINE: field = &st->local_authorize_offline; break;
	case CI_AUTH_CACHE_ENABLED: field = &st->auth_cache_enabled; break;
	case CI_LOCAL_LIST_ENABLED: field = &st->local_list_enabled; break;
	case CI_OFFLINE_UNKNOWN: field = &st->offline_tx_unknown_id; break;
	case CI_CONNECTION_TIMEOUT: field = &st->connection_timeout_s; break;
	case CI_UNLOCK_ON_EV_DISCONNECT:
		field = &st->unlock_on_ev_disconnect;
		break;
	case CI_COUNT: return -1;
	}
	if (field == NULL)
		return -1;
	*field = (int)v;
	return 0;
}
