/* Inside the backend side (src/cloud/): the object and what each file
 * offers the others.  queue.c keeps the session's durable queue and state
 * in the store, profiles.c the charging profiles (engine, store, caps),
 * commands.c the backend's commands, station.c what is reported upstream,
 * cloud.c the object and its set-up. */
#ifndef EDGE_CLOUD_PRIVATE_H
#define EDGE_CLOUD_PRIVATE_H

#include <libwebsockets.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "balancer/balancer.h"
#include "cloud/cloud.h"
#include "ocpp/ocpp.h"
#include "ocpp/smartcharging.h"
#include "services.h"
#include "site/site.h"

/* Store keys: the session's durable state and the keys it owns that the
 * backend changed (they have no value in the file). */
#define STATE_PREFIX "ocpp.state."
#define CFG_PREFIX "ocpp.config."
/* The connectors the backend made inoperative, kept across restarts
 * (OCPP 1.6 §5.2 / 2.0.1 G03: availability is persistent): a comma list
 * of connector numbers (1-based); absent = all operative. */
#define AVAIL_KEY "ocpp.availability.inoperative"
/* The connectors made inoperative during their transaction: the change
 * applies when it ends (1.6 §5.2 Scheduled, 2.0.1 G03.FR.05). */
#define AVAIL_SCHEDULED_KEY "ocpp.availability.scheduled"

#define MAX_PROTOCOLS 8

/* A local limit told to the backend (limits.c). */
enum cloud_limit_source {
	CLOUD_LIMIT_EMS,   /* the gateway's energy management: shares,
	                    * meter budget, circuits, phases */
	CLOUD_LIMIT_OTHER, /* the operator's local limit or pause */
};
struct cloud_limit {
	enum cloud_limit_source source;
	int32_t limit_w;
	bool grid_critical;
	int64_t until_epoch_ms; /* 0: no end known */
};
/* Per EVSE: what the backend was last told, and when. */
struct cloud_limit_told {
	bool told;              /* a NotifyChargingLimit not yet cleared */
	struct cloud_limit limit;
	bool sent;              /* anything sent since start */
	int64_t last_ms;        /* monotonic, the last frame */
};
/* A new frame only for a change of more than this (percent of the limit
 * told), and at most one per EVSE per interval. */
#define CLOUD_LIMIT_SIGNIFICANCE_PCT 10
#define CLOUD_LIMIT_MIN_INTERVAL_MS 5000

/* A firmware update, per charger (firmware.c). */
enum cloud_fw_step {
	CLOUD_FW_NONE,            /* not part of the update */
	CLOUD_FW_PENDING,         /* the URL not yet queued */
	CLOUD_FW_WRITING,         /* 30002 queued */
	CLOUD_FW_DOWNLOADING,     /* the charger took the URL */
	CLOUD_FW_INSTALLING,      /* status 9 seen, or it restarted */
	CLOUD_FW_INSTALLED,       /* back with another version */
	CLOUD_FW_DOWNLOAD_FAILED,
	CLOUD_FW_INSTALL_FAILED,
};
struct cloud_fw_charger {
	enum cloud_fw_step step;
	int64_t since_ms;         /* monotonic, the step began */
	uint64_t seq;             /* the write's command sequence */
	bool went_away;           /* offline / reconnected since installing */
	char old_version[48];     /* register 130 before the update */
	char name[CFG_NAME_MAX];  /* the charger's, to follow it across a
	                           * site built again */
};
struct cloud_fw {
	bool active;
	bool started;             /* the retrieve time came */
	bool refused;             /* 1.6: DownloadFailed to tell */
	char *url;
	int64_t retrieve_epoch_ms;
	int told;                 /* the last stage told the backend */
	struct cloud_fw_charger *ch; /* n, one per charger of the site */
	int n;
};
/* How long a charger may take to show it installs (status 9 or a
 * restart) after taking the URL, and to come back after that. */
#define CLOUD_FW_DOWNLOAD_MS (15 * 60 * 1000)
#define CLOUD_FW_INSTALL_MS (30 * 60 * 1000)

struct cloud {
	const struct services *svc; /* the loop's, borrowed */
	const struct cfg *cfg;
	struct site *site;
	struct store *store;
	struct sb *sb;               /* NULL: no southbound */
	struct ocpp_callbacks callbacks;
	struct svc_timer *tick;          /* the session's timers, 100 ms */
	struct svc_timer *profile_timer; /* the next change of a profile */
	struct ocpp_settings st;
	char cert_dir[CFG_PATH_MAX + 8]; /* "certs" beside the store */
	struct ocpp_session *s;
	struct ocpp_station station;
	struct cloud_ids ids;        /* site connector k <-> OCPP id */
	struct ocpp_connector *conn; /* ids.max_id + 1, by OCPP id */
	struct ocpp_ext_key ext[16];
	struct lws_protocols protocols[MAX_PROTOCOLS];
	struct sc_set profiles;
	struct sc_connector *scc;    /* ids.max_id, by OCPP id - 1 (the
				      * engine's view) */
	struct cloud_limit_told *limits; /* n_conns: local limits (2.0.1) */
	struct sc_profile **pending; /* n_conns: remote start's TxProfile */
	int n_pending;
	bool *avail_scheduled;       /* n_conns: inoperative at the tx's end */
	struct cloud_fw fw;          /* the firmware update in progress */
	enum sc_version scv;
	bool last_online, last_accepted;
};

/* Asks the loop for a balancer run. */
void cloud_schedule_run(struct cloud *c);

/* ---- queue.c -------------------------------------------------------- */

/* The session's durable queue and state, kept in the store. */
extern const struct ocpp_queue_ops cloud_queue_ops;

/* ---- profiles.c ----------------------------------------------------- */

/* Evaluates the profiles now, hands the caps to the site model and arms
 * the timer for the next change. */
void cloud_apply_profiles(struct cloud *c);
/* Wall time as the OCPP session keeps it (the CSMS's time when the
 * system clock is not trusted): what charging profiles follow. */
int64_t cloud_wall_ms(const struct cloud *c);
/* Loads the stored profiles into the engine's set.  0, or -1 with *cause. */
int cloud_profiles_load(struct cloud *c, char **cause);
/* Installs the TxProfiles of remote starts whose transaction runs now. */
void cloud_install_pending(struct cloud *c);
/* The session's profile_action callback: Set/ClearChargingProfile,
 * GetCompositeSchedule, GetChargingProfiles. */
char *cloud_on_profile_action(void *ud, const char *action,
    const char *payload, enum ocpp_rpc_error *error);

/* ---- commands.c ----------------------------------------------------- */

/* The session's callbacks for the backend's commands (ocpp.h). */
enum ocpp_result cloud_on_remote_start(void *ud, int connector,
    const char *id_token, const char *profile_json);
enum ocpp_result cloud_on_remote_stop(void *ud, int connector);
enum ocpp_result cloud_on_unlock(void *ud, int connector);
enum ocpp_result cloud_on_availability(void *ud, int connector,
    bool operative);
void cloud_on_reset(void *ud, bool hard);
int cloud_on_config_get(void *ud, const struct ocpp_ext_key *k, char *buf,
    size_t len);
enum ocpp_result cloud_on_config_set(void *ud, const struct ocpp_ext_key *k,
    const char *value, char **cause);
void cloud_on_config_changed(void *ud, const char *key16, const char *value);
/* DataTransfer: the gateway's own vendorId "ocpp-edge" goes to the
 * loop's site_config; any other is UnknownVendorId.  Returns the
 * answer's payload (caller frees), or NULL with *error. */
char *cloud_data_transfer(struct cloud *c, const char *payload,
    enum ocpp_rpc_error *error);
/* At start: makes the connectors the backend left inoperative so again,
 * and keeps the changes scheduled for the end of a transaction. */
void cloud_availability_load(struct cloud *c);
/* Applies the scheduled changes whose transaction has ended. */
void cloud_availability_tick(struct cloud *c);

/* ---- limits.c ------------------------------------------------------- */

/* 2.0.1 K12 / K13: tells the backend (NotifyChargingLimit,
 * ClearedChargingLimit) when a local limit starts or stops holding an EVSE
 * below its profiles, or changes significantly; rate-limited per EVSE. */
void cloud_limits_update(struct cloud *c, int64_t now_ms, int64_t epoch_ms);

/* ---- firmware.c ----------------------------------------------------- */

/* The session's update_firmware callback: the chargers whose model has
 * the firmware register get the URL (at retrieve_ms, epoch). */
enum ocpp_result cloud_on_firmware(void *ud, const char *url,
    int64_t retrieve_ms);
/* Follows the update in progress from the chargers' readings and tells
 * the backend each stage (FirmwareStatusNotification). */
void cloud_firmware_tick(struct cloud *c, int64_t now_ms, int64_t epoch_ms);
/* One entry per charger of the site (again after the site was built
 * again): a charger kept by name keeps its step of an update under way;
 * a new one is not part of it. */
void cloud_firmware_resize(struct cloud *c);

/* ---- station.c ------------------------------------------------------ */

/* Creates the station model: the site as connector 0, then each
 * connector, stale until read (the session gives them their last known
 * state). */
void cloud_station_init(struct cloud *c);
/* Fills the station model with the connectors' latest readings. */
void cloud_station_update(struct cloud *c);

#endif
