/* The daemon: option parsing, start-up in dependency order, the event loop
 * and an orderly stop.  main.c only calls daemon_main(). */
#ifndef EDGE_DAEMON_H
#define EDGE_DAEMON_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "site/site.h"

struct lws;
struct lws_context;
struct sb;
struct store;
struct control;

/* Exit codes of ocpp-edged. */
#define DAEMON_EXIT_OK 0     /* stopped on SIGTERM/SIGINT, or config valid */
#define DAEMON_EXIT_CONFIG 1 /* configuration invalid or start-up failed */
#define DAEMON_EXIT_USAGE 2  /* bad command line */

/* A descriptor watched by the loop (a raw-file wsi of libwebsockets):
 * cb gets the lws callback reason (LWS_CALLBACK_RAW_RX_FILE, ..._WRITEABLE_
 * FILE, ..._CLOSE_FILE); a negative return closes it. */
struct daemon_fd {
	int (*cb)(struct daemon_fd *df, struct lws *wsi, int reason);
	struct lws *wsi;
	void *arg;
};

/* Everything the running daemon owns.  It lives on main()'s stack and is
 * touched only from the event-loop thread.  Modules are added here and to
 * the step table in daemon.c, in dependency order. */
struct daemon {
	const char *config_path;
	const char *control_path;
	struct cfg cfg;
	struct lws_context *lws; /* the one event loop */
	int stop_signal;         /* the signal that asked us to stop, or 0 */
	int64_t started_ms;      /* monotonic */
	int64_t started_epoch_ms;

	struct store *store;
	int64_t queue_dropped_seen; /* drops already logged */
	/* settings in force and where each came from (true = backend) */
	struct site_lb lb;
	bool lb_backend[16];
	struct site site;
	bool site_ready;

	struct sb *sb;
	struct daemon_fd sb_watch;
	struct sb_charger_reading *take_buf; /* n_chargers */
	struct site_write *writes;           /* n_conns */
	bool run_scheduled;
	int64_t last_poll_now_ms;

	struct control *control;
};

/* Watches fd on the loop with df (its cb and arg set by the caller).
 * Returns 0, or -1 when libwebsockets refuses it. */
int daemon_watch_fd(struct daemon *d, int fd, struct daemon_fd *df);

/* Arms the timer for the next change of a charging profile (epoch ms;
 * -1 = none). */
void daemon_profile_timer(struct daemon *d, int64_t next_epoch_ms);

/* Stops the loop and executes the daemon again (backend Reset). */
void daemon_restart(struct daemon *d);

/* Asks for one balancer run on the loop soon; calls coalesce. */
void daemon_schedule_run(struct daemon *d);

/* Runs ocpp-edged with its command line; returns the process exit code. */
int daemon_main(int argc, char **argv);

#endif
