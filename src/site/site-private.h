/* What the site model's files share: site.c (configuration, caps and the
 * balancer run) and readings.c (readings in, the household estimate). */
#ifndef EDGE_SITE_PRIVATE_H
#define EDGE_SITE_PRIVATE_H

#include <stdint.h>

#include "site/site.h"

/* An int64_t clamped into int32_t. */
static inline int32_t
site_clamp32(int64_t v)
{
	return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN :
	    (int32_t)v;
}

/* readings.c */
int64_t site_online_power_w(const struct site *s, int64_t *phase_w,
    int64_t *phase_ma);

#endif
