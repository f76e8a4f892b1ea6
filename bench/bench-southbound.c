/* Southbound benchmarks:
 * - one full cycle (a new setpoint for every charger, written and read
 *   back, plus a poll of every charger) for 40 and 200 AC chargers over
 *   loopback TCP, each charger on its own link, ms per cycle;
 * - one SDM630 poll over RTU at 9600 baud on a pseudo-terminal whose far
 *   end answers after the wire time, against the floor computed from the
 *   frame sizes (the ratio is the figure);
 * - 32 AC Wallboxes on one such bus: the poll cycle against its wire-time
 *   floor, and a setpoint for all of them until the last is written.
 * The devices are the test devices of tests/southbound/devsrv.c (one
 * serving thread for all of them). */
#define _GNU_SOURCE
#include "southbound/sb-private.h"
#include "southbound/southbound.h"

#include "common/util.h"
#include "timing.h"
#include "devsrv.h"

#include <modbus.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A condition on charger i's reading. */
typedef bool (*charger_done_fn)(const struct sb_charger_reading *, int i,
    const void *arg);

/* Waits on the readings descriptor until done() holds for all n chargers
 * or the monotonic time end_ms passes; returns whether it did. */
static bool
wait_all(struct sb *sb, int n, charger_done_fn done, const void *arg,
    int64_t end_ms)
{
	struct sb_charger_reading *rd = calloc((size_t)n, sizeof *rd);
	int ok = 0;

	while (rd != NULL && ok < n && mono_now_ms() < end_ms) {
		struct pollfd p = { sb_fd(sb), POLLIN, 0 };
		poll(&p, 1, 5);
		sb_take_chargers(sb, rd, (size_t)n);
		ok = 0;
		for (int i = 0; i < n; i++) {
			struct sb_charger_reading one;
			sb_charger_snapshot(sb, (size_t)i, &one);
			if (done(&one, i, arg))
				ok++;
		}
	}
	free(rd);
	return ok == n;
}

/* What a cycle waits for: the setpoint generation gen[i] written and a
 * poll after polls[i]; or only the generation (polls NULL); or only
 * polls[i] + 2 polls (gen NULL). */
struct cycle_wait {
	const uint64_t *gen;
	const uint64_t *polls;
};

static bool
cycle_done(const struct sb_charger_reading *r, int i, const void *arg)
{
	const struct cycle_wait *w = arg;

	if (w->gen == NULL)
		return r->polls >= w->polls[i] + 2;
	return r->conn[0].limit_generation >= w->gen[i] &&
	    (w->polls == NULL || r->polls > w->polls[i]);
}

/* Runs `cycles` full cycles on n chargers; returns the median ms per
 * cycle, or -1 on failure. */
static double
tcp_cycles(int n, int cycles)
{
	struct devsrv *srv = devsrv_new();
	struct sb_charger_conf *ch = calloc((size_t)n, sizeof *ch);
	uint64_t *gen = calloc((size_t)n, sizeof *gen);
	uint64_t *polls = calloc((size_t)n, sizeof *polls);
	double *ms = calloc((size_t)cycles, sizeof *ms);
	struct sb_conf c;
	struct sb *sb = NULL;
	char *cause = NULL;
	double median = -1;

	if (srv == NULL || ch == NULL || gen == NULL || polls == NULL ||
	    ms == NULL)
		goto out;
	for (int i = 0; i < n; i++) {
		int d = devsrv_add_tcp(srv);
		if (d < 0)
			goto out;
		ch[i].name = "bench";
		ch[i].model = SB_MODEL_AC_WALLBOX;
		ch[i].link = SB_LINK_TCP;
		ch[i].host = "127.0.0.1";
		ch[i].port = devsrv_port(srv, d);
		ch[i].unit_id = 1;
		ch[i].connectors = 1;
	}
	sb_conf_defaults(&c);
	c.poll_interval_ms = 600000; /* polls only when asked */
	c.response_timeout_ms = 2000;
	c.chargers = ch;
	c.n_chargers = (size_t)n;
	if (sb_start(&c, &sb, &cause) != 0) {
		fprintf(stderr, "sb_start: %s\n", cause);
		free(cause);
		goto out;
	}
	/* connected and identified: the first poll happened */
	for (int i = 0; i < n; i++) {
		struct sb_charger_reading rd;
		int64_t end = mono_now_ms() + 20000;
		do {
			struct pollfd p = { sb_fd(sb), POLLIN, 0 };
			poll(&p, 1, 20);
			sb_charger_snapshot(sb, (size_t)i, &rd);
		} while (rd.polls == 0 && mono_now_ms() < end);
		if (rd.polls == 0)
			goto out;
	}

	for (int k = 0; k < cycles; k++) {
		struct cycle_wait w = { gen, polls };
		double start_ms = bench_now_ms();

		for (int i = 0; i < n; i++) {
			struct sb_charger_reading rd;
			sb_charger_snapshot(sb, (size_t)i, &rd);
			polls[i] = rd.polls;
		}
		for (int i = 0; i < n; i++)
			sb_submit_setpoint(sb, (size_t)i, 1, 3000 + 100 * k + i,
			    &gen[i]);
		sb_poll_now(sb);
		if (!wait_all(sb, n, cycle_done, &w, mono_now_ms() + 30000))
			goto out;
		ms[k] = bench_now_ms() - start_ms;
	}
	median = bench_median(ms, (size_t)cycles);
out:
	sb_stop(sb);
	if (srv != NULL)
		devsrv_free(srv);
	free(ch);
	free(gen);
	free(polls);
	free(ms);
	return median;
}

/* The wire time at `baud` of one read of dev's poll plan covering the
 * rows of rate at most hi (enum sb_rate), the rows above it left out at
 * a block's ends as the driver does: per request an 8-byte request, a
 * 5 + 2n-byte answer and 3.5 characters of silence, 11 bits each. */
static double
plan_wire_ms(const struct sb_dev *dev, int hi, int baud)
{
	const struct sb_plan *plan = &dev->poll_plan;
	double chars = 0;

	for (size_t b = 0; b < plan->n_blocks; b++) {
		const struct sb_block *blk = &plan->blocks[b];
		const struct sb_row *rows = &plan->rows[blk->first_row];
		unsigned first = 0, n = blk->n_rows, end = 0;

		while (first < n && (int)sb_drv_row_rate(dev, &rows[first]) > hi)
			first++;
		while (n > first && (int)sb_drv_row_rate(dev, &rows[n - 1]) > hi)
			n--;
		if (first == n)
			continue;
		for (unsigned i = first; i < n; i++)
			if (rows[i].addr + rows[i].reg->count > end)
				end = rows[i].addr + rows[i].reg->count;
		chars += 8 + 5 + 2.0 * (end - rows[first].addr) + 3.5;
	}
	return chars * 11.0 * 1000.0 / baud;
}

/* The mean wire time of a poll of a Wallbox in the state rd shows, at
 * `baud`, power steady: per SB_SLOW_EVERY polls one full, the medium
 * ones between (every SB_MEDIUM_EVERY-th) and the rest. */
static double
wallbox_poll_wire_ms(const struct sb_charger_reading *rd, int baud)
{
	struct sb_dev *dev = calloc(1, sizeof *dev);
	int medium = (SB_SLOW_EVERY - 1) / SB_MEDIUM_EVERY;
	double ms;

	if (dev == NULL)
		return -1;
	dev->model = sb_model_desc(SB_MODEL_AC_WALLBOX);
	dev->n_conn = 1;
	dev->rd = *rd;
	sb_drv_reset(dev);
	ms = (plan_wire_ms(dev, SB_RATE_SLOW, baud) +
	    medium * plan_wire_ms(dev, SB_RATE_MEDIUM, baud) +
	    (SB_SLOW_EVERY - 1 - medium) * plan_wire_ms(dev, SB_RATE_POLL,
	    baud)) / SB_SLOW_EVERY;
	free(dev);
	return ms;
}

/* n AC Wallboxes on one RTU bus at `baud` (the devices answer after the
 * wire time), polled as fast as the bus allows: the median ms for every
 * charger to complete one more poll over `cycles` cycles, in *floor_ms
 * the wire time of those polls, and in *set_ms the time from a new
 * setpoint for every charger to the last one written and read back.
 * Returns -1 on failure. */
static double
rtu_bus_cycle(int n, int baud, int cycles, double *floor_ms, double *set_ms)
{
	struct devsrv *srv = devsrv_new();
	struct sb_charger_conf *ch = calloc((size_t)n, sizeof *ch);
	int *units = calloc((size_t)n, sizeof *units);
	uint64_t *gen = calloc((size_t)n, sizeof *gen);
	double *ms = calloc((size_t)cycles, sizeof *ms);
	uint64_t *polls = calloc((size_t)n, sizeof *polls);
	struct sb_conf c;
	struct sb *sb = NULL;
	char *cause = NULL;
	const char *path;
	double median = -1;

	if (srv == NULL || ch == NULL || units == NULL || gen == NULL ||
	    ms == NULL || polls == NULL)
		goto out;
	for (int i = 0; i < n; i++)
		units[i] = i + 1;
	if (devsrv_add_rtu_bus(srv, units, (size_t)n, baud, &path) < 0)
		goto out;
	for (int i = 0; i < n; i++) {
		ch[i].name = "bus";
		ch[i].model = SB_MODEL_AC_WALLBOX;
		ch[i].link = SB_LINK_RTU;
		ch[i].rtu = (struct sb_serial_conf){ path, baud, 'N', 1 };
		ch[i].unit_id = units[i];
		ch[i].connectors = 1;
	}
	sb_conf_defaults(&c);
	c.poll_interval_ms = 100; /* shorter than a cycle: the bus is busy */
	c.response_timeout_ms = 2000;
	c.chargers = ch;
	c.n_chargers = (size_t)n;
	if (sb_start(&c, &sb, &cause) != 0) {
		fprintf(stderr, "sb_start: %s\n", cause);
		free(cause);
		goto out;
	}
	/* a cycle: every charger polled twice more, halved (the first
	 * round, k = -1, waits for the identities and is not counted) */
	for (int k = -1; k < cycles; k++) {
		struct cycle_wait w = { NULL, polls };
		double start_ms = bench_now_ms();

		for (int i = 0; i < n; i++) {
			struct sb_charger_reading rd;
			sb_charger_snapshot(sb, (size_t)i, &rd);
			polls[i] = rd.polls;
		}
		if (!wait_all(sb, n, cycle_done, &w, mono_now_ms() + 60000))
			goto out;
		if (k >= 0)
			ms[k] = (bench_now_ms() - start_ms) / 2;
	}
	median = bench_median(ms, (size_t)cycles);
	struct sb_charger_reading rd;
	sb_charger_snapshot(sb, 0, &rd);
	*floor_ms = n * wallbox_poll_wire_ms(&rd, baud);

	struct cycle_wait w = { gen, NULL };
	double start_ms = bench_now_ms();

	for (int i = 0; i < n; i++)
		sb_submit_setpoint(sb, (size_t)i, 1, 4000 + i, &gen[i]);
	if (!wait_all(sb, n, cycle_done, &w, mono_now_ms() + 60000))
		median = -1;
	else
		*set_ms = bench_now_ms() - start_ms;
out:
	sb_stop(sb);
	if (srv != NULL)
		devsrv_free(srv);
	free(ch);
	free(units);
	free(gen);
	free(ms);
	free(polls);
	return median;
}

/* Polls an SDM630 over the RTU pty n times with the driver directly;
 * returns the median ms per poll, or -1. */
static double
rtu_meter_poll(int n, int baud)
{
	struct devsrv *srv = devsrv_new();
	int unit = 1;
	const char *path;
	modbus_t *ctx = NULL;
	struct sb_dev *dev = calloc(1, sizeof *dev);
	double *ms = calloc((size_t)n, sizeof *ms);
	double median = -1;

	if (srv == NULL || dev == NULL || ms == NULL ||
	    devsrv_add_rtu_bus(srv, &unit, 1, baud, &path) < 0)
		goto out;
	ctx = modbus_new_rtu(path, baud, 'N', 8, 1);
	if (ctx == NULL || modbus_connect(ctx) != 0)
		goto out;
	modbus_set_slave(ctx, 1);
	modbus_set_response_timeout(ctx, 2, 0);
	dev->is_meter = true;
	dev->model = sb_meter_desc(SB_METER_SDM630);
	dev->words = sb_words_for(dev->model, SB_WORDS_MODEL);
	dev->unit_id = 1;
	dev->min_gap_ms = 0; /* measured one at a time */
	snprintf(dev->name, sizeof dev->name, "meter");
	sb_drv_reset(dev);
	for (int i = 0; i < n; i++) {
		double start_ms = bench_now_ms();

		dev->polls_to_full = 0; /* a full poll, slow values too */
		if (sb_drv_poll(dev, ctx, mono_now_ms()) != 0) {
			fprintf(stderr, "poll: %s\n", dev->rd.error);
			goto out;
		}
		ms[i] = bench_now_ms() - start_ms;
	}
	median = bench_median(ms, (size_t)n);
out:
	if (ctx != NULL) {
		modbus_close(ctx);
		modbus_free(ctx);
	}
	if (srv != NULL)
		devsrv_free(srv);
	free(dev);
	free(ms);
	return median;
}

int
main(void)
{
	int rc = 0;
	double ms;
	struct sb_plan plan;

	ms = tcp_cycles(40, 15);
	if (ms < 0)
		rc = 1;
	printf("southbound.cycle_40_chargers_tcp: %.2f ms/cycle "
	    "(target < 100 ms)\n", ms);
	ms = tcp_cycles(200, 9);
	if (ms < 0)
		rc = 1;
	printf("southbound.cycle_200_chargers_tcp: %.2f ms/cycle "
	    "(target < 500 ms)\n", ms);

	/* the floor: one read of 76 registers = an 8-byte request and a
	 * 5 + 152 = 157-byte answer, 11 bits a character, plus the 3.5
	 * characters of silence that end a frame */
	sb_plan_reads(sb_meter_desc(SB_METER_SDM630), SB_PH_POLL, 0, &plan);
	unsigned regs = 0;
	for (size_t i = 0; i < plan.n_blocks; i++)
		regs += plan.blocks[i].count;
	double chars = 8.0 * (double)plan.n_blocks + 5.0 * (double)plan.n_blocks +
	    2.0 * regs + 3.5 * (double)plan.n_blocks;
	double floor_ms = chars * 11.0 * 1000.0 / 9600.0;
	/* a daisy chain of 32 Wallboxes at 9600 baud: the floor is the wire
	 * time of one poll of each, at the read rates (wallbox_poll_wire_ms) */
	double set_ms = -1, bus_floor = -1;
	ms = rtu_bus_cycle(32, 9600, 3, &bus_floor, &set_ms);
	if (ms < 0)
		rc = 1;
	printf("southbound.rtu_bus_32_chargers: %.0f ms/cycle, ratio %.2f to "
	    "the floor (%.0f ms of wire time; target ratio <= 1.3)\n", ms,
	    ms / bus_floor, bus_floor);
	printf("southbound.rtu_bus_32_setpoint_to_last_ms: %.0f ms from a new "
	    "setpoint for all 32 to the last written and read back (no "
	    "target)\n", set_ms);

	ms = rtu_meter_poll(7, 9600);
	if (ms < 0)
		rc = 1;
	printf("southbound.sdm630_poll_rtu_9600: %.3f ratio to the wire floor "
	    "(%.1f ms measured, floor %.1f ms for %zu request(s), target < 1.3)\n",
	    ms / floor_ms, ms, floor_ms, plan.n_blocks);
	return rc;
}
