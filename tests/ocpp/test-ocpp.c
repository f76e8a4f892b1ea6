/* Unit tests for src/ocpp: OCPP-J framing, the CALLERROR chosen for each
 * class of bad inbound frame in both versions, payload validation from the
 * field specs, message ids and the reconnect back-off. */
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "ocpp/ocpp-private.h"
#include "tests/cu.h"

/* Parses text as an inbound frame, then validates a CALL's payload the
 * way the session does; returns the error name the session would answer
 * with ("" when the frame is good) and copies the message id to id. */
static const char *
classify(enum ocpp_version v, const char *text, char *id, size_t idlen)
{
	struct ocpp_frame f;
	enum ocpp_rpc_error e;
	char *cause = NULL;
	const struct ocpp_action_spec *spec;

	if (ocpp_frame_parse(v, text, strlen(text), &f, &e, &cause) != 0) {
		CU_ASSERT_PTR_NOT_NULL(cause);
		free(cause);
		strlcpy_ok(id, f.id, idlen);
		return ocpp_rpc_error_name(v, e);
	}
	strlcpy_ok(id, f.id, idlen);
	if (f.type != OCPP_CALL) {
		ocpp_frame_clear(&f);
		return "";
	}
	spec = ocpp_action_spec(v, f.action);
	if (spec == NULL) {
		e = ocpp_action_known(v, f.action) ? OCPP_RPC_NOT_SUPPORTED :
		    OCPP_RPC_NOT_IMPLEMENTED;
	} else {
		e = ocpp_validate(v, spec->fields, f.payload, &cause);
		if (e != OCPP_RPC_OK)
			CU_ASSERT_PTR_NOT_NULL(cause);
		free(cause);
	}
	ocpp_frame_clear(&f);
	return ocpp_rpc_error_name(v, e);
}

struct error_case {
	const char *frame;
	const char *id;		/* id the answer carries ("" = none readable) */
	const char *err16;	/* errorCode in 1.6 */
	const char *err201;	/* errorCode in 2.0.1 */
};

/* One frame per error class; the 1.6 names are the spec's own spelling
 * ("OccurenceConstraintViolation"). */
static const struct error_case error_cases[] = {
	/* Not JSON at all: 1.6 FormationViolation, 2.0.1 RpcFrameworkError
	 * with no readable id (the answer uses "-1", part 4 §4.2.3). */
	{ "[2, \"a1\", \"Reset\", {", "", "FormationViolation",
	  "RpcFrameworkError" },
	/* JSON but not an array. */
	{ "{\"x\": 1}", "", "FormationViolation", "RpcFrameworkError" },
	/* Message type not a number; id readable. */
	{ "[\"2\", \"a2\", \"Reset\", {}]", "a2", "FormationViolation",
	  "RpcFrameworkError" },
	/* Id longer than 36 characters (37 here). */
	{ "[2, \"1234567890123456789012345678901234567\", \"Reset\", {}]", "",
	  "FormationViolation", "RpcFrameworkError" },
	/* Unknown message type number 7. */
	{ "[7, \"a3\", \"Reset\", {}]", "a3", "FormationViolation",
	  "MessageTypeNotSupported" },
	/* CALL with 3 elements. */
	{ "[2, \"a4\", \"Reset\"]", "a4", "FormationViolation",
	  "RpcFrameworkError" },
	/* Payload not an object. */
	{ "[2, \"a5\", \"Reset\", [1]]", "a5", "FormationViolation",
	  "FormatViolation" },
	/* Action nobody defined. */
	{ "[2, \"a6\", \"MakeCoffee\", {}]", "a6", "NotImplemented",
	  "NotImplemented" },
	/* Action of the protocol, not taken by a charging station. */
	{ "[2, \"a7\", \"Authorize\", {}]", "a7", "NotSupported",
	  "NotSupported" },
};

/* Each frame-level error class gets its code in each version. */
static void
test_frame_errors(void)
{
	char id[64];

	for (size_t i = 0; i < ARRAY_SIZE(error_cases); i++) {
		const struct error_case *c = &error_cases[i];
		const char *got;

		got = classify(OCPP_V16, c->frame, id, sizeof(id));
		CU_ASSERT_STRING_EQUAL(got, c->err16);
		CU_ASSERT_STRING_EQUAL(id, c->id);
		got = classify(OCPP_V201, c->frame, id, sizeof(id));
		CU_ASSERT_STRING_EQUAL(got, c->err201);
		if (strcmp(got, c->err201) != 0)
			fprintf(stderr, "case %zu: %s\n", i, got);
	}
}

/* Payload faults of 1.6 actions. */
static void
test_payload_errors_16(void)
{
	char id[64];

	/* Missing required "type". */
	CU_ASSERT_STRING_EQUAL(classify(OCPP_V16,
	    "[2,\"b1\",\"Reset\",{}]", id, sizeof(id)),
	    "OccurenceConstraintViolation");
	/* Wrong JSON type: connectorId as a string. */
	CU_ASSERT_STRING_EQUAL(classify(OCPP_V16,
	    "[2,\"b2\",\"UnlockConnector\",{\"connectorId\":\"1\"}]", id,
	    sizeof(id)), "TypeConstraintViolation");
	/* Integer expected, 1.5 given. */
	CU_ASSERT_STRING_EQUAL(classify(OCPP_V16,
	    "[2,\"b3\",\"UnlockConnector\",{\"connectorId\":1.5}]", id,
	    sizeof(id)), "TypeConstraintViolation");
	/* Enum value not allowed. */
	CU_ASSERT_STRING_EQUAL(classify(OCPP_V16,
	    "[2,\"b4\",\"Reset\",{\"type\":\"Warm\"}]", id, sizeof(id)),
	    "PropertyConstraintViolation");
	/* Out of range: connector -1. */
	CU_ASSERT_STRING_EQUAL(classify(OCPP_V16,
	    "[2,\"b5\",\"ChangeAvailability\",{\"connectorId\":-1,"
	    "\"type\":\"Operative\"}]", id, sizeof(id)),
	    "PropertyConstraintViolation");
	/* idTag is CiString20: 21 characters are too many. */
	CU_ASSERT_STRING_EQUAL(classify(OCPP_V16,
	    "[2,\"b6\",\"RemoteStartTransaction\",{\"idTag\":"
	    "\"123456789012345678901\"}]", id, sizeof(id)),
	    "PropertyConstraintViolation");
	/* Exactly 20 is fine. */
	CU_ASSERT_STRING_EQUAL(classify(OCPP_V16,
	    "[2,\"b7\",\"RemoteStartTransaction\",{\"idTag\":"
	    "\"12345678901234567890\"}]", id, sizeof(id)), "");
	/* A field the PDU does not have. */
	CU_ASSERT_STRING_EQUAL(classify(OCPP_V16,
	    "[2,\"b8\",\"Reset\",{\"type\":\"Soft\",\"force\":true}]", id,
	    sizeof(id)), "FormationViolation");
	/* Bad date-time. */
	CU_ASSERT_STRING_EQUAL(classify(OCPP_V16,
	    "[2,\"b9\",\"UpdateFirmware\",{\"location\":\"http://x/fw\","
	    "\"retrieveDate\":\"tomorrow\"}]", id, sizeof(id)),
	    "PropertyConstraintViolation");
	/* GetConfiguration key items must be strings. */
	CU_ASSERT_STRING_EQUAL(classify(OCPP_V16,
	    "[2,\"b10\",\"GetConfiguration\",{\"key\":[\"a\",3]}]", id,
	    sizeof(id)), "TypeConstraintViolation");
	CU_ASSERT_STRING_EQUAL(id, "b10");
}

/* Payload faults of 2.0.1 actions, including nested objects and arrays. */
static void
test_payload_errors_201(void)
{
	char id[64];

	CU_ASSERT_STRING_EQUAL(classify(OCPP_V201,
	    "[2,\"c1\",\"RequestStartTransaction\",{\"remoteStartId\":1}]",
	    id, sizeof(id)), "OccurrenceConstraintViolation");
	/* Nested: idToken.type not in its enum. */
	CU_ASSERT_STRING_EQUAL(classify(OCPP_V201,
	    "[2,\"c2\",\"RequestStartTransaction\",{\"remoteStartId\":1,"
	    "\"idToken\":{\"idToken\":\"A\",\"type\":\"Magic\"}}]", id,
	    sizeof(id)), "PropertyConstraintViolation");
	/* Empty getVariableData: minItems 1. */
	CU_ASSERT_STRING_EQUAL(classify(OCPP_V201,
	    "[2,\"c3\",\"GetVariables\",{\"getVariableData\":[]}]", id,
	    sizeof(id)), "OccurrenceConstraintViolation");
	/* Item without its component. */
	CU_ASSERT_STRING_EQUAL(classify(OCPP_V201,
	    "[2,\"c4\",\"GetVariables\",{\"getVariableData\":[{\"variable\":"
	    "{\"name\":\"HeartbeatInterval\"}}]}]", id, sizeof(id)),
	    "OccurrenceConstraintViolation");
	CU_ASSERT_STRING_EQUAL(classify(OCPP_V201,
	    "[2,\"c5\",\"Reset\",{\"type\":5}]", id, sizeof(id)),
	    "TypeConstraintViolation");
	/* Unknown field: ProtocolError in 2.0.1. */
	CU_ASSERT_STRING_EQUAL(classify(OCPP_V201,
	    "[2,\"c6\",\"Reset\",{\"type\":\"Immediate\",\"x\":1}]", id,
	    sizeof(id)), "ProtocolError");
	/* customData is allowed everywhere in 2.0.1. */
	CU_ASSERT_STRING_EQUAL(classify(OCPP_V201,
	    "[2,\"c7\",\"Reset\",{\"type\":\"Immediate\",\"customData\":"
	    "{\"vendorId\":\"v\"}}]", id, sizeof(id)), "");
	/* A good nested request. */
	CU_ASSERT_STRING_EQUAL(classify(OCPP_V201,
	    "[2,\"c8\",\"SetVariables\",{\"setVariableData\":[{"
	    "\"attributeValue\":\"60\",\"component\":{\"name\":"
	    "\"OCPPCommCtrlr\"},\"variable\":{\"name\":\"HeartbeatInterval\"}}]}]",
	    id, sizeof(id)), "");
	/* evseId 0 is below the minimum of UnlockConnector (1). */
	CU_ASSERT_STRING_EQUAL(classify(OCPP_V201,
	    "[2,\"c9\",\"UnlockConnector\",{\"evseId\":0,\"connectorId\":1}]",
	    id, sizeof(id)), "PropertyConstraintViolation");
	/* Charging profile actions exist (handed to the daemon). */
	CU_ASSERT_TRUE(ocpp_action_known(OCPP_V201, "SetChargingProfile"));
	CU_ASSERT_PTR_NOT_NULL(ocpp_action_spec(OCPP_V201, "SetChargingProfile"));
	CU_ASSERT_PTR_NULL(ocpp_action_spec(OCPP_V201, "Authorize"));
}

/* Responses and errors from the peer parse into their parts. */
static void
test_parse_result_and_error(void)
{
	struct ocpp_frame f;
	enum ocpp_rpc_error e;
	char *cause = NULL;
	const char *res = "[3,\"m-1\",{\"status\":\"Accepted\",\"interval\":300,"
	    "\"currentTime\":\"2026-11-26T06:00:00Z\",\"extra\":1}]";
	const char *err = "[4,\"m-2\",\"NotSupported\",\"no\",{}]";

	CU_ASSERT_EQUAL(ocpp_frame_parse(OCPP_V16, res, strlen(res), &f, &e,
	    &cause), 0);
	CU_ASSERT_EQUAL(f.type, OCPP_CALLRESULT);
	CU_ASSERT_STRING_EQUAL(f.id, "m-1");
	/* Responses tolerate extra fields but not a bad status. */
	CU_ASSERT_EQUAL(ocpp_validate_response(OCPP_V16,
	    ocpp_response_spec(OCPP_V16, "BootNotification")->fields, f.payload,
	    &cause), OCPP_RPC_OK);
	ocpp_frame_clear(&f);
	res = "[3,\"m-3\",{\"status\":\"Maybe\",\"interval\":300,"
	    "\"currentTime\":\"2026-11-26T06:00:00Z\"}]";
	CU_ASSERT_EQUAL(ocpp_frame_parse(OCPP_V201, res, strlen(res), &f, &e,
	    &cause), 0);
	CU_ASSERT_EQUAL(ocpp_validate_response(OCPP_V201,
	    ocpp_response_spec(OCPP_V201, "BootNotification")->fields, f.payload,
	    &cause), OCPP_RPC_PROPERTY);
	free(cause);
	ocpp_frame_clear(&f);

	CU_ASSERT_EQUAL(ocpp_frame_parse(OCPP_V201, err, strlen(err), &f, &e,
	    &cause), 0);
	CU_ASSERT_EQUAL(f.type, OCPP_CALLERROR);
	CU_ASSERT_STRING_EQUAL(f.error_code, "NotSupported");
	CU_ASSERT_STRING_EQUAL(f.error_desc, "no");
	ocpp_frame_clear(&f);
	/* CALLERROR without details object. */
	err = "[4,\"m-2\",\"NotSupported\",\"no\"]";
	CU_ASSERT_EQUAL(ocpp_frame_parse(OCPP_V201, err, strlen(err), &f, &e,
	    &cause), -1);
	CU_ASSERT_EQUAL(e, OCPP_RPC_FRAMEWORK);
	free(cause);
}

/* Builders produce exact OCPP-J text; an unreadable id becomes "-1". */
static void
test_build(void)
{
	json_t *p = json_pack("{si}", "interval", 60);
	char *s;

	s = ocpp_build_call("id1", "Heartbeat", p);
	CU_ASSERT_STRING_EQUAL(s, "[2,\"id1\",\"Heartbeat\",{\"interval\":60}]");
	free(s);
	s = ocpp_build_result("id2", p);
	CU_ASSERT_STRING_EQUAL(s, "[3,\"id2\",{\"interval\":60}]");
	free(s);
	json_decref(p);
	s = ocpp_build_error(OCPP_V201, "", OCPP_RPC_FRAMEWORK, "bad");
	CU_ASSERT_STRING_EQUAL(s, "[4,\"-1\",\"RpcFrameworkError\",\"bad\",{}]");
	free(s);
	s = ocpp_build_error(OCPP_V16, "x", OCPP_RPC_OCCURRENCE, NULL);
	CU_ASSERT_STRING_EQUAL(s,
	    "[4,\"x\",\"OccurenceConstraintViolation\",\"\",{}]");
	free(s);
}

/* Ids are unique and at most 36 characters. */
static void
test_message_ids(void)
{
	char a[40], b[40];
	uint64_t n = 0;

	ocpp_next_msg_id(a, sizeof(a), 0xdeadbeef, &n);
	ocpp_next_msg_id(b, sizeof(b), 0xdeadbeef, &n);
	CU_ASSERT_STRING_EQUAL(a, "deadbeef-1");
	CU_ASSERT_STRING_EQUAL(b, "deadbeef-2");
	n = UINT64_MAX - 1;
	ocpp_next_msg_id(a, sizeof(a), 0xffffffff, &n);
	/* 8 + 1 + 20 digits of 2^64-1 = 29 <= 36. */
	CU_ASSERT_EQUAL(strlen(a), 29);
}

/* Back-off per 2.0.1 part 4 §5.3 with min 10 s, random 10 s, repeat 3. */
static void
test_backoff(void)
{
	/* attempt 0: 10 s + 0.5 × 10 s = 15 s. */
	CU_ASSERT_EQUAL(ocpp_backoff_ms(0, 10, 10, 3, 0.5), 15000);
	/* attempt 1: 20 s + 0 = 20 s; attempt 2: 40 s + 9.99 s. */
	CU_ASSERT_EQUAL(ocpp_backoff_ms(1, 10, 10, 3, 0.0), 20000);
	CU_ASSERT_EQUAL(ocpp_backoff_ms(2, 10, 10, 3, 0.999), 49990);
	/* attempts 3 and 9 stay at 2^3 × 10 = 80 s (+ 2.5 s). */
	CU_ASSERT_EQUAL(ocpp_backoff_ms(3, 10, 10, 3, 0.25), 82500);
	CU_ASSERT_EQUAL(ocpp_backoff_ms(9, 10, 10, 3, 0.25), 82500);
	/* No random range: exact. */
	CU_ASSERT_EQUAL(ocpp_backoff_ms(1, 1, 0, 5, 0.7), 2000);
}

/* Version names and statuses. */
static void
test_names(void)
{
	enum ocpp_version v;
	enum ocpp_conn_status st;

	CU_ASSERT_EQUAL(ocpp_version_parse("2.0.1", &v), 0);
	CU_ASSERT_EQUAL(v, OCPP_V201);
	CU_ASSERT_STRING_EQUAL(ocpp_version_subprotocol(OCPP_V16), "ocpp1.6");
	CU_ASSERT_EQUAL(ocpp_version_parse("2.0", &v), -1);
	CU_ASSERT_EQUAL(ocpp_status_parse("SuspendedEVSE", &st), 0);
	CU_ASSERT_EQUAL(st, OCPP_ST_SUSPENDED_EVSE);
	CU_ASSERT_STRING_EQUAL(ocpp_status_name16(OCPP_ST_FAULTED), "Faulted");
	CU_ASSERT_EQUAL(ocpp_status_parse("Charged", &st), -1);
}

static const struct cu_test codec_tests[] = {
	{ "frame-level errors, both versions", test_frame_errors },
	{ "1.6 payload errors", test_payload_errors_16 },
	{ "2.0.1 payload errors", test_payload_errors_201 },
	{ "CALLRESULT and CALLERROR parsing", test_parse_result_and_error },
	{ "frame builders", test_build },
	{ "message ids", test_message_ids },
	{ "reconnect back-off", test_backoff },
	{ "names", test_names },
	{ NULL, NULL },
};

int
main(void)
{
	static const struct cu_suite suites[] = {
		{ "ocpp-codec", NULL, NULL, codec_tests },
		{ NULL, NULL, NULL, NULL },
	};

	return cu_run(suites);
}
