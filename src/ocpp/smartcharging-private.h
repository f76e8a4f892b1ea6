/* What the files of the charging-profile engine share: smartcharging-parse.c
 * (parsing and validation), smartcharging.c (the set and the requests on
 * it) and smartcharging-eval.c (evaluation and composite schedules). */
#ifndef EDGE_SMARTCHARGING_PRIVATE_H
#define EDGE_SMARTCHARGING_PRIVATE_H

#include <jansson.h>

#include "ocpp/smartcharging.h"

/* Fills *vd and returns -1. */
int sc_verdict_set(struct sc_verdict *vd, enum sc_status st,
    const char *code, bool malformed, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Marks *vd accepted. */
void sc_verdict_ok(struct sc_verdict *vd);
/* Looks a purpose name up for version v; -1 when unknown. */
int sc_purpose_from(enum sc_version v, const char *s);
/* Reads optional integer key of obj into *val within [lo, hi].  Returns 1
 * when present, 0 when absent (required: error), -1 on error. */
int sc_json_int(json_t *obj, const char *where, const char *key,
    bool required, long long lo, long long hi, long long *val,
    struct sc_verdict *vd);
/* Reads an optional string.  Same returns as sc_json_int. */
int sc_json_str(json_t *obj, const char *where, const char *key,
    bool required, const char **val, struct sc_verdict *vd);
/* Parses a request object root into a new profile. */
int sc_profile_from_json(enum sc_version v, json_t *root,
    struct sc_profile **out, struct sc_verdict *vd);
/* The same for the root of a stored profile's text, which the profile
 * keeps as its JSON instead of writing root out again. */
int sc_profile_from_stored(enum sc_version v, json_t *root, const char *text,
    struct sc_profile **out, struct sc_verdict *vd);

#endif
