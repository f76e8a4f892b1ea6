/* The load-balancing settings in force: the file's values, the backend's
 * overrides layered on them, and their names as store keys, 1.6
 * configuration keys and 2.0.1 variables. */
#include "site/site.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

const struct site_setting_key site_setting_keys[] = {
	{ "balancer.mode", "LBMode", "Mode" },
	{ "balancer.pv-mode", "LBPvMode", "PvMode" },
	{ "balancer.reserve-pct", "LBReservePercent", "ReservePercent" },
	{ "site.available-power-kw", "LBAvailablePowerKw", "AvailablePower" },
	{ "balancer.min-power-1ph-kw", "LBMinPower1phKw", "MinPower1ph" },
	{ "balancer.min-power-3ph-kw", "LBMinPower3phKw", "MinPower3ph" },
	{ "balancer.offline-meter-power-kw", "LBOfflineMeterPowerKw",
	  "OfflineMeterPower" },
	{ "balancer.offline-site-power-kw", "LBOfflineSitePowerKw",
	  "OfflineSitePower" },
};
const size_t site_n_setting_keys = ARRAY_SIZE(site_setting_keys);

enum { K_MODE, K_PV, K_RESERVE, K_AVAIL, K_MIN1, K_MIN3, K_OFFMETER,
	K_OFFSITE };

void
site_lb_from_cfg(const struct cfg *cfg, struct site_lb *lb)
{
	lb->mode = cfg->balancer.mode;
	lb->pv_mode = cfg->balancer.pv_mode;
	lb->reserve_pct = cfg->balancer.reserve_pct;
	lb->available_power_w = cfg->site.available_power_w;
	lb->min_power_1ph_w = cfg->balancer.min_power_1ph_w;
	lb->min_power_3ph_w = cfg->balancer.min_power_3ph_w;
	lb->offline_meter_power_w = cfg->balancer.offline_meter_power_w;
	lb->offline_site_power_w = cfg->balancer.offline_site_power_w;
}

/* Formats W as kW with up to three decimals, no trailing zero ("4.2",
 * "40", "43.47"). */
static const char *
fmt_kw(int w, char *buf, size_t len)
{
	if (w % 1000 == 0)
		snprintf(buf, len, "%d", w / 1000);
	else if (w % 100 == 0)
		snprintf(buf, len, "%d.%d", w / 1000, (w % 1000) / 100);
	else if (w % 10 == 0)
		snprintf(buf, len, "%d.%02d", w / 1000, (w % 1000) / 10);
	else
		snprintf(buf, len, "%d.%03d", w / 1000, w % 1000);
	return buf;
}

const char *
site_lb_format(const struct site_lb *lb, size_t i, char *buf, size_t len)
{
	switch (i) {
	case K_MODE:
		snprintf(buf, len, "%s", cfg_balancer_mode_name(lb->mode));
		return buf;
	case K_PV:
		snprintf(buf, len, "%s", cfg_pv_mode_name(lb->pv_mode));
		return buf;
	case K_RESERVE:
		snprintf(buf, len, "%d", lb->reserve_pct);
		return buf;
	case K_AVAIL:
		return fmt_kw(lb->available_power_w, buf, len);
	case K_MIN1:
		return fmt_kw(lb->min_power_1ph_w, buf, len);
	case K_MIN3:
		return fmt_kw(lb->min_power_3ph_w, buf, len);
	case K_OFFMETER:
		return fmt_kw(lb->offline_meter_power_w, buf, len);
	case K_OFFSITE:
		return fmt_kw(lb->offline_site_power_w, buf, len);
	}
	snprintf(buf, len, "?");
	return buf;
}

int
site_lb_parse(struct site_lb *lb, const struct cfg *cfg, size_t i,
    const char *value, char **cause)
{
	struct site_lb n = *lb;
	const char *key;
	char a[32], b[32];
	long sum, breaker_w, v;
	int phases;

	if (i >= site_n_setting_keys) {
		xasprintf(cause, "no load-balancing setting %zu", i);
		return -1;
	}
	key = site_setting_keys[i].key;
	/* Type and range: the configuration's own table. */
	if (cfg_check_override(key, value, &v, cause) != 0)
		return -1;
	switch (i) {
	case K_MODE:
		n.mode = (enum cfg_balancer_mode)v;
		break;
	case K_PV:
		n.pv_mode = (enum cfg_pv_mode)v;
		break;
	case K_RESERVE:
		n.reserve_pct = (int)v;
		break;
	case K_AVAIL:
		n.available_power_w = (int)v;
		break;
	case K_MIN1:
		n.min_power_1ph_w = (int)v;
		break;
	case K_MIN3:
		n.min_power_3ph_w = (int)v;
		break;
	case K_OFFMETER:
		n.offline_meter_power_w = (int)v;
		break;
	case K_OFFSITE:
		n.offline_site_power_w = (int)v;
		break;
	}
	/* The cross-checks of the configuration file, on the new set. */
	sum = cfg_pmin_sum_w(cfg, n.min_power_1ph_w, n.min_power_3ph_w, NULL,
	    NULL);
	if (cfg->n_chargers > 0 && n.available_power_w <= sum) {
		xasprintf(cause, "%s: '%s' refused: the available power %s kW is "
		    "not above the chargers' minimum charging powers (%s kW)",
		    key, value, fmt_kw(n.available_power_w, a, sizeof(a)),
		    fmt_kw((int)sum, b, sizeof(b)));
		return -1;
	}
	breaker_w = cfg_breaker_w(cfg, &phases);
	if (n.available_power_w > breaker_w) {
		xasprintf(cause, "%s: '%s' refused: the available power %s kW is "
		    "above what the main breaker carries: at most %s kW (%d A x "
		    "%d V x %d phase%s)", key, value,
		    fmt_kw(n.available_power_w, a, sizeof(a)),
		    fmt_kw((int)breaker_w, b, sizeof(b)),
		    cfg->site.main_breaker_a, cfg->site.nominal_voltage_v,
		    phases, phases > 1 ? "s" : "");
		return -1;
	}
	if (n.offline_meter_power_w > n.available_power_w) {
		xasprintf(cause, "%s: '%s' refused: the offline-meter power must "
		    "be 0..%s kW (the available power)", key, value,
		    fmt_kw(n.available_power_w, a, sizeof(a)));
		return -1;
	}
	if (n.offline_site_power_w > n.available_power_w) {
		xasprintf(cause, "%s: '%s' refused: the offline-site power must "
		    "be 0..%s kW (the available power)", key, value,
		    fmt_kw(n.available_power_w, a, sizeof(a)));
		return -1;
	}
	/* Fail-safe, as in the file: chargers left on their offline limits
	 * must fit the offline-site cap. */
	if (n.offline_site_power_w > 0 && cfg_offline_sum_w(cfg) >
	    n.offline_site_power_w) {
		xasprintf(cause, "%s: '%s' refused: the offline-site power must "
		    "be at least %s kW (the sum of the chargers' offline powers)",
		    key, value, fmt_kw((int)cfg_offline_sum_w(cfg), a, sizeof(a)));
		return -1;
	}
	if (n.mode != CFG_BAL_DLB && !cfg_has_meter(cfg)) {
		xasprintf(cause, "%s: '%s' refused: modes alm and pv need the "
		    "meter, and none is configured", key, value);
		return -1;
	}
	*lb = n;
	return 0;
}
