/* Renders the daemon's status and explain results for people.  Every
 * field may be missing or null (the contract only ever adds fields): a
 * missing value prints as "-". */
#include "config.h"

#include "ctl/ctl.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"

#define NA "-"

/* ---- small formatting helpers ------------------------------------- */

/* Formats a power: below 1 kW in whole W, else kW with one decimal. */
const char *
ctl_fmt_power(double w, char *buf, size_t len)
{
	if (isnan(w))
		snprintf(buf, len, NA);
	else if (fabs(w) < 1000)
		snprintf(buf, len, "%.0f W", w);
	else
		snprintf(buf, len, "%.1f kW", w / 1000);
	return buf;
}

/* Formats a duration with its two largest units. */
const char *
ctl_fmt_duration(int64_t ms, char *buf, size_t len)
{
	int64_t s = ms / 1000;

	if (ms < 0)
		snprintf(buf, len, NA);
	else if (s < 60)
		snprintf(buf, len, "%llds", (long long)s);
	else if (s < 3600)
		snprintf(buf, len, "%lldm%02llds", (long long)(s / 60),
		    (long long)(s % 60));
	else if (s < 86400)
		snprintf(buf, len, "%lldh%02lldm", (long long)(s / 3600),
		    (long long)(s % 3600 / 60));
	else
		snprintf(buf, len, "%lldd%02lldh", (long long)(s / 86400),
		    (long long)(s % 86400 / 3600));
	return buf;
}

/* A number field, or NAN when missing or not a number. */
static double
num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

/* A string field, or NULL. */
static const char *
str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* A string field, or "-". */
static const char *
str_na(json_t *o, const char *key)
{
	const char *s = str(o, key);

	return s != NULL && s[0] != '\0' ? s : NA;
}

/* A power field formatted, or "-". */
static const char *
pw(json_t *o, const char *key, char *buf, size_t len)
{
	return ctl_fmt_power(num(o, key), buf, len);
}

/* "HH:MM:SS (8m05s ago)" for an RFC 3339 time against now (epoch ms,
 * or -1 when unknown), or the text as given when it does not parse. */
static const char *
fmt_since(const char *when, int64_t now_ms, char *buf, size_t len)
{
	int64_t t;
	char d[32];

	if (when == NULL)
		return NA;
	if (parse_rfc3339(when, &t) != 0) {
		snprintf(buf, len, "%s", when);
		return buf;
	}
	{
		time_t secs = (time_t)(t / 1000);
		struct tm tm;

		gmtime_r(&secs, &tm);
		if (now_ms >= 0 && now_ms >= t)
			snprintf(buf, len, "%02d:%02d:%02dZ (%s ago)",
			    tm.tm_hour, tm.tm_min, tm.tm_sec,
			    ctl_fmt_duration(now_ms - t, d, sizeof(d)));
		else
			snprintf(buf, len, "%02d:%02d:%02dZ", tm.tm_hour,
			    tm.tm_min, tm.tm_sec);
	}
	return buf;
}

/* ---- tables --------------------------------------------------------- */

#define TBL_MAX_COLS 10

struct tbl {
	int ncols;
	bool right[TBL_MAX_COLS]; /* right-aligned column */
	char **cells;             /* rows x ncols, owned */
	size_t nrows, caprows;
};

/* Starts a table with a header row; a '>' before a name right-aligns it. */
static void
tbl_init(struct tbl *t, int ncols, ...)
{
	va_list ap;

	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	t->caprows = 8;
	t->cells = xcalloc(t->caprows * (size_t)ncols, sizeof(char *));
	va_start(ap, ncols);
	for (int i = 0; i < ncols; i++) {
		const char *h = va_arg(ap, const char *);

		if (h[0] == '>') {
			t->right[i] = true;
			h++;
		}
		t->cells[i] = xstrdup(h);
	}
	va_end(ap);
	t->nrows = 1;
}

/* Adds a row of ncols strings (copied; NULL prints as "-"). */
static void
tbl_row(struct tbl *t, const char *const *cells)
{
	if (t->nrows == t->caprows) {
		t->caprows *= 2;
		t->cells = xrealloc(t->cells,
		    t->caprows * (size_t)t->ncols * sizeof(char *));
	}
	for (int i = 0; i < t->ncols; i++)
		t->cells[t->nrows * (size_t)t->ncols + (size_t)i] =
		    xstrdup(cells[i] != NULL ? cells[i] : NA);
	t->nrows++;
}

/* Prints the table with two spaces between columns, indented by indent,
 * and frees it. */
static void
tbl_print(struct tbl *t, FILE *out, int indent)
{
	size_t w[TBL_MAX_COLS] = { 0 };

	for (size_t r = 0; r < t->nrows; r++)
		for (int i = 0; i < t->ncols; i++) {
			size_t l = strlen(t->cells[r * (size_t)t->ncols +
			    (size_t)i]);
			if (l > w[i])
				w[i] = l;
		}
	for (size_t r = 0; r < t->nrows; r++) {
		char line[1024];
		size_t pos = 0;

		for (int i = 0; i < t->ncols; i++) {
			const char *c = t->cells[r * (size_t)t->ncols +
			    (size_t)i];
			bool last = i == t->ncols - 1;
			int n;

			if (t->right[i])
				n = snprintf(line + pos, sizeof(line) - pos,
				    "%*s%s", (int)w[i], c, last ? "" : "  ");
			else if (last)
				n = snprintf(line + pos, sizeof(line) - pos,
				    "%s", c);
			else
				n = snprintf(line + pos, sizeof(line) - pos,
				    "%-*s  ", (int)w[i], c);
			if (n < 0 || (size_t)n >= sizeof(line) - pos) {
				pos = sizeof(line) - 1;
				break;
			}
			pos += (size_t)n;
		}
		while (pos > 0 && line[pos - 1] == ' ')
			pos--;
		line[pos] = '\0';
		fprintf(out, "%*s%s\n", indent, "", line);
	}
	for (size_t i = 0; i < t->nrows * (size_t)t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
}

/* ---- status ----------------------------------------------------------- */

/* A count, or "-". */
static const char *
count(double v, char *buf, size_t len)
{
	if (isnan(v))
		snprintf(buf, len, NA);
	else
		snprintf(buf, len, "%.0f", v);
	return buf;
}

/* The cloud line(s). */
static void
render_cloud(FILE *out, json_t *cloud, int64_t now)
{
	const char *state = str(cloud, "state");
	char since[96], b[32], b2[32];
	double q = num(cloud, "queued"), d = num(cloud, "dropped");

	if (!json_is_object(cloud)) {
		fprintf(out, "Cloud     %s\n", NA);
		return;
	}
	if (state != NULL && strcmp(state, "disabled") == 0) {
		fprintf(out, "Cloud     disabled (no backend configured): "
		    "running on local settings\n");
		return;
	}
	fprintf(out, "Cloud     %s", state != NULL ? state : NA);
	if (str(cloud, "since") != NULL)
		fprintf(out, " since %s", fmt_since(str(cloud, "since"), now,
		    since, sizeof(since)));
	if (state != NULL && strcmp(state, "connected") != 0)
		fprintf(out, ": running on local fallback");
	fprintf(out, "\n");
	fprintf(out, "          %s  OCPP %s  identity %s\n",
	    str_na(cloud, "url"), str_na(cloud, "ocpp_version"),
	    str_na(cloud, "identity"));
	fprintf(out, "          queued %s message%s, dropped %s\n",
	    count(q, b, sizeof(b)), q == 1 ? "" : "s",
	    count(d, b2, sizeof(b2)));
}

/* Upper-case mode name ("alm" -> "ALM", "pv" -> "PV"). */
static const char *
mode_name(const char *m, char *buf, size_t len)
{
	size_t i;

	if (m == NULL)
		return NA;
	for (i = 0; i + 1 < len && m[i] != '\0'; i++)
		buf[i] = (char)(m[i] >= 'a' && m[i] <= 'z' ? m[i] - 32 : m[i]);
	buf[i] = '\0';
	return buf;
}

/* The settings lines. */
static void
render_settings(FILE *out, json_t *s)
{
	char b1[24], b2[24], b3[24], m[16];
	const char *mode = str(s, "mode");
	json_t *src = json_object_get(s, "source");
	double reserve = num(s, "reserve_pct");

	if (!json_is_object(s)) {
		fprintf(out, "Mode      %s\n", NA);
		return;
	}
	fprintf(out, "Mode      %s", mode_name(mode, m, sizeof(m)));
	if (mode != NULL && strcmp(mode, "pv") == 0)
		fprintf(out, " (%s)", str_na(s, "pv_mode"));
	if (mode != NULL && strcmp(mode, "alm") == 0 && !isnan(reserve))
		fprintf(out, "  reserve %.0f %%", reserve);
	fprintf(out, "  available %s", pw(s, "available_power_w", b1,
	    sizeof(b1)));
	if (json_is_object(src)) {
		const char *key;
		json_t *v;
		int n = 0;

		fprintf(out, "  (settings from file");
		json_object_foreach(src, key, v)
			if (json_is_string(v) &&
			    strcmp(json_string_value(v), "backend") == 0)
				fprintf(out, "%s%s", n++ == 0 ?
				    "; from the backend: " : ", ", key);
		fprintf(out, ")");
	}
	fprintf(out, "\n");
	fprintf(out, "          min power %s 1-phase, %s 3-phase\n",
	    pw(s, "min_power_1ph_w", b1, sizeof(b1)),
	    pw(s, "min_power_3ph_w", b2, sizeof(b2)));
	fprintf(out, "          if the meter is lost: %s shared; if the "
	    "cloud is lost: site cap %s\n",
	    num(s, "offline_meter_power_w") == 0 ? "0 W (all pause)" :
	    pw(s, "offline_meter_power_w", b1, sizeof(b1)),
	    num(s, "offline_site_power_w") == 0 ? "unchanged" :
	    pw(s, "offline_site_power_w", b3, sizeof(b3)));
}

/* The control cycle line: its length, and the RS-485 bus's when one
 * sets it. */
static void
render_cycle(FILE *out, json_t *cycle)
{
	double ms = num(cycle, "ms"), bus = num(cycle, "bus_ms");

	if (isnan(ms))
		return;
	fprintf(out, "Cycle     %.0f ms", ms);
	if (!isnan(bus) && bus > 0)
		fprintf(out, "  (RS-485 bus: %.0f ms to read each device once)",
		    bus);
	fprintf(out, "\n");
}

/* The site cap line. */
static void
render_site_cap(FILE *out, json_t *cap)
{
	const char *src = str(cap, "source");
	json_t *pid = json_object_get(cap, "profile_id");
	char b[24];

	fprintf(out, "Site cap  %s", pw(cap, "w", b, sizeof(b)));
	if (src == NULL)
		fprintf(out, "\n");
	else if (strcmp(src, "profile") == 0 && json_is_integer(pid))
		fprintf(out, "  from the cloud: charging profile %lld\n",
		    (long long)json_integer_value(pid));
	else if (strcmp(src, "profile") == 0)
		fprintf(out, "  from the cloud: charging profile\n");
	else if (strcmp(src, "config") == 0)
		fprintf(out, "  from the configuration (available power)\n");
	else if (strcmp(src, "offline-fallback") == 0)
		fprintf(out, "  offline fallback (cloud unreachable)\n");
	else
		fprintf(out, "  from %s\n", src);
	if (!isnan(num(cap, "budget_w")) || !isnan(num(cap, "allocated_w"))) {
		char b2[24];

		fprintf(out, "          balancer budget %s", pw(cap, "budget_w",
		    b, sizeof(b)));
		if (str(cap, "balancer_source") != NULL)
			fprintf(out, " (%s)", str(cap, "balancer_source"));
		fprintf(out, ", allocated %s\n", pw(cap, "allocated_w", b2,
		    sizeof(b2)));
	}
}

/* The meter lines. */
static void
render_meter(FILE *out, json_t *m, int64_t now)
{
	char b1[24], b2[24], b3[24], d[32], since[96];
	json_t *online = json_object_get(m, "online");
	json_t *healthy = json_object_get(m, "healthy");
	json_t *phases = json_object_get(m, "phases");
	double age = num(m, "age_ms");
	size_t i;
	json_t *p;

	if (!json_is_object(m)) {
		fprintf(out, "Meter     none (DLB: the available power is "
		    "shared as configured)\n");
		return;
	}
	fprintf(out, "Meter     %s  %s", str_na(m, "type"),
	    json_is_false(online) ? "OFFLINE" : json_is_true(online) ?
	    "online" : NA);
	if (str(m, "since") != NULL)
		fprintf(out, " since %s", fmt_since(str(m, "since"), now,
		    since, sizeof(since)));
	if (json_is_false(healthy))
		fprintf(out, ", ABNORMAL");
	if (!isnan(age) && age >= 0)
		fprintf(out, "  (reading %s old)",
		    ctl_fmt_duration((int64_t)age, d, sizeof(d)));
	fprintf(out, "\n          total %s  household %s%s",
	    pw(m, "total_w", b1, sizeof(b1)),
	    pw(m, "household_w", b2, sizeof(b2)),
	    json_is_true(json_object_get(m, "household_clamped")) ?
	    " (meter below chargers' draw)" : "");
	/* PV mode: the meter sees household and PV as one; what is known is
	 * the surplus, named as such */
	if (!isnan(num(m, "surplus_w")))
		fprintf(out, "  surplus %s", pw(m, "surplus_w", b3, sizeof(b3)));
	fprintf(out, "\n");
	if (!json_is_array(phases) || json_array_size(phases) == 0)
		return;
	fprintf(out, "         ");
	json_array_foreach(phases, i, p) {
		double v = num(p, "v"), a = num(p, "a");

		fprintf(out, " L%zu ", i + 1);
		if (isnan(v))
			fprintf(out, "%s V ", NA);
		else
			fprintf(out, "%.1f V ", v);
		if (isnan(a))
			fprintf(out, "%s A ", NA);
		else
			fprintf(out, "%.1f A ", a);
		fprintf(out, "%s%s", pw(p, "w", b1, sizeof(b1)),
		    i + 1 < json_array_size(phases) ? " |" : "");
	}
	fprintf(out, "\n");
}

/* One line for a charger that switches phases: the phases in use, the
 * state, the switches so far and when the next may come. */
static void
render_phase_switching(FILE *out, json_t *ch)
{
	json_t *ps = json_object_get(ch, "phase_switching");
	const char *state = str(ps, "state");

	if (state == NULL || strcmp(state, "off") == 0)
		return;
	fprintf(out, "  %s: on %.0f phase%s, phase switching %s, %.0f "
	    "switch%s", str_na(ch, "name"), num(ch, "phases"),
	    num(ch, "phases") == 1 ? "" : "s", state, num(ps, "switches"),
	    num(ps, "switches") == 1 ? "" : "es");
	if (str(ps, "next_allowed") != NULL)
		fprintf(out, ", next not before %s", str(ps, "next_allowed"));
	if (str(ps, "error") != NULL)
		fprintf(out, " (last given up: %s)", str(ps, "error"));
	fprintf(out, "\n");
}

/* The chargers' table and the connectors' table. */
static void
render_chargers(FILE *out, json_t *chargers, int64_t now)
{
	struct tbl ct, kt;
	size_t i, k;
	json_t *ch, *cn;

	if (!json_is_array(chargers) || json_array_size(chargers) == 0) {
		fprintf(out, "\nNo chargers configured.\n");
		return;
	}
	/* The vendor's "Charging Info" headline: total charging power. */
	{
		double total = 0;
		int n = 0, charging = 0;
		char b[24];

		json_array_foreach(chargers, i, ch)
			json_array_foreach(json_object_get(ch, "connectors"),
			    k, cn) {
				double p = num(cn, "power_w");
				const char *st = str(cn, "status");

				n++;
				if (!isnan(p))
					total += p;
				if (st != NULL && strcmp(st, "Charging") == 0)
					charging++;
			}
		fprintf(out, "Charging  %s in total, %d of %d connector%s "
		    "charging\n", ctl_fmt_power(total, b, sizeof(b)), charging,
		    n, n == 1 ? "" : "s");
	}
	tbl_init(&ct, 6, "CHARGER", "MODEL", "SERIAL", "FIRMWARE", "LINK",
	    "STATE");
	tbl_init(&kt, 7, ">EVSE", "CONNECTOR", "STATUS", ">POWER",
	    ">SETPOINT", "REASON", "SESSION");
	json_array_foreach(chargers, i, ch) {
		json_t *online = json_object_get(ch, "online");
		char state[128], since[96];
		const char *name = str_na(ch, "name");

		if (json_is_true(online))
			snprintf(state, sizeof(state), "online");
		else if (str(ch, "offline_since") != NULL)
			snprintf(state, sizeof(state), "OFFLINE since %s",
			    fmt_since(str(ch, "offline_since"), now, since,
			    sizeof(since)));
		else if (json_is_false(online))
			snprintf(state, sizeof(state), "OFFLINE");
		else
			snprintf(state, sizeof(state), NA);
		{
			const char *row[] = { name, str_na(ch, "model"),
			    str_na(ch, "serial"), str_na(ch, "firmware"),
			    str_na(ch, "link"), state };
			tbl_row(&ct, row);
		}
		json_array_foreach(json_object_get(ch, "connectors"), k, cn) {
			char evse[16], conn[96], p[24], sp[48], sess[96];
			double ocpp_id = num(cn, "ocpp_id");
			double c = num(cn, "connector");
			double sa = num(cn, "setpoint_a");
			double e = num(cn, "energy_wh");
			const char *tx = str(cn, "transaction");
			const char *reason = str_na(cn, "reason");

			snprintf(evse, sizeof(evse), isnan(ocpp_id) ? NA :
			    "%.0f", ocpp_id);
			if (isnan(c))
				snprintf(conn, sizeof(conn), "%s/%s", name, NA);
			else
				snprintf(conn, sizeof(conn), "%s/%.0f", name,
				    c);
			pw(cn, "power_w", p, sizeof(p));
			pw(cn, "setpoint_w", sp, sizeof(sp));
			if (!isnan(sa) && num(cn, "setpoint_w") > 0)
				snprintf(sp + strlen(sp), sizeof(sp) -
				    strlen(sp), " (%.1f A)", sa);
			if (tx != NULL && !isnan(e))
				snprintf(sess, sizeof(sess), "tx %s, meter "
				    "%.1f kWh", tx, e / 1000);
			else if (tx != NULL)
				snprintf(sess, sizeof(sess), "tx %s", tx);
			else if (!isnan(e))
				snprintf(sess, sizeof(sess), "meter %.1f kWh",
				    e / 1000);
			else
				snprintf(sess, sizeof(sess), NA);
			{
				const char *row[] = { evse, conn,
				    str_na(cn, "status"), p, sp, reason,
				    sess };
				tbl_row(&kt, row);
			}
		}
	}
	fprintf(out, "\n");
	tbl_print(&ct, out, 0);
	json_array_foreach(chargers, i, ch) {
		if (str(ch, "error") != NULL && str(ch, "error")[0] != '\0')
			fprintf(out, "  %s: %s\n", str_na(ch, "name"),
			    str(ch, "error"));
		if (str(ch, "unsupported") != NULL)
			fprintf(out, "  %s: registers not supported: %s\n",
			    str_na(ch, "name"), str(ch, "unsupported"));
		json_array_foreach(json_object_get(ch, "connectors"), k, cn)
			if (str(cn, "fault") != NULL)
				fprintf(out, "  %s/%d: fault codes %s\n",
				    str_na(ch, "name"), (int)json_integer_value(
				    json_object_get(cn, "connector")),
				    str(cn, "fault"));
		render_phase_switching(out, ch);
	}
	fprintf(out, "\n");
	tbl_print(&kt, out, 0);
}

/* One line on where the site configuration came from. */
static void
render_site_config(FILE *out, json_t *o)
{
	const char *src = str(o, "source");
	double v = num(o, "version");

	if (src == NULL)
		return;
	if (strcmp(src, "backend") == 0)
		fprintf(out, "site configuration: backend, version %.0f, set %s\n",
		    v, str_na(o, "set_at"));
	else if (strcmp(src, "none") == 0)
		fprintf(out, "site configuration: none yet (provisioning mode, "
		    "waiting for the backend)\n");
	else
		fprintf(out, "site configuration: file\n");
}

/* Renders the whole status screen. */
int
ctl_render_status(FILE *out, json_t *r)
{
	const char *now_s = str(r, "now");
	int64_t now = -1;
	double up = num(r, "uptime_s");
	char d[32];

	if (now_s == NULL || parse_rfc3339(now_s, &now) != 0)
		now = -1;
	fprintf(out, "ocpp-edge %s  site %s  up %s  %s\n",
	    str_na(r, "version"), str_na(r, "site_id"),
	    isnan(up) ? NA : ctl_fmt_duration((int64_t)(up * 1000), d,
	    sizeof(d)), now_s != NULL ? now_s : NA);
	render_site_config(out, json_object_get(r, "site_config"));
	fprintf(out, "\n");
	render_cloud(out, json_object_get(r, "cloud"), now);
	render_settings(out, json_object_get(r, "settings"));
	render_site_cap(out, json_object_get(r, "site_cap"));
	render_cycle(out, json_object_get(r, "cycle"));
	render_meter(out, json_object_get(r, "meter"), now);
	render_chargers(out, json_object_get(r, "chargers"), now);
	return 0;
}

/* ---- explain ---------------------------------------------------------- */

/* Renders why one connector has its setpoint: the sentence, then the
 * chain of caps with each one's value and the room it leaves, the one
 * that bound marked. */
int
ctl_render_explain(FILE *out, json_t *r)
{
	json_t *caps = json_object_get(r, "caps"), *cap;
	char b[24], room[24];
	double id = num(r, "ocpp_id");
	struct tbl t;
	size_t i;

	fprintf(out, "Connector %s", str_na(r, "connector"));
	if (!isnan(id))
		fprintf(out, " (EVSE %.0f)", id);
	fprintf(out, ": setpoint %s, reason %s\n",
	    pw(r, "setpoint_w", b, sizeof(b)), str_na(r, "reason"));
	if (str(r, "at") != NULL)
		fprintf(out, "Recorded at %s (in force at %s)\n", str(r, "at"),
		    str_na(r, "asked"));
	if (str(r, "summary") != NULL)
		fprintf(out, "%s\n", str(r, "summary"));
	if (str(r, "phase_switching") != NULL &&
	    strcmp(str(r, "phase_switching"), "off") != 0) {
		fprintf(out, "Its charger is on %.0f phase%s (phase switching "
		    "%s", num(r, "phases"), num(r, "phases") == 1 ? "" : "s",
		    str(r, "phase_switching"));
		if (str(r, "phase_next_allowed") != NULL)
			fprintf(out, ", next switch not before %s",
			    str(r, "phase_next_allowed"));
		fprintf(out, ").\n");
	}
	fprintf(out, "\n");
	if (json_is_array(caps) && json_array_size(caps) > 0) {
		tbl_init(&t, 5, "", "CAP", ">VALUE", ">ROOM", "DETAIL");
		json_array_foreach(caps, i, cap) {
			const char *what = str(cap, "what");
			bool bind = json_is_true(json_object_get(cap, "bound"));
			const char *row[] = { bind ? "=>" : "",
			    what != NULL ? what : NA,
			    pw(cap, "w", b, sizeof(b)),
			    json_object_get(cap, "room_w") != NULL ?
			    pw(cap, "room_w", room, sizeof(room)) : "",
			    str(cap, "detail") != NULL ? str(cap, "detail") :
			    "" };

			tbl_row(&t, row);
		}
		tbl_print(&t, out, 2);
	} else {
		fprintf(out, "  no caps reported\n");
	}
	return 0;
}

/* ---- history ---------------------------------------------------------- */

int
ctl_render_history(FILE *out, json_t *r)
{
	json_t *samples = json_object_get(r, "samples"),
	    *changes = json_object_get(r, "changes"), *row;
	double pmin = NAN, pmax = NAN, psum = 0, cmin = NAN, cmax = NAN;
	size_t i, n = 0;
	char b1[24], b2[24], b3[24], b4[24], b5[24];
	struct tbl t;

	fprintf(out, "History from %s to %s\n\n", str_na(r, "from"),
	    str_na(r, "to"));
	json_array_foreach(samples, i, row) {
		double p = json_number_value(json_array_get(row, 1)),
		    c = json_number_value(json_array_get(row, 2));

		if (json_is_number(json_array_get(row, 1))) {
			pmin = n == 0 || p < pmin ? p : pmin;
			pmax = n == 0 || p > pmax ? p : pmax;
			psum += p;
			n++;
		}
		cmin = i == 0 || c < cmin ? c : cmin;
		cmax = i == 0 || c > cmax ? c : cmax;
	}
	if (json_array_size(samples) == 0)
		fprintf(out, "Site      no samples in this range\n");
	else
		fprintf(out, "Site      %zu samples; power %s .. %s (mean %s); "
		    "cap %s .. %s\n", json_array_size(samples),
		    ctl_fmt_power(pmin, b1, sizeof(b1)),
		    ctl_fmt_power(pmax, b2, sizeof(b2)),
		    ctl_fmt_power(n > 0 ? psum / (double)n : NAN, b3,
		    sizeof(b3)), ctl_fmt_power(cmin, b4, sizeof(b4)),
		    ctl_fmt_power(cmax, b5, sizeof(b5)));
	fprintf(out, "\n");
	if (json_array_size(changes) == 0) {
		fprintf(out, "No setpoint change in this range.\n");
		return 0;
	}
	tbl_init(&t, 5, "TIME", ">EVSE", ">SETPOINT", "REASON", "WHY");
	json_array_foreach(changes, i, row) {
		char id[16];
		const char *cells[5];

		snprintf(id, sizeof(id), "%.0f", num(row, "ocpp_id"));
		cells[0] = str_na(row, "at");
		cells[1] = id;
		cells[2] = pw(row, "setpoint_w", b1, sizeof(b1));
		cells[3] = str_na(row, "reason");
		cells[4] = str_na(row, "summary");
		tbl_row(&t, cells);
	}
	tbl_print(&t, out, 0);
	return 0;
}

/* ---- limit, pause, resume --------------------------------------------- */

int
ctl_render_local(FILE *out, json_t *r)
{
	json_t *w = json_object_get(r, "local_w");
	char b[24];

	if (!json_is_number(w))
		fprintf(out, "%s: local override lifted\n",
		    str_na(r, "connector"));
	else
		fprintf(out, "%s: %s %s until %s\n", str_na(r, "connector"),
		    json_number_value(w) == 0 ? "paused," : "limited to",
		    json_number_value(w) == 0 ? "0 W" :
		    pw(r, "local_w", b, sizeof(b)), str(r, "until") != NULL ?
		    str(r, "until") : "resume");
	return 0;
}

/* ---- reload ----------------------------------------------------------- */

int
ctl_render_reload(FILE *out, json_t *r)
{
	json_t *applied = json_object_get(r, "applied"),
	    *restart = json_object_get(r, "restart_needed"), *v;
	size_t i;

	fprintf(out, "Reloaded %s\n", str_na(r, "file"));
	if (json_array_size(applied) == 0)
		fprintf(out, "Applied: nothing changed that applies live\n");
	json_array_foreach(applied, i, v)
		fprintf(out, "Applied: %s\n", json_string_value(v));
	json_array_foreach(restart, i, v)
		fprintf(out, "Needs a restart: %s\n", json_string_value(v));
	return 0;
}
