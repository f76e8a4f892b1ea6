/* Shared by the fuzz targets: a check on answers, and a session of the
 * OCPP module with no network: a
 * two-connector station whose callbacks accept what they are asked and
 * whose charging-profile actions run the profile engine, as the daemon
 * wires them.  Frames go in through session_receive(); answers are built
 * and dropped (there is no link). */
#ifndef EDGE_FUZZ_STATION_H
#define EDGE_FUZZ_STATION_H

#include <stddef.h>

#include "ocpp/ocpp-private.h"
#include "ocpp/session-private.h"

/* The session of version v, created on first use.  Borrowed. */
struct ocpp_session *fuzz_session(enum ocpp_version v);
/* Aborts (a finding) unless text is a JSON object; frees text. */
void fuzz_must_be_object(char *text);
/* Hands data (any bytes) to the session as one text message. */
void fuzz_receive(struct ocpp_session *s, const unsigned char *data,
    size_t len);

#endif
