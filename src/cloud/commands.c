/* The backend's commands turned into southbound commands and settings:
 * remote start/stop, unlock, availability (kept in the store), reset,
 * and the load-balancing keys the backend may set (firmware.c: the
 * firmware update). */
#include "cloud/cloud-private.h"

#include <jansson.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "southbound/southbound.h"
#include "store/store.h"

/* ---- Callbacks: backend -> chargers ------------------------------------ */

/* Queues a command on the charger of the connector with OCPP id id; the
 * OCPP answer. */
static enum ocpp_result
command(struct cloud *c, int id, enum sb_command cmd, const char *what)
{
	const struct site *s = c->site;
	const struct site_conn *sc;
	int k = cloud_ids_k(&c->ids, id), rc;

	if (k < 0 || c->sb == NULL)
		return OCPP_REJECTED;
	sc = &s->conns[k];
	rc = sb_submit_command(c->sb, (size_t)sc->charger, sc->connector,
	    cmd, 0, NULL, NULL);
	if (rc != 0) {
		log_info("%s on %s refused: %s", what, sc->label, sb_strerror(rc));
		return rc == SB_ERR_UNSUPPORTED ? OCPP_NOT_SUPPORTED :
		    OCPP_REJECTED;
	}
	log_info("%s on %s (backend)", what, sc->label);
	return OCPP_ACCEPTED;
}

enum ocpp_result
cloud_on_remote_start(void *ud, int connector, const char *id_token,
    const char *profile_json)
{
	struct cloud *c = ud;
	struct sc_profile *p = NULL;
	struct sc_verdict v;
	enum ocpp_result r;
	int k = cloud_ids_k(&c->ids, connector);

	(void)id_token;
	if (profile_json != NULL) {
		if (k < 0 || sc_profile_remote_start(c->scv, connector,
		    profile_json, &p, &v) != 0) {
			log_info("remote start on connector %d refused: its "
			    "charging profile: %s", connector,
			    p == NULL ? v.reason : "bad connector");
			sc_profile_free(p);
			return OCPP_REJECTED;
		}
	}
	r = command(ud, connector, SB_CMD_START, "start");
	if (r == OCPP_ACCEPTED && p != NULL) {
		/* Installed once the transaction runs (K05). */
		sc_profile_free(c->pending[k]);
		c->pending[k] = p;
		c->n_pending++;
	} else {
		sc_profile_free(p);
	}
	return r;
}


enum ocpp_result
cloud_on_remote_stop(void *ud, int connector)
{
	return command(ud, connector, SB_CMD_STOP, "stop");
}

/* Unlock: a charger holds the cable while it charges, so a connector
 * still charging (1.6 §5.19: its transaction was just ended) is stopped
 * first; the charger runs its commands in order. */
enum ocpp_result
cloud_on_unlock(void *ud, int connector)
{
	struct cloud *c = ud;
	enum ocpp_result r;
	int k = cloud_ids_k(&c->ids, connector);

	if (k >= 0) {
		switch (c->site->bconns[k].state) {
		case BAL_ST_CHARGING:
		case BAL_ST_SUSPENDED_EV:
		case BAL_ST_SUSPENDED_EVSE:
			r = command(c, connector, SB_CMD_STOP, "stop to unlock");
			if (r != OCPP_ACCEPTED)
				return r;
			break;
		default:
			break;
		}
	}
	return command(c, connector, SB_CMD_UNLOCK, "unlock");
}

/* Writes the OCPP ids of the connectors k for which set[k] holds to
 * key as a comma list (absent when none); 0, or -1 when the store refused
 * (logged). */
static int
save_list(struct cloud *c, const char *key, const bool *set)
{
	char *list = xstrdup(""), *next, *cause = NULL;
	int rc;

	for (int k = 0; k < c->site->n_conns; k++) {
		if (!set[k])
			continue;
		xasprintf(&next, "%s%s%d", list, list[0] != '\0' ? "," : "",
		    cloud_ids_id(&c->ids, k));
		free(list);
		list = next;
	}
	if (list[0] == '\0')
		rc = store_setting_clear(c->store, key, &cause);
	else
		rc = store_setting_set(c->store, key, list, NULL, &cause);
	if (rc != 0) {
		log_warnx("store: availability: %s", cause);
		free(cause);
	}
	free(list);
	return rc != 0 ? -1 : 0;
}

/* Reads key's comma list of connector ids into set (n_conns entries,
 * by site connector). */
static void
load_list(struct cloud *c, const char *key, bool *set)
{
	char *value = NULL, *cause = NULL, *p, *end, esc[64];
	long id;
	int k;

	if (store_setting_get(c->store, key, NULL, &value, NULL,
	    &cause) != 0) {
		log_warnx("store: availability: %s", cause);
		free(cause);
		return;
	}
	for (p = value; p != NULL && *p != '\0'; p = *end == ',' ? end + 1 :
	    end) {
		id = strtol(p, &end, 10);
		if (end == p) {
			log_warnx("kept availability '%s' is not a list of "
			    "connectors: ignored", log_escape(value,
			    strlen(value), esc, sizeof(esc)));
			break;
		}
		k = id >= 1 && id <= CLOUD_IDS_MAX ? cloud_ids_k(&c->ids,
		    (int)id) : -1;
		if (k < 0) {
			log_warnx("kept availability: connector %ld is not "
			    "one of the site's: ignored", id);
			continue;
		}
		set[k] = true;
	}
	free(value);
}

/* At start: makes the connectors the backend left inoperative so again,
 * and keeps the changes scheduled for the end of a transaction. */
void
cloud_availability_load(struct cloud *c)
{
	struct site *s = c->site;
	bool *off = xcalloc((size_t)s->n_conns + 1, sizeof(*off));

	c->avail_scheduled = xcalloc((size_t)s->n_conns + 1,
	    sizeof(*c->avail_scheduled));
	load_list(c, AVAIL_KEY, off);
	load_list(c, AVAIL_SCHEDULED_KEY, c->avail_scheduled);
	for (int k = 0; k < s->n_conns; k++) {
		if (off[k]) {
			site_set_inoperative(s, k, true);
			log_info("connector %d inoperative (kept from the "
			    "backend)", cloud_ids_id(&c->ids, k));
		} else if (c->avail_scheduled[k]) {
			log_info("connector %d inoperative once its "
			    "transaction ends (kept from the backend)",
			    cloud_ids_id(&c->ids, k));
		}
	}
	free(off);
}

/* Saves the availability in force and the one scheduled. */
static int
availability_save(struct cloud *c, const bool *off, const bool *scheduled)
{
	if (save_list(c, AVAIL_KEY, off) != 0)
		return -1;
	return save_list(c, AVAIL_SCHEDULED_KEY, scheduled);
}

enum ocpp_result
cloud_on_availability(void *ud, int connector, bool operative)
{
	struct cloud *c = ud;
	struct site *s = c->site;
	bool *off, *sched, any_scheduled = false;
	int rc;

	if (connector != 0 && cloud_ids_k(&c->ids, connector) < 0)
		return OCPP_REJECTED;
	off = xcalloc((size_t)s->n_conns + 1, sizeof(*off));
	sched = xcalloc((size_t)s->n_conns + 1, sizeof(*sched));
	for (int k = 0; k < s->n_conns; k++) {
		off[k] = s->inoperative[k];
		sched[k] = c->avail_scheduled[k];
		if (connector != 0 && connector != cloud_ids_id(&c->ids, k))
			continue;
		if (operative) {
			off[k] = sched[k] = false;
		} else if (!off[k] && ocpp_session_tx_open(c->s,
		    cloud_ids_id(&c->ids, k))) {
			/* 1.6 §5.2, 2.0.1 G03.FR.05: during a transaction
			 * the change waits for its end. */
			sched[k] = any_scheduled = true;
		} else {
			off[k] = true;
		}
	}
	/* Persisted first: a change the gateway would forget on restart is
	 * refused rather than accepted. */
	rc = availability_save(c, off, sched);
	if (rc == 0) {
		/* The chargers have no availability register: the gateway
		 * keeps them at 0 W while inoperative. */
		for (int k = 0; k < s->n_conns; k++) {
			site_set_inoperative(s, k, off[k]);
			c->avail_scheduled[k] = sched[k];
		}
		cloud_schedule_run(c);
		log_info("connector %d %s (backend)", connector, operative ?
		    "operative" : any_scheduled ? "inoperative once its "
		    "transaction ends" : "inoperative");
	}
	free(off);
	free(sched);
	if (rc != 0)
		return OCPP_REJECTED;
	return any_scheduled ? OCPP_SCHEDULED : OCPP_ACCEPTED;
}

void
cloud_availability_tick(struct cloud *c)
{
	struct site *s = c->site;
	bool *off, due = false;

	for (int k = 0; k < s->n_conns; k++)
		if (c->avail_scheduled[k] && !ocpp_session_tx_open(c->s,
		    cloud_ids_id(&c->ids, k)))
			due = true;
	if (!due)
		return;
	off = xcalloc((size_t)s->n_conns + 1, sizeof(*off));
	for (int k = 0; k < s->n_conns; k++) {
		int id = cloud_ids_id(&c->ids, k);

		off[k] = s->inoperative[k];
		if (c->avail_scheduled[k] && !ocpp_session_tx_open(c->s, id)) {
			c->avail_scheduled[k] = false;
			off[k] = true;
			log_info("connector %d inoperative: its transaction "
			    "ended", id);
		}
	}
	(void)availability_save(c, off, c->avail_scheduled);
	for (int k = 0; k < s->n_conns; k++)
		site_set_inoperative(s, k, off[k]);
	free(off);
	cloud_schedule_run(c);
}

void
cloud_on_reset(void *ud, bool hard)
{
	struct cloud *c = ud;

	log_info("%s reset asked by the backend: restarting", hard ? "hard" :
	    "soft");
	c->svc->restart(c->svc->ud);
}

/* The index of an ext key in site_setting_keys. */
static size_t
ext_index(const struct cloud *c, const struct ocpp_ext_key *k)
{
	return (size_t)(k - c->ext);
}

int
cloud_on_config_get(void *ud, const struct ocpp_ext_key *k, char *buf,
    size_t len)
{
	struct cloud *c = ud;
	size_t i = ext_index(c, k);
	const char *source = "file";
	int version = 0;
	int64_t at = 0;

	if (i < site_n_setting_keys) {
		site_lb_format(&c->site->lb, i, buf, len);
		return 0;
	}
	if (i > site_n_setting_keys + 1)
		return -1;
	/* SiteConfiguration's Source and Version. */
	if (c->svc->site_origin != NULL)
		c->svc->site_origin(c->svc->ud, &source, &version, &at);
	if (i == site_n_setting_keys)
		snprintf(buf, len, "%s", source);
	else
		snprintf(buf, len, "%d", version);
	return 0;
}

enum ocpp_result
cloud_on_config_set(void *ud, const struct ocpp_ext_key *k, const char *value,
    char **cause)
{
	struct cloud *c = ud;
	struct site_lb lb = c->site->lb, file;
	size_t i = ext_index(c, k);
	char fv[32], *why = NULL;

	if (i >= site_n_setting_keys)
		return OCPP_UNKNOWN;
	if (site_lb_parse(&lb, c->cfg, i, value, cause) != 0)
		return OCPP_REJECTED;
	/* Persisted before it takes effect. */
	site_lb_from_cfg(c->cfg, &file);
	if (store_setting_set(c->store, site_setting_keys[i].key, value,
	    site_lb_format(&file, i, fv, sizeof(fv)), &why) != 0) {
		xasprintf(cause, "cannot persist: %s", why);
		free(why);
		return OCPP_REJECTED;
	}
	site_set_lb(c->site, &lb);
	site_mark_backend(c->site, i);
	(void)site_update_caps(c->site, mono_now_ms());
	cloud_schedule_run(c);
	log_info("settings: %s = %s (backend)", site_setting_keys[i].key, value);
	return OCPP_ACCEPTED;
}

void
cloud_on_config_changed(void *ud, const char *key16, const char *value)
{
	struct cloud *c = ud;
	char k[96], *cause = NULL;

	snprintf(k, sizeof(k), CFG_PREFIX "%s", key16);
	if (store_setting_set(c->store, k, value, NULL, &cause) != 0) {
		log_warnx("store: %s not kept: %s", key16, cause);
		free(cause);
	}
}

/* The vendorId of the gateway's own DataTransfer messages. */
#define VENDOR_ID "ocpp-edge"

char *
cloud_data_transfer(struct cloud *c, const char *payload,
    enum ocpp_rpc_error *error)
{
	static const char *const status[] = {
		[SVC_TRANSFER_ACCEPTED] = "Accepted",
		[SVC_TRANSFER_REJECTED] = "Rejected",
		[SVC_TRANSFER_UNKNOWN_MESSAGE_ID] = "UnknownMessageId",
	};
	json_t *p = json_loads(payload, 0, NULL), *jd, *res;
	const char *vendor = json_string_value(json_object_get(p, "vendorId"));
	const char *message = json_string_value(json_object_get(p, "messageId"));
	enum svc_transfer r;
	char *reply = NULL, *out;

	if (vendor == NULL) {
		json_decref(p);
		*error = OCPP_RPC_FORMAT;
		return NULL;
	}
	if (strcmp(vendor, VENDOR_ID) != 0 || c->svc->site_config == NULL) {
		json_decref(p);
		return xstrdup("{\"status\":\"UnknownVendorId\"}");
	}
	jd = json_object_get(p, "data");
	if (message == NULL) {
		r = SVC_TRANSFER_UNKNOWN_MESSAGE_ID;
	} else if (jd != NULL && !json_is_string(jd)) {
		/* 2.0.1 allows any JSON: the site is text in the file's
		 * syntax, as in 1.6. */
		r = SVC_TRANSFER_REJECTED;
		reply = xstrdup("data: not text: allowed the site sections in "
		    "the configuration file's syntax, as one string");
	} else {
		r = c->svc->site_config(c->svc->ud, message,
		    json_string_value(jd), &reply);
	}
	res = json_pack("{s:s}", "status", status[r]);
	if (reply != NULL)
		json_object_set_new(res, "data", json_string(reply));
	out = json_dumps(res, JSON_COMPACT);
	json_decref(res);
	json_decref(p);
	free(reply);
	return out;
}
