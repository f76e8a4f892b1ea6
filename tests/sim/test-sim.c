/* Tests for ocpp-edge-sim.  Part 1 drives the site model in-process with
 * an injected clock (register maps, EV follow delay, offline fallback,
 * meter sums).  Part 2 starts the real program and talks Modbus to it with
 * libmodbus over loopback TCP, over the pseudo-terminal (RTU), and as the
 * gateway a charger dials into. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <modbus.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "sim/sim.h"
#include "tests/cu.h"

/* ------------------------------------------------------------------ */
/* Part 1: in-process, time injected.                                  */

#define T0 1000000  /* an arbitrary monotonic start, ms */

static struct sim_site site;

/* Loads a scenario into the in-process site at time T0; 0 or -1. */
static int
load(const char *json)
{
	char *cause = NULL;

	sim_site_free(&site);
	memset(&site, 0, sizeof(site));
	site.start_ms = site.last_update_ms = T0;
	if (sim_scenario_parse(&site, json, &cause) != 0) {
		fprintf(stderr, "scenario: %s\n", cause);
		free(cause);
		return -1;
	}
	return 0;
}

/* Sends a read PDU; returns 0 and the registers, or the exception code. */
static int
rd(struct sim_charger *c, int fc, uint16_t addr, uint16_t n, uint16_t *out,
    int64_t now)
{
	uint8_t req[5] = { (uint8_t)fc, (uint8_t)(addr >> 8),
	    (uint8_t)(addr & 0xff), (uint8_t)(n >> 8), (uint8_t)(n & 0xff) };
	uint8_t resp[260];
	size_t len = sim_modbus_pdu(&site, c, req, sizeof(req), resp, now);

	if (resp[0] & 0x80)
		return resp[1];
	if (len != 2 + 2 * (size_t)n || resp[1] != 2 * n)
		return -1;
	for (uint16_t i = 0; i < n; i++)
		out[i] = (uint16_t)(resp[2 + 2 * i] << 8 | resp[3 + 2 * i]);
	return 0;
}

/* Sends a write-multiple PDU; returns 0 or the exception code. */
static int
wr(struct sim_charger *c, uint16_t addr, uint16_t n, const uint16_t *v,
    int64_t now)
{
	uint8_t req[6 + 2 * 123], resp[260];

	req[0] = 16;
	req[1] = (uint8_t)(addr >> 8);
	req[2] = (uint8_t)(addr & 0xff);
	req[3] = 0;
	req[4] = (uint8_t)n;
	req[5] = (uint8_t)(2 * n);
	for (uint16_t i = 0; i < n; i++) {
		req[6 + 2 * i] = (uint8_t)(v[i] >> 8);
		req[7 + 2 * i] = (uint8_t)(v[i] & 0xff);
	}
	sim_modbus_pdu(&site, c, req, 6 + 2 * (size_t)n, resp, now);
	return (resp[0] & 0x80) ? resp[1] : 0;
}

/* Writes a UINT32 high word first. */
static int
wr32(struct sim_charger *c, uint16_t addr, uint32_t v, int64_t now)
{
	uint16_t r[2] = { (uint16_t)(v >> 16), (uint16_t)(v & 0xffff) };

	return wr(c, addr, 2, r, now);
}

/* Sends a write-single PDU; returns 0 or the exception code. */
static int
wr16(struct sim_charger *c, uint16_t addr, uint16_t v, int64_t now)
{
	uint8_t req[5] = { 6, (uint8_t)(addr >> 8), (uint8_t)(addr & 0xff),
	    (uint8_t)(v >> 8), (uint8_t)(v & 0xff) }, resp[260];

	sim_modbus_pdu(&site, c, req, 5, resp, now);
	return (resp[0] & 0x80) ? resp[1] : 0;
}

/* Reads a UINT32 (high word first) with function 03. */
static uint32_t
rd32(struct sim_charger *c, uint16_t addr, int64_t now)
{
	uint16_t r[2] = { 0xdead, 0xbeef };

	CU_ASSERT_EQUAL_FATAL(rd(c, 3, addr, 2, r, now), 0);
	return (uint32_t)r[0] << 16 | r[1];
}

/* Reads one register with function 03. */
static uint16_t
rd16(struct sim_charger *c, uint16_t addr, int64_t now)
{
	uint16_t r = 0xdead;

	CU_ASSERT_EQUAL_FATAL(rd(c, 3, addr, 1, &r, now), 0);
	return r;
}

/* Decodes n registers of ASCII (high byte first) into out. */
static void
ascii(const uint16_t *r, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = (char)(r[i] >> 8);
		out[2 * i + 1] = (char)(r[i] & 0xff);
	}
	out[2 * n] = '\0';
}

/* Lenient: the registers the manual leaves open too (the physics tests). */
static const char one_of_each[] =
	"{\"follow_delay_ms\": 0, \"registers\": \"lenient\","
	" \"site\": {\"household_w\": 0},"
	" \"meter\": {\"type\": \"sdm630\", \"tcp\": true},"
	" \"chargers\": ["
	"  {\"name\": \"wb\", \"model\": \"autel-ac-wallbox\", \"serial\": \"WB-1\","
	"   \"max_power_w\": 22000},"
	"  {\"name\": \"cp\", \"model\": \"autel-ac-compact\", \"phases\": 1,"
	"   \"wired_phase\": \"L2\", \"max_power_w\": 7400},"
	"  {\"name\": \"ul\", \"model\": \"autel-ac-ultra\", \"connectors\": 2,"
	"   \"word_order\": \"low-first\"},"
	"  {\"name\": \"sg\", \"model\": \"autel-single\", \"answer_fc04\": false,"
	"   \"max_power_w\": 11000},"
	"  {\"name\": \"dc\", \"model\": \"autel-dc\", \"connectors\": 2,"
	"   \"max_power_w\": 60000, \"max_offline_power_w\": 20000}"
	" ]}";

static const char strict_each[] =
	"{\"chargers\": ["
	"  {\"name\": \"wb\", \"model\": \"autel-ac-wallbox\"},"
	"  {\"name\": \"ul\", \"model\": \"autel-ac-ultra\"},"
	"  {\"name\": \"sg\", \"model\": \"autel-single\"},"
	"  {\"name\": \"dc\", \"model\": \"autel-dc\", \"connectors\": 2},"
	"  {\"name\": \"r\", \"model\": \"autel-ac-ultra\","
	"   \"refuse\": [2, 10119]},"
	"  {\"name\": \"len\", \"model\": \"autel-dc\","
	"   \"registers\": \"lenient\"}"
	" ]}";

/* Reads (fc 03 for RW, 04 for RO) or writes one listed row: 0 or the
 * exception code. */
static int
probe(struct sim_charger *c, uint16_t addr, uint16_t n, bool rw)
{
	uint16_t r[32];

	if (rw)
		return rd(c, 3, addr, n, r, T0);
	return rd(c, 4, addr, n, r, T0);
}

/* Strict-manual mode (the default): each model has exactly the registers
 * its table in §5.6 lists; every other address answers exception 02, and
 * a write to a read-only register too. */
static void
test_strict_manual(void)
{
	struct sim_charger *wb, *ul, *sg, *dc, *r, *len;
	uint16_t v[2] = { 0, 0 }, out[8];
	/* listed for the Wallbox: charger-level phase values, 11019,
	 * 11021 / 11023 connector power, 11027..11035, fault codes,
	 * 20000..20006, 21000..21006 */
	static const uint16_t wb_listed[] = { 0, 100, 130, 10000, 10005,
	    10007, 10008, 10009, 10015, 10021, 10025, 10100, 10116, 10117,
	    11019, 11021, 11023, 11027, 11031, 11033, 11035, 11141, 11143,
	    11145, 11147 };
	static const uint16_t wb_absent[] = { 1, 2, 3, 4, 10001, 10119,
	    11000, 11005, 11009, 11015, 10150, 12000 };
	static const uint16_t ul_listed[] = { 0, 2, 100, 130, 10000, 10005,
	    10009, 10119, 11000, 11005, 11009, 11015, 11019, 11027, 11035,
	    12000, 12005, 12035, 12147 };
	static const uint16_t ul_absent[] = { 1, 3, 10015, 10021, 10117,
	    11007, 11021, 11141 };
	static const uint16_t sg_absent[] = { 11005, 11021, 10117, 11141 };
	static const uint16_t dc_listed[] = { 100, 130, 1000, 1004, 1008,
	    1108, 1208, 1308, 1408, 1508, 2208, 10100, 10116, 10119,
	    10121 };
	static const uint16_t dc_absent[] = { 0, 1, 2, 3, 4, 150, 1001,
	    1012, 10000, 11000, 10117 };

	CU_ASSERT_EQUAL_FATAL(load(strict_each), 0);
	wb = sim_site_charger(&site, "wb");
	ul = sim_site_charger(&site, "ul");
	sg = sim_site_charger(&site, "sg");
	dc = sim_site_charger(&site, "dc");
	r = sim_site_charger(&site, "r");
	len = sim_site_charger(&site, "len");
	for (size_t i = 0; i < ARRAY_SIZE(wb_listed); i++)
		CU_ASSERT_EQUAL(probe(wb, wb_listed[i], 1,
		    wb_listed[i] == 0), 0);
	for (size_t i = 0; i < ARRAY_SIZE(wb_absent); i++) {
		CU_ASSERT_EQUAL(probe(wb, wb_absent[i], 1, true),
		    SIM_EX_ILLEGAL_ADDRESS);
		CU_ASSERT_EQUAL(probe(wb, wb_absent[i], 1, false),
		    SIM_EX_ILLEGAL_ADDRESS);
	}
	for (size_t i = 0; i < ARRAY_SIZE(ul_listed); i++)
		CU_ASSERT_EQUAL(probe(ul, ul_listed[i], 1,
		    ul_listed[i] < 100), 0);
	for (size_t i = 0; i < ARRAY_SIZE(ul_absent); i++)
		CU_ASSERT_EQUAL(probe(ul, ul_absent[i], 1, ul_absent[i] < 100),
		    SIM_EX_ILLEGAL_ADDRESS);
	for (size_t i = 0; i < ARRAY_SIZE(sg_absent); i++)
		CU_ASSERT_EQUAL(probe(sg, sg_absent[i], 1, false),
		    SIM_EX_ILLEGAL_ADDRESS);
	for (size_t i = 0; i < ARRAY_SIZE(dc_listed); i++)
		CU_ASSERT_EQUAL(probe(dc, dc_listed[i], 1, false), 0);
	for (size_t i = 0; i < ARRAY_SIZE(dc_absent); i++)
		CU_ASSERT_EQUAL(probe(dc, dc_absent[i], 1, dc_absent[i] < 100),
		    SIM_EX_ILLEGAL_ADDRESS);
	/* No reserved zeros: a span over an unlisted gap is refused. */
	CU_ASSERT_EQUAL(rd(wb, 4, 10000, 8, out, T0), SIM_EX_ILLEGAL_ADDRESS);
	CU_ASSERT_EQUAL(rd(ul, 4, 11009, 8, out, T0), 0);
	/* Writes: register 0 and the limits yes; read-only, unlisted and the
	 * DC's register 0 no. */
	CU_ASSERT_EQUAL(wr16(wb, 0, 1, T0), 0);
	CU_ASSERT_EQUAL(wr16(wb, 2, 30, T0), SIM_EX_ILLEGAL_ADDRESS);
	CU_ASSERT_EQUAL(wr16(ul, 2, 30, T0), 0);
	CU_ASSERT_EQUAL(wr16(wb, 10116, 2, T0), SIM_EX_ILLEGAL_ADDRESS);
	CU_ASSERT_EQUAL(wr(wb, 10117, 2, v, T0), SIM_EX_ILLEGAL_ADDRESS);
	CU_ASSERT_EQUAL(wr(wb, 21000, 2, v, T0), 0);
	CU_ASSERT_EQUAL(wr(ul, 20002, 2, v, T0), SIM_EX_ILLEGAL_ADDRESS);
	CU_ASSERT_EQUAL(wr(ul, 22006, 2, v, T0), 0);
	CU_ASSERT_EQUAL(wr16(sg, 31000, 0, T0), SIM_EX_ILLEGAL_ADDRESS);
	CU_ASSERT_EQUAL(wr16(sg, 21008, 1, T0), 0);
	CU_ASSERT_EQUAL(wr16(dc, 0, 0, T0), SIM_EX_ILLEGAL_ADDRESS);
	CU_ASSERT_EQUAL(wr16(dc, 2, 30, T0), SIM_EX_ILLEGAL_ADDRESS);
	CU_ASSERT_EQUAL(wr(dc, 1804, 2, v, T0), 0);
	CU_ASSERT_EQUAL(wr(dc, 1300, 2, v, T0), SIM_EX_ILLEGAL_ADDRESS);
	/* "refuse": a listed register answers 02 like an absent one. */
	CU_ASSERT_EQUAL(probe(r, 2, 1, true), SIM_EX_ILLEGAL_ADDRESS);
	CU_ASSERT_EQUAL(probe(r, 10119, 2, false), SIM_EX_ILLEGAL_ADDRESS);
	CU_ASSERT_EQUAL(probe(r, 10116, 1, false), 0);
	/* Lenient: the DC also has registers 0 to 4 and 150. */
	CU_ASSERT_EQUAL(probe(len, 0, 1, true), 0);
	CU_ASSERT_EQUAL(probe(len, 150, 1, false), 0);
}

/* Without register 0 (strict DC) the unit of the last limit written rules:
 * a current limit of 50.00 A at 400 V is 20000 W, then 30000 W in W. */
static void
test_dc_without_mode_register(void)
{
	struct sim_charger *dc;
	char *cause = NULL;

	CU_ASSERT_EQUAL_FATAL(load(strict_each), 0);
	site.follow_delay_ms = 0;
	dc = sim_site_charger(&site, "dc");
	CU_ASSERT_EQUAL_FATAL(sim_ev_plug(&site, dc, 1, 50000, 3, NULL, -1, 80,
	    false, T0, &cause), 0);
	CU_ASSERT_EQUAL(wr32(dc, 1704, 5000, T0), 0);
	CU_ASSERT_EQUAL(rd32(dc, 1304, T0), 20000);
	CU_ASSERT_EQUAL(wr32(dc, 1604, 30000, T0), 0);
	CU_ASSERT_EQUAL(rd32(dc, 1304, T0), 30000);
}

/* Identity registers of AC and DC models decode to the scenario values. */
static void
test_identity_registers(void)
{
	struct sim_charger *wb, *dc;
	uint16_t r[32];
	char s[70];

	CU_ASSERT_EQUAL_FATAL(load(one_of_each), 0);
	wb = sim_site_charger(&site, "wb");
	dc = sim_site_charger(&site, "dc");
	CU_ASSERT_EQUAL(rd(wb, 4, 100, 30, r, T0), 0);
	ascii(r, 30, s);
	CU_ASSERT_STRING_EQUAL(s, "MaxiCharger AC Wallbox");
	CU_ASSERT_EQUAL(rd(wb, 4, 10100, 16, r, T0), 0);
	ascii(r, 16, s);
	CU_ASSERT_STRING_EQUAL(s, "WB-1");
	CU_ASSERT_EQUAL(rd16(wb, 10116, T0), 1);
	/* 22000 W = 0x000055F0, high word first. */
	CU_ASSERT_EQUAL(rd(wb, 4, 10119, 2, r, T0), 0);
	CU_ASSERT_EQUAL(r[0], 0x0000);
	CU_ASSERT_EQUAL(r[1], 0x55f0);
	/* 22000 W / (230 V x 3) = 31.884 A -> 3188 (0.01 A). */
	CU_ASSERT_EQUAL(rd32(wb, 10117, T0), 3188);
	/* Default serial is "SIM" + name. */
	CU_ASSERT_EQUAL(rd(dc, 4, 10100, 16, r, T0), 0);
	ascii(r, 16, s);
	CU_ASSERT_STRING_EQUAL(s, "SIMdc");
	CU_ASSERT_EQUAL(rd16(dc, 10116, T0), 2);
	CU_ASSERT_EQUAL(rd32(dc, 10119, T0), 60000);
	CU_ASSERT_EQUAL(rd32(dc, 10121, T0), 20000);
	/* Connector type 5 (Type 2) at 1y145. */
	CU_ASSERT_EQUAL(rd16(wb, 11145, T0), 5);
}

/* A low-first charger: UINT32 and UINT64 energy, session energy, IdToken. */
static void
test_word_order_and_energy(void)
{
	struct sim_charger *ul;
	uint16_t r[4];
	char *cause = NULL;

	CU_ASSERT_EQUAL_FATAL(load(one_of_each), 0);
	ul = sim_site_charger(&site, "ul");
	CU_ASSERT(!ul->word_high_first);
	/* low-first: 22000 = 0x000055F0 -> [0x55F0, 0x0000]. */
	CU_ASSERT_EQUAL(rd(ul, 4, 10119, 2, r, T0), 0);
	CU_ASSERT_EQUAL(r[0], 0x55f0);
	CU_ASSERT_EQUAL(r[1], 0x0000);
	/* A 7400 W single-phase EV on connector 2 for one hour:
	 * 7400 Wh = 74000 (0.1 Wh) = 0x00012110. */
	CU_ASSERT_EQUAL_FATAL(sim_ev_plug(&site, ul, 2, 7400, 1, "TAG", -1,
	    60, false, T0, &cause), 0);
	sim_site_update(&site, T0 + 3600000);
	CU_ASSERT_EQUAL(rd(ul, 4, 12035, 4, r, T0 + 3600000), 0);
	/* Low 32 bits first, each half low word first (low-first). */
	CU_ASSERT_EQUAL(r[0], 0x2110);
	CU_ASSERT_EQUAL(r[1], 0x0001);
	CU_ASSERT_EQUAL(r[2], 0);
	CU_ASSERT_EQUAL(r[3], 0);
	/* Session energy at 1y008 in kWh/100: 7.4 kWh -> 740. */
	CU_ASSERT_EQUAL(rd16(ul, 12008, T0 + 3600000), 740);
	/* IdToken at 1y147. */
	{
		char s[40];
		uint16_t t[18];

		CU_ASSERT_EQUAL(rd(ul, 4, 12147, 18, t, T0 + 3600000), 0);
		ascii(t, 18, s);
		CU_ASSERT_STRING_EQUAL(s, "TAG");
	}
}

/* Default word order: UINT64 energy and the per-phase values. */
static void
test_energy_high_first(void)
{
	struct sim_charger *wb;
	uint16_t r[4];
	char *cause = NULL;

	CU_ASSERT_EQUAL_FATAL(load(one_of_each), 0);
	wb = sim_site_charger(&site, "wb");
	/* 11000 W for 2 h = 22000 Wh = 220000 (0.1 Wh) = 0x00035B60:
	 * low half first, high word first inside it. */
	CU_ASSERT_EQUAL_FATAL(sim_ev_plug(&site, wb, 1, 11000, 3, NULL, -1, 60,
	    false, T0, &cause), 0);
	CU_ASSERT_EQUAL(rd(wb, 4, 11035, 4, r, T0 + 7200000), 0);
	CU_ASSERT_EQUAL(r[0], 0x0003);
	CU_ASSERT_EQUAL(r[1], 0x5b60);
	CU_ASSERT_EQUAL(r[2], 0);
	CU_ASSERT_EQUAL(r[3], 0);
	/* Per phase: 11000 / 3 = 3667 W; current 3666.7 / 230 = 15.94 A. */
	CU_ASSERT_EQUAL(rd32(wb, 11027, T0 + 7200000), 3667);
	CU_ASSERT_EQUAL(rd32(wb, 11015, T0 + 7200000), 1594);
	CU_ASSERT_EQUAL(rd32(wb, 11009, T0 + 7200000), 23000);
	CU_ASSERT_EQUAL(rd32(wb, 10005, T0 + 7200000), 11000);
	CU_ASSERT_EQUAL(rd16(wb, 11000, T0 + 7200000), 3);
	/* 2^32 + 5 (0.1 Wh) = 429496730.1 Wh: high half 1 in registers 3-4. */
	wb->conn[1].energy_wh = 429496730.1;
	sim_ev_unplug(wb, 1, T0 + 7200000);
	CU_ASSERT_EQUAL(rd(wb, 4, 11035, 4, r, T0 + 7200000), 0);
	CU_ASSERT_EQUAL(r[0], 0);
	CU_ASSERT_EQUAL(r[1], 5);
	CU_ASSERT_EQUAL(r[2], 0);
	CU_ASSERT_EQUAL(r[3], 1);
}

/* The EV follows a new limit only after the follow delay. */
static void
test_follow_delay(void)
{
	struct sim_charger *wb;
	char *cause = NULL;

	CU_ASSERT_EQUAL_FATAL(load(one_of_each), 0);
	site.follow_delay_ms = 6000;
	wb = sim_site_charger(&site, "wb");
	/* Factory limit 22000 W, EV max 11000 W: draws 11000 W. */
	CU_ASSERT_EQUAL_FATAL(sim_ev_plug(&site, wb, 1, 11000, 3, NULL, -1, 60,
	    false, T0, &cause), 0);
	CU_ASSERT_EQUAL(rd32(wb, 11005, T0), 11000);
	/* New limit 7000 W at +1 s: still 11000 W at +6.999 s, 7000 W from
	 * +7 s on. */
	CU_ASSERT_EQUAL(wr32(wb, 21000, 7000, T0 + 1000), 0);
	CU_ASSERT_EQUAL(rd32(wb, 21000, T0 + 1000), 7000);
	CU_ASSERT_EQUAL(rd32(wb, 11005, T0 + 6999), 11000);
	CU_ASSERT_EQUAL(rd32(wb, 11005, T0 + 7000), 7000);
	/* Energy: 11000 W x 7 s + 7000 W x 3.6 s = 21.389 + 7.0 Wh =
	 * 28.389 Wh -> 284 (0.1 Wh, rounded). */
	{
		uint16_t r[4];

		CU_ASSERT_EQUAL(rd(wb, 4, 11035, 4, r, T0 + 10600), 0);
		CU_ASSERT_EQUAL(r[1], 284);
	}
	/* A limit of 0 suspends the EVSE (status 5) after the delay. */
	CU_ASSERT_EQUAL(wr32(wb, 21000, 0, T0 + 20000), 0);
	CU_ASSERT_EQUAL(rd16(wb, 11000, T0 + 25999), 3);
	CU_ASSERT_EQUAL(rd16(wb, 11000, T0 + 26000), 5);
	CU_ASSERT_EQUAL(rd32(wb, 11005, T0 + 26000), 0);
}

/* With a ramp, an EV's draw rises at that rate (from 0 at plug-in, and
 * after the follow delay to a higher limit); a lower limit applies at
 * once after the delay. */
static void
test_ramp(void)
{
	struct sim_charger *wb;
	char *cause = NULL;

	CU_ASSERT_EQUAL_FATAL(load(one_of_each), 0);
	site.follow_delay_ms = 1000;
	site.ramp_w_per_s = 2000;
	wb = sim_site_charger(&site, "wb");
	CU_ASSERT_EQUAL_FATAL(sim_ev_plug(&site, wb, 1, 11000, 3, NULL, -1, 60,
	    false, T0, &cause), 0);
	/* 0 W at plug-in, +2000 W a second, 11000 W after 5.5 s. */
	CU_ASSERT_EQUAL(rd32(wb, 11005, T0), 0);
	CU_ASSERT_EQUAL(rd32(wb, 11005, T0 + 1000), 2000);
	CU_ASSERT_EQUAL(rd32(wb, 11005, T0 + 2500), 5000);
	CU_ASSERT_EQUAL(rd32(wb, 11005, T0 + 5500), 11000);
	/* 7000 W at +6 s: 7000 W from +7 s on, in one step. */
	CU_ASSERT_EQUAL(wr32(wb, 21000, 7000, T0 + 6000), 0);
	CU_ASSERT_EQUAL(rd32(wb, 11005, T0 + 6999), 11000);
	CU_ASSERT_EQUAL(rd32(wb, 11005, T0 + 7000), 7000);
	/* 11000 W at +8 s: rises from +9 s, there at +11 s. */
	CU_ASSERT_EQUAL(wr32(wb, 21000, 11000, T0 + 8000), 0);
	CU_ASSERT_EQUAL(rd32(wb, 11005, T0 + 9000), 7000);
	CU_ASSERT_EQUAL(rd32(wb, 11005, T0 + 10000), 9000);
	CU_ASSERT_EQUAL(rd32(wb, 11005, T0 + 11000), 11000);
	CU_ASSERT_EQUAL(rd32(wb, 11005, T0 + 12000), 11000);
}

/* Offline limits apply after the comm timeout without writes. */
static void
test_offline_fallback(void)
{
	struct sim_charger *wb;
	char *cause = NULL;

	CU_ASSERT_EQUAL_FATAL(load(one_of_each), 0);
	wb = sim_site_charger(&site, "wb");
	CU_ASSERT_EQUAL_FATAL(sim_ev_plug(&site, wb, 1, 22000, 3, NULL, -1, 60,
	    false, T0, &cause), 0);
	/* Comm timeout 10 s, offline limit 4200 W, online limit 9000 W. */
	CU_ASSERT_EQUAL(wr16(wb, 2, 10, T0), 0);
	CU_ASSERT_EQUAL(wr32(wb, 21004, 4200, T0), 0);
	CU_ASSERT_EQUAL(wr32(wb, 21000, 9000, T0), 0);
	CU_ASSERT_EQUAL(rd32(wb, 11005, T0 + 10000), 9000);
	/* 10.001 s without a write: offline limits apply. */
	CU_ASSERT_EQUAL(rd32(wb, 11005, T0 + 10001), 4200);
	/* Any write brings it back online. */
	CU_ASSERT_EQUAL(wr32(wb, 21000, 9000, T0 + 12000), 0);
	CU_ASSERT_EQUAL(rd32(wb, 11005, T0 + 12000), 9000);
	/* Reads alone do not count as the controller's keep-alive. */
	CU_ASSERT_EQUAL(rd32(wb, 11005, T0 + 21000), 9000);
	CU_ASSERT_EQUAL(rd32(wb, 11005, T0 + 22001), 4200);
}

/* Current-mode limits and the minimum AC charging current. */
static void
test_current_mode_and_minimum(void)
{
	struct sim_charger *wb, *sg;
	char *cause = NULL;

	CU_ASSERT_EQUAL_FATAL(load(one_of_each), 0);
	wb = sim_site_charger(&site, "wb");
	sg = sim_site_charger(&site, "sg");
	CU_ASSERT_EQUAL_FATAL(sim_ev_plug(&site, wb, 1, 22000, 3, NULL, -1, 60,
	    false, T0, &cause), 0);
	/* Current mode: 16.00 A x 230 V x 3 phases = 11040 W. */
	CU_ASSERT_EQUAL(wr16(wb, 0, 1, T0), 0);
	CU_ASSERT_EQUAL(wr32(wb, 21002, 1600, T0), 0);
	CU_ASSERT_EQUAL(rd32(wb, 11005, T0), 11040);
	/* Mode 2 does not exist. */
	CU_ASSERT_EQUAL(wr16(wb, 0, 2, T0), SIM_EX_ILLEGAL_VALUE);
	CU_ASSERT_EQUAL(rd16(wb, 0, T0), 1);
	/* A single-phase EV under 1000 W: below 6 A x 230 V = 1380 W it
	 * cannot charge (suspendedEVSE). */
	CU_ASSERT_EQUAL_FATAL(sim_ev_plug(&site, sg, 1, 7400, 1, NULL, -1, 60,
	    false, T0, &cause), 0);
	CU_ASSERT_EQUAL(wr32(sg, 21000, 1000, T0), 0);
	CU_ASSERT_EQUAL(rd32(sg, 11005, T0), 0);
	CU_ASSERT_EQUAL(rd16(sg, 11000, T0), 5);
	CU_ASSERT_EQUAL(wr32(sg, 21000, 1400, T0), 0);
	CU_ASSERT_EQUAL(rd32(sg, 11005, T0), 1400);
	CU_ASSERT_EQUAL(rd16(sg, 11000, T0), 3);
}

/* Modbus exceptions for bad addresses, functions and values. */
static void
test_exceptions(void)
{
	struct sim_charger *wb, *sg;
	uint16_t r[130];
	uint8_t req[1] = { 5 }, resp[260];

	CU_ASSERT_EQUAL_FATAL(load(one_of_each), 0);
	wb = sim_site_charger(&site, "wb");
	sg = sim_site_charger(&site, "sg");
	CU_ASSERT_EQUAL(rd(wb, 3, 30000, 1, r, T0), SIM_EX_ILLEGAL_ADDRESS);
	CU_ASSERT_EQUAL(rd(wb, 4, 21000, 2, r, T0), SIM_EX_ILLEGAL_ADDRESS);
	CU_ASSERT_EQUAL(rd(wb, 3, 9000, 1, r, T0), SIM_EX_ILLEGAL_ADDRESS);
	CU_ASSERT_EQUAL(rd(wb, 3, 100, 126, r, T0), SIM_EX_ILLEGAL_VALUE);
	CU_ASSERT_EQUAL(wr16(wb, 10000, 1, T0), SIM_EX_ILLEGAL_ADDRESS);
	CU_ASSERT_EQUAL(wr16(wb, 21008, 1, T0), SIM_EX_ILLEGAL_ADDRESS);
	CU_ASSERT_EQUAL(sim_modbus_pdu(&site, wb, req, 1, resp, T0), 2);
	CU_ASSERT_EQUAL(resp[0], 0x85);
	CU_ASSERT_EQUAL(resp[1], SIM_EX_ILLEGAL_FUNCTION);
	/* Reserved registers inside a block read as 0 (10001..10004). */
	r[1] = 0xffff;
	CU_ASSERT_EQUAL(rd(wb, 4, 10000, 8, r, T0), 0);
	CU_ASSERT_EQUAL(r[1], 0);
	/* answer_fc04 = false: 04 is "illegal function", 03 works. */
	CU_ASSERT_EQUAL(rd(sg, 4, 10116, 1, r, T0), SIM_EX_ILLEGAL_FUNCTION);
	CU_ASSERT_EQUAL(rd(sg, 3, 10116, 1, r, T0), 0);
	CU_ASSERT_EQUAL(r[0], 1);
	/* Firmware URL must be HTTP(S). */
	{
		uint16_t url[8];
		const char *u = "ftp://x/fw.bin";

		for (int i = 0; i < 7; i++)
			url[i] = (uint16_t)(u[2 * i] << 8 | u[2 * i + 1]);
		url[7] = 0;
		CU_ASSERT_EQUAL(wr(wb, 30002, 8, url, T0),
		    SIM_EX_ILLEGAL_VALUE);
		u = "https://fw/a.bin";
		for (int i = 0; i < 8; i++)
			url[i] = (uint16_t)(u[2 * i] << 8 | u[2 * i + 1]);
		CU_ASSERT_EQUAL(wr(wb, 30002, 8, url, T0), 0);
		CU_ASSERT_STRING_EQUAL(wb->fw_url, "https://fw/a.bin");
	}
}

/* The DC x = 4 x connector layout, SoC and current mode. */
static void
test_dc_layout(void)
{
	struct sim_charger *dc;
	char *cause = NULL;

	CU_ASSERT_EQUAL_FATAL(load(one_of_each), 0);
	dc = sim_site_charger(&site, "dc");
	/* Connector 2 = x 8.  50 kW EV at 40 % of 80 kWh. */
	CU_ASSERT_EQUAL_FATAL(sim_ev_plug(&site, dc, 2, 50000, 3, "DC", 40, 80,
	    false, T0, &cause), 0);
	CU_ASSERT_EQUAL(wr32(dc, 1608, 30000, T0), 0);
	CU_ASSERT_EQUAL(rd16(dc, 1008, T0), 3);
	CU_ASSERT_EQUAL(rd16(dc, 1004, T0), 0);
	CU_ASSERT_EQUAL(rd32(dc, 1308, T0), 30000);
	CU_ASSERT_EQUAL(rd32(dc, 1300, T0), 30000);
	/* 30000 W at 400 V = 75.00 A. */
	CU_ASSERT_EQUAL(rd32(dc, 1208, T0), 7500);
	CU_ASSERT_EQUAL(rd32(dc, 1108, T0), 40000);
	/* 16 min at 30 kW = 8 kWh = 10 % of 80 kWh: SoC 40 -> 50 %. */
	CU_ASSERT_EQUAL(rd16(dc, 2208, T0 + 960000), 50);
	CU_ASSERT_EQUAL(rd16(dc, 1508, T0 + 960000), 800);
	/* Current mode: 50.00 A x 400 V = 20000 W. */
	CU_ASSERT_EQUAL(wr16(dc, 0, 1, T0 + 960000), 0);
	CU_ASSERT_EQUAL(wr32(dc, 1708, 5000, T0 + 960000), 0);
	CU_ASSERT_EQUAL(rd32(dc, 1308, T0 + 960000), 20000);
}

/* Start/stop, unlock and the Single charger's phase switch. */
static void
test_start_stop_and_phase_switch(void)
{
	struct sim_charger *ul, *sg;
	char *cause = NULL;

	CU_ASSERT_EQUAL_FATAL(load(one_of_each), 0);
	ul = sim_site_charger(&site, "ul");
	sg = sim_site_charger(&site, "sg");
	CU_ASSERT_EQUAL_FATAL(sim_ev_plug(&site, ul, 2, 7400, 1, NULL, -1, 60,
	    true, T0, &cause), 0);
	/* Waiting for a start: preparing (2), no power. */
	CU_ASSERT_EQUAL(rd16(ul, 12000, T0), 2);
	CU_ASSERT_EQUAL(wr16(ul, 32000, 0, T0), 0);
	CU_ASSERT_EQUAL(rd16(ul, 12000, T0), 3);
	CU_ASSERT_EQUAL(wr16(ul, 32000, 1, T0), 0);
	CU_ASSERT_EQUAL(rd16(ul, 12000, T0), 6);
	CU_ASSERT_EQUAL(wr16(ul, 32001, 1, T0), 0);
	CU_ASSERT_EQUAL(ul->unlocks, 1);
	/* Phase switch on the Single charger: 2 = L2 only (no car yet). */
	site.household_w = 0;
	CU_ASSERT_EQUAL(wr16(sg, 21008, 2, T0), 0);
	CU_ASSERT_EQUAL(sg->phase_switches, 1);
	CU_ASSERT_EQUAL_FATAL(sim_ev_plug(&site, sg, 1, 11000, 3, NULL, -1, 60,
	    false, T0, &cause), 0);
	sim_site_update(&site, T0);
	/* Single phase now: 11000 W factory limit, EV 3 phases limited to
	 * one: all 11000 W on L2. */
	CU_ASSERT_DOUBLE_EQUAL(site.meter.p_phase[1], 11000, 0.5);
	CU_ASSERT_DOUBLE_EQUAL(site.meter.p_phase[0], 0, 0.5);
	CU_ASSERT_EQUAL(wr16(sg, 21008, 9, T0), SIM_EX_ILLEGAL_VALUE);
	/* with the car drawing, a change is refused; the same value is not
	 * a change */
	CU_ASSERT_EQUAL(wr16(sg, 21008, 0, T0), SIM_EX_ILLEGAL_VALUE);
	CU_ASSERT_EQUAL(sg->phase_switch, 2);
	CU_ASSERT_EQUAL(sg->phase_switches_refused, 1);
	CU_ASSERT_EQUAL(wr16(sg, 21008, 2, T0), 0);
	CU_ASSERT_EQUAL(sg->phase_switches, 1);
}

/* Slave id change (3 then 4) and the charger limit shared by connectors. */
static void
test_slave_id_and_shared_limit(void)
{
	struct sim_charger *ul;
	char *cause = NULL;

	CU_ASSERT_EQUAL_FATAL(load(one_of_each), 0);
	ul = sim_site_charger(&site, "ul");
	/* Slave id: write 3, then 4 with the same value. */
	CU_ASSERT_EQUAL(wr16(ul, 3, 7, T0), 0);
	CU_ASSERT_EQUAL(wr16(ul, 4, 8, T0), SIM_EX_ILLEGAL_VALUE);
	CU_ASSERT_EQUAL(ul->unit_id, 1);
	CU_ASSERT_EQUAL(wr16(ul, 4, 7, T0), 0);
	CU_ASSERT_EQUAL(ul->unit_id, 7);
	CU_ASSERT_EQUAL(wr16(ul, 3, 0, T0), SIM_EX_ILLEGAL_VALUE);
	/* Two EVs of 11000 W under a charger limit of 12000 W (20000, low
	 * word first on this charger): 6000 W each. */
	CU_ASSERT_EQUAL_FATAL(sim_ev_plug(&site, ul, 1, 11000, 3, NULL, -1, 60,
	    false, T0, &cause), 0);
	CU_ASSERT_EQUAL_FATAL(sim_ev_plug(&site, ul, 2, 11000, 3, NULL, -1, 60,
	    false, T0, &cause), 0);
	{
		uint16_t v[2] = { 12000, 0 }, r[2];

		CU_ASSERT_EQUAL(wr(ul, 20000, 2, v, T0), 0);
		CU_ASSERT_EQUAL(rd(ul, 4, 11005, 2, r, T0), 0);
		CU_ASSERT_EQUAL(r[0], 6000);
		CU_ASSERT_EQUAL(rd(ul, 4, 12005, 2, r, T0), 0);
		CU_ASSERT_EQUAL(r[0], 6000);
		/* Charger total at 10005: 12000. */
		CU_ASSERT_EQUAL(rd(ul, 4, 10005, 2, r, T0), 0);
		CU_ASSERT_EQUAL(r[0], 12000);
		/* Connector 2 limited to 4200 W: it takes 4200. */
		v[0] = 4200;
		CU_ASSERT_EQUAL(wr(ul, 22000, 2, v, T0), 0);
		CU_ASSERT_EQUAL(rd(ul, 4, 12005, 2, r, T0), 0);
		CU_ASSERT_EQUAL(r[0], 4200);
	}
}

/* Meter = household + chargers - PV, per phase, with energy. */
static void
test_meter_sum(void)
{
	struct sim_charger *wb, *cp;
	char *cause = NULL;
	uint16_t r[76];
	float f;
	uint32_t u;

	CU_ASSERT_EQUAL_FATAL(load(one_of_each), 0);
	wb = sim_site_charger(&site, "wb");
	cp = sim_site_charger(&site, "cp");
	site.household_w = 3000;
	site.pv_w = 6000;
	CU_ASSERT_EQUAL_FATAL(sim_ev_plug(&site, wb, 1, 11000, 3, NULL, -1, 60,
	    false, T0, &cause), 0);
	CU_ASSERT_EQUAL_FATAL(sim_ev_plug(&site, cp, 1, 7400, 1, NULL, -1, 60,
	    false, T0, &cause), 0);
	/* Total = 3000 + 11000 + 7400 - 6000 = 15400 W.
	 * L2 = 1000 - 2000 + 3666.7 + 7400 (compact on L2) = 10066.7 W. */
	CU_ASSERT_EQUAL(rd(NULL, 4, 0, 76, r, T0), 0);
	u = (uint32_t)r[0x34] << 16 | r[0x35];
	memcpy(&f, &u, sizeof(f));
	CU_ASSERT_DOUBLE_EQUAL(f, 15400, 0.5);
	u = (uint32_t)r[0x0e] << 16 | r[0x0f];
	memcpy(&f, &u, sizeof(f));
	CU_ASSERT_DOUBLE_EQUAL(f, 10066.7, 0.5);
	/* L2 current 10066.7 / 230 = 43.768 A. */
	u = (uint32_t)r[0x08] << 16 | r[0x09];
	memcpy(&f, &u, sizeof(f));
	CU_ASSERT_DOUBLE_EQUAL(f, 43.768, 0.01);
	/* One hour later: 15.4 kWh imported. */
	CU_ASSERT_EQUAL(rd(NULL, 4, 0x48, 2, r, T0 + 3600000), 0);
	u = (uint32_t)r[0] << 16 | r[1];
	memcpy(&f, &u, sizeof(f));
	CU_ASSERT_DOUBLE_EQUAL(f, 15.4, 0.01);
	/* The meter answers only 04. */
	CU_ASSERT_EQUAL(rd(NULL, 3, 0, 2, r, T0), SIM_EX_ILLEGAL_FUNCTION);
}

/* Scenario errors name the field, the value and the valid range. */
static void
test_scenario_errors(void)
{
	struct { const char *json, *msg; } cases[] = {
		{ "{\"chargers\":[{\"name\":\"a\",\"model\":\"autel-x\"}]}",
		  "chargers[0].model: \"autel-x\" is not one of" },
		{ "{\"chargers\":[{\"name\":\"a\",\"model\":\"autel-dc\","
		  "\"connectors\":9}]}",
		  "chargers[0].connectors: 9 is out of range 1..8" },
		{ "{\"chargers\":[{\"name\":\"a\",\"model\":\"autel-single\","
		  "\"phases\":2}]}", "chargers[0].phases: 2 is not 1 or 3" },
		{ "{\"site\":{\"voltage\":230}}", "site: unknown key \"voltage\"" },
		{ "{\"chargers\":[{\"name\":\"a\",\"model\":\"autel-single\","
		  "\"link\":\"udp\"}]}",
		  "chargers[0].link: \"udp\" is not one of tcp | tcp-listen" },
		{ "{\"timeline\":[{\"at_s\":1}]}", "timeline[0]: needs" },
		{ "{\"gateway\":\"nohost\"}", "gateway: \"nohost\" is not" },
		{ "{\"chargers\":[{\"name\":\"a\",\"model\":\"autel-single\"}],"
		  "\"timeline\":[{\"at_s\":5,\"do\":\"unplug a\"},"
		  "{\"at_s\":1,\"do\":\"plug a 1 evmax=7000\"},"
		  "{\"at_s\":9,\"do\":\"unplug a\"}]}",
		  "timeline[2] (at_s 9, \"unplug a\"): error unplug: no EV" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct sim_site s2;
		char *cause = NULL;

		memset(&s2, 0, sizeof(s2));
		CU_ASSERT_EQUAL(sim_scenario_parse(&s2, cases[i].json, &cause),
		    -1);
		CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
		if (strstr(cause, cases[i].msg) == NULL)
			fprintf(stderr, "\n got: %s\n want: %s\n", cause,
			    cases[i].msg);
		CU_ASSERT_PTR_NOT_NULL(strstr(cause, cases[i].msg));
		free(cause);
		sim_site_free(&s2);
	}
}

/* Control commands change the site and report errors. */
static void
test_control_commands(void)
{
	char *r;

	CU_ASSERT_EQUAL_FATAL(load(one_of_each), 0);
	r = sim_control(&site, "plug wb 1 evmax=7000 phases=3 idtag=ABC", T0);
	CU_ASSERT_STRING_EQUAL(r, "ok");
	free(r);
	r = sim_control(&site, "get wb", T0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r, "\"power_w\":7000"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r, "\"idtag\":\"ABC\""));
	free(r);
	r = sim_control(&site, "plug wb 1 evmax=7000", T0);
	CU_ASSERT_STRING_EQUAL(r, "error plug: connector 1 already has an EV "
	    "(unplug it first)");
	free(r);
	r = sim_control(&site, "plug wb 2 evmax=7000", T0);
	CU_ASSERT_STRING_EQUAL(r, "error connector \"2\" out of range 1..1");
	free(r);
	r = sim_control(&site, "household x", T0);
	CU_ASSERT_EQUAL(strncmp(r, "error household: usage", 22), 0);
	free(r);
	r = sim_control(&site, "fault wb", T0);
	CU_ASSERT_STRING_EQUAL(r, "ok");
	free(r);
	CU_ASSERT_EQUAL(sim_connector_status(sim_site_charger(&site, "wb"), 1),
	    10);
	r = sim_control(&site, "clear wb", T0);
	free(r);
	CU_ASSERT_EQUAL(sim_connector_status(sim_site_charger(&site, "wb"), 1),
	    3);
	r = sim_control(&site, "suspend wb", T0);
	free(r);
	CU_ASSERT_EQUAL(sim_connector_status(sim_site_charger(&site, "wb"), 1),
	    4);
	r = sim_control(&site, "unplug wb 1", T0);
	free(r);
	CU_ASSERT_EQUAL(sim_connector_status(sim_site_charger(&site, "wb"), 1),
	    0);
}

/* Frees the in-process site. */
/* Timeline steps run at their time and the timeline repeats. */
static void
test_timeline_repeat(void)
{
	int64_t next;

	CU_ASSERT_EQUAL_FATAL(load("{\"timeline\": {\"repeat_s\": 10, "
	    "\"steps\": [{\"at_s\": 0, \"do\": \"household 100\"},"
	    " {\"at_s\": 4, \"do\": \"household 400\"}]}}"), 0);
	site.timeline_base_ms = T0;
	next = T0 + 100000;
	sim_timeline_run(&site, T0, &next);
	CU_ASSERT_DOUBLE_EQUAL(site.household_w, 100, 0.001);
	CU_ASSERT_EQUAL(next, T0 + 4000);
	next = T0 + 100000;
	sim_timeline_run(&site, T0 + 3999, &next);
	CU_ASSERT_DOUBLE_EQUAL(site.household_w, 100, 0.001);
	next = T0 + 100000;
	sim_timeline_run(&site, T0 + 4000, &next);
	CU_ASSERT_DOUBLE_EQUAL(site.household_w, 400, 0.001);
	/* All done: the next round starts at +10 s. */
	CU_ASSERT_EQUAL(next, T0 + 10000);
	next = T0 + 100000;
	sim_timeline_run(&site, T0 + 10000, &next);
	CU_ASSERT_DOUBLE_EQUAL(site.household_w, 100, 0.001);
	CU_ASSERT_EQUAL(next, T0 + 14000);
}

static int
part1_cleanup(void)
{
	sim_site_free(&site);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Part 2: the real program over loopback and a pty.                   */

struct proc {
	pid_t pid;
	char dir[64];
	char control[128];
	json_t *ready;
};

/* Path of the program under test (static buffer). */
static const char *
sim_path(void)
{
	static char path[512];
	const char *b = getenv("top_builddir");

	snprintf(path, sizeof(path), "%s/ocpp-edge-sim", b != NULL ? b : ".");
	return path;
}

/* Starts the simulator on a scenario and waits (up to 10 s) for its ready
 * file.  Returns 0 or -1. */
static int
proc_start(struct proc *p, const char *scenario, const char *extra)
{
	char scen[128], ready[128], fdelay[] = "--follow-delay-ms=0";
	int64_t deadline;
	FILE *f;

	memset(p, 0, sizeof(*p));
	strcpy(p->dir, "/tmp/test-sim-XXXXXX");
	if (mkdtemp(p->dir) == NULL)
		return -1;
	snprintf(scen, sizeof(scen), "%s/scenario.json", p->dir);
	snprintf(ready, sizeof(ready), "%s/ready.json", p->dir);
	snprintf(p->control, sizeof(p->control), "%s/ctl", p->dir);
	f = fopen(scen, "w");
	if (f == NULL)
		return -1;
	fputs(scenario, f);
	fclose(f);
	p->pid = fork();
	if (p->pid < 0)
		return -1;
	if (p->pid == 0) {
		int null = open("/dev/null", 1);

		dup2(null, 1);
		execl(sim_path(), "ocpp-edge-sim", "-q", "--scenario", scen,
		    "--control", p->control, "--ready-file", ready, fdelay,
		    "--redial-ms=50", extra != NULL ? extra : "--tick-ms=50",
		    (char *)NULL);
		_exit(127);
	}
	deadline = mono_now_ms() + 10000;
	while (mono_now_ms() < deadline) {
		json_error_t e;
		int st;

		if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
			p->pid = 0;
			return -1;
		}
		p->ready = json_load_file(ready, 0, &e);
		if (p->ready != NULL)
			return 0;
		poll(NULL, 0, 10);
	}
	return -1;
}

/* Stops the simulator with SIGTERM; returns its exit status. */
static int
proc_stop(struct proc *p)
{
	int st = -1;
	char path[160];

	if (p->pid > 0) {
		kill(p->pid, SIGTERM);
		waitpid(p->pid, &st, 0);
	}
	json_decref(p->ready);
	snprintf(path, sizeof(path), "%s/scenario.json", p->dir);
	unlink(path);
	rmdir(p->dir);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Sends one control command; returns the reply line (caller frees). */
static char *
ctl(struct proc *p, const char *cmd)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	char buf[65536];
	size_t n = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strlcpy_ok(sa.sun_path, p->control, sizeof(sa.sun_path));
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (fd >= 0)
			close(fd);
		return xstrdup("error connect");
	}
	if (write(fd, cmd, strlen(cmd)) < 0 || write(fd, "\n", 1) < 0) {
		close(fd);
		return xstrdup("error write");
	}
	while (n < sizeof(buf) - 1) {
		ssize_t r = read(fd, buf + n, sizeof(buf) - 1 - n);

		if (r <= 0)
			break;
		n += (size_t)r;
		if (buf[n - 1] == '\n')
			break;
	}
	close(fd);
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return xstrdup(buf);
}

/* `get NAME` decoded; caller json_decref()s. */
static json_t *
ctl_get(struct proc *p, const char *name)
{
	char cmd[64], *r;
	json_t *o = NULL;

	snprintf(cmd, sizeof(cmd), "get %s", name);
	r = ctl(p, cmd);
	if (strncmp(r, "ok ", 3) == 0)
		o = json_loads(r + 3, 0, NULL);
	free(r);
	return o;
}

/* The TCP port of a charger (or "meter") from the ready file. */
static int
ready_port(struct proc *p, const char *name)
{
	json_t *arr = json_object_get(p->ready, "chargers"), *c;
	size_t i;

	if (strcmp(name, "meter") == 0)
		return (int)json_integer_value(json_object_get(
		    json_object_get(p->ready, "meter"), "port"));
	json_array_foreach(arr, i, c)
		if (strcmp(json_string_value(json_object_get(c, "name")),
		    name) == 0)
			return (int)json_integer_value(json_object_get(c,
			    "port"));
	return -1;
}

/* A connected libmodbus TCP client, or NULL.  Caller frees. */
static modbus_t *
tcp_client(int port)
{
	modbus_t *m = modbus_new_tcp("127.0.0.1", port);

	if (m == NULL)
		return NULL;
	modbus_set_response_timeout(m, 2, 0);
	if (modbus_connect(m) != 0) {
		modbus_free(m);
		return NULL;
	}
	return m;
}

#define TCP_SITE_BODY \
	"\"site\": {\"household_w\": 2000, \"pv_w\": 500}," \
	" \"meter\": {\"type\": \"sdm630\", \"rtu\": true, \"unit_id\": 3}," \
	" \"rtu\": {\"baud\": 9600, \"parity\": \"even\"}," \
	" \"chargers\": [" \
	"  {\"name\": \"wb\", \"model\": \"autel-ac-wallbox\", \"serial\": \"WB-7\"," \
	"   \"evs\": [{\"connector\": 1, \"evmax_w\": 11000}]}," \
	"  {\"name\": \"ul\", \"model\": \"autel-ac-ultra\", \"connectors\": 2}," \
	"  {\"name\": \"sg\", \"model\": \"autel-single\", \"answer_fc04\": false}," \
	"  {\"name\": \"dc\", \"model\": \"autel-dc\", \"serial\": \"DC-9\"}," \
	"  {\"name\": \"cp\", \"model\": \"autel-ac-compact\", \"link\": \"rtu\"," \
	"   \"unit_id\": 5}" \
	" ]}"
static const char tcp_site[] = "{" TCP_SITE_BODY;
/* The same site with register 2 on the Wallbox (lenient). */
static const char tcp_site_lenient[] = "{\"registers\": \"lenient\"," TCP_SITE_BODY;

/* Real Modbus TCP: identity, limit write, exceptions, 04 refusal, meter. */
static void
test_tcp_charger_and_meter(void)
{
	struct proc p;
	modbus_t *m;
	uint16_t r[16];
	json_t *g;
	char s[40];

	CU_ASSERT_EQUAL_FATAL(proc_start(&p, tcp_site, NULL), 0);
	m = tcp_client(ready_port(&p, "wb"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(modbus_read_input_registers(m, 10100, 16, r), 16);
	ascii(r, 16, s);
	CU_ASSERT_STRING_EQUAL(s, "WB-7");
	/* The EV draws 11000 W (factory limit 22000 W). */
	CU_ASSERT_EQUAL(modbus_read_input_registers(m, 11023, 2, r), 2);
	CU_ASSERT_EQUAL((uint32_t)r[0] << 16 | r[1], 11000);
	/* Strict: the Wallbox's table lists neither 11005 nor register 2. */
	CU_ASSERT_EQUAL(modbus_read_input_registers(m, 11005, 2, r), -1);
	CU_ASSERT_EQUAL(errno, EMBXILADD);
	CU_ASSERT_EQUAL(modbus_write_register(m, 2, 30), -1);
	CU_ASSERT_EQUAL(errno, EMBXILADD);
	/* Write power limit 7200 W (0x00001C20). */
	r[0] = 0x0000;
	r[1] = 0x1c20;
	CU_ASSERT_EQUAL(modbus_write_registers(m, 21000, 2, r), 2);
	CU_ASSERT_EQUAL(modbus_read_registers(m, 21000, 2, r), 2);
	CU_ASSERT_EQUAL(r[1], 0x1c20);
	g = ctl_get(&p, "wb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(g);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(
	    json_array_get(json_object_get(g, "connectors"), 0), "limits"),
	    "power_w")), 7200);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(g,
	    "comm_timeout_s")), 0);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(g,
	    "connections")), 1);
	/* Follow delay 0: the EV draws 7200 W at once. */
	CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(g,
	    "power_w")), 7200, 0.1);
	json_decref(g);
	/* Exception over the wire: write to a read-only register. */
	CU_ASSERT_EQUAL(modbus_write_register(m, 10000, 1), -1);
	CU_ASSERT_EQUAL(errno, EMBXILADD);
	modbus_close(m);
	modbus_free(m);

	/* 04 -> "illegal function" on sg; 03 works. */
	m = tcp_client(ready_port(&p, "sg"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(modbus_read_input_registers(m, 10116, 1, r), -1);
	CU_ASSERT_EQUAL(errno, EMBXILFUN);
	CU_ASSERT_EQUAL(modbus_read_registers(m, 10116, 1, r), 1);
	CU_ASSERT_EQUAL(r[0], 1);
	modbus_close(m);
	modbus_free(m);

	/* DC x = 4 layout over the wire. */
	m = tcp_client(ready_port(&p, "dc"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(modbus_read_input_registers(m, 10119, 2, r), 2);
	CU_ASSERT_EQUAL((uint32_t)r[0] << 16 | r[1], 40000);
	modbus_close(m);
	modbus_free(m);

	/* Meter on TCP: 2000 + 7200 - 500 = 8700 W. */
	m = tcp_client(ready_port(&p, "meter"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(modbus_read_input_registers(m, 0x34, 2, r), 2);
	CU_ASSERT_DOUBLE_EQUAL(modbus_get_float_abcd(r), 8700, 0.5);
	/* The household load changes at run time: 3000 -> 9700 W. */
	free(ctl(&p, "household 3000"));
	CU_ASSERT_EQUAL(modbus_read_input_registers(m, 0x34, 2, r), 2);
	CU_ASSERT_DOUBLE_EQUAL(modbus_get_float_abcd(r), 9700, 0.5);
	modbus_close(m);
	modbus_free(m);
	CU_ASSERT_EQUAL(proc_stop(&p), 0);
}

/* Real Modbus RTU on the pty: meter and charger, wire-time delay. */
static void
test_rtu_over_pty(void)
{
	struct proc p;
	modbus_t *m;
	uint16_t r[80];
	const char *pty;
	int64_t t0, dt;

	CU_ASSERT_EQUAL_FATAL(proc_start(&p, tcp_site, NULL), 0);
	pty = json_string_value(json_object_get(json_object_get(p.ready,
	    "meter"), "pty"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(pty);
	m = modbus_new_rtu(pty, 9600, 'E', 8, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL_FATAL(modbus_connect(m), 0);
	modbus_set_response_timeout(m, 2, 0);
	modbus_set_slave(m, 3);
	/* 76 registers: request 8 bytes + 3.5 gap + response 5 + 152 = 168.5
	 * characters x 11 bits / 9600 baud = 193 ms on the wire at least. */
	t0 = mono_now_ms();
	CU_ASSERT_EQUAL(modbus_read_input_registers(m, 0, 76, r), 76);
	dt = mono_now_ms() - t0;
	CU_ASSERT(dt >= 193);
	fprintf(stderr, "[rtu 76 regs: %lld ms] ", (long long)dt);
	CU_ASSERT_DOUBLE_EQUAL(modbus_get_float_abcd(&r[0]), 230, 0.01);
	/* 2000 + 11000 - 500 = 12500 W. */
	CU_ASSERT_DOUBLE_EQUAL(modbus_get_float_abcd(&r[0x34]), 12500, 0.5);
	/* The compact charger on the same bus, unit 5. */
	modbus_set_slave(m, 5);
	CU_ASSERT_EQUAL(modbus_read_input_registers(m, 10116, 1, r), 1);
	CU_ASSERT_EQUAL(r[0], 1);
	CU_ASSERT_EQUAL(modbus_write_register(m, 0, 1), 1);
	CU_ASSERT_EQUAL(modbus_read_registers(m, 0, 1, r), 1);
	CU_ASSERT_EQUAL(r[0], 1);
	/* A unit nobody has stays silent: timeout. */
	modbus_set_slave(m, 9);
	modbus_set_response_timeout(m, 0, 300000);
	CU_ASSERT_EQUAL(modbus_read_input_registers(m, 0, 2, r), -1);
	CU_ASSERT_EQUAL(errno, ETIMEDOUT);
	modbus_close(m);
	modbus_free(m);
	CU_ASSERT_EQUAL(proc_stop(&p), 0);
}

/* The meter ignores requests within min_gap_ms; --pty-link works. */
static void
test_rtu_meter_gap_and_link(void)
{
	struct proc p;
	modbus_t *m;
	uint16_t r[2];
	char link[160], arg[200];
	json_t *g;

	snprintf(link, sizeof(link), "/tmp/test-sim-%d.pty", (int)getpid());
	snprintf(arg, sizeof(arg), "--pty-link=%s", link);
	CU_ASSERT_EQUAL_FATAL(proc_start(&p,
	    "{\"meter\": {\"type\": \"sdm120\", \"tcp\": false,"
	    " \"rtu\": true, \"min_gap_ms\": 300}}", arg), 0);
	m = modbus_new_rtu(link, 9600, 'N', 8, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL_FATAL(modbus_connect(m), 0);
	modbus_set_slave(m, 1);
	modbus_set_response_timeout(m, 0, 800000);
	CU_ASSERT_EQUAL(modbus_read_input_registers(m, 0, 2, r), 2);
	CU_ASSERT_DOUBLE_EQUAL(modbus_get_float_abcd(r), 230, 0.01);
	/* At once again: within 300 ms of the reply, no answer. */
	CU_ASSERT_EQUAL(modbus_read_input_registers(m, 0, 2, r), -1);
	CU_ASSERT_EQUAL(errno, ETIMEDOUT);
	/* 800 ms later (the timeout) the meter answers again. */
	CU_ASSERT_EQUAL(modbus_read_input_registers(m, 0, 2, r), 2);
	g = ctl_get(&p, "meter");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(g, "ignored")), 1);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(g, "requests")), 2);
	json_decref(g);
	modbus_close(m);
	modbus_free(m);
	CU_ASSERT_EQUAL(proc_stop(&p), 0);
	/* The link is removed on exit. */
	CU_ASSERT_NOT_EQUAL(access(link, F_OK), 0);
}

/* silence on / close / off and fault, seen by a real client. */
static void
test_silence_and_recover(void)
{
	struct proc p;
	modbus_t *m;
	uint16_t r[2];

	CU_ASSERT_EQUAL_FATAL(proc_start(&p, tcp_site, NULL), 0);
	m = tcp_client(ready_port(&p, "ul"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	modbus_set_response_timeout(m, 0, 300000);
	free(ctl(&p, "silence ul on"));
	CU_ASSERT_EQUAL(modbus_read_registers(m, 10116, 1, r), -1);
	CU_ASSERT_EQUAL(errno, ETIMEDOUT);
	free(ctl(&p, "silence ul off"));
	modbus_flush(m);
	CU_ASSERT_EQUAL(modbus_read_registers(m, 10116, 1, r), 1);
	CU_ASSERT_EQUAL(r[0], 2);
	modbus_close(m);
	modbus_free(m);
	/* close: the port refuses connections until cleared. */
	free(ctl(&p, "silence ul close"));
	m = tcp_client(ready_port(&p, "ul"));
	CU_ASSERT_PTR_NULL(m);
	free(ctl(&p, "silence ul off"));
	m = tcp_client(ready_port(&p, "ul"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(modbus_read_registers(m, 10116, 1, r), 1);
	/* A faulted charger reports status 10. */
	free(ctl(&p, "fault ul"));
	CU_ASSERT_EQUAL(modbus_read_input_registers(m, 10000, 1, r), 1);
	CU_ASSERT_EQUAL(r[0], 10);
	modbus_close(m);
	modbus_free(m);
	CU_ASSERT_EQUAL(proc_stop(&p), 0);
}

/* `get NAME` value of a top-level number field. */
static double
get_num(struct proc *p, const char *name, const char *field)
{
	json_t *g = ctl_get(p, name);
	double v = json_number_value(json_object_get(g, field));

	json_decref(g);
	return v;
}

/* In real time: the EV follows a new limit after the follow delay, and
 * the charger falls back to its offline limit after the comm timeout. */
static void
test_real_time_delay_and_timeout(void)
{
	struct proc p;
	modbus_t *m;
	uint16_t lim[2] = { 0, 5000 }, off[2] = { 0, 4200 };
	int64_t t0, t1, deadline;

	CU_ASSERT_EQUAL_FATAL(proc_start(&p, tcp_site_lenient,
	    "--follow-delay-ms=300"), 0);
	m = tcp_client(ready_port(&p, "wb"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	/* wb draws 11000 W; write 5000 W: still 11000 until 300 ms pass. */
	CU_ASSERT_DOUBLE_EQUAL(get_num(&p, "wb", "power_w"), 11000, 0.1);
	t0 = mono_now_ms();
	CU_ASSERT_EQUAL(modbus_write_registers(m, 21000, 2, lim), 2);
	deadline = t0 + 5000;
	while (get_num(&p, "wb", "power_w") > 10999 && mono_now_ms() < deadline)
		poll(NULL, 0, 10);
	t1 = mono_now_ms();
	CU_ASSERT(t1 - t0 >= 300);
	CU_ASSERT_DOUBLE_EQUAL(get_num(&p, "wb", "power_w"), 5000, 0.1);
	/* Comm timeout 1 s with an offline limit of 4200 W. */
	CU_ASSERT_EQUAL(modbus_write_registers(m, 21004, 2, off), 2);
	t0 = mono_now_ms();
	CU_ASSERT_EQUAL(modbus_write_register(m, 2, 1), 1);
	deadline = t0 + 5000;
	while (get_num(&p, "wb", "power_w") > 4201 && mono_now_ms() < deadline)
		poll(NULL, 0, 20);
	t1 = mono_now_ms();
	/* Offline after 1 s without a write, then the 0.3 s follow delay. */
	CU_ASSERT(t1 - t0 >= 1300);
	CU_ASSERT_DOUBLE_EQUAL(get_num(&p, "wb", "power_w"), 4200, 0.1);
	{
		json_t *g = ctl_get(&p, "wb");

		CU_ASSERT(json_is_true(json_object_get(g, "offline")));
		json_decref(g);
	}
	modbus_close(m);
	modbus_free(m);
	CU_ASSERT_EQUAL(proc_stop(&p), 0);
}

/* Accepts one connection on lfd within 5 s; returns the fd or -1. */
static int
accept_within(int lfd)
{
	struct pollfd pf = { lfd, POLLIN, 0 };

	if (poll(&pf, 1, 5000) != 1)
		return -1;
	return accept(lfd, NULL, NULL);
}

/* A tcp-listen charger dials the gateway, serves it and redials. */
static void
test_charger_dials_in(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	struct proc p;
	char scen[512], gw[64];
	modbus_t *m;
	uint16_t r[16];
	int lfd, fd;
	char s[40];

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CU_ASSERT_EQUAL_FATAL(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	CU_ASSERT_EQUAL_FATAL(listen(lfd, 4), 0);
	getsockname(lfd, (struct sockaddr *)&sa, &len);
	snprintf(gw, sizeof(gw), "127.0.0.1:%d", ntohs(sa.sin_port));
	snprintf(scen, sizeof(scen), "{\"gateway\": \"%s\", \"chargers\": ["
	    "{\"name\": \"dial\", \"model\": \"autel-ac-wallbox\", "
	    "\"link\": \"tcp-listen\", \"serial\": \"DIAL-1\"}]}", gw);
	CU_ASSERT_EQUAL_FATAL(proc_start(&p, scen, NULL), 0);
	fd = accept_within(lfd);
	CU_ASSERT_FATAL(fd >= 0);
	m = modbus_new_tcp("127.0.0.1", 1);
	modbus_set_socket(m, fd);
	modbus_set_response_timeout(m, 2, 0);
	CU_ASSERT_EQUAL(modbus_read_input_registers(m, 10100, 16, r), 16);
	ascii(r, 16, s);
	CU_ASSERT_STRING_EQUAL(s, "DIAL-1");
	/* Dropped by the gateway: the charger dials again. */
	close(fd);
	fd = accept_within(lfd);
	CU_ASSERT_FATAL(fd >= 0);
	modbus_set_socket(m, fd);
	CU_ASSERT_EQUAL(modbus_read_input_registers(m, 10116, 1, r), 1);
	CU_ASSERT_EQUAL(r[0], 1);
	close(fd);
	modbus_free(m);
	close(lfd);
	CU_ASSERT_EQUAL(proc_stop(&p), 0);
}

/* Runs the program with arguments (stdout and stderr discarded);
 * returns its exit status. */
static int
run_status(const char *a1, const char *a2)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		execl(sim_path(), "ocpp-edge-sim", a1, a2, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* Exit codes for --help, --version and bad arguments. */
static void
test_command_line(void)
{
	struct proc p;

	CU_ASSERT_EQUAL(run_status("--help", NULL), 0);
	CU_ASSERT_EQUAL(run_status("--version", NULL), 0);
	CU_ASSERT_EQUAL(run_status("--bogus", NULL), 2);
	CU_ASSERT_EQUAL(run_status("--tick-ms=5", "--scenario=x"), 2);
	CU_ASSERT_EQUAL(run_status("--scenario", "/nonexistent/x.json"), 2);
	/* A bad scenario never becomes ready. */
	CU_ASSERT_EQUAL(proc_start(&p, "{\"chargers\": 5}", NULL), -1);
	(void)proc_stop(&p);
}

/* Waits up to 5 s for `get meter` to report household_w == w. */
static bool
wait_household(struct proc *p, double w)
{
	int64_t deadline = mono_now_ms() + 5000;

	while (mono_now_ms() < deadline) {
		json_t *g = ctl_get(p, "meter");
		double v = json_number_value(json_object_get(g,
		    "household_w"));

		json_decref(g);
		if (fabs(v - w) < 0.01)
			return true;
		poll(NULL, 0, 20);
	}
	return false;
}

/* Timeline steps, meter silence, --write-config and clean exit. */
static void
test_timeline_config_and_exit(void)
{
	struct proc p;
	char path[160], arg[200], conf[8192], want[64];
	struct stat st;
	modbus_t *m;
	uint16_t r[2];
	FILE *f;
	size_t n;

	CU_ASSERT_EQUAL_FATAL(proc_start(&p,
	    "{\"site\": {\"household_w\": 1000},"
	    " \"meter\": {\"type\": \"sdm230\"},"
	    " \"chargers\": [{\"name\": \"a\", \"model\": \"autel-single\","
	    "   \"serial\": \"S-1\", \"word_order\": \"low-first\"}],"
	    " \"timeline\": [{\"at_s\": 0.3, \"do\": \"household 4321\"}]}",
	    "-q"), 0); /* the simulator's default tick */
	/* The timeline step runs 0.3 s after start. */
	CU_ASSERT(wait_household(&p, 4321));
	/* meter silence: the meter times out, then answers again. */
	m = tcp_client(ready_port(&p, "meter"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	modbus_set_response_timeout(m, 0, 300000);
	free(ctl(&p, "meter silence on"));
	CU_ASSERT_EQUAL(modbus_read_input_registers(m, 0x0c, 2, r), -1);
	free(ctl(&p, "meter silence off"));
	modbus_flush(m);
	CU_ASSERT_EQUAL(modbus_read_input_registers(m, 0x0c, 2, r), 2);
	/* Single-phase meter: all on L1 = 4321 W. */
	CU_ASSERT_DOUBLE_EQUAL(modbus_get_float_abcd(r), 4321, 0.5);
	modbus_close(m);
	modbus_free(m);
	CU_ASSERT_EQUAL(proc_stop(&p), 0);
	/* SIGTERM: clean exit removed the control socket. */
	CU_ASSERT_NOT_EQUAL(stat(p.control, &st), 0);

	/* --write-config: the real ports and names. */
	snprintf(path, sizeof(path), "/tmp/test-sim-%d.conf", (int)getpid());
	snprintf(arg, sizeof(arg), "--write-config=%s", path);
	CU_ASSERT_EQUAL_FATAL(proc_start(&p, tcp_site, arg), 0);
	f = fopen(path, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	n = fread(conf, 1, sizeof(conf) - 1, f);
	conf[n] = '\0';
	fclose(f);
	unlink(path);
	snprintf(want, sizeof(want), "\tport = %d\n", ready_port(&p, "wb"));
	CU_ASSERT_PTR_NOT_NULL(strstr(conf, want));
	snprintf(want, sizeof(want), "\tport = %d\n", ready_port(&p, "meter"));
	CU_ASSERT_PTR_NOT_NULL(strstr(conf, want));
	CU_ASSERT_PTR_NOT_NULL(strstr(conf, "charger \"cp\" {\n"
	    "\tmodel = \"autel-ac-compact\"\n\tlink = \"rtu\"\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(conf, "serial = \"WB-7\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(conf, "\tparity = \"even\"\n"));
	CU_ASSERT_EQUAL(proc_stop(&p), 0);
}

/* ocpp-edged --check-config accepts the generated configuration. */
static void
test_daemon_accepts_config(void)
{
	char daemon[512], path[160], arg[200], cmd[800];
	const char *b = getenv("top_builddir");
	struct proc p;

	snprintf(daemon, sizeof(daemon), "%s/ocpp-edged", b != NULL ? b : ".");
	if (access(daemon, X_OK) != 0) {
		fprintf(stderr, "[no ocpp-edged: not checked] ");
		return;
	}
	snprintf(path, sizeof(path), "/tmp/test-sim-%d.conf", (int)getpid());
	snprintf(arg, sizeof(arg), "--write-config=%s", path);
	CU_ASSERT_EQUAL_FATAL(proc_start(&p, tcp_site, arg), 0);
	/* The daemon's own validation (--check-config) accepts it. */
	snprintf(cmd, sizeof(cmd), "'%s' --check-config '%s' >/dev/null",
	    daemon, path);
	CU_ASSERT_EQUAL(system(cmd), 0);
	unlink(path);
	CU_ASSERT_EQUAL(proc_stop(&p), 0);
}

static const struct cu_test model_tests[] = {
	{ "identity registers", test_identity_registers },
	{ "word order and UINT64 energy", test_word_order_and_energy },
	{ "energy high first, per-phase values", test_energy_high_first },
	{ "EV follows a new limit after the delay", test_follow_delay },
	{ "EV ramps up at its rate", test_ramp },
	{ "offline limits after the comm timeout", test_offline_fallback },
	{ "current mode and minimum current", test_current_mode_and_minimum },
	{ "exceptions", test_exceptions },
	{ "DC x = 4 x connector layout", test_dc_layout },
	{ "start/stop, unlock, phase switch", test_start_stop_and_phase_switch },
	{ "slave id change, shared charger limit",
	  test_slave_id_and_shared_limit },
	{ "meter = household + chargers - PV", test_meter_sum },
	{ "scenario errors", test_scenario_errors },
	{ "strict-manual registers", test_strict_manual },
	{ "DC without register 0", test_dc_without_mode_register },
	{ "control commands", test_control_commands },
	{ "timeline repeats", test_timeline_repeat },
	{ NULL, NULL },
};

static const struct cu_test process_tests[] = {
	{ "TCP chargers and meter", test_tcp_charger_and_meter },
	{ "RTU meter and charger over the pty", test_rtu_over_pty },
	{ "real time: follow delay, comm timeout",
	  test_real_time_delay_and_timeout },
	{ "RTU meter: minimum gap, --pty-link", test_rtu_meter_gap_and_link },
	{ "silence, close, recover, fault", test_silence_and_recover },
	{ "charger as client dials in and redials", test_charger_dials_in },
	{ "command line and exit codes", test_command_line },
	{ "timeline, meter silence, config, exit",
	  test_timeline_config_and_exit },
	{ "ocpp-edged --check-config accepts the generated config",
	  test_daemon_accepts_config },
	{ NULL, NULL },
};

/* Runs the in-process suite, then the process suite. */
int
main(void)
{
	static const struct cu_suite suites[] = {
		{ "sim-model", NULL, part1_cleanup, model_tests },
		{ "sim-process", NULL, NULL, process_tests },
		{ NULL, NULL, NULL, NULL },
	};

	signal(SIGPIPE, SIG_IGN);
	log_init("test-sim", LOG_LEVEL_WARNING, false);
	return cu_run(suites);
}
