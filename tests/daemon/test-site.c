/* The site model without I/O: configuration -> balancer and southbound
 * structs, cap composition, the fail-safe fit of offline limits, the
 * order of writes, connector names, settings from the backend. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "common/util.h"
#include "control.h"
#include "../cu.h"
#include "site/site.h"

/* Two circuits declared child first, three chargers (one DC, one in
 * current mode with two connectors), ALM with a meter. */
static const char conf_text[] =
    "site { id = \"s\" available-power-kw = 40 main-breaker-a = 63\n"
    "  circuit \"garage\" { max-current-a = 16 parent = \"sub\" }\n"
    "  circuit \"sub\" { max-current-a = 40 } }\n"
    "csms { url = \"ws://127.0.0.1:1/ocpp\" identity = \"s\" }\n"
    "balancer { mode = \"alm\" offline-site-power-kw = 22 "
    "offline-site-delay-s = 60 }\n"
    "meter { host = \"127.0.0.1\" port = 1502 }\n"
    "charger \"a\" { model = \"autel-ac-wallbox\" host = \"127.0.0.1\" "
    "port = 1 max-power-kw = 11 offline-power-kw = 6 circuit = \"garage\" }\n"
    "charger \"u\" { model = \"autel-ac-ultra\" host = \"127.0.0.1\" "
    "port = 2 connectors = 2 max-power-kw = 22 offline-power-kw = 8 "
    "control-unit = \"current\" }\n"
    "charger \"dc\" { model = \"autel-dc\" host = \"127.0.0.1\" port = 3 "
    "max-power-kw = 40 offline-power-kw = 4 circuit = \"sub\" }\n"
    "store { path = \"/nonexistent/x.db\" }\n";

static struct cfg cfg;
static struct site site;

/* Loads conf_text into cfg and builds the site. */
static int
setup(void)
{
	struct cfg_errors errors = { 0 };
	char *cause = NULL;

	if (cfg_load_string("site.conf", conf_text, &cfg, &errors) != 0) {
		for (size_t i = 0; i < errors.n; i++)
			fprintf(stderr, "%s\n", errors.msgs[i]);
		cfg_errors_free(&errors);
		return -1;
	}
	if (site_init(&site, &cfg, NULL, NULL, &cause) != 0) {
		fprintf(stderr, "%s\n", cause);
		free(cause);
		return -1;
	}
	return 0;
}

/* Frees what setup built. */
static int
teardown(void)
{
	site_free(&site);
	cfg_clear(&cfg);
	return 0;
}

/* Circuit 0 is the main connection; "sub" must come before its child
 * "garage" although the file names the child first. */
static void
test_circuits(void)
{
	int sub = site.circuit_of_cfg[1], garage = site.circuit_of_cfg[0];

	CU_ASSERT_EQUAL(site.bsite.n_circuits, 3);
	CU_ASSERT_EQUAL(site.circuits[0].parent, BAL_NONE);
	CU_ASSERT_EQUAL(site.circuits[0].max_current_ma, 63000);
	CU_ASSERT_EQUAL(sub, 1);
	CU_ASSERT_EQUAL(garage, 2);
	CU_ASSERT_EQUAL(site.circuits[garage].parent, sub);
	CU_ASSERT_EQUAL(site.circuits[garage].max_current_ma, 16000);
	CU_ASSERT_EQUAL(site.circuits[sub].parent, 0);
	/* charger a on garage, u on the main connection, dc on sub */
	CU_ASSERT_EQUAL(site.chargers[0].circuit, garage);
	CU_ASSERT_EQUAL(site.chargers[1].circuit, 0);
	CU_ASSERT_EQUAL(site.chargers[2].circuit, sub);
	CU_ASSERT_EQUAL(site.bsite.phases, 3);
	CU_ASSERT_EQUAL(site.bsite.phase_max_ma[2], 63000);
}

/* Connectors in configuration order, OCPP ids from 1, units and steps. */
static void
test_connectors(void)
{
	CU_ASSERT_EQUAL(site.n_chargers, 3);
	CU_ASSERT_EQUAL(site.n_conns, 4);
	CU_ASSERT_STRING_EQUAL(site.conns[0].label, "a/1");
	CU_ASSERT_STRING_EQUAL(site.conns[1].label, "u/1");
	CU_ASSERT_STRING_EQUAL(site.conns[2].label, "u/2");
	CU_ASSERT_STRING_EQUAL(site.conns[3].label, "dc/1");
	CU_ASSERT_EQUAL(site.conns[2].ocpp_id, 3);
	CU_ASSERT_EQUAL(site.bconns[2].charger, 1);
	CU_ASSERT_EQUAL(site.bconns[3].rated_max_w, 40000);
	CU_ASSERT_EQUAL(site.chargers[1].unit, BAL_UNIT_A);
	CU_ASSERT_EQUAL(site.chargers[0].unit, BAL_UNIT_W);
	CU_ASSERT_EQUAL(site.chargers[2].resolution_w, 1000);
	CU_ASSERT_EQUAL(site.chargers[0].resolution_w, 0);
	CU_ASSERT_EQUAL(site.settings.mode, BAL_MODE_ALM);
	CU_ASSERT_EQUAL(site.settings.meter_max_age_ms, 3000);
	CU_ASSERT_EQUAL(site.settings.offline_meter_power_w, 4000); /* 10 % */
	CU_ASSERT_TRUE(site.meter_used);
}

/* Names: OCPP number, CHARGER/K, a one-connector charger's name. */
static void
test_find(void)
{
	CU_ASSERT_EQUAL(site_find_conn(&site, "3"), 2);
	CU_ASSERT_EQUAL(site_find_conn(&site, "u/2"), 2);
	CU_ASSERT_EQUAL(site_find_conn(&site, "a"), 0);
	CU_ASSERT_EQUAL(site_find_conn(&site, "u"), -1); /* two connectors */
	CU_ASSERT_EQUAL(site_find_conn(&site, "5"), -1);
	CU_ASSERT_EQUAL(site_find_conn(&site, "0"), -1);
	CU_ASSERT_EQUAL(site_find_conn(&site, "u/3"), -1);
}

/* The ids the chargers had: u kept on 5..6 leaves 2..4 unused, dc after
 * it; a number is found by its OCPP id, a gap by none. */
static void
test_ids_kept(void)
{
	const int kept[] = { 1, 5, 0 };
	struct site g;
	char *cause = NULL;

	CU_ASSERT_EQUAL_FATAL(site_init(&g, &cfg, NULL, kept, &cause), 0);
	CU_ASSERT_EQUAL(g.conns[0].ocpp_id, 1);
	CU_ASSERT_EQUAL(g.conns[1].ocpp_id, 5);
	CU_ASSERT_EQUAL(g.conns[2].ocpp_id, 6);
	CU_ASSERT_EQUAL(g.conns[3].ocpp_id, 7);
	CU_ASSERT_EQUAL(site_find_conn(&g, "6"), 2);
	CU_ASSERT_EQUAL(site_find_conn(&g, "7"), 3);
	CU_ASSERT_EQUAL(site_find_conn(&g, "2"), -1);
	CU_ASSERT_EQUAL(site_find_conn(&g, "4"), -1);
	site_free(&g);
}

/* The southbound description, offline limits in each charger's unit. */
static void
test_sb_conf(void)
{
	struct sb_charger_conf ch[3];
	struct sb_conf conf;

	site_sb_conf(&site, &conf, ch);
	CU_ASSERT_EQUAL(conf.n_chargers, 3);
	CU_ASSERT_EQUAL(ch[1].model, SB_MODEL_AC_ULTRA);
	CU_ASSERT_EQUAL(ch[1].control_unit, SB_CONTROL_CURRENT);
	CU_ASSERT_EQUAL(ch[1].connectors, 2);
	CU_ASSERT_EQUAL(ch[2].port, 3);
	/* a: 6000 W on its one connector */
	CU_ASSERT_DOUBLE_EQUAL(ch[0].offline_limit[0], 6000, 0.001);
	/* u: 8000 W over two connectors = 4000 W each, in A on three
	 * phases at 230 V: 4000 / 690 = 5.797 A, rounded down to 5.79 */
	CU_ASSERT_DOUBLE_EQUAL(ch[1].offline_limit[0], 5.79, 0.001);
	CU_ASSERT_DOUBLE_EQUAL(ch[1].offline_limit[1], 5.79, 0.001);
	CU_ASSERT_EQUAL(conf.meter.type, SB_METER_SDM630);
	CU_ASSERT_EQUAL(conf.meter.port, 1502);
	CU_ASSERT_EQUAL(conf.comm_timeout_s, 30);
}

/* Cap composition: the lowest of the three, and who set it. */
static void
test_cap_compose(void)
{
	enum site_cap_source src;

	CU_ASSERT_EQUAL(site_cap_compose(40000, BAL_NO_CAP, 22000, false,
	    &src), 40000);
	CU_ASSERT_EQUAL(src, SITE_CAP_CONFIG);
	CU_ASSERT_EQUAL(site_cap_compose(40000, 30000, 22000, false, &src),
	    30000);
	CU_ASSERT_EQUAL(src, SITE_CAP_PROFILE);
	CU_ASSERT_EQUAL(site_cap_compose(40000, 30000, 22000, true, &src),
	    22000);
	CU_ASSERT_EQUAL(src, SITE_CAP_OFFLINE);
	/* a profile below the offline power still rules while offline */
	CU_ASSERT_EQUAL(site_cap_compose(40000, 15000, 22000, true, &src),
	    15000);
	CU_ASSERT_EQUAL(src, SITE_CAP_PROFILE);
	/* offline-site power 0 = none */
	CU_ASSERT_EQUAL(site_cap_compose(40000, BAL_NO_CAP, 0, true, &src),
	    40000);
	CU_ASSERT_EQUAL(src, SITE_CAP_CONFIG);
}

/* Offline limits fit under the cap: 6000 + 8000 + 4000 = 18000 W. */
static void
test_offline_fit(void)
{
	int32_t want[3] = { 6000, 8000, 4000 }, out[3];

	/* fits: unchanged */
	CU_ASSERT_EQUAL(site_offline_fit(want, 3, 18000, 100, out), 18000);
	CU_ASSERT_EQUAL(out[1], 8000);
	/* cap 9000 W: half each: 3000, 4000, 2000 */
	CU_ASSERT_EQUAL(site_offline_fit(want, 3, 9000, 100, out), 9000);
	CU_ASSERT_EQUAL(out[0], 3000);
	CU_ASSERT_EQUAL(out[1], 4000);
	CU_ASSERT_EQUAL(out[2], 2000);
	/* cap 10000 W: 6000 * 10/18 = 3333 -> 3300, 8000 -> 4444 -> 4400,
	 * 4000 -> 2222 -> 2200; 9900 <= 10000 */
	CU_ASSERT_EQUAL(site_offline_fit(want, 3, 10000, 100, out), 9900);
	CU_ASSERT_EQUAL(out[0], 3300);
	CU_ASSERT_EQUAL(out[1], 4400);
	CU_ASSERT_EQUAL(out[2], 2200);
	/* cap 0: all 0 */
	CU_ASSERT_EQUAL(site_offline_fit(want, 3, 0, 100, out), 0);
	CU_ASSERT_EQUAL(out[1], 0);
}

/* The offline-site cap starts after the delay and lowers the offline
 * limits first; connecting lifts both. */
static void
test_offline_cap_timeline(void)
{
	int64_t next;

	site.cloud = SITE_CLOUD_CONNECTING;
	site.cloud_since_ms = 1000;
	next = site_update_caps(&site, 1000);
	/* delay 60 s: due at 61000; until then the available power rules
	 * and the offline limits (18000 W) fit under 22000 W */
	CU_ASSERT_EQUAL(next, 61000);
	CU_ASSERT_EQUAL(site.cap_w, 40000);
	CU_ASSERT_EQUAL(site.cap_source, SITE_CAP_CONFIG);
	CU_ASSERT_EQUAL(site.bsite.cloud_cap_w, BAL_NO_CAP);
	CU_ASSERT_EQUAL(site.offline_w[1], 8000);
	next = site_update_caps(&site, 61000);
	CU_ASSERT_EQUAL(next, -1);
	CU_ASSERT_EQUAL(site.cap_w, 22000);
	CU_ASSERT_EQUAL(site.cap_source, SITE_CAP_OFFLINE);
	CU_ASSERT_EQUAL(site.bsite.cloud_cap_w, 22000);
	/* a profile of 12 kW on top: the offline limits (18000 W) must come
	 * down to 12000 W: 6000 * 12/18 = 4000, 8000 -> 5333 -> 5300,
	 * 4000 -> 2666 -> 2600 */
	site_set_profile_cap(&site, 12000, 7);
	site.offline_dirty = false;
	(void)site_update_caps(&site, 62000);
	CU_ASSERT_EQUAL(site.cap_w, 12000);
	CU_ASSERT_EQUAL(site.cap_source, SITE_CAP_PROFILE);
	CU_ASSERT_EQUAL(site.offline_w[0], 4000);
	CU_ASSERT_EQUAL(site.offline_w[1], 5300);
	CU_ASSERT_EQUAL(site.offline_w[2], 2600);
	CU_ASSERT_EQUAL(site.chargers[1].offline_power_w, 5300);
	CU_ASSERT_TRUE(site.offline_dirty);
	/* connected, no profile: back to the configured values */
	site_set_profile_cap(&site, BAL_NO_CAP, -1);
	site_set_cloud(&site, SITE_CLOUD_CONNECTED, 63000, 0);
	(void)site_update_caps(&site, 63000);
	CU_ASSERT_EQUAL(site.cap_w, 40000);
	CU_ASSERT_EQUAL(site.offline_w[1], 8000);
}

/* Readings -> balancer input; writes: first all, then changes with the
 * decreases first. */
static void
test_run_order(void)
{
	struct site_write w[4];
	struct sb_charger_reading r;
	struct sb_meter_reading m;
	char err[256];
	int n;

	memset(&m, 0, sizeof(m));
	m.present = true;
	m.polls = 1;
	m.total_power_w = 8000; /* household 8000 - chargers */
	m.age_ms = 100;
	site_take_meter(&site, &m);
	for (int c = 0; c < 3; c++) {
		memset(&r, 0, sizeof(r));
		r.index = (size_t)c;
		r.online = true;
		for (int j = 0; j < SB_MAX_CONNECTORS; j++) {
			r.conn[j].status = SB_STATUS_CHARGING;
			r.conn[j].power_w = 0;
			for (int p = 0; p < 3; p++)
				r.conn[j].current_a[p] = NAN;
		}
		site_take_charger(&site, &r, 5000);
	}
	CU_ASSERT_EQUAL(site.bconns[1].state, BAL_ST_CHARGING);
	CU_ASSERT_EQUAL(site.conns[1].last_start_ms, 5000);
	n = site_run(&site, 6000, w, err, sizeof(err));
	CU_ASSERT_EQUAL(n, 4); /* every connector on the first run */
	for (int i = 0; i < n; i++)
		site_mark_written(&site, &w[i]);
	/* nothing changed: nothing to write */
	n = site_run(&site, 6100, w, err, sizeof(err));
	CU_ASSERT_EQUAL(n, 0);
	/* the household jumps by 14 kW: every setpoint comes down or pauses:
	 * all writes are decreases and come in connector order */
	m.total_power_w = 22000;
	m.polls = 2; /* a new reading */
	site_take_meter(&site, &m);
	/* every charger was read at or after it (all at time 0 here): the
	 * household estimate is 22000 - 0 W measured */
	CU_ASSERT_TRUE(site_take_household(&site));
	CU_ASSERT_EQUAL(site.meter_household_w, 22000);
	CU_ASSERT_TRUE(site.dirty);
	n = site_run(&site, 6200, w, err, sizeof(err));
	CU_ASSERT_TRUE(n >= 1);
	for (int i = 0; i < n; i++) {
		CU_ASSERT_TRUE(w[i].setpoint_w < w[i].previous_w);
		if (i > 0)
			CU_ASSERT_TRUE(w[i].conn > w[i - 1].conn);
		site_mark_written(&site, &w[i]);
	}
	/* in current mode the limit is in A: setpoint_ma / 1000 */
	CU_ASSERT_DOUBLE_EQUAL(site.conns[1].written_limit,
	    site.out[1].setpoint_ma / 1000.0, 0.0001);
}

/* The bus cycle the chargers' readings report (0: TCP). */
static int64_t feed_bus_cycle_ms;

/* Every charger read at t_ms, each connector charging at w W. */
static void
feed_chargers(int64_t t_ms, double w)
{
	struct sb_charger_reading r;

	for (int c = 0; c < 3; c++) {
		memset(&r, 0, sizeof(r));
		r.index = (size_t)c;
		r.online = true;
		r.polls = 1;
		r.updated_ms = t_ms;
		r.bus_cycle_ms = feed_bus_cycle_ms;
		for (int j = 0; j < SB_MAX_CONNECTORS; j++) {
			r.conn[j].status = SB_STATUS_CHARGING;
			r.conn[j].power_w = w;
			for (int p = 0; p < 3; p++)
				r.conn[j].current_a[p] = NAN;
		}
		site_take_charger(&site, &r, t_ms);
	}
}

/* A meter reading (poll number polls) taken at t_ms. */
static void
feed_meter(uint64_t polls, int64_t t_ms, double total_w)
{
	struct sb_meter_reading m;

	memset(&m, 0, sizeof(m));
	m.present = true;
	m.polls = polls;
	m.updated_ms = t_ms;
	m.age_ms = 10;
	m.total_power_w = total_w;
	site_take_meter(&site, &m);
}

/* The household estimate pairs a meter reading with the readings around
 * it: cars following a decrease (or a meter that averages over its
 * interval) are not household load; a charger read too late drops the
 * meter reading; below 0 is clamped and flagged (ALM). */
static void
test_snapshot(void)
{
	char *cause = NULL;

	site_free(&site);
	CU_ASSERT_EQUAL_FATAL(site_init(&site, &cfg, NULL, NULL, &cause), 0);
	CU_ASSERT_FALSE(site_snapshot_ready(&site));
	/* four connectors at 7000 W, the meter 30000 W: household 2000 W */
	feed_chargers(8000, 7000);
	CU_ASSERT_FALSE(site_snapshot_ready(&site)); /* the meter not read */
	feed_meter(1, 8500, 2000 + 4 * 7000);
	CU_ASSERT_FALSE(site_take_household(&site)); /* not read since */
	feed_chargers(8510, 7000);
	CU_ASSERT_TRUE(site_take_household(&site));
	CU_ASSERT_EQUAL(site.meter_household_w, 2000);
	CU_ASSERT_TRUE(site_snapshot_ready(&site));
	/* read at 7000 W at 9.2 s; the meter at 10 s still sees them; read
	 * again at 10.01 s they have come down to 4200 W.  Pairing the meter
	 * with the later readings alone would make 30000 - 16800 = 13200 W of
	 * household; between the two readings anything in [2000, 13200] is
	 * possible: the household stays 2000 W. */
	feed_chargers(9200, 7000);
	feed_meter(2, 10000, 2000 + 4 * 7000);
	feed_chargers(10010, 4200);
	CU_ASSERT_TRUE(site_take_household(&site));
	CU_ASSERT_EQUAL(site.meter_household_w, 2000);
	/* ramping up: 4200 W before, 6000 W after a meter that saw 5000 W
	 * each: 2000 W is possible, and stays */
	feed_meter(3, 11000, 2000 + 4 * 5000);
	feed_chargers(11005, 6000);
	CU_ASSERT_TRUE(site_take_household(&site));
	CU_ASSERT_EQUAL(site.meter_household_w, 2000);
	CU_ASSERT_FALSE(site.household_clamped);
	/* the household really rises while the cars hold still: in full */
	feed_meter(4, 12000, 9000 + 4 * 6000);
	feed_chargers(12010, 6000);
	CU_ASSERT_TRUE(site_take_household(&site));
	CU_ASSERT_EQUAL(site.meter_household_w, 9000);
	/* the meter below the chargers' draw: clamped to 0 and flagged */
	feed_meter(5, 13000, 20000);
	feed_chargers(13010, 6000);
	CU_ASSERT_TRUE(site_take_household(&site));
	CU_ASSERT_EQUAL(site.meter_household_w, 0);
	CU_ASSERT_TRUE(site.household_clamped);
	/* chargers read 600 ms after the meter: more than SITE_SKEW_MS, the
	 * reading is dropped and the estimate stays */
	feed_meter(6, 14000, 9000 + 4 * 6000);
	feed_chargers(14000 + SITE_SKEW_MS + 100, 6000);
	CU_ASSERT_FALSE(site_take_household(&site));
	CU_ASSERT_EQUAL(site.meter_household_w, 0);
	CU_ASSERT_EQUAL(site.snapshots_skewed, 1);
	/* the next one pairs: household 9000 W */
	feed_meter(7, 15000, 9000 + 4 * 6000);
	feed_chargers(15020, 6000);
	CU_ASSERT_TRUE(site_take_household(&site));
	CU_ASSERT_EQUAL(site.meter_household_w, 9000);
	CU_ASSERT_FALSE(site.household_clamped);
	CU_ASSERT_EQUAL(site.snapshots, 6);
}

/* Polls of the meter and of a charger begun in the same millisecond,
 * or a few apart, read their registers in either order: the charger's
 * reading then is not taken for its draw at the meter's reading, its
 * earlier one counts too.  (Taken alone, the cars' change between the
 * two reads showed as household: 13200 W, then a clamped 0 W.) */
static void
test_snapshot_order(void)
{
	char *cause = NULL;

	site_free(&site);
	CU_ASSERT_EQUAL_FATAL(site_init(&site, &cfg, NULL, NULL, &cause), 0);
	feed_bus_cycle_ms = 0;
	feed_chargers(39000, 7000);
	feed_meter(1, 40000, 2000 + 4 * 7000);
	feed_chargers(40005, 7000);
	CU_ASSERT_TRUE(site_take_household(&site));
	CU_ASSERT_EQUAL(site.meter_household_w, 2000);
	feed_chargers(40500, 7000);
	/* the meter still sees 7000 W each; the chargers, polled from the
	 * same millisecond, have come down to 4200 W */
	feed_meter(2, 41000, 2000 + 4 * 7000);
	feed_chargers(41000, 4200);
	CU_ASSERT_TRUE(site_take_household(&site));
	CU_ASSERT_EQUAL(site.meter_household_w, 2000);
	/* a poll begun 50 ms before the meter's reads them at 6000 W, the
	 * meter still at 4200 W each */
	feed_chargers(41500, 4200);
	feed_chargers(41950, 6000);
	feed_meter(3, 42000, 2000 + 4 * 4200);
	feed_chargers(42010, 6000);
	CU_ASSERT_TRUE(site_take_household(&site));
	CU_ASSERT_EQUAL(site.meter_household_w, 2000);
	CU_ASSERT_FALSE(site.household_clamped);
	/* the cars holding still, a real household step shows in full */
	feed_chargers(42500, 6000);
	feed_meter(4, 43000, 12000 + 4 * 6000);
	feed_chargers(43000, 6000);
	CU_ASSERT_TRUE(site_take_household(&site));
	CU_ASSERT_EQUAL(site.meter_household_w, 12000);
}

/* On a slow RS-485 bus the cycle adapts: the control cycle is the bus's
 * when that is longer than the meter's poll interval, a meter reading
 * waits a bus cycle for the chargers' readings (a newer one meanwhile is
 * not taken), and the same timing without a bus drops the reading. */
static void
test_slow_bus(void)
{
	char *cause = NULL;
	uint64_t skewed;

	site_free(&site);
	CU_ASSERT_EQUAL_FATAL(site_init(&site, &cfg, NULL, NULL, &cause), 0);
	feed_bus_cycle_ms = 0;
	feed_chargers(20000, 7000);
	CU_ASSERT_EQUAL(site_bus_cycle_ms(&site), 0);
	CU_ASSERT_EQUAL(site_cycle_ms(&site), cfg.meter.poll_interval_ms);
	feed_bus_cycle_ms = 3000;
	feed_chargers(20000, 7000);
	CU_ASSERT_EQUAL(site_bus_cycle_ms(&site), 3000);
	CU_ASSERT_EQUAL(site_cycle_ms(&site), 3000);
	/* the meter at 20.5 s and again at 21.5 s; the chargers come at
	 * 22.8 s, 2.3 s after the first: it pairs, household 2000 W */
	feed_meter(1, 20500, 2000 + 4 * 7000);
	feed_meter(2, 21500, 9000 + 4 * 7000);
	CU_ASSERT_FALSE(site_take_household(&site));
	CU_ASSERT_EQUAL(site.snapshots_skewed, 0);
	feed_chargers(22800, 7000);
	CU_ASSERT_TRUE(site_take_household(&site));
	CU_ASSERT_EQUAL(site.meter_household_w, 2000);
	/* without a bus the same 2.3 s is too late: dropped */
	feed_bus_cycle_ms = 0;
	feed_chargers(30000, 7000);
	skewed = site.snapshots_skewed;
	feed_meter(3, 30500, 9000 + 4 * 7000);
	feed_chargers(32800, 7000);
	CU_ASSERT_FALSE(site_take_household(&site));
	CU_ASSERT_EQUAL(site.snapshots_skewed, skewed + 1);
	CU_ASSERT_EQUAL(site.meter_household_w, 2000);
}

/* Status figures say what they are: the household as estimated (never
 * negative in ALM), no budget below 0, and a balancer bound by the site
 * cap names the cap in force (the offline fallback, not "cloud"). */
static void
test_report_figures(void)
{
	struct site_write w[4];
	struct site_report r;
	char err[256];

	/* after test_snapshot: household 9000 W, four cars at 6000 W */
	CU_ASSERT_TRUE_FATAL(site_run(&site, 16000, w, err, sizeof(err)) >= 0);
	site_report(&site, &r);
	CU_ASSERT_DOUBLE_EQUAL(r.meter.household_w, 9000, 0.5);
	CU_ASSERT_FALSE(r.meter.household_clamped);
	CU_ASSERT_TRUE(isnan(r.meter.surplus_w));
	CU_ASSERT_STRING_EQUAL(r.balancer_source, "alm-allocable");
	/* the backend away for 60 s: the offline-site power (22 kW) is the
	 * cap in force and binds (34000 - 9000 = 25000 W above it) */
	site_set_cloud(&site, SITE_CLOUD_OFFLINE, 16000, 0);
	(void)site_update_caps(&site, 76000);
	CU_ASSERT_TRUE_FATAL(site_run(&site, 76000, w, err, sizeof(err)) >= 0);
	site_report(&site, &r);
	CU_ASSERT_STRING_EQUAL(r.cap_source, "offline-fallback");
	CU_ASSERT_STRING_EQUAL(r.balancer_source, "offline-fallback");
	/* the household above the allocable power: the budget is 0, not
	 * negative */
	feed_meter(8, 77000, 40000 + 4 * 6000);
	feed_chargers(77010, 6000);
	CU_ASSERT_TRUE(site_take_household(&site));
	CU_ASSERT_TRUE_FATAL(site_run(&site, 77100, w, err, sizeof(err)) >= 0);
	CU_ASSERT_TRUE(site.site_out.budget_w < 0);
	site_report(&site, &r);
	CU_ASSERT_EQUAL(r.budget_w, 0);
	CU_ASSERT_DOUBLE_EQUAL(r.meter.household_w, 40000, 0.5);
}

/* ---- Property: no spurious pause under real dynamics ------------------
 * Random ALM sites (1-6 cars of 22 kW, 20-60 kW) whose budget always
 * carries every car at its minimum with 600 W to spare; the household steps now and then; cars follow a
 * new setpoint after a delay (0.5-3 s), drop at once and ramp up at
 * 1-5 kW/s (from 0 when they plug in); the meter lags (0-300 ms) and is
 * noisy (+-100 W), the chargers' readings are noisy (+-30 W) and taken
 * 500 ms before and 0-80 ms after each meter reading (the same
 * millisecond too: the meter's lag is then what the polls' order makes
 * it).  The site model and
 * the balancer must never pause a car.  SITE_PROP_SITES=n runs n sites
 * (default 2000 in make check, 60 cycles each; make bench runs 10000);
 * SITE_PROP_SEED=n another seed. */

#define PROP_CARS 6
#define PROP_TICK_MS 50
#define PROP_LAG_TICKS 8

static uint64_t prop_rng;

/* xorshift64*: a number in [0, n). */
static int64_t
prop_rand(int64_t n)
{
	prop_rng ^= prop_rng >> 12;
	prop_rng ^= prop_rng << 25;
	prop_rng ^= prop_rng >> 27;
	return (int64_t)((prop_rng * 2685821657736338717ull) >> 33) % n;
}

/* One car: what it draws, the command it follows and the next one. */
struct prop_car {
	bool plugged;
	double draw_w, applied_w, pending_w;
	int64_t pending_at;
	double ramp_w_per_s;
};

/* The site's physics between two control cycles, tick by tick; keeps
 * the cars' total per tick for the lagging meter. */
static void
prop_advance(struct prop_car *car, int n, int64_t from, int64_t to,
    double *totals, int *head)
{
	for (int64_t t = from; t < to; t += PROP_TICK_MS) {
		double sum = 0;

		for (int i = 0; i < n; i++) {
			struct prop_car *c = &car[i];

			if (c->pending_at >= 0 && t >= c->pending_at) {
				c->applied_w = c->pending_w;
				c->pending_at = -1;
			}
			if (!c->plugged)
				c->draw_w = 0;
			else if (c->applied_w < c->draw_w)
				c->draw_w = c->applied_w;
			else {
				c->draw_w += c->ramp_w_per_s * PROP_TICK_MS / 1000;
				if (c->draw_w > c->applied_w)
					c->draw_w = c->applied_w;
			}
			sum += c->draw_w;
		}
		*head = (*head + 1) % PROP_LAG_TICKS;
		totals[*head] = sum;
	}
}

/* Every charger read at t (noise +-30 W). */
static void
prop_read_chargers(struct site *st, const struct prop_car *car, int n,
    int64_t t)
{
	struct sb_charger_reading r;

	for (int i = 0; i < n; i++) {
		double w = car[i].draw_w;

		if (w > 0)
			w += (double)prop_rand(61) - 30;
		if (w < 0)
			w = 0;
		memset(&r, 0, sizeof(r));
		r.index = (size_t)i;
		r.online = true;
		r.polls = 1;
		r.updated_ms = t;
		r.conn[0].status = car[i].plugged ? SB_STATUS_CHARGING :
		    SB_STATUS_AVAILABLE;
		r.conn[0].power_w = w;
		for (int p = 0; p < 3; p++)
			r.conn[0].current_a[p] = w / 3 / 230;
		site_take_charger(st, &r, t);
	}
}

/* One random site, 60 cycles; returns the pauses seen (spurious: the
 * budget always carries every car at its minimum). */
static int
prop_site(int id, int *held)
{
	struct prop_car car[PROP_CARS];
	double totals[PROP_LAG_TICKS] = { 0 };
	struct cfg pc;
	struct cfg_errors errors = { 0 };
	struct site st;
	struct site_write w[PROP_CARS];
	char text[2048], err[256], *cause = NULL;
	int n = 1 + (int)prop_rand(PROP_CARS), head = 0, pauses = 0, len;
	int kw = 20 + (int)prop_rand(41), lag = (int)prop_rand(PROP_LAG_TICKS - 1);
	double allocable = kw * 1000.0 * 0.85, household;
	double spare = allocable - n * 4200.0 - 600;
	uint64_t polls = 0;
	int64_t t = 0;

	if (spare < 0) {
		n = (int)((allocable - 600) / 4200);
		spare = allocable - n * 4200.0 - 600;
	}
	len = snprintf(text, sizeof(text),
	    "site { id = \"p%d\" available-power-kw = %d main-breaker-a = 400 }\n"
	    "balancer { mode = \"alm\" }\n"
	    "meter { host = \"127.0.0.1\" port = 1502 }\n"
	    "store { path = \"/nonexistent/x.db\" }\n", id, kw);
	for (int i = 0; i < n; i++)
		len += snprintf(text + len, sizeof(text) - (size_t)len,
		    "charger \"c%d\" { model = \"autel-ac-wallbox\" host = "
		    "\"127.0.0.1\" port = %d max-power-kw = 22 }\n", i, i + 1);
	if (cfg_load_string("prop.conf", text, &pc, &errors) != 0) {
		for (size_t i = 0; i < errors.n; i++)
			fprintf(stderr, "%s\n", errors.msgs[i]);
		cfg_errors_free(&errors);
		return -1;
	}
	if (site_init(&st, &pc, NULL, NULL, &cause) != 0) {
		fprintf(stderr, "%s\n", cause);
		free(cause);
		cfg_clear(&pc);
		return -1;
	}
	household = (double)prop_rand((int64_t)spare + 1);
	for (int i = 0; i < n; i++) {
		car[i].plugged = prop_rand(4) != 0;
		car[i].draw_w = car[i].applied_w = 0;
		car[i].pending_at = -1;
		car[i].ramp_w_per_s = 1000 + (double)prop_rand(4001);
	}
	for (int cycle = 0; cycle < 60; cycle++) {
		int64_t tm = t + 1000, after = tm + prop_rand(81);
		double meter;
		int nw;

		/* now and then the household steps (within what fits), a car
		 * plugs in (ramping from 0) or leaves */
		if (prop_rand(10) == 0)
			household = (double)prop_rand((int64_t)spare + 1);
		if (prop_rand(15) == 0) {
			int i = (int)prop_rand(n);

			car[i].plugged = !car[i].plugged;
			car[i].draw_w = 0;
		}
		prop_advance(car, n, t, tm - 500, totals, &head);
		prop_read_chargers(&st, car, n, tm - 500);
		prop_advance(car, n, tm - 500, tm, totals, &head);
		/* the meter shows the cars as they were lag ticks ago */
		meter = household + totals[(head - lag + PROP_LAG_TICKS) %
		    PROP_LAG_TICKS] + (double)prop_rand(201) - 100;
		{
			struct sb_meter_reading m;

			memset(&m, 0, sizeof(m));
			m.present = true;
			m.polls = ++polls;
			m.updated_ms = tm;
			m.age_ms = after - tm;
			m.total_power_w = meter;
			for (int p = 0; p < 3; p++) {
				m.power_w[p] = meter / 3;
				m.current_a[p] = fabs(meter / 3 / 230);
				m.voltage_v[p] = 230;
			}
			site_take_meter(&st, &m);
		}
		prop_advance(car, n, tm, after, totals, &head);
		prop_read_chargers(&st, car, n, after);
		(void)site_take_household(&st);
		nw = site_run(&st, after + 1, w, err, sizeof(err));
		if (nw < 0) {
			fprintf(stderr, "site %d: %s\n", id, err);
			pauses++;
			break;
		}
		for (int i = 0; i < nw; i++) {
			struct prop_car *c = &car[st.conns[w[i].conn].charger];

			site_mark_written(&st, &w[i]);
			c->pending_w = w[i].setpoint_w;
			c->pending_at = after + 500 + prop_rand(2501);
		}
		for (int k = 0; k < st.n_conns; k++) {
			enum bal_reason r = st.out[k].reason;

			if (r == BAL_R_PAUSED_BELOW_MIN) {
				if (pauses++ < 3)
					fprintf(stderr, "site %d cycle %d: %s "
					    "paused (household %.0f W, estimate "
					    "%lld W)\n", id, cycle,
					    st.conns[k].label, household,
					    (long long)st.meter_household_w);
			}
			if (r == BAL_R_HELD_AT_MIN)
				(*held)++;
		}
		t = after;
	}
	site_free(&st);
	cfg_clear(&pc);
	return pauses;
}

static void
test_no_spurious_pause(void)
{
	const char *e = getenv("SITE_PROP_SITES"), *seed = getenv("SITE_PROP_SEED");
	int sites = e != NULL ? atoi(e) : 2000, bad = 0, held = 0, rc;

	prop_rng = seed != NULL ? strtoull(seed, NULL, 10) | 1 :
	    0x9e3779b97f4a7c15ull;
	for (int i = 0; i < sites; i++) {
		rc = prop_site(i, &held);
		if (rc != 0)
			bad++;
	}
	fprintf(stderr, "\n  %d sites x 60 cycles: %d with a pause, %d "
	    "connector-cycles held at the minimum\n", sites, bad, held);
	CU_ASSERT_EQUAL(bad, 0);
}

/* Backend values are checked against the file's cross-rules. */
static void
test_lb_parse(void)
{
	struct site_lb lb;
	char *cause = NULL, buf[32];

	site_lb_from_cfg(&cfg, &lb);
	CU_ASSERT_STRING_EQUAL(site_lb_format(&lb, 3, buf, sizeof(buf)), "40");
	CU_ASSERT_STRING_EQUAL(site_lb_format(&lb, 5, buf, sizeof(buf)), "4.2");
	CU_ASSERT_EQUAL(site_lb_parse(&lb, &cfg, 0, "dlb", &cause), 0);
	CU_ASSERT_EQUAL(lb.mode, CFG_BAL_DLB);
	CU_ASSERT_EQUAL(site_lb_parse(&lb, &cfg, 0, "eco", &cause), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "allowed dlb, alm, pv"));
	free(cause);
	cause = NULL;
	CU_ASSERT_EQUAL(site_lb_parse(&lb, &cfg, 2, "51", &cause), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "0..50"));
	free(cause);
	cause = NULL;
	/* three chargers: Pmin 3 x 4.2 = 12.6 kW; 12 kW is not above it */
	CU_ASSERT_EQUAL(site_lb_parse(&lb, &cfg, 3, "12", &cause), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "12.6"));
	free(cause);
	cause = NULL;
	/* 13 kW is above 12.6 kW, but below the 22 kW offline-site power */
	CU_ASSERT_EQUAL(site_lb_parse(&lb, &cfg, 3, "13", &cause), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "offline-site power must be "
	    "0..13 kW"));
	free(cause);
	cause = NULL;
	CU_ASSERT_EQUAL(lb.available_power_w, 40000); /* unchanged */
	CU_ASSERT_EQUAL(site_lb_parse(&lb, &cfg, 3, "23", &cause), 0);
	CU_ASSERT_EQUAL(lb.available_power_w, 23000);
	/* The main breaker as in the file: 63 A x 230 V x 3 phases =
	 * 43.47 kW; 44 kW is above it, 43 kW is not. */
	CU_ASSERT_EQUAL(site_lb_parse(&lb, &cfg, 3, "44", &cause), -1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "at most 43.47 kW (63 A x 230 V "
	    "x 3 phases)"));
	free(cause);
	cause = NULL;
	CU_ASSERT_EQUAL(lb.available_power_w, 23000); /* unchanged */
	CU_ASSERT_EQUAL(site_lb_parse(&lb, &cfg, 3, "43", &cause), 0);
	CU_ASSERT_EQUAL(lb.available_power_w, 43000);
	site_lb_from_cfg(&cfg, &lb);
	CU_ASSERT_EQUAL(site_lb_parse(&lb, &cfg, 7, "41", &cause), -1);
	free(cause);
	cause = NULL;
	CU_ASSERT_EQUAL(site_lb_parse(&lb, &cfg, 4, "1.5", &cause), 0);
	CU_ASSERT_EQUAL(lb.min_power_1ph_w, 1500);
}

/* The fail-safe rule of the file holds for the backend too: the
 * offline-site power covers the chargers' offline powers (6 + 8 + 4 kW). */
static void
test_lb_offline_sum(void)
{
	struct site_lb lb;
	char *cause = NULL;

	site_lb_from_cfg(&cfg, &lb);
	CU_ASSERT_EQUAL(site_lb_parse(&lb, &cfg, 7, "17", &cause), -1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "at least 18 kW"));
	free(cause);
	cause = NULL;
	CU_ASSERT_EQUAL(lb.offline_site_power_w, 22000); /* unchanged */
	CU_ASSERT_EQUAL(site_lb_parse(&lb, &cfg, 7, "18", &cause), 0);
	CU_ASSERT_EQUAL(lb.offline_site_power_w, 18000);
	CU_ASSERT_EQUAL(site_lb_parse(&lb, &cfg, 7, "0", &cause), 0);
	CU_ASSERT_EQUAL(lb.offline_site_power_w, 0);
}


/* Phase switching (phase.c): a switchable AC Single Charger under a 4 kW
 * cap goes to one phase after the confirmation, paused first, 21008
 * written only once the draw stopped and in force once read back; back to
 * three phases when the cap goes, not before the dwell ran out. */
static const char phase_text[] =
    "site { id = \"ph\" available-power-kw = 11 }\n"
    "balancer { mode = \"dlb\" phase-switch-dwell-s = 60 "
    "phase-switch-confirm-s = 5 }\n"
    "charger \"one\" { model = \"autel-single\" host = \"127.0.0.1\" "
    "max-power-kw = 11 phase-switching = true }\n"
    "store { path = \"/nonexistent/x.db\" }\n";

/* Charger 0 of st read at t: charging at w, 21008 = ph, commands done. */
static void
phase_read(struct site *st, int64_t t, double w, int ph, uint64_t done)
{
	struct sb_charger_reading r;

	memset(&r, 0, sizeof(r));
	r.online = true;
	r.polls = 1;
	r.updated_ms = t;
	r.phase_switch = ph;
	r.commands_done = done;
	r.conn[0].status = SB_STATUS_CHARGING;
	r.conn[0].power_w = w;
	for (int p = 0; p < 3; p++)
		r.conn[0].current_a[p] = NAN;
	site_take_charger(st, &r, t);
}

/* Runs st at t and marks its writes done; returns connector 0's setpoint. */
static int32_t
phase_run(struct site *st, int64_t t)
{
	struct site_write w[2];
	char err[256];
	int n;

	(void)site_update_caps(st, t);
	n = site_run(st, t, w, err, sizeof(err));

	CU_ASSERT_FATAL(n >= 0);
	for (int i = 0; i < n; i++)
		site_mark_written(st, &w[i]);
	return st->out[0].setpoint_w;
}

/* Reads and runs st once a second from t to until (charging at w, 21008
 * = ph, commands done); returns when a switch was decided, or -1. */
static int64_t
phase_until_decided(struct site *st, int64_t t, int64_t until, double w,
    int ph, uint64_t done)
{
	for (; t <= until; t += 1000) {
		phase_read(st, t, w, ph, done);
		phase_run(st, t);
		if (st->phase[0].step == SITE_PH_PAUSING)
			return t;
	}
	return -1;
}

static void
test_phase_switch(void)
{
	struct cfg pc;
	struct cfg_errors errors = { 0 };
	struct site st;
	struct site_phase_cmd cmd[2];
	struct site_charger_view v;
	char *cause = NULL;
	int64_t decided;

	CU_ASSERT_EQUAL_FATAL(cfg_load_string("ph.conf", phase_text, &pc,
	    &errors), 0);
	CU_ASSERT_EQUAL_FATAL(site_init(&st, &pc, NULL, NULL, &cause), 0);
	CU_ASSERT_EQUAL(st.phase[0].step, SITE_PH_STEADY);
	CU_ASSERT_TRUE(st.chargers[0].phase_switchable);
	site_set_profile_cap(&st, 4000, 1);
	decided = phase_until_decided(&st, 0, 20000, 4000, 0, 0);
	/* the first run only sees the rooms; 5 s of confirmation after */
	CU_ASSERT_EQUAL(decided, 6000);
	CU_ASSERT_EQUAL(st.out[0].setpoint_w, 0);
	CU_ASSERT_EQUAL(st.out[0].reason, BAL_R_PHASE_SWITCHING);
	/* still drawing: nothing written yet */
	CU_ASSERT_EQUAL(site_phase_due(&st, 6500, cmd), 0);
	phase_read(&st, 7000, 0, 0, 0);
	CU_ASSERT_EQUAL(site_phase_due(&st, 7000, cmd), 1);
	CU_ASSERT_EQUAL(cmd[0].charger, 0);
	CU_ASSERT_EQUAL(cmd[0].value, 1); /* L1 */
	site_phase_submitted(&st, 0, 0, 3);
	CU_ASSERT_EQUAL(st.phase[0].step, SITE_PH_WRITING);
	CU_ASSERT_EQUAL(phase_run(&st, 7500), 0); /* still paused */
	phase_read(&st, 8000, 0, 1, 3);
	CU_ASSERT_EQUAL(st.phase[0].step, SITE_PH_STEADY);
	CU_ASSERT_EQUAL(st.chargers[0].phases, 1);
	CU_ASSERT_EQUAL(st.bconns[0].rated_max_w, 11000 / 3);
	CU_ASSERT_EQUAL(phase_run(&st, 8000), 3600); /* 16 A on one phase */
	site_charger_view(&st, 0, &v);
	CU_ASSERT_EQUAL(v.phases, 1);
	CU_ASSERT_EQUAL(v.phase_switches, 1);
	CU_ASSERT_EQUAL(v.phase_next_ms, 6000 + 60000);

	/* the cap goes: three phases fit, but only from 66 s on */
	site_set_profile_cap(&st, BAL_NO_CAP, -1);
	decided = phase_until_decided(&st, 9000, 90000, 3600, 1, 3);
	CU_ASSERT_EQUAL(decided, 66000);
	/* refused once (a car still drawing): paused and tried again */
	phase_read(&st, 67000, 0, 1, 3);
	CU_ASSERT_EQUAL(site_phase_due(&st, 67000, cmd), 1);
	CU_ASSERT_EQUAL(cmd[0].value, 0);
	site_phase_submitted(&st, 0, 0, 4);
	{
		struct sb_charger_reading r;

		memset(&r, 0, sizeof(r));
		r.online = true;
		r.polls = 1;
		r.updated_ms = 68000;
		r.phase_switch = 1;
		r.commands_done = 4;
		r.command_result = SB_ERR_DEVICE;
		r.conn[0].status = SB_STATUS_CHARGING;
		site_take_charger(&st, &r, 68000);
	}
	CU_ASSERT_EQUAL(st.phase[0].step, SITE_PH_PAUSING);
	CU_ASSERT_EQUAL(st.n_phase_pausing, 1);
	CU_ASSERT_EQUAL(site_phase_due(&st, 68000, cmd), 1);
	site_phase_submitted(&st, 0, 0, 5);
	phase_read(&st, 69000, 0, 0, 5);
	CU_ASSERT_EQUAL(st.chargers[0].phases, 3);
	CU_ASSERT_EQUAL(st.bconns[0].rated_max_w, 11000);
	CU_ASSERT_EQUAL(phase_run(&st, 69000), 11000);
	CU_ASSERT_EQUAL(st.phase[0].switches, 2);

	/* a switch that never gets its read-back is given up at the timeout
	 * and the charger stays where it is */
	site_set_profile_cap(&st, 4000, 1);
	decided = phase_until_decided(&st, 70000, 200000, 4000, 0, 5);
	CU_ASSERT_EQUAL(decided, 66000 + 60000);
	CU_ASSERT_FALSE(site_phase_wake(&st, decided + 1000));
	CU_ASSERT_TRUE(site_phase_wake(&st, decided + SITE_PHASE_TIMEOUT_MS));
	CU_ASSERT_EQUAL(site_phase_due(&st, decided + SITE_PHASE_TIMEOUT_MS,
	    cmd), 0);
	CU_ASSERT_EQUAL(st.phase[0].step, SITE_PH_STEADY);
	CU_ASSERT_EQUAL(st.n_phase_pausing, 0);
	CU_ASSERT_EQUAL(st.phase[0].failures, 1);
	CU_ASSERT_EQUAL(st.chargers[0].phases, 3);
	CU_ASSERT_PTR_NOT_NULL(strstr(st.phase[0].error, "did not stop"));
	site_free(&st);
	cfg_clear(&pc);
}

/* phase-switching only where the manual lists register 21008. */
static void
test_phase_switch_config(void)
{
	static const char bad[] =
	    "site { id = \"ph\" available-power-kw = 11 }\n"
	    "charger \"w\" { model = \"autel-ac-wallbox\" host = \"h\" "
	    "max-power-kw = 11 phase-switching = true }\n"
	    "store { path = \"/nonexistent/x.db\" }\n";
	struct cfg pc;
	struct cfg_errors errors = { 0 };

	CU_ASSERT_NOT_EQUAL(cfg_load_string("bad.conf", bad, &pc, &errors), 0);
	CU_ASSERT_EQUAL(errors.n, 1);
	if (errors.n > 0)
		CU_ASSERT_PTR_NOT_NULL(strstr(errors.msgs[0], "21008"));
	cfg_errors_free(&errors);
}

/* Drops from a status what moves with the clock alone; with
 * offline_too, also what the stable text leaves out besides. */
static void
drop_clock(json_t *st, bool offline_too)
{
	json_t *v;
	size_t i;

	json_object_del(st, "now");
	json_object_del(st, "uptime_s");
	if (!offline_too)
		return;
	if (json_is_object(v = json_object_get(st, "meter")))
		json_object_del(v, "age_ms");
	json_array_foreach(json_object_get(st, "chargers"), i, v)
		json_object_del(v, "offline_since");
}

/* The status text, written charger by charger, says what the status
 * tree says; the control socket's reply wraps that text; the stable text
 * is the same without the members that move with the clock. */
static void
test_status_text(void)
{
	struct control_sources src = {
		.cfg = &cfg, .site = &site,
		.started_ms = mono_now_ms(), .started_epoch_ms = wall_now_ms(),
	};
	static const char line[] = "{\"cmd\":\"status\"}";
	json_t *req = json_pack("{s:s}", "cmd", "status");
	json_t *tree, *full, *stable, *reply;
	char *error = NULL, *stable_text = NULL, *text, *reply_text;

	tree = control_request(&src, req, &error);
	json_decref(req);
	text = control_status_text(&src, &stable_text);
	reply_text = control_handle(&src, line, strlen(line));
	CU_ASSERT_PTR_NOT_NULL_FATAL(tree);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(stable_text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(reply_text);
	full = json_loads(text, 0, NULL);
	stable = json_loads(stable_text, 0, NULL);
	reply = json_loads(reply_text, 0, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(full);
	CU_ASSERT_PTR_NOT_NULL_FATAL(stable);
	CU_ASSERT_PTR_NOT_NULL_FATAL(reply);
	CU_ASSERT_EQUAL(json_array_size(json_object_get(full, "chargers")), 3);
	CU_ASSERT_PTR_NOT_NULL(json_object_get(full, "now"));
	CU_ASSERT_PTR_NOT_NULL(json_object_get(json_array_get(
	    json_object_get(full, "chargers"), 0), "offline_since"));
	CU_ASSERT_TRUE(json_is_true(json_object_get(reply, "ok")));
	drop_clock(tree, false);
	drop_clock(full, false);
	drop_clock(json_object_get(reply, "result"), false);
	CU_ASSERT_TRUE(json_equal(tree, full));
	CU_ASSERT_TRUE(json_equal(tree, json_object_get(reply, "result")));
	CU_ASSERT_PTR_NULL(json_object_get(stable, "now"));
	CU_ASSERT_PTR_NULL(json_object_get(json_array_get(
	    json_object_get(stable, "chargers"), 0), "offline_since"));
	drop_clock(tree, true);
	CU_ASSERT_TRUE(json_equal(tree, stable));
	json_decref(tree);
	json_decref(full);
	json_decref(stable);
	json_decref(reply);
	free(text);
	free(stable_text);
	free(reply_text);
}

static const struct cu_test site_tests[] = {
	{ "circuits ordered parents first", test_circuits },
	{ "connectors in configuration order", test_connectors },
	{ "connector names", test_find },
	{ "the ids the chargers had, with gaps", test_ids_kept },
	{ "southbound description", test_sb_conf },
	{ "cap composition", test_cap_compose },
	{ "offline limits fit the cap", test_offline_fit },
	{ "offline cap after the delay", test_offline_cap_timeline },
	{ "writes: all first, then decreases first", test_run_order },
	{ "one snapshot per cycle", test_snapshot },
	{ "status figures", test_report_figures },
	{ "no spurious pause under real dynamics", test_no_spurious_pause },
	{ "backend settings checked", test_lb_parse },
	{ "backend offline-site power covers the offline powers",
	  test_lb_offline_sum },
	{ "phase switching: pause, write, read back, dwell", test_phase_switch },
	{ "phase switching only on the AC Single Charger",
	  test_phase_switch_config },
	{ "the cycle adapts to a slow bus", test_slow_bus },
	{ "meter and charger polls begun together", test_snapshot_order },
	{ "status text as the status tree", test_status_text },
	{ NULL, NULL },
};

static const struct cu_suite suites[] = {
	{ "site", setup, teardown, site_tests },
	{ NULL, NULL, NULL, NULL },
};

int
main(void)
{
	return cu_run(suites);
}
