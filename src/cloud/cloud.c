/* The backend side of the daemon (see cloud.h): the object, its set-up
 * and its tick.  The work is in queue.c, profiles.c, commands.c and
 * station.c. */
#include "config.h"

#include "cloud/cloud-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "store/store.h"

/* How often the session's timers run and the station model is
 * refreshed. */
#define TICK_MS 100

bool
cloud_transaction(const struct cloud *c, int k, char *buf, size_t len)
{
	if (c == NULL || c->s == NULL || len == 0)
		return false;
	return ocpp_session_transaction(c->s, k, buf, len);
}

bool
cloud_tx_open(const struct cloud *c, int k)
{
	return c != NULL && c->s != NULL && ocpp_session_tx_open(c->s, k);
}

int
cloud_reset_retries(const struct cloud *c)
{
	return c != NULL && c->s != NULL ? ocpp_session_reset_retries(c->s) :
	    0;
}

int
cloud_end_tx_removed(struct cloud *c, int k)
{
	int rc;

	if (c == NULL || c->s == NULL)
		return -1;
	rc = ocpp_session_end_tx_removed(c->s, k);
	/* (the car on it would otherwise start a new one at the next tick,
	 * which the new site would never end) */
	if (k >= 1 && k <= c->ids.max_id)
		c->conn[k].absent = true;
	return rc;
}

int
cloud_after_answer(struct cloud *c, void (*fn)(void *arg), void *arg)
{
	if (c == NULL || c->s == NULL)
		return -1;
	return ocpp_session_after_sent(c->s, fn, arg);
}

void
cloud_schedule_run(struct cloud *c)
{
	c->svc->schedule_run(c->svc->ud);
}

static void
on_link_state(void *ud, bool online, bool accepted)
{
	struct cloud *c = ud;
	enum site_cloud st = online && accepted ? SITE_CLOUD_CONNECTED :
	    SITE_CLOUD_OFFLINE;

	/* A lost link is logged by the session, with its cause. */
	if (online && (online != c->last_online ||
	    accepted != c->last_accepted))
		log_info("backend connected%s", accepted ? "" :
		    " (not accepted yet)");
	c->last_online = online;
	c->last_accepted = accepted;
	if (st == SITE_CLOUD_OFFLINE && c->site->cloud == SITE_CLOUD_CONNECTING)
		return; /* still trying since start: the same clock runs */
	site_set_cloud(c->site, st, mono_now_ms(), wall_now_ms());
	(void)site_update_caps(c->site, mono_now_ms());
	cloud_apply_profiles(c);
	cloud_schedule_run(c);
}

/* Wall time moved: the profiles in force and the next change are due
 * again (their timer was armed for the old time). */
static void
on_clock_changed(void *ud)
{
	cloud_apply_profiles(ud);
}

int64_t
cloud_wall_ms(const struct cloud *c)
{
	return c != NULL && c->s != NULL ? ocpp_session_wall_ms(c->s) :
	    wall_now_ms();
}

static const struct ocpp_callbacks callbacks = {
	.remote_start = cloud_on_remote_start,
	.remote_stop = cloud_on_remote_stop,
	.unlock = cloud_on_unlock,
	.change_availability = cloud_on_availability,
	.reset = cloud_on_reset,
	.update_firmware = cloud_on_firmware,
	.config_get = cloud_on_config_get,
	.config_set = cloud_on_config_set,
	.config_changed = cloud_on_config_changed,
	.profile_action = cloud_on_profile_action,
	.link_state = on_link_state,
	.clock_changed = on_clock_changed,
};

/* ---- Set-up ----------------------------------------------------------- */

/* Applies a session key the backend changed before (kept in the store). */
static int
apply_kept(const char *key, const char *value, const char *file_value,
    void *arg)
{
	struct cloud *c = arg;

	(void)file_value;
	if (strncmp(key, CFG_PREFIX, strlen(CFG_PREFIX)) != 0)
		return 0;
	if (ocpp_settings_apply(&c->st, key + strlen(CFG_PREFIX), value) != 0)
		log_warnx("kept setting %s = %s ignored", key, value);
	return 0;
}

struct cloud *
cloud_new(const struct services *svc, const struct cfg *cfg,
    struct lws_context_creation_info *info, const void *extra_protocols,
    char **cause)
{
	struct cloud *c = xcalloc(1, sizeof(*c));
	const struct lws_protocols *p = ocpp_lws_protocols();
	const struct lws_protocols *x = extra_protocols;
	size_t n = 0;

	c->svc = svc;
	c->cfg = cfg;
	if (cfg->csms.url[0] == '\0') {
		info->protocols = x;
		return c;
	}
	for (; p->name != NULL && n < MAX_PROTOCOLS - 2; p++)
		c->protocols[n++] = *p;
	for (; x->name != NULL && n < MAX_PROTOCOLS - 1; x++)
		c->protocols[n++] = *x;
	info->protocols = c->protocols;

	ocpp_settings_defaults(&c->st);
	c->st.version = cfg->csms.ocpp_version == CFG_OCPP_201 ? OCPP_V201 :
	    OCPP_V16;
	c->st.url = cfg->csms.url;
	c->st.identity = cfg->csms.identity;
	c->st.security_profile = cfg->csms.security_profile;
	c->st.password = cfg->csms.password;
	c->st.ca_file = cfg->csms.ca_file;
	c->st.client_cert = cfg->csms.client_cert;
	c->st.client_key = cfg->csms.client_key;
	/* Certificates from the backend live beside the store. */
	{
		const char *slash = strrchr(cfg->store.path, '/');

		snprintf(c->cert_dir, sizeof(c->cert_dir), "%.*scerts",
		    slash != NULL ? (int)(slash - cfg->store.path + 1) : 0,
		    cfg->store.path);
		c->st.cert_dir = c->cert_dir;
	}
	c->st.heartbeat_interval_s = cfg->csms.heartbeat_interval_s;
	c->st.retry_backoff_min_s = cfg->csms.retry_backoff_min_s;
	c->st.retry_backoff_random_s = cfg->csms.retry_backoff_random_s;
	c->st.retry_backoff_repeat = cfg->csms.retry_backoff_repeat;
	c->st.ping_interval_s = cfg->csms.ping_interval_s;
	c->st.ping_timeout_s = cfg->csms.ping_timeout_s;
	c->st.default_id_tag = cfg->csms.id_tag;
	c->st.tx_unreachable_max_s = cfg->csms.tx_unreachable_max_s;
	c->st.time_source = cfg->csms.use_csms_time == CFG_CSMS_TIME_YES ?
	    OCPP_TIME_CSMS : cfg->csms.use_csms_time == CFG_CSMS_TIME_NO ?
	    OCPP_TIME_SYSTEM : OCPP_TIME_AUTO;
	if (ocpp_settings_check(&c->st, cause) != 0) {
		free(c);
		return NULL;
	}
	ocpp_context_info(info, &c->st);
	return c;
}

/* Every TICK_MS: the station model from the latest readings, the
 * session's timers. */
static void
on_tick(void *arg)
{
	struct cloud *c = arg;

	/* A transaction that started or ended changes which TxProfiles
	 * apply (and an ended one's are removed): evaluate again. */
	for (int k = 0; k < c->ids.n; k++) {
		int id = cloud_ids_id(&c->ids, k);

		if (ocpp_session_tx_open(c->s, id) != c->scc[id - 1].tx_active) {
			cloud_apply_profiles(c);
			cloud_schedule_run(c);
			break;
		}
	}
	cloud_station_update(c);
	cloud_limits_update(c, mono_now_ms(), wall_now_ms());
	cloud_firmware_tick(c, mono_now_ms(), wall_now_ms());
	cloud_availability_tick(c);
	cloud_install_pending(c);
	ocpp_session_service(c->s, mono_now_ms());
	c->svc->timer_arm(c->tick, TICK_MS);
}

/* A charging profile's period starts or ends: caps again, then a run. */
static void
on_profile_timer(void *arg)
{
	cloud_apply_profiles(arg);
}

/* The table of the site's connector ids into c->ids.  0, or -1 with
 * *cause. */
static int
ids_build(struct cloud *c, char **cause)
{
	const struct site *s = c->site;
	int *ids = xcalloc((size_t)s->n_conns + 1, sizeof(*ids)), rc;

	for (int k = 0; k < s->n_conns; k++)
		ids[k] = s->conns[k].ocpp_id;
	rc = cloud_ids_init(&c->ids, ids, s->n_conns, cause);
	free(ids);
	return rc;
}

/* Allocates the per-connector state for the site's connectors (after
 * ids_build); the profiles waiting for a transaction (pending, one per
 * connector of the table was, freed here) are kept for the same ids. */
static void
conns_alloc(struct cloud *c, struct sc_profile **pending,
    const struct cloud_ids *was)
{
	int n = c->site->n_conns;

	c->scc = xcalloc((size_t)c->ids.max_id + 1, sizeof(*c->scc));
	for (int id = 1; id <= c->ids.max_id; id++)
		c->scc[id - 1].absent = cloud_ids_k(&c->ids, id) < 0;
	c->limits = xcalloc((size_t)n + 1, sizeof(*c->limits));
	c->pending = xcalloc((size_t)n + 1, sizeof(*c->pending));
	for (int j = 0; pending != NULL && j < was->n; j++) {
		int k = cloud_ids_k(&c->ids, cloud_ids_id(was, j));

		if (k >= 0)
			c->pending[k] = pending[j];
		else
			sc_profile_free(pending[j]);
	}
	free(pending);
}

/* Frees the per-connector state (the station model's count of them);
 * the profiles waiting for a transaction go to *pending when not NULL. */
static void
conns_free(struct cloud *c, struct sc_profile ***pending)
{
	free(c->scc);
	free(c->limits);
	if (pending != NULL) {
		*pending = c->pending;
	} else if (c->pending != NULL) {
		for (int k = 0; k < c->ids.n; k++)
			sc_profile_free(c->pending[k]);
		free(c->pending);
	}
	free(c->avail_scheduled);
	free(c->conn);
	cloud_ids_free(&c->ids);
	c->scc = NULL;
	c->limits = NULL;
	c->pending = NULL;
	c->avail_scheduled = NULL;
	c->conn = NULL;
}

void
cloud_site_changed(struct cloud *c, struct sb *sb)
{
	struct sc_profile **pending = NULL;
	struct cloud_ids was_ids;
	char *cause = NULL;
	int was;

	c->sb = sb;
	if (c->s == NULL)
		return;
	was = c->station.n_connectors;
	was_ids = c->ids;
	memset(&c->ids, 0, sizeof(c->ids));
	conns_free(c, &pending);
	if (ids_build(c, &cause) != 0) {
		/* The backend then sees no connector at all. */
		log_errorx("the new site's connector ids: %s", cause);
		free(cause);
	}
	conns_alloc(c, pending, &was_ids);
	cloud_ids_free(&was_ids);
	cloud_firmware_resize(c);
	cloud_availability_load(c);
	cloud_station_init(c);
	cloud_station_update(c);
	ocpp_session_station_resized(c->s, was);
	cloud_apply_profiles(c);
}

int
cloud_start(struct cloud *c, struct lws_context *lws, struct store *store,
    struct site *site, struct sb *sb, char **cause)
{
	c->store = store;
	c->site = site;
	c->sb = sb;
	if (c->cfg->csms.url[0] == '\0')
		return 0;
	if (store_setting_foreach(store, apply_kept, c, cause) != 0)
		return -1;
	c->scv = c->st.version == OCPP_V201 ? SC_V201 : SC_V16;
	sc_set_init(&c->profiles);
	if (ids_build(c, cause) != 0)
		return -1;
	conns_alloc(c, NULL, NULL);
	cloud_firmware_resize(c);
	if (cloud_profiles_load(c, cause) != 0)
		return -1;
	cloud_availability_load(c);
	if (c->profiles.n > 0)
		log_info("%zu charging profile%s loaded from the store",
		    c->profiles.n, c->profiles.n == 1 ? "" : "s");

	cloud_station_init(c);
	for (size_t i = 0; i < site_n_setting_keys && i < ARRAY_SIZE(c->ext) -
	    3; i++) {
		c->ext[i].key16 = site_setting_keys[i].key16;
		c->ext[i].component = "LoadBalancer";
		c->ext[i].variable = site_setting_keys[i].variable;
		c->ext[i].readonly = false;
	}
	/* The site configuration's origin, read-only (2.0.1 device model
	 * component SiteConfiguration; 1.6 keys of the same meaning). */
	c->ext[site_n_setting_keys] = (struct ocpp_ext_key){
		"SiteConfigurationSource", "SiteConfiguration", "Source", true };
	c->ext[site_n_setting_keys + 1] = (struct ocpp_ext_key){
		"SiteConfigurationVersion", "SiteConfiguration", "Version", true };
	c->callbacks = callbacks;
	c->callbacks.ext_keys = c->ext;
	c->s = ocpp_session_new(lws, &c->st, &c->station, &c->callbacks,
	    &cloud_queue_ops, c, cause);
	if (c->s == NULL)
		return -1;
	c->tick = c->svc->timer_new(c->svc->ud, on_tick, c);
	c->profile_timer = c->svc->timer_new(c->svc->ud, on_profile_timer, c);
	c->svc->timer_arm(c->tick, TICK_MS);
	cloud_apply_profiles(c);
	return 0;
}

void
cloud_stop(struct cloud *c)
{
	if (c == NULL)
		return;
	c->svc->timer_free(c->tick);
	c->svc->timer_free(c->profile_timer);
	c->tick = c->profile_timer = NULL;
	if (c->s != NULL)
		ocpp_session_free(c->s);
	c->s = NULL;
	sc_set_free(&c->profiles);
	conns_free(c, NULL);
	c->station.n_connectors = 0;
	free(c->fw.ch);
	free(c->fw.url);
	memset(&c->fw, 0, sizeof(c->fw));
}

void
cloud_free(struct cloud *c)
{
	free(c);
}
