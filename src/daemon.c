/* ocpp-edged: the command line, start-up in dependency order (chrony
 * style: each step's init runs in table order, its finalise in reverse),
 * one libwebsockets event loop, and an orderly stop on SIGTERM or SIGINT.
 *
 * Adding a module: give it an init/finalise pair taking struct daemon,
 * put it in `steps` after what it depends on, and hand it &d->svc (timers,
 * watched descriptors, a balancer run, a restart) when it is created: no
 * module calls back into this file.  Nothing on the loop may block. */
#include "config.h"

#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <libwebsockets.h>
#ifdef HAVE_MALLOC_H
#include <malloc.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cloud/cloud.h"
#include "common/log.h"
#include "common/util.h"
#include "control.h"
#include "http/http.h"
#include "store/store.h"
#include "southbound/southbound.h"
#include "paths.h"
#include "ocpp-edged-help.h"

#define DEFAULT_CONFIG SYSCONFDIR "/ocpp-edge.conf"
#define DEFAULT_CONTROL RUNSTATEDIR "/ocpp-edge/ctl.sock"

/* How often the loop wakes up on its own, whatever else is scheduled. */
#define HOUSEKEEPING_MS 500
/* How often the site's power, cap and budget go into the history. */
#define HISTORY_SAMPLE_MS 10000
/* How often the allocator hands its free pages back to the system. */
#define TRIM_MS 60000
/* Descriptors the loop watches at most: the backend link (and a firmware
 * download), the control socket and its 32 clients, the dashboard and its
 * HTTP_MAX_CONNECTIONS, the southbound wake-up and libwebsockets' own pipe
 * come to under 80.  The Modbus sockets are the link workers', not the
 * loop's.  Left to itself libwebsockets sizes two tables by the process's
 * descriptor limit (320 KiB, all touched at start, under a limit of
 * 20000); bounded, it looks a descriptor up among these few instead. */
#define LOOP_FDS_MAX 256
/* Readings taken from the southbound per call (2 kB each). */
#define TAKE_BATCH 16

/* Set from the signal handlers; read on the loop. */
static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t hup_received;
static struct lws_context *volatile signal_lws;

static void refresh_meter(struct daemon *d);
static struct control_sources sources(struct daemon *d);
static void schedule_run(void *ud);
static void on_balancer_run(void *arg);

/* Asks the loop to stop: async-signal-safe (a flag and lws's wake-up
 * pipe). */
static void
on_stop_signal(int sig)
{
	stop_requested = sig;
	if (signal_lws != NULL)
		lws_cancel_service(signal_lws);
}

/* Notes a SIGHUP for the loop (async-signal-safe). */
static void
on_hup_signal(int sig)
{
	(void)sig;
	hup_received = 1;
	if (signal_lws != NULL)
		lws_cancel_service(signal_lws);
}

/* libwebsockets' log lines: errors as warnings, the rest as debug. */
static void
on_lws_log(int level, const char *line)
{
	char buf[512];
	size_t n;

	strlcpy_ok(buf, line, sizeof(buf));
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	if (level & LLL_ERR)
		log_warnx("lws: %s", buf);
	else
		log_debug("main", "lws: %s", buf);
}

/* Writes the site's power, cap and budget into the history: the meter's
 * total, or without a reading what the chargers draw. */
static void
record_sample(struct daemon *d)
{
	struct store_site_sample h = { .at_ms = wall_now_ms() };
	struct site_report r;
	char *cause = NULL;

	site_report(&d->site, &r);
	h.cap_w = r.cap_w;
	h.budget_w = r.budget_w;
	if (r.has_meter && isfinite(r.meter.total_w)) {
		h.power_w = (int64_t)lround(r.meter.total_w);
	} else {
		double sum = 0;

		for (int k = 0; k < r.n_conns; k++) {
			struct site_conn_view v;

			site_conn_view(&d->site, k, &v);
			if (isfinite(v.power_w))
				sum += v.power_w;
		}
		h.power_w = (int64_t)lround(sum);
	}
	if (store_history_add_sample(d->store, &h, mono_now_ms(),
	    &cause) != 0) {
		log_warnx("store: history not written: %s", cause);
		free(cause);
	}
}

/* Hands the whole free pages inside the heap back to the system: the
 * bursts (a CSMS reconnecting, a queue draining, a reload) leave free
 * chunks behind that the resident set would otherwise keep. */
static void
trim_heap(void)
{
#ifdef HAVE_MALLOC_TRIM
	(void)malloc_trim(0);
#endif
}

/* Tunes glibc's allocator before any thread starts:
 * - one arena for all worker threads: each would otherwise get its own
 *   (up to 8 per core), each holding its own free memory; they allocate
 *   little (a Modbus context per connection), main keeps its own;
 * - a fixed mmap threshold (which also fixes the trim threshold at its
 *   default, 128 KiB): left dynamic, the first large buffer freed (a
 *   status answer for 200 chargers, ~640 KiB) raised both, and from then
 *   on such buffers came from the heap and up to twice that stayed
 *   resident after each. */
static void
tune_heap(void)
{
#ifdef HAVE_MALLOPT
#ifdef M_ARENA_MAX
	(void)mallopt(M_ARENA_MAX, 2);
#endif
	(void)mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
}

/* Runs every HOUSEKEEPING_US on the loop; the place for periodic work. */
static void
on_housekeeping(void *arg)
{
	struct daemon *d = arg;

	if (stop_requested)
		return; /* the loop notices on its way round */
	if (d->store != NULL) {
		char *cause = NULL;

		struct store_queue_stats qs;

		if (store_flush(d->store, mono_now_ms(), false, &cause) != 0) {
			log_warnx("store: cannot commit meter values: %s", cause);
			free(cause);
		}
		/* The store counts what its bound drops; say so once per
		 * batch of drops, with the totals. */
		store_queue_stats(d->store, &qs);
		if (qs.dropped > d->queue_dropped_seen) {
			log_warnx("store: outgoing queue at its bound of %lld "
			    "messages: %lld meter value(s) or update(s) dropped "
			    "(%lld in all)", (long long)qs.bound,
			    (long long)(qs.dropped - d->queue_dropped_seen),
			    (long long)qs.dropped);
			d->queue_dropped_seen = qs.dropped;
		}
	}
	if (d->site_ready && site_phase_wake(&d->site, mono_now_ms())) {
		d->site.dirty = true;
		schedule_run(d);
	}
	if (d->site_ready && d->store != NULL &&
	    mono_now_ms() >= d->next_sample_ms) {
		d->next_sample_ms = mono_now_ms() + HISTORY_SAMPLE_MS;
		record_sample(d);
	}
	if (mono_now_ms() >= d->next_trim_ms) {
		d->next_trim_ms = mono_now_ms() + TRIM_MS;
		trim_heap();
	}
	if (d->site_ready) {
		ops_local_caps_expire(d);
		refresh_meter(d);
		(void)site_update_caps(&d->site, mono_now_ms());
		/* The balancer's hold times run on its clock: a run now and
		 * then lets a paused connector resume with no input change. */
		d->site.dirty = true;
		schedule_run(d);
	}
	d->svc.timer_arm(d->housekeeping, HOUSEKEEPING_MS);
}

/* libwebsockets' callback for the raw descriptors the daemon watches
 * (southbound wake-ups, control socket): hands the event to its owner. */
static int
on_raw(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct svc_fd *df = lws_get_opaque_user_data(wsi);

	(void)user;
	(void)in;
	(void)len;
	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
	case LWS_CALLBACK_RAW_WRITEABLE_FILE:
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		if (df == NULL)
			return reason == LWS_CALLBACK_RAW_CLOSE_FILE ? 0 : -1;
		if (reason == LWS_CALLBACK_RAW_CLOSE_FILE) {
			/* Later callbacks for this wsi (WSI_DESTROY) may go to
			 * another protocol's handler: leave it nothing. */
			lws_set_opaque_user_data(wsi, NULL);
			df->wsi = NULL;
		}
		return df->cb(df, wsi, (int)reason);
	default:
		return 0;
	}
}

static const struct lws_protocols raw_protocols[] = {
	{ "edge-raw", on_raw, 0, 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

/* The services' watch_fd: fd as a raw-file wsi on the loop.  The wsi
 * gets a duplicate of fd: libwebsockets closes the descriptor it watches
 * when the watch ends, right after the close callback, in which the
 * owner closes fd itself (the control socket's connections) -- closing
 * one number twice would close whatever another thread opened under it
 * in between (a southbound worker's Modbus socket: answers from another
 * device, "Bad file descriptor").  Each side now closes its own. */
static int
loop_watch_fd(void *ud, int fd, struct svc_fd *df)
{
	struct daemon *d = ud;
	lws_sock_file_fd_type u;
	struct lws_vhost *vh = lws_get_vhost_by_name(d->lws, "default");

	if (vh == NULL)
		return -1;
	u.filefd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (u.filefd < 0)
		return -1;
	/* (refused: libwebsockets may have closed the duplicate already,
	 * so it is left alone; at worst one descriptor leaks) */
	df->wsi = lws_adopt_descriptor_vhost(vh, LWS_ADOPT_RAW_FILE_DESC, u,
	    "edge-raw", NULL);
	if (df->wsi == NULL)
		return -1;
	lws_set_opaque_user_data(df->wsi, df);
	return 0;
}

/* A timer of the loop: a libwebsockets scheduled callback. */
struct svc_timer {
	lws_sorted_usec_list_t sul;
	struct lws_context *lws;
	void (*fire)(void *arg);
	void *arg;
};

static void
on_timer(lws_sorted_usec_list_t *sul)
{
	struct svc_timer *t = lws_container_of(sul, struct svc_timer, sul);

	t->fire(t->arg);
}

/* The services' timer_new. */
static struct svc_timer *
loop_timer_new(void *ud, void (*fire)(void *arg), void *arg)
{
	struct daemon *d = ud;
	struct svc_timer *t = xcalloc(1, sizeof(*t));

	t->lws = d->lws;
	t->fire = fire;
	t->arg = arg;
	return t;
}

/* The services' timer_arm: 0 ms = as soon as the loop comes round. */
static void
loop_timer_arm(struct svc_timer *t, int64_t delay_ms)
{
	if (delay_ms < 0)
		lws_sul_cancel(&t->sul);
	else
		lws_sul_schedule(t->lws, 0, &t->sul, on_timer, delay_ms > 0 ?
		    (lws_usec_t)delay_ms * LWS_US_PER_MS : 1);
}

/* The services' timer_free. */
static void
loop_timer_free(struct svc_timer *t)
{
	if (t == NULL)
		return;
	lws_sul_cancel(&t->sul);
	free(t);
}

/* The services' restart: stops the loop; daemon_main executes again. */
static void
loop_restart(void *ud)
{
	struct daemon *d = ud;

	d->restart_requested = true;
	d->restart_retries = cloud_reset_retries(d->cloud);
	stop_requested = SIGTERM;
	if (d->lws != NULL)
		lws_cancel_service(d->lws);
}

/* Step "loop": the libwebsockets context, without a listening socket
 * (the gateway is a websocket client). */
static int
loop_init(struct daemon *d, char **cause)
{
	struct lws_context_creation_info info;

	lws_set_log_level(LLL_ERR | LLL_WARN | (log_debug_enabled("main") ?
	    LLL_NOTICE : 0), on_lws_log);
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.fd_limit_per_thread = LOOP_FDS_MAX;
	info.gid = (gid_t)-1;
	info.uid = (uid_t)-1;
	info.user = d;
	d->svc = (struct services){
		.ud = d,
		.schedule_run = schedule_run,
		.restart = loop_restart,
		.watch_fd = loop_watch_fd,
		.timer_new = loop_timer_new,
		.timer_arm = loop_timer_arm,
		.timer_free = loop_timer_free,
		.site_config = provision_site_config,
		.site_origin = provision_site_origin,
	};
	/* The cloud's protocols and TLS material go into the context. */
	d->cloud = cloud_new(&d->svc, &d->cfg, &info, raw_protocols, cause);
	if (d->cloud == NULL)
		return -1;
	d->lws = lws_create_context(&info);
	if (d->lws == NULL) {
		xasprintf(cause, "cannot create the libwebsockets context");
		cloud_free(d->cloud);
		d->cloud = NULL;
		return -1;
	}
	signal_lws = d->lws;
	d->housekeeping = loop_timer_new(d, on_housekeeping, d);
	d->balancer_run = loop_timer_new(d, on_balancer_run, d);
	d->cap_timer = loop_timer_new(d, on_balancer_run, d);
	loop_timer_arm(d->housekeeping, HOUSEKEEPING_MS);
	return 0;
}

/* Undoes loop_init. */
static void
loop_finalise(struct daemon *d)
{
	signal_lws = NULL;
	loop_timer_free(d->housekeeping);
	loop_timer_free(d->balancer_run);
	loop_timer_free(d->cap_timer);
	loop_timer_free(d->apply_timer);
	d->housekeeping = d->balancer_run = d->cap_timer = NULL;
	d->apply_timer = NULL;
	lws_context_destroy(d->lws);
	d->lws = NULL;
	cloud_free(d->cloud);
	d->cloud = NULL;
}

/* ---- The store ------------------------------------------------------ */

/* Step "store": opens the database; a bad one stops the start with the
 * store's own message. */
static int
store_init(struct daemon *d, char **cause)
{
	char *why = NULL;
	int rc;

	rc = store_open(d->cfg.store.path, NULL, &d->store, &why);
	if (rc != 0) {
		xasprintf(cause, "store %s: %s", d->cfg.store.path,
		    why != NULL ? why : store_strerror(rc));
		free(why);
		return -1;
	}
	{
		struct store_queue_stats qs;

		store_queue_stats(d->store, &qs);
		d->queue_dropped_seen = qs.dropped;
		if (qs.dropped > 0)
			log_info("store: %lld queued message(s) were dropped by "
			    "the queue bound before this start",
			    (long long)qs.dropped);
	}
	if (provision_load(d, cause) != 0) {
		store_close(d->store);
		d->store = NULL;
		return -1;
	}
	return 0;
}

/* Commits what is buffered and closes the database. */
static void
store_finalise(struct daemon *d)
{
	char *cause = NULL;

	if (d->store != NULL && store_flush(d->store, mono_now_ms(), true,
	    &cause) != 0) {
		log_warnx("store: last commit failed: %s", cause);
		free(cause);
	}
	store_close(d->store);
	d->store = NULL;
}

/* ---- The site model and the balancer -------------------------------- */

/* Layers the backend's setting overrides on the file's values: overrides
 * whose option changed in the file since are dropped; an override that no
 * longer passes the checks is ignored with a warning. */
int
daemon_settings_layer(struct daemon *d, struct site_lb *lb, bool *backend,
    char **cause)
{
	struct site_lb file;
	struct store_kv kv[16];
	char vals[16][32];
	int dropped = 0;

	site_lb_from_cfg(&d->cfg, &file);
	*lb = file;
	for (size_t i = 0; i < site_n_setting_keys; i++) {
		kv[i].key = site_setting_keys[i].key;
		kv[i].value = site_lb_format(&file, i, vals[i], sizeof(vals[i]));
	}
	if (store_settings_reconcile(d->store, kv, site_n_setting_keys,
	    &dropped, cause) != 0)
		return -1;
	if (dropped > 0)
		log_info("settings: %d backend override%s dropped (changed in "
		    "%s since)", dropped, dropped == 1 ? "" : "s",
		    d->config_path);
	for (size_t i = 0; i < site_n_setting_keys; i++) {
		enum store_setting_source src = STORE_SETTING_FILE;
		char *value = NULL, *why = NULL;

		if (store_setting_get(d->store, kv[i].key, kv[i].value, &value,
		    &src, cause) != 0)
			return -1;
		if (src == STORE_SETTING_BACKEND && value != NULL) {
			if (site_lb_parse(lb, &d->cfg, i, value, &why) == 0) {
				backend[i] = true;
				log_info("settings: %s = %s (set by the backend; "
				    "the file says %s)", kv[i].key, value,
				    kv[i].value);
			} else {
				log_warnx("settings: backend value ignored: %s",
				    why);
				free(why);
			}
		}
		free(value);
	}
	return 0;
}

/* Step "site": settings in force, the site model, its first caps. */
static int
site_step_init(struct daemon *d, char **cause)
{
	struct site_lb lb;
	bool backend[SITE_MAX_SETTINGS] = { false };
	int *kept, rc;

	if (daemon_settings_layer(d, &lb, backend, cause) != 0)
		return -1;
	kept = provision_ids_kept(d, &d->cfg);
	rc = site_init(&d->site, &d->cfg, &lb, kept, cause);
	free(kept);
	if (rc != 0)
		return -1;
	provision_ids_save(d);
	for (size_t i = 0; i < SITE_MAX_SETTINGS; i++)
		if (backend[i])
			site_mark_backend(&d->site, i);
	if (ops_local_caps_load(d, cause) != 0) {
		site_free(&d->site);
		return -1;
	}
	d->site.cloud_since_ms = d->started_ms;
	d->site.cloud_since_epoch_ms = d->started_epoch_ms;
	(void)site_update_caps(&d->site, mono_now_ms());
	d->writes = xcalloc((size_t)d->site.n_conns + 1, sizeof(*d->writes));
	d->phase_cmds = xcalloc((size_t)d->site.n_chargers + 1,
	    sizeof(*d->phase_cmds));
	d->take_buf = xcalloc(TAKE_BATCH, sizeof(*d->take_buf));
	d->site_ready = true;
	return 0;
}

/* Undoes site_step_init. */
static void
site_step_finalise(struct daemon *d)
{
	loop_timer_arm(d->balancer_run, -1);
	loop_timer_arm(d->cap_timer, -1);
	/* A run asked for and not made: the next schedule_run arms it. */
	d->run_scheduled = false;
	d->site_ready = false;
	site_free(&d->site);
	free(d->writes);
	free(d->phase_cmds);
	d->phase_cmds = NULL;
	free(d->take_buf);
	d->writes = NULL;
	d->take_buf = NULL;
}

/* Hands changed offline limits to the southbound (before any setpoint of
 * the same run: lowering them comes first). */
static void
program_offline_limits(struct daemon *d)
{
	struct site *s = &d->site;

	if (!s->offline_dirty || d->sb == NULL)
		return;
	s->offline_dirty = false;
	for (int c = 0; c < s->n_chargers; c++) {
		double limit = site_offline_limit(s, c);
		int rc;

		for (int j = 1; j <= d->cfg.chargers[c].connectors; j++) {
			rc = sb_set_offline_limit(d->sb, (size_t)c, j, limit);
			if (rc != 0)
				log_warnx("%s/%d: offline limit not set: %s",
				    d->cfg.chargers[c].name, j, sb_strerror(rc));
		}
		log_info("%s: offline limit %d W (cap in force %d W, %s)",
		    d->cfg.chargers[c].name, (int)s->offline_w[c],
		    (int)s->cap_w, site_cap_source_name(s->cap_source));
	}
}

/* Writes register 21008 for the phase switches whose chargers stopped
 * drawing (their read-back comes with a later reading). */
static void
submit_phase_switches(struct daemon *d)
{
	struct site *s = &d->site;
	const struct site_phase_cmd *cmds = d->phase_cmds;
	int n;

	if (d->sb == NULL || !d->site_ready || cmds == NULL)
		return;
	n = site_phase_due(s, mono_now_ms(), d->phase_cmds);
	for (int i = 0; i < n; i++) {
		const char *name = d->cfg.chargers[cmds[i].charger].name;
		uint64_t seq = 0;
		int rc = sb_submit_command(d->sb, (size_t)cmds[i].charger, 1,
		    SB_CMD_PHASE, cmds[i].value, NULL, &seq);

		if (rc != 0)
			log_warnx("%s: phase switch not submitted: %s", name,
			    sb_strerror(rc));
		else
			log_debug("bal", "%s: writing register 21008 = %d",
			    name, cmds[i].value);
		site_phase_submitted(s, cmds[i].charger, rc, seq);
	}
}

/* The balancer run: caps, balancer, writes (decreases first). */
static void
on_balancer_run(void *arg)
{
	struct daemon *d = arg;
	struct site *s = &d->site;
	char err[256];
	int64_t now = mono_now_ms(), next;
	int n;

	d->run_scheduled = false;
	if (!d->site_ready)
		return;
	next = site_update_caps(s, now);
	if (next >= 0)
		loop_timer_arm(d->cap_timer, next - now + 1);
	program_offline_limits(d);
	if (!s->dirty && s->have_run)
		return;
	/* The first run waits (up to 3 s) for the first complete snapshot:
	 * every charger read or found offline and, with a meter, a household
	 * estimate.  Run earlier, it would reserve power for chargers merely
	 * not read yet, or take their draw for household load, and pause
	 * cars that were charging before a restart. */
	if (!s->have_run && now - d->started_ms < 3000 &&
	    !site_snapshot_ready(s))
		return; /* the next reading or tick runs again */
	n = site_run(s, now, d->writes, err, sizeof(err));
	if (n < 0) {
		log_warnx("balancer: %s", err);
		return;
	}
	for (int i = 0; i < n; i++) {
		const struct site_write *w = &d->writes[i];
		const struct site_conn *sc = &s->conns[w->conn];
		int rc = d->sb != NULL ? sb_submit_setpoint(d->sb,
		    (size_t)sc->charger, sc->connector, w->limit, NULL) : 0;

		if (rc != 0) {
			log_warnx("%s: setpoint %d W not submitted: %s",
			    sc->label, (int)w->setpoint_w, sb_strerror(rc));
			continue;
		}
		if (w->previous_w < 0)
			log_info("%s: setpoint %d W (%s)", sc->label,
			    (int)w->setpoint_w,
			    bal_reason_name(s->out[w->conn].reason));
		else
			log_info("%s: setpoint %d W, was %d W (%s)", sc->label,
			    (int)w->setpoint_w, (int)w->previous_w,
			    bal_reason_name(s->out[w->conn].reason));
		site_mark_written(s, w);
		if (d->store != NULL) {
			struct control_sources src = sources(d);

			control_record_change(&src, w->conn, wall_now_ms(), now);
		}
	}
	submit_phase_switches(d);
	log_debug("bal", "run %llu: cap %d W (%s), budget %lld W, allocated "
	    "%lld W, household %lld W (meter %.0f W, estimate %lld W, "
	    "snapshot %llu, %llu dropped for skew), %d write%s",
	    (unsigned long long)s->runs, (int)s->cap_w,
	    site_cap_source_name(s->cap_source), (long long)s->site_out.budget_w,
	    (long long)s->site_out.allocated_w,
	    (long long)s->site_out.household_load_w,
	    s->meter_reading.total_power_w, (long long)s->meter_household_w,
	    (unsigned long long)s->snapshots,
	    (unsigned long long)s->snapshots_skewed, n, n == 1 ? "" : "s");
}

/* The services' schedule_run: one balancer run soon; calls coalesce. */
static void
schedule_run(void *ud)
{
	struct daemon *d = ud;

	if (d->run_scheduled || d->balancer_run == NULL)
		return;
	d->run_scheduled = true;
	loop_timer_arm(d->balancer_run, 0);
}

/* ---- The southbound ------------------------------------------------- */

/* Takes the meter's latest reading into the site model. */
static void
refresh_meter(struct daemon *d)
{
	struct sb_meter_reading m;

	if (d->sb == NULL)
		return;
	sb_meter_snapshot(d->sb, mono_now_ms(), &m);
	/* A new meter reading: the chargers are read again at once, so the
	 * household estimate pairs readings taken within a few ms (at most
	 * once per 500 ms: the meter itself is polled again too). */
	if (m.present && !m.fault && m.polls != d->site.meter_reading.polls &&
	    d->site.meter_used && mono_now_ms() - d->last_poll_now_ms >= 500) {
		d->last_poll_now_ms = mono_now_ms();
		sb_poll_now(d->sb);
	}
	if (m.present && m.fault != d->site.meter_reading.fault &&
	    d->site.meter_reading.polls > 0) {
		if (m.fault)
			log_warnx("meter: fault (%s)%s%s", sb_fault_name(m.why),
			    m.error[0] ? ": " : "", m.error);
		else
			log_info("meter: readings back");
	}
	site_take_meter(&d->site, &m);
	site_note_meter(&d->site, wall_now_ms());
}

/* Takes the first n readings of take_buf into the site model. */
static void
take_readings(struct daemon *d, size_t n, int64_t now)
{
	for (size_t i = 0; i < n; i++) {
		const struct sb_charger_reading *r = &d->take_buf[i];
		const struct sb_charger_reading *old =
		    &d->site.readings[r->index];

		if (r->online != old->online)
			log_info("%s: %s%s%s", d->cfg.chargers[r->index].name,
			    r->online ? "online" : "offline",
			    !r->online && r->error[0] ? ": " : "",
			    !r->online ? r->error : "");
		site_take_charger(&d->site, r, now);
		site_energy_save(&d->site, d->store, (int)r->index, now, false);
	}
}

/* The southbound's wake-up: new readings, taken a batch at a time. */
static int
on_southbound(struct svc_fd *df, struct lws *wsi, int reason)
{
	struct daemon *d = df->arg;
	int64_t now = mono_now_ms();
	size_t n;

	(void)wsi;
	if (reason != LWS_CALLBACK_RAW_RX_FILE || d->sb == NULL)
		return 0;
	do {
		n = sb_take_chargers(d->sb, d->take_buf, TAKE_BATCH);
		take_readings(d, n, now);
	} while (n == TAKE_BATCH);
	submit_phase_switches(d);
	refresh_meter(d);
	(void)site_take_household(&d->site);
	if (d->site.dirty)
		schedule_run(d);
	return 0;
}

/* Step "southbound": the link workers, their wake-up on the loop. */
static int
southbound_init(struct daemon *d, char **cause)
{
	struct sb_charger_conf *chargers;
	struct sb_conf conf;
	int rc;

	chargers = xcalloc((size_t)d->site.n_chargers + 1, sizeof(*chargers));
	site_sb_conf(&d->site, &conf, chargers);
	site_energy_restore(&d->site, d->store, chargers);
	rc = sb_start(&conf, &d->sb, cause);
	free(chargers);
	if (rc != 0)
		return -1;
	d->sb_watch.cb = on_southbound;
	d->sb_watch.arg = d;
	if (loop_watch_fd(d, sb_fd(d->sb), &d->sb_watch) != 0) {
		xasprintf(cause, "the event loop refused the southbound's "
		    "descriptor");
		sb_stop(d->sb);
		d->sb = NULL;
		return -1;
	}
	schedule_run(d);
	return 0;
}

/* Stops the link workers. */
static void
southbound_finalise(struct daemon *d)
{
	if (d->sb_watch.wsi != NULL)
		lws_set_opaque_user_data(d->sb_watch.wsi, NULL);
	for (int c = 0; c < d->site.n_chargers && d->sb != NULL; c++)
		site_energy_save(&d->site, d->store, c, mono_now_ms(), true);
	sb_stop(d->sb);
	d->sb = NULL;
}

/* ---- The backend ------------------------------------------------------ */

/* Step "cloud": the OCPP session (nothing without a csms url). */
static int
cloud_step_init(struct daemon *d, char **cause)
{
	return cloud_start(d->cloud, d->lws, d->store, &d->site, d->sb, cause);
}

/* Closes the session. */
static void
cloud_step_finalise(struct daemon *d)
{
	cloud_stop(d->cloud);
}

/* ---- A new site without a restart ------------------------------------ */

/* The text of section head ("charger \"bay1\"", "meter") in dump, from
 * its header to its closing brace, into *len; NULL when absent. */
static const char *
section_in(const char *dump, const char *head, size_t *len)
{
	size_t hlen = strlen(head);
	const char *p = dump, *end;

	while ((p = strstr(p, head)) != NULL) {
		if ((p == dump || p[-1] == '\n') &&
		    strncmp(p + hlen, " {\n", 3) == 0)
			break;
		p += hlen;
	}
	if (p == NULL || (end = strstr(p, "\n}\n")) == NULL)
		return NULL;
	*len = (size_t)(end + 3 - p);
	return p;
}

/* True when section head reads the same in dumps a and b. */
static bool
same_section(const char *a, const char *b, const char *head)
{
	size_t la = 0, lb = 0;
	const char *sa = section_in(a, head, &la), *sb = section_in(b, head,
	    &lb);

	return sa != NULL && sb != NULL && la == lb &&
	    memcmp(sa, sb, la) == 0;
}

/* keep[i]: the index in the configuration in force of next's charger i
 * when its section did not change, else -1; the meter likewise.  Returns
 * the number of chargers kept. */
static int
unchanged(struct daemon *d, const struct cfg *next, int *keep,
    bool *keep_meter)
{
	char *a = ops_dump_text(&d->cfg), *b = ops_dump_text(next);
	int kept = 0;

	for (size_t i = 0; i < next->n_chargers; i++) {
		char head[CFG_NAME_MAX + 16];

		keep[i] = -1;
		snprintf(head, sizeof(head), "charger \"%s\"",
		    next->chargers[i].name);
		for (size_t j = 0; j < d->cfg.n_chargers; j++)
			if (strcmp(d->cfg.chargers[j].name,
			    next->chargers[i].name) == 0 &&
			    same_section(a, b, head)) {
				keep[i] = (int)j;
				kept++;
			}
	}
	*keep_meter = same_section(a, b, "meter");
	free(a);
	free(b);
	return kept;
}

int
daemon_site_rebuild(struct daemon *d, struct cfg *next, char **cause)
{
	int *keep = xcalloc(next->n_chargers + 1, sizeof(*keep));
	struct sb_charger_conf *chargers;
	struct sb_conf conf;
	bool keep_meter;
	int kept, was = d->site.n_chargers, rc;
	size_t n;
	/* The backend link goes on: its state and since when. */
	enum site_cloud cloud = d->site.cloud;
	int64_t cloud_since_ms = d->site.cloud_since_ms;
	int64_t cloud_since_epoch_ms = d->site.cloud_since_epoch_ms;

	kept = unchanged(d, next, keep, &keep_meter);
	for (int c = 0; c < d->site.n_chargers && d->sb != NULL; c++)
		site_energy_save(&d->site, d->store, c, mono_now_ms(), true);
	site_step_finalise(d);
	cfg_clear(&d->cfg);
	d->cfg = *next;
	memset(next, 0, sizeof(*next));
	if (site_step_init(d, cause) != 0)
		goto fail;
	d->site.cloud = cloud;
	d->site.cloud_since_ms = cloud_since_ms;
	d->site.cloud_since_epoch_ms = cloud_since_epoch_ms;
	chargers = xcalloc((size_t)d->site.n_chargers + 1, sizeof(*chargers));
	site_sb_conf(&d->site, &conf, chargers);
	site_energy_restore(&d->site, d->store, chargers);
	rc = sb_restart(&d->sb, &conf, keep, keep_meter, cause);
	free(chargers);
	if (rc != 0)
		goto fail;
	/* The kept chargers' readings, published again by sb_restart, go
	 * into the site now: the backend is told their state, not the
	 * unknown one of a site just built. */
	do {
		n = sb_take_chargers(d->sb, d->take_buf, TAKE_BATCH);
		take_readings(d, n, mono_now_ms());
	} while (n == TAKE_BATCH);
	cloud_site_changed(d->cloud, d->sb);
	free(keep);
	d->site.dirty = true;
	schedule_run(d);
	log_info("site built again: %d charger%s kept with their links, %d "
	    "new, %d gone", kept, kept == 1 ? "" : "s", d->site.n_chargers -
	    kept, was - kept);
	return 0;
fail:
	/* Nothing may read a site or southbound that no longer fits. */
	cloud_step_finalise(d);
	if (d->sb_watch.wsi != NULL)
		lws_set_opaque_user_data(d->sb_watch.wsi, NULL);
	sb_stop(d->sb);
	d->sb = NULL;
	free(keep);
	return -1;
}

/* ---- The control socket --------------------------------------------- */

/* What the control socket and the HTTP server answer from. */
static struct control_sources
sources(struct daemon *d)
{
	return (struct control_sources){
		.cfg = &d->cfg,
		.site = &d->site,
		.store = d->store,
		.cloud = d->cloud,
		.started_ms = d->started_ms,
		.started_epoch_ms = d->started_epoch_ms,
		.set_local_cap = ops_set_local_cap,
		.reload = ops_reload,
		.site_origin = provision_site_origin,
		.ud = d,
	};
}

/* Step "control": the socket of ocpp-edgectl. */
static int
control_init(struct daemon *d, char **cause)
{
	struct control_sources src = sources(d);

	d->control = control_start(&d->svc, &src, d->control_path, cause);
	return d->control != NULL ? 0 : -1;
}

/* Removes the socket. */
static void
control_finalise(struct daemon *d)
{
	control_stop(d->control);
	d->control = NULL;
}

/* ---- The operators' HTTP server ------------------------------------- */

/* Step "http": the dashboard, the API and the metrics on the loop.  A
 * server that cannot listen is logged and left off: the chargers are
 * balanced without it. */
static int
http_init(struct daemon *d, char **cause)
{
	struct control_sources src = sources(d);
	char *why = NULL, host[CFG_HOST_MAX];
	int port;

	(void)cause;
	if (d->cfg.http.listen[0] == '\0')
		return 0;
	d->http = http_start(d->lws, &src, &why);
	if (d->http == NULL) {
		log_errorx("%s; the dashboard and /metrics are off", why);
		free(why);
		return 0;
	}
	(void)cfg_split_listen(d->cfg.http.listen, host, sizeof(host), &port);
	log_info("dashboard: %s://%s%s%s:%d/", d->cfg.http.cert[0] != '\0' ?
	    "https" : "http", strchr(host, ':') != NULL ? "[" : "",
	    host[0] != '\0' ? host : "0.0.0.0", strchr(host, ':') != NULL ?
	    "]" : "", http_port(d->http));
	return 0;
}

/* Stops the HTTP server. */
static void
http_finalise(struct daemon *d)
{
	http_stop(d->http);
	d->http = NULL;
}

/* Start-up steps in dependency order; stopped in reverse.  The store,
 * southbound links, OCPP session and balancer scheduling go here. */
static const struct step {
	const char *name;
	int (*init)(struct daemon *d, char **cause);
	void (*finalise)(struct daemon *d);
} steps[] = {
	{ "loop", loop_init, loop_finalise },
	{ "store", store_init, store_finalise },
	{ "site", site_step_init, site_step_finalise },
	{ "southbound", southbound_init, southbound_finalise },
	{ "cloud", cloud_step_init, cloud_step_finalise },
	{ "control", control_init, control_finalise },
	{ "http", http_init, http_finalise },
};

/* Prints the help (the manual page, man/ocpp-edged.8.in) to fp. */
static void
usage(FILE *fp)
{
	fputs(help_text, fp);
}

/* Prints the errors of a failed load on stderr. */
static void
print_errors(const struct cfg_errors *errors, const char *path)
{
	for (size_t i = 0; i < errors->n; i++)
		fprintf(stderr, "%s\n", errors->msgs[i]);
	fprintf(stderr, "ocpp-edged: %zu error%s in %s\n", errors->n,
	    errors->n == 1 ? "" : "s", path);
}

/* --check-config: validate, print, exit code. */
static int
check_config(const char *path)
{
	struct cfg_errors errors = { 0 };
	struct cfg cfg;

	if (cfg_load(path, &cfg, &errors) != 0) {
		print_errors(&errors, path);
		cfg_errors_free(&errors);
		return DAEMON_EXIT_CONFIG;
	}
	cfg_dump(&cfg, stdout);
	printf("# %s: configuration valid (%zu charger%s%s)\n", path,
	    cfg.n_chargers, cfg.n_chargers == 1 ? "" : "s",
	    cfg_provisioning(&cfg) ? ": provisioning mode, the site comes "
	    "from the backend" : "");
	cfg_clear(&cfg);
	return DAEMON_EXIT_OK;
}

/* Warns when the file holds the CSMS password and others may read it. */
static void
warn_if_exposed(const struct daemon *d)
{
	struct stat st;

	if (d->cfg.csms.password[0] != '\0' &&
	    stat(d->config_path, &st) == 0 && (st.st_mode & S_IROTH))
		log_warnx("%s holds the CSMS password and is readable by every "
		    "user; chmod o-r it", d->config_path);
}

/* Installs the stop handlers (SIGTERM, SIGINT), notes SIGHUP (a reload
 * on the loop) and ignores SIGPIPE. */
static void
install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_hup_signal;
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/* Starts the steps in order, runs the loop until a stop signal, stops
 * the steps in reverse.  Returns the exit code. */
static int
run(struct daemon *d)
{
	size_t started = 0;
	char *cause = NULL;
	int rc = DAEMON_EXIT_OK;

	for (; started < ARRAY_SIZE(steps) && !stop_requested; started++) {
		log_debug("main", "starting %s", steps[started].name);
		if (steps[started].init(d, &cause) != 0) {
			log_errorx("start-up failed in %s: %s", steps[started].name,
			    cause != NULL ? cause : "unknown error");
			free(cause);
			rc = DAEMON_EXIT_CONFIG;
			goto stop;
		}
	}
	if (!stop_requested)
		log_info("started (version %s, config %s, control %s, pid %ld)",
		    PACKAGE_VERSION, d->config_path, d->control_path,
		    (long)getpid());

	while (!stop_requested) {
		if (lws_service(d->lws, 0) < 0) {
			log_errorx("event loop failed; stopping");
			rc = DAEMON_EXIT_CONFIG;
			break;
		}
		if (hup_received) {
			char *error = NULL;
			json_t *r;

			hup_received = 0;
			log_info("SIGHUP: reading %s again", d->config_path);
			r = ops_reload(d, &error);
			if (r == NULL) {
				log_warnx("reload refused: %s", error);
				free(error);
			} else {
				size_t na = json_array_size(json_object_get(r,
				    "applied")), nr = json_array_size(
				    json_object_get(r, "restart_needed"));

				log_info("reload: %zu setting%s applied, %zu "
				    "section%s to restart for", na, na == 1 ? "" :
				    "s", nr, nr == 1 ? "" : "s");
				json_decref(r);
			}
		}
	}
	d->stop_signal = stop_requested;
	log_info("stopping (%s, config %s)", d->restart_requested ?
	    "backend Reset" : d->stop_signal == SIGINT ? "SIGINT" :
	    d->stop_signal == SIGTERM ? "SIGTERM" : "error", d->config_path);
stop:
	while (started > 0) {
		started--;
		log_debug("main", "stopping %s", steps[started].name);
		steps[started].finalise(d);
	}
	if (rc == DAEMON_EXIT_OK)
		log_info("stopped");
	return rc;
}

int
daemon_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "control", required_argument, NULL, 's' },
		{ "check-config", required_argument, NULL, 't' },
		{ "debug", required_argument, NULL, 'd' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "syslog", no_argument, NULL, 'S' },
		{ "stderr", no_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct daemon d = { .config_path = DEFAULT_CONFIG,
		.control_path = DEFAULT_CONTROL };
	struct cfg_errors errors = { 0 };
	const char *check = NULL, *tokens = NULL;
	enum log_level level = LOG_LEVEL_INFO;
	bool level_set = false;
	int target = -1; /* -1 = the file's, 0 = stderr, 1 = syslog */
	char *cause = NULL;
	int ch, rc;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":c:s:t:d:l:hV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			d.config_path = optarg;
			break;
		case 's':
			d.control_path = optarg;
			break;
		case 't':
			check = optarg;
			break;
		case 'd':
			tokens = optarg;
			break;
		case 'l':
			if (log_level_parse(optarg, &level) != 0) {
				fprintf(stderr, "ocpp-edged: --log-level '%s': "
				    "allowed error, warning, info, debug\n",
				    optarg);
				return DAEMON_EXIT_USAGE;
			}
			level_set = true;
			break;
		case 'S':
			target = 1;
			break;
		case 'E':
			target = 0;
			break;
		case 'h':
			usage(stdout);
			return DAEMON_EXIT_OK;
		case 'V':
			printf("ocpp-edged %s\n", PACKAGE_VERSION);
			return DAEMON_EXIT_OK;
		case ':':
			fprintf(stderr, "ocpp-edged: option '%s' needs a value "
			    "(see --help)\n", argv[optind - 1]);
			return DAEMON_EXIT_USAGE;
		default:
			fprintf(stderr, "ocpp-edged: unknown option '%s' (see "
			    "--help)\n", argv[optind - 1]);
			return DAEMON_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ocpp-edged: unexpected argument '%s' (see "
		    "--help)\n", argv[optind]);
		return DAEMON_EXIT_USAGE;
	}
	if (tokens != NULL && log_enable_tokens(tokens, &cause) != 0) {
		fprintf(stderr, "ocpp-edged: --debug: %s\n", cause);
		free(cause);
		return DAEMON_EXIT_USAGE;
	}
	if (check != NULL)
		return check_config(check);

	tune_heap();
	/* Signals first, so a stop during start-up is an orderly one. */
	install_signals();
	if (cfg_load(d.config_path, &d.cfg, &errors) != 0) {
		print_errors(&errors, d.config_path);
		fprintf(stderr, "ocpp-edged: not started\n");
		cfg_errors_free(&errors);
		return DAEMON_EXIT_CONFIG;
	}
	cfg_copy(&d.file_cfg, &d.cfg);
	d.log_level_fixed = level_set || tokens != NULL;
	if (!level_set)
		level = tokens != NULL ? LOG_LEVEL_DEBUG : d.cfg.log.level;
	log_init("ocpp-edged", level, target == -1 ? d.cfg.log.to_syslog :
	    target == 1);
	warn_if_exposed(&d);
	log_debug("cfg", "%s: %zu chargers, %zu circuits, mode %s, available "
	    "power %d W", d.config_path, d.cfg.n_chargers, d.cfg.site.n_circuits,
	    cfg_balancer_mode_name(d.cfg.balancer.mode),
	    d.cfg.site.available_power_w);

	d.started_ms = mono_now_ms();
	d.started_epoch_ms = wall_now_ms();
	rc = run(&d);

	log_finalise();
	cfg_clear(&d.cfg);
	cfg_clear(&d.file_cfg);
	cfg_clear(&d.next_site);
	free(d.site_text);
	if (d.restart_requested && rc == DAEMON_EXIT_OK) {
		/* Reset from the backend: the same program, the same command
		 * line, everything reloaded from the file and the store. */
		for (int i = 0;; i++) {
			execv("/proc/self/exe", argv);
			fprintf(stderr, "ocpp-edged: restart failed (attempt "
			    "%d of %d): %s\n", i + 1, d.restart_retries + 1,
			    strerror(errno));
			if (i >= d.restart_retries)
				return DAEMON_EXIT_CONFIG;
			sleep(1);	/* the loop is gone: nothing waits */
		}
	}
	return rc;
}
