/* Internals of the OCPP module shared by its files and its unit tests. */
#ifndef EDGE_OCPP_PRIVATE_H
#define EDGE_OCPP_PRIVATE_H

#include <jansson.h>

#include "ocpp/ocpp.h"

#define OCPP_MSG_ID_MAX 36
#define OCPP_ACTION_MAX 64
#define OCPP_PASSWORD_MAX 40	/* basic-auth password: 16..40 characters */
#define OCPP_ERROR_DESC_MAX 255	/* errorDescription: string[255] */
/* A longer message is answered FormatViolation, not parsed. */
#define OCPP_FRAME_MAX (256 * 1024)
#define OCPP_FRAME_MAX_TEXT "262144"

enum ocpp_msg_type {
	OCPP_CALL = 2,
	OCPP_CALLRESULT = 3,
	OCPP_CALLERROR = 4,
};

/* One parsed OCPP-J frame.  payload is owned by the frame. */
struct ocpp_frame {
	enum ocpp_msg_type type;
	char id[OCPP_MSG_ID_MAX + 1];	/* "" when it could not be read */
	char action[OCPP_ACTION_MAX + 1];	/* CALL */
	json_t *payload;		/* CALL, CALLRESULT: the object */
	char error_code[64];		/* CALLERROR */
	char error_desc[256];		/* CALLERROR */
};

/* Parses one frame strictly.  Returns 0; or -1 with *err set to the code
 * to answer with, frame->id set when the message id could be read
 * (otherwise "" and, in 2.0.1, the answer uses "-1"), and *cause
 * (caller frees; NULL when there was no memory for it) saying what is
 * wrong.  Frees nothing on success: call ocpp_frame_clear(). */
/* What is said for a cause that could not be allocated. */
#define OCPP_NO_MEMORY_CAUSE "(out of memory describing the error)"
int ocpp_frame_parse(enum ocpp_version v, const char *text, size_t len,
    struct ocpp_frame *f, enum ocpp_rpc_error *err, char **cause);
/* Releases the payload of a parsed frame. */
void ocpp_frame_clear(struct ocpp_frame *f);

/* Reads the message type and id of a frame that cannot be parsed (too
 * long, binary, cut): "[<digits>, "<id>"" at its start, the id 1..36
 * bytes of UTF-8 without escapes.  Returns the type (capped near 1000)
 * with id (>= OCPP_MSG_ID_MAX + 1 bytes) set, or -1 with id "". */
int ocpp_frame_peek_id(const char *text, size_t len, char *id);

/* Frame builders: return JSON text, caller frees; NULL when the frame
 * cannot be built (no memory), never abort.  payload is borrowed. */
char *ocpp_build_call(const char *id, const char *action, json_t *payload);
/* ocpp_build_call() with the payload already compact JSON text (borrowed,
 * put in as it is). */
char *ocpp_build_call_text(const char *id, const char *action,
    const char *payload);
char *ocpp_build_result(const char *id, json_t *payload);
char *ocpp_build_error(enum ocpp_version v, const char *id,
    enum ocpp_rpc_error e, const char *desc);

/* JSON text written straight into a growing buffer, for answers built
 * without a JSON tree (GetConfiguration, GetVariables).  Zeroed to start;
 * reusable after len = 0.  On no memory, failed is set and the rest is
 * dropped: the text is then not to be sent. */
struct ocpp_text {
	char *p;		/* NUL-terminated once anything was put */
	size_t len, cap;
	bool failed;
};
/* Appends n bytes as they are. */
void ocpp_text_raw(struct ocpp_text *t, const char *s, size_t n);
/* Appends a C string as they are. */
void ocpp_text_put(struct ocpp_text *t, const char *s);
/* Appends s as a quoted JSON string: '"', '\\' and control characters
 * escaped, each byte that is not well-formed UTF-8 written as '?'. */
void ocpp_text_str(struct ocpp_text *t, const char *s);
/* Appends j as compact JSON (borrowed). */
void ocpp_text_json(struct ocpp_text *t, const json_t *j);
/* Frees the buffer and zeroes t. */
void ocpp_text_free(struct ocpp_text *t);
/* j as compact JSON (caller frees), or NULL when j is NULL or memory ran
 * out.  Unlike json_dumps of jansson 2.14, which may drop part of an
 * object key it could not append and return the rest, the text is never
 * partial. */
char *ocpp_json_dumps(const json_t *j);

/* ---- payload field specs: validation as data ----
 * The tables are generated from the official JSON schemas of both
 * versions by tools/gen-ocpp-schemas.js (src/ocpp/schemas.c). */
enum ocpp_ftype {
	OCPP_F_STR,
	OCPP_F_INT,
	OCPP_F_NUM,
	OCPP_F_BOOL,
	OCPP_F_OBJ,		/* members in sub */
	OCPP_F_ARR,		/* each item as item[0] says */
	OCPP_F_DATETIME,	/* string, RFC 3339 */
	OCPP_F_URI,		/* string with scheme:// */
	OCPP_F_ANY,
};

struct ocpp_field {
	const char *name;		/* NULL ends a list */
	enum ocpp_ftype type;
	bool required;
	int max_len;			/* strings, in characters: 0 = unbounded */
	bool has_range;			/* numbers: minimum, maximum */
	double min, max;
	double multiple_of;		/* numbers: 0 = any */
	const char *const *enums;	/* NULL-terminated allowed values */
	const struct ocpp_field *sub;	/* objects: the members */
	bool open;			/* objects: other members allowed */
	const struct ocpp_field *item;	/* arrays: one spec for every item */
	int min_items, max_items;	/* arrays: max -1 = unbounded */
};

struct ocpp_action_spec {
	const char *action;		/* NULL ends a table */
	const struct ocpp_field *fields; /* the payload object's members */
};

/* The generated tables (schemas.c): request and response payloads of
 * every action of each version, NULL-terminated. */
extern const struct ocpp_action_spec ocpp_requests16[], ocpp_responses16[];
extern const struct ocpp_action_spec ocpp_requests201[], ocpp_responses201[];

/* Spec of an inbound action in a version, or NULL when the session does
 * not take it (then see ocpp_action_known). */
const struct ocpp_action_spec *ocpp_action_spec(enum ocpp_version v,
    const char *action);
/* True when the action exists in the version (so NotSupported rather than
 * NotImplemented). */
bool ocpp_action_known(enum ocpp_version v, const char *action);
/* Validates a payload against field specs.  Returns OCPP_RPC_OK or the
 * code to answer with and *cause (caller frees; NULL when there was no
 * memory for it) naming field and rule. */
enum ocpp_rpc_error ocpp_validate(enum ocpp_version v,
    const struct ocpp_field *fields, json_t *payload, char **cause);

/* Validates a CALLRESULT payload: the same rules, but fields the spec
 * does not list are tolerated. */
enum ocpp_rpc_error ocpp_validate_response(enum ocpp_version v,
    const struct ocpp_field *fields, json_t *payload, char **cause);

/* Response specs for our CALLs (checked less strictly: unknown fields
 * are tolerated).  NULL when none. */
const struct ocpp_action_spec *ocpp_response_spec(enum ocpp_version v,
    const char *action);

/* Counter-based message ids, unique per process start: "<boot>-<n>". */
void ocpp_next_msg_id(char *buf, size_t len, uint32_t boot_nonce,
    uint64_t *counter);

#endif
