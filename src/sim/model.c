/* The simulated chargers' register maps (one table per model, written from
 * the vendor manual independently of src/southbound/), the register reads
 * and writes, and the grid meter's registers.  The physics of the site is
 * in physics.c. */
#include "sim/sim-private.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

/* What a register field shows. */
enum what {
	W_MODE, W_LINK_TYPE, W_COMM_TIMEOUT, W_SLAVE_ID, W_SLAVE_CONFIRM,
	W_PRODUCT, W_FIRMWARE, W_SERIAL, W_NCONN, W_MAX_CURRENT, W_MAX_POWER,
	W_MAX_OFF_POWER, W_STATUS, W_POWER, W_TIME, W_SESSION_E100,
	W_SESSION_WH, W_VOLT, W_CURR, W_PPOW, W_ENERGY64, W_CONN_TYPE,
	W_IDTOKEN, W_FAULT_CODE, W_DC_VOLT, W_DC_CURR, W_SOC,
	W_LIM_P, W_LIM_I, W_OFF_P, W_OFF_I, W_PHASE_SWITCH,
	W_START_STOP, W_LOCK, W_FW_URL,
};

/* A row of a model table: base address, per-connector stride (0 = the
 * charger only; connectors 1..n add stride x connector), size, type.
 * `assumed` rows are not in the model's table of the manual (§5.6): only a
 * lenient charger has them (docs/southbound.md lists each assumption). */
struct row {
	uint16_t addr;
	uint16_t stride;
	bool per_conn;     /* instantiate for connectors 1..n (else once) */
	uint16_t count;
	enum sim_type type;
	enum sim_access access;
	enum what what;
	int phase;
	bool assumed;
};

#define ONCE(a, n, t, acc, w) { a, 0, false, n, t, acc, w, 0, false }
#define ONCEP(a, n, t, acc, w, p) { a, 0, false, n, t, acc, w, p, false }
#define CONN(a, s, n, t, acc, w) { a, s, true, n, t, acc, w, 0, false }
#define CONNP(a, s, n, t, acc, w, p) { a, s, true, n, t, acc, w, p, false }
/* the same, not listed for the model: lenient chargers only */
#define XONCE(a, n, t, acc, w) { a, 0, false, n, t, acc, w, 0, true }
#define XCONN(a, s, n, t, acc, w) { a, s, true, n, t, acc, w, 0, true }
#define XCONNP(a, s, n, t, acc, w, p) { a, s, true, n, t, acc, w, p, true }
#define END { 0, 0, false, 0, SIM_U16, SIM_RO, 0, -1, false }

/* §5.5's generic parameters that no §5.6 table lists (link type, slave
 * id and its confirmation), then product type and firmware (every table). */
#define GENERIC_ROWS \
	XONCE(1, 1, SIM_U16, SIM_RW, W_LINK_TYPE), \
	XONCE(3, 1, SIM_U16, SIM_RW, W_SLAVE_ID), \
	XONCE(4, 1, SIM_U16, SIM_RW, W_SLAVE_CONFIRM), \
	ONCE(100, 30, SIM_ASCII, SIM_RO, W_PRODUCT), \
	ONCE(130, 20, SIM_ASCII, SIM_RO, W_FIRMWARE)

/* Charger-level rows every AC table lists. */
#define AC_CHARGER_ROWS \
	ONCE(0, 1, SIM_U16, SIM_RW, W_MODE), \
	ONCE(10000, 1, SIM_U16, SIM_RO, W_STATUS), \
	ONCE(10005, 2, SIM_U32, SIM_RO, W_POWER), \
	ONCEP(10009, 2, SIM_U32, SIM_RO, W_VOLT, 0), \
	ONCEP(10011, 2, SIM_U32, SIM_RO, W_VOLT, 1), \
	ONCEP(10013, 2, SIM_U32, SIM_RO, W_VOLT, 2), \
	ONCE(10100, 16, SIM_ASCII, SIM_RO, W_SERIAL), \
	ONCE(10116, 1, SIM_U16, SIM_RO, W_NCONN), \
	ONCE(20000, 2, SIM_U32, SIM_RW, W_LIM_P), \
	ONCE(20004, 2, SIM_U32, SIM_RW, W_OFF_P)

/* Connector rows every AC table lists (y = connector): per-phase power,
 * session and cumulative energy, connector type, IdToken, the limits. */
#define AC_CONNECTOR_ROWS \
	CONNP(10027, 1000, 2, SIM_U32, SIM_RO, W_PPOW, 0), \
	CONNP(10029, 1000, 2, SIM_U32, SIM_RO, W_PPOW, 1), \
	CONNP(10031, 1000, 2, SIM_U32, SIM_RO, W_PPOW, 2), \
	CONN(10033, 1000, 2, SIM_U32, SIM_RO, W_SESSION_WH), \
	CONN(10035, 1000, 4, SIM_U64, SIM_RO, W_ENERGY64), \
	CONN(10145, 1000, 1, SIM_U16, SIM_RO, W_CONN_TYPE), \
	CONN(10147, 1000, 18, SIM_ASCII, SIM_RO, W_IDTOKEN), \
	CONN(20000, 1000, 2, SIM_U32, SIM_RW, W_LIM_P), \
	CONN(20002, 1000, 2, SIM_U32, SIM_RW, W_LIM_I), \
	CONN(20004, 1000, 2, SIM_U32, SIM_RW, W_OFF_P), \
	CONN(20006, 1000, 2, SIM_U32, SIM_RW, W_OFF_I)

/* AC Wallbox (and the AC Compact, which the manual does not list):
 * charger-level time, energy, per-phase current and power, 10117, the
 * connector's total power at 11021 / 11023, fault codes, the charger-level
 * current limits and the commands 30000..30002.  It lists neither
 * register 2 nor the connector status and power at 11000 / 11005. */
static const struct row wallbox_rows[] = {
	GENERIC_ROWS,
	AC_CHARGER_ROWS,
	AC_CONNECTOR_ROWS,
	XONCE(2, 1, SIM_U16, SIM_RW, W_COMM_TIMEOUT),
	ONCE(10007, 1, SIM_U16, SIM_RO, W_TIME),
	ONCE(10008, 1, SIM_U16, SIM_RO, W_SESSION_E100),
	ONCEP(10015, 2, SIM_U32, SIM_RO, W_CURR, 0),
	ONCEP(10017, 2, SIM_U32, SIM_RO, W_CURR, 1),
	ONCEP(10019, 2, SIM_U32, SIM_RO, W_CURR, 2),
	ONCEP(10021, 2, SIM_U32, SIM_RO, W_PPOW, 0),
	ONCEP(10023, 2, SIM_U32, SIM_RO, W_PPOW, 1),
	ONCEP(10025, 2, SIM_U32, SIM_RO, W_PPOW, 2),
	ONCE(10117, 2, SIM_U32, SIM_RO, W_MAX_CURRENT),
	XONCE(10119, 2, SIM_U32, SIM_RO, W_MAX_POWER),
	XCONN(10000, 1000, 1, SIM_U16, SIM_RO, W_STATUS),
	XCONN(10005, 1000, 2, SIM_U32, SIM_RO, W_POWER),
	XCONN(10007, 1000, 1, SIM_U16, SIM_RO, W_TIME),
	XCONN(10008, 1000, 1, SIM_U16, SIM_RO, W_SESSION_E100),
	XCONNP(10009, 1000, 2, SIM_U32, SIM_RO, W_VOLT, 0),
	XCONNP(10011, 1000, 2, SIM_U32, SIM_RO, W_VOLT, 1),
	XCONNP(10013, 1000, 2, SIM_U32, SIM_RO, W_VOLT, 2),
	XCONNP(10015, 1000, 2, SIM_U32, SIM_RO, W_CURR, 0),
	XCONNP(10017, 1000, 2, SIM_U32, SIM_RO, W_CURR, 1),
	CONNP(10019, 1000, 2, SIM_U32, SIM_RO, W_CURR, 2),
	CONN(10021, 1000, 2, SIM_U32, SIM_RO, W_POWER),
	CONN(10023, 1000, 2, SIM_U32, SIM_RO, W_POWER),
	CONN(10141, 1000, 2, SIM_U32, SIM_RO, W_FAULT_CODE),
	CONN(10143, 1000, 2, SIM_U32, SIM_RO, W_FAULT_CODE),
	ONCE(20002, 2, SIM_U32, SIM_RW, W_LIM_I),
	ONCE(20006, 2, SIM_U32, SIM_RW, W_OFF_I),
	ONCE(30000, 1, SIM_U16, SIM_WO, W_START_STOP),
	ONCE(30001, 1, SIM_U16, SIM_WO, W_LOCK),
	ONCE(30002, SIM_FW_URL_REGS, SIM_ASCII, SIM_WO, W_FW_URL),
	END,
};

/* Connector rows the Ultra and the Single list beyond the common ones. */
#define ULTRA_SINGLE_ROWS \
	ONCE(2, 1, SIM_U16, SIM_RW, W_COMM_TIMEOUT), \
	ONCE(10119, 2, SIM_U32, SIM_RO, W_MAX_POWER), \
	CONN(10000, 1000, 1, SIM_U16, SIM_RO, W_STATUS), \
	XCONN(10007, 1000, 1, SIM_U16, SIM_RO, W_TIME), \
	XCONN(10008, 1000, 1, SIM_U16, SIM_RO, W_SESSION_E100), \
	CONNP(10009, 1000, 2, SIM_U32, SIM_RO, W_VOLT, 0), \
	CONNP(10011, 1000, 2, SIM_U32, SIM_RO, W_VOLT, 1), \
	CONNP(10013, 1000, 2, SIM_U32, SIM_RO, W_VOLT, 2), \
	CONNP(10015, 1000, 2, SIM_U32, SIM_RO, W_CURR, 0), \
	CONNP(10017, 1000, 2, SIM_U32, SIM_RO, W_CURR, 1), \
	CONNP(10019, 1000, 2, SIM_U32, SIM_RO, W_CURR, 2), \
	XONCE(20002, 2, SIM_U32, SIM_RW, W_LIM_I), \
	XONCE(20006, 2, SIM_U32, SIM_RW, W_OFF_I)

/* AC Ultra: up to two connectors, connector power at 1y005, commands per
 * connector at 3y000 / 3y001. */
static const struct row ultra_rows[] = {
	GENERIC_ROWS,
	AC_CHARGER_ROWS,
	AC_CONNECTOR_ROWS,
	ULTRA_SINGLE_ROWS,
	CONN(10005, 1000, 2, SIM_U32, SIM_RO, W_POWER),
	CONN(30000, 1000, 1, SIM_U16, SIM_WO, W_START_STOP),
	CONN(30001, 1000, 1, SIM_U16, SIM_WO, W_LOCK),
	END,
};

/* AC Single Charger: phase switching at 21008; the manual lists neither
 * its connector power 11005 nor start/stop and lock at 31000 / 31001. */
static const struct row single_rows[] = {
	GENERIC_ROWS,
	AC_CHARGER_ROWS,
	AC_CONNECTOR_ROWS,
	ULTRA_SINGLE_ROWS,
	XCONN(10005, 1000, 2, SIM_U32, SIM_RO, W_POWER),
	ONCE(21008, 1, SIM_U16, SIM_RW, W_PHASE_SWITCH),
	XCONN(30000, 1000, 1, SIM_U16, SIM_WO, W_START_STOP),
	XCONN(30001, 1000, 1, SIM_U16, SIM_WO, W_LOCK),
	END,
};

/* DC models: x = 4 x connector (0 = the charger as a whole).  The DC table
 * lists neither register 0 nor 2. */
#define DC_ROWS \
	GENERIC_ROWS, \
	XONCE(0, 1, SIM_U16, SIM_RW, W_MODE), \
	XONCE(2, 1, SIM_U16, SIM_RW, W_COMM_TIMEOUT), \
	ONCE(1000, 1, SIM_U16, SIM_RO, W_STATUS), \
	ONCE(1100, 2, SIM_U32, SIM_RO, W_DC_VOLT), \
	ONCE(1200, 2, SIM_U32, SIM_RO, W_DC_CURR), \
	ONCE(1300, 2, SIM_U32, SIM_RO, W_POWER), \
	ONCE(1400, 1, SIM_U16, SIM_RO, W_TIME), \
	ONCE(1500, 1, SIM_U16, SIM_RO, W_SESSION_E100), \
	ONCE(1600, 2, SIM_U32, SIM_RW, W_LIM_P), \
	ONCE(1700, 2, SIM_U32, SIM_RW, W_LIM_I), \
	ONCE(1800, 2, SIM_U32, SIM_RW, W_OFF_P), \
	ONCE(1900, 2, SIM_U32, SIM_RW, W_OFF_I), \
	ONCE(2200, 1, SIM_U16, SIM_RO, W_SOC), \
	CONN(1000, 4, 1, SIM_U16, SIM_RO, W_STATUS), \
	CONN(1100, 4, 2, SIM_U32, SIM_RO, W_DC_VOLT), \
	CONN(1200, 4, 2, SIM_U32, SIM_RO, W_DC_CURR), \
	CONN(1300, 4, 2, SIM_U32, SIM_RO, W_POWER), \
	CONN(1400, 4, 1, SIM_U16, SIM_RO, W_TIME), \
	CONN(1500, 4, 1, SIM_U16, SIM_RO, W_SESSION_E100), \
	CONN(1600, 4, 2, SIM_U32, SIM_RW, W_LIM_P), \
	CONN(1700, 4, 2, SIM_U32, SIM_RW, W_LIM_I), \
	CONN(1800, 4, 2, SIM_U32, SIM_RW, W_OFF_P), \
	CONN(1900, 4, 2, SIM_U32, SIM_RW, W_OFF_I), \
	CONN(2200, 4, 1, SIM_U16, SIM_RO, W_SOC), \
	ONCE(10100, 16, SIM_ASCII, SIM_RO, W_SERIAL)

/* DC Compact (and DC Fast): the connector count at 10116, maxima at
 * 10119 / 10121, the RFID card number at 2400 (RW: 18 registers each for
 * the charger and up to 16 connectors, 306 in all: connector c at
 * 2400 + 18 c); 150 is the HiPower's. */
static const struct row dc_rows[] = {
	DC_ROWS,
	XONCE(150, 1, SIM_U16, SIM_RO, W_NCONN),
	CONN(2400, 18, 18, SIM_ASCII, SIM_RW, W_IDTOKEN),
	ONCE(10116, 1, SIM_U16, SIM_RO, W_NCONN),
	ONCE(10119, 2, SIM_U32, SIM_RO, W_MAX_POWER),
	ONCE(10121, 2, SIM_U32, SIM_RO, W_MAX_OFF_POWER),
	END,
};

/* DC HiPower: the connector count at 150 only; the manual lists neither
 * 10116, 10119, 10121 nor the RFID card number for it. */
static const struct row dc_hipower_rows[] = {
	DC_ROWS,
	ONCE(150, 1, SIM_U16, SIM_RO, W_NCONN),
	XCONN(2400, 18, 18, SIM_ASCII, SIM_RW, W_IDTOKEN),
	XONCE(10116, 1, SIM_U16, SIM_RO, W_NCONN),
	XONCE(10119, 2, SIM_U32, SIM_RO, W_MAX_POWER),
	XONCE(10121, 2, SIM_U32, SIM_RO, W_MAX_OFF_POWER),
	END,
};

static const struct sim_model_info models[] = {
	[SIM_MODEL_AC_WALLBOX] = { "autel-ac-wallbox", "MaxiCharger AC Wallbox",
	    false, 1, 1, 3, 22000, "autel-ac-wallbox" },
	[SIM_MODEL_AC_COMPACT] = { "autel-ac-compact", "MaxiCharger AC Compact",
	    false, 1, 1, 1, 7400, "autel-ac-compact" },
	[SIM_MODEL_AC_ULTRA] = { "autel-ac-ultra", "MaxiCharger AC Ultra",
	    false, 2, 2, 3, 22000, "autel-ac-ultra" },
	[SIM_MODEL_SINGLE] = { "autel-single", "MaxiCharger AC Single",
	    false, 1, 1, 3, 11000, "autel-single" },
	[SIM_MODEL_DC] = { "autel-dc", "MaxiCharger DC Compact",
	    true, 8, 1, 3, 40000, "autel-dc" },
	/* the gateway's autel-dc reads 150 where 10116 is refused */
	[SIM_MODEL_DC_HIPOWER] = { "autel-dc-hipower",
	    "MaxiCharger DC HiPower", true, 8, 2, 3, 240000, "autel-dc" },
};

static const struct row *const model_rows[] = {
	[SIM_MODEL_AC_WALLBOX] = wallbox_rows,
	[SIM_MODEL_AC_COMPACT] = wallbox_rows,
	[SIM_MODEL_AC_ULTRA] = ultra_rows,
	[SIM_MODEL_SINGLE] = single_rows,
	[SIM_MODEL_DC] = dc_rows,
	[SIM_MODEL_DC_HIPOWER] = dc_hipower_rows,
};

/* Looks a model up by name; returns its description (static) or NULL. */
const struct sim_model_info *
sim_model_find(const char *name, enum sim_model *id)
{
	for (size_t i = 0; i < ARRAY_SIZE(models); i++) {
		if (strcmp(models[i].name, name) == 0) {
			if (id != NULL)
				*id = (enum sim_model)i;
			return &models[i];
		}
	}
	return NULL;
}

/* Lists every model name (static string). */
const char *
sim_model_names(void)
{
	return "autel-ac-wallbox, autel-ac-compact, autel-ac-ultra, "
	    "autel-single, autel-dc, autel-dc-hipower";
}

/* Sets a charger's defaults from its model; the scenario overrides them. */
void
sim_charger_defaults(struct sim_charger *c, enum sim_model id)
{
	const struct sim_model_info *m = &models[id];

	c->model = m;
	c->model_id = id;
	c->link = SIM_LINK_TCP;
	c->unit_id = 1;
	c->connectors = m->default_connectors;
	c->phases = m->default_phases;
	c->max_power_w = m->default_max_power_w;
	c->max_offline_power_w = 0;
	c->word_high_first = true;
	c->answer_fc04 = true;
	strlcpy_ok(c->product, m->product, sizeof(c->product));
	strlcpy_ok(c->firmware, "V1.2.3", sizeof(c->firmware));
	c->listen_fd = -1;
	c->dial_fd = -1;
	for (int k = 0; k <= SIM_MAX_CONNECTORS; k++) {
		c->conn[k].connector_type = 5;
		c->conn[k].soc_pct = -1;
		c->conn[k].ev_phases = 3;
	}
}

/* Orders fields by address for qsort. */
static int
field_cmp(const void *a, const void *b)
{
	const struct sim_field *fa = a, *fb = b;

	return (int)fa->addr - (int)fb->addr;
}

/* Maximum current in 0.01 A per phase that max_power_w allows. */
static uint32_t
max_current_ca(const struct sim_charger *c, double voltage_v)
{
	double a = (double)c->max_power_w / (voltage_v * c->phases);

	return (uint32_t)lround(a * 100.0);
}

/* True when the scenario makes the charger refuse addr. */
static bool
refused(const struct sim_charger *c, uint16_t addr)
{
	for (int i = 0; i < c->n_refuse; i++)
		if (c->refuse[i] == addr)
			return true;
	return false;
}

/* Builds the charger's register table from its model rows; sets the
 * initial limits.  Returns 0, or -1 with *cause (caller frees). */
int
sim_charger_build(struct sim_charger *c, char **cause)
{
	const struct row *rows = model_rows[c->model_id];
	size_t n = 0, cap = 64;

	if (c->connectors < 1 || c->connectors > c->model->max_connectors) {
		xasprintf(cause, "charger \"%s\": connectors %d out of range "
		    "1..%d for %s", c->name, c->connectors,
		    c->model->max_connectors, c->model->name);
		return -1;
	}
	c->fields = xcalloc(cap, sizeof(*c->fields));
	c->has_mode_reg = false;
	for (const struct row *r = rows; r->phase >= 0; r++) {
		int first = r->per_conn ? 1 : 0;
		int last = r->per_conn ? c->connectors : 0;

		if (r->assumed && !c->lenient)
			continue;
		for (int k = first; k <= last; k++) {
			uint16_t addr = (uint16_t)(r->addr + r->stride * k);

			if (refused(c, addr))
				continue;
			if (r->what == W_MODE)
				c->has_mode_reg = true;
			if (n == cap) {
				cap *= 2;
				c->fields = xrealloc(c->fields,
				    cap * sizeof(*c->fields));
			}
			c->fields[n].addr = addr;
			c->fields[n].count = r->count;
			c->fields[n].type = r->type;
			c->fields[n].access = r->access;
			c->fields[n].what = (int)r->what;
			c->fields[n].conn = k;
			c->fields[n].phase = r->phase;
			n++;
		}
	}
	qsort(c->fields, n, sizeof(*c->fields), field_cmp);
	for (size_t i = 1; i < n; i++) {
		if (c->fields[i].addr < c->fields[i - 1].addr +
		    c->fields[i - 1].count) {
			xasprintf(cause, "internal: overlapping registers %u "
			    "and %u in %s", c->fields[i - 1].addr,
			    c->fields[i].addr, c->model->name);
			free(c->fields);
			c->fields = NULL;
			return -1;
		}
	}
	c->n_fields = n;
	c->link_type = c->link == SIM_LINK_RTU ? 0 : 1;
	return 0;
}

/* Frees the register table. */
void
sim_charger_free(struct sim_charger *c)
{
	free(c->fields);
	c->fields = NULL;
	c->n_fields = 0;
}

/* The field holding addr, or NULL. */
static struct sim_field *
find_field(struct sim_charger *c, uint16_t addr)
{
	size_t lo = 0, hi = c->n_fields;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		struct sim_field *f = &c->fields[mid];

		if (addr < f->addr)
			hi = mid;
		else if (addr >= f->addr + f->count)
			lo = mid + 1;
		else
			return f;
	}
	return NULL;
}

/* True when some read-only field lies in the same block of 100 registers
 * as addr: undefined addresses there read as 0 (reserved). */
static bool
reserved_in_block(struct sim_charger *c, uint16_t addr)
{
	for (size_t i = 0; i < c->n_fields; i++) {
		if (c->fields[i].addr / 100 == addr / 100 &&
		    c->fields[i].access == SIM_RO)
			return true;
	}
	return false;
}

/* Puts an ASCII string into n registers, two characters per register,
 * first character in the high byte, padded with NUL. */
static void
put_ascii(const char *str, uint16_t *regs, size_t n)
{
	size_t len = strlen(str);

	for (size_t i = 0; i < n; i++) {
		uint8_t hi = 2 * i < len ? (uint8_t)str[2 * i] : 0;
		uint8_t lo = 2 * i + 1 < len ? (uint8_t)str[2 * i + 1] : 0;

		regs[i] = (uint16_t)(hi << 8 | lo);
	}
}

/* Splits a 32-bit value into two registers in the charger's word order. */
static void
put_u32(const struct sim_charger *c, uint32_t v, uint16_t *regs)
{
	uint16_t hi = (uint16_t)(v >> 16), lo = (uint16_t)(v & 0xffff);

	regs[0] = c->word_high_first ? hi : lo;
	regs[1] = c->word_high_first ? lo : hi;
}

/* Joins two registers into a 32-bit value in the charger's word order. */
static uint32_t
get_u32(const struct sim_charger *c, const uint16_t *regs)
{
	if (c->word_high_first)
		return (uint32_t)regs[0] << 16 | regs[1];
	return (uint32_t)regs[1] << 16 | regs[0];
}

/* Rounds v into 0..UINT32_MAX. */
static uint32_t
clamp_u32(double v)
{
	if (!(v > 0))
		return 0;
	if (v > 4294967295.0)
		return UINT32_MAX;
	return (uint32_t)llround(v);
}

/* Rounds v into 0..UINT16_MAX. */
static uint16_t
clamp_u16(double v)
{
	if (!(v > 0))
		return 0;
	if (v > 65535.0)
		return UINT16_MAX;
	return (uint16_t)lround(v);
}

/* Seconds since the session started (0 without a session). */
static double
session_s(const struct sim_connector *x, int64_t now_ms)
{
	if (!x->plugged)
		return 0;
	if (x->finished && x->session_end_ms > x->session_start_ms)
		return (double)(x->session_end_ms - x->session_start_ms) /
		    1000.0;
	return (double)(now_ms - x->session_start_ms) / 1000.0;
}

/* Computes the registers of field f into regs (f->count entries). */
static void
field_value(struct sim_site *s, struct sim_charger *c,
    const struct sim_field *f, uint16_t *regs)
{
	int k = f->conn;
	struct sim_connector *x = &c->conn[k];
	double v = 0;
	int64_t now = s->last_update_ms;

	memset(regs, 0, f->count * sizeof(*regs));
	switch ((enum what)f->what) {
	case W_MODE: regs[0] = c->control_mode; return;
	case W_LINK_TYPE: regs[0] = c->link_type; return;
	case W_COMM_TIMEOUT: regs[0] = c->comm_timeout_s; return;
	case W_SLAVE_ID: regs[0] = (uint16_t)c->unit_id; return;
	case W_SLAVE_CONFIRM: regs[0] = c->slave_id_pending; return;
	case W_PHASE_SWITCH: regs[0] = c->phase_switch; return;
	case W_PRODUCT: put_ascii(c->product, regs, f->count); return;
	case W_FIRMWARE: put_ascii(c->firmware, regs, f->count); return;
	case W_SERIAL: put_ascii(c->serial, regs, f->count); return;
	case W_IDTOKEN: put_ascii(x->idtag, regs, f->count); return;
	case W_FW_URL:
	case W_START_STOP:
	case W_LOCK:
		return;
	case W_NCONN: regs[0] = (uint16_t)c->connectors; return;
	case W_CONN_TYPE: regs[0] = (uint16_t)x->connector_type; return;
	case W_STATUS: regs[0] = (uint16_t)sim_connector_status(c, k); return;
	case W_SOC:
		regs[0] = k == 0 || x->soc_pct < 0 ? 0 : clamp_u16(x->soc_pct);
		return;
	case W_FAULT_CODE:
		regs[0] = 0;
		regs[1] = (c->faulted || x->faulted) ? 1 : 0;
		return;
	case W_TIME:
		if (k == 0) {
			for (int j = 1; j <= c->connectors; j++)
				if (session_s(&c->conn[j], now) > v)
					v = session_s(&c->conn[j], now);
		} else {
			v = session_s(x, now);
		}
		regs[0] = clamp_u16(v);
		return;
	case W_SESSION_E100:
		if (k == 0)
			for (int j = 1; j <= c->connectors; j++)
				v += c->conn[j].session_wh;
		else
			v = x->session_wh;
		regs[0] = clamp_u16(v / 10.0);   /* kWh/100 = 10 Wh */
		return;
	case W_SESSION_WH: v = x->session_wh; break;
	case W_ENERGY64: {
		uint64_t e = (uint64_t)llround(x->energy_wh * 10.0);

		/* Two UINT32 halves, the low 32 bits in the first two
		 * registers (manual §5.6); each half in the charger's
		 * UINT32 word order. */
		put_u32(c, (uint32_t)(e & 0xffffffffu), &regs[0]);
		put_u32(c, (uint32_t)(e >> 32), &regs[2]);
		return;
	}
	case W_MAX_CURRENT: v = max_current_ca(c, s->voltage_v); break;
	case W_MAX_POWER: v = c->max_power_w; break;
	case W_MAX_OFF_POWER: v = c->max_offline_power_w; break;
	case W_POWER:
		v = c->garbled ? c->garble_w :
		    k == 0 ? sim_charger_power(c) : x->power_w;
		break;
	case W_VOLT:
		v = f->phase < sim_charger_phases(c) ? s->voltage_v * 100.0 : 0;
		break;
	case W_CURR:
	case W_PPOW: {
		double loc[3] = { 0, 0, 0 };

		if (k == 0) {
			for (int j = 1; j <= c->connectors; j++) {
				double l[3];

				sim_conn_local_phase_power(c, j, l);
				for (int p = 0; p < 3; p++)
					loc[p] += l[p];
			}
		} else {
			sim_conn_local_phase_power(c, k, loc);
		}
		v = loc[f->phase];
		if (f->what == W_CURR)
			v = v / s->voltage_v * 100.0;
		break;
	}
	case W_DC_VOLT:
		v = sim_charger_power(c) > 0 && (k == 0 || x->power_w > 0) ?
		    s->dc_voltage_v * 100.0 : 0;
		break;
	case W_DC_CURR:
		v = (k == 0 ? sim_charger_power(c) : x->power_w) /
		    s->dc_voltage_v * 100.0;
		break;
	case W_LIM_P: v = x->lim_power_w; break;
	case W_LIM_I: v = x->lim_current_ca; break;
	case W_OFF_P: v = x->off_power_w; break;
	case W_OFF_I: v = x->off_current_ca; break;
	}
	if (f->type == SIM_U32)
		put_u32(c, clamp_u32(v), regs);
	else
		regs[0] = clamp_u16(v);
}

/* Reads n registers at addr with function 3 or 4. */
int
sim_charger_read(struct sim_site *s, struct sim_charger *c, int fc,
    uint16_t addr, uint16_t n, uint16_t *out)
{
	uint32_t end = (uint32_t)addr + n;

	if (fc == 4 && !c->answer_fc04)
		return SIM_EX_ILLEGAL_FUNCTION;
	for (uint32_t a = addr; a < end;) {
		struct sim_field *f = find_field(c, (uint16_t)a);
		uint16_t regs[SIM_FW_URL_REGS];

		if (f == NULL) {
			/* strict: every address the table does not list is
			 * absent; lenient: gaps inside a block read 0 */
			if (!c->lenient || !reserved_in_block(c, (uint16_t)a))
				return SIM_EX_ILLEGAL_ADDRESS;
			out[a - addr] = 0;
			a++;
			continue;
		}
		if (f->access == SIM_WO)
			return SIM_EX_ILLEGAL_ADDRESS;
		/* Input registers (04) hold only the read-only blocks. */
		if (fc == 4 && f->access != SIM_RO)
			return SIM_EX_ILLEGAL_ADDRESS;
		field_value(s, c, f, regs);
		for (uint32_t i = a - f->addr; i < f->count && a < end; i++, a++)
			out[a - addr] = regs[i];
	}
	c->requests++;
	return 0;
}

/* Applies a completed value to field f; returns 0 or an exception code.
 * With check_only, validates without changing anything. */
static int
field_store(struct sim_charger *c, const struct sim_field *f,
    const uint16_t *regs, bool check_only, int64_t now_ms)
{
	struct sim_connector *x = &c->conn[f->conn];
	uint32_t v = f->type == SIM_U32 ? get_u32(c, regs) : regs[0];
	int k = f->conn == 0 ? 1 : f->conn;

	switch ((enum what)f->what) {
	case W_MODE:
		if (v > 1)
			return SIM_EX_ILLEGAL_VALUE;
		if (!check_only)
			c->control_mode = (uint16_t)v;
		return 0;
	case W_LINK_TYPE:
		if (v > 1)
			return SIM_EX_ILLEGAL_VALUE;
		if (!check_only)
			c->link_type = (uint16_t)v;
		return 0;
	case W_COMM_TIMEOUT:
		if (!check_only)
			c->comm_timeout_s = (uint16_t)v;
		return 0;
	case W_SLAVE_ID:
		if (v < 1 || v > 247)
			return SIM_EX_ILLEGAL_VALUE;
		if (!check_only)
			c->slave_id_pending = (uint16_t)v;
		return 0;
	case W_SLAVE_CONFIRM:
		if (v != c->slave_id_pending)
			return SIM_EX_ILLEGAL_VALUE;
		if (!check_only)
			c->unit_id = (int)v;
		return 0;
	case W_PHASE_SWITCH:
		if (v > 8 || (v == 0 && c->phases != 3))
			return SIM_EX_ILLEGAL_VALUE;
		/* the contactor is switched only without load: a change
		 * while a car draws power is refused (pause first) */
		if (v != c->phase_switch && sim_charger_power(c) > 0.0) {
			c->phase_switches_refused++; /* a write refused here
			                              * is checked only once */
			return SIM_EX_ILLEGAL_VALUE;
		}
		if (!check_only && v != c->phase_switch) {
			c->phase_switch = (uint16_t)v;
			c->phase_switches++;
		}
		return 0;
	case W_LIM_P:
		if (!check_only) {
			x->lim_power_w = v;
			x->lim_by_current = false;
		}
		return 0;
	case W_LIM_I:
		if (!check_only) {
			x->lim_current_ca = v;
			x->lim_by_current = true;
		}
		return 0;
	case W_OFF_P:
		if (!check_only) {
			x->off_power_w = v;
			x->off_by_current = false;
		}
		return 0;
	case W_OFF_I:
		if (!check_only) {
			x->off_current_ca = v;
			x->off_by_current = true;
		}
		return 0;
	case W_START_STOP: {
		struct sim_connector *y = &c->conn[k];

		if (v > 1)
			return SIM_EX_ILLEGAL_VALUE;
		if (check_only)
			return 0;
		if (v == 0 && y->plugged) {
			y->waiting_start = false;
			if (y->finished) {
				y->finished = false;
				y->session_wh = 0;
				y->session_start_ms = now_ms;
			}
		} else if (v == 1 && y->plugged && !y->finished) {
			y->finished = true;
			y->session_end_ms = now_ms;
			y->waiting_start = false;
		}
		return 0;
	}
	case W_LOCK:
		if (v > 1)
			return SIM_EX_ILLEGAL_VALUE;
		if (!check_only && v == 1)
			c->unlocks++;
		return 0;
	case W_IDTOKEN:
		/* DC 2400 + 18 c: the card number the controller sets */
		if (!check_only) {
			size_t j = 0;

			for (size_t i = 0; i < f->count && j + 2 < sizeof x->idtag;
			    i++) {
				x->idtag[j++] = (char)(regs[i] >> 8);
				x->idtag[j++] = (char)(regs[i] & 0xff);
			}
			x->idtag[j] = '\0';
		}
		return 0;
	default:
		return SIM_EX_ILLEGAL_ADDRESS;
	}
}

/* Decodes the firmware URL registers into c->fw_url. */
static void
fw_url_decode(struct sim_charger *c)
{
	size_t j = 0;

	for (size_t i = 0; i < SIM_FW_URL_REGS; i++) {
		char hi = (char)(c->fw_url_regs[i] >> 8);
		char lo = (char)(c->fw_url_regs[i] & 0xff);

		if (hi == '\0')
			break;
		c->fw_url[j++] = hi;
		if (lo == '\0')
			break;
		c->fw_url[j++] = lo;
	}
	c->fw_url[j] = '\0';
}

/* True when the n registers start with "http://" or "https://". */
static bool
url_ok(const uint16_t *regs, uint32_t n)
{
	char buf[9];
	size_t j = 0;

	for (uint32_t i = 0; i < n && j + 2 < sizeof(buf); i++) {
		buf[j++] = (char)(regs[i] >> 8);
		buf[j++] = (char)(regs[i] & 0xff);
	}
	buf[j] = '\0';
	return strncmp(buf, "http://", 7) == 0 ||
	    strncmp(buf, "https://", 8) == 0;
}

const char *
sim_fw_step_name(enum sim_fw_step step)
{
	switch (step) {
	case SIM_FW_IDLE: return "idle";
	case SIM_FW_DOWNLOADING: return "downloading";
	case SIM_FW_INSTALLING: return "installing";
	case SIM_FW_REBOOTING: return "rebooting";
	}
	return "idle";
}

/* The version an upgrade from c->fw_url installs: fw_next, else the
 * URL's last path segment (cut to the register's 40 characters). */
static void
fw_install(struct sim_charger *c)
{
	const char *seg = strrchr(c->fw_url, '/');

	if (c->fw_next[0] != '\0')
		strlcpy_ok(c->firmware, c->fw_next, sizeof(c->firmware));
	else if (seg != NULL && seg[1] != '\0')
		strlcpy_ok(c->firmware, seg + 1, sizeof(c->firmware));
	c->fw_next[0] = '\0';
}

void
sim_fw_advance(struct sim_site *s, int64_t now_ms)
{
	for (size_t i = 0; i < s->n_chargers; i++) {
		struct sim_charger *c = &s->chargers[i];

		if (c->fw_step == SIM_FW_IDLE || now_ms < c->fw_until_ms)
			continue;
		switch (c->fw_step) {
		case SIM_FW_DOWNLOADING:
			c->fw_step = SIM_FW_INSTALLING;
			c->fw_until_ms = now_ms + SIM_FW_INSTALL_MS;
			break;
		case SIM_FW_INSTALLING:
			/* Installed (or not), then it restarts. */
			if (!c->fw_fail)
				fw_install(c);
			c->fw_fail = false;
			c->fw_step = SIM_FW_REBOOTING;
			c->fw_until_ms = now_ms + SIM_FW_REBOOT_MS;
			c->silence = SIM_SILENCE_CLOSE;
			sim_net_silence_changed(s, c);
			break;
		case SIM_FW_REBOOTING:
		case SIM_FW_IDLE:
			c->fw_step = SIM_FW_IDLE;
			c->silence = SIM_SILENCE_OFF;
			sim_net_silence_changed(s, c);
			break;
		}
	}
}

/* Writes n registers at addr; all or nothing.  Returns 0 or an exception
 * code. */
int
sim_charger_write(struct sim_site *s, struct sim_charger *c, uint16_t addr,
    uint16_t n, const uint16_t *vals, int64_t now_ms)
{
	uint32_t end = (uint32_t)addr + n;
	int pass;

	/* Pass 0 validates every touched field; pass 1 applies. */
	for (pass = 0; pass < 2; pass++) {
		for (uint32_t a = addr; a < end;) {
			struct sim_field *f = find_field(c, (uint16_t)a);
			uint16_t regs[SIM_FW_URL_REGS];
			int rc;

			if (f == NULL || f->access == SIM_RO)
				return SIM_EX_ILLEGAL_ADDRESS;
			if (f->what == W_FW_URL) {
				/* A URL written from its start must be
				 * HTTP(S); none while an upgrade runs. */
				if (pass == 0 && a == f->addr &&
				    (!url_ok(&vals[a - addr], end - a) ||
				    c->fw_step != SIM_FW_IDLE))
					return SIM_EX_ILLEGAL_VALUE;
				for (; a < end && a < (uint32_t)f->addr +
				    f->count; a++)
					if (pass == 1)
						c->fw_url_regs[a - f->addr] =
						    vals[a - addr];
				if (pass == 1) {
					fw_url_decode(c);
					c->fw_updates++;
					c->fw_step = SIM_FW_DOWNLOADING;
					c->fw_until_ms = now_ms +
					    SIM_FW_DOWNLOAD_MS;
				}
				continue;
			}
			/* Current value, then the written words over it. */
			field_value(s, c, f, regs);
			for (uint32_t i = a - f->addr; i < f->count && a < end;
			    i++, a++)
				regs[i] = vals[a - addr];
			rc = field_store(c, f, regs, pass == 0, now_ms);
			if (rc != 0)
				return rc;
		}
	}
	c->last_write_ms = now_ms;
	c->writes++;
	c->requests++;
	return 0;
}

/* Puts a float32 into two registers, high word first (Eastron). */
static void
put_float(double v, uint16_t *regs)
{
	float f = (float)v;
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	regs[0] = (uint16_t)(u >> 16);
	regs[1] = (uint16_t)(u & 0xffff);
}

#define METER_LAST_REG 0x017f

/* Reads n meter input registers (Eastron layout, float32). */
int
sim_meter_read(struct sim_meter *m, uint16_t addr, uint16_t n,
    uint16_t *out)
{
	uint16_t img[METER_LAST_REG + 1];
	bool three = m->type == SIM_METER_SDM630;

	if ((uint32_t)addr + n > METER_LAST_REG + 1)
		return SIM_EX_ILLEGAL_ADDRESS;
	memset(img, 0, sizeof(img));
	for (int p = 0; p < 3; p++) {
		if (!three && p > 0)
			break;
		put_float(m->v_phase[p], &img[0x0000 + 2 * p]);
		put_float(m->i_phase[p], &img[0x0006 + 2 * p]);
		put_float(m->p_phase[p], &img[0x000c + 2 * p]);
	}
	put_float(m->garbled ? m->garble_w : m->total_w, &img[0x0034]);
	if (m->garbled)
		put_float(m->garble_w, &img[0x000c]);
	put_float(m->frequency_hz, &img[0x0046]);
	put_float(m->import_kwh, &img[0x0048]);
	put_float(m->export_kwh, &img[0x004a]);
	memcpy(out, &img[addr], n * sizeof(*out));
	m->requests++;
	return 0;
}
