/* The site model: the configuration, the latest readings and the caps in
 * force, on the event-loop thread.  It translates the configuration into
 * the southbound's and the balancer's structs, folds readings in, composes
 * the site cap (configuration, profile, offline fallback), keeps the
 * chargers' offline limits within that cap (fail-safe), runs the balancer
 * and says which setpoints to write, decreases first.
 *
 * No I/O and no clock: the daemon passes readings and now_ms in and does
 * the writes, so everything here is unit-tested (tests/daemon/test-site.c).
 */
#ifndef EDGE_SITE_H
#define EDGE_SITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "balancer/balancer.h"
#include "config/config.h"
#include "southbound/southbound.h"

/* Where the cap on the site's total came from (status "site_cap.source"). */
enum site_cap_source {
	SITE_CAP_CONFIG,  /* the available power in force */
	SITE_CAP_PROFILE, /* a station-wide charging profile */
	SITE_CAP_OFFLINE, /* the offline-site power (backend unreachable) */
};

/* State of the link to the backend (status "cloud.state"). */
enum site_cloud {
	SITE_CLOUD_DISABLED,   /* no csms url configured */
	SITE_CLOUD_CONNECTING, /* not yet connected since start */
	SITE_CLOUD_CONNECTED,  /* connected and accepted */
	SITE_CLOUD_OFFLINE,    /* was connected, or failed to connect */
};

/* The load-balancing settings in force: the file's values, or the
 * backend's overrides layered on them (keys in site_setting_keys). */
struct site_lb {
	enum cfg_balancer_mode mode;
	enum cfg_pv_mode pv_mode;
	int reserve_pct;
	int available_power_w;
	int min_power_1ph_w;
	int min_power_3ph_w;
	int offline_meter_power_w;
	int offline_site_power_w; /* 0 = the available power applies */
};

/* A load-balancing setting as a store key ("balancer.mode"), with its
 * OCPP names. */
struct site_setting_key {
	const char *key;      /* store key = the file's option */
	const char *key16;    /* 1.6 configuration key */
	const char *variable; /* 2.0.1 variable of component LoadBalancer */
};
extern const struct site_setting_key site_setting_keys[];
extern const size_t site_n_setting_keys;
#define SITE_MAX_SETTINGS 16 /* room for site_n_setting_keys */

/* The household estimate pairs a meter reading taken at t with every
 * online connector's readings from its last one begun SITE_ORDER_MS
 * before t to its first one within SITE_SKEW_MS after it, each bound
 * plus the slowest RS-485 bus's cycle (docs/balancing.md, "One snapshot
 * per cycle"). */
#define SITE_SKEW_MS 500
#define SITE_ORDER_MS 100
/* The charger poll interval without a meter (the southbound's). */
#define SITE_POLL_MS 1000
#define SITE_HISTORY 4 /* readings kept per connector */

/* One connector reading as the site's phases see it. */
struct site_sample {
	int64_t t_ms;       /* when the charger's poll began (monotonic) */
	int32_t power_w;
	int32_t phase_w[BAL_PHASES];  /* on the site's phases */
	int32_t phase_ma[BAL_PHASES];
};

/* One OCPP connector: a charger's connector. */
struct site_conn {
	int charger;       /* index into cfg->chargers */
	int connector;     /* 1..n on its charger */
	int ocpp_id;       /* 1.. by cfg_assign_ids: may leave gaps */
	char label[CFG_NAME_MAX + 12]; /* "bay1/1": name, "/", connector */
	bool submitted;    /* a setpoint was handed to the southbound */
	int32_t written_w; /* last setpoint submitted, W */
	double written_limit; /* the same in the charger's control unit */
	enum bal_reason reason; /* reason of the last setpoint submitted */
	int64_t last_start_ms;  /* when it last entered a demanding state */
	int32_t profile_cap_w;  /* from the connector's profiles, BAL_NO_CAP */
	char profile_detail[96]; /* which profile (for explain), "" none */
	struct site_sample hist[SITE_HISTORY]; /* oldest first */
	int n_hist;
	int32_t local_cap_w;    /* ocpp-edgectl limit / pause, BAL_NO_CAP */
	int64_t local_until_ms; /* epoch ms it ends; 0 = until resume */
	/* DC running energy total as last saved in the store (energy.c) */
	double saved_base_wh, saved_session_wh;
	int64_t saved_ms;
};

/* Automatic 1p <-> 3p switching of one charger (phase.c). */
enum site_phase_step {
	SITE_PH_OFF,     /* not switchable (phase-switching = false) */
	SITE_PH_STEADY,  /* on mem.phases */
	SITE_PH_PAUSING, /* its connectors at 0, waiting for the draw to stop */
	SITE_PH_WRITING, /* 21008 submitted, waiting for it to be read back */
};
#define SITE_PHASE_IDLE_W 10         /* at most this drawn: stopped */
#define SITE_PHASE_TIMEOUT_MS 30000  /* a switch not done by then is
                                      * given up (the dwell still runs) */

struct site_phase {
	enum site_phase_step step;
	struct bal_phase_mem mem; /* the phases in use and the dwell */
	int target;               /* phases being switched to */
	int value;                /* ... as the 21008 value */
	int64_t step_since_ms;    /* when the switch was decided */
	uint64_t seq;             /* its command's sequence, 0 = none yet */
	uint64_t switches;        /* carried out since start */
	uint64_t failures;        /* given up since start */
	char error[128];          /* why the last one was given up, "" */
};

/* A phase switch to write: register 21008 = value on charger. */
struct site_phase_cmd {
	int charger;
	int value;
};

struct site {
	const struct cfg *cfg;
	struct site_lb lb;
	bool lb_backend[SITE_MAX_SETTINGS]; /* setting i was set by the backend */
	/* balancer input */
	struct bal_site bsite;
	struct bal_circuit circuits[BAL_MAX_CIRCUITS];
	int circuit_of_cfg[BAL_MAX_CIRCUITS]; /* cfg circuit i -> bal index */
	struct bal_settings settings;
	struct bal_meter meter;
	struct bal_charger *chargers;    /* n_chargers */
	struct bal_connector *bconns;    /* n_conns */
	struct site_conn *conns;         /* n_conns */
	int n_chargers;
	int n_conns;
	/* balancer output and memory */
	struct bal_conn_out *out;        /* n_conns */
	struct bal_site_out site_out;
	struct bal_state *state;
	struct bal_work *work;
	bool have_run;
	uint64_t runs;
	/* readings as last taken */
	struct sb_charger_reading *readings; /* n_chargers */
	struct sb_meter_reading meter_reading;
	bool meter_used;                 /* alm / pv */
	/* Household load as of the last complete snapshot (a meter reading
	 * and the chargers' readings around it); between snapshots the
	 * balancer sees household + what the chargers measure now, so a
	 * charger reading that lands before the meter's own does not count
	 * twice. */
	int64_t meter_household_w;
	int64_t meter_household_phase_w[BAL_PHASES];
	int64_t meter_household_phase_ma[BAL_PHASES];
	bool meter_household_valid;
	bool household_clamped; /* ALM: the meter read below the chargers' draw */
	bool meter_new;       /* a meter reading waiting for its snapshot */
	struct bal_meter meter_prev; /* that reading */
	int64_t meter_prev_ms;       /* ... taken then (monotonic) */
	uint64_t meter_polls_seen;
	bool meter_online;           /* as last noted by site_note_meter */
	int64_t meter_since_epoch_ms; /* ... since then; 0 = since start */
	uint64_t snapshots;          /* complete snapshots so far */
	uint64_t snapshots_skewed;   /* meter readings dropped: a charger
	                              * read too late around them */
	/* caps */
	int32_t profile_site_cap_w;      /* BAL_NO_CAP when none */
	int64_t profile_site_id;         /* -1 when none */
	enum site_cloud cloud;
	int64_t cloud_since_ms;          /* monotonic, when cloud last changed */
	int64_t cloud_since_epoch_ms;
	int32_t cap_w;                   /* site cap in force */
	enum site_cap_source cap_source;
	bool offline_cap_active;
	/* offline limits (W, per charger) as programmed */
	int32_t *offline_w;
	bool offline_dirty;              /* offline limits to (re)program */
	bool dirty;                      /* an input changed since the last run */
	bool *inoperative;               /* n_conns: made unavailable (backend) */
	struct site_phase *phase;        /* n_chargers */
	int n_phase_pausing;             /* of them in SITE_PH_PAUSING */
	struct bal_phase_conf phase_conf;
	char listen[CFG_HOST_MAX + 16];   /* southbound listen "host:port" */
};

/* Builds the site from cfg (borrowed, must outlive it) with the settings
 * in force lb (NULL = the file's); its connectors' OCPP ids by
 * cfg_assign_ids, kept (NULL = none) being the first id each charger of
 * cfg had before.  Returns 0, or -1 with *cause (caller frees) when the
 * ids do not fit or the balancer refuses the result. */
int site_init(struct site *s, const struct cfg *cfg, const struct site_lb *lb,
    const int *kept, char **cause);
/* Frees what site_init allocated. */
void site_free(struct site *s);

/* The file's load-balancing settings. */
void site_lb_from_cfg(const struct cfg *cfg, struct site_lb *lb);
/* The file's value of setting key i as text ("alm", "40", "4.2"); buf. */
const char *site_lb_format(const struct site_lb *lb, size_t i, char *buf,
    size_t len);
/* Parses value for setting key i into lb after checking its range against
 * the rest of lb and cfg (DOMAIN.md §2).  Returns 0, or -1 with *cause
 * (caller frees): what, the value, the valid range. */
int site_lb_parse(struct site_lb *lb, const struct cfg *cfg, size_t i,
    const char *value, char **cause);
/* Replaces the settings in force (already checked) and marks a run. */
void site_set_lb(struct site *s, const struct site_lb *lb);
/* Records that setting key i in force was set by the backend. */
void site_mark_backend(struct site *s, size_t i);

/* Fills conf (defaults first) and chargers (n_chargers entries, borrowed
 * strings from cfg) for sb_start, with the offline limits in force. */
void site_sb_conf(const struct site *s, struct sb_conf *conf,
    struct sb_charger_conf *chargers);

/* ---- DC energy kept across restarts (energy.c) ---- */
struct store;
/* Fills the chargers' restored running energy totals (models without a
 * cumulative register) from st, where site_energy_save put them. */
void site_energy_restore(struct site *s, struct store *st,
    struct sb_charger_conf *chargers);
/* Saves the running energy totals of charger c's connectors from its
 * latest reading when they changed: a finished session at once, the
 * running session every SITE_ENERGY_SAVE_WH or SITE_ENERGY_SAVE_MS (any
 * change when force, e.g. at stop). */
void site_energy_save(struct site *s, struct store *st, int c,
    int64_t now_ms, bool force);
#define SITE_ENERGY_SAVE_WH 500
#define SITE_ENERGY_SAVE_MS 60000

/* Folds a charger's reading in at now_ms; marks a run when anything the
 * balancer uses changed. */
void site_take_charger(struct site *s, const struct sb_charger_reading *r,
    int64_t now_ms);
/* Folds the meter's reading in. */
void site_take_meter(struct site *s, const struct sb_meter_reading *m);
/* After site_take_meter: notes epoch_ms as the time the meter came
 * online or went offline, when it just did. */
void site_note_meter(struct site *s, int64_t epoch_ms);

/* Completes the snapshot of the latest meter reading (taken at t) once
 * every online charger was read after it.  A connector drew something
 * between its last reading begun SITE_ORDER_MS before t (a poll begun
 * closer may have read its registers after the meter's) and its first
 * one begun at or after t, through the readings between; of the
 * household loads that allows (meter total less the chargers' draws),
 * the estimate is the one closest to the last estimate: a car ramping up
 * or down around t is not taken for household load, and a real change
 * shows in full once the cars' readings around the meter's agree.  A
 * charger first read after t + SITE_SKEW_MS drops the meter reading (the
 * estimate stays).  In ALM an estimate below 0 is clamped to 0 and
 * flagged (household_clamped).  Returns true when a new estimate was
 * made: the control cycle's allocation is due. */
bool site_take_household(struct site *s);

/* The slowest online RS-485 bus's cycle (the time it takes to give each
 * of its devices a turn), ms; 0 without one. */
int64_t site_bus_cycle_ms(const struct site *s);
/* The control cycle: how often a complete snapshot can be had, the
 * meter's poll interval (the chargers' without a meter), or the slowest
 * bus's cycle when that is longer.  ms. */
int64_t site_cycle_ms(const struct site *s);

/* True when the first allocation may run: every charger read or found
 * offline and, in ALM / PV, a first snapshot complete or the meter found
 * faulty (not merely unread). */
bool site_snapshot_ready(const struct site *s);

/* Sets the station-wide profile cap (BAL_NO_CAP, id -1 = none). */
void site_set_profile_cap(struct site *s, int32_t cap_w, int64_t id);
/* Sets connector k's (0-based) profile cap and its description. */
void site_set_conn_cap(struct site *s, int k, int32_t cap_w,
    const char *detail);
/* Sets connector k's (0-based) local override: the operator's limit
 * (0 = paused) until epoch until_ms (0 = until lifted); BAL_NO_CAP lifts
 * it.  It joins the profile cap (the lower holds), so it never raises a
 * connector above a profile, the site cap or a circuit. */
void site_set_local_cap(struct site *s, int k, int32_t cap_w,
    int64_t until_ms);
/* Lifts the local overrides that ended by epoch now_ms; returns how
 * many (their connectors' indexes go to ended[], n_conns long). */
int site_expire_local_caps(struct site *s, int64_t now_ms, int *ended);
/* Marks connector k (0-based) inoperative (0 W, Unavailable) or not. */
void site_set_inoperative(struct site *s, int k, bool inoperative);
/* Records a change of the backend link at now_ms (monotonic) / epoch. */
void site_set_cloud(struct site *s, enum site_cloud cloud, int64_t now_ms,
    int64_t epoch_ms);

/* Composes the site cap from the available power, a profile's cap
 * (BAL_NO_CAP = none) and the offline-site power (0 = none), which
 * applies only when offline_applies; *source says which one bound. */
int32_t site_cap_compose(int32_t available_w, int32_t profile_cap_w,
    int32_t offline_site_w, bool offline_applies,
    enum site_cap_source *source);
/* Fail-safe: scales the configured offline powers want_w[0..n) down to a
 * total of at most cap_w (each rounded down to step_w), into out_w.
 * Unchanged when they already fit.  Returns the total. */
int64_t site_offline_fit(const int32_t *want_w, size_t n, int64_t cap_w,
    int32_t step_w, int32_t *out_w);

/* Re-evaluates the caps at now_ms (the offline delay may have run out);
 * marks a run when the cap changed.  Returns the next time (monotonic ms)
 * at which the caps change on their own, or -1. */
int64_t site_update_caps(struct site *s, int64_t now_ms);

/* One write for the southbound. */
struct site_write {
	int conn;          /* index into s->conns */
	double limit;      /* in the charger's control unit */
	int32_t setpoint_w;
	int32_t previous_w; /* -1 when first */
};

/* Runs the balancer at now_ms and lists into writes (n_conns entries) the
 * setpoints to submit: every connector on the first run, then only the
 * changed ones, decreases first.  Returns the count, or -1 with errbuf. */
int site_run(struct site *s, int64_t now_ms, struct site_write *writes,
    char *errbuf, size_t errlen);
/* Records that writes[i] was submitted. */
void site_mark_written(struct site *s, const struct site_write *w);

/* The offline limit of charger c's connectors, in its control unit (the
 * charger's offline power shared by its connectors). */
double site_offline_limit(const struct site *s, int charger);

/* What is really applied to connector k (1-based; 0 = the site) where a
 * charging schedule says schedule_w: that, held down by the local limits
 * in force now (the site cap; a connector's setpoint once written to an
 * online charger).  For the composite schedule. */
double site_applied_w(const struct site *s, int connector, double schedule_w);
/* True when connector k (0-based) charges below what its profiles allow
 * because of a local limit (household, PV, a circuit, the offline
 * fallback), not a profile or its own maximum; *reason (optional) gets
 * the balancer's reason. */
bool site_held_below_profile(const struct site *s, int k,
    enum bal_reason *reason);

/* ---- Phase switching (phase.c) */

/* Sets up the switching state from the configuration (site_init). */
void site_phase_init(struct site *s);
/* True while charger c is paused for a switch. */
bool site_phase_pausing(const struct site *s, int c);
/* Decides, from the last run's rooms at now_ms, which switchable chargers
 * switch now; those are paused from the next run on (site_run calls it). */
void site_phase_decide(struct site *s, int64_t now_ms);
/* Follows a charger's reading: a switch's command done and read back
 * (its phases in force, a run due), refused (tried again until
 * SITE_PHASE_TIMEOUT_MS) or the charger gone; the phases it reports. */
void site_phase_take(struct site *s, const struct sb_charger_reading *r,
    int64_t now_ms);
/* Lists into cmds (n_chargers long) the switches whose chargers stopped
 * drawing: write 21008 now.  Gives up those past the timeout. */
int site_phase_due(struct site *s, int64_t now_ms,
    struct site_phase_cmd *cmds);
/* Records that the command for charger c was queued (rc 0, seq) or not. */
void site_phase_submitted(struct site *s, int c, int rc, uint64_t seq);
/* True when a run is due for a switch alone: a condition held through
 * its confirmation and dwell, or a pause past its timeout (a site whose
 * readings change nothing runs only then). */
bool site_phase_wake(const struct site *s, int64_t now_ms);
/* "off", "steady", "pausing", "writing". */
const char *site_phase_step_name(enum site_phase_step st);

/* Finds a connector by OCPP id ("3"), "CHARGER/K" or "CHARGER" (one
 * connector).  Returns its index, or -1. */
int site_find_conn(const struct site *s, const char *name);

/* ---- Reports (report.c): plain structs that the control socket, the
 * dashboard and the metrics only format. */

/* The meter as reported; NaN = unknown. */
struct site_meter_view {
	const char *type;    /* "sdm630" */
	bool online;         /* read, and no fault */
	int64_t since_epoch_ms; /* online or not since then; 0 = since start */
	bool healthy;        /* as the balancer last saw it */
	int64_t age_ms;      /* of the last reading; -1 unknown */
	uint64_t polls;      /* good readings since start */
	struct sb_io_stats io; /* its Modbus exchanges since start */
	double total_w;
	double phase_v[BAL_PHASES], phase_a[BAL_PHASES], phase_w[BAL_PHASES];
	/* the household load as estimated (NaN: unknown; in PV mode the
	 * meter sees household and PV together, so there it is the
	 * surplus that is known) */
	double household_w;
	bool household_clamped; /* the meter read below the chargers' draw */
	double surplus_w;       /* PV mode: export the chargers could take */
};

/* The site as reported. */
struct site_report {
	int32_t cap_w;
	const char *cap_source;       /* site_cap_source_name */
	int64_t profile_id;           /* -1 unless the cap is a profile's */
	int64_t budget_w;
	int64_t allocated_w;
	const char *balancer_source;  /* bal_cap_source_name; a cap from
	                               * above as site_cap_source_name */
	int writes_pending;           /* submitted, not yet read back */
	const char *cloud_state;      /* site_cloud_name */
	int64_t cloud_since_epoch_ms; /* 0 = since start */
	struct site_lb lb;            /* the settings in force */
	bool lb_backend[SITE_MAX_SETTINGS]; /* ... and which the backend set */
	bool has_meter;               /* used by the mode or configured */
	struct site_meter_view meter;
	int n_chargers;
	int n_conns;
};

/* A charger as reported; strings borrowed from the site. */
struct site_charger_view {
	const char *name, *model, *serial, *firmware;
	const char *error;            /* "" when none */
	const char *unsupported;      /* registers it refused, "" when none */
	char link[CFG_PATH_MAX + 64]; /* "tcp 127.0.0.1:5021", ... */
	int unit_id;                  /* Modbus unit / slave id */
	bool online;
	int64_t updated_ms;           /* monotonic, last reading; 0 never */
	uint64_t polls;               /* Modbus polls completed since start */
	unsigned failures;            /* consecutive failed exchanges now */
	uint64_t readback_errors;     /* limits read back different */
	struct sb_io_stats io;        /* its Modbus exchanges since start */
	int phases;                   /* in use now (1 or 3) */
	const char *phase_switching;  /* site_phase_step_name ("off") */
	int64_t phase_next_ms;        /* monotonic, when the next switch may
	                               * be decided; -1 any time */
	uint64_t phase_switches;      /* carried out since start */
	const char *phase_error;      /* the last one given up, "" */
	int first_conn;               /* its connectors' indexes */
	int n_conns;
};

/* A connector as reported; NaN = unknown. */
struct site_conn_view {
	const char *label;  /* "bay1/1" */
	int connector;      /* on its charger */
	int ocpp_id;
	const char *status; /* OCPP 1.6 status name */
	double power_w;     /* NaN while its charger is offline */
	double energy_wh;
	int32_t setpoint_w;
	double setpoint_a;  /* per phase, 0.1 A */
	bool paused;
	const char *reason; /* "starting" before the first run */
	const char *reason_text; /* the reason in plain words */
	bool tx_running;    /* a transaction runs (charging or suspended) */
	char fault[32];     /* the charger's fault codes, "" when none */
};

/* One cap behind a connector's setpoint. */
struct site_cap_view {
	const char *what;   /* "profile", "max", "circuit", ... */
	int32_t w;          /* the cap's value, as a power for this charger */
	int32_t room_w;     /* what it leaves this connector with the others
	                       at their setpoints; BAL_NO_CAP = same as w */
	char detail[160];   /* "" when none */
	bool bound;         /* the one that set the setpoint (at most one) */
};

/* Why connector k has its setpoint (explain). */
struct site_explain {
	const char *label;
	int ocpp_id;
	int32_t setpoint_w;
	const char *reason;
	const char *bound_by; /* "none", "profile", "held", "max", "site", ... */
	char summary[320];    /* one sentence in plain words */
	struct site_cap_view caps[8];
	int n_caps;
	int phases;           /* its charger's phases in use */
	const char *phase_switching; /* site_phase_step_name ("off") */
	int64_t phase_next_ms; /* monotonic, next switch allowed; -1 any time */
	char line[512];       /* the balancer's one-line account (debugging) */
};

/* Fills r from the site now. */
void site_report(const struct site *s, struct site_report *r);
/* Fills v for charger c (0..n_chargers-1). */
void site_charger_view(const struct site *s, int c,
    struct site_charger_view *v);
/* Fills v for connector k (0..n_conns-1). */
void site_conn_view(const struct site *s, int k, struct site_conn_view *v);
/* Fills e for connector k (0..n_conns-1). */
void site_explain(const struct site *s, int k, struct site_explain *e);

/* Names for status output. */
const char *site_cap_source_name(enum site_cap_source src);
const char *site_cloud_name(enum site_cloud c);
/* The OCPP 1.6 status name of a connector status register value. */
const char *site_status_name(int sb_status, bool online);
/* The balancer state of a connector status register value. */
enum bal_conn_state site_bal_state(int sb_status);
/* True while a connector in this state has a transaction running. */
bool site_tx_running(enum bal_conn_state st);

#endif
