#define _GNU_SOURCE 1 /* vasprintf */

/* The load context: every error collected with its file and line (tmux
 * style: all of them, not the first), and where each option was read so
 * that the cross-checks can point at it. */
#include "config/config-private.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"

/* Appends "FILE:LINE: <text>" to the context's errors. */
void
cfg_add_error(struct load_ctx *ctx, int line, const char *fmt, ...)
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
	ctx->errs = cfg_grow(ctx->errs, ctx->n_errs, sizeof(*ctx->errs));
	ctx->errs[ctx->n_errs].line = line;
	ctx->errs[ctx->n_errs].msg = msg;
	ctx->n_errs++;
}

/* Remembers that option opt of section sec was read at line. */
struct note *
cfg_add_note(struct load_ctx *ctx, const cfg_t *sec, const char *opt, int line)
{
	struct note *n;

	ctx->notes = cfg_grow(ctx->notes, ctx->n_notes, sizeof(*ctx->notes));
	n = &ctx->notes[ctx->n_notes++];
	n->sec = sec;
	n->opt = opt;
	n->line = line;
	n->bad = false;
	return n;
}

/* The last note about sec/opt, or NULL when the option was not given. */
const struct note *
cfg_find_note(const struct load_ctx *ctx, const cfg_t *sec, const char *opt)
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
int
cfg_sec_line(const struct load_ctx *ctx, cfg_t *sec)
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
int
cfg_line_of(const struct load_ctx *ctx, cfg_t *sec, const char *opt)
{
	const struct note *n = cfg_find_note(ctx, sec, opt);

	return n != NULL ? n->line : cfg_sec_line(ctx, sec);
}

/* True when the option's value was refused already (skip cross-checks). */
bool
cfg_is_bad(const struct load_ctx *ctx, const cfg_t *sec, const char *opt)
{
	const struct note *n = cfg_find_note(ctx, sec, opt);

	return n != NULL && n->bad;
}

/* Qualified option name for messages: "charger[bay1].port".  Caller frees. */
char *
cfg_qname(const struct sec_def *sd, const char *title, const char *opt)
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
void
cfg_opt_error(struct load_ctx *ctx, int line, const struct sec_def *sd,
    const char *title, const char *opt, const char *value, const char *why,
    const char *allowed_fmt, ...)
{
	char esc[160], *q, *allowed;
	va_list ap;

	va_start(ap, allowed_fmt);
	if (vasprintf(&allowed, allowed_fmt, ap) < 0)
		abort();
	va_end(ap);
	q = cfg_qname(sd, title, opt);
	if (value != NULL) {
		log_escape(value, strlen(value), esc, sizeof(esc));
		cfg_add_error(ctx, line, "option '%s': value '%s': %s: allowed %s",
		    q, esc, why, allowed);
	} else
		cfg_add_error(ctx, line, "option '%s': %s: allowed %s", q, why,
		    allowed);
	free(q);
	free(allowed);
}
