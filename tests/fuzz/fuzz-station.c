/* See fuzz-station.h. */
#include "config.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "ocpp/smartcharging.h"
#include "tests/fuzz/fuzz-station.h"

static struct ocpp_connector conns[3];
static struct ocpp_station station = {
	"vendor", "model", "", "", 2, conns,
};
static struct sc_connector sc_conns[2];
static struct sc_set profiles;

static int
q_enqueue(void *ud, const char *action, const char *payload,
    const char *key, const char *value)
{
	(void)ud, (void)action, (void)payload, (void)key, (void)value;
	return 0;
}

static int
q_peek(void *ud, struct ocpp_queued *out)
{
	(void)ud, (void)out;
	return 1;
}

static int
q_ack(void *ud, int64_t id, const char *key, const char *value)
{
	(void)ud, (void)id, (void)key, (void)value;
	return 0;
}

static int
q_attempts(void *ud, int64_t id, int attempts)
{
	(void)ud, (void)id, (void)attempts;
	return 0;
}

static int
q_get(void *ud, const char *key, char *buf, size_t len)
{
	(void)ud, (void)key, (void)buf, (void)len;
	return 1;
}

static int
q_set(void *ud, const char *key, const char *value)
{
	(void)ud, (void)key, (void)value;
	return 0;
}

static const struct ocpp_queue_ops queue = {
	q_enqueue, q_peek, q_ack, q_attempts, q_get, q_set,
};

static enum ocpp_result
cb_remote_start(void *ud, int k, const char *tag, const char *profile)
{
	(void)ud, (void)k, (void)tag, (void)profile;
	return OCPP_ACCEPTED;
}

static enum ocpp_result
cb_connector(void *ud, int k)
{
	(void)ud, (void)k;
	return OCPP_ACCEPTED;
}

static enum ocpp_result
cb_availability(void *ud, int k, bool operative)
{
	(void)ud, (void)k, (void)operative;
	return OCPP_ACCEPTED;
}

static enum ocpp_result
cb_firmware(void *ud, const char *url, int64_t when_ms)
{
	(void)ud, (void)url, (void)when_ms;
	return OCPP_ACCEPTED;
}

static const struct ocpp_ext_key ext_keys[] = {
	{ "LBAvailablePowerKw", "LoadBalancer", "AvailablePower", false },
	{ "LBMode", "LoadBalancer", "Mode", true },
	{ NULL, NULL, NULL, false },
};

static int
cb_config_get(void *ud, const struct ocpp_ext_key *k, char *buf, size_t len)
{
	(void)ud;
	strlcpy_ok(buf, k->readonly ? "dlb" : "40", len);
	return 0;
}

static enum ocpp_result
cb_config_set(void *ud, const struct ocpp_ext_key *k, const char *value,
    char **cause)
{
	(void)ud, (void)k;
	if (strspn(value, "0123456789") != strlen(value) || strlen(value) > 4) {
		xasprintf(cause, "not a whole number of kW up to 9999");
		return OCPP_REJECTED;
	}
	return OCPP_ACCEPTED;
}

/* The profile engine's context: two connectors, 230 V, a 63 A site. */
static void
sc_context_of(enum ocpp_version v, struct sc_context *ctx)
{
	(void)v;
	sc_conns[0].tx_active = true;
	strcpy(sc_conns[0].tx_id, "7");
	sc_conns[0].tx_start_ms = 1795000000000LL;
	sc_conns[0].max_w = 22000;
	memset(ctx, 0, sizeof(*ctx));
	ctx->n_connectors = 2;
	ctx->connectors = sc_conns;
	ctx->voltage_v = 230;
	ctx->site_max_w = 43470;
	ctx->units = SC_UNITS_W | SC_UNITS_A;
	ctx->max_stack_level = 8;
	ctx->max_periods = 24;
	ctx->max_profiles = 16;
	ctx->now_ms = 1795000060000LL;
}

static char *
cb_profile_action(void *ud, const char *action, const char *payload,
    enum ocpp_rpc_error *err)
{
	enum ocpp_version v = *(const enum ocpp_version *)ud;
	enum sc_version scv = v == OCPP_V16 ? SC_V16 : SC_V201;
	struct sc_context ctx;
	struct sc_verdict vd;
	struct sc_filter f;
	int id;

	sc_context_of(v, &ctx);
	if (strcmp(action, "SetChargingProfile") == 0)
		return sc_set_request(&profiles, scv, payload, &ctx, &vd, &id);
	if (strcmp(action, "ClearChargingProfile") == 0) {
		int removed[8];

		if (sc_clear_parse(scv, payload, &f, &vd) < 0)
			return sc_verdict_json(scv, &vd);
		return sc_clear_response(scv, sc_set_clear(&profiles, &f,
		    removed, 8));
	}
	if (strcmp(action, "GetCompositeSchedule") == 0) {
		struct sc_composite_opts o = { .max_w = 22000,
		    .local_cap_w = -1 };

		return sc_composite_request(&profiles, &ctx, scv, payload, &o,
		    &vd);
	}
	*err = OCPP_RPC_NOT_SUPPORTED;
	return NULL;
}

static const struct ocpp_callbacks callbacks = {
	.remote_start = cb_remote_start,
	.remote_stop = cb_connector,
	.unlock = cb_connector,
	.change_availability = cb_availability,
	.update_firmware = cb_firmware,
	.ext_keys = ext_keys,
	.config_get = cb_config_get,
	.config_set = cb_config_set,
	.profile_action = cb_profile_action,
};

struct ocpp_session *
fuzz_session(enum ocpp_version v)
{
	static struct ocpp_session *sessions[2];
	static enum ocpp_version versions[2] = { OCPP_V16, OCPP_V201 };
	static struct ocpp_settings st[2];
	int i = v == OCPP_V16 ? 0 : 1;
	char *cause = NULL;

	if (sessions[i] != NULL)
		return sessions[i];
	log_init("fuzz", LOG_LEVEL_ERROR, false);
	sc_set_init(&profiles);
	ocpp_settings_defaults(&st[i]);
	st[i].version = v;
	st[i].url = "ws://127.0.0.1:9/ocpp";
	st[i].identity = "CS1";
	st[i].password = "0123456789abcdef";
	sessions[i] = ocpp_session_new(NULL, &st[i], &station, &callbacks,
	    &queue, &versions[i], &cause);
	if (sessions[i] == NULL)
		abort();	/* the harness's own settings: a bug here */
	return sessions[i];
}

void
fuzz_must_be_object(char *text)
{
	json_t *j = text != NULL ? json_loads(text, 0, NULL) : NULL;

	if (!json_is_object(j))
		abort();
	json_decref(j);
	free(text);
}

void
fuzz_receive(struct ocpp_session *s, const unsigned char *data, size_t len)
{
	char *text = xmalloc(len + 1);

	memcpy(text, data, len);
	text[len] = '\0';
	session_receive(s, text, len);
	free(text);
	/* Keep the engine's set small: profiles pile up otherwise. */
	if (profiles.n > 32) {
		sc_set_free(&profiles);
		sc_set_init(&profiles);
	}
}
