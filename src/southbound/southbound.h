/* Southbound: every Modbus conversation with the chargers and the meter.
 *
 * The daemon describes the site with the plain structs below (it translates
 * its configuration into them), calls sb_start(), and from then on only
 * exchanges data: it submits setpoints and commands (never blocks), and
 * learns about new readings through a file descriptor it polls.  Worker
 * threads do the blocking libmodbus calls: one per RTU bus (all its slaves
 * in turn) and a small fixed pool sharing every TCP link (a TCP device or
 * a dialled-in charger). */
#ifndef EDGE_SOUTHBOUND_H
#define EDGE_SOUTHBOUND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SB_MAX_CONNECTORS 8
#define SB_MAX_CHARGERS 256
/* Refused registers remembered per device. */
#define SB_MAX_UNSUPPORTED 16

/* Return codes of the public functions (0 = success). */
enum sb_err {
	SB_OK = 0,
	SB_ERR_CONFIG = -1,      /* a description is invalid (see cause) */
	SB_ERR_RANGE = -2,       /* a value is out of range */
	SB_ERR_NO_DEVICE = -3,   /* no such charger or connector */
	SB_ERR_UNSUPPORTED = -4, /* the model has no register for that */
	SB_ERR_BUSY = -5,        /* too many commands waiting */
	SB_ERR_SYSTEM = -6,      /* thread, socket or eventfd failure */
	SB_ERR_OFFLINE = -7,     /* the charger is not online */
	SB_ERR_DEVICE = -8,      /* the charger refused or did not answer */
};
/* Text for an sb_err code.  Static storage. */
const char *sb_strerror(int code);

/* Charger models: one register table each (docs/southbound.md). */
enum sb_model {
	SB_MODEL_AC_WALLBOX = 0,
	SB_MODEL_AC_COMPACT,
	SB_MODEL_AC_ULTRA,
	SB_MODEL_SINGLE,
	SB_MODEL_DC,
	SB_MODEL_COUNT
};
/* Parses a model name as in the configuration ("autel-ac-wallbox", ...).
 * Returns 0, or -1 for an unknown name. */
int sb_model_parse(const char *name, enum sb_model *model);
/* The configuration name of a model.  Static storage. */
const char *sb_model_name(enum sb_model model);
/* The connectors a model's register table addresses (manual §5.6): 2 on
 * the AC Ultra, 8 on DC models, 1 on the others; 0 for an unknown model.
 * The one source of truth for configuration checks. */
int sb_model_max_connectors(enum sb_model model);
/* The largest energy count a restored running total may hold, Wh. */
#define SB_ENERGY_MAX_WH 1e15
/* Chargers on one circuit at most (manual §2.1: 1 primary + 40). */
#define SB_MAX_CHARGERS_PER_CIRCUIT 40

enum sb_link_kind {
	SB_LINK_TCP = 0,    /* the gateway connects to the device */
	SB_LINK_TCP_LISTEN, /* the charger dials in to the gateway */
	SB_LINK_RTU,        /* RS-485 serial line, several slaves per bus */
};

/* The unit of a charger's limits: register 0 is written to match. */
enum sb_control_unit {
	SB_CONTROL_POWER = 0, /* limits in W */
	SB_CONTROL_CURRENT,   /* limits in A, written as 0.01 A */
};

/* Order of the two 16-bit words of a UINT32.  SB_WORDS_MODEL uses the
 * model's own (high word first for every model known so far).  A UINT64
 * is two UINT32 halves in that order, the low half first (manual §5.6). */
enum sb_word_order {
	SB_WORDS_MODEL = 0,
	SB_WORDS_HIGH_FIRST,
	SB_WORDS_LOW_FIRST,
};

enum sb_meter_type {
	SB_METER_NONE = 0,
	SB_METER_SDM630, /* three-phase */
	SB_METER_SDM230, /* single-phase */
	SB_METER_SDM120, /* single-phase */
};

/* A serial line: device path, 1200..115200 baud, parity 'N', 'E' or 'O',
 * 1 or 2 stop bits (8 data bits). */
struct sb_serial_conf {
	const char *device;
	int baud;
	char parity;
	int stop_bits;
};

/* One charger.  Strings are borrowed until sb_start() returns. */
struct sb_charger_conf {
	const char *name;           /* for log lines and errors */
	enum sb_model model;
	enum sb_link_kind link;
	const char *host;           /* tcp */
	int port;                   /* tcp, 1..65535 */
	int unit_id;                /* 1..247 (255 allowed on TCP) */
	const char *serial;         /* tcp-listen: the serial it reports */
	struct sb_serial_conf rtu;  /* rtu */
	int connectors;             /* 1..SB_MAX_CONNECTORS */
	enum sb_control_unit control_unit;
	enum sb_word_order word_order;
	/* The configured maximum power, W (0 = not configured: the
	 * device's 10119 is used); a reading above 1.2 x this is
	 * implausible (docs/southbound.md, "Plausibility"). */
	double max_power_w;
	/* Offline limit per connector (index 0 = connector 1), in the
	 * control unit (W or A); written on every (re)connect. */
	double offline_limit[SB_MAX_CONNECTORS];
	/* Models without a cumulative energy register (DC): the running
	 * total of a previous run, per connector, Wh (0 for a fresh start):
	 * the finished sessions' total and the session counter last seen
	 * (a reading's energy_base_wh and session_energy_wh). */
	double energy_base_wh[SB_MAX_CONNECTORS];
	double session_last_wh[SB_MAX_CONNECTORS];
};

/* The site meter (type SB_METER_NONE = no meter). */
struct sb_meter_conf {
	enum sb_meter_type type;
	enum sb_link_kind link; /* SB_LINK_TCP or SB_LINK_RTU */
	const char *host;
	int port;
	int unit_id;
	struct sb_serial_conf rtu;
	int poll_interval_ms; /* default 1000 */
	int max_age_s;        /* older reading = meter fault; default 3 */
	/* What the main breaker carries, W (0 = unknown); a power reading
	 * beyond 1.2 x this is implausible. */
	double max_power_w;
};

struct sb_conf {
	const char *listen;          /* "host:port" for tcp-listen chargers */
	int response_timeout_ms;     /* TCP; default 500 */
	int rtu_response_timeout_ms; /* RTU; default 500 (9600 baud) */
	int comm_timeout_s;          /* written to register 2; default 30 */
	int offline_after_failures;  /* default 3 */
	int poll_interval_ms;        /* chargers; default 1000 */
	int backoff_min_ms;          /* first retry of an offline device; 1000 */
	int backoff_max_ms;          /* retries back off up to this; 30000 */
	int meter_gap_ms;            /* pause before an RTU meter request; 100 */
	int listen_unit_id;          /* unit id used to ask a dialled-in
	                                charger its serial; default 1 */
	int reprobe_ms;              /* registers a device refused are asked
	                                again this often (and on every new
	                                connection); default 600000 */
	const struct sb_charger_conf *chargers;
	size_t n_chargers;
	struct sb_meter_conf meter;
};

/* Fills every field with its default (no chargers, no meter). */
void sb_conf_defaults(struct sb_conf *conf);

/* Why a device's last turn went wrong. */
enum sb_fault {
	SB_FAULT_NONE = 0,
	SB_FAULT_IO,        /* connection refused, timeout, bad frame */
	SB_FAULT_EXCEPTION, /* the device answered with a Modbus exception */
	SB_FAULT_READBACK,  /* a limit read back differs from what was written */
	SB_FAULT_IDENTITY,  /* the device is not the one configured */
	SB_FAULT_STALE,     /* meter: the last good reading is too old */
	SB_FAULT_IMPLAUSIBLE, /* a reading out of its physical range */
};
/* Text for an sb_fault.  Static storage. */
const char *sb_fault_name(enum sb_fault fault);

/* Connector status codes (registers 1y000 / 1000+x), as the charger
 * reports them. */
enum sb_status {
	SB_STATUS_AVAILABLE = 0,
	SB_STATUS_PREPARING_TAG = 1,
	SB_STATUS_PREPARING_EV = 2,
	SB_STATUS_CHARGING = 3,
	SB_STATUS_SUSPENDED_EV = 4,
	SB_STATUS_SUSPENDED_EVSE = 5,
	SB_STATUS_FINISHING = 6,
	SB_STATUS_RESERVED = 7,
	SB_STATUS_UNAVAILABLE = 8,
	SB_STATUS_UNAVAILABLE_FW = 9,
	SB_STATUS_FAULTED = 10,
	SB_STATUS_UNAVAILABLE_CONN = 11,
};

/* Modbus exchanges with one device, counted by its worker since start. */
#define SB_RT_BUCKETS 9   /* response-time buckets, the last one +Inf */
/* The upper bounds of the first SB_RT_BUCKETS - 1 buckets, ms. */
extern const double sb_rt_bucket_ms[SB_RT_BUCKETS - 1];
enum sb_io_error {
	SB_IOE_TIMEOUT = 0,  /* no answer within the response timeout */
	SB_IOE_EXCEPTION,    /* a Modbus exception (by code in exceptions) */
	SB_IOE_REFUSED,      /* the TCP connection was refused */
	SB_IOE_OTHER,        /* anything else: bad frame, reset, no device */
	SB_IOE_COUNT
};
#define SB_EXCEPTION_CODES 12 /* exception codes 1..11 */
struct sb_io_stats {
	uint64_t answers;                  /* requests answered (incl.
	                                      exceptions) */
	uint64_t rt_bucket[SB_RT_BUCKETS]; /* answers by response time, not
	                                      cumulative */
	double rt_sum_s;                   /* their response times, s */
	uint64_t errors[SB_IOE_COUNT];
	uint64_t exceptions[SB_EXCEPTION_CODES]; /* by code */
};
/* The name of a kind of error ("timeout", "exception", "refused",
 * "other").  Static storage. */
const char *sb_io_error_name(enum sb_io_error e);

/* What a connector reports.  Values the model lacks stay at their
 * "unknown" marker: -1 for integers, NAN for doubles. */
struct sb_connector_reading {
	int status;              /* enum sb_status, -1 unknown */
	double power_w;
	double voltage_v[3];     /* L1..L3 (DC: [0] = DC voltage) */
	double current_a[3];     /* L1..L3 (DC: [0] = DC current) */
	double phase_power_w[3];
	double energy_wh;        /* cumulative (AC) */
	double session_energy_wh;
	/* DC: the finished sessions' total under energy_wh (NAN on models
	 * with a cumulative register) */
	double energy_base_wh;
	int charge_time_s;
	int soc_pct;             /* DC only */
	int connector_type;      /* 4 Type 1, 5 Type 2 */
	/* Fault codes, European and US standard (Wallbox 1y141 / 1y143;
	 * the manual gives no meanings): 0 none, -1 not read. */
	int64_t fault_code_eu, fault_code_us;
	char id_token[40];       /* "" when none */
	/* The limit last written and read back, in the control unit, and
	 * the generation of the setpoint it came from (0 = none yet). */
	double limit_written;
	uint64_t limit_generation;
};

/* The connector's fault codes for people and for OCPP's vendorErrorCode
 * ("EU 00000001 US 00000000", at most 24 characters), or "" when the
 * charger reports none (0 or not read).  Fills buf, returns it. */
char *sb_fault_code_text(const struct sb_connector_reading *c, char *buf,
    size_t len);

/* A charger as last seen by its worker. */
struct sb_charger_reading {
	size_t index;             /* position in sb_conf.chargers */
	bool online;              /* false after offline_after_failures */
	bool identified;          /* identity read on this connection */
	char product_type[64];
	char firmware[48];
	char serial[40];
	int n_connectors;         /* reported by the charger */
	double max_power_w;
	double max_current_a;
	double max_offline_power_w; /* DC */
	int status;               /* whole charger, -1 unknown */
	/* register 21008 as read on connecting or written and read back
	 * (0 = three phases, 1..3 = L1..L3, 4..8 IT); -1 unknown or not
	 * listed for the model */
	int phase_switch;
	double power_w;
	struct sb_connector_reading conn[SB_MAX_CONNECTORS];
	enum sb_fault fault;      /* of the last failed exchange */
	char error[128];          /* its text, "" when none */
	unsigned failures;        /* consecutive failures so far */
	bool ro_uses_fc03;        /* input registers read with 03 */
	/* Registers the model's table lists but this charger refused with
	 * an exception ("0 control-mode, 10119 max-power"), "" when none. */
	char unsupported[160];
	uint64_t polls;           /* completed polls since start */
	uint64_t readback_errors; /* limit mismatches since start */
	uint64_t implausible;     /* polls refused as out of range */
	struct sb_io_stats io;    /* Modbus exchanges since start */
	uint64_t commands_done;   /* sequence of the last finished command */
	int command_result;       /* its result: 0 or an sb_err */
	int64_t updated_ms;       /* monotonic time of the last good poll */
	int64_t bus_cycle_ms;     /* RS-485: how long its bus takes to give
	                             each of its devices a turn, as last
	                             measured; 0 on TCP */
};

/* The meter as last seen. */
struct sb_meter_reading {
	bool present;
	bool fault;          /* no good reading within max_age_s */
	enum sb_fault why;
	char error[128];
	double voltage_v[3];
	double current_a[3];
	double power_w[3];
	double total_power_w; /* positive = import */
	double frequency_hz;
	double import_kwh;
	double export_kwh;
	uint64_t polls;
	uint64_t implausible; /* polls refused as out of range */
	struct sb_io_stats io; /* Modbus exchanges since start */
	int64_t updated_ms;   /* monotonic time of the last good reading */
	int64_t age_ms;       /* now - updated_ms, -1 when never read */
};

/* Commands a charger can be given (commands queue, up to 8 per charger). */
enum sb_command {
	SB_CMD_START = 0,   /* 3y000 = 0 (Wallbox: 30000) */
	SB_CMD_STOP,        /* 3y000 = 1 */
	SB_CMD_LOCK,        /* 3y001 = 0 */
	SB_CMD_UNLOCK,      /* 3y001 = 1 */
	SB_CMD_PHASE,       /* 21008 = arg (0..8), written and read back */
	SB_CMD_FIRMWARE,    /* 30002 = url (ASCII, up to SB_FW_URL_MAX) */
};

struct sb;

/* Checks the description, starts one worker per link (and the listener
 * for tcp-listen chargers).  Returns 0 and *out (free with sb_stop), or a
 * negative sb_err with *cause (caller frees) naming every problem. */
int sb_start(const struct sb_conf *conf, struct sb **out, char **cause);
/* Stops every worker, closes every connection, frees the context. */
void sb_stop(struct sb *sb);
/* Replaces *sbp, running, by a context started from conf, keeping what
 * it can: new charger i with keep[i] >= 0 is charger keep[i] of the
 * running context with the same description; it keeps what was learnt of
 * it, its setpoints, offline limits, queued commands and latest reading
 * (published again at once), and its open connection when its link is
 * the same (TCP: the same charger; RTU: the same bus settings): it is not
 * reconnected nor identified again.  The meter likewise when keep_meter.
 * Chargers without a keep entry start afresh; those of the running
 * context not kept are closed.  sb_fd() stays the same descriptor.  The
 * running workers end their current exchange first (at most a response
 * timeout).  keep may be NULL (nothing kept).  Returns 0; SB_ERR_CONFIG
 * with *cause when conf is invalid (*sbp runs on untouched); another
 * sb_err with *cause when the new context could not start (*sbp is then
 * NULL: everything is closed). */
int sb_restart(struct sb **sbp, const struct sb_conf *conf, const int *keep,
    bool keep_meter, char **cause);

/* A descriptor that becomes readable when new readings are waiting;
 * sb_take_chargers() / sb_meter_snapshot() clear it.  Owned by sb. */
int sb_fd(const struct sb *sb);
/* The TCP port the listener is bound to (for "host:0"), or -1. */
int sb_listen_port(const struct sb *sb);

/* Sets a connector's limit (connector 1..n) in the charger's control unit
 * (W or A).  Latest wins: an unwritten older value is dropped.  The
 * charger's worker is woken and writes it on its next turn, and writes it
 * again every comm_timeout_s / 3 (a connector never given a setpoint is
 * never written, and falls back to its offline limit after the charger's
 * comm timeout: give every connector one).  The value already submitted
 * is no new write: its generation stands.  Returns 0 and *generation (may
 * be NULL), which the reading's limit_generation reaches once the value is
 * written and read back. */
int sb_submit_setpoint(struct sb *sb, size_t charger, int connector,
    double limit, uint64_t *generation);
/* Changes a connector's offline limit; written (and read back) on the
 * next turn and on every reconnect (the value in force again: no write). */
int sb_set_offline_limit(struct sb *sb, size_t charger, int connector,
    double limit);
/* The longest firmware URL register 30002 holds (128 registers), bytes. */
#define SB_FW_URL_MAX 256
/* True when charger's model lists a register for cmd (the manual's
 * table, e.g. 30002 firmware URL on the AC Wallbox only). */
bool sb_charger_has_command(const struct sb *sb, size_t charger,
    enum sb_command cmd);
/* Queues a command for an online charger (SB_ERR_OFFLINE otherwise);
 * *seq (may be NULL) is the number commands_done reaches when it has run,
 * with command_result 0 or SB_ERR_DEVICE (also when the charger went
 * offline before it ran).  url only for SB_CMD_FIRMWARE. */
int sb_submit_command(struct sb *sb, size_t charger, int connector,
    enum sb_command cmd, int arg, const char *url, uint64_t *seq);
/* Wakes the chargers' workers to poll now; a charger polled so polls
 * on its own again only after 1.5 poll intervals without a request, so
 * requests made once per interval set the pace. */
void sb_poll_now(struct sb *sb);

/* Copies the readings of chargers that changed since the last call into
 * out (up to max), clears the wake-up descriptor, returns the count. */
size_t sb_take_chargers(struct sb *sb, struct sb_charger_reading *out,
    size_t max);
/* Copies one charger's latest reading.  Returns 0 or SB_ERR_NO_DEVICE. */
int sb_charger_snapshot(struct sb *sb, size_t charger,
    struct sb_charger_reading *out);
/* Copies the meter's latest reading and judges its age against now_ms
 * (monotonic): older than max_age_s = fault. */
void sb_meter_snapshot(struct sb *sb, int64_t now_ms,
    struct sb_meter_reading *out);


/* ---- one-shot identity probe (ocpp-edgectl scan; probe.c) ------------ */

/* What answered at one address.  Probing only reads; it never writes. */
enum sb_probe_kind {
	SB_PROBE_NOTHING = 0, /* no answer, or nothing recognisable */
	SB_PROBE_CHARGER,
	SB_PROBE_METER,
};

struct sb_probe_result {
	enum sb_probe_kind kind;
	char error[160];          /* SB_PROBE_NOTHING: why */
	/* charger */
	enum sb_model model;
	bool model_guessed;       /* product type not recognised */
	char product_type[64];
	char firmware[48];
	char serial[40];
	int n_connectors;         /* 0 = not reported */
	double max_power_w;       /* NAN = not reported */
	double max_current_a;     /* NAN = not reported */
	double max_offline_power_w; /* DC; NAN = not reported */
	int phases;               /* 1 or 3; 0 = could not tell */
	enum sb_word_order word_order; /* SB_WORDS_LOW_FIRST when only that
	                                  decodes the maximum sensibly */
	bool ro_uses_fc03;        /* the device refused function 04 */
	/* meter */
	enum sb_meter_type meter_type;
	double voltage_v[3];
	double total_power_w;
};

struct sb_prober;

/* Opens a Modbus TCP connection (serial == NULL) to host:port, or a
 * serial line, with a response timeout of timeout_ms.  Returns 0 and
 * *out (close with sb_probe_close), or SB_ERR_DEVICE (connection refused
 * or timed out) / SB_ERR_CONFIG with *cause (caller frees). */
int sb_probe_open(const char *host, int port,
    const struct sb_serial_conf *serial, int timeout_ms,
    struct sb_prober **out, char **cause);
/* The same over a TCP socket a charger opened to us ("charger as
 * client"); the prober owns fd from then on (closed by sb_probe_close,
 * also on failure). */
int sb_probe_adopt(int fd, int timeout_ms, struct sb_prober **out,
    char **cause);
/* Reads the identity of whatever answers at unit_id: an Autel charger
 * (product type, firmware, serial, connectors, maxima, phases, word
 * order) or an Eastron meter.  Returns 0 with out->kind (NOTHING with
 * out->error when nothing recognisable answered). */
int sb_probe_unit(struct sb_prober *p, int unit_id,
    struct sb_probe_result *out);
/* Reads count (1..125) registers from addr at unit_id, read-only: with
 * function fc (3 or 4), or fc 0 for 04 then 03 when the device answers
 * "illegal function".  Returns 0 and *fc_used, or SB_ERR_RANGE, or
 * SB_ERR_DEVICE with *cause (caller frees). */
int sb_probe_read(struct sb_prober *p, int unit_id, int fc, unsigned addr,
    unsigned count, uint16_t *out, int *fc_used, char **cause);
/* Changes the slave id of the device at unit_id to new_id (1..247) the
 * way the manual says (§5.5): register 3, then 4 with the same value; the
 * only write a prober makes.  Returns 0, or SB_ERR_RANGE / SB_ERR_DEVICE
 * with *cause (caller frees). */
int sb_probe_set_slave_id(struct sb_prober *p, int unit_id, int new_id,
    char **cause);
/* Closes the connection and frees the prober (NULL is accepted). */
void sb_probe_close(struct sb_prober *p);

#endif
