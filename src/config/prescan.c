/* The pre-scan, a workaround for libconfuse 3.3: it miscounts lines after
 * comments (every '#' line adds two), stops at the first unknown option,
 * and silently merges or replaces a repeated section.  Handing it
 * comment-free text in which unknown options are blanked out (newlines
 * kept) gives exact line numbers and lets every error in a file be
 * reported in one run. */
#include "config/config-private.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"

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
	sc->toks = cfg_grow(sc->toks, sc->n_toks, sizeof(*sc->toks));
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
	q = cfg_qname(sd, title, esc);
	if (sd->qname[0] != '\0')
		cfg_add_error(ctx, line, "option '%s': unknown option: allowed in "
		    "%s: %s", q, sd->qname, names);
	else
		cfg_add_error(ctx, line, "option '%s': unknown section: allowed "
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
		od = cfg_find_opt(sd, name);
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
					char *q = cfg_qname(sd, title, od->name);

					cfg_add_error(sc->ctx, line, "option '%s': "
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
			seen = cfg_grow(seen, n_seen, sizeof(*seen));
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
				cfg_add_error(sc->ctx, line, "option '%s': section "
				    "given twice (first at line %d): allowed "
				    "once", od->sec->qname, seen[k].line);
				break;
			}
			if (sub_title != NULL && seen[k].title != NULL &&
			    strcmp(seen[k].title, sub_title) == 0) {
				char esc[96];

				log_escape(sub_title, strlen(sub_title), esc,
				    sizeof(esc));
				cfg_add_error(sc->ctx, line, "option '%s': value "
				    "'%s': duplicate name (first defined at "
				    "line %d): allowed unique %s names",
				    od->sec->qname, esc, seen[k].line,
				    od->name);
				break;
			}
		}
		seen = cfg_grow(seen, n_seen, sizeof(*seen));
		seen[n_seen++] = (struct seen){ od->name, sub_title, line };
		sc->ctx->seclines = cfg_grow(sc->ctx->seclines,
		    sc->ctx->n_seclines, sizeof(*sc->ctx->seclines));
		sc->ctx->seclines[sc->ctx->n_seclines++] = (struct secline){
			od->name, sub_title != NULL ? xstrdup(sub_title) : NULL,
			line };
		sc->i++; /* the opening brace */
		ok = walk(sc, od->sec, sub_title, depth + 1, &sub_closed);
		if (ok && !sub_closed && !sc->unclosed_reported) {
			/* libconfuse accepts a file that ends inside a
			 * section; refuse it. */
			cfg_add_error(sc->ctx, line, "syntax error: section '%s' is "
			    "not closed: allowed a '}' before the end of the "
			    "file", od->sec->qname);
			sc->unclosed_reported = true;
		}
	}
	free(seen);
	return ok;
}

char *
cfg_prescan(struct load_ctx *ctx, const char *text)
{
	struct scan sc = { .ctx = ctx };

	sc.len = strlen(text);
	sc.buf = xstrdup(text);
	tokenize(&sc);
	(void)walk(&sc, &cfg_root_sec, NULL, 0, &(bool){ false });
	for (size_t i = 0; i < sc.n_toks; i++)
		free(sc.toks[i].text);
	free(sc.toks);
	return sc.buf;
}
