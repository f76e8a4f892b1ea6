/* What the simulator tells the outside world at start-up: the ready file
 * (every port and the pty path, as JSON) and an ocpp-edge.conf for the
 * daemon that matches the simulated site. */
#define _GNU_SOURCE
#include "sim/sim.h"

#include <errno.h>
#include <jansson.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/atomic-file.h"
#include "common/util.h"

/* The configuration name of a charger's link (static string). */
static const char *
model_link(const struct sim_charger *c)
{
	switch (c->link) {
	case SIM_LINK_TCP: return "tcp";
	case SIM_LINK_TCP_DIAL: return "tcp-listen";
	case SIM_LINK_RTU: return "rtu";
	}
	return "?";
}

/* The configuration name of a meter type (static string). */
static const char *
meter_type(const struct sim_meter *m)
{
	switch (m->type) {
	case SIM_METER_SDM630: return "sdm630";
	case SIM_METER_SDM230: return "sdm230";
	case SIM_METER_SDM120: return "sdm120";
	}
	return "?";
}

/* The ready-file contents.  Caller frees. */
char *
sim_ready_json(struct sim_site *s, const char *control_path)
{
	json_t *o, *arr = json_array(), *meter = json_null(), *bus = json_null();
	char *text, gw[96];

	for (size_t i = 0; i < s->n_chargers; i++) {
		struct sim_charger *c = &s->chargers[i];

		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, "
		    "s:s, s:i, s:i, s:i}",
		    "name", c->name, "model", c->model->name,
		    "gateway_model", c->model->conf_model,
		    "serial", c->serial, "link", model_link(c),
		    "port", c->link == SIM_LINK_TCP ? c->port : 0,
		    "unit_id", c->unit_id, "connectors", c->connectors));
	}
	if (s->meter.present)
		meter = json_pack("{s:s, s:i, s:i, s:s?}",
		    "type", meter_type(&s->meter),
		    "port", s->meter.tcp ? s->meter.port : 0,
		    "unit_id", s->meter.unit_id,
		    "pty", s->meter.rtu ? s->bus.path : NULL);
	if (s->bus.present)
		bus = json_pack("{s:s, s:i, s:s, s:i}",
		    "pty", s->bus.path, "baud", s->bus.baud,
		    "parity", s->bus.parity == 'E' ? "even" :
		    s->bus.parity == 'O' ? "odd" : "none",
		    "stop_bits", s->bus.stop_bits);
	snprintf(gw, sizeof(gw), "%s:%d", s->gateway_host, s->gateway_port);
	o = json_pack("{s:i, s:s?, s:o, s:o, s:o, s:s}",
	    "pid", (int)getpid(),
	    "control", control_path,
	    "chargers", arr,
	    "meter", meter,
	    "rtu", bus,
	    "gateway", gw);
	text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10));
	json_decref(o);
	return text;
}

/* Writes text to path atomically (common/atomic-file.h); 0 or -1 with
 * errno.  Anything but a regular file at path is refused, not replaced. */
static int
write_atomic(const char *path, const char *text)
{
	return atomic_write_file(path, text, strlen(text), 0644, NULL);
}

/* Writes the ready file; 0 or -1 with errno. */
int
sim_write_ready(struct sim_site *s, const char *path, const char *control)
{
	char *text = sim_ready_json(s, control), *line;
	int rc;

	xasprintf(&line, "%s\n", text);
	rc = write_atomic(path, line);
	free(text);
	free(line);
	return rc;
}

/* Prints a power option in kW. */
static void
kw(FILE *f, const char *key, double w)
{
	fprintf(f, "\t%s = %g\n", key, w / 1000.0);
}

/* The configuration name of a parity letter (static string). */
static const char *
parity_name(char p)
{
	return p == 'E' ? "even" : p == 'O' ? "odd" : "none";
}

/* The manual's limit of chargers on one circuit (§2.1). */
#define SIM_PER_CIRCUIT 40

/* The name of the configuration's circuit i: "main", "main-2", ... */
static const char *
circuit_name(size_t i, char *buf, size_t len)
{
	if (i == 0)
		snprintf(buf, len, "main");
	else
		snprintf(buf, len, "main-%zu", i + 1);
	return buf;
}

/* Writes a configuration for the daemon matching the site; 0 or -1. */
int
sim_write_config(struct sim_site *s, const char *path)
{
	char *buf = NULL, *dir = xstrdup(path), cname[32];
	size_t len = 0;
	double breaker;
	FILE *f = open_memstream(&buf, &len);
	int rc;

	if (f == NULL) {
		free(dir);
		return -1;
	}
	fprintf(f, "# ocpp-edge configuration matching the simulated site "
	    "(written by ocpp-edge-sim).\n\n");
	breaker = s->main_breaker_a;
	if (breaker <= 0)
		breaker = ceil(s->available_power_kw * 1000.0 /
		    (s->voltage_v * (strncmp(s->distribution, "1-", 2) == 0 ?
		    1 : 3)));
	fprintf(f, "site {\n\tid = \"%s\"\n\tdistribution = \"%s\"\n"
	    "\tnominal-voltage-v = %g\n\tmain-breaker-a = %g\n"
	    "\tavailable-power-kw = %g\n",
	    s->site_id, s->distribution, s->voltage_v, breaker,
	    s->available_power_kw);
	/* the manual allows 40 chargers per circuit: "main", "main-2", ... */
	for (size_t i = 0; i == 0 || i < (s->n_chargers + SIM_PER_CIRCUIT -
	    1) / SIM_PER_CIRCUIT; i++)
		fprintf(f, "\n\tcircuit \"%s\" {\n\t\tmax-current-a = %g\n"
		    "\t\tparent = \"\"\n\t}\n", circuit_name(i, cname,
		    sizeof cname), breaker);
	fprintf(f, "}\n\n");
	fprintf(f, "csms {\n\turl = \"%s\"\n\tocpp-version = \"1.6\"\n"
	    "\tidentity = \"%s\"\n\tsecurity-profile = 1\n}\n\n",
	    s->csms_url, s->site_id);
	fprintf(f, "balancer {\n\tmode = \"%s\"\n}\n\n",
	    s->meter.present ? "alm" : "dlb");
	if (s->meter.present) {
		bool rtu = s->meter.rtu && !s->meter.tcp;

		fprintf(f, "meter {\n\ttype = \"%s\"\n\tlink = \"%s\"\n",
		    meter_type(&s->meter), rtu ? "rtu" : "tcp");
		if (rtu)
			fprintf(f, "\tdevice = \"%s\"\n\tbaud = %d\n"
			    "\tparity = \"%s\"\n\tstop-bits = %d\n",
			    s->bus.path, s->bus.baud,
			    parity_name(s->bus.parity), s->bus.stop_bits);
		else
			fprintf(f, "\thost = \"127.0.0.1\"\n\tport = %d\n",
			    s->meter.port);
		fprintf(f, "\tunit-id = %d\n}\n\n", s->meter.unit_id);
	}
	fprintf(f, "southbound {\n\tlisten = \"%s:%d\"\n}\n\n",
	    s->gateway_host, s->gateway_port);
	for (size_t i = 0; i < s->n_chargers; i++) {
		struct sim_charger *c = &s->chargers[i];

		fprintf(f, "charger \"%s\" {\n\tmodel = \"%s\"\n"
		    "\tlink = \"%s\"\n", c->name, c->model->conf_model,
		    model_link(c));
		if (c->link == SIM_LINK_TCP)
			fprintf(f, "\thost = \"127.0.0.1\"\n\tport = %d\n",
			    c->port);
		if (c->link == SIM_LINK_RTU)
			fprintf(f, "\tdevice = \"%s\"\n\tbaud = %d\n"
			    "\tparity = \"%s\"\n\tstop-bits = %d\n",
			    s->bus.path, s->bus.baud,
			    parity_name(s->bus.parity), s->bus.stop_bits);
		fprintf(f, "\tunit-id = %d\n\tserial = \"%s\"\n"
		    "\tconnectors = %d\n\tphases = %d\n"
		    "\twired-phase = \"L%d\"\n", c->unit_id, c->serial,
		    c->connectors, c->phases, c->wired_phase + 1);
		kw(f, "max-power-kw", c->max_power_w);
		fprintf(f, "\tcircuit = \"%s\"\n\tcontrol-unit = \"%s\"\n"
		    "\tword-order = \"%s\"\n}\n\n",
		    circuit_name(i / SIM_PER_CIRCUIT, cname, sizeof cname),
		    c->control_mode == 1 ? "current" : "power",
		    c->word_order == 1 ? "high-first" :
		    c->word_order == 2 ? "low-first" : "model");
	}
	fprintf(f, "store {\n\tpath = \"%s/ocpp-edge.db\"\n}\n", dirname(dir));
	fclose(f);
	rc = write_atomic(path, buf);
	free(buf);
	free(dir);
	return rc;
}
