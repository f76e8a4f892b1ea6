/* Inside the configuration module (src/config/): the schema's types, the
 * load context that collects every error with its line, and what each
 * file of the module offers the others.  Only src/config/ includes this
 * (and libconfuse's confuse.h). */
#ifndef EDGE_CONFIG_PRIVATE_H
#define EDGE_CONFIG_PRIVATE_H

#include <confuse.h>
#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"

/* ---- The schema (schema.c) ------------------------------------------ */

enum kind {
	K_INT,  /* integer in the unit given */
	K_KW,   /* decimal kW, kept in W */
	K_STR,  /* free text up to max characters */
	K_ENUM, /* one of choices (names, NULL terminated) */
	K_SEC,  /* a section */
};

#define F_REQ 0x1   /* must be given in the file */
#define F_WHOLE 0x2 /* K_KW: whole kW only */
#define F_SECRET 0x4 /* never repeat the value in a message */

struct sec_def;

struct opt_def {
	const char *name;
	enum kind kind;
	double def;          /* K_INT, K_KW (in kW) */
	const char *def_str; /* K_STR, K_ENUM */
	double min, max;     /* K_INT, K_KW; K_STR: max = longest length */
	const char *const *choices; /* K_ENUM */
	const char *unit;
	unsigned flags;
	const struct sec_def *sec; /* K_SEC */
};

struct sec_def {
	const char *name;  /* as written in the file */
	const char *qname; /* in messages: "site.circuit" */
	bool titled;       /* charger "NAME" { ... }, may repeat */
	const struct opt_def *opts; /* ends with name == NULL */
};

/* The names of each enumerated option's values, in enum order, NULL
 * terminated. */
extern const char *const cfg_link_choices[], *const cfg_meter_link_choices[],
    *const cfg_parity_choices[], *const cfg_model_choices[],
    *const cfg_dist_choices[], *const cfg_version_choices[],
    *const cfg_mode_choices[], *const cfg_pv_choices[],
    *const cfg_meter_choices[], *const cfg_phase_choices[],
    *const cfg_control_choices[], *const cfg_words_choices[],
    *const cfg_level_choices[], *const cfg_offline_profiles_choices[],
    *const cfg_target_choices[], *const cfg_bool_choices[],
    *const cfg_csms_time_choices[];
/* The sections; cfg_root_sec holds the others. */
extern const struct sec_def cfg_root_sec, cfg_site_sec, cfg_circuit_sec,
    cfg_csms_sec, cfg_balancer_sec, cfg_meter_sec, cfg_southbound_sec,
    cfg_charger_sec, cfg_store_sec, cfg_http_sec, cfg_log_sec;

/* Looks a section definition up by its libconfuse name; NULL if unknown. */
const struct sec_def *cfg_find_sec(const char *name);
/* Looks an option up in a section definition; NULL when unknown. */
const struct opt_def *cfg_find_opt(const struct sec_def *sd,
    const char *name);
/* Index of word in a list of names, or -1. */
int cfg_choice_index(const char *const *choices, const char *word);
/* The n-th name of a list, or "?" when n is out of it. */
const char *cfg_choice_name(const char *const *choices, int n);
/* Checks value against od's type and range: NULL when valid (*out is
 * the number, kW for K_KW, the index for K_ENUM), else why not. */
const char *cfg_check_value(const struct opt_def *od, const char *value,
    double *out);
/* Parses a decimal integer; 0 or -1. */
int cfg_parse_long(const char *s, long *out);
/* Formats a number of watts as kW without trailing zeros.  Returns buf. */
char *cfg_fmt_kw(long w, char *buf, size_t len);
/* Describes what an option accepts, for messages, the names of an
 * enumeration joined with sep (" | " in the file's messages).  Caller
 * frees. */
char *cfg_allowed_text(const struct opt_def *od, const char *sep);
/* Makes room for element n of an array grown by doubling; returns the
 * possibly moved array. */
void *cfg_grow(void *array, size_t n, size_t size);

/* ---- The load context (context.c) ----------------------------------- */

struct err {
	int line; /* 0 = about the file as a whole */
	char *msg;
};

struct note {
	const cfg_t *sec;
	const char *opt;
	int line;
	bool bad; /* the value was refused (a default stands in) */
};

struct secline {
	const char *name;
	char *title; /* NULL for untitled sections */
	int line;    /* of the section's name */
};

struct load_ctx {
	const char *file;
	bool pushed; /* a site pushed by the backend, not the file */
	struct secline *seclines;
	size_t n_seclines;
	struct err *errs;
	size_t n_errs;
	struct note *notes;
	size_t n_notes;
};

/* Appends "FILE:LINE: <text>" to the context's errors. */
void cfg_add_error(struct load_ctx *ctx, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Records where option opt of section sec was read.  Borrowed. */
struct note *cfg_add_note(struct load_ctx *ctx, const cfg_t *sec,
    const char *opt, int line);
/* Where option opt of section sec was read; NULL when not in the file. */
const struct note *cfg_find_note(const struct load_ctx *ctx,
    const cfg_t *sec, const char *opt);
/* The line of section sec's name (0 when unknown). */
int cfg_sec_line(const struct load_ctx *ctx, cfg_t *sec);
/* The line of option opt of section sec, else the section's line. */
int cfg_line_of(const struct load_ctx *ctx, cfg_t *sec, const char *opt);
/* True when the value of option opt of section sec was refused. */
bool cfg_is_bad(const struct load_ctx *ctx, const cfg_t *sec,
    const char *opt);
/* The option's name in messages: "charger 'bay1'.link".  Caller frees. */
char *cfg_qname(const struct sec_def *sd, const char *title, const char *opt);
/* Reports a refused value: "option 'q': value 'v': why: allowed a". */
void cfg_opt_error(struct load_ctx *ctx, int line, const struct sec_def *sd,
    const char *title, const char *opt, const char *value, const char *why,
    const char *allowed_fmt, ...) __attribute__((format(printf, 8, 9)));

/* ---- The pre-scan (prescan.c) --------------------------------------- */

/* Returns a copy of text (caller frees) with the comments and the
 * unknown or repeated options blanked out, newlines kept, each reported
 * into ctx with its line; records every section's line in ctx. */
char *cfg_prescan(struct load_ctx *ctx, const char *text);

/* ---- What a pushed site may name (allow.c) -------------------------- */

/* True when host (a link's host as written) matches a word of list: an
 * address prefix ("10.0.0.0/8", "fd00::/8", "192.168.1.20") holding the
 * literal address, or a name pattern ("*.site.lan", "*") matching the
 * text.  Words are separated by blanks or commas. */
bool cfg_host_allowed(const char *list, const char *host);
/* True when device matches a path pattern of list ("/dev/ttyUSB*"; "*"
 * does not cross '/') and does not climb with "..". */
bool cfg_device_allowed(const char *list, const char *device);
/* Check the file's lists: 0, or -1 with *cause (caller frees) naming the
 * word that is neither an address prefix nor a pattern. */
int cfg_check_host_list(const char *list, char **cause);
int cfg_check_device_list(const char *list, char **cause);

/* ---- The cross-field checks (checks.c) ------------------------------ */

/* The sections the checks need alongside the struct. */
struct tree {
	cfg_t *root, *site, *csms, *balancer, *meter, *southbound, *store,
	    *http, *log;
	cfg_t **circuits; /* parallel to cfg->site.circuits */
	cfg_t **chargers; /* parallel to cfg->chargers */
};

/* True when s is 1..max characters of letters, digits and "-_.". */
bool cfg_valid_name(const char *s);
/* Checks the title of a charger or circuit section. */
void cfg_check_name(struct load_ctx *ctx, cfg_t *sec,
    const struct sec_def *sd);
/* Reports required options the file does not give. */
void cfg_check_required(struct load_ctx *ctx, cfg_t *sec,
    const struct sec_def *sd);
/* Runs every cross-field check on the copied struct; errors go to ctx. */
void cfg_check_all(struct load_ctx *ctx, struct tree *t, struct cfg *c);

#endif
