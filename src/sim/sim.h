/* ocpp-edge-sim: a whole charging site on loopback (chargers, EVs, an
 * Eastron meter) speaking Modbus TCP and RTU, driven by a scenario file and
 * a control socket.  This header is private to src/sim/. */
#ifndef EDGE_SIM_H
#define EDGE_SIM_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_MAX_CONNECTORS 8
#define SIM_NAME_MAX 32
#define SIM_IDTAG_MAX 36
#define SIM_FOLLOW_QUEUE 32
#define SIM_FW_URL_REGS 128
#define SIM_MAX_REFUSE 16

/* Modbus exception codes the simulator answers with. */
#define SIM_EX_ILLEGAL_FUNCTION 1
#define SIM_EX_ILLEGAL_ADDRESS 2
#define SIM_EX_ILLEGAL_VALUE 3

enum sim_model {
	SIM_MODEL_AC_WALLBOX,
	SIM_MODEL_AC_COMPACT,
	SIM_MODEL_AC_ULTRA,
	SIM_MODEL_SINGLE,
	SIM_MODEL_DC,
	SIM_MODEL_DC_HIPOWER,
};

enum sim_link {
	SIM_LINK_TCP,        /* charger is the Modbus TCP server */
	SIM_LINK_TCP_DIAL,   /* charger dials the gateway ("tcp-listen") */
	SIM_LINK_RTU,        /* charger is a slave on the RTU bus (pty) */
};

/* A firmware upgrade started by a URL in 30002 (manual §5.6: the charger
 * fetches the file over HTTP(S) itself and installs it).  The simulator
 * does not fetch: each step takes its fixed time below. */
enum sim_fw_step {
	SIM_FW_IDLE,
	SIM_FW_DOWNLOADING, /* status as before */
	SIM_FW_INSTALLING,  /* connectors read 9, unavailable (fw update) */
	SIM_FW_REBOOTING,   /* connections closed, not listening */
};
#define SIM_FW_DOWNLOAD_MS 1000
#define SIM_FW_INSTALL_MS 2000
#define SIM_FW_REBOOT_MS 1500

enum sim_silence {
	SIM_SILENCE_OFF,
	SIM_SILENCE_DROP,    /* reads requests, never answers */
	SIM_SILENCE_CLOSE,   /* closes its connections and stops listening */
};

/* What a model offers, apart from the register table itself. */
struct sim_model_info {
	const char *name;        /* scenario / configuration name */
	const char *product;     /* default product type (register 100) */
	bool dc;                 /* x = 4 x connector layout */
	int max_connectors;
	int default_connectors;
	int default_phases;
	uint32_t default_max_power_w;
	const char *conf_model;  /* the gateway's model for it */
};

/* A time-shifted command: the EV follows `limit_w` from `at_ms` on. */
struct sim_follow {
	int64_t at_ms;
	double limit_w;
};

struct sim_connector {
	/* Holding registers (raw values as written). */
	uint32_t lim_power_w;        /* 2y000 / 1600+x */
	uint32_t lim_current_ca;     /* 2y002 / 1700+x, 0.01 A */
	uint32_t off_power_w;        /* 2y004 / 1800+x */
	uint32_t off_current_ca;     /* 2y006 / 1900+x, 0.01 A */
	bool lim_by_current;         /* last limit written was a current */
	bool off_by_current;         /* same for the offline limit */

	/* The EV. */
	bool plugged;
	bool ev_suspended;           /* EV pauses: suspendedEV */
	bool finished;               /* session stopped: finishing */
	bool waiting_start;          /* plugged, waiting for a start command */
	bool faulted;
	uint32_t ev_max_w;
	int ev_phases;
	char idtag[SIM_IDTAG_MAX + 1];
	double soc_pct;              /* < 0: not reported */
	double battery_wh;

	/* Physics. */
	double cmd_w;                /* the charger's current command */
	double applied_w;            /* the limit the EV follows now */
	struct sim_follow queue[SIM_FOLLOW_QUEUE];
	int queue_len;
	double power_w;              /* what it draws now */
	double energy_wh;            /* cumulative meter of the connector */
	double session_wh;
	int64_t session_start_ms;
	int64_t session_end_ms;
	int connector_type;          /* 4 Type 1, 5 Type 2 */
};

struct sim_conn;

struct sim_charger {
	char name[SIM_NAME_MAX];
	const struct sim_model_info *model;
	enum sim_model model_id;
	enum sim_link link;
	int port;                    /* TCP: requested (0 = pick), then bound */
	char dial_host[64];          /* TCP_DIAL: where the gateway listens */
	int dial_port;
	int unit_id;
	char serial[33];
	char product[61];
	char firmware[41];
	int connectors;
	int phases;                  /* 1 or 3 */
	int wired_phase;             /* 0 = L1, 1 = L2, 2 = L3 */
	uint32_t max_power_w;
	uint32_t max_offline_power_w;
	bool word_high_first;        /* UINT32 word order */
	int word_order;              /* 0 model, 1 high-first, 2 low-first */
	bool answer_fc04;            /* false: "illegal function" to 04 */
	bool lenient;                /* also the registers the manual leaves
	                              * open for the model (assumed rows) */
	uint16_t refuse[SIM_MAX_REFUSE]; /* addresses answering exception 02 */
	int n_refuse;
	bool has_mode_reg;           /* register 0 exists (set by build) */

	/* Holding registers. */
	uint16_t control_mode;       /* 0 power, 1 current */
	uint16_t link_type;          /* 0 RS-485, 1 TCP */
	uint16_t comm_timeout_s;     /* 0 = never falls back */
	uint16_t slave_id_pending;
	uint16_t phase_switch;       /* 21008 */
	char fw_url[SIM_FW_URL_REGS * 2 + 1];
	uint16_t fw_url_regs[SIM_FW_URL_REGS];
	enum sim_fw_step fw_step;
	int64_t fw_until_ms;         /* the step ends then */
	bool fw_fail;                /* the next install fails (control) */
	char fw_next[41];            /* the version it installs; "" = the
	                              * URL's last path segment */

	bool faulted;                /* whole charger: status 10 */
	bool garbled;                /* its power registers read garble_w */
	double garble_w;
	enum sim_silence silence;
	int64_t reply_delay_ms;      /* TCP replies go out this much later */
	int64_t last_write_ms;       /* last write from the controller */
	bool offline;                /* applying offline limits now */
	uint64_t requests;           /* Modbus requests answered */
	uint64_t writes;
	uint64_t fw_updates;         /* firmware URL writes */
	uint64_t phase_switches;     /* 21008 changes */
	uint64_t phase_switches_refused; /* ... refused: power was flowing */
	uint64_t accepted;           /* Modbus TCP connections accepted */
	uint64_t unlocks;            /* unlock commands */

	/* index 0 = the charger as a whole, 1..connectors = connectors */
	struct sim_connector conn[SIM_MAX_CONNECTORS + 1];

	/* Register table built for this charger. */
	struct sim_field *fields;
	size_t n_fields;

	/* Network state (owned by net.c). */
	int listen_fd;
	int dial_fd;                 /* -1 when not connected */
	bool dial_connecting;
	int64_t redial_at_ms;
	uint64_t dials;              /* successful connections made */
	bool dial_failing;           /* told the user dialling fails */
};

enum sim_meter_type {
	SIM_METER_SDM630,
	SIM_METER_SDM230,
	SIM_METER_SDM120,
};

struct sim_meter {
	bool present;
	enum sim_meter_type type;
	bool tcp;                    /* serve on TCP */
	int port;                    /* requested, then bound */
	bool rtu;                    /* serve on the pseudo-terminal */
	int unit_id;
	bool silent;
	bool garbled;                /* total and L1 power read garble_w */
	double garble_w;             /* any float, NaN and Inf included */
	int min_gap_ms;              /* RTU: requests sooner after the last
	                              * reply get no answer (0 = off) */
	int64_t last_reply_ms;       /* when its last RTU reply ended */
	uint64_t ignored;            /* requests dropped for min_gap_ms */
	double v_phase[3];
	double i_phase[3];
	double p_phase[3];
	double total_w;
	double import_kwh;
	double export_kwh;
	double frequency_hz;
	uint64_t requests;
};

struct sim_rtu_bus {
	bool present;
	int baud;
	char parity;                 /* 'N', 'E', 'O' */
	int stop_bits;
	bool emulate_speed;          /* delay replies by the wire time */
	int master_fd;
	int slave_fd;                /* kept open so the line never hangs up */
	char path[128];
};

/* One timed control command of the scenario's timeline. */
struct sim_step {
	double at_s;
	char *command;
	bool done;
};

struct sim_site {
	double voltage_v;
	double household_w;
	double pv_w;
	double household_split[3];   /* share of household per phase */
	double dc_voltage_v;
	double min_current_a;        /* AC EVs cannot charge below this */
	int64_t follow_delay_ms;
	bool lenient;                /* default of the chargers' "registers" */
	double ramp_w_per_s;         /* EVs rise this fast; 0 = at once */
	double available_power_kw;
	double main_breaker_a;       /* 0: the smallest that carries it */
	char distribution[16];
	char site_id[64];
	char csms_url[256];
	char gateway_host[64];       /* for dialling chargers */
	int gateway_port;

	struct sim_charger *chargers;
	size_t n_chargers;
	struct sim_meter meter;
	struct sim_rtu_bus bus;

	struct sim_step *steps;
	size_t n_steps;
	double timeline_repeat_s;    /* 0 = run once */
	int64_t timeline_base_ms;

	int64_t start_ms;
	int64_t last_update_ms;
};

/* --- model.c: register maps and physics --- */

enum sim_type { SIM_U16, SIM_U32, SIM_U64, SIM_ASCII };
enum sim_access { SIM_RO, SIM_RW, SIM_WO };

/* One register field of a charger instance. */
struct sim_field {
	uint16_t addr;
	uint16_t count;
	enum sim_type type;
	enum sim_access access;
	int what;                    /* enum in model.c */
	int conn;                    /* 0 = charger, 1..8 */
	int phase;                   /* 0..2 where it applies */
};

/* Looks a model up by its configuration name; NULL when unknown. */
const struct sim_model_info *sim_model_find(const char *name,
    enum sim_model *id);
/* The names of every model, comma separated (static string). */
const char *sim_model_names(void);

/* Sets a charger's defaults from its model (before scenario overrides). */
void sim_charger_defaults(struct sim_charger *c, enum sim_model id);
/* Builds the register table of a configured charger; 0 or -1 with *cause
 * (caller frees). */
int sim_charger_build(struct sim_charger *c, char **cause);
void sim_charger_free(struct sim_charger *c);

/* Reads n registers from addr with function fc (3 or 4) into out.
 * Returns 0 or a Modbus exception code. */
int sim_charger_read(struct sim_site *s, struct sim_charger *c, int fc,
    uint16_t addr, uint16_t n, uint16_t *out);
/* Writes n registers at addr (function 6 or 16).  Returns 0 or a Modbus
 * exception code. */
int sim_charger_write(struct sim_site *s, struct sim_charger *c,
    uint16_t addr, uint16_t n, const uint16_t *vals, int64_t now_ms);
/* Reads n meter input registers.  Returns 0 or an exception code. */
int sim_meter_read(struct sim_meter *m, uint16_t addr, uint16_t n,
    uint16_t *out);

/* Advances the whole site to now_ms: offline fallbacks, follow delays,
 * power, energy, SoC, the meter. */
void sim_site_update(struct sim_site *s, int64_t now_ms);
/* The status register value of connector k (0 = charger). */
int sim_connector_status(const struct sim_charger *c, int k);
/* The charger's total power in W. */
double sim_charger_power(const struct sim_charger *c);
/* The power (W) per site phase L1..L3 that the charger draws. */
void sim_charger_phase_power(const struct sim_charger *c, double out[3]);
/* The command (W) of connector k as the charger computes it now. */
double sim_connector_command(const struct sim_charger *c, int k,
    const struct sim_site *s);

/* EV actions; each returns 0 or -1 with *cause (caller frees). */
int sim_ev_plug(struct sim_site *s, struct sim_charger *c, int k,
    uint32_t evmax_w, int phases, const char *idtag, double soc,
    double battery_kwh, bool wait_start, int64_t now_ms, char **cause);
void sim_ev_unplug(struct sim_charger *c, int k, int64_t now_ms);

struct sim_charger *sim_site_charger(struct sim_site *s, const char *name);
struct sim_charger *sim_site_charger_by_unit(struct sim_site *s, int unit);

/* --- modbus.c: PDU processing and framing --- */

/* Handles one request PDU for a charger (c) or the meter (c == NULL).
 * Writes the response PDU into resp (at least 256 bytes); returns its
 * length. */
size_t sim_modbus_pdu(struct sim_site *s, struct sim_charger *c,
    const uint8_t *req, size_t len, uint8_t *resp, int64_t now_ms);
/* Modbus RTU CRC-16. */
uint16_t sim_crc16(const uint8_t *buf, size_t len);
/* Length of a complete RTU request at the start of buf (n bytes): the
 * frame length, 0 when more bytes are needed, -1 when it cannot be framed. */
int sim_rtu_request_len(const uint8_t *buf, size_t n);

/* --- scenario.c --- */

/* Loads a scenario JSON file into s (zeroed by the caller).  Returns 0 or
 * -1 with *cause (caller frees) naming the field and valid range. */
int sim_scenario_load(struct sim_site *s, const char *path, char **cause);
/* Same, from a string (for tests). */
int sim_scenario_parse(struct sim_site *s, const char *text, char **cause);
void sim_site_free(struct sim_site *s);
/* Parses "HOST:PORT"; where names the field in *cause (caller frees). */
int sim_parse_hostport(const char *where, const char *text, char *host,
    size_t hostlen, int *port, char **cause);

/* --- control.c --- */

/* Executes one control command line; returns the reply line (without
 * newline), "ok ..." or "error ...".  Caller frees. */
char *sim_control(struct sim_site *s, const char *line, int64_t now_ms);
/* Runs the timeline steps due at now_ms (timeline_base_ms = start);
 * lowers *next to the time of the next step. */
void sim_timeline_run(struct sim_site *s, int64_t now_ms, int64_t *next);
/* The whole site as compact JSON.  Caller frees. */
char *sim_status_json(struct sim_site *s);

/* --- output.c --- */

/* Writes the ready file (JSON) atomically; 0 or -1 with errno. */
int sim_write_ready(struct sim_site *s, const char *path,
    const char *control_path);
/* The ready-file contents as compact JSON.  Caller frees. */
char *sim_ready_json(struct sim_site *s, const char *control_path);
/* Writes an ocpp-edge.conf matching the site; 0 or -1 with errno. */
int sim_write_config(struct sim_site *s, const char *path);

/* --- net.c --- */

struct sim_net_options {
	const char *control_path;
	const char *ready_path;
	const char *config_path;
	const char *pty_link;        /* symlink to the pty, or NULL */
	int tick_ms;
	int redial_ms;
};

/* Binds every port, opens the pty and the control socket.  0 or -1 with
 * *cause (caller frees). */
int sim_net_open(struct sim_site *s, const struct sim_net_options *o,
    char **cause);
/* Runs the loop until *stop becomes non-zero.  Returns 0 or -1. */
int sim_net_run(struct sim_site *s, const struct sim_net_options *o,
    volatile sig_atomic_t *stop);
/* Closes every socket and removes the control socket. */
void sim_net_close(struct sim_site *s, const struct sim_net_options *o);
/* Number of open Modbus connections of charger c (the meter if NULL). */
int sim_net_connections(const struct sim_charger *c);
/* Applies a silence change to the network side (close / reopen). */
void sim_net_silence_changed(struct sim_site *s, struct sim_charger *c);
/* Moves the chargers' firmware upgrades on to now_ms (the network loop
 * calls it, outside any request: a reboot closes connections). */
void sim_fw_advance(struct sim_site *s, int64_t now_ms);
/* The name of a firmware step (static string). */
const char *sim_fw_step_name(enum sim_fw_step step);

#endif
