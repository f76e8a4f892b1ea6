/* The session's state, shared by session.c (messages), transport.c (the
 * libwebsockets client), keys.c (configuration keys), transactions.c
 * (status, meter values, transactions) and calls.c (the CSMS's CALLs). */
#ifndef EDGE_OCPP_SESSION_PRIVATE_H
#define EDGE_OCPP_SESSION_PRIVATE_H

#include "ocpp/ocpp-private.h"

enum link_state {
	LINK_DOWN = 0,
	LINK_CONNECTING,
	LINK_UP,
};

enum boot_state {
	BOOT_NONE = 0,		/* not sent yet / to be sent */
	BOOT_PENDING,
	BOOT_REJECTED,
	BOOT_ACCEPTED,
};

/* A CALL waiting for its turn (not durable). */
struct out_call {
	struct out_call *next;
	char *action;
	char *text;		/* the payload as compact JSON: a tree of a
				   MeterValues weighs about eight times its
				   text, and a tick queues one per connector */
};

/* A text frame waiting for the socket to become writable. */
struct out_frame {
	struct out_frame *next;
	size_t len;
	char *buf;		/* LWS_PRE bytes of headroom, then the text */
};

/* The CALL in flight (at most one per direction, part 4 §4.1.1). */
struct inflight {
	bool active;
	char id[OCPP_MSG_ID_MAX + 1];
	char action[OCPP_ACTION_MAX + 1];
	int64_t sent_ms;
	bool from_queue;
	int64_t queue_id;
	int queue_attempts;
	int64_t local_tx;	/* 1.6 StartTransaction / StopTransaction */
	int connector;
	char tx_id[OCPP_MSG_ID_MAX + 1];	/* 2.0.1 TransactionEvent */
	char auth_token[OCPP_ID_TOKEN_MAX + 1];	/* Authorize */
};

/* What the session last saw and reported of one connector. */
struct conn_state {
	bool reported;
	enum ocpp_conn_status status;
	bool fault_error;
	char vendor_error[OCPP_VENDOR_ERROR_MAX + 1];
	bool tx_active;
	int64_t local_tx;			/* 1.6 */
	/* 1.6: the backend's transactionId of local transaction
	 * tx16_id_of (0: none copied), a copy of the durable state's
	 * tx16.id.<local_tx>, so that reading it costs no store access. */
	int64_t tx16_id_of;
	char tx16_id[24];
	char tx_id[OCPP_MSG_ID_MAX + 1];	/* 2.0.1 */
	int seq_no;				/* 2.0.1: next seqNo */
	enum ocpp_conn_status tx_status;	/* 2.0.1: charging state sent */
	bool remote_start;			/* a remote start is pending */
	int64_t remote_start_ms;		/* since (monotonic) */
	int remote_start_id;
	char remote_id_tag[OCPP_ID_TOKEN_MAX + 1];
	char remote_id_type[24];		/* 2.0.1 IdTokenEnumType */
	bool remote_stop;			/* next end is "Remote" */
	/* 1.6: the transaction was ended by UnlockConnector; no new one
	 * until the connector leaves the charging states. */
	bool unlock_stop;
	bool deauthorized;			/* next end is "DeAuthorized" */
	int64_t last_tx_meter_ms;
	/* The connector's last known state as read from its charger, kept
	 * in the durable state with the open transaction. */
	enum ocpp_conn_status seen_status;
	char seen_token[OCPP_ID_TOKEN_MAX + 1];
	double seen_wh;
	int64_t seen_ms;			/* epoch ms of that reading */
	int64_t saved_ms;			/* monotonic: last written */
	char tx_token[OCPP_ID_TOKEN_MAX + 1];	/* IdToken that started it */
	bool tx_token_central;			/* not the charger's */
	char tx_token_type[24];			/* 2.0.1 IdTokenEnumType */
	double tx_wh;				/* highest energy in it */
	int tx_charge_s;			/* highest charging time; -1 */
	/* StopTxnAlignedData: the clock-aligned meterValues of the running
	 * transaction, sent with its end (in memory; at most
	 * STOP_ALIGNED_MAX, the oldest dropped). */
	json_t *stop_aligned;
	/* Local authorization of the charger's IdToken (auth.c): an
	 * Authorize is in flight for auth_token, it was accepted, or it was
	 * refused (no transaction until the connector leaves the charging
	 * states). */
	bool auth_asked;
	int64_t auth_asked_ms;			/* monotonic */
	bool auth_ok;
	bool auth_refused;
	char auth_token[OCPP_ID_TOKEN_MAX + 1];
	bool stale;				/* not read since start / silent */
	bool restart_stale;			/* ... since start */
	int64_t stale_since_ms;
};

enum ocpp_key_type {
	OCPP_KEY_INT,
	OCPP_KEY_BOOL,
	OCPP_KEY_STR,
	OCPP_KEY_MEASURANDS,		/* a list of measurands, held as OCPP_MEAS_ bits */
	OCPP_KEY_PHASE_ROTATION,	/* ConnectorPhaseRotation, in the settings */
	OCPP_KEY_ORGANIZATION,		/* CpoName / OrganizationName, in the
					 * settings */
	/* Text with the 2.0.1 dataType of the same name. */
	OCPP_KEY_MEMBERLIST,
	OCPP_KEY_SEQUENCELIST,
	OCPP_KEY_OPTIONLIST,
	OCPP_KEY_DATETIME,
	OCPP_KEY_DECIMAL,
};

/* Indexes of the session-owned integer settings. */
enum ocpp_key_int {
	CI_HEARTBEAT = 0,
	CI_METER_INTERVAL,
	CI_TX_ATTEMPTS,
	CI_TX_RETRY,
	CI_PING,
	CI_BACKOFF_MIN,
	CI_BACKOFF_RANDOM,
	CI_BACKOFF_REPEAT,
	CI_CALL_TIMEOUT,
	CI_ALIGNED_INTERVAL,
	CI_SAMPLED_MEASURANDS,
	CI_ALIGNED_MEASURANDS,
	CI_STOP_MEASURANDS,
	CI_STOP_ON_INVALID,	/* bool: StopTransactionOnInvalidId */
	CI_LOCAL_PRE_AUTH,	/* bool: LocalPreAuthorize */
	CI_LOCAL_AUTH_OFFLINE,	/* bool: LocalAuthorizeOffline */
	CI_AUTH_CACHE_ENABLED,	/* bool: AuthorizationCacheEnabled */
	CI_LOCAL_LIST_ENABLED,	/* bool: LocalAuthListEnabled */
	CI_OFFLINE_UNKNOWN,	/* bool: AllowOfflineTxForUnknownId */
	CI_UNLOCK_ON_EV_DISCONNECT, /* bool: UnlockConnectorOnEVSideDisconnect */
	CI_CONNECTION_TIMEOUT,	/* ConnectionTimeOut / EVConnectionTimeOut */
	CI_STOP_ALIGNED_MEASURANDS, /* StopTxnAlignedData */
	CI_RESET_RETRIES,	/* ResetRetries */
	CI_START_MEASURANDS,	/* 2.0.1 SampledDataCtrlr TxStartedMeasurands */
	CI_TIME_SOURCE,		/* enum ocpp_time_source (ClockCtrlr TimeSource) */
	CI_COUNT,
};

/* The local authorization list and the authorization cache (auth.c). */
#define AUTH_MAX_ENTRIES 100
struct auth_entry {
	char token[OCPP_ID_TOKEN_MAX + 1];
	char status[24];		/* Accepted, Blocked, Expired, ... */
};
struct auth_table {
	struct auth_entry e[AUTH_MAX_ENTRIES];	/* oldest first */
	int n;
};

struct ocpp_session {
	struct ocpp_settings st;
	struct ocpp_station *station;
	const struct ocpp_callbacks *cb;
	const struct ocpp_queue_ops *q;
	void *ud;
	struct lws_context *ctx;

	/* Connection. */
	struct lws *wsi;
	enum link_state link;
	char *url_host;
	char *url_path;		/* "/path/identity" */
	int url_port;
	bool tls;
	char *auth_header;	/* "Basic …"; never logged */
	int64_t next_connect_ms;
	int backoff_attempt;
	/* The link's log (transport.c): one warning per episode of failed
	 * attempts and per new cause, a reminder every few minutes. */
	struct {
		int64_t since_ms;	/* the episode's start */
		int64_t logged_ms;	/* the last warning */
		int attempts;		/* failed in this episode */
		bool down;		/* an episode is on */
		bool ever_up;
		char why[320];		/* the cause last logged */
	} linklog;
	struct out_frame *tx_head, *tx_tail;
	/* ocpp_session_after_sent: once the queue is written out */
	void (*after_sent)(void *arg);
	void *after_sent_arg;
	char *rx;
	size_t rx_len, rx_cap;
	bool rx_overflow, rx_binary, rx_nomem;
	struct ocpp_text answer;	/* reused for answers built as text */

	/* Registration. */
	enum boot_state boot;
	int64_t next_boot_ms;
	bool boot_trigger;	/* TriggerMessage(BootNotification) */
	int64_t next_heartbeat_ms;
	int64_t next_meter_ms;
	int64_t next_aligned_wall_ms;	/* next clock-aligned sample, 0 = none */
	bool statuses_due;	/* resend every status (after boot/reconnect) */

	struct inflight call;
	struct out_call *calls_head, *calls_tail;
	int64_t next_queue_try_ms;
	bool queue_empty;	/* peek said so and nothing was queued since */

	struct conn_state *cs;	/* n_connectors + 1 */

	int cfg[CI_COUNT];
	/* The clock (clock.c): the CSMS's time minus the system's, applied
	 * to wall time; the system clock's distance to the monotonic one
	 * when last looked at (a change is a step). */
	int64_t clock_offset_ms;
	int64_t clock_skew_ms;
	bool clock_skew_known;
	struct auth_table auth_list;
	int auth_list_version;
	struct auth_table auth_cache;
	int64_t now_ms;
	uint32_t nonce;
	uint64_t msg_counter;
	uint64_t tx_counter;
	char fw_status[32];	/* last FirmwareStatusNotification status */
	int fw_request_id;	/* 2.0.1 UpdateFirmware requestId */
	bool reset_due;
	bool reset_hard;
	bool unclean_stop;	/* the last run ended without ocpp_session_free */
	/* security.c: the basic-auth password in use (st.password points
	 * here), the previous one while a new one is tried, and what was
	 * queued in this connection / episode of failed attempts. */
	char password[OCPP_PASSWORD_MAX + 1];
	char password_prev[OCPP_PASSWORD_MAX + 1];
	bool password_trial;
	bool reconnect_due;	/* new credentials: reconnect once written
				 * and the CALL in flight answered */
	bool cert_event_queued;
	bool invalid_msg_event_queued;
	struct ocpp_stats stats;
};

/* transport.c */
int transport_prepare(struct ocpp_session *s, char **cause);
void transport_connect(struct ocpp_session *s);
void transport_close(struct ocpp_session *s);
/* (Re)builds the Authorization header from st.password (none when it is
 * empty or the profile is 3). */
void transport_auth_header(struct ocpp_session *s);
/* Profile 3: the client certificate and key in dir/client.pem are used
 * from the next connection on.  0, or -1 when the TLS context is not
 * known yet (then from the next start). */
int transport_client_certificate(const char *dir);
/* A CSMS root certificate installed: trusted from the next connection. */
void transport_trust(void *x509);
/* Queues text to send (copied). */
void transport_send(struct ocpp_session *s, const char *text);
/* For tests without a network: when set, sees every frame handed to
 * transport_send, link or not.  NULL in the daemon. */
extern void (*transport_tap)(struct ocpp_session *s, const char *text);

/* session.c, called by the transport */
void session_link_up(struct ocpp_session *s);
void session_link_down(struct ocpp_session *s, const char *why);
void session_receive(struct ocpp_session *s, const char *text, size_t len);
/* Clock-aligned meter values at wall time wall_ms (epoch ms): queues
 * them when a boundary of ClockAlignedDataInterval was reached. */
void session_aligned_tick(struct ocpp_session *s, int64_t wall_ms);
/* A message that cannot be taken (not parsable, binary, too long): logs a
 * warning and answers the CALLERROR e, with id (or, when id is "", the id
 * read from the start of text if it is a CALL; 2.0.1 otherwise "-1"). */
void session_reject_frame(struct ocpp_session *s, const char *id,
    const char *text, size_t len, enum ocpp_rpc_error e, const char *cause);

/* Why and when a transaction ends: the 1.6 reason, the 2.0.1
 * stoppedReason and triggerReason, the time (epoch ms) and the energy
 * register. */
struct tx_end {
	const char *reason16;
	const char *reason201;
	const char *trigger;
	int64_t when_ms;
	double wh;
};

/* clock.c: the session's wall time */
/* Epoch ms: the system clock plus the CSMS's offset. */
int64_t session_wall_ms(const struct ocpp_session *s);
/* Current wall time as RFC 3339 into buf (>= 32 bytes). */
const char *session_now_stamp(const struct ocpp_session *s, char *buf,
    size_t len);
/* The currentTime of a BootNotification / Heartbeat answer: applied as
 * the offset when the time source says so. */
void session_clock_csms(struct ocpp_session *s, const char *current_time);
/* TimeSource changed: back to the system clock when it says so. */
void session_clock_source_changed(struct ocpp_session *s);
/* Looks for a step of the system clock (each service call). */
void session_clock_watch(struct ocpp_session *s);

/* session.c: helpers of the other session files */
bool session_v16(const struct ocpp_session *s);
/* Sends a frame's text (borrowed); NULL is a frame that could not be
 * built (no memory): said, not sent. */
void session_send_frame(struct ocpp_session *s, const char *text);
void session_reply(struct ocpp_session *s, const char *id, json_t *payload);
void session_reply_error(struct ocpp_session *s, const char *id,
    enum ocpp_rpc_error e, const char *desc);
void session_push_call(struct ocpp_session *s, const char *action,
    json_t *payload);
/* Frees every CALL waiting for its turn. */
void session_drop_calls(struct ocpp_session *s);
int session_state_get(const struct ocpp_session *s, const char *key,
    char *buf, size_t len);
void session_conn_key(char *buf, size_t len, const struct ocpp_session *s,
    int k);
/* The backend's transactionId of 1.6 local transaction local_tx into buf
 * (>= 24 bytes): 0, or non-zero when it gave none (yet). */
int session_tx16_id(struct ocpp_session *s, int64_t local_tx, char *buf,
    size_t len);
/* Records (id, or "" when gone) the backend's transactionId of 1.6 local
 * transaction local_tx in the durable state, the copy dropped. */
void session_tx16_ack(struct ocpp_session *s, int64_t queue_id,
    int64_t local_tx, const char *id);

/* transactions.c: connector status, meter values, transactions */
void session_tx_event201(struct ocpp_session *s, int k, const char *event,
    const char *trigger, const struct tx_end *end, bool with_meter);
void session_end_tx(struct ocpp_session *s, int k, const struct tx_end *e);
void session_end_for_unlock(struct ocpp_session *s, int k);
void session_push_status(struct ocpp_session *s, int k);
void session_scan_model(struct ocpp_session *s);
void session_push_meter_values(struct ocpp_session *s, int k,
    const char *context);
void session_meter_tick(struct ocpp_session *s);
void session_load_state(struct ocpp_session *s);

/* auth.c: local authorization */
enum auth_gate {
	AUTH_START,	/* the transaction may start */
	AUTH_WAIT,	/* Authorize is in flight */
	AUTH_REFUSED,	/* charging stopped, no transaction */
};
/* Reads the list and the cache from the durable state. */
void session_auth_load(struct ocpp_session *s);
/* May connector k's session (its charger's IdToken) start a transaction
 * now?  Sends Authorize or stops the charging as the rules say. */
enum auth_gate session_auth_gate(struct ocpp_session *s, int k);
/* Connector k left the charging states: its authorization is forgotten. */
void session_auth_left(struct ocpp_session *s, int k);
/* The answer to Authorize for token (status NULL: none came). */
void session_auth_answer(struct ocpp_session *s, const char *token,
    const char *status);
/* An IdToken's status from a backend answer, into the cache. */
void session_auth_learn(struct ocpp_session *s, const char *token,
    const char *status);
/* SendLocalList / GetLocalListVersion / ClearCache answers (caller
 * decrefs). */
json_t *session_send_local_list(struct ocpp_session *s, json_t *req);
json_t *session_get_local_list_version(struct ocpp_session *s);
json_t *session_clear_cache(struct ocpp_session *s);

/* calls.c: the CSMS's CALLs */
void session_push_firmware_status(struct ocpp_session *s);
bool session_any_tx_open(const struct ocpp_session *s);
/* True when k is one of the station's connectors: 1..n_connectors and not
 * a gap in the ids. */
bool session_has_conn(const struct ocpp_session *s, int k);
/* An inbound CALL: check, handle, answer. */
void session_on_call(struct ocpp_session *s, struct ocpp_frame *f);

/* 2.0.1 ConnectorStatusEnumType of a state (also the AvailabilityState
 * of the device model).  Static. */
const char *status_name201(enum ocpp_conn_status st);

/* security.c: security events, the backend's basic-auth password */
/* Queues a SecurityEventNotification durably; 0 or -1 (said). */
int session_security_event(struct ocpp_session *s, const char *type,
    const char *tech_info);
/* At creation, after the durable state is read: the password the backend
 * set (or is trying), and the StartupOfTheDevice event. */
void session_security_start(struct ocpp_session *s);
/* 1.6 AuthorizationKey / 2.0.1 BasicAuthPassword from the backend:
 * checks it, keeps it durably and reconnects with it once the answer is
 * out.  OCPP_ACCEPTED or OCPP_REJECTED. */
enum ocpp_result session_security_set_password(struct ocpp_session *s,
    const char *pw);
/* From ocpp_session_service: the reconnect new credentials need. */
void session_security_service(struct ocpp_session *s);
/* The websocket is up: a password on trial becomes the one in use. */
void session_security_link_up(struct ocpp_session *s);
/* An attempt failed with HTTP status http_status (0: none): a 401 for a
 * password on trial brings the previous one back. */
void session_security_refused(struct ocpp_session *s, int http_status);
/* An attempt failed because the CSMS certificate did not verify (why):
 * an InvalidCsmsCertificate event, once per episode of failures. */
void session_security_bad_certificate(struct ocpp_session *s,
    const char *why);
/* A frame that is not a valid OCPP message: InvalidMessages, once per
 * connection. */
void session_security_invalid_message(struct ocpp_session *s,
    const char *cause);

/* certs.c: client certificate (profile 3) and root certificates */
#define OCPP_CERT_ROOTS_MAX 20		/* installed root certificates */
/* The number of root certificates installed (2.0.1 SecurityCtrlr
 * CertificateEntries). */
int session_certs_count(const struct ocpp_session *s);
/* Makes a key and CSR and sends SignCertificate.  0 or -1 (said). */
int session_sign_certificate(struct ocpp_session *s);
/* Handlers of CertificateSigned, InstallCertificate,
 * GetInstalledCertificateIds, DeleteCertificate (caller decrefs). */
json_t *session_certificate_signed(struct ocpp_session *s, json_t *req);
json_t *session_install_certificate(struct ocpp_session *s, json_t *req);
json_t *session_get_installed_ids(struct ocpp_session *s, json_t *req);
json_t *session_delete_certificate(struct ocpp_session *s, json_t *req);
/* The CA bundle to verify the CSMS with: the configured one when no
 * CSMS root is installed, else dir/trust.pem written now (the configured
 * or OpenSSL's default file and the installed CSMS roots) into buf. */
const char *ocpp_certs_trust_file(const struct ocpp_settings *st, char *buf,
    size_t len);
/* dir/client.pem into buf when the backend signed a client certificate,
 * else NULL. */
const char *ocpp_certs_client_file(const struct ocpp_settings *st,
    char *buf, size_t len);

/* True when a received frame may carry a password (not to be logged). */
bool session_security_secret_frame(const char *text, size_t len);

/* keys.c */
struct ocpp_key_entry {
	const char *key16;		/* NULL: not in 1.6 */
	const char *component;		/* NULL: not in 2.0.1 */
	const char *variable;
	const char *instance;
	enum ocpp_key_type type;
	bool readonly;
	int min, max;
	int index;			/* enum ocpp_key_int, or -1 for a constant */
	const char *constant;		/* value when index < 0 */
	const char *values;		/* 2.0.1 valuesList of a list type */
};
/* Session-owned keys; ends with key16 == NULL && component == NULL. */
extern const struct ocpp_key_entry ocpp_key_table[];
/* Value of an entry as text into buf. */
void ocpp_key_value(const struct ocpp_session *s,
    const struct ocpp_key_entry *e, char *buf, size_t len);
/* The O= of a certificate signing request: CpoName / OrganizationName,
 * else the station's vendor. */
const char *session_organization(const struct ocpp_session *s);
/* Sets an entry from text.  Returns OCPP_ACCEPTED, OCPP_REJECTED (bad
 * value or read-only) or OCPP_REBOOT_REQUIRED. */
enum ocpp_result ocpp_key_set(struct ocpp_session *s,
    const struct ocpp_key_entry *e, const char *value);
/* Handlers of GetConfiguration (1.6) and GetVariables (2.0.1): append the
 * response payload to t as JSON text, with no JSON tree built (the
 * backend's most frequent reads). */
void ocpp_get_configuration(struct ocpp_session *s, json_t *req,
    struct ocpp_text *t);
void ocpp_get_variables(struct ocpp_session *s, json_t *req,
    struct ocpp_text *t);
/* Handlers of ChangeConfiguration (1.6) and SetVariables (2.0.1): build
 * the response payload (caller decrefs). */
json_t *ocpp_change_configuration(struct ocpp_session *s, json_t *req);
json_t *ocpp_set_variables(struct ocpp_session *s, json_t *req);
/* Queues the NotifyReport messages of a GetBaseReport: at most
 * OCPP_ITEMS_PER_MESSAGE reportData each, seqNo from 0, tbc on all but
 * the last.  0, or -1 when the report could not be built (out of memory,
 * said; nothing queued). */
int ocpp_send_report(struct ocpp_session *s, int request_id,
    const char *report_base);
/* The items a request may carry (1.6 GetConfigurationMaxKeys, 2.0.1
 * DeviceDataCtrlr ItemsPerMessage of GetVariables, SetVariables and
 * GetReport): more is an OccurrenceConstraintViolation. */
#define OCPP_ITEMS_PER_MESSAGE 64

#endif
