/* Tests of the southbound module: the register tables and value coding
 * (no device), then real libmodbus traffic on loopback TCP and on a
 * pseudo-terminal against the test devices of devsrv.c. */
#define _GNU_SOURCE
#include "southbound/sb-private.h"
#include "southbound/southbound.h"

#include "common/util.h"
#include "cu.h"
#include "devsrv.h"
#include "sbtest.h"

#include <dirent.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NEAR(a, b) \
	(fabs((double)(a) - (double)(b)) < 1e-6 * (fabs((double)(b)) + 1))

/* ---- tables and coding -------------------------------------------------- */

/* The tables: consistent rows, addresses as in the manual. */
static void
test_tables(void)
{
	enum sb_model m;

	for (int i = 0; i < SB_MODEL_COUNT; i++) {
		const struct sb_model_desc *d = sb_model_desc((enum sb_model)i);
		CU_ASSERT_PTR_NOT_NULL_FATAL(d);
		CU_ASSERT_EQUAL(sb_model_parse(d->name, &m), 0);
		CU_ASSERT_EQUAL((int)m, i);
		for (size_t r = 0; r < d->n_regs; r++) {
			const struct sb_reg *g = &d->regs[r];
			unsigned want = g->type == SB_T_U16 ? 1 :
			    g->type == SB_T_U64 ? 4 : g->type == SB_T_ASCII ?
			    g->count : 2;
			CU_ASSERT_EQUAL(g->count, want);
			/* nothing crosses into the next connector's block */
			if (g->per_connector)
				CU_ASSERT(g->count <= g->stride || g->stride == 4);
		}
	}
	CU_ASSERT_EQUAL(sb_model_parse("autel-ac-mega", &m), -1);

	/* AC: y = connector; 1y005 = connector power, 2y002 = current limit */
	const struct sb_model_desc *ultra = sb_model_desc(SB_MODEL_AC_ULTRA);
	CU_ASSERT_EQUAL(sb_reg_addr(sb_reg_find(ultra, SB_W_C_POWER), 1), 11005);
	CU_ASSERT_EQUAL(sb_reg_addr(sb_reg_find(ultra, SB_W_C_POWER), 2), 12005);
	CU_ASSERT_EQUAL(sb_reg_addr(sb_reg_find(ultra, SB_W_C_CURRENT_LIMIT), 2),
	    22002);
	CU_ASSERT_EQUAL(sb_reg_addr(sb_reg_find(ultra, SB_W_C_START_STOP), 2),
	    32000);
	CU_ASSERT_STRING_EQUAL(sb_reg_find(ultra, SB_W_C_ENERGY)->unit, "Wh");
	/* Wallbox: start/stop for the whole charger at 30000 */
	const struct sb_model_desc *wb = sb_model_desc(SB_MODEL_AC_WALLBOX);
	CU_ASSERT_EQUAL(sb_reg_addr(sb_reg_find(wb, SB_W_C_START_STOP), 1), 30000);
	CU_ASSERT_EQUAL(sb_reg_find(wb, SB_W_MAX_CURRENT)->base, 10117);
	CU_ASSERT_PTR_NULL(sb_reg_find(wb, SB_W_PHASE_SWITCH));
	/* DC: x = 4 x connector: connector 2 power limit 1600 + 8 */
	const struct sb_model_desc *dc = sb_model_desc(SB_MODEL_DC);
	CU_ASSERT_EQUAL(sb_reg_addr(sb_reg_find(dc, SB_W_C_POWER_LIMIT), 2), 1608);
	CU_ASSERT_EQUAL(sb_reg_addr(sb_reg_find(dc, SB_W_C_OFFLINE_CURRENT), 8),
	    1932);
	CU_ASSERT_EQUAL(sb_reg_addr(sb_reg_find(dc, SB_W_C_SOC), 1), 2204);
	CU_ASSERT_PTR_NULL(sb_reg_find(dc, SB_W_C_START_STOP));
	/* Single: phase switching at 21008 */
	CU_ASSERT_EQUAL(sb_reg_find(sb_model_desc(SB_MODEL_SINGLE),
	    SB_W_PHASE_SWITCH)->base, 21008);
	/* meters */
	CU_ASSERT_EQUAL(sb_reg_find(sb_meter_desc(SB_METER_SDM630),
	    SB_W_M_TOTAL_POWER)->base, 0x34);
	CU_ASSERT_PTR_NULL(sb_reg_find(sb_meter_desc(SB_METER_SDM230),
	    SB_W_M_VOLTAGE_L2));
}

/* Value coding: word orders, UINT64 halves, scale, ASCII, float32. */
static void
test_decode(void)
{
	struct sb_words hi = { true, false }, lo = { false, false };
	uint16_t r[4];

	/* 100000 = 0x0001_86A0 */
	r[0] = 0x0001; r[1] = 0x86A0;
	CU_ASSERT_EQUAL(sb_decode_uint(r, SB_T_U32, hi), 100000);
	r[0] = 0x86A0; r[1] = 0x0001;
	CU_ASSERT_EQUAL(sb_decode_uint(r, SB_T_U32, lo), 100000);
	sb_encode_uint(100000, SB_T_U32, hi, r);
	CU_ASSERT(r[0] == 0x0001 && r[1] == 0x86A0);
	sb_encode_uint(100000, SB_T_U32, lo, r);
	CU_ASSERT(r[0] == 0x86A0 && r[1] == 0x0001);

	/* UINT64 (the manual's 1y035): low 32-bit half in the first two
	 * registers, each half coded like a UINT32.  123456789012 =
	 * 0x0000001C_BE991A14: high-first halves -> BE99 1A14 0000 001C */
	r[0] = 0xBE99; r[1] = 0x1A14; r[2] = 0x0000; r[3] = 0x001C;
	CU_ASSERT_EQUAL(sb_decode_uint(r, SB_T_U64, hi), 123456789012ULL);
	/* scaled by 0.1 Wh: 12345678901.2 Wh */
	const struct sb_reg *e = sb_reg_find(sb_model_desc(SB_MODEL_AC_WALLBOX),
	    SB_W_C_ENERGY);
	CU_ASSERT(NEAR(sb_decode_value(e, r, hi), 12345678901.2));
	/* low-first words: every word reversed -> 1A14 BE99 001C 0000 */
	r[0] = 0x1A14; r[1] = 0xBE99; r[2] = 0x001C; r[3] = 0x0000;
	CU_ASSERT_EQUAL(sb_decode_uint(r, SB_T_U64, lo), 123456789012ULL);
	sb_encode_uint(123456789012ULL, SB_T_U64, (struct sb_words){ true, true },
	    r);
	CU_ASSERT(r[0] == 0x0000 && r[1] == 0x001C && r[2] == 0xBE99 &&
	    r[3] == 0x1A14);
	sb_encode_uint(123456789012ULL, SB_T_U64, hi, r);
	CU_ASSERT(r[0] == 0xBE99 && r[1] == 0x1A14 && r[2] == 0x0000 &&
	    r[3] == 0x001C);
	/* the model decides, the per-charger override only turns UINT32 */
	struct sb_words mw = sb_words_for(sb_model_desc(SB_MODEL_DC),
	    SB_WORDS_LOW_FIRST);
	CU_ASSERT(!mw.u32_high_first && !mw.u64_high_half_first);
	mw = sb_words_for(sb_model_desc(SB_MODEL_DC), SB_WORDS_MODEL);
	CU_ASSERT(mw.u32_high_first && !mw.u64_high_half_first);

	/* 0.01 V: 23050 -> 230.50 V */
	const struct sb_reg *v = sb_reg_find(sb_model_desc(SB_MODEL_AC_WALLBOX),
	    SB_W_C_VOLTAGE_L1);
	r[0] = 0; r[1] = 23050;
	CU_ASSERT(NEAR(sb_decode_value(v, r, hi), 230.50));

	/* ASCII: "AB" = 0x4142, trailing NULs and spaces dropped */
	char s[8];
	uint16_t a[4] = { 0x4142, 0x4320, 0x2000, 0x0000 };
	sb_decode_ascii(a, 4, s, sizeof s);
	CU_ASSERT_STRING_EQUAL(s, "ABC");
	uint16_t b[2] = { 0x4101, 0x4200 };
	sb_decode_ascii(b, 2, s, sizeof s);
	CU_ASSERT_STRING_EQUAL(s, "A?B");
	CU_ASSERT_EQUAL(sb_encode_ascii("XYZ", 2, a), 0);
	CU_ASSERT(a[0] == 0x5859 && a[1] == 0x5A00);
	CU_ASSERT_EQUAL(sb_encode_ascii("TOOLONG", 2, a), -1);
	/* truncation to the buffer */
	uint16_t t[3] = { 0x3132, 0x3334, 0x3536 };
	sb_decode_ascii(t, 3, s, 4);
	CU_ASSERT_STRING_EQUAL(s, "123");

	/* float32 high word first: 230.5 = 0x43668000 */
	r[0] = 0x4366; r[1] = 0x8000;
	CU_ASSERT(NEAR(sb_decode_f32(r, true), 230.5));
	sb_encode_f32(-1500.25, true, r);
	CU_ASSERT(NEAR(sb_decode_f32(r, true), -1500.25));

	/* limits: 16 A -> 1600 (0.01 A), 7400 W -> 7400, negative refused */
	uint64_t raw;
	const struct sb_model_desc *wb = sb_model_desc(SB_MODEL_AC_WALLBOX);
	CU_ASSERT_EQUAL(sb_limit_to_raw(sb_reg_find(wb, SB_W_C_CURRENT_LIMIT),
	    16.0, &raw), 0);
	CU_ASSERT_EQUAL(raw, 1600);
	CU_ASSERT_EQUAL(sb_limit_to_raw(sb_reg_find(wb, SB_W_C_CURRENT_LIMIT),
	    7.456, &raw), 0);
	CU_ASSERT_EQUAL(raw, 746);
	CU_ASSERT_EQUAL(sb_limit_to_raw(sb_reg_find(wb, SB_W_C_POWER_LIMIT),
	    7400, &raw), 0);
	CU_ASSERT_EQUAL(raw, 7400);
	CU_ASSERT_EQUAL(sb_limit_to_raw(sb_reg_find(wb, SB_W_C_POWER_LIMIT),
	    -1, &raw), -1);
	CU_ASSERT_EQUAL(sb_limit_to_raw(sb_reg_find(wb, SB_W_C_POWER_LIMIT),
	    5e9, &raw), -1);
}

/* Grouped reads: as few requests as allowed, never over 125 registers. */
static void
test_plan(void)
{
	struct sb_plan p;

	/* AC Wallbox, one connector, polled: 10000..10020 (status, power,
	 * the charger-wide charging time, voltage and current that are the
	 * connector's),
	 * 11023..11038 (connector power, per-phase power, energy),
	 * 11141..11164 (fault codes, type, IdToken): three requests */
	sb_plan_reads(sb_model_desc(SB_MODEL_AC_WALLBOX), SB_PH_POLL, 1, &p);
	CU_ASSERT_EQUAL_FATAL(p.n_blocks, 3);
	CU_ASSERT(p.blocks[0].addr == 10000 && p.blocks[0].count == 21);
	CU_ASSERT(p.blocks[1].addr == 11023 && p.blocks[1].count == 16);
	CU_ASSERT(p.blocks[2].addr == 11141 && p.blocks[2].count == 24);
	CU_ASSERT_EQUAL(p.blocks[1].n_rows, 5);
	/* 10009 is charger-wide in the table, connector 1's in the reading */
	CU_ASSERT_EQUAL(p.rows[4].addr, 10009);
	CU_ASSERT_EQUAL(p.rows[4].connector, 1);
	/* identity: 100..149 (type + firmware) and 10100..10118 (serial,
	 * connectors, max current; the Wallbox's table has no 10119) */
	sb_plan_reads(sb_model_desc(SB_MODEL_AC_WALLBOX), SB_PH_IDENTITY, 1, &p);
	CU_ASSERT_EQUAL_FATAL(p.n_blocks, 2);
	CU_ASSERT(p.blocks[0].addr == 100 && p.blocks[0].count == 50);
	CU_ASSERT(p.blocks[1].addr == 10100 && p.blocks[1].count == 19);
	/* AC Ultra with two connectors: 10000, 11000, 11145, 12000, 12145 */
	sb_plan_reads(sb_model_desc(SB_MODEL_AC_ULTRA), SB_PH_POLL, 2, &p);
	CU_ASSERT_EQUAL(p.n_blocks, 5);
	/* DC, two connectors: 1000..1008 | 1104..1109 | 1204..1209 |
	 * 1300..1309 | 1404..1408 | 1504..1508 | 2204..2208 | the RFID
	 * card numbers 2418..2453 (holding registers, 03) */
	sb_plan_reads(sb_model_desc(SB_MODEL_DC), SB_PH_POLL, 2, &p);
	CU_ASSERT_EQUAL_FATAL(p.n_blocks, 8);
	CU_ASSERT(p.blocks[0].addr == 1000 && p.blocks[0].count == 9);
	CU_ASSERT(p.blocks[3].addr == 1300 && p.blocks[3].count == 10);
	CU_ASSERT(p.blocks[6].addr == 2204 && p.blocks[6].count == 5);
	CU_ASSERT(p.blocks[7].addr == 2418 && p.blocks[7].count == 36 &&
	    p.blocks[7].fc == 3);
	/* SDM630: one read of 0x0000..0x004B = 76 registers */
	sb_plan_reads(sb_meter_desc(SB_METER_SDM630), SB_PH_POLL, 0, &p);
	CU_ASSERT_EQUAL_FATAL(p.n_blocks, 1);
	CU_ASSERT(p.blocks[0].addr == 0 && p.blocks[0].count == 76);
	/* never more than 125 registers: DC with 8 connectors */
	sb_plan_reads(sb_model_desc(SB_MODEL_DC), SB_PH_POLL, 8, &p);
	for (size_t i = 0; i < p.n_blocks; i++)
		CU_ASSERT(p.blocks[i].count <= SB_MAX_READ_REGS);
}

/* Every read row of every table, at the model's most connectors, fits
 * in a plan: none is dropped for want of room. */
static void
test_plan_fits(void)
{
	for (int m = 0; m < SB_MODEL_COUNT + 3; m++) {
		const struct sb_model_desc *d = m < SB_MODEL_COUNT ?
		    sb_model_desc((enum sb_model)m) :
		    sb_meter_desc((enum sb_meter_type)(m - SB_MODEL_COUNT + 1));
		int n = m < SB_MODEL_COUNT ?
		    sb_model_max_connectors((enum sb_model)m) : 0;

		for (int ph = SB_PH_IDENTITY; ph <= SB_PH_POLL; ph++) {
			struct sb_plan p;
			size_t want = 0, in_blocks = 0;

			for (size_t i = 0; i < d->n_regs; i++)
				if (d->regs[i].phase == (enum sb_phase)ph &&
				    d->regs[i].read_fc != 0)
					want += d->regs[i].per_connector ?
					    (size_t)n : 1;
			sb_plan_reads(d, (enum sb_phase)ph, n, &p);
			CU_ASSERT_EQUAL(p.n_rows, want);
			CU_ASSERT(p.n_blocks < SB_MAX_BLOCKS);
			for (size_t b = 0; b < p.n_blocks; b++)
				in_blocks += p.blocks[b].n_rows;
			CU_ASSERT_EQUAL(in_blocks, p.n_rows);
		}
	}
}

/* A bad description names every problem with its valid range. */
static void
test_conf_errors(void)
{
	struct sb_conf c;
	struct sb_charger_conf ch[2];
	struct sb *sb = NULL;
	char *cause = NULL;

	sb_conf_defaults(&c);
	memset(ch, 0, sizeof ch);
	ch[0] = (struct sb_charger_conf){ .name = "a", .model = SB_MODEL_AC_WALLBOX,
	    .link = SB_LINK_TCP, .host = "127.0.0.1", .port = 70000,
	    .unit_id = 1, .connectors = 2 };
	ch[1] = (struct sb_charger_conf){ .name = "b", .model = SB_MODEL_DC,
	    .link = SB_LINK_TCP_LISTEN, .connectors = 1 };
	c.chargers = ch;
	c.n_chargers = 2;
	c.comm_timeout_s = 1;
	CU_ASSERT_EQUAL(sb_start(&c, &sb, &cause), SB_ERR_CONFIG);
	CU_ASSERT_PTR_NULL(sb);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	/* every problem, each with where and the valid range */
	CU_ASSERT_PTR_NOT_NULL(strstr(cause,
	    "charger \"a\": port 70000 out of range 1..65535"));
	CU_ASSERT_PTR_NOT_NULL(strstr(cause,
	    "charger \"a\": connectors 2 out of range 1..1"));
	CU_ASSERT_PTR_NOT_NULL(strstr(cause,
	    "charger \"b\": tcp-listen needs the serial"));
	CU_ASSERT_PTR_NOT_NULL(strstr(cause,
	    "comm-timeout-s 1 out of range 3..65535"));
	free(cause);

	/* what devices must agree on */
	struct sb_charger_conf bus[4];
	memset(bus, 0, sizeof bus);
	for (int i = 0; i < 4; i++) {
		bus[i].name = i == 0 ? "r0" : i == 1 ? "r1" : i == 2 ? "d0" : "d1";
		bus[i].model = SB_MODEL_SINGLE;
		bus[i].connectors = 1;
		bus[i].link = i < 2 ? SB_LINK_RTU : SB_LINK_TCP_LISTEN;
		bus[i].unit_id = 2;
		bus[i].rtu = (struct sb_serial_conf){ "/dev/ttyUSB0", 9600, 'N',
		    1 };
		bus[i].serial = "SAME";
	}
	bus[1].rtu.parity = 'E';
	sb_conf_defaults(&c);
	c.listen = "127.0.0.1:0";
	c.chargers = bus;
	c.n_chargers = 4;
	c.meter.type = SB_METER_SDM630;
	c.meter.link = SB_LINK_RTU;
	c.meter.unit_id = 2;
	c.meter.rtu = (struct sb_serial_conf){ "/dev/ttyUSB0", 9600, 'N', 1 };
	CU_ASSERT_EQUAL(sb_start(&c, &sb, &cause), SB_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "charger \"r1\": unit-id 2 is "
	    "also charger \"r0\"'s on /dev/ttyUSB0"));
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "charger \"r1\": baud, parity "
	    "and stop-bits must be charger \"r0\"'s"));
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "charger \"r0\": unit-id 2 is "
	    "the meter's"));
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "charger \"d1\": serial \"SAME\" "
	    "is also charger \"d0\"'s"));
	free(cause);
}

/* ---- helpers for the live tests ---------------------------------------- */

static struct devsrv *srv;

/* Predicate: the last fault is *arg. */
static bool
has_fault(const struct sb_charger_reading *r, const void *arg)
{
	return r->fault == *(const enum sb_fault *)arg;
}

/* The raw value test devices hold in a numeric row at addr: distinct for
 * every register, and over 2^32 for UINT64 so the high words count; within
 * the plausible range of each value (voltages up to 500 V, SoC up to
 * 100 %, powers within 1.2 x the maximum at 10119). */
static uint64_t
pattern(const struct sb_reg *r, unsigned addr)
{
	switch (r->type) {
	case SB_T_U16:
		if (r->what == SB_W_C_STATUS || r->what == SB_W_STATUS)
			return 3; /* charging */
		if (r->what == SB_W_N_CONNECTORS)
			return 2;
		if (r->what == SB_W_C_SOC)
			return addr % 100;
		return addr % 1000 + 1;
	case SB_T_U32:
		if (r->what >= SB_W_C_VOLTAGE_L1 &&
		    r->what <= SB_W_C_VOLTAGE_L3)
			return (uint64_t)(addr % 10000) * 10 + 7;
		return (uint64_t)addr * 10 + 7;
	case SB_T_U64:
		return ((uint64_t)addr << 32) | 0x1234;
	case SB_T_F32:
	case SB_T_ASCII:
	default:
		return 0;
	}
}

/* Fills a test device's read-only registers with pattern() values. */
static void
fill_model(int dev, enum sb_model model, int nconn, struct sb_words w,
    const char *serial)
{
	const struct sb_model_desc *m = sb_model_desc(model);

	for (size_t i = 0; i < m->n_regs; i++) {
		const struct sb_reg *r = &m->regs[i];
		if (r->read_fc != 4)
			continue;
		for (int c = r->per_connector ? 1 : 0;
		    c <= (r->per_connector ? nconn : 0); c++) {
			unsigned addr = sb_reg_addr(r, c);
			uint16_t regs[32];
			char text[48];
			if (r->type == SB_T_ASCII) {
				if (r->what == SB_W_SERIAL)
					snprintf(text, sizeof text, "%s", serial);
				else
					snprintf(text, sizeof text, "T%u-%s", addr,
					    m->name);
				memset(regs, 0, sizeof regs);
				sb_encode_ascii(text, r->count, regs);
			} else
				sb_encode_uint(pattern(r, addr), r->type, w, regs);
			devsrv_set(srv, dev, true, addr, r->count, regs);
		}
	}
}

/* The reading's value for a table row (NAN when the reading has none). */
static double
value_of(const struct sb_charger_reading *rd, const struct sb_reg *r, int c)
{
	const struct sb_connector_reading *k = c >= 1 ? &rd->conn[c - 1] : NULL;

	switch (r->what) {
	case SB_W_N_CONNECTORS: return rd->n_connectors;
	case SB_W_MAX_CURRENT: return rd->max_current_a;
	case SB_W_MAX_POWER: return rd->max_power_w;
	case SB_W_MAX_OFFLINE_POWER: return rd->max_offline_power_w;
	case SB_W_STATUS: return rd->status;
	case SB_W_POWER: return rd->power_w;
	case SB_W_C_STATUS: return k->status;
	case SB_W_C_POWER: return k->power_w;
	case SB_W_C_VOLTAGE_L1: return k->voltage_v[0];
	case SB_W_C_VOLTAGE_L2: return k->voltage_v[1];
	case SB_W_C_VOLTAGE_L3: return k->voltage_v[2];
	case SB_W_C_CURRENT_L1: return k->current_a[0];
	case SB_W_C_CURRENT_L2: return k->current_a[1];
	case SB_W_C_CURRENT_L3: return k->current_a[2];
	case SB_W_C_POWER_L1: return k->phase_power_w[0];
	case SB_W_C_POWER_L2: return k->phase_power_w[1];
	case SB_W_C_POWER_L3: return k->phase_power_w[2];
	case SB_W_C_ENERGY: return k->energy_wh;
	case SB_W_C_SESSION_ENERGY: return k->session_energy_wh;
	case SB_W_C_CHARGE_TIME: return k->charge_time_s;
	case SB_W_C_TYPE: return k->connector_type;
	case SB_W_C_SOC: return k->soc_pct;
	case SB_W_C_FAULT_EU: return (double)k->fault_code_eu;
	case SB_W_C_FAULT_US: return (double)k->fault_code_us;
	default: return NAN;
	}
}

/* A TCP charger description for test device dev. */
static struct sb_charger_conf
tcp_charger(const char *name, enum sb_model model, int dev, int nconn)
{
	struct sb_charger_conf c;

	memset(&c, 0, sizeof c);
	c.name = name;
	c.model = model;
	c.link = SB_LINK_TCP;
	c.host = "127.0.0.1";
	c.port = devsrv_port(srv, dev);
	c.unit_id = 1;
	c.connectors = nconn;
	return c;
}

/* Defaults with short timeouts and poll interval for the tests. */
static void
fast_conf(struct sb_conf *c)
{
	sb_conf_defaults(c);
	c->response_timeout_ms = 200;
	c->poll_interval_ms = 100;
	c->backoff_min_ms = 100;
	c->backoff_max_ms = 400;
}

/* A holding register of a test device. */
static uint16_t
reg_at(int dev, unsigned addr)
{
	uint16_t v;
	devsrv_get(srv, dev, addr, 1, &v);
	return v;
}

/* ---- live tests -------------------------------------------------------- */

/* Every polled and identity register of every model decodes to the right
 * value in the right unit; register 0 and 2 are configured. */
static void
test_every_model(void)
{
	struct sb_charger_conf ch[SB_MODEL_COUNT];
	int devs[SB_MODEL_COUNT], nconn[SB_MODEL_COUNT];
	struct sb_conf c;
	struct sb *sb;
	char *cause = NULL;
	struct sb_words w = { true, false };

	srv = devsrv_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(srv);
	for (int i = 0; i < SB_MODEL_COUNT; i++) {
		char serial[32];
		const struct sb_model_desc *m = sb_model_desc((enum sb_model)i);
		nconn[i] = m->max_connectors > 2 ? 2 : m->max_connectors;
		devs[i] = devsrv_add_tcp(srv);
		snprintf(serial, sizeof serial, "SN-%s", m->name + 6);
		fill_model(devs[i], (enum sb_model)i, nconn[i], w, serial);
		ch[i] = tcp_charger(m->name, (enum sb_model)i, devs[i], nconn[i]);
		ch[i].control_unit = i == SB_MODEL_AC_WALLBOX ?
		    SB_CONTROL_CURRENT : SB_CONTROL_POWER;
	}
	fast_conf(&c);
	c.chargers = ch;
	c.n_chargers = SB_MODEL_COUNT;
	CU_ASSERT_EQUAL_FATAL(sb_start(&c, &sb, &cause), 0);

	for (int i = 0; i < SB_MODEL_COUNT; i++) {
		struct sb_charger_reading rd;
		uint64_t one = 1;
		const struct sb_model_desc *m = sb_model_desc((enum sb_model)i);
		char want[48];

		CU_ASSERT_FATAL(sbt_wait_charger(sb, (size_t)i, sbt_polled_n,
		    &one, 3000, &rd));
		CU_ASSERT(rd.identified);
		snprintf(want, sizeof want, "SN-%s", m->name + 6);
		CU_ASSERT_STRING_EQUAL(rd.serial, want);
		snprintf(want, sizeof want, "T100-%s", m->name);
		CU_ASSERT_STRING_EQUAL(rd.product_type, want);
		snprintf(want, sizeof want, "T130-%s", m->name);
		CU_ASSERT_STRING_EQUAL(rd.firmware, want);
		if (i != SB_MODEL_DC) {
			/* 1y147 IdToken of connector 1 = "T11147-..." */
			snprintf(want, sizeof want, "T11147-%s", m->name);
			CU_ASSERT_STRING_EQUAL(rd.conn[0].id_token, want);
		}
		for (size_t r = 0; r < m->n_regs; r++) {
			const struct sb_reg *g = &m->regs[r];
			if (g->read_fc != 4 || g->type == SB_T_ASCII)
				continue;
			for (int k = g->per_connector ? 1 : 0;
			    k <= (g->per_connector ? nconn[i] : 0); k++) {
				unsigned addr = sb_reg_addr(g, k);
				double want_v = (double)pattern(g, addr) * g->scale;
				/* a connector value listed charger-wide is
				 * connector 1's */
				int kc = k == 0 && sb_what_is_connector(g->what) ?
				    1 : k;
				double got = value_of(&rd, g, kc);
				if (!NEAR(got, want_v))
					fprintf(stderr, "%s %s c%d @%u: got %g "
					    "want %g\n", m->name,
					    sb_what_name(g->what), k, addr, got,
					    want_v);
				CU_ASSERT(NEAR(got, want_v));
			}
		}
		/* register 0: 1 = current mode for the Wallbox here, 0 =
		 * power; written only where the model's table lists it (not
		 * the DC: the test device's register holds its pattern) */
		if (i != SB_MODEL_DC)
			CU_ASSERT_EQUAL(reg_at(devs[i], 0),
			    i == SB_MODEL_AC_WALLBOX ? 1 : 0);
		/* register 2: comm timeout 30 s, only on the Ultra and the
		 * Single */
		if (sb_reg_find(m, SB_W_COMM_TIMEOUT) != NULL)
			CU_ASSERT_EQUAL(reg_at(devs[i], 2), 30);
	}
	/* hand-checked examples: Ultra connector 2 L1 voltage at 12009 holds
	 * 2009 * 10 + 7 = 20097 -> 200.97 V; DC connector 1 session
	 * energy at 1504 holds 1504 % 1000 + 1 = 505 (kWh/100) -> 5050 Wh;
	 * Wallbox energy at 11035 holds 11035 << 32 | 0x1234 =
	 * 11035 * 4294967296 + 4660 = 47394964111360 + 4660 = 47394964116020
	 * (0.1 Wh) -> 4739496411602 Wh */
	struct sb_charger_reading rd;
	sb_charger_snapshot(sb, SB_MODEL_AC_ULTRA, &rd);
	CU_ASSERT(NEAR(rd.conn[1].voltage_v[0], 200.97));
	sb_charger_snapshot(sb, SB_MODEL_DC, &rd);
	CU_ASSERT(NEAR(rd.conn[0].session_energy_wh, 5050));
	sb_charger_snapshot(sb, SB_MODEL_AC_WALLBOX, &rd);
	CU_ASSERT(NEAR(rd.conn[0].energy_wh, 4739496411602.0));
	CU_ASSERT(NEAR(rd.max_current_a, 1011.77)); /* 10117*10+7 = 101177 cA */

	sb_stop(sb);
	devsrv_free(srv);
}

/* Setpoints land in the right register with the right scale and word
 * order, on the worker's next turn (not the next poll); latest wins;
 * offline limits are written on connect. */
static void
test_setpoints(void)
{
	struct sb_charger_conf ch[4];
	int dev[4];
	struct sb_conf c;
	struct sb *sb;
	struct sb_charger_reading rd;
	uint64_t one = 1, g[2];
	char *cause = NULL;

	srv = devsrv_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(srv);
	for (int i = 0; i < 4; i++)
		dev[i] = devsrv_add_tcp(srv);
	ch[0] = tcp_charger("power", SB_MODEL_AC_WALLBOX, dev[0], 1);
	ch[0].offline_limit[0] = 3680; /* W */
	ch[1] = tcp_charger("current", SB_MODEL_AC_ULTRA, dev[1], 2);
	ch[1].control_unit = SB_CONTROL_CURRENT;
	ch[1].offline_limit[1] = 6.5; /* A -> 650 */
	ch[2] = tcp_charger("dc", SB_MODEL_DC, dev[2], 2);
	ch[3] = tcp_charger("lowfirst", SB_MODEL_SINGLE, dev[3], 1);
	ch[3].word_order = SB_WORDS_LOW_FIRST;
	fast_conf(&c);
	c.poll_interval_ms = 60000; /* one poll at connect: writes must not
	                               wait for the next */
	c.chargers = ch;
	c.n_chargers = 4;
	CU_ASSERT_EQUAL_FATAL(sb_start(&c, &sb, &cause), 0);
	for (int i = 0; i < 4; i++)
		CU_ASSERT_FATAL(sbt_wait_charger(sb, (size_t)i, sbt_polled_n,
		    &one, 3000, &rd));

	/* offline limits on connect: 21004 = 3680 W; 22006 = 650 (0.01 A) */
	CU_ASSERT_EQUAL(reg_at(dev[0], 21004), 0);
	CU_ASSERT_EQUAL(reg_at(dev[0], 21005), 3680);
	CU_ASSERT_EQUAL(reg_at(dev[1], 22007), 650);
	/* register 0: current mode on the Ultra */
	CU_ASSERT_EQUAL(reg_at(dev[1], 0), 1);

	sb_charger_snapshot(sb, 0, &rd);
	uint64_t polls_before = rd.polls;
	g[0] = 1;
	CU_ASSERT_EQUAL(sb_submit_setpoint(sb, 0, 1, 7400, &g[1]), 0);
	CU_ASSERT_FATAL(sbt_wait_charger(sb, 0, sbt_gen_done, g, 2000, &rd));
	/* written on the worker's next turn, with no poll in between (the
	 * next poll is a minute away) */
	CU_ASSERT_EQUAL(rd.polls, polls_before);
	/* 21000/21001 = 7400 W, high word first: 0x0000, 0x1CE8 */
	CU_ASSERT_EQUAL(reg_at(dev[0], 21000), 0);
	CU_ASSERT_EQUAL(reg_at(dev[0], 21001), 7400);
	CU_ASSERT(NEAR(rd.conn[0].limit_written, 7400));

	/* 16 A on Ultra connector 2 -> 22002/22003 = 1600 (0.01 A) */
	g[0] = 2;
	CU_ASSERT_EQUAL(sb_submit_setpoint(sb, 1, 2, 16.0, &g[1]), 0);
	CU_ASSERT_FATAL(sbt_wait_charger(sb, 1, sbt_gen_done, g, 2000, &rd));
	CU_ASSERT_EQUAL(reg_at(dev[1], 22003), 1600);
	CU_ASSERT_EQUAL(reg_at(dev[1], 22001), 0); /* power limit untouched */

	/* DC connector 2: 1600 + 8 = 1608; 150 kW = 150000 = 0x0002_49F0 */
	g[0] = 2;
	CU_ASSERT_EQUAL(sb_submit_setpoint(sb, 2, 2, 150000, &g[1]), 0);
	CU_ASSERT_FATAL(sbt_wait_charger(sb, 2, sbt_gen_done, g, 2000, &rd));
	CU_ASSERT_EQUAL(reg_at(dev[2], 1608), 0x0002);
	CU_ASSERT_EQUAL(reg_at(dev[2], 1609), 0x49F0);

	/* low word first: 100000 W = 0x0001_86A0 -> 21000 = 0x86A0 */
	g[0] = 1;
	CU_ASSERT_EQUAL(sb_submit_setpoint(sb, 3, 1, 100000, &g[1]), 0);
	CU_ASSERT_FATAL(sbt_wait_charger(sb, 3, sbt_gen_done, g, 2000, &rd));
	CU_ASSERT_EQUAL(reg_at(dev[3], 21000), 0x86A0);
	CU_ASSERT_EQUAL(reg_at(dev[3], 21001), 0x0001);

	/* latest wins: 50 quick submissions, then the register holds the
	 * last and far fewer than 50 writes were made */
	for (int i = 1; i <= 50; i++)
		CU_ASSERT_EQUAL(sb_submit_setpoint(sb, 0, 1, 1000 + i, &g[1]), 0);
	g[0] = 1;
	CU_ASSERT_FATAL(sbt_wait_charger(sb, 0, sbt_gen_done, g, 2000, &rd));
	CU_ASSERT_EQUAL(reg_at(dev[0], 21001), 1050);
	CU_ASSERT(devsrv_writes(srv, dev[0], 21001) < 50);

	/* offline limit change: written on the next turn */
	CU_ASSERT_EQUAL(sb_set_offline_limit(sb, 0, 1, 2300), 0);
	int64_t end = mono_now_ms() + 2000;
	while (reg_at(dev[0], 21005) != 2300 && mono_now_ms() < end) {
		struct pollfd p = { sb_fd(sb), POLLIN, 0 };
		poll(&p, 1, 20);
		sb_take_chargers(sb, &rd, 1);
	}
	CU_ASSERT_EQUAL(reg_at(dev[0], 21005), 2300);

	/* bad requests */
	CU_ASSERT_EQUAL(sb_submit_setpoint(sb, 0, 2, 10, NULL), SB_ERR_NO_DEVICE);
	CU_ASSERT_EQUAL(sb_submit_setpoint(sb, 9, 1, 10, NULL), SB_ERR_NO_DEVICE);
	CU_ASSERT_EQUAL(sb_submit_setpoint(sb, 0, 1, -5, NULL), SB_ERR_RANGE);
	CU_ASSERT_EQUAL(sb_submit_command(sb, 2, 1, SB_CMD_STOP, 0, NULL, NULL),
	    SB_ERR_UNSUPPORTED);

	sb_stop(sb);
	devsrv_free(srv);
}

/* Commands write their registers: Ultra 3y000/3y001, Wallbox 30002 URL,
 * Single phase switch 21008. */
static void
test_commands(void)
{
	struct sb_charger_conf ch[3];
	int dev[3];
	struct sb_conf c;
	struct sb *sb;
	struct sb_charger_reading rd;
	uint64_t seq, one = 1;
	char *cause = NULL;
	uint16_t url[128];
	char text[300];

	srv = devsrv_new();
	for (int i = 0; i < 3; i++)
		dev[i] = devsrv_add_tcp(srv);
	ch[0] = tcp_charger("ultra", SB_MODEL_AC_ULTRA, dev[0], 2);
	ch[1] = tcp_charger("wallbox", SB_MODEL_AC_WALLBOX, dev[1], 1);
	ch[2] = tcp_charger("single", SB_MODEL_SINGLE, dev[2], 1);
	fast_conf(&c);
	c.chargers = ch;
	c.n_chargers = 3;
	CU_ASSERT_EQUAL_FATAL(sb_start(&c, &sb, &cause), 0);
	for (int i = 0; i < 3; i++)
		CU_ASSERT_FATAL(sbt_wait_charger(sb, (size_t)i, sbt_polled_n,
		    &one, 3000, &rd));

	/* stop connector 2 of the Ultra: 32000 = 1; unlock: 32001 = 1 */
	CU_ASSERT_EQUAL(sb_submit_command(sb, 0, 2, SB_CMD_STOP, 0, NULL, NULL), 0);
	CU_ASSERT_EQUAL(sb_submit_command(sb, 0, 2, SB_CMD_UNLOCK, 0, NULL, &seq), 0);
	CU_ASSERT_FATAL(sbt_wait_charger(sb, 0, sbt_cmd_done, &seq, 2000, &rd));
	CU_ASSERT_EQUAL(rd.command_result, 0);
	CU_ASSERT_EQUAL(reg_at(dev[0], 32000), 1);
	CU_ASSERT_EQUAL(reg_at(dev[0], 32001), 1);
	CU_ASSERT_EQUAL(devsrv_writes(srv, dev[0], 31000), 0);

	/* firmware URL on the Wallbox: 200 characters over 30002..30129,
	 * sent as two writes (123 + 5 registers) */
	memset(text, 'u', 200);
	memcpy(text, "https://", 8);
	text[200] = '\0';
	CU_ASSERT_EQUAL(sb_submit_command(sb, 1, 1, SB_CMD_FIRMWARE, 0, text,
	    &seq), 0);
	CU_ASSERT_FATAL(sbt_wait_charger(sb, 1, sbt_cmd_done, &seq, 2000, &rd));
	devsrv_get(srv, dev[1], 30002, 128, url);
	CU_ASSERT_EQUAL(url[0], ('h' << 8) | 't');
	CU_ASSERT_EQUAL(url[99], ('u' << 8) | 'u');
	CU_ASSERT_EQUAL(url[100], 0);
	CU_ASSERT_EQUAL(devsrv_writes(srv, dev[1], 30002), 1);
	CU_ASSERT_EQUAL(devsrv_writes(srv, dev[1], 30129), 1);

	/* phase switching on the Single: L2 = 2 at 21008 */
	CU_ASSERT_EQUAL(sb_submit_command(sb, 2, 1, SB_CMD_PHASE, 2, NULL, &seq), 0);
	CU_ASSERT_FATAL(sbt_wait_charger(sb, 2, sbt_cmd_done, &seq, 2000, &rd));
	CU_ASSERT_EQUAL(reg_at(dev[2], 21008), 2);
	CU_ASSERT_EQUAL(sb_submit_command(sb, 2, 1, SB_CMD_PHASE, 9, NULL, NULL),
	    SB_ERR_RANGE);
	CU_ASSERT_EQUAL(sb_submit_command(sb, 0, 1, SB_CMD_PHASE, 1, NULL, NULL),
	    SB_ERR_UNSUPPORTED);

	sb_stop(sb);
	devsrv_free(srv);
}

/* A device that refuses 04 is read with 03 from then on, remembered; a
 * limit that does not read back is an error, retried until it does; a
 * register span the device refuses is read row by row. */
static void
test_fallbacks(void)
{
	struct sb_charger_conf ch[2];
	int dev[2];
	struct sb_conf c;
	struct sb *sb;
	struct sb_charger_reading rd;
	uint64_t three = 3, g[2];
	enum sb_fault rb = SB_FAULT_READBACK;
	char *cause = NULL;
	struct sb_words w = { true, false };

	srv = devsrv_new();
	dev[0] = devsrv_add_tcp(srv);
	dev[1] = devsrv_add_tcp(srv);
	fill_model(dev[0], SB_MODEL_AC_WALLBOX, 1, w, "NO04");
	fill_model(dev[1], SB_MODEL_AC_WALLBOX, 1, w, "HOLE");
	devsrv_no_fc04(srv, dev[0], true);
	/* 11145 (connector type) refused: the block 11145..11164 is read
	 * row by row and the IdToken still arrives */
	devsrv_hole(srv, dev[1], 11145);
	ch[0] = tcp_charger("no04", SB_MODEL_AC_WALLBOX, dev[0], 1);
	ch[1] = tcp_charger("hole", SB_MODEL_AC_WALLBOX, dev[1], 1);
	fast_conf(&c);
	c.chargers = ch;
	c.n_chargers = 2;
	CU_ASSERT_EQUAL_FATAL(sb_start(&c, &sb, &cause), 0);

	CU_ASSERT_FATAL(sbt_wait_charger(sb, 0, sbt_polled_n, &three, 3000,
	    &rd));
	CU_ASSERT(rd.ro_uses_fc03);
	CU_ASSERT_STRING_EQUAL(rd.serial, "NO04");
	/* 11023 (the Wallbox's connector power) holds 110237 W */
	CU_ASSERT(NEAR(rd.conn[0].power_w, 110237));
	/* 04 was tried once, at the first read, then never again */
	CU_ASSERT_EQUAL(devsrv_requests_fc(srv, dev[0], 4), 1);

	CU_ASSERT_FATAL(sbt_wait_charger(sb, 1, sbt_polled_n, &three, 3000,
	    &rd));
	CU_ASSERT_EQUAL(rd.conn[0].connector_type, -1);
	CU_ASSERT_STRING_EQUAL(rd.conn[0].id_token, "T11147-autel-ac-wallbox");

	/* read-back mismatch: the device ignores writes to 21001 */
	devsrv_ignore_writes(srv, dev[1], 21001, true);
	g[0] = 1;
	CU_ASSERT_EQUAL(sb_submit_setpoint(sb, 1, 1, 4200, &g[1]), 0);
	CU_ASSERT_FATAL(sbt_wait_charger(sb, 1, has_fault, &rb, 2000, &rd));
	CU_ASSERT(rd.readback_errors >= 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(rd.error, "wrote 4200, read back 0"));
	CU_ASSERT(rd.conn[0].limit_generation < g[1]);
	CU_ASSERT(rd.online); /* it answers: not offline */
	/* retried, and accepted once the device stores it */
	devsrv_ignore_writes(srv, dev[1], 21001, false);
	CU_ASSERT_FATAL(sbt_wait_charger(sb, 1, sbt_gen_done, g, 2000, &rd));
	CU_ASSERT_EQUAL(reg_at(dev[1], 21001), 4200);

	sb_stop(sb);
	devsrv_free(srv);
}

static bool
lists_unsupported(const struct sb_charger_reading *r, const void *arg)
{
	return strstr(r->unsupported, arg) != NULL;
}

static bool
type_known(const struct sb_charger_reading *r, const void *arg)
{
	(void)arg;
	return r->conn[0].connector_type >= 0 && r->unsupported[0] == '\0';
}

/* A register a device refused is asked again on the re-probe timer (the
 * first charger) and on a new connection (the second, with a timer too
 * long to matter): refused again it stays unsupported and the device
 * stays online; answering, it is read and no longer listed. */
static void
test_reprobe(void)
{
	struct sb_charger_conf ch[2];
	int dev[2];
	struct sb_conf c;
	struct sb *sb;
	struct sb_charger_reading rd;
	uint64_t polls;
	char *cause = NULL;
	struct sb_words w = { true, false };

	srv = devsrv_new();
	for (int i = 0; i < 2; i++) {
		dev[i] = devsrv_add_tcp(srv);
		fill_model(dev[i], SB_MODEL_AC_WALLBOX, 1, w, "RP");
		devsrv_hole(srv, dev[i], 11145);
	}
	ch[0] = tcp_charger("timer", SB_MODEL_AC_WALLBOX, dev[0], 1);
	ch[1] = tcp_charger("reconnect", SB_MODEL_AC_WALLBOX, dev[1], 1);
	fast_conf(&c);
	c.reprobe_ms = 300;
	c.chargers = ch;
	c.n_chargers = 2;
	CU_ASSERT_EQUAL_FATAL(sb_start(&c, &sb, &cause), 0);
	for (size_t i = 0; i < 2; i++) {
		CU_ASSERT_FATAL(sbt_wait_charger(sb, i, lists_unsupported,
		    "11145 c.type", 3000, &rd));
		CU_ASSERT_EQUAL(rd.conn[0].connector_type, -1);
	}

	/* still refused over several re-probes: still listed, online */
	CU_ASSERT_EQUAL(sb_charger_snapshot(sb, 0, &rd), 0);
	polls = rd.polls + 12; /* 1.2 s at 100 ms: 4 re-probes */
	CU_ASSERT_FATAL(sbt_wait_charger(sb, 0, sbt_polled_n, &polls, 5000,
	    &rd));
	CU_ASSERT(rd.online);
	CU_ASSERT_PTR_NOT_NULL(strstr(rd.unsupported, "11145"));
	CU_ASSERT_EQUAL(rd.conn[0].connector_type, -1);
	sb_stop(sb);

	/* the second one on its own, re-probed only by a new connection */
	c.reprobe_ms = 3600000;
	c.chargers = &ch[1];
	c.n_chargers = 1;
	CU_ASSERT_EQUAL_FATAL(sb_start(&c, &sb, &cause), 0);
	CU_ASSERT_FATAL(sbt_wait_charger(sb, 0, lists_unsupported, "11145",
	    3000, &rd));
	devsrv_hole_clear(srv, dev[1], 11145);
	CU_ASSERT_EQUAL(sb_charger_snapshot(sb, 0, &rd), 0);
	polls = rd.polls + 5;
	CU_ASSERT_FATAL(sbt_wait_charger(sb, 0, sbt_polled_n, &polls, 5000,
	    &rd));
	CU_ASSERT_EQUAL(rd.conn[0].connector_type, -1); /* not asked yet */
	devsrv_drop_clients(srv, dev[1]);
	CU_ASSERT_FATAL(sbt_wait_charger(sb, 0, type_known, NULL, 5000, &rd));
	CU_ASSERT_EQUAL(rd.unsupported[0], '\0');
	sb_stop(sb);

	/* and the first, whose register answers again on the timer */
	c.reprobe_ms = 300;
	c.chargers = ch;
	c.n_chargers = 1;
	CU_ASSERT_EQUAL_FATAL(sb_start(&c, &sb, &cause), 0);
	CU_ASSERT_FATAL(sbt_wait_charger(sb, 0, lists_unsupported, "11145",
	    3000, &rd));
	devsrv_hole_clear(srv, dev[0], 11145);
	CU_ASSERT_FATAL(sbt_wait_charger(sb, 0, type_known, NULL, 5000, &rd));
	CU_ASSERT(rd.online);
	sb_stop(sb);
	devsrv_free(srv);
}

/* A charger that stops answering goes offline after N failures and comes
 * back on its own; its offline limit is written again on reconnect; a
 * dead device does not slow another link. */
static void
test_offline_and_isolation(void)
{
	struct sb_charger_conf ch[2];
	int dev[2];
	struct sb_conf c;
	struct sb *sb;
	struct sb_charger_reading rd, other;
	uint64_t one = 1, g[2];
	char *cause = NULL;

	srv = devsrv_new();
	dev[0] = devsrv_add_tcp(srv);
	dev[1] = devsrv_add_tcp(srv);
	ch[0] = tcp_charger("dead", SB_MODEL_AC_WALLBOX, dev[0], 1);
	ch[0].offline_limit[0] = 1400;
	ch[1] = tcp_charger("alive", SB_MODEL_AC_WALLBOX, dev[1], 1);
	fast_conf(&c);
	c.response_timeout_ms = 500;
	c.chargers = ch;
	c.n_chargers = 2;
	CU_ASSERT_EQUAL_FATAL(sb_start(&c, &sb, &cause), 0);
	CU_ASSERT_FATAL(sbt_wait_charger(sb, 0, sbt_polled_n, &one, 3000, &rd));
	CU_ASSERT_FATAL(sbt_wait_charger(sb, 1, sbt_polled_n, &one, 3000, &rd));
	CU_ASSERT_EQUAL(devsrv_writes(srv, dev[0], 21005), 1);

	/* the dead charger's worker is stuck in an unanswered request (500
	 * ms timeout): the other link writes a setpoint meanwhile, and the
	 * dead one has not even counted that failure yet */
	unsigned asked = devsrv_requests(srv, dev[0]);
	devsrv_mute(srv, dev[0], true);
	int64_t end = mono_now_ms() + 3000;
	while (devsrv_requests(srv, dev[0]) == asked && mono_now_ms() < end) {
		struct pollfd p = { sb_fd(sb), POLLIN, 0 };
		poll(&p, 1, 1);
		sb_take_chargers(sb, &rd, 1);
	}
	CU_ASSERT_FATAL(devsrv_requests(srv, dev[0]) > asked);
	sb_charger_snapshot(sb, 1, &other);
	uint64_t alive_polls = other.polls;
	g[0] = 1;
	CU_ASSERT_EQUAL(sb_submit_setpoint(sb, 1, 1, 5000, &g[1]), 0);
	CU_ASSERT_FATAL(sbt_wait_charger(sb, 1, sbt_gen_done, g, 1000, &other));
	CU_ASSERT_EQUAL(reg_at(dev[1], 21001), 5000);
	sb_charger_snapshot(sb, 0, &rd);
	CU_ASSERT_EQUAL(rd.failures, 0);
	CU_ASSERT(rd.online);

	/* a command queued as the charger falls silent fails, not waits */
	uint64_t seq;
	CU_ASSERT_EQUAL(sb_submit_command(sb, 0, 1, SB_CMD_STOP, 0, NULL, &seq),
	    0);
	/* 3 failures of 500 ms each plus the 100 ms poll gaps: ~1.7 s */
	CU_ASSERT_FATAL(sbt_wait_charger(sb, 0, sbt_offline, NULL, 4000, &rd));
	CU_ASSERT(rd.failures >= 3);
	CU_ASSERT_EQUAL(rd.fault, SB_FAULT_IO);
	CU_ASSERT(rd.commands_done >= seq);
	CU_ASSERT_EQUAL(rd.command_result, SB_ERR_DEVICE);
	CU_ASSERT_EQUAL(reg_at(dev[0], 30000), 0);
	CU_ASSERT_EQUAL(sb_submit_command(sb, 0, 1, SB_CMD_STOP, 0, NULL, NULL),
	    SB_ERR_OFFLINE);
	/* meanwhile the other link kept polling every 100 ms: over three
	 * 500 ms timeouts that is some 15 polls; at least 3 is asserted */
	sb_charger_snapshot(sb, 1, &other);
	CU_ASSERT(other.polls >= alive_polls + 3);
	CU_ASSERT(other.online);

	/* back: the device answers again, the gateway reconnects, re-reads
	 * the identity and writes the offline limit again */
	devsrv_mute(srv, dev[0], false);
	uint64_t more = rd.polls + 1;
	CU_ASSERT_FATAL(sbt_wait_charger(sb, 0, sbt_polled_n, &more, 3000,
	    &rd));
	CU_ASSERT_EQUAL(rd.failures, 0);
	CU_ASSERT_EQUAL(rd.fault, SB_FAULT_NONE);
	CU_ASSERT(devsrv_writes(srv, dev[0], 21005) >= 2);

	sb_stop(sb);
	devsrv_free(srv);
}

/* The energy counter of a Wallbox (0.1 Wh, UINT64: the low 32 bits first,
 * each half high word first). */
static void
set_energy(int dev, uint64_t tenths_wh)
{
	uint16_t r[4] = { (uint16_t)(tenths_wh >> 16), (uint16_t)tenths_wh,
	    (uint16_t)(tenths_wh >> 48), (uint16_t)(tenths_wh >> 32) };

	devsrv_set(srv, dev, true, 11035, 4, r);
}

/* Slow values (here the energy counter) are read every SB_SLOW_EVERY-th
 * poll and right after a status change; the same setpoint again is no
 * write. */
static void
test_slow_values(void)
{
	struct sb_charger_conf ch[1];
	struct sb_conf c;
	struct sb *sb;
	struct sb_charger_reading rd;
	uint64_t n = 1, g[2], g2;
	char *cause = NULL;
	double seen;
	unsigned updates = 0;

	srv = devsrv_new();
	int dev = devsrv_add_tcp(srv);
	ch[0] = tcp_charger("slow", SB_MODEL_AC_WALLBOX, dev, 1);
	fast_conf(&c);
	c.chargers = ch;
	c.n_chargers = 1;
	set_energy(dev, 10000);
	CU_ASSERT_EQUAL_FATAL(sb_start(&c, &sb, &cause), 0);
	CU_ASSERT_FATAL(sbt_wait_charger(sb, 0, sbt_polled_n, &n, 3000, &rd));
	CU_ASSERT(NEAR(rd.conn[0].energy_wh, 1000));
	seen = rd.conn[0].energy_wh;

	/* a new count after every poll, over 2 x SB_SLOW_EVERY polls: read
	 * on some 2 of them (every poll would see some 20) */
	for (int i = 0; i < 2 * SB_SLOW_EVERY; i++) {
		set_energy(dev, 10000 + 10 * (uint64_t)(i + 1));
		n = rd.polls + 1;
		CU_ASSERT_FATAL(sbt_wait_charger(sb, 0, sbt_polled_n, &n, 3000,
		    &rd));
		if (!NEAR(rd.conn[0].energy_wh, seen))
			updates++;
		seen = rd.conn[0].energy_wh;
	}
	CU_ASSERT(updates >= 1);
	CU_ASSERT(updates <= 3);
	CU_ASSERT(rd.online);

	/* a car starts drawing power (the derived status turns charging):
	 * the energy of that same poll is current */
	uint16_t w[2] = { 0, 3000 };
	CU_ASSERT_EQUAL(rd.conn[0].status, SB_STATUS_AVAILABLE);
	set_energy(dev, 20000);
	devsrv_set(srv, dev, true, 11023, 2, w);
	devsrv_set(srv, dev, true, 10005, 2, w);
	int64_t end = mono_now_ms() + 3000;
	while (rd.conn[0].status != SB_STATUS_CHARGING && mono_now_ms() < end) {
		n = rd.polls + 1;
		CU_ASSERT_FATAL(sbt_wait_charger(sb, 0, sbt_polled_n, &n, 3000,
		    &rd));
	}
	CU_ASSERT_EQUAL_FATAL(rd.conn[0].status, SB_STATUS_CHARGING);
	CU_ASSERT(NEAR(rd.conn[0].energy_wh, 2000));

	/* a setpoint, then the same value again: one write, one generation */
	g[0] = 1;
	CU_ASSERT_EQUAL(sb_submit_setpoint(sb, 0, 1, 3000, &g[1]), 0);
	CU_ASSERT_FATAL(sbt_wait_charger(sb, 0, sbt_gen_done, g, 2000, &rd));
	unsigned writes = devsrv_writes(srv, dev, 21001);
	CU_ASSERT_EQUAL(sb_submit_setpoint(sb, 0, 1, 3000, &g2), 0);
	CU_ASSERT_EQUAL(g2, g[1]);
	n = rd.polls + 3;
	CU_ASSERT_FATAL(sbt_wait_charger(sb, 0, sbt_polled_n, &n, 3000, &rd));
	CU_ASSERT_EQUAL(devsrv_writes(srv, dev, 21001), writes);
	/* a different value is written */
	CU_ASSERT_EQUAL(sb_submit_setpoint(sb, 0, 1, 3100, &g[1]), 0);
	CU_ASSERT(g[1] == g2 + 1);
	CU_ASSERT_FATAL(sbt_wait_charger(sb, 0, sbt_gen_done, g, 2000, &rd));
	CU_ASSERT_EQUAL(devsrv_writes(srv, dev, 21001), writes + 1);

	sb_stop(sb);
	devsrv_free(srv);
}

/* The threads of this process (entries of /proc/self/task). */
static int
thread_count(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Many TCP links share the fixed pool of workers; chargers that stop
 * answering each hold one worker for their timeouts while the others keep
 * every live charger at its poll rate. */
static void
test_many_links(void)
{
	enum { N = 4 * SB_TCP_WORKERS, DEAD = SB_TCP_WORKERS / 2 };
	struct sb_charger_conf ch[N];
	char names[N][16];
	int dev[N];
	uint64_t before[N];
	struct sb_conf c;
	struct sb *sb;
	struct sb_charger_reading rd;
	uint64_t one = 1;
	char *cause = NULL;

	srv = devsrv_new();
	for (int i = 0; i < N; i++) {
		dev[i] = devsrv_add_tcp(srv);
		CU_ASSERT_FATAL(dev[i] >= 0);
		snprintf(names[i], sizeof names[i], "c%d", i);
		ch[i] = tcp_charger(names[i], SB_MODEL_AC_WALLBOX, dev[i], 1);
	}
	fast_conf(&c);
	c.response_timeout_ms = 500;
	c.chargers = ch;
	c.n_chargers = N;
	int threads = thread_count();
	CU_ASSERT_FATAL(threads > 0);
	CU_ASSERT_EQUAL_FATAL(sb_start(&c, &sb, &cause), 0);
	/* N links, SB_TCP_WORKERS threads (no RTU bus, no listener) */
	CU_ASSERT_EQUAL(thread_count(), threads + SB_TCP_WORKERS);
	for (int i = 0; i < N; i++)
		CU_ASSERT_FATAL(sbt_wait_charger(sb, (size_t)i, sbt_polled_n,
		    &one, 3000, &rd));

	/* the first DEAD fall silent: each costs 3 timeouts of 500 ms before
	 * it is offline; the live ones poll every 100 ms meanwhile */
	for (int i = 0; i < N; i++) {
		sb_charger_snapshot(sb, (size_t)i, &rd);
		before[i] = rd.polls;
	}
	for (int i = 0; i < DEAD; i++)
		devsrv_mute(srv, dev[i], true);
	for (int i = 0; i < DEAD; i++) {
		CU_ASSERT_FATAL(sbt_wait_charger(sb, (size_t)i, sbt_offline,
		    NULL, 6000, &rd));
		CU_ASSERT(rd.failures >= 3);
	}
	/* at least 1.5 s passed: some 15 polls each; with the live ones
	 * queued behind the silent ones, there would be at most 3 */
	for (int i = DEAD; i < N; i++) {
		sb_charger_snapshot(sb, (size_t)i, &rd);
		CU_ASSERT(rd.online);
		CU_ASSERT(rd.polls >= before[i] + 6);
	}
	CU_ASSERT_EQUAL(thread_count(), threads + SB_TCP_WORKERS);

	sb_stop(sb);
	CU_ASSERT_EQUAL(thread_count(), threads);
	devsrv_free(srv);
}

/* Predicate: identified, online and polled. */
static bool
identified_online(const struct sb_charger_reading *r, const void *arg)
{
	(void)arg;
	return r->online && r->identified && r->polls > 0;
}

/* Charger as client: it dials the gateway's listener and is recognised by
 * the serial number it reports at 10100. */
static void
test_charger_as_client(void)
{
	struct sb_charger_conf ch[2];
	int dev[2];
	struct sb_conf c;
	struct sb *sb;
	struct sb_charger_reading rd;
	uint64_t g[2];
	char *cause = NULL;
	struct sb_words w = { true, false };

	srv = devsrv_new();
	dev[0] = devsrv_add_dialer(srv);
	dev[1] = devsrv_add_dialer(srv);
	fill_model(dev[0], SB_MODEL_AC_ULTRA, 2, w, "AU-DIAL-0002");
	fill_model(dev[1], SB_MODEL_AC_ULTRA, 2, w, "AU-DIAL-0001");
	memset(ch, 0, sizeof ch);
	for (int i = 0; i < 2; i++) {
		ch[i].name = i == 0 ? "bay-a" : "bay-b";
		ch[i].model = SB_MODEL_AC_ULTRA;
		ch[i].link = SB_LINK_TCP_LISTEN;
		ch[i].unit_id = 1;
		ch[i].connectors = 2;
	}
	ch[0].serial = "AU-DIAL-0001";
	ch[1].serial = "AU-DIAL-0002";
	fast_conf(&c);
	c.listen = "127.0.0.1:0";
	c.chargers = ch;
	c.n_chargers = 2;
	CU_ASSERT_EQUAL_FATAL(sb_start(&c, &sb, &cause), 0);
	CU_ASSERT_FATAL(sb_listen_port(sb) > 0);

	sb_charger_snapshot(sb, 0, &rd);
	CU_ASSERT(!rd.online);
	/* dev[0] reports ...0002: it is bay-b (index 1), whatever the order */
	CU_ASSERT_EQUAL(devsrv_dial(srv, dev[0], "127.0.0.1", sb_listen_port(sb)), 0);
	CU_ASSERT_EQUAL(devsrv_dial(srv, dev[1], "127.0.0.1", sb_listen_port(sb)), 0);
	CU_ASSERT_FATAL(sbt_wait_charger(sb, 1, identified_online, NULL, 3000,
	    &rd));
	CU_ASSERT_STRING_EQUAL(rd.serial, "AU-DIAL-0002");
	CU_ASSERT_FATAL(sbt_wait_charger(sb, 0, identified_online, NULL, 3000,
	    &rd));
	CU_ASSERT_STRING_EQUAL(rd.serial, "AU-DIAL-0001");
	/* 11005 = 110057 W, read over the charger's own connection */
	CU_ASSERT(NEAR(rd.conn[0].power_w, 110057));

	g[0] = 2;
	CU_ASSERT_EQUAL(sb_submit_setpoint(sb, 1, 2, 11000, &g[1]), 0);
	CU_ASSERT_FATAL(sbt_wait_charger(sb, 1, sbt_gen_done, g, 2000, &rd));
	CU_ASSERT_EQUAL(reg_at(dev[0], 22001), 11000);
	CU_ASSERT_EQUAL(reg_at(dev[1], 22001), 0);

	/* the charger reboots and dials again: served again */
	devsrv_drop_clients(srv, dev[1]);
	CU_ASSERT_FATAL(sbt_wait_charger(sb, 0, sbt_offline, NULL, 3000, &rd));
	CU_ASSERT_PTR_NOT_NULL(strstr(rd.error, "hung up"));
	CU_ASSERT_EQUAL(devsrv_dial(srv, dev[1], "127.0.0.1", sb_listen_port(sb)), 0);
	CU_ASSERT_FATAL(sbt_wait_charger(sb, 0, identified_online, NULL, 3000,
	    &rd));

	sb_stop(sb);
	devsrv_free(srv);
}

/* Stores a float32 (high word first) in a test device. */
static void
set_f32(int dev, unsigned addr, double v)
{
	uint16_t r[2];
	sb_encode_f32(v, true, r);
	devsrv_set(srv, dev, true, addr, 2, r);
}

/* The meter and a charger on one RTU bus (a pseudo-terminal), two slave
 * ids; the meter's age turns into a fault when it stops answering. */
static void
test_rtu_meter(void)
{
	struct sb_charger_conf ch[1];
	struct sb_conf c;
	struct sb *sb;
	struct sb_meter_reading m;
	struct sb_charger_reading rd;
	uint64_t one = 1;
	int units[2] = { 3, 7 };
	const char *path;
	char *cause = NULL;
	struct sb_words w = { true, false };

	srv = devsrv_new();
	int first = devsrv_add_rtu_bus(srv, units, 2, 0, &path);
	CU_ASSERT_FATAL(first >= 0);
	int meter = first, chg = first + 1;
	/* SDM630: 230.1/231.2/229.8 V, 10/11/12 A, 2300/2540/2760 W, total
	 * 7600 W, 50 Hz, 1234.5 kWh imported, 67.25 kWh exported */
	set_f32(meter, 0x00, 230.1); set_f32(meter, 0x02, 231.2);
	set_f32(meter, 0x04, 229.8);
	set_f32(meter, 0x06, 10); set_f32(meter, 0x08, 11);
	set_f32(meter, 0x0A, 12);
	set_f32(meter, 0x0C, 2300); set_f32(meter, 0x0E, 2540);
	set_f32(meter, 0x10, 2760);
	set_f32(meter, 0x34, 7600);
	set_f32(meter, 0x46, 50);
	set_f32(meter, 0x48, 1234.5);
	set_f32(meter, 0x4A, 67.25);
	fill_model(chg, SB_MODEL_SINGLE, 1, w, "RTU-SINGLE");

	memset(ch, 0, sizeof ch);
	ch[0].name = "rtu-single";
	ch[0].model = SB_MODEL_SINGLE;
	ch[0].link = SB_LINK_RTU;
	ch[0].unit_id = 7;
	ch[0].connectors = 1;
	ch[0].rtu = (struct sb_serial_conf){ path, 9600, 'E', 1 };
	fast_conf(&c);
	c.chargers = ch;
	c.n_chargers = 1;
	c.meter.type = SB_METER_SDM630;
	c.meter.link = SB_LINK_RTU;
	c.meter.unit_id = 3;
	c.meter.rtu = (struct sb_serial_conf){ path, 9600, 'E', 1 };
	c.meter.poll_interval_ms = 200;
	c.meter.max_age_s = 1;
	CU_ASSERT_EQUAL_FATAL(sb_start(&c, &sb, &cause), 0);

	CU_ASSERT_FATAL(sbt_wait_charger(sb, 0, sbt_polled_n, &one, 3000, &rd));
	CU_ASSERT_STRING_EQUAL(rd.serial, "RTU-SINGLE");
	CU_ASSERT(NEAR(rd.conn[0].current_a[0], 1101.57)); /* 11015*10+7 cA */

	int64_t end = mono_now_ms() + 3000;
	do {
		struct pollfd p = { sb_fd(sb), POLLIN, 0 };
		poll(&p, 1, 50);
		sb_meter_snapshot(sb, mono_now_ms(), &m);
	} while (m.polls == 0 && mono_now_ms() < end);
	CU_ASSERT_FATAL(m.polls > 0);
	CU_ASSERT(!m.fault);
	CU_ASSERT(fabs(m.voltage_v[0] - 230.1) < 1e-4);
	CU_ASSERT(fabs(m.voltage_v[2] - 229.8) < 1e-4);
	CU_ASSERT(NEAR(m.current_a[1], 11));
	CU_ASSERT(NEAR(m.power_w[2], 2760));
	CU_ASSERT(NEAR(m.total_power_w, 7600));
	CU_ASSERT(NEAR(m.frequency_hz, 50));
	CU_ASSERT(NEAR(m.import_kwh, 1234.5));
	CU_ASSERT(NEAR(m.export_kwh, 67.25));
	/* one request per poll (76 registers), function 04 */
	CU_ASSERT(devsrv_requests_fc(srv, meter, 4) >= 1);
	CU_ASSERT_EQUAL(devsrv_requests_fc(srv, meter, 3), 0);

	/* the same reading judged 1.5 s later is too old: a fault */
	sb_meter_snapshot(sb, m.updated_ms + 1500, &m);
	CU_ASSERT(m.fault);
	CU_ASSERT_EQUAL(m.why, SB_FAULT_STALE);

	/* the meter stops answering: a fault within max-age + timeouts */
	devsrv_mute(srv, meter, true);
	end = mono_now_ms() + 4000;
	do {
		struct pollfd p = { sb_fd(sb), POLLIN, 0 };
		poll(&p, 1, 50);
		sb_meter_snapshot(sb, mono_now_ms(), &m);
	} while (!m.fault && mono_now_ms() < end);
	CU_ASSERT(m.fault);
	CU_ASSERT_EQUAL(m.why, SB_FAULT_IO);
	/* the charger on the same bus keeps being polled */
	sb_charger_snapshot(sb, 0, &rd);
	uint64_t want = rd.polls + 2;
	CU_ASSERT(sbt_wait_charger(sb, 0, sbt_polled_n, &want, 3000, &rd));

	sb_stop(sb);
	devsrv_free(srv);
}

/* Setpoints are written again every comm-timeout/3 even when unchanged
 * (comm timeout 3 s: every second), so a charger only falls back to its
 * offline limit when the gateway is really gone. */
static void
test_refresh(void)
{
	struct sb_charger_conf ch[1];
	struct sb_conf c;
	struct sb *sb;
	struct sb_charger_reading rd;
	uint64_t one = 1, g[2];
	char *cause = NULL;

	srv = devsrv_new();
	int dev = devsrv_add_tcp(srv);
	/* the Ultra: its table lists register 2 */
	ch[0] = tcp_charger("refresh", SB_MODEL_AC_ULTRA, dev, 1);
	fast_conf(&c);
	c.comm_timeout_s = 3;
	c.poll_interval_ms = 60000;
	c.chargers = ch;
	c.n_chargers = 1;
	CU_ASSERT_EQUAL_FATAL(sb_start(&c, &sb, &cause), 0);
	CU_ASSERT_FATAL(sbt_wait_charger(sb, 0, sbt_polled_n, &one, 3000, &rd));
	CU_ASSERT_EQUAL(reg_at(dev, 2), 3);
	g[0] = 1;
	CU_ASSERT_EQUAL(sb_submit_setpoint(sb, 0, 1, 2000, &g[1]), 0);
	CU_ASSERT_FATAL(sbt_wait_charger(sb, 0, sbt_gen_done, g, 2000, &rd));
	devsrv_reset_counts(srv, dev);
	int64_t end = mono_now_ms() + 4000;
	/* two more writes of the same value, at ~1 s and ~2 s */
	while (devsrv_writes(srv, dev, 21001) < 2 && mono_now_ms() < end) {
		struct pollfd p = { sb_fd(sb), POLLIN, 0 };
		poll(&p, 1, 10);
		sb_take_chargers(sb, &rd, 1);
	}
	/* exactly two: rewritten on a schedule, not in a loop */
	CU_ASSERT_EQUAL(devsrv_writes(srv, dev, 21001), 2);
	CU_ASSERT_EQUAL(reg_at(dev, 21001), 2000);
	/* and no poll in between: the refresh is not tied to polling */
	CU_ASSERT(devsrv_requests_fc(srv, dev, 4) == 0);

	sb_stop(sb);
	devsrv_free(srv);
}

/* A single-phase meter (SDM230) over TCP: everything on L1, total =
 * the one active power. */
static void
test_tcp_meter(void)
{
	struct sb_conf c;
	struct sb *sb;
	struct sb_meter_reading m;
	char *cause = NULL;

	srv = devsrv_new();
	int dev = devsrv_add_tcp(srv);
	set_f32(dev, 0x00, 229.5);
	set_f32(dev, 0x06, 13.25);
	set_f32(dev, 0x0C, -2875.5); /* exporting */
	set_f32(dev, 0x46, 49.98);
	set_f32(dev, 0x48, 10.5);
	set_f32(dev, 0x4A, 3.75);
	fast_conf(&c);
	c.meter.type = SB_METER_SDM230;
	c.meter.link = SB_LINK_TCP;
	c.meter.host = "127.0.0.1";
	c.meter.port = devsrv_port(srv, dev);
	c.meter.poll_interval_ms = 100;
	CU_ASSERT_EQUAL_FATAL(sb_start(&c, &sb, &cause), 0);
	int64_t end = mono_now_ms() + 3000;
	do {
		struct pollfd p = { sb_fd(sb), POLLIN, 0 };
		poll(&p, 1, 50);
		sb_meter_snapshot(sb, mono_now_ms(), &m);
	} while (m.polls == 0 && mono_now_ms() < end);
	CU_ASSERT_FATAL(m.polls > 0);
	CU_ASSERT(m.present && !m.fault);
	CU_ASSERT(fabs(m.voltage_v[0] - 229.5) < 1e-4);
	CU_ASSERT(isnan(m.voltage_v[1]));
	CU_ASSERT(fabs(m.current_a[0] - 13.25) < 1e-4);
	CU_ASSERT(fabs(m.total_power_w - -2875.5) < 1e-3);
	CU_ASSERT(fabs(m.frequency_hz - 49.98) < 1e-4);
	CU_ASSERT(fabs(m.export_kwh - 3.75) < 1e-6);
	sb_stop(sb);
	devsrv_free(srv);
}

/* Predicate: the last fault is an identity mismatch. */
static bool
identity_fault(const struct sb_charger_reading *r, const void *arg)
{
	(void)arg;
	return r->fault == SB_FAULT_IDENTITY;
}

/* A charger that is not the one configured (serial number, connector
 * count) is reported and never used; it is asked again once per poll
 * interval, not in a tight loop. */
static void
test_identity_mismatch(void)
{
	struct sb_charger_conf ch[2];
	struct sb_conf c;
	struct sb *sb;
	struct sb_charger_reading rd;
	char *cause = NULL;
	struct sb_words w = { true, false };

	srv = devsrv_new();
	int d0 = devsrv_add_tcp(srv), d1 = devsrv_add_tcp(srv);
	fill_model(d0, SB_MODEL_AC_WALLBOX, 1, w, "AW-REAL");
	/* pattern(): 10116 holds 2 connectors; configure 3 on an Ultra...
	 * the Ultra has at most 2, so give the device 1 instead */
	fill_model(d1, SB_MODEL_AC_ULTRA, 2, w, "AU-1");
	uint16_t one_conn = 1;
	devsrv_set(srv, d1, true, 10116, 1, &one_conn);
	ch[0] = tcp_charger("wrong-serial", SB_MODEL_AC_WALLBOX, d0, 1);
	ch[0].serial = "AW-EXPECTED";
	ch[1] = tcp_charger("too-few", SB_MODEL_AC_ULTRA, d1, 2);
	fast_conf(&c);
	c.chargers = ch;
	c.n_chargers = 2;
	CU_ASSERT_EQUAL_FATAL(sb_start(&c, &sb, &cause), 0);
	CU_ASSERT_FATAL(sbt_wait_charger(sb, 0, identity_fault, NULL, 2000,
	    &rd));
	CU_ASSERT(!rd.online);
	CU_ASSERT_PTR_NOT_NULL(strstr(rd.error, "\"AW-REAL\" is not the "
	    "configured \"AW-EXPECTED\""));
	CU_ASSERT_FATAL(sbt_wait_charger(sb, 1, identity_fault, NULL, 2000,
	    &rd));
	CU_ASSERT_PTR_NOT_NULL(strstr(rd.error, "reports 1 connector(s), 2 "
	    "configured"));
	/* no limit written to a charger that is not the right one */
	CU_ASSERT_EQUAL(devsrv_writes(srv, d0, 0), 0);
	/* 600 ms at one attempt per 100 ms poll interval, 2 reads each:
	 * about 12 requests; a tight loop would make thousands */
	devsrv_reset_counts(srv, d0);
	int64_t end = mono_now_ms() + 600;
	while (mono_now_ms() < end) {
		struct pollfd p = { sb_fd(sb), POLLIN, 0 };
		poll(&p, 1, 50);
		sb_take_chargers(sb, &rd, 1);
	}
	CU_ASSERT(devsrv_requests(srv, d0) <= 20);
	CU_ASSERT(devsrv_requests(srv, d0) >= 4);
	sb_stop(sb);
	devsrv_free(srv);
}

static const struct cu_test offline_tests[] = {
	{ "register tables", test_tables },
	{ "decoding and encoding", test_decode },
	{ "request planning", test_plan },
	{ "every table fits a plan", test_plan_fits },
	{ "description errors", test_conf_errors },
	{ NULL, NULL },
};

static const struct cu_test live_tests[] = {
	{ "every register of every model", test_every_model },
	{ "setpoints and offline limits", test_setpoints },
	{ "commands", test_commands },
	{ "04->03 fallback, read-back, holes", test_fallbacks },
	{ "refused registers asked again", test_reprobe },
	{ "offline, back, isolation", test_offline_and_isolation },
	{ "many TCP links, a fixed pool of workers", test_many_links },
	{ "slow values at a lower rate, no write without a change",
	    test_slow_values },
	{ "charger as client", test_charger_as_client },
	{ "RTU meter and charger", test_rtu_meter },
	{ "setpoints refreshed every comm-timeout/3", test_refresh },
	{ "SDM230 meter over TCP", test_tcp_meter },
	{ "identity mismatch", test_identity_mismatch },
	{ NULL, NULL },
};

static const struct cu_suite suites[] = {
	{ "southbound tables", NULL, NULL, offline_tests },
	{ "southbound on loopback", NULL, NULL, live_tests },
	{ NULL, NULL, NULL, NULL },
};

int
main(void)
{
	return cu_run(suites);
}
