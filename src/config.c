#define _GNU_SOURCE 1 /* vasprintf */

/* The configuration file: one declarative schema (the tables below, from
 * which the libconfuse option table is built), a pre-scan that removes
 * comments and reports unknown and repeated options, libconfuse for the
 * values (each value checked as it is read, with its line), then the
 * cross-field checks of DOMAIN.md §2 and a copy into struct cfg.
 *
 * Why the pre-scan: libconfuse 3.3 miscounts lines after comments (every
 * '#' line adds two), stops at the first unknown option, and silently
 * merges or replaces a repeated section.  Handing it comment-free text in
 * which unknown options are blanked out (newlines kept) gives exact line
 * numbers and lets every error in a file be reported in one run. */
#include "cfg.h"

#include <confuse.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "southbound/southbound.h"

#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif

#define CFG_FILE_MAX (1024 * 1024) /* larger files are refused */

/* ---------------------------------------------------------------------
 * The schema
 */

enum kind {
	K_INT,  /* integer in the unit given */
	K_KW,   /* decimal kW, kept in W */
	K_STR,  /* free text up to max characters */
	K_ENUM, /* one of choices ("a|b|c") */
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
	const char *choices; /* K_ENUM */
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

#define INT(n, d, lo, hi, u) { n, K_INT, d, NULL, lo, hi, NULL, u, 0, NULL }
#define KW(n, d, lo, hi, fl) { n, K_KW, d, NULL, lo, hi, NULL, "kW", fl, NULL }
#define STR(n, d, len, fl) { n, K_STR, 0, d, 0, len, NULL, NULL, fl, NULL }
#define ENUM(n, d, ch) { n, K_ENUM, 0, d, 0, 0, ch, NULL, 0, NULL }
#define SEC(n, s) { n, K_SEC, 0, NULL, 0, 0, NULL, NULL, 0, s }
#define END { NULL, K_INT, 0, NULL, 0, 0, NULL, NULL, 0, NULL }

static const char link_choices[] = "tcp|tcp-listen|rtu";
static const char meter_link_choices[] = "tcp|rtu";
static const char parity_choices[] = "none|even|odd";
static const char model_choices[] =
    "autel-ac-wallbox|autel-ac-compact|autel-ac-ultra|autel-single|autel-dc";
static const char dist_choices[] = "1-phase-tn|1-phase-it|3-phase-tn|3-phase-it";
static const char version_choices[] = "1.6|2.0.1";
static const char mode_choices[] = "dlb|alm|pv";
static const char pv_choices[] = "full-green|green-priority|speed-priority";
static const char meter_choices[] = "sdm630|sdm230|sdm120";
static const char phase_choices[] = "L1|L2|L3";
static const char control_choices[] = "power|current";
static const char words_choices[] = "model|high-first|low-first";
static const char level_choices[] = "error|warning|info|debug";
static const char offline_profiles_choices[] = "all|station-max|none";
static const char target_choices[] = "stderr|syslog";

/* balancer.offline-meter-power-kw's default: 10 % of the available power */
#define DEF_PERCENT_OF_AVAILABLE (-1.0)

static const struct opt_def circuit_opts[] = {
	{ "max-current-a", K_INT, 0, NULL, 1, 4000, NULL, "A", F_REQ, NULL },
	STR("parent", "", CFG_NAME_MAX - 1, 0),
	END,
};
static const struct sec_def circuit_sec = {
	"circuit", "site.circuit", true, circuit_opts,
};

static const struct opt_def site_opts[] = {
	STR("id", "site", CFG_NAME_MAX - 1, 0),
	ENUM("distribution", "3-phase-tn", dist_choices),
	INT("nominal-voltage-v", 230, 100, 480, "V"),
	INT("main-breaker-a", 63, 1, 4000, "A"),
	KW("available-power-kw", 0, 1, 10000, F_REQ | F_WHOLE),
	SEC("circuit", &circuit_sec),
	END,
};

static const struct opt_def csms_opts[] = {
	STR("url", "", CFG_URL_MAX - 1, 0),
	ENUM("ocpp-version", "1.6", version_choices),
	STR("identity", "", CFG_IDENTITY_MAX - 1, 0),
	INT("security-profile", 1, 1, 3, ""),
	STR("password", "", CFG_PASSWORD_MAX - 1, F_SECRET),
	STR("ca-file", "", CFG_PATH_MAX - 1, 0),
	STR("client-cert", "", CFG_PATH_MAX - 1, 0),
	STR("client-key", "", CFG_PATH_MAX - 1, 0),
	INT("heartbeat-interval-s", 300, 1, 86400, "s"),
	INT("retry-backoff-min-s", 10, 0, 3600, "s"),
	INT("retry-backoff-random-s", 10, 0, 3600, "s"),
	INT("retry-backoff-repeat", 5, 0, 100, ""),
	INT("ping-interval-s", 30, 0, 3600, "s"),
	INT("ping-timeout-s", 10, 1, 600, "s"),
	END,
};

static const struct opt_def balancer_opts[] = {
	ENUM("mode", "dlb", mode_choices),
	ENUM("pv-mode", "green-priority", pv_choices),
	INT("reserve-pct", 10, 0, 50, "%"),
	KW("min-power-1ph-kw", 1.4, 1.4, 7.4, 0),
	KW("min-power-3ph-kw", 4.2, 4.2, 22, 0),
	KW("offline-meter-power-kw", DEF_PERCENT_OF_AVAILABLE, 0, 10000, 0),
	KW("offline-site-power-kw", 0, 0, 10000, 0),
	INT("offline-site-delay-s", 60, 0, 3600, "s"),
	INT("resolution-w", 100, 1, 1000, "W"),
	ENUM("offline-profiles", "all", offline_profiles_choices),
	END,
};

static const struct opt_def meter_opts[] = {
	ENUM("type", "sdm630", meter_choices),
	ENUM("link", "tcp", meter_link_choices),
	STR("host", "", CFG_HOST_MAX - 1, 0),
	INT("port", 502, 1, 65535, ""),
	INT("unit-id", 1, 1, 247, ""),
	STR("device", "", CFG_PATH_MAX - 1, 0),
	INT("baud", 9600, 1200, 115200, "baud"),
	ENUM("parity", "none", parity_choices),
	INT("stop-bits", 1, 1, 2, ""),
	INT("max-age-s", 3, 1, 3600, "s"),
	INT("poll-interval-ms", 1000, 100, 60000, "ms"),
	END,
};

static const struct opt_def southbound_opts[] = {
	STR("listen", "0.0.0.0:5502", CFG_HOST_MAX - 1, 0),
	INT("response-timeout-ms", 500, 50, 10000, "ms"),
	INT("comm-timeout-s", 30, 1, 3600, "s"),
	INT("offline-after-failures", 3, 1, 100, ""),
	END,
};

static const struct opt_def charger_opts[] = {
	{ "model", K_ENUM, 0, "autel-ac-wallbox", 0, 0, model_choices, NULL,
	  F_REQ, NULL },
	ENUM("link", "tcp", link_choices),
	STR("host", "", CFG_HOST_MAX - 1, 0),
	INT("port", 502, 1, 65535, ""),
	INT("unit-id", 1, 1, 247, ""),
	STR("serial", "", CFG_NAME_MAX - 1, 0),
	STR("device", "", CFG_PATH_MAX - 1, 0),
	INT("baud", 9600, 1200, 115200, "baud"),
	ENUM("parity", "none", parity_choices),
	INT("stop-bits", 1, 1, 2, ""),
	INT("connectors", 1, 1, CFG_MAX_CONNECTORS, ""),
	ENUM("phases", "3", "1|3"),
	ENUM("wired-phase", "L1", phase_choices),
	KW("max-power-kw", 0, 1, 1000, F_REQ),
	KW("offline-power-kw", 0, 0, 1000, 0),
	STR("circuit", "", CFG_NAME_MAX - 1, 0),
	ENUM("control-unit", "power", control_choices),
	ENUM("word-order", "model", words_choices),
	END,
};

static const struct opt_def store_opts[] = {
	STR("path", LOCALSTATEDIR "/lib/ocpp-edge/ocpp-edge.db",
	    CFG_PATH_MAX - 1, 0),
	END,
};

static const struct opt_def log_opts[] = {
	ENUM("level", "info", level_choices),
	ENUM("target", "stderr", target_choices),
	END,
};

static const struct sec_def site_sec = { "site", "site", false, site_opts };
static const struct sec_def csms_sec = { "csms", "csms", false, csms_opts };
static const struct sec_def balancer_sec = {
	"balancer", "balancer", false, balancer_opts,
};
static const struct sec_def meter_sec = { "meter", "meter", false, meter_opts };
static const struct sec_def southbound_sec = {
	"southbound", "southbound", false, southbound_opts,
};
static const struct sec_def charger_sec = {
	"charger", "charger", true, charger_opts,
};
static const struct sec_def store_sec = { "store", "store", false, store_opts };
static const struct sec_def log_sec = { "log", "log", false, log_opts };

static const struct opt_def root_opts[] = {
	SEC("site", &site_sec),
	SEC("csms", &csms_sec),
	SEC("balancer", &balancer_sec),
	SEC("meter", &meter_sec),
	SEC("southbound", &southbound_sec),
	SEC("charger", &charger_sec),
	SEC("store", &store_sec),
	SEC("log", &log_sec),
	END,
};
static const struct sec_def root_sec = { "root", "", false, root_opts };

static const struct sec_def *const all_secs[] = {
	&site_sec, &circuit_sec, &csms_sec, &balancer_sec, &meter_sec,
	&southbound_sec, &charger_sec, &store_sec, &log_sec,
};

/* Looks a section definition up by its libconfuse name (they are unique). */
static const struct sec_def *
find_sec(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(all_secs); i++)
		if (strcmp(all_secs[i]->name, name) == 0)
			return all_secs[i];
	return NULL;
}

/* Looks an option up in a section definition; NULL when unknown. */
static const struct opt_def *
find_opt(const struct sec_def *sd, const char *name)
{
	for (const struct opt_def *od = sd->opts; od->name != NULL; od++)
		if (strcmp(od->name, name) == 0)
			return od;
	return NULL;
}

/* Index of word in a "a|b|c" list, or -1. */
static int
choice_index(const char *choices, const char *word)
{
	size_t len = strlen(word);
	int i = 0;

	for (const char *p = choices;; i++) {
		const char *bar = strchr(p, '|');
		size_t n = bar != NULL ? (size_t)(bar - p) : strlen(p);

		if (n == len && strncmp(p, word, n) == 0)
			return i;
		if (bar == NULL)
			return -1;
		p = bar + 1;
	}
}

/* Formats a number of watts as kW without trailing zeros.  Returns buf. */
static char *
fmt_kw(long w, char *buf, size_t len)
{
	snprintf(buf, len, "%g", (double)w / 1000.0);
	return buf;
}

/* Describes what an option accepts, for messages.  Caller frees. */
static char *
allowed_text(const struct opt_def *od)
{
	char *s = NULL, lo[32], hi[32];

	switch (od->kind) {
	case K_INT:
		xasprintf(&s, "%.0f..%.0f%s%s", od->min, od->max,
		    od->unit[0] != '\0' ? " " : "", od->unit);
		break;
	case K_KW:
		snprintf(lo, sizeof(lo), "%g", od->min);
		snprintf(hi, sizeof(hi), "%g", od->max);
		xasprintf(&s, "%s%s..%s kW", (od->flags & F_WHOLE) ?
		    "whole kW, " : "", lo, hi);
		break;
	case K_STR:
		xasprintf(&s, "text of at most %.0f characters", od->max);
		break;
	case K_ENUM: {
		size_t n = strlen(od->choices), j = 0;

		s = xmalloc(n * 3 + 1);
		for (size_t i = 0; i < n; i++) {
			if (od->choices[i] == '|') {
				memcpy(s + j, " | ", 3);
				j += 3;
			} else
				s[j++] = od->choices[i];
		}
		s[j] = '\0';
		break;
	}
	case K_SEC:
		s = xstrdup("a section { ... }");
		break;
	}
	return s;
}

/* Makes room for element n of an array grown by doubling (capacity is the
 * next power of two); returns the possibly moved array. */
static void *
grow(void *array, size_t n, size_t size)
{
	if (n == 0 || (n & (n - 1)) == 0)
		array = xrealloc(array, (n == 0 ? 1 : 2 * n) * size);
	return array;
}

/* ---------------------------------------------------------------------
 * Load context: errors and where each option was read
 */

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
	struct secline *seclines;
	size_t n_seclines;
	struct err *errs;
	size_t n_errs;
	struct note *notes;
	size_t n_notes;
};

/* The load in progress: libconfuse's callbacks carry no user pointer. */
static struct load_ctx *cur;

/* Appends "FILE:LINE: <text>" to the context's errors. */
static void add_error(struct load_ctx *ctx, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void
add_error(struct load_ctx *ctx, int line, const char *fmt, ...)
{
	va_list ap;
	char *text, *msg;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0) {
		va_end(ap);
		abort();
	}
	va_end(ap);
	if (line > 0)
		xasprintf(&msg, "%s:%d: %s", ctx->file, line, text);
	else
		xasprintf(&msg, "%s: %s", ctx->file, text);
	free(text);
	ctx->errs = grow(ctx->errs, ctx->n_errs, sizeof(*ctx->errs));
	ctx->errs[ctx->n_errs].line = line;
	ctx->errs[ctx->n_errs].msg = msg;
	ctx->n_errs++;
}

/* Remembers that option opt of section sec was read at line. */
static struct note *
add_note(struct load_ctx *ctx, const cfg_t *sec, const char *opt, int line)
{
	struct note *n;

	ctx->notes = grow(ctx->notes, ctx->n_notes, sizeof(*ctx->notes));
	n = &ctx->notes[ctx->n_notes++];
	n->sec = sec;
	n->opt = opt;
	n->line = line;
	n->bad = false;
	return n;
}

/* The last note about sec/opt, or NULL when the option was not given. */
static const struct note *
find_note(const struct load_ctx *ctx, const cfg_t *sec, const char *opt)
{
	for (size_t i = ctx->n_notes; i > 0; i--) {
		const struct note *n = &ctx->notes[i - 1];

		if (n->sec == sec && strcmp(n->opt, opt) == 0)
			return n;
	}
	return NULL;
}

/* Line where a section starts (libconfuse's own counter has moved on to
 * its closing brace); 0 when the file does not have it. */
static int
sec_line(const struct load_ctx *ctx, cfg_t *sec)
{
	const char *title = cfg_title(sec);

	for (size_t i = ctx->n_seclines; i > 0; i--) {
		const struct secline *sl = &ctx->seclines[i - 1];

		if (strcmp(sl->name, sec->name) != 0)
			continue;
		if ((title == NULL && sl->title == NULL) || (title != NULL &&
		    sl->title != NULL && strcmp(title, sl->title) == 0))
			return sl->line;
	}
	return 0;
}

/* Line where sec/opt was given, else the section's own line. */
static int
line_of(const struct load_ctx *ctx, cfg_t *sec, const char *opt)
{
	const struct note *n = find_note(ctx, sec, opt);

	return n != NULL ? n->line : sec_line(ctx, sec);
}

/* True when the option's value was refused already (skip cross-checks). */
static bool
is_bad(const struct load_ctx *ctx, const cfg_t *sec, const char *opt)
{
	const struct note *n = find_note(ctx, sec, opt);

	return n != NULL && n->bad;
}

/* Qualified option name for messages: "charger[bay1].port".  Caller frees. */
static char *
qname(const struct sec_def *sd, const char *title, const char *opt)
{
	char *s, esc[96];

	if (sd->qname[0] == '\0')
		return xstrdup(opt);
	if (title != NULL) {
		log_escape(title, strlen(title), esc, sizeof(esc));
		xasprintf(&s, "%s[%s]%s%s", sd->qname, esc,
		    opt != NULL ? "." : "", opt != NULL ? opt : "");
	} else
		xasprintf(&s, "%s%s%s", sd->qname, opt != NULL ? "." : "",
		    opt != NULL ? opt : "");
	return s;
}

/* Reports a refused value: "option 'q': value 'v': why: allowed a". */
static void opt_error(struct load_ctx *ctx, int line, const struct sec_def *sd,
    const char *title, const char *opt, const char *value, const char *why,
    const char *allowed_fmt, ...) __attribute__((format(printf, 8, 9)));
static void
opt_error(struct load_ctx *ctx, int line, const struct sec_def *sd,
    const char *title, const char *opt, const char *value, const char *why,
    const char *allowed_fmt, ...)
{
	char esc[160], *q, *allowed;
	va_list ap;

	va_start(ap, allowed_fmt);
	if (vasprintf(&allowed, allowed_fmt, ap) < 0)
		abort();
	va_end(ap);
	q = qname(sd, title, opt);
	if (value != NULL) {
		log_escape(value, strlen(value), esc, sizeof(esc));
		add_error(ctx, line, "option '%s': value '%s': %s: allowed %s",
		    q, esc, why, allowed);
	} else
		add_error(ctx, line, "option '%s': %s: allowed %s", q, why,
		    allowed);
	free(q);
	free(allowed);
}

/* ---------------------------------------------------------------------
 * Values, checked as libconfuse reads them
 */

/* Parses a decimal integer; 0 or -1. */
static int
parse_long(const char *s, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	if (s[0] == '\0' || *end != '\0' || errno == ERANGE)
		return -1;
	return 0;
}

/* libconfuse value callback for every option: checks the text against the
 * schema, notes the line, reports a refused value and stands the default
 * in for it, and always returns 0 so that parsing goes on. */
static int
on_value(cfg_t *sec, cfg_opt_t *opt, const char *value, void *result)
{
	const struct sec_def *sd = find_sec(sec->name);
	const struct opt_def *od = sd != NULL ? find_opt(sd, opt->name) : NULL;
	struct note *n;
	const char *why = NULL;
	char *allowed;

	if (od == NULL || cur == NULL || value == NULL)
		return -1; /* cannot happen: the table built these options */
	n = add_note(cur, sec, opt->name, sec->line);

	switch (od->kind) {
	case K_INT: {
		long v = 0;

		if (parse_long(value, &v) != 0)
			why = "not a whole number";
		else if (v < od->min || v > od->max)
			why = "out of range";
		*(long *)result = why == NULL ? v : (long)od->def;
		break;
	}
	case K_KW: {
		char *end;
		double v;

		errno = 0;
		v = strtod(value, &end);
		if (value[0] == '\0' || *end != '\0' || errno == ERANGE ||
		    !isfinite(v))
			why = "not a number";
		else if (v < od->min || v > od->max)
			why = "out of range";
		else if ((od->flags & F_WHOLE) && v != floor(v))
			why = "not a whole number of kW";
		*(double *)result = why == NULL ? v : od->def;
		break;
	}
	case K_STR:
		if (strlen(value) > (size_t)od->max)
			why = "too long";
		*(const char **)result = why == NULL ? value : od->def_str;
		break;
	case K_ENUM:
		if (choice_index(od->choices, value) < 0)
			why = "unknown value";
		*(const char **)result = why == NULL ? value : od->def_str;
		break;
	case K_SEC:
		return -1;
	}
	if (why != NULL) {
		n->bad = true;
		allowed = allowed_text(od);
		opt_error(cur, sec->line, sd, cfg_title(sec), od->name,
		    (od->flags & F_SECRET) ? "(hidden)" : value, why, "%s",
		    allowed);
		free(allowed);
	}
	return 0;
}

/* libconfuse's own messages (syntax errors) join the list. */
static void
on_confuse_error(cfg_t *sec, const char *fmt, va_list ap)
{
	char *text;

	if (cur == NULL)
		return;
	if (vasprintf(&text, fmt, ap) < 0)
		abort();
	add_error(cur, sec != NULL ? sec->line : 0, "syntax error: %s", text);
	free(text);
}

/* Builds libconfuse's option array for a section from the schema.
 * Caller frees with free_opts. */
static cfg_opt_t *
build_opts(const struct sec_def *sd)
{
	size_t n = 0;
	cfg_opt_t *opts;

	while (sd->opts[n].name != NULL)
		n++;
	opts = xcalloc(n + 1, sizeof(*opts));
	for (size_t i = 0; i < n; i++) {
		const struct opt_def *od = &sd->opts[i];

		switch (od->kind) {
		case K_INT:
			opts[i] = (cfg_opt_t)CFG_INT_CB(od->name, (long)od->def,
			    CFGF_NONE, on_value);
			break;
		case K_KW:
			opts[i] = (cfg_opt_t)CFG_FLOAT_CB(od->name, od->def,
			    CFGF_NONE, on_value);
			break;
		case K_STR:
		case K_ENUM:
			opts[i] = (cfg_opt_t)CFG_STR_CB(od->name, od->def_str,
			    CFGF_NONE, on_value);
			break;
		case K_SEC:
			opts[i] = (cfg_opt_t)CFG_SEC(od->name, build_opts(od->sec),
			    od->sec->titled ? CFGF_MULTI | CFGF_TITLE : CFGF_NONE);
			break;
		}
	}
	opts[n] = (cfg_opt_t)CFG_END();
	return opts;
}

/* Frees what build_opts returned. */
static void
free_opts(cfg_opt_t *opts)
{
	for (cfg_opt_t *o = opts; o->name != NULL; o++)
		if (o->type == CFGT_SEC)
			free_opts(o->subopts);
	free(opts);
}

/* ---------------------------------------------------------------------
 * Pre-scan: comments out, unknown and repeated options reported
 */

enum tok_type { T_STR, T_LBRACE, T_RBRACE, T_LPAREN, T_RPAREN, T_EQ,
	T_PLUSEQ, T_COMMA };

struct tok {
	enum tok_type type;
	size_t start, end; /* byte range in the buffer */
	int line;
	char *text; /* T_STR: the value, quotes and escapes removed */
};

struct scan {
	struct load_ctx *ctx;
	char *buf;
	size_t len;
	struct tok *toks;
	size_t n_toks;
	size_t i; /* next token */
	bool unclosed_reported;
};

/* Blanks bytes [from, to) of the buffer, keeping newlines. */
static void
blank(struct scan *sc, size_t from, size_t to)
{
	for (size_t k = from; k < to && k < sc->len; k++)
		if (sc->buf[k] != '\n')
			sc->buf[k] = ' ';
}

/* Appends a token. */
static void
push_tok(struct scan *sc, enum tok_type type, size_t start, size_t end,
    int line, char *text)
{
	sc->toks = grow(sc->toks, sc->n_toks, sizeof(*sc->toks));
	sc->toks[sc->n_toks].type = type;
	sc->toks[sc->n_toks].start = start;
	sc->toks[sc->n_toks].end = end;
	sc->toks[sc->n_toks].line = line;
	sc->toks[sc->n_toks].text = text;
	sc->n_toks++;
}

/* Splits the buffer into tokens the way libconfuse's lexer does, blanking
 * comments as it goes.  Stops quietly at an unterminated string (the
 * parser reports it). */
static void
tokenize(struct scan *sc)
{
	char *b = sc->buf;
	size_t i = 0, n = sc->len;
	int line = 1;

	while (i < n) {
		char c = b[i];

		if (c == '\n') {
			line++;
			i++;
		} else if (c == ' ' || c == '\t' || c == '\r') {
			i++;
		} else if (c == '#' || (c == '/' && i + 1 < n && b[i + 1] == '/')) {
			size_t j = i;

			while (j < n && b[j] != '\n')
				j++;
			blank(sc, i, j);
			i = j;
		} else if (c == '/' && i + 1 < n && b[i + 1] == '*') {
			size_t j = i + 2;

			while (j < n && !(b[j] == '*' && j + 1 < n && b[j + 1] == '/'))
				j++;
			j = j < n ? j + 2 : n;
			for (size_t k = i; k < j; k++)
				if (b[k] == '\n')
					line++;
			blank(sc, i, j);
			i = j;
		} else if (strchr("{}()=,", c) != NULL) {
			static const enum tok_type types[] = { T_LBRACE,
				T_RBRACE, T_LPAREN, T_RPAREN, T_EQ, T_COMMA };

			push_tok(sc, types[strchr("{}()=,", c) - "{}()=,"], i,
			    i + 1, line, NULL);
			i++;
		} else if (c == '+' && i + 1 < n && b[i + 1] == '=') {
			push_tok(sc, T_PLUSEQ, i, i + 2, line, NULL);
			i += 2;
		} else if (c == '"' || c == '\'') {
			size_t j = i + 1, k = 0;
			int start_line = line;
			char *text;

			while (j < n && b[j] != c)
				j += b[j] == '\\' && j + 1 < n ? 2 : 1;
			text = xmalloc(j - i + 1); /* escapes only shrink it */
			j = i + 1;

			while (j < n && b[j] != c) {
				if (b[j] == '\\' && j + 1 < n) {
					j++;
					if (b[j] == 'n' && c == '"')
						text[k++] = '\n';
					else if (b[j] != '\n')
						text[k++] = b[j];
				} else
					text[k++] = b[j];
				if (b[j] == '\n')
					line++;
				j++;
			}
			text[k] = '\0';
			if (j >= n) {
				free(text);
				return;
			}
			push_tok(sc, T_STR, i, j + 1, start_line, text);
			i = j + 1;
		} else if (c == '$' && i + 1 < n && b[i + 1] == '{') {
			size_t j = i + 2;

			while (j < n && b[j] != '}' && b[j] != '\n')
				j++;
			if (j >= n || b[j] != '}')
				return;
			push_tok(sc, T_STR, i, j + 1, line, xstrdup(""));
			i = j + 1;
		} else {
			size_t j = i;
			char *text;

			while (j < n && strchr(" \t\r\n#\"'={}()+,*", b[j]) == NULL)
				j++;
			if (j == i) { /* a stray '+' or '*': the lexer eats it */
				i++;
				continue;
			}
			text = xmalloc(j - i + 1);
			memcpy(text, b + i, j - i);
			text[j - i] = '\0';
			push_tok(sc, T_STR, i, j, line, text);
			i = j;
		}
	}
}

/* Skips from an opening brace past its matching closing brace; false when
 * the file ends first. */
static bool
skip_braces(struct scan *sc)
{
	int depth = 0;

	for (; sc->i < sc->n_toks; sc->i++) {
		if (sc->toks[sc->i].type == T_LBRACE)
			depth++;
		else if (sc->toks[sc->i].type == T_RBRACE && --depth == 0) {
			sc->i++;
			return true;
		}
	}
	return false;
}

/* Reports an unknown option with the names the section allows. */
static void
report_unknown(struct load_ctx *ctx, const struct sec_def *sd,
    const char *title, const char *name, int line)
{
	char esc[96], *q, *names = xstrdup(""), *tmp;

	for (const struct opt_def *o = sd->opts; o->name != NULL; o++) {
		xasprintf(&tmp, "%s%s%s", names, names[0] != '\0' ? ", " : "",
		    o->name);
		free(names);
		names = tmp;
	}
	log_escape(name, strlen(name), esc, sizeof(esc));
	q = qname(sd, title, esc);
	if (sd->qname[0] != '\0')
		add_error(ctx, line, "option '%s': unknown option: allowed in "
		    "%s: %s", q, sd->qname, names);
	else
		add_error(ctx, line, "option '%s': unknown section: allowed "
		    "%s", q, names);
	free(q);
	free(names);
}

struct seen {
	const char *name;
	const char *title;
	int line;
};

/* Walks one block of statements against its section definition, reporting
 * unknown options (blanked out) and options or sections given twice; sets
 * *closed when the block ended with its '}'.  Returns false at a syntax
 * error: the rest is left to libconfuse, which reports it. */
static bool
walk(struct scan *sc, const struct sec_def *sd, const char *title, int depth,
    bool *closed)
{
	struct seen *seen = NULL;
	size_t n_seen = 0;
	bool ok = true, sub_closed;

	*closed = false;

	while (ok && sc->i < sc->n_toks) {
		struct tok *t = &sc->toks[sc->i];
		const struct opt_def *od;
		const char *sub_title = NULL, *name;
		size_t start = t->start;
		int line = t->line;

		if (t->type == T_RBRACE) {
			if (depth == 0)
				ok = false;
			else
				sc->i++;
			*closed = true;
			break;
		}
		if (t->type != T_STR || sc->i + 1 >= sc->n_toks) {
			ok = false;
			break;
		}
		name = t->text;
		od = find_opt(sd, name);
		sc->i++;
		t = &sc->toks[sc->i];
		switch (t->type) {
		case T_EQ:
		case T_PLUSEQ:
			sc->i++;
			if (sc->i >= sc->n_toks) {
				ok = false;
				break;
			}
			if (sc->toks[sc->i].type == T_LBRACE)
				ok = skip_braces(sc);
			else if (sc->toks[sc->i].type == T_STR)
				sc->i++;
			else
				ok = false;
			if (!ok || od == NULL || od->kind == K_SEC)
				break;
			for (size_t k = 0; k < n_seen; k++) {
				if (seen[k].title == NULL &&
				    strcmp(seen[k].name, od->name) == 0) {
					char *q = qname(sd, title, od->name);

					add_error(sc->ctx, line, "option '%s': "
					    "given twice (first at line %d): "
					    "allowed once per section", q,
					    seen[k].line);
					free(q);
					break;
				}
			}
			break;
		case T_STR:
			sub_title = t->text;
			sc->i++;
			if (sc->i >= sc->n_toks ||
			    sc->toks[sc->i].type != T_LBRACE)
				ok = false;
			break;
		case T_LBRACE:
			break;
		case T_LPAREN:
			while (sc->i < sc->n_toks &&
			    sc->toks[sc->i].type != T_RPAREN)
				sc->i++;
			if (sc->i >= sc->n_toks || od != NULL)
				ok = false;
			else
				sc->i++;
			break;
		default:
			ok = false;
			break;
		}
		if (!ok)
			break;

		if (od == NULL) {
			/* Unknown: report it, skip a section body, blank it. */
			if ((t->type == T_LBRACE || t->type == T_STR) &&
			    !skip_braces(sc)) {
				ok = false;
				break;
			}
			report_unknown(sc->ctx, sd, title, name, line);
			blank(sc, start, sc->toks[sc->i - 1].end);
			continue;
		}

		if (od->kind != K_SEC) {
			if (t->type != T_EQ && t->type != T_PLUSEQ) {
				ok = false; /* libconfuse says what is wrong */
				break;
			}
			seen = grow(seen, n_seen, sizeof(*seen));
			seen[n_seen++] = (struct seen){ od->name, NULL, line };
			continue;
		}

		/* A known section: was it given before? */
		if (t->type == T_EQ || t->type == T_PLUSEQ ||
		    (od->sec->titled != (sub_title != NULL))) {
			ok = false;
			break;
		}
		for (size_t k = 0; k < n_seen; k++) {
			if (strcmp(seen[k].name, od->name) != 0)
				continue;
			if (sub_title == NULL && seen[k].title == NULL) {
				add_error(sc->ctx, line, "option '%s': section "
				    "given twice (first at line %d): allowed "
				    "once", od->sec->qname, seen[k].line);
				break;
			}
			if (sub_title != NULL && seen[k].title != NULL &&
			    strcmp(seen[k].title, sub_title) == 0) {
				char esc[96];

				log_escape(sub_title, strlen(sub_title), esc,
				    sizeof(esc));
				add_error(sc->ctx, line, "option '%s': value "
				    "'%s': duplicate name (first defined at "
				    "line %d): allowed unique %s names",
				    od->sec->qname, esc, seen[k].line,
				    od->name);
				break;
			}
		}
		seen = grow(seen, n_seen, sizeof(*seen));
		seen[n_seen++] = (struct seen){ od->name, sub_title, line };
		sc->ctx->seclines = grow(sc->ctx->seclines,
		    sc->ctx->n_seclines, sizeof(*sc->ctx->seclines));
		sc->ctx->seclines[sc->ctx->n_seclines++] = (struct secline){
			od->name, sub_title != NULL ? xstrdup(sub_title) : NULL,
			line };
		sc->i++; /* the opening brace */
		ok = walk(sc, od->sec, sub_title, depth + 1, &sub_closed);
		if (ok && !sub_closed && !sc->unclosed_reported) {
			/* libconfuse accepts a file that ends inside a
			 * section; refuse it. */
			add_error(sc->ctx, line, "syntax error: section '%s' is "
			    "not closed: allowed a '}' before the end of the "
			    "file", od->sec->qname);
			sc->unclosed_reported = true;
		}
	}
	free(seen);
	return ok;
}

/* ---------------------------------------------------------------------
 * Copying into struct cfg
 */

/* Copies a string option into a fixed buffer (lengths were checked). */
static void
get_str(cfg_t *sec, const char *name, char *dst, size_t len)
{
	const char *v = cfg_getstr(sec, name);

	strlcpy_ok(dst, v != NULL ? v : "", len);
}

/* Index of an enumerated option's value in its choices. */
static int
get_enum(cfg_t *sec, const struct sec_def *sd, const char *name)
{
	const struct opt_def *od = find_opt(sd, name);
	const char *v = cfg_getstr(sec, name);
	int i = v != NULL ? choice_index(od->choices, v) : -1;

	return i >= 0 ? i : choice_index(od->choices, od->def_str);
}

/* A kW option in W. */
static int
get_w(cfg_t *sec, const char *name)
{
	return (int)lround(cfg_getfloat(sec, name) * 1000.0);
}

/* Reads the link fields shared by the meter and chargers. */
static void
get_link(cfg_t *sec, const struct sec_def *sd, struct cfg_link *l)
{
	const char *kind = cfg_getstr(sec, "link");

	if (kind != NULL && strcmp(kind, "rtu") == 0)
		l->kind = CFG_LINK_RTU;
	else if (kind != NULL && strcmp(kind, "tcp-listen") == 0)
		l->kind = CFG_LINK_TCP_LISTEN;
	else
		l->kind = CFG_LINK_TCP;
	get_str(sec, "host", l->host, sizeof(l->host));
	l->port = (int)cfg_getint(sec, "port");
	l->unit_id = (int)cfg_getint(sec, "unit-id");
	if (find_opt(sd, "serial") != NULL)
		get_str(sec, "serial", l->serial, sizeof(l->serial));
	get_str(sec, "device", l->device, sizeof(l->device));
	l->baud = (int)cfg_getint(sec, "baud");
	l->parity = (enum cfg_parity)get_enum(sec, sd, "parity");
	l->stop_bits = (int)cfg_getint(sec, "stop-bits");
}

/* Splits "host:port", "[v6]:port" or ":port"; 0 or -1. */
static int
split_listen(const char *s, char *host, size_t hlen, int *port)
{
	const char *colon;
	long p;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':')
			return -1;
		if ((size_t)(close - s - 1) >= hlen)
			return -1;
		memcpy(host, s + 1, (size_t)(close - s - 1));
		host[close - s - 1] = '\0';
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL || (size_t)(colon - s) >= hlen ||
		    memchr(s, ':', (size_t)(colon - s)) != NULL)
			return -1;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
	}
	if (parse_long(colon + 1, &p) != 0 || p < 0 || p > 65535)
		return -1;
	*port = (int)p;
	return 0;
}

/* True when s is 1..max characters of letters, digits and "-_.". */
static bool
valid_name(const char *s)
{
	if (s[0] == '\0' || strlen(s) >= CFG_NAME_MAX)
		return false;
	for (const char *p = s; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
		    *p == '.'))
			return false;
	return true;
}

/* Checks the title of a charger or circuit section. */
static void
check_name(struct load_ctx *ctx, cfg_t *sec, const struct sec_def *sd)
{
	const char *title = cfg_title(sec);
	char esc[96];

	if (title != NULL && valid_name(title))
		return;
	log_escape(title != NULL ? title : "", title != NULL ? strlen(title) :
	    0, esc, sizeof(esc));
	add_error(ctx, sec_line(ctx, sec), "option '%s': value '%s': bad "
	    "name: allowed 1..%d letters, digits, '-', '_' or '.'", sd->qname,
	    esc, CFG_NAME_MAX - 1);
}

/* The sections the checks need alongside the struct. */
struct tree {
	cfg_t *root, *site, *csms, *balancer, *meter, *southbound, *store,
	    *log;
	cfg_t **circuits; /* parallel to cfg->site.circuits */
	cfg_t **chargers; /* parallel to cfg->chargers */
};

/* Reports required options that the file does not give, and marks them
 * refused so that the cross-checks leave their defaults out. */
static void
check_required(struct load_ctx *ctx, cfg_t *sec, const struct sec_def *sd)
{
	for (const struct opt_def *od = sd->opts; od->name != NULL; od++) {
		char *allowed;

		if (!(od->flags & F_REQ) || find_note(ctx, sec, od->name))
			continue;
		allowed = allowed_text(od);
		opt_error(ctx, sec_line(ctx, sec), sd, cfg_title(sec), od->name,
		    NULL, "missing", "%s", allowed);
		free(allowed);
		add_note(ctx, sec, od->name, sec_line(ctx, sec))->bad = true;
	}
}

/* Copies the parsed tree into *c (all values are in range by now). */
static void
copy_tree(struct tree *t, struct cfg *c)
{
	cfg_t *s;

	s = t->site;
	get_str(s, "id", c->site.id, sizeof(c->site.id));
	c->site.distribution = (enum cfg_distribution)get_enum(s, &site_sec,
	    "distribution");
	c->site.nominal_voltage_v = (int)cfg_getint(s, "nominal-voltage-v");
	c->site.main_breaker_a = (int)cfg_getint(s, "main-breaker-a");
	c->site.available_power_w = get_w(s, "available-power-kw");
	c->site.n_circuits = cfg_size(s, "circuit");
	c->site.circuits = xcalloc(c->site.n_circuits + 1,
	    sizeof(*c->site.circuits));
	t->circuits = xcalloc(c->site.n_circuits + 1, sizeof(*t->circuits));
	for (size_t i = 0; i < c->site.n_circuits; i++) {
		struct cfg_circuit *ci = &c->site.circuits[i];
		cfg_t *cs = cfg_getnsec(s, "circuit", (unsigned)i);

		t->circuits[i] = cs;
		strlcpy_ok(ci->name, cfg_title(cs), sizeof(ci->name));
		get_str(cs, "parent", ci->parent, sizeof(ci->parent));
		ci->max_current_a = (int)cfg_getint(cs, "max-current-a");
		ci->parent_index = -1;
	}

	s = t->csms;
	get_str(s, "url", c->csms.url, sizeof(c->csms.url));
	c->csms.ocpp_version = (enum cfg_ocpp_version)get_enum(s, &csms_sec,
	    "ocpp-version");
	get_str(s, "identity", c->csms.identity, sizeof(c->csms.identity));
	c->csms.security_profile = (int)cfg_getint(s, "security-profile");
	get_str(s, "password", c->csms.password, sizeof(c->csms.password));
	get_str(s, "ca-file", c->csms.ca_file, sizeof(c->csms.ca_file));
	get_str(s, "client-cert", c->csms.client_cert,
	    sizeof(c->csms.client_cert));
	get_str(s, "client-key", c->csms.client_key,
	    sizeof(c->csms.client_key));
	c->csms.heartbeat_interval_s = (int)cfg_getint(s,
	    "heartbeat-interval-s");
	c->csms.retry_backoff_min_s = (int)cfg_getint(s, "retry-backoff-min-s");
	c->csms.retry_backoff_random_s = (int)cfg_getint(s,
	    "retry-backoff-random-s");
	c->csms.retry_backoff_repeat = (int)cfg_getint(s,
	    "retry-backoff-repeat");
	c->csms.ping_interval_s = (int)cfg_getint(s, "ping-interval-s");
	c->csms.ping_timeout_s = (int)cfg_getint(s, "ping-timeout-s");

	s = t->balancer;
	c->balancer.mode = (enum cfg_balancer_mode)get_enum(s, &balancer_sec,
	    "mode");
	c->balancer.pv_mode = (enum cfg_pv_mode)get_enum(s, &balancer_sec,
	    "pv-mode");
	c->balancer.reserve_pct = (int)cfg_getint(s, "reserve-pct");
	c->balancer.min_power_1ph_w = get_w(s, "min-power-1ph-kw");
	c->balancer.min_power_3ph_w = get_w(s, "min-power-3ph-kw");
	if (cfg_getfloat(s, "offline-meter-power-kw") < 0)
		c->balancer.offline_meter_power_w =
		    c->site.available_power_w / 10;
	else
		c->balancer.offline_meter_power_w = get_w(s,
		    "offline-meter-power-kw");
	c->balancer.offline_site_power_w = get_w(s, "offline-site-power-kw");
	c->balancer.offline_site_delay_s = (int)cfg_getint(s,
	    "offline-site-delay-s");
	c->balancer.resolution_w = (int)cfg_getint(s, "resolution-w");
	c->balancer.offline_profiles = (enum cfg_offline_profiles)get_enum(s,
	    &balancer_sec, "offline-profiles");

	s = t->meter;
	c->meter.type = (enum cfg_meter_type)get_enum(s, &meter_sec, "type");
	get_link(s, &meter_sec, &c->meter.link);
	c->meter.max_age_s = (int)cfg_getint(s, "max-age-s");
	c->meter.poll_interval_ms = (int)cfg_getint(s, "poll-interval-ms");

	s = t->southbound;
	(void)split_listen(cfg_getstr(s, "listen"), c->southbound.listen_host,
	    sizeof(c->southbound.listen_host), &c->southbound.listen_port);
	c->southbound.response_timeout_ms = (int)cfg_getint(s,
	    "response-timeout-ms");
	c->southbound.comm_timeout_s = (int)cfg_getint(s, "comm-timeout-s");
	c->southbound.offline_after_failures = (int)cfg_getint(s,
	    "offline-after-failures");

	c->n_chargers = cfg_size(t->root, "charger");
	c->chargers = xcalloc(c->n_chargers + 1, sizeof(*c->chargers));
	t->chargers = xcalloc(c->n_chargers + 1, sizeof(*t->chargers));
	for (size_t i = 0; i < c->n_chargers; i++) {
		struct cfg_charger *ch = &c->chargers[i];

		s = cfg_getnsec(t->root, "charger", (unsigned)i);
		t->chargers[i] = s;
		strlcpy_ok(ch->name, cfg_title(s), sizeof(ch->name));
		ch->model = (enum cfg_model)get_enum(s, &charger_sec, "model");
		get_link(s, &charger_sec, &ch->link);
		ch->connectors = (int)cfg_getint(s, "connectors");
		ch->phases = get_enum(s, &charger_sec, "phases") == 0 ? 1 : 3;
		ch->wired_phase = (enum cfg_phase)get_enum(s, &charger_sec,
		    "wired-phase");
		ch->max_power_w = get_w(s, "max-power-kw");
		ch->offline_power_w = get_w(s, "offline-power-kw");
		get_str(s, "circuit", ch->circuit, sizeof(ch->circuit));
		ch->circuit_index = -1;
		ch->control_unit = (enum cfg_control_unit)get_enum(s,
		    &charger_sec, "control-unit");
		ch->word_order = (enum cfg_word_order)get_enum(s, &charger_sec,
		    "word-order");
	}

	get_str(t->store, "path", c->store.path, sizeof(c->store.path));
	c->log.level = (enum log_level)get_enum(t->log, &log_sec, "level");
	c->log.to_syslog = get_enum(t->log, &log_sec, "target") == 1;
}

/* ---------------------------------------------------------------------
 * Cross-field checks (DOMAIN.md §2)
 */

/* Short-hand for a cross-check error about one option of one section. */
#define XERR(sec, sd, opt, value, why, ...) \
	opt_error(ctx, line_of(ctx, (sec), (opt)), (sd), cfg_title(sec), \
	    (opt), (value), (why), __VA_ARGS__)

/* Checks the site's circuits: names, parents, no loops, limits. */
static void
check_circuits(struct load_ctx *ctx, struct tree *t, struct cfg *c)
{
	for (size_t i = 0; i < c->site.n_circuits; i++) {
		struct cfg_circuit *ci = &c->site.circuits[i];
		cfg_t *cs = t->circuits[i];

		check_name(ctx, cs, &circuit_sec);
		if (ci->max_current_a > c->site.main_breaker_a &&
		    !is_bad(ctx, cs, "max-current-a")) {
			char v[16];

			snprintf(v, sizeof(v), "%d", ci->max_current_a);
			XERR(cs, &circuit_sec, "max-current-a", v,
			    "above the main breaker", "at most %d A "
			    "(site.main-breaker-a)", c->site.main_breaker_a);
		}
		if (ci->parent[0] == '\0')
			continue;
		for (size_t j = 0; j < c->site.n_circuits; j++)
			if (strcmp(c->site.circuits[j].name, ci->parent) == 0)
				ci->parent_index = (int)j;
		if (ci->parent_index < 0)
			XERR(cs, &circuit_sec, "parent", ci->parent,
			    "no such circuit", "the name of a circuit defined "
			    "in site, or \"\" for the main connection");
	}
	/* A parent chain longer than the number of circuits is a loop. */
	for (size_t i = 0; i < c->site.n_circuits; i++) {
		int k = (int)i;
		size_t steps = 0;

		while (k >= 0 && steps <= c->site.n_circuits) {
			k = c->site.circuits[k].parent_index;
			steps++;
		}
		if (k >= 0) {
			XERR(t->circuits[i], &circuit_sec, "parent",
			    c->site.circuits[i].parent, "circuits form a loop",
			    "a chain of parents that ends at the main "
			    "connection");
			continue;
		}
		k = c->site.circuits[i].parent_index;
		if (k >= 0 && c->site.circuits[i].max_current_a >
		    c->site.circuits[k].max_current_a) {
			char v[16];

			snprintf(v, sizeof(v), "%d",
			    c->site.circuits[i].max_current_a);
			XERR(t->circuits[i], &circuit_sec, "max-current-a", v,
			    "above its parent circuit", "at most %d A (circuit "
			    "'%s')", c->site.circuits[k].max_current_a,
			    c->site.circuits[k].name);
		}
	}
}

/* One Modbus endpoint for the uniqueness and bus checks. */
struct endpoint {
	const struct cfg_link *link;
	cfg_t *sec;
	const struct sec_def *sd;
	const char *who; /* "meter" or "charger[NAME]" */
};

/* Checks that devices sharing a TCP endpoint or an RS-485 bus have
 * distinct unit ids, and that devices on one bus agree on its settings. */
static void
check_buses(struct load_ctx *ctx, const struct endpoint *ep, size_t n)
{
	static const char *const parity_names[] = { "none", "even", "odd" };

	for (size_t i = 0; i < n; i++) {
		const struct cfg_link *a = ep[i].link;

		for (size_t j = 0; j < i; j++) {
			const struct cfg_link *b = ep[j].link;
			char v[32];
			bool same;

			if (a->kind != b->kind || a->kind == CFG_LINK_TCP_LISTEN)
				continue;
			if (a->kind == CFG_LINK_TCP)
				same = strcmp(a->host, b->host) == 0 &&
				    a->port == b->port;
			else
				same = strcmp(a->device, b->device) == 0;
			if (!same)
				continue;
			if (a->unit_id == b->unit_id &&
			    !is_bad(ctx, ep[i].sec, "unit-id")) {
				snprintf(v, sizeof(v), "%d", a->unit_id);
				opt_error(ctx, line_of(ctx, ep[i].sec, "unit-id"),
				    ep[i].sd, cfg_title(ep[i].sec), "unit-id", v,
				    "already used on this link", "a unit id not "
				    "used by %s on %s%s%s", ep[j].who,
				    a->kind == CFG_LINK_TCP ? a->host : a->device,
				    a->kind == CFG_LINK_TCP ? ":" : "",
				    a->kind == CFG_LINK_TCP ? "port" : "");
			}
			if (a->kind != CFG_LINK_RTU)
				continue;
			if (a->baud != b->baud) {
				snprintf(v, sizeof(v), "%d", a->baud);
				opt_error(ctx, line_of(ctx, ep[i].sec, "baud"),
				    ep[i].sd, cfg_title(ep[i].sec), "baud", v,
				    "differs on one bus", "%d, as %s on %s",
				    b->baud, ep[j].who, a->device);
			}
			if (a->parity != b->parity)
				opt_error(ctx, line_of(ctx, ep[i].sec, "parity"),
				    ep[i].sd, cfg_title(ep[i].sec), "parity",
				    parity_names[a->parity], "differs on one bus",
				    "%s, as %s on %s", parity_names[b->parity],
				    ep[j].who, a->device);
			if (a->stop_bits != b->stop_bits) {
				snprintf(v, sizeof(v), "%d", a->stop_bits);
				opt_error(ctx, line_of(ctx, ep[i].sec,
				    "stop-bits"), ep[i].sd, cfg_title(ep[i].sec),
				    "stop-bits", v, "differs on one bus",
				    "%d, as %s on %s", b->stop_bits, ep[j].who,
				    a->device);
			}
			break; /* one report per device is enough */
		}
	}
}

/* Checks that a link has what its kind needs. */
static void
check_link(struct load_ctx *ctx, cfg_t *sec, const struct sec_def *sd,
    const struct cfg_link *l)
{
	if (l->kind == CFG_LINK_TCP && l->host[0] == '\0')
		XERR(sec, sd, "host", "", "empty for link tcp",
		    "a host name or address");
	if (l->kind == CFG_LINK_RTU && l->device[0] == '\0')
		XERR(sec, sd, "device", "", "empty for link rtu",
		    "a serial device such as /dev/ttyUSB0");
	if (l->kind == CFG_LINK_TCP_LISTEN && l->serial[0] == '\0')
		XERR(sec, sd, "serial", "", "empty for link tcp-listen",
		    "the serial number the charger reports");
}

/* Checks each charger against its model, the site and the circuits. */
static void
check_chargers(struct load_ctx *ctx, struct tree *t, struct cfg *c)
{
	long offline_sum_w = 0;
	bool offline_reported = false;
	char v[64], a[32];
	/* chargers per circuit, [0] = the main connection */
	int *on_circuit = xcalloc(c->site.n_circuits + 1, sizeof(int));

	if (c->n_chargers == 0)
		add_error(ctx, 0, "option 'charger': no charger defined: "
		    "allowed 1..%d charger \"NAME\" { ... } sections",
		    CFG_MAX_CHARGERS);
	else if (c->n_chargers > CFG_MAX_CHARGERS)
		add_error(ctx, sec_line(ctx, t->chargers[CFG_MAX_CHARGERS]),
		    "option 'charger': %zu chargers defined: allowed "
		    "1..%d", c->n_chargers, CFG_MAX_CHARGERS);

	for (size_t i = 0; i < c->n_chargers; i++) {
		struct cfg_charger *ch = &c->chargers[i];
		cfg_t *s = t->chargers[i];
		int cmin, cmax, pmin_w;

		check_name(ctx, s, &charger_sec);

		cfg_model_connectors(ch->model, &cmin, &cmax);
		if ((ch->connectors < cmin || ch->connectors > cmax) &&
		    !is_bad(ctx, s, "connectors") && !is_bad(ctx, s, "model")) {
			snprintf(v, sizeof(v), "%d", ch->connectors);
			XERR(s, &charger_sec, "connectors", v, "not available "
			    "on this model", "%d..%d for %s", cmin, cmax,
			    cfg_model_name(ch->model));
		}
		if (ch->model == CFG_MODEL_DC && ch->phases != 3 &&
		    !is_bad(ctx, s, "phases"))
			XERR(s, &charger_sec, "phases", "1", "DC chargers take "
			    "three phases", "3 for autel-dc");
		if (ch->phases == 3 && (c->site.distribution == CFG_DIST_1PH_TN ||
		    c->site.distribution == CFG_DIST_1PH_IT))
			XERR(s, &charger_sec, "phases", "3", "a three-phase "
			    "charger on a single-phase site", "1 when "
			    "site.distribution is 1-phase-tn or 1-phase-it");

		pmin_w = ch->phases == 1 ? c->balancer.min_power_1ph_w :
		    c->balancer.min_power_3ph_w;
		if (!is_bad(ctx, s, "max-power-kw") && !is_bad(ctx, s, "model")) {
			int max_w = 0;

			if (ch->model != CFG_MODEL_DC)
				max_w = ch->phases == 1 ? 7400 : 22000;
			fmt_kw(ch->max_power_w, v, sizeof(v));
			if (max_w > 0 && ch->max_power_w > max_w)
				XERR(s, &charger_sec, "max-power-kw", v, "above "
				    "what an AC charger delivers", "at most %s "
				    "kW for a %d-phase AC charger",
				    fmt_kw(max_w, a, sizeof(a)), ch->phases);
			else if (ch->max_power_w < pmin_w)
				XERR(s, &charger_sec, "max-power-kw", v, "below "
				    "the minimum charging power", "at least %s "
				    "kW (balancer.min-power-%dph-kw)",
				    fmt_kw(pmin_w, a, sizeof(a)), ch->phases);
		}
		if (ch->offline_power_w > ch->max_power_w &&
		    !is_bad(ctx, s, "offline-power-kw") &&
		    !is_bad(ctx, s, "max-power-kw"))
			XERR(s, &charger_sec, "offline-power-kw",
			    fmt_kw(ch->offline_power_w, v, sizeof(v)),
			    "above the charger's maximum power", "at most %s kW "
			    "(max-power-kw)", fmt_kw(ch->max_power_w, a,
			    sizeof(a)));

		offline_sum_w += ch->offline_power_w;
		if (!offline_reported && offline_sum_w >
		    c->site.available_power_w &&
		    !is_bad(ctx, t->site, "available-power-kw")) {
			char b[32];

			offline_reported = true;
			XERR(s, &charger_sec, "offline-power-kw",
			    fmt_kw(ch->offline_power_w, v, sizeof(v)),
			    "the chargers' offline powers add up to more than "
			    "the available power", "a total of at most %s kW "
			    "(site.available-power-kw); the sum up to here is "
			    "%s kW", fmt_kw(c->site.available_power_w, a,
			    sizeof(a)), fmt_kw(offline_sum_w, b, sizeof(b)));
		}

		if (ch->circuit[0] != '\0') {
			for (size_t j = 0; j < c->site.n_circuits; j++)
				if (strcmp(c->site.circuits[j].name,
				    ch->circuit) == 0)
					ch->circuit_index = (int)j;
			if (ch->circuit_index < 0)
				XERR(s, &charger_sec, "circuit", ch->circuit,
				    "no such circuit", "the name of a circuit "
				    "defined in site, or \"\" for the main "
				    "connection");
		}
		if (++on_circuit[ch->circuit_index + 1] ==
		    SB_MAX_CHARGERS_PER_CIRCUIT + 1)
			XERR(s, &charger_sec, "circuit", ch->circuit,
			    "one charger too many on this circuit", "at most "
			    "%d chargers per circuit (manual §2.1)",
			    SB_MAX_CHARGERS_PER_CIRCUIT);

		check_link(ctx, s, &charger_sec, &ch->link);
		for (size_t j = 0; j < i; j++) {
			if (ch->link.kind != CFG_LINK_TCP_LISTEN ||
			    c->chargers[j].link.kind != CFG_LINK_TCP_LISTEN ||
			    ch->link.serial[0] == '\0' ||
			    strcmp(ch->link.serial, c->chargers[j].link.serial))
				continue;
			XERR(s, &charger_sec, "serial", ch->link.serial,
			    "already used", "a serial number not used by "
			    "charger '%s'", c->chargers[j].name);
			break;
		}
	}
	free(on_circuit);
}

/* Checks the site's power figures against the chargers. */
static void
check_power(struct load_ctx *ctx, struct tree *t, struct cfg *c)
{
	long sum_pmin_w = 0;
	int n_1ph = 0, n_3ph = 0, phases;
	long breaker_w;
	char v[32], a[32], p1[32], p3[32];

	if (is_bad(ctx, t->site, "available-power-kw") ||
	    !find_note(ctx, t->site, "available-power-kw"))
		return;
	fmt_kw(c->site.available_power_w, v, sizeof(v));
	for (size_t i = 0; i < c->n_chargers; i++) {
		if (c->chargers[i].phases == 1) {
			n_1ph++;
			sum_pmin_w += c->balancer.min_power_1ph_w;
		} else {
			n_3ph++;
			sum_pmin_w += c->balancer.min_power_3ph_w;
		}
	}
	if (c->n_chargers > 0 && c->site.available_power_w <= sum_pmin_w)
		XERR(t->site, &site_sec, "available-power-kw", v,
		    "not above the chargers' minimum charging power",
		    "more than %s kW (%d single-phase x %s kW + %d three-phase "
		    "x %s kW)", fmt_kw(sum_pmin_w, a, sizeof(a)), n_1ph,
		    fmt_kw(c->balancer.min_power_1ph_w, p1, sizeof(p1)), n_3ph,
		    fmt_kw(c->balancer.min_power_3ph_w, p3, sizeof(p3)));

	phases = c->site.distribution == CFG_DIST_3PH_TN ||
	    c->site.distribution == CFG_DIST_3PH_IT ? 3 : 1;
	breaker_w = (long)c->site.main_breaker_a * c->site.nominal_voltage_v *
	    phases;
	if (c->site.available_power_w > breaker_w &&
	    !is_bad(ctx, t->site, "main-breaker-a"))
		XERR(t->site, &site_sec, "available-power-kw", v,
		    "above what the main breaker carries", "at most %s kW "
		    "(%d A x %d V x %d phase%s)", fmt_kw(breaker_w, a, sizeof(a)),
		    c->site.main_breaker_a, c->site.nominal_voltage_v, phases,
		    phases > 1 ? "s" : "");

	if (c->balancer.offline_meter_power_w > c->site.available_power_w &&
	    !is_bad(ctx, t->balancer, "offline-meter-power-kw"))
		XERR(t->balancer, &balancer_sec, "offline-meter-power-kw",
		    fmt_kw(c->balancer.offline_meter_power_w, a, sizeof(a)),
		    "above the available power", "0..%s kW", v);
	if (c->balancer.offline_site_power_w > c->site.available_power_w &&
	    !is_bad(ctx, t->balancer, "offline-site-power-kw"))
		XERR(t->balancer, &balancer_sec, "offline-site-power-kw",
		    fmt_kw(c->balancer.offline_site_power_w, a, sizeof(a)),
		    "above the available power", "0..%s kW", v);
	/* Fail-safe: a gateway that dies while the backend is away leaves
	 * the chargers on their offline limits, which must fit the cap that
	 * holds then. */
	if (c->balancer.offline_site_power_w > 0 &&
	    !is_bad(ctx, t->balancer, "offline-site-power-kw")) {
		long offline_sum_w = 0;

		for (size_t i = 0; i < c->n_chargers; i++)
			offline_sum_w += c->chargers[i].offline_power_w;
		if (offline_sum_w > c->balancer.offline_site_power_w)
			XERR(t->balancer, &balancer_sec, "offline-site-power-kw",
			    fmt_kw(c->balancer.offline_site_power_w, a,
			    sizeof(a)), "below the chargers' offline powers: "
			    "chargers left on their offline limits could draw "
			    "more than this cap", "at least %s kW (the sum of "
			    "charger offline-power-kw), or lower those",
			    fmt_kw(offline_sum_w, p1, sizeof(p1)));
	}
}

/* Checks the CSMS link: URL scheme against the security profile,
 * identity, password length, certificate files. */
static void
check_csms(struct load_ctx *ctx, struct tree *t, struct cfg *c)
{
	cfg_t *s = t->csms;
	bool tls = strncmp(c->csms.url, "wss://", 6) == 0;
	int prof = c->csms.security_profile;
	size_t plen = strlen(c->csms.password);
	const char *files[] = { "ca-file", "client-cert", "client-key" };
	const char *paths[] = { c->csms.ca_file, c->csms.client_cert,
		c->csms.client_key };

	if (!is_bad(ctx, s, "url") && find_note(ctx, s, "url") &&
	    c->csms.url[0] != '\0') {
		const char *host = tls ? c->csms.url + 6 : c->csms.url + 5;

		if (!tls && strncmp(c->csms.url, "ws://", 5) != 0)
			XERR(s, &csms_sec, "url", c->csms.url, "not a websocket "
			    "URL", "ws://HOST[:PORT]/PATH or wss://...");
		else if (host[0] == '\0' || host[0] == '/')
			XERR(s, &csms_sec, "url", c->csms.url, "no host",
			    "ws://HOST[:PORT]/PATH or wss://...");
		else if (!tls && prof >= 2 && !is_bad(ctx, s,
		    "security-profile"))
			XERR(s, &csms_sec, "url", c->csms.url, "security "
			    "profile 2 and 3 need TLS", "a wss:// URL with "
			    "security-profile = %d", prof);
	}
	/* No url: the gateway runs without a backend (local modes only);
	 * with one, the identity is required. */
	if (c->csms.url[0] != '\0' && !find_note(ctx, s, "identity")) {
		const struct opt_def *od = find_opt(&csms_sec, "identity");
		char *allowed = allowed_text(od);

		opt_error(ctx, sec_line(ctx, s), &csms_sec, cfg_title(s),
		    "identity", NULL, "missing", "%s (required with csms.url)",
		    allowed);
		free(allowed);
	}
	if (!is_bad(ctx, s, "identity") && find_note(ctx, s, "identity")) {
		const char *ok = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU"
		    "VWXYZ0123456789*-_=:+|@.";

		if (c->csms.identity[0] == '\0' ||
		    strspn(c->csms.identity, ok) != strlen(c->csms.identity))
			XERR(s, &csms_sec, "identity", c->csms.identity,
			    "bad identity", "1..48 characters from a-z A-Z "
			    "0-9 * - _ = : + | @ .");
	}
	if (plen > 0 && prof <= 2 && (plen < 16 || plen > 40))
		XERR(s, &csms_sec, "password", "(hidden)", "wrong length",
		    "16..40 characters, or \"\" for none");
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		if (paths[i][0] == '\0') {
			if (prof == 3 && i > 0)
				XERR(s, &csms_sec, files[i], "", "security "
				    "profile 3 needs a client certificate and "
				    "key", "the path of a readable PEM file");
			continue;
		}
		if (access(paths[i], R_OK) != 0) {
			char why[128];

			snprintf(why, sizeof(why), "cannot read: %s",
			    strerror(errno));
			XERR(s, &csms_sec, files[i], paths[i], why,
			    "the path of a readable PEM file");
		}
	}
	if (c->csms.ping_interval_s > 0 &&
	    c->csms.ping_timeout_s >= c->csms.ping_interval_s &&
	    !is_bad(ctx, s, "ping-timeout-s")) {
		char v[16];

		snprintf(v, sizeof(v), "%d", c->csms.ping_timeout_s);
		XERR(s, &csms_sec, "ping-timeout-s", v, "not below the ping "
		    "interval", "1..%d s (less than ping-interval-s)",
		    c->csms.ping_interval_s - 1);
	}
}

/* Runs every cross-field check; errors go to ctx. */
static void
check_all(struct load_ctx *ctx, struct tree *t, struct cfg *c)
{
	struct endpoint *ep;
	size_t n_ep = 0;
	bool meter_used = c->balancer.mode != CFG_BAL_DLB;
	const char *listen = cfg_getstr(t->southbound, "listen");
	char host[CFG_HOST_MAX];
	int port;

	check_required(ctx, t->site, &site_sec);
	check_required(ctx, t->csms, &csms_sec);
	for (size_t i = 0; i < c->site.n_circuits; i++)
		check_required(ctx, t->circuits[i], &circuit_sec);
	for (size_t i = 0; i < c->n_chargers; i++)
		check_required(ctx, t->chargers[i], &charger_sec);

	if (!valid_name(c->site.id))
		XERR(t->site, &site_sec, "id", c->site.id, "bad id", "1..%d "
		    "letters, digits, '-', '_' or '.'", CFG_NAME_MAX - 1);
	check_circuits(ctx, t, c);
	check_chargers(ctx, t, c);
	check_power(ctx, t, c);
	check_csms(ctx, t, c);

	if (meter_used)
		check_link(ctx, t->meter, &meter_sec, &c->meter.link);
	if (listen != NULL && !is_bad(ctx, t->southbound, "listen") &&
	    split_listen(listen, host, sizeof(host), &port) != 0)
		XERR(t->southbound, &southbound_sec, "listen", listen,
		    "not an address and port", "HOST:PORT, [IPV6]:PORT or "
		    ":PORT with PORT 0..65535");

	ep = xcalloc(c->n_chargers + 1, sizeof(*ep));
	if (meter_used || c->meter.link.host[0] != '\0' ||
	    c->meter.link.device[0] != '\0')
		ep[n_ep++] = (struct endpoint){ &c->meter.link, t->meter,
			&meter_sec, "meter" };
	for (size_t i = 0; i < c->n_chargers; i++)
		ep[n_ep++] = (struct endpoint){ &c->chargers[i].link,
			t->chargers[i], &charger_sec, "another charger" };
	check_buses(ctx, ep, n_ep);
	free(ep);
}

/* ---------------------------------------------------------------------
 * Loading
 */

/* Moves the context's errors, sorted by line, into *errors. */
static void
hand_over(struct load_ctx *ctx, struct cfg_errors *errors)
{
	/* Stable order within a line: sort pairs (line, sequence). */
	struct { int line; size_t seq; char *msg; } *tmp;

	tmp = xcalloc(ctx->n_errs + 1, sizeof(*tmp));
	for (size_t i = 0; i < ctx->n_errs; i++) {
		tmp[i].line = ctx->errs[i].line;
		tmp[i].seq = i;
		tmp[i].msg = ctx->errs[i].msg;
	}
	for (size_t i = 1; i < ctx->n_errs; i++) { /* insertion: stable */
		size_t j = i;

		while (j > 0 && tmp[j - 1].line > tmp[j].line) {
			__typeof__(tmp[0]) x = tmp[j];

			tmp[j] = tmp[j - 1];
			tmp[j - 1] = x;
			j--;
		}
	}
	errors->msgs = xrealloc(errors->msgs, (errors->n + ctx->n_errs + 1) *
	    sizeof(*errors->msgs));
	for (size_t i = 0; i < ctx->n_errs; i++)
		errors->msgs[errors->n++] = tmp[i].msg;
	free(tmp);
	free(ctx->errs);
	ctx->errs = NULL;
	ctx->n_errs = 0;
}

int
cfg_load_string(const char *name, const char *text, struct cfg *c,
    struct cfg_errors *errors)
{
	struct load_ctx ctx = { .file = name };
	struct scan sc = { .ctx = &ctx };
	struct tree t = { 0 };
	cfg_opt_t *opts;
	cfg_t *root;
	FILE *fp;
	int rc = CFG_SUCCESS;

	memset(c, 0, sizeof(*c));
	sc.len = strlen(text);
	sc.buf = xstrdup(text);
	tokenize(&sc);
	(void)walk(&sc, &root_sec, NULL, 0, &(bool){ false });
	for (size_t i = 0; i < sc.n_toks; i++)
		free(sc.toks[i].text);
	free(sc.toks);

	opts = build_opts(&root_sec);
	root = cfg_init(opts, CFGF_NONE);
	free_opts(opts);
	if (root == NULL) {
		free(sc.buf);
		add_error(&ctx, 0, "out of memory");
		hand_over(&ctx, errors);
		return -1;
	}
	cur = &ctx;
	cfg_set_error_function(root, on_confuse_error);
	free(root->filename);
	root->filename = xstrdup(name);
	if (sc.len > 0) {
		fp = fmemopen(sc.buf, sc.len, "r");
		if (fp == NULL) {
			add_error(&ctx, 0, "cannot read: %s", strerror(errno));
			rc = CFG_PARSE_ERROR;
		} else {
			rc = cfg_parse_fp(root, fp);
			fclose(fp);
		}
	}
	free(sc.buf);

	if (rc == CFG_SUCCESS) {
		t.root = root;
		t.site = cfg_getsec(root, "site");
		t.csms = cfg_getsec(root, "csms");
		t.balancer = cfg_getsec(root, "balancer");
		t.meter = cfg_getsec(root, "meter");
		t.southbound = cfg_getsec(root, "southbound");
		t.store = cfg_getsec(root, "store");
		t.log = cfg_getsec(root, "log");
		copy_tree(&t, c);
		check_all(&ctx, &t, c);
		free(t.circuits);
		free(t.chargers);
	}
	cur = NULL;
	cfg_free(root);
	free(ctx.notes);
	for (size_t i = 0; i < ctx.n_seclines; i++)
		free(ctx.seclines[i].title);
	free(ctx.seclines);
	strlcpy_ok(c->path, name, sizeof(c->path));

	if (ctx.n_errs > 0 || rc != CFG_SUCCESS) {
		if (ctx.n_errs == 0)
			add_error(&ctx, 0, "cannot parse");
		hand_over(&ctx, errors);
		cfg_clear(c);
		return -1;
	}
	return 0;
}

int
cfg_load(const char *path, struct cfg *c, struct cfg_errors *errors)
{
	struct load_ctx ctx = { .file = path };
	struct stat st;
	char *text = NULL;
	size_t got = 0;
	int fd, rc;

	memset(c, 0, sizeof(*c));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		add_error(&ctx, 0, "cannot open: %s", strerror(errno));
		goto fail;
	}
	if (fstat(fd, &st) != 0) {
		add_error(&ctx, 0, "cannot stat: %s", strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		add_error(&ctx, 0, "not a regular file: allowed a "
		    "configuration file");
		goto fail;
	}
	if (st.st_size > CFG_FILE_MAX) {
		add_error(&ctx, 0, "too large (%lld bytes): allowed at most "
		    "%d bytes", (long long)st.st_size, CFG_FILE_MAX);
		goto fail;
	}
	text = xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, text + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			add_error(&ctx, 0, "cannot read: %s", strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	text[got] = '\0';
	if (memchr(text, '\0', got) != NULL) {
		add_error(&ctx, 0, "contains a NUL byte: allowed text only");
		goto fail;
	}
	close(fd);
	rc = cfg_load_string(path, text, c, errors);
	free(text);
	return rc;

fail:
	if (fd >= 0)
		close(fd);
	free(text);
	hand_over(&ctx, errors);
	return -1;
}

void
cfg_clear(struct cfg *c)
{
	free(c->site.circuits);
	free(c->chargers);
	memset(c, 0, sizeof(*c));
}

void
cfg_errors_free(struct cfg_errors *errors)
{
	for (size_t i = 0; i < errors->n; i++)
		free(errors->msgs[i]);
	free(errors->msgs);
	errors->msgs = NULL;
	errors->n = 0;
}

/* ---------------------------------------------------------------------
 * Names and printing
 */

/* The n-th word of a "a|b|c" list, copied into buf.  Returns buf. */
static const char *
choice_name(const char *choices, int n, char *buf, size_t len)
{
	const char *p = choices;

	for (int i = 0; i < n && p != NULL; i++) {
		p = strchr(p, '|');
		if (p != NULL)
			p++;
	}
	if (p == NULL) {
		strlcpy_ok(buf, "?", len);
		return buf;
	}
	snprintf(buf, len, "%.*s", (int)strcspn(p, "|"), p);
	return buf;
}

const char *
cfg_model_name(enum cfg_model model)
{
	static const char *const names[] = {
		[CFG_MODEL_AC_WALLBOX] = "autel-ac-wallbox",
		[CFG_MODEL_AC_COMPACT] = "autel-ac-compact",
		[CFG_MODEL_AC_ULTRA] = "autel-ac-ultra",
		[CFG_MODEL_SINGLE] = "autel-single",
		[CFG_MODEL_DC] = "autel-dc",
	};

	return (size_t)model < ARRAY_SIZE(names) ? names[model] : "?";
}

const char *
cfg_link_kind_name(enum cfg_link_kind kind)
{
	switch (kind) {
	case CFG_LINK_TCP:
		return "tcp";
	case CFG_LINK_TCP_LISTEN:
		return "tcp-listen";
	case CFG_LINK_RTU:
		return "rtu";
	}
	return "?";
}

const char *
cfg_balancer_mode_name(enum cfg_balancer_mode mode)
{
	switch (mode) {
	case CFG_BAL_DLB:
		return "dlb";
	case CFG_BAL_ALM:
		return "alm";
	case CFG_BAL_PV:
		return "pv";
	}
	return "?";
}

void
cfg_model_connectors(enum cfg_model model, int *min, int *max)
{
	enum sb_model m = SB_MODEL_AC_WALLBOX;

	/* the southbound's register tables are the one source of truth */
	(void)sb_model_parse(cfg_model_name(model), &m);
	*min = 1;
	*max = sb_model_max_connectors(m);
}

/* Prints key = "value" with quotes and backslashes escaped. */
static void
put_str(FILE *fp, int indent, const char *key, const char *value)
{
	fprintf(fp, "%*s%s = \"", indent, "", key);
	for (const char *p = value; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fputc('\\', fp);
		fputc(*p, fp);
	}
	fputs("\"\n", fp);
}

/* Prints key = N. */
static void
put_int(FILE *fp, int indent, const char *key, long value)
{
	fprintf(fp, "%*s%s = %ld\n", indent, "", key, value);
}

/* Prints key = kW from a value in W. */
static void
put_kw(FILE *fp, int indent, const char *key, long w)
{
	char b[32];

	fprintf(fp, "%*s%s = %s\n", indent, "", key, fmt_kw(w, b, sizeof(b)));
}

/* Prints an enumerated option by index. */
static void
put_enum(FILE *fp, int indent, const char *key, const char *choices, int i)
{
	char b[64];

	put_str(fp, indent, key, choice_name(choices, i, b, sizeof(b)));
}

/* Prints the link options of a meter or charger. */
static void
put_link(FILE *fp, const struct cfg_link *l)
{
	put_str(fp, 8, "link", cfg_link_kind_name(l->kind));
	switch (l->kind) {
	case CFG_LINK_TCP:
		put_str(fp, 8, "host", l->host);
		put_int(fp, 8, "port", l->port);
		break;
	case CFG_LINK_TCP_LISTEN:
		put_str(fp, 8, "serial", l->serial);
		break;
	case CFG_LINK_RTU:
		put_str(fp, 8, "device", l->device);
		put_int(fp, 8, "baud", l->baud);
		put_enum(fp, 8, "parity", parity_choices, (int)l->parity);
		put_int(fp, 8, "stop-bits", l->stop_bits);
		break;
	}
	put_int(fp, 8, "unit-id", l->unit_id);
}

void
cfg_dump(const struct cfg *c, FILE *fp)
{
	fprintf(fp, "# effective settings from %s (units as in the file)\n",
	    c->path);
	fprintf(fp, "site {\n");
	put_str(fp, 8, "id", c->site.id);
	put_enum(fp, 8, "distribution", dist_choices,
	    (int)c->site.distribution);
	put_int(fp, 8, "nominal-voltage-v", c->site.nominal_voltage_v);
	put_int(fp, 8, "main-breaker-a", c->site.main_breaker_a);
	put_kw(fp, 8, "available-power-kw", c->site.available_power_w);
	for (size_t i = 0; i < c->site.n_circuits; i++) {
		const struct cfg_circuit *ci = &c->site.circuits[i];

		fprintf(fp, "        circuit \"%s\" {\n", ci->name);
		put_int(fp, 16, "max-current-a", ci->max_current_a);
		put_str(fp, 16, "parent", ci->parent);
		fprintf(fp, "        }\n");
	}
	fprintf(fp, "}\n\ncsms {\n");
	put_str(fp, 8, "url", c->csms.url);
	put_enum(fp, 8, "ocpp-version", version_choices,
	    (int)c->csms.ocpp_version);
	put_str(fp, 8, "identity", c->csms.identity);
	put_int(fp, 8, "security-profile", c->csms.security_profile);
	fprintf(fp, "        # password: %s\n", c->csms.password[0] != '\0' ?
	    "set (not shown)" : "not set");
	put_str(fp, 8, "ca-file", c->csms.ca_file);
	put_str(fp, 8, "client-cert", c->csms.client_cert);
	put_str(fp, 8, "client-key", c->csms.client_key);
	put_int(fp, 8, "heartbeat-interval-s", c->csms.heartbeat_interval_s);
	put_int(fp, 8, "retry-backoff-min-s", c->csms.retry_backoff_min_s);
	put_int(fp, 8, "retry-backoff-random-s",
	    c->csms.retry_backoff_random_s);
	put_int(fp, 8, "retry-backoff-repeat", c->csms.retry_backoff_repeat);
	put_int(fp, 8, "ping-interval-s", c->csms.ping_interval_s);
	put_int(fp, 8, "ping-timeout-s", c->csms.ping_timeout_s);
	fprintf(fp, "}\n\nbalancer {\n");
	put_enum(fp, 8, "mode", mode_choices, (int)c->balancer.mode);
	put_enum(fp, 8, "pv-mode", pv_choices, (int)c->balancer.pv_mode);
	put_int(fp, 8, "reserve-pct", c->balancer.reserve_pct);
	put_kw(fp, 8, "min-power-1ph-kw", c->balancer.min_power_1ph_w);
	put_kw(fp, 8, "min-power-3ph-kw", c->balancer.min_power_3ph_w);
	put_kw(fp, 8, "offline-meter-power-kw",
	    c->balancer.offline_meter_power_w);
	put_kw(fp, 8, "offline-site-power-kw", c->balancer.offline_site_power_w);
	put_int(fp, 8, "offline-site-delay-s", c->balancer.offline_site_delay_s);
	put_int(fp, 8, "resolution-w", c->balancer.resolution_w);
	put_enum(fp, 8, "offline-profiles", offline_profiles_choices,
	    (int)c->balancer.offline_profiles);
	fprintf(fp, "}\n\nmeter {\n");
	put_enum(fp, 8, "type", meter_choices, (int)c->meter.type);
	put_link(fp, &c->meter.link);
	put_int(fp, 8, "max-age-s", c->meter.max_age_s);
	put_int(fp, 8, "poll-interval-ms", c->meter.poll_interval_ms);
	fprintf(fp, "}\n\nsouthbound {\n");
	fprintf(fp, "        listen = \"%s%s%s:%d\"\n",
	    strchr(c->southbound.listen_host, ':') ? "[" : "",
	    c->southbound.listen_host,
	    strchr(c->southbound.listen_host, ':') ? "]" : "",
	    c->southbound.listen_port);
	put_int(fp, 8, "response-timeout-ms", c->southbound.response_timeout_ms);
	put_int(fp, 8, "comm-timeout-s", c->southbound.comm_timeout_s);
	put_int(fp, 8, "offline-after-failures",
	    c->southbound.offline_after_failures);
	fprintf(fp, "}\n");
	for (size_t i = 0; i < c->n_chargers; i++) {
		const struct cfg_charger *ch = &c->chargers[i];

		fprintf(fp, "\ncharger \"%s\" {\n", ch->name);
		put_str(fp, 8, "model", cfg_model_name(ch->model));
		put_link(fp, &ch->link);
		put_int(fp, 8, "connectors", ch->connectors);
		put_int(fp, 8, "phases", ch->phases);
		if (ch->phases == 1)
			put_enum(fp, 8, "wired-phase", phase_choices,
			    (int)ch->wired_phase);
		put_kw(fp, 8, "max-power-kw", ch->max_power_w);
		put_kw(fp, 8, "offline-power-kw", ch->offline_power_w);
		put_str(fp, 8, "circuit", ch->circuit);
		put_enum(fp, 8, "control-unit", control_choices,
		    (int)ch->control_unit);
		put_enum(fp, 8, "word-order", words_choices, (int)ch->word_order);
		fprintf(fp, "}\n");
	}
	fprintf(fp, "\nstore {\n");
	put_str(fp, 8, "path", c->store.path);
	fprintf(fp, "}\n\nlog {\n");
	put_str(fp, 8, "level", log_level_name(c->log.level));
	put_str(fp, 8, "target", c->log.to_syslog ? "syslog" : "stderr");
	fprintf(fp, "}\n");
}
