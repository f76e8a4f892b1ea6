/* --check-config's output: the configuration as understood, defaults
 * filled in, in the file's syntax and units. */
#include "config/config-private.h"

#include <stdio.h>
#include <string.h>

/* Prints key = "value" with quotes and backslashes escaped. */
static void
put_str(FILE *fp, int indent, const char *key, const char *value)
{
	fprintf(fp, "%*s%s = \"", indent, "", key);
	for (const char *p = value; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fputc('\\', fp);
		fputc(*p, fp);
	}
	fputs("\"\n", fp);
}

/* Prints key = N. */
static void
put_int(FILE *fp, int indent, const char *key, long value)
{
	fprintf(fp, "%*s%s = %ld\n", indent, "", key, value);
}

/* Prints key = kW from a value in W. */
static void
put_kw(FILE *fp, int indent, const char *key, long w)
{
	char b[32];

	fprintf(fp, "%*s%s = %s\n", indent, "", key, cfg_fmt_kw(w, b, sizeof(b)));
}

/* Prints an enumerated option by index. */
static void
put_enum(FILE *fp, int indent, const char *key, const char *const *choices,
    int i)
{
	put_str(fp, indent, key, cfg_choice_name(choices, i));
}

/* Prints the link options of a meter or charger. */
static void
put_link(FILE *fp, const struct cfg_link *l)
{
	put_str(fp, 8, "link", cfg_link_kind_name(l->kind));
	switch (l->kind) {
	case CFG_LINK_TCP:
		put_str(fp, 8, "host", l->host);
		put_int(fp, 8, "port", l->port);
		break;
	case CFG_LINK_TCP_LISTEN:
		put_str(fp, 8, "serial", l->serial);
		break;
	case CFG_LINK_RTU:
		put_str(fp, 8, "device", l->device);
		put_int(fp, 8, "baud", l->baud);
		put_enum(fp, 8, "parity", cfg_parity_choices, (int)l->parity);
		put_int(fp, 8, "stop-bits", l->stop_bits);
		break;
	}
	put_int(fp, 8, "unit-id", l->unit_id);
}

/* Prints the site sections: site, balancer, meter, southbound and the
 * chargers. */
static void
dump_site(const struct cfg *c, FILE *fp)
{
	fprintf(fp, "site {\n");
	put_str(fp, 8, "id", c->site.id);
	put_enum(fp, 8, "distribution", cfg_dist_choices,
	    (int)c->site.distribution);
	put_int(fp, 8, "nominal-voltage-v", c->site.nominal_voltage_v);
	put_int(fp, 8, "main-breaker-a", c->site.main_breaker_a);
	put_kw(fp, 8, "available-power-kw", c->site.available_power_w);
	for (size_t i = 0; i < c->site.n_circuits; i++) {
		const struct cfg_circuit *ci = &c->site.circuits[i];

		fprintf(fp, "        circuit \"%s\" {\n", ci->name);
		put_int(fp, 16, "max-current-a", ci->max_current_a);
		put_str(fp, 16, "parent", ci->parent);
		fprintf(fp, "        }\n");
	}
	fprintf(fp, "}\n\nbalancer {\n");
	put_enum(fp, 8, "mode", cfg_mode_choices, (int)c->balancer.mode);
	put_enum(fp, 8, "pv-mode", cfg_pv_choices, (int)c->balancer.pv_mode);
	put_int(fp, 8, "reserve-pct", c->balancer.reserve_pct);
	put_kw(fp, 8, "min-power-1ph-kw", c->balancer.min_power_1ph_w);
	put_kw(fp, 8, "min-power-3ph-kw", c->balancer.min_power_3ph_w);
	put_kw(fp, 8, "offline-meter-power-kw",
	    c->balancer.offline_meter_power_w);
	put_kw(fp, 8, "offline-site-power-kw", c->balancer.offline_site_power_w);
	put_int(fp, 8, "offline-site-delay-s", c->balancer.offline_site_delay_s);
	put_int(fp, 8, "phase-switch-dwell-s", c->balancer.phase_switch_dwell_s);
	put_int(fp, 8, "phase-switch-confirm-s",
	    c->balancer.phase_switch_confirm_s);
	put_int(fp, 8, "resolution-w", c->balancer.resolution_w);
	put_enum(fp, 8, "offline-profiles", cfg_offline_profiles_choices,
	    (int)c->balancer.offline_profiles);
	fprintf(fp, "}\n\nmeter {\n");
	put_enum(fp, 8, "type", cfg_meter_choices, (int)c->meter.type);
	put_link(fp, &c->meter.link);
	put_int(fp, 8, "max-age-s", c->meter.max_age_s);
	put_int(fp, 8, "poll-interval-ms", c->meter.poll_interval_ms);
	fprintf(fp, "}\n\nsouthbound {\n");
	fprintf(fp, "        listen = \"%s%s%s:%d\"\n",
	    strchr(c->southbound.listen_host, ':') ? "[" : "",
	    c->southbound.listen_host,
	    strchr(c->southbound.listen_host, ':') ? "]" : "",
	    c->southbound.listen_port);
	put_int(fp, 8, "response-timeout-ms", c->southbound.response_timeout_ms);
	put_int(fp, 8, "comm-timeout-s", c->southbound.comm_timeout_s);
	put_int(fp, 8, "offline-after-failures",
	    c->southbound.offline_after_failures);
	fprintf(fp, "}\n");
	for (size_t i = 0; i < c->n_chargers; i++) {
		const struct cfg_charger *ch = &c->chargers[i];

		fprintf(fp, "\ncharger \"%s\" {\n", ch->name);
		put_str(fp, 8, "model", cfg_model_name(ch->model));
		put_link(fp, &ch->link);
		put_int(fp, 8, "connectors", ch->connectors);
		put_int(fp, 8, "phases", ch->phases);
		if (ch->phases == 1)
			put_enum(fp, 8, "wired-phase", cfg_phase_choices,
			    (int)ch->wired_phase);
		if (ch->phase_switching)
			put_str(fp, 8, "phase-switching", "true");
		put_kw(fp, 8, "max-power-kw", ch->max_power_w);
		put_kw(fp, 8, "offline-power-kw", ch->offline_power_w);
		put_str(fp, 8, "circuit", ch->circuit);
		put_enum(fp, 8, "control-unit", cfg_control_choices,
		    (int)ch->control_unit);
		put_enum(fp, 8, "word-order", cfg_words_choices, (int)ch->word_order);
		if (ch->ocpp_id > 0)
			put_int(fp, 8, "ocpp-id", ch->ocpp_id);
		fprintf(fp, "}\n");
	}
}

void
cfg_dump(const struct cfg *c, FILE *fp)
{
	fprintf(fp, "# effective settings from %s (units as in the file)\n",
	    c->path);
	dump_site(c, fp);
	fprintf(fp, "\ncsms {\n");
	put_str(fp, 8, "url", c->csms.url);
	put_enum(fp, 8, "ocpp-version", cfg_version_choices,
	    (int)c->csms.ocpp_version);
	put_str(fp, 8, "identity", c->csms.identity);
	put_int(fp, 8, "security-profile", c->csms.security_profile);
	fprintf(fp, "        # password: %s\n", c->csms.password[0] != '\0' ?
	    "set (not shown)" : "not set");
	put_str(fp, 8, "ca-file", c->csms.ca_file);
	put_str(fp, 8, "client-cert", c->csms.client_cert);
	put_str(fp, 8, "client-key", c->csms.client_key);
	put_int(fp, 8, "heartbeat-interval-s", c->csms.heartbeat_interval_s);
	put_int(fp, 8, "retry-backoff-min-s", c->csms.retry_backoff_min_s);
	put_int(fp, 8, "retry-backoff-random-s",
	    c->csms.retry_backoff_random_s);
	put_int(fp, 8, "retry-backoff-repeat", c->csms.retry_backoff_repeat);
	put_int(fp, 8, "ping-interval-s", c->csms.ping_interval_s);
	put_int(fp, 8, "ping-timeout-s", c->csms.ping_timeout_s);
	put_str(fp, 8, "id-tag", c->csms.id_tag);
	put_int(fp, 8, "tx-unreachable-max-s", c->csms.tx_unreachable_max_s);
	put_str(fp, 8, "allow-remote-site", c->csms.allow_remote_site ? "true" :
	    "false");
	put_str(fp, 8, "remote-site-hosts", c->csms.remote_site_hosts);
	put_str(fp, 8, "remote-site-devices", c->csms.remote_site_devices);
	put_enum(fp, 8, "use-csms-time", cfg_csms_time_choices,
	    (int)c->csms.use_csms_time);
	fprintf(fp, "}\n\nstore {\n");
	put_str(fp, 8, "path", c->store.path);
	fprintf(fp, "}\n\nhttp {\n");
	put_str(fp, 8, "listen", c->http.listen);
	fprintf(fp, "        # password: %s\n", c->http.password[0] != '\0' ?
	    "set (not shown)" : "not set");
	put_str(fp, 8, "cert", c->http.cert);
	put_str(fp, 8, "key", c->http.key);
	fprintf(fp, "}\n\nlog {\n");
	put_str(fp, 8, "level", log_level_name(c->log.level));
	put_str(fp, 8, "target", c->log.to_syslog ? "syslog" : "stderr");
	fprintf(fp, "}\n");
}

void
cfg_dump_site(const struct cfg *c, FILE *fp)
{
	fprintf(fp, "# site configuration from %s (units as in the file)\n",
	    c->path);
	dump_site(c, fp);
}
