/* Inside the southbound module: register tables, value coding, request
 * planning and the device drivers the link workers run. */
#ifndef EDGE_SB_PRIVATE_H
#define EDGE_SB_PRIVATE_H

#include "southbound/southbound.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest read and write of registers allowed by the protocol. */
#define SB_MAX_READ_REGS 125
#define SB_MAX_WRITE_REGS 123

/* Threads serving all TCP links (chargers and meter) together, at most;
 * each RTU bus has one more of its own.  A charger that does not answer
 * holds one TCP worker for its response timeout while the others serve the
 * rest. */
#define SB_TCP_WORKERS 6

enum sb_reg_type {
	SB_T_U16 = 0,
	SB_T_U32,
	SB_T_U64,
	SB_T_F32,   /* IEEE-754 (meters) */
	SB_T_ASCII, /* two characters per register, first in the high byte */
};

enum sb_access {
	SB_ACC_RO = 0,
	SB_ACC_RW,
	SB_ACC_WO,
};

/* When a row is read. */
enum sb_phase {
	SB_PH_NONE = 0, /* written only */
	SB_PH_IDENTITY, /* once per connection */
	SB_PH_POLL,     /* polled, at the row's rate (enum sb_rate) */
};


/* What a register holds: the same name across models. */
enum sb_what {
	SB_W_CONTROL_MODE = 0,
	SB_W_COMM_TIMEOUT,
	SB_W_PRODUCT_TYPE,
	SB_W_FIRMWARE,
	SB_W_SERIAL,
	SB_W_N_CONNECTORS,
	SB_W_MAX_CURRENT,
	SB_W_MAX_POWER,
	SB_W_MAX_OFFLINE_POWER,
	SB_W_STATUS,
	SB_W_POWER,
	SB_W_C_STATUS,
	SB_W_C_POWER,
	SB_W_C_VOLTAGE_L1,
	SB_W_C_VOLTAGE_L2,
	SB_W_C_VOLTAGE_L3,
	SB_W_C_CURRENT_L1,
	SB_W_C_CURRENT_L2,
	SB_W_C_CURRENT_L3,
	SB_W_C_POWER_L1,
	SB_W_C_POWER_L2,
	SB_W_C_POWER_L3,
	SB_W_C_ENERGY,
	SB_W_C_SESSION_ENERGY,
	SB_W_C_CHARGE_TIME,
	SB_W_C_TYPE,
	SB_W_C_ID_TOKEN,
	SB_W_C_SOC,
	SB_W_C_FAULT_EU,
	SB_W_C_FAULT_US,
	SB_W_C_POWER_LIMIT,
	SB_W_C_CURRENT_LIMIT,
	SB_W_C_OFFLINE_POWER,
	SB_W_C_OFFLINE_CURRENT,
	SB_W_C_START_STOP,
	SB_W_C_LOCK,
	SB_W_PHASE_SWITCH,
	SB_W_FIRMWARE_URL,
	/* meters */
	SB_W_M_VOLTAGE_L1,
	SB_W_M_VOLTAGE_L2,
	SB_W_M_VOLTAGE_L3,
	SB_W_M_CURRENT_L1,
	SB_W_M_CURRENT_L2,
	SB_W_M_CURRENT_L3,
	SB_W_M_POWER_L1,
	SB_W_M_POWER_L2,
	SB_W_M_POWER_L3,
	SB_W_M_TOTAL_POWER,
	SB_W_M_FREQUENCY,
	SB_W_M_IMPORT,
	SB_W_M_EXPORT,
	SB_W_COUNT
};

/* How often a polled row is read (docs/southbound.md, "Read rates"),
 * from the most often to the least:
 * - SB_RATE_STATUS: every poll, an idle charger's too (the statuses);
 * - SB_RATE_POLL: every poll of a charger that is not idle (the
 *   connector power, and what a derived status is made of);
 * - SB_RATE_MEDIUM: every SB_MEDIUM_EVERY-th poll, and at once when a
 *   connector's power moved by SB_STEADY_W or more since they were last
 *   read (session time and energy, SoC, currents, phase powers, fault
 *   codes, the IdToken once the session has one or draws power);
 * - SB_RATE_SLOW: every SB_SLOW_EVERY-th poll (SB_IDLE_FULL_EVERY-th
 *   while the charger is idle): energy counters, voltages, frequency,
 *   the connector type.
 * A poll that sees a status change reads everything at once; the first
 * poll of a connection reads everything. */
enum sb_rate {
	SB_RATE_STATUS = 0,
	SB_RATE_POLL,
	SB_RATE_MEDIUM,
	SB_RATE_SLOW,
};
#define SB_MEDIUM_EVERY 5
#define SB_SLOW_EVERY 10
#define SB_IDLE_FULL_EVERY 30
#define SB_STEADY_W 50.0
/* Is `what` one of the slowly changing values (SB_RATE_SLOW)? */
bool sb_what_is_slow(enum sb_what what);

/* One row of a register table.  A per-connector row's address for
 * connector c (1..n) is base + stride * c; a whole-device row has
 * stride 0 and is at base. */
struct sb_reg {
	enum sb_what what;
	uint16_t base;
	uint16_t stride;
	uint16_t count;        /* registers */
	enum sb_reg_type type;
	double scale;          /* raw value x scale = value in unit */
	const char *unit;      /* "W", "A", "V", "Wh", "kWh", "Hz", "s", "%", "" */
	enum sb_access access;
	uint8_t read_fc;       /* 4 (input, falls back to 3) or 3; 0 = never read */
	enum sb_phase phase;
	bool per_connector;
	bool optional;         /* an exception on write is remembered, not fatal */
};

/* A register map: one per charger model or meter type. */
struct sb_model_desc {
	const char *name;
	bool u32_high_first;
	bool u64_high_half_first; /* UINT64: which 32-bit half comes first */
	int max_connectors;
	uint16_t merge_gap;    /* unused registers a merged read may span */
	const struct sb_reg *regs;
	size_t n_regs;
};

/* The table of a charger model, or NULL.  Static storage. */
const struct sb_model_desc *sb_model_desc(enum sb_model model);
/* The table of a meter type, or NULL.  Static storage. */
const struct sb_model_desc *sb_meter_desc(enum sb_meter_type type);
/* The row for `what` in a table, or NULL when the model lacks it. */
const struct sb_reg *sb_reg_find(const struct sb_model_desc *m,
    enum sb_what what);
/* The address of a row for a connector (ignored for whole-device rows). */
unsigned sb_reg_addr(const struct sb_reg *r, int connector);
/* True for a value that belongs to a connector (SB_W_C_*). */
bool sb_what_is_connector(enum sb_what what);
/* Short name of a `what` ("c.power").  Static storage. */
const char *sb_what_name(enum sb_what what);

/* Word order decided from the model and the per-device override.  A
 * UINT64 is two 32-bit halves, each coded like a UINT32; the model says
 * which half comes first (Autel: the low one, manual §5.6 1y035). */
struct sb_words {
	bool u32_high_first;
	bool u64_high_half_first;
};
struct sb_words sb_words_for(const struct sb_model_desc *m,
    enum sb_word_order override);

/* Decodes an unsigned integer row (U16/U32/U64) from its registers. */
uint64_t sb_decode_uint(const uint16_t *regs, enum sb_reg_type type,
    struct sb_words words);
/* Decodes a float32 (meters; high word first when high_first). */
double sb_decode_f32(const uint16_t *regs, bool high_first);
/* Decodes a numeric row and applies its scale. */
double sb_decode_value(const struct sb_reg *r, const uint16_t *regs,
    struct sb_words words);
/* Copies ASCII registers into out (size len), dropping trailing NULs and
 * spaces and replacing non-printable bytes by '?'. */
void sb_decode_ascii(const uint16_t *regs, unsigned count, char *out,
    size_t len);
/* Encodes v into the row's registers (U16/U32/U64). */
void sb_encode_uint(uint64_t v, enum sb_reg_type type, struct sb_words words,
    uint16_t *regs);
/* Encodes text into count registers, NUL-padded.  Returns -1 when it
 * does not fit. */
int sb_encode_ascii(const char *text, unsigned count, uint16_t *regs);
/* Encodes a float32 (for test devices). */
void sb_encode_f32(double v, bool high_first, uint16_t *regs);
/* Converts a limit in the unit of row r (W or A) into the raw register
 * value (W, or 0.01 A).  Returns -1 when out of the row's range. */
int sb_limit_to_raw(const struct sb_reg *r, double value, uint64_t *raw);

/* One planned read request: registers [addr, addr + count). */
struct sb_block {
	uint16_t addr;
	uint16_t count;
	uint8_t fc;            /* 4 or 3 as in the table */
	uint16_t first_row;    /* index into the plan's rows */
	uint16_t n_rows;
	bool split;            /* read row by row (device refused the span) */
};
/* A row instance in a plan: table row + connector. */
struct sb_row {
	const struct sb_reg *reg;
	int connector;         /* 0 for whole-device rows */
	uint16_t addr;
	bool unsupported;      /* the device refused it alone */
	bool alone;            /* read on its own (a run with it was refused) */
};
/* Enough for the largest plan (a DC charger with 8 connectors: 66 rows
 * in 9 requests); tests/southbound checks every table fits.  Two plans
 * per device, so the bounds are most of a device's memory. */
#define SB_MAX_ROWS 80
#define SB_MAX_BLOCKS 16
struct sb_plan {
	struct sb_row rows[SB_MAX_ROWS];
	size_t n_rows;
	struct sb_block blocks[SB_MAX_BLOCKS];
	size_t n_blocks;
};
/* Plans the reads of one phase for a device with n connectors: rows are
 * sorted by address and grouped into as few requests as the model's merge
 * gap and the 125-register limit allow. */
void sb_plan_reads(const struct sb_model_desc *m, enum sb_phase phase,
    int n_connectors, struct sb_plan *plan);

/* ---- device drivers (driver.c) ---------------------------------------- */

struct _modbus;

/* What a driver knows about one device.  Owned by the device's link
 * worker; only the fields under "shared" are touched by other threads,
 * with the context lock held (worker.c). */
struct sb_dev {
	/* fixed at start */
	size_t index;               /* in sb_conf.chargers (meters: 0) */
	bool is_meter;
	const struct sb_model_desc *model;
	struct sb_words words;
	int unit_id;
	int n_conn;                 /* configured connectors */
	enum sb_control_unit unit;
	char name[64];
	char want_serial[40];       /* "" = do not check */
	int min_gap_ms;             /* pause between requests (Eastron) */
	double max_power_w;         /* configured maximum (charger) or what
	                               the main breaker carries (meter), W;
	                               0 = unknown */

	/* what the device lacks (kept across connections; each told once,
	 * asked again by sb_drv_reprobe) */
	struct sb_refused {
		uint16_t addr;
		const struct sb_reg *reg;
		bool retry;         /* being asked again: not skipped */
	} unsup[SB_MAX_UNSUPPORTED];
	int n_unsup;
	bool told_no_mode;          /* "limits written in W/A" logged */
	bool told_no_timeout;       /* "relies on its offline limits" logged */
	int last_errno;             /* of the last failed libmodbus call */
	struct sb_io_stats io;      /* exchanges since start (published) */
	const char *not_a_number;   /* a float row read as NaN this poll */
	/* DC energy: the running total of finished sessions, and the last
	 * session counter seen, per connector (Wh) */
	double energy_base_wh[SB_MAX_CONNECTORS];
	double session_last_wh[SB_MAX_CONNECTORS];
	bool told_maxima;           /* configuration vs 10119/10121 checked */
	double offline_total_w;     /* configured offline limits, W (0 when
	                               they are in A) */

	/* connection state */
	bool ro_fc03;               /* 04 refused: read RO blocks with 03 */
	bool identified;
	struct sb_plan id_plan;
	struct sb_plan poll_plan;
	unsigned polls_to_full;     /* polls before the next full one */
	unsigned polls_to_medium;   /* polls before the next medium one */
	double medium_power_w[SB_MAX_CONNECTORS]; /* connector power when
	                               the medium rows were last read */
	int64_t last_io_ms;

	/* latest values (worker's copy) */
	struct sb_charger_reading rd;
	struct sb_meter_reading mrd;
};

/* Driver results: 0, or one of these (dev->rd.fault / error say more). */
#define SB_DRV_IO (-1)       /* transport failure: counts towards offline */
#define SB_DRV_DEVICE (-2)   /* the device answered but wrongly */

/* Sleeps until gap_ms have passed since last_ms (0: nothing sent yet):
 * the pause a device or an RTU bus needs between requests. */
void sb_pace(int64_t last_ms, int gap_ms);
/* Resets what is learnt per connection (identity, plans). */
void sb_drv_reset(struct sb_dev *dev);
/* Asks again, from the next turn on, the registers the device refused
 * (the identity too, and registers 0 and 2 written again): one that now
 * answers is logged and no longer listed as unsupported; one refused
 * again stays so, quietly.  Returns false when none was refused. */
bool sb_drv_reprobe(struct sb_dev *dev);
/* Reads the identity and writes the configuration registers (control
 * mode, comm timeout).  ctx has the device's unit id set. */
int sb_drv_identify(struct sb_dev *dev, struct _modbus *ctx,
    int comm_timeout_s);
/* How often a row of dev's poll plan is read, by what dev->rd holds now
 * (enum sb_rate). */
enum sb_rate sb_drv_row_rate(const struct sb_dev *dev,
    const struct sb_row *row);
/* Reads what is due of the polled rows (charger or meter) into dev->rd /
 * dev->mrd.
 * A reading out of its physical range (docs/southbound.md) leaves the
 * previous values, counts in `implausible` and returns SB_DRV_IO with
 * fault SB_FAULT_IMPLAUSIBLE. */
int sb_drv_poll(struct sb_dev *dev, struct _modbus *ctx, int64_t now_ms);
/* Writes a connector's limit (online when offline is false) in the
 * device's control unit, reads it back and compares. */
int sb_drv_write_limit(struct sb_dev *dev, struct _modbus *ctx,
    int connector, bool offline, double value);
/* Runs a command: writes its register(s). */
int sb_drv_command(struct sb_dev *dev, struct _modbus *ctx, int connector,
    enum sb_command cmd, int arg, const char *url);
/* The table row a command writes, or NULL when the model lacks it. */
const struct sb_reg *sb_drv_command_row(const struct sb_model_desc *m,
    enum sb_command cmd);
/* Sets every reading field to its "unknown" marker. */
void sb_reading_clear(struct sb_charger_reading *rd);
void sb_meter_reading_clear(struct sb_meter_reading *mrd);

/* Counts one exchange of dev that took elapsed_us and ended with err (0:
 * a good answer). */
void sb_io_count(struct sb_dev *dev, int64_t elapsed_us, int err);

#endif
