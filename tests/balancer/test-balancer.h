/* Shared helpers of the balancer tests: a site built up in a few calls. */
#ifndef EDGE_TEST_BALANCER_H
#define EDGE_TEST_BALANCER_H

#include "balancer/balancer.h"
#include "tests/cu.h"

struct tsite {
	struct bal_site site;
	struct bal_circuit circ[BAL_MAX_CIRCUITS];
	struct bal_meter meter;
	struct bal_settings set;
	struct bal_charger ch[BAL_MAX_CHARGERS];
	struct bal_connector cn[BAL_MAX_CONNECTORS];
	struct bal_input in;
	struct bal_state st;
	struct bal_work *work;
	struct bal_conn_out out[BAL_MAX_CONNECTORS];
	struct bal_site_out so;
	char err[256];
};

/* Allocates a site: phases, available power, mode; one circuit of
 * 63 A per phase, no phase limits, healthy meter reading 0 W.  Caller
 * frees with ts_free(). */
struct tsite *ts_new(int phases, int32_t available_w, enum bal_mode mode);
void ts_free(struct tsite *t);
/* Points t->in at the site, meter, settings, chargers and connectors of t
 * (the counts are left as they are) and initialises t->st. */
void ts_wire(struct tsite *t);
/* Adds a charger with one connector (charging, max max_w); returns the
 * connector index. */
int ts_add(struct tsite *t, int phases, int wired, int circuit, int32_t max_w);
/* Adds another connector to the charger of connector `like`. */
int ts_add_connector(struct tsite *t, int like);
/* Runs the balancer at now_ms; returns bal_run's result. */
int ts_run(struct tsite *t, int64_t now_ms);
/* Seeded xorshift on *state (not 0): a number in [0, n). */
uint32_t ts_rnd(uint64_t *state, uint32_t n);
/* The charger of connector i. */
struct bal_charger *ts_ch(struct tsite *t, int i);

extern const struct cu_test property_tests[];
extern const struct cu_test phase_tests[];
extern const struct cu_test sort_tests[];

#endif
