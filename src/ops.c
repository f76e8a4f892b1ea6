/* What operators change on the running daemon: the configuration read
 * again (ocpp-edgectl reload, SIGHUP: the settings live, a changed
 * charger, meter or bus through the site rebuild) and the local
 * overrides of one connector (ocpp-edgectl limit, pause, resume), kept
 * in the store.  Both run on the loop and are reached through the
 * control socket's control_sources (set_local_cap, reload). */
#include "config.h"

#include "daemon.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "store/store.h"

/* ---- Reload (ocpp-edgectl reload, SIGHUP) ---------------------------- */

/* Swaps the options a reload applies live (the load-balancing settings,
 * as site_lb_from_cfg reads them, and the log level) between a and b. */
static void
swap_live(struct cfg *a, struct cfg *b)
{
	struct cfg t;

	t.balancer = a->balancer;
	t.site.available_power_w = a->site.available_power_w;
#define SWAP(f) do { a->f = b->f; b->f = t.f; } while (0)
	SWAP(balancer.mode);
	SWAP(balancer.pv_mode);
	SWAP(balancer.reserve_pct);
	SWAP(balancer.min_power_1ph_w);
	SWAP(balancer.min_power_3ph_w);
	SWAP(balancer.offline_meter_power_w);
	SWAP(balancer.offline_site_power_w);
	SWAP(site.available_power_w);
	t.log.level = a->log.level;
	SWAP(log.level);
#undef SWAP
}

/* cfg as --check-config prints it.  Caller frees. */
char *
ops_dump_text(const struct cfg *cfg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	if (fp == NULL)
		return xstrdup("");
	cfg_dump(cfg, fp);
	fclose(fp);
	return buf;
}

/* Appends to out the headers of the dump's sections ("charger \"bay1\"",
 * "csms") whose text differs between a and b. */
void
ops_changed_sections(const char *a, const char *b, json_t *out)
{
	const char *p = b;

	/* Each top-level section: a header line ending in '{' ... "}\n". */
	while ((p = strstr(p, " {\n")) != NULL) {
		const char *start = p, *end = strstr(p, "\n}\n"), *found;
		size_t hlen;
		char *head, *sec;

		while (start > b && start[-1] != '\n')
			start--;
		if (end == NULL)
			break;
		end += 3;
		hlen = (size_t)(p - start);
		head = xmalloc(hlen + 1);
		memcpy(head, start, hlen);
		head[hlen] = '\0';
		sec = xmalloc((size_t)(end - start) + 1);
		memcpy(sec, start, (size_t)(end - start));
		sec[end - start] = '\0';
		found = strstr(a, sec);
		if (found == NULL || (found != a && found[-1] != '\n'))
			json_array_append_new(out, json_string(head));
		free(head);
		free(sec);
		p = end;
	}
}

/* Applies the file's log.level now in d->cfg (file_was before the
 * reload), unless the command line set the level; a change goes into
 * applied and the log. */
static void
reload_log_level(struct daemon *d, enum log_level file_was, const char *who,
    json_t *applied)
{
	enum log_level was = log_get_level(), want = d->cfg.log.level;
	char *line = NULL;

	if (d->log_level_fixed) {
		if (want != file_was)
			log_info("%s: log.level %s in the file: the "
			    "command line's %s stays (--log-level, --debug)",
			    who, log_level_name(want), log_level_name(was));
		return;
	}
	if (want == was)
		return;
	xasprintf(&line, "log.level: %s -> %s", log_level_name(was),
	    log_level_name(want));
	/* Logged at info or more, whatever the two levels, so it shows. */
	log_set_level(want > was && want > LOG_LEVEL_INFO ? want :
	    was > LOG_LEVEL_INFO ? was : LOG_LEVEL_INFO);
	log_info("%s: %s", who, line);
	log_set_level(want);
	json_array_append_new(applied, json_string(line));
	free(line);
}

/* The sections that differ between the running configuration and next
 * other than by the live settings, added, changed or gone. */
json_t *
ops_restart_needed(struct daemon *d, struct cfg *next)
{
	json_t *restart = json_array(), *gone;
	char *old_text, *new_text;

	/* What differs besides the live settings needs a restart: the
	 * running configuration against the new one with the running live
	 * settings. */
	old_text = ops_dump_text(&d->cfg);
	swap_live(next, &d->cfg);
	new_text = ops_dump_text(next);
	swap_live(next, &d->cfg);
	ops_changed_sections(old_text, new_text, restart);
	/* ... and the sections that are gone (a charger removed). */
	gone = json_array();
	ops_changed_sections(new_text, old_text, gone);
	for (size_t i = 0; i < json_array_size(gone); i++) {
		json_t *h = json_array_get(gone, i);
		bool listed = false;

		for (size_t j = 0; j < json_array_size(restart); j++)
			listed |= json_equal(h, json_array_get(restart, j));
		if (!listed)
			json_array_append(restart, h);
	}
	json_decref(gone);
	free(old_text);
	free(new_text);
	return restart;
}

/* Makes next (checked, owned: cleared here) the running configuration as
 * far as it can be live: the load-balancing settings are applied at once
 * and listed in "applied"; the other sections that differ are listed in
 * "restart_needed"; each applied one is logged after who ("reload").
 * NULL with *error when the settings do not layer. */
json_t *
ops_apply(struct daemon *d, struct cfg *next, const char *who, char **error)
{
	struct site_lb before, lb;
	enum log_level file_level;
	bool backend[SITE_MAX_SETTINGS] = { false };
	json_t *applied = json_array(), *restart = ops_restart_needed(d, next);
	char *cause = NULL;

	before = d->site.lb;
	file_level = d->cfg.log.level;
	swap_live(&d->cfg, next);
	if (daemon_settings_layer(d, &lb, backend, &cause) != 0) {
		swap_live(&d->cfg, next);
		xasprintf(error, "settings: %s; the running configuration "
		    "stays", cause);
		free(cause);
		cfg_clear(next);
		json_decref(applied);
		json_decref(restart);
		return NULL;
	}
	memset(d->site.lb_backend, 0, sizeof(d->site.lb_backend));
	for (size_t i = 0; i < SITE_MAX_SETTINGS; i++)
		if (backend[i])
			site_mark_backend(&d->site, i);
	for (size_t i = 0; i < site_n_setting_keys; i++) {
		char a[32], b[32];

		site_lb_format(&before, i, a, sizeof(a));
		site_lb_format(&lb, i, b, sizeof(b));
		if (strcmp(a, b) != 0) {
			char *line = NULL;

			xasprintf(&line, "%s: %s -> %s", site_setting_keys[i].key,
			    a, b);
			json_array_append_new(applied, json_string(line));
			log_info("%s: %s", who, line);
			free(line);
		}
	}
	reload_log_level(d, file_level, who, applied);
	site_set_lb(&d->site, &lb);
	(void)site_update_caps(&d->site, mono_now_ms());
	d->svc.schedule_run(d->svc.ud);
	cfg_clear(next);
	return json_pack("{s:o, s:o}", "applied", applied, "restart_needed",
	    restart);
}

/* True for the header of a dump section only a restart applies: the
 * file-only sections.  The others (site and its circuits, balancer,
 * meter, southbound, each charger) the site rebuild applies. */
static bool
restart_section(const char *head)
{
	return strcmp(head, "csms") == 0 || strcmp(head, "store") == 0 ||
	    strcmp(head, "http") == 0 || strcmp(head, "log") == 0;
}

/* True when restart (ops_restart_needed's list) holds a site section. */
static bool
site_sections_in(json_t *restart)
{
	for (size_t i = 0; i < json_array_size(restart); i++)
		if (!restart_section(json_string_value(json_array_get(restart,
		    i))))
			return true;
	return false;
}

/* After ops_apply (its result r): builds site (owned: emptied here), the
 * site sections of the file read again, as a push would
 * (daemon_site_rebuild: the unchanged chargers keep their links); the
 * file-only sections keep running as they are.  The site sections move
 * from r's restart_needed to its applied.  A site that cannot be built
 * restarts the daemon, which reads the file again. */
static void
reload_site(struct daemon *d, struct cfg *site, json_t *r)
{
	json_t *restart = json_object_get(r, "restart_needed"),
	    *applied = json_object_get(r, "applied"), *left = json_array();
	char *cause = NULL;

	site->csms = d->cfg.csms;
	site->store = d->cfg.store;
	site->http = d->cfg.http;
	site->log = d->cfg.log;
	for (size_t i = 0; i < json_array_size(restart); i++) {
		json_t *h = json_array_get(restart, i);
		char *line = NULL;

		if (restart_section(json_string_value(h))) {
			json_array_append(left, h);
			continue;
		}
		xasprintf(&line, "%s: the site built again live",
		    json_string_value(h));
		json_array_append_new(applied, json_string(line));
		free(line);
	}
	json_object_set_new(r, "restart_needed", left);
	provision_log_changes(d, site, "reload");
	provision_end_removed(d, site, "reload");
	if (daemon_site_rebuild(d, site, &cause) != 0) {
		log_warnx("reload: the new site cannot be built live: %s; "
		    "restarting", cause);
		free(cause);
		d->svc.restart(d->svc.ud);
	}
}

/* The control socket's reload (and SIGHUP): reads and checks the file
 * (and the backend's site over it when one is in force); refused with
 * every error (file:line) while the running configuration stays, or when
 * a connector with a transaction would get another id; else applies the
 * load-balancing settings live, builds the site again when a site
 * section (a charger, the meter, a bus) changed, and lists the file-only
 * sections that differ as needing a restart. */
json_t *
ops_reload(void *ud, char **error)
{
	struct daemon *d = ud;
	struct cfg file, next, site;
	struct cfg_errors errors = { 0 };
	json_t *r, *restart;
	const char *what = d->config_path;
	char *why = NULL;
	bool rebuild;

	if (cfg_load(d->config_path, &file, &errors) == 0) {
		if (d->site_text == NULL)
			cfg_copy(&next, &file);
		else if (cfg_load_site("backend site", d->site_text, &file,
		    &next, &errors) != 0)
			what = "the backend's site over the file";
	}
	if (errors.n > 0) {
		char *text = NULL, *tmp;

		xasprintf(&text, "%zu error%s in %s; the running configuration "
		    "stays", errors.n, errors.n == 1 ? "" : "s", what);
		for (size_t i = 0; i < errors.n; i++) {
			xasprintf(&tmp, "%s\n%s", text, errors.msgs[i]);
			free(text);
			text = tmp;
		}
		cfg_errors_free(&errors);
		cfg_clear(&file);
		*error = text;
		return NULL;
	}
	if (d->site_text != NULL)
		strlcpy_ok(next.path, d->cfg.path, sizeof(next.path));
	restart = ops_restart_needed(d, &next);
	rebuild = site_sections_in(restart);
	json_decref(restart);
	if (rebuild && provision_check_ids(d, &next, &why) != 0) {
		xasprintf(error, "%s; the running configuration stays", why);
		free(why);
		cfg_clear(&next);
		cfg_clear(&file);
		return NULL;
	}
	if (rebuild)
		cfg_copy(&site, &next);
	r = ops_apply(d, &next, "reload", error);
	if (r == NULL) {
		if (rebuild)
			cfg_clear(&site);
		cfg_clear(&file);
		return NULL;
	}
	cfg_clear(&d->file_cfg);
	d->file_cfg = file;
	if (rebuild)
		reload_site(d, &site, r);
	restart = json_object_get(r, "restart_needed");
	for (size_t i = 0; i < json_array_size(restart); i++)
		log_warnx("reload: %s changed in %s: restart to apply it",
		    json_string_value(json_array_get(restart, i)),
		    d->config_path);
	json_object_set_new(r, "file", json_string(d->config_path));
	return r;
}

/* ---- Local overrides (ocpp-edgectl limit, pause, resume) ------------ */

/* The store key of connector k's local override. */
static void
local_key(const struct daemon *d, int k, char *buf, size_t len)
{
	snprintf(buf, len, "local-limit.%d", d->site.conns[k].ocpp_id);
}

/* The control socket's set_local_cap: the site model, the store, a run. */
int
ops_set_local_cap(void *ud, int k, int32_t cap_w, int64_t until_ms,
    char **cause)
{
	struct daemon *d = ud;
	char key[32], value[48], when[40];
	int rc;

	local_key(d, k, key, sizeof(key));
	if (cap_w == BAL_NO_CAP) {
		rc = store_setting_clear(d->store, key, cause);
	} else {
		snprintf(value, sizeof(value), "%d %lld", (int)cap_w,
		    (long long)until_ms);
		rc = store_setting_set(d->store, key, value, NULL, cause);
	}
	if (rc != 0)
		return -1;
	site_set_local_cap(&d->site, k, cap_w, until_ms);
	if (cap_w == BAL_NO_CAP)
		log_info("%s: local override lifted (ocpp-edgectl resume)",
		    d->site.conns[k].label);
	else
		log_info("%s: local %s %d W until %s (ocpp-edgectl)",
		    d->site.conns[k].label, cap_w == 0 ? "pause," : "limit",
		    (int)cap_w, until_ms > 0 ? format_rfc3339(until_ms, when,
		    sizeof(when)) : "resumed");
	d->svc.schedule_run(d->svc.ud);
	return 0;
}

/* At start: the overrides kept in the store that have not ended. */
int
ops_local_caps_load(struct daemon *d, char **cause)
{
	for (int k = 0; k < d->site.n_conns; k++) {
		enum store_setting_source src;
		char key[32], *value = NULL;
		long long w, until;

		local_key(d, k, key, sizeof(key));
		if (store_setting_get(d->store, key, NULL, &value, &src,
		    cause) != 0)
			return -1;
		if (value == NULL)
			continue;
		if (sscanf(value, "%lld %lld", &w, &until) != 2 || w < 0 ||
		    w > 1000000 || until < 0) {
			log_warnx("%s: stored local override '%s' ignored",
			    d->site.conns[k].label, value);
		} else if (until == 0 || until > wall_now_ms()) {
			site_set_local_cap(&d->site, k, (int32_t)w, until);
			log_info("%s: local override %lld W kept from before the "
			    "start", d->site.conns[k].label, w);
		} else {
			(void)store_setting_clear(d->store, key, NULL);
		}
		free(value);
	}
	return 0;
}

/* Lifts the overrides whose time is up (housekeeping). */
void
ops_local_caps_expire(struct daemon *d)
{
	int *ended = xcalloc((size_t)d->site.n_conns + 1, sizeof(*ended));
	int n = site_expire_local_caps(&d->site, wall_now_ms(), ended);

	for (int i = 0; i < n; i++) {
		char key[32];

		local_key(d, ended[i], key, sizeof(key));
		(void)store_setting_clear(d->store, key, NULL);
		log_info("%s: local override ended", d->site.conns[ended[i]].label);
	}
	free(ended);
	if (n > 0)
		d->svc.schedule_run(d->svc.ud);
}
