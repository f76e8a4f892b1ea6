/* The live status push: a websocket (HTTP_LIVE_PATH, subprotocol
 * HTTP_LIVE_PROTOCOL) on the dashboard's vhost, behind the same password.
 * Each client gets the status at once, then again whenever it changed
 * (looked at every LIVE_MIN_MS, so changes coalesce to at most a few a
 * second) and at least every LIVE_BEAT_MS.  Bounds: LIVE_MAX clients, a
 * small kernel send buffer each, and LIVE_QUEUE updates waiting per
 * client: a client that lets more pile up is dropped, and says so in the
 * log.  The timer runs only while a client is connected. */
#include "config.h"

#include <jansson.h>
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "common/log.h"
#include "common/util.h"
#include "http/http-private.h"

/* Clients at once; more are refused at the upgrade. */
#define LIVE_MAX 8
/* Updates waiting for one client; one more drops it. */
#define LIVE_QUEUE 4
/* How often the status is looked at while a client is connected. */
#define LIVE_MIN_MS 250
/* An unchanged status is sent again after this (the page's sign of life). */
#define LIVE_BEAT_MS 5000
/* The kernel's send buffer per client, bytes (the default grows to MBs). */
#define LIVE_SNDBUF 16384

/* One status document, shared by the clients it is queued for. */
struct http_live_msg {
	int refs;
	size_t len;
	char text[];
};

/* One client (the websocket's per-session data). */
struct http_live {
	struct http_live *next;
	struct http *h;
	struct lws *wsi;
	struct http_live_msg *q[LIVE_QUEUE];
	int head, n;
	bool dropped;
	char peer[64];
};

const size_t http_live_sess_size = sizeof(struct http_live);

static void
msg_unref(struct http_live_msg *m)
{
	if (m != NULL && --m->refs == 0)
		free(m);
}

/* The status now as a message, and in *key the same without the fields
 * that move with the clock alone (caller frees).  NULL when the status
 * cannot be made. */
static struct http_live_msg *
build(const struct http *h, char **key)
{
	struct http_live_msg *m;
	char *text;

	*key = NULL;
	text = control_status_text(&h->src, key);
	if (text == NULL) {
		log_debug("http", "live: no status: out of memory");
		return NULL;
	}
	m = xmalloc(sizeof(*m) + strlen(text) + 1);
	m->refs = 1;
	m->len = strlen(text);
	memcpy(m->text, text, m->len + 1);
	free(text);
	return m;
}

/* Queues m for client c; a client whose queue is full is dropped. */
static void
enqueue(struct http_live *c, struct http_live_msg *m)
{
	if (c->dropped)
		return;
	if (c->n == LIVE_QUEUE) {
		log_warnx("http: live client %s dropped: %d updates not taken "
		    "(a slow or stalled reader)", c->peer, LIVE_QUEUE);
		c->dropped = true;
		c->h->live_dropped++;
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK,
		    LWS_TO_KILL_ASYNC);
		return;
	}
	m->refs++;
	c->q[(c->head + c->n) % LIVE_QUEUE] = m;
	c->n++;
	lws_callback_on_writable(c->wsi);
}

/* Sends the status to every client when it changed, or when the last
 * push is LIVE_BEAT_MS old. */
static void
push(struct http *h, int64_t now_ms)
{
	struct http_live_msg *m;
	char *key = NULL;

	m = build(h, &key);
	if (m == NULL)
		return;
	if (h->last_key != NULL && strcmp(h->last_key, key) == 0 &&
	    now_ms - h->last_push_ms < LIVE_BEAT_MS) {
		free(key);
		msg_unref(m);
		return;
	}
	free(h->last_key);
	h->last_key = key;
	h->last_push_ms = now_ms;
	for (struct http_live *c = h->live; c != NULL; c = c->next)
		enqueue(c, m);
	msg_unref(m);
}

static void
on_tick(lws_sorted_usec_list_t *sul)
{
	struct http *h = lws_container_of(sul, struct http, tick);

	push(h, mono_now_ms());
	if (h->n_live > 0)
		lws_sul_schedule(h->lws, 0, &h->tick, on_tick,
		    (lws_usec_t)LIVE_MIN_MS * LWS_US_PER_MS);
}

/* True when the upgrade's Origin, if any, is the page's own host: a page
 * elsewhere may not read the status with the browser's credentials. */
static bool
same_origin(struct lws *wsi)
{
	char origin[256], host[256];
	const char *o;

	if (lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN) <= 0)
		return true; /* not a browser */
	if (lws_hdr_copy(wsi, host, sizeof(host), WSI_TOKEN_HOST) <= 0)
		return false;
	o = strstr(origin, "://");
	return o != NULL && strcasecmp(o + 3, host) == 0;
}

unsigned
http_live_admit(struct http *h, struct lws *wsi, const char **reason)
{
	char uri[64], proto[128];

	if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0 ||
	    strcmp(uri, HTTP_LIVE_PATH) != 0) {
		*reason = "the only websocket is " HTTP_LIVE_PATH;
		return HTTP_STATUS_NOT_FOUND;
	}
	if (lws_hdr_copy(wsi, proto, sizeof(proto), WSI_TOKEN_PROTOCOL) <= 0 ||
	    strstr(proto, HTTP_LIVE_PROTOCOL) == NULL) {
		*reason = "ask for the subprotocol " HTTP_LIVE_PROTOCOL;
		return HTTP_STATUS_BAD_REQUEST;
	}
	if (!http_authorised(h, wsi)) {
		*reason = "the password is needed (HTTP basic auth, any user "
		    "name)";
		return HTTP_STATUS_UNAUTHORIZED;
	}
	if (!same_origin(wsi)) {
		*reason = "a page of another site may not read the status";
		return HTTP_STATUS_FORBIDDEN;
	}
	if (h->n_live >= LIVE_MAX) {
		*reason = "too many live clients; poll /api/status";
		return HTTP_STATUS_SERVICE_UNAVAILABLE;
	}
	return 0;
}

/* A new client: linked in, a small send buffer, the status at once. */
static void
established(struct http *h, struct http_live *c, struct lws *wsi)
{
	int sndbuf = LIVE_SNDBUF;
	struct http_live_msg *m;
	char *key = NULL;

	memset(c, 0, sizeof(*c));
	c->h = h;
	c->wsi = wsi;
	if (lws_get_peer_simple(wsi, c->peer, sizeof(c->peer)) == NULL)
		strlcpy_ok(c->peer, "(unknown)", sizeof(c->peer));
	else if (strncmp(c->peer, "::ffff:", 7) == 0) /* IPv4 as IPv6 */
		memmove(c->peer, c->peer + 7, strlen(c->peer + 7) + 1);
	(void)setsockopt(lws_get_socket_fd(wsi), SOL_SOCKET, SO_SNDBUF,
	    &sndbuf, sizeof(sndbuf));
	c->next = h->live;
	h->live = c;
	if (h->n_live++ == 0)
		lws_sul_schedule(h->lws, 0, &h->tick, on_tick,
		    (lws_usec_t)LIVE_MIN_MS * LWS_US_PER_MS);
	log_info("http: live client %s connected (%d open)", c->peer,
	    h->n_live);
	m = build(h, &key);
	free(key);
	if (m != NULL) {
		enqueue(c, m);
		msg_unref(m);
	}
}

/* Writes c's oldest update.  -1 closes the connection. */
static int
writeable(struct http_live *c)
{
	struct http_live_msg *m;
	unsigned char *buf;
	int rc;

	if (c->dropped)
		return -1;
	if (c->n == 0)
		return 0;
	m = c->q[c->head];
	buf = xmalloc(LWS_PRE + m->len);
	memcpy(buf + LWS_PRE, m->text, m->len);
	rc = lws_write(c->wsi, buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
	free(buf);
	c->head = (c->head + 1) % LIVE_QUEUE;
	c->n--;
	if (rc < (int)m->len) {
		msg_unref(m);
		return -1;
	}
	msg_unref(m);
	if (c->n > 0)
		lws_callback_on_writable(c->wsi);
	return 0;
}

/* A client goes: unlinked, its queue freed. */
static void
closed(struct http *h, struct http_live *c)
{
	for (struct http_live **p = &h->live; *p != NULL; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			h->n_live--;
			break;
		}
	while (c->n > 0) {
		msg_unref(c->q[c->head]);
		c->head = (c->head + 1) % LIVE_QUEUE;
		c->n--;
	}
	log_info("http: live client %s gone (%d open)", c->peer, h->n_live);
}

int
http_live_callback(struct lws *wsi, enum lws_callback_reasons reason,
    void *user, void *in, size_t len)
{
	struct lws_vhost *vh = lws_get_vhost(wsi);
	struct http *h = vh != NULL ? lws_vhost_user(vh) : NULL;
	struct http_live *c = user;

	(void)in;
	(void)len;
	switch (reason) {
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
		/* Checked before in the HTTP callback, which answers a refusal
		 * with its status; again here, in case. */
		const char *why;

		return h != NULL && http_live_admit(h, wsi, &why) == 0 ? 0 : -1;
	}
	case LWS_CALLBACK_ESTABLISHED:
		if (h == NULL || c == NULL)
			return -1;
		established(h, c, wsi);
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return c != NULL ? writeable(c) : -1;
	case LWS_CALLBACK_RECEIVE:
		return 0; /* the client has nothing to say */
	case LWS_CALLBACK_CLOSED:
		if (h != NULL && c != NULL && c->wsi == wsi)
			closed(h, c);
		return 0;
	case LWS_CALLBACK_WSI_DESTROY:
		/* An upgraded connection ends here, not in the HTTP
		 * protocol's callback: it still counts against the bound. */
		if (h != NULL)
			h->n_conns--;
		return 0;
	default:
		return 0;
	}
}

void
http_live_finish(struct http *h)
{
	lws_sul_cancel(&h->tick);
	free(h->last_key);
	h->last_key = NULL;
}
