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

#include "cloud.h"
#include "common/log.h"
#include "common/util.h"
#include "daemon.h"
#include "store/store.h"

#define MAX_CLIENTS 32

struct client {
	struct daemon_fd df;
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
	struct daemon *d;
	struct daemon_fd df;
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

/* The name of balancer circuit index i (0 = the main connection). */
static const char *
circuit_name(const struct site *s, int i)
{
	for (size_t k = 0; k < s->cfg->site.n_circuits; k++)
		if (s->circuit_of_cfg[k] == i)
			return s->cfg->site.circuits[k].name;
	return "main connection";
}

/* "tcp 127.0.0.1:5021", "tcp-listen serial X", "rtu /dev/ttyS1 unit 3". */
static json_t *
link_text(const struct cfg_link *l)
{
	char buf[CFG_PATH_MAX + 64];

	switch (l->kind) {
	case CFG_LINK_TCP:
		snprintf(buf, sizeof(buf), "tcp %s:%d", l->host, l->port);
		break;
	case CFG_LINK_TCP_LISTEN:
		snprintf(buf, sizeof(buf), "tcp-listen serial %s", l->serial);
		break;
	case CFG_LINK_RTU:
		snprintf(buf, sizeof(buf), "rtu %s unit %d", l->device,
		    l->unit_id);
		break;
	}
	return json_string(buf);
}

/* The settings in force with their sources. */
static json_t *
settings_json(const struct daemon *d)
{
	static const char *const names[] = { "mode", "pv_mode", "reserve_pct",
		"available_power_w", "min_power_1ph_w", "min_power_3ph_w",
		"offline_meter_power_w", "offline_site_power_w" };
	static const char *const modes[] = { "dlb", "alm", "pv" };
	static const char *const pv[] = { "full-green", "green-priority",
		"speed-priority" };
	const struct site_lb *lb = &d->site.lb;
	json_t *src = json_object();

	for (size_t i = 0; i < ARRAY_SIZE(names) && i < site_n_setting_keys;
	    i++)
		json_object_set_new(src, names[i],
		    json_string(d->lb_backend[i] ? "backend" : "file"));
	return json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:o}",
	    "mode", modes[lb->mode], "pv_mode", pv[lb->pv_mode],
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
meter_json(const struct daemon *d)
{
	static const char *const types[] = { "sdm630", "sdm230", "sdm120" };
	const struct site *s = &d->site;
	const struct sb_meter_reading *m = &s->meter_reading;
	json_t *phases;

	if (!s->meter_used && d->cfg.meter.link.host[0] == '\0' &&
	    d->cfg.meter.link.device[0] == '\0')
		return json_null();
	phases = json_array();
	for (int p = 0; p < 3; p++)
		json_array_append_new(phases, json_pack("{s:o, s:o, s:o}",
		    "v", m->present ? json_reading(m->voltage_v[p], 10) :
		    json_null(),
		    "a", m->present ? json_reading(m->current_a[p], 100) :
		    json_null(),
		    "w", m->present ? json_reading(m->power_w[p], 1) :
		    json_null()));
	return json_pack("{s:s, s:b, s:b, s:o, s:o, s:I, s:I, s:o}",
	    "type", types[d->cfg.meter.type],
	    "online", m->present && m->polls > 0 && !m->fault,
	    "healthy", s->meter.healthy,
	    "age_ms", m->age_ms >= 0 ? json_integer(m->age_ms) : json_null(),
	    "total_w", m->present && m->polls > 0 ?
	    json_reading(m->total_power_w, 1) : json_null(),
	    "household_w", (json_int_t)s->site_out.household_load_w,
	    "pv_w", (json_int_t)s->site_out.pv_surplus_w,
	    "phases", phases);
}

/* One connector's status entry. */
static json_t *
connector_json(const struct daemon *d, int k)
{
	const struct site *s = &d->site;
	const struct site_conn *sc = &s->conns[k];
	const struct cfg_charger *cc = &d->cfg.chargers[sc->charger];
	const struct sb_charger_reading *r = &s->readings[sc->charger];
	const struct sb_connector_reading *cr = &r->conn[sc->connector - 1];
	const struct bal_conn_out *o = &s->out[k];
	enum bal_conn_state bs = s->bconns[k].state;
	char tx[64];
	json_t *txj = json_null();
	double amps;

	if ((bs == BAL_ST_CHARGING || bs == BAL_ST_SUSPENDED_EV ||
	    bs == BAL_ST_SUSPENDED_EVSE) &&
	    cloud_transaction(d, sc->ocpp_id, tx, sizeof(tx))) {
		json_decref(txj);
		txj = json_string(tx);
	}
	if (cc->control_unit == CFG_CONTROL_CURRENT)
		amps = o->setpoint_ma / 1000.0;
	else
		amps = (double)o->setpoint_w / ((double)cc->phases *
		    d->cfg.site.nominal_voltage_v);
	return json_pack("{s:i, s:i, s:s, s:o, s:o, s:i, s:f, s:b, s:s, s:o}",
	    "connector", sc->connector, "ocpp_id", sc->ocpp_id,
	    "status", site_status_name(cr->status, r->online),
	    "power_w", r->online ? json_reading(cr->power_w, 1) : json_null(),
	    "energy_wh", json_reading(cr->energy_wh, 1),
	    "setpoint_w", (int)o->setpoint_w,
	    "setpoint_a", round(amps * 10.0) / 10.0,
	    "paused", o->paused,
	    "reason", s->have_run ? bal_reason_name(o->reason) : "starting",
	    "transaction", txj);
}

/* The whole site. */
static json_t *
status_json(struct daemon *d)
{
	const struct site *s = &d->site;
	struct store_queue_stats qs = { 0 };
	json_t *chargers = json_array(), *cloud;
	int64_t now = mono_now_ms(), epoch = wall_now_ms();
	int k = 0, pending = 0;

	if (d->store != NULL)
		store_queue_stats(d->store, &qs);
	/* Setpoints submitted but not yet written and read back. */
	for (int i = 0; i < s->n_conns; i++) {
		const struct site_conn *sc = &s->conns[i];
		const struct sb_charger_reading *r = &s->readings[sc->charger];

		if (sc->submitted && r->online &&
		    fabs(r->conn[sc->connector - 1].limit_written -
		    sc->written_limit) > 0.005)
			pending++;
	}
	cloud = json_pack("{s:s, s:s, s:s, s:s, s:o, s:I, s:I}",
	    "url", d->cfg.csms.url,
	    "ocpp_version", d->cfg.csms.ocpp_version == CFG_OCPP_201 ?
	    "2.0.1" : "1.6",
	    "identity", d->cfg.csms.identity,
	    "state", site_cloud_name(s->cloud),
	    "since", json_time(s->cloud_since_epoch_ms > 0 ?
	    s->cloud_since_epoch_ms : d->started_epoch_ms),
	    "queued", (json_int_t)(qs.committed + qs.buffered),
	    "dropped", (json_int_t)qs.dropped);
	for (int c = 0; c < s->n_chargers; c++) {
		const struct cfg_charger *cc = &d->cfg.chargers[c];
		const struct sb_charger_reading *r = &s->readings[c];
		json_t *conns = json_array();
		int64_t last = r->updated_ms > 0 ? epoch - (now - r->updated_ms) :
		    d->started_epoch_ms;

		for (int j = 0; j < cc->connectors; j++, k++)
			json_array_append_new(conns, connector_json(d, k));
		json_array_append_new(chargers, json_pack(
		    "{s:s, s:s, s:s, s:s, s:o, s:b, s:o, s:o, s:o, s:o}",
		    "name", cc->name, "model", cfg_model_name(cc->model),
		    "serial", r->serial, "firmware", r->firmware,
		    "link", link_text(&cc->link), "online", r->online,
		    "offline_since", r->online ? json_null() : json_time(last),
		    "error", r->error[0] != '\0' ? json_string(r->error) :
		    json_null(),
		    "unsupported", r->unsupported[0] != '\0' ?
		    json_string(r->unsupported) : json_null(),
		    "connectors", conns));
	}
	return json_pack("{s:s, s:s, s:I, s:o, s:o, s:o, "
	    "s:{s:i, s:s, s:o, s:I, s:I, s:s, s:i}, s:o, s:o}",
	    "version", PACKAGE_VERSION, "site_id", d->cfg.site.id,
	    "uptime_s", (json_int_t)((now - d->started_ms) / 1000),
	    "now", json_time(epoch), "cloud", cloud,
	    "settings", settings_json(d),
	    "site_cap", "w", (int)s->cap_w,
	    "source", site_cap_source_name(s->cap_source),
	    "profile_id", s->cap_source == SITE_CAP_PROFILE ?
	    json_integer(s->profile_site_id) : json_null(),
	    "budget_w", (json_int_t)s->site_out.budget_w,
	    "allocated_w", (json_int_t)s->site_out.allocated_w,
	    "balancer_source", bal_cap_source_name(s->site_out.cap_source),
	    "writes_pending", pending,
	    "meter", meter_json(d), "chargers", chargers);
}

/* Appends {"what","w"[,"detail"]} to caps when w is a cap. */
static void
add_cap(json_t *caps, const char *what, int32_t w, const char *detail)
{
	json_t *o;

	if (w == BAL_NO_CAP)
		return;
	o = json_pack("{s:s, s:i}", "what", what, "w", (int)w);
	if (detail != NULL)
		json_object_set_new(o, "detail", json_string(detail));
	json_array_append_new(caps, o);
}

/* The chain of caps behind connector k's setpoint. */
static json_t *
explain_json(struct daemon *d, int k)
{
	const struct site *s = &d->site;
	const struct site_conn *sc = &s->conns[k];
	const struct bal_conn_out *o = &s->out[k];
	const struct bal_chain *ch = &o->chain;
	json_t *caps = json_array();
	const char *bound = "none";
	char line[512], detail[160];

	add_cap(caps, "profile", ch->profile_cap_w, sc->profile_detail[0] ?
	    sc->profile_detail : NULL);
	add_cap(caps, "max", ch->max_w, NULL);
	add_cap(caps, "held", ch->held_cap_w, "EV draws less: draw + headroom");
	add_cap(caps, "circuit", ch->circuit_room_w,
	    circuit_name(s, s->chargers[sc->charger].circuit));
	if (ch->phase_room_w != BAL_NO_CAP) {
		snprintf(detail, sizeof(detail), "L%d", ch->bound_phase >= 0 ?
		    ch->bound_phase + 1 : s->chargers[sc->charger].wired_phase +
		    1);
		add_cap(caps, "phase", ch->phase_room_w, detail);
	}
	add_cap(caps, "share", ch->level_w, "the common level of the fair split");
	snprintf(detail, sizeof(detail), "site cap %d W (%s), balancer budget "
	    "%lld W (%s)", (int)s->cap_w, site_cap_source_name(s->cap_source),
	    (long long)s->site_out.budget_w,
	    bal_cap_source_name(s->site_out.cap_source));
	add_cap(caps, "site", ch->site_room_w, detail);
	switch (ch->bound) {
	case BAL_B_NONE:
		bound = "none";
		break;
	case BAL_B_OWN:
		bound = ch->upper_w == ch->profile_cap_w ? "profile" :
		    ch->upper_w == ch->held_cap_w ? "held" : "max";
		break;
	case BAL_B_SITE:
		bound = "site";
		break;
	case BAL_B_PHASE:
		bound = "phase";
		break;
	case BAL_B_CIRCUIT:
		bound = "circuit";
		break;
	}
	bal_format(o, line, sizeof(line));
	return json_pack("{s:s, s:i, s:i, s:s, s:s, s:o, s:s}",
	    "connector", sc->label, "ocpp_id", sc->ocpp_id,
	    "setpoint_w", (int)o->setpoint_w,
	    "reason", s->have_run ? bal_reason_name(o->reason) : "starting",
	    "bound_by", bound, "caps", caps, "line", line);
}

/* {"ok":false,"error":text}, as a line. */
static char *
error_reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
error_reply(const char *fmt, ...)
{
	va_list ap;
	char text[512], *out;
	json_t *o;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	o = json_pack("{s:b, s:s}", "ok", 0, "error", text);
	out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return out;
}

char *
control_handle(struct daemon *d, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *req, *result = NULL, *reply;
	const char *cmd;
	char *out;

	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (req == NULL)
		return error_reply("request is not JSON: %s (column %d); send "
		    "one object per line, e.g. {\"cmd\":\"status\"}", jerr.text,
		    jerr.column);
	if (!json_is_object(req) ||
	    !json_is_string(json_object_get(req, "cmd"))) {
		json_decref(req);
		return error_reply("request needs a string \"cmd\" (known: "
		    "status, explain)");
	}
	cmd = json_string_value(json_object_get(req, "cmd"));
	if (strcmp(cmd, "status") == 0) {
		result = status_json(d);
	} else if (strcmp(cmd, "explain") == 0) {
		json_t *c = json_object_get(req, "connector");
		int k;

		if (!json_is_string(c)) {
			json_decref(req);
			return error_reply("explain needs \"connector\": an OCPP "
			    "connector number (1..%d), \"CHARGER/K\" or \"CHARGER\"",
			    d->site.n_conns);
		}
		k = site_find_conn(&d->site, json_string_value(c));
		if (k < 0) {
			char esc[128];

			log_escape(json_string_value(c),
			    strlen(json_string_value(c)), esc, sizeof(esc));
			out = error_reply("no connector '%s': give an OCPP "
			    "connector number (1..%d), \"CHARGER/K\" or the name "
			    "of a one-connector charger", esc, d->site.n_conns);
			json_decref(req);
			return out;
		}
		result = explain_json(d, k);
	} else {
		char esc[64];

		log_escape(cmd, strlen(cmd), esc, sizeof(esc));
		out = error_reply("unknown command '%s' (known: status, explain)",
		    esc);
		json_decref(req);
		return out;
	}
	json_decref(req);
	reply = json_pack("{s:b, s:o}", "ok", 1, "result", result);
	out = json_dumps(reply, JSON_COMPACT | JSON_REAL_PRECISION(10));
	json_decref(reply);
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

/* Queues reply (consumed) and a newline. */
static void
client_queue(struct client *cl, char *reply)
{
	size_t n = strlen(reply);

	cl->out = xrealloc(cl->out, cl->out_len + n + 1);
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
				client_queue(cl, control_handle(cl->ctl->d, cl->in,
				    len));
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
on_client(struct daemon_fd *df, struct lws *wsi, int reason)
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
on_listen(struct daemon_fd *df, struct lws *wsi, int reason)
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
		if (daemon_watch_fd(ctl->d, fd, &cl->df) != 0) {
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
control_start(struct daemon *d, const char *path, char **cause)
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
	ctl->d = d;
	ctl->fd = fd;
	strlcpy_ok(ctl->path, path, sizeof(ctl->path));
	ctl->df.cb = on_listen;
	ctl->df.arg = ctl;
	ctl->refs = 1;
	if (daemon_watch_fd(d, fd, &ctl->df) != 0) {
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
