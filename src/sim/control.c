/* Control commands of the simulator (one line in, one line out), shared by
 * the control socket and the scenario's timeline, and the JSON views of
 * the site that `get` and `status` return. */
#define _GNU_SOURCE
#include "sim/sim.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"

#define MAX_ARGS 12

/* The control-command word for a silence mode (static string). */
static const char *
silence_name(enum sim_silence m)
{
	switch (m) {
	case SIM_SILENCE_OFF: return "off";
	case SIM_SILENCE_DROP: return "on";
	case SIM_SILENCE_CLOSE: return "close";
	}
	return "?";
}

/* The configuration name of a link (static string). */
static const char *
link_name(enum sim_link l)
{
	switch (l) {
	case SIM_LINK_TCP: return "tcp";
	case SIM_LINK_TCP_DIAL: return "tcp-listen";
	case SIM_LINK_RTU: return "rtu";
	}
	return "?";
}

/* The configuration name of a meter type (static string). */
static const char *
meter_type_name(enum sim_meter_type t)
{
	switch (t) {
	case SIM_METER_SDM630: return "sdm630";
	case SIM_METER_SDM230: return "sdm230";
	case SIM_METER_SDM120: return "sdm120";
	}
	return "?";
}

/* Rounds to 0.1 for readable JSON. */
static json_t *
num(double v)
{
	return json_real((double)llround(v * 10.0) / 10.0);
}

/* The four limit registers of a connector as JSON (new reference). */
static json_t *
limits_json(const struct sim_connector *x)
{
	return json_pack("{s:I, s:I, s:I, s:I}",
	    "power_w", (json_int_t)x->lim_power_w,
	    "current_ca", (json_int_t)x->lim_current_ca,
	    "offline_power_w", (json_int_t)x->off_power_w,
	    "offline_current_ca", (json_int_t)x->off_current_ca);
}

/* One charger as a JSON object (new reference). */
static json_t *
charger_json(struct sim_site *s, struct sim_charger *c)
{
	json_t *o, *conns = json_array();
	int64_t age = c->last_write_ms == 0 ? -1 :
	    s->last_update_ms - c->last_write_ms;

	for (int k = 1; k <= c->connectors; k++) {
		struct sim_connector *x = &c->conn[k];
		json_t *e = json_pack("{s:i, s:i, s:b, s:o, s:o, s:o, s:o, "
		    "s:o, s:o, s:o, s:s, s:i, s:o}",
		    "id", k,
		    "status", sim_connector_status(c, k),
		    "plugged", x->plugged,
		    "ev_max_w", json_integer(x->ev_max_w),
		    "command_w", num(x->cmd_w),
		    "applied_w", num(x->applied_w),
		    "power_w", num(x->power_w),
		    "energy_wh", num(x->energy_wh),
		    "session_wh", num(x->session_wh),
		    "soc", x->soc_pct < 0 ? json_null() : num(x->soc_pct),
		    "idtag", x->idtag,
		    "ev_phases", x->ev_phases,
		    "limits", limits_json(x));

		json_array_append_new(conns, e);
	}
	o = json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:s, s:i, s:i, "
	    "s:b, s:b, s:s, s:i, s:o, s:i, s:s, s:I, s:I, s:I, s:I, s:I, "
	    "s:o, s:o}",
	    "name", c->name,
	    "model", c->model->name,
	    "serial", c->serial,
	    "link", link_name(c->link),
	    "port", c->port,
	    "unit_id", c->unit_id,
	    "control_mode", c->control_mode,
	    "word_order", c->word_order == 1 ? "high-first" :
	    c->word_order == 2 ? "low-first" : "model",
	    "comm_timeout_s", c->comm_timeout_s,
	    "link_type", c->link_type,
	    "offline", c->offline,
	    "faulted", c->faulted,
	    "silence", silence_name(c->silence),
	    "status", sim_connector_status(c, 0),
	    "power_w", num(sim_charger_power(c)),
	    "phase_switch", c->phase_switch,
	    "fw_url", c->fw_url,
	    "fw_updates", (json_int_t)c->fw_updates,
	    "unlocks", (json_int_t)c->unlocks,
	    "requests", (json_int_t)c->requests,
	    "writes", (json_int_t)c->writes,
	    "last_write_age_ms", (json_int_t)age,
	    "limits", limits_json(&c->conn[0]),
	    "connectors", conns);
	json_object_set_new(o, "phase_switches",
	    json_integer((json_int_t)c->phase_switches));
	json_object_set_new(o, "phase_switches_refused",
	    json_integer((json_int_t)c->phase_switches_refused));
	json_object_set_new(o, "connections",
	    json_integer(sim_net_connections(c)));
	json_object_set_new(o, "firmware", json_string(c->firmware));
	json_object_set_new(o, "fw_step",
	    json_string(sim_fw_step_name(c->fw_step)));
	json_object_set_new(o, "accepted", json_integer((json_int_t)c->accepted));
	if (c->link == SIM_LINK_TCP_DIAL)
		json_object_set_new(o, "connected",
		    json_boolean(c->dial_fd >= 0 && !c->dial_connecting));
	return o;
}

/* The meter as a JSON object (new reference). */
static json_t *
meter_json(struct sim_site *s)
{
	struct sim_meter *m = &s->meter;

	return json_pack("{s:s, s:o, s:[o,o,o], s:[o,o,o], s:[o,o,o], s:o, "
	    "s:o, s:o, s:b, s:I, s:I, s:o, s:o, s:i, s:i}",
	    "type", meter_type_name(m->type),
	    "total_w", num(m->total_w),
	    "power_w", num(m->p_phase[0]), num(m->p_phase[1]),
	    num(m->p_phase[2]),
	    "voltage_v", num(m->v_phase[0]), num(m->v_phase[1]),
	    num(m->v_phase[2]),
	    "current_a", json_real(m->i_phase[0]), json_real(m->i_phase[1]),
	    json_real(m->i_phase[2]),
	    "import_kwh", json_real(m->import_kwh),
	    "export_kwh", json_real(m->export_kwh),
	    "frequency_hz", num(m->frequency_hz),
	    "silent", m->silent,
	    "requests", (json_int_t)m->requests,
	    "ignored", (json_int_t)m->ignored,
	    "household_w", num(s->household_w),
	    "pv_w", num(s->pv_w),
	    "port", m->port,
	    "connections", sim_net_connections(NULL));
}

/* Turns o (consumed) into an "ok {JSON}" reply.  Caller frees. */
static char *
dump(json_t *o)
{
	char *text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10));
	char *line;

	json_decref(o);
	xasprintf(&line, "ok %s", text);
	free(text);
	return line;
}

/* The whole site as compact JSON.  Caller frees. */
char *
sim_status_json(struct sim_site *s)
{
	json_t *o, *arr = json_array();
	char *text;

	for (size_t i = 0; i < s->n_chargers; i++)
		json_array_append_new(arr, charger_json(s, &s->chargers[i]));
	o = json_pack("{s:o, s:o, s:I, s:o, s:o, s:o}",
	    "household_w", num(s->household_w),
	    "pv_w", num(s->pv_w),
	    "follow_delay_ms", (json_int_t)s->follow_delay_ms,
	    "ramp_w_per_s", num(s->ramp_w_per_s),
	    "meter", s->meter.present ? meter_json(s) : json_null(),
	    "chargers", arr);
	text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10));
	json_decref(o);
	return text;
}

/* Formats an "error ..." reply.  Caller frees. */
static char *err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *
err(const char *fmt, ...)
{
	char *line, *msg;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	xasprintf(&line, "error %s", msg != NULL ? msg : "out of memory");
	free(msg);
	return line;
}

/* Parses a number argument in [min, max]. */
static int
parse_num(const char *text, double min, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(text, &end);
	if (end == text || *end != '\0' || errno != 0 || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Finds CHARGER and CONN (argv[1], argv[2]); returns an error line or
 * NULL. */
static char *
charger_conn(struct sim_site *s, int argc, char **argv, bool conn_needed,
    struct sim_charger **c, int *k)
{
	double v;

	if (argc < 2)
		return err("%s: needs CHARGER", argv[0]);
	*c = sim_site_charger(s, argv[1]);
	if (*c == NULL)
		return err("unknown charger \"%s\" (see `status`)", argv[1]);
	*k = 0;
	if (argc < 3) {
		if (!conn_needed)
			return NULL;
		if ((*c)->connectors != 1)
			return err("%s: needs CONNECTOR", argv[0]);
		*k = 1;
		return NULL;
	}
	if (parse_num(argv[2], 1, (*c)->connectors, &v) != 0) {
		char *line;

		xasprintf(&line, "error connector \"%s\" out of range 1..%d",
		    argv[2], (*c)->connectors);
		return line;
	}
	*k = (int)v;
	return NULL;
}

/* plug CHARGER CONN evmax=W [phases=1|3] [idtag=X] [soc=N] [battery=kWh]
 * [wait=0|1] */
static char *
cmd_plug(struct sim_site *s, int argc, char **argv, int64_t now_ms)
{
	struct sim_charger *c;
	int k;
	double evmax = -1, phases = 3, soc = -1, battery = 60, wait = 0;
	const char *idtag = "";
	char *e, *why = NULL;

	if (argc < 3)
		return err("%s", "plug: usage: plug CHARGER CONN evmax=W "
		    "[phases=1|3] [idtag=X] [soc=N] [battery=kWh] [wait=1]");
	if ((e = charger_conn(s, argc, argv, true, &c, &k)) != NULL)
		return e;
	for (int i = 3; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		const char *key = argv[i], *val;
		int rc = 0;

		if (eq == NULL)
			return err("plug: \"%s\" is not KEY=VALUE", argv[i]);
		*eq = '\0';
		val = eq + 1;
		if (strcmp(key, "evmax") == 0)
			rc = parse_num(val, 0, 1e6, &evmax);
		else if (strcmp(key, "phases") == 0)
			rc = parse_num(val, 1, 3, &phases);
		else if (strcmp(key, "soc") == 0)
			rc = parse_num(val, 0, 100, &soc);
		else if (strcmp(key, "battery") == 0)
			rc = parse_num(val, 1, 1000, &battery);
		else if (strcmp(key, "wait") == 0)
			rc = parse_num(val, 0, 1, &wait);
		else if (strcmp(key, "idtag") == 0)
			idtag = val;
		else
			return err("plug: unknown key \"%s\" (evmax, phases, "
			    "idtag, soc, battery, wait)", key);
		if (rc != 0)
			return err("plug: bad value for %s (evmax 0..1000000 W, "
			    "phases 1|3, soc 0..100, battery 1..1000 kWh, "
			    "wait 0|1)", key);
	}
	if (evmax < 0)
		return err("%s", "plug: evmax=W is required");
	if (sim_ev_plug(s, c, k, (uint32_t)evmax, (int)phases, idtag, soc,
	    battery, wait > 0, now_ms, &why) != 0) {
		e = err("plug: %s", why);
		free(why);
		return e;
	}
	return xstrdup("ok");
}

/* Splits line into words in place. */
static int
split(char *line, char **argv)
{
	int argc = 0;
	char *save = NULL;

	for (char *w = strtok_r(line, " \t\r\n", &save); w != NULL;
	    w = strtok_r(NULL, " \t\r\n", &save)) {
		if (argc == MAX_ARGS)
			return -1;
		argv[argc++] = w;
	}
	return argc;
}

static const char help_text[] =
	"ok commands: household W | pv W | delay MS | plug CHARGER CONN "
	"evmax=W [phases=1|3] [idtag=X] [soc=N] [battery=kWh] [wait=1] | "
	"unplug|suspend|resume|finish|start CHARGER [CONN] | fault|clear "
	"CHARGER [CONN] | silence CHARGER on|off|close | firmware CHARGER "
	"ok [VERSION]|fail | reply-delay CHARGER "
	"MS | meter silence on|off | garble CHARGER W|off | meter garble "
	"VALUE|off | get CHARGER|meter | status";

/* "garble": power registers that read `arg` (any number, nan, inf) until
 * "off", to play a broken device.  NULL (success) or an error reply. */
static char *
garble(const char *arg, bool *on, double *value)
{
	char *end;
	double v;

	if (strcmp(arg, "off") == 0) {
		*on = false;
		return NULL;
	}
	v = strtod(arg, &end);
	if (end == arg || *end != '\0')
		return err("garble: \"%s\" is not a number, nan, inf or off",
		    arg);
	*on = true;
	*value = v;
	return NULL;
}

/* Executes one command line; returns the reply.  Caller frees. */
char *
sim_control(struct sim_site *s, const char *text, int64_t now_ms)
{
	char *line = xstrdup(text), *argv[MAX_ARGS], *reply = NULL;
	struct sim_charger *c;
	int argc = split(line, argv), k;
	double v;

	sim_site_update(s, now_ms);
	if (argc < 0) {
		reply = err("%s", "too many words");
		goto out;
	}
	if (argc == 0) {
		reply = err("%s", "empty command (try `help`)");
		goto out;
	}
	if (strcmp(argv[0], "help") == 0) {
		reply = xstrdup(help_text);
	} else if (strcmp(argv[0], "household") == 0 ||
	    strcmp(argv[0], "pv") == 0) {
		bool pv = argv[0][0] == 'p';

		if (argc != 2 || parse_num(argv[1], pv ? 0 : -1e6, 1e6,
		    &v) != 0)
			reply = err(pv ? "%s: usage: pv W (0..1000000)" :
			    "%s: usage: household W (-1000000..1000000)",
			    argv[0]);
		else if (pv)
			s->pv_w = v;
		else
			s->household_w = v;
	} else if (strcmp(argv[0], "delay") == 0) {
		if (argc != 2 || parse_num(argv[1], 0, 600000, &v) != 0)
			reply = err("%s: usage: delay MS (0..600000)", argv[0]);
		else
			s->follow_delay_ms = (int64_t)v;
	} else if (strcmp(argv[0], "ramp") == 0) {
		if (argc != 2 || parse_num(argv[1], 0, 1000000, &v) != 0)
			reply = err("%s: usage: ramp W_PER_S (0..1000000)",
			    argv[0]);
		else
			s->ramp_w_per_s = v;
	} else if (strcmp(argv[0], "plug") == 0) {
		reply = cmd_plug(s, argc, argv, now_ms);
	} else if (strcmp(argv[0], "unplug") == 0 ||
	    strcmp(argv[0], "suspend") == 0 ||
	    strcmp(argv[0], "resume") == 0 ||
	    strcmp(argv[0], "finish") == 0 ||
	    strcmp(argv[0], "start") == 0) {
		struct sim_connector *x;

		if ((reply = charger_conn(s, argc, argv, true, &c, &k)) != NULL)
			goto out;
		x = &c->conn[k];
		if (!x->plugged) {
			reply = err("%s: no EV plugged in there", argv[0]);
			goto out;
		}
		if (argv[0][0] == 'u') {
			sim_ev_unplug(c, k, now_ms);
		} else if (strcmp(argv[0], "suspend") == 0) {
			x->ev_suspended = true;
		} else if (strcmp(argv[0], "resume") == 0) {
			x->ev_suspended = false;
		} else if (strcmp(argv[0], "finish") == 0) {
			if (!x->finished)
				x->session_end_ms = now_ms;
			x->finished = true;
		} else {
			x->waiting_start = false;
		}
	} else if (strcmp(argv[0], "fault") == 0 ||
	    strcmp(argv[0], "clear") == 0) {
		bool on = argv[0][0] == 'f';

		if ((reply = charger_conn(s, argc, argv, false, &c,
		    &k)) != NULL)
			goto out;
		if (k == 0)
			c->faulted = on;
		else
			c->conn[k].faulted = on;
	} else if (strcmp(argv[0], "reply-delay") == 0) {
		if (argc != 3 || (c = sim_site_charger(s, argv[1])) == NULL ||
		    parse_num(argv[2], 0, 600000, &v) != 0)
			reply = err("%s: usage: reply-delay CHARGER MS "
			    "(0..600000)", argv[0]);
		else
			c->reply_delay_ms = (int64_t)v;
	} else if (strcmp(argv[0], "firmware") == 0) {
		/* firmware CHARGER ok [VERSION] | fail: how the next
		 * upgrade ends */
		if (argc < 3 || argc > 4 || (c = sim_site_charger(s,
		    argv[1])) == NULL || (strcmp(argv[2], "ok") != 0 &&
		    (strcmp(argv[2], "fail") != 0 || argc != 3)) ||
		    (argc == 4 && strlen(argv[3]) >= sizeof(c->fw_next))) {
			reply = err("%s: usage: firmware CHARGER ok [VERSION] "
			    "| fail (a known charger, a version of at most "
			    "40 characters)", argv[0]);
			goto out;
		}
		c->fw_fail = strcmp(argv[2], "fail") == 0;
		strlcpy_ok(c->fw_next, argc == 4 ? argv[3] : "",
		    sizeof(c->fw_next));
	} else if (strcmp(argv[0], "silence") == 0) {
		if (argc != 3 || ((c = sim_site_charger(s, argv[1])) == NULL)) {
			reply = err("%s: usage: silence CHARGER on|off|close "
			    "(a known charger)", argv[0]);
			goto out;
		}
		if (strcmp(argv[2], "on") == 0)
			c->silence = SIM_SILENCE_DROP;
		else if (strcmp(argv[2], "off") == 0)
			c->silence = SIM_SILENCE_OFF;
		else if (strcmp(argv[2], "close") == 0)
			c->silence = SIM_SILENCE_CLOSE;
		else {
			reply = err("silence: \"%s\" is not on, off or close",
			    argv[2]);
			goto out;
		}
		sim_net_silence_changed(s, c);
	} else if (strcmp(argv[0], "meter") == 0 && argc == 3 &&
	    strcmp(argv[1], "garble") == 0) {
		reply = garble(argv[2], &s->meter.garbled, &s->meter.garble_w);
	} else if (strcmp(argv[0], "garble") == 0) {
		if (argc != 3 || (c = sim_site_charger(s, argv[1])) == NULL)
			reply = err("%s: usage: garble CHARGER W|off (a known "
			    "charger)", argv[0]);
		else
			reply = garble(argv[2], &c->garbled, &c->garble_w);
	} else if (strcmp(argv[0], "meter") == 0) {
		if (argc != 3 || strcmp(argv[1], "silence") != 0 ||
		    (strcmp(argv[2], "on") != 0 && strcmp(argv[2], "off") != 0))
			reply = err("%s: usage: meter silence on|off, meter "
			    "garble VALUE|off", argv[0]);
		else
			s->meter.silent = strcmp(argv[2], "on") == 0;
	} else if (strcmp(argv[0], "get") == 0) {
		if (argc != 2)
			reply = err("%s: usage: get CHARGER|meter", argv[0]);
		else if (strcmp(argv[1], "meter") == 0)
			reply = s->meter.present ? dump(meter_json(s)) :
			    err("%s: the scenario has no meter", argv[0]);
		else if ((c = sim_site_charger(s, argv[1])) == NULL)
			reply = err("unknown charger \"%s\" (see `status`)",
			    argv[1]);
		else
			reply = dump(charger_json(s, c));
	} else if (strcmp(argv[0], "status") == 0) {
		char *json = sim_status_json(s);

		xasprintf(&reply, "ok %s", json);
		free(json);
	} else {
		reply = err("unknown command \"%s\" (try `help`)", argv[0]);
	}
	sim_site_update(s, now_ms);
out:
	free(line);
	return reply != NULL ? reply : xstrdup("ok");
}

/* Runs the timeline steps due at now_ms (logging each reply); lowers
 * *next to the time of the next step. */
void
sim_timeline_run(struct sim_site *s, int64_t now_ms, int64_t *next)
{
	bool all_done = s->n_steps > 0;

	for (size_t i = 0; i < s->n_steps; i++) {
		struct sim_step *st = &s->steps[i];
		int64_t due = s->timeline_base_ms + (int64_t)(st->at_s * 1000);

		if (st->done)
			continue;
		if (due <= now_ms) {
			char *reply = sim_control(s, st->command, now_ms);

			log_info("timeline +%.1fs: %s -> %s", st->at_s,
			    st->command, reply);
			free(reply);
			st->done = true;
		} else {
			all_done = false;
			if (due < *next)
				*next = due;
		}
	}
	if (all_done && s->timeline_repeat_s > 0) {
		s->timeline_base_ms += (int64_t)(s->timeline_repeat_s * 1000);
		for (size_t i = 0; i < s->n_steps; i++)
			s->steps[i].done = false;
		if (s->timeline_base_ms < *next)
			*next = s->timeline_base_ms;
	}
}
