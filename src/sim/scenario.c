/* Loads a scenario (JSON) into the simulated site: site loads, meter, RTU
 * bus, chargers with their EVs, and the timeline of control commands.
 * Every error names the field, the value and the valid range. */
#include "sim/sim.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

/* Fails unless every key of obj is in the NULL-terminated list. */
static int
check_keys(json_t *obj, const char *where, const char *const *keys,
    char **cause)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		bool ok = false;

		for (const char *const *k = keys; *k != NULL; k++)
			if (strcmp(*k, key) == 0)
				ok = true;
		if (!ok) {
			xasprintf(cause, "%s: unknown key \"%s\"", where, key);
			return -1;
		}
	}
	return 0;
}

/* Reads an optional number in [min, max] into *out. */
static int
get_num(json_t *obj, const char *where, const char *key, double min,
    double max, double *out, char **cause)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_number(v)) {
		xasprintf(cause, "%s.%s: must be a number (%g..%g)", where, key,
		    min, max);
		return -1;
	}
	if (json_number_value(v) < min || json_number_value(v) > max) {
		xasprintf(cause, "%s.%s: %g is out of range %g..%g", where, key,
		    json_number_value(v), min, max);
		return -1;
	}
	*out = json_number_value(v);
	return 0;
}

/* Reads an optional integer in [min, max]. */
static int
get_int(json_t *obj, const char *where, const char *key, long min, long max,
    long *out, char **cause)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v)) {
		xasprintf(cause, "%s.%s: must be an integer (%ld..%ld)", where,
		    key, min, max);
		return -1;
	}
	if (json_integer_value(v) < min || json_integer_value(v) > max) {
		xasprintf(cause, "%s.%s: %lld is out of range %ld..%ld", where,
		    key, (long long)json_integer_value(v), min, max);
		return -1;
	}
	*out = (long)json_integer_value(v);
	return 0;
}

/* Reads an optional boolean. */
static int
get_bool(json_t *obj, const char *where, const char *key, bool *out,
    char **cause)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_boolean(v)) {
		xasprintf(cause, "%s.%s: must be true or false", where, key);
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}

/* Reads an optional string of at most size-1 bytes into buf. */
static int
get_str(json_t *obj, const char *where, const char *key, char *buf,
    size_t size, char **cause)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		xasprintf(cause, "%s.%s: must be a string", where, key);
		return -1;
	}
	if (!strlcpy_ok(buf, json_string_value(v), size)) {
		xasprintf(cause, "%s.%s: longer than %zu characters", where,
		    key, size - 1);
		return -1;
	}
	return 0;
}

/* Picks one of the NULL-terminated choices; *out = its index. */
static int
get_choice(json_t *obj, const char *where, const char *key,
    const char *const *choices, int *out, char **cause)
{
	char buf[32] = "";
	char list[160] = "";

	if (get_str(obj, where, key, buf, sizeof(buf), cause) != 0)
		return -1;
	if (buf[0] == '\0' && json_object_get(obj, key) == NULL)
		return 0;
	for (int i = 0; choices[i] != NULL; i++) {
		if (strcmp(choices[i], buf) == 0) {
			*out = i;
			return 0;
		}
		if (i > 0)
			strncat(list, " | ", sizeof(list) - strlen(list) - 1);
		strncat(list, choices[i], sizeof(list) - strlen(list) - 1);
	}
	xasprintf(cause, "%s.%s: \"%s\" is not one of %s", where, key, buf,
	    list);
	return -1;
}

/* Parses "host:port" into host and *port; 0 or -1 with *cause. */
int
sim_parse_hostport(const char *where, const char *text, char *host,
    size_t hostlen, int *port, char **cause)
{
	const char *colon = strrchr(text, ':');
	char *end;
	long p;

	if (colon == NULL || colon == text ||
	    (size_t)(colon - text) >= hostlen) {
		xasprintf(cause, "%s: \"%s\" is not HOST:PORT", where, text);
		return -1;
	}
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (*end != '\0' || errno != 0 || p < 1 || p > 65535) {
		xasprintf(cause, "%s: port in \"%s\" out of range 1..65535",
		    where, text);
		return -1;
	}
	memcpy(host, text, (size_t)(colon - text));
	host[colon - text] = '\0';
	*port = (int)p;
	return 0;
}

static const char *const ev_keys[] = {
	"connector", "evmax_w", "phases", "idtag", "soc", "battery_kwh",
	"wait_start", NULL,
};

/* Plugs the scenario's EVs into charger c at start-up. */
static int
load_evs(struct sim_site *s, struct sim_charger *c, json_t *evs,
    const char *where, char **cause)
{
	size_t i;
	json_t *e;

	if (!json_is_array(evs)) {
		xasprintf(cause, "%s.evs: must be an array", where);
		return -1;
	}
	json_array_foreach(evs, i, e) {
		char w[96], idtag[SIM_IDTAG_MAX + 1] = "", *why = NULL;
		long conn = 1, phases = 3;
		double evmax = 11000, soc = -1, battery = 60;
		bool wait = false;

		snprintf(w, sizeof(w), "%s.evs[%zu]", where, i);
		if (!json_is_object(e)) {
			xasprintf(cause, "%s: must be an object", w);
			return -1;
		}
		if (check_keys(e, w, ev_keys, cause) != 0 ||
		    get_int(e, w, "connector", 1, c->connectors, &conn,
		    cause) != 0 ||
		    get_num(e, w, "evmax_w", 0, 1e6, &evmax, cause) != 0 ||
		    get_int(e, w, "phases", 1, 3, &phases, cause) != 0 ||
		    get_str(e, w, "idtag", idtag, sizeof(idtag), cause) != 0 ||
		    get_num(e, w, "soc", 0, 100, &soc, cause) != 0 ||
		    get_num(e, w, "battery_kwh", 1, 1000, &battery,
		    cause) != 0 ||
		    get_bool(e, w, "wait_start", &wait, cause) != 0)
			return -1;
		if (sim_ev_plug(s, c, (int)conn, (uint32_t)evmax, (int)phases,
		    idtag, soc, battery, wait, s->last_update_ms, &why) != 0) {
			xasprintf(cause, "%s: %s", w, why);
			free(why);
			return -1;
		}
	}
	return 0;
}

static const char *const charger_keys[] = {
	"name", "model", "count", "link", "port", "dial", "unit_id", "serial",
	"product", "firmware", "connectors", "phases", "wired_phase",
	"max_power_w", "max_offline_power_w", "word_order", "answer_fc04",
	"control_mode", "comm_timeout_s", "offline_power_w",
	"offline_current_a", "connector_type", "evs", "registers", "refuse",
	NULL,
};
static const char *const register_modes[] = { "strict", "lenient", NULL };

/* Reads a charger's "refuse": addresses (listed or not) that answer
 * exception 02, to play a device without an optional register. */
static int
load_refuse(struct sim_charger *c, json_t *a, const char *where,
    char **cause)
{
	size_t i;
	json_t *v;

	if (a == NULL)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > SIM_MAX_REFUSE) {
		xasprintf(cause, "%s.refuse: must be an array of at most %d "
		    "register addresses", where, SIM_MAX_REFUSE);
		return -1;
	}
	json_array_foreach(a, i, v) {
		json_int_t n = json_is_integer(v) ? json_integer_value(v) : -1;

		if (n < 0 || n > 65535) {
			xasprintf(cause, "%s.refuse[%zu]: not an address "
			    "0..65535", where, i);
			return -1;
		}
		c->refuse[c->n_refuse++] = (uint16_t)n;
	}
	return 0;
}
static const char *const link_names[] = { "tcp", "tcp-listen", "rtu", NULL };
static const char *const phase_names[] = { "L1", "L2", "L3", NULL };
static const char *const order_names[] = {
	"model", "high-first", "low-first", NULL,
};

/* Fills charger c from its JSON object; index gives copy number of a
 * "count" group (0 = a single charger). */
static int
load_charger(struct sim_site *s, struct sim_charger *c, json_t *o,
    const char *where, int index, char **cause)
{
	char modelname[32] = "", name[SIM_NAME_MAX] = "", dial[96] = "";
	char serial[33] = "";
	enum sim_model id;
	long port = 0, unit = 1, conns, phases, mode = 0, timeout = 0, ctype = 5;
	double maxp, maxoff = 0, offp = -1, offi = -1;
	int link = 0, wired = 0, order = 0, regmode;

	if (get_str(o, where, "model", modelname, sizeof(modelname),
	    cause) != 0)
		return -1;
	if (sim_model_find(modelname, &id) == NULL) {
		xasprintf(cause, "%s.model: \"%s\" is not one of %s", where,
		    modelname, sim_model_names());
		return -1;
	}
	sim_charger_defaults(c, id);
	if (get_str(o, where, "name", name, sizeof(name) - 5, cause) != 0)
		return -1;
	if (name[0] == '\0') {
		xasprintf(cause, "%s.name: missing", where);
		return -1;
	}
	if (index > 0)
		snprintf(c->name, sizeof(c->name), "%s-%d", name, index);
	else
		strlcpy_ok(c->name, name, sizeof(c->name));
	conns = c->connectors;
	phases = c->phases;
	maxp = c->max_power_w;
	if (get_choice(o, where, "link", link_names, &link, cause) != 0 ||
	    get_int(o, where, "port", 0, 65535, &port, cause) != 0 ||
	    get_str(o, where, "dial", dial, sizeof(dial), cause) != 0 ||
	    get_int(o, where, "unit_id", 1, 247, &unit, cause) != 0 ||
	    get_str(o, where, "serial", serial, sizeof(serial) - 5,
	    cause) != 0 ||
	    get_str(o, where, "product", c->product, sizeof(c->product),
	    cause) != 0 ||
	    get_str(o, where, "firmware", c->firmware, sizeof(c->firmware),
	    cause) != 0 ||
	    get_int(o, where, "connectors", 1, c->model->max_connectors,
	    &conns, cause) != 0 ||
	    get_int(o, where, "phases", 1, 3, &phases, cause) != 0 ||
	    get_choice(o, where, "wired_phase", phase_names, &wired,
	    cause) != 0 ||
	    get_num(o, where, "max_power_w", 1000, 1e6, &maxp, cause) != 0 ||
	    get_num(o, where, "max_offline_power_w", 0, 1e6, &maxoff,
	    cause) != 0 ||
	    get_choice(o, where, "word_order", order_names, &order,
	    cause) != 0 ||
	    get_bool(o, where, "answer_fc04", &c->answer_fc04, cause) != 0 ||
	    get_int(o, where, "control_mode", 0, 1, &mode, cause) != 0 ||
	    get_int(o, where, "comm_timeout_s", 0, 65535, &timeout,
	    cause) != 0 ||
	    get_num(o, where, "offline_power_w", 0, 1e6, &offp, cause) != 0 ||
	    get_num(o, where, "offline_current_a", 0, 1000, &offi,
	    cause) != 0 ||
	    get_int(o, where, "connector_type", 4, 5, &ctype, cause) != 0)
		return -1;
	regmode = s->lenient ? 1 : 0;
	if (get_choice(o, where, "registers", register_modes, &regmode,
	    cause) != 0 ||
	    load_refuse(c, json_object_get(o, "refuse"), where, cause) != 0)
		return -1;
	c->lenient = regmode == 1;
	if (phases == 2) {
		xasprintf(cause, "%s.phases: 2 is not 1 or 3", where);
		return -1;
	}
	c->link = (enum sim_link)link;
	if (c->link == SIM_LINK_TCP && index > 0 && port != 0)
		port += index - 1;
	c->port = (int)port;
	c->unit_id = (int)unit;
	if (c->link == SIM_LINK_RTU && index > 0)
		c->unit_id = (int)unit + index - 1;
	if (c->unit_id > 247) {
		xasprintf(cause, "%s.unit_id: %d is out of range 1..247", where,
		    c->unit_id);
		return -1;
	}
	if (serial[0] == '\0')
		snprintf(serial, sizeof(serial) - 5, "SIM%s", name);
	if (index > 0)
		snprintf(c->serial, sizeof(c->serial), "%s-%d", serial, index);
	else
		strlcpy_ok(c->serial, serial, sizeof(c->serial));
	c->connectors = (int)conns;
	c->phases = (int)phases;
	c->wired_phase = wired;
	c->max_power_w = (uint32_t)maxp;
	c->max_offline_power_w = (uint32_t)maxoff;
	/* "model": UINT32 high word first (every model here); the override
	 * changes the UINT32 order, also inside each UINT64 half. */
	c->word_order = order;
	c->word_high_first = order != 2;
	c->control_mode = (uint16_t)mode;
	c->comm_timeout_s = (uint16_t)timeout;
	if (c->link == SIM_LINK_TCP_DIAL) {
		if (dial[0] != '\0') {
			if (sim_parse_hostport(where, dial, c->dial_host,
			    sizeof(c->dial_host), &c->dial_port, cause) != 0)
				return -1;
		} else {
			c->dial_port = 0;  /* the site's gateway address */
		}
	}
	if (sim_charger_build(c, cause) != 0)
		return -1;
	/* Factory limits: the charger's maximum, online and offline. */
	for (int k = 0; k <= c->connectors; k++) {
		struct sim_connector *x = &c->conn[k];
		uint32_t ca = (uint32_t)(maxp / (s->voltage_v *
		    (c->model->dc ? 1 : c->phases)) * 100.0 + 0.5);

		if (c->model->dc)
			ca = (uint32_t)(maxp / s->dc_voltage_v * 100.0 + 0.5);
		x->lim_power_w = c->max_power_w;
		x->lim_current_ca = ca;
		x->off_power_w = offp >= 0 ? (uint32_t)offp : c->max_power_w;
		x->off_current_ca = offi >= 0 ? (uint32_t)(offi * 100 + 0.5) :
		    ca;
		x->connector_type = (int)ctype;
	}
	if (json_object_get(o, "evs") != NULL &&
	    load_evs(s, c, json_object_get(o, "evs"), where, cause) != 0)
		return -1;
	return 0;
}

static const char *const site_keys[] = {
	"id", "voltage_v", "distribution", "available_power_kw", "main_breaker_a",
	"household_w", "pv_w", "household_split", "dc_voltage_v",
	"min_current_a", NULL,
};

/* Reads the "site" object. */
static int
load_site(struct sim_site *s, json_t *o, char **cause)
{
	json_t *split;

	if (!json_is_object(o)) {
		xasprintf(cause, "site: must be an object");
		return -1;
	}
	if (check_keys(o, "site", site_keys, cause) != 0 ||
	    get_str(o, "site", "id", s->site_id, sizeof(s->site_id),
	    cause) != 0 ||
	    get_num(o, "site", "voltage_v", 100, 400, &s->voltage_v,
	    cause) != 0 ||
	    get_str(o, "site", "distribution", s->distribution,
	    sizeof(s->distribution), cause) != 0 ||
	    get_num(o, "site", "available_power_kw", 1, 10000,
	    &s->available_power_kw, cause) != 0 ||
	    get_num(o, "site", "main_breaker_a", 1, 10000,
	    &s->main_breaker_a, cause) != 0 ||
	    get_num(o, "site", "household_w", -1e6, 1e6, &s->household_w,
	    cause) != 0 ||
	    get_num(o, "site", "pv_w", 0, 1e6, &s->pv_w, cause) != 0 ||
	    get_num(o, "site", "dc_voltage_v", 50, 1000, &s->dc_voltage_v,
	    cause) != 0 ||
	    get_num(o, "site", "min_current_a", 0, 32, &s->min_current_a,
	    cause) != 0)
		return -1;
	split = json_object_get(o, "household_split");
	if (split != NULL) {
		double sum = 0;

		if (!json_is_array(split) || json_array_size(split) != 3) {
			xasprintf(cause, "site.household_split: must be an "
			    "array of 3 shares (L1, L2, L3)");
			return -1;
		}
		for (size_t p = 0; p < 3; p++) {
			json_t *v = json_array_get(split, p);

			if (!json_is_number(v) || json_number_value(v) < 0) {
				xasprintf(cause, "site.household_split[%zu]: "
				    "must be a number >= 0", p);
				return -1;
			}
			s->household_split[p] = json_number_value(v);
			sum += s->household_split[p];
		}
		if (sum <= 0) {
			xasprintf(cause, "site.household_split: shares sum "
			    "to 0");
			return -1;
		}
		for (int p = 0; p < 3; p++)
			s->household_split[p] /= sum;
	}
	return 0;
}

static const char *const meter_keys[] = {
	"type", "tcp", "port", "rtu", "unit_id", "min_gap_ms", NULL,
};
static const char *const meter_types[] = {
	"sdm630", "sdm230", "sdm120", NULL,
};
static const char *const bus_keys[] = {
	"baud", "parity", "stop_bits", "emulate_speed", NULL,
};
static const char *const parity_names[] = { "none", "even", "odd", NULL };

/* Reads "meter" and "rtu". */
static int
load_meter(struct sim_site *s, json_t *o, json_t *bus, char **cause)
{
	struct sim_meter *m = &s->meter;
	int type = 0, parity = 0;
	long port = 0, unit = 1, baud = 9600, stop = 1, gap = 0;

	if (o != NULL) {
		if (!json_is_object(o)) {
			xasprintf(cause, "meter: must be an object");
			return -1;
		}
		m->present = true;
		m->tcp = true;
		if (check_keys(o, "meter", meter_keys, cause) != 0 ||
		    get_choice(o, "meter", "type", meter_types, &type,
		    cause) != 0 ||
		    get_bool(o, "meter", "tcp", &m->tcp, cause) != 0 ||
		    get_int(o, "meter", "port", 0, 65535, &port, cause) != 0 ||
		    get_bool(o, "meter", "rtu", &m->rtu, cause) != 0 ||
		    get_int(o, "meter", "unit_id", 1, 247, &unit, cause) != 0 ||
		    get_int(o, "meter", "min_gap_ms", 0, 10000, &gap,
		    cause) != 0)
			return -1;
		m->min_gap_ms = (int)gap;
		m->type = (enum sim_meter_type)type;
		m->port = (int)port;
		m->unit_id = (int)unit;
	}
	s->bus.baud = 9600;
	s->bus.parity = 'N';
	s->bus.stop_bits = 1;
	s->bus.emulate_speed = true;
	if (bus != NULL) {
		if (!json_is_object(bus)) {
			xasprintf(cause, "rtu: must be an object");
			return -1;
		}
		if (check_keys(bus, "rtu", bus_keys, cause) != 0 ||
		    get_int(bus, "rtu", "baud", 1200, 230400, &baud,
		    cause) != 0 ||
		    get_choice(bus, "rtu", "parity", parity_names, &parity,
		    cause) != 0 ||
		    get_int(bus, "rtu", "stop_bits", 1, 2, &stop, cause) != 0 ||
		    get_bool(bus, "rtu", "emulate_speed", &s->bus.emulate_speed,
		    cause) != 0)
			return -1;
		s->bus.baud = (int)baud;
		s->bus.parity = "NEO"[parity];
		s->bus.stop_bits = (int)stop;
	}
	return 0;
}

/* Reads the timeline: an array of steps or { repeat_s, steps }. */
static int
load_timeline(struct sim_site *s, json_t *t, char **cause)
{
	json_t *steps = t, *e;
	size_t i;

	if (json_is_object(t)) {
		static const char *const keys[] = { "repeat_s", "steps", NULL };

		if (check_keys(t, "timeline", keys, cause) != 0 ||
		    get_num(t, "timeline", "repeat_s", 0, 1e6,
		    &s->timeline_repeat_s, cause) != 0)
			return -1;
		steps = json_object_get(t, "steps");
	}
	if (!json_is_array(steps)) {
		xasprintf(cause, "timeline: must be an array of steps or an "
		    "object with \"steps\"");
		return -1;
	}
	s->steps = xcalloc(json_array_size(steps) + 1, sizeof(*s->steps));
	json_array_foreach(steps, i, e) {
		static const char *const keys[] = { "at_s", "do", NULL };
		char w[48];
		double at = -1;
		json_t *cmd;

		snprintf(w, sizeof(w), "timeline[%zu]", i);
		if (!json_is_object(e) || check_keys(e, w, keys, cause) != 0 ||
		    get_num(e, w, "at_s", 0, 1e7, &at, cause) != 0)
			goto bad;
		cmd = json_object_get(e, "do");
		if (at < 0 || !json_is_string(cmd)) {
			xasprintf(cause, "%s: needs \"at_s\" (seconds >= 0) "
			    "and \"do\" (a control command)", w);
			goto bad;
		}
		if (s->timeline_repeat_s > 0 && at >= s->timeline_repeat_s) {
			xasprintf(cause, "%s.at_s: %g is not below repeat_s "
			    "%g", w, at, s->timeline_repeat_s);
			goto bad;
		}
		s->steps[s->n_steps].at_s = at;
		s->steps[s->n_steps].command = xstrdup(json_string_value(cmd));
		s->n_steps++;
	}
	return 0;
bad:
	if (*cause == NULL)
		xasprintf(cause, "timeline[%zu]: must be an object", i);
	return -1;
}

static const char *const top_keys[] = {
	"site", "follow_delay_ms", "ramp_w_per_s", "gateway", "csms_url",
	"meter", "rtu", "chargers", "timeline", "comment", "registers", NULL,
};

static int parse(struct sim_site *s, const char *text, bool check_steps,
    char **cause);

static int
step_cmp(const void *a, const void *b)
{
	const struct sim_step *const *x = a, *const *y = b;

	if ((*x)->at_s != (*y)->at_s)
		return (*x)->at_s < (*y)->at_s ? -1 : 1;
	return *x < *y ? -1 : 1;
}

/* Runs the timeline in order on a scratch copy of the site so that a
 * step that would fail (unknown charger, bad value) is an error now, not
 * minutes into a run.  Returns 0 or -1 with *cause. */
static int
check_timeline(struct sim_site *s, const char *text, char **cause)
{
	struct sim_site scratch;
	struct sim_step **order;
	int rc = 0;

	if (s->n_steps == 0)
		return 0;
	memset(&scratch, 0, sizeof(scratch));
	scratch.start_ms = scratch.last_update_ms = s->last_update_ms;
	if (parse(&scratch, text, false, cause) != 0) {
		sim_site_free(&scratch);
		return -1;
	}
	order = xcalloc(s->n_steps, sizeof(*order));
	for (size_t i = 0; i < s->n_steps; i++)
		order[i] = &s->steps[i];
	qsort(order, s->n_steps, sizeof(*order), step_cmp);
	for (size_t i = 0; i < s->n_steps && rc == 0; i++) {
		int64_t at = scratch.start_ms + (int64_t)(order[i]->at_s * 1000);
		char *reply = sim_control(&scratch, order[i]->command, at);

		if (strncmp(reply, "ok", 2) != 0) {
			xasprintf(cause, "timeline[%td] (at_s %g, \"%s\"): %s",
			    order[i] - s->steps, order[i]->at_s,
			    order[i]->command, reply);
			rc = -1;
		}
		free(reply);
	}
	free(order);
	sim_site_free(&scratch);
	return rc;
}

/* Parses a scenario from text.  Returns 0 or -1 with *cause. */
int
sim_scenario_parse(struct sim_site *s, const char *text, char **cause)
{
	return parse(s, text, true, cause);
}

/* The parser; with check_steps, also dry-runs the timeline. */
static int
parse(struct sim_site *s, const char *text, bool check_steps, char **cause)
{
	json_error_t jerr;
	json_t *root, *chargers, *o;
	size_t i, total = 0;
	char gw[96] = "";
	double delay = 6000;
	int rc = -1, regmode = 0;

	root = json_loads(text, 0, &jerr);
	if (root == NULL) {
		xasprintf(cause, "line %d column %d: %s", jerr.line,
		    jerr.column, jerr.text);
		return -1;
	}
	s->bus.master_fd = s->bus.slave_fd = -1;
	s->voltage_v = 230;
	s->dc_voltage_v = 400;
	s->min_current_a = 6;
	s->available_power_kw = 40;
	s->household_split[0] = s->household_split[1] =
	    s->household_split[2] = 1.0 / 3.0;
	strlcpy_ok(s->distribution, "3-phase-tn", sizeof(s->distribution));
	strlcpy_ok(s->site_id, "sim-site", sizeof(s->site_id));
	strlcpy_ok(s->csms_url, "ws://127.0.0.1:9000/ocpp",
	    sizeof(s->csms_url));
	strlcpy_ok(s->gateway_host, "127.0.0.1", sizeof(s->gateway_host));
	s->gateway_port = 5502;
	if (!json_is_object(root)) {
		xasprintf(cause, "the scenario must be a JSON object");
		goto out;
	}
	if (check_keys(root, "scenario", top_keys, cause) != 0 ||
	    get_num(root, "scenario", "follow_delay_ms", 0, 600000, &delay,
	    cause) != 0 ||
	    get_num(root, "scenario", "ramp_w_per_s", 0, 1000000,
	    &s->ramp_w_per_s, cause) != 0 ||
	    get_str(root, "scenario", "gateway", gw, sizeof(gw), cause) != 0 ||
	    get_str(root, "scenario", "csms_url", s->csms_url,
	    sizeof(s->csms_url), cause) != 0)
		goto out;
	if (get_choice(root, "scenario", "registers", register_modes,
	    &regmode, cause) != 0)
		goto out;
	s->lenient = regmode == 1;
	s->follow_delay_ms = (int64_t)delay;
	if (gw[0] != '\0' && sim_parse_hostport("gateway", gw, s->gateway_host,
	    sizeof(s->gateway_host), &s->gateway_port, cause) != 0)
		goto out;
	if ((o = json_object_get(root, "site")) != NULL &&
	    load_site(s, o, cause) != 0)
		goto out;
	if (load_meter(s, json_object_get(root, "meter"),
	    json_object_get(root, "rtu"), cause) != 0)
		goto out;
	chargers = json_object_get(root, "chargers");
	if (chargers != NULL && !json_is_array(chargers)) {
		xasprintf(cause, "chargers: must be an array");
		goto out;
	}
	json_array_foreach(chargers, i, o) {
		long count = 1;
		char w[32];

		snprintf(w, sizeof(w), "chargers[%zu]", i);
		if (!json_is_object(o)) {
			xasprintf(cause, "%s: must be an object", w);
			goto out;
		}
		if (check_keys(o, w, charger_keys, cause) != 0 ||
		    get_int(o, w, "count", 1, 1000, &count, cause) != 0)
			goto out;
		total += (size_t)count;
	}
	if (total > 1000) {
		xasprintf(cause, "chargers: %zu in all, at most 1000", total);
		goto out;
	}
	s->chargers = xcalloc(total + 1, sizeof(*s->chargers));
	json_array_foreach(chargers, i, o) {
		long count = 1;
		char w[32];

		snprintf(w, sizeof(w), "chargers[%zu]", i);
		(void)get_int(o, w, "count", 1, 1000, &count, cause);
		for (long n = 0; n < count; n++) {
			struct sim_charger *c = &s->chargers[s->n_chargers];

			if (load_charger(s, c, o, w, count > 1 ? (int)n + 1 : 0,
			    cause) != 0) {
				sim_charger_free(c);
				goto out;
			}
			s->n_chargers++;
		}
	}
	for (i = 0; i < s->n_chargers; i++) {
		for (size_t j = 0; j < i; j++) {
			struct sim_charger *a = &s->chargers[i];
			struct sim_charger *b = &s->chargers[j];

			if (strcmp(a->name, b->name) == 0) {
				xasprintf(cause, "chargers: name \"%s\" used "
				    "twice", a->name);
				goto out;
			}
			if (a->link == SIM_LINK_RTU &&
			    b->link == SIM_LINK_RTU &&
			    a->unit_id == b->unit_id) {
				xasprintf(cause, "chargers: \"%s\" and \"%s\" "
				    "share RTU unit id %d", b->name, a->name,
				    a->unit_id);
				goto out;
			}
		}
		if (s->chargers[i].link == SIM_LINK_RTU) {
			s->bus.present = true;
			if (s->meter.present && s->meter.rtu &&
			    s->meter.unit_id == s->chargers[i].unit_id) {
				xasprintf(cause, "chargers: \"%s\" uses the "
				    "meter's RTU unit id %d",
				    s->chargers[i].name, s->meter.unit_id);
				goto out;
			}
		}
	}
	if (s->meter.present && s->meter.rtu)
		s->bus.present = true;
	if ((o = json_object_get(root, "timeline")) != NULL &&
	    load_timeline(s, o, cause) != 0)
		goto out;
	if (check_steps && check_timeline(s, text, cause) != 0)
		goto out;
	rc = 0;
out:
	json_decref(root);
	return rc;
}

/* Loads a scenario file.  Returns 0 or -1 with *cause. */
int
sim_scenario_load(struct sim_site *s, const char *path, char **cause)
{
	FILE *f = fopen(path, "r");
	char *text, *why = NULL;
	long len;
	int rc;

	if (f == NULL) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		xasprintf(cause, "%s: cannot read: %s", path, strerror(errno));
		fclose(f);
		return -1;
	}
	text = xmalloc((size_t)len + 1);
	if (fread(text, 1, (size_t)len, f) != (size_t)len) {
		xasprintf(cause, "%s: short read", path);
		fclose(f);
		free(text);
		return -1;
	}
	text[len] = '\0';
	fclose(f);
	rc = sim_scenario_parse(s, text, &why);
	if (rc != 0) {
		xasprintf(cause, "%s: %s", path, why);
		free(why);
	}
	free(text);
	return rc;
}

/* Frees everything the scenario allocated. */
void
sim_site_free(struct sim_site *s)
{
	for (size_t i = 0; i < s->n_chargers; i++)
		sim_charger_free(&s->chargers[i]);
	free(s->chargers);
	for (size_t i = 0; i < s->n_steps; i++)
		free(s->steps[i].command);
	free(s->steps);
	s->chargers = NULL;
	s->steps = NULL;
	s->n_chargers = s->n_steps = 0;
}
