/* OCPP session, the station model: connector status, meter values and
 * the transactions (start, end, scan of the charger, reconcile of the
 * durable per-connector record after a restart), for 1.6 and 2.0.1. */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "ocpp/session-private.h"

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

	if (session_v16(s)) {
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
 * m (OCPP_MEAS_* bits).  With none selected, the energy register (a
 * meterValue needs one sampledValue). */
static json_t *
meter_value_of(const struct ocpp_session *s, int k, const char *context,
    int m)
{
	const struct ocpp_connector *c = &s->station->conn[k];
	static const char *const ph_i[] = { "L1", "L2", "L3" };
	static const char *const ph_v[] = { "L1-N", "L2-N", "L3-N" };
	json_t *sv = json_array();
	char when[40];
	/* A single-phase connector reports on the phase it is wired to. */
	int p0 = c->phases == 1 && c->wired_phase > 0 && c->wired_phase < 3 ?
	    c->wired_phase : 0;
	int n = c->phases == 1 ? p0 + 1 : 3;

	if (m == 0 || (m & OCPP_MEAS_ENERGY))
		json_array_append_new(sv, sampled(s, c->energy_wh,
		    "Energy.Active.Import.Register", "Wh", NULL, context));
	if (m & OCPP_MEAS_POWER)
		json_array_append_new(sv, sampled(s, c->power_w,
		    "Power.Active.Import", "W", NULL, context));
	for (int p = p0; p < n; p++) {
		if (m & OCPP_MEAS_CURRENT)
			json_array_append_new(sv, sampled(s, c->current_a[p],
			    "Current.Import", "A", ph_i[p], context));
		if (m & OCPP_MEAS_VOLTAGE)
			json_array_append_new(sv, sampled(s, c->voltage_v[p],
			    "Voltage", "V", ph_v[p], context));
	}
	if (k == 0 && session_v16(s)) {
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
	return json_pack("[{ssso}]", "timestamp", session_now_stamp(s, when, sizeof(when)),
	    "sampledValue", sv);
}

/* meter_value_of() with the measurands of the context's list:
 * MeterValuesAlignedData for Sample.Clock, StopTxnSampledData for
 * Transaction.End, TxStartedMeasurands for Transaction.Begin, else
 * MeterValuesSampledData. */
static json_t *
meter_value(const struct ocpp_session *s, int k, const char *context)
{
	return meter_value_of(s, k, context, s->cfg[strcmp(context,
	    "Sample.Clock") == 0 ? CI_ALIGNED_MEASURANDS : strcmp(context,
	    "Transaction.End") == 0 ? CI_STOP_MEASURANDS : strcmp(context,
	    "Transaction.Begin") == 0 ? CI_START_MEASURANDS :
	    CI_SAMPLED_MEASURANDS]);
}

/* At most this many clock-aligned values wait for a transaction's end. */
#define STOP_ALIGNED_MAX 48

/* StopTxnAlignedData: keeps a clock-aligned meterValue of connector k's
 * running transaction for its end. */
static void
keep_stop_aligned(struct ocpp_session *s, int k)
{
	struct conn_state *cs = &s->cs[k];
	int m = s->cfg[CI_STOP_ALIGNED_MEASURANDS];
	json_t *mv;

	if (m == 0 || !cs->tx_active)
		return;
	if (cs->stop_aligned == NULL)
		cs->stop_aligned = json_array();
	if (json_array_size(cs->stop_aligned) >= STOP_ALIGNED_MAX)
		json_array_remove(cs->stop_aligned, 0);
	mv = meter_value_of(s, k, "Sample.Clock", m);
	json_array_append(cs->stop_aligned, json_array_get(mv, 0));
	json_decref(mv);
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
		if (session_v16(s))
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
		json_object_set_new(o, "txct", json_integer(cs->tx_charge_s));
	}
	text = o != NULL ? ocpp_json_dumps(o) : NULL;
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
	session_conn_key(key, sizeof(key), s, k);
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
 * the charger), a charging time and an energy register that did not go
 * back. */
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
	/* The session's charging time went back (a new EV while nobody
	 * watched); not when the 16-bit counter wraps after 18 h. */
	if (c->charge_time_s >= 0 && cs->tx_charge_s >= 0 &&
	    c->charge_time_s + 2 < cs->tx_charge_s && cs->tx_charge_s < 64800)
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

	session_conn_key(key, sizeof(key), s, k);
	text = ocpp_json_dumps(payload);
	json_decref(payload);
	if (text == NULL) {
		log_warnx("ocpp: could not encode %s for connector %d (out of "
		    "memory)", action, k);
		return -1;
	}
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
	cs->tx_charge_s = c->charge_time_s;
	cs->seen_wh = c->energy_wh;
	cs->seen_ms = session_wall_ms(s);
}

/* 1.6: StartTransaction for connector k. */
static void
start_tx16(struct ocpp_session *s, int k)
{
	struct conn_state *cs = &s->cs[k];
	const struct ocpp_connector *c = &s->station->conn[k];
	char idtag[21], when[40], buf[32];
	int64_t next = 1;

	if (session_state_get(s, "tx16.next", buf, sizeof(buf)) == 0)
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
	    "timestamp", session_now_stamp(s, when, sizeof(when)),
	    "_local", (json_int_t)next), k) != 0) {
		cs->tx_active = false;
		cs->local_tx = 0;
		return;
	}
	cs->remote_start = false;
	log_debug("ocpp", "connector %d: transaction %" PRId64 " started (%s)", k,
	    next, cs->tx_token_central ? "remote / default id" : "charger id");
}

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
	json_t *all, *mv, *sv, *x;
	size_t i;

	/* The clock-aligned values kept (StopTxnAlignedData) first. */
	all = s->cs[k].stop_aligned != NULL ?
	    json_copy(s->cs[k].stop_aligned) : json_array();
	if (s->station->conn[k].stale || session_wall_ms(s) - e->when_ms > 5000) {
		json_array_append_new(all, json_pack("{sss[o]}", "timestamp",
		    when, "sampledValue", sampled(s, e->wh, energy, "Wh", NULL,
		    "Transaction.End")));
		return all;
	}
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
	json_array_extend(all, mv);
	json_decref(mv);
	return all;
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
	json_decref(cs->stop_aligned);
	cs->stop_aligned = NULL;
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
void
session_tx_event201(struct ocpp_session *s, int k, const char *event,
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
		session_now_stamp(s, when, sizeof(when));
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
	session_tx_event201(s, k, "Started", trigger, NULL, true);
	cs->remote_start = false;
	cs->last_tx_meter_ms = s->now_ms;
	log_debug("ocpp", "connector %d: transaction %s started", k, cs->tx_id);
}

/* Ends the transaction on connector k as e says. */
void
session_end_tx(struct ocpp_session *s, int k, const struct tx_end *e)
{
	struct conn_state *cs = &s->cs[k];
	char id[OCPP_MSG_ID_MAX + 1];

	if (session_v16(s)) {
		stop_tx16(s, k, e);
		return;
	}
	strlcpy_ok(id, cs->tx_id, sizeof(id));
	session_tx_event201(s, k, "Ended", e->trigger, e, true);
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

	e.when_ms = session_wall_ms(s);
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
	session_end_tx(s, k, &e);
	/* 1.6 UnlockConnectorOnEVSideDisconnect, 2.0.1 OCPPCommCtrlr
	 * UnlockOnEVSideDisconnect: the cable left the EV, so the socket
	 * lets it go too. */
	if (strcmp(e.reason16, "EVDisconnected") == 0 &&
	    s->cfg[CI_UNLOCK_ON_EV_DISCONNECT] && s->cb->unlock != NULL &&
	    s->cb->unlock(s->ud, k) != OCPP_ACCEPTED)
		log_warnx("connector %d: unlock after the EV's cable was "
		    "unplugged failed", k);
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

	e.when_ms = cs->seen_ms > 0 ? cs->seen_ms : session_wall_ms(s);
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
	session_end_tx(s, k, &e);
}

/* Connector k's charger has not answered for the configured maximum:
 * its transaction ends with the last energy reading (Other /
 * EVCommunicationLost). */
static void
end_unreachable(struct ocpp_session *s, int k)
{
	struct conn_state *cs = &s->cs[k];
	struct tx_end e = { "Other", "Other", "EVCommunicationLost",
		cs->seen_ms > 0 ? cs->seen_ms : session_wall_ms(s), cs->tx_wh };

	log_info("connector %d: no answer for %d s, its transaction ends", k,
	    s->st.tx_unreachable_max_s);
	session_end_tx(s, k, &e);
}

int
ocpp_session_end_tx_removed(struct ocpp_session *s, int k)
{
	struct conn_state *cs;
	const struct ocpp_connector *c;
	struct tx_end e = { "Other", "Other", "AbnormalCondition",
		session_wall_ms(s), 0 };

	if (!ocpp_session_tx_open(s, k))
		return -1;
	cs = &s->cs[k];
	c = &s->station->conn[k];
	e.wh = !c->stale && c->energy_wh > cs->tx_wh ? c->energy_wh :
	    cs->tx_wh;
	log_info("connector %d: its charger left the site; its transaction "
	    "ends (Other, %.0f Wh)", k, e.wh);
	session_end_tx(s, k, &e);
	return 0;
}

/* 1.6 UnlockConnector on connector k during its transaction (1.6 §5.19):
 * the transaction ends first (UnlockCommand, the last energy reading), and
 * none starts again until the connector leaves the charging states. */
void
session_end_for_unlock(struct ocpp_session *s, int k)
{
	struct conn_state *cs = &s->cs[k];
	const struct ocpp_connector *c = &s->station->conn[k];
	struct tx_end e = { "UnlockCommand", "Other", "UnlockCommand",
		session_wall_ms(s), cs->tx_wh };

	if (!c->stale && c->energy_wh > e.wh)
		e.wh = c->energy_wh;
	cs->unlock_stop = true;
	session_end_tx(s, k, &e);
}

/* StatusNotification for connector k (1.6: also 0). */
void
session_push_status(struct ocpp_session *s, int k)
{
	const struct ocpp_connector *c = &s->station->conn[k];
	char when[40];

	if (session_v16(s)) {
		json_t *p = json_pack("{sissssss}",
		    "connectorId", k,
		    "errorCode", (c->status == OCPP_ST_FAULTED && c->fault_error) ||
		    c->vendor_error[0] != '\0' ? "OtherError" : "NoError",
		    "status", k == 0 && c->status != OCPP_ST_UNAVAILABLE &&
		    c->status != OCPP_ST_FAULTED ? "Available" :
		    ocpp_status_name16(c->status),
		    "timestamp", session_now_stamp(s, when, sizeof(when)));

		/* the charger's own code, as it gave it */
		if (c->vendor_error[0] != '\0')
			json_object_set_new(p, "vendorErrorCode",
			    json_string(c->vendor_error));
		session_push_call(s, "StatusNotification", p);
	} else if (k > 0) {
		session_push_call(s, "StatusNotification", json_pack("{sssssisi}",
		    "timestamp", session_now_stamp(s, when, sizeof(when)),
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
	if (!active) {
		cs->unlock_stop = false;
		session_auth_left(s, k);
	}
	if (cs->tx_active && active && !same_session(s, k))
		end_by_charger(s, k, true);
	if (s->reset_due && s->reset_hard) {
		/* Ended for a Hard / Immediate reset: nothing starts
		 * before the restart. */
	} else if (active && !cs->tx_active && !cs->unlock_stop) {
		if (session_auth_gate(s, k) != AUTH_START) {
			/* Authorize in flight, or the IdToken was refused. */
		} else if (session_v16(s))
			start_tx16(s, k);
		else
			start_tx201(s, k);
	} else if (!active && cs->tx_active && c->status != OCPP_ST_UNAVAILABLE &&
	    c->status != OCPP_ST_FAULTED) {
		/* Unavailable or Faulted while a session runs: reported,
		 * and the transaction goes on until the charger ends it. */
		end_by_charger(s, k, false);
	} else if (active && !session_v16(s) && cs->tx_status != c->status) {
		session_tx_event201(s, k, "Updated", "ChargingStateChanged", NULL,
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
		cs->seen_ms = session_wall_ms(s);
	if (cs->tx_active && c->energy_wh > cs->tx_wh)
		cs->tx_wh = c->energy_wh;
	if (cs->tx_active && c->charge_time_s > cs->tx_charge_s)
		cs->tx_charge_s = c->charge_time_s;
	if (changed || (cs->tx_active && s->now_ms - cs->saved_ms >=
	    SEEN_SAVE_MS))
		save_conn(s, k);
}

/* Compares the model with what was reported: statuses and transactions. */
void
session_scan_model(struct ocpp_session *s)
{
	for (int k = 0; k <= s->station->n_connectors; k++) {
		struct conn_state *cs = &s->cs[k];
		const struct ocpp_connector *c = &s->station->conn[k];
		bool changed = !cs->reported || cs->status != c->status ||
		    cs->fault_error != c->fault_error ||
		    strcmp(cs->vendor_error, c->vendor_error) != 0;

		if (k > 0 && !session_has_conn(s, k))
			continue;
		if (k > 0)
			scan_transaction(s, k);
		if (!changed)
			continue;
		/* 2.0.1 reports connector states, not the 1.6 detail:
		 * Preparing -> Charging stays "Occupied". */
		if (s->boot == BOOT_ACCEPTED && s->link == LINK_UP &&
		    !s->statuses_due && (session_v16(s) || !cs->reported ||
		    strcmp(status_name201(cs->status),
		    status_name201(c->status)) != 0))
			session_push_status(s, k);
		cs->reported = true;
		cs->status = c->status;
		cs->fault_error = c->fault_error;
		strlcpy_ok(cs->vendor_error, c->vendor_error,
		    sizeof(cs->vendor_error));
	}
}

/* MeterValues for connector k (1.6: with the transaction id when one is
 * open and known); context "Sample.Periodic" or "Trigger". */
void
session_push_meter_values(struct ocpp_session *s, int k, const char *context)
{
	const struct conn_state *cs = &s->cs[k];
	json_t *p;

	if (session_v16(s)) {
		p = json_pack("{siso}", "connectorId", k, "meterValue",
		    meter_value(s, k, context));
		if (cs->tx_active) {
			char buf[32];

			if (session_tx16_id(s, cs->local_tx, buf,
			    sizeof(buf)) == 0)
				json_object_set_new(p, "transactionId",
				    json_integer(strtoll(buf, NULL, 10)));
		}
	} else {
		p = json_pack("{siso}", "evseId", k, "meterValue",
		    meter_value(s, k, context));
	}
	session_push_call(s, "MeterValues", p);
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
	if (s->next_aligned_wall_ms != 0 && wall_ms >= s->next_aligned_wall_ms)
		for (int k = 0; k <= s->station->n_connectors; k++) {
			if (!s->station->conn[k].meter_valid)
				continue;
			if (s->boot == BOOT_ACCEPTED && s->link == LINK_UP)
				session_push_meter_values(s, k, "Sample.Clock");
			keep_stop_aligned(s, k);
		}
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
	char *text = ocpp_json_dumps(p);

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
void
session_meter_tick(struct ocpp_session *s)
{
	for (int k = 0; k <= s->station->n_connectors; k++) {
		if (!s->station->conn[k].meter_valid)
			continue;
		if (k > 0 && s->cs[k].tx_active) {
			if (session_v16(s))
				queue_meter16(s, k);
			else
				session_tx_event201(s, k, "Updated",
				    "MeterValuePeriodic", NULL, true);
			continue;
		}
		if (s->link != LINK_UP || s->boot != BOOT_ACCEPTED)
			continue;
		session_push_meter_values(s, k, "Sample.Periodic");
	}
}

/* ---- durable state ---- */

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
		if (session_v16(s)) {
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
		if (session_v16(s)) {
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
		cs->tx_charge_s = json_is_integer(json_object_get(o, "txct")) ?
		    (int)json_integer_value(json_object_get(o, "txct")) : -1;
	}
	json_decref(o);
}

/* Connector k has no charger any more (it left the site while the
 * gateway was stopped) but its record, buf, holds an open transaction:
 * nothing will ever read its end, so it ends now, reason Other, with the
 * last energy reading kept and stamped when that reading was taken. */
static void
end_orphan(struct ocpp_session *s, int k, const char *buf)
{
	struct conn_state *cs = &s->cs[k];
	struct tx_end e = { "Other", "Other", "AbnormalCondition", 0, 0 };

	load_record(s, k, buf);
	if (!cs->tx_active)
		return;
	e.wh = cs->tx_wh > cs->seen_wh ? cs->tx_wh : cs->seen_wh;
	e.when_ms = cs->seen_ms > 0 ? cs->seen_ms : session_wall_ms(s);
	log_warnx("connector %d: transaction open from before the restart, "
	    "but no charger has this connector now: it ends (Other, %.0f Wh, "
	    "the last reading)", k, e.wh);
	session_end_tx(s, k, &e);
}

/* Loads every connector's last known state and open transaction from the
 * durable state; the station's stale connectors show that state until
 * they are read.  Notes whether the last run stopped cleanly. */
void
session_load_state(struct ocpp_session *s)
{
	char buf[512];

	s->unclean_stop = session_state_get(s, "run", buf, sizeof(buf)) == 0 &&
	    strcmp(buf, "running") == 0;
	if (s->q->state_set != NULL)
		s->q->state_set(s->ud, "run", "running");
	for (int k = 1; k <= s->station->n_connectors; k++) {
		char key[32];
		struct conn_state *cs = &s->cs[k];
		struct ocpp_connector *c = &s->station->conn[k];

		session_conn_key(key, sizeof(key), s, k);
		if (session_state_get(s, key, buf, sizeof(buf)) != 0 || buf[0] == '\0')
			continue;
		if (!session_has_conn(s, k)) {
			end_orphan(s, k, buf);
			continue;
		}
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
