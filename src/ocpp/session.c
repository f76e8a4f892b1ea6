/* The OCPP session: settings, life cycle, registration (BootNotification),
 * heartbeat, the send queue and its pump, the answers to our CALLs and the
 * frames received, for 1.6 and 2.0.1.  Status, meter values and
 * transactions are in transactions.c, the CSMS's CALLs in calls.c. */
#include "config.h"

#include <inttypes.h>
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
	st->stop_aligned_measurands = 0;
	st->start_measurands = OCPP_MEAS_ALL;
	st->reset_retries = 0;
	st->tx_attempts = 3;
	st->tx_retry_interval_s = 60;
	st->default_id_tag = "gateway";
	st->stop_tx_on_invalid_id = 1;
	st->local_pre_authorize = 0;
	st->local_authorize_offline = 1;
	st->auth_cache_enabled = 1;
	st->local_list_enabled = 1;
	st->offline_tx_unknown_id = 1;
	st->unlock_on_ev_disconnect = 1;
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
	RANGE(stop_aligned_measurands, 0, OCPP_MEAS_ALL,
	    "stop aligned measurands");
	RANGE(start_measurands, 0, OCPP_MEAS_ALL, "start measurands");
	RANGE(time_source, OCPP_TIME_AUTO, OCPP_TIME_SYSTEM, "time source");
	RANGE(reset_retries, 0, OCPP_RESET_RETRIES_MAX, "reset retries");
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

bool
session_v16(const struct ocpp_session *s)
{
	return s->st.version == OCPP_V16;
}

void
session_send_frame(struct ocpp_session *s, const char *text)
{
	if (text == NULL) {
		log_warnx("ocpp: a frame could not be built (out of memory): "
		    "not sent");
		return;
	}
	transport_send(s, text);
}

/* Sends text and frees it (NULL: see session_send_frame). */
static void
send_text(struct ocpp_session *s, char *text)
{
	session_send_frame(s, text);
	free(text);
}

/* Answers a CALL with a CALLRESULT; consumes payload. */
void
session_reply(struct ocpp_session *s, const char *id, json_t *payload)
{
	send_text(s, ocpp_build_result(id, payload));
	json_decref(payload);
}

/* Answers a CALL with a CALLERROR. */
void
session_reply_error(struct ocpp_session *s, const char *id, enum ocpp_rpc_error e,
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
	free(oldest->text);
	free(oldest);
	s->stats.meter_values_dropped++;
	log_warnx("ocpp: backend slow: oldest waiting MeterValues dropped "
	    "(%" PRIu64 " so far)", s->stats.meter_values_dropped);
}

/* Queues a non-durable CALL, kept as text until it is sent; consumes
 * payload. */
void
session_push_call(struct ocpp_session *s, const char *action, json_t *payload)
{
	struct out_call *c;
	char *text;

	if (payload == NULL) {	/* a bug in a builder: never send garbage */
		log_warnx("ocpp: %s payload could not be built", action);
		return;
	}
	text = ocpp_json_dumps(payload);
	json_decref(payload);
	if (strcmp(action, "MeterValues") == 0)
		bound_meter_calls(s);
	c = text != NULL ? calloc(1, sizeof(*c)) : NULL;
	if (c == NULL || (c->action = strdup(action)) == NULL) {
		log_warnx("ocpp: out of memory: %s not sent", action);
		free(c);
		free(text);
		return;
	}
	c->text = text;
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

void
session_drop_calls(struct ocpp_session *s)
{
	while (s->calls_head != NULL) {
		struct out_call *c = s->calls_head;

		s->calls_head = c->next;
		free(c->action);
		free(c->text);
		free(c);
	}
	s->calls_tail = NULL;
}

/* Takes the free CALL slot for action; payload (borrowed, NULL but for
 * Authorize) gives the token an Authorize asks about. */
static void
call_begin(struct ocpp_session *s, const char *action, const json_t *payload)
{
	ocpp_next_msg_id(s->call.id, sizeof(s->call.id), s->nonce,
	    &s->msg_counter);
	strlcpy_ok(s->call.action, action, sizeof(s->call.action));
	s->call.active = true;
	s->call.sent_ms = s->now_ms;
	s->call.auth_token[0] = '\0';
	if (strcmp(action, "Authorize") == 0) {
		json_t *t = json_object_get(payload, "idTag");

		if (t == NULL)
			t = json_object_get(json_object_get(payload, "idToken"),
			    "idToken");
		strlcpy_ok(s->call.auth_token, json_string_value(t) != NULL ?
		    json_string_value(t) : "", sizeof(s->call.auth_token));
	}
	s->stats.calls_sent++;
}

/* Sends a CALL now (the slot must be free); payload borrowed. */
static void
send_call(struct ocpp_session *s, const char *action, json_t *payload)
{
	call_begin(s, action, payload);
	send_text(s, ocpp_build_call(s->call.id, action, payload));
}

/* send_call() with the payload as JSON text (borrowed). */
static void
send_call_text(struct ocpp_session *s, const char *action, const char *text)
{
	json_t *p = NULL;

	if (strcmp(action, "Authorize") == 0)
		p = json_loads(text, 0, NULL);
	call_begin(s, action, p);
	json_decref(p);
	send_text(s, ocpp_build_call_text(s->call.id, action, text));
}

/* Durable state helpers. */
int
session_state_get(const struct ocpp_session *s, const char *key, char *buf, size_t len)
{
	if (s->q == NULL || s->q->state_get == NULL)
		return 1;
	return s->q->state_get(s->ud, key, buf, len);
}

/* Durable state key of connector k's open transaction. */
void
session_conn_key(char *buf, size_t len, const struct ocpp_session *s, int k)
{
	snprintf(buf, len, "%s.c%d", session_v16(s) ? "tx16" : "tx201", k);
}

int
session_tx16_id(struct ocpp_session *s, int64_t local_tx, char *buf,
    size_t len)
{
	struct conn_state *cs = NULL;
	char key[48], v[24];

	for (int k = 1; k <= s->station->n_connectors && local_tx != 0; k++)
		if (s->cs[k].local_tx == local_tx)
			cs = &s->cs[k];
	if (cs != NULL && cs->tx16_id_of == local_tx) {
		strlcpy_ok(buf, cs->tx16_id, len);
		return 0;
	}
	snprintf(key, sizeof(key), "tx16.id.%" PRId64, local_tx);
	if (session_state_get(s, key, v, sizeof(v)) != 0)
		return -1;
	if (cs != NULL && v[0] != '\0') {
		memcpy(cs->tx16_id, v, sizeof(v));
		cs->tx16_id_of = local_tx;
	}
	strlcpy_ok(buf, v, len);
	return 0;
}

void
session_tx16_ack(struct ocpp_session *s, int64_t queue_id, int64_t local_tx,
    const char *id)
{
	char key[48];

	for (int k = 1; k <= s->station->n_connectors; k++)
		if (s->cs[k].tx16_id_of == local_tx)
			s->cs[k].tx16_id_of = 0;
	snprintf(key, sizeof(key), "tx16.id.%" PRId64, local_tx);
	s->q->ack(s->ud, queue_id, key, id);
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
	if (session_v16(s)) {
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
		else if (session_state_get(s, "boot.reason", why, sizeof(why)) != 0 ||
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
			char buf[32];

			if (session_tx16_id(s, s->call.local_tx, buf,
			    sizeof(buf)) != 0) {
				json_decref(p);
				return NULL;
			}
			json_object_set_new(p, "transactionId",
			    json_integer(strtoll(buf, NULL, 10)));
		} else if (strcmp(m->action, "MeterValues") == 0) {
			/* With the id once the backend gave one (without,
			 * when its Start was given up). */
			char buf[32];

			if (session_tx16_id(s, s->call.local_tx, buf,
			    sizeof(buf)) == 0)
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
	send_call_text(s, c->action, c->text);
	s->call.from_queue = false;
	free(c->action);
	free(c->text);
	free(c);
}

/* A Reset whose time has come (Soft / OnIdle: once no transaction is
 * open). */
static bool
reset_ready(const struct ocpp_session *s)
{
	return s->reset_due && (s->reset_hard || !session_any_tx_open(s));
}

/* True when the link is about to close on purpose: new credentials, or
 * a Reset whose time has come.  The close waits for the answer to the
 * CALL in flight and no new CALL starts meanwhile: a transaction message
 * whose answer is lost goes out again after the reconnect or the
 * restart, and the backend would see it twice. */
static bool
closing(const struct ocpp_session *s)
{
	return s->reconnect_due || reset_ready(s);
}

/* Fills the free CALL slot: Boot until accepted, then waiting calls, then
 * the durable queue. */
static void
pump(struct ocpp_session *s)
{
	if (s->link != LINK_UP || s->call.active || closing(s))
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
	if (st != NULL && !s->cs[k].tx_token_central)
		session_auth_learn(s, s->cs[k].tx_token, st);
	if (st == NULL || strcmp(st, "Accepted") == 0 ||
	    !s->cfg[CI_STOP_ON_INVALID] || s->cb->remote_stop == NULL)
		return;
	log_info("connector %d: the backend refused the transaction's IdToken "
	    "(%s): stopping", k, st);
	s->cs[k].deauthorized = true;
	s->cb->remote_stop(s->ud, k);
}

/* The non-durable CALL in flight got no usable answer (CALLERROR, a bad
 * answer or a timeout). */
static void
call_failed(struct ocpp_session *s)
{
	if (strcmp(s->call.action, "BootNotification") == 0)
		s->next_boot_ms = s->now_ms + s->st.boot_retry_s * 1000LL;
	else if (strcmp(s->call.action, "Authorize") == 0)
		session_auth_answer(s, s->call.auth_token, NULL);
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
		log_warnx("ocpp: bad response to %s: %s", s->call.action,
		    cause != NULL ? cause : OCPP_NO_MEMORY_CAUSE);
		free(cause);
		s->call.active = false;
		if (s->call.from_queue)
			queued_failed(s);
		else
			call_failed(s);
		return;
	}
	s->call.active = false;
	if (strcmp(s->call.action, "BootNotification") == 0 ||
	    strcmp(s->call.action, "Heartbeat") == 0)
		session_clock_csms(s, json_string_value(json_object_get(
		    f->payload, "currentTime")));
	if (strcmp(s->call.action, "BootNotification") == 0) {
		on_boot_result(s, f->payload);
		return;
	}
	if (strcmp(s->call.action, "Authorize") == 0) {
		json_t *info = json_object_get(f->payload, session_v16(s) ?
		    "idTagInfo" : "idTokenInfo");

		session_auth_answer(s, s->call.auth_token,
		    json_string_value(json_object_get(info, "status")));
		return;
	}
	if (!s->call.from_queue)
		return;
	if (strcmp(s->call.action, "StartTransaction") == 0) {
		char val[32];
		json_int_t id = json_integer_value(json_object_get(f->payload,
		    "transactionId"));
		const char *st = json_string_value(json_object_get(
		    json_object_get(f->payload, "idTagInfo"), "status"));

		snprintf(val, sizeof(val), "%" JSON_INTEGER_FORMAT, id);
		session_tx16_ack(s, s->call.queue_id, s->call.local_tx, val);
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
		session_tx16_ack(s, s->call.queue_id, s->call.local_tx, "");
	} else {
		s->q->ack(s->ud, s->call.queue_id, NULL, NULL);
	}
	s->next_queue_try_ms = s->now_ms;
}

/* ---- receiving ---- */

void
session_reject_frame(struct ocpp_session *s, const char *id, const char *text,
    size_t len, enum ocpp_rpc_error e, const char *cause)
{
	char esc[300], peeked[OCPP_MSG_ID_MAX + 1];

	if (cause == NULL)
		cause = OCPP_NO_MEMORY_CAUSE;
	log_escape(cause, strlen(cause), esc, sizeof(esc));
	log_warnx("ocpp: malformed frame: %s", esc);
	if (id[0] == '\0') {
		/* Only a CALL is answered: a broken answer to our call is
		 * not. */
		if (ocpp_frame_peek_id(text, len, peeked) != OCPP_CALL)
			peeked[0] = '\0';
		id = peeked;
	}
	session_security_invalid_message(s, esc);
	/* 1.6 has no "-1" convention: without an id, nothing to answer. */
	if (id[0] != '\0' || !session_v16(s))
		session_reply_error(s, id, e, cause);
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

		/* A new basic-auth password is never logged. */
		if (session_security_secret_frame(text, len))
			log_debug("ocpp", "<- (%zu bytes about the basic-auth "
			    "password, not shown)", len);
		else
			log_debug("ocpp", "<- %s", log_escape(text, len, esc,
			    sizeof(esc)));
	}
	if (ocpp_frame_parse(s->st.version, text, len, &f, &e, &cause) != 0) {
		session_reject_frame(s, f.id, text, len, e, cause);
		free(cause);
		return;
	}
	switch (f.type) {
	case OCPP_CALL:
		session_on_call(s, &f);
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
			else
				call_failed(s);
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
	session_security_link_up(s);
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
	session_drop_calls(s);
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
	s->cfg[CI_STOP_ALIGNED_MEASURANDS] = st->stop_aligned_measurands;
	s->cfg[CI_RESET_RETRIES] = st->reset_retries;
	s->cfg[CI_START_MEASURANDS] = st->start_measurands;
	s->cfg[CI_TIME_SOURCE] = st->time_source;
	s->cfg[CI_TX_ATTEMPTS] = st->tx_attempts;
	s->cfg[CI_TX_RETRY] = st->tx_retry_interval_s;
	s->cfg[CI_PING] = st->ping_interval_s;
	s->cfg[CI_BACKOFF_MIN] = st->retry_backoff_min_s;
	s->cfg[CI_BACKOFF_RANDOM] = st->retry_backoff_random_s;
	s->cfg[CI_BACKOFF_REPEAT] = st->retry_backoff_repeat;
	s->cfg[CI_CALL_TIMEOUT] = st->call_timeout_s;
	s->cfg[CI_STOP_ON_INVALID] = st->stop_tx_on_invalid_id != 0;
	s->cfg[CI_LOCAL_PRE_AUTH] = st->local_pre_authorize != 0;
	s->cfg[CI_LOCAL_AUTH_OFFLINE] = st->local_authorize_offline != 0;
	s->cfg[CI_AUTH_CACHE_ENABLED] = st->auth_cache_enabled != 0;
	s->cfg[CI_LOCAL_LIST_ENABLED] = st->local_list_enabled != 0;
	s->cfg[CI_OFFLINE_UNKNOWN] = st->offline_tx_unknown_id != 0;
	s->cfg[CI_UNLOCK_ON_EV_DISCONNECT] = st->unlock_on_ev_disconnect != 0;
	s->cfg[CI_CONNECTION_TIMEOUT] = st->connection_timeout_s;
	if (getrandom(&s->nonce, sizeof(s->nonce), 0) != sizeof(s->nonce))
		s->nonce = (uint32_t)wall_now_ms();
	s->cs = xcalloc((size_t)station->n_connectors + 1, sizeof(*s->cs));
	strlcpy_ok(s->fw_status, "Idle", sizeof(s->fw_status));
	session_load_state(s);
	session_auth_load(s);
	session_security_start(s);
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
	session_drop_calls(s);
	free(s->url_host);
	free(s->url_path);
	if (s->auth_header != NULL) {
		explicit_bzero(s->auth_header, strlen(s->auth_header));
		free(s->auth_header);
	}
	explicit_bzero(s->password, sizeof(s->password));
	explicit_bzero(s->password_prev, sizeof(s->password_prev));
	free(s->rx);
	ocpp_text_free(&s->answer);
	for (int k = 0; s->cs != NULL && k <= s->station->n_connectors; k++)
		json_decref(s->cs[k].stop_aligned);
	free(s->cs);
	free(s);
}

void
ocpp_session_station_resized(struct ocpp_session *s, int was)
{
	int n = s->station->n_connectors;

	s->cs = xrealloc(s->cs, ((size_t)n + 1) * sizeof(*s->cs));
	if (n > was)
		memset(&s->cs[was + 1], 0, (size_t)(n - was) * sizeof(*s->cs));
	/* A kept connector not read yet shows what was last reported (as
	 * after a restart), not the unknown state of a new model; an id no
	 * connector has any more forgets its connector's. */
	for (int k = 1; k <= n && k <= was; k++) {
		struct ocpp_connector *c = &s->station->conn[k];

		if (c->absent) {
			json_decref(s->cs[k].stop_aligned);
			memset(&s->cs[k], 0, sizeof(s->cs[k]));
			continue;
		}

		if (c->stale && s->cs[k].reported) {
			c->status = s->cs[k].status;
			c->fault_error = s->cs[k].fault_error;
			strlcpy_ok(c->vendor_error, s->cs[k].vendor_error,
			    sizeof(c->vendor_error));
		}
	}
	s->statuses_due = true;
}

/* ConnectionTimeOut (1.6 §9.1.6, 2.0.1 EVConnectionTimeOut): a remote
 * start that has not become a transaction (no cable plugged in) within
 * the timeout is withdrawn: the charger is told to stop, and the next
 * session is the charger's own, not the backend's. */
static void
remote_start_expiry(struct ocpp_session *s, int64_t now_ms)
{
	int64_t limit_ms = s->cfg[CI_CONNECTION_TIMEOUT] * 1000LL;

	if (limit_ms <= 0)
		return;
	for (int k = 1; k <= s->station->n_connectors; k++) {
		struct conn_state *cs = &s->cs[k];

		if (!cs->remote_start || cs->tx_active ||
		    now_ms - cs->remote_start_ms < limit_ms)
			continue;
		cs->remote_start = false;
		log_info("connector %d: no cable plugged in %d s after the "
		    "remote start: withdrawn (ConnectionTimeOut)", k,
		    s->cfg[CI_CONNECTION_TIMEOUT]);
		if (s->cb->remote_stop != NULL &&
		    s->cb->remote_stop(s->ud, k) != OCPP_ACCEPTED)
			log_warnx("connector %d: withdrawing the remote start "
			    "failed", k);
	}
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
		else
			call_failed(s);
	}
	session_scan_model(s);
	if (s->boot == BOOT_ACCEPTED && s->link == LINK_UP) {
		if (s->statuses_due) {
			s->statuses_due = false;
			for (int k = session_v16(s) ? 0 : 1; k <= s->station->n_connectors;
			    k++) {
				if (k > 0 && !session_has_conn(s, k))
					continue;
				session_push_status(s, k);
				s->cs[k].reported = true;
				s->cs[k].status = s->station->conn[k].status;
				s->cs[k].fault_error =
				    s->station->conn[k].fault_error;
				strlcpy_ok(s->cs[k].vendor_error,
				    s->station->conn[k].vendor_error,
				    sizeof(s->cs[k].vendor_error));
			}
		}
		if (now_ms >= s->next_heartbeat_ms) {
			if (!call_waiting(s, "Heartbeat"))
				session_push_call(s, "Heartbeat", json_object());
			s->next_heartbeat_ms = now_ms +
			    s->cfg[CI_HEARTBEAT] * 1000LL;
		}
	}
	if (s->cfg[CI_METER_INTERVAL] > 0 && now_ms >= s->next_meter_ms) {
		if (s->next_meter_ms != 0)
			session_meter_tick(s);
		s->next_meter_ms = now_ms + s->cfg[CI_METER_INTERVAL] * 1000LL;
	}
	session_clock_watch(s);
	session_aligned_tick(s, session_wall_ms(s));
	remote_start_expiry(s, now_ms);
	session_security_service(s);
	pump(s);
	if (reset_ready(s) && s->tx_head == NULL && !s->call.active) {
		s->reset_due = false;
		if (s->q->state_set != NULL)
			s->q->state_set(s->ud, "boot.reason", "RemoteReset");
		session_security_event(s, "ResetOrReboot", s->reset_hard ?
		    "hard reset requested by the backend" :
		    "soft reset requested by the backend");
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

int
ocpp_session_reset_retries(const struct ocpp_session *s)
{
	return s->cfg[CI_RESET_RETRIES];
}

bool
ocpp_session_accepted(const struct ocpp_session *s)
{
	return s->boot == BOOT_ACCEPTED;
}

bool
session_has_conn(const struct ocpp_session *s, int k)
{
	return k >= 1 && k <= s->station->n_connectors &&
	    !s->station->conn[k].absent;
}

bool
ocpp_session_tx_open(const struct ocpp_session *s, int k)
{
	return k >= 1 && k <= s->station->n_connectors && s->cs[k].tx_active;
}

bool
ocpp_session_transaction(struct ocpp_session *s, int k, char *buf,
    size_t len)
{
	buf[0] = '\0';
	if (k < 1 || k > s->station->n_connectors || !s->cs[k].tx_active)
		return false;
	if (session_v16(s)) {
		if (session_tx16_id(s, s->cs[k].local_tx, buf, len) != 0)
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
	session_push_call(s, action, p);
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

	for (p = session_v16(s) ? st16 : st201; *p != NULL; p++)
		if (strcmp(*p, status) == 0)
			break;
	if (*p == NULL)
		return -1;
	strlcpy_ok(s->fw_status, status, sizeof(s->fw_status));
	/* Waits in line until the registration is accepted. */
	if (s->link == LINK_UP) {
		session_push_firmware_status(s);
		pump(s);
	}
	return 0;
}

void
ocpp_session_stats(const struct ocpp_session *s, struct ocpp_stats *out)
{
	*out = s->stats;
}
