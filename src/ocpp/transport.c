/* The websocket client under the session: libwebsockets on the daemon's
 * context, ws:// or wss:// (TLS >= 1.2 with CA verification), HTTP Basic
 * auth (security profiles 1-2), client certificates (profile 3), the
 * ocpp1.6 / ocpp2.0.1 subprotocols, websocket ping/pong via the lws
 * validity policy. */
#include "config.h"

#include <inttypes.h>
#include <libwebsockets.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "ocpp/session-private.h"


static int ocpp_lws_callback(struct lws *wsi, enum lws_callback_reasons reason,
    void *user, void *in, size_t len);

static const struct lws_protocols protocols[] = {
	{ "ocpp1.6", ocpp_lws_callback, 0, 16384, 0, NULL, 0 },
	{ "ocpp2.0.1", ocpp_lws_callback, 0, 16384, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

const struct lws_protocols *
ocpp_lws_protocols(void)
{
	return protocols;
}

/* The client TLS context of the daemon's lws context, once seen: new
 * client certificates and CSMS roots go into it (one session per
 * process). */
static SSL_CTX *client_ctx;

/* The files the context is created with: the CA bundle with the CSMS
 * roots the backend installed, the client certificate it signed. */
static char trust_path[1024], client_path[1024];

void
ocpp_context_info(struct lws_context_creation_info *info,
    const struct ocpp_settings *st)
{
	const char *ca = ocpp_certs_trust_file(st, trust_path,
	    sizeof(trust_path));
	const char *signed_pem = ocpp_certs_client_file(st, client_path,
	    sizeof(client_path));

	/* A context of its own: a client only, no listening socket.  A
	 * daemon that brings its own protocols decides about listening. */
	if (info->protocols == NULL) {
		info->protocols = protocols;
		info->port = CONTEXT_PORT_NO_LISTEN;
	}
	info->options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	if (ca != NULL && ca[0] != '\0')
		info->client_ssl_ca_filepath = ca;
	if (st->security_profile == 3) {
		info->client_ssl_cert_filepath = signed_pem != NULL ?
		    signed_pem : st->client_cert;
		info->client_ssl_private_key_filepath = signed_pem != NULL ?
		    signed_pem : st->client_key;
	}
	/* TLS 1.2 or newer only (2.0.1 A00.FR.318, 1.6 security whitepaper). */
	info->ssl_client_options_set |= SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 |
	    SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1;
}

/* Splits ws[s]://host[:port]/path into the session.  0 or -1. */
static int
parse_url(struct ocpp_session *s, char **cause)
{
	const char *u = s->st.url, *h, *p, *hend;
	char *host;
	int port;

	if (strncmp(u, "ws://", 5) == 0) {
		s->tls = false;
		h = u + 5;
		port = 80;
	} else if (strncmp(u, "wss://", 6) == 0) {
		s->tls = true;
		h = u + 6;
		port = 443;
	} else {
		xasprintf(cause, "csms url \"%s\": must start with ws:// or wss://",
		    u);
		return -1;
	}
	p = strchr(h, '/');
	if (p == NULL)
		p = h + strlen(h);
	if (*h == '[') {	/* [v6]:port */
		hend = memchr(h, ']', (size_t)(p - h));
		if (hend == NULL) {
			xasprintf(cause, "csms url \"%s\": unterminated [", u);
			return -1;
		}
		host = xcalloc(1, (size_t)(hend - h));
		memcpy(host, h + 1, (size_t)(hend - h - 1));
		hend++;
	} else {
		hend = memchr(h, ':', (size_t)(p - h));
		if (hend == NULL)
			hend = p;
		host = xcalloc(1, (size_t)(hend - h) + 1);
		memcpy(host, h, (size_t)(hend - h));
	}
	if (*hend == ':') {
		char *end;
		long v = strtol(hend + 1, &end, 10);

		if (end != p || v < 1 || v > 65535) {
			xasprintf(cause, "csms url \"%s\": port must be 1-65535", u);
			free(host);
			return -1;
		}
		port = (int)v;
	}
	if (host[0] == '\0') {
		xasprintf(cause, "csms url \"%s\": no host", u);
		free(host);
		return -1;
	}
	s->url_host = host;
	s->url_port = port;
	/* URL = <csms url>/<identity>; drop a trailing '/' of the path. */
	{
		size_t plen = strlen(p);

		while (plen > 0 && p[plen - 1] == '/')
			plen--;
		xasprintf(&s->url_path, "%.*s/%s", (int)plen, p, s->st.identity);
	}
	return 0;
}

void
transport_auth_header(struct ocpp_session *s)
{
	if (s->auth_header != NULL) {
		explicit_bzero(s->auth_header, strlen(s->auth_header));
		free(s->auth_header);
		s->auth_header = NULL;
	}
	if (s->st.security_profile <= 2 && s->st.password != NULL &&
	    s->st.password[0] != '\0') {
		size_t ulen = strlen(s->st.identity) + 1 + strlen(s->st.password);
		char *plain = xmalloc(ulen + 1);
		size_t blen = (ulen + 2) / 3 * 4 + 8;
		char *b64 = xmalloc(blen);

		snprintf(plain, ulen + 1, "%s:%s", s->st.identity, s->st.password);
		if (lws_b64_encode_string(plain, (int)ulen, b64, (int)blen) < 0)
			abort();
		xasprintf(&s->auth_header, "Basic %s", b64);
		explicit_bzero(plain, ulen);
		free(plain);
		explicit_bzero(b64, blen);
		free(b64);
	}
}

int
transport_prepare(struct ocpp_session *s, char **cause)
{
	if (parse_url(s, cause) != 0)
		return -1;
	if (s->tls != (s->st.security_profile >= 2)) {
		xasprintf(cause, "security profile %d needs a %s url, got \"%s\"",
		    s->st.security_profile,
		    s->st.security_profile >= 2 ? "wss://" : "ws://", s->st.url);
		return -1;
	}
	transport_auth_header(s);
	return 0;
}

/* ---- the link's log ---- */

/* A warning about a link that stays down is repeated this often. */
#define LINKLOG_REPEAT_MS (5 * 60 * 1000)

/* The URL the session dials, for the log. */
static void
link_url(const struct ocpp_session *s, char *buf, size_t len)
{
	bool v6 = strchr(s->url_host, ':') != NULL;

	snprintf(buf, len, "%s://%s%s%s:%d%s", s->tls ? "wss" : "ws",
	    v6 ? "[" : "", s->url_host, v6 ? "]" : "", s->url_port, s->url_path);
}

/* An attempt to connect failed with why: the link goes down (back-off),
 * the first failure of an episode and any new cause are logged at once,
 * the same cause again every LINKLOG_REPEAT_MS. */
static void
link_failed(struct ocpp_session *s, const char *why)
{
	char url[300];
	int64_t wait_s;
	bool first = !s->linklog.down || s->linklog.attempts == 0;

	session_link_down(s, why);
	wait_s = (s->next_connect_ms - s->now_ms + 999) / 1000;
	if (!s->linklog.down) {
		s->linklog.down = true;
		s->linklog.since_ms = s->now_ms;
	}
	s->linklog.attempts++;
	link_url(s, url, sizeof(url));
	if (first || strcmp(why, s->linklog.why) != 0) {
		log_warnx("cloud: %s: %s: %s (next attempt in %" PRId64 " s)",
		    s->linklog.ever_up ? "not reached" : "not connected yet", url,
		    why, wait_s);
		strlcpy_ok(s->linklog.why, why, sizeof(s->linklog.why));
		s->linklog.logged_ms = s->now_ms;
	} else if (s->now_ms - s->linklog.logged_ms >= LINKLOG_REPEAT_MS) {
		log_warnx("cloud: still not connected after %" PRId64 " min: %s: "
		    "%s (%d attempts)", (s->now_ms - s->linklog.since_ms) / 60000,
		    url, why, s->linklog.attempts);
		s->linklog.logged_ms = s->now_ms;
	}
}

/* The established link ended (closed by either side, or no pong). */
static void
link_lost(struct ocpp_session *s, const char *why)
{
	char url[300];

	session_link_down(s, why);
	link_url(s, url, sizeof(url));
	log_warnx("cloud: connection lost: %s: %s", url, why);
	s->linklog.down = true;
	s->linklog.since_ms = s->now_ms;
	s->linklog.attempts = 0;
	s->linklog.why[0] = '\0';
}

/* The websocket is up: an episode of failures ends. */
static void
link_established(struct ocpp_session *s)
{
	char url[300];

	if (s->linklog.down) {
		link_url(s, url, sizeof(url));
		log_info("cloud: back: connected to %s after %" PRId64 " s "
		    "(%d failed attempt%s)", url,
		    (s->now_ms - s->linklog.since_ms + 500) / 1000,
		    s->linklog.attempts, s->linklog.attempts == 1 ? "" : "s");
	}
	s->linklog.down = false;
	s->linklog.attempts = 0;
	s->linklog.ever_up = true;
	s->linklog.why[0] = '\0';
}

/* The end of a connection, whatever lws called it: a failed attempt
 * while connecting, a lost link once it was up. */
static void
link_ended(struct ocpp_session *s, const char *why)
{
	if (s->link == LINK_UP)
		link_lost(s, why);
	else if (s->link == LINK_CONNECTING)
		link_failed(s, why);
}

/* What went wrong with an attempt, in words an installer can act on:
 * the HTTP answer when the backend refused the websocket upgrade, else
 * lws's own text (in), made plainer where it is terse. */
static void
failure_cause(struct lws *wsi, const char *in, char *buf, size_t len)
{
	char esc[200];
	int status = (int)lws_http_client_http_response(wsi);

	log_escape(in != NULL ? in : "unknown", in != NULL ?
	    strnlen(in, 150) : 7, esc, sizeof(esc));
	switch (status) {
	case 0:
		break;
	case 401:
		snprintf(buf, len, "HTTP 401 Unauthorized: the backend refused "
		    "the identity or password");
		return;
	case 403:
		snprintf(buf, len, "HTTP 403 Forbidden: the backend refused this "
		    "station");
		return;
	case 404:
		snprintf(buf, len, "HTTP 404 Not Found: no OCPP endpoint at this "
		    "url (check csms url and identity)");
		return;
	default:
		snprintf(buf, len, "HTTP %d instead of 101 Switching Protocols: "
		    "the websocket upgrade was refused", status);
		return;
	}
	if (strcmp(esc, "Unable to connect") == 0)
		snprintf(buf, len, "TCP connect failed (connection refused, or "
		    "no route to the host)");
	else if (strstr(esc, "SSL") != NULL || strstr(esc, "tls") != NULL)
		snprintf(buf, len, "TLS handshake failed: %s", esc);
	else if (strncmp(esc, "HS: ", 4) == 0)
		snprintf(buf, len, "websocket upgrade failed: %s", esc + 4);
	else
		snprintf(buf, len, "%s", esc);
}

/* Remembers the client TLS context a connection uses. */
static void
note_ctx(struct lws *wsi)
{
	SSL *ssl = lws_get_ssl(wsi);

	if (ssl != NULL)
		client_ctx = SSL_get_SSL_CTX(ssl);
}

int
transport_client_certificate(const char *dir)
{
	char path[1024];

	if (client_ctx == NULL ||
	    snprintf(path, sizeof(path), "%s/client.pem", dir) >=
	    (int)sizeof(path))
		return -1;
	if (SSL_CTX_use_certificate_chain_file(client_ctx, path) != 1 ||
	    SSL_CTX_use_PrivateKey_file(client_ctx, path,
	    SSL_FILETYPE_PEM) != 1) {
		ERR_clear_error();
		log_warnx("ocpp: the new client certificate could not be "
		    "loaded: used from the next start");
		return -1;
	}
	return 0;
}

void
transport_trust(void *x509)
{
	if (client_ctx != NULL &&
	    X509_STORE_add_cert(SSL_CTX_get_cert_store(client_ctx),
	    x509) != 1)
		ERR_clear_error();	/* already there */
}

/* The CSMS's certificate did not verify: the cause says why (OpenSSL's
 * verify result) and the session hears of it (InvalidCsmsCertificate). */
static void
cert_failure(struct ocpp_session *s, struct lws *wsi, char *why, size_t len)
{
	SSL *ssl = s->tls ? lws_get_ssl(wsi) : NULL;
	long v;

	if (ssl == NULL)
		return;
	client_ctx = SSL_get_SSL_CTX(ssl);
	v = SSL_get_verify_result(ssl);
	if (v == X509_V_OK)
		return;
	snprintf(why, len, "TLS handshake failed: the CSMS certificate did "
	    "not verify: %s (X509_V_ERR %ld)", X509_verify_cert_error_string(v),
	    v);
	session_security_bad_certificate(s, why);
}

void
transport_connect(struct ocpp_session *s)
{
	struct lws_client_connect_info ci;
	static lws_retry_bo_t policy;

	memset(&ci, 0, sizeof(ci));
	ci.context = s->ctx;
	ci.address = s->url_host;
	ci.port = s->url_port;
	ci.path = s->url_path;
	ci.host = s->url_host;
	ci.origin = s->url_host;
	ci.protocol = ocpp_version_subprotocol(s->st.version);
	ci.local_protocol_name = ci.protocol;
	ci.ssl_connection = s->tls ? LCCSCF_USE_SSL : 0;
	ci.opaque_user_data = s;
	ci.pwsi = &s->wsi;
	/* Websocket ping after ping_interval s without traffic, hang up when
	 * nothing proved the link alive ping_timeout s later. */
	if (s->cfg[CI_PING] > 0) {
		memset(&policy, 0, sizeof(policy));
		policy.secs_since_valid_ping = (uint16_t)s->cfg[CI_PING];
		policy.secs_since_valid_hangup =
		    (uint16_t)(s->cfg[CI_PING] + s->st.ping_timeout_s);
		ci.retry_and_idle_policy = &policy;
	}
	s->link = LINK_CONNECTING;
	log_debug("ocpp", "connecting to %s:%d%s (%s)", s->url_host, s->url_port,
	    s->url_path, ci.protocol);
	if (lws_client_connect_via_info(&ci) == NULL) {
		char why[300];

		s->wsi = NULL;
		snprintf(why, sizeof(why), "could not start the connection "
		    "(host name \"%.100s\" not resolved, or no usable address)",
		    s->url_host);
		link_failed(s, why);
	}
}

/* Calls the after_sent hook, once: the queue is written out, or lost
 * with the link. */
static void
sent_out(struct ocpp_session *s)
{
	void (*fn)(void *) = s->after_sent;

	s->after_sent = NULL;
	if (fn != NULL)
		fn(s->after_sent_arg);
}

/* Frees every frame waiting to be written. */
static void
drop_frames(struct ocpp_session *s)
{
	while (s->tx_head != NULL) {
		struct out_frame *f = s->tx_head;

		s->tx_head = f->next;
		free(f->buf);
		free(f);
	}
	s->tx_tail = NULL;
	sent_out(s);
}

int
ocpp_session_after_sent(struct ocpp_session *s, void (*fn)(void *arg),
    void *arg)
{
	if (s == NULL || s->wsi == NULL || s->link != LINK_UP)
		return -1;
	s->after_sent = fn;
	s->after_sent_arg = arg;
	lws_callback_on_writable(s->wsi);
	return 0;
}

void
transport_close(struct ocpp_session *s)
{
	drop_frames(s);
	if (s->wsi != NULL) {
		lws_set_opaque_user_data(s->wsi, NULL);
		lws_set_timeout(s->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
		s->wsi = NULL;
	}
	s->rx_len = 0;
}

void (*transport_tap)(struct ocpp_session *s, const char *text);

void
transport_send(struct ocpp_session *s, const char *text)
{
	struct out_frame *f;
	size_t len = strlen(text);

	if (transport_tap != NULL)
		transport_tap(s, text);
	if (s->wsi == NULL || s->link != LINK_UP)
		return;
	f = calloc(1, sizeof(*f));
	if (f == NULL || (f->buf = malloc(LWS_PRE + len)) == NULL) {
		/* Out of memory: the frame is lost, as on a dropped link; the
		 * backend's call times out or ours is sent again. */
		log_warnx("ocpp: out of memory queueing a %zu-byte frame: "
		    "not sent", len);
		free(f);
		return;
	}
	f->len = len;
	memcpy(f->buf + LWS_PRE, text, len);
	if (s->tx_tail != NULL)
		s->tx_tail->next = f;
	else
		s->tx_head = f;
	s->tx_tail = f;
	lws_callback_on_writable(s->wsi);
}

/* Writes the oldest queued frame; -1 closes the connection. */
static int
write_one(struct ocpp_session *s, struct lws *wsi)
{
	struct out_frame *f = s->tx_head;
	int n;

	if (f == NULL)
		return 0;
	if (log_debug_enabled("ocpp")) {
		char esc[512];

		log_debug("ocpp", "-> %s", log_escape(f->buf + LWS_PRE, f->len,
		    esc, sizeof(esc)));
	}
	/* lws masks the buffer in place: log before. */
	n = lws_write(wsi, (unsigned char *)f->buf + LWS_PRE, f->len,
	    LWS_WRITE_TEXT);
	if (n < (int)f->len)
		return -1;
	s->tx_head = f->next;
	if (s->tx_head == NULL)
		s->tx_tail = NULL;
	free(f->buf);
	free(f);
	if (s->tx_head != NULL)
		lws_callback_on_writable(wsi);
	return 0;
}

/* Collects fragments of one message, then hands it to the session.  A
 * binary message or one longer than OCPP_FRAME_MAX is answered with a
 * CALLERROR from what its start says (the id), never parsed. */
static void
receive(struct ocpp_session *s, struct lws *wsi, const void *in, size_t len)
{
	if (lws_is_first_fragment(wsi)) {
		s->rx_len = 0;
		s->rx_overflow = s->rx_nomem = false;
		s->rx_binary = lws_frame_is_binary(wsi) != 0;
	}
	if (s->rx_len + len > OCPP_FRAME_MAX) {
		/* Keep the start (for the id) and count nothing more. */
		len = OCPP_FRAME_MAX - s->rx_len;
		s->rx_overflow = true;
	}
	if (s->rx_len + len + 1 > s->rx_cap) {	/* even for an empty one */
		size_t cap = s->rx_len + len + 1 + 4096;
		char *rx = realloc(s->rx, cap);

		if (rx == NULL) {
			/* No memory for the rest: answered as too long, from
			 * what is kept (the id is at the start, if any). */
			len = s->rx_cap > 0 ? s->rx_cap - s->rx_len - 1 : 0;
			s->rx_nomem = true;
		} else {
			s->rx = rx;
			s->rx_cap = cap;
		}
	}
	if (len > 0)
		memcpy(s->rx + s->rx_len, in, len);
	s->rx_len += len;
	if (!lws_is_final_fragment(wsi))
		return;
	if (s->rx != NULL)
		s->rx[s->rx_len] = '\0';
	if (s->rx_nomem)
		session_reject_frame(s, "", s->rx != NULL ? s->rx : "",
		    s->rx_len, OCPP_RPC_INTERNAL, "out of memory reading the "
		    "message, not read");
	else if (s->rx_binary)
		session_reject_frame(s, "", s->rx, s->rx_len, OCPP_RPC_FRAMEWORK,
		    "binary frame: OCPP-J messages are text frames");
	else if (s->rx_overflow)
		session_reject_frame(s, "", s->rx, s->rx_len, OCPP_RPC_FORMAT,
		    "message longer than " OCPP_FRAME_MAX_TEXT " bytes, not read");
	else
		session_receive(s, s->rx, s->rx_len);
	s->rx_len = 0;
}

static int
ocpp_lws_callback(struct lws *wsi, enum lws_callback_reasons reason,
    void *user, void *in, size_t len)
{
	struct ocpp_session *s;

	(void)user;
	if (reason == LWS_CALLBACK_OPENSSL_LOAD_EXTRA_CLIENT_VERIFY_CERTS) {
		/* user is the client SSL_CTX of the vhost. */
		if (user != NULL) {
			SSL_CTX_set_min_proto_version((SSL_CTX *)user,
			    TLS1_2_VERSION);
			client_ctx = user;
		}
		return 0;
	}
	s = wsi != NULL ? lws_get_opaque_user_data(wsi) : NULL;
	if (s == NULL)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
		unsigned char **p = in, *end = (*p) + len;

		if (s->auth_header != NULL &&
		    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION,
		    (const unsigned char *)s->auth_header,
		    (int)strlen(s->auth_header), p, end) != 0)
			return -1;
		break;
	}
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		if (s->tls)
			note_ctx(wsi);
		s->wsi = wsi;
		s->link = LINK_UP;
		link_established(s);
		session_link_up(s);
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
		char why[300];

		failure_cause(wsi, in, why, sizeof(why));
		cert_failure(s, wsi, why, sizeof(why));
		lws_set_opaque_user_data(wsi, NULL);
		s->wsi = NULL;
		drop_frames(s);
		link_ended(s, why);
		session_security_refused(s,
		    (int)lws_http_client_http_response(wsi));
		break;
	}
	case LWS_CALLBACK_CLIENT_CLOSED:
		lws_set_opaque_user_data(wsi, NULL);
		s->wsi = NULL;
		drop_frames(s);
		link_ended(s, "connection closed");
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		receive(s, wsi, in, len);
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (write_one(s, wsi) != 0)
			return -1;
		/* The queue is out once lws holds none of it either. */
		if (s->tx_head == NULL && s->after_sent != NULL) {
			if (lws_partial_buffered(wsi))
				lws_callback_on_writable(wsi);
			else
				sent_out(s);
		}
		break;
	case LWS_CALLBACK_WSI_DESTROY:
		if (s->wsi == wsi) {
			s->wsi = NULL;
			drop_frames(s);
			link_ended(s, "connection destroyed");
		}
		break;
	default:
		break;
	}
	return 0;
}
