/* Logging: one formatted line per call, written with a single write so
 * lines from link workers do not interleave. */
#include "common/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

static const char *const known_tokens[] = {
	"ocpp", "sb", "bal", "store", "cfg", "ctl", "http", "sim", "main",
};
#define N_TOKENS (sizeof(known_tokens) / sizeof(known_tokens[0]))

static struct {
	const char *ident;
	enum log_level level;
	bool to_syslog;
	bool all_tokens;
	bool some_tokens; /* any token chosen; none = every token */
	bool token_on[N_TOKENS];
} logger = { "ocpp-edge", LOG_LEVEL_INFO, false, false, false, { false } };

static const char *const level_names[] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARNING] = "warning",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

void
log_init(const char *ident, enum log_level level, bool to_syslog)
{
	logger.ident = ident;
	logger.level = level;
	if (logger.to_syslog && !to_syslog)
		closelog();
	logger.to_syslog = to_syslog;
	if (to_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_set_level(enum log_level level)
{
	logger.level = level;
}

enum log_level
log_get_level(void)
{
	return logger.level;
}

void
log_finalise(void)
{
	if (logger.to_syslog)
		closelog();
	logger.to_syslog = false;
}

int
log_level_parse(const char *name, enum log_level *level)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*level = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

const char *
log_level_name(enum log_level level)
{
	if ((size_t)level < sizeof(level_names) / sizeof(level_names[0]))
		return level_names[level];
	return "?";
}

int
log_enable_tokens(const char *csv, char **cause)
{
	char *copy = xstrdup(csv), *save = NULL;
	int rc = 0;

	for (char *tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		size_t i;
		if (strcmp(tok, "all") == 0) {
			logger.all_tokens = true;
			logger.some_tokens = true;
			continue;
		}
		for (i = 0; i < N_TOKENS; i++)
			if (strcmp(tok, known_tokens[i]) == 0)
				break;
		if (i == N_TOKENS) {
			if (cause != NULL)
				xasprintf(cause, "unknown debug token '%s' (known: all, %s)",
				    tok, LOG_TOKENS);
			rc = -1;
			break;
		}
		logger.token_on[i] = true;
		logger.some_tokens = true;
	}
	free(copy);
	return rc;
}

bool
log_debug_enabled(const char *token)
{
	if (logger.level < LOG_LEVEL_DEBUG)
		return false;
	if (logger.all_tokens || !logger.some_tokens)
		return true;
	for (size_t i = 0; i < N_TOKENS; i++)
		if (strcmp(token, known_tokens[i]) == 0)
			return logger.token_on[i];
	return false;
}

static void
emit(enum log_level level, const char *token, int errnum, const char *fmt,
    va_list ap)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char msg[2048];
	size_t n;
	int w;

	w = vsnprintf(msg, sizeof(msg), fmt, ap);
	n = w < 0 ? 0 : ((size_t)w >= sizeof(msg) ? sizeof(msg) - 1 : (size_t)w);
	if (errnum != 0)
		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(errnum));

	if (logger.to_syslog) {
		if (token != NULL)
			syslog(prio[level], "[%s] %s", token, msg);
		else
			syslog(prio[level], "%s", msg);
		return;
	}

	char line[2200], stamp[32];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	w = snprintf(line, sizeof(line), "%s.%03ldZ %s %s%s%s%s: %s\n", stamp,
	    ts.tv_nsec / 1000000L, logger.ident, level_names[level],
	    token != NULL ? " [" : "", token != NULL ? token : "",
	    token != NULL ? "]" : "", msg);
	if (w < 0)
		return;
	n = (size_t)w >= sizeof(line) ? sizeof(line) - 1 : (size_t)w;
	if ((size_t)w >= sizeof(line))
		line[n - 1] = '\n';
	/* One write per line; a short write to stderr is not worth a retry. */
	ssize_t unused = write(STDERR_FILENO, line, n);
	(void)unused;
}

#define DEFINE_LOG(name, lvl, with_errno)                            \
	void name(const char *fmt, ...)                                \
	{                                                              \
		int saved = errno;                                     \
		va_list ap;                                            \
		if (logger.level < (lvl))                            \
			return;                                        \
		va_start(ap, fmt);                                     \
		emit((lvl), NULL, (with_errno) ? saved : 0, fmt, ap); \
		va_end(ap);                                            \
		errno = saved;                                         \
	}

DEFINE_LOG(log_warn, LOG_LEVEL_WARNING, 1)
DEFINE_LOG(log_warnx, LOG_LEVEL_WARNING, 0)
DEFINE_LOG(log_error, LOG_LEVEL_ERROR, 1)
DEFINE_LOG(log_errorx, LOG_LEVEL_ERROR, 0)
DEFINE_LOG(log_info, LOG_LEVEL_INFO, 0)

void
log_debug(const char *token, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	if (!log_debug_enabled(token))
		return;
	va_start(ap, fmt);
	emit(LOG_LEVEL_DEBUG, token, 0, fmt, ap);
	va_end(ap);
	errno = saved;
}

char *
log_escape(const char *in, size_t in_len, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (len == 0)
		return buf;
	for (size_t i = 0; i < in_len; i++) {
		unsigned char c = (unsigned char)in[i];
		char tmp[4];
		size_t k = 0;
		if (c == '"' || c == '\\') {
			tmp[k++] = '\\';
			tmp[k++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			tmp[k++] = '\\';
			tmp[k++] = 'x';
			tmp[k++] = hex[c >> 4];
			tmp[k++] = hex[c & 15];
		} else {
			tmp[k++] = (char)c;
		}
		if (o + k + 4 > len) {
			/* Room is kept for "..." and the terminator. */
			if (len >= 4) {
				memcpy(buf + (o + 4 > len ? len - 4 : o), "...", 3);
				o = (o + 4 > len ? len - 4 : o) + 3;
			}
			break;
		}
		memcpy(buf + o, tmp, k);
		o += k;
	}
	buf[o < len ? o : len - 1] = '\0';
	return buf;
}
