/* The configuration: ocpp-edge.conf parsed, validated and copied into a
 * plain struct.  Only src/config/ knows libconfuse; every other module reads
 * a struct cfg.
 *
 * Names: libconfuse already exports cfg_init, cfg_free, cfg_print and
 * cfg_parse, so this module's entry points are cfg_load, cfg_clear and
 * cfg_dump instead.
 */
#ifndef EDGE_CONFIG_H
#define EDGE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common/log.h"

/* Group sizes from the vendor manual (DOMAIN.md §2). */
#define CFG_MAX_CHARGERS 200
#define CFG_MAX_CONNECTORS 8 /* per charger (DC models) */
/* The highest OCPP id a connector may have (ocpp-id, with gaps). */
#define CFG_MAX_OCPP_ID (CFG_MAX_CHARGERS * CFG_MAX_CONNECTORS)

/* Longest text values, terminating NUL included. */
#define CFG_NAME_MAX 64      /* site id, charger and circuit names */
#define CFG_IDENTITY_MAX 49  /* OCPP identity: 1..48 characters */
#define CFG_ID_TAG_MAX 21    /* 1.6 idTag: 1..20 characters */
#define CFG_PASSWORD_MAX 41  /* basic-auth password: 16..40 characters */
#define CFG_HOST_MAX 256
#define CFG_URL_MAX 512
#define CFG_PATH_MAX 4096
#define CFG_DEVICE_MAX 256   /* a serial line's device path */
#define CFG_ALLOW_MAX 512    /* csms.remote-site-hosts / -devices */
/* A pushed site may name private, link-local and loopback addresses and
 * mDNS names, and the usual serial adapters. */
#define CFG_REMOTE_HOSTS_DEFAULT "10.0.0.0/8 172.16.0.0/12 " \
	"192.168.0.0/16 169.254.0.0/16 127.0.0.0/8 fc00::/7 fe80::/10 ::1 " \
	"*.local"
#define CFG_REMOTE_DEVICES_DEFAULT "/dev/ttyUSB* /dev/ttyACM* /dev/ttyS* " \
	"/dev/ttyAMA* /dev/ttymxc* /dev/serial/by-id/* /dev/serial/by-path/*"


enum cfg_distribution {
	CFG_DIST_1PH_TN,
	CFG_DIST_1PH_IT,
	CFG_DIST_3PH_TN,
	CFG_DIST_3PH_IT,
};

enum cfg_ocpp_version {
	CFG_OCPP_16,
	CFG_OCPP_201,
};

enum cfg_balancer_mode {
	CFG_BAL_DLB,
	CFG_BAL_ALM,
	CFG_BAL_PV,
};

enum cfg_pv_mode {
	CFG_PV_FULL_GREEN,
	CFG_PV_GREEN_PRIORITY,
	CFG_PV_SPEED_PRIORITY,
};

/* Which stored charging profiles stay in force while the backend is
 * unreachable. */
enum cfg_offline_profiles {
	CFG_OFFLINE_PROFILES_ALL,         /* every valid profile */
	CFG_OFFLINE_PROFILES_STATION_MAX, /* only the station-wide cap */
	CFG_OFFLINE_PROFILES_NONE,        /* none: local modes only */
};

/* csms.use-csms-time: when the CSMS's currentTime is the gateway's wall
 * time (as an offset; the system clock is never set). */
enum cfg_csms_time {
	CFG_CSMS_TIME_AUTO, /* while the system clock is not synchronised */
	CFG_CSMS_TIME_YES,  /* always */
	CFG_CSMS_TIME_NO,   /* never */
};

enum cfg_meter_type {
	CFG_METER_SDM630,
	CFG_METER_SDM230,
	CFG_METER_SDM120,
};

enum cfg_link_kind {
	CFG_LINK_TCP,        /* the gateway connects to host:port */
	CFG_LINK_TCP_LISTEN, /* the device dials southbound.listen */
	CFG_LINK_RTU,        /* RS-485 serial device */
};

enum cfg_parity {
	CFG_PARITY_NONE,
	CFG_PARITY_EVEN,
	CFG_PARITY_ODD,
};

enum cfg_model {
	CFG_MODEL_AC_WALLBOX,
	CFG_MODEL_AC_COMPACT,
	CFG_MODEL_AC_ULTRA,
	CFG_MODEL_SINGLE,
	CFG_MODEL_DC,
};

enum cfg_phase {
	CFG_PHASE_L1,
	CFG_PHASE_L2,
	CFG_PHASE_L3,
};

enum cfg_control_unit {
	CFG_CONTROL_POWER,   /* limits written in W */
	CFG_CONTROL_CURRENT, /* limits written in 0.01 A */
};

enum cfg_word_order {
	CFG_WORDS_MODEL,      /* what the model's register table says */
	CFG_WORDS_HIGH_FIRST,
	CFG_WORDS_LOW_FIRST,
};

/* How the gateway reaches a Modbus device.  Fields not used by the kind
 * keep their defaults. */
struct cfg_link {
	enum cfg_link_kind kind;
	char host[CFG_HOST_MAX]; /* tcp */
	int port;                /* tcp */
	int unit_id;             /* Modbus unit / slave id, all kinds */
	char serial[CFG_NAME_MAX]; /* tcp-listen: serial number reported */
	char device[CFG_DEVICE_MAX]; /* rtu */
	int baud;
	enum cfg_parity parity;
	int stop_bits;
};

struct cfg_circuit {
	char name[CFG_NAME_MAX];
	char parent[CFG_NAME_MAX]; /* "" = on the main connection */
	int parent_index;          /* into cfg.circuits; -1 = main connection */
	int max_current_a;         /* per phase */
};

struct cfg_charger {
	char name[CFG_NAME_MAX];
	enum cfg_model model;
	struct cfg_link link;
	int connectors;
	int phases; /* 1 or 3 */
	enum cfg_phase wired_phase; /* single-phase chargers */
	bool phase_switching; /* 1p <-> 3p switching by register 21008 */
	int max_power_w;
	int offline_power_w;
	char circuit[CFG_NAME_MAX]; /* "" = on the main connection */
	int circuit_index;          /* into cfg.circuits; -1 = main connection */
	enum cfg_control_unit control_unit;
	enum cfg_word_order word_order;
	int ocpp_id; /* its first connector's OCPP id, pinned; 0 = not */
};

struct cfg {
	char path[CFG_PATH_MAX]; /* the file it came from */

	struct {
		char id[CFG_NAME_MAX];
		enum cfg_distribution distribution;
		int nominal_voltage_v;
		int main_breaker_a; /* per phase */
		int available_power_w; /* whole kW in the file */
		struct cfg_circuit *circuits;
		size_t n_circuits;
	} site;

	struct {
		char url[CFG_URL_MAX];
		enum cfg_ocpp_version ocpp_version;
		char identity[CFG_IDENTITY_MAX];
		int security_profile; /* 1, 2 or 3 */
		char password[CFG_PASSWORD_MAX]; /* never log it */
		char ca_file[CFG_PATH_MAX];
		char client_cert[CFG_PATH_MAX];
		char client_key[CFG_PATH_MAX];
		int heartbeat_interval_s;
		int retry_backoff_min_s;
		int retry_backoff_random_s;
		int retry_backoff_repeat;
		int ping_interval_s;
		int ping_timeout_s;
		char id_tag[CFG_ID_TAG_MAX]; /* when a charger reports none */
		int tx_unreachable_max_s;    /* 0 = a silent charger's
					      * transaction never ends */
		bool allow_remote_site; /* the backend may push the site */
		/* what a pushed site's links may name (config/allow.c) */
		char remote_site_hosts[CFG_ALLOW_MAX];
		char remote_site_devices[CFG_ALLOW_MAX];
		enum cfg_csms_time use_csms_time;
	} csms;

	struct {
		enum cfg_balancer_mode mode;
		enum cfg_pv_mode pv_mode;
		int reserve_pct;
		int min_power_1ph_w;
		int min_power_3ph_w;
		int offline_meter_power_w; /* 0 = pause all on a meter fault */
		int offline_site_power_w;  /* cap while the CSMS is unreachable */
		int offline_site_delay_s;
		int phase_switch_dwell_s;   /* at least this between switches */
		int phase_switch_confirm_s; /* a switch's condition holds this long */
		int resolution_w;
		enum cfg_offline_profiles offline_profiles;
	} balancer;

	struct {
		enum cfg_meter_type type;
		struct cfg_link link; /* kind tcp or rtu */
		int max_age_s;        /* older readings count as a meter fault */
		int poll_interval_ms;
	} meter;

	struct {
		char listen_host[CFG_HOST_MAX]; /* "" = any address */
		int listen_port;                /* 0 = chosen by the system */
		int response_timeout_ms;
		int comm_timeout_s;
		int offline_after_failures;
	} southbound;

	struct cfg_charger *chargers; /* in file order */
	size_t n_chargers;

	struct {
		char path[CFG_PATH_MAX];
	} store;

	struct {
		char listen[CFG_HOST_MAX + 8]; /* "HOST:PORT"; "" = off */
		char password[CFG_PASSWORD_MAX]; /* basic auth; never log it */
		char cert[CFG_PATH_MAX]; /* HTTPS when both are given */
		char key[CFG_PATH_MAX];
	} http;

	struct {
		enum log_level level;
		bool to_syslog;
	} log;
};

/* Every problem found in a file, one complete message each, in the order
 * of the lines they are about ("FILE:LINE: option 'x': value 'y': why:
 * allowed ..."). */
struct cfg_errors {
	char **msgs;
	size_t n;
};

/* Reads, validates and copies the file at path into *cfg.  Returns 0, or
 * -1 with every problem found appended to *errors (the caller frees them
 * with cfg_errors_free); *cfg is then left empty.  On success the caller
 * releases *cfg with cfg_clear.  Not thread-safe (libconfuse's lexer is
 * global): load from the main thread. */
int cfg_load(const char *path, struct cfg *cfg, struct cfg_errors *errors);

/* As cfg_load, from text in memory; name stands for the file name in
 * messages. */
int cfg_load_string(const char *name, const char *text, struct cfg *cfg,
    struct cfg_errors *errors);

/* A site pushed by the backend: text holds the site sections (site,
 * balancer, meter, southbound, charger) in the file's syntax and is
 * parsed and checked as a file named name would be, with the file-only
 * sections (csms, store, http, log) taken from base; text that has one of
 * those, or no charger, is refused.  Returns 0 or -1 as cfg_load. */
int cfg_load_site(const char *name, const char *text, const struct cfg *base,
    struct cfg *cfg, struct cfg_errors *errors);

/* True when cfg has no charger: the gateway boots on its backend and
 * waits to be given its site (provisioning mode). */
bool cfg_provisioning(const struct cfg *cfg);

/* Makes *dst a copy of src (release it with cfg_clear). */
void cfg_copy(struct cfg *dst, const struct cfg *src);

/* Releases what cfg_load allocated and zeroes *cfg. */
void cfg_clear(struct cfg *cfg);

/* Frees the messages and empties *errors. */
void cfg_errors_free(struct cfg_errors *errors);

/* Prints the effective settings (defaults filled in) in the file's syntax
 * and units; the password is shown only as set or not set. */
void cfg_dump(const struct cfg *cfg, FILE *fp);

/* Prints only the site sections of cfg_dump (what a backend may push). */
void cfg_dump_site(const struct cfg *cfg, FILE *fp);

/* Checks a value the backend gives for option name ("balancer.mode",
 * "site.available-power-kw") against the schema's type and range, the
 * same rule as in the file.  Returns 0 with *out (an integer option's
 * value, W for a kW option, the index of an enumerated one), or -1 with
 * *cause (caller frees): the option, the value, why and what is allowed. */
int cfg_check_override(const char *name, const char *value, long *out,
    char **cause);

/* The quantities of DOMAIN.md §2's load-balancing rules, one definition
 * each, for the file's cross-checks and the backend's overrides. */
/* The chargers' minimum charging powers summed (W) with these Pmin;
 * *n_1ph and *n_3ph (optional) count the single- and three-phase ones. */
long cfg_pmin_sum_w(const struct cfg *c, int min_1ph_w, int min_3ph_w,
    int *n_1ph, int *n_3ph);
/* What the main breaker carries (W): A x V x phases; *phases optional. */
long cfg_breaker_w(const struct cfg *c, int *phases);
/* The chargers' offline powers summed (W): what chargers left on their
 * offline limits may draw. */
long cfg_offline_sum_w(const struct cfg *c);
/* True when a meter link is configured (modes alm and pv need one). */
bool cfg_has_meter(const struct cfg *c);

/* Names of enumerated values, as written in the file. */
const char *cfg_model_name(enum cfg_model model);
const char *cfg_link_kind_name(enum cfg_link_kind kind);
const char *cfg_balancer_mode_name(enum cfg_balancer_mode mode);
const char *cfg_pv_mode_name(enum cfg_pv_mode mode);
const char *cfg_meter_type_name(enum cfg_meter_type type);

/* The phases of the site's supply: 3 for the 3-phase distributions, else
 * 1. */
int cfg_distribution_phases(enum cfg_distribution d);

/* The connectors a model may have: *min..*max. */
void cfg_model_connectors(enum cfg_model model, int *min, int *max);

/* The OCPP id of each charger's first connector into first[] (one per
 * charger of c; its connectors take the ids after it): a charger's
 * ocpp-id when pinned, else the first id it had before (kept[i] > 0; kept
 * may be NULL) when those ids are still free, else the first free ids
 * after the charger before it in c.  Ids may leave gaps.  0, or -1 with
 * *bad (optional) = the charger that has no room (a pin over another's
 * ids, or no free ids left). */
int cfg_assign_ids(const struct cfg *c, const int *kept, int *first,
    size_t *bad);

/* Splits "host:port", "[v6]:port" or ":port" (host "" = any address);
 * 0 or -1. */
int cfg_split_listen(const char *s, char *host, size_t hlen, int *port);

#endif
