/* The balancer: max-min fair water-filling of the connectors under every
 * cap at once, and pausing below Pmin until the rest is feasible. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "balancer/balancer-private.h"

/* Builds the constraint lists: connectors of one class (same circuit,
 * same phases) share one list; kofs/klen of a connector point to its
 * class's list (used[] and coef[] must be set). */
void
bal_build_lists(struct bal_work *w)
{
	const struct bal_input *in = w->in;
	const struct bal_circuit *circ = in->site->circuits;
	int n = in->n_connectors, pos = 0;

	for (int c = 0; c < NCLS; c++)
		w->cls_ofs[c] = -1;
	w->n_cls = 0;
	for (int i = 0; i < n; i++) {
		const struct bal_charger *ch = &in->chargers[in->connectors[i].charger];
		int cl = ch->circuit * 4 + (w->eph[i] == 3 ? 3 : w->ewire[i]);

		if (!ch->online) {
			w->kofs[i] = 0;
			w->klen[i] = 0;
			w->cls[i] = 0;
			continue;
		}
		if (w->cls_ofs[cl] < 0) {
			int start = pos;
			w->cls_mask[cl][0] = 0;
			w->cls_mask[cl][1] = 0;
#define ADD(k, a) do { \
	if (w->used[k]) { \
		w->kk[pos] = (k); w->ka[pos] = (a); w->ka_inv[pos] = 1 / (a); pos++; \
		w->cls_mask[cl][(k) >> 6] |= 1ull << ((k) & 63); \
	} \
} while (0)
			ADD(K_SITE, 1.0);
			for (int p = 0; p < BAL_PHASES; p++) {
				double a = w->coef[i][p];
				if (a <= 0)
					continue;
				ADD(K_MAIN(p), a);
				for (int c = ch->circuit; c != BAL_NONE; c = circ[c].parent)
					ADD(K_CIRC(c, p), a);
			}
#undef ADD
			w->cls_ofs[cl] = start;
			w->cls_len[cl] = pos - start;
			w->cls_list[w->n_cls++] = cl;
		}
		w->cls[i] = cl;
		w->kofs[i] = w->cls_ofs[cl];
		w->klen[i] = w->cls_len[cl];
	}
}

/* Clears the per-class sums and counts. */
void
bal_csum_clear(struct bal_work *w)
{
	for (int q = 0; q < w->n_cls; q++) {
		w->csum[w->cls_list[q]] = 0;
		w->ccnt[w->cls_list[q]] = 0;
		w->ccnt2[w->cls_list[q]] = 0;
	}
}

/* Adds each class's sum, times the class's coefficients, into acc[k]
 * (acc zeroed first). */
void
bal_csum_spread(struct bal_work *w, double *acc)
{
	for (int k = 0; k < w->nk; k++)
		acc[k] = 0;
	for (int q = 0; q < w->n_cls; q++) {
		int cl = w->cls_list[q];
		for (int e = w->cls_ofs[cl]; e < w->cls_ofs[cl] + w->cls_len[cl]; e++)
			acc[w->kk[e]] += w->ka[e] * w->csum[cl];
	}
}

/* Max-min fair water-filling with floors over the connectors with act[]
 * set: a common level L rises from 0; connector i gets min(upper_i,
 * max(pmin_i, L)), so every running connector has at least its minimum
 * (the caller made that feasible) and the rest is shared at one level.
 * A connector stops at its own bound, or when a constraint containing
 * it fills up (then all its members stop: those still at their floor stay
 * there).  Results in x[] and bound_k[]. */
void
bal_fill(struct bal_work *w)
{
	int n = w->in->n_connectors, left = 0, jl = 0, ju = 0;

	for (int k = 0; k < w->nk; k++) {
		w->fixed[k] = 0;
		w->slope[k] = 0;
		w->cnt[k] = 0;
		w->kfrozen[k] = !w->used[k];
	}
	bal_csum_clear(w);
	for (int i = 0; i < n; i++) {
		w->frozen[i] = 0;
		w->rising[i] = 0;
		w->x[i] = 0;
		w->bound_k[i] = -1;
		if (!w->act[i])
			continue;
		left++;
		w->x[i] = w->pmin[i];
		w->ccnt[w->cls[i]]++;
		w->csum[w->cls[i]] += w->pmin[i];
	}
	/* everyone starts at the floor: fixed load, no slope */
	for (int q = 0; q < w->n_cls; q++) {
		int cl = w->cls_list[q];
		for (int e = w->cls_ofs[cl]; e < w->cls_ofs[cl] + w->cls_len[cl]; e++) {
			w->fixed[w->kk[e]] += w->ka[e] * w->csum[cl];
			w->cnt[w->kk[e]] += w->ccnt[cl];
		}
	}
	while (left > 0) {
		int is = -1, iu = -1, best = -1;
		double lmin, ns = HUGE_VAL, nu = HUGE_VAL;

		/* next to start rising (level reaches its floor) */
		while (jl < w->n_by_upper && (!w->act[w->by_pmin[jl]] ||
		    w->frozen[w->by_pmin[jl]] || w->rising[w->by_pmin[jl]]))
			jl++;
		if (jl < w->n_by_upper) {
			is = w->by_pmin[jl];
			ns = w->pmin[is];
		}
		/* next to stop at its own bound */
		while (ju < w->n_by_upper && (!w->act[w->by_upper[ju]] ||
		    w->frozen[w->by_upper[ju]]))
			ju++;
		if (ju < w->n_by_upper) {
			iu = w->by_upper[ju];
			nu = w->upper[iu];
		}
		/* the lowest level at which a constraint fills, if below both:
		 * (cap - fixed) / slope < lmin, compared without dividing */
		lmin = ns < nu ? ns : nu;
		for (int k = 0; k < w->nk; k++)
			if (!w->kfrozen[k] && w->cnt[k] > 0 && w->slope[k] > 0 &&
			    w->cap[k] - w->fixed[k] < lmin * w->slope[k]) {
				lmin = (w->cap[k] - w->fixed[k]) / w->slope[k];
				best = k;
			}
		if (best < 0 && is >= 0 && ns <= nu) {
			/* all at floor ns leave it: their load now rises with
			 * the level (exact in one batch: the load at L = ns is
			 * the same either way) */
			bal_csum_clear(w);
			for (; jl < w->n_by_upper && w->pmin[w->by_pmin[jl]] <= ns; jl++) {
				int i = w->by_pmin[jl];
				if (!w->act[i] || w->frozen[i] || w->rising[i])
					continue;
				w->rising[i] = 1;
				w->ccnt[w->cls[i]]++;
				w->csum[w->cls[i]] += w->pmin[i];
			}
			for (int q = 0; q < w->n_cls; q++) {
				int cl = w->cls_list[q];
				if (w->ccnt[cl] == 0)
					continue;
				for (int e = w->cls_ofs[cl]; e < w->cls_ofs[cl] + w->cls_len[cl]; e++) {
					w->fixed[w->kk[e]] -= w->ka[e] * w->csum[cl];
					w->slope[w->kk[e]] += w->ka[e] * w->ccnt[cl];
				}
			}
			continue;
		}
		if (best < 0 && iu >= 0) {
			/* all rising at bound nu stop there (they are rising:
			 * pmin <= upper and starts go first; exact in one batch:
			 * no constraint fills below nu meanwhile) */
			bal_csum_clear(w);
			for (; ju < w->n_by_upper && w->upper[w->by_upper[ju]] <= nu; ju++) {
				int i = w->by_upper[ju];
				if (!w->act[i] || w->frozen[i])
					continue;
				w->x[i] = nu;
				w->frozen[i] = 1;
				left--;
				w->ccnt[w->cls[i]]++;
			}
			for (int q = 0; q < w->n_cls; q++) {
				int cl = w->cls_list[q], c = w->ccnt[cl];
				if (c == 0)
					continue;
				for (int e = w->cls_ofs[cl]; e < w->cls_ofs[cl] + w->cls_len[cl]; e++) {
					w->slope[w->kk[e]] -= w->ka[e] * c;
					w->cnt[w->kk[e]] -= c;
					w->fixed[w->kk[e]] += w->ka[e] * nu * c;
				}
			}
			continue;
		}
		if (best < 0)
			break; /* cannot happen: every act connector has a bound */
		/* constraint best is full at lmin: its rising members stop
		 * there, those still at their floor stay at it; then update
		 * the constraints once per class */
		if (lmin < 0)
			lmin = 0;
		w->kfrozen[best] = 1;
		bal_csum_clear(w);
		for (int m = 0; m < n; m++) {
			if (!w->act[m] || w->frozen[m] ||
			    !(w->cls_mask[w->cls[m]][best >> 6] & (1ull << (best & 63))))
				continue;
			if (w->rising[m]) {
				w->x[m] = lmin;
				w->ccnt[w->cls[m]]++;
			} else {
				w->ccnt2[w->cls[m]]++; /* stays at its floor */
			}
			w->bound_k[m] = best;
			w->frozen[m] = 1;
			left--;
		}
		for (int q = 0; q < w->n_cls; q++) {
			int cl = w->cls_list[q], c = w->ccnt[cl], f = w->ccnt2[cl];
			if (c == 0 && f == 0)
				continue;
			for (int e = w->cls_ofs[cl]; e < w->cls_ofs[cl] + w->cls_len[cl]; e++) {
				int k = w->kk[e];
				w->slope[k] -= w->ka[e] * c;
				w->cnt[k] -= c + f;
				w->fixed[k] += w->ka[e] * lmin * c;
			}
		}
	}
}

/* Orders connectors: true when a should be paused later than b: one
 * whose EV uses what it gets before one held near its draw (suspended or
 * under-drawing: it loses least), then higher priority, then earlier
 * start, then lower index. */
static bool
pause_later(const struct bal_work *w, int a, int b)
{
	const struct bal_connector *ca = &w->in->connectors[a];
	const struct bal_connector *cb = &w->in->connectors[b];
	bool ha = w->held[a] >= 0, hb = w->held[b] >= 0;

	if (ha != hb)
		return hb;
	if (ca->priority != cb->priority)
		return ca->priority > cb->priority;
	if (ca->last_start_ms != cb->last_start_ms)
		return ca->last_start_ms < cb->last_start_ms;
	return a < b;
}

/* Sorts the demanding connectors (by_upper's members) by ascending
 * val[] (in mW, then index) into out: a least-significant-digit radix
 * sort of 64-bit keys (the value above 11 bits of index), one pass of 8
 * bits per digit that differs between the keys; the index bits are
 * never sorted: each pass is stable and by_upper is in index order.
 * Values in whole W (the usual case) are keyed in W: the same order as
 * in mW, in fewer digits. */
void
bal_sort_by_value(struct bal_work *w, const double *val, int *out)
{
	uint64_t *src = w->key, *dst = w->key_tmp, any = 0, all = ~(uint64_t)0;
	int n = w->n_by_upper, count[256];
	bool whole = true;

	for (int q = 0; q < n && whole; q++) {
		double v = val[w->by_upper[q]];
		whole = v >= 0 && v < 2147483648.0 && v == ffloor(v);
	}
	for (int q = 0; q < n; q++) {
		int i = w->by_upper[q];
		double v = whole ? val[i] : ffloor(val[i] * 1000 + 0.5);
		src[q] = ((uint64_t)v << 11) | (uint64_t)i;
		any |= src[q];
		all &= src[q];
	}
	for (int shift = 11; shift < 64; shift += 8) {
		int sum = 0;
		if ((((any ^ all) >> shift) & 0xff) == 0)
			continue; /* the same digit in every key */
		memset(count, 0, sizeof(count));
		for (int q = 0; q < n; q++)
			count[(src[q] >> shift) & 0xff]++;
		for (int d = 0; d < 256; d++) {
			int c = count[d];
			count[d] = sum;
			sum += c;
		}
		for (int q = 0; q < n; q++)
			dst[count[(src[q] >> shift) & 0xff]++] = src[q];
		uint64_t *t = src;
		src = dst;
		dst = t;
	}
	for (int q = 0; q < n; q++)
		out[q] = (int)(src[q] & 0x7ff);
}

/* Orders the demanding connectors by ascending minimum into by_pmin:
 * minimums take few distinct values (per phases, unit, step), so a
 * counting sort over them, else the general sort. */
void
bal_sort_minimums(struct bal_work *w)
{
	double val[16];
	int nv = 0, n = w->n_by_upper, start[17], rank[16];

	/* tmp[q]: which distinct value connector by_upper[q] has */
	for (int q = 0; q < n; q++) {
		double p = w->pmin[w->by_upper[q]];
		int v = 0;
		while (v < nv && val[v] != p)
			v++;
		if (v == nv) {
			if (nv == 16) {
				bal_sort_by_value(w, w->pmin, w->by_pmin);
				return;
			}
			val[nv++] = p;
		}
		w->tmp[q] = v;
	}
	/* rank of each distinct value among them */
	for (int v = 0; v < nv; v++) {
		rank[v] = 0;
		for (int u = 0; u < nv; u++)
			rank[v] += val[u] < val[v];
	}
	for (int v = 0; v <= nv; v++)
		start[v] = 0;
	for (int q = 0; q < n; q++) {
		w->tmp[q] = rank[w->tmp[q]];
		start[w->tmp[q] + 1]++;
	}
	for (int v = 0; v < nv; v++)
		start[v + 1] += start[v];
	for (int q = 0; q < n; q++)
		w->by_pmin[start[w->tmp[q]]++] = w->by_upper[q];
}

/* Stable bottom-up merge sort of v[0..n) by the pause order, tmp as
 * scratch. */
void
bal_sort_idx(struct bal_work *w, int *v, int n)
{
	int *src = v, *dst = w->tmp;

	for (int width = 1; width < n; width *= 2) {
		for (int lo = 0; lo < n; lo += 2 * width) {
			int mid = lo + width < n ? lo + width : n;
			int hi = lo + 2 * width < n ? lo + 2 * width : n;
			int a = lo, b = mid, o = lo;
			while (a < mid && b < hi) {
				bool take_b = pause_later(w, src[b], src[a]);
				dst[o++] = take_b ? src[b++] : src[a++];
			}
			while (a < mid)
				dst[o++] = src[a++];
			while (b < hi)
				dst[o++] = src[b++];
		}
		int *t = src;
		src = dst;
		dst = t;
	}
	if (src != v)
		memcpy(v, src, (size_t)n * sizeof(*v));
}

/* Sums, per constraint, the minimum of every active connector into
 * committed[]. */
static void
sum_minimums(struct bal_work *w)
{
	bal_csum_clear(w);
	for (int i = 0; i < w->in->n_connectors; i++)
		if (w->act[i])
			w->csum[w->cls[i]] += w->pmin[i];
	bal_csum_spread(w, w->committed);
}

/* True when connector i is in a constraint that cannot carry the
 * minimums (committed[] holds them). */
static bool
in_overfull(const struct bal_work *w, int i)
{
	for (int e = w->kofs[i]; e < w->kofs[i] + w->klen[i]; e++)
		if (w->committed[w->kk[e]] > w->cap[w->kk[e]] + EPS)
			return true;
	return false;
}

/* True when every constraint of connector i that cannot carry the
 * minimums has a measured cap (a household estimate, a PV surplus). */
static bool
short_of_measured(const struct bal_work *w, int i)
{
	for (int e = w->kofs[i]; e < w->kofs[i] + w->klen[i]; e++)
		if (w->committed[w->kk[e]] > w->cap[w->kk[e]] + EPS &&
		    !w->measured[w->kk[e]])
			return false;
	return true;
}

/* The vendor's rule, per bottleneck: while a constraint cannot carry
 * the minimum of all its running connectors, the last activated among
 * them pauses (lowest priority first, then latest start).  Short of a
 * measured cap only, the pause waits until the shortage has lasted
 * pause_confirm_ms (pending[]): a running connector is held at its
 * minimum meanwhile (the constraints it is in are widened to carry the
 * minimums), one not started yet gets 0 without the restart hold. */
void
bal_pause_until_feasible(struct bal_work *w, struct bal_state *state)
{
	const struct bal_input *in = w->in;
	int n = in->n_connectors, na = 0, npend = 0;
	int32_t confirm_ms = in->settings->pause_confirm_ms;
	bool over = false;

	sum_minimums(w);
	for (int k = 0; k < w->nk; k++)
		if (w->used[k] && w->committed[k] > w->cap[k] + EPS)
			over = true;
	if (!over)
		return;
	for (int i = 0; i < n; i++)
		if (w->act[i])
			w->pord[na++] = i;
	bal_sort_idx(w, w->pord, na);
	for (int q = na - 1; q >= 0; q--) {
		int i = w->pord[q];
		struct bal_conn_mem *mem = &state->conn[i];

		if (!in_overfull(w, i))
			continue;
		if (confirm_ms > 0 && short_of_measured(w, i)) {
			if (mem->short_since_ms < 0)
				mem->short_since_ms = in->now_ms;
			if (in->now_ms - mem->short_since_ms < confirm_ms) {
				if (mem->applied_w >= w->pmin[i] - EPS) {
					w->pending[i] = PEND_HELD;
					npend++;
				} else {
					w->pending[i] = PEND_START;
				}
			}
		}
		if (w->pending[i] != PEND_HELD) {
			w->act[i] = 0;
			w->newly[i] = 1;
		}
		for (int e = w->kofs[i]; e < w->kofs[i] + w->klen[i]; e++)
			w->committed[w->kk[e]] -= w->ka[e] * w->pmin[i];
	}
	if (npend == 0)
		return;
	for (int i = 0; i < n; i++) {
		if (w->pending[i] != PEND_HELD)
			continue;
		for (int e = w->kofs[i]; e < w->kofs[i] + w->klen[i]; e++)
			w->committed[w->kk[e]] += w->ka[e] * w->pmin[i];
	}
	/* one that has room after all (the pause of a more important one
	 * elsewhere made it) is not short */
	for (int i = 0; i < n; i++)
		if (w->pending[i] == PEND_HELD && !in_overfull(w, i))
			w->pending[i] = 0;
	for (int k = 0; k < w->nk; k++)
		if (w->used[k] && w->committed[k] > w->cap[k]) {
			w->widened[k] = w->committed[k] - w->cap[k];
			w->cap[k] = w->committed[k];
		}
}
