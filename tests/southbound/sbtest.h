/* Helpers shared by the southbound tests (test-southbound.c against the
 * devices of devsrv.c, test-sb-sim.c against the site simulator): waiting
 * on the readings descriptor until a charger's reading satisfies a
 * predicate, and the predicates both use. */
#ifndef EDGE_TESTS_SBTEST_H
#define EDGE_TESTS_SBTEST_H

#include <stdbool.h>
#include <stddef.h>

struct sb;
struct sb_charger_reading;

/* A condition on one charger's reading; arg is the predicate's own. */
typedef bool (*sbt_pred_fn)(const struct sb_charger_reading *, const void *);

/* Waits (on the readings descriptor, never a blind sleep) until pred
 * holds for charger i, or timeout_ms passes.  *out holds the last reading
 * (caller's storage).  Returns pred's last value. */
bool sbt_wait_charger(struct sb *sb, size_t i, sbt_pred_fn pred,
    const void *arg, int timeout_ms, struct sb_charger_reading *out);

/* Predicate: online with at least *(const uint64_t *)arg polls. */
bool sbt_polled_n(const struct sb_charger_reading *r, const void *arg);
/* Predicate: reported offline after failures (arg unused). */
bool sbt_offline(const struct sb_charger_reading *r, const void *arg);
/* Predicate: the setpoint generation g[1] of connector g[0] is written
 * (arg: const uint64_t g[2]). */
bool sbt_gen_done(const struct sb_charger_reading *r, const void *arg);
/* Predicate: the command with sequence *(const uint64_t *)arg has run. */
bool sbt_cmd_done(const struct sb_charger_reading *r, const void *arg);

#endif
