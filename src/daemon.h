/* The daemon: option parsing, start-up in dependency order, the event loop
 * and an orderly stop.  main.c only calls daemon_main(). */
#ifndef EDGE_DAEMON_H
#define EDGE_DAEMON_H

#include <signal.h>
#include <stdbool.h>

#include "cfg.h"

struct lws_context;

/* Exit codes of ocpp-edged. */
#define DAEMON_EXIT_OK 0     /* stopped on SIGTERM/SIGINT, or config valid */
#define DAEMON_EXIT_CONFIG 1 /* configuration invalid or start-up failed */
#define DAEMON_EXIT_USAGE 2  /* bad command line */

/* Everything the running daemon owns.  It lives on main()'s stack and is
 * touched only from the event-loop thread.  Modules are added here and to
 * the step table in daemon.c, in dependency order. */
struct daemon {
	const char *config_path;
	struct cfg cfg;
	struct lws_context *lws; /* the one event loop */
	int stop_signal;         /* the signal that asked us to stop, or 0 */
};

/* Runs ocpp-edged with its command line; returns the process exit code. */
int daemon_main(int argc, char **argv);

#endif
