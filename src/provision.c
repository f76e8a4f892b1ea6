/* The site configuration from the backend (docs/provisioning.md): the
 * site sections (site, balancer, meter, southbound, charger) pushed in
 * a DataTransfer, checked by the file's own parser and checks
 * (cfg_load_site), kept in the store's key/value table with their version
 * and time, and used over the file's site sections, across restarts,
 * until the backend reverts to the file.  The file-only sections (csms,
 * store, http, log) never come from the network.
 *
 * Applying: when only the load-balancing settings differ they apply live
 * (ops_apply); a charger, the meter or a bus changed, added or removed
 * builds the site again once the answer is written (daemon_site_rebuild):
 * the unchanged chargers keep their links, setpoints and transactions.
 * Only when that fails does the daemon restart, as a backend Reset does. */
#include "config.h"

#include "daemon.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloud/cloud.h"
#include "common/log.h"
#include "common/util.h"
#include "store/store.h"

/* The store key of the backend's site: "VERSION EPOCH_MS\n" then the
 * text, one value, so it is written whole or not at all. */
#define SITE_KEY "provision.site"
/* The last version pushed, kept after a revert so versions only grow. */
#define VERSION_KEY "provision.last-version"
/* The store key of the connectors' OCPP ids as last built: a JSON object,
 * each charger's name -> its first connector's id. */
#define IDS_KEY "site.connector-ids"
/* The name of a push in its error lines ("SetSiteConfiguration:3: ..."). */
#define PUSH_NAME "SetSiteConfiguration"

/* Names the backend's site in messages and the dumps. */
static void
name_site(struct daemon *d, struct cfg *c)
{
	snprintf(c->path, sizeof(c->path), "the backend (version %d)",
	    d->site_version);
}

int
provision_load(struct daemon *d, char **cause)
{
	enum store_setting_source src;
	struct cfg_errors errors = { 0 };
	struct cfg next;
	char *value = NULL, *text;
	long long version, at;

	if (store_setting_get(d->store, VERSION_KEY, NULL, &value, &src,
	    cause) != 0)
		return -1;
	if (value != NULL && sscanf(value, "%lld", &version) == 1 &&
	    version > 0 && version < INT32_MAX)
		d->site_version = (int)version;
	free(value);
	value = NULL;
	if (store_setting_get(d->store, SITE_KEY, NULL, &value, &src,
	    cause) != 0)
		return -1;
	if (value == NULL)
		return 0;
	text = strchr(value, '\n');
	if (text == NULL || sscanf(value, "%lld %lld", &version, &at) != 2 ||
	    version <= 0 || version >= INT32_MAX || at < 0) {
		log_warnx("provisioning: the backend's site kept in the store "
		    "is damaged; the file's site is used");
		free(value);
		return 0;
	}
	text++;
	if (!d->cfg.csms.allow_remote_site) {
		log_warnx("provisioning: the backend's site (version %lld) is "
		    "kept but not used: csms.allow-remote-site = false in %s",
		    version, d->config_path);
		free(value);
		return 0;
	}
	if (cfg_load_site(PUSH_NAME, text, &d->file_cfg, &next,
	    &errors) != 0) {
		for (size_t i = 0; i < errors.n; i++)
			log_warnx("provisioning: %s", errors.msgs[i]);
		log_warnx("provisioning: the backend's site (version %lld) does "
		    "not fit %s any more; the file's site is used", version,
		    d->config_path);
		cfg_errors_free(&errors);
		free(value);
		return 0;
	}
	d->site_version = (int)version;
	d->site_set_epoch_ms = at;
	d->site_text = xstrdup(text);
	free(value);
	name_site(d, &next);
	/* The session and the loop hold pointers into d->cfg: it is
	 * replaced in place, its file-only sections unchanged. */
	cfg_clear(&d->cfg);
	d->cfg = next;
	log_info("provisioning: the site from the backend (version %d) is "
	    "used over %s: %zu charger%s", d->site_version, d->config_path,
	    d->cfg.n_chargers, d->cfg.n_chargers == 1 ? "" : "s");
	return 0;
}

void
provision_site_origin(void *ud, const char **source, int *version,
    int64_t *set_epoch_ms)
{
	struct daemon *d = ud;

	*source = d->site_text != NULL ? "backend" :
	    cfg_provisioning(&d->cfg) ? "none" : "file";
	*version = d->site_text != NULL ? d->site_version : 0;
	*set_epoch_ms = d->site_text != NULL ? d->site_set_epoch_ms : 0;
}

/* The index of charger name in c, -1 when c has none of that name. */
static int
charger_of(const struct cfg *c, const char *name)
{
	for (size_t i = 0; i < c->n_chargers; i++)
		if (strcmp(c->chargers[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* True when connector k of the site in force is not in next. */
static bool
removed_in(struct daemon *d, int k, const struct cfg *next)
{
	const struct site_conn *sc = &d->site.conns[k];
	int i = charger_of(next, d->cfg.chargers[sc->charger].name);

	return i < 0 || sc->connector > next->chargers[i].connectors;
}

int *
provision_ids_kept(struct daemon *d, const struct cfg *c)
{
	int *kept = xcalloc(c->n_chargers + 1, sizeof(*kept));
	enum store_setting_source src;
	char *value = NULL, *cause = NULL;
	json_t *o;

	if (d->store == NULL)
		return kept;
	if (store_setting_get(d->store, IDS_KEY, NULL, &value, &src,
	    &cause) != 0) {
		log_warnx("store: the connectors' ids: %s", cause);
		free(cause);
		return kept;
	}
	o = value != NULL ? json_loads(value, 0, NULL) : NULL;
	for (size_t i = 0; json_is_object(o) && i < c->n_chargers; i++) {
		json_t *v = json_object_get(o, c->chargers[i].name);

		if (json_is_integer(v) && json_integer_value(v) >= 1 &&
		    json_integer_value(v) <= CFG_MAX_OCPP_ID)
			kept[i] = (int)json_integer_value(v);
	}
	json_decref(o);
	free(value);
	return kept;
}

void
provision_ids_save(struct daemon *d)
{
	json_t *o = json_object();
	char *text, *cause = NULL;

	if (d->store == NULL || d->site.n_conns == 0) {
		json_decref(o);
		return; /* provisioning mode: the ids of before are kept */
	}
	for (int k = 0; k < d->site.n_conns; k++)
		if (d->site.conns[k].connector == 1)
			json_object_set_new(o,
			    d->cfg.chargers[d->site.conns[k].charger].name,
			    json_integer(d->site.conns[k].ocpp_id));
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	if (text == NULL || store_setting_set(d->store, IDS_KEY, text, NULL,
	    &cause) != 0) {
		log_warnx("store: keeping the connectors' ids: %s",
		    cause != NULL ? cause : "out of memory");
		free(cause);
	}
	free(text);
	json_decref(o);
}

int
provision_check_ids(struct daemon *d, const struct cfg *next, char **why)
{
	int *kept = provision_ids_kept(d, next), rc = 0;
	int *first = xcalloc(next->n_chargers + 1, sizeof(*first));
	size_t bad;

	if (cfg_assign_ids(next, kept, first, &bad) != 0) {
		xasprintf(why, "charger \"%s\": no free OCPP ids for its "
		    "connectors", next->chargers[bad].name);
		rc = -1;
	}
	for (int k = 0; rc == 0 && k < d->site.n_conns; k++) {
		const struct site_conn *sc = &d->site.conns[k];
		char tx[64];
		int id;

		if (!cloud_tx_open(d->cloud, sc->ocpp_id) ||
		    removed_in(d, k, next))
			continue;
		if (!cloud_transaction(d->cloud, sc->ocpp_id, tx, sizeof(tx)))
			strlcpy_ok(tx, "(id not known yet)", sizeof(tx));
		id = first[charger_of(next,
		    d->cfg.chargers[sc->charger].name)] + sc->connector - 1;
		if (id != sc->ocpp_id) {
			xasprintf(why, "connector %d (%s) has transaction %s "
			    "open and the new site would number it %d: keep its "
			    "ids free (ocpp-id), or end the transaction first",
			    sc->ocpp_id, sc->label, tx, id);
			rc = -1;
		}
	}
	free(first);
	free(kept);
	return rc;
}

void
provision_end_removed(struct daemon *d, const struct cfg *next,
    const char *who)
{
	for (int k = 0; k < d->site.n_conns; k++)
		if (removed_in(d, k, next) &&
		    cloud_end_tx_removed(d->cloud, d->site.conns[k].ocpp_id) == 0)
			log_info("%s: %s leaves the site: its transaction "
			    "ended", who, d->site.conns[k].label);
}

void
provision_log_changes(struct daemon *d, const struct cfg *next,
    const char *who)
{
	char *a = ops_dump_text(&d->cfg), *b = ops_dump_text(next);
	json_t *changed = json_array(), *gone = json_array();
	size_t i;

	ops_changed_sections(a, b, changed);
	ops_changed_sections(b, a, gone);
	for (i = 0; i < json_array_size(changed); i++) {
		const char *h = json_string_value(json_array_get(changed, i));
		char head[CFG_NAME_MAX + 16];

		snprintf(head, sizeof(head), "\n%s {\n", h);
		if (strncmp(h, "charger ", 8) != 0)
			log_info("%s: section %s changed", who, h);
		else
			log_info("%s: %s %s", who, h, strstr(a, head) !=
			    NULL ? "changed" : "added");
	}
	for (i = 0; i < json_array_size(gone); i++) {
		const char *h = json_string_value(json_array_get(gone, i));
		char head[CFG_NAME_MAX + 16];

		snprintf(head, sizeof(head), "\n%s {\n", h);
		if (strncmp(h, "charger ", 8) == 0 && strstr(b, head) == NULL)
			log_info("%s: %s removed", who, h);
	}
	if (d->cfg.balancer.mode != next->balancer.mode)
		log_info("%s: mode %s -> %s", who,
		    cfg_balancer_mode_name(d->cfg.balancer.mode),
		    cfg_balancer_mode_name(next->balancer.mode));
	json_decref(changed);
	json_decref(gone);
	free(a);
	free(b);
}

/* The answer is out: the new site (d->next_site) is built, or the daemon
 * restarts (it takes the site from the store). */
static void
on_apply(void *arg)
{
	struct daemon *d = arg;
	char *cause = NULL;

	if (d->next_site_pending) {
		d->next_site_pending = false;
		if (daemon_site_rebuild(d, &d->next_site, &cause) == 0) {
			if (d->site_text != NULL)
				name_site(d, &d->cfg);
			return;
		}
		log_warnx("provisioning: the new site cannot be built live: "
		    "%s; restarting", cause);
		free(cause);
	}
	log_info("provisioning: restarting to apply the new site");
	d->svc.restart(d->svc.ud);
}

/* The answer has been written: on_apply from the loop (not from inside
 * the session's own callback, which the rebuild replaces). */
static void
on_answer_sent(void *arg)
{
	struct daemon *d = arg;

	d->svc.timer_arm(d->apply_timer, 0);
}

/* Applies next (owned; NULL: restart) once the answer is written. */
static void
apply_after_answer(struct daemon *d, struct cfg *next)
{
	if (d->next_site_pending)
		cfg_clear(&d->next_site); /* a newer push replaces it */
	d->next_site_pending = next != NULL;
	if (next != NULL) {
		d->next_site = *next;
		memset(next, 0, sizeof(*next));
	}
	if (d->apply_timer == NULL)
		d->apply_timer = d->svc.timer_new(d->svc.ud, on_apply, d);
	if (cloud_after_answer(d->cloud, on_answer_sent, d) != 0)
		d->svc.timer_arm(d->apply_timer, 0);
}

/* Makes next (owned) the site in force: live when only the settings
 * changed; else the site is built again once the answer is written
 * (nothing before: a new site cap must not meet the old chargers).
 * Returns what the answer says. */
static const char *
apply(struct daemon *d, struct cfg *next)
{
	char *error = NULL;
	json_t *r = ops_restart_needed(d, next);
	size_t n = json_array_size(r);

	json_decref(r);
	provision_log_changes(d, next, "provisioning");
	provision_end_removed(d, next, "provisioning");
	/* (A site still waiting to be built is replaced whole.) */
	if (n > 0 || d->next_site_pending) {
		apply_after_answer(d, next);
		return "applied live, unchanged chargers untouched";
	}
	r = ops_apply(d, next, "provisioning", &error);
	if (r != NULL) {
		json_decref(r);
		return "applied live";
	}
	/* The site is kept: a restart takes it from the store. */
	log_warnx("provisioning: %s; restarting", error);
	free(error);
	apply_after_answer(d, NULL);
	return "applied by a restart of the gateway";
}

/* Joins the errors into lines.  Caller frees. */
static char *
join_errors(const struct cfg_errors *errors)
{
	char *text = xstrdup(""), *tmp;

	for (size_t i = 0; i < errors->n; i++) {
		xasprintf(&tmp, "%s%s%s", text, i > 0 ? "\n" : "",
		    errors->msgs[i]);
		free(text);
		text = tmp;
	}
	return text;
}

/* SetSiteConfiguration: checked, kept, applied. */
static enum svc_transfer
set_site(struct daemon *d, const char *data, char **reply)
{
	struct cfg_errors errors = { 0 };
	struct cfg next;
	char *value, *cause = NULL, vbuf[24];
	int version = d->site_version + 1;
	int64_t now = wall_now_ms();
	const char *how;

	if (data == NULL) {
		*reply = xstrdup("data: missing: allowed the site sections "
		    "(site, balancer, meter, southbound, charger) in the "
		    "configuration file's syntax");
		return SVC_TRANSFER_REJECTED;
	}
	if (cfg_load_site(PUSH_NAME, data, &d->file_cfg, &next,
	    &errors) != 0) {
		*reply = join_errors(&errors);
		log_warnx("provisioning: site refused, %zu error%s, nothing "
		    "changed", errors.n, errors.n == 1 ? "" : "s");
		for (size_t i = 0; i < errors.n; i++)
			log_info("provisioning: %s", errors.msgs[i]);
		cfg_errors_free(&errors);
		return SVC_TRANSFER_REJECTED;
	}
	if (provision_check_ids(d, &next, reply) != 0) {
		log_warnx("provisioning: site refused: %s", *reply);
		cfg_clear(&next);
		return SVC_TRANSFER_REJECTED;
	}
	xasprintf(&value, "%d %lld\n%s", version, (long long)now, data);
	snprintf(vbuf, sizeof(vbuf), "%d", version);
	if (store_setting_set(d->store, SITE_KEY, value, NULL, &cause) != 0 ||
	    store_setting_set(d->store, VERSION_KEY, vbuf, NULL, &cause) != 0) {
		xasprintf(reply, "cannot keep it in the store: %s", cause);
		log_warnx("provisioning: site refused: %s", *reply);
		free(cause);
		free(value);
		cfg_clear(&next);
		return SVC_TRANSFER_REJECTED;
	}
	free(value);
	free(d->site_text);
	d->site_text = xstrdup(data);
	d->site_version = version;
	d->site_set_epoch_ms = now;
	log_info("provisioning: site version %d from the backend accepted "
	    "(%zu charger%s)", version, next.n_chargers,
	    next.n_chargers == 1 ? "" : "s");
	how = apply(d, &next);
	name_site(d, &d->cfg);
	xasprintf(reply, "version %d: %s", version, how);
	return SVC_TRANSFER_ACCEPTED;
}

/* GetSiteConfiguration: the site in force as --check-config prints it,
 * after a line saying where it came from. */
static enum svc_transfer
get_site(struct daemon *d, char **reply)
{
	char *dump = NULL, when[40], *head;
	size_t len = 0;
	FILE *fp = open_memstream(&dump, &len);

	if (fp == NULL) {
		*reply = xstrdup("out of memory");
		return SVC_TRANSFER_REJECTED;
	}
	if (cfg_provisioning(&d->cfg))
		xasprintf(&head, "# source: none (provisioning mode: no site "
		    "yet)\n");
	else if (d->site_text != NULL)
		xasprintf(&head, "# source: backend, version %d, set %s\n",
		    d->site_version, format_rfc3339(d->site_set_epoch_ms, when,
		    sizeof(when)));
	else
		xasprintf(&head, "# source: file %s\n", d->config_path);
	fputs(head, fp);
	free(head);
	if (!cfg_provisioning(&d->cfg))
		cfg_dump_site(&d->cfg, fp);
	fclose(fp);
	*reply = dump;
	return SVC_TRANSFER_ACCEPTED;
}

/* RevertSiteConfiguration: back to the file's site (or to provisioning
 * mode when it has none). */
static enum svc_transfer
revert_site(struct daemon *d, char **reply)
{
	struct cfg next;
	char *cause = NULL;
	const char *how;

	if (d->site_text == NULL) {
		xasprintf(reply, "the site is the file's already");
		return SVC_TRANSFER_ACCEPTED;
	}
	cfg_copy(&next, &d->file_cfg);
	if (provision_check_ids(d, &next, reply) != 0) {
		log_warnx("provisioning: revert refused: %s", *reply);
		cfg_clear(&next);
		return SVC_TRANSFER_REJECTED;
	}
	if (store_setting_clear(d->store, SITE_KEY, &cause) != 0) {
		xasprintf(reply, "cannot remove it from the store: %s", cause);
		log_warnx("provisioning: revert refused: %s", *reply);
		free(cause);
		cfg_clear(&next);
		return SVC_TRANSFER_REJECTED;
	}
	log_info("provisioning: the backend reverted to the site of %s "
	    "(version %d dropped)", d->config_path, d->site_version);
	free(d->site_text);
	d->site_text = NULL;
	if (cfg_provisioning(&next)) {
		/* No site in the file: provisioning mode again, built like
		 * any other site. */
		provision_log_changes(d, &next, "provisioning");
		provision_end_removed(d, &next, "provisioning");
		apply_after_answer(d, &next);
		how = "provisioning mode";
	} else {
		how = apply(d, &next);
	}
	xasprintf(reply, "the site of %s: %s", d->config_path, how);
	return SVC_TRANSFER_ACCEPTED;
}

enum svc_transfer
provision_site_config(void *ud, const char *message_id, const char *data,
    char **reply)
{
	struct daemon *d = ud;
	bool get = strcmp(message_id, "GetSiteConfiguration") == 0;

	if (!get && strcmp(message_id, "SetSiteConfiguration") != 0 &&
	    strcmp(message_id, "RevertSiteConfiguration") != 0)
		return SVC_TRANSFER_UNKNOWN_MESSAGE_ID;
	if (get)
		return get_site(d, reply);
	if (!d->cfg.csms.allow_remote_site) {
		xasprintf(reply, "refused: csms.allow-remote-site = false in %s: "
		    "the site is set in the file only", d->config_path);
		log_warnx("provisioning: %s %s", message_id, *reply);
		return SVC_TRANSFER_REJECTED;
	}
	if (message_id[0] == 'S')
		return set_site(d, data, reply);
	return revert_site(d, reply);
}
