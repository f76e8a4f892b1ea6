/* ocpp-edge-sim: command line, start-up (scenario, sockets, ready file,
 * daemon configuration) and clean exit on SIGTERM / SIGINT. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "sim/sim.h"
/* help_text: the manual page man/ocpp-edge-sim.1.in as --help. */
#include "ocpp-edge-sim-help.h"

#define EXIT_USAGE 2

static volatile sig_atomic_t stop_flag;

/* SIGTERM / SIGINT: ask the loop to stop. */
static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/* Parses a whole number in [min, max] for option name. */
static int
parse_long(const char *name, const char *text, long min, long max,
    long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (*text == '\0' || *end != '\0' || errno != 0 || v < min ||
	    v > max) {
		fprintf(stderr, "ocpp-edge-sim: %s \"%s\": must be a whole "
		    "number in %ld..%ld\n", name, text, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

/* Parses the command line, loads the scenario, opens every port, runs. */
int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "scenario", required_argument, NULL, 's' },
		{ "control", required_argument, NULL, 'c' },
		{ "ready-file", required_argument, NULL, 'r' },
		{ "write-config", required_argument, NULL, 'w' },
		{ "follow-delay-ms", required_argument, NULL, 'F' },
		{ "gateway", required_argument, NULL, 'G' },
		{ "tick-ms", required_argument, NULL, 'T' },
		{ "redial-ms", required_argument, NULL, 'R' },
		{ "no-wire-delay", no_argument, NULL, 'N' },
		{ "pty-link", required_argument, NULL, 'P' },
		{ "debug", no_argument, NULL, 'd' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct sim_net_options o = { .tick_ms = 100, .redial_ms = 1000 };
	struct sim_site site;
	struct sigaction sa;
	const char *scenario = NULL, *gateway = NULL;
	long follow = -1, v;
	bool no_wire = false;
	enum log_level level = LOG_LEVEL_INFO;
	char *cause = NULL, *ready;
	int ch, rc = 0;

	while ((ch = getopt_long(argc, argv, "s:c:r:w:dqhV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 's': scenario = optarg; break;
		case 'c': o.control_path = optarg; break;
		case 'r': o.ready_path = optarg; break;
		case 'w': o.config_path = optarg; break;
		case 'G': gateway = optarg; break;
		case 'N': no_wire = true; break;
		case 'P': o.pty_link = optarg; break;
		case 'd': level = LOG_LEVEL_DEBUG; break;
		case 'q': level = LOG_LEVEL_WARNING; break;
		case 'F':
			if (parse_long("--follow-delay-ms", optarg, 0, 600000,
			    &follow) != 0)
				return EXIT_USAGE;
			break;
		case 'T':
			if (parse_long("--tick-ms", optarg, 10, 1000, &v) != 0)
				return EXIT_USAGE;
			o.tick_ms = (int)v;
			break;
		case 'R':
			if (parse_long("--redial-ms", optarg, 10, 600000,
			    &v) != 0)
				return EXIT_USAGE;
			o.redial_ms = (int)v;
			break;
		case 'h':
			fputs(help_text, stdout);
			return 0;
		case 'V':
			printf("ocpp-edge-sim %s\n", PACKAGE_VERSION);
			return 0;
		default:
			fputs("Try 'ocpp-edge-sim --help'.\n", stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc || scenario == NULL) {
		fprintf(stderr, "ocpp-edge-sim: %s\nTry 'ocpp-edge-sim "
		    "--help'.\n", scenario == NULL ? "--scenario FILE is "
		    "required" : "unexpected argument");
		return EXIT_USAGE;
	}
	log_init("ocpp-edge-sim", level, false);
	if (level == LOG_LEVEL_DEBUG)
		(void)log_enable_tokens("sim", NULL);

	memset(&site, 0, sizeof(site));
	site.start_ms = site.last_update_ms = mono_now_ms();
	if (sim_scenario_load(&site, scenario, &cause) != 0) {
		fprintf(stderr, "ocpp-edge-sim: %s\n", cause);
		free(cause);
		sim_site_free(&site);
		return EXIT_USAGE;
	}
	if (follow >= 0)
		site.follow_delay_ms = follow;
	if (no_wire)
		site.bus.emulate_speed = false;
	if (gateway != NULL && sim_parse_hostport("--gateway", gateway,
	    site.gateway_host, sizeof(site.gateway_host), &site.gateway_port,
	    &cause) != 0) {
		fprintf(stderr, "ocpp-edge-sim: %s\n", cause);
		free(cause);
		sim_site_free(&site);
		return EXIT_USAGE;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (sim_net_open(&site, &o, &cause) != 0) {
		log_errorx("%s", cause);
		free(cause);
		rc = 1;
		goto out;
	}
	if (o.config_path != NULL && sim_write_config(&site,
	    o.config_path) != 0) {
		log_error("--write-config %s", o.config_path);
		rc = 1;
		goto out;
	}
	if (o.ready_path != NULL && sim_write_ready(&site, o.ready_path,
	    o.control_path) != 0) {
		log_error("--ready-file %s", o.ready_path);
		rc = 1;
		goto out;
	}
	ready = sim_ready_json(&site, o.control_path);
	printf("ready %s\n", ready);
	fflush(stdout);
	free(ready);
	log_info("simulating %zu chargers%s; follow delay %lld ms",
	    site.n_chargers, site.meter.present ? " and a meter" : "",
	    (long long)site.follow_delay_ms);
	if (sim_net_run(&site, &o, &stop_flag) != 0)
		rc = 1;
	log_info("stopping");
out:
	sim_net_close(&site, &o);
	if (o.ready_path != NULL && rc == 0)
		(void)remove(o.ready_path);
	sim_site_free(&site);
	log_finalise();
	return rc;
}
