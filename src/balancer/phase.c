/* Automatic switching of a charger between three phases and one
 * (register 21008): when, with hysteresis, a confirmation window and a
 * minimum dwell between switches.  Pure: time is passed in.  See
 * docs/balancing.md, "Phase switching". */
#include "config.h"

#include <string.h>

#include "balancer/balancer.h"

/* Fills c with the defaults (5 min dwell, 30 s confirmation, 1 kW up). */
void
bal_phase_conf_default(struct bal_phase_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->min_power_1ph_w = 1400;
	c->min_power_3ph_w = 4200;
	c->up_margin_w = 1000;
	c->confirm_ms = 30000;
	c->dwell_ms = 300000;
}

/* Starts the memory of a charger found on phases (1 or 3). */
void
bal_phase_init(struct bal_phase_mem *m, int phases)
{
	m->phases = phases == 1 ? 1 : 3;
	m->want = 0;
	m->want_since_ms = -1;
	m->switched_ms = -1;
}

/* The lower of a and b where BAL_NO_CAP is "none". */
static int64_t
lower(int64_t a, int32_t b)
{
	return b != BAL_NO_CAP && b < a ? b : a;
}

void
bal_phase_rooms(const struct bal_conn_out *o, int phases_now,
    int64_t *room_1p_w, int64_t *room_3p_w)
{
	const struct bal_chain *c = &o->chain;
	int64_t site = lower(INT64_MAX, c->site_room_w);
	int64_t wires = lower(lower(INT64_MAX, c->phase_room_w),
	    c->circuit_room_w);

	/* A current limit leaves the same amperes per phase: on one phase
	 * a third of what three would carry. */
	if (phases_now == 1) {
		*room_1p_w = site < wires ? site : wires;
		if (wires < INT64_MAX / 3)
			wires *= 3;
		*room_3p_w = site < wires ? site : wires;
	} else {
		*room_3p_w = site < wires ? site : wires;
		if (wires != INT64_MAX)
			wires /= 3;
		*room_1p_w = site < wires ? site : wires;
	}
}

int64_t
bal_phase_next_allowed_ms(const struct bal_phase_conf *c,
    const struct bal_phase_mem *m)
{
	return m->switched_ms < 0 ? -1 : m->switched_ms + c->dwell_ms;
}

int
bal_phase_step(const struct bal_phase_conf *c, struct bal_phase_mem *m,
    bool demanding, int64_t room_1p_w, int64_t room_3p_w, int64_t now_ms)
{
	int target = 0;

	if (demanding) {
		if (m->phases == 3 && room_3p_w < c->min_power_3ph_w &&
		    room_1p_w >= c->min_power_1ph_w)
			target = 1;
		else if (m->phases == 1 && room_3p_w >=
		    (int64_t)c->min_power_3ph_w + c->up_margin_w)
			target = 3;
	}
	if (target == 0) {
		m->want = 0;
		m->want_since_ms = -1;
		return m->phases;
	}
	if (m->want != target) {
		m->want = target;
		m->want_since_ms = now_ms;
	}
	if (now_ms - m->want_since_ms < c->confirm_ms)
		return m->phases;
	if (m->switched_ms >= 0 && now_ms - m->switched_ms < c->dwell_ms)
		return m->phases;
	m->switched_ms = now_ms;
	m->want = 0;
	m->want_since_ms = -1;
	return target;
}

void
bal_phase_done(struct bal_phase_mem *m, int phases)
{
	m->phases = phases == 1 ? 1 : 3;
}
