#define _GNU_SOURCE 1 /* accept4 */

/* The control socket server (docs/control.md): a listening Unix socket
 * and its connections are raw descriptors on the daemon's libwebsockets
 * loop; each complete line is answered at once from the site model.
 * Replies that do not fit the socket buffer are kept and written when the
 * socket is writable again. */
#include "config.h"

#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libwebsockets.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cloud/cloud.h"
#include "common/log.h"
#include "common/util.h"
#include "config/config.h"
#include "services.h"
#include "site/site.h"
#include "store/store.h"

#define MAX_CLIENTS 32
/* The names of the requests, for error messages. */
#define CONTROL_COMMANDS "status, explain, history, limit, pause, resume, " \
	"reload"

struct client {
	struct svc_fd df;
	struct control *ctl;
	int fd;
	char in[CONTROL_REQUEST_MAX + 2];
	size_t in_len;
	bool discarding; /* the current line is too long: skip to its end */
	char *out;
	size_t out_len, out_off;
	bool closing;    /* close once out is written */
};

struct control {
	const struct services *svc;
	struct control_sources src;
	struct svc_fd df;
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct client *clients[MAX_CLIENTS];
	int refs;         /* watched descriptors still open */
	bool stopped;     /* control_stop was called */
};

/* ---- Replies --------------------------------------------------------- */

/* A JSON string for epoch ms, or null when 0. */
static json_t *
json_time(int64_t epoch_ms)
{
	char buf[40];

	if (epoch_ms <= 0)
		return json_null();
	return json_string(format_rfc3339(epoch_ms, buf, sizeof(buf)));
}

/* A JSON number for a reading that may be unknown (NaN -> null). */
static json_t *
json_reading(double v, double scale)
{
	if (!isfinite(v))
		return json_null();
	return json_real(round(v * scale) / scale);
}

/* The settings in force with their sources. */
static json_t *
settings_json(const struct site_report *r)
{
	static const char *const names[] = { "mode", "pv_mode", "reserve_pct",
		"available_power_w", "min_power_1ph_w", "min_power_3ph_w",
		"offline_meter_power_w", "offline_site_power_w" };
	const struct site_lb *lb = &r->lb;
	json_t *src = json_object();

	for (size_t i = 0; i < ARRAY_SIZE(names) && i < site_n_setting_keys;
	    i++)
		json_object_set_new(src, names[i],
		    json_string(r->lb_backend[i] ? "backend" : "file"));
	return json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:o}",
	    "mode", cfg_balancer_mode_name(lb->mode),
	    "pv_mode", cfg_pv_mode_name(lb->pv_mode),
	    "reserve_pct", lb->reserve_pct,
	    "available_power_w", lb->available_power_w,
	    "min_power_1ph_w", lb->min_power_1ph_w,
	    "min_power_3ph_w", lb->min_power_3ph_w,
	    "offline_meter_power_w", lb->offline_meter_power_w,
	    "offline_site_power_w", lb->offline_site_power_w,
	    "source", src);
}

/* The meter, or null when the site has none. */
static json_t *
io_json(const struct sb_io_stats *io)
{
	json_t *errors = json_object(), *exc = json_object();

	for (int e = 0; e < SB_IOE_COUNT; e++)
		json_object_set_new(errors, sb_io_error_name((enum sb_io_error)e),
		    json_integer((json_int_t)io->errors[e]));
	for (int c = 1; c < SB_EXCEPTION_CODES; c++)
		if (io->exceptions[c] > 0) {
			char code[8];

			snprintf(code, sizeof(code), "%02d", c);
			json_object_set_new(exc, code,
			    json_integer((json_int_t)io->exceptions[c]));
		}
	return json_pack("{s:I, s:o, s:o, s:o}",
	    "answers", (json_int_t)io->answers,
	    "response_ms_mean", io->answers > 0 ? json_real(round(
	    io->rt_sum_s * 1e6 / (double)io->answers) / 1000.0) : json_null(),
	    "errors", errors, "exceptions", exc);
}

static json_t *
meter_json(const struct control_sources *src, const struct site_report *r)
{
	const struct site_meter_view *m = &r->meter;
	json_t *phases;

	if (!r->has_meter)
		return json_null();
	phases = json_array();
	for (int p = 0; p < 3; p++)
		json_array_append_new(phases, json_pack("{s:o, s:o, s:o}",
		    "v", json_reading(m->phase_v[p], 10),
		    "a", json_reading(m->phase_a[p], 100),
		    "w", json_reading(m->phase_w[p], 1)));
	return json_pack("{s:s, s:b, s:o, s:b, s:o, s:o, s:o, s:b, s:o, s:o, s:o}",
	    "type", m->type, "online", m->online,
	    "since", json_time(m->since_epoch_ms > 0 ? m->since_epoch_ms :
	    src->started_epoch_ms),
	    "healthy", m->healthy,
	    "age_ms", m->age_ms >= 0 ? json_integer(m->age_ms) : json_null(),
	    "total_w", json_reading(m->total_w, 1),
	    "household_w", json_reading(m->household_w, 1),
	    "household_clamped", m->household_clamped,
	    "surplus_w", json_reading(m->surplus_w, 1),
	    "phases", phases, "modbus", io_json(&m->io));
}

/* When the next phase switch may be decided, as a time (null: any
 * time now). */
static json_t *
next_switch_json(int64_t next_ms)
{
	int64_t now = mono_now_ms();

	if (next_ms < 0 || next_ms <= now)
		return json_null();
	return json_time(wall_now_ms() + (next_ms - now));
}

/* One connector's status entry. */
static json_t *
connector_json(const struct control_sources *src, int k)
{
	struct site_conn_view v;
	char tx[64];
	json_t *txj = json_null();

	site_conn_view(src->site, k, &v);
	if (v.tx_running && cloud_transaction(src->cloud, v.ocpp_id, tx,
	    sizeof(tx))) {
		json_decref(txj);
		txj = json_string(tx);
	}
	return json_pack("{s:i, s:i, s:s, s:o, s:o, s:i, s:f, s:b, s:s, s:s, "
	    "s:o, s:o}",
	    "connector", v.connector, "ocpp_id", v.ocpp_id,
	    "status", v.status,
	    "power_w", json_reading(v.power_w, 1),
	    "energy_wh", json_reading(v.energy_wh, 1),
	    "setpoint_w", (int)v.setpoint_w,
	    "setpoint_a", v.setpoint_a,
	    "paused", v.paused,
	    "reason", v.reason, "reason_text", v.reason_text,
	    "transaction", txj,
	    "fault", v.fault[0] != '\0' ? json_string(v.fault) : json_null());
}

/* Where the site configuration came from: source (file, backend, none),
 * the backend's version and when it was pushed. */
static json_t *
origin_json(const struct control_sources *src)
{
	const char *source = "file";
	int version = 0;
	int64_t at = 0;

	if (src->site_origin != NULL)
		src->site_origin(src->ud, &source, &version, &at);
	return json_pack("{s:s, s:o, s:o}", "source", source,
	    "version", version > 0 ? json_integer(version) : json_null(),
	    "set_at", at > 0 ? json_time(at) : json_null());
}

/* Charger c's status entry; now and epoch: the clocks (monotonic,
 * wall) the status is made at. */
static json_t *
charger_json(const struct control_sources *src, int c, int64_t now,
    int64_t epoch)
{
	struct site_charger_view v;
	json_t *conns = json_array();
	int64_t last;

	site_charger_view(src->site, c, &v);
	last = v.updated_ms > 0 ? epoch - (now - v.updated_ms) :
	    src->started_epoch_ms;
	for (int j = 0; j < v.n_conns; j++)
		json_array_append_new(conns, connector_json(src,
		    v.first_conn + j));
	return json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:b, s:o, s:o, s:o, s:o, s:i, s:o, "
	    "s:i, s:{s:s, s:o, s:I, s:o}}",
	    "name", v.name, "model", v.model,
	    "serial", v.serial, "firmware", v.firmware,
	    "link", v.link, "online", v.online,
	    "offline_since", v.online ? json_null() : json_time(last),
	    "error", v.error[0] != '\0' ? json_string(v.error) :
	    json_null(),
	    "unsupported", v.unsupported[0] != '\0' ?
	    json_string(v.unsupported) : json_null(),
	    "connectors", conns, "unit_id", v.unit_id,
	    "modbus", io_json(&v.io),
	    "phases", v.phases,
	    "phase_switching", "state", v.phase_switching,
	    "next_allowed", next_switch_json(v.phase_next_ms),
	    "switches", (json_int_t)v.phase_switches,
	    "error", v.phase_error[0] != '\0' ?
	    json_string(v.phase_error) : json_null());
}

/* The status of the whole site but its chargers; *n_chargers gets their
 * count.  now and epoch: as for charger_json. */
static json_t *
status_head_json(const struct control_sources *src, int64_t now,
    int64_t epoch, int *n_chargers)
{
	const struct cfg *cfg = src->cfg;
	struct site_report r;
	struct store_queue_stats qs = { 0 };
	json_t *cloud;

	site_report(src->site, &r);
	*n_chargers = r.n_chargers;
	if (src->store != NULL)
		store_queue_stats(src->store, &qs);
	cloud = json_pack("{s:s, s:s, s:s, s:s, s:o, s:I, s:I}",
	    "url", cfg->csms.url,
	    "ocpp_version", cfg->csms.ocpp_version == CFG_OCPP_201 ?
	    "2.0.1" : "1.6",
	    "identity", cfg->csms.identity,
	    "state", r.cloud_state,
	    "since", json_time(r.cloud_since_epoch_ms > 0 ?
	    r.cloud_since_epoch_ms : src->started_epoch_ms),
	    "queued", (json_int_t)(qs.committed + qs.buffered),
	    "dropped", (json_int_t)qs.dropped);
	return json_pack("{s:s, s:s, s:o, s:I, s:o, s:o, s:o, "
	    "s:{s:i, s:s, s:o, s:I, s:I, s:s, s:i}, s:{s:I, s:I}, s:o}",
	    "version", PACKAGE_VERSION, "site_id", cfg->site.id,
	    "site_config", origin_json(src),
	    "uptime_s", (json_int_t)((now - src->started_ms) / 1000),
	    "now", json_time(epoch), "cloud", cloud,
	    "settings", settings_json(&r),
	    "site_cap", "w", (int)r.cap_w,
	    "source", r.cap_source,
	    "profile_id", r.profile_id >= 0 ? json_integer(r.profile_id) :
	    json_null(),
	    "budget_w", (json_int_t)r.budget_w,
	    "allocated_w", (json_int_t)r.allocated_w,
	    "balancer_source", r.balancer_source,
	    "writes_pending", r.writes_pending,
	    "cycle", "ms", (json_int_t)site_cycle_ms(src->site),
	    "bus_ms", (json_int_t)site_bus_cycle_ms(src->site),
	    "meter", meter_json(src, &r));
}

/* "status": the whole site, as a tree (the text of a big site is built
 * by status_write without one). */
static json_t *
status_json(const struct control_sources *src, json_t *req, char **error)
{
	int64_t now = mono_now_ms(), epoch = wall_now_ms();
	json_t *st, *chargers = json_array();
	int n;

	(void)req;
	(void)error;
	st = status_head_json(src, now, epoch, &n);
	for (int c = 0; c < n; c++)
		json_array_append_new(chargers, charger_json(src, c, now,
		    epoch));
	json_object_set_new(st, "chargers", chargers);
	return st;
}

/* ---- Text built piece by piece --------------------------------------- */

/* Zeroed to start; failed once memory ran out (the text is then not to
 * be used). */
struct text {
	char *p;
	size_t len, cap;
	bool failed;
};

/* Appends n bytes. */
static void
text_put(struct text *t, const char *s, size_t n)
{
	if (t->failed)
		return;
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap > 0 ? t->cap : 4096;
		char *p;

		while (cap < t->len + n + 1)
			cap *= 2;
		if ((p = realloc(t->p, cap)) == NULL) {
			t->failed = true;
			return;
		}
		t->p = p;
		t->cap = cap;
	}
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = '\0';
}

/* Appends a C string. */
static void
text_puts(struct text *t, const char *s)
{
	text_put(t, s, strlen(s));
}

/* json_dump_callback's sink into a text. */
static int
text_sink(const char *buffer, size_t size, void *data)
{
	struct text *t = data;

	text_put(t, buffer, size);
	return t->failed ? -1 : 0;
}

/* Appends j as the replies write JSON; without_close: the last byte (an
 * object's '}') left out, for more members to follow. */
static void
text_json(struct text *t, const json_t *j, bool without_close)
{
	if (j == NULL || json_dump_callback(j, text_sink, t, JSON_COMPACT |
	    JSON_REAL_PRECISION(10)) != 0)
		t->failed = true;
	else if (without_close && t->len > 0)
		t->p[--t->len] = '\0';
}

/* The status as text appended to full and, when stable is not NULL, to
 * stable the same without the members that move with the clock alone
 * (now, uptime_s, the meter's age_ms, offline_since).  The chargers are
 * made, written and freed one at a time: a site of 200 chargers never
 * has its whole tree (several times the text) in memory at once. */
static void
status_write(const struct control_sources *src, struct text *full,
    struct text *stable)
{
	int64_t now = mono_now_ms(), epoch = wall_now_ms();
	json_t *j, *v;
	int n;

	j = status_head_json(src, now, epoch, &n);
	text_json(full, j, true);
	text_puts(full, ",\"chargers\":[");
	if (stable != NULL) {
		json_object_del(j, "now");
		json_object_del(j, "uptime_s");
		if (json_is_object(v = json_object_get(j, "meter")))
			json_object_del(v, "age_ms");
		text_json(stable, j, true);
		text_puts(stable, ",\"chargers\":[");
	}
	json_decref(j);
	for (int c = 0; c < n; c++) {
		j = charger_json(src, c, now, epoch);
		if (c > 0)
			text_puts(full, ",");
		text_json(full, j, false);
		if (stable != NULL) {
			json_object_del(j, "offline_since");
			if (c > 0)
				text_puts(stable, ",");
			text_json(stable, j, false);
		}
		json_decref(j);
	}
	text_puts(full, "]}");
	if (stable != NULL)
		text_puts(stable, "]}");
}

char *
control_status_text(const struct control_sources *src, char **stable)
{
	struct text full = { 0 }, st = { 0 };

	status_write(src, &full, stable != NULL ? &st : NULL);
	if (full.failed || st.failed) {
		free(full.p);
		free(st.p);
		return NULL;
	}
	if (stable != NULL)
		*stable = st.p;
	return full.p;
}

/* The caps of e as explain gives them. */
static json_t *
caps_json(const struct site_explain *e)
{
	json_t *caps = json_array();

	for (int i = 0; i < e->n_caps; i++) {
		const struct site_cap_view *cv = &e->caps[i];
		json_t *o = json_pack("{s:s, s:i}", "what", cv->what, "w",
		    (int)cv->w);

		if (cv->room_w != BAL_NO_CAP)
			json_object_set_new(o, "room_w",
			    json_integer(cv->room_w));
		if (cv->detail[0] != '\0')
			json_object_set_new(o, "detail",
			    json_string(cv->detail));
		json_object_set_new(o, "bound", json_boolean(cv->bound));
		json_array_append_new(caps, o);
	}
	return caps;
}

void
control_record_change(const struct control_sources *src, int k,
    int64_t at_ms, int64_t now_ms)
{
	struct site_explain e;
	json_t *caps;
	char *text, *cause = NULL;

	if (src->store == NULL)
		return;
	site_explain(src->site, k, &e);
	caps = caps_json(&e);
	text = json_dumps(caps, JSON_COMPACT);
	json_decref(caps);
	if (store_history_add_change(src->store, &(struct store_setpoint_change){
	    at_ms, e.ocpp_id, e.setpoint_w, e.reason, e.bound_by, e.summary,
	    text }, now_ms, &cause) != 0) {
		log_warnx("store: history not written: %s", cause);
		free(cause);
	}
	free(text);
}

/* A time argument: epoch milliseconds or an RFC 3339 string; 0, or -1
 * with *error.  Absent: dflt. */
static int
time_arg(json_t *req, const char *key, int64_t dflt, int64_t *out,
    char **error)
{
	json_t *v = json_object_get(req, key);

	*out = dflt;
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_integer(v) && json_integer_value(v) > 0 &&
	    json_integer_value(v) < (1LL << 53)) {
		*out = json_integer_value(v);
		return 0;
	}
	if (json_is_string(v) && parse_rfc3339(json_string_value(v), out) == 0)
		return 0;
	xasprintf(error, "\"%s\" must be epoch milliseconds or an RFC 3339 "
	    "time (2026-12-03T08:00:00Z)", key);
	return -1;
}

/* Looks the connector of req up; -1 with *error. */
static int
conn_arg(const struct control_sources *src, json_t *req, const char *cmd,
    char **error)
{
	json_t *c = json_object_get(req, "connector");
	struct site_report r;
	char esc[128];
	int k;

	site_report(src->site, &r);
	if (!json_is_string(c)) {
		xasprintf(error, "%s needs \"connector\": an OCPP connector "
		    "number (1..%d), \"CHARGER/K\" or \"CHARGER\"", cmd,
		    r.n_conns);
		return -1;
	}
	k = site_find_conn(src->site, json_string_value(c));
	if (k < 0) {
		log_escape(json_string_value(c), strlen(json_string_value(c)),
		    esc, sizeof(esc));
		xasprintf(error, "no connector '%s': give an OCPP connector "
		    "number (1..%d), \"CHARGER/K\" or the name of a "
		    "one-connector charger", esc, r.n_conns);
	}
	return k;
}

/* The last recorded change at or before an instant. */
struct last_change {
	json_t *o;
};

static void
on_last_change(void *arg, const struct store_setpoint_change *c)
{
	struct last_change *l = arg;
	json_t *caps = json_loads(c->caps_json, 0, NULL);

	json_decref(l->o);
	l->o = json_pack("{s:o, s:I, s:s, s:s, s:s, s:o}",
	    "at", json_time(c->at_ms), "setpoint_w", (json_int_t)c->setpoint_w,
	    "reason", c->reason, "summary", c->summary, "bound_by", c->bound_by,
	    "caps", caps != NULL ? caps : json_array());
}

/* "explain" with "at": the explain recorded at the change in force then. */
static json_t *
explain_at(const struct control_sources *src, int k, json_t *req,
    char **error)
{
	struct site_conn_view v;
	struct last_change l = { NULL };
	int64_t at;
	char *cause = NULL, when[40];

	if (time_arg(req, "at", 0, &at, error) != 0)
		return NULL;
	if (src->store == NULL) {
		xasprintf(error, "no store: no history");
		return NULL;
	}
	site_conn_view(src->site, k, &v);
	if (store_history_changes(src->store, v.ocpp_id, at -
	    STORE_HISTORY_KEEP_MS, at, 1, on_last_change, &l, &cause) != 0) {
		xasprintf(error, "history: %s", cause);
		free(cause);
		return NULL;
	}
	if (l.o == NULL) {
		xasprintf(error, "no setpoint of %s recorded at or before %s "
		    "(the history keeps 7 days)", v.label,
		    format_rfc3339(at, when, sizeof(when)));
		return NULL;
	}
	json_object_set_new(l.o, "connector", json_string(v.label));
	json_object_set_new(l.o, "ocpp_id", json_integer(v.ocpp_id));
	json_object_set_new(l.o, "asked", json_time(at));
	return l.o;
}

/* "explain": the chain of caps behind a connector's setpoint (now, or as
 * recorded at "at"). */
static json_t *
explain_json(const struct control_sources *src, json_t *req, char **error)
{
	struct site_explain e;
	int k = conn_arg(src, req, "explain", error);

	if (k < 0)
		return NULL;
	if (json_object_get(req, "at") != NULL)
		return explain_at(src, k, req, error);
	site_explain(src->site, k, &e);
	return json_pack("{s:s, s:i, s:i, s:s, s:s, s:s, s:o, s:s, s:i, s:s, "
	    "s:o}",
	    "connector", e.label, "ocpp_id", e.ocpp_id,
	    "setpoint_w", (int)e.setpoint_w, "reason", e.reason,
	    "summary", e.summary,
	    "bound_by", e.bound_by, "caps", caps_json(&e), "line", e.line,
	    "phases", e.phases, "phase_switching", e.phase_switching,
	    "phase_next_allowed", next_switch_json(e.phase_next_ms));
}

static void
on_sample(void *arg, const struct store_site_sample *h)
{
	json_array_append_new(arg, json_pack("[I, o, I, I]",
	    (json_int_t)h->at_ms, h->power_w == STORE_HISTORY_NO_POWER ?
	    json_null() : json_integer(h->power_w), (json_int_t)h->cap_w,
	    (json_int_t)h->budget_w));
}

static void
on_change(void *arg, const struct store_setpoint_change *c)
{
	json_array_append_new(arg, json_pack("{s:o, s:i, s:I, s:s, s:s, s:s}",
	    "at", json_time(c->at_ms), "ocpp_id", c->connector,
	    "setpoint_w", (json_int_t)c->setpoint_w, "reason", c->reason,
	    "bound_by", c->bound_by, "summary", c->summary));
}

/* Most samples a history reply carries (thinned evenly beyond). */
#define HISTORY_MAX_POINTS 2000
/* Most changes a history reply carries (the newest). */
#define HISTORY_MAX_CHANGES 1000

/* "history": the site's samples and the setpoint changes in a range
 * (default: the last hour), optionally of one connector. */
static json_t *
history_json(const struct control_sources *src, json_t *req, char **error)
{
	json_t *samples, *changes;
	int64_t now = wall_now_ms(), from, to;
	int k = -1, ocpp_id = 0;
	char *cause = NULL;

	if (time_arg(req, "to", now, &to, error) != 0 ||
	    time_arg(req, "from", to - 3600000, &from, error) != 0)
		return NULL;
	if (from > to) {
		xasprintf(error, "\"from\" is after \"to\"");
		return NULL;
	}
	if (json_object_get(req, "connector") != NULL) {
		struct site_conn_view v;

		if ((k = conn_arg(src, req, "history", error)) < 0)
			return NULL;
		site_conn_view(src->site, k, &v);
		ocpp_id = v.ocpp_id;
	}
	if (src->store == NULL) {
		xasprintf(error, "no store: no history");
		return NULL;
	}
	samples = json_array();
	changes = json_array();
	if (store_history_samples(src->store, from, to, HISTORY_MAX_POINTS,
	    on_sample, samples, &cause) != 0 ||
	    store_history_changes(src->store, ocpp_id, from, to,
	    HISTORY_MAX_CHANGES, on_change, changes, &cause) != 0) {
		xasprintf(error, "history: %s", cause);
		free(cause);
		json_decref(samples);
		json_decref(changes);
		return NULL;
	}
	return json_pack("{s:o, s:o, s:[s, s, s, s], s:o, s:o}",
	    "from", json_time(from), "to", json_time(to),
	    "columns", "at_ms", "power_w", "cap_w", "budget_w",
	    "samples", samples, "changes", changes);
}

/* Longest local override, seconds (a month). */
#define LOCAL_MAX_S (31 * 86400)
/* Highest local limit, W (the largest charger a file may hold). */
#define LOCAL_MAX_W 1000000

/* "limit", "pause", "resume": the operator's local override of one
 * connector, held below every profile and electrical cap by the site. */
static json_t *
local_json(const struct control_sources *src, json_t *req, const char *cmd,
    int32_t cap_w, char **error)
{
	json_t *f = json_object_get(req, "for_s");
	struct site_conn_view v;
	int64_t until = 0;
	char *cause = NULL;
	int k;

	if (src->set_local_cap == NULL) {
		xasprintf(error, "%s: not available here", cmd);
		return NULL;
	}
	if ((k = conn_arg(src, req, cmd, error)) < 0)
		return NULL;
	if (f != NULL) {
		if (cap_w == BAL_NO_CAP || !json_is_integer(f) ||
		    json_integer_value(f) < 1 ||
		    json_integer_value(f) > LOCAL_MAX_S) {
			xasprintf(error, "\"for_s\" must be 1..%d seconds (%s)",
			    LOCAL_MAX_S, cap_w == BAL_NO_CAP ? "not for resume" :
			    "a duration");
			return NULL;
		}
		until = wall_now_ms() + json_integer_value(f) * 1000;
	}
	if (src->set_local_cap(src->ud, k, cap_w, until, &cause) != 0) {
		xasprintf(error, "%s: %s", cmd, cause != NULL ? cause : "failed");
		free(cause);
		return NULL;
	}
	site_conn_view(src->site, k, &v);
	return json_pack("{s:s, s:i, s:o, s:o}", "connector", v.label,
	    "ocpp_id", v.ocpp_id, "local_w", cap_w == BAL_NO_CAP ? json_null() :
	    json_integer(cap_w), "until", json_time(until));
}

static json_t *
limit_json(const struct control_sources *src, json_t *req, char **error)
{
	json_t *w = json_object_get(req, "w");

	if (!json_is_integer(w) || json_integer_value(w) < 0 ||
	    json_integer_value(w) > LOCAL_MAX_W) {
		xasprintf(error, "limit needs \"w\": the limit in W, 0..%d",
		    LOCAL_MAX_W);
		return NULL;
	}
	return local_json(src, req, "limit", (int32_t)json_integer_value(w),
	    error);
}

static json_t *
pause_json(const struct control_sources *src, json_t *req, char **error)
{
	return local_json(src, req, "pause", 0, error);
}

static json_t *
resume_json(const struct control_sources *src, json_t *req, char **error)
{
	return local_json(src, req, "resume", BAL_NO_CAP, error);
}

/* "reload": the configuration file read again. */
static json_t *
reload_json(const struct control_sources *src, json_t *req, char **error)
{
	(void)req;
	if (src->reload == NULL) {
		xasprintf(error, "reload: not available here");
		return NULL;
	}
	return src->reload(src->ud, error);
}

/* The requests: one row each (name, handler).  A handler returns the
 * result, or NULL with *error (caller frees). */
static const struct request {
	const char *cmd;
	json_t *(*handle)(const struct control_sources *src, json_t *req,
	    char **error);
} requests[] = {
	{ "status", status_json },
	{ "explain", explain_json },
	{ "history", history_json },
	{ "limit", limit_json },
	{ "pause", pause_json },
	{ "resume", resume_json },
	{ "reload", reload_json },
};

/* {"ok":false,"error":text}, as a line: the text is made valid UTF-8
 * first (a request's bytes may be quoted in it), and a reply that cannot
 * be built (no memory) is a fixed line, never NULL. */
static char *
error_reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
error_reply(const char *fmt, ...)
{
	static const char no_memory[] =
	    "{\"ok\":false,\"error\":\"out of memory\"}";
	va_list ap;
	char text[4096], clean[4096], *out;
	json_t *o;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	o = json_pack("{s:b, s:s}", "ok", 0, "error",
	    utf8_copy(clean, sizeof(clean), text));
	out = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return out != NULL ? out : strdup(no_memory);
}

json_t *
control_request(const struct control_sources *src, json_t *req,
    char **error)
{
	const struct request *rq = NULL;
	const char *cmd;
	char esc[64];

	if (!json_is_object(req) ||
	    !json_is_string(json_object_get(req, "cmd"))) {
		xasprintf(error, "request needs a string \"cmd\" (known: %s)",
		    CONTROL_COMMANDS);
		return NULL;
	}
	cmd = json_string_value(json_object_get(req, "cmd"));
	for (size_t i = 0; i < ARRAY_SIZE(requests) && rq == NULL; i++)
		if (strcmp(requests[i].cmd, cmd) == 0)
			rq = &requests[i];
	if (rq == NULL) {
		log_escape(cmd, strlen(cmd), esc, sizeof(esc));
		xasprintf(error, "unknown command '%s' (known: %s)", esc,
		    CONTROL_COMMANDS);
		return NULL;
	}
	return rq->handle(src, req, error);
}

char *
control_handle(const struct control_sources *src, const char *line,
    size_t len)
{
	json_error_t jerr;
	json_t *req, *result, *reply;
	char *out, *error = NULL;

	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (req == NULL)
		return error_reply("request is not JSON: %s (column %d); send "
		    "one object per line, e.g. {\"cmd\":\"status\"}", jerr.text,
		    jerr.column);
	if (json_is_object(req) && json_is_string(json_object_get(req, "cmd")) &&
	    strcmp(json_string_value(json_object_get(req, "cmd")),
	    "status") == 0) {
		struct text t = { 0 };

		json_decref(req);
		text_puts(&t, "{\"ok\":true,\"result\":");
		status_write(src, &t, NULL);
		text_puts(&t, "}");
		if (t.failed) {
			free(t.p);
			return error_reply("the reply could not be built (out "
			    "of memory)");
		}
		return t.p;
	}
	result = control_request(src, req, &error);
	json_decref(req);
	if (result == NULL) {
		out = error_reply("%s", error != NULL ? error : "failed");
		free(error);
		return out;
	}
	reply = json_pack("{s:b, s:o}", "ok", 1, "result", result);
	out = reply != NULL ? json_dumps(reply, JSON_COMPACT |
	    JSON_REAL_PRECISION(10)) : NULL;
	json_decref(reply);
	if (out == NULL)
		return error_reply("the reply could not be built (out of "
		    "memory)");
	return out;
}

/* ---- Connections ----------------------------------------------------- */

/* Writes what is pending; asks for a writable callback when the socket is
 * full.  Returns -1 when the connection must close. */
static int
client_flush(struct client *cl)
{
	while (cl->out_off < cl->out_len) {
		ssize_t n = write(cl->fd, cl->out + cl->out_off,
		    cl->out_len - cl->out_off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			lws_callback_on_writable(cl->df.wsi);
			return 0;
		}
		if (n <= 0)
			return -1;
		cl->out_off += (size_t)n;
	}
	free(cl->out);
	cl->out = NULL;
	cl->out_len = cl->out_off = 0;
	return cl->closing ? -1 : 0;
}

/* Queues reply (consumed) and a newline.  Without memory for it (or for
 * the reply itself) the connection is closed once what is queued is
 * written: the client sees the end of the stream, not a wrong answer. */
static void
client_queue(struct client *cl, char *reply)
{
	size_t n;
	char *out;

	if (reply != NULL && cl->out == NULL) {
		/* Nothing waiting: the reply is the buffer, its NUL the room
		 * for the newline (a status of a big site is not copied). */
		n = strlen(reply);
		reply[n] = '\n';
		cl->out = reply;
		cl->out_len = n + 1;
		cl->out_off = 0;
		return;
	}
	if (reply == NULL || (out = realloc(cl->out, cl->out_len +
	    (n = strlen(reply)) + 1)) == NULL) {
		log_warnx("control: out of memory for a reply: closing the "
		    "connection");
		free(reply);
		cl->closing = true;
		return;
	}
	cl->out = out;
	memcpy(cl->out + cl->out_len, reply, n);
	cl->out[cl->out_len + n] = '\n';
	cl->out_len += n + 1;
	free(reply);
}

/* Answers every complete line in the input buffer. */
static void
client_lines(struct client *cl)
{
	char *nl;

	while ((nl = memchr(cl->in, '\n', cl->in_len)) != NULL) {
		size_t len = (size_t)(nl - cl->in), rest;

		if (cl->discarding) {
			cl->discarding = false;
		} else {
			if (len > 0 && cl->in[len - 1] == '\r')
				len--;
			if (len > 0)
				client_queue(cl, control_handle(&cl->ctl->src,
				    cl->in, len));
		}
		rest = cl->in_len - (size_t)(nl + 1 - cl->in);
		memmove(cl->in, nl + 1, rest);
		cl->in_len = rest;
	}
	if (cl->in_len > CONTROL_REQUEST_MAX) {
		if (!cl->discarding)
			client_queue(cl, error_reply("request longer than %d "
			    "bytes", CONTROL_REQUEST_MAX));
		cl->discarding = true;
		cl->in_len = 0;
	}
}

/* Drops one watched descriptor of ctl; frees ctl after control_stop once
 * libwebsockets has closed them all. */
static void
control_unref(struct control *ctl)
{
	if (--ctl->refs == 0 && ctl->stopped)
		free(ctl);
}

/* Removes cl from its server's table and frees it. */
static void
client_free(struct client *cl)
{
	struct control *ctl = cl->ctl;

	for (int i = 0; i < MAX_CLIENTS; i++)
		if (ctl->clients[i] == cl)
			ctl->clients[i] = NULL;
	free(cl->out);
	free(cl);
	control_unref(ctl);
}

/* Events of one connection. */
static int
on_client(struct svc_fd *df, struct lws *wsi, int reason)
{
	struct client *cl = df->arg;
	ssize_t n;

	(void)wsi;
	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
		for (;;) {
			n = read(cl->fd, cl->in + cl->in_len,
			    sizeof(cl->in) - cl->in_len);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			if (n <= 0) {
				/* the peer closed: finish what is pending */
				cl->closing = true;
				return cl->out_len > cl->out_off ?
				    client_flush(cl) : -1;
			}
			cl->in_len += (size_t)n;
			client_lines(cl);
		}
		return client_flush(cl);
	case LWS_CALLBACK_RAW_WRITEABLE_FILE:
		return client_flush(cl);
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		if (close(cl->fd) != 0)
			log_debug("ctl", "close: %s", strerror(errno));
		client_free(cl);
		return 0;
	default:
		return 0;
	}
}

/* A new connection on the listening socket. */
static int
on_listen(struct svc_fd *df, struct lws *wsi, int reason)
{
	struct control *ctl = df->arg;

	(void)wsi;
	if (reason == LWS_CALLBACK_RAW_CLOSE_FILE) {
		if (close(ctl->fd) != 0)
			log_debug("ctl", "close: %s", strerror(errno));
		control_unref(ctl);
		return 0;
	}
	if (reason != LWS_CALLBACK_RAW_RX_FILE || ctl->stopped)
		return 0;
	for (;;) {
		struct client *cl;
		int fd = accept4(ctl->fd, NULL, NULL, SOCK_NONBLOCK |
		    SOCK_CLOEXEC);
		int slot = -1;

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("control: accept");
			return 0;
		}
		for (int i = 0; i < MAX_CLIENTS && slot < 0; i++)
			if (ctl->clients[i] == NULL)
				slot = i;
		if (slot < 0) {
			static const char busy[] = "{\"ok\":false,\"error\":\"too "
			    "many control connections\"}\n";

			if (write(fd, busy, sizeof(busy) - 1) < 0)
				log_debug("ctl", "control: busy reply lost");
			close(fd);
			continue;
		}
		cl = xcalloc(1, sizeof(*cl));
		cl->ctl = ctl;
		cl->fd = fd;
		cl->df.cb = on_client;
		cl->df.arg = cl;
		ctl->clients[slot] = cl;
		ctl->refs++;
		if (ctl->svc->watch_fd(ctl->svc->ud, fd, &cl->df) != 0) {
			ctl->refs--;
			log_warnx("control: cannot watch a connection");
			ctl->clients[slot] = NULL;
			close(fd);
			free(cl);
		}
	}
}

/* Creates the directory of path with its parents when missing (mkdir -p):
 * missing parents 0755, the socket's own directory 0750. */
static void
make_dir(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	strlcpy_ok(dir, path, sizeof(dir));
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return;
	*slash = '\0';
	for (char *p = dir + 1;; p++) {
		bool end = *p == '\0';

		if (*p != '/' && !end)
			continue;
		*p = '\0';
		if (mkdir(dir, end ? 0750 : 0755) != 0 && errno != EEXIST)
			log_debug("ctl", "mkdir %s: %s", dir, strerror(errno));
		if (end)
			break;
		*p = '/';
	}
}

struct control *
control_start(const struct services *svc, const struct control_sources *src,
    const char *path, char **cause)
{
	struct sockaddr_un sa;
	struct control *ctl;
	int fd, probe;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (!strlcpy_ok(sa.sun_path, path, sizeof(sa.sun_path))) {
		xasprintf(cause, "control socket path '%s' is too long (at most "
		    "%zu bytes)", path, sizeof(sa.sun_path) - 1);
		return NULL;
	}
	make_dir(path);
	/* A socket someone still answers on is another daemon's. */
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0) {
		if (connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			xasprintf(cause, "control socket %s is in use by another "
			    "process (is ocpp-edged already running?)", path);
			return NULL;
		}
		close(probe);
	}
	/* Only a stale socket is replaced: never a user's file. */
	if (unlink_if_type(path, S_IFSOCK) != 0) {
		if (errno == EEXIST)
			xasprintf(cause, "control socket path %s exists and is "
			    "not a socket: not replaced (give another --control "
			    "path)", path);
		else
			xasprintf(cause, "control socket %s: %s", path,
			    strerror(errno));
		return NULL;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		xasprintf(cause, "control socket: %s", strerror(errno));
		return NULL;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    chmod(path, 0660) != 0 || listen(fd, 16) != 0) {
		xasprintf(cause, "control socket %s: %s", path, strerror(errno));
		close(fd);
		(void)unlink_if_type(path, S_IFSOCK);
		return NULL;
	}
	ctl = xcalloc(1, sizeof(*ctl));
	ctl->svc = svc;
	ctl->src = *src;
	ctl->fd = fd;
	strlcpy_ok(ctl->path, path, sizeof(ctl->path));
	ctl->df.cb = on_listen;
	ctl->df.arg = ctl;
	ctl->refs = 1;
	if (svc->watch_fd(svc->ud, fd, &ctl->df) != 0) {
		xasprintf(cause, "control socket %s: the event loop refused it",
		    path);
		close(fd);
		(void)unlink_if_type(path, S_IFSOCK);
		free(ctl);
		return NULL;
	}
	return ctl;
}

void
control_stop(struct control *ctl)
{
	if (ctl == NULL)
		return;
	/* The descriptors are closed by libwebsockets when the context goes
	 * (each close callback drops a reference); here only the file. */
	(void)unlink_if_type(ctl->path, S_IFSOCK);
	ctl->stopped = true;
	if (ctl->refs == 0)
		free(ctl);
}
