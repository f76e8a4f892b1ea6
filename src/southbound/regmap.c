/* Register maps as data: one table per charger model and meter type, the
 * coding of values in registers, and the planning of grouped reads. */
#include "southbound/sb-private.h"
#include "common/util.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Is `what` one of the slowly changing values read every SB_SLOW_EVERY-th
 * poll?  (The DC session energy is not: the energy total is built from
 * its drops.) */
bool
sb_what_is_slow(enum sb_what what)
{
	switch (what) {
	case SB_W_C_ENERGY:
	case SB_W_C_TYPE:
	case SB_W_C_VOLTAGE_L1:
	case SB_W_C_VOLTAGE_L2:
	case SB_W_C_VOLTAGE_L3:
	case SB_W_M_VOLTAGE_L1:
	case SB_W_M_VOLTAGE_L2:
	case SB_W_M_VOLTAGE_L3:
	case SB_W_M_FREQUENCY:
	case SB_W_M_IMPORT:
	case SB_W_M_EXPORT:
		return true;
	default:
		return false;
	}
}

/* Shorthands for the tables: R = read-only polled row, I = identity row. */
#define ROW(w, b, s, n, t, sc, u, acc, fc, ph, pc, opt) \
	{ (w), (b), (s), (n), (t), (sc), (u), (acc), (fc), (ph), (pc), (opt) }
#define I_(w, b, n, t, sc, u) \
	ROW(w, b, 0, n, t, sc, u, SB_ACC_RO, 4, SB_PH_IDENTITY, false, false)
#define R_(w, b, n, t, sc, u) \
	ROW(w, b, 0, n, t, sc, u, SB_ACC_RO, 4, SB_PH_POLL, false, false)
#define RC(w, b, s, n, t, sc, u) \
	ROW(w, b, s, n, t, sc, u, SB_ACC_RO, 4, SB_PH_POLL, true, false)
#define LC(w, b, s, sc, u) \
	ROW(w, b, s, 2, SB_T_U32, sc, u, SB_ACC_RW, 3, SB_PH_NONE, true, false)
#define WC(w, b, s) \
	ROW(w, b, s, 1, SB_T_U16, 1, "", SB_ACC_WO, 0, SB_PH_NONE, true, false)
#define W_(w, b, n, t) \
	ROW(w, b, 0, n, t, 1, "", SB_ACC_WO, 0, SB_PH_NONE, false, false)
/* Register 0 (limit control mode) and 2 (comm timeout), for the models
 * whose table lists them.  A device that refuses one with an exception
 * goes on without it (driver.c). */
#define CONTROL_MODE_ROW \
	ROW(SB_W_CONTROL_MODE, 0, 0, 1, SB_T_U16, 1, "", SB_ACC_RW, 3, \
	    SB_PH_NONE, false, true)
#define COMM_TIMEOUT_ROW \
	ROW(SB_W_COMM_TIMEOUT, 2, 0, 1, SB_T_U16, 1, "s", SB_ACC_RW, 3, \
	    SB_PH_NONE, false, true)

/* Rows every AC table of the manual (§5.6) lists: identity, charger
 * status and power, and per connector (y = connector) the per-phase
 * power 1y027.., the cumulative energy 1y035 (UINT64, 0.1 Wh), the
 * connector type 1y145, the IdToken 1y147 and the limits 2y000... */
#define AC_COMMON_ROWS \
	CONTROL_MODE_ROW, \
	I_(SB_W_PRODUCT_TYPE, 100, 30, SB_T_ASCII, 1, ""), \
	I_(SB_W_FIRMWARE, 130, 20, SB_T_ASCII, 1, ""), \
	I_(SB_W_SERIAL, 10100, 16, SB_T_ASCII, 1, ""), \
	I_(SB_W_N_CONNECTORS, 10116, 1, SB_T_U16, 1, ""), \
	R_(SB_W_STATUS, 10000, 1, SB_T_U16, 1, ""), \
	R_(SB_W_POWER, 10005, 2, SB_T_U32, 1, "W"), \
	RC(SB_W_C_POWER_L1, 10027, 1000, 2, SB_T_U32, 1, "W"), \
	RC(SB_W_C_POWER_L2, 10029, 1000, 2, SB_T_U32, 1, "W"), \
	RC(SB_W_C_POWER_L3, 10031, 1000, 2, SB_T_U32, 1, "W"), \
	RC(SB_W_C_ENERGY, 10035, 1000, 4, SB_T_U64, 0.1, "Wh"), \
	RC(SB_W_C_TYPE, 10145, 1000, 1, SB_T_U16, 1, ""), \
	RC(SB_W_C_ID_TOKEN, 10147, 1000, 18, SB_T_ASCII, 1, ""), \
	LC(SB_W_C_POWER_LIMIT, 20000, 1000, 1, "W"), \
	LC(SB_W_C_CURRENT_LIMIT, 20002, 1000, 0.01, "A"), \
	LC(SB_W_C_OFFLINE_POWER, 20004, 1000, 1, "W"), \
	LC(SB_W_C_OFFLINE_CURRENT, 20006, 1000, 0.01, "A")

/* Per-connector voltage and current (Ultra and Single). */
#define AC_CONNECTOR_VI_ROWS \
	RC(SB_W_C_VOLTAGE_L1, 10009, 1000, 2, SB_T_U32, 0.01, "V"), \
	RC(SB_W_C_VOLTAGE_L2, 10011, 1000, 2, SB_T_U32, 0.01, "V"), \
	RC(SB_W_C_VOLTAGE_L3, 10013, 1000, 2, SB_T_U32, 0.01, "V"), \
	RC(SB_W_C_CURRENT_L1, 10015, 1000, 2, SB_T_U32, 0.01, "A"), \
	RC(SB_W_C_CURRENT_L2, 10017, 1000, 2, SB_T_U32, 0.01, "A"), \
	RC(SB_W_C_CURRENT_L3, 10019, 1000, 2, SB_T_U32, 0.01, "A")

/* A connector value the table lists only for the charger as a whole (a
 * one-connector model): read once, stored as connector 1's. */
#define R1(w, b, n, t, sc, u) \
	ROW(w, b, 0, n, t, sc, u, SB_ACC_RO, 4, SB_PH_POLL, false, false)

/* AC Wallbox (one connector): maximum current at 10117; voltage and
 * current only charger-wide (10009.., 10015..), and the session's charging
 * time (10007, one register: UINT16); the connector's power at
 * 11023; its fault codes at 11141 (European) and 11143 (US); start/stop, lock and firmware URL charger-wide at 30000..30002.
 * Its table lists neither register 2, 10119, nor the connector status
 * 11000 and power 11005: the status is derived (driver.c). */
static const struct sb_reg ac_wallbox_regs[] = {
	AC_COMMON_ROWS,
	I_(SB_W_MAX_CURRENT, 10117, 2, SB_T_U32, 0.01, "A"),
	R1(SB_W_C_CHARGE_TIME, 10007, 1, SB_T_U16, 1, "s"),
	R1(SB_W_C_SESSION_ENERGY, 10008, 1, SB_T_U16, 10, "Wh"),
	R1(SB_W_C_VOLTAGE_L1, 10009, 2, SB_T_U32, 0.01, "V"),
	R1(SB_W_C_VOLTAGE_L2, 10011, 2, SB_T_U32, 0.01, "V"),
	R1(SB_W_C_VOLTAGE_L3, 10013, 2, SB_T_U32, 0.01, "V"),
	R1(SB_W_C_CURRENT_L1, 10015, 2, SB_T_U32, 0.01, "A"),
	R1(SB_W_C_CURRENT_L2, 10017, 2, SB_T_U32, 0.01, "A"),
	R1(SB_W_C_CURRENT_L3, 10019, 2, SB_T_U32, 0.01, "A"),
	RC(SB_W_C_POWER, 10023, 1000, 2, SB_T_U32, 1, "W"),
	RC(SB_W_C_FAULT_EU, 10141, 1000, 2, SB_T_U32, 1, ""),
	RC(SB_W_C_FAULT_US, 10143, 1000, 2, SB_T_U32, 1, ""),
	W_(SB_W_C_START_STOP, 30000, 1, SB_T_U16),
	W_(SB_W_C_LOCK, 30001, 1, SB_T_U16),
	W_(SB_W_FIRMWARE_URL, 30002, 128, SB_T_ASCII),
};

/* AC Ultra: up to two connectors, register 2, maximum power at 10119,
 * status and power per connector, start/stop and lock per connector at
 * 3y000 / 3y001. */
static const struct sb_reg ac_ultra_regs[] = {
	AC_COMMON_ROWS,
	AC_CONNECTOR_VI_ROWS,
	COMM_TIMEOUT_ROW,
	I_(SB_W_MAX_POWER, 10119, 2, SB_T_U32, 1, "W"),
	RC(SB_W_C_STATUS, 10000, 1000, 1, SB_T_U16, 1, ""),
	RC(SB_W_C_POWER, 10005, 1000, 2, SB_T_U32, 1, "W"),
	WC(SB_W_C_START_STOP, 30000, 1000),
	WC(SB_W_C_LOCK, 30001, 1000),
};

/* AC Single Charger: one connector, register 2, maximum power at 10119,
 * connector status 11000, phase switching at 21008 (read once per
 * connection: the phases in use; written by SB_CMD_PHASE).  Its table lists no
 * connector power (derived from 10005) and no start/stop or lock. */
static const struct sb_reg single_regs[] = {
	AC_COMMON_ROWS,
	AC_CONNECTOR_VI_ROWS,
	COMM_TIMEOUT_ROW,
	I_(SB_W_MAX_POWER, 10119, 2, SB_T_U32, 1, "W"),
	RC(SB_W_C_STATUS, 10000, 1000, 1, SB_T_U16, 1, ""),
	ROW(SB_W_PHASE_SWITCH, 21008, 0, 1, SB_T_U16, 1, "", SB_ACC_RW, 3,
	    SB_PH_IDENTITY, false, true),
};

/* DC models: offset x = 4 x connector (0 = the charger as a whole).  The
 * DC table lists neither register 0 nor 2: limits are written in the
 * configured unit's registers and the offline limits 1800+x / 1900+x are
 * the only fail-safe. */
static const struct sb_reg dc_regs[] = {
	I_(SB_W_PRODUCT_TYPE, 100, 30, SB_T_ASCII, 1, ""),
	I_(SB_W_FIRMWARE, 130, 20, SB_T_ASCII, 1, ""),
	I_(SB_W_SERIAL, 10100, 16, SB_T_ASCII, 1, ""),
	/* The connector count: 10116 on every DC model but the HiPower,
	 * 150 on the HiPower only; a device answers one of them. */
	I_(SB_W_N_CONNECTORS, 150, 1, SB_T_U16, 1, ""),
	I_(SB_W_N_CONNECTORS, 10116, 1, SB_T_U16, 1, ""),
	I_(SB_W_MAX_POWER, 10119, 2, SB_T_U32, 1, "W"),
	I_(SB_W_MAX_OFFLINE_POWER, 10121, 2, SB_T_U32, 1, "W"),
	R_(SB_W_STATUS, 1000, 1, SB_T_U16, 1, ""),
	R_(SB_W_POWER, 1300, 2, SB_T_U32, 1, "W"),
	RC(SB_W_C_STATUS, 1000, 4, 1, SB_T_U16, 1, ""),
	RC(SB_W_C_VOLTAGE_L1, 1100, 4, 2, SB_T_U32, 0.01, "V"),
	RC(SB_W_C_CURRENT_L1, 1200, 4, 2, SB_T_U32, 0.01, "A"),
	RC(SB_W_C_POWER, 1300, 4, 2, SB_T_U32, 1, "W"),
	RC(SB_W_C_CHARGE_TIME, 1400, 4, 1, SB_T_U16, 1, "s"),
	RC(SB_W_C_SESSION_ENERGY, 1500, 4, 1, SB_T_U16, 10, "Wh"),
	RC(SB_W_C_SOC, 2200, 4, 1, SB_T_U16, 1, "%"),
	/* RFID card number (DC Compact, DC Fast): 18 registers from 2400
	 * for the charger and each of up to 16 connectors, 306 in all:
	 * connector c at 2400 + 18 c.  RW: read with 03. */
	ROW(SB_W_C_ID_TOKEN, 2400, 18, 18, SB_T_ASCII, 1, "", SB_ACC_RW, 3,
	    SB_PH_POLL, true, false),
	LC(SB_W_C_POWER_LIMIT, 1600, 4, 1, "W"),
	LC(SB_W_C_CURRENT_LIMIT, 1700, 4, 0.01, "A"),
	LC(SB_W_C_OFFLINE_POWER, 1800, 4, 1, "W"),
	LC(SB_W_C_OFFLINE_CURRENT, 1900, 4, 0.01, "A"),
};

/* Eastron meters: input registers (04), float32, high word first. */
#define M_(w, b, u) \
	ROW(w, b, 0, 2, SB_T_F32, 1, u, SB_ACC_RO, 4, SB_PH_POLL, false, false)
static const struct sb_reg sdm630_regs[] = {
	M_(SB_W_M_VOLTAGE_L1, 0x0000, "V"),
	M_(SB_W_M_VOLTAGE_L2, 0x0002, "V"),
	M_(SB_W_M_VOLTAGE_L3, 0x0004, "V"),
	M_(SB_W_M_CURRENT_L1, 0x0006, "A"),
	M_(SB_W_M_CURRENT_L2, 0x0008, "A"),
	M_(SB_W_M_CURRENT_L3, 0x000A, "A"),
	M_(SB_W_M_POWER_L1, 0x000C, "W"),
	M_(SB_W_M_POWER_L2, 0x000E, "W"),
	M_(SB_W_M_POWER_L3, 0x0010, "W"),
	M_(SB_W_M_TOTAL_POWER, 0x0034, "W"),
	M_(SB_W_M_FREQUENCY, 0x0046, "Hz"),
	M_(SB_W_M_IMPORT, 0x0048, "kWh"),
	M_(SB_W_M_EXPORT, 0x004A, "kWh"),
};
/* SDM230 / SDM120: the L1 addresses; total power = the one active power. */
static const struct sb_reg sdm1ph_regs[] = {
	M_(SB_W_M_VOLTAGE_L1, 0x0000, "V"),
	M_(SB_W_M_CURRENT_L1, 0x0006, "A"),
	M_(SB_W_M_POWER_L1, 0x000C, "W"),
	M_(SB_W_M_FREQUENCY, 0x0046, "Hz"),
	M_(SB_W_M_IMPORT, 0x0048, "kWh"),
	M_(SB_W_M_EXPORT, 0x004A, "kWh"),
};

#define DESC(n, rows, maxc, gap, h64) \
	{ (n), true, (h64), (maxc), (gap), (rows), ARRAY_SIZE(rows) }

static const struct sb_model_desc models[SB_MODEL_COUNT] = {
	[SB_MODEL_AC_WALLBOX] = DESC("autel-ac-wallbox", ac_wallbox_regs, 1, 8, false),
	/* AC Compact (not in the manual's §5.6): the Wallbox layout. */
	[SB_MODEL_AC_COMPACT] = DESC("autel-ac-compact", ac_wallbox_regs, 1, 8, false),
	[SB_MODEL_AC_ULTRA] = DESC("autel-ac-ultra", ac_ultra_regs, 2, 8, false),
	[SB_MODEL_SINGLE] = DESC("autel-single", single_regs, 1, 8, false),
	[SB_MODEL_DC] = DESC("autel-dc", dc_regs, 8, 8, false),
};

/* An Eastron meter answers one read of up to 40 values (80 registers), so
 * its whole block 0x0000..0x004B is one request. */
static const struct sb_model_desc meters[] = {
	[SB_METER_NONE] = { "none", true, true, 0, 0, NULL, 0 },
	[SB_METER_SDM630] = DESC("sdm630", sdm630_regs, 0, 64, true),
	[SB_METER_SDM230] = DESC("sdm230", sdm1ph_regs, 0, 64, true),
	[SB_METER_SDM120] = DESC("sdm120", sdm1ph_regs, 0, 64, true),
};

static const char *const what_names[SB_W_COUNT] = {
	[SB_W_CONTROL_MODE] = "control-mode",
	[SB_W_COMM_TIMEOUT] = "comm-timeout",
	[SB_W_PRODUCT_TYPE] = "product-type",
	[SB_W_FIRMWARE] = "firmware",
	[SB_W_SERIAL] = "serial",
	[SB_W_N_CONNECTORS] = "connectors",
	[SB_W_MAX_CURRENT] = "max-current",
	[SB_W_MAX_POWER] = "max-power",
	[SB_W_MAX_OFFLINE_POWER] = "max-offline-power",
	[SB_W_STATUS] = "status",
	[SB_W_POWER] = "power",
	[SB_W_C_STATUS] = "c.status",
	[SB_W_C_POWER] = "c.power",
	[SB_W_C_VOLTAGE_L1] = "c.voltage-l1",
	[SB_W_C_VOLTAGE_L2] = "c.voltage-l2",
	[SB_W_C_VOLTAGE_L3] = "c.voltage-l3",
	[SB_W_C_CURRENT_L1] = "c.current-l1",
	[SB_W_C_CURRENT_L2] = "c.current-l2",
	[SB_W_C_CURRENT_L3] = "c.current-l3",
	[SB_W_C_POWER_L1] = "c.power-l1",
	[SB_W_C_POWER_L2] = "c.power-l2",
	[SB_W_C_POWER_L3] = "c.power-l3",
	[SB_W_C_ENERGY] = "c.energy",
	[SB_W_C_SESSION_ENERGY] = "c.session-energy",
	[SB_W_C_CHARGE_TIME] = "c.charge-time",
	[SB_W_C_TYPE] = "c.type",
	[SB_W_C_ID_TOKEN] = "c.id-token",
	[SB_W_C_SOC] = "c.soc",
	[SB_W_C_FAULT_EU] = "c.fault-eu",
	[SB_W_C_FAULT_US] = "c.fault-us",
	[SB_W_C_POWER_LIMIT] = "c.power-limit",
	[SB_W_C_CURRENT_LIMIT] = "c.current-limit",
	[SB_W_C_OFFLINE_POWER] = "c.offline-power",
	[SB_W_C_OFFLINE_CURRENT] = "c.offline-current",
	[SB_W_C_START_STOP] = "c.start-stop",
	[SB_W_C_LOCK] = "c.lock",
	[SB_W_PHASE_SWITCH] = "phase-switch",
	[SB_W_FIRMWARE_URL] = "firmware-url",
	[SB_W_M_VOLTAGE_L1] = "m.voltage-l1",
	[SB_W_M_VOLTAGE_L2] = "m.voltage-l2",
	[SB_W_M_VOLTAGE_L3] = "m.voltage-l3",
	[SB_W_M_CURRENT_L1] = "m.current-l1",
	[SB_W_M_CURRENT_L2] = "m.current-l2",
	[SB_W_M_CURRENT_L3] = "m.current-l3",
	[SB_W_M_POWER_L1] = "m.power-l1",
	[SB_W_M_POWER_L2] = "m.power-l2",
	[SB_W_M_POWER_L3] = "m.power-l3",
	[SB_W_M_TOTAL_POWER] = "m.total-power",
	[SB_W_M_FREQUENCY] = "m.frequency",
	[SB_W_M_IMPORT] = "m.import",
	[SB_W_M_EXPORT] = "m.export",
};

/* Returns the table of a charger model, or NULL.  Static storage. */
const struct sb_model_desc *
sb_model_desc(enum sb_model model)
{
	if ((unsigned)model >= SB_MODEL_COUNT)
		return NULL;
	return &models[model];
}

/* Returns the table of a meter type, or NULL.  Static storage. */
const struct sb_model_desc *
sb_meter_desc(enum sb_meter_type type)
{
	if (type == SB_METER_NONE || (unsigned)type >= ARRAY_SIZE(meters))
		return NULL;
	return &meters[type];
}

/* Parses a model name; 0 or -1. */
int
sb_model_parse(const char *name, enum sb_model *model)
{
	for (int i = 0; i < SB_MODEL_COUNT; i++)
		if (strcmp(name, models[i].name) == 0) {
			*model = (enum sb_model)i;
			return 0;
		}
	return -1;
}

/* Returns a model's configuration name.  Static storage. */
const char *
sb_model_name(enum sb_model model)
{
	const struct sb_model_desc *m = sb_model_desc(model);
	return m != NULL ? m->name : "?";
}

/* Returns how many connectors a model's table addresses (0: unknown). */
int
sb_model_max_connectors(enum sb_model model)
{
	const struct sb_model_desc *m = sb_model_desc(model);
	return m != NULL ? m->max_connectors : 0;
}

/* Returns the row for `what`, or NULL.  Borrowed from the table. */
const struct sb_reg *
sb_reg_find(const struct sb_model_desc *m, enum sb_what what)
{
	for (size_t i = 0; i < m->n_regs; i++)
		if (m->regs[i].what == what)
			return &m->regs[i];
	return NULL;
}

/* Returns a row's address for a connector. */
unsigned
sb_reg_addr(const struct sb_reg *r, int connector)
{
	if (!r->per_connector)
		return r->base;
	return r->base + (unsigned)r->stride * (unsigned)connector;
}

/* Returns the short name of a `what`.  Static storage. */
const char *
sb_what_name(enum sb_what what)
{
	if ((unsigned)what >= SB_W_COUNT || what_names[what] == NULL)
		return "?";
	return what_names[what];
}

/* True for a value that belongs to a connector ("c." rows). */
bool
sb_what_is_connector(enum sb_what what)
{
	return what >= SB_W_C_STATUS && what <= SB_W_C_LOCK;
}

/* Decides the word order of a device from its model and override. */
struct sb_words
sb_words_for(const struct sb_model_desc *m, enum sb_word_order override)
{
	struct sb_words w = { m->u32_high_first, m->u64_high_half_first };

	if (override == SB_WORDS_HIGH_FIRST)
		w.u32_high_first = true;
	else if (override == SB_WORDS_LOW_FIRST)
		w.u32_high_first = false;
	return w;
}

/* Decodes U16/U32/U64 registers into an integer. */
uint64_t
sb_decode_uint(const uint16_t *regs, enum sb_reg_type type,
    struct sb_words words)
{
	uint64_t first, second;

	switch (type) {
	case SB_T_U16:
		return regs[0];
	case SB_T_U32:
		return words.u32_high_first ?
		    ((uint64_t)regs[0] << 16 | regs[1]) :
		    ((uint64_t)regs[1] << 16 | regs[0]);
	case SB_T_U64:
		first = sb_decode_uint(regs, SB_T_U32, words);
		second = sb_decode_uint(regs + 2, SB_T_U32, words);
		return words.u64_high_half_first ? (first << 32 | second) :
		    (second << 32 | first);
	case SB_T_F32:
	case SB_T_ASCII:
	default:
		return 0;
	}
}

/* Decodes an IEEE-754 float32 held in two registers. */
double
sb_decode_f32(const uint16_t *regs, bool high_first)
{
	uint32_t bits;
	float f;

	bits = high_first ? ((uint32_t)regs[0] << 16 | regs[1]) :
	    ((uint32_t)regs[1] << 16 | regs[0]);
	memcpy(&f, &bits, sizeof f);
	return f;
}

/* Decodes a numeric row and scales it into the row's unit. */
double
sb_decode_value(const struct sb_reg *r, const uint16_t *regs,
    struct sb_words words)
{
	if (r->type == SB_T_F32)
		return sb_decode_f32(regs, words.u32_high_first) * r->scale;
	if (r->type == SB_T_ASCII)
		return NAN;
	return (double)sb_decode_uint(regs, r->type, words) * r->scale;
}

/* Copies ASCII registers into a NUL-terminated, printable string. */
void
sb_decode_ascii(const uint16_t *regs, unsigned count, char *out, size_t len)
{
	size_t n = 0;

	if (len == 0)
		return;
	for (unsigned i = 0; i < count && n + 1 < len; i++) {
		unsigned char c[2] = { (unsigned char)(regs[i] >> 8),
		    (unsigned char)(regs[i] & 0xff) };
		for (int k = 0; k < 2 && n + 1 < len; k++) {
			if (c[k] == 0)
				goto done;
			out[n++] = (c[k] >= 0x20 && c[k] < 0x7f) ? (char)c[k] :
			    '?';
		}
	}
done:
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
}

/* Encodes an integer into U16/U32/U64 registers. */
void
sb_encode_uint(uint64_t v, enum sb_reg_type type, struct sb_words words,
    uint16_t *regs)
{
	uint32_t hi = (uint32_t)(v >> 32), lo = (uint32_t)v;

	switch (type) {
	case SB_T_U16:
		regs[0] = (uint16_t)v;
		return;
	case SB_T_U32:
		regs[words.u32_high_first ? 0 : 1] = (uint16_t)(v >> 16);
		regs[words.u32_high_first ? 1 : 0] = (uint16_t)v;
		return;
	case SB_T_U64:
		sb_encode_uint(words.u64_high_half_first ? hi : lo, SB_T_U32,
		    words, regs);
		sb_encode_uint(words.u64_high_half_first ? lo : hi, SB_T_U32,
		    words, regs + 2);
		return;
	case SB_T_F32:
	case SB_T_ASCII:
	default:
		return;
	}
}

/* Encodes text, two characters per register, NUL-padded. */
int
sb_encode_ascii(const char *text, unsigned count, uint16_t *regs)
{
	size_t len = strlen(text);

	if (len > (size_t)count * 2)
		return -1;
	for (unsigned i = 0; i < count; i++) {
		size_t a = 2 * (size_t)i, b = a + 1;
		unsigned char hi = a < len ? (unsigned char)text[a] : 0;
		unsigned char lo = b < len ? (unsigned char)text[b] : 0;
		regs[i] = (uint16_t)(hi << 8 | lo);
	}
	return 0;
}

/* Encodes a float32 into two registers. */
void
sb_encode_f32(double v, bool high_first, uint16_t *regs)
{
	float f = (float)v;
	uint32_t bits;

	memcpy(&bits, &f, sizeof bits);
	regs[high_first ? 0 : 1] = (uint16_t)(bits >> 16);
	regs[high_first ? 1 : 0] = (uint16_t)bits;
}

/* Converts a limit (W or A) into the raw register value of row r. */
int
sb_limit_to_raw(const struct sb_reg *r, double value, uint64_t *raw)
{
	double v;
	double max = r->type == SB_T_U16 ? 65535.0 : 4294967295.0;

	if (!(value >= 0) || r->scale <= 0)
		return -1;
	v = floor(value / r->scale + 0.5);
	if (v > max)
		return -1;
	*raw = (uint64_t)v;
	return 0;
}

/* Orders plan rows by address (qsort). */
static int
row_cmp(const void *a, const void *b)
{
	const struct sb_row *x = a, *y = b;
	return (int)x->addr - (int)y->addr;
}

/* Plans one phase's reads for a device with n connectors. */
void
sb_plan_reads(const struct sb_model_desc *m, enum sb_phase phase,
    int n_connectors, struct sb_plan *plan)
{
	memset(plan, 0, sizeof *plan);
	for (size_t i = 0; i < m->n_regs; i++) {
		const struct sb_reg *r = &m->regs[i];
		int first = r->per_connector ? 1 : 0;
		int last = r->per_connector ? n_connectors : 0;

		if (r->phase != phase || r->read_fc == 0)
			continue;
		for (int c = first; c <= last && plan->n_rows < SB_MAX_ROWS;
		    c++) {
			struct sb_row *row = &plan->rows[plan->n_rows++];
			row->reg = r;
			/* a connector value listed charger-wide is
			 * connector 1's (one-connector models) */
			row->connector = c == 0 && sb_what_is_connector(r->what) ?
			    1 : c;
			row->addr = (uint16_t)sb_reg_addr(r, c);
		}
	}
	qsort(plan->rows, plan->n_rows, sizeof plan->rows[0], row_cmp);

	for (size_t i = 0; i < plan->n_rows; i++) {
		struct sb_row *row = &plan->rows[i];
		struct sb_block *b = plan->n_blocks > 0 ?
		    &plan->blocks[plan->n_blocks - 1] : NULL;
		unsigned end = row->addr + row->reg->count;

		if (b != NULL && b->fc == row->reg->read_fc &&
		    row->addr <= b->addr + b->count + m->merge_gap &&
		    end - b->addr <= SB_MAX_READ_REGS) {
			if (end > (unsigned)b->addr + b->count)
				b->count = (uint16_t)(end - b->addr);
			b->n_rows++;
			continue;
		}
		if (plan->n_blocks == SB_MAX_BLOCKS)
			break;
		b = &plan->blocks[plan->n_blocks++];
		b->addr = row->addr;
		b->count = row->reg->count;
		b->fc = row->reg->read_fc;
		b->first_row = (uint16_t)i;
		b->n_rows = 1;
	}
}

char *
sb_fault_code_text(const struct sb_connector_reading *c, char *buf,
    size_t len)
{
	buf[0] = '\0';
	if (c->fault_code_eu > 0 || c->fault_code_us > 0)
		snprintf(buf, len, "EU %08" PRIX32 " US %08" PRIX32,
		    (uint32_t)(c->fault_code_eu > 0 ? c->fault_code_eu : 0),
		    (uint32_t)(c->fault_code_us > 0 ? c->fault_code_us : 0));
	return buf;
}
