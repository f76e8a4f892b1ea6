/* OCPP-J RPC framing (CALL / CALLRESULT / CALLERROR) and strict parsing of
 * inbound frames, per OCPP-J 1.6 §4 and OCPP 2.0.1 part 4 §4. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "ocpp/ocpp-private.h"

const char *
ocpp_version_subprotocol(enum ocpp_version v)
{
	switch (v) {
	case OCPP_V16:
		return "ocpp1.6";
	case OCPP_V201:
		return "ocpp2.0.1";
	}
	return "?";
}

int
ocpp_version_parse(const char *s, enum ocpp_version *v)
{
	if (strcmp(s, "1.6") == 0 || strcmp(s, "ocpp1.6") == 0) {
		*v = OCPP_V16;
		return 0;
	}
	if (strcmp(s, "2.0.1") == 0 || strcmp(s, "ocpp2.0.1") == 0) {
		*v = OCPP_V201;
		return 0;
	}
	return -1;
}

/* 1.6 JSON spec §4.2.3 table 7 and 2.0.1 part 4 §4.3 table 8.  1.6 has
 * no RpcFrameworkError nor MessageTypeNotSupported: a frame that is not a
 * valid RPC message is a FormationViolation there. */
const char *
ocpp_rpc_error_name(enum ocpp_version v, enum ocpp_rpc_error e)
{
	bool v16 = v == OCPP_V16;

	switch (e) {
	case OCPP_RPC_OK:
		return "";
	case OCPP_RPC_FORMAT:
		return v16 ? "FormationViolation" : "FormatViolation";
	case OCPP_RPC_FRAMEWORK:
		return v16 ? "FormationViolation" : "RpcFrameworkError";
	case OCPP_RPC_MESSAGE_TYPE:
		return v16 ? "FormationViolation" : "MessageTypeNotSupported";
	case OCPP_RPC_PROTOCOL:
		return "ProtocolError";
	case OCPP_RPC_PROPERTY:
		return "PropertyConstraintViolation";
	case OCPP_RPC_OCCURRENCE:
		return v16 ? "OccurenceConstraintViolation" :
		    "OccurrenceConstraintViolation";
	case OCPP_RPC_TYPE:
		return "TypeConstraintViolation";
	case OCPP_RPC_NOT_IMPLEMENTED:
		return "NotImplemented";
	case OCPP_RPC_NOT_SUPPORTED:
		return "NotSupported";
	case OCPP_RPC_SECURITY:
		return "SecurityError";
	case OCPP_RPC_GENERIC:
		return "GenericError";
	case OCPP_RPC_INTERNAL:
		return "InternalError";
	}
	return "GenericError";
}

void
ocpp_frame_clear(struct ocpp_frame *f)
{
	if (f->payload != NULL)
		json_decref(f->payload);
	f->payload = NULL;
}

/* Sets the error outputs of ocpp_frame_parse; always returns -1. */
static int
parse_fail(enum ocpp_rpc_error *err, enum ocpp_rpc_error code, char **cause,
    const char *what, const char *arg)
{
	char buf[512];

	*err = code;
	if (cause != NULL) {
		snprintf(buf, sizeof(buf), "%s%s", what, arg);
		*cause = strdup(buf);	/* NULL: no memory for it */
	}
	return -1;
}

int
ocpp_frame_parse(enum ocpp_version v, const char *text, size_t len,
    struct ocpp_frame *f, enum ocpp_rpc_error *err, char **cause)
{
	json_error_t jerr;
	json_t *root, *jt, *jid;
	json_int_t type;
	size_t n;
	int rc = -1;

	(void)v;
	memset(f, 0, sizeof(*f));
	*err = OCPP_RPC_OK;
	if (cause != NULL)
		*cause = NULL;
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return parse_fail(err, OCPP_RPC_FRAMEWORK, cause,
		    "frame is not valid JSON: ", jerr.text);
	if (!json_is_array(root)) {
		parse_fail(err, OCPP_RPC_FRAMEWORK, cause,
		    "frame is not a JSON array", "");
		goto out;
	}
	n = json_array_size(root);
	jt = json_array_get(root, 0);
	jid = json_array_get(root, 1);
	/* The id first, so that every later error can be answered. */
	if (jid != NULL && json_is_string(jid) &&
	    json_string_length(jid) >= 1 &&
	    json_string_length(jid) <= OCPP_MSG_ID_MAX &&
	    strlen(json_string_value(jid)) == json_string_length(jid))
		memcpy(f->id, json_string_value(jid), json_string_length(jid) + 1);
	if (jt == NULL || !json_is_integer(jt)) {
		parse_fail(err, OCPP_RPC_FRAMEWORK, cause,
		    "message type is not an integer", "");
		goto out;
	}
	if (f->id[0] == '\0') {
		parse_fail(err, OCPP_RPC_FRAMEWORK, cause,
		    "message id is missing, not a string or longer than 36", "");
		goto out;
	}
	type = json_integer_value(jt);
	switch (type) {
	case OCPP_CALL: {
		json_t *ja = json_array_get(root, 2), *jp = json_array_get(root, 3);

		if (n != 4 || ja == NULL || !json_is_string(ja)) {
			parse_fail(err, OCPP_RPC_FRAMEWORK, cause,
			    "CALL must be [2, id, action, payload]", "");
			goto out;
		}
		if (json_string_length(ja) == 0 ||
		    json_string_length(ja) > OCPP_ACTION_MAX) {
			parse_fail(err, OCPP_RPC_NOT_IMPLEMENTED, cause,
			    "action name is empty or too long", "");
			goto out;
		}
		memcpy(f->action, json_string_value(ja), json_string_length(ja) + 1);
		if (!json_is_object(jp)) {
			parse_fail(err, OCPP_RPC_FORMAT, cause,
			    "payload is not a JSON object: ", f->action);
			goto out;
		}
		f->payload = json_incref(jp);
		break;
	}
	case OCPP_CALLRESULT: {
		json_t *jp = json_array_get(root, 2);

		if (n != 3 || !json_is_object(jp)) {
			parse_fail(err, OCPP_RPC_FRAMEWORK, cause,
			    "CALLRESULT must be [3, id, {payload}]", "");
			goto out;
		}
		f->payload = json_incref(jp);
		break;
	}
	case OCPP_CALLERROR: {
		json_t *jc = json_array_get(root, 2), *jd = json_array_get(root, 3);
		json_t *jx = json_array_get(root, 4);

		if (n != 5 || !json_is_string(jc) || !json_is_string(jd) ||
		    !json_is_object(jx)) {
			parse_fail(err, OCPP_RPC_FRAMEWORK, cause,
			    "CALLERROR must be [4, id, code, description, {details}]",
			    "");
			goto out;
		}
		strlcpy_ok(f->error_code, json_string_value(jc),
		    sizeof(f->error_code));
		strlcpy_ok(f->error_desc, json_string_value(jd),
		    sizeof(f->error_desc));
		break;
	}
	default: {
		char num[32];

		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, type);
		parse_fail(err, OCPP_RPC_MESSAGE_TYPE, cause,
		    "message type not 2, 3 or 4: ", num);
		goto out;
	}
	}
	f->type = (enum ocpp_msg_type)type;
	rc = 0;
out:
	json_decref(root);
	return rc;
}

/* Index of the first byte at or after i that is not JSON white space. */
static size_t
skip_ws(const char *text, size_t len, size_t i)
{
	while (i < len && (text[i] == ' ' || text[i] == '\t' ||
	    text[i] == '\n' || text[i] == '\r'))
		i++;
	return i;
}

int
ocpp_frame_peek_id(const char *text, size_t len, char *id)
{
	size_t i, start;
	int type = 0;

	id[0] = '\0';
	i = skip_ws(text, len, 0);
	if (i >= len || text[i++] != '[')
		return -1;
	i = skip_ws(text, len, i);
	start = i;
	while (i < len && text[i] >= '0' && text[i] <= '9') {
		if (type < 1000)
			type = type * 10 + (text[i] - '0');
		i++;
	}
	if (i == start)
		return -1;
	i = skip_ws(text, len, i);
	if (i >= len || text[i++] != ',')
		return -1;
	i = skip_ws(text, len, i);
	if (i >= len || text[i++] != '"')
		return -1;
	start = i;
	while (i < len && i - start <= OCPP_MSG_ID_MAX && text[i] != '"') {
		/* An escape or a control character: not an id we can echo
		 * without decoding it, so none. */
		if (text[i] == '\\' || (unsigned char)text[i] < 0x20)
			return -1;
		i++;
	}
	if (i >= len || text[i] != '"' || i == start ||
	    i - start > OCPP_MSG_ID_MAX)
		return -1;
	for (size_t k = start; k < i; ) {
		size_t q = utf8_seq_len((const unsigned char *)text + k, i - k);

		if (q == 0)
			return -1;
		k += q;
	}
	memcpy(id, text + start, i - start);
	id[i - start] = '\0';
	return type;
}

/* Serialises a frame array compactly; consumes arr (NULL when building it
 * failed).  Caller frees; NULL when it cannot be built. */
static char *
dump_frame(json_t *arr)
{
	char *s = ocpp_json_dumps(arr);

	json_decref(arr);
	return s;
}

char *
ocpp_build_call(const char *id, const char *action, json_t *payload)
{
	return dump_frame(json_pack("[issO]", OCPP_CALL, id, action, payload));
}

char *
ocpp_build_call_text(const char *id, const char *action, const char *payload)
{
	struct ocpp_text t = { NULL, 0, 0, false };
	char head[8];

	snprintf(head, sizeof(head), "[%d,", OCPP_CALL);
	ocpp_text_put(&t, head);
	ocpp_text_str(&t, id);
	ocpp_text_raw(&t, ",", 1);
	ocpp_text_str(&t, action);
	ocpp_text_raw(&t, ",", 1);
	ocpp_text_put(&t, payload);
	ocpp_text_raw(&t, "]", 1);
	if (t.failed) {
		ocpp_text_free(&t);
		return NULL;
	}
	return t.p;
}

char *
ocpp_build_result(const char *id, json_t *payload)
{
	return dump_frame(json_pack("[isO]", OCPP_CALLRESULT, id, payload));
}

char *
ocpp_build_error(enum ocpp_version v, const char *id, enum ocpp_rpc_error e,
    const char *desc)
{
	char d[OCPP_ERROR_DESC_MAX + 1], i[OCPP_MSG_ID_MAX + 1];

	/* errorDescription is string[255]; both must be UTF-8 for JSON. */
	utf8_copy(d, sizeof(d), desc != NULL ? desc : "");
	utf8_copy(i, sizeof(i), id[0] != '\0' ? id : "-1");
	return dump_frame(json_pack("[isss{}]", OCPP_CALLERROR, i,
	    ocpp_rpc_error_name(v, e), d));
}

void
ocpp_next_msg_id(char *buf, size_t len, uint32_t boot_nonce, uint64_t *counter)
{
	(*counter)++;
	snprintf(buf, len, "%08" PRIx32 "-%" PRIu64, boot_nonce, *counter);
}

int64_t
ocpp_backoff_ms(int attempt, int min_s, int random_s, int repeat, double rand01)
{
	int doublings = attempt < repeat ? attempt : repeat;
	int64_t base_ms = (int64_t)(min_s < 0 ? 0 : min_s) * 1000;

	if (doublings < 0)
		doublings = 0;
	if (doublings > 20)	/* 2^20 × min is already weeks */
		doublings = 20;
	base_ms <<= doublings;
	if (rand01 < 0)
		rand01 = 0;
	if (rand01 >= 1)
		rand01 = 0.999999;
	return base_ms + (int64_t)(rand01 * (random_s < 0 ? 0 : random_s) * 1000.0);
}

static const char *const status_names16[] = {
	[OCPP_ST_AVAILABLE] = "Available",
	[OCPP_ST_PREPARING] = "Preparing",
	[OCPP_ST_CHARGING] = "Charging",
	[OCPP_ST_SUSPENDED_EV] = "SuspendedEV",
	[OCPP_ST_SUSPENDED_EVSE] = "SuspendedEVSE",
	[OCPP_ST_FINISHING] = "Finishing",
	[OCPP_ST_RESERVED] = "Reserved",
	[OCPP_ST_UNAVAILABLE] = "Unavailable",
	[OCPP_ST_FAULTED] = "Faulted",
};

const char *
ocpp_status_name16(enum ocpp_conn_status st)
{
	if ((size_t)st < ARRAY_SIZE(status_names16))
		return status_names16[st];
	return "Faulted";
}

int
ocpp_status_parse(const char *s, enum ocpp_conn_status *st)
{
	for (size_t i = 0; i < ARRAY_SIZE(status_names16); i++) {
		if (strcmp(s, status_names16[i]) == 0) {
			*st = (enum ocpp_conn_status)i;
			return 0;
		}
	}
	return -1;
}

/* Room for n more bytes and the terminating NUL; false when there is no
 * memory (failed is then set). */
static bool
text_reserve(struct ocpp_text *t, size_t n)
{
	size_t cap;
	char *p;

	if (t->failed)
		return false;
	if (t->len + n + 1 <= t->cap)
		return true;
	cap = t->cap > 0 ? t->cap : 1024;
	while (cap < t->len + n + 1)
		cap *= 2;
	p = realloc(t->p, cap);
	if (p == NULL) {
		t->failed = true;
		return false;
	}
	t->p = p;
	t->cap = cap;
	return true;
}

void
ocpp_text_raw(struct ocpp_text *t, const char *s, size_t n)
{
	if (!text_reserve(t, n))
		return;
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = '\0';
}

void
ocpp_text_put(struct ocpp_text *t, const char *s)
{
	ocpp_text_raw(t, s, strlen(s));
}

void
ocpp_text_str(struct ocpp_text *t, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	ocpp_text_raw(t, "\"", 1);
	while (n > 0) {
		size_t run = 0, k;
		char esc[8];

		/* The longest run of bytes that go out as they are. */
		while (run < n && p[run] >= 0x20 && p[run] < 0x80 &&
		    p[run] != '"' && p[run] != '\\')
			run++;
		if (run > 0) {
			ocpp_text_raw(t, (const char *)p, run);
			p += run;
			n -= run;
			continue;
		}
		if (*p >= 0x80) {
			k = utf8_seq_len(p, n);
			if (k == 0) {
				ocpp_text_raw(t, "?", 1);
				k = 1;
			} else {
				ocpp_text_raw(t, (const char *)p, k);
			}
			p += k;
			n -= k;
			continue;
		}
		switch (*p) {
		case '"':  ocpp_text_raw(t, "\\\"", 2); break;
		case '\\': ocpp_text_raw(t, "\\\\", 2); break;
		case '\n': ocpp_text_raw(t, "\\n", 2); break;
		case '\r': ocpp_text_raw(t, "\\r", 2); break;
		case '\t': ocpp_text_raw(t, "\\t", 2); break;
		case '\b': ocpp_text_raw(t, "\\b", 2); break;
		case '\f': ocpp_text_raw(t, "\\f", 2); break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04X", *p);
			ocpp_text_raw(t, esc, 6);
			break;
		}
		p++;
		n--;
	}
	ocpp_text_raw(t, "\"", 1);
}

/* json_dump_callback's sink into an ocpp_text. */
static int
text_sink(const char *buffer, size_t size, void *data)
{
	struct ocpp_text *t = data;

	ocpp_text_raw(t, buffer, size);
	return t->failed ? -1 : 0;
}

void
ocpp_text_json(struct ocpp_text *t, const json_t *j)
{
	if (json_dump_callback(j, text_sink, t, JSON_COMPACT |
	    JSON_ENCODE_ANY) != 0)
		t->failed = true;
}

void
ocpp_text_free(struct ocpp_text *t)
{
	free(t->p);
	memset(t, 0, sizeof(*t));
}

char *
ocpp_json_dumps(const json_t *j)
{
	struct ocpp_text t = { NULL, 0, 0, false };

	if (j == NULL)
		return NULL;
	ocpp_text_json(&t, j);
	if (t.failed || t.p == NULL) {
		ocpp_text_free(&t);
		return NULL;
	}
	return t.p;
}
