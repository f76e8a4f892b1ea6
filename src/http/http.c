/* The operators' HTTP server: a libwebsockets vhost beside the OCPP
 * client's on the same context, so it runs on the daemon's one loop.
 * Each request is answered in full at once (a page, a JSON document or
 * the metrics, all small) and written out as the socket takes it.
 * Bounds: HTTP_MAX_CONNECTIONS connections, the context's header limit
 * (lws closes a connection whose headers pass it), its timeouts for slow
 * headers, and HTTP_IDLE_S for idle keep-alive connections.  The live
 * status websocket is in live.c. */
#include "config.h"

#include "http/http.h"

#include <jansson.h>
#include <libwebsockets.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "config/config.h"
#include "control.h"
#include "http/http-private.h"

/* Seconds an idle keep-alive connection is kept. */
#define HTTP_IDLE_S 10
/* Bytes written per writable callback. */
#define HTTP_CHUNK 4096

/* One connection's response in progress. */
struct http_sess {
	char *body;          /* the whole response body; NULL = none */
	size_t len, off;
};

/* ---- Responses -------------------------------------------------------- */

/* The challenge of a 401 (RFC 7617). */
static const char realm[] = "Basic realm=\"ocpp-edge\", charset=\"UTF-8\"";

/* Takes body (consumed) as sess's response and writes the headers; the
 * body follows on writable callbacks.  -1 closes the connection. */
static int
respond(struct lws *wsi, struct http_sess *sess, unsigned code,
    const char *type, char *body, bool auth_challenge)
{
	unsigned char buf[LWS_PRE + 1024], *start = &buf[LWS_PRE], *p = start,
	    *end = &buf[sizeof(buf) - 1];
	static const char nosniff[] = "nosniff", nostore[] = "no-store",
	    csp[] = "default-src 'self'; style-src 'self' 'unsafe-inline'";

	free(sess->body);
	sess->body = body;
	sess->len = strlen(body);
	sess->off = 0;
	if (lws_add_http_common_headers(wsi, code, type, sess->len, &p, end) ||
	    lws_add_http_header_by_name(wsi, (const unsigned char *)
	    "cache-control:", (const unsigned char *)nostore,
	    sizeof(nostore) - 1, &p, end) ||
	    lws_add_http_header_by_name(wsi, (const unsigned char *)
	    "x-content-type-options:", (const unsigned char *)nosniff,
	    sizeof(nosniff) - 1, &p, end) ||
	    lws_add_http_header_by_name(wsi, (const unsigned char *)
	    "content-security-policy:", (const unsigned char *)csp,
	    sizeof(csp) - 1, &p, end))
		return -1;
	if (auth_challenge && lws_add_http_header_by_token(wsi,
	    WSI_TOKEN_HTTP_WWW_AUTHENTICATE, (const unsigned char *)realm,
	    sizeof(realm) - 1, &p, end))
		return -1;
	if (lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	lws_callback_on_writable(wsi);
	return 0;
}

/* A short plain-text reason with a 4xx or 5xx code. */
static int
respond_error(struct lws *wsi, struct http_sess *sess, unsigned code,
    const char *reason)
{
	char *body;

	xasprintf(&body, "%u %s\n", code, reason);
	return respond(wsi, sess, code, "text/plain; charset=utf-8", body,
	    code == HTTP_STATUS_UNAUTHORIZED);
}

/* Answers a websocket upgrade without the password: 401 with the
 * challenge (lws_return_http_status() has no room for it) and a short
 * plain-text reason.  1 = answered, -1 closes the connection. */
static int
refuse_upgrade_unauthorised(struct lws *wsi, const char *reason)
{
	unsigned char buf[LWS_PRE + 1024], *start = &buf[LWS_PRE], *p = start,
	    *end = &buf[sizeof(buf) - 1];
	char body[256];
	int n = snprintf(body, sizeof(body), "%u %s\n",
	    HTTP_STATUS_UNAUTHORIZED, reason);

	if (n < 0 || (size_t)n >= sizeof(body) ||
	    lws_add_http_common_headers(wsi, HTTP_STATUS_UNAUTHORIZED,
	    "text/plain; charset=utf-8", (lws_filepos_t)n, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_WWW_AUTHENTICATE,
	    (const unsigned char *)realm, sizeof(realm) - 1, &p, end) ||
	    lws_finalize_http_header(wsi, &p, end) || end - p < n)
		return -1;
	memcpy(p, body, (size_t)n);
	p += n;
	if (lws_write(wsi, start, (size_t)(p - start),
	    LWS_WRITE_HTTP_HEADERS) != (int)(p - start))
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 1;
}

/* Writes the next part of the body; ends the transaction after the last.
 * -1 closes the connection. */
static int
write_body(struct lws *wsi, struct http_sess *sess)
{
	unsigned char buf[LWS_PRE + HTTP_CHUNK];
	size_t n = sess->len - sess->off;
	enum lws_write_protocol wp = LWS_WRITE_HTTP_FINAL;

	if (sess->body == NULL)
		return 0;
	if (n > HTTP_CHUNK) {
		n = HTTP_CHUNK;
		wp = LWS_WRITE_HTTP;
	}
	memcpy(&buf[LWS_PRE], sess->body + sess->off, n);
	if (lws_write(wsi, &buf[LWS_PRE], n, wp) != (int)n)
		return -1;
	sess->off += n;
	if (sess->off < sess->len) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	free(sess->body);
	sess->body = NULL;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* ---- Requests --------------------------------------------------------- */

/* True when the request carries the password (HTTP basic auth, any user
 * name), or none is needed.  Compared in constant time. */
bool
http_authorised(const struct http *h, struct lws *wsi)
{
	char hdr[256], plain[192];
	const char *colon;
	size_t want = strlen(h->password), got;
	unsigned char diff = 0;
	int n;

	if (want == 0)
		return true;
	if (lws_hdr_copy(wsi, hdr, sizeof(hdr),
	    WSI_TOKEN_HTTP_AUTHORIZATION) <= 0 ||
	    strncasecmp(hdr, "Basic ", 6) != 0)
		return false;
	n = lws_b64_decode_string(hdr + 6, plain, sizeof(plain) - 1);
	if (n <= 0)
		return false;
	plain[n] = '\0';
	colon = strchr(plain, ':');
	if (colon == NULL)
		return false;
	colon++;
	got = strlen(colon);
	for (size_t i = 0; i < want; i++)
		diff |= (unsigned char)(h->password[i] ^
		    (i < got ? colon[i] : 0));
	return diff == 0 && got == want;
}

/* A control request's result as JSON text; NULL with *error. */
static char *
api_json(const struct http *h, json_t *req, char **error)
{
	json_t *result = control_request(&h->src, req, error);
	char *out;

	json_decref(req);
	if (result == NULL)
		return NULL;
	out = json_dumps(result, JSON_COMPACT | JSON_REAL_PRECISION(10));
	json_decref(result);
	return out;
}

/* The history request from the query (from, to: epoch ms or RFC 3339;
 * connector).  A number stays a number, anything else a string for the
 * control request to judge. */
static json_t *
history_request(struct lws *wsi)
{
	static const char *const names[] = { "from", "to", "connector" };
	json_t *req = json_pack("{s:s}", "cmd", "history");

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		char key[16], buf[160], *end;
		const char *v;
		long long n;

		snprintf(key, sizeof(key), "%s=", names[i]);
		v = lws_get_urlarg_by_name(wsi, key, buf, sizeof(buf));
		if (v == NULL || *v == '\0')
			continue;
		n = strtoll(v, &end, 10);
		if (i < 2 && *end == '\0' && n > 0)
			json_object_set_new(req, names[i], json_integer(n));
		else
			json_object_set_new(req, names[i], json_string(v));
	}
	return req;
}

/* Answers one GET of path. */
static int
route(struct http *h, struct lws *wsi, struct http_sess *sess,
    const char *path)
{
	static const char json_type[] = "application/json";
	const struct http_asset *a;
	char *body, *error = NULL;

	if (strcmp(path, "/api/status") == 0) {
		body = control_status_text(&h->src, NULL);
	} else if (strncmp(path, "/api/explain/", 13) == 0) {
		if (path[13] == '\0' || strlen(path + 13) > 128)
			return respond_error(wsi, sess, HTTP_STATUS_BAD_REQUEST,
			    "give a connector: /api/explain/N");
		body = api_json(h, json_pack("{s:s, s:s}", "cmd", "explain",
		    "connector", path + 13), &error);
		if (body == NULL) {
			int rc = respond_error(wsi, sess, HTTP_STATUS_NOT_FOUND,
			    error);

			free(error);
			return rc;
		}
	} else if (strcmp(path, "/api/history") == 0) {
		body = api_json(h, history_request(wsi), &error);
		if (body == NULL) {
			int rc = respond_error(wsi, sess, HTTP_STATUS_BAD_REQUEST,
			    error);

			free(error);
			return rc;
		}
	} else if (strcmp(path, "/metrics") == 0) {
		return respond(wsi, sess, HTTP_STATUS_OK,
		    "text/plain; version=0.0.4; charset=utf-8",
		    http_metrics(&h->src), false);
	} else if ((a = http_asset_find(path)) != NULL) {
		body = xmalloc(a->len + 1);
		memcpy(body, a->data, a->len);
		body[a->len] = '\0';
		return respond(wsi, sess, HTTP_STATUS_OK, a->type, body, false);
	} else {
		return respond_error(wsi, sess, HTTP_STATUS_NOT_FOUND,
		    "no such page (try /, /api/status, /api/explain/N, "
		    "/api/history or /metrics)");
	}
	if (body == NULL) {
		int rc = respond_error(wsi, sess,
		    HTTP_STATUS_INTERNAL_SERVER_ERROR, error != NULL ? error :
		    "failed");

		free(error);
		return rc;
	}
	return respond(wsi, sess, HTTP_STATUS_OK, json_type, body, false);
}

/* A new HTTP transaction: checks method, body and credentials, then
 * routes it. */
static int
on_request(struct http *h, struct lws *wsi, struct http_sess *sess,
    const char *path)
{
	if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0)
		return respond_error(wsi, sess, HTTP_STATUS_METHOD_NOT_ALLOWED,
		    "only GET is served");
	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0)
		return respond_error(wsi, sess, HTTP_STATUS_BAD_REQUEST,
		    "a GET takes no body");
	if (!http_authorised(h, wsi))
		return respond_error(wsi, sess, HTTP_STATUS_UNAUTHORIZED,
		    "the password is needed (HTTP basic auth, any user name)");
	return route(h, wsi, sess, path);
}

/* libwebsockets' callback for the vhost's HTTP protocol (live.c has the
 * websocket's). */
static int
on_http(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct lws_vhost *vh = lws_get_vhost(wsi);
	struct http *h = vh != NULL ? lws_vhost_user(vh) : NULL;
	struct http_sess *sess = user;

	(void)len;
	switch (reason) {
	case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
		/* A new connection: past the bound it is closed at once. */
		if (h == NULL || h->n_conns >= HTTP_MAX_CONNECTIONS) {
			log_debug("http", "connection refused: %d open",
			    h != NULL ? h->n_conns : -1);
			return -1;
		}
		return 0;
	case LWS_CALLBACK_WSI_CREATE: /* each accepted one, then ... */
		if (h != NULL)
			h->n_conns++;
		return 0;
	case LWS_CALLBACK_WSI_DESTROY: /* ... once when it goes */
		if (h != NULL)
			h->n_conns--;
		return 0;
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: {
		/* A websocket upgrade: refused with a status and a reason
		 * unless it is a live client's. */
		const char *why = NULL;
		unsigned code = h != NULL ? http_live_admit(h, wsi, &why) :
		    HTTP_STATUS_INTERNAL_SERVER_ERROR;

		if (code == 0)
			return 0;
		log_debug("http", "websocket refused: %u %s", code,
		    why != NULL ? why : "");
		if (code == HTTP_STATUS_UNAUTHORIZED)
			return refuse_upgrade_unauthorised(wsi, why);
		/* No session data yet: lws writes the answer itself. */
		return lws_return_http_status(wsi, code, why) != 0 ? -1 : 1;
	}
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		/* A websocket upgrade without the live subprotocol. */
		log_debug("http", "websocket refused: subprotocol is not %s",
		    HTTP_LIVE_PROTOCOL);
		return -1;
	case LWS_CALLBACK_HTTP:
		if (h == NULL || sess == NULL)
			return -1;
		return on_request(h, wsi, sess, in != NULL ? in : "/");
	case LWS_CALLBACK_HTTP_BODY:
		return 0; /* refused in LWS_CALLBACK_HTTP already */
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return sess != NULL ? write_body(wsi, sess) : -1;
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
	case LWS_CALLBACK_CLOSED_HTTP:
		if (sess != NULL) {
			free(sess->body);
			sess->body = NULL;
		}
		return 0;
	case LWS_CALLBACK_PROTOCOL_DESTROY:
		/* The vhost is going: the last callback of the server. */
		if (h != NULL)
			http_live_finish(h);
		free(h);
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

struct http *
http_start(struct lws_context *lws, const struct control_sources *src,
    char **cause)
{
	const struct cfg *cfg = src->cfg;
	struct lws_context_creation_info info;
	char host[CFG_HOST_MAX];
	struct http *h;
	int port;

	if (cfg_split_listen(cfg->http.listen, host, sizeof(host), &port) !=
	    0) {
		xasprintf(cause, "http: listen '%s' is not HOST:PORT",
		    cfg->http.listen);
		return NULL;
	}
	h = xcalloc(1, sizeof(*h));
	h->src = *src;
	h->lws = lws;
	strlcpy_ok(h->password, cfg->http.password, sizeof(h->password));
	h->protocols[0] = (struct lws_protocols){ "http", on_http,
		sizeof(struct http_sess), 0, 0, NULL, 0 };
	h->protocols[1] = (struct lws_protocols){ HTTP_LIVE_PROTOCOL,
		http_live_callback, http_live_sess_size, 512, 0, NULL, 0 };
	memset(&info, 0, sizeof(info));
	info.vhost_name = "http";
	info.port = port; /* 0: the system picks one */
	info.iface = host[0] != '\0' ? host : NULL;
	info.protocols = h->protocols;
	info.user = h;
	info.keepalive_timeout = HTTP_IDLE_S;
	if (cfg->http.cert[0] != '\0') {
		info.ssl_cert_filepath = cfg->http.cert;
		info.ssl_private_key_filepath = cfg->http.key;
	}
	h->vh = lws_create_vhost(lws, &info);
	if (h->vh == NULL) {
		xasprintf(cause, "http: cannot listen on %s (in use, or not an "
		    "address of this machine%s)", cfg->http.listen,
		    cfg->http.cert[0] != '\0' ? ", or the certificate or key "
		    "does not load" : "");
		free(h);
		return NULL;
	}
	h->port = lws_get_vhost_listen_port(h->vh);
	return h;
}

int
http_port(const struct http *h)
{
	return h->port;
}

void
http_stop(struct http *h)
{
	/* The protocol's destroy callback frees h once the vhost is gone. */
	if (h != NULL)
		lws_vhost_destroy(h->vh);
}
