/* The backend's commands turned into southbound commands and settings:
 * remote start/stop, unlock, availability (kept in the store), reset,
 * firmware update, and the load-balancing keys the backend may set. */
#include "cloud/cloud-private.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "southbound/southbound.h"
#include "store/store.h"

/* ---- Callbacks: backend -> chargers ------------------------------------ */

/* Queues a command on connector k's charger; the OCPP answer. */
static enum ocpp_result
command(struct cloud *c, int k, enum sb_command cmd, const char *what)
{
	const struct site *s = c->site;
	const struct site_conn *sc;
	int rc;

	if (k < 1 || k > s->n_conns || c->sb == NULL)
		return OCPP_REJECTED;
	sc = &s->conns[k - 1];
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

	(void)id_token;
	if (profile_json != NULL) {
		if (connector < 1 || connector > c->site->n_conns ||
		    sc_profile_remote_start(c->scv, connector, profile_json, &p,
		    &v) != 0) {
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
		sc_profile_free(c->pending[connector - 1]);
		c->pending[connector - 1] = p;
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

enum ocpp_result
cloud_on_unlock(void *ud, int connector)
{
	return command(ud, connector, SB_CMD_UNLOCK, "unlock");
}

/* Saves which connectors are inoperative, with connector (0 = all) set
 * to operative or not; 0, or -1 when the store refused (logged). */
static int
availability_save(struct cloud *c, int connector, bool operative)
{
	const struct site *s = c->site;
	char *list = xstrdup(""), *next, *cause = NULL;
	int rc;

	for (int k = 0; k < s->n_conns; k++) {
		bool off = connector == 0 || connector == k + 1 ? !operative :
		    s->inoperative[k];

		if (!off)
			continue;
		xasprintf(&next, "%s%s%d", list, list[0] != '\0' ? "," : "",
		    k + 1);
		free(list);
		list = next;
	}
	if (list[0] == '\0')
		rc = store_setting_clear(c->store, AVAIL_KEY, &cause);
	else
		rc = store_setting_set(c->store, AVAIL_KEY, list, NULL,
		    &cause);
	if (rc != 0) {
		log_warnx("store: availability: %s", cause);
		free(cause);
	}
	free(list);
	return rc != 0 ? -1 : 0;
}

/* At start: makes the connectors the backend left inoperative so again. */
void
cloud_availability_load(struct cloud *c)
{
	struct site *s = c->site;
	char *value = NULL, *cause = NULL, *p, *end, esc[64];
	long k;

	if (store_setting_get(c->store, AVAIL_KEY, NULL, &value, NULL,
	    &cause) != 0) {
		log_warnx("store: availability: %s", cause);
		free(cause);
		return;
	}
	for (p = value; p != NULL && *p != '\0'; p = *end == ',' ? end + 1 :
	    end) {
		k = strtol(p, &end, 10);
		if (end == p) {
			log_warnx("kept availability '%s' is not a list of "
			    "connectors: ignored", log_escape(value,
			    strlen(value), esc, sizeof(esc)));
			break;
		}
		if (k < 1 || k > s->n_conns) {
			log_warnx("kept availability: connector %ld is not "
			    "1..%d: ignored", k, s->n_conns);
			continue;
		}
		site_set_inoperative(s, (int)k - 1, true);
		log_info("connector %ld inoperative (kept from the backend)",
		    k);
	}
	free(value);
}

enum ocpp_result
cloud_on_availability(void *ud, int connector, bool operative)
{
	struct cloud *c = ud;

	if (connector < 0 || connector > c->site->n_conns)
		return OCPP_REJECTED;
	/* Persisted first: a change the gateway would forget on restart is
	 * refused rather than accepted. */
	if (availability_save(c, connector, operative) != 0)
		return OCPP_REJECTED;
	/* The chargers have no availability register: the gateway keeps
	 * them at 0 W while inoperative. */
	for (int k = 0; k < c->site->n_conns; k++)
		if (connector == 0 || connector == k + 1)
			site_set_inoperative(c->site, k, !operative);
	cloud_schedule_run(c);
	log_info("connector %d %s (backend)", connector, operative ?
	    "operative" : "inoperative");
	return OCPP_ACCEPTED;
}

void
cloud_on_reset(void *ud, bool hard)
{
	struct cloud *c = ud;

	log_info("%s reset asked by the backend: restarting", hard ? "hard" :
	    "soft");
	c->svc->restart(c->svc->ud);
}

enum ocpp_result
cloud_on_firmware(void *ud, const char *url, int64_t retrieve_ms)
{
	struct cloud *c = ud;
	int sent = 0;

	(void)retrieve_ms;
	if (c->sb == NULL)
		return OCPP_REJECTED;
	for (int ch = 0; ch < c->site->n_chargers; ch++)
		if (sb_submit_command(c->sb, (size_t)ch, 0, SB_CMD_FIRMWARE,
		    0, url, NULL) == 0)
			sent++;
	log_info("firmware update handed to %d charger%s", sent,
	    sent == 1 ? "" : "s");
	if (sent == 0)
		return OCPP_REJECTED;
	(void)ocpp_session_firmware_status(c->s, "Installing");
	return OCPP_ACCEPTED;
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

	if (i >= site_n_setting_keys)
		return -1;
	site_lb_format(&c->site->lb, i, buf, len);
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
