/* Small utilities shared by every module. */
#define _GNU_SOURCE
#include "common/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/timex.h>
#include <unistd.h>

static void
out_of_memory(size_t size)
{
	fprintf(stderr, "out of memory (allocating %zu bytes)\n", size);
	abort();
}

void *
xmalloc(size_t size)
{
	void *p = malloc(size == 0 ? 1 : size);
	if (p == NULL)
		out_of_memory(size);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size);
	if (p == NULL)
		out_of_memory(n * size);
	return p;
}

void *
xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size == 0 ? 1 : size);
	if (p == NULL)
		out_of_memory(size);
	return p;
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s);
	if (p == NULL)
		out_of_memory(strlen(s) + 1);
	return p;
}

int
xasprintf(char **out, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(out, fmt, ap);
	va_end(ap);
	if (n < 0)
		out_of_memory(0);
	return n;
}

static int64_t
clock_ms(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
mono_now_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

int64_t
wall_now_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}

bool
system_clock_synchronised(void)
{
	struct timex tx;
	int state;

	memset(&tx, 0, sizeof(tx));	/* modes 0: read only */
	state = adjtimex(&tx);
	if (state == -1)
		return true;	/* cannot tell: trust it */
	return state != TIME_ERROR && (tx.status & STA_UNSYNC) == 0;
}

char *
format_rfc3339(int64_t epoch_ms, char *buf, size_t len)
{
	time_t secs = (time_t)(epoch_ms >= 0 ? epoch_ms / 1000 : (epoch_ms - 999) / 1000);
	int millis = (int)(epoch_ms - (int64_t)secs * 1000);
	struct tm tm;
	char date[24];

	gmtime_r(&secs, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03dZ", date, millis);
	return buf;
}

int
parse_rfc3339(const char *s, int64_t *epoch_ms)
{
	struct tm tm;
	const char *p;
	int64_t frac_ms = 0;

	memset(&tm, 0, sizeof(tm));
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (p == NULL)
		return -1;
	if (*p == '.') {
		int digits = 0;
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9') {
			if (digits < 3) {
				frac_ms = frac_ms * 10 + (*p - '0');
				digits++;
			}
			p++;
		}
		while (digits++ < 3)
			frac_ms *= 10;
	}
	int64_t offset_s = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1, hh, mm;
		if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2 || hh > 23 || mm > 59)
			return -1;
		offset_s = sign * (hh * 3600 + mm * 60);
		p += 6;
	} else {
		return -1;
	}
	if (*p != '\0')
		return -1;
	time_t t = timegm(&tm);
	*epoch_ms = ((int64_t)t - offset_s) * 1000 + frac_ms;
	return 0;
}

bool
strlcpy_ok(char *dst, const char *src, size_t len)
{
	size_t n = strlen(src);
	if (len == 0)
		return false;
	if (n >= len) {
		memcpy(dst, src, len - 1);
		dst[len - 1] = '\0';
		return false;
	}
	memcpy(dst, src, n + 1);
	return true;
}

int
unlink_if_type(const char *path, unsigned file_type)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	if ((st.st_mode & S_IFMT) != file_type) {
		errno = EEXIST;
		return -1;
	}
	return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
}

size_t
utf8_seq_len(const unsigned char *p, size_t n)
{
	size_t len;
	unsigned char lo = 0x80, hi = 0xBF;

	if (n == 0)
		return 0;
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xC2 && p[0] <= 0xDF)
		len = 2;
	else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
		len = 3;
		if (p[0] == 0xE0)
			lo = 0xA0;
		else if (p[0] == 0xED)
			hi = 0x9F;
	} else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
		len = 4;
		if (p[0] == 0xF0)
			lo = 0x90;
		else if (p[0] == 0xF4)
			hi = 0x8F;
	} else
		return 0;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
	return len;
}

char *
utf8_copy(char *dst, size_t size, const char *src)
{
	const unsigned char *p = (const unsigned char *)src;
	size_t n = strlen(src), o = 0;

	if (size == 0)
		return dst;
	while (n > 0) {
		size_t k = utf8_seq_len(p, n);

		if (k == 0) {	/* not UTF-8: one '?' per bad byte */
			if (o + 1 >= size)
				break;
			dst[o++] = '?';
			p++;
			n--;
			continue;
		}
		if (o + k >= size)	/* cut before a whole character */
			break;
		memcpy(dst + o, p, k);
		o += k;
		p += k;
		n -= k;
	}
	dst[o] = '\0';
	return dst;
}
