/* Logging with levels and per-subsystem debug tokens, to stderr or syslog. */
#ifndef EDGE_LOG_H
#define EDGE_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

/* Debug tokens, one per subsystem; `ocpp-edged -d ocpp,sb` (--debug)
 * enables those. */
#define LOG_TOKENS "ocpp, sb, bal, store, cfg, ctl, http, sim, main"

#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Sets where log lines go and how much is printed.  ident names the program
 * in syslog and in front of every stderr line. */
void log_init(const char *ident, enum log_level level, bool to_syslog);
/* Changes the least severe level printed (a reload). */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Closes syslog if it was opened. */
void log_finalise(void);

/* Parses "error", "warning", "info" or "debug"; returns -1 otherwise. */
int log_level_parse(const char *name, enum log_level *level);
const char *log_level_name(enum log_level level);

/* Enables debug output for a comma-separated token list ("all" for every
 * token).  Returns 0, or -1 with *cause set (caller frees) naming the
 * unknown token. */
int log_enable_tokens(const char *csv, char **cause);
/* True when debug lines for this token would be printed: at level debug,
 * for the tokens enabled, or for every token when none was. */
bool log_debug_enabled(const char *token);

/* log_warn appends strerror(errno); the x variants do not. */
void log_warn(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_error(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_errorx(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_info(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_debug(const char *token, const char *fmt, ...) LOG_PRINTF(2, 3);

/* Copies untrusted text into buf (size len) with control and non-ASCII
 * bytes escaped as \xNN and quotes as \", truncating with "..." when it
 * does not fit.  Returns buf. */
char *log_escape(const char *in, size_t in_len, char *buf, size_t len);

#endif
