/* The daemon: option parsing, start-up in dependency order, the event loop
 * and an orderly stop.  main.c only calls daemon_main(). */
#ifndef EDGE_DAEMON_H
#define EDGE_DAEMON_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "services.h"
#include "site/site.h"

struct cloud;
struct control;
struct http;
struct lws_context;
struct sb;
struct store;
struct svc_timer;

/* Exit codes of ocpp-edged. */
#define DAEMON_EXIT_OK 0     /* stopped on SIGTERM/SIGINT, or config valid */
#define DAEMON_EXIT_CONFIG 1 /* configuration invalid or start-up failed */
#define DAEMON_EXIT_USAGE 2  /* bad command line */

/* Everything the running daemon owns.  It lives on main()'s stack and is
 * touched only from the event-loop thread.  Modules are added here and to
 * the step table in daemon.c, in dependency order; each service gets
 * svc (the loop's functions) at creation and never calls back up. */
struct daemon {
	const char *config_path;
	const char *control_path;
	struct cfg cfg;
	struct lws_context *lws; /* the one event loop */
	struct services svc;     /* what the loop offers the services */
	int stop_signal;         /* the signal that asked us to stop, or 0 */
	bool restart_requested;  /* a backend Reset: execute again */
	int64_t started_ms;      /* monotonic */
	int64_t started_epoch_ms;
	struct svc_timer *housekeeping;

	struct store *store;
	int64_t queue_dropped_seen; /* drops already logged */
	struct site site;
	bool site_ready;
	struct svc_timer *balancer_run; /* a run soon */
	struct svc_timer *cap_timer;    /* the caps change on their own */
	bool run_scheduled;

	struct sb *sb;
	struct svc_fd sb_watch;
	struct sb_charger_reading *take_buf; /* n_chargers */
	struct site_write *writes;           /* n_conns */
	int64_t last_poll_now_ms;
	int64_t next_sample_ms; /* monotonic: the next history sample */

	struct cloud *cloud;
	struct control *control;
	struct http *http;
};

/* Runs ocpp-edged with its command line; returns the process exit code. */
int daemon_main(int argc, char **argv);

#endif
