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
	struct cfg cfg;          /* in force: the file's, or its file-only
				  * sections with the backend's site */
	struct cfg file_cfg;     /* the file as read */
	char *site_text;         /* the backend's site in force; NULL: the
				  * file's */
	int site_version;        /* of site_text; else the last one pushed */
	int64_t site_set_epoch_ms; /* when site_text was pushed */
	struct svc_timer *apply_timer; /* a new site once answered */
	struct cfg next_site;    /* the site to build then ... */
	bool next_site_pending;  /* ... when true; else a restart */
	struct lws_context *lws; /* the one event loop */
	struct services svc;     /* what the loop offers the services */
	int stop_signal;         /* the signal that asked us to stop, or 0 */
	bool restart_requested;  /* a backend Reset: execute again */
	int restart_retries;     /* ResetRetries: after a failed exec */
	bool log_level_fixed;    /* --log-level or --debug: a reload keeps it */
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
	struct sb_charger_reading *take_buf; /* TAKE_BATCH */
	struct site_write *writes;           /* n_conns */
	struct site_phase_cmd *phase_cmds;   /* n_chargers */
	int64_t last_poll_now_ms;
	int64_t next_sample_ms; /* monotonic: the next history sample */
	int64_t next_trim_ms; /* monotonic: the next malloc_trim */

	struct cloud *cloud;
	struct control *control;
	struct http *http;
};

/* Runs ocpp-edged with its command line; returns the process exit code. */
int daemon_main(int argc, char **argv);

/* The load-balancing settings in force (daemon.c): the file's values with
 * the backend's overrides layered on; backend[i] says which. */
int daemon_settings_layer(struct daemon *d, struct site_lb *lb,
    bool *backend, char **cause);

/* Makes next (owned: emptied here) the configuration in force without a
 * restart: the site model is built again; the chargers (and the meter)
 * whose sections did not change keep their Modbus links, setpoints and
 * latest readings (sb_restart); the backend session goes on over the new
 * connectors (cloud_site_changed); the control socket and the dashboard
 * stay.  0, or -1 with *cause: then the session and the southbound are
 * stopped and the caller restarts the daemon. */
int daemon_site_rebuild(struct daemon *d, struct cfg *next, char **cause);

/* ---- ops.c: what operators change on the running daemon ---- */

struct json_t;
/* control_sources.reload: the file read again; the result, or NULL with
 * *error (every error; the running configuration stays). */
struct json_t *ops_reload(void *ud, char **error);
/* control_sources.set_local_cap: connector k's local override, kept in
 * the store, and a run. */
int ops_set_local_cap(void *ud, int k, int32_t cap_w, int64_t until_ms,
    char **cause);
/* Makes next (owned) the running configuration: the load-balancing
 * settings live (logged after who), the rest listed in the result's
 * restart_needed; NULL with *error. */
struct json_t *ops_apply(struct daemon *d, struct cfg *next, const char *who,
    char **error);
/* The headers of the sections that differ between the running
 * configuration and next other than by the live settings: what only a
 * restart applies.  Caller frees. */
struct json_t *ops_restart_needed(struct daemon *d, struct cfg *next);
/* cfg as --check-config prints it.  Caller frees. */
char *ops_dump_text(const struct cfg *cfg);
/* Appends to out the headers of the dump sections of b ("charger
 * \"bay1\"") whose text is not in a. */
void ops_changed_sections(const char *a, const char *b, struct json_t *out);
/* At start: the kept overrides that have not ended. */
int ops_local_caps_load(struct daemon *d, char **cause);
/* Lifts the overrides whose time is up (housekeeping). */
void ops_local_caps_expire(struct daemon *d);

/* ---- provision.c: the site configuration from the backend ---- */

/* At start, once the store is open: the backend's site kept in the store
 * replaces the file's (unless csms.allow-remote-site = false). */
int provision_load(struct daemon *d, char **cause);
/* services.site_config: Set/Get/RevertSiteConfiguration. */
enum svc_transfer provision_site_config(void *ud, const char *message_id,
    const char *data, char **reply);
/* services.site_origin. */
void provision_site_origin(void *ud, const char **source, int *version,
    int64_t *set_epoch_ms);
/* The first OCPP id each charger of c had when the site was last built
 * (kept by charger name in the store; 0 = none), for cfg_assign_ids.
 * Caller frees. */
int *provision_ids_kept(struct daemon *d, const struct cfg *c);
/* Keeps the site's connector ids in the store by charger name (not in
 * provisioning mode: the ids of before are kept for the next site). */
void provision_ids_save(struct daemon *d);
/* Refuses next when a connector with an open transaction would get
 * another OCPP id: the backend would see its transaction move.  (A
 * connector that leaves the site has its transaction ended instead.)
 * 0, or -1 with *why (caller frees). */
int provision_check_ids(struct daemon *d, const struct cfg *next,
    char **why);
/* Ends the transactions of the connectors that leave the site with next,
 * with their last readings, before the site changes; logged after who. */
void provision_end_removed(struct daemon *d, const struct cfg *next,
    const char *who);
/* Logs after who what differs between the site in force and next: each
 * charger added, removed or changed, the mode, the other sections. */
void provision_log_changes(struct daemon *d, const struct cfg *next,
    const char *who);

#endif
