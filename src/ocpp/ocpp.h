/* OCPP upstream session: the gateway as one charging station on a CSMS,
 * over OCPP-J 1.6 or 2.0.1 on a libwebsockets client connection.
 *
 * The daemon owns the libwebsockets context and the station model; it
 * fills the model from what the southbound reads, calls
 * ocpp_session_service() from its loop, and implements the callbacks
 * (actions on chargers, configuration it owns) and the durable queue
 * (transaction messages) with its store.  Nothing here includes the
 * store or the southbound. */
#ifndef EDGE_OCPP_H
#define EDGE_OCPP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lws_context;
struct lws_context_creation_info;
struct lws_protocols;

enum ocpp_version {
	OCPP_V16 = 0,
	OCPP_V201,
};

/* Websocket subprotocol name of a version: "ocpp1.6" or "ocpp2.0.1". */
const char *ocpp_version_subprotocol(enum ocpp_version v);
/* Parses "1.6" or "2.0.1" (also the subprotocol names); 0 or -1. */
int ocpp_version_parse(const char *s, enum ocpp_version *v);

/* ---- RPC error codes (OCPP-J), one enum for both versions ---- */
enum ocpp_rpc_error {
	OCPP_RPC_OK = 0,
	OCPP_RPC_FORMAT,		/* 1.6 FormationViolation, 2.0.1 FormatViolation */
	OCPP_RPC_FRAMEWORK,		/* 2.0.1 RpcFrameworkError */
	OCPP_RPC_MESSAGE_TYPE,		/* 2.0.1 MessageTypeNotSupported */
	OCPP_RPC_PROTOCOL,		/* ProtocolError */
	OCPP_RPC_PROPERTY,		/* PropertyConstraintViolation */
	OCPP_RPC_OCCURRENCE,		/* Occur(r)enceConstraintViolation */
	OCPP_RPC_TYPE,			/* TypeConstraintViolation */
	OCPP_RPC_NOT_IMPLEMENTED,	/* NotImplemented */
	OCPP_RPC_NOT_SUPPORTED,		/* NotSupported */
	OCPP_RPC_SECURITY,		/* SecurityError */
	OCPP_RPC_GENERIC,		/* GenericError */
	OCPP_RPC_INTERNAL,		/* InternalError */
};

/* The errorCode string of a code in a version's vocabulary (static). */
const char *ocpp_rpc_error_name(enum ocpp_version v, enum ocpp_rpc_error e);

/* ---- Station model: filled by the daemon ---- */
enum ocpp_conn_status {
	OCPP_ST_AVAILABLE = 0,
	OCPP_ST_PREPARING,
	OCPP_ST_CHARGING,
	OCPP_ST_SUSPENDED_EV,
	OCPP_ST_SUSPENDED_EVSE,
	OCPP_ST_FINISHING,
	OCPP_ST_RESERVED,
	OCPP_ST_UNAVAILABLE,
	OCPP_ST_FAULTED,
};

/* 1.6 StatusNotification status name of a state ("Available", …). */
const char *ocpp_status_name16(enum ocpp_conn_status st);
/* Parses a 1.6 status name; 0 or -1. */
int ocpp_status_parse(const char *s, enum ocpp_conn_status *st);

#define OCPP_ID_TOKEN_MAX 36
#define OCPP_VENDOR_ERROR_MAX 50	/* 1.6 vendorErrorCode: CiString50 */

/* One connector (1.6) / EVSE with one connector (2.0.1).  Index 0 of the
 * station's array is the site (grid meter); 1..n the OCPP ids, which may
 * leave gaps (absent): an id no connector has is never reported and a
 * request for it is answered as for an id out of range. */
struct ocpp_connector {
	enum ocpp_conn_status status;
	bool fault_error;		/* faulted: "OtherError" instead of "NoError" */
	/* The charger's own fault code ("" none): 1.6 vendorErrorCode,
	 * with errorCode "OtherError" whatever the status. */
	char vendor_error[OCPP_VENDOR_ERROR_MAX + 1];
	double power_w;			/* active power import */
	double energy_wh;		/* energy register (import) */
	double voltage_v[3];		/* per phase L1..L3; 0 = not measured */
	double current_a[3];
	int phases;			/* 1 or 3 */
	int connector_type;		/* 1y145: 4 Type 1, 5 Type 2; else
					 * unknown */
	double max_power_w;		/* the charger's maximum; 0 unknown */
	int wired_phase;		/* 1 phase: the one it is on, 0 = L1 */
	bool meter_valid;		/* false: the readings are stale / absent */
	char id_token[OCPP_ID_TOKEN_MAX + 1]; /* IdToken that started it; "" */
	/* How long the charger says its current session has charged, s;
	 * -1 when it does not tell.  Going back means a new session. */
	int charge_time_s;
	/* Not read since start, or the charger does not answer: status,
	 * energy and IdToken are the last known ones and no transaction
	 * starts or ends on them. */
	bool stale;
	bool absent;			/* no connector has this id (a gap) */
};

struct ocpp_station {
	const char *vendor;
	const char *model;
	const char *serial;		/* may be "" */
	const char *firmware;		/* may be "" */
	int n_connectors;		/* the highest connector id (0 = none) */
	struct ocpp_connector *conn;	/* n_connectors + 1 entries, [0] = site */
};

/* ---- Settings (from the configuration file) ---- */
#define OCPP_PHASE_ROTATION_MAX 500	/* a 1.6 configuration value */
#define OCPP_RESET_RETRIES_MAX 10	/* ResetRetries: 0..10 */
#define OCPP_ORGANIZATION_MAX 64	/* X.520 organizationName */
enum ocpp_time_source {
	OCPP_TIME_AUTO = 0,		/* TimeSource "NTP,Heartbeat" */
	OCPP_TIME_CSMS,			/* "Heartbeat" */
	OCPP_TIME_SYSTEM,		/* "NTP" */
};
struct ocpp_settings {
	enum ocpp_version version;
	const char *url;		/* ws://host:port/path or wss://… */
	const char *identity;
	int security_profile;		/* 1, 2 or 3 */
	const char *password;		/* 16..40 characters; profile 1 may
					 * have none (no Authorization) */
	const char *ca_file;		/* wss: CA bundle; "" = OpenSSL's
					 * default store */
	const char *client_cert;	/* profile 3 */
	const char *client_key;		/* profile 3 */
	/* Certificates the backend installs or signs (created 0700 when
	 * needed); NULL or "" = certificate messages are refused (Rejected,
	 * NotFound). */
	const char *cert_dir;
	int heartbeat_interval_s;	/* until the backend sets one */
	int retry_backoff_min_s;	/* RetryBackOffWaitMinimum */
	int retry_backoff_random_s;	/* RetryBackOffRandomRange */
	int retry_backoff_repeat;	/* RetryBackOffRepeatTimes */
	int ping_interval_s;		/* 0 = no client pings */
	int ping_timeout_s;
	int call_timeout_s;		/* response timeout of our CALLs */
	int meter_interval_s;		/* MeterValueSampleInterval; 0 = off */
	int connection_timeout_s;	/* ConnectionTimeOut: a remote start
					 * without a transaction after this
					 * long is withdrawn; 0 = never */
	int aligned_interval_s;		/* ClockAlignedDataInterval; 0 = off */
	/* MeterValuesSampledData / MeterValuesAlignedData /
	 * StopTxnSampledData: the measurands sent, as OCPP_MEAS_* bits. */
	int sampled_measurands, aligned_measurands, stop_measurands;
	/* StopTxnAlignedData: the clock-aligned measurands kept during a
	 * transaction and sent with its end; 0 = none. */
	int stop_aligned_measurands;
	int start_measurands;		/* 2.0.1 TxStartedMeasurands */
	/* Where wall time comes from (2.0.1 ClockCtrlr TimeSource):
	 * OCPP_TIME_AUTO the system clock while the kernel says it is
	 * synchronised, else the CSMS's currentTime (BootNotification /
	 * Heartbeat answers) as an offset; OCPP_TIME_CSMS always the
	 * CSMS's; OCPP_TIME_SYSTEM never.  The system clock is never set. */
	int time_source;
	int reset_retries;		/* ResetRetries: the restart after a
					 * backend Reset is tried again this
					 * many times when it fails */
	int tx_attempts;		/* TransactionMessageAttempts / MessageAttempts */
	int tx_retry_interval_s;	/* …RetryInterval / MessageAttemptInterval */
	const char *default_id_tag;	/* when the charger reports no IdToken */
	int unlock_on_ev_disconnect;	/* 1.6 UnlockConnectorOnEVSideDisconnect:
					 * 1 = the connector is unlocked when
					 * a transaction ends by the EV's
					 * cable being unplugged */
	int stop_tx_on_invalid_id;	/* 1: a transaction whose IdToken the
					 * backend refuses is stopped */
	/* Local authorization of the IdTokens chargers report (1.6 keys of
	 * the same names; 2.0.1 AuthCtrlr, AuthCacheCtrlr, LocalAuthListCtrlr):
	 * 1 = on. */
	int local_pre_authorize;	/* LocalPreAuthorize */
	int local_authorize_offline;	/* LocalAuthorizeOffline */
	int auth_cache_enabled;		/* AuthorizationCacheEnabled */
	int local_list_enabled;		/* LocalAuthListEnabled */
	int offline_tx_unknown_id;	/* AllowOfflineTxForUnknownId */
	int tx_unreachable_max_s;	/* a transaction whose charger does not
					 * answer for this long ends; 0 = never */
	int boot_retry_s;		/* Rejected/Pending with interval 0 */
	/* ConnectorPhaseRotation (1.6): "<connector>.<rotation>" items. */
	char phase_rotation[OCPP_PHASE_ROTATION_MAX + 1];
	/* 1.6 CpoName / 2.0.1 SecurityCtrlr OrganizationName: the O= of the
	 * certificate signing requests; "" = the station's vendor. */
	char organization[OCPP_ORGANIZATION_MAX + 1];
};

/* Fills defaults (heartbeat 300 s, back-off 10/10/5, ping 30/10, call
 * timeout 30 s, meter 60 s, 3 attempts every 60 s, id tag "gateway", no
 * end to the transaction of an unreachable charger; Authorize before a
 * charger's IdToken starts a transaction, list, cache, offline list use
 * and offline unknown IdTokens on). */
void ocpp_settings_defaults(struct ocpp_settings *st);

/* Checks settings: identity, password length 16..40 (profile 2; profile 1
 * when one is set), ranges, and for profile 3 the certificate and a key of
 * RSA >= 2048 or EC >= 224 bits.  The URL scheme against the profile is
 * checked by ocpp_session_new.  Call it before creating the lws context
 * (OpenSSL may refuse a weak key with a less helpful message).  Returns
 * 0, or -1 with *cause (caller frees). */
int ocpp_settings_check(const struct ocpp_settings *st, char **cause);

/* Applies a session-owned key the daemon persisted after config_changed()
 * (1.6 name, e.g. "HeartbeatInterval", or for a 2.0.1 variable without one
 * "Component/Variable") to settings before the session is
 * created.  Returns 0, or -1 when the key is not the session's or the value
 * is out of its range (then st is unchanged). */
int ocpp_settings_apply(struct ocpp_settings *st, const char *key16,
    const char *value);

/* ---- Durable queue of transaction messages (the daemon's store) ---- */
struct ocpp_queued {
	int64_t id;			/* queue position, increasing */
	char *action;			/* caller of peek frees */
	char *payload;			/* JSON text; caller of peek frees */
	int attempts;			/* sends that failed so far */
};

/* The session is the only writer of the queue: after peek found it empty
 * it asks again only once it enqueued something. */
struct ocpp_queue_ops {
	/* Appends a message and, in the same store transaction, sets the
	 * session state key (when not NULL; value "" deletes it), so that a
	 * crash never leaves one without the other.  0 or negative. */
	int (*enqueue)(void *ud, const char *action, const char *payload,
	    const char *state_key, const char *state_value);
	/* Oldest message, including one not committed yet: 0 and *out
	 * filled, 1 when empty, negative on error. */
	int (*peek)(void *ud, struct ocpp_queued *out);
	/* Removes message id (delivered, or given up) and sets the state key
	 * as enqueue does, atomically. */
	int (*ack)(void *ud, int64_t id, const char *state_key,
	    const char *state_value);
	/* Records the number of failed sends of message id. */
	int (*set_attempts)(void *ud, int64_t id, int attempts);
	/* Small durable key/value state of the session (open transactions,
	 * transaction ids from the backend).  0 and value copied (truncated
	 * to len), 1 when absent, negative on error. */
	int (*state_get)(void *ud, const char *key, char *buf, size_t len);
	int (*state_set)(void *ud, const char *key, const char *value);
};

/* ---- Daemon callbacks ---- */
enum ocpp_result {
	OCPP_ACCEPTED = 0,
	OCPP_REJECTED,
	OCPP_SCHEDULED,		/* availability: after the transaction ends */
	OCPP_REBOOT_REQUIRED,	/* configuration: takes effect after a reset */
	OCPP_NOT_SUPPORTED,
	OCPP_UNKNOWN,		/* configuration: no such key */
};

/* Measurands the station can report (MeterValuesSampledData etc.). */
#define OCPP_MEAS_ENERGY 1	/* Energy.Active.Import.Register, Wh */
#define OCPP_MEAS_POWER 2	/* Power.Active.Import, W */
#define OCPP_MEAS_CURRENT 4	/* Current.Import per phase, A */
#define OCPP_MEAS_VOLTAGE 8	/* Voltage per phase to neutral, V */
#define OCPP_MEAS_ALL 15

/* A configuration key / device-model variable the daemon owns (e.g. the
 * load-balancing settings).  key16 is the 1.6 key; component/variable
 * the 2.0.1 name. */
struct ocpp_ext_key {
	const char *key16;
	const char *component;
	const char *variable;
	bool readonly;
};

struct ocpp_callbacks {
	/* RemoteStart / RequestStart on a connector (1..n) with an IdToken;
	 * profile_json is the attached charging profile or NULL. */
	enum ocpp_result (*remote_start)(void *ud, int connector,
	    const char *id_token, const char *profile_json);
	enum ocpp_result (*remote_stop)(void *ud, int connector);
	enum ocpp_result (*unlock)(void *ud, int connector);
	/* connector 0 = the whole station. */
	enum ocpp_result (*change_availability)(void *ud, int connector,
	    bool operative);
	/* Called after the Accepted answer went out: the daemon restarts. */
	void (*reset)(void *ud, bool hard);
	enum ocpp_result (*update_firmware)(void *ud, const char *url,
	    int64_t retrieve_epoch_ms);
	/* Daemon-owned keys: NULL-terminated array (borrowed, static). */
	const struct ocpp_ext_key *ext_keys;
	/* get: 0 and value copied, negative when unknown. */
	int (*config_get)(void *ud, const struct ocpp_ext_key *k, char *buf,
	    size_t len);
	/* set: validates and persists; *cause (caller frees) on Rejected. */
	enum ocpp_result (*config_set)(void *ud, const struct ocpp_ext_key *k,
	    const char *value, char **cause);
	/* Session-owned keys changed by the backend (to persist): the 1.6
	 * name, or "Component/Variable" for a 2.0.1 variable without one. */
	void (*config_changed)(void *ud, const char *key16, const char *value);
	/* Charging-profile actions and any other action the session does not
	 * handle itself: returns a response payload (a JSON object as text,
	 * sent as it is; caller of the callback frees it) or NULL with *error
	 * set for a CALLERROR. */
	char *(*profile_action)(void *ud, const char *action,
	    const char *payload_json, enum ocpp_rpc_error *error);
	/* Link and registration state changes (for logs / balancer). */
	void (*link_state)(void *ud, bool online, bool accepted);
	/* The session's wall time (ocpp_session_wall_ms) moved by more than
	 * a second against the monotonic clock: the CSMS's time was applied
	 * or the system clock was stepped.  What follows wall time (charging
	 * profiles) is due again. */
	void (*clock_changed)(void *ud);
};

/* ---- Session ---- */
struct ocpp_session;

/* The protocols array to put in the daemon's lws context (one entry per
 * subprotocol, then the terminator).  Static. */
const struct lws_protocols *ocpp_lws_protocols(void);

/* Fills the parts of a context creation info the session needs: the
 * protocols and no listening port (when the daemon set no protocols; else
 * it must include the entries of ocpp_lws_protocols()), OpenSSL global
 * init, the client CA, certificate and key, TLS >= 1.2. */
void ocpp_context_info(struct lws_context_creation_info *info,
    const struct ocpp_settings *st);

/* Creates a session (not yet connected).  The settings strings, station,
 * callbacks and queue are borrowed and must outlive it.  Connectors the
 * station marks stale get their last known status, energy and IdToken
 * from the durable state.  Returns NULL with
 * *cause (caller frees) when the settings are invalid. */
struct ocpp_session *ocpp_session_new(struct lws_context *ctx,
    const struct ocpp_settings *st, struct ocpp_station *station,
    const struct ocpp_callbacks *cb, const struct ocpp_queue_ops *q,
    void *ud, char **cause);
/* Closes the connection and frees the session. */
void ocpp_session_free(struct ocpp_session *s);
/* The station model now has another number of connectors (was before):
 * connectors 1..min keep their state (transactions included; until read,
 * the station shows their last reported status), the new ones start
 * unknown as at start, the ones beyond are forgotten (their transactions
 * ended first), and every status is reported again. */
void ocpp_session_station_resized(struct ocpp_session *s, int was);

/* Runs timers: connect / reconnect, boot retries, heartbeat, meter values,
 * detects status and transaction changes in the station model, sends the
 * next queued message, call timeouts.  Call at least every 100 ms. */
void ocpp_session_service(struct ocpp_session *s, int64_t now_ms);
/* Drops the connection (it reconnects with back-off), e.g. on a config
 * change. */
void ocpp_session_disconnect(struct ocpp_session *s);
/* Calls fn(arg) on the loop once every frame queued by then (the answer
 * to the backend's call being handled too: it is queued when its handler
 * returns) has been written to the socket, or when the link goes down
 * first.  fn must not free the session (arm a timer for that).  Returns
 * 0, or -1 when the link is not up (fn is not called). */
int ocpp_session_after_sent(struct ocpp_session *s, void (*fn)(void *arg),
    void *arg);

bool ocpp_session_online(const struct ocpp_session *s);

/* The session's wall time, epoch ms: the system clock plus the offset
 * taken from the CSMS's currentTime (time_source), the time of every
 * timestamp sent and of charging profiles. */
int64_t ocpp_session_wall_ms(const struct ocpp_session *s);
/* That offset, ms (0 when the system clock is used as it is). */
int64_t ocpp_session_clock_offset_ms(const struct ocpp_session *s);

/* ResetRetries (1.6 key; 2.0.1 OCPPCommCtrlr): how many times the
 * daemon tries its restart again when one after reset() fails. */
int ocpp_session_reset_retries(const struct ocpp_session *s);
bool ocpp_session_accepted(const struct ocpp_session *s);

/* True while connector k (1..n) has an open transaction: from its start
 * until the charger ends the session (not while the charger is silent or
 * not read yet). */
bool ocpp_session_tx_open(const struct ocpp_session *s, int k);
/* The open transaction of connector k (1..n) as the backend knows it
 * (1.6: the id StartTransaction.conf gave, once it came; 2.0.1: the
 * transactionId) into buf; false, buf "", when none is known. */
bool ocpp_session_transaction(struct ocpp_session *s, int k,
    char *buf, size_t len);

/* Ends connector k's open transaction because its charger left the site
 * (the backend's new site configuration has no such connector): now, with
 * the last energy reading, reason Other (2.0.1 trigger
 * AbnormalCondition).  The end is queued durably on return.  Returns 0,
 * or -1 when k has no open transaction. */
int ocpp_session_end_tx_removed(struct ocpp_session *s, int k);

/* Sends a CALL that is not a transaction message (DataTransfer, …) when
 * the link is up; response JSON goes nowhere but the debug log.
 * Returns 0, or -1 when offline. */
int ocpp_session_send_call(struct ocpp_session *s, const char *action,
    const char *payload_json);

/* Reports the progress of a firmware update the daemon started after
 * update_firmware(): FirmwareStatusNotification with status "Downloading",
 * "Downloaded", "Installing", "Installed", "DownloadFailed",
 * "InstallationFailed" or "Idle" (2.0.1 also its other values).  Also
 * the answer to TriggerMessage(FirmwareStatusNotification).  Returns 0,
 * or -1 when the status is not one of the version's values. */
int ocpp_session_firmware_status(struct ocpp_session *s, const char *status);

/* Queues a SecurityEventNotification (both versions; 1.6 through the
 * security extension) durably: type is a name of the security events
 * list, e.g. "SettingSystemTime" after the clock was set, up to 50
 * characters; tech_info may be NULL (cut to 255 characters).  It goes
 * out once the registration is accepted, like a transaction message.
 * Returns 0, or -1 when type is empty or too long or the queue failed. */
int ocpp_session_security_event(struct ocpp_session *s, const char *type,
    const char *tech_info);

/* Makes a new key (EC P-256, file 0600) and certificate signing request
 * and sends SignCertificate; the backend answers with CertificateSigned,
 * after which profile 3 reconnects with the new certificate.  2.0.1
 * TriggerMessage(SignChargingStationCertificate) and 1.6
 * ExtendedTriggerMessage(SignChargePointCertificate) do the same.
 * Returns 0, or -1 without a certificate directory or when OpenSSL
 * failed. */
int ocpp_session_sign_certificate(struct ocpp_session *s);

struct ocpp_stats {
	uint64_t calls_sent;
	uint64_t results_received;
	uint64_t errors_received;
	uint64_t timeouts;
	uint64_t calls_received;
	uint64_t errors_sent;
	uint64_t connects;
	uint64_t disconnects;
	uint64_t meter_values_dropped;	/* periodic, the backend too slow */
};
/* Counters since the session was created. */
void ocpp_session_stats(const struct ocpp_session *s, struct ocpp_stats *out);

/* Reconnect back-off per OCPP 2.0.1 part 4 §5.3: the wait before attempt
 * n (0 = first reconnect) is min * 2^min(n, repeat) seconds plus a random
 * part of up to random_s seconds (rand01 in [0, 1)).  In ms. */
int64_t ocpp_backoff_ms(int attempt, int min_s, int random_s, int repeat,
    double rand01);

#endif
