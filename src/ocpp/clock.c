/* The session's wall time: the system clock, or the CSMS's time kept as
 * an offset to it when the system clock is not synchronised (or the time
 * source says so).  Timers run on the monotonic clock and are not
 * touched; what follows wall time (timestamps, clock-aligned values,
 * charging profiles through clock_changed) moves with it.  The system
 * clock itself is never set. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "ocpp/session-private.h"

/* A difference up to this is the link's delay or jitter, not a step. */
#define CLOCK_STEP_MS 1000
/* A CSMS's time outside 2020..2200 is a broken one. */
#define CLOCK_MIN_MS 1577836800000LL
#define CLOCK_MAX_MS 7258118400000LL

int64_t
session_wall_ms(const struct ocpp_session *s)
{
	return wall_now_ms() + s->clock_offset_ms;
}

int64_t
ocpp_session_wall_ms(const struct ocpp_session *s)
{
	return session_wall_ms(s);
}

int64_t
ocpp_session_clock_offset_ms(const struct ocpp_session *s)
{
	return s->clock_offset_ms;
}

const char *
session_now_stamp(const struct ocpp_session *s, char *buf, size_t len)
{
	return format_rfc3339(session_wall_ms(s), buf, len);
}

/* Is the CSMS's time to be used now? */
static bool
use_csms_time(const struct ocpp_session *s)
{
	switch ((enum ocpp_time_source)s->cfg[CI_TIME_SOURCE]) {
	case OCPP_TIME_CSMS:
		return true;
	case OCPP_TIME_SYSTEM:
		return false;
	case OCPP_TIME_AUTO:
		break;
	}
	return !system_clock_synchronised();
}

/* Moves the session's wall time to the system clock's plus offset;
 * says so when it moved by more than a step. */
static void
set_offset(struct ocpp_session *s, int64_t offset, const char *why)
{
	int64_t old = s->clock_offset_ms;
	char info[160];

	s->clock_offset_ms = offset;
	snprintf(info, sizeof(info), "wall time moved by %+.3f s: %s",
	    (double)(offset - old) / 1000.0, why);
	log_info("ocpp: %s (offset to the system clock %+.3f s)", info,
	    (double)offset / 1000.0);
	session_security_event(s, "SettingSystemTime", info);
	if (s->cb->clock_changed != NULL)
		s->cb->clock_changed(s->ud);
}

void
session_clock_csms(struct ocpp_session *s, const char *current_time)
{
	int64_t csms_ms, offset;

	if (current_time == NULL || parse_rfc3339(current_time, &csms_ms) != 0)
		return;	/* the schema check let none through */
	if (csms_ms < CLOCK_MIN_MS || csms_ms > CLOCK_MAX_MS) {
		log_warnx("ocpp: the CSMS's currentTime %s is not believable: "
		    "not used", current_time);
		return;
	}
	offset = use_csms_time(s) ? csms_ms - wall_now_ms() : 0;
	if (llabs(offset - s->clock_offset_ms) > CLOCK_STEP_MS)
		set_offset(s, offset, offset != 0 ? "the CSMS's currentTime" :
		    "the system clock again");
}

void
session_clock_source_changed(struct ocpp_session *s)
{
	if (s->clock_offset_ms != 0 && !use_csms_time(s))
		set_offset(s, 0, "the system clock again");
}

void
session_clock_watch(struct ocpp_session *s)
{
	int64_t skew = wall_now_ms() - mono_now_ms();
	int64_t step = skew - s->clock_skew_ms, moved;

	if (!s->clock_skew_known || llabs(step) <= CLOCK_STEP_MS) {
		s->clock_skew_ms = skew;
		s->clock_skew_known = true;
		return;
	}
	s->clock_skew_ms = skew;
	log_info("ocpp: the system clock was stepped by %+.3f s",
	    (double)step / 1000.0);
	if (s->clock_offset_ms != 0 && use_csms_time(s)) {
		/* The CSMS's time goes on where it was. */
		s->clock_offset_ms -= step;
		return;
	}
	moved = step - s->clock_offset_ms;
	s->clock_offset_ms = 0;	/* synchronised now: the system's time */
	if (llabs(moved) > CLOCK_STEP_MS && s->cb->clock_changed != NULL)
		s->cb->clock_changed(s->ud);
}
