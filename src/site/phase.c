/* The site model, phase switching: a charger with phase-switching = true
 * goes between three phases and one when the balancer's rooms say so
 * (bal_phase_step): its connectors are paused (setpoint 0), register
 * 21008 is written once the draw stopped and read back, and the balancer
 * gives them power again on the new phases.  See docs/balancing.md,
 * "Phase switching". */
#include "site/site-private.h"

#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"

/* The 21008 value for phases on a charger whose one-phase position is
 * wire (0..2): 0 = L1/L2/L3, 1..3 = L1..L3. */
static int
value_of(int phases, int wire)
{
	return phases == 3 ? 0 : wire + 1;
}

/* The first connector index of charger c, and its count. */
static int
first_conn(const struct site *s, int c, int *n)
{
	int base = 0;

	for (int i = 0; i < c; i++)
		base += s->cfg->chargers[i].connectors;
	*n = s->cfg->chargers[c].connectors;
	return base;
}

/* Moves charger c's switch to step st, keeping the count of chargers
 * pausing (what site_phase_due looks for) in step. */
static void
set_step(struct site *s, int c, enum site_phase_step st)
{
	if (s->phase[c].step == SITE_PH_PAUSING)
		s->n_phase_pausing--;
	if (st == SITE_PH_PAUSING)
		s->n_phase_pausing++;
	s->phase[c].step = st;
}

/* Puts charger c on phases in the balancer's input: its minimum, its
 * maximum (a third on one phase: the same current per phase) and the
 * phase it loads. */
static void
apply_phases(struct site *s, int c, int phases, int wire)
{
	const struct cfg_charger *cc = &s->cfg->chargers[c];
	struct bal_charger *bc = &s->chargers[c];
	int n, base = first_conn(s, c, &n);
	int32_t max_w = phases == 3 ? cc->max_power_w : cc->max_power_w / 3;

	bc->phases = phases;
	bc->wired_phase = phases == 1 ? wire : (int)cc->wired_phase;
	for (int j = 0; j < n; j++) {
		s->bconns[base + j].rated_max_w = max_w;
		bal_state_forget(s->state, base + j);
	}
	bal_phase_done(&s->phase[c].mem, phases);
	s->dirty = true;
}

void
site_phase_init(struct site *s)
{
	const struct cfg *cfg = s->cfg;

	bal_phase_conf_default(&s->phase_conf);
	s->phase_conf.min_power_1ph_w = s->lb.min_power_1ph_w;
	s->phase_conf.min_power_3ph_w = s->lb.min_power_3ph_w;
	s->phase_conf.confirm_ms = cfg->balancer.phase_switch_confirm_s * 1000;
	s->phase_conf.dwell_ms = cfg->balancer.phase_switch_dwell_s * 1000;
	s->n_phase_pausing = 0;
	for (int c = 0; c < s->n_chargers; c++) {
		struct site_phase *ph = &s->phase[c];

		memset(ph, 0, sizeof(*ph));
		ph->step = cfg->chargers[c].phase_switching ? SITE_PH_STEADY :
		    SITE_PH_OFF;
		bal_phase_init(&ph->mem, cfg->chargers[c].phases);
		s->chargers[c].phase_switchable = cfg->chargers[c].phase_switching;
	}
}

bool
site_phase_pausing(const struct site *s, int c)
{
	return s->phase[c].step == SITE_PH_PAUSING ||
	    s->phase[c].step == SITE_PH_WRITING;
}

/* Ends charger c's switch: done (phases in force now) or given up. */
static void
finish(struct site *s, int c, bool done, const char *why)
{
	struct site_phase *ph = &s->phase[c];
	const char *name = s->cfg->chargers[c].name;

	if (done) {
		ph->switches++;
		ph->error[0] = '\0';
		log_info("%s: phase switch done: %d phase%s (21008 = %d read "
		    "back)", name, ph->target, ph->target == 1 ? "" : "s",
		    ph->value);
		apply_phases(s, c, ph->target,
		    ph->value >= 1 && ph->value <= 3 ? ph->value - 1 : 0);
	} else {
		ph->failures++;
		snprintf(ph->error, sizeof(ph->error), "%s", why);
		log_warnx("%s: phase switch to %d phase%s given up: %s; stays "
		    "on %d", name, ph->target, ph->target == 1 ? "" : "s", why,
		    ph->mem.phases);
	}
	set_step(s, c, SITE_PH_STEADY);
	ph->seq = 0;
	s->dirty = true;
}

void
site_phase_take(struct site *s, const struct sb_charger_reading *r,
    int64_t now_ms)
{
	int c = (int)r->index;
	struct site_phase *ph;

	if (c < 0 || c >= s->n_chargers || s->phase[c].step == SITE_PH_OFF)
		return;
	ph = &s->phase[c];
	if (!r->online) {
		if (ph->step != SITE_PH_STEADY)
			finish(s, c, false, "the charger went offline");
		return;
	}
	if (ph->step == SITE_PH_WRITING && ph->seq != 0 &&
	    r->commands_done >= ph->seq) {
		if (r->command_result == 0 && r->phase_switch == ph->value)
			finish(s, c, true, NULL);
		else if (now_ms - ph->step_since_ms < SITE_PHASE_TIMEOUT_MS) {
			/* refused (a car still drawing?): pause and try again */
			set_step(s, c, SITE_PH_PAUSING);
			ph->seq = 0;
		} else
			finish(s, c, false, r->error[0] != '\0' ? r->error :
			    "register 21008 not read back");
		return;
	}
	/* What the charger says it is on (read on every connection). */
	if (ph->step == SITE_PH_STEADY && r->phase_switch >= 0 &&
	    r->phase_switch <= 3) {
		int phases = r->phase_switch == 0 ? 3 : 1;
		int wire = r->phase_switch == 0 ? 0 : r->phase_switch - 1;

		if (phases != s->chargers[c].phases ||
		    (phases == 1 && wire != s->chargers[c].wired_phase)) {
			log_info("%s: on %d phase%s (register 21008 = %d)",
			    s->cfg->chargers[c].name, phases,
			    phases == 1 ? "" : "s", r->phase_switch);
			apply_phases(s, c, phases, wire);
		}
	}
}

void
site_phase_decide(struct site *s, int64_t now_ms)
{
	for (int c = 0; c < s->n_chargers; c++) {
		struct site_phase *ph = &s->phase[c];
		int64_t r1 = 0, r3 = 0;
		bool demanding = false;
		int n, base, target;

		if (ph->step != SITE_PH_STEADY || !s->chargers[c].online ||
		    !s->have_run)
			continue;
		base = first_conn(s, c, &n);
		for (int j = 0; j < n; j++) {
			const struct bal_conn_out *o = &s->out[base + j];
			enum bal_conn_state st = s->bconns[base + j].state;
			int64_t a, b;

			if (st != BAL_ST_PREPARING && !site_tx_running(st))
				continue;
			demanding = true;
			bal_phase_rooms(o, ph->mem.phases, &a, &b);
			if (a > r1)
				r1 = a;
			if (b > r3)
				r3 = b;
		}
		target = bal_phase_step(&s->phase_conf, &ph->mem, demanding, r1,
		    r3, now_ms);
		if (target == ph->mem.phases)
			continue;
		ph->target = target;
		ph->value = value_of(target, s->cfg->chargers[c].wired_phase);
		set_step(s, c, SITE_PH_PAUSING);
		ph->step_since_ms = now_ms;
		ph->seq = 0;
		s->dirty = true;
		log_info("%s: switching from %d to %d phase%s (room %lld W on "
		    "one phase, %lld W on three; minimum %d / %d W): pausing "
		    "first", s->cfg->chargers[c].name, ph->mem.phases, target,
		    target == 1 ? "" : "s", (long long)r1, (long long)r3,
		    (int)s->phase_conf.min_power_1ph_w,
		    (int)s->phase_conf.min_power_3ph_w);
	}
}

int
site_phase_due(struct site *s, int64_t now_ms, struct site_phase_cmd *cmds)
{
	int k = 0;

	/* called on every batch of readings: nothing to look at is the
	 * common case */
	if (s->n_phase_pausing == 0)
		return 0;
	for (int c = 0; c < s->n_chargers; c++) {
		struct site_phase *ph = &s->phase[c];
		int n, base;
		bool quiet = true;

		if (ph->step != SITE_PH_PAUSING)
			continue;
		base = first_conn(s, c, &n);
		if (now_ms - ph->step_since_ms >= SITE_PHASE_TIMEOUT_MS) {
			finish(s, c, false, "the car did not stop drawing");
			continue;
		}
		/* the pause written, and the draw stopped */
		for (int j = 0; j < n; j++) {
			const struct site_conn *sc = &s->conns[base + j];

			if (!sc->submitted || sc->written_w != 0 ||
			    s->bconns[base + j].measured_power_w >
			    SITE_PHASE_IDLE_W)
				quiet = false;
		}
		if (!quiet)
			continue;
		cmds[k].charger = c;
		cmds[k].value = ph->value;
		k++;
	}
	return k;
}

void
site_phase_submitted(struct site *s, int c, int rc, uint64_t seq)
{
	struct site_phase *ph = &s->phase[c];

	if (rc != 0) {
		finish(s, c, false, "the command was not queued");
		return;
	}
	set_step(s, c, SITE_PH_WRITING);
	ph->seq = seq;
}

bool
site_phase_wake(const struct site *s, int64_t now_ms)
{
	for (int c = 0; c < s->n_chargers; c++) {
		const struct site_phase *ph = &s->phase[c];
		int64_t due;

		if (ph->step == SITE_PH_PAUSING &&
		    now_ms - ph->step_since_ms >= SITE_PHASE_TIMEOUT_MS)
			return true;
		if (ph->step != SITE_PH_STEADY || ph->mem.want == 0)
			continue;
		due = ph->mem.want_since_ms + s->phase_conf.confirm_ms;
		if (bal_phase_next_allowed_ms(&s->phase_conf, &ph->mem) > due)
			due = bal_phase_next_allowed_ms(&s->phase_conf, &ph->mem);
		if (now_ms >= due)
			return true;
	}
	return false;
}

const char *
site_phase_step_name(enum site_phase_step st)
{
	switch (st) {
	case SITE_PH_OFF:
		return "off";
	case SITE_PH_STEADY:
		return "steady";
	case SITE_PH_PAUSING:
		return "pausing";
	case SITE_PH_WRITING:
		return "writing";
	}
	return "?";
}
