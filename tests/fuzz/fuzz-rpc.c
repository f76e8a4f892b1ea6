/* Fuzz target: one inbound OCPP-J message (any bytes) through the frame
 * decoder and the session's dispatcher, for the version FUZZ_VERSION
 * (OCPP_V16 or OCPP_V201): schema validation, every handler, the
 * charging-profile engine behind SetChargingProfile / ClearChargingProfile
 * / GetCompositeSchedule.  The answer to a frame that does not parse must
 * always be buildable: valid JSON with a description of at most 255
 * bytes. */
#include "config.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz-station.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t len);

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t len)
{
	struct ocpp_frame f;
	enum ocpp_rpc_error e;
	char *cause = NULL, id[OCPP_MSG_ID_MAX + 1];

	if (ocpp_frame_parse(FUZZ_VERSION, (const char *)data, len, &f, &e,
	    &cause) != 0) {
		char *answer = ocpp_build_error(FUZZ_VERSION, f.id, e, cause);
		json_t *j = answer != NULL ? json_loads(answer, 0, NULL) : NULL;

		if (j == NULL || strlen(json_string_value(json_array_get(j,
		    3))) > OCPP_ERROR_DESC_MAX)
			abort();
		json_decref(j);
		free(answer);
		free(cause);
	} else {
		ocpp_frame_clear(&f);
	}
	ocpp_frame_peek_id((const char *)data, len, id);
	fuzz_receive(fuzz_session(FUZZ_VERSION), data, len);
	return 0;
}
