/* ocpp-edgectl: command-line client of a running ocpp-edged over its
 * control socket (a Unix stream socket).  The protocol is one command
 * line sent, the daemon's answer read until it closes the connection. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifndef RUNSTATEDIR
#define RUNSTATEDIR "/run"
#endif
#define DEFAULT_SOCKET RUNSTATEDIR "/ocpp-edge/ctl.sock"

/* Exit codes. */
#define CTL_EXIT_OK 0
#define CTL_EXIT_ERROR 1       /* the daemon answered badly or I/O failed */
#define CTL_EXIT_USAGE 2       /* bad command line */
#define CTL_EXIT_NOT_RUNNING 3 /* no daemon behind the socket */

#define CTL_TIMEOUT_MS 5000

/* Prints the manual-style help to fp. */
static void
usage(FILE *fp)
{
	fprintf(fp,
"NAME\n"
"    ocpp-edgectl - query and control a running ocpp-edged\n"
"\n"
"SYNOPSIS\n"
"    ocpp-edgectl [-s PATH] COMMAND\n"
"    ocpp-edgectl -h | -V\n"
"\n"
"COMMANDS\n"
"    status\n"
"        Print the daemon's status as it reports it.\n"
"\n"
"OPTIONS\n"
"    -s, --socket PATH\n"
"        Control socket of the daemon (default: %s).\n"
"    -h, --help\n"
"        Print this help and exit 0.\n"
"    -V, --version\n"
"        Print the version and exit 0.\n"
"\n"
"EXIT STATUS\n"
"    0   the command succeeded\n"
"    1   the daemon's answer could not be read, or another error\n"
"    2   bad command line\n"
"    3   the daemon is not running (no socket, or nobody listening on it)\n"
"\n"
"FILES\n"
"    %s\n"
"        Default control socket.\n"
"\n"
"SEE ALSO\n"
"    ocpp-edged --help\n",
	    DEFAULT_SOCKET, DEFAULT_SOCKET);
}

/* Milliseconds on the monotonic clock. */
static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sends one command line and copies the answer to stdout.  Returns an
 * exit code. */
static int
run_command(const char *path, const char *command)
{
	struct sockaddr_un sun;
	long long deadline;
	char buf[4096];
	size_t len;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "ocpp-edgectl: socket path too long (%zu "
		    "bytes): allowed at most %zu\n", strlen(path),
		    sizeof(sun.sun_path) - 1);
		return CTL_EXIT_USAGE;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "ocpp-edgectl: socket: %s\n", strerror(errno));
		return CTL_EXIT_ERROR;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		int e = errno;

		close(fd);
		if (e == ENOENT) {
			fprintf(stderr, "ocpp-edgectl: daemon not running (no "
			    "socket at %s)\n", path);
			return CTL_EXIT_NOT_RUNNING;
		}
		if (e == ECONNREFUSED) {
			fprintf(stderr, "ocpp-edgectl: daemon not running (%s "
			    "exists but nobody listens on it)\n", path);
			return CTL_EXIT_NOT_RUNNING;
		}
		fprintf(stderr, "ocpp-edgectl: cannot connect to %s: %s\n",
		    path, strerror(e));
		return CTL_EXIT_ERROR;
	}

	len = (size_t)snprintf(buf, sizeof(buf), "%s\n", command);
	if (send(fd, buf, len, MSG_NOSIGNAL) != (ssize_t)len) {
		fprintf(stderr, "ocpp-edgectl: cannot send to %s: %s\n", path,
		    strerror(errno));
		close(fd);
		return CTL_EXIT_ERROR;
	}
	deadline = now_ms() + CTL_TIMEOUT_MS;
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long long left = deadline - now_ms();
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) == 0) {
			fprintf(stderr, "ocpp-edgectl: no answer from %s within "
			    "%d ms\n", path, CTL_TIMEOUT_MS);
			close(fd);
			return CTL_EXIT_ERROR;
		}
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "ocpp-edgectl: cannot read from %s: "
			    "%s\n", path, strerror(errno));
			close(fd);
			return CTL_EXIT_ERROR;
		}
		if (n == 0)
			break;
		fwrite(buf, 1, (size_t)n, stdout);
	}
	close(fd);
	return fflush(stdout) == 0 ? CTL_EXIT_OK : CTL_EXIT_ERROR;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = DEFAULT_SOCKET;
	int ch;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":s:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			path = optarg;
			break;
		case 'h':
			usage(stdout);
			return CTL_EXIT_OK;
		case 'V':
			printf("ocpp-edgectl %s\n", PACKAGE_VERSION);
			return CTL_EXIT_OK;
		case ':':
			fprintf(stderr, "ocpp-edgectl: option '%s' needs a value "
			    "(see --help)\n", argv[optind - 1]);
			return CTL_EXIT_USAGE;
		default:
			fprintf(stderr, "ocpp-edgectl: unknown option '%s' (see "
			    "--help)\n", argv[optind - 1]);
			return CTL_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "ocpp-edgectl: no command given: allowed status "
		    "(see --help)\n");
		return CTL_EXIT_USAGE;
	}
	if (strcmp(argv[optind], "status") != 0) {
		fprintf(stderr, "ocpp-edgectl: unknown command '%s': allowed "
		    "status\n", argv[optind]);
		return CTL_EXIT_USAGE;
	}
	if (optind + 1 < argc) {
		fprintf(stderr, "ocpp-edgectl: status takes no argument\n");
		return CTL_EXIT_USAGE;
	}
	return run_command(path, "status");
}
