/* Small utilities every module may use: allocation that never returns
 * NULL, monotonic and wall clocks, safe string helpers. */
#ifndef EDGE_UTIL_H
#define EDGE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Allocation: abort with a message when memory is exhausted.  Caller frees.
 * Only for sizes the program bounds itself (structs, tables sized by the
 * configuration, buffers under a fixed limit): a size or a count that
 * comes from a frame, a request or a file is allocated with malloc and a
 * failure is answered as an error (docs/architecture.md, "Out of
 * memory"). */
void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
int xasprintf(char **out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Milliseconds on CLOCK_MONOTONIC: for timers and ages, never for dates. */
int64_t mono_now_ms(void);
/* Milliseconds since the Unix epoch (CLOCK_REALTIME): for timestamps sent
 * to the backend or stored. */
int64_t wall_now_ms(void);
/* True unless the kernel says the system clock is not synchronised
 * (adjtimex(2): TIME_ERROR or STA_UNSYNC; never sets anything). */
bool system_clock_synchronised(void);

/* Formats epoch milliseconds as RFC 3339 UTC ("2026-01-02T03:04:05.678Z")
 * into buf (at least 25 bytes).  Returns buf. */
char *format_rfc3339(int64_t epoch_ms, char *buf, size_t len);
/* Parses RFC 3339 / ISO 8601 date-time with 'Z' or a numeric offset, with
 * or without fractional seconds.  Returns 0 and *epoch_ms, or -1. */
int parse_rfc3339(const char *s, int64_t *epoch_ms);

/* Removes path when it is of the file type given (S_IFSOCK for a stale
 * socket, S_IFLNK for a link we made); leaves anything else alone.
 * Returns 0 when path is gone or never existed, or -1 with errno EEXIST
 * when something of another type is there (never remove a user's file or
 * a device because a path option pointed at it), or another errno. */
int unlink_if_type(const char *path, unsigned file_type);

/* Copies src into dst of size len, always terminating; returns true when
 * it fitted without truncation. */
bool strlcpy_ok(char *dst, const char *src, size_t len);

/* Length of the well-formed UTF-8 sequence (RFC 3629: no overlong form,
 * no surrogate, nothing above U+10FFFF) at p, of at most n bytes; 0 when
 * the bytes there are not one. */
size_t utf8_seq_len(const unsigned char *p, size_t n);
/* Copies src into dst (size bytes) as valid UTF-8: each byte that is not
 * part of a well-formed sequence becomes '?', and the text is cut before
 * a character that does not fit whole.  Returns dst. */
char *utf8_copy(char *dst, size_t size, const char *src);

#endif
