/* Security management of the session (OCPP 1.6 security extension, 2.0.1
 * functional block A): SecurityEventNotification, queued durably like
 * the transaction messages; the basic-auth password the backend sets
 * (1.6 AuthorizationKey, 2.0.1 SecurityCtrlr.BasicAuthPassword), tried
 * on a new connection and given up for the previous one when the backend
 * refuses it.  Passwords are never logged. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "ocpp/session-private.h"

/* Durable state keys: the password the backend set and the configured
 * one it replaced, after a '=' (it may be empty; a new password in the
 * configuration file wins over both); the new password while it is
 * tried. */
#define PW_KEY "sec.password"
#define PW_BASE_KEY "sec.password.base"
#define PW_TRIAL_KEY "sec.password.trial"

/* techInfo: string[255] in both versions. */
#define TECH_INFO_MAX 255

/* Queues a SecurityEventNotification of type (up to 50 characters) with
 * an optional techInfo (cut to 255 characters, anything but printable
 * ASCII replaced by '?').  0, or -1 when the queue refused it (said). */
int
session_security_event(struct ocpp_session *s, const char *type,
    const char *tech_info)
{
	char stamp[32], tech[TECH_INFO_MAX + 1];
	json_t *p;
	char *text;
	int rc;

	p = json_pack("{ssss}", "type", type, "timestamp",
	    session_now_stamp(s, stamp, sizeof(stamp)));
	if (p != NULL && tech_info != NULL && tech_info[0] != '\0') {
		size_t i;

		for (i = 0; tech_info[i] != '\0' && i < TECH_INFO_MAX; i++)
			tech[i] = tech_info[i] >= 0x20 && tech_info[i] < 0x7f ?
			    tech_info[i] : '?';
		tech[i] = '\0';
		json_object_set_new(p, "techInfo", json_string(tech));
	}
	text = ocpp_json_dumps(p);
	json_decref(p);
	if (text == NULL) {
		log_warnx("ocpp: security event %s not queued: out of memory",
		    type);
		return -1;
	}
	rc = s->q->enqueue(s->ud, "SecurityEventNotification", text, NULL,
	    NULL);
	free(text);
	s->queue_empty = false;
	if (rc != 0) {
		log_warnx("ocpp: security event %s could not be queued", type);
		return -1;
	}
	log_info("ocpp: security event %s%s%s", type, tech_info != NULL &&
	    tech_info[0] != '\0' ? ": " : "", tech_info != NULL ? tech_info :
	    "");
	return 0;
}

int
ocpp_session_security_event(struct ocpp_session *s, const char *type,
    const char *tech_info)
{
	size_t n = type != NULL ? strlen(type) : 0;

	if (n == 0 || n > 50)
		return -1;
	return session_security_event(s, type, tech_info);
}

/* True when text[0..len) holds word. */
static bool
holds(const char *text, size_t len, const char *word)
{
	size_t n = strlen(word);

	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(text + i, word, n) == 0)
			return true;
	return false;
}

bool
session_security_secret_frame(const char *text, size_t len)
{
	return holds(text, len, "AuthorizationKey") ||
	    holds(text, len, "BasicAuthPassword");
}

/* Sets a durable state key ("" deletes it); 0, or -1 when the store has
 * no state or failed. */
static int
state_put(struct ocpp_session *s, const char *key, const char *value)
{
	if (s->q->state_set == NULL)
		return -1;
	return s->q->state_set(s->ud, key, value) != 0 ? -1 : 0;
}

/* Sets the password the session uses from now on (copied). */
static void
use_password(struct ocpp_session *s, const char *pw)
{
	explicit_bzero(s->password, sizeof(s->password));
	strlcpy_ok(s->password, pw, sizeof(s->password));
	s->st.password = s->password;
	transport_auth_header(s);
}

/* Forgets a password held in a buffer. */
static void
wipe(char *buf, size_t len)
{
	explicit_bzero(buf, len);
}

void
session_security_start(struct ocpp_session *s)
{
	char pw[OCPP_PASSWORD_MAX + 1], base[OCPP_PASSWORD_MAX + 2];
	char trial[OCPP_PASSWORD_MAX + 1];
	const char *conf = s->st.password != NULL ? s->st.password : "";

	strlcpy_ok(s->password, conf, sizeof(s->password));
	s->st.password = s->password;
	if (s->st.security_profile <= 2 &&
	    session_state_get(s, PW_KEY, pw, sizeof(pw)) == 0) {
		if (session_state_get(s, PW_BASE_KEY, base, sizeof(base)) == 0 &&
		    base[0] == '=' && strcmp(base + 1, conf) == 0) {
			use_password(s, pw);
			if (session_state_get(s, PW_TRIAL_KEY, trial,
			    sizeof(trial)) == 0) {
				/* Restarted while a new one was tried: try
				 * it again, the other as the fallback. */
				strlcpy_ok(s->password_prev, s->password,
				    sizeof(s->password_prev));
				use_password(s, trial);
				s->password_trial = true;
			}
		} else {
			log_info("ocpp: the configured CSMS password changed: it "
			    "replaces the one the backend set");
			state_put(s, PW_KEY, "");
			state_put(s, PW_BASE_KEY, "");
			state_put(s, PW_TRIAL_KEY, "");
		}
		wipe(base, sizeof(base));
		wipe(trial, sizeof(trial));
	}
	wipe(pw, sizeof(pw));
	session_security_event(s, "StartupOfTheDevice", NULL);
}

/* A password the backend may set: 2.0.1 BasicAuthPassword is 16..40
 * characters (printable ASCII, no space); 1.6 AuthorizationKey is 16..20
 * bytes written as 32..40 hex digits (security whitepaper), and those
 * digits are the password sent. */
static bool
password_valid(const struct ocpp_session *s, const char *pw)
{
	size_t n = pw != NULL ? strlen(pw) : 0;

	if (n < 16 || n > 40)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)pw[i];

		if (session_v16(s) ? strchr("0123456789abcdefABCDEF", c) == NULL :
		    (c <= 0x20 || c >= 0x7f))
			return false;
	}
	return !session_v16(s) || (n >= 32 && n % 2 == 0);
}

enum ocpp_result
session_security_set_password(struct ocpp_session *s, const char *pw)
{
	if (s->st.security_profile > 2 || !password_valid(s, pw)) {
		log_warnx("ocpp: the backend's new %s refused (%s)",
		    session_v16(s) ? "AuthorizationKey" : "BasicAuthPassword",
		    s->st.security_profile > 2 ? "security profile 3 uses a "
		    "client certificate, no password" : session_v16(s) ?
		    "must be 32 to 40 hex digits" : "must be 16 to 40 "
		    "printable characters");
		return OCPP_REJECTED;
	}
	if (state_put(s, PW_TRIAL_KEY, pw) != 0)
		return OCPP_REJECTED;
	if (!s->password_trial)
		strlcpy_ok(s->password_prev, s->password,
		    sizeof(s->password_prev));
	use_password(s, pw);
	s->password_trial = true;
	s->reconnect_due = true;
	log_info("ocpp: the backend set a new basic-auth password: reconnecting "
	    "with it");
	return OCPP_ACCEPTED;
}

void
session_security_service(struct ocpp_session *s)
{
	/* Once the answer is written and the CALL in flight is answered
	 * (or timed out), the link goes and comes back with the new
	 * password or client certificate (session.c: closing()). */
	if (!s->reconnect_due || s->tx_head != NULL || s->call.active)
		return;
	s->reconnect_due = false;
	if (s->link == LINK_DOWN) {
		s->next_connect_ms = s->now_ms;
		return;
	}
	transport_close(s);
	session_link_down(s, "reconnecting with new credentials");
	s->next_connect_ms = s->now_ms;
}

void
session_security_link_up(struct ocpp_session *s)
{
	s->cert_event_queued = false;
	s->invalid_msg_event_queued = false;
	if (!s->password_trial)
		return;
	s->password_trial = false;
	/* The configured password the stored one replaces, unless an
	 * earlier change recorded it already. */
	{
		char base[OCPP_PASSWORD_MAX + 2];

		if (session_state_get(s, PW_BASE_KEY, base, sizeof(base)) != 0) {
			snprintf(base, sizeof(base), "=%s", s->password_prev);
			state_put(s, PW_BASE_KEY, base);
		}
		wipe(base, sizeof(base));
	}
	state_put(s, PW_KEY, s->password);
	state_put(s, PW_TRIAL_KEY, "");
	wipe(s->password_prev, sizeof(s->password_prev));
	log_info("ocpp: connected with the new basic-auth password");
	session_security_event(s, "ReconfigurationOfSecurityParameters",
	    "basic-auth password changed by the backend");
}

void
session_security_refused(struct ocpp_session *s, int http_status)
{
	if (!s->password_trial || http_status != 401)
		return;
	s->password_trial = false;
	state_put(s, PW_TRIAL_KEY, "");
	use_password(s, s->password_prev);
	wipe(s->password_prev, sizeof(s->password_prev));
	log_warnx("ocpp: the backend refused the new basic-auth password "
	    "(HTTP 401): back to the previous one");
	session_security_event(s, "ReconfigurationOfSecurityParameters",
	    "the new basic-auth password was refused (HTTP 401); the previous "
	    "one is in use again");
	s->next_connect_ms = s->now_ms;
}

void
session_security_bad_certificate(struct ocpp_session *s, const char *why)
{
	if (s->cert_event_queued)
		return;
	/* Once per episode of failed attempts; it goes out when a link
	 * is up again. */
	s->cert_event_queued = true;
	session_security_event(s, "InvalidCsmsCertificate", why);
}

void
session_security_invalid_message(struct ocpp_session *s, const char *cause)
{
	if (s->invalid_msg_event_queued)
		return;
	/* Once per connection: a backend sending garbage must not fill
	 * the queue. */
	s->invalid_msg_event_queued = true;
	session_security_event(s, "InvalidMessages", cause);
}
