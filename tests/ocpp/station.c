/* Station harness for the OCPP integration tests: runs one session on its
 * own libwebsockets context with a scripted station model and an
 * in-memory durable queue, as the daemon will.
 *
 * stdin, one JSON object per line (commands):
 *   {"cmd":"status","connector":1,"status":"Charging"}
 *   {"cmd":"meter","connector":1,"power":7200,"energy":1234.5,
 *    "voltage":[230,231,229],"current":[10.4,10.5,10.3]}
 *   {"cmd":"token","connector":1,"id":"RFID01"}
 *   {"cmd":"car","connector":1,"present":false}  no car: a remote start
 *                          leaves the connector Preparing, not Charging
 *   {"cmd":"restart"}      the daemon restarts: new session, same store
 *   {"cmd":"disconnect"}   drop the link (reconnects with back-off)
 *   {"cmd":"call","action":"DataTransfer","payload":{…}}
 *   {"cmd":"security_event","type":"SettingSystemTime","techInfo":"…"}
 *   {"cmd":"sign"}         new key and CSR: SignCertificate
 *   {"cmd":"bench","n":10000}  n Heartbeats back to back, then a result
 *   {"cmd":"fill"}         every connector charging, meters valid
 *   {"cmd":"stats"} / {"cmd":"quit"}
 * stdout, one JSON object per line (events): ready, link, remote_start,
 * remote_stop, unlock, availability, reset, firmware, config_changed,
 * config_set, stats, bench, error. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <libwebsockets.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "ocpp/ocpp.h"

/* ---- in-memory durable queue and state ---- */
struct qmsg {
	int64_t id;
	char *action, *payload;
	int attempts;
};

struct kv {
	char *key, *value;
};

static struct {
	struct qmsg *m;
	size_t n, cap;
	int64_t next_id;
	struct kv *kv;
	size_t nkv;
} store = { .next_id = 1 };

/* Sets a state key; "" deletes it. */
static void
kv_set(const char *key, const char *value)
{
	for (size_t i = 0; i < store.nkv; i++) {
		if (strcmp(store.kv[i].key, key) == 0) {
			free(store.kv[i].value);
			if (value[0] == '\0') {
				free(store.kv[i].key);
				store.kv[i] = store.kv[--store.nkv];
			} else {
				store.kv[i].value = xstrdup(value);
			}
			return;
		}
	}
	if (value[0] == '\0')
		return;
	store.kv = xrealloc(store.kv, (store.nkv + 1) * sizeof(*store.kv));
	store.kv[store.nkv].key = xstrdup(key);
	store.kv[store.nkv].value = xstrdup(value);
	store.nkv++;
}

/* Queue: appends a message and sets a state key. */
static int
q_enqueue(void *ud, const char *action, const char *payload,
    const char *state_key, const char *state_value)
{
	(void)ud;
	if (store.n == store.cap) {
		store.cap = store.cap ? store.cap * 2 : 16;
		store.m = xrealloc(store.m, store.cap * sizeof(*store.m));
	}
	store.m[store.n].id = store.next_id++;
	store.m[store.n].action = xstrdup(action);
	store.m[store.n].payload = xstrdup(payload);
	store.m[store.n].attempts = 0;
	store.n++;
	if (state_key != NULL)
		kv_set(state_key, state_value);
	return 0;
}

/* Queue: copies the oldest message (caller frees its strings). */
static int
q_peek(void *ud, struct ocpp_queued *out)
{
	(void)ud;
	if (store.n == 0)
		return 1;
	out->id = store.m[0].id;
	out->action = xstrdup(store.m[0].action);
	out->payload = xstrdup(store.m[0].payload);
	out->attempts = store.m[0].attempts;
	return 0;
}

/* Queue: removes a message and sets a state key. */
static int
q_ack(void *ud, int64_t id, const char *state_key, const char *state_value)
{
	(void)ud;
	for (size_t i = 0; i < store.n; i++) {
		if (store.m[i].id != id)
			continue;
		free(store.m[i].action);
		free(store.m[i].payload);
		memmove(&store.m[i], &store.m[i + 1],
		    (store.n - i - 1) * sizeof(*store.m));
		store.n--;
		break;
	}
	if (state_key != NULL)
		kv_set(state_key, state_value);
	return 0;
}

/* Queue: records failed attempts. */
static int
q_set_attempts(void *ud, int64_t id, int attempts)
{
	(void)ud;
	for (size_t i = 0; i < store.n; i++)
		if (store.m[i].id == id)
			store.m[i].attempts = attempts;
	return 0;
}

/* State: copies a value; 1 when absent. */
static int
q_state_get(void *ud, const char *key, char *buf, size_t len)
{
	(void)ud;
	for (size_t i = 0; i < store.nkv; i++)
		if (strcmp(store.kv[i].key, key) == 0) {
			strlcpy_ok(buf, store.kv[i].value, len);
			return 0;
		}
	return 1;
}

/* State: sets a value. */
static int
q_state_set(void *ud, const char *key, const char *value)
{
	(void)ud;
	kv_set(key, value);
	return 0;
}

static const struct ocpp_queue_ops queue_ops = {
	q_enqueue, q_peek, q_ack, q_set_attempts, q_state_get, q_state_set,
};

/* ---- events ---- */

/* Prints one event line; consumes ev. */
static void
emit(json_t *ev)
{
	char *s = json_dumps(ev, JSON_COMPACT);

	printf("%s\n", s);
	fflush(stdout);
	free(s);
	json_decref(ev);
}

/* ---- station and callbacks ---- */
static struct ocpp_station station;
static struct ocpp_session *session;
static struct ocpp_settings settings;
static struct lws_context *context;
static bool restart_due, quit_due, firmware_due;
static bool no_car[16];	/* by connector: the "car" command */
static char lb_mode[8] = "alm";
static int lb_power_kw = 40, lb_reserve_pct = 10;
static long bench_left, bench_n;
static int64_t bench_start_ms;
static struct rusage bench_ru;

static const struct ocpp_ext_key ext_keys[] = {
	{ "LBMode", "LoadBalancer", "Mode", false },
	{ "LBAvailablePowerKw", "LoadBalancer", "AvailablePower", false },
	{ "LBReservePercent", "LoadBalancer", "ReservePercent", false },
	{ NULL, NULL, NULL, false },
};

/* The charger starts charging at once (register 3y000). */
static enum ocpp_result
cb_remote_start(void *ud, int k, const char *tag, const char *profile)
{
	(void)ud;
	emit(json_pack("{sssiss}", "event", "remote_start", "connector", k,
	    "idTag", tag));
	(void)profile;
	/* The charger starts charging when told (register 3y000 = 0), or
	 * waits for the cable. */
	station.conn[k].status = k < (int)ARRAY_SIZE(no_car) && no_car[k] ?
	    OCPP_ST_PREPARING : OCPP_ST_CHARGING;
	return OCPP_ACCEPTED;
}

/* The charger stops (register 3y000 = 1) and finishes. */
static enum ocpp_result
cb_remote_stop(void *ud, int k)
{
	(void)ud;
	emit(json_pack("{sssi}", "event", "remote_stop", "connector", k));
	station.conn[k].status = OCPP_ST_FINISHING;
	return OCPP_ACCEPTED;
}

/* Unlock (register 3y001): always works here. */
static enum ocpp_result
cb_unlock(void *ud, int k)
{
	(void)ud;
	emit(json_pack("{sssi}", "event", "unlock", "connector", k));
	return OCPP_ACCEPTED;
}

/* Operative / inoperative: the connectors follow. */
static enum ocpp_result
cb_availability(void *ud, int k, bool operative)
{
	(void)ud;
	emit(json_pack("{sssisb}", "event", "availability", "connector", k,
	    "operative", operative));
	for (int i = k == 0 ? 1 : k; i <= (k == 0 ? station.n_connectors : k);
	    i++)
		station.conn[i].status = operative ? OCPP_ST_AVAILABLE :
		    OCPP_ST_UNAVAILABLE;
	return OCPP_ACCEPTED;
}

/* The daemon restarts: done from the main loop. */
static void
cb_reset(void *ud, bool hard)
{
	(void)ud;
	emit(json_pack("{sssbsi}", "event", "reset", "hard", hard,
	    "retries", ocpp_session_reset_retries(session)));
	restart_due = true;
}

/* Firmware URL for register 30002; progress reported from the loop. */
static enum ocpp_result
cb_firmware(void *ud, const char *url, int64_t when)
{
	(void)ud;
	emit(json_pack("{sssssI}", "event", "firmware", "url", url, "at",
	    (json_int_t)when));
	/* Reported from the loop, after the answer went out. */
	firmware_due = true;
	return OCPP_ACCEPTED;
}

/* Reads a LoadBalancer setting. */
static int
cb_config_get(void *ud, const struct ocpp_ext_key *k, char *buf, size_t len)
{
	(void)ud;
	if (strcmp(k->key16, "LBMode") == 0)
		snprintf(buf, len, "%s", lb_mode);
	else if (strcmp(k->key16, "LBAvailablePowerKw") == 0)
		snprintf(buf, len, "%d", lb_power_kw);
	else
		snprintf(buf, len, "%d", lb_reserve_pct);
	return 0;
}

/* Validates like the daemon will: mode dlb|alm|pv, power 1..1000 kW,
 * reserve 0..50 %. */
static enum ocpp_result
cb_config_set(void *ud, const struct ocpp_ext_key *k, const char *value,
    char **cause)
{
	char *end;
	long v;

	(void)ud;
	if (strcmp(k->key16, "LBMode") == 0) {
		if (strcmp(value, "dlb") != 0 && strcmp(value, "alm") != 0 &&
		    strcmp(value, "pv") != 0) {
			xasprintf(cause, "mode must be dlb, alm or pv");
			return OCPP_REJECTED;
		}
		snprintf(lb_mode, sizeof(lb_mode), "%s", value);
	} else {
		bool power = strcmp(k->key16, "LBAvailablePowerKw") == 0;

		v = strtol(value, &end, 10);
		if (*value == '\0' || *end != '\0' || v < (power ? 1 : 0) ||
		    v > (power ? 1000 : 50)) {
			xasprintf(cause, "out of range");
			return OCPP_REJECTED;
		}
		if (power)
			lb_power_kw = (int)v;
		else
			lb_reserve_pct = (int)v;
	}
	emit(json_pack("{ssssss}", "event", "config_set", "key", k->key16,
	    "value", value));
	return OCPP_ACCEPTED;
}

/* A session key changed: kept for the next start, as the daemon does. */
static void
cb_config_changed(void *ud, const char *key, const char *value)
{
	(void)ud;
	if (ocpp_settings_apply(&settings, key, value) != 0)
		emit(json_pack("{ssss}", "event", "error", "what",
		    "changed key not applicable"));
	emit(json_pack("{sssss s}", "event", "config_changed", "key", key,
	    "value", value));
}

/* Smart-charging hook: SetChargingProfile accepted, the rest
 * NotSupported.  Returns the answer (caller frees) or NULL. */
static char *
cb_profile(void *ud, const char *action, const char *payload,
    enum ocpp_rpc_error *err)
{
	(void)ud;
	emit(json_pack("{ssssss}", "event", "profile_action", "action", action,
	    "payload", payload));
	if (strcmp(action, "SetChargingProfile") == 0)
		return xstrdup("{\"status\":\"Accepted\"}");
	*err = OCPP_RPC_NOT_SUPPORTED;
	return NULL;
}

/* Link and registration changes. */
static void
cb_link(void *ud, bool online, bool accepted)
{
	(void)ud;
	emit(json_pack("{sssbsb}", "event", "link", "online", online,
	    "accepted", accepted));
}

static const struct ocpp_callbacks callbacks = {
	.remote_start = cb_remote_start,
	.remote_stop = cb_remote_stop,
	.unlock = cb_unlock,
	.change_availability = cb_availability,
	.reset = cb_reset,
	.update_firmware = cb_firmware,
	.ext_keys = ext_keys,
	.config_get = cb_config_get,
	.config_set = cb_config_set,
	.config_changed = cb_config_changed,
	.profile_action = cb_profile,
	.link_state = cb_link,
};

/* ---- commands ---- */

/* Connector number of a command, -1 when out of range. */
static int
connector_arg(json_t *cmd)
{
	json_int_t k = json_integer_value(json_object_get(cmd, "connector"));

	if (k < 0 || k > station.n_connectors)
		return -1;
	return (int)k;
}

/* Prints the session counters and the queue depth. */
static void
emit_stats(void)
{
	struct ocpp_stats st;

	ocpp_session_stats(session, &st);
	emit(json_pack("{sssIsIsIsIsIsIsIsIsIsisb}", "event", "stats",
	    "calls_sent", (json_int_t)st.calls_sent,
	    "results", (json_int_t)st.results_received,
	    "errors_received", (json_int_t)st.errors_received,
	    "timeouts", (json_int_t)st.timeouts,
	    "calls_received", (json_int_t)st.calls_received,
	    "errors_sent", (json_int_t)st.errors_sent,
	    "connects", (json_int_t)st.connects,
	    "disconnects", (json_int_t)st.disconnects,
	    "queue", (json_int_t)store.n, "kv", (int)store.nkv,
	    "online", ocpp_session_online(session)));
}

/* Runs one command line from stdin. */
static void
command(const char *line)
{
	json_error_t jerr;
	json_t *cmd = json_loads(line, 0, &jerr);
	const char *c;
	int k;

	if (cmd == NULL) {
		emit(json_pack("{ssss}", "event", "error", "what", jerr.text));
		return;
	}
	c = json_string_value(json_object_get(cmd, "cmd"));
	if (c == NULL) {
		emit(json_pack("{ssss}", "event", "error", "what", "no cmd"));
	} else if (strcmp(c, "status") == 0) {
		enum ocpp_conn_status st;

		k = connector_arg(cmd);
		if (k < 0 || ocpp_status_parse(json_string_value(
		    json_object_get(cmd, "status")), &st) != 0)
			emit(json_pack("{ssss}", "event", "error", "what",
			    "bad status command"));
		else
			station.conn[k].status = st;
	} else if (strcmp(c, "car") == 0) {
		k = connector_arg(cmd);
		if (k > 0 && k < (int)ARRAY_SIZE(no_car))
			no_car[k] = !json_is_true(json_object_get(cmd,
			    "present"));
	} else if (strcmp(c, "meter") == 0) {
		struct ocpp_connector *cn;
		json_t *v = json_object_get(cmd, "voltage");
		json_t *a = json_object_get(cmd, "current");

		k = connector_arg(cmd);
		if (k >= 0) {
			cn = &station.conn[k];
			cn->power_w = json_number_value(json_object_get(cmd,
			    "power"));
			cn->energy_wh = json_number_value(json_object_get(cmd,
			    "energy"));
			for (int p = 0; p < 3; p++) {
				cn->voltage_v[p] = json_number_value(
				    json_array_get(v, (size_t)p));
				cn->current_a[p] = json_number_value(
				    json_array_get(a, (size_t)p));
			}
			cn->meter_valid = true;
		}
	} else if (strcmp(c, "token") == 0) {
		k = connector_arg(cmd);
		if (k > 0)
			strlcpy_ok(station.conn[k].id_token, json_string_value(
			    json_object_get(cmd, "id")),
			    sizeof(station.conn[k].id_token));
	} else if (strcmp(c, "fill") == 0) {
		/* Every connector charging at 7.2 kW (benchmarks). */
		for (k = 0; k <= station.n_connectors; k++) {
			struct ocpp_connector *cn = &station.conn[k];

			cn->power_w = 7200;
			cn->energy_wh = 1000.0 * k;
			for (int p = 0; p < 3; p++) {
				cn->voltage_v[p] = 230;
				cn->current_a[p] = 10.4;
			}
			cn->meter_valid = true;
			if (k > 0)
				cn->status = OCPP_ST_CHARGING;
		}
	} else if (strcmp(c, "restart") == 0) {
		restart_due = true;
	} else if (strcmp(c, "disconnect") == 0) {
		ocpp_session_disconnect(session);
	} else if (strcmp(c, "call") == 0) {
		char *p = json_dumps(json_object_get(cmd, "payload"),
		    JSON_COMPACT);

		if (p == NULL || ocpp_session_send_call(session,
		    json_string_value(json_object_get(cmd, "action")), p) != 0)
			emit(json_pack("{ssss}", "event", "error", "what",
			    "call not sent"));
		free(p);
	} else if (strcmp(c, "security_event") == 0) {
		if (ocpp_session_security_event(session,
		    json_string_value(json_object_get(cmd, "type")),
		    json_string_value(json_object_get(cmd, "techInfo"))) != 0)
			emit(json_pack("{ssss}", "event", "error", "what",
			    "security event not queued"));
	} else if (strcmp(c, "sign") == 0) {
		if (ocpp_session_sign_certificate(session) != 0)
			emit(json_pack("{ssss}", "event", "error", "what",
			    "no certificate signing request"));
	} else if (strcmp(c, "bench") == 0) {
		bench_n = bench_left = (long)json_integer_value(
		    json_object_get(cmd, "n"));
		bench_start_ms = mono_now_ms();
		getrusage(RUSAGE_SELF, &bench_ru);
	} else if (strcmp(c, "stats") == 0) {
		emit_stats();
	} else if (strcmp(c, "quit") == 0) {
		quit_due = true;
	} else {
		emit(json_pack("{ssss}", "event", "error", "what",
		    "unknown command"));
	}
	json_decref(cmd);
}

/* Reads whatever complete lines stdin has (non-blocking). */
static void
read_stdin(void)
{
	static char buf[65536];
	static size_t len;
	ssize_t n;

	for (;;) {
		n = read(0, buf + len, sizeof(buf) - 1 - len);
		if (n == 0) {
			quit_due = true;
			return;
		}
		if (n < 0)
			return;
		len += (size_t)n;
		for (;;) {
			char *nl = memchr(buf, '\n', len);
			size_t l;

			if (nl == NULL)
				break;
			*nl = '\0';
			l = (size_t)(nl - buf) + 1;
			if (nl > buf)
				command(buf);
			memmove(buf, buf + l, len - l);
			len -= l;
		}
		if (len == sizeof(buf) - 1)
			len = 0;
	}
}

/* Seconds of CPU time (user + system) between two usages. */
static double
cpu_s(const struct rusage *a, const struct rusage *b)
{
	return (double)(b->ru_utime.tv_sec - a->ru_utime.tv_sec) +
	    (double)(b->ru_utime.tv_usec - a->ru_utime.tv_usec) / 1e6 +
	    (double)(b->ru_stime.tv_sec - a->ru_stime.tv_sec) +
	    (double)(b->ru_stime.tv_usec - a->ru_stime.tv_usec) / 1e6;
}

/* Runs the benchmark: one Heartbeat whenever no CALL is waiting. */
static void
bench_step(void)
{
	static uint64_t last_results;
	struct ocpp_stats st;

	if (bench_n == 0)
		return;
	ocpp_session_stats(session, &st);
	if (bench_left == bench_n)
		last_results = st.results_received;
	if (st.results_received - last_results < (uint64_t)(bench_n - bench_left))
		return;	/* the previous one is still in flight */
	if (bench_left > 0) {
		if (ocpp_session_send_call(session, "Heartbeat", "{}") == 0)
			bench_left--;
		return;
	}
	{
		struct rusage now;
		int64_t ms = mono_now_ms() - bench_start_ms;

		getrusage(RUSAGE_SELF, &now);
		emit(json_pack("{sssisIsfsI}", "event", "bench", "n",
		    (int)bench_n, "ms", (json_int_t)ms, "cpu_s",
		    cpu_s(&bench_ru, &now), "maxrss_kb",
		    (json_int_t)now.ru_maxrss));
		bench_n = 0;
	}
}

static lws_sorted_usec_list_t tick_sul;

/* Wakes the service loop every 10 ms. */
static void
tick(lws_sorted_usec_list_t *sul)
{
	lws_sul_schedule(context, 0, sul, tick, 10 * LWS_US_PER_MS);
}

/* Prints the usage and exits 2. */
static void
usage(void)
{
	fprintf(stderr, "usage: ocpp-station --url URL --version 1.6|2.0.1 "
	    "[--identity ID] [--password P] [--profile 1|2|3] [--ca FILE] "
	    "[--cert FILE] [--key FILE] [--cert-dir DIR] "
	    "[--connectors N (1..1000)] "
	    "[--heartbeat S] [--meter S] [--backoff-min S] "
	    "[--backoff-random S] [--tx-attempts N] [--tx-retry S] "
	    "[--call-timeout S] [--ping S] [--ping-timeout S] "
	    "[--boot-retry S] [--debug]\n");
	exit(2);
}

/* Creates the session on the context; exits on bad settings. */
static struct ocpp_session *
new_session(void)
{
	char *cause = NULL;
	struct ocpp_session *s = ocpp_session_new(context, &settings, &station,
	    &callbacks, &queue_ops, NULL, &cause);

	if (s == NULL) {
		emit(json_pack("{ssss}", "event", "error", "what", cause));
		free(cause);
		exit(1);
	}
	return s;
}

/* Runs the harness until "quit" or the end of stdin. */
int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "version", required_argument, NULL, 'v' },
		{ "identity", required_argument, NULL, 'i' },
		{ "password", required_argument, NULL, 'p' },
		{ "profile", required_argument, NULL, 'P' },
		{ "ca", required_argument, NULL, 'c' },
		{ "cert", required_argument, NULL, 'C' },
		{ "key", required_argument, NULL, 'k' },
		{ "cert-dir", required_argument, NULL, 'D' },
		{ "connectors", required_argument, NULL, 'n' },
		{ "heartbeat", required_argument, NULL, 'h' },
		{ "meter", required_argument, NULL, 'm' },
		{ "backoff-min", required_argument, NULL, 'b' },
		{ "backoff-random", required_argument, NULL, 'r' },
		{ "tx-attempts", required_argument, NULL, 'a' },
		{ "tx-retry", required_argument, NULL, 't' },
		{ "call-timeout", required_argument, NULL, 'T' },
		{ "ping", required_argument, NULL, 'g' },
		{ "ping-timeout", required_argument, NULL, 'G' },
		{ "boot-retry", required_argument, NULL, 'B' },
		{ "debug", no_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	struct lws_context_creation_info info;
	int ch;

	ocpp_settings_defaults(&settings);
	settings.identity = "CS001";
	settings.password = "0123456789abcdef";
	station.vendor = "ocpp-edge";
	station.model = "site-gateway";
	station.serial = "GW-0001";
	station.firmware = "0.1.0";
	station.n_connectors = 2;
	log_init("ocpp-station", LOG_LEVEL_WARNING, false);
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'u': settings.url = optarg; break;
		case 'v':
			if (ocpp_version_parse(optarg, &settings.version) != 0)
				usage();
			break;
		case 'i': settings.identity = optarg; break;
		case 'p': settings.password = optarg; break;
		case 'P': settings.security_profile = atoi(optarg); break;
		case 'c': settings.ca_file = optarg; break;
		case 'C': settings.client_cert = optarg; break;
		case 'k': settings.client_key = optarg; break;
		case 'D': settings.cert_dir = optarg; break;
		case 'n': station.n_connectors = atoi(optarg); break;
		case 'h': settings.heartbeat_interval_s = atoi(optarg); break;
		case 'm': settings.meter_interval_s = atoi(optarg); break;
		case 'b': settings.retry_backoff_min_s = atoi(optarg); break;
		case 'r': settings.retry_backoff_random_s = atoi(optarg); break;
		case 'a': settings.tx_attempts = atoi(optarg); break;
		case 't': settings.tx_retry_interval_s = atoi(optarg); break;
		case 'T': settings.call_timeout_s = atoi(optarg); break;
		case 'g': settings.ping_interval_s = atoi(optarg); break;
		case 'G': settings.ping_timeout_s = atoi(optarg); break;
		case 'B': settings.boot_retry_s = atoi(optarg); break;
		case 'd':
			log_init("ocpp-station", LOG_LEVEL_DEBUG, false);
			log_enable_tokens("ocpp", NULL);
			break;
		default: usage();
		}
	}
	if (settings.url == NULL || station.n_connectors < 1 ||
	    station.n_connectors > 1000)
		usage();
	station.conn = xcalloc((size_t)station.n_connectors + 1,
	    sizeof(*station.conn));
	for (int k = 0; k <= station.n_connectors; k++) {
		station.conn[k].phases = 3;
		station.conn[k].status = OCPP_ST_AVAILABLE;
		station.conn[k].connector_type = 5;	/* Type 2 */
		station.conn[k].max_power_w = 22080;
	}
	/* Settings first (key sizes, password): a bad key must be refused
	 * before the TLS library sees it. */
	{
		char *cause = NULL;

		if (ocpp_settings_check(&settings, &cause) != 0) {
			emit(json_pack("{ssss}", "event", "error", "what", cause));
			free(cause);
			free(station.conn);
			return 1;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	lws_set_log_level(getenv("LWS_DEBUG") != NULL ? LLL_ERR | LLL_WARN |
	    LLL_NOTICE | LLL_INFO | LLL_CLIENT : 0, NULL);
	memset(&info, 0, sizeof(info));
	ocpp_context_info(&info, &settings);
	context = lws_create_context(&info);
	if (context == NULL) {
		emit(json_pack("{ssss}", "event", "error", "what",
		    "lws_create_context failed"));
		return 1;
	}
	session = new_session();
	fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
	emit(json_pack("{ssss}", "event", "ready", "version",
	    ocpp_version_subprotocol(settings.version)));
	lws_sul_schedule(context, 0, &tick_sul, tick, 10 * LWS_US_PER_MS);
	while (!quit_due) {
		if (lws_service(context, 0) < 0)
			break;
		read_stdin();
		if (restart_due) {
			/* The daemon restarting: the session goes, the store
			 * stays. */
			restart_due = false;
			ocpp_session_free(session);
			session = new_session();
			emit(json_pack("{ss}", "event", "restarted"));
		}
		if (firmware_due) {
			/* The charger took the URL (register 30002). */
			firmware_due = false;
			ocpp_session_firmware_status(session, "Downloading");
			ocpp_session_firmware_status(session, "Installed");
		}
		ocpp_session_service(session, mono_now_ms());
		bench_step();
	}
	emit_stats();
	ocpp_session_free(session);
	lws_sul_cancel(&tick_sul);
	lws_context_destroy(context);
	for (size_t i = 0; i < store.n; i++) {
		free(store.m[i].action);
		free(store.m[i].payload);
	}
	free(store.m);
	for (size_t i = 0; i < store.nkv; i++) {
		free(store.kv[i].key);
		free(store.kv[i].value);
	}
	free(store.kv);
	free(station.conn);
	return 0;
}
