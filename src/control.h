/* The control socket: a Unix stream socket on the event loop speaking
 * one JSON request per line and one JSON reply per line (docs/control.md).
 * Requests: status, explain.  Nothing here blocks. */
#ifndef EDGE_CONTROL_H
#define EDGE_CONTROL_H

#include <stddef.h>

struct daemon;
struct control;

/* Largest request line, bytes (newline excluded). */
#define CONTROL_REQUEST_MAX 4096

/* Binds path (creating its directory when missing, replacing a stale
 * socket, refusing a live one), mode 0660, and watches it on d's loop.
 * Returns the server, or NULL with *cause (caller frees). */
struct control *control_start(struct daemon *d, const char *path,
    char **cause);
/* Closes every connection and the socket, and removes the socket file. */
void control_stop(struct control *c);

/* Answers one request line (without its newline): the reply line, without
 * its newline.  Caller frees.  Also used by the tests. */
char *control_handle(struct daemon *d, const char *line, size_t len);

#endif
