/* Charging profiles: validation, the installed set, evaluation at a time
 * and composite schedules, for OCPP 1.6 (§3.13, SetChargingProfile,
 * ClearChargingProfile, GetCompositeSchedule) and 2.0.1 (K01, K08, K09,
 * K10).
 *
 * Pure: no I/O, no clock, no logging, no globals.  Times are wall-clock
 * epoch milliseconds passed in by the caller (profiles carry dates).  The
 * caller owns every struct; strings returned are the caller's to free.
 *
 * Connector numbers follow DOMAIN.md §5: connector (1.6) / EVSE (2.0.1)
 * 0 is the whole site, 1..n the chargers' connectors.
 *
 * Powers in W, currents in A per phase, durations in s as in the
 * messages.  A limit in A becomes W as A x nominal voltage x phases, the
 * phases being the period's numberPhases, else the connector's phases,
 * else 3 (K01.FR.49).  See docs/smart-charging.md.
 */
#ifndef EDGE_SMARTCHARGING_H
#define EDGE_SMARTCHARGING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "No next change" for sc_limit.next_change_ms. */
#define SC_NEVER INT64_MAX
/* Longest transaction id kept (2.0.1 allows 36 characters). */
#define SC_TX_ID_LEN 40
/* The most power any limit evaluates to, whatever a profile says (1 GW:
 * far above any site, and it fits an int32_t in W).  A profile's limit
 * above the physical maximum of its scope is clamped to that maximum
 * (sc_context.site_max_w, sc_connector.max_w), never past this. */
#define SC_POWER_MAX_W 1e9
/* Upper bound on the periods of one schedule whatever the context says. */
#define SC_PERIODS_HARD_MAX 1024

enum sc_version {
	SC_V16,
	SC_V201,
};

enum sc_purpose {
	SC_STATION_MAX,	/* ChargePointMaxProfile / ChargingStationMaxProfile */
	SC_TX_DEFAULT,	/* TxDefaultProfile */
	SC_TX,		/* TxProfile */
};
#define SC_PURPOSE_COUNT 3

enum sc_kind {
	SC_ABSOLUTE,
	SC_RECURRING,
	SC_RELATIVE,
};

enum sc_recurrency {
	SC_RECUR_NONE,
	SC_RECUR_DAILY,
	SC_RECUR_WEEKLY,
};

enum sc_unit {
	SC_UNIT_W,
	SC_UNIT_A,
};
/* Bits for sc_context.units (ChargingScheduleAllowedChargingRateUnit /
 * ChargingScheduleChargingRateUnit). */
#define SC_UNITS_W (1u << SC_UNIT_W)
#define SC_UNITS_A (1u << SC_UNIT_A)

/* Answer statuses.  1.6 SetChargingProfile: Accepted / Rejected /
 * NotSupported; 2.0.1: Accepted / Rejected (+ statusInfo). */
enum sc_status {
	SC_ACCEPTED,
	SC_REJECTED,
	SC_NOT_SUPPORTED,
};

/* One chargingSchedulePeriod. */
struct sc_period {
	int32_t start_s;	/* startPeriod, from the schedule's start */
	double limit;		/* in the schedule's unit */
	int phases;		/* numberPhases 1..3; 0 when absent */
};

/* One installed charging profile (one schedule: K01.FR.34). */
struct sc_profile {
	enum sc_version version;
	int connector;		/* connectorId / evseId it was set on */
	int id;
	int stack_level;
	enum sc_purpose purpose;
	enum sc_kind kind;
	enum sc_recurrency recurrency;
	bool has_valid_from, has_valid_to;
	int64_t valid_from_ms, valid_to_ms;
	char tx_id[SC_TX_ID_LEN]; /* "" when absent; 1.6's integer as text */
	bool has_start;
	int64_t start_ms;	/* startSchedule */
	bool has_duration;
	int32_t duration_s;
	enum sc_unit unit;
	bool has_min_rate;
	double min_rate;	/* minChargingRate, in unit */
	size_t n_periods;
	struct sc_period *periods;
	char *json;		/* the request payload, compact JSON */
};

/* What the station knows about connector k (sc_context.connectors[k-1]). */
struct sc_connector {
	bool tx_active;
	char tx_id[SC_TX_ID_LEN]; /* the running transaction's id (1.6:
				   * the integer in decimal) */
	int64_t tx_start_ms;	/* start of charging: Relative profiles */
	int phases;		/* 1..3 as wired; 0 = 3 */
	double max_w;		/* the charger's physical maximum for this
				 * connector, W; 0 = unknown (the site's) */
	bool absent;		/* no connector has this id (a gap) */
};

/* The station's side of every decision; borrowed for the call only. */
struct sc_context {
	int n_connectors;
	const struct sc_connector *connectors; /* n_connectors entries */
	double voltage_v;	/* nominal line-to-neutral voltage, > 0 */
	double site_max_w;	/* the most the site can ever draw (main
				 * breaker), W; 0 = unknown (SC_POWER_MAX_W) */
	unsigned units;		/* SC_UNITS_W | SC_UNITS_A */
	int max_stack_level;	/* ChargeProfileMaxStackLevel */
	int max_periods;	/* ChargingScheduleMaxPeriods */
	int max_profiles;	/* MaxChargingProfilesInstalled; 0 = no limit */
	/* Purposes left out of evaluation and composite schedules, as bits
	 * (1u << purpose): e.g. the cloud's Tx limits while offline. */
	unsigned ignore_purposes;
	int64_t now_ms;		/* wall clock, epoch ms */
};

/* The verdict on a request: status, 2.0.1 reasonCode (static) and a
 * sentence for people (what, where, the valid range). */
struct sc_verdict {
	enum sc_status status;
	const char *reason_code;	/* NULL when accepted */
	bool malformed;		/* the payload breaks the message schema */
	char reason[256];
};

/* The installed profiles.  Caller-owned; sc_set_init / sc_set_free. */
struct sc_set {
	struct sc_profile **v;
	size_t n, cap;
};

/* ---- Profiles ---- */

/* Parses a SetChargingProfile request (1.6: connectorId +
 * csChargingProfiles; 2.0.1: evseId + chargingProfile) and checks what
 * needs no station context.  Returns 0 and *out (caller frees with
 * sc_profile_free), or -1 with *verdict filled.  The profile keeps
 * payload, as given, as its JSON text (what the store saves). */
int sc_profile_parse(enum sc_version v, const char *payload,
    struct sc_profile **out, struct sc_verdict *verdict);
/* Parses the chargingProfile attached to a RemoteStartTransaction (1.6)
 * or RequestStartTransaction (2.0.1) for connector k: it must be a
 * TxProfile without transactionId (1.6 §5.11, K05).  Its text is stored
 * as a SetChargingProfile payload for k.  Once the transaction runs, the
 * caller binds it (sc_profile_bind), checks it (sc_set_check) and
 * installs it.  Returns 0 and *out (caller frees), or -1 with *verdict. */
int sc_profile_remote_start(enum sc_version v, int connector,
    const char *profile_json, struct sc_profile **out,
    struct sc_verdict *verdict);
/* Frees a profile (NULL is fine). */
void sc_profile_free(struct sc_profile *p);
/* Name of a purpose as the version spells it.  Static. */
const char *sc_purpose_name(enum sc_version v, enum sc_purpose p);

/* ---- The set ---- */

void sc_set_init(struct sc_set *set);
void sc_set_free(struct sc_set *set);
/* Checks a parsed profile against the station (connector, purpose on 0,
 * transaction, unit, stack level, periods, validity, duplicates in the
 * set).  Returns 0 when it may be installed, else -1 with *verdict. */
int sc_set_check(const struct sc_set *set, const struct sc_profile *p,
    const struct sc_context *ctx, struct sc_verdict *verdict);
/* Binds a TxProfile sent without transactionId (1.6 allows it) to the
 * transaction running on its connector, in memory (profile->json stays
 * as received), so that it never outlives that transaction.  Call after
 * sc_set_check() accepted it; sc_set_request() does. */
void sc_profile_bind(struct sc_profile *p, const struct sc_context *ctx);
/* Installs p (the set takes it) with the replacement rules: the same id
 * replaces; in 1.6 also the same purpose + stack level + connector (and
 * transaction for TxProfile).  The ids replaced are written to
 * replaced[] (up to cap); returns how many were replaced. */
size_t sc_set_install(struct sc_set *set, struct sc_profile *p,
    int *replaced, size_t cap);
/* Parse + check + install in one call, for SetChargingProfile.  Returns
 * the response payload (caller frees); *verdict says what happened and
 * *installed_id is the id installed or -1. */
char *sc_set_request(struct sc_set *set, enum sc_version v,
    const char *payload, const struct sc_context *ctx,
    struct sc_verdict *verdict, int *installed_id);
/* The response payload for a verdict (caller frees). */
char *sc_verdict_json(enum sc_version v, const struct sc_verdict *verdict);
/* Installs a profile from its stored JSON text (profile->json) without
 * the station checks (it was accepted before), with every check of the
 * text itself; the profile keeps that text as its JSON.  Returns 0, or
 * -1 with *cause (caller frees) when the text does not parse or pass. */
int sc_set_load(struct sc_set *set, const char *json, char **cause);
/* The same, restoring the transaction an unbound TxProfile was bound to
 * (profile->tx_id as stored beside the text); tx_id may be NULL. */
int sc_set_load_bound(struct sc_set *set, const char *json,
    const char *tx_id, char **cause);
/* Finds a profile by id.  Borrowed; valid until the set changes. */
const struct sc_profile *sc_set_find(const struct sc_set *set, int id);

/* Which profiles a ClearChargingProfile (or a GetChargingProfiles) names:
 * each has_* field is a filter, all of them ANDed; none = everything. */
struct sc_filter {
	bool has_id;
	int id;			/* clear: chargingProfileId */
	size_t n_ids;		/* get: chargingProfileId[] */
	int ids[32];
	bool has_connector;
	int connector;
	bool has_purpose;
	enum sc_purpose purpose;
	bool has_stack_level;
	int stack_level;
	int request_id;		/* get: requestId */
	bool other_source;	/* get: only sources other than CSO asked */
};

/* Parses a ClearChargingProfile request.  Returns 0, or -1 with *verdict
 * (malformed payload). */
int sc_clear_parse(enum sc_version v, const char *payload,
    struct sc_filter *f, struct sc_verdict *verdict);
/* Removes the profiles the filter names (by id alone when an id is
 * given: 1.6 §6.13, K10.FR.03).  Ids removed go to removed[] (up to
 * cap); returns how many were removed. */
size_t sc_set_clear(struct sc_set *set, const struct sc_filter *f,
    int *removed, size_t cap);
/* ClearChargingProfile response: Accepted when n_removed > 0, else
 * Unknown (K10.FR.01).  Caller frees. */
char *sc_clear_response(enum sc_version v, size_t n_removed);
/* Drops the TxProfiles of connector's transaction (K02.FR.05) when it
 * ends.  Returns how many were dropped, ids in removed[] (up to cap). */
size_t sc_set_tx_ended(struct sc_set *set, int connector,
    const char *tx_id, int *removed, size_t cap);

/* Parses a 2.0.1 GetChargingProfiles request.  Returns 0, or -1 with
 * *verdict. */
int sc_get_parse(const char *payload, struct sc_filter *f,
    struct sc_verdict *verdict);
/* The profiles a GetChargingProfiles filter matches (K09.FR.04-06), in
 * connector then id order, written to out[] (up to cap; borrowed).
 * Returns how many match. */
size_t sc_set_list(const struct sc_set *set, const struct sc_filter *f,
    const struct sc_profile **out, size_t cap);
/* The GetChargingProfiles response (Accepted / NoProfiles) and the
 * ReportChargingProfiles request payloads, one per connector, tbc set on
 * all but the last (K09.FR.01-02).  *reports is an array of *n_reports
 * strings; the caller frees each and the array.  Returns the response
 * (caller frees). */
char *sc_get_answer(const struct sc_set *set, const struct sc_filter *f,
    char ***reports, size_t *n_reports);

/* ---- Evaluation ---- */

/* The limit for a connector at one instant.  Every power is finite, in
 * 0..SC_POWER_MAX_W and at most the physical maximum of its scope: the
 * site's for the station part, the connector's for the tx part. */
struct sc_limit {
	bool limited;		/* false: no profile applies */
	double limit_w;		/* the lowest of what applies */
	double limit_a;		/* the same per phase */
	int phases;		/* phases of the binding period */
	enum sc_purpose purpose; /* the binding purpose */
	int profile_id;		/* the binding profile */
	/* The parts: station-wide cap (connector 0's station-max profile) and
	 * the connector's own (TxProfile, else TxDefaultProfile on k, else
	 * on 0).  k = 0 has only the station part. */
	bool has_station;
	double station_w;
	int station_id;
	bool has_tx;
	double tx_w;
	int tx_id;
	enum sc_purpose tx_purpose;
	double min_rate_w;	/* minChargingRate of the tx part, 0 if none */
	int64_t next_change_ms;	/* the next instant this may change */
};

/* Evaluates connector k (0 = site) at now_ms.  Returns 0, or -1 when k
 * is not a connector of ctx. */
int sc_evaluate(const struct sc_set *set, const struct sc_context *ctx,
    int connector, int64_t now_ms, struct sc_limit *out);
/* The earliest next_change_ms over connectors 0..n at now_ms: the one
 * timer the caller needs (SC_NEVER when nothing will change). */
int64_t sc_next_change(const struct sc_set *set, const struct sc_context *ctx,
    int64_t now_ms);

/* ---- Composite schedules ---- */

struct sc_composite_period {
	int32_t start_s;
	double limit;		/* in the composite's unit */
	int phases;
};

/* What the caller adds to the profiles: what really applies locally. */
struct sc_composite_opts {
	/* The limit when no profile applies (the charger's or the site's
	 * physical maximum), in W; must be >= 0. */
	double max_w;
	/* A cap over the whole window (local mode, offline cap), W; < 0 =
	 * none. */
	double local_cap_w;
	/* Optional: what is really applied from at_ms given the schedule's
	 * value there (W); returns W.  NULL = the schedule's value. */
	double (*applied_w)(void *ud, int connector, int64_t at_ms,
	    double schedule_w);
	void *ud;
};

struct sc_composite {
	int connector;
	int64_t start_ms;
	int32_t duration_s;
	enum sc_unit unit;
	size_t n_periods;
	struct sc_composite_period *periods; /* caller frees (free()) */
};

/* Computes the composite schedule of connector k from start_ms over
 * duration_s in unit: the minimum across purposes at each instant,
 * merged where equal.  Returns 0, or -1 with *verdict (unknown
 * connector, unsupported unit, bad duration). */
int sc_composite(const struct sc_set *set, const struct sc_context *ctx,
    int connector, int64_t start_ms, int32_t duration_s, enum sc_unit unit,
    const struct sc_composite_opts *opts, struct sc_composite *out,
    struct sc_verdict *verdict);
/* Answers a GetCompositeSchedule request payload at ctx->now_ms in the
 * version's shape.  Returns the response (caller frees). */
char *sc_composite_request(const struct sc_set *set,
    const struct sc_context *ctx, enum sc_version v, const char *payload,
    const struct sc_composite_opts *opts, struct sc_verdict *verdict);
/* Frees out->periods. */
void sc_composite_free(struct sc_composite *c);

#endif
