/* OCPP session, the handlers of backend-initiated actions (the CALLs
 * of the CSMS), for 1.6 and 2.0.1. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "ocpp/session-private.h"

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
		    !s->cs[k].tx_active && session_has_conn(s, k))
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
	if (!session_has_conn(s, k) || s->cs[k].tx_active ||
	    s->cb->remote_start == NULL)
		return status_payload("Rejected");
	if (profile != NULL && (pj = ocpp_json_dumps(profile)) == NULL) {
		log_warnx("ocpp: remote start refused: out of memory");
		return status_payload("Rejected");
	}
	r = s->cb->remote_start(s->ud, k, tag, pj);
	free(pj);
	if (r == OCPP_ACCEPTED) {
		s->cs[k].remote_start = true;
		s->cs[k].remote_start_ms = s->now_ms;
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
		char buf[32];

		if (!s->cs[k].tx_active)
			continue;
		if (session_tx16_id(s, s->cs[k].local_tx, buf, sizeof(buf)) == 0 &&
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
void
session_push_firmware_status(struct ocpp_session *s)
{
	json_t *p = json_pack("{ss}", "status", s->fw_status);

	/* 2.0.1 L01.FR.20: requestId when the status is not Idle. */
	if (!session_v16(s) && strcmp(s->fw_status, "Idle") != 0)
		json_object_set_new(p, "requestId", json_integer(s->fw_request_id));
	session_push_call(s, "FirmwareStatusNotification", p);
}

/* TriggerMessage: queue what was asked for (after the answer). */
static const char *
do_trigger(struct ocpp_session *s, const char *what, int k, bool has_k)
{
	if (has_k && k != 0 && !session_has_conn(s, k))
		return "Rejected";
	if (strcmp(what, "BootNotification") == 0) {
		/* F06.FR.17: once accepted, 2.0.1 does not boot again on
		 * request (1.6 has no such rule: it sends one). */
		if (!session_v16(s) && s->boot == BOOT_ACCEPTED)
			return "Rejected";
		s->boot_trigger = true;
	} else if (strcmp(what, "Heartbeat") == 0) {
		session_push_call(s, "Heartbeat", json_object());
	} else if (strcmp(what, "StatusNotification") == 0) {
		for (int i = has_k ? k : (session_v16(s) ? 0 : 1);
		    i <= (has_k ? k : s->station->n_connectors); i++)
			if (i == 0 || session_has_conn(s, i))
				session_push_status(s, i);
	} else if (strcmp(what, "MeterValues") == 0) {
		/* Only fresh readings: no made-up zeros. */
		if (has_k && !s->station->conn[k].meter_valid)
			return "Rejected";
		for (int i = has_k ? k : 0;
		    i <= (has_k ? k : s->station->n_connectors); i++)
			if (s->station->conn[i].meter_valid &&
			    (i == 0 || session_has_conn(s, i)))
				session_push_meter_values(s, i, "Trigger");
	} else if (strcmp(what, "FirmwareStatusNotification") == 0) {
		/* Idle once no update is under way (1.6 §4.5, 2.0.1
		 * F06.FR.16): a finished one is not repeated. */
		if (strcmp(s->fw_status, "Installed") == 0 ||
		    strstr(s->fw_status, "Failed") != NULL ||
		    strcmp(s->fw_status, "InvalidSignature") == 0)
			strlcpy_ok(s->fw_status, "Idle", sizeof(s->fw_status));
		session_push_firmware_status(s);
	} else if (strcmp(what, "SignChargingStationCertificate") == 0 ||
	    strcmp(what, "SignChargePointCertificate") == 0) {
		if (session_sign_certificate(s) != 0)
			return "Rejected";
	} else if (strcmp(what, "TransactionEvent") == 0) {
		bool any = false;

		for (int i = has_k ? k : 1;
		    i <= (has_k ? k : s->station->n_connectors); i++)
			if (i > 0 && s->cs[i].tx_active) {
				session_tx_event201(s, i, "Updated", "Trigger", NULL, true);
				any = true;
			}
		return any ? "Accepted" : "Rejected";
	} else {
		return "NotImplemented";
	}
	return "Accepted";
}

/* True while any connector has an open transaction. */
bool
session_any_tx_open(const struct ocpp_session *s)
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
			"ResetCommand", session_wall_ms(s), cs->tx_wh };

		if (!cs->tx_active)
			continue;
		if (!c->stale && c->energy_wh > e.wh)
			e.wh = c->energy_wh;
		if (s->cb->remote_stop != NULL)
			(void)s->cb->remote_stop(s->ud, k);
		cs->remote_stop = false;
		session_end_tx(s, k, &e);
	}
}

/* Handles a validated CALL; returns the CALLRESULT payload, or NULL with
 * *err set for a CALLERROR, or NULL with the payload as JSON text in
 * *text (the daemon's answer; caller frees). */
static json_t *
handle_call(struct ocpp_session *s, const char *action, json_t *p,
    enum ocpp_rpc_error *err, char **text)
{
	const char *a = action;
	int n = s->station->n_connectors;

	/* Local authorization (auth.c). */
	if (strcmp(a, "SendLocalList") == 0)
		return session_send_local_list(s, p);
	if (strcmp(a, "GetLocalListVersion") == 0)
		return session_get_local_list_version(s);
	if (strcmp(a, "ClearCache") == 0)
		return session_clear_cache(s);
	if (strcmp(a, "Reset") == 0) {
		const char *type = json_string_value(json_object_get(p, "type"));

		if (!session_v16(s) && json_object_get(p, "evseId") != NULL)
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
		return status_payload(!session_v16(s) && session_any_tx_open(s) ?
		    "Scheduled" : "Accepted");
	}
	if (strcmp(a, "ChangeAvailability") == 0) {
		int k;
		bool op;

		if (session_v16(s)) {
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
		if ((k != 0 && !session_has_conn(s, k)) ||
		    s->cb->change_availability == NULL)
			return status_payload("Rejected");
		return status_payload(accept_name(s->cb->change_availability(
		    s->ud, k, op)));
	}
	if (strcmp(a, "UnlockConnector") == 0) {
		int k = (int)json_integer_value(json_object_get(p,
		    session_v16(s) ? "connectorId" : "evseId"));
		enum ocpp_result r;

		if (!session_has_conn(s, k))	/* the schemas allow any integer */
			return status_payload(session_v16(s) ? "NotSupported" :
			    "UnknownConnector");
		if (!session_v16(s) && json_integer_value(json_object_get(p,
		    "connectorId")) != 1)
			return status_payload("UnknownConnector");
		if (!session_v16(s) && s->cs[k].tx_active)
			return status_payload("OngoingAuthorizedTransaction");
		/* 1.6 §5.19: a transaction on the connector ends first. */
		if (session_v16(s) && s->cs[k].tx_active && s->cb->unlock != NULL) {
			session_end_for_unlock(s, k);
		}
		if (s->cb->unlock == NULL)
			return status_payload(session_v16(s) ? "NotSupported" :
			    "UnlockFailed");
		r = s->cb->unlock(s->ud, k);
		return status_payload(r == OCPP_ACCEPTED ? "Unlocked" :
		    r == OCPP_NOT_SUPPORTED && session_v16(s) ? "NotSupported" :
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
		json_t *jk = session_v16(s) ? json_object_get(p, "connectorId") :
		    json_object_get(json_object_get(p, "evse"), "id");

		return status_payload(do_trigger(s, json_string_value(
		    json_object_get(p, "requestedMessage")),
		    (int)json_integer_value(jk), jk != NULL));
	}
	if (strcmp(a, "ExtendedTriggerMessage") == 0) {
		/* 1.6 security extension; its FirmwareStatusNotification is
		 * the signed-firmware one, not supported. */
		const char *what = json_string_value(json_object_get(p,
		    "requestedMessage"));
		json_t *jk = json_object_get(p, "connectorId");

		return status_payload(strcmp(what, "FirmwareStatusNotification")
		    == 0 ? "NotImplemented" : do_trigger(s, what,
		    (int)json_integer_value(jk), jk != NULL));
	}
	if (strcmp(a, "CertificateSigned") == 0)
		return session_certificate_signed(s, p);
	if (strcmp(a, "InstallCertificate") == 0)
		return session_install_certificate(s, p);
	if (strcmp(a, "GetInstalledCertificateIds") == 0)
		return session_get_installed_ids(s, p);
	if (strcmp(a, "DeleteCertificate") == 0)
		return session_delete_certificate(s, p);
	if (strcmp(a, "ChangeConfiguration") == 0)
		return ocpp_change_configuration(s, p);
	if (strcmp(a, "SetVariables") == 0)
		return ocpp_set_variables(s, p);
	if (strcmp(a, "GetBaseReport") == 0) {
		const char *base = json_string_value(json_object_get(p,
		    "reportBase"));

		if (ocpp_send_report(s, (int)json_integer_value(json_object_get(
		    p, "requestId")), base) != 0) {
			*err = OCPP_RPC_INTERNAL;
			return NULL;
		}
		return status_payload("Accepted");
	}
	if (strcmp(a, "UpdateFirmware") == 0) {
		const char *url;
		int64_t when = 0;
		int request_id = 0;
		enum ocpp_result r = OCPP_REJECTED;

		if (session_v16(s)) {
			url = json_string_value(json_object_get(p, "location"));
			parse_rfc3339(json_string_value(json_object_get(p,
			    "retrieveDate")), &when);
		} else {
			json_t *fw = json_object_get(p, "firmware");

			request_id = (int)json_integer_value(json_object_get(p,
			    "requestId"));
			url = json_string_value(json_object_get(fw, "location"));
			parse_rfc3339(json_string_value(json_object_get(fw,
			    "retrieveDateTime")), &when);
		}
		if (s->cb->update_firmware != NULL)
			r = s->cb->update_firmware(s->ud, url, when);
		/* L01.FR.20: the statuses carry the requestId of the update
		 * in progress, not that of one refused meanwhile. */
		if (r == OCPP_ACCEPTED && !session_v16(s))
			s->fw_request_id = request_id;
		if (session_v16(s))
			return json_object();	/* UpdateFirmware.conf is {} */
		return status_payload(r == OCPP_ACCEPTED ? "Accepted" :
		    "Rejected");
	}
	/* Charging profiles and the rest: the daemon's hook. */
	if (s->cb->profile_action != NULL) {
		char *req = ocpp_json_dumps(p);

		if (req == NULL) {
			*err = OCPP_RPC_INTERNAL;
			return NULL;
		}
		*err = OCPP_RPC_NOT_SUPPORTED;
		*text = s->cb->profile_action(s->ud, a, req, err);
		free(req);
		if (*text != NULL) {
			*err = OCPP_RPC_OK;
			return NULL;
		}
		if (*err != OCPP_RPC_NOT_SUPPORTED ||
		    strcmp(a, "DataTransfer") != 0)
			return NULL;
	}
	/* A vendor extension the daemon does not answer. */
	if (strcmp(a, "DataTransfer") == 0) {
		*err = OCPP_RPC_OK;
		return status_payload("UnknownVendorId");
	}
	*err = OCPP_RPC_NOT_SUPPORTED;
	return NULL;
}

/* Answers f with its CALLRESULT written as text into the session's
 * reused buffer: the payload text of the daemon's hook (payload, when not
 * NULL), else the keys read (no JSON tree, no allocation per key). */
static void
reply_text(struct ocpp_session *s, struct ocpp_frame *f, const char *payload)
{
	struct ocpp_text *t = &s->answer;

	t->len = 0;
	t->failed = false;
	ocpp_text_put(t, "[3,");
	ocpp_text_str(t, f->id);
	ocpp_text_raw(t, ",", 1);
	if (payload != NULL)
		ocpp_text_put(t, payload);
	else if (strcmp(f->action, "GetConfiguration") == 0)
		ocpp_get_configuration(s, f->payload, t);
	else
		ocpp_get_variables(s, f->payload, t);
	ocpp_text_raw(t, "]", 1);
	session_send_frame(s, t->failed ? NULL : t->p);
}

/* The list of items of a request that ItemsPerMessage bounds, or NULL. */
static json_t *
request_items(const struct ocpp_frame *f)
{
	static const char *const lists[][2] = {
		{ "GetConfiguration", "key" },
		{ "GetVariables", "getVariableData" },
		{ "SetVariables", "setVariableData" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(lists); i++)
		if (strcmp(f->action, lists[i][0]) == 0)
			return json_object_get(f->payload, lists[i][1]);
	return NULL;
}

/* An inbound CALL: check, handle, answer. */
void
session_on_call(struct ocpp_session *s, struct ocpp_frame *f)
{
	const struct ocpp_action_spec *spec;
	enum ocpp_rpc_error e;
	char *cause = NULL, *text = NULL;
	json_t *res;

	s->stats.calls_received++;
	spec = ocpp_action_spec(s->st.version, f->action);
	if (spec == NULL) {
		bool known = ocpp_action_known(s->st.version, f->action);
		char msg[120];

		snprintf(msg, sizeof(msg), "%s %s", f->action, known ?
		    "is not supported by this charging station" :
		    "is not an action of this OCPP version");
		session_reply_error(s, f->id, known ? OCPP_RPC_NOT_SUPPORTED :
		    OCPP_RPC_NOT_IMPLEMENTED, msg);
		return;
	}
	e = ocpp_validate(s->st.version, spec->fields, f->payload, &cause);
	if (e != OCPP_RPC_OK) {
		const char *why = cause != NULL ? cause : OCPP_NO_MEMORY_CAUSE;
		char esc[300];

		log_escape(why, strlen(why), esc, sizeof(esc));
		log_warnx("ocpp: %s rejected: %s", f->action, esc);
		session_reply_error(s, f->id, e, why);
		free(cause);
		return;
	}
	/* More items than announced (1.6 GetConfigurationMaxKeys, 2.0.1
	 * ItemsPerMessage; B06.FR.05 for GetVariables, the same for
	 * SetVariables). */
	if (json_array_size(request_items(f)) > OCPP_ITEMS_PER_MESSAGE) {
		char msg[120];

		snprintf(msg, sizeof(msg), "%s: %zu items, at most %d",
		    f->action, json_array_size(request_items(f)),
		    OCPP_ITEMS_PER_MESSAGE);
		log_warnx("ocpp: %s rejected", msg);
		session_reply_error(s, f->id, OCPP_RPC_OCCURRENCE, msg);
		return;
	}
	if (strcmp(f->action, "GetConfiguration") == 0 ||
	    strcmp(f->action, "GetVariables") == 0) {
		reply_text(s, f, NULL);
		return;
	}
	e = OCPP_RPC_OK;
	res = handle_call(s, f->action, f->payload, &e, &text);
	if (text != NULL) {
		reply_text(s, f, text);
		free(text);
		return;
	}
	if (res == NULL) {
		session_reply_error(s, f->id, e == OCPP_RPC_OK ? OCPP_RPC_INTERNAL : e,
		    "");
		return;
	}
	session_reply(s, f->id, res);
}
