/* ocpp-edgectl: command-line client of a running ocpp-edged over its
 * control socket (docs/control.md), and the installer's Modbus scan. */
#include "config.h"

#include "ctl/ctl.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "ocpp-edgectl-help.h"

/* Prints the help (the manual page, man/ocpp-edgectl.8.in) to fp. */
static void
usage(FILE *fp)
{
	fputs(help_text, fp);
}

static volatile sig_atomic_t stop_watch;

/* SIGINT / SIGTERM during --watch: end the loop. */
static void
on_signal(int sig)
{
	(void)sig;
	stop_watch = 1;
}

/* Parses an integer option within lo..hi; prints the error and returns
 * -1 when it is not one. */
static int
int_arg(const char *opt, const char *s, long lo, long hi, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "ocpp-edgectl: %s '%s': allowed %ld..%ld\n",
		    opt, s, lo, hi);
		return -1;
	}
	*out = (int)v;
	return 0;
}

/* Prints a client error and returns its exit code. */
static int
fail(int err, char *cause)
{
	fprintf(stderr, "ocpp-edgectl: %s\n", cause != NULL ? cause : "error");
	free(cause);
	return ctl_exit_code(err);
}

/* Prints a result as one line of JSON. */
static int
print_json(json_t *result)
{
	if (json_dumpf(result, stdout, JSON_COMPACT) != 0)
		return CTL_EXIT_ERROR;
	fputc('\n', stdout);
	return fflush(stdout) == 0 ? CTL_EXIT_OK : CTL_EXIT_ERROR;
}

/* `status` and `explain` once. */
static int
run_once(const char *path, json_t *req, bool json, int timeout_ms,
    int (*render)(FILE *, json_t *))
{
	json_t *result;
	char *cause = NULL;
	int r;

	r = ctl_request(path, req, timeout_ms, &result, &cause);
	if (r != CTL_OK)
		return fail(r, cause);
	r = json ? print_json(result) : render(stdout, result);
	json_decref(result);
	if (r == 0 && fflush(stdout) != 0)
		r = CTL_EXIT_ERROR;
	return r;
}

/* Sleeps up to ms or until a signal asked to stop. */
static void
nap(int64_t ms)
{
	int64_t end = mono_now_ms() + ms;

	while (!stop_watch) {
		int64_t left = end - mono_now_ms();

		if (left <= 0)
			break;
		(void)poll(NULL, 0, (int)(left > 100 ? 100 : left));
	}
}

/* Writes a frame to stdout; on a screen, each line ends with "erase to
 * end of line" and the frame with "erase below", and a frame taller than
 * the terminal is cut (it would scroll).  0 or -1. */
static int
write_frame(const char *frame, size_t len, bool screen)
{
	struct winsize ws;
	int rows = 0, line = 0;

	if (screen && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 &&
	    ws.ws_row > 2)
		rows = ws.ws_row;
	for (size_t i = 0; i < len; i++) {
		if (screen && frame[i] == '\n') {
			fputs("\033[K", stdout);
			if (rows > 0 && ++line == rows - 1) {
				size_t more = 0;

				for (size_t k = i + 1; k < len; k++)
					more += frame[k] == '\n';
				fprintf(stdout, "\n(%zu more line%s: enlarge "
				    "the window)\033[K", more, more == 1 ? "" :
				    "s");
				break;
			}
		}
		fputc(frame[i], stdout);
	}
	if (screen)
		fputs("\033[J", stdout);
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : -1;
}

/* `status --watch`: one connection kept open (reconnecting when the
 * daemon goes away), the screen redrawn in one write per frame, header
 * (NULL = none) on top of each. */
static int
run_watch(const char *path, double interval_s, bool json, int timeout_ms,
    const char *header)
{
	struct sigaction sa;
	struct ctl_conn *c = NULL;
	json_t *req = json_pack("{s:s}", "cmd", "status");
	bool first = true;
	/* On a terminal: redraw in place; into a pipe or file: one frame
	 * after the other, without escape sequences. */
	bool tty = !json && isatty(STDOUT_FILENO);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	while (!stop_watch) {
		char *frame = NULL, *cause = NULL, clock[32];
		size_t flen = 0;
		FILE *f = open_memstream(&frame, &flen);
		json_t *result = NULL;
		int r = CTL_OK;

		if (f == NULL) {
			perror("ocpp-edgectl: open_memstream");
			break;
		}
		if (c == NULL)
			r = ctl_connect(path, &c, &cause);
		if (r == CTL_OK)
			r = ctl_call(c, req, timeout_ms, &result, &cause);
		if (r != CTL_OK && r != CTL_ERR_REFUSED && c != NULL) {
			ctl_close(c);
			c = NULL;
		}
		if (!json) {
			time_t t = time(NULL);
			struct tm tm;

			localtime_r(&t, &tm);
			strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
			/* Home; the first frame clears the screen, later ones
			 * overwrite it line by line (erase to end of line, and
			 * below the last line) so nothing flickers or scrolls. */
			if (tty)
				fprintf(f, first ? "\033[H\033[2J" : "\033[H");
			else if (!first)
				fputc('\n', f);
			if (header != NULL)
				fprintf(f, "%s%s", header, header[0] != '\0' &&
				    header[strlen(header) - 1] != '\n' ? "\n" :
				    "");
			fprintf(f, "Every %.1fs: ocpp-edgectl status  (%s, "
			    "Ctrl-C to quit)\n\n", interval_s, clock);
		}
		if (r == CTL_OK) {
			if (json) {
				json_dumpf(result, f, JSON_COMPACT);
				fputc('\n', f);
			} else {
				ctl_render_status(f, result);
			}
		} else if (json) {
			fprintf(stderr, "ocpp-edgectl: %s\n", cause);
		} else {
			fprintf(f, "ocpp-edgectl: %s\n(retrying every %.1fs)\n",
			    cause, interval_s);
		}
		json_decref(result);
		free(cause);
		fclose(f);
		if (write_frame(frame, flen, tty) != 0) {
			free(frame);
			break;
		}
		free(frame);
		first = false;
		nap((int64_t)(interval_s * 1000));
	}
	ctl_close(c);
	json_decref(req);
	if (tty) {
		fputc('\n', stdout);
		fflush(stdout);
	}
	return CTL_EXIT_OK;
}

/* Parses "A-B" or "A" slave ids. */
static int
ids_arg(const char *s, int *first, int *last)
{
	char *end;
	long a, b;

	a = strtol(s, &end, 10);
	b = a;
	if (*end == '-')
		b = strtol(end + 1, &end, 10);
	if (end == s || *end != '\0' || a < 1 || b > 247 || a > b) {
		fprintf(stderr, "ocpp-edgectl: --slave-ids '%s': expected A-B "
		    "with 1 <= A <= B <= 247\n", s);
		return -1;
	}
	*first = (int)a;
	*last = (int)b;
	return 0;
}

enum {
	OPT_UNIT_ID = 256,
	OPT_RTU,
	OPT_BAUD,
	OPT_PARITY,
	OPT_STOP_BITS,
	OPT_SLAVE_IDS,
	OPT_LISTEN,
	OPT_WAIT,
	OPT_COUNT,
	OPT_PORT,
	OPT_PARALLEL,
	OPT_FUNCTION,
	OPT_AT,
	OPT_FROM,
	OPT_TO,
	OPT_FOR,
	OPT_HEADER,
};

/* A duration: N followed by s, m, h or d, 1 s .. 31 days.  Seconds into
 * *out; prints the error and returns -1 otherwise. */
static int
duration_opt(const char *s, long long *out)
{
	char *end;
	long long n, unit = 0;

	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno == 0 && end != s && end[0] != '\0' && end[1] == '\0')
		unit = end[0] == 's' ? 1 : end[0] == 'm' ? 60 : end[0] == 'h' ?
		    3600 : end[0] == 'd' ? 86400 : 0;
	if (unit > 0 && n > 0 && n <= 31LL * 86400 / unit) {
		*out = n * unit;
		return 0;
	}
	fprintf(stderr, "ocpp-edgectl: --for '%s': give N followed by s, m, h "
	    "or d, from 1s to 31d\n", s);
	return -1;
}

/* A time on the command line: RFC 3339 ("2026-12-03T02:00:00Z"), "now",
 * or back from now ("-90s", "-15m", "-8h", "-2d").  Epoch ms into *out;
 * prints the error and returns -1 otherwise. */
static int
time_opt(const char *opt, const char *s, int64_t *out)
{
	char *end;
	long long n;
	int64_t unit = 0;

	if (strcmp(s, "now") == 0) {
		*out = wall_now_ms();
		return 0;
	}
	if (parse_rfc3339(s, out) == 0)
		return 0;
	if (s[0] == '-') {
		errno = 0;
		n = strtoll(s + 1, &end, 10);
		if (errno == 0 && end != s + 1 && end[0] != '\0' &&
		    end[1] == '\0')
			unit = end[0] == 's' ? 1000 : end[0] == 'm' ? 60000 :
			    end[0] == 'h' ? 3600000 : end[0] == 'd' ? 86400000 :
			    0;
		if (unit > 0 && n >= 0 && n <= 3650LL * 86400000 / unit) {
			*out = wall_now_ms() - n * unit;
			return 0;
		}
	}
	fprintf(stderr, "ocpp-edgectl: %s '%s': give an RFC 3339 time "
	    "(2026-12-03T02:00:00Z), now, or -N followed by s, m, h or d\n",
	    opt, s);
	return -1;
}

/* Parses the command line and runs one command; returns its exit code. */
int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "watch", no_argument, NULL, 'w' },
		{ "interval", required_argument, NULL, 'i' },
		{ "timeout", required_argument, NULL, 't' },
		{ "unit-id", required_argument, NULL, OPT_UNIT_ID },
		{ "rtu", required_argument, NULL, OPT_RTU },
		{ "baud", required_argument, NULL, OPT_BAUD },
		{ "parity", required_argument, NULL, OPT_PARITY },
		{ "stop-bits", required_argument, NULL, OPT_STOP_BITS },
		{ "slave-ids", required_argument, NULL, OPT_SLAVE_IDS },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "wait", required_argument, NULL, OPT_WAIT },
		{ "count", required_argument, NULL, OPT_COUNT },
		{ "port", required_argument, NULL, OPT_PORT },
		{ "parallel", required_argument, NULL, OPT_PARALLEL },
		{ "function", required_argument, NULL, OPT_FUNCTION },
		{ "at", required_argument, NULL, OPT_AT },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "to", required_argument, NULL, OPT_TO },
		{ "for", required_argument, NULL, OPT_FOR },
		{ "header", required_argument, NULL, OPT_HEADER },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl_scan_opts so;
	const char *path = CTL_DEFAULT_SOCKET, *cmd;
	const char **args;
	size_t nargs = 0;
	bool json = false, watch = false, interval_set = false;
	const char *header = NULL;
	double interval = 2;
	int timeout = -1, ch, rc, fc = 0;
	int64_t at = 0, from = 0, to = 0;
	long long for_s = 0;
	bool scan_opt = false;

	ctl_scan_defaults(&so);
	args = xcalloc((size_t)argc + 1, sizeof(*args));
	opterr = 0;
	/* '-' in front: operands and options may be mixed ("scan h1 --rtu
	 * X h2"); operands come back as option 1. */
	while ((ch = getopt_long(argc, argv, "-:s:jwi:t:hV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 1:
			args[nargs++] = optarg;
			break;
		case 's':
			path = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'w':
			watch = true;
			break;
		case 'i': {
			char *end;

			interval = strtod(optarg, &end);
			if (end == optarg || *end != '\0' || !(interval >= 0.2)
			    || interval > 3600) {
				fprintf(stderr, "ocpp-edgectl: --interval '%s': "
				    "allowed 0.2..3600 seconds\n", optarg);
				free(args);
				return CTL_EXIT_USAGE;
			}
			interval_set = true;
			break;
		}
		case 't':
			if (int_arg("--timeout", optarg, 10, 60000,
			    &timeout) != 0)
				goto usage_error;
			break;
		case OPT_FUNCTION:
			if (int_arg("--function", optarg, 3, 4, &fc) != 0)
				goto usage_error;
			break;
		case OPT_UNIT_ID:
			scan_opt = true;
			if (int_arg("--unit-id", optarg, 1, 247,
			    &so.unit_id) != 0)
				goto usage_error;
			break;
		case OPT_RTU:
			scan_opt = true;
			so.rtu_device = optarg;
			break;
		case OPT_BAUD:
			scan_opt = true;
			if (int_arg("--baud", optarg, 1200, 115200,
			    &so.baud) != 0)
				goto usage_error;
			break;
		case OPT_PARITY:
			scan_opt = true;
			if (strcmp(optarg, "none") == 0)
				so.parity = 'N';
			else if (strcmp(optarg, "even") == 0)
				so.parity = 'E';
			else if (strcmp(optarg, "odd") == 0)
				so.parity = 'O';
			else {
				fprintf(stderr, "ocpp-edgectl: --parity '%s': "
				    "allowed none, even, odd\n", optarg);
				goto usage_error;
			}
			break;
		case OPT_STOP_BITS:
			scan_opt = true;
			if (int_arg("--stop-bits", optarg, 1, 2,
			    &so.stop_bits) != 0)
				goto usage_error;
			break;
		case OPT_SLAVE_IDS:
			scan_opt = true;
			if (ids_arg(optarg, &so.first_id, &so.last_id) != 0)
				goto usage_error;
			break;
		case OPT_LISTEN:
			scan_opt = true;
			so.listen = optarg;
			break;
		case OPT_WAIT:
			scan_opt = true;
			if (int_arg("--wait", optarg, 1, 3600, &so.wait_s) != 0)
				goto usage_error;
			break;
		case OPT_COUNT:
			scan_opt = true;
			if (int_arg("--count", optarg, 1, 200, &so.count) != 0)
				goto usage_error;
			break;
		case OPT_PORT:
			scan_opt = true;
			if (int_arg("--port", optarg, 1, 65535, &so.port) != 0)
				goto usage_error;
			break;
		case OPT_PARALLEL:
			scan_opt = true;
			if (int_arg("--parallel", optarg, 1, 64,
			    &so.parallel) != 0)
				goto usage_error;
			break;
		case OPT_AT:
			if (time_opt("--at", optarg, &at) != 0)
				goto usage_error;
			break;
		case OPT_FROM:
			if (time_opt("--from", optarg, &from) != 0)
				goto usage_error;
			break;
		case OPT_TO:
			if (time_opt("--to", optarg, &to) != 0)
				goto usage_error;
			break;
		case OPT_HEADER:
			header = optarg;
			break;
		case OPT_FOR:
			if (duration_opt(optarg, &for_s) != 0)
				goto usage_error;
			break;
		case 'h':
			usage(stdout);
			free(args);
			return CTL_EXIT_OK;
		case 'V':
			printf("ocpp-edgectl %s\n", PACKAGE_VERSION);
			free(args);
			return CTL_EXIT_OK;
		case ':':
			fprintf(stderr, "ocpp-edgectl: option '%s' needs a value "
			    "(see --help)\n", argv[optind - 1]);
			goto usage_error;
		default:
			fprintf(stderr, "ocpp-edgectl: unknown option '%s' (see "
			    "--help)\n", argv[optind - 1]);
			goto usage_error;
		}
	}
	if (nargs == 0) {
		fprintf(stderr, "ocpp-edgectl: no command given: allowed "
		    "status, explain, history, limit, pause, resume, reload, "
		    "scan, read, slave-id (see --help)\n");
		goto usage_error;
	}
	cmd = args[0];
	if (strcmp(cmd, "read") != 0 && fc != 0) {
		fprintf(stderr, "ocpp-edgectl: --function is for read\n");
		goto usage_error;
	}
	if (strcmp(cmd, "scan") != 0 && strcmp(cmd, "read") != 0 &&
	    strcmp(cmd, "slave-id") != 0 && scan_opt) {
		fprintf(stderr, "ocpp-edgectl: --unit-id, --rtu, --baud, "
		    "--parity, --stop-bits, --slave-ids, --listen, --wait, "
		    "--count, --port and --parallel are for scan\n");
		goto usage_error;
	}
	if (strcmp(cmd, "status") != 0 && (watch || interval_set ||
	    header != NULL)) {
		fprintf(stderr, "ocpp-edgectl: --watch, --interval and --header "
		    "are for status\n");
		goto usage_error;
	}
	if (at != 0 && strcmp(cmd, "explain") != 0) {
		fprintf(stderr, "ocpp-edgectl: --at is for explain\n");
		goto usage_error;
	}
	if ((from != 0 || to != 0) && strcmp(cmd, "history") != 0) {
		fprintf(stderr, "ocpp-edgectl: --from and --to are for history\n");
		goto usage_error;
	}
	if (for_s != 0 && strcmp(cmd, "limit") != 0 &&
	    strcmp(cmd, "pause") != 0) {
		fprintf(stderr, "ocpp-edgectl: --for is for limit and pause\n");
		goto usage_error;
	}
	if ((interval_set || header != NULL) && !watch) {
		fprintf(stderr, "ocpp-edgectl: --interval and --header need "
		    "--watch\n");
		goto usage_error;
	}

	if (strcmp(cmd, "status") == 0) {
		json_t *req;

		if (nargs > 1) {
			fprintf(stderr, "ocpp-edgectl: status takes no "
			    "argument (got '%s')\n", args[1]);
			goto usage_error;
		}
		free(args);
		if (watch)
			return run_watch(path, interval, json, timeout > 0 ?
			    timeout : CTL_TIMEOUT_MS, header);
		req = json_pack("{s:s}", "cmd", "status");
		rc = run_once(path, req, json, timeout > 0 ? timeout :
		    CTL_TIMEOUT_MS, ctl_render_status);
		json_decref(req);
		return rc;
	}
	if (strcmp(cmd, "explain") == 0) {
		json_t *req;

		if (nargs != 2) {
			fprintf(stderr, "ocpp-edgectl: explain takes one "
			    "CONNECTOR: the OCPP connector number (\"3\"), "
			    "CHARGER/K (\"bay1/1\") or CHARGER\n");
			goto usage_error;
		}
		req = json_pack("{s:s,s:s}", "cmd", "explain", "connector",
		    args[1]);
		if (at != 0)
			json_object_set_new(req, "at", json_integer(at));
		free(args);
		rc = run_once(path, req, json, timeout > 0 ? timeout :
		    CTL_TIMEOUT_MS, ctl_render_explain);
		json_decref(req);
		return rc;
	}
	if (strcmp(cmd, "limit") == 0 || strcmp(cmd, "pause") == 0 ||
	    strcmp(cmd, "resume") == 0) {
		bool limit = strcmp(cmd, "limit") == 0;
		json_t *req;

		if (nargs != (limit ? 3u : 2u)) {
			fprintf(stderr, "ocpp-edgectl: %s takes %s\n", cmd,
			    limit ? "CONNECTOR KW" : "one CONNECTOR");
			goto usage_error;
		}
		req = json_pack("{s:s,s:s}", "cmd", cmd, "connector", args[1]);
		if (limit) {
			char *end;
			double kw = strtod(args[2], &end);

			if (end == args[2] || *end != '\0' || !(kw >= 0) ||
			    kw > 1000) {
				fprintf(stderr, "ocpp-edgectl: limit '%s': give "
				    "kW, 0..1000 (e.g. 7.4)\n", args[2]);
				json_decref(req);
				goto usage_error;
			}
			json_object_set_new(req, "w",
			    json_integer((json_int_t)lround(kw * 1000)));
		}
		if (for_s > 0)
			json_object_set_new(req, "for_s", json_integer(for_s));
		free(args);
		rc = run_once(path, req, json, timeout > 0 ? timeout :
		    CTL_TIMEOUT_MS, ctl_render_local);
		json_decref(req);
		return rc;
	}
	if (strcmp(cmd, "reload") == 0) {
		json_t *req;

		if (nargs != 1) {
			fprintf(stderr, "ocpp-edgectl: reload takes no argument "
			    "(got '%s')\n", args[1]);
			goto usage_error;
		}
		free(args);
		req = json_pack("{s:s}", "cmd", "reload");
		rc = run_once(path, req, json, timeout > 0 ? timeout :
		    CTL_TIMEOUT_MS, ctl_render_reload);
		json_decref(req);
		return rc;
	}
	if (strcmp(cmd, "history") == 0) {
		json_t *req;

		if (nargs > 2) {
			fprintf(stderr, "ocpp-edgectl: history takes at most "
			    "one CONNECTOR\n");
			goto usage_error;
		}
		req = json_pack("{s:s}", "cmd", "history");
		if (nargs == 2)
			json_object_set_new(req, "connector",
			    json_string(args[1]));
		if (from != 0)
			json_object_set_new(req, "from", json_integer(from));
		if (to != 0)
			json_object_set_new(req, "to", json_integer(to));
		free(args);
		rc = run_once(path, req, json, timeout > 0 ? timeout :
		    CTL_TIMEOUT_MS, ctl_render_history);
		json_decref(req);
		return rc;
	}
	if (strcmp(cmd, "scan") == 0) {
		if (json) {
			fprintf(stderr, "ocpp-edgectl: scan has no --json: it "
			    "prints configuration sections\n");
			goto usage_error;
		}
		if (nargs == 1 && so.rtu_device == NULL && so.listen == NULL) {
			fprintf(stderr, "ocpp-edgectl: scan needs HOST[:PORT] "
			    "targets, --rtu DEVICE and/or --listen HOST:PORT\n");
			goto usage_error;
		}
		if (timeout > 10000) {
			fprintf(stderr, "ocpp-edgectl: --timeout %d: scan "
			    "allows 10..10000 ms\n", timeout);
			goto usage_error;
		}
		so.targets = args + 1;
		so.n_targets = nargs - 1;
		so.timeout_ms = timeout > 0 ? timeout : 0;
		rc = ctl_scan(&so, stdout, stderr);
		free(args);
		if (fflush(stdout) != 0)
			rc = CTL_EXIT_ERROR;
		return rc;
	}
	if (strcmp(cmd, "read") == 0) {
		char named[300];
		const char *target = so.rtu_device != NULL || nargs < 2 ?
		    NULL : args[1];
		size_t first = so.rtu_device != NULL ? 1 : 2;
		int addr, count = 1;

		if (nargs < first + 1 || nargs > first + 2 ||
		    int_arg("ADDRESS", args[first], 0, 65535, &addr) != 0 ||
		    (nargs == first + 2 && int_arg("COUNT", args[first + 1], 1,
		    125, &count) != 0)) {
			fprintf(stderr, "ocpp-edgectl: read takes HOST[:PORT] "
			    "(or --rtu DEVICE), ADDRESS 0..65535 and an optional "
			    "COUNT 1..125\n");
			goto usage_error;
		}
		so.timeout_ms = timeout > 0 && timeout <= 10000 ? timeout : 0;
		if (target != NULL) {
			rc = ctl_resolve_charger(path, target, &so, named,
			    sizeof(named), stderr);
			if (rc < 0) {
				free(args);
				return CTL_EXIT_ERROR;
			}
			if (rc == 1)
				target = named;
		}
		rc = ctl_read(&so, target, fc, (unsigned)addr, (unsigned)count,
		    stdout, stderr);
		free(args);
		return rc;
	}
	if (strcmp(cmd, "slave-id") == 0) {
		const char *target = so.rtu_device != NULL || nargs < 2 ?
		    NULL : args[1];
		size_t id_at = so.rtu_device != NULL ? 1 : 2;
		int id;

		if (nargs != id_at + 1 ||
		    int_arg("NEW_ID", args[id_at], 1, 247, &id) != 0) {
			fprintf(stderr, "ocpp-edgectl: slave-id takes HOST[:PORT] "
			    "(or --rtu DEVICE) and NEW_ID 1..247\n");
			goto usage_error;
		}
		so.timeout_ms = timeout > 0 && timeout <= 10000 ? timeout : 0;
		rc = ctl_slave_id(&so, target, id, stdout, stderr);
		free(args);
		return rc;
	}
	fprintf(stderr, "ocpp-edgectl: unknown command '%s': allowed status, "
	    "explain, history, limit, pause, resume, reload, scan, read, "
	    "slave-id\n", cmd);
usage_error:
	free(args);
	return CTL_EXIT_USAGE;
}
