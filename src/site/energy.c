/* The DC chargers' energy register across restarts.  A DC model has no
 * cumulative energy register, only the session's (1500+x); the southbound
 * builds a running total from it (docs/southbound.md, "Derived DC
 * energy").  This keeps that total in the store's key/value table, one
 * key per connector ("energy.<charger>.<connector>" = "<finished sessions
 * Wh> <last session counter Wh>"), and hands it back at start, so the
 * energy register of a connector never goes back when the daemon
 * restarts. */
#include "site/site-private.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/log.h"
#include "common/util.h"
#include "store/store.h"

/* The store key of connector k (1..n) of charger c. */
static void
energy_key(const struct site *s, int c, int k, char *buf, size_t len)
{
	snprintf(buf, len, "energy.%s.%d", s->cfg->chargers[c].name, k);
}

/* Parses "<base> <session>": 0, or -1 when it is not two numbers in
 * 0..SB_ENERGY_MAX_WH. */
static int
parse_pair(const char *text, double *base, double *session)
{
	char *end;

	*base = strtod(text, &end);
	if (end == text)
		return -1;
	text = end;
	*session = strtod(text, &end);
	if (end == text || *end != '\0')
		return -1;
	if (!(*base >= 0 && *base <= SB_ENERGY_MAX_WH) ||
	    !(*session >= 0 && *session <= SB_ENERGY_MAX_WH))
		return -1;
	return 0;
}

void
site_energy_restore(struct site *s, struct store *st,
    struct sb_charger_conf *chargers)
{
	if (st == NULL)
		return;
	for (int i = 0; i < s->n_conns; i++) {
		struct site_conn *sc = &s->conns[i];
		struct sb_charger_conf *ch = &chargers[sc->charger];
		enum store_setting_source src;
		char key[CFG_NAME_MAX + 32], *value = NULL, *cause = NULL;
		double base, session;

		if (s->cfg->chargers[sc->charger].model != CFG_MODEL_DC)
			continue;
		energy_key(s, sc->charger, sc->connector, key, sizeof(key));
		if (store_setting_get(st, key, NULL, &value, &src, &cause) != 0) {
			log_warnx("store: %s: %s", key, cause);
			free(cause);
			continue;
		}
		if (value == NULL)
			continue;
		if (parse_pair(value, &base, &session) != 0) {
			log_warnx("store: %s: \"%.60s\" is not two energy counts "
			    "in 0..1e15 Wh: the total starts from 0", key, value);
		} else {
			ch->energy_base_wh[sc->connector - 1] = base;
			ch->session_last_wh[sc->connector - 1] = session;
			sc->saved_base_wh = base;
			sc->saved_session_wh = session;
			log_debug("site", "%s: energy total restored: %.0f Wh "
			    "of finished sessions, session counter %.0f Wh",
			    sc->label, base, session);
		}
		free(value);
	}
}

void
site_energy_save(struct site *s, struct store *st, int c, int64_t now_ms,
    bool force)
{
	const struct sb_charger_reading *r = &s->readings[c];

	if (st == NULL || s->cfg->chargers[c].model != CFG_MODEL_DC)
		return;
	for (int i = 0; i < s->n_conns; i++) {
		struct site_conn *sc = &s->conns[i];
		const struct sb_connector_reading *cr;
		char key[CFG_NAME_MAX + 32], value[64], *cause = NULL;
		bool due;

		if (sc->charger != c)
			continue;
		cr = &r->conn[sc->connector - 1];
		if (isnan(cr->energy_base_wh) || isnan(cr->session_energy_wh))
			continue;
		if (cr->energy_base_wh == sc->saved_base_wh &&
		    cr->session_energy_wh == sc->saved_session_wh)
			continue;
		due = force || cr->energy_base_wh != sc->saved_base_wh ||
		    fabs(cr->session_energy_wh - sc->saved_session_wh) >=
		    SITE_ENERGY_SAVE_WH ||
		    now_ms - sc->saved_ms >= SITE_ENERGY_SAVE_MS;
		if (!due)
			continue;
		energy_key(s, c, sc->connector, key, sizeof(key));
		snprintf(value, sizeof(value), "%.0f %.0f", cr->energy_base_wh,
		    cr->session_energy_wh);
		if (store_setting_set(st, key, value, NULL, &cause) != 0) {
			log_warnx("store: %s: %s", key, cause);
			free(cause);
			continue;
		}
		sc->saved_base_wh = cr->energy_base_wh;
		sc->saved_session_wh = cr->session_energy_wh;
		sc->saved_ms = now_ms;
	}
}
