#define _GNU_SOURCE 1 /* fmemopen */

/* Loading: the file read whole, pre-scanned (prescan.c), parsed by
 * libconfuse with every value checked as it is read (against schema.c's
 * tables), copied into struct cfg, cross-checked (checks.c), and every
 * error handed over sorted by line. */
#include "config/config-private.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"

#define CFG_FILE_MAX (1024 * 1024) /* larger files are refused */

/* The load in progress: libconfuse's callbacks carry no user pointer. */
static struct load_ctx *cur;

/* ---------------------------------------------------------------------
 * Values, checked as libconfuse reads them
 */

/* libconfuse value callback for every option: checks the text against the
 * schema, notes the line, reports a refused value and stands the default
 * in for it, and always returns 0 so that parsing goes on. */
static int
on_value(cfg_t *sec, cfg_opt_t *opt, const char *value, void *result)
{
	const struct sec_def *sd = cfg_find_sec(sec->name);
	const struct opt_def *od = sd != NULL ? cfg_find_opt(sd, opt->name) : NULL;
	struct note *n;
	const char *why;
	char *allowed;
	double v;

	if (od == NULL || cur == NULL || value == NULL)
		return -1; /* cannot happen: the table built these options */
	n = cfg_add_note(cur, sec, opt->name, sec->line);

	why = cfg_check_value(od, value, &v);
	switch (od->kind) {
	case K_INT:
		*(long *)result = why == NULL ? (long)v : (long)od->def;
		break;
	case K_KW:
		*(double *)result = why == NULL ? v : od->def;
		break;
	case K_STR:
	case K_ENUM:
		*(const char **)result = why == NULL ? value : od->def_str;
		break;
	case K_SEC:
		return -1;
	}
	if (why != NULL) {
		n->bad = true;
		allowed = cfg_allowed_text(od, " | ");
		cfg_opt_error(cur, sec->line, sd, cfg_title(sec), od->name,
		    (od->flags & F_SECRET) ? "(hidden)" : value, why, "%s",
		    allowed);
		free(allowed);
	}
	return 0;
}

/* libconfuse's own messages (syntax errors) join the list. */
static void
on_confuse_error(cfg_t *sec, const char *fmt, va_list ap)
{
	char *text;

	if (cur == NULL)
		return;
	if (vasprintf(&text, fmt, ap) < 0)
		abort();
	cfg_add_error(cur, sec != NULL ? sec->line : 0, "syntax error: %s", text);
	free(text);
}

/* Builds libconfuse's option array for a section from the schema.
 * Caller frees with free_opts. */
static cfg_opt_t *
build_opts(const struct sec_def *sd)
{
	size_t n = 0;
	cfg_opt_t *opts;

	while (sd->opts[n].name != NULL)
		n++;
	opts = xcalloc(n + 1, sizeof(*opts));
	for (size_t i = 0; i < n; i++) {
		const struct opt_def *od = &sd->opts[i];

		switch (od->kind) {
		case K_INT:
			opts[i] = (cfg_opt_t)CFG_INT_CB(od->name, (long)od->def,
			    CFGF_NONE, on_value);
			break;
		case K_KW:
			opts[i] = (cfg_opt_t)CFG_FLOAT_CB(od->name, od->def,
			    CFGF_NONE, on_value);
			break;
		case K_STR:
		case K_ENUM:
			opts[i] = (cfg_opt_t)CFG_STR_CB(od->name, od->def_str,
			    CFGF_NONE, on_value);
			break;
		case K_SEC:
			opts[i] = (cfg_opt_t)CFG_SEC(od->name, build_opts(od->sec),
			    od->sec->titled ? CFGF_MULTI | CFGF_TITLE : CFGF_NONE);
			break;
		}
	}
	opts[n] = (cfg_opt_t)CFG_END();
	return opts;
}

/* Frees what build_opts returned. */
static void
free_opts(cfg_opt_t *opts)
{
	for (cfg_opt_t *o = opts; o->name != NULL; o++)
		if (o->type == CFGT_SEC)
			free_opts(o->subopts);
	free(opts);
}


/* ---------------------------------------------------------------------
 * Copying into struct cfg
 */

/* Copies a string option into a fixed buffer (lengths were checked). */
static void
get_str(cfg_t *sec, const char *name, char *dst, size_t len)
{
	const char *v = cfg_getstr(sec, name);

	strlcpy_ok(dst, v != NULL ? v : "", len);
}

/* Index of an enumerated option's value in its choices. */
static int
get_enum(cfg_t *sec, const struct sec_def *sd, const char *name)
{
	const struct opt_def *od = cfg_find_opt(sd, name);
	const char *v = cfg_getstr(sec, name);
	int i = v != NULL ? cfg_choice_index(od->choices, v) : -1;

	return i >= 0 ? i : cfg_choice_index(od->choices, od->def_str);
}

/* A kW option in W. */
static int
get_w(cfg_t *sec, const char *name)
{
	return (int)lround(cfg_getfloat(sec, name) * 1000.0);
}

/* Reads the link fields shared by the meter and chargers. */
static void
get_link(cfg_t *sec, const struct sec_def *sd, struct cfg_link *l)
{
	const char *kind = cfg_getstr(sec, "link");

	if (kind != NULL && strcmp(kind, "rtu") == 0)
		l->kind = CFG_LINK_RTU;
	else if (kind != NULL && strcmp(kind, "tcp-listen") == 0)
		l->kind = CFG_LINK_TCP_LISTEN;
	else
		l->kind = CFG_LINK_TCP;
	get_str(sec, "host", l->host, sizeof(l->host));
	l->port = (int)cfg_getint(sec, "port");
	l->unit_id = (int)cfg_getint(sec, "unit-id");
	if (cfg_find_opt(sd, "serial") != NULL)
		get_str(sec, "serial", l->serial, sizeof(l->serial));
	get_str(sec, "device", l->device, sizeof(l->device));
	l->baud = (int)cfg_getint(sec, "baud");
	l->parity = (enum cfg_parity)get_enum(sec, sd, "parity");
	l->stop_bits = (int)cfg_getint(sec, "stop-bits");
}

/* Copies the parsed tree into *c (all values are in range by now). */
static void
copy_tree(struct tree *t, struct cfg *c)
{
	cfg_t *s;

	s = t->site;
	get_str(s, "id", c->site.id, sizeof(c->site.id));
	c->site.distribution = (enum cfg_distribution)get_enum(s, &cfg_site_sec,
	    "distribution");
	c->site.nominal_voltage_v = (int)cfg_getint(s, "nominal-voltage-v");
	c->site.main_breaker_a = (int)cfg_getint(s, "main-breaker-a");
	c->site.available_power_w = get_w(s, "available-power-kw");
	c->site.n_circuits = cfg_size(s, "circuit");
	c->site.circuits = xcalloc(c->site.n_circuits + 1,
	    sizeof(*c->site.circuits));
	t->circuits = xcalloc(c->site.n_circuits + 1, sizeof(*t->circuits));
	for (size_t i = 0; i < c->site.n_circuits; i++) {
		struct cfg_circuit *ci = &c->site.circuits[i];
		cfg_t *cs = cfg_getnsec(s, "circuit", (unsigned)i);

		t->circuits[i] = cs;
		strlcpy_ok(ci->name, cfg_title(cs), sizeof(ci->name));
		get_str(cs, "parent", ci->parent, sizeof(ci->parent));
		ci->max_current_a = (int)cfg_getint(cs, "max-current-a");
		ci->parent_index = -1;
	}

	s = t->csms;
	get_str(s, "url", c->csms.url, sizeof(c->csms.url));
	c->csms.ocpp_version = (enum cfg_ocpp_version)get_enum(s, &cfg_csms_sec,
	    "ocpp-version");
	get_str(s, "identity", c->csms.identity, sizeof(c->csms.identity));
	c->csms.security_profile = (int)cfg_getint(s, "security-profile");
	get_str(s, "password", c->csms.password, sizeof(c->csms.password));
	get_str(s, "ca-file", c->csms.ca_file, sizeof(c->csms.ca_file));
	get_str(s, "client-cert", c->csms.client_cert,
	    sizeof(c->csms.client_cert));
	get_str(s, "client-key", c->csms.client_key,
	    sizeof(c->csms.client_key));
	c->csms.heartbeat_interval_s = (int)cfg_getint(s,
	    "heartbeat-interval-s");
	c->csms.retry_backoff_min_s = (int)cfg_getint(s, "retry-backoff-min-s");
	c->csms.retry_backoff_random_s = (int)cfg_getint(s,
	    "retry-backoff-random-s");
	c->csms.retry_backoff_repeat = (int)cfg_getint(s,
	    "retry-backoff-repeat");
	c->csms.ping_interval_s = (int)cfg_getint(s, "ping-interval-s");
	c->csms.ping_timeout_s = (int)cfg_getint(s, "ping-timeout-s");
	get_str(s, "id-tag", c->csms.id_tag, sizeof(c->csms.id_tag));
	c->csms.tx_unreachable_max_s = (int)cfg_getint(s,
	    "tx-unreachable-max-s");
	c->csms.allow_remote_site = get_enum(s, &cfg_csms_sec,
	    "allow-remote-site") == 1;
	get_str(s, "remote-site-hosts", c->csms.remote_site_hosts,
	    sizeof(c->csms.remote_site_hosts));
	get_str(s, "remote-site-devices", c->csms.remote_site_devices,
	    sizeof(c->csms.remote_site_devices));
	c->csms.use_csms_time = (enum cfg_csms_time)get_enum(s, &cfg_csms_sec,
	    "use-csms-time");

	s = t->balancer;
	c->balancer.mode = (enum cfg_balancer_mode)get_enum(s, &cfg_balancer_sec,
	    "mode");
	c->balancer.pv_mode = (enum cfg_pv_mode)get_enum(s, &cfg_balancer_sec,
	    "pv-mode");
	c->balancer.reserve_pct = (int)cfg_getint(s, "reserve-pct");
	c->balancer.min_power_1ph_w = get_w(s, "min-power-1ph-kw");
	c->balancer.min_power_3ph_w = get_w(s, "min-power-3ph-kw");
	if (cfg_getfloat(s, "offline-meter-power-kw") < 0)
		c->balancer.offline_meter_power_w =
		    c->site.available_power_w / 10;
	else
		c->balancer.offline_meter_power_w = get_w(s,
		    "offline-meter-power-kw");
	c->balancer.offline_site_power_w = get_w(s, "offline-site-power-kw");
	c->balancer.offline_site_delay_s = (int)cfg_getint(s,
	    "offline-site-delay-s");
	c->balancer.resolution_w = (int)cfg_getint(s, "resolution-w");
	c->balancer.phase_switch_dwell_s = (int)cfg_getint(s,
	    "phase-switch-dwell-s");
	c->balancer.phase_switch_confirm_s = (int)cfg_getint(s,
	    "phase-switch-confirm-s");
	c->balancer.offline_profiles = (enum cfg_offline_profiles)get_enum(s,
	    &cfg_balancer_sec, "offline-profiles");

	s = t->meter;
	c->meter.type = (enum cfg_meter_type)get_enum(s, &cfg_meter_sec, "type");
	get_link(s, &cfg_meter_sec, &c->meter.link);
	c->meter.max_age_s = (int)cfg_getint(s, "max-age-s");
	c->meter.poll_interval_ms = (int)cfg_getint(s, "poll-interval-ms");

	s = t->southbound;
	(void)cfg_split_listen(cfg_getstr(s, "listen"), c->southbound.listen_host,
	    sizeof(c->southbound.listen_host), &c->southbound.listen_port);
	c->southbound.response_timeout_ms = (int)cfg_getint(s,
	    "response-timeout-ms");
	c->southbound.comm_timeout_s = (int)cfg_getint(s, "comm-timeout-s");
	c->southbound.offline_after_failures = (int)cfg_getint(s,
	    "offline-after-failures");

	c->n_chargers = cfg_size(t->root, "charger");
	c->chargers = xcalloc(c->n_chargers + 1, sizeof(*c->chargers));
	t->chargers = xcalloc(c->n_chargers + 1, sizeof(*t->chargers));
	for (size_t i = 0; i < c->n_chargers; i++) {
		struct cfg_charger *ch = &c->chargers[i];

		s = cfg_getnsec(t->root, "charger", (unsigned)i);
		t->chargers[i] = s;
		strlcpy_ok(ch->name, cfg_title(s), sizeof(ch->name));
		ch->model = (enum cfg_model)get_enum(s, &cfg_charger_sec, "model");
		get_link(s, &cfg_charger_sec, &ch->link);
		ch->connectors = (int)cfg_getint(s, "connectors");
		ch->phases = get_enum(s, &cfg_charger_sec, "phases") == 0 ? 1 : 3;
		ch->wired_phase = (enum cfg_phase)get_enum(s, &cfg_charger_sec,
		    "wired-phase");
		ch->phase_switching = get_enum(s, &cfg_charger_sec,
		    "phase-switching") == 1;
		ch->max_power_w = get_w(s, "max-power-kw");
		ch->offline_power_w = get_w(s, "offline-power-kw");
		get_str(s, "circuit", ch->circuit, sizeof(ch->circuit));
		ch->circuit_index = -1;
		ch->control_unit = (enum cfg_control_unit)get_enum(s,
		    &cfg_charger_sec, "control-unit");
		ch->word_order = (enum cfg_word_order)get_enum(s, &cfg_charger_sec,
		    "word-order");
		ch->ocpp_id = (int)cfg_getint(s, "ocpp-id");
	}

	get_str(t->store, "path", c->store.path, sizeof(c->store.path));
	get_str(t->http, "listen", c->http.listen, sizeof(c->http.listen));
	get_str(t->http, "password", c->http.password,
	    sizeof(c->http.password));
	get_str(t->http, "cert", c->http.cert, sizeof(c->http.cert));
	get_str(t->http, "key", c->http.key, sizeof(c->http.key));
	c->log.level = (enum log_level)get_enum(t->log, &cfg_log_sec, "level");
	c->log.to_syslog = get_enum(t->log, &cfg_log_sec, "target") == 1;
}


/* ---------------------------------------------------------------------
 * Loading
 */

/* Moves the context's errors, sorted by line, into *errors. */
static void
hand_over(struct load_ctx *ctx, struct cfg_errors *errors)
{
	/* Stable order within a line: sort pairs (line, sequence). */
	struct { int line; size_t seq; char *msg; } *tmp;

	tmp = xcalloc(ctx->n_errs + 1, sizeof(*tmp));
	for (size_t i = 0; i < ctx->n_errs; i++) {
		tmp[i].line = ctx->errs[i].line;
		tmp[i].seq = i;
		tmp[i].msg = ctx->errs[i].msg;
	}
	for (size_t i = 1; i < ctx->n_errs; i++) { /* insertion: stable */
		size_t j = i;

		while (j > 0 && tmp[j - 1].line > tmp[j].line) {
			__typeof__(tmp[0]) x = tmp[j];

			tmp[j] = tmp[j - 1];
			tmp[j - 1] = x;
			j--;
		}
	}
	errors->msgs = xrealloc(errors->msgs, (errors->n + ctx->n_errs + 1) *
	    sizeof(*errors->msgs));
	for (size_t i = 0; i < ctx->n_errs; i++)
		errors->msgs[errors->n++] = tmp[i].msg;
	free(tmp);
	free(ctx->errs);
	ctx->errs = NULL;
	ctx->n_errs = 0;
}

/* The sections a backend may not push: the local safety settings. */
static const char *const file_only[] = { "csms", "store", "http", "log",
	NULL };

/* Refuses the file-only sections in pushed text, each at its line. */
static void
check_pushed_sections(struct load_ctx *ctx)
{
	for (size_t i = 0; i < ctx->n_seclines; i++)
		if (cfg_choice_index(file_only, ctx->seclines[i].name) >= 0)
			cfg_add_error(ctx, ctx->seclines[i].line, "section '%s': "
			    "set in the gateway's file only: allowed site, "
			    "balancer, meter, southbound, charger",
			    ctx->seclines[i].name);
}

/* Parses, copies and checks text; with base (a pushed site), the
 * file-only sections come from base instead. */
static int
load_text(const char *name, const char *text, const struct cfg *base,
    struct cfg *c, struct cfg_errors *errors)
{
	struct load_ctx ctx = { .file = name, .pushed = base != NULL };
	char *buf;
	size_t len;
	struct tree t = { 0 };
	cfg_opt_t *opts;
	cfg_t *root;
	FILE *fp;
	int rc = CFG_SUCCESS;

	memset(c, 0, sizeof(*c));
	if (strlen(text) > CFG_FILE_MAX) { /* pushed text is not stat'ed */
		cfg_add_error(&ctx, 0, "too large (%zu bytes): allowed at most "
		    "%d bytes", strlen(text), CFG_FILE_MAX);
		hand_over(&ctx, errors);
		return -1;
	}
	buf = cfg_prescan(&ctx, text);
	len = strlen(buf);
	if (base != NULL)
		check_pushed_sections(&ctx);

	opts = build_opts(&cfg_root_sec);
	root = cfg_init(opts, CFGF_NONE);
	free_opts(opts);
	if (root == NULL) {
		free(buf);
		cfg_add_error(&ctx, 0, "out of memory");
		hand_over(&ctx, errors);
		return -1;
	}
	cur = &ctx;
	cfg_set_error_function(root, on_confuse_error);
	free(root->filename);
	root->filename = xstrdup(name);
	if (len > 0) {
		fp = fmemopen(buf, len, "r");
		if (fp == NULL) {
			cfg_add_error(&ctx, 0, "cannot read: %s", strerror(errno));
			rc = CFG_PARSE_ERROR;
		} else {
			rc = cfg_parse_fp(root, fp);
			fclose(fp);
		}
	}
	free(buf);

	if (rc == CFG_SUCCESS) {
		t.root = root;
		t.site = cfg_getsec(root, "site");
		t.csms = cfg_getsec(root, "csms");
		t.balancer = cfg_getsec(root, "balancer");
		t.meter = cfg_getsec(root, "meter");
		t.southbound = cfg_getsec(root, "southbound");
		t.store = cfg_getsec(root, "store");
		t.http = cfg_getsec(root, "http");
		t.log = cfg_getsec(root, "log");
		copy_tree(&t, c);
		if (base != NULL) {
			c->csms = base->csms;
			c->store = base->store;
			c->http = base->http;
			c->log = base->log;
		}
		cfg_check_all(&ctx, &t, c);
		free(t.circuits);
		free(t.chargers);
	}
	cur = NULL;
	cfg_free(root);
	free(ctx.notes);
	for (size_t i = 0; i < ctx.n_seclines; i++)
		free(ctx.seclines[i].title);
	free(ctx.seclines);
	strlcpy_ok(c->path, name, sizeof(c->path));

	if (ctx.n_errs > 0 || rc != CFG_SUCCESS) {
		if (ctx.n_errs == 0)
			cfg_add_error(&ctx, 0, "cannot parse");
		hand_over(&ctx, errors);
		cfg_clear(c);
		return -1;
	}
	return 0;
}

int
cfg_load_string(const char *name, const char *text, struct cfg *c,
    struct cfg_errors *errors)
{
	return load_text(name, text, NULL, c, errors);
}

int
cfg_load_site(const char *name, const char *text, const struct cfg *base,
    struct cfg *c, struct cfg_errors *errors)
{
	if (strlen(text) > CFG_FILE_MAX) {
		struct load_ctx ctx = { .file = name };

		memset(c, 0, sizeof(*c));
		cfg_add_error(&ctx, 0, "too large (%zu bytes): allowed at most "
		    "%d bytes", strlen(text), CFG_FILE_MAX);
		hand_over(&ctx, errors);
		return -1;
	}
	return load_text(name, text, base, c, errors);
}

int
cfg_load(const char *path, struct cfg *c, struct cfg_errors *errors)
{
	struct load_ctx ctx = { .file = path };
	struct stat st;
	char *text = NULL;
	size_t got = 0;
	int fd, rc;

	memset(c, 0, sizeof(*c));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		cfg_add_error(&ctx, 0, "cannot open: %s", strerror(errno));
		goto fail;
	}
	if (fstat(fd, &st) != 0) {
		cfg_add_error(&ctx, 0, "cannot stat: %s", strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		cfg_add_error(&ctx, 0, "not a regular file: allowed a "
		    "configuration file");
		goto fail;
	}
	if (st.st_size > CFG_FILE_MAX) {
		cfg_add_error(&ctx, 0, "too large (%lld bytes): allowed at most "
		    "%d bytes", (long long)st.st_size, CFG_FILE_MAX);
		goto fail;
	}
	text = xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, text + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			cfg_add_error(&ctx, 0, "cannot read: %s", strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	text[got] = '\0';
	if (memchr(text, '\0', got) != NULL) {
		cfg_add_error(&ctx, 0, "contains a NUL byte: allowed text only");
		goto fail;
	}
	close(fd);
	rc = cfg_load_string(path, text, c, errors);
	free(text);
	return rc;

fail:
	if (fd >= 0)
		close(fd);
	free(text);
	hand_over(&ctx, errors);
	return -1;
}

void
cfg_copy(struct cfg *dst, const struct cfg *src)
{
	*dst = *src;
	dst->site.circuits = xcalloc(src->site.n_circuits + 1,
	    sizeof(*dst->site.circuits));
	memcpy(dst->site.circuits, src->site.circuits, src->site.n_circuits *
	    sizeof(*dst->site.circuits));
	dst->chargers = xcalloc(src->n_chargers + 1, sizeof(*dst->chargers));
	memcpy(dst->chargers, src->chargers, src->n_chargers *
	    sizeof(*dst->chargers));
}

void
cfg_clear(struct cfg *c)
{
	free(c->site.circuits);
	free(c->chargers);
	memset(c, 0, sizeof(*c));
}

void
cfg_errors_free(struct cfg_errors *errors)
{
	for (size_t i = 0; i < errors->n; i++)
		free(errors->msgs[i]);
	free(errors->msgs);
	errors->msgs = NULL;
	errors->n = 0;
}
