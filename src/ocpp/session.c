/* The OCPP session: registration (BootNotification), heartbeat, status
 * and meter values from the station model, transactions through the
 * durable queue, and the handlers of backend-initiated actions, for 1.6
 * and 2.0.1. */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/log.h"
#include "common/util.h"
#include "ocpp/session-private.h"

void
ocpp_settings_defaults(struct ocpp_settings *st)
{
	memset(st, 0, sizeof(*st));
	st->version = OCPP_V16;
	st->security_profile = 1;
	st->heartbeat_interval_s = 300;
	st->retry_backoff_min_s = 10;
	st->retry_backoff_random_s = 10;
	st->retry_backoff_repeat = 5;
	st->ping_interval_s = 30;
	st->ping_timeout_s = 10;
	st->call_timeout_s = 30;
	st->meter_interval_s = 60;
	st->aligned_interval_s = 0;
	st->sampled_measurands = OCPP_MEAS_ALL;
	st->aligned_measurands = OCPP_MEAS_ALL;
	st->stop_measurands = OCPP_MEAS_ENERGY;
	st->tx_attempts = 3;
	st->tx_retry_interval_s = 60;
	st->default_id_tag = "gateway";
	st->stop_tx_on_invalid_id = 1;
	st->boot_retry_s = 30;
	strlcpy_ok(st->phase_rotation, "0.Unknown", sizeof(st->phase_rotation));
}

/* Checks that a key file holds RSA >= 2048 or EC >= 224 bits (2.0.1
 * A00.FR.306 key sizes; 1.6 security whitepaper §2). */
static int
check_key(const char *path, char **cause)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k;
	int bits, id, rc = -1;

	if (f == NULL) {
		xasprintf(cause, "client key %s: cannot open", path);
		return -1;
	}
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (k == NULL) {
		xasprintf(cause, "client key %s: not a PEM private key", path);
		return -1;
	}
	bits = EVP_PKEY_get_bits(k);
	id = EVP_PKEY_get_base_id(k);
	if (id == EVP_PKEY_RSA && bits < 2048)
		xasprintf(cause, "client key %s: RSA %d bits, at least 2048 "
		    "required", path, bits);
	else if (id == EVP_PKEY_EC && bits < 224)
		xasprintf(cause, "client key %s: EC %d bits, at least 224 "
		    "required", path, bits);
	else if (id != EVP_PKEY_RSA && id != EVP_PKEY_EC)
		xasprintf(cause, "client key %s: must be RSA or EC", path);
	else
		rc = 0;
	EVP_PKEY_free(k);
	return rc;
}

int
ocpp_settings_check(const struct ocpp_settings *st, char **cause)
{
	size_t plen = st->password != NULL ? strlen(st->password) : 0;

	if (st->url == NULL || st->identity == NULL || st->identity[0] == '\0') {
		xasprintf(cause, "csms url and identity are required");
		return -1;
	}
	if (strlen(st->identity) > 48 || strpbrk(st->identity, "/?#% ") != NULL) {
		xasprintf(cause, "identity \"%s\": at most 48 characters, none "
		    "of / ? # %% or space", st->identity);
		return -1;
	}
	if (st->security_profile < 1 || st->security_profile > 3) {
		xasprintf(cause, "security profile %d: must be 1, 2 or 3",
		    st->security_profile);
		return -1;
	}
	/* 2.0.1 BasicAuthPassword: 16..40 characters.  Profile 1 may run
	 * without (no Authorization header); profile 2 needs it.  Only the
	 * length, never the value, goes into the message. */
	if (st->security_profile <= 2 && (plen > 0 || st->security_profile == 2) &&
	    (plen < 16 || plen > 40)) {
		xasprintf(cause, "password: %zu characters, security profile %d "
		    "needs 16 to 40", plen, st->security_profile);
		return -1;
	}
	if (st->security_profile == 3) {
		if (st->client_cert == NULL || st->client_cert[0] == '\0' ||
		    st->client_key == NULL || st->client_key[0] == '\0') {
			xasprintf(cause, "security profile 3 needs client-cert "
			    "and client-key");
			return -1;
		}
		if (check_key(st->client_key, cause) != 0)
			return -1;
	}
#define RANGE(field, lo, hi, name)					\
	if (st->field < (lo) || st->field > (hi)) {			\
		xasprintf(cause, "%s = %d: must be %d to %d", name,	\
		    st->field, lo, hi);					\
		return -1;						\
	}
	RANGE(heartbeat_interval_s, 1, 86400, "heartbeat-interval-s");
	RANGE(retry_backoff_min_s, 0, 86400, "retry-backoff-min-s");
	RANGE(retry_backoff_random_s, 0, 86400, "retry-backoff-random-s");
	RANGE(retry_backoff_repeat, 0, 100, "retry-backoff-repeat");
	RANGE(ping_interval_s, 0, 3600, "ping-interval-s");
	RANGE(ping_timeout_s, 1, 3600, "ping-timeout-s");
	RANGE(call_timeout_s, 1, 3600, "call timeout");
	RANGE(meter_interval_s, 0, 86400, "meter interval");
	RANGE(aligned_interval_s, 0, 86400, "clock-aligned data interval");
	RANGE(sampled_measurands, 0, OCPP_MEAS_ALL, "sampled measurands");
	RANGE(aligned_measurands, 0, OCPP_MEAS_ALL, "aligned measurands");
	RANGE(stop_measurands, 0, OCPP_MEAS_ALL, "stop measurands");
	RANGE(tx_attempts, 1, 100, "transaction message attempts");
	RANGE(tx_retry_interval_s, 1, 86400, "transaction retry interval");
	RANGE(tx_unreachable_max_s, 0, 604800, "tx-unreachable-max-s");
#undef RANGE
	if (st->default_id_tag == NULL || st->default_id_tag[0] == '\0' ||
	    strlen(st->default_id_tag) > 20) {
		xasprintf(cause, "id-tag: 1 to 20 characters");
		return -1;
	}
	return 0;
}

/* ---- helpers ---- */

static bool
v16(const struct ocpp_session *s)
{
	return s->st.version == OCPP_V16;
}

/* Current wall time as RFC 3339 into buf (>= 32 bytes). */
static const char *
now_stamp(char *buf, size_t len)
{
	return format_rfc3339(wall_now_ms(), buf, len);
}

/* Sends text, counting and logging nothing secret (payloads only); text
 * NULL is a frame that could not be built (no memory): said, not sent. */
static void
send_text(struct ocpp_session *s, char *text)
{
	if (text == NULL) {
		log_warnx("ocpp: a frame could not be built (out of memory): "
		    "not sent");
		return;
	}
	transport_send(s, text);
	free(text);
}

/* Answers a CALL with a CALLRESULT; consumes payload. */
static void
reply(struct ocpp_session *s, const char *id, json_t *payload)
{
	send_text(s, ocpp_build_result(id, payload));
	json_decref(payload);
}

/* Answers a CALL with a CALLERROR. */
static void
reply_error(struct ocpp_session *s, const char *id, enum ocpp_rpc_error e,
    const char *desc)
{
	s->stats.errors_sent++;
	send_text(s, ocpp_build_error(s->st.version, id, e, desc));
}

/* Periodic MeterValues waiting in the non-durable queue, at most, per
 * connector (the station's included): beyond, the oldest is dropped. */
#define METER_CALLS_PER_CONNECTOR 4

/* Drops the oldest waiting MeterValues when the non-durable queue holds
 * its bound of them (a slow backend), counted and logged. */
static void
bound_meter_calls(struct ocpp_session *s)
{
	struct out_call *c, *prev = NULL, *oldest = NULL, *oldest_prev = NULL;
	int n = 0;

	for (c = s->calls_head; c != NULL; prev = c, c = c->next) {
		if (strcmp(c->action, "MeterValues") != 0)
			continue;
		if (oldest == NULL) {
			oldest = c;
			oldest_prev = prev;
		}
		n++;
	}
	if (n < METER_CALLS_PER_CONNECTOR * (s->station->n_connectors + 1))
		return;
	if (oldest_prev != NULL)
		oldest_prev->next = oldest->next;
	else
		s->calls_head = oldest->next;
	if (s->calls_tail == oldest)
		s->calls_tail = oldest_prev;
	free(oldest->action);
	json_decref(oldest->payload);
	free(oldest);
	s->stats.meter_values_dropped++;
	log_warnx("ocpp: backend slow: oldest waiting MeterValues dropped "
	    "(%" PRIu64 " so far)", s->stats.meter_values_dropped);
}

/* Queues a non-durable CALL; consumes payload. */
static void
push_call(struct ocpp_session *s, const char *action, json_t *payload)
{
	struct out_call *c;

	if (payload == NULL) {	/* a bug in a builder: never send garbage */
		log_warnx("ocpp: %s payload could not be built", action);
		return;
	}
	if (strcmp(action, "MeterValues") == 0)
		bound_meter_calls(s);
	c = xcalloc(1, sizeof(*c));
	c->action = xstrdup(action);
	c->payload = payload;
	if (s->calls_tail != NULL)
		s->calls_tail->next = c;
	else
		s->calls_head = c;
	s->calls_tail = c;
}

/* True when a CALL for action is already waiting. */
static bool
call_waiting(const struct ocpp_session *s, const char *action)
{
	for (const struct out_call *c = s->calls_head; c != NULL; c = c->next)
		if (strcmp(c->action, action) == 0)
			return true;
	return false;
}

/* Frees every CALL waiting for its turn. */
static void
drop_calls(struct ocpp_session *s)
{
	while (s->calls_head != NULL) {
		struct out_call *c = s->calls_head;

		s->calls_head = c->next;
		free(c->action);
		json_decref(c->payload);
		free(c);
	}
	s->calls_tail = NULL;
}

/* Sends a CALL now (the slot must be free); payload borrowed. */
static void
send_call(struct ocpp_session *s, const char *action, json_t *payload)
{
	ocpp_next_msg_id(s->call.id, sizeof(s->call.id), s->nonce,
	    &s->msg_counter);
	strlcpy_ok(s->call.action, action, sizeof(s->call.action));
	s->call.active = true;
	s->call.sent_ms = s->now_ms;
	s->stats.calls_sent++;
	send_text(s, ocpp_build_call(s->call.id, action, payload));
}

/* Durable state helpers. */
static int
state_get(const struct ocpp_session *s, const char *key, char *buf, size_t len)
{
	if (s->q == NULL || s->q->state_get == NULL)
		return 1;
	return s->q->state_get(s->ud, key, buf, len);
}

/* Durable state key of connector k's open transaction. */
static void
conn_key(char *buf, size_t len, const struct ocpp_session *s, int k)
{
	snprintf(buf, len, "%s.c%d", v16(s) ? "tx16" : "tx201", k);
}

/* ---- station model ---- */

/* True in the states that make a transaction. */
static bool
tx_state(enum ocpp_conn_status st)
{
	return st == OCPP_ST_CHARGING || st == OCPP_ST_SUSPENDED_EV ||
	    st == OCPP_ST_SUSPENDED_EVSE;
}

const char *
status_name201(enum ocpp_conn_status st)
{
	switch (st) {
	case OCPP_ST_AVAILABLE:
		return "Available";
	case OCPP_ST_PREPARING:
	case OCPP_ST_CHARGING:
	case OCPP_ST_SUSPENDED_EV:
	case OCPP_ST_SUSPENDED_EVSE:
	case OCPP_ST_FINISHING:
		return "Occupied";
	case OCPP_ST_RESERVED:
		return "Reserved";
	case OCPP_ST_UNAVAILABLE:
		return "Unavailable";
	case OCPP_ST_FAULTED:
		return "Faulted";
	}
	return "Faulted";
}

/* 2.0.1 ChargingStateEnumType of a state. */
static const char *
charging_state201(enum ocpp_conn_status st)
{
	switch (st) {
	case OCPP_ST_CHARGING:
		return "Charging";
	case OCPP_ST_SUSPENDED_EV:
		return "SuspendedEV";
	case OCPP_ST_SUSPENDED_EVSE:
		return "SuspendedEVSE";
	case OCPP_ST_PREPARING:
	case OCPP_ST_FINISHING:
		return "EVConnected";
	default:
		return "Idle";
	}
}

/* Formats a reading for 1.6 sampledValue.value (a string). */
static json_t *
value16(double v, int decimals)
{
	char buf[48];

	snprintf(buf, sizeof(buf), "%.*f", decimals, v);
	return json_string(buf);
}

/* One sampledValue in the version's shape; context "Sample.Periodic" etc. */
static json_t *
sampled(const struct ocpp_session *s, double v, const char *measurand,
    const char *unit, const char *phase, const char *context)
{
	json_t *o;

	if (v16(s)) {
		o = json_pack("{sossssssss}", "value",
		    value16(v, strcmp(unit, "Wh") == 0 ? 1 : 2),
		    "context", context, "measurand", measurand, "unit", unit,
		    "location", "Outlet");
	} else {
		o = json_pack("{sfsssssss{ss}}", "value", round(v * 100) / 100,
		    "context", context, "measurand", measurand,
		    "location", "Outlet", "unitOfMeasure", "unit", unit);
	}
	if (phase != NULL)
		json_object_set_new(o, "phase", json_string(phase));
	return o;
}

/* meterValue array (one element) for connector k with the measurands
 * of the context's list: MeterValuesAlignedData for Sample.Clock,
 * StopTxnSampledData for Transaction.End, else MeterValuesSampledData.
 * With none selected, the energy register (a meterValue needs one
 * sampledValue). */
static json_t *
meter_value(const struct ocpp_session *s, int k, const char *context)
{
	const struct ocpp_connector *c = &s->station->conn[k];
	static const char *const ph_i[] = { "L1", "L2", "L3" };
	static const char *const ph_v[] = { "L1-N", "L2-N", "L3-N" };
	json_t *sv = json_array();
	char when[40];
	int m = s->cfg[strcmp(context, "Sample.Clock") == 0 ?
	    CI_ALIGNED_MEASURANDS : strcmp(context, "Transaction.End") == 0 ?
	    CI_STOP_MEASURANDS : CI_SAMPLED_MEASURANDS];
	int n = c->phases == 1 ? 1 : 3;

	if (m == 0 || (m & OCPP_MEAS_ENERGY))
		json_array_append_new(sv, sampled(s, c->energy_wh,
		    "Energy.Active.Import.Register", "Wh", NULL, context));
	if (m & OCPP_MEAS_POWER)
		json_array_append_new(sv, sampled(s, c->power_w,
		    "Power.Active.Import", "W", NULL, context));
	for (int p = 0; p < n; p++) {
		if (m & OCPP_MEAS_CURRENT)
			json_array_append_new(sv, sampled(s, c->current_a[p],
			    "Current.Import", "A", ph_i[p], context));
		if (m & OCPP_MEAS_VOLTAGE)
			json_array_append_new(sv, sampled(s, c->voltage_v[p],
			    "Voltage", "V", ph_v[p], context));
	}
	if (k == 0 && v16(s)) {
		/* Connector 0 is the grid meter: location Inlet. */
		size_t i;
		json_t *x;

		json_array_foreach(sv, i, x)
			json_object_set_new(x, "location", json_string("Inlet"));
	} else if (k == 0) {
		size_t i;
		json_t *x;

		json_array_foreach(sv, i, x)
			json_object_set_new(x, "location", json_string("Inlet"));
	}
	return json_pack("[{ssso}]", "timestamp", now_stamp(when, sizeof(when)),
	    "sampledValue", sv);
}

/* The IdToken of connector k: the charger's, a pending remote start's or
 * the configured default.  *central tells which kind. */
static const char *
id_token_of(const struct ocpp_session *s, int k, bool *central)
{
	const struct ocpp_connector *c = &s->station->conn[k];

	*central = false;
	if (c->id_token[0] != '\0')
		return c->id_token;
	*central = true;
	if (s->cs[k].remote_id_tag[0] != '\0')
		return s->cs[k].remote_id_tag;
	return s->st.default_id_tag;
}

/* How often the energy and "last seen" of a running transaction are
 * written to the durable state (status and IdToken changes are written at
 * once): the end of a session that ends while the gateway is down is
 * stamped at most this long before it really ended. */
#define SEEN_SAVE_MS 60000

/* The durable record of connector k: its last known state (status,
 * IdToken, energy, when it was read) and its open transaction (1.6 local
 * id, 2.0.1 id and next seqNo, starting IdToken, highest energy).
 * Caller frees. */
static char *
conn_record(const struct ocpp_session *s, int k)
{
	const struct conn_state *cs = &s->cs[k];
	json_t *o;
	char *text;

	o = json_pack("{sssssfsI}", "status", ocpp_status_name16(cs->seen_status),
	    "token", cs->seen_token, "wh", cs->seen_wh,
	    "seen", (json_int_t)cs->seen_ms);
	if (o != NULL && cs->tx_active) {
		if (v16(s))
			json_object_set_new(o, "tx", json_integer(cs->local_tx));
		else {
			json_object_set_new(o, "tx", json_string(cs->tx_id));
			json_object_set_new(o, "seq", json_integer(cs->seq_no));
			json_object_set_new(o, "txst", json_string(
			    ocpp_status_name16(cs->tx_status)));
		}
		json_object_set_new(o, "txtoken", json_string(cs->tx_token));
		json_object_set_new(o, "central", json_boolean(
		    cs->tx_token_central));
		json_object_set_new(o, "type", json_string(cs->tx_token_type));
		json_object_set_new(o, "txwh", json_real(cs->tx_wh));
	}
	text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return text != NULL ? text : xstrdup("");
}

/* Writes connector k's record to the durable state. */
static void
save_conn(struct ocpp_session *s, int k)
{
	char key[32], *rec;

	if (s->q == NULL || s->q->state_set == NULL)
		return;
	conn_key(key, sizeof(key), s, k);
	rec = conn_record(s, k);
	if (s->q->state_set(s->ud, key, rec) != 0)
		log_warnx("ocpp: connector %d: could not save its state", k);
	free(rec);
	s->cs[k].saved_ms = s->now_ms;
}

/* The IdToken that ends connector k's transaction: the one that started
 * it, unless the charger now reports another.  *central tells its kind. */
static const char *
end_token(const struct ocpp_session *s, int k, bool *central)
{
	const struct ocpp_connector *c = &s->station->conn[k];
	const struct conn_state *cs = &s->cs[k];

	if (c->id_token[0] != '\0' && !c->stale) {
		*central = false;
		return c->id_token;
	}
	*central = cs->tx_token_central;
	return cs->tx_token;
}

/* True when the charger's reading of connector k is the session its open
 * transaction belongs to: running, the same IdToken (when both came from
 * the charger) and an energy register that did not go back. */
static bool
same_session(const struct ocpp_session *s, int k)
{
	const struct ocpp_connector *c = &s->station->conn[k];
	const struct conn_state *cs = &s->cs[k];

	if (!tx_state(c->status) && c->status != OCPP_ST_UNAVAILABLE &&
	    c->status != OCPP_ST_FAULTED)
		return false;
	if (c->id_token[0] != '\0' && !cs->tx_token_central &&
	    strcmp(c->id_token, cs->tx_token) != 0)
		return false;
	return c->energy_wh + 0.5 >= cs->tx_wh;
}

/* Puts a transaction message into the durable queue with connector k's
 * record in the same store transaction. */
static int
enqueue(struct ocpp_session *s, const char *action, json_t *payload, int k)
{
	char key[32], *text, *rec;
	int rc;

	conn_key(key, sizeof(key), s, k);
	text = json_dumps(payload, JSON_COMPACT);
	json_decref(payload);
	rec = conn_record(s, k);
	rc = s->q->enqueue(s->ud, action, text, key, rec);
	s->queue_empty = false;
	if (rc != 0)
		log_warnx("ocpp: could not queue %s for connector %d", action, k);
	else
		s->cs[k].saved_ms = s->now_ms;
	free(rec);
	free(text);
	return rc;
}

/* A meter reading in Wh as the whole number 1.6 sends: NaN, negative or
 * beyond 10^15 Wh (no meter gets there) is never cast as is. */
static json_int_t
meter_wh(double wh)
{
	if (!(wh >= 0))
		return 0;
	if (wh > 1e15)
		return (json_int_t)1e15;
	return (json_int_t)llround(wh);
}

/* Takes the start of a transaction on connector k into its state. */
static void
begin_tx(struct ocpp_session *s, int k)
{
	struct conn_state *cs = &s->cs[k];
	const struct ocpp_connector *c = &s->station->conn[k];

	cs->tx_active = true;
	strlcpy_ok(cs->tx_token, id_token_of(s, k, &cs->tx_token_central),
	    sizeof(cs->tx_token));
	/* 2.0.1 IdTokenEnumType: a remote start keeps the backend's. */
	strlcpy_ok(cs->tx_token_type, !cs->tx_token_central ? "ISO14443" :
	    cs->remote_id_tag[0] != '\0' ? cs->remote_id_type : "Central",
	    sizeof(cs->tx_token_type));
	cs->tx_wh = c->energy_wh;
	cs->seen_wh = c->energy_wh;
	cs->seen_ms = wall_now_ms();
}

/* 1.6: StartTransaction for connector k. */
static void
start_tx16(struct ocpp_session *s, int k)
{
	struct conn_state *cs = &s->cs[k];
	const struct ocpp_connector *c = &s->station->conn[k];
	char idtag[21], when[40], buf[32];
	int64_t next = 1;

	if (state_get(s, "tx16.next", buf, sizeof(buf)) == 0)
		next = strtoll(buf, NULL, 10);
	if (next < 1)
		next = 1;
	snprintf(buf, sizeof(buf), "%" PRId64, next + 1);
	if (s->q->state_set != NULL)
		s->q->state_set(s->ud, "tx16.next", buf);
	begin_tx(s, k);
	cs->local_tx = next;
	strlcpy_ok(idtag, cs->tx_token, sizeof(idtag));
	if (enqueue(s, "StartTransaction", json_pack("{sisssIsssI}",
	    "connectorId", k, "idTag", idtag,
	    "meterStart", meter_wh(c->energy_wh),
	    "timestamp", now_stamp(when, sizeof(when)),
	    "_local", (json_int_t)next), k) != 0) {
		cs->tx_active = false;
		cs->local_tx = 0;
		return;
	}
	cs->remote_start = false;
	log_debug("ocpp", "connector %d: transaction %" PRId64 " started (%s)", k,
	    next, cs->tx_token_central ? "remote / default id" : "charger id");
}

/* Why and when a transaction ends: the 1.6 reason, the 2.0.1
 * stoppedReason and triggerReason, the time (epoch ms) and the energy
 * register. */
struct tx_end {
	const char *reason16;
	const char *reason201;
	const char *trigger;
	int64_t when_ms;
	double wh;
};

/* The meterValue of a transaction's end at when: the energy of e and,
 * when the end is read now from a charger that answers, the other
 * measurands of StopTxnSampledData / TxEndedMeasurands as read.  An end
 * found later (the gateway was down, the charger silent) carries the
 * energy only, since nothing else is known of that moment. */
static json_t *
end_meter_value(const struct ocpp_session *s, int k, const struct tx_end *e,
    const char *when)
{
	const char *energy = "Energy.Active.Import.Register";
	json_t *mv, *sv, *x;
	size_t i;

	if (s->station->conn[k].stale || wall_now_ms() - e->when_ms > 5000)
		return json_pack("[{sss[o]}]", "timestamp", when,
		    "sampledValue", sampled(s, e->wh, energy, "Wh", NULL,
		    "Transaction.End"));
	mv = meter_value(s, k, "Transaction.End");
	json_object_set_new(json_array_get(mv, 0), "timestamp",
	    json_string(when));
	sv = json_object_get(json_array_get(mv, 0), "sampledValue");
	json_array_foreach(sv, i, x) {
		const char *m = json_string_value(json_object_get(x,
		    "measurand"));

		if (m != NULL && strcmp(m, energy) == 0)
			json_array_set_new(sv, i, sampled(s, e->wh, energy,
			    "Wh", NULL, "Transaction.End"));
	}
	return mv;
}

/* Forgets connector k's transaction once its end is queued. */
static void
forget_tx(struct ocpp_session *s, int k)
{
	struct conn_state *cs = &s->cs[k];

	cs->tx_active = false;
	cs->remote_stop = false;
	cs->deauthorized = false;
	cs->remote_id_tag[0] = '\0';
	cs->remote_id_type[0] = '\0';
	cs->local_tx = 0;
	cs->tx_id[0] = '\0';
	cs->tx_token[0] = '\0';
	cs->tx_wh = 0;
}

/* 1.6: StopTransaction for connector k. */
static void
stop_tx16(struct ocpp_session *s, int k, const struct tx_end *e)
{
	struct conn_state *cs = &s->cs[k];
	char idtag[21], when[40];
	int64_t local = cs->local_tx;
	bool central;
	json_t *p;

	strlcpy_ok(idtag, end_token(s, k, &central), sizeof(idtag));
	format_rfc3339(e->when_ms, when, sizeof(when));
	p = json_pack("{sssIsssIsssIso}", "idTag", idtag,
	    "meterStop", meter_wh(e->wh),
	    "timestamp", when,
	    "transactionId", (json_int_t)0, "reason", e->reason16,
	    "_local", (json_int_t)local,
	    "transactionData", end_meter_value(s, k, e, when));
	cs->tx_active = false;
	if (enqueue(s, "StopTransaction", p, k) != 0) {
		cs->tx_active = true;
		return;
	}
	forget_tx(s, k);
	log_debug("ocpp", "connector %d: transaction %" PRId64 " ended (%s)", k,
	    local, e->reason16);
}

/* 2.0.1: one TransactionEvent for connector k; an Ended one carries the
 * end's time, reason and energy. */
static void
tx_event201(struct ocpp_session *s, int k, const char *event,
    const char *trigger, const struct tx_end *end, bool with_meter)
{
	struct conn_state *cs = &s->cs[k];
	const struct ocpp_connector *c = &s->station->conn[k];
	char when[40];
	json_t *p, *info;
	bool central;
	const char *tok;

	if (end != NULL)
		format_rfc3339(end->when_ms, when, sizeof(when));
	else
		now_stamp(when, sizeof(when));
	info = json_pack("{ssss}", "transactionId", cs->tx_id,
	    "chargingState", charging_state201(end != NULL && c->stale ?
	    OCPP_ST_AVAILABLE : c->status));
	if (end != NULL)
		json_object_set_new(info, "stoppedReason",
		    json_string(end->reason201));
	if (strcmp(event, "Started") == 0 && cs->remote_start)
		json_object_set_new(info, "remoteStartId",
		    json_integer(cs->remote_start_id));
	p = json_pack("{sssssssisbso}", "eventType", event,
	    "timestamp", when,
	    "triggerReason", trigger, "seqNo", cs->seq_no,
	    "offline", s->link != LINK_UP,
	    "transactionInfo", info);
	if (!json_is_true(json_object_get(p, "offline")))
		json_object_del(p, "offline");
	json_object_set_new(p, "evse", json_pack("{sisi}", "id", k,
	    "connectorId", 1));
	if (strcmp(event, "Updated") != 0) {
		central = cs->tx_token_central;
		tok = end != NULL ? end_token(s, k, &central) : cs->tx_token;
		json_object_set_new(p, "idToken", json_pack("{ssss}",
		    "idToken", tok, "type", tok == cs->tx_token ?
		    cs->tx_token_type : central ? "Central" : "ISO14443"));
	}
	if (end != NULL)
		json_object_set_new(p, "meterValue", end_meter_value(s, k,
		    end, when));
	else if (with_meter)
		json_object_set_new(p, "meterValue", meter_value(s, k,
		    strcmp(event, "Started") == 0 ? "Transaction.Begin" :
		    strcmp(event, "Ended") == 0 ? "Transaction.End" :
		    "Sample.Periodic"));
	cs->seq_no++;
	if (end != NULL)
		cs->tx_active = false;
	else
		cs->tx_status = c->status;
	if (enqueue(s, "TransactionEvent", p, k) != 0 && end != NULL) {
		cs->tx_active = true;
		cs->seq_no--;
	}
}

/* 2.0.1: starts a transaction on connector k. */
static void
start_tx201(struct ocpp_session *s, int k)
{
	struct conn_state *cs = &s->cs[k];
	const char *trigger;

	s->tx_counter++;
	snprintf(cs->tx_id, sizeof(cs->tx_id), "%08" PRIx32 "-%d-%" PRIu64,
	    s->nonce, k, s->tx_counter);
	cs->seq_no = 0;
	begin_tx(s, k);
	trigger = cs->remote_start ? "RemoteStart" :
	    s->station->conn[k].id_token[0] != '\0' ? "Authorized" :
	    "ChargingStateChanged";
	tx_event201(s, k, "Started", trigger, NULL, true);
	cs->remote_start = false;
	cs->last_tx_meter_ms = s->now_ms;
	log_debug("ocpp", "connector %d: transaction %s started", k, cs->tx_id);
}

/* Ends the transaction on connector k as e says. */
static void
end_tx(struct ocpp_session *s, int k, const struct tx_end *e)
{
	struct conn_state *cs = &s->cs[k];
	char id[OCPP_MSG_ID_MAX + 1];

	if (v16(s)) {
		stop_tx16(s, k, e);
		return;
	}
	strlcpy_ok(id, cs->tx_id, sizeof(id));
	tx_event201(s, k, "Ended", e->trigger, e, true);
	if (cs->tx_active)
		return;
	forget_tx(s, k);
	log_debug("ocpp", "connector %d: transaction %s ended (%s)", k, id,
	    e->reason201);
}

/* Connector k's charger read a state that ends the transaction (back to
 * available, finishing, or another session): the reason from that state,
 * now, with the energy reading (never below what the transaction saw). */
static void
end_by_charger(struct ocpp_session *s, int k, bool other_session)
{
	struct conn_state *cs = &s->cs[k];
	const struct ocpp_connector *c = &s->station->conn[k];
	struct tx_end e;

	e.when_ms = wall_now_ms();
	e.wh = !other_session && c->energy_wh > cs->tx_wh ? c->energy_wh :
	    cs->tx_wh;
	if (cs->deauthorized) {
		e.reason16 = e.reason201 = "DeAuthorized";
		e.trigger = "Deauthorized";
	} else if (cs->remote_stop) {
		e.reason16 = e.reason201 = "Remote";
		e.trigger = "RemoteStop";
	} else if (other_session) {
		e.reason16 = e.reason201 = "Other";
		e.trigger = "ChargingStateChanged";
		e.when_ms = cs->seen_ms;
	} else if (c->status == OCPP_ST_AVAILABLE) {
		e.reason16 = e.reason201 = "EVDisconnected";
		e.trigger = "EVDeparted";
	} else {
		e.reason16 = e.reason201 = "Local";
		e.trigger = "StopAuthorized";
	}
	end_tx(s, k, &e);
}

/* Connector k's charger is read again after the gateway's restart or its
 * own silence, and its session is not the one the open transaction
 * belongs to: the transaction ended while nobody watched.  It ends when
 * it was last seen running, with the charger's energy reading when that
 * is still the same session's counter. */
static void
end_while_away(struct ocpp_session *s, int k)
{
	struct conn_state *cs = &s->cs[k];
	const struct ocpp_connector *c = &s->station->conn[k];
	bool counter_same = !tx_state(c->status) && c->energy_wh >= cs->tx_wh &&
	    (c->id_token[0] == '\0' || cs->tx_token_central ||
	    strcmp(c->id_token, cs->tx_token) == 0);
	struct tx_end e;

	e.when_ms = cs->seen_ms > 0 ? cs->seen_ms : wall_now_ms();
	e.wh = counter_same ? c->energy_wh : cs->tx_wh;
	if (cs->restart_stale) {
		e.reason16 = e.reason201 = s->unclean_stop ? "PowerLoss" :
		    "Reboot";
	} else {
		e.reason16 = e.reason201 = c->status == OCPP_ST_AVAILABLE ?
		    "EVDisconnected" : "Other";
	}
	e.trigger = c->status == OCPP_ST_AVAILABLE ? "EVDeparted" :
	    "AbnormalCondition";
	log_info("connector %d: the session ended while %s; its transaction "
	    "ends (%s, %.0f Wh)", k, cs->restart_stale ? "the gateway was "
	    "down" : "the charger did not answer", e.reason16, e.wh);
	end_tx(s, k, &e);
}

/* Connector k's charger has not answered for the configured maximum:
 * its transaction ends with the last energy reading (Other /
 * EVCommunicationLost). */
static void
end_unreachable(struct ocpp_session *s, int k)
{
	struct conn_state *cs = &s->cs[k];
	struct tx_end e = { "Other", "Other", "EVCommunicationLost",
		cs->seen_ms > 0 ? cs->seen_ms : wall_now_ms(), cs->tx_wh };

	log_info("connector %d: no answer for %d s, its transaction ends", k,
	    s->st.tx_unreachable_max_s);
	end_tx(s, k, &e);
}

/* 1.6 UnlockConnector on connector k during its transaction (1.6 §5.19):
 * the transaction ends first (UnlockCommand, the last energy reading), and
 * none starts again until the connector leaves the charging states. */
static void
end_for_unlock(struct ocpp_session *s, int k)
{
	struct conn_state *cs = &s->cs[k];
	const struct ocpp_connector *c = &s->station->conn[k];
	struct tx_end e = { "UnlockCommand", "Other", "UnlockCommand",
		wall_now_ms(), cs->tx_wh };

	if (!c->stale && c->energy_wh > e.wh)
		e.wh = c->energy_wh;
	cs->unlock_stop = true;
	end_tx(s, k, &e);
}

/* StatusNotification for connector k (1.6: also 0). */
static void
push_status(struct ocpp_session *s, int k)
{
	const struct ocpp_connector *c = &s->station->conn[k];
	char when[40];

	if (v16(s)) {
		push_call(s, "StatusNotification", json_pack("{sissssss}",
		    "connectorId", k,
		    "errorCode", c->status == OCPP_ST_FAULTED && c->fault_error ?
		    "OtherError" : "NoError",
		    "status", k == 0 && c->status != OCPP_ST_UNAVAILABLE &&
		    c->status != OCPP_ST_FAULTED ? "Available" :
		    ocpp_status_name16(c->status),
		    "timestamp", now_stamp(when, sizeof(when))));
	} else if (k > 0) {
		push_call(s, "StatusNotification", json_pack("{sssssisi}",
		    "timestamp", now_stamp(when, sizeof(when)),
		    "connectorStatus", status_name201(c->status),
		    "evseId", k, "connectorId", 1));
	}
}

/* Transactions of connector k from the charger's reading (see the rule
 * in docs/ocpp.md "Sessions"): only the charger ends a session.  A stale
 * reading (not read since start, or the charger silent) changes nothing
 * but may, after the configured maximum, end the transaction; the first
 * reading after it continues the transaction or ends it as it ended while
 * nobody watched. */
static void
scan_transaction(struct ocpp_session *s, int k)
{
	struct conn_state *cs = &s->cs[k];
	const struct ocpp_connector *c = &s->station->conn[k];
	bool active = tx_state(c->status);
	bool changed;

	if (c->stale) {
		if (!cs->stale || cs->stale_since_ms < 0) {
			cs->stale = true;
			cs->stale_since_ms = s->now_ms;
		}
		if (cs->tx_active && s->st.tx_unreachable_max_s > 0 &&
		    s->now_ms - cs->stale_since_ms >=
		    s->st.tx_unreachable_max_s * 1000LL)
			end_unreachable(s, k);
		return;
	}
	if (cs->stale) {
		cs->stale = false;
		if (cs->tx_active && !same_session(s, k))
			end_while_away(s, k);
		else if (cs->tx_active)
			log_info("connector %d: read again, its transaction "
			    "goes on", k);
		cs->restart_stale = false;
	}
	if (!active)
		cs->unlock_stop = false;
	if (cs->tx_active && active && !same_session(s, k))
		end_by_charger(s, k, true);
	if (s->reset_due && s->reset_hard) {
		/* Ended for a Hard / Immediate reset: nothing starts
		 * before the restart. */
	} else if (active && !cs->tx_active && !cs->unlock_stop) {
		if (v16(s))
			start_tx16(s, k);
		else
			start_tx201(s, k);
	} else if (!active && cs->tx_active && c->status != OCPP_ST_UNAVAILABLE &&
	    c->status != OCPP_ST_FAULTED) {
		/* Unavailable or Faulted while a session runs: reported,
		 * and the transaction goes on until the charger ends it. */
		end_by_charger(s, k, false);
	} else if (active && !v16(s) && cs->tx_status != c->status) {
		tx_event201(s, k, "Updated", "ChargingStateChanged", NULL,
		    false);
	}
	/* The last known state, written when it changes and, during a
	 * transaction, its energy every SEEN_SAVE_MS. */
	changed = cs->seen_status != c->status ||
	    strcmp(cs->seen_token, c->id_token) != 0;
	cs->seen_status = c->status;
	strlcpy_ok(cs->seen_token, c->id_token, sizeof(cs->seen_token));
	cs->seen_wh = c->energy_wh;
	if (active || cs->seen_ms == 0)
		cs->seen_ms = wall_now_ms();
	if (cs->tx_active && c->energy_wh > cs->tx_wh)
		cs->tx_wh = c->energy_wh;
	if (changed || (cs->tx_active && s->now_ms - cs->saved_ms >=
	    SEEN_SAVE_MS))
		save_conn(s, k);
}

/* Compares the model with what was reported: statuses and transactions. */
static void
scan_model(struct ocpp_session *s)
{
	for (int k = 0; k <= s->station->n_connectors; k++) {
		struct conn_state *cs = &s->cs[k];
		const struct ocpp_connector *c = &s->station->conn[k];
		bool changed = !cs->reported || cs->status != c->status ||
		    cs->fault_error != c->fault_error;

		if (k > 0)
			scan_transaction(s, k);
		if (!changed)
			continue;
		/* 2.0.1 reports connector states, not the 1.6 detail:
		 * Preparing -> Charging stays "Occupied". */
		if (s->boot == BOOT_ACCEPTED && s->link == LINK_UP &&
		    !s->statuses_due && (v16(s) || !cs->reported ||
		    strcmp(status_name201(cs->status),
		    status_name201(c->status)) != 0))
			push_status(s, k);
		cs->reported = true;
		cs->status = c->status;
		cs->fault_error = c->fault_error;
	}
}

/* MeterValues for connector k (1.6: with the transaction id when one is
 * open and known); context "Sample.Periodic" or "Trigger". */
static void
push_meter_values(struct ocpp_session *s, int k, const char *context)
{
	const struct conn_state *cs = &s->cs[k];
	json_t *p;

	if (v16(s)) {
		p = json_pack("{siso}", "connectorId", k, "meterValue",
		    meter_value(s, k, context));
		if (cs->tx_active) {
			char key[48], buf[32];

			snprintf(key, sizeof(key), "tx16.id.%" PRId64,
			    cs->local_tx);
			if (state_get(s, key, buf, sizeof(buf)) == 0)
				json_object_set_new(p, "transactionId",
				    json_integer(strtoll(buf, NULL, 10)));
		}
	} else {
		p = json_pack("{siso}", "evseId", k, "meterValue",
		    meter_value(s, k, context));
	}
	push_call(s, "MeterValues", p);
}

/* The first instant after wall_ms (epoch ms) that is a whole number of
 * intervals (ms) after midnight UTC; the intervals start again at each
 * midnight (1.6 §9.1.8 ClockAlignedDataInterval, 2.0.1 AlignedDataCtrlr). */
static int64_t
aligned_after(int64_t wall_ms, int64_t interval_ms)
{
	const int64_t day = 86400000;
	int64_t midnight = wall_ms - ((wall_ms % day) + day) % day;
	int64_t t = midnight + ((wall_ms - midnight) / interval_ms + 1) *
	    interval_ms;

	return t < midnight + day ? t : midnight + day;
}

/* Clock-aligned meter values, context Sample.Clock, for every connector
 * (and the site) with a valid reading.  They follow wall time: after a
 * clock step forward the boundary passed is sampled once (no burst), a
 * step back makes the next boundary the next one of the new time (none
 * is skipped nor repeated). */
void
session_aligned_tick(struct ocpp_session *s, int64_t wall_ms)
{
	int64_t iv = s->cfg[CI_ALIGNED_INTERVAL] * 1000LL;

	if (iv <= 0) {
		s->next_aligned_wall_ms = 0;
		return;
	}
	if (s->next_aligned_wall_ms != 0 && wall_ms >= s->next_aligned_wall_ms &&
	    s->boot == BOOT_ACCEPTED && s->link == LINK_UP)
		for (int k = 0; k <= s->station->n_connectors; k++)
			if (s->station->conn[k].meter_valid)
				push_meter_values(s, k, "Sample.Clock");
	if (s->next_aligned_wall_ms == 0 || wall_ms >= s->next_aligned_wall_ms ||
	    s->next_aligned_wall_ms - wall_ms > iv)
		s->next_aligned_wall_ms = aligned_after(wall_ms, iv);
}

/* 1.6: periodic MeterValues of connector k's transaction, a
 * transaction-related message (1.6 §3.7): into the durable queue, in order
 * with Start / Stop, online or not; the backend's transactionId is put in
 * when it is sent (from "_local"). */
static void
queue_meter16(struct ocpp_session *s, int k)
{
	json_t *p = json_pack("{sisosI}", "connectorId", k, "meterValue",
	    meter_value(s, k, "Sample.Periodic"), "_local",
	    (json_int_t)s->cs[k].local_tx);
	char *text = p != NULL ? json_dumps(p, JSON_COMPACT) : NULL;

	json_decref(p);
	if (text == NULL || s->q->enqueue(s->ud, "MeterValues", text, NULL,
	    NULL) != 0)
		log_warnx("ocpp: could not queue MeterValues for connector %d",
		    k);
	s->queue_empty = false;
	free(text);
}

/* Periodic meter values: MeterValues; inside a transaction queued even
 * while offline (1.6 MeterValues with the transaction, 2.0.1 Updated). */
static void
meter_tick(struct ocpp_session *s)
{
	for (int k = 0; k <= s->station->n_connectors; k++) {
		if (!s->station->conn[k].meter_valid)
			continue;
		if (k > 0 && s->cs[k].tx_active) {
			if (v16(s))
				queue_meter16(s, k);
			else
				tx_event201(s, k, "Updated",
				    "MeterValuePeriodic", NULL, true);
			continue;
		}
		if (s->link != LINK_UP || s->boot != BOOT_ACCEPTED)
			continue;
		push_meter_values(s, k, "Sample.Periodic");
	}
}

/* ---- sending ---- */

/* Sends BootNotification with the station's identification. */
static void
send_boot(struct ocpp_session *s)
{
	const struct ocpp_station *st = s->station;
	char vendor[51], model[21], serial[26], fw[51];
	json_t *p;

	strlcpy_ok(model, st->model, sizeof(model));
	strlcpy_ok(serial, st->serial != NULL ? st->serial : "", sizeof(serial));
	strlcpy_ok(fw, st->firmware != NULL ? st->firmware : "", sizeof(fw));
	if (v16(s)) {
		strlcpy_ok(vendor, st->vendor, 21);	/* CiString20 */
		p = json_pack("{ssss}", "chargePointVendor", vendor,
		    "chargePointModel", model);
		if (serial[0] != '\0')
			json_object_set_new(p, "chargePointSerialNumber",
			    json_string(serial));
		if (fw[0] != '\0')
			json_object_set_new(p, "firmwareVersion", json_string(fw));
	} else {
		json_t *cs;

		strlcpy_ok(vendor, st->vendor, sizeof(vendor));
		cs = json_pack("{ssss}", "model", model, "vendorName", vendor);
		if (serial[0] != '\0')
			json_object_set_new(cs, "serialNumber", json_string(serial));
		if (fw[0] != '\0')
			json_object_set_new(cs, "firmwareVersion", json_string(fw));
		char why[32];

		/* B12: the first boot after the backend's Reset says so. */
		if (s->boot_trigger)
			strlcpy_ok(why, "Triggered", sizeof(why));
		else if (state_get(s, "boot.reason", why, sizeof(why)) != 0 ||
		    strcmp(why, "RemoteReset") != 0)
			strlcpy_ok(why, "PowerUp", sizeof(why));
		p = json_pack("{ssso}", "reason", why, "chargingStation", cs);
	}
	send_call(s, "BootNotification", p);
	json_decref(p);
	s->boot_trigger = false;
}

/* Prepares a queued message for sending; returns the payload to send or
 * NULL when it must be dropped (1.6 Stop of a Start that never got an id). */
static json_t *
prepare_queued(struct ocpp_session *s, const struct ocpp_queued *m)
{
	json_t *p = json_loads(m->payload, 0, NULL);
	json_t *local;

	if (p == NULL)
		return NULL;
	s->call.local_tx = 0;
	s->call.connector = (int)json_integer_value(json_object_get(p,
	    "connectorId"));
	s->call.tx_id[0] = '\0';
	if (json_object_get(p, "evse") != NULL) {
		const char *id = json_string_value(json_object_get(
		    json_object_get(p, "transactionInfo"), "transactionId"));

		s->call.connector = (int)json_integer_value(json_object_get(
		    json_object_get(p, "evse"), "id"));
		strlcpy_ok(s->call.tx_id, id != NULL ? id : "",
		    sizeof(s->call.tx_id));
	}
	local = json_object_get(p, "_local");
	if (local != NULL) {
		s->call.local_tx = json_integer_value(local);
		if (strcmp(m->action, "StopTransaction") == 0) {
			char key[48], buf[32];

			snprintf(key, sizeof(key), "tx16.id.%" PRId64,
			    s->call.local_tx);
			if (state_get(s, key, buf, sizeof(buf)) != 0) {
				json_decref(p);
				return NULL;
			}
			json_object_set_new(p, "transactionId",
			    json_integer(strtoll(buf, NULL, 10)));
		} else if (strcmp(m->action, "MeterValues") == 0) {
			/* With the id once the backend gave one (without,
			 * when its Start was given up). */
			char key[48], buf[32];

			snprintf(key, sizeof(key), "tx16.id.%" PRId64,
			    s->call.local_tx);
			if (state_get(s, key, buf, sizeof(buf)) == 0)
				json_object_set_new(p, "transactionId",
				    json_integer(strtoll(buf, NULL, 10)));
		}
		json_object_del(p, "_local");
	}
	return p;
}

/* Sends the oldest queued transaction message when its time has come. */
static bool
send_queued(struct ocpp_session *s)
{
	struct ocpp_queued m;
	json_t *p;
	int rc;

	/* The session is the only writer of the queue: once it is seen
	 * empty, the store is not asked again until something is queued. */
	if (s->q == NULL || s->queue_empty || s->now_ms < s->next_queue_try_ms)
		return false;
	memset(&m, 0, sizeof(m));
	rc = s->q->peek(s->ud, &m);
	if (rc != 0) {
		if (rc < 0)
			s->next_queue_try_ms = s->now_ms + 1000;
		else
			s->queue_empty = true;
		return false;
	}
	p = prepare_queued(s, &m);
	if (p == NULL) {
		log_warnx("ocpp: dropping queued %s %" PRId64 ": its transaction "
		    "was never registered", m.action, m.id);
		s->q->ack(s->ud, m.id, NULL, NULL);
		free(m.action);
		free(m.payload);
		return false;
	}
	send_call(s, m.action, p);
	json_decref(p);
	s->call.from_queue = true;
	s->call.queue_id = m.id;
	s->call.queue_attempts = m.attempts;
	free(m.action);
	free(m.payload);
	return true;
}

/* Sends the first waiting non-durable CALL (there must be one). */
static void
send_next_call(struct ocpp_session *s)
{
	struct out_call *c = s->calls_head;

	s->calls_head = c->next;
	if (s->calls_head == NULL)
		s->calls_tail = NULL;
	send_call(s, c->action, c->payload);
	s->call.from_queue = false;
	free(c->action);
	json_decref(c->payload);
	free(c);
}

/* Fills the free CALL slot: Boot until accepted, then waiting calls, then
 * the durable queue. */
static void
pump(struct ocpp_session *s)
{
	if (s->link != LINK_UP || s->call.active)
		return;
	if (s->boot != BOOT_ACCEPTED || s->boot_trigger) {
		if (s->now_ms >= s->next_boot_ms || s->boot_trigger) {
			send_boot(s);
		} else if (s->boot == BOOT_PENDING && s->calls_head != NULL &&
		    strcmp(s->calls_head->action, "NotifyReport") == 0) {
			/* B02.FR.02: the report the backend asked for goes
			 * out while the registration is pending. */
			send_next_call(s);
		}
		return;
	}
	/* Transaction messages are never starved by periodic meter values:
	 * a MeterValues waits while the durable queue has one to send. */
	if (s->calls_head != NULL &&
	    strcmp(s->calls_head->action, "MeterValues") == 0 &&
	    send_queued(s))
		return;
	if (s->calls_head != NULL) {
		send_next_call(s);
		return;
	}
	send_queued(s);
}

/* A queued message failed (CALLERROR or timeout): retry later or give up
 * after the configured attempts (1.6 §3.7 / 2.0.1 E13). */
static void
queued_failed(struct ocpp_session *s)
{
	int attempts = s->call.queue_attempts + 1;

	if (attempts >= s->cfg[CI_TX_ATTEMPTS]) {
		log_warnx("ocpp: giving up %s after %d attempts", s->call.action,
		    attempts);
		s->q->ack(s->ud, s->call.queue_id, NULL, NULL);
		s->next_queue_try_ms = s->now_ms;
		return;
	}
	s->q->set_attempts(s->ud, s->call.queue_id, attempts);
	/* 2.0.1 E13.FR.03: the interval grows with each attempt. */
	s->next_queue_try_ms = s->now_ms +
	    (int64_t)s->cfg[CI_TX_RETRY] * 1000 * attempts;
}

/* ---- responses to our CALLs ---- */

/* Applies the answer to BootNotification: status and interval. */
static void
on_boot_result(struct ocpp_session *s, json_t *p)
{
	const char *status = json_string_value(json_object_get(p, "status"));
	int interval = (int)json_integer_value(json_object_get(p, "interval"));

	if (strcmp(status, "Accepted") == 0) {
		bool first = s->boot != BOOT_ACCEPTED;

		s->boot = BOOT_ACCEPTED;
		if (first && s->q->state_set != NULL)
			s->q->state_set(s->ud, "boot.reason", "");
		if (interval > 0)
			s->cfg[CI_HEARTBEAT] = interval;
		s->next_heartbeat_ms = s->now_ms + s->cfg[CI_HEARTBEAT] * 1000LL;
		s->statuses_due = true;
		log_info("ocpp: registration accepted, heartbeat every %d s",
		    s->cfg[CI_HEARTBEAT]);
		if (first && s->cb->link_state != NULL)
			s->cb->link_state(s->ud, true, true);
		return;
	}
	s->boot = strcmp(status, "Pending") == 0 ? BOOT_PENDING : BOOT_REJECTED;
	s->next_boot_ms = s->now_ms + (interval > 0 ? interval :
	    s->st.boot_retry_s) * 1000LL;
	log_info("ocpp: registration %s, retry in %d s", status,
	    interval > 0 ? interval : s->st.boot_retry_s);
}

/* The backend answered status st (NULL: none) for the IdToken of
 * connector k's open transaction: with StopTransactionOnInvalidId /
 * StopTxOnInvalidId the charging is stopped and the transaction ends as
 * DeAuthorized when the charger ends it. */
static void
refused_token(struct ocpp_session *s, int k, const char *st)
{
	if (st == NULL || strcmp(st, "Accepted") == 0 ||
	    !s->cfg[CI_STOP_ON_INVALID] || s->cb->remote_stop == NULL)
		return;
	log_info("connector %d: the backend refused the transaction's IdToken "
	    "(%s): stopping", k, st);
	s->cs[k].deauthorized = true;
	s->cb->remote_stop(s->ud, k);
}

/* A CALLRESULT for the CALL in flight. */
static void
on_result(struct ocpp_session *s, struct ocpp_frame *f)
{
	const struct ocpp_action_spec *spec;
	enum ocpp_rpc_error e = OCPP_RPC_OK;
	char *cause = NULL;

	s->stats.results_received++;
	spec = ocpp_response_spec(s->st.version, s->call.action);
	if (spec != NULL)
		e = ocpp_validate_response(s->st.version, spec->fields,
		    f->payload, &cause);
	if (e != OCPP_RPC_OK) {
		log_warnx("ocpp: bad response to %s: %s", s->call.action, cause);
		free(cause);
		s->call.active = false;
		if (s->call.from_queue)
			queued_failed(s);
		else if (strcmp(s->call.action, "BootNotification") == 0)
			s->next_boot_ms = s->now_ms + s->st.boot_retry_s * 1000LL;
		return;
	}
	s->call.active = false;
	if (strcmp(s->call.action, "BootNotification") == 0) {
		on_boot_result(s, f->payload);
		return;
	}
	if (!s->call.from_queue)
		return;
	if (strcmp(s->call.action, "StartTransaction") == 0) {
		char key[48], val[32];
		json_int_t id = json_integer_value(json_object_get(f->payload,
		    "transactionId"));
		const char *st = json_string_value(json_object_get(
		    json_object_get(f->payload, "idTagInfo"), "status"));

		snprintf(key, sizeof(key), "tx16.id.%" PRId64, s->call.local_tx);
		snprintf(val, sizeof(val), "%" JSON_INTEGER_FORMAT, id);
		s->q->ack(s->ud, s->call.queue_id, key, val);
		if (s->call.connector > 0 &&
		    s->call.connector <= s->station->n_connectors &&
		    s->cs[s->call.connector].local_tx == s->call.local_tx)
			refused_token(s, s->call.connector, st);
	} else if (strcmp(s->call.action, "TransactionEvent") == 0) {
		/* 2.0.1: idTokenInfo of a Started / Ended event. */
		const char *st = json_string_value(json_object_get(
		    json_object_get(f->payload, "idTokenInfo"), "status"));

		s->q->ack(s->ud, s->call.queue_id, NULL, NULL);
		if (s->call.connector > 0 &&
		    s->call.connector <= s->station->n_connectors &&
		    s->cs[s->call.connector].tx_active &&
		    strcmp(s->cs[s->call.connector].tx_id, s->call.tx_id) == 0)
			refused_token(s, s->call.connector, st);
	} else if (strcmp(s->call.action, "StopTransaction") == 0) {
		char key[48];

		snprintf(key, sizeof(key), "tx16.id.%" PRId64, s->call.local_tx);
		s->q->ack(s->ud, s->call.queue_id, key, "");
	} else {
		s->q->ack(s->ud, s->call.queue_id, NULL, NULL);
	}
	s->next_queue_try_ms = s->now_ms;
}

/* ---- backend-initiated actions ---- */

/* Status of a simple {status} answer. */
static json_t *
status_payload(const char *status)
{
	return json_pack("{ss}", "status", status);
}

/* Accepted / Scheduled / Rejected of a callback result. */
static const char *
accept_name(enum ocpp_result r)
{
	return r == OCPP_ACCEPTED ? "Accepted" : r == OCPP_SCHEDULED ?
	    "Scheduled" : "Rejected";
}

/* First connector a remote start without a connector can use. */
static int
free_connector(const struct ocpp_session *s)
{
	for (int k = 1; k <= s->station->n_connectors; k++) {
		enum ocpp_conn_status st = s->station->conn[k].status;

		if ((st == OCPP_ST_AVAILABLE || st == OCPP_ST_PREPARING) &&
		    !s->cs[k].tx_active)
			return k;
	}
	return 0;
}

/* Remote start on connector k (0: the first free one).  Returns the
 * answer payload; caller decrefs. */
static json_t *
do_remote_start(struct ocpp_session *s, int k, const char *tag,
    const char *type, json_t *profile, int remote_start_id)
{
	char *pj = NULL;
	enum ocpp_result r = OCPP_REJECTED;

	if (k == 0)
		k = free_connector(s);
	if (k < 1 || k > s->station->n_connectors || s->cs[k].tx_active ||
	    s->cb->remote_start == NULL)
		return status_payload("Rejected");
	if (profile != NULL)
		pj = json_dumps(profile, JSON_COMPACT);
	r = s->cb->remote_start(s->ud, k, tag, pj);
	free(pj);
	if (r == OCPP_ACCEPTED) {
		s->cs[k].remote_start = true;
		s->cs[k].remote_start_id = remote_start_id;
		strlcpy_ok(s->cs[k].remote_id_tag, tag,
		    sizeof(s->cs[k].remote_id_tag));
		strlcpy_ok(s->cs[k].remote_id_type, type != NULL ? type :
		    "Central", sizeof(s->cs[k].remote_id_type));
	}
	return status_payload(r == OCPP_ACCEPTED ? "Accepted" : "Rejected");
}

/* Connector whose 1.6 transaction has the backend id, or 0. */
static int
connector_of_tx16(struct ocpp_session *s, json_int_t id)
{
	for (int k = 1; k <= s->station->n_connectors; k++) {
		char key[48], buf[32];

		if (!s->cs[k].tx_active)
			continue;
		snprintf(key, sizeof(key), "tx16.id.%" PRId64, s->cs[k].local_tx);
		if (state_get(s, key, buf, sizeof(buf)) == 0 &&
		    strtoll(buf, NULL, 10) == id)
			return k;
	}
	return 0;
}

/* Remote stop of connector k (0: no such transaction).  Returns the
 * answer payload; caller decrefs. */
static json_t *
do_remote_stop(struct ocpp_session *s, int k)
{
	enum ocpp_result r;

	if (k == 0 || s->cb->remote_stop == NULL)
		return status_payload("Rejected");
	r = s->cb->remote_stop(s->ud, k);
	if (r == OCPP_ACCEPTED)
		s->cs[k].remote_stop = true;
	return status_payload(r == OCPP_ACCEPTED ? "Accepted" : "Rejected");
}

/* FirmwareStatusNotification with the last status. */
static void
push_firmware_status(struct ocpp_session *s)
{
	json_t *p = json_pack("{ss}", "status", s->fw_status);

	/* 2.0.1 L01.FR.20: requestId when the status is not Idle. */
	if (!v16(s) && strcmp(s->fw_status, "Idle") != 0)
		json_object_set_new(p, "requestId", json_integer(s->fw_request_id));
	push_call(s, "FirmwareStatusNotification", p);
}

/* TriggerMessage: queue what was asked for (after the answer). */
static const char *
do_trigger(struct ocpp_session *s, const char *what, int k, bool has_k)
{
	if (has_k && (k < 0 || k > s->station->n_connectors))
		return "Rejected";
	if (strcmp(what, "BootNotification") == 0) {
		/* F06.FR.17: once accepted, 2.0.1 does not boot again on
		 * request (1.6 has no such rule: it sends one). */
		if (!v16(s) && s->boot == BOOT_ACCEPTED)
			return "Rejected";
		s->boot_trigger = true;
	} else if (strcmp(what, "Heartbeat") == 0) {
		push_call(s, "Heartbeat", json_object());
	} else if (strcmp(what, "StatusNotification") == 0) {
		for (int i = has_k ? k : (v16(s) ? 0 : 1);
		    i <= (has_k ? k : s->station->n_connectors); i++)
			push_status(s, i);
	} else if (strcmp(what, "MeterValues") == 0) {
		/* Only fresh readings: no made-up zeros. */
		if (has_k && !s->station->conn[k].meter_valid)
			return "Rejected";
		for (int i = has_k ? k : 0;
		    i <= (has_k ? k : s->station->n_connectors); i++)
			if (s->station->conn[i].meter_valid)
				push_meter_values(s, i, "Trigger");
	} else if (strcmp(what, "FirmwareStatusNotification") == 0) {
		push_firmware_status(s);
	} else if (strcmp(what, "TransactionEvent") == 0) {
		bool any = false;

		for (int i = has_k ? k : 1;
		    i <= (has_k ? k : s->station->n_connectors); i++)
			if (i > 0 && s->cs[i].tx_active) {
				tx_event201(s, i, "Updated", "Trigger", NULL, true);
				any = true;
			}
		return any ? "Accepted" : "Rejected";
	} else {
		return "NotImplemented";
	}
	return "Accepted";
}

/* True while any connector has an open transaction. */
static bool
any_tx_open(const struct ocpp_session *s)
{
	for (int k = 1; k <= s->station->n_connectors; k++)
		if (s->cs[k].tx_active)
			return true;
	return false;
}

/* A Hard / Immediate reset: each open transaction's charging is stopped
 * and the transaction ends now (1.6 HardReset, 2.0.1 ImmediateReset,
 * trigger ResetCommand) before the restart. */
static void
end_all_for_reset(struct ocpp_session *s)
{
	for (int k = 1; k <= s->station->n_connectors; k++) {
		const struct ocpp_connector *c = &s->station->conn[k];
		struct conn_state *cs = &s->cs[k];
		struct tx_end e = { "HardReset", "ImmediateReset",
			"ResetCommand", wall_now_ms(), cs->tx_wh };

		if (!cs->tx_active)
			continue;
		if (!c->stale && c->energy_wh > e.wh)
			e.wh = c->energy_wh;
		if (s->cb->remote_stop != NULL)
			(void)s->cb->remote_stop(s->ud, k);
		cs->remote_stop = false;
		end_tx(s, k, &e);
	}
}

/* Handles a validated CALL; returns the CALLRESULT payload, or NULL with
 * *err set for a CALLERROR. */
static json_t *
handle_call(struct ocpp_session *s, const char *action, json_t *p,
    enum ocpp_rpc_error *err)
{
	const char *a = action;
	int n = s->station->n_connectors;

	if (strcmp(a, "Reset") == 0) {
		const char *type = json_string_value(json_object_get(p, "type"));

		if (!v16(s) && json_object_get(p, "evseId") != NULL)
			return status_payload("Rejected");
		if (s->cb->reset == NULL)
			return status_payload("Rejected");
		s->reset_due = true;
		s->reset_hard = strcmp(type, "Hard") == 0 ||
		    strcmp(type, "Immediate") == 0;
		if (s->reset_hard) {
			end_all_for_reset(s);
			return status_payload("Accepted");
		}
		/* Soft / OnIdle waits for the transactions to end (2.0.1
		 * B12.FR.02 answers Scheduled; 1.6 knows only Accepted). */
		return status_payload(!v16(s) && any_tx_open(s) ?
		    "Scheduled" : "Accepted");
	}
	if (strcmp(a, "ChangeAvailability") == 0) {
		int k;
		bool op;

		if (v16(s)) {
			k = (int)json_integer_value(json_object_get(p, "connectorId"));
			op = strcmp(json_string_value(json_object_get(p, "type")),
			    "Operative") == 0;
		} else {
			json_t *evse = json_object_get(p, "evse");

			k = evse != NULL ? (int)json_integer_value(
			    json_object_get(evse, "id")) : 0;
			op = strcmp(json_string_value(json_object_get(p,
			    "operationalStatus")), "Operative") == 0;
		}
		if (k < 0 || k > n || s->cb->change_availability == NULL)
			return status_payload("Rejected");
		return status_payload(accept_name(s->cb->change_availability(
		    s->ud, k, op)));
	}
	if (strcmp(a, "UnlockConnector") == 0) {
		int k = (int)json_integer_value(json_object_get(p,
		    v16(s) ? "connectorId" : "evseId"));
		enum ocpp_result r;

		if (k < 1 || k > n)	/* the schemas allow any integer */
			return status_payload(v16(s) ? "NotSupported" :
			    "UnknownConnector");
		if (!v16(s) && json_integer_value(json_object_get(p,
		    "connectorId")) != 1)
			return status_payload("UnknownConnector");
		if (!v16(s) && s->cs[k].tx_active)
			return status_payload("OngoingAuthorizedTransaction");
		/* 1.6 §5.19: a transaction on the connector ends first. */
		if (v16(s) && s->cs[k].tx_active && s->cb->unlock != NULL) {
			end_for_unlock(s, k);
		}
		if (s->cb->unlock == NULL)
			return status_payload(v16(s) ? "NotSupported" :
			    "UnlockFailed");
		r = s->cb->unlock(s->ud, k);
		return status_payload(r == OCPP_ACCEPTED ? "Unlocked" :
		    r == OCPP_NOT_SUPPORTED && v16(s) ? "NotSupported" :
		    "UnlockFailed");
	}
	/* No transaction while the registration is pending (2.0.1
	 * B02.FR.05; 1.6 §4.2 allows only configuration and reports). */
	if (s->boot != BOOT_ACCEPTED &&
	    (strcmp(a, "RemoteStartTransaction") == 0 ||
	    strcmp(a, "RequestStartTransaction") == 0))
		return status_payload("Rejected");
	if (strcmp(a, "RemoteStartTransaction") == 0)
		return do_remote_start(s, (int)json_integer_value(
		    json_object_get(p, "connectorId")),
		    json_string_value(json_object_get(p, "idTag")), NULL,
		    json_object_get(p, "chargingProfile"), 0);
	if (strcmp(a, "RequestStartTransaction") == 0)
		return do_remote_start(s, (int)json_integer_value(
		    json_object_get(p, "evseId")),
		    json_string_value(json_object_get(json_object_get(p,
		    "idToken"), "idToken")),
		    json_string_value(json_object_get(json_object_get(p,
		    "idToken"), "type")),
		    json_object_get(p, "chargingProfile"),
		    (int)json_integer_value(json_object_get(p, "remoteStartId")));
	if (strcmp(a, "RemoteStopTransaction") == 0)
		return do_remote_stop(s, connector_of_tx16(s, json_integer_value(
		    json_object_get(p, "transactionId"))));
	if (strcmp(a, "RequestStopTransaction") == 0) {
		const char *id = json_string_value(json_object_get(p,
		    "transactionId"));

		for (int k = 1; k <= n; k++)
			if (s->cs[k].tx_active && strcmp(s->cs[k].tx_id, id) == 0)
				return do_remote_stop(s, k);
		return status_payload("Rejected");
	}
	if (strcmp(a, "TriggerMessage") == 0) {
		json_t *jk = v16(s) ? json_object_get(p, "connectorId") :
		    json_object_get(json_object_get(p, "evse"), "id");

		return status_payload(do_trigger(s, json_string_value(
		    json_object_get(p, "requestedMessage")),
		    (int)json_integer_value(jk), jk != NULL));
	}
	if (strcmp(a, "GetConfiguration") == 0)
		return ocpp_get_configuration(s, p);
	if (strcmp(a, "ChangeConfiguration") == 0)
		return ocpp_change_configuration(s, p);
	if (strcmp(a, "GetVariables") == 0)
		return ocpp_get_variables(s, p);
	if (strcmp(a, "SetVariables") == 0)
		return ocpp_set_variables(s, p);
	if (strcmp(a, "GetBaseReport") == 0) {
		const char *base = json_string_value(json_object_get(p,
		    "reportBase"));

		push_call(s, "NotifyReport", ocpp_notify_report(s,
		    (int)json_integer_value(json_object_get(p, "requestId")),
		    base));
		return status_payload("Accepted");
	}
	if (strcmp(a, "DataTransfer") == 0)
		/* No vendor extensions are implemented. */
		return status_payload("UnknownVendorId");
	if (strcmp(a, "UpdateFirmware") == 0) {
		const char *url;
		int64_t when = 0;
		enum ocpp_result r = OCPP_REJECTED;

		if (v16(s)) {
			url = json_string_value(json_object_get(p, "location"));
			parse_rfc3339(json_string_value(json_object_get(p,
			    "retrieveDate")), &when);
		} else {
			json_t *fw = json_object_get(p, "firmware");

			s->fw_request_id = (int)json_integer_value(json_object_get(p,
			    "requestId"));
			url = json_string_value(json_object_get(fw, "location"));
			parse_rfc3339(json_string_value(json_object_get(fw,
			    "retrieveDateTime")), &when);
		}
		if (s->cb->update_firmware != NULL)
			r = s->cb->update_firmware(s->ud, url, when);
		if (v16(s))
			return json_object();	/* UpdateFirmware.conf is {} */
		return status_payload(r == OCPP_ACCEPTED ? "Accepted" :
		    "Rejected");
	}
	/* Charging profiles and the rest: the daemon's hook. */
	if (s->cb->profile_action != NULL) {
		char *text = json_dumps(p, JSON_COMPACT), *out;
		json_t *res = NULL;

		*err = OCPP_RPC_NOT_SUPPORTED;
		out = s->cb->profile_action(s->ud, a, text, err);
		free(text);
		if (out != NULL) {
			res = json_loads(out, 0, NULL);
			free(out);
			if (res == NULL)
				*err = OCPP_RPC_INTERNAL;
		}
		return res;
	}
	*err = OCPP_RPC_NOT_SUPPORTED;
	return NULL;
}

/* An inbound CALL: check, handle, answer. */
static void
on_call(struct ocpp_session *s, struct ocpp_frame *f)
{
	const struct ocpp_action_spec *spec;
	enum ocpp_rpc_error e;
	char *cause = NULL;
	json_t *res;

	s->stats.calls_received++;
	spec = ocpp_action_spec(s->st.version, f->action);
	if (spec == NULL) {
		bool known = ocpp_action_known(s->st.version, f->action);
		char msg[120];

		snprintf(msg, sizeof(msg), "%s %s", f->action, known ?
		    "is not supported by this charging station" :
		    "is not an action of this OCPP version");
		reply_error(s, f->id, known ? OCPP_RPC_NOT_SUPPORTED :
		    OCPP_RPC_NOT_IMPLEMENTED, msg);
		return;
	}
	e = ocpp_validate(s->st.version, spec->fields, f->payload, &cause);
	if (e != OCPP_RPC_OK) {
		char esc[300];

		log_escape(cause, strlen(cause), esc, sizeof(esc));
		log_warnx("ocpp: %s rejected: %s", f->action, esc);
		reply_error(s, f->id, e, cause);
		free(cause);
		return;
	}
	e = OCPP_RPC_OK;
	res = handle_call(s, f->action, f->payload, &e);
	if (res == NULL) {
		reply_error(s, f->id, e == OCPP_RPC_OK ? OCPP_RPC_INTERNAL : e,
		    "");
		return;
	}
	reply(s, f->id, res);
}

void
session_reject_frame(struct ocpp_session *s, const char *id, const char *text,
    size_t len, enum ocpp_rpc_error e, const char *cause)
{
	char esc[300], peeked[OCPP_MSG_ID_MAX + 1];

	log_escape(cause, strlen(cause), esc, sizeof(esc));
	log_warnx("ocpp: malformed frame: %s", esc);
	if (id[0] == '\0') {
		/* Only a CALL is answered: a broken answer to our call is
		 * not. */
		if (ocpp_frame_peek_id(text, len, peeked) != OCPP_CALL)
			peeked[0] = '\0';
		id = peeked;
	}
	/* 1.6 has no "-1" convention: without an id, nothing to answer. */
	if (id[0] != '\0' || !v16(s))
		reply_error(s, id, e, cause);
}

/* One complete message from the backend: parse, dispatch, answer. */
void
session_receive(struct ocpp_session *s, const char *text, size_t len)
{
	struct ocpp_frame f;
	enum ocpp_rpc_error e;
	char *cause = NULL;

	if (log_debug_enabled("ocpp")) {
		char esc[512];

		log_debug("ocpp", "<- %s", log_escape(text, len, esc, sizeof(esc)));
	}
	if (ocpp_frame_parse(s->st.version, text, len, &f, &e, &cause) != 0) {
		session_reject_frame(s, f.id, text, len, e, cause);
		free(cause);
		return;
	}
	switch (f.type) {
	case OCPP_CALL:
		on_call(s, &f);
		break;
	case OCPP_CALLRESULT:
		if (s->call.active && strcmp(f.id, s->call.id) == 0)
			on_result(s, &f);
		else
			log_debug("ocpp", "result for unknown call ignored");
		break;
	case OCPP_CALLERROR:
		if (s->call.active && strcmp(f.id, s->call.id) == 0) {
			char esc[300], code[80];

			s->stats.errors_received++;
			log_escape(f.error_desc, strlen(f.error_desc), esc,
			    sizeof(esc));
			log_escape(f.error_code, strlen(f.error_code), code,
			    sizeof(code));
			log_warnx("ocpp: %s answered %s (%s)", s->call.action,
			    code, esc);
			s->call.active = false;
			if (s->call.from_queue)
				queued_failed(s);
			else if (strcmp(s->call.action, "BootNotification") == 0)
				s->next_boot_ms = s->now_ms +
				    s->st.boot_retry_s * 1000LL;
		}
		break;
	}
	ocpp_frame_clear(&f);
	pump(s);
}

/* ---- link ---- */

/* The websocket is open: boot or report the statuses again. */
void
session_link_up(struct ocpp_session *s)
{
	s->stats.connects++;
	s->backoff_attempt = 0;
	s->call.active = false;
	log_debug("ocpp", "connected to %s:%d%s", s->url_host, s->url_port,
	    s->url_path);
	if (s->boot == BOOT_ACCEPTED) {
		/* No new BootNotification on reconnect (part 4 §5.3);
		 * report the statuses again. */
		s->statuses_due = true;
		s->next_queue_try_ms = s->now_ms;
		if (s->cb->link_state != NULL)
			s->cb->link_state(s->ud, true, true);
	} else {
		s->next_boot_ms = s->now_ms;
		if (s->cb->link_state != NULL)
			s->cb->link_state(s->ud, true, false);
	}
	pump(s);
}

/* The websocket is gone: drop what is not durable, schedule a reconnect. */
void
session_link_down(struct ocpp_session *s, const char *why)
{
	double r;
	uint32_t rnd = 0;
	int64_t wait_ms;

	if (s->link == LINK_DOWN)
		return;
	if (s->link == LINK_UP) {
		s->stats.disconnects++;
		if (s->cb->link_state != NULL)
			s->cb->link_state(s->ud, false, s->boot == BOOT_ACCEPTED);
	}
	s->link = LINK_DOWN;
	s->call.active = false;
	drop_calls(s);
	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		rnd = (uint32_t)s->now_ms;
	r = (double)rnd / 4294967296.0;
	wait_ms = ocpp_backoff_ms(s->backoff_attempt, s->cfg[CI_BACKOFF_MIN],
	    s->cfg[CI_BACKOFF_RANDOM], s->cfg[CI_BACKOFF_REPEAT], r);
	/* A minimum of 0 s would retry in a tight loop: never under 1 s. */
	if (wait_ms < 1000)
		wait_ms = 1000;
	s->next_connect_ms = s->now_ms + wait_ms;
	log_debug("ocpp", "link down (%s), reconnect in %" PRId64 " ms", why,
	    s->next_connect_ms - s->now_ms);
	s->backoff_attempt++;
}

/* ---- public ---- */

/* Takes connector k's durable record: the earlier form ("local id" in 1.6,
 * "id seqNo" in 2.0.1: an open transaction and nothing else) or the JSON
 * record conn_record() writes. */
static void
load_record(struct ocpp_session *s, int k, const char *buf)
{
	struct conn_state *cs = &s->cs[k];
	json_t *o, *tx;
	const char *st;

	if (buf[0] != '{') {
		char *sp = strchr(buf, ' ');

		cs->tx_active = true;
		cs->seen_status = OCPP_ST_CHARGING;
		if (v16(s)) {
			cs->local_tx = strtoll(buf, NULL, 10);
		} else if (sp != NULL) {
			strlcpy_ok(cs->tx_id, buf, sizeof(cs->tx_id));
			cs->tx_id[sp - buf] = '\0';
			cs->seq_no = atoi(sp + 1);
		}
		cs->tx_status = OCPP_ST_CHARGING;
		cs->tx_token_central = true;
		strlcpy_ok(cs->tx_token, s->st.default_id_tag,
		    sizeof(cs->tx_token));
		strlcpy_ok(cs->tx_token_type, "Central",
		    sizeof(cs->tx_token_type));
		return;
	}
	o = json_loads(buf, 0, NULL);
	if (o == NULL) {
		log_warnx("ocpp: connector %d: saved state unreadable, ignored",
		    k);
		return;
	}
	st = json_string_value(json_object_get(o, "status"));
	if (st == NULL || ocpp_status_parse(st, &cs->seen_status) != 0)
		cs->seen_status = OCPP_ST_AVAILABLE;
	strlcpy_ok(cs->seen_token, json_string_value(json_object_get(o,
	    "token")) != NULL ? json_string_value(json_object_get(o, "token")) :
	    "", sizeof(cs->seen_token));
	cs->seen_wh = json_number_value(json_object_get(o, "wh"));
	cs->seen_ms = json_integer_value(json_object_get(o, "seen"));
	tx = json_object_get(o, "tx");
	if (tx != NULL) {
		cs->tx_active = true;
		if (v16(s)) {
			cs->local_tx = json_integer_value(tx);
		} else {
			strlcpy_ok(cs->tx_id, json_string_value(tx) != NULL ?
			    json_string_value(tx) : "", sizeof(cs->tx_id));
			cs->seq_no = (int)json_integer_value(json_object_get(o,
			    "seq"));
			st = json_string_value(json_object_get(o, "txst"));
			if (st == NULL || ocpp_status_parse(st,
			    &cs->tx_status) != 0)
				cs->tx_status = OCPP_ST_CHARGING;
		}
		st = json_string_value(json_object_get(o, "txtoken"));
		strlcpy_ok(cs->tx_token, st != NULL ? st : "",
		    sizeof(cs->tx_token));
		cs->tx_token_central = json_is_true(json_object_get(o,
		    "central"));
		st = json_string_value(json_object_get(o, "type"));
		strlcpy_ok(cs->tx_token_type, st != NULL ? st :
		    cs->tx_token_central ? "Central" : "ISO14443",
		    sizeof(cs->tx_token_type));
		cs->tx_wh = json_number_value(json_object_get(o, "txwh"));
	}
	json_decref(o);
}

/* Loads every connector's last known state and open transaction from the
 * durable state; the station's stale connectors show that state until
 * they are read.  Notes whether the last run stopped cleanly. */
static void
load_state(struct ocpp_session *s)
{
	char buf[512];

	s->unclean_stop = state_get(s, "run", buf, sizeof(buf)) == 0 &&
	    strcmp(buf, "running") == 0;
	if (s->q->state_set != NULL)
		s->q->state_set(s->ud, "run", "running");
	for (int k = 1; k <= s->station->n_connectors; k++) {
		char key[32];
		struct conn_state *cs = &s->cs[k];
		struct ocpp_connector *c = &s->station->conn[k];

		conn_key(key, sizeof(key), s, k);
		if (state_get(s, key, buf, sizeof(buf)) != 0 || buf[0] == '\0')
			continue;
		load_record(s, k, buf);
		if (c->stale) {
			cs->stale = cs->restart_stale = true;
			cs->stale_since_ms = -1; /* from the first tick */
			c->status = cs->seen_status;
			c->energy_wh = cs->tx_active && cs->tx_wh > cs->seen_wh ?
			    cs->tx_wh : cs->seen_wh;
			strlcpy_ok(c->id_token, cs->seen_token,
			    sizeof(c->id_token));
		}
		if (cs->tx_active)
			log_info("connector %d: transaction open from before the "
			    "restart, kept until the charger is read", k);
	}
}

struct ocpp_session *
ocpp_session_new(struct lws_context *ctx, const struct ocpp_settings *st,
    struct ocpp_station *station, const struct ocpp_callbacks *cb,
    const struct ocpp_queue_ops *q, void *ud, char **cause)
{
	struct ocpp_session *s;

	if (ocpp_settings_check(st, cause) != 0)
		return NULL;
	if (station == NULL || station->n_connectors < 0 ||
	    station->conn == NULL || station->vendor == NULL ||
	    station->model == NULL) {
		xasprintf(cause, "station model incomplete");
		return NULL;
	}
	if (q == NULL || q->enqueue == NULL || q->peek == NULL ||
	    q->ack == NULL || q->set_attempts == NULL) {
		xasprintf(cause, "durable queue operations missing");
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->st = *st;
	s->station = station;
	s->cb = cb;
	s->q = q;
	s->ud = ud;
	s->ctx = ctx;
	if (transport_prepare(s, cause) != 0) {
		ocpp_session_free(s);
		return NULL;
	}
	s->cfg[CI_HEARTBEAT] = st->heartbeat_interval_s;
	s->cfg[CI_METER_INTERVAL] = st->meter_interval_s;
	s->cfg[CI_ALIGNED_INTERVAL] = st->aligned_interval_s;
	s->cfg[CI_SAMPLED_MEASURANDS] = st->sampled_measurands;
	s->cfg[CI_ALIGNED_MEASURANDS] = st->aligned_measurands;
	s->cfg[CI_STOP_MEASURANDS] = st->stop_measurands;
	s->cfg[CI_TX_ATTEMPTS] = st->tx_attempts;
	s->cfg[CI_TX_RETRY] = st->tx_retry_interval_s;
	s->cfg[CI_PING] = st->ping_interval_s;
	s->cfg[CI_BACKOFF_MIN] = st->retry_backoff_min_s;
	s->cfg[CI_BACKOFF_RANDOM] = st->retry_backoff_random_s;
	s->cfg[CI_BACKOFF_REPEAT] = st->retry_backoff_repeat;
	s->cfg[CI_CALL_TIMEOUT] = st->call_timeout_s;
	s->cfg[CI_STOP_ON_INVALID] = st->stop_tx_on_invalid_id != 0;
	if (getrandom(&s->nonce, sizeof(s->nonce), 0) != sizeof(s->nonce))
		s->nonce = (uint32_t)wall_now_ms();
	s->cs = xcalloc((size_t)station->n_connectors + 1, sizeof(*s->cs));
	strlcpy_ok(s->fw_status, "Idle", sizeof(s->fw_status));
	load_state(s);
	s->link = LINK_DOWN;
	s->next_connect_ms = 0;
	return s;
}

void
ocpp_session_free(struct ocpp_session *s)
{
	if (s == NULL)
		return;
	if (s->q != NULL && s->q->state_set != NULL)
		s->q->state_set(s->ud, "run", "stopped");
	transport_close(s);
	drop_calls(s);
	free(s->url_host);
	free(s->url_path);
	if (s->auth_header != NULL) {
		explicit_bzero(s->auth_header, strlen(s->auth_header));
		free(s->auth_header);
	}
	free(s->rx);
	free(s->cs);
	free(s);
}

void
ocpp_session_service(struct ocpp_session *s, int64_t now_ms)
{
	s->now_ms = now_ms;
	if (s->link == LINK_DOWN && s->ctx != NULL &&
	    now_ms >= s->next_connect_ms)
		transport_connect(s);
	/* Response timeout of the CALL in flight. */
	if (s->call.active &&
	    now_ms - s->call.sent_ms >= s->cfg[CI_CALL_TIMEOUT] * 1000LL) {
		log_warnx("ocpp: no answer to %s within %d s", s->call.action,
		    s->cfg[CI_CALL_TIMEOUT]);
		s->stats.timeouts++;
		s->call.active = false;
		if (s->call.from_queue)
			queued_failed(s);
		else if (strcmp(s->call.action, "BootNotification") == 0)
			s->next_boot_ms = now_ms + s->st.boot_retry_s * 1000LL;
	}
	scan_model(s);
	if (s->boot == BOOT_ACCEPTED && s->link == LINK_UP) {
		if (s->statuses_due) {
			s->statuses_due = false;
			for (int k = v16(s) ? 0 : 1; k <= s->station->n_connectors;
			    k++) {
				push_status(s, k);
				s->cs[k].reported = true;
				s->cs[k].status = s->station->conn[k].status;
				s->cs[k].fault_error =
				    s->station->conn[k].fault_error;
			}
		}
		if (now_ms >= s->next_heartbeat_ms) {
			if (!call_waiting(s, "Heartbeat"))
				push_call(s, "Heartbeat", json_object());
			s->next_heartbeat_ms = now_ms +
			    s->cfg[CI_HEARTBEAT] * 1000LL;
		}
	}
	if (s->cfg[CI_METER_INTERVAL] > 0 && now_ms >= s->next_meter_ms) {
		if (s->next_meter_ms != 0)
			meter_tick(s);
		s->next_meter_ms = now_ms + s->cfg[CI_METER_INTERVAL] * 1000LL;
	}
	session_aligned_tick(s, wall_now_ms());
	pump(s);
	if (s->reset_due && s->tx_head == NULL &&
	    (s->reset_hard || !any_tx_open(s))) {
		s->reset_due = false;
		if (s->q->state_set != NULL)
			s->q->state_set(s->ud, "boot.reason", "RemoteReset");
		log_debug("ocpp", "%s reset requested by the backend",
		    s->reset_hard ? "hard" : "soft");
		s->cb->reset(s->ud, s->reset_hard);
	}
}

void
ocpp_session_disconnect(struct ocpp_session *s)
{
	transport_close(s);
	session_link_down(s, "closed locally");
}

bool
ocpp_session_online(const struct ocpp_session *s)
{
	return s->link == LINK_UP;
}

bool
ocpp_session_accepted(const struct ocpp_session *s)
{
	return s->boot == BOOT_ACCEPTED;
}

bool
ocpp_session_tx_open(const struct ocpp_session *s, int k)
{
	return k >= 1 && k <= s->station->n_connectors && s->cs[k].tx_active;
}

bool
ocpp_session_transaction(const struct ocpp_session *s, int k, char *buf,
    size_t len)
{
	buf[0] = '\0';
	if (k < 1 || k > s->station->n_connectors || !s->cs[k].tx_active)
		return false;
	if (v16(s)) {
		char key[48];

		snprintf(key, sizeof(key), "tx16.id.%" PRId64,
		    s->cs[k].local_tx);
		if (state_get(s, key, buf, len) != 0)
			buf[0] = '\0';
	} else {
		strlcpy_ok(buf, s->cs[k].tx_id, len);
	}
	return buf[0] != '\0';
}

int
ocpp_session_send_call(struct ocpp_session *s, const char *action,
    const char *payload_json)
{
	json_t *p;

	if (s->link != LINK_UP || s->boot != BOOT_ACCEPTED)
		return -1;
	p = json_loads(payload_json, 0, NULL);
	if (p == NULL || !json_is_object(p)) {
		json_decref(p);
		return -1;
	}
	push_call(s, action, p);
	pump(s);
	return 0;
}

int
ocpp_session_firmware_status(struct ocpp_session *s, const char *status)
{
	static const char *const st16[] = { "Downloaded", "DownloadFailed",
		"Downloading", "Idle", "InstallationFailed", "Installing",
		"Installed", NULL };
	static const char *const st201[] = { "Downloaded", "DownloadFailed",
		"Downloading", "DownloadScheduled", "DownloadPaused", "Idle",
		"InstallationFailed", "Installing", "Installed",
		"InstallRebooting", "InstallScheduled",
		"InstallVerificationFailed", "InvalidSignature",
		"SignatureVerified", NULL };
	const char *const *p;

	for (p = v16(s) ? st16 : st201; *p != NULL; p++)
		if (strcmp(*p, status) == 0)
			break;
	if (*p == NULL)
		return -1;
	strlcpy_ok(s->fw_status, status, sizeof(s->fw_status));
	/* Waits in line until the registration is accepted. */
	if (s->link == LINK_UP) {
		push_firmware_status(s);
		pump(s);
	}
	return 0;
}

void
ocpp_session_stats(const struct ocpp_session *s, struct ocpp_stats *out)
{
	*out = s->stats;
}
