/* Device drivers: the Modbus exchanges with one charger or meter over a
 * libmodbus context the link worker owns.  Everything here is synchronous
 * and runs on the worker thread; results go into the device's reading. */
#define _GNU_SOURCE
#include "southbound/sb-private.h"

#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <math.h>
#include <modbus.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Records why an exchange failed; returns code. */
static int LOG_PRINTF(4, 5)
fail(struct sb_dev *dev, int code, enum sb_fault fault, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dev->rd.error, sizeof dev->rd.error, fmt, ap);
	va_end(ap);
	dev->rd.fault = fault;
	if (dev->is_meter) {
		strlcpy_ok(dev->mrd.error, dev->rd.error, sizeof dev->mrd.error);
		dev->mrd.why = fault;
	}
	log_debug("sb", "%s: %s", dev->name, dev->rd.error);
	return code;
}

/* Maps a libmodbus errno to a driver result. */
static int
fail_errno(struct sb_dev *dev, int err, const char *what, unsigned addr)
{
	bool exception = err > MODBUS_ENOBASE &&
	    err <= MODBUS_ENOBASE + MODBUS_EXCEPTION_GATEWAY_TARGET;

	dev->last_errno = err;

	return fail(dev, SB_DRV_IO, exception ? SB_FAULT_EXCEPTION : SB_FAULT_IO,
	    "%s at %u: %s", what, addr, modbus_strerror(err));
}

/* Sleeps until gap_ms have passed since last_ms (0: nothing sent yet). */
void
sb_pace(int64_t last_ms, int gap_ms)
{
	int64_t wait;

	if (gap_ms <= 0 || last_ms == 0)
		return;
	wait = last_ms + gap_ms - mono_now_ms();
	if (wait > 0) {
		struct timespec ts = { (time_t)(wait / 1000),
		    (long)(wait % 1000) * 1000000L };
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
	}
}

const double sb_rt_bucket_ms[SB_RT_BUCKETS - 1] = {
	5, 10, 25, 50, 100, 250, 500, 1000,
};

const char *
sb_io_error_name(enum sb_io_error e)
{
	switch (e) {
	case SB_IOE_TIMEOUT: return "timeout";
	case SB_IOE_EXCEPTION: return "exception";
	case SB_IOE_REFUSED: return "refused";
	case SB_IOE_OTHER: return "other";
	case SB_IOE_COUNT: break;
	}
	return "?";
}

/* Microseconds on the monotonic clock. */
static int64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
sb_io_count(struct sb_dev *dev, int64_t elapsed_us, int err)
{
	struct sb_io_stats *io = &dev->io;
	bool answered = err == 0 || (err > MODBUS_ENOBASE &&
	    err < MODBUS_ENOBASE + SB_EXCEPTION_CODES);

	if (err == ENOTCONN)
		return; /* a dial-in charger not connected: no exchange */
	if (answered) {
		double ms = (double)elapsed_us / 1000.0;
		int b = 0;

		while (b < SB_RT_BUCKETS - 1 && ms > sb_rt_bucket_ms[b])
			b++;
		io->answers++;
		io->rt_bucket[b]++;
		io->rt_sum_s += ms / 1000.0;
	}
	if (err == 0)
		return;
	if (answered) {
		io->errors[SB_IOE_EXCEPTION]++;
		io->exceptions[err - MODBUS_ENOBASE]++;
	} else if (err == ETIMEDOUT) {
		io->errors[SB_IOE_TIMEOUT]++;
	} else if (err == ECONNREFUSED) {
		io->errors[SB_IOE_REFUSED]++;
	} else {
		io->errors[SB_IOE_OTHER]++;
	}
}

/* Reads registers with function 03 or 04; returns 0 or -1 with errno. */
static int
read_regs(struct sb_dev *dev, modbus_t *ctx, int fc, unsigned addr,
    unsigned count, uint16_t *out)
{
	int rc;

	int64_t t0;

	sb_pace(dev->last_io_ms, dev->min_gap_ms);
	t0 = mono_us();
	if (fc == 4)
		rc = modbus_read_input_registers(ctx, (int)addr, (int)count, out);
	else
		rc = modbus_read_registers(ctx, (int)addr, (int)count, out);
	dev->last_io_ms = mono_now_ms();
	if (rc >= 0 && rc != (int)count)
		errno = EMBBADDATA;
	sb_io_count(dev, mono_us() - t0, rc == (int)count ? 0 : errno);
	if (rc == (int)count)
		return 0;
	return -1;
}

/* Reads a read-only span: 04, or 03 once the device refused 04 (the
 * refusal is remembered).  Holding-register rows are read with 03. */
static int
read_ro(struct sb_dev *dev, modbus_t *ctx, int table_fc, unsigned addr,
    unsigned count, uint16_t *out)
{
	if (table_fc == 4 && !dev->ro_fc03) {
		if (read_regs(dev, ctx, 4, addr, count, out) == 0)
			return 0;
		if (errno != EMBXILFUN)
			return -1;
		dev->ro_fc03 = true;
		dev->rd.ro_uses_fc03 = true;
		log_debug("sb", "%s: function 04 refused, using 03",
		    dev->name);
	}
	return read_regs(dev, ctx, 3, addr, count, out);
}

/* The device's entry for addr among the refused registers, or NULL. */
static struct sb_refused *
refused_entry(struct sb_dev *dev, unsigned addr)
{
	for (int i = 0; i < dev->n_unsup; i++)
		if (dev->unsup[i].addr == addr)
			return &dev->unsup[i];
	return NULL;
}

/* True when the device refused addr before (on any connection) and it
 * is not being asked again. */
static bool
known_unsupported(const struct sb_dev *dev, unsigned addr)
{
	for (int i = 0; i < dev->n_unsup; i++)
		if (dev->unsup[i].addr == addr)
			return !dev->unsup[i].retry;
	return false;
}

/* Writes the reading's list of refused registers ("11145 c.type,
 * 0 control-mode"). */
static void
unsupported_text(struct sb_dev *dev)
{
	char *t = dev->rd.unsupported;
	size_t len = 0, size = sizeof dev->rd.unsupported;

	t[0] = '\0';
	for (int i = 0; i < dev->n_unsup && len < size; i++) {
		int n = snprintf(t + len, size - len, "%s%u %s",
		    len > 0 ? ", " : "", dev->unsup[i].addr,
		    sb_what_name(dev->unsup[i].reg->what));
		if (n < 0)
			break;
		len += (size_t)n;
	}
}

/* A register read or written without an exception: when it was refused
 * before and asked again, it is supported from now on, and said so. */
static void
came_back(struct sb_dev *dev, unsigned addr)
{
	struct sb_refused *e;

	if (dev->n_unsup == 0 || (e = refused_entry(dev, addr)) == NULL ||
	    !e->retry)
		return;
	log_info("%s: register %u (%s) answers again: used from now on",
	    dev->name, addr, sb_what_name(e->reg->what));
	*e = dev->unsup[--dev->n_unsup];
	unsupported_text(dev);
}

/* Stores a decoded row into the reading. */
static void
store_row(struct sb_dev *dev, const struct sb_row *row, const uint16_t *regs)
{
	const struct sb_reg *r = row->reg;
	struct sb_charger_reading *rd = &dev->rd;
	struct sb_meter_reading *m = &dev->mrd;
	struct sb_connector_reading *c = NULL;
	double v = NAN;

	if (row->connector >= 1 && row->connector <= SB_MAX_CONNECTORS)
		c = &rd->conn[row->connector - 1];
	came_back(dev, row->addr);
	if (r->type != SB_T_ASCII)
		v = sb_decode_value(r, regs, dev->words);
	if (r->type == SB_T_F32 && isnan(v))
		dev->not_a_number = sb_what_name(r->what); /* NAN = not read */

	switch (r->what) {
	case SB_W_PRODUCT_TYPE:
		sb_decode_ascii(regs, r->count, rd->product_type,
		    sizeof rd->product_type);
		break;
	case SB_W_FIRMWARE:
		sb_decode_ascii(regs, r->count, rd->firmware,
		    sizeof rd->firmware);
		break;
	case SB_W_SERIAL:
		sb_decode_ascii(regs, r->count, rd->serial, sizeof rd->serial);
		break;
	case SB_W_N_CONNECTORS:
		/* DC: two registers (150, 10116); a count wins over none */
		if (v >= 1 || rd->n_connectors <= 0)
			rd->n_connectors = (int)v;
		break;
	case SB_W_MAX_CURRENT: rd->max_current_a = v; break;
	case SB_W_MAX_POWER: rd->max_power_w = v; break;
	case SB_W_MAX_OFFLINE_POWER: rd->max_offline_power_w = v; break;
	case SB_W_STATUS: rd->status = (int)v; break;
	case SB_W_POWER: rd->power_w = v; break;
	case SB_W_PHASE_SWITCH:
		/* 0 = L1/L2/L3, 1..3 = one phase, 4..8 IT variants */
		rd->phase_switch = v >= 0 && v <= 8 ? (int)v : -1;
		break;
	case SB_W_C_ID_TOKEN:
		if (c != NULL)
			sb_decode_ascii(regs, r->count, c->id_token,
			    sizeof c->id_token);
		break;
	case SB_W_M_VOLTAGE_L1: m->voltage_v[0] = v; break;
	case SB_W_M_VOLTAGE_L2: m->voltage_v[1] = v; break;
	case SB_W_M_VOLTAGE_L3: m->voltage_v[2] = v; break;
	case SB_W_M_CURRENT_L1: m->current_a[0] = v; break;
	case SB_W_M_CURRENT_L2: m->current_a[1] = v; break;
	case SB_W_M_CURRENT_L3: m->current_a[2] = v; break;
	case SB_W_M_POWER_L1: m->power_w[0] = v; break;
	case SB_W_M_POWER_L2: m->power_w[1] = v; break;
	case SB_W_M_POWER_L3: m->power_w[2] = v; break;
	case SB_W_M_TOTAL_POWER: m->total_power_w = v; break;
	case SB_W_M_FREQUENCY: m->frequency_hz = v; break;
	case SB_W_M_IMPORT: m->import_kwh = v; break;
	case SB_W_M_EXPORT: m->export_kwh = v; break;
	default:
		break;
	}
	if (c == NULL)
		return;
	switch (r->what) {
	case SB_W_C_STATUS: c->status = (int)v; break;
	case SB_W_C_POWER: c->power_w = v; break;
	case SB_W_C_VOLTAGE_L1: c->voltage_v[0] = v; break;
	case SB_W_C_VOLTAGE_L2: c->voltage_v[1] = v; break;
	case SB_W_C_VOLTAGE_L3: c->voltage_v[2] = v; break;
	case SB_W_C_CURRENT_L1: c->current_a[0] = v; break;
	case SB_W_C_CURRENT_L2: c->current_a[1] = v; break;
	case SB_W_C_CURRENT_L3: c->current_a[2] = v; break;
	case SB_W_C_POWER_L1: c->phase_power_w[0] = v; break;
	case SB_W_C_POWER_L2: c->phase_power_w[1] = v; break;
	case SB_W_C_POWER_L3: c->phase_power_w[2] = v; break;
	case SB_W_C_ENERGY: c->energy_wh = v; break;
	case SB_W_C_SESSION_ENERGY: c->session_energy_wh = v; break;
	case SB_W_C_CHARGE_TIME: c->charge_time_s = (int)v; break;
	case SB_W_C_TYPE: c->connector_type = (int)v; break;
	case SB_W_C_SOC: c->soc_pct = (int)v; break;
	case SB_W_C_FAULT_EU: c->fault_code_eu = (int64_t)v; break;
	case SB_W_C_FAULT_US: c->fault_code_us = (int64_t)v; break;
	default:
		break;
	}
}

/* What the gateway does without a row, for the log line. */
static const char *
without(const struct sb_dev *dev, enum sb_what what, unsigned addr)
{
	switch (what) {
	case SB_W_N_CONNECTORS:
		if (addr == 150)
			return "not a DC HiPower: the count is read at 10116";
		if (sb_reg_find(dev->model, SB_W_N_CONNECTORS)->base == 150)
			return "the count is read at 150 (DC HiPower)";
		return "left unknown";
	case SB_W_CONTROL_MODE:
		return dev->unit == SB_CONTROL_CURRENT ?
		    "limits written in A (0.01 A registers)" :
		    "limits written in W";
	case SB_W_COMM_TIMEOUT:
		return "the charger relies on the offline limits written to "
		    "it (falls back after its own timeout)";
	case SB_W_C_STATUS:
		return "connector status derived from the charger's";
	case SB_W_C_POWER:
		return "connector power taken from the charger's";
	case SB_W_MAX_POWER:
	case SB_W_MAX_CURRENT:
	case SB_W_MAX_OFFLINE_POWER:
		return "the configured maximum is not checked against it";
	default:
		return "left unknown";
	}
}

/* Remembers that the device refused a row's address with exception err
 * (kept across connections, shown in the reading) and says so once. */
static void
mark_unsupported(struct sb_dev *dev, const struct sb_reg *r, unsigned addr,
    int err)
{
	struct sb_refused *e = refused_entry(dev, addr);

	if (e != NULL) {
		e->retry = false; /* asked again, refused again: said before */
		return;
	}
	if (dev->n_unsup < SB_MAX_UNSUPPORTED) {
		e = &dev->unsup[dev->n_unsup++];
		e->addr = (uint16_t)addr;
		e->reg = r;
		e->retry = false;
		unsupported_text(dev);
	}
	log_info("%s: register %u (%s) not supported (exception %02d): %s",
	    dev->name, addr, sb_what_name(r->what), err - MODBUS_ENOBASE,
	    without(dev, r->what, addr));
}

/* The registers n rows (sorted by address) span from the first's. */
static unsigned
run_regs(const struct sb_row *rows, unsigned n)
{
	unsigned end = 0;

	for (unsigned k = 0; k < n; k++)
		if (rows[k].addr + rows[k].reg->count > end)
			end = rows[k].addr + rows[k].reg->count;
	return end - rows[0].addr;
}

/* What one read of a plan covers: the rows whose rate is above `lo`
 * and at most `hi` (a first read has lo = -1; a second read in the same
 * poll, for what the first one left out, starts at the first's hi). */
struct rates {
	int lo, hi;
};
#define RATES_ALL ((struct rates){ -1, SB_RATE_SLOW })

static bool answers(const struct sb_dev *dev, enum sb_what what);

/* Is connector k (1..n) drawing power by its last reading? */
static bool
drawing(const struct sb_dev *dev, int k)
{
	return k >= 1 && k <= SB_MAX_CONNECTORS &&
	    dev->rd.conn[k - 1].power_w > 0;
}

/* How often a row of the poll plan is read now; see sb-private.h.  Some
 * rows are needed every poll only while the connector's state depends
 * on them. */
enum sb_rate
sb_drv_row_rate(const struct sb_dev *dev, const struct sb_row *row)
{
	enum sb_what w = row->reg->what;
	const struct sb_connector_reading *c = row->connector >= 1 &&
	    row->connector <= SB_MAX_CONNECTORS ?
	    &dev->rd.conn[row->connector - 1] : NULL;

	if (dev->is_meter)
		return sb_what_is_slow(w) ? SB_RATE_SLOW : SB_RATE_POLL;
	if (sb_what_is_slow(w))
		return SB_RATE_SLOW;
	switch (w) {
	case SB_W_C_STATUS:
		return SB_RATE_STATUS;
	case SB_W_STATUS:
		/* what a derived connector status is made of; beside
		 * connector statuses of their own it feeds nothing */
		return answers(dev, SB_W_C_STATUS) ? SB_RATE_MEDIUM :
		    SB_RATE_STATUS;
	case SB_W_POWER:
		/* the connector's power where the model lists none */
		return answers(dev, SB_W_C_POWER) ? SB_RATE_MEDIUM :
		    SB_RATE_POLL;
	case SB_W_C_ID_TOKEN:
		/* while nothing is drawn, part of a derived status (a
		 * session without power shows by it), and what authorizes
		 * a session until it has one */
		if (drawing(dev, row->connector))
			return SB_RATE_MEDIUM;
		return !answers(dev, SB_W_C_STATUS) || c == NULL ||
		    c->id_token[0] == '\0' ? SB_RATE_POLL : SB_RATE_MEDIUM;
	case SB_W_C_CHARGE_TIME:
		/* part of a derived status while nothing is drawn */
		return answers(dev, SB_W_C_STATUS) ||
		    drawing(dev, row->connector) ? SB_RATE_MEDIUM :
		    SB_RATE_POLL;
	case SB_W_C_SESSION_ENERGY:
	case SB_W_C_SOC:
	case SB_W_C_CURRENT_L1:
	case SB_W_C_CURRENT_L2:
	case SB_W_C_CURRENT_L3:
	case SB_W_C_POWER_L1:
	case SB_W_C_POWER_L2:
	case SB_W_C_POWER_L3:
	case SB_W_C_FAULT_EU:
	case SB_W_C_FAULT_US:
		return SB_RATE_MEDIUM;
	default:
		return SB_RATE_POLL;
	}
}

/* Is the row left out of a read covering rates r? */
static bool
skipped(const struct sb_dev *dev, const struct sb_row *row, struct rates r)
{
	int rate = (int)sb_drv_row_rate(dev, row);

	return rate <= r.lo || rate > r.hi;
}

/* Reads a block the device refused as a whole: in runs of adjacent rows
 * (no unlisted address in between), and a run it refuses row by row; a
 * row it refuses alone is unsupported.  A run neither starts nor ends
 * with a row outside the rates read.  0 or a driver error. */
static int
read_runs(struct sb_dev *dev, modbus_t *ctx, struct sb_block *blk,
    struct sb_row *rows, struct rates r)
{
	uint16_t buf[SB_MAX_READ_REGS];

	for (unsigned i = 0; i < blk->n_rows;) {
		unsigned n = 1, end;

		if (rows[i].unsupported || skipped(dev, &rows[i], r)) {
			i++;
			continue;
		}
		while (!rows[i].alone && i + n < blk->n_rows &&
		    !rows[i + n].unsupported && !rows[i + n].alone &&
		    rows[i + n].addr <= rows[i].addr + run_regs(rows + i, n))
			n++;
		while (n > 1 && skipped(dev, &rows[i + n - 1], r))
			n--;
		end = rows[i].addr + run_regs(rows + i, n);
		if (read_ro(dev, ctx, blk->fc, rows[i].addr,
		    end - rows[i].addr, buf) == 0) {
			for (unsigned k = 0; k < n; k++)
				store_row(dev, &rows[i + k],
				    buf + (rows[i + k].addr - rows[i].addr));
			i += n;
			continue;
		}
		if (errno != EMBXILADD)
			return fail_errno(dev, errno, "read", rows[i].addr);
		if (n > 1) {
			for (unsigned k = 0; k < n; k++)
				rows[i + k].alone = true;
			continue; /* the same rows again, one by one */
		}
		rows[i].unsupported = true;
		mark_unsupported(dev, rows[i].reg, rows[i].addr, EMBXILADD);
		i++;
	}
	return 0;
}

/* Reads every block of a plan and stores the rows; the rows outside the
 * rates read are left out at either end of a block (a block of such rows
 * only is not read).  A span the device refuses (illegal
 * data address) is read row by row from then on; a row it refuses alone
 * is marked unsupported and left unknown. */
static int
read_plan(struct sb_dev *dev, modbus_t *ctx, struct sb_plan *plan,
    struct rates r)
{
	uint16_t buf[SB_MAX_READ_REGS];
	int rc;

	for (size_t b = 0; b < plan->n_blocks; b++) {
		struct sb_block *blk = &plan->blocks[b];
		struct sb_row *rows = &plan->rows[blk->first_row];

		if (!blk->split) {
			unsigned first = 0, n = blk->n_rows;

			while (first < n && skipped(dev, &rows[first], r))
				first++;
			while (n > first && skipped(dev, &rows[n - 1], r))
				n--;
			if (first == n)
				continue;
			unsigned addr = rows[first].addr;
			if (read_ro(dev, ctx, blk->fc, addr,
			    run_regs(rows + first, n - first), buf) == 0) {
				for (unsigned i = first; i < n; i++)
					store_row(dev, &rows[i],
					    buf + (rows[i].addr - addr));
				continue;
			}
			if (errno != EMBXILADD || blk->n_rows == 1) {
				if (errno == EMBXILADD) {
					rows[0].unsupported = true;
					blk->split = true;
					mark_unsupported(dev, rows[0].reg,
					    rows[0].addr, EMBXILADD);
					continue;
				}
				return fail_errno(dev, errno, "read",
				    blk->addr);
			}
			blk->split = true;
		}
		if ((rc = read_runs(dev, ctx, blk, rows, r)) != 0)
			return rc;
	}
	return 0;
}

/* Writes registers (06 for one, 16 for more); 0 or -1 with errno. */
static int
write_regs(struct sb_dev *dev, modbus_t *ctx, unsigned addr, unsigned count,
    const uint16_t *regs)
{
	int rc;

	int64_t t0;

	sb_pace(dev->last_io_ms, dev->min_gap_ms);
	t0 = mono_us();
	if (count == 1)
		rc = modbus_write_register(ctx, (int)addr, regs[0]);
	else
		rc = modbus_write_registers(ctx, (int)addr, (int)count, regs);
	dev->last_io_ms = mono_now_ms();
	sb_io_count(dev, mono_us() - t0, rc >= 0 ? 0 : errno);
	if (rc >= 0)
		return 0;
	return -1;
}

/* Writes raw into a numeric row and reads it back.  0, SB_DRV_IO or
 * SB_DRV_DEVICE (read back differs). */
static int
write_checked(struct sb_dev *dev, modbus_t *ctx, const struct sb_reg *r,
    unsigned addr, uint64_t raw)
{
	uint16_t out[4], back[4];
	uint64_t got;

	sb_encode_uint(raw, r->type, dev->words, out);
	if (write_regs(dev, ctx, addr, r->count, out) != 0)
		return fail_errno(dev, errno, "write", addr);
	if (read_regs(dev, ctx, 3, addr, r->count, back) != 0)
		return fail_errno(dev, errno, "read back", addr);
	got = sb_decode_uint(back, r->type, dev->words);
	if (got != raw) {
		dev->rd.readback_errors++;
		return fail(dev, SB_DRV_DEVICE, SB_FAULT_READBACK,
		    "%s at %u: wrote %llu, read back %llu",
		    sb_what_name(r->what), addr, (unsigned long long)raw,
		    (unsigned long long)got);
	}
	return 0;
}

/* Sets every reading field to "unknown". */
void
sb_reading_clear(struct sb_charger_reading *rd)
{
	size_t index = rd->index;
	uint64_t polls = rd->polls, rb = rd->readback_errors;
	uint64_t done = rd->commands_done;
	int result = rd->command_result;
	char unsupported[sizeof rd->unsupported];

	memcpy(unsupported, rd->unsupported, sizeof unsupported);
	memset(rd, 0, sizeof *rd);
	memcpy(rd->unsupported, unsupported, sizeof unsupported);
	rd->index = index;
	rd->polls = polls;
	rd->readback_errors = rb;
	rd->commands_done = done;
	rd->command_result = result;
	rd->n_connectors = -1;
	rd->max_power_w = rd->max_current_a = rd->max_offline_power_w = NAN;
	rd->status = -1;
	rd->phase_switch = -1;
	rd->power_w = NAN;
	for (int i = 0; i < SB_MAX_CONNECTORS; i++) {
		struct sb_connector_reading *c = &rd->conn[i];
		c->status = -1;
		c->power_w = NAN;
		for (int k = 0; k < 3; k++)
			c->voltage_v[k] = c->current_a[k] =
			    c->phase_power_w[k] = NAN;
		c->energy_wh = c->session_energy_wh = c->energy_base_wh = NAN;
		c->charge_time_s = c->soc_pct = c->connector_type = -1;
		c->fault_code_eu = c->fault_code_us = -1;
		c->limit_written = NAN;
	}
}

/* Sets every meter field to "unknown". */
void
sb_meter_reading_clear(struct sb_meter_reading *m)
{
	uint64_t polls = m->polls;
	int64_t updated = m->updated_ms;

	memset(m, 0, sizeof *m);
	m->polls = polls;
	m->updated_ms = updated;
	m->age_ms = -1;
	for (int k = 0; k < 3; k++)
		m->voltage_v[k] = m->current_a[k] = m->power_w[k] = NAN;
	m->total_power_w = m->frequency_hz = NAN;
	m->import_kwh = m->export_kwh = NAN;
}

/* Marks the rows the device refused before: never asked again, and
 * their blocks read row by row. */
static void
skip_unsupported(const struct sb_dev *dev, struct sb_plan *plan)
{
	for (size_t b = 0; b < plan->n_blocks; b++) {
		struct sb_block *blk = &plan->blocks[b];

		for (unsigned i = 0; i < blk->n_rows; i++) {
			struct sb_row *row = &plan->rows[blk->first_row + i];

			if (known_unsupported(dev, row->addr)) {
				row->unsupported = true;
				blk->split = true;
			}
		}
	}
}

/* Forgets what was learnt on the previous connection. */
void
sb_drv_reset(struct sb_dev *dev)
{
	dev->identified = false;
	dev->last_io_ms = 0;
	dev->polls_to_full = dev->polls_to_medium = 0;
	sb_plan_reads(dev->model, SB_PH_IDENTITY, dev->n_conn, &dev->id_plan);
	sb_plan_reads(dev->model, SB_PH_POLL, dev->n_conn, &dev->poll_plan);
	skip_unsupported(dev, &dev->id_plan);
	skip_unsupported(dev, &dev->poll_plan);
}

/* Asks the refused registers again; see sb-private.h. */
bool
sb_drv_reprobe(struct sb_dev *dev)
{
	bool any = false;

	for (int i = 0; i < dev->n_unsup; i++)
		if (!dev->unsup[i].retry)
			any = dev->unsup[i].retry = true;
	if (!any)
		return false;
	/* planned again without them; identity and configuration again */
	sb_plan_reads(dev->model, SB_PH_IDENTITY, dev->n_conn, &dev->id_plan);
	sb_plan_reads(dev->model, SB_PH_POLL, dev->n_conn, &dev->poll_plan);
	dev->identified = false;
	dev->polls_to_full = dev->polls_to_medium = 0;
	return true;
}

/* Writes configuration register `what` (0 or 2) and reads it back.  A
 * model whose table does not list it, or a device that refuses it with
 * an exception, goes on without it; either is said once. */
static int
write_config(struct sb_dev *dev, modbus_t *ctx, enum sb_what what,
    uint64_t value)
{
	const struct sb_reg *r = sb_reg_find(dev->model, what);
	bool *told = what == SB_W_CONTROL_MODE ? &dev->told_no_mode :
	    &dev->told_no_timeout;
	int rc;

	if (r == NULL) {
		if (!*told)
			log_info("%s: register %u not in the manual's table "
			    "for %s: %s", dev->name,
			    what == SB_W_CONTROL_MODE ? 0u : 2u,
			    dev->model->name, without(dev, what, 0));
		*told = true;
		return 0;
	}
	if (known_unsupported(dev, r->base))
		return 0;
	rc = write_checked(dev, ctx, r, r->base, value);
	if (rc == 0)
		came_back(dev, r->base);
	if (rc == SB_DRV_IO && dev->rd.fault == SB_FAULT_EXCEPTION &&
	    r->optional) {
		mark_unsupported(dev, r, r->base, dev->last_errno);
		*told = true;
		dev->rd.fault = SB_FAULT_NONE;
		dev->rd.error[0] = '\0';
		return 0;
	}
	return rc;
}

/* Warns once when the configuration asks more than the charger says it
 * can: the maximum power (10119) and the offline power (10121, DC). */
static void
check_maxima(struct sb_dev *dev)
{
	const struct sb_charger_reading *rd = &dev->rd;

	if (dev->told_maxima)
		return;
	dev->told_maxima = true;
	if (dev->max_power_w > 0 && rd->max_power_w > 0 &&
	    dev->max_power_w > rd->max_power_w)
		log_warnx("%s: configured maximum %.0f W is above the %.0f W "
		    "the charger reports (10119): it will not draw more",
		    dev->name, dev->max_power_w, rd->max_power_w);
	if (dev->offline_total_w > 0 && rd->max_offline_power_w > 0 &&
	    dev->offline_total_w > rd->max_offline_power_w)
		log_warnx("%s: configured offline power %.0f W is above the "
		    "%.0f W the charger allows offline (10121)", dev->name,
		    dev->offline_total_w, rd->max_offline_power_w);
}

/* Reads the identity and writes control mode and comm timeout. */
int
sb_drv_identify(struct sb_dev *dev, modbus_t *ctx, int comm_timeout_s)
{
	int rc;

	if (dev->is_meter) {
		dev->identified = true;
		return 0;
	}
	dev->rd.product_type[0] = dev->rd.firmware[0] = dev->rd.serial[0] = 0;
	if ((rc = read_plan(dev, ctx, &dev->id_plan, RATES_ALL)) != 0)
		return rc;
	if (dev->want_serial[0] != '\0' &&
	    strcmp(dev->want_serial, dev->rd.serial) != 0) {
		char esc[64];
		log_escape(dev->rd.serial, strlen(dev->rd.serial), esc,
		    sizeof esc);
		return fail(dev, SB_DRV_DEVICE, SB_FAULT_IDENTITY,
		    "serial number \"%s\" is not the configured \"%s\"", esc,
		    dev->want_serial);
	}
	if (dev->rd.n_connectors >= 1 && dev->rd.n_connectors < dev->n_conn)
		return fail(dev, SB_DRV_DEVICE, SB_FAULT_IDENTITY,
		    "the charger reports %d connector(s), %d configured",
		    dev->rd.n_connectors, dev->n_conn);
	check_maxima(dev);
	if ((rc = write_config(dev, ctx, SB_W_CONTROL_MODE,
	    dev->unit == SB_CONTROL_CURRENT ? 1 : 0)) != 0 ||
	    (rc = write_config(dev, ctx, SB_W_COMM_TIMEOUT,
	    (uint64_t)comm_timeout_s)) != 0)
		return rc;
	dev->identified = true;
	return 0;
}

/* True when the model lists `what` for connector 1 and the device has
 * not refused it. */
static bool
answers(const struct sb_dev *dev, enum sb_what what)
{
	const struct sb_reg *r = sb_reg_find(dev->model, what);

	return r != NULL && !known_unsupported(dev, sb_reg_addr(r, 1));
}

/* Fills connector values a one-connector model does not list (or did
 * not answer) from the charger-wide registers it does list:
 * - energy (models without 1y035): see the loop below;
 * - power: the charger's power (10005);
 * - status: the charger's 8 (unavailable) or 10 (faulted) as they are;
 *   else charging (3) when it draws power; suspendedEVSE (5) when a
 *   session is on (its charging time or IdToken is set) without power
 *   (nothing listed tells an EV that stopped drawing: the balancer goes
 *   on offering it power); available (0) otherwise. */
static void
derive(struct sb_dev *dev)
{
	struct sb_charger_reading *rd = &dev->rd;
	struct sb_connector_reading *c = &rd->conn[0];

	/* Models without a cumulative register (DC): a running total of
	 * the session energy 1500+x, carried over when a session ends (the
	 * session counter drops).  The daemon keeps it across restarts
	 * (energy_base_wh / session_last_wh in the description). */
	for (int k = 0; k < dev->n_conn && !answers(dev, SB_W_C_ENERGY); k++) {
		struct sb_connector_reading *x = &rd->conn[k];

		if (isnan(x->session_energy_wh))
			continue;
		if (x->session_energy_wh < dev->session_last_wh[k])
			dev->energy_base_wh[k] += dev->session_last_wh[k];
		dev->session_last_wh[k] = x->session_energy_wh;
		x->energy_wh = dev->energy_base_wh[k] + x->session_energy_wh;
		x->energy_base_wh = dev->energy_base_wh[k];
	}
	if (dev->n_conn != 1)
		return;
	if (!answers(dev, SB_W_C_POWER))
		c->power_w = rd->power_w;
	if (answers(dev, SB_W_C_STATUS))
		return;
	c->status = -1;
	if (rd->status < 0)
		return;
	if (rd->status == SB_STATUS_UNAVAILABLE ||
	    rd->status == SB_STATUS_FAULTED)
		c->status = rd->status;
	else if (c->power_w > 0)
		c->status = SB_STATUS_CHARGING;
	else if (c->id_token[0] != '\0' || c->charge_time_s > 0)
		c->status = SB_STATUS_SUSPENDED_EVSE;
	else
		c->status = SB_STATUS_AVAILABLE;
}

/* Did the charger's or a connector's status change from old to now? */
static bool
status_changed(const struct sb_charger_reading *old,
    const struct sb_charger_reading *now, int n_conn)
{
	if (old->status != now->status)
		return true;
	for (int k = 0; k < n_conn; k++)
		if (old->conn[k].status != now->conn[k].status)
			return true;
	return false;
}

/* Plausibility bounds (docs/southbound.md): power up to this factor of
 * the maximum, voltages up to these. */
#define SB_PLAUSIBLE_FACTOR 1.2
#define SB_AC_VOLTAGE_MAX 500.0
#define SB_DC_VOLTAGE_MAX 1000.0
#define SB_CHARGER_POWER_MAX 2e6  /* when no maximum is known */
#define SB_SITE_POWER_MAX 1e7

/* Checks v against [lo, hi] (NAN = not read: fine); on failure writes
 * why and returns false. */
static bool
in_range(double v, double lo, double hi, const char *what, const char *unit,
    char *why, size_t len)
{
	if (isnan(v))
		return true; /* not read (a float NaN is caught apart) */
	if (isfinite(v) && v >= lo && v <= hi)
		return true;
	snprintf(why, len, "%s %g %s out of range %g..%g", what, v, unit, lo,
	    hi);
	return false;
}

/* The charger's values against their physical range; false and why. */
static bool
charger_plausible(const struct sb_dev *dev, char *why, size_t len)
{
	const struct sb_charger_reading *rd = &dev->rd;
	bool dc = sb_reg_find(dev->model, SB_W_C_SOC) != NULL;
	double maxw = dev->max_power_w > 0 ? dev->max_power_w :
	    isfinite(rd->max_power_w) && rd->max_power_w > 0 ?
	    rd->max_power_w : SB_CHARGER_POWER_MAX;
	double pmax = maxw * SB_PLAUSIBLE_FACTOR;
	double vmax = dc ? SB_DC_VOLTAGE_MAX : SB_AC_VOLTAGE_MAX;
	bool ok;

	why[0] = '\0';
	ok = in_range(rd->power_w, 0, pmax, "charger power", "W", why, len) &&
	    (rd->status < 0 || in_range(rd->status, 0, 11, "charger status", "",
	    why, len));
	for (int k = 0; ok && k < dev->n_conn; k++) {
		const struct sb_connector_reading *c = &rd->conn[k];
		char w[32];

		snprintf(w, sizeof w, "connector %d", k + 1);
		ok = in_range(c->power_w, 0, pmax, w, "W (power)", why, len) &&
		    (c->status < 0 ||
		    in_range(c->status, 0, 11, w, "(status)", why, len)) &&
		    (c->soc_pct < 0 ||
		    in_range(c->soc_pct, 0, 100, w, "% (SoC)", why, len));
		for (int p = 0; ok && p < 3; p++)
			ok = in_range(c->voltage_v[p], 0, vmax, w, "V", why,
			    len) && in_range(c->phase_power_w[p], 0, pmax, w,
			    "W (phase power)", why, len);
	}
	return ok;
}

/* The meter's values against their physical range; false and why. */
static bool
meter_plausible(const struct sb_dev *dev, char *why, size_t len)
{
	const struct sb_meter_reading *m = &dev->mrd;
	double pmax = (dev->max_power_w > 0 ? dev->max_power_w :
	    SB_SITE_POWER_MAX) * SB_PLAUSIBLE_FACTOR;
	bool ok;

	why[0] = '\0';
	if (dev->not_a_number != NULL) {
		snprintf(why, len, "%s is not a number",
		    dev->not_a_number);
		return false;
	}
	ok = in_range(m->total_power_w, -pmax, pmax, "total power", "W", why,
	    len) && in_range(m->frequency_hz, 0, 100, "frequency", "Hz",
	    why, len) && in_range(m->import_kwh, 0, 1e12, "import", "kWh",
	    why, len) && in_range(m->export_kwh, 0, 1e12, "export", "kWh",
	    why, len);
	for (int p = 0; ok && p < 3; p++)
		ok = in_range(m->voltage_v[p], 0, SB_AC_VOLTAGE_MAX, "voltage",
		    "V", why, len) && in_range(m->power_w[p], -pmax, pmax,
		    "phase power", "W", why, len) && in_range(m->current_a[p],
		    -1e5, 1e5, "current", "A", why, len);
	return ok;
}

/* Is the charger idle: read before, every connector Available and
 * drawing nothing, by registers of its own (not a status derived from
 * power)?  Then a poll reads the statuses only until one changes. */
static bool
idle(const struct sb_dev *dev)
{
	if (dev->is_meter || dev->rd.polls == 0 ||
	    !answers(dev, SB_W_C_STATUS))
		return false;
	for (int k = 0; k < dev->n_conn; k++)
		if (dev->rd.conn[k].status != SB_STATUS_AVAILABLE ||
		    dev->rd.conn[k].power_w > 0)
			return false;
	return true;
}

/* Has a connector's power moved by SB_STEADY_W or more since the medium
 * rows were last read (or become known or unknown)? */
static bool
power_moved(const struct sb_dev *dev)
{
	for (int k = 0; k < dev->n_conn; k++) {
		double now = dev->rd.conn[k].power_w;
		double then = dev->medium_power_w[k];

		if (isnan(now) != isnan(then) ||
		    (!isnan(now) && fabs(now - then) >= SB_STEADY_W))
			return true;
	}
	return false;
}

/* Polls the device: every row whose rate is due (sb-private.h), and
 * more in the same poll when a status changed or a power moved. */
int
sb_drv_poll(struct sb_dev *dev, modbus_t *ctx, int64_t now_ms)
{
	struct sb_charger_reading old = dev->rd;
	struct sb_meter_reading mold = dev->mrd;
	char why[sizeof dev->rd.error];
	int rc;

	int hi = dev->polls_to_full == 0 ? SB_RATE_SLOW :
	    idle(dev) ? SB_RATE_STATUS :
	    dev->polls_to_medium == 0 ? SB_RATE_MEDIUM : SB_RATE_POLL;

	dev->not_a_number = NULL;
	if ((rc = read_plan(dev, ctx, &dev->poll_plan,
	    (struct rates){ -1, hi })) != 0)
		return rc;
	if (dev->is_meter && dev->model->n_regs > 0 &&
	    sb_reg_find(dev->model, SB_W_M_TOTAL_POWER) == NULL)
		dev->mrd.total_power_w = dev->mrd.power_w[0];
	if (!dev->is_meter) {
		int more = hi;

		derive(dev);
		/* a session began or ended: its energy now, not later; a
		 * power that moved: the currents that go with it now */
		if (status_changed(&old, &dev->rd, dev->n_conn))
			more = SB_RATE_SLOW;
		else if (power_moved(dev) && more < SB_RATE_MEDIUM)
			more = SB_RATE_MEDIUM;
		if (more > hi) {
			if ((rc = read_plan(dev, ctx, &dev->poll_plan,
			    (struct rates){ hi, more })) != 0)
				return rc;
			derive(dev);
			hi = more;
		}
	}
	if (dev->is_meter ? !meter_plausible(dev, why, sizeof why) :
	    !charger_plausible(dev, why, sizeof why)) {
		/* never fed to the balancer: the previous values stay */
		dev->rd = old;
		dev->mrd = mold;
		dev->rd.implausible++;
		dev->mrd.implausible++;
		return fail(dev, SB_DRV_IO, SB_FAULT_IMPLAUSIBLE, "%s", why);
	}
	if (hi == SB_RATE_SLOW)
		dev->polls_to_full = (idle(dev) ? SB_IDLE_FULL_EVERY :
		    SB_SLOW_EVERY) - 1;
	else
		dev->polls_to_full--;
	if (hi >= SB_RATE_MEDIUM) {
		dev->polls_to_medium = SB_MEDIUM_EVERY - 1;
		for (int k = 0; k < dev->n_conn && !dev->is_meter; k++)
			dev->medium_power_w[k] = dev->rd.conn[k].power_w;
	} else if (dev->polls_to_medium > 0)
		dev->polls_to_medium--;
	if (dev->is_meter) {
		dev->mrd.polls++;
		dev->mrd.updated_ms = now_ms;
	} else {
		dev->rd.polls++;
		dev->rd.updated_ms = now_ms;
	}
	return 0;
}

/* Writes a connector limit in the control unit and reads it back. */
int
sb_drv_write_limit(struct sb_dev *dev, modbus_t *ctx, int connector,
    bool offline, double value)
{
	enum sb_what w;
	const struct sb_reg *r;
	uint64_t raw;

	if (dev->unit == SB_CONTROL_CURRENT)
		w = offline ? SB_W_C_OFFLINE_CURRENT : SB_W_C_CURRENT_LIMIT;
	else
		w = offline ? SB_W_C_OFFLINE_POWER : SB_W_C_POWER_LIMIT;
	if ((r = sb_reg_find(dev->model, w)) == NULL)
		return fail(dev, SB_DRV_DEVICE, SB_FAULT_EXCEPTION,
		    "model %s has no %s register", dev->model->name,
		    sb_what_name(w));
	if (sb_limit_to_raw(r, value, &raw) != 0)
		return fail(dev, SB_DRV_DEVICE, SB_FAULT_EXCEPTION,
		    "limit %g %s out of range", value, r->unit);
	return write_checked(dev, ctx, r, sb_reg_addr(r, connector), raw);
}

/* Returns the row a command writes, or NULL. */
const struct sb_reg *
sb_drv_command_row(const struct sb_model_desc *m, enum sb_command cmd)
{
	switch (cmd) {
	case SB_CMD_START:
	case SB_CMD_STOP:
		return sb_reg_find(m, SB_W_C_START_STOP);
	case SB_CMD_LOCK:
	case SB_CMD_UNLOCK:
		return sb_reg_find(m, SB_W_C_LOCK);
	case SB_CMD_PHASE:
		return sb_reg_find(m, SB_W_PHASE_SWITCH);
	case SB_CMD_FIRMWARE:
		return sb_reg_find(m, SB_W_FIRMWARE_URL);
	}
	return NULL;
}

/* Runs a command on a connector. */
int
sb_drv_command(struct sb_dev *dev, modbus_t *ctx, int connector,
    enum sb_command cmd, int arg, const char *url)
{
	const struct sb_reg *r = sb_drv_command_row(dev->model, cmd);
	uint16_t regs[128];
	uint16_t v;
	unsigned addr;

	if (r == NULL)
		return fail(dev, SB_DRV_DEVICE, SB_FAULT_EXCEPTION,
		    "model %s has no register for command %d",
		    dev->model->name, (int)cmd);
	addr = sb_reg_addr(r, connector);
	if (cmd == SB_CMD_FIRMWARE) {
		/* 128 registers: more than one write may carry (123) */
		unsigned done = 0;

		if (url == NULL || sb_encode_ascii(url, r->count, regs) != 0)
			return fail(dev, SB_DRV_DEVICE, SB_FAULT_EXCEPTION,
			    "firmware URL longer than %u bytes",
			    2u * r->count);
		while (done < r->count) {
			unsigned n = r->count - done;
			if (n > SB_MAX_WRITE_REGS)
				n = SB_MAX_WRITE_REGS;
			if (write_regs(dev, ctx, addr + done, n,
			    regs + done) != 0)
				return fail_errno(dev, errno, "write",
				    addr + done);
			done += n;
		}
		return 0;
	}
	if (cmd == SB_CMD_PHASE) {
		/* written and read back: the charger switches only between
		 * charges, so the value read back is the one in force */
		if (arg < 0 || arg > 8)
			return fail(dev, SB_DRV_DEVICE, SB_FAULT_EXCEPTION,
			    "phase switching value %d out of range 0..8", arg);
		int rc = write_checked(dev, ctx, r, addr, (uint64_t)arg);

		/* refused with an exception (a car still drawing): the
		 * charger answered, the link is fine */
		if (rc == SB_DRV_IO && dev->rd.fault == SB_FAULT_EXCEPTION)
			return SB_DRV_DEVICE;
		if (rc != 0)
			return rc;
		dev->rd.phase_switch = arg;
		return 0;
	}
	switch (cmd) {
	case SB_CMD_START: v = 0; break;
	case SB_CMD_STOP: v = 1; break;
	case SB_CMD_LOCK: v = 0; break;
	case SB_CMD_UNLOCK: v = 1; break;
	case SB_CMD_PHASE:
	case SB_CMD_FIRMWARE:
	default: v = 0; break;
	}
	if (write_regs(dev, ctx, addr, 1, &v) != 0)
		return fail_errno(dev, errno, "write", addr);
	return 0;
}
