/* Allocation failure on the frame path.  Each frame of a set (valid CALLs
 * of both versions, schema violations, frames that are not RPC messages)
 * goes to a session without a network (tests/fuzz/fuzz-station.c) once
 * normally, counting the allocations it makes, then once for each of them
 * with that one failing.  Every time the session must either answer (its
 * normal answer, or a CALLERROR) or send nothing and log a warning; it
 * must not abort, and afterwards it must answer the same frame exactly as
 * before.  Leaks are LeakSanitizer's to find (./configure
 * --enable-sanitizers).
 *
 * What fails: malloc, calloc, realloc and strdup called by the program's
 * own code (the linker's --wrap, see src/ocpp/local.mk) and every
 * allocation of jansson (json_set_alloc_funcs).  Not covered: what libc
 * allocates for itself (stdio, asprintf), and the charging-profile engine,
 * whose bounded allocations abort by design (docs/architecture.md). */
#include "config.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "tests/fuzz/fuzz-station.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);

/* Counting is on while armed; the allocation numbered fail_at (from 0)
 * fails, -1 = none. */
static bool armed;
static long counted, fail_at = -1;

static bool
must_fail(void)
{
	if (!armed)
		return false;
	return counted++ == fail_at;
}

void *
__wrap_malloc(size_t n)
{
	return must_fail() ? NULL : __real_malloc(n);
}

void *
__wrap_calloc(size_t n, size_t size)
{
	return must_fail() ? NULL : __real_calloc(n, size);
}

void *
__wrap_realloc(void *p, size_t n)
{
	return must_fail() ? NULL : __real_realloc(p, n);
}

char *
__wrap_strdup(const char *s)
{
	return must_fail() ? NULL : __real_strdup(s);
}

/* jansson 2.14's parser asserts (load.c, lex_scan_string) when its
 * buffer of the text read could not grow: a failure there aborts in
 * jansson, whatever the caller does.  Allocations inside json_loadb and
 * json_loads are therefore never made to fail, nor counted. */
json_t *__real_json_loadb(const char *buf, size_t len, size_t flags,
    json_error_t *error);
json_t *__wrap_json_loadb(const char *buf, size_t len, size_t flags,
    json_error_t *error);
json_t *__real_json_loads(const char *text, size_t flags,
    json_error_t *error);
json_t *__wrap_json_loads(const char *text, size_t flags,
    json_error_t *error);

json_t *
__wrap_json_loadb(const char *buf, size_t len, size_t flags,
    json_error_t *error)
{
	bool was = armed;
	json_t *j;

	armed = false;
	j = __real_json_loadb(buf, len, flags, error);
	armed = was;
	return j;
}

json_t *
__wrap_json_loads(const char *text, size_t flags, json_error_t *error)
{
	return __wrap_json_loadb(text, strlen(text), flags, error);
}

static void *
json_alloc(size_t n)
{
	return __wrap_malloc(n);
}

/* The frames sent by the session while armed (the last one kept), and
 * the CALLs it queued. */
static char answer[65536], queued[4096];
static int answers;

static void
tap(struct ocpp_session *s, const char *text)
{
	(void)s;
	answers++;
	snprintf(answer, sizeof(answer), "%s", text);
}

struct frame {
	enum ocpp_version v;
	const char *text;
};

static const struct frame frames[] = {
	{ OCPP_V16, "[2,\"a1\",\"GetConfiguration\",{}]" },
	{ OCPP_V16, "[2,\"a2\",\"GetConfiguration\",{\"key\":"
	    "[\"HeartbeatInterval\",\"Nope\",\"CpoName\"]}]" },
	{ OCPP_V16, "[2,\"a3\",\"ChangeConfiguration\",{\"key\":"
	    "\"MeterValueSampleInterval\",\"value\":\"60\"}]" },
	{ OCPP_V16, "[2,\"a4\",\"TriggerMessage\",{\"requestedMessage\":"
	    "\"StatusNotification\"}]" },
	{ OCPP_V16, "[2,\"a5\",\"DataTransfer\",{\"vendorId\":\"x\"}]" },
	{ OCPP_V16, "[2,\"a6\",\"ChangeConfiguration\",{\"key\":7}]" },
	{ OCPP_V16, "[2,\"a7\",\"Reset\",{\"type\":\"Sideways\"}]" },
	{ OCPP_V16, "[2,\"a8\",\"NoSuchAction\",{}]" },
	{ OCPP_V16, "[2,\"a9\",\"GetConfiguration\",{}" },
	{ OCPP_V16, "[\"\\u00e9\"]" },
	{ OCPP_V201, "[2,\"b1\",\"GetVariables\",{\"getVariableData\":["
	    "{\"component\":{\"name\":\"OCPPCommCtrlr\"},\"variable\":"
	    "{\"name\":\"HeartbeatInterval\"}},{\"component\":{\"name\":"
	    "\"SecurityCtrlr\"},\"variable\":{\"name\":\"OrganizationName\"}},"
	    "{\"component\":{\"name\":\"EVSE\",\"evse\":{\"id\":1}},"
	    "\"variable\":{\"name\":\"Power\"}}]}]" },
	{ OCPP_V201, "[2,\"b2\",\"SetVariables\",{\"setVariableData\":["
	    "{\"component\":{\"name\":\"OCPPCommCtrlr\"},\"variable\":"
	    "{\"name\":\"HeartbeatInterval\"},\"attributeValue\":\"300\"},"
	    "{\"component\":{\"name\":\"Nope\"},\"variable\":{\"name\":\"X\"},"
	    "\"attributeValue\":\"1\"}]}]" },
	{ OCPP_V201, "[2,\"b3\",\"GetBaseReport\",{\"requestId\":1,"
	    "\"reportBase\":\"FullInventory\"}]" },
	{ OCPP_V201, "[2,\"b4\",\"TriggerMessage\",{\"requestedMessage\":"
	    "\"Heartbeat\"}]" },
	{ OCPP_V201, "[2,\"b5\",\"GetVariables\",{\"getVariableData\":[]}]" },
	{ OCPP_V201, "[2,\"b6\",\"RequestStopTransaction\","
	    "{\"transactionId\":\"" /* over 36 characters */
	    "0123456789012345678901234567890123456789\"}]" },
	{ OCPP_V201, "[5,\"b7\"]" },
	{ OCPP_V201, "[\"\\u00e9\"]" },
	{ OCPP_V201, "not json" },
};

static int failures;

/* Says that frame failed the check: why, after the allocation k of n. */
static void
failed(const char *frame, long k, long n, const char *why, const char *got,
    const char *normal)
{
	printf("FAIL %s\n  allocation %ld of %ld failed: %s %s%s%s\n", frame,
	    k, n, why, got, normal != NULL ? ", normally " : "",
	    normal != NULL ? normal : "");
	failures++;
}

/* Bytes written to stderr (the log) so far. */
static off_t
log_size(void)
{
	return lseek(STDERR_FILENO, 0, SEEK_END);
}

/* The error code of a CALLERROR frame into code ("" for another
 * frame). */
static void
error_code(const char *frame, char *code, size_t len)
{
	json_t *j = json_loads(frame, 0, NULL);

	snprintf(code, len, "%s", json_integer_value(json_array_get(j, 0)) ==
	    4 ? json_string_value(json_array_get(j, 2)) : "");
	json_decref(j);
}

/* True when each CALL queued under a failed allocation (tokens of
 * queued) is one of those queued normally, whole: a CALL may be dropped
 * (with a warning), never sent with a part missing. */
static bool
calls_whole(const char *got, const char *normal)
{
	char tok[128];

	for (const char *p = got; *p != '\0'; p += strlen(tok)) {
		int len = (int)(strchr(p, ',') - p + 1);

		snprintf(tok, sizeof(tok), "%.*s", len, p);
		if (strstr(normal, tok) == NULL)
			return false;
	}
	return true;
}

/* True when the answer to a frame under a failed allocation is the normal
 * one, InternalError, or the normal CALLERROR with another description
 * (the cause that could not be allocated). */
static bool
acceptable(const char *got, const char *normal)
{
	char a[64], b[64];

	if (strcmp(got, normal) == 0)
		return true;
	error_code(got, a, sizeof(a));
	error_code(normal, b, sizeof(b));
	return strcmp(a, "InternalError") == 0 ||
	    (a[0] != '\0' && strcmp(a, b) == 0);
}

/* Feeds text to s once with allocation fail_at failing (-1: none);
 * returns the allocations counted.  *sent: whether a frame was sent. */
static long
feed(struct ocpp_session *s, const char *text, long fail, bool *sent)
{
	size_t len = strlen(text);

	answers = 0;
	answer[0] = '\0';
	counted = 0;
	fail_at = fail;
	armed = true;
	session_receive(s, text, len);
	armed = false;
	/* The CALLs it queued, as action/items (of a report) tokens. */
	queued[0] = '\0';
	for (const struct out_call *c = s->calls_head; c != NULL; c = c->next) {
		size_t o = strlen(queued);
		json_t *p = json_loads(c->text, 0, NULL);

		snprintf(queued + o, sizeof(queued) - o, "%s/%zu,", c->action,
		    json_array_size(json_object_get(p, "reportData")));
		json_decref(p);
	}
	session_drop_calls(s);	/* no link: they would pile up */
	*sent = answers > 0;
	return counted;
}

int
main(void)
{
	FILE *logf = tmpfile();
	int runs = 0, saved = dup(STDERR_FILENO);

	setvbuf(stdout, NULL, _IOLBF, 0);
	json_set_alloc_funcs(json_alloc, free);
	/* The log goes to a file, to tell a warning from silence; the
	 * sanitizers' reports at exit to the real stderr again (one during
	 * the run: ASAN_OPTIONS=log_path=...). */
	if (logf == NULL || saved < 0 ||
	    dup2(fileno(logf), STDERR_FILENO) < 0) {
		perror("tmpfile");
		return 99;
	}
	transport_tap = tap;
	for (size_t i = 0; i < sizeof(frames) / sizeof(frames[0]); i++) {
		struct ocpp_session *s = fuzz_session(frames[i].v);
		char normal[sizeof(answer)], normal_calls[sizeof(queued)];
		long n;
		bool sent;

		log_set_level(LOG_LEVEL_WARNING);
		n = feed(s, frames[i].text, -1, &sent);
		snprintf(normal, sizeof(normal), "%s", answer);
		snprintf(normal_calls, sizeof(normal_calls), "%s", queued);
		for (long k = 0; k < n; k++) {
			const char *f = frames[i].text;
			off_t before = log_size();

			runs++;
			feed(s, f, k, &sent);
			if (!sent && log_size() == before)
				failed(f, k, n, "no answer, no warning", "",
				    NULL);
			if (sent && !acceptable(answer, normal))
				failed(f, k, n, "answered", answer, normal);
			if (!calls_whole(queued, normal_calls))
				failed(f, k, n, "queued", queued, normal_calls);
			/* And the session still answers as before. */
			feed(s, f, -1, &sent);
			if (strcmp(answer, normal) != 0)
				failed(f, k, n, "then answered", answer,
				    normal);
		}
		printf("%s %s: %ld allocations, each failed once\n",
		    frames[i].v == OCPP_V16 ? "1.6" : "2.0.1", frames[i].text,
		    n);
	}
	printf("%d runs, %d failures\n", runs, failures);
	dup2(saved, STDERR_FILENO);
	return failures == 0 && runs > 0 ? 0 : 1;
}
