/* The backend side of the daemon (see cloud.h): the OCPP session wired to
 * the site model, the store and the southbound, and the charging profiles
 * of the smart-charging engine turned into the balancer's caps. */
#include "config.h"

#include "cloud/cloud-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "daemon.h"
#include "southbound/southbound.h"
#include "store/store.h"

struct cloud cloud_state;

bool
cloud_transaction(const struct daemon *d, int k, char *buf, size_t len)
{
	struct cloud *c = &cloud_state;

	(void)d;
	if (c->s == NULL || len == 0)
		return false;
	cloud_tx_of(c, k, buf, len);
	return buf[0] != '\0';
}


static void
cb_link_state(void *ud, bool online, bool accepted)
{
	struct cloud *c = ud;
	struct daemon *d = c->d;
	enum site_cloud st = online && accepted ? SITE_CLOUD_CONNECTED :
	    SITE_CLOUD_OFFLINE;

	if (online != c->last_online || accepted != c->last_accepted)
		log_info("backend %s%s", online ? "connected" : "unreachable",
		    online && !accepted ? " (not accepted yet)" : "");
	c->last_online = online;
	c->last_accepted = accepted;
	if (st == SITE_CLOUD_OFFLINE && d->site.cloud == SITE_CLOUD_CONNECTING)
		return; /* still trying since start: the same clock runs */
	site_set_cloud(&d->site, st, mono_now_ms(), wall_now_ms());
	(void)site_update_caps(&d->site, mono_now_ms());
	(void)cloud_apply_profiles(d);
	daemon_schedule_run(d);
}

static struct ocpp_callbacks callbacks = {
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
	.link_state = cb_link_state,
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

int
cloud_prepare(struct daemon *d, struct lws_context_creation_info *info,
    const void *extra_protocols, char **cause)
{
	struct cloud *c = &cloud_state;
	const struct lws_protocols *p = ocpp_lws_protocols();
	const struct lws_protocols *x = extra_protocols;
	size_t n = 0;

	memset(c, 0, sizeof(*c));
	c->d = d;
	if (d->cfg.csms.url[0] == '\0') {
		info->protocols = x;
		return 0;
	}
	for (; p->name != NULL && n < MAX_PROTOCOLS - 2; p++)
		c->protocols[n++] = *p;
	for (; x->name != NULL && n < MAX_PROTOCOLS - 1; x++)
		c->protocols[n++] = *x;
	info->protocols = c->protocols;

	ocpp_settings_defaults(&c->st);
	c->st.version = d->cfg.csms.ocpp_version == CFG_OCPP_201 ? OCPP_V201 :
	    OCPP_V16;
	c->st.url = d->cfg.csms.url;
	c->st.identity = d->cfg.csms.identity;
	c->st.security_profile = d->cfg.csms.security_profile;
	c->st.password = d->cfg.csms.password;
	c->st.ca_file = d->cfg.csms.ca_file;
	c->st.client_cert = d->cfg.csms.client_cert;
	c->st.client_key = d->cfg.csms.client_key;
	c->st.heartbeat_interval_s = d->cfg.csms.heartbeat_interval_s;
	c->st.retry_backoff_min_s = d->cfg.csms.retry_backoff_min_s;
	c->st.retry_backoff_random_s = d->cfg.csms.retry_backoff_random_s;
	c->st.retry_backoff_repeat = d->cfg.csms.retry_backoff_repeat;
	c->st.ping_interval_s = d->cfg.csms.ping_interval_s;
	c->st.ping_timeout_s = d->cfg.csms.ping_timeout_s;
	if (ocpp_settings_check(&c->st, cause) != 0)
		return -1;
	ocpp_context_info(info, &c->st);
	return 0;
}

int
cloud_init(struct daemon *d, char **cause)
{
	struct cloud *c = &cloud_state;
	struct site *s = &d->site;

	if (d->cfg.csms.url[0] == '\0')
		return 0;
	if (store_setting_foreach(d->store, apply_kept, c, cause) != 0)
		return -1;
	c->scv = c->st.version == OCPP_V201 ? SC_V201 : SC_V16;
	sc_set_init(&c->profiles);
	c->scc = xcalloc((size_t)s->n_conns + 1, sizeof(*c->scc));
	c->held = xcalloc((size_t)s->n_conns + 1, sizeof(*c->held));
	c->pending = xcalloc((size_t)s->n_conns + 1, sizeof(*c->pending));
	if (cloud_profiles_load(c, cause) != 0)
		return -1;
	cloud_availability_load(c);
	if (c->profiles.n > 0)
		log_info("%zu charging profile%s loaded from the store",
		    c->profiles.n, c->profiles.n == 1 ? "" : "s");

	c->conn = xcalloc((size_t)s->n_conns + 1, sizeof(*c->conn));
	c->station.vendor = "ocpp-edge";
	c->station.model = "site-gateway";
	c->station.serial = d->cfg.site.id;
	c->station.firmware = PACKAGE_VERSION;
	c->station.n_connectors = s->n_conns;
	c->station.conn = c->conn;
	for (int k = 0; k <= s->n_conns; k++) {
		c->conn[k].status = OCPP_ST_AVAILABLE;
		c->conn[k].phases = k == 0 ? s->bsite.phases :
		    d->cfg.chargers[s->conns[k - 1].charger].phases;
	}
	for (size_t i = 0; i < site_n_setting_keys && i < ARRAY_SIZE(c->ext) -
	    1; i++) {
		c->ext[i].key16 = site_setting_keys[i].key16;
		c->ext[i].component = "LoadBalancer";
		c->ext[i].variable = site_setting_keys[i].variable;
		c->ext[i].readonly = false;
	}
	callbacks.ext_keys = c->ext;
	c->s = ocpp_session_new(d->lws, &c->st, &c->station, &callbacks,
	    &cloud_queue_ops, c, cause);
	if (c->s == NULL)
		return -1;
	(void)cloud_apply_profiles(d);
	return 0;
}

void
cloud_finalise(struct daemon *d)
{
	struct cloud *c = &cloud_state;

	if (c->s != NULL)
		ocpp_session_free(c->s);
	c->s = NULL;
	sc_set_free(&c->profiles);
	free(c->scc);
	free(c->held);
	c->held = NULL;
	if (c->pending != NULL)
		for (int k = 0; k < d->site.n_conns; k++)
			sc_profile_free(c->pending[k]);
	free(c->pending);
	c->pending = NULL;
	free(c->conn);
	c->scc = NULL;
	c->conn = NULL;
}



void
cloud_service(struct daemon *d, int64_t now_ms)
{
	struct cloud *c = &cloud_state;
	const struct site *s = &d->site;

	if (c->s == NULL)
		return;
	/* A transaction that started or ended changes which TxProfiles
	 * apply (and an ended one's are removed): evaluate again. */
	for (int k = 0; k < s->n_conns; k++) {
		if (cloud_tx_running(s->bconns[k].state) != c->scc[k].tx_active) {
			(void)cloud_apply_profiles(d);
			daemon_schedule_run(d);
			break;
		}
	}
	cloud_station_update(c);
	cloud_install_pending(c);
	ocpp_session_service(c->s, now_ms);
}
