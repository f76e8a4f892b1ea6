/* The schema: one declarative table per section (type, default, range,
 * unit), from which load.c builds libconfuse's option table, and the
 * names of the enumerated values. */
#include "config/config-private.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "paths.h"
#include "southbound/southbound.h"

#define INT(n, d, lo, hi, u) { n, K_INT, d, NULL, lo, hi, NULL, u, 0, NULL }
#define KW(n, d, lo, hi, fl) { n, K_KW, d, NULL, lo, hi, NULL, "kW", fl, NULL }
#define STR(n, d, len, fl) { n, K_STR, 0, d, 0, len, NULL, NULL, fl, NULL }
#define ENUM(n, d, ch) { n, K_ENUM, 0, d, 0, 0, ch, NULL, 0, NULL }
#define SEC(n, s) { n, K_SEC, 0, NULL, 0, 0, NULL, NULL, 0, s }
#define END { NULL, K_INT, 0, NULL, 0, 0, NULL, NULL, 0, NULL }

const char *const cfg_link_choices[] = { "tcp", "tcp-listen", "rtu", NULL };
const char *const cfg_meter_link_choices[] = { "tcp", "rtu", NULL };
const char *const cfg_parity_choices[] = { "none", "even", "odd", NULL };
const char *const cfg_model_choices[] = {
	"autel-ac-wallbox", "autel-ac-compact", "autel-ac-ultra",
	"autel-single", "autel-dc", NULL
};
const char *const cfg_dist_choices[] = {
	"1-phase-tn", "1-phase-it", "3-phase-tn", "3-phase-it", NULL
};
const char *const cfg_version_choices[] = { "1.6", "2.0.1", NULL };
const char *const cfg_mode_choices[] = { "dlb", "alm", "pv", NULL };
const char *const cfg_pv_choices[] = {
	"full-green", "green-priority", "speed-priority", NULL
};
const char *const cfg_meter_choices[] = { "sdm630", "sdm230", "sdm120", NULL };
static const char *const phases_choices[] = { "1", "3", NULL };
static const char *const bool_choices[] = { "false", "true", NULL };
const char *const cfg_phase_choices[] = { "L1", "L2", "L3", NULL };
const char *const cfg_control_choices[] = { "power", "current", NULL };
const char *const cfg_words_choices[] = {
	"model", "high-first", "low-first", NULL
};
const char *const cfg_level_choices[] = {
	"error", "warning", "info", "debug", NULL
};
const char *const cfg_offline_profiles_choices[] = {
	"all", "station-max", "none", NULL
};
const char *const cfg_target_choices[] = { "stderr", "syslog", NULL };
const char *const cfg_bool_choices[] = { "false", "true", NULL };
const char *const cfg_csms_time_choices[] = { "auto", "yes", "no", NULL };

/* balancer.offline-meter-power-kw's default: 10 % of the available power */
#define DEF_PERCENT_OF_AVAILABLE (-1.0)

static const struct opt_def circuit_opts[] = {
	{ "max-current-a", K_INT, 0, NULL, 1, 4000, NULL, "A", F_REQ, NULL },
	STR("parent", "", CFG_NAME_MAX - 1, 0),
	END,
};
const struct sec_def cfg_circuit_sec = {
	"circuit", "site.circuit", true, circuit_opts,
};

static const struct opt_def site_opts[] = {
	STR("id", "site", CFG_NAME_MAX - 1, 0),
	ENUM("distribution", "3-phase-tn", cfg_dist_choices),
	INT("nominal-voltage-v", 230, 100, 480, "V"),
	INT("main-breaker-a", 63, 1, 4000, "A"),
	KW("available-power-kw", 0, 1, 10000, F_REQ | F_WHOLE),
	SEC("circuit", &cfg_circuit_sec),
	END,
};

static const struct opt_def csms_opts[] = {
	STR("url", "", CFG_URL_MAX - 1, 0),
	ENUM("ocpp-version", "1.6", cfg_version_choices),
	STR("identity", "", CFG_IDENTITY_MAX - 1, 0),
	INT("security-profile", 1, 1, 3, ""),
	STR("password", "", CFG_PASSWORD_MAX - 1, F_SECRET),
	STR("ca-file", "", CFG_PATH_MAX - 1, 0),
	STR("client-cert", "", CFG_PATH_MAX - 1, 0),
	STR("client-key", "", CFG_PATH_MAX - 1, 0),
	INT("heartbeat-interval-s", 300, 1, 86400, "s"),
	INT("retry-backoff-min-s", 10, 0, 3600, "s"),
	INT("retry-backoff-random-s", 10, 0, 3600, "s"),
	INT("retry-backoff-repeat", 5, 0, 100, ""),
	INT("ping-interval-s", 30, 0, 3600, "s"),
	INT("ping-timeout-s", 10, 1, 600, "s"),
	STR("id-tag", "gateway", CFG_ID_TAG_MAX - 1, 0),
	INT("tx-unreachable-max-s", 0, 0, 604800, "s"),
	ENUM("allow-remote-site", "true", cfg_bool_choices),
	STR("remote-site-hosts", CFG_REMOTE_HOSTS_DEFAULT, CFG_ALLOW_MAX - 1, 0),
	STR("remote-site-devices", CFG_REMOTE_DEVICES_DEFAULT,
	    CFG_ALLOW_MAX - 1, 0),
	ENUM("use-csms-time", "auto", cfg_csms_time_choices),
	END,
};

static const struct opt_def balancer_opts[] = {
	ENUM("mode", "dlb", cfg_mode_choices),
	ENUM("pv-mode", "green-priority", cfg_pv_choices),
	INT("reserve-pct", 10, 0, 50, "%"),
	KW("min-power-1ph-kw", 1.4, 1.4, 7.4, 0),
	KW("min-power-3ph-kw", 4.2, 4.2, 22, 0),
	KW("offline-meter-power-kw", DEF_PERCENT_OF_AVAILABLE, 0, 10000, 0),
	KW("offline-site-power-kw", 0, 0, 10000, 0),
	INT("offline-site-delay-s", 60, 0, 3600, "s"),
	INT("phase-switch-dwell-s", 300, 10, 86400, "s"),
	INT("phase-switch-confirm-s", 30, 0, 3600, "s"),
	INT("resolution-w", 100, 1, 1000, "W"),
	ENUM("offline-profiles", "all", cfg_offline_profiles_choices),
	END,
};

static const struct opt_def meter_opts[] = {
	ENUM("type", "sdm630", cfg_meter_choices),
	ENUM("link", "tcp", cfg_meter_link_choices),
	STR("host", "", CFG_HOST_MAX - 1, 0),
	INT("port", 502, 1, 65535, ""),
	INT("unit-id", 1, 1, 247, ""),
	STR("device", "", CFG_DEVICE_MAX - 1, 0),
	INT("baud", 9600, 1200, 115200, "baud"),
	ENUM("parity", "none", cfg_parity_choices),
	INT("stop-bits", 1, 1, 2, ""),
	INT("max-age-s", 3, 1, 3600, "s"),
	INT("poll-interval-ms", 1000, 100, 60000, "ms"),
	END,
};

static const struct opt_def southbound_opts[] = {
	STR("listen", "0.0.0.0:5502", CFG_HOST_MAX - 1, 0),
	INT("response-timeout-ms", 500, 50, 10000, "ms"),
	INT("comm-timeout-s", 30, 1, 3600, "s"),
	INT("offline-after-failures", 3, 1, 100, ""),
	END,
};

static const struct opt_def charger_opts[] = {
	{ "model", K_ENUM, 0, "autel-ac-wallbox", 0, 0, cfg_model_choices, NULL,
	  F_REQ, NULL },
	ENUM("link", "tcp", cfg_link_choices),
	STR("host", "", CFG_HOST_MAX - 1, 0),
	INT("port", 502, 1, 65535, ""),
	INT("unit-id", 1, 1, 247, ""),
	STR("serial", "", CFG_NAME_MAX - 1, 0),
	STR("device", "", CFG_DEVICE_MAX - 1, 0),
	INT("baud", 9600, 1200, 115200, "baud"),
	ENUM("parity", "none", cfg_parity_choices),
	INT("stop-bits", 1, 1, 2, ""),
	INT("connectors", 1, 1, CFG_MAX_CONNECTORS, ""),
	ENUM("phases", "3", phases_choices),
	ENUM("wired-phase", "L1", cfg_phase_choices),
	ENUM("phase-switching", "false", bool_choices),
	KW("max-power-kw", 0, 1, 1000, F_REQ),
	KW("offline-power-kw", 0, 0, 1000, 0),
	STR("circuit", "", CFG_NAME_MAX - 1, 0),
	ENUM("control-unit", "power", cfg_control_choices),
	ENUM("word-order", "model", cfg_words_choices),
	INT("ocpp-id", 0, 0, CFG_MAX_OCPP_ID, ""),
	END,
};

static const struct opt_def store_opts[] = {
	STR("path", LOCALSTATEDIR "/lib/ocpp-edge/ocpp-edge.db",
	    CFG_PATH_MAX - 1, 0),
	END,
};

static const struct opt_def http_opts[] = {
	STR("listen", "127.0.0.1:8080", CFG_HOST_MAX + 7, 0),
	STR("password", "", CFG_PASSWORD_MAX - 1, 0),
	STR("cert", "", CFG_PATH_MAX - 1, 0),
	STR("key", "", CFG_PATH_MAX - 1, 0),
	END,
};

static const struct opt_def log_opts[] = {
	ENUM("level", "info", cfg_level_choices),
	ENUM("target", "stderr", cfg_target_choices),
	END,
};

const struct sec_def cfg_site_sec = { "site", "site", false, site_opts };
const struct sec_def cfg_csms_sec = { "csms", "csms", false, csms_opts };
const struct sec_def cfg_balancer_sec = {
	"balancer", "balancer", false, balancer_opts,
};
const struct sec_def cfg_meter_sec = { "meter", "meter", false, meter_opts };
const struct sec_def cfg_southbound_sec = {
	"southbound", "southbound", false, southbound_opts,
};
const struct sec_def cfg_charger_sec = {
	"charger", "charger", true, charger_opts,
};
const struct sec_def cfg_store_sec = { "store", "store", false, store_opts };
const struct sec_def cfg_http_sec = { "http", "http", false, http_opts };
const struct sec_def cfg_log_sec = { "log", "log", false, log_opts };

static const struct opt_def root_opts[] = {
	SEC("site", &cfg_site_sec),
	SEC("csms", &cfg_csms_sec),
	SEC("balancer", &cfg_balancer_sec),
	SEC("meter", &cfg_meter_sec),
	SEC("southbound", &cfg_southbound_sec),
	SEC("charger", &cfg_charger_sec),
	SEC("store", &cfg_store_sec),
	SEC("http", &cfg_http_sec),
	SEC("log", &cfg_log_sec),
	END,
};
const struct sec_def cfg_root_sec = { "root", "", false, root_opts };

static const struct sec_def *const all_secs[] = {
	&cfg_site_sec, &cfg_circuit_sec, &cfg_csms_sec, &cfg_balancer_sec,
	&cfg_meter_sec,
	&cfg_southbound_sec, &cfg_charger_sec, &cfg_store_sec, &cfg_http_sec,
	&cfg_log_sec,
};

/* Looks a section definition up by its libconfuse name (they are unique). */
const struct sec_def *
cfg_find_sec(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(all_secs); i++)
		if (strcmp(all_secs[i]->name, name) == 0)
			return all_secs[i];
	return NULL;
}

/* Looks an option up in a section definition; NULL when unknown. */
const struct opt_def *
cfg_find_opt(const struct sec_def *sd, const char *name)
{
	for (const struct opt_def *od = sd->opts; od->name != NULL; od++)
		if (strcmp(od->name, name) == 0)
			return od;
	return NULL;
}

/* Index of word in a list of names, or -1. */
int
cfg_choice_index(const char *const *choices, const char *word)
{
	for (int i = 0; choices[i] != NULL; i++)
		if (strcmp(choices[i], word) == 0)
			return i;
	return -1;
}

/* Formats a number of watts as kW without trailing zeros.  Returns buf. */
char *
cfg_fmt_kw(long w, char *buf, size_t len)
{
	snprintf(buf, len, "%g", (double)w / 1000.0);
	return buf;
}

/* Describes what an option accepts, for messages, the names of an
 * enumeration joined with sep.  Caller frees. */
char *
cfg_allowed_text(const struct opt_def *od, const char *sep)
{
	char *s = NULL, lo[32], hi[32];

	switch (od->kind) {
	case K_INT:
		xasprintf(&s, "%.0f..%.0f%s%s", od->min, od->max,
		    od->unit[0] != '\0' ? " " : "", od->unit);
		break;
	case K_KW:
		snprintf(lo, sizeof(lo), "%g", od->min);
		snprintf(hi, sizeof(hi), "%g", od->max);
		xasprintf(&s, "%s%s..%s kW", (od->flags & F_WHOLE) ?
		    "whole kW, " : "", lo, hi);
		break;
	case K_STR:
		xasprintf(&s, "text of at most %.0f characters", od->max);
		break;
	case K_ENUM: {
		size_t n = 1, j = 0;

		for (int i = 0; od->choices[i] != NULL; i++)
			n += strlen(od->choices[i]) + strlen(sep);
		s = xmalloc(n);
		for (int i = 0; od->choices[i] != NULL; i++)
			j += (size_t)snprintf(s + j, n - j, "%s%s", i > 0 ? sep :
			    "", od->choices[i]);
		break;
	}
	case K_SEC:
		s = xstrdup("a section { ... }");
		break;
	}
	return s;
}

/* Makes room for element n of an array grown by doubling (capacity is the
 * next power of two); returns the possibly moved array. */
void *
cfg_grow(void *array, size_t n, size_t size)
{
	if (n == 0 || (n & (n - 1)) == 0)
		array = xrealloc(array, (n == 0 ? 1 : 2 * n) * size);
	return array;
}


/* ---------------------------------------------------------------------
 * Names and printing
 */

/* The n-th name of a list, or "?" when n is out of it. */
const char *
cfg_choice_name(const char *const *choices, int n)
{
	for (int i = 0; choices[i] != NULL; i++)
		if (i == n)
			return choices[i];
	return "?";
}

/* The names of enumerated values come from the schema's lists only. */
const char *
cfg_model_name(enum cfg_model model)
{
	return cfg_choice_name(cfg_model_choices, (int)model);
}

const char *
cfg_link_kind_name(enum cfg_link_kind kind)
{
	return cfg_choice_name(cfg_link_choices, (int)kind);
}

const char *
cfg_balancer_mode_name(enum cfg_balancer_mode mode)
{
	return cfg_choice_name(cfg_mode_choices, (int)mode);
}

const char *
cfg_pv_mode_name(enum cfg_pv_mode mode)
{
	return cfg_choice_name(cfg_pv_choices, (int)mode);
}

const char *
cfg_meter_type_name(enum cfg_meter_type type)
{
	return cfg_choice_name(cfg_meter_choices, (int)type);
}

int
cfg_distribution_phases(enum cfg_distribution d)
{
	return d == CFG_DIST_3PH_TN || d == CFG_DIST_3PH_IT ? 3 : 1;
}

void
cfg_model_connectors(enum cfg_model model, int *min, int *max)
{
	enum sb_model m = SB_MODEL_AC_WALLBOX;

	/* the southbound's register tables are the one source of truth */
	(void)sb_model_parse(cfg_model_name(model), &m);
	*min = 1;
	*max = sb_model_max_connectors(m);
}

/* Parses a decimal integer; 0 or -1. */
int
cfg_parse_long(const char *s, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	if (s[0] == '\0' || *end != '\0' || errno == ERANGE)
		return -1;
	return 0;
}

const char *
cfg_check_value(const struct opt_def *od, const char *value, double *out)
{
	char *end;
	long n;
	double v = 0;
	int i;

	*out = 0;
	switch (od->kind) {
	case K_INT:
		if (cfg_parse_long(value, &n) != 0)
			return "not a whole number";
		if (n < od->min || n > od->max)
			return "out of range";
		*out = (double)n;
		return NULL;
	case K_KW:
		errno = 0;
		v = strtod(value, &end);
		if (value[0] == '\0' || *end != '\0' || errno == ERANGE ||
		    !isfinite(v))
			return "not a number";
		if (v < od->min || v > od->max)
			return "out of range";
		if ((od->flags & F_WHOLE) && v != floor(v))
			return "not a whole number of kW";
		*out = v;
		return NULL;
	case K_STR:
		if (strlen(value) > (size_t)od->max)
			return "too long";
		return NULL;
	case K_ENUM:
		i = cfg_choice_index(od->choices, value);
		if (i < 0)
			return "unknown value";
		*out = i;
		return NULL;
	case K_SEC:
		break;
	}
	return "not a value";
}

int
cfg_check_override(const char *name, const char *value, long *out,
    char **cause)
{
	const char *dot = strrchr(name, '.');
	const struct sec_def *sd = NULL;
	const struct opt_def *od = NULL;
	const char *why;
	char *allowed, esc[64];
	double v;

	for (size_t i = 0; dot != NULL && i < ARRAY_SIZE(all_secs); i++)
		if (!all_secs[i]->titled && strlen(all_secs[i]->qname) ==
		    (size_t)(dot - name) && strncmp(all_secs[i]->qname, name,
		    (size_t)(dot - name)) == 0)
			sd = all_secs[i];
	if (sd != NULL)
		od = cfg_find_opt(sd, dot + 1);
	if (od == NULL || (od->kind != K_INT && od->kind != K_KW &&
	    od->kind != K_ENUM)) {
		xasprintf(cause, "%s: not a setting that can be changed", name);
		return -1;
	}
	why = cfg_check_value(od, value, &v);
	if (why != NULL) {
		allowed = cfg_allowed_text(od, ", ");
		xasprintf(cause, "%s: '%s' %s: allowed %s", name,
		    log_escape(value, strlen(value), esc, sizeof(esc)), why,
		    allowed);
		free(allowed);
		return -1;
	}
	*out = od->kind == K_KW ? lround(v * 1000.0) : (long)v;
	return 0;
}
