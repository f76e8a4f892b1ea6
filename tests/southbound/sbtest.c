/* Helpers shared by the southbound tests: see sbtest.h. */
#include "config.h"

#include "southbound/southbound.h"

#include "common/util.h"
#include "sbtest.h"

#include <poll.h>
#include <stdint.h>

/* Polls charger i's reading until pred holds or timeout_ms passes,
 * draining the changed readings at each wake-up.  Returns pred's value. */
bool
sbt_wait_charger(struct sb *sb, size_t i, sbt_pred_fn pred, const void *arg,
    int timeout_ms, struct sb_charger_reading *out)
{
	int64_t end = mono_now_ms() + timeout_ms;
	struct sb_charger_reading tmp[SB_MAX_CHARGERS];

	for (;;) {
		sb_charger_snapshot(sb, i, out);
		if (pred(out, arg))
			return true;
		int64_t left = end - mono_now_ms();
		if (left <= 0)
			return false;
		struct pollfd p = { sb_fd(sb), POLLIN, 0 };
		poll(&p, 1, (int)(left > 50 ? 50 : left));
		sb_take_chargers(sb, tmp, SB_MAX_CHARGERS);
	}
}

/* Online with at least *arg polls. */
bool
sbt_polled_n(const struct sb_charger_reading *r, const void *arg)
{
	return r->online && r->polls >= *(const uint64_t *)arg;
}

/* Reported offline after failures. */
bool
sbt_offline(const struct sb_charger_reading *r, const void *arg)
{
	(void)arg;
	return !r->online && r->failures > 0;
}

/* The setpoint generation g[1] of connector g[0] is written. */
bool
sbt_gen_done(const struct sb_charger_reading *r, const void *arg)
{
	const uint64_t *g = arg; /* { connector, generation } */
	return r->conn[g[0] - 1].limit_generation >= g[1];
}

/* The command with sequence *arg has run. */
bool
sbt_cmd_done(const struct sb_charger_reading *r, const void *arg)
{
	return r->commands_done >= *(const uint64_t *)arg;
}
