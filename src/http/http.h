/* The operators' HTTP server (docs/dashboard.md): a vhost on the daemon's
 * own libwebsockets context serving the dashboard, the JSON API (the
 * control socket's replies), and Prometheus metrics.  Nothing here
 * blocks; every request is answered from the site's reports at once. */
#ifndef EDGE_HTTP_H
#define EDGE_HTTP_H

#include <stddef.h>

struct control_sources;
struct http;
struct lws_context;

/* Connections served at once; more are refused at accept. */
#define HTTP_MAX_CONNECTIONS 32

/* Listens on cfg's http.listen with the context lws (which must not
 * have been created with explicit vhosts only); src is copied and must
 * outlive the server.  Returns the server, or NULL with *cause (caller
 * frees).  A listen of "" is not an error: the caller does not start one. */
struct http *http_start(struct lws_context *lws,
    const struct control_sources *src, char **cause);
/* The port it listens on (the system's choice for port 0). */
int http_port(const struct http *h);
/* Stops listening and frees h (NULL is ignored). */
void http_stop(struct http *h);

/* The Prometheus text exposition of the site now.  Caller frees. */
char *http_metrics(const struct control_sources *src);

#endif
