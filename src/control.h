/* The control socket: a Unix stream socket on the event loop speaking
 * one JSON request per line and one JSON reply per line (docs/control.md).
 * Requests: status, explain (now or recorded), history; limit, pause,
 * resume (local overrides); reload.  Nothing here blocks. */
#ifndef EDGE_CONTROL_H
#define EDGE_CONTROL_H

#include <stddef.h>
#include <stdint.h>

struct cfg;
struct cloud;
struct json_t;
struct control;
struct services;
struct site;
struct store;

/* What the replies are made from, all borrowed for the server's life. */
struct control_sources {
	const struct cfg *cfg;
	const struct site *site;   /* read through its reports only */
	struct store *store;       /* queue counts; NULL = none */
	const struct cloud *cloud; /* transaction ids */
	int64_t started_ms;        /* monotonic */
	int64_t started_epoch_ms;
	/* The write verbs' one way in (daemon.c): sets connector k's local
	 * override (cap_w W, 0 = paused, BAL_NO_CAP = lifted) until epoch
	 * until_ms (0 = until lifted), persists it and asks for a run.
	 * 0, or -1 with *cause.  NULL: the write verbs are refused. */
	int (*set_local_cap)(void *ud, int k, int32_t cap_w, int64_t until_ms,
	    char **cause);
	/* Reads the configuration file again (daemon.c): the result of
	 * "reload", or NULL with *error (every error with file:line; the
	 * running configuration stays).  NULL: reload is refused. */
	struct json_t *(*reload)(void *ud, char **error);
	/* Where the site configuration came from (services.site_origin);
	 * NULL: the file. */
	void (*site_origin)(void *ud, const char **source, int *version,
	    int64_t *set_epoch_ms);
	void *ud;
};

/* Largest request line, bytes (newline excluded). */
#define CONTROL_REQUEST_MAX 4096

/* Binds path (creating its directory when missing, replacing a stale
 * socket, refusing a live one), mode 0660, and watches it with svc's
 * watch_fd; src is copied.  Returns the server, or NULL with *cause
 * (caller frees). */
struct control *control_start(const struct services *svc,
    const struct control_sources *src, const char *path, char **cause);
/* Closes every connection and the socket, and removes the socket file. */
void control_stop(struct control *c);

/* Answers one request object (borrowed, {"cmd": ..., args}) from src:
 * the result, or NULL with *error (caller frees either). */
struct json_t *control_request(const struct control_sources *src,
    struct json_t *req, char **error);
/* The "status" result as compact JSON text, made charger by charger
 * without the whole tree; when stable is not NULL, *stable gets the same
 * without the members that move with the clock alone (now, uptime_s, the
 * meter's age_ms, the chargers' offline_since).  Caller frees both; NULL
 * (and *stable untouched) when memory ran out. */
char *control_status_text(const struct control_sources *src, char **stable);
/* Records connector k's setpoint change (its explain now) in the store's
 * history at epoch at_ms; now_ms (monotonic) paces the batch.  A failure
 * is logged. */
void control_record_change(const struct control_sources *src, int k,
    int64_t at_ms, int64_t now_ms);
/* Answers one request line (without its newline) from src: the reply
 * line, without its newline.  Caller frees. */
char *control_handle(const struct control_sources *src, const char *line,
    size_t len);

#endif
