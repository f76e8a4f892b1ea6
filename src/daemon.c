/* ocpp-edged: the command line, start-up in dependency order (chrony
 * style: each step's init runs in table order, its finalise in reverse),
 * one libwebsockets event loop, and an orderly stop on SIGTERM or SIGINT.
 *
 * Adding a module: give it an init/finalise pair taking struct daemon,
 * put it in `steps` after what it depends on, and schedule its timers on
 * d->lws with lws_sul_schedule().  Nothing on the loop may block. */
#include "config.h"

#include "cfg.h"

#include <errno.h>
#include <getopt.h>
#include <libwebsockets.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "daemon.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define DEFAULT_CONFIG SYSCONFDIR "/ocpp-edge.conf"
#ifndef DOCDIR
#define DOCDIR "/usr/share/doc/ocpp-edge"
#endif

/* How often the loop wakes up on its own, whatever else is scheduled. */
#define HOUSEKEEPING_US (500 * LWS_US_PER_MS)

/* Set from the signal handlers; read on the loop. */
static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t hup_received;
static struct lws_context *volatile signal_lws;

static struct {
	lws_sorted_usec_list_t sul;
	struct daemon *d;
} housekeeping;

/* Asks the loop to stop: async-signal-safe (a flag and lws's wake-up
 * pipe). */
static void
on_stop_signal(int sig)
{
	stop_requested = sig;
	if (signal_lws != NULL)
		lws_cancel_service(signal_lws);
}

/* Notes a SIGHUP for the loop (async-signal-safe). */
static void
on_hup_signal(int sig)
{
	(void)sig;
	hup_received = 1;
	if (signal_lws != NULL)
		lws_cancel_service(signal_lws);
}

/* libwebsockets' log lines: errors as warnings, the rest as debug. */
static void
on_lws_log(int level, const char *line)
{
	char buf[512];
	size_t n;

	strlcpy_ok(buf, line, sizeof(buf));
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	if (level & LLL_ERR)
		log_warnx("lws: %s", buf);
	else
		log_debug("main", "lws: %s", buf);
}

/* Runs every HOUSEKEEPING_US on the loop; the place for periodic work. */
static void
on_housekeeping(lws_sorted_usec_list_t *sul)
{
	struct daemon *d = housekeeping.d;

	(void)sul;
	if (stop_requested)
		return; /* the loop notices on its way round */
	lws_sul_schedule(d->lws, 0, &housekeeping.sul, on_housekeeping,
	    HOUSEKEEPING_US);
}

/* Step "loop": the libwebsockets context, without a listening socket
 * (the gateway is a websocket client). */
static int
loop_init(struct daemon *d, char **cause)
{
	struct lws_context_creation_info info;

	lws_set_log_level(LLL_ERR | LLL_WARN | (log_debug_enabled("main") ?
	    LLL_NOTICE : 0), on_lws_log);
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.gid = (gid_t)-1;
	info.uid = (uid_t)-1;
	info.user = d;
	d->lws = lws_create_context(&info);
	if (d->lws == NULL) {
		xasprintf(cause, "cannot create the libwebsockets context");
		return -1;
	}
	signal_lws = d->lws;
	housekeeping.d = d;
	lws_sul_schedule(d->lws, 0, &housekeeping.sul, on_housekeeping,
	    HOUSEKEEPING_US);
	return 0;
}

/* Undoes loop_init. */
static void
loop_finalise(struct daemon *d)
{
	signal_lws = NULL;
	lws_sul_cancel(&housekeeping.sul);
	lws_context_destroy(d->lws);
	d->lws = NULL;
}

/* Start-up steps in dependency order; stopped in reverse.  The store,
 * southbound links, OCPP session and balancer scheduling go here. */
static const struct step {
	const char *name;
	int (*init)(struct daemon *d, char **cause);
	void (*finalise)(struct daemon *d);
} steps[] = {
	{ "loop", loop_init, loop_finalise },
};

/* Prints the manual-style help to fp. */
static void
usage(FILE *fp)
{
	fprintf(fp,
"NAME\n"
"    ocpp-edged - EV-charging site gateway: OCPP upstream, Modbus southbound\n"
"\n"
"SYNOPSIS\n"
"    ocpp-edged [-c FILE] [-d TOKENS] [-l LEVEL] [--syslog | --stderr]\n"
"    ocpp-edged -t FILE\n"
"    ocpp-edged -h | -V\n"
"\n"
"DESCRIPTION\n"
"    Runs in the foreground until SIGTERM or SIGINT, then stops within a\n"
"    second (SIGHUP is logged and ignored).  The configuration is read\n"
"    and validated before anything starts; every error is printed as\n"
"    FILE:LINE: option 'x': value 'y': why: allowed ..., and the daemon\n"
"    exits 1.\n"
"\n"
"OPTIONS\n"
"    -c, --config FILE\n"
"        Configuration file (default: %s).\n"
"    -t, --check-config FILE\n"
"        Validate FILE, print the effective settings (defaults filled in,\n"
"        units as in the file) and exit 0; or print every error and exit 1.\n"
"    -d, --debug TOKENS\n"
"        Comma-separated debug tokens: all, %s.\n"
"        Implies --log-level debug unless --log-level is given.\n"
"    -l, --log-level LEVEL\n"
"        error, warning, info or debug (default: the file's log.level,\n"
"        itself info by default).\n"
"    --syslog\n"
"        Log to syslog (facility daemon), overriding log.target.\n"
"    --stderr\n"
"        Log to standard error, overriding log.target.\n"
"    -h, --help\n"
"        Print this help and exit 0.\n"
"    -V, --version\n"
"        Print the version and exit 0.\n"
"\n"
"EXIT STATUS\n"
"    0   stopped on SIGTERM or SIGINT; --check-config found no error;\n"
"        --help or --version\n"
"    1   invalid configuration, unreadable file, or start-up failure\n"
"    2   bad command line\n"
"\n"
"FILES\n"
"    %s\n"
"        Default configuration file.\n"
"\n"
"    %s/configuration.md\n"
"        Every option with its unit, default and range, and the checks.\n"
"\n"
"SEE ALSO\n"
"    ocpp-edgectl --help\n",
	    DEFAULT_CONFIG, LOG_TOKENS, DEFAULT_CONFIG, DOCDIR);
}

/* Prints the errors of a failed load on stderr. */
static void
print_errors(const struct cfg_errors *errors, const char *path)
{
	for (size_t i = 0; i < errors->n; i++)
		fprintf(stderr, "%s\n", errors->msgs[i]);
	fprintf(stderr, "ocpp-edged: %zu error%s in %s\n", errors->n,
	    errors->n == 1 ? "" : "s", path);
}

/* --check-config: validate, print, exit code. */
static int
check_config(const char *path)
{
	struct cfg_errors errors = { 0 };
	struct cfg cfg;

	if (cfg_load(path, &cfg, &errors) != 0) {
		print_errors(&errors, path);
		cfg_errors_free(&errors);
		return DAEMON_EXIT_CONFIG;
	}
	cfg_dump(&cfg, stdout);
	printf("# %s: configuration valid (%zu charger%s)\n", path,
	    cfg.n_chargers, cfg.n_chargers == 1 ? "" : "s");
	cfg_clear(&cfg);
	return DAEMON_EXIT_OK;
}

/* Warns when the file holds the CSMS password and others may read it. */
static void
warn_if_exposed(const struct daemon *d)
{
	struct stat st;

	if (d->cfg.csms.password[0] != '\0' &&
	    stat(d->config_path, &st) == 0 && (st.st_mode & S_IROTH))
		log_warnx("%s holds the CSMS password and is readable by every "
		    "user; chmod o-r it", d->config_path);
}

/* Installs the stop handlers (SIGTERM, SIGINT), notes SIGHUP (no reload
 * yet: it must not kill the daemon) and ignores SIGPIPE. */
static void
install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_hup_signal;
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/* Starts the steps in order, runs the loop until a stop signal, stops
 * the steps in reverse.  Returns the exit code. */
static int
run(struct daemon *d)
{
	size_t started = 0;
	char *cause = NULL;
	int rc = DAEMON_EXIT_OK;

	for (; started < ARRAY_SIZE(steps) && !stop_requested; started++) {
		log_debug("main", "starting %s", steps[started].name);
		if (steps[started].init(d, &cause) != 0) {
			log_errorx("start-up failed in %s: %s", steps[started].name,
			    cause != NULL ? cause : "unknown error");
			free(cause);
			rc = DAEMON_EXIT_CONFIG;
			goto stop;
		}
	}
	if (!stop_requested)
		log_info("started (version %s, config %s, pid %ld)",
		    PACKAGE_VERSION, d->config_path, (long)getpid());

	while (!stop_requested) {
		if (lws_service(d->lws, 0) < 0) {
			log_errorx("event loop failed; stopping");
			rc = DAEMON_EXIT_CONFIG;
			break;
		}
		if (hup_received) {
			hup_received = 0;
			log_warnx("SIGHUP ignored: the configuration is read at "
			    "start only; restart to apply changes");
		}
	}
	d->stop_signal = stop_requested;
	log_info("stopping (%s, config %s)", d->stop_signal == SIGINT ?
	    "SIGINT" : d->stop_signal == SIGTERM ? "SIGTERM" : "error",
	    d->config_path);
stop:
	while (started > 0) {
		started--;
		log_debug("main", "stopping %s", steps[started].name);
		steps[started].finalise(d);
	}
	if (rc == DAEMON_EXIT_OK)
		log_info("stopped");
	return rc;
}

int
daemon_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", required_argument, NULL, 't' },
		{ "debug", required_argument, NULL, 'd' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "syslog", no_argument, NULL, 'S' },
		{ "stderr", no_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct daemon d = { .config_path = DEFAULT_CONFIG };
	struct cfg_errors errors = { 0 };
	const char *check = NULL, *tokens = NULL;
	enum log_level level = LOG_LEVEL_INFO;
	bool level_set = false;
	int target = -1; /* -1 = the file's, 0 = stderr, 1 = syslog */
	char *cause = NULL;
	int ch, rc;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":c:t:d:l:hV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			d.config_path = optarg;
			break;
		case 't':
			check = optarg;
			break;
		case 'd':
			tokens = optarg;
			break;
		case 'l':
			if (log_level_parse(optarg, &level) != 0) {
				fprintf(stderr, "ocpp-edged: --log-level '%s': "
				    "allowed error, warning, info, debug\n",
				    optarg);
				return DAEMON_EXIT_USAGE;
			}
			level_set = true;
			break;
		case 'S':
			target = 1;
			break;
		case 'E':
			target = 0;
			break;
		case 'h':
			usage(stdout);
			return DAEMON_EXIT_OK;
		case 'V':
			printf("ocpp-edged %s\n", PACKAGE_VERSION);
			return DAEMON_EXIT_OK;
		case ':':
			fprintf(stderr, "ocpp-edged: option '%s' needs a value "
			    "(see --help)\n", argv[optind - 1]);
			return DAEMON_EXIT_USAGE;
		default:
			fprintf(stderr, "ocpp-edged: unknown option '%s' (see "
			    "--help)\n", argv[optind - 1]);
			return DAEMON_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ocpp-edged: unexpected argument '%s' (see "
		    "--help)\n", argv[optind]);
		return DAEMON_EXIT_USAGE;
	}
	if (tokens != NULL && log_enable_tokens(tokens, &cause) != 0) {
		fprintf(stderr, "ocpp-edged: --debug: %s\n", cause);
		free(cause);
		return DAEMON_EXIT_USAGE;
	}
	if (check != NULL)
		return check_config(check);

	/* Signals first, so a stop during start-up is an orderly one. */
	install_signals();
	if (cfg_load(d.config_path, &d.cfg, &errors) != 0) {
		print_errors(&errors, d.config_path);
		fprintf(stderr, "ocpp-edged: not started\n");
		cfg_errors_free(&errors);
		return DAEMON_EXIT_CONFIG;
	}
	if (!level_set)
		level = tokens != NULL ? LOG_LEVEL_DEBUG : d.cfg.log.level;
	log_init("ocpp-edged", level, target == -1 ? d.cfg.log.to_syslog :
	    target == 1);
	warn_if_exposed(&d);
	log_debug("cfg", "%s: %zu chargers, %zu circuits, mode %s, available "
	    "power %d W", d.config_path, d.cfg.n_chargers, d.cfg.site.n_circuits,
	    cfg_balancer_mode_name(d.cfg.balancer.mode),
	    d.cfg.site.available_power_w);

	rc = run(&d);

	log_finalise();
	cfg_clear(&d.cfg);
	return rc;
}
