/* The site model: configuration -> balancer and southbound structs,
 * readings in, caps composed, setpoints out (see site.h). */
#include "site/site-private.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"

/* Fills the balancer settings from cfg and lb. */
static void
fill_settings(struct site *s)
{
	const struct cfg *cfg = s->cfg;

	bal_settings_default(&s->settings);
	s->settings.mode = (enum bal_mode)s->lb.mode;
	s->settings.pv_mode = (enum bal_pv_mode)s->lb.pv_mode;
	s->settings.reserve_pct = s->lb.reserve_pct;
	s->settings.min_power_1ph_w = s->lb.min_power_1ph_w;
	s->settings.min_power_3ph_w = s->lb.min_power_3ph_w;
	s->settings.offline_meter_power_w = s->lb.offline_meter_power_w;
	s->settings.meter_max_age_ms = cfg->meter.max_age_s * 1000;
	s->settings.resolution_w = cfg->balancer.resolution_w;
	s->bsite.available_power_w = s->lb.available_power_w;
	s->meter_used = s->lb.mode != CFG_BAL_DLB;
}

/* Orders the configuration's circuits parents first behind circuit 0 (the
 * main connection).  Returns 0, or -1 with *cause. */
static int
build_circuits(struct site *s, char **cause)
{
	const struct cfg *cfg = s->cfg;
	size_t n = cfg->site.n_circuits, placed = 0;
	int next = 1;

	if (n + 1 > BAL_MAX_CIRCUITS) {
		xasprintf(cause, "%zu circuits: at most %d", n,
		    BAL_MAX_CIRCUITS - 1);
		return -1;
	}
	s->circuits[0].parent = BAL_NONE;
	s->circuits[0].max_current_ma = cfg->site.main_breaker_a * 1000;
	for (size_t i = 0; i < n; i++)
		s->circuit_of_cfg[i] = -1;
	while (placed < n) {
		size_t before = placed;

		for (size_t i = 0; i < n; i++) {
			const struct cfg_circuit *ci = &cfg->site.circuits[i];
			int parent;

			if (s->circuit_of_cfg[i] >= 0)
				continue;
			if (ci->parent_index < 0)
				parent = 0;
			else if (s->circuit_of_cfg[ci->parent_index] >= 0)
				parent = s->circuit_of_cfg[ci->parent_index];
			else
				continue;
			s->circuits[next].parent = parent;
			s->circuits[next].max_current_ma = ci->max_current_a * 1000;
			s->circuit_of_cfg[i] = next++;
			placed++;
		}
		if (placed == before) {
			xasprintf(cause, "circuits form a loop");
			return -1;
		}
	}
	s->bsite.circuits = s->circuits;
	s->bsite.n_circuits = next;
	return 0;
}

int
site_init(struct site *s, const struct cfg *cfg, const struct site_lb *lb,
    const int *kept, char **cause)
{
	struct bal_input in;
	char err[256];
	int k = 0, *first;
	size_t bad;

	memset(s, 0, sizeof(*s));
	first = xcalloc(cfg->n_chargers + 1, sizeof(*first));
	if (cfg_assign_ids(cfg, kept, first, &bad) != 0) {
		xasprintf(cause, "charger \"%s\": no free OCPP ids for its "
		    "connectors", cfg->chargers[bad].name);
		free(first);
		return -1;
	}
	s->cfg = cfg;
	if (lb != NULL)
		s->lb = *lb;
	else
		site_lb_from_cfg(cfg, &s->lb);
	s->bsite.phases = cfg_distribution_phases(cfg->site.distribution);
	s->bsite.nominal_voltage_v = cfg->site.nominal_voltage_v;
	s->bsite.cloud_cap_w = BAL_NO_CAP;
	for (int p = 0; p < s->bsite.phases; p++)
		s->bsite.phase_max_ma[p] = cfg->site.main_breaker_a * 1000;
	if (build_circuits(s, cause) != 0) {
		free(first);
		return -1;
	}
	fill_settings(s);

	s->n_chargers = (int)cfg->n_chargers;
	for (size_t i = 0; i < cfg->n_chargers; i++)
		s->n_conns += cfg->chargers[i].connectors;
	s->chargers = xcalloc((size_t)s->n_chargers + 1, sizeof(*s->chargers));
	s->readings = xcalloc((size_t)s->n_chargers + 1, sizeof(*s->readings));
	s->offline_w = xcalloc((size_t)s->n_chargers + 1, sizeof(*s->offline_w));
	s->bconns = xcalloc((size_t)s->n_conns + 1, sizeof(*s->bconns));
	s->conns = xcalloc((size_t)s->n_conns + 1, sizeof(*s->conns));
	s->out = xcalloc((size_t)s->n_conns + 1, sizeof(*s->out));
	s->inoperative = xcalloc((size_t)s->n_conns + 1,
	    sizeof(*s->inoperative));
	s->phase = xcalloc((size_t)s->n_chargers + 1, sizeof(*s->phase));
	s->state = xmalloc(sizeof(*s->state));
	s->work = xmalloc(bal_work_size());
	bal_state_init(s->state);

	for (int c = 0; c < s->n_chargers; c++) {
		const struct cfg_charger *cc = &cfg->chargers[c];
		struct bal_charger *bc = &s->chargers[c];

		s->offline_w[c] = cc->offline_power_w;
		bc->online = false;
		bc->phases = cc->phases;
		bc->wired_phase = s->bsite.phases == 3 ? (int)cc->wired_phase : 0;
		bc->unit = cc->control_unit == CFG_CONTROL_CURRENT ? BAL_UNIT_A :
		    BAL_UNIT_W;
		bc->circuit = cc->circuit_index < 0 ? 0 :
		    s->circuit_of_cfg[cc->circuit_index];
		bc->offline_power_w = cc->offline_power_w;
		bc->max_power_w = cc->max_power_w;
		bc->resolution_w = cc->model == CFG_MODEL_DC ? 1000 : 0;
		s->readings[c].index = (size_t)c;
		s->readings[c].status = -1;
		for (int j = 0; j < SB_MAX_CONNECTORS; j++)
			s->readings[c].conn[j].status = -1;
		for (int j = 1; j <= cc->connectors; j++, k++) {
			struct bal_connector *bn = &s->bconns[k];
			struct site_conn *sc = &s->conns[k];

			bn->charger = c;
			bn->state = BAL_ST_AVAILABLE;
			bn->rated_max_w = cc->max_power_w;
			bn->configured_max_w = 0;
			bn->profile_cap_w = BAL_NO_CAP;
			sc->charger = c;
			sc->connector = j;
			sc->ocpp_id = first[c] + j - 1;
			snprintf(sc->label, sizeof(sc->label), "%s/%d", cc->name, j);
			sc->profile_cap_w = BAL_NO_CAP;
			sc->local_cap_w = BAL_NO_CAP;
			sc->written_w = -1;
		}
	}
	free(first);
	site_phase_init(s);
	snprintf(s->listen, sizeof(s->listen), "%s%s%s:%d",
	    strchr(cfg->southbound.listen_host, ':') ? "[" : "",
	    cfg->southbound.listen_host[0] != '\0' ?
	    cfg->southbound.listen_host : "0.0.0.0",
	    strchr(cfg->southbound.listen_host, ':') ? "]" : "",
	    cfg->southbound.listen_port);
	s->profile_site_cap_w = BAL_NO_CAP;
	s->profile_site_id = -1;
	s->cap_w = s->lb.available_power_w;
	s->cap_source = SITE_CAP_CONFIG;
	s->cloud = cfg->csms.url[0] == '\0' ? SITE_CLOUD_DISABLED :
	    SITE_CLOUD_CONNECTING;
	s->meter.healthy = false;
	s->meter.age_ms = INT32_MAX;
	s->dirty = true;
	s->offline_dirty = false;

	memset(&in, 0, sizeof(in));
	in.site = &s->bsite;
	in.meter = &s->meter;
	in.settings = &s->settings;
	in.chargers = s->chargers;
	in.n_chargers = s->n_chargers;
	in.connectors = s->bconns;
	in.n_connectors = s->n_conns;
	if (bal_check(&in, err, sizeof(err)) != 0) {
		xasprintf(cause, "the balancer refuses the site: %s", err);
		site_free(s);
		return -1;
	}
	return 0;
}

void
site_free(struct site *s)
{
	free(s->chargers);
	free(s->readings);
	free(s->offline_w);
	free(s->bconns);
	free(s->conns);
	free(s->out);
	free(s->inoperative);
	s->inoperative = NULL;
	free(s->phase);
	s->phase = NULL;
	free(s->state);
	free(s->work);
	s->chargers = NULL;
	s->readings = NULL;
	s->offline_w = NULL;
	s->bconns = NULL;
	s->conns = NULL;
	s->out = NULL;
	s->state = NULL;
	s->work = NULL;
}

void
site_set_lb(struct site *s, const struct site_lb *lb)
{
	s->lb = *lb;
	fill_settings(s);
	s->phase_conf.min_power_1ph_w = s->lb.min_power_1ph_w;
	s->phase_conf.min_power_3ph_w = s->lb.min_power_3ph_w;
	s->dirty = true;
}

void
site_mark_backend(struct site *s, size_t i)
{
	if (i < SITE_MAX_SETTINGS)
		s->lb_backend[i] = true;
}

double
site_offline_limit(const struct site *s, int charger)
{
	const struct cfg_charger *cc = &s->cfg->chargers[charger];
	double w = (double)s->offline_w[charger] / cc->connectors;

	if (cc->control_unit == CFG_CONTROL_CURRENT) {
		double a = w / ((double)s->cfg->site.nominal_voltage_v *
		    cc->phases);
		return floor(a * 100.0) / 100.0;
	}
	return floor(w);
}

/* Maps cfg enums onto the southbound's (the same order by design, but
 * spelled out so a change to either is caught here). */
static enum sb_model
sb_model_of(enum cfg_model m)
{
	switch (m) {
	case CFG_MODEL_AC_WALLBOX:
		return SB_MODEL_AC_WALLBOX;
	case CFG_MODEL_AC_COMPACT:
		return SB_MODEL_AC_COMPACT;
	case CFG_MODEL_AC_ULTRA:
		return SB_MODEL_AC_ULTRA;
	case CFG_MODEL_SINGLE:
		return SB_MODEL_SINGLE;
	case CFG_MODEL_DC:
		return SB_MODEL_DC;
	}
	return SB_MODEL_AC_WALLBOX;
}

static enum sb_link_kind
sb_link_of(enum cfg_link_kind k)
{
	switch (k) {
	case CFG_LINK_TCP:
		return SB_LINK_TCP;
	case CFG_LINK_TCP_LISTEN:
		return SB_LINK_TCP_LISTEN;
	case CFG_LINK_RTU:
		return SB_LINK_RTU;
	}
	return SB_LINK_TCP;
}

static char
sb_parity_of(enum cfg_parity p)
{
	switch (p) {
	case CFG_PARITY_NONE:
		return 'N';
	case CFG_PARITY_EVEN:
		return 'E';
	case CFG_PARITY_ODD:
		return 'O';
	}
	return 'N';
}

static enum sb_word_order
sb_words_of(enum cfg_word_order w)
{
	switch (w) {
	case CFG_WORDS_MODEL:
		return SB_WORDS_MODEL;
	case CFG_WORDS_HIGH_FIRST:
		return SB_WORDS_HIGH_FIRST;
	case CFG_WORDS_LOW_FIRST:
		return SB_WORDS_LOW_FIRST;
	}
	return SB_WORDS_MODEL;
}

/* Copies a cfg link's serial settings. */
static void
serial_of(const struct cfg_link *l, struct sb_serial_conf *out)
{
	out->device = l->device;
	out->baud = l->baud;
	out->parity = sb_parity_of(l->parity);
	out->stop_bits = l->stop_bits;
}

void
site_sb_conf(const struct site *s, struct sb_conf *conf,
    struct sb_charger_conf *chargers)
{
	const struct cfg *cfg = s->cfg;

	sb_conf_defaults(conf);
	conf->listen = s->listen;
	conf->response_timeout_ms = cfg->southbound.response_timeout_ms;
	conf->comm_timeout_s = cfg->southbound.comm_timeout_s;
	conf->offline_after_failures = cfg->southbound.offline_after_failures;
	for (int c = 0; c < s->n_chargers; c++) {
		const struct cfg_charger *cc = &cfg->chargers[c];
		struct sb_charger_conf *sc = &chargers[c];

		memset(sc, 0, sizeof(*sc));
		sc->name = cc->name;
		sc->model = sb_model_of(cc->model);
		sc->link = sb_link_of(cc->link.kind);
		sc->host = cc->link.host;
		sc->port = cc->link.port;
		sc->unit_id = cc->link.unit_id;
		sc->serial = cc->link.serial[0] != '\0' ? cc->link.serial : NULL;
		serial_of(&cc->link, &sc->rtu);
		sc->connectors = cc->connectors;
		sc->control_unit = cc->control_unit == CFG_CONTROL_CURRENT ?
		    SB_CONTROL_CURRENT : SB_CONTROL_POWER;
		sc->word_order = sb_words_of(cc->word_order);
		sc->max_power_w = cc->max_power_w;
		for (int j = 0; j < cc->connectors && j < SB_MAX_CONNECTORS; j++)
			sc->offline_limit[j] = site_offline_limit(s, c);
	}
	conf->chargers = chargers;
	conf->n_chargers = (size_t)s->n_chargers;
	if (s->meter_used || cfg_has_meter(cfg)) {
		switch (cfg->meter.type) {
		case CFG_METER_SDM630:
			conf->meter.type = SB_METER_SDM630;
			break;
		case CFG_METER_SDM230:
			conf->meter.type = SB_METER_SDM230;
			break;
		case CFG_METER_SDM120:
			conf->meter.type = SB_METER_SDM120;
			break;
		}
		conf->meter.link = sb_link_of(cfg->meter.link.kind);
		conf->meter.host = cfg->meter.link.host;
		conf->meter.port = cfg->meter.link.port;
		conf->meter.unit_id = cfg->meter.link.unit_id;
		serial_of(&cfg->meter.link, &conf->meter.rtu);
		conf->meter.poll_interval_ms = cfg->meter.poll_interval_ms;
		conf->meter.max_age_s = cfg->meter.max_age_s;
		conf->meter.max_power_w = (double)cfg_breaker_w(cfg, NULL);
	}
}

void
site_set_profile_cap(struct site *s, int32_t cap_w, int64_t id)
{
	if (cap_w != s->profile_site_cap_w || id != s->profile_site_id)
		s->dirty = true;
	s->profile_site_cap_w = cap_w;
	s->profile_site_id = cap_w == BAL_NO_CAP ? -1 : id;
}

/* The balancer's cap of connector k: the lower of its profile's and the
 * local override. */
static void
own_cap_update(struct site *s, int k)
{
	const struct site_conn *sc = &s->conns[k];
	int32_t cap = sc->profile_cap_w;

	if (sc->local_cap_w != BAL_NO_CAP &&
	    (cap == BAL_NO_CAP || sc->local_cap_w < cap))
		cap = sc->local_cap_w;
	if (s->bconns[k].profile_cap_w != cap)
		s->dirty = true;
	s->bconns[k].profile_cap_w = cap;
}

void
site_set_conn_cap(struct site *s, int k, int32_t cap_w, const char *detail)
{
	if (k < 0 || k >= s->n_conns)
		return;
	s->conns[k].profile_cap_w = cap_w;
	own_cap_update(s, k);
	strlcpy_ok(s->conns[k].profile_detail, detail != NULL ? detail : "",
	    sizeof(s->conns[k].profile_detail));
}

void
site_set_local_cap(struct site *s, int k, int32_t cap_w, int64_t until_ms)
{
	if (k < 0 || k >= s->n_conns)
		return;
	s->conns[k].local_cap_w = cap_w;
	s->conns[k].local_until_ms = cap_w == BAL_NO_CAP ? 0 : until_ms;
	own_cap_update(s, k);
}

int
site_expire_local_caps(struct site *s, int64_t now_ms, int *ended)
{
	int n = 0;

	for (int k = 0; k < s->n_conns; k++) {
		const struct site_conn *sc = &s->conns[k];

		if (sc->local_cap_w != BAL_NO_CAP && sc->local_until_ms > 0 &&
		    sc->local_until_ms <= now_ms) {
			site_set_local_cap(s, k, BAL_NO_CAP, 0);
			ended[n++] = k;
		}
	}
	return n;
}

void
site_set_inoperative(struct site *s, int k, bool inoperative)
{
	if (k < 0 || k >= s->n_conns || s->inoperative[k] == inoperative)
		return;
	s->inoperative[k] = inoperative;
	if (inoperative)
		s->bconns[k].state = BAL_ST_UNAVAILABLE;
	else
		s->bconns[k].state = site_bal_state(s->readings[s->conns[k]
		    .charger].conn[s->conns[k].connector - 1].status);
	s->dirty = true;
}

void
site_set_cloud(struct site *s, enum site_cloud cloud, int64_t now_ms,
    int64_t epoch_ms)
{
	if (cloud == s->cloud)
		return;
	/* Connecting -> offline keeps the time the link was first missed. */
	if (!(s->cloud == SITE_CLOUD_CONNECTING && cloud == SITE_CLOUD_OFFLINE)) {
		s->cloud_since_ms = now_ms;
		s->cloud_since_epoch_ms = epoch_ms;
	}
	s->cloud = cloud;
	s->dirty = true;
}

int32_t
site_cap_compose(int32_t available_w, int32_t profile_cap_w,
    int32_t offline_site_w, bool offline_applies,
    enum site_cap_source *source)
{
	int32_t cap = available_w;
	enum site_cap_source src = SITE_CAP_CONFIG;

	if (profile_cap_w != BAL_NO_CAP && profile_cap_w < cap) {
		cap = profile_cap_w;
		src = SITE_CAP_PROFILE;
	}
	if (offline_applies && offline_site_w > 0 && offline_site_w < cap) {
		cap = offline_site_w;
		src = SITE_CAP_OFFLINE;
	}
	if (source != NULL)
		*source = src;
	return cap;
}

int64_t
site_offline_fit(const int32_t *want_w, size_t n, int64_t cap_w,
    int32_t step_w, int32_t *out_w)
{
	int64_t sum = 0, total = 0;

	for (size_t i = 0; i < n; i++)
		sum += want_w[i];
	if (cap_w < 0)
		cap_w = 0;
	if (step_w < 1)
		step_w = 1;
	for (size_t i = 0; i < n; i++) {
		int64_t w = want_w[i];

		if (sum > cap_w) {
			/* Proportional share, rounded down to the step: the
			 * total can only come out below the cap. */
			w = w * cap_w / sum;
			w -= w % step_w;
		}
		out_w[i] = (int32_t)w;
		total += w;
	}
	return total;
}

int64_t
site_update_caps(struct site *s, int64_t now_ms)
{
	bool not_connected = s->cloud != SITE_CLOUD_CONNECTED;
	int64_t due = s->cloud_since_ms +
	    (int64_t)s->cfg->balancer.offline_site_delay_s * 1000;
	bool applies = not_connected && now_ms >= due;
	enum site_cap_source src;
	int32_t cap, *want;
	int64_t next = -1;

	cap = site_cap_compose(s->lb.available_power_w, s->profile_site_cap_w,
	    s->lb.offline_site_power_w, applies, &src);
	if (cap != s->cap_w || src != s->cap_source ||
	    applies != s->offline_cap_active)
		s->dirty = true;
	if (applies != s->offline_cap_active && s->lb.offline_site_power_w > 0) {
		if (applies)
			log_info("site cap: backend unreachable for %d s: "
			    "offline-site power %d W in force (cap %d W)",
			    s->cfg->balancer.offline_site_delay_s,
			    (int)s->lb.offline_site_power_w, (int)cap);
		else
			log_info("site cap: backend connected: offline-site "
			    "power no longer in force (cap %d W)", (int)cap);
	}
	s->cap_w = cap;
	s->cap_source = src;
	s->offline_cap_active = applies;
	s->bsite.available_power_w = s->lb.available_power_w;
	s->bsite.cloud_cap_w = cap < s->lb.available_power_w ? cap : BAL_NO_CAP;
	if (not_connected && !applies && s->lb.offline_site_power_w > 0)
		next = due;

	/* Fail-safe: the offline limits never add up to more than the cap
	 * in force, nor than the offline-site power when one is set (what
	 * holds if the gateway itself dies while the backend is away). */
	want = xcalloc((size_t)s->n_chargers + 1, sizeof(*want));
	for (int c = 0; c < s->n_chargers; c++)
		want[c] = s->cfg->chargers[c].offline_power_w;
	{
		int64_t limit = cap;
		int32_t *fit = xcalloc((size_t)s->n_chargers + 1, sizeof(*fit));

		if (s->lb.offline_site_power_w > 0 &&
		    s->lb.offline_site_power_w < limit)
			limit = s->lb.offline_site_power_w;
		site_offline_fit(want, (size_t)s->n_chargers, limit,
		    s->cfg->balancer.resolution_w, fit);
		for (int c = 0; c < s->n_chargers; c++) {
			if (fit[c] != s->offline_w[c]) {
				s->offline_w[c] = fit[c];
				s->chargers[c].offline_power_w = fit[c];
				s->offline_dirty = true;
				s->dirty = true;
			}
		}
		free(fit);
	}
	free(want);
	return next;
}

int
site_run(struct site *s, int64_t now_ms, struct site_write *writes,
    char *errbuf, size_t errlen)
{
	struct bal_input in;
	int n = 0, rc;

	if (s->meter_used && s->meter.healthy && s->meter_household_valid) {
		int64_t pw[BAL_PHASES], pma[BAL_PHASES];
		int64_t t = s->meter_household_w +
		    site_online_power_w(s, pw, pma);

		s->meter.total_power_w = site_clamp32(t);
		for (int p = 0; p < BAL_PHASES; p++) {
			int64_t a = s->meter_household_phase_ma[p] + pma[p];

			s->meter.phase_power_w[p] = site_clamp32(
			    s->meter_household_phase_w[p] + pw[p]);
			s->meter.phase_current_ma[p] = site_clamp32(a < 0 ? -a : a);
		}
	}
	/* A charger whose phases are being switched gets 0 (a cap of 0 on
	 * its connectors, so the others may use its share meanwhile). */
	site_phase_decide(s, now_ms);
	for (int k = 0; k < s->n_conns; k++)
		if (site_phase_pausing(s, s->conns[k].charger))
			s->bconns[k].profile_cap_w = 0;
	memset(&in, 0, sizeof(in));
	in.site = &s->bsite;
	in.meter = s->meter_used ? &s->meter : NULL;
	in.settings = &s->settings;
	in.chargers = s->chargers;
	in.n_chargers = s->n_chargers;
	in.connectors = s->bconns;
	in.n_connectors = s->n_conns;
	in.now_ms = now_ms;
	rc = bal_run(&in, s->state, s->work, s->out, &s->site_out, errbuf,
	    errlen);
	for (int k = 0; k < s->n_conns; k++) {
		if (!site_phase_pausing(s, s->conns[k].charger))
			continue;
		own_cap_update(s, k);
		if (s->bconns[k].state != BAL_ST_AVAILABLE &&
		    s->chargers[s->conns[k].charger].online)
			s->out[k].reason = BAL_R_PHASE_SWITCHING;
	}
	if (rc != 0)
		return -1;
	s->dirty = false;
	s->have_run = true;
	s->runs++;
	/* Two passes: decreases (and first writes) before increases. */
	for (int pass = 0; pass < 2; pass++) {
		for (int k = 0; k < s->n_conns; k++) {
			const struct bal_conn_out *o = &s->out[k];
			struct site_conn *sc = &s->conns[k];
			bool current = s->chargers[sc->charger].unit == BAL_UNIT_A;
			double limit = current ? o->setpoint_ma / 1000.0 :
			    (double)o->setpoint_w;
			bool down = !sc->submitted || o->setpoint_w < sc->written_w;

			if (sc->submitted && limit == sc->written_limit)
				continue;
			/* A charger never seen yet gets its first setpoint
			 * once it answers (the run its reading causes). */
			if (!sc->submitted && !s->chargers[sc->charger].online)
				continue;
			if ((pass == 0) != down)
				continue;
			writes[n].conn = k;
			writes[n].limit = limit;
			writes[n].setpoint_w = o->setpoint_w;
			writes[n].previous_w = sc->submitted ? sc->written_w : -1;
			n++;
		}
	}
	return n;
}

void
site_mark_written(struct site *s, const struct site_write *w)
{
	struct site_conn *sc = &s->conns[w->conn];

	sc->submitted = true;
	sc->written_w = w->setpoint_w;
	sc->written_limit = w->limit;
	sc->reason = s->out[w->conn].reason;
}

int
site_find_conn(const struct site *s, const char *name)
{
	const char *slash = strchr(name, '/');
	char *end;
	long v;

	if (name[0] >= '0' && name[0] <= '9') {
		errno = 0;
		v = strtol(name, &end, 10);
		if (errno == 0 && *end == '\0')
			for (int k = 0; k < s->n_conns; k++)
				if (s->conns[k].ocpp_id == v)
					return k;
	}
	for (int k = 0; k < s->n_conns; k++) {
		const struct site_conn *sc = &s->conns[k];
		const struct cfg_charger *cc = &s->cfg->chargers[sc->charger];

		if (slash != NULL) {
			if (strcmp(sc->label, name) == 0)
				return k;
		} else if (strcmp(cc->name, name) == 0 && cc->connectors == 1) {
			return k;
		}
	}
	return -1;
}

const char *
site_cap_source_name(enum site_cap_source src)
{
	switch (src) {
	case SITE_CAP_CONFIG:
		return "config";
	case SITE_CAP_PROFILE:
		return "profile";
	case SITE_CAP_OFFLINE:
		return "offline-fallback";
	}
	return "?";
}

const char *
site_cloud_name(enum site_cloud c)
{
	switch (c) {
	case SITE_CLOUD_DISABLED:
		return "disabled";
	case SITE_CLOUD_CONNECTING:
		return "connecting";
	case SITE_CLOUD_CONNECTED:
		return "connected";
	case SITE_CLOUD_OFFLINE:
		return "offline";
	}
	return "?";
}

double
site_applied_w(const struct site *s, int connector, double schedule_w)
{
	double w = schedule_w;

	if (connector == 0) {
		if (s->cap_w < w)
			w = s->cap_w;
	} else if (connector >= 1 && connector <= s->n_conns && s->have_run) {
		const struct bal_conn_out *o = &s->out[connector - 1];

		if (o->setpoint_w < w && s->chargers[s->conns[connector - 1]
		    .charger].online)
			w = o->setpoint_w;
	}
	return w;
}

bool
site_held_below_profile(const struct site *s, int k, enum bal_reason *reason)
{
	const struct bal_conn_out *o = &s->out[k];
	int32_t cap = s->conns[k].profile_cap_w;

	if (reason != NULL)
		*reason = o->reason;
	return s->have_run && (cap != BAL_NO_CAP || s->cap_source ==
	    SITE_CAP_PROFILE) && s->bconns[k].state == BAL_ST_CHARGING &&
	    s->conns[k].submitted && o->reason != BAL_R_CAPPED_PROFILE &&
	    o->reason != BAL_R_CAPPED_SITE && o->reason != BAL_R_CAPPED_MAX &&
	    o->reason != BAL_R_HELD_NEAR_DRAW &&
	    o->reason != BAL_R_WAITING_FOR_ROOM &&
	    (cap == BAL_NO_CAP || o->setpoint_w < cap);
}
