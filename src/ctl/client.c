/* The client side of the control socket: one JSON request per line, one
 * JSON reply per line, several requests per connection (docs/control.md). */
#include "config.h"

#include "ctl/ctl.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/util.h"

struct ctl_conn {
	int fd;
	char *path;
	char *buf;    /* bytes received and not yet consumed */
	size_t len;
	size_t cap;
};

/* Maps a client error to the process exit code. */
int
ctl_exit_code(int err)
{
	switch ((enum ctl_err)err) {
	case CTL_OK:
		return CTL_EXIT_OK;
	case CTL_ERR_NOT_RUNNING:
		return CTL_EXIT_NOT_RUNNING;
	case CTL_ERR_ACCESS:
		return CTL_EXIT_ACCESS;
	case CTL_ERR_PROTOCOL:
		return CTL_EXIT_PROTOCOL;
	case CTL_ERR_REFUSED:
	case CTL_ERR_IO:
		return CTL_EXIT_ERROR;
	case CTL_ERR_USAGE:
		return CTL_EXIT_USAGE;
	}
	return CTL_EXIT_ERROR;
}

/* Connects to the daemon's socket; *out is the caller's (ctl_close). */
int
ctl_connect(const char *path, struct ctl_conn **out, char **cause)
{
	struct sockaddr_un sun;
	struct ctl_conn *c;
	size_t plen = strlen(path);
	int fd, e;

	*out = NULL;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (plen == 0 || plen >= sizeof(sun.sun_path)) {
		xasprintf(cause, "socket path %s (%zu bytes): allowed 1..%zu "
		    "bytes", plen == 0 ? "is empty" : "too long", plen,
		    sizeof(sun.sun_path) - 1);
		return CTL_ERR_USAGE;
	}
	memcpy(sun.sun_path, path, plen + 1);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		xasprintf(cause, "socket: %s", strerror(errno));
		return CTL_ERR_IO;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		e = errno;
		close(fd);
		switch (e) {
		case ENOENT:
			xasprintf(cause, "daemon not running (no socket at %s)",
			    path);
			return CTL_ERR_NOT_RUNNING;
		case ECONNREFUSED:
			xasprintf(cause, "daemon not running (%s exists but "
			    "nobody listens on it)", path);
			return CTL_ERR_NOT_RUNNING;
		case ENOTDIR:
			xasprintf(cause, "daemon not running (a component of "
			    "%s is not a directory)", path);
			return CTL_ERR_NOT_RUNNING;
		case EACCES:
		case EPERM:
			xasprintf(cause, "permission denied on %s: the socket "
			    "is for the daemon's user and group and root (run "
			    "as one of them, e.g. with sudo)", path);
			return CTL_ERR_ACCESS;
		default:
			xasprintf(cause, "cannot connect to %s: %s", path,
			    strerror(e));
			return CTL_ERR_IO;
		}
	}
	c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	c->path = xstrdup(path);
	*out = c;
	return CTL_OK;
}

/* Closes and frees a connection. */
void
ctl_close(struct ctl_conn *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	free(c->path);
	free(c->buf);
	free(c);
}

/* Writes all of buf; returns 0 or -1 with errno. */
static int
send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads until a whole line is buffered.  Returns the line's length
 * (without '\n', which is replaced by NUL) or a negative ctl_err. */
static int
read_line(struct ctl_conn *c, int timeout_ms, size_t *line_len, char **cause)
{
	int64_t deadline = mono_now_ms() + timeout_ms;

	for (;;) {
		char *nl = c->len > 0 ? memchr(c->buf, '\n', c->len) : NULL;
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		int64_t left;
		ssize_t n;
		int r;

		if (nl != NULL) {
			*nl = '\0';
			*line_len = (size_t)(nl - c->buf);
			return CTL_OK;
		}
		if (c->len >= CTL_MAX_REPLY) {
			xasprintf(cause, "malformed reply from %s: no end of "
			    "line within %u bytes", c->path, CTL_MAX_REPLY);
			return CTL_ERR_PROTOCOL;
		}
		left = deadline - mono_now_ms();
		if (left <= 0) {
			xasprintf(cause, "no answer from %s within %d ms (is the "
			    "daemon stuck?)", c->path, timeout_ms);
			return CTL_ERR_PROTOCOL;
		}
		r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno == EINTR) {
			xasprintf(cause, "interrupted");
			return CTL_ERR_IO;
		}
		if (r < 0) {
			xasprintf(cause, "poll: %s", strerror(errno));
			return CTL_ERR_IO;
		}
		if (r == 0)
			continue;
		if (c->cap - c->len < 4096) {
			c->cap = c->cap == 0 ? 16384 : c->cap * 2;
			c->buf = xrealloc(c->buf, c->cap);
		}
		n = read(c->fd, c->buf + c->len, c->cap - c->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			xasprintf(cause, "cannot read from %s: %s", c->path,
			    strerror(errno));
			return CTL_ERR_IO;
		}
		if (n == 0) {
			xasprintf(cause, "malformed reply from %s: connection "
			    "closed %s", c->path, c->len == 0 ?
			    "without an answer" : "in the middle of a line");
			return CTL_ERR_PROTOCOL;
		}
		c->len += (size_t)n;
	}
}

/* Sends request, waits for its reply; *result is the caller's. */
int
ctl_call(struct ctl_conn *c, json_t *request, int timeout_ms,
    json_t **result, char **cause)
{
	json_error_t jerr;
	json_t *reply, *ok, *res, *err;
	size_t line_len;
	char *text;
	int r;

	*result = NULL;
	text = json_dumps(request, JSON_COMPACT);
	if (text == NULL) {
		xasprintf(cause, "cannot encode the request");
		return CTL_ERR_IO;
	}
	{
		size_t tl = strlen(text);
		char *line = xmalloc(tl + 2);

		memcpy(line, text, tl);
		line[tl] = '\n';
		line[tl + 1] = '\0';
		free(text);
		r = send_all(c->fd, line, tl + 1);
		free(line);
	}
	if (r != 0) {
		if (errno == EPIPE || errno == ECONNRESET) {
			xasprintf(cause, "daemon not running (it closed %s)",
			    c->path);
			return CTL_ERR_NOT_RUNNING;
		}
		xasprintf(cause, "cannot send to %s: %s", c->path,
		    strerror(errno));
		return CTL_ERR_IO;
	}
	r = read_line(c, timeout_ms, &line_len, cause);
	if (r != CTL_OK)
		return r;

	reply = json_loadb(c->buf, line_len, JSON_REJECT_DUPLICATES, &jerr);
	/* Drop the line (and its '\n') from the buffer. */
	memmove(c->buf, c->buf + line_len + 1, c->len - line_len - 1);
	c->len -= line_len + 1;
	if (reply == NULL) {
		xasprintf(cause, "malformed reply from %s: not JSON (%s at "
		    "column %d)", c->path, jerr.text, jerr.column);
		return CTL_ERR_PROTOCOL;
	}
	ok = json_object_get(reply, "ok");
	if (!json_is_object(reply) || !json_is_boolean(ok)) {
		xasprintf(cause, "malformed reply from %s: expected an object "
		    "with a boolean \"ok\"", c->path);
		json_decref(reply);
		return CTL_ERR_PROTOCOL;
	}
	if (!json_is_true(ok)) {
		err = json_object_get(reply, "error");
		xasprintf(cause, "%s", json_is_string(err) ?
		    json_string_value(err) : "the daemon refused the request "
		    "(no reason given)");
		json_decref(reply);
		return CTL_ERR_REFUSED;
	}
	res = json_object_get(reply, "result");
	if (!json_is_object(res)) {
		xasprintf(cause, "malformed reply from %s: \"ok\" without a "
		    "\"result\" object", c->path);
		json_decref(reply);
		return CTL_ERR_PROTOCOL;
	}
	*result = json_incref(res);
	json_decref(reply);
	return CTL_OK;
}

/* One request on a connection of its own. */
int
ctl_request(const char *path, json_t *request, int timeout_ms,
    json_t **result, char **cause)
{
	struct ctl_conn *c;
	int r;

	*result = NULL;
	r = ctl_connect(path, &c, cause);
	if (r != CTL_OK)
		return r;
	r = ctl_call(c, request, timeout_ms, result, cause);
	ctl_close(c);
	return r;
}
