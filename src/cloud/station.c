/* What the backend is told about the site: each connector's status and
 * meter values in the session's station model. */
#include "config.h"

#include "cloud/cloud-private.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "southbound/southbound.h"
#include "store/store.h"

/* The station status of a connector from its register and link. */
static enum ocpp_conn_status
ocpp_status(int st, bool online, bool inoperative)
{
	if (!online || inoperative)
		return OCPP_ST_UNAVAILABLE;
	switch (site_bal_state(st)) {
	case BAL_ST_AVAILABLE:
		return OCPP_ST_AVAILABLE;
	case BAL_ST_PREPARING:
		return OCPP_ST_PREPARING;
	case BAL_ST_CHARGING:
		return OCPP_ST_CHARGING;
	case BAL_ST_SUSPENDED_EV:
		return OCPP_ST_SUSPENDED_EV;
	case BAL_ST_SUSPENDED_EVSE:
		return OCPP_ST_SUSPENDED_EVSE;
	case BAL_ST_FINISHING:
		return OCPP_ST_FINISHING;
	case BAL_ST_RESERVED:
		return OCPP_ST_RESERVED;
	case BAL_ST_UNAVAILABLE:
		return OCPP_ST_UNAVAILABLE;
	case BAL_ST_FAULTED:
		return OCPP_ST_FAULTED;
	}
	return OCPP_ST_UNAVAILABLE;
}

/* A reading or 0 when unknown. */
static double
val(double v)
{
	return isfinite(v) && v > 0 ? v : 0;
}

void
cloud_station_update(struct cloud *c)
{
	const struct site *s = c->site;
	const struct sb_meter_reading *m = &s->meter_reading;

	for (int k = 0; k < c->ids.n; k++) {
		const struct site_conn *sc = &s->conns[k];
		const struct sb_charger_reading *r = &s->readings[sc->charger];
		const struct sb_connector_reading *cr =
		    &r->conn[sc->connector - 1];
		struct ocpp_connector *oc = &c->conn[cloud_ids_id(&c->ids, k)];

		if (r->polls == 0 && !r->online)
			continue; /* never read: the last known state */
		oc->status = ocpp_status(cr->status, r->online,
		    s->inoperative != NULL && s->inoperative[k]);
		/* A charger that does not answer keeps its last readings
		 * (and its transaction, see scan_transaction). */
		oc->stale = !r->online;
		oc->meter_valid = r->online;
		if (!r->online) {
			oc->power_w = 0;
			continue;
		}
		oc->fault_error = site_bal_state(cr->status) == BAL_ST_FAULTED;
		sb_fault_code_text(cr, oc->vendor_error, sizeof(oc->vendor_error));
		oc->power_w = val(cr->power_w);
		oc->energy_wh = val(cr->energy_wh);
		/* A single-phase charger measures on its own L1 terminal,
		 * which is wired to the site's phase wired_phase. */
		oc->wired_phase = s->chargers[sc->charger].phases == 1 ?
		    s->chargers[sc->charger].wired_phase : 0;
		oc->charge_time_s = cr->charge_time_s;
		oc->connector_type = cr->connector_type;
		oc->max_power_w = isfinite(r->max_power_w) &&
		    r->max_power_w > 0 ? r->max_power_w : 0;
		for (int p = 0; p < 3; p++) {
			int from = oc->phases == 1 ? p - oc->wired_phase : p;
			bool on = from >= 0 && (oc->phases != 1 || from == 0);

			oc->voltage_v[p] = on ? val(cr->voltage_v[from]) : 0;
			oc->current_a[p] = on ? val(cr->current_a[from]) : 0;
		}
		strlcpy_ok(oc->id_token, cr->id_token, sizeof(oc->id_token));
	}
	/* Connector 0 is the station as a whole: Unavailable when every
	 * connector is inoperative (1.6 reports it). */
	c->conn[0].status = OCPP_ST_AVAILABLE;
	if (s->n_conns > 0 && s->inoperative != NULL) {
		c->conn[0].status = OCPP_ST_UNAVAILABLE;
		for (int k = 0; k < s->n_conns; k++)
			if (!s->inoperative[k])
				c->conn[0].status = OCPP_ST_AVAILABLE;
	}
	if (m->present) {
		struct ocpp_connector *oc = &c->conn[0];

		oc->power_w = val(m->total_power_w);
		oc->energy_wh = val(m->import_kwh) * 1000.0;
		for (int p = 0; p < 3; p++) {
			oc->voltage_v[p] = val(m->voltage_v[p]);
			oc->current_a[p] = val(m->current_a[p]);
		}
		oc->meter_valid = m->polls > 0 && !m->fault;
	}
}

void
cloud_station_init(struct cloud *c)
{
	const struct site *s = c->site;

	c->conn = xcalloc((size_t)c->ids.max_id + 1, sizeof(*c->conn));
	c->station.vendor = "ocpp-edge";
	c->station.model = "site-gateway";
	c->station.serial = c->cfg->site.id;
	c->station.firmware = PACKAGE_VERSION;
	c->station.n_connectors = c->ids.max_id;
	c->station.conn = c->conn;
	for (int id = 0; id <= c->ids.max_id; id++) {
		int k = cloud_ids_k(&c->ids, id);

		c->conn[id].status = OCPP_ST_AVAILABLE;
		c->conn[id].stale = id > 0; /* until read; the session fills
					     * in the last known state */
		c->conn[id].absent = id > 0 && k < 0; /* a gap in the ids */
		c->conn[id].phases = k < 0 ? s->bsite.phases :
		    c->cfg->chargers[s->conns[k].charger].phases;
	}
}
