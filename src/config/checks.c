/* The cross-field checks of DOMAIN.md §2, in one pass after parsing, on
 * the copied struct; every error is collected with the line of the
 * option it is about. */
#include "config/config-private.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "southbound/southbound.h"

int
cfg_split_listen(const char *s, char *host, size_t hlen, int *port)
{
	const char *colon;
	long p;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':')
			return -1;
		if ((size_t)(close - s - 1) >= hlen)
			return -1;
		memcpy(host, s + 1, (size_t)(close - s - 1));
		host[close - s - 1] = '\0';
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL || (size_t)(colon - s) >= hlen ||
		    memchr(s, ':', (size_t)(colon - s)) != NULL)
			return -1;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
	}
	if (cfg_parse_long(colon + 1, &p) != 0 || p < 0 || p > 65535)
		return -1;
	*port = (int)p;
	return 0;
}

/* True when s is 1..max characters of letters, digits and "-_.". */
bool
cfg_valid_name(const char *s)
{
	if (s[0] == '\0' || strlen(s) >= CFG_NAME_MAX)
		return false;
	for (const char *p = s; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
		    *p == '.'))
			return false;
	return true;
}

/* Checks the title of a charger or circuit section. */
void
cfg_check_name(struct load_ctx *ctx, cfg_t *sec, const struct sec_def *sd)
{
	const char *title = cfg_title(sec);
	char esc[96];

	if (title != NULL && cfg_valid_name(title))
		return;
	log_escape(title != NULL ? title : "", title != NULL ? strlen(title) :
	    0, esc, sizeof(esc));
	cfg_add_error(ctx, cfg_sec_line(ctx, sec), "option '%s': value '%s': bad "
	    "name: allowed 1..%d letters, digits, '-', '_' or '.'", sd->qname,
	    esc, CFG_NAME_MAX - 1);
}


/* Reports required options that the file does not give, and marks them
 * refused so that the cross-checks leave their defaults out. */
void
cfg_check_required(struct load_ctx *ctx, cfg_t *sec, const struct sec_def *sd)
{
	for (const struct opt_def *od = sd->opts; od->name != NULL; od++) {
		char *allowed;

		if (!(od->flags & F_REQ) || cfg_find_note(ctx, sec, od->name))
			continue;
		allowed = cfg_allowed_text(od, " | ");
		cfg_opt_error(ctx, cfg_sec_line(ctx, sec), sd, cfg_title(sec), od->name,
		    NULL, "missing", "%s", allowed);
		free(allowed);
		cfg_add_note(ctx, sec, od->name, cfg_sec_line(ctx, sec))->bad = true;
	}
}

/* ---------------------------------------------------------------------
 * Cross-field checks (DOMAIN.md §2)
 */

/* Short-hand for a cross-check error about one option of one section. */
#define XERR(sec, sd, opt, value, why, ...) \
	cfg_opt_error(ctx, cfg_line_of(ctx, (sec), (opt)), (sd), cfg_title(sec), \
	    (opt), (value), (why), __VA_ARGS__)

/* Checks the site's circuits: names, parents, no loops, limits. */
static void
check_circuits(struct load_ctx *ctx, struct tree *t, struct cfg *c)
{
	for (size_t i = 0; i < c->site.n_circuits; i++) {
		struct cfg_circuit *ci = &c->site.circuits[i];
		cfg_t *cs = t->circuits[i];

		cfg_check_name(ctx, cs, &cfg_circuit_sec);
		if (ci->max_current_a > c->site.main_breaker_a &&
		    !cfg_is_bad(ctx, cs, "max-current-a")) {
			char v[16];

			snprintf(v, sizeof(v), "%d", ci->max_current_a);
			XERR(cs, &cfg_circuit_sec, "max-current-a", v,
			    "above the main breaker", "at most %d A "
			    "(site.main-breaker-a)", c->site.main_breaker_a);
		}
		if (ci->parent[0] == '\0')
			continue;
		for (size_t j = 0; j < c->site.n_circuits; j++)
			if (strcmp(c->site.circuits[j].name, ci->parent) == 0)
				ci->parent_index = (int)j;
		if (ci->parent_index < 0)
			XERR(cs, &cfg_circuit_sec, "parent", ci->parent,
			    "no such circuit", "the name of a circuit defined "
			    "in site, or \"\" for the main connection");
	}
	/* A parent chain longer than the number of circuits is a loop. */
	for (size_t i = 0; i < c->site.n_circuits; i++) {
		int k = (int)i;
		size_t steps = 0;

		while (k >= 0 && steps <= c->site.n_circuits) {
			k = c->site.circuits[k].parent_index;
			steps++;
		}
		if (k >= 0) {
			XERR(t->circuits[i], &cfg_circuit_sec, "parent",
			    c->site.circuits[i].parent, "circuits form a loop",
			    "a chain of parents that ends at the main "
			    "connection");
			continue;
		}
		k = c->site.circuits[i].parent_index;
		if (k >= 0 && c->site.circuits[i].max_current_a >
		    c->site.circuits[k].max_current_a) {
			char v[16];

			snprintf(v, sizeof(v), "%d",
			    c->site.circuits[i].max_current_a);
			XERR(t->circuits[i], &cfg_circuit_sec, "max-current-a", v,
			    "above its parent circuit", "at most %d A (circuit "
			    "'%s')", c->site.circuits[k].max_current_a,
			    c->site.circuits[k].name);
		}
	}
}

/* One Modbus endpoint for the uniqueness and bus checks. */
struct endpoint {
	const struct cfg_link *link;
	cfg_t *sec;
	const struct sec_def *sd;
	const char *who; /* "meter" or "charger[NAME]" */
};

/* Checks that devices sharing a TCP endpoint or an RS-485 bus have
 * distinct unit ids, and that devices on one bus agree on its settings. */
static void
check_buses(struct load_ctx *ctx, const struct endpoint *ep, size_t n)
{
	static const char *const parity_names[] = { "none", "even", "odd" };

	for (size_t i = 0; i < n; i++) {
		const struct cfg_link *a = ep[i].link;

		for (size_t j = 0; j < i; j++) {
			const struct cfg_link *b = ep[j].link;
			char v[32];
			bool same;

			if (a->kind != b->kind || a->kind == CFG_LINK_TCP_LISTEN)
				continue;
			if (a->kind == CFG_LINK_TCP)
				same = strcmp(a->host, b->host) == 0 &&
				    a->port == b->port;
			else
				same = strcmp(a->device, b->device) == 0;
			if (!same)
				continue;
			if (a->unit_id == b->unit_id &&
			    !cfg_is_bad(ctx, ep[i].sec, "unit-id")) {
				snprintf(v, sizeof(v), "%d", a->unit_id);
				cfg_opt_error(ctx, cfg_line_of(ctx, ep[i].sec, "unit-id"),
				    ep[i].sd, cfg_title(ep[i].sec), "unit-id", v,
				    "already used on this link", "a unit id not "
				    "used by %s on %s%s%s", ep[j].who,
				    a->kind == CFG_LINK_TCP ? a->host : a->device,
				    a->kind == CFG_LINK_TCP ? ":" : "",
				    a->kind == CFG_LINK_TCP ? "port" : "");
			}
			if (a->kind != CFG_LINK_RTU)
				continue;
			if (a->baud != b->baud) {
				snprintf(v, sizeof(v), "%d", a->baud);
				cfg_opt_error(ctx, cfg_line_of(ctx, ep[i].sec, "baud"),
				    ep[i].sd, cfg_title(ep[i].sec), "baud", v,
				    "differs on one bus", "%d, as %s on %s",
				    b->baud, ep[j].who, a->device);
			}
			if (a->parity != b->parity)
				cfg_opt_error(ctx, cfg_line_of(ctx, ep[i].sec, "parity"),
				    ep[i].sd, cfg_title(ep[i].sec), "parity",
				    parity_names[a->parity], "differs on one bus",
				    "%s, as %s on %s", parity_names[b->parity],
				    ep[j].who, a->device);
			if (a->stop_bits != b->stop_bits) {
				snprintf(v, sizeof(v), "%d", a->stop_bits);
				cfg_opt_error(ctx, cfg_line_of(ctx, ep[i].sec,
				    "stop-bits"), ep[i].sd, cfg_title(ep[i].sec),
				    "stop-bits", v, "differs on one bus",
				    "%d, as %s on %s", b->stop_bits, ep[j].who,
				    a->device);
			}
			break; /* one report per device is enough */
		}
	}
}

/* Checks that a link has what its kind needs; in a pushed site, that
 * it names only what the file's csms.remote-site-* allow. */
static void
check_link(struct load_ctx *ctx, cfg_t *sec, const struct sec_def *sd,
    const struct cfg_link *l, const struct cfg *c)
{
	if (l->kind == CFG_LINK_TCP && l->host[0] == '\0')
		XERR(sec, sd, "host", "", "empty for link tcp",
		    "a host name or address");
	else if (l->kind == CFG_LINK_TCP && ctx->pushed &&
	    !cfg_host_allowed(c->csms.remote_site_hosts, l->host))
		XERR(sec, sd, "host", l->host, "not allowed in a pushed site",
		    "a host of csms.remote-site-hosts in the gateway's file (%s)",
		    c->csms.remote_site_hosts);
	if (l->kind == CFG_LINK_RTU && l->device[0] == '\0')
		XERR(sec, sd, "device", "", "empty for link rtu",
		    "a serial device such as /dev/ttyUSB0");
	else if (l->kind == CFG_LINK_RTU && ctx->pushed &&
	    !cfg_device_allowed(c->csms.remote_site_devices, l->device))
		XERR(sec, sd, "device", l->device, "not allowed in a pushed "
		    "site", "a device of csms.remote-site-devices in the "
		    "gateway's file (%s)", c->csms.remote_site_devices);
	if (l->kind == CFG_LINK_TCP_LISTEN && l->serial[0] == '\0')
		XERR(sec, sd, "serial", "", "empty for link tcp-listen",
		    "the serial number the charger reports");
}

/* Checks charger i's ocpp-id: its connectors' ids within range and held
 * by no charger pinned before it. */
static void
check_pin(struct load_ctx *ctx, struct tree *t, const struct cfg *c,
    size_t i)
{
	const struct cfg_charger *ch = &c->chargers[i];
	int last = ch->ocpp_id + ch->connectors - 1;
	char v[32], why[CFG_NAME_MAX + 96];

	snprintf(v, sizeof(v), "%d", ch->ocpp_id);
	if (last > CFG_MAX_OCPP_ID) {
		XERR(t->chargers[i], &cfg_charger_sec, "ocpp-id", v, "its "
		    "connectors would end past the highest id", "1..%d for "
		    "%d connector%s", CFG_MAX_OCPP_ID - ch->connectors + 1,
		    ch->connectors, ch->connectors == 1 ? "" : "s");
		return;
	}
	for (size_t j = 0; j < i; j++) {
		const struct cfg_charger *o = &c->chargers[j];
		int o_last = o->ocpp_id + o->connectors - 1;

		if (o->ocpp_id == 0 || cfg_is_bad(ctx, t->chargers[j],
		    "ocpp-id") || o->ocpp_id > last || o_last < ch->ocpp_id)
			continue;
		snprintf(why, sizeof(why), "ids %d..%d clash with charger "
		    "\"%s\" (line %d: ids %d..%d)", ch->ocpp_id, last, o->name,
		    cfg_line_of(ctx, t->chargers[j], "ocpp-id"), o->ocpp_id,
		    o_last);
		XERR(t->chargers[i], &cfg_charger_sec, "ocpp-id", v, why,
		    "an id no other connector has");
		return;
	}
}

/* Checks each charger against its model, the site and the circuits. */
static void
check_chargers(struct load_ctx *ctx, struct tree *t, struct cfg *c)
{
	long offline_sum_w = 0;
	bool offline_reported = false;
	char v[64], a[32];
	/* chargers per circuit, [0] = the main connection */
	int *on_circuit = xcalloc(c->site.n_circuits + 1, sizeof(int));

	/* No charger in the file: provisioning mode, the site comes from
	 * the backend, which the file must name. */
	if (c->n_chargers == 0 && (ctx->pushed || c->csms.url[0] == '\0'))
		cfg_add_error(ctx, 0, "option 'charger': no charger defined: "
		    "allowed 1..%d charger \"NAME\" { ... } sections%s",
		    CFG_MAX_CHARGERS, ctx->pushed ? "" : ", or none with a "
		    "csms url to be given the site by the backend");
	else if (c->n_chargers > CFG_MAX_CHARGERS)
		cfg_add_error(ctx, cfg_sec_line(ctx, t->chargers[CFG_MAX_CHARGERS]),
		    "option 'charger': %zu chargers defined: allowed "
		    "1..%d", c->n_chargers, CFG_MAX_CHARGERS);

	for (size_t i = 0; i < c->n_chargers; i++) {
		struct cfg_charger *ch = &c->chargers[i];
		cfg_t *s = t->chargers[i];
		int cmin, cmax, pmin_w;

		cfg_check_name(ctx, s, &cfg_charger_sec);

		if (ch->ocpp_id > 0 && !cfg_is_bad(ctx, s, "ocpp-id"))
			check_pin(ctx, t, c, i);

		cfg_model_connectors(ch->model, &cmin, &cmax);
		if ((ch->connectors < cmin || ch->connectors > cmax) &&
		    !cfg_is_bad(ctx, s, "connectors") && !cfg_is_bad(ctx, s, "model")) {
			snprintf(v, sizeof(v), "%d", ch->connectors);
			XERR(s, &cfg_charger_sec, "connectors", v, "not available "
			    "on this model", "%d..%d for %s", cmin, cmax,
			    cfg_model_name(ch->model));
		}
		if (ch->model == CFG_MODEL_DC && ch->phases != 3 &&
		    !cfg_is_bad(ctx, s, "phases"))
			XERR(s, &cfg_charger_sec, "phases", "1", "DC chargers take "
			    "three phases", "3 for autel-dc");
		if (ch->phases == 3 &&
		    cfg_distribution_phases(c->site.distribution) == 1)
			XERR(s, &cfg_charger_sec, "phases", "3", "a three-phase "
			    "charger on a single-phase site", "1 when "
			    "site.distribution is 1-phase-tn or 1-phase-it");

		/* 21008 is listed for the AC Single Charger only (manual
		 * §5.6), and switches a three-phase charger to one phase */
		if (ch->phase_switching && !cfg_is_bad(ctx, s, "model") &&
		    (ch->model != CFG_MODEL_SINGLE || ch->phases != 3 ||
		    cfg_distribution_phases(c->site.distribution) != 3))
			XERR(s, &cfg_charger_sec, "phase-switching", "true",
			    "register 21008 switches a three-phase AC Single "
			    "Charger on a three-phase site only", "false, or "
			    "model autel-single with phases 3 on a 3-phase "
			    "site");

		pmin_w = ch->phases == 1 ? c->balancer.min_power_1ph_w :
		    c->balancer.min_power_3ph_w;
		if (!cfg_is_bad(ctx, s, "max-power-kw") && !cfg_is_bad(ctx, s, "model")) {
			int max_w = 0;

			if (ch->model != CFG_MODEL_DC)
				max_w = ch->phases == 1 ? 7400 : 22000;
			cfg_fmt_kw(ch->max_power_w, v, sizeof(v));
			if (max_w > 0 && ch->max_power_w > max_w)
				XERR(s, &cfg_charger_sec, "max-power-kw", v, "above "
				    "what an AC charger delivers", "at most %s "
				    "kW for a %d-phase AC charger",
				    cfg_fmt_kw(max_w, a, sizeof(a)), ch->phases);
			else if (ch->max_power_w < pmin_w)
				XERR(s, &cfg_charger_sec, "max-power-kw", v, "below "
				    "the minimum charging power", "at least %s "
				    "kW (balancer.min-power-%dph-kw)",
				    cfg_fmt_kw(pmin_w, a, sizeof(a)), ch->phases);
		}
		if (ch->offline_power_w > ch->max_power_w &&
		    !cfg_is_bad(ctx, s, "offline-power-kw") &&
		    !cfg_is_bad(ctx, s, "max-power-kw"))
			XERR(s, &cfg_charger_sec, "offline-power-kw",
			    cfg_fmt_kw(ch->offline_power_w, v, sizeof(v)),
			    "above the charger's maximum power", "at most %s kW "
			    "(max-power-kw)", cfg_fmt_kw(ch->max_power_w, a,
			    sizeof(a)));

		offline_sum_w += ch->offline_power_w;
		if (!offline_reported && offline_sum_w >
		    c->site.available_power_w &&
		    !cfg_is_bad(ctx, t->site, "available-power-kw")) {
			char b[32];

			offline_reported = true;
			XERR(s, &cfg_charger_sec, "offline-power-kw",
			    cfg_fmt_kw(ch->offline_power_w, v, sizeof(v)),
			    "the chargers' offline powers add up to more than "
			    "the available power", "a total of at most %s kW "
			    "(site.available-power-kw); the sum up to here is "
			    "%s kW", cfg_fmt_kw(c->site.available_power_w, a,
			    sizeof(a)), cfg_fmt_kw(offline_sum_w, b, sizeof(b)));
		}

		if (ch->circuit[0] != '\0') {
			for (size_t j = 0; j < c->site.n_circuits; j++)
				if (strcmp(c->site.circuits[j].name,
				    ch->circuit) == 0)
					ch->circuit_index = (int)j;
			if (ch->circuit_index < 0)
				XERR(s, &cfg_charger_sec, "circuit", ch->circuit,
				    "no such circuit", "the name of a circuit "
				    "defined in site, or \"\" for the main "
				    "connection");
		}
		if (++on_circuit[ch->circuit_index + 1] ==
		    SB_MAX_CHARGERS_PER_CIRCUIT + 1)
			XERR(s, &cfg_charger_sec, "circuit", ch->circuit,
			    "one charger too many on this circuit", "at most "
			    "%d chargers per circuit (manual §2.1)",
			    SB_MAX_CHARGERS_PER_CIRCUIT);

		check_link(ctx, s, &cfg_charger_sec, &ch->link, c);
		for (size_t j = 0; j < i; j++) {
			if (ch->link.kind != CFG_LINK_TCP_LISTEN ||
			    c->chargers[j].link.kind != CFG_LINK_TCP_LISTEN ||
			    ch->link.serial[0] == '\0' ||
			    strcmp(ch->link.serial, c->chargers[j].link.serial))
				continue;
			XERR(s, &cfg_charger_sec, "serial", ch->link.serial,
			    "already used", "a serial number not used by "
			    "charger '%s'", c->chargers[j].name);
			break;
		}
	}
	free(on_circuit);

	/* The unpinned chargers' ids around the pins (a pin over another
	 * pin is reported above). */
	if (c->n_chargers <= CFG_MAX_CHARGERS) {
		int *first = xcalloc(c->n_chargers + 1, sizeof(*first));
		size_t bad;

		if (cfg_assign_ids(c, NULL, first, &bad) != 0 &&
		    c->chargers[bad].ocpp_id == 0)
			XERR(t->chargers[bad], &cfg_charger_sec, "ocpp-id",
			    NULL, "no free ids left for its connectors",
			    "pins (ocpp-id) that leave room below id %d",
			    CFG_MAX_OCPP_ID);
		free(first);
	}
}

/* Checks the site's power figures against the chargers. */
static void
check_power(struct load_ctx *ctx, struct tree *t, struct cfg *c)
{
	long sum_pmin_w, breaker_w;
	int n_1ph, n_3ph, phases;
	char v[32], a[32], p1[32], p3[32];

	if (cfg_is_bad(ctx, t->site, "available-power-kw") ||
	    !cfg_find_note(ctx, t->site, "available-power-kw"))
		return;
	cfg_fmt_kw(c->site.available_power_w, v, sizeof(v));
	sum_pmin_w = cfg_pmin_sum_w(c, c->balancer.min_power_1ph_w,
	    c->balancer.min_power_3ph_w, &n_1ph, &n_3ph);
	if (c->n_chargers > 0 && c->site.available_power_w <= sum_pmin_w)
		XERR(t->site, &cfg_site_sec, "available-power-kw", v,
		    "not above the chargers' minimum charging power",
		    "more than %s kW (%d single-phase x %s kW + %d three-phase "
		    "x %s kW)", cfg_fmt_kw(sum_pmin_w, a, sizeof(a)), n_1ph,
		    cfg_fmt_kw(c->balancer.min_power_1ph_w, p1, sizeof(p1)), n_3ph,
		    cfg_fmt_kw(c->balancer.min_power_3ph_w, p3, sizeof(p3)));

	breaker_w = cfg_breaker_w(c, &phases);
	if (c->site.available_power_w > breaker_w &&
	    !cfg_is_bad(ctx, t->site, "main-breaker-a"))
		XERR(t->site, &cfg_site_sec, "available-power-kw", v,
		    "above what the main breaker carries", "at most %s kW "
		    "(%d A x %d V x %d phase%s)", cfg_fmt_kw(breaker_w, a, sizeof(a)),
		    c->site.main_breaker_a, c->site.nominal_voltage_v, phases,
		    phases > 1 ? "s" : "");

	if (c->balancer.offline_meter_power_w > c->site.available_power_w &&
	    !cfg_is_bad(ctx, t->balancer, "offline-meter-power-kw"))
		XERR(t->balancer, &cfg_balancer_sec, "offline-meter-power-kw",
		    cfg_fmt_kw(c->balancer.offline_meter_power_w, a, sizeof(a)),
		    "above the available power", "0..%s kW", v);
	if (c->balancer.offline_site_power_w > c->site.available_power_w &&
	    !cfg_is_bad(ctx, t->balancer, "offline-site-power-kw"))
		XERR(t->balancer, &cfg_balancer_sec, "offline-site-power-kw",
		    cfg_fmt_kw(c->balancer.offline_site_power_w, a, sizeof(a)),
		    "above the available power", "0..%s kW", v);
	/* Fail-safe: a gateway that dies while the backend is away leaves
	 * the chargers on their offline limits, which must fit the cap that
	 * holds then. */
	if (c->balancer.offline_site_power_w > 0 &&
	    !cfg_is_bad(ctx, t->balancer, "offline-site-power-kw")) {
		long offline_sum_w = cfg_offline_sum_w(c);

		if (offline_sum_w > c->balancer.offline_site_power_w)
			XERR(t->balancer, &cfg_balancer_sec, "offline-site-power-kw",
			    cfg_fmt_kw(c->balancer.offline_site_power_w, a,
			    sizeof(a)), "below the chargers' offline powers: "
			    "chargers left on their offline limits could draw "
			    "more than this cap", "at least %s kW (the sum of "
			    "charger offline-power-kw), or lower those",
			    cfg_fmt_kw(offline_sum_w, p1, sizeof(p1)));
	}
}

/* Checks the CSMS link: URL scheme against the security profile,
 * identity, password length, certificate files. */
static void
check_csms(struct load_ctx *ctx, struct tree *t, struct cfg *c)
{
	cfg_t *s = t->csms;
	bool tls = strncmp(c->csms.url, "wss://", 6) == 0;
	int prof = c->csms.security_profile;
	size_t plen = strlen(c->csms.password);
	const char *files[] = { "ca-file", "client-cert", "client-key" };
	const char *paths[] = { c->csms.ca_file, c->csms.client_cert,
		c->csms.client_key };
	char *cause = NULL;

	if (!cfg_is_bad(ctx, s, "url") && cfg_find_note(ctx, s, "url") &&
	    c->csms.url[0] != '\0') {
		const char *host = tls ? c->csms.url + 6 : c->csms.url + 5;

		if (!tls && strncmp(c->csms.url, "ws://", 5) != 0)
			XERR(s, &cfg_csms_sec, "url", c->csms.url, "not a websocket "
			    "URL", "ws://HOST[:PORT]/PATH or wss://...");
		else if (host[0] == '\0' || host[0] == '/')
			XERR(s, &cfg_csms_sec, "url", c->csms.url, "no host",
			    "ws://HOST[:PORT]/PATH or wss://...");
		else if (!tls && prof >= 2 && !cfg_is_bad(ctx, s,
		    "security-profile"))
			XERR(s, &cfg_csms_sec, "url", c->csms.url, "security "
			    "profile 2 and 3 need TLS", "a wss:// URL with "
			    "security-profile = %d", prof);
	}
	/* No url: the gateway runs without a backend (local modes only);
	 * with one, the identity is required. */
	if (c->csms.url[0] != '\0' && !cfg_find_note(ctx, s, "identity")) {
		const struct opt_def *od = cfg_find_opt(&cfg_csms_sec, "identity");
		char *allowed = cfg_allowed_text(od, " | ");

		cfg_opt_error(ctx, cfg_sec_line(ctx, s), &cfg_csms_sec, cfg_title(s),
		    "identity", NULL, "missing", "%s (required with csms.url)",
		    allowed);
		free(allowed);
	}
	if (!cfg_is_bad(ctx, s, "identity") && cfg_find_note(ctx, s, "identity")) {
		const char *ok = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU"
		    "VWXYZ0123456789*-_=:+|@.";

		if (c->csms.identity[0] == '\0' ||
		    strspn(c->csms.identity, ok) != strlen(c->csms.identity))
			XERR(s, &cfg_csms_sec, "identity", c->csms.identity,
			    "bad identity", "1..48 characters from a-z A-Z "
			    "0-9 * - _ = : + | @ .");
	}
	if (plen > 0 && prof <= 2 && (plen < 16 || plen > 40))
		XERR(s, &cfg_csms_sec, "password", "(hidden)", "wrong length",
		    "16..40 characters, or \"\" for none");
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		if (paths[i][0] == '\0') {
			if (prof == 3 && i > 0)
				XERR(s, &cfg_csms_sec, files[i], "", "security "
				    "profile 3 needs a client certificate and "
				    "key", "the path of a readable PEM file");
			continue;
		}
		if (access(paths[i], R_OK) != 0) {
			char why[128];

			snprintf(why, sizeof(why), "cannot read: %s",
			    strerror(errno));
			XERR(s, &cfg_csms_sec, files[i], paths[i], why,
			    "the path of a readable PEM file");
		}
	}
	if (cfg_check_host_list(c->csms.remote_site_hosts, &cause) != 0) {
		XERR(s, &cfg_csms_sec, "remote-site-hosts",
		    c->csms.remote_site_hosts, cause, "address prefixes "
		    "(10.0.0.0/8, fd00::/8, 192.168.1.20) and host-name "
		    "patterns (*.site.lan, * for any)");
		free(cause);
	}
	if (cfg_check_device_list(c->csms.remote_site_devices, &cause) != 0) {
		XERR(s, &cfg_csms_sec, "remote-site-devices",
		    c->csms.remote_site_devices, cause, "absolute path "
		    "patterns (/dev/ttyUSB*)");
		free(cause);
	}
	if (c->csms.ping_interval_s > 0 &&
	    c->csms.ping_timeout_s >= c->csms.ping_interval_s &&
	    !cfg_is_bad(ctx, s, "ping-timeout-s")) {
		char v[16];

		snprintf(v, sizeof(v), "%d", c->csms.ping_timeout_s);
		XERR(s, &cfg_csms_sec, "ping-timeout-s", v, "not below the ping "
		    "interval", "1..%d s (less than ping-interval-s)",
		    c->csms.ping_interval_s - 1);
	}
}

/* Runs every cross-field check; errors go to ctx. */
/* True when host is a loopback address (127.0.0.0/8, ::1, localhost). */
static bool
is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (strcmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, host, &a6) == 1 &&
	    IN6_IS_ADDR_LOOPBACK(&a6);
}

/* The dashboard's server: an address, a password off loopback, HTTPS
 * with both files or neither. */
static void
check_http(struct load_ctx *ctx, cfg_t *s, const struct cfg *c)
{
	char host[CFG_HOST_MAX];
	size_t plen = strlen(c->http.password);
	int port;

	if (c->http.listen[0] != '\0' && !cfg_is_bad(ctx, s, "listen")) {
		if (cfg_split_listen(c->http.listen, host, sizeof(host),
		    &port) != 0)
			XERR(s, &cfg_http_sec, "listen", c->http.listen,
			    "not an address and port", "HOST:PORT, [IPV6]:PORT, "
			    ":PORT with PORT 0..65535, or \"\" for no server");
		else if (!is_loopback(host) && plen == 0)
			XERR(s, &cfg_http_sec, "listen", c->http.listen,
			    "not a loopback address and no password", "a "
			    "password of 16..40 characters in http.password, or "
			    "a 127.x.x.x or [::1] address");
	}
	if (plen > 0 && plen < 16)
		XERR(s, &cfg_http_sec, "password", "(hidden)", "too short",
		    "16..40 characters, or \"\" for none (loopback only)");
	if ((c->http.cert[0] == '\0') != (c->http.key[0] == '\0'))
		XERR(s, &cfg_http_sec, c->http.cert[0] == '\0' ? "cert" : "key",
		    "", "HTTPS needs both a certificate and a key",
		    "the paths of readable PEM files, or neither");
	if (c->http.cert[0] != '\0' && access(c->http.cert, R_OK) != 0)
		XERR(s, &cfg_http_sec, "cert", c->http.cert, strerror(errno),
		    "the path of a readable PEM file");
	if (c->http.key[0] != '\0' && access(c->http.key, R_OK) != 0)
		XERR(s, &cfg_http_sec, "key", c->http.key, strerror(errno),
		    "the path of a readable PEM file");
}

void
cfg_check_all(struct load_ctx *ctx, struct tree *t, struct cfg *c)
{
	struct endpoint *ep;
	size_t n_ep = 0;
	bool meter_used = c->balancer.mode != CFG_BAL_DLB;
	const char *listen = cfg_getstr(t->southbound, "listen");
	char host[CFG_HOST_MAX];
	int port;

	/* Provisioning mode needs no site: only what is given is checked. */
	if (!cfg_provisioning(c) || ctx->pushed)
		cfg_check_required(ctx, t->site, &cfg_site_sec);
	if (!ctx->pushed)
		cfg_check_required(ctx, t->csms, &cfg_csms_sec);
	for (size_t i = 0; i < c->site.n_circuits; i++)
		cfg_check_required(ctx, t->circuits[i], &cfg_circuit_sec);
	for (size_t i = 0; i < c->n_chargers; i++)
		cfg_check_required(ctx, t->chargers[i], &cfg_charger_sec);

	if (!cfg_valid_name(c->site.id))
		XERR(t->site, &cfg_site_sec, "id", c->site.id, "bad id", "1..%d "
		    "letters, digits, '-', '_' or '.'", CFG_NAME_MAX - 1);
	check_circuits(ctx, t, c);
	check_chargers(ctx, t, c);
	check_power(ctx, t, c);
	if (!ctx->pushed) /* the file's: checked when it was loaded */
		check_csms(ctx, t, c);

	if (meter_used && !cfg_provisioning(c))
		check_link(ctx, t->meter, &cfg_meter_sec, &c->meter.link, c);
	if (listen != NULL && !cfg_is_bad(ctx, t->southbound, "listen") &&
	    cfg_split_listen(listen, host, sizeof(host), &port) != 0)
		XERR(t->southbound, &cfg_southbound_sec, "listen", listen,
		    "not an address and port", "HOST:PORT, [IPV6]:PORT or "
		    ":PORT with PORT 0..65535");

	if (!ctx->pushed)
		check_http(ctx, t->http, c);

	ep = xcalloc(c->n_chargers + 1, sizeof(*ep));
	if (meter_used || cfg_has_meter(c))
		ep[n_ep++] = (struct endpoint){ &c->meter.link, t->meter,
			&cfg_meter_sec, "meter" };
	for (size_t i = 0; i < c->n_chargers; i++)
		ep[n_ep++] = (struct endpoint){ &c->chargers[i].link,
			t->chargers[i], &cfg_charger_sec, "another charger" };
	check_buses(ctx, ep, n_ep);
	free(ep);
}

long
cfg_pmin_sum_w(const struct cfg *c, int min_1ph_w, int min_3ph_w,
    int *n_1ph, int *n_3ph)
{
	long sum = 0;
	int n1 = 0, n3 = 0;

	for (size_t i = 0; i < c->n_chargers; i++) {
		if (c->chargers[i].phases == 1) {
			n1++;
			sum += min_1ph_w;
		} else {
			n3++;
			sum += min_3ph_w;
		}
	}
	if (n_1ph != NULL)
		*n_1ph = n1;
	if (n_3ph != NULL)
		*n_3ph = n3;
	return sum;
}

long
cfg_breaker_w(const struct cfg *c, int *phases)
{
	int p = cfg_distribution_phases(c->site.distribution);

	if (phases != NULL)
		*phases = p;
	return (long)c->site.main_breaker_a * c->site.nominal_voltage_v * p;
}

long
cfg_offline_sum_w(const struct cfg *c)
{
	long sum = 0;

	for (size_t i = 0; i < c->n_chargers; i++)
		sum += c->chargers[i].offline_power_w;
	return sum;
}

bool
cfg_has_meter(const struct cfg *c)
{
	return c->meter.link.host[0] != '\0' || c->meter.link.device[0] != '\0';
}

bool
cfg_provisioning(const struct cfg *c)
{
	return c->n_chargers == 0;
}
