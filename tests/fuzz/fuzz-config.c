/* Fuzz target: configuration keys and device-model variables.  The first
 * byte picks the action (1.6 GetConfiguration / ChangeConfiguration,
 * 2.0.1 GetVariables / SetVariables / GetBaseReport), the rest is its
 * payload; it goes through the session as a CALL, so the schema check
 * runs first, as on the wire. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "tests/fuzz/fuzz-station.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t len);

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t len)
{
	static const struct {
		enum ocpp_version v;
		const char *action;
	} actions[] = {
		{ OCPP_V16, "GetConfiguration" },
		{ OCPP_V16, "ChangeConfiguration" },
		{ OCPP_V201, "GetVariables" },
		{ OCPP_V201, "SetVariables" },
		{ OCPP_V201, "GetBaseReport" },
	};
	size_t i, n;
	char *frame;

	if (len < 1)
		return 0;
	i = data[0] % ARRAY_SIZE(actions);
	n = strlen(actions[i].action) + len + 32;
	frame = xmalloc(n);
	n = (size_t)snprintf(frame, n, "[2,\"f\",\"%s\",%.*s]", actions[i].action,
	    (int)(len - 1), (const char *)data + 1);
	fuzz_receive(fuzz_session(actions[i].v), (const unsigned char *)frame,
	    n);
	free(frame);
	return 0;
}
