/* What the balancer's files share: balancer.c (budgets, bal_run and the
 * outputs), check.c (validation of the input) and fill.c (water-filling
 * and pausing).  libc, common/ and balancer/ only. */
#ifndef EDGE_BALANCER_PRIVATE_H
#define EDGE_BALANCER_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>

#include "balancer/balancer.h"

/* Constraint numbering: 0 = site budget (W), 1..3 = main-connection
 * phases (mA), then 3 per circuit (mA). */
#define K_SITE 0
#define K_MAIN(p) (1 + (p))
#define K_CIRC(c, p) (1 + BAL_PHASES + BAL_PHASES * (c) + (p))
#define NK (1 + BAL_PHASES + BAL_PHASES * BAL_MAX_CIRCUITS)
#define EPS 1e-6
/* pending[]: held at its minimum (it was running), or its start deferred */
#define PEND_HELD 1
#define PEND_START 2
/* constraints one connector can be in: site, 3 main phases, 3 per level */
#define KPER (1 + BAL_PHASES + BAL_PHASES * BAL_MAX_DEPTH)
/* classes of connectors: circuit x (L1, L2, L3 or three-phase) */
#define NCLS (BAL_MAX_CIRCUITS * 4)
_Static_assert(NK <= 128, "constraint masks hold 128 bits");

struct bal_work {
	/* per connector */
	double coef[BAL_MAX_CONNECTORS][BAL_PHASES]; /* mA per W on a phase */
	double upper[BAL_MAX_CONNECTORS];  /* own bound, W */
	double pmin[BAL_MAX_CONNECTORS];   /* minimum on the grid, W */
	double step[BAL_MAX_CONNECTORS];   /* resolution in W */
	double inv_step[BAL_MAX_CONNECTORS];
	double old[BAL_MAX_CONNECTORS];    /* last setpoint on the grid */
	double x[BAL_MAX_CONNECTORS];      /* water-filling result, W */
	double held[BAL_MAX_CONNECTORS];   /* under-draw cap, or -1 */
	double maxw[BAL_MAX_CONNECTORS];
	double profile[BAL_MAX_CONNECTORS];
	int bound_k[BAL_MAX_CONNECTORS];   /* -1 = own bound */
	int by_upper[BAL_MAX_CONNECTORS];  /* demanding ones, ascending upper */
	int by_pmin[BAL_MAX_CONNECTORS];   /* the same, ascending minimum */
	int n_by_upper;
	int pord[BAL_MAX_CONNECTORS];      /* pause order scratch */
	int tmp[BAL_MAX_CONNECTORS];
	uint64_t key[BAL_MAX_CONNECTORS];
	uint64_t key_tmp[BAL_MAX_CONNECTORS];
	unsigned char dem[BAL_MAX_CONNECTORS];    /* demanding and eligible */
	unsigned char act[BAL_MAX_CONNECTORS];    /* in the current fill */
	unsigned char frozen[BAL_MAX_CONNECTORS];
	unsigned char rising[BAL_MAX_CONNECTORS]; /* above its floor */
	unsigned char newly[BAL_MAX_CONNECTORS];  /* paused in this run */
	unsigned char resumed[BAL_MAX_CONNECTORS];
	unsigned char pending[BAL_MAX_CONNECTORS]; /* PEND_*: a shortage not
	                                            * confirmed yet */
	/* constraints of each connector: kk/ka[kofs[i] .. kofs[i]+klen[i]),
	 * shared by the connectors of one class */
	int kofs[BAL_MAX_CONNECTORS];
	int klen[BAL_MAX_CONNECTORS];
	int cls[BAL_MAX_CONNECTORS];
	unsigned char eph[BAL_MAX_CONNECTORS];   /* phases it loads */
	unsigned char ewire[BAL_MAX_CONNECTORS]; /* ... the one if single */
	int cls_ofs[NCLS];
	int cls_len[NCLS];
	uint64_t cls_mask[NCLS][2];        /* constraints of a class, as bits */
	int cls_list[NCLS];                /* classes present */
	int n_cls;
	double csum[NCLS];                 /* per-class sums */
	int ccnt[NCLS];
	int ccnt2[NCLS];
	double croom[NCLS][3];             /* per-class room, by kind */
	int kk[NCLS * KPER];
	double ka[NCLS * KPER];
	double ka_inv[NCLS * KPER];
	/* per constraint */
	double cap[NK];
	double fixed[NK];
	double slope[NK];
	double committed[NK];
	int cnt[NK];
	unsigned char used[NK];
	unsigned char kfrozen[NK];
	unsigned char measured[NK];        /* its cap comes from the meter */
	double widened[NK];                /* cap added for pending[] (fill) */
	int nk;
	/* per charger */
	double reserve[BAL_MAX_CHARGERS];
	int nconn[BAL_MAX_CHARGERS];
	unsigned char charging[BAL_MAX_CHARGERS];
	const struct bal_input *in;
};

/* True for states in which an EV wants power. */
static inline bool
is_demanding(enum bal_conn_state st)
{
	return st == BAL_ST_PREPARING || st == BAL_ST_CHARGING ||
	    st == BAL_ST_SUSPENDED_EV || st == BAL_ST_SUSPENDED_EVSE;
}

/* floor() and ceil() without a library call (|x| < 2^62). */
static inline double
ffloor(double x)
{
	double t = (double)(int64_t)x;
	return t > x ? t - 1 : t;
}

/* ceil() without a library call, as ffloor(). */
static inline double
fceil(double x)
{
	double t = (double)(int64_t)x;
	return t < x ? t + 1 : t;
}

/* Rounds v down to connector i's resolution grid (0 for v <= 0). */
static inline double
floor_grid(const struct bal_work *w, int i, double v)
{
	if (v <= 0)
		return 0;
	/* positive: truncation is the floor */
	return (double)(int64_t)(v * w->inv_step[i] + 1e-9) * w->step[i];
}

/* Rounds v up to connector i's resolution grid. */
static inline double
ceil_grid(const struct bal_work *w, int i, double v)
{
	return fceil(v * w->inv_step[i] - 1e-9) * w->step[i];
}

/* fill.c: the water-filling and pausing steps of bal_run */
void bal_build_lists(struct bal_work *w);
void bal_csum_clear(struct bal_work *w);
void bal_csum_spread(struct bal_work *w, double *acc);
void bal_fill(struct bal_work *w);
void bal_sort_by_value(struct bal_work *w, const double *val, int *out);
void bal_sort_minimums(struct bal_work *w);
void bal_sort_idx(struct bal_work *w, int *v, int n);
void bal_pause_until_feasible(struct bal_work *w, struct bal_state *state);

#endif
