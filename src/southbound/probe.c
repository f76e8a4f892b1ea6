/* A one-shot, read-only identity probe for `ocpp-edgectl scan`: what
 * answers at a Modbus address, an Autel charger (which model, serial,
 * firmware, connectors, maxima, phases, word order) or an Eastron meter.
 * Unlike the link workers it never writes a register, so scanning a site
 * changes nothing on it. */
#include "config.h"

#include "southbound/sb-private.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <modbus.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"

struct sb_prober {
	modbus_t *ctx;
	bool fc03;      /* the current unit refused function 04 */
};

/* Opens the connection; *out is the caller's (sb_probe_close). */
int
sb_probe_open(const char *host, int port, const struct sb_serial_conf *serial,
    int timeout_ms, struct sb_prober **out, char **cause)
{
	char service[16];
	modbus_t *ctx;

	*out = NULL;
	if (timeout_ms < 10 || timeout_ms > 10000) {
		xasprintf(cause, "timeout %d ms out of range 10..10000",
		    timeout_ms);
		return SB_ERR_CONFIG;
	}
	if (serial != NULL) {
		ctx = modbus_new_rtu(serial->device, serial->baud,
		    serial->parity, 8, serial->stop_bits);
	} else {
		if (port < 1 || port > 65535) {
			xasprintf(cause, "port %d out of range 1..65535",
			    port);
			return SB_ERR_CONFIG;
		}
		snprintf(service, sizeof(service), "%d", port);
		ctx = modbus_new_tcp_pi(host, service);
	}
	if (ctx == NULL) {
		xasprintf(cause, "%s", modbus_strerror(errno));
		return SB_ERR_CONFIG;
	}
	modbus_set_response_timeout(ctx, (uint32_t)(timeout_ms / 1000),
	    (uint32_t)(timeout_ms % 1000) * 1000);
	modbus_set_byte_timeout(ctx, 0, 100 * 1000);
	if (serial != NULL)
		modbus_set_error_recovery(ctx, MODBUS_ERROR_RECOVERY_PROTOCOL);
	if (modbus_connect(ctx) != 0) {
		int e = errno;

		if (serial != NULL)
			xasprintf(cause, "cannot open %s: %s", serial->device,
			    modbus_strerror(e));
		else if (e == ETIMEDOUT || e == EINPROGRESS)
			xasprintf(cause, "no connection within %d ms",
			    timeout_ms);
		else
			xasprintf(cause, "%s", modbus_strerror(e));
		modbus_free(ctx);
		return serial != NULL ? SB_ERR_CONFIG : SB_ERR_DEVICE;
	}
	*out = xcalloc(1, sizeof(**out));
	(*out)->ctx = ctx;
	return SB_OK;
}

/* Wraps a socket a dial-in charger opened; *out is the caller's. */
int
sb_probe_adopt(int fd, int timeout_ms, struct sb_prober **out, char **cause)
{
	modbus_t *ctx;

	*out = NULL;
	if (timeout_ms < 10 || timeout_ms > 10000) {
		close(fd);
		xasprintf(cause, "timeout %d ms out of range 10..10000",
		    timeout_ms);
		return SB_ERR_CONFIG;
	}
	/* the address is never used: the socket is given */
	ctx = modbus_new_tcp("127.0.0.1", 502);
	if (ctx == NULL) {
		close(fd);
		xasprintf(cause, "%s", modbus_strerror(errno));
		return SB_ERR_SYSTEM;
	}
	modbus_set_socket(ctx, fd);
	modbus_set_response_timeout(ctx, (uint32_t)(timeout_ms / 1000),
	    (uint32_t)(timeout_ms % 1000) * 1000);
	modbus_set_byte_timeout(ctx, 0, 100 * 1000);
	*out = xcalloc(1, sizeof(**out));
	(*out)->ctx = ctx;
	return SB_OK;
}

/* Reads registers for `ocpp-edgectl read`. */
int
sb_probe_read(struct sb_prober *p, int unit_id, int fc, unsigned addr,
    unsigned count, uint16_t *out, int *fc_used, char **cause)
{
	int rc = -1;

	if (count < 1 || count > 125 || addr + count > 65536 ||
	    (fc != 0 && fc != 3 && fc != 4) || unit_id < 0 || unit_id > 255) {
		xasprintf(cause, "address %u + %u registers, function %d or "
		    "unit id %d out of range (1..125 registers within "
		    "0..65535, function 3 or 4, unit id 0..255)", addr, count,
		    fc, unit_id);
		return SB_ERR_RANGE;
	}
	modbus_set_slave(p->ctx, unit_id);
	if (fc != 3) {
		*fc_used = 4;
		rc = modbus_read_input_registers(p->ctx, (int)addr,
		    (int)count, out);
	}
	if (fc == 3 || (fc == 0 && rc < 0 && errno == EMBXILFUN)) {
		*fc_used = 3;
		rc = modbus_read_registers(p->ctx, (int)addr, (int)count, out);
	}
	if (rc == (int)count)
		return SB_OK;
	xasprintf(cause, "function %d at %u: %s", *fc_used, addr,
	    rc < 0 ? modbus_strerror(errno) : "short answer");
	return SB_ERR_DEVICE;
}

/* Writes 3 then 4 with the new slave id (`ocpp-edgectl slave-id`). */
int
sb_probe_set_slave_id(struct sb_prober *p, int unit_id, int new_id,
    char **cause)
{
	if (new_id < 1 || new_id > 247 || unit_id < 0 || unit_id > 255) {
		xasprintf(cause, "slave id %d or unit id %d out of range "
		    "(new id 1..247)", new_id, unit_id);
		return SB_ERR_RANGE;
	}
	modbus_set_slave(p->ctx, unit_id);
	if (modbus_write_register(p->ctx, 3, (uint16_t)new_id) != 1) {
		xasprintf(cause, "register 3 (slave id): %s",
		    modbus_strerror(errno));
		return SB_ERR_DEVICE;
	}
	if (modbus_write_register(p->ctx, 4, (uint16_t)new_id) != 1) {
		xasprintf(cause, "register 4 (slave id confirm): %s",
		    modbus_strerror(errno));
		return SB_ERR_DEVICE;
	}
	return SB_OK;
}

/* Closes and frees. */
void
sb_probe_close(struct sb_prober *p)
{
	if (p == NULL)
		return;
	modbus_close(p->ctx);
	modbus_free(p->ctx);
	free(p);
}

/* Reads read-only registers: 04, then 03 when the device answers
 * "illegal function" (remembered for the unit).  0 or -1 with errno. */
static int
read_ro(struct sb_prober *p, unsigned addr, unsigned count, uint16_t *out)
{
	if (!p->fc03) {
		if (modbus_read_input_registers(p->ctx, (int)addr, (int)count,
		    out) == (int)count)
			return 0;
		if (errno != EMBXILFUN)
			return -1;
		p->fc03 = true;
	}
	return modbus_read_registers(p->ctx, (int)addr, (int)count, out) ==
	    (int)count ? 0 : -1;
}

/* True when errno says nothing answered (as opposed to an exception). */
static bool
no_answer(int e)
{
	return e == ETIMEDOUT || e == ECONNRESET || e == EPIPE ||
	    e == ECONNREFUSED || e == EBADF;
}

/* Case-insensitive substring test. */
static bool
has_word(const char *text, const char *word)
{
	size_t n = strlen(word);

	for (const char *t = text; *t != '\0'; t++)
		if (strncasecmp(t, word, n) == 0)
			return true;
	return false;
}

/* Picks the model from the product type (register 100): "MaxiCharger
 * AC Wallbox", "... AC Ultra", "... DC Compact", "DH480", ... */
static bool
model_from_product(const char *pt, enum sb_model *model)
{
	if (has_word(pt, "DC ") || has_word(pt, " DC") ||
	    has_word(pt, "HiPower") || strncasecmp(pt, "DH", 2) == 0 ||
	    strncasecmp(pt, "DS", 2) == 0 || strncasecmp(pt, "DT", 2) == 0)
		*model = SB_MODEL_DC;
	else if (has_word(pt, "Ultra"))
		*model = SB_MODEL_AC_ULTRA;
	else if (has_word(pt, "Single"))
		*model = SB_MODEL_SINGLE;
	else if (has_word(pt, "Compact"))
		*model = SB_MODEL_AC_COMPACT;
	else if (has_word(pt, "Wallbox"))
		*model = SB_MODEL_AC_WALLBOX;
	else
		return false;
	return true;
}

/* Reads one UINT32 row of a model at connector c; decodes it with both
 * word orders.  0 or -1. */
static int
read_u32_both(struct sb_prober *p, const struct sb_model_desc *m,
    enum sb_what what, int c, double *high, double *low)
{
	const struct sb_reg *r = sb_reg_find(m, what);
	struct sb_words hw = { true, false }, lw = { false, false };
	uint16_t regs[2];

	if (r == NULL || r->type != SB_T_U32)
		return -1;
	if (read_ro(p, sb_reg_addr(r, c), 2, regs) != 0)
		return -1;
	*high = (double)sb_decode_uint(regs, SB_T_U32, hw) * r->scale;
	*low = (double)sb_decode_uint(regs, SB_T_U32, lw) * r->scale;
	return 0;
}

/* Reads an ASCII row into out; 0 or -1 with errno. */
static int
read_ascii(struct sb_prober *p, const struct sb_model_desc *m,
    enum sb_what what, char *out, size_t len)
{
	const struct sb_reg *r = sb_reg_find(m, what);
	uint16_t regs[SB_MAX_READ_REGS];

	out[0] = '\0';
	if (r == NULL || r->type != SB_T_ASCII) {
		errno = EMBXILADD;
		return -1;
	}
	if (read_ro(p, r->base, r->count, regs) != 0)
		return -1;
	sb_decode_ascii(regs, r->count, out, len);
	return 0;
}

/* Chooses the word order that makes a maximum plausible (lo..hi);
 * returns the value, or NAN when neither does. */
static double
pick_order(double high, double low, double lo, double hi,
    enum sb_word_order *order)
{
	if (high >= lo && high <= hi)
		return high;
	if (low >= lo && low <= hi) {
		*order = SB_WORDS_LOW_FIRST;
		return low;
	}
	return NAN;
}

/* Fills the charger part of out once the serial number was read. */
static void
probe_charger(struct sb_prober *p, struct sb_probe_result *out)
{
	const struct sb_model_desc *m;
	struct sb_words words;
	double hi, lo;
	int n;

	out->kind = SB_PROBE_CHARGER;
	if (!model_from_product(out->product_type, &out->model)) {
		/* Unknown product text: a DC status block answers on DC
		 * models only. */
		uint16_t v;

		out->model_guessed = true;
		out->model = read_ro(p, 1000, 1, &v) == 0 ? SB_MODEL_DC :
		    SB_MODEL_AC_WALLBOX;
	}
	m = sb_model_desc(out->model);
	(void)read_ascii(p, m, SB_W_FIRMWARE, out->firmware,
	    sizeof(out->firmware));

	out->word_order = SB_WORDS_MODEL;
	if (read_u32_both(p, m, SB_W_MAX_POWER, 0, &hi, &lo) == 0)
		out->max_power_w = pick_order(hi, lo, 500, 2e6,
		    &out->word_order);
	if (read_u32_both(p, m, SB_W_MAX_CURRENT, 0, &hi, &lo) == 0)
		out->max_current_a = pick_order(hi, lo, 1, 2000,
		    &out->word_order);
	if (read_u32_both(p, m, SB_W_MAX_OFFLINE_POWER, 0, &hi, &lo) == 0)
		out->max_offline_power_w = pick_order(hi, lo, 0, 2e6,
		    &out->word_order);

	/* every row the table has for it (DC: 150 on a HiPower, 10116 on
	 * the others): the first that gives a count */
	n = -1;
	for (size_t i = 0; i < m->n_regs && n <= 0; i++) {
		uint16_t v;

		if (m->regs[i].what == SB_W_N_CONNECTORS &&
		    read_ro(p, m->regs[i].base, 1, &v) == 0)
			n = v;
	}
	out->n_connectors = n > 0 && n <= SB_MAX_CONNECTORS ? n : 0;

	/* Phases: the voltages of connector 1 (0 on phases the charger does
	 * not have); else the ratio of maximum power to maximum current. */
	words = sb_words_for(m, out->word_order);
	if (out->model == SB_MODEL_DC) {
		out->phases = 3;
	} else {
		const struct sb_reg *r = sb_reg_find(m, SB_W_C_VOLTAGE_L1);
		uint16_t regs[6];
		int live = 0;

		if (r != NULL && read_ro(p, sb_reg_addr(r, 1), 6, regs) == 0) {
			for (int i = 0; i < 3; i++) {
				out->voltage_v[i] = (double)sb_decode_uint(
				    regs + 2 * i, SB_T_U32, words) * r->scale;
				if (out->voltage_v[i] > 50)
					live++;
			}
			out->phases = live == 3 ? 3 : live == 1 ? 1 : 0;
		}
		if (out->phases == 0 && !isnan(out->max_power_w) &&
		    !isnan(out->max_current_a) && out->max_current_a > 0) {
			double ph = out->max_power_w /
			    (out->max_current_a * 230);
			out->phases = ph > 2 ? 3 : 1;
		}
		/* The Wallbox's table lists only the maximum current (10117):
		 * its power at 230 V on its phases, to the nearest 100 W. */
		if (isnan(out->max_power_w) && !isnan(out->max_current_a) &&
		    out->phases > 0)
			out->max_power_w = round(out->max_current_a * 230 *
			    out->phases / 100) * 100;
	}
}

/* Tells an Eastron meter by its input registers (float32, high word
 * first): voltages at 0x0000.., total power at 0x0034. */
static int
probe_meter(struct sb_prober *p, struct sb_probe_result *out)
{
	uint16_t regs[0x36];
	int live = 0;

	if (modbus_read_input_registers(p->ctx, 0, 0x36, regs) != 0x36)
		return -1;
	for (int i = 0; i < 3; i++) {
		out->voltage_v[i] = sb_decode_f32(regs + 2 * i, true);
		if (!isfinite(out->voltage_v[i]) || out->voltage_v[i] < 0 ||
		    out->voltage_v[i] > 1000)
			return -1;
		if (out->voltage_v[i] > 50)
			live++;
	}
	out->total_power_w = sb_decode_f32(regs + 0x34, true);
	if (!isfinite(out->total_power_w) || live == 0)
		return -1;
	out->kind = SB_PROBE_METER;
	out->meter_type = live == 3 ? SB_METER_SDM630 : SB_METER_SDM230;
	return 0;
}

/* Probes one unit id: charger first (register 100 and the serial number
 * at 10100), then meter. */
int
sb_probe_unit(struct sb_prober *p, int unit_id, struct sb_probe_result *out)
{
	const struct sb_model_desc *any = sb_model_desc(SB_MODEL_AC_WALLBOX);
	int e, rs;

	memset(out, 0, sizeof(*out));
	out->max_power_w = out->max_current_a = NAN;
	out->max_offline_power_w = out->total_power_w = NAN;
	p->fc03 = false;
	if (modbus_set_slave(p->ctx, unit_id) != 0) {
		snprintf(out->error, sizeof(out->error), "unit id %d out of "
		    "range 1..247", unit_id);
		return SB_ERR_RANGE;
	}
	if (read_ascii(p, any, SB_W_PRODUCT_TYPE, out->product_type,
	    sizeof(out->product_type)) != 0) {
		e = errno;
		if (no_answer(e)) {
			snprintf(out->error, sizeof(out->error),
			    "no answer (%s)", modbus_strerror(e));
			return SB_OK;
		}
	}
	rs = read_ascii(p, any, SB_W_SERIAL, out->serial, sizeof(out->serial));
	e = rs != 0 ? errno : 0;
	if (rs == 0 &&
	    (out->serial[0] != '\0' || out->product_type[0] != '\0')) {
		probe_charger(p, out);
		out->ro_uses_fc03 = p->fc03;
		return SB_OK;
	}
	out->product_type[0] = out->serial[0] = '\0';
	if (rs != 0 && no_answer(e)) {
		snprintf(out->error, sizeof(out->error), "no answer (%s)",
		    modbus_strerror(e));
		return SB_OK;
	}
	if (probe_meter(p, out) == 0)
		return SB_OK;
	snprintf(out->error, sizeof(out->error), "answers, but is neither "
	    "an Autel charger (serial number at 10100: %s) nor an Eastron "
	    "meter (no plausible voltages at 0x0000)", e != 0 ?
	    modbus_strerror(e) : "empty");
	return SB_OK;
}
