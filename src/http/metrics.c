/* GET /metrics: the site's reports in the Prometheus text exposition
 * format (version 0.0.4).  Names take the ocpp_edge_ prefix and their
 * unit (_watts, _amperes, _volts, _seconds, _total for counters); a
 * state is a series with the state as a label and the value 1. */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "config/config.h"
#include "control.h"
#include "http/http.h"
#include "site/site.h"
#include "store/store.h"

/* A growing text buffer. */
struct buf {
	char *s;
	size_t len, cap;
};

static void
put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < b->cap - b->len)
			break;
		b->cap = b->cap * 2 + (n > 0 ? (size_t)n : 0);
		b->s = xrealloc(b->s, b->cap);
	}
	b->len += (size_t)n;
}

/* A label value escaped as the format wants (\\, \", \n) into out. */
static const char *
label(const char *in, char *out, size_t len)
{
	size_t o = 0;

	for (; *in != '\0' && o + 3 < len; in++) {
		if (*in == '\\' || *in == '"') {
			out[o++] = '\\';
			out[o++] = *in;
		} else if (*in == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = *in;
		}
	}
	out[o] = '\0';
	return out;
}

/* # HELP and # TYPE of one metric. */
static void
head(struct buf *b, const char *name, const char *type, const char *help)
{
	put(b, "# HELP ocpp_edge_%s %s\n# TYPE ocpp_edge_%s %s\n", name, help,
	    name, type);
}

/* A value, NaN as the format spells it. */
static void
value(struct buf *b, double v)
{
	if (isnan(v))
		put(b, " NaN\n");
	else
		put(b, " %.10g\n", v);
}

/* The site: power, cap and its source, budget, allocation. */
static void
site_metrics(struct buf *b, const struct site_report *r)
{
	char l[128];

	head(b, "site_power_watts", "gauge", "Power at the grid connection "
	    "as the meter reads it (import positive; NaN without a reading).");
	put(b, "ocpp_edge_site_power_watts");
	value(b, r->has_meter ? r->meter.total_w : NAN);
	head(b, "site_cap_watts", "gauge", "The site cap in force; source: "
	    "where it comes from.");
	put(b, "ocpp_edge_site_cap_watts{source=\"%s\"} %d\n",
	    label(r->cap_source, l, sizeof(l)), (int)r->cap_w);
	head(b, "site_budget_watts", "gauge", "What the balancer may hand "
	    "out to the connectors now.");
	put(b, "ocpp_edge_site_budget_watts %lld\n", (long long)r->budget_w);
	head(b, "site_allocated_watts", "gauge", "The sum of the connectors' "
	    "setpoints.");
	put(b, "ocpp_edge_site_allocated_watts %lld\n",
	    (long long)r->allocated_w);
	head(b, "household_power_watts", "gauge", "Load that is not the "
	    "chargers' as estimated (NaN when unknown: PV mode, meter fault).");
	put(b, "ocpp_edge_household_power_watts");
	value(b, r->meter.household_w);
	head(b, "pv_surplus_watts", "gauge", "PV mode: the export the "
	    "chargers could take (NaN in other modes).");
	put(b, "ocpp_edge_pv_surplus_watts");
	value(b, r->meter.surplus_w);
}

/* The meter: up, age, per-phase readings. */
static void
meter_metrics(struct buf *b, const struct site_report *r)
{
	static const struct {
		const char *name, *help;
		size_t off;
	} phase[] = {
		{ "meter_power_watts", "Active power per phase.",
		  offsetof(struct site_meter_view, phase_w) },
		{ "meter_current_amperes", "Current per phase.",
		  offsetof(struct site_meter_view, phase_a) },
		{ "meter_voltage_volts", "Voltage per phase.",
		  offsetof(struct site_meter_view, phase_v) },
	};
	const struct site_meter_view *m = &r->meter;

	if (!r->has_meter)
		return;
	head(b, "meter_up", "gauge", "1 while the meter is read without "
	    "fault.");
	put(b, "ocpp_edge_meter_up{type=\"%s\"} %d\n", m->type, m->online);
	head(b, "meter_reading_age_seconds", "gauge", "Age of the last good "
	    "meter reading (NaN when never read).");
	put(b, "ocpp_edge_meter_reading_age_seconds");
	value(b, m->age_ms >= 0 ? m->age_ms / 1000.0 : NAN);
	head(b, "meter_polls_total", "counter", "Good meter readings since "
	    "start.");
	put(b, "ocpp_edge_meter_polls_total %llu\n",
	    (unsigned long long)m->polls);
	for (size_t i = 0; i < ARRAY_SIZE(phase); i++) {
		const double *v = (const double *)(const void *)
		    ((const char *)m + phase[i].off);

		head(b, phase[i].name, "gauge", phase[i].help);
		for (int p = 0; p < BAL_PHASES; p++) {
			put(b, "ocpp_edge_%s{phase=\"L%d\"}", phase[i].name,
			    p + 1);
			value(b, v[p]);
		}
	}
}

/* Per connector: setpoint, draw, status and reason as state series. */
static void
connector_metrics(struct buf *b, const struct control_sources *src,
    const struct site_report *r)
{
	static const char *const names[] = { "connector_setpoint_watts",
		"connector_power_watts", "connector_status",
		"connector_reason" };
	static const char *const helps[] = {
		"The limit the balancer gives the connector.",
		"What the connector draws (NaN while its charger is offline).",
		"1 for the connector's OCPP status.",
		"1 for the reason of the connector's setpoint.",
	};

	for (size_t m = 0; m < ARRAY_SIZE(names); m++) {
		head(b, names[m], "gauge", helps[m]);
		for (int k = 0; k < r->n_conns; k++) {
			struct site_conn_view v;
			char l[128];

			site_conn_view(src->site, k, &v);
			put(b, "ocpp_edge_%s{connector=\"%d\",label=\"%s\"",
			    names[m], v.ocpp_id, label(v.label, l, sizeof(l)));
			switch (m) {
			case 0:
				put(b, "} %d\n", (int)v.setpoint_w);
				break;
			case 1:
				put(b, "}");
				value(b, v.power_w);
				break;
			case 2:
				put(b, ",status=\"%s\"} 1\n", v.status);
				break;
			default:
				put(b, ",reason=\"%s\"} 1\n", v.reason);
				break;
			}
		}
	}
}

/* The value of one per-charger series. */
static double
modbus_up(const struct site_charger_view *v, int64_t now)
{
	(void)now;
	return v->online;
}

static double
modbus_polls(const struct site_charger_view *v, int64_t now)
{
	(void)now;
	return (double)v->polls;
}

static double
modbus_failures(const struct site_charger_view *v, int64_t now)
{
	(void)now;
	return v->failures;
}

static double
modbus_readback(const struct site_charger_view *v, int64_t now)
{
	(void)now;
	return (double)v->readback_errors;
}

static double
modbus_age(const struct site_charger_view *v, int64_t now)
{
	return v->updated_ms > 0 ? (double)(now - v->updated_ms) / 1000.0 : NAN;
}

/* Per charger: the Modbus link's health, one row per metric. */
static void
charger_metrics(struct buf *b, const struct control_sources *src,
    const struct site_report *r)
{
	static const struct {
		const char *name, *type, *help;
		double (*value)(const struct site_charger_view *v, int64_t now);
	} series[] = {
		{ "modbus_up", "gauge", "1 while the charger answers on Modbus.",
		  modbus_up },
		{ "modbus_polls_total", "counter", "Complete Modbus polls since "
		  "start.", modbus_polls },
		{ "modbus_consecutive_failures", "gauge", "Failed Modbus "
		  "exchanges in a row (0 when the last one worked).",
		  modbus_failures },
		{ "modbus_readback_errors_total", "counter", "Limits read back "
		  "different from what was written.", modbus_readback },
		{ "modbus_reading_age_seconds", "gauge", "Age of the charger's "
		  "last good poll (NaN when never read).", modbus_age },
	};
	int64_t now = mono_now_ms();
	char l[128];

	for (size_t m = 0; m < ARRAY_SIZE(series); m++) {
		head(b, series[m].name, series[m].type, series[m].help);
		for (int c = 0; c < r->n_chargers; c++) {
			struct site_charger_view v;

			site_charger_view(src->site, c, &v);
			put(b, "ocpp_edge_%s{device=\"%s\"}", series[m].name,
			    label(v.name, l, sizeof(l)));
			value(b, series[m].value(&v, now));
		}
	}
}

/* One device's line of each Modbus exchange series (see io_metrics). */
static void
io_device(struct buf *b, int which, const char *device,
    const struct sb_io_stats *io)
{
	char l[128];
	uint64_t cum = 0;

	label(device, l, sizeof(l));
	switch (which) {
	case 0:
		for (int k = 0; k < SB_RT_BUCKETS; k++) {
			cum += io->rt_bucket[k];
			if (k < SB_RT_BUCKETS - 1)
				put(b, "ocpp_edge_modbus_response_seconds_bucket"
				    "{device=\"%s\",le=\"%g\"} %llu\n", l,
				    sb_rt_bucket_ms[k] / 1000.0,
				    (unsigned long long)cum);
			else
				put(b, "ocpp_edge_modbus_response_seconds_bucket"
				    "{device=\"%s\",le=\"+Inf\"} %llu\n", l,
				    (unsigned long long)cum);
		}
		put(b, "ocpp_edge_modbus_response_seconds_sum{device=\"%s\"} "
		    "%.6f\n", l, io->rt_sum_s);
		put(b, "ocpp_edge_modbus_response_seconds_count{device=\"%s\"} "
		    "%llu\n", l, (unsigned long long)io->answers);
		break;
	case 1:
		for (int e = 0; e < SB_IOE_COUNT; e++)
			put(b, "ocpp_edge_modbus_errors_total{device=\"%s\","
			    "kind=\"%s\"} %llu\n", l,
			    sb_io_error_name((enum sb_io_error)e),
			    (unsigned long long)io->errors[e]);
		break;
	default:
		for (int c = 1; c < SB_EXCEPTION_CODES; c++)
			if (io->exceptions[c] > 0)
				put(b, "ocpp_edge_modbus_exceptions_total"
				    "{device=\"%s\",code=\"%02d\"} %llu\n", l, c,
				    (unsigned long long)io->exceptions[c]);
		break;
	}
}

/* Every device's Modbus exchanges as its worker counted them: response
 * times (answers, exceptions included) and errors by kind. */
static void
io_metrics(struct buf *b, const struct control_sources *src,
    const struct site_report *r)
{
	static const struct {
		const char *name, *type, *help;
	} series[] = {
		{ "modbus_response_seconds", "histogram", "Time from a Modbus "
		  "request to its answer (exceptions included)." },
		{ "modbus_errors_total", "counter", "Modbus requests and "
		  "connections that failed, by kind: timeout, exception, "
		  "refused (TCP connection refused), other." },
		{ "modbus_exceptions_total", "counter", "Modbus exception "
		  "answers by exception code (02 illegal data address, ...)." },
	};

	for (int m = 0; m < (int)ARRAY_SIZE(series); m++) {
		head(b, series[m].name, series[m].type, series[m].help);
		for (int c = 0; c < r->n_chargers; c++) {
			struct site_charger_view v;

			site_charger_view(src->site, c, &v);
			io_device(b, m, v.name, &v.io);
		}
		if (r->has_meter)
			io_device(b, m, "meter", &r->meter.io);
	}
}

char *
http_metrics(const struct control_sources *src)
{
	struct buf b = { xmalloc(8192), 0, 8192 };
	struct site_report r;
	struct store_queue_stats qs = { 0 };

	site_report(src->site, &r);
	if (src->store != NULL)
		store_queue_stats(src->store, &qs);
	b.s[0] = '\0';
	head(&b, "build_info", "gauge", "The running version.");
	put(&b, "ocpp_edge_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
	head(&b, "uptime_seconds", "gauge", "Seconds since the daemon "
	    "started.");
	put(&b, "ocpp_edge_uptime_seconds %lld\n",
	    (long long)((mono_now_ms() - src->started_ms) / 1000));
	site_metrics(&b, &r);
	meter_metrics(&b, &r);
	connector_metrics(&b, src, &r);
	charger_metrics(&b, src, &r);
	io_metrics(&b, src, &r);
	head(&b, "cloud_connected", "gauge", "1 while the OCPP session with "
	    "the backend is up.");
	put(&b, "ocpp_edge_cloud_connected %d\n",
	    strcmp(r.cloud_state, "connected") == 0);
	head(&b, "cloud_queued_messages", "gauge", "Messages waiting for the "
	    "backend.");
	put(&b, "ocpp_edge_cloud_queued_messages %lld\n",
	    (long long)(qs.committed + qs.buffered));
	head(&b, "cloud_dropped_messages_total", "counter", "Messages the "
	    "queue bound dropped.");
	put(&b, "ocpp_edge_cloud_dropped_messages_total %lld\n",
	    (long long)qs.dropped);
	return b.s;
}
