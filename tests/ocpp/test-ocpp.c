/* Unit tests for src/ocpp: OCPP-J framing, the CALLERROR chosen for each
 * class of bad inbound frame in both versions, payload validation from the
 * field specs, message ids and the reconnect back-off; the session's
 * logic without a network, local authorization (auth.c) among it. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "ocpp/ocpp-private.h"
#include "ocpp/session-private.h"
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

/* The cause of a payload fault, or "" when it passes (static buffer). */
static const char *
cause_of(enum ocpp_version v, const char *action, const char *payload)
{
	static char out[300];
	const struct ocpp_action_spec *spec = ocpp_action_spec(v, action);
	json_t *j = json_loads(payload, 0, NULL);
	char *cause = NULL;

	CU_ASSERT_PTR_NOT_NULL_FATAL(spec);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	(void)ocpp_validate(v, spec->fields, j, &cause);
	snprintf(out, sizeof(out), "%s", cause != NULL ? cause : "");
	free(cause);
	json_decref(j);
	return out;
}

/* A fault's cause says where it is: members joined by dots, array items
 * by their index. */
static void
test_payload_error_paths(void)
{
	const char *sched16 = "{\"connectorId\":1,\"csChargingProfiles\":"
	    "{\"chargingProfileId\":1,\"stackLevel\":0,"
	    "\"chargingProfilePurpose\":\"TxDefaultProfile\","
	    "\"chargingProfileKind\":\"Absolute\",\"chargingSchedule\":"
	    "{\"chargingRateUnit\":\"W\",\"chargingSchedulePeriod\":"
	    "[{\"startPeriod\":0,\"limit\":1},{\"startPeriod\":60,"
	    "\"limit\":\"x\"}]}}}";

	CU_ASSERT_STRING_EQUAL(cause_of(OCPP_V16, "SetChargingProfile",
	    sched16), "csChargingProfiles.chargingSchedule."
	    "chargingSchedulePeriod[1].limit must be a number");
	CU_ASSERT_STRING_EQUAL(cause_of(OCPP_V16, "Reset", "{}"),
	    "required field type is missing");
	CU_ASSERT_STRING_EQUAL(cause_of(OCPP_V16, "Reset",
	    "{\"type\":\"Hard\",\"x\":1}"),
	    "x is not a field of this message");
	CU_ASSERT_STRING_EQUAL(cause_of(OCPP_V201, "GetVariables",
	    "{\"getVariableData\":[{\"component\":{\"name\":\"A\"},"
	    "\"variable\":{\"name\":\"B\",\"y\":2}}]}"),
	    "getVariableData[0].variable.y is not a field of this message");
	CU_ASSERT_STRING_EQUAL(cause_of(OCPP_V16, "Reset",
	    "{\"type\":\"Hard\"}"), "");
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
	/* Connector -1 is an integer as the schema asks (the handler
	 * rejects it); 2^31 does not fit OCPP's 32-bit integer. */
	CU_ASSERT_STRING_EQUAL(classify(OCPP_V16,
	    "[2,\"b5\",\"ChangeAvailability\",{\"connectorId\":-1,"
	    "\"type\":\"Operative\"}]", id, sizeof(id)), "");
	CU_ASSERT_STRING_EQUAL(classify(OCPP_V16,
	    "[2,\"b5\",\"ChangeAvailability\",{\"connectorId\":2147483648,"
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
	/* evseId 0 is an integer as the schema asks (the handler answers
	 * UnknownConnector); a string is not. */
	CU_ASSERT_STRING_EQUAL(classify(OCPP_V201,
	    "[2,\"c9\",\"UnlockConnector\",{\"evseId\":0,\"connectorId\":1}]",
	    id, sizeof(id)), "");
	CU_ASSERT_STRING_EQUAL(classify(OCPP_V201,
	    "[2,\"c9\",\"UnlockConnector\",{\"evseId\":\"1\","
	    "\"connectorId\":1}]", id, sizeof(id)), "TypeConstraintViolation");
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

/* Every action the session takes is checked against the generated
 * schema tables before its handler: the charging-profile actions too,
 * nested objects, formats, multipleOf, maxLength in characters. */
static void
test_schema_tables(void)
{
	static const struct {
		enum ocpp_version v;
		const char *frame, *code;
	} cases[] = {
		/* GetCompositeSchedule: missing id, wrong type, enum. */
		{ OCPP_V16, "[2,\"g1\",\"GetCompositeSchedule\",{\"duration\":60}]",
		    "OccurenceConstraintViolation" },
		{ OCPP_V201, "[2,\"g2\",\"GetCompositeSchedule\",{\"duration\":60}]",
		    "OccurrenceConstraintViolation" },
		{ OCPP_V16, "[2,\"g3\",\"GetCompositeSchedule\",{\"connectorId\":1,"
		    "\"duration\":\"sixty\"}]", "TypeConstraintViolation" },
		{ OCPP_V201, "[2,\"g4\",\"GetCompositeSchedule\",{\"evseId\":1,"
		    "\"duration\":60,\"chargingRateUnit\":\"kW\"}]",
		    "PropertyConstraintViolation" },
		{ OCPP_V16, "[2,\"g5\",\"GetCompositeSchedule\",{\"connectorId\":1,"
		    "\"duration\":60,\"chargingRateUnit\":\"W\"}]", "" },
		/* SetChargingProfile, 1.6: limit is a multiple of 0.1. */
		{ OCPP_V16, "[2,\"g6\",\"SetChargingProfile\",{\"connectorId\":0,"
		    "\"csChargingProfiles\":{\"chargingProfileId\":1,\"stackLevel\":0,"
		    "\"chargingProfilePurpose\":\"TxDefaultProfile\","
		    "\"chargingProfileKind\":\"Relative\",\"chargingSchedule\":{"
		    "\"chargingRateUnit\":\"A\",\"chargingSchedulePeriod\":[{"
		    "\"startPeriod\":0,\"limit\":21.75}]}}}]",
		    "PropertyConstraintViolation" },
		{ OCPP_V16, "[2,\"g7\",\"SetChargingProfile\",{\"connectorId\":0,"
		    "\"csChargingProfiles\":{\"chargingProfileId\":1,\"stackLevel\":0,"
		    "\"chargingProfilePurpose\":\"TxDefaultProfile\","
		    "\"chargingProfileKind\":\"Relative\",\"chargingSchedule\":{"
		    "\"chargingRateUnit\":\"A\",\"chargingSchedulePeriod\":[{"
		    "\"startPeriod\":0,\"limit\":21.7}]}}}]", "" },
		/* 2.0.1: a nested date-time, an unknown nested member,
		 * customData allowed anywhere. */
		{ OCPP_V201, "[2,\"g8\",\"SetChargingProfile\",{\"evseId\":0,"
		    "\"chargingProfile\":{\"id\":1,\"stackLevel\":0,"
		    "\"chargingProfilePurpose\":\"TxDefaultProfile\","
		    "\"chargingProfileKind\":\"Absolute\",\"chargingSchedule\":[{"
		    "\"id\":1,\"startSchedule\":\"yesterday\",\"chargingRateUnit\":\"W\","
		    "\"chargingSchedulePeriod\":[{\"startPeriod\":0,\"limit\":1}]}]}}]",
		    "PropertyConstraintViolation" },
		{ OCPP_V201, "[2,\"g9\",\"ClearChargingProfile\",{"
		    "\"chargingProfileCriteria\":{\"stackLevel\":1,\"colour\":1}}]",
		    "ProtocolError" },
		{ OCPP_V201, "[2,\"g10\",\"ClearChargingProfile\",{\"customData\":{"
		    "\"vendorId\":\"x\",\"any\":1},\"chargingProfileCriteria\":{"
		    "\"stackLevel\":1}}]", "" },
		/* maxLength counts characters: 20 x "é" is a valid idTag. */
		{ OCPP_V16, "[2,\"g11\",\"RemoteStartTransaction\",{\"idTag\":"
		    "\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}]",
		    "" },
		/* GetChargingProfiles: the criterion object is required. */
		{ OCPP_V201, "[2,\"g12\",\"GetChargingProfiles\",{\"requestId\":1}]",
		    "OccurrenceConstraintViolation" },
	};
	char id[64];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *got = classify(cases[i].v, cases[i].frame, id,
		    sizeof(id));

		if (strcmp(got, cases[i].code) != 0)
			fprintf(stderr, "case %zu: %s, expected %s\n", i, got,
			    cases[i].code);
		CU_ASSERT_STRING_EQUAL(got, cases[i].code);
	}
	/* Every action of each version has both tables. */
	CU_ASSERT_TRUE(ocpp_action_known(OCPP_V16, "SignCertificate"));
	CU_ASSERT_TRUE(ocpp_action_known(OCPP_V201, "NotifyEVChargingNeeds"));
	CU_ASSERT_FALSE(ocpp_action_known(OCPP_V16, "GetVariables"));
	CU_ASSERT_PTR_NOT_NULL(ocpp_response_spec(OCPP_V16, "StartTransaction"));
}

/* The answer to a frame that does not parse is valid JSON in both
 * versions, whatever the parser's message cut: the 7-byte frame
 * ["\é"] (invalid escape before a 2-byte character) once aborted. */
static void
test_unparsable_answer(void)
{
	static const char *const frames[] = {
		"[\"\\\xc3\xa9\"]", "[\"\xc3\"]", "[2,\"\xff\"]",
		"\xe2\x82", "[2,\"a\",\"\\\xf0\x9f\x98\x80\"]",
	};

	for (size_t i = 0; i < ARRAY_SIZE(frames); i++) {
		for (int v = OCPP_V16; v <= OCPP_V201; v++) {
			struct ocpp_frame f;
			enum ocpp_rpc_error e;
			char *cause = NULL, *out;
			json_t *j;

			CU_ASSERT_EQUAL(ocpp_frame_parse((enum ocpp_version)v,
			    frames[i], strlen(frames[i]), &f, &e, &cause), -1);
			CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
			out = ocpp_build_error((enum ocpp_version)v, f.id, e, cause);
			CU_ASSERT_PTR_NOT_NULL_FATAL(out);
			j = json_loads(out, 0, NULL);
			CU_ASSERT_PTR_NOT_NULL(j);
			CU_ASSERT_STRING_EQUAL(json_string_value(
			    json_array_get(j, 1)), "-1");
			json_decref(j);
			free(out);
			free(cause);
		}
	}
}

/* Descriptions become valid UTF-8 of at most 255 bytes, cut between
 * characters; bad bytes become '?'. */
static void
test_utf8_copy(void)
{
	char d[8], big[600], *out;
	json_t *j;

	CU_ASSERT_STRING_EQUAL(utf8_copy(d, sizeof(d), "abc"), "abc");
	/* 3 × "é" is 6 bytes: a fourth would need 8 + NUL. */
	CU_ASSERT_STRING_EQUAL(utf8_copy(d, sizeof(d),
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"), "\xc3\xa9\xc3\xa9\xc3\xa9");
	CU_ASSERT_STRING_EQUAL(utf8_copy(d, sizeof(d), "a\xc3z"), "a?z");
	/* Overlong, surrogate, above U+10FFFF, stray continuation. */
	CU_ASSERT_STRING_EQUAL(utf8_copy(d, sizeof(d), "\xc0\xaf"), "??");
	CU_ASSERT_STRING_EQUAL(utf8_copy(d, sizeof(d), "\xed\xa0\x80"),
	    "???");
	CU_ASSERT_STRING_EQUAL(utf8_copy(d, sizeof(d), "\xf4\x90\x80\x80"),
	    "????");
	CU_ASSERT_STRING_EQUAL(utf8_copy(d, sizeof(d), "\x80"), "?");
	CU_ASSERT_STRING_EQUAL(utf8_copy(d, sizeof(d), "\xf0\x9f\x98\x80!"),
	    "\xf0\x9f\x98\x80!");
	/* 300 × "€" (3 bytes): the description keeps 85 = 255 bytes. */
	big[0] = '\0';
	for (int i = 0; i < 150; i++)
		strcat(big, "\xe2\x82\xac");
	out = ocpp_build_error(OCPP_V201, "i", OCPP_RPC_GENERIC, big);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	j = json_loads(out, 0, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_EQUAL(strlen(json_string_value(json_array_get(j, 3))), 255);
	json_decref(j);
	free(out);
}

/* The type and id at the start of a frame that will not be parsed. */
static void
test_peek_id(void)
{
	char id[OCPP_MSG_ID_MAX + 1];

	CU_ASSERT_EQUAL(ocpp_frame_peek_id("[2,\"m1\",\"Res", 12, id), 2);
	CU_ASSERT_STRING_EQUAL(id, "m1");
	CU_ASSERT_EQUAL(ocpp_frame_peek_id(" [ 3 ,\n \"x\"", 12, id), 3);
	CU_ASSERT_STRING_EQUAL(id, "x");
	/* Cut inside the id, escapes, too long, not a number, empty. */
	CU_ASSERT_EQUAL(ocpp_frame_peek_id("[2,\"m1", 6, id), -1);
	CU_ASSERT_STRING_EQUAL(id, "");
	CU_ASSERT_EQUAL(ocpp_frame_peek_id("[2,\"a\\\"b\"", 10, id), -1);
	CU_ASSERT_EQUAL(ocpp_frame_peek_id(
	    "[2,\"1234567890123456789012345678901234567\"", 43, id), -1);
	CU_ASSERT_EQUAL(ocpp_frame_peek_id("[\"2\",\"a\"", 9, id), -1);
	CU_ASSERT_EQUAL(ocpp_frame_peek_id("[2,\"\"", 6, id), -1);
	CU_ASSERT_EQUAL(ocpp_frame_peek_id("[2,\"\xc3\"", 6, id), -1);
	CU_ASSERT_EQUAL(ocpp_frame_peek_id("", 0, id), -1);
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
	/* The same frame from the payload's text (a queued CALL). */
	s = ocpp_build_call_text("id1", "Heartbeat", "{\"interval\":60}");
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

/* Text written without a JSON tree is the JSON jansson writes for the
 * same values; a byte that is not UTF-8 becomes '?'. */
static void
test_text(void)
{
	static const char *const strs[] = { "", "plain", "q\"uote",
		"back\\slash", "nl\ntab\tcr\rbs\bff\f", "\x01\x1f\x7f",
		"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x8c", "a/b" };
	struct ocpp_text t = { 0 };
	json_t *j = json_pack("{s[iss]sb}", "a", 1, "x", "y", "b", true);

	for (size_t i = 0; i < ARRAY_SIZE(strs); i++) {
		json_t *js = json_string(strs[i]);
		char *want = json_dumps(js, JSON_ENCODE_ANY);

		t.len = 0;
		ocpp_text_str(&t, strs[i]);
		CU_ASSERT_STRING_EQUAL(t.p, want);
		free(want);
		json_decref(js);
	}
	t.len = 0;
	ocpp_text_str(&t, "a\xc3(\xff\xed\xa0\x80z");	/* cut, bad, surrogate */
	CU_ASSERT_STRING_EQUAL(t.p, "\"a?(????z\"");
	/* Growth past the first buffer keeps every byte. */
	t.len = 0;
	for (int i = 0; i < 3000; i++)
		ocpp_text_put(&t, "0123456789");
	CU_ASSERT_EQUAL(t.len, 30000);
	CU_ASSERT_EQUAL(strlen(t.p), 30000);
	CU_ASSERT_EQUAL(memcmp(t.p + 29990, "0123456789", 10), 0);
	t.len = 0;
	ocpp_text_put(&t, "[");
	ocpp_text_json(&t, j);
	ocpp_text_raw(&t, "]", 1);
	CU_ASSERT_STRING_EQUAL(t.p, "[{\"a\":[1,\"x\",\"y\"],\"b\":true}]");
	CU_ASSERT_FALSE(t.failed);
	json_decref(j);
	ocpp_text_free(&t);
	CU_ASSERT_PTR_NULL(t.p);
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

/* ---- session logic without a network (no lws context) ---- */

struct fake_msg {
	char action[40];
	char payload[4096];
};

static struct {
	struct fake_msg m[16];
	int n;
	/* SecurityEventNotifications are counted apart: the tests of
	 * transaction messages see only those. */
	int security_events;
	char last_security_type[64];
	char keys[16][40], vals[16][512];
	int nkv;
} fq;

static void
fq_set(const char *key, const char *value)
{
	for (int i = 0; i < fq.nkv; i++)
		if (strcmp(fq.keys[i], key) == 0) {
			strlcpy_ok(fq.vals[i], value, sizeof(fq.vals[i]));
			return;
		}
	strlcpy_ok(fq.keys[fq.nkv], key, sizeof(fq.keys[0]));
	strlcpy_ok(fq.vals[fq.nkv++], value, sizeof(fq.vals[0]));
}

static int
fq_enqueue(void *ud, const char *action, const char *payload,
    const char *key, const char *value)
{
	(void)ud;
	if (strcmp(action, "SecurityEventNotification") == 0) {
		json_t *p = json_loads(payload, 0, NULL);

		fq.security_events++;
		const char *type = json_string_value(json_object_get(p, "type"));

		strlcpy_ok(fq.last_security_type, type != NULL ? type : "",
		    sizeof(fq.last_security_type));
		json_decref(p);
		return 0;
	}
	strlcpy_ok(fq.m[fq.n].action, action, sizeof(fq.m[0].action));
	strlcpy_ok(fq.m[fq.n++].payload, payload, sizeof(fq.m[0].payload));
	if (key != NULL)
		fq_set(key, value);
	return 0;
}

static int
fq_peek(void *ud, struct ocpp_queued *out)
{
	(void)ud;
	(void)out;
	return 1;
}

static int
fq_ack(void *ud, int64_t id, const char *key, const char *value)
{
	(void)ud;
	(void)id;
	if (key != NULL)
		fq_set(key, value);
	return 0;
}

static int
fq_attempts(void *ud, int64_t id, int attempts)
{
	(void)ud;
	(void)id;
	(void)attempts;
	return 0;
}

static int
fq_get(void *ud, const char *key, char *buf, size_t len)
{
	(void)ud;
	for (int i = 0; i < fq.nkv; i++)
		if (strcmp(fq.keys[i], key) == 0 && fq.vals[i][0] != '\0') {
			strlcpy_ok(buf, fq.vals[i], len);
			return 0;
		}
	return 1;
}

static int
fq_state_set(void *ud, const char *key, const char *value)
{
	(void)ud;
	fq_set(key, value);
	return 0;
}

static const struct ocpp_queue_ops fq_ops = {
	fq_enqueue, fq_peek, fq_ack, fq_attempts, fq_get, fq_state_set,
};
static const struct ocpp_callbacks no_callbacks;
static struct ocpp_connector conns[3];
static struct ocpp_station fake_station = {
	"vendor", "model", "", "", 2, conns,
};

/* A session of version v with a fresh fake store; NULL on bad settings. */
static struct ocpp_session *
fake_session(enum ocpp_version v, struct ocpp_settings *st)
{
	char *cause = NULL;
	struct ocpp_session *s;

	ocpp_settings_defaults(st);
	st->version = v;
	st->url = "ws://127.0.0.1:9/ocpp";
	st->identity = "CS1";
	st->password = "0123456789abcdef";
	s = ocpp_session_new(NULL, st, &fake_station, &no_callbacks, &fq_ops,
	    NULL, &cause);
	free(cause);
	return s;
}

/* ChangeConfiguration key = value on s; returns the status (static). */
static const char *
change16(struct ocpp_session *s, const char *key, const char *value)
{
	static char status[32];
	json_t *req = json_pack("{ssss}", "key", key, "value", value);
	json_t *res = ocpp_change_configuration(s, req);

	strlcpy_ok(status, json_string_value(json_object_get(res, "status")),
	    sizeof(status));
	json_decref(req);
	json_decref(res);
	return status;
}

/* GetConfiguration's answer to req on s, parsed back (caller decrefs;
 * NULL when the text is not JSON). */
static json_t *
get_configuration(struct ocpp_session *s, json_t *req)
{
	struct ocpp_text t = { 0 };
	json_t *res;

	ocpp_get_configuration(s, req, &t);
	CU_ASSERT_FALSE(t.failed);
	res = json_loads(t.p, 0, NULL);
	CU_ASSERT_PTR_NOT_NULL(res);
	ocpp_text_free(&t);
	return res;
}

/* Asserts that GetConfiguration shows 1.6 key as writable with value. */
static void
expect_writable16(struct ocpp_session *s, const char *key, const char *value)
{
	json_t *req = json_pack("{s[s]}", "key", key);
	json_t *res = get_configuration(s, req);
	json_t *k = json_array_get(json_object_get(res, "configurationKey"), 0);

	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(k, "value")),
	    value);
	CU_ASSERT_TRUE(json_is_false(json_object_get(k, "readonly")));
	json_decref(req);
	json_decref(res);
}

/* The measurand lists are read-write: known names only, in any order and
 * spacing, read back in a fixed order, persisted through the settings. */
static void
test_measurand_keys(void)
{
	struct ocpp_settings st;
	struct ocpp_session *s = fake_session(OCPP_V16, &st);

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(change16(s, "MeterValuesSampledData",
	    "Voltage, Energy.Active.Import.Register"), "Accepted");
	CU_ASSERT_EQUAL(s->cfg[CI_SAMPLED_MEASURANDS],
	    OCPP_MEAS_VOLTAGE | OCPP_MEAS_ENERGY);
	CU_ASSERT_STRING_EQUAL(change16(s, "MeterValuesSampledData",
	    "Frequency"), "Rejected");
	CU_ASSERT_STRING_EQUAL(change16(s, "MeterValuesSampledData",
	    "Voltage,"), "Rejected");
	CU_ASSERT_STRING_EQUAL(change16(s, "MeterValuesAlignedData", ""),
	    "Accepted");
	CU_ASSERT_EQUAL(s->cfg[CI_ALIGNED_MEASURANDS], 0);
	expect_writable16(s, "MeterValuesSampledData",
	    "Energy.Active.Import.Register,Voltage");
	ocpp_settings_defaults(&st);
	CU_ASSERT_EQUAL(ocpp_settings_apply(&st, "MeterValuesSampledData",
	    "Power.Active.Import,Current.Import"), 0);
	CU_ASSERT_EQUAL(st.sampled_measurands,
	    OCPP_MEAS_POWER | OCPP_MEAS_CURRENT);
	CU_ASSERT_EQUAL(ocpp_settings_apply(&st, "MeterValuesAlignedData",
	    "SoC"), -1);
	ocpp_session_free(s);
}

/* ConnectorPhaseRotation is read-write: items of existing connectors
 * with the spec's rotations, kept, persisted through the settings. */
static void
test_phase_rotation(void)
{
	struct ocpp_settings st;
	struct ocpp_session *s = fake_session(OCPP_V16, &st);

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(change16(s, "ConnectorPhaseRotation",
	    "0.RST, 1.RST,2.TRS"), "Accepted");
	CU_ASSERT_STRING_EQUAL(change16(s, "ConnectorPhaseRotation",
	    "3.RST"), "Rejected");		/* two connectors */
	CU_ASSERT_STRING_EQUAL(change16(s, "ConnectorPhaseRotation",
	    "1.XYZ"), "Rejected");
	CU_ASSERT_STRING_EQUAL(change16(s, "ConnectorPhaseRotation",
	    "1.RST,"), "Rejected");
	CU_ASSERT_STRING_EQUAL(change16(s, "ConnectorPhaseRotation",
	    "RST"), "Rejected");
	expect_writable16(s, "ConnectorPhaseRotation", "0.RST, 1.RST,2.TRS");
	/* an id no connector has (a gap) is no connector either */
	conns[1].absent = true;
	CU_ASSERT_STRING_EQUAL(change16(s, "ConnectorPhaseRotation",
	    "1.RST"), "Rejected");
	CU_ASSERT_STRING_EQUAL(change16(s, "ConnectorPhaseRotation",
	    "0.RST,2.RST"), "Accepted");
	CU_ASSERT_STRING_EQUAL(change16(s, "ConnectorPhaseRotation",
	    "4294967298.RST"), "Rejected");
	conns[1].absent = false;
	ocpp_settings_defaults(&st);
	CU_ASSERT_STRING_EQUAL(st.phase_rotation, "0.Unknown");
	CU_ASSERT_EQUAL(ocpp_settings_apply(&st, "ConnectorPhaseRotation",
	    "1.NotApplicable"), 0);
	CU_ASSERT_STRING_EQUAL(st.phase_rotation, "1.NotApplicable");
	CU_ASSERT_EQUAL(ocpp_settings_apply(&st, "ConnectorPhaseRotation",
	    "1.Sideways"), -1);
	ocpp_session_free(s);
}

/* MeterValues CALLs waiting in s. */
static int
meter_calls(const struct ocpp_session *s)
{
	int n = 0;

	for (const struct out_call *c = s->calls_head; c != NULL; c = c->next)
		n += strcmp(c->action, "MeterValues") == 0;
	return n;
}

/* Clock-aligned samples follow wall time: one per boundary from
 * midnight; a clock step back by 1 h neither repeats nor fires at once, a
 * step forward by 1 h samples the boundary passed once (no burst). */
static void
test_aligned_clock_steps(void)
{
	struct ocpp_settings st;
	struct ocpp_session *s = fake_session(OCPP_V16, &st);
	int64_t t0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(parse_rfc3339("2026-12-03T10:00:00.500Z", &t0), 0);
	conns[1].meter_valid = true;
	s->boot = BOOT_ACCEPTED;
	s->link = LINK_UP;
	s->cfg[CI_ALIGNED_INTERVAL] = 900;
	session_aligned_tick(s, t0);		/* 10:00:00.5: next 10:15 */
	CU_ASSERT_EQUAL(meter_calls(s), 0);
	session_aligned_tick(s, t0 + 899000);	/* 10:14:59.5 */
	CU_ASSERT_EQUAL(meter_calls(s), 0);
	session_aligned_tick(s, t0 + 900000);	/* 10:15:00.5 */
	CU_ASSERT_EQUAL(meter_calls(s), 1);
	session_aligned_tick(s, t0 + 901000);
	CU_ASSERT_EQUAL(meter_calls(s), 1);
	/* Back 1 h to 09:16: the next boundary is 09:30, not at once. */
	session_aligned_tick(s, t0 + 960000 - 3600000);
	CU_ASSERT_EQUAL(meter_calls(s), 1);
	session_aligned_tick(s, t0 - 1800000 - 1000);	/* 09:29:59.5 */
	CU_ASSERT_EQUAL(meter_calls(s), 1);
	session_aligned_tick(s, t0 - 1800000);		/* 09:30:00.5 */
	CU_ASSERT_EQUAL(meter_calls(s), 2);
	/* Forward 1 h, 09:31 -> 10:31: the 09:45 boundary once, then 10:45. */
	session_aligned_tick(s, t0 + 1860000);
	CU_ASSERT_EQUAL(meter_calls(s), 3);
	session_aligned_tick(s, t0 + 2639000);		/* 10:43:59.5 */
	CU_ASSERT_EQUAL(meter_calls(s), 3);
	session_aligned_tick(s, t0 + 2700000);		/* 10:45:00.5 */
	CU_ASSERT_EQUAL(meter_calls(s), 4);
	/* Off: nothing more. */
	s->cfg[CI_ALIGNED_INTERVAL] = 0;
	session_aligned_tick(s, t0 + 3600000);
	CU_ASSERT_EQUAL(meter_calls(s), 4);
	conns[1].meter_valid = false;
	ocpp_session_free(s);
}

/* Settings are refused with a message naming the fault and the range. */
static void
test_settings_check(void)
{
	struct ocpp_settings st;
	char *cause = NULL;

	ocpp_settings_defaults(&st);
	st.url = "ws://h/ocpp";
	st.identity = "CS1";
	st.password = "short-15-chars!";
	CU_ASSERT_EQUAL(ocpp_settings_check(&st, &cause), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "15 characters"));
	CU_ASSERT_PTR_NULL(strstr(cause, "short-15"));	/* not the value */
	free(cause);
	st.password = "";	/* profile 1 without a password is allowed */
	CU_ASSERT_EQUAL(ocpp_settings_check(&st, &cause), 0);
	st.security_profile = 2;	/* profile 2 needs one */
	CU_ASSERT_EQUAL(ocpp_settings_check(&st, &cause), -1);
	free(cause);
	st.security_profile = 3;
	CU_ASSERT_EQUAL(ocpp_settings_check(&st, &cause), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "client-cert"));
	free(cause);
	st.security_profile = 1;
	st.heartbeat_interval_s = 0;
	CU_ASSERT_EQUAL(ocpp_settings_check(&st, &cause), -1);
	CU_ASSERT_STRING_EQUAL(cause,
	    "heartbeat-interval-s = 0: must be 1 to 86400");
	free(cause);
	st.heartbeat_interval_s = 300;
	st.identity = "a/b";
	CU_ASSERT_EQUAL(ocpp_settings_check(&st, &cause), -1);
	free(cause);
	/* The URL scheme must match the profile (checked at creation). */
	st.identity = "CS1";
	st.password = "0123456789abcdef";
	st.security_profile = 2;
	st.url = "ws://127.0.0.1:9/ocpp";
	CU_ASSERT_PTR_NULL(ocpp_session_new(NULL, &st, &fake_station,
	    &no_callbacks, &fq_ops, NULL, &cause));
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "wss://"));
	free(cause);
	st.url = "wss://127.0.0.1:70000/ocpp";
	CU_ASSERT_PTR_NULL(ocpp_session_new(NULL, &st, &fake_station,
	    &no_callbacks, &fq_ops, NULL, &cause));
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "1-65535"));
	free(cause);
}

/* Configuration values: ranges, read-only keys, numbers only. */
static void
test_config_set(void)
{
	struct ocpp_settings st;
	struct ocpp_session *s = fake_session(OCPP_V16, &st);
	json_t *req, *res;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	req = json_pack("{ssss}", "key", "HeartbeatInterval", "value", "0");
	res = ocpp_change_configuration(s, req);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(res,
	    "status")), "Rejected");		/* 1..86400 */
	json_decref(req);
	json_decref(res);
	req = json_pack("{ssss}", "key", "HeartbeatInterval", "value", "86400");
	res = ocpp_change_configuration(s, req);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(res,
	    "status")), "Accepted");
	CU_ASSERT_EQUAL(s->cfg[CI_HEARTBEAT], 86400);
	json_decref(req);
	json_decref(res);
	req = json_pack("{ssss}", "key", "HeartbeatInterval", "value", "60s");
	res = ocpp_change_configuration(s, req);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(res,
	    "status")), "Rejected");
	json_decref(req);
	json_decref(res);
	req = json_pack("{ssss}", "key", "NumberOfConnectors", "value", "3");
	res = ocpp_change_configuration(s, req);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(res,
	    "status")), "Rejected");
	json_decref(req);
	json_decref(res);
	req = json_pack("{s[ss]}", "key", "NumberOfConnectors", "Nope");
	res = get_configuration(s, req);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(
	    json_array_get(json_object_get(res, "configurationKey"), 0),
	    "value")), "2");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(
	    json_object_get(res, "unknownKey"), 0)), "Nope");
	json_decref(req);
	json_decref(res);
	ocpp_session_free(s);
}

/* GetConfiguration: every 1.6 key of the table when none is asked for,
 * else the asked ones in order and the unknown ones echoed exactly; an
 * empty array is left out. */
static void
test_get_configuration(void)
{
	struct ocpp_settings st;
	struct ocpp_session *s = fake_session(OCPP_V16, &st);
	json_t *req, *res, *known, *k;
	size_t n16 = 0, i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	for (const struct ocpp_key_entry *e = ocpp_key_table;
	    e->key16 != NULL || e->component != NULL; e++)
		n16 += e->key16 != NULL;
	req = json_object();
	res = get_configuration(s, req);
	known = json_object_get(res, "configurationKey");
	CU_ASSERT_EQUAL(json_array_size(known), n16);
	CU_ASSERT_PTR_NULL(json_object_get(res, "unknownKey"));
	json_array_foreach(known, i, k) {
		CU_ASSERT_TRUE(json_is_string(json_object_get(k, "key")));
		CU_ASSERT_TRUE(json_is_boolean(json_object_get(k, "readonly")));
		CU_ASSERT_TRUE(json_is_string(json_object_get(k, "value")));
	}
	json_decref(req);
	json_decref(res);
	req = json_pack("{s[sss]}", "key", "HeartbeatInterval", "we\"ird\\\n",
	    "NumberOfConnectors");
	res = get_configuration(s, req);
	known = json_object_get(res, "configurationKey");
	CU_ASSERT_EQUAL_FATAL(json_array_size(known), 2);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(
	    json_array_get(known, 0), "key")), "HeartbeatInterval");
	CU_ASSERT_TRUE(json_is_false(json_object_get(json_array_get(known, 0),
	    "readonly")));
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(
	    json_array_get(known, 1), "value")), "2");
	CU_ASSERT_TRUE(json_is_true(json_object_get(json_array_get(known, 1),
	    "readonly")));
	CU_ASSERT_EQUAL(json_array_size(json_object_get(res, "unknownKey")), 1);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(
	    json_object_get(res, "unknownKey"), 0)), "we\"ird\\\n");
	json_decref(req);
	json_decref(res);
	req = json_pack("{s[s]}", "key", "Nope");
	res = get_configuration(s, req);
	CU_ASSERT_PTR_NULL(json_object_get(res, "configurationKey"));
	CU_ASSERT_EQUAL(json_array_size(json_object_get(res, "unknownKey")), 1);
	json_decref(req);
	json_decref(res);
	ocpp_session_free(s);
}

/* Persisted session keys go back into the settings, within range. */
static void
test_settings_apply(void)
{
	struct ocpp_settings st;

	ocpp_settings_defaults(&st);
	CU_ASSERT_EQUAL(ocpp_settings_apply(&st, "HeartbeatInterval", "60"), 0);
	CU_ASSERT_EQUAL(st.heartbeat_interval_s, 60);
	CU_ASSERT_EQUAL(ocpp_settings_apply(&st, "TransactionMessageAttempts",
	    "101"), -1);			/* 1..100 */
	CU_ASSERT_EQUAL(st.tx_attempts, 3);
	CU_ASSERT_EQUAL(ocpp_settings_apply(&st, "MessageTimeout", "45"), 0);
	CU_ASSERT_EQUAL(st.call_timeout_s, 45);
	CU_ASSERT_EQUAL(ocpp_settings_apply(&st, "NumberOfConnectors", "4"), -1);
	CU_ASSERT_EQUAL(ocpp_settings_apply(&st, "LBMode", "dlb"), -1);
}

/* The string member name of queued message i's payload ("" when absent). */
static const char *
fq_str(int i, const char *name, char *buf, size_t len)
{
	json_t *p = json_loads(fq.m[i].payload, 0, NULL);
	const char *v = json_string_value(json_object_get(p, name));

	strlcpy_ok(buf, v != NULL ? v : "", len);
	json_decref(p);
	return buf;
}

/* The integer member name of queued message i's payload. */
static json_int_t
fq_int(int i, const char *name)
{
	json_t *p = json_loads(fq.m[i].payload, 0, NULL);
	json_int_t v = json_integer_value(json_object_get(p, name));

	json_decref(p);
	return v;
}

/* Security events are queued durably: the start-up, one the daemon asks
 * for; a type the schema would refuse is not.  AuthorizationKey is write
 * only and must be 32..40 hex digits. */
static void
test_security_events(void)
{
	struct ocpp_settings st;
	struct ocpp_session *s;
	char type51[52];

	memset(&fq, 0, sizeof(fq));
	memset(conns, 0, sizeof(conns));
	s = fake_session(OCPP_V16, &st);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(fq.security_events, 1);
	CU_ASSERT_STRING_EQUAL(fq.last_security_type, "StartupOfTheDevice");
	CU_ASSERT_EQUAL(ocpp_session_security_event(s, "SettingSystemTime",
	    "stepped"), 0);
	CU_ASSERT_EQUAL(fq.security_events, 2);
	CU_ASSERT_STRING_EQUAL(fq.last_security_type, "SettingSystemTime");
	memset(type51, 'x', 51);
	type51[51] = '\0';
	CU_ASSERT_EQUAL(ocpp_session_security_event(s, type51, NULL), -1);
	CU_ASSERT_EQUAL(ocpp_session_security_event(s, "", NULL), -1);
	CU_ASSERT_EQUAL(fq.security_events, 2);
	CU_ASSERT_STRING_EQUAL(change16(s, "AuthorizationKey", "0123"),
	    "Rejected");
	CU_ASSERT_STRING_EQUAL(change16(s, "AuthorizationKey",
	    "0123456789abcdef0123456789abcdeg"), "Rejected");
	CU_ASSERT_STRING_EQUAL(change16(s, "AuthorizationKey",
	    "0123456789abcdef0123456789abcdef0"), "Rejected");	/* odd */
	CU_ASSERT_STRING_EQUAL(change16(s, "AuthorizationKey",
	    "0123456789abcdef0123456789abcdef"), "Accepted");
	CU_ASSERT_TRUE(s->password_trial);
	ocpp_session_free(s);
}

/* The password the backend set is used at the next start while the
 * configured one is the one it replaced; a new configured one wins. */
static void
test_stored_password(void)
{
	struct ocpp_settings st;
	struct ocpp_session *s;
	char buf[64];

	memset(&fq, 0, sizeof(fq));
	memset(conns, 0, sizeof(conns));
	fq_set("sec.password", "00112233445566778899aabbccddeeff");
	fq_set("sec.password.base", "=0123456789abcdef");
	s = fake_session(OCPP_V16, &st);	/* configured 0123456789abcdef */
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s->st.password,
	    "00112233445566778899aabbccddeeff");
	CU_ASSERT_FALSE(s->password_trial);
	ocpp_session_free(s);

	fq_set("sec.password.base", "=another-configured-1");
	s = fake_session(OCPP_V16, &st);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s->st.password, "0123456789abcdef");
	CU_ASSERT_EQUAL(fq_get(NULL, "sec.password", buf, sizeof(buf)), 1);
	ocpp_session_free(s);
}

/* A transaction open from before a restart on a connector that no
 * charger has now (its charger left the site while the gateway was
 * stopped): it ends at once, reason Other, with the last reading, in
 * both versions, and the record keeps no transaction. */
static void
test_restart_connector_gone(void)
{
	struct ocpp_settings st;
	struct ocpp_session *s;
	char buf[512];
	json_t *p;

	memset(&fq, 0, sizeof(fq));
	memset(conns, 0, sizeof(conns));
	conns[1].absent = true;
	fq_set("tx16.c1", "{\"status\":\"Charging\",\"token\":\"TAG-1\","
	    "\"wh\":4100,\"seen\":1796000000000,\"tx\":5,"
	    "\"txtoken\":\"TAG-1\",\"central\":false,\"txwh\":4000}");
	fq_set("tx16.id.5", "777");
	s = fake_session(OCPP_V16, &st);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	ocpp_session_service(s, 1000);
	CU_ASSERT_EQUAL_FATAL(fq.n, 1);
	CU_ASSERT_STRING_EQUAL(fq.m[0].action, "StopTransaction");
	CU_ASSERT_EQUAL(fq_int(0, "meterStop"), 4100);
	CU_ASSERT_STRING_EQUAL(fq_str(0, "reason", buf, sizeof(buf)), "Other");
	CU_ASSERT_STRING_EQUAL(fq_str(0, "timestamp", buf, sizeof(buf)),
	    "2026-11-30T00:53:20.000Z");	/* when last read */
	CU_ASSERT_FALSE(ocpp_session_tx_open(s, 1));
	ocpp_session_service(s, 2000);
	CU_ASSERT_EQUAL(fq.n, 1);	/* once */
	ocpp_session_free(s);

	/* 2.0.1: a transaction started on EVSE 2, the gateway stopped, the
	 * charger gone at the next start. */
	memset(&fq, 0, sizeof(fq));
	memset(conns, 0, sizeof(conns));
	s = fake_session(OCPP_V201, &st);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	conns[2].status = OCPP_ST_CHARGING;
	conns[2].energy_wh = 1500;
	ocpp_session_service(s, 1000);
	CU_ASSERT_EQUAL_FATAL(fq.n, 1);
	ocpp_session_free(s);
	conns[2].absent = true;
	s = fake_session(OCPP_V201, &st);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	ocpp_session_service(s, 2000);
	CU_ASSERT_EQUAL_FATAL(fq.n, 2);
	p = json_loads(fq.m[1].payload, 0, NULL);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(p,
	    "eventType")), "Ended");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(
	    json_object_get(p, "transactionInfo"), "stoppedReason")), "Other");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(
	    json_object_get(p, "evse"), "id")), 2);
	json_decref(p);
	CU_ASSERT_FALSE(ocpp_session_tx_open(s, 2));
	ocpp_session_free(s);
}

/* A 1.6 transaction open from before a restart (the earlier form of the
 * state, local transaction 5): nothing is sent while the charger is not
 * read yet, and nothing when the first reading is the same session going
 * on (the counter went up meanwhile). */
static void
test_restart_same_session_16(void)
{
	struct ocpp_settings st;
	struct ocpp_session *s;

	memset(&fq, 0, sizeof(fq));
	memset(conns, 0, sizeof(conns));
	conns[1].stale = conns[2].stale = true;
	fq_set("tx16.c1", "5");
	fq_set("tx16.id.5", "777");
	s = fake_session(OCPP_V16, &st);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_TRUE(s->cs[1].tx_active);
	CU_ASSERT_EQUAL(conns[1].status, OCPP_ST_CHARGING); /* last known */
	for (int64_t t = 1000; t <= 20000; t += 1000)
		ocpp_session_service(s, t);
	CU_ASSERT_EQUAL(fq.n, 0);
	conns[1].stale = false;
	conns[1].status = OCPP_ST_CHARGING;
	conns[1].energy_wh = 4321.6;
	ocpp_session_service(s, 21000);
	CU_ASSERT_EQUAL(fq.n, 0);
	CU_ASSERT_TRUE(s->cs[1].tx_active);
	CU_ASSERT_EQUAL(s->cs[1].local_tx, 5);
	ocpp_session_free(s);
}

/* The EV left while the gateway was down: one StopTransaction with the
 * charger's real reading, stamped when the session was last seen running,
 * reason PowerLoss after a run that did not stop (Reboot after one that
 * did), the IdToken that started it; the record keeps no transaction. */
static void
test_restart_session_ended_16(void)
{
	struct ocpp_settings st;
	struct ocpp_session *s;
	char buf[512];

	for (int clean = 0; clean <= 1; clean++) {
		memset(&fq, 0, sizeof(fq));
		memset(conns, 0, sizeof(conns));
		conns[1].stale = conns[2].stale = true;
		fq_set("run", clean ? "stopped" : "running");
		fq_set("tx16.c1", "{\"status\":\"Charging\",\"token\":\"TAG-1\","
		    "\"wh\":4000,\"seen\":1796000000000,\"tx\":5,"
		    "\"txtoken\":\"TAG-1\",\"central\":false,\"txwh\":4000}");
		fq_set("tx16.id.5", "777");
		s = fake_session(OCPP_V16, &st);
		CU_ASSERT_PTR_NOT_NULL_FATAL(s);
		CU_ASSERT_STRING_EQUAL(conns[1].id_token, "TAG-1");
		ocpp_session_service(s, 1000);
		CU_ASSERT_EQUAL(fq.n, 0);
		conns[1].stale = false;
		conns[1].status = OCPP_ST_AVAILABLE;
		conns[1].energy_wh = 4321.6;
		conns[1].id_token[0] = '\0';
		ocpp_session_service(s, 2000);
		ocpp_session_service(s, 3000);
		CU_ASSERT_EQUAL_FATAL(fq.n, 1);
		CU_ASSERT_STRING_EQUAL(fq.m[0].action, "StopTransaction");
		CU_ASSERT_EQUAL(fq_int(0, "_local"), 5);
		CU_ASSERT_EQUAL(fq_int(0, "meterStop"), 4322);
		CU_ASSERT_STRING_EQUAL(fq_str(0, "reason", buf, sizeof(buf)),
		    clean ? "Reboot" : "PowerLoss");
		CU_ASSERT_STRING_EQUAL(fq_str(0, "idTag", buf, sizeof(buf)),
		    "TAG-1");
		CU_ASSERT_STRING_EQUAL(fq_str(0, "timestamp", buf, sizeof(buf)),
		    "2026-11-30T00:53:20.000Z");
		CU_ASSERT_EQUAL_FATAL(fq_get(NULL, "tx16.c1", buf, sizeof(buf)),
		    0);
		CU_ASSERT_PTR_NULL(strstr(buf, "\"tx\""));
		CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"status\":\"Available\""));
		ocpp_session_free(s);
		CU_ASSERT_EQUAL(fq_get(NULL, "run", buf, sizeof(buf)), 0);
		CU_ASSERT_STRING_EQUAL(buf, "stopped");
	}
}

/* A charger silent for 20 s keeps its transaction (its status goes
 * Unavailable); with tx-unreachable-max-s it ends after that long with
 * the last energy reading, reason Other; an unplug ends it with the
 * starting IdToken and an energy that never goes back. */
static void
test_silent_charger_16(void)
{
	struct ocpp_settings st;
	struct ocpp_session *s;
	char buf[64];

	memset(&fq, 0, sizeof(fq));
	memset(conns, 0, sizeof(conns));
	s = fake_session(OCPP_V16, &st);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	conns[1].status = OCPP_ST_CHARGING;
	conns[1].energy_wh = 1000;
	strlcpy_ok(conns[1].id_token, "TAG-0001", sizeof(conns[1].id_token));
	ocpp_session_service(s, 1000);
	CU_ASSERT_EQUAL_FATAL(fq.n, 1);
	conns[1].energy_wh = 1500;
	ocpp_session_service(s, 2000);
	conns[1].stale = true;
	conns[1].status = OCPP_ST_UNAVAILABLE;
	conns[1].energy_wh = 0;
	for (int64_t t = 3000; t <= 23000; t += 1000)
		ocpp_session_service(s, t);
	CU_ASSERT_EQUAL(fq.n, 1);
	CU_ASSERT_TRUE(s->cs[1].tx_active);
	conns[1].stale = false;
	conns[1].status = OCPP_ST_SUSPENDED_EV;
	conns[1].energy_wh = 1600;
	ocpp_session_service(s, 24000);
	CU_ASSERT_EQUAL(fq.n, 1);
	/* Unplugged: the charger no longer reports a token and a
	 * register that reads lower (a glitch) does not lower meterStop. */
	conns[1].status = OCPP_ST_AVAILABLE;
	conns[1].id_token[0] = '\0';
	conns[1].energy_wh = 1550;
	ocpp_session_service(s, 25000);
	CU_ASSERT_EQUAL_FATAL(fq.n, 2);
	CU_ASSERT_STRING_EQUAL(fq_str(1, "reason", buf, sizeof(buf)),
	    "EVDisconnected");
	CU_ASSERT_STRING_EQUAL(fq_str(1, "idTag", buf, sizeof(buf)),
	    "TAG-0001");
	CU_ASSERT_EQUAL(fq_int(1, "meterStop"), 1600);
	ocpp_session_free(s);

	/* The configured maximum: 30 s without an answer. */
	memset(&fq, 0, sizeof(fq));
	memset(conns, 0, sizeof(conns));
	ocpp_settings_defaults(&st);
	st.url = "ws://127.0.0.1:9/ocpp";
	st.identity = "CS1";
	st.default_id_tag = "SITE-TAG";
	st.tx_unreachable_max_s = 30;
	s = ocpp_session_new(NULL, &st, &fake_station, &no_callbacks, &fq_ops,
	    NULL, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	conns[2].status = OCPP_ST_CHARGING;
	conns[2].energy_wh = 800;
	ocpp_session_service(s, 1000);
	CU_ASSERT_EQUAL_FATAL(fq.n, 1);
	CU_ASSERT_STRING_EQUAL(fq_str(0, "idTag", buf, sizeof(buf)),
	    "SITE-TAG");
	conns[2].stale = true;
	conns[2].status = OCPP_ST_UNAVAILABLE;
	ocpp_session_service(s, 2000);
	ocpp_session_service(s, 31000);
	CU_ASSERT_EQUAL(fq.n, 1);
	ocpp_session_service(s, 32000);
	CU_ASSERT_EQUAL_FATAL(fq.n, 2);
	CU_ASSERT_STRING_EQUAL(fq_str(1, "reason", buf, sizeof(buf)), "Other");
	CU_ASSERT_EQUAL(fq_int(1, "meterStop"), 800);
	CU_ASSERT_STRING_EQUAL(fq_str(1, "idTag", buf, sizeof(buf)),
	    "SITE-TAG");
	ocpp_session_free(s);

	/* After a restart the maximum counts from the first tick, not from
	 * the clock's origin. */
	memset(&fq, 0, sizeof(fq));
	memset(conns, 0, sizeof(conns));
	conns[1].stale = conns[2].stale = true;
	fq_set("tx16.c1", "5");
	s = ocpp_session_new(NULL, &st, &fake_station, &no_callbacks, &fq_ops,
	    NULL, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	ocpp_session_service(s, 1000000);
	ocpp_session_service(s, 1029000);
	CU_ASSERT_EQUAL(fq.n, 0);
	ocpp_session_service(s, 1030000);
	CU_ASSERT_EQUAL(fq.n, 1);
	ocpp_session_free(s);
}

/* 1.6 periodic MeterValues of a running transaction go into the durable
 * queue (offline here), after its StartTransaction and naming its local
 * transaction; none for a connector without one. */
static void
test_meter_values_queued_16(void)
{
	struct ocpp_settings st;
	struct ocpp_session *s;

	memset(&fq, 0, sizeof(fq));
	memset(conns, 0, sizeof(conns));
	s = fake_session(OCPP_V16, &st);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	conns[1].status = OCPP_ST_CHARGING;
	conns[1].meter_valid = conns[2].meter_valid = true;
	conns[1].energy_wh = 500;
	ocpp_session_service(s, 1000);
	ocpp_session_service(s, 62000);
	CU_ASSERT_EQUAL_FATAL(fq.n, 2);
	CU_ASSERT_STRING_EQUAL(fq.m[0].action, "StartTransaction");
	CU_ASSERT_STRING_EQUAL(fq.m[1].action, "MeterValues");
	CU_ASSERT_EQUAL(fq_int(1, "connectorId"), 1);
	CU_ASSERT_EQUAL(fq_int(1, "_local"), fq_int(0, "_local"));
	ocpp_session_free(s);
}

/* The backend's 1.6 transaction id: read from the durable state once,
 * then from the session's copy, which each answer that changes the state
 * replaces. */
static void
test_tx16_id_copy(void)
{
	struct ocpp_settings st;
	struct ocpp_session *s;
	char key[48], buf[32];
	int64_t local;

	memset(&fq, 0, sizeof(fq));
	memset(conns, 0, sizeof(conns));
	s = fake_session(OCPP_V16, &st);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	conns[1].status = OCPP_ST_CHARGING;
	ocpp_session_service(s, 1000);
	CU_ASSERT_TRUE_FATAL(ocpp_session_tx_open(s, 1));
	local = fq_int(0, "_local");
	snprintf(key, sizeof(key), "tx16.id.%" PRId64, local);
	/* No id from the backend yet. */
	CU_ASSERT_FALSE(ocpp_session_transaction(s, 1, buf, sizeof(buf)));
	/* Given after a restart: read from the state. */
	fq_set(key, "41");
	CU_ASSERT_TRUE(ocpp_session_transaction(s, 1, buf, sizeof(buf)));
	CU_ASSERT_STRING_EQUAL(buf, "41");
	/* The StartTransaction answer: the copy follows. */
	session_tx16_ack(s, 1, local, "42");
	CU_ASSERT_TRUE(ocpp_session_transaction(s, 1, buf, sizeof(buf)));
	CU_ASSERT_STRING_EQUAL(buf, "42");
	CU_ASSERT_EQUAL(fq_get(NULL, key, buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "42");
	/* Read from the copy: the state is not asked again. */
	fq_set(key, "7");
	CU_ASSERT_TRUE(ocpp_session_transaction(s, 1, buf, sizeof(buf)));
	CU_ASSERT_STRING_EQUAL(buf, "42");
	/* Cut to the caller's buffer. */
	CU_ASSERT_TRUE(ocpp_session_transaction(s, 1, buf, 2));
	CU_ASSERT_STRING_EQUAL(buf, "4");
	/* StopTransaction's answer clears it. */
	session_tx16_ack(s, 2, local, "");
	CU_ASSERT_FALSE(ocpp_session_transaction(s, 1, buf, sizeof(buf)));
	ocpp_session_free(s);
}

/* A backend that answers slowly: at most 4 periodic MeterValues per
 * connector wait (3 connectors with the station: 12); the oldest are
 * dropped and counted. */
static void
test_meter_values_bounded(void)
{
	struct ocpp_settings st;
	struct ocpp_session *s;
	struct ocpp_stats stats;
	struct out_call *c;
	int n = 0;

	memset(&fq, 0, sizeof(fq));
	memset(conns, 0, sizeof(conns));
	s = fake_session(OCPP_V16, &st);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	for (int k = 0; k < 3; k++)
		conns[k].meter_valid = true;
	/* Registered, the socket up, a CALL in flight that never gets its
	 * answer: nothing leaves the queue. */
	s->link = LINK_UP;
	s->boot = BOOT_ACCEPTED;
	s->call.active = true;
	s->call.sent_ms = 0;
	s->cfg[CI_CALL_TIMEOUT] = 3600;
	for (int64_t t = 1000; t <= 1000 + 5 * 60000; t += 60000)
		ocpp_session_service(s, t);
	for (c = s->calls_head; c != NULL; c = c->next)
		n += strcmp(c->action, "MeterValues") == 0;
	ocpp_session_stats(s, &stats);
	CU_ASSERT_EQUAL(n, 12);
	CU_ASSERT_EQUAL(stats.meter_values_dropped, 3);
	s->link = LINK_DOWN;
	ocpp_session_free(s);
}

/* 2.0.1 offline: Started, Updated, Ended with seqNo 0, 1, 2, all with
 * offline true and the same transaction id; the state key carries the
 * next seqNo and is cleared by Ended. */
static void
test_offline_events_201(void)
{
	struct ocpp_settings st;
	struct ocpp_session *s;
	const char *id = NULL;
	char buf[512];

	memset(&fq, 0, sizeof(fq));
	memset(conns, 0, sizeof(conns));
	s = fake_session(OCPP_V201, &st);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	conns[2].status = OCPP_ST_CHARGING;
	ocpp_session_service(s, 1000);
	CU_ASSERT_EQUAL(fq_get(NULL, "tx201.c2", buf, sizeof(buf)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"seq\":1"));	/* next seqNo */
	conns[2].status = OCPP_ST_SUSPENDED_EVSE;
	ocpp_session_service(s, 2000);
	conns[2].status = OCPP_ST_AVAILABLE;
	ocpp_session_service(s, 3000);
	CU_ASSERT_EQUAL_FATAL(fq.n, 3);
	for (int i = 0; i < 3; i++) {
		json_t *p = json_loads(fq.m[i].payload, 0, NULL);
		static const char *const types[] = { "Started", "Updated",
			"Ended" };
		const char *tid = json_string_value(json_object_get(
		    json_object_get(p, "transactionInfo"), "transactionId"));

		CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(p,
		    "eventType")), types[i]);
		CU_ASSERT_EQUAL(json_integer_value(json_object_get(p, "seqNo")),
		    i);
		CU_ASSERT_TRUE(json_is_true(json_object_get(p, "offline")));
		CU_ASSERT_EQUAL(json_integer_value(json_object_get(
		    json_object_get(p, "evse"), "id")), 2);
		if (i == 0)
			id = xstrdup(tid);
		else
			CU_ASSERT_STRING_EQUAL(tid, id);
		json_decref(p);
	}
	/* The record stays, without a transaction. */
	CU_ASSERT_EQUAL(fq_get(NULL, "tx201.c2", buf, sizeof(buf)), 0);
	CU_ASSERT_PTR_NULL(strstr(buf, "\"tx\""));
	free((char *)id);
	ocpp_session_free(s);
}

/* ---- local authorization (auth.c) ---- */

static int auth_stops[3];

/* Counts the remote stops the session asks for, per connector. */
static enum ocpp_result
count_stop(void *ud, int connector)
{
	(void)ud;
	if (connector >= 0 && connector < 3)
		auth_stops[connector]++;
	return OCPP_ACCEPTED;
}
static const struct ocpp_callbacks stop_callbacks = {
	.remote_stop = count_stop,
};

/* A 1.6 session on a fresh fake store with the local list, the cache and
 * the offline rules on or off; remote stops counted. */
static struct ocpp_session *
auth_session(struct ocpp_settings *st, int list, int cache, int offline,
    int unknown)
{
	memset(&fq, 0, sizeof(fq));
	memset(conns, 0, sizeof(conns));
	memset(auth_stops, 0, sizeof(auth_stops));
	ocpp_settings_defaults(st);
	st->url = "ws://127.0.0.1:9/ocpp";
	st->identity = "CS1";
	st->local_list_enabled = list;
	st->auth_cache_enabled = cache;
	st->local_authorize_offline = offline;
	st->offline_tx_unknown_id = unknown;
	return ocpp_session_new(NULL, st, &fake_station, &stop_callbacks,
	    &fq_ops, NULL, NULL);
}

/* The "status" of an answer, which is freed (static). */
static const char *
status_of(json_t *res)
{
	static char status[32];

	strlcpy_ok(status, json_string_value(json_object_get(res, "status")) ?
	    json_string_value(json_object_get(res, "status")) : "", sizeof(status));
	json_decref(res);
	return status;
}

/* SendLocalList of text (1.6 JSON); the status of the answer (static). */
static const char *
send_list(struct ocpp_session *s, const char *text)
{
	json_t *req = json_loads(text, 0, NULL);
	const char *st;

	CU_ASSERT_PTR_NOT_NULL_FATAL(req);
	st = status_of(session_send_local_list(s, req));
	json_decref(req);
	return st;
}

/* The list version GetLocalListVersion answers. */
static json_int_t
list_version(struct ocpp_session *s)
{
	json_t *res = session_get_local_list_version(s);
	json_int_t v = json_integer_value(json_object_get(res, "listVersion"));

	json_decref(res);
	return v;
}

/* SendLocalList: a full list, differential updates only with a higher
 * version, removals, refusals that leave the list as it was; the list is
 * saved and read again by the next session on the same store. */
static void
test_auth_local_list(void)
{
	struct ocpp_settings st;
	struct ocpp_session *s = auth_session(&st, 1, 1, 1, 0);
	char buf[1024];
	char long_tag[OCPP_ID_TOKEN_MAX + 2];

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(list_version(s), 0);
	CU_ASSERT_STRING_EQUAL(send_list(s, "{\"listVersion\":3,"
	    "\"updateType\":\"Full\",\"localAuthorizationList\":["
	    "{\"idTag\":\"CARD-A\",\"idTagInfo\":{\"status\":\"Accepted\"}},"
	    "{\"idTag\":\"CARD-B\",\"idTagInfo\":{\"status\":\"Blocked\"}}]}"),
	    "Accepted");
	CU_ASSERT_EQUAL(list_version(s), 3);
	CU_ASSERT_EQUAL(s->auth_list.n, 2);
	/* a differential update must raise the version */
	CU_ASSERT_STRING_EQUAL(send_list(s, "{\"listVersion\":3,"
	    "\"updateType\":\"Differential\",\"localAuthorizationList\":[]}"),
	    "VersionMismatch");
	/* entry without idTagInfo: removed; a new one added */
	CU_ASSERT_STRING_EQUAL(send_list(s, "{\"listVersion\":4,"
	    "\"updateType\":\"Differential\",\"localAuthorizationList\":["
	    "{\"idTag\":\"CARD-B\"},"
	    "{\"idTag\":\"CARD-C\",\"idTagInfo\":{\"status\":\"Accepted\"}}]}"),
	    "Accepted");
	CU_ASSERT_EQUAL(list_version(s), 4);
	CU_ASSERT_EQUAL_FATAL(s->auth_list.n, 2);
	CU_ASSERT_STRING_EQUAL(s->auth_list.e[0].token, "CARD-A");
	CU_ASSERT_STRING_EQUAL(s->auth_list.e[1].token, "CARD-C");
	/* refused: version 0, a token longer than the limit; nothing changed */
	CU_ASSERT_STRING_EQUAL(send_list(s, "{\"listVersion\":0,"
	    "\"updateType\":\"Full\",\"localAuthorizationList\":[]}"), "Failed");
	memset(long_tag, 'x', sizeof(long_tag) - 1);
	long_tag[sizeof(long_tag) - 1] = '\0';
	snprintf(buf, sizeof(buf), "{\"listVersion\":9,\"updateType\":\"Full\","
	    "\"localAuthorizationList\":[{\"idTag\":\"%s\",\"idTagInfo\":"
	    "{\"status\":\"Accepted\"}}]}", long_tag);
	CU_ASSERT_STRING_EQUAL(send_list(s, buf), "Failed");
	CU_ASSERT_EQUAL(list_version(s), 4);
	CU_ASSERT_EQUAL(s->auth_list.n, 2);
	ocpp_session_free(s);

	/* the next session on the same store has the list */
	CU_ASSERT_EQUAL(fq_get(NULL, "auth.list", buf, sizeof(buf)), 0);
	s = ocpp_session_new(NULL, &st, &fake_station, &stop_callbacks,
	    &fq_ops, NULL, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(list_version(s), 4);
	CU_ASSERT_EQUAL_FATAL(s->auth_list.n, 2);
	CU_ASSERT_STRING_EQUAL(s->auth_list.e[1].token, "CARD-C");
	CU_ASSERT_STRING_EQUAL(s->auth_list.e[1].status, "Accepted");
	ocpp_session_free(s);

	/* LocalAuthListEnabled false: not supported, version -1 (1.6) */
	s = auth_session(&st, 0, 1, 1, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(send_list(s, "{\"listVersion\":1,"
	    "\"updateType\":\"Full\",\"localAuthorizationList\":[]}"),
	    "NotSupported");
	CU_ASSERT_EQUAL(list_version(s), -1);
	ocpp_session_free(s);
}

/* While the backend cannot be asked: a token the list knows as Accepted
 * starts, one it knows as Blocked is refused and its charging stopped
 * (once, and the same card stays refused), an unknown one follows
 * AllowOfflineTxForUnknownId; LocalAuthorizeOffline false ignores the
 * list. */
static void
test_auth_offline_rules(void)
{
	struct ocpp_settings st;
	struct ocpp_session *s = auth_session(&st, 1, 1, 1, 0);

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(send_list(s, "{\"listVersion\":1,"
	    "\"updateType\":\"Full\",\"localAuthorizationList\":["
	    "{\"idTag\":\"CARD-A\",\"idTagInfo\":{\"status\":\"Accepted\"}},"
	    "{\"idTag\":\"CARD-B\",\"idTagInfo\":{\"status\":\"Blocked\"}}]}"),
	    "Accepted");
	strlcpy_ok(conns[1].id_token, "CARD-A", sizeof(conns[1].id_token));
	CU_ASSERT_EQUAL(session_auth_gate(s, 1), AUTH_START);
	strlcpy_ok(conns[2].id_token, "CARD-B", sizeof(conns[2].id_token));
	CU_ASSERT_EQUAL(session_auth_gate(s, 2), AUTH_REFUSED);
	CU_ASSERT_EQUAL(auth_stops[2], 1);
	CU_ASSERT_EQUAL(session_auth_gate(s, 2), AUTH_REFUSED);
	CU_ASSERT_EQUAL(auth_stops[2], 1);
	/* another card on connector 2: a new decision */
	strlcpy_ok(conns[2].id_token, "CARD-X", sizeof(conns[2].id_token));
	CU_ASSERT_EQUAL(session_auth_gate(s, 2), AUTH_REFUSED);
	CU_ASSERT_EQUAL(auth_stops[2], 2);
	/* the connector left the charging states: forgotten */
	session_auth_left(s, 2);
	CU_ASSERT_FALSE(s->cs[2].auth_refused);
	/* the gateway's own tag needs no check */
	conns[2].id_token[0] = '\0';
	CU_ASSERT_EQUAL(session_auth_gate(s, 2), AUTH_START);
	ocpp_session_free(s);

	/* unknown cards allowed offline; the list not used offline */
	s = auth_session(&st, 1, 1, 0, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(send_list(s, "{\"listVersion\":1,"
	    "\"updateType\":\"Full\",\"localAuthorizationList\":["
	    "{\"idTag\":\"CARD-B\",\"idTagInfo\":{\"status\":\"Blocked\"}}]}"),
	    "Accepted");
	strlcpy_ok(conns[1].id_token, "CARD-B", sizeof(conns[1].id_token));
	CU_ASSERT_EQUAL(session_auth_gate(s, 1), AUTH_START);
	CU_ASSERT_EQUAL(auth_stops[1], 0);
	ocpp_session_free(s);
}

/* With the backend up: Authorize is sent once per card and waited for;
 * Accepted lets the transaction start and goes into the cache, Invalid
 * stops the charging; no answer falls back to the offline rules; with
 * LocalPreAuthorize a cached Accepted starts at once. */
static void
test_auth_online(void)
{
	struct ocpp_settings st;
	struct ocpp_session *s = auth_session(&st, 1, 1, 1, 0);
	int n_calls = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	s->link = LINK_UP;
	s->boot = BOOT_ACCEPTED;
	strlcpy_ok(conns[1].id_token, "CARD-A", sizeof(conns[1].id_token));
	CU_ASSERT_EQUAL(session_auth_gate(s, 1), AUTH_WAIT);
	CU_ASSERT_EQUAL(session_auth_gate(s, 1), AUTH_WAIT);
	for (const struct out_call *c = s->calls_head; c != NULL; c = c->next)
		if (strcmp(c->action, "Authorize") == 0) {
			json_t *p = json_loads(c->text, 0, NULL);

			n_calls++;
			CU_ASSERT_STRING_EQUAL(json_string_value(
			    json_object_get(p, "idTag")), "CARD-A");
			json_decref(p);
		}
	CU_ASSERT_EQUAL(n_calls, 1);
	session_auth_answer(s, "CARD-A", "Accepted");
	CU_ASSERT_EQUAL(session_auth_gate(s, 1), AUTH_START);
	CU_ASSERT_EQUAL_FATAL(s->auth_cache.n, 1);
	CU_ASSERT_STRING_EQUAL(s->auth_cache.e[0].token, "CARD-A");

	strlcpy_ok(conns[2].id_token, "CARD-I", sizeof(conns[2].id_token));
	CU_ASSERT_EQUAL(session_auth_gate(s, 2), AUTH_WAIT);
	session_auth_answer(s, "CARD-I", "Invalid");
	CU_ASSERT_EQUAL(auth_stops[2], 1);
	CU_ASSERT_EQUAL(session_auth_gate(s, 2), AUTH_REFUSED);

	/* no answer: an unknown card offline is refused (rule off) */
	session_auth_left(s, 2);
	strlcpy_ok(conns[2].id_token, "CARD-N", sizeof(conns[2].id_token));
	CU_ASSERT_EQUAL(session_auth_gate(s, 2), AUTH_WAIT);
	session_auth_answer(s, "CARD-N", NULL);
	CU_ASSERT_EQUAL(auth_stops[2], 2);

	/* pre-authorized from the cache: no Authorize */
	session_auth_left(s, 1);
	s->cfg[CI_LOCAL_PRE_AUTH] = 1;
	n_calls = 0;
	for (const struct out_call *c = s->calls_head; c != NULL; c = c->next)
		n_calls++;
	CU_ASSERT_EQUAL(session_auth_gate(s, 1), AUTH_START);
	for (const struct out_call *c = s->calls_head; c != NULL; c = c->next)
		n_calls--;
	CU_ASSERT_EQUAL(n_calls, 0);
	ocpp_session_free(s);
}

/* The cache: learned from answers, saved, bounded (the oldest goes),
 * emptied by ClearCache; with the cache off nothing is learned and
 * ClearCache is Rejected. */
static void
test_auth_cache(void)
{
	struct ocpp_settings st;
	struct ocpp_session *s = auth_session(&st, 1, 1, 1, 0);
	char tag[16], buf[512];

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	session_auth_learn(s, "CARD-A", "Accepted");
	CU_ASSERT_EQUAL(fq_get(NULL, "auth.cache", buf, sizeof(buf)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"CARD-A\":\"Accepted\""));
	session_auth_learn(s, "CARD-A", "Blocked");
	CU_ASSERT_EQUAL_FATAL(s->auth_cache.n, 1);
	CU_ASSERT_STRING_EQUAL(s->auth_cache.e[0].status, "Blocked");
	for (int i = 0; i < AUTH_MAX_ENTRIES; i++) {
		snprintf(tag, sizeof(tag), "T%d", i);
		session_auth_learn(s, tag, "Accepted");
	}
	CU_ASSERT_EQUAL(s->auth_cache.n, AUTH_MAX_ENTRIES);
	CU_ASSERT_STRING_EQUAL(s->auth_cache.e[0].token, "T0");
	CU_ASSERT_STRING_EQUAL(s->auth_cache.e[AUTH_MAX_ENTRIES - 1].token,
	    "T99");
	CU_ASSERT_STRING_EQUAL(status_of(session_clear_cache(s)), "Accepted");
	CU_ASSERT_EQUAL(s->auth_cache.n, 0);
	ocpp_session_free(s);

	s = auth_session(&st, 1, 0, 1, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	session_auth_learn(s, "CARD-A", "Accepted");
	CU_ASSERT_EQUAL(s->auth_cache.n, 0);
	CU_ASSERT_STRING_EQUAL(status_of(session_clear_cache(s)), "Rejected");
	ocpp_session_free(s);
}

static const struct cu_test session_tests[] = {
	{ "settings are checked", test_settings_check },
	{ "configuration values", test_config_set },
	{ "security events and AuthorizationKey", test_security_events },
	{ "a password the backend set, after a restart", test_stored_password },
	{ "clock-aligned samples across clock steps", test_aligned_clock_steps },
	{ "measurand lists are read-write", test_measurand_keys },
	{ "ConnectorPhaseRotation is read-write", test_phase_rotation },
	{ "persisted keys back into settings", test_settings_apply },
	{ "GetConfiguration answers", test_get_configuration },
	{ "restart: the same 1.6 session goes on without a message",
	  test_restart_same_session_16 },
	{ "restart: a connector gone while down ends its transaction",
	  test_restart_connector_gone },
	{ "restart: a 1.6 session that ended while down ends once",
	  test_restart_session_ended_16 },
	{ "a silent charger keeps its 1.6 transaction",
	  test_silent_charger_16 },
	{ "1.6 MeterValues of a transaction are queued",
	  test_meter_values_queued_16 },
	{ "waiting MeterValues are bounded", test_meter_values_bounded },
	{ "the 1.6 transaction id is read once", test_tx16_id_copy },
	{ "2.0.1 offline events in order", test_offline_events_201 },
	{ "local authorization list", test_auth_local_list },
	{ "authorization while offline", test_auth_offline_rules },
	{ "Authorize with the backend up", test_auth_online },
	{ "authorization cache", test_auth_cache },
	{ NULL, NULL },
};

static const struct cu_test codec_tests[] = {
	{ "frame-level errors, both versions", test_frame_errors },
	{ "1.6 payload errors", test_payload_errors_16 },
	{ "2.0.1 payload errors", test_payload_errors_201 },
	{ "payload errors name their place", test_payload_error_paths },
	{ "CALLRESULT and CALLERROR parsing", test_parse_result_and_error },
	{ "frame builders", test_build },
	{ "answers written as text", test_text },
	{ "payloads against the generated schema tables", test_schema_tables },
	{ "answers to unparsable frames are JSON", test_unparsable_answer },
	{ "UTF-8 descriptions cut between characters", test_utf8_copy },
	{ "type and id of an unparsable frame", test_peek_id },
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
		{ "ocpp-session", NULL, NULL, session_tests },
		{ NULL, NULL, NULL, NULL },
	};

	return cu_run(suites);
}
