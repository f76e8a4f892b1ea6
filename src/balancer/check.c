/* The balancer: validation of its input (bal_check), with what is wrong,
 * where, and the valid range. */
#include "config.h"

#include <stdio.h>

#include "balancer/balancer-private.h"

#define FAIL(...) do { snprintf(errbuf, errlen, __VA_ARGS__); return -1; } while (0)

/* Validates the input; writes what is wrong, where, and the range. */
int
bal_check(const struct bal_input *in, char *errbuf, size_t errlen)
{
	const struct bal_site *site = in->site;
	const struct bal_settings *s = in->settings;
	int depth[BAL_MAX_CIRCUITS];

	if (errlen > 0)
		errbuf[0] = '\0';
	if (site == NULL || s == NULL)
		FAIL("input: site and settings are required");
	if (site->phases != 1 && site->phases != 3)
		FAIL("site: phases %d, must be 1 or 3", site->phases);
	if (site->nominal_voltage_v < 100 || site->nominal_voltage_v > 400)
		FAIL("site: nominal voltage %d V, valid 100..400 V",
		    (int)site->nominal_voltage_v);
	if (site->available_power_w < 0)
		FAIL("site: available power %d W, must be >= 0",
		    (int)site->available_power_w);
	if (site->cloud_cap_w < BAL_NO_CAP)
		FAIL("site: cloud cap %d W, must be >= 0 or absent (-1)",
		    (int)site->cloud_cap_w);
	for (int p = 0; p < BAL_PHASES; p++)
		if (site->phase_max_ma[p] < 0)
			FAIL("site: phase L%d limit %d mA, must be >= 0 (0 = none)",
			    p + 1, (int)site->phase_max_ma[p]);
	if (site->n_circuits < 1 || site->n_circuits > BAL_MAX_CIRCUITS ||
	    site->circuits == NULL)
		FAIL("site: %d circuits, valid 1..%d", site->n_circuits,
		    BAL_MAX_CIRCUITS);
	for (int c = 0; c < site->n_circuits; c++) {
		const struct bal_circuit *ci = &site->circuits[c];
		if (ci->parent != BAL_NONE && (ci->parent < 0 || ci->parent >= c))
			FAIL("circuit %d: parent %d, must be -1 or 0..%d "
			    "(parents come first)", c, ci->parent, c - 1);
		if (ci->max_current_ma <= 0)
			FAIL("circuit %d: max current %d mA, must be > 0", c,
			    (int)ci->max_current_ma);
		depth[c] = ci->parent == BAL_NONE ? 1 : depth[ci->parent] + 1;
		if (depth[c] > BAL_MAX_DEPTH)
			FAIL("circuit %d: %d levels deep, at most %d", c, depth[c],
			    BAL_MAX_DEPTH);
	}
	if (in->n_chargers < 0 || in->n_chargers > BAL_MAX_CHARGERS ||
	    (in->n_chargers > 0 && in->chargers == NULL))
		FAIL("input: %d chargers, valid 0..%d", in->n_chargers,
		    BAL_MAX_CHARGERS);
	for (int h = 0; h < in->n_chargers; h++) {
		const struct bal_charger *ch = &in->chargers[h];
		if (ch->phases != 1 && ch->phases != 3)
			FAIL("charger %d: phases %d, must be 1 or 3", h, ch->phases);
		if (ch->phases == 3 && site->phases != 3)
			FAIL("charger %d: three-phase charger on a single-phase site", h);
		if (ch->wired_phase < 0 || ch->wired_phase >= site->phases)
			FAIL("charger %d: wired phase %d, valid 0..%d", h,
			    ch->wired_phase, site->phases - 1);
		if (ch->circuit < 0 || ch->circuit >= site->n_circuits)
			FAIL("charger %d: circuit %d, valid 0..%d", h, ch->circuit,
			    site->n_circuits - 1);
		if (ch->unit != BAL_UNIT_W && ch->unit != BAL_UNIT_A)
			FAIL("charger %d: control unit %d, must be W (0) or A (1)",
			    h, (int)ch->unit);
		if (ch->resolution_w < 0 || ch->resolution_w > 10000)
			FAIL("charger %d: resolution %d W, valid 0..10000 W (0 = the "
			    "setting)", h, (int)ch->resolution_w);
		if (ch->offline_power_w < 0 || ch->max_power_w < 0)
			FAIL("charger %d: offline power %d W and max power %d W "
			    "must be >= 0", h, (int)ch->offline_power_w,
			    (int)ch->max_power_w);
	}
	if (in->n_connectors < 0 || in->n_connectors > BAL_MAX_CONNECTORS ||
	    (in->n_connectors > 0 && in->connectors == NULL))
		FAIL("input: %d connectors, valid 0..%d", in->n_connectors,
		    BAL_MAX_CONNECTORS);
	for (int i = 0; i < in->n_connectors; i++) {
		const struct bal_connector *cn = &in->connectors[i];
		if (cn->charger < 0 || cn->charger >= in->n_chargers)
			FAIL("connector %d: charger %d, valid 0..%d", i, cn->charger,
			    in->n_chargers - 1);
		if ((int)cn->state < BAL_ST_AVAILABLE || cn->state > BAL_ST_FAULTED)
			FAIL("connector %d: state %d, valid 0..%d", i,
			    (int)cn->state, BAL_ST_FAULTED);
		if (cn->rated_max_w <= 0)
			FAIL("connector %d: rated max %d W, must be > 0", i,
			    (int)cn->rated_max_w);
		if (cn->configured_max_w < 0)
			FAIL("connector %d: configured max %d W, must be >= 0 "
			    "(0 = rated)", i, (int)cn->configured_max_w);
		if (cn->profile_cap_w < BAL_NO_CAP)
			FAIL("connector %d: profile cap %d W, must be >= 0 or "
			    "absent (-1)", i, (int)cn->profile_cap_w);
		if (cn->measured_power_w < 0)
			FAIL("connector %d: measured power %d W, must be >= 0", i,
			    (int)cn->measured_power_w);
	}
	if (s->mode != BAL_MODE_DLB && s->mode != BAL_MODE_ALM &&
	    s->mode != BAL_MODE_PV)
		FAIL("settings: mode %d, valid 0 (dlb), 1 (alm), 2 (pv)",
		    (int)s->mode);
	if (s->pv_mode != BAL_PV_FULL_GREEN && s->pv_mode != BAL_PV_GREEN_PRIORITY &&
	    s->pv_mode != BAL_PV_SPEED_PRIORITY)
		FAIL("settings: pv-mode %d, valid 0..2", (int)s->pv_mode);
	if (s->mode != BAL_MODE_DLB && in->meter == NULL)
		FAIL("input: a meter reading is required in ALM and PV modes");
	if (s->reserve_pct < 0 || s->reserve_pct > 50)
		FAIL("settings: reserve %d %%, valid 0..50 %%", s->reserve_pct);
	if (s->min_power_1ph_w < 100 || s->min_power_1ph_w > 100000 ||
	    s->min_power_3ph_w < 100 || s->min_power_3ph_w > 100000)
		FAIL("settings: minimum power %d W / %d W, valid 100..100000 W",
		    (int)s->min_power_1ph_w, (int)s->min_power_3ph_w);
	if (s->offline_meter_power_w < 0)
		FAIL("settings: offline-meter power %d W, must be >= 0",
		    (int)s->offline_meter_power_w);
	if (s->meter_max_age_ms <= 0)
		FAIL("settings: meter max age %d ms, must be > 0",
		    (int)s->meter_max_age_ms);
	if (s->resolution_w < 1 || s->resolution_w > 10000)
		FAIL("settings: resolution %d W, valid 1..10000 W",
		    (int)s->resolution_w);
	if (s->resolution_ma < 100 || s->resolution_ma > 10000)
		FAIL("settings: resolution %d mA, valid 100..10000 mA",
		    (int)s->resolution_ma);
	if (s->restart_margin_w < 0 || s->restart_hold_ms < 0 ||
	    s->underdraw_after_ms < 0 || s->pause_confirm_ms < 0)
		FAIL("settings: restart margin, hold time, under-draw time "
		    "and pause confirmation must be >= 0");
	if (s->underdraw_margin_w <= 0 ||
	    s->underdraw_headroom_w <= s->underdraw_margin_w)
		FAIL("settings: under-draw margin %d W must be > 0 and below "
		    "the headroom %d W", (int)s->underdraw_margin_w,
		    (int)s->underdraw_headroom_w);
	return 0;
}
