/* The balancer: decides how much power each connector of the site gets.
 *
 * Pure computation.  The caller hands in a snapshot of the site (struct
 * bal_input, with the time as now_ms), a caller-owned hysteresis state
 * (struct bal_state) and a workspace sized at compile time; bal_run()
 * fills a caller-provided output array, one entry per connector, plus
 * site-level figures.  No I/O, no clock, no logging, no globals and no
 * allocation: identical input and state give identical output and state.
 *
 * Units: power in W (int32_t per item, int64_t for sums), current in mA,
 * time in ms on the caller's monotonic clock, percentages as whole %.
 * Phases are numbered 0, 1, 2 for L1, L2, L3.
 *
 * Modes, caps, fairness and hysteresis are described in docs/balancing.md.
 */
#ifndef EDGE_BALANCER_H
#define EDGE_BALANCER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BAL_MAX_CIRCUITS 32
#define BAL_MAX_DEPTH 8        /* levels of the circuit tree */
#define BAL_MAX_CHARGERS 256
#define BAL_MAX_CONNECTORS 1024
#define BAL_PHASES 3
/* "No cap" for the optional caps (cloud site cap, connector profile cap). */
#define BAL_NO_CAP (-1)
/* No circuit / phase. */
#define BAL_NONE (-1)

enum bal_mode {
	BAL_MODE_DLB, /* dynamic load balancing: fixed cap, no meter */
	BAL_MODE_ALM, /* adaptive load management: grid meter, household */
	BAL_MODE_PV,  /* PV hybrid: grid meter, solar behind it */
};

enum bal_pv_mode {
	BAL_PV_FULL_GREEN,     /* surplus only, never grid import */
	BAL_PV_GREEN_PRIORITY, /* surplus, at least Pmin each from the grid */
	BAL_PV_SPEED_PRIORITY, /* surplus plus the grid's available power */
};

/* Connector states (OCPP StatusNotification vocabulary). */
enum bal_conn_state {
	BAL_ST_AVAILABLE,
	BAL_ST_PREPARING,
	BAL_ST_CHARGING,
	BAL_ST_SUSPENDED_EV,
	BAL_ST_SUSPENDED_EVSE,
	BAL_ST_FINISHING,
	BAL_ST_RESERVED,
	BAL_ST_UNAVAILABLE,
	BAL_ST_FAULTED,
};

/* How a charger takes its limit: power registers (W) or current (0.01 A). */
enum bal_unit {
	BAL_UNIT_W,
	BAL_UNIT_A,
};

/* Why a connector got its setpoint.  Names via bal_reason_name(). */
enum bal_reason {
	BAL_R_SHARE,              /* its fair share of the mode's budget */
	BAL_R_CAPPED_PROFILE,     /* its charging-profile cap bound */
	BAL_R_CAPPED_MAX,         /* its rated / configured maximum bound */
	BAL_R_CAPPED_CIRCUIT,     /* a circuit's current limit bound */
	BAL_R_CAPPED_PHASE,       /* a phase limit of the main connection */
	BAL_R_CAPPED_SITE,        /* the cloud's site cap bound */
	BAL_R_HELD_NEAR_DRAW,     /* EV draws clearly less: held at draw + headroom */
	BAL_R_WAITING_FOR_ROOM,   /* increase deferred until measured room */
	BAL_R_HELD_AT_MIN,        /* short of its minimum: held at Pmin while
	                           * the shortage is confirmed */
	BAL_R_PAUSED_BELOW_MIN,   /* share below Pmin: paused (last activated) */
	BAL_R_PAUSED_METER_FAULT, /* meter abnormal: all paused */
	BAL_R_PAUSED_NO_SURPLUS,  /* PV: not enough surplus for Pmin */
	BAL_R_OFFLINE_RESERVE,    /* charger unreachable: its reserve is held */
	BAL_R_IDLE,               /* no EV demanding power */
	BAL_R_UNAVAILABLE,        /* faulted or unavailable */
	BAL_R_PHASE_SWITCHING,    /* paused while its phases are switched
	                           * (set by the caller, bal_phase_step) */
};
#define BAL_R_COUNT (BAL_R_PHASE_SWITCHING + 1)

/* Where the site cap on the chargers' total came from. */
enum bal_cap_source {
	BAL_CAP_AVAILABLE,     /* DLB: the configured available power */
	BAL_CAP_ALM,           /* ALM: allocable minus household load */
	BAL_CAP_PV_SURPLUS,    /* PV full green / green priority: surplus */
	BAL_CAP_PV_MIN,        /* PV green priority: Pmin per charger */
	BAL_CAP_PV_SPEED,      /* PV speed priority: surplus + available */
	BAL_CAP_OFFLINE_METER, /* meter fault: the offline-meter power */
	BAL_CAP_METER_FAULT,   /* meter fault, nothing configured: 0 */
	BAL_CAP_CLOUD,         /* the cloud's site cap is lower than the mode's */
};

/* Kind of constraint that bound a connector (for explain). */
enum bal_bound {
	BAL_B_NONE,     /* not allocated (paused, idle, offline) */
	BAL_B_OWN,      /* its own upper bound (profile, max, held) */
	BAL_B_SITE,     /* the site budget */
	BAL_B_PHASE,    /* a main-connection phase (bound_phase) */
	BAL_B_CIRCUIT,  /* a circuit phase (bound_circuit, bound_phase) */
};

/* A circuit: a node of the distribution tree with a per-phase limit. */
struct bal_circuit {
	int parent;             /* index of the parent circuit (< own index), or BAL_NONE */
	int32_t max_current_ma; /* per phase */
};

struct bal_site {
	int phases;                 /* 1 or 3 */
	int32_t nominal_voltage_v;  /* phase to neutral, e.g. 230 */
	int32_t available_power_w;  /* configured cap (Pmax) */
	int32_t cloud_cap_w;        /* cloud's site-wide cap now, or BAL_NO_CAP */
	int32_t phase_max_ma[BAL_PHASES]; /* main connection per phase; 0 = none */
	const struct bal_circuit *circuits;
	int n_circuits;
};

struct bal_meter {
	bool healthy;               /* answered with plausible data */
	int32_t age_ms;             /* age of this reading */
	int32_t total_power_w;      /* + import, - export */
	int32_t phase_power_w[BAL_PHASES];   /* + import, - export */
	int32_t phase_current_ma[BAL_PHASES]; /* magnitudes (informative) */
};

/* A charger: what is shared by its connectors. */
struct bal_charger {
	bool online;                /* reachable over Modbus */
	int phases;                 /* 1 or 3 */
	int wired_phase;            /* 0..2, for single-phase chargers */
	bool phase_switchable;      /* supports register 21008 */
	enum bal_unit unit;         /* how its limits are written */
	int circuit;                /* index into site circuits */
	int32_t offline_power_w;    /* offline limit programmed into it */
	int32_t max_power_w;        /* charger rating (bounds its reserve) */
	int32_t resolution_w;       /* W step for this charger (DC: 1000), 0 = setting */
};

struct bal_connector {
	int charger;                /* index into chargers */
	enum bal_conn_state state;
	int32_t measured_power_w;
	/* per phase; current on one phase only (>= 1 A, the others < 0.2 A)
	 * on a three-phase charger = a single-phase car: loads that phase */
	int32_t measured_current_ma[BAL_PHASES];
	int32_t rated_max_w;        /* what the hardware can do */
	int32_t configured_max_w;   /* operator's maximum (0 = rated) */
	int32_t profile_cap_w;      /* charging-profile cap, or BAL_NO_CAP */
	int64_t last_start_ms;      /* when it last started charging */
	int priority;               /* higher = paused later */
};

struct bal_settings {
	enum bal_mode mode;
	enum bal_pv_mode pv_mode;
	int reserve_pct;                 /* ALM reserve, 0..50 */
	int32_t min_power_1ph_w;         /* Pmin single-phase, default 1400 */
	int32_t min_power_3ph_w;         /* Pmin three-phase, default 4200 */
	int32_t offline_meter_power_w;   /* meter fault: total to share; 0 = pause all */
	int32_t meter_max_age_ms;        /* older readings count as a fault */
	int32_t resolution_w;            /* step for chargers in W */
	int32_t resolution_ma;           /* step for chargers in A */
	int32_t restart_margin_w;        /* room beyond Pmin needed to resume */
	int32_t restart_hold_ms;         /* ... for this long */
	int32_t underdraw_margin_w;      /* drawing this much below = under-drawing */
	int32_t underdraw_after_ms;      /* ... for this long */
	int32_t underdraw_headroom_w;    /* held at draw + this */
	/* ALM / PV: a running connector that a measured budget (the mode's
	 * budget, a main phase less the household) cannot carry at its
	 * minimum is held at the minimum, and pauses only when the shortage
	 * lasts this long (0 = at once) */
	int32_t pause_confirm_ms;
};

struct bal_input {
	const struct bal_site *site;
	const struct bal_meter *meter;       /* may be NULL in DLB */
	const struct bal_settings *settings;
	const struct bal_charger *chargers;
	int n_chargers;
	const struct bal_connector *connectors;
	int n_connectors;
	int64_t now_ms;
};

/* The caps that applied to one connector, for `ocpp-edgectl explain`. */
struct bal_chain {
	int32_t pmin_w;              /* its minimum (on the resolution grid) */
	int32_t max_w;               /* min(rated, configured) */
	int32_t profile_cap_w;       /* or BAL_NO_CAP */
	int32_t held_cap_w;          /* draw + headroom when under-drawing, or BAL_NO_CAP */
	int32_t upper_w;             /* min of the three above */
	int32_t level_w;             /* water level where it was frozen */
	enum bal_bound bound;        /* which constraint froze it */
	int bound_circuit;           /* circuit index, or BAL_NONE */
	int bound_phase;             /* phase index, or BAL_NONE */
	int32_t target_w;            /* before the room check and hysteresis */
	/* the most it could have with the others at their setpoints, per
	 * kind of constraint (BAL_NO_CAP: none of that kind applies) */
	int32_t site_room_w;         /* site budget (mode, cloud, reserves) */
	int32_t phase_room_w;        /* main-connection phases */
	int32_t circuit_room_w;      /* its circuit and those above it */
};

struct bal_conn_out {
	int32_t setpoint_w;          /* 0 = paused */
	int32_t setpoint_ma;         /* per phase, for chargers in current mode */
	bool paused;                 /* demanding but given 0 */
	enum bal_reason reason;
	int32_t offline_reserve_w;   /* share of its charger's offline reserve */
	struct bal_chain chain;
};

struct bal_site_out {
	int64_t cap_w;               /* cap on chargers' total in force */
	enum bal_cap_source cap_source;
	int64_t budget_w;            /* for online connectors, after reserves */
	int64_t household_load_w;    /* ALM / PV: meter total - chargers */
	int64_t pv_surplus_w;        /* PV: export the chargers can soak up */
	int64_t reserved_w;          /* DLB: kept free for an idle connector */
	int64_t offline_power_w;     /* reserved for offline chargers */
	int64_t vendor_share_w;      /* vendor's equal split per charging charger */
	int64_t allocated_w;         /* sum of setpoints */
	int n_charging_chargers;     /* online chargers with a demanding connector */
	int n_offline_chargers;
	int n_paused;                /* connectors demanding but at 0 */
	bool meter_fault;
};

/* Per-connector hysteresis carried between runs. */
struct bal_conn_mem {
	int32_t applied_w;           /* last setpoint handed out */
	bool paused;                 /* paused by the Pmin rule */
	bool underdrawing;
	int64_t room_since_ms;       /* room to resume first seen, or -1 */
	int64_t underdraw_since_ms;  /* under-drawing first seen, or -1 */
	int64_t short_since_ms;      /* shortage of its minimum first seen, or -1 */
};

/* Caller-owned state; start it with bal_state_init(). */
struct bal_state {
	int n_connectors;
	struct bal_conn_mem conn[BAL_MAX_CONNECTORS];
};

/* Scratch space for bal_run(); its content is meaningless between runs.
 * Sized at compile time so that a run allocates nothing. */
struct bal_work;
/* Size in bytes of the workspace; allocate it once (any alignment of
 * malloc) and pass it to every run. */
size_t bal_work_size(void);

/* Fills settings with the vendor's defaults (ALM, reserve 10 %, Pmin
 * 1.4 / 4.2 kW, 100 W / 1 A steps, and our hysteresis defaults). */
void bal_settings_default(struct bal_settings *s);

/* Resets state to "nothing applied yet". */
void bal_state_init(struct bal_state *state);

/* Forgets connector i's pause, restart hold and confirmations: its
 * minimum changed under it (a phase switch), so the hold for restarts
 * at the old minimum does not apply. */
void bal_state_forget(struct bal_state *state, int i);

/* Checks input for what bal_run() needs; 0 when valid, else -1 and a
 * message (what, where, the valid range) in errbuf. */
int bal_check(const struct bal_input *in, char *errbuf, size_t errlen);

/* Computes setpoints for in->n_connectors connectors into out_conn (caller
 * array of that many) and site figures into out_site; updates state (a
 * change in the number of connectors resets it).  The caller writes
 * decreases before increases.  Returns 0, or -1 (with errbuf set, state
 * untouched) on invalid input. */
int bal_run(const struct bal_input *in, struct bal_state *state,
    struct bal_work *work, struct bal_conn_out *out_conn,
    struct bal_site_out *out_site, char *errbuf, size_t errlen);

/* Short stable name of a reason ("share", "capped-by-max", ...). */
const char *bal_reason_name(enum bal_reason r);
/* Short stable name of a cap source ("available-power", "cloud", ...). */
const char *bal_cap_source_name(enum bal_cap_source s);
/* Short stable name of a connector state ("charging", ...). */
const char *bal_state_name(enum bal_conn_state s);
/* Short stable name of a bound kind ("own", "site", "phase", ...). */
const char *bal_bound_name(enum bal_bound b);

/* Writes one line explaining a connector's output into buf (for logs and
 * `ocpp-edgectl explain`), e.g. "7300 W share: target 7350 W, min 4200,
 * max 22000, profile -, held -, bound site, room site 7300 phase -
 * circuit 21470"; returns what snprintf returns. */
int bal_format(const struct bal_conn_out *o, char *buf, size_t len);

/* ---- Automatic 1p <-> 3p switching (phase.c) ---------------------------
 * A three-phase charger that can be switched to one phase (register
 * 21008) goes to one phase when the power it could have cannot hold the
 * three-phase minimum but holds the single-phase one, and back to three
 * when the three-phase minimum fits with up_margin_w to spare.  The
 * condition must hold for confirm_ms without a break, and at least
 * dwell_ms pass between two switches of one charger. */
struct bal_phase_conf {
	int32_t min_power_1ph_w;  /* Pmin single-phase */
	int32_t min_power_3ph_w;  /* Pmin three-phase */
	int32_t up_margin_w;      /* back to three phases: Pmin(3p) + this */
	int32_t confirm_ms;       /* the condition holds this long first */
	int32_t dwell_ms;         /* at least this long between switches */
};

/* One charger's switching memory (caller-owned). */
struct bal_phase_mem {
	int phases;               /* 1 or 3, in use */
	int want;                 /* the count its condition asks for, 0 none */
	int64_t want_since_ms;    /* ... since then, or -1 */
	int64_t switched_ms;      /* the last switch decided, or -1 */
};

/* Fills c with the defaults: Pmin 1.4 / 4.2 kW, 1 kW margin, 30 s
 * confirmation, 5 min dwell. */
void bal_phase_conf_default(struct bal_phase_conf *c);
/* Starts m for a charger on phases (1 or 3), no switch yet. */
void bal_phase_init(struct bal_phase_mem *m, int phases);
/* The power a connector could have on one and on three phases, from its
 * output of the last run (the site budget, and the phase and circuit
 * current limits, which leave a third of the power on one phase) while
 * it is on phases_now. */
void bal_phase_rooms(const struct bal_conn_out *o, int phases_now,
    int64_t *room_1p_w, int64_t *room_3p_w);
/* Feeds one run's rooms at now_ms into m; demanding = an EV wants power.
 * Returns m->phases, or the other count when a switch is due now (the
 * decision starts the dwell; bal_phase_done() records the result). */
int bal_phase_step(const struct bal_phase_conf *c, struct bal_phase_mem *m,
    bool demanding, int64_t room_1p_w, int64_t room_3p_w, int64_t now_ms);
/* Records the phases in use once a switch was carried out (or found). */
void bal_phase_done(struct bal_phase_mem *m, int phases);
/* When the next switch may be decided (monotonic ms), or -1: any time. */
int64_t bal_phase_next_allowed_ms(const struct bal_phase_conf *c,
    const struct bal_phase_mem *m);

#endif
